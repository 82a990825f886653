//! History slots of one component (`backup`, `backup1` .. `backup<keep>`, Maestro admin manual, table 11-1) and
//! the crash-safe, idempotent rotation that turns a staging folder into the new `backup`.
//!
//! Rotation with keep = N (slot 0 = `<NAME>`, slot k = `<NAME><k>`), after the staging folder
//! `<NAME>.staging-<ID>` is complete and durable:
//! 1. j = the lowest index in 0..=N whose slot is missing; if none, slot N is dropped (renamed
//!    to `<NAME>.trash-<ID>-<N>`, then deleted) and j = N;
//! 2. for k = j down to 1: rename slot k-1 to slot k;
//! 3. rename the staging folder to slot 0;
//! 4. drop the slots above N (keep was lowered; only `<NAME><k>` with k in N+1..=100) and any
//!    leftover `<NAME>.trash-*`.
//!
//! The parent folder is fsynced after every rename. Each rename moves the lowest missing index
//! up by one, so running the procedure again after a crash at any step computes the same j it
//! was at and finishes the job; when the staging folder is already gone and slot 0's readme
//! carries this ID, only step 4 remains. Deleting always happens under a trash name, so a
//! half-deleted tree never looks like a slot.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::fsutil::{self, IoContext, IoError};
use super::readme::{Readme, ReadmeError, README_FILE};

