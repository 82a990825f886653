//! Restores delete only what they provably made (issue 23, findings 4 and 5), through the real
//! server against fake homes:
//! * a folder named like the restore's safety folder appears in a home between the plan check
//!   and the apply: the restore fails cleanly, every home is exactly as it was, the planted
//!   folder is untouched;
//! * a component restored from a folder that lies inside another restored component's item
//!   (an imported folder, or a `source_folders` entry) is refused (422 naming the field), and
//!   nothing on disk changes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::*;
use serde_json::{json, Value};

/// What the `restore_plant_safety` fault plants (name and content).
const PLANTED: &str = "planted-by-a-fault";

fn statuses(rec: &Value) -> Vec<(String, String)> {
    rec["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_planted_safety_folder_fails_the_restore_and_nothing_is_lost() {
    let s = Setup::new(1);
    let server = s.start_env(&[("BACKUP_MASTER_FAULTS", "restore_plant_safety:lui")]);
    let id = run_backup(&server)["id"].as_str().unwrap().to_string();
    assert!(!id.is_empty());
    // Live data that differs from the backup, so a restore has something to replace.
    write(
        &s.home("lui").join("luidata/db/jobs.ibd"),
        b"newer than the backup",
    );
    write(&s.home("hub").join("hub.ini"), b"[Hub]\nPort=9090\n");
    let homes = s.path().join("homes");
    let before = snapshot_meta(&homes, &[]);
    let luidata = snapshot_meta(&s.home("lui").join("luidata"), &[]);

    let rec = run_restore(&server, &json!({"backup_id": id}));
    assert_eq!(rec["status"], "failed", "{rec:#}");
    let rid = rec["id"].as_str().unwrap();
    let planted = s.home("lui").join(format!(".pre-restore-{rid}"));
    let errors = rec["errors"].to_string();
    assert!(
        errors.contains(&planted.display().to_string()) && errors.contains("exists already"),
        "the error names the planted folder: {rec:#}"
    );
    // hub was applied first and put back; lui changed nothing; trk never started.
    assert_eq!(
        statuses(&rec),
        [
            ("hub".to_string(), "rolled_back".to_string()),
            ("lui".to_string(), "rolled_back".to_string()),
            ("trk".to_string(), "pending".to_string()),
        ],
        "{rec:#}"
    );
    let lui = &rec["components"][1];
    assert!(lui.get("safety_created").is_none(), "{lui:#}");
    assert!(lui.get("moved_aside").is_none(), "{lui:#}");

    // The live items are byte-identical (content, modes, times), everything else too.
    assert_eq!(
        snapshot_meta(&s.home("lui").join("luidata"), &[]),
        luidata,
        "the live luidata changed"
    );
    assert_eq!(
        snapshot_meta(&homes, &[".pre-restore-"]),
        before,
        "a home changed"
    );
    // The planted folder is exactly what was planted.
    let p = sha(PLANTED);
    let want: BTreeMap<String, String> = [
        ("lui.ini".to_string(), p.clone()),
        ("luidata".to_string(), "dir".to_string()),
        (format!("luidata/{PLANTED}"), p.clone()),
        ("registry".to_string(), "dir".to_string()),
        (format!("registry/{PLANTED}"), p),
    ]
    .into_iter()
    .collect();
    assert_eq!(snapshot(&planted), want, "the planted folder was touched");
    assert_eq!(safety_folders(&s.home("lui")).len(), 1);
    assert!(safety_folders(&s.home("hub")).is_empty());
    assert!(safety_folders(&s.home("trk")).is_empty());
    for c in ["hub", "lui", "trk"] {
        assert!(sha256sum_ok(&s.home(c).join("backup")), "{c}");
    }
}

#[test]
fn a_source_inside_another_restored_components_item_is_refused() {
    let s = Setup::new(0);
    let server = s.start();
    let id = run_backup(&server)["id"].as_str().unwrap().to_string();
    // lui's set comes back from an external medium, and is put inside hub's hubreg/.
    let medium = s.home("hub").join("hubreg/lui-from-tape");
    let st = Command::new("cp")
        .arg("-a")
        .arg(s.home("lui").join("backup"))
        .arg(&medium)
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::remove_dir_all(s.home("lui").join("backup")).unwrap();
    // Importing it from there is refused at once (a restore of hub would delete it); the
    // restore's own check below guards the same for a folder named in `source_folders`.
    let p = assert_problem(
        server.post(
            "/api/v1/backup-sets/import",
            ADMIN,
            &json!({"component": "lui", "folder": medium}),
        ),
        422,
    );
    assert_eq!(problem_fields(&p), ["folder"], "{p:#}");

    let homes = s.path().join("homes");
    let before = snapshot_meta(&homes, &[]);
    let hubreg = s.home("hub").join("hubreg");
    let refused = |body: Value, field: &str| {
        let p = assert_problem(post_restore(&server, &body), 422);
        assert_eq!(problem_fields(&p), [field], "{p:#}");
        let text = p.to_string();
        assert!(
            text.contains(&hubreg.display().to_string()) && text.contains("hub"),
            "names the item and the component: {p:#}"
        );
    };
    let from_medium = json!({"lui": medium});
    // The whole set (hub is restored too, and replaces hubreg/), also as a dry run.
    refused(
        json!({"backup_id": id, "source_folders": from_medium}),
        "source_folders.lui",
    );
    refused(
        json!({"backup_id": id, "dry_run": true, "source_folders": from_medium}),
        "source_folders.lui",
    );
    refused(
        json!({"backup_id": id, "components": ["lui", "hub"], "source_folders": from_medium}),
        "source_folders.lui",
    );
    assert_eq!(
        snapshot_meta(&homes, &[]),
        before,
        "a refused restore changed a home, a slot or the imported folder"
    );
    for c in ["hub", "lui", "trk"] {
        assert!(safety_folders(&s.home(c)).is_empty(), "{c}");
    }
    assert!(sha256sum_ok(&medium));

    // lui alone may be restored from there: nothing else replaces hubreg/.
    let rec = run_restore(
        &server,
        &json!({"backup_id": id, "components": ["lui"], "source_folders": from_medium}),
    );
    assert_eq!(rec["status"], "succeeded", "{rec:#}");
    assert!(sha256sum_ok(&medium), "the folder on the medium is intact");
    let ini = std::fs::read_to_string(s.home("lui").join("lui.ini")).unwrap();
    let canon = std::fs::canonicalize(&medium).unwrap();
    assert!(
        ini.ends_with(&format!("RestoreFromBackup={}\n", canon.display())),
        "{ini}"
    );
}

#[test]
fn a_retired_safety_folder_no_restore_made_survives_start_up() {
    let s = Setup::new(1);
    // Named like the retired safety folder of a committed restore, but no restore made it.
    let unknown = s.home("hub").join(".pre-restore-R20000101T000000Z.retired");
    write(&unknown.join("hub.ini"), b"someone's only copy\n");
    let before = snapshot_meta(&s.path().join("homes"), &[]);
    let server = s.start();
    // A restore record exists once the server answered; start-up is over by then.
    assert_eq!(
        server.get_json("/api/v1/restores", VIEWER)["items"],
        json!([])
    );
    assert_eq!(
        snapshot_meta(&s.path().join("homes"), &[]),
        before,
        "start-up deleted a folder no restore made"
    );
}
