//! The backup report `<state_dir>/logs/backupReport_<ID>.txt` (README, *Files on disk*; Maestro admin manual, 11.7): a
//! header, one section per component, then either every error or, for a successful backup,
//! exactly these two last lines:
//!
//! ```text
//! The backup was completed successfully
//! Final completion date: 2026-11-26T02:00:04Z
//! ```
//!
//! Written atomically, so a reader never sees half a report.

use std::path::{Path, PathBuf};

use super::fsutil::{self, IoError};
use super::readme::fmt_time;
use super::record::{BackupRecord, BackupStatus};
use super::single_line;

/// The sentence only a successful backup's report holds.
pub const SUCCESS_LINE: &str = "The backup was completed successfully";

/// `<state_dir>/logs/backupReport_<ID>.txt`.
pub fn report_path(state_dir: &Path, id: &str) -> PathBuf {
    state_dir
        .join("logs")
        .join(format!("backupReport_{id}.txt"))
}

fn fmt_duration_ms(ms: u64) -> String {
    format!("{}.{:03} s", ms / 1000, ms % 1000)
}

fn line(s: &mut String, text: String) {
    s.push_str(&text);
    s.push('\n');
}

/// The report text for a finished backup.
pub fn render(rec: &BackupRecord) -> String {
    let mut s = String::new();
    line(&mut s, "Backup report".into());
    line(&mut s, format!("Backup ID: {}", rec.id));
    line(
        &mut s,
        format!(
            "Trigger: {}",
            serde_json::to_value(rec.trigger)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        ),
    );
    if let Some(t) = rec.scheduled_for {
        line(&mut s, format!("Scheduled for: {}", fmt_time(t)));
    }
    line(&mut s, format!("Started: {}", fmt_time(rec.started_at)));
    if let Some(t) = rec.finished_at {
        line(&mut s, format!("Finished: {}", fmt_time(t)));
    }
    line(&mut s, format!("Status: {}", rec.status.as_str()));
    for c in &rec.components {
        line(&mut s, String::new());
        line(&mut s, format!("Component: {}", c.name));
        line(&mut s, format!("  Folder: {}", c.folder));
        line(
            &mut s,
            format!(
                "  Status: {}",
                serde_json::to_value(c.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            ),
        );
        line(&mut s, format!("  Files: {}", c.files));
        line(&mut s, format!("  Files copied: {}", c.files_copied));
        line(&mut s, format!("  Files linked: {}", c.files_linked));
        line(&mut s, format!("  Files cloned: {}", c.files_cloned));
        line(&mut s, format!("  Bytes copied: {}", c.bytes_copied));
        line(&mut s, format!("  Bytes linked: {}", c.bytes_linked));
        line(&mut s, format!("  Bytes cloned: {}", c.bytes_cloned));
        if let Some(ms) = c.duration_ms {
            line(&mut s, format!("  Duration: {}", fmt_duration_ms(ms)));
        }
        if c.changed_during_backup_count > 0 {
            line(
                &mut s,
                format!(
                    "  Changed during backup: {} file(s), the copy may be torn",
                    c.changed_during_backup_count
                ),
            );
            for path in &c.changed_during_backup {
                line(&mut s, format!("  Changed: {}", single_line(path)));
            }
        }
        if let Some(f) = &c.freeze {
            freeze_lines(&mut s, f);
        }
        if c.errors.is_empty() {
            line(&mut s, "  Errors: none".into());
        } else {
            for e in &c.errors {
                line(&mut s, format!("  Error: {}", single_line(e)));
            }
        }
    }
    if !rec.notes.is_empty() {
        line(&mut s, String::new());
        for n in &rec.notes {
            line(&mut s, format!("Note: {}", single_line(n)));
        }
    }
    line(&mut s, String::new());
    if rec.status == BackupStatus::Succeeded {
        line(&mut s, SUCCESS_LINE.into());
        let done = rec.finished_at.unwrap_or(rec.started_at);
        line(&mut s, format!("Final completion date: {}", fmt_time(done)));
    } else {
        line(
            &mut s,
            format!("The backup did not complete: {}", rec.status.as_str()),
        );
        let errors = rec.all_errors();
        if errors.is_empty() {
            line(&mut s, "Error: (no error was recorded)".into());
        }
        for e in errors {
            line(&mut s, format!("Error: {}", single_line(&e)));
        }
    }
    s
}

/// Writes the report of `rec` atomically.
pub fn write(state_dir: &Path, rec: &BackupRecord) -> Result<PathBuf, IoError> {
    let path = report_path(state_dir, &rec.id);
    fsutil::write_atomic(&path, render(rec).as_bytes())?;
    Ok(path)
}

/// The point-in-time lines of one component: read point, freeze window, each command's end.
fn freeze_lines(s: &mut String, f: &crate::engine::consistency::FreezeRecord) {
    use crate::engine::consistency::SnapshotMode;
    let read = match (&f.snapshot, f.snapshot_mode) {
        (Some(p), _) => format!("snapshot ({}) {}", f.snapshot_mode.as_str(), single_line(p)),
        (None, SnapshotMode::None) => "the live home".to_string(),
        (None, m) => format!("no snapshot ({} failed)", m.as_str()),
    };
    line(s, format!("  Read point: {read}"));
    if let Some(t) = f.read_point_at {
        line(
            s,
            format!("  Read point taken: {}", crate::engine::readme::fmt_time(t)),
        );
    }
    if let Some(w) = f.freeze_seconds {
        let how = if f.frozen_during_copy {
            "frozen during the whole copy (no snapshot)"
        } else {
            "frozen until the read point was taken"
        };
        line(s, format!("  Freeze window: {w:.3} s, {how}"));
    }
    for (what, o) in [
        ("Freeze command", &f.freeze_command),
        ("Snapshot command", &f.snapshot_command),
        ("Snapshot release", &f.release_command),
        ("Thaw command", &f.thaw_command),
    ] {
        if let Some(o) = o {
            line(s, format!("  {what}: {}", o.describe()));
        }
    }
    if f.frozen {
        line(s, "  Still frozen: the thaw did not succeed".into());
    }
    for e in &f.errors {
        line(s, format!("  Freeze error: {}", single_line(e)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::record::{ComponentProgress, ComponentStatus, Trigger};
    use chrono::{DateTime, Utc};

    fn rec(status: BackupStatus) -> BackupRecord {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        BackupRecord {
            id: "20261126T020000Z".into(),
            status,
            trigger: Trigger::Schedule,
            scheduled_for: Some(t("2026-11-26T02:00:00Z")),
            started_at: t("2026-11-26T02:00:00Z"),
            finished_at: Some(t("2026-11-26T02:00:04Z")),
            components: vec![ComponentProgress {
                name: "hub".into(),
                status: ComponentStatus::Committed,
                folder: "/srv/hub/backup".into(),
                keep: 3,
                files: 3,
                files_copied: 1,
                files_linked: 2,
                files_cloned: 0,
                bytes_copied: 10,
                bytes_linked: 20,
                bytes_cloned: 0,
                started_at: None,
                finished_at: None,
                duration_ms: Some(1234),
                errors: if status == BackupStatus::Succeeded {
                    vec![]
                } else {
                    vec!["disk\nfull".into()]
                },
                changed_during_backup: vec![],
                changed_during_backup_count: 0,
                freeze: None,
                agent: None,
            }],
            errors: if status == BackupStatus::Succeeded {
                vec![]
            } else {
                vec!["aborted".into()]
            },
            notes: vec![],
            commit_decided: false,
            report: String::new(),
            kept_stagings: vec![],
            hook_pending: false,
            heuristic: vec![],
        }
    }

    #[test]
    fn success_ends_with_the_two_lines() {
        let r = render(&rec(BackupStatus::Succeeded));
        let lines: Vec<&str> = r.lines().collect();
        assert_eq!(lines[lines.len() - 2], SUCCESS_LINE);
        assert_eq!(
            lines[lines.len() - 1],
            "Final completion date: 2026-11-26T02:00:04Z"
        );
        assert!(r.contains("  Files linked: 2\n") && r.contains("  Duration: 1.234 s\n"));
    }

    #[test]
    fn failure_lists_errors_and_never_the_sentence() {
        let r = render(&rec(BackupStatus::Failed));
        assert!(!r.contains(SUCCESS_LINE));
        assert!(r.contains("Error: aborted\n"));
        assert!(r.contains("Error: hub: disk full\n"));
    }
}
