//! Private by default, through the real server on its embedded default: the state dir is 0700,
//! job records, reports and hook logs 0600; a backup folder made outside a home gets the home's
//! mode, its new parents too; a hook sees a clean environment (never the master's, with its
//! tokens) plus what `hooks.env` names, and runs in the hub's home when `work_folder` is empty.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .mode()
        & 0o7777
}

fn assert_mode(p: &Path, want: u32) {
    assert_eq!(mode(p), want, "mode of {}: {:o}", p.display(), mode(p));
}

fn chmod(p: &Path, m: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
}

/// `backup-master serve` with no config in `cwd`: the embedded default in
/// `cwd/backup-master-data`, with `env` added to the master's environment.
fn embedded(cwd: &Path, env: &[(&str, &str)]) -> Server {
    let mut cmd = Command::new(bin());
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(cwd)
        .env_remove("BACKUP_MASTER_FAULTS")
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    Server::spawn(cmd)
}

/// The output lines of a finished hook process, read from its event stream.
fn output_lines(server: &Server, token: &str, id: &str) -> Vec<String> {
    let text = server
        .get(&format!("/api/v1/hook-processes/{id}/output"), token)
        .text()
        .unwrap();
    sse(&text)
        .into_iter()
        .filter(|(_, ev, _)| ev == "line")
        .map(|(_, _, d)| d["text"].as_str().unwrap().to_string())
        .collect()
}

fn wait_hook(server: &Server, token: &str, id: &str) -> Value {
    let p = poll("the hook to end", Duration::from_secs(30), || {
        let p = server.get_json(&format!("/api/v1/hook-processes/{id}"), token);
        (p["status"] != "running").then_some(p)
    });
    assert_eq!(p["status"], "exited", "{p}");
    p
}

