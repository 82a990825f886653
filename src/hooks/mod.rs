//! Post-backup hook processes: starting `on_success` / `on_failure` (and test runs) as child
//! process groups, keeping their numbered output, ending them, and remembering them across a
//! master restart. Knows nothing of HTTP.
//!
//! # Life of a hook process
//!
//! ```text
//!                      ┌─ command empty ─────────────► (nothing: after_backup returns None)
//! after_backup / run_test
//!                      ├─ same hook still running ───► skipped          (after_backup only)
//!                      ├─ bad argv / no work folder /
//!                      │  exec error ────────────────► failed_to_start  (error = the OS error)
//!                      └─ spawned ───► running ──┬─ ends by itself ────► exited   (exit_code or signal)
//!                                                ├─ timeout_seconds ───► timed_out
//!                                                ├─ terminate() ───────► killed
//!                                                └─ master restarted ──► orphaned
//! ```
//!
//! * **argv** is split like a POSIX shell would (`shell-words`); no shell runs unless the command
//!   names one (`sh -c '...'`). A relative program path (`./x.sh`) is resolved against the work
//!   folder, a bare name (`x.sh`) through `PATH`.
//! * **cwd** is `work_folder` (the caller resolves an empty setting: the `maestro-hub`
//!   component's home, else `state_dir`). A missing
//!   folder is [`HookError::WorkFolderMissing`] for a test run and a `failed_to_start` record
//!   for an after-backup run.
//! * **Process group**: the child is the leader of a new group (`setpgid(0, 0)`); timeout and
//!   [`HookManager::terminate`] send SIGTERM to the whole group, then SIGKILL after the grace
//!   period ([`DEFAULT_GRACE`]), and wait until no live member is left ([`HookManager::terminate`]
//!   blocks its thread for that; [`HookManager::terminate_async`] awaits it). A descendant that leaves
//!   the group itself (`setsid`) is out of reach (that would need cgroups).
//! * **Environment**: a clean one, never the master's (which may hold tokens such as
//!   `BACKUP_MASTER_AGENT_TOKEN_*`): `PATH`, `HOME` and `LANG` as the master has them (`PATH`
//!   defaults to `/usr/local/bin:/usr/bin:/bin`), the variables named in `hooks.env` that the
//!   master has, and `BACKUP_ID`, `BACKUP_RESULT` (`success` / `failure` / `test`),
//!   `BACKUP_REPORT` (path) and `BACKUP_FOLDER_<NAME>` per component: NAME is the component
//!   name upper-cased with every character outside `[A-Z0-9_]` (such as `-`) turned into `_`,
//!   so `my-db` gives `BACKUP_FOLDER_MY_DB`; and
//!   `BACKUP_HOOK_PROCESS_ID`, the process's own ID in the API ([`HOOK_ID_ENV`]). stdin is
//!   `/dev/null`.
//! * **Exactly once per backup**: [`HookManager::start_after_backup`] starts nothing when a
//!   record of an after-backup process of that backup exists (also one from before a restart:
//!   the backup engine delivers backups whose hook is still owed at every start). The record is
//!   written before the process is spawned and again with its process ID right after; if the
//!   first write fails, nothing starts ([`HookError::NotRecorded`]; the hook stays owed).
//! * **Test runs** ([`HookManager::run_test`]) use the same rules with `BACKUP_RESULT=test`.
//!   Given a [`BackupContext`] (the HTTP layer passes the latest backup's) its ID, report and
//!   folders are used; without one `BACKUP_ID` and `BACKUP_REPORT` are set to the empty string
//!   and no `BACKUP_FOLDER_*` is set.
//! * **One at a time per hook**: an after-backup start while any process of the same hook
//!   (after-backup or test run) is still `running` is recorded as `skipped` with a warning,
//!   so a hung script cannot pile up. Test runs are always started (an admin asked for them).
//! * **Running** lasts until the child has exited *and* its output pipe is closed: a background
//!   descendant still holding the pipe keeps the process `running` (and within the timeout).
//! * **Settings** changes ([`HookManager::update_settings`]) apply to processes started later.
//!   `timeout_seconds = 0` means no timeout.
//!
//! # Output
//! stdout and stderr share **one pipe** (like `2>&1`), so lines keep the exact order the
//! process wrote them in. One pump task per process reads it whether or not anyone listens,
//! splits it into lines, numbers them from 1, appends them to the log file, and only then
//! publishes them on a broadcast channel; see [`output`] for the rules (invalid UTF-8, CR,
//! lines longer than [`MAX_LINE_BYTES`] are split) and how a subscriber replays the file and
//! follows live without losing or repeating a line.
//!
//! # Files (`<state_dir>/logs/hooks/`)
//! * `<id>.log`: the output, one line per output line: line *n* of the file is output line *n*.
//! * `<id>.json`: the [`HookProcess`] record (plus `boot_id`, `start_ticks` used to recognise
//!   the process group after a restart), replaced atomically (temp file, fsync, rename, fsync
//!   of the folder) at start and at the end.
//! * Only the newest [`KEEP_FINISHED`] finished processes are kept; older records and logs
//!   are deleted.
//!
//! # Restart policy: `orphaned`, and leftovers are killed
//! A record still `running` on disk when [`HookManager::open`] runs belongs to a master that
//! died or stopped. It becomes `orphaned` (final; exit code unknown; `error` says what was
//! found), and if that process group is still alive *and* provably the same one (same boot,
//! both known; the leader's start time from `/proc` equal to the recorded one, or with the
//! leader gone, no member older than it was; for a process whose ID was not recorded yet, its
//! members found by [`HOOK_ID_ENV`] in their environment), it is ended first like
//! [`HookManager::terminate`] would (SIGTERM, grace, SIGKILL). Reason: with the master gone
//! nobody reads its output (its next write would die of SIGPIPE anyway), nothing could
//! time it out or stop it, and it would block nothing, so it could pile up. `open` blocks for
//! up to the grace period plus a few seconds when there is such a group.

