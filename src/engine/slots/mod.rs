//! History slots of one component (`backup`, `backup1` .. `backup<keep>`),
//! the crash-safe, idempotent rotation that turns a staging folder into the new `backup`, and
//! the ownership checks that let it rename or delete only what backup-master made.
//!
//! Rotation with keep = N (slot 0 = `<NAME>`, slot k = `<NAME><k>`), after the staging folder
//! `<NAME>.staging-<ID>` is complete and durable:
//! 0. every existing slot name `<NAME>`, `<NAME>1` .. `<NAME>100` is checked ([`check_slots`]):
//!    anything that is not this component's backup stops the commit before anything changes;
//! 1. j = the lowest index in 0..=N whose slot is missing; if none, slot N is dropped (renamed
//!    to `<NAME>.trash-<ID>-<N>`, then deleted) and j = N;
//! 2. for k = j down to 1: rename slot k-1 to slot k;
//! 3. rename the staging folder to slot 0;
//! 4. drop the slots above N (keep was lowered; only `<NAME><k>` with k in N+1..=100) and the
//!    leftover `<NAME>.trash-<ID>-*` of this backup.
//!
//! The parent folder is fsynced after every rename. Each rename moves the lowest missing index
//! up by one, so running the procedure again after a crash at any step computes the same j it
//! was at and finishes the job; when the staging folder is already gone and slot 0's readme
//! carries this ID, only step 4 remains. Deleting always happens under a trash name, so a
//! half-deleted tree never looks like a slot.
//!
//! # Ownership before destruction (DESIGN §5.7)
//! * A slot is renamed or dropped only when it is a real folder (not a symbolic link) whose
//!   `readme.txt` is a regular file naming this component and a well-formed backup ID
//!   ([`held`]). Step 0 checks every slot name first; each slot is checked again right before
//!   its own rename or drop; renames never replace anything ([`fsutil::rename_noreplace`]).
//!   Anything unexpected is a [`SlotError::NotOwned`] naming the path.
//! * The one exception is an **empty** folder at `<NAME>`, the backup folder an operator made
//!   in advance: it is removed with `rmdir`, which cannot remove anything that holds data.
//! * A staging folder is removed only when its readme names this component and backup (local
//!   prepare writes one the moment the folder is created exclusively), or it is empty; it is
//!   renamed to `<NAME>.trash-<ID>-staging` first. Trash and `.failed` helper folders are
//!   removed only under names that carry the ID of the backup doing it.
//! * `<NAME>.failed` is replaced only when it is this component's (its readme names it).

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::backup_id;
use super::fsutil::{self, IoContext, IoError};
use super::readme::{Readme, ReadmeError, README_FILE};
use super::single_line;

/// One history slot, read from disk (`/components/{name}/history`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
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
    pub started: Option<chrono::DateTime<chrono::Utc>>,
    pub finished: Option<chrono::DateTime<chrono::Utc>>,
    /// Set when readme.txt is missing or malformed.
    pub error: Option<String>,
    /// The readme's `Error:` lines.
    #[serde(default)]
    pub errors: Vec<String>,
}

/// Highest slot index ever used (`keep` is 0..=100).
pub const MAX_SLOT: u32 = 100;

