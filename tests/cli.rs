//! The operator's command line: the real binary as a client of a real server over fake homes.
//! Exit codes (0 ok, 1 job failed, 2 bad input, 3 unreachable / not authorised, 4 conflict),
//! backups followed live, restore plans and their refusal without a terminal, settings changes
//! guarded by the ETag, hook output, tokens, config check, and output free of escape codes when
//! not on a terminal (with colours on one, unless NO_COLOR).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

/// What a CLI run gave.
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl std::fmt::Debug for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs the binary with `args` against `base` with `token` (in BACKUP_MASTER_TOKEN), stdin
/// empty and not a terminal, in an empty folder (no default token file); at most 120 s.
fn run(base: &str, token: &str, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Out {
    let cwd = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .current_dir(cwd.path())
        .env("BACKUP_MASTER_URL", base)
        .env("BACKUP_MASTER_TOKEN", token)
        .env_remove("NO_COLOR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    {
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        // A client that exits before reading its input (it refuses without a terminal) closes
        // the pipe first: that is its answer, not a failure of the test.
        match input.write_all(stdin.as_bytes()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other.unwrap(),
        }
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let pid = child.id();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("backup-master {args:?} did not end within 120 s");
        }
    };
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn cli(server: &Server, token: &str, args: &[&str]) -> Out {
    run(&server.base, token, args, &[], "")
}

/// Every home as a tree (content hashes), for "nothing changed" checks.
fn homes(s: &Setup) -> Vec<std::collections::BTreeMap<String, String>> {
    ["hub", "lui", "trk"]
        .iter()
        .map(|n| snapshot(&s.home(n)))
        .collect()
}

fn latest_backup(server: &Server) -> Value {
    server.get_json("/api/v1/backups?limit=1", VIEWER)["items"][0].clone()
}

#[test]
fn backup_wait_follows_the_backup_to_its_end_and_exits_0() {
    let s = Setup::new(2);
    let server = s.start();
    let out = cli(&server, OPERATOR, &["backup", "--wait"]);
    assert_eq!(out.code, 0, "{out:?}");
    let rec = latest_backup(&server);
    let id = rec["id"].as_str().unwrap();
    assert_eq!(rec["status"], "succeeded");
    assert!(
        out.stdout.contains(&format!("Backup {id} started")),
        "{out:?}"
    );
    assert!(
        out.stdout.contains(&format!("Backup {id} succeeded")),
        "{out:?}"
    );
    // the report's summary, and a line per component
    assert!(
        out.stdout.contains("The backup was completed successfully"),
        "{out:?}"
    );
    for name in ["hub", "lui", "trk"] {
        assert!(
            out.stdout.contains(&format!("  {name}: committed")),
            "{out:?}"
        );
    }
    // without a terminal, progress is plain lines on stderr, one per status change
    assert!(out.stderr.contains("hub: committed"), "{out:?}");
    assert_eq!(readme_id(&s.home("hub").join("backup")), id);

    // `backup show` and `backups` know it; json is the API's body
    let show = cli(&server, VIEWER, &["backup", "show", id, "--output", "json"]);
    assert_eq!(show.code, 0, "{show:?}");
    let shown: Value = serde_json::from_str(&show.stdout).unwrap();
    assert_eq!(
        shown,
        server.get_json(&format!("/api/v1/backups/{id}"), VIEWER)
    );
    let list = cli(&server, VIEWER, &["backups", "--status", "succeeded"]);
    assert_eq!(list.code, 0, "{list:?}");
    assert!(
        list.stdout.lines().nth(1).unwrap().starts_with(id),
        "{list:?}"
    );
    let report = cli(&server, VIEWER, &["backup", "report", id]);
    assert_eq!(report.code, 0);
    assert_eq!(
        report.stdout,
        server
            .get(&format!("/api/v1/backups/{id}/report"), VIEWER)
            .text()
            .unwrap()
    );
}

#[test]
fn a_backup_with_a_failing_component_exits_1() {
    let s = Setup::new(2);
    let server = s.start_env(&[("BACKUP_MASTER_FAULTS", "prepare:lui")]);
    let out = cli(&server, OPERATOR, &["backup", "--wait"]);
    assert_eq!(out.code, 1, "{out:?}");
    let rec = latest_backup(&server);
    assert_eq!(rec["status"], "failed");
    let id = rec["id"].as_str().unwrap();
    assert!(
        out.stdout.contains(&format!("Backup {id} failed")),
        "{out:?}"
    );
    assert!(
        out.stdout.contains("The backup did not complete"),
        "{out:?}"
    );
    // json for scripts: the final record, and still exit 1
    let out = cli(&server, OPERATOR, &["backup", "--wait", "-o", "json"]);
    assert_eq!(out.code, 1, "{out:?}");
    let rec: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(rec["status"], "failed");
}

#[test]
fn a_backup_while_another_runs_exits_4_naming_it_and_cancel_stops_it() {
    let s = Setup::new(2);
    let server = s.start_env(&[("BACKUP_MASTER_FAULTS", "slow_copy_ms:200")]);
    let running = start_backup(&server);
    let out = cli(&server, OPERATOR, &["backup"]);
    assert_eq!(out.code, 4, "{out:?}");
    assert!(
        out.stderr.contains(&format!("running: {running}")),
        "{out:?}"
    );
    // and nothing new was started
    assert_eq!(latest_backup(&server)["id"], running.as_str());

    let out = cli(&server, OPERATOR, &["backup", "cancel", &running]);
    assert_eq!(out.code, 0, "{out:?}");
    let rec = wait_backup(&server, &running);
    assert_eq!(rec["status"], "cancelled");
    // cancelling what no longer runs is a conflict too
    let out = cli(&server, OPERATOR, &["backup", "cancel", &running]);
    assert_eq!(out.code, 4, "{out:?}");
}

#[test]
fn wrong_token_or_no_server_exits_3_and_a_weak_role_too() {
    let s = Setup::new(1);
    let server = s.start();
    let out = cli(&server, "not-a-token", &["backups"]);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("token"), "{out:?}");
    // a viewer may look but not start
    let out = cli(&server, VIEWER, &["backup"]);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("operator"), "{out:?}");
    assert_eq!(
        server.get_json("/api/v1/backups", VIEWER)["items"],
        json!([])
    );
    // nothing listens on this port any more
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let out = run(
        &format!("http://127.0.0.1:{port}"),
        ADMIN,
        &["status"],
        &[],
        "",
    );
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("cannot reach"), "{out:?}");
    // a URL that is not http(s) is bad input
    let out = run("ftp://x", ADMIN, &["status"], &[], "");
    assert_eq!(out.code, 2, "{out:?}");
}

