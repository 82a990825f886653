//! Restore jobs (README *How backups work*; Maestro admin manual 11.7, automated): check the request, make the plan,
//! verify exactly the folders to be restored, then apply the plan in the background with a
//! safety copy of everything replaced, and roll back on any failure. No actix here;
//! `crate::api::restores` is the edge.
//!
//! # Starting a restore ([`Restorer::start`], blocking)
//! 1. The request alone: `backup_id` well-formed, `components` configured (default: every
//!    configured component), `source_folders` for chosen components only, absolute, no `..`.
//! 2. A restore ID is issued and the one-job lock shared with backups is taken
//!    (`Engine::try_lock_exclusive`); a running backup or restore answers
//!    [`StartError::Busy`]. Everything below happens under the lock, so no backup can rotate
//!    slots while the set is read, verified and restored.
//! 3. The folder of each chosen component: the one given in `source_folders` (its
//!    `readme.txt` must name that component and the ID, `Result: success`), else the set's
//!    preferred folder (a usable slot, else a usable imported folder). An unknown set (not on
//!    disk and no source folder for any component) is [`StartError::UnknownSet`]; a component
//!    without a folder (incomplete set) or with a failed one is refused naming it.
//! 4. The plan of each component ([`plan`]); a folder to restore from that is, holds or lies
//!    inside a path another chosen component's plan replaces is refused, naming its field
//!    ([`plan::source_clashes`]: that apply would move it aside and the commit delete it);
//!    then every chosen folder is verified against its `SHA256SUMS`
//!    ([`Sets::verify_folders`]); any changed, missing, unlisted or unreadable
//!    file refuses the restore, naming the files. Nothing was changed on disk up to here.
//! 5. The record is written (`jobs/restores/<ID>.json`, see [`record`]): status `planned` for a
//!    dry run (final; the lock is released), else `running`, and the plan is applied on a
//!    thread of its own that holds the lock until the restore is final ([`apply`]).
//!
//! # States
//! `planned` (dry run, final) · `running` → `succeeded` | `failed` (rolled back) ·
//! a record found `running` when the master starts → rolled back and `interrupted`, or, when
//! the commit had been decided (every component applied), completed and `succeeded`
//! ([`recovery`]). That happens in [`Restorer::open`], before the scheduler can start a backup.
//!
//! # Decisions
//! * A restore's commit decision and its end count once they are on disk (see [`JobJournal`]):
//!   a decision whose save failed is withdrawn on disk before the rollback starts (else a
//!   crash during that rollback would be rolled forward over half-restored homes); an end
//!   whose save failed is retried, the restore `running` and the job lock held meanwhile
//!   (`/healthz` degraded). A panic after the decision completes the commit, never rolls it
//!   back.
//! * Safety folders `<home>/.pre-restore-<ID>` are removed once the restore succeeded: the
//!   operator asked for the set's state, and keeping a second full copy of every home until
//!   some later restore would silently double the disk use. They are kept (and named in the
//!   record) only when a rollback could not empty them.
//!   At start-up a safety folder that no `running` record will roll back is logged, never
//!   removed (it may be the only copy of a home's previous state).
//! * A dry run takes the lock too (it verifies the folders, which a rotating backup would make
//!   look missing) and is recorded like any restore, with status `planned` (the HTTP answer is
//!   200 with that record rather than 202: the plan is complete when the answer goes out). It
//!   writes only its record in the state folder; homes and backup folders are not touched.
//! * A restore's final status is shown to readers only after the lock is released, so a client
//!   that sees it final can start the next job at once.
//! * `lui.ini`: an older `RestoreFromBackup=` line in the restored file (any case) is dropped
//!   before the new one is appended, so the component sees exactly one; the line ending
//!   follows the file's (CRLF when its last line has one).
//! * A restore is not cancellable: stopping half-way would only mean a rollback, which a
//!   failed restore does anyway.
//! * Remote components (agents, README *Remote components*) are restored by their agents on their own machines
//!   ([`remote`], `crate::agent::restore`): the plan of a remote component (dry run included)
//!   is made by its agent from the slot of the set, its folder is verified through the agent,
//!   and the apply is the agent's (same rules, same safety folder in its home). The commit is
//!   decided only when every component, local and remote, is applied; then every agent commits
//!   (waited for until acknowledged), and only then the local safety folders go; any failure
//!   before the decision rolls back every component, local and remote.
//!   A remote component is restored only from its agent's slots: `source_folders` names
//!   folders on this machine, so it is refused for a remote component.
//! * A remote component that applied voted yes and never decides alone: the master renews it
//!   while it applies the others, and waits for its agent to acknowledge the commit or the
//!   rollback, with no time limit (the restore stays `running`, holding the job lock, with a
//!   note naming the agent). The restore ends `succeeded` only when every component was
//!   restored, never for a mixed outcome. Start-up recovery of a `running` restore with
//!   remote components runs in the background for the same reason (start-up never waits for
//!   an agent), holding the job lock.

