//! The master resolves the open transactions of its agents from its own records (two-phase
//! commit, presumed abort): an agent never decides alone, and it cannot ask for the decision
//! (it does not know the master), so the master comes to it.
//!
//! At start-up, then every [`PERIOD`], sooner while something is left ([`RETRY_MIN`] doubling to
//! [`RETRY_MAX`]: an agent unreachable, a call that failed; so an agent that becomes reachable
//! again is met within that), and whenever a backup ends or `GET /components` meets a
//! transaction in doubt ([`Resolver::wake`]), one pass asks the
//! agent of every remote component for its open transactions (`GET /agent/v1/components`) and,
//! for each one of that component:
//!
//! * a transaction of a job this master still drives (its record `running`: a live job, or one
//!   finished in the background after a restart) is left to that job;
//! * a backup whose record holds the commit decision is committed, a restore whose record
//!   holds it is committed;
//! * any other (the record ended without a decision, or there is no record: presumed abort)
//!   is aborted (backup) or rolled back (restore); never anything else;
//! * a backup known only by a record file that cannot be read is left alone and reported:
//!   whether it was decided is unknown (an operator decides, `agent resolve`).
//!
//! An operator's decision met on the way (`agent resolve` while the master was away) is
//! reported in the job's record as a heuristic outcome, a contrary one flagged as a mismatch.
//! Transactions in doubt are logged (a warning, once each) and counted in `/metrics` as of the
//! last pass; `GET /components` asks the agents itself.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::backup::recovery::spec_for;
use crate::jobs::restore::Restorer;
use crate::jobs::{BackupJobs, BackupStatus};
use crate::restore::RestoreStatus;
use crate::store::remote::{Agents, RemoteStore};
use crate::store::wire::{OpenTransaction, TxnKind};
use crate::store::{ComponentStore, HeuristicOutcome, RestoreStep, StoreError};
use crate::toolkit::Backoff;

/// Between two passes when nothing is left to resolve.
pub const PERIOD: Duration = Duration::from_secs(15);
/// First wait before a pass again when something was left.
pub const RETRY_MIN: Duration = Duration::from_secs(1);
/// Longest wait between passes while something is left.
pub const RETRY_MAX: Duration = Duration::from_secs(30);

/// A transaction in doubt on an agent, as the last pass left it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InDoubtSeen {
    pub component: String,
    pub kind: TxnKind,
    pub id: String,
}

struct Inner {
    engine: BackupJobs,
    restorer: Restorer,
    agents: Agents,
    wake: tokio::sync::Notify,
    in_doubt: Mutex<Vec<InDoubtSeen>>,
    warned: Mutex<HashSet<(String, String)>>,
}

/// The resolver. Cheap to clone.
#[derive(Clone)]
pub struct Resolver {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What one transaction came to in a pass.
enum Outcome {
    /// Resolved now (or nothing to do).
    Done,
    /// Left to the job that drives it.
    Driven,
    /// Not resolved now (a failed call, an unknown decision): try again soon.
    Left,
}

impl Resolver {
    pub fn new(engine: BackupJobs, restorer: Restorer, agents: Agents) -> Resolver {
        Resolver {
            inner: Arc::new(Inner {
                engine,
                restorer,
                agents,
                wake: tokio::sync::Notify::new(),
                in_doubt: Mutex::new(Vec::new()),
                warned: Mutex::new(HashSet::new()),
            }),
        }
    }

    /// Asks for a pass now (a job ended).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// The transactions in doubt that the last pass left open.
    pub fn in_doubt(&self) -> Vec<InDoubtSeen> {
        lock(&self.inner.in_doubt).clone()
    }

    /// Runs passes until the process ends (see the module doc). Spawn it on the server's
    /// runtime.
    pub async fn run(self) {
        if self.inner.agents.all().is_empty() {
            return;
        }
        let mut backoff = Backoff::new(RETRY_MIN, RETRY_MAX);
        loop {
            let left = self.pass().await;
            let wait = if left {
                backoff.next_delay()
            } else {
                backoff.reset();
                PERIOD
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.inner.wake.notified() => backoff.reset(),
            }
        }
    }

    /// One pass over every remote component; true when something was left unresolved.
    pub async fn pass(&self) -> bool {
        let mut left = false;
        let mut in_doubt = Vec::new();
        for (name, store) in self.inner.agents.all() {
            let open = match store.open_transactions().await {
                Ok(open) => open,
                Err(e) => {
                    tracing::debug!(component = %name, error = %e, "cannot ask the agent for its open transactions");
                    left = true;
                    continue;
                }
            };
            for t in open {
                if t.in_doubt() {
                    self.warn_once(&t);
                }
                let outcome = match t.kind {
                    TxnKind::Backup => self.backup(&store, &t).await,
                    TxnKind::Restore => self.restore(&store, &t).await,
                };
                match outcome {
                    Outcome::Done => {}
                    Outcome::Driven => {
                        if t.in_doubt() {
                            // The job that drives it does not talk to it (hung, or waiting
                            // for another agent): look again soon.
                            left = true;
                            in_doubt.push(seen(&t));
                        }
                    }
                    Outcome::Left => {
                        left = true;
                        if t.in_doubt() {
                            in_doubt.push(seen(&t));
                        }
                    }
                }
            }
        }
        *lock(&self.inner.in_doubt) = in_doubt;
        left
    }

