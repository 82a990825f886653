//! The master's side of restoring remote components (README, *Remote components*): each remote component of a
//! restore is planned, verified, applied, committed or rolled back by its agent
//! (`crate::agent::restore`) through the component's store ([`ComponentStore::restore_step`]).
//!
//! * The calls are async (reqwest); the restore runs on threads of its own, so each call is run
//!   on the server's runtime when there is one (the handle taken when the restore started),
//!   else (start-up recovery, before the server runs) on a small runtime of a thread of its own.
//! * Commit: retried with backoff (0.25 s doubling to 5 s) until the agent acknowledges or
//!   refuses, at most [`COMMIT_WINDOW`] (like a backup's commit); at start-up recovery a single
//!   idempotent call (with the store's own retries), so that a master never waits for an agent
//!   to start.
//! * Rollback: one idempotent call (with the store's retries). An agent that cannot be reached
//!   is reported; it rolls the component back by itself after its decision timeout (or when
//!   it starts again, if it stopped during the apply).

use std::time::Duration;

use tokio::runtime::Handle;

use super::apply::RemoteRestores;
use super::record::{ComponentRestore, ComponentState, RestoreRecord, RestoreStatus};
use crate::agent::wire::RemoteRestoreRequest;
use crate::engine::ComponentSpec;
use crate::jobs::Engine;
use crate::store::{RestoreStep, StoreError};

/// How long a decided commit of a remote component is retried while the restore runs.
pub const COMMIT_WINDOW: Duration = Duration::from_secs(10 * 60);

/// The link to the agents of a restore's remote components.
pub struct AgentLink {
    pub engine: Engine,
    /// The server's runtime; `None`: each call gets a runtime of its own (start-up).
    pub rt: Option<Handle>,
    /// Retry a commit until acknowledged (within [`COMMIT_WINDOW`]); else one call.
    pub retry_commit: bool,
}

/// Runs `fut` to its end from this (non-async) thread.
fn run_blocking<T: Send + 'static>(
    rt: Option<&Handle>,
    fut: impl std::future::Future<Output = T> + Send + 'static,
) -> Result<T, String> {
    match rt {
        Some(h) => {
            let (tx, rx) = std::sync::mpsc::channel();
            h.spawn(async move {
                let _ = tx.send(fut.await);
            });
            rx.recv()
                .map_err(|_| "internal error: the call to the agent stopped".to_string())
        }
        None => std::thread::scope(|s| {
            s.spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("cannot start a runtime to reach the agent: {e}"))
                    .map(|rt| rt.block_on(fut))
            })
            .join()
            .map_err(|_| "internal error: the call to the agent stopped".to_string())?
        }),
    }
}

/// The request of a remote component's restore step.
pub fn request_of(spec: &ComponentSpec, backup_id: &str, slot: &str) -> RemoteRestoreRequest {
    RemoteRestoreRequest {
        profile: spec.profile,
        backup_folder: spec.backup_folder.display().to_string(),
        items: spec.items.clone(),
        backup_id: backup_id.to_string(),
        slot: slot.to_string(),
    }
}

impl AgentLink {
    /// One restore step of component `name`.
    pub fn step(
        &self,
        name: &str,
        restore_id: &str,
        step: RestoreStep,
        backup_id: &str,
        slot: &str,
    ) -> Result<RestoreRecord, StoreError> {
        let (spec, store) = self
            .engine
            .store_of(name)
            .map_err(|e| StoreError::Refused(e.to_string()))?;
        if !spec.is_remote() {
            return Err(StoreError::Refused(format!(
                "component {name} is not a remote component any more"
            )));
        }
        let req = request_of(&spec, backup_id, slot);
        let id = restore_id.to_string();
        run_blocking(self.rt.as_ref(), async move {
            store.restore_step(&id, step, &req).await
        })
        .map_err(StoreError::Internal)?
    }

    /// Checks one slot of a remote component through its agent.
    pub fn verify(
        &self,
        name: &str,
        slot: &str,
    ) -> Result<crate::sets::FolderVerification, String> {
        let (spec, store) = self.engine.store_of(name).map_err(|e| e.to_string())?;
        let slot = slot.to_string();
        run_blocking(self.rt.as_ref(), async move {
            store
                .verify_slot(&spec, &slot)
                .await
                .map_err(|e| e.to_string())
        })?
    }

    fn of(
        &self,
        rec: &RestoreRecord,
        c: &ComponentRestore,
        step: RestoreStep,
    ) -> Result<RestoreRecord, StoreError> {
        self.step(
            &c.name,
            &rec.id,
            step,
            &rec.backup_id,
            c.slot.as_deref().unwrap_or_default(),
        )
    }
}

impl RemoteRestores for AgentLink {
    fn apply(&self, rec: &RestoreRecord, c: &ComponentRestore) -> Result<ComponentRestore, String> {
        let r = self
            .of(rec, c, RestoreStep::Apply)
            .map_err(|e| e.to_string())?;
        match r.components.into_iter().next() {
            Some(done) if done.status == ComponentState::Applied => Ok(done),
            Some(done) => Err(format!("the agent reports the component {:?}", done.status)),
            None => Err("the agent answered no component".into()),
        }
    }

    fn commit(&self, rec: &RestoreRecord, c: &ComponentRestore) -> Result<(), String> {
        let started = std::time::Instant::now();
        let mut delay = Duration::from_millis(250);
        loop {
            match self.of(rec, c, RestoreStep::Commit) {
                Ok(r) if r.status == RestoreStatus::Succeeded => return Ok(()),
                Ok(r) => {
                    return Err(format!(
                        "the agent reports the restore {}",
                        r.status.as_str()
                    ))
                }
                Err(e @ StoreError::Remote(_)) | Err(e @ StoreError::Internal(_))
                    if self.retry_commit && started.elapsed() < COMMIT_WINDOW =>
                {
                    tracing::warn!(component = %c.name, restore = %rec.id, error = %e, "the agent did not acknowledge the restore's commit; retrying");
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    fn rollback(&self, rec: &RestoreRecord, c: &ComponentRestore) -> Result<(), String> {
        let r = self
            .of(rec, c, RestoreStep::Rollback)
            .map_err(|e| e.to_string())?;
        let left: Vec<String> = r
            .components
            .iter()
            .filter(|x| x.status == ComponentState::RollbackIncomplete)
            .flat_map(|x| x.errors.iter().cloned())
            .collect();
        if r.status == RestoreStatus::Succeeded {
            return Err("the agent reports the restore committed".into());
        }
        if !left.is_empty() || r.status == RestoreStatus::Running {
            return Err(format!(
                "the agent could not put everything back: {}",
                left.join("; ")
            ));
        }
        Ok(())
    }
}
