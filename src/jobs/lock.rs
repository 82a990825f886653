//! The one-job lock and the exclusion policy: which kinds of job keep which from starting.
//! Every job that needs the lock takes it here ([`JobLock::take`], [`JobLock::take_issuing`],
//! [`JobLock::hold_for_recovery`]) as an [`ExclusiveGuard`], and gives it back by dropping that
//! guard (the runner's finish step, `crate::jobs::runner`) or passes it on between recovered
//! backups ([`ExclusiveGuard::hand_over`]): nothing else touches it.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::kinds::{JobKind, RunningJob};

/// Which running kind keeps which kind from starting (running, starting). Backups and
/// restores exclude each other and themselves: a restore reads the slots a backup rotates,
/// and both write the homes' folders. A drill excludes and is excluded by both and by another
/// drill: it reads the slots a backup rotates, and the set it proves must stay as it was while
/// it is restored and hashed (a restore could be undone into it). Replications: see below. A verification does not take the lock; it is refused
/// only while a backup may still move slots (see `crate::jobs::verification`).
pub const EXCLUDES: &[(JobKind, JobKind)] = &[
    (JobKind::Backup, JobKind::Backup),
    (JobKind::Backup, JobKind::Restore),
    (JobKind::Restore, JobKind::Backup),
    (JobKind::Restore, JobKind::Restore),
    (JobKind::Drill, JobKind::Backup),
    (JobKind::Drill, JobKind::Restore),
    (JobKind::Drill, JobKind::Drill),
    (JobKind::Backup, JobKind::Drill),
    (JobKind::Restore, JobKind::Drill),
    // A replication reads the slots of a set: no backup may rotate them under it. It also
    // excludes restores and other replications: the lock names one job, and the bucket's
    // blobs too large for a conditional create are checked absent right before their upload.
    (JobKind::Replication, JobKind::Backup),
    (JobKind::Backup, JobKind::Replication),
    (JobKind::Replication, JobKind::Restore),
    (JobKind::Restore, JobKind::Replication),
    (JobKind::Replication, JobKind::Replication),
    // The lock names one job: two kinds that may run side by side would overwrite each other's
    // holder, so every pair of kinds that take it excludes each other.
    (JobKind::Replication, JobKind::Drill),
    (JobKind::Drill, JobKind::Replication),
];

/// Whether a running job of kind `running` keeps a job of kind `starting` from starting.
pub fn excludes(running: JobKind, starting: JobKind) -> bool {
    EXCLUDES.contains(&(running, starting))
}

/// A job that holds the lock and excludes the one asked for.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a {kind} is already running: {id}")]
pub struct Busy {
    pub kind: JobKind,
    pub id: String,
}

/// Why [`JobLock::take_issuing`] did not take the lock.
#[derive(Debug)]
pub enum TakeError<E> {
    Busy(Busy),
    /// The ID could not be issued.
    Issue(E),
}

