//! Restore job records: the JSON shapes of a restore (its plan, steps, status), their files on
//! disk, `<state_dir>/jobs/restores/<ID>.json`, written atomically (temp file, fsync, rename,
//! fsync folder), and restore IDs.
//!
//! **Restore IDs** look like backup IDs with an `R` in front, `R20261126T101500Z`, and follow
//! the same rules (`crate::engine::backup_id`): only `[0-9A-Za-z._-]`, the UTC second the
//! restore was requested, a `.0001`.. suffix for further restores in the same second, and they
//! sort as plain strings in request order. The `R` keeps them apart from backup IDs in logs and
//! in the `running_id` of a 409. The greatest ID among the records on disk is the floor of the
//! next one (no separate counter file: a record is written before its ID is ever shown).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::engine::backup_id::{self, IdParts};
use crate::engine::fsutil::IoError;
use crate::engine::Profile;
use crate::toolkit::record_dir::{Record, RecordDir};

/// Prefix of every restore ID.
pub const ID_PREFIX: &str = "R";

/// Where a restore stands. Every status but `running` is final.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RestoreStatus {
    /// A dry run: the plan was made and the set verified; nothing was changed.
    Planned,
    /// Applying the plan now.
    Running,
    /// Every component was restored. A restore of local components only keeps its safety
    /// copies (`safety_copy` per component) so it can be undone.
    Succeeded,
    /// A step failed; every component was put back as it was (see `errors`).
    Failed,
    /// The master died while the restore ran; at the next start it put every component back.
    Interrupted,
    /// A component did not become healthy after the restore started it (`lifecycle` names it
    /// and keeps the health command's output). Without `rollback_on_unhealthy` the restored
    /// data stays in place and the restore can be undone; with it every component was put
    /// back as it was and started again.
    Unhealthy,
}

impl RestoreStatus {
    pub fn is_final(self) -> bool {
        self != RestoreStatus::Running
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RestoreStatus::Planned => "planned",
            RestoreStatus::Running => "running",
            RestoreStatus::Succeeded => "succeeded",
            RestoreStatus::Failed => "failed",
            RestoreStatus::Interrupted => "interrupted",
            RestoreStatus::Unhealthy => "unhealthy",
        }
    }

    /// The restore's data stayed in place: `succeeded`, or `unhealthy` without a rollback
    /// (see [`RestoreRecord::committed`]).
    pub fn may_have_committed(self) -> bool {
        matches!(self, RestoreStatus::Succeeded | RestoreStatus::Unhealthy)
    }
}

/// Where a component of a restore stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComponentState {
    /// Planned only (dry run), or not started yet.
    Pending,
    /// Its items are being moved aside and copied in: a crash now is rolled back.
    Applying,
    /// Its items are in place; its safety copy still exists.
    Applied,
    /// Done: its safety copy is kept (`safety_copy`; a restore with remote components removes
    /// them).
    Restored,
    /// Put back as it was (the restore failed or was interrupted).
    RolledBack,
    /// Putting it back failed; `errors` says what, the safety folder is kept for a person.
    RollbackIncomplete,
}

/// Where the folder a component is restored from came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FolderOrigin {
    /// A history slot (`backup`, `backup1`, ...).
    Slot,
    /// A folder registered with `/backup-sets/import`.
    Imported,
    /// A folder given in the request's `source_folders`.
    SourceFolder,
    /// An undo: the safety folder of the restore undone (`undo_of`), copied back.
    SafetyCopy,
    /// A set downloaded from the request's `from_target` (a replication target) into a
    /// folder of the state dir, every hash checked.
    Replica,
}

/// How the backup folder holds the component's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// The profile's (or config's) items, as they are in the home.
    Items,
    /// A tracker backup from before Maestro 2.0-4: `*.dat` files instead of `data/`. They go
    /// into the home's `data/`, replacing its `*.dat` files.
    OldStyleDat,
}

