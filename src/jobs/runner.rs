//! How every job runs, whatever its kind: as a task on the server's tokio runtime whose work
//! (file work, blocking) runs on the runtime's blocking pool; one panic boundary (a panic of
//! the work is caught once, as the task's `JoinError`, and handed to the kind's "failed
//! unexpectedly" end); and one finish step, in this order: the final record is durable → the
//! job lock is released → the final record is shown. So a client that sees a job final can
//! start the next one at once (never a 409 for a job that is over), and nothing acts on an
//! end that is not on disk.
//!
//! At start-up each kind's `open` applies the one restart rule: a record still `running` is
//! recovered (and finished as a job of this runner when that needs the lock or an agent) or
//! marked `interrupted`.

use std::sync::Arc;

use tokio::runtime::Handle;

use super::ExclusiveGuard;
use crate::toolkit::bridge::BridgeError;

/// One job of some kind, as the runner drives it. Every method is blocking and runs on the
/// blocking pool; async work inside (agents' HTTP calls, concurrent prepares) is driven with
/// [`Runner::block_on`].
pub trait Job: Send + Sync + 'static {
    /// The job's ID (the one its lock names).
    fn id(&self) -> String;
    /// `backup <ID>`, `restore <ID>`, …: for the log and the error of a panic.
    fn name(&self) -> String;
    /// The work, up to a final record (saved, or still being saved).
    fn run(&self);
    /// Ends the record `failed` (or completes a decided commit) after [`Job::run`] panicked:
    /// `why` says so.
    fn failed_unexpectedly(&self, why: &str);
    /// Returns once the final record is on disk (a failed save is retried, the problem shown
    /// meanwhile).
    fn make_final_durable(&self);
    /// Shows the final record to readers, and what follows it (the end of the event stream,
    /// the after-backup hook, the removal of what a committed restore retired).
    fn show_final(&self);
}

/// Runs jobs on the server's runtime. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Runner {
    rt: Handle,
}

impl Runner {
    /// The runner of the runtime this is called in (the server's); outside any runtime (unit
    /// tests, tools), the toolkit's process-wide one ([`crate::toolkit::bridge::shared_handle`]).
    pub fn current() -> Result<Runner, BridgeError> {
        let rt = match Handle::try_current() {
            Ok(h) => h,
            Err(_) => crate::toolkit::bridge::shared_handle()?,
        };
        Ok(Runner { rt })
    }

    /// The runtime jobs run on.
    pub fn handle(&self) -> &Handle {
        &self.rt
    }

    /// Drives `fut` to its end from a job's blocking work (never from async code): its tasks,
    /// timers and sockets are the server runtime's.
    pub fn block_on<F: std::future::Future>(&self, fut: F) -> F::Output {
        self.rt.block_on(fut)
    }

    /// Runs blocking `f` (a job's start: checks, the first record) on the runtime's blocking
    /// pool, for async callers (handlers never touch the disk on their worker).
    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, BridgeError> {
        self.rt
            .spawn_blocking(f)
            .await
            .map_err(|_| BridgeError::Stopped)
    }

    /// [`Runner::block_on`] inside a `LocalSet`: tasks `fut` starts with `spawn_local` are the
    /// job's own, polled only while its work is (they stop when it is stuck).
    pub fn block_on_local<F: std::future::Future>(&self, fut: F) -> F::Output {
        self.rt
            .block_on(tokio::task::LocalSet::new().run_until(fut))
    }

    /// Starts `job` holding `guard` (the job lock, when its kind takes it): [`Job::run`] on
    /// the blocking pool; after a panic, [`Job::failed_unexpectedly`]; then
    /// [`Runner::finish`]. Returns at once.
    pub fn spawn(&self, job: Arc<dyn Job>, guard: Option<ExclusiveGuard>) {
        self.rt.spawn(async move {
            work(&job).await;
            let end = job.clone();
            let finished = tokio::task::spawn_blocking(move || Runner::finish(&*end, guard));
            if let Err(e) = finished.await {
                tracing::error!(job = %job.name(), error = %e, "finishing a job panicked");
            }
        });
    }