#[derive(Debug, thiserror::Error)]
pub enum SlotError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("backup folder {0} has no folder name")]
    NoName(PathBuf),
    #[error("cannot commit {id}: its staging folder {} is missing and slot {} does not hold it", staging.display(), slot0.display())]
    StagingMissing {
        id: String,
        staging: PathBuf,
        slot0: PathBuf,
    },
    #[error("cannot commit: staging folder {} is incomplete (no readme.txt of a successful backup)", .0.display())]
    StagingIncomplete(PathBuf),
    #[error(transparent)]
    NotOwned(#[from] NotOwned),
    #[error(transparent)]
    Readme(#[from] ReadmeError),
    /// Returned by a step hook to simulate a crash (tests).
    #[error("simulated crash")]
    SimulatedCrash,
}

/// Why what is at a name the engine would rename or delete is not provably this component's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Foreign {
    #[error("it is {0}, not a folder")]
    NotAFolder(&'static str),
    #[error("it is an empty folder")]
    Empty,
    #[error("it has no readme.txt")]
    NoReadme,
    #[error("its readme.txt cannot be used: {0}")]
    BadReadme(String),
    #[error("its readme.txt names component {0:?}")]
    OtherComponent(String),
    #[error("its readme.txt names {0:?}, which is not a backup ID")]
    BadId(String),
    #[error("its readme.txt names backup {0}, not this one")]
    OtherBackup(String),
    #[error("it cannot be read: {0}")]
    Unreadable(String),
}

/// Something at a slot (or staging, `.failed`) name that is not this component's backup.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{} is in the way: {why}; it is not a backup of component {component:?} made by backup-master, so it was left as it is (move it elsewhere or choose another backup folder)", path.display())]
pub struct NotOwned {
    pub path: PathBuf,
    pub component: String,
    pub why: Foreign,
}

/// What a slot-like name holds, when it is nothing foreign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Held {
    Nothing,
    /// An empty folder: harmless, and removable with `rmdir` only.
    EmptyFolder,
    /// A folder whose regular `readme.txt` names the component and a well-formed backup ID.
    Backup(Readme),
}

/// What `folder` holds, judged for `component` without following a symbolic link there and
/// without opening anything but a regular `readme.txt` (a FIFO never blocks this).
pub fn held(folder: &Path, component: &str) -> Result<Held, Foreign> {
    let meta = match fs::symlink_metadata(folder) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Held::Nothing),
        Err(e) => return Err(Foreign::Unreadable(e.to_string())),
    };
    if !meta.is_dir() {
        return Err(Foreign::NotAFolder(fsutil::describe_type(meta.file_type())));
    }
    let mut entries = fs::read_dir(folder).map_err(|e| Foreign::Unreadable(e.to_string()))?;
    if entries.next().is_none() {
        return Ok(Held::EmptyFolder);
    }
    let readme = match Readme::read_from(folder) {
        Ok(r) => r,
        Err(e) if Readme::is_not_found(&e) => return Err(Foreign::NoReadme),
        Err(e) => return Err(Foreign::BadReadme(single_line(&e.to_string()))),
    };
    if readme.component != component {
        return Err(Foreign::OtherComponent(single_line(&readme.component)));
    }
    if !backup_id::is_valid(&readme.backup_id) {
        return Err(Foreign::BadId(single_line(&readme.backup_id)));
    }
    Ok(Held::Backup(readme))
}

/// A temporary folder name of a layout, with the backup ID it carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Temporary {
    /// `<NAME>.staging-<ID>`.
    Staging(String),
    /// `<NAME>.staging-<ID>.failed-new` / `.failed-old`: helpers of [`write_failed`].
    FailedHelper(String),
    /// `<NAME>.trash-<ID>-<k>` / `<NAME>.trash-<ID>-staging`: a folder being deleted.
    Trash(String),
}

impl Temporary {
    pub fn id(&self) -> &str {
        match self {
            Temporary::Staging(id) | Temporary::FailedHelper(id) | Temporary::Trash(id) => id,
        }
    }
}

const FAILED_NEW: &str = ".failed-new";
const FAILED_OLD: &str = ".failed-old";

/// Where one component's slots and helper folders live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotLayout {
    pub parent: PathBuf,
    pub name: OsString,
}

impl SlotLayout {
    /// The layout for a backup folder such as `/srv/lui/backup`.
    pub fn of(backup_folder: &Path) -> Result<SlotLayout, SlotError> {
        let name = backup_folder
            .file_name()
            .ok_or_else(|| SlotError::NoName(backup_folder.to_path_buf()))?;
        Ok(SlotLayout {
            parent: fsutil::parent_of(backup_folder),
            name: name.to_os_string(),
        })
    }

    fn named(&self, suffix: &str) -> PathBuf {
        let mut n = self.name.clone();
        n.push(suffix);
        self.parent.join(n)
    }

