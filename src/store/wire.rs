//! What travels between the master and an agent: the JSON bodies of `/agent/v1`. Both sides
//! use these types (the agent's handlers, the master's [`crate::store::remote::RemoteStore`]),
//! so they cannot drift apart.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::engine::Profile;
pub use crate::store::TxnKind;
use crate::store::{Participation, PrepareOutcome, ProgressUpdate};

/// The master's settings of one component, sent with every transaction call: settings stay
/// central, the agent's config only says where the home is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoteSpec {
    /// Must be the profile the agent's config gives the component.
    pub profile: Profile,
    /// The backup folder: absolute, or relative to the component's home on the agent; no `..`.
    #[schema(example = "backup")]
    pub backup_folder: String,
    /// Previous backups kept, 0..=100.
    #[schema(example = 3)]
    pub keep: u32,
    /// The items a backup holds, relative to the home (the profile's, or a custom list).
    pub items: Vec<String>,
    /// Abort only: why the set was not committed (written to `<NAME>.failed/readme.txt`).
    #[serde(default)]
    pub errors: Vec<String>,
    /// The component's consistency settings (freeze, thaw, snapshot, `on_change`); absent:
    /// the defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistency: Option<crate::engine::consistency::Consistency>,
}

/// One step of a component's point in time, asked of its agent
/// (`POST .../backups/{id}/consistency`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyRequest {
    pub step: crate::store::ConsistencyStep,
    /// The master's consistency settings of the component.
    pub consistency: crate::engine::consistency::Consistency,
    /// The component's backup folder as the master's config gives it (relative to the home,
    /// or absolute; no `..`): a snapshot command's view inside it, or holding it, is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_folder: Option<String>,
}

/// A stop, start or health command of a component around a restore, asked of its agent
/// (`POST .../restores/{restore_id}/lifecycle`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LifecycleRequest {
    pub step: crate::engine::lifecycle::LifecycleStep,
    /// The command, as the master's config gives it (split like the hooks' commands, no shell
    /// unless it names one).
    #[schema(example = "/opt/maestro/bin/tracker-ctl stop")]
    pub command: String,
    /// The command is killed (with its process group) after this many seconds, 1 to 3600.
    #[schema(example = 120, minimum = 1, maximum = 3600)]
    pub timeout_seconds: u64,
    /// The backup set restored (the command's `BACKUP_ID`).
    #[schema(example = "20261126T020000Z")]
    pub backup_id: String,
}

/// How a lifecycle command ended on the agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LifecycleAnswer {
    /// The component's home on the agent's machine (the command's working folder).
    #[schema(example = "/srv/maestro/tracker")]
    pub home: String,
    pub outcome: crate::toolkit::command::Outcome,
}

/// How a step went on the agent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConsistencyAnswer {
    /// The command the step ran, if one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<crate::toolkit::command::Outcome>,
    /// The read point taken (a path on the agent's machine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    /// Why the step failed; absent: it succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the agent holds (frozen, a snapshot) for this backup is undone by the agent itself
    /// when no step or renewal came for this many seconds; 0: it holds nothing.
    pub lease_seconds: u64,
}

/// Where one backup stands on the agent (one transaction of the two-phase commit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TxnState {
    /// Copying into the staging folder.
    Preparing,
    /// The staging folder is complete and durable; waiting for commit or abort.
    Prepared,
    /// Prepared, and no word from the master within `decision_timeout_seconds` (an alarm): it
    /// keeps its staging folder and waits for the master's commit or abort, or an operator's
    /// (`backup-master agent resolve`). A new prepare of the component is refused meanwhile.
    InDoubt,
    /// The prepare failed; the staging folder was removed.
    Failed,
    /// The prepare was stopped by an abort; the staging folder was removed.
    Cancelled,
    /// Committed: the staging folder is slot `backup` (the older slots rotated).
    Committed,
    /// Aborted by the master; the staging folder was removed.
    Aborted,
    /// Only in records of earlier versions, which aborted a prepared backup left without a
    /// decision: a later commit is refused (409). This version never does that.
    TimedOut,
    /// The agent restarted while preparing; the partial staging folder was removed.
    Interrupted,
}

impl TxnState {
    /// True for states that end a transaction.
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            TxnState::Preparing | TxnState::Prepared | TxnState::InDoubt
        )
    }

    /// Prepared and waiting for the decision (in doubt or not).
    pub fn is_prepared(self) -> bool {
        matches!(self, TxnState::Prepared | TxnState::InDoubt)
    }
}

