//! [`HookManager`]: the table of hook processes (running and recent), starting them under
//! the one-at-a-time rule, the restart policy, and the public API of the module.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::Utc;
use tokio::runtime::Handle;
use tokio::sync::{broadcast, watch, Notify};

use super::output::{self, Line, OutputStream, CHANNEL_CAPACITY};
use super::process;
use super::record::{self, StoredRecord};
use super::{
    BackupContext, HookError, HookKind, HookName, HookProcess, HookSettings, HookStatus,
    DEFAULT_GRACE, KEEP_FINISHED,
};
use crate::toolkit::events::{file_tail, Event, EventKind, EventSink, Severity};
use crate::toolkit::job_id::{self, IdIssuer};

/// Locks a mutex; a poisoned one is still usable (its data is plain records).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One hook process in the table.
pub(crate) struct Entry {
    pub id: String,
    pub hook: HookName,
    pub record: Mutex<HookProcess>,
    /// The live channel while the pump runs; None once no line can follow.
    pub live: Mutex<Option<broadcast::Sender<Line>>>,
    /// Raised when the record is final.
    pub done: watch::Sender<bool>,
    /// A terminate request for the supervisor.
    pub kill: Notify,
    pub log_path: PathBuf,
    /// The folder of its record.
    pub dir: PathBuf,
    pub boot_id: Option<String>,
    pub start_ticks: Option<u64>,
}

impl Entry {
    fn new(dir: &std::path::Path, rec: HookProcess, live: Option<broadcast::Sender<Line>>) -> Self {
        let done = rec.status != HookStatus::Running;
        Entry {
            id: rec.id.clone(),
            hook: rec.hook,
            log_path: record::log_path(dir, &rec.id),
            dir: dir.to_path_buf(),
            record: Mutex::new(rec),
            live: Mutex::new(live),
            done: watch::channel(done).0,
            kill: Notify::new(),
            boot_id: None,
            start_ticks: None,
        }
    }

    pub fn snapshot(&self) -> HookProcess {
        lock(&self.record).clone()
    }

    pub fn is_running(&self) -> bool {
        lock(&self.record).status == HookStatus::Running
    }

    /// Writes `<id>.json` atomically.
    pub fn persist(&self) -> std::io::Result<()> {
        let stored = StoredRecord {
            process: self.snapshot(),
            boot_id: self.boot_id.clone(),
            start_ticks: self.start_ticks,
        };
        record::save(&self.dir, &stored)
    }
}

#[derive(Default)]
struct Table {
    /// Oldest first.
    order: Vec<Arc<Entry>>,
    by_id: HashMap<String, Arc<Entry>>,
}

impl Table {
    fn insert(&mut self, e: Arc<Entry>) {
        self.by_id.insert(e.id.clone(), e.clone());
        self.order.push(e);
    }
}

struct Inner {
    dir: PathBuf,
    settings: Mutex<HookSettings>,
    table: Mutex<Table>,
    runtime: Handle,
    grace_ms: AtomicU64,
    keep_finished: AtomicUsize,
    /// How long a subscriber's full queue may stay untouched (see `output`).
    stall_ms: AtomicU64,
    /// Fault injection (tests): abort the master right after a process was spawned, before
    /// its process ID is recorded.
    abort_after_spawn: AtomicBool,
    /// Issues process IDs after the greatest one on disk (the job IDs' one scheme).
    ids: Mutex<IdIssuer>,
    /// Where a failed process is reported (`hook_failed`).
    events: Mutex<EventSink>,
}

/// Set in every hook process's environment to its process ID (the API's `id`): what
/// recognises a process whose start the master could not record before it stopped.
pub const HOOK_ID_ENV: &str = "BACKUP_HOOK_PROCESS_ID";

/// Starts, lists, streams and ends hook processes. Cheap to clone; all clones share state.
#[derive(Clone)]
pub struct HookManager {
    inner: Arc<Inner>,
}

/// What to start.
struct Launch {
    kind: HookKind,
    hook: HookName,
    command: String,
    backup_id: Option<String>,
    env: Vec<(OsString, OsString)>,
    settings: HookSettings,
}

