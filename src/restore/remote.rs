//! The master's side of restoring remote components (README, *Remote components*): each remote component of a
//! restore is planned, verified, applied, renewed, committed or rolled back by its agent
//! (`crate::agent::restore`) through the component's store ([`ComponentStore::restore_step`]).
//!
//! * The calls are async (reqwest); the restore's work is blocking (it runs on the blocking pool
//!   as a job of the runner), so each call is run on the server's runtime when there is one
//!   (the runner's handle), else (start-up recovery of a local restore, before the server
//!   runs) through `toolkit::bridge`.
//! * Commit and rollback: one attempt each here; `crate::restore::apply` repeats them with
//!   backoff until the agent acknowledges, with no time limit: an applied remote component
//!   voted yes and never decides alone, so the restore waits for it (`running`, holding the
//!   job lock, a note naming the agent). Only an answer that it never will (409: e.g. an
//!   operator decided the other way by hand, a heuristic outcome) or a component taken out of
//!   the config ends the waiting.
//! * Renew: while other components are applied, an applied remote component is renewed every
//!   quarter of its agent's decision timeout, so the agent does not mark it in doubt.
//!
//! [`ComponentStore::restore_step`]: crate::store::ComponentStore::restore_step

use std::time::Duration;

use tokio::runtime::Handle;

use super::apply::{RemoteError, RemoteFailure, RemoteRestores};
use super::record::{ComponentRestore, ComponentState, RestoreRecord, RestoreStatus};
use crate::engine::ComponentSpec;
use crate::store::wire::RemoteRestoreRequest;
use crate::store::Locator;
use crate::store::{Ack, Decision, RestoreStep, StoreError};
use crate::toolkit::bridge::{self, BridgeError};

/// The link to the agents of a restore's remote components.
pub struct AgentLink {
    pub locator: std::sync::Arc<dyn Locator>,
    /// The server's runtime; `None`: each call gets a runtime of its own (start-up).
    pub rt: Option<Handle>,
}

/// Runs `fut` to its end from this (non-async) thread (the toolkit's bridge).
fn run_blocking<T: Send + 'static>(
    rt: Option<&Handle>,
    fut: impl std::future::Future<Output = T> + Send + 'static,
) -> Result<T, RemoteError> {
    bridge::run_blocking(rt, fut).map_err(|e| match e {
        BridgeError::Runtime(e) => RemoteError::Runtime(e),
        BridgeError::Stopped => RemoteError::Stopped,
    })
}

/// The request of a remote component's restore step.
pub fn request_of(spec: &ComponentSpec, backup_id: &str, slot: &str) -> RemoteRestoreRequest {
    RemoteRestoreRequest {
        undo_of: None,
        from_download: None,
        profile: spec.profile,
        backup_folder: spec.backup_folder.display().to_string(),
        items: spec.items.clone(),
        backup_id: backup_id.to_string(),
        slot: slot.to_string(),
    }
}

impl AgentLink {
    /// One restore step of component `name`; `undo_of`: the restore it undoes (an undo).
    pub fn step(
        &self,
        name: &str,
        restore_id: &str,
        step: RestoreStep,
        backup_id: &str,
        slot: &str,
        undo_of: Option<&str>,
    ) -> Result<RestoreRecord, StoreError> {
        self.step_from(name, restore_id, step, backup_id, slot, undo_of, None)
    }

    /// [`AgentLink::step`] of a restore whose source is the agent's download `from_download`
    /// of the set (from a replication target) when given, else slot `slot`.
    #[allow(clippy::too_many_arguments)]
    pub fn step_from(
        &self,
        name: &str,
        restore_id: &str,
        step: RestoreStep,
        backup_id: &str,
        slot: &str,
        undo_of: Option<&str>,
        from_download: Option<&str>,
    ) -> Result<RestoreRecord, StoreError> {
        let (spec, store) = self
            .locator
            .store_of(name)
            .map_err(|e| StoreError::NotConfigured(e.to_string()))?;
        if !spec.is_remote() {
            return Err(StoreError::NotConfigured(format!(
                "component {name} is not a remote component any more"
            )));
        }
        let mut req = request_of(&spec, backup_id, slot);
        req.undo_of = undo_of.map(str::to_string);
        req.from_download = from_download.map(str::to_string);
        let id = restore_id.to_string();
        run_blocking(self.rt.as_ref(), async move {
            store.restore_step(&id, step, &req).await
        })
        .map_err(|e| StoreError::Internal(e.to_string()))?
    }

    /// Checks one slot of a remote component through its agent.
    pub fn verify(
        &self,
        name: &str,
        slot: &str,
    ) -> Result<crate::sets::FolderVerification, RemoteError> {
        let (spec, store) = self.locator.store_of(name)?;
        let slot = slot.to_string();
        Ok(run_blocking(self.rt.as_ref(), async move {
            store.verify_slot(&spec, &slot).await
        })??)
    }

    fn of(
        &self,
        rec: &RestoreRecord,
        c: &ComponentRestore,
        step: RestoreStep,
    ) -> Result<RestoreRecord, StoreError> {
        self.step_from(
            &c.name,
            &rec.id,
            step,
            &rec.backup_id,
            c.slot.as_deref().unwrap_or_default(),
            rec.undo_of.as_deref(),
            c.download.as_deref(),
        )
    }

