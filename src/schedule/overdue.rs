//! The dead-man's switch the scheduler keeps: an `overdue` event when no backup succeeded
//! within `overdue_after` of the previous success (or of the scheduler's start, when there
//! never was one), measured on the scheduler's clock, so it fires even when no backup ever
//! starts. Once per silence: a new success re-arms it.

use jiff::{SignedDuration, Timestamp};

use crate::toolkit::events::{Event, EventKind, EventSink, Severity};

/// What the scheduler watches for, given at its start.
#[derive(Clone, Debug, Default)]
pub struct OverdueWatch {
    /// Where `overdue` events go (skipped and missed runs too).
    pub events: EventSink,
    /// `None`: no overdue events (skipped and missed runs are still reported).
    pub after: Option<SignedDuration>,
    /// The end of the last successful backup and its ID; `None` when there is none.
    pub last_success: Option<(Timestamp, String)>,
}

/// The switch's state, in the scheduler's lock.
#[derive(Debug)]
pub(super) struct Overdue {
    after: Option<SignedDuration>,
    /// Counted from here: the last success, or the start.
    since: Timestamp,
    last_id: Option<String>,
    /// Fired for this `since` already.
    fired: bool,
}

impl Overdue {
    pub(super) fn new(watch: &OverdueWatch, now: Timestamp) -> Overdue {
        let (since, last_id) = match &watch.last_success {
            Some((at, id)) => (*at, Some(id.clone())),
            None => (now, None),
        };
        Overdue {
            after: watch.after,
            since,
            last_id,
            fired: false,
        }
    }

    /// When it fires next; `None` when off or fired already.
    pub(super) fn deadline(&self) -> Option<Timestamp> {
        let after = self.after?;
        (!self.fired).then(|| self.since.saturating_add(after).ok())?
    }

    pub(super) fn success(&mut self, at: Timestamp, id: String) {
        if at >= self.since || self.last_id.is_none() {
            self.since = at;
            self.last_id = Some(id);
            self.fired = false;
        }
    }

    pub(super) fn set_after(&mut self, after: Option<SignedDuration>) {
        if after != self.after {
            self.after = after;
            self.fired = false;
        }
    }

    /// The `overdue` event when the deadline has passed at `now` (once).
    pub(super) fn check(&mut self, now: Timestamp) -> Option<Event> {
        let deadline = self.deadline()?;
        if now < deadline {
            return None;
        }
        self.fired = true;
        let hours = self.after.map(|a| a.as_hours()).unwrap_or_default();
        let summary = match &self.last_id {
            Some(id) => format!(
                "overdue: no successful backup for more than {hours} h; the last one, {id}, ended {}",
                self.since.round(jiff::Unit::Second).unwrap_or(self.since)
            ),
            None => format!(
                "overdue: no successful backup in the {hours} h since the scheduler started at {}",
                self.since.round(jiff::Unit::Second).unwrap_or(self.since)
            ),
        };
        let mut e = Event::new(EventKind::Overdue, Severity::Error, summary);
        e.backup_id = self.last_id.clone();
        e.link = Some(match &self.last_id {
            Some(id) => format!("/api/v1/backups/{id}"),
            None => "/api/v1/backups".to_string(),
        });
        Some(e)
    }
}

/// The `overdue` event of a scheduled run that did not start (`skipped` while a job ran, or
/// `missed` while the server was down).
pub(super) fn not_run(due: Timestamp, what: &str, reason: &str) -> Event {
    let mut e = Event::new(
        EventKind::Overdue,
        Severity::Warning,
        format!("the scheduled backup of {due} was {what}: {reason}"),
    );
    e.link = Some("/api/v1/schedule/log".to_string());
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn fires_once_per_silence_and_a_success_rearms_it() {
        let watch = OverdueWatch {
            after: Some(SignedDuration::from_hours(26)),
            last_success: Some((ts("2026-11-26T02:00:00Z"), "20261126T020000Z".into())),
            ..OverdueWatch::default()
        };
        let mut o = Overdue::new(&watch, ts("2026-11-26T03:00:00Z"));
        assert_eq!(o.deadline(), Some(ts("2026-11-27T04:00:00Z")));
        assert!(o.check(ts("2026-11-27T03:59:59Z")).is_none());
        let e = o.check(ts("2026-11-27T04:00:00Z")).unwrap();
        assert_eq!(e.event, EventKind::Overdue);
        assert_eq!(e.severity, Severity::Error);
        assert_eq!(e.backup_id.as_deref(), Some("20261126T020000Z"));
        assert!(o.check(ts("2026-11-28T00:00:00Z")).is_none(), "once");
        o.success(ts("2026-11-28T02:00:00Z"), "20261128T020000Z".into());
        assert_eq!(o.deadline(), Some(ts("2026-11-29T04:00:00Z")));
    }

    #[test]
    fn without_any_success_it_counts_from_the_start_and_off_is_off() {
        let watch = OverdueWatch {
            after: Some(SignedDuration::from_hours(1)),
            ..OverdueWatch::default()
        };
        let mut o = Overdue::new(&watch, ts("2026-11-26T00:00:00Z"));
        assert!(o
            .check(ts("2026-11-26T01:00:00Z"))
            .unwrap()
            .backup_id
            .is_none());
        let mut off = Overdue::new(&OverdueWatch::default(), ts("2026-11-26T00:00:00Z"));
        assert_eq!(off.deadline(), None);
        assert!(off.check(ts("2030-01-01T00:00:00Z")).is_none());
    }
}
