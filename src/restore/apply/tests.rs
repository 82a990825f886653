//! Tests of applying, committing and rolling back restores, on real folders.

use super::local::apply_steps;
use super::*;
use crate::engine::faults::PLANTED;
use crate::engine::{ComponentSpec, Profile};
use crate::restore::plan::{plan_component, PlanInput};
use crate::restore::record::{FolderOrigin, RestoreRecord};
use crate::toolkit::journal::JournalError;
use std::collections::BTreeMap;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::process::Command;
use std::sync::Mutex;

fn read(p: &Path) -> Vec<u8> {
    fs::read(p).unwrap_or_default()
}

struct MemJournal(Mutex<RestoreRecord>);

impl Journal<RestoreRecord> for MemJournal {
    fn update(&self, f: &mut dyn FnMut(&mut RestoreRecord)) -> Result<(), JournalError> {
        f(&mut self.0.lock().unwrap());
        Ok(())
    }
    fn snapshot(&self) -> RestoreRecord {
        self.0.lock().unwrap().clone()
    }
}

fn w(p: &Path, s: &str) {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, s).unwrap();
}

fn describe(p: &Path) -> String {
    let m = fs::symlink_metadata(p).unwrap();
    if m.file_type().is_symlink() {
        format!("link {}", fs::read_link(p).unwrap().display())
    } else if m.is_dir() {
        format!("dir {:o} {}.{}", m.mode(), m.mtime(), m.mtime_nsec())
    } else {
        format!(
            "file {:o} {}.{} ino{} {:?}",
            m.mode(),
            m.mtime(),
            m.mtime_nsec(),
            m.ino(),
            read(p)
        )
    }
}

/// Every entry under `root` (or `root` itself when it is no folder): type, content, mode
/// and mtime (folders too), link targets, inode.
fn tree(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for e in fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            if fs::symlink_metadata(&p).unwrap().is_dir() {
                walk(root, &p, out);
            }
            out.insert(rel, describe(&p));
        }
    }
    if fs::symlink_metadata(root).unwrap().is_dir() {
        walk(root, root, &mut out);
    }
    out.insert(".".into(), describe(root));
    out
}

