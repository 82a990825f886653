//! Which events a target gets: its matcher's event list and least severity, combined by its
//! `mode`; a target with neither gets warnings and errors.

use crate::config::{MatchMode, Matcher};
use crate::toolkit::events::{Event, EventKind, Severity};

/// What a target without a matcher gets.
pub const DEFAULT_MIN_SEVERITY: Severity = Severity::Warning;

/// Whether `m` lets `event` through. A `test` event is never matched (it is only sent by
/// hand).
pub fn matches(m: &Matcher, event: &Event) -> bool {
    if event.event == EventKind::Test {
        return false;
    }
    let listed = (!m.events.is_empty()).then(|| m.events.contains(&event.event));
    let severe = m.min_severity.map(|min| event.severity >= min);
    match (listed, severe) {
        (None, None) => event.severity >= DEFAULT_MIN_SEVERITY,
        (Some(l), None) => l,
        (None, Some(s)) => s,
        (Some(l), Some(s)) => match m.mode {
            MatchMode::All => l && s,
            MatchMode::Any => l || s,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: EventKind, sev: Severity) -> Event {
        Event::new(kind, sev, "x")
    }

    fn m(events: &[EventKind], min: Option<Severity>, mode: MatchMode) -> Matcher {
        Matcher {
            events: events.to_vec(),
            min_severity: min,
            mode,
        }
    }

    #[test]
    fn no_matcher_means_warning_and_above() {
        let none = m(&[], None, MatchMode::All);
        assert!(!matches(
            &none,
            &ev(EventKind::BackupSucceeded, Severity::Info)
        ));
        assert!(matches(
            &none,
            &ev(EventKind::HookFailed, Severity::Warning)
        ));
        assert!(matches(
            &none,
            &ev(EventKind::BackupFailed, Severity::Error)
        ));
        assert!(!matches(&none, &ev(EventKind::Test, Severity::Error)));
    }

    #[test]
    fn events_and_severity_combine_by_mode() {
        let list = [EventKind::BackupSucceeded];
        let only = m(&list, None, MatchMode::All);
        assert!(matches(
            &only,
            &ev(EventKind::BackupSucceeded, Severity::Info)
        ));
        assert!(!matches(
            &only,
            &ev(EventKind::BackupFailed, Severity::Error)
        ));
        let all = m(&list, Some(Severity::Error), MatchMode::All);
        assert!(!matches(
            &all,
            &ev(EventKind::BackupSucceeded, Severity::Info)
        ));
        let any = m(&list, Some(Severity::Error), MatchMode::Any);
        assert!(matches(
            &any,
            &ev(EventKind::BackupSucceeded, Severity::Info)
        ));
        assert!(matches(&any, &ev(EventKind::BackupFailed, Severity::Error)));
        assert!(!matches(
            &any,
            &ev(EventKind::HookFailed, Severity::Warning)
        ));
        let sev = m(&[], Some(Severity::Info), MatchMode::All);
        assert!(matches(&sev, &ev(EventKind::BackupStarted, Severity::Info)));
    }
}
