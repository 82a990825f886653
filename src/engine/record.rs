//! The backup job record (what `/backups/{id}` shows and `<state_dir>/jobs/backups/<ID>.json`
//! holds) and the progress events streamed while a backup runs.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::fsutil::IoError;
use crate::toolkit::record_dir::{Record, RecordDir};

/// What started a backup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// `POST /backups`.
    Manual,
    /// The daily schedule.
    Schedule,
    /// A run missed while the master was down, started at start-up.
    CatchUp,
}

/// The state of a backup. Every state but `running` is final.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BackupStatus {
    Running,
    /// Every component committed; the set is complete.
    Succeeded,
    /// A component failed; no history slot was changed (unless the error says otherwise).
    Failed,
    /// Stopped on request before the commit; no history slot was changed.
    Cancelled,
    /// The master stopped while it ran and it had not been decided to commit; nothing rotated.
    Interrupted,
}

impl BackupStatus {
    pub fn is_final(self) -> bool {
        self != BackupStatus::Running
    }
    pub fn as_str(self) -> &'static str {
        match self {
            BackupStatus::Running => "running",
            BackupStatus::Succeeded => "succeeded",
            BackupStatus::Failed => "failed",
            BackupStatus::Cancelled => "cancelled",
            BackupStatus::Interrupted => "interrupted",
        }
    }
}

/// One component's state within a backup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComponentStatus {
    /// Not started yet.
    Pending,
    /// Copying into its staging folder.
    Preparing,
    /// Staging folder complete and durable; waiting for the commit.
    Prepared,
    /// Rotated; the staging folder is now the `backup` slot.
    Committed,
    /// This component's prepare (or commit) failed; see `errors`.
    Failed,
    /// Its staging folder was removed because the set did not commit.
    Aborted,
}

/// Per-component details of a backup.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ComponentProgress {
    /// Component name.
    pub name: String,
    pub status: ComponentStatus,
    /// The component's backup folder (slot 0), e.g. `/srv/lui/backup`.
    pub folder: String,
    /// Previous backups kept when this backup ran (used to finish the rotation on recovery).
    #[serde(default)]
    pub keep: u32,
    /// Regular files in the backup (known once the items were listed).
    #[serde(default)]
    pub files: u64,
    /// Files copied (new or changed since the previous backup).
    #[serde(default)]
    pub files_copied: u64,
    /// Files hard-linked from the previous backup (unchanged).
    #[serde(default)]
    pub files_linked: u64,
    /// Files cloned from the home (`FICLONE`, where the backup folder and the home are on one
    /// file system that can share extents): a real, independent copy that shares the blocks.
    /// Absent when none was.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub files_cloned: u64,
    #[serde(default)]
    pub bytes_copied: u64,
    #[serde(default)]
    pub bytes_linked: u64,
    /// Absent when no file was cloned.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub bytes_cloned: u64,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    /// Time spent preparing, in milliseconds.
    #[serde(default)]
    pub duration_ms: Option<u64>,
    /// This component's errors, one line each.
    #[serde(default)]
    pub errors: Vec<String>,
    /// Files that changed while they were copied, also when copied again (three more times):
    /// their copy may be torn. The first 100, relative to the home; absent when none did. With
    /// `on_change = "fail"` such a file fails the component.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed_during_backup: Vec<String>,
    /// How many files changed while copied in all; absent when none did.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub changed_during_backup_count: u64,
    /// The freeze, read point and thaw of this component (absent when it has neither a freeze
    /// command nor a snapshot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freeze: Option<crate::engine::consistency::FreezeRecord>,
    /// For a remote component: its agent's URL (its `folder` is a path on that machine).
    #[serde(default)]
    pub agent: Option<String>,
}

