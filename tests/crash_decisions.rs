//! Crash recovery never reverses a decision (issue 21), through the real server with fault
//! points and kill -9: a restore whose commit decision could not be recorded is rolled back and
//! stays rolled back across a crash during that rollback; a backup whose final record cannot be
//! written (a read-only records folder) holds the job until a restart finishes it, and its hook
//! runs once; a staging folder that recovery could not commit is kept, across restarts, until
//! an operator discards it; backups wait while a restored `lui.ini` still has its
//! `RestoreFromBackup=` line; a hook process whose start was recorded but not its process ID is
//! listed, ended, and never started twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const COMPONENTS: [&str; 3] = ["hub", "lui", "trk"];

/// A bind mount of a folder onto itself, which can be made read-only (this works for root,
/// where permission bits would not stop a write). Unmounted on drop.
struct BindMount(PathBuf);

impl BindMount {
    fn new(dir: &Path) -> BindMount {
        let ok = Command::new("mount")
            .arg("--bind")
            .arg(dir)
            .arg(dir)
            .status()
            .unwrap();
        assert!(ok.success(), "mount --bind (these tests need root)");
        BindMount(dir.to_path_buf())
    }

    fn read_only(&self) {
        let ok = Command::new("mount")
            .args(["-o", "remount,ro,bind"])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(ok.success(), "remount read-only");
        assert!(std::fs::write(self.0.join("probe"), b"x").is_err());
    }
}

impl Drop for BindMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Waits until the server paused at `pause_at:<step>`, then lets it go on.
fn wait_paused(s: &Setup, step: &str) {
    let paused = s.state().join(format!("fault-paused-{step}"));
    poll(
        &format!("the server to pause at {step}"),
        Duration::from_secs(60),
        || paused.exists().then_some(()),
    );
}

fn resume(s: &Setup, step: &str) {
    std::fs::write(s.state().join(format!("fault-resume-{step}")), b"").unwrap();
}

fn backup(server: &Server, id: &str) -> Value {
    server.get_json(&format!("/api/v1/backups/{id}"), VIEWER)
}

fn hook_setup(keep: u32, on_success: &str, on_failure: &str) -> (Setup, tempfile::TempDir) {
    let work = tempfile::tempdir().unwrap();
    let extra = format!(
        "[hooks]\non_success = {on_success:?}\non_failure = {on_failure:?}\nwork_folder = {:?}\ntimeout_seconds = 600\n",
        work.path().display().to_string()
    );
    (Setup::with_extra(keep, &extra), work)
}

fn script(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    let ok = Command::new("chmod").arg("755").arg(&p).status().unwrap();
    assert!(ok.success());
    p.display().to_string()
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

fn hook_processes(server: &Server) -> Vec<Value> {
    server
        .get_json("/api/v1/hook-processes?all=true", VIEWER)
        .as_array()
        .unwrap()
        .clone()
}

fn alive(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // gone, or a zombie nobody reaps in this container
    !stat.is_empty() && stat.split_whitespace().nth(2).is_none_or(|s| s != "Z")
}

fn metric(server: &Server, name: &str) -> f64 {
    let text = server.get("/metrics", VIEWER).text().unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} missing in {text}"))
        .parse()
        .unwrap()
}

/// A folder, a file and an item's content damaged; a stray file inside an item.
fn damage(s: &Setup) {
    std::fs::remove_dir_all(s.home("hub").join("hubreg")).unwrap();
    write(&s.home("hub").join("accountreg/stray.txt"), b"stray\n");
    write(&s.home("lui").join("luidata/db/jobs.ibd"), b"corrupted");
    write(&s.home("trk").join("data/stray.dat"), b"stray\n");
    std::fs::remove_file(s.home("trk").join("tracker.ini")).unwrap();
}

fn all_slots_verify(s: &Setup) {
    for c in COMPONENTS {
        for slot in slots(&s.home(c)) {
            assert!(sha256sum_ok(&s.home(c).join(&slot)), "{c}/{slot}");
        }
    }
}