impl HookManager {
    /// Opens `<state_dir>/logs/hooks/` (creating it), loads the records kept there and applies
    /// the restart policy to those still `running` (see the module doc: they become
    /// `orphaned`, and what is provably left of their process groups is ended, which can
    /// block for the grace period plus a few seconds). Must be called inside a tokio runtime:
    /// processes and streams run on that runtime.
    pub fn open(state_dir: PathBuf, settings: HookSettings) -> Result<HookManager, HookError> {
        let runtime = Handle::try_current().map_err(|_| HookError::NoRuntime)?;
        let dir = state_dir.join("logs").join("hooks");
        let io_err = |source| HookError::Io {
            path: dir.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(io_err)?;
        let mut records = record::load_all(&dir).map_err(io_err)?;
        adopt_orphans(&dir, &mut records, DEFAULT_GRACE);
        records.sort_by(|a, b| {
            (a.process.started_at, &a.process.id).cmp(&(b.process.started_at, &b.process.id))
        });
        let ids = IdIssuer::new(
            job_id::HOOK_PROCESS,
            records.iter().map(|r| r.process.id.as_str()).max(),
        );
        let mut table = Table::default();
        for r in records {
            let mut e = Entry::new(&dir, r.process, None);
            e.boot_id = r.boot_id;
            e.start_ticks = r.start_ticks;
            table.insert(Arc::new(e));
        }
        let mgr = HookManager {
            inner: Arc::new(Inner {
                dir,
                settings: Mutex::new(settings),
                table: Mutex::new(table),
                runtime,
                grace_ms: AtomicU64::new(DEFAULT_GRACE.as_millis() as u64),
                keep_finished: AtomicUsize::new(KEEP_FINISHED),
                stall_ms: AtomicU64::new(output::DEFAULT_STALL.as_millis() as u64),
                abort_after_spawn: AtomicBool::new(false),
                ids: Mutex::new(ids),
                events: Mutex::new(EventSink::default()),
            }),
        };
        mgr.inner.prune();
        Ok(mgr)
    }

    /// Where a process that failed (non-zero exit, a signal, a timeout, or no start) is
    /// reported as a `hook_failed` event.
    pub fn set_event_sink(&self, sink: EventSink) {
        *lock(&self.inner.events) = sink;
    }

    /// New settings for processes started from now on; running ones keep theirs.
    pub fn update_settings(&self, s: HookSettings) {
        *lock(&self.inner.settings) = s;
    }

    /// The current settings.
    pub fn settings(&self) -> HookSettings {
        lock(&self.inner.settings).clone()
    }

    /// Time between SIGTERM and SIGKILL for terminate and timeout ([`DEFAULT_GRACE`]).
    pub fn set_grace_period(&self, grace: Duration) {
        self.inner
            .grace_ms
            .store(grace.as_millis() as u64, Ordering::Relaxed);
    }

    /// Fault injection for tests: abort the process right after a hook process was spawned,
    /// before its process ID is recorded.
    pub fn set_abort_after_spawn(&self, on: bool) {
        self.inner.abort_after_spawn.store(on, Ordering::Relaxed);
    }

    /// [`HookManager::start_after_backup`], with an error logged and answered as `None`.
    pub fn after_backup(&self, succeeded: bool, ctx: BackupContext) -> Option<HookProcess> {
        let id = ctx.backup_id.clone();
        self.start_after_backup(succeeded, ctx).unwrap_or_else(|e| {
            tracing::error!(backup = %id, error = %e, "after-backup hook not started");
            None
        })
    }

    /// Runs `on_success` (succeeded) or `on_failure` (failed, cancelled, interrupted) for the
    /// backup `ctx`, at most once per backup: when a record of an after-backup process of
    /// this backup exists (also from before a restart), that record is returned and nothing
    /// starts. None when the command is empty. A `skipped` record (with a warning in the log)
    /// when a process of the same hook still runs; a `failed_to_start` record when it cannot
    /// be started; otherwise the `running` record. The record is on disk before the process
    /// starts; [`HookError::NotRecorded`] when it cannot be written (nothing started).
    /// `ctx.result` is ignored: `BACKUP_RESULT` is `success` or `failure` from `succeeded`.
    pub fn start_after_backup(
        &self,
        succeeded: bool,
        ctx: BackupContext,
    ) -> Result<Option<HookProcess>, HookError> {
        let (hook, kind, result) = if succeeded {
            (HookName::OnSuccess, HookKind::AfterSuccess, "success")
        } else {
            (HookName::OnFailure, HookKind::AfterFailure, "failure")
        };
        let mut table = lock(&self.inner.table);
        let earlier = table.order.iter().rev().find(|e| {
            let r = lock(&e.record);
            r.kind != HookKind::Test && r.backup_id.as_deref() == Some(ctx.backup_id.as_str())
        });
        if let Some(e) = earlier {
            let r = e.snapshot();
            tracing::info!(backup = %ctx.backup_id, process = %r.id, status = %r.status,
                "the after-backup hook of this backup was started before; not starting it again");
            return Ok(Some(r));
        }
        let settings = self.settings();
        let command = settings.command(hook).to_string();
        if command.trim().is_empty() {
            return Ok(None);
        }
        let env = process::hook_env(result, Some(&ctx));
        let previous = table
            .order
            .iter()
            .rev()
            .find(|e| e.hook == hook && e.is_running())
            .map(|e| e.id.clone());
        if let Some(prev) = previous {
            let now = Utc::now();
            let rec = HookProcess {
                id: self.inner.new_id(),
                kind,
                hook,
                command,
                backup_id: Some(ctx.backup_id),
                started_at: now,
                finished_at: Some(now),
                pid: None,
                status: HookStatus::Skipped,
                exit_code: None,
                signal: None,
                error: Some(format!(
                    "not started: the previous {hook} process {prev} is still running"
                )),
                lines: 0,
            };
            tracing::warn!(id = %rec.id, %hook, previous = %prev, backup_id = ?rec.backup_id,
                "hook not started: the previous process of this hook is still running");
            return Ok(Some(self.insert_final(&mut table, rec)));
        }
        let launch = Launch {
            kind,
            hook,
            command,
            backup_id: Some(ctx.backup_id),
            env,
            settings,
        };
        self.start(&mut table, launch).map(Some)
    }

    /// Runs `hook` now as a test (kind `test`, `BACKUP_RESULT=test`), with the values of
    /// `ctx` (the latest backup's) when given, else empty `BACKUP_ID` / `BACKUP_REPORT` and no
    /// `BACKUP_FOLDER_*`. Always started, even while another process of the hook runs.
    /// Errors: [`HookError::EmptyCommand`], [`HookError::WorkFolderMissing`]. A command that
    /// cannot be started gives a `failed_to_start` record, not an error.
    pub fn run_test(
        &self,
        hook: HookName,
        ctx: Option<BackupContext>,
    ) -> Result<HookProcess, HookError> {
        let settings = self.settings();
        let command = settings.command(hook).to_string();
        if command.trim().is_empty() {
            return Err(HookError::EmptyCommand { hook });
        }
        if !settings.work_folder.is_dir() {
            return Err(HookError::WorkFolderMissing {
                path: settings.work_folder.clone(),
            });
        }
        let env = process::hook_env("test", ctx.as_ref());
        let launch = Launch {
            kind: HookKind::Test,
            hook,
            command,
            backup_id: ctx.map(|c| c.backup_id),
            env,
            settings,
        };
        let mut table = lock(&self.inner.table);
        self.start(&mut table, launch)
    }

    /// Running processes, newest first; with `all`, the kept finished ones too.
    pub fn list(&self, all: bool) -> Vec<HookProcess> {
        lock(&self.inner.table)
            .order
            .iter()
            .rev()
            .map(|e| e.snapshot())
            .filter(|r| all || r.status == HookStatus::Running)
            .collect()
    }

    /// One process by id.
    pub fn get(&self, id: &str) -> Option<HookProcess> {
        self.entry(id).map(|e| e.snapshot())
    }

    /// Ends a running process: SIGTERM to its whole group, SIGKILL after the grace period.
    /// Returns the final record (`killed`; `timed_out` or `exited` if the timeout or its own
    /// exit got there first) once no member of the group is left and its output is complete:
    /// after up to the grace period plus a few seconds.
    ///
    /// This blocking form is for a blocking thread (actix `web::block`, `spawn_blocking`);
    /// on an async worker thread tokio refuses to block and it panics. Async code uses
    /// [`HookManager::terminate_async`].
    pub fn terminate(&self, id: &str) -> Result<HookProcess, HookError> {
        // The future waits only on a watch channel (no timer, no I/O), so this works with
        // the handle of a current-thread runtime too.
        self.inner.runtime.block_on(self.terminate_async(id))
    }

    /// [`HookManager::terminate`] for async code.
    pub async fn terminate_async(&self, id: &str) -> Result<HookProcess, HookError> {
        let entry = self
            .entry(id)
            .ok_or_else(|| HookError::NotFound { id: id.into() })?;
        let mut done = entry.done.subscribe();
        let status = lock(&entry.record).status;
        if status != HookStatus::Running {
            return Err(HookError::NotRunning {
                id: id.into(),
                status,
            });
        }
        entry.kill.notify_one();
        // An error means the entry is gone, which cannot happen while we hold it.
        let _ = done.wait_for(|d| *d).await;
        Ok(entry.snapshot())
    }

    /// Terminates every running process (for a graceful shutdown), concurrently.
    pub async fn terminate_all(&self) {
        let ids: Vec<String> = self.list(false).into_iter().map(|r| r.id).collect();
        futures_util::future::join_all(ids.iter().map(|id| self.terminate_async(id))).await;
    }

    /// Output lines numbered above `after_line` (0: from line 1), replayed from the log file,
    /// then live, then one `Exit`. Works the same for finished processes. None for an
    /// unknown id. Dropping the stream ends its task. A subscriber too slow for its bounded
    /// queue is dropped: its stream ends early, without `Exit` (see [`output`]).
    pub fn output(&self, id: &str, after_line: u64) -> Option<OutputStream> {
        self.output_holding(id, after_line, Box::new(()))
    }

    /// [`HookManager::output`], keeping `hold` until this subscriber's task ends (see
    /// [`output::Hold`]): the HTTP layer's place among the stream's subscribers, freed as soon
    /// as nothing more will be sent, even while a stalled client still holds the connection.
    pub fn output_holding(
        &self,
        id: &str,
        after_line: u64,
        hold: output::Hold,
    ) -> Option<OutputStream> {
        let entry = self.entry(id)?;
        let stall = Duration::from_millis(self.inner.stall_ms.load(Ordering::Relaxed));
        Some(output::subscribe(
            &self.inner.runtime,
            entry,
            after_line,
            stall,
            hold,
        ))
    }

    /// How long a subscriber's full queue may stay untouched before it is dropped
    /// ([`output::DEFAULT_STALL`]).
    pub fn set_stall_timeout(&self, stall: Duration) {
        self.inner
            .stall_ms
            .store(stall.as_millis() as u64, Ordering::Relaxed);
    }

    /// How many processes are running.
    pub fn running_count(&self) -> usize {
        lock(&self.inner.table)
            .order
            .iter()
            .filter(|e| e.is_running())
            .count()
    }

    /// Path of a process's log file (whether or not it exists).
    pub fn log_path(&self, id: &str) -> Option<PathBuf> {
        self.entry(id).map(|e| e.log_path.clone())
    }

    #[cfg(test)]
    pub(crate) fn set_keep_finished(&self, n: usize) {
        self.inner.keep_finished.store(n, Ordering::Relaxed);
    }

    fn entry(&self, id: &str) -> Option<Arc<Entry>> {
        lock(&self.inner.table).by_id.get(id).cloned()
    }

    /// Adds a record that is final from the start (skipped, failed to start).
    fn insert_final(&self, table: &mut Table, rec: HookProcess) -> HookProcess {
        let entry = Arc::new(Entry::new(&self.inner.dir, rec.clone(), None));
        if let Err(e) = entry.persist() {
            tracing::error!(id = %rec.id, error = %e, "cannot write hook record");
        }
        table.insert(entry);
        let inner = self.inner.clone();
        self.inner.runtime.spawn_blocking(move || inner.prune());
        rec
    }

    fn failed(&self, table: &mut Table, mut rec: HookProcess, error: String) -> HookProcess {
        tracing::warn!(id = %rec.id, hook = %rec.hook, command = %rec.command, %error, "hook process failed to start");
        rec.status = HookStatus::FailedToStart;
        rec.finished_at = Some(Utc::now());
        rec.error = Some(error);
        let rec = self.insert_final(table, rec);
        self.inner.report_failure(&rec);
        rec
    }

    /// Starts a process and its supervisor; called with the table locked so that the
    /// one-at-a-time check and the start are one step. The record is written (status
    /// `running`, no process ID yet) before the process is spawned: a master that dies right
    /// after the spawn still lists it at its next start (`orphaned`; recognised by
    /// [`HOOK_ID_ENV`] and ended there), and never starts it twice.
    fn start(&self, table: &mut Table, l: Launch) -> Result<HookProcess, HookError> {
        let id = self.inner.new_id();
        let rec = HookProcess {
            id: id.clone(),
            kind: l.kind,
            hook: l.hook,
            command: l.command,
            backup_id: l.backup_id,
            started_at: Utc::now(),
            finished_at: None,
            pid: None,
            status: HookStatus::Running,
            exit_code: None,
            signal: None,
            error: None,
            lines: 0,
        };
        let argv = match process::split_command(&rec.command) {
            Ok(a) => a,
            Err(e) => return Ok(self.failed(table, rec, e.to_string())),
        };
        let work = l.settings.work_folder.clone();
        if !work.is_dir() {
            let e = HookError::WorkFolderMissing { path: work };
            return Ok(self.failed(table, rec, e.to_string()));
        }
        let log_path = record::log_path(&self.inner.dir, &id);
        // 0600: a hook's output may hold anything the script prints.
        let log = match std::fs::OpenOptions::new()
            .append(true)
            .create_new(true)
            .mode(0o600)
            .open(&log_path)
        {
            Ok(f) => f,
            Err(e) => {
                let msg = format!("cannot create log file {}: {e}", log_path.display());
                return Ok(self.failed(table, rec, msg));
            }
        };
        let intent = StoredRecord {
            process: rec.clone(),
            boot_id: process::boot_id(),
            start_ticks: None,
        };
        // Visible before the process exists (made durable by the write of its process ID
        // right after): a crash between the two leaves it listed, never started twice.
        if let Err(source) = record::save_visible(&self.inner.dir, &intent) {
            drop(log);
            let _ = std::fs::remove_file(&log_path);
            return Err(HookError::NotRecorded {
                hook: l.hook,
                source,
            });
        }
        let mut env = l.env;
        env.push((HOOK_ID_ENV.into(), id.clone().into()));
        let spawned = {
            let _rt = self.inner.runtime.enter();
            process::spawn(&argv, &work, &l.settings.env, &env)
        };
        let spawned = match spawned {
            Ok(s) => s,
            Err(e) => {
                let program = argv.first().map(String::as_str).unwrap_or_default();
                return Ok(self.failed(table, rec, format!("cannot start {program:?}: {e}")));
            }
        };
        if self.inner.abort_after_spawn.load(Ordering::Relaxed) {
            tracing::error!("injected fault abort_at:hook_spawned: aborting the process");
            std::process::abort();
        }
        let (tx, _) = broadcast::channel(CHANNEL_CAPACITY);
        let mut entry = Entry::new(&self.inner.dir, rec, Some(tx.clone()));
        lock(&entry.record).pid = Some(spawned.pid);
        entry.boot_id = process::boot_id();
        entry.start_ticks = process::proc_stat(spawned.pid as i32).map(|p| p.start_ticks);
        let entry = Arc::new(entry);
        if let Err(e) = entry.persist() {
            tracing::error!(%id, error = %e, "cannot write hook record");
        }
        table.insert(entry.clone());
        let snapshot = entry.snapshot();
        tracing::info!(%id, hook = %snapshot.hook, kind = ?snapshot.kind, pid = spawned.pid,
            command = %snapshot.command, "hook process started");

        let timeout = (l.settings.timeout_seconds > 0)
            .then(|| Duration::from_secs(l.settings.timeout_seconds));
        let grace = Duration::from_millis(self.inner.grace_ms.load(Ordering::Relaxed));
        let inner = self.inner.clone();
        self.inner.runtime.spawn(async move {
            let log = tokio::fs::File::from_std(log);
            let ended = entry.clone();
            process::supervise(entry, spawned, log, tx, timeout, grace).await;
            inner.report_failure(&ended.snapshot());
            let _ = tokio::task::spawn_blocking(move || inner.prune()).await;
        });
        Ok(snapshot)
    }
}

impl Inner {
    /// Emits `hook_failed` for a final record that is a failure: a non-zero exit, a signal
    /// not sent on request, a timeout, or no start. A terminate request is no failure.
    fn report_failure(&self, rec: &HookProcess) {
        let why = match rec.status {
            HookStatus::Exited => match (rec.exit_code, rec.signal) {
                (Some(0), _) => return,
                (Some(code), _) => format!("exited with code {code}"),
                (None, Some(sig)) => format!("was ended by signal {sig}"),
                (None, None) => "ended with an unknown status".to_string(),
            },
            HookStatus::TimedOut => "timed out".to_string(),
            HookStatus::FailedToStart => format!(
                "could not be started: {}",
                rec.error.as_deref().unwrap_or("unknown reason")
            ),
            _ => return,
        };
        let mut e = Event::new(
            EventKind::HookFailed,
            Severity::Warning,
            format!("hook {} ({}) {why}", rec.hook, rec.command),
        );
        e.backup_id = rec.backup_id.clone();
        e.job_id = Some(rec.id.clone());
        e.link = Some(format!("/api/v1/hook-processes/{}", rec.id));
        e.report_tail = file_tail(&record::log_path(&self.dir, &rec.id));
        lock(&self.events).emit(e);
    }

