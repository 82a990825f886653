//! The coordinator: runs one backup across all components so the set is atomic (README, *How backups work*).
//!
//! State machine of one backup (the record's `status` and each component's `status`):
//!
//! ```text
//! running ── every component: pending → preparing → prepared | failed | (cancelled →) aborted
//!    │
//!    ├─ all prepared, not cancelled ─► commit_decided = true (record fsynced)
//!    │                                 each component: prepared → committed (rotate + rename)
//!    │                                 ─► succeeded (or failed if a commit failed)
//!    │
//!    └─ otherwise ─► each component: abort (staging removed, `<NAME>.failed` written)
//!                    ─► failed | cancelled
//! ```
//!
//! Prepares run concurrently. The first failure cancels the other prepares (they end
//! `aborted`). Before the first commit the decision is made durable in the job record; from
//! then on a crash is rolled forward by recovery, and a cancel request is ignored (the commit
//! is quick and stopping half-way would leave a mixed set). No history slot of any component is
//! touched unless the decision was made.
//!
//! Remote components (agents) commit first, and an unacknowledged remote commit (agent down or
//! unreachable after the decision) is retried with backoff until the agent acknowledges it,
//! for at most [`REMOTE_COMMIT_WINDOW`]; the backup stays `running` meanwhile (holding the job
//! lock, so no other backup rotates anything) and its record notes the wait and the
//! acknowledgement. A refusal before any component committed (an agent that aborted on its own
//! after its decision timeout, or one that refuses the master's token) abandons the set: the
//! decision is withdrawn in the record, durably, before the first abort, so a crash during the
//! abort is finished as an abort and no slot changed anywhere. After a component committed, a
//! refused call is retried like an unreachable agent (only completing the set is consistent),
//! and only an agent that will never commit (it aborted) leaves the set incomplete. A local
//! rotation that fails after the decision keeps its staging folder for the operator
//! (`kept_stagings`). After a master restart, recovery finishes a decided backup whose remote
//! commits were not acknowledged through the same [`commit_decided`] (see `engine::recovery`),
//! knowing from the record which components had committed.
//!
//! The end of a backup and a withdrawn decision are written with [`persist_durably`]: nothing
//! acts on them (readers, the job lock, the hook) before they are on disk.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{SubsecRound, Utc};

use super::faults::Faults;
use super::record::{BackupRecord, BackupStatus, ComponentStatus};
use super::report;
use super::{single_line, CancelToken, ComponentSpec};
use crate::store::{ComponentStore, PrepareOutcome, PrepareStatus, ProgressSink, ProgressUpdate};

/// Where the coordinator keeps the job record. Implemented by the job runner (`crate::jobs`).
pub trait Journal: Send + Sync {
    /// Applies `f` to the record and persists it (atomically, fsynced). Publishes a progress
    /// event for every component whose status changed.
    fn update(&self, f: &mut dyn FnMut(&mut BackupRecord)) -> Result<(), String>;
    /// Records progress in memory and publishes it; not persisted.
    fn progress(&self, component: &str, update: ProgressUpdate);
    /// The current record, as the job sees it (also changes whose save failed).
    fn snapshot(&self) -> BackupRecord;
    /// Saves the record as the job sees it again (after a failed save).
    fn flush(&self) -> Result<(), String>;
    /// Reports why the job cannot go on (its record cannot be written), or with `None` that
    /// it can again. The server shows it (health, metrics, log).
    fn set_problem(&self, problem: Option<String>);
}

/// One component taking part in a backup.
#[derive(Clone)]
pub struct Participant {
    pub spec: ComponentSpec,
    pub store: Arc<dyn ComponentStore>,
}

/// Everything one run needs.
pub struct Run {
    pub id: String,
    pub participants: Vec<Participant>,
    pub journal: Arc<dyn Journal>,
    pub faults: Arc<Faults>,
    /// Stops the prepares (cancel request or a failed component).
    pub stop: CancelToken,
    /// Set by a cancel request (as opposed to a failure stopping the others).
    pub user_cancelled: Arc<AtomicBool>,
    pub state_dir: std::path::PathBuf,
    /// A decided backup taken over after a master restart: a remote component not recorded
    /// `committed` may have committed before the restart (its answer lost), so a refusal from
    /// it does not prove that nothing committed.
    pub resumed: bool,
}

