//! Tests of the backup job service: real backups, recovery and crashes on temp folders.
use super::*;
use crate::engine::readme::Readme;
use crate::engine::slots::SlotLayout;
use crate::engine::Profile;
use crate::store::local::tree_listing;
use std::os::unix::fs::MetadataExt;
use std::process::Command;

const WAIT: Duration = Duration::from_secs(60);

/// Three components like the demo: hub (backup folder in its home, keep 3), lui (backup
/// folder elsewhere, keep 2), trk (keep 0). Pure function of `root`.
fn specs_for(root: &Path) -> Vec<ComponentSpec> {
    vec![
        ComponentSpec {
            name: "hub".into(),
            profile: Profile::MaestroHub,
            home: root.join("hub"),
            backup_folder: root.join("hub/backup"),
            keep: 3,
            items: vec![],
            consistency: Default::default(),
            read_point: None,
        },
        ComponentSpec {
            name: "lui".into(),
            profile: Profile::MaestroLui,
            home: root.join("lui"),
            backup_folder: root.join("backups/lui/backup"),
            keep: 2,
            items: vec![],
            consistency: Default::default(),
            read_point: None,
        },
        ComponentSpec {
            name: "trk".into(),
            profile: Profile::Custom,
            home: root.join("trk"),
            backup_folder: root.join("trk/bk"),
            keep: 0,
            items: vec!["tracker.ini".into(), "data/".into()],
            consistency: Default::default(),
            read_point: None,
        },
    ]
}

fn populate(root: &Path, many: usize) {
    let w = |rel: &str, data: &[u8]| {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, data).unwrap();
    };
    w("hub/hub.ini", b"[hub]\nport=8080\n");
    w("hub/accountreg/a.txt", b"account a");
    w("hub/accountreg/sub dir/b.txt", b"account b");
    w("hub/hubreg/reg.dat", &[0u8, 1, 2, 255, 254]);
    w("hub/logs/hub.log", b"not backed up");
    w("lui/lui.ini", b"[lui]\n");
    w(
        "lui/luidata/db.bin",
        &(0..200_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>(),
    );
    w("lui/registry/r.txt", b"registry");
    w("trk/tracker.ini", b"[trk]\n");
    fs::create_dir_all(root.join("trk/data/empty")).unwrap();
    for i in 0..many {
        w(
            &format!("trk/data/f{i:03}.dat"),
            format!("file {i}").as_bytes(),
        );
    }
}

fn setup(many: usize) -> (tempfile::TempDir, Vec<ComponentSpec>, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    populate(root.path(), many);
    let specs = specs_for(root.path());
    let state = root.path().join("state");
    (root, specs, state)
}

/// Opens an engine on `state`. A previous engine of the same test may still be held for a
/// moment by its finishing backup thread (the state dir's lock goes with its last clone):
/// polled until free, with a deadline.
fn open(state: &Path, specs: &[ComponentSpec], faults: &str) -> BackupJobs {
    let deadline = Instant::now() + WAIT;
    loop {
        match BackupJobs::open_with(
            state.to_path_buf(),
            specs.to_vec(),
            Faults::parse(faults).unwrap(),
            None,
        ) {
            Err(EngineError::StateLocked(_)) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10))
            }
            other => return other.unwrap(),
        }
    }
}

fn run(engine: &BackupJobs) -> BackupRecord {
    let rec = engine.start_backup(Trigger::Manual, None).unwrap();
    let done = engine.wait_blocking(&rec.id, WAIT).unwrap();
    assert!(done.status.is_final(), "backup did not finish: {done:?}");
    done
}

/// Every history slot of every component, file by file (content hash, mode, mtime, links).
fn all_slots(specs: &[ComponentSpec]) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut m = BTreeMap::new();
    for s in specs {
        let layout = SlotLayout::of(&s.backup_folder).unwrap();
        for (_, path) in layout.existing_slots().unwrap() {
            m.insert(path.display().to_string(), tree_listing(&path));
        }
    }
    m
}

fn temporaries(specs: &[ComponentSpec]) -> Vec<PathBuf> {
    specs
        .iter()
        .flat_map(|s| {
            SlotLayout::of(&s.backup_folder)
                .unwrap()
                .temporaries()
                .unwrap()
        })
        .collect()
}

fn slot_id(dir: &Path) -> String {
    Readme::read_from(dir).unwrap().backup_id
}

fn sha256sum_ok(dir: &Path) -> bool {
    Command::new("sha256sum")
        .args(["-c", "--quiet", "SHA256SUMS"])
        .current_dir(dir)
        .status()
        .unwrap()
        .success()
}

