//! A component's drill result as it travels between an agent and the master
//! ([`crate::store::wire::RemoteDrillAnswer`]): the agent answers what its
//! [`super::run::drill_component`] found, the master records it as the component's result.

use std::time::Instant;

use super::record::{ComponentDrill, ComponentDrillStatus};
use super::run::seconds;
use crate::store::wire::RemoteDrillAnswer;

/// The answer an agent gives for the drill of one component.
pub fn answer_of(c: &ComponentDrill) -> RemoteDrillAnswer {
    RemoteDrillAnswer {
        passed: c.status == ComponentDrillStatus::Passed,
        source_folder: c.source_folder.clone().unwrap_or_default(),
        scratch_home: c.scratch_home.clone().unwrap_or_default(),
        files: c.files,
        bytes: c.bytes,
        files_checked: c.files_checked,
        mismatched: c.mismatched.clone(),
        missing: c.missing.clone(),
        errors: c.errors.clone(),
        probe: c.probe.clone(),
    }
}

/// Fills `c` (the component's result, started) from its agent's answer. A passing answer
/// gets the RTO from the drill's start (`started`) to now, like a local component.
pub fn apply_answer(c: &mut ComponentDrill, a: RemoteDrillAnswer, started: Instant) {
    c.source_folder = Some(a.source_folder).filter(|s| !s.is_empty());
    c.scratch_home = Some(a.scratch_home).filter(|s| !s.is_empty());
    c.files = a.files;
    c.bytes = a.bytes;
    c.files_checked = a.files_checked;
    c.mismatched = a.mismatched;
    c.missing = a.missing;
    c.errors = a.errors;
    c.probe = a.probe;
    // Passed only when the agent says so and reports nothing wrong.
    let passed = a.passed && c.mismatched.is_empty() && c.missing.is_empty() && c.errors.is_empty();
    if passed {
        c.rto_seconds = Some(seconds(started.elapsed()));
        c.status = ComponentDrillStatus::Passed;
    } else {
        if c.errors.is_empty() && c.mismatched.is_empty() && c.missing.is_empty() {
            c.errors.push("the agent reports the drill failed".into());
        }
        c.status = ComponentDrillStatus::Failed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_round_trips_and_only_a_clean_pass_passes() {
        let mut c = ComponentDrill::new("trk");
        c.status = ComponentDrillStatus::Passed;
        c.files = 3;
        c.source_folder = Some("/b/backup".into());
        let a = answer_of(&c);
        assert!(a.passed);
        let mut got = ComponentDrill::new("trk");
        apply_answer(&mut got, a.clone(), Instant::now());
        assert_eq!(got.status, ComponentDrillStatus::Passed);
        assert_eq!(got.files, 3);
        assert!(got.rto_seconds.is_some());
        let mut bad = a;
        bad.mismatched = vec!["x.dat".into()];
        let mut got = ComponentDrill::new("trk");
        apply_answer(&mut got, bad, Instant::now());
        assert_eq!(got.status, ComponentDrillStatus::Failed);
        assert_eq!(got.rto_seconds, None);
    }
}
