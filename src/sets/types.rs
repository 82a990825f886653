//! The types of backup sets: a set and its folders, imports, verification records and their
//! summaries, the query and what a scan found, and the errors of [`super::Sets`]. Re-exported
//! by `crate::sets`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::verify;
use crate::engine::folder_check;
use crate::engine::fsutil::IoError;

pub use crate::store::wire::FolderVerification;

/// Where a folder of a set was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FolderSource {
    /// A history slot of the component (`backup`, `backup1`, ...).
    Slot,
    /// A folder registered with `POST /backup-sets/import`.
    Imported,
}

/// One component's folder in a backup set, as its `readme.txt` describes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SetFolder {
    #[schema(example = "lui")]
    pub component: String,
    /// Absolute path of the folder.
    #[schema(example = "/srv/maestro/lui/backup1")]
    pub folder: String,
    /// The slot name for a slot folder.
    #[schema(example = "backup1")]
    pub slot: Option<String>,
    pub source: FolderSource,
    /// `success` or `error`, from `readme.txt`; absent when it cannot be read.
    #[schema(example = "success")]
    pub result: Option<String>,
    pub started: Option<DateTime<Utc>>,
    pub finished: Option<DateTime<Utc>>,
    /// The readme's `Error:` lines.
    #[serde(default)]
    pub errors: Vec<String>,
    /// Why this folder cannot be trusted: readme missing, malformed or naming another
    /// component, an imported folder gone or changed.
    pub problem: Option<String>,
    /// When the folder was imported (imported folders only).
    #[serde(default)]
    pub imported_at: Option<DateTime<Utc>>,
    /// For a folder of a remote component: the URL of the agent whose machine holds it
    /// (`folder` is a path there). Absent for folders on this machine.
    #[serde(default)]
    #[schema(example = "https://tracker.example:7444")]
    pub agent: Option<String>,
}

/// A configured component whose folders could not be listed now (its agent is unreachable or
/// refuses): its folders are missing from every set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ComponentProblem {
    #[schema(example = "trk")]
    pub component: String,
    /// Why, naming the agent.
    pub problem: String,
}

impl SetFolder {
    /// `Result: success` and no problem.
    pub fn is_usable(&self) -> bool {
        self.result.as_deref() == Some("success") && self.problem.is_none()
    }
}

/// A backup set: the folders of all components that share one backup ID.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BackupSet {
    #[schema(example = "20261126T020000Z")]
    pub id: String,
    /// Every configured component has a folder with this ID, and it is not `committing`.
    pub complete: bool,
    /// The backup's commit is decided but not yet acknowledged by every component: the
    /// master is completing it (the backup is `running`). Not complete until then.
    #[serde(default)]
    pub committing: bool,
    /// Complete, and every folder says `Result: success` and has no problem.
    pub successful: bool,
    /// The folders, in config order of their components; a slot before an imported copy.
    pub components: Vec<SetFolder>,
    /// Configured components without a folder of this set.
    pub missing: Vec<String>,
    /// The newest finished verification of this set, if any.
    pub last_verification: Option<VerificationSummary>,
}

impl BackupSet {
    /// One folder per component for a restore: its first usable slot, else its first usable
    /// imported folder, else its first folder. Config order.
    pub fn preferred_folders(&self) -> Vec<&SetFolder> {
        let mut out: Vec<&SetFolder> = Vec::new();
        for f in &self.components {
            if out.iter().any(|o| o.component == f.component) {
                continue;
            }
            let mine = self
                .components
                .iter()
                .filter(|x| x.component == f.component);
            let best = mine
                .clone()
                .find(|x| x.is_usable() && x.source == FolderSource::Slot)
                .or_else(|| mine.clone().find(|x| x.is_usable()))
                .unwrap_or(f);
            out.push(best);
        }
        out
    }
}

/// A folder registered by import.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportedFolder {
    #[schema(example = "lui")]
    pub component: String,
    /// Absolute path, symbolic links resolved.
    #[schema(example = "/mnt/tape/lui/backup")]
    pub folder: String,
    /// The backup ID its `readme.txt` named when it was imported.
    #[schema(example = "20261126T020000Z")]
    pub backup_id: String,
    pub imported_at: DateTime<Utc>,
}

/// The result of an import.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ImportOutcome {
    /// False when the folder was already registered with this backup.
    pub created: bool,
    pub imported: ImportedFolder,
    /// The set the folder belongs to, as it is now.
    pub set: Option<BackupSet>,
}

/// State of a verification job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VerificationStatus {
    Running,
    /// Every file of every folder matches `SHA256SUMS`; nothing missing or unlisted.
    Passed,
    /// Something changed, is missing, unlisted or unreadable, or the job failed (`error`).
    Failed,
    /// The master stopped while it ran.
    Interrupted,
}