    /// Runs `jobs` one after the other, like [`Runner::spawn`], passing `guard` from each to
    /// the next without a gap ([`Runner::finish_handing_over`]); the last one's finish releases
    /// it. For recovered backups that must end before any other job starts.
    pub fn spawn_chain(&self, jobs: Vec<Arc<dyn Job>>, guard: ExclusiveGuard) {
        self.rt.spawn(async move {
            let mut guard = Some(guard);
            let mut rest = jobs.into_iter().peekable();
            while let Some(job) = rest.next() {
                work(&job).await;
                let next = rest.peek().map(|n| n.id());
                let end = job.clone();
                let mut held = guard.take();
                let finished = tokio::task::spawn_blocking(move || {
                    match (next, held.as_mut()) {
                        (Some(next), Some(g)) => Runner::finish_handing_over(&*end, g, &next),
                        _ => Runner::finish(&*end, held.take()),
                    }
                    held
                });
                match finished.await {
                    Ok(g) => guard = g,
                    // The guard went with the panic: the lock is free, the next job runs all
                    // the same (its record says what it did).
                    Err(e) => {
                        tracing::error!(job = %job.name(), error = %e, "finishing a job panicked")
                    }
                }
            }
        });
    }

    /// The one finish step of every job: its final record durable → the job lock released →
    /// the final record shown. Blocking.
    pub fn finish(job: &dyn Job, guard: Option<ExclusiveGuard>) {
        job.make_final_durable();
        drop(guard);
        job.show_final();
    }

    /// [`Runner::finish`] for one of a chain of jobs that pass the lock on without a gap
    /// (recovered backups finished one after the other): the lock goes to `next` instead of
    /// being released. Blocking.
    pub fn finish_handing_over(job: &dyn Job, guard: &mut ExclusiveGuard, next: &str) {
        job.make_final_durable();
        guard.hand_over(next);
        job.show_final();
    }
}

/// [`Job::run`] on the blocking pool, and the one panic boundary: a panic (the task's
/// `JoinError`) goes to [`Job::failed_unexpectedly`].
async fn work(job: &Arc<dyn Job>) {
    let work = job.clone();
    if let Err(e) = tokio::task::spawn_blocking(move || work.run()).await {
        let why = format!(
            "internal error: the {} stopped unexpectedly: {e}",
            job.name()
        );
        tracing::error!(job = %job.name(), error = %why, "job panicked");
        let failed = job.clone();
        let ended = tokio::task::spawn_blocking(move || failed.failed_unexpectedly(&why));
        if let Err(e) = ended.await {
            tracing::error!(job = %job.name(), error = %e, "ending a job that panicked panicked too");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::{JobKind, JobLock};
    use std::sync::Mutex;

    /// A job that logs its steps (and what the lock was at each) and panics when told to.
    struct Probe {
        lock: Arc<JobLock>,
        panics: bool,
        log: Arc<Mutex<Vec<String>>>,
        done: std::sync::mpsc::Sender<()>,
    }

    impl Probe {
        fn note(&self, step: &str) {
            let held = self.lock.running().map(|j| j.id).unwrap_or_default();
            self.log.lock().unwrap().push(format!("{step} lock={held}"));
        }
    }

    impl Job for Probe {
        fn id(&self) -> String {
            "j1".into()
        }
        fn name(&self) -> String {
            "probe".into()
        }
        fn run(&self) {
            self.note("run");
            if self.panics {
                panic!("boom");
            }
        }
        fn failed_unexpectedly(&self, why: &str) {
            assert!(why.contains("boom") || why.contains("panic"), "{why}");
            self.note("failed");
        }
        fn make_final_durable(&self) {
            self.note("durable");
        }
        fn show_final(&self) {
            self.note("shown");
            let _ = self.done.send(());
        }
    }

    fn run_probe(panics: bool) -> Vec<String> {
        let lock = Arc::new(JobLock::default());
        let guard = lock.take(JobKind::Backup, "j1").unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (done, finished) = std::sync::mpsc::channel();
        let job = Arc::new(Probe {
            lock: lock.clone(),
            panics,
            log: log.clone(),
            done,
        });
        Runner::current().unwrap().spawn(job, Some(guard));
        finished
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("the job finished");
        let out = log.lock().unwrap().clone();
        out
    }

    #[test]
    fn durable_then_released_then_shown() {
        assert_eq!(
            run_probe(false),
            ["run lock=j1", "durable lock=j1", "shown lock="]
        );
    }

    #[test]
    fn a_panic_is_caught_once_and_ends_the_job_through_its_kind() {
        assert_eq!(
            run_probe(true),
            [
                "run lock=j1",
                "failed lock=j1",
                "durable lock=j1",
                "shown lock="
            ]
        );
    }
}
