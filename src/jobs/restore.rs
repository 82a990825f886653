//! The restore job kind: the restore records (loaded at start, listed newest first), starting
//! a restore (checks and plan from [`crate::restore`], under the job lock), applying it as a
//! job of the runner ([`super::runner`]), and recovering one a crash interrupted. What a restore does to a home
//! is [`crate::restore`]'s; this module runs it as a job.

use crate::toolkit::journal::JournalError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use chrono::Utc;

use super::{BackupJobs, ExclusiveGuard, JobKind, ListQuery, StartError as LockError};
use crate::engine::faults::Faults;
use crate::engine::lifecycle::{ComponentLifecycle, Lifecycle};
use crate::engine::participation::HeuristicLog;
use crate::restore::apply::{self, Journal};
use crate::restore::record::{self, RestoreStatus as S};
use crate::restore::record::{FolderCheck, StepAction};
use crate::restore::{
    check_request, plan, prepare, recovery, remote, undo, RestoreRecord, RestoreRefused,
    RestoreRequest, RestoreStatus,
};
use crate::sets::Sets;
use crate::toolkit::fsutil::IoError;
use crate::toolkit::job_id::{self, IdIssuer};
use crate::toolkit::record_dir::RecordIndex;
use crate::toolkit::Backoff;

/// Largest page [`Restorer::list`] returns.
pub const MAX_PAGE: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("{0}")]
    Io(String),
}

/// Why an undo or the deletion of a safety copy was refused. Nothing was changed on disk.
#[derive(Debug, thiserror::Error)]
pub enum UndoError {
    #[error("no restore {0}")]
    NotFound(String),
    #[error("a {kind} is already running: {id}")]
    Busy { kind: JobKind, id: String },
    #[error("{}", .0.message)]
    Refused(undo::Blocked),
    /// A safety folder at the recorded name is not the one the restore made.
    #[error("{0}")]
    NotOurs(String),
    #[error("{0}")]
    Io(String),
}

impl From<LockError> for UndoError {
    fn from(e: LockError) -> UndoError {
        match e {
            LockError::Busy { kind, id } => UndoError::Busy { kind, id },
            other => UndoError::Io(other.to_string()),
        }
    }
}

struct Inner {
    state_dir: PathBuf,
    engine: BackupJobs,
    sets: Sets,
    faults: Faults,
    records: Mutex<RecordIndex<RestoreRecord>>,
    ids: Mutex<IdIssuer>,
    /// Serialises snapshot-and-save, so an older snapshot never overwrites a newer one.
    write_lock: Mutex<()>,
    /// The journals of restores running as jobs: a change from outside the job (a heuristic
    /// outcome) goes through the job's own record, never over it.
    live: Mutex<BTreeMap<String, Weak<RestoreJournal>>>,
    /// Each component's stop, start and health settings, as configured now (the config
    /// layer sets them: [`Restorer::set_lifecycles`]).
    lifecycles: Mutex<BTreeMap<String, Lifecycle>>,
}

impl Inner {
    /// The link to the agents of remote components, on the server's runtime.
    fn agent_link(&self) -> remote::AgentLink {
        remote::AgentLink {
            locator: Arc::new(self.engine.clone()),
            rt: Some(self.engine.runner().handle().clone()),
        }
    }