#[test]
fn full_then_unchanged_backup() {
    let (root, specs, state) = setup(5);
    let engine = open(&state, &specs, "");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    engine.set_finish_listener(Arc::new(move |r: &BackupRecord| {
        lock(&s2).push(r.clone());
        true
    }));

    let first = run(&engine);
    assert_eq!(first.status, BackupStatus::Succeeded, "{first:#?}");
    assert!(first
        .components
        .iter()
        .all(|c| c.status == ComponentStatus::Committed));
    let hub = &first.components[0];
    assert_eq!((hub.files, hub.files_copied, hub.files_linked), (4, 4, 0));
    assert!(first.finished_at.is_some());
    // JSON timestamps are whole seconds with Z.
    let json = serde_json::to_value(&first).unwrap();
    assert!(json["started_at"].as_str().unwrap().ends_with('Z'));
    assert!(!json["started_at"].as_str().unwrap().contains('.'));
    assert!(crate::engine::backup_id::is_valid(&first.id));

    for s in &specs {
        let slot = &s.backup_folder;
        assert_eq!(slot_id(slot), first.id);
        assert!(sha256sum_ok(slot), "{}", slot.display());
        let readme = fs::read_to_string(slot.join("readme.txt")).unwrap();
        let lines: Vec<&str> = readme.lines().collect();
        assert_eq!(lines[0], format!("Backup ID: {}", first.id));
        assert_eq!(lines[1], format!("Component: {}", s.name));
        assert!(lines[2].starts_with("Started: ") && lines[2].ends_with('Z'));
        assert!(lines[3].starts_with("Finished: "));
        assert_eq!(lines[4], "Result: success");
    }
    assert!(!root.path().join("hub/backup/logs").exists());
    assert!(root.path().join("trk/bk/data/empty").is_dir());
    let report = fs::read_to_string(engine.report_path(&first.id).unwrap()).unwrap();
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(
        lines[lines.len() - 2],
        "The backup was completed successfully"
    );
    assert!(lines[lines.len() - 1].starts_with("Final completion date: 20"));
    assert!(report.contains("Component: lui\n  Folder: "));

    // Reopen (a restart), then an unchanged backup: every file hard-linked.
    drop(engine);
    let engine = open(&state, &specs, "");
    let second = run(&engine);
    assert_eq!(second.status, BackupStatus::Succeeded);
    assert!(second.id > first.id);
    for c in &second.components {
        assert_eq!(c.files_copied, 0, "{c:?}");
        assert_eq!(c.files_linked, c.files);
    }
    let hub_home = root.path().join("hub");
    let ino = |p: PathBuf| fs::metadata(p).unwrap().ino();
    assert_eq!(
        ino(hub_home.join("backup/hub.ini")),
        ino(hub_home.join("backup1/hub.ini"))
    );
    assert_eq!(
        ino(root.path().join("backups/lui/backup/luidata/db.bin")),
        ino(root.path().join("backups/lui/backup1/luidata/db.bin"))
    );
    assert!(sha256sum_ok(&hub_home.join("backup")));

    // A changed file is copied, the others linked.
    fs::write(hub_home.join("accountreg/a.txt"), "account a, changed").unwrap();
    let third = run(&engine);
    assert_eq!(third.components[0].files_copied, 1);
    assert_eq!(third.components[0].files_linked, 3);
    assert_eq!(
        fs::read(hub_home.join("backup/accountreg/a.txt")).unwrap(),
        b"account a, changed"
    );
    assert_eq!(
        fs::read(hub_home.join("backup1/accountreg/a.txt")).unwrap(),
        b"account a"
    );
    // keep 0: trk only has `bk`.
    assert!(!root.path().join("trk/bk1").exists());

    let hist = engine.history("hub").unwrap();
    let got: Vec<(String, String)> = hist
        .iter()
        .map(|s| (s.slot.clone(), s.backup_id.clone().unwrap()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("backup".to_string(), third.id.clone()),
            ("backup1".to_string(), second.id.clone()),
            ("backup2".to_string(), first.id.clone()),
        ]
    );
    assert!(matches!(
        engine.history("nope"),
        Err(EngineError::UnknownComponent(_))
    ));

    // Listing: newest first, pages, status filter.
    let page = engine.list_backups(&ListQuery {
        limit: 2,
        cursor: None,
        status: None,
    });
    assert_eq!(
        page.items.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        vec![third.id.clone(), second.id.clone()]
    );
    assert_eq!(page.next_cursor.as_deref(), Some(second.id.as_str()));
    let page2 = engine.list_backups(&ListQuery {
        limit: 2,
        cursor: page.next_cursor,
        status: None,
    });
    assert_eq!(page2.items.len(), 1);
    assert_eq!(page2.items[0].id, first.id);
    assert_eq!(page2.next_cursor, None);
    let failed = engine.list_backups(&ListQuery {
        limit: 10,
        cursor: None,
        status: Some(BackupStatus::Failed),
    });
    assert!(failed.items.is_empty());
    // The listener saw the backups of this engine (second and third).
    let seen: Vec<String> = lock(&seen).iter().map(|r| r.id.clone()).collect();
    assert!(seen.contains(&first.id));
    assert!(temporaries(&specs).is_empty());
    assert!(engine.running().is_none());
}