/// What a path in a backup folder is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    File,
    Folder,
    Symlink,
}

/// One copy out of the backup folder into the home (a file, or a folder with all it holds).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CopyOp {
    #[schema(example = "/srv/lui/backup/luidata")]
    pub from: String,
    #[schema(example = "/srv/lui/luidata")]
    pub to: String,
    pub kind: EntryKind,
}

/// A line appended to a restored file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EditOp {
    #[schema(example = "/srv/lui/lui.ini")]
    pub path: String,
    #[schema(example = "RestoreFromBackup=/srv/lui/backup")]
    pub append: String,
}

/// Something in the backup folder that is deliberately not restored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SkipOp {
    #[schema(example = "/srv/lui/backup/my.ini")]
    pub path: String,
    pub reason: String,
}

/// A folder's modification time, kept so a rollback can put it back too.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FolderTime {
    pub path: String,
    pub mtime_s: i64,
    pub mtime_ns: i64,
}

/// A file-system entry as this restore found or made it: its path and its identity (device and
/// inode, which a rename keeps). What a rollback or a cleanup may touch is checked against it
/// right before the step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OwnedEntry {
    #[schema(example = "/srv/lui/luidata")]
    pub path: String,
    pub dev: u64,
    pub ino: u64,
    pub kind: EntryKind,
}

/// The plan of one component and how far it got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ComponentRestore {
    #[schema(example = "lui")]
    pub name: String,
    pub profile: Profile,
    #[schema(example = "/srv/lui")]
    pub home: String,
    /// The backup folder restored from.
    #[schema(example = "/srv/lui/backup")]
    pub source_folder: String,
    pub origin: FolderOrigin,
    /// The history slot (`backup`, `backup1`, ...) when `origin` is `slot`.
    pub slot: Option<String>,
    pub layout: Layout,
    /// `<home>/.pre-restore-<restore id>`: the items about to be replaced are moved here first.
    #[schema(example = "/srv/lui/.pre-restore-R20261126T101500Z")]
    pub safety_folder: String,
    /// Paths of the home moved to the safety folder (removed from the home) before the copy.
    pub remove: Vec<String>,
    /// What is copied out of the backup folder (real copies: modes, mtimes and symbolic links
    /// kept; never a hard link into the backup).
    pub copy: Vec<CopyOp>,
    /// Lines appended after the copy.
    pub edit: Vec<EditOp>,
    /// Entries of the backup folder not restored, with the reason.
    pub skip: Vec<SkipOp>,
    /// Folders of the home created because they were missing (e.g. `data/`).
    pub create_dirs: Vec<String>,
    pub status: ComponentState,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Regular files copied out of the backup (read and written, or cloned).
    pub files: u64,
    /// Bytes copied out of the backup (read and written, or cloned).
    pub bytes: u64,
    /// Of `files`, those cloned (`FICLONE`: the home's copy shares extents with the backup
    /// where both are on one file system that can; still an independent copy). Absent when
    /// none was.
    #[serde(default, skip_serializing_if = "crate::engine::record::is_zero")]
    pub files_cloned: u64,
    /// Of `bytes`, those cloned; absent when no file was.
    #[serde(default, skip_serializing_if = "crate::engine::record::is_zero")]
    pub bytes_cloned: u64,
    pub errors: Vec<String>,
    /// Modification times of the home folders the restore changes, taken before the first
    /// change; a rollback sets them back.
    #[serde(default)]
    pub folder_times: Vec<FolderTime>,
    /// For a remote component: the URL of the agent that plans and applies this part of the
    /// restore on its own machine (`home` and the paths are paths there). Absent for local ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "https://tracker.example:7444")]
    pub agent: Option<String>,
    /// A remote component restored from `from_target`: the ID of its agent's download of the
    /// set (`source_folder` is that download's folder on the agent's machine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "C20261201T101500Z")]
    pub download: Option<String>,
    /// The safety folder, recorded once this restore created it (exclusively: an existing one
    /// fails the restore) and before anything was moved into it. Absent: this restore made no
    /// safety folder, so a rollback or a cleanup leaves whatever is at that name alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety_created: Option<OwnedEntry>,
    /// Each path of `remove` as it was right before it was moved into the safety folder,
    /// recorded before the move. A rollback puts back only an entry of the safety folder that
    /// is one of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moved_aside: Vec<OwnedEntry>,
    /// Targets this restore began to copy into, recorded before the copy (each was free then).
    /// A rollback removes only these from the home.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub copy_started: Vec<String>,
    /// The folders of `create_dirs` this restore made (each created exclusively), recorded
    /// before anything was copied into them. A rollback removes only these, only when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub created_dirs: Vec<String>,
    /// Only in an undo: what of the home the undone restore made, and what it moved aside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undo: Option<UndoPlan>,
    /// The safety folder kept after this restore succeeded (so it can be undone), until it is
    /// discarded. Absent: nothing was kept (not succeeded, or a restore with remote
    /// components).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety_copy: Option<SafetyCopy>,
}

