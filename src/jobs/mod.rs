//! The job runner. How every job runs (a task on the server's runtime, the panic boundary,
//! the finish step) is [`runner`]; the one-job lock and its exclusion table are [`lock`]; what
//! the kinds' journals share is [`journal`]; restores and verifications are the kinds in
//! [`restore`], [`verification`] and [`drill`]. This file is the backup job service, [`BackupJobs`]: starts backups (one job at a time, shared with restores),
//! keeps their records on disk, streams their progress, cancels them, and runs crash recovery
//! ([`crate::backup::recovery`]) when it opens.
//!
//! # Job records
//! `<state_dir>/jobs/backups/<ID>.json`, written atomically (temp file, fsync, rename, fsync
//! folder) before [`BackupJobs::start_backup`] returns and again at every step (component status
//! changes, the commit decision, the end). Progress counters between steps live in memory only.
//! The report is `<state_dir>/logs/backupReport_<ID>.txt`; the last ID issued is
//! `<state_dir>/last_backup_id`; `<state_dir>/engine.lock` is flock'ed while an engine is open,
//! so two processes cannot share a state folder.
//!
//! # States
//! `running` → `succeeded` | `failed` | `cancelled` (see `engine::coordinator` for the steps);
//! a record found `running` when the engine opens → `interrupted`, or `succeeded` when its
//! commit had been decided and recovery completed it (see `engine::recovery`). A decided backup
//! that an agent had not acknowledged stays `running` after the restart: a chain of jobs of the
//! runner (started by [`BackupJobs::open_with`], holding the job lock) retries its remote commits until
//! every agent acknowledged and ends it `succeeded` ("rolled forward ..."), or `failed` when an
//! agent will never commit (an operator aborted it by hand: a heuristic mismatch). Every state
//! but `running` is final.
//!
//! # Sets still committing
//! [`BackupJobs::committing`] names the backups whose commit is decided and not acknowledged by
//! every component yet (`running` with `commit_decided`): `/backup-sets` shows those sets as
//! `committing`, never as complete.
//!
//! # Nothing acts on what is not on disk
//! A backup's end and its commit decision count once they are saved: until the save succeeds,
//! readers see the record as last saved (`running`), the job keeps the lock, no hook starts,
//! and the save is retried while `/healthz` says `degraded` and `/metrics`
//! `backup_master_degraded` counts it (`coordinator::persist_durably`). A decision whose save
//! failed is withdrawn on disk before anything is aborted. A record that recovery finished but
//! could not save stays `running` too and is saved by that chain, before its hook.
//!
//! # Kept staging folders
//! A staging folder whose commit could not be completed (a failed rotation after the decision,
//! live or in recovery) is the only copy of that component's backup: the record lists it in
//! `kept_stagings`, nothing removes it (start-up cleanup included), and new backups are refused
//! ([`StartError::StagingKept`], HTTP 409) until an operator discards it
//! ([`BackupJobs::discard_kept_stagings`]). So are the staging folders of a record file that cannot
//! be read: a stand-in record (`interrupted`) lists them.
//!
//! # Hooks, exactly once
//! The final record is saved with `hook_pending`; the finish listener (the hook manager) is
//! called after that, and `hook_pending` is cleared once it handled the hook. At open, every
//! final record still owing its hook is delivered to the first listener set, so a crash between
//! the end and the hook's start (or recovery finishing a backup before any listener exists)
//! never loses an `on_success` / `on_failure`; the hook manager's own record, written before the
//! process starts, keeps it from starting twice.
//!
//! # A restore waiting for its component
//! While a local maestro-lui component's `lui.ini` still has the `RestoreFromBackup=` line a
//! restore appended (the component has not started since; it removes the line when it does),
//! backups are refused ([`StartError::RestorePending`], HTTP 409 naming the restore; the
//! scheduler logs the instant as skipped): the next backup would rotate that folder away and
//! copy a half-restored application. Refusing is simpler and safer than pinning the folder (a
//! copy costs a whole backup's space and time; a name outside the rotation would be a second
//! kind of slot to own, verify and clean up). An agent refuses the prepare of its remote
//! maestro-lui component the same way.
//!
//! # Execution
//! Each backup is a job of the [`runner`]: a task on the server's runtime whose work runs on the
//! blocking pool, driving the coordinator's async parts (concurrent prepares, agents' calls)
//! with the runtime's handle; file copies run on the store's blocking tasks and copy workers.
//! A panic of the work ends the backup `failed` ("internal error"): before the decision its
//! staging folders are removed; after it, those not committed are kept for the operator. The
//! end follows the runner's finish step: the final record durable → the lock released
//! ([`runner::Runner::finish`]) → the final record shown, its event stream ended and the
//! after-backup hook started.
//!
//! # Fault injection (tests only)
//! `BACKUP_MASTER_FAULTS`, read once by [`BackupJobs::open`], is a comma-separated list of:
//! * `prepare:<component>`: that component's prepare fails with "injected fault: prepare:<component>";
//! * `enospc:<component>`: its first file write fails with ENOSPC ("No space left on device");
//! * `panic:<component>`: its prepare panics (exercises the panic boundary);
//! * `slow_copy_ms:<n>`: sleep n ms before each file (a window for cancel and crash tests);
//! * `abort_after_decision`: `std::process::abort()` right after the commit decision is durable;
//! * `abort_mid_rotation:<component>`: `abort()` during that component's rotation, after the
//!   older slots were shifted and before its staging folder became `backup`;
//! * `fail_save_once:<save>`, `abort_at:<step>`, `panic_at:<step>`, `pause_at:<step>`: a record
//!   save that fails once; an abort, a panic or a pause at a named step (see `engine::faults`).
//!
//! An unknown name makes `open` fail.

