//! Post-backup hook processes through the real server: the environment and folder a real script
//! sees, live output over SSE with Last-Event-ID, termination of the whole process tree,
//! timeouts, skipping while the previous run still runs, and commands that cannot start.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

/// A setup whose hooks run `on_success` / `on_failure` in a work folder of its own.
fn with_hooks(on_success: &str, on_failure: &str, timeout: u64) -> (Setup, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    let extra = format!(
        "[hooks]\non_success = {on_success:?}\non_failure = {on_failure:?}\nwork_folder = {:?}\ntimeout_seconds = {timeout}\n",
        work.display().to_string()
    );
    (Setup::with_extra(1, &extra), dir)
}

fn script(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    p.display().to_string()
}

fn processes(server: &Server) -> Vec<Value> {
    server
        .get_json("/api/v1/hook-processes?all=true", VIEWER)
        .as_array()
        .unwrap()
        .clone()
}

fn wait_process(server: &Server, id: &str) -> Value {
    poll(
        &format!("hook {id} to end"),
        Duration::from_secs(30),
        || {
            let p = server.get_json(&format!("/api/v1/hook-processes/{id}"), VIEWER);
            (p["status"] != "running").then_some(p)
        },
    )
}

fn alive(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // gone, or a zombie waiting for a reaper that never comes in this container
    !stat.is_empty() && stat.split_whitespace().nth(2).is_none_or(|s| s != "Z")
}

#[test]
fn hooks_see_the_backup_in_their_environment_and_folder() {
    let dir = tempfile::tempdir().unwrap();
    let body = "pwd > env.txt; env | grep '^BACKUP_' | sort >> env.txt; echo done";
    let ok = script(dir.path(), "ok.sh", body);
    let fail = script(dir.path(), "fail.sh", body);
    let (s, work) = with_hooks(&format!("/bin/sh {ok}"), &format!("/bin/sh {fail}"), 60);
    let server = s.start();
    let r = run_backup(&server);
    assert_eq!(r["status"], "succeeded");
    let id = r["id"].as_str().unwrap();
    let p = poll("the after-success hook", Duration::from_secs(20), || {
        processes(&server)
            .into_iter()
            .find(|p| p["backup_id"] == id)
    });
    assert_eq!(p["kind"], "after_success");
    let p = wait_process(&server, p["id"].as_str().unwrap());
    assert_eq!(p["status"], "exited", "{p}");
    assert_eq!(p["exit_code"], 0);
    let work = work.path();
    let env = std::fs::read_to_string(work.join("env.txt")).unwrap();
    let lines: Vec<&str> = env.lines().collect();
    assert_eq!(
        lines[0],
        work.display().to_string(),
        "cwd is the work folder"
    );
    assert!(lines.contains(&format!("BACKUP_ID={id}").as_str()), "{env}");
    assert!(lines.contains(&"BACKUP_RESULT=success"), "{env}");
    let report = s.state().join(format!("logs/backupReport_{id}.txt"));
    assert!(
        lines.contains(&format!("BACKUP_REPORT={}", report.display()).as_str()),
        "{env}"
    );
    for c in ["hub", "lui", "trk"] {
        let line = format!(
            "BACKUP_FOLDER_{}={}",
            c.to_uppercase(),
            s.home(c).join("backup").display()
        );
        assert!(lines.contains(&line.as_str()), "{line} not in {env}");
    }
    drop(server);

    // A failed backup runs on_failure with BACKUP_RESULT=failure.
    let server = s.start_env(&[("BACKUP_MASTER_FAULTS", "prepare:lui")]);
    let r = run_backup(&server);
    assert_eq!(r["status"], "failed");
    let id = r["id"].as_str().unwrap();
    let p = poll("the after-failure hook", Duration::from_secs(20), || {
        processes(&server)
            .into_iter()
            .find(|p| p["backup_id"] == id)
    });
    assert_eq!(p["kind"], "after_failure");
    wait_process(&server, p["id"].as_str().unwrap());
    let env = std::fs::read_to_string(work.join("env.txt")).unwrap();
    assert!(env.contains("BACKUP_RESULT=failure"), "{env}");
    assert!(env.contains(&format!("BACKUP_ID={id}")), "{env}");
}

