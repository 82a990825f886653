//! Scheduler tests on a [`FakeClock`]: catch-up, skip while busy, rescheduling, DST days.
//! Each waits for the scheduler task by polling with a deadline, never for wall-clock minutes.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tempfile::TempDir;

use super::store::{PersistedState, Store};
use super::*;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn spec(zone: &str, time: &str) -> ScheduleSpec {
    ScheduleSpec {
        enabled: true,
        daily_time: parse_daily_time(time).unwrap(),
        time_zone: Some(zone.to_owned()),
        catch_up: true,
    }
}

fn berlin(time: &str) -> ScheduleSpec {
    spec("Europe/Berlin", time)
}

/// Records every call; answers busy while `busy` is set; panics while `panic` is set.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<(ScheduledTrigger, Timestamp)>>,
    busy: Mutex<Option<String>>,
    panic: AtomicBool,
}

impl Recorder {
    fn calls(&self) -> Vec<(ScheduledTrigger, Timestamp)> {
        self.calls.lock().unwrap().clone()
    }
    fn count(&self) -> usize {
        self.calls.lock().unwrap().len()
    }
    fn set_busy(&self, reason: Option<&str>) {
        *self.busy.lock().unwrap() = reason.map(str::to_owned);
    }
}

impl Launcher for Recorder {
    fn launch(
        &self,
        trigger: ScheduledTrigger,
        scheduled_for: Timestamp,
    ) -> Result<String, String> {
        let n = {
            let mut calls = self.calls.lock().unwrap();
            calls.push((trigger, scheduled_for));
            calls.len()
        };
        if self.panic.load(Ordering::SeqCst) {
            panic!("launcher exploded");
        }
        match self.busy.lock().unwrap().clone() {
            Some(reason) => Err(reason),
            None => Ok(format!("backup-{n}")),
        }
    }
}

struct Harness {
    dir: TempDir,
    clock: Arc<FakeClock>,
    launcher: Arc<Recorder>,
}

impl Harness {
    fn new(now: &str) -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            clock: Arc::new(FakeClock::new(ts(now))),
            launcher: Arc::new(Recorder::default()),
        }
    }

    fn start(&self, spec: ScheduleSpec) -> Scheduler {
        Scheduler::start(
            self.dir.path().to_path_buf(),
            spec,
            self.clock.clone(),
            self.launcher.clone(),
        )
        .unwrap()
    }

    /// A restart after an outage: stop `s`, move the clock, start again.
    async fn restart_at(&self, s: Scheduler, now: &str, spec: ScheduleSpec) -> Scheduler {
        s.shutdown_and_wait().await;
        drop(s);
        self.clock.set(ts(now));
        self.start(spec)
    }

    fn state_path(&self) -> std::path::PathBuf {
        self.dir.path().join(STATE_FILE)
    }
}

async fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Waits until the task has applied every update and is waiting for `next`.
async fn wait_armed(s: &Scheduler, next: Option<&str>) {
    let next = next.map(ts);
    wait_until(&format!("armed for {next:?}"), || {
        let st = s.status();
        !st.pending_update && st.next_run == next
    })
    .await;
}

/// For "nothing happens" checks: give the task ample time to do something wrong.
async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
}

fn read_state(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[tokio::test]
async fn first_start_sets_a_baseline_and_does_not_catch_up() {
    // 14:00 in Berlin: today's 02:00 is past, but there is no record of the server missing it.
    let h = Harness::new("2026-06-10T12:00:00Z");
    let s = h.start(berlin("02:00"));
    assert_eq!(h.launcher.count(), 0);
    assert_eq!(s.status().handled_until, ts("2026-06-10T12:00:00Z"));
    assert_eq!(
        read_state(&h.state_path())["handled_until"],
        "2026-06-10T12:00:00Z"
    );
    wait_armed(&s, Some("2026-06-11T00:00:00Z")).await;
    assert!(s.log(10).is_empty());
}

#[tokio::test]
async fn runs_at_the_daily_time_once() {
    let h = Harness::new("2026-06-10T21:00:00Z");
    let s = h.start(berlin("02:00"));
    wait_armed(&s, Some("2026-06-11T00:00:00Z")).await;
    h.clock.set(ts("2026-06-11T00:00:00Z"));
    wait_until("the run", || h.launcher.count() == 1).await;
    assert_eq!(
        h.launcher.calls(),
        [(ScheduledTrigger::Schedule, ts("2026-06-11T00:00:00Z"))]
    );
    wait_armed(&s, Some("2026-06-12T00:00:00Z")).await;
    let log = s.log(10);
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].scheduled_for, ts("2026-06-11T00:00:00Z"));
    assert_eq!(log[0].trigger, ScheduledTrigger::Schedule);
    assert_eq!(
        log[0].outcome,
        ScheduleOutcome::Started {
            backup_id: "backup-1".into()
        }
    );
    h.clock.advance(SignedDuration::from_hours(6));
    settle().await;
    assert_eq!(h.launcher.count(), 1);
    // The entry as the API would show it.
    let json = serde_json::to_value(&log[0]).unwrap();
    assert_eq!(json["trigger"], "schedule");
    assert_eq!(json["outcome"]["kind"], "started");
    assert_eq!(json["outcome"]["backup_id"], "backup-1");
    assert_eq!(json["scheduled_for"], "2026-06-11T00:00:00Z");
}

