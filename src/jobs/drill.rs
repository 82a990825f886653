//! The drill job kind: the drill records (`<state_dir>/jobs/drills/<ID>.json`, loaded at start,
//! listed newest first), starting a drill (the set and components chosen, the drill roots
//! checked, under the job lock: a drill never runs beside a backup, a restore or another
//! drill), running it as a job of the runner with its events, and at start-up ending a drill a
//! crash interrupted (`interrupted`, its scratch folders removed when they prove to be its
//! own). What a drill does to one component is [`crate::drill`]'s.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Instant;

use chrono::{DateTime, SubsecRound, Utc};
use serde::Deserialize;
use tokio::sync::broadcast;
use utoipa::ToSchema;

use super::{BackupJobs, JobKind, ListQuery, StartError as LockError};
use crate::drill::record::{ComponentDrill, ComponentDrillStatus, DrillEvent};
use crate::drill::remote::apply_answer;
use crate::drill::run::{drill_component, seconds, ComponentInput, Progress};
use crate::drill::scratch::{self, ScratchFolder};
use crate::drill::{probe_command, DrillRecord, DrillStatus, DrillTarget, DrillTrigger};
use crate::engine::faults::Faults;
use crate::engine::folder_check::Site;
use crate::engine::ComponentSpec;
use crate::restore::record::FolderOrigin;
use crate::sets::{BackupSet, FolderSource, SetFolder, Sets};
use crate::store::wire::RemoteDrillRequest;
use crate::toolkit::job_id::{IdForm, IdIssuer, SeqForm};
use crate::toolkit::record_dir::{RecordDir, RecordIndex};

/// Drill IDs: `D` and the start time, like restore IDs.
pub const DRILL_ID: IdForm = IdForm {
    prefix: "D",
    millis: false,
    seq: SeqForm::DotAfterFirst,
};
/// Largest page [`Drills::list`] returns.
pub const MAX_PAGE: usize = 500;
const EVENT_CAPACITY: usize = 1024;
/// How often the probe output of a drill on an agent is read while it runs.
const REMOTE_POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// `POST /drills`.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrillRequest {
    /// The set to drill; absent: the newest successful complete set.
    #[schema(
        example = "20261201T020000Z",
        pattern = r"^[0-9A-Za-z_-]+(\.[0-9A-Za-z_-]+)*\.?$"
    )]
    pub backup_id: Option<String>,
    /// The components to drill (a remote one drills on its agent); absent: every configured
    /// component.
    #[schema(example = json!(["lui", "hub"]))]
    pub components: Option<Vec<String>>,
    /// Keep the scratch copies at the end (default false).
    #[serde(default)]
    pub keep_scratch: bool,
}

/// Why a drill did not start. Nothing was changed on disk.
#[derive(Debug, thiserror::Error)]
pub enum DrillRefused {
    /// Request fields at fault: (field, message).
    #[error("invalid request")]
    Invalid(Vec<(String, String)>),
    #[error("no backup set {0} on disk")]
    UnknownSet(String),
    #[error("{0}")]
    NoSet(String),
    #[error("a {kind} is already running: {id}")]
    Busy { kind: JobKind, id: String },
    #[error("{0}")]
    Io(String),
}