/// A hub home and a verified backup folder of it (via the real sha256sum), then damage.
fn setup(root: &Path) -> (ComponentSpec, PathBuf) {
    let spec = ComponentSpec {
        name: "hub".into(),
        profile: Profile::MaestroHub,
        home: root.join("hub"),
        backup_folder: root.join("hub/backup"),
        keep: 1,
        items: vec![],
        consistency: Default::default(),
        read_point: None,
    };
    let h = &spec.home;
    w(&h.join("hub.ini"), "[Hub]\n");
    w(&h.join("accountreg/a.reg"), "a");
    w(&h.join("accountreg/deep/b.reg"), "b");
    fs::create_dir_all(h.join("hubreg/empty")).unwrap();
    symlink("../hub.ini", h.join("hubreg/link")).unwrap();
    fs::set_permissions(
        h.join("accountreg/a.reg"),
        fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    let b = spec.backup_folder.clone();
    fs::create_dir_all(&b).unwrap();
    let st = Command::new("cp")
        .arg("-a")
        .args(["hub.ini", "accountreg", "hubreg"])
        .arg(&b)
        .current_dir(h)
        .status()
        .unwrap();
    assert!(st.success());
    let sums = Command::new("sh")
        .arg("-c")
        .arg("find . -type f ! -name SHA256SUMS -printf '%P\\n' | sort | xargs -d '\\n' sha256sum > SHA256SUMS")
        .current_dir(&b)
        .status()
        .unwrap();
    assert!(sums.success());
    // Damage: a changed file, a stray file, a deleted folder.
    w(&h.join("hub.ini"), "[Hub]\nchanged\n");
    w(&h.join("accountreg/stray"), "stray");
    fs::remove_dir_all(h.join("hubreg")).unwrap();
    (spec, b)
}

fn record_for(plan: ComponentRestore) -> RestoreRecord {
    let mut r = RestoreRecord::blank(
        "R20261126T101500Z",
        "20261126T020000Z",
        RestoreStatus::Running,
        now(),
    );
    r.started_at = Some(now());
    r.components = vec![plan];
    r
}

fn plan_of(spec: &ComponentSpec, folder: &Path) -> ComponentRestore {
    plan_component(&PlanInput {
        restore_id: "R20261126T101500Z",
        spec,
        folder,
        origin: FolderOrigin::Slot,
        slot: Some("backup".into()),
    })
    .unwrap()
}

#[test]
fn apply_restores_exactly_and_keeps_the_safety_folder() {
    let root = tempfile::tempdir().unwrap();
    let (spec, b) = setup(root.path());
    let before_backup = tree(&b);
    let j = MemJournal(Mutex::new(record_for(plan_of(&spec, &b))));
    run(&j, &Faults::none());
    let rec = j.snapshot();
    assert_eq!(rec.status, RestoreStatus::Succeeded, "{rec:#?}");
    assert_eq!(rec.components[0].status, ComponentState::Restored);
    assert_eq!((rec.components[0].files, rec.components[0].bytes), (3, 8));
    for item in ["hub.ini", "accountreg", "hubreg"] {
        let mut want = tree(&b.join(item)).into_iter().collect::<Vec<_>>();
        let mut got = tree(&spec.home.join(item)).into_iter().collect::<Vec<_>>();
        // Inodes differ (copies, not links); compare without them.
        let strip = |v: &mut Vec<(String, String)>| {
            for (_, s) in v.iter_mut() {
                if let Some(i) = s.find(" ino") {
                    let end = s[i + 1..].find(' ').map(|e| i + 1 + e).unwrap_or(s.len());
                    s.replace_range(i..end, "");
                }
            }
        };
        strip(&mut want);
        strip(&mut got);
        assert_eq!(got, want, "{item}");
    }
    assert_eq!(
        fs::read(spec.home.join("hub.ini")).unwrap(),
        fs::read(b.join("hub.ini")).unwrap()
    );
    let ino = |p: PathBuf| fs::metadata(p).unwrap().ino();
    assert_ne!(ino(spec.home.join("hub.ini")), ino(b.join("hub.ini")));
    assert!(!spec.home.join("accountreg/stray").exists());
    // Kept for an undo, with its size: what the restore replaced (the changed hub.ini,
    // accountreg with its stray file).
    let safety = Path::new(&rec.components[0].safety_folder);
    assert_eq!(read(&safety.join("hub.ini")), b"[Hub]\nchanged\n");
    assert_eq!(read(&safety.join("accountreg/stray")), b"stray");
    let kept = rec.components[0].safety_copy.clone().unwrap();
    assert!(kept.is_kept());
    assert_eq!(kept.bytes, 14 + 1 + 1 + 5, "{kept:?}");
    assert_eq!(
        tree(&b),
        before_backup,
        "the backup folder is never changed"
    );
    assert!(rec.changed.iter().any(|p| p.ends_with("/hubreg")));
    assert!(rec.steps.iter().any(|s| s.action == StepAction::MovedAside
        && s.path.as_deref().is_some_and(|p| p.ends_with("accountreg"))));
}

#[test]
fn a_failure_after_the_copy_rolls_back_exactly() {
    let root = tempfile::tempdir().unwrap();
    let (spec, b) = setup(root.path());
    let before = tree(&spec.home);
    let j = MemJournal(Mutex::new(record_for(plan_of(&spec, &b))));
    let mut faults = Faults::none();
    faults.restore_fail_after.insert("hub".into());
    run(&j, &faults);
    let rec = j.snapshot();
    assert_eq!(rec.status, RestoreStatus::Failed, "{rec:#?}");
    assert_eq!(rec.components[0].status, ComponentState::RolledBack);
    assert!(rec.errors[0].contains("injected fault"), "{:?}", rec.errors);
    assert_eq!(tree(&spec.home), before, "rolled back exactly");
}

#[test]
fn rollback_is_idempotent_at_every_point() {
    let root = tempfile::tempdir().unwrap();
    let (spec, b) = setup(root.path());
    let before = tree(&spec.home);
    let plan = plan_of(&spec, &b);
    let j = MemJournal(Mutex::new(record_for(plan)));
    apply_component(&j, &Faults::none(), 0).unwrap();
    let applied = j.snapshot().components[0].clone();
    // Simulate a crash half-way through a rollback: put back only the first target by
    // hand, leave the rest, then run the rollback twice.
    let safety = PathBuf::from(&applied.safety_folder);
    let t = applied.targets();
    let last = Path::new(t.last().unwrap());
    let rel = last.strip_prefix(&spec.home).unwrap();
    if safety.join(rel).exists() {
        fsutil::remove_tree(last).unwrap();
        fs::rename(safety.join(rel), last).unwrap();
    }
    let mut n = 0;
    rollback_component(&applied, &Faults::none(), &mut |_| n += 1).unwrap();
    rollback_component(&applied, &Faults::none(), &mut |_| n += 1).unwrap();
    assert_eq!(tree(&spec.home), before);
    assert!(n > 0);
}

/// Component `name` (`profile`, `items`) with its home at `root/<name>` and its backup folder
/// setting at `root/<backup_folder>`.
fn spec_in(
    root: &Path,
    name: &str,
    profile: Profile,
    backup_folder: &str,
    items: &[&str],
) -> ComponentSpec {
    ComponentSpec {
        name: name.into(),
        profile,
        home: root.join(name),
        backup_folder: root.join(backup_folder),
        keep: 1,
        items: items.iter().map(|i| i.to_string()).collect(),
        consistency: Default::default(),
        read_point: None,
    }
}

/// Writes `files` (path, content) into `folder` and lists them in its `SHA256SUMS` with the
/// real sha256sum.
fn listed(folder: &Path, files: &[(&str, &str)]) {
    for (name, content) in files {
        w(&folder.join(name), content);
    }
    let st = Command::new("sha256sum")
        .args(files.iter().map(|(name, _)| name))
        .stdout(fs::File::create(folder.join("SHA256SUMS")).unwrap())
        .current_dir(folder)
        .status()
        .unwrap();
    assert!(st.success());
}

/// A tracker component `trk` under `root` and an old-style backup folder of it (`*.dat` files,
/// no `data/`) at `root/tape` holding `files`.
fn old_style_tracker(root: &Path, files: &[(&str, &str)]) -> (ComponentSpec, PathBuf) {
    let spec = spec_in(root, "trk", Profile::MaestroTracker, "trk/backup", &[]);
    let tape = root.join("tape");
    listed(&tape, files);
    (spec, tape)
}

#[test]
fn old_style_tracker_into_a_home_without_data_and_back() {
    let root = tempfile::tempdir().unwrap();
    let (spec, tape) = old_style_tracker(root.path(), &[("a.dat", "A"), ("tracker.ini", "[T]\n")]);
    w(&spec.home.join("tracker.ini"), "old");
    let before = tree(&spec.home);
    let plan = plan_of(&spec, &tape);
    // Fails after the copy: data/ created by the restore is removed again.
    let j = MemJournal(Mutex::new(record_for(plan.clone())));
    let mut faults = Faults::none();
    faults.restore_fail_after.insert("trk".into());
    run(&j, &faults);
    assert_eq!(j.snapshot().status, RestoreStatus::Failed);
    assert_eq!(tree(&spec.home), before);
    // Succeeds.
    let j = MemJournal(Mutex::new(record_for(plan)));
    run(&j, &Faults::none());
    assert_eq!(j.snapshot().status, RestoreStatus::Succeeded);
    assert_eq!(fs::read(spec.home.join("data/a.dat")).unwrap(), b"A");
    assert_eq!(fs::read(spec.home.join("tracker.ini")).unwrap(), b"[T]\n");
}

#[test]
fn custom_nested_item_into_a_missing_folder_and_back() {
    let root = tempfile::tempdir().unwrap();
    let spec = spec_in(
        root.path(),
        "app",
        Profile::Custom,
        "app-backup",
        &["conf/app.ini", "data/"],
    );
    let b = spec.backup_folder.clone();
    listed(&b, &[("conf/app.ini", "[app]\n"), ("data/x", "x")]);
    w(&spec.home.join("data/old"), "old");
    w(&spec.home.join("other.txt"), "not an item");
    let before = tree(&spec.home);
    let plan = plan_of(&spec, &b);
    assert_eq!(
        plan.create_dirs,
        vec![spec.home.join("conf").display().to_string()]
    );
    let mut faults = Faults::none();
    faults.restore_fail_after.insert("app".into());
    let j = MemJournal(Mutex::new(record_for(plan.clone())));
    run(&j, &faults);
    assert_eq!(j.snapshot().status, RestoreStatus::Failed);
    assert_eq!(
        tree(&spec.home),
        before,
        "conf/ created by the restore is gone"
    );
    let j = MemJournal(Mutex::new(record_for(plan)));
    run(&j, &Faults::none());
    let rec = j.snapshot();
    assert_eq!(rec.status, RestoreStatus::Succeeded, "{rec:#?}");
    assert_eq!(read(&spec.home.join("conf/app.ini")), b"[app]\n");
    assert_eq!(read(&spec.home.join("data/x")), b"x");
    assert!(!spec.home.join("data/old").exists());
    assert_eq!(read(&spec.home.join("other.txt")), b"not an item");
    assert_eq!(rec.components[0].files, 2);
}

#[test]
fn a_file_changed_after_verification_fails_the_copy() {
    let root = tempfile::tempdir().unwrap();
    let (spec, b) = setup(root.path());
    let plan = plan_of(&spec, &b);
    w(&b.join("accountreg/a.reg"), "tampered");
    let before = tree(&spec.home);
    let j = MemJournal(Mutex::new(record_for(plan)));
    run(&j, &Faults::none());
    let rec = j.snapshot();
    assert_eq!(rec.status, RestoreStatus::Failed);
    assert!(
        rec.errors[0].contains("changed since the folder was verified"),
        "{:?}",
        rec.errors
    );
    assert_eq!(tree(&spec.home), before);
}

#[test]
fn append_line_rules() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("lui.ini");
    fs::write(&p, "[LUI]\nA=1").unwrap();
    append_line(&p, "RestoreFromBackup=/b").unwrap();
    assert_eq!(read(&p), b"[LUI]\nA=1\nRestoreFromBackup=/b\n");
    fs::write(&p, "[LUI]\r\nrestorefrombackup = /old\r\nA=1\r\n").unwrap();
    append_line(&p, "RestoreFromBackup=/b").unwrap();
    assert_eq!(read(&p), b"[LUI]\r\nA=1\r\nRestoreFromBackup=/b\r\n");
    let l = dir.path().join("link.ini");
    symlink(&p, &l).unwrap();
    assert!(append_line(&l, "RestoreFromBackup=/b").is_err());
}