    /// Marks the kept safety copies of components `names` of restore `id` discarded
    /// (`because`), durably, then deletes each folder the record proves the restore made
    /// ([`undo::discard`]). Returns the folders left alone; `Err`: the record could not be
    /// saved (nothing was deleted). A copy discarded already is deleted again only if it is
    /// still there (a crash in between).
    fn discard_copies(
        &self,
        id: &str,
        names: &[String],
        because: &str,
    ) -> Result<Vec<String>, String> {
        let to_delete: Vec<record::ComponentRestore> = {
            let _w = lock(&self.write_lock);
            let mut records = lock(&self.records);
            let Some(rec) = records.get_mut(id) else {
                return Ok(vec![]);
            };
            let mut next = rec.clone();
            let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 0);
            let mut changed = false;
            for c in next
                .components
                .iter_mut()
                .filter(|c| names.contains(&c.name))
            {
                if let Some(k) = c.safety_copy.as_mut().filter(|k| k.is_kept()) {
                    k.discarded_at = Some(now);
                    k.discarded_because = Some(because.to_string());
                    changed = true;
                }
            }
            if changed {
                record::save(&self.state_dir, &next).map_err(|e| {
                    format!("could not record that the safety copy is discarded: {e}")
                })?;
                *rec = next.clone();
            }
            next.components
                .into_iter()
                .filter(|c| names.contains(&c.name) && c.safety_copy.is_some())
                .collect()
        };
        let mut left = Vec::new();
        for c in &to_delete {
            let result = if c.agent.is_some() {
                self.agent_link()
                    .discard_safety_copy(&c.name, id)
                    .map(|()| true)
                    .map_err(|e| format!("the agent of {} did not discard it: {e}", c.name))
            } else {
                undo::discard(c)
            };
            match result {
                Ok(true) => {
                    tracing::info!(restore = %id, component = %c.name, folder = %c.safety_folder, "discarded a kept safety copy")
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(restore = %id, component = %c.name, error = %e, "a kept safety copy was not deleted");
                    left.push(e);
                }
            }
        }
        Ok(left)
    }

    /// After restore `r` succeeded: the kept safety copies of earlier restores of its
    /// components are discarded; for an undo, the home folders get back their times from
    /// before the undone restore. Returns a step per discarded copy, for `r`'s record.
    fn after_success(&self, r: &RestoreRecord) -> Vec<(String, String, String)> {
        let mut discarded = Vec::new();
        type Kept = Vec<(String, String)>;
        let earlier: Vec<(String, Kept)> = lock(&self.records)
            .oldest_first()
            .filter(|p| p.id < r.id)
            .map(|p| {
                let kept = p
                    .components
                    .iter()
                    .filter(|c| c.safety_copy.as_ref().is_some_and(|k| k.is_kept()))
                    .filter(|c| r.components.iter().any(|rc| rc.name == c.name))
                    .map(|c| (c.name.clone(), c.safety_folder.clone()))
                    .collect();
                (p.id.clone(), kept)
            })
            .filter(|(_, kept): &(String, Kept)| !kept.is_empty())
            .collect();
        for (pid, kept) in earlier {
            let because = format!("the later restore {} of it {}", r.id, r.status.as_str());
            let names: Vec<String> = kept.iter().map(|(n, _)| n.clone()).collect();
            match self.discard_copies(&pid, &names, &because) {
                Ok(_) => discarded.extend(kept.into_iter().map(|(n, f)| (n, pid.clone(), f))),
                Err(e) => {
                    tracing::warn!(restore = %pid, error = %e, "a superseded safety copy was kept")
                }
            }
        }
        if r.undo_of.is_some() {
            for c in &r.components {
                if let Some(u) = &c.undo {
                    apply::set_folder_times(&u.folder_times);
                }
            }
        }
        discarded
    }
}

/// The restore jobs. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Restorer {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

type Critical = super::journal::Critical<RestoreStatus>;

/// The job's own record of a restore, and what of it is on disk.
struct Work {
    rec: RestoreRecord,
    /// The critical fields as last saved.
    saved: Critical,
    /// The last save failed: `rec` is not (all) on disk.
    dirty: bool,
}

/// The journal of one restore: the job's working record, saved at every update, and the view
/// readers get.
///
/// A restore's end and its commit decision count only once they are on disk: readers see
/// `status`, `finished_at` and `commit_decided` as last saved while the job works with its own
/// values, and a final record whose save failed is saved again ([`RestoreJournal::flush_durably`])
/// before the job gives up the lock. A decision whose save failed is withdrawn durably before
/// `update` returns the error (the failed save may have reached the disk all the same), so the
/// rollback that follows is never rolled forward by recovery.
///
/// With `hold_final` (the journal of a restore job) the final status is written to disk at once
/// but shown to readers only by [`RestoreJournal::publish`], which the runner's finish step
/// calls after the one-job lock is released: a client that sees the restore final can start
/// the next job without meeting a 409.
struct RestoreJournal {
    inner: Arc<Inner>,
    id: String,
    hold_final: bool,
    held: Mutex<Option<RestoreRecord>>,
    /// The held final record was shown: later changes are shown at once.
    published: AtomicBool,
    work: Mutex<Work>,
}

impl RestoreJournal {
    /// The journal of restore `id`, whose record (in `inner.records`) is on disk.
    fn new(inner: Arc<Inner>, id: String, hold_final: bool) -> RestoreJournal {
        let rec = lock(&inner.records)
            .get(&id)
            .cloned()
            .unwrap_or_else(|| RestoreRecord::empty(&id));
        RestoreJournal {
            inner,
            id,
            hold_final,
            held: Mutex::new(None),
            published: AtomicBool::new(false),
            work: Mutex::new(Work {
                saved: Critical::of(&rec),
                rec,
                dirty: false,
            }),
        }
    }

    fn save(&self, rec: &RestoreRecord, was: Critical) -> Result<(), IoError> {
        let path = record::record_path(&self.inner.state_dir, &self.id);
        let now = Critical::of(rec);
        if let Some(e) =
            super::journal::injected_save_fault(&self.inner.faults, "restore", was, now, path)
        {
            return Err(e);
        }
        record::save(&self.inner.state_dir, rec)
    }

