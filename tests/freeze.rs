//! One shared point in time (real server, real processes): freeze commands pause a writer that
//! keeps hub and lui in step, so every backup holds equal counters in both (and without the
//! freeze they drift apart); a failing or hanging freeze fails the backup, changes no slot and
//! thaws every component that was frozen; a master killed while components are frozen thaws
//! them at its next start; a snapshot command's view is the read point and is released.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use serde_json::Value;

/// The pair of files the writer keeps equal, relative to hub's and lui's homes (both inside
/// their components' items).
const HUB_COUNTER: &str = "hubreg/counter.reg";
const LUI_COUNTER: &str = "registry/counter.reg";

/// The writer keeping hub's and lui's counters in step.
fn writer(s: &Setup, flags: &Path) -> FlagWriter {
    FlagWriter::start(
        flags,
        &[
            s.home("hub").join(HUB_COUNTER),
            s.home("lui").join(LUI_COUNTER),
        ],
    )
}

/// Adds TOML lines to component `name`'s table of the setup's config.
fn configure(s: &Setup, name: &str, lines: &str) {
    let text = std::fs::read_to_string(&s.config).unwrap();
    let anchor = format!("home = \"homes/{name}\"\n");
    assert!(text.contains(&anchor), "{text}");
    let text = text.replacen(&anchor, &format!("{anchor}{lines}\n"), 1);
    std::fs::write(&s.config, text).unwrap();
}

/// A TOML basic string holding `s`.
fn toml_str(s: &str) -> String {
    format!("{:?}", s)
}

fn counter(p: &Path) -> u64 {
    read_counter(p)
}

#[test]
fn with_freeze_every_backup_holds_one_point_in_time_across_components() {
    let s = Setup::new(1);
    let flags = s.path().join("flags");
    std::fs::create_dir_all(&flags).unwrap();
    let (freeze, thaw) = flag_commands(&flags);
    configure(
        &s,
        "hub",
        &format!(
            "freeze_command = {}\nthaw_command = {}\nfreeze_timeout_seconds = 10",
            toml_str(&freeze),
            toml_str(&thaw)
        ),
    );
    // lui is frozen too (after hub, in config order) and thawed with it.
    let lui_marks = s.path().join("lui-marks");
    configure(
        &s,
        "lui",
        &format!(
            "freeze_command = {}\nthaw_command = {}",
            toml_str(&format!(
                "sh -c 'echo freeze $BACKUP_ID $COMPONENT >> {}'",
                lui_marks.display()
            )),
            toml_str(&format!(
                "sh -c 'echo thaw $BACKUP_ID $COMPONENT >> {}'",
                lui_marks.display()
            )),
        ),
    );
    let server = s.start();
    let _writer = writer(&s, &flags);
    for round in 0..20 {
        let rec = run_backup(&server);
        assert_eq!(rec["status"], "succeeded", "round {round}: {rec}");
        let id = rec["id"].as_str().unwrap();
        let hub = counter(&s.home("hub").join("backup").join(HUB_COUNTER));
        let lui = counter(&s.home("lui").join("backup").join(LUI_COUNTER));
        assert_eq!(hub, lui, "round {round}: the set mixes two points in time");
        assert!(hub > 0, "round {round}");
        for name in ["hub", "lui"] {
            let c = component(&rec, name);
            assert_eq!(c["changed_during_backup_count"], Value::Null, "{c}");
            let f = &c["freeze"];
            assert_eq!(f["frozen"], false, "{f}");
            assert_eq!(f["frozen_during_copy"], true, "{f}");
            assert_eq!(f["snapshot_mode"], "none", "{f}");
            assert_eq!(f["freeze_command"]["exit_code"], 0, "{f}");
            assert_eq!(f["thaw_command"]["exit_code"], 0, "{f}");
            let window = f["freeze_seconds"].as_f64().unwrap();
            assert!(window > 0.0 && window < 60.0, "{f}");
            for key in ["freeze_started_at", "read_point_at", "thawed_at"] {
                assert!(f[key].is_string(), "{key}: {f}");
            }
        }
        assert!(component(&rec, "trk").get("freeze").is_none());
        // The commands got the backup's ID and their component.
        let marks = std::fs::read_to_string(&lui_marks).unwrap();
        assert!(marks.contains(&format!("freeze {id} lui\n")), "{marks}");
        assert!(marks.ends_with(&format!("thaw {id} lui\n")), "{marks}");
    }
    // Thawed: the writer goes on counting.
    assert!(!flags.join("freeze").exists());
    let before = counter(&s.home("lui").join(LUI_COUNTER));
    poll("the writer to go on", Duration::from_secs(10), || {
        (counter(&s.home("lui").join(LUI_COUNTER)) != before).then_some(())
    });
    let report = std::fs::read_to_string(s.state().join("logs").join(format!(
        "backupReport_{}.txt",
        readme_id(&s.home("hub").join("backup"))
    )))
    .unwrap();
    assert!(report.contains("frozen"), "{report}");
    let metrics = server.get("/metrics", VIEWER).text().unwrap();
    assert!(
        metrics.contains("backup_master_freeze_seconds{component=\"hub\"}"),
        "{metrics}"
    );
}