/// The part of an undo's component plan that comes from the restore it undoes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UndoPlan {
    /// Paths the undone restore copied into or created in the home: moved aside by the undo
    /// (when present) before the originals are copied back.
    pub remove: Vec<String>,
    /// Each entry of the undone restore's safety folder the undo copies back (its path there
    /// and the identity the undone restore recorded when it moved it aside): copied only while
    /// it is still that entry.
    pub sources: Vec<OwnedEntry>,
    /// The home folders' modification times before the undone restore; set again once the
    /// undo succeeded.
    pub folder_times: Vec<FolderTime>,
}

/// A safety folder kept after its restore succeeded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SafetyCopy {
    /// Bytes of the regular files it holds (as large as what the restore replaced); for a
    /// remote component, as its agent reported them at the commit.
    pub bytes: u64,
    pub kept_at: DateTime<Utc>,
    /// When it was discarded (a later restore of the component succeeded, or `DELETE
    /// /restores/{id}/safety-copy`); absent while it is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discarded_at: Option<DateTime<Utc>>,
    /// Why it was discarded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discarded_because: Option<String>,
}

impl SafetyCopy {
    pub fn is_kept(&self) -> bool {
        self.discarded_at.is_none()
    }
}

impl ComponentRestore {
    /// The plan of component `name` restored from `source_folder` (an `origin`) into `home`,
    /// with its safety folder, before any step: nothing to copy, edit or remove yet (the planner
    /// fills those), items layout, no slot.
    pub fn pending(
        name: &str,
        profile: Profile,
        home: String,
        source_folder: String,
        origin: FolderOrigin,
        safety_folder: String,
    ) -> ComponentRestore {
        ComponentRestore {
            name: name.to_string(),
            profile,
            home,
            source_folder,
            origin,
            slot: None,
            layout: Layout::Items,
            safety_folder,
            remove: vec![],
            copy: vec![],
            edit: vec![],
            skip: vec![],
            create_dirs: vec![],
            status: ComponentState::Pending,
            started_at: None,
            finished_at: None,
            files: 0,
            bytes: 0,
            files_cloned: 0,
            bytes_cloned: 0,
            errors: vec![],
            folder_times: vec![],
            agent: None,
            download: None,
            safety_created: None,
            moved_aside: vec![],
            copy_started: vec![],
            created_dirs: vec![],
            undo: None,
            safety_copy: None,
        }
    }

    /// Every home path the plan replaces, creates or removes, in plan order (no duplicates).
    pub fn targets(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for p in self.remove.iter().chain(self.copy.iter().map(|c| &c.to)) {
            if !out.contains(p) {
                out.push(p.clone());
            }
        }
        out
    }
}