// Ownership: what a rollback or a cleanup may touch (issue 23).

/// hub applied (not committed): hub.ini and accountreg moved aside, hubreg (missing in
/// the home) copied in. Returns the spec, the home as it was before and the journal.
/// A hub component applied (not committed) under `root` ([`setup`]).
struct Applied {
    spec: ComponentSpec,
    /// The home before the restore ([`tree`]).
    before: BTreeMap<String, String>,
    j: MemJournal,
    /// The component as recorded once applied.
    c: ComponentRestore,
    /// Its safety folder.
    safety: PathBuf,
}

fn applied(root: &Path) -> Applied {
    let (spec, b) = setup(root);
    let before = tree(&spec.home);
    let j = MemJournal(Mutex::new(record_for(plan_of(&spec, &b))));
    apply_component(&j, &Faults::none(), 0).unwrap();
    let c = &j.snapshot().components[0];
    let h = spec.home.display().to_string();
    assert_eq!(
        c.remove,
        [format!("{h}/accountreg"), format!("{h}/hub.ini")]
    );
    assert_eq!(c.moved_aside.len(), 2);
    assert!(c.safety_created.is_some());
    assert_eq!(c.copy_started.len(), 3);
    let c = c.clone();
    let safety = PathBuf::from(&c.safety_folder);
    Applied {
        spec,
        before,
        j,
        c,
        safety,
    }
}