pub mod apply;
pub mod plan;
pub mod record;
pub mod recovery;
pub mod remote;

use std::collections::{BTreeMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{SubsecRound, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::engine::backup_id::IdParts;
use crate::engine::faults::Faults;
use crate::engine::ComponentSpec;
use crate::jobs::{Engine, ExclusiveGuard, JobKind, StartError as LockError};
use crate::sets::{FolderSource, SetFolder, Sets};
use apply::Journal;
use plan::{plan_component, PlanInput, Problem};
pub use record::{
    ComponentRestore, ComponentState, FolderCheck, RestoreRecord, RestoreStatus, StepAction,
};
use record::{FolderOrigin, RestoreStatus as S};

/// Largest page [`Restorer::list`] returns.
pub const MAX_PAGE: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("{0}")]
    Io(String),
}

/// The body of `POST /restores`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreRequest {
    /// The backup set to restore.
    #[schema(example = "20261126T020000Z")]
    pub backup_id: String,
    /// The components to restore; default: every configured component. A set that is
    /// incomplete or failed for other components can still be restored for these.
    #[schema(example = json!(["hub", "lui"]))]
    pub components: Option<Vec<String>>,
    /// Only make the plan and verify; change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Folders retrieved from an external medium, per component: used instead of the slots.
    /// Each must be an absolute path whose `readme.txt` names the component and `backup_id`.
    #[schema(example = json!({"trk": "/mnt/tape/trk/backup"}))]
    pub source_folders: Option<BTreeMap<String, String>>,
}

/// Why a restore did not start. Nothing was changed on disk.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Fields of the request at fault: (field, message) each.
    #[error("invalid request: {}", .0.iter().map(|(f, m)| format!("{f}: {m}")).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<(String, String)>),
    /// The set cannot be restored as asked: the fields at fault (as `Invalid`), and why.
    #[error("{why:?}: {}", .fields.iter().map(|(f, m)| format!("{f}: {m}")).collect::<Vec<_>>().join("; "))]
    Refused {
        why: Refusal,
        fields: Vec<(String, String)>,
    },
    /// No such backup set on disk.
    #[error("no backup set {0} on disk")]
    UnknownSet(String),
    /// A backup or restore runs.
    #[error("a {kind} is already running: {id}")]
    Busy { kind: JobKind, id: String },
    /// A home is not in a state a restore can work on.
    #[error("{0}")]
    Conflict(String),
    /// A remote component's agent could not be asked for its plan (no answer, or no plan).
    #[error("{0}")]
    AgentUnreachable(String),
    /// The record could not be written, or a thread not started.
    #[error("{0}")]
    Io(String),
}

/// Why a set is refused ([`StartError::Refused`]); the API answers each with its own code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The set has no folder for a component to restore.
    SetIncomplete,
    /// A component's backup in the set did not succeed.
    SetFailed,
    /// A folder to restore does not verify against its `SHA256SUMS`.
    SetNotVerified,
    /// A remote component's agent refused to plan.
    AgentRefused,
}

/// `Invalid`, or `Refused` when the set (not the request) is at fault.
fn invalid_or(why: Option<Refusal>, fields: Vec<(String, String)>) -> StartError {
    match why {
        Some(why) => StartError::Refused { why, fields },
        None => StartError::Invalid(fields),
    }
}

/// Query of [`Restorer::list`].
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    pub limit: usize,
    /// Only IDs strictly smaller than this one.
    pub cursor: Option<String>,
    pub status: Option<RestoreStatus>,
}

struct Inner {
    state_dir: PathBuf,
    engine: Engine,
    sets: Sets,
    faults: Faults,
    records: Mutex<BTreeMap<String, RestoreRecord>>,
    last_id: Mutex<Option<IdParts>>,
    /// Serialises snapshot-and-save, so an older snapshot never overwrites a newer one.
    write_lock: Mutex<()>,
}

/// The restore jobs. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Restorer {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The fields others act on (readers, the job lock, recovery): shown only once durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Critical {
    status: RestoreStatus,
    finished_at: Option<chrono::DateTime<Utc>>,
    commit_decided: bool,
}

impl Critical {
    fn of(r: &RestoreRecord) -> Critical {
        Critical {
            status: r.status,
            finished_at: r.finished_at,
            commit_decided: r.commit_decided,
        }
    }