#[test]
fn restore_dry_run_json_is_the_api_plan_and_changes_nothing() {
    let s = Setup::new(2);
    let server = s.start();
    let id = run_backup(&server)["id"].as_str().unwrap().to_string();
    let before = homes(&s);
    let out = cli(
        &server,
        ADMIN,
        &["restore", &id, "--dry-run", "--output", "json"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let plan: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(plan["status"], "planned");
    assert_eq!(plan["dry_run"], true);
    let rid = plan["id"].as_str().unwrap();
    assert_eq!(
        plan,
        server.get_json(&format!("/api/v1/restores/{rid}"), VIEWER)
    );
    assert_eq!(homes(&s), before);

    // the table names each component's removed, copied and edited paths
    let out = cli(
        &server,
        ADMIN,
        &["restore", &id, "--dry-run", "--components", "lui"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("lui.ini += RestoreFromBackup="),
        "{out:?}"
    );
    assert!(out.stdout.contains("luidata"), "{out:?}");
    assert!(!out.stdout.contains("hub.ini"), "{out:?}");
    assert_eq!(homes(&s), before);
}

#[test]
fn restore_without_yes_and_no_terminal_refuses_with_2_and_changes_nothing() {
    let s = Setup::new(2);
    let server = s.start();
    let id = run_backup(&server)["id"].as_str().unwrap().to_string();
    std::fs::write(s.home("lui").join("lui.ini"), b"changed since the backup\n").unwrap();
    let before = homes(&s);
    // even an answer on stdin does not count: stdin is not a terminal
    let out = run(&server.base, ADMIN, &["restore", &id], &[], "y\n");
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("--yes"), "{out:?}");
    assert_eq!(homes(&s), before);
    assert_eq!(
        server.get_json("/api/v1/restores", VIEWER)["items"],
        json!([])
    );

    // with --yes and --wait it restores and follows to the end
    let out = cli(&server, ADMIN, &["restore", &id, "--yes", "--wait"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("succeeded"), "{out:?}");
    let ini = std::fs::read_to_string(s.home("lui").join("lui.ini")).unwrap();
    assert!(ini.starts_with("[LUI]\nDatabase=internal\n"), "{ini}");
    // a set that does not exist is bad input, named by the server
    let out = cli(
        &server,
        ADMIN,
        &["restore", "20000101T000000Z", "--dry-run"],
    );
    assert_eq!(out.code, 2, "{out:?}");
}

#[test]
fn settings_set_validates_on_the_server_and_keeps_what_it_does_not_change() {
    let s = Setup::with_extra(
        1,
        "[hooks]\non_success = \"\"\non_failure = \"\"\nenv = [\"TAPE_DEVICE\"]\n",
    );
    let server = s.start();
    let before = std::fs::read(&s.config).unwrap();
    let out = cli(
        &server,
        ADMIN,
        &["settings", "set", "schedule.daily_time=24:00"],
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("schedule.daily_time:"), "{out:?}");
    assert_eq!(std::fs::read(&s.config).unwrap(), before);
    // an unknown key is refused before asking the server
    let out = cli(
        &server,
        ADMIN,
        &["settings", "set", "schedule.daly_time=02:30"],
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("schedule.daly_time"), "{out:?}");
    assert_eq!(std::fs::read(&s.config).unwrap(), before);

    let out = cli(
        &server,
        ADMIN,
        &[
            "settings",
            "set",
            "schedule.daily_time=02:30",
            "hooks.timeout_seconds=60",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let text = std::fs::read_to_string(&s.config).unwrap();
    assert!(text.contains("daily_time = \"02:30\""), "{text}");
    assert!(text.contains("this comment must survive"), "{text}");
    // hooks.env, which the generated client's model does not know, is kept
    let settings = server.get_json("/api/v1/settings", VIEWER);
    assert_eq!(settings["hooks"]["env"], json!(["TAPE_DEVICE"]));
    assert_eq!(settings["hooks"]["timeout_seconds"], 60);
    let show = cli(&server, VIEWER, &["settings", "show", "-o", "json"]);
    assert_eq!(
        serde_json::from_str::<Value>(&show.stdout).unwrap(),
        settings
    );
}

#[test]
fn component_set_changes_one_component_through_the_etag() {
    let s = Setup::new(3);
    let server = s.start();
    let out = cli(&server, ADMIN, &["component", "set", "lui", "keep=5"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(server.get_json("/api/v1/components/lui", VIEWER)["keep"], 5);
    let before = std::fs::read(&s.config).unwrap();
    let out = cli(&server, ADMIN, &["component", "set", "lui", "keep=500"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("keep"), "{out:?}");
    let out = cli(&server, ADMIN, &["component", "set", "nope", "keep=1"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(std::fs::read(&s.config).unwrap(), before);
    // The lifecycle and drill settings too; an empty value removes a command, and what is
    // not named stays as it was.
    let out = cli(
        &server,
        ADMIN,
        &[
            "component",
            "set",
            "lui",
            "health_command=/bin/true",
            "start_timeout_seconds=30",
            "rollback_on_unhealthy=true",
            "drill_probe_command=/bin/true",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let lui = server.get_json("/api/v1/components/lui", VIEWER);
    assert_eq!(
        (
            &lui["keep"],
            &lui["health_command"],
            &lui["start_timeout_seconds"],
            &lui["rollback_on_unhealthy"],
            &lui["drill_probe_command"]
        ),
        (
            &json!(5),
            &json!("/bin/true"),
            &json!(30),
            &json!(true),
            &json!("/bin/true")
        )
    );
    let out = cli(
        &server,
        ADMIN,
        &["component", "set", "lui", "health_command="],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let lui = server.get_json("/api/v1/components/lui", VIEWER);
    assert_eq!(lui["health_command"], "", "{lui:#}");
    assert_eq!(lui["drill_probe_command"], "/bin/true", "{lui:#}");
    let out = cli(
        &server,
        ADMIN,
        &["component", "set", "lui", "on_change=sometimes"],
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("on_change"), "{out:?}");
    let out = cli(&server, VIEWER, &["components", "-o", "json"]);
    let list: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(list, server.get_json("/api/v1/components", VIEWER));
}

fn with_hook(lines: usize) -> Setup {
    let cmd = format!(
        "/bin/sh -c 'i=1; while [ $i -le {lines} ]; do echo \"line $i\"; i=$((i+1)); done'"
    );
    Setup::with_extra(
        1,
        &format!("[hooks]\non_success = {cmd:?}\non_failure = \"\"\n"),
    )
}

#[test]
fn hook_tail_of_a_finished_process_prints_every_line_once() {
    let s = with_hook(3000);
    let server = s.start();
    let out = cli(&server, ADMIN, &["hook", "test", "on_success"]);
    assert_eq!(out.code, 0, "{out:?}");
    let id = out.stdout.trim().to_string();
    poll("hook to end", Duration::from_secs(30), || {
        let p = server.get_json(&format!("/api/v1/hook-processes/{id}"), VIEWER);
        (p["status"] != "running").then_some(())
    });
    let expected: String = (1..=3000).map(|i| format!("line {i}\n")).collect();
    let out = cli(&server, VIEWER, &["hook", "tail", &id]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, expected);
    assert!(out.stderr.contains("exited 0"), "{out:?}");

    // --follow prints a fresh run's output live, every line once
    let out = cli(&server, ADMIN, &["hook", "test", "on_success", "--follow"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, expected);
    let list = cli(&server, VIEWER, &["hooks", "--all", "-o", "json"]);
    assert_eq!(
        serde_json::from_str::<Value>(&list.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // an unknown process is bad input
    let out = cli(&server, VIEWER, &["hook", "tail", "nope"]);
    assert_eq!(out.code, 2, "{out:?}");
}

#[test]
fn verify_wait_passes_then_names_a_changed_file_and_exits_1() {
    let s = Setup::new(1);
    let server = s.start();
    let id = run_backup(&server)["id"].as_str().unwrap().to_string();
    let out = cli(&server, OPERATOR, &["verify", &id, "--wait"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("passed"), "{out:?}");
    std::fs::write(s.home("trk").join("backup/tracker.ini"), b"tampered\n").unwrap();
    let out = cli(&server, OPERATOR, &["verify", &id, "--wait"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("changed (1)"), "{out:?}");
    assert!(out.stdout.contains("tracker.ini"), "{out:?}");
    let sets = cli(
        &server,
        VIEWER,
        &["sets", "--latest", "--successful", "-o", "json"],
    );
    let sets: Value = serde_json::from_str(&sets.stdout).unwrap();
    assert_eq!(sets["items"][0]["id"], id.as_str());
    let show = cli(&server, VIEWER, &["set", "show", &id]);
    assert_eq!(show.code, 0, "{show:?}");
    assert!(show.stdout.contains("failed"), "{show:?}");
}

#[test]
fn status_shows_next_run_last_success_and_components() {
    let s = Setup::new(1);
    // the schedule on, so there is a next run
    let text = std::fs::read_to_string(&s.config)
        .unwrap()
        .replace("enabled = false", "enabled = true");
    std::fs::write(&s.config, text).unwrap();
    let server = s.start();
    let out = cli(&server, VIEWER, &["status"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("Last success:  none"), "{out:?}");
    let id = run_backup(&server)["id"].as_str().unwrap().to_string();
    let out = cli(&server, VIEWER, &["status"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains(&format!("Last success:  {id}")),
        "{out:?}"
    );
    assert!(out.stdout.contains("Europe/Berlin"), "{out:?}");
    assert!(out.stdout.contains("Running:       nothing"), "{out:?}");
    for name in ["hub", "lui", "trk"] {
        assert!(out.stdout.contains(name), "{out:?}");
    }
    let out = cli(&server, VIEWER, &["status", "-o", "json"]);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["last_success"]["id"], id.as_str());
    assert_eq!(
        v["next_run"],
        server.get_json("/api/v1/settings", VIEWER)["next_runs"][0]
    );
}

#[test]
fn output_off_a_terminal_holds_no_escape_codes() {
    let s = Setup::new(1);
    let server = s.start_env(&[("BACKUP_MASTER_FAULTS", "prepare:trk")]);
    let mut outputs = vec![cli(&server, OPERATOR, &["backup", "--wait"])];
    let id = latest_backup(&server)["id"].as_str().unwrap().to_string();
    for args in [
        vec!["status"],
        vec!["backups"],
        vec!["backup", "show", &id],
        vec!["sets"],
        vec!["components"],
        vec!["settings", "show"],
        vec!["hooks", "--all"],
        vec!["backup", "cancel", &id],
    ] {
        outputs.push(cli(&server, ADMIN, &args));
    }
    for out in &outputs {
        assert!(!out.all().contains('\u{1b}'), "{out:?}");
    }
    assert!(outputs[0].stdout.contains("failed"));
}

/// Runs `cmd` under `script` so the binary's stdout and stderr are a terminal.
fn on_a_terminal(server: &Server, args: &str, no_color: bool) -> String {
    let shell = format!(
        "{}{} {args}",
        if no_color { "NO_COLOR=1 " } else { "" },
        bin().display()
    );
    let out = Command::new("script")
        .args(["-qec", &shell, "/dev/null"])
        .env("BACKUP_MASTER_URL", &server.base)
        .env("BACKUP_MASTER_TOKEN", VIEWER)
        .env_remove("NO_COLOR")
        .env("COLUMNS", "200")
        .stdin(Stdio::null())
        .output()
        .expect("script(1) from util-linux runs a command on a pseudo-terminal");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn colours_only_on_a_terminal_and_never_with_no_color() {
    let s = Setup::new(1);
    let server = s.start();
    run_backup(&server);
    let coloured = on_a_terminal(&server, "backups", false);
    assert!(coloured.contains("\u{1b}[32msucceeded"), "{coloured:?}");
    let plain = on_a_terminal(&server, "backups", true);
    assert!(plain.contains("succeeded"), "{plain:?}");
    assert!(!plain.contains('\u{1b}'), "{plain:?}");
}

#[test]
fn token_new_makes_a_token_the_server_accepts_with_its_role() {
    let s = Setup::new(1);
    let out = run(
        "http://unused",
        "",
        &["token", "new", "--role", "viewer", "--name", "ci"],
        &[],
        "",
    );
    assert_eq!(out.code, 0, "{out:?}");
    let mut lines = out.stdout.lines();
    let token = lines.next().unwrap().to_string();
    assert_eq!(token.len(), 64, "{out:?}");
    let block: String = lines.map(|l| format!("{l}\n")).collect();
    assert!(
        block.contains("[[tokens]]\nname = \"ci\"\nrole = \"viewer\"\n"),
        "{block}"
    );
    assert!(
        block.contains(&format!("sha256 = \"{}\"", sha(&token))),
        "{block}"
    );

    // token hash agrees
    let h = run(
        "http://unused",
        "",
        &["token", "hash"],
        &[],
        &format!("{token}\n"),
    );
    assert_eq!(h.stdout.trim(), sha(&token));

    // a file token: 0600, refused over an existing file
    let file = s.path().join("secrets-ops.token");
    let f = file.to_str().unwrap();
    let out = run(
        "http://unused",
        "",
        &["token", "new", "--role", "operator", "--token-file", f],
        &[],
        "",
    );
    assert_eq!(out.code, 0, "{out:?}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let op_token = std::fs::read_to_string(&file).unwrap().trim().to_string();
    assert!(!out.stdout.contains(&op_token), "{out:?}");
    assert!(
        out.stdout.contains(&format!("token_file = \"{f}\"")),
        "{out:?}"
    );
    let again = run(
        "http://unused",
        "",
        &["token", "new", "--role", "admin", "--token-file", f],
        &[],
        "",
    );
    assert_eq!(again.code, 2, "{again:?}");
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), op_token);

    // both blocks pasted into the config: it checks ok and the server takes both tokens
    let mut text = std::fs::read_to_string(&s.config).unwrap();
    text = text.replacen(
        "[schedule]",
        &format!("{block}\n{}\n[schedule]", out.stdout),
        1,
    );
    std::fs::write(&s.config, text).unwrap();
    let check = run(
        "http://unused",
        "",
        &["config", "check", s.config.to_str().unwrap()],
        &[],
        "",
    );
    assert_eq!(check.code, 0, "{check:?}");
    let server = s.start();
    let out = cli(&server, &token, &["backups"]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = cli(&server, &token, &["backup"]);
    assert_eq!(out.code, 3, "{out:?}");
    let out = cli(&server, &op_token, &["backup", "--wait"]);
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn config_check_prints_every_error_with_key_and_line() {
    let s = Setup::new(1);
    let ok = run(
        "http://unused",
        "",
        &["config", "check", s.config.to_str().unwrap()],
        &[],
        "",
    );
    assert_eq!(ok.code, 0, "{ok:?}");
    assert!(ok.stdout.starts_with("ok"), "{ok:?}");
    let text = std::fs::read_to_string(&s.config)
        .unwrap()
        .replace("daily_time = \"02:00\"", "daily_time = \"24:00\"")
        .replace("catch_up = false", "catch_up = false\ncatchup = true");
    std::fs::write(&s.config, &text).unwrap();
    let bad = run(
        "http://unused",
        "",
        &["config", "check", s.config.to_str().unwrap()],
        &[],
        "",
    );
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(bad.stdout.contains("2 errors"), "{bad:?}");
    assert!(bad.stdout.contains("schedule.daily_time"), "{bad:?}");
    let line = text.lines().position(|l| l.starts_with("catchup")).unwrap() + 1;
    assert!(bad.stdout.contains("schedule.catchup"), "{bad:?}");
    assert!(bad.stdout.contains(&format!("line {line}")), "{bad:?}");
    // it started nothing and wrote nothing
    assert!(!s.state().exists());
    assert_eq!(std::fs::read_to_string(&s.config).unwrap(), text);
    let missing = run(
        "http://unused",
        "",
        &["config", "check", "/nonexistent/x.toml"],
        &[],
        "",
    );
    assert_eq!(missing.code, 2, "{missing:?}");
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish"] {
        let out = run("http://unused", "", &["completions", shell], &[], "");
        assert_eq!(out.code, 0, "{out:?}");
        assert!(out.stdout.contains("backup-master"), "{shell}");
        assert!(out.stdout.contains("restore"), "{shell}");
    }
    let out = run("http://unused", "", &["man"], &[], "");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains(".TH backup-master"), "{out:?}");
    let bad = run("http://unused", "", &["completions", "tcsh"], &[], "");
    assert_eq!(bad.code, 2, "{bad:?}");
}

#[test]
fn ctrl_c_off_a_terminal_stops_watching_and_the_backup_goes_on() {
    use std::io::{BufRead, BufReader};
    let s = Setup::new(1);
    let server = s.start_env(&[("BACKUP_MASTER_FAULTS", "slow_copy_ms:400")]);
    let cwd = tempfile::tempdir().unwrap();
    let mut child = Command::new(bin())
        .args(["backup", "--wait"])
        .current_dir(cwd.path())
        .env("BACKUP_MASTER_URL", &server.base)
        .env("BACKUP_MASTER_TOKEN", OPERATOR)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // following: the first progress line has come
    let mut seen = Vec::new();
    poll("a progress line", Duration::from_secs(30), || {
        seen.extend(rx.try_iter());
        seen.iter().any(|l| l.contains(": preparing")).then_some(())
    });
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let status = wait_exit(&mut child, Duration::from_secs(20)).expect("the client exits");
    assert_eq!(status.code(), Some(130));
    let id = latest_backup(&server)["id"].as_str().unwrap().to_string();
    let rest: Vec<String> = rx.iter().collect();
    assert!(
        rest.iter()
            .any(|l| l.contains(&format!("backup {id} goes on"))),
        "{seen:?} {rest:?}"
    );
    // not cancelled: it ends by itself, successfully
    assert_eq!(wait_backup(&server, &id)["status"], "succeeded");
}

#[test]
fn components_show_whether_each_agent_is_reachable() {
    let s = Setup::new(1);
    let agent_dir = tempfile::tempdir().unwrap();
    let agent = Agent::start(
        agent_dir.path(),
        ("far", "maestro-tracker", "far-agent-token"),
        "",
        "127.0.0.1:0",
        &[],
    );
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut text = std::fs::read_to_string(&s.config).unwrap();
    text.push_str(&format!(
        "\n[[components]]\nname = \"far\"\nprofile = \"maestro-tracker\"\nagent = \"{}\"\n\
         backup_folder = \"backup\"\n\n[[components]]\nname = \"gone\"\n\
         profile = \"maestro-tracker\"\nagent = \"http://127.0.0.1:{closed}\"\n\
         backup_folder = \"backup\"\n",
        agent.addr
    ));
    std::fs::write(&s.config, text).unwrap();
    let server = s.start_env(&[
        ("BACKUP_MASTER_AGENT_TOKEN_FAR", "far-agent-token"),
        ("BACKUP_MASTER_AGENT_TOKEN_GONE", "whatever"),
    ]);
    let out = cli(&server, VIEWER, &["components"]);
    assert_eq!(out.code, 0, "{out:?}");
    let row = |name: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} in {out:?}"))
            .to_string()
    };
    assert!(row("hub").contains(" local "), "{out:?}");
    assert!(row("far").contains(" remote "), "{out:?}");
    assert!(row("far").contains(" yes "), "{out:?}");
    assert!(
        row("far").contains(&format!("backup (on {})", agent.addr)),
        "{out:?}"
    );
    assert!(row("gone").contains(" no: "), "{out:?}");
    let status = cli(&server, VIEWER, &["status", "-o", "json"]);
    let v: Value = serde_json::from_str(&status.stdout).unwrap();
    let gone = v["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "gone")
        .unwrap()
        .clone();
    assert_eq!(gone["reachable"], false);
}
