//! Backup sets through the real server: discovery from disk (also after the state dir is lost),
//! incomplete, failed and malformed sets, import from an "external medium", and verification
//! naming each changed, missing and unlisted file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const COMPONENTS: [&str; 3] = ["hub", "lui", "trk"];

fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

fn sets(server: &Server, query: &str) -> Value {
    server.get_json(&format!("/api/v1/backup-sets{query}"), VIEWER)
}

/// `cp -a`: the way an operator copies a backup folder to a medium and back.
fn copy_tree(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
    let st = Command::new("cp")
        .arg("-a")
        .arg(src)
        .arg(dst)
        .status()
        .unwrap();
    assert!(st.success());
}

/// Starts a verification of `id` as operator; polls it until it ends; returns the record.
fn verify(server: &Server, id: &str) -> Value {
    let r = server.post(
        &format!("/api/v1/backup-sets/{id}/verify"),
        OPERATOR,
        &json!({}),
    );
    assert_eq!(r.status(), 202, "verify {id}");
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let started: Value = r.json().unwrap();
    let vid = started["id"].as_str().unwrap();
    assert_eq!(loc, format!("/api/v1/backup-sets/{id}/verifications/{vid}"));
    assert_eq!(started["status"], "running");
    assert_eq!(started["set_id"], id);
    poll("verification to end", Duration::from_secs(60), || {
        let v = server.get_json(&loc, VIEWER);
        (v["status"] != "running").then_some(v)
    })
}

