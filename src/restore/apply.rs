//! Applying a restore plan, and undoing it.
//!
//! # Apply, per component, in config order
//! 1. The home side of the plan is computed again ([`refresh_home`]) and the component is
//!    recorded `applying` (fsynced) **before** anything in its home changes. From then on a
//!    crash is rolled back at the next start.
//! 2. `<home>/.pre-restore-<id>/` is created **exclusively** (one that exists already was not
//!    made by this restore: the restore fails there, before any change, naming it). The
//!    folder's identity (device, inode) and the identity of every path of `remove` are recorded
//!    (fsynced) **before** anything is moved into it; then each path is renamed into it (same
//!    file system: atomic, never over an existing entry), keeping its place relative to the
//!    home. The folders involved are fsynced; a failed fsync fails the step.
//! 3. Missing folders (`create_dirs`) are created (exclusively) and recorded; the `copy`
//!    entries are copied out of the backup folder with the engine's tree copy
//!    ([`tree_copy::copy_items`]): real copies with new inodes, modes, mtimes and symbolic links
//!    kept, empty folders kept, never a hard link into the backup. Before each copy its targets
//!    are checked free and recorded (`copy_started`). Every file's SHA-256, computed while
//!    copying, must equal its line in the folder's `SHA256SUMS`: a file changed since
//!    verification fails the restore.
//! 4. Lines are appended (`edit`), everything written is flushed (`syncfs`), and the component
//!    is recorded `applied`.
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
//! When every component is applied the commit is decided (recorded). The remote components
//! commit first, each waited for until its agent acknowledges (the restore stays `running`,
//! with a note naming the agent); only then are the local safety folders retired (renamed, when
//! they are still the folders this restore made) and deleted once the restore is final (the old
//! state stays complete as long as possible), and the restore is `succeeded`. A crash after the
//! decision completes that. A remote component that an operator rolled back by hand
//! (`agent resolve`) while nothing was committed yet withdraws the decision, durably, and
//! everything is rolled back; after a commit it can only be reported (a mismatch).
//!
//! # Rollback (any failure, a panic, or start-up recovery of an interrupted restore)
//! Components that got to `applying` are rolled back in reverse order, the local ones first
//! and then the remote ones, each waited for until its agent acknowledges (one agent down then
//! keeps neither the local homes nor the other agents waiting). Only what the record proves
//! this restore did is undone, entry by entry (reverse plan order):
//! * a path recorded in `moved_aside` whose entry in the safety folder is still that entry
//!   (same device, inode and kind) is put back; what is at the path now is removed first only
//!   when this restore copied it there (`copy_started`);
//! * an entry of the safety folder that is not the one recorded is left alone and reported; a
//!   recorded one that is missing is reported, and the live path is then left as it is;
//! * a target that did not exist before is removed only when this restore copied it there.
//!
//! Then the folders the restore recorded creating are removed (only when empty), the safety
//! folder (only the one this restore made, only once empty) is removed, and the modification
//! times of the home folders involved are set back. A restore that made no safety folder (it
//! existed already) moved nothing, so its rollback changes nothing. The folders involved are
//! fsynced; a failed fsync is reported like any other problem. The record and the disk are the
//! only truth used, so a rollback interrupted by a crash is simply run again.

use crate::toolkit::Backoff;
use std::collections::BTreeSet;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use chrono::{SubsecRound, Utc};

use super::plan::{kind_of, refresh_home, source_clashes};
use super::record::{
    ComponentRestore, ComponentState, OwnedEntry, RestoreRecord, RestoreStatus, StepAction,
};
use crate::engine::faults::{Faults, PLANTED};
use crate::engine::fsutil::{self, IoContext};
use crate::engine::sums::{SumsSource, SUMS_FILE_NAME};
use crate::engine::tree_copy::{self, CopyRequest};
use crate::engine::CancelToken;
use crate::store::local::COPY_WORKERS;
use crate::store::{Ack, HeuristicOutcome, StoreError, UnknownComponent};
use fsutil::IoError;