/// Re-exported: a slot as `/components/{name}/history` shows it.
pub use crate::store::SlotInfo;

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
    #[error("cannot commit: staging folder {} is incomplete (no readme.txt)", .0.display())]
    StagingIncomplete(PathBuf),
    #[error(transparent)]
    Readme(#[from] ReadmeError),
    /// Returned by a step hook to simulate a crash (tests).
    #[error("simulated crash")]
    SimulatedCrash,
}

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
        if rest[0] == b'0' || !rest.iter().all(u8::is_ascii_digit) || rest.len() > 3 {
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

    pub fn trash(&self, id: &str, k: u32) -> PathBuf {
        self.named(&format!(".trash-{id}-{k}"))
    }

    /// True for names the engine creates only temporarily: `<NAME>.staging-*`, `<NAME>.trash-*`.
    pub fn is_temporary(&self, file_name: &OsStr) -> bool {
        match file_name.as_bytes().strip_prefix(self.name.as_bytes()) {
            Some(rest) => rest.starts_with(b".staging-") || rest.starts_with(b".trash-"),
            None => false,
        }
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
}

/// A point in the rotation, reported to the step hook after it happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
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

fn rename_synced(layout: &SlotLayout, from: &Path, to: &Path) -> Result<(), IoError> {
    fs::rename(from, to).map_err(|e| {
        IoError::new(
            "renaming",
            from,
            io::Error::new(e.kind(), format!("to {}: {e}", to.display())),
        )
    })?;
    fsutil::fsync_dir(&layout.parent)
}

/// Runs (or finishes) the rotation for backup `id` with `keep` previous backups. `on_step` is
/// called after each step; an error from it stops the procedure there (crash simulation and
/// the `abort_mid_rotation` fault).
pub fn commit(
    layout: &SlotLayout,
    id: &str,
    keep: u32,
    on_step: &mut dyn FnMut(Step) -> Result<(), SlotError>,
) -> Result<(), SlotError> {
    let keep = keep.min(MAX_SLOT);
    let staging = layout.staging(id);
    if fsutil::exists_nofollow(&staging) {
        if !fsutil::exists_nofollow(&staging.join(README_FILE)) {
            return Err(SlotError::StagingIncomplete(staging));
        }
        let j = match (0..=keep).find(|&k| !fsutil::exists_nofollow(&layout.slot(k))) {
            Some(j) => j,
            None => {
                let trash = layout.trash(id, keep);
                fsutil::remove_tree(&trash)?;
                rename_synced(layout, &layout.slot(keep), &trash)?;
                on_step(Step::DroppedOldest)?;
                fsutil::remove_tree(&trash)?;
                on_step(Step::TrashRemoved)?;
                keep
            }
        };
        for k in (1..=j).rev() {
            rename_synced(layout, &layout.slot(k - 1), &layout.slot(k))?;
            on_step(Step::Shifted { to: k })?;
        }
        on_step(Step::BeforeStagingRename)?;
        rename_synced(layout, &staging, &layout.slot(0))?;
        on_step(Step::StagingRenamed)?;
    } else {
        let slot0 = layout.slot(0);
        match Readme::read_from(&slot0) {
            Ok(r) if r.backup_id == id => {}
            _ => {
                return Err(SlotError::StagingMissing {
                    id: id.to_string(),
                    staging,
                    slot0,
                })
            }
        }
    }
    // Step 4: slots above keep, then leftover trash.
    for (k, path) in layout.existing_slots()? {
        if k > keep {
            let trash = layout.trash(id, k);
            fsutil::remove_tree(&trash)?;
            rename_synced(layout, &path, &trash)?;
            on_step(Step::DroppedExtra { k })?;
            fsutil::remove_tree(&trash)?;
            on_step(Step::TrashRemoved)?;
        }
    }
    let mut trash_prefix = layout.name.clone();
    trash_prefix.push(".trash-");
    for path in layout.temporaries()? {
        let is_trash = path
            .file_name()
            .map(|n| n.as_bytes().starts_with(trash_prefix.as_bytes()))
            .unwrap_or(false);
        if is_trash {
            fsutil::remove_tree(&path)?;
        }
    }
    Ok(())
}

/// Removes the staging folder of `id` (and its helper folders) if present.
pub fn remove_staging(layout: &SlotLayout, id: &str) -> Result<(), IoError> {
    let staging = layout.staging(id);
    fsutil::remove_tree(&staging)?;
    for path in layout.temporaries()? {
        let name = path
            .file_name()
            .map(OsStr::to_os_string)
            .unwrap_or_default();
        let mut prefix = staging
            .file_name()
            .map(OsStr::to_os_string)
            .unwrap_or_default();
        prefix.push(".");
        if name.as_bytes().starts_with(prefix.as_bytes()) {
            fsutil::remove_tree(&path)?;
        }
    }
    if fsutil::exists_nofollow(&layout.parent) {
        fsutil::fsync_dir(&layout.parent)?;
    }
    Ok(())
}

/// Replaces `<NAME>.failed` with a folder holding only `readme`. Built beside it under a
/// `<NAME>.staging-<ID>.` name first, so a crash leaves either the old or the new one (plus a
/// temporary folder that recovery removes).
pub fn write_failed(layout: &SlotLayout, id: &str, readme: &Readme) -> Result<(), IoError> {
    if !fsutil::exists_nofollow(&layout.parent) {
        fs::create_dir_all(&layout.parent).ctx("creating folder", &layout.parent)?;
    }
    let new = layout.named(&format!(".staging-{id}.failed-new"));
    let old = layout.named(&format!(".staging-{id}.failed-old"));
    fsutil::remove_tree(&new)?;
    fsutil::remove_tree(&old)?;
    fs::create_dir(&new).ctx("creating folder", &new)?;
    fsutil::write_new_synced(&new.join(README_FILE), readme.render().as_bytes())?;
    fsutil::fsync_dir(&new)?;
    let failed = layout.failed();
    if fsutil::exists_nofollow(&failed) {
        rename_synced(layout, &failed, &old)?;
    }
    rename_synced(layout, &new, &failed)?;
    fsutil::remove_tree(&old)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    pub(crate) fn make_backup(dir: &Path, id: &str) {
        fs::create_dir_all(dir).unwrap();
        let r = Readme {
            backup_id: id.into(),
            component: "c".into(),
            started: None,
            finished: None,
            success: true,
            errors: vec![],
        };
        fs::write(dir.join(README_FILE), r.render()).unwrap();
        fs::write(dir.join("data.txt"), id).unwrap();
    }

    /// Every entry of the parent folder with the backup ID its readme holds.
    pub(crate) fn snapshot(parent: &Path) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        for e in fs::read_dir(parent).unwrap() {
            let e = e.unwrap();
            let id = Readme::read_from(&e.path())
                .map(|r| r.backup_id)
                .unwrap_or_else(|_| "?".into());
            m.insert(e.file_name().to_string_lossy().into_owned(), id);
        }
        m
    }

    fn run_backups(parent: &Path, keep: u32, days: u32) {
        let layout = SlotLayout::of(&parent.join("backup")).unwrap();
        for day in 1..=days {
            let id = format!("day{day}");
            make_backup(&layout.staging(&id), &id);
            commit(&layout, &id, keep, &mut |_| Ok(())).unwrap();
        }
    }

    #[test]
    fn table_11_1() {
        let dir = tempfile::tempdir().unwrap();
        let expected: &[&[(&str, &str)]] = &[
            &[("backup", "day1")],
            &[("backup", "day2"), ("backup1", "day1")],
            &[("backup", "day3"), ("backup1", "day2"), ("backup2", "day1")],
            &[
                ("backup", "day4"),
                ("backup1", "day3"),
                ("backup2", "day2"),
                ("backup3", "day1"),
            ],
            &[
                ("backup", "day5"),
                ("backup1", "day4"),
                ("backup2", "day3"),
                ("backup3", "day2"),
            ],
        ];
        let layout = SlotLayout::of(&dir.path().join("backup")).unwrap();
        for (i, want) in expected.iter().enumerate() {
            let id = format!("day{}", i + 1);
            make_backup(&layout.staging(&id), &id);
            commit(&layout, &id, 3, &mut |_| Ok(())).unwrap();
            let want: BTreeMap<String, String> = want
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
            assert_eq!(snapshot(dir.path()), want, "after day {}", i + 1);
        }
        assert!(!dir.path().join("backup4").exists());
    }

    #[test]
    fn keep_zero_keeps_only_backup() {
        let dir = tempfile::tempdir().unwrap();
        run_backups(dir.path(), 0, 4);
        let s = snapshot(dir.path());
        assert_eq!(s.len(), 1);
        assert_eq!(s["backup"], "day4");
    }

    #[test]
    fn lowering_keep_drops_extra_slots() {
        let dir = tempfile::tempdir().unwrap();
        run_backups(dir.path(), 5, 6);
        let layout = SlotLayout::of(&dir.path().join("backup")).unwrap();
        make_backup(&layout.staging("day7"), "day7");
        commit(&layout, "day7", 2, &mut |_| Ok(())).unwrap();
        let s = snapshot(dir.path());
        let want: BTreeMap<String, String> =
            [("backup", "day7"), ("backup1", "day6"), ("backup2", "day5")]
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
        assert_eq!(s, want);
    }

    #[test]
    fn unrelated_names_are_not_slots() {
        let layout = SlotLayout::of(Path::new("/x/backup")).unwrap();
        assert_eq!(layout.slot_index(OsStr::new("backup")), Some(0));
        assert_eq!(layout.slot_index(OsStr::new("backup12")), Some(12));
        assert_eq!(layout.slot_index(OsStr::new("backup012")), None);
        assert_eq!(layout.slot_index(OsStr::new("backup2024")), None);
        assert_eq!(layout.slot_index(OsStr::new("backup101")), None);
        assert_eq!(layout.slot_index(OsStr::new("backups")), None);
        assert!(layout.is_temporary(OsStr::new("backup.staging-X")));
        assert!(layout.is_temporary(OsStr::new("backup.trash-X-3")));
        assert!(!layout.is_temporary(OsStr::new("backup.failed")));
    }

    #[test]
    fn missing_staging_is_an_error_unless_committed() {
        let dir = tempfile::tempdir().unwrap();
        let layout = SlotLayout::of(&dir.path().join("backup")).unwrap();
        assert!(matches!(
            commit(&layout, "x", 3, &mut |_| Ok(())),
            Err(SlotError::StagingMissing { .. })
        ));
        fs::create_dir(layout.staging("y")).unwrap();
        assert!(matches!(
            commit(&layout, "y", 3, &mut |_| Ok(())),
            Err(SlotError::StagingIncomplete(_))
        ));
    }

    #[test]
    fn write_failed_replaces_previous() {
        let dir = tempfile::tempdir().unwrap();
        let layout = SlotLayout::of(&dir.path().join("backup")).unwrap();
        let mut r = Readme {
            backup_id: "a".into(),
            component: "c".into(),
            started: None,
            finished: None,
            success: false,
            errors: vec!["boom".into()],
        };
        write_failed(&layout, "a", &r).unwrap();
        r.backup_id = "b".into();
        write_failed(&layout, "b", &r).unwrap();
        let s = snapshot(dir.path());
        assert_eq!(s.len(), 1);
        assert_eq!(s["backup.failed"], "b");
        assert_eq!(
            fs::read_dir(layout.failed()).unwrap().count(),
            1,
            "only readme.txt"
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
            let make = |root: &Path| {
                let layout = SlotLayout::of(&root.join("backup")).unwrap();
                for (k, p) in present.iter().enumerate() {
                    if *p {
                        make_backup(&layout.slot(k as u32), &format!("old{k}"));
                    }
                }
                make_backup(&layout.staging("new"), "new");
                layout
            };
            let clean = tempfile::tempdir().unwrap();
            let l = make(clean.path());
            commit(&l, "new", keep, &mut |_| Ok(())).unwrap();
            let want = snapshot(clean.path());

            let crashed = tempfile::tempdir().unwrap();
            let l = make(crashed.path());
            let mut n = 0usize;
            let first = commit(&l, "new", keep, &mut |_| {
                n += 1;
                if n > crash_at { Err(SlotError::SimulatedCrash) } else { Ok(()) }
            });
            if first.is_err() {
                // A second crash at the same point, then a clean run.
                let mut m = 0usize;
                let _ = commit(&l, "new", keep, &mut |_| {
                    m += 1;
                    if m > crash_at / 2 { Err(SlotError::SimulatedCrash) } else { Ok(()) }
                });
                commit(&l, "new", keep, &mut |_| Ok(())).unwrap();
            }
            // Idempotent: another run changes nothing.
            commit(&l, "new", keep, &mut |_| Ok(())).unwrap();
            prop_assert_eq!(snapshot(crashed.path()), want.clone());
            prop_assert_eq!(want.get("backup").map(String::as_str), Some("new"));
            prop_assert!(want.keys().all(|k| l.slot_index(OsStr::new(k)).is_some_and(|i| i <= keep)));
        }
    }
}
