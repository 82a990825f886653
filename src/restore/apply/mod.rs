//! Applying a restore plan, and undoing it: [`run_with`] runs a restore whose record is
//! `running`: every component applied in config order (a local one here, `apply/local.rs`; a
//! remote one by its agent through [`RemoteRestores`]), then the commit decision and the
//! commit (`apply/commit.rs`), or, on any failure, the rollback of everything
//! (`apply/rollback.rs`). This module owns the journal a restore writes through ([`Journal`]),
//! the link to the agents and their rounds of retries, and the errors ([`ApplyError`]).
//!
//! A remote component (`agent` in its plan) is applied by its agent instead, with these same
//! functions on its machine ([`RemoteRestores`], `crate::agent::restore`): it is recorded
//! `applying` before the call, so a failure or a crash from then on rolls it back there too.
//! Once applied it has voted yes and waits for the decision; the master renews it while it
//! applies the other components, so the agent does not mark it in doubt.
//!
//! Before any component is applied, the restore sources are checked once more against the
//! paths every other component replaces ([`source_clashes`]): a restore never moves aside (and
//! then deletes) the folder another component is restored from.
//!
//! When every component is applied the commit is decided (recorded), then carried out
//! ([`complete_with`]).

mod commit;
mod error;
pub mod lifecycle;
mod local;
mod rollback;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use chrono::{SubsecRound, Utc};

use super::plan::{kind_of, source_clashes};
use super::record::{
    ComponentRestore, ComponentState, OwnedEntry, RestoreRecord, RestoreStatus, StepAction,
};
use crate::engine::faults::Faults;
use crate::engine::fsutil;
use crate::engine::participation::HeuristicLog;
use crate::store::{Ack, HeuristicOutcome};
use crate::toolkit::journal::JournalError;
use crate::toolkit::Backoff;

pub use commit::{complete, complete_with, purge_retired, retired_name, RETIRED_SUFFIX};
pub use error::{ApplyError, RemoteError};
pub use local::{append_line, apply_component};
pub use rollback::{rollback_all, rollback_all_with, rollback_component, set_folder_times};

/// Where a running restore keeps its record: the toolkit's job journal of a [`RestoreRecord`].
pub use crate::toolkit::journal::Journal;

/// Why a remote component's commit or rollback did not happen (one attempt).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteFailure {
    pub message: String,
    /// An operator's contrary decision on the agent's machine.
    pub heuristic: Option<HeuristicOutcome>,
    /// Not acknowledged (the agent unreachable, failing, refusing the token ...): try again;
    /// its outcome may be unknown. False: it never will be done as asked (the agent refused
    /// for good, or the component was taken out of the config).
    pub retry: bool,
}

impl RemoteFailure {
    /// It never will be done as asked.
    pub fn fatal(message: impl Into<String>) -> RemoteFailure {
        RemoteFailure {
            message: message.into(),
            heuristic: None,
            retry: false,
        }
    }
}

/// The master's link to the agents of remote components (`agent` set in their plan): each call
/// is the agent's side of that component's restore, one attempt. Local restores use
/// [`NoRemote`].
pub trait RemoteRestores: Send + Sync {
    /// Applies the component on its agent; answers the agent's view of it (status `applied`).
    fn apply(
        &self,
        rec: &RestoreRecord,
        c: &ComponentRestore,
    ) -> Result<ComponentRestore, RemoteError>;
    /// Commits it (safety folder retired).
    fn commit(&self, rec: &RestoreRecord, c: &ComponentRestore) -> Result<Ack, RemoteFailure>;
    /// Puts it back (idempotent on the agent).
    fn rollback(&self, rec: &RestoreRecord, c: &ComponentRestore) -> Result<Ack, RemoteFailure>;
    /// Tells the agent the master still works on the restore (its in-doubt alarm restarts).
    fn renew(&self, _rec: &RestoreRecord, _c: &ComponentRestore) -> Result<(), RemoteError> {
        Ok(())
    }
    /// How often to renew the applied remote components of `rec`; `None`: never.
    fn renew_every(&self, _rec: &RestoreRecord) -> Option<std::time::Duration> {
        None
    }
    /// Runs a stop, start or health command of remote component `name` on its agent.
    fn lifecycle(
        &self,
        _rec: &RestoreRecord,
        name: &str,
        _req: &crate::store::wire::LifecycleRequest,
    ) -> Result<crate::store::wire::LifecycleAnswer, RemoteError> {
        Err(RemoteError::NoLink(name.to_string()))
    }
}

