//! Undoable restores through the real server against fake homes: a restore keeps its safety
//! folders, `POST /restores/{id}/undo` puts every home back exactly as it was before it
//! (content, modes, mtimes, links, empty folders), `GET /restores/{id}` says whether undo is
//! possible and how many bytes the kept copy holds; a later restore, an undo, or `DELETE
//! /restores/{id}/safety-copy` discards the copy and makes undo 409; kill -9 during an undo is
//! rolled back at the next start.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;
use reqwest::blocking::Response;
use serde_json::{json, Value};

const COMPONENTS: [&str; 3] = ["hub", "lui", "trk"];
const SKIP: &[&str] = &[".pre-restore-"];

fn homes(s: &Setup) -> PathBuf {
    s.path().join("homes")
}

fn touch(p: &Path, when: &str) {
    let st = Command::new("touch")
        .args(["-h", "-d", when])
        .arg(p)
        .status()
        .unwrap();
    assert!(st.success());
}

/// Links, modes and old mtimes in the items, so "exactly" means something.
fn enrich(s: &Setup) {
    std::os::unix::fs::symlink("../hub.ini", s.home("hub").join("hubreg/link")).unwrap();
    let acc = s.home("hub").join("accountreg/accounts.dat");
    std::fs::set_permissions(&acc, std::fs::Permissions::from_mode(0o600)).unwrap();
    touch(&acc, "@1000000000.25");
    let run = s.home("lui").join("registry/run.sh");
    write(&run, b"#!/bin/sh\n");
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o750)).unwrap();
    touch(&s.home("trk").join("data/sub dir"), "@1100000000");
}

/// The damaged state an undo must give back: changed content, a changed mode, a different
/// link target, a new empty folder, a removed folder, a stray file, a removed file, old mtimes.
fn damage(s: &Setup) {
    std::fs::remove_dir_all(s.home("hub").join("hubreg")).unwrap();
    write(&s.home("hub").join("accountreg/stray.txt"), b"stray\n");
    std::fs::create_dir_all(s.home("hub").join("accountreg/new empty")).unwrap();
    std::os::unix::fs::symlink("elsewhere", s.home("hub").join("accountreg/link")).unwrap();
    let ibd = s.home("lui").join("luidata/db/jobs.ibd");
    write(&ibd, b"corrupted");
    std::fs::set_permissions(&ibd, std::fs::Permissions::from_mode(0o604)).unwrap();
    touch(&ibd, "@1200000000.5");
    write(&s.home("trk").join("data/stray.dat"), b"stray\n");
    std::fs::remove_file(s.home("trk").join("tracker.ini")).unwrap();
    touch(&s.home("trk").join("data"), "@1300000000");
}

fn many_files(s: &Setup) {
    for i in 0..200 {
        write(
            &s.home("lui").join(format!("luidata/bulk/f{i:03}.csv")),
            format!("row {i}\n").as_bytes(),
        );
    }
}

/// Bytes of the regular files below `root`.
fn bytes_below(root: &Path) -> u64 {
    let m = std::fs::symlink_metadata(root).unwrap();
    if m.is_file() {
        return m.len();
    }
    if !m.is_dir() {
        return 0;
    }
    std::fs::read_dir(root)
        .unwrap()
        .flatten()
        .map(|e| bytes_below(&e.path()))
        .sum()
}

/// `undo_available` (absent: false).
fn undoable(rec: &Value) -> bool {
    rec["undo_available"] == true
}

/// `safety_copy_bytes` (absent: 0).
fn kept_bytes(rec: &Value) -> u64 {
    rec["safety_copy_bytes"].as_u64().unwrap_or(0)
}

fn restore_of(server: &Server, id: &str) -> Value {
    server.get_json(&format!("/api/v1/restores/{id}"), VIEWER)
}

fn post_undo(server: &Server, id: &str, token: &str) -> Response {
    server.post(&format!("/api/v1/restores/{id}/undo"), token, &json!({}))
}

fn delete_copy(server: &Server, id: &str, token: &str) -> Response {
    reqwest::blocking::Client::new()
        .delete(server.url(&format!("/api/v1/restores/{id}/safety-copy")))
        .bearer_auth(token)
        .send()
        .unwrap()
}