/// One backup of one component on the agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TxnView {
    #[schema(example = "trk")]
    pub component: String,
    #[schema(example = "20261126T020000Z")]
    pub backup_id: String,
    pub state: TxnState,
    /// The backup folder on the agent's machine, resolved.
    #[schema(example = "/srv/maestro/tracker/backup")]
    pub backup_path: String,
    /// Counters while preparing, the final ones after.
    pub progress: ProgressUpdate,
    /// The prepare's result once it ended.
    pub outcome: Option<PrepareOutcome>,
    pub started_at: DateTime<Utc>,
    /// When it became prepared.
    pub prepared_at: Option<DateTime<Utc>>,
    /// When it was committed or aborted.
    pub decided_at: Option<DateTime<Utc>>,
    /// Why it ended as it did (errors of an abort, an operator's decision, ...).
    pub detail: Option<String>,
    /// The master's last message about it, whether it is in doubt, and an operator's decision.
    #[serde(default)]
    pub participation: Participation,
    /// The agent's `decision_timeout_seconds`: the master renews a prepared backup well within
    /// it while it waits for other components.
    #[serde(default)]
    pub decision_timeout_seconds: u64,
}

/// A component the agent serves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AgentComponent {
    #[schema(example = "trk")]
    pub name: String,
    pub profile: Profile,
    /// The home folder on the agent's machine.
    #[schema(example = "/srv/maestro/tracker")]
    pub home: String,
}

/// `GET /agent/v1/components`: who the agent is and what it serves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AgentInfo {
    /// The agent's backup-master version.
    #[schema(example = "0.1.0")]
    pub version: String,
    /// Seconds without a word from the master after which a prepared backup or an applied
    /// restore is marked in doubt (an alarm: it still waits for the master's decision).
    #[schema(example = 3600)]
    pub decision_timeout_seconds: u64,
    pub components: Vec<AgentComponent>,
    /// The backups and restores not final on this agent (the master resolves the ones it no
    /// longer drives from its records).
    #[serde(default)]
    pub transactions: Vec<OpenTransaction>,
}

/// Where an open transaction stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OpenState {
    /// A backup being copied into its staging folder.
    Preparing,
    /// A backup prepared, waiting for the decision.
    Prepared,
    /// A restore being applied.
    Applying,
    /// A restore applied (safety copy kept), waiting for the decision.
    Applied,
    /// Prepared or applied, and no word from the master within `decision_timeout_seconds`.
    InDoubt,
}

/// A backup or restore of a component that is not final on the agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OpenTransaction {
    pub kind: TxnKind,
    #[schema(example = "trk")]
    pub component: String,
    /// The backup ID, or the restore ID (`R...`).
    #[schema(example = "20261126T020000Z")]
    pub id: String,
    /// The backup set: the backup itself, or the set a restore restores.
    #[schema(example = "20261126T020000Z")]
    pub backup_id: String,
    pub state: OpenState,
    pub started_at: DateTime<Utc>,
    /// When it voted yes: prepared (backup) or applied (restore).
    pub ready_at: Option<DateTime<Utc>>,
    pub participation: Participation,
    /// On the agent's machine: the staging folder of a backup, the home of a restore.
    #[schema(example = "/srv/maestro/tracker/backup.staging-20261126T020000Z")]
    pub path: String,
}

impl OpenTransaction {
    /// True when it is in doubt.
    pub fn in_doubt(&self) -> bool {
        self.state == OpenState::InDoubt
    }
}

/// Query of the history and verify calls: the master's backup folder setting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FolderQuery {
    /// The backup folder: absolute, or relative to the component's home on the agent.
    pub backup_folder: String,
    /// Previous backups kept (the history lists `backup`..`backup<keep>` and any further that exist).
    pub keep: Option<u32>,
}

/// `POST /agent/v1/components/{name}/verify`: a folder of the component to check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The backup folder setting (absolute, or relative to the home).
    pub backup_folder: String,
    /// The slot to verify: `backup`, `backup1`, ...
    #[schema(example = "backup1")]
    pub slot: String,
}