fn now() -> chrono::DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

/// Persists, logging a failure (the in-memory record stays right; the next write may succeed).
fn persist(journal: &dyn Journal, f: &mut dyn FnMut(&mut BackupRecord)) {
    if let Err(e) = journal.update(f) {
        tracing::error!(error = %e, "could not write the backup job record");
    }
}

/// Longest wait between two attempts of [`persist_durably`].
const DURABLE_RETRY_MAX: Duration = Duration::from_secs(15);

/// Persists `f` and returns only once the record is durable. Used for what others act on (the
/// end of a backup, a withdrawn decision): until the write succeeds the job stays `running` for
/// readers, keeps the job lock and starts no hook, and the problem is reported (health,
/// metrics, log); the write is retried (0.5 s doubling to 15 s). Blocks the calling thread.
pub fn persist_durably(journal: &dyn Journal, what: &str, f: &mut dyn FnMut(&mut BackupRecord)) {
    let mut result = journal.update(f);
    let mut delay = Duration::from_millis(500);
    let mut failed = false;
    while let Err(e) = result {
        failed = true;
        let problem = single_line(&format!(
            "backup {}: {what} could not be recorded ({e}); retrying; until then the backup \
             stays running and holds the job lock",
            journal.snapshot().id
        ));
        tracing::error!(problem = %problem, "job record not writable");
        journal.set_problem(Some(problem));
        std::thread::sleep(delay);
        delay = (delay * 2).min(DURABLE_RETRY_MAX);
        result = journal.flush();
    }
    if failed {
        tracing::info!(backup = %journal.snapshot().id, "{what} is recorded now");
        journal.set_problem(None);
    }
}

/// Runs the backup to its end and returns the final status. The record is final, persisted and
/// the report written when this returns.
pub async fn run(run: Run) -> BackupStatus {
    let journal = run.journal.clone();
    let started = now();
    persist(&*journal, &mut |r| {
        for c in &mut r.components {
            c.status = ComponentStatus::Preparing;
            c.started_at = Some(started);
        }
    });

    // Prepare every component concurrently. Each prepare runs in its own task (a panic there
    // fails that component only) and reports through a channel as it finishes.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, PrepareOutcome, u64)>();
    for p in &run.participants {
        let (tx, p, id, stop, journal) = (
            tx.clone(),
            p.clone(),
            run.id.clone(),
            run.stop.clone(),
            journal.clone(),
        );
        tokio::spawn(async move {
            let t0 = std::time::Instant::now();
            let name = p.spec.name.clone();
            let sink_journal = journal.clone();
            let sink_name = name.clone();
            let sink: ProgressSink = Arc::new(move |u| sink_journal.progress(&sink_name, u));
            let inner =
                tokio::spawn(async move { p.store.prepare(&id, &p.spec, stop, sink).await });
            let outcome = match inner.await {
                Ok(o) => o,
                Err(e) => PrepareOutcome {
                    status: PrepareStatus::Failed,
                    stats: ProgressUpdate::default(),
                    started_at: started,
                    finished_at: now(),
                    errors: vec![format!("internal error: prepare stopped unexpectedly: {e}")],
                    skipped: vec![],
                },
            };
            let ms = u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX);
            let _ = tx.send((name, outcome, ms));
        });
    }
    drop(tx);
    let mut all_prepared = true;
    let mut failed_names = Vec::new();
    while let Some((name, o, ms)) = rx.recv().await {
        if o.status != PrepareStatus::Prepared {
            all_prepared = false;
            if o.status == PrepareStatus::Failed {
                failed_names.push(name.clone());
            }
            run.stop.cancel();
        }
        persist(&*journal, &mut |r| {
            if let Some(c) = r.component_mut(&name) {
                c.status = match o.status {
                    PrepareStatus::Prepared => ComponentStatus::Prepared,
                    PrepareStatus::Failed => ComponentStatus::Failed,
                    PrepareStatus::Cancelled => ComponentStatus::Aborted,
                };
                c.files = o.stats.files;
                c.files_copied = o.stats.files_copied;
                c.files_linked = o.stats.files_linked;
                c.bytes_copied = o.stats.bytes_copied;
                c.bytes_linked = o.stats.bytes_linked;
                c.finished_at = Some(o.finished_at);
                c.duration_ms = Some(ms);
                if o.status == PrepareStatus::Failed {
                    c.errors.extend(o.errors.iter().cloned());
                }
            }
            const SHOWN: usize = 20;
            for path in o.skipped.iter().take(SHOWN) {
                r.notes.push(format!("{name}: skipped special file {path}"));
            }
            if o.skipped.len() > SHOWN {
                r.notes.push(format!(
                    "{name}: {} more special files skipped",
                    o.skipped.len() - SHOWN
                ));
            }
        });
    }
    let cancelled = run.user_cancelled.load(Ordering::SeqCst);

    let status = if all_prepared && !cancelled {
        commit_all(&run).await
    } else {
        let reason = if cancelled {
            "cancelled by request".to_string()
        } else if failed_names.is_empty() {
            "the backup was stopped".to_string()
        } else {
            format!(
                "backup aborted because component(s) {} failed; no history slot was changed",
                failed_names.join(", ")
            )
        };
        abort_all(&run, &reason).await;
        if cancelled {
            BackupStatus::Cancelled
        } else {
            BackupStatus::Failed
        }
    };
    finish(&*journal, &run.state_dir, &run.faults, status, &mut |_| {});
    status
}

