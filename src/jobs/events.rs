//! The plain events (`toolkit::events`) of the jobs' ends: what a backup, a restore or a
//! verification tells whoever listens (the notifications) when it ends, built from its final
//! record.

use crate::engine::record::{BackupRecord, BackupStatus};
use crate::sets::{Verification, VerificationStatus};
use crate::store::restore_record::{RestoreRecord, RestoreStatus};
use crate::toolkit::events::{file_tail, last_lines, Event, EventKind, Severity, TAIL_LINES};

/// `backup_started`, when a backup's running record is on disk.
pub fn backup_started(rec: &BackupRecord) -> Event {
    let mut e = Event::new(
        EventKind::BackupStarted,
        Severity::Info,
        format!("backup {} started ({})", rec.id, trigger_name(rec)),
    );
    e.at = rec.started_at;
    e.backup_id = Some(rec.id.clone());
    e.components = rec.components.iter().map(|c| c.name.clone()).collect();
    e.link = Some(format!("/api/v1/backups/{}", rec.id));
    e
}

/// The event of a final backup record: `backup_succeeded` (info), `backup_failed` (error),
/// `backup_cancelled` (warning) or `backup_interrupted` (error); failures carry the report's
/// last lines (its errors when there is no report). `None` while it runs.
pub fn backup_ended(rec: &BackupRecord) -> Option<Event> {
    let (kind, severity, word) = match rec.status {
        BackupStatus::Running => return None,
        BackupStatus::Succeeded => (EventKind::BackupSucceeded, Severity::Info, "succeeded"),
        BackupStatus::Failed => (EventKind::BackupFailed, Severity::Error, "failed"),
        BackupStatus::Cancelled => (
            EventKind::BackupCancelled,
            Severity::Warning,
            "was cancelled",
        ),
        BackupStatus::Interrupted => (
            EventKind::BackupInterrupted,
            Severity::Error,
            "was interrupted (the master stopped while it ran)",
        ),
    };
    let errors = rec.all_errors();
    let summary = match errors.first() {
        Some(first) if severity > Severity::Info => {
            format!("backup {} {word}: {}", rec.id, one_line(first))
        }
        _ => format!("backup {} {word}", rec.id),
    };
    let mut e = Event::new(kind, severity, summary);
    if let Some(at) = rec.finished_at {
        e.at = at;
    }
    e.backup_id = Some(rec.id.clone());
    e.components = rec.components.iter().map(|c| c.name.clone()).collect();
    e.link = Some(format!("/api/v1/backups/{}", rec.id));
    if severity > Severity::Info {
        e.report_tail = file_tail(std::path::Path::new(&rec.report));
        if e.report_tail.is_empty() {
            e.report_tail = last_lines(&errors.join("\n"), TAIL_LINES);
        }
    }
    Some(e)
}

/// `restore_ended` of a final restore (not a dry run): info when it succeeded, error
/// otherwise, with its errors as the tail.
pub fn restore_ended(rec: &RestoreRecord) -> Option<Event> {
    if rec.dry_run || !rec.status.is_final() || rec.status == RestoreStatus::Planned {
        return None;
    }
    let ok = rec.status == RestoreStatus::Succeeded;
    let summary = match rec.errors.first() {
        Some(first) if !ok => format!(
            "restore {} of backup {} {}: {}",
            rec.id,
            rec.backup_id,
            rec.status.as_str(),
            one_line(first)
        ),
        _ => format!(
            "restore {} of backup {} {}",
            rec.id,
            rec.backup_id,
            rec.status.as_str()
        ),
    };
    let severity = if ok { Severity::Info } else { Severity::Error };
    let mut e = Event::new(EventKind::RestoreEnded, severity, summary);
    if let Some(at) = rec.finished_at {
        e.at = at;
    }
    e.backup_id = Some(rec.backup_id.clone());
    e.job_id = Some(rec.id.clone());
    e.components = rec.components.iter().map(|c| c.name.clone()).collect();
    e.link = Some(format!("/api/v1/restores/{}", rec.id));
    if !ok {
        e.report_tail = last_lines(&rec.errors.join("\n"), TAIL_LINES);
    }
    Some(e)
}

