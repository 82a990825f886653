//! The replication job kind: copies one backup set to one replication target
//! ([`crate::replicate`]) as a job of the runner, keeps its records
//! (`<state_dir>/jobs/replications/<ID>.json`, through `toolkit::record_dir`), its progress
//! for the event stream, cancel, and the after-backup replications of the targets with
//! `mode = "after_backup"`.
//!
//! # The lock
//! A backup rotates the slots a replication reads (`backup` becomes `backup1`, the oldest is
//! removed). A replication therefore holds the one-job lock for its whole run
//! (`crate::jobs::lock::EXCLUDES`): no backup, restore or other replication starts meanwhile,
//! and the set's folders are looked up only once the lock is held. Each folder's `readme.txt`
//! is checked to name the backup and component right before it is read. A backup that the
//! scheduler starts during a replication is refused (409, logged as skipped); an after-backup
//! replication that finds the lock taken waits for it (with backoff, up to
//! [`AFTER_BACKUP_WAIT`]).
//!
//! # Remote components
//! A component on an agent is uploaded by its agent (`crate::agent::replicate`), one agent
//! after the other once the local components are up, with the target's settings and keys sent
//! per call ([`TargetAccess`]); the manifest is written only when every component succeeded.
//! A cancel tells the agent to stop. A restore from the target has each agent download its
//! component on its machine ([`Replications::download_for_restore`]).
//!
//! # States
//! `running` → `succeeded` | `failed` | `cancelled`; a record found `running` when the server
//! starts → `interrupted` (its blobs stay on the bucket and the next run skips them; no
//! manifest was written, so the set does not exist remotely).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use utoipa::ToSchema;

use super::{BackupJobs, JobKind, StartError};
use crate::config::{ReplicationMode, ReplicationTarget};
use crate::engine::CancelToken;
use crate::replicate::seal::{self, Seal};
use crate::replicate::upload::{self, Options, SourceFolder};
use crate::replicate::{Bucket, ManifestComponent, Progress, ReplicateError};
use crate::sets::Sets;
use crate::store::remote::Secret;
use crate::store::wire::{
    BlobEncryption, RemoteDownloadRequest, RemoteReplicationRequest, TargetAccess,
};
use crate::toolkit::job_id::{IdForm, IdIssuer, SeqForm};
use crate::toolkit::record_dir::{ListQuery, Record, RecordDir, RecordIndex};

/// Replication IDs: `C20261126T020500Z` (`C` for copy), then `.0001`.. in the same second.
pub const REPLICATION_ID: IdForm = IdForm {
    prefix: "C",
    millis: false,
    seq: SeqForm::DotAfterFirst,
};
/// Largest page of [`Replications::list`].
pub const MAX_PAGE: usize = 500;
/// How long an after-backup replication waits for the lock before giving up (logged).
pub const AFTER_BACKUP_WAIT: Duration = Duration::from_secs(6 * 3600);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReplicationStatus {
    Running,
    Succeeded,
    Failed,
    Cancelled,
    /// The server stopped while it ran.
    Interrupted,
}

impl ReplicationStatus {
    pub fn is_final(self) -> bool {
        self != ReplicationStatus::Running
    }
}

/// What started a replication.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReplicationTrigger {
    /// `POST /replication-targets/{name}/replicate`.
    Manual,
    /// A backup ended successfully and the target has `mode = "after_backup"`.
    AfterBackup,
}

/// A replication's record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReplicationRecord {
    #[schema(example = "C20261126T020500Z")]
    pub id: String,
    /// `copy` (the set uploaded) or `verify` (the set on the bucket checked).
    #[serde(default)]
    pub kind: ReplicationKind,
    /// A `verify` that downloads and hashes every blob (else: existence and size).
    #[serde(default)]
    pub deep: bool,
    /// The replication target.
    #[schema(example = "offsite")]
    pub target: String,
    /// The backup set copied.
    #[schema(example = "20261126T020000Z")]
    pub backup_id: String,
    pub trigger: ReplicationTrigger,
    pub status: ReplicationStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Distinct blobs (file contents) of the set, and their bytes.
    pub blobs_total: u64,
    pub bytes_total: u64,
    /// Blobs uploaded by this run, and their bytes.
    pub blobs_uploaded: u64,
    pub bytes_uploaded: u64,
    /// Blobs already on the bucket (unchanged or shared content): skipped.
    pub blobs_present: u64,
    pub bytes_present: u64,
    /// Failed attempts of requests to the store (an answer 5xx, 429 or 408, a timeout, a lost
    /// connection), each tried again while the retries last.
    pub retries: u64,
    /// The set's manifest was on the bucket already: nothing was uploaded.
    pub already_replicated: bool,
    /// The manifest's key on the bucket (under the target's prefix) once written.
    pub manifest_key: Option<String>,
    /// Why it failed, naming the target.
    pub error: Option<String>,
    /// A `verify`: what is missing or wrong on the bucket, each naming the blob and a file of
    /// the set (the first 100), and how many problems there were.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    #[serde(default)]
    pub problem_count: u64,
    /// A `copy` to a target with `keep`: the sets the retention pass removed from the bucket,
    /// and the blobs no remaining set used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sets_removed: Vec<String>,
    #[serde(default)]
    pub blobs_removed: u64,
    /// Why the retention pass after a successful copy failed (the copy itself is complete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_error: Option<String>,
}