    /// Shows `work.rec` with its durable critical fields to readers.
    fn show(&self, work: &Work) {
        let mut view = work.rec.clone();
        work.saved.put(&mut view);
        if self.hold_final && view.status.is_final() && !self.published.load(Ordering::SeqCst) {
            *lock(&self.held) = Some(view);
        } else {
            lock(&self.inner.records).insert(view);
        }
    }

    fn set_problem(&self, problem: Option<String>) {
        self.inner
            .engine
            .set_problem(&format!("restore {}", self.id), problem);
    }

    /// Saves `work.rec` until it is on disk (0.5 s doubling to 15 s between attempts), the
    /// problem reported meanwhile.
    fn save_until_durable(&self, work: &mut Work, what: &str) {
        let mut backoff = Backoff::new(
            std::time::Duration::from_millis(500),
            std::time::Duration::from_secs(15),
        );
        let mut failed = false;
        loop {
            match self.save(&work.rec, work.saved) {
                Ok(()) => break,
                Err(e) => {
                    failed = true;
                    let problem = crate::engine::single_line(&format!(
                        "restore {}: {what} could not be recorded ({e}); retrying; until then \
                         the restore stays running and holds the job lock",
                        self.id
                    ));
                    tracing::error!(problem = %problem, "restore record not writable");
                    self.set_problem(Some(problem));
                    backoff.sleep_blocking();
                }
            }
        }
        work.saved = Critical::of(&work.rec);
        work.dirty = false;
        self.show(work);
        if failed {
            self.set_problem(None);
        }
    }

    /// Returns once the job's record is on disk (after a failed save: retried). Blocking.
    fn flush_durably(&self) {
        let _w = lock(&self.inner.write_lock);
        let mut work = lock(&self.work);
        if work.dirty {
            self.save_until_durable(&mut work, "the restore's state");
        }
    }

    fn is_dirty(&self) -> bool {
        lock(&self.work).dirty
    }

    /// Shows a held final record to readers; any later change is shown at once. Under the
    /// write lock, like every `show`, so no change is left held after it.
    fn publish(&self) {
        let _w = lock(&self.inner.write_lock);
        self.published.store(true, Ordering::SeqCst);
        if let Some(rec) = lock(&self.held).take() {
            lock(&self.inner.records).insert(rec);
        }
    }
}

impl Journal<RestoreRecord> for RestoreJournal {
    fn update(&self, f: &mut dyn FnMut(&mut RestoreRecord)) -> Result<(), JournalError> {
        let _w = lock(&self.inner.write_lock);
        let mut work = lock(&self.work);
        let was = work.saved;
        let mut next = work.rec.clone();
        f(&mut next);
        let result = self.save(&next, was);
        let newly_decided = next.commit_decided && !was.commit_decided;
        work.rec = next;
        match &result {
            Ok(()) => {
                work.saved = Critical::of(&work.rec);
                work.dirty = false;
                if newly_decided {
                    self.show(&work);
                    drop(work);
                    self.inner
                        .faults
                        .step("restore_decided", &self.inner.state_dir);
                    return result.map_err(Into::into);
                }
            }
            Err(e) if newly_decided => {
                work.rec.commit_decided = false;
                work.rec.notes.push(format!(
                    "the commit decision could not be recorded ({e}); it was withdrawn and every \
                     component is put back"
                ));
                work.dirty = true;
                self.save_until_durable(&mut work, "withdrawing the commit decision");
            }
            Err(_) => work.dirty = true,
        }
        self.show(&work);
        result.map_err(Into::into)
    }

    fn snapshot(&self) -> RestoreRecord {
        lock(&self.work).rec.clone()
    }

    fn step_reached(&self, step: &str) {
        self.inner.faults.step(step, &self.inner.state_dir);
    }
}

impl Restorer {
    /// Loads the restore records and finishes every restore still `running` (a crash): rolled
    /// back and `interrupted`, or completed when its commit was decided. Faults come from
    /// `BACKUP_MASTER_FAULTS` (the `restore_*` names of `crate::engine::faults`).
    pub fn open(
        state_dir: &Path,
        engine: BackupJobs,
        sets: Sets,
    ) -> Result<Restorer, RestoreError> {
        let faults = Faults::from_env().map_err(|e| RestoreError::Io(e.to_string()))?;
        Self::open_with(state_dir, engine, sets, faults)
    }