/// The failure mode is real: without the freeze, the same writer makes at least one of 20
/// backups hold different counters in hub and lui (or name the files as changed).
#[test]
fn without_freeze_the_components_drift_apart() {
    let s = Setup::new(1);
    let flags = s.path().join("flags");
    std::fs::create_dir_all(&flags).unwrap();
    let server = s.start();
    let _writer = writer(&s, &flags);
    let mut inconsistent = 0;
    for _ in 0..20 {
        let rec = run_backup(&server);
        assert_eq!(rec["status"], "succeeded", "{rec}");
        let hub = counter(&s.home("hub").join("backup").join(HUB_COUNTER));
        let lui = counter(&s.home("lui").join("backup").join(LUI_COUNTER));
        let changed = ["hub", "lui"]
            .iter()
            .any(|n| component(&rec, n)["changed_during_backup_count"].as_u64() > Some(0));
        if hub != lui || changed {
            inconsistent += 1;
        }
    }
    assert!(inconsistent > 0, "20 live backups all looked consistent");
}

/// Freeze commands that mark what they did in `marks` (one line per call).
fn marking(s: &Setup, name: &str, marks: &Path, freeze: &str, timeout: u64) {
    let thaw = format!("sh -c 'echo thaw $COMPONENT >> {}'", marks.display());
    configure(
        s,
        name,
        &format!(
            "freeze_command = {}\nthaw_command = {}\nfreeze_timeout_seconds = {timeout}",
            toml_str(freeze),
            toml_str(&thaw)
        ),
    );
}

/// A home's listing without the `<NAME>.failed` record of a failed attempt (the one thing a
/// failed backup leaves, by design).
fn without_failed(
    mut m: std::collections::BTreeMap<String, String>,
) -> std::collections::BTreeMap<String, String> {
    m.retain(|k, _| !k.starts_with("backup.failed"));
    m
}

fn failed_freeze_case(trk_freeze: &str, timeout: u64, want_error: &str) {
    let s = Setup::new(1);
    let marks = s.path().join("marks");
    let ok = format!("sh -c 'echo freeze $COMPONENT >> {}'", marks.display());
    marking(&s, "hub", &marks, &ok, 10);
    marking(&s, "lui", &marks, &ok, 10);
    marking(&s, "trk", &marks, trk_freeze, timeout);
    let server = s.start();
    let homes = ["hub", "lui", "trk"].map(|n| s.home(n));
    let before: Vec<_> = homes.iter().map(|h| snapshot(h)).collect();
    let t0 = std::time::Instant::now();
    let rec = run_backup(&server);
    assert_eq!(rec["status"], "failed", "{rec}");
    assert!(t0.elapsed() < Duration::from_secs(20), "{:?}", t0.elapsed());
    let errors = rec["errors"].to_string();
    assert!(
        errors.contains("freeze of component trk failed"),
        "{errors}"
    );
    assert!(errors.contains(want_error), "{errors}");
    // Nothing rotated, no staging folder, every home as before.
    for (h, b) in homes.iter().zip(&before) {
        assert_eq!(&without_failed(snapshot(h)), b, "{}", h.display());
        assert!(stagings(h).is_empty());
        assert!(slots(h).is_empty(), "{}", h.display());
    }
    // Every component that was frozen is thawed, the failing one too; in config order.
    let got = lines(&marks);
    assert_eq!(
        got,
        [
            "freeze hub",
            "freeze lui",
            "thaw hub",
            "thaw lui",
            "thaw trk"
        ],
        "{got:?}"
    );
    for n in ["hub", "lui", "trk"] {
        let f = &component(&rec, n)["freeze"];
        assert_eq!(f["frozen"], false, "{f}");
    }
}