    /// Slot k: `<NAME>` for 0, `<NAME><k>` otherwise.
    pub fn slot(&self, k: u32) -> PathBuf {
        if k == 0 {
            self.parent.join(&self.name)
        } else {
            self.named(&k.to_string())
        }
    }

    /// `<NAME>` or `<NAME><k>` for a slot name, e.g. `backup2` -> Some(2).
    pub fn slot_index(&self, file_name: &OsStr) -> Option<u32> {
        let rest = file_name.as_bytes().strip_prefix(self.name.as_bytes())?;
        if rest.is_empty() {
            return Some(0);
        }
        if rest[0] == b'0' || !rest.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let k: u32 = std::str::from_utf8(rest).ok()?.parse().ok()?;
        (k <= MAX_SLOT).then_some(k)
    }

    pub fn staging(&self, id: &str) -> PathBuf {
        self.named(&format!(".staging-{id}"))
    }

    /// `<NAME>.failed`: readme of the newest failed attempt.
    pub fn failed(&self) -> PathBuf {
        self.named(".failed")
    }

    /// The next `<NAME>.failed` while [`write_failed`] of backup `id` builds it.
    pub fn failed_new(&self, id: &str) -> PathBuf {
        self.named(&format!(".staging-{id}{FAILED_NEW}"))
    }

    /// The previous `<NAME>.failed` while [`write_failed`] of backup `id` replaces it.
    pub fn failed_old(&self, id: &str) -> PathBuf {
        self.named(&format!(".staging-{id}{FAILED_OLD}"))
    }

    pub fn trash(&self, id: &str, k: u32) -> PathBuf {
        self.named(&format!(".trash-{id}-{k}"))
    }

    /// The staging folder of `id` while [`remove_staging`] deletes it.
    pub fn trash_of_staging(&self, id: &str) -> PathBuf {
        self.named(&format!(".trash-{id}-staging"))
    }

    /// Every name the engine may create, rename or delete for backup `id` (with the highest
    /// slot), for checks of name and path lengths.
    pub fn names_for(&self, id: &str) -> Vec<PathBuf> {
        vec![
            self.slot(MAX_SLOT),
            self.failed(),
            self.staging(id),
            self.failed_new(id),
            self.failed_old(id),
            self.trash(id, MAX_SLOT),
            self.trash_of_staging(id),
        ]
    }

    /// True for names the engine creates only temporarily: `<NAME>.staging-*`, `<NAME>.trash-*`.
    pub fn is_temporary(&self, file_name: &OsStr) -> bool {
        match file_name.as_bytes().strip_prefix(self.name.as_bytes()) {
            Some(rest) => rest.starts_with(b".staging-") || rest.starts_with(b".trash-"),
            None => false,
        }
    }

    /// The temporary folder `file_name` names, with its backup ID.
    pub fn temporary(&self, file_name: &OsStr) -> Option<Temporary> {
        let rest = file_name.as_bytes().strip_prefix(self.name.as_bytes())?;
        let rest = std::str::from_utf8(rest).ok()?;
        if let Some(x) = rest.strip_prefix(".staging-") {
            for helper in [FAILED_NEW, FAILED_OLD] {
                if let Some(id) = x.strip_suffix(helper) {
                    return Some(Temporary::FailedHelper(id.to_string()));
                }
            }
            return Some(Temporary::Staging(x.to_string()));
        }
        let (id, what) = rest.strip_prefix(".trash-")?.rsplit_once('-')?;
        let known =
            what == "staging" || (!what.is_empty() && what.bytes().all(|b| b.is_ascii_digit()));
        known.then(|| Temporary::Trash(id.to_string()))
    }

    /// True for every name the engine of this layout may create, rename or delete: the slot
    /// names, the temporary names and `<NAME>.failed`.
    pub fn owns_name(&self, file_name: &OsStr) -> bool {
        self.slot_index(file_name).is_some()
            || self.is_temporary(file_name)
            || self.failed().file_name() == Some(file_name)
    }

