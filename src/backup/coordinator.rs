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
//! **Two-phase commit with no one-sided outcome.** A remote component (an agent) that prepared
//! has voted yes: it never commits or aborts by itself, it waits for this decision. While the
//! set is undecided (slower components still copying) the coordinator renews each prepared
//! remote component ([`ComponentStore::renew`], every quarter of the agent's decision timeout),
//! so the agent does not mark it in doubt. Remote components commit first, each retried with
//! backoff **until its agent acknowledges**, with no time limit: the backup stays `running`
//! meanwhile (holding the job lock, so no other job touches a slot of the incomplete set) and
//! its record notes the agent it waits for and the acknowledgement. A backup ends `succeeded`
//! only when every component committed. A refusal while nothing committed and no earlier
//! attempt had an unknown outcome (an agent refusing the master's token, or one an operator
//! aborted by hand) abandons the set: the decision is withdrawn in the record, durably, before
//! the first abort, so a crash during the abort is finished as an abort and no slot changed
//! anywhere. After that, a refused call is retried like an unreachable agent (only completing
//! the set is consistent), and only an agent that will never commit (an operator aborted it:
//! a heuristic outcome, recorded as a mismatch) leaves the set incomplete (`failed`). A
//! component taken out of the config cannot be reached any more: its commit is given up and
//! the set ends incomplete (the operator's way out for an agent gone for good). A local
//! rotation that fails after the decision keeps its staging folder for the operator
//! (`kept_stagings`). After a master restart, recovery finishes a decided backup whose remote
//! commits were not acknowledged through the same [`commit_decided`] (see `engine::recovery`),
//! knowing from the record which components had committed.
//!
//! **The oldest set stays complete as long as possible.** Each component is committed keeping
//! one slot more than its `keep` ([`phase_one`]); only when every component committed are the
//! slots above `keep` dropped ([`ComponentStore::finish_commit`]). So while a commit waits for
//! an agent, the set about to leave the history is still complete in every component, and the
//! new set shows as `committing` in `/backup-sets` (its record `running` with the decision).
//!
//! An abort an agent does not acknowledge (unreachable) is not waited for: nothing can commit
//! there without the master, and the master resolves the agent's open transaction when it
//! reaches it again (presumed abort, see `crate::resolver`); the record notes it.
//!
//! The end of a backup and a withdrawn decision are written with [`persist_durably`]: nothing
//! acts on them (readers, the job lock, the hook) before they are on disk.

use super::freeze::PointInTime;
use crate::engine::participation::HeuristicLog;
use crate::toolkit::journal::{Journal, JournalError};
use crate::toolkit::Backoff;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{SubsecRound, Utc};

use crate::engine::faults::Faults;
use crate::engine::record::{BackupRecord, BackupStatus, ComponentStatus};
use crate::engine::report;
use crate::engine::{single_line, CancelToken, ComponentSpec};
use crate::store::{
    Ack, ComponentStore, HeuristicOutcome, PrepareOutcome, PrepareStatus, ProgressSink,
    ProgressUpdate, StoreError,
};

