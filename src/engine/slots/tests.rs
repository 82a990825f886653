//! Tests of the slot layout and the rotation: commits, crashes at every step, ownership.

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
        changed: Default::default(),
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

/// Commits backup 9 over three slots, running `meanwhile` once slot 2 moved to 3 (as if
/// someone changed the folders during the rotation); the commit must fail: its error.
fn commit_disturbed(layout: &SlotLayout, meanwhile: impl Fn()) -> SlotError {
    for k in 0..3 {
        make_backup(&layout.slot(k), &id(20 + k));
    }
    make_backup(&layout.staging(&id(9)), &id(9));
    commit(layout, &id(9), C, 3, &mut |s| {
        if s == (Step::Shifted { to: 3 }) {
            meanwhile();
        }
        Ok(())
    })
    .unwrap_err()
}

#[test]
fn a_slot_that_disappears_during_the_rotation_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let layout = layout(dir.path());
    let gone = layout.slot(1);
    let e = commit_disturbed(&layout, || fs::remove_dir_all(&gone).unwrap());
    assert!(
        matches!(&e, SlotError::Io(io) if io.path == gone && io.source.kind() == io::ErrorKind::NotFound),
        "{e}"
    );
}

#[test]
fn renames_never_replace_what_appeared_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let layout = layout(dir.path());
    // After 2 -> 3, slot 2 is free; an empty folder planted there must not be replaced.
    let planted = layout.slot(2);
    let e = commit_disturbed(&layout, || fs::create_dir(&planted).unwrap());
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
        changed: Default::default(),
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
