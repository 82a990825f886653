//! Torn files: a file a real writer process appends to during a live backup is copied again,
//! then named as changed during the backup (record, readme, report, metrics); with
//! `on_change = "fail"` the backup fails and no slot of any component changes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use common::*;
use serde_json::json;

/// The file the writer appends to, relative to lui's home (inside its `luidata/` item).
const APPENDED: &str = "luidata/db/journal.log";

/// A writer process appending lines to a file as fast as it can, until dropped.
struct Writer(Child);

impl Writer {
    /// Starts appending to `file` and returns once the file has visibly grown.
    fn start(file: &Path) -> Writer {
        let before = std::fs::metadata(file).unwrap().len();
        let child = Command::new("sh")
            .arg("-c")
            .arg("while :; do echo 'a line appended while the backup runs' >> \"$1\"; done")
            .arg("writer")
            .arg(file)
            .spawn()
            .unwrap();
        let w = Writer(child);
        poll("the writer to append", Duration::from_secs(10), || {
            (std::fs::metadata(file).unwrap().len() > before).then_some(())
        });
        w
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A setup whose lui home holds a large file that is appended to (each copy of it takes a
/// while, so every copy overlaps appends) and another large file left alone.
fn setup() -> (Setup, PathBuf) {
    let s = Setup::new(3);
    let lui = s.home("lui");
    let block: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    let big = block.repeat(24);
    write(&lui.join(APPENDED), &big);
    write(&lui.join("luidata/db/still.ibd"), &big);
    (s, lui)
}

fn metric(text: &str, line_start: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(line_start))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {line_start} in {text}"))
}

#[test]
fn a_file_appended_to_during_a_live_backup_is_named_as_changed() {
    let (s, lui) = setup();
    let server = s.start();
    let writer = Writer::start(&lui.join(APPENDED));
    let rec = run_backup(&server);
    drop(writer);

    // on_change = "warn" (the default): the backup succeeds and names the file.
    assert_eq!(rec["status"], "succeeded", "{rec}");
    let c = component(&rec, "lui");
    assert_eq!(c["changed_during_backup"], json!([APPENDED]), "{c}");
    assert_eq!(c["changed_during_backup_count"], 1, "{c}");
    // Files nobody wrote are not named, in lui or elsewhere.
    for name in ["hub", "trk"] {
        let other = component(&rec, name);
        assert!(other.get("changed_during_backup").is_none(), "{other}");
    }

    // The readme's Result line counts it and a line names it; the slot still verifies (the
    // sums are of what the copy holds).
    let slot = lui.join("backup");
    let text = std::fs::read_to_string(slot.join("readme.txt")).unwrap();
    assert!(
        text.contains("Result: success (1 file changed during the backup)\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!("Changed during backup: {APPENDED}\n")),
        "{text}"
    );
    assert!(sha256sum_ok(&slot));
    let hub_text = std::fs::read_to_string(s.home("hub").join("backup/readme.txt")).unwrap();
    assert!(hub_text.contains("Result: success\n"), "{hub_text}");

    // The report names it in lui's section and still ends as a success.
    let id = rec["id"].as_str().unwrap();
    let report = server
        .get(&format!("/api/v1/backups/{id}/report"), VIEWER)
        .text()
        .unwrap();
    assert!(
        report.contains("  Changed during backup: 1 file(s)"),
        "{report}"
    );
    assert!(
        report.contains(&format!("  Changed: {APPENDED}\n")),
        "{report}"
    );
    assert!(
        report.contains("The backup was completed successfully"),
        "{report}"
    );

    // The metric counts it for lui, and nothing for hub.
    let m = server.get("/metrics", VIEWER).text().unwrap();
    let changed = "backup_master_files_changed_during_backup_total";
    assert_eq!(metric(&m, &format!("{changed}{{component=\"lui\"}}")), 1.0);
    assert_eq!(metric(&m, &format!("{changed}{{component=\"hub\"}}")), 0.0);

    // Without a writer the next backup names nothing.
    let rec = run_backup(&server);
    assert_eq!(rec["status"], "succeeded", "{rec}");
    assert!(
        component(&rec, "lui")
            .get("changed_during_backup")
            .is_none(),
        "{rec}"
    );
    let text = std::fs::read_to_string(slot.join("readme.txt")).unwrap();
    assert!(text.contains("Result: success\n"), "{text}");
}

#[test]
fn with_on_change_fail_a_changing_file_fails_the_backup_and_no_slot_changes() {
    let (s, lui) = setup();
    let server = s.start();
    let first = run_backup(&server);
    assert_eq!(first["status"], "succeeded", "{first}");

    // on_change = "fail" for lui, through the API.
    let tag = server
        .get("/api/v1/components/lui", VIEWER)
        .headers()
        .get("etag")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let r = server.put(
        "/api/v1/components/lui",
        ADMIN,
        &json!({"backup_folder": "backup", "keep": 3, "on_change": "fail"}),
        Some(&tag),
    );
    assert_eq!(r.status(), 200);

    let homes: Vec<PathBuf> = ["hub", "lui", "trk"].iter().map(|n| s.home(n)).collect();
    let before: Vec<(Vec<String>, String)> = homes
        .iter()
        .map(|h| (slots(h), readme_id(&h.join("backup"))))
        .collect();

    let writer = Writer::start(&lui.join(APPENDED));
    let rec = run_backup(&server);
    drop(writer);

    assert_eq!(rec["status"], "failed", "{rec}");
    let c = component(&rec, "lui");
    assert_eq!(c["status"], "failed", "{c}");
    assert_eq!(c["changed_during_backup"], json!([APPENDED]), "{c}");
    let errors = c["errors"].to_string();
    assert!(
        errors.contains(APPENDED) && errors.contains("on_change"),
        "{errors}"
    );
    // Nothing rotated anywhere, and no staging folder is left.
    let after: Vec<(Vec<String>, String)> = homes
        .iter()
        .map(|h| (slots(h), readme_id(&h.join("backup"))))
        .collect();
    assert_eq!(before, after);
    for h in &homes {
        assert!(stagings(h).is_empty(), "{}", h.display());
    }
    let id = rec["id"].as_str().unwrap();
    let report = server
        .get(&format!("/api/v1/backups/{id}/report"), VIEWER)
        .text()
        .unwrap();
    assert!(
        report.contains(&format!("  Changed: {APPENDED}\n")),
        "{report}"
    );
    assert!(
        !report.contains("The backup was completed successfully"),
        "{report}"
    );

    // Once the file is left alone the same settings back up fine.
    let rec = run_backup(&server);
    assert_eq!(rec["status"], "succeeded", "{rec}");
    assert_eq!(slots(&lui), ["backup", "backup1"]);
}