/// Why a component (or the restore) could not be applied: the rollback follows. Its text is
/// what the record's errors show.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("component #{0} is not in the record")]
    NotInRecord(usize),
    /// The home side of the plan could not be computed again ([`refresh_home`]).
    #[error("{name}: {}", .problems.join("; "))]
    Home { name: String, problems: Vec<String> },
    #[error("{name}: could not record the start: {source}")]
    RecordStart { name: String, source: IoError },
    #[error("{name}: could not record the end: {source}")]
    RecordEnd { name: String, source: IoError },
    /// A step of component `name` failed.
    #[error("{name}: {source}")]
    Step {
        name: String,
        source: Box<ApplyError>,
    },
    /// Its agent did not apply remote component `name`.
    #[error("{name}: {source}")]
    Remote { name: String, source: RemoteError },
    #[error("injected fault: restore_fail_after:{0}")]
    InjectedFailAfter(String),
    #[error("injected fault restore_plant_safety: {0}")]
    InjectedPlant(#[source] io::Error),
    #[error(
        "the safety folder {} exists already: this restore did not make it, so it stopped \
         before changing anything (move that folder away, then restore again)",
        .0.display()
    )]
    SafetyFolderExists(PathBuf),
    #[error("{0} is outside the home")]
    OutsideHome(String),
    #[error("cannot copy {from} to {to}")]
    CopyPair { from: String, to: String },
    #[error("cannot copy {from} to {to}: names differ")]
    NamesDiffer { from: String, to: String },
    #[error("{0} appeared during the restore (something else made it): nothing is copied over it")]
    Appeared(String),
    #[error("could not record the copy: {0}")]
    RecordCopy(#[source] IoError),
    #[error("copying into {}: {source}", .dest.display())]
    Copy {
        dest: PathBuf,
        source: tree_copy::CopyError,
    },
    #[error("{0} changed since the folder was verified")]
    Changed(String),
    #[error("{0} is not listed in {SUMS_FILE_NAME}")]
    Unlisted(String),
    #[error("{} is {what}, not a regular file", .path.display())]
    NotRegular { path: PathBuf, what: &'static str },
    /// A batch of steps could not be saved in the record.
    #[error(transparent)]
    Record(IoError),
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("could not record the commit decision: {0}")]
    RecordDecision(#[source] IoError),
    /// A source folder that another component's apply would move aside.
    #[error("nothing was changed: {}", .0.join("; "))]
    SourceClash(Vec<String>),
}

/// Why a call to a remote component's agent failed (plan, verify, apply, renew).
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Unknown(#[from] UnknownComponent),
    #[error("cannot start a runtime to reach the agent: {0}")]
    Runtime(#[source] io::Error),
    #[error("internal error: the call to the agent stopped")]
    Stopped,
    #[error("the agent reports the component {0:?}")]
    NotApplied(ComponentState),
    #[error("the agent answered no component")]
    NoComponent,
    #[error("{0}: no link to its agent here")]
    NoLink(String),
}

/// Where a running restore keeps its record: every `update` is saved (atomically) before it
/// returns.
pub trait Journal: Send + Sync {
    fn update(&self, f: &mut dyn FnMut(&mut RestoreRecord)) -> Result<(), IoError>;
    fn snapshot(&self) -> RestoreRecord;
    /// [`Journal::update`] for a change the restore goes on without when it cannot be saved
    /// (a note, an error also reported elsewhere, a step, an end): a failed save is logged,
    /// naming `what`. The change is not lost for the master: its journal keeps it for the
    /// next save, and saves a final record again until it is on disk before the job ends.
    fn update_or_log(&self, what: &str, f: &mut dyn FnMut(&mut RestoreRecord)) {
        if let Err(e) = self.update(f) {
            tracing::warn!(restore = %self.snapshot().id, error = %e, "could not record {what}; going on");
        }
    }
    /// The restore reached a named fault point (`crate::engine::faults::STEPS`); the master's
    /// journal runs its fault there (tests). Nothing by default.
    fn step_reached(&self, _step: &str) {}
}

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
    journal: &dyn Journal,
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
    journal: &dyn Journal,
    component: &str,
    steps: &mut Vec<PendingStep>,
    extra: &mut dyn FnMut(&mut RestoreRecord),
) -> Result<(), IoError> {
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
pub fn run(journal: &dyn Journal, faults: &Faults) {
    run_with(journal, faults, &NoRemote)
}

/// [`run`] with remote components applied, committed and rolled back through `remote`.
/// Applied remote components are renewed (on a thread of their own) until the restore ends.
pub fn run_with(journal: &dyn Journal, faults: &Faults, remote: &dyn RemoteRestores) {
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
        if failure.is_none() {
            journal.step_reached("restore_applied");
            let decided = journal.update(&mut |r| {
                r.commit_decided = true;
                r.step(StepAction::CommitDecided, None, None, None, None);
            });
            if let Err(e) = decided {
                failure = Some(ApplyError::RecordDecision(e));
            }
        }
        match failure {
            Some(e) => rollback_all_with(
                journal,
                faults,
                remote,
                RestoreStatus::Failed,
                &e.to_string(),
            ),
            None => complete_with(journal, faults, remote, None),
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
    });
}

/// Applies remote component `i` through its agent. It is recorded `applying` first, so a
/// failure or a crash from then on rolls it back on the agent too.
fn apply_remote(
    journal: &dyn Journal,
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

/// Applies component `i` (see the module doc). Any error leaves it for the rollback.
pub fn apply_component(journal: &dyn Journal, faults: &Faults, i: usize) -> Result<(), ApplyError> {
    let mut plan = journal
        .snapshot()
        .components
        .get(i)
        .cloned()
        .ok_or(ApplyError::NotInRecord(i))?;
    let name = plan.name.clone();
    refresh_home(&mut plan).map_err(|problems| ApplyError::Home {
        name: name.clone(),
        problems,
    })?;
    journal
        .update(&mut |r| {
            if let Some(c) = r.components.get_mut(i) {
                c.remove = plan.remove.clone();
                c.create_dirs = plan.create_dirs.clone();
                c.folder_times = plan.folder_times.clone();
                c.status = ComponentState::Applying;
                c.started_at = Some(now());
            }
            r.step(StepAction::ComponentStarted, Some(&name), None, None, None);
        })
        .map_err(|source| ApplyError::RecordStart {
            name: name.clone(),
            source,
        })?;
    if let Err(e) = apply_steps(journal, faults, i, &plan) {
        let e = ApplyError::Step {
            name: name.clone(),
            source: Box::new(e),
        };
        let msg = e.to_string();
        journal.update_or_log("the component's error", &mut |r| {
            if let Some(c) = r.components.get_mut(i) {
                c.errors.push(msg.clone());
            }
        });
        return Err(e);
    }
    journal
        .update(&mut |r| {
            if let Some(c) = r.components.get_mut(i) {
                c.status = ComponentState::Applied;
                c.finished_at = Some(now());
            }
            r.step(StepAction::ComponentApplied, Some(&name), None, None, None);
        })
        .map_err(|source| ApplyError::RecordEnd {
            name: name.clone(),
            source,
        })?;
    if faults.restore_fail_after.contains(&name) {
        return Err(ApplyError::InjectedFailAfter(name));
    }
    Ok(())
}

fn apply_steps(
    journal: &dyn Journal,
    faults: &Faults,
    i: usize,
    plan: &ComponentRestore,
) -> Result<(), ApplyError> {
    let name = plan.name.as_str();
    let home = PathBuf::from(&plan.home);
    let safety = PathBuf::from(&plan.safety_folder);
    let folder = PathBuf::from(&plan.source_folder);
    let mut steps = Vec::new();

    // What is about to move, then the safety folder, created exclusively; both recorded before
    // anything is moved into it.
    if faults.restore_plant_safety.contains(name) {
        plant_safety_folder(plan, &home, &safety)?;
    }
    let mut aside = Vec::with_capacity(plan.remove.len());
    for p in &plan.remove {
        let e = owned_entry(Path::new(p)).ctx("reading metadata of", Path::new(p))?;
        aside.push(e);
    }
    match fs::DirBuilder::new().mode(0o700).create(&safety) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(ApplyError::SafetyFolderExists(safety))
        }
        Err(e) => return Err(IoError::new("creating folder", &safety, e).into()),
    }
    let made = owned_entry(&safety).ctx("reading metadata of", &safety)?;
    steps.push(pending(
        StepAction::CreatedSafetyFolder,
        plan.safety_folder.clone(),
        None,
        None,
    ));
    flush_steps(journal, name, &mut steps, &mut |r| {
        if let Some(c) = r.components.get_mut(i) {
            c.safety_created = Some(made.clone());
            c.moved_aside = aside.clone();
        }
    })
    .map_err(ApplyError::Record)?;
    fsutil::fsync_dir(&home)?;

    let mut to_sync: BTreeSet<PathBuf> = BTreeSet::new();
    to_sync.insert(home.clone());
    to_sync.insert(safety.clone());
    let mut moved = Ok(());
    for e in &aside {
        let src = Path::new(&e.path);
        let Ok(rel) = src.strip_prefix(&home) else {
            moved = Err(ApplyError::OutsideHome(e.path.clone()));
            break;
        };
        let dst = safety.join(rel);
        let r = (|| {
            if let Some(parent) = dst.parent() {
                fs::create_dir_all(parent).ctx("creating folder", parent)?;
                to_sync.insert(parent.to_path_buf());
            }
            fsutil::rename_noreplace(src, &dst)?;
            if let Some(parent) = src.parent() {
                to_sync.insert(parent.to_path_buf());
            }
            if !matches!(found(&dst, e)?, Found::Same) {
                return Err(fsutil::IoError::new(
                    "moving aside",
                    src,
                    io::Error::other("it was replaced while it was moved"),
                ));
            }
            Ok::<(), fsutil::IoError>(())
        })();
        if let Err(err) = r {
            moved = Err(err.into());
            break;
        }
        steps.push(pending(
            StepAction::MovedAside,
            e.path.clone(),
            Some(dst.display().to_string()),
            None,
        ));
    }
    let fail = faults.restore_fsync_fail.contains(name);
    if moved.is_ok() {
        if let Some(e) = sync_dirs(&to_sync, fail).into_iter().next() {
            moved = Err(e.into());
        }
    }
    flush_steps(journal, name, &mut steps, &mut |_| {}).map_err(ApplyError::Record)?;
    moved?;

    // Missing folders, each created exclusively (one that appeared meanwhile is someone
    // else's) and recorded before anything is copied into it.
    let mut created = Vec::new();
    let mut made = Ok(());
    for d in &plan.create_dirs {
        if let Err(e) = fs::create_dir(d) {
            made = Err(IoError::new("creating folder", d, e));
            break;
        }
        created.push(d.clone());
        steps.push(pending(StepAction::CreatedFolder, d.clone(), None, None));
    }
    flush_steps(journal, name, &mut steps, &mut |r| {
        if let Some(c) = r.components.get_mut(i) {
            c.created_dirs.extend(created.iter().cloned());
        }
    })
    .map_err(ApplyError::Record)?;
    made?;

    // Copy, one tree-copy call per (source folder, destination folder) pair.
    // The list is read once here (and sorted on disk in the home's folder if it was made by
    // hand out of order); each copy below is checked against it in path order.
    let sums = SumsSource::open(&folder.join(SUMS_FILE_NAME), &home)?;
    let mut groups: Vec<(PathBuf, PathBuf, Vec<String>, Vec<usize>)> = Vec::new();
    for (k, op) in plan.copy.iter().enumerate() {
        let (from, to) = (Path::new(&op.from), Path::new(&op.to));
        let (Some(fp), Some(tp), Some(fname), Some(tname)) =
            (from.parent(), to.parent(), from.file_name(), to.file_name())
        else {
            return Err(ApplyError::CopyPair {
                from: op.from.clone(),
                to: op.to.clone(),
            });
        };
        if fname != tname {
            return Err(ApplyError::NamesDiffer {
                from: op.from.clone(),
                to: op.to.clone(),
            });
        }
        let item = fname.to_string_lossy().into_owned();
        match groups.iter_mut().find(|g| g.0 == fp && g.1 == tp) {
            Some(g) => {
                g.2.push(item);
                g.3.push(k);
            }
            None => groups.push((fp.to_path_buf(), tp.to_path_buf(), vec![item], vec![k])),
        }
    }
    for (src_parent, dst_parent, items, ops) in groups {
        // Every target is free now (moved aside, or never there): record that this restore
        // copies into them, so a rollback removes these and nothing else.
        let targets: Vec<String> = ops
            .iter()
            .filter_map(|k| plan.copy.get(*k).map(|op| op.to.clone()))
            .collect();
        if let Some(t) = targets
            .iter()
            .find(|t| fsutil::exists_nofollow(Path::new(t)))
        {
            return Err(ApplyError::Appeared(t.clone()));
        }
        journal
            .update(&mut |r| {
                if let Some(c) = r.components.get_mut(i) {
                    for t in &targets {
                        if !c.copy_started.contains(t) {
                            c.copy_started.push(t.clone());
                        }
                    }
                }
            })
            .map_err(ApplyError::RecordCopy)?;
        let req = CopyRequest {
            home: src_parent.clone(),
            items,
            dest: dst_parent.clone(),
            previous: None,
            must_not_contain: vec![],
            workers: COPY_WORKERS,
            slow_copy: faults.restore_slow,
            inject_enospc: false,
        };
        let outcome =
            tree_copy::copy_items(&req, &CancelToken::new(), &|_| {}).map_err(|source| {
                ApplyError::Copy {
                    dest: dst_parent.clone(),
                    source,
                }
            })?;
        let src_rel = src_parent.strip_prefix(&folder).unwrap_or(Path::new(""));
        let (stats, listing) = (outcome.stats, outcome.listing);
        check_copied(&folder, src_rel, listing, &sums)?;
        for k in ops {
            if let Some(op) = plan.copy.get(k) {
                steps.push(pending(
                    StepAction::Copied,
                    op.to.clone(),
                    None,
                    Some(format!("from {}", op.from)),
                ));
            }
        }
        let files = stats.files_copied + stats.files_cloned;
        let bytes = stats.bytes_copied + stats.bytes_cloned;
        flush_steps(journal, name, &mut steps, &mut |r| {
            if let Some(c) = r.components.get_mut(i) {
                c.files += files;
                c.bytes += bytes;
                c.files_cloned += stats.files_cloned;
                c.bytes_cloned += stats.bytes_cloned;
            }
        })
        .map_err(ApplyError::Record)?;
    }

    for e in &plan.edit {
        append_line(Path::new(&e.path), &e.append)?;
        steps.push(pending(
            StepAction::Edited,
            e.path.clone(),
            None,
            Some(format!("appended {:?}", e.append)),
        ));
    }
    fsutil::sync_tree(&home)?;
    flush_steps(journal, name, &mut steps, &mut |_| {}).map_err(ApplyError::Record)
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
enum Found {
    Absent,
    /// The recorded entry itself (same device, inode and kind).
    Same,
    /// Something else.
    Other,
}

fn found(path: &Path, want: &OwnedEntry) -> Result<Found, fsutil::IoError> {
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

/// The `restore_plant_safety` fault: something else creates the safety folder first, with an
/// entry of the same kind at the place of each path about to be moved aside.
fn plant_safety_folder(
    plan: &ComponentRestore,
    home: &Path,
    safety: &Path,
) -> Result<(), ApplyError> {
    let plant = || -> io::Result<()> {
        fs::create_dir(safety)?;
        for p in &plan.remove {
            let Ok(rel) = Path::new(p).strip_prefix(home) else {
                continue;
            };
            let dst = safety.join(rel);
            if let Some(parent) = dst.parent() {
                fs::create_dir_all(parent)?;
            }
            if fs::symlink_metadata(p)?.is_dir() {
                fs::create_dir(&dst)?;
                fs::write(dst.join(PLANTED), PLANTED)?;
            } else {
                fs::write(&dst, PLANTED)?;
            }
        }
        Ok(())
    };
    plant().map_err(ApplyError::InjectedPlant)
}

/// Every file one copy put in place has the digest `SHA256SUMS` lists for it: the copy's
/// listing (paths relative to `src_rel` inside `folder`) and the list are read side by side,
/// both in path order.
fn check_copied(
    folder: &Path,
    src_rel: &Path,
    listing: tree_copy::Listing,
    sums: &SumsSource,
) -> Result<(), ApplyError> {
    let mut listed = sums.entries()?.peekable();
    for copied in listing {
        let copied = copied?;
        let key = src_rel.join(std::ffi::OsStr::from_bytes(&copied.rel));
        let key = key.as_os_str().as_bytes();
        let expected = loop {
            match listed.peek() {
                Some(Ok((p, _))) if p.as_slice() < key => {
                    listed.next();
                }
                Some(Ok((p, sha))) if p.as_slice() == key => break Some(*sha),
                Some(Ok(_)) | None => break None,
                Some(Err(_)) => {
                    if let Some(Err(e)) = listed.next() {
                        return Err(e.into());
                    }
                }
            }
        };
        let shown = || {
            folder
                .join(std::ffi::OsStr::from_bytes(key))
                .display()
                .to_string()
        };
        match expected {
            Some(sha) if sha == copied.sha256 => {}
            Some(_) => return Err(ApplyError::Changed(shown())),
            None => return Err(ApplyError::Unlisted(shown())),
        }
    }
    Ok(())
}

/// Appends `line` to the (freshly restored) file at `path`: a line ending first when the file
/// does not end with one, and the file's own line ending (CRLF when its last line has one).
/// An older line with the same key (`RestoreFromBackup=`, any case) is dropped first, so the
/// component sees exactly one. Never follows a symbolic link, never reads anything but a
/// regular file (a FIFO at that name would block the read).
pub fn append_line(path: &Path, line: &str) -> Result<(), ApplyError> {
    let err = |op: &'static str, e: io::Error| IoError::new(op, path, e);
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| err("opening", e))?;
    let ft = f
        .metadata()
        .map_err(|e| err("reading metadata of", e))?
        .file_type();
    if !ft.is_file() {
        return Err(ApplyError::NotRegular {
            path: path.to_path_buf(),
            what: fsutil::describe_type(ft),
        });
    }
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).map_err(|e| err("reading", e))?;
    let eol: &[u8] = if bytes.ends_with(b"\r\n") {
        b"\r\n"
    } else {
        b"\n"
    };
    let key = line.split('=').next().unwrap_or(line);
    let is_key = |l: &[u8]| {
        let t = l.trim_ascii_start();
        t.len() > key.len()
            && t[..key.len()].eq_ignore_ascii_case(key.as_bytes())
            && t[key.len()..].trim_ascii_start().starts_with(b"=")
    };
    let had_key = bytes.split(|&b| b == b'\n').any(is_key);
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len() + line.len() + 2);
    if had_key {
        for l in bytes.split_inclusive(|&b| b == b'\n') {
            if !is_key(l) {
                out.extend_from_slice(l);
            }
        }
    } else {
        out = bytes;
    }
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.extend_from_slice(eol);
    }
    out.extend_from_slice(line.as_bytes());
    out.extend_from_slice(eol);
    f.set_len(0).map_err(|e| err("truncating", e))?;
    std::os::unix::fs::FileExt::write_all_at(&f, &out, 0).map_err(|e| err("writing", e))?;
    f.flush().map_err(|e| err("writing", e))?;
    f.sync_all().map_err(|e| err("syncing", e))?;
    Ok(())
}