#[test]
fn a_failing_freeze_fails_the_backup_and_thaws_every_frozen_component() {
    failed_freeze_case("sh -c 'echo cannot freeze >&2; exit 3'", 10, "exited 3");
}

#[test]
fn a_hanging_freeze_is_killed_at_its_timeout_and_everything_is_thawed() {
    failed_freeze_case("sleep 30", 1, "timed out");
}

#[test]
fn a_master_killed_while_components_are_frozen_thaws_them_at_its_next_start() {
    let s = Setup::new(1);
    let marks = s.path().join("marks");
    let ok = format!("sh -c 'echo freeze $COMPONENT >> {}'", marks.display());
    marking(&s, "hub", &marks, &ok, 10);
    // trk's freeze hangs long enough to kill the master while hub and lui are frozen.
    marking(&s, "lui", &marks, &ok, 10);
    marking(&s, "trk", &marks, "sleep 60", 120);
    let mut server = s.start();
    let id = start_backup(&server);
    poll("hub and lui to be frozen", Duration::from_secs(20), || {
        (lines(&marks).len() == 2).then_some(())
    });
    let rec = server.get_json(&format!("/api/v1/backups/{id}"), VIEWER);
    assert_eq!(component(&rec, "hub")["freeze"]["frozen"], true, "{rec}");
    server.kill9();
    assert_eq!(lines(&marks), ["freeze hub", "freeze lui"]);
    let server = s.start();
    let rec = wait_backup(&server, &id);
    assert_eq!(rec["status"], "interrupted", "{rec}");
    let got = lines(&marks);
    assert_eq!(
        got,
        [
            "freeze hub",
            "freeze lui",
            "thaw hub",
            "thaw lui",
            "thaw trk"
        ],
        "{got:?}"
    );
    let notes = rec["notes"].to_string();
    assert!(
        notes.contains("hub: frozen when the master stopped; thawed at start-up"),
        "{notes}"
    );
    for n in ["hub", "lui", "trk"] {
        assert_eq!(component(&rec, n)["freeze"]["frozen"], false, "{rec}");
    }
    // A later start thaws nothing again.
    drop(server);
    let _server = s.start();
    assert_eq!(lines(&marks).len(), 5);
}

/// The snapshot command's printed view is what the backup reads (a marker only the view holds
/// is in the backup, a file only the live home holds is not), and the release command removes
/// it with the path in `SNAPSHOT_PATH`.
#[test]
fn a_snapshot_command_view_is_the_read_point_and_is_released() {
    let s = Setup::new(1);
    let views = s.path().join("views");
    std::fs::create_dir_all(&views).unwrap();
    let snap = format!(
        "sh -c 'v={}/$BACKUP_ID; cp -a \"$COMPONENT_HOME\" \"$v\" && echo view > \"$v/hub.ini\" && echo \"$v\"'",
        views.display()
    );
    let release = "sh -c 'rm -rf \"$SNAPSHOT_PATH\"'";
    configure(
        &s,
        "hub",
        &format!(
            "snapshot = \"command\"\nsnapshot_command = {}\nsnapshot_release_command = {}",
            toml_str(&snap),
            toml_str(release)
        ),
    );
    let server = s.start();
    let rec = run_backup(&server);
    assert_eq!(rec["status"], "succeeded", "{rec}");
    let id = rec["id"].as_str().unwrap();
    let slot = s.home("hub").join("backup");
    assert_eq!(
        std::fs::read_to_string(slot.join("hub.ini")).unwrap(),
        "view\n"
    );
    assert!(sha256sum_ok(&slot));
    let f = &component(&rec, "hub")["freeze"];
    assert_eq!(f["snapshot_mode"], "command", "{f}");
    assert_eq!(f["snapshot"], views.join(id).display().to_string(), "{f}");
    assert_eq!(f["snapshot_held"], false, "{f}");
    assert_eq!(f["release_command"]["exit_code"], 0, "{f}");
    assert!(!views.join(id).exists(), "the view was not released");
    // The live home is unchanged.
    assert_eq!(
        std::fs::read_to_string(s.home("hub").join("hub.ini")).unwrap(),
        "[Hub]\nPort=8080\n"
    );
}

