//! The job runner. How every job runs (a task on the server's runtime, the panic boundary,
//! the finish step) is [`runner`]; the one-job lock and its exclusion table are [`lock`]; what
//! the kinds' journals share is [`journal`]; restores and verifications are the kinds in
//! [`restore`] and [`verification`]. This file is the backup job service, [`BackupJobs`]: starts backups (one job at a time, shared with restores),
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

pub mod journal;
pub mod lock;
pub mod restore;
pub mod runner;
pub mod verification;

use crate::toolkit::bridge::BridgeError;
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

use crate::backup::coordinator::{self, Journal, Participant, Run};
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
    own: HashMap<String, Own>,
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

fn local_factory(faults: Arc<Faults>) -> StoreFactory {
    let store: Arc<dyn ComponentStore> = Arc::new(LocalStore::new(faults));
    Arc::new(move |_spec: &ComponentSpec| store.clone())
}

fn lock_state_dir(state_dir: &Path) -> Result<nix::fcntl::Flock<File>, EngineError> {
    let path = state_dir.join("engine.lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .ctx("opening", &path)?;
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock)
        .map_err(|_| EngineError::StateLocked(state_dir.to_path_buf()))
}

impl BackupJobs {
    /// Opens the state dir (creating it), runs crash recovery synchronously, loads the job
    /// records. Faults come from `BACKUP_MASTER_FAULTS`.
    pub fn open(
        state_dir: PathBuf,
        components: Vec<ComponentSpec>,
    ) -> Result<BackupJobs, EngineError> {
        Self::open_with(state_dir, components, Faults::from_env()?, None)
    }