/// What a safety folder is renamed to once its restore is committed: out of the way at once,
/// deleted after the restore is final ([`purge_retired`]) or, after a crash, at start-up.
pub fn retired_name(safety_folder: &str) -> PathBuf {
    PathBuf::from(format!("{safety_folder}{RETIRED_SUFFIX}"))
}

/// Suffix of a committed restore's retired safety folder.
pub const RETIRED_SUFFIX: &str = ".retired";

/// Deletes the retired safety folders of a committed restore (slow for a large home: runs
/// after the restore is final, so the next job need not wait for it). Only a folder that is
/// the safety folder this restore made (its recorded identity) is deleted; anything else at
/// that name is left alone and logged. Remote components' folders are their agents' business.
pub fn purge_retired(rec: &RestoreRecord) {
    if !rec.commit_decided {
        return;
    }
    for c in rec.components.iter().filter(|c| c.agent.is_none()) {
        // A component whose restore made no safety folder has no retired one either.
        let Some(made) = &c.safety_created else {
            continue;
        };
        let retired = retired_name(&c.safety_folder);
        match found(&retired, made) {
            Ok(Found::Same) => {
                if let Err(e) = fsutil::remove_tree(&retired) {
                    tracing::warn!(folder = %retired.display(), error = %e, "could not remove a retired safety folder");
                }
            }
            Ok(Found::Absent) => {}
            Ok(Found::Other) => tracing::warn!(
                folder = %retired.display(),
                restore = %rec.id,
                "this folder is not the safety folder the restore made; it was left as it is"
            ),
            Err(e) => {
                tracing::warn!(folder = %retired.display(), error = %e, "could not check a retired safety folder; it was kept")
            }
        }
    }
}

/// After the commit decision: retires every safety folder (an atomic rename; the deletion
/// follows once the restore is final) and ends the restore `succeeded`. Idempotent (start-up
/// recovery calls it again after a crash). `note` is added to the record.
pub fn complete(journal: &dyn Journal, note: Option<&str>) {
    complete_with(journal, &Faults::none(), &NoRemote, note)
}

/// Records a heuristic outcome a remote component's agent reported.
fn record_heuristic(journal: &dyn Journal, h: &HeuristicOutcome) {
    let line = crate::engine::single_line(&h.describe());
    tracing::warn!("{line}");
    journal.update_or_log("a heuristic outcome", &mut |r| {
        if !r.heuristic.contains(h) {
            r.heuristic.push(h.clone());
        }
        let list = if h.mismatch {
            &mut r.errors
        } else {
            &mut r.notes
        };
        if !list.contains(&line) {
            list.push(line.clone());
        }
    });
}

/// [`complete`], committing remote components through their agents first, each waited for
/// until its agent acknowledges (the restore stays `running` meanwhile, with a note naming the
/// agent); the local safety folders are retired only then. A remote component that will never
/// commit (an operator rolled it back by hand on its machine, or it was taken out of the
/// config) while no component committed yet abandons the commit: the decision is withdrawn on
/// disk, then everything is rolled back. After a commit, it is reported (the restore ends
/// `failed`, the local safety folders kept).
pub fn complete_with(
    journal: &dyn Journal,
    faults: &Faults,
    remote: &dyn RemoteRestores,
    note: Option<&str>,
) {
    let rec = journal.snapshot();
    let mut committed_any = rec
        .components
        .iter()
        .any(|c| c.agent.is_some() && c.status == ComponentState::Restored);
    let mut failed: Vec<String> = Vec::new();
    let mut abandoned: Option<(String, String)> = None;
    let remotes: Vec<&ComponentRestore> = rec
        .components
        .iter()
        .filter(|c| c.agent.is_some() && c.status != ComponentState::Restored)
        .collect();
    on_agents(
        journal,
        &rec,
        remotes,
        "commit",
        &mut |c| remote.commit(&rec, c),
        // `others_uncertain`: another component may have committed (not acknowledged yet).
        &mut |c, result, others_uncertain| {
            let name = c.name.clone();
            let agent = c.agent.clone().unwrap_or_default();
            match result {
                Ok(ack) => {
                    journal.update_or_log("a commit its agent acknowledged", &mut |r| {
                        if let Some(cc) = r.component_mut(&name) {
                            cc.status = ComponentState::Restored;
                        }
                        r.step(
                            StepAction::RemovedSafetyFolder,
                            Some(&name),
                            Some(&c.safety_folder),
                            None,
                            Some(format!("committed on agent {agent}")),
                        );
                    });
                    if let Some(h) = &ack.heuristic {
                        record_heuristic(journal, h);
                    }
                    if !committed_any {
                        committed_any = true;
                        journal.step_reached("restore_first_commit");
                    }
                    true
                }
                Err(f) => {
                    if let Some(h) = &f.heuristic {
                        record_heuristic(journal, h);
                    }
                    if !committed_any && !others_uncertain {
                        abandoned = Some((name, f.message));
                        return false;
                    }
                    let line = crate::engine::single_line(&format!(
                        "{name}: the commit was decided but its agent {agent} will not commit: {}",
                        f.message
                    ));
                    journal.update_or_log("a component its agent will not commit", &mut |r| {
                        if let Some(cc) = r.component_mut(&name) {
                            cc.errors.push(line.clone());
                        }
                        r.errors.push(line.clone());
                    });
                    failed.push(name);
                    true
                }
            }
        },
    );
    if let Some((name, why)) = abandoned {
        return abandon(journal, faults, remote, &name, &why);
    }
    for c in rec.components.iter().filter(|c| c.agent.is_none()) {
        if !failed.is_empty() {
            // Mixed already: the old state of the local homes stays, for the operator.
            continue;
        }
        let safety = Path::new(&c.safety_folder);
        // Retire the safety folder only when it is the one this restore made.
        let state = match &c.safety_created {
            Some(made) => found(safety, made),
            None => Ok(Found::Absent),
        };
        let result = match &state {
            Ok(Found::Same) => fsutil::rename_noreplace(safety, &retired_name(&c.safety_folder))
                .and_then(|()| fsutil::fsync_dir(Path::new(&c.home)))
                .map(|()| true)
                .map_err(|e| e.to_string()),
            Ok(Found::Absent) => Ok(false),
            Ok(Found::Other) => Err(format!(
                "{} is not the safety folder this restore made; it was left as it is",
                c.safety_folder
            )),
            Err(e) => Err(e.to_string()),
        };
        let name = c.name.clone();
        journal.update_or_log("a component's end", &mut |r| {
            match &result {
                Ok(true) => {
                    r.step(
                        StepAction::RemovedSafetyFolder,
                        Some(&name),
                        Some(&c.safety_folder),
                        None,
                        None,
                    );
                    r.changed(&c.safety_folder);
                }
                Ok(false) => {}
                Err(e) => r.notes.push(format!(
                    "{name}: the restore is complete but its safety folder could not be removed: {e}"
                )),
            }
            if let Some(cc) = r.component_mut(&name) {
                cc.status = ComponentState::Restored;
            }
        });
    }
    let status = if failed.is_empty() {
        RestoreStatus::Succeeded
    } else {
        RestoreStatus::Failed
    };
    journal.update_or_log("the restore's end", &mut |r| {
        if let Some(n) = note {
            r.notes.push(n.to_string());
        }
        if !failed.is_empty() {
            r.errors.push(format!(
                "the components did not all end the same way: {} will not commit while others \
                 did; the safety folders of the local components are kept (put them back by \
                 hand for the state before the restore)",
                failed.join(", ")
            ));
        }
        r.status = status;
        r.finished_at = Some(now());
        r.step(
            StepAction::Finished,
            None,
            None,
            None,
            Some(status.as_str().to_string()),
        );
    });
}