/// Longest wait between two rounds of attempts of unacknowledged remote commits or rollbacks.
pub const MAX_REMOTE_RETRY_DELAY: std::time::Duration = std::time::Duration::from_secs(5);

/// Told how one remote component's decision ended (see [`on_agents`]).
type Ended<'a> = dyn FnMut(&ComponentRestore, Result<Ack, RemoteFailure>, bool) -> bool + 'a;

/// Carries a decision out on the remote components `list` of `rec`, in rounds until each one
/// acknowledged or refused for good (no time limit: none of them decides alone). `attempt`
/// makes one attempt; `ended` is told each result that ends a component, and whether another
/// component's outcome is unknown so far (an attempt not acknowledged), and returns false to
/// stop everything (the rest is left as it is). The record notes (once per component) each
/// agent that did not acknowledge, naming it. `what` is `commit` or `rollback`.
fn on_agents(
    journal: &dyn Journal<RestoreRecord>,
    rec: &RestoreRecord,
    list: Vec<&ComponentRestore>,
    what: &str,
    attempt: &mut dyn FnMut(&ComponentRestore) -> Result<Ack, RemoteFailure>,
    ended: &mut Ended<'_>,
) {
    let mut pending = list;
    let mut noted: BTreeSet<String> = BTreeSet::new();
    let mut unsettled: BTreeSet<String> = BTreeSet::new();
    let mut backoff = Backoff::new(
        std::time::Duration::from_millis(250),
        MAX_REMOTE_RETRY_DELAY,
    );
    while !pending.is_empty() {
        let mut again = Vec::new();
        for c in pending {
            match attempt(c) {
                Err(f) if f.retry => {
                    unsettled.insert(c.name.clone());
                    if noted.insert(c.name.clone()) {
                        let line = crate::engine::single_line(&format!(
                            "{}: its agent {} did not acknowledge the {what} ({}); retrying \
                             until it does (the agent keeps its part as it is meanwhile); the \
                             restore stays running and holds the job lock",
                            c.name,
                            c.agent.as_deref().unwrap_or(""),
                            f.message
                        ));
                        tracing::warn!(restore = %rec.id, "{line}");
                        journal.update_or_log(
                            "a note naming an agent that did not acknowledge",
                            &mut |r| r.notes.push(line.clone()),
                        );
                    }
                    again.push(c);
                }
                result => {
                    unsettled.remove(&c.name);
                    let others = !unsettled.is_empty();
                    if !ended(c, result, others) {
                        return;
                    }
                }
            }
        }
        pending = again;
        if !pending.is_empty() {
            backoff.sleep_blocking();
        }
    }
}

/// Records a heuristic outcome a remote component's agent reported.
fn record_heuristic(journal: &dyn Journal<RestoreRecord>, h: &HeuristicOutcome) {
    tracing::warn!("{}", crate::engine::single_line(&h.describe()));
    journal.update_or_log("a heuristic outcome", &mut |r| r.note_heuristic(h));
}

/// No agents: a plan with a remote component fails.
pub struct NoRemote;

impl RemoteRestores for NoRemote {
    fn apply(
        &self,
        _: &RestoreRecord,
        c: &ComponentRestore,
    ) -> Result<ComponentRestore, RemoteError> {
        Err(RemoteError::NoLink(c.name.clone()))
    }
    fn commit(&self, _: &RestoreRecord, c: &ComponentRestore) -> Result<Ack, RemoteFailure> {
        Err(RemoteFailure::fatal(
            RemoteError::NoLink(c.name.clone()).to_string(),
        ))
    }
    fn rollback(&self, _: &RestoreRecord, c: &ComponentRestore) -> Result<Ack, RemoteFailure> {
        Err(RemoteFailure::fatal(
            RemoteError::NoLink(c.name.clone()).to_string(),
        ))
    }
}

fn now() -> chrono::DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

/// A step not yet in the record (steps are saved in batches: recovery never needs them).
pub struct PendingStep {
    pub action: StepAction,
    pub path: Option<String>,
    pub to: Option<String>,
    pub detail: Option<String>,
    /// The path counts as changed (goes into the record's `changed`).
    pub changed: bool,
}

