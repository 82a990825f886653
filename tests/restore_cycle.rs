//! Restores through the real server against fake homes: the full cycle (back up, change, back
//! up, damage, restore the latest set and the older one, every item compared exactly with the
//! backup), dry run, `my.ini`, an old-style tracker backup, folders from an external medium,
//! refusals with nothing changed, a fault mid-apply, kill -9 mid-restore, a crash during the
//! rollback, and 409 between backups and restores. After every restore the real
//! `sha256sum -c` still passes in the backup folders.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const ITEMS: [(&str, &[&str]); 3] = [
    ("hub", &["hub.ini", "accountreg", "hubreg"]),
    ("lui", &["lui.ini", "luidata", "registry"]),
    ("trk", &["tracker.ini", "data"]),
];

fn touch(p: &Path, when: &str) {
    let st = Command::new("touch")
        .args(["-h", "-d", when])
        .arg(p)
        .status()
        .unwrap();
    assert!(st.success());
}

/// More of what a restore must keep: links, modes, old mtimes, a read-only folder.
fn enrich(s: &Setup) {
    std::os::unix::fs::symlink("../hub.ini", s.home("hub").join("hubreg/link")).unwrap();
    std::os::unix::fs::symlink("gone", s.home("lui").join("registry/dangling")).unwrap();
    let acc = s.home("hub").join("accountreg/accounts.dat");
    std::fs::set_permissions(&acc, std::fs::Permissions::from_mode(0o600)).unwrap();
    touch(&acc, "@1000000000.25");
    let run = s.home("lui").join("registry/run.sh");
    write(&run, b"#!/bin/sh\n");
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o750)).unwrap();
    let locked = s.home("lui").join("registry/locked");
    write(&locked.join("key.reg"), b"key\n");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o500)).unwrap();
    let ro = s.home("trk").join("data/ro");
    write(&ro.join("frozen.dat"), b"frozen\n");
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    touch(&s.home("trk").join("data/sub dir"), "@1100000000");
}

/// A folder, a file and an item's content damaged; a stray file inside an item.
fn damage(s: &Setup) {
    std::fs::remove_dir_all(s.home("hub").join("hubreg")).unwrap();
    write(&s.home("hub").join("accountreg/stray.txt"), b"stray\n");
    write(&s.home("lui").join("luidata/db/jobs.ibd"), b"corrupted");
    write(&s.home("trk").join("data/stray.dat"), b"stray\n");
    std::fs::remove_file(s.home("trk").join("tracker.ini")).unwrap();
}

fn homes(s: &Setup) -> PathBuf {
    s.path().join("homes")
}

/// Every slot of every component passes the real `sha256sum -c`.
fn all_slots_verify(s: &Setup) {
    for (c, _) in ITEMS {
        for slot in slots(&s.home(c)) {
            assert!(
                sha256sum_ok(&s.home(c).join(&slot)),
                "{c}/{slot} no longer verifies"
            );
        }
    }
}

fn canon(p: &Path) -> String {
    std::fs::canonicalize(p).unwrap().display().to_string()
}

/// Every item of component `c` in its home equals the one in `folder`: content, modes,
/// mtimes, links, empty folders; `lui.ini` is the backup's plus the one line naming `folder`.
fn items_equal(s: &Setup, c: &str, items: &[&str], folder: &Path) {
    let home = s.home(c);
    for item in items {
        let (h, b) = (home.join(item), folder.join(item));
        if *item == "lui.ini" {
            let mut want = std::fs::read(&b).unwrap();
            want.extend_from_slice(format!("RestoreFromBackup={}\n", canon(folder)).as_bytes());
            assert_eq!(
                String::from_utf8_lossy(&std::fs::read(&h).unwrap()),
                String::from_utf8_lossy(&want),
                "{c}/lui.ini"
            );
            let mode = |p: &Path| std::fs::metadata(p).unwrap().mode();
            assert_eq!(mode(&h), mode(&b), "{c}/lui.ini mode");
            continue;
        }
        assert_eq!(
            snapshot_meta(&h, &[]),
            snapshot_meta(&b, &[]),
            "{c}/{item} differs from {}",
            b.display()
        );
    }
    // Copies, never links into the backup.
    let first_file = items
        .iter()
        .map(|i| home.join(i))
        .find(|p| p.is_file())
        .unwrap();
    let rel = first_file.strip_prefix(&home).unwrap();
    assert_ne!(
        std::fs::metadata(&first_file).unwrap().ino(),
        std::fs::metadata(folder.join(rel)).unwrap().ino(),
        "{c}: a restored file is a hard link into the backup"
    );
    // The newest restore keeps its safety folder (it can be undone); an earlier restore's
    // was discarded when this one succeeded.
    assert_eq!(
        safety_folders(&home).len(),
        1,
        "{c}: {:?}",
        safety_folders(&home)
    );
}