    /// A new process ID: the UTC start to the millisecond, then 8 hex digits of sequence
    /// (`20261126T020000.123Z-00000001`), after every ID issued or on disk.
    fn new_id(&self) -> String {
        lock(&self.ids).issue(Utc::now())
    }

    /// Forgets the oldest finished processes beyond the limit and deletes their files.
    fn prune(&self) {
        let keep = self.keep_finished.load(Ordering::Relaxed);
        let removed: Vec<String> = {
            let mut t = lock(&self.table);
            let finished: Vec<String> = t
                .order
                .iter()
                .filter(|e| !e.is_running())
                .map(|e| e.id.clone())
                .collect();
            if finished.len() <= keep {
                return;
            }
            let gone: HashSet<String> = finished[..finished.len() - keep].iter().cloned().collect();
            t.order.retain(|e| !gone.contains(&e.id));
            for id in &gone {
                t.by_id.remove(id);
            }
            gone.into_iter().collect()
        };
        for id in removed {
            record::remove_files(&self.dir, &id);
        }
    }
}

/// What is left of a process recorded `running` by an earlier master.
enum Leftover {
    /// No member of its group is alive.
    Gone,
    /// The machine has restarted since.
    Rebooted,
    /// Its group is alive and provably the same: (group id, live members).
    Alive(i32, usize),
    /// Cannot tell (no /proc, or no start time recorded): left alone.
    Unknown,
}

/// What is left of a process recorded `running` by an earlier master. Its group is ended only
/// with proof that it is the one started: the same boot (both known and equal) and either the
/// leader with the recorded start time, or, with the leader gone, members none of which is
/// older than the leader was; for a process whose start was recorded but not its process ID
/// (the master died in between), the members carrying its ID in [`HOOK_ID_ENV`].
fn identify(r: &StoredRecord, boot: Option<&str>, procs: Option<&[process::ProcStat]>) -> Leftover {
    let same_boot = match (r.boot_id.as_deref(), boot) {
        (Some(then), Some(now)) if then != now => return Leftover::Rebooted,
        (Some(_), Some(_)) => true,
        _ => false,
    };
    let Some(procs) = procs else {
        return Leftover::Unknown;
    };
    let Some(pid) = r.process.pid else {
        if !same_boot {
            return Leftover::Unknown;
        }
        // Started, process ID not recorded: find it by the ID in its environment.
        let marked: Vec<&process::ProcStat> = procs
            .iter()
            .filter(|p| !process::is_dead(p.state) && carries_hook_id(p.pid, &r.process.id))
            .collect();
        let Some(first) = marked.first() else {
            return Leftover::Gone;
        };
        let pgid = first.pgrp;
        if marked.iter().any(|m| m.pgrp != pgid) {
            return Leftover::Unknown;
        }
        let members = procs
            .iter()
            .filter(|p| p.pgrp == pgid && !process::is_dead(p.state))
            .count();
        return Leftover::Alive(pgid, members);
    };
    let pgid = pid as i32;
    let Some(start) = r.start_ticks else {
        return Leftover::Unknown;
    };
    let members: Vec<&process::ProcStat> = procs
        .iter()
        .filter(|p| p.pgrp == pgid && !process::is_dead(p.state))
        .collect();
    if members.is_empty() {
        return Leftover::Gone;
    }
    match procs.iter().find(|p| p.pid == pgid) {
        // The leader (alive or a zombie) is the very process that was started.
        Some(leader) if leader.start_ticks == start && leader.pgrp == pgid => {
            Leftover::Alive(pgid, members.len())
        }
        // The pid belongs to another process now, so the old group (which would have kept
        // the number in use) is gone.
        Some(_) => Leftover::Gone,
        // Leader gone, members left: ours only on the same boot and if none of them is older
        // than the leader was.
        None if same_boot && members.iter().all(|m| m.start_ticks >= start) => {
            Leftover::Alive(pgid, members.len())
        }
        None if same_boot => Leftover::Gone,
        None => Leftover::Unknown,
    }
}

/// True when process `pid`'s environment sets [`HOOK_ID_ENV`] to `id`.
fn carries_hook_id(pid: i32, id: &str) -> bool {
    let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
        return false;
    };
    let want = format!("{HOOK_ID_ENV}={id}");
    environ.split(|&b| b == 0).any(|var| var == want.as_bytes())
}