fn folder_of<'a>(v: &'a Value, component: &str) -> &'a Value {
    v["folders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["component"] == component)
        .unwrap_or_else(|| panic!("no folder of {component} in {v}"))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

fn canonical(p: PathBuf) -> String {
    std::fs::canonicalize(p).unwrap().display().to_string()
}

#[test]
fn sets_are_found_on_disk_also_after_the_state_dir_is_lost() {
    let s = Setup::new(2);
    let mut server = s.start();
    let a = run_backup(&server)["id"].as_str().unwrap().to_string();
    let b = run_backup(&server)["id"].as_str().unwrap().to_string();

    let check = |server: &Server| {
        let list = sets(server, "");
        assert_eq!(ids(&list), [b.clone(), a.clone()], "newest first");
        assert!(list["unidentified"].as_array().unwrap().is_empty());
        for (set, slot) in list["items"]
            .as_array()
            .unwrap()
            .iter()
            .zip(["backup", "backup1"])
        {
            assert_eq!(set["complete"], true, "{set}");
            assert_eq!(set["successful"], true, "{set}");
            assert!(set["missing"].as_array().unwrap().is_empty());
            let comps = set["components"].as_array().unwrap();
            let names: Vec<&str> = comps
                .iter()
                .map(|c| c["component"].as_str().unwrap())
                .collect();
            assert_eq!(names, COMPONENTS, "config order");
            for c in comps {
                let name = c["component"].as_str().unwrap();
                assert_eq!(c["slot"], slot);
                assert_eq!(c["source"], "slot");
                assert_eq!(c["result"], "success");
                assert_eq!(
                    c["folder"].as_str().unwrap(),
                    s.home(name).join(slot).display().to_string()
                );
                assert!(c["started"].as_str().unwrap().ends_with('Z'));
                assert!(c["finished"].as_str().unwrap().ends_with('Z'));
                assert!(c["problem"].is_null());
            }
        }
        let latest = sets(server, "?successful=true&latest=true");
        assert_eq!(ids(&latest), vec![b.clone()]);
        let one = server.get_json(&format!("/api/v1/backup-sets/{a}"), VIEWER);
        assert_eq!(one["id"], a.as_str());
        assert_eq!(one["components"][0]["slot"], "backup1");
    };
    check(&server);

    // The master loses its state: job records, reports, everything.
    server.terminate();
    std::fs::remove_dir_all(s.state()).unwrap();
    let server = s.start();
    let records = server.get_json("/api/v1/backups", VIEWER);
    assert!(
        records["items"].as_array().unwrap().is_empty(),
        "the records are gone"
    );
    check(&server);
}

/// The set view is kept in memory between requests and follows every change the kernel reports
/// in the folders it read: a slot deleted by hand and a readme edited in place show at the next
/// request, and so does a backup the product makes.
#[test]
fn the_set_view_follows_a_slot_deleted_by_hand_and_new_backups() {
    let s = Setup::new(2);
    let server = s.start();
    let a = run_backup(&server)["id"].as_str().unwrap().to_string();
    let b = run_backup(&server)["id"].as_str().unwrap().to_string();
    for _ in 0..3 {
        let list = sets(&server, "");
        assert_eq!(ids(&list), [b.clone(), a.clone()]);
        assert!(list["items"][1]["complete"].as_bool().unwrap());
    }
    std::fs::remove_dir_all(s.home("lui").join("backup1")).unwrap();
    let list = sets(&server, "");
    assert_eq!(ids(&list), [b.clone(), a.clone()]);
    let old = &list["items"][1];
    assert_eq!(old["complete"], false, "{old}");
    assert_eq!(strings(&old["missing"]), ["lui"]);
    let one = server.get_json(&format!("/api/v1/backup-sets/{a}"), VIEWER);
    assert_eq!(one["complete"], false);

    // A readme rewritten in place (same file, no rename): the next list sees it.
    let readme = s.home("hub").join("backup").join("readme.txt");
    for _ in 0..2 {
        assert_eq!(sets(&server, "")["items"][0]["successful"], true);
    }
    let text = std::fs::read_to_string(&readme).unwrap();
    assert!(text.contains("Result: success"), "{text}");
    std::fs::write(&readme, text.replace("Result: success", "Result: error")).unwrap();
    let newest = &sets(&server, "")["items"][0];
    assert_eq!(newest["id"], b.as_str());
    assert_eq!(newest["successful"], false, "{newest}");
    std::fs::write(&readme, text).unwrap();
    assert_eq!(sets(&server, "")["items"][0]["successful"], true);

    let c = run_backup(&server)["id"].as_str().unwrap().to_string();
    let list = sets(&server, "");
    assert_eq!(ids(&list), [c, b, a]);
    assert_eq!(list["items"][0]["complete"], true);
}

#[test]
fn incomplete_failed_and_malformed_sets_are_reported_not_crashed_on() {
    let s = Setup::new(2);
    let server = s.start();
    let a = run_backup(&server)["id"].as_str().unwrap().to_string();
    let b = run_backup(&server)["id"].as_str().unwrap().to_string();
    let c = run_backup(&server)["id"].as_str().unwrap().to_string();
    // A: trk lacks the ID.
    std::fs::remove_dir_all(s.home("trk").join("backup2")).unwrap();
    // B: hub's readme says error, written by hand.
    std::fs::write(
        s.home("hub").join("backup1/readme.txt"),
        format!(
            "Backup ID: {b}\nComponent: hub\nStarted: 2026-11-26T02:00:00Z\n\
             Finished: 2026-11-26T02:00:04Z\nResult: error\nError: disk on fire\n"
        ),
    )
    .unwrap();

    let list = sets(&server, "");
    assert_eq!(ids(&list), [c.clone(), b.clone(), a.clone()]);
    let set_a = &list["items"][2];
    assert_eq!(set_a["complete"], false);
    assert_eq!(set_a["successful"], false);
    assert_eq!(strings(&set_a["missing"]), ["trk"]);
    assert_eq!(set_a["components"].as_array().unwrap().len(), 2);
    let set_b = &list["items"][1];
    assert_eq!(set_b["complete"], true);
    assert_eq!(set_b["successful"], false);
    assert_eq!(set_b["components"][0]["result"], "error");
    assert_eq!(strings(&set_b["components"][0]["errors"]), ["disk on fire"]);
    assert_eq!(set_b["components"][1]["result"], "success");

    assert_eq!(
        ids(&sets(&server, "?successful=true&latest=true")),
        vec![c.clone()]
    );
    assert_eq!(ids(&sets(&server, "?complete=false")), vec![a.clone()]);
    assert_eq!(
        ids(&sets(&server, "?successful=false")),
        [b.clone(), a.clone()]
    );
    assert_eq!(
        ids(&sets(&server, "?complete=true&successful=false")),
        vec![b.clone()]
    );
    assert_eq!(
        ids(&sets(&server, "?complete=true&latest=true")),
        vec![c.clone()]
    );

    // With C's lui failed too, no successful set is left: the latest query is empty, not 404.
    std::fs::write(
        s.home("lui").join("backup/readme.txt"),
        format!("Backup ID: {c}\nComponent: lui\nResult: error\n"),
    )
    .unwrap();
    assert!(ids(&sets(&server, "?successful=true&latest=true")).is_empty());

    // Malformed readmes: one with a readable ID stays in its set, with the problem; one
    // without any ID (and a slot without readme) is listed as unidentified.
    std::fs::write(
        s.home("lui").join("backup2/readme.txt"),
        format!("Backup ID: {a}\nComponent: lui\nStarted: last tuesday\nResult: success\n"),
    )
    .unwrap();
    std::fs::create_dir_all(s.home("trk").join("backup5")).unwrap();
    std::fs::write(s.home("trk").join("backup5/readme.txt"), "hello\n").unwrap();
    std::fs::create_dir_all(s.home("hub").join("backup7")).unwrap();
    let list = sets(&server, "");
    let set_a = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == a.as_str())
        .unwrap();
    let lui = &set_a["components"][1];
    assert_eq!(lui["component"], "lui");
    assert!(
        lui["problem"].as_str().unwrap().contains("last tuesday"),
        "{lui}"
    );
    let unidentified = list["unidentified"].as_array().unwrap();
    let mut slots: Vec<(String, String)> = unidentified
        .iter()
        .map(|f| {
            assert!(f["problem"].as_str().is_some(), "{f}");
            (
                f["component"].as_str().unwrap().to_string(),
                f["slot"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    slots.sort();
    assert_eq!(
        slots,
        [
            ("hub".to_string(), "backup7".to_string()),
            ("trk".to_string(), "backup5".to_string())
        ]
    );
    // A failed attempt (`backup.failed`) is never a slot.
    std::fs::create_dir_all(s.home("hub").join("backup.failed")).unwrap();
    std::fs::write(
        s.home("hub").join("backup.failed/readme.txt"),
        "Backup ID: 20000101T000000Z\nComponent: hub\nResult: error\n",
    )
    .unwrap();
    assert!(!ids(&sets(&server, "")).contains(&"20000101T000000Z".to_string()));

    // Bad queries and IDs.
    let body = assert_problem(
        server.get("/api/v1/backup-sets?complete=maybe", VIEWER),
        422,
    );
    assert_eq!(problem_fields(&body), ["complete"]);
    let body = assert_problem(
        server.get("/api/v1/backup-sets?latest=1&successful=yes", VIEWER),
        422,
    );
    assert_eq!(problem_fields(&body), ["successful", "latest"]);
    let body = assert_problem(server.get("/api/v1/backup-sets?newest=true", VIEWER), 422);
    assert_eq!(problem_fields(&body), ["newest"]);
    let body = assert_problem(server.get("/api/v1/backup-sets/..%2F..%2Fetc", VIEWER), 422);
    assert_eq!(problem_fields(&body), ["id"]);
    assert_problem(
        server.get("/api/v1/backup-sets/20990101T000000Z", VIEWER),
        404,
    );
    assert_problem(server.get("/api/v1/backup-sets", "nope"), 401);
}

#[test]
fn import_from_an_external_medium() {
    let s = Setup::new(0);
    let mut server = s.start();
    let a = run_backup(&server)["id"].as_str().unwrap().to_string();
    // The operator copies the folders to an external medium...
    let medium = s.path().join("medium");
    for c in COMPONENTS {
        copy_tree(&s.home(c).join("backup"), &medium.join(c));
    }
    std::fs::create_dir_all(medium.join("empty")).unwrap();
    // ...and with keep = 0 the next backup drops A from the disk.
    let b = run_backup(&server)["id"].as_str().unwrap().to_string();
    assert_eq!(ids(&sets(&server, "")), vec![b.clone()]);
    assert_problem(server.get(&format!("/api/v1/backup-sets/{a}"), VIEWER), 404);

    let import = |token: &str, body: Value| server.post("/api/v1/backup-sets/import", token, &body);
    let path = |c: &str| medium.join(c).display().to_string();

    // Refused imports change nothing.
    let register = s.state().join("imports.json");
    let refused: Vec<(Value, &str, &str)> = vec![
        (
            json!({"component": "hub", "folder": path("empty")}),
            "folder",
            "readme.txt",
        ),
        (
            json!({"component": "hub", "folder": path("lui")}),
            "component",
            "\"lui\"",
        ),
        (
            json!({"component": "nope", "folder": path("hub")}),
            "component",
            "nope",
        ),
        (
            json!({"component": "hub", "folder": "medium/hub"}),
            "folder",
            "absolute",
        ),
        (
            json!({"component": "hub", "folder": format!("{}/../medium/hub", medium.display())}),
            "folder",
            "..",
        ),
        (
            json!({"component": "hub", "folder": path("not-there")}),
            "folder",
            "does not exist",
        ),
        (
            json!({"component": "hub", "folder": s.home("hub").join("backup").display().to_string()}),
            "folder",
            "backup area",
        ),
        (
            json!({"component": "lui", "folder": s.home("hub").join("backup/hubreg").display().to_string()}),
            "folder",
            "backup area",
        ),
        (
            json!({"component": "hub", "folder": path("hub"), "extra": 1}),
            "extra",
            "unknown field",
        ),
        (json!({"component": "hub"}), "folder", "missing"),
    ];
    for (body, field, words) in refused {
        let p = assert_problem(import(ADMIN, body.clone()), 422);
        assert_eq!(problem_fields(&p), [field], "{body}: {p}");
        let detail = p["errors"][0]["message"].as_str().unwrap();
        assert!(detail.contains(words), "{body}: {detail}");
        assert!(!register.exists(), "{body} wrote the register");
    }
    // Only admins import.
    assert_problem(
        import(OPERATOR, json!({"component": "hub", "folder": path("hub")})),
        403,
    );
    assert!(!register.exists());

    // A valid import: 201, the set reappears, incomplete.
    let r = import(ADMIN, json!({"component": "hub", "folder": path("hub")}));
    assert_eq!(r.status(), 201);
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        format!("/api/v1/backup-sets/{a}")
    );
    let out: Value = r.json().unwrap();
    assert_eq!(out["created"], true);
    assert_eq!(out["imported"]["backup_id"], a.as_str());
    assert_eq!(out["imported"]["folder"], canonical(medium.join("hub")));
    assert_eq!(out["set"]["complete"], false);
    assert_eq!(strings(&out["set"]["missing"]), ["lui", "trk"]);
    assert_eq!(out["set"]["components"][0]["source"], "imported");
    assert!(out["set"]["components"][0]["slot"].is_null());
    // Again: idempotent, 200, same entry.
    let r = import(ADMIN, json!({"component": "hub", "folder": path("hub")}));
    assert_eq!(r.status(), 200);
    let again: Value = r.json().unwrap();
    assert_eq!(again["created"], false);
    assert_eq!(again["imported"], out["imported"]);

    for c in ["lui", "trk"] {
        assert_eq!(
            import(ADMIN, json!({"component": c, "folder": path(c)})).status(),
            201
        );
    }
    let set = server.get_json(&format!("/api/v1/backup-sets/{a}"), VIEWER);
    assert_eq!(set["complete"], true, "{set}");
    assert_eq!(set["successful"], true, "{set}");
    for (f, c) in set["components"].as_array().unwrap().iter().zip(COMPONENTS) {
        assert_eq!(f["component"], c);
        assert_eq!(f["source"], "imported");
        assert_eq!(f["folder"], canonical(medium.join(c)));
        assert!(f["imported_at"].as_str().is_some());
    }
    assert_eq!(ids(&sets(&server, "")), [b.clone(), a.clone()]);
    assert_eq!(
        ids(&sets(&server, "?successful=true&latest=true")),
        vec![b.clone()]
    );
    let v = verify(&server, &a);
    assert_eq!(v["status"], "passed", "{v}");

    // Imports persist across a restart, with the last verification.
    server.terminate();
    let mut server = s.start();
    let set = server.get_json(&format!("/api/v1/backup-sets/{a}"), VIEWER);
    assert_eq!(set["successful"], true);
    assert_eq!(set["components"][2]["source"], "imported");
    assert_eq!(set["last_verification"]["status"], "passed");

    // A medium that is no longer mounted: the folder stays, with its problem.
    std::fs::rename(&medium, s.path().join("unmounted")).unwrap();
    let set = server.get_json(&format!("/api/v1/backup-sets/{a}"), VIEWER);
    assert_eq!(set["successful"], false);
    assert!(set["components"][0]["problem"]
        .as_str()
        .unwrap()
        .contains("gone"));

    // The register lives in the state dir: losing it loses the imports, not the slots.
    server.terminate();
    std::fs::remove_dir_all(s.state()).unwrap();
    let server = s.start();
    assert_eq!(ids(&sets(&server, "")), [b]);
}

#[test]
fn verify_names_each_changed_missing_and_unlisted_file() {
    let s = Setup::new(1);
    let server = s.start();
    let a = run_backup(&server)["id"].as_str().unwrap().to_string();

    assert_problem(
        server.post(
            &format!("/api/v1/backup-sets/{a}/verify"),
            VIEWER,
            &json!({}),
        ),
        403,
    );
    assert_problem(
        server.post(
            "/api/v1/backup-sets/20990101T000000Z/verify",
            OPERATOR,
            &json!({}),
        ),
        404,
    );
    let body = assert_problem(
        server.post("/api/v1/backup-sets/bad..id/verify", OPERATOR, &json!({})),
        422,
    );
    assert_eq!(problem_fields(&body), ["id"]);

    let clean = verify(&server, &a);
    assert_eq!(clean["status"], "passed", "{clean}");
    assert!(clean["finished_at"].as_str().is_some());
    assert!(clean["files_checked"].as_u64().unwrap() >= 9, "{clean}");
    for c in COMPONENTS {
        let f = folder_of(&clean, c);
        assert_eq!(f["ok"], true, "{f}");
        assert_eq!(f["folder"], s.home(c).join("backup").display().to_string());
        for list in ["changed", "missing", "unlisted"] {
            assert!(f[list].as_array().unwrap().is_empty(), "{c} {list}: {f}");
        }
    }
    let set = server.get_json(&format!("/api/v1/backup-sets/{a}"), VIEWER);
    assert_eq!(set["last_verification"]["id"], clean["id"]);
    assert_eq!(set["last_verification"]["ok"], true);
    assert_eq!(set["last_verification"]["problems"], 0);

    // One byte flipped (same size), one file deleted, one file added.
    let flipped = s.home("hub").join("backup/accountreg/accounts.dat");
    let mut bytes = std::fs::read(&flipped).unwrap();
    bytes[1000] ^= 0x01;
    std::fs::write(&flipped, &bytes).unwrap();
    std::fs::remove_file(s.home("lui").join("backup/luidata/recipients/list 1.csv")).unwrap();
    write(
        &s.home("trk").join("backup/data/sub dir/intruder.dat"),
        b"not from the backup",
    );
    assert!(
        sha256sum_finds_mismatch(&s.home("hub").join("backup")),
        "the real sha256sum agrees"
    );

    let bad = verify(&server, &a);
    assert_eq!(bad["status"], "failed", "{bad}");
    let hub = folder_of(&bad, "hub");
    assert_eq!(hub["ok"], false);
    assert_eq!(strings(&hub["changed"]), ["accountreg/accounts.dat"]);
    assert!(
        hub["missing"].as_array().unwrap().is_empty()
            && hub["unlisted"].as_array().unwrap().is_empty()
    );
    let lui = folder_of(&bad, "lui");
    assert_eq!(strings(&lui["missing"]), ["luidata/recipients/list 1.csv"]);
    assert!(
        lui["changed"].as_array().unwrap().is_empty()
            && lui["unlisted"].as_array().unwrap().is_empty()
    );
    let trk = folder_of(&bad, "trk");
    assert_eq!(strings(&trk["unlisted"]), ["data/sub dir/intruder.dat"]);
    assert!(
        trk["changed"].as_array().unwrap().is_empty()
            && trk["missing"].as_array().unwrap().is_empty()
    );

    let set = server.get_json(&format!("/api/v1/backup-sets/{a}"), VIEWER);
    assert_eq!(set["last_verification"]["id"], bad["id"]);
    assert_eq!(set["last_verification"]["status"], "failed");
    assert_eq!(set["last_verification"]["problems"], 3);

    let all = server.get_json(&format!("/api/v1/backup-sets/{a}/verifications"), VIEWER);
    let vids: Vec<&Value> = all.as_array().unwrap().iter().map(|v| &v["id"]).collect();
    assert_eq!(vids, [&bad["id"], &clean["id"]], "newest first");
    let vid = bad["id"].as_str().unwrap();
    assert_problem(
        server.get(
            &format!("/api/v1/backup-sets/20990101T000000Z/verifications/{vid}"),
            VIEWER,
        ),
        404,
    );
    assert_problem(
        server.get(
            &format!("/api/v1/backup-sets/{a}/verifications/20990101T000000Z-0001"),
            VIEWER,
        ),
        404,
    );
    assert_problem(
        server.get("/api/v1/backup-sets/20990101T000000Z/verifications", VIEWER),
        404,
    );
    // Verification reads only: the backup folder is as the test left it.
    assert_eq!(std::fs::read(&flipped).unwrap(), bytes);
}

#[test]
fn verify_is_refused_while_a_backup_runs() {
    let s = Setup::new(1);
    let server = s.start_env(&[("BACKUP_MASTER_FAULTS", "slow_copy_ms:300")]);
    let a = run_backup(&server)["id"].as_str().unwrap().to_string();
    let running = start_backup(&server);
    let p = assert_problem(
        server.post(
            &format!("/api/v1/backup-sets/{a}/verify"),
            OPERATOR,
            &json!({}),
        ),
        409,
    );
    assert_eq!(p["running_id"], running.as_str(), "{p}");
    assert_eq!(wait_backup(&server, &running)["status"], "succeeded");
    // After the backup, A is in backup1 and verifies there.
    let v = verify(&server, &a);
    assert_eq!(v["status"], "passed", "{v}");
    assert_eq!(
        folder_of(&v, "hub")["folder"],
        s.home("hub").join("backup1").display().to_string()
    );
}