/// A backup job: what `/backups/{id}` returns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BackupRecord {
    /// Backup ID, e.g. `20261126T020000Z` (`.0001`.. for more in the same second).
    #[schema(example = "20261126T020000Z")]
    pub id: String,
    pub status: BackupStatus,
    pub trigger: Trigger,
    /// The scheduled instant this run belongs to (schedule and catch-up runs).
    #[serde(default)]
    pub scheduled_for: Option<DateTime<Utc>>,
    pub started_at: DateTime<Utc>,
    /// Set when the status became final.
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    /// One entry per component, in config order.
    pub components: Vec<ComponentProgress>,
    /// Errors of the set as a whole (e.g. "cancelled by request", "interrupted").
    #[serde(default)]
    pub errors: Vec<String>,
    /// Informational notes, e.g. that recovery rolled the commit forward.
    #[serde(default)]
    pub notes: Vec<String>,
    /// True once the decision to commit was durable: from then on recovery rolls forward. Set
    /// back to false (durably, before anything is aborted) only when the commit was abandoned
    /// because a component refused it before any component had committed.
    #[serde(default)]
    pub commit_decided: bool,
    /// Path of the report file `<state_dir>/logs/backupReport_<ID>.txt`.
    pub report: String,
    /// Staging folders kept for the operator: the commit of these components could not be
    /// completed, and each folder is the only copy of that component's backup. Nothing removes
    /// them and no backup starts (409) until an operator discards them
    /// (`DELETE /api/v1/backups/{id}/staging`).
    #[serde(default)]
    pub kept_stagings: Vec<KeptStaging>,
    /// True from the write that made the record final until its after-backup hook
    /// (`on_success` / `on_failure`) was started, skipped or found unconfigured; an owed hook is
    /// started when the master starts again, exactly once (the hook process record, written
    /// before the process starts, proves an earlier start).
    #[serde(default)]
    pub hook_pending: bool,
    /// Remote components an operator had resolved by hand on their agent's machine
    /// (`backup-master agent resolve`) when the master met them again; a `mismatch` means the
    /// components did not all end the same way (the errors say how).
    #[serde(default)]
    pub heuristic: Vec<super::participation::HeuristicOutcome>,
}

/// A staging folder recovery (or a failed commit) could not turn into the component's `backup`
/// slot: kept until an operator discards it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KeptStaging {
    /// Component name.
    pub component: String,
    /// The component's backup folder (slot 0) the staging folder belongs to.
    pub folder: String,
    /// The staging folder, `<NAME>.staging-<ID>` beside the backup folder.
    #[schema(example = "/srv/lui/backup.staging-20261126T020000Z")]
    pub path: String,
}

impl super::participation::HeuristicLog for BackupRecord {
    fn heuristic_lists(
        &mut self,
    ) -> (
        &mut Vec<super::participation::HeuristicOutcome>,
        &mut Vec<String>,
        &mut Vec<String>,
    ) {
        (&mut self.heuristic, &mut self.errors, &mut self.notes)
    }
}

impl BackupRecord {
    pub fn component_mut(&mut self, name: &str) -> Option<&mut ComponentProgress> {
        self.components.iter_mut().find(|c| c.name == name)
    }

    /// Every error of the backup: set-level first, then each component's, prefixed by its name.
    pub fn all_errors(&self) -> Vec<String> {
        let mut v = self.errors.clone();
        for c in &self.components {
            v.extend(c.errors.iter().map(|e| format!("{}: {e}", c.name)));
        }
        v
    }
}

/// An event of `/backups/{id}/events`. JSON is tagged by `type`:
/// `{"type":"progress","name":"hub","status":"preparing","files":120,"files_copied":3,
/// "files_linked":90,"bytes_copied":1024,"bytes_linked":4096}` (with `files_cloned` and
/// `bytes_cloned` once a file was cloned) and `{"type":"end","status":"succeeded"}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BackupEvent {
    /// A component's progress or status changed.
    Progress {
        /// Component name.
        name: String,
        status: ComponentStatus,
        /// Files in the backup (0 until listed).
        files: u64,
        files_copied: u64,
        files_linked: u64,
        /// Absent when no file was cloned.
        #[serde(default, skip_serializing_if = "is_zero")]
        files_cloned: u64,
        bytes_copied: u64,
        bytes_linked: u64,
        /// Absent when no file was cloned.
        #[serde(default, skip_serializing_if = "is_zero")]
        bytes_cloned: u64,
    },
    /// The backup ended with this final status; the last event.
    End { status: BackupStatus },
}

