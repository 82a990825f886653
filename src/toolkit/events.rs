//! Plain events of what happened (a backup ended, a hook failed, the schedule is overdue, an
//! agent stopped answering) and [`EventSink`], the one channel every layer emits them into
//! without knowing who listens: `app` connects it to the notifications (`crate::notify`).

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How bad an event is, mildest first (matchers compare them: `min_severity`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Info, Severity::Warning, Severity::Error];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// What happened. The snake_case names are what matchers list (`events = [...]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A backup started (info; ping targets send `/start` for it).
    BackupStarted,
    /// A backup ended `succeeded` (info).
    BackupSucceeded,
    /// A backup ended `failed` (error).
    BackupFailed,
    /// A backup was cancelled (warning).
    BackupCancelled,
    /// A backup was interrupted: the master died while it ran (error).
    BackupInterrupted,
    /// A restore ended: info when it succeeded, error otherwise.
    RestoreEnded,
    /// A verification found a folder that does not match its `SHA256SUMS` (error).
    VerificationFailed,
    /// A hook process exited with a non-zero code, was ended by a signal, timed out, or could
    /// not be started (warning).
    HookFailed,
    /// A remote component's agent stopped answering (error; once per outage).
    AgentUnreachable,
    /// An agent that was unreachable answers again (info).
    AgentReachable,
    /// No successful backup within `overdue_after_hours` of the previous one, or a scheduled
    /// run was missed or skipped (error; warning for a missed or skipped run).
    Overdue,
    /// A test send (`POST /notification-targets/{name}/test`); never matched, only sent.
    Test,
    /// A restore drill failed or was interrupted (error).
    DrillFailed,
}

impl EventKind {
    pub const ALL: [EventKind; 13] = [
        EventKind::BackupStarted,
        EventKind::BackupSucceeded,
        EventKind::BackupFailed,
        EventKind::BackupCancelled,
        EventKind::BackupInterrupted,
        EventKind::RestoreEnded,
        EventKind::VerificationFailed,
        EventKind::HookFailed,
        EventKind::AgentUnreachable,
        EventKind::AgentReachable,
        EventKind::Overdue,
        EventKind::Test,
        EventKind::DrillFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::BackupStarted => "backup_started",
            EventKind::BackupSucceeded => "backup_succeeded",
            EventKind::BackupFailed => "backup_failed",
            EventKind::BackupCancelled => "backup_cancelled",
            EventKind::BackupInterrupted => "backup_interrupted",
            EventKind::RestoreEnded => "restore_ended",
            EventKind::VerificationFailed => "verification_failed",
            EventKind::HookFailed => "hook_failed",
            EventKind::AgentUnreachable => "agent_unreachable",
            EventKind::AgentReachable => "agent_reachable",
            EventKind::Overdue => "overdue",
            EventKind::Test => "test",
            EventKind::DrillFailed => "drill_failed",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// At most this many last lines of a report (or a hook's output) travel with a failure.
pub const TAIL_LINES: usize = 20;

/// One event, as every notification carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    #[schema(example = "backup_failed")]
    pub event: EventKind,
    pub severity: Severity,
    /// When it happened (RFC 3339, UTC).
    #[schema(example = "2026-11-26T02:00:04Z")]
    pub at: DateTime<Utc>,
    /// The backup it is about (also the set a verification checked, the backup a hook ran
    /// after, the backup a restore restored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "20261126T020000Z")]
    pub backup_id: Option<String>,
    /// The restore, verification or hook process it is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// The components concerned (empty when it concerns none in particular).
    #[serde(default)]
    #[schema(example = json!(["hub", "lui", "trk"]))]
    pub components: Vec<String>,
    /// One line.
    #[schema(example = "backup 20261126T020000Z failed: lui: cannot read accountreg/x.reg")]
    pub summary: String,
    /// The API path of the record this event is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "/api/v1/backups/20261126T020000Z")]
    pub link: Option<String>,
    /// For failures: the last lines of the report (or of the hook's output), at most 20.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub report_tail: Vec<String>,
}

impl Event {
    /// An event of `kind` now, with nothing but its severity and summary.
    pub fn new(kind: EventKind, severity: Severity, summary: impl Into<String>) -> Event {
        Event {
            event: kind,
            severity,
            at: Utc::now().trunc_subsecs(0),
            backup_id: None,
            job_id: None,
            components: Vec::new(),
            summary: summary.into(),
            link: None,
            report_tail: Vec::new(),
        }
    }
}

/// The last `n` non-empty lines of `text`, oldest first.
pub fn last_lines(text: &str, n: usize) -> Vec<String> {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

/// The last [`TAIL_LINES`] lines of the file at `path`; empty when it cannot be read.
pub fn file_tail(path: &std::path::Path) -> Vec<String> {
    match std::fs::read(path) {
        Ok(bytes) => last_lines(&String::from_utf8_lossy(&bytes), TAIL_LINES),
        Err(_) => Vec::new(),
    }
}

/// Where events go. Emitting never blocks and never fails: a sink nobody listens to (the
/// default, and unit tests) drops them.
#[derive(Clone, Debug, Default)]
pub struct EventSink {
    tx: Option<tokio::sync::mpsc::UnboundedSender<Event>>,
}

impl EventSink {
    /// A sink and the receiving end its events arrive at.
    pub fn channel() -> (EventSink, tokio::sync::mpsc::UnboundedReceiver<Event>) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        (EventSink { tx: Some(tx) }, rx)
    }

    pub fn emit(&self, event: Event) {
        if let Some(tx) = &self.tx {
            // Closed only while the server stops: nobody is left to notify.
            let _ = tx.send(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_severities_order() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
            let json = serde_json::to_value(k).unwrap();
            assert_eq!(json, k.as_str());
        }
        assert!(Severity::Info < Severity::Warning && Severity::Warning < Severity::Error);
        assert_eq!(Severity::parse("warning"), Some(Severity::Warning));
        assert_eq!(EventKind::parse("nope"), None);
    }

    #[test]
    fn last_lines_skips_blanks_and_keeps_order() {
        assert_eq!(last_lines("a\n\nb\nc\n", 2), ["b", "c"]);
        assert_eq!(last_lines("a\n", 5), ["a"]);
        assert!(last_lines("", 5).is_empty());
    }

    #[tokio::test]
    async fn a_sink_delivers_and_a_default_one_drops() {
        let (sink, mut rx) = EventSink::channel();
        sink.emit(Event::new(EventKind::Test, Severity::Info, "hi"));
        assert_eq!(rx.recv().await.unwrap().summary, "hi");
        EventSink::default().emit(Event::new(EventKind::Test, Severity::Info, "dropped"));
    }
}