fn pending(
    action: StepAction,
    path: impl Into<String>,
    to: Option<String>,
    detail: Option<String>,
) -> PendingStep {
    PendingStep {
        action,
        path: Some(path.into()),
        to,
        detail,
        changed: true,
    }
}

fn flush_steps(
    journal: &dyn Journal<RestoreRecord>,
    component: &str,
    steps: &mut Vec<PendingStep>,
    extra: &mut dyn FnMut(&mut RestoreRecord),
) -> Result<(), JournalError> {
    let batch = std::mem::take(steps);
    journal.update(&mut |r| {
        for s in &batch {
            r.step(
                s.action,
                Some(component),
                s.path.as_deref(),
                s.to.as_deref(),
                s.detail.clone(),
            );
            if s.changed {
                if let Some(p) = &s.path {
                    r.changed(p);
                }
            }
        }
        extra(r);
    })
}

/// Runs a whole restore whose record is `running` with its plan: applies every component, then
/// commits, or rolls everything back. The record ends final.
pub fn run(journal: &dyn Journal<RestoreRecord>, faults: &Faults) {
    run_with(journal, faults, &NoRemote)
}

/// [`run`] with remote components applied, committed and rolled back through `remote`.
/// Applied remote components are renewed (on a thread of their own) until the restore ends.
pub fn run_with(
    journal: &dyn Journal<RestoreRecord>,
    faults: &Faults,
    remote: &dyn RemoteRestores,
) {
    let first = journal.snapshot();
    let n = first.components.len();
    let applied_remote: std::sync::Mutex<Vec<ComponentRestore>> = std::sync::Mutex::new(Vec::new());
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        if let Some(every) = remote.renew_every(&first) {
            let (applied_remote, stop, first) = (&applied_remote, &stop, &first);
            scope.spawn(move || {
                let mut since = std::time::Instant::now();
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                    if since.elapsed() < every {
                        continue;
                    }
                    since = std::time::Instant::now();
                    let list = applied_remote
                        .lock()
                        .map(|l| l.clone())
                        .unwrap_or_default();
                    for c in &list {
                        if let Err(e) = remote.renew(first, c) {
                            tracing::debug!(component = %c.name, error = %e, "renewing an applied restore failed");
                        }
                    }
                }
            });
        }
        let clashes = source_clashes(&first.components);
        let mut failure = (!clashes.is_empty())
            .then(|| ApplyError::SourceClash(clashes.into_iter().map(|(_, m)| m).collect()));
        if failure.is_none() {
            // Before the first change: a failed stop changes nothing (the rollback starts
            // again what was stopped).
            failure = lifecycle::stop_all(journal, remote).err();
        }
        for i in 0..n {
            if failure.is_some() {
                break;
            }
            let plan = journal.snapshot().components.get(i).cloned();
            let is_remote = plan.as_ref().is_some_and(|c| c.agent.is_some());
            let applied = if is_remote {
                apply_remote(journal, faults, remote, i)
            } else {
                apply_component(journal, faults, i)
            };
            if let Err(e) = applied {
                failure = Some(e);
                break;
            }
            if let (true, Some(c)) = (is_remote, plan) {
                if let Ok(mut l) = applied_remote.lock() {
                    l.push(c);
                }
            }
        }
        let mut status = RestoreStatus::Failed;
        if failure.is_none() {
            journal.step_reached("restore_applied");
            let unhealthy = lifecycle::start_and_prove(journal, remote);
            if !unhealthy.is_empty() {
                let rec = journal.snapshot();
                let back = lifecycle::wants_rollback(&rec, &unhealthy);
                let msg = lifecycle::unhealthy_message(&unhealthy, back);
                if back {
                    status = RestoreStatus::Unhealthy;
                    failure = Some(ApplyError::Lifecycle(msg));
                } else {
                    journal.update_or_log("the unhealthy components", &mut |r| {
                        r.errors.push(msg.clone())
                    });
                }
            }
        }
        if failure.is_none() {
            let decided = journal.update(&mut |r| {
                r.commit_decided = true;
                r.step(StepAction::CommitDecided, None, None, None, None);
            });
            if let Err(e) = decided {
                failure = Some(ApplyError::RecordDecision(e));
            }
        }
        match failure {
            Some(e) => rollback_all_with(journal, faults, remote, status, &e.to_string()),
            None => complete_with(journal, faults, remote, None),
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
    });
}