#[test]
fn a_failed_component_changes_no_slot() {
    let (root, specs, state) = setup(3);
    let engine = open(&state, &specs, "");
    assert_eq!(run(&engine).status, BackupStatus::Succeeded);
    assert_eq!(run(&engine).status, BackupStatus::Succeeded);
    let before = all_slots(&specs);
    fs::remove_file(root.path().join("lui/lui.ini")).unwrap();
    let rec = run(&engine);
    assert_eq!(rec.status, BackupStatus::Failed);
    let lui = &rec.components[1];
    assert_eq!(lui.status, ComponentStatus::Failed);
    assert!(lui.errors[0].contains("lui.ini"), "{:?}", lui.errors);
    assert!(rec
        .components
        .iter()
        .filter(|c| c.name != "lui")
        .all(|c| c.status == ComponentStatus::Aborted));
    assert!(!rec.commit_decided);
    assert_eq!(all_slots(&specs), before, "no history slot changed");
    assert!(temporaries(&specs).is_empty(), "{:?}", temporaries(&specs));
    for s in &specs {
        let failed = SlotLayout::of(&s.backup_folder).unwrap().failed();
        let r = Readme::read_from(&failed).unwrap();
        assert_eq!(r.backup_id, rec.id);
        assert!(!r.success && !r.errors.is_empty());
        assert_eq!(fs::read_dir(&failed).unwrap().count(), 1);
    }
    let report = fs::read_to_string(&rec.report).unwrap();
    assert!(!report.contains("The backup was completed successfully"));
    assert!(report.contains("lui.ini"));
    // An injected prepare failure and an ENOSPC behave the same; the process lives on.
    drop(engine);
    fs::write(root.path().join("lui/lui.ini"), "[lui]\n").unwrap();
    let engine = open(&state, &specs, "enospc:lui");
    let rec = run(&engine);
    assert_eq!(rec.status, BackupStatus::Failed);
    assert!(
        rec.components[1].errors[0].contains("No space left on device"),
        "{:?}",
        rec.components[1].errors
    );
    assert_eq!(all_slots(&specs), before);
    assert!(temporaries(&specs).is_empty());
    drop(engine);
    let engine = open(&state, &specs, "prepare:hub");
    let rec = run(&engine);
    assert_eq!(rec.status, BackupStatus::Failed);
    assert!(rec
        .all_errors()
        .iter()
        .any(|e| e.contains("injected fault")));
    assert_eq!(all_slots(&specs), before);
}