/// What a replication job does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReplicationKind {
    /// Uploads the set (`POST /replication-targets/{name}/replicate`). `blobs_present`: the
    /// blobs the bucket had already.
    #[default]
    Copy,
    /// Checks the set on the bucket (`POST /replication-targets/{name}/sets/{id}/verify`).
    /// `blobs_present`: the blobs found sound; `succeeded` when every one is.
    Verify,
}

impl ReplicationRecord {
    /// The record of a job of `kind` just started, nothing done yet.
    fn running(
        id: String,
        kind: ReplicationKind,
        target: &str,
        backup_id: &str,
        trigger: ReplicationTrigger,
    ) -> ReplicationRecord {
        ReplicationRecord {
            id,
            kind,
            deep: false,
            problems: Vec::new(),
            problem_count: 0,
            sets_removed: Vec::new(),
            blobs_removed: 0,
            retention_error: None,
            target: target.to_string(),
            backup_id: backup_id.to_string(),
            trigger,
            status: ReplicationStatus::Running,
            started_at: now(),
            finished_at: None,
            blobs_total: 0,
            bytes_total: 0,
            blobs_uploaded: 0,
            bytes_uploaded: 0,
            blobs_present: 0,
            bytes_present: 0,
            retries: 0,
            already_replicated: false,
            manifest_key: None,
            error: None,
        }
    }
}

impl Record for ReplicationRecord {
    type Status = ReplicationStatus;
    fn id(&self) -> &str {
        &self.id
    }
    fn status(&self) -> ReplicationStatus {
        self.status
    }
}

