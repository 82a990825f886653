//! The daily schedule: when the next backup is due in a time zone (DST included), the
//! catch-up at start-up, skipping while busy, and the schedule log. It only *asks* for a
//! backup through [`Launcher`]; running it is the job system's business.
//!
//! # Rules
//! - **One run per local day** at `daily_time` in `time_zone` (`None` or `""`: the machine's
//!   local zone, read when computing; UTC with a warning if it cannot be determined).
//! - **DST gap** (spring forward): a daily time that does not exist that day runs at the first
//!   instant after the gap (Berlin 2026-03-29 02:30 → 03:00 CEST = 01:00Z).
//!   **DST fold** (fall back): a daily time that occurs twice runs once, at the first
//!   occurrence (Berlin 2026-10-25 02:30 → 02:30 CEST = 00:30Z). See [`time`]'s
//!   `instant_on`; the unit tests pin exact UTC instants for Berlin and New York.
//! - **Watermark.** `handled_until` (persisted) says every scheduled instant at or before it is
//!   done with. The next run is the first instant after it; a wake-up handles only the
//!   *latest* instant that is due, so a suspended machine or a clock jumping forward over
//!   several days runs at most once, and a clock stepping back never repeats a run. A
//!   watermark more than a day ahead of the clock (written while the clock was wrong) is
//!   reset to now; the task re-evaluates at least hourly in real time, so this also recovers
//!   a clock stepped back while it sleeps.
//! - **Catch-up** at [`Scheduler::start`]: if the latest scheduled instant at or before now is
//!   after `handled_until`, the server was down at that time. With `catch_up = true` (and
//!   `enabled`) it launches once with trigger [`ScheduledTrigger::CatchUp`] and
//!   `scheduled_for` = that instant; with `catch_up = false` it logs that instant as
//!   [`ScheduleOutcome::Missed`]. Either way the instant is marked handled, so however long
//!   the outage and however many restarts, there is at most one catch-up per missed instant
//!   and only the latest one is caught up. "Latest at or before now" can be yesterday's
//!   instant when today's is still ahead (down from yesterday 01:00 to today 01:00 with
//!   `daily_time = 02:00`: catch-up at 01:00, then the regular run at 02:00), as specified.
//!   - *First ever start* (no state file, or an unreadable one moved aside): no catch-up;
//!     "now" is persisted as the baseline.
//!   - *Started with `enabled = false`*: the baseline moves to now, so enabling later never
//!     catches up a run that was due while the schedule was off.
//! - **Late wake-up while running** (machine suspended, clock stepped forward): if the
//!   scheduler notices a due instant more than [`LATE_TOLERANCE`] after it, that is a missed
//!   run like one at start-up: with `catch_up` it runs once with trigger `CatchUp`, without
//!   it is logged as `Missed`. Within the tolerance it is an ordinary `Schedule` run.
//! - **Busy**: the launcher answers `Err(reason)` while a backup or restore runs; the instant
//!   is logged [`ScheduleOutcome::Skipped`] with that reason and marked handled. Never queued,
//!   never retried, never run twice.
//! - **Rescheduling**: [`Scheduler::update`] takes effect at once (the task is woken and
//!   recomputes). When `enabled`, `daily_time` or `time_zone` changed, the watermark moves to
//!   now: a changed schedule never fires for a time already past (change 02:00 → 01:00 at
//!   01:30 and the next run is tomorrow 01:00), and a later restart never "catches up" an
//!   instant of a schedule that was not in force. An update that changes none of these (e.g.
//!   a settings PUT that only touched hooks) does not touch the watermark, so it cannot eat a
//!   run that is due that very second. `enabled = false` stops runs until enabled again.
//!
//! # Persistence
//! `<state_dir>/schedule.json` (format in `store.rs`): the watermark and the last [`LOG_CAPACITY`]
//! log entries, in one file replaced atomically (temp file, fsync, rename, fsync of the
//! folder). Before a launch the watermark is written first: a crash between that write and
//! the launch loses that one run rather than running it twice after the restart
//! (at-most-once, as "never run twice" asks).
//!
//! # The schedule log through the API
//! [`Scheduler::log`] returns entries newest first: `{scheduled_for, trigger, outcome:
//! {kind: started, backup_id} | {kind: skipped, reason} | {kind: missed, reason}, at}`.
//! Suggested resource: `GET /api/v1/schedule/log?limit=` (viewer), serving
//! [`ScheduleLogEntry`] as is. A started run also shows up as a backup with trigger
//! `schedule`/`catch_up` and `scheduled_for`; skipped and missed ones exist only here.
//!
//! # Why not tokio-cron-scheduler
//! It was the first choice in the issue, but 0.15 gets DST wrong for this use: `Job::new_tz`
//! / `JobBuilder::with_timezone` turn the zone into the UTC offset in force *when the job is
//! created*, and every later tick is computed in that fixed offset, so a job created in winter
//! runs an hour off after the spring change until the process restarts (read in its
//! `src/job/mod.rs` and `src/scheduler.rs`). It also reads `Utc::now()` directly, so tests
//! would have to wait for wall-clock minutes, and cron has no notion of our gap/fold rules or
//! of the catch-up watermark. The daily computation here is small, uses jiff's tzdb
//! (transitions, gap/fold detection), and is pinned by unit tests; the task is a plain tokio
//! loop over an injectable [`Clock`].