/// A snapshot command that prints nothing usable fails the backup naming the component, and
/// changes no slot.
#[test]
fn a_snapshot_command_printing_no_sensible_path_fails_the_backup() {
    for printed in ["", "relative/path", "/", "/nonexistent/view"] {
        let s = Setup::new(1);
        configure(
            &s,
            "lui",
            &format!(
                "snapshot = \"command\"\nsnapshot_command = {}\nsnapshot_release_command = \"true\"",
                toml_str(&format!("echo '{printed}'"))
            ),
        );
        let server = s.start();
        let before = snapshot(&s.home("lui"));
        let rec = run_backup(&server);
        assert_eq!(rec["status"], "failed", "{printed:?}: {rec}");
        let errors = rec["errors"].to_string();
        assert!(
            errors.contains("read point of component lui could not be taken"),
            "{printed:?}: {errors}"
        );
        assert_eq!(without_failed(snapshot(&s.home("lui"))), before);
        assert!(slots(&s.home("hub")).is_empty(), "{printed:?}");
    }
}

/// A backup cancelled while its live-read components are frozen (during the copy) thaws them.
#[test]
fn a_cancelled_backup_thaws_what_it_froze() {
    let s = Setup::new(1);
    let marks = s.path().join("marks");
    let ok = format!("sh -c 'echo freeze $COMPONENT >> {}'", marks.display());
    marking(&s, "hub", &marks, &ok, 10);
    let server = s.start_env(&[("BACKUP_MASTER_FAULTS", "slow_copy_ms:200")]);
    let id = start_backup(&server);
    poll("hub to be frozen", Duration::from_secs(20), || {
        (lines(&marks) == ["freeze hub"]).then_some(())
    });
    let r = server.post(
        &format!("/api/v1/backups/{id}/cancel"),
        OPERATOR,
        &serde_json::json!({}),
    );
    assert_eq!(r.status(), 202);
    let rec = wait_backup(&server, &id);
    assert_eq!(rec["status"], "cancelled", "{rec}");
    assert_eq!(lines(&marks), ["freeze hub", "thaw hub"]);
    assert_eq!(component(&rec, "hub")["freeze"]["frozen"], false, "{rec}");
    assert!(slots(&s.home("hub")).is_empty());
}

/// A thaw command that keeps failing is tried 3 times, then reported (notes, the component's
/// record still `frozen`, the report); the backup itself succeeds: its data is consistent.
#[test]
fn a_failing_thaw_is_retried_and_reported() {
    let s = Setup::new(1);
    let marks = s.path().join("marks");
    let thaw = format!(
        "sh -c 'echo thaw $COMPONENT >> {}; exit 1'",
        marks.display()
    );
    configure(
        &s,
        "lui",
        &format!(
            "freeze_command = \"true\"\nthaw_command = {}",
            toml_str(&thaw)
        ),
    );
    let server = s.start();
    let rec = run_backup(&server);
    assert_eq!(rec["status"], "succeeded", "{rec}");
    let f = &component(&rec, "lui")["freeze"];
    assert_eq!(f["thaw_attempts"], 3, "{f}");
    assert_eq!(f["frozen"], true, "{f}");
    assert_eq!(f["thaw_command"]["exit_code"], 1, "{f}");
    assert!(
        rec["notes"]
            .to_string()
            .contains("lui: the thaw failed 3 times"),
        "{rec}"
    );
    assert_eq!(lines(&marks).len(), 3);
    let report = std::fs::read_to_string(
        s.state()
            .join("logs")
            .join(format!("backupReport_{}.txt", rec["id"].as_str().unwrap())),
    )
    .unwrap();
    assert!(
        report.contains("Still frozen: the thaw did not succeed"),
        "{report}"
    );
    drop(server);
}