    /// Like [`Restorer::open`] with explicit faults.
    pub fn open_with(
        state_dir: &Path,
        engine: BackupJobs,
        sets: Sets,
        faults: Faults,
    ) -> Result<Restorer, RestoreError> {
        let (records, warnings) =
            record::load_all(state_dir).map_err(|e| RestoreError::Io(e.to_string()))?;
        for w in warnings {
            tracing::warn!("{w}");
        }
        // Restore records hold every ID issued: the greatest is the floor of the next.
        let last = IdIssuer::new(job_id::RESTORE, records.iter().map(|r| r.id.as_str()).max());
        let running: Vec<String> = records
            .iter()
            .filter(|r| r.status == S::Running)
            .map(|r| r.id.clone())
            .collect();
        let restorer = Restorer {
            inner: Arc::new(Inner {
                state_dir: state_dir.to_path_buf(),
                engine,
                sets,
                faults,
                records: Mutex::new(records.into_iter().collect()),
                ids: Mutex::new(last),
                write_lock: Mutex::new(()),
                live: Mutex::new(BTreeMap::new()),
                lifecycles: Mutex::new(BTreeMap::new()),
            }),
        };
        for id in running {
            // Agents, and applications to stop and start (whose health may take minutes), are
            // waited for by a job of the runner: start-up waits for neither.
            let in_background = lock(&restorer.inner.records).get(&id).is_some_and(|r| {
                r.components.iter().any(|c| c.agent.is_some()) || !r.lifecycle.is_empty()
            });
            if in_background {
                restorer.recover_in_background(id);
                continue;
            }
            let journal = RestoreJournal::new(restorer.inner.clone(), id.clone(), false);
            let link = remote::AgentLink {
                locator: Arc::new(restorer.inner.engine.clone()),
                rt: None,
            };
            recovery::recover_with(&journal, &restorer.inner.faults, &link);
            let r = journal.snapshot();
            tracing::warn!(restore = %id, status = r.status.as_str(), "recovered an interrupted restore");
            if journal.is_dirty() {
                // Its end is not on disk: it stays `running` for readers until it is, holding
                // the job lock when it can have it (the runner's finish step saves it).
                let guard = restorer
                    .inner
                    .engine
                    .try_lock_exclusive(JobKind::Restore, &id)
                    .ok();
                restorer.run_job(journal, Task::Flush, guard);
            }
        }
        restorer.settle_kept_copies();
        restorer.warn_about_leftovers();
        Ok(restorer)
    }

    /// Recovers interrupted restore `id`, which has remote components or lifecycle commands, as
    /// a job of the runner holding the job lock (taken before this returns): start-up never
    /// waits for an agent or an application's health, and
    /// the restore stays `running` (with notes naming the agents it waits for) until every
    /// agent acknowledged the commit or the rollback (see [`recovery`]).
    fn recover_in_background(&self, id: String) {
        let guard = self
            .inner
            .engine
            .try_lock_exclusive(JobKind::Restore, &id)
            .map_err(|e| tracing::error!(restore = %id, error = %e, "recovering a restore without the job lock"))
            .ok();
        let journal = RestoreJournal::new(self.inner.clone(), id, true);
        self.run_job(journal, Task::Recover, guard);
    }

    /// Runs `task` on restore `journal.id` as a job of the runner, holding `guard`.
    fn run_job(&self, journal: RestoreJournal, task: Task, guard: Option<ExclusiveGuard>) {
        let journal = Arc::new(journal);
        {
            let mut live = lock(&self.inner.live);
            live.retain(|_, j| j.strong_count() > 0);
            live.insert(journal.id.clone(), Arc::downgrade(&journal));
        }
        let runner = self.inner.engine.runner();
        let job = RestoreJob {
            inner: self.inner.clone(),
            link: self.inner.agent_link(),
            journal,
            task,
        };
        runner.spawn(Arc::new(job), guard);
    }

    /// Adds a heuristic outcome met later (an operator's decision on an agent's machine) to
    /// the record of restore `id` (final or not), and saves it.
    pub fn record_heuristic(
        &self,
        id: &str,
        h: &crate::store::HeuristicOutcome,
    ) -> Result<(), String> {
        // A restore still running as a job: through its journal, so the job's record (which
        // may hold a final status not yet shown) is the one changed and saved.
        let live = lock(&self.inner.live).get(id).and_then(Weak::upgrade);
        if let Some(journal) = live {
            return journal
                .update(&mut |r| r.note_heuristic(h))
                .map_err(|e| e.to_string());
        }
        let _w = lock(&self.inner.write_lock);
        let mut records = lock(&self.inner.records);
        let rec = records
            .get_mut(id)
            .ok_or_else(|| format!("no restore {id}"))?;
        let mut next = rec.clone();
        next.note_heuristic(h);
        record::save(&self.inner.state_dir, &next).map_err(|e| e.to_string())?;
        *rec = next;
        Ok(())
    }

