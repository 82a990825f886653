//! The daily schedule through the real server. The server's scheduler clock can be shifted with
//! `BACKUP_MASTER_CLOCK_OFFSET_SECS`, so a test puts "now" seconds before a scheduled instant (or
//! a day after a missed one) instead of waiting for the wall clock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use chrono::{DateTime, Duration as CDuration, Timelike, Utc};
use common::*;
use serde_json::{json, Value};

/// A setup whose schedule runs daily at `hhmm` UTC.
fn scheduled(hhmm: &str, catch_up: bool) -> Setup {
    let s = Setup::new(1);
    let text = std::fs::read_to_string(&s.config)
        .unwrap()
        .replace(
            "enabled = false        # tests start backups by hand",
            "enabled = true",
        )
        .replace(
            "daily_time = \"02:00\"",
            &format!("daily_time = \"{hhmm}\""),
        )
        .replace("time_zone = \"Europe/Berlin\"", "time_zone = \"UTC\"")
        .replace("catch_up = false", &format!("catch_up = {catch_up}"));
    std::fs::write(&s.config, text).unwrap();
    s
}

/// The next whole minute at least `lead` from now, and the clock offset that makes the
/// server's "now" `before` ahead of it.
fn upcoming(lead: i64, before: i64) -> (DateTime<Utc>, String, i64) {
    let now = Utc::now();
    let t = (now + CDuration::seconds(lead))
        .with_second(0)
        .unwrap()
        .with_nanosecond(0)
        .unwrap()
        + CDuration::minutes(1);
    let offset = (t - now).num_seconds() - before;
    (t, format!("{:02}:{:02}", t.hour(), t.minute()), offset)
}

