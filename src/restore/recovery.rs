//! Start-up recovery of a restore the master did not finish (kill -9, power loss): its record
//! is still `running`. Runs in `Restorer::open`, before the scheduler can start a backup.
//!
//! * Commit not decided (some component may be half-copied; also a decision whose save failed,
//!   which the journal withdrew on disk before its rollback began): every component that got to
//!   `applying` is rolled back from its safety copy ([`apply::rollback_all`]); the restore ends
//!   `interrupted`. The rollback reads only the plan and the disk, so a crash during this
//!   rollback is recovered the same way at the next start.
//! * Commit decided (every component was applied): the remaining safety folders are removed
//!   and the restore ends `succeeded` ([`apply::complete`]).
//!
//! Remote components are rolled back (or committed) through their agents, each waited for
//! until it acknowledges: an agent never decides alone (one that stopped while applying rolls
//! that back at its start-up, as it never voted yes; an applied one waits, in doubt after its
//! `decision_timeout_seconds`). `Restorer::open` therefore runs the recovery of a restore with
//! remote components as a job of the runner, holding the job lock, and the restore stays
//! `running` (with notes naming the agents) until they answered. The same for a restore whose
//! components have stop, start or health commands (`lifecycle` in the record): the rollback
//! stops again what runs on the restored data and starts again what the restore had stopped,
//! waiting for its health, which start-up does not wait for.

use super::apply::{self, Journal};
use super::record::{RestoreStatus, StepAction};
use crate::engine::faults::Faults;
use crate::store::restore_record::RestoreRecord;

/// Finishes one interrupted restore (see the module doc).
pub fn recover(journal: &dyn Journal<RestoreRecord>, faults: &Faults) {
    recover_with(journal, faults, &apply::NoRemote)
}

/// [`recover`] with remote components handled through `remote`.
pub fn recover_with(
    journal: &dyn Journal<RestoreRecord>,
    faults: &Faults,
    remote: &dyn apply::RemoteRestores,
) {
    let rec = journal.snapshot();
    if rec.status != RestoreStatus::Running {
        return;
    }
    journal.update_or_log("the recovery step", &mut |r| {
        r.step(
            StepAction::Recovered,
            None,
            None,
            None,
            Some("the master stopped while this restore ran".into()),
        );
    });
    if rec.commit_decided {
        apply::complete_with(
            journal,
            faults,
            remote,
            Some("the master stopped after every component was restored; recovery removed the safety folders"),
        );
    } else {
        apply::rollback_all_with(
            journal,
            faults,
            remote,
            RestoreStatus::Interrupted,
            "interrupted: the master stopped during the restore; every component was put back from its safety copy",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::restore::record::RestoreRecord;
    use std::sync::Mutex;

    struct Mem(Mutex<RestoreRecord>);
    impl Journal<RestoreRecord> for Mem {
        fn update(
            &self,
            f: &mut dyn FnMut(&mut RestoreRecord),
        ) -> Result<(), crate::toolkit::journal::JournalError> {
            f(&mut self.0.lock().unwrap());
            Ok(())
        }
        fn snapshot(&self) -> RestoreRecord {
            self.0.lock().unwrap().clone()
        }
    }

    fn rec(decided: bool) -> RestoreRecord {
        let mut r = RestoreRecord::blank(
            "R20261126T101500Z",
            "B",
            RestoreStatus::Running,
            chrono::Utc::now(),
        );
        r.commit_decided = decided;
        r
    }

    #[test]
    fn undecided_is_interrupted_decided_is_completed_final_is_untouched() {
        let j = Mem(Mutex::new(rec(false)));
        recover(&j, &Faults::none());
        let r = j.snapshot();
        assert_eq!(r.status, RestoreStatus::Interrupted);
        assert!(r.errors[0].contains("interrupted"));
        assert!(r.finished_at.is_some());
        let j = Mem(Mutex::new(rec(true)));
        recover(&j, &Faults::none());
        assert_eq!(j.snapshot().status, RestoreStatus::Succeeded);
        let mut done = rec(false);
        done.status = RestoreStatus::Failed;
        let j = Mem(Mutex::new(done.clone()));
        recover(&j, &Faults::none());
        assert_eq!(j.snapshot(), done);
    }
}