mod clock;
pub mod drill;
mod overdue;
mod store;
pub mod time;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

pub use clock::{Clock, FakeClock, SleepFuture, SystemClock};
pub use drill::{parse_weekday, DrillSpec};
pub use overdue::OverdueWatch;
pub use store::{LOG_CAPACITY, STATE_FILE};
pub use time::{
    next_run_instants, next_runs, parse_daily_time, previous_run, resolve_time_zone,
    validate_time_zone, DailyTime, DstAdjustment, NextRun,
};

use store::{PersistedState, Store};

/// The next `n` runs from now (system clock) of any value that serializes to the `[schedule]`
/// shape (`enabled`, `daily_time` "hh:mm", `time_zone` string or null with `""` = machine zone,
/// `catch_up`): the bridge for the config layer's own settings struct, which this module
/// does not name. Empty when disabled, or (logged) when the value is not a valid schedule,
/// which config validation rules out. Prefer [`Scheduler::next_runs`] where a scheduler
/// runs: it uses the injected clock and never lists an instant already handled.
pub fn next_runs_of<T: Serialize + ?Sized>(settings: &T, n: usize) -> Vec<NextRun> {
    let spec = serde_json::to_value(settings)
        .and_then(serde_json::from_value::<ScheduleSpec>)
        .map(ScheduleSpec::normalized);
    match spec
        .map_err(ScheduleError::from)
        .and_then(|spec| next_runs(&spec, Timestamp::now(), n))
    {
        Ok(runs) => runs,
        Err(e) => {
            tracing::warn!(error = %e, "cannot compute next runs for these schedule settings");
            Vec::new()
        }
    }
}

/// A due instant noticed later than this after it is treated as missed (see the module doc).
pub const LATE_TOLERANCE: SignedDuration = SignedDuration::from_secs(10 * 60);

/// A watermark further than this ahead of the clock cannot come from a clock stepping back
/// a little: the clock was wrong when it was written (or is now). It is reset to now, or no
/// scheduled run would happen until the clock caught up with it.
const FUTURE_WATERMARK_LIMIT: SignedDuration = SignedDuration::from_hours(24);

/// The task re-evaluates at least this often in real (monotonic) time, so a wall clock
/// stepped back while it sleeps cannot leave it waiting for a far-away instant.
const RECHECK: std::time::Duration = std::time::Duration::from_secs(3600);