/// Starts the undo of `id` (202, `Location`, `undo_of`); returns the undo's ID.
fn start_undo(server: &Server, id: &str) -> String {
    let r = post_undo(server, id, ADMIN);
    assert_eq!(r.status(), 202, "start undo");
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let rec: Value = r.json().unwrap();
    let uid = rec["id"].as_str().unwrap().to_string();
    assert_eq!(loc, format!("/api/v1/restores/{uid}"));
    assert_eq!(rec["undo_of"], id, "{rec:#}");
    assert_ne!(uid, id);
    uid
}

fn all_slots_verify(s: &Setup) {
    for c in COMPONENTS {
        for slot in slots(&s.home(c)) {
            assert!(sha256sum_ok(&s.home(c).join(&slot)), "{c}/{slot}");
        }
    }
}

#[test]
fn undo_puts_every_home_back_exactly_and_get_shows_availability_and_bytes() {
    let s = Setup::new(1);
    enrich(&s);
    let server = s.start();
    let set = run_backup(&server)["id"].as_str().unwrap().to_string();
    damage(&s);
    let damaged = snapshot_meta(&homes(&s), SKIP);

    let rec = run_restore(&server, &json!({ "backup_id": set }));
    assert_eq!(rec["status"], "succeeded", "{rec:#}");
    let rid = rec["id"].as_str().unwrap().to_string();
    assert_ne!(
        snapshot_meta(&homes(&s), SKIP),
        damaged,
        "the restore did nothing"
    );

    // Kept, sized, undoable.
    let rec = restore_of(&server, &rid);
    assert_eq!(rec["undo_available"], true, "{rec:#}");
    assert!(rec.get("undo_unavailable_because").is_none(), "{rec:#}");
    let mut total = 0;
    for c in COMPONENTS {
        let home = s.home(c);
        let folder = home.join(format!(".pre-restore-{rid}"));
        assert_eq!(
            safety_folders(&home),
            [format!(".pre-restore-{rid}")],
            "{c}"
        );
        let kept = &component(&rec, c)["safety_copy"];
        let bytes = bytes_below(&folder);
        assert!(bytes > 0, "{c}");
        assert_eq!(kept["bytes"], bytes, "{c}: {kept}");
        assert!(kept.get("discarded_at").is_none(), "{c}: {kept}");
        total += bytes;
    }
    assert_eq!(rec["safety_copy_bytes"], total, "{rec:#}");
    // The list says the same.
    let list = server.get_json("/api/v1/restores", VIEWER);
    assert_eq!(list["items"][0]["undo_available"], true);
    assert_eq!(list["items"][0]["safety_copy_bytes"], total);

    // The undo: a restore job of its own.
    let uid = start_undo(&server, &rid);
    let undo = wait_restore(&server, &uid);
    assert_eq!(undo["status"], "succeeded", "{undo:#}");
    assert_eq!(undo["undo_of"], rid.as_str());
    for c in COMPONENTS {
        let uc = component(&undo, c);
        assert_eq!(uc["origin"], "safety_copy", "{uc}");
        assert_eq!(uc["status"], "restored", "{uc}");
    }
    assert_eq!(
        snapshot_meta(&homes(&s), SKIP),
        damaged,
        "the undo did not put every home back exactly"
    );
    // The undone restore's copies are discarded; the undo keeps its own (it can be undone).
    for c in COMPONENTS {
        assert_eq!(
            safety_folders(&s.home(c)),
            [format!(".pre-restore-{uid}")],
            "{c}"
        );
    }
    let rec = restore_of(&server, &rid);
    assert!(!undoable(&rec), "{rec:#}");
    assert_eq!(kept_bytes(&rec), 0, "{rec:#}");
    assert!(
        rec["undo_unavailable_because"]
            .as_str()
            .unwrap()
            .contains(&uid),
        "{rec:#}"
    );
    for c in COMPONENTS {
        let kept = &component(&rec, c)["safety_copy"];
        assert!(kept["discarded_at"].is_string(), "{c}: {kept}");
        assert!(
            kept["discarded_because"].as_str().unwrap().contains(&uid),
            "{c}: {kept}"
        );
    }
    let p = assert_problem(post_undo(&server, &rid, ADMIN), 409);
    assert_eq!(p["code"], "restore_superseded", "{p:#}");
    assert_eq!(restore_of(&server, &uid)["undo_available"], true);
    assert_eq!(
        snapshot_meta(&homes(&s), SKIP),
        damaged,
        "a refused undo changed a home"
    );
    all_slots_verify(&s);

    // Undoing the undo gives the restored state again (the slots' items).
    let redo = start_undo(&server, &uid);
    let redo = wait_restore(&server, &redo);
    assert_eq!(redo["status"], "succeeded", "{redo:#}");
    assert_eq!(
        std::fs::read(s.home("trk").join("tracker.ini")).unwrap(),
        std::fs::read(s.home("trk").join("backup/tracker.ini")).unwrap()
    );
    assert!(!s.home("hub").join("accountreg/stray.txt").exists());
    all_slots_verify(&s);
}