/// What a step did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepAction {
    /// The request was checked and the plan made.
    Planned,
    /// A backup folder was verified against its `SHA256SUMS`.
    Verified,
    /// A component's home is about to change.
    ComponentStarted,
    /// The safety folder was created.
    CreatedSafetyFolder,
    /// A home path was moved into the safety folder.
    MovedAside,
    /// A missing folder of the home was created.
    CreatedFolder,
    /// A file or folder was copied out of the backup folder.
    Copied,
    /// A line was appended to a restored file.
    Edited,
    /// A component's files were made durable and it counts as applied.
    ComponentApplied,
    /// Every component is applied: the restore will complete (also after a crash).
    CommitDecided,
    /// A remote component's agent committed its part (it keeps the safety folder).
    Committed,
    /// A safety folder was removed (after success), emptied (after a rollback), or the kept
    /// safety folder of an earlier restore was discarded as this one succeeded (`detail` names
    /// that restore).
    RemovedSafetyFolder,
    /// Rollback: a copied-in path was removed.
    RemovedCopy,
    /// Rollback: a path was moved back from the safety folder.
    PutBack,
    /// Rollback: a folder the restore had created was removed.
    RemovedFolder,
    /// Rollback of a component finished.
    RolledBack,
    /// The restore failed (the detail says why).
    Failed,
    /// Start-up recovery took over an interrupted restore.
    Recovered,
    /// The restore ended.
    Finished,
    /// A component's stop command is about to run (recorded before it runs).
    Stopping,
    /// A component was stopped (or its stop failed: the detail says how it ended).
    Stopped,
    /// A component's start command ran (the detail says how it ended).
    Started,
    /// A component's health command exited 0.
    Healthy,
    /// A component did not become healthy in time.
    Unhealthy,
}

/// One step of a restore, with its time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Step {
    pub at: DateTime<Utc>,
    pub action: StepAction,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub component: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub path: Option<String>,
    /// The destination of a move or copy.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub detail: Option<String>,
}

/// The result of checking one backup folder against its `SHA256SUMS`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FolderCheck {
    pub component: String,
    pub folder: String,
    pub ok: bool,
    /// Mismatching, missing and unlisted files (empty when ok).
    pub problems: Vec<String>,
}

/// A restore job: the request, the plan, the steps, the outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RestoreRecord {
    #[schema(example = "R20261126T101500Z")]
    pub id: String,
    /// The backup set restored (the ID actually used).
    #[schema(example = "20261126T020000Z")]
    pub backup_id: String,
    pub dry_run: bool,
    pub status: RestoreStatus,
    /// The components asked for (absent: all configured components).
    pub requested_components: Option<Vec<String>>,
    /// The request's `source_folders`.
    pub source_folders: BTreeMap<String, String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Each backup folder's verification, done before anything was touched.
    pub verification: Vec<FolderCheck>,
    /// The plan per component, and how far each got.
    pub components: Vec<ComponentRestore>,
    pub steps: Vec<Step>,
    /// Every path of a home the restore changed (moved, created, copied, edited, removed), in
    /// the order it first changed. Empty for a dry run.
    pub changed: Vec<String>,
    /// True once every component was applied: from then on the restore completes, also after
    /// a crash (only the safety folders remain to be removed).
    pub commit_decided: bool,
    pub errors: Vec<String>,
    pub notes: Vec<String>,
    /// Remote components an operator had resolved by hand on their agent's machine
    /// (`backup-master agent resolve`) when the master met them again; a `mismatch` means the
    /// components did not all end the same way (the errors say how).
    #[serde(default)]
    pub heuristic: Vec<crate::store::HeuristicOutcome>,
    /// Only in an agent's record of its part of a restore: the master's last message, whether
    /// it is in doubt, an operator's decision. Absent on the master's records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participation: Option<crate::store::Participation>,
    /// Only on an undo: the ID of the restore it undoes (`POST /restores/{id}/undo`). Its
    /// `backup_id` is that restore's, for reference; nothing is read from the backup set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "R20261126T101500Z")]
    pub undo_of: Option<String>,
    /// True when `POST /restores/{id}/undo` would be accepted now (computed when read);
    /// absent when it would not.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub undo_available: bool,
    /// For a succeeded restore that cannot be undone: why (computed when read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undo_unavailable_because: Option<String>,
    /// Bytes the kept safety copies of this restore hold (computed when read); absent when
    /// none is kept.
    #[serde(default, skip_serializing_if = "crate::engine::record::is_zero")]
    pub safety_copy_bytes: u64,
    /// Components with a `stop_command`, `start_command` or `health_command`: how the restore
    /// stopped, started and proved each one (absent when none has any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lifecycle: Vec<crate::engine::lifecycle::ComponentLifecycle>,
}

