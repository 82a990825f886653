//! Memory at scale through the real server: a backup, an unchanged backup, a verification and
//! a restore of 200,000 small files, with the server's own memory under 64 MB: nothing the
//! server holds grows with the file count.
//!
//! What counts: the anonymous resident memory (`RssAnon` of `/proc/<pid>/status`: heap, stacks,
//! buffers), sampled every 20 ms while the jobs run, must stay under 64 MB, and the kernel's
//! own high-water mark of the whole RSS (`VmHWM`) may grow by at most 32 MB over its value at
//! start. The whole RSS alone is not the measure here: most of it at start (about 38 MB) is
//! the debug binary's own pages mapped from its file, which grow with the code, not the files.
//!
//! The files live on a tmpfs (root): creating and deleting 800,000 directory entries on a
//! shared disk took longer than the test itself. It takes about half a minute in the debug
//! build on a quiet 2-core machine, less than a release build of the server would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

const FILES: usize = 200_000;
const PER_FOLDER: usize = 500;
const MAX_PEAK_KB: u64 = 64 * 1024;
const MAX_GROWTH_KB: u64 = 32 * 1024;

/// A home of `FILES` small files (64 B .. 1 KiB, each different) in folders of `PER_FOLDER`.
fn big_home(home: &Path) {
    write(&home.join("app.ini"), b"[App]\n");
    let mut content = Vec::with_capacity(1024);
    for d in 0..FILES / PER_FOLDER {
        let dir = home.join(format!("data/d{d:04}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..PER_FOLDER {
            let n = d * PER_FOLDER + f;
            content.clear();
            content.extend_from_slice(format!("file {n}\n").as_bytes());
            content.resize(64 + (n * 37) % 960, b'a' + (n % 26) as u8);
            std::fs::write(dir.join(format!("f{f:04}.dat")), &content).unwrap();
        }
    }
}

fn config(dir: &Path) -> std::path::PathBuf {
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
name = "big"
profile = "custom"
home = "homes/big"
items = ["app.ini", "data/"]
keep = 1
"#,
        admin = sha(ADMIN),
        operator = sha(OPERATOR),
        viewer = sha(VIEWER),
    );
    let path = dir.join("backup-master.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The kernel's record of the process's peak resident memory, in KiB.
/// A `kB` line of `/proc/<pid>/status`; `None` once the process is gone.
fn status_kb(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn peak_rss_kb(pid: u32) -> u64 {
    status_kb(pid, "VmHWM:").expect("VmHWM in /proc/<pid>/status")
}

/// Samples the anonymous resident memory of `pid` every 20 ms until `stop`; answers its peak.
fn sample_anon(
    pid: u32,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut peak = 0;
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            match status_kb(pid, "RssAnon:") {
                Some(kb) => peak = peak.max(kb),
                None => break,
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        peak
    })
}

fn wait_long(server: &Server, path: &str) -> Value {
    poll(&format!("{path} to end"), Duration::from_secs(600), || {
        let r = server.get_json(path, VIEWER);
        (r["status"] != "running").then_some(r)
    })
}

#[test]
fn two_hundred_thousand_files_back_up_verify_and_restore_in_flat_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("fs");
    let _fs = mount_tmpfs(&root, "4g");
    let dir = root.as_path();
    let home = dir.join("homes/big");
    let t = Instant::now();
    big_home(&home);
    eprintln!("made {FILES} files in {:?}", t.elapsed());
    let cfg = config(dir);
    let server = Server::start(&cfg, dir, &[]);
    let pid = server.child.id();
    let baseline = peak_rss_kb(pid);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let anon = sample_anon(pid, stop.clone());

    let t = Instant::now();
    let id = start_backup(&server);
    let first = wait_long(&server, &format!("/api/v1/backups/{id}"));
    eprintln!(
        "first backup {:?}, peak {} kB",
        t.elapsed(),
        peak_rss_kb(pid)
    );
    assert_eq!(first["status"], "succeeded", "{first}");
    let c = &first["components"][0];
    assert_eq!(c["files"], FILES as u64 + 1, "{c}");
    assert_eq!(
        // `files_cloned` is left out when zero (a tmpfs cannot clone).
        c["files_copied"].as_u64().unwrap() + c["files_cloned"].as_u64().unwrap_or(0),
        FILES as u64 + 1,
        "{c}"
    );
    let slot = home.join("backup");
    assert!(sha256sum_ok(&slot), "sha256sum -c passes on the backup");

    // Unchanged: every file linked from the previous slot through the streamed index.
    let t = Instant::now();
    let id2 = start_backup(&server);
    let second = wait_long(&server, &format!("/api/v1/backups/{id2}"));
    eprintln!(
        "unchanged backup {:?}, peak {} kB",
        t.elapsed(),
        peak_rss_kb(pid)
    );
    assert_eq!(second["status"], "succeeded", "{second}");
    assert_eq!(second["components"][0]["files_linked"], FILES as u64 + 1);

    let t = Instant::now();
    let r = server.post(
        &format!("/api/v1/backup-sets/{id2}/verify"),
        OPERATOR,
        &json!({}),
    );
    assert_eq!(r.status(), 202);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let v = wait_long(&server, &loc);
    eprintln!(
        "verification {:?}, peak {} kB",
        t.elapsed(),
        peak_rss_kb(pid)
    );
    assert_eq!(v["status"], "passed", "{v}");
    assert_eq!(v["files_checked"], FILES as u64 + 1);

    // Damage the home, restore: every file back, checked against SHA256SUMS on the way.
    std::fs::remove_dir_all(home.join("data/d0007")).unwrap();
    write(&home.join("data/d0100/f0001.dat"), b"damaged");
    let t = Instant::now();
    let r = post_restore(&server, &json!({ "backup_id": id2 }));
    assert_eq!(r.status(), 202, "start restore");
    let rid = r.json::<Value>().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let rec = wait_long(&server, &format!("/api/v1/restores/{rid}"));
    eprintln!("restore {:?}, peak {} kB", t.elapsed(), peak_rss_kb(pid));
    assert_eq!(rec["status"], "succeeded", "{rec}");
    assert_eq!(rec["components"][0]["files"], FILES as u64 + 1, "{rec}");
    let restored = std::fs::read(home.join("data/d0100/f0001.dat")).unwrap();
    assert!(restored.starts_with(b"file 50001\n"));
    assert_eq!(
        std::fs::read_dir(home.join("data/d0007")).unwrap().count(),
        PER_FOLDER
    );

    let peak = peak_rss_kb(pid);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let anon_peak = anon.join().unwrap();
    eprintln!("server peak RSS {peak} kB (at start {baseline} kB), peak anonymous {anon_peak} kB");
    assert!(anon_peak > 0, "RssAnon was sampled");
    assert!(
        anon_peak < MAX_PEAK_KB,
        "peak anonymous memory {anon_peak} kB over {MAX_PEAK_KB} kB for {FILES} files"
    );
    assert!(
        peak - baseline < MAX_GROWTH_KB,
        "peak RSS {peak} kB grew more than {MAX_GROWTH_KB} kB over {baseline} kB at start for {FILES} files"
    );
}