#[tokio::test]
async fn catch_up_after_a_missed_day_runs_exactly_once() {
    let h = Harness::new("2026-06-10T21:00:00Z");
    let s = h.start(berlin("02:00"));
    wait_armed(&s, Some("2026-06-11T00:00:00Z")).await;
    h.clock.set(ts("2026-06-11T00:00:00Z"));
    wait_until("the first run", || h.launcher.count() == 1).await;
    wait_armed(&s, Some("2026-06-12T00:00:00Z")).await;

    // Down over the next 02:00; back at 11:00 Berlin.
    let s = h
        .restart_at(s, "2026-06-12T09:00:00Z", berlin("02:00"))
        .await;
    assert_eq!(h.launcher.count(), 2, "the catch-up runs during start");
    assert_eq!(
        h.launcher.calls()[1],
        (ScheduledTrigger::CatchUp, ts("2026-06-12T00:00:00Z"))
    );
    let log = s.log(1);
    assert_eq!(log[0].trigger, ScheduledTrigger::CatchUp);
    assert!(matches!(log[0].outcome, ScheduleOutcome::Started { .. }));
    wait_armed(&s, Some("2026-06-13T00:00:00Z")).await;
    settle().await;
    assert_eq!(h.launcher.count(), 2);

    // Another restart the same day: already caught up.
    let s = h
        .restart_at(s, "2026-06-12T10:00:00Z", berlin("02:00"))
        .await;
    settle().await;
    assert_eq!(h.launcher.count(), 2);
    wait_armed(&s, Some("2026-06-13T00:00:00Z")).await;

    // And the schedule goes on as usual.
    h.clock.set(ts("2026-06-13T00:00:00Z"));
    wait_until("the next run", || h.launcher.count() == 3).await;
    assert_eq!(
        h.launcher.calls()[2],
        (ScheduledTrigger::Schedule, ts("2026-06-13T00:00:00Z"))
    );
}

#[tokio::test]
async fn a_long_outage_catches_up_once() {
    let h = Harness::new("2026-06-01T12:00:00Z");
    let s = h.start(berlin("02:00"));
    // Down for 19 days, 19 runs missed.
    let s = h
        .restart_at(s, "2026-06-20T12:00:00Z", berlin("02:00"))
        .await;
    assert_eq!(
        h.launcher.calls(),
        [(ScheduledTrigger::CatchUp, ts("2026-06-20T00:00:00Z"))]
    );
    let s = h
        .restart_at(s, "2026-06-20T12:05:00Z", berlin("02:00"))
        .await;
    let s = h
        .restart_at(s, "2026-06-20T12:10:00Z", berlin("02:00"))
        .await;
    settle().await;
    assert_eq!(h.launcher.count(), 1);
    assert_eq!(s.log(100).len(), 1);
}

#[tokio::test]
async fn without_catch_up_a_missed_run_is_logged_not_run() {
    let mut no_catch_up = berlin("02:00");
    no_catch_up.catch_up = false;
    let h = Harness::new("2026-06-10T12:00:00Z");
    let s = h.start(no_catch_up.clone());
    let s = h
        .restart_at(s, "2026-06-12T12:00:00Z", no_catch_up.clone())
        .await;
    assert_eq!(h.launcher.count(), 0);
    let log = s.log(10);
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].scheduled_for, ts("2026-06-12T00:00:00Z"));
    assert_eq!(log[0].trigger, ScheduledTrigger::Schedule);
    assert!(
        matches!(&log[0].outcome, ScheduleOutcome::Missed { reason } if reason.contains("catch_up is off"))
    );
    let s = h.restart_at(s, "2026-06-12T13:00:00Z", no_catch_up).await;
    assert_eq!(s.log(10).len(), 1, "the same miss is not logged twice");
    assert_eq!(h.launcher.count(), 0);
}