/// A decided restore that component `name` will not commit while nothing committed yet: the
/// decision is withdrawn on disk (retried until it is), then every component is rolled back.
fn abandon(
    journal: &dyn Journal,
    faults: &Faults,
    remote: &dyn RemoteRestores,
    name: &str,
    why: &str,
) {
    let note = crate::engine::single_line(&format!(
        "{name} will not commit ({why}) and no component had committed: the commit decision \
         was withdrawn and every component is put back"
    ));
    let mut backoff = Backoff::new(
        std::time::Duration::from_millis(500),
        std::time::Duration::from_secs(15),
    );
    while let Err(e) = journal.update(&mut |r| {
        r.commit_decided = false;
        if !r.notes.contains(&note) {
            r.notes.push(note.clone());
        }
    }) {
        tracing::error!(error = %e, "could not record the withdrawn commit decision; retrying");
        backoff.sleep_blocking();
    }
    rollback_all_with(
        journal,
        faults,
        remote,
        RestoreStatus::Failed,
        &format!("{name} refused the commit before any component had committed: {why}"),
    );
}

/// Rolls back every component that got to `applying` (reverse order) and ends the restore with
/// `status` (`failed` or `interrupted`), `reason` first among its errors.
pub fn rollback_all(journal: &dyn Journal, faults: &Faults, status: RestoreStatus, reason: &str) {
    rollback_all_with(journal, faults, &NoRemote, status, reason)
}

/// [`rollback_all`], rolling remote components back through their agents, each waited for
/// until its agent acknowledges (the restore stays `running` meanwhile, with a note naming the
/// agent). One that never will (an operator committed it by hand: a heuristic mismatch, or it
/// was taken out of the config) is left `rollback_incomplete`, named in the errors.
pub fn rollback_all_with(
    journal: &dyn Journal,
    faults: &Faults,
    remote: &dyn RemoteRestores,
    status: RestoreStatus,
    reason: &str,
) {
    journal.update_or_log("the reason of the rollback", &mut |r| {
        r.errors.push(reason.to_string());
        r.step(
            StepAction::Failed,
            None,
            None,
            None,
            Some(reason.to_string()),
        );
    });
    let rec = journal.snapshot();
    let to_undo = |c: &&ComponentRestore| {
        matches!(
            c.status,
            ComponentState::Applying | ComponentState::Applied | ComponentState::RollbackIncomplete
        )
    };
    let record_end = |name: &str, steps: &mut Vec<PendingStep>, result: Result<(), Vec<String>>| {
        let saved = flush_steps(journal, name, steps, &mut |r| {
            if let Some(cc) = r.component_mut(name) {
                match &result {
                    Ok(()) => cc.status = ComponentState::RolledBack,
                    Err(errs) => {
                        cc.status = ComponentState::RollbackIncomplete;
                        cc.errors.extend(errs.iter().cloned());
                    }
                }
            }
            match &result {
                Ok(()) => r.step(StepAction::RolledBack, Some(name), None, None, None),
                Err(errs) => {
                    for e in errs {
                        r.errors.push(format!("{name}: rollback: {e}"));
                    }
                }
            }
        });
        // The rollback goes on: it reads only the plan and the disk, so a step not recorded
        // is found done when it runs again.
        if let Err(e) = saved {
            tracing::warn!(restore = %rec.id, component = name, error = %e, "could not record the rollback of a component; going on");
        }
    };
    // The local components first (reverse order), so an agent that keeps the master waiting
    // does not keep them waiting; then the remote ones, each until its agent acknowledges.
    for c in rec
        .components
        .iter()
        .rev()
        .filter(to_undo)
        .filter(|c| c.agent.is_none())
    {
        let mut steps: Vec<PendingStep> = Vec::new();
        let result = rollback_component(c, faults, &mut |s| {
            steps.push(s);
        });
        record_end(&c.name, &mut steps, result);
    }
    let remotes: Vec<&ComponentRestore> = rec
        .components
        .iter()
        .rev()
        .filter(to_undo)
        .filter(|c| c.agent.is_some())
        .collect();
    on_agents(
        journal,
        &rec,
        remotes,
        "rollback",
        &mut |c| remote.rollback(&rec, c),
        &mut |c, result, _| {
            let agent = c.agent.clone().unwrap_or_default();
            let result = match result {
                Ok(ack) => {
                    if let Some(h) = &ack.heuristic {
                        record_heuristic(journal, h);
                    }
                    Ok(())
                }
                Err(f) => {
                    if let Some(h) = &f.heuristic {
                        record_heuristic(journal, h);
                    }
                    Err(vec![format!("through its agent {agent}: {}", f.message)])
                }
            };
            record_end(&c.name, &mut Vec::new(), result);
            true
        },
    );
    journal.update_or_log("the restore's end", &mut |r| {
        r.status = status;
        r.finished_at = Some(now());
        r.step(
            StepAction::Finished,
            None,
            None,
            None,
            Some(status.as_str().to_string()),
        );
    });
}