/// [`tree`] without the root itself (whose mtime a test's own changes move).
fn entries(root: &Path) -> BTreeMap<String, String> {
    entries_of(tree(root))
}

fn entries_of(mut t: BTreeMap<String, String>) -> BTreeMap<String, String> {
    t.remove(".");
    t
}

fn rollback(c: &ComponentRestore) -> Result<Vec<StepAction>, Vec<String>> {
    let mut steps = Vec::new();
    rollback_component(c, &Faults::none(), &mut |s| steps.push(s.action)).map(|()| steps)
}

#[test]
fn a_safety_folder_made_by_something_else_stops_the_restore_before_any_change() {
    let root = tempfile::tempdir().unwrap();
    let (spec, b) = setup(root.path());
    let plan = plan_of(&spec, &b);
    // Between the plan and the apply, something else makes a folder of that name.
    let planted = PathBuf::from(&plan.safety_folder);
    w(&planted.join("accountreg/a.reg"), "planted");
    w(&planted.join("hub.ini"), "planted");
    let before = tree(&spec.home);
    let j = MemJournal(Mutex::new(record_for(plan)));
    run(&j, &Faults::none());
    let rec = j.snapshot();
    assert_eq!(rec.status, RestoreStatus::Failed);
    assert!(
        rec.errors[0].contains("exists already")
            && rec.errors[0].contains(&planted.display().to_string()),
        "{:?}",
        rec.errors
    );
    let c = &rec.components[0];
    assert_eq!(c.status, ComponentState::RolledBack, "{:?}", c.errors);
    assert!(c.safety_created.is_none() && c.moved_aside.is_empty());
    assert!(c.copy_started.is_empty());
    assert_eq!(tree(&spec.home), before, "the home and the planted folder");
    // The fault plants the same way, at the apply.
    fs::remove_dir_all(&planted).unwrap();
    let before = tree(&spec.home);
    let j = MemJournal(Mutex::new(record_for(plan_of(&spec, &b))));
    let faults = Faults::parse("restore_plant_safety:hub").unwrap();
    run(&j, &faults);
    assert_eq!(j.snapshot().status, RestoreStatus::Failed);
    assert_eq!(read(&planted.join("hub.ini")), PLANTED.as_bytes());
    assert_eq!(
        read(&planted.join("accountreg").join(PLANTED)),
        PLANTED.as_bytes()
    );
    fs::remove_dir_all(&planted).unwrap();
    assert_eq!(entries(&spec.home), entries_of(before));
}

#[test]
fn rollback_leaves_an_unexpected_entry_of_the_safety_folder_alone() {
    let root = tempfile::tempdir().unwrap();
    let Applied {
        spec,
        before,
        c,
        safety,
        ..
    } = applied(root.path());
    // The entry for accountreg is replaced by another folder of the same kind.
    fs::rename(safety.join("accountreg"), root.path().join("kept")).unwrap();
    w(&safety.join("accountreg/a.reg"), "impostor");
    let impostor = tree(&safety.join("accountreg"));
    let live = tree(&spec.home.join("accountreg"));
    let errors = rollback(&c).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains(&format!("{}/accountreg is not what", safety.display())),
        "{errors:?}"
    );
    assert_eq!(tree(&safety.join("accountreg")), impostor, "left alone");
    assert_eq!(
        tree(&spec.home.join("accountreg")),
        live,
        "the live item stays"
    );
    // The rest is put back: hub.ini is the original, hubreg (copied in) is gone.
    assert_eq!(read(&spec.home.join("hub.ini")), b"[Hub]\nchanged\n");
    assert!(!spec.home.join("hubreg").exists());
    assert!(safety.exists(), "the safety folder is kept");
    // Once the original is back in place, the rollback completes exactly.
    fsutil::remove_tree(&safety.join("accountreg")).unwrap();
    fs::rename(root.path().join("kept"), safety.join("accountreg")).unwrap();
    rollback(&c).unwrap();
    assert_eq!(tree(&spec.home), before);
}