#[tokio::test]
async fn busy_instant_is_skipped_logged_and_never_rerun() {
    let h = Harness::new("2026-06-10T21:00:00Z");
    let s = h.start(berlin("02:00"));
    wait_armed(&s, Some("2026-06-11T00:00:00Z")).await;
    h.launcher
        .set_busy(Some("backup 20261126T015500Z is running"));
    h.clock.set(ts("2026-06-11T00:00:00Z"));
    wait_until("the attempt", || h.launcher.count() == 1).await;
    wait_armed(&s, Some("2026-06-12T00:00:00Z")).await;
    let log = s.log(10);
    assert_eq!(log.len(), 1);
    assert_eq!(
        log[0].outcome,
        ScheduleOutcome::Skipped {
            reason: "backup 20261126T015500Z is running".into()
        }
    );
    assert_eq!(
        serde_json::to_value(&log[0]).unwrap()["outcome"]["kind"],
        "skipped"
    );

    // The backup ends; the skipped run is not queued or retried, not even by a restart.
    h.launcher.set_busy(None);
    h.clock.set(ts("2026-06-11T00:30:00Z"));
    settle().await;
    assert_eq!(h.launcher.count(), 1);
    let s = h
        .restart_at(s, "2026-06-11T06:00:00Z", berlin("02:00"))
        .await;
    settle().await;
    assert_eq!(h.launcher.count(), 1);

    // The next day runs normally.
    wait_armed(&s, Some("2026-06-12T00:00:00Z")).await;
    h.clock.set(ts("2026-06-12T00:00:00Z"));
    wait_until("the next day's run", || h.launcher.count() == 2).await;
    assert!(matches!(
        s.log(1)[0].outcome,
        ScheduleOutcome::Started { .. }
    ));
}

#[tokio::test]
async fn update_reschedules_at_once() {
    let h = Harness::new("2026-06-10T20:00:00Z"); // 22:00 Berlin
    let s = h.start(berlin("02:00"));
    wait_armed(&s, Some("2026-06-11T00:00:00Z")).await;

    s.update(berlin("23:00")).unwrap();
    wait_armed(&s, Some("2026-06-10T21:00:00Z")).await;
    assert_eq!(s.next_runs(1).unwrap()[0].utc, "2026-06-10T21:00:00Z");
    assert_eq!(s.spec(), berlin("23:00"));
    h.clock.set(ts("2026-06-10T21:00:00Z"));
    wait_until("the rescheduled run", || h.launcher.count() == 1).await;
    assert_eq!(h.launcher.calls()[0].1, ts("2026-06-10T21:00:00Z"));
    wait_armed(&s, Some("2026-06-11T21:00:00Z")).await;

    // The old time no longer fires.
    h.clock.set(ts("2026-06-11T00:00:00Z"));
    settle().await;
    assert_eq!(h.launcher.count(), 1);

    // A zone change: it is 20:00 on 06-10 in New York; 23:00 EDT there is 03:00Z.
    s.update(spec("America/New_York", "23:00")).unwrap();
    wait_armed(&s, Some("2026-06-11T03:00:00Z")).await;
    let next = s.next_runs(5).unwrap();
    assert_eq!(next.len(), 5);
    assert_eq!(next[0].local, "2026-06-10T23:00:00-04:00");
    assert_eq!(next[0].time_zone, "America/New_York");
}

#[tokio::test]
async fn a_time_already_past_today_waits_for_tomorrow() {
    let h = Harness::new("2026-06-10T08:00:00Z"); // 10:00 Berlin
    let s = h.start(berlin("12:00"));
    wait_armed(&s, Some("2026-06-10T10:00:00Z")).await;
    s.update(berlin("09:00")).unwrap();
    wait_armed(&s, Some("2026-06-11T07:00:00Z")).await;
    settle().await;
    assert_eq!(h.launcher.count(), 0);
    // Nor does a restart treat it as missed.
    let s = h
        .restart_at(s, "2026-06-10T09:00:00Z", berlin("09:00"))
        .await;
    assert_eq!(h.launcher.count(), 0);
    wait_armed(&s, Some("2026-06-11T07:00:00Z")).await;
}