/// The body of the restore calls (`POST /agent/v1/components/{name}/restores/{restore_id}/...`):
/// which backup of the component to restore, with the master's settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoteRestoreRequest {
    /// Must be the profile the agent's config gives the component.
    pub profile: Profile,
    /// The backup folder setting: absolute, or relative to the component's home; no `..`.
    #[schema(example = "backup")]
    pub backup_folder: String,
    /// The items a backup holds (the profile's, or a custom list).
    pub items: Vec<String>,
    /// The backup set being restored: the slot's `readme.txt` must name it.
    #[schema(example = "20261126T020000Z")]
    pub backup_id: String,
    /// The history slot holding that backup: `backup`, `backup1`, ...
    #[schema(example = "backup1")]
    pub slot: String,
    /// An undo: the restore of this component on this agent that this one undoes, from the
    /// safety copy that restore kept (`backup_id` and `slot` are then not read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "R20261126T020000Z")]
    pub undo_of: Option<String>,
    /// A restore from a replication target: this agent's download of the set (made by
    /// `POST .../downloads/{download_id}`) is the source instead of a slot (`slot` is then not
    /// read); its readme must name `backup_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "C20261201T101500Z")]
    pub from_download: Option<String>,
}

/// The check of one folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FolderVerification {
    #[schema(example = "hub")]
    pub component: String,
    pub folder: String,
    /// Nothing changed, missing, unlisted or unreadable, and no error.
    pub ok: bool,
    /// Listed files whose SHA-256 differs, or that are no longer regular files.
    #[schema(example = json!(["accountreg/accounts.dat"]))]
    pub changed: Vec<String>,
    /// Listed files that are gone.
    pub missing: Vec<String>,
    /// Files present but not in `SHA256SUMS` (symbolic links and empty folders are never
    /// listed and not reported).
    pub unlisted: Vec<String>,
    /// `path: error` for what could not be read.
    #[serde(default)]
    pub unreadable: Vec<String>,
    /// A problem with the folder as a whole: gone, no `SHA256SUMS`, malformed lines.
    pub error: Option<String>,
    /// Names left out of the lists (each is capped at 1000).
    #[serde(default)]
    pub omitted: u64,
    #[serde(default)]
    pub files_checked: u64,
    #[serde(default)]
    pub bytes_checked: u64,
}

/// The body of a drill of a component on its agent
/// (`POST /agent/v1/components/{name}/drills/{drill_id}`): which backup to restore into a
/// scratch home there, and the probe to run against it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoteDrillRequest {
    /// The backup of the component, with the master's settings (as for a restore).
    pub source: RemoteRestoreRequest,
    /// The probe command (the component's `drill_probe_command`, else its `health_command`);
    /// absent: none. The agent runs it only when its config says `run_commands = true` for
    /// the component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "/opt/maestro/bin/tracker-ctl check --read-only")]
    pub probe_command: Option<String>,
}

/// Query of the agent's drill output: from which line on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DrillOutputQuery {
    /// The number of the first line wanted (`next` of the previous read; default 0).
    #[param(example = 0)]
    pub after: Option<u64>,
}

/// The probe output of a drill on an agent so far
/// (`GET /agent/v1/components/{name}/drills/{drill_id}/output?after=N`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RemoteDrillOutput {
    /// The lines from number `after` on (numbered from 0; lines the agent no longer keeps
    /// are skipped), without their line ends.
    #[schema(example = json!(["tracker: opening the copy read-only", "tracker data ok"]))]
    pub lines: Vec<String>,
    /// The number of the next line: `after` of the next read.
    #[schema(example = 2)]
    pub next: u64,
    /// The drill has ended on the agent: no more lines will come.
    pub ended: bool,
}

/// The agent's answer to a drill's cancel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RemoteDrillCancelled {
    /// The drill had ended already: nothing was stopped.
    pub ended: bool,
}

/// What a drill of a component found on its agent. The scratch home is gone when it answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RemoteDrillAnswer {
    /// Restored, verified and (when one was sent) probed successfully.
    pub passed: bool,
    /// The slot restored from (a path on the agent's machine).
    #[schema(example = "/srv/maestro/tracker/backup")]
    pub source_folder: String,
    /// The scratch home restored into (a path on the agent's machine; removed).
    #[schema(example = "/srv/maestro/drills/D20261201T040000Z/trk")]
    pub scratch_home: String,
    /// Files and bytes the restore copied.
    pub files: u64,
    pub bytes: u64,
    /// Files hashed against `SHA256SUMS` after the restore.
    pub files_checked: u64,
    /// Paths (relative to the slot) whose restored copy does not match `SHA256SUMS`.
    pub mismatched: Vec<String>,
    /// Paths (relative to the slot) the restore should have put in place and that are not
    /// there.
    pub missing: Vec<String>,
    /// Everything else that went wrong, one line each (the probe refused among them).
    pub errors: Vec<String>,
    /// The probe's outcome; absent when none ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<crate::toolkit::command::Outcome>,
}