async fn commit_all(run: &Run) -> BackupStatus {
    let journal = &*run.journal;
    // The decision must be durable before any slot changes. It is taken under the record's
    // lock, so a cancel request either comes first (and wins) or finds the commit decided.
    let mut decided = false;
    let user_cancelled = run.user_cancelled.clone();
    let res = journal.update(&mut |r| {
        if !user_cancelled.load(Ordering::SeqCst) {
            r.commit_decided = true;
            decided = true;
        }
    });
    if let Err(e) = res {
        // The journal has withdrawn the decision durably (it may have reached the disk).
        let reason = format!("could not record the commit decision, so nothing was committed: {e}");
        abort_all(run, &reason).await;
        return BackupStatus::Failed;
    }
    if !decided {
        abort_all(run, "cancelled by request").await;
        return BackupStatus::Cancelled;
    }
    if run.faults.abort_after_decision {
        tracing::error!("injected fault abort_after_decision: aborting the process");
        std::process::abort();
    }
    run.faults.step("backup_committing", &run.state_dir);
    commit_decided(run).await
}

/// How one component's commit ended.
enum CommitEnd {
    Committed,
    /// Refused, and provably not committed: the agent answered that it never will (409), or
    /// refused the call while no earlier attempt of it had an unknown outcome.
    Refused(crate::store::StoreError),
    /// Not committed (or not acknowledged within the window).
    Failed(crate::store::StoreError),
}