#[tokio::test]
async fn an_update_that_keeps_the_times_keeps_the_watermark() {
    let h = Harness::new("2026-06-10T21:00:00Z");
    let s = h.start(berlin("02:00"));
    let before = s.status().handled_until;
    h.clock.set(ts("2026-06-10T23:00:00Z"));
    s.update(berlin("02:00")).unwrap();
    let mut only_catch_up = berlin("02:00");
    only_catch_up.catch_up = false;
    s.update(only_catch_up.clone()).unwrap();
    assert_eq!(s.status().handled_until, before);
    assert_eq!(s.spec(), only_catch_up);
    // `Some("")` is the machine zone, like `None`.
    let mut local = berlin("02:00");
    local.time_zone = Some(String::new());
    s.update(local).unwrap();
    assert_eq!(s.spec().time_zone, None);
}

#[tokio::test]
async fn disabling_stops_and_enabling_resumes_without_catching_up() {
    let h = Harness::new("2026-06-10T21:00:00Z");
    let s = h.start(berlin("02:00"));
    wait_armed(&s, Some("2026-06-11T00:00:00Z")).await;
    let mut off = berlin("02:00");
    off.enabled = false;
    s.update(off.clone()).unwrap();
    wait_armed(&s, None).await;
    assert!(s.next_runs(5).unwrap().is_empty());
    h.clock.set(ts("2026-06-11T12:00:00Z"));
    settle().await;
    assert_eq!(h.launcher.count(), 0);

    // Re-enabled at 14:00: today's 02:00 passed while off, it is not caught up.
    s.update(berlin("02:00")).unwrap();
    wait_armed(&s, Some("2026-06-12T00:00:00Z")).await;
    let s = h
        .restart_at(s, "2026-06-11T13:00:00Z", berlin("02:00"))
        .await;
    settle().await;
    assert_eq!(h.launcher.count(), 0);
    wait_armed(&s, Some("2026-06-12T00:00:00Z")).await;
}

#[tokio::test]
async fn starting_disabled_moves_the_baseline() {
    let h = Harness::new("2026-06-01T12:00:00Z");
    let s = h.start(berlin("02:00"));
    let mut off = berlin("02:00");
    off.enabled = false;
    let s = h.restart_at(s, "2026-06-10T12:00:00Z", off).await;
    assert_eq!(h.launcher.count(), 0);
    wait_armed(&s, None).await;
    // Enabled in the config and restarted: 06-10 02:00 passed while the schedule was off.
    let s = h
        .restart_at(s, "2026-06-10T13:00:00Z", berlin("02:00"))
        .await;
    assert_eq!(h.launcher.count(), 0);
    wait_armed(&s, Some("2026-06-11T00:00:00Z")).await;
}

#[tokio::test]
async fn a_clock_jump_over_several_days_runs_once() {
    let h = Harness::new("2026-06-10T21:00:00Z");
    let s = h.start(berlin("02:00"));
    wait_armed(&s, Some("2026-06-11T00:00:00Z")).await;
    // Suspended for days: late beyond the tolerance, so a catch-up of the latest instant.
    h.clock.set(ts("2026-06-14T12:00:00Z"));
    wait_until("one run", || h.launcher.count() == 1).await;
    wait_armed(&s, Some("2026-06-15T00:00:00Z")).await;
    settle().await;
    assert_eq!(
        h.launcher.calls(),
        [(ScheduledTrigger::CatchUp, ts("2026-06-14T00:00:00Z"))]
    );

    // Without catch_up the same jump is recorded as missed.
    let mut no_catch_up = berlin("02:00");
    no_catch_up.catch_up = false;
    s.update(no_catch_up).unwrap();
    wait_armed(&s, Some("2026-06-15T00:00:00Z")).await;
    h.clock.set(ts("2026-06-17T12:00:00Z"));
    wait_until("the miss", || s.log(10).len() == 2).await;
    assert_eq!(h.launcher.count(), 1);
    assert_eq!(s.log(1)[0].scheduled_for, ts("2026-06-17T00:00:00Z"));
    assert!(matches!(
        s.log(1)[0].outcome,
        ScheduleOutcome::Missed { .. }
    ));
}

#[tokio::test]
async fn a_slightly_late_wake_is_an_ordinary_run() {
    let h = Harness::new("2026-06-10T21:00:00Z");
    let s = h.start(berlin("02:00"));
    wait_armed(&s, Some("2026-06-11T00:00:00Z")).await;
    h.clock.set(ts("2026-06-11T00:03:00Z"));
    wait_until("the run", || h.launcher.count() == 1).await;
    assert_eq!(
        h.launcher.calls(),
        [(ScheduledTrigger::Schedule, ts("2026-06-11T00:00:00Z"))]
    );
}