#[test]
fn undo_is_refused_after_a_later_restore_and_after_the_copy_is_deleted() {
    let s = Setup::new(1);
    let server = s.start();
    let set = run_backup(&server)["id"].as_str().unwrap().to_string();
    damage(&s);

    // Dry runs and unknown IDs; roles.
    let dry = post_restore(&server, &json!({"backup_id": set, "dry_run": true}));
    let dry: Value = dry.json().unwrap();
    let dry_id = dry["id"].as_str().unwrap();
    let p = assert_problem(post_undo(&server, dry_id, ADMIN), 409);
    assert_eq!(p["code"], "undo_unavailable", "{p:#}");
    assert!(!undoable(&restore_of(&server, dry_id)));
    let p = assert_problem(post_undo(&server, "R20000101T000000Z", ADMIN), 404);
    assert_eq!(p["code"], "restore_not_found");
    assert_problem(post_undo(&server, "nope..", ADMIN), 422);
    assert_problem(post_undo(&server, dry_id, OPERATOR), 403);
    assert_problem(delete_copy(&server, dry_id, VIEWER), 403);

    // hub restored twice: the first restore's copy is discarded by the second.
    let r1 = run_restore(&server, &json!({"backup_id": set, "components": ["hub"]}));
    assert_eq!(r1["status"], "succeeded", "{r1:#}");
    let r1 = r1["id"].as_str().unwrap().to_string();
    write(&s.home("hub").join("hub.ini"), b"[Hub]\nchanged after r1\n");
    let r2 = run_restore(&server, &json!({"backup_id": set, "components": ["hub"]}));
    assert_eq!(r2["status"], "succeeded", "{r2:#}");
    let r2 = r2["id"].as_str().unwrap().to_string();
    assert_eq!(
        safety_folders(&s.home("hub")),
        [format!(".pre-restore-{r2}")],
        "the superseded copy is deleted"
    );
    let before = snapshot_meta(&homes(&s), &[]);
    let p = assert_problem(post_undo(&server, &r1, ADMIN), 409);
    assert_eq!(p["code"], "restore_superseded", "{p:#}");
    assert!(p["detail"].as_str().unwrap().contains(&r2), "{p:#}");
    let rec = restore_of(&server, &r1);
    assert!(!undoable(&rec), "{rec:#}");
    assert_eq!(kept_bytes(&rec), 0);
    // r2 can be undone: it holds the hub.ini written after r1.
    let rec = restore_of(&server, &r2);
    assert_eq!(rec["undo_available"], true, "{rec:#}");
    assert_eq!(
        std::fs::read(s.home("hub").join(format!(".pre-restore-{r2}/hub.ini"))).unwrap(),
        b"[Hub]\nchanged after r1\n"
    );

    // lui restored, then its copy deleted by the operator: folder gone, undo 409.
    let r3 = run_restore(&server, &json!({"backup_id": set, "components": ["lui"]}));
    assert_eq!(r3["status"], "succeeded", "{r3:#}");
    let r3 = r3["id"].as_str().unwrap().to_string();
    let folder = s.home("lui").join(format!(".pre-restore-{r3}"));
    assert!(folder.is_dir());
    assert!(kept_bytes(&restore_of(&server, &r3)) > 0);
    let r = delete_copy(&server, &r3, ADMIN);
    assert_eq!(r.status(), 200);
    let rec: Value = r.json().unwrap();
    assert!(!undoable(&rec), "{rec:#}");
    assert_eq!(kept_bytes(&rec), 0, "{rec:#}");
    assert!(
        rec["undo_unavailable_because"]
            .as_str()
            .unwrap()
            .contains("deleted by the operator"),
        "{rec:#}"
    );
    assert!(!folder.exists(), "the folder is freed");
    assert!(safety_folders(&s.home("lui")).is_empty());
    let before_lui = snapshot_meta(&homes(&s), &[]);
    let p = assert_problem(post_undo(&server, &r3, ADMIN), 409);
    assert_eq!(p["code"], "safety_copy_gone", "{p:#}");
    let p = assert_problem(delete_copy(&server, &r3, ADMIN), 409);
    assert_eq!(p["code"], "safety_copy_gone", "{p:#}");
    assert_eq!(
        snapshot_meta(&homes(&s), &[]),
        before_lui,
        "a refused undo or delete changed a home"
    );
    // The hub restores were not touched by any of it.
    let hub_now = snapshot_meta(&s.home("hub"), &[]);
    let hub_before: BTreeMap<_, _> = snapshot_meta(&homes(&s), &[])
        .into_iter()
        .filter(|(k, _)| k.starts_with("hub/"))
        .map(|(k, v)| (k.trim_start_matches("hub/").to_string(), v))
        .collect();
    assert_eq!(
        hub_now
            .into_iter()
            .filter(|(k, _)| k != ".")
            .collect::<BTreeMap<_, _>>(),
        hub_before
    );
    assert_eq!(
        before
            .iter()
            .filter(|(k, _)| k.starts_with("hub/"))
            .collect::<Vec<_>>(),
        snapshot_meta(&homes(&s), &[])
            .iter()
            .filter(|(k, _)| k.starts_with("hub/"))
            .collect::<Vec<_>>()
    );
    all_slots_verify(&s);
}

