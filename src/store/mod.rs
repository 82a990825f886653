//! Component stores: where a component's backups are made and kept. The coordinator drives every
//! component through [`ComponentStore`] (prepare, then commit or abort), so a component on this
//! machine ([`local::LocalStore`]) and one behind an agent (a later remote store) look the same.
//! Everything crossing the trait is plain data (serde), so it can travel over HTTP.
//!
//! The data that crosses the trait lives here or below: the agent's wire format ([`wire`]),
//! restore step records ([`restore_record`]), and, re-exported from the engine, a
//! participant's standing in a two-phase commit ([`Participation`], [`Decision`],
//! [`HeuristicOutcome`]).

pub mod local;
mod local_freeze;
pub mod remote;
pub mod restore_record;
pub mod wire;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::engine::fsutil::IoError;
use crate::engine::slots::SlotError;
use crate::engine::{CancelToken, ComponentSpec};

pub use local::LocalStore;

/// Counters of a component's prepare, reported while it runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProgressUpdate {
    /// Regular files in the backup (0 until the items were listed).
    pub files: u64,
    /// Files read and written (neither cloned nor linked).
    pub files_copied: u64,
    /// Files hard-linked from the previous backup (unchanged).
    pub files_linked: u64,
    /// Files cloned (`FICLONE`: sharing extents with the home, where the file system can).
    /// Absent when none was.
    #[serde(default, skip_serializing_if = "crate::engine::record::is_zero")]
    pub files_cloned: u64,
    pub bytes_copied: u64,
    pub bytes_linked: u64,
    /// Absent when no file was cloned.
    #[serde(default, skip_serializing_if = "crate::engine::record::is_zero")]
    pub bytes_cloned: u64,
}

/// Receives progress; called from worker threads, so it must be cheap and must not block.
pub type ProgressSink = Arc<dyn Fn(ProgressUpdate) + Send + Sync>;

/// How a prepare ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrepareStatus {
    /// The staging folder is complete and durable; ready to commit.
    Prepared,
    /// It failed; `errors` says why. Its staging folder was removed.
    Failed,
    /// The cancel token stopped it. Its staging folder was removed.
    Cancelled,
}

/// The result of [`ComponentStore::prepare`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PrepareOutcome {
    pub status: PrepareStatus,
    pub stats: ProgressUpdate,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// One line each.
    pub errors: Vec<String>,
    /// Entries that were skipped (sockets, FIFOs, devices): the first 100 by name.
    #[serde(default)]
    pub skipped: Vec<String>,
    /// Skipped entries beyond those named in `skipped`; absent when there are none.
    #[serde(default, skip_serializing_if = "crate::engine::record::is_zero")]
    pub skipped_more: u64,
    /// Files that changed while they were copied, also on each copy made again: the first 100,
    /// relative to the home (their copy may be torn). Absent when none did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed_during_backup: Vec<String>,
    /// How many files changed while copied in all; absent when none did.
    #[serde(default, skip_serializing_if = "crate::engine::record::is_zero")]
    pub changed_during_backup_count: u64,
}

pub use crate::engine::participation::{
    Decision, HeuristicOutcome, OperatorDecision, Participation, TxnKind,
};
pub use crate::engine::slots::SlotInfo;