mod backup;
mod backup_job;
mod backup_open;
pub mod drill;
pub mod events;
pub mod journal;
pub mod lock;
pub mod replication;
pub mod restore;
pub mod runner;
pub mod verification;

use crate::toolkit::bridge::BridgeError;
use crate::toolkit::journal::Journal;
use crate::toolkit::Backoff;
use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::backup::coordinator::{self, CoordinatorJournal, Participant, Run};
use crate::backup::recovery;
use crate::engine::backup_id::IdGenerator;
use crate::engine::faults::Faults;
use crate::engine::fsutil::{self, IoContext, IoError};
use crate::engine::readme::Readme;
use crate::engine::record::{KeptStaging, UnreadableRecord};
use crate::engine::slots::SlotLayout;
use crate::engine::{profile, record, report, CancelToken, ComponentSpec, Profile};
use crate::store::{ComponentStore, LocalStore, ProgressUpdate};

pub use crate::engine::record::{
    BackupEvent, BackupRecord, BackupStatus, ComponentProgress, ComponentStatus, Trigger,
};
pub use crate::store::SlotInfo;

/// Capacity of a backup's event channel; a slower subscriber sees `Lagged` and should resend
/// the snapshot from [`BackupJobs::get_backup`].
/// Errors of the backup job service as a whole (opening the state dir, reading history, ...).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Io(#[from] crate::engine::fsutil::IoError),
    #[error(transparent)]
    Id(#[from] crate::engine::backup_id::IdError),
    #[error(transparent)]
    Faults(#[from] crate::engine::faults::FaultsError),
    #[error("state folder {} is in use by another backup-master process", .0.display())]
    StateLocked(PathBuf),
    #[error("unknown component {0:?}")]
    UnknownComponent(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

const EVENT_CAPACITY: usize = 1024;
/// Largest page [`BackupJobs::list_backups`] returns.
pub const MAX_PAGE: usize = 1000;

pub use crate::kinds::{JobKind, RunningJob};
use journal::BackupJournal;
use lock::TakeError;
pub use lock::{Busy, ExclusiveGuard, JobLock};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Another backup or restore runs (HTTP 409 with its ID).
    #[error("a {kind} is already running: {id}")]
    Busy { kind: JobKind, id: String },
    /// The config has no components.
    #[error("no components are configured")]
    NoComponents,
    /// An earlier backup keeps staging folders for the operator (its commit could not be
    /// completed); a new backup would remove them (HTTP 409 naming it).
    #[error("backup {id} keeps staging folder(s) {} for an operator (its commit could not be completed; each is the only copy of that component's backup): discard them (DELETE /api/v1/backups/{id}/staging) before the next backup", paths.join(", "))]
    StagingKept { id: String, paths: Vec<String> },
    /// A restored `lui.ini` still has its `RestoreFromBackup=` line: the component has not
    /// started since the restore (HTTP 409 naming the restore).
    #[error("{}", restore_pending_text(.component, .file, .folder, .restore.as_deref()))]
    RestorePending {
        component: String,
        /// The component's `lui.ini`.
        file: PathBuf,
        /// The folder the line names.
        folder: String,
        /// The restore that wrote the line, when known.
        restore: Option<String>,
    },
    /// The job could not be recorded (ID file or job record not writable).
    #[error("could not start the backup: {0}")]
    Io(EngineError),
}

fn restore_pending_text(
    component: &str,
    file: &Path,
    folder: &str,
    restore: Option<&str>,
) -> String {
    let by = restore
        .map(|r| format!(" (written by restore {r})"))
        .unwrap_or_default();
    format!(
        "a restore of component {component} waits for the component's first start: {} still \
         has the line RestoreFromBackup={folder}{by}; the Maestro User Interface restores its \
         database from that folder when it starts and then removes the line. Start it before \
         the next backup: a backup now would rotate that folder away and copy a half-restored \
         application",
        file.display()
    )
}

/// Why kept staging folders were not discarded.
#[derive(Debug, thiserror::Error)]
pub enum DiscardError {
    #[error("no such backup")]
    NotFound,
    #[error("backup {0} keeps no staging folder")]
    NothingKept(String),
    /// A folder at a kept name that the product cannot prove it made: left alone.
    #[error("{0}")]
    NotOurs(String),
    #[error(transparent)]
    Io(#[from] IoError),
    /// The record could not be saved.
    #[error(transparent)]
    Journal(#[from] crate::toolkit::journal::JournalError),
}

#[derive(Debug, thiserror::Error)]
pub enum CancelError {
    #[error("no such backup")]
    NotFound,
    #[error("the backup is not running (it is {})", status.as_str())]
    NotRunning { status: BackupStatus },
}

pub use crate::toolkit::record_dir::ListQuery;
use crate::toolkit::record_dir::RecordIndex;

/// A page of backups, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BackupPage {
    pub items: Vec<BackupRecord>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Makes the store of a component (local by default; a remote store later).
pub type StoreFactory = Arc<dyn Fn(&ComponentSpec) -> Arc<dyn ComponentStore> + Send + Sync>;
/// Called with the final record whenever a backup ends (and, at start-up, for every final
/// backup whose hook is still owed). Returns true once the after-backup hook was handled
/// (started, skipped, or none configured): the record's `hook_pending` is then cleared. False
/// leaves the hook owed to the next start.
pub type FinishListener = Arc<dyn Fn(&BackupRecord) -> bool + Send + Sync>;
/// Names the restore that left a `RestoreFromBackup=` line: (component, folder) -> restore ID.
pub type RestoreLookup = Arc<dyn Fn(&str, &str) -> Option<String> + Send + Sync>;

struct Live {
    tx: broadcast::Sender<BackupEvent>,
    stop: CancelToken,
    user_cancelled: Arc<AtomicBool>,
}

#[derive(Default)]
struct State {
    records: RecordIndex<BackupRecord>,
    live: HashMap<String, Live>,
    /// The critical fields of backups whose job works with other values than readers see
    /// (see [`BackupJournal`]).
    own: HashMap<String, journal::Own>,
}

struct Inner {
    state_dir: PathBuf,
    components: RwLock<Vec<ComponentSpec>>,
    state: Mutex<State>,
    /// The one-job lock, shared with restores.
    lock: Arc<JobLock>,
    /// Runs the jobs on the server's runtime.
    runner: runner::Runner,
    /// Serialises snapshot-and-save of backup records, so an older snapshot never overwrites
    /// a newer one.
    write_lock: Mutex<()>,
    ids: Mutex<IdGenerator>,
    faults: Arc<Faults>,
    listener: Mutex<Option<FinishListener>>,
    undelivered: Mutex<Vec<BackupRecord>>,
    recovered: Vec<BackupRecord>,
    store_factory: RwLock<StoreFactory>,
    /// Why the server is degraded, by subject (a job whose record cannot be written, ...).
    problems: Mutex<BTreeMap<String, String>>,
    /// Backups shown by a stand-in record because their record file cannot be read: ID ->
    /// that file (kept as it is; moved aside only when an operator discards the stagings).
    unreadable: Mutex<BTreeMap<String, PathBuf>>,
    restore_lookup: RwLock<Option<RestoreLookup>>,
    /// Where the jobs' events go (a backup's start, a restore's end, a failed verification).
    events: Mutex<crate::toolkit::events::EventSink>,
    _state_lock: nix::fcntl::Flock<File>,
}

/// The backup job service: runs backups (one job at a time with restores), keeps their records
/// and the configured components and stores. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct BackupJobs {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

/// Runs a future to completion on a runtime of its own (the toolkit's bridge): usable from
/// sync code, inside or outside a tokio runtime.
fn block_on<F>(fut: F) -> Result<F::Output, EngineError>
where
    F: Future + Send,
    F::Output: Send,
{
    crate::toolkit::bridge::run_here(fut).map_err(|e| match e {
        BridgeError::Runtime(e) => EngineError::Internal(format!("cannot start a runtime: {e}")),
        BridgeError::Stopped => EngineError::Internal("a task panicked".into()),
    })
}

/// After the record is final (durably) and the lock released: end the event stream, call the
/// listener; once it handled the hook, the hook is no longer owed.
fn complete(inner: &Arc<Inner>, id: &str) {
    let final_rec = {
        let mut st = lock(&inner.state);
        let rec = st.records.get(id).cloned();
        if let Some(live) = st.live.remove(id) {
            if let Some(r) = &rec {
                // No subscriber is fine: events are for whoever follows.
                let _ = live.tx.send(BackupEvent::End { status: r.status });
            }
        }
        rec
    };
    let Some(r) = final_rec else { return };
    if !r.status.is_final() {
        // Never act on an end that is not on disk.
        return;
    }
    let listener = {
        let l = lock(&inner.listener);
        if l.is_none() {
            // No listener yet (a backup finished in the background right after open):
            // delivered when one is set.
            lock(&inner.undelivered).push(r.clone());
        }
        l.clone()
    };
    if let Some(l) = listener {
        if l(&r) {
            hook_handled(inner, id);
        }
    }
}

/// Clears `hook_pending` of a final backup whose hook the listener handled. A failed write is
/// harmless: at the next start the hook's own record shows it was started.
fn hook_handled(inner: &Arc<Inner>, id: &str) {
    let journal = BackupJournal::new(inner.clone(), id);
    if let Err(e) = journal.update(&mut |r| r.hook_pending = false) {
        tracing::warn!(backup = %id, error = %e, "could not record that the after-backup hook was handled");
    }
}

fn set_problem(inner: &Inner, subject: &str, problem: Option<String>) {
    let mut problems = lock(&inner.problems);
    match problem {
        Some(p) => {
            problems.insert(subject.to_string(), p);
        }
        None => {
            problems.remove(subject);
        }
    }
}

/// What a hook is told about a backup: its ID, report and each component's backup folder.
pub fn backup_context(record: &BackupRecord) -> crate::hooks::BackupContext {
    crate::hooks::BackupContext {
        backup_id: record.id.clone(),
        result: if record.status == BackupStatus::Succeeded {
            "success".into()
        } else {
            "failure".into()
        },
        report: std::path::PathBuf::from(&record.report),
        folders: record
            .components
            .iter()
            .map(|c| (c.name.clone(), std::path::PathBuf::from(&c.folder)))
            .collect(),
    }
}

/// The latest finished backup's context, for a hook test run (none before the first backup).
pub fn latest_context(engine: &BackupJobs) -> Option<crate::hooks::BackupContext> {
    let page = engine.list_backups(&ListQuery {
        limit: 20,
        cursor: None,
        status: None,
    });
    page.items
        .iter()
        .find(|r| r.status.is_final())
        .map(backup_context)
}

#[cfg(test)]
mod tests;