/// Where the coordinator keeps the backup record: the toolkit's job journal (every `update`
/// saved before it returns, and publishing a progress event for every component whose status
/// changed), and what a backup needs besides. Implemented by the job runner (`crate::jobs`).
pub trait CoordinatorJournal: Journal<BackupRecord> {
    /// Records progress in memory and publishes it; not persisted.
    fn progress(&self, component: &str, update: ProgressUpdate);
    /// Saves the record as the job sees it again (after a failed save).
    fn flush(&self) -> Result<(), JournalError>;
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
    pub journal: Arc<dyn CoordinatorJournal>,
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
fn persist(journal: &dyn CoordinatorJournal, f: &mut dyn FnMut(&mut BackupRecord)) {
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
pub fn persist_durably(
    journal: &dyn CoordinatorJournal,
    what: &str,
    f: &mut dyn FnMut(&mut BackupRecord),
) {
    let mut result = journal.update(f);
    let mut backoff = Backoff::new(Duration::from_millis(500), DURABLE_RETRY_MAX);
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
        backoff.sleep_blocking();
        result = journal.flush();
    }
    if failed {
        tracing::info!(backup = %journal.snapshot().id, "{what} is recorded now");
        journal.set_problem(None);
    }
}

/// Runs the backup to its end and returns the final status. The record is final, persisted and
/// the report written when this returns. Must run inside a `tokio::task::LocalSet` (the
/// renewals of prepared agents are its tasks).
pub async fn run(run: Run) -> BackupStatus {
    let journal = run.journal.clone();
    let started = now();
    persist(&*journal, &mut |r| {
        for c in &mut r.components {
            c.status = ComponentStatus::Preparing;
            c.started_at = Some(started);
        }
    });

    // The shared point in time: freezes, read points, thaws (see `super::freeze`).
    let (mut point, participants) = match PointInTime::take(&run).await {
        Ok(taken) => taken,
        Err(reason) => {
            let cancelled = run.user_cancelled.load(Ordering::SeqCst);
            let reason = if cancelled {
                "cancelled by request".to_string()
            } else {
                reason
            };
            abort_all(&run, &reason).await;
            let status = if cancelled {
                BackupStatus::Cancelled
            } else {
                BackupStatus::Failed
            };
            finish(&*journal, &run.state_dir, &run.faults, status, &mut |_| {});
            return status;
        }
    };

    // Prepare every component concurrently. Each prepare runs in its own task (a panic there
    // fails that component only) and reports through a channel as it finishes.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, PrepareOutcome, u64)>();
    for p in &participants {
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
                    skipped_more: 0,
                    changed_during_backup: vec![],
                    changed_during_backup_count: 0,
                },
            };
            let ms = u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX);
            // The receiver lives until every prepare reported; gone only if the run panicked.
            let _ = tx.send((name, outcome, ms));
        });
    }
    drop(tx);
    let mut all_prepared = true;
    let mut failed_names = Vec::new();
    // Prepared remote components are renewed until the decision is carried out.
    let mut leases = Leases::default();
    while let Some((name, o, ms)) = rx.recv().await {
        // The component's copy has ended: its snapshot goes, whatever the outcome.
        point.release(&name).await;
        if o.status == PrepareStatus::Prepared {
            if let Some(p) = run.participants.iter().find(|p| p.spec.name == name) {
                leases.keep(&run.id, p);
            }
        }
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
                c.files_cloned = o.stats.files_cloned;
                c.bytes_copied = o.stats.bytes_copied;
                c.bytes_linked = o.stats.bytes_linked;
                c.bytes_cloned = o.stats.bytes_cloned;
                c.finished_at = Some(o.finished_at);
                c.duration_ms = Some(ms);
                c.changed_during_backup.clone_from(&o.changed_during_backup);
                c.changed_during_backup_count = o.changed_during_backup_count;
                if o.status == PrepareStatus::Failed {
                    c.errors.extend(o.errors.iter().cloned());
                }
            }
            const SHOWN: usize = 20;
            for path in o.skipped.iter().take(SHOWN) {
                r.notes.push(format!("{name}: skipped special file {path}"));
            }
            let more = (o.skipped.len().saturating_sub(SHOWN) as u64) + o.skipped_more;
            if more > 0 {
                r.notes
                    .push(format!("{name}: {more} more special files skipped"));
            }
        });
    }
    // Every copy has ended: what was read live is thawed now.
    point.end().await;
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
    drop(leases);
    finish(&*journal, &run.state_dir, &run.faults, status, &mut |_| {});
    status
}

/// Renewals of the prepared remote components of a backup (see the module doc): one task
/// each, stopped when this is dropped (also when the backup's task panics). They are the
/// job's own tasks (`spawn_local`: [`run`] is driven inside a `LocalSet`, see
/// `crate::jobs::runner::Runner::block_on_local`), polled only while the job's work is: a job
/// stuck (a hung master) renews nothing, so its agents find it in doubt.
#[derive(Default)]
struct Leases(Vec<tokio::task::JoinHandle<()>>);