/// The lock itself: the job holding it, if any. Shared by the job kinds.
#[derive(Debug, Default)]
pub struct JobLock {
    running: Mutex<Option<RunningJob>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl JobLock {
    /// The job holding the lock, if any.
    pub fn running(&self) -> Option<RunningJob> {
        lock(&self.running).clone()
    }

    /// Takes the lock for job `id` of `kind`, unless the running job excludes it.
    pub fn take(self: &Arc<Self>, kind: JobKind, id: &str) -> Result<ExclusiveGuard, Busy> {
        self.take_issuing(kind, || Ok::<_, std::convert::Infallible>(id.to_string()))
            .map_err(|e| match e {
                TakeError::Busy(b) => b,
                TakeError::Issue(never) => match never {},
            })
    }

    /// Takes the lock for a job of `kind` whose ID `issue` makes while the lock is checked
    /// (a backup ID is issued only to a backup that can start).
    pub fn take_issuing<E>(
        self: &Arc<Self>,
        kind: JobKind,
        issue: impl FnOnce() -> Result<String, E>,
    ) -> Result<ExclusiveGuard, TakeError<E>> {
        let mut running = lock(&self.running);
        if let Some(j) = &*running {
            if excludes(j.kind, kind) {
                return Err(TakeError::Busy(Busy {
                    kind: j.kind,
                    id: j.id.clone(),
                }));
            }
        }
        let id = issue().map_err(TakeError::Issue)?;
        *running = Some(RunningJob {
            kind,
            id: id.clone(),
        });
        Ok(ExclusiveGuard {
            lock: self.clone(),
            kind,
            id,
        })
    }

    /// Holds the lock for recovered job `id` of `kind` before anything else can start (at
    /// start-up, before the server answers), whatever holds it now.
    pub fn hold_for_recovery(self: &Arc<Self>, kind: JobKind, id: &str) -> ExclusiveGuard {
        *lock(&self.running) = Some(RunningJob {
            kind,
            id: id.to_string(),
        });
        ExclusiveGuard {
            lock: self.clone(),
            kind,
            id: id.to_string(),
        }
    }

    /// Passes the lock from job `from` to job `to` of the same kind, when `from` holds it,
    /// without a gap in which another job could start; with no `to`, releases it.
    fn hand_over(&self, kind: JobKind, from: &str, to: Option<String>) {
        let mut running = lock(&self.running);
        if running
            .as_ref()
            .is_some_and(|j| j.kind == kind && j.id == from)
        {
            *running = to.map(|id| RunningJob { kind, id });
        }
    }

    /// Releases the lock when job `id` of `kind` holds it.
    fn release(&self, kind: JobKind, id: &str) {
        self.hand_over(kind, id, None);
    }
}

/// Holds the lock for one job; released on drop.
pub struct ExclusiveGuard {
    lock: Arc<JobLock>,
    kind: JobKind,
    id: String,
}

impl ExclusiveGuard {
    pub fn kind(&self) -> JobKind {
        self.kind
    }
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Passes the lock on to job `next` of the same kind without a gap in which another job
    /// could start (recovered backups finished one after the other).
    pub fn hand_over(&mut self, next: &str) {
        self.lock
            .hand_over(self.kind, &self.id, Some(next.to_string()));
        self.id = next.to_string();
    }
}

impl Drop for ExclusiveGuard {
    fn drop(&mut self) {
        self.lock.release(self.kind, &self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_decides_who_waits_and_the_guard_releases() {
        let l = Arc::new(JobLock::default());
        let g = l.take(JobKind::Backup, "b1").unwrap();
        assert_eq!(
            l.take(JobKind::Restore, "r1").err(),
            Some(Busy {
                kind: JobKind::Backup,
                id: "b1".into()
            })
        );
        drop(g);
        assert_eq!(l.running(), None);
        let _r = l.take(JobKind::Restore, "r1").unwrap();
        assert!(l.take(JobKind::Backup, "b2").is_err());
        l.release(JobKind::Backup, "b9");
        assert_eq!(l.running().map(|j| j.id), Some("r1".to_string()));
        drop(_r);
        let mut g = l.hold_for_recovery(JobKind::Backup, "b3");
        g.hand_over("b4");
        assert_eq!(l.running().map(|j| j.id), Some("b4".to_string()));
        assert!(l.take(JobKind::Restore, "r2").is_err());
        drop(g);
        assert_eq!(l.running(), None);
    }

    #[test]
    fn a_drill_excludes_and_is_excluded_by_every_job_that_takes_the_lock() {
        use JobKind::*;
        for other in [Backup, Restore, Drill] {
            assert!(excludes(Drill, other), "drill keeps {other} from starting");
            assert!(
                excludes(other, Drill),
                "{other} keeps a drill from starting"
            );
        }
        let l = Arc::new(JobLock::default());
        let d = l.take(Drill, "D1").unwrap();
        assert_eq!(l.take(Backup, "b1").err().map(|b| b.kind), Some(Drill));
        drop(d);
        let _b = l.take(Backup, "b1").unwrap();
        assert_eq!(l.take(Drill, "D2").err().map(|b| b.id), Some("b1".into()));
    }

    #[test]
    fn every_pair_of_kinds_excludes_each_other_as_the_lock_names_one_job() {
        use JobKind::*;
        let all = [Backup, Restore, Drill, Replication];
        for a in all {
            for b in all {
                assert!(excludes(a, b), "{a} must keep {b} from starting");
            }
        }
    }
}