/// The watermark to schedule from: `handled_until`, unless it is implausibly far ahead.
fn effective_watermark(handled_until: Timestamp, now: Timestamp) -> Timestamp {
    match now.checked_add(FUTURE_WATERMARK_LIMIT) {
        Ok(limit) if handled_until > limit => now,
        _ => handled_until,
    }
}

/// The `[schedule]` section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScheduleSpec {
    /// `false`: no scheduled runs (and no catch-up).
    pub enabled: bool,
    /// `hh:mm`, 00:00..23:59, local time in `time_zone`.
    #[schema(value_type = String, pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "02:00")]
    pub daily_time: DailyTime,
    /// IANA name; absent/null or `""`: the machine's local zone.
    #[schema(example = "Europe/Berlin")]
    pub time_zone: Option<String>,
    /// Run once at start-up if the last scheduled run was missed while the server was down.
    pub catch_up: bool,
}

impl Default for ScheduleSpec {
    /// Enabled, 02:00, machine local zone, catch-up on (the config contract's example).
    fn default() -> Self {
        Self {
            enabled: true,
            daily_time: DailyTime::default(),
            time_zone: None,
            catch_up: true,
        }
    }
}

/// For the log: `daily at 02:00 (Europe/Berlin), catch-up on`, or `off`.
impl std::fmt::Display for ScheduleSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.enabled {
            return f.write_str("off");
        }
        let zone = self.time_zone.as_deref().unwrap_or("the machine's zone");
        let catch_up = if self.catch_up { "on" } else { "off" };
        write!(
            f,
            "daily at {} ({zone}), catch-up {catch_up}",
            self.daily_time
        )
    }
}

impl ScheduleSpec {
    /// Builds a spec from the config file's spelling (`daily_time = "hh:mm"`,
    /// `time_zone = ""` for the machine's zone), validating both. The error names the field.
    pub fn from_config_parts(
        enabled: bool,
        daily_time: &str,
        time_zone: &str,
        catch_up: bool,
    ) -> Result<Self, String> {
        let daily_time = parse_daily_time(daily_time).map_err(|e| format!("daily_time: {e}"))?;
        validate_time_zone(time_zone).map_err(|e| format!("time_zone: {e}"))?;
        Ok(Self {
            enabled,
            daily_time,
            time_zone: (!time_zone.is_empty()).then(|| time_zone.to_owned()),
            catch_up,
        })
    }

    /// `time_zone = Some("")` is the same as `None`.
    fn normalized(mut self) -> Self {
        if self.time_zone.as_deref() == Some("") {
            self.time_zone = None;
        }
        self
    }

    /// Same run instants (ignores `catch_up`).
    fn same_runs_as(&self, other: &Self) -> bool {
        self.enabled == other.enabled
            && self.daily_time == other.daily_time
            && self.time_zone == other.time_zone
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("unknown time zone {name:?}: {reason}")]
    UnknownTimeZone { name: String, reason: String },
    #[error("date/time computation failed: {0}")]
    Time(String),
    #[error("invalid schedule settings: {0}")]
    Invalid(String),
    #[error("schedule state {}: {source}", path.display())]
    Persist {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the scheduler needs a running tokio runtime")]
    NoRuntime,
    #[error("the scheduler has been shut down")]
    Stopped,
}

impl From<serde_json::Error> for ScheduleError {
    fn from(e: serde_json::Error) -> Self {
        Self::Invalid(e.to_string())
    }
}

impl From<jiff::Error> for ScheduleError {
    fn from(e: jiff::Error) -> Self {
        Self::Time(e.to_string())
    }
}

/// Why the scheduler asks for a backup; the backup record's `trigger`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScheduledTrigger {
    /// The daily time arrived.
    Schedule,
    /// A run missed while the server was down (or the machine suspended).
    CatchUp,
}

/// What became of one scheduled instant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScheduleOutcome {
    /// A backup was started.
    Started { backup_id: String },
    /// Not started: a backup or restore was running (the launcher's reason). Not retried.
    Skipped { reason: String },
    /// Not started: the instant passed while the server was down or the machine suspended,
    /// and `catch_up` is off.
    Missed { reason: String },
}