/// The restart policy: every record still `running` becomes `orphaned`; live leftovers of
/// its group are ended first.
fn adopt_orphans(dir: &std::path::Path, records: &mut [StoredRecord], grace: Duration) {
    let boot = process::boot_id();
    let procs = process::all_processes();
    let mut to_end = Vec::new();
    let mut notes = Vec::new();
    for (i, r) in records.iter().enumerate() {
        if r.process.status != HookStatus::Running {
            continue;
        }
        let note = match identify(r, boot.as_deref(), procs.as_deref()) {
            Leftover::Gone if r.process.pid.is_none() => "the master stopped right after starting it, before its process ID was recorded; none of its processes was left at the next start-up".to_string(),
            Leftover::Gone => "the master stopped while it ran; none of its processes was left at the next start-up".to_string(),
            Leftover::Rebooted => "the master stopped while it ran; the machine has restarted since".to_string(),
            Leftover::Alive(pgid, n) => {
                to_end.push(pgid);
                format!("the master stopped while it ran; its process group ({n} processes left) was ended at the next start-up")
            }
            Leftover::Unknown => "the master stopped while it ran; whether it still runs cannot be told, so it was left alone".to_string(),
        };
        tracing::warn!(id = %r.process.id, pid = ?r.process.pid, %note, "orphaned hook process");
        notes.push((i, note));
    }
    process::end_groups_blocking(&to_end, grace);
    let now = Utc::now();
    for (i, note) in notes {
        let Some(r) = records.get_mut(i) else {
            continue;
        };
        r.process.status = HookStatus::Orphaned;
        r.process.finished_at = Some(now);
        r.process.error = Some(note);
        r.process.lines = record::count_lines(&record::log_path(dir, &r.process.id));
        let path = record::json_path(dir, &r.process.id);
        if let Err(e) = record::save(dir, r) {
            tracing::error!(path = %path.display(), error = %e, "cannot write hook record");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    fn stored(
        id: &str,
        pid: Option<u32>,
        boot: Option<String>,
        ticks: Option<u64>,
    ) -> StoredRecord {
        StoredRecord {
            process: HookProcess {
                id: id.into(),
                kind: HookKind::AfterSuccess,
                hook: HookName::OnSuccess,
                command: "x".into(),
                backup_id: Some("b1".into()),
                started_at: Utc::now(),
                finished_at: None,
                pid,
                status: HookStatus::Running,
                exit_code: None,
                signal: None,
                error: None,
                lines: 0,
            },
            boot_id: boot,
            start_ticks: ticks,
        }
    }

    fn wait_gone(pid: i32) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while process::proc_stat(pid).is_some_and(|p| !process::is_dead(p.state)) {
            assert!(std::time::Instant::now() < deadline, "{pid} did not end");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// With the leader gone, a group is ours only on proof of the same boot (both known), as
    /// when the leader is alive; and a process whose ID was never recorded is recognised by
    /// its hook ID in its environment, and only so.
    #[test]
    fn orphans_are_ended_only_with_proof() {
        let tmp = tempfile::tempdir().unwrap();
        let bg_file = tmp.path().join("bg.pid");
        let mut leader = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("sleep 300 & echo $! > {}; wait", bg_file.display()))
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = leader.id() as i32;
        let ticks = process::proc_stat(pgid).unwrap().start_ticks;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let bg: i32 = loop {
            if let Some(p) = std::fs::read_to_string(&bg_file)
                .ok()
                .and_then(|t| t.trim().parse().ok())
            {
                break p;
            }
            assert!(std::time::Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(10));
        };
        // The leader ends (and is reaped); its background child stays in the group.
        leader.kill().unwrap();
        leader.wait().unwrap();
        let boot = process::boot_id();
        let procs = process::all_processes();
        let procs = procs.as_deref();
        let same = stored("h1", Some(pgid as u32), boot.clone(), Some(ticks));
        assert!(matches!(
            identify(&same, boot.as_deref(), procs),
            Leftover::Alive(g, 1) if g == pgid
        ));
        let no_boot = stored("h1", Some(pgid as u32), None, Some(ticks));
        assert!(matches!(
            identify(&no_boot, boot.as_deref(), procs),
            Leftover::Unknown
        ));
        let later = stored(
            "h1",
            Some(pgid as u32),
            boot.clone(),
            Some(ticks + 1_000_000),
        );
        assert!(matches!(
            identify(&later, boot.as_deref(), procs),
            Leftover::Gone
        ));
        process::end_groups_blocking(&[pgid], Duration::from_secs(1));
        wait_gone(bg);

        // Started, its process ID not recorded: found by the ID in its environment.
        let mut marked = std::process::Command::new("sleep")
            .arg("300")
            .env(HOOK_ID_ENV, "h2")
            .process_group(0)
            .spawn()
            .unwrap();
        let mpid = marked.id() as i32;
        let procs = process::all_processes();
        let procs = procs.as_deref();
        let unknown_pid = stored("h2", None, boot.clone(), None);
        assert!(matches!(
            identify(&unknown_pid, boot.as_deref(), procs),
            Leftover::Alive(g, 1) if g == mpid
        ));
        let other = stored("h3", None, boot.clone(), None);
        assert!(matches!(
            identify(&other, boot.as_deref(), procs),
            Leftover::Gone
        ));
        let no_boot = stored("h2", None, None, None);
        assert!(matches!(
            identify(&no_boot, boot.as_deref(), procs),
            Leftover::Unknown
        ));
        marked.kill().unwrap();
        marked.wait().unwrap();
    }
}