fn backups(server: &Server) -> Vec<Value> {
    server.get_json("/api/v1/backups?limit=100", VIEWER)["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn a_scheduled_backup_runs_with_trigger_schedule() {
    let (t, hhmm, offset) = upcoming(120, 5);
    let s = scheduled(&hhmm, false);
    let server = s.start_env(&[("BACKUP_MASTER_CLOCK_OFFSET_SECS", &offset.to_string())]);
    let settings = server.get_json("/api/v1/settings", VIEWER);
    let next = settings["next_runs"].as_array().unwrap();
    assert_eq!(next.len(), 5, "{settings}");
    assert_eq!(
        next[0]["utc"].as_str().unwrap(),
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    );
    let b = poll("the scheduled backup", Duration::from_secs(30), || {
        backups(&server).into_iter().next()
    });
    assert_eq!(b["trigger"], "schedule", "{b}");
    let id = b["id"].as_str().unwrap().to_string();
    let done = wait_backup(&server, &id);
    assert_eq!(done["status"], "succeeded");
    assert_eq!(
        done["scheduled_for"].as_str().unwrap(),
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    );
    let log = server.get_json("/api/v1/schedule/log", VIEWER);
    assert_eq!(log[0]["outcome"]["kind"], "started", "{log}");
    assert_eq!(log[0]["outcome"]["backup_id"], id.as_str());
    // The next run is a day later (the scheduler is done with the instant), and that
    // instant had exactly one run.
    let tomorrow = (t + CDuration::days(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    poll("the next run a day later", Duration::from_secs(30), || {
        let next = server.get_json("/api/v1/settings", VIEWER)["next_runs"][0]["utc"]
            .as_str()
            .map(str::to_string);
        (next.as_deref() == Some(tomorrow.as_str())).then_some(())
    });
    assert_eq!(backups(&server).len(), 1);
    assert_eq!(
        server
            .get_json("/api/v1/schedule/log", VIEWER)
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_missed_day_is_caught_up_exactly_once() {
    // Daily at an hour ago: the first start only records a baseline.
    let hour_ago = Utc::now() - CDuration::hours(1);
    let hhmm = format!("{:02}:{:02}", hour_ago.hour(), hour_ago.minute());
    let s = scheduled(&hhmm, true);
    let mut server = s.start();
    // The scheduler recorded its baseline (the first start's watermark) before deciding.
    poll("the schedule's baseline", Duration::from_secs(20), || {
        s.state().join("schedule.json").exists().then_some(())
    });
    assert!(
        backups(&server).is_empty(),
        "no catch-up on the very first start"
    );
    let log = server.get_json("/api/v1/schedule/log", VIEWER);
    assert!(log.as_array().unwrap().is_empty(), "{log}");
    server.terminate();

    // Down for three days: one catch-up, not three.
    let three_days = (3 * 86_400).to_string();
    let mut server = s.start_env(&[("BACKUP_MASTER_CLOCK_OFFSET_SECS", &three_days)]);
    let b = poll("the catch-up backup", Duration::from_secs(20), || {
        backups(&server).into_iter().next()
    });
    assert_eq!(b["trigger"], "catch_up", "{b}");
    assert_eq!(
        wait_backup(&server, b["id"].as_str().unwrap())["status"],
        "succeeded"
    );
    // The log's entry for the instant: the catch-up started that backup.
    let bid = b["id"].as_str().unwrap().to_string();
    poll("the catch-up's log entry", Duration::from_secs(20), || {
        let log = server.get_json("/api/v1/schedule/log", VIEWER);
        log.as_array()
            .unwrap()
            .iter()
            .any(|e| e["trigger"] == "catch_up" && e["outcome"]["backup_id"] == bid.as_str())
            .then_some(())
    });
    assert_eq!(backups(&server).len(), 1, "more than one catch-up");
    server.terminate();

    // Started again at the same (shifted) time: nothing more to catch up.
    let server = s.start_env(&[("BACKUP_MASTER_CLOCK_OFFSET_SECS", &three_days)]);
    // The restarted scheduler has made its start-up decision once it shows the next runs
    // (the catch-up is decided before it starts).
    poll("the scheduler's next runs", Duration::from_secs(20), || {
        let settings = server.get_json("/api/v1/settings", VIEWER);
        (!settings["next_runs"].as_array()?.is_empty()).then_some(())
    });
    let all = backups(&server);
    assert_eq!(all.len(), 1, "caught up twice: {all:?}");
    let log = server.get_json("/api/v1/schedule/log", VIEWER);
    let catch_ups = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["trigger"] == "catch_up")
        .count();
    assert_eq!(catch_ups, 1, "{log}");
}

#[test]
fn a_scheduled_instant_during_a_backup_is_skipped_and_logged() {
    let (t, hhmm, offset) = upcoming(120, 4);
    let s = scheduled(&hhmm, false);
    let server = s.start_env(&[
        ("BACKUP_MASTER_CLOCK_OFFSET_SECS", &offset.to_string()),
        ("BACKUP_MASTER_FAULTS", "slow_copy_ms:2500"),
    ]);
    let manual = start_backup(&server);
    let entry = poll("the skipped entry", Duration::from_secs(30), || {
        let log = server.get_json("/api/v1/schedule/log", VIEWER);
        log.as_array().unwrap().first().cloned()
    });
    assert_eq!(entry["outcome"]["kind"], "skipped", "{entry}");
    assert!(
        entry["outcome"]["reason"]
            .as_str()
            .unwrap()
            .contains(&manual),
        "{entry}"
    );
    assert_eq!(
        entry["scheduled_for"].as_str().unwrap(),
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    );
    let r = server.post(
        &format!("/api/v1/backups/{manual}/cancel"),
        OPERATOR,
        &json!({}),
    );
    assert_eq!(r.status(), 202);
    wait_backup(&server, &manual);
    // The scheduler is done with the instant: its next run is a later one.
    let instant = t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    poll(
        "the next run after the skipped one",
        Duration::from_secs(30),
        || {
            let next = server.get_json("/api/v1/settings", VIEWER)["next_runs"][0]["utc"]
                .as_str()
                .map(str::to_string)?;
            (next > instant).then_some(())
        },
    );
    let all = backups(&server);
    assert_eq!(all.len(), 1, "the skipped run was queued or run: {all:?}");
    assert_eq!(all[0]["trigger"], "manual");
}

#[test]
fn a_put_reschedules_at_once_and_disabling_stops() {
    let s = scheduled("02:00", false);
    let server = s.start();
    let r = server.get("/api/v1/settings", VIEWER);
    let tag = r.headers()["etag"].to_str().unwrap().to_string();
    let before: Value = r.json().unwrap();
    assert!(before["next_runs"][0]["utc"]
        .as_str()
        .unwrap()
        .ends_with("T02:00:00Z"));

    let body = json!({
        "schedule": {"enabled": true, "daily_time": "23:59", "time_zone": "America/New_York", "catch_up": false},
        "hooks": {"on_success": "", "on_failure": "", "work_folder": "", "timeout_seconds": 60}
    });
    let r = server.put("/api/v1/settings", ADMIN, &body, Some(&tag));
    assert_eq!(r.status(), 200);
    let tag = r.headers()["etag"].to_str().unwrap().to_string();
    let after: Value = r.json().unwrap();
    let runs = after["next_runs"].as_array().unwrap();
    assert_eq!(runs.len(), 5);
    for run in runs {
        assert!(
            run["local"].as_str().unwrap().contains("T23:59:00-0"),
            "{run}"
        );
        assert_eq!(run["time_zone"], "America/New_York");
    }
    let mut off = body.clone();
    off["schedule"]["enabled"] = json!(false);
    let r = server.put("/api/v1/settings", ADMIN, &off, Some(&tag));
    assert_eq!(r.status(), 200);
    let v: Value = r.json().unwrap();
    assert!(v["next_runs"].as_array().unwrap().is_empty(), "{v}");
}
