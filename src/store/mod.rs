//! Component stores: where a component's backups are made and kept. The coordinator drives every
//! component through [`ComponentStore`] (prepare, then commit or abort), so a component on this
//! machine ([`local::LocalStore`]) and one behind an agent (a later remote store) look the same.
//! Everything crossing the trait is plain data (serde), so it can travel over HTTP.

pub mod local;
pub mod remote;

use std::sync::Arc;

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
    pub files_copied: u64,
    pub files_linked: u64,
    pub bytes_copied: u64,
    pub bytes_linked: u64,
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
    /// Entries that were skipped (sockets, FIFOs, devices).
    #[serde(default)]
    pub skipped: Vec<String>,
}

/// One history slot, read from disk (`/components/{name}/history`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SlotInfo {
    /// Slot folder name: `backup`, `backup1`, ...
    #[schema(example = "backup1")]
    pub slot: String,
    /// Full path of the slot folder.
    pub path: String,
    /// Backup ID from the slot's readme.txt.
    pub backup_id: Option<String>,
    /// `success` or `error`, from readme.txt.
    pub result: Option<String>,
    pub started: Option<DateTime<Utc>>,
    pub finished: Option<DateTime<Utc>>,
    /// Set when readme.txt is missing or malformed.
    pub error: Option<String>,
    /// The readme's `Error:` lines.
    #[serde(default)]
    pub errors: Vec<String>,
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
    #[error("internal error: {0}")]
    Internal(String),
}

/// A step of a remote component's restore ([`ComponentStore::restore_step`]).
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
    ) -> Result<crate::sets::FolderVerification, StoreError> {
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
        _req: &crate::agent::wire::RemoteRestoreRequest,
    ) -> Result<crate::restore::RestoreRecord, StoreError> {
        Err(StoreError::Internal(
            "this store does not restore components itself".into(),
        ))
    }

    /// Copies the component's items into its staging folder `<NAME>.staging-<id>`.
    async fn prepare(
        &self,
        id: &str,
        spec: &ComponentSpec,
        cancel: CancelToken,
        progress: ProgressSink,
    ) -> PrepareOutcome;

    /// Rotates the slots and renames the staging folder to `backup`. Idempotent.
    async fn commit(&self, id: &str, spec: &ComponentSpec) -> Result<(), StoreError>;

    /// Removes the staging folder of `id` (if any) and keeps the attempt's readme.txt, with
    /// `Result: error` and `errors`, as `<NAME>.failed`.
    async fn abort(
        &self,
        id: &str,
        spec: &ComponentSpec,
        errors: &[String],
    ) -> Result<(), StoreError>;

    /// The slots `backup`, `backup1`, ... found on disk, lowest first.
    async fn history(&self, spec: &ComponentSpec) -> Result<Vec<SlotInfo>, StoreError>;

    /// Removes leftover temporary folders (`<NAME>.staging-*`, `<NAME>.trash-*`) except the
    /// staging folders of `keep_ids`. Returns what was removed. Only call it when no backup runs.
    async fn remove_temporaries(
        &self,
        spec: &ComponentSpec,
        keep_ids: &[String],
    ) -> Result<Vec<String>, StoreError>;
}