/// A replication target as the master sends it with each replication call to an agent: where
/// the bucket is, how to upload, and the keys. The master holds the target's settings and
/// keys (one place to configure and rotate them); the agent uses them for that call only and
/// stores, logs and answers none of it. The master sends keys only over https, or plain http
/// to a loopback agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetAccess {
    /// The target's name on the master (named in messages).
    #[schema(example = "offsite")]
    pub name: String,
    /// `http://` or `https://` URL of the S3-compatible endpoint.
    #[schema(example = "https://s3.eu-central-1.amazonaws.com")]
    pub endpoint: String,
    #[schema(example = "maestro-offsite")]
    pub bucket: String,
    /// Key prefix, without a leading or trailing `/`; empty: the bucket's root.
    #[serde(default)]
    #[schema(example = "site-a")]
    pub prefix: String,
    #[schema(example = "eu-central-1")]
    pub region: String,
    pub path_style: bool,
    /// One request's timeout, 1 to 3600 seconds.
    #[schema(example = 60)]
    pub timeout_seconds: u64,
    /// Uploads in flight, 1 to 64.
    #[schema(example = 4)]
    pub concurrency: usize,
    /// 0: unlimited.
    pub max_bytes_per_second: u64,
    pub access_key: crate::store::remote::Secret,
    pub secret_key: crate::store::remote::Secret,
    /// Client-side encryption of blobs and manifests, when the target encrypts: the recipients
    /// for an upload, the identities for a download.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<BlobEncryption>,
}

/// The sealing settings of a target's blobs and manifests, as an agent needs them for one
/// call (used for that call only, never stored or logged).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlobEncryption {
    /// age recipients (public keys) the blobs and manifests are sealed to.
    #[serde(default)]
    pub recipients: Vec<String>,
    /// What opens them, for downloads only: the age identities (`AGE-SECRET-KEY-1...`), one
    /// per line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<crate::store::remote::Secret>,
}

/// The body of `POST /agent/v1/components/{name}/replications/{replication_id}`: which backup
/// of the component to upload (its slot, checked like a restore's source) and to which target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoteReplicationRequest {
    /// The backup of the component, with the master's settings (as for a restore).
    pub source: RemoteRestoreRequest,
    pub target: TargetAccess,
}

/// What an agent uploaded for one component, and the component's part of the set's manifest
/// (which the master writes once every component's blobs are on the bucket).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RemoteReplicationAnswer {
    /// The component's entry of the manifest: its `readme.txt`, the folder's mode and time,
    /// every path with kind, mode, mtime, size, link target and blob hash.
    #[schema(value_type = Object)]
    pub component: crate::replicate::ManifestComponent,
    /// Distinct blobs (file contents) of the component, and their bytes.
    pub blobs_total: u64,
    pub bytes_total: u64,
    /// Blobs this call uploaded, and their bytes.
    pub blobs_uploaded: u64,
    pub bytes_uploaded: u64,
    /// Blobs the bucket had already: not uploaded again.
    pub blobs_present: u64,
    pub bytes_present: u64,
    /// Blob uploads tried again after the store failed.
    pub retries: u64,
    /// The size on the bucket of each blob the component names (hash -> bytes): larger than
    /// the content when the target encrypts.
    #[serde(default)]
    pub stored_sizes: std::collections::BTreeMap<String, u64>,
}

/// The body of `POST /agent/v1/components/{name}/downloads/{download_id}`: the set whose
/// component the agent downloads from the target for a restore.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoteDownloadRequest {
    #[schema(example = "20261126T020000Z")]
    pub backup_id: String,
    pub target: TargetAccess,
}

/// Where the agent put a downloaded component (a folder of its state folder, every hash
/// checked); a restore then names it with `from_download`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RemoteDownloadAnswer {
    /// The folder on the agent's machine, an ordinary backup folder (`readme.txt`,
    /// `SHA256SUMS`).
    #[schema(example = "/var/lib/backup-master-agent/downloads/C20261201T101500Z/trk")]
    pub folder: String,
    /// Files written, and their bytes.
    pub files: u64,
    pub bytes: u64,
    /// The folder checked against its `SHA256SUMS` on the agent once written.
    pub verification: FolderVerification,
}

/// The answer to `POST .../replications/{replication_id}/cancel`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReplicationCancelAnswer {
    /// An upload of that replication was running and has been told to stop.
    pub running: bool,
}
