//! `snapshot = "btrfs"` through the real server on a loop-mounted btrfs (root, `btrfs-progs`):
//! the home is a subvolume, the freeze lasts only until its read-only snapshot is made (well
//! under a second, while the copy of 100 MB takes longer), the backup holds the state at the
//! read point although the application writes on during the copy, and no snapshot is left,
//! also after a kill -9 mid-copy and a restart. A home that is no subvolume is refused.
//!
//! Without `mkfs.btrfs` the tests fail (CI installs `btrfs-progs`); only a kernel that cannot
//! mount btrfs at all makes them pass with the reason printed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

struct Fixture {
    _tmp: tempfile::TempDir,
    fs: Btrfs,
    root: PathBuf,
    home: PathBuf,
    config: PathBuf,
    flags: PathBuf,
}

impl Fixture {
    /// A btrfs with the home `homes/app` as a subvolume holding 100 MB in 100 files, and a
    /// config with the flag freeze and `snapshot = "btrfs"`. `None` when btrfs cannot mount.
    fn new() -> Option<Fixture> {
        let tmp = tempfile::tempdir().unwrap();
        let fs = mount_btrfs(tmp.path())?;
        let root = tmp.path().to_path_buf();
        std::fs::create_dir_all(fs.mnt.join("homes")).unwrap();
        let home = fs.mnt.join("homes/app");
        let st = Command::new("btrfs")
            .args(["subvolume", "create"])
            .arg(&home)
            .output()
            .unwrap();
        assert!(st.status.success(), "{st:?}");
        let block: Vec<u8> = (0..1u32 << 20).map(|i| (i % 253) as u8).collect();
        for i in 0..100 {
            let mut b = block.clone();
            b[..4].copy_from_slice(&(i as u32).to_le_bytes());
            write(&home.join(format!("data/part-{i:03}.bin")), &b);
        }
        write(&home.join("app.ini"), b"[App]\n");
        // The data was there before the backup, not dirty in memory: the snapshot's commit
        // does not have to write 100 MB first.
        assert!(Command::new("sync")
            .arg("-f")
            .arg(&home)
            .status()
            .unwrap()
            .success());
        let flags = root.join("flags");
        std::fs::create_dir_all(&flags).unwrap();
        let (freeze, thaw) = flag_commands(&flags);
        let text = format!(
            r#"{head}
[schedule]
enabled = false

[[components]]
name = "app"
profile = "custom"
home = "{home}"
items = ["app.ini", "data/"]
keep = 1
snapshot = "btrfs"
freeze_command = {freeze:?}
thaw_command = {thaw:?}
"#,
            head = master_head(),
            home = home.display(),
        );
        let config = root.join("backup-master.toml");
        std::fs::write(&config, text).unwrap();
        Some(Fixture {
            _tmp: tmp,
            fs,
            root,
            home,
            config,
            flags,
        })
    }

    fn start(&self, env: &[(&str, &str)]) -> Server {
        Server::start(&self.config, &self.root, env)
    }

    fn writer(&self) -> FlagWriter {
        FlagWriter::start(
            &self.flags,
            &[self.home.join("data/a.cnt"), self.home.join("data/b.cnt")],
        )
    }

    /// Names beside the home that look like snapshots.
    fn snapshots(&self) -> Vec<String> {
        std::fs::read_dir(self.fs.mnt.join("homes"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".bm-snapshot-"))
            .collect()
    }
}

fn app(rec: &Value) -> &Value {
    &rec["components"][0]
}