/// Why the drills could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DrillsError {
    #[error(transparent)]
    Faults(#[from] crate::engine::faults::FaultsError),
    #[error(transparent)]
    Io(#[from] crate::toolkit::fsutil::IoError),
}

struct Live {
    tx: broadcast::Sender<DrillEvent>,
    cancel: Arc<AtomicBool>,
}

/// Why a drill was not cancelled.
#[derive(Debug, thiserror::Error)]
pub enum CancelError {
    #[error("no drill {0}")]
    NotFound(String),
    #[error("drill {id} is not running: it is {}", status.as_str())]
    NotRunning { id: String, status: DrillStatus },
}

struct Inner {
    state_dir: PathBuf,
    dir: RecordDir,
    engine: BackupJobs,
    sets: Sets,
    faults: Faults,
    records: Mutex<RecordIndex<DrillRecord>>,
    ids: Mutex<IdIssuer>,
    live: Mutex<HashMap<String, Live>>,
    targets: RwLock<Vec<DrillTarget>>,
}

/// The drill jobs. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Drills {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

impl Drills {
    /// Loads the drill records and ends every drill still `running` (a crash): `interrupted`,
    /// its scratch folders removed when they prove to be its own. Faults come from
    /// `BACKUP_MASTER_FAULTS`.
    pub fn open(
        state_dir: &Path,
        engine: BackupJobs,
        sets: Sets,
        targets: Vec<DrillTarget>,
    ) -> Result<Drills, String> {
        let faults = Faults::from_env().map_err(|e| e.to_string())?;
        let dir =
            RecordDir::create(state_dir.join("jobs").join("drills")).map_err(|e| e.to_string())?;
        let loaded = dir.load::<DrillRecord>().map_err(|e| e.to_string())?;
        for u in &loaded.unreadable {
            tracing::warn!(file = %u.path.display(), error = %u.error, "a drill record cannot be read; left as it is");
        }
        let ids = IdIssuer::new(DRILL_ID, loaded.index.last_id());
        let drills = Drills {
            inner: Arc::new(Inner {
                state_dir: state_dir.to_path_buf(),
                dir,
                engine,
                sets,
                faults,
                records: Mutex::new(loaded.index),
                ids: Mutex::new(ids),
                live: Mutex::new(HashMap::new()),
                targets: RwLock::new(targets),
            }),
        };
        drills.end_interrupted();
        Ok(drills)
    }

    fn end_interrupted(&self) {
        let running: Vec<DrillRecord> = lock(&self.inner.records)
            .oldest_first()
            .filter(|r| r.status == DrillStatus::Running)
            .cloned()
            .collect();
        for mut r in running {
            for s in &mut r.scratch {
                match scratch::remove(s, &r.id) {
                    Ok(_) => s.removed = true,
                    Err(e) => r.errors.push(e.to_string()),
                }
            }
            for c in &mut r.components {
                if !matches!(
                    c.status,
                    ComponentDrillStatus::Passed
                        | ComponentDrillStatus::Failed
                        | ComponentDrillStatus::Skipped
                ) {
                    c.status = ComponentDrillStatus::Failed;
                    c.errors.push("the drill was interrupted".into());
                }
            }
            r.status = DrillStatus::Interrupted;
            r.finished_at = Some(now());
            r.rto_seconds = None;
            r.errors.push(
                "interrupted: backup-master stopped while the drill ran; its scratch folders were removed"
                    .into(),
            );
            tracing::warn!(drill = %r.id, "ended an interrupted drill");
            if let Err(e) = self.inner.dir.save(&r) {
                tracing::error!(drill = %r.id, error = %e, "could not record the interrupted drill");
            }
            lock(&self.inner.records).insert(r);
        }
    }

    /// The components' drill settings (after a config change).
    pub fn set_targets(&self, targets: Vec<DrillTarget>) {
        if let Ok(mut t) = self.inner.targets.write() {
            *t = targets;
        }
    }

    fn targets(&self) -> Vec<DrillTarget> {
        match self.inner.targets.read() {
            Ok(t) => t.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Every drill, newest first, paged.
    pub fn list(&self, q: &ListQuery<DrillStatus>) -> (Vec<DrillRecord>, Option<String>) {
        lock(&self.inner.records).page(q, MAX_PAGE)
    }

    pub fn get(&self, id: &str) -> Option<DrillRecord> {
        lock(&self.inner.records).get(id).cloned()
    }

    /// The newest drill that passed.
    pub fn last_passed(&self) -> Option<DrillRecord> {
        lock(&self.inner.records)
            .newest_first()
            .find(|r| r.status == DrillStatus::Passed)
            .cloned()
    }

    /// The start of the newest drill.
    pub fn last_started(&self) -> Option<DateTime<Utc>> {
        lock(&self.inner.records)
            .newest_first()
            .next()
            .map(|r| r.started_at)
    }

    /// The record as shown now and, while the drill runs, its events to come.
    pub fn subscribe(
        &self,
        id: &str,
    ) -> Option<(DrillRecord, Option<broadcast::Receiver<DrillEvent>>)> {
        let live = lock(&self.inner.live);
        let rec = self.get(id)?;
        let rx = live.get(id).map(|l| l.tx.subscribe());
        Some((rec, rx))
    }

    /// [`Drills::start`] for async callers: on the runtime's blocking pool.
    pub async fn start_async(
        &self,
        req: DrillRequest,
        trigger: DrillTrigger,
        scheduled_for: Option<DateTime<Utc>>,
    ) -> Result<DrillRecord, DrillRefused> {
        let me = self.clone();
        self.inner
            .engine
            .runner()
            .blocking(move || me.start(req, trigger, scheduled_for))
            .await
            .map_err(|e| DrillRefused::Io(e.to_string()))?
    }

    /// Checks the request, chooses the set and components, takes the job lock, records the
    /// drill and starts it as a job. Blocking.
    pub fn start(
        &self,
        req: DrillRequest,
        trigger: DrillTrigger,
        scheduled_for: Option<DateTime<Utc>>,
    ) -> Result<DrillRecord, DrillRefused> {
        let specs = self.inner.engine.all_components();
        let targets = self.targets();
        let chosen = choose_components(&req, &specs)?;
        // Under the lock from here: no backup can rotate the slots of the set being chosen.
        let id = lock(&self.inner.ids).issue(Utc::now());
        let guard = self
            .inner
            .engine
            .try_lock_exclusive(JobKind::Drill, &id)
            .map_err(|e| match e {
                LockError::Busy { kind, id } => DrillRefused::Busy { kind, id },
                other => DrillRefused::Io(other.to_string()),
            })?;
        let set = match &req.backup_id {
            Some(id) => self
                .inner
                .sets
                .get(id)
                .ok_or_else(|| DrillRefused::UnknownSet(id.clone()))?,
            None => self.inner.sets.latest_successful().ok_or_else(|| {
                DrillRefused::NoSet("there is no successful complete backup set to drill".into())
            })?,
        };
        let mut components = Vec::new();
        let mut plan: Vec<Work> = Vec::new();
        let mut invalid = Vec::new();
        let site = Site::of_specs(&specs, &self.inner.state_dir);
        for (i, spec) in &chosen {
            let c = ComponentDrill::new(&spec.name);
            let field = match i {
                Some(i) => format!("components[{i}]"),
                None => "backup_id".to_string(),
            };
            let folder = set
                .preferred_folders()
                .into_iter()
                .find(|f| f.component == spec.name)
                .cloned();
            let Some(folder) = folder.filter(|f| f.is_usable()) else {
                invalid.push((
                    field,
                    format!(
                        "set {} has no usable folder of component {} (missing, failed or not readable)",
                        set.id, spec.name
                    ),
                ));
                continue;
            };
            let target = targets.iter().find(|t| t.name == spec.name);
            if spec.is_remote() {
                // Drilled on its agent, under the agent's drill root, from its slot there.
                let Some(_) = folder.slot else {
                    invalid.push((
                        field,
                        format!(
                            "set {} has no slot of remote component {}",
                            set.id, spec.name
                        ),
                    ));
                    continue;
                };
                components.push(c);
                plan.push(Work {
                    spec: spec.clone(),
                    folder,
                    root: None,
                    probe: target.and_then(probe_command),
                });
                continue;
            }
            let Some(root) = target.and_then(|t| t.root.clone()) else {
                invalid.push((field, format!("component {} has no drill root", spec.name)));
                continue;
            };
            let problems = crate::config::check_drill_root(&site, &spec.name, &root);
            if !problems.is_empty() {
                let field = match i {
                    Some(i) => format!("components[{i}]"),
                    None => "components".to_string(),
                };
                invalid.push((
                    field,
                    format!("drill_root of {}: {}", spec.name, problems.join("; ")),
                ));
                continue;
            }
            let probe = target.and_then(probe_command);
            components.push(c);
            plan.push(Work {
                spec: spec.clone(),
                folder,
                root: Some(root),
                probe,
            });
        }
        if !invalid.is_empty() {
            return Err(DrillRefused::Invalid(invalid));
        }
        if plan.is_empty() {
            return Err(DrillRefused::Invalid(vec![(
                "components".into(),
                "no component to drill".into(),
            )]));
        }
        let started_at = now();
        let set_started_at = set_start(&set);
        let mut roots: Vec<PathBuf> = plan.iter().filter_map(|p| p.root.clone()).collect();
        roots.sort();
        roots.dedup();
        let rec = DrillRecord {
            id: id.clone(),
            backup_id: set.id.clone(),
            status: DrillStatus::Running,
            trigger,
            scheduled_for,
            keep_scratch: req.keep_scratch,
            started_at,
            finished_at: None,
            set_started_at,
            rpo_seconds: set_started_at
                .map(|s| (started_at - s).num_milliseconds() as f64 / 1000.0),
            rto_seconds: None,
            components,
            scratch: roots
                .iter()
                .map(|r| ScratchFolder {
                    path: scratch::folder_of(r, &id).display().to_string(),
                    device: None,
                    inode: None,
                    removed: false,
                    made_dirs: vec![],
                })
                .collect(),
            errors: vec![],
            notes: vec![],
        };
        self.inner
            .dir
            .save(&rec)
            .map_err(|e| DrillRefused::Io(format!("could not record the drill: {e}")))?;
        lock(&self.inner.records).insert(rec.clone());
        let (tx, _) = broadcast::channel(EVENT_CAPACITY);
        let cancel = Arc::new(AtomicBool::new(false));
        lock(&self.inner.live).insert(
            id.clone(),
            Live {
                tx: tx.clone(),
                cancel: cancel.clone(),
            },
        );
        tracing::info!(drill = %id, backup = %rec.backup_id, "drill started");
        let job = DrillJob {
            inner: self.inner.clone(),
            record: Mutex::new(rec.clone()),
            work: plan,
            tx,
            cancel,
            started: Instant::now(),
        };
        self.inner.engine.runner().spawn(Arc::new(job), Some(guard));
        Ok(rec)
    }

    /// Asks running drill `id` to stop: no further component is restored and no further probe
    /// started; the one being restored or probed finishes first. Its scratch is removed as at
    /// any end (unless kept), and it ends `cancelled`. Returns the record as it is now.
    pub fn cancel(&self, id: &str) -> Result<DrillRecord, CancelError> {
        let live = lock(&self.inner.live);
        let rec = self
            .get(id)
            .ok_or_else(|| CancelError::NotFound(id.to_string()))?;
        match live.get(id) {
            Some(l) if !rec.status.is_final() => {
                l.cancel.store(true, Ordering::SeqCst);
                tracing::info!(drill = %id, "drill cancel requested");
                Ok(rec)
            }
            _ => Err(CancelError::NotRunning {
                id: id.to_string(),
                status: rec.status,
            }),
        }
    }

    /// Blocks until the drill is final and the lock released (or `timeout`); for tests.
    pub fn wait_blocking(&self, id: &str, timeout: std::time::Duration) -> Option<DrillRecord> {
        let deadline = Instant::now() + timeout;
        loop {
            let r = self.get(id)?;
            let locked = self.inner.engine.running().is_some_and(|j| j.id == id);
            if (r.status.is_final() && !locked) || Instant::now() >= deadline {
                return Some(r);
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

/// The components to drill: those asked for (each configured: else 422 naming
/// `components[i]`), or every configured one; with the index in the request when asked for.
fn choose_components(
    req: &DrillRequest,
    specs: &[ComponentSpec],
) -> Result<Vec<(Option<usize>, ComponentSpec)>, DrillRefused> {
    let Some(names) = &req.components else {
        return Ok(specs.iter().map(|s| (None, s.clone())).collect());
    };
    let mut invalid = Vec::new();
    let mut out = Vec::new();
    if names.is_empty() {
        invalid.push((
            "components".to_string(),
            "must name at least one component (or be left out for all)".to_string(),
        ));
    }
    for (i, n) in names.iter().enumerate() {
        match specs.iter().find(|s| &s.name == n) {
            _ if names[..i].contains(n) => {
                invalid.push((format!("components[{i}]"), format!("{n:?} is listed twice")))
            }
            None => invalid.push((
                format!("components[{i}]"),
                format!("no component named {n:?}"),
            )),
            Some(s) => out.push((Some(i), s.clone())),
        }
    }
    if invalid.is_empty() {
        Ok(out)
    } else {
        Err(DrillRefused::Invalid(invalid))
    }
}

/// When the set's backup started: its earliest folder's start.
fn set_start(set: &BackupSet) -> Option<DateTime<Utc>> {
    set.components.iter().filter_map(|f| f.started).min()
}

/// One component to drill: its spec, the set's folder of it and, for a local one, its drill
/// root (`None`: a remote component, drilled on its agent under the agent's drill root).
struct Work {
    spec: ComponentSpec,
    folder: SetFolder,
    root: Option<PathBuf>,
    probe: Option<String>,
}

/// A drill as a job of the runner: it holds the job lock until its end is on disk.
struct DrillJob {
    inner: Arc<Inner>,
    /// The job's own record; readers see it as last saved, and the final one only once the
    /// lock is released.
    record: Mutex<DrillRecord>,
    work: Vec<Work>,
    tx: broadcast::Sender<DrillEvent>,
    /// Set by [`Drills::cancel`].
    cancel: Arc<AtomicBool>,
    started: Instant,
}

impl DrillJob {
    fn record(&self) -> MutexGuard<'_, DrillRecord> {
        lock(&self.record)
    }

    /// Applies `f`, saves the record and shows it (unless it is final: shown by `show_final`).
    fn update(&self, f: impl FnOnce(&mut DrillRecord)) {
        let mut r = self.record();
        f(&mut r);
        if let Err(e) = self.inner.dir.save(&*r) {
            tracing::warn!(drill = %r.id, error = %e, "could not save the drill record; going on");
        }
        if !r.status.is_final() {
            lock(&self.inner.records).insert(r.clone());
        }
    }

    fn emit(&self, e: DrillEvent) {
        // No subscriber is fine: events are for whoever follows.
        let _ = self.tx.send(e);
    }

    /// Removes every scratch folder of the drill that proves to be its own.
    fn remove_scratch(&self) {
        let id = self.record().id.clone();
        let folders = self.record().scratch.clone();
        let mut done = Vec::new();
        let mut errors = Vec::new();
        for s in &folders {
            match scratch::remove(s, &id) {
                Ok(_) => done.push(s.path.clone()),
                Err(e) => errors.push(e.to_string()),
            }
        }
        self.update(|r| {
            for s in &mut r.scratch {
                if done.contains(&s.path) {
                    s.removed = true;
                }
            }
            r.errors.extend(errors);
        });
    }

    /// Drills a remote component on its agent (`crate::agent::drill`): one call that answers
    /// when the agent's restore, check and probe are done and its scratch is removed. An
    /// agent that cannot be reached fails the component with the agent's error.
    fn drill_remote(&self, id: &str, backup_id: &str, w: &Work) {
        let mut c = ComponentDrill::new(&w.spec.name);
        c.source_folder = Some(w.folder.folder.clone());
        c.started_at = Some(now());
        c.status = ComponentDrillStatus::Restoring;
        self.component(&c);
        let slot = w.folder.slot.clone().unwrap_or_default();
        let req = RemoteDrillRequest {
            source: crate::restore::remote::request_of(&w.spec, backup_id, &slot),
            probe_command: w.probe.clone(),
        };
        let answer = match self.inner.engine.store_of(&w.spec.name) {
            Ok((_, store)) => self
                .inner
                .engine
                .runner()
                .block_on(self.drill_watched(&*store, id, &c.name, &req))
                .map_err(|e| format!("the drill on its agent failed: {e}")),
            Err(e) => Err(e.to_string()),
        };
        match answer {
            Ok((a, live)) => {
                // An agent that could not be read while it ran: its probe's kept output now.
                if let (false, Some(p)) = (live, &a.probe) {
                    for line in p.output.lines() {
                        self.probe_line(&c.name, line);
                    }
                }
                apply_answer(&mut c, a, self.started);
            }
            Err(e) => {
                c.errors.push(e);
                c.status = ComponentDrillStatus::Failed;
            }
        }
        c.finished_at = Some(now());
        self.component(&c);
    }

    /// The drill call to the agent, and meanwhile, every [`REMOTE_POLL`], the probe's new
    /// output lines read from the agent and shown, and a cancel passed on. Returns the answer
    /// and whether the output was read live (then every line was shown).
    async fn drill_watched(
        &self,
        store: &dyn crate::store::ComponentStore,
        id: &str,
        component: &str,
        req: &RemoteDrillRequest,
    ) -> Result<(crate::store::wire::RemoteDrillAnswer, bool), crate::store::StoreError> {
        let call = store.drill(id, req);
        tokio::pin!(call);
        let mut next = 0u64;
        // Some read of the output succeeded (an agent that has not registered the drill yet,
        // or an older one without the route, answers 404 meanwhile).
        let mut live = false;
        let mut cancel_sent = false;
        let mut tick = tokio::time::interval(REMOTE_POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let answer = loop {
            tokio::select! {
                a = &mut call => break a?,
                _ = tick.tick() => {
                    if self.cancel.load(Ordering::SeqCst) && !cancel_sent {
                        cancel_sent = true;
                        if let Err(e) = store.drill_cancel(id).await {
                            tracing::warn!(drill = id, component, error = %e, "could not pass the cancel on to the agent");
                        }
                    }
                    live |= self.show_remote_lines(store, id, component, &mut next).await;
                }
            }
        };
        // The lines printed since the last read.
        live |= self
            .show_remote_lines(store, id, component, &mut next)
            .await;
        Ok((answer, live))
    }

    /// Shows the probe lines of the agent's drill from `next` on; false when the agent could
    /// not be read.
    async fn show_remote_lines(
        &self,
        store: &dyn crate::store::ComponentStore,
        id: &str,
        component: &str,
        next: &mut u64,
    ) -> bool {
        match store.drill_output(id, *next).await {
            Ok(o) => {
                for line in &o.lines {
                    self.probe_line(component, line);
                }
                *next = o.next.max(*next);
                true
            }
            Err(e) => {
                tracing::debug!(drill = id, component, error = %e, "the agent's probe output could not be read");
                false
            }
        }
    }

    fn finish(&self, status: DrillStatus) {
        let mut r = self.record();
        r.status = status;
        r.finished_at = Some(now());
    }
}

impl Progress for DrillJob {
    fn component(&self, c: &ComponentDrill) {
        self.update(|r| {
            if let Some(slot) = r.components.iter_mut().find(|x| x.name == c.name) {
                *slot = c.clone();
            }
        });
        self.emit(DrillEvent::Component {
            component: Box::new(c.clone()),
        });
    }

    fn probe_line(&self, component: &str, line: &str) {
        self.emit(DrillEvent::ProbeOutput {
            component: component.to_string(),
            line: line.to_string(),
        });
    }
}

impl super::runner::Job for DrillJob {
    fn id(&self) -> String {
        self.record().id.clone()
    }

    fn name(&self) -> String {
        format!("drill {}", self.record().id)
    }

    fn run(&self) {
        let (id, backup_id, keep) = {
            let r = self.record();
            (r.id.clone(), r.backup_id.clone(), r.keep_scratch)
        };
        // The scratch folders, each made exclusively with its marker and recorded before
        // anything is written into it; each drill root checked again right before.
        let specs = self.inner.engine.all_components();
        let site = Site::of_specs(&specs, &self.inner.state_dir);
        let folders = self.record().scratch.clone();
        let mut made = Vec::new();
        let mut failed_roots = Vec::new();
        for s in &folders {
            let path = PathBuf::from(&s.path);
            let root = path.parent().map(Path::to_path_buf).unwrap_or_default();
            let problems: Vec<String> = self
                .work
                .iter()
                .filter(|w| w.root.as_ref() == Some(&root))
                .flat_map(|w| crate::config::check_drill_root(&site, &w.spec.name, &root))
                .collect();
            if !problems.is_empty() {
                failed_roots.push((root, problems.join("; ")));
                continue;
            }
            match scratch::make(&root, &id) {
                Ok(m) => made.push((s.path.clone(), m)),
                Err(e) => failed_roots.push((root, e.to_string())),
            }
        }
        self.update(|r| {
            for s in &mut r.scratch {
                if let Some((_, m)) = made.iter().find(|m| m.0 == s.path) {
                    s.device = Some(m.device);
                    s.inode = Some(m.inode);
                    s.made_dirs.clone_from(&m.made_dirs);
                } else {
                    s.removed = true;
                }
            }
        });
        for w in &self.work {
            let (spec, folder, probe) = (&w.spec, &w.folder, &w.probe);
            if self.cancel.load(Ordering::SeqCst) {
                let mut c = ComponentDrill::new(&spec.name);
                c.status = ComponentDrillStatus::Skipped;
                c.reason = Some("the drill was cancelled before this component".into());
                self.component(&c);
                continue;
            }
            let Some(root) = &w.root else {
                self.drill_remote(&id, &backup_id, w);
                continue;
            };
            if let Some((_, why)) = failed_roots.iter().find(|f| &f.0 == root) {
                let mut c = ComponentDrill::new(&spec.name);
                c.status = ComponentDrillStatus::Failed;
                c.errors.push(format!(
                    "the drill root {} cannot be used: {why}",
                    root.display()
                ));
                self.component(&c);
                continue;
            }
            let input = ComponentInput {
                drill_id: &id,
                backup_id: &backup_id,
                spec,
                folder: Path::new(&folder.folder),
                origin: match folder.source {
                    FolderSource::Slot => FolderOrigin::Slot,
                    FolderSource::Imported => FolderOrigin::Imported,
                },
                slot: folder.slot.clone(),
                scratch_home: scratch::folder_of(root, &id).join(&spec.name),
                probe_command: probe.clone(),
                probe_refused: None,
                started: self.started,
                faults: &self.inner.faults,
                state_dir: &self.inner.state_dir,
                cancelled: &self.cancel,
            };
            drill_component(&input, self);
        }
        if !keep {
            self.remove_scratch();
        }
        let passed = {
            let r = self.record();
            r.errors.is_empty()
                && r.components.iter().all(|c| {
                    matches!(
                        c.status,
                        ComponentDrillStatus::Passed | ComponentDrillStatus::Skipped
                    )
                })
        };
        let rto = seconds(self.started.elapsed());
        {
            let mut r = self.record();
            if passed && !self.cancel.load(Ordering::SeqCst) {
                r.rto_seconds = r
                    .components
                    .iter()
                    .filter_map(|c| c.rto_seconds)
                    .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
                    .or(Some(rto));
            }
        }
        self.finish(if self.cancel.load(Ordering::SeqCst) {
            DrillStatus::Cancelled
        } else if passed {
            DrillStatus::Passed
        } else {
            DrillStatus::Failed
        });
    }

    /// A panic ends the drill `failed`; its scratch is removed unless kept.
    fn failed_unexpectedly(&self, why: &str) {
        tracing::error!(drill = %self.id(), error = %why, "the drill panicked");
        if !self.record().keep_scratch {
            self.remove_scratch();
        }
        self.record()
            .errors
            .push("internal error: the drill stopped unexpectedly; see the log".into());
        self.finish(DrillStatus::Failed);
    }

    /// Saves the final record until it is on disk (the lock is held meanwhile).
    fn make_final_durable(&self) {
        let mut backoff = crate::toolkit::Backoff::new(
            std::time::Duration::from_millis(500),
            std::time::Duration::from_secs(15),
        );
        loop {
            let r = self.record().clone();
            match self.inner.dir.save(&r) {
                Ok(()) => {
                    self.inner
                        .engine
                        .set_problem(&format!("drill {}", r.id), None);
                    return;
                }
                Err(e) => {
                    let problem = format!(
                        "drill {}: its end could not be recorded ({e}); retrying",
                        r.id
                    );
                    tracing::error!(problem = %problem, "drill record not writable");
                    self.inner
                        .engine
                        .set_problem(&format!("drill {}", r.id), Some(problem));
                    backoff.sleep_blocking();
                }
            }
        }
    }

    /// Shows the final record, ends the event stream, and reports a failed drill.
    fn show_final(&self) {
        let r = self.record().clone();
        tracing::info!(drill = %r.id, status = r.status.as_str(), "drill finished");
        lock(&self.inner.records).insert(r.clone());
        lock(&self.inner.live).remove(&r.id);
        self.emit(DrillEvent::End { status: r.status });
        if let Some(e) = super::events::drill_failed(&r) {
            self.inner.engine.events().emit(e);
        }
    }
}
