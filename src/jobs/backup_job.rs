//! A backup as a job of the runner ([`BackupJob`]), and a backup recovered at start-up
//! ([`RecoveredBackup`]): their work, panic end and finish.

use super::*;
use crate::toolkit::journal::Journal;

/// A backup as a job of the runner ([`runner::Job`]).
pub(super) struct BackupJob {
    inner: Arc<Inner>,
    id: String,
    /// Taken by [`runner::Job::run`].
    run: Mutex<Option<Run>>,
    participants: Vec<Participant>,
    journal: Arc<BackupJournal>,
}

impl BackupJob {
    pub(super) fn new(inner: &Arc<Inner>, run: Run, journal: Arc<BackupJournal>) -> BackupJob {
        BackupJob {
            inner: inner.clone(),
            id: run.id.clone(),
            participants: run.participants.clone(),
            run: Mutex::new(Some(run)),
            journal,
        }
    }

    /// Ends the record `failed` with `msg` (the report written, the record durable).
    fn fail(&self, msg: &str, f: &mut dyn FnMut(&mut BackupRecord)) {
        let (state_dir, faults) = (&self.inner.state_dir, &self.inner.faults);
        coordinator::finish(
            &*self.journal,
            state_dir,
            faults,
            BackupStatus::Failed,
            &mut |r| {
                r.errors.push(msg.to_string());
                f(r)
            },
        );
    }
}

impl runner::Job for BackupJob {
    fn id(&self) -> String {
        self.id.clone()
    }

    fn name(&self) -> String {
        format!("backup {}", self.id)
    }

    fn run(&self) {
        if let Some(run) = lock(&self.run).take() {
            self.inner.runner.block_on_local(coordinator::run(run));
        }
    }

    /// The panic boundary: no slot was touched unless the commit was decided; staging folders
    /// are removed when it was not, and kept for the operator when it was (those not yet
    /// committed are all that is left of those components' backups).
    fn failed_unexpectedly(&self, why: &str) {
        let id = &self.id;
        let decided = self.journal.snapshot().commit_decided;
        let mut kept = Vec::new();
        for p in &self.participants {
            if decided {
                kept.extend(recovery::staging_left(p, id));
            } else if let Err(e) = self.inner.runner.block_on(p.store.abort(
                id,
                &p.spec,
                std::slice::from_ref(&why.to_string()),
            )) {
                // What an abort leaves is an undecided staging folder, which the next backup's
                // prepare (or the start-up cleanup) removes.
                tracing::warn!(backup = %id, component = %p.spec.name, error = %e, "abort after a panic failed");
            }
        }
        self.fail(why, &mut |r| {
            for k in &kept {
                if !r.kept_stagings.contains(k) {
                    r.errors.push(recovery::kept_note(k));
                    r.kept_stagings.push(k.clone());
                }
            }
            for c in &mut r.components {
                if matches!(
                    c.status,
                    ComponentStatus::Pending
                        | ComponentStatus::Preparing
                        | ComponentStatus::Prepared
                ) && !decided
                {
                    c.status = ComponentStatus::Aborted;
                }
            }
        });
    }

    fn make_final_durable(&self) {
        self.journal.make_durable();
    }

    fn show_final(&self) {
        self.journal.show_final();
        complete(&self.inner, &self.id);
    }
}

/// What is left to do of a backup recovered at start-up.
pub(super) enum Recovering {
    /// Its final record, which recovery could not save.
    Unrecorded(BackupRecord),
    /// Its commit, decided before the restart and not acknowledged by every agent.
    Decided(Run),
}

/// A recovered backup finished as a job of the runner (see
/// [`BackupJobs::finish_in_background`]).
pub(super) struct RecoveredBackup {
    inner: Arc<Inner>,
    id: String,
    journal: Arc<BackupJournal>,
    /// Taken by [`runner::Job::run`].
    work: Mutex<Option<Recovering>>,
}

impl RecoveredBackup {
    pub(super) fn new(inner: &Arc<Inner>, id: &str, work: Recovering) -> RecoveredBackup {
        RecoveredBackup {
            inner: inner.clone(),
            id: id.to_string(),
            journal: Arc::new(BackupJournal::new(inner.clone(), id)),
            work: Mutex::new(Some(work)),
        }
    }

    fn finish(&self, status: BackupStatus, error: Option<&str>) {
        let (state_dir, faults) = (&self.inner.state_dir, &self.inner.faults);
        coordinator::finish(&*self.journal, state_dir, faults, status, &mut |r| {
            if status == BackupStatus::Succeeded {
                r.notes.push(recovery::ROLLED_FORWARD.to_string());
            }
            if let Some(e) = error {
                r.errors.push(e.to_string());
            }
        });
    }
}

impl runner::Job for RecoveredBackup {
    fn id(&self) -> String {
        self.id.clone()
    }

    fn name(&self) -> String {
        format!("recovered backup {}", self.id)
    }

    fn run(&self) {
        match lock(&self.work).take() {
            Some(Recovering::Unrecorded(rec)) => {
                coordinator::persist_durably(&*self.journal, "the end of the backup", &mut |r| {
                    *r = rec.clone()
                });
            }
            Some(Recovering::Decided(run)) => {
                let status = self
                    .inner
                    .runner
                    .block_on(coordinator::commit_decided(&run));
                self.finish(status, None);
            }
            None => {}
        }
    }

    fn failed_unexpectedly(&self, why: &str) {
        self.finish(BackupStatus::Failed, Some(why));
    }

    fn make_final_durable(&self) {
        self.journal.make_durable();
    }

    fn show_final(&self) {
        self.journal.show_final();
        complete(&self.inner, &self.id);
    }
}