#[test]
fn state_records_logs_and_new_backup_folders_are_private_and_hooks_get_a_clean_environment() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let server = embedded(
        &root,
        &[
            ("BACKUP_MASTER_LEAK_MARKER", "marker-1"),
            ("UNLISTED_SECRET", "marker-2"),
            ("BACKUP_MASTER_AGENT_TOKEN_ELSEWHERE", "marker-3"),
            ("TAPE_DEVICE", "/dev/nst0"),
        ],
    );
    let state = root.join("backup-master-data");
    assert_mode(&state, 0o700);
    let token = std::fs::read_to_string(state.join("admin.token"))
        .unwrap()
        .trim()
        .to_string();
    assert_mode(&state.join("admin.token"), 0o600);

    // hooks.env through the settings API: optional (an older client leaves it out), checked
    // name by name, and written back to the config file.
    let hooks = |env: Option<Value>| {
        let mut h = json!({"on_success": "/usr/bin/env", "on_failure": "/bin/pwd",
                           "work_folder": "", "timeout_seconds": 60});
        if let Some(e) = env {
            h["env"] = e;
        }
        json!({"schedule": {"enabled": false, "daily_time": "02:00", "time_zone": "", "catch_up": false},
               "hooks": h})
    };
    let r = server.put("/api/v1/settings", &token, &hooks(None), Some("*"));
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().unwrap()["hooks"]["env"], json!([]));
    let bad = server.put(
        "/api/v1/settings",
        &token,
        &hooks(Some(json!(["TAPE_DEVICE", "BACKUP_MASTER_LEAK_MARKER"]))),
        Some("*"),
    );
    let body = assert_problem(bad, 422);
    assert_eq!(problem_fields(&body), ["hooks.env[1]"], "{body}");
    let r = server.put(
        "/api/v1/settings",
        &token,
        &hooks(Some(json!(["TAPE_DEVICE", "NOT_SET_ANYWHERE"]))),
        Some("*"),
    );
    assert_eq!(r.status(), 200);
    let config = std::fs::read_to_string(state.join("backup-master.toml")).unwrap();
    assert!(
        config.contains(r#"env = ["TAPE_DEVICE", "NOT_SET_ANYWHERE"]"#),
        "{config}"
    );

    // Backup folders outside their homes, under folders that do not exist yet.
    let hub_home = state.join("demo/hub");
    let lui_home = state.join("demo/lui");
    chmod(&hub_home, 0o700);
    chmod(&lui_home, 0o750);
    let hub_folder = root.join("outside/deep/hub-backup");
    let lui_folder = root.join("outside2/lui-backup");
    for (name, folder) in [("hub", &hub_folder), ("lui", &lui_folder)] {
        let r = server.put(
            &format!("/api/v1/components/{name}"),
            &token,
            &json!({"backup_folder": folder.display().to_string(), "keep": 1}),
            Some("*"),
        );
        assert_eq!(r.status(), 200, "{name}: {}", r.text().unwrap());
    }

    let r = server.post("/api/v1/backups", &token, &json!({}));
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let rec = poll("the backup to end", Duration::from_secs(60), || {
        let r = server.get_json(&format!("/api/v1/backups/{id}"), &token);
        (r["status"] != "running").then_some(r)
    });
    assert_eq!(rec["status"], "succeeded", "{rec}");

    // New backup folders and their new parents: the home's mode.
    for p in [
        root.join("outside"),
        root.join("outside/deep"),
        hub_folder.clone(),
    ] {
        assert_mode(&p, 0o700);
    }
    for p in [root.join("outside2"), lui_folder.clone()] {
        assert_mode(&p, 0o750);
    }
    assert!(sha256sum_ok(&hub_folder));

    // The after-success hook: /usr/bin/env, run without a shell.
    let hook = poll("the after-success hook", Duration::from_secs(30), || {
        server
            .get_json("/api/v1/hook-processes?all=true", &token)
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["backup_id"] == id.as_str() && p["kind"] == "after_success")
            .cloned()
    });
    let hook_id = hook["id"].as_str().unwrap().to_string();
    wait_hook(&server, &token, &hook_id);
    let env = output_lines(&server, &token, &hook_id);
    let allowed = [
        "PATH",
        "HOME",
        "LANG",
        "TAPE_DEVICE",
        "BACKUP_ID",
        "BACKUP_RESULT",
        "BACKUP_REPORT",
        "BACKUP_HOOK_PROCESS_ID",
        "BACKUP_FOLDER_HUB",
        "BACKUP_FOLDER_LUI",
        "BACKUP_FOLDER_TRK",
    ];
    for line in &env {
        let name = line.split('=').next().unwrap();
        assert!(
            allowed.contains(&name),
            "{name} leaked into the hook's environment: {env:?}"
        );
        assert!(!line.contains("marker-"), "{line}");
    }
    for want in [
        format!("BACKUP_HOOK_PROCESS_ID={hook_id}"),
        "TAPE_DEVICE=/dev/nst0".to_string(),
        format!("BACKUP_ID={id}"),
        "BACKUP_RESULT=success".to_string(),
        format!("BACKUP_FOLDER_HUB={}", hub_folder.display()),
    ] {
        assert!(env.contains(&want), "{want} not in {env:?}");
    }
    assert!(env.iter().any(|l| l.starts_with("PATH=")), "{env:?}");

    // Empty work_folder: the hub's home (Maestro admin manual, 11.2).
    let r = server.post(
        "/api/v1/hook-processes",
        &token,
        &json!({"hook": "on_failure"}),
    );
    assert_eq!(r.status(), 202);
    let pwd_id = r.json::<Value>().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_hook(&server, &token, &pwd_id);
    assert_eq!(
        output_lines(&server, &token, &pwd_id),
        [hub_home.display().to_string()]
    );

    // The product's own files: 0600, in a 0700 state dir.
    assert_mode(&state, 0o700);
    let mut own: Vec<PathBuf> = vec![
        state.join(format!("jobs/backups/{id}.json")),
        state.join(format!("logs/backupReport_{id}.txt")),
        state.join("last_backup_id"),
    ];
    for hid in [&hook_id, &pwd_id] {
        own.push(state.join(format!("logs/hooks/{hid}.log")));
        own.push(state.join(format!("logs/hooks/{hid}.json")));
    }
    for p in &own {
        assert_mode(p, 0o600);
    }
    if state.join("schedule.json").exists() {
        assert_mode(&state.join("schedule.json"), 0o600);
    }
}

/// An older install's state dir (0755, holding the master's records) is made private at the
/// next start; a state dir that is a shared folder not holding them is left alone.
#[test]
fn an_existing_state_dir_is_narrowed_only_when_it_is_provably_the_masters() {
    let s = Setup::new(1);
    let state = s.state();
    std::fs::create_dir_all(state.join("jobs/backups")).unwrap();
    chmod(&state, 0o755);
    let server = s.start();
    assert_mode(&state, 0o700);
    let rec = run_backup(&server);
    assert_eq!(rec["status"], "succeeded");
    drop(server);

    let s = Setup::new(1);
    let shared = s.state();
    std::fs::create_dir_all(shared.join("someone-elses")).unwrap();
    chmod(&shared, 0o1777);
    let _server = s.start();
    assert_mode(&shared, 0o1777);
}