/// Puts one component's home back as it was before the restore (see the module doc). Uses only
/// the record and the disk, and undoes only what the record proves this restore did; safe to
/// run again after it was interrupted. Returns the problems (the paths concerned are left as
/// they are, the safety folder kept).
pub fn rollback_component(
    plan: &ComponentRestore,
    faults: &Faults,
    record: &mut dyn FnMut(PendingStep),
) -> Result<(), Vec<String>> {
    let home = PathBuf::from(&plan.home);
    let safety = PathBuf::from(&plan.safety_folder);
    let mut errors = Vec::new();
    let mut to_sync: BTreeSet<PathBuf> = BTreeSet::new();
    to_sync.insert(home.clone());
    for t in plan.targets().iter().rev() {
        let p = Path::new(t);
        let Ok(rel) = p.strip_prefix(&home) else {
            errors.push(format!("{t} is outside the home {}", plan.home));
            continue;
        };
        let s = safety.join(rel);
        if let Some(parent) = p.parent() {
            to_sync.insert(parent.to_path_buf());
        }
        let copied_here = plan.copy_started.contains(t);
        let Some(orig) = plan.moved_aside.iter().find(|e| e.path == *t) else {
            // Not there before the restore: remove it only when this restore copied it.
            if copied_here && fsutil::exists_nofollow(p) {
                match fsutil::remove_tree(p) {
                    Ok(()) => record(PendingStep {
                        action: StepAction::RemovedCopy,
                        path: Some(t.clone()),
                        to: None,
                        detail: None,
                        changed: true,
                    }),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            continue;
        };
        match found(&s, orig) {
            Ok(Found::Same) => {}
            Ok(Found::Other) => {
                errors.push(format!(
                    "{} is not what this restore moved there from {t}; both were left as they are",
                    s.display()
                ));
                continue;
            }
            Ok(Found::Absent) => {
                match found(p, orig) {
                    // Never moved (stopped before), or put back already.
                    Ok(Found::Same) => {}
                    Ok(_) => errors.push(format!(
                        "the original of {t} is missing from the safety folder {}; {t} was left \
                         as it is",
                        s.display()
                    )),
                    Err(e) => errors.push(e.to_string()),
                }
                continue;
            }
            Err(e) => {
                errors.push(e.to_string());
                continue;
            }
        }
        // The original is provably in the safety folder: what is at the path now goes, when
        // this restore put it there.
        if fsutil::exists_nofollow(p) {
            if !copied_here {
                errors.push(format!(
                    "{t} holds something this restore did not copy there; the original was left \
                     in {}",
                    s.display()
                ));
                continue;
            }
            if let Err(e) = fsutil::remove_tree(p) {
                errors.push(e.to_string());
                continue;
            }
        }
        if let Err(e) = fsutil::rename_noreplace(&s, p) {
            errors.push(format!("moving {} back to {t}: {e}", s.display()));
            continue;
        }
        if let Some(parent) = s.parent() {
            to_sync.insert(parent.to_path_buf());
        }
        record(PendingStep {
            action: StepAction::PutBack,
            path: Some(t.clone()),
            to: None,
            detail: Some(format!("from {}", s.display())),
            changed: true,
        });
        // The fault stops the process right after the first put-back.
        if faults.restore_abort_in_rollback.contains(&plan.name) {
            // The test fault stops the process at once: the put-back is made durable as far
            // as it can be, and a failure is of no use to anyone.
            let _ = sync_dirs(&to_sync, false);
            tracing::error!("injected fault: restore_abort_in_rollback:{}", plan.name);
            std::process::abort();
        }
    }
    for d in plan.created_dirs.iter().rev() {
        match fs::remove_dir(d) {
            Ok(()) => {
                if let Some(parent) = Path::new(d).parent() {
                    to_sync.insert(parent.to_path_buf());
                }
                record(PendingStep {
                    action: StepAction::RemovedFolder,
                    path: Some(d.clone()),
                    to: None,
                    detail: None,
                    changed: true,
                })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => errors.push(format!("{d}, created by the restore, was kept: {e}")),
        }
    }
    // The safety folder: only the one this restore made, only once empty.
    if let (true, Some(made)) = (errors.is_empty(), &plan.safety_created) {
        match found(&safety, made) {
            Ok(Found::Same) => match prune_empty(&safety) {
                Ok(true) => record(PendingStep {
                    action: StepAction::RemovedSafetyFolder,
                    path: Some(plan.safety_folder.clone()),
                    to: None,
                    detail: Some("empty after the rollback".into()),
                    changed: true,
                }),
                Ok(false) => {}
                Err(left) => errors.push(format!(
                    "the safety folder {} still holds {}; it was kept",
                    plan.safety_folder,
                    left.join(", ")
                )),
            },
            Ok(Found::Absent) => {}
            Ok(Found::Other) => errors.push(format!(
                "{} is not the safety folder this restore made; it was left as it is",
                plan.safety_folder
            )),
            Err(e) => errors.push(e.to_string()),
        }
    }
    // Make the put-backs durable.
    let fail = faults.restore_fsync_fail.contains(&plan.name);
    errors.extend(sync_dirs(&to_sync, fail).iter().map(|e| e.to_string()));
    if errors.is_empty() {
        for t in &plan.folder_times {
            let ts = nix::sys::time::TimeSpec::new(t.mtime_s, t.mtime_ns);
            // The home is back; its folders' times are only cosmetic (a folder removed
            // meanwhile has none to set): logged, never a rollback problem.
            if let Err(e) = nix::sys::stat::utimensat(
                None,
                Path::new(&t.path),
                &nix::sys::time::TimeSpec::UTIME_OMIT,
                &ts,
                nix::sys::stat::UtimensatFlags::NoFollowSymlink,
            ) {
                tracing::debug!(folder = %t.path, error = %e, "could not set a folder's time back");
            }
        }
        Ok(())
    } else {
        Err(errors)
    }
}

/// Removes `dir` when it holds only (nested) empty folders. `Ok(false)` when it does not exist;
/// `Err` lists what is left (nothing is removed then but empty sub-folders).
fn prune_empty(dir: &Path) -> Result<bool, Vec<String>> {
    let meta = match fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(_) => return Ok(false),
    };
    if !meta.is_dir() {
        return Err(vec![dir.display().to_string()]);
    }
    let mut left = Vec::new();
    match fs::read_dir(dir) {
        Ok(entries) => {
            for e in entries.flatten() {
                let p = e.path();
                if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    if let Err(l) = prune_empty(&p) {
                        left.extend(l);
                    }
                } else {
                    left.push(p.display().to_string());
                }
            }
        }
        Err(e) => left.push(format!("{} ({e})", dir.display())),
    }
    if !left.is_empty() {
        return Err(left);
    }
    fs::remove_dir(dir).map_err(|e| vec![format!("{} ({e})", dir.display())])?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{ComponentSpec, Profile};
    use crate::restore::plan::{plan_component, PlanInput};
    use crate::restore::record::{FolderOrigin, RestoreRecord};
    use std::collections::BTreeMap;
    use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
    use std::process::Command;
    use std::sync::Mutex;

    fn read(p: &Path) -> Vec<u8> {
        fs::read(p).unwrap_or_default()
    }

    struct MemJournal(Mutex<RestoreRecord>);

    impl Journal for MemJournal {
        fn update(&self, f: &mut dyn FnMut(&mut RestoreRecord)) -> Result<(), IoError> {
            f(&mut self.0.lock().unwrap());
            Ok(())
        }
        fn snapshot(&self) -> RestoreRecord {
            self.0.lock().unwrap().clone()
        }
    }

    fn w(p: &Path, s: &str) {
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, s).unwrap();
    }

    fn describe(p: &Path) -> String {
        let m = fs::symlink_metadata(p).unwrap();
        if m.file_type().is_symlink() {
            format!("link {}", fs::read_link(p).unwrap().display())
        } else if m.is_dir() {
            format!("dir {:o} {}.{}", m.mode(), m.mtime(), m.mtime_nsec())
        } else {
            format!(
                "file {:o} {}.{} ino{} {:?}",
                m.mode(),
                m.mtime(),
                m.mtime_nsec(),
                m.ino(),
                read(p)
            )
        }
    }

    /// Every entry under `root` (or `root` itself when it is no folder): type, content, mode
    /// and mtime (folders too), link targets, inode.
    fn tree(root: &Path) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
            for e in fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                if fs::symlink_metadata(&p).unwrap().is_dir() {
                    walk(root, &p, out);
                }
                out.insert(rel, describe(&p));
            }
        }
        if fs::symlink_metadata(root).unwrap().is_dir() {
            walk(root, root, &mut out);
        }
        out.insert(".".into(), describe(root));
        out
    }

    /// A hub home and a verified backup folder of it (via the real sha256sum), then damage.
    fn setup(root: &Path) -> (ComponentSpec, PathBuf) {
        let spec = ComponentSpec {
            name: "hub".into(),
            profile: Profile::MaestroHub,
            home: root.join("hub"),
            backup_folder: root.join("hub/backup"),
            keep: 1,
            items: vec![],
        };
        let h = &spec.home;
        w(&h.join("hub.ini"), "[Hub]\n");
        w(&h.join("accountreg/a.reg"), "a");
        w(&h.join("accountreg/deep/b.reg"), "b");
        fs::create_dir_all(h.join("hubreg/empty")).unwrap();
        symlink("../hub.ini", h.join("hubreg/link")).unwrap();
        fs::set_permissions(
            h.join("accountreg/a.reg"),
            fs::Permissions::from_mode(0o640),
        )
        .unwrap();
        let b = spec.backup_folder.clone();
        fs::create_dir_all(&b).unwrap();
        let st = Command::new("cp")
            .arg("-a")
            .args(["hub.ini", "accountreg", "hubreg"])
            .arg(&b)
            .current_dir(h)
            .status()
            .unwrap();
        assert!(st.success());
        let sums = Command::new("sh")
            .arg("-c")
            .arg("find . -type f ! -name SHA256SUMS -printf '%P\\n' | sort | xargs -d '\\n' sha256sum > SHA256SUMS")
            .current_dir(&b)
            .status()
            .unwrap();
        assert!(sums.success());
        // Damage: a changed file, a stray file, a deleted folder.
        w(&h.join("hub.ini"), "[Hub]\nchanged\n");
        w(&h.join("accountreg/stray"), "stray");
        fs::remove_dir_all(h.join("hubreg")).unwrap();
        (spec, b)
    }

    fn record_for(plan: ComponentRestore) -> RestoreRecord {
        let mut r = RestoreRecord::blank(
            "R20261126T101500Z",
            "20261126T020000Z",
            RestoreStatus::Running,
            now(),
        );
        r.started_at = Some(now());
        r.components = vec![plan];
        r
    }

    fn plan_of(spec: &ComponentSpec, folder: &Path) -> ComponentRestore {
        plan_component(&PlanInput {
            restore_id: "R20261126T101500Z",
            spec,
            folder,
            origin: FolderOrigin::Slot,
            slot: Some("backup".into()),
        })
        .unwrap()
    }

    #[test]
    fn apply_restores_exactly_and_removes_the_safety_folder() {
        let root = tempfile::tempdir().unwrap();
        let (spec, b) = setup(root.path());
        let before_backup = tree(&b);
        let j = MemJournal(Mutex::new(record_for(plan_of(&spec, &b))));
        run(&j, &Faults::none());
        let rec = j.snapshot();
        assert_eq!(rec.status, RestoreStatus::Succeeded, "{rec:#?}");
        assert_eq!(rec.components[0].status, ComponentState::Restored);
        assert_eq!((rec.components[0].files, rec.components[0].bytes), (3, 8));
        for item in ["hub.ini", "accountreg", "hubreg"] {
            let mut want = tree(&b.join(item)).into_iter().collect::<Vec<_>>();
            let mut got = tree(&spec.home.join(item)).into_iter().collect::<Vec<_>>();
            // Inodes differ (copies, not links); compare without them.
            let strip = |v: &mut Vec<(String, String)>| {
                for (_, s) in v.iter_mut() {
                    if let Some(i) = s.find(" ino") {
                        let end = s[i + 1..].find(' ').map(|e| i + 1 + e).unwrap_or(s.len());
                        s.replace_range(i..end, "");
                    }
                }
            };
            strip(&mut want);
            strip(&mut got);
            assert_eq!(got, want, "{item}");
        }
        assert_eq!(
            fs::read(spec.home.join("hub.ini")).unwrap(),
            fs::read(b.join("hub.ini")).unwrap()
        );
        let ino = |p: PathBuf| fs::metadata(p).unwrap().ino();
        assert_ne!(ino(spec.home.join("hub.ini")), ino(b.join("hub.ini")));
        assert!(!spec.home.join("accountreg/stray").exists());
        assert!(!Path::new(&rec.components[0].safety_folder).exists());
        assert_eq!(
            tree(&b),
            before_backup,
            "the backup folder is never changed"
        );
        assert!(rec.changed.iter().any(|p| p.ends_with("/hubreg")));
        assert!(rec.steps.iter().any(|s| s.action == StepAction::MovedAside
            && s.path.as_deref().is_some_and(|p| p.ends_with("accountreg"))));
    }

    #[test]
    fn a_failure_after_the_copy_rolls_back_exactly() {
        let root = tempfile::tempdir().unwrap();
        let (spec, b) = setup(root.path());
        let before = tree(&spec.home);
        let j = MemJournal(Mutex::new(record_for(plan_of(&spec, &b))));
        let mut faults = Faults::none();
        faults.restore_fail_after.insert("hub".into());
        run(&j, &faults);
        let rec = j.snapshot();
        assert_eq!(rec.status, RestoreStatus::Failed, "{rec:#?}");
        assert_eq!(rec.components[0].status, ComponentState::RolledBack);
        assert!(rec.errors[0].contains("injected fault"), "{:?}", rec.errors);
        assert_eq!(tree(&spec.home), before, "rolled back exactly");
    }

    #[test]
    fn rollback_is_idempotent_at_every_point() {
        let root = tempfile::tempdir().unwrap();
        let (spec, b) = setup(root.path());
        let before = tree(&spec.home);
        let plan = plan_of(&spec, &b);
        let j = MemJournal(Mutex::new(record_for(plan)));
        apply_component(&j, &Faults::none(), 0).unwrap();
        let applied = j.snapshot().components[0].clone();
        // Simulate a crash half-way through a rollback: put back only the first target by
        // hand, leave the rest, then run the rollback twice.
        let safety = PathBuf::from(&applied.safety_folder);
        let t = applied.targets();
        let last = Path::new(t.last().unwrap());
        let rel = last.strip_prefix(&spec.home).unwrap();
        if safety.join(rel).exists() {
            fsutil::remove_tree(last).unwrap();
            fs::rename(safety.join(rel), last).unwrap();
        }
        let mut n = 0;
        rollback_component(&applied, &Faults::none(), &mut |_| n += 1).unwrap();
        rollback_component(&applied, &Faults::none(), &mut |_| n += 1).unwrap();
        assert_eq!(tree(&spec.home), before);
        assert!(n > 0);
    }

    #[test]
    fn old_style_tracker_into_a_home_without_data_and_back() {
        let root = tempfile::tempdir().unwrap();
        let spec = ComponentSpec {
            name: "trk".into(),
            profile: Profile::MaestroTracker,
            home: root.path().join("trk"),
            backup_folder: root.path().join("trk/backup"),
            keep: 1,
            items: vec![],
        };
        let tape = root.path().join("tape");
        w(&tape.join("a.dat"), "A");
        w(&tape.join("tracker.ini"), "[T]\n");
        let st = Command::new("sh")
            .arg("-c")
            .arg("sha256sum a.dat tracker.ini > SHA256SUMS")
            .current_dir(&tape)
            .status()
            .unwrap();
        assert!(st.success());
        w(&spec.home.join("tracker.ini"), "old");
        let before = tree(&spec.home);
        let plan = plan_of(&spec, &tape);
        // Fails after the copy: data/ created by the restore is removed again.
        let j = MemJournal(Mutex::new(record_for(plan.clone())));
        let mut faults = Faults::none();
        faults.restore_fail_after.insert("trk".into());
        run(&j, &faults);
        assert_eq!(j.snapshot().status, RestoreStatus::Failed);
        assert_eq!(tree(&spec.home), before);
        // Succeeds.
        let j = MemJournal(Mutex::new(record_for(plan)));
        run(&j, &Faults::none());
        assert_eq!(j.snapshot().status, RestoreStatus::Succeeded);
        assert_eq!(fs::read(spec.home.join("data/a.dat")).unwrap(), b"A");
        assert_eq!(fs::read(spec.home.join("tracker.ini")).unwrap(), b"[T]\n");
    }

    #[test]
    fn custom_nested_item_into_a_missing_folder_and_back() {
        let root = tempfile::tempdir().unwrap();
        let spec = ComponentSpec {
            name: "app".into(),
            profile: Profile::Custom,
            home: root.path().join("app"),
            backup_folder: root.path().join("app-backup"),
            keep: 1,
            items: vec!["conf/app.ini".into(), "data/".into()],
        };
        let b = spec.backup_folder.clone();
        w(&b.join("conf/app.ini"), "[app]\n");
        w(&b.join("data/x"), "x");
        let st = Command::new("sh")
            .arg("-c")
            .arg("sha256sum conf/app.ini data/x > SHA256SUMS")
            .current_dir(&b)
            .status()
            .unwrap();
        assert!(st.success());
        w(&spec.home.join("data/old"), "old");
        w(&spec.home.join("other.txt"), "not an item");
        let before = tree(&spec.home);
        let plan = plan_of(&spec, &b);
        assert_eq!(
            plan.create_dirs,
            vec![spec.home.join("conf").display().to_string()]
        );
        let mut faults = Faults::none();
        faults.restore_fail_after.insert("app".into());
        let j = MemJournal(Mutex::new(record_for(plan.clone())));
        run(&j, &faults);
        assert_eq!(j.snapshot().status, RestoreStatus::Failed);
        assert_eq!(
            tree(&spec.home),
            before,
            "conf/ created by the restore is gone"
        );
        let j = MemJournal(Mutex::new(record_for(plan)));
        run(&j, &Faults::none());
        let rec = j.snapshot();
        assert_eq!(rec.status, RestoreStatus::Succeeded, "{rec:#?}");
        assert_eq!(read(&spec.home.join("conf/app.ini")), b"[app]\n");
        assert_eq!(read(&spec.home.join("data/x")), b"x");
        assert!(!spec.home.join("data/old").exists());
        assert_eq!(read(&spec.home.join("other.txt")), b"not an item");
        assert_eq!(rec.components[0].files, 2);
    }

    #[test]
    fn a_file_changed_after_verification_fails_the_copy() {
        let root = tempfile::tempdir().unwrap();
        let (spec, b) = setup(root.path());
        let plan = plan_of(&spec, &b);
        w(&b.join("accountreg/a.reg"), "tampered");
        let before = tree(&spec.home);
        let j = MemJournal(Mutex::new(record_for(plan)));
        run(&j, &Faults::none());
        let rec = j.snapshot();
        assert_eq!(rec.status, RestoreStatus::Failed);
        assert!(
            rec.errors[0].contains("changed since the folder was verified"),
            "{:?}",
            rec.errors
        );
        assert_eq!(tree(&spec.home), before);
    }

    #[test]
    fn append_line_rules() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lui.ini");
        fs::write(&p, "[LUI]\nA=1").unwrap();
        append_line(&p, "RestoreFromBackup=/b").unwrap();
        assert_eq!(read(&p), b"[LUI]\nA=1\nRestoreFromBackup=/b\n");
        fs::write(&p, "[LUI]\r\nrestorefrombackup = /old\r\nA=1\r\n").unwrap();
        append_line(&p, "RestoreFromBackup=/b").unwrap();
        assert_eq!(read(&p), b"[LUI]\r\nA=1\r\nRestoreFromBackup=/b\r\n");
        let l = dir.path().join("link.ini");
        symlink(&p, &l).unwrap();
        assert!(append_line(&l, "RestoreFromBackup=/b").is_err());
    }

    // Ownership: what a rollback or a cleanup may touch (issue 23).

    /// hub applied (not committed): hub.ini and accountreg moved aside, hubreg (missing in
    /// the home) copied in. Returns the spec, the home as it was before and the journal.
    fn applied(root: &Path) -> (ComponentSpec, BTreeMap<String, String>, MemJournal) {
        let (spec, b) = setup(root);
        let before = tree(&spec.home);
        let j = MemJournal(Mutex::new(record_for(plan_of(&spec, &b))));
        apply_component(&j, &Faults::none(), 0).unwrap();
        let c = &j.snapshot().components[0];
        let h = spec.home.display().to_string();
        assert_eq!(
            c.remove,
            [format!("{h}/accountreg"), format!("{h}/hub.ini")]
        );
        assert_eq!(c.moved_aside.len(), 2);
        assert!(c.safety_created.is_some());
        assert_eq!(c.copy_started.len(), 3);
        (spec, before, j)
    }

    /// [`tree`] without the root itself (whose mtime a test's own changes move).
    fn entries(root: &Path) -> BTreeMap<String, String> {
        entries_of(tree(root))
    }

    fn entries_of(mut t: BTreeMap<String, String>) -> BTreeMap<String, String> {
        t.remove(".");
        t
    }

    fn rollback(c: &ComponentRestore) -> Result<Vec<StepAction>, Vec<String>> {
        let mut steps = Vec::new();
        rollback_component(c, &Faults::none(), &mut |s| steps.push(s.action)).map(|()| steps)
    }

    #[test]
    fn a_safety_folder_made_by_something_else_stops_the_restore_before_any_change() {
        let root = tempfile::tempdir().unwrap();
        let (spec, b) = setup(root.path());
        let plan = plan_of(&spec, &b);
        // Between the plan and the apply, something else makes a folder of that name.
        let planted = PathBuf::from(&plan.safety_folder);
        w(&planted.join("accountreg/a.reg"), "planted");
        w(&planted.join("hub.ini"), "planted");
        let before = tree(&spec.home);
        let j = MemJournal(Mutex::new(record_for(plan)));
        run(&j, &Faults::none());
        let rec = j.snapshot();
        assert_eq!(rec.status, RestoreStatus::Failed);
        assert!(
            rec.errors[0].contains("exists already")
                && rec.errors[0].contains(&planted.display().to_string()),
            "{:?}",
            rec.errors
        );
        let c = &rec.components[0];
        assert_eq!(c.status, ComponentState::RolledBack, "{:?}", c.errors);
        assert!(c.safety_created.is_none() && c.moved_aside.is_empty());
        assert!(c.copy_started.is_empty());
        assert_eq!(tree(&spec.home), before, "the home and the planted folder");
        // The fault plants the same way, at the apply.
        fs::remove_dir_all(&planted).unwrap();
        let before = tree(&spec.home);
        let j = MemJournal(Mutex::new(record_for(plan_of(&spec, &b))));
        let faults = Faults::parse("restore_plant_safety:hub").unwrap();
        run(&j, &faults);
        assert_eq!(j.snapshot().status, RestoreStatus::Failed);
        assert_eq!(read(&planted.join("hub.ini")), PLANTED.as_bytes());
        assert_eq!(
            read(&planted.join("accountreg").join(PLANTED)),
            PLANTED.as_bytes()
        );
        fs::remove_dir_all(&planted).unwrap();
        assert_eq!(entries(&spec.home), entries_of(before));
    }

    #[test]
    fn rollback_leaves_an_unexpected_entry_of_the_safety_folder_alone() {
        let root = tempfile::tempdir().unwrap();
        let (spec, before, j) = applied(root.path());
        let c = j.snapshot().components[0].clone();
        let safety = PathBuf::from(&c.safety_folder);
        // The entry for accountreg is replaced by another folder of the same kind.
        fs::rename(safety.join("accountreg"), root.path().join("kept")).unwrap();
        w(&safety.join("accountreg/a.reg"), "impostor");
        let impostor = tree(&safety.join("accountreg"));
        let live = tree(&spec.home.join("accountreg"));
        let errors = rollback(&c).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].contains(&format!("{}/accountreg is not what", safety.display())),
            "{errors:?}"
        );
        assert_eq!(tree(&safety.join("accountreg")), impostor, "left alone");
        assert_eq!(
            tree(&spec.home.join("accountreg")),
            live,
            "the live item stays"
        );
        // The rest is put back: hub.ini is the original, hubreg (copied in) is gone.
        assert_eq!(read(&spec.home.join("hub.ini")), b"[Hub]\nchanged\n");
        assert!(!spec.home.join("hubreg").exists());
        assert!(safety.exists(), "the safety folder is kept");
        // Once the original is back in place, the rollback completes exactly.
        fsutil::remove_tree(&safety.join("accountreg")).unwrap();
        fs::rename(root.path().join("kept"), safety.join("accountreg")).unwrap();
        rollback(&c).unwrap();
        assert_eq!(tree(&spec.home), before);
    }

    #[test]
    fn rollback_reports_a_missing_original_and_keeps_the_live_item() {
        let root = tempfile::tempdir().unwrap();
        let (spec, _, j) = applied(root.path());
        let c = j.snapshot().components[0].clone();
        let safety = PathBuf::from(&c.safety_folder);
        fs::remove_file(safety.join("hub.ini")).unwrap();
        let live = read(&spec.home.join("hub.ini"));
        assert_eq!(live, b"[Hub]\n", "the restored file");
        let errors = rollback(&c).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].contains("the original of") && errors[0].contains("hub.ini"),
            "{errors:?}"
        );
        assert_eq!(read(&spec.home.join("hub.ini")), live, "never deleted");
        assert_eq!(
            read(&spec.home.join("accountreg/stray")),
            b"stray",
            "put back"
        );
    }

    #[test]
    fn rollback_keeps_what_this_restore_did_not_copy() {
        let root = tempfile::tempdir().unwrap();
        let (spec, _, j) = applied(root.path());
        let mut c = j.snapshot().components[0].clone();
        let safety = PathBuf::from(&c.safety_folder);
        // As if the copy never started: what sits at the targets is someone else's.
        c.copy_started.clear();
        let live_ini = read(&spec.home.join("hub.ini"));
        let hubreg = tree(&spec.home.join("hubreg"));
        let errors = rollback(&c).unwrap_err();
        assert_eq!(errors.len(), 2, "hub.ini and accountreg: {errors:?}");
        assert!(
            errors
                .iter()
                .all(|e| e.contains("holds something this restore did not copy there")),
            "{errors:?}"
        );
        assert_eq!(read(&spec.home.join("hub.ini")), live_ini);
        assert_eq!(read(&safety.join("hub.ini")), b"[Hub]\nchanged\n");
        assert_eq!(tree(&spec.home.join("hubreg")), hubreg, "not removed");
        // With only hubreg unrecorded: it stays, everything else is put back.
        let mut c = j.snapshot().components[0].clone();
        c.copy_started.retain(|t| !t.ends_with("/hubreg"));
        let steps = rollback(&c).unwrap();
        assert!(!steps.contains(&StepAction::RemovedCopy), "{steps:?}");
        assert_eq!(tree(&spec.home.join("hubreg")), hubreg);
        assert_eq!(read(&spec.home.join("hub.ini")), b"[Hub]\nchanged\n");
        assert!(!safety.exists());
    }

    #[test]
    fn rollback_without_a_recorded_safety_folder_touches_nothing() {
        let root = tempfile::tempdir().unwrap();
        let (spec, _, j) = applied(root.path());
        let mut c = j.snapshot().components[0].clone();
        c.safety_created = None;
        c.moved_aside.clear();
        c.copy_started.clear();
        let now = entries(&spec.home);
        assert_eq!(rollback(&c).unwrap(), Vec::<StepAction>::new());
        assert_eq!(entries(&spec.home), now);
    }

    #[test]
    fn the_safety_folder_is_removed_only_when_it_is_the_one_made() {
        let root = tempfile::tempdir().unwrap();
        let (spec, before, j) = applied(root.path());
        let c = j.snapshot().components[0].clone();
        let safety = PathBuf::from(&c.safety_folder);
        // Another folder of that name, holding the very entries that were moved aside.
        let other = root.path().join("other");
        fs::create_dir(&other).unwrap();
        for n in ["hub.ini", "accountreg"] {
            fs::rename(safety.join(n), other.join(n)).unwrap();
        }
        fs::remove_dir(&safety).unwrap();
        fs::rename(&other, &safety).unwrap();
        let errors = rollback(&c).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].contains("is not the safety folder this restore made"),
            "{errors:?}"
        );
        assert!(safety.is_dir(), "kept");
        fs::remove_dir(&safety).unwrap();
        assert_eq!(
            entries(&spec.home),
            entries_of(before),
            "every entry was put back"
        );
    }

    #[test]
    fn a_target_that_appears_after_the_moves_is_never_copied_over_nor_removed() {
        let root = tempfile::tempdir().unwrap();
        let (spec, b) = setup(root.path());
        let plan = plan_of(&spec, &b);
        let j = MemJournal(Mutex::new(record_for(plan.clone())));
        // hubreg was missing at the plan; now something else makes it.
        w(&spec.home.join("hubreg/foreign"), "foreign");
        let before = tree(&spec.home);
        let e = apply_steps(&j, &Faults::none(), 0, &plan).unwrap_err();
        assert!(matches!(e, ApplyError::Appeared(_)), "{e:?}");
        let e = e.to_string();
        assert!(e.contains("hubreg appeared during the restore"), "{e}");
        let c = j.snapshot().components[0].clone();
        assert!(c.copy_started.is_empty(), "{:?}", c.copy_started);
        rollback(&c).unwrap();
        assert_eq!(entries(&spec.home), entries_of(before));
    }

    #[test]
    fn the_commit_retires_only_the_safety_folder_it_made() {
        let root = tempfile::tempdir().unwrap();
        let (_, _, j) = applied(root.path());
        let c = j.snapshot().components[0].clone();
        let safety = PathBuf::from(&c.safety_folder);
        let retired = retired_name(&c.safety_folder);
        fs::rename(&safety, root.path().join("ours")).unwrap();
        w(&safety.join("x"), "someone else's");
        j.0.lock().unwrap().commit_decided = true;
        complete(&j, None);
        let rec = j.snapshot();
        assert_eq!(rec.status, RestoreStatus::Succeeded);
        assert_eq!(rec.components[0].status, ComponentState::Restored);
        assert!(
            rec.notes
                .iter()
                .any(|n| n.contains("is not the safety folder")),
            "{:?}",
            rec.notes
        );
        assert_eq!(read(&safety.join("x")), b"someone else's");
        assert!(!retired.exists());
        // Ours back in place: the commit (run again, as at start-up) retires it.
        fs::remove_dir_all(&safety).unwrap();
        fs::rename(root.path().join("ours"), &safety).unwrap();
        let n = j.snapshot().notes.len();
        complete(&j, None);
        assert!(!safety.exists() && retired.is_dir());
        assert_eq!(j.snapshot().notes.len(), n, "{:?}", j.snapshot().notes);
        // ... and a third time finds nothing to do.
        complete(&j, None);
        assert_eq!(j.snapshot().notes.len(), n, "{:?}", j.snapshot().notes);
        assert!(retired.is_dir());
    }

    #[test]
    fn the_commit_never_retires_onto_a_folder_it_did_not_make() {
        let root = tempfile::tempdir().unwrap();
        let (_, _, j) = applied(root.path());
        let c = j.snapshot().components[0].clone();
        let safety = PathBuf::from(&c.safety_folder);
        let retired = retired_name(&c.safety_folder);
        fs::create_dir(&retired).unwrap();
        j.0.lock().unwrap().commit_decided = true;
        complete(&j, None);
        let rec = j.snapshot();
        assert_eq!(rec.status, RestoreStatus::Succeeded);
        assert!(
            rec.notes.iter().any(|n| n.contains("could not be removed")),
            "{:?}",
            rec.notes
        );
        assert!(safety.join("hub.ini").is_file(), "kept");
        purge_retired(&rec);
        assert!(retired.is_dir(), "not the restore's: kept");
        assert!(safety.join("hub.ini").is_file());
    }

    #[test]
    fn purge_deletes_only_the_retired_folder_the_restore_made() {
        let root = tempfile::tempdir().unwrap();
        let (spec, b) = setup(root.path());
        let j = MemJournal(Mutex::new(record_for(plan_of(&spec, &b))));
        run(&j, &Faults::none());
        let rec = j.snapshot();
        assert_eq!(rec.status, RestoreStatus::Succeeded);
        let retired = retired_name(&rec.components[0].safety_folder);
        assert!(retired.is_dir());
        // Not decided: nothing is deleted.
        let mut undecided = rec.clone();
        undecided.commit_decided = false;
        purge_retired(&undecided);
        assert!(retired.is_dir());
        // A remote component's paths are on its agent's machine.
        let mut remote = rec.clone();
        remote.components[0].agent = Some("https://agent.example".into());
        purge_retired(&remote);
        assert!(retired.is_dir());
        // Something else at that name.
        fs::rename(&retired, root.path().join("ours")).unwrap();
        w(&retired.join("x"), "someone else's");
        purge_retired(&rec);
        assert_eq!(read(&retired.join("x")), b"someone else's");
        let mut unrecorded = rec.clone();
        unrecorded.components[0].safety_created = None;
        purge_retired(&unrecorded);
        assert_eq!(read(&retired.join("x")), b"someone else's");
        // Ours.
        fs::remove_dir_all(&retired).unwrap();
        fs::rename(root.path().join("ours"), &retired).unwrap();
        purge_retired(&rec);
        assert!(!fsutil::exists_nofollow(&retired));
        purge_retired(&rec);
    }

    #[test]
    fn created_folders_are_removed_only_when_empty_and_a_second_rollback_is_clean() {
        let root = tempfile::tempdir().unwrap();
        let spec = ComponentSpec {
            name: "app".into(),
            profile: Profile::Custom,
            home: root.path().join("app"),
            backup_folder: root.path().join("app-backup"),
            keep: 1,
            items: vec!["conf/app.ini".into()],
        };
        let b = spec.backup_folder.clone();
        w(&b.join("conf/app.ini"), "[app]\n");
        let st = Command::new("sh")
            .arg("-c")
            .arg("sha256sum conf/app.ini > SHA256SUMS")
            .current_dir(&b)
            .status()
            .unwrap();
        assert!(st.success());
        w(&spec.home.join("other.txt"), "not an item");
        let before = entries(&spec.home);
        let j = MemJournal(Mutex::new(record_for(plan_of(&spec, &b))));
        apply_component(&j, &Faults::none(), 0).unwrap();
        let c = j.snapshot().components[0].clone();
        assert_eq!(
            c.created_dirs,
            [spec.home.join("conf").display().to_string()]
        );
        // Something else puts a file into conf/, which the restore created.
        w(&spec.home.join("conf/foreign"), "foreign");
        let errors = rollback(&c).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].contains("created by the restore, was kept"),
            "{errors:?}"
        );
        assert_eq!(read(&spec.home.join("conf/foreign")), b"foreign");
        assert!(!spec.home.join("conf/app.ini").exists(), "the copy is gone");
        // Once it is gone, the rollback completes; run again, it finds nothing left to do.
        fs::remove_file(spec.home.join("conf/foreign")).unwrap();
        let steps = rollback(&c).unwrap();
        assert!(steps.contains(&StepAction::RemovedFolder), "{steps:?}");
        assert_eq!(rollback(&c).unwrap(), Vec::<StepAction>::new());
        assert_eq!(entries(&spec.home), before);
    }

    /// Agents that record which calls they got.
    #[derive(Default)]
    struct FakeAgents(Mutex<Vec<String>>);

    impl RemoteRestores for FakeAgents {
        fn apply(
            &self,
            _: &RestoreRecord,
            c: &ComponentRestore,
        ) -> Result<ComponentRestore, RemoteError> {
            self.0.lock().unwrap().push(format!("apply {}", c.name));
            Err(RemoteError::NoComponent)
        }
        fn commit(&self, _: &RestoreRecord, c: &ComponentRestore) -> Result<Ack, RemoteFailure> {
            self.0.lock().unwrap().push(format!("commit {}", c.name));
            Ok(Ack::default())
        }
        fn rollback(&self, _: &RestoreRecord, c: &ComponentRestore) -> Result<Ack, RemoteFailure> {
            self.0.lock().unwrap().push(format!("rollback {}", c.name));
            Ok(Ack::default())
        }
    }

    #[test]
    fn remote_components_are_committed_once_and_their_paths_never_touched_here() {
        let root = tempfile::tempdir().unwrap();
        let (spec, b) = setup(root.path());
        let mut remote = plan_of(&spec, &b);
        remote.name = "trk".into();
        remote.agent = Some("https://agent.example".into());
        remote.status = ComponentState::Applied;
        let mut rec = record_for(remote.clone());
        rec.commit_decided = true;
        let before = tree(&spec.home);
        let j = MemJournal(Mutex::new(rec));
        let agents = FakeAgents::default();
        complete_with(&j, &Faults::none(), &agents, None);
        assert_eq!(*agents.0.lock().unwrap(), ["commit trk"]);
        assert_eq!(j.snapshot().components[0].status, ComponentState::Restored);
        // Again (start-up recovery): already restored, not committed twice.
        complete_with(&j, &Faults::none(), &agents, None);
        assert_eq!(agents.0.lock().unwrap().len(), 1);
        assert_eq!(tree(&spec.home), before, "a remote path is not a local one");
    }

    #[test]
    fn a_failed_fsync_fails_the_step_and_the_rollback_reports_it() {
        let root = tempfile::tempdir().unwrap();
        let (spec, b) = setup(root.path());
        let before = entries(&spec.home);
        let j = MemJournal(Mutex::new(record_for(plan_of(&spec, &b))));
        run(&j, &Faults::parse("restore_fsync_fail:hub").unwrap());
        let rec = j.snapshot();
        assert_eq!(rec.status, RestoreStatus::Failed);
        assert!(
            rec.errors[0].contains("syncing folder") && rec.errors[0].contains("os error 5"),
            "the move-aside failed on the fsync: {:?}",
            rec.errors
        );
        let c = &rec.components[0];
        assert!(c.copy_started.is_empty(), "nothing was copied");
        assert_eq!(c.status, ComponentState::RollbackIncomplete);
        assert!(
            c.errors.iter().any(|e| e.contains("syncing folder")),
            "the rollback's fsync failed too: {:?}",
            c.errors
        );
        // Everything was put back all the same; without the fault the rollback completes.
        assert_eq!(entries(&spec.home), before);
        rollback(c).unwrap();
        assert_eq!(entries(&spec.home), before);
    }

    #[test]
    fn rollback_names_an_entry_it_cannot_check_and_leaves_it() {
        let root = tempfile::tempdir().unwrap();
        let (spec, _, j) = applied(root.path());
        let c = j.snapshot().components[0].clone();
        let safety = PathBuf::from(&c.safety_folder);
        // The safety folder became a file: its entries cannot even be looked at.
        fs::rename(&safety, root.path().join("ours")).unwrap();
        fs::write(&safety, "a file").unwrap();
        let live = read(&spec.home.join("hub.ini"));
        let errors = rollback(&c).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors.iter().all(|e| e.contains("Not a directory")),
            "{errors:?}"
        );
        assert_eq!(read(&spec.home.join("hub.ini")), live, "left as it is");
        assert_eq!(read(&safety), b"a file");
    }

    /// A custom component with one nested item whose folder the home lacks.
    fn nested(root: &Path) -> (ComponentSpec, PathBuf) {
        let spec = ComponentSpec {
            name: "app".into(),
            profile: Profile::Custom,
            home: root.join("app"),
            backup_folder: root.join("app-backup"),
            keep: 1,
            items: vec!["conf/app.ini".into(), "app.db".into()],
        };
        let b = spec.backup_folder.clone();
        w(&b.join("conf/app.ini"), "[app]\n");
        w(&b.join("app.db"), "db");
        let st = Command::new("sh")
            .arg("-c")
            .arg("sha256sum conf/app.ini app.db > SHA256SUMS")
            .current_dir(&b)
            .status()
            .unwrap();
        assert!(st.success());
        w(&spec.home.join("app.db"), "old db");
        (spec, b)
    }

    #[test]
    fn a_folder_that_appears_before_it_is_created_stops_the_restore_and_stays() {
        let root = tempfile::tempdir().unwrap();
        let (spec, b) = nested(root.path());
        let plan = plan_of(&spec, &b);
        let conf = spec.home.join("conf");
        assert_eq!(plan.create_dirs, [conf.display().to_string()]);
        let j = MemJournal(Mutex::new(record_for(plan.clone())));
        fs::create_dir(&conf).unwrap();
        let before = entries(&spec.home);
        let e = apply_steps(&j, &Faults::none(), 0, &plan).unwrap_err();
        assert!(matches!(e, ApplyError::Io(_)), "{e:?}");
        let e = e.to_string();
        assert!(
            e.contains(&format!("creating folder {}", conf.display())) && e.contains("exists"),
            "{e}"
        );
        let c = j.snapshot().components[0].clone();
        assert!(c.created_dirs.is_empty() && c.copy_started.is_empty());
        rollback(&c).unwrap();
        assert!(conf.is_dir(), "not the restore's: kept although empty");
        assert_eq!(entries(&spec.home), before);
        assert_eq!(read(&spec.home.join("app.db")), b"old db");
    }

    #[test]
    fn a_safety_folder_that_cannot_be_made_is_named_with_the_reason() {
        let root = tempfile::tempdir().unwrap();
        let (spec, b) = nested(root.path());
        fs::remove_file(spec.home.join("app.db")).unwrap();
        let plan = plan_of(&spec, &b);
        assert!(plan.remove.is_empty());
        // The home is gone and a file took its place.
        fs::remove_dir(&spec.home).unwrap();
        fs::write(&spec.home, "a file").unwrap();
        let j = MemJournal(Mutex::new(record_for(plan.clone())));
        let e = apply_steps(&j, &Faults::none(), 0, &plan).unwrap_err();
        assert!(matches!(e, ApplyError::Io(_)), "{e:?}");
        let e = e.to_string();
        assert!(
            e.contains(&format!("creating folder {}", plan.safety_folder))
                && e.contains("Not a directory"),
            "{e}"
        );
        assert!(j.snapshot().components[0].safety_created.is_none());
        assert_eq!(read(&spec.home), b"a file");
    }

    #[test]
    fn nested_entries_are_moved_aside_and_put_back_in_their_place() {
        let root = tempfile::tempdir().unwrap();
        let spec = ComponentSpec {
            name: "trk".into(),
            profile: Profile::MaestroTracker,
            home: root.path().join("trk"),
            backup_folder: root.path().join("trk/backup"),
            keep: 1,
            items: vec![],
        };
        let tape = root.path().join("tape");
        w(&tape.join("a.dat"), "A");
        let st = Command::new("sh")
            .arg("-c")
            .arg("sha256sum a.dat > SHA256SUMS")
            .current_dir(&tape)
            .status()
            .unwrap();
        assert!(st.success());
        w(&spec.home.join("data/a.dat"), "old a");
        w(&spec.home.join("data/b.dat"), "old b");
        w(&spec.home.join("data/keep.txt"), "kept");
        let before = entries(&spec.home);
        let j = MemJournal(Mutex::new(record_for(plan_of(&spec, &tape))));
        apply_component(&j, &Faults::none(), 0).unwrap();
        let c = j.snapshot().components[0].clone();
        let safety = PathBuf::from(&c.safety_folder);
        assert_eq!(read(&safety.join("data/a.dat")), b"old a");
        assert_eq!(read(&safety.join("data/b.dat")), b"old b");
        assert_eq!(read(&spec.home.join("data/a.dat")), b"A");
        assert!(!spec.home.join("data/b.dat").exists());
        rollback(&c).unwrap();
        assert_eq!(entries(&spec.home), before);
    }
}