#[tokio::test]
async fn a_clock_stepping_back_never_repeats_a_run() {
    let h = Harness::new("2026-06-10T21:00:00Z");
    let s = h.start(berlin("02:00"));
    wait_armed(&s, Some("2026-06-11T00:00:00Z")).await;
    h.clock.set(ts("2026-06-11T00:00:00Z"));
    wait_until("the run", || h.launcher.count() == 1).await;
    wait_armed(&s, Some("2026-06-12T00:00:00Z")).await;
    h.clock.set(ts("2026-06-10T23:50:00Z"));
    settle().await;
    h.clock.set(ts("2026-06-11T00:00:00Z"));
    settle().await;
    assert_eq!(h.launcher.count(), 1);
    assert_eq!(s.next_runs(1).unwrap()[0].utc, "2026-06-12T00:00:00Z");
}

#[tokio::test]
async fn the_repeated_hour_on_fall_back_day_runs_once() {
    let h = Harness::new("2026-10-24T22:00:00Z"); // 00:00 CEST
    let s = h.start(berlin("02:30"));
    wait_armed(&s, Some("2026-10-25T00:30:00Z")).await;
    h.clock.set(ts("2026-10-25T00:30:00Z")); // the first 02:30 (CEST)
    wait_until("the run", || h.launcher.count() == 1).await;
    wait_armed(&s, Some("2026-10-26T01:30:00Z")).await;
    h.clock.set(ts("2026-10-25T01:30:00Z")); // the second 02:30 (CET)
    settle().await;
    assert_eq!(h.launcher.count(), 1);
}

#[tokio::test]
async fn the_skipped_hour_on_spring_forward_day_runs_after_the_gap() {
    let h = Harness::new("2026-03-07T12:00:00Z");
    let s = h.start(spec("America/New_York", "02:30"));
    wait_armed(&s, Some("2026-03-08T07:00:00Z")).await;
    let runs = s.next_runs(2).unwrap();
    assert_eq!(runs[0].local, "2026-03-08T03:00:00-04:00");
    assert_eq!(runs[1].local, "2026-03-09T02:30:00-04:00");
    h.clock.set(ts("2026-03-08T07:00:00Z"));
    wait_until("the run", || h.launcher.count() == 1).await;
    assert_eq!(h.launcher.calls()[0].1, ts("2026-03-08T07:00:00Z"));
}

#[tokio::test]
async fn a_panicking_launcher_is_a_logged_skip() {
    let h = Harness::new("2026-06-10T21:00:00Z");
    let s = h.start(berlin("02:00"));
    wait_armed(&s, Some("2026-06-11T00:00:00Z")).await;
    h.launcher.panic.store(true, Ordering::SeqCst);
    h.clock.set(ts("2026-06-11T00:00:00Z"));
    wait_until("the skip", || s.log(1).len() == 1).await;
    assert!(
        matches!(&s.log(1)[0].outcome, ScheduleOutcome::Skipped { reason } if reason.contains("panicked"))
    );
    // The task survived.
    wait_armed(&s, Some("2026-06-12T00:00:00Z")).await;
    h.launcher.panic.store(false, Ordering::SeqCst);
    h.clock.set(ts("2026-06-12T00:00:00Z"));
    wait_until("the next run", || h.launcher.count() == 2).await;
}