impl crate::engine::participation::HeuristicLog for RestoreRecord {
    fn heuristic_lists(
        &mut self,
    ) -> (
        &mut Vec<crate::store::HeuristicOutcome>,
        &mut Vec<String>,
        &mut Vec<String>,
    ) {
        (&mut self.heuristic, &mut self.errors, &mut self.notes)
    }
}

impl RestoreRecord {
    /// A record with only its ID: status `failed`, no plan, created now.
    pub fn empty(id: &str) -> RestoreRecord {
        let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 0);
        RestoreRecord::blank(id, "", RestoreStatus::Failed, now)
    }

    /// A record of restore `id` of set `backup_id` with `status`, created at `created_at`, and
    /// nothing else yet (no plan, no step, not started): the callers fill in the rest.
    pub fn blank(
        id: &str,
        backup_id: &str,
        status: RestoreStatus,
        created_at: DateTime<Utc>,
    ) -> RestoreRecord {
        RestoreRecord {
            id: id.to_string(),
            backup_id: backup_id.to_string(),
            dry_run: false,
            status,
            requested_components: None,
            source_folders: BTreeMap::new(),
            created_at,
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
            undo_of: None,
            undo_available: false,
            undo_unavailable_because: None,
            safety_copy_bytes: 0,
            lifecycle: vec![],
        }
    }

    /// Ends the restore with final `status` at `at`, and its `finished` step.
    pub fn finish(&mut self, status: RestoreStatus, at: DateTime<Utc>) {
        self.status = status;
        self.finished_at = Some(at);
        self.step(
            StepAction::Finished,
            None,
            None,
            None,
            Some(status.as_str().to_string()),
        );
    }

    pub fn component_mut(&mut self, name: &str) -> Option<&mut ComponentRestore> {
        self.components.iter_mut().find(|c| c.name == name)
    }

    /// Adds a step stamped now.
    pub fn step(
        &mut self,
        action: StepAction,
        component: Option<&str>,
        path: Option<&str>,
        to: Option<&str>,
        detail: Option<String>,
    ) {
        self.steps.push(Step {
            at: Utc::now(),
            action,
            component: component.map(String::from),
            path: path.map(String::from),
            to: to.map(String::from),
            detail,
        });
    }

    /// Its data stayed in place once it ended: it committed (`succeeded`, or `unhealthy` with
    /// no component rolled back).
    pub fn committed(&self) -> bool {
        self.status.may_have_committed()
            && !self
                .components
                .iter()
                .any(|c| c.status == ComponentState::RolledBack)
    }

    /// The lifecycle entry of component `name`.
    pub fn lifecycle_mut(
        &mut self,
        name: &str,
    ) -> Option<&mut crate::engine::lifecycle::ComponentLifecycle> {
        self.lifecycle.iter_mut().find(|l| l.component == name)
    }

    /// Notes that `path` changed (once).
    pub fn changed(&mut self, path: &str) {
        if !self.changed.iter().any(|p| p == path) {
            self.changed.push(path.to_string());
        }
    }
}

/// `<state_dir>/jobs/restores`.
pub fn records_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("jobs").join("restores")
}

pub fn record_path(state_dir: &Path, id: &str) -> PathBuf {
    records_dir(state_dir).join(format!("{id}.json"))
}