#[test]
fn busy_cancel_and_events() {
    let (_root, specs, state) = setup(60);
    let engine = open(&state, &specs, "slow_copy_ms:20");
    let first = run(&engine);
    assert_eq!(first.status, BackupStatus::Succeeded);
    let before = all_slots(&specs);

    let rec = engine
        .start_backup(Trigger::Schedule, Some(Utc::now()))
        .unwrap();
    assert_eq!(rec.status, BackupStatus::Running);
    // The record is on disk before start_backup returned.
    assert!(record::record_path(&state, &rec.id).is_file());
    let (snap, mut rx) = engine.subscribe(&rec.id).unwrap();
    assert_eq!(snap.id, rec.id);
    match engine.start_backup(Trigger::Manual, None) {
        Err(StartError::Busy {
            kind: JobKind::Backup,
            id,
        }) => assert_eq!(id, rec.id),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        engine.try_lock_exclusive(JobKind::Restore, "r1"),
        Err(StartError::Busy { .. })
    ));
    assert_eq!(engine.running().map(|j| j.id), Some(rec.id.clone()));
    // Wait for some progress, then cancel.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut events = Vec::new();
    rt.block_on(async {
        while let Ok(Ok(ev)) = tokio::time::timeout(Duration::from_secs(20), rx.recv()).await {
            let progressed = matches!(&ev, BackupEvent::Progress { files_linked, files_copied, .. } if files_linked + files_copied > 3);
            events.push(ev);
            if progressed {
                break;
            }
        }
    });
    let c = engine.cancel_backup(&rec.id).unwrap();
    assert_eq!(c.status, BackupStatus::Running);
    rt.block_on(async {
        while let Ok(Ok(ev)) = tokio::time::timeout(Duration::from_secs(20), rx.recv()).await {
            events.push(ev);
        }
    });
    assert!(events
        .iter()
        .any(|e| matches!(e, BackupEvent::Progress { name, .. } if name == "trk")));
    assert_eq!(
        events.last(),
        Some(&BackupEvent::End {
            status: BackupStatus::Cancelled
        })
    );
    let done = engine.wait_blocking(&rec.id, WAIT).unwrap();
    assert_eq!(done.status, BackupStatus::Cancelled);
    assert!(done.errors.iter().any(|e| e.contains("cancelled")));
    assert_eq!(all_slots(&specs), before);
    assert!(temporaries(&specs).is_empty());
    assert!(matches!(
        engine.cancel_backup(&rec.id),
        Err(CancelError::NotRunning {
            status: BackupStatus::Cancelled
        })
    ));
    assert!(matches!(
        engine.cancel_backup("nope"),
        Err(CancelError::NotFound)
    ));
    // A finished backup: snapshot, and a receiver that yields nothing.
    let (snap, mut rx) = engine.subscribe(&rec.id).unwrap();
    assert_eq!(snap.status, BackupStatus::Cancelled);
    assert!(rx.try_recv().is_err());
    assert!(engine.running().is_none());
    // The lock is shared with restores.
    let guard = engine.try_lock_exclusive(JobKind::Restore, "r1").unwrap();
    assert!(matches!(
        engine.start_backup(Trigger::Manual, None),
        Err(StartError::Busy {
            kind: JobKind::Restore,
            ..
        })
    ));
    drop(guard);
    assert!(engine.running().is_none());
}

#[test]
fn a_panic_fails_the_backup_and_frees_the_lock() {
    let (_root, specs, state) = setup(2);
    let engine = open(&state, &specs, "panic:lui");
    let rec = run(&engine);
    assert_eq!(rec.status, BackupStatus::Failed);
    assert!(
        rec.all_errors()
            .iter()
            .any(|e| e.contains("internal error")),
        "{rec:#?}"
    );
    assert!(temporaries(&specs).is_empty());
    assert!(all_slots(&specs).is_empty());
    assert!(engine.running().is_none());
}

fn running_record(specs: &[ComponentSpec], id: &str, decided: bool, state: &Path) -> BackupRecord {
    let rec = BackupRecord {
        id: id.into(),
        status: BackupStatus::Running,
        trigger: Trigger::Schedule,
        scheduled_for: None,
        started_at: now(),
        finished_at: None,
        components: specs
            .iter()
            .map(|s| ComponentProgress {
                status: if decided {
                    ComponentStatus::Prepared
                } else {
                    ComponentStatus::Preparing
                },
                ..ComponentProgress::pending(
                    &s.name,
                    &s.backup_folder.display().to_string(),
                    s.keep,
                    None,
                )
            })
            .collect(),
        errors: vec![],
        notes: vec![],
        commit_decided: decided,
        report: report::report_path(state, id).display().to_string(),
        kept_stagings: vec![],
        hook_pending: false,
        heuristic: vec![],
    };
    record::save(state, &rec).unwrap();
    rec
}

/// A complete staging folder for `id`: a copy of slot 0 with its readme rewritten.
fn fake_staging(spec: &ComponentSpec, id: &str) -> PathBuf {
    let layout = SlotLayout::of(&spec.backup_folder).unwrap();
    let staging = layout.staging(id);
    let st = Command::new("cp")
        .arg("-a")
        .arg(layout.slot(0))
        .arg(&staging)
        .status()
        .unwrap();
    assert!(st.success());
    let mut r = Readme::read_from(&staging).unwrap();
    r.backup_id = id.into();
    fs::remove_file(staging.join("readme.txt")).unwrap();
    fs::write(staging.join("readme.txt"), r.render()).unwrap();
    staging
}