/// `drill_failed` of a final drill that failed (error); `None` for one that passed or runs.
pub fn drill_failed(rec: &crate::drill::DrillRecord) -> Option<Event> {
    use crate::drill::{ComponentDrillStatus, DrillStatus};
    if !matches!(rec.status, DrillStatus::Failed | DrillStatus::Interrupted) {
        return None;
    }
    let failed: Vec<&crate::drill::ComponentDrill> = rec
        .components
        .iter()
        .filter(|c| c.status == ComponentDrillStatus::Failed)
        .collect();
    let names: Vec<String> = failed.iter().map(|c| c.name.clone()).collect();
    let first = failed
        .iter()
        .flat_map(|c| c.errors.iter().map(move |e| format!("{}: {e}", c.name)))
        .chain(rec.errors.iter().cloned())
        .next();
    let summary = match first {
        Some(f) => format!(
            "drill {} of backup {} {}: {}",
            rec.id,
            rec.backup_id,
            rec.status.as_str(),
            one_line(&f)
        ),
        None => format!(
            "drill {} of backup {} {}",
            rec.id,
            rec.backup_id,
            rec.status.as_str()
        ),
    };
    let mut e = Event::new(EventKind::DrillFailed, Severity::Error, summary);
    if let Some(at) = rec.finished_at {
        e.at = at;
    }
    e.backup_id = Some(rec.backup_id.clone());
    e.job_id = Some(rec.id.clone());
    e.components = names;
    e.link = Some(format!("/api/v1/drills/{}", rec.id));
    let mut lines: Vec<String> = Vec::new();
    for c in &failed {
        lines.extend(c.errors.iter().map(|x| format!("{}: {x}", c.name)));
        lines.extend(
            c.mismatched
                .iter()
                .map(|p| format!("{}: mismatch {p}", c.name)),
        );
        lines.extend(c.missing.iter().map(|p| format!("{}: missing {p}", c.name)));
    }
    lines.extend(rec.errors.iter().cloned());
    e.report_tail = last_lines(&lines.join("\n"), TAIL_LINES);
    Some(e)
}

/// `verification_failed` of a final verification that failed; `None` for one that passed.
pub fn verification_failed(rec: &Verification) -> Option<Event> {
    if rec.status != VerificationStatus::Failed {
        return None;
    }
    let bad: Vec<&crate::store::wire::FolderVerification> =
        rec.folders.iter().filter(|f| !f.ok).collect();
    let mut lines = Vec::new();
    for f in &bad {
        for (what, list) in [
            ("changed", &f.changed),
            ("missing", &f.missing),
            ("unlisted", &f.unlisted),
            ("unreadable", &f.unreadable),
        ] {
            for p in list {
                lines.push(format!("{}: {what}: {p}", f.component));
            }
        }
        if let Some(err) = &f.error {
            lines.push(format!("{}: {}", f.component, one_line(err)));
        }
    }
    if let Some(err) = &rec.error {
        lines.push(one_line(err));
    }
    let components: Vec<String> = bad.iter().map(|f| f.component.clone()).collect();
    let mut e = Event::new(
        EventKind::VerificationFailed,
        Severity::Error,
        format!(
            "verification {} of backup set {} failed: {}",
            rec.id,
            rec.set_id,
            if components.is_empty() {
                "see the record".to_string()
            } else {
                format!("{} do not match their SHA256SUMS", components.join(", "))
            }
        ),
    );
    if let Some(at) = rec.finished_at {
        e.at = at;
    }
    e.backup_id = Some(rec.set_id.clone());
    e.job_id = Some(rec.id.clone());
    e.components = components;
    e.link = Some(format!(
        "/api/v1/backup-sets/{}/verifications/{}",
        rec.set_id, rec.id
    ));
    e.report_tail = last_lines(&lines.join("\n"), TAIL_LINES);
    Some(e)
}

/// `manual`, `schedule` or `catch_up`, as in the record's JSON.
fn trigger_name(rec: &BackupRecord) -> String {
    serde_json::to_value(rec.trigger)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The first line of a message, for a one-line summary.
fn one_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().trim().to_string()
}