#[test]
fn kill_9_during_an_undo_rolls_it_back_at_restart() {
    let s = Setup::new(1);
    many_files(&s);
    let server = s.start();
    let set = run_backup(&server)["id"].as_str().unwrap().to_string();
    damage(&s);
    let damaged = snapshot_meta(&homes(&s), SKIP);
    let rec = run_restore(&server, &json!({ "backup_id": set }));
    assert_eq!(rec["status"], "succeeded", "{rec:#}");
    let rid = rec["id"].as_str().unwrap().to_string();
    drop(server);

    let restored = snapshot_meta(&homes(&s), SKIP);
    let mut server = s.start_env(&[("BACKUP_MASTER_FAULTS", "restore_slow_ms:20")]);
    let uid = start_undo(&server, &rid);
    // lui (many files) is being copied back: its items are in the undo's safety folder.
    poll("lui to be applying", Duration::from_secs(30), || {
        (component(&restore_of(&server, &uid), "lui")["status"] == "applying").then_some(())
    });
    poll("lui's items to be aside", Duration::from_secs(30), || {
        s.home(format!("lui/.pre-restore-{uid}/luidata").as_str())
            .is_dir()
            .then_some(())
    });
    server.kill9();
    drop(server);

    let server = s.start();
    let undo = restore_of(&server, &uid);
    assert_eq!(undo["status"], "interrupted", "{undo:#}");
    assert_eq!(undo["undo_of"], rid.as_str());
    assert_eq!(
        snapshot_meta(&homes(&s), SKIP),
        restored,
        "the interrupted undo was not rolled back exactly"
    );
    for c in COMPONENTS {
        assert_eq!(
            safety_folders(&s.home(c)),
            [format!(".pre-restore-{rid}")],
            "{c}: the undo's own folder is gone, the restore's is kept"
        );
    }
    // Nothing changed the homes: the restore can still be undone, and now it is.
    assert_eq!(restore_of(&server, &rid)["undo_available"], true);
    let again = start_undo(&server, &rid);
    let again = wait_restore(&server, &again);
    assert_eq!(again["status"], "succeeded", "{again:#}");
    assert_eq!(snapshot_meta(&homes(&s), SKIP), damaged);
    all_slots_verify(&s);
}