/// (1) The restore's commit decision cannot be saved (once): the decision is withdrawn on disk
/// before the rollback starts, so a kill -9 in the middle of that rollback is finished as a
/// rollback at the next start, never rolled forward over half-restored homes.
#[test]
fn a_restore_decision_that_could_not_be_saved_is_never_rolled_forward() {
    let s = Setup::new(1);
    let server = s.start();
    let id = run_backup(&server)["id"].as_str().unwrap().to_string();
    drop(server);
    damage(&s);
    let homes = s.path().join("homes");
    let before = snapshot_meta(&homes, &[]);

    let mut server = s.start_env(&[(
        "BACKUP_MASTER_FAULTS",
        "fail_save_once:restore_decision,restore_abort_in_rollback:lui",
    )]);
    let r = post_restore(&server, &json!({ "backup_id": id }));
    assert_eq!(r.status(), 202);
    let rid = r.json::<Value>().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_exit(&mut server.child, Duration::from_secs(60)).expect("the server aborts mid-rollback");
    drop(server);
    assert!(
        !safety_folders(&s.home("lui")).is_empty(),
        "lui's rollback should be half done"
    );
    let on_disk: Value = serde_json::from_slice(
        &std::fs::read(s.state().join(format!("jobs/restores/{rid}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(on_disk["commit_decided"], false, "{on_disk:#}");
    assert_eq!(on_disk["status"], "running", "{on_disk:#}");
    assert!(
        on_disk["notes"].to_string().contains("withdrawn"),
        "{on_disk:#}"
    );

    let server = s.start();
    let rec = server.get_json(&format!("/api/v1/restores/{rid}"), VIEWER);
    assert_eq!(rec["status"], "interrupted", "{rec:#}");
    assert_eq!(rec["commit_decided"], false, "{rec:#}");
    assert_eq!(
        snapshot_meta(&homes, &[]),
        before,
        "every home must be exactly as before the restore"
    );
    all_slots_verify(&s);
}

/// (1) A restore that panics right after its commit decision was saved completes the commit:
/// the decision is never reversed by a rollback.
#[test]
fn a_panic_after_the_restore_decision_completes_the_restore() {
    let s = Setup::new(1);
    let server = s.start();
    let id = run_backup(&server)["id"].as_str().unwrap().to_string();
    drop(server);
    damage(&s);
    let server = s.start_env(&[("BACKUP_MASTER_FAULTS", "panic_at:restore_decided")]);
    let rec = run_restore(&server, &json!({ "backup_id": id }));
    assert_eq!(rec["status"], "succeeded", "{rec:#}");
    assert!(
        rec["notes"]
            .to_string()
            .contains("after its commit was decided"),
        "{rec:#}"
    );
    for (c, file) in [("hub", "hub.ini"), ("trk", "tracker.ini")] {
        assert_eq!(
            std::fs::read(s.home(c).join(file)).unwrap(),
            std::fs::read(s.home(c).join("backup").join(file)).unwrap(),
            "{c}"
        );
    }
    assert!(s.home("hub").join("hubreg").is_dir());
    assert!(!s.home("trk").join("data/stray.dat").exists());
    // Completed like any commit: each component keeps its safety folder, for an undo.
    for c in COMPONENTS {
        assert_eq!(safety_folders(&s.home(c)).len(), 1, "{c}");
    }
    assert_eq!(rec["undo_available"], true, "{rec:#}");
    all_slots_verify(&s);
}

/// (3) The records folder turns read-only just before the backup's final write: the backup
/// stays `running`, keeps the job lock, runs no hook, and the server says why. After a kill -9
/// and a restart with the folder writable again, recovery finishes it with the same outcome
/// and its hook runs once, also across a further restart.
#[test]
fn a_final_record_that_cannot_be_written_holds_the_job_and_the_hook_runs_once() {
    let hooks_dir = tempfile::tempdir().unwrap();
    let log = hooks_dir.path().join("hooks.log");
    let hook = script(
        hooks_dir.path(),
        "hook.sh",
        &format!("echo \"$BACKUP_ID $BACKUP_RESULT\" >> {}", log.display()),
    );
    let (s, _work) = hook_setup(1, &hook, &hook);
    let records = s.state().join("jobs/backups");
    std::fs::create_dir_all(&records).unwrap();
    let mount = BindMount::new(&records);

    let mut server = s.start_env(&[("BACKUP_MASTER_FAULTS", "pause_at:backup_finish")]);
    let id = start_backup(&server);
    wait_paused(&s, "backup_finish");
    mount.read_only();
    resume(&s, "backup_finish");

    let health = poll(
        "the server to report degraded",
        Duration::from_secs(30),
        || {
            let h: Value = server.get("/healthz", VIEWER).json().unwrap();
            (h["status"] == "degraded").then_some(h)
        },
    );
    assert!(health["problems"].to_string().contains(&id), "{health:#}");
    assert_eq!(metric(&server, "backup_master_degraded"), 1.0);
    let rec = backup(&server, &id);
    assert_eq!(rec["status"], "running", "{rec:#}");
    let body = assert_problem(server.post("/api/v1/backups", OPERATOR, &json!({})), 409);
    assert_eq!(
        body["running_id"],
        id.as_str(),
        "the job lock stays held: {body}"
    );
    assert!(lines(&log).is_empty(), "no hook before the end is on disk");
    assert!(hook_processes(&server).is_empty());

    server.kill9();
    drop(server);
    drop(mount);

    let server = s.start();
    let rec = backup(&server, &id);
    assert_eq!(
        rec["status"], "succeeded",
        "the outcome is unchanged: {rec:#}"
    );
    for c in COMPONENTS {
        assert_eq!(readme_id(&s.home(c).join("backup")), id, "{c}");
    }
    let procs = poll("the hook to run and end", Duration::from_secs(30), || {
        let p = hook_processes(&server);
        (p.len() == 1 && p[0]["status"] == "exited").then_some(p)
    });
    assert_eq!(procs[0]["backup_id"], id.as_str());
    assert_eq!(procs[0]["kind"], "after_success");
    assert_eq!(lines(&log), [format!("{id} success")]);
    poll("hook_pending cleared", Duration::from_secs(10), || {
        (backup(&server, &id)["hook_pending"] == false).then_some(())
    });
    let h: Value = server.get("/healthz", VIEWER).json().unwrap();
    assert_eq!(h["status"], "ok", "{h:#}");
    drop(server);

    // Owed hooks are started before the server listens: a second run would be listed now.
    let server = s.start();
    assert_eq!(hook_processes(&server).len(), 1);
    assert_eq!(lines(&log), [format!("{id} success")]);
}

/// (4) A crash mid-rotation, and the slot parent is read-only at the first restart: recovery
/// cannot finish that component's commit and keeps its staging folder, the only copy of its
/// backup. Neither that start nor the next one removes it, and backups are refused (409 naming
/// it) until an operator discards it.
#[test]
fn a_staging_recovery_could_not_commit_is_kept_until_an_operator_discards_it() {
    let s = Setup::new(2);
    let server = s.start();
    let first = run_backup(&server)["id"].as_str().unwrap().to_string();
    drop(server);
    let mut server = s.start_env(&[("BACKUP_MASTER_FAULTS", "abort_mid_rotation:lui")]);
    let id = start_backup(&server);
    wait_exit(&mut server.child, Duration::from_secs(60)).expect("the server aborts");
    drop(server);
    let staging = s.home("lui").join(format!("backup.staging-{id}"));
    assert!(staging.is_dir());

    let mount = BindMount::new(&s.home("lui"));
    mount.read_only();
    let mut server = s.start();
    let rec = backup(&server, &id);
    assert_eq!(rec["status"], "interrupted", "{rec:#}");
    let kept = rec["kept_stagings"].as_array().unwrap();
    assert_eq!(kept.len(), 1, "{rec:#}");
    assert_eq!(kept[0]["component"], "lui");
    assert_eq!(
        kept[0]["path"].as_str().unwrap(),
        staging.display().to_string()
    );
    let lui = rec["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "lui")
        .unwrap();
    assert!(lui["errors"].to_string().contains("is kept"), "{rec:#}");
    for c in ["hub", "trk"] {
        assert_eq!(readme_id(&s.home(c).join("backup")), id, "{c}");
    }
    assert!(staging.is_dir());
    let body = assert_problem(server.post("/api/v1/backups", OPERATOR, &json!({})), 409);
    assert_eq!(body["type"], "/problems/staging-kept", "{body}");
    assert_eq!(body["code"], "staging_kept", "{body}");
    assert!(body["detail"].as_str().unwrap().contains(&id), "{body}");
    assert_eq!(metric(&server, "backup_master_kept_staging_folders"), 1.0);
    server.kill9();
    drop(server);
    drop(mount);

    // Writable again: the second start keeps it too.
    let server = s.start();
    assert!(
        staging.is_dir(),
        "the second start removed the kept staging"
    );
    assert_eq!(
        backup(&server, &id)["kept_stagings"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_problem(server.post("/api/v1/backups", OPERATOR, &json!({})), 409);
    assert!(
        staging.is_dir(),
        "a refused backup removed the kept staging"
    );
    // Only an admin discards it.
    let url = server.url(&format!("/api/v1/backups/{id}/staging"));
    let del = |token: &str| {
        server
            .client
            .delete(&url)
            .bearer_auth(token)
            .send()
            .unwrap()
    };
    assert_eq!(del(OPERATOR).status(), 403);
    assert!(staging.is_dir());
    let r = del(ADMIN);
    assert_eq!(r.status(), 200);
    let rec: Value = r.json().unwrap();
    assert!(
        rec["kept_stagings"].as_array().unwrap().is_empty(),
        "{rec:#}"
    );
    assert!(rec["notes"].to_string().contains("discarded"), "{rec:#}");
    assert!(!staging.exists());
    let p = assert_problem(del(ADMIN), 409);
    assert_eq!(p["code"], "nothing_kept", "{p}");
    let next = run_backup(&server);
    assert_eq!(next["status"], "succeeded", "{next:#}");
    assert_eq!(readme_id(&s.home("lui").join("backup1")), first);
    all_slots_verify(&s);
}

/// (5) A restore from `backup1` appends `RestoreFromBackup=<.../backup1>` to lui.ini. Until the
/// Maestro User Interface has started (and removed the line), a backup would rotate that folder
/// away: it is refused (409 naming the restore), and a scheduled (here: caught-up) instant is
/// skipped and logged. Once the line is gone, backups run again.
#[test]
fn backups_wait_for_lui_to_start_after_a_restore() {
    let s = Setup::new(2);
    let text = std::fs::read_to_string(&s.config)
        .unwrap()
        .replace(
            "enabled = false        # tests start backups by hand",
            "enabled = true",
        )
        .replace("time_zone = \"Europe/Berlin\"", "time_zone = \"UTC\"")
        .replace("catch_up = false", "catch_up = true");
    std::fs::write(&s.config, text).unwrap();
    let server = s.start();
    let older = run_backup(&server)["id"].as_str().unwrap().to_string();
    let newer = run_backup(&server)["id"].as_str().unwrap().to_string();
    assert_ne!(older, newer);
    assert_eq!(readme_id(&s.home("lui").join("backup1")), older);
    let rec = run_restore(&server, &json!({ "backup_id": older }));
    assert_eq!(rec["status"], "succeeded", "{rec:#}");
    let rid = rec["id"].as_str().unwrap().to_string();
    let lui_ini = s.home("lui").join("lui.ini");
    let text = std::fs::read_to_string(&lui_ini).unwrap();
    let backup1 = std::fs::canonicalize(s.home("lui").join("backup1")).unwrap();
    assert!(
        text.contains(&format!("RestoreFromBackup={}", backup1.display())),
        "{text}"
    );

    let body = assert_problem(server.post("/api/v1/backups", OPERATOR, &json!({})), 409);
    assert_eq!(body["type"], "/problems/restore-pending", "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains(&rid), "names the restore: {detail}");
    assert!(detail.contains("backup1"), "{detail}");
    assert_eq!(readme_id(&s.home("lui").join("backup1")), older);
    drop(server);

    // A day later (the scheduler's clock moved on): the missed instant is caught up at start-up,
    // and skipped with the reason in the schedule log.
    let server = s.start_env(&[("BACKUP_MASTER_CLOCK_OFFSET_SECS", "86400")]);
    let entry = poll("the skipped catch-up", Duration::from_secs(30), || {
        let log = server.get_json("/api/v1/schedule/log", VIEWER);
        log.as_array()
            .unwrap()
            .iter()
            .find(|e| e["outcome"]["kind"] == "skipped")
            .cloned()
    });
    let reason = entry["outcome"]["reason"].as_str().unwrap();
    assert!(
        reason.contains(&rid) && reason.contains("RestoreFromBackup"),
        "{entry}"
    );
    assert!(backup(&server, &newer)["status"] == "succeeded");
    let list = server.get_json("/api/v1/backups?limit=10", VIEWER);
    assert_eq!(list["items"].as_array().unwrap().len(), 2, "{list}");

    // The component starts and consumes the line: backups run again.
    let kept: String = text
        .lines()
        .filter(|l| !l.starts_with("RestoreFromBackup="))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&lui_ini, kept).unwrap();
    let next = run_backup(&server);
    assert_eq!(next["status"], "succeeded", "{next:#}");
}

/// (6) The master dies right after a hook process was spawned, before its process ID was
/// recorded. The record written before the spawn lists it at the next start (orphaned); the
/// process, recognised by its ID in its environment, is ended; and the hook is never started a
/// second time for that backup, also across a further restart.
#[test]
fn a_hook_started_just_before_a_crash_is_listed_ended_and_never_run_twice() {
    let hooks_dir = tempfile::tempdir().unwrap();
    let ran = hooks_dir.path().join("ran.txt");
    let pid_file = hooks_dir.path().join("hook.pid");
    let hook = script(
        hooks_dir.path(),
        "hook.sh",
        &format!(
            "echo \"$BACKUP_ID\" >> {}\necho $$ > {}\nexec sleep 120",
            ran.display(),
            pid_file.display()
        ),
    );
    let (s, _work) = hook_setup(1, &hook, &hook);
    let mut server = s.start_env(&[("BACKUP_MASTER_FAULTS", "abort_at:hook_spawned")]);
    let id = start_backup(&server);
    wait_exit(&mut server.child, Duration::from_secs(60)).expect("the server aborts");
    drop(server);
    let pid: i32 = poll("the hook to start", Duration::from_secs(20), || {
        std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|t| t.trim().parse().ok())
    });
    assert!(alive(pid));
    assert_eq!(lines(&ran), std::slice::from_ref(&id));

    let server = s.start();
    let procs = hook_processes(&server);
    assert_eq!(procs.len(), 1, "{procs:#?}");
    assert_eq!(procs[0]["backup_id"], id.as_str());
    assert_eq!(procs[0]["status"], "orphaned", "{:#}", procs[0]);
    assert!(
        procs[0]["error"].as_str().unwrap().contains("was ended"),
        "{:#}",
        procs[0]
    );
    poll(
        "the orphaned hook to be gone",
        Duration::from_secs(10),
        || (!alive(pid)).then_some(()),
    );
    let rec = backup(&server, &id);
    assert_eq!(rec["status"], "succeeded", "{rec:#}");
    poll("hook_pending cleared", Duration::from_secs(10), || {
        (backup(&server, &id)["hook_pending"] == false).then_some(())
    });
    assert_eq!(lines(&ran), std::slice::from_ref(&id), "never run twice");
    drop(server);
    let server = s.start();
    assert_eq!(hook_processes(&server).len(), 1);
    assert_eq!(lines(&ran), [id]);
}