/// One entry of the schedule log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScheduleLogEntry {
    /// The scheduled instant this entry is about (RFC 3339, UTC).
    #[schema(value_type = String, format = DateTime, example = "2026-11-26T01:00:00Z")]
    pub scheduled_for: Timestamp,
    pub trigger: ScheduledTrigger,
    pub outcome: ScheduleOutcome,
    /// When the scheduler handled it (RFC 3339, UTC).
    #[schema(value_type = String, format = DateTime, example = "2026-11-26T01:00:00Z")]
    pub at: Timestamp,
}

/// What the scheduler calls to start a backup. It must only enqueue/start and return
/// quickly: `Ok(backup_id)`, or `Err(reason)` when it cannot start one now (a backup or
/// restore runs). Called from the scheduler's tokio task (and from [`Scheduler::start`] for a
/// catch-up). A panic is caught and logged as a skip.
pub trait Launcher: Send + Sync + 'static {
    fn launch(&self, trigger: ScheduledTrigger, scheduled_for: Timestamp)
        -> Result<String, String>;
}

impl<F> Launcher for F
where
    F: Fn(ScheduledTrigger, Timestamp) -> Result<String, String> + Send + Sync + 'static,
{
    fn launch(
        &self,
        trigger: ScheduledTrigger,
        scheduled_for: Timestamp,
    ) -> Result<String, String> {
        self(trigger, scheduled_for)
    }
}

/// A snapshot of the scheduler, for `/metrics` or diagnostics.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScheduleStatus {
    pub spec: ScheduleSpec,
    /// The instant the scheduler task is waiting for; `None` when disabled or stopped.
    pub next_run: Option<Timestamp>,
    /// Every scheduled instant at or before this is done with (see the module doc).
    pub handled_until: Timestamp,
    /// An [`Scheduler::update`] the task has not applied yet (it is about to).
    pub pending_update: bool,
    pub stopped: bool,
}