    /// At start-up, what a crash may have left half done with kept safety copies: a copy that a
    /// later succeeded restore of its component superseded is discarded, and a copy recorded
    /// discarded whose folder is still there is deleted (each only when the record proves the
    /// restore made it). Local components only: a remote component's agent settles its own
    /// copies (it discards superseded ones when a later restore commits there, and finishes an
    /// interrupted discard at its start), and a call to an agent here would block the start-up
    /// on the runtime that has to carry it.
    fn settle_kept_copies(&self) {
        let work: Vec<(String, Vec<String>, Option<String>)> = {
            let records = lock(&self.inner.records);
            records
                .oldest_first()
                .filter(|p| p.committed())
                .filter_map(|p| {
                    let mut names = Vec::new();
                    let mut because = None;
                    let local = |c: &&record::ComponentRestore| c.agent.is_none();
                    for c in p
                        .components
                        .iter()
                        .filter(local)
                        .filter(|c| c.safety_copy.is_some())
                    {
                        let later = records.oldest_first().find(|l| {
                            l.id > p.id
                                && l.committed()
                                && l.components.iter().any(|lc| lc.name == c.name)
                        });
                        let kept = c.safety_copy.as_ref().is_some_and(|k| k.is_kept());
                        match later {
                            Some(l) if kept => {
                                because =
                                    Some(format!("the later restore {} of it succeeded", l.id));
                                names.push(c.name.clone());
                            }
                            _ if !kept && Path::new(&c.safety_folder).exists() => {
                                names.push(c.name.clone())
                            }
                            _ if !kept && apply::retired_name(&c.safety_folder).exists() => {
                                names.push(c.name.clone())
                            }
                            _ => {}
                        }
                    }
                    (!names.is_empty()).then(|| (p.id.clone(), names, because))
                })
                .collect()
        };
        for (id, names, because) in work {
            let because = because.unwrap_or_else(|| "discarded before a restart".into());
            if let Err(e) = self.inner.discard_copies(&id, &names, &because) {
                tracing::warn!(restore = %id, error = %e, "a safety copy to discard was kept");
            }
        }
    }