    /// Asks the agent of remote component `name` to discard the safety copy its restore
    /// `restore_id` kept. Idempotent.
    pub fn discard_safety_copy(&self, name: &str, restore_id: &str) -> Result<(), StoreError> {
        self.step(
            name,
            restore_id,
            RestoreStep::DiscardSafetyCopy,
            "",
            "",
            None,
        )
        .map(|_| ())
    }
}

impl AgentLink {
    /// One attempt of a decision on the agent (the caller retries: `crate::restore::apply`).
    fn decide(
        &self,
        rec: &RestoreRecord,
        c: &ComponentRestore,
        decision: Decision,
    ) -> Result<RestoreRecord, RemoteFailure> {
        let step = if decision == Decision::Commit {
            RestoreStep::Commit
        } else {
            RestoreStep::Rollback
        };
        match self.of(rec, c, step) {
            Ok(r) => Ok(r),
            Err(StoreError::Heuristic(h)) => Err(RemoteFailure {
                message: h.describe(),
                heuristic: Some(h),
                retry: false,
            }),
            Err(e @ (StoreError::Conflict(_) | StoreError::NotConfigured(_))) => {
                Err(RemoteFailure::fatal(e.to_string()))
            }
            Err(e) => Err(RemoteFailure {
                message: e.to_string(),
                heuristic: None,
                retry: true,
            }),
        }
    }

    /// The heuristic outcome an agent's record shows for the master's `decision`.
    fn heuristic(
        &self,
        c: &ComponentRestore,
        r: &RestoreRecord,
        decision: Decision,
    ) -> Option<crate::store::HeuristicOutcome> {
        let o = r.participation.as_ref()?.operator?;
        Some(crate::store::HeuristicOutcome {
            component: c.name.clone(),
            agent: c.agent.clone(),
            decision,
            outcome: o.decision,
            at: o.at,
            mismatch: o.decision != decision,
        })
    }
}

impl RemoteRestores for AgentLink {
    fn apply(
        &self,
        rec: &RestoreRecord,
        c: &ComponentRestore,
    ) -> Result<ComponentRestore, RemoteError> {
        let r = self.of(rec, c, RestoreStep::Apply)?;
        match r.components.into_iter().next() {
            Some(done) if done.status == ComponentState::Applied => Ok(done),
            Some(done) => Err(RemoteError::NotApplied(done.status)),
            None => Err(RemoteError::NoComponent),
        }
    }

    fn commit(&self, rec: &RestoreRecord, c: &ComponentRestore) -> Result<Ack, RemoteFailure> {
        let r = self.decide(rec, c, Decision::Commit)?;
        if r.status == RestoreStatus::Succeeded {
            Ok(Ack {
                heuristic: self.heuristic(c, &r, Decision::Commit),
                safety_copy: r
                    .components
                    .first()
                    .and_then(|x| x.safety_copy.clone())
                    .filter(|k| k.is_kept()),
            })
        } else {
            Err(RemoteFailure::fatal(format!(
                "the agent reports the restore {}",
                r.status.as_str()
            )))
        }
    }

    fn rollback(&self, rec: &RestoreRecord, c: &ComponentRestore) -> Result<Ack, RemoteFailure> {
        let r = self.decide(rec, c, Decision::Rollback)?;
        let left: Vec<String> = r
            .components
            .iter()
            .filter(|x| x.status == ComponentState::RollbackIncomplete)
            .flat_map(|x| x.errors.iter().cloned())
            .collect();
        if r.status == RestoreStatus::Succeeded {
            return Err(RemoteFailure::fatal(
                "the agent reports the restore committed",
            ));
        }
        if !left.is_empty() || r.status == RestoreStatus::Running {
            return Err(RemoteFailure::fatal(format!(
                "the agent could not put everything back: {}",
                left.join("; ")
            )));
        }
        Ok(Ack {
            heuristic: self.heuristic(c, &r, Decision::Rollback),
            safety_copy: None,
        })
    }

    fn renew(&self, rec: &RestoreRecord, c: &ComponentRestore) -> Result<(), RemoteError> {
        self.of(rec, c, RestoreStep::Renew)?;
        Ok(())
    }

    fn lifecycle(
        &self,
        rec: &RestoreRecord,
        name: &str,
        req: &crate::store::wire::LifecycleRequest,
    ) -> Result<crate::store::wire::LifecycleAnswer, RemoteError> {
        let (spec, store) = self.locator.store_of(name)?;
        if !spec.is_remote() {
            return Err(RemoteError::Store(StoreError::NotConfigured(format!(
                "component {name} is not a remote component any more"
            ))));
        }
        let (id, req) = (rec.id.clone(), req.clone());
        Ok(run_blocking(self.rt.as_ref(), async move {
            store.restore_lifecycle(&id, &req).await
        })??)
    }

    fn renew_every(&self, rec: &RestoreRecord) -> Option<Duration> {
        rec.components
            .iter()
            .filter(|c| c.agent.is_some())
            .filter_map(|c| self.locator.store_of(&c.name).ok())
            .filter_map(|(_, store)| store.renew_every())
            .min()
    }
}