#[test]
fn recovery_marks_interrupted_and_removes_staging() {
    let (_root, specs, state) = setup(2);
    let engine = open(&state, &specs, "");
    let first = run(&engine);
    drop(engine);
    let before = all_slots(&specs);
    let id = "29990101T000000Z";
    running_record(&specs, id, false, &state);
    let staging = fake_staging(&specs[0], id);
    // Leftovers: trash of a backup a record names goes; a folder at a staging name that
    // no record names was not provably made by the product and stays.
    let lui = SlotLayout::of(&specs[1].backup_folder).unwrap();
    let trash = lui.trash(&first.id, 3);
    fs::create_dir_all(trash.join("x")).unwrap();
    let stray = lui.staging("20000101T000000Z");
    fs::create_dir_all(stray.join("x")).unwrap();

    let engine = open(&state, &specs, "");
    let rec = engine.get_backup(id).unwrap();
    assert_eq!(rec.status, BackupStatus::Interrupted);
    assert!(rec.finished_at.is_some());
    assert!(rec.errors.iter().any(|e| e.contains("interrupted")));
    assert!(!staging.exists() && !trash.exists());
    assert!(stray.join("x").is_dir());
    assert_eq!(all_slots(&specs), before);
    assert_eq!(slot_id(&specs[0].backup_folder), first.id);
    let failed =
        Readme::read_from(&SlotLayout::of(&specs[0].backup_folder).unwrap().failed()).unwrap();
    assert_eq!(failed.backup_id, id);
    let report = fs::read_to_string(engine.report_path(id).unwrap()).unwrap();
    assert!(!report.contains("completed successfully"));
    // Delivered to the finish listener once, when it is set.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    engine.set_finish_listener(Arc::new(move |r: &BackupRecord| {
        lock(&s2).push(r.clone());
        true
    }));
    // The first backup's hook is owed too: it ended while no listener was set.
    let seen_now: Vec<(String, BackupStatus)> = lock(&seen)
        .iter()
        .map(|r| (r.id.clone(), r.status))
        .collect();
    assert_eq!(
        seen_now,
        [
            (first.id.clone(), BackupStatus::Succeeded),
            (id.to_string(), BackupStatus::Interrupted)
        ]
    );
    assert_eq!(engine.recovered().len(), 1);
    assert!(!engine.get_backup(id).unwrap().hook_pending);
    engine.set_finish_listener(Arc::new(|_| true));
    // The next ID is above the recovered one.
    let next = run(&engine);
    assert!(next.id.as_str() > id);
    assert!(engine
        .list_backups(&ListQuery {
            limit: 100,
            ..Default::default()
        })
        .items
        .iter()
        .all(|r| r.status != BackupStatus::Running));
}

#[test]
fn recovery_rolls_a_decided_commit_forward() {
    let (_root, specs, state) = setup(2);
    let engine = open(&state, &specs, "");
    let b1 = run(&engine).id;
    let b2 = run(&engine).id;
    drop(engine);
    let id = "29990101T000000Z";
    running_record(&specs, id, true, &state);
    // hub: rotation half done (slots shifted, staging not renamed yet);
    let hub = SlotLayout::of(&specs[0].backup_folder).unwrap();
    fake_staging(&specs[0], id);
    fs::rename(hub.slot(1), hub.slot(2)).unwrap();
    fs::rename(hub.slot(0), hub.slot(1)).unwrap();
    // lui: nothing done yet; trk (keep 0): fully done.
    fake_staging(&specs[1], id);
    let trk = SlotLayout::of(&specs[2].backup_folder).unwrap();
    fake_staging(&specs[2], id);
    fs::rename(trk.slot(0), trk.trash(id, 0)).unwrap();
    fs::rename(trk.staging(id), trk.slot(0)).unwrap();

    let engine = open(&state, &specs, "");
    let rec = engine.get_backup(id).unwrap();
    assert_eq!(rec.status, BackupStatus::Succeeded, "{rec:#?}");
    assert!(rec.notes.iter().any(|n| n.contains("recovery completed")));
    assert!(rec
        .components
        .iter()
        .all(|c| c.status == ComponentStatus::Committed));
    assert_eq!(slot_id(&hub.slot(0)), id);
    assert_eq!(slot_id(&hub.slot(1)), b2);
    assert_eq!(slot_id(&hub.slot(2)), b1);
    let lui = SlotLayout::of(&specs[1].backup_folder).unwrap();
    assert_eq!(slot_id(&lui.slot(0)), id);
    assert_eq!(slot_id(&lui.slot(1)), b2);
    assert_eq!(slot_id(&lui.slot(2)), b1);
    assert_eq!(slot_id(&trk.slot(0)), id);
    assert!(!trk.slot(1).exists());
    assert!(temporaries(&specs).is_empty());
    let report = fs::read_to_string(engine.report_path(id).unwrap()).unwrap();
    assert!(
        report.trim_end().lines().rev().nth(1) == Some("The backup was completed successfully")
    );
}