/// The daily scheduler: one tokio task. Dropping it stops the task.
pub struct Scheduler {
    shared: Arc<Shared>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Scheduler {
    /// Loads `<state_dir>/schedule.json` (creating `state_dir` if needed), handles the
    /// catch-up (calling the launcher before returning, if a run was missed), then spawns the
    /// scheduler task on the current tokio runtime.
    pub fn start(
        state_dir: PathBuf,
        spec: ScheduleSpec,
        clock: Arc<dyn Clock>,
        launcher: Arc<dyn Launcher>,
    ) -> Result<Scheduler, ScheduleError> {
        Self::start_with_recheck(
            state_dir,
            spec,
            clock,
            launcher,
            OverdueWatch::default(),
            RECHECK,
        )
    }

    /// [`Scheduler::start`], also keeping the dead-man's switch of `watch` (see
    /// `overdue.rs`): `overdue` events into `watch.events` when no backup succeeds in time,
    /// and for every scheduled run skipped or missed.
    pub fn start_watching(
        state_dir: PathBuf,
        spec: ScheduleSpec,
        clock: Arc<dyn Clock>,
        launcher: Arc<dyn Launcher>,
        watch: OverdueWatch,
    ) -> Result<Scheduler, ScheduleError> {
        Self::start_with_recheck(state_dir, spec, clock, launcher, watch, RECHECK)
    }

    /// [`Scheduler::start`] with another real-time re-check interval (tests shorten it).
    fn start_with_recheck(
        state_dir: PathBuf,
        spec: ScheduleSpec,
        clock: Arc<dyn Clock>,
        launcher: Arc<dyn Launcher>,
        watch: OverdueWatch,
        recheck: std::time::Duration,
    ) -> Result<Scheduler, ScheduleError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| ScheduleError::NoRuntime)?;
        let spec = spec.normalized();
        resolve_time_zone(spec.time_zone.as_deref())?;
        let store = Store::open(&state_dir)?;
        let persisted = store.load()?;
        let now = clock.now();
        let (handled_until, log) = match &persisted {
            Some(state) => (state.handled_until, state.log.iter().cloned().collect()),
            None => (now, VecDeque::new()),
        };
        let shared = Arc::new(Shared {
            clock,
            launcher,
            store,
            recheck,
            wake: Notify::new(),
            events: watch.events.clone(),
            inner: Mutex::new(Inner {
                overdue: overdue::Overdue::new(&watch, now),
                spec,
                handled_until,
                log,
                next_run: None,
                generation: 0,
                applied_generation: 0,
                stopped: false,
            }),
        });
        shared.start_up(persisted.is_some(), now);
        let task = runtime.spawn(run(Arc::clone(&shared)));
        Ok(Scheduler {
            shared,
            task: Mutex::new(Some(task)),
        })
    }

    /// Applies a new `[schedule]` at once (`PUT /settings`); `enabled = false` stops runs.
    /// Refuses an unknown time zone and keeps the old spec then.
    pub fn update(&self, spec: ScheduleSpec) -> Result<(), ScheduleError> {
        let spec = spec.normalized();
        resolve_time_zone(spec.time_zone.as_deref())?;
        let now = self.shared.clock.now();
        let mut inner = self.shared.lock();
        if inner.stopped {
            return Err(ScheduleError::Stopped);
        }
        if inner.spec == spec {
            return Ok(());
        }
        let reschedule = !inner.spec.same_runs_as(&spec);
        tracing::info!(from = %inner.spec, to = %spec, "schedule updated");
        inner.spec = spec;
        inner.generation = inner.generation.wrapping_add(1);
        if reschedule && now > inner.handled_until {
            inner.handled_until = now;
            self.shared.save(&inner);
        }
        drop(inner);
        self.shared.wake.notify_one();
        Ok(())
    }

    /// A backup succeeded (ended at `at`): the dead-man's switch counts from there.
    pub fn note_success(&self, at: Timestamp, id: &str) {
        self.shared.lock().overdue.success(at, id.to_string());
        self.shared.wake.notify_one();
    }

    /// A new `overdue_after` (`None`: off).
    pub fn set_overdue_after(&self, after: Option<SignedDuration>) {
        self.shared.lock().overdue.set_after(after);
        self.shared.wake.notify_one();
    }

    /// The spec in force.
    pub fn spec(&self) -> ScheduleSpec {
        self.shared.lock().spec.clone()
    }

    /// The next `n` runs (for `next_runs` in `GET /settings`); empty when disabled.
    pub fn next_runs(&self, n: usize) -> Result<Vec<NextRun>, ScheduleError> {
        let (spec, handled_until) = {
            let inner = self.shared.lock();
            (inner.spec.clone(), inner.handled_until)
        };
        let now = self.shared.clock.now();
        next_runs(&spec, effective_watermark(handled_until, now).max(now), n)
    }

    /// The newest `limit` log entries, newest first.
    pub fn log(&self, limit: usize) -> Vec<ScheduleLogEntry> {
        self.shared
            .lock()
            .log
            .iter()
            .rev()
            .take(limit)
            .cloned()
            .collect()
    }

    pub fn status(&self) -> ScheduleStatus {
        let inner = self.shared.lock();
        ScheduleStatus {
            spec: inner.spec.clone(),
            next_run: inner.next_run,
            handled_until: inner.handled_until,
            pending_update: inner.generation != inner.applied_generation,
            stopped: inner.stopped,
        }
    }

    /// Stops the task (after a launch in progress returns). Idempotent.
    pub fn shutdown(&self) {
        let mut inner = self.shared.lock();
        inner.stopped = true;
        inner.next_run = None;
        drop(inner);
        self.shared.wake.notify_one();
    }

    /// [`Scheduler::shutdown`], then waits for the task to end.
    pub async fn shutdown_and_wait(&self) {
        self.shutdown();
        let task = self
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(task) = task {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "the scheduler task ended abnormally");
            }
        }
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Shared {
    clock: Arc<dyn Clock>,
    launcher: Arc<dyn Launcher>,
    store: Store,
    recheck: std::time::Duration,
    wake: Notify,
    /// Where `overdue` events go.
    events: crate::toolkit::events::EventSink,
    inner: Mutex<Inner>,
}