    /// Existing slots, lowest index first.
    pub fn existing_slots(&self) -> Result<Vec<(u32, PathBuf)>, IoError> {
        let mut v = Vec::new();
        match fs::read_dir(&self.parent) {
            Ok(entries) => {
                for entry in entries {
                    let entry = entry.ctx("listing", &self.parent)?;
                    if let Some(k) = self.slot_index(&entry.file_name()) {
                        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                            v.push((k, entry.path()));
                        }
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(IoError::new("listing", &self.parent, e)),
        }
        v.sort();
        Ok(v)
    }

    /// Temporary folders (see [`Self::is_temporary`]) present now.
    pub fn temporaries(&self) -> Result<Vec<PathBuf>, IoError> {
        let mut v = Vec::new();
        match fs::read_dir(&self.parent) {
            Ok(entries) => {
                for entry in entries {
                    let entry = entry.ctx("listing", &self.parent)?;
                    if self.is_temporary(&entry.file_name()) {
                        v.push(entry.path());
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(IoError::new("listing", &self.parent, e)),
        }
        v.sort();
        Ok(v)
    }

    /// Every entry at a slot name (`<NAME>`, `<NAME>1` .. `<NAME>100`) whatever it is, lowest
    /// index first.
    pub(crate) fn slot_names_present(&self) -> Result<Vec<(u32, PathBuf)>, IoError> {
        let mut v = Vec::new();
        match fs::read_dir(&self.parent) {
            Ok(entries) => {
                for entry in entries {
                    let entry = entry.ctx("listing", &self.parent)?;
                    if let Some(k) = self.slot_index(&entry.file_name()) {
                        v.push((k, entry.path()));
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(IoError::new("listing", &self.parent, e)),
        }
        v.sort();
        Ok(v)
    }
}

fn not_owned(path: &Path, component: &str, why: Foreign) -> NotOwned {
    NotOwned {
        path: path.to_path_buf(),
        component: component.to_string(),
        why,
    }
}

/// Everything at the slot names and at `<NAME>.failed` that is not `component`'s: what a
/// backup would refuse to rotate or replace. An empty folder is accepted at `<NAME>` (the
/// backup folder made in advance) and at `<NAME>.failed`, nowhere else.
pub fn foreign_entries(layout: &SlotLayout, component: &str) -> Result<Vec<NotOwned>, IoError> {
    let mut out = Vec::new();
    let mut present = layout.slot_names_present()?;
    present.push((u32::MAX, layout.failed()));
    for (k, path) in present {
        match held(&path, component) {
            Ok(Held::EmptyFolder) if k != 0 && k != u32::MAX => {
                out.push(not_owned(&path, component, Foreign::Empty))
            }
            Ok(_) => {}
            Err(why) => out.push(not_owned(&path, component, why)),
        }
    }
    Ok(out)
}

/// Step 0 of the rotation, also run by prepare so a backup stops before its commit decision:
/// every slot name present must hold a backup of `component` (`<NAME>` may be an empty
/// folder). Returns what slot 0 holds; the first problem is the error.
pub fn check_slots(layout: &SlotLayout, component: &str) -> Result<Held, SlotError> {
    let mut slot0 = Held::Nothing;
    for (k, path) in layout.slot_names_present()? {
        match held(&path, component) {
            Ok(Held::EmptyFolder) if k != 0 => {
                return Err(not_owned(&path, component, Foreign::Empty).into())
            }
            Ok(h) => {
                if k == 0 {
                    slot0 = h;
                }
            }
            Err(why) => return Err(not_owned(&path, component, why).into()),
        }
    }
    Ok(slot0)
}

/// Right before slot `k` is renamed or dropped: it must still be a backup of `component`.
fn check_owned(layout: &SlotLayout, k: u32, component: &str) -> Result<(), SlotError> {
    let path = layout.slot(k);
    match held(&path, component) {
        Ok(Held::Backup(_)) => Ok(()),
        Ok(Held::Nothing) => Err(IoError::new(
            "renaming",
            &path,
            io::Error::new(
                io::ErrorKind::NotFound,
                "it disappeared during the rotation",
            ),
        )
        .into()),
        Ok(Held::EmptyFolder) => Err(not_owned(&path, component, Foreign::Empty).into()),
        Err(why) => Err(not_owned(&path, component, why).into()),
    }
}

/// A point in the rotation, reported to the step hook after it happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Every slot name (and the staging folder) checked; nothing changed yet.
    Checked,
    /// Slot N renamed to its trash name.
    DroppedOldest,
    /// A trash folder deleted.
    TrashRemoved,
    /// Slot `to - 1` renamed to slot `to`.
    Shifted { to: u32 },
    /// All shifting done; the next step renames the staging folder (no change on disk).
    BeforeStagingRename,
    /// Staging renamed to slot 0.
    StagingRenamed,
    /// A slot above N renamed to its trash name.
    DroppedExtra { k: u32 },
}

/// Renames without replacing anything, then makes the rename durable.
fn rename_synced(layout: &SlotLayout, from: &Path, to: &Path) -> Result<(), IoError> {
    fsutil::rename_noreplace(from, to).map_err(|e| {
        IoError::new(
            "renaming",
            from,
            io::Error::new(
                e.source.kind(),
                format!("to {}: {}", to.display(), e.source),
            ),
        )
    })?;
    fsutil::fsync_dir(&layout.parent)
}

/// Removes an empty folder (`rmdir`: refused by the OS when it holds anything).
fn remove_empty(layout: &SlotLayout, path: &Path) -> Result<(), IoError> {
    match fs::remove_dir(path) {
        Ok(()) => fsutil::fsync_dir(&layout.parent),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(IoError::new("removing empty folder", path, e)),
    }
}

/// The staging folder of `id` must be a complete backup of `component` with that ID.
fn check_staging(layout: &SlotLayout, id: &str, component: &str) -> Result<(), SlotError> {
    let staging = layout.staging(id);
    match held(&staging, component) {
        Ok(Held::Backup(r)) if r.backup_id != id => {
            Err(not_owned(&staging, component, Foreign::OtherBackup(r.backup_id)).into())
        }
        Ok(Held::Backup(r)) if r.success => Ok(()),
        Ok(_) | Err(Foreign::NoReadme) => Err(SlotError::StagingIncomplete(staging)),
        Err(why) => Err(not_owned(&staging, component, why).into()),
    }
}

/// Runs (or finishes) the rotation for backup `id` of `component` with `keep` previous
/// backups. `on_step` is called after each step; an error from it stops the procedure there
/// (crash simulation and the `abort_mid_rotation` fault).
pub fn commit(
    layout: &SlotLayout,
    id: &str,
    component: &str,
    keep: u32,
    on_step: &mut dyn FnMut(Step) -> Result<(), SlotError>,
) -> Result<(), SlotError> {
    let keep = keep.min(MAX_SLOT);
    let staging = layout.staging(id);
    // Step 0: nothing changes unless every slot name holds this component's backup.
    let slot0 = check_slots(layout, component)?;
    if fsutil::exists_nofollow(&staging) {
        check_staging(layout, id, component)?;
        on_step(Step::Checked)?;
        if slot0 == Held::EmptyFolder {
            remove_empty(layout, &layout.slot(0))?;
        }
        let j = match (0..=keep).find(|&k| !fsutil::exists_nofollow(&layout.slot(k))) {
            Some(j) => j,
            None => {
                let trash = layout.trash(id, keep);
                fsutil::remove_tree(&trash)?;
                check_owned(layout, keep, component)?;
                rename_synced(layout, &layout.slot(keep), &trash)?;
                on_step(Step::DroppedOldest)?;
                fsutil::remove_tree(&trash)?;
                on_step(Step::TrashRemoved)?;
                keep
            }
        };
        for k in (1..=j).rev() {
            check_owned(layout, k - 1, component)?;
            rename_synced(layout, &layout.slot(k - 1), &layout.slot(k))?;
            on_step(Step::Shifted { to: k })?;
        }
        on_step(Step::BeforeStagingRename)?;
        rename_synced(layout, &staging, &layout.slot(0))?;
        on_step(Step::StagingRenamed)?;
    } else {
        match slot0 {
            Held::Backup(r) if r.backup_id == id => on_step(Step::Checked)?,
            _ => {
                return Err(SlotError::StagingMissing {
                    id: id.to_string(),
                    staging,
                    slot0: layout.slot(0),
                })
            }
        }
    }
    // Step 4: slots above keep, then this backup's leftover trash.
    for (k, path) in layout.existing_slots()? {
        if k > keep {
            let trash = layout.trash(id, k);
            fsutil::remove_tree(&trash)?;
            check_owned(layout, k, component)?;
            rename_synced(layout, &path, &trash)?;
            on_step(Step::DroppedExtra { k })?;
            fsutil::remove_tree(&trash)?;
            on_step(Step::TrashRemoved)?;
        }
    }
    for path in layout.temporaries()? {
        let mine = path
            .file_name()
            .and_then(|n| layout.temporary(n))
            .is_some_and(|t| matches!(&t, Temporary::Trash(t_id) if t_id == id));
        if mine {
            fsutil::remove_tree(&path)?;
        }
    }
    Ok(())
}

/// Removes the staging folder of backup `id` of `component` (and the helpers of its
/// `.failed`) if present. The staging folder must be empty or hold a readme naming this
/// component and backup; anything else there is left alone and is the error.
pub fn remove_staging(layout: &SlotLayout, id: &str, component: &str) -> Result<(), SlotError> {
    let staging = layout.staging(id);
    let trash = layout.trash_of_staging(id);
    match held(&staging, component) {
        Ok(Held::Nothing) => {}
        Ok(Held::EmptyFolder) => remove_empty(layout, &staging)?,
        Ok(Held::Backup(r)) if r.backup_id == id => {
            fsutil::remove_tree(&trash)?;
            rename_synced(layout, &staging, &trash)?;
        }
        Ok(Held::Backup(r)) => {
            return Err(not_owned(&staging, component, Foreign::OtherBackup(r.backup_id)).into())
        }
        Err(why) => return Err(not_owned(&staging, component, why).into()),
    }
    for path in [trash, layout.failed_new(id), layout.failed_old(id)] {
        fsutil::remove_tree(&path)?;
    }
    if fsutil::exists_nofollow(&layout.parent) {
        fsutil::fsync_dir(&layout.parent)?;
    }
    Ok(())
}

/// Replaces `<NAME>.failed` with a folder holding only `readme` (whose component is the
/// owner). Built beside it under a `<NAME>.staging-<ID>.` name first, so a crash leaves
/// either the old or the new one (plus a temporary folder that recovery removes). The old one
/// is replaced only when it is the component's (its readme names it) or empty.
pub fn write_failed(layout: &SlotLayout, id: &str, readme: &Readme) -> Result<(), SlotError> {
    if !fsutil::exists_nofollow(&layout.parent) {
        fs::create_dir_all(&layout.parent).ctx("creating folder", &layout.parent)?;
    }
    let component = readme.component.as_str();
    let failed = layout.failed();
    let replace = match held(&failed, component) {
        Ok(Held::Nothing) => false,
        Ok(Held::EmptyFolder | Held::Backup(_)) => true,
        Err(why) => return Err(not_owned(&failed, component, why).into()),
    };
    let new = layout.failed_new(id);
    let old = layout.failed_old(id);
    fsutil::remove_tree(&new)?;
    fsutil::remove_tree(&old)?;
    fs::create_dir(&new).ctx("creating folder", &new)?;
    fsutil::write_new_synced(&new.join(README_FILE), readme.render().as_bytes())?;
    fsutil::fsync_dir(&new)?;
    if replace {
        rename_synced(layout, &failed, &old)?;
    }
    rename_synced(layout, &new, &failed)?;
    fsutil::remove_tree(&old)?;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;