    fn put(self, r: &mut RestoreRecord) {
        r.status = self.status;
        r.finished_at = self.finished_at;
        r.commit_decided = self.commit_decided;
    }
}

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
/// values, and a final record whose save failed is saved again ([`JobJournal::flush_durably`])
/// before the job gives up the lock. A decision whose save failed is withdrawn durably before
/// `update` returns the error (the failed save may have reached the disk all the same), so the
/// rollback that follows is never rolled forward by recovery.
///
/// With `hold_final` (the job thread's journal) the final status is written to disk at once but
/// shown to readers only by [`JobJournal::publish`], called after the one-job lock is released:
/// a client that sees the restore final can start the next job without meeting a 409.
struct JobJournal {
    inner: Arc<Inner>,
    id: String,
    hold_final: bool,
    held: Mutex<Option<RestoreRecord>>,
    work: Mutex<Work>,
}

impl JobJournal {
    /// The journal of restore `id`, whose record (in `inner.records`) is on disk.
    fn new(inner: Arc<Inner>, id: String, hold_final: bool) -> JobJournal {
        let rec = lock(&inner.records)
            .get(&id)
            .cloned()
            .unwrap_or_else(|| empty_record(&id));
        JobJournal {
            inner,
            id,
            hold_final,
            held: Mutex::new(None),
            work: Mutex::new(Work {
                saved: Critical::of(&rec),
                rec,
                dirty: false,
            }),
        }
    }

    fn save(&self, rec: &RestoreRecord, was: Critical) -> Result<(), String> {
        let now = Critical::of(rec);
        let injected = if now.commit_decided && !was.commit_decided {
            self.inner.faults.save_error("restore_decision")
        } else if now.status.is_final() && !was.status.is_final() {
            self.inner.faults.save_error("restore_final")
        } else {
            None
        };
        if let Some(e) = injected {
            return Err(e.to_string());
        }
        record::save(&self.inner.state_dir, rec).map_err(|e| e.to_string())
    }