// ---- Real crashes: the test binary re-runs itself as a child that dies mid-backup. ----

const CHILD_ROOT: &str = "BACKUP_MASTER_TEST_CRASH_ROOT";

/// The child: opens the engine (faults from the environment) and runs a backup. Only does
/// something when started by a crash test.
#[test]
#[ignore]
fn crash_child() {
    let Ok(root) = std::env::var(CHILD_ROOT) else {
        return;
    };
    let root = PathBuf::from(root);
    let engine = BackupJobs::open(root.join("state"), specs_for(&root)).unwrap();
    let rec = engine.start_backup(Trigger::Manual, None).unwrap();
    println!("started {}", rec.id);
    engine.wait_blocking(&rec.id, WAIT);
}

fn spawn_child(root: &Path, faults: &str) -> std::process::Child {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "jobs::tests::crash_child",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_ROOT, root)
    .env(crate::engine::faults::FAULTS_ENV, faults)
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null());
    // SAFETY: setrlimit is async-signal-safe; no core dumps from the aborting child.
    unsafe {
        cmd.pre_exec(|| {
            let zero = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &zero);
            Ok(())
        });
    }
    cmd.spawn().unwrap()
}

fn crash_then_recover(
    faults: &str,
) -> (
    tempfile::TempDir,
    Vec<ComponentSpec>,
    Vec<String>,
    BackupRecord,
) {
    let (root, specs, state) = setup(3);
    let engine = open(&state, &specs, "");
    let ids = vec![run(&engine).id, run(&engine).id];
    drop(engine);
    let status = spawn_child(root.path(), faults).wait().unwrap();
    assert!(!status.success(), "the child should have died");
    let engine = open(&state, &specs, "");
    let all = engine.list_backups(&ListQuery {
        limit: 10,
        ..Default::default()
    });
    assert_eq!(all.items.len(), 3);
    (root, specs, ids, all.items[0].clone())
}

#[test]
fn crash_after_decision_is_rolled_forward() {
    let (_root, specs, ids, rec) = crash_then_recover("abort_after_decision");
    assert_eq!(rec.status, BackupStatus::Succeeded, "{rec:#?}");
    assert!(rec.commit_decided);
    for s in &specs {
        let l = SlotLayout::of(&s.backup_folder).unwrap();
        assert_eq!(slot_id(&l.slot(0)), rec.id);
        assert!(sha256sum_ok(&l.slot(0)));
        if s.keep >= 1 {
            assert_eq!(slot_id(&l.slot(1)), ids[1]);
        }
    }
    assert!(temporaries(&specs).is_empty());
}

#[test]
fn crash_mid_rotation_is_rolled_forward() {
    let (_root, specs, ids, rec) = crash_then_recover("abort_mid_rotation:lui");
    assert_eq!(rec.status, BackupStatus::Succeeded, "{rec:#?}");
    let lui = SlotLayout::of(&specs[1].backup_folder).unwrap();
    assert_eq!(slot_id(&lui.slot(0)), rec.id);
    assert_eq!(slot_id(&lui.slot(1)), ids[1]);
    assert_eq!(slot_id(&lui.slot(2)), ids[0]);
    assert!(!lui.slot(3).exists());
    assert!(temporaries(&specs).is_empty());
}

#[test]
fn kill_during_prepare_changes_no_slot() {
    let (root, specs, state) = setup(40);
    let engine = open(&state, &specs, "");
    run(&engine);
    drop(engine);
    let before = all_slots(&specs);
    let mut child = spawn_child(root.path(), "slow_copy_ms:50");
    // Wait until a staging folder exists, then kill -9.
    let deadline = Instant::now() + WAIT;
    while temporaries(&specs).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(100));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !temporaries(&specs).is_empty(),
        "the child should have died mid-prepare"
    );
    let engine = open(&state, &specs, "");
    let all = engine.list_backups(&ListQuery {
        limit: 10,
        ..Default::default()
    });
    assert_eq!(all.items[0].status, BackupStatus::Interrupted);
    assert_eq!(all_slots(&specs), before);
    assert!(temporaries(&specs).is_empty());
}