fn outside_items(s: &Setup) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut m = BTreeMap::new();
    for (c, dirs) in [
        ("hub", &["logs", "tmp"][..]),
        ("lui", &["logs", "tmp", "database"]),
        ("trk", &["logs", "tmp"]),
    ] {
        for d in dirs {
            m.insert(format!("{c}/{d}"), snapshot_meta(&s.home(c).join(d), &[]));
        }
    }
    m
}

/// Every item of every component (and what lies outside the items), with modes and mtimes.
fn items_snapshot(s: &Setup) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut m = outside_items(s);
    for (c, items) in ITEMS {
        for item in items {
            let p = s.home(c).join(item);
            let snap = if p.exists() {
                snapshot_meta(&p, &[])
            } else {
                BTreeMap::new()
            };
            m.insert(format!("{c}/{item}"), snap);
        }
    }
    m
}

fn actions(rec: &Value) -> Vec<String> {
    rec["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert!(s["at"].as_str().is_some_and(|t| t.ends_with('Z')), "{s}");
            s["action"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn full_cycle_restores_latest_and_older_set_exactly() {
    let s = Setup::new(2);
    enrich(&s);
    let server = s.start();
    let b1 = run_backup(&server);
    assert_eq!(b1["status"], "succeeded", "{b1}");
    write(
        &s.home("hub").join("hubreg/components.reg"),
        b"lui=remote\n",
    );
    write(&s.home("lui").join("luidata/new.csv"), b"new\n");
    let b2 = run_backup(&server);
    assert_eq!(b2["status"], "succeeded", "{b2}");
    let (id1, id2) = (b1["id"].as_str().unwrap(), b2["id"].as_str().unwrap());
    damage(&s);
    let outside = outside_items(&s);

    // Restore the latest set.
    let r = post_restore(&server, &json!({"backup_id": id2}));
    assert_eq!(r.status(), 202);
    let started: Value = r.json().unwrap();
    assert_eq!(started["status"], "running", "{started}");
    assert_eq!(started["backup_id"], id2);
    assert!(started["id"].as_str().unwrap().starts_with('R'));
    let rec = wait_restore(&server, started["id"].as_str().unwrap());
    assert_eq!(rec["status"], "succeeded", "{rec:#}");
    assert!(rec["errors"].as_array().unwrap().is_empty(), "{rec:#}");
    for (c, items) in ITEMS {
        items_equal(&s, c, items, &s.home(c).join("backup"));
    }
    assert!(!s.home("hub").join("accountreg/stray.txt").exists());
    assert!(!s.home("trk").join("data/stray.dat").exists());
    assert_eq!(
        outside_items(&s),
        outside,
        "files outside the items changed"
    );
    all_slots_verify(&s);

    // The record: set ID, plan per component, steps with times, every path changed.
    let rec = server.get_json(
        &format!("/api/v1/restores/{}", rec["id"].as_str().unwrap()),
        VIEWER,
    );
    let comps = rec["components"].as_array().unwrap();
    assert_eq!(comps.len(), 3);
    let hub_home = s.home("hub").display().to_string();
    for c in comps {
        assert_eq!(c["status"], "restored", "{c}");
        assert_eq!(c["origin"], "slot");
        assert_eq!(c["slot"], "backup");
        let name = c["name"].as_str().unwrap();
        assert_eq!(
            c["source_folder"].as_str().unwrap(),
            canon(&s.home(name).join("backup"))
        );
        assert!(c["files"].as_u64().unwrap() > 0);
    }
    assert_eq!(
        comps[0]["remove"],
        json!([
            format!("{hub_home}/accountreg"),
            format!("{hub_home}/hub.ini")
        ]),
        "hubreg was deleted, so only these were moved aside"
    );
    assert_eq!(comps[0]["copy"].as_array().unwrap().len(), 3);
    assert_eq!(
        comps[1]["edit"][0]["append"].as_str().unwrap(),
        format!("RestoreFromBackup={}", canon(&s.home("lui").join("backup")))
    );
    let acts = actions(&rec);
    for a in [
        "planned",
        "verified",
        "component_started",
        "created_safety_folder",
        "moved_aside",
        "copied",
        "edited",
        "component_applied",
        "commit_decided",
        "finished",
    ] {
        assert!(acts.contains(&a.to_string()), "no {a} step: {acts:?}");
    }
    assert_eq!(rec["undo_available"], true, "{rec:#}");
    let first = rec["id"].as_str().unwrap().to_string();
    for c in rec["components"].as_array().unwrap() {
        assert!(c["safety_copy"]["bytes"].as_u64().unwrap() > 0, "{c}");
    }
    let changed: Vec<&str> = rec["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for p in [
        format!("{hub_home}/hubreg"),
        format!("{hub_home}/hub.ini"),
        format!("{}/lui.ini", s.home("lui").display()),
        format!("{}/data", s.home("trk").display()),
    ] {
        assert!(changed.contains(&p.as_str()), "{p} not in {changed:?}");
    }
    assert!(rec["verification"]
        .as_array()
        .unwrap()
        .iter()
        .all(|v| v["ok"] == true));
    let list = server.get_json("/api/v1/restores", VIEWER);
    assert_eq!(list["items"][0]["id"], rec["id"]);

    // Restore the older set, from backup1.
    assert_eq!(readme_id(&s.home("hub").join("backup1")), id1);
    let rec = run_restore(&server, &json!({"backup_id": id1}));
    assert_eq!(rec["status"], "succeeded", "{rec:#}");
    for (c, items) in ITEMS {
        items_equal(&s, c, items, &s.home(c).join("backup1"));
    }
    assert!(!s.home("lui").join("luidata/new.csv").exists());
    assert_eq!(
        std::fs::read(s.home("hub").join("hubreg/components.reg")).unwrap(),
        b"lui=local\n"
    );
    assert_eq!(rec["components"][0]["slot"], "backup1");
    let discarded = rec["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s["action"] == "removed_safety_folder"
                && s["detail"].as_str().unwrap_or("").contains(&first)
        })
        .count();
    assert_eq!(
        discarded, 3,
        "the first restore's copies are discarded: {rec:#}"
    );
    assert_eq!(outside_items(&s), outside);
    all_slots_verify(&s);
}

#[test]
fn dry_run_changes_nothing_and_returns_the_plan() {
    let s = Setup::new(1);
    enrich(&s);
    let server = s.start();
    let id = run_backup(&server)["id"].as_str().unwrap().to_string();
    damage(&s);
    let before = snapshot_meta(&homes(&s), &[]);
    let r = post_restore(&server, &json!({"backup_id": id, "dry_run": true}));
    assert_eq!(r.status(), 200, "a dry run answers with its plan");
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let rec: Value = r.json().unwrap();
    assert_eq!(rec["status"], "planned", "{rec:#}");
    assert_eq!(rec["dry_run"], true);
    assert_eq!(
        snapshot_meta(&homes(&s), &[]),
        before,
        "a dry run changed the disk"
    );
    for (c, _) in ITEMS {
        assert!(safety_folders(&s.home(c)).is_empty());
    }
    let trk = &rec["components"][2];
    let trk_home = s.home("trk").display().to_string();
    assert_eq!(trk["remove"], json!([format!("{trk_home}/data")]), "{trk}");
    let trk_backup = canon(&s.home("trk").join("backup"));
    assert_eq!(
        trk["copy"],
        json!([
            {"from": format!("{trk_backup}/data"), "to": format!("{trk_home}/data"), "kind": "folder"},
            {"from": format!("{trk_backup}/tracker.ini"), "to": format!("{trk_home}/tracker.ini"), "kind": "file"},
        ])
    );
    assert!(rec["components"][1]["edit"][0]["append"]
        .as_str()
        .unwrap()
        .starts_with("RestoreFromBackup=/"));
    assert!(rec["changed"].as_array().unwrap().is_empty());
    assert!(trk["safety_folder"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/.pre-restore-{}", rec["id"].as_str().unwrap())));
    // Kept like any restore.
    assert_eq!(server.get_json(&loc, VIEWER)["status"], "planned");
    assert_eq!(snapshot_meta(&homes(&s), &[]), before);
}

#[test]
fn my_ini_of_an_old_backup_is_never_restored() {
    let s = Setup::new(1);
    let server = s.start();
    let id = run_backup(&server)["id"].as_str().unwrap().to_string();
    // An old backup holds a my.ini (listed in its SHA256SUMS, so the folder verifies).
    let b = s.home("lui").join("backup");
    write(&b.join("my.ini"), b"[mysqld]\nold=1\n");
    let st = Command::new("sh")
        .args(["-c", "sha256sum my.ini >> SHA256SUMS"])
        .current_dir(&b)
        .status()
        .unwrap();
    assert!(st.success());
    assert!(sha256sum_ok(&b));
    let db = snapshot_meta(&s.home("lui").join("database"), &[]);
    let rec = run_restore(&server, &json!({"backup_id": id, "components": ["lui"]}));
    assert_eq!(rec["status"], "succeeded", "{rec:#}");
    assert!(
        !s.home("lui").join("my.ini").exists(),
        "my.ini was restored"
    );
    assert_eq!(snapshot_meta(&s.home("lui").join("database"), &[]), db);
    let skip = &rec["components"][0]["skip"][0];
    assert!(
        skip["path"].as_str().unwrap().ends_with("/backup/my.ini"),
        "{skip}"
    );
    assert!(rec["components"][0]["copy"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| !c["from"].as_str().unwrap().ends_with("my.ini")));
    assert!(sha256sum_ok(&b));
}

#[test]
fn old_style_tracker_backup_with_dat_files() {
    let s = Setup::new(1);
    let server = s.start();
    let id = run_backup(&server)["id"].as_str().unwrap().to_string();
    // A hand-built backup from before Maestro 2.0-4: *.dat files instead of data/.
    let tape = s.path().join("tape/trk-old");
    write(&tape.join("a.dat"), b"old a\n");
    write(&tape.join("B.DAT"), b"old b\n");
    write(&tape.join("tracker.ini"), b"[Tracker]\nold=1\n");
    std::fs::set_permissions(tape.join("a.dat"), std::fs::Permissions::from_mode(0o640)).unwrap();
    touch(&tape.join("a.dat"), "@1200000000.5");
    write(
        &tape.join("readme.txt"),
        format!(
            "Backup ID: {id}\nComponent: trk\nStarted: 2020-01-01T00:00:00Z\n\
             Finished: 2020-01-01T00:00:01Z\nResult: success\n"
        )
        .as_bytes(),
    );
    let st = Command::new("sh")
        .args(["-c", "sha256sum a.dat B.DAT tracker.ini > SHA256SUMS"])
        .current_dir(&tape)
        .status()
        .unwrap();
    assert!(st.success());
    write(&s.home("trk").join("data/old.dat"), b"to be replaced\n");
    let others = (
        snapshot_meta(&s.home("hub"), &[]),
        snapshot_meta(&s.home("lui"), &[]),
    );
    let sub = snapshot_meta(&s.home("trk").join("data/sub dir"), &[]);

    let rec = run_restore(
        &server,
        &json!({"backup_id": id, "components": ["trk"], "source_folders": {"trk": tape}}),
    );
    assert_eq!(rec["status"], "succeeded", "{rec:#}");
    let c = &rec["components"][0];
    assert_eq!(c["layout"], "old_style_dat");
    assert_eq!(c["origin"], "source_folder");
    let data = s.home("trk").join("data");
    let home = s.home("trk").display().to_string();
    assert_eq!(
        c["remove"],
        json!([
            format!("{home}/data/events.dat"),
            format!("{home}/data/old.dat"),
            format!("{home}/tracker.ini")
        ])
    );
    for name in ["a.dat", "B.DAT"] {
        assert_eq!(
            snapshot_meta(&data.join(name), &[]),
            snapshot_meta(&tape.join(name), &[]),
            "{name}"
        );
    }
    assert!(!data.join("events.dat").exists() && !data.join("old.dat").exists());
    assert_eq!(
        snapshot_meta(&data.join("sub dir"), &[]),
        sub,
        "only data/*.dat are replaced"
    );
    assert!(data.join("empty").is_dir());
    assert_eq!(
        std::fs::read(s.home("trk").join("tracker.ini")).unwrap(),
        b"[Tracker]\nold=1\n"
    );
    assert_eq!(
        (
            snapshot_meta(&s.home("hub"), &[]),
            snapshot_meta(&s.home("lui"), &[])
        ),
        others,
        "other components were touched"
    );
    assert!(sha256sum_ok(&tape));
    all_slots_verify(&s);
}

#[test]
fn folders_from_an_external_medium() {
    let s = Setup::new(0);
    enrich(&s);
    let server = s.start();
    let id = run_backup(&server)["id"].as_str().unwrap().to_string();
    // The set goes to tape, and is lost from the disk.
    let tape = s.path().join("tape");
    std::fs::create_dir_all(&tape).unwrap();
    for (c, _) in ITEMS {
        let st = Command::new("cp")
            .arg("-a")
            .arg(s.home(c).join("backup"))
            .arg(tape.join(c))
            .status()
            .unwrap();
        assert!(st.success());
        std::fs::remove_dir_all(s.home(c).join("backup")).unwrap();
    }
    damage(&s);
    let before = snapshot_meta(&homes(&s), &[]);
    let p = assert_problem(post_restore(&server, &json!({"backup_id": id})), 404);
    assert_eq!(p["code"], "set_not_found", "{p}");
    let body = assert_problem(
        post_restore(
            &server,
            &json!({"backup_id": id, "source_folders": {"hub": tape.join("hub"), "lui": tape.join("lui")}}),
        ),
        422,
    );
    assert_eq!(problem_fields(&body), ["source_folders"], "{body}");
    assert!(body.to_string().contains("trk"), "{body}");
    // A folder of another component.
    let body = assert_problem(
        post_restore(
            &server,
            &json!({"backup_id": id, "components": ["hub"], "source_folders": {"hub": tape.join("lui")}}),
        ),
        422,
    );
    assert_eq!(problem_fields(&body), ["source_folders.hub"], "{body}");
    assert_eq!(snapshot_meta(&homes(&s), &[]), before);

    let folders: BTreeMap<&str, PathBuf> = ITEMS.iter().map(|(c, _)| (*c, tape.join(c))).collect();
    let rec = run_restore(
        &server,
        &json!({"backup_id": id, "source_folders": folders}),
    );
    assert_eq!(rec["status"], "succeeded", "{rec:#}");
    for (c, items) in ITEMS {
        items_equal(&s, c, items, &tape.join(c));
        assert!(
            sha256sum_ok(&tape.join(c)),
            "{c} on tape no longer verifies"
        );
    }
}

#[test]
fn refusals_change_nothing() {
    let s = Setup::new(1);
    let server = s.start();
    let id = run_backup(&server)["id"].as_str().unwrap().to_string();
    damage(&s);
    // The test itself changes backup folders below (and puts them back), so compare the items.
    let before = items_snapshot(&s);
    let fields = |body: Value, status: u16| {
        problem_fields(&assert_problem(post_restore(&server, &body), status))
    };

    assert_eq!(fields(json!({"backup_id": 5}), 422), ["backup_id"]);
    assert_eq!(fields(json!({}), 422), ["backup_id"]);
    assert_eq!(fields(json!({"backup_id": id, "bogus": 1}), 422), ["bogus"]);
    assert_eq!(
        fields(json!({"backup_id": "../../etc"}), 422),
        ["backup_id"]
    );
    assert!(fields(json!({"backup_id": "20000101T000000Z"}), 404).is_empty());
    assert_eq!(
        fields(json!({"backup_id": id, "components": ["nope"]}), 422),
        ["components[0]"]
    );
    assert_eq!(
        fields(json!({"backup_id": id, "components": []}), 422),
        ["components"]
    );
    assert_eq!(
        fields(
            json!({"backup_id": id, "source_folders": {"lui": "relative/x"}}),
            422
        ),
        ["source_folders.lui"]
    );
    assert_eq!(
        fields(
            json!({"backup_id": id, "source_folders": {"lui": "/does/not/exist"}}),
            422
        ),
        ["source_folders.lui"]
    );
    assert_eq!(
        fields(
            json!({"backup_id": id, "components": ["hub"], "source_folders": {"lui": "/x"}}),
            422
        ),
        ["source_folders.lui"]
    );

    // A set whose checksums do not verify.
    let f = s.home("hub").join("backup/accountreg/accounts.dat");
    let original = std::fs::read(&f).unwrap();
    std::fs::write(&f, b"bit rot").unwrap();
    let body = assert_problem(post_restore(&server, &json!({"backup_id": id})), 422);
    assert_eq!(problem_fields(&body), ["backup_id"]);
    assert!(
        body.to_string().contains("accountreg/accounts.dat"),
        "{body}"
    );
    assert_eq!(body["code"], "set_not_verified", "{body}");
    assert_eq!(body["type"], "/problems/validation", "{body}");
    // ... also for a dry run, and for that component alone.
    let body = json!({"backup_id": id, "components": ["hub"], "dry_run": true});
    assert_eq!(fields(body, 422), ["backup_id"]);
    std::fs::write(&f, &original).unwrap();

    // An incomplete set: refused, unless `components` leaves the missing one out.
    let trk = s.home("trk");
    std::fs::rename(trk.join("backup"), trk.join("elsewhere")).unwrap();
    let body = assert_problem(post_restore(&server, &json!({"backup_id": id})), 422);
    assert_eq!(problem_fields(&body), ["backup_id"]);
    assert!(body.to_string().contains("\\\"trk\\\""), "{body}");
    assert_eq!(body["code"], "set_incomplete", "{body}");
    let ok = post_restore(
        &server,
        &json!({"backup_id": id, "components": ["hub", "lui"], "dry_run": true}),
    );
    assert_eq!(ok.status(), 200);
    std::fs::rename(trk.join("elsewhere"), trk.join("backup")).unwrap();

    // A failed set (its readme says so).
    let readme = s.home("lui").join("backup/readme.txt");
    let text = std::fs::read_to_string(&readme).unwrap();
    std::fs::write(
        &readme,
        text.replace("Result: success", "Result: error\nError: disk on fire"),
    )
    .unwrap();
    let body = assert_problem(post_restore(&server, &json!({"backup_id": id})), 422);
    assert_eq!(problem_fields(&body), ["backup_id"]);
    assert!(body.to_string().contains("disk on fire"), "{body}");
    assert_eq!(body["code"], "set_failed", "{body}");
    let ok = post_restore(
        &server,
        &json!({"backup_id": id, "components": ["hub", "trk"], "dry_run": true}),
    );
    assert_eq!(ok.status(), 200);
    std::fs::write(&readme, text).unwrap();

    // A source folder of another backup.
    let tape = s.path().join("tape/hub");
    std::fs::create_dir_all(tape.parent().unwrap()).unwrap();
    let st = Command::new("cp")
        .arg("-a")
        .arg(s.home("hub").join("backup"))
        .arg(&tape)
        .status()
        .unwrap();
    assert!(st.success());
    let rd = tape.join("readme.txt");
    let t = std::fs::read_to_string(&rd)
        .unwrap()
        .replace(&id, "20000101T000000Z");
    std::fs::write(&rd, t).unwrap();
    assert_eq!(
        fields(
            json!({"backup_id": id, "source_folders": {"hub": tape}}),
            422
        ),
        ["source_folders.hub"]
    );

    // Unknown restores.
    assert_problem(
        server.get("/api/v1/restores/R20000101T000000Z", VIEWER),
        404,
    );
    let p = assert_problem(server.get("/api/v1/restores/nope", VIEWER), 404);
    assert_eq!(p["code"], "restore_not_found", "{p}");
    assert_problem(server.get("/api/v1/restores/..%2F..", VIEWER), 422);
    assert_problem(server.get("/api/v1/restores?limit=0", VIEWER), 422);

    assert_eq!(
        items_snapshot(&s),
        before,
        "a refused restore changed the disk"
    );
    for (c, _) in ITEMS {
        assert!(safety_folders(&s.home(c)).is_empty());
    }
    all_slots_verify(&s);
}

#[test]
fn a_restore_and_a_backup_never_run_together() {
    let s = Setup::new(1);
    let server = s.start_env(&[(
        "BACKUP_MASTER_FAULTS",
        "slow_copy_ms:100,restore_slow_ms:100",
    )]);
    let id = run_backup(&server)["id"].as_str().unwrap().to_string();
    // A restore during a backup.
    let running = start_backup(&server);
    let body = assert_problem(post_restore(&server, &json!({"backup_id": id})), 409);
    assert_eq!(body["running_id"], running);
    assert_eq!(body["code"], "job_running", "{body}");
    let body = assert_problem(
        post_restore(&server, &json!({"backup_id": id, "dry_run": true})),
        409,
    );
    assert_eq!(body["running_id"], running);
    assert_eq!(wait_backup(&server, &running)["status"], "succeeded");
    // A backup during a restore.
    let r = post_restore(&server, &json!({"backup_id": id}));
    assert_eq!(r.status(), 202);
    let rid = r.json::<Value>().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b = assert_problem(server.post("/api/v1/backups", OPERATOR, &json!({})), 409);
    assert_eq!(b["running_id"], rid);
    let b = assert_problem(post_restore(&server, &json!({"backup_id": id})), 409);
    assert_eq!(b["running_id"], rid);
    assert_eq!(wait_restore(&server, &rid)["status"], "succeeded");
    // The restored lui waits for its first start (which removes the RestoreFromBackup line):
    // until then backups are refused. It starts; then the backup runs.
    let b = assert_problem(server.post("/api/v1/backups", OPERATOR, &json!({})), 409);
    assert_eq!(b["type"], "/problems/restore-pending", "{b}");
    assert_eq!(b["code"], "restore_pending", "{b}");
    let ini = s.home("lui").join("lui.ini");
    let started: String = std::fs::read_to_string(&ini)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("RestoreFromBackup="))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&ini, started).unwrap();
    assert_eq!(run_backup(&server)["status"], "succeeded");
}

#[test]
fn a_fault_mid_apply_rolls_back_exactly() {
    let s = Setup::new(1);
    enrich(&s);
    let server = s.start_env(&[("BACKUP_MASTER_FAULTS", "restore_fail_after:lui")]);
    let id = run_backup(&server)["id"].as_str().unwrap().to_string();
    damage(&s);
    let before = snapshot_meta(&homes(&s), &[]);
    let rec = run_restore(&server, &json!({"backup_id": id}));
    assert_eq!(rec["status"], "failed", "{rec:#}");
    assert!(
        rec["errors"][0]
            .as_str()
            .unwrap()
            .contains("injected fault"),
        "{rec:#}"
    );
    let status: Vec<&str> = rec["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(status, ["rolled_back", "rolled_back", "pending"]);
    assert!(actions(&rec).contains(&"put_back".to_string()));
    assert_eq!(
        snapshot_meta(&homes(&s), &[]),
        before,
        "not rolled back exactly"
    );
    all_slots_verify(&s);
}

/// Enough files in lui that its copy takes seconds with `restore_slow_ms`.
fn many_files(s: &Setup) {
    for i in 0..300 {
        write(
            &s.home("lui").join(format!("luidata/bulk/f{i:03}.csv")),
            format!("row {i}\n").as_bytes(),
        );
    }
}

#[test]
fn kill_9_mid_restore_is_rolled_back_at_start_up() {
    let s = Setup::new(1);
    enrich(&s);
    many_files(&s);
    let mut server = s.start_env(&[("BACKUP_MASTER_FAULTS", "restore_slow_ms:20")]);
    let id = run_backup(&server)["id"].as_str().unwrap().to_string();
    damage(&s);
    let before = snapshot_meta(&homes(&s), &[]);
    let r = post_restore(&server, &json!({"backup_id": id}));
    assert_eq!(r.status(), 202);
    let rid = r.json::<Value>().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Wait until lui is being copied (hub already applied), then kill -9.
    poll("lui to be applying", Duration::from_secs(30), || {
        let rec = server.get_json(&format!("/api/v1/restores/{rid}"), VIEWER);
        (rec["components"][1]["status"] == "applying").then_some(())
    });
    // lui's items are moved aside before its copy: the kill lands mid-apply.
    poll("lui's items to be aside", Duration::from_secs(30), || {
        (!safety_folders(&s.home("lui")).is_empty()).then_some(())
    });
    server.kill9();
    drop(server);

    let server = s.start();
    let rec = server.get_json(&format!("/api/v1/restores/{rid}"), VIEWER);
    assert_eq!(rec["status"], "interrupted", "{rec:#}");
    assert!(rec["finished_at"].as_str().is_some());
    assert!(actions(&rec).contains(&"recovered".to_string()));
    assert_eq!(rec["components"][0]["status"], "rolled_back");
    assert_eq!(rec["components"][1]["status"], "rolled_back");
    assert_eq!(
        snapshot_meta(&homes(&s), &[]),
        before,
        "not rolled back exactly"
    );
    all_slots_verify(&s);
    // Nothing stays running; the next restore works.
    let list = server.get_json("/api/v1/restores?status=running", VIEWER);
    assert!(list["items"].as_array().unwrap().is_empty());
    let rec = run_restore(&server, &json!({"backup_id": id}));
    assert_eq!(rec["status"], "succeeded", "{rec:#}");
    for (c, items) in ITEMS {
        items_equal(&s, c, items, &s.home(c).join("backup"));
    }
}

#[test]
fn a_crash_during_the_rollback_is_rolled_back_again() {
    let s = Setup::new(1);
    enrich(&s);
    let mut server = s.start_env(&[(
        "BACKUP_MASTER_FAULTS",
        "restore_fail_after:lui,restore_abort_in_rollback:lui",
    )]);
    let id = run_backup(&server)["id"].as_str().unwrap().to_string();
    damage(&s);
    let before = snapshot_meta(&homes(&s), &[]);
    let r = post_restore(&server, &json!({"backup_id": id}));
    assert_eq!(r.status(), 202);
    let rid = r.json::<Value>().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_exit(&mut server.child, Duration::from_secs(60)).expect("the server aborts mid-rollback");
    drop(server);
    assert!(
        !safety_folders(&s.home("lui")).is_empty(),
        "the rollback should be half done"
    );
    let server = s.start();
    let rec = server.get_json(&format!("/api/v1/restores/{rid}"), VIEWER);
    assert_eq!(rec["status"], "interrupted", "{rec:#}");
    assert_eq!(
        snapshot_meta(&homes(&s), &[]),
        before,
        "not rolled back exactly"
    );
    all_slots_verify(&s);
}