impl BackupEvent {
    pub fn progress_of(c: &ComponentProgress) -> BackupEvent {
        BackupEvent::Progress {
            name: c.name.clone(),
            status: c.status,
            files: c.files,
            files_copied: c.files_copied,
            files_linked: c.files_linked,
            files_cloned: c.files_cloned,
            bytes_copied: c.bytes_copied,
            bytes_linked: c.bytes_linked,
            bytes_cloned: c.bytes_cloned,
        }
    }
}

impl ComponentProgress {
    /// A component that has not started yet (`pending`, nothing counted).
    pub fn pending(
        name: &str,
        folder: &str,
        keep: u32,
        agent: Option<String>,
    ) -> ComponentProgress {
        ComponentProgress {
            name: name.to_string(),
            status: ComponentStatus::Pending,
            folder: folder.to_string(),
            keep,
            files: 0,
            files_copied: 0,
            files_linked: 0,
            files_cloned: 0,
            bytes_copied: 0,
            bytes_linked: 0,
            bytes_cloned: 0,
            started_at: None,
            finished_at: None,
            duration_ms: None,
            errors: vec![],
            changed_during_backup: Vec::new(),
            changed_during_backup_count: 0,
            freeze: None,
            agent,
        }
    }
}

/// For counts that are left out of a JSON body when zero (those that older clients and file
/// systems without clones never see).
pub fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `<state_dir>/jobs/backups`: one `<ID>.json` per backup.
pub fn records_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("jobs").join("backups")
}

pub fn record_path(state_dir: &Path, id: &str) -> PathBuf {
    records_dir(state_dir).join(format!("{id}.json"))
}

/// The record store of backups, `<state_dir>/jobs/backups`.
pub fn record_dir(state_dir: &Path) -> RecordDir {
    RecordDir::new(records_dir(state_dir))
}

/// Writes a record atomically (temp file, fsync, rename, fsync folder).
pub fn save(state_dir: &Path, rec: &BackupRecord) -> Result<(), IoError> {
    record_dir(state_dir).save(rec)
}

impl Record for BackupRecord {
    type Status = BackupStatus;
    fn id(&self) -> &str {
        &self.id
    }
    fn status(&self) -> BackupStatus {
        self.status
    }
    /// Any file name: a record is known by the ID inside it (as it always was).
    fn belongs_in(&self, _stem: &str) -> bool {
        true
    }
}

/// A record file that could not be read or parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnreadableRecord {
    pub path: PathBuf,
    /// The backup ID its file name gives (`<ID>.json`), when that is a backup ID.
    pub id: Option<String>,
    pub error: String,
}

impl UnreadableRecord {
    pub fn warning(&self) -> String {
        format!(
            "skipping unreadable job record {}: {}",
            self.path.display(),
            self.error
        )
    }
}

/// Loads every record, in ID order; unreadable ones are returned apart.
pub fn load_all(state_dir: &Path) -> Result<(Vec<BackupRecord>, Vec<UnreadableRecord>), IoError> {
    let loaded = record_dir(state_dir).load::<BackupRecord>()?;
    let records = loaded.index.oldest_first().cloned().collect();
    let unreadable = loaded
        .unreadable
        .into_iter()
        .map(|u| UnreadableRecord {
            id: super::backup_id::is_valid(&u.stem).then_some(u.stem),
            path: u.path,
            error: u.error,
        })
        .collect();
    Ok((records, unreadable))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shapes() {
        let e = BackupEvent::End {
            status: BackupStatus::Succeeded,
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"type":"end","status":"succeeded"}"#
        );
        let t: Trigger = serde_json::from_str("\"catch_up\"").unwrap();
        assert_eq!(t, Trigger::CatchUp);
        let p = ComponentProgress {
            status: ComponentStatus::Preparing,
            files: 2,
            files_copied: 1,
            bytes_copied: 5,
            ..ComponentProgress::pending("hub", "/b", 3, None)
        };
        let v = serde_json::to_value(BackupEvent::progress_of(&p)).unwrap();
        assert_eq!(v["type"], "progress");
        assert_eq!(v["name"], "hub");
        assert_eq!(v["status"], "preparing");
    }
}
