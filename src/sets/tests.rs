//! Unit tests of `Sets` over a real engine in a temp dir (no HTTP).

use super::*;
use crate::engine::faults::Faults;
use crate::engine::readme::README_FILE;
use crate::engine::sums::{render_sums, SUMS_FILE_NAME};
use crate::engine::{ComponentSpec, Profile};
use crate::kinds::JobKind;
use sha2::{Digest, Sha256};
use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

struct Fixture {
    dir: tempfile::TempDir,
    engine: crate::jobs::BackupJobs,
    sets: Sets,
}

fn spec(root: &Path, name: &str) -> ComponentSpec {
    ComponentSpec {
        name: name.into(),
        profile: Profile::Custom,
        home: root.join(name),
        backup_folder: root.join(name).join("backup"),
        keep: 2,
        items: vec!["data/".into()],
        consistency: Default::default(),
        read_point: None,
    }
}

/// A backup folder with readme, one data file and a correct SHA256SUMS.
fn make_folder(dir: &Path, id: &str, component: &str) {
    fs::create_dir_all(dir.join("data")).unwrap();
    fs::write(
        dir.join(README_FILE),
        format!("Backup ID: {id}\nComponent: {component}\nResult: success\n"),
    )
    .unwrap();
    let content = format!("{component} {id}");
    fs::write(dir.join("data/file.txt"), &content).unwrap();
    let sha: [u8; 32] = Sha256::digest(content.as_bytes()).into();
    fs::write(
        dir.join(SUMS_FILE_NAME),
        render_sums(&[(b"data/file.txt".to_vec(), sha)]),
    )
    .unwrap();
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let specs = vec![spec(&root, "hub"), spec(&root, "lui")];
    let engine =
        crate::jobs::BackupJobs::open_with(root.join("state"), specs, Faults::none(), None)
            .unwrap();
    let sets = crate::jobs::verification::open_sets(&engine).unwrap();
    Fixture { dir, engine, sets }
}

impl Fixture {
    fn start_verification(&self, id: &str) -> Result<Verification, VerifyStartError> {
        crate::jobs::verification::start(&self.engine, &self.sets, id)
    }