/// Unmounts on drop, also when the test fails.
struct Mount(PathBuf);
impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// A real full disk: the backup folder on a 1 MiB tmpfs (skipped where mounting is not
/// allowed).
#[test]
fn a_full_disk_fails_cleanly() {
    let (root, mut specs, state) = setup(1);
    let mnt = root.path().join("small-disk");
    fs::create_dir_all(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&mnt)
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !mounted {
        eprintln!("skipping: cannot mount a tmpfs here");
        return;
    }
    let _guard = Mount(mnt.clone());
    specs[1].backup_folder = mnt.join("backup");
    let engine = open(&state, &specs, "");
    let first = run(&engine);
    assert_eq!(first.status, BackupStatus::Succeeded, "{first:#?}");
    let before = all_slots(&specs);
    // 3 MB of new data cannot fit.
    fs::write(root.path().join("lui/luidata/big.bin"), vec![7u8; 3 << 20]).unwrap();
    let rec = run(&engine);
    assert_eq!(rec.status, BackupStatus::Failed);
    let err = rec.components[1].errors.join(" ");
    assert!(
        err.contains("No space left on device") && err.contains("big.bin"),
        "{err}"
    );
    assert_eq!(all_slots(&specs), before);
    assert!(temporaries(&specs).is_empty());
    // The process is fine and the next backup works once there is room.
    fs::remove_file(root.path().join("lui/luidata/big.bin")).unwrap();
    assert_eq!(run(&engine).status, BackupStatus::Succeeded);
}

#[test]
fn an_unreadable_record_keeps_its_staging_until_an_operator_discards_it() {
    let (_root, specs, state) = setup(2);
    let engine = open(&state, &specs, "");
    let first = run(&engine);
    drop(engine);
    let id = "29990101T000000Z";
    let staging = fake_staging(&specs[0], id);
    let file = record::record_path(&state, id);
    fs::write(&file, b"{ not json").unwrap();

    for _start in 0..2 {
        let engine = open(&state, &specs, "");
        assert!(
            staging.is_dir(),
            "start-up removed the staging of an unreadable record"
        );
        let rec = engine.get_backup(id).unwrap();
        assert_eq!(rec.status, BackupStatus::Interrupted);
        assert_eq!(rec.kept_stagings.len(), 1, "{rec:#?}");
        assert!(rec.errors[0].contains("cannot be read"), "{rec:#?}");
        assert!(matches!(
            engine.start_backup(Trigger::Manual, None),
            Err(StartError::StagingKept { id: ref i, .. }) if i == id
        ));
        assert_eq!(engine.kept_stagings().len(), 1);
    }
    let engine = open(&state, &specs, "");
    // Ownership is checked right before the removal: a readme naming another backup
    // stops it, and nothing is removed.
    let readme = staging.join("readme.txt");
    let good = fs::read(&readme).unwrap();
    let mut other = Readme::read_from(&staging).unwrap();
    other.backup_id = first.id.clone();
    fs::write(&readme, other.render()).unwrap();
    assert!(matches!(
        engine.discard_kept_stagings(id),
        Err(DiscardError::NotOurs(_))
    ));
    assert!(staging.is_dir());
    fs::write(&readme, good).unwrap();
    let rec = engine.discard_kept_stagings(id).unwrap();
    assert!(rec.kept_stagings.is_empty());
    assert!(rec.notes.iter().any(|n| n.contains("discarded")));
    assert!(!staging.exists());
    assert!(file.with_extension("json.unreadable").exists());
    assert!(matches!(
        engine.discard_kept_stagings(id),
        Err(DiscardError::NothingKept(_))
    ));
    assert_eq!(run(&engine).status, BackupStatus::Succeeded);
    drop(engine);
    let engine = open(&state, &specs, "");
    assert!(engine.get_backup(id).unwrap().kept_stagings.is_empty());
}

/// A local store that says it is remote and does not acknowledge its first commits (an
/// agent that is down for a while).
struct LateRemote {
    local: LocalStore,
    refusals_left: std::sync::atomic::AtomicU32,
}