#[tokio::test]
async fn the_log_is_persisted_bounded_and_newest_first() {
    let h = Harness::new("2026-06-10T21:00:00Z");
    let old: Vec<ScheduleLogEntry> = (0..LOG_CAPACITY)
        .map(|i| ScheduleLogEntry {
            scheduled_for: ts("2020-01-01T00:00:00Z")
                .checked_add(SignedDuration::from_hours(24 * i as i64))
                .unwrap(),
            trigger: ScheduledTrigger::Schedule,
            outcome: ScheduleOutcome::Started {
                backup_id: format!("old-{i}"),
            },
            at: ts("2020-01-01T00:00:00Z"),
        })
        .collect();
    Store::open(h.dir.path())
        .unwrap()
        .save(&PersistedState::new(ts("2026-06-10T20:00:00Z"), old))
        .unwrap();
    let s = h.start(berlin("02:00"));
    assert_eq!(s.log(usize::MAX).len(), LOG_CAPACITY);
    h.clock.set(ts("2026-06-11T00:00:00Z"));
    wait_until("the run", || h.launcher.count() == 1).await;
    wait_armed(&s, Some("2026-06-12T00:00:00Z")).await;
    let log = s.log(usize::MAX);
    assert_eq!(log.len(), LOG_CAPACITY);
    assert_eq!(log[0].scheduled_for, ts("2026-06-11T00:00:00Z"));
    assert_eq!(
        log[1].outcome,
        ScheduleOutcome::Started {
            backup_id: format!("old-{}", LOG_CAPACITY - 1)
        }
    );
    assert_eq!(
        log.last().unwrap().outcome,
        ScheduleOutcome::Started {
            backup_id: "old-1".into()
        }
    );
    assert_eq!(s.log(3).len(), 3);

    let s = h
        .restart_at(s, "2026-06-11T01:00:00Z", berlin("02:00"))
        .await;
    assert_eq!(s.log(usize::MAX), log);
    let on_disk = read_state(&h.state_path());
    assert_eq!(on_disk["version"], 1);
    assert_eq!(on_disk["handled_until"], "2026-06-11T00:00:00Z");
    assert_eq!(on_disk["log"].as_array().unwrap().len(), LOG_CAPACITY);
    // Atomic write leaves no temp file behind.
    let names: Vec<String> = std::fs::read_dir(h.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, [STATE_FILE]);
}

#[tokio::test]
async fn a_watermark_far_in_the_future_is_reset_at_start() {
    // Written while the clock said 2040; the clock is right again.
    let h = Harness::new("2026-06-10T12:00:00Z");
    Store::open(h.dir.path())
        .unwrap()
        .save(&PersistedState::new(ts("2040-01-01T00:00:00Z"), Vec::new()))
        .unwrap();
    let s = h.start(berlin("02:00"));
    assert_eq!(h.launcher.count(), 0);
    assert_eq!(s.status().handled_until, ts("2026-06-10T12:00:00Z"));
    assert_eq!(s.next_runs(1).unwrap()[0].utc, "2026-06-11T00:00:00Z");
    wait_armed(&s, Some("2026-06-11T00:00:00Z")).await;
}

/// The clock runs in 2040 for a while, then is stepped back: the real-time re-check (hourly;
/// 5 ms here) resets the watermark and runs resume.
#[tokio::test]
async fn a_clock_stepped_back_by_years_resumes_the_schedule() {
    let h = Harness::new("2040-06-10T21:00:00Z");
    let s = Scheduler::start_with_recheck(
        h.dir.path().to_path_buf(),
        berlin("02:00"),
        h.clock.clone(),
        h.launcher.clone(),
        OverdueWatch::default(),
        Duration::from_millis(5),
    )
    .unwrap();
    wait_armed(&s, Some("2040-06-11T00:00:00Z")).await;
    h.clock.set(ts("2040-06-11T00:00:00Z"));
    wait_until("the run in 2040", || h.launcher.count() == 1).await;
    wait_armed(&s, Some("2040-06-12T00:00:00Z")).await;
    h.clock.set(ts("2026-06-10T12:00:00Z"));
    wait_armed(&s, Some("2026-06-11T00:00:00Z")).await;
    assert_eq!(s.status().handled_until, ts("2026-06-10T12:00:00Z"));
    h.clock.set(ts("2026-06-11T00:00:00Z"));
    wait_until("the run in 2026", || h.launcher.count() == 2).await;
}

/// A clock stepped back by less than the limit keeps the watermark (no repeated run).
#[test]
fn effective_watermark_only_resets_implausible_values() {
    let now = ts("2026-06-10T12:00:00Z");
    let soon = ts("2026-06-11T11:00:00Z");
    assert_eq!(super::effective_watermark(soon, now), soon);
    assert_eq!(
        super::effective_watermark(ts("2026-06-12T00:00:00Z"), now),
        now
    );
    assert_eq!(
        super::effective_watermark(ts("2026-06-01T00:00:00Z"), now),
        ts("2026-06-01T00:00:00Z")
    );
}

#[tokio::test]
async fn an_unreadable_state_file_is_set_aside() {
    let h = Harness::new("2026-06-12T12:00:00Z");
    std::fs::write(h.state_path(), b"{not json").unwrap();
    let s = h.start(berlin("02:00"));
    assert_eq!(
        h.launcher.count(),
        0,
        "no catch-up without a trustworthy watermark"
    );
    assert_eq!(
        std::fs::read(h.dir.path().join("schedule.json.corrupt")).unwrap(),
        b"{not json"
    );
    assert_eq!(
        read_state(&h.state_path())["handled_until"],
        "2026-06-12T12:00:00Z"
    );
    wait_armed(&s, Some("2026-06-13T00:00:00Z")).await;
}

