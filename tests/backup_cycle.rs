//! Backups through the real server: the history of the Maestro admin manual's table 11-1, readme and report files,
//! checksums verified by the real `sha256sum`, atomic failure, cancel, 409, ID order, hard
//! links for unchanged files, and a full disk.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;

use common::*;
use serde_json::Value;

const COMPONENTS: [&str; 3] = ["hub", "lui", "trk"];

/// Every slot folder of every component: relative path -> content, for before/after checks.
fn all_slots(s: &Setup) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for c in COMPONENTS {
        for slot in slots(&s.home(c)) {
            out.insert(format!("{c}/{slot}"), snapshot(&s.home(c).join(slot)));
        }
    }
    out
}

#[test]
fn five_backups_with_keep_3_leave_seed_table_11_1() {
    let s = Setup::new(3);
    let server = s.start();
    let mut ids = Vec::new();
    for day in 1..=5 {
        // Change some data each "day" so slots differ.
        write(
            &s.home("hub").join("hubreg/day.reg"),
            format!("day={day}\n").as_bytes(),
        );
        let r = run_backup(&server);
        assert_eq!(r["status"], "succeeded", "{r}");
        assert_eq!(r["trigger"], "manual");
        ids.push(r["id"].as_str().unwrap().to_string());
    }
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(sorted, ids, "IDs sort in start order");

    for c in COMPONENTS {
        let home = s.home(c);
        assert_eq!(
            slots(&home),
            ["backup", "backup1", "backup2", "backup3"],
            "{c}"
        );
        // backup = 5th, backup1 = 4th, backup2 = 3rd, backup3 = 2nd; the 1st is gone.
        for (slot, day) in [
            ("backup", 5),
            ("backup1", 4),
            ("backup2", 3),
            ("backup3", 2),
        ] {
            let folder = home.join(slot);
            assert_eq!(readme_id(&folder), ids[day - 1], "{c}/{slot}");
            assert!(sha256sum_ok(&folder), "sha256sum -c fails in {c}/{slot}");
        }
        assert!(stagings(&home).is_empty(), "{c}: staging left");

        // readme.txt: these keys, in this order.
        let rd = readme(&home.join("backup"));
        let keys: Vec<&str> = rd.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            &keys[..5],
            ["Backup ID", "Component", "Started", "Finished", "Result"],
            "{c}"
        );
        assert_eq!(rd[1].1, c);
        assert_eq!(rd[4].1, "success");
        assert!(rd[2].1.ends_with('Z') && rd[3].1.ends_with('Z'));

        // The history resource reads the same from disk.
        let h = server.get_json(&format!("/api/v1/components/{c}/history"), VIEWER);
        let slots_api: Vec<(String, String)> = h
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                (
                    x["slot"].as_str().unwrap().to_string(),
                    x["backup_id"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        assert_eq!(
            slots_api,
            vec![
                ("backup".to_string(), ids[4].clone()),
                ("backup1".to_string(), ids[3].clone()),
                ("backup2".to_string(), ids[2].clone()),
                ("backup3".to_string(), ids[1].clone()),
            ],
            "{c}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(s.home("hub").join("backup/hubreg/day.reg")).unwrap(),
        "day=5\n"
    );
    assert_eq!(
        std::fs::read_to_string(s.home("hub").join("backup3/hubreg/day.reg")).unwrap(),
        "day=2\n"
    );

    // Only the profile's items are copied: never logs/, tmp/ or lui's database/my.ini.
    let tree = snapshot(&s.home("lui").join("backup"));
    for outside in ["logs", "tmp", "database", "database/my.ini"] {
        assert!(!tree.contains_key(outside), "{outside} was backed up");
    }
    for inside in [
        "lui.ini",
        "luidata/db/jobs.ibd",
        "luidata/recipients/list 1.csv",
        "registry/empty",
        "readme.txt",
        "SHA256SUMS",
    ] {
        assert!(
            tree.contains_key(inside),
            "{inside} missing from the backup"
        );
    }
    // Copies are exact and keep the mode and mtime.
    let src = s.home("hub").join("accountreg/accounts.dat");
    let dst = s.home("hub").join("backup/accountreg/accounts.dat");
    assert_eq!(std::fs::read(&src).unwrap(), std::fs::read(&dst).unwrap());
    let (ms, md) = (src.metadata().unwrap(), dst.metadata().unwrap());
    assert_eq!(ms.mode(), md.mode());
    assert_eq!(ms.mtime(), md.mtime());

    // The report: a section per component, then exactly the two final lines.
    let r = server.get(&format!("/api/v1/backups/{}/report", ids[4]), VIEWER);
    assert_eq!(r.status(), 200);
    let report = r.text().unwrap();
    let on_disk =
        std::fs::read_to_string(s.state().join(format!("logs/backupReport_{}.txt", ids[4])))
            .unwrap();
    assert_eq!(report, on_disk);
    for c in COMPONENTS {
        assert!(report.contains(c), "report lacks {c}:\n{report}");
    }
    let lines: Vec<&str> = report.trim_end().lines().collect();
    let n = lines.len();
    assert_eq!(lines[n - 2], "The backup was completed successfully");
    assert!(
        lines[n - 1].starts_with("Final completion date: 20") && lines[n - 1].ends_with('Z'),
        "{}",
        lines[n - 1]
    );

    // The list is newest first and pages with the cursor.
    let page = server.get_json("/api/v1/backups?limit=2", VIEWER);
    let first: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(first, [ids[4].as_str(), ids[3].as_str()]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let page2 = server.get_json(&format!("/api/v1/backups?limit=2&cursor={cursor}"), VIEWER);
    assert_eq!(page2["items"][0]["id"], ids[2].as_str());
    let none = server.get_json("/api/v1/backups?status=failed", VIEWER);
    assert!(none["items"].as_array().unwrap().is_empty());
    let p = assert_problem(server.get("/api/v1/backups?limit=0", VIEWER), 422);
    assert_eq!(p["code"], "validation_failed", "{p}");
    assert_eq!(problem_fields(&p), ["limit"]);
    assert_problem(server.get("/api/v1/backups?status=exploded", VIEWER), 422);
    assert_problem(server.get("/api/v1/backups/..%2F..%2Fetc", VIEWER), 422);
    let p = assert_problem(server.get("/api/v1/backups/20990101T000000Z", VIEWER), 404);
    assert_eq!(p["code"], "backup_not_found", "{p}");
}

#[test]
fn keep_zero_keeps_only_the_newest() {
    let s = Setup::new(0);
    let server = s.start();
    let a = run_backup(&server);
    let b = run_backup(&server);
    assert_eq!(a["status"], "succeeded");
    assert_eq!(b["status"], "succeeded");
    for c in COMPONENTS {
        assert_eq!(slots(&s.home(c)), ["backup"], "{c}");
        assert_eq!(
            readme_id(&s.home(c).join("backup")),
            b["id"].as_str().unwrap()
        );
    }
}

#[test]
fn a_failing_component_changes_no_slot_anywhere() {
    let s = Setup::new(2);
    let server = s.start();
    assert_eq!(run_backup(&server)["status"], "succeeded");
    assert_eq!(run_backup(&server)["status"], "succeeded");
    let before = all_slots(&s);

    // A missing item is an error for that component: the whole set fails.
    std::fs::remove_file(s.home("trk").join("tracker.ini")).unwrap();
    let r = run_backup(&server);
    assert_eq!(r["status"], "failed", "{r}");
    assert_eq!(all_slots(&s), before, "a failed backup changed a slot");
    let trk = r["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "trk")
        .unwrap();
    let errors = trk["errors"].to_string();
    assert!(errors.contains("tracker.ini"), "{errors}");
    for c in COMPONENTS {
        assert!(stagings(&s.home(c)).is_empty(), "{c}: staging left");
    }
    // The failed attempt's record is kept outside the slots, as backup.failed/readme.txt.
    let rd = readme(&s.home("trk").join("backup.failed"));
    assert!(
        rd.iter().any(|(k, v)| k == "Result" && v == "error"),
        "{rd:?}"
    );
    assert!(
        rd.iter()
            .any(|(k, v)| k == "Error" && v.contains("tracker.ini")),
        "{rd:?}"
    );
    let report = server
        .get(
            &format!("/api/v1/backups/{}/report", r["id"].as_str().unwrap()),
            VIEWER,
        )
        .text()
        .unwrap();
    assert!(report.contains("tracker.ini"), "{report}");
    assert!(
        !report.contains("The backup was completed successfully"),
        "{report}"
    );
    write(&s.home("trk").join("tracker.ini"), b"[Tracker]\n");
    assert_eq!(run_backup(&server)["status"], "succeeded");
}

#[test]
fn an_injected_read_error_fails_the_set_cleanly() {
    let s = Setup::new(1);
    let server = s.start_env(&[("BACKUP_MASTER_FAULTS", "prepare:lui")]);
    let r = run_backup(&server);
    assert_eq!(r["status"], "failed");
    for c in COMPONENTS {
        assert!(slots(&s.home(c)).is_empty(), "{c}: a slot appeared");
        assert!(stagings(&s.home(c)).is_empty(), "{c}: staging left");
    }
}

#[test]
fn cancel_and_conflict_and_id_order() {
    let s = Setup::new(1);
    let server = s.start_env(&[("BACKUP_MASTER_FAULTS", "slow_copy_ms:200")]);
    let id = start_backup(&server);
    // A second start while one runs: 409 naming it.
    let r = server.post("/api/v1/backups", OPERATOR, &serde_json::json!({}));
    let problem = assert_problem(r, 409);
    assert_eq!(problem["running_id"], id.as_str());
    assert_eq!(problem["code"], "job_running", "{problem}");
    assert_eq!(problem["type"], "/problems/job-running", "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains(&id));
    // Viewer may not cancel; operator may.
    assert_problem(
        server.post(
            &format!("/api/v1/backups/{id}/cancel"),
            VIEWER,
            &serde_json::json!({}),
        ),
        403,
    );
    let r = server.post(
        &format!("/api/v1/backups/{id}/cancel"),
        OPERATOR,
        &serde_json::json!({}),
    );
    assert_eq!(r.status(), 202);
    let done = wait_backup(&server, &id);
    assert_eq!(done["status"], "cancelled", "{done}");
    for c in COMPONENTS {
        assert!(
            slots(&s.home(c)).is_empty(),
            "{c}: a cancelled backup made a slot"
        );
        assert!(stagings(&s.home(c)).is_empty(), "{c}: staging left");
    }
    let p = assert_problem(
        server.post(
            &format!("/api/v1/backups/{id}/cancel"),
            OPERATOR,
            &serde_json::json!({}),
        ),
        409,
    );
    assert_eq!(p["code"], "backup_not_running", "{p}");
}

#[test]
fn quick_successive_backups_get_ordered_ids() {
    let s = Setup::new(2);
    let server = s.start();
    let mut ids = Vec::new();
    for _ in 0..4 {
        let r = run_backup(&server);
        assert_eq!(r["status"], "succeeded");
        ids.push(r["id"].as_str().unwrap().to_string());
    }
    for w in ids.windows(2) {
        assert!(w[0] < w[1], "{} !< {}", w[0], w[1]);
    }
    for id in &ids {
        assert!(
            id.len() >= 16 && id.as_bytes()[8] == b'T' && id.as_bytes()[15] == b'Z',
            "{id}"
        );
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)));
    }
    // IDs survive a restart: the next one is still larger.
    drop(server);
    let server = s.start();
    let next = run_backup(&server);
    assert!(next["id"].as_str().unwrap() > ids[3].as_str());
}

#[test]
fn an_unchanged_second_backup_hard_links_everything() {
    let s = Setup::new(2);
    // 5 MB of data so that 1% is well above readme, SHA256SUMS and index.
    let big: Vec<u8> = (0..5_000_000u32).map(|i| (i % 253) as u8).collect();
    write(&s.home("lui").join("luidata/big.bin"), &big);
    let server = s.start();
    assert_eq!(run_backup(&server)["status"], "succeeded");
    let r = run_backup(&server);
    assert_eq!(r["status"], "succeeded");
    let mut total = 0u64;
    let mut new_bytes = 0u64;
    for c in COMPONENTS {
        let cur = s.home(c).join("backup");
        let prev = s.home(c).join("backup1");
        for (rel, kind) in snapshot(&cur) {
            if kind == "dir" || rel == "readme.txt" || rel == "SHA256SUMS" || rel.starts_with('.') {
                let p = cur.join(&rel);
                if kind != "dir" {
                    new_bytes += p.metadata().unwrap().len();
                }
                continue;
            }
            let a = cur.join(&rel).metadata().unwrap();
            let b = prev.join(&rel).metadata().unwrap();
            assert_eq!(a.ino(), b.ino(), "{c}/{rel} was copied, not linked");
            total += a.len();
        }
        let comp = r["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == c)
            .unwrap()
            .clone();
        assert_eq!(comp["files_copied"], 0, "{comp}");
        assert_eq!(comp["bytes_copied"], 0, "{comp}");
    }
    assert!(total > 5_000_000);
    assert!(
        new_bytes * 100 < total,
        "{new_bytes} new bytes for {total} of data"
    );

    // A changed file is copied, the rest still linked.
    write(&s.home("lui").join("lui.ini"), b"[LUI]\nchanged=1\n");
    assert_eq!(run_backup(&server)["status"], "succeeded");
    let cur = s.home("lui").join("backup");
    let prev = s.home("lui").join("backup1");
    assert_ne!(
        cur.join("lui.ini").metadata().unwrap().ino(),
        prev.join("lui.ini").metadata().unwrap().ino()
    );
    assert_eq!(
        std::fs::read(cur.join("lui.ini")).unwrap(),
        b"[LUI]\nchanged=1\n"
    );
    assert_eq!(
        cur.join("luidata/big.bin").metadata().unwrap().ino(),
        prev.join("luidata/big.bin").metadata().unwrap().ino()
    );
    assert!(sha256sum_ok(&cur));
}

#[test]
fn a_full_disk_fails_cleanly_and_keeps_previous_slots() {
    let s = Setup::new(2);
    let disk = s.path().join("small-disk");
    let _mount = mount_tmpfs(&disk, "3m");
    let text = std::fs::read_to_string(&s.config).unwrap().replace(
        "home = \"homes/trk\"",
        &format!(
            "home = \"homes/trk\"\nbackup_folder = \"{}\"",
            disk.join("trk-backup").display()
        ),
    );
    std::fs::write(&s.config, text).unwrap();
    let server = s.start();
    let first = run_backup(&server);
    assert_eq!(first["status"], "succeeded", "{first}");
    let slot = disk.join("trk-backup");
    let before = snapshot(&slot);

    // 4 MB of new tracker data cannot fit on a 3 MB disk.
    let big: Vec<u8> = (0..4_000_000u32).map(|i| (i * 31 % 251) as u8).collect();
    write(&s.home("trk").join("data/huge.dat"), &big);
    let r = run_backup(&server);
    assert_eq!(r["status"], "failed", "{r}");
    let errors = r.to_string();
    assert!(errors.contains("No space left on device"), "{errors}");
    assert_eq!(snapshot(&slot), before, "the previous slot changed");
    assert!(sha256sum_ok(&slot));
    assert!(stagings(&disk).is_empty(), "staging left on the full disk");
    for c in ["hub", "lui"] {
        assert_eq!(
            readme_id(&s.home(c).join("backup")),
            first["id"].as_str().unwrap()
        );
        assert_eq!(
            slots(&s.home(c)),
            ["backup"],
            "{c}: rotated although the set failed"
        );
    }
    // Still serving, and the disk has room again once the data shrinks.
    assert_eq!(server.get("/healthz", VIEWER).status(), 200);
    std::fs::remove_file(s.home("trk").join("data/huge.dat")).unwrap();
    assert_eq!(run_backup(&server)["status"], "succeeded");
}

#[test]
fn events_stream_progress_then_end() {
    let s = Setup::new(1);
    let server = s.start_env(&[("BACKUP_MASTER_FAULTS", "slow_copy_ms:20")]);
    let id = start_backup(&server);
    let text = server
        .get(&format!("/api/v1/backups/{id}/events"), VIEWER)
        .text()
        .unwrap();
    let events: Vec<(String, Value)> = text
        .split("\n\n")
        .filter_map(|block| {
            let name = block.lines().find_map(|l| l.strip_prefix("event: "))?;
            let data = block.lines().find_map(|l| l.strip_prefix("data: "))?;
            Some((name.to_string(), serde_json::from_str(data).unwrap()))
        })
        .collect();
    assert!(events.len() >= 4, "{text}");
    let (last_name, last) = events.last().unwrap();
    assert_eq!(last_name, "end");
    assert_eq!(last["status"], "succeeded");
    assert_eq!(events.iter().filter(|(n, _)| n == "end").count(), 1);
    for c in COMPONENTS {
        assert!(
            events
                .iter()
                .any(|(n, e)| n == "progress" && e["name"] == c),
            "no progress for {c}"
        );
    }
    // A late subscriber gets the final state and `end` at once.
    let late = server
        .get(&format!("/api/v1/backups/{id}/events"), VIEWER)
        .text()
        .unwrap();
    assert!(late.contains("event: end"), "{late}");
    assert!(late.contains("\"committed\""), "{late}");
}