/// Commits every participant of a backup whose commit decision is already durable (the live
/// path above, and recovery rolling a decided backup forward after a restart): remote
/// components first, each retried until its agent acknowledges (see [`commit_remote`]), then
/// the local ones. Components the record shows `committed` (acknowledged before a restart)
/// are not asked again, and count as committed. Returns `Succeeded`, or `Failed` with the
/// reason in the record.
///
/// A refusal before any component committed abandons the set: the decision is withdrawn in the
/// record (durably, before anything is aborted) and every component is aborted, so no slot
/// changed anywhere and a crash during the abort is finished as an abort. After a component
/// committed the set can only be completed, so a refused call (token, agent config) is retried
/// like an unreachable agent; an agent that will never commit (it aborted on its own) leaves the
/// set incomplete. A local component whose rotation fails keeps its staging folder for the
/// operator (`kept_stagings`): it is the only copy of that component's backup.
pub async fn commit_decided(run: &Run) -> BackupStatus {
    let journal = &*run.journal;
    let already: Vec<String> = journal
        .snapshot()
        .components
        .iter()
        .filter(|c| c.status == ComponentStatus::Committed)
        .map(|c| c.name.clone())
        .collect();
    let mut committed_any = !already.is_empty();
    let mut failed = Vec::new();
    // Remote components first: they are the ones that can refuse (an agent that aborted on its
    // own after its decision timeout). If the first commit is refused, nothing has rotated
    // anywhere yet and the set is abandoned cleanly.
    let mut order: Vec<&Participant> = run.participants.iter().collect();
    order.sort_by_key(|p| !p.store.is_remote());
    for p in order {
        let name = p.spec.name.clone();
        if already.contains(&name) {
            continue;
        }
        let end = if p.store.is_remote() {
            commit_remote(run, p, committed_any).await
        } else {
            // Rotation is idempotent: one retry covers a transient error. A failed local
            // rotation may have shifted slots already: never a reason to abandon the set.
            let mut res = p.store.commit(&run.id, &p.spec).await;
            if res.is_err() {
                res = p.store.commit(&run.id, &p.spec).await;
            }
            match res {
                Ok(()) => CommitEnd::Committed,
                Err(e) => CommitEnd::Failed(e),
            }
        };
        match end {
            CommitEnd::Committed => {
                committed_any = true;
                persist(journal, &mut |r| {
                    if let Some(c) = r.component_mut(&name) {
                        c.status = ComponentStatus::Committed;
                    }
                });
            }
            CommitEnd::Refused(e) if !committed_any => return abandon(run, &name, &e).await,
            CommitEnd::Refused(e) | CommitEnd::Failed(e) => {
                let kept = super::recovery::staging_left(p, &run.id);
                let mut msg = single_line(&format!("commit failed: {e}"));
                if let Some(k) = &kept {
                    msg.push_str(&format!("; {}", super::recovery::kept_note(k)));
                }
                failed.push(name.clone());
                persist(journal, &mut |r| {
                    if let Some(c) = r.component_mut(&name) {
                        c.status = ComponentStatus::Failed;
                        c.errors.push(msg.clone());
                    }
                    if let Some(k) = &kept {
                        if !r.kept_stagings.contains(k) {
                            r.kept_stagings.push(k.clone());
                        }
                    }
                });
            }
        }
    }
    if failed.is_empty() {
        BackupStatus::Succeeded
    } else {
        let msg = format!(
            "the set is incomplete: component(s) {} could not commit after the others did; \
             earlier complete sets are still in the history",
            failed.join(", ")
        );
        persist(journal, &mut |r| r.errors.push(msg.clone()));
        BackupStatus::Failed
    }
}

/// Abandons a decided backup that component `name` refused before any component committed:
/// the decision is withdrawn durably first, then every component is aborted.
async fn abandon(run: &Run, name: &str, e: &crate::store::StoreError) -> BackupStatus {
    let journal = &*run.journal;
    let msg = single_line(&format!("commit refused: {e}"));
    persist_durably(journal, "withdrawing the commit decision", &mut |r| {
        r.commit_decided = false;
        if let Some(c) = r.component_mut(name) {
            c.status = ComponentStatus::Failed;
            if !c.errors.contains(&msg) {
                c.errors.push(msg.clone());
            }
        }
    });
    let reason = format!(
        "backup aborted because component {name} refused the commit before any component had \
         committed; the commit decision was withdrawn and no history slot was changed"
    );
    abort_all(run, &reason).await;
    BackupStatus::Failed
}