#[test]
fn test_run_output_streams_with_ids_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let cmd = script(
        dir.path(),
        "lines.sh",
        "for i in 1 2 3 4 5; do echo \"line $i\"; done; echo oops >&2; exit 3",
    );
    let (s, _work) = with_hooks(&format!("/bin/sh {cmd}"), "", 60);
    let server = s.start();
    let r = server.post(
        "/api/v1/hook-processes",
        ADMIN,
        &json!({"hook": "on_success"}),
    );
    assert_eq!(r.status(), 202);
    let p: Value = r.json().unwrap();
    assert_eq!(p["kind"], "test");
    let id = p["id"].as_str().unwrap().to_string();
    let text = server
        .get(&format!("/api/v1/hook-processes/{id}/output"), VIEWER)
        .text()
        .unwrap();
    let events = sse(&text);
    let lines: Vec<(u64, String)> = events
        .iter()
        .filter(|(_, e, _)| e == "line")
        .map(|(i, _, d)| (i.unwrap(), d["text"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        lines,
        vec![
            (1, "line 1".to_string()),
            (2, "line 2".to_string()),
            (3, "line 3".to_string()),
            (4, "line 4".to_string()),
            (5, "line 5".to_string()),
            (6, "oops".to_string()),
        ]
    );
    let (_, last, exit) = events.last().unwrap();
    assert_eq!(last, "exit");
    assert_eq!(exit["exit_code"], 3);
    assert_eq!(events.iter().filter(|(_, e, _)| e == "exit").count(), 1);

    // Resume after line 3: lines 4.. and the exit, nothing repeated.
    let resumed = server
        .client
        .get(server.url(&format!("/api/v1/hook-processes/{id}/output")))
        .bearer_auth(VIEWER)
        .header("Last-Event-ID", "3")
        .send()
        .unwrap()
        .text()
        .unwrap();
    let ids: Vec<u64> = sse(&resumed).iter().filter_map(|(i, _, _)| *i).collect();
    assert_eq!(ids, [4, 5, 6]);
    assert!(resumed.contains("event: exit"));
    let r = server
        .client
        .get(server.url(&format!("/api/v1/hook-processes/{id}/output")))
        .bearer_auth(VIEWER)
        .header("Last-Event-ID", "three")
        .send()
        .unwrap();
    assert_problem(r, 422);
}

#[test]
fn delete_ends_the_whole_process_tree() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let cmd = script(
        dir.path(),
        "tree.sh",
        &format!(
            "sleep 300 & echo $! > {p}; echo $$ >> {p}; echo started; sleep 300",
            p = pids.display()
        ),
    );
    let (s, _work) = with_hooks(&format!("/bin/sh {cmd}"), "", 3600);
    let server = s.start();
    let p: Value = server
        .post(
            "/api/v1/hook-processes",
            ADMIN,
            &json!({"hook": "on_success"}),
        )
        .json()
        .unwrap();
    let id = p["id"].as_str().unwrap().to_string();
    let both: Vec<i32> = poll("the pid file", Duration::from_secs(10), || {
        let text = std::fs::read_to_string(&pids).ok()?;
        let v: Vec<i32> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
        (v.len() == 2).then_some(v)
    });
    assert!(both.iter().all(|&pid| alive(pid)));
    let listed = server.get_json("/api/v1/hook-processes", VIEWER);
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["id"] == id.as_str()));
    // Viewer may watch but not terminate.
    let r = server
        .client
        .delete(server.url(&format!("/api/v1/hook-processes/{id}")))
        .bearer_auth(VIEWER)
        .send()
        .unwrap();
    assert_problem(r, 403);
    let r = server
        .client
        .delete(server.url(&format!("/api/v1/hook-processes/{id}")))
        .bearer_auth(ADMIN)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let done: Value = r.json().unwrap();
    assert_eq!(done["status"], "killed", "{done}");
    poll("both processes gone", Duration::from_secs(10), || {
        both.iter().all(|&pid| !alive(pid)).then_some(())
    });
    // Not running any more: listed only with all=true; a second DELETE is a conflict.
    let running = server.get_json("/api/v1/hook-processes", VIEWER);
    assert!(!running
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["id"] == id.as_str()));
    let r = server
        .client
        .delete(server.url(&format!("/api/v1/hook-processes/{id}")))
        .bearer_auth(ADMIN)
        .send()
        .unwrap();
    assert_problem(r, 409);
}

#[test]
fn timeout_skip_and_failed_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let slow = script(dir.path(), "slow.sh", "echo waiting; sleep 30");
    let (s, _work) = with_hooks(&format!("/bin/sh {slow}"), "/no/such/program --flag", 2);
    let server = s.start();
    // A test run of on_success holds the hook: the after-backup run is skipped, not stacked.
    let p: Value = server
        .post(
            "/api/v1/hook-processes",
            ADMIN,
            &json!({"hook": "on_success"}),
        )
        .json()
        .unwrap();
    let r = run_backup(&server);
    assert_eq!(r["status"], "succeeded");
    let skipped = poll("the skipped record", Duration::from_secs(10), || {
        processes(&server)
            .into_iter()
            .find(|x| x["backup_id"] == r["id"] && x["kind"] == "after_success")
    });
    assert_eq!(skipped["status"], "skipped", "{skipped}");
    assert!(skipped["error"].as_str().is_some_and(|e| !e.is_empty()));
    // The test run itself times out after 2 s.
    let done = wait_process(&server, p["id"].as_str().unwrap());
    assert_eq!(done["status"], "timed_out", "{done}");

    // A command that does not exist: failed_to_start with the OS error, not a 500.
    let r = server.post(
        "/api/v1/hook-processes",
        ADMIN,
        &json!({"hook": "on_failure"}),
    );
    assert_eq!(r.status(), 202);
    let p: Value = r.json().unwrap();
    assert_eq!(p["status"], "failed_to_start", "{p}");
    assert!(p["error"].as_str().unwrap().contains("No such file"), "{p}");

    // Unknown hook name: 422 naming the field.
    let r = server.post(
        "/api/v1/hook-processes",
        ADMIN,
        &json!({"hook": "on_tuesday"}),
    );
    let problem = assert_problem(r, 422);
    assert!(
        problem_fields(&problem).contains(&"hook".to_string()),
        "{problem}"
    );
}