    /// Shows `work.rec` with its durable critical fields to readers.
    fn show(&self, work: &Work) {
        let mut view = work.rec.clone();
        work.saved.put(&mut view);
        if self.hold_final && view.status.is_final() {
            *lock(&self.held) = Some(view);
        } else {
            lock(&self.inner.records).insert(self.id.clone(), view);
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
        let mut delay = std::time::Duration::from_millis(500);
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
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(std::time::Duration::from_secs(15));
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

    /// Shows a held final record to readers.
    fn publish(&self) {
        if let Some(rec) = lock(&self.held).take() {
            lock(&self.inner.records).insert(self.id.clone(), rec);
        }
    }
}

impl Journal for JobJournal {
    fn update(&self, f: &mut dyn FnMut(&mut RestoreRecord)) -> Result<(), String> {
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
                    return result;
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
        result
    }

    fn snapshot(&self) -> RestoreRecord {
        lock(&self.work).rec.clone()
    }

    fn step_reached(&self, step: &str) {
        self.inner.faults.step(step, &self.inner.state_dir);
    }
}

fn empty_record(id: &str) -> RestoreRecord {
    RestoreRecord {
        id: id.to_string(),
        backup_id: String::new(),
        dry_run: false,
        status: S::Failed,
        requested_components: None,
        source_folders: BTreeMap::new(),
        created_at: Utc::now().trunc_subsecs(0),
        started_at: None,
        finished_at: None,
        verification: vec![],
        components: vec![],
        steps: vec![],
        changed: vec![],
        commit_decided: false,
        errors: vec![],
        notes: vec![],
        heuristic: vec![],
        participation: None,
    }
}

/// True for an absolute path without `..` (and not empty).
fn plain_absolute(p: &str) -> bool {
    let path = Path::new(p);
    path.is_absolute() && !path.components().any(|c| matches!(c, Component::ParentDir))
}

impl Restorer {
    /// Loads the restore records and finishes every restore still `running` (a crash): rolled
    /// back and `interrupted`, or completed when its commit was decided. Faults come from
    /// `BACKUP_MASTER_FAULTS` (the `restore_*` names of `crate::engine::faults`).
    pub fn open(state_dir: &Path, engine: Engine, sets: Sets) -> Result<Restorer, RestoreError> {
        let faults = Faults::from_env().map_err(|e| RestoreError::Io(e.to_string()))?;
        Self::open_with(state_dir, engine, sets, faults)
    }

    /// Like [`Restorer::open`] with explicit faults.
    pub fn open_with(
        state_dir: &Path,
        engine: Engine,
        sets: Sets,
        faults: Faults,
    ) -> Result<Restorer, RestoreError> {
        let (records, warnings) =
            record::load_all(state_dir).map_err(|e| RestoreError::Io(e.to_string()))?;
        for w in warnings {
            tracing::warn!("{w}");
        }
        let last = records
            .iter()
            .filter_map(|r| record::parse_restore_id(&r.id))
            .max();
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
                records: Mutex::new(records.into_iter().map(|r| (r.id.clone(), r)).collect()),
                last_id: Mutex::new(last),
                write_lock: Mutex::new(()),
            }),
        };
        for id in running {
            let with_agents = lock(&restorer.inner.records)
                .get(&id)
                .is_some_and(|r| r.components.iter().any(|c| c.agent.is_some()));
            if with_agents {
                restorer.recover_in_background(id);
                continue;
            }
            let journal = JobJournal::new(restorer.inner.clone(), id.clone(), false);
            let link = remote::AgentLink {
                engine: restorer.inner.engine.clone(),
                rt: None,
            };
            recovery::recover_with(&journal, &restorer.inner.faults, &link);
            let r = journal.snapshot();
            tracing::warn!(restore = %id, status = r.status.as_str(), "recovered an interrupted restore");
            if journal.is_dirty() {
                // Its end is not on disk: it stays `running` for readers until it is, holding
                // the job lock when it can have it.
                let guard = restorer
                    .inner
                    .engine
                    .try_lock_exclusive(JobKind::Restore, &id)
                    .ok();
                let spawned = std::thread::Builder::new()
                    .name(format!("restore-{id}-record"))
                    .spawn(move || {
                        journal.flush_durably();
                        drop(guard);
                    });
                if let Err(e) = spawned {
                    restorer.inner.engine.set_problem(
                        &format!("restore {id}"),
                        Some(format!(
                            "restore {id}: its recovered end could not be recorded, and the \
                             thread to retry could not start ({e}): restart the master"
                        )),
                    );
                }
            }
        }
        restorer.warn_about_leftovers();
        Ok(restorer)
    }

    /// Recovers interrupted restore `id`, which has remote components, on a thread of its own
    /// holding the job lock (taken before this returns): start-up never waits for an agent, and
    /// the restore stays `running` (with notes naming the agents it waits for) until every
    /// agent acknowledged the commit or the rollback (see [`recovery`]).
    fn recover_in_background(&self, id: String) {
        let guard = self
            .inner
            .engine
            .try_lock_exclusive(JobKind::Restore, &id)
            .map_err(|e| tracing::error!(restore = %id, error = %e, "recovering a restore without the job lock"))
            .ok();
        let journal = JobJournal::new(self.inner.clone(), id.clone(), true);
        let inner = self.inner.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("restore-{id}-recovery"))
            .spawn(move || {
                let link = remote::AgentLink {
                    engine: inner.engine.clone(),
                    rt: None,
                };
                recovery::recover_with(&journal, &inner.faults, &link);
                journal.flush_durably();
                let r = journal.snapshot();
                tracing::warn!(restore = %r.id, status = r.status.as_str(), "recovered an interrupted restore");
                drop(guard);
                journal.publish();
                if r.status == S::Succeeded {
                    apply::purge_retired(&r);
                }
            });
        if let Err(e) = spawned {
            self.inner.engine.set_problem(
                &format!("restore {id}"),
                Some(format!(
                    "restore {id}: the thread that finishes it after the restart could not start \
                     ({e}); it stays running: restart the master"
                )),
            );
        }
    }

    /// Adds a heuristic outcome met later (an operator's decision on an agent's machine) to
    /// the record of restore `id` (final or not), and saves it.
    pub fn record_heuristic(
        &self,
        id: &str,
        h: &crate::store::HeuristicOutcome,
    ) -> Result<(), String> {
        let line = crate::engine::single_line(&h.describe());
        let _w = lock(&self.inner.write_lock);
        let mut records = lock(&self.inner.records);
        let rec = records
            .get_mut(id)
            .ok_or_else(|| format!("no restore {id}"))?;
        let mut next = rec.clone();
        if !next.heuristic.contains(h) {
            next.heuristic.push(h.clone());
        }
        let list = if h.mismatch {
            &mut next.errors
        } else {
            &mut next.notes
        };
        if !list.contains(&line) {
            list.push(line);
        }
        record::save(&self.inner.state_dir, &next).map_err(|e| e.to_string())?;
        *rec = next;
        Ok(())
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
    pub fn list(&self, q: &ListQuery) -> (Vec<RestoreRecord>, Option<String>) {
        let limit = q.limit.min(MAX_PAGE);
        let records = lock(&self.inner.records);
        let mut items: Vec<RestoreRecord> = Vec::new();
        let mut next = None;
        for r in records.values().rev().filter(|r| {
            q.cursor.as_deref().is_none_or(|c| r.id.as_str() < c)
                && q.status.is_none_or(|s| r.status == s)
        }) {
            if items.len() == limit {
                next = items.last().map(|l| l.id.clone());
                break;
            }
            items.push(r.clone());
        }
        (items, next)
    }

    pub fn get(&self, id: &str) -> Option<RestoreRecord> {
        lock(&self.inner.records).get(id).cloned()
    }

    /// The newest succeeded restore that appended `RestoreFromBackup=<folder>` to component
    /// `component`'s `lui.ini` (for the 409 a backup gets while the line is there).
    pub fn pending_restore(&self, component: &str, folder: &str) -> Option<String> {
        lock(&self.inner.records)
            .values()
            .rev()
            .filter(|r| r.status == S::Succeeded)
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

    fn issue_id(&self) -> String {
        let mut last = lock(&self.inner.last_id);
        let (id, parts) = record::next_restore_id(*last, Utc::now());
        *last = Some(parts);
        id
    }

    /// Checks, plans and verifies a restore, records it, and (unless a dry run) starts applying
    /// it in the background. Blocking: call it from `web::block`. See the module doc.
    pub fn start(&self, req: RestoreRequest) -> Result<RestoreRecord, StartError> {
        let specs = self.inner.engine.all_components();
        let chosen = check_request(&req, &specs)?;
        let id = self.issue_id();
        let guard = self
            .inner
            .engine
            .try_lock_exclusive(JobKind::Restore, &id)
            .map_err(|e| match e {
                LockError::Busy { kind, id } => StartError::Busy { kind, id },
                other => StartError::Io(other.to_string()),
            })?;
        let rec = self.prepare(&id, &req, &chosen)?;
        {
            let _w = lock(&self.inner.write_lock);
            record::save(&self.inner.state_dir, &rec)
                .map_err(|e| StartError::Io(format!("could not record the restore: {e}")))?;
            lock(&self.inner.records).insert(id.clone(), rec.clone());
        }
        if rec.dry_run {
            tracing::info!(restore = %id, backup = %rec.backup_id, "restore planned (dry run)");
            return Ok(rec);
        }
        tracing::info!(restore = %id, backup = %rec.backup_id, "restore started");
        self.spawn(id, guard, tokio::runtime::Handle::try_current().ok());
        Ok(rec)
    }

    /// Folders, plans and verification, under the lock. Returns the record to write.
    fn prepare(
        &self,
        id: &str,
        req: &RestoreRequest,
        chosen: &[ComponentSpec],
    ) -> Result<RestoreRecord, StartError> {
        let sets = &self.inner.sets;
        let given = req.source_folders.clone().unwrap_or_default();
        let mut invalid: Vec<(String, String)> = Vec::new();
        // Why the set is refused, beside the request's own fields: the first reason found.
        let mut why: Option<Refusal> = None;
        let set = sets.get(&req.backup_id);
        if set.is_none() && given.is_empty() {
            return Err(StartError::UnknownSet(req.backup_id.clone()));
        }
        let mut notes = Vec::new();
        if let Some(s) = &set {
            for f in &s.components {
                if !chosen.iter().any(|c| c.name == f.component)
                    && req.components.is_none()
                    && !notes.iter().any(|n: &String| n.contains(&f.component))
                {
                    notes.push(format!(
                        "the set has a folder for {:?}, which is not configured: not restored",
                        f.component
                    ));
                }
            }
        }
        // The folder of each chosen component.
        let mut folders: Vec<(ComponentSpec, SetFolder, FolderOrigin)> = Vec::new();
        let mut lacking = Vec::new();
        for spec in chosen {
            if spec.is_remote() && given.contains_key(&spec.name) {
                invalid.push((
                    format!("source_folders.{}", spec.name),
                    format!(
                        "{:?} is a remote component: it is restored from its agent's slots; \
                         source_folders names folders on this machine",
                        spec.name
                    ),
                ));
                continue;
            }
            if let Some(path) = given.get(&spec.name) {
                let field = format!("source_folders.{}", spec.name);
                match sets.check_folder(&spec.name, Path::new(path), Some(&req.backup_id)) {
                    Ok(f) if f.is_usable() => {
                        folders.push((spec.clone(), f, FolderOrigin::SourceFolder))
                    }
                    Ok(f) => invalid.push((field, unusable(&f))),
                    Err(e) => invalid.push((field, e.to_string())),
                }
                continue;
            }
            let Some(s) = &set else {
                lacking.push(spec.name.clone());
                continue;
            };
            match s
                .preferred_folders()
                .into_iter()
                .find(|f| f.component == spec.name)
            {
                Some(f) if f.is_usable() => {
                    let origin = match f.source {
                        FolderSource::Slot => FolderOrigin::Slot,
                        FolderSource::Imported => FolderOrigin::Imported,
                    };
                    folders.push((spec.clone(), f.clone(), origin));
                }
                Some(f) => {
                    if f.problem.is_none() {
                        why.get_or_insert(Refusal::SetFailed);
                    }
                    invalid.push(("backup_id".into(), unusable(f)))
                }
                None => {
                    why.get_or_insert(Refusal::SetIncomplete);
                    invalid.push((
                        "backup_id".into(),
                        format!(
                            "backup set {} is incomplete: it has no folder for component {:?} \
                             (restore the other components with `components`, or give its \
                             folder in `source_folders`)",
                            req.backup_id, spec.name
                        ),
                    ))
                }
            }
        }
        if !lacking.is_empty() {
            why.get_or_insert(Refusal::SetIncomplete);
            invalid.push((
                "source_folders".into(),
                format!(
                    "backup set {} is not on disk: give a folder for {}",
                    req.backup_id,
                    lacking.join(", ")
                ),
            ));
        }
        if !invalid.is_empty() {
            return Err(invalid_or(why, invalid));
        }

        // Plans (only read the disk; a remote component's is its agent's).
        let link = remote::AgentLink {
            engine: self.inner.engine.clone(),
            rt: tokio::runtime::Handle::try_current().ok(),
        };
        let mut plans = Vec::new();
        let mut conflicts = Vec::new();
        // Whether a conflict is an agent that could not plan (rather than a home).
        let mut agent_failed = false;
        for (spec, f, origin) in &folders {
            let field = field_of(*origin, &spec.name);
            if spec.is_remote() {
                let slot = f.slot.clone().unwrap_or_default();
                match link.step(
                    &spec.name,
                    id,
                    crate::store::RestoreStep::Plan,
                    &req.backup_id,
                    &slot,
                ) {
                    Ok(r) => match r.components.into_iter().next() {
                        Some(mut p) => {
                            p.agent = f.agent.clone();
                            p.status = ComponentState::Pending;
                            plans.push(p);
                        }
                        None => {
                            agent_failed = true;
                            conflicts.push(format!("{}: its agent answered no plan", spec.name))
                        }
                    },
                    Err(crate::store::StoreError::Refused(m)) => {
                        why.get_or_insert(Refusal::AgentRefused);
                        invalid.push((field.clone(), format!("{}: {m}", spec.name)))
                    }
                    // The agent answered 409: its home cannot be worked on.
                    Err(e @ crate::store::StoreError::Conflict(_)) => {
                        conflicts.push(format!("{}: {e}", spec.name))
                    }
                    Err(e) => {
                        agent_failed = true;
                        conflicts.push(format!("{}: {e}", spec.name))
                    }
                }
                continue;
            }
            let input = PlanInput {
                restore_id: id,
                spec,
                folder: Path::new(&f.folder),
                origin: *origin,
                slot: f.slot.clone(),
            };
            match plan_component(&input) {
                Ok(p) => plans.push(p),
                Err(problems) => {
                    for p in problems {
                        match p {
                            Problem::Folder(m) => invalid.push((field.clone(), m)),
                            Problem::Home(m) => conflicts.push(format!("{}: {m}", spec.name)),
                        }
                    }
                }
            }
        }
        // A source that another component's apply would move aside (and its commit delete).
        for (k, msg) in plan::source_clashes(&plans) {
            if let Some(p) = plans.get(k) {
                invalid.push((field_of(p.origin, &p.name), msg));
            }
        }
        if !invalid.is_empty() {
            return Err(invalid_or(why, invalid));
        }
        if !conflicts.is_empty() {
            let message = format!("cannot restore: {}", conflicts.join("; "));
            return Err(if agent_failed {
                StartError::AgentUnreachable(message)
            } else {
                StartError::Conflict(message)
            });
        }

        // Verify exactly the folders to restore.
        let verified: Vec<crate::sets::FolderVerification> = folders
            .iter()
            .map(|(spec, f, _)| {
                if spec.is_remote() {
                    link.verify(&spec.name, f.slot.as_deref().unwrap_or_default())
                        .map(|mut v| {
                            v.folder = f.folder.clone();
                            v
                        })
                        .unwrap_or_else(|e| {
                            crate::sets::FolderVerification::of(
                                &spec.name,
                                &f.folder,
                                crate::sets::verify::TreeCheck::failed(format!(
                                    "could not verify through the agent: {e}"
                                )),
                            )
                        })
                } else {
                    let mut v = sets.verify_folders(std::slice::from_ref(f));
                    v.pop().unwrap_or_else(|| {
                        crate::sets::FolderVerification::of(
                            &spec.name,
                            &f.folder,
                            crate::sets::verify::TreeCheck::failed("no result".into()),
                        )
                    })
                }
            })
            .collect();
        let mut checks = Vec::new();
        for (v, (spec, _, origin)) in verified.iter().zip(&folders) {
            let mut problems = Vec::new();
            if let Some(e) = &v.error {
                problems.push(e.clone());
            }
            for (what, list) in [
                ("changed", &v.changed),
                ("missing", &v.missing),
                ("not listed in SHA256SUMS", &v.unlisted),
                ("unreadable", &v.unreadable),
            ] {
                if !list.is_empty() {
                    problems.push(format!("{what}: {}", list.join(", ")));
                }
            }
            if v.omitted > 0 {
                problems.push(format!("and {} more", v.omitted));
            }
            let ok = v.ok && problems.is_empty();
            if !ok {
                let field = field_of(*origin, &spec.name);
                invalid.push((
                    field,
                    format!(
                        "{} ({}) does not verify against its SHA256SUMS: {}",
                        v.folder,
                        spec.name,
                        problems.join("; ")
                    ),
                ));
            }
            checks.push(FolderCheck {
                component: spec.name.clone(),
                folder: v.folder.clone(),
                ok,
                problems,
            });
        }
        if verified.len() != folders.len() {
            return Err(StartError::Io("verification returned no result".into()));
        }
        if !invalid.is_empty() {
            return Err(invalid_or(Some(Refusal::SetNotVerified), invalid));
        }

        let now = Utc::now().trunc_subsecs(0);
        let mut rec = RestoreRecord {
            id: id.to_string(),
            backup_id: req.backup_id.clone(),
            dry_run: req.dry_run,
            status: if req.dry_run { S::Planned } else { S::Running },
            requested_components: req.components.clone(),
            source_folders: given,
            created_at: now,
            started_at: (!req.dry_run).then_some(now),
            finished_at: req.dry_run.then_some(now),
            verification: checks,
            components: plans,
            steps: vec![],
            changed: vec![],
            commit_decided: false,
            errors: vec![],
            notes,
            heuristic: vec![],
            participation: None,
        };
        rec.step(
            StepAction::Planned,
            None,
            None,
            None,
            Some(format!(
                "{} component(s) from backup set {}",
                rec.components.len(),
                rec.backup_id
            )),
        );
        for c in &rec.verification.clone() {
            rec.step(
                StepAction::Verified,
                Some(&c.component),
                Some(&c.folder),
                None,
                None,
            );
        }
        if rec.components.iter().any(|c| !c.edit.is_empty()) {
            rec.notes.push(
                "start the Maestro User Interface before the next backup: it reads its database \
                 from the folder named in RestoreFromBackup, which the next backup rotates; \
                 backups are refused until it has started and removed that line"
                    .into(),
            );
        }
        Ok(rec)
    }

    /// Applies a recorded plan on a thread of its own, which holds the lock until the restore
    /// is final on disk. A panic is a failure: everything is rolled back, unless the commit
    /// had been decided (every component applied, the decision on disk): then the commit is
    /// completed, as recovery would after a crash, never reversed.
    fn spawn(&self, id: String, guard: ExclusiveGuard, rt: Option<tokio::runtime::Handle>) {
        let journal = JobJournal::new(self.inner.clone(), id.clone(), true);
        let inner = self.inner.clone();
        let link = remote::AgentLink {
            engine: self.inner.engine.clone(),
            rt,
        };
        let spawned = std::thread::Builder::new()
            .name(format!("restore-{id}"))
            .spawn(move || {
                let faults = &inner.faults;
                let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    apply::run_with(&journal, faults, &link)
                }));
                if outcome.is_err() {
                    let r = journal.snapshot();
                    if r.status.is_final() {
                        tracing::error!(restore = %journal.id, "the restore panicked after it ended");
                    } else if r.commit_decided {
                        tracing::error!(restore = %journal.id, "the restore panicked after the commit decision; completing the commit");
                        apply::complete_with(
                            &journal,
                            faults,
                            &link,
                            Some("the restore stopped unexpectedly after its commit was decided; the commit was completed"),
                        );
                    } else {
                        tracing::error!(restore = %journal.id, "the restore panicked; rolling back");
                        apply::rollback_all_with(
                            &journal,
                            faults,
                            &link,
                            S::Failed,
                            "internal error: the restore stopped unexpectedly; every component was put back",
                        );
                    }
                }
                // Nothing acts on an end that is not on disk: the lock stays held until it is.
                journal.flush_durably();
                let r = journal.snapshot();
                tracing::info!(restore = %r.id, status = r.status.as_str(), "restore finished");
                drop(guard);
                journal.publish();
                if r.status == S::Succeeded {
                    apply::purge_retired(&r);
                }
            });
        if let Err(e) = spawned {
            // Nothing was touched; the guard went with the closure.
            let journal = JobJournal::new(self.inner.clone(), id, false);
            let _ = journal.update(&mut |r| {
                r.status = S::Failed;
                r.finished_at = Some(Utc::now().trunc_subsecs(0));
                r.errors
                    .push(format!("could not start the restore thread: {e}"));
            });
            journal.flush_durably();
        }
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