#[test]
fn rollback_reports_a_missing_original_and_keeps_the_live_item() {
    let root = tempfile::tempdir().unwrap();
    let Applied {
        spec, c, safety, ..
    } = applied(root.path());
    fs::remove_file(safety.join("hub.ini")).unwrap();
    let live = read(&spec.home.join("hub.ini"));
    assert_eq!(live, b"[Hub]\n", "the restored file");
    let errors = rollback(&c).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("the original of") && errors[0].contains("hub.ini"),
        "{errors:?}"
    );
    assert_eq!(read(&spec.home.join("hub.ini")), live, "never deleted");
    assert_eq!(
        read(&spec.home.join("accountreg/stray")),
        b"stray",
        "put back"
    );
}

#[test]
fn rollback_keeps_what_this_restore_did_not_copy() {
    let root = tempfile::tempdir().unwrap();
    let Applied {
        spec,
        j,
        mut c,
        safety,
        ..
    } = applied(root.path());
    // As if the copy never started: what sits at the targets is someone else's.
    c.copy_started.clear();
    let live_ini = read(&spec.home.join("hub.ini"));
    let hubreg = tree(&spec.home.join("hubreg"));
    let errors = rollback(&c).unwrap_err();
    assert_eq!(errors.len(), 2, "hub.ini and accountreg: {errors:?}");
    assert!(
        errors
            .iter()
            .all(|e| e.contains("holds something this restore did not copy there")),
        "{errors:?}"
    );
    assert_eq!(read(&spec.home.join("hub.ini")), live_ini);
    assert_eq!(read(&safety.join("hub.ini")), b"[Hub]\nchanged\n");
    assert_eq!(tree(&spec.home.join("hubreg")), hubreg, "not removed");
    // With only hubreg unrecorded: it stays, everything else is put back.
    let mut c = j.snapshot().components[0].clone();
    c.copy_started.retain(|t| !t.ends_with("/hubreg"));
    let steps = rollback(&c).unwrap();
    assert!(!steps.contains(&StepAction::RemovedCopy), "{steps:?}");
    assert_eq!(tree(&spec.home.join("hubreg")), hubreg);
    assert_eq!(read(&spec.home.join("hub.ini")), b"[Hub]\nchanged\n");
    assert!(!safety.exists());
}

#[test]
fn rollback_without_a_recorded_safety_folder_touches_nothing() {
    let root = tempfile::tempdir().unwrap();
    let Applied { spec, mut c, .. } = applied(root.path());
    c.safety_created = None;
    c.moved_aside.clear();
    c.copy_started.clear();
    let now = entries(&spec.home);
    assert_eq!(rollback(&c).unwrap(), Vec::<StepAction>::new());
    assert_eq!(entries(&spec.home), now);
}

#[test]
fn the_safety_folder_is_removed_only_when_it_is_the_one_made() {
    let root = tempfile::tempdir().unwrap();
    let Applied {
        spec,
        before,
        c,
        safety,
        ..
    } = applied(root.path());
    // Another folder of that name, holding the very entries that were moved aside.
    let other = root.path().join("other");
    fs::create_dir(&other).unwrap();
    for n in ["hub.ini", "accountreg"] {
        fs::rename(safety.join(n), other.join(n)).unwrap();
    }
    fs::remove_dir(&safety).unwrap();
    fs::rename(&other, &safety).unwrap();
    let errors = rollback(&c).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("is not the safety folder this restore made"),
        "{errors:?}"
    );
    assert!(safety.is_dir(), "kept");
    fs::remove_dir(&safety).unwrap();
    assert_eq!(
        entries(&spec.home),
        entries_of(before),
        "every entry was put back"
    );
}

#[test]
fn a_target_that_appears_after_the_moves_is_never_copied_over_nor_removed() {
    let root = tempfile::tempdir().unwrap();
    let (spec, b) = setup(root.path());
    let plan = plan_of(&spec, &b);
    let j = MemJournal(Mutex::new(record_for(plan.clone())));
    // hubreg was missing at the plan; now something else makes it.
    w(&spec.home.join("hubreg/foreign"), "foreign");
    let before = tree(&spec.home);
    let e = apply_steps(&j, &Faults::none(), 0, &plan).unwrap_err();
    assert!(matches!(e, ApplyError::Appeared(_)), "{e:?}");
    let e = e.to_string();
    assert!(e.contains("hubreg appeared during the restore"), "{e}");
    let c = j.snapshot().components[0].clone();
    assert!(c.copy_started.is_empty(), "{:?}", c.copy_started);
    rollback(&c).unwrap();
    assert_eq!(entries(&spec.home), entries_of(before));
}

