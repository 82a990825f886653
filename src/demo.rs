//! The embedded default's demo homes: a little realistic data for each built-in profile, plus
//! files outside the profile's items (logs, an old `my.ini`) that a backup must leave alone;
//! and the demo hook its `on_success` and `on_failure` run.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

fn file(path: &Path, content: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, content)
}

/// Pseudo-random but repeatable bytes, so demo data looks binary without a random source.
fn binary(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x & 0xff) as u8
        })
        .collect()
}

/// The demo hook's file, beside the demo homes (relative to the state dir); the embedded
/// default runs it with `sh` in `demo/`.
pub const DEMO_HOOK: &str = "demo/demo-hook.sh";

/// What a real hook would do (copy the backup to tape, page someone), shown instead: a few
/// lines over about two seconds, so its output can be watched live. POSIX sh, no network.
const DEMO_HOOK_SCRIPT: &str = r#"#!/bin/sh
# The embedded default's demo hook: hooks.on_success and hooks.on_failure run it after every
# backup (and for a test run). A real hook would copy the backup to tape or page an admin.
# It gets BACKUP_ID, BACKUP_RESULT, BACKUP_REPORT and BACKUP_FOLDER_<NAME> (see the README).
echo "demo hook: backup ${BACKUP_ID:-none} ended, result ${BACKUP_RESULT:-unknown}"
echo "demo hook: report ${BACKUP_REPORT:-none}"
env | grep '^BACKUP_FOLDER_' | sort | sed 's/^/demo hook: folder /'
sleep 1
echo "demo hook: pretending to copy the backup to tape..."
sleep 1
echo "demo hook: done"
"#;

/// Creates `demo/hub`, `demo/lui` and `demo/trk` under `root` unless they exist, and the demo
/// hook ([`DEMO_HOOK`]) unless it exists.
pub fn create_demo_homes(root: &Path) -> std::io::Result<()> {
    let hook = root.join(DEMO_HOOK);
    if !hook.exists() {
        file(&hook, DEMO_HOOK_SCRIPT.as_bytes())?;
        fs::set_permissions(&hook, fs::Permissions::from_mode(0o755))?;
    }
    let hub = root.join("demo/hub");
    if !hub.exists() {
        file(
            &hub.join("hub.ini"),
            b"[Hub]\nPort=8080\nMailServer=mail.example.org\n",
        )?;
        file(&hub.join("accountreg/accounts.dat"), &binary(4096, 1))?;
        file(
            &hub.join("accountreg/admin/profile.reg"),
            b"user=admin\nlevel=full\n",
        )?;
        file(
            &hub.join("hubreg/components.reg"),
            b"hub=local\nlui=local\ntrk=local\n",
        )?;
        file(&hub.join("hubreg/site settings.reg"), b"timezone=UTC\n")?;
        fs::create_dir_all(hub.join("hubreg/pending"))?;
        file(
            &hub.join("logs/hub.log"),
            b"2026-11-26 02:00:00 hub started\n",
        )?;
    }
    let lui = root.join("demo/lui");
    if !lui.exists() {
        file(
            &lui.join("lui.ini"),
            b"[LUI]\nDatabase=internal\nHubHost=localhost\n",
        )?;
        file(&lui.join("luidata/db/mailjobs.ibd"), &binary(64 * 1024, 2))?;
        file(
            &lui.join("luidata/recipients/list 1.csv"),
            b"email,name\na@example.org,Ann\nb@example.org,Bo\n",
        )?;
        file(&lui.join("registry/lui.reg"), b"dataset=3\nversion=2.1\n")?;
        file(
            &lui.join("database/my.ini"),
            b"[mysqld]\ninnodb_buffer_pool_size=256M\n",
        )?;
        file(
            &lui.join("logs/lui.log"),
            b"2026-11-26 02:00:01 lui started\n",
        )?;
    }
    let trk = root.join("demo/trk");
    if !trk.exists() {
        file(&trk.join("tracker.ini"), b"[Tracker]\nPort=8081\n")?;
        file(&trk.join("data/events-2026-11.dat"), &binary(32 * 1024, 3))?;
        file(&trk.join("data/links.dat"), &binary(2048, 4))?;
        file(
            &trk.join("logs/tracker.log"),
            b"2026-11-26 02:00:02 tracker started\n",
        )?;
    }
    Ok(())
}

/// A fresh random token: 32 random bytes, hex.
pub fn new_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Writes a fresh random token to `path`, which must not exist, with mode 0600 and fsynced,
/// and returns it (the embedded default's admin token; `backup-master token new --token-file`).
pub fn create_token_file(path: &Path) -> std::io::Result<String> {
    let token = new_token();
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(token.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()?;
    Ok(token)
}