#[tokio::test]
async fn unknown_zones_are_refused() {
    let h = Harness::new("2026-06-10T21:00:00Z");
    let err = Scheduler::start(
        h.dir.path().to_path_buf(),
        spec("Mars/Olympus_Mons", "02:00"),
        h.clock.clone(),
        h.launcher.clone(),
    )
    .err()
    .unwrap();
    assert!(
        matches!(err, ScheduleError::UnknownTimeZone { .. }),
        "{err}"
    );
    let s = h.start(berlin("02:00"));
    assert!(s.update(spec("Mars/Olympus_Mons", "03:00")).is_err());
    assert_eq!(s.spec(), berlin("02:00"));
}

#[tokio::test]
async fn shutdown_stops_the_task() {
    let h = Harness::new("2026-06-10T21:00:00Z");
    let s = h.start(berlin("02:00"));
    wait_armed(&s, Some("2026-06-11T00:00:00Z")).await;
    tokio::time::timeout(Duration::from_secs(2), s.shutdown_and_wait())
        .await
        .unwrap();
    assert!(s.status().stopped);
    h.clock.set(ts("2026-06-11T00:00:00Z"));
    settle().await;
    assert_eq!(h.launcher.count(), 0);
    assert!(matches!(
        s.update(berlin("03:00")),
        Err(ScheduleError::Stopped)
    ));
}

#[tokio::test]
async fn closures_are_launchers() {
    let h = Harness::new("2026-06-10T12:00:00Z");
    let launcher = |_: ScheduledTrigger, _: Timestamp| -> Result<String, String> { Ok("x".into()) };
    let s = Scheduler::start(
        h.dir.path().to_path_buf(),
        berlin("02:00"),
        h.clock.clone(),
        Arc::new(launcher),
    );
    assert!(s.is_ok());
}

#[test]
fn start_needs_a_tokio_runtime() {
    let h = Harness::new("2026-06-10T21:00:00Z");
    let err = Scheduler::start(
        h.dir.path().to_path_buf(),
        berlin("02:00"),
        h.clock.clone(),
        h.launcher.clone(),
    )
    .err()
    .unwrap();
    assert!(matches!(err, ScheduleError::NoRuntime));
}

/// The OpenAPI shapes the HTTP layer will publish.
#[test]
fn openapi_schemas() {
    use utoipa::PartialSchema;
    let entry = serde_json::to_value(ScheduleLogEntry::schema()).unwrap();
    assert_eq!(entry["properties"]["scheduled_for"]["format"], "date-time");
    let outcome = serde_json::to_value(ScheduleOutcome::schema()).unwrap();
    let kinds: Vec<&serde_json::Value> = outcome["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["properties"]["kind"]["enum"][0])
        .collect();
    assert_eq!(kinds, ["started", "skipped", "missed"]);
    let next = serde_json::to_value(NextRun::schema()).unwrap();
    assert_eq!(next["properties"]["utc"]["format"], "date-time");
    assert_eq!(next["properties"]["local"]["format"], "date-time");
    let spec = serde_json::to_value(ScheduleSpec::schema()).unwrap();
    assert_eq!(
        spec["properties"]["daily_time"]["pattern"],
        "^([01][0-9]|2[0-3]):[0-5][0-9]$"
    );
}

/// The HTTP layer keeps the scheduler in shared app state across worker threads.
#[test]
fn shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Scheduler>();
    assert_send_sync::<FakeClock>();
    assert_send_sync::<SystemClock>();
    assert_send_sync::<ScheduleLogEntry>();
    assert_send_sync::<NextRun>();
}

/// The config layer's settings struct (strings, `""` = machine zone), as `state.rs` passes it.
#[derive(serde::Serialize)]
struct ConfigShaped {
    enabled: bool,
    daily_time: String,
    time_zone: String,
    catch_up: bool,
}

#[test]
fn next_runs_of_reads_the_config_shape() {
    let cfg = |enabled: bool, time: &str, zone: &str| ConfigShaped {
        enabled,
        daily_time: time.into(),
        time_zone: zone.into(),
        catch_up: true,
    };
    let runs = next_runs_of(&cfg(true, "02:30", "Europe/Berlin"), 5);
    assert_eq!(runs.len(), 5);
    assert!(runs.iter().all(|r| r.time_zone == "Europe/Berlin"));
    assert!(runs[0].local.contains("T02:30:00+") || runs[0].dst_adjustment.is_some());
    assert_eq!(next_runs_of(&cfg(true, "02:30", ""), 3).len(), 3);
    assert!(next_runs_of(&cfg(false, "02:30", "Europe/Berlin"), 5).is_empty());
    assert!(next_runs_of(&cfg(true, "24:00", "Europe/Berlin"), 5).is_empty());
    assert!(next_runs_of(&cfg(true, "02:30", "Mars/Olympus_Mons"), 5).is_empty());
}