/// Why a replication did not start.
#[derive(Debug, thiserror::Error)]
pub enum ReplicationStartError {
    #[error("no replication target named {0:?}")]
    TargetNotFound(String),
    #[error("no backup set {0} on disk")]
    SetNotFound(String),
    #[error("no successful backup set to replicate")]
    NoSet,
    /// The set cannot be replicated (not complete and successful, e.g. an agent unreachable).
    #[error("{0}")]
    NotReplicable(String),
    #[error("a {kind} is already running: {id}")]
    Busy { kind: JobKind, id: String },
    #[error("could not record the replication: {0}")]
    Io(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ReplicationCancelError {
    #[error("no replication {0}")]
    NotFound(String),
    #[error("replication {0} is not running")]
    NotRunning(String),
}

/// The last replication of each target, for `/metrics`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetStats {
    /// The newest set this server replicated successfully (or found replicated), and when.
    pub last_set: Option<String>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// Totals over this server's life.
    pub bytes_uploaded: u64,
    pub blobs_skipped: u64,
    pub failures: u64,
    /// Failed request attempts the copies retried.
    pub retries: u64,
}

struct Live {
    cancel: CancelToken,
    tx: watch::Sender<ReplicationRecord>,
}

struct Inner {
    engine: BackupJobs,
    sets: Sets,
    dir: RecordDir,
    scratch: PathBuf,
    records: Mutex<RecordIndex<ReplicationRecord>>,
    ids: Mutex<IdIssuer>,
    targets: RwLock<Vec<ReplicationTarget>>,
    live: Mutex<HashMap<String, Live>>,
}

/// The replication service. Cheap to clone.
#[derive(Clone)]
pub struct Replications {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

impl Replications {
    /// Loads the records (a `running` one is now `interrupted`). Blocking.
    pub fn open(
        engine: BackupJobs,
        sets: Sets,
        targets: Vec<ReplicationTarget>,
    ) -> Result<Replications, crate::toolkit::fsutil::IoError> {
        let state_dir = engine.state_dir().to_path_buf();
        let dir = RecordDir::create(state_dir.join("jobs").join("replications"))?;
        let loaded = dir.load::<ReplicationRecord>()?;
        for u in &loaded.unreadable {
            tracing::error!(file = %u.path.display(), error = %u.error, "unreadable replication record left as it is");
        }
        let mut index = loaded.index;
        let stale: Vec<ReplicationRecord> = index
            .oldest_first()
            .filter(|r| r.status == ReplicationStatus::Running)
            .cloned()
            .collect();
        for mut r in stale {
            r.status = ReplicationStatus::Interrupted;
            r.finished_at = Some(now());
            r.error = Some(
                "the server stopped during the replication; blobs already uploaded are kept \
                 and skipped by the next run, no manifest was written"
                    .into(),
            );
            dir.save(&r)?;
            index.insert(r);
        }
        let ids = IdIssuer::new(REPLICATION_ID, index.last_id());
        let scratch = state_dir.join("tmp");
        Ok(Replications {
            inner: Arc::new(Inner {
                engine,
                sets,
                dir,
                scratch,
                records: Mutex::new(index),
                ids: Mutex::new(ids),
                targets: RwLock::new(targets),
                live: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Replaces the targets (after a config change).
    pub fn set_targets(&self, targets: Vec<ReplicationTarget>) {
        *self
            .inner
            .targets
            .write()
            .unwrap_or_else(|e| e.into_inner()) = targets;
    }

    pub fn target(&self, name: &str) -> Option<ReplicationTarget> {
        self.inner
            .targets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|t| t.name == name)
            .cloned()
    }

    fn targets(&self) -> Vec<ReplicationTarget> {
        self.inner
            .targets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn get(&self, id: &str) -> Option<ReplicationRecord> {
        lock(&self.inner.records).get(id).cloned()
    }

    /// Newest first, at most [`MAX_PAGE`], and the cursor of the next page.
    pub fn list(
        &self,
        q: &ListQuery<ReplicationStatus>,
    ) -> (Vec<ReplicationRecord>, Option<String>) {
        lock(&self.inner.records).page(q, MAX_PAGE)
    }

    /// The record now and a receiver of its changes (closed once it is final).
    pub fn subscribe(&self, id: &str) -> Option<watch::Receiver<ReplicationRecord>> {
        if let Some(l) = lock(&self.inner.live).get(id) {
            return Some(l.tx.subscribe());
        }
        let rec = self.get(id)?;
        Some(watch::channel(rec).1)
    }

    /// Asks a running replication to stop; it ends `cancelled` between chunks.
    pub fn cancel(&self, id: &str) -> Result<ReplicationRecord, ReplicationCancelError> {
        let rec = self
            .get(id)
            .ok_or_else(|| ReplicationCancelError::NotFound(id.to_string()))?;
        match lock(&self.inner.live).get(id) {
            Some(l) if !rec.status.is_final() => {
                l.cancel.cancel();
                Ok(rec)
            }
            _ => Err(ReplicationCancelError::NotRunning(id.to_string())),
        }
    }

    /// Per target, from the records: the last replicated set and the totals.
    pub fn stats(&self) -> Vec<(String, TargetStats)> {
        let records = lock(&self.inner.records);
        self.targets()
            .into_iter()
            .map(|t| {
                let mut s = TargetStats::default();
                for r in records
                    .oldest_first()
                    .filter(|r| r.target == t.name && r.kind == ReplicationKind::Copy)
                {
                    s.bytes_uploaded += r.bytes_uploaded;
                    s.blobs_skipped += r.blobs_present;
                    s.retries += r.retries;
                    match r.status {
                        ReplicationStatus::Succeeded
                            if s.last_set
                                .as_deref()
                                .is_none_or(|l| l <= r.backup_id.as_str()) =>
                        {
                            s.last_set = Some(r.backup_id.clone());
                            s.last_success_at = r.finished_at;
                        }
                        ReplicationStatus::Failed | ReplicationStatus::Interrupted => {
                            s.failures += 1
                        }
                        _ => {}
                    }
                }
                (t.name, s)
            })
            .collect()
    }

    /// Starts replicating set `backup_id` (the newest successful set when `None`) to target
    /// `name`: takes the lock, finds the set's folders, writes the record, and runs the job.
    /// Returns the running record (on disk). Blocking.
    pub fn start(
        &self,
        name: &str,
        backup_id: Option<&str>,
        trigger: ReplicationTrigger,
    ) -> Result<ReplicationRecord, ReplicationStartError> {
        let target = self
            .target(name)
            .ok_or_else(|| ReplicationStartError::TargetNotFound(name.to_string()))?;
        let id = lock(&self.inner.ids).issue(Utc::now());
        let guard = self
            .inner
            .engine
            .try_lock_exclusive(JobKind::Replication, &id)
            .map_err(|e| match e {
                StartError::Busy { kind, id } => ReplicationStartError::Busy { kind, id },
                other => ReplicationStartError::Io(other.to_string()),
            })?;
        // Under the lock: no backup can move the slots found here until the job ends.
        let set = match backup_id {
            Some(b) => self
                .inner
                .sets
                .get(b)
                .ok_or_else(|| ReplicationStartError::SetNotFound(b.to_string()))?,
            None => self
                .inner
                .sets
                .latest_successful()
                .ok_or(ReplicationStartError::NoSet)?,
        };
        if !set.successful {
            // A component whose agent did not answer is missing from the set: say which.
            let unlisted: Vec<String> = self
                .inner
                .sets
                .scan()
                .problems
                .into_iter()
                .map(|p| format!("component {}: {}", p.component, p.problem))
                .collect();
            let why = if unlisted.is_empty() {
                String::new()
            } else {
                format!(" ({})", unlisted.join("; "))
            };
            return Err(ReplicationStartError::NotReplicable(format!(
                "backup set {} is not complete and successful: only such sets are replicated{why}",
                set.id
            )));
        }
        let mut copy = CopySet::default();
        for f in set.preferred_folders() {
            copy.order.push(f.component.clone());
            match &f.agent {
                Some(agent) => copy.on_agents.push(AgentFolder {
                    component: f.component.clone(),
                    agent: agent.clone(),
                    slot: f.slot.clone().unwrap_or_default(),
                }),
                None => copy.local.push(SourceFolder {
                    component: f.component.clone(),
                    folder: PathBuf::from(&f.folder),
                }),
            }
        }
        let record = ReplicationRecord::running(
            id.clone(),
            ReplicationKind::Copy,
            &target.name,
            &set.id,
            trigger,
        );
        self.go(record, target, Task::Copy(copy), Some(guard))
    }

    /// Starts verifying set `backup_id` on target `name`'s bucket (`deep`: every blob
    /// downloaded and hashed) as a job. Takes no lock: it only reads the bucket. Returns the
    /// running record (on disk). Blocking.
    pub fn start_verify(
        &self,
        name: &str,
        backup_id: &str,
        deep: bool,
    ) -> Result<ReplicationRecord, ReplicationStartError> {
        let target = self
            .target(name)
            .ok_or_else(|| ReplicationStartError::TargetNotFound(name.to_string()))?;
        let id = lock(&self.inner.ids).issue(Utc::now());
        let mut record = ReplicationRecord::running(
            id.clone(),
            ReplicationKind::Verify,
            &target.name,
            backup_id,
            ReplicationTrigger::Manual,
        );
        record.deep = deep;
        self.go(record, target, Task::Verify { deep }, None)
    }

    /// Records `record` (running), makes it live and runs its job.
    fn go(
        &self,
        record: ReplicationRecord,
        target: ReplicationTarget,
        task: Task,
        guard: Option<super::ExclusiveGuard>,
    ) -> Result<ReplicationRecord, ReplicationStartError> {
        self.inner
            .dir
            .save(&record)
            .map_err(|e| ReplicationStartError::Io(e.to_string()))?;
        lock(&self.inner.records).insert(record.clone());
        let cancel = CancelToken::new();
        let (tx, _) = watch::channel(record.clone());
        lock(&self.inner.live).insert(
            record.id.clone(),
            Live {
                cancel: cancel.clone(),
                tx,
            },
        );
        tracing::info!(replication = %record.id, kind = ?record.kind, target = %target.name, set = %record.backup_id, "replication started");
        let job = ReplicationJob {
            inner: self.inner.clone(),
            target,
            task,
            cancel,
            progress: Arc::new(Progress::default()),
            record: Mutex::new(record.clone()),
        };
        self.inner.engine.runner().spawn(Arc::new(job), guard);
        Ok(record)
    }

    /// [`Replications::start`] for async callers: on the runtime's blocking pool.
    pub async fn start_async(
        &self,
        name: &str,
        backup_id: Option<String>,
        trigger: ReplicationTrigger,
    ) -> Result<ReplicationRecord, ReplicationStartError> {
        let me = self.clone();
        let name = name.to_string();
        self.inner
            .engine
            .runner()
            .blocking(move || me.start(&name, backup_id.as_deref(), trigger))
            .await
            .map_err(|e| ReplicationStartError::Io(e.to_string()))?
    }

    /// After backup `backup_id` succeeded: replicates it to every target with
    /// `mode = "after_backup"`, one after the other, in the background. A target whose
    /// replication cannot start because another job holds the lock is tried again with backoff
    /// (up to [`AFTER_BACKUP_WAIT`]).
    pub fn after_backup(&self, backup_id: &str) {
        let targets: Vec<String> = self
            .targets()
            .into_iter()
            .filter(|t| t.mode == ReplicationMode::AfterBackup)
            .map(|t| t.name)
            .collect();
        if targets.is_empty() {
            return;
        }
        let me = self.clone();
        let backup_id = backup_id.to_string();
        let rt = self.inner.engine.runner().handle().clone();
        rt.spawn_blocking(move || {
            for name in targets {
                me.replicate_waiting(&name, &backup_id);
            }
        });
    }

    /// Starts one after-backup replication (waiting for the lock) and waits for its end.
    fn replicate_waiting(&self, name: &str, backup_id: &str) {
        let deadline = std::time::Instant::now() + AFTER_BACKUP_WAIT;
        let mut backoff =
            crate::toolkit::Backoff::new(Duration::from_millis(200), Duration::from_secs(30));
        loop {
            match self.start(name, Some(backup_id), ReplicationTrigger::AfterBackup) {
                Ok(rec) => {
                    let mut rx = match self.subscribe(&rec.id) {
                        Some(rx) => rx,
                        None => return,
                    };
                    self.inner.engine.runner().block_on(async move {
                        loop {
                            if rx.borrow_and_update().status.is_final() {
                                return;
                            }
                            if rx.changed().await.is_err() {
                                return;
                            }
                        }
                    });
                    return;
                }
                Err(ReplicationStartError::Busy { kind, id })
                    if std::time::Instant::now() < deadline =>
                {
                    tracing::debug!(target = %name, busy = %kind, job = %id, "after-backup replication waits for the lock");
                    backoff.sleep_blocking();
                }
                Err(e) => {
                    tracing::error!(target = %name, set = %backup_id, error = %e, "after-backup replication not started");
                    return;
                }
            }
        }
    }

    /// The IDs of the sets on target `name`'s bucket (their manifests), newest first.
    pub async fn remote_sets(&self, name: &str) -> Result<Vec<RemoteSet>, RemoteSetsError> {
        let target = self
            .target(name)
            .ok_or_else(|| RemoteSetsError::TargetNotFound(name.to_string()))?;
        let bucket = Bucket::open(&target)?;
        // From the key names alone: an encrypted set is listed without its key.
        let listed = bucket.list("sets").await?;
        let mut sets: Vec<RemoteSet> = listed
            .iter()
            .filter_map(|(key, size)| {
                let (id, encrypted) = crate::replicate::manifest_of(key)?;
                Some(RemoteSet {
                    backup_id: id.to_string(),
                    manifest_key: key.clone(),
                    manifest_bytes: *size,
                    encrypted,
                })
            })
            .collect();
        sets.sort_by(|a, b| b.backup_id.cmp(&a.backup_id));
        Ok(sets)
    }
}

/// The downloads of sets for restores: `<state_dir>/downloads/<ID>/<component>/`, each
/// `<ID>` folder marked as the product's by [`DOWNLOAD_MARK`].
pub const DOWNLOADS_DIR: &str = "downloads";
/// The file that marks a download folder as made by this product (checked before removal).
pub const DOWNLOAD_MARK: &str = ".backup-master-download";

/// Why a set could not be downloaded for a restore.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("no replication target named {0:?}")]
    TargetNotFound(String),
    #[error("backup set {id} is not on replication target {target} (no manifest sets/{id}.json)")]
    NotOnTarget { target: String, id: String },
    #[error("a {kind} is already running: {id}")]
    Busy { kind: JobKind, id: String },
    #[error(transparent)]
    Store(#[from] ReplicateError),
    /// A remote component's agent could not download it (`unreachable`: it did not answer).
    #[error("{message}")]
    Agent { unreachable: bool, message: String },
    #[error("{0}")]
    Io(String),
}

/// A set downloaded for a restore: the local components' folders here, the remote ones on
/// their agents.
#[derive(Clone, Debug, Default)]
pub struct Downloaded {
    /// Component -> its folder on this machine.
    pub local: BTreeMap<String, String>,
    /// Component -> its agent's download.
    pub on_agents: BTreeMap<String, crate::restore::AgentDownload>,
}

impl Replications {
    /// Downloads set `backup_id` from target `name` for a restore: the folders of `components`
    /// (every configured component when `None`) rebuilt, every hash checked: a local one under
    /// a new `<state_dir>/downloads/<ID>/`, a remote one by its agent on its machine (the
    /// target's keys sent with the call, `crate::agent::replicate`). Holds the job lock while
    /// it works, so no restore is reading an older download when those are removed first
    /// (each checked to carry [`DOWNLOAD_MARK`]). Blocking.
    pub fn download_for_restore(
        &self,
        name: &str,
        backup_id: &str,
        components: Option<&[String]>,
    ) -> Result<Downloaded, DownloadError> {
        let target = self
            .target(name)
            .ok_or_else(|| DownloadError::TargetNotFound(name.to_string()))?;
        let id = lock(&self.inner.ids).issue(Utc::now());
        let _guard = self
            .inner
            .engine
            .try_lock_exclusive(JobKind::Replication, &id)
            .map_err(|e| match e {
                StartError::Busy { kind, id } => DownloadError::Busy { kind, id },
                other => DownloadError::Io(other.to_string()),
            })?;
        let runner = self.inner.engine.runner().clone();
        // The keys and the manifest first: a set that cannot be opened changes nothing here.
        let (bucket, manifest) = runner.block_on(async {
            let bucket = Bucket::open(&target)?;
            let seal = seal::for_target(&bucket, &target.encryption, seal::Use::Read).await?;
            let bucket = bucket.with_seal(seal);
            let manifest = crate::replicate::download::read_manifest(&bucket, backup_id)
                .await?
                .ok_or_else(|| DownloadError::NotOnTarget {
                    target: name.to_string(),
                    id: backup_id.to_string(),
                })?;
            Ok::<_, DownloadError>((bucket, manifest))
        })?;
        let root = self.inner.engine.state_dir().join(DOWNLOADS_DIR);
        remove_old_downloads(&root)?;
        let dest = root.join(&id);
        std::fs::create_dir_all(&dest)
            .and_then(|()| std::fs::write(dest.join(DOWNLOAD_MARK), backup_id))
            .map_err(|e| DownloadError::Io(format!("{}: {e}", dest.display())))?;
        tracing::info!(target = %name, set = %backup_id, folder = %dest.display(), "downloading a set for a restore");
        // The components asked for, else every configured one.
        let configured = crate::store::Locator::all_components(&self.inner.engine);
        let wanted: Vec<String> = match components {
            Some(c) => c.to_vec(),
            None => configured.iter().map(|s| s.name.clone()).collect(),
        };
        let remote: Vec<String> = wanted
            .iter()
            .filter(|w| configured.iter().any(|s| s.name == **w && s.is_remote()))
            .cloned()
            .collect();
        let local: Vec<String> = wanted
            .iter()
            .filter(|w| !remote.contains(w))
            .cloned()
            .collect();
        runner.block_on(async {
            let folders =
                crate::replicate::download::download_set(&bucket, &manifest, Some(&local), &dest)
                    .await?;
            let mut got = Downloaded {
                local: folders
                    .into_iter()
                    .map(|(c, p)| (c, p.display().to_string()))
                    .collect(),
                on_agents: BTreeMap::new(),
            };
            // A remote component the set lacks is left out, like a local one: the restore
            // then names it.
            for c in remote
                .iter()
                .filter(|c| manifest.components.iter().any(|m| m.name == **c))
            {
                let d = self
                    .download_on_agent(&target, bucket.seal(), &id, backup_id, c)
                    .await?;
                got.on_agents.insert(c.clone(), d);
            }
            Ok::<_, DownloadError>(got)
        })
    }

    /// Has the agent of remote component `component` download it (download `download_id`).
    async fn download_on_agent(
        &self,
        target: &ReplicationTarget,
        seal: Option<&Seal>,
        download_id: &str,
        backup_id: &str,
        component: &str,
    ) -> Result<crate::restore::AgentDownload, DownloadError> {
        let (_, store) = self
            .inner
            .engine
            .store_of(component)
            .map_err(|e| DownloadError::Io(e.to_string()))?;
        let agent = store.location().unwrap_or_default();
        let creds = target
            .credentials()
            .map_err(|e| DownloadError::Store(ReplicateError::Settings(e)))?;
        let req = RemoteDownloadRequest {
            backup_id: backup_id.to_string(),
            target: access_of(target, creds, seal, seal::Use::Read),
        };
        tracing::info!(target = %target.name, set = %backup_id, component = %component, agent = %agent, "the agent downloads its component");
        let answer = store
            .download(download_id, &req)
            .await
            .map_err(|e| DownloadError::Agent {
                unreachable: matches!(e, crate::store::StoreError::Remote(_)),
                message: format!("component {component} on agent {agent}: {e}"),
            })?;
        Ok(crate::restore::AgentDownload {
            download_id: download_id.to_string(),
            agent,
            answer,
        })
    }
}

/// Removes the earlier downloads under `root`: only folders carrying [`DOWNLOAD_MARK`] (what
/// this product made); anything else there is left alone with a warning.
fn remove_old_downloads(root: &std::path::Path) -> Result<(), DownloadError> {
    let entries = match std::fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(DownloadError::Io(format!("{}: {e}", root.display()))),
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let ours = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir())
            && std::fs::symlink_metadata(path.join(DOWNLOAD_MARK)).is_ok_and(|m| m.is_file());
        if !ours {
            tracing::warn!(path = %path.display(), "not a download of this product: left alone");
            continue;
        }
        crate::toolkit::fsutil::remove_tree(&path).map_err(|e| DownloadError::Io(e.to_string()))?;
    }
    Ok(())
}

/// A set on a target's bucket: its manifest exists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RemoteSet {
    #[schema(example = "20261126T020000Z")]
    pub backup_id: String,
    #[schema(example = "sets/20261126T020000Z.json")]
    pub manifest_key: String,
    pub manifest_bytes: u64,
    /// The set was written by a target that encrypts (`sets/<id>.json.age`): restoring it
    /// needs the target's key.
    #[serde(default)]
    pub encrypted: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RemoteSetsError {
    #[error("no replication target named {0:?}")]
    TargetNotFound(String),
    #[error(transparent)]
    Store(#[from] ReplicateError),
}

/// A component of a set whose slot is on an agent's machine: the agent uploads it.
#[derive(Clone, Debug)]
struct AgentFolder {
    component: String,
    /// The agent's URL.
    agent: String,
    slot: String,
}

/// The folders of a set to copy: the master's own, and those its agents upload.
#[derive(Clone, Debug, Default)]
struct CopySet {
    local: Vec<SourceFolder>,
    on_agents: Vec<AgentFolder>,
    /// Every component in the set's order (the manifest's).
    order: Vec<String>,
}

/// What a replication job does.
enum Task {
    Copy(CopySet),
    Verify { deep: bool },
}

/// Target `t` as an agent gets it with a call: its settings and the keys `creds`.
fn access_of(
    t: &ReplicationTarget,
    creds: crate::config::S3Credentials,
    seal: Option<&Seal>,
    usage: seal::Use,
) -> TargetAccess {
    TargetAccess {
        name: t.name.clone(),
        endpoint: t.endpoint.clone(),
        bucket: t.bucket.clone(),
        prefix: t.prefix.clone(),
        region: t.region.clone(),
        path_style: t.path_style,
        timeout_seconds: t.timeout.as_secs().max(1),
        concurrency: t.concurrency,
        max_bytes_per_second: t.max_bytes_per_second,
        access_key: Secret::new(creds.access_key),
        secret_key: Secret::new(creds.secret_key),
        // Public recipients to upload; the identities only to download.
        encryption: seal.map(|s| BlobEncryption {
            recipients: s.recipient_strings(),
            key: match usage {
                seal::Use::Read => Some(Secret::new(s.identity_text())),
                seal::Use::Upload => None,
            },
        }),
    }
}

/// Resolves once `cancel` is set (checked every 100 ms).
async fn cancelled(cancel: &CancelToken) {
    while !cancel.is_cancelled() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An agent's part of a manifest, checked before the master writes it: the component asked
/// for, plain relative paths, well-formed hashes.
fn check_answered(want: &str, agent: &str, c: &ManifestComponent) -> Result<(), ReplicateError> {
    let bad = |why: String| {
        Err(ReplicateError::Agent(format!(
            "component {want} on agent {agent}: the agent answered {why}"
        )))
    };
    if c.name != want {
        return bad(format!("component {:?}", c.name));
    }
    for e in &c.entries {
        if !crate::replicate::manifest::plain_path(&e.path) {
            return bad(format!("the path {:?}", e.path));
        }
        if let Some(sha) = &e.sha256 {
            if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
                return bad(format!("the hash {sha:?}"));
            }
        }
    }
    Ok(())
}

struct ReplicationJob {
    inner: Arc<Inner>,
    target: ReplicationTarget,
    task: Task,
    cancel: CancelToken,
    progress: Arc<Progress>,
    record: Mutex<ReplicationRecord>,
}

impl ReplicationJob {
    fn record(&self) -> MutexGuard<'_, ReplicationRecord> {
        lock(&self.record)
    }

    /// Copies the counters into the record and shows it to readers (in memory only), still
    /// `running`: the end is shown by [`super::runner::Job::show_final`] once the lock is free,
    /// so a client that sees it can start the next job at once.
    fn publish(&self) {
        let snapshot = self.counted();
        lock(&self.inner.records).insert(snapshot.clone());
        if let Some(l) = lock(&self.inner.live).get(&snapshot.id) {
            l.tx.send_replace(snapshot);
        }
    }

    /// Copies the counters into the record; returns it.
    fn counted(&self) -> ReplicationRecord {
        let p = &self.progress;
        {
            let mut r = self.record();
            r.blobs_total = Progress::get(&p.blobs_total);
            r.bytes_total = Progress::get(&p.bytes_total);
            r.blobs_uploaded = Progress::get(&p.blobs_uploaded);
            r.bytes_uploaded = Progress::get(&p.bytes_uploaded);
            r.blobs_present = Progress::get(&p.blobs_present);
            r.bytes_present = Progress::get(&p.bytes_present);
            r.retries = Progress::get(&p.retries);
            r.clone()
        }
    }
}

impl ReplicationJob {
    /// Runs `work` on the runtime, publishing the counters four times a second meanwhile.
    fn drive<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, ReplicateError>>,
    ) -> Result<T, ReplicateError> {
        let runner = self.inner.engine.runner().clone();
        runner.block_on(async {
            tokio::pin!(work);
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tokio::select! {
                    r = &mut work => return r,
                    _ = tick.tick() => self.publish(),
                }
            }
        })
    }

    fn copy(&self, set: &CopySet) -> Result<(), ReplicateError> {
        let backup_id = self.record().backup_id.clone();
        let report = std::fs::read_to_string(crate::engine::report::report_path(
            self.inner.engine.state_dir(),
            &backup_id,
        ))
        .ok();
        if let Err(e) = std::fs::create_dir_all(&self.inner.scratch) {
            tracing::warn!(folder = %self.inner.scratch.display(), error = %e, "no scratch folder");
        }
        let opts = Options {
            concurrency: self.target.concurrency,
            max_bytes_per_second: self.target.max_bytes_per_second,
        };
        let outcome = self.drive(async {
            let bucket = Bucket::open_counting(&self.target, self.progress.retries.clone())?;
            let seal =
                seal::for_target(&bucket, &self.target.encryption, seal::Use::Upload).await?;
            let bucket = bucket.with_seal(seal);
            if let Some(done) = upload::replicated_already(&bucket, &backup_id).await? {
                return Ok(done);
            }
            let mut up = upload::upload_folders(
                &bucket,
                &backup_id,
                &set.local,
                &self.inner.scratch,
                opts,
                &self.progress,
                &self.cancel,
            )
            .await?;
            // One agent after the other: a blob two components share is uploaded once.
            for f in &set.on_agents {
                let (c, sizes) = self.copy_on_agent(&backup_id, f, bucket.seal()).await?;
                up.components.push(c);
                up.stored_sizes.extend(sizes);
                self.publish();
            }
            up.components
                .sort_by_key(|c| set.order.iter().position(|n| *n == c.name));
            // Every component's blobs are there: only now does the set exist remotely.
            upload::write_manifest(&bucket, &backup_id, report, up).await
        })?;
        {
            let mut r = self.record();
            r.already_replicated = outcome.already_replicated;
            r.manifest_key = Some(outcome.manifest_key);
        }
        if let Some(keep) = self.target.keep {
            self.retention(keep, &backup_id);
        }
        self.record().status = ReplicationStatus::Succeeded;
        Ok(())
    }

    /// Has the agent of `f` upload its slot (`crate::agent::replicate`) and answers the
    /// component's part of the manifest; its counters join the job's. The job's cancel tells
    /// the agent to stop. An agent that cannot be reached, or refuses, fails the replication
    /// naming it.
    async fn copy_on_agent(
        &self,
        backup_id: &str,
        f: &AgentFolder,
        seal: Option<&Seal>,
    ) -> Result<(ManifestComponent, BTreeMap<String, u64>), ReplicateError> {
        let on = |e: &dyn std::fmt::Display| {
            ReplicateError::Agent(format!(
                "component {} on agent {}: {e}",
                f.component, f.agent
            ))
        };
        let (spec, store) = self
            .inner
            .engine
            .store_of(&f.component)
            .map_err(|e| on(&e))?;
        if !spec.is_remote() {
            return Err(on(&"the component is no longer configured on an agent"));
        }
        let creds = self
            .target
            .credentials()
            .map_err(ReplicateError::Settings)?;
        let req = RemoteReplicationRequest {
            source: crate::restore::remote::request_of(&spec, backup_id, &f.slot),
            target: access_of(&self.target, creds, seal, seal::Use::Upload),
        };
        let id = self.record().id.clone();
        tracing::info!(replication = %id, component = %f.component, agent = %f.agent, "the agent uploads its component");
        let call = store.replicate(&id, &req);
        tokio::pin!(call);
        let answer = tokio::select! {
            a = &mut call => a,
            () = cancelled(&self.cancel) => {
                if let Err(e) = store.cancel_replication(&id).await {
                    tracing::warn!(replication = %id, component = %f.component, error = %e, "could not tell the agent to stop; closing the connection stops it");
                }
                // The agent answers at its next chunk; the call is dropped after a minute.
                let _ = tokio::time::timeout(Duration::from_secs(60), &mut call).await;
                return Err(ReplicateError::Cancelled);
            }
        };
        let a = answer.map_err(|e| on(&e))?;
        check_answered(&f.component, &f.agent, &a.component)?;
        let p = &self.progress;
        Progress::add(&p.blobs_total, a.blobs_total);
        Progress::add(&p.bytes_total, a.bytes_total);
        Progress::add(&p.blobs_uploaded, a.blobs_uploaded);
        Progress::add(&p.bytes_uploaded, a.bytes_uploaded);
        Progress::add(&p.blobs_present, a.blobs_present);
        Progress::add(&p.bytes_present, a.bytes_present);
        Progress::add(&p.retries, a.retries);
        Ok((a.component, a.stored_sizes))
    }

    /// The retention pass after a copy: the set just confirmed on the bucket is protected
    /// (it is the newest that verified, or a newer one verified by a check).
    fn retention(&self, keep: usize, copied: &str) {
        let protect = {
            let records = lock(&self.inner.records);
            records
                .newest_first()
                .filter(|r| {
                    r.target == self.target.name && r.status == ReplicationStatus::Succeeded
                })
                .map(|r| r.backup_id.clone())
                .chain(std::iter::once(copied.to_string()))
                .max()
        };
        let grace = self.target.unreferenced_grace;
        let pruned = self.drive(async {
            let bucket = Bucket::open_counting(&self.target, self.progress.retries.clone())?;
            crate::replicate::retention::prune(&bucket, keep, protect.as_deref(), grace).await
        });
        let mut r = self.record();
        match pruned {
            Ok(p) => {
                if !p.sets_removed.is_empty() || p.blobs_removed > 0 {
                    tracing::info!(replication = %r.id, target = %self.target.name, sets = ?p.sets_removed, blobs = p.blobs_removed, bytes = p.bytes_removed, "remote retention removed old sets");
                }
                r.sets_removed = p.sets_removed;
                r.blobs_removed = p.blobs_removed;
            }
            Err(e) => {
                tracing::error!(replication = %r.id, target = %self.target.name, error = %e, "remote retention failed");
                r.retention_error = Some(e.to_string());
            }
        }
    }

    fn verify(&self, deep: bool) -> Result<(), ReplicateError> {
        let backup_id = self.record().backup_id.clone();
        let found = self.drive(async {
            let bucket = Bucket::open_counting(&self.target, self.progress.retries.clone())?;
            // A quick check needs no key (an encrypted set's blob index suffices).
            let seal = match deep {
                true => seal::for_target(&bucket, &self.target.encryption, seal::Use::Read).await?,
                false => None,
            };
            let bucket = bucket.with_seal(seal);
            crate::replicate::verify::verify_set(
                &bucket,
                &backup_id,
                deep,
                &self.progress,
                &self.cancel,
            )
            .await
        })?;
        let mut r = self.record();
        r.status = if found.problem_count == 0 {
            ReplicationStatus::Succeeded
        } else {
            ReplicationStatus::Failed
        };
        r.manifest_key = Some(found.manifest_key.clone());
        if found.problem_count > 0 {
            r.error = Some(format!(
                "replication target {}: set {backup_id} has {} problem(s) on the bucket",
                self.target.name, found.problem_count
            ));
        }
        r.problems = found.problems;
        r.problem_count = found.problem_count;
        Ok(())
    }
}

impl super::runner::Job for ReplicationJob {
    fn id(&self) -> String {
        self.record().id.clone()
    }