    /// Like [`BackupJobs::open`] with explicit faults and, optionally, a store factory (default:
    /// every component is local). Tests use it to avoid the environment.
    pub fn open_with(
        state_dir: PathBuf,
        components: Vec<ComponentSpec>,
        faults: Faults,
        store_factory: Option<StoreFactory>,
    ) -> Result<BackupJobs, EngineError> {
        let records_dir = record::records_dir(&state_dir);
        fs::create_dir_all(&records_dir).ctx("creating folder", &records_dir)?;
        let logs = state_dir.join("logs");
        fs::create_dir_all(&logs).ctx("creating folder", &logs)?;
        let state_lock = lock_state_dir(&state_dir)?;
        // Temp files of interrupted atomic writes.
        if let Ok(entries) = fs::read_dir(&records_dir) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().contains(".tmp-") {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
        let (records, unreadable) = record::load_all(&state_dir)?;
        for u in &unreadable {
            tracing::warn!("{}", u.warning());
        }
        let newest_unreadable = unreadable.iter().filter_map(|u| u.id.clone()).max();
        let floor = records
            .last()
            .map(|r| r.id.clone())
            .into_iter()
            .chain(newest_unreadable)
            .max();
        let ids = IdGenerator::load(&state_dir, floor.as_deref())?;
        let faults = Arc::new(faults);
        let factory = store_factory.unwrap_or_else(|| local_factory(faults.clone()));
        let runner = runner::Runner::current()
            .map_err(|e| EngineError::Internal(format!("no runtime for the jobs: {e}")))?;

        let mut map: BTreeMap<String, BackupRecord> =
            records.into_iter().map(|r| (r.id.clone(), r)).collect();
        // Staging folders that must survive the start-up cleanup: those kept for the operator,
        // and those of records that cannot be read (whether that backup was decided is unknown).
        let mut keep: Vec<(String, String)> = Vec::new();
        for r in map.values() {
            for k in &r.kept_stagings {
                keep.push((k.component.clone(), r.id.clone()));
            }
        }
        let mut stand_ins = BTreeMap::new();
        for u in &unreadable {
            let Some(id) = &u.id else { continue };
            if map.contains_key(id) {
                continue;
            }
            for c in &components {
                keep.push((c.name.clone(), id.clone()));
            }
            if let Some(rec) = stand_in(&state_dir, u, id, &components) {
                tracing::warn!(backup = %id, kept = ?rec.kept_stagings, "a job record cannot be read; its staging folders are kept for an operator");
                stand_ins.insert(id.clone(), u.path.clone());
                map.insert(id.clone(), rec);
            }
        }
        let recovered = block_on(recovery::recover(
            &state_dir,
            map.values().cloned().collect(),
            &keep,
            &components,
            &*factory,
        ))?;
        for r in recovered.records.iter().chain(&recovered.pending) {
            map.insert(r.id.clone(), r.clone());
        }
        // Every final backup whose hook is still owed (finished by recovery now, or ended
        // before the master stopped and its hook was not started): delivered once a finish
        // listener is set.
        let owed: Vec<BackupRecord> = map
            .values()
            .filter(|r| r.status.is_final() && r.hook_pending)
            .cloned()
            .collect();
        let engine = BackupJobs {
            inner: Arc::new(Inner {
                state_dir,
                components: RwLock::new(components),
                state: Mutex::new(State {
                    records: map.into_values().collect(),
                    live: HashMap::new(),
                    own: HashMap::new(),
                }),
                lock: Arc::new(JobLock::default()),
                runner,
                write_lock: Mutex::new(()),
                ids: Mutex::new(ids),
                faults,
                listener: Mutex::new(None),
                undelivered: Mutex::new(owed),
                recovered: recovered.records,
                store_factory: RwLock::new(factory),
                problems: Mutex::new(BTreeMap::new()),
                unreadable: Mutex::new(stand_ins),
                restore_lookup: RwLock::new(None),
                _state_lock: state_lock,
            }),
        };
        if !recovered.pending.is_empty() || !recovered.unrecorded.is_empty() {
            engine.finish_in_background(recovered.unrecorded, recovered.pending);
        }
        Ok(engine)
    }

    /// Finishes, as a chain of jobs of the runner holding the job lock from now on, what
    /// start-up recovery could not: first the records whose final write failed (retried until
    /// durable: they stay `running` until then), then the commit of decided backups that an
    /// agent had not acknowledged when the master stopped (see `engine::recovery`): each ends
    /// `succeeded` with [`recovery::ROLLED_FORWARD`] or `failed` with the reason. The lock
    /// passes from one to the next without a gap ([`runner::Runner::spawn_chain`]), so no
    /// backup starts in between (its prepare would remove the staging folders still needed).
    fn finish_in_background(&self, unrecorded: Vec<BackupRecord>, pending: Vec<BackupRecord>) {
        let mut jobs: Vec<Arc<dyn runner::Job>> = Vec::new();
        for rec in unrecorded {
            jobs.push(Arc::new(RecoveredBackup::new(
                &self.inner,
                &rec.id.clone(),
                Recovering::Unrecorded(rec),
            )));
        }
        let config = self.all_components();
        for rec in pending {
            let id = rec.id.clone();
            let stop = CancelToken::new();
            let user_cancelled = Arc::new(AtomicBool::new(false));
            let (tx, _) = broadcast::channel(EVENT_CAPACITY);
            lock(&self.inner.state).live.insert(
                id.clone(),
                Live {
                    tx,
                    stop: stop.clone(),
                    user_cancelled: user_cancelled.clone(),
                },
            );
            // Every component, also those acknowledged before the restart: the commit skips
            // them and counts them as committed.
            let participants: Vec<Participant> = rec
                .components
                .iter()
                .map(|c| {
                    let spec = recovery::spec_for(c, &config);
                    Participant {
                        store: self.store_for(&spec),
                        spec,
                    }
                })
                .collect();
            let journal = Arc::new(BackupJournal::new(self.inner.clone(), &id));
            let run = Run {
                id: id.clone(),
                participants,
                journal: journal.clone(),
                faults: self.inner.faults.clone(),
                stop,
                user_cancelled,
                state_dir: self.inner.state_dir.clone(),
                resumed: true,
            };
            jobs.push(Arc::new(RecoveredBackup::new(
                &self.inner,
                &id,
                Recovering::Decided(run),
            )));
        }
        let Some(first) = jobs.first().map(|j| j.id()) else {
            return;
        };
        // Taken before `open` returns: no backup or restore can start in between.
        let guard = self.inner.lock.hold_for_recovery(JobKind::Backup, &first);
        self.inner.runner.spawn_chain(jobs, guard);
    }

    /// Replaces the components; takes effect for the next backup.
    pub fn set_components(&self, components: Vec<ComponentSpec>) {
        *self
            .inner
            .components
            .write()
            .unwrap_or_else(|e| e.into_inner()) = components;
    }

    /// The local components (homes on this machine): the ones whose folders the backup sets
    /// and restores read directly. See [`BackupJobs::all_components`] for every one.
    pub fn components(&self) -> Vec<ComponentSpec> {
        self.all_components()
            .into_iter()
            .filter(|s| !s.is_remote())
            .collect()
    }

    /// Every component the next backup will use, local and remote (agent).
    pub fn all_components(&self) -> Vec<ComponentSpec> {
        self.inner
            .components
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The store of a configured component (local or remote), with its spec.
    pub fn store_of(
        &self,
        component: &str,
    ) -> Result<(ComponentSpec, Arc<dyn ComponentStore>), EngineError> {
        let spec = self.spec(component)?;
        let store = self.store_for(&spec);
        Ok((spec, store))
    }

    /// Replaces how stores are made (for remote components).
    pub fn set_store_factory(&self, f: StoreFactory) {
        *self
            .inner
            .store_factory
            .write()
            .unwrap_or_else(|e| e.into_inner()) = f;
    }

    fn store_for(&self, spec: &ComponentSpec) -> Arc<dyn ComponentStore> {
        let f = self
            .inner
            .store_factory
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        f(spec)
    }

    pub fn state_dir(&self) -> &Path {
        &self.inner.state_dir
    }

    /// The runner of every job kind (on the server's runtime).
    pub fn runner(&self) -> &runner::Runner {
        &self.inner.runner
    }

    /// The job holding the exclusive lock, if any.
    pub fn running(&self) -> Option<RunningJob> {
        self.inner.lock.running()
    }

    /// Takes the one-job-at-a-time lock shared by backups and restores.
    pub fn try_lock_exclusive(
        &self,
        kind: JobKind,
        id: &str,
    ) -> Result<ExclusiveGuard, StartError> {
        self.inner
            .lock
            .take(kind, id)
            .map_err(|Busy { kind, id }| StartError::Busy { kind, id })
    }

    /// Called with the final record whenever a backup ends (any status). Final backups whose
    /// hook is still owed when the engine opens (finished by recovery, or ended just before the
    /// master stopped) are delivered now, once (to the first listener set); each whose hook the
    /// listener handled gets `hook_pending` cleared.
    pub fn set_finish_listener(&self, f: FinishListener) {
        let pending = {
            let mut l = lock(&self.inner.listener);
            *l = Some(f.clone());
            std::mem::take(&mut *lock(&self.inner.undelivered))
        };
        for r in &pending {
            if f(r) {
                hook_handled(&self.inner, &r.id);
            }
        }
    }

    /// Names the restore that left a `RestoreFromBackup=` line in a `lui.ini`, for the 409 a
    /// backup gets meanwhile (the restores are not the engine's).
    pub fn set_restore_lookup(&self, f: RestoreLookup) {
        *self
            .inner
            .restore_lookup
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(f);
    }

    /// Reports (`Some`) or clears (`None`) a problem that degrades the server, under `subject`
    /// (e.g. `backup <ID>`): a job whose record cannot be written.
    /// Shown by `/healthz` and `/metrics`, and logged.
    pub fn set_problem(&self, subject: &str, problem: Option<String>) {
        set_problem(&self.inner, subject, problem);
    }

    /// What degrades the server now (see [`BackupJobs::set_problem`]), one line each.
    pub fn problems(&self) -> Vec<String> {
        lock(&self.inner.problems).values().cloned().collect()
    }

    /// Staging folders kept for an operator, over all backups.
    pub fn kept_stagings(&self) -> Vec<KeptStaging> {
        lock(&self.inner.state)
            .records
            .oldest_first()
            .flat_map(|r| r.kept_stagings.iter().cloned())
            .collect()
    }

    /// Backups whose commit is decided but not yet acknowledged by every component: still
    /// `running` with `commit_decided` (live, or rolled forward after a restart).
    pub fn committing(&self) -> Vec<String> {
        lock(&self.inner.state)
            .records
            .oldest_first()
            .filter(|r| r.status == BackupStatus::Running && r.commit_decided)
            .map(|r| r.id.clone())
            .collect()
    }

    /// True when backup `id` is known only by a record file that cannot be read: whether it
    /// was decided is unknown, so nothing may be presumed about it.
    pub fn is_unreadable(&self, id: &str) -> bool {
        lock(&self.inner.unreadable).contains_key(id)
    }

    /// Adds a note (and, for a mismatch, an error) about a heuristic outcome met later, to the
    /// record of backup `id` (final or not), and saves it.
    pub fn record_heuristic(
        &self,
        id: &str,
        h: &crate::store::HeuristicOutcome,
    ) -> Result<(), String> {
        let line = crate::engine::single_line(&h.describe());
        BackupJournal::new(self.inner.clone(), id).update(&mut |r| {
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
        })
    }

    /// Refuses a backup while a maestro-lui home's `lui.ini` still has the `RestoreFromBackup=`
    /// line a restore appended: the component restores its database from that folder at its
    /// first start, and a backup now would rotate the folder away (and copy a half-restored
    /// application). Remote components are checked by their agents (their prepare refuses).
    fn check_no_restore_pending(&self, specs: &[ComponentSpec]) -> Result<(), StartError> {
        for s in specs
            .iter()
            .filter(|s| !s.is_remote() && s.profile == Profile::MaestroLui)
        {
            match profile::pending_restore_from(&s.home) {
                Ok(Some(folder)) => {
                    let restore = self
                        .inner
                        .restore_lookup
                        .read()
                        .unwrap_or_else(|e| e.into_inner())
                        .as_ref()
                        .and_then(|f| f(&s.name, &folder));
                    return Err(StartError::RestorePending {
                        component: s.name.clone(),
                        file: s.home.join(profile::LUI_INI),
                        folder,
                        restore,
                    });
                }
                Ok(None) => {}
                // The backup itself reports a lui.ini it cannot read.
                Err(e) => tracing::warn!(component = %s.name, error = %e, "cannot read lui.ini"),
            }
        }
        Ok(())
    }

    /// Removes the staging folders backup `id` keeps for an operator (`kept_stagings`) and
    /// records that; backups can start again. Each folder is checked right before: it must be
    /// the backup's staging name beside its component's backup folder (the name the record
    /// gives, which only a backup creates, exclusively), and its `readme.txt`, when it has one,
    /// must name this backup and component. Nothing is removed unless every folder passes.
    /// A stand-in (for a record file that cannot be read) is then saved in its place; the
    /// unreadable file is kept as `<ID>.json.unreadable`. Blocking.
    pub fn discard_kept_stagings(&self, id: &str) -> Result<BackupRecord, DiscardError> {
        let rec = self.get_backup(id).ok_or(DiscardError::NotFound)?;
        if rec.kept_stagings.is_empty() || !rec.status.is_final() {
            return Err(DiscardError::NothingKept(id.to_string()));
        }
        for k in &rec.kept_stagings {
            let path = Path::new(&k.path);
            let expected = SlotLayout::of(Path::new(&k.folder))
                .map(|l| l.staging(id))
                .map_err(|e| DiscardError::NotOurs(e.to_string()))?;
            if expected != path {
                return Err(DiscardError::NotOurs(format!(
                    "{} is not the staging folder of backup {id} beside {}; left alone",
                    k.path, k.folder
                )));
            }
            match fs::symlink_metadata(path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(IoError::new("reading metadata of", path, e).into()),
                Ok(m) if !m.is_dir() => {
                    return Err(DiscardError::NotOurs(format!(
                        "{} is not a folder; left alone",
                        k.path
                    )))
                }
                Ok(_) => {}
            }
            if let Ok(r) = Readme::read_from(path) {
                if r.backup_id != id || r.component != k.component {
                    return Err(DiscardError::NotOurs(format!(
                        "{}: its readme.txt names backup {} of {}, not {id} of {}; left alone",
                        k.path, r.backup_id, r.component, k.component
                    )));
                }
            }
        }
        for k in &rec.kept_stagings {
            let path = Path::new(&k.path);
            fsutil::remove_tree(path)?;
            fsutil::fsync_dir(&fsutil::parent_of(path))?;
            tracing::warn!(backup = %id, folder = %k.path, "kept staging folder discarded by an operator");
        }
        if let Some(file) = lock(&self.inner.unreadable).remove(id) {
            let aside = file.with_extension("json.unreadable");
            fs::rename(&file, &aside).ctx("renaming", &file)?;
        }
        let names: Vec<String> = rec.kept_stagings.iter().map(|k| k.path.clone()).collect();
        let note = format!(
            "an operator discarded the kept staging folder(s) {} at {}",
            names.join(", "),
            crate::engine::readme::fmt_time(now())
        );
        let journal = BackupJournal::new(self.inner.clone(), id);
        journal
            .update(&mut |r| {
                r.kept_stagings.clear();
                r.notes.push(note.clone());
            })
            .map_err(|e| {
                DiscardError::Io(IoError::new(
                    "writing",
                    record::record_path(&self.inner.state_dir, id),
                    std::io::Error::other(e),
                ))
            })?;
        self.get_backup(id).ok_or(DiscardError::NotFound)
    }

    /// Backups that recovery finished when the engine opened (already delivered to the finish
    /// listener; do not run hooks for them again).
    pub fn recovered(&self) -> Vec<BackupRecord> {
        self.inner.recovered.clone()
    }

    /// Starts a backup: takes the lock, issues the ID, writes the record (status `running`)
    /// before returning, and runs the backup as a job of the runner. Blocking.
    pub fn start_backup(
        &self,
        trigger: Trigger,
        scheduled_for: Option<DateTime<Utc>>,
    ) -> Result<BackupRecord, StartError> {
        let specs = self.all_components();
        if specs.is_empty() {
            return Err(StartError::NoComponents);
        }
        if let Some(r) = lock(&self.inner.state)
            .records
            .oldest_first()
            .find(|r| !r.kept_stagings.is_empty())
        {
            return Err(StartError::StagingKept {
                id: r.id.clone(),
                paths: r.kept_stagings.iter().map(|k| k.path.clone()).collect(),
            });
        }
        let guard = self
            .inner
            .lock
            .take_issuing(JobKind::Backup, || lock(&self.inner.ids).issue(Utc::now()))
            .map_err(|e| match e {
                TakeError::Busy(Busy { kind, id }) => StartError::Busy { kind, id },
                TakeError::Issue(e) => StartError::Io(e.into()),
            })?;
        // Checked under the lock, so no restore can add a line meanwhile.
        self.check_no_restore_pending(&specs)?;
        let id = guard.id().to_string();
        let state_dir = &self.inner.state_dir;
        let rec = BackupRecord {
            id: id.clone(),
            status: BackupStatus::Running,
            trigger,
            scheduled_for: scheduled_for.map(|t| t.trunc_subsecs(0)),
            started_at: now(),
            finished_at: None,
            components: specs
                .iter()
                .map(|s| ComponentProgress {
                    name: s.name.clone(),
                    status: ComponentStatus::Pending,
                    folder: s.backup_folder.display().to_string(),
                    keep: s.keep,
                    files: 0,
                    files_copied: 0,
                    files_linked: 0,
                    files_cloned: 0,
                    bytes_copied: 0,
                    bytes_linked: 0,
                    bytes_cloned: 0,
                    started_at: None,
                    finished_at: None,
                    duration_ms: None,
                    errors: vec![],
                    agent: self.store_for(s).location(),
                })
                .collect(),
            errors: vec![],
            notes: vec![],
            commit_decided: false,
            report: report::report_path(state_dir, &id).display().to_string(),
            kept_stagings: vec![],
            hook_pending: false,
            heuristic: vec![],
        };
        record::save(state_dir, &rec).map_err(|e| StartError::Io(e.into()))?;

        let (tx, _) = broadcast::channel(EVENT_CAPACITY);
        let stop = CancelToken::new();
        let user_cancelled = Arc::new(AtomicBool::new(false));
        {
            let mut st = lock(&self.inner.state);
            st.records.insert(rec.clone());
            st.live.insert(
                id.clone(),
                Live {
                    tx,
                    stop: stop.clone(),
                    user_cancelled: user_cancelled.clone(),
                },
            );
        }
        let participants: Vec<Participant> = specs
            .into_iter()
            .map(|spec| Participant {
                store: self.store_for(&spec),
                spec,
            })
            .collect();
        let journal = Arc::new(BackupJournal::new(self.inner.clone(), &id));
        let run = Run {
            id: id.clone(),
            participants,
            journal: journal.clone(),
            faults: self.inner.faults.clone(),
            stop,
            user_cancelled,
            state_dir: state_dir.clone(),
            resumed: false,
        };
        let job = Arc::new(BackupJob::new(&self.inner, run, journal));
        self.inner.runner.spawn(job, Some(guard));
        Ok(rec)
    }

    /// [`BackupJobs::start_backup`] for async callers: on the runtime's blocking pool.
    pub async fn start_backup_async(
        &self,
        trigger: Trigger,
        scheduled_for: Option<DateTime<Utc>>,
    ) -> Result<BackupRecord, StartError> {
        let me = self.clone();
        self.inner
            .runner
            .blocking(move || me.start_backup(trigger, scheduled_for))
            .await
            .map_err(|e| StartError::Io(EngineError::Internal(e.to_string())))?
    }

    /// Backups, newest first.
    pub fn list_backups(&self, q: &ListQuery<BackupStatus>) -> BackupPage {
        let st = lock(&self.inner.state);
        let (items, next_cursor) = st.records.page(q, MAX_PAGE);
        BackupPage { items, next_cursor }
    }

    pub fn get_backup(&self, id: &str) -> Option<BackupRecord> {
        lock(&self.inner.state).records.get(id).cloned()
    }

    /// `<state_dir>/logs/backupReport_<ID>.txt` if the backup exists (the file is written when
    /// the backup ends).
    pub fn report_path(&self, id: &str) -> Option<PathBuf> {
        let exists = lock(&self.inner.state).records.contains(id);
        exists.then(|| report::report_path(&self.inner.state_dir, id))
    }

    /// The report's text; `Ok(None)` when the backup is unknown or its report is not written
    /// yet (it is written when the backup ends). Blocking file read.
    pub fn read_report(&self, id: &str) -> Result<Option<String>, EngineError> {
        let Some(path) = self.report_path(id) else {
            return Ok(None);
        };
        match crate::engine::fsutil::read_regular(
            &path,
            crate::engine::fsutil::MAX_STATE_FILE_BYTES,
        ) {
            Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Asks a running backup to stop; it ends `cancelled` once the runner notices (between
    /// files). After the commit was decided the request is ignored (noted in the record).
    pub fn cancel_backup(&self, id: &str) -> Result<BackupRecord, CancelError> {
        let mut st = lock(&self.inner.state);
        let State { records, live, .. } = &mut *st;
        let rec = records.get_mut(id).ok_or(CancelError::NotFound)?;
        if rec.status != BackupStatus::Running {
            return Err(CancelError::NotRunning { status: rec.status });
        }
        if rec.commit_decided {
            rec.notes
                .push("a cancel request came after the commit was decided and was ignored".into());
        } else if let Some(l) = live.get(id) {
            l.user_cancelled.store(true, Ordering::SeqCst);
            l.stop.cancel();
        }
        Ok(rec.clone())
    }

    /// The current record and a receiver of the events that follow it. For a finished backup
    /// the receiver yields nothing (it is closed).
    pub fn subscribe(&self, id: &str) -> Option<(BackupRecord, broadcast::Receiver<BackupEvent>)> {
        let st = lock(&self.inner.state);
        let rec = st.records.get(id)?.clone();
        let rx = match st.live.get(id) {
            Some(l) => l.tx.subscribe(),
            None => broadcast::channel(1).1,
        };
        Some((rec, rx))
    }

    /// The history slots of a component, read from disk. Blocks briefly (reads a few readme
    /// files); from async code prefer [`BackupJobs::history_async`].
    pub fn history(&self, component: &str) -> Result<Vec<SlotInfo>, EngineError> {
        let spec = self.spec(component)?;
        let store = self.store_for(&spec);
        Ok(block_on(async move { store.history(&spec).await })??)
    }

    pub async fn history_async(&self, component: &str) -> Result<Vec<SlotInfo>, EngineError> {
        let spec = self.spec(component)?;
        Ok(self.store_for(&spec).history(&spec).await?)
    }

    fn spec(&self, component: &str) -> Result<ComponentSpec, EngineError> {
        self.all_components()
            .into_iter()
            .find(|s| s.name == component)
            .ok_or_else(|| EngineError::UnknownComponent(component.to_string()))
    }

    /// Blocks until the backup is final or `timeout` passes; returns the record then. For
    /// tests and command-line use, not for async code.
    pub fn wait_blocking(&self, id: &str, timeout: Duration) -> Option<BackupRecord> {
        let deadline = Instant::now() + timeout;
        loop {
            let rec = self.get_backup(id)?;
            if rec.status.is_final() && self.running().is_none_or(|j| j.id != id) {
                return Some(rec);
            }
            if Instant::now() >= deadline {
                return Some(rec);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl crate::store::Locator for BackupJobs {
    fn all_components(&self) -> Vec<ComponentSpec> {
        BackupJobs::all_components(self)
    }

    fn store_of(
        &self,
        component: &str,
    ) -> Result<(ComponentSpec, Arc<dyn ComponentStore>), crate::store::UnknownComponent> {
        BackupJobs::store_of(self, component)
            .map_err(|_| crate::store::UnknownComponent(component.to_string()))
    }

    fn state_dir(&self) -> &Path {
        BackupJobs::state_dir(self)
    }
}

/// A backup as a job of the runner ([`runner::Job`]).
struct BackupJob {
    inner: Arc<Inner>,
    id: String,
    /// Taken by [`runner::Job::run`].
    run: Mutex<Option<Run>>,
    participants: Vec<Participant>,
    journal: Arc<BackupJournal>,
}

impl BackupJob {
    fn new(inner: &Arc<Inner>, run: Run, journal: Arc<BackupJournal>) -> BackupJob {
        BackupJob {
            inner: inner.clone(),
            id: run.id.clone(),
            participants: run.participants.clone(),
            run: Mutex::new(Some(run)),
            journal,
        }
    }

    /// Ends the record `failed` with `msg` (the report written, the record durable).
    fn fail(&self, msg: &str, f: &mut dyn FnMut(&mut BackupRecord)) {
        let (state_dir, faults) = (&self.inner.state_dir, &self.inner.faults);
        coordinator::finish(
            &*self.journal,
            state_dir,
            faults,
            BackupStatus::Failed,
            &mut |r| {
                r.errors.push(msg.to_string());
                f(r)
            },
        );
    }
}

impl runner::Job for BackupJob {
    fn id(&self) -> String {
        self.id.clone()
    }

    fn name(&self) -> String {
        format!("backup {}", self.id)
    }

    fn run(&self) {
        if let Some(run) = lock(&self.run).take() {
            self.inner.runner.block_on_local(coordinator::run(run));
        }
    }

    /// The panic boundary: no slot was touched unless the commit was decided; staging folders
    /// are removed when it was not, and kept for the operator when it was (those not yet
    /// committed are all that is left of those components' backups).
    fn failed_unexpectedly(&self, why: &str) {
        let id = &self.id;
        let decided = self.journal.snapshot().commit_decided;
        let mut kept = Vec::new();
        for p in &self.participants {
            if decided {
                kept.extend(recovery::staging_left(p, id));
            } else if let Err(e) = self.inner.runner.block_on(p.store.abort(
                id,
                &p.spec,
                std::slice::from_ref(&why.to_string()),
            )) {
                // What an abort leaves is an undecided staging folder, which the next backup's
                // prepare (or the start-up cleanup) removes.
                tracing::warn!(backup = %id, component = %p.spec.name, error = %e, "abort after a panic failed");
            }
        }
        self.fail(why, &mut |r| {
            for k in &kept {
                if !r.kept_stagings.contains(k) {
                    r.errors.push(recovery::kept_note(k));
                    r.kept_stagings.push(k.clone());
                }
            }
            for c in &mut r.components {
                if matches!(
                    c.status,
                    ComponentStatus::Pending
                        | ComponentStatus::Preparing
                        | ComponentStatus::Prepared
                ) && !decided
                {
                    c.status = ComponentStatus::Aborted;
                }
            }
        });
    }

    fn make_final_durable(&self) {
        self.journal.make_durable();
    }

    fn show_final(&self) {
        self.journal.show_final();
        complete(&self.inner, &self.id);
    }
}

/// After the record is final (durably) and the lock released: end the event stream, call the
/// listener; once it handled the hook, the hook is no longer owed.
fn complete(inner: &Arc<Inner>, id: &str) {
    let final_rec = {
        let mut st = lock(&inner.state);
        let rec = st.records.get(id).cloned();
        if let Some(live) = st.live.remove(id) {
            if let Some(r) = &rec {
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

/// What is left to do of a backup recovered at start-up.
enum Recovering {
    /// Its final record, which recovery could not save.
    Unrecorded(BackupRecord),
    /// Its commit, decided before the restart and not acknowledged by every agent.
    Decided(Run),
}

/// A recovered backup finished as a job of the runner (see
/// [`BackupJobs::finish_in_background`]).
struct RecoveredBackup {
    inner: Arc<Inner>,
    id: String,
    journal: Arc<BackupJournal>,
    /// Taken by [`runner::Job::run`].
    work: Mutex<Option<Recovering>>,
}

impl RecoveredBackup {
    fn new(inner: &Arc<Inner>, id: &str, work: Recovering) -> RecoveredBackup {
        RecoveredBackup {
            inner: inner.clone(),
            id: id.to_string(),
            journal: Arc::new(BackupJournal::new(inner.clone(), id)),
            work: Mutex::new(Some(work)),
        }
    }

    fn finish(&self, status: BackupStatus, error: Option<&str>) {
        let (state_dir, faults) = (&self.inner.state_dir, &self.inner.faults);
        coordinator::finish(&*self.journal, state_dir, faults, status, &mut |r| {
            if status == BackupStatus::Succeeded {
                r.notes.push(recovery::ROLLED_FORWARD.to_string());
            }
            if let Some(e) = error {
                r.errors.push(e.to_string());
            }
        });
    }
}

impl runner::Job for RecoveredBackup {
    fn id(&self) -> String {
        self.id.clone()
    }

    fn name(&self) -> String {
        format!("recovered backup {}", self.id)
    }

    fn run(&self) {
        match lock(&self.work).take() {
            Some(Recovering::Unrecorded(rec)) => {
                coordinator::persist_durably(&*self.journal, "the end of the backup", &mut |r| {
                    *r = rec.clone()
                });
            }
            Some(Recovering::Decided(run)) => {
                let status = self
                    .inner
                    .runner
                    .block_on(coordinator::commit_decided(&run));
                self.finish(status, None);
            }
            None => {}
        }
    }

    fn failed_unexpectedly(&self, why: &str) {
        self.finish(BackupStatus::Failed, Some(why));
    }

    fn make_final_durable(&self) {
        self.journal.make_durable();
    }

    fn show_final(&self) {
        self.journal.show_final();
        complete(&self.inner, &self.id);
    }
}

/// The record shown for backup `id` whose record file cannot be read, when staging folders of
/// it exist: they are kept for an operator (whether that backup was decided is unknown).
fn stand_in(
    state_dir: &Path,
    unreadable: &UnreadableRecord,
    id: &str,
    components: &[ComponentSpec],
) -> Option<BackupRecord> {
    let kept: Vec<KeptStaging> = components
        .iter()
        .filter(|c| !c.is_remote())
        .filter_map(|c| {
            let path = SlotLayout::of(&c.backup_folder).ok()?.staging(id);
            fsutil::exists_nofollow(&path).then(|| KeptStaging {
                component: c.name.clone(),
                folder: c.backup_folder.display().to_string(),
                path: path.display().to_string(),
            })
        })
        .collect();
    if kept.is_empty() {
        return None;
    }
    Some(BackupRecord {
        id: id.to_string(),
        status: BackupStatus::Interrupted,
        trigger: Trigger::Manual,
        scheduled_for: None,
        started_at: crate::engine::backup_id::parse(id)
            .map(|p| p.time)
            .unwrap_or_else(now),
        finished_at: None,
        components: vec![],
        errors: vec![format!(
            "the job record {} cannot be read ({}); this entry stands in for it (its trigger, \
             components and progress are unknown). Whether this backup had been decided is \
             unknown, so its staging folders are kept until an operator discards them",
            unreadable.path.display(),
            crate::engine::single_line(&unreadable.error)
        )],
        notes: vec![],
        commit_decided: false,
        report: report::report_path(state_dir, id).display().to_string(),
        kept_stagings: kept,
        hook_pending: false,
        heuristic: vec![],
    })
}

type Critical = journal::Critical<BackupStatus>;

/// A backup job's own values of the [`Critical`] fields, while readers see others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Own {
    c: Critical,
    /// On disk already: a final record waiting for [`BackupJournal::show_final`].
    durable: bool,
}

/// The journal of one backup: the record in `state` (what readers see), saved at every update.
///
/// A backup's end and its commit decision count only once they are on disk: until a save that
/// changes `status`, `finished_at` or `commit_decided` succeeds, readers keep seeing the values
/// last saved, while the job works with its own (`State::own`, shared by every journal of the
/// backup, so a late note never saves stale values). A final record, once durable, is shown
/// only by [`BackupJournal::show_final`], which the runner calls after it released the job lock.
/// A decision whose save failed is withdrawn durably before `update` returns the error: the
/// failed save may have reached the disk all the same (a folder sync failing after the
/// rename), and an abort over a decision on disk would be rolled forward by recovery.
struct BackupJournal {
    inner: Arc<Inner>,
    id: String,
}

impl BackupJournal {
    fn new(inner: Arc<Inner>, id: &str) -> BackupJournal {
        BackupJournal {
            inner,
            id: id.to_string(),
        }
    }

    fn save(&self, rec: &BackupRecord, was: Critical) -> Result<(), IoError> {
        let now = Critical::of(rec);
        let injected = if now.commit_decided && !was.commit_decided {
            self.inner.faults.save_error("backup_decision")
        } else if now.status.is_final() && !was.status.is_final() {
            self.inner.faults.save_error("backup_final")
        } else {
            None
        };
        if let Some(e) = injected {
            return Err(IoError::new(
                "writing",
                record::record_path(&self.inner.state_dir, &self.id),
                e,
            ));
        }
        record::save(&self.inner.state_dir, rec)
    }

    /// After a save of `c`: shows it, except a new end, which waits for
    /// [`BackupJournal::show_final`].
    fn saved(&self, c: Critical) {
        let mut st = lock(&self.inner.state);
        let State { records, own, .. } = &mut *st;
        let Some(rec) = records.get_mut(&self.id) else {
            return;
        };
        if c.status.is_final() && !rec.status.is_final() {
            own.insert(self.id.clone(), Own { c, durable: true });
        } else {
            c.put(rec);
            own.remove(&self.id);
        }
    }

    /// Returns once the job's values are on disk (saved again until they are).
    fn make_durable(&self) {
        let pending = lock(&self.inner.state)
            .own
            .get(&self.id)
            .is_some_and(|o| !o.durable);
        if pending {
            coordinator::persist_durably(self, "the end of the backup", &mut |_| {});
        }
    }

    /// Shows a durable final record to readers (the runner's last step, after the lock was
    /// released).
    fn show_final(&self) {
        let mut st = lock(&self.inner.state);
        let State { records, own, .. } = &mut *st;
        if let (Some(o), Some(rec)) = (own.get(&self.id).copied(), records.get_mut(&self.id)) {
            if o.durable {
                o.c.put(rec);
                own.remove(&self.id);
            }
        }
    }
}

impl Journal for BackupJournal {
    fn update(&self, f: &mut dyn FnMut(&mut BackupRecord)) -> Result<(), String> {
        let _w = lock(&self.inner.write_lock);
        let (snapshot, shown, on_disk) = {
            let mut st = lock(&self.inner.state);
            let State { records, live, own } = &mut *st;
            let rec = records
                .get_mut(&self.id)
                .ok_or_else(|| format!("backup {} has no record", self.id))?;
            let shown = Critical::of(rec);
            let mine = own.get(&self.id).copied();
            let on_disk = match mine {
                Some(o) if o.durable => o.c,
                _ => shown,
            };
            if let Some(o) = mine {
                o.c.put(rec);
            }
            let before: Vec<ComponentStatus> = rec.components.iter().map(|c| c.status).collect();
            f(rec);
            if let Some(l) = live.get(&self.id) {
                for (i, c) in rec.components.iter().enumerate() {
                    if before.get(i) != Some(&c.status) {
                        // No subscriber is fine: events are for whoever follows.
                        let _ = l.tx.send(BackupEvent::progress_of(c));
                    }
                }
            }
            let snapshot = rec.clone();
            shown.put(rec);
            (snapshot, shown, on_disk)
        };
        let working = Critical::of(&snapshot);
        match self.save(&snapshot, on_disk) {
            Ok(()) => {
                self.saved(working);
                Ok(())
            }
            Err(e) => {
                if working.commit_decided && !on_disk.commit_decided {
                    let mut withdrawn = snapshot;
                    withdrawn.commit_decided = false;
                    withdrawn.notes.push(format!(
                        "the commit decision could not be recorded ({e}); it was withdrawn"
                    ));
                    let mut backoff =
                        Backoff::new(Duration::from_millis(500), Duration::from_secs(15));
                    while let Err(e2) = self.save(&withdrawn, on_disk) {
                        self.set_problem(Some(crate::engine::single_line(&format!(
                            "backup {}: withdrawing a commit decision that could not be recorded \
                             failed too ({e2}); retrying; until then the backup stays running and \
                             holds the job lock",
                            self.id
                        ))));
                        backoff.sleep_blocking();
                    }
                    self.set_problem(None);
                    self.saved(Critical::of(&withdrawn));
                    // The note is in memory too.
                    if let Some(r) = lock(&self.inner.state).records.get_mut(&self.id) {
                        r.notes = withdrawn.notes.clone();
                    }
                } else {
                    let mut st = lock(&self.inner.state);
                    if working == shown {
                        st.own.remove(&self.id);
                    } else {
                        let durable = working == on_disk && on_disk != shown;
                        st.own.insert(
                            self.id.clone(),
                            Own {
                                c: working,
                                durable,
                            },
                        );
                    }
                }
                Err(e.to_string())
            }
        }
    }

    fn progress(&self, component: &str, u: ProgressUpdate) {
        let mut st = lock(&self.inner.state);
        let State { records, live, .. } = &mut *st;
        let Some(c) = records
            .get_mut(&self.id)
            .and_then(|r| r.component_mut(component))
        else {
            return;
        };
        if c.status != ComponentStatus::Preparing {
            return;
        }
        c.files = u.files;
        c.files_copied = u.files_copied;
        c.files_linked = u.files_linked;
        c.files_cloned = u.files_cloned;
        c.bytes_copied = u.bytes_copied;
        c.bytes_linked = u.bytes_linked;
        c.bytes_cloned = u.bytes_cloned;
        if let Some(l) = live.get(&self.id) {
            let _ = l.tx.send(BackupEvent::progress_of(c));
        }
    }

    fn snapshot(&self) -> BackupRecord {
        let st = lock(&self.inner.state);
        match st.records.get(&self.id) {
            Some(r) => {
                let mut r = r.clone();
                if let Some(o) = st.own.get(&self.id) {
                    o.c.put(&mut r);
                }
                r
            }
            None => BackupRecord {
                id: self.id.clone(),
                status: BackupStatus::Failed,
                trigger: Trigger::Manual,
                scheduled_for: None,
                started_at: now(),
                finished_at: None,
                components: vec![],
                errors: vec!["the record was lost".into()],
                notes: vec![],
                commit_decided: false,
                report: String::new(),
                kept_stagings: vec![],
                hook_pending: false,
                heuristic: vec![],
            },
        }
    }

    fn flush(&self) -> Result<(), String> {
        self.update(&mut |_| {})
    }

    fn set_problem(&self, problem: Option<String>) {
        set_problem(&self.inner, &format!("backup {}", self.id), problem);
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
mod tests {
    use super::*;
    use crate::engine::readme::Readme;
    use crate::engine::slots::SlotLayout;
    use crate::engine::Profile;
    use crate::store::local::tree_listing;
    use std::os::unix::fs::MetadataExt;
    use std::process::Command;

    const WAIT: Duration = Duration::from_secs(60);

    /// Three components like the demo: hub (backup folder in its home, keep 3), lui (backup
    /// folder elsewhere, keep 2), trk (keep 0). Pure function of `root`.
    fn specs_for(root: &Path) -> Vec<ComponentSpec> {
        vec![
            ComponentSpec {
                name: "hub".into(),
                profile: Profile::MaestroHub,
                home: root.join("hub"),
                backup_folder: root.join("hub/backup"),
                keep: 3,
                items: vec![],
            },
            ComponentSpec {
                name: "lui".into(),
                profile: Profile::MaestroLui,
                home: root.join("lui"),
                backup_folder: root.join("backups/lui/backup"),
                keep: 2,
                items: vec![],
            },
            ComponentSpec {
                name: "trk".into(),
                profile: Profile::Custom,
                home: root.join("trk"),
                backup_folder: root.join("trk/bk"),
                keep: 0,
                items: vec!["tracker.ini".into(), "data/".into()],
            },
        ]
    }

    fn populate(root: &Path, many: usize) {
        let w = |rel: &str, data: &[u8]| {
            let p = root.join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, data).unwrap();
        };
        w("hub/hub.ini", b"[hub]\nport=8080\n");
        w("hub/accountreg/a.txt", b"account a");
        w("hub/accountreg/sub dir/b.txt", b"account b");
        w("hub/hubreg/reg.dat", &[0u8, 1, 2, 255, 254]);
        w("hub/logs/hub.log", b"not backed up");
        w("lui/lui.ini", b"[lui]\n");
        w(
            "lui/luidata/db.bin",
            &(0..200_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>(),
        );
        w("lui/registry/r.txt", b"registry");
        w("trk/tracker.ini", b"[trk]\n");
        fs::create_dir_all(root.join("trk/data/empty")).unwrap();
        for i in 0..many {
            w(
                &format!("trk/data/f{i:03}.dat"),
                format!("file {i}").as_bytes(),
            );
        }
    }

    fn setup(many: usize) -> (tempfile::TempDir, Vec<ComponentSpec>, PathBuf) {
        let root = tempfile::tempdir().unwrap();
        populate(root.path(), many);
        let specs = specs_for(root.path());
        let state = root.path().join("state");
        (root, specs, state)
    }

    /// Opens an engine on `state`. A previous engine of the same test may still be held for a
    /// moment by its finishing backup thread (the state dir's lock goes with its last clone):
    /// polled until free, with a deadline.
    fn open(state: &Path, specs: &[ComponentSpec], faults: &str) -> BackupJobs {
        let deadline = Instant::now() + WAIT;
        loop {
            match BackupJobs::open_with(
                state.to_path_buf(),
                specs.to_vec(),
                Faults::parse(faults).unwrap(),
                None,
            ) {
                Err(EngineError::StateLocked(_)) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                other => return other.unwrap(),
            }
        }
    }

    fn run(engine: &BackupJobs) -> BackupRecord {
        let rec = engine.start_backup(Trigger::Manual, None).unwrap();
        let done = engine.wait_blocking(&rec.id, WAIT).unwrap();
        assert!(done.status.is_final(), "backup did not finish: {done:?}");
        done
    }

    /// Every history slot of every component, file by file (content hash, mode, mtime, links).
    fn all_slots(specs: &[ComponentSpec]) -> BTreeMap<String, BTreeMap<String, String>> {
        let mut m = BTreeMap::new();
        for s in specs {
            let layout = SlotLayout::of(&s.backup_folder).unwrap();
            for (_, path) in layout.existing_slots().unwrap() {
                m.insert(path.display().to_string(), tree_listing(&path));
            }
        }
        m
    }

    fn temporaries(specs: &[ComponentSpec]) -> Vec<PathBuf> {
        specs
            .iter()
            .flat_map(|s| {
                SlotLayout::of(&s.backup_folder)
                    .unwrap()
                    .temporaries()
                    .unwrap()
            })
            .collect()
    }

    fn slot_id(dir: &Path) -> String {
        Readme::read_from(dir).unwrap().backup_id
    }

    fn sha256sum_ok(dir: &Path) -> bool {
        Command::new("sha256sum")
            .args(["-c", "--quiet", "SHA256SUMS"])
            .current_dir(dir)
            .status()
            .unwrap()
            .success()
    }

    #[test]
    fn full_then_unchanged_backup() {
        let (root, specs, state) = setup(5);
        let engine = open(&state, &specs, "");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        engine.set_finish_listener(Arc::new(move |r: &BackupRecord| {
            lock(&s2).push(r.clone());
            true
        }));

        let first = run(&engine);
        assert_eq!(first.status, BackupStatus::Succeeded, "{first:#?}");
        assert!(first
            .components
            .iter()
            .all(|c| c.status == ComponentStatus::Committed));
        let hub = &first.components[0];
        assert_eq!((hub.files, hub.files_copied, hub.files_linked), (4, 4, 0));
        assert!(first.finished_at.is_some());
        // JSON timestamps are whole seconds with Z.
        let json = serde_json::to_value(&first).unwrap();
        assert!(json["started_at"].as_str().unwrap().ends_with('Z'));
        assert!(!json["started_at"].as_str().unwrap().contains('.'));
        assert!(crate::engine::backup_id::is_valid(&first.id));

        for s in &specs {
            let slot = &s.backup_folder;
            assert_eq!(slot_id(slot), first.id);
            assert!(sha256sum_ok(slot), "{}", slot.display());
            let readme = fs::read_to_string(slot.join("readme.txt")).unwrap();
            let lines: Vec<&str> = readme.lines().collect();
            assert_eq!(lines[0], format!("Backup ID: {}", first.id));
            assert_eq!(lines[1], format!("Component: {}", s.name));
            assert!(lines[2].starts_with("Started: ") && lines[2].ends_with('Z'));
            assert!(lines[3].starts_with("Finished: "));
            assert_eq!(lines[4], "Result: success");
        }
        assert!(!root.path().join("hub/backup/logs").exists());
        assert!(root.path().join("trk/bk/data/empty").is_dir());
        let report = fs::read_to_string(engine.report_path(&first.id).unwrap()).unwrap();
        let lines: Vec<&str> = report.lines().collect();
        assert_eq!(
            lines[lines.len() - 2],
            "The backup was completed successfully"
        );
        assert!(lines[lines.len() - 1].starts_with("Final completion date: 20"));
        assert!(report.contains("Component: lui\n  Folder: "));

        // Reopen (a restart), then an unchanged backup: every file hard-linked.
        drop(engine);
        let engine = open(&state, &specs, "");
        let second = run(&engine);
        assert_eq!(second.status, BackupStatus::Succeeded);
        assert!(second.id > first.id);
        for c in &second.components {
            assert_eq!(c.files_copied, 0, "{c:?}");
            assert_eq!(c.files_linked, c.files);
        }
        let hub_home = root.path().join("hub");
        let ino = |p: PathBuf| fs::metadata(p).unwrap().ino();
        assert_eq!(
            ino(hub_home.join("backup/hub.ini")),
            ino(hub_home.join("backup1/hub.ini"))
        );
        assert_eq!(
            ino(root.path().join("backups/lui/backup/luidata/db.bin")),
            ino(root.path().join("backups/lui/backup1/luidata/db.bin"))
        );
        assert!(sha256sum_ok(&hub_home.join("backup")));

        // A changed file is copied, the others linked.
        fs::write(hub_home.join("accountreg/a.txt"), "account a, changed").unwrap();
        let third = run(&engine);
        assert_eq!(third.components[0].files_copied, 1);
        assert_eq!(third.components[0].files_linked, 3);
        assert_eq!(
            fs::read(hub_home.join("backup/accountreg/a.txt")).unwrap(),
            b"account a, changed"
        );
        assert_eq!(
            fs::read(hub_home.join("backup1/accountreg/a.txt")).unwrap(),
            b"account a"
        );
        // keep 0: trk only has `bk`.
        assert!(!root.path().join("trk/bk1").exists());

        let hist = engine.history("hub").unwrap();
        let got: Vec<(String, String)> = hist
            .iter()
            .map(|s| (s.slot.clone(), s.backup_id.clone().unwrap()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("backup".to_string(), third.id.clone()),
                ("backup1".to_string(), second.id.clone()),
                ("backup2".to_string(), first.id.clone()),
            ]
        );
        assert!(matches!(
            engine.history("nope"),
            Err(EngineError::UnknownComponent(_))
        ));

        // Listing: newest first, pages, status filter.
        let page = engine.list_backups(&ListQuery {
            limit: 2,
            cursor: None,
            status: None,
        });
        assert_eq!(
            page.items.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
            vec![third.id.clone(), second.id.clone()]
        );
        assert_eq!(page.next_cursor.as_deref(), Some(second.id.as_str()));
        let page2 = engine.list_backups(&ListQuery {
            limit: 2,
            cursor: page.next_cursor,
            status: None,
        });
        assert_eq!(page2.items.len(), 1);
        assert_eq!(page2.items[0].id, first.id);
        assert_eq!(page2.next_cursor, None);
        let failed = engine.list_backups(&ListQuery {
            limit: 10,
            cursor: None,
            status: Some(BackupStatus::Failed),
        });
        assert!(failed.items.is_empty());
        // The listener saw the backups of this engine (second and third).
        let seen: Vec<String> = lock(&seen).iter().map(|r| r.id.clone()).collect();
        assert!(seen.contains(&first.id));
        assert!(temporaries(&specs).is_empty());
        assert!(engine.running().is_none());
    }

    #[test]
    fn a_failed_component_changes_no_slot() {
        let (root, specs, state) = setup(3);
        let engine = open(&state, &specs, "");
        assert_eq!(run(&engine).status, BackupStatus::Succeeded);
        assert_eq!(run(&engine).status, BackupStatus::Succeeded);
        let before = all_slots(&specs);
        fs::remove_file(root.path().join("lui/lui.ini")).unwrap();
        let rec = run(&engine);
        assert_eq!(rec.status, BackupStatus::Failed);
        let lui = &rec.components[1];
        assert_eq!(lui.status, ComponentStatus::Failed);
        assert!(lui.errors[0].contains("lui.ini"), "{:?}", lui.errors);
        assert!(rec
            .components
            .iter()
            .filter(|c| c.name != "lui")
            .all(|c| c.status == ComponentStatus::Aborted));
        assert!(!rec.commit_decided);
        assert_eq!(all_slots(&specs), before, "no history slot changed");
        assert!(temporaries(&specs).is_empty(), "{:?}", temporaries(&specs));
        for s in &specs {
            let failed = SlotLayout::of(&s.backup_folder).unwrap().failed();
            let r = Readme::read_from(&failed).unwrap();
            assert_eq!(r.backup_id, rec.id);
            assert!(!r.success && !r.errors.is_empty());
            assert_eq!(fs::read_dir(&failed).unwrap().count(), 1);
        }
        let report = fs::read_to_string(&rec.report).unwrap();
        assert!(!report.contains("The backup was completed successfully"));
        assert!(report.contains("lui.ini"));
        // An injected prepare failure and an ENOSPC behave the same; the process lives on.
        drop(engine);
        fs::write(root.path().join("lui/lui.ini"), "[lui]\n").unwrap();
        let engine = open(&state, &specs, "enospc:lui");
        let rec = run(&engine);
        assert_eq!(rec.status, BackupStatus::Failed);
        assert!(
            rec.components[1].errors[0].contains("No space left on device"),
            "{:?}",
            rec.components[1].errors
        );
        assert_eq!(all_slots(&specs), before);
        assert!(temporaries(&specs).is_empty());
        drop(engine);
        let engine = open(&state, &specs, "prepare:hub");
        let rec = run(&engine);
        assert_eq!(rec.status, BackupStatus::Failed);
        assert!(rec
            .all_errors()
            .iter()
            .any(|e| e.contains("injected fault")));
        assert_eq!(all_slots(&specs), before);
    }

    #[test]
    fn busy_cancel_and_events() {
        let (_root, specs, state) = setup(60);
        let engine = open(&state, &specs, "slow_copy_ms:20");
        let first = run(&engine);
        assert_eq!(first.status, BackupStatus::Succeeded);
        let before = all_slots(&specs);

        let rec = engine
            .start_backup(Trigger::Schedule, Some(Utc::now()))
            .unwrap();
        assert_eq!(rec.status, BackupStatus::Running);
        // The record is on disk before start_backup returned.
        assert!(record::record_path(&state, &rec.id).is_file());
        let (snap, mut rx) = engine.subscribe(&rec.id).unwrap();
        assert_eq!(snap.id, rec.id);
        match engine.start_backup(Trigger::Manual, None) {
            Err(StartError::Busy {
                kind: JobKind::Backup,
                id,
            }) => assert_eq!(id, rec.id),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            engine.try_lock_exclusive(JobKind::Restore, "r1"),
            Err(StartError::Busy { .. })
        ));
        assert_eq!(engine.running().map(|j| j.id), Some(rec.id.clone()));
        // Wait for some progress, then cancel.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut events = Vec::new();
        rt.block_on(async {
            while let Ok(Ok(ev)) = tokio::time::timeout(Duration::from_secs(20), rx.recv()).await {
                let progressed = matches!(&ev, BackupEvent::Progress { files_linked, files_copied, .. } if files_linked + files_copied > 3);
                events.push(ev);
                if progressed {
                    break;
                }
            }
        });
        let c = engine.cancel_backup(&rec.id).unwrap();
        assert_eq!(c.status, BackupStatus::Running);
        rt.block_on(async {
            while let Ok(Ok(ev)) = tokio::time::timeout(Duration::from_secs(20), rx.recv()).await {
                events.push(ev);
            }
        });
        assert!(events
            .iter()
            .any(|e| matches!(e, BackupEvent::Progress { name, .. } if name == "trk")));
        assert_eq!(
            events.last(),
            Some(&BackupEvent::End {
                status: BackupStatus::Cancelled
            })
        );
        let done = engine.wait_blocking(&rec.id, WAIT).unwrap();
        assert_eq!(done.status, BackupStatus::Cancelled);
        assert!(done.errors.iter().any(|e| e.contains("cancelled")));
        assert_eq!(all_slots(&specs), before);
        assert!(temporaries(&specs).is_empty());
        assert!(matches!(
            engine.cancel_backup(&rec.id),
            Err(CancelError::NotRunning {
                status: BackupStatus::Cancelled
            })
        ));
        assert!(matches!(
            engine.cancel_backup("nope"),
            Err(CancelError::NotFound)
        ));
        // A finished backup: snapshot, and a receiver that yields nothing.
        let (snap, mut rx) = engine.subscribe(&rec.id).unwrap();
        assert_eq!(snap.status, BackupStatus::Cancelled);
        assert!(rx.try_recv().is_err());
        assert!(engine.running().is_none());
        // The lock is shared with restores.
        let guard = engine.try_lock_exclusive(JobKind::Restore, "r1").unwrap();
        assert!(matches!(
            engine.start_backup(Trigger::Manual, None),
            Err(StartError::Busy {
                kind: JobKind::Restore,
                ..
            })
        ));
        drop(guard);
        assert!(engine.running().is_none());
    }

    #[test]
    fn a_panic_fails_the_backup_and_frees_the_lock() {
        let (_root, specs, state) = setup(2);
        let engine = open(&state, &specs, "panic:lui");
        let rec = run(&engine);
        assert_eq!(rec.status, BackupStatus::Failed);
        assert!(
            rec.all_errors()
                .iter()
                .any(|e| e.contains("internal error")),
            "{rec:#?}"
        );
        assert!(temporaries(&specs).is_empty());
        assert!(all_slots(&specs).is_empty());
        assert!(engine.running().is_none());
    }

    fn running_record(
        specs: &[ComponentSpec],
        id: &str,
        decided: bool,
        state: &Path,
    ) -> BackupRecord {
        let rec = BackupRecord {
            id: id.into(),
            status: BackupStatus::Running,
            trigger: Trigger::Schedule,
            scheduled_for: None,
            started_at: now(),
            finished_at: None,
            components: specs
                .iter()
                .map(|s| ComponentProgress {
                    name: s.name.clone(),
                    status: if decided {
                        ComponentStatus::Prepared
                    } else {
                        ComponentStatus::Preparing
                    },
                    folder: s.backup_folder.display().to_string(),
                    keep: s.keep,
                    files: 0,
                    files_copied: 0,
                    files_linked: 0,
                    files_cloned: 0,
                    bytes_copied: 0,
                    bytes_linked: 0,
                    bytes_cloned: 0,
                    started_at: None,
                    finished_at: None,
                    duration_ms: None,
                    errors: vec![],
                    agent: None,
                })
                .collect(),
            errors: vec![],
            notes: vec![],
            commit_decided: decided,
            report: report::report_path(state, id).display().to_string(),
            kept_stagings: vec![],
            hook_pending: false,
            heuristic: vec![],
        };
        record::save(state, &rec).unwrap();
        rec
    }

    /// A complete staging folder for `id`: a copy of slot 0 with its readme rewritten.
    fn fake_staging(spec: &ComponentSpec, id: &str) -> PathBuf {
        let layout = SlotLayout::of(&spec.backup_folder).unwrap();
        let staging = layout.staging(id);
        let st = Command::new("cp")
            .arg("-a")
            .arg(layout.slot(0))
            .arg(&staging)
            .status()
            .unwrap();
        assert!(st.success());
        let mut r = Readme::read_from(&staging).unwrap();
        r.backup_id = id.into();
        fs::remove_file(staging.join("readme.txt")).unwrap();
        fs::write(staging.join("readme.txt"), r.render()).unwrap();
        staging
    }

    #[test]
    fn recovery_marks_interrupted_and_removes_staging() {
        let (_root, specs, state) = setup(2);
        let engine = open(&state, &specs, "");
        let first = run(&engine);
        drop(engine);
        let before = all_slots(&specs);
        let id = "29990101T000000Z";
        running_record(&specs, id, false, &state);
        let staging = fake_staging(&specs[0], id);
        // Leftovers: trash of a backup a record names goes; a folder at a staging name that
        // no record names was not provably made by the product and stays.
        let lui = SlotLayout::of(&specs[1].backup_folder).unwrap();
        let trash = lui.trash(&first.id, 3);
        fs::create_dir_all(trash.join("x")).unwrap();
        let stray = lui.staging("20000101T000000Z");
        fs::create_dir_all(stray.join("x")).unwrap();

        let engine = open(&state, &specs, "");
        let rec = engine.get_backup(id).unwrap();
        assert_eq!(rec.status, BackupStatus::Interrupted);
        assert!(rec.finished_at.is_some());
        assert!(rec.errors.iter().any(|e| e.contains("interrupted")));
        assert!(!staging.exists() && !trash.exists());
        assert!(stray.join("x").is_dir());
        assert_eq!(all_slots(&specs), before);
        assert_eq!(slot_id(&specs[0].backup_folder), first.id);
        let failed =
            Readme::read_from(&SlotLayout::of(&specs[0].backup_folder).unwrap().failed()).unwrap();
        assert_eq!(failed.backup_id, id);
        let report = fs::read_to_string(engine.report_path(id).unwrap()).unwrap();
        assert!(!report.contains("completed successfully"));
        // Delivered to the finish listener once, when it is set.
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        engine.set_finish_listener(Arc::new(move |r: &BackupRecord| {
            lock(&s2).push(r.clone());
            true
        }));
        // The first backup's hook is owed too: it ended while no listener was set.
        let seen_now: Vec<(String, BackupStatus)> = lock(&seen)
            .iter()
            .map(|r| (r.id.clone(), r.status))
            .collect();
        assert_eq!(
            seen_now,
            [
                (first.id.clone(), BackupStatus::Succeeded),
                (id.to_string(), BackupStatus::Interrupted)
            ]
        );
        assert_eq!(engine.recovered().len(), 1);
        assert!(!engine.get_backup(id).unwrap().hook_pending);
        engine.set_finish_listener(Arc::new(|_| true));
        // The next ID is above the recovered one.
        let next = run(&engine);
        assert!(next.id.as_str() > id);
        assert!(engine
            .list_backups(&ListQuery {
                limit: 100,
                ..Default::default()
            })
            .items
            .iter()
            .all(|r| r.status != BackupStatus::Running));
    }

    #[test]
    fn recovery_rolls_a_decided_commit_forward() {
        let (_root, specs, state) = setup(2);
        let engine = open(&state, &specs, "");
        let b1 = run(&engine).id;
        let b2 = run(&engine).id;
        drop(engine);
        let id = "29990101T000000Z";
        running_record(&specs, id, true, &state);
        // hub: rotation half done (slots shifted, staging not renamed yet);
        let hub = SlotLayout::of(&specs[0].backup_folder).unwrap();
        fake_staging(&specs[0], id);
        fs::rename(hub.slot(1), hub.slot(2)).unwrap();
        fs::rename(hub.slot(0), hub.slot(1)).unwrap();
        // lui: nothing done yet; trk (keep 0): fully done.
        fake_staging(&specs[1], id);
        let trk = SlotLayout::of(&specs[2].backup_folder).unwrap();
        fake_staging(&specs[2], id);
        fs::rename(trk.slot(0), trk.trash(id, 0)).unwrap();
        fs::rename(trk.staging(id), trk.slot(0)).unwrap();

        let engine = open(&state, &specs, "");
        let rec = engine.get_backup(id).unwrap();
        assert_eq!(rec.status, BackupStatus::Succeeded, "{rec:#?}");
        assert!(rec.notes.iter().any(|n| n.contains("recovery completed")));
        assert!(rec
            .components
            .iter()
            .all(|c| c.status == ComponentStatus::Committed));
        assert_eq!(slot_id(&hub.slot(0)), id);
        assert_eq!(slot_id(&hub.slot(1)), b2);
        assert_eq!(slot_id(&hub.slot(2)), b1);
        let lui = SlotLayout::of(&specs[1].backup_folder).unwrap();
        assert_eq!(slot_id(&lui.slot(0)), id);
        assert_eq!(slot_id(&lui.slot(1)), b2);
        assert_eq!(slot_id(&lui.slot(2)), b1);
        assert_eq!(slot_id(&trk.slot(0)), id);
        assert!(!trk.slot(1).exists());
        assert!(temporaries(&specs).is_empty());
        let report = fs::read_to_string(engine.report_path(id).unwrap()).unwrap();
        assert!(
            report.trim_end().lines().rev().nth(1) == Some("The backup was completed successfully")
        );
    }

    // ---- Real crashes: the test binary re-runs itself as a child that dies mid-backup. ----

    const CHILD_ROOT: &str = "BACKUP_MASTER_TEST_CRASH_ROOT";

    /// The child: opens the engine (faults from the environment) and runs a backup. Only does
    /// something when started by a crash test.
    #[test]
    #[ignore]
    fn crash_child() {
        let Ok(root) = std::env::var(CHILD_ROOT) else {
            return;
        };
        let root = PathBuf::from(root);
        let engine = BackupJobs::open(root.join("state"), specs_for(&root)).unwrap();
        let rec = engine.start_backup(Trigger::Manual, None).unwrap();
        println!("started {}", rec.id);
        engine.wait_blocking(&rec.id, WAIT);
    }

    fn spawn_child(root: &Path, faults: &str) -> std::process::Child {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "--exact",
            "jobs::tests::crash_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ROOT, root)
        .env(crate::engine::faults::FAULTS_ENV, faults)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
        // SAFETY: setrlimit is async-signal-safe; no core dumps from the aborting child.
        unsafe {
            cmd.pre_exec(|| {
                let zero = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                libc::setrlimit(libc::RLIMIT_CORE, &zero);
                Ok(())
            });
        }
        cmd.spawn().unwrap()
    }

    fn crash_then_recover(
        faults: &str,
    ) -> (
        tempfile::TempDir,
        Vec<ComponentSpec>,
        Vec<String>,
        BackupRecord,
    ) {
        let (root, specs, state) = setup(3);
        let engine = open(&state, &specs, "");
        let ids = vec![run(&engine).id, run(&engine).id];
        drop(engine);
        let status = spawn_child(root.path(), faults).wait().unwrap();
        assert!(!status.success(), "the child should have died");
        let engine = open(&state, &specs, "");
        let all = engine.list_backups(&ListQuery {
            limit: 10,
            ..Default::default()
        });
        assert_eq!(all.items.len(), 3);
        (root, specs, ids, all.items[0].clone())
    }

    #[test]
    fn crash_after_decision_is_rolled_forward() {
        let (_root, specs, ids, rec) = crash_then_recover("abort_after_decision");
        assert_eq!(rec.status, BackupStatus::Succeeded, "{rec:#?}");
        assert!(rec.commit_decided);
        for s in &specs {
            let l = SlotLayout::of(&s.backup_folder).unwrap();
            assert_eq!(slot_id(&l.slot(0)), rec.id);
            assert!(sha256sum_ok(&l.slot(0)));
            if s.keep >= 1 {
                assert_eq!(slot_id(&l.slot(1)), ids[1]);
            }
        }
        assert!(temporaries(&specs).is_empty());
    }

    #[test]
    fn crash_mid_rotation_is_rolled_forward() {
        let (_root, specs, ids, rec) = crash_then_recover("abort_mid_rotation:lui");
        assert_eq!(rec.status, BackupStatus::Succeeded, "{rec:#?}");
        let lui = SlotLayout::of(&specs[1].backup_folder).unwrap();
        assert_eq!(slot_id(&lui.slot(0)), rec.id);
        assert_eq!(slot_id(&lui.slot(1)), ids[1]);
        assert_eq!(slot_id(&lui.slot(2)), ids[0]);
        assert!(!lui.slot(3).exists());
        assert!(temporaries(&specs).is_empty());
    }

    #[test]
    fn kill_during_prepare_changes_no_slot() {
        let (root, specs, state) = setup(40);
        let engine = open(&state, &specs, "");
        run(&engine);
        drop(engine);
        let before = all_slots(&specs);
        let mut child = spawn_child(root.path(), "slow_copy_ms:50");
        // Wait until a staging folder exists, then kill -9.
        let deadline = Instant::now() + WAIT;
        while temporaries(&specs).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(100));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(
            !temporaries(&specs).is_empty(),
            "the child should have died mid-prepare"
        );
        let engine = open(&state, &specs, "");
        let all = engine.list_backups(&ListQuery {
            limit: 10,
            ..Default::default()
        });
        assert_eq!(all.items[0].status, BackupStatus::Interrupted);
        assert_eq!(all_slots(&specs), before);
        assert!(temporaries(&specs).is_empty());
    }

    /// Unmounts on drop, also when the test fails.
    struct Mount(PathBuf);
    impl Drop for Mount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }

    /// A real full disk: the backup folder on a 1 MiB tmpfs (skipped where mounting is not
    /// allowed).
    #[test]
    fn a_full_disk_fails_cleanly() {
        let (root, mut specs, state) = setup(1);
        let mnt = root.path().join("small-disk");
        fs::create_dir_all(&mnt).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
            .arg(&mnt)
            .stderr(std::process::Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !mounted {
            eprintln!("skipping: cannot mount a tmpfs here");
            return;
        }
        let _guard = Mount(mnt.clone());
        specs[1].backup_folder = mnt.join("backup");
        let engine = open(&state, &specs, "");
        let first = run(&engine);
        assert_eq!(first.status, BackupStatus::Succeeded, "{first:#?}");
        let before = all_slots(&specs);
        // 3 MB of new data cannot fit.
        fs::write(root.path().join("lui/luidata/big.bin"), vec![7u8; 3 << 20]).unwrap();
        let rec = run(&engine);
        assert_eq!(rec.status, BackupStatus::Failed);
        let err = rec.components[1].errors.join(" ");
        assert!(
            err.contains("No space left on device") && err.contains("big.bin"),
            "{err}"
        );
        assert_eq!(all_slots(&specs), before);
        assert!(temporaries(&specs).is_empty());
        // The process is fine and the next backup works once there is room.
        fs::remove_file(root.path().join("lui/luidata/big.bin")).unwrap();
        assert_eq!(run(&engine).status, BackupStatus::Succeeded);
    }

    #[test]
    fn an_unreadable_record_keeps_its_staging_until_an_operator_discards_it() {
        let (_root, specs, state) = setup(2);
        let engine = open(&state, &specs, "");
        let first = run(&engine);
        drop(engine);
        let id = "29990101T000000Z";
        let staging = fake_staging(&specs[0], id);
        let file = record::record_path(&state, id);
        fs::write(&file, b"{ not json").unwrap();

        for _start in 0..2 {
            let engine = open(&state, &specs, "");
            assert!(
                staging.is_dir(),
                "start-up removed the staging of an unreadable record"
            );
            let rec = engine.get_backup(id).unwrap();
            assert_eq!(rec.status, BackupStatus::Interrupted);
            assert_eq!(rec.kept_stagings.len(), 1, "{rec:#?}");
            assert!(rec.errors[0].contains("cannot be read"), "{rec:#?}");
            assert!(matches!(
                engine.start_backup(Trigger::Manual, None),
                Err(StartError::StagingKept { id: ref i, .. }) if i == id
            ));
            assert_eq!(engine.kept_stagings().len(), 1);
        }
        let engine = open(&state, &specs, "");
        // Ownership is checked right before the removal: a readme naming another backup
        // stops it, and nothing is removed.
        let readme = staging.join("readme.txt");
        let good = fs::read(&readme).unwrap();
        let mut other = Readme::read_from(&staging).unwrap();
        other.backup_id = first.id.clone();
        fs::write(&readme, other.render()).unwrap();
        assert!(matches!(
            engine.discard_kept_stagings(id),
            Err(DiscardError::NotOurs(_))
        ));
        assert!(staging.is_dir());
        fs::write(&readme, good).unwrap();
        let rec = engine.discard_kept_stagings(id).unwrap();
        assert!(rec.kept_stagings.is_empty());
        assert!(rec.notes.iter().any(|n| n.contains("discarded")));
        assert!(!staging.exists());
        assert!(file.with_extension("json.unreadable").exists());
        assert!(matches!(
            engine.discard_kept_stagings(id),
            Err(DiscardError::NothingKept(_))
        ));
        assert_eq!(run(&engine).status, BackupStatus::Succeeded);
        drop(engine);
        let engine = open(&state, &specs, "");
        assert!(engine.get_backup(id).unwrap().kept_stagings.is_empty());
    }

    /// A local store that says it is remote and does not acknowledge its first commits (an
    /// agent that is down for a while).
    struct LateRemote {
        local: LocalStore,
        refusals_left: std::sync::atomic::AtomicU32,
    }

    #[async_trait::async_trait]
    impl ComponentStore for LateRemote {
        fn is_remote(&self) -> bool {
            true
        }
        async fn prepare(
            &self,
            id: &str,
            spec: &ComponentSpec,
            cancel: CancelToken,
            progress: crate::store::ProgressSink,
        ) -> crate::store::PrepareOutcome {
            self.local.prepare(id, spec, cancel, progress).await
        }
        async fn commit(
            &self,
            id: &str,
            spec: &ComponentSpec,
        ) -> Result<crate::store::Ack, crate::store::StoreError> {
            let left = self.refusals_left.load(Ordering::SeqCst);
            if left > 0 {
                self.refusals_left.store(left - 1, Ordering::SeqCst);
                return Err(crate::store::StoreError::Remote("agent down".into()));
            }
            self.local.commit(id, spec).await
        }
        async fn abort(
            &self,
            id: &str,
            spec: &ComponentSpec,
            errors: &[String],
        ) -> Result<crate::store::Ack, crate::store::StoreError> {
            self.local.abort(id, spec, errors).await
        }
        async fn history(
            &self,
            spec: &ComponentSpec,
        ) -> Result<Vec<SlotInfo>, crate::store::StoreError> {
            self.local.history(spec).await
        }
        async fn remove_temporaries(
            &self,
            _spec: &ComponentSpec,
            _keep: &[String],
        ) -> Result<Vec<String>, crate::store::StoreError> {
            Ok(vec![])
        }
    }

    #[test]
    fn two_pending_roll_forwards_hold_the_lock_from_open_to_the_end_of_both() {
        let (_root, specs, state) = setup(2);
        let engine = open(&state, &specs, "");
        let b1 = run(&engine).id;
        drop(engine);
        let (id1, id2) = ("29990101T000000Z", "29990101T000001Z");
        for id in [id1, id2] {
            running_record(&specs, id, true, &state);
        }
        // Both decided, neither committed: id1's stagings now, id2's once id1 is through
        // (each staging is a copy of slot 0 at that time).
        for s in &specs {
            fake_staging(s, id1);
        }
        let late: Arc<dyn ComponentStore> = Arc::new(LateRemote {
            local: LocalStore::new(Arc::new(Faults::none())),
            refusals_left: std::sync::atomic::AtomicU32::new(3),
        });
        let local: Arc<dyn ComponentStore> = Arc::new(LocalStore::new(Arc::new(Faults::none())));
        let factory: StoreFactory = Arc::new(move |spec: &ComponentSpec| {
            if spec.name == "hub" {
                late.clone()
            } else {
                local.clone()
            }
        });
        let engine =
            BackupJobs::open_with(state.clone(), specs.clone(), Faults::none(), Some(factory))
                .unwrap();
        for s in &specs {
            fake_staging(s, id2);
        }
        let deadline = Instant::now() + WAIT;
        let mut holders = Vec::new();
        // A backup started in the instant after the last roll-forward gave the lock up.
        let mut later: Option<String> = None;
        loop {
            let done = [id1, id2]
                .iter()
                .all(|id| engine.get_backup(id).unwrap().status.is_final());
            let held = engine.running();
            if done && held.is_none() {
                break;
            }
            if !done {
                let held = held.expect("the job lock was free while a roll-forward was pending");
                assert!(held.id == id1 || held.id == id2, "{held:?}");
                if holders.last() != Some(&held.id) {
                    holders.push(held.id.clone());
                }
                match engine.start_backup(Trigger::Manual, None) {
                    Err(StartError::Busy { .. }) => {}
                    other => {
                        // The lock is given up only with the last end, visible at once.
                        let both = [id1, id2]
                            .iter()
                            .all(|id| engine.get_backup(id).unwrap().status.is_final());
                        assert!(both, "a backup started during a roll-forward: {other:?}");
                        later = other.ok().map(|r| r.id);
                    }
                }
            }
            assert!(Instant::now() < deadline, "the roll-forwards did not end");
            std::thread::sleep(Duration::from_millis(2));
        }
        if let Some(l) = &later {
            assert_eq!(
                engine.wait_blocking(l, WAIT).unwrap().status,
                BackupStatus::Succeeded
            );
        }
        assert_eq!(holders, [id1, id2]);
        for id in [id1, id2] {
            let rec = engine.get_backup(id).unwrap();
            assert_eq!(rec.status, BackupStatus::Succeeded, "{rec:#?}");
            assert!(rec.notes.iter().any(|n| n == recovery::ROLLED_FORWARD));
        }
        let hub = SlotLayout::of(&specs[0].backup_folder).unwrap();
        let want: Vec<String> = later
            .into_iter()
            .chain([id2.to_string(), id1.to_string(), b1])
            .collect();
        for (k, id) in want.iter().enumerate() {
            assert_eq!(&slot_id(&hub.slot(k as u32)), id, "slot {k}");
        }
        assert!(temporaries(&specs).is_empty());
    }

    #[test]
    fn second_engine_on_the_same_state_dir_is_refused() {
        let (_root, specs, state) = setup(1);
        let _engine = open(&state, &specs, "");
        assert!(matches!(
            BackupJobs::open_with(state.clone(), specs.clone(), Faults::none(), None),
            Err(EngineError::StateLocked(_))
        ));
    }
}