/// A store's acknowledgement of a commit or an abort.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ack {
    /// An operator had already done the same by hand on the agent's machine.
    pub heuristic: Option<HeuristicOutcome>,
    /// The safety copy the agent kept at the commit of a restore (its size), so the restore
    /// can be undone.
    pub safety_copy: Option<crate::store::restore_record::SafetyCopy>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error(transparent)]
    Slots(#[from] SlotError),
    /// A remote store could not do it (unreachable agent, refused call, ...).
    #[error("{0}")]
    Remote(String),
    /// A remote store's agent answered and refused the call (bad token, too weak a role,
    /// unknown component, invalid settings: 401, 403, 404, 422): repeating the same call
    /// cannot help, though the cause may be fixed (a token, the agent's config).
    #[error("{0}")]
    Refused(String),
    /// A remote store's agent answered that the state of what was asked forbids it (409): e.g.
    /// a commit of a backup the agent already aborted (it never will commit it).
    #[error("{0}")]
    Conflict(String),
    /// An operator ended the transaction by hand on the agent's machine, the other way than
    /// the master asks now: it never will be done as asked.
    #[error("{}", .0.describe())]
    Heuristic(HeuristicOutcome),
    /// The component is not configured as a remote component any more: nothing can reach its
    /// agent (an operator took it out of the config).
    #[error("{0}")]
    NotConfigured(String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// One step of a component's freeze, read point or thaw ([`ComponentStore::consistency_step`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsistencyStep {
    /// Runs `freeze_command`.
    Freeze,
    /// Takes the read point: the btrfs snapshot, or `snapshot_command`'s view.
    ReadPoint,
    /// Releases the read point (`snapshot` given when known): the btrfs snapshot deleted once
    /// proven ours, or `snapshot_release_command` run. Nothing to do is a success.
    Release,
    /// Runs `thaw_command`.
    Thaw,
    /// The master still works on the backup: an agent holding the component frozen or a
    /// snapshot of it extends its lease (nothing on this machine).
    Renew,
}

/// How a [`ConsistencyStep`] went.
#[derive(Clone, Debug, Default)]
pub struct StepDone {
    /// The command it ran, if one.
    pub outcome: Option<crate::toolkit::command::Outcome>,
    /// The read point taken (`ReadPoint`).
    pub snapshot: Option<std::path::PathBuf>,
    /// Why the step failed; `None`: it succeeded.
    pub error: Option<String>,
    /// A remote store's agent holds what the step froze or took only while it is renewed
    /// ([`ConsistencyStep::Renew`]) at least this often.
    pub renew_every: Option<Duration>,
}

/// A step of a remote component's restore ([`ComponentStore::restore_step`]).
/// A component that is not configured (any more).
#[derive(Debug, thiserror::Error)]
#[error("unknown component {0:?}")]
pub struct UnknownComponent(pub String);

/// Which components are configured and which store serves each. The backup job service
/// (`crate::jobs`) holds both and implements it; restores and backup sets reach the stores
/// through it.
pub trait Locator: Send + Sync {
    /// Every configured component, local and remote (agent).
    fn all_components(&self) -> Vec<ComponentSpec>;

    /// The store of a configured component (local or remote), with its spec.
    fn store_of(
        &self,
        component: &str,
    ) -> Result<(ComponentSpec, Arc<dyn ComponentStore>), UnknownComponent>;

    /// The master's state folder.
    fn state_dir(&self) -> &Path;

    /// The local components (homes on this machine): the ones whose folders the backup sets
    /// and restores read directly.
    fn components(&self) -> Vec<ComponentSpec> {
        self.all_components()
            .into_iter()
            .filter(|s| !s.is_remote())
            .collect()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestoreStep {
    /// The plan (dry: nothing changes).
    Plan,
    /// Verify, move aside, copy out; the agent then waits for the decision. Sent once.
    Apply,
    /// Retire the safety folder. Idempotent.
    Commit,
    /// Put everything back. Idempotent.
    Rollback,
    /// Discard the safety copy a committed restore kept (it can no longer be undone).
    /// Idempotent.
    DiscardSafetyCopy,
    /// The master still works on the restore: the agent's in-doubt alarm starts again.
    Renew,
}

/// One component's backup storage. Object safe: used as `Arc<dyn ComponentStore>`.
///
/// Contract: `prepare` writes a complete, durable staging folder for `id` or nothing;
/// `commit` turns it into slot `backup` (rotating the older ones) and is idempotent, so it can be
/// repeated after a crash at any point; `abort` removes the staging folder and records the
/// failed attempt; neither `prepare` nor `abort` ever touches a history slot.
#[async_trait]
pub trait ComponentStore: Send + Sync {
    /// True for a store reached over the network (an agent): its commit may fail for a while
    /// (unreachable) and is then retried by the coordinator until acknowledged.
    fn is_remote(&self) -> bool {
        false
    }

    /// Where the store's folders are, for a remote store: its agent's URL. `None` on this
    /// machine.
    fn location(&self) -> Option<String> {
        None
    }

    /// Checks one history slot against its `SHA256SUMS` where it is (a remote store asks its
    /// agent). Local folders are checked directly by `crate::sets`, so the default refuses.
    async fn verify_slot(
        &self,
        _spec: &ComponentSpec,
        _slot: &str,
    ) -> Result<crate::store::wire::FolderVerification, StoreError> {
        Err(StoreError::Internal(
            "this store does not verify slots itself".into(),
        ))
    }

    /// A step of the restore `restore_id` of this component done where its home is (a remote
    /// store asks its agent, see `crate::agent::restore`). Local homes are restored directly by
    /// `crate::restore`, so the default refuses. `Plan` answers a record whose only component
    /// is the plan; the others the agent's record of that component's restore.
    async fn restore_step(
        &self,
        _restore_id: &str,
        _step: RestoreStep,
        _req: &crate::store::wire::RemoteRestoreRequest,
    ) -> Result<crate::store::restore_record::RestoreRecord, StoreError> {
        Err(StoreError::Internal(
            "this store does not restore components itself".into(),
        ))
    }

    /// A stop, start or health command of the component around restore `restore_id`, run
    /// where its home is (a remote store asks its agent, `crate::agent::lifecycle`). Local
    /// components run theirs directly (`crate::restore::apply`), so the default refuses.
    async fn restore_lifecycle(
        &self,
        _restore_id: &str,
        _req: &crate::store::wire::LifecycleRequest,
    ) -> Result<crate::store::wire::LifecycleAnswer, StoreError> {
        Err(StoreError::Internal(
            "this store does not run lifecycle commands itself".into(),
        ))
    }

    /// A restore drill of the component, done where its home is (a remote store asks its
    /// agent, `crate::agent::drill`): restore into a scratch home there, hash, probe, remove
    /// the scratch. Local components are drilled directly by `crate::drill`, so the default
    /// refuses.
    async fn drill(
        &self,
        _drill_id: &str,
        _req: &crate::store::wire::RemoteDrillRequest,
    ) -> Result<crate::store::wire::RemoteDrillAnswer, StoreError> {
        Err(StoreError::Internal(
            "this store does not drill components itself".into(),
        ))
    }

    /// The probe output of drill `drill_id` on the component's agent from line `after` on,
    /// while [`ComponentStore::drill`] runs. The default (a store that does not drill) refuses.
    async fn drill_output(
        &self,
        _drill_id: &str,
        _after: u64,
    ) -> Result<crate::store::wire::RemoteDrillOutput, StoreError> {
        Err(StoreError::Internal(
            "this store does not drill components itself".into(),
        ))
    }

    /// Tells the component's agent to stop drill `drill_id` (its probe is killed). The
    /// default (a store that does not drill) refuses.
    async fn drill_cancel(&self, _drill_id: &str) -> Result<(), StoreError> {
        Err(StoreError::Internal(
            "this store does not drill components itself".into(),
        ))
    }

    /// Uploads the component's slot to a replication target where its files are (a remote
    /// store asks its agent, `crate::agent::replicate`), answering its part of the set's
    /// manifest. Local components are uploaded by the master itself, so the default refuses.
    async fn replicate(
        &self,
        _replication_id: &str,
        _req: &crate::store::wire::RemoteReplicationRequest,
    ) -> Result<crate::store::wire::RemoteReplicationAnswer, StoreError> {
        Err(StoreError::Internal(
            "this store does not upload components itself".into(),
        ))
    }

    /// Stops the upload of replication `replication_id` (see [`ComponentStore::replicate`]).
    async fn cancel_replication(&self, _replication_id: &str) -> Result<(), StoreError> {
        Ok(())
    }

    /// Downloads the component of a replicated set from a target where its files go (a remote
    /// store asks its agent), for a restore. The default refuses.
    async fn download(
        &self,
        _download_id: &str,
        _req: &crate::store::wire::RemoteDownloadRequest,
    ) -> Result<crate::store::wire::RemoteDownloadAnswer, StoreError> {
        Err(StoreError::Internal(
            "this store does not download components itself".into(),
        ))
    }

    /// One step of the component's point in time for backup `id` (see `crate::backup::freeze`):
    /// its commands get `BACKUP_ID`, `COMPONENT` and `COMPONENT_HOME` (and `SNAPSHOT_PATH` for
    /// the release). The default (a store that cannot) refuses every step.
    async fn consistency_step(
        &self,
        _id: &str,
        spec: &ComponentSpec,
        _step: ConsistencyStep,
        _snapshot: Option<&Path>,
    ) -> StepDone {
        StepDone {
            error: Some(format!(
                "component {}: freeze, thaw and snapshots are not supported by this store",
                spec.name
            )),
            ..StepDone::default()
        }
    }

    /// Copies the component's items into its staging folder `<NAME>.staging-<id>`, reading
    /// them from `spec.read_point` when set (a snapshot), else from the home.
    async fn prepare(
        &self,
        id: &str,
        spec: &ComponentSpec,
        cancel: CancelToken,
        progress: ProgressSink,
    ) -> PrepareOutcome;

    /// Rotates the slots and renames the staging folder to `backup`. Idempotent. Repeated
    /// after the staging folder became `backup`, it only drops the slots above `spec.keep`
    /// (see [`ComponentStore::finish_commit`]).
    async fn commit(&self, id: &str, spec: &ComponentSpec) -> Result<Ack, StoreError>;

    /// Drops the slots above `spec.keep` once every component of the set committed: the
    /// coordinator commits each component keeping one slot more, so the oldest set stays
    /// complete until the new one is complete everywhere. Default: the commit again.
    async fn finish_commit(&self, id: &str, spec: &ComponentSpec) -> Result<(), StoreError> {
        self.commit(id, spec).await.map(|_| ())
    }

    /// Removes the staging folder of `id` (if any) and keeps the attempt's readme.txt, with
    /// `Result: error` and `errors`, as `<NAME>.failed`.
    async fn abort(
        &self,
        id: &str,
        spec: &ComponentSpec,
        errors: &[String],
    ) -> Result<Ack, StoreError>;

    /// Tells the store that the master still works on backup `id`, whose component prepared:
    /// a remote store renews the agent's lease on it, so the agent does not take it for in
    /// doubt while the master waits for slower components. Nothing on this machine.
    async fn renew(&self, _id: &str, _spec: &ComponentSpec) -> Result<(), StoreError> {
        Ok(())
    }

    /// How often [`ComponentStore::renew`] must be called while a prepared backup waits for
    /// the decision; `None`: never (local components).
    fn renew_every(&self) -> Option<Duration> {
        None
    }

    /// The slots `backup`, `backup1`, ... found on disk, lowest first.
    async fn history(&self, spec: &ComponentSpec) -> Result<Vec<SlotInfo>, StoreError>;

    /// Removes leftover temporary folders (`<NAME>.staging-<ID>`, `<NAME>.trash-<ID>-*`, ...)
    /// of the backups `ids` only: the caller passes the IDs its job records name for this
    /// component and folder, so a folder nobody can prove the product made is never removed
    /// (a staging folder must moreover hold a readme naming the component and its ID).
    /// Returns what was removed. Only call it when no backup runs.
    async fn remove_temporaries(
        &self,
        spec: &ComponentSpec,
        ids: &[String],
    ) -> Result<Vec<String>, StoreError>;
}