    fn root(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    fn wait(&self, vid: &str) -> Verification {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let v = self.sets.verification(vid).unwrap();
            if v.status != VerificationStatus::Running {
                return v;
            }
            assert!(Instant::now() < deadline, "verification did not end");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn verification_job_passes_then_fails_and_is_recorded_on_the_set() {
    let f = fixture();
    let r = f.root();
    make_folder(&r.join("hub/backup"), "A", "hub");
    make_folder(&r.join("lui/backup"), "A", "lui");
    let set = f.sets.get("A").unwrap();
    assert!(set.complete && set.successful && set.last_verification.is_none());

    let v = f.start_verification("A").unwrap();
    assert_eq!(v.status, VerificationStatus::Running);
    assert!(
        r.join(format!("state/verifications/{}.json", v.id))
            .exists(),
        "recorded before the answer"
    );
    let done = f.wait(&v.id);
    assert_eq!(done.status, VerificationStatus::Passed, "{done:?}");
    assert_eq!(done.folders.len(), 2);
    assert_eq!(done.files_checked, 2);
    let last = f.sets.get("A").unwrap().last_verification.unwrap();
    assert!(last.ok && last.id == v.id && last.problems == 0);

    fs::write(r.join("lui/backup/data/file.txt"), "tampered").unwrap();
    let v2 = f.start_verification("A").unwrap();
    assert!(v2.id > v.id, "IDs sort in start order");
    let done = f.wait(&v2.id);
    assert_eq!(done.status, VerificationStatus::Failed);
    assert!(done.folders[0].ok);
    assert_eq!(done.folders[1].changed, ["data/file.txt"]);
    let last = f.sets.get("A").unwrap().last_verification.unwrap();
    assert_eq!(
        (last.id.as_str(), last.ok, last.problems),
        (v2.id.as_str(), false, 1)
    );
    let ids: Vec<_> = f
        .sets
        .verifications("A")
        .into_iter()
        .map(|v| v.id)
        .collect();
    assert_eq!(ids, [v2.id.clone(), v.id.clone()]);
    assert!(matches!(
        f.start_verification("nope"),
        Err(VerifyStartError::NotFound(_))
    ));
}

#[test]
fn a_running_verification_is_interrupted_after_a_restart() {
    let f = fixture();
    let r = f.root();
    make_folder(&r.join("hub/backup"), "A", "hub");
    let set = f.sets.get("A").unwrap();
    // Begin without running: what a crash right after the 202 leaves.
    let (rec, _) = match f.sets.inner.verifications.begin(&set) {
        Ok(x) => x,
        Err(_) => panic!("begin"),
    };
    assert!(matches!(
        f.start_verification("A"),
        Err(VerifyStartError::AlreadyRunning(id)) if id == rec.id
    ));
    let again = crate::jobs::verification::open_sets(&f.engine).unwrap();
    let v = again.verification(&rec.id).unwrap();
    assert_eq!(v.status, VerificationStatus::Interrupted);
    assert!(v.finished_at.is_some() && v.error.is_some());
    // An interrupted verification is not the set's last verification.
    assert!(again.get("A").unwrap().last_verification.is_none());
}

#[test]
fn verification_is_refused_while_a_backup_runs() {
    let f = fixture();
    make_folder(&f.root().join("hub/backup"), "A", "hub");
    let guard = f
        .engine
        .try_lock_exclusive(JobKind::Backup, "20990101T000000Z")
        .unwrap();
    assert!(matches!(
        f.start_verification("A"),
        Err(VerifyStartError::BackupRunning(id)) if id == "20990101T000000Z"
    ));
    drop(guard);
    // A restore does not block it: restores never modify backups.
    let _restore = f.engine.try_lock_exclusive(JobKind::Restore, "r1").unwrap();
    let v = f.start_verification("A").unwrap();
    assert_eq!(f.wait(&v.id).status, VerificationStatus::Passed);
}

#[test]
fn a_folder_moved_by_rotation_is_verified_at_its_new_place() {
    let f = fixture();
    let r = f.root();
    make_folder(&r.join("hub/backup"), "A", "hub");
    let set = f.sets.get("A").unwrap();
    // The set was read, then a backup rotated backup -> backup1 and wrote a new backup.
    fs::rename(r.join("hub/backup"), r.join("hub/backup1")).unwrap();
    make_folder(&r.join("hub/backup"), "B", "hub");
    let progress = Progress::default();
    let v = f
        .sets
        .verify_tracking_moves("A", &set.components[0], &progress, None);
    assert!(v.ok, "{v:?}");
    assert!(v.folder.ends_with("hub/backup1"), "{}", v.folder);
    // Gone entirely: the failure stands.
    fs::remove_dir_all(r.join("hub/backup1")).unwrap();
    let v = f
        .sets
        .verify_tracking_moves("A", &set.components[0], &progress, None);
    assert!(!v.ok);
}

#[test]
fn import_checks_and_persists() {
    let f = fixture();
    let r = f.root();
    make_folder(&r.join("medium/hub-A"), "A", "hub");
    make_folder(&r.join("hub/backup"), "B", "hub");
    let folder = r.join("medium/hub-A").display().to_string();
    let out = f.sets.import("hub", &folder).unwrap();
    assert!(out.created);
    assert_eq!(out.imported.backup_id, "A");
    let set = out.set.unwrap();
    assert_eq!(set.components[0].source, FolderSource::Imported);
    assert_eq!(set.missing, ["lui"]);
    // Idempotent.
    let again = f.sets.import("hub", &folder).unwrap();
    assert!(!again.created);
    assert_eq!(again.imported, out.imported);
    // A slot, or a folder in one, is refused, and nothing is written.
    let before = fs::read(r.join("state/imports.json")).unwrap();
    fs::create_dir_all(r.join("hub/backup/data/inner")).unwrap();
    make_folder(&r.join("hub/backup/data/inner"), "C", "hub");
    for bad in ["hub/backup", "hub/backup/data/inner"] {
        let e = f
            .sets
            .import("hub", &r.join(bad).display().to_string())
            .unwrap_err();
        assert!(matches!(e, SetsError::InSlotArea { .. }), "{bad}: {e}");
        assert_eq!(e.field(), Some("folder"));
    }
    assert_eq!(fs::read(r.join("state/imports.json")).unwrap(), before);
    // Survives a reopen.
    let reopened = crate::jobs::verification::open_sets(&f.engine).unwrap();
    assert_eq!(reopened.imports().len(), 1);
    assert!(reopened.get("A").is_some());
}

#[test]
fn preferred_folders_prefer_a_usable_slot() {
    let f = fixture();
    let r = f.root();
    make_folder(&r.join("hub/backup"), "A", "hub");
    make_folder(&r.join("lui/backup"), "A", "lui");
    make_folder(&r.join("medium/hub-A"), "A", "hub");
    f.sets
        .import("hub", &r.join("medium/hub-A").display().to_string())
        .unwrap();
    let set = f.sets.get("A").unwrap();
    assert_eq!(set.components.len(), 3);
    let pick: Vec<_> = set
        .preferred_folders()
        .into_iter()
        .map(|x| (x.component.clone(), x.source))
        .collect();
    assert_eq!(
        pick,
        [
            ("hub".to_string(), FolderSource::Slot),
            ("lui".to_string(), FolderSource::Slot)
        ]
    );
    // The slot breaks: the imported copy is preferred.
    fs::write(
        r.join("hub/backup/readme.txt"),
        "Backup ID: A\nComponent: hub\nResult: error\n",
    )
    .unwrap();
    let set = f.sets.get("A").unwrap();
    assert!(!set.successful);
    assert_eq!(set.preferred_folders()[0].source, FolderSource::Imported);
    let v = f.sets.verify_folders(&set.components);
    assert_eq!(v.len(), 3);
    assert!(v.iter().all(|x| x.ok), "{v:?}");
}

#[test]
fn only_the_newest_finished_records_are_kept_per_set() {
    let f = fixture();
    let r = f.root();
    make_folder(&r.join("hub/backup"), "A", "hub");
    make_folder(&r.join("hub/backup1"), "B", "hub");
    let (a, b) = (f.sets.get("A").unwrap(), f.sets.get("B").unwrap());
    let store = &f.sets.inner.verifications;
    let run = |set: &BackupSet| {
        let Ok((mut rec, _)) = store.begin(set) else {
            panic!("begin")
        };
        rec.status = VerificationStatus::Passed;
        rec.finished_at = Some(now());
        let id = rec.id.clone();
        store.finish(rec);
        id
    };
    let first_b = run(&b);
    let ids: Vec<String> = (0..verifications::KEEP_PER_SET + 3)
        .map(|_| run(&a))
        .collect();
    let kept: Vec<String> = f
        .sets
        .verifications("A")
        .into_iter()
        .map(|v| v.id)
        .collect();
    let want: Vec<String> = ids
        .iter()
        .rev()
        .take(verifications::KEEP_PER_SET)
        .cloned()
        .collect();
    assert_eq!(kept, want);
    // Other sets keep theirs; the files follow memory.
    assert_eq!(f.sets.verifications("B")[0].id, first_b);
    let files = fs::read_dir(r.join("state/verifications")).unwrap().count();
    assert_eq!(files, verifications::KEEP_PER_SET + 1);
}

/// Lists the sets until two lists in a row were served from memory (after a change the watches
/// are made anew around a scan, so the first list or two scan); returns them.
fn settled(f: &Fixture) -> Vec<BackupSet> {
    for _ in 0..4 {
        let n = f.sets.scans();
        let sets = f.sets.list();
        if f.sets.scans() == n {
            return sets;
        }
    }
    panic!("the set view is never kept");
}

/// The set view is read from disk once and then served from memory while the folders stay as
/// they were; a slot deleted, a readme replaced or a readme edited in place by hand is seen at
/// the very next request (the kernel reports the change before it returns to whoever made it).
#[test]
fn the_set_view_is_kept_in_memory_and_follows_changes_by_hand() {
    let f = fixture();
    let r = f.root();
    for c in ["hub", "lui"] {
        make_folder(&r.join(c).join("backup"), "B", c);
        make_folder(&r.join(c).join("backup1"), "A", c);
    }
    let first = settled(&f);
    assert_eq!(first.len(), 2);
    let before = f.sets.scans();
    for _ in 0..3 {
        assert_eq!(f.sets.list(), first);
    }
    assert_eq!(f.sets.scans(), before, "served from memory");
    assert!(first.iter().all(|s| s.complete && s.successful));
    let kept = f.sets.query_kept(&SetQuery::default()).expect("kept");
    assert_eq!(kept.sets, first, "the handler's path answers the same");

    // A slot deleted by hand: its backup area reports it; the set lacks the component.
    fs::remove_dir_all(r.join("hub/backup1")).unwrap();
    assert!(f.sets.query_kept(&SetQuery::default()).is_none());
    let sets = f.sets.list();
    assert_eq!(f.sets.scans(), before + 1);
    let a = sets.iter().find(|s| s.id == "A").unwrap();
    assert!(!a.complete, "{a:?}");
    assert_eq!(a.missing, ["hub"]);

    // A readme replaced by hand (new file renamed over it) in a slot.
    settled(&f);
    let tmp = r.join("lui/backup/readme.new");
    fs::write(
        &tmp,
        "Backup ID: B\nComponent: lui\nResult: error\nError: by hand\n",
    )
    .unwrap();
    fs::rename(&tmp, r.join("lui/backup/readme.txt")).unwrap();
    let b = f.sets.get("B").unwrap();
    assert!(!b.successful, "{b:?}");

    // A readme edited in place (the same file rewritten): seen at once too.
    let b = settled(&f).into_iter().find(|s| s.id == "B").unwrap();
    assert!(!b.successful, "{b:?}");
    make_folder(&r.join("lui").join("backup"), "B", "lui");
    let b = f.sets.get("B").unwrap();
    assert!(
        b.successful,
        "an in-place rewrite back to success is seen: {b:?}"
    );
}