/// How long the coordinator keeps retrying an unacknowledged commit of a remote component
/// before it gives up for this master run (the backup then ends `failed`, its set incomplete).
pub const REMOTE_COMMIT_WINDOW: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// Commits a remote component, retrying with backoff (0.25 s doubling to 5 s) until its agent
/// acknowledges, refuses for good ([`crate::store::StoreError::Conflict`]: it aborted the
/// backup), or [`REMOTE_COMMIT_WINDOW`] passes. A refused call (401, 403, 404, 422) ends the
/// attempts only while abandoning the set is still possible (`committed_any` false and no
/// earlier attempt of this component had an unknown outcome); otherwise the set can only be
/// completed through this agent, so it is retried like an unreachable one (the cause, e.g. a
/// token, can be fixed; a restarted master goes on retrying). The record notes the wait and
/// the acknowledgement.
async fn commit_remote(run: &Run, p: &Participant, committed_any: bool) -> CommitEnd {
    use crate::store::StoreError;
    let journal = &*run.journal;
    let name = p.spec.name.clone();
    let t0 = std::time::Instant::now();
    let mut delay = Duration::from_millis(250);
    let mut attempts = 0u32;
    let mut noted = false;
    let mut uncertain = run.resumed;
    loop {
        attempts += 1;
        match p.store.commit(&run.id, &p.spec).await {
            Ok(()) => {
                if attempts > 1 {
                    let note = format!(
                        "{name}: the agent acknowledged the commit after {attempts} attempts ({} s after the decision); the set is complete",
                        t0.elapsed().as_secs()
                    );
                    tracing::info!(backup = %run.id, "{note}");
                    persist(journal, &mut |r| r.notes.push(note.clone()));
                }
                return CommitEnd::Committed;
            }
            Err(e @ StoreError::Conflict(_)) => return CommitEnd::Refused(e),
            Err(e @ StoreError::Refused(_)) if !committed_any && !uncertain => {
                return CommitEnd::Refused(e)
            }
            Err(e) => {
                let refused = matches!(e, StoreError::Refused(_));
                if !refused {
                    uncertain = true;
                }
                if !noted {
                    noted = true;
                    let note = if refused {
                        single_line(&format!(
                            "{name}: the commit was decided but the agent refused it ({e}); the set can only be completed through this agent, so the master retries until it accepts (at most {} min; fix the cause, e.g. the token, and restart the master if needed)",
                            REMOTE_COMMIT_WINDOW.as_secs() / 60
                        ))
                    } else {
                        single_line(&format!(
                            "{name}: the commit was decided but the agent did not acknowledge it ({e}); retrying until it does (at most {} min)",
                            REMOTE_COMMIT_WINDOW.as_secs() / 60
                        ))
                    };
                    tracing::warn!(backup = %run.id, "{note}");
                    persist(journal, &mut |r| r.notes.push(note.clone()));
                }
                if t0.elapsed() >= REMOTE_COMMIT_WINDOW {
                    return CommitEnd::Failed(StoreError::Remote(format!(
                        "{e}; gave up after {attempts} attempts in {} s",
                        t0.elapsed().as_secs()
                    )));
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Aborts every participant: removes staging folders, writes `<NAME>.failed`.
pub async fn abort_all(run: &Run, reason: &str) {
    let journal = &*run.journal;
    persist(journal, &mut |r| r.errors.push(reason.to_string()));
    let snapshot = journal.snapshot();
    for (i, p) in run.participants.iter().enumerate() {
        if i == 1 {
            run.faults.step("backup_abort", &run.state_dir);
        }
        let own: Vec<String> = snapshot
            .components
            .iter()
            .find(|c| c.name == p.spec.name)
            .map(|c| c.errors.clone())
            .unwrap_or_default();
        let mut errors = own;
        errors.push(reason.to_string());
        let name = p.spec.name.clone();
        let res = p.store.abort(&run.id, &p.spec, &errors).await;
        persist(journal, &mut |r| {
            if let Some(c) = r.component_mut(&name) {
                if c.status != ComponentStatus::Failed {
                    c.status = ComponentStatus::Aborted;
                }
                if let Err(e) = &res {
                    c.errors.push(single_line(&format!("abort failed: {e}")));
                }
            }
        });
    }
}

/// Makes the record final: status, `finished_at`, report written (atomically), record persisted
/// durably with its after-backup hook owed (`hook_pending`). `extra` may add notes or errors
/// first. Returns only once the final record is on disk (see [`persist_durably`]).
pub fn finish(
    journal: &dyn Journal,
    state_dir: &std::path::Path,
    faults: &Faults,
    status: BackupStatus,
    extra: &mut dyn FnMut(&mut BackupRecord),
) {
    let mut rec = journal.snapshot();
    rec.status = status;
    rec.finished_at = Some(now());
    rec.hook_pending = true;
    extra(&mut rec);
    let report_error = report::write(state_dir, &rec).err().map(|e| {
        tracing::error!(error = %e, "could not write the backup report");
        single_line(&format!("could not write the report: {e}"))
    });
    if let Some(e) = &report_error {
        rec.notes.push(e.clone());
    }
    faults.step("backup_finish", state_dir);
    let final_rec = rec;
    persist_durably(journal, "the end of the backup", &mut |r| {
        *r = final_rec.clone();
    });
}