/// The request field that chose a component's folder.
fn field_of(origin: FolderOrigin, component: &str) -> String {
    match origin {
        FolderOrigin::SourceFolder => format!("source_folders.{component}"),
        _ => "backup_id".to_string(),
    }
}

fn unusable(f: &SetFolder) -> String {
    match (&f.problem, f.result.as_deref()) {
        (Some(p), _) => format!("{} ({}) cannot be used: {p}", f.folder, f.component),
        (None, Some("success")) => format!("{} ({}) cannot be used", f.folder, f.component),
        (None, r) => {
            let errors = if f.errors.is_empty() {
                String::new()
            } else {
                format!(": {}", f.errors.join("; "))
            };
            format!(
                "the backup of component {:?} in {} did not succeed (Result: {}){errors}",
                f.component,
                f.folder,
                r.unwrap_or("unknown")
            )
        }
    }
}

/// Checks the request on its own (no disk); returns the chosen components in config order.
fn check_request(
    req: &RestoreRequest,
    specs: &[ComponentSpec],
) -> Result<Vec<ComponentSpec>, StartError> {
    let mut invalid: Vec<(String, String)> = Vec::new();
    if !crate::sets::acceptable_id(&req.backup_id) {
        invalid.push((
            "backup_id".into(),
            format!(
                "{:?} is not a backup ID: only 0-9 A-Z a-z . _ - and no '..'",
                req.backup_id
            ),
        ));
    }
    let known: HashSet<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    let mut wanted: Vec<&str> = Vec::new();
    match &req.components {
        Some(list) if list.is_empty() => invalid.push((
            "components".into(),
            "name at least one component, or leave it out to restore all".into(),
        )),
        Some(list) => {
            for (i, n) in list.iter().enumerate() {
                if !known.contains(n.as_str()) {
                    invalid.push((
                        format!("components[{i}]"),
                        format!(
                            "unknown component {n:?}; configured: {}",
                            specs
                                .iter()
                                .map(|s| s.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                } else if wanted.contains(&n.as_str()) {
                    invalid.push((format!("components[{i}]"), format!("{n:?} is named twice")));
                } else {
                    wanted.push(n);
                }
            }
        }
        None => wanted = specs.iter().map(|s| s.name.as_str()).collect(),
    }
    if specs.is_empty() {
        invalid.push(("components".into(), "no components are configured".into()));
    }
    for (name, path) in req.source_folders.iter().flatten() {
        let field = format!("source_folders.{name}");
        if !known.contains(name.as_str()) {
            invalid.push((field, format!("unknown component {name:?}")));
        } else if !wanted.contains(&name.as_str()) {
            invalid.push((
                field,
                format!("{name:?} is not among the components to restore"),
            ));
        } else if !plain_absolute(path) {
            invalid.push((
                field,
                format!("{path:?} must be an absolute path without '..'"),
            ));
        }
    }
    if !invalid.is_empty() {
        return Err(StartError::Invalid(invalid));
    }
    Ok(specs
        .iter()
        .filter(|s| wanted.contains(&s.name.as_str()))
        .cloned()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Profile;

    fn specs() -> Vec<ComponentSpec> {
        ["hub", "lui"]
            .iter()
            .map(|n| ComponentSpec {
                name: n.to_string(),
                profile: Profile::Custom,
                home: PathBuf::from(format!("/h/{n}")),
                backup_folder: PathBuf::from(format!("/h/{n}/backup")),
                keep: 1,
                items: vec!["a".into()],
            })
            .collect()
    }

    fn req(json: &str) -> RestoreRequest {
        serde_json::from_str(json).unwrap()
    }

    fn fields(e: StartError) -> Vec<String> {
        match e {
            StartError::Invalid(v) => v.into_iter().map(|(f, _)| f).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn request_checks_name_each_field() {
        let s = specs();
        let all = check_request(&req(r#"{"backup_id":"20261126T020000Z"}"#), &s).unwrap();
        assert_eq!(all.len(), 2);
        let one = check_request(
            &req(r#"{"backup_id":"20261126T020000Z","components":["lui"]}"#),
            &s,
        )
        .unwrap();
        assert_eq!(one[0].name, "lui");
        let e = check_request(
            &req(r#"{"backup_id":"../x","components":["lui","nope","lui"],
                    "source_folders":{"hub":"/t","lui":"rel/x","zz":"/a"}}"#),
            &s,
        )
        .unwrap_err();
        assert_eq!(
            fields(e),
            [
                "backup_id",
                "components[1]",
                "components[2]",
                "source_folders.hub",
                "source_folders.lui",
                "source_folders.zz"
            ]
        );
        let e = check_request(
            &req(r#"{"backup_id":"X1","components":[],"source_folders":{"hub":"/a/../b"}}"#),
            &s,
        )
        .unwrap_err();
        assert_eq!(fields(e), ["components", "source_folders.hub"]);
        assert!(serde_json::from_str::<RestoreRequest>(r#"{"backup_id":"x","bogus":1}"#).is_err());
    }
}