#[test]
fn the_freeze_lasts_until_the_snapshot_and_the_backup_is_the_read_point() {
    let Some(fx) = Fixture::new() else { return };
    // Each file's copy waits a little, so the copy of the 100 MB lasts well over a second.
    let server = fx.start(&[("BACKUP_MASTER_FAULTS", "slow_copy_ms:15")]);
    let _w = fx.writer();
    let rec = run_backup(&server);
    assert_eq!(rec["status"], "succeeded", "{rec}");
    let id = rec["id"].as_str().unwrap();
    let c = app(&rec);
    let f = &c["freeze"];
    assert_eq!(f["snapshot_mode"], "btrfs", "{f}");
    assert_eq!(f["frozen_during_copy"], false, "{f}");
    assert_eq!(f["frozen"], false, "{f}");
    assert_eq!(f["snapshot_held"], false, "{f}");
    let snap_name = format!("app.bm-snapshot-{id}");
    assert_eq!(
        f["snapshot"],
        fx.fs
            .mnt
            .join("homes")
            .join(&snap_name)
            .display()
            .to_string(),
        "{f}"
    );
    let window = f["freeze_seconds"].as_f64().unwrap();
    let copy_ms = c["duration_ms"].as_u64().unwrap();
    eprintln!("freeze window {window:.3} s, copy {copy_ms} ms");
    assert!(window < 1.0, "freeze window {window} s");
    assert!(
        copy_ms as f64 > 1000.0 * window,
        "copy {copy_ms} ms, freeze {window} s"
    );
    assert!(
        copy_ms > 1000,
        "the copy was too quick to show anything: {copy_ms} ms"
    );
    // The state at the read point: both counters equal, nothing changed during the copy,
    // although the writer went on writing meanwhile.
    let slot = fx.home.join("backup");
    let a = read_counter(&slot.join("data/a.cnt"));
    let b = read_counter(&slot.join("data/b.cnt"));
    assert_eq!(a, b, "the backup mixes two points in time");
    assert!(c.get("changed_during_backup_count").is_none(), "{c}");
    // (The writer truncates before it writes: a read may catch an empty file, so poll.)
    poll(
        "the live counter to be past the backup's",
        Duration::from_secs(10),
        || (read_counter(&fx.home.join("data/b.cnt")) > b).then_some(()),
    );
    assert!(sha256sum_ok(&slot));
    assert!(fx.snapshots().is_empty(), "{:?}", fx.snapshots());
    assert!(!fx.flags.join("freeze").exists());
}

#[test]
fn a_snapshot_left_by_a_killed_master_is_deleted_at_restart() {
    let Some(fx) = Fixture::new() else { return };
    let mut server = fx.start(&[("BACKUP_MASTER_FAULTS", "slow_copy_ms:300")]);
    let _w = fx.writer();
    let id = start_backup(&server);
    poll("the snapshot to be read", Duration::from_secs(30), || {
        let rec = server.get_json(&format!("/api/v1/backups/{id}"), VIEWER);
        (app(&rec)["freeze"]["read_point_at"].is_string() && rec["status"] == "running")
            .then_some(())
    });
    assert_eq!(fx.snapshots(), [format!("app.bm-snapshot-{id}")]);
    server.kill9();
    // A folder at a snapshot's name that the product did not make is never deleted.
    let stranger = fx
        .fs
        .mnt
        .join("homes")
        .join("app.bm-snapshot-20200101T000000Z");
    std::fs::create_dir_all(&stranger).unwrap();
    let server = fx.start(&[]);
    let rec = wait_backup(&server, &id);
    assert_eq!(rec["status"], "interrupted", "{rec}");
    assert_eq!(app(&rec)["freeze"]["snapshot_held"], false, "{rec}");
    assert!(
        rec["notes"]
            .to_string()
            .contains("snapshot left by the stopped master was released"),
        "{rec}"
    );
    assert_eq!(fx.snapshots(), ["app.bm-snapshot-20200101T000000Z"]);
    assert!(!fx.flags.join("freeze").exists());
    // The next backup works.
    let rec = run_backup(&server);
    assert_eq!(rec["status"], "succeeded", "{rec}");
}

#[test]
fn a_home_that_is_no_subvolume_is_refused_naming_the_field() {
    let Some(fx) = Fixture::new() else { return };
    let plain = fx.fs.mnt.join("homes/plain");
    std::fs::create_dir_all(plain.join("data")).unwrap();
    let mut text = std::fs::read_to_string(&fx.config).unwrap();
    text.push_str(&format!(
        "\n[[components]]\nname = \"plain\"\nprofile = \"custom\"\nhome = \"{}\"\nitems = [\"data/\"]\nkeep = 1\n",
        plain.display()
    ));
    std::fs::write(&fx.config, &text).unwrap();
    // Through the API: 422 naming the field, the file unchanged.
    let server = fx.start(&[]);
    let original = std::fs::read(&fx.config).unwrap();
    let r = server.put(
        "/api/v1/components/plain",
        ADMIN,
        &json!({"items": ["data/"], "backup_folder": "backup", "keep": 1, "snapshot": "btrfs"}),
        Some("*"),
    );
    let body = assert_problem(r, 422);
    assert_eq!(problem_fields(&body), ["snapshot"], "{body}");
    assert!(body.to_string().contains("btrfs subvolume"), "{body}");
    assert_eq!(std::fs::read(&fx.config).unwrap(), original);
    drop(server);
    // In the file: the config check refuses it, naming the component's field.
    let bad = text.replacen(
        "items = [\"data/\"]\nkeep = 1\n",
        "items = [\"data/\"]\nkeep = 1\nsnapshot = \"btrfs\"\n",
        1,
    );
    std::fs::write(&fx.config, bad).unwrap();
    let out = Command::new(bin())
        .args(["config", "check"])
        .arg(&fx.config)
        .output()
        .unwrap();
    let err =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("components[1].snapshot"), "{err}");
}