    /// Logs safety folders no running restore will roll back (a rollback that could not
    /// finish, or a state folder that was lost): they hold a home's old items, so they are
    /// never removed automatically. Retired ones (their restore committed) are deleted.
    fn warn_about_leftovers(&self) {
        let records = lock(&self.inner.records);
        for spec in self.inner.engine.components() {
            let Ok(entries) = std::fs::read_dir(&spec.home) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let Some(id) = name.strip_prefix(plan::SAFETY_PREFIX) else {
                    continue;
                };
                // Retired only after its restore committed: the deletion a crash interrupted,
                // done only for the folder that restore's record proves it made.
                if let Some(rid) = id.strip_suffix(apply::RETIRED_SUFFIX) {
                    match records.get(rid) {
                        Some(r) if r.commit_decided => apply::purge_retired(r),
                        _ => tracing::warn!(
                            folder = %e.path().display(),
                            "no committed restore made this folder; it was left as it is"
                        ),
                    }
                    continue;
                }
                let kept = records.get(id).is_some_and(|r| {
                    r.committed()
                        && r.components.iter().any(|c| {
                            c.safety_copy.is_some() && Path::new(&c.safety_folder) == e.path()
                        })
                });
                if kept {
                    continue;
                }
                if records.get(id).is_none_or(|r| r.status != S::Running) {
                    tracing::warn!(
                        component = %spec.name,
                        folder = %e.path().display(),
                        "a restore safety folder was left behind; it holds the items the \
                         restore replaced: check and remove it by hand"
                    );
                }
            }
        }
    }

    /// Every restore, newest first, paged.
    pub fn list(&self, q: &ListQuery<RestoreStatus>) -> (Vec<RestoreRecord>, Option<String>) {
        let records = lock(&self.inner.records);
        let (mut page, next) = records.page(q, MAX_PAGE);
        for r in &mut page {
            undo::annotate(r, records.newest_first());
        }
        (page, next)
    }

    /// Restore `id`, with whether it can be undone now.
    pub fn get(&self, id: &str) -> Option<RestoreRecord> {
        let records = lock(&self.inner.records);
        let mut r = records.get(id).cloned()?;
        undo::annotate(&mut r, records.newest_first());
        Some(r)
    }

    /// The newest succeeded restore that appended `RestoreFromBackup=<folder>` to component
    /// `component`'s `lui.ini` (for the 409 a backup gets while the line is there).
    pub fn pending_restore(&self, component: &str, folder: &str) -> Option<String> {
        lock(&self.inner.records)
            .newest_first()
            .filter(|r| r.committed())
            .find(|r| {
                r.components.iter().any(|c| {
                    c.name == component
                        && c.edit.iter().any(|e| {
                            e.append
                                .split_once('=')
                                .is_some_and(|(_, v)| v.trim() == folder)
                        })
                })
            })
            .map(|r| r.id.clone())
    }

    /// Replaces the components' stop, start and health settings (at start-up and whenever the
    /// config changes); a restore records those of its components when it begins.
    pub fn set_lifecycles(&self, lifecycles: BTreeMap<String, Lifecycle>) {
        *lock(&self.inner.lifecycles) = lifecycles;
    }

    /// The lifecycle entries of restore `rec`: its components that have a command, in the
    /// record's (config) order.
    fn lifecycle_of(&self, rec: &RestoreRecord) -> Vec<ComponentLifecycle> {
        let all = lock(&self.inner.lifecycles);
        rec.components
            .iter()
            .filter_map(|c| {
                let l = all.get(&c.name).filter(|l| l.is_set())?;
                let mut entry = ComponentLifecycle::new(&c.name, &c.home, l.clone());
                entry.agent.clone_from(&c.agent);
                Some(entry)
            })
            .collect()
    }

    fn issue_id(&self) -> String {
        lock(&self.inner.ids).issue(Utc::now())
    }

    /// [`Restorer::start`] for async callers: on the runtime's blocking pool.
    pub async fn start_async(&self, req: RestoreRequest) -> Result<RestoreRecord, RestoreRefused> {
        let me = self.clone();
        self.inner
            .engine
            .runner()
            .blocking(move || me.start(req))
            .await
            .map_err(|e| RestoreRefused::Io(e.to_string()))?
    }

    /// Checks, plans and verifies a restore, records it, and (unless a dry run) starts applying
    /// it as a job of the runner. Blocking. See the module doc.
    pub fn start(&self, req: RestoreRequest) -> Result<RestoreRecord, RestoreRefused> {
        let specs = self.inner.engine.all_components();
        let chosen = check_request(&req, &specs)?;
        let id = self.issue_id();
        let guard = self
            .inner
            .engine
            .try_lock_exclusive(JobKind::Restore, &id)
            .map_err(|e| match e {
                LockError::Busy { kind, id } => RestoreRefused::Busy { kind, id },
                other => RestoreRefused::Io(other.to_string()),
            })?;
        let rec = prepare(
            &self.inner.sets,
            Arc::new(self.inner.engine.clone()),
            &id,
            &req,
            &chosen,
        )?;
        let mut rec = rec;
        if !rec.dry_run {
            rec.lifecycle = self.lifecycle_of(&rec);
        }
        {
            let _w = lock(&self.inner.write_lock);
            record::save(&self.inner.state_dir, &rec)
                .map_err(|e| RestoreRefused::Io(format!("could not record the restore: {e}")))?;
            lock(&self.inner.records).insert(rec.clone());
        }
        if rec.dry_run {
            tracing::info!(restore = %id, backup = %rec.backup_id, "restore planned (dry run)");
            return Ok(rec);
        }
        tracing::info!(restore = %id, backup = %rec.backup_id, "restore started");
        let journal = RestoreJournal::new(self.inner.clone(), id, true);
        self.run_job(journal, Task::Apply, Some(guard));
        Ok(rec)
    }

    /// [`Restorer::undo`] for async callers: on the runtime's blocking pool.
    pub async fn undo_async(&self, id: String) -> Result<RestoreRecord, UndoError> {
        let me = self.clone();
        self.inner
            .engine
            .runner()
            .blocking(move || me.undo(&id))
            .await
            .map_err(|e| UndoError::Io(e.to_string()))?
    }

    /// Starts the undo of restore `id` (see [`undo`]): a restore job of its own, under the job
    /// lock, recorded with `undo_of`. Refused, changing nothing, while a job runs or when the
    /// restore cannot be undone. Blocking.
    pub fn undo(&self, id: &str) -> Result<RestoreRecord, UndoError> {
        let uid = self.issue_id();
        let guard = self
            .inner
            .engine
            .try_lock_exclusive(JobKind::Restore, &uid)?;
        let undone = {
            let records = lock(&self.inner.records);
            let rec = records
                .get(id)
                .cloned()
                .ok_or_else(|| UndoError::NotFound(id.to_string()))?;
            if let Some(b) = undo::blocker(&rec, records.newest_first()) {
                return Err(UndoError::Refused(b));
            }
            rec
        };
        let link = self.inner.agent_link();
        let components = undo::plan_undo(&uid, &undone, &mut |c| {
            plan_undo_on_agent(&link, &uid, &undone, c)
        })
        .map_err(UndoError::Refused)?;
        let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 0);
        let mut rec = RestoreRecord::blank(&uid, &undone.backup_id, S::Running, now);
        rec.undo_of = Some(undone.id.clone());
        rec.requested_components = Some(components.iter().map(|c| c.name.clone()).collect());
        rec.started_at = Some(now);
        rec.verification = components
            .iter()
            .map(|c| FolderCheck {
                component: c.name.clone(),
                folder: c.source_folder.clone(),
                ok: true,
                problems: vec![],
            })
            .collect();
        rec.components = components;
        rec.lifecycle = self.lifecycle_of(&rec);
        rec.step(
            StepAction::Planned,
            None,
            None,
            None,
            Some(format!(
                "undo of restore {}: {} component(s) from its safety folders",
                undone.id,
                rec.components.len()
            )),
        );
        for c in &rec.verification.clone() {
            rec.step(
                StepAction::Verified,
                Some(&c.component),
                Some(&c.folder),
                None,
                Some("every entry to copy back is the one the restore moved there".into()),
            );
        }
        {
            let _w = lock(&self.inner.write_lock);
            record::save(&self.inner.state_dir, &rec)
                .map_err(|e| UndoError::Io(format!("could not record the undo: {e}")))?;
            lock(&self.inner.records).insert(rec.clone());
        }
        tracing::info!(restore = %uid, undo_of = %undone.id, "undo started");
        let journal = RestoreJournal::new(self.inner.clone(), uid, true);
        self.run_job(journal, Task::Apply, Some(guard));
        Ok(rec)
    }

    /// [`Restorer::discard_safety_copy`] for async callers: on the runtime's blocking pool.
    pub async fn discard_safety_copy_async(&self, id: String) -> Result<RestoreRecord, UndoError> {
        let me = self.clone();
        self.inner
            .engine
            .runner()
            .blocking(move || me.discard_safety_copy(&id))
            .await
            .map_err(|e| UndoError::Io(e.to_string()))?
    }

    /// Discards every kept safety copy of restore `id` (the operator's `DELETE`), under the job
    /// lock (an undo may be reading it). Refused when it keeps none. Blocking.
    pub fn discard_safety_copy(&self, id: &str) -> Result<RestoreRecord, UndoError> {
        let _guard = self.inner.engine.try_lock_exclusive(JobKind::Restore, id)?;
        let rec = self
            .get(id)
            .ok_or_else(|| UndoError::NotFound(id.to_string()))?;
        let kept: Vec<String> = rec
            .components
            .iter()
            .filter(|c| c.safety_copy.as_ref().is_some_and(|k| k.is_kept()))
            .map(|c| c.name.clone())
            .collect();
        if kept.is_empty() {
            return Err(UndoError::Refused(undo::Blocked {
                why: undo::UndoRefusal::SafetyCopyGone,
                message: format!("restore {id} keeps no safety copy"),
            }));
        }
        let errors = self
            .inner
            .discard_copies(id, &kept, "deleted by the operator")
            .map_err(UndoError::Io)?;
        if !errors.is_empty() {
            return Err(UndoError::NotOurs(errors.join("; ")));
        }
        self.get(id)
            .ok_or_else(|| UndoError::NotFound(id.to_string()))
    }

    /// Blocks until the restore is final (or `timeout`); for tests.
    pub fn wait_blocking(&self, id: &str, timeout: std::time::Duration) -> Option<RestoreRecord> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let r = self.get(id)?;
            let locked = self.inner.engine.running().is_some_and(|j| j.id == id);
            if (r.status.is_final() && !locked) || std::time::Instant::now() >= deadline {
                return Some(r);
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

/// What a [`RestoreJob`] does.
enum Task {
    /// Applies a recorded plan.
    Apply,
    /// Finishes a restore a crash interrupted (see [`recovery`]).
    Recover,
    /// Only saves the end that recovery could not save (the finish step does).
    Flush,
}

/// A restore as a job of the runner: it holds the lock until the restore is final on disk.
struct RestoreJob {
    inner: Arc<Inner>,
    journal: Arc<RestoreJournal>,
    link: remote::AgentLink,
    task: Task,
}

impl super::runner::Job for RestoreJob {
    fn id(&self) -> String {
        self.journal.id.clone()
    }

    fn name(&self) -> String {
        format!("restore {}", self.journal.id)
    }

    fn run(&self) {
        let faults = &self.inner.faults;
        match self.task {
            Task::Apply => apply::run_with(&*self.journal, faults, &self.link),
            Task::Recover => {
                recovery::recover_with(&*self.journal, faults, &self.link);
                let r = self.journal.snapshot();
                tracing::warn!(restore = %r.id, status = r.status.as_str(), "recovered an interrupted restore");
            }
            Task::Flush => return,
        }
        let r = self.journal.snapshot();
        // Also after an unhealthy restore that kept its data: it replaced what an earlier
        // restore's copy could undo to (that undo is refused as superseded from now on).
        if r.committed() {
            for (name, pid, folder) in self.inner.after_success(&r) {
                self.journal
                    .update_or_log("a discarded safety copy", &mut |rec| {
                        rec.step(
                            StepAction::RemovedSafetyFolder,
                            Some(&name),
                            Some(&folder),
                            None,
                            Some(format!(
                                "the kept safety copy of restore {pid}, discarded as this \
                                 restore of {name} {}",
                                r.status.as_str()
                            )),
                        )
                    });
            }
        }
    }

    /// A panic is a failure: everything is rolled back, unless the commit had been decided
    /// (every component applied, the decision on disk): then the commit is completed, as
    /// recovery would after a crash, never reversed.
    fn failed_unexpectedly(&self, why: &str) {
        let (journal, faults, link) = (&*self.journal, &self.inner.faults, &self.link);
        let r = journal.snapshot();
        if r.status.is_final() {
            tracing::error!(restore = %journal.id, error = %why, "the restore panicked after it ended");
        } else if r.commit_decided {
            tracing::error!(restore = %journal.id, error = %why, "the restore panicked after the commit decision; completing the commit");
            apply::complete_with(
                journal,
                faults,
                link,
                Some("the restore stopped unexpectedly after its commit was decided; the commit was completed"),
            );
        } else {
            tracing::error!(restore = %journal.id, error = %why, "the restore panicked; rolling back");
            apply::rollback_all_with(
                journal,
                faults,
                link,
                S::Failed,
                "internal error: the restore stopped unexpectedly; every component was put back",
            );
        }
    }

    /// Nothing acts on an end that is not on disk: the lock stays held until it is.
    fn make_final_durable(&self) {
        self.journal.flush_durably();
    }

    fn show_final(&self) {
        let r = self.journal.snapshot();
        tracing::info!(restore = %r.id, status = r.status.as_str(), "restore finished");
        self.journal.publish();
        if let Some(e) = super::events::restore_ended(&r) {
            self.inner.engine.events().emit(e);
        }
        if r.committed() {
            apply::purge_retired(&r);
        }
    }
}

/// The part of undo `uid` of restore `undone` for remote component `c`, planned by its agent
/// from the safety copy it kept; refused as the agent refuses it (nothing changed).
fn plan_undo_on_agent(
    link: &remote::AgentLink,
    uid: &str,
    undone: &RestoreRecord,
    c: &record::ComponentRestore,
) -> Result<record::ComponentRestore, undo::Blocked> {
    let refused = |why, message: String| undo::Blocked { why, message };
    match link.step(
        &c.name,
        uid,
        crate::store::RestoreStep::Plan,
        &undone.backup_id,
        "",
        Some(&undone.id),
    ) {
        Ok(r) => match r.components.into_iter().next() {
            Some(mut p) => {
                p.agent = c.agent.clone();
                p.status = record::ComponentState::Pending;
                Ok(p)
            }
            None => Err(refused(
                undo::UndoRefusal::Home,
                format!("{}: its agent answered no plan", c.name),
            )),
        },
        Err(e) => Err(refused(
            undo::UndoRefusal::Home,
            format!("{}: its agent cannot undo it: {e}", c.name),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::participation::{Decision, HeuristicOutcome};

    /// A heuristic outcome met between the job's final save and the moment it is shown (the
    /// resolver works beside the job) is added to the job's own record: the final status on
    /// disk is never written back to `running`, and the outcome is shown with the end.
    #[test]
    fn a_heuristic_outcome_met_while_the_end_is_held_goes_through_the_job() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let faults = || Faults::parse("").unwrap();
        let engine = BackupJobs::open_with(state.clone(), vec![], faults(), None).unwrap();
        let sets = crate::jobs::verification::open_sets(&engine).unwrap();
        let restorer = Restorer::open_with(&state, engine, sets, faults()).unwrap();
        let id = restorer.issue_id();
        let rec = RestoreRecord::blank(&id, "20261126T020000Z", S::Running, Utc::now());
        record::save(&state, &rec).unwrap();
        lock(&restorer.inner.records).insert(rec);
        let journal = Arc::new(RestoreJournal::new(
            restorer.inner.clone(),
            id.clone(),
            true,
        ));
        lock(&restorer.inner.live).insert(id.clone(), Arc::downgrade(&journal));
        journal
            .update(&mut |r| {
                r.status = S::Succeeded;
                r.finished_at = Some(Utc::now());
            })
            .unwrap();
        assert_eq!(restorer.get(&id).unwrap().status, S::Running, "held");

        let h = HeuristicOutcome {
            component: "hub".into(),
            agent: Some("https://agent.example:8443".into()),
            decision: Decision::Commit,
            outcome: Decision::Rollback,
            at: Utc::now(),
            mismatch: true,
        };
        restorer.record_heuristic(&id, &h).unwrap();
        let (on_disk, _) = record::load_all(&state).unwrap();
        let on_disk = on_disk.into_iter().find(|r| r.id == id).unwrap();
        assert_eq!(on_disk.status, S::Succeeded, "the end on disk stays");
        assert_eq!(on_disk.heuristic, std::slice::from_ref(&h));

        journal.publish();
        let shown = restorer.get(&id).unwrap();
        assert_eq!(shown.status, S::Succeeded);
        assert_eq!(shown.heuristic, std::slice::from_ref(&h));
        // After the end is shown, a later outcome is shown at once.
        let later = HeuristicOutcome {
            component: "lui".into(),
            ..h
        };
        restorer.record_heuristic(&id, &later).unwrap();
        assert_eq!(restorer.get(&id).unwrap().heuristic.len(), 2);
    }
}