impl Leases {
    fn keep(&mut self, id: &str, p: &Participant) {
        let Some(every) = p.store.renew_every() else {
            return;
        };
        let (store, spec, id) = (p.store.clone(), p.spec.clone(), id.to_string());
        self.0.push(tokio::task::spawn_local(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = store.renew(&id, &spec).await {
                    tracing::debug!(component = %spec.name, backup = %id, error = %e, "renewing a prepared backup failed");
                }
            }
        }));
    }
}

impl Drop for Leases {
    fn drop(&mut self) {
        for h in &self.0 {
            h.abort();
        }
    }
}

/// The spec a component is committed with: one slot more than `keep` (at most
/// [`crate::config::MAX_KEEP`]), so the oldest set stays complete until every component
/// committed; [`ComponentStore::finish_commit`] then drops it.
pub fn phase_one(spec: &ComponentSpec) -> ComponentSpec {
    ComponentSpec {
        keep: (spec.keep + 1).min(crate::config::MAX_KEEP),
        ..spec.clone()
    }
}

async fn commit_all(run: &Run) -> BackupStatus {
    run.faults.step("backup_prepared", &run.state_dir);
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

/// Records a heuristic outcome an agent reported (an operator's decision on its machine).
fn record_heuristic(journal: &dyn CoordinatorJournal, h: &HeuristicOutcome) {
    tracing::warn!("{}", single_line(&h.describe()));
    persist(journal, &mut |r| r.note_heuristic(h));
}

/// Records that component `name` committed.
fn record_committed(journal: &dyn CoordinatorJournal, name: &str, ack: &Ack) {
    persist(journal, &mut |r| {
        if let Some(c) = r.component_mut(name) {
            c.status = ComponentStatus::Committed;
        }
    });
    if let Some(h) = &ack.heuristic {
        record_heuristic(journal, h);
    }
}

/// Records that component `name` will not commit in this backup.
fn record_commit_failed(run: &Run, p: &Participant, e: &StoreError) {
    let journal = &*run.journal;
    if let StoreError::Heuristic(h) = e {
        record_heuristic(journal, h);
    }
    let name = p.spec.name.clone();
    let kept = super::recovery::staging_left(p, &run.id);
    let mut msg = single_line(&format!("commit failed: {e}"));
    if let Some(k) = &kept {
        msg.push_str(&format!("; {}", super::recovery::kept_note(k)));
    }
    persist(journal, &mut |r| {
        if let Some(c) = r.component_mut(&name) {
            c.status = ComponentStatus::Failed;
            if !c.errors.contains(&msg) {
                c.errors.push(msg.clone());
            }
        }
        if let Some(k) = &kept {
            if !r.kept_stagings.contains(k) {
                r.kept_stagings.push(k.clone());
            }
        }
    });
}

/// Commits every participant of a backup whose commit decision is already durable (the live
/// path above, and recovery rolling a decided backup forward after a restart): remote
/// components first, each retried until its agent acknowledges (rounds over every remote one
/// not acknowledged yet, so one agent down does not keep the others waiting), then the local
/// ones, each keeping one slot more ([`phase_one`]); once every component committed, the
/// slots above `keep` are dropped. Components the record shows `committed` (acknowledged
/// before a restart) are not asked again, and count as committed. Returns `Succeeded`, or
/// `Failed` with the reason in the record. See the module doc for refusals.
pub async fn commit_decided(run: &Run) -> BackupStatus {
    let journal = &*run.journal;
    let snapshot = journal.snapshot();
    let already: HashSet<String> = snapshot
        .components
        .iter()
        .filter(|c| c.status == ComponentStatus::Committed)
        .map(|c| c.name.clone())
        .collect();
    // Committed for sure, and possibly committed (an attempt whose outcome is unknown; after
    // a restart, every remote component not recorded as committed).
    let mut committed = already.clone();
    let mut uncertain: HashSet<String> = HashSet::new();
    if run.resumed {
        uncertain.extend(
            run.participants
                .iter()
                .filter(|p| p.store.is_remote() && !already.contains(&p.spec.name))
                .map(|p| p.spec.name.clone()),
        );
    }
    let mut failed: Vec<String> = Vec::new();
    let mut first_reported = !already.is_empty();
    // The `backup_first_commit` fault point, once.
    let mut first_commit = || {
        if !first_reported {
            first_reported = true;
            run.faults.step("backup_first_commit", &run.state_dir);
        }
    };

    // Remote components first: they are the ones that can be unreachable or refuse.
    let mut pending: Vec<&Participant> = run
        .participants
        .iter()
        .filter(|p| p.store.is_remote() && !already.contains(&p.spec.name))
        .collect();
    let t0 = std::time::Instant::now();
    let mut backoff = Backoff::new(Duration::from_millis(250), MAX_COMMIT_RETRY_DELAY);
    let mut attempts = 0u32;
    let mut noted: HashSet<String> = HashSet::new();
    while !pending.is_empty() {
        attempts += 1;
        let mut again = Vec::new();
        for p in pending {
            let name = p.spec.name.clone();
            let agent = p.store.location().unwrap_or_default();
            let maybe_committed = |committed: &HashSet<String>, uncertain: &HashSet<String>| {
                !committed.is_empty() || uncertain.iter().any(|u| *u != name)
            };
            match p.store.commit(&run.id, &phase_one(&p.spec)).await {
                Ok(ack) => {
                    if attempts > 1 {
                        let note = format!(
                            "{name}: the agent {agent} acknowledged the commit after {attempts} attempts ({} s after the decision)",
                            t0.elapsed().as_secs()
                        );
                        tracing::info!(backup = %run.id, "{note}");
                        persist(journal, &mut |r| r.notes.push(note.clone()));
                    }
                    committed.insert(name.clone());
                    uncertain.remove(&name);
                    record_committed(journal, &name, &ack);
                    first_commit();
                }
                // It never will commit (aborted by an operator, or otherwise ended there).
                Err(e @ (StoreError::Conflict(_) | StoreError::Heuristic(_))) => {
                    if !maybe_committed(&committed, &uncertain) {
                        return abandon(run, &name, &e).await;
                    }
                    uncertain.remove(&name);
                    failed.push(name.clone());
                    record_commit_failed(run, p, &e);
                }
                // Taken out of the config: nothing can reach it any more.
                Err(e @ StoreError::NotConfigured(_)) => {
                    if !maybe_committed(&committed, &uncertain) && !uncertain.contains(&name) {
                        return abandon(run, &name, &e).await;
                    }
                    uncertain.remove(&name);
                    failed.push(name.clone());
                    record_commit_failed(run, p, &e);
                }
                Err(e @ StoreError::Refused(_))
                    if !maybe_committed(&committed, &uncertain) && !uncertain.contains(&name) =>
                {
                    return abandon(run, &name, &e).await;
                }
                Err(e) => {
                    let refused = matches!(e, StoreError::Refused(_));
                    if !refused {
                        uncertain.insert(name.clone());
                    }
                    if noted.insert(name.clone()) {
                        let note = if refused {
                            single_line(&format!(
                                "{name}: the commit was decided but the agent refused it ({e}); the set can only be completed through this agent ({agent}), so the master retries until it accepts (fix the cause, e.g. the token, and restart the master if needed); the backup stays running and holds the job lock meanwhile"
                            ))
                        } else {
                            single_line(&format!(
                                "{name}: the commit was decided but the agent did not acknowledge it ({e}); retrying until it does (the agent {agent} keeps its part prepared meanwhile); the backup stays running and holds the job lock"
                            ))
                        };
                        tracing::warn!(backup = %run.id, "{note}");
                        persist(journal, &mut |r| r.notes.push(note.clone()));
                    }
                    again.push(p);
                }
            }
        }
        pending = again;
        if !pending.is_empty() {
            backoff.sleep().await;
        }
    }
    if committed.is_empty() && !failed.is_empty() && uncertain.is_empty() {
        // Every remote component refused for good and nothing committed: still consistent to
        // abandon (the locals commit only after the remote ones).
        let name = failed[0].clone();
        let e = StoreError::Conflict(format!("{name} will not commit"));
        return abandon(run, &name, &e).await;
    }

    // Then the local ones. Rotation is idempotent: one retry covers a transient error. A
    // failed local rotation may have shifted slots already: never a reason to abandon the set.
    for p in run
        .participants
        .iter()
        .filter(|p| !p.store.is_remote() && !already.contains(&p.spec.name))
    {
        let spec = phase_one(&p.spec);
        let mut res = p.store.commit(&run.id, &spec).await;
        if res.is_err() {
            res = p.store.commit(&run.id, &spec).await;
        }
        match res {
            Ok(ack) => {
                committed.insert(p.spec.name.clone());
                record_committed(journal, &p.spec.name, &ack);
                first_commit();
            }
            Err(e) => {
                failed.push(p.spec.name.clone());
                record_commit_failed(run, p, &e);
            }
        }
    }
    if failed.is_empty() {
        finish_all(run).await;
        BackupStatus::Succeeded
    } else {
        let msg = format!(
            "the set is incomplete: component(s) {} did not commit while others did; \
             earlier complete sets are still in the history",
            failed.join(", ")
        );
        persist(journal, &mut |r| r.errors.push(msg.clone()));
        BackupStatus::Failed
    }
}

/// Longest wait between two rounds of commit attempts of unacknowledged remote components.
pub const MAX_COMMIT_RETRY_DELAY: Duration = Duration::from_secs(5);

/// Every component committed: drops the slots above `keep` that the commit kept (best effort:
/// a failure is noted, and the next backup's rotation drops them).
async fn finish_all(run: &Run) {
    for p in &run.participants {
        if let Err(e) = p.store.finish_commit(&run.id, &p.spec).await {
            let note = single_line(&format!(
                "{}: the set is complete, but the slots above keep = {} could not be dropped yet ({e}); the next backup drops them",
                p.spec.name, p.spec.keep
            ));
            tracing::warn!(backup = %run.id, "{note}");
            persist(&*run.journal, &mut |r| r.notes.push(note.clone()));
        }
    }
}

/// Abandons a decided backup that component `name` refused before any component committed:
/// the decision is withdrawn durably first, then every component is aborted.
async fn abandon(run: &Run, name: &str, e: &StoreError) -> BackupStatus {
    let journal = &*run.journal;
    if let StoreError::Heuristic(h) = e {
        record_heuristic(journal, h);
    }
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
        match &res {
            Ok(Ack {
                heuristic: Some(h), ..
            })
            | Err(StoreError::Heuristic(h)) => record_heuristic(journal, h),
            _ => {}
        }
        let unacknowledged = p.store.is_remote()
            && matches!(
                res,
                Err(StoreError::Remote(_) | StoreError::Internal(_) | StoreError::Refused(_))
            );
        let agent = p.store.location().unwrap_or_default();
        persist(journal, &mut |r| {
            if let Some(c) = r.component_mut(&name) {
                if c.status != ComponentStatus::Failed {
                    c.status = ComponentStatus::Aborted;
                }
                if let Err(e) = &res {
                    c.errors.push(single_line(&format!("abort failed: {e}")));
                }
            }
            if unacknowledged {
                r.notes.push(format!(
                    "{name}: the agent {agent} did not acknowledge the abort; nothing commits \
                     there without the master, which removes its staging folder when it reaches \
                     the agent again (presumed abort); no slot changed"
                ));
            }
        });
    }
}

/// Makes the record final: status, `finished_at`, report written (atomically), record persisted
/// durably with its after-backup hook owed (`hook_pending`). `extra` may add notes or errors
/// first. Returns only once the final record is on disk (see [`persist_durably`]).
pub fn finish(
    journal: &dyn CoordinatorJournal,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_phase_keeps_one_slot_more_within_the_limit() {
        let spec = |keep| ComponentSpec {
            name: "hub".into(),
            profile: crate::engine::Profile::MaestroHub,
            home: "/h".into(),
            backup_folder: "/h/backup".into(),
            keep,
            items: vec![],
            consistency: Default::default(),
            read_point: None,
        };
        assert_eq!(phase_one(&spec(0)).keep, 1);
        assert_eq!(phase_one(&spec(3)).keep, 4);
        assert_eq!(
            phase_one(&spec(crate::config::MAX_KEEP)).keep,
            crate::config::MAX_KEEP
        );
    }
}