#[test]
fn the_commit_keeps_only_the_safety_folder_it_made() {
    let root = tempfile::tempdir().unwrap();
    let Applied { j, c, safety, .. } = applied(root.path());
    let retired = retired_name(&c.safety_folder);
    fs::rename(&safety, root.path().join("ours")).unwrap();
    w(&safety.join("x"), "someone else's");
    j.0.lock().unwrap().commit_decided = true;
    complete(&j, None);
    let rec = j.snapshot();
    assert_eq!(rec.status, RestoreStatus::Succeeded);
    assert_eq!(rec.components[0].status, ComponentState::Restored);
    assert!(
        rec.notes
            .iter()
            .any(|n| n.contains("is not the safety folder")),
        "{:?}",
        rec.notes
    );
    assert_eq!(rec.components[0].safety_copy, None, "not ours: not kept");
    assert_eq!(read(&safety.join("x")), b"someone else's");
    assert!(!retired.exists());
    // Ours back in place: the commit (run again, as at start-up) keeps it.
    fs::remove_dir_all(&safety).unwrap();
    fs::rename(root.path().join("ours"), &safety).unwrap();
    complete(&j, None);
    let kept = j.snapshot().components[0].safety_copy.clone().unwrap();
    assert!(safety.join("hub.ini").is_file() && !retired.exists());
    // ... and a third time changes nothing.
    complete(&j, None);
    assert_eq!(j.snapshot().components[0].safety_copy, Some(kept));
    assert!(safety.join("hub.ini").is_file());
}

#[test]
fn discarding_never_renames_onto_a_folder_it_did_not_make() {
    let root = tempfile::tempdir().unwrap();
    let Applied { j, c, safety, .. } = applied(root.path());
    let retired = retired_name(&c.safety_folder);
    fs::create_dir(&retired).unwrap();
    j.0.lock().unwrap().commit_decided = true;
    complete(&j, None);
    let rec = j.snapshot();
    assert_eq!(rec.status, RestoreStatus::Succeeded);
    let e = crate::restore::undo::discard(&rec.components[0]).unwrap_err();
    assert!(e.contains("exists") || e.contains("File exists"), "{e}");
    assert!(safety.join("hub.ini").is_file(), "kept");
    purge_retired(&rec);
    assert!(retired.is_dir(), "not the restore's: kept");
    assert!(safety.join("hub.ini").is_file());
    // Its own safety folder, once the stranger is gone: discarded.
    fs::remove_dir(&retired).unwrap();
    assert_eq!(crate::restore::undo::discard(&rec.components[0]), Ok(true));
    assert!(!fsutil::exists_nofollow(&safety) && !fsutil::exists_nofollow(&retired));
    assert_eq!(crate::restore::undo::discard(&rec.components[0]), Ok(false));
}

#[test]
fn purge_deletes_only_the_retired_folder_the_restore_made() {
    let root = tempfile::tempdir().unwrap();
    let (spec, b) = setup(root.path());
    let j = MemJournal(Mutex::new(record_for(plan_of(&spec, &b))));
    run(&j, &Faults::none());
    let rec = j.snapshot();
    assert_eq!(rec.status, RestoreStatus::Succeeded);
    // As a restore with remote components (or an older version) leaves it.
    let retired = retired_name(&rec.components[0].safety_folder);
    fs::rename(&rec.components[0].safety_folder, &retired).unwrap();
    assert!(retired.is_dir());
    // Not decided: nothing is deleted.
    let mut undecided = rec.clone();
    undecided.commit_decided = false;
    purge_retired(&undecided);
    assert!(retired.is_dir());
    // A remote component's paths are on its agent's machine.
    let mut remote = rec.clone();
    remote.components[0].agent = Some("https://agent.example".into());
    purge_retired(&remote);
    assert!(retired.is_dir());
    // Something else at that name.
    fs::rename(&retired, root.path().join("ours")).unwrap();
    w(&retired.join("x"), "someone else's");
    purge_retired(&rec);
    assert_eq!(read(&retired.join("x")), b"someone else's");
    let mut unrecorded = rec.clone();
    unrecorded.components[0].safety_created = None;
    purge_retired(&unrecorded);
    assert_eq!(read(&retired.join("x")), b"someone else's");
    // Ours.
    fs::remove_dir_all(&retired).unwrap();
    fs::rename(root.path().join("ours"), &retired).unwrap();
    purge_retired(&rec);
    assert!(!fsutil::exists_nofollow(&retired));
    purge_retired(&rec);
}