#[test]
fn spec_from_config_parts() {
    let s = ScheduleSpec::from_config_parts(true, "02:30", "", false).unwrap();
    assert_eq!(s.time_zone, None);
    assert_eq!(s.daily_time.to_string(), "02:30");
    assert!(!s.catch_up);
    let s = ScheduleSpec::from_config_parts(true, "02:30", "Europe/Berlin", true).unwrap();
    assert_eq!(s, berlin("02:30"));
    let e = ScheduleSpec::from_config_parts(true, "7:5", "Europe/Berlin", true).unwrap_err();
    assert!(e.starts_with("daily_time:"), "{e}");
    let e = ScheduleSpec::from_config_parts(true, "07:05", "Mars/Olympus_Mons", true).unwrap_err();
    assert!(e.starts_with("time_zone:"), "{e}");
}

#[test]
fn a_schedule_reads_as_one_short_phrase_in_the_log() {
    assert_eq!(
        berlin("02:30").to_string(),
        "daily at 02:30 (Europe/Berlin), catch-up on"
    );
    let local = ScheduleSpec {
        catch_up: false,
        ..ScheduleSpec::default()
    };
    assert_eq!(
        local.to_string(),
        "daily at 02:00 (the machine's zone), catch-up off"
    );
    let off = ScheduleSpec {
        enabled: false,
        ..ScheduleSpec::default()
    };
    assert_eq!(off.to_string(), "off");
}

/// The dead-man's switch runs on the scheduler's clock: `overdue` fires once the clock passes
/// the previous success plus `overdue_after` (no backup runs), not again, and a success re-arms
/// it; a scheduled run skipped while busy is an `overdue` warning.
#[tokio::test]
async fn overdue_fires_on_the_clock_once_and_a_success_rearms_it() {
    use crate::toolkit::events::{EventKind, EventSink, Severity};
    let h = Harness::new("2040-06-10T12:00:00Z");
    let (events, mut rx) = EventSink::channel();
    let watch = OverdueWatch {
        events,
        after: Some(SignedDuration::from_hours(26)),
        last_success: Some((ts("2040-06-10T01:00:00Z"), "20400610T010000Z".into())),
    };
    let s = Scheduler::start_watching(
        h.dir.path().to_path_buf(),
        berlin("02:00"),
        h.clock.clone(),
        h.launcher.clone(),
        watch,
    )
    .unwrap();
    // 2040-06-11 03:00Z is 26 h after the success; the run of 02:00 Berlin (00:00Z) is skipped.
    h.launcher.set_busy(Some("a restore is running"));
    h.clock.set(ts("2040-06-11T00:00:00Z"));
    let skipped = tokio::time::timeout(Duration::from_secs(3), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (skipped.event, skipped.severity),
        (EventKind::Overdue, Severity::Warning)
    );
    assert!(
        skipped.summary.contains("skipped: a restore is running"),
        "{}",
        skipped.summary
    );
    h.clock.set(ts("2040-06-11T02:59:59Z"));
    h.clock.set(ts("2040-06-11T03:00:00Z"));
    let overdue = tokio::time::timeout(Duration::from_secs(3), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (overdue.event, overdue.severity),
        (EventKind::Overdue, Severity::Error)
    );
    assert_eq!(overdue.backup_id.as_deref(), Some("20400610T010000Z"));
    // Not again for the same silence; a success re-arms it for 26 h after that success.
    h.launcher.set_busy(None);
    s.note_success(ts("2040-06-11T04:00:00Z"), "20400611T040000Z");
    h.clock.set(ts("2040-06-12T05:59:00Z"));
    // the scheduled run of 2040-06-12 00:00Z started meanwhile: no event for it
    wait_until("the run of the 12th", || h.launcher.count() == 2).await;
    assert!(rx.try_recv().is_err(), "nothing before the new deadline");
    h.clock.set(ts("2040-06-12T06:00:00Z"));
    let again = tokio::time::timeout(Duration::from_secs(3), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.backup_id.as_deref(), Some("20400611T040000Z"));
    s.shutdown_and_wait().await;
}