mod manager;
pub mod output;
mod process;
mod record;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use manager::{HookManager, HOOK_ID_ENV};
pub use output::{OutputStream, MAX_LINE_BYTES};

/// Time between SIGTERM and SIGKILL when a process group is ended.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(3);

/// How many finished hook processes (records and logs) are kept; older ones are deleted.
pub const KEEP_FINISHED: usize = 200;

/// Why a hook process was started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HookKind {
    /// `on_success` after a successful backup.
    AfterSuccess,
    /// `on_failure` after a failed, cancelled or interrupted backup.
    AfterFailure,
    /// Started through the API to try the command.
    Test,
}

/// Which configured command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HookName {
    /// `hooks.on_success`
    OnSuccess,
    /// `hooks.on_failure`
    OnFailure,
}

impl HookName {
    /// The config key: `on_success` or `on_failure`.
    pub fn as_str(self) -> &'static str {
        match self {
            HookName::OnSuccess => "on_success",
            HookName::OnFailure => "on_failure",
        }
    }
}

impl fmt::Display for HookName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a hook process is in its life. Every status but `running` is final.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HookStatus {
    /// Started; the process or a descendant holding its output is still there.
    Running,
    /// Ended by itself: see `exit_code`, or `signal` when a signal not sent by the master
    /// ended it.
    Exited,
    /// Ended by a terminate request (SIGTERM to its group, SIGKILL after the grace period).
    Killed,
    /// Ended because it ran longer than `timeout_seconds`.
    TimedOut,
    /// Could not be started: `error` holds the reason (OS error, bad quoting, no work folder).
    FailedToStart,
    /// Not started because the previous process of the same hook was still running.
    Skipped,
    /// Was running when the master stopped; its exit code is unknown. Any of its processes
    /// still alive at the next start-up were ended then (see `error`).
    Orphaned,
}

impl HookStatus {
    /// snake_case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            HookStatus::Running => "running",
            HookStatus::Exited => "exited",
            HookStatus::Killed => "killed",
            HookStatus::TimedOut => "timed_out",
            HookStatus::FailedToStart => "failed_to_start",
            HookStatus::Skipped => "skipped",
            HookStatus::Orphaned => "orphaned",
        }
    }
}

