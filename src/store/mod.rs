//! Component stores: where a component's backups are made and kept. The coordinator drives every
//! component through [`ComponentStore`] (prepare, then commit or abort), so a component on this
//! machine ([`local::LocalStore`]) and one behind an agent (a later remote store) look the same.
//! Everything crossing the trait is plain data (serde), so it can travel over HTTP.
//!
//! The types of a participant's standing in a two-phase commit ([`Participation`],
//! [`Decision`], [`HeuristicOutcome`]) live here too: the agent's records and the master's
//! records both use them.

pub mod local;
pub mod remote;

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

/// What a participant of a two-phase commit was told to do (or an operator did by hand).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// A backup rotated (its staging folder became `backup`), or a restore kept.
    Commit,
    /// A backup's staging folder removed; no slot changed.
    Abort,
    /// A restore undone: every item put back from the safety copy.
    Rollback,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Commit => "commit",
            Decision::Abort => "abort",
            Decision::Rollback => "rollback",
        }
    }
}

/// Which kind of job a transaction of an agent belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TxnKind {
    Backup,
    Restore,
}

impl TxnKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TxnKind::Backup => "backup",
            TxnKind::Restore => "restore",
        }
    }
}

/// A decision an operator carried out on an agent's machine (`backup-master agent resolve`)
/// instead of the master: a heuristic outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OperatorDecision {
    pub decision: Decision,
    pub at: DateTime<Utc>,
}

/// Where an agent's part of a backup or restore stands with its master (two-phase commit).
/// A participant that voted yes (a backup `prepared`, a restore `applied`) never decides
/// alone: after `decision_timeout_seconds` without a word from the master it is marked in
/// doubt (an alarm) and keeps waiting for the master, or for an operator.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Participation {
    /// When the master last spoke about it (prepare, renew, commit, abort; for a restore
    /// apply, renew, commit, rollback). Written to disk with each change of state; the
    /// agent's API shows the live value.
    #[serde(default)]
    pub last_message_at: Option<DateTime<Utc>>,
    /// Set while it is in doubt: it voted yes and heard nothing from the master within the
    /// agent's `decision_timeout_seconds` (a monotonic clock, restarted when the agent
    /// starts). Cleared when the master speaks again.
    #[serde(default)]
    pub in_doubt_since: Option<DateTime<Utc>>,
    /// Set when an operator ended it by hand on the agent's machine.
    #[serde(default)]
    pub operator: Option<OperatorDecision>,
}

/// A participant that an operator resolved by hand while the master was away, as the master's
/// record reports it once it meets that participant again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HeuristicOutcome {
    /// Component name.
    pub component: String,
    /// The agent's URL.
    pub agent: Option<String>,
    /// What the master decided.
    pub decision: Decision,
    /// What the operator did.
    pub outcome: Decision,
    /// When the operator did it.
    pub at: DateTime<Utc>,
    /// The operator's outcome differs from the master's decision: the components did not all
    /// end the same way (see the record's errors).
    pub mismatch: bool,
}

impl HeuristicOutcome {
    /// One line for a record's notes or errors.
    pub fn describe(&self) -> String {
        let agent = self
            .agent
            .as_deref()
            .map(|a| format!(" on agent {a}"))
            .unwrap_or_default();
        if self.mismatch {
            format!(
                "{}: heuristic outcome that contradicts the master's decision: an operator \
                 carried out {} by hand{agent} at {}, while the master had decided {}",
                self.component,
                self.outcome.as_str(),
                crate::engine::readme::fmt_time(self.at),
                self.decision.as_str()
            )
        } else {
            format!(
                "{}: an operator had already carried out {} by hand{agent} at {} (heuristic \
                 outcome); it matches the master's decision",
                self.component,
                self.outcome.as_str(),
                crate::engine::readme::fmt_time(self.at)
            )
        }
    }
}

/// A store's acknowledgement of a commit or an abort.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ack {
    /// An operator had already done the same by hand on the agent's machine.
    pub heuristic: Option<HeuristicOutcome>,
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