    fn name(&self) -> String {
        format!("replication {}", self.record().id)
    }

    fn run(&self) {
        let result = match &self.task {
            Task::Copy(set) => self.copy(set),
            Task::Verify { deep } => self.verify(*deep),
        };
        // Readers see the final record only once the lock is released (`show_final`): a
        // client that sees the end can start the next job at once.
        self.counted();
        let mut r = self.record();
        match result {
            Ok(()) => {}
            Err(ReplicateError::Cancelled) => {
                r.status = ReplicationStatus::Cancelled;
                r.error = Some(match r.kind {
                    ReplicationKind::Copy => {
                        "cancelled; blobs already uploaded are kept, no manifest was written".into()
                    }
                    ReplicationKind::Verify => "cancelled".into(),
                });
            }
            Err(e) => {
                r.status = ReplicationStatus::Failed;
                r.error = Some(e.to_string());
            }
        }
    }

    fn failed_unexpectedly(&self, why: &str) {
        let mut r = self.record();
        r.status = ReplicationStatus::Failed;
        r.error = Some(why.to_string());
    }

    /// Saves the final record (a failed save is retried, then logged; the record is shown all
    /// the same).
    fn make_final_durable(&self) {
        let rec = {
            let mut r = self.record();
            r.finished_at = Some(now());
            r.clone()
        };
        tracing::info!(replication = %rec.id, target = %rec.target, set = %rec.backup_id, status = ?rec.status, bytes_uploaded = rec.bytes_uploaded, blobs_present = rec.blobs_present, error = rec.error.as_deref().unwrap_or(""), "replication finished");
        let mut backoff =
            crate::toolkit::Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        for attempt in 0..5 {
            match self.inner.dir.save(&rec) {
                Ok(()) => break,
                Err(e) => {
                    tracing::error!(replication = %rec.id, attempt, error = %e, "could not save the replication record");
                    backoff.sleep_blocking();
                }
            }
        }
    }

    /// After the lock is released: a client that sees the end can start the next job at once.
    fn show_final(&self) {
        let rec = self.record().clone();
        lock(&self.inner.records).insert(rec.clone());
        if let Some(l) = lock(&self.inner.live).remove(&rec.id) {
            l.tx.send_replace(rec);
        }
    }
}
