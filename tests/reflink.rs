//! Clones on a file system that shares extents, through the real server: on a loop-mounted
//! btrfs image (root, `btrfs-progs`), a backup's files are clones of the home's (`filefrag -v`
//! shows the same physical extents, flagged shared), the record counts them as cloned, a write
//! to the home afterwards leaves the backup's file and `sha256sum -c` unchanged, and a restore
//! clones back out of the backup.
//!
//! Without `mkfs.btrfs` the test fails (CI installs `btrfs-progs`); only a kernel that cannot
//! mount btrfs at all makes it pass with the reason printed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::{json, Value};

const FILES: usize = 12;
const SIZE: usize = 256 << 10;

/// Physical offsets (in blocks) of a file's extents and whether each is shared, from
/// `filefrag -v` (which syncs the file first).
fn extents(p: &Path) -> Vec<(u64, bool)> {
    let out = Command::new("filefrag")
        .args(["-s", "-v"])
        .arg(p)
        .output()
        .unwrap();
    assert!(out.status.success(), "filefrag {}", p.display());
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter_map(|l| {
            // "   0:        0..      63:       3328..      3391:     64:     last,shared,eof"
            let cols: Vec<&str> = l.split(':').map(str::trim).collect();
            if cols.len() < 5 || cols[0].parse::<u64>().is_err() {
                return None;
            }
            let physical = cols[2].split("..").next()?.trim().parse().ok()?;
            Some((physical, l.contains("shared")))
        })
        .collect()
}

fn config(root: &Path) -> PathBuf {
    let text = format!(
        r#"listen = "127.0.0.1:0"
state_dir = "state"

[[tokens]]
role = "admin"
sha256 = "{admin}"

[[tokens]]
role = "operator"
sha256 = "{operator}"

[[tokens]]
role = "viewer"
sha256 = "{viewer}"

[schedule]
enabled = false

[[components]]
name = "app"
profile = "custom"
home = "homes/app"
items = ["app.ini", "data/"]
keep = 1
"#,
        admin = sha(ADMIN),
        operator = sha(OPERATOR),
        viewer = sha(VIEWER),
    );
    let path = root.join("backup-master.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn backups_and_restores_clone_on_btrfs_and_stay_independent_copies() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(fs) = mount_btrfs(tmp.path()) else {
        return;
    };
    let root = fs.mnt.clone();
    let home = root.join("homes/app");
    write(&home.join("app.ini"), b"[App]\n");
    for i in 0..FILES {
        let content: Vec<u8> = (0..SIZE).map(|k| ((k * 31 + i * 7) % 251) as u8).collect();
        write(&home.join(format!("data/f{i:02}.bin")), &content);
    }
    assert!(Command::new("sync").status().unwrap().success());
    let cfg = config(&root);
    let server = Server::start(&cfg, &root, &[]);

    let rec = run_backup(&server);
    assert_eq!(rec["status"], "succeeded", "{rec}");
    let c = &rec["components"][0];
    assert_eq!(c["files"], FILES as u64 + 1, "{c}");
    assert_eq!(
        c["files_cloned"],
        FILES as u64 + 1,
        "every file cloned: {c}"
    );
    assert_eq!(c["files_copied"], 0, "{c}");
    assert_eq!(c["bytes_cloned"], (FILES * SIZE + 6) as u64, "{c}");
    let report = server.get(
        &format!("/api/v1/backups/{}/report", rec["id"].as_str().unwrap()),
        VIEWER,
    );
    assert!(report
        .text()
        .unwrap()
        .contains(&format!("Files cloned: {}", FILES + 1)));

    let slot = home.join("backup");
    let src = home.join("data/f03.bin");
    let dst = slot.join("data/f03.bin");
    let (a, b) = (extents(&src), extents(&dst));
    assert!(!a.is_empty(), "filefrag lists the extents");
    assert_eq!(
        a.iter().map(|e| e.0).collect::<Vec<_>>(),
        b.iter().map(|e| e.0).collect::<Vec<_>>(),
        "the backup's file uses the home file's blocks"
    );
    assert!(
        a.iter().chain(&b).all(|e| e.1),
        "extents flagged shared: {a:?} {b:?}"
    );
    assert!(sha256sum_ok(&slot));

    // A write to the home afterwards never reaches the backup.
    let before = std::fs::read(&dst).unwrap();
    let mut f = std::fs::OpenOptions::new().write(true).open(&src).unwrap();
    f.seek(SeekFrom::Start(1000)).unwrap();
    f.write_all(b"changed in the home").unwrap();
    f.sync_all().unwrap();
    drop(f);
    assert_eq!(
        std::fs::read(&dst).unwrap(),
        before,
        "the backup is an independent copy"
    );
    assert!(sha256sum_ok(&slot), "sha256sum -c still passes");
    assert_ne!(
        extents(&src)[0].0,
        extents(&dst)[0].0,
        "the write got its own block"
    );

    // A restore clones back out of the backup: a copy, sharing blocks, checked against its sums.
    let r = post_restore(&server, &json!({ "backup_id": rec["id"] }));
    assert_eq!(r.status(), 202);
    let rid = r.json::<Value>().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let restore = wait_restore(&server, &rid);
    assert_eq!(restore["status"], "succeeded", "{restore}");
    let rc = &restore["components"][0];
    assert_eq!(rc["files"], FILES as u64 + 1, "{rc}");
    assert_eq!(rc["files_cloned"], FILES as u64 + 1, "{rc}");
    assert_eq!(
        std::fs::read(&src).unwrap(),
        before,
        "the home has the backup's data again"
    );
    assert_ne!(
        std::fs::metadata(&src).unwrap().ino(),
        std::fs::metadata(&dst).unwrap().ino(),
        "never a hard link into the backup"
    );
    assert_eq!(
        extents(&src).iter().map(|e| e.0).collect::<Vec<_>>(),
        extents(&dst).iter().map(|e| e.0).collect::<Vec<_>>()
    );
    assert!(sha256sum_ok(&slot));
    drop(server);
    drop(fs);
}