/// The record store of restores, `<state_dir>/jobs/restores`.
pub fn record_dir(state_dir: &Path) -> RecordDir {
    RecordDir::new(records_dir(state_dir))
}

/// Writes a record atomically.
pub fn save(state_dir: &Path, rec: &RestoreRecord) -> Result<(), IoError> {
    record_dir(state_dir).save(rec)
}

impl Record for RestoreRecord {
    type Status = RestoreStatus;
    fn id(&self) -> &str {
        &self.id
    }
    fn status(&self) -> RestoreStatus {
        self.status
    }
    fn belongs_in(&self, stem: &str) -> bool {
        is_restore_id(&self.id) && self.id == stem
    }
}

/// Loads every record (sorted by ID); unreadable ones are skipped and reported as warnings.
/// Leftover temp files of interrupted writes are removed.
pub fn load_all(state_dir: &Path) -> Result<(Vec<RestoreRecord>, Vec<String>), IoError> {
    let dir = RecordDir::create(records_dir(state_dir))?;
    let loaded = dir.load::<RestoreRecord>()?;
    let warnings = loaded
        .unreadable
        .iter()
        .map(|u| format!("skipping restore record {}: {}", u.path.display(), u.error))
        .collect();
    Ok((loaded.index.oldest_first().cloned().collect(), warnings))
}

/// The time and sequence of a restore ID; `None` for anything else.
pub fn parse_restore_id(id: &str) -> Option<IdParts> {
    backup_id::parse(id.strip_prefix(ID_PREFIX)?)
}

pub fn is_restore_id(id: &str) -> bool {
    parse_restore_id(id).is_some()
}

/// The next restore ID after `last` at `now`: the job IDs' one scheme
/// ([`crate::toolkit::job_id::next`]) in the restore form.
pub fn next_restore_id(last: Option<IdParts>, now: DateTime<Utc>) -> (String, IdParts) {
    let form = crate::toolkit::job_id::RESTORE;
    let parts = crate::toolkit::job_id::next(form, last, now);
    (form.format(parts), parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn ids_sort_in_order_and_parse_back() {
        let (a, pa) = next_restore_id(None, t("2026-11-26T10:15:00.1Z"));
        let (b, pb) = next_restore_id(Some(pa), t("2026-11-26T10:15:00.9Z"));
        let (c, _) = next_restore_id(Some(pb), t("2026-11-26T10:14:00Z"));
        let (d, _) = next_restore_id(Some(pb), t("2026-11-26T10:15:01Z"));
        assert_eq!(a, "R20261126T101500Z");
        assert_eq!(b, "R20261126T101500Z.0001");
        assert_eq!(
            c, "R20261126T101500Z.0002",
            "a clock stepped back never goes back"
        );
        assert!(a < b && b < c && c < d);
        for id in [&a, &b, &c, &d] {
            assert!(is_restore_id(id));
            assert!(backup_id::is_safe_chars(id));
        }
        assert!(!is_restore_id("20261126T101500Z"));
        assert!(!is_restore_id("R../x"));
    }

    #[test]
    fn records_round_trip_and_bad_files_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(records_dir(dir.path())).unwrap();
        let rec = RestoreRecord::blank(
            "R20261126T101500Z",
            "20261126T020000Z",
            RestoreStatus::Running,
            t("2026-11-26T10:15:00Z"),
        );
        save(dir.path(), &rec).unwrap();
        let rdir = records_dir(dir.path());
        fs::write(rdir.join("R20000101T000000Z.json"), b"{not json").unwrap();
        fs::write(rdir.join("R20000101T000001Z.json.tmp-abc"), b"x").unwrap();
        let (all, warnings) = load_all(dir.path()).unwrap();
        assert_eq!(all, vec![rec]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(!rdir.join("R20000101T000001Z.json.tmp-abc").exists());
        let v = serde_json::to_value(&all[0]).unwrap();
        assert_eq!(v["status"], "running");
    }
}