struct Inner {
    spec: ScheduleSpec,
    handled_until: Timestamp,
    /// Oldest first.
    log: VecDeque<ScheduleLogEntry>,
    next_run: Option<Timestamp>,
    generation: u64,
    applied_generation: u64,
    stopped: bool,
    /// The dead-man's switch.
    overdue: overdue::Overdue,
}

enum Action {
    Launch(ScheduledTrigger),
    Miss(String),
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The state stays consistent across a panic elsewhere; keep scheduling.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Persists; a failure is logged and the in-memory state stays authoritative (the worst
    /// consequence is one catch-up decision after a restart).
    fn save(&self, inner: &Inner) {
        let state = PersistedState::new(inner.handled_until, inner.log.iter().cloned().collect());
        if let Err(e) = self.store.save(&state) {
            tracing::error!(error = %e, "could not persist the schedule state");
        }
    }

    /// Resets a watermark implausibly far in the future (see [`FUTURE_WATERMARK_LIMIT`]).
    fn check_watermark(&self, inner: &mut Inner, now: Timestamp) {
        let effective = effective_watermark(inner.handled_until, now);
        if effective != inner.handled_until {
            tracing::warn!(
                handled_until = %inner.handled_until, %now,
                "the schedule watermark is far in the future (the clock was wrong); reset to now"
            );
            inner.handled_until = effective;
            self.save(inner);
        }
    }

    /// The catch-up decision at start-up (see the module doc).
    fn start_up(&self, had_state: bool, now: Timestamp) {
        let (due, action) = {
            let mut inner = self.lock();
            if !had_state {
                tracing::info!(baseline = %now, "first start of the scheduler: no catch-up, baseline persisted");
                inner.handled_until = now;
                self.save(&inner);
                return;
            }
            self.check_watermark(&mut inner, now);
            if !inner.spec.enabled {
                if now > inner.handled_until {
                    inner.handled_until = now;
                    self.save(&inner);
                }
                return;
            }
            let due = match previous_run(&inner.spec, now) {
                Ok(Some(due)) if due > inner.handled_until => due,
                Ok(_) => return,
                Err(e) => {
                    tracing::error!(error = %e, "catch-up check failed");
                    return;
                }
            };
            let action = if inner.spec.catch_up {
                Action::Launch(ScheduledTrigger::CatchUp)
            } else {
                Action::Miss(
                    "the server was not running at the scheduled time and catch_up is off".into(),
                )
            };
            (due, action)
        };
        self.handle(due, action);
    }

    /// The overdue deadline may have passed: fire the event once.
    fn check_overdue(&self) {
        let now = self.clock.now();
        let event = self.lock().overdue.check(now);
        if let Some(e) = event {
            tracing::warn!(summary = %e.summary, "backups overdue");
            self.events.emit(e);
        }
    }

    /// The task woke because `slept_for` was reached: handle the latest due instant, if any.
    fn fire(&self, slept_for: Timestamp) {
        let now = self.clock.now();
        let (due, action) = {
            let mut inner = self.lock();
            if inner.stopped || !inner.spec.enabled {
                return;
            }
            let due = match previous_run(&inner.spec, now) {
                Ok(Some(due)) if due > inner.handled_until => due,
                other => {
                    if let Err(e) = other {
                        tracing::error!(error = %e, "could not compute the due run");
                    }
                    // Nothing due under the current spec up to now, so marking what we slept
                    // for as handled loses nothing and guarantees the loop cannot spin on it.
                    if slept_for <= now && slept_for > inner.handled_until {
                        inner.handled_until = slept_for;
                    }
                    return;
                }
            };
            let late_by = now.duration_since(due);
            let action = if late_by <= LATE_TOLERANCE {
                Action::Launch(ScheduledTrigger::Schedule)
            } else if inner.spec.catch_up {
                Action::Launch(ScheduledTrigger::CatchUp)
            } else {
                Action::Miss(format!(
                    "noticed {:#} after the scheduled time (machine suspended or clock \
                     stepped forward) and catch_up is off",
                    late_by.round(jiff::Unit::Second).unwrap_or(late_by)
                ))
            };
            (due, action)
        };
        self.handle(due, action);
    }

    /// Marks `due` handled, launches or records the miss, and logs the outcome.
    fn handle(&self, due: Timestamp, action: Action) {
        let trigger = match &action {
            Action::Launch(trigger) => *trigger,
            Action::Miss(_) => ScheduledTrigger::Schedule,
        };
        {
            let mut inner = self.lock();
            inner.handled_until = inner.handled_until.max(due);
            // Written before the launch: a crash in between loses this run instead of
            // running it a second time after the restart.
            self.save(&inner);
        }
        let outcome = match action {
            Action::Launch(trigger) => {
                match catch_unwind(AssertUnwindSafe(|| self.launcher.launch(trigger, due))) {
                    Ok(Ok(backup_id)) => ScheduleOutcome::Started { backup_id },
                    Ok(Err(reason)) => ScheduleOutcome::Skipped { reason },
                    Err(_) => ScheduleOutcome::Skipped {
                        reason: "the backup launcher panicked".into(),
                    },
                }
            }
            Action::Miss(reason) => ScheduleOutcome::Missed { reason },
        };
        match &outcome {
            ScheduleOutcome::Started { backup_id } => {
                tracing::info!(scheduled_for = %due, ?trigger, backup_id, "scheduled backup started");
            }
            ScheduleOutcome::Skipped { reason } | ScheduleOutcome::Missed { reason } => {
                tracing::warn!(scheduled_for = %due, ?trigger, reason, "scheduled backup not run");
                let what = match outcome {
                    ScheduleOutcome::Skipped { .. } => "skipped",
                    _ => "missed",
                };
                self.events.emit(overdue::not_run(due, what, reason));
            }
        }
        let entry = ScheduleLogEntry {
            scheduled_for: due,
            trigger,
            outcome,
            at: self.clock.now(),
        };
        let mut inner = self.lock();
        inner.log.push_back(entry);
        while inner.log.len() > LOG_CAPACITY {
            inner.log.pop_front();
        }
        self.save(&inner);
    }
}

/// The scheduler task: sleep until the first instant after the watermark, or until woken by
/// `update`/`shutdown` or the hourly re-check, then recompute.
async fn run(shared: Arc<Shared>) {
    loop {
        let overdue_at = shared.lock().overdue.deadline();
        let overdue = async {
            match overdue_at {
                Some(at) => shared.clock.sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let next = {
            let mut inner = shared.lock();
            if inner.stopped {
                break;
            }
            shared.check_watermark(&mut inner, shared.clock.now());
            let next = if inner.spec.enabled {
                match next_run_instants(&inner.spec, inner.handled_until, 1) {
                    Ok(runs) => runs.into_iter().next(),
                    Err(e) => {
                        tracing::error!(error = %e, "could not compute the next scheduled run; waiting for a settings change");
                        None
                    }
                }
            } else {
                None
            };
            inner.next_run = next;
            inner.applied_generation = inner.generation;
            next
        };
        match next {
            Some(at) => {
                tokio::select! {
                    () = shared.wake.notified() => {}
                    () = shared.clock.sleep_until(at) => shared.fire(at),
                    () = overdue => shared.check_overdue(),
                    () = tokio::time::sleep(shared.recheck) => {}
                }
            }
            None => {
                tokio::select! {
                    () = shared.wake.notified() => {}
                    () = overdue => shared.check_overdue(),
                    () = tokio::time::sleep(shared.recheck) => {}
                }
            }
        }
    }
}
