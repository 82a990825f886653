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
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// Makes something at a path (a case of a table test).
    type Maker = Box<dyn Fn(&Path)>;

    /// The component every test backup belongs to.
    pub(crate) const C: &str = "c";

    /// A well-formed backup ID for day `n` (0..=59).
    pub(crate) fn id(n: u32) -> String {
        format!("20260101T0000{n:02}Z")
    }

    pub(crate) fn readme_of(id: &str, component: &str, success: bool) -> Readme {
        Readme {
            backup_id: id.into(),
            component: component.into(),
            started: None,
            finished: None,
            success,
            errors: vec![],
        }
    }

    /// A complete backup of component [`C`] with `id` in `dir`.
    pub(crate) fn make_backup(dir: &Path, id: &str) {
        make_backup_of(dir, id, C);
    }

    pub(crate) fn make_backup_of(dir: &Path, id: &str, component: &str) {
        fs::create_dir_all(dir).unwrap();
        fs::write(
            dir.join(README_FILE),
            readme_of(id, component, true).render(),
        )
        .unwrap();
        fs::write(dir.join("data.txt"), id).unwrap();
    }

    /// Every entry of the parent folder with the backup ID its readme holds.
    pub(crate) fn snapshot(parent: &Path) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        for e in fs::read_dir(parent).unwrap() {
            let e = e.unwrap();
            let id = if fs::symlink_metadata(e.path()).unwrap().is_dir() {
                Readme::read_from(&e.path())
                    .map(|r| r.backup_id)
                    .unwrap_or_else(|_| "?".into())
            } else {
                "?".into()
            };
            m.insert(e.file_name().to_string_lossy().into_owned(), id);
        }
        m
    }

    /// Every file below `root` with its content (symbolic links and FIFOs by kind), for
    /// "nothing changed" checks.
    fn deep(root: &Path) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        fn walk(root: &Path, dir: &Path, m: &mut BTreeMap<String, String>) {
            for e in fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                let meta = fs::symlink_metadata(&p).unwrap();
                if meta.is_dir() {
                    m.insert(rel, "dir".into());
                    walk(root, &p, m);
                } else if meta.is_file() {
                    m.insert(rel, String::from_utf8_lossy(&fs::read(&p).unwrap()).into());
                } else {
                    m.insert(rel, fsutil::describe_type(meta.file_type()).into());
                }
            }
        }
        walk(root, root, &mut m);
        m
    }

    fn layout(root: &Path) -> SlotLayout {
        SlotLayout::of(&root.join("backup")).unwrap()
    }

    fn run_backups(parent: &Path, keep: u32, days: u32) {
        let layout = layout(parent);
        for day in 1..=days {
            let id = id(day);
            make_backup(&layout.staging(&id), &id);
            commit(&layout, &id, C, keep, &mut |_| Ok(())).unwrap();
        }
    }

    fn map(pairs: &[(&str, String)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.clone()))
            .collect()
    }

    fn fifo(path: &Path) {
        nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    }

    #[test]
    fn table_11_1() {
        let dir = tempfile::tempdir().unwrap();
        let expected: &[&[(&str, u32)]] = &[
            &[("backup", 1)],
            &[("backup", 2), ("backup1", 1)],
            &[("backup", 3), ("backup1", 2), ("backup2", 1)],
            &[
                ("backup", 4),
                ("backup1", 3),
                ("backup2", 2),
                ("backup3", 1),
            ],
            &[
                ("backup", 5),
                ("backup1", 4),
                ("backup2", 3),
                ("backup3", 2),
            ],
        ];
        let layout = layout(dir.path());
        for (i, want) in expected.iter().enumerate() {
            let day = id(i as u32 + 1);
            make_backup(&layout.staging(&day), &day);
            commit(&layout, &day, C, 3, &mut |_| Ok(())).unwrap();
            let want: BTreeMap<String, String> =
                want.iter().map(|(a, b)| (a.to_string(), id(*b))).collect();
            assert_eq!(snapshot(dir.path()), want, "after day {}", i + 1);
        }
        assert!(!dir.path().join("backup4").exists());
    }

    #[test]
    fn keep_zero_keeps_only_backup() {
        let dir = tempfile::tempdir().unwrap();
        run_backups(dir.path(), 0, 4);
        assert_eq!(snapshot(dir.path()), map(&[("backup", id(4))]));
    }

    #[test]
    fn lowering_keep_drops_extra_slots() {
        let dir = tempfile::tempdir().unwrap();
        run_backups(dir.path(), 5, 6);
        let layout = layout(dir.path());
        make_backup(&layout.staging(&id(7)), &id(7));
        commit(&layout, &id(7), C, 2, &mut |_| Ok(())).unwrap();
        assert_eq!(
            snapshot(dir.path()),
            map(&[("backup", id(7)), ("backup1", id(6)), ("backup2", id(5))])
        );
    }

    #[test]
    fn unrelated_names_are_not_slots() {
        let layout = SlotLayout::of(Path::new("/x/backup")).unwrap();
        assert_eq!(layout.slot_index(OsStr::new("backup")), Some(0));
        assert_eq!(layout.slot_index(OsStr::new("backup12")), Some(12));
        assert_eq!(layout.slot_index(OsStr::new("backup100")), Some(100));
        assert_eq!(layout.slot_index(OsStr::new("backup012")), None);
        assert_eq!(layout.slot_index(OsStr::new("backup2024")), None);
        assert_eq!(layout.slot_index(OsStr::new("backup101")), None);
        assert_eq!(layout.slot_index(OsStr::new("backups")), None);
        assert_eq!(layout.slot_index(OsStr::new("backup1x")), None);
        assert!(layout.is_temporary(OsStr::new("backup.staging-X")));
        assert!(layout.is_temporary(OsStr::new("backup.trash-X-3")));
        assert!(!layout.is_temporary(OsStr::new("backup.failed")));
        assert!(!layout.is_temporary(OsStr::new("other.staging-X")));
    }

    #[test]
    fn owned_names_and_temporaries_with_their_ids() {
        let l = SlotLayout::of(Path::new("/x/backup")).unwrap();
        for owned in [
            "backup",
            "backup7",
            "backup.failed",
            "backup.staging-A",
            "backup.trash-A-3",
        ] {
            assert!(l.owns_name(OsStr::new(owned)), "{owned}");
        }
        for other in [
            "backups",
            "backup.old",
            "backup.failed2",
            "backup0",
            "lui",
            "x.failed",
        ] {
            assert!(!l.owns_name(OsStr::new(other)), "{other}");
        }
        let t = |n: &str| l.temporary(OsStr::new(n));
        assert_eq!(
            t("backup.staging-20260101T000001Z.0002"),
            Some(Temporary::Staging("20260101T000001Z.0002".into()))
        );
        assert_eq!(
            t("backup.staging-A.failed-new"),
            Some(Temporary::FailedHelper("A".into()))
        );
        assert_eq!(
            t("backup.staging-A.failed-old"),
            Some(Temporary::FailedHelper("A".into()))
        );
        assert_eq!(t("backup.trash-A-12"), Some(Temporary::Trash("A".into())));
        assert_eq!(
            t("backup.trash-A-staging"),
            Some(Temporary::Trash("A".into()))
        );
        assert_eq!(t("backup.trash-A-x"), None);
        assert_eq!(t("backup.trash-A-"), None);
        assert_eq!(t("backup.trash-A"), None);
        assert_eq!(t("backup.failed"), None);
        assert_eq!(t("other.staging-A"), None);
        assert_eq!(Temporary::Trash("A".into()).id(), "A");
        // Every helper name of a backup is one the layout owns, and carries the ID.
        for p in l.names_for("A") {
            let name = p.file_name().unwrap();
            assert!(l.owns_name(name), "{}", p.display());
            assert_eq!(p.parent(), Some(Path::new("/x")));
            if let Some(t) = l.temporary(name) {
                assert_eq!(t.id(), "A", "{}", p.display());
            }
        }
        assert_eq!(l.names_for("A").len(), 7);
    }

    #[test]
    fn held_judges_each_kind_of_entry_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(held(&d.join("none"), C), Ok(Held::Nothing));
        fs::create_dir(d.join("empty")).unwrap();
        assert_eq!(held(&d.join("empty"), C), Ok(Held::EmptyFolder));
        make_backup(&d.join("mine"), &id(1));
        assert_eq!(
            held(&d.join("mine"), C),
            Ok(Held::Backup(readme_of(&id(1), C, true)))
        );
        fs::write(d.join("file"), "x").unwrap();
        assert_eq!(
            held(&d.join("file"), C),
            Err(Foreign::NotAFolder("a regular file"))
        );
        std::os::unix::fs::symlink(d.join("mine"), d.join("link")).unwrap();
        assert_eq!(
            held(&d.join("link"), C),
            Err(Foreign::NotAFolder("a symbolic link"))
        );
        fs::create_dir(d.join("noreadme")).unwrap();
        fs::write(d.join("noreadme/data"), "x").unwrap();
        assert_eq!(held(&d.join("noreadme"), C), Err(Foreign::NoReadme));
        make_backup_of(&d.join("theirs"), &id(1), "lui");
        assert_eq!(
            held(&d.join("theirs"), C),
            Err(Foreign::OtherComponent("lui".into()))
        );
        make_backup(&d.join("badid"), "day1");
        assert_eq!(
            held(&d.join("badid"), C),
            Err(Foreign::BadId("day1".into()))
        );
        fs::create_dir(d.join("junk")).unwrap();
        fs::write(d.join("junk").join(README_FILE), "hello").unwrap();
        assert!(matches!(
            held(&d.join("junk"), C),
            Err(Foreign::BadReadme(_))
        ));
        // A FIFO or a link as readme.txt is refused at once.
        let makers: [(&str, Maker); 2] = [
            ("fifo", Box::new(fifo)),
            (
                "rlink",
                Box::new(|p| std::os::unix::fs::symlink("/dev/zero", p).unwrap()),
            ),
        ];
        for (name, make) in makers {
            let f = d.join(name);
            fs::create_dir(&f).unwrap();
            make(&f.join(README_FILE));
            match held(&f, C) {
                Err(Foreign::BadReadme(m)) => assert!(m.contains("not a regular file"), "{m}"),
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn listing_a_missing_parent_finds_nothing_and_a_broken_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(nowhere().existing_slots().unwrap().is_empty());
        assert!(nowhere().temporaries().unwrap().is_empty());
        assert!(nowhere().slot_names_present().unwrap().is_empty());
        fs::write(dir.path().join("file"), "x").unwrap();
        let broken = SlotLayout::of(&dir.path().join("file/backup")).unwrap();
        assert!(broken.existing_slots().is_err());
        assert!(broken.temporaries().is_err());
        assert!(broken.slot_names_present().is_err());
        assert!(matches!(
            held(&dir.path().join("file/backup"), C),
            Err(Foreign::Unreadable(_))
        ));
        // Only folders count as existing slots; every entry at a slot name is present.
        let l = layout(dir.path());
        make_backup(&l.slot(0), &id(1));
        fs::write(l.slot(2), "x").unwrap();
        make_backup(&l.staging(&id(3)), &id(3));
        assert_eq!(l.existing_slots().unwrap(), vec![(0, l.slot(0))]);
        assert_eq!(
            l.slot_names_present().unwrap(),
            vec![(0, l.slot(0)), (2, l.slot(2))]
        );
        assert_eq!(l.temporaries().unwrap(), vec![l.staging(&id(3))]);
    }

    /// The empty `<NAME>` is removed with `rmdir` only: something written into it meanwhile
    /// stops the commit (and stays); if it vanished meanwhile, the commit goes on.
    #[test]
    fn the_empty_backup_folder_is_removed_only_while_empty() {
        let dir = tempfile::tempdir().unwrap();
        let layout = layout(dir.path());
        fs::create_dir(layout.slot(0)).unwrap();
        make_backup(&layout.staging(&id(1)), &id(1));
        let slot0 = layout.slot(0);
        let e = commit(&layout, &id(1), C, 3, &mut |s| {
            if s == Step::Checked {
                fs::write(slot0.join("late.txt"), "late").unwrap();
            }
            Ok(())
        })
        .unwrap_err();
        assert!(
            matches!(&e, SlotError::Io(io) if io.path == slot0 && io.source.kind() == io::ErrorKind::DirectoryNotEmpty),
            "{e}"
        );
        assert_eq!(fs::read_to_string(slot0.join("late.txt")).unwrap(), "late");
        fs::remove_file(slot0.join("late.txt")).unwrap();
        commit(&layout, &id(1), C, 3, &mut |s| {
            if s == Step::Checked {
                fs::remove_dir(&slot0).unwrap();
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(snapshot(dir.path()), map(&[("backup", id(1))]));
    }

    #[test]
    fn missing_staging_is_an_error_unless_committed() {
        let dir = tempfile::tempdir().unwrap();
        let layout = layout(dir.path());
        assert!(matches!(
            commit(&layout, &id(1), C, 3, &mut |_| Ok(())),
            Err(SlotError::StagingMissing { .. })
        ));
        fs::create_dir(layout.staging(&id(2))).unwrap();
        assert!(matches!(
            commit(&layout, &id(2), C, 3, &mut |_| Ok(())),
            Err(SlotError::StagingIncomplete(_))
        ));
        // Committed already (staging gone, slot 0 holds it): only step 4 runs, repeatably.
        run_backups(dir.path(), 3, 3);
        let before = snapshot(dir.path());
        let mut steps = Vec::new();
        commit(&layout, &id(3), C, 3, &mut |s| {
            steps.push(s);
            Ok(())
        })
        .unwrap();
        assert_eq!(steps, vec![Step::Checked]);
        assert_eq!(snapshot(dir.path()), before);
        // Slot 0 holds another backup: that is not this commit done.
        assert!(matches!(
            commit(&layout, &id(2), C, 3, &mut |_| Ok(())),
            Err(SlotError::StagingMissing { .. })
        ));
    }

    #[test]
    fn a_staging_folder_must_be_this_backup_of_this_component() {
        let dir = tempfile::tempdir().unwrap();
        let layout = layout(dir.path());
        run_backups(dir.path(), 2, 1);
        let staging = layout.staging(&id(5));
        let cases: [(&str, Maker); 4] = [
            ("other backup", Box::new(|p| make_backup(p, &id(6)))),
            (
                "other component",
                Box::new(|p| make_backup_of(p, &id(5), "lui")),
            ),
            (
                "incomplete",
                Box::new(|p| {
                    fs::create_dir_all(p).unwrap();
                    fs::write(p.join(README_FILE), readme_of(&id(5), C, false).render()).unwrap();
                }),
            ),
            (
                "no readme",
                Box::new(|p| {
                    fs::create_dir_all(p).unwrap();
                    fs::write(p.join("data"), "x").unwrap();
                }),
            ),
        ];
        for (what, make) in cases {
            make(&staging);
            let before = deep(dir.path());
            let e = commit(&layout, &id(5), C, 2, &mut |_| Ok(())).unwrap_err();
            match what {
                "incomplete" | "no readme" => {
                    assert!(matches!(e, SlotError::StagingIncomplete(_)), "{what}: {e}")
                }
                _ => assert!(
                    matches!(&e, SlotError::NotOwned(n) if n.path == staging),
                    "{what}: {e}"
                ),
            }
            assert_eq!(deep(dir.path()), before, "{what}");
            fs::remove_dir_all(&staging).unwrap();
        }
    }

    /// Something foreign at any slot name stops the commit before anything changes, whatever
    /// `keep` says (beyond it, within it, at the slot that would be dropped).
    #[test]
    fn foreign_things_at_slot_names_stop_the_commit_before_any_change() {
        let kinds: Vec<(&str, Maker)> = vec![
            (
                "folder without readme",
                Box::new(|p| {
                    fs::create_dir_all(p.join("photos")).unwrap();
                    fs::write(p.join("photos/1.jpg"), "jpg").unwrap();
                }),
            ),
            ("file", Box::new(|p| fs::write(p, "data").unwrap())),
            (
                "symlink to a backup",
                Box::new(|p| {
                    let target = p.with_file_name("elsewhere");
                    make_backup(&target, &id(40));
                    std::os::unix::fs::symlink(&target, p).unwrap();
                }),
            ),
            (
                "other component",
                Box::new(|p| make_backup_of(p, &id(41), "lui")),
            ),
            (
                "fifo readme",
                Box::new(|p| {
                    fs::create_dir_all(p).unwrap();
                    fifo(&p.join(README_FILE));
                }),
            ),
            ("bad id", Box::new(|p| make_backup(p, "not-an-id"))),
            ("empty folder", Box::new(|p| fs::create_dir_all(p).unwrap())),
        ];
        for (what, make) in &kinds {
            for (slot, keep) in [(7, 3), (2, 3), (3, 3), (1, 0), (0, 3)] {
                if *what == "empty folder" && slot == 0 {
                    continue; // an empty `<NAME>` is the accepted exception
                }
                let dir = tempfile::tempdir().unwrap();
                let layout = layout(dir.path());
                run_backups(dir.path(), 3, 4);
                fsutil::remove_tree(&layout.slot(slot)).unwrap();
                make(&layout.slot(slot));
                make_backup(&layout.staging(&id(9)), &id(9));
                let before = deep(dir.path());
                let e = commit(&layout, &id(9), C, keep, &mut |_| Ok(())).unwrap_err();
                match &e {
                    SlotError::NotOwned(n) => {
                        assert_eq!(n.path, layout.slot(slot), "{what} at {slot}");
                        assert_eq!(n.component, C);
                        let msg = e.to_string();
                        assert!(
                            msg.contains(&layout.slot(slot).display().to_string()),
                            "{msg}"
                        );
                    }
                    other => panic!("{what} at slot {slot}: {other}"),
                }
                assert_eq!(deep(dir.path()), before, "{what} at slot {slot}");
                assert_eq!(
                    check_slots(&layout, C).unwrap_err().to_string(),
                    e.to_string()
                );
            }
        }
    }

    #[test]
    fn an_empty_backup_folder_made_in_advance_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let layout = layout(dir.path());
        fs::create_dir(layout.slot(0)).unwrap();
        assert_eq!(check_slots(&layout, C).unwrap(), Held::EmptyFolder);
        make_backup(&layout.staging(&id(1)), &id(1));
        commit(&layout, &id(1), C, 3, &mut |_| Ok(())).unwrap();
        assert_eq!(snapshot(dir.path()), map(&[("backup", id(1))]));
        assert!(matches!(
            check_slots(&layout, C).unwrap(),
            Held::Backup(r) if r.backup_id == id(1)
        ));
        assert_eq!(check_slots(&nowhere(), C).unwrap(), Held::Nothing);
    }

    fn nowhere() -> SlotLayout {
        SlotLayout::of(Path::new("/nonexistent/for/sure/backup")).unwrap()
    }

    /// Each slot is checked again right before its own rename or drop: a slot replaced by
    /// something foreign after step 0 stops the rotation there, and nothing foreign moves.
    #[test]
    fn each_slot_is_checked_again_right_before_it_moves() {
        // (keep, slots present before, step after which slot `victim` turns foreign)
        let cases: [(u32, u32, Step, u32); 4] = [
            (2, 3, Step::Checked, 2),           // the oldest, about to be dropped
            (3, 3, Step::Shifted { to: 3 }, 1), // a slot about to be shifted
            (3, 3, Step::Checked, 2),           // the first shift
            (1, 4, Step::StagingRenamed, 3),    // a slot above keep, about to be dropped
        ];
        for (keep, present, after, victim) in cases {
            let dir = tempfile::tempdir().unwrap();
            let layout = layout(dir.path());
            for k in 0..present {
                make_backup(&layout.slot(k), &id(20 + k));
            }
            make_backup(&layout.staging(&id(9)), &id(9));
            let target = layout.slot(victim);
            let e = commit(&layout, &id(9), C, keep, &mut |s| {
                if s == after {
                    fs::remove_file(target.join(README_FILE)).unwrap();
                }
                Ok(())
            })
            .unwrap_err();
            assert!(
                matches!(&e, SlotError::NotOwned(n) if n.path == target && n.why == Foreign::NoReadme),
                "{after:?}: {e}"
            );
            assert_eq!(
                fs::read_to_string(target.join("data.txt")).unwrap(),
                id(20 + victim),
                "{after:?}: the foreign folder stays where it was"
            );
        }
    }

    #[test]
    fn a_slot_that_disappears_during_the_rotation_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let layout = layout(dir.path());
        for k in 0..3 {
            make_backup(&layout.slot(k), &id(20 + k));
        }
        make_backup(&layout.staging(&id(9)), &id(9));
        let gone = layout.slot(1);
        let e = commit(&layout, &id(9), C, 3, &mut |s| {
            if s == (Step::Shifted { to: 3 }) {
                fs::remove_dir_all(&gone).unwrap();
            }
            Ok(())
        })
        .unwrap_err();
        assert!(
            matches!(&e, SlotError::Io(io) if io.path == gone && io.source.kind() == io::ErrorKind::NotFound),
            "{e}"
        );
    }

    #[test]
    fn renames_never_replace_what_appeared_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let layout = layout(dir.path());
        for k in 0..3 {
            make_backup(&layout.slot(k), &id(20 + k));
        }
        make_backup(&layout.staging(&id(9)), &id(9));
        // After 2 -> 3, slot 2 is free; an empty folder planted there must not be replaced.
        let planted = layout.slot(2);
        let e = commit(&layout, &id(9), C, 3, &mut |s| {
            if s == (Step::Shifted { to: 3 }) {
                fs::create_dir(&planted).unwrap();
            }
            Ok(())
        })
        .unwrap_err();
        assert!(
            matches!(&e, SlotError::Io(io) if io.source.kind() == io::ErrorKind::AlreadyExists),
            "{e}"
        );
        assert!(planted.is_dir());
        assert_eq!(readme_id(&layout.slot(1)), id(21));
        assert_eq!(readme_id(&layout.slot(3)), id(22));
    }

    fn readme_id(folder: &Path) -> String {
        Readme::read_from(folder).unwrap().backup_id
    }

    #[test]
    fn only_this_backups_trash_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let layout = layout(dir.path());
        run_backups(dir.path(), 2, 2);
        let mine = layout.trash(&id(9), 4);
        let theirs = layout.trash(&id(8), 4);
        let odd = dir.path().join("backup.trash-notes");
        for p in [&mine, &theirs, &odd] {
            fs::create_dir_all(p.join("x")).unwrap();
        }
        make_backup(&layout.staging(&id(9)), &id(9));
        commit(&layout, &id(9), C, 2, &mut |_| Ok(())).unwrap();
        assert!(!mine.exists());
        assert!(theirs.join("x").is_dir() && odd.join("x").is_dir());
    }

    #[test]
    fn remove_staging_removes_only_this_backups_staging() {
        let dir = tempfile::tempdir().unwrap();
        let layout = layout(dir.path());
        // Nothing there: fine, also without the parent folder.
        remove_staging(&nowhere(), &id(1), C).unwrap();
        remove_staging(&layout, &id(1), C).unwrap();
        // Its own staging (complete or not) and helpers go; other backups' helpers stay.
        let staging = layout.staging(&id(1));
        fs::create_dir_all(&staging).unwrap();
        fs::write(
            staging.join(README_FILE),
            readme_of(&id(1), C, false).render(),
        )
        .unwrap();
        fs::write(staging.join("big.bin"), "x").unwrap();
        for p in [
            layout.failed_new(&id(1)),
            layout.failed_old(&id(1)),
            layout.trash_of_staging(&id(1)),
            layout.failed_new(&id(2)),
            layout.staging(&id(2)),
        ] {
            fs::create_dir_all(p.join("x")).unwrap();
        }
        remove_staging(&layout, &id(1), C).unwrap();
        let left: Vec<String> = snapshot(dir.path()).into_keys().collect();
        assert_eq!(
            left,
            [
                format!("backup.staging-{}", id(2)),
                format!("backup.staging-{}.failed-new", id(2)),
            ]
        );
        // An empty staging folder (a crash right after it was created) goes too.
        fs::create_dir(&staging).unwrap();
        remove_staging(&layout, &id(1), C).unwrap();
        assert!(!staging.exists());
        // Anything else at its name stays, and is the error.
        let cases: [(&str, Maker); 4] = [
            ("another backup", Box::new(|p| make_backup(p, &id(3)))),
            (
                "another component",
                Box::new(|p| make_backup_of(p, &id(1), "lui")),
            ),
            (
                "no readme",
                Box::new(|p| {
                    fs::create_dir_all(p).unwrap();
                    fs::write(p.join("data"), "x").unwrap();
                }),
            ),
            ("a file", Box::new(|p| fs::write(p, "x").unwrap())),
        ];
        for (what, make) in cases {
            make(&staging);
            let before = deep(dir.path());
            let e = remove_staging(&layout, &id(1), C).unwrap_err();
            assert!(
                matches!(&e, SlotError::NotOwned(n) if n.path == staging),
                "{what}: {e}"
            );
            assert_eq!(deep(dir.path()), before, "{what}");
            fsutil::remove_tree(&staging).unwrap();
        }
    }

    fn failed_readme(id: &str) -> Readme {
        Readme {
            errors: vec!["boom".into()],
            ..readme_of(id, C, false)
        }
    }

    #[test]
    fn write_failed_replaces_previous() {
        let dir = tempfile::tempdir().unwrap();
        let layout = layout(dir.path());
        write_failed(&layout, &id(1), &failed_readme(&id(1))).unwrap();
        write_failed(&layout, &id(2), &failed_readme(&id(2))).unwrap();
        assert_eq!(snapshot(dir.path()), map(&[("backup.failed", id(2))]));
        assert_eq!(
            fs::read_dir(layout.failed()).unwrap().count(),
            1,
            "only readme.txt"
        );
        assert_eq!(
            Readme::read_from(&layout.failed()).unwrap(),
            failed_readme(&id(2))
        );
        // Leftover helpers of this backup (a crash while writing) are replaced too.
        fs::create_dir_all(layout.failed_new(&id(3)).join("x")).unwrap();
        fs::create_dir_all(layout.failed_old(&id(3)).join("x")).unwrap();
        write_failed(&layout, &id(3), &failed_readme(&id(3))).unwrap();
        assert_eq!(snapshot(dir.path()), map(&[("backup.failed", id(3))]));
        // An empty `.failed` is replaced as well.
        fs::remove_dir_all(layout.failed()).unwrap();
        fs::create_dir(layout.failed()).unwrap();
        write_failed(&layout, &id(4), &failed_readme(&id(4))).unwrap();
        assert_eq!(snapshot(dir.path()), map(&[("backup.failed", id(4))]));
    }

    #[test]
    fn write_failed_creates_a_missing_parent() {
        let dir = tempfile::tempdir().unwrap();
        let layout = SlotLayout::of(&dir.path().join("new/deeper/backup")).unwrap();
        write_failed(&layout, &id(1), &failed_readme(&id(1))).unwrap();
        assert_eq!(
            Readme::read_from(&layout.failed()).unwrap().backup_id,
            id(1)
        );
    }

    #[test]
    fn write_failed_leaves_a_foreign_failed_folder_alone() {
        let cases: [(&str, Maker); 4] = [
            (
                "another component",
                Box::new(|p| make_backup_of(p, &id(1), "lui")),
            ),
            (
                "no readme",
                Box::new(|p| {
                    fs::create_dir_all(p).unwrap();
                    fs::write(p.join("notes.txt"), "mine").unwrap();
                }),
            ),
            ("a file", Box::new(|p| fs::write(p, "x").unwrap())),
            (
                "a link",
                Box::new(|p| {
                    let t = p.with_file_name("target");
                    make_backup(&t, &id(1));
                    std::os::unix::fs::symlink(&t, p).unwrap();
                }),
            ),
        ];
        for (what, make) in cases {
            let dir = tempfile::tempdir().unwrap();
            let layout = layout(dir.path());
            make(&layout.failed());
            let before = deep(dir.path());
            let e = write_failed(&layout, &id(2), &failed_readme(&id(2))).unwrap_err();
            assert!(
                matches!(&e, SlotError::NotOwned(n) if n.path == layout.failed()),
                "{what}: {e}"
            );
            assert_eq!(deep(dir.path()), before, "{what}");
        }
    }

    #[test]
    fn foreign_entries_lists_every_problem_of_an_area() {
        let dir = tempfile::tempdir().unwrap();
        let layout = layout(dir.path());
        assert!(foreign_entries(&layout, C).unwrap().is_empty());
        assert!(foreign_entries(&nowhere(), C).unwrap().is_empty());
        fs::create_dir(layout.slot(0)).unwrap();
        fs::create_dir(layout.failed()).unwrap();
        assert!(
            foreign_entries(&layout, C).unwrap().is_empty(),
            "empty is fine there"
        );
        make_backup(&layout.slot(1), &id(1));
        fs::create_dir(layout.slot(2)).unwrap();
        fs::create_dir_all(layout.slot(7).join("x")).unwrap();
        fs::remove_dir(layout.failed()).unwrap();
        make_backup_of(&layout.failed(), &id(1), "lui");
        // Temporary names and unrelated names are not judged here.
        fs::create_dir_all(layout.staging("x").join("y")).unwrap();
        fs::create_dir_all(dir.path().join("backups/y")).unwrap();
        let found: Vec<(PathBuf, Foreign)> = foreign_entries(&layout, C)
            .unwrap()
            .into_iter()
            .map(|n| (n.path, n.why))
            .collect();
        assert_eq!(
            found,
            vec![
                (layout.slot(2), Foreign::Empty),
                (layout.slot(7), Foreign::NoReadme),
                (layout.failed(), Foreign::OtherComponent("lui".into())),
            ]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        /// Crash after any step, re-run: same result as an uninterrupted run.
        #[test]
        fn crash_anywhere_then_rerun_equals_clean_run(
            present in prop::collection::vec(any::<bool>(), 0..7),
            keep in 0u32..5,
            crash_at in 0usize..16,
        ) {
            let new = id(50);
            let make = |root: &Path| {
                let layout = layout(root);
                for (k, p) in present.iter().enumerate() {
                    if *p {
                        make_backup(&layout.slot(k as u32), &id(k as u32));
                    }
                }
                make_backup(&layout.staging(&new), &new);
                layout
            };
            let clean = tempfile::tempdir().unwrap();
            let l = make(clean.path());
            commit(&l, &new, C, keep, &mut |_| Ok(())).unwrap();
            let want = snapshot(clean.path());

            let crashed = tempfile::tempdir().unwrap();
            let l = make(crashed.path());
            let mut n = 0usize;
            let first = commit(&l, &new, C, keep, &mut |_| {
                n += 1;
                if n > crash_at { Err(SlotError::SimulatedCrash) } else { Ok(()) }
            });
            if first.is_err() {
                // A second crash at the same point, then a clean run.
                let mut m = 0usize;
                let _ = commit(&l, &new, C, keep, &mut |_| {
                    m += 1;
                    if m > crash_at / 2 { Err(SlotError::SimulatedCrash) } else { Ok(()) }
                });
                commit(&l, &new, C, keep, &mut |_| Ok(())).unwrap();
            }
            // Idempotent: another run changes nothing.
            commit(&l, &new, C, keep, &mut |_| Ok(())).unwrap();
            prop_assert_eq!(snapshot(crashed.path()), want.clone());
            prop_assert_eq!(want.get("backup"), Some(&new));
            prop_assert!(want.keys().all(|k| l.slot_index(OsStr::new(k)).is_some_and(|i| i <= keep)));
        }
    }
}