#[async_trait::async_trait]
impl ComponentStore for LateRemote {
    fn is_remote(&self) -> bool {
        true
    }
    async fn prepare(
        &self,
        id: &str,
        spec: &ComponentSpec,
        cancel: CancelToken,
        progress: crate::store::ProgressSink,
    ) -> crate::store::PrepareOutcome {
        self.local.prepare(id, spec, cancel, progress).await
    }
    async fn commit(
        &self,
        id: &str,
        spec: &ComponentSpec,
    ) -> Result<crate::store::Ack, crate::store::StoreError> {
        let left = self.refusals_left.load(Ordering::SeqCst);
        if left > 0 {
            self.refusals_left.store(left - 1, Ordering::SeqCst);
            return Err(crate::store::StoreError::Remote("agent down".into()));
        }
        self.local.commit(id, spec).await
    }
    async fn abort(
        &self,
        id: &str,
        spec: &ComponentSpec,
        errors: &[String],
    ) -> Result<crate::store::Ack, crate::store::StoreError> {
        self.local.abort(id, spec, errors).await
    }
    async fn history(
        &self,
        spec: &ComponentSpec,
    ) -> Result<Vec<SlotInfo>, crate::store::StoreError> {
        self.local.history(spec).await
    }
    async fn remove_temporaries(
        &self,
        _spec: &ComponentSpec,
        _keep: &[String],
    ) -> Result<Vec<String>, crate::store::StoreError> {
        Ok(vec![])
    }
}

#[test]
fn two_pending_roll_forwards_hold_the_lock_from_open_to_the_end_of_both() {
    let (_root, specs, state) = setup(2);
    let engine = open(&state, &specs, "");
    let b1 = run(&engine).id;
    drop(engine);
    let (id1, id2) = ("29990101T000000Z", "29990101T000001Z");
    for id in [id1, id2] {
        running_record(&specs, id, true, &state);
    }
    // Both decided, neither committed: id1's stagings now, id2's once id1 is through
    // (each staging is a copy of slot 0 at that time).
    for s in &specs {
        fake_staging(s, id1);
    }
    let late: Arc<dyn ComponentStore> = Arc::new(LateRemote {
        local: LocalStore::new(Arc::new(Faults::none())),
        refusals_left: std::sync::atomic::AtomicU32::new(3),
    });
    let local: Arc<dyn ComponentStore> = Arc::new(LocalStore::new(Arc::new(Faults::none())));
    let factory: StoreFactory = Arc::new(move |spec: &ComponentSpec| {
        if spec.name == "hub" {
            late.clone()
        } else {
            local.clone()
        }
    });
    let engine =
        BackupJobs::open_with(state.clone(), specs.clone(), Faults::none(), Some(factory)).unwrap();
    for s in &specs {
        fake_staging(s, id2);
    }
    let deadline = Instant::now() + WAIT;
    let mut holders = Vec::new();
    // A backup started in the instant after the last roll-forward gave the lock up.
    let mut later: Option<String> = None;
    loop {
        let done = [id1, id2]
            .iter()
            .all(|id| engine.get_backup(id).unwrap().status.is_final());
        let held = engine.running();
        if done && held.is_none() {
            break;
        }
        if !done {
            let held = held.expect("the job lock was free while a roll-forward was pending");
            assert!(held.id == id1 || held.id == id2, "{held:?}");
            if holders.last() != Some(&held.id) {
                holders.push(held.id.clone());
            }
            match engine.start_backup(Trigger::Manual, None) {
                Err(StartError::Busy { .. }) => {}
                other => {
                    // The lock is given up only with the last end, visible at once.
                    let both = [id1, id2]
                        .iter()
                        .all(|id| engine.get_backup(id).unwrap().status.is_final());
                    assert!(both, "a backup started during a roll-forward: {other:?}");
                    later = other.ok().map(|r| r.id);
                }
            }
        }
        assert!(Instant::now() < deadline, "the roll-forwards did not end");
        std::thread::sleep(Duration::from_millis(2));
    }
    if let Some(l) = &later {
        assert_eq!(
            engine.wait_blocking(l, WAIT).unwrap().status,
            BackupStatus::Succeeded
        );
    }
    assert_eq!(holders, [id1, id2]);
    for id in [id1, id2] {
        let rec = engine.get_backup(id).unwrap();
        assert_eq!(rec.status, BackupStatus::Succeeded, "{rec:#?}");
        assert!(rec.notes.iter().any(|n| n == recovery::ROLLED_FORWARD));
    }
    let hub = SlotLayout::of(&specs[0].backup_folder).unwrap();
    let want: Vec<String> = later
        .into_iter()
        .chain([id2.to_string(), id1.to_string(), b1])
        .collect();
    for (k, id) in want.iter().enumerate() {
        assert_eq!(&slot_id(&hub.slot(k as u32)), id, "slot {k}");
    }
    assert!(temporaries(&specs).is_empty());
}

#[test]
fn second_engine_on_the_same_state_dir_is_refused() {
    let (_root, specs, state) = setup(1);
    let _engine = open(&state, &specs, "");
    assert!(matches!(
        BackupJobs::open_with(state.clone(), specs.clone(), Faults::none(), None),
        Err(EngineError::StateLocked(_))
    ));
}