#[test]
fn created_folders_are_removed_only_when_empty_and_a_second_rollback_is_clean() {
    let root = tempfile::tempdir().unwrap();
    let spec = spec_in(
        root.path(),
        "app",
        Profile::Custom,
        "app-backup",
        &["conf/app.ini"],
    );
    let b = spec.backup_folder.clone();
    listed(&b, &[("conf/app.ini", "[app]\n")]);
    w(&spec.home.join("other.txt"), "not an item");
    let before = entries(&spec.home);
    let j = MemJournal(Mutex::new(record_for(plan_of(&spec, &b))));
    apply_component(&j, &Faults::none(), 0).unwrap();
    let c = j.snapshot().components[0].clone();
    assert_eq!(
        c.created_dirs,
        [spec.home.join("conf").display().to_string()]
    );
    // Something else puts a file into conf/, which the restore created.
    w(&spec.home.join("conf/foreign"), "foreign");
    let errors = rollback(&c).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("created by the restore, was kept"),
        "{errors:?}"
    );
    assert_eq!(read(&spec.home.join("conf/foreign")), b"foreign");
    assert!(!spec.home.join("conf/app.ini").exists(), "the copy is gone");
    // Once it is gone, the rollback completes; run again, it finds nothing left to do.
    fs::remove_file(spec.home.join("conf/foreign")).unwrap();
    let steps = rollback(&c).unwrap();
    assert!(steps.contains(&StepAction::RemovedFolder), "{steps:?}");
    assert_eq!(rollback(&c).unwrap(), Vec::<StepAction>::new());
    assert_eq!(entries(&spec.home), before);
}

/// Agents that record which calls they got.
#[derive(Default)]
struct FakeAgents(Mutex<Vec<String>>);

impl RemoteRestores for FakeAgents {
    fn apply(
        &self,
        _: &RestoreRecord,
        c: &ComponentRestore,
    ) -> Result<ComponentRestore, RemoteError> {
        self.0.lock().unwrap().push(format!("apply {}", c.name));
        Err(RemoteError::NoComponent)
    }
    fn commit(&self, _: &RestoreRecord, c: &ComponentRestore) -> Result<Ack, RemoteFailure> {
        self.0.lock().unwrap().push(format!("commit {}", c.name));
        Ok(Ack::default())
    }
    fn rollback(&self, _: &RestoreRecord, c: &ComponentRestore) -> Result<Ack, RemoteFailure> {
        self.0.lock().unwrap().push(format!("rollback {}", c.name));
        Ok(Ack::default())
    }
}

#[test]
fn remote_components_are_committed_once_and_their_paths_never_touched_here() {
    let root = tempfile::tempdir().unwrap();
    let (spec, b) = setup(root.path());
    let mut remote = plan_of(&spec, &b);
    remote.name = "trk".into();
    remote.agent = Some("https://agent.example".into());
    remote.status = ComponentState::Applied;
    let mut rec = record_for(remote.clone());
    rec.commit_decided = true;
    let before = tree(&spec.home);
    let j = MemJournal(Mutex::new(rec));
    let agents = FakeAgents::default();
    complete_with(&j, &Faults::none(), &agents, None);
    assert_eq!(*agents.0.lock().unwrap(), ["commit trk"]);
    assert_eq!(j.snapshot().components[0].status, ComponentState::Restored);
    // Again (start-up recovery): already restored, not committed twice.
    complete_with(&j, &Faults::none(), &agents, None);
    assert_eq!(agents.0.lock().unwrap().len(), 1);
    assert_eq!(tree(&spec.home), before, "a remote path is not a local one");
}

#[test]
fn a_failed_fsync_fails_the_step_and_the_rollback_reports_it() {
    let root = tempfile::tempdir().unwrap();
    let (spec, b) = setup(root.path());
    let before = entries(&spec.home);
    let j = MemJournal(Mutex::new(record_for(plan_of(&spec, &b))));
    run(&j, &Faults::parse("restore_fsync_fail:hub").unwrap());
    let rec = j.snapshot();
    assert_eq!(rec.status, RestoreStatus::Failed);
    assert!(
        rec.errors[0].contains("syncing folder") && rec.errors[0].contains("os error 5"),
        "the move-aside failed on the fsync: {:?}",
        rec.errors
    );
    let c = &rec.components[0];
    assert!(c.copy_started.is_empty(), "nothing was copied");
    assert_eq!(c.status, ComponentState::RollbackIncomplete);
    assert!(
        c.errors.iter().any(|e| e.contains("syncing folder")),
        "the rollback's fsync failed too: {:?}",
        c.errors
    );
    // Everything was put back all the same; without the fault the rollback completes.
    assert_eq!(entries(&spec.home), before);
    rollback(c).unwrap();
    assert_eq!(entries(&spec.home), before);
}

#[test]
fn rollback_names_an_entry_it_cannot_check_and_leaves_it() {
    let root = tempfile::tempdir().unwrap();
    let Applied {
        spec, c, safety, ..
    } = applied(root.path());
    // The safety folder became a file: its entries cannot even be looked at.
    fs::rename(&safety, root.path().join("ours")).unwrap();
    fs::write(&safety, "a file").unwrap();
    let live = read(&spec.home.join("hub.ini"));
    let errors = rollback(&c).unwrap_err();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors.iter().all(|e| e.contains("Not a directory")),
        "{errors:?}"
    );
    assert_eq!(read(&spec.home.join("hub.ini")), live, "left as it is");
    assert_eq!(read(&safety), b"a file");
}