/// Applies remote component `i` through its agent. It is recorded `applying` first, so a
/// failure or a crash from then on rolls it back on the agent too.
fn apply_remote(
    journal: &dyn Journal<RestoreRecord>,
    faults: &Faults,
    remote: &dyn RemoteRestores,
    i: usize,
) -> Result<(), ApplyError> {
    let rec = journal.snapshot();
    let plan = rec
        .components
        .get(i)
        .cloned()
        .ok_or(ApplyError::NotInRecord(i))?;
    let name = plan.name.clone();
    let agent = plan.agent.clone().unwrap_or_default();
    journal
        .update(&mut |r| {
            if let Some(c) = r.components.get_mut(i) {
                c.status = ComponentState::Applying;
                c.started_at = Some(now());
            }
            r.step(
                StepAction::ComponentStarted,
                Some(&name),
                None,
                None,
                Some(format!("on agent {agent}")),
            );
        })
        .map_err(|source| ApplyError::RecordStart {
            name: name.clone(),
            source,
        })?;
    match remote.apply(&rec, &plan) {
        Ok(done) => {
            journal
                .update(&mut |r| {
                    if let Some(c) = r.components.get_mut(i) {
                        c.remove = done.remove.clone();
                        c.create_dirs = done.create_dirs.clone();
                        c.copy = done.copy.clone();
                        c.edit = done.edit.clone();
                        c.skip = done.skip.clone();
                        c.files = done.files;
                        c.bytes = done.bytes;
                        c.status = ComponentState::Applied;
                        c.finished_at = Some(now());
                    }
                    for p in done.targets() {
                        r.changed(&p);
                    }
                    r.step(
                        StepAction::ComponentApplied,
                        Some(&name),
                        None,
                        None,
                        Some(format!("on agent {agent}")),
                    );
                })
                .map_err(|source| ApplyError::RecordEnd {
                    name: name.clone(),
                    source,
                })?;
        }
        Err(source) => {
            let e = ApplyError::Remote {
                name: name.clone(),
                source,
            };
            let msg = e.to_string();
            journal.update_or_log("the component's error", &mut |r| {
                if let Some(c) = r.components.get_mut(i) {
                    c.errors.push(msg.clone());
                }
            });
            return Err(e);
        }
    }
    if faults.restore_fail_after.contains(&name) {
        return Err(ApplyError::InjectedFailAfter(name));
    }
    Ok(())
}

/// The identity of the entry at `path` (a final link is not followed).
fn owned_entry(path: &Path) -> io::Result<OwnedEntry> {
    let m = fs::symlink_metadata(path)?;
    Ok(OwnedEntry {
        path: path.display().to_string(),
        dev: m.dev(),
        ino: m.ino(),
        kind: kind_of(&m),
    })
}

/// What is at a path, compared with a recorded entry.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Found {
    Absent,
    /// The recorded entry itself (same device, inode and kind).
    Same,
    /// Something else.
    Other,
}

pub(crate) fn found(path: &Path, want: &OwnedEntry) -> Result<Found, fsutil::IoError> {
    match owned_entry(path) {
        Ok(e) if e.dev == want.dev && e.ino == want.ino && e.kind == want.kind => Ok(Found::Same),
        Ok(_) => Ok(Found::Other),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Found::Absent),
        Err(e) => Err(fsutil::IoError::new("reading metadata of", path, e)),
    }
}

/// fsyncs each folder of `dirs` (one removed meanwhile, an emptied one, has nothing to sync);
/// returns the failures. `fail`: the `restore_fsync_fail` fault, every fsync fails (EIO).
fn sync_dirs(dirs: &BTreeSet<PathBuf>, fail: bool) -> Vec<fsutil::IoError> {
    let mut errors = Vec::new();
    for d in dirs {
        let synced = if fail {
            Err(fsutil::IoError::new(
                "syncing folder",
                d,
                io::Error::from_raw_os_error(libc::EIO),
            ))
        } else {
            fsutil::fsync_dir(d)
        };
        match synced {
            Err(e) if e.source.kind() != io::ErrorKind::NotFound => errors.push(e),
            _ => {}
        }
    }
    errors
}