impl fmt::Display for HookStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One hook process, as listed by the API and stored in `<id>.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HookProcess {
    /// Unique, sorts by start time; also the name of its log file.
    #[schema(example = "20261126T020004.123Z-1a2b3c4d")]
    pub id: String,
    /// Why it was started.
    pub kind: HookKind,
    /// Which configured command.
    pub hook: HookName,
    /// The command as configured when it was started.
    #[schema(example = "/opt/scripts/to-tape.sh --all")]
    pub command: String,
    /// The backup it ran after (for a test run: the backup whose values it was given).
    #[schema(example = "20261126T020000Z")]
    pub backup_id: Option<String>,
    /// When it was started (or skipped / failed to start).
    pub started_at: DateTime<Utc>,
    /// When it ended; absent while running.
    pub finished_at: Option<DateTime<Utc>>,
    /// Process ID of the child, which is also its process group ID.
    #[schema(example = 4711)]
    pub pid: Option<u32>,
    /// Where it is in its life.
    pub status: HookStatus,
    /// Exit code when it exited normally.
    pub exit_code: Option<i32>,
    /// Number of the signal that ended it, when one did.
    pub signal: Option<i32>,
    /// Why it failed to start, was skipped or orphaned, or what went wrong around it.
    pub error: Option<String>,
    /// Output lines so far (the numbers of its output lines are 1..=lines).
    pub lines: u64,
}

/// The `[hooks]` settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HookSettings {
    /// Command run after a successful backup; empty: nothing runs.
    pub on_success: String,
    /// Command run after a failed, cancelled or interrupted backup; empty: nothing runs.
    pub on_failure: String,
    /// Working directory, already resolved (an empty setting is resolved by the caller: the
    /// `maestro-hub` component's home, else the state dir).
    pub work_folder: PathBuf,
    /// The process group is ended after this many seconds; 0: no timeout.
    pub timeout_seconds: u64,
    /// Names of the master's environment variables a hook also gets (`hooks.env`).
    pub env: Vec<String>,
}

impl HookSettings {
    /// The command configured for `hook`.
    pub fn command(&self, hook: HookName) -> &str {
        match hook {
            HookName::OnSuccess => &self.on_success,
            HookName::OnFailure => &self.on_failure,
        }
    }
}

/// What a hook is told about the backup it runs after.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BackupContext {
    /// `BACKUP_ID`
    pub backup_id: String,
    /// `BACKUP_RESULT`: `success` / `failure`; ignored by [`HookManager::after_backup`], which
    /// sets it from `succeeded`, and by [`HookManager::run_test`], which sets `test`.
    pub result: String,
    /// `BACKUP_REPORT`
    pub report: PathBuf,
    /// `BACKUP_FOLDER_<NAME>` per component: (component name, its backup folder).
    pub folders: Vec<(String, PathBuf)>,
}

/// One event of a process's output stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum OutputEvent {
    /// Output line number `n` (from 1). `text` contains neither `\n` nor `\r`.
    Line { n: u64, text: String },
    /// The last event: how the process ended.
    Exit {
        status: HookStatus,
        exit_code: Option<i32>,
        signal: Option<i32>,
    },
}

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("the {hook} command is empty: there is nothing to run")]
    EmptyCommand { hook: HookName },
    #[error("cannot split the command into arguments: {reason}")]
    BadCommand { reason: String },
    #[error("work folder {} does not exist or is not a directory", path.display())]
    WorkFolderMissing { path: PathBuf },
    #[error("no hook process with id {id}")]
    NotFound { id: String },
    #[error("hook process {id} is not running (status {status})")]
    NotRunning { id: String, status: HookStatus },
    #[error("cannot use hook folder {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("HookManager::open must be called inside a tokio runtime")]
    NoRuntime,
    /// The record of a process about to start could not be written, so it was not started
    /// (a process nobody could list after a crash must never run).
    #[error("the {hook} process was not started: its record could not be written: {source}")]
    NotRecorded {
        hook: HookName,
        #[source]
        source: std::io::Error,
    },
}

/// Checks a command for the settings API: empty is fine (nothing runs), otherwise it must
/// split into words like a shell would (balanced quotes, no trailing backslash).
pub fn validate_command(command: &str) -> Result<(), HookError> {
    if command.trim().is_empty() {
        return Ok(());
    }
    process::split_command(command).map(|_| ())
}