    fn warn_once(&self, t: &OpenTransaction) {
        if lock(&self.inner.warned).insert((t.component.clone(), t.id.clone())) {
            tracing::warn!(
                component = %t.component,
                kind = t.kind.as_str(),
                id = %t.id,
                since = ?t.participation.in_doubt_since,
                "in doubt on its agent: it voted yes and heard nothing from the master for a while; resolving it from the master's records"
            );
        }
    }

    async fn backup(&self, store: &RemoteStore, t: &OpenTransaction) -> Outcome {
        let engine = &self.inner.engine;
        let rec = engine.get_backup(&t.id);
        if rec
            .as_ref()
            .is_some_and(|r| r.status == BackupStatus::Running)
        {
            return Outcome::Driven;
        }
        if engine.is_unreadable(&t.id) {
            tracing::error!(component = %t.component, backup = %t.id, "open on its agent, and the master's record of this backup cannot be read: whether it was decided is unknown, so it is left for an operator (backup-master agent resolve)");
            return Outcome::Left;
        }
        let config = engine.all_components();
        let spec = match rec
            .as_ref()
            .and_then(|r| r.components.iter().find(|c| c.name == t.component))
        {
            Some(c) => spec_for(c, &config),
            None => match config.iter().find(|s| s.name == t.component) {
                Some(s) => s.clone(),
                None => return Outcome::Left,
            },
        };
        let decided = rec.as_ref().is_some_and(|r| r.commit_decided);
        let result = if decided {
            tracing::warn!(component = %t.component, backup = %t.id, "committing an open transaction: the master's record holds the commit decision");
            store.commit(&t.id, &spec).await
        } else {
            tracing::warn!(component = %t.component, backup = %t.id, "aborting an open transaction: the master has no commit decision for it (presumed abort)");
            store
                .abort(
                    &t.id,
                    &spec,
                    &[presumed_abort(rec.as_ref().map(|r| r.status))],
                )
                .await
        };
        let heuristic = match &result {
            Ok(ack) => ack.heuristic.clone(),
            Err(StoreError::Heuristic(h)) => Some(h.clone()),
            Err(_) => None,
        };
        if let (Some(h), Some(_)) = (&heuristic, &rec) {
            self.report_backup(&t.id, h);
        }
        match result {
            Ok(_) | Err(StoreError::Heuristic(_)) => Outcome::Done,
            Err(e) => {
                tracing::warn!(component = %t.component, backup = %t.id, error = %e, "could not resolve an open transaction; trying again later");
                Outcome::Left
            }
        }
    }

    async fn restore(&self, store: &RemoteStore, t: &OpenTransaction) -> Outcome {
        let rec = self.inner.restorer.get(&t.id);
        if rec
            .as_ref()
            .is_some_and(|r| r.status == RestoreStatus::Running)
        {
            return Outcome::Driven;
        }
        let Some(spec) = self
            .inner
            .engine
            .all_components()
            .into_iter()
            .find(|s| s.name == t.component)
        else {
            return Outcome::Left;
        };
        let decided = rec.as_ref().is_some_and(|r| r.commit_decided);
        let step = if decided {
            RestoreStep::Commit
        } else {
            RestoreStep::Rollback
        };
        tracing::warn!(component = %t.component, restore = %t.id, decided, "resolving an open restore from the master's record (presumed rollback without a decision)");
        let req = crate::restore::remote::request_of(&spec, &t.backup_id, "");
        let result = store.restore_step(&t.id, step, &req).await;
        let heuristic = match &result {
            Ok(r) => r
                .participation
                .as_ref()
                .and_then(|p| p.operator)
                .map(|o| HeuristicOutcome {
                    component: t.component.clone(),
                    agent: store.location(),
                    decision: if decided {
                        crate::store::Decision::Commit
                    } else {
                        crate::store::Decision::Rollback
                    },
                    outcome: o.decision,
                    at: o.at,
                    mismatch: (o.decision == crate::store::Decision::Commit) != decided,
                }),
            Err(StoreError::Heuristic(h)) => Some(h.clone()),
            Err(_) => None,
        };
        if let (Some(h), Some(_)) = (&heuristic, &rec) {
            if let Err(e) = self.inner.restorer.record_heuristic(&t.id, h) {
                tracing::error!(restore = %t.id, error = %e, "could not record a heuristic outcome");
            }
        }
        match result {
            Ok(_) | Err(StoreError::Heuristic(_)) => Outcome::Done,
            Err(e) => {
                tracing::warn!(component = %t.component, restore = %t.id, error = %e, "could not resolve an open restore; trying again later");
                Outcome::Left
            }
        }
    }

    fn report_backup(&self, id: &str, h: &HeuristicOutcome) {
        if let Err(e) = self.inner.engine.record_heuristic(id, h) {
            tracing::error!(backup = %id, error = %e, "could not record a heuristic outcome");
        }
    }
}

fn seen(t: &OpenTransaction) -> InDoubtSeen {
    InDoubtSeen {
        component: t.component.clone(),
        kind: t.kind,
        id: t.id.clone(),
    }
}

/// Why the master aborts an open backup it has no decision for.
fn presumed_abort(status: Option<BackupStatus>) -> String {
    match status {
        Some(s) => format!(
            "presumed abort: the master's record of this backup ended {} without a commit decision",
            s.as_str()
        ),
        None => "presumed abort: the master has no record of this backup".to_string(),
    }
}