/// A custom component with one nested item whose folder the home lacks.
fn nested(root: &Path) -> (ComponentSpec, PathBuf) {
    let spec = spec_in(
        root,
        "app",
        Profile::Custom,
        "app-backup",
        &["conf/app.ini", "app.db"],
    );
    let b = spec.backup_folder.clone();
    listed(&b, &[("conf/app.ini", "[app]\n"), ("app.db", "db")]);
    w(&spec.home.join("app.db"), "old db");
    (spec, b)
}

#[test]
fn a_folder_that_appears_before_it_is_created_stops_the_restore_and_stays() {
    let root = tempfile::tempdir().unwrap();
    let (spec, b) = nested(root.path());
    let plan = plan_of(&spec, &b);
    let conf = spec.home.join("conf");
    assert_eq!(plan.create_dirs, [conf.display().to_string()]);
    let j = MemJournal(Mutex::new(record_for(plan.clone())));
    fs::create_dir(&conf).unwrap();
    let before = entries(&spec.home);
    let e = apply_steps(&j, &Faults::none(), 0, &plan).unwrap_err();
    assert!(matches!(e, ApplyError::Io(_)), "{e:?}");
    let e = e.to_string();
    assert!(
        e.contains(&format!("creating folder {}", conf.display())) && e.contains("exists"),
        "{e}"
    );
    let c = j.snapshot().components[0].clone();
    assert!(c.created_dirs.is_empty() && c.copy_started.is_empty());
    rollback(&c).unwrap();
    assert!(conf.is_dir(), "not the restore's: kept although empty");
    assert_eq!(entries(&spec.home), before);
    assert_eq!(read(&spec.home.join("app.db")), b"old db");
}

#[test]
fn a_safety_folder_that_cannot_be_made_is_named_with_the_reason() {
    let root = tempfile::tempdir().unwrap();
    let (spec, b) = nested(root.path());
    fs::remove_file(spec.home.join("app.db")).unwrap();
    let plan = plan_of(&spec, &b);
    assert!(plan.remove.is_empty());
    // The home is gone and a file took its place.
    fs::remove_dir(&spec.home).unwrap();
    fs::write(&spec.home, "a file").unwrap();
    let j = MemJournal(Mutex::new(record_for(plan.clone())));
    let e = apply_steps(&j, &Faults::none(), 0, &plan).unwrap_err();
    assert!(matches!(e, ApplyError::Io(_)), "{e:?}");
    let e = e.to_string();
    assert!(
        e.contains(&format!("creating folder {}", plan.safety_folder))
            && e.contains("Not a directory"),
        "{e}"
    );
    assert!(j.snapshot().components[0].safety_created.is_none());
    assert_eq!(read(&spec.home), b"a file");
}

#[test]
fn nested_entries_are_moved_aside_and_put_back_in_their_place() {
    let root = tempfile::tempdir().unwrap();
    let (spec, tape) = old_style_tracker(root.path(), &[("a.dat", "A")]);
    w(&spec.home.join("data/a.dat"), "old a");
    w(&spec.home.join("data/b.dat"), "old b");
    w(&spec.home.join("data/keep.txt"), "kept");
    let before = entries(&spec.home);
    let j = MemJournal(Mutex::new(record_for(plan_of(&spec, &tape))));
    apply_component(&j, &Faults::none(), 0).unwrap();
    let c = j.snapshot().components[0].clone();
    let safety = PathBuf::from(&c.safety_folder);
    assert_eq!(read(&safety.join("data/a.dat")), b"old a");
    assert_eq!(read(&safety.join("data/b.dat")), b"old b");
    assert_eq!(read(&spec.home.join("data/a.dat")), b"A");
    assert!(!spec.home.join("data/b.dat").exists());
    rollback(&c).unwrap();
    assert_eq!(entries(&spec.home), before);
}

#[test]
fn error_texts_are_the_ones_records_show() {
    let texts = [
        (
            ApplyError::Unlisted("/b/x".into()).to_string(),
            "/b/x is not listed in SHA256SUMS",
        ),
        (
            ApplyError::SafetyFolderExists("/h/.pre-restore-R1".into()).to_string(),
            "the safety folder /h/.pre-restore-R1 exists already: this restore did not make it, \
             so it stopped before changing anything (move that folder away, then restore again)",
        ),
        (
            ApplyError::Step {
                name: "hub".into(),
                source: Box::new(ApplyError::Changed("/b/hub.ini".into())),
            }
            .to_string(),
            "hub: /b/hub.ini changed since the folder was verified",
        ),
        (
            ApplyError::Remote {
                name: "lui".into(),
                source: RemoteError::NoLink("lui".into()),
            }
            .to_string(),
            "lui: lui: no link to its agent here",
        ),
        (
            ApplyError::Home {
                name: "trk".into(),
                problems: vec!["a".into(), "b".into()],
            }
            .to_string(),
            "trk: a; b",
        ),
    ];
    for (got, want) in texts {
        assert_eq!(got, want);
    }
}