impl FolderVerification {
    pub fn of(component: &str, folder: &str, c: verify::TreeCheck) -> FolderVerification {
        FolderVerification {
            component: component.to_string(),
            folder: folder.to_string(),
            ok: c.ok(),
            changed: c.changed,
            missing: c.missing,
            unlisted: c.unlisted,
            unreadable: c.unreadable,
            error: c.error,
            omitted: c.omitted,
            files_checked: c.files_checked,
            bytes_checked: c.bytes_checked,
        }
    }

    pub(crate) fn problems(&self) -> u64 {
        (self.changed.len() + self.missing.len() + self.unlisted.len() + self.unreadable.len())
            as u64
            + self.omitted
            + u64::from(self.error.is_some())
    }
}

/// A verification job and, when finished, its result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Verification {
    #[schema(example = "20261126T080000Z-0001")]
    pub id: String,
    #[schema(example = "20261126T020000Z")]
    pub set_id: String,
    pub status: VerificationStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Files hashed so far (live while running).
    pub files_checked: u64,
    pub bytes_checked: u64,
    /// Configured components the set had no folder for when the verification started.
    #[serde(default)]
    pub missing_components: Vec<String>,
    /// One entry per folder of the set, once finished.
    pub folders: Vec<FolderVerification>,
    /// Why the job itself failed or was interrupted.
    pub error: Option<String>,
}

/// The last verification of a set, as the set shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VerificationSummary {
    /// The verification's ID (`/backup-sets/{id}/verifications/{verification_id}`).
    pub id: String,
    pub status: VerificationStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// True when it passed.
    pub ok: bool,
    /// Files changed, missing, unlisted or unreadable, plus folder errors.
    pub problems: u64,
}

impl VerificationSummary {
    pub fn of(r: &Verification) -> VerificationSummary {
        VerificationSummary {
            id: r.id.clone(),
            status: r.status,
            started_at: r.started_at,
            finished_at: r.finished_at,
            ok: r.status == VerificationStatus::Passed,
            problems: r
                .folders
                .iter()
                .map(FolderVerification::problems)
                .sum::<u64>()
                + u64::from(r.error.is_some()),
        }
    }
}

/// Errors of this module. [`SetsError::field`] names the input at fault, for 422 answers.
#[derive(Debug, thiserror::Error)]
pub enum SetsError {
    #[error("unknown component {0:?}")]
    UnknownComponent(String),
    #[error("{folder} {reason}")]
    BadFolder { folder: String, reason: String },
    #[error("{folder} has no readme.txt, so it is not a backup folder")]
    NoReadme { folder: String },
    #[error("the readme.txt of {folder} is unusable: {reason}")]
    BadReadme { folder: String, reason: String },
    #[error("{folder} holds a backup of component {found:?}, not of {expected:?} (its readme.txt says so)")]
    WrongComponent {
        folder: String,
        found: String,
        expected: String,
    },
    #[error("{folder} holds backup {found}, not {expected}")]
    WrongId {
        folder: String,
        found: String,
        expected: String,
    },
    #[error("{folder} is in the backup area of component {component:?} ({area}); its slots are found without importing")]
    InSlotArea {
        folder: String,
        component: String,
        area: String,
    },
    /// The folder is, holds or lies inside what an import must keep clear of (a home, an
    /// item, the state dir).
    #[error(transparent)]
    Unsafe(folder_check::FolderProblem),
    #[error(transparent)]
    Io(#[from] IoError),
}

impl SetsError {
    /// The request field at fault: `component` or `folder`; `None` for server-side failures.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            SetsError::UnknownComponent(_) | SetsError::WrongComponent { .. } => Some("component"),
            SetsError::BadFolder { .. }
            | SetsError::NoReadme { .. }
            | SetsError::BadReadme { .. }
            | SetsError::WrongId { .. }
            | SetsError::InSlotArea { .. }
            | SetsError::Unsafe(_) => Some("folder"),
            SetsError::Io(_) => None,
        }
    }
}

/// Why a verification did not start.
#[derive(Debug, thiserror::Error)]
pub enum VerifyStartError {
    #[error("no backup set {0} on disk")]
    NotFound(String),
    #[error("backup {0} is running; its commit moves slots, so verify after it ends")]
    BackupRunning(String),
    #[error("verification {0} is running; one runs at a time")]
    AlreadyRunning(String),
    #[error("could not record the verification: {0}")]
    Io(IoError),
}

/// Filters of [`Sets::query`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetQuery {
    pub complete: Option<bool>,
    pub successful: Option<bool>,
    /// Only the newest set that passes the other filters.
    pub latest: bool,
}

/// What a scan of the disk found.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Scan {
    /// Newest first.
    pub sets: Vec<BackupSet>,
    /// Slot folders whose backup ID cannot be read (no readme, or no usable ID line).
    pub unidentified: Vec<SetFolder>,
    /// Components whose folders could not be listed (remote components whose agent did not
    /// answer): the sets lack them.
    pub problems: Vec<ComponentProblem>,
}
