//! Examples of request and response bodies for the OpenAPI document, with real values: what
//! the server answers for an application of three components (`hub`, `lui` local, `trk` on an
//! agent). Each is checked against the type the server serializes (tests below), so an example
//! cannot drift from the real body.

use serde_json::{json, Value};

pub const BACKUP_ID: &str = "20261126T020000Z";
pub const RESTORE_ID: &str = "R20261126T101500Z";
pub const VERIFICATION_ID: &str = "20261126T080000Z-0001";
pub const HOOK_ID: &str = "20261126T020004.512Z-1a2b3c4d";

fn progress(name: &str, folder: &str, status: &str, files: u64, bytes: u64, done: bool) -> Value {
    json!({
        "name": name, "status": status, "folder": folder, "keep": 3,
        "files": files, "files_copied": if done { 2 } else { 0 }, "files_linked": if done { files - 2 } else { 0 },
        "bytes_copied": if done { 4096 } else { 0 }, "bytes_linked": if done { bytes - 4096 } else { 0 },
        "started_at": if status == "pending" { Value::Null } else { json!("2026-11-26T02:00:00Z") },
        "finished_at": if done { json!("2026-11-26T02:00:04Z") } else { Value::Null },
        "duration_ms": if done { json!(3870) } else { Value::Null },
        "errors": [],
        "agent": if name == "trk" { json!("https://10.0.0.7:9090") } else { Value::Null }
    })
}

fn backup(status: &str) -> Value {
    let done = status != "running";
    let c = |name: &str, folder: &str, files, bytes| {
        let s = match status {
            "running" if name == "hub" => "preparing",
            "running" => "pending",
            _ => "committed",
        };
        progress(name, folder, s, files, bytes, done)
    };
    json!({
        "id": BACKUP_ID, "status": status, "trigger": "schedule",
        "scheduled_for": "2026-11-26T02:00:00Z",
        "started_at": "2026-11-26T02:00:00Z",
        "finished_at": if done { json!("2026-11-26T02:00:04Z") } else { Value::Null },
        "components": [
            c("hub", "/srv/maestro/hub/backup", 4, 1_048_576),
            c("lui", "/srv/maestro/lui/backup", 4, 52_428_800),
            c("trk", "/srv/maestro/tracker/backup", 3, 8_388_608),
        ],
        "errors": [], "notes": [], "commit_decided": done,
        "report": "/var/lib/backup-master/logs/backupReport_20261126T020000Z.txt",
        "kept_stagings": [], "hook_pending": false, "heuristic": []
    })
}

/// `POST /backups` (202): the record as it starts.
pub fn backup_running() -> Value {
    backup("running")
}

/// `GET /backups/{id}`: a finished backup.
pub fn backup_succeeded() -> Value {
    backup("succeeded")
}

/// `GET /backups`: one page.
pub fn backup_list() -> Value {
    json!({ "items": [backup("succeeded")], "next_cursor": "20261126T020000Z" })
}

/// `DELETE /backups/{id}/staging`: the record after its kept staging was discarded.
pub fn backup_discarded() -> Value {
    let mut b = backup("failed");
    b["id"] = json!("20261125T020000Z");
    b["scheduled_for"] = json!("2026-11-25T02:00:00Z");
    b["errors"] = json!(["hub: the commit could not be completed: renaming /srv/maestro/hub/backup.staging-20261125T020000Z to /srv/maestro/hub/backup: No space left on device (os error 28)"]);
    b["notes"] = json!([
        "the kept staging folder /srv/maestro/hub/backup.staging-20261125T020000Z was discarded"
    ]);
    b
}

/// `GET /backups/{id}/report`.
pub const REPORT: &str = "Backup report
Backup ID: 20261126T020000Z
Trigger: schedule
Started: 2026-11-26T02:00:00Z
Finished: 2026-11-26T02:00:04Z
Status: succeeded

Component: hub
  Folder: /srv/maestro/hub/backup
  Status: committed
  Files: 4
  Files copied: 2
  Files linked: 2
  Bytes copied: 4096
  Bytes linked: 1044480
  Duration: 3.870 s
  Errors: none

The backup was completed successfully
Final completion date: 2026-11-26T02:00:04Z
";

/// `GET /backups/{id}/events`: one event (the stream is shown in the operation's description).
pub fn backup_event() -> Value {
    json!({
        "event": "progress",
        "data": "{\"type\":\"progress\",\"name\":\"hub\",\"status\":\"committed\",\"files\":4,\"files_copied\":2,\"files_linked\":2,\"bytes_copied\":4096,\"bytes_linked\":1044480}"
    })
}

/// `GET /hook-processes/{id}/output`: one event (the stream is shown in the operation's
/// description).
pub fn hook_output_event() -> Value {
    json!({
        "event": "line",
        "id": "1",
        "data": "{\"n\":1,\"text\":\"copying 20261126T020000Z to tape\"}"
    })
}

/// `GET /metrics` (shortened).
pub const METRICS: &str = "# HELP backup_master_last_success_timestamp_seconds When the last successful backup finished (Unix time).
# TYPE backup_master_last_success_timestamp_seconds gauge
backup_master_last_success_timestamp_seconds 1795744804
# HELP backup_master_backups_total Backups that ended, by result.
# TYPE backup_master_backups_total counter
backup_master_backups_total{result=\"succeeded\"} 41
backup_master_backups_total{result=\"failed\"} 1
";

/// `GET /healthz`.
pub fn health() -> Value {
    json!({ "status": "ok", "version": "0.1.0", "problems": [] })
}

fn schedule() -> Value {
    json!({ "enabled": true, "daily_time": "02:00", "time_zone": "Europe/Berlin", "catch_up": true })
}

fn hooks() -> Value {
    json!({
        "on_success": "/opt/scripts/to-tape.sh --all",
        "on_failure": "/opt/scripts/page-oncall.sh",
        "work_folder": "/opt/scripts",
        "timeout_seconds": 3600,
        "env": ["TAPE_DEVICE"]
    })
}

/// `GET /settings`.
pub fn settings_view() -> Value {
    let run = |day: u32| {
        json!({
            "utc": format!("2026-11-{day}T01:00:00Z"),
            "local": format!("2026-11-{day}T02:00:00+01:00"),
            "time_zone": "Europe/Berlin"
        })
    };
    json!({
        "schedule": schedule(),
        "hooks": hooks(),
        "drill": drill_schedule(),
        "next_runs": [run(27), run(28), run(29), run(30)]
    })
}

/// `PUT /settings`.
pub fn settings_update() -> Value {
    json!({ "schedule": schedule(), "hooks": hooks(), "drill": drill_schedule() })
}

/// `[drill]`: a weekly restore drill.
fn drill_schedule() -> Value {
    json!({ "weekday": "sunday", "time": "04:30", "every_days": 0 })
}

/// `GET /schedule/log`.
pub fn schedule_log() -> Value {
    json!([
        {
            "scheduled_for": "2026-11-26T01:00:00Z", "trigger": "schedule",
            "outcome": { "kind": "started", "backup_id": BACKUP_ID },
            "at": "2026-11-26T01:00:00Z"
        },
        {
            "scheduled_for": "2026-11-25T01:00:00Z", "trigger": "schedule",
            "outcome": { "kind": "skipped", "reason": "a restore is running: R20261125T004500Z" },
            "at": "2026-11-25T01:00:00Z"
        }
    ])
}

/// A page of the audit log: a backup started by a named operator token, a settings write
/// refused to it (403), and a request without a valid token (401).
pub fn audit_page() -> Value {
    json!({
        "items": [
            {
                "seq": 41, "time": "2026-11-26T09:14:03.512034Z", "token": "ci-operator",
                "role": "operator", "method": "POST", "path": "/api/v1/backups", "status": 202,
                "job_id": BACKUP_ID, "remote_addr": "192.0.2.10"
            },
            {
                "seq": 42, "time": "2026-11-26T09:14:09.031377Z", "token": "ci-operator",
                "role": "operator", "method": "PUT", "path": "/api/v1/settings", "status": 403,
                "job_id": null, "remote_addr": "192.0.2.10"
            },
            {
                "seq": 43, "time": "2026-11-26T09:15:00.004910Z", "token": null, "role": null,
                "method": "POST", "path": "/api/v1/restores", "status": 401, "job_id": null,
                "remote_addr": "198.51.100.7"
            }
        ],
        "next_cursor": "43"
    })
}

fn component(name: &str, profile: &str, home: &str, items: &[&str]) -> Value {
    json!({
        "name": name, "profile": profile, "location": "local",
        "home": home, "backup_folder": "backup", "backup_path": format!("{home}/backup"),
        "keep": 3, "items": items,
        "agent": null, "reachable": null, "agent_version": null, "agent_error": null,
        "freeze_command": "", "thaw_command": "", "freeze_timeout_seconds": 60,
        "on_change": "warn", "snapshot": "none", "snapshot_command": "",
        "snapshot_release_command": "",
        "stop_command": format!("{home}/bin/ctl stop"),
        "start_command": format!("{home}/bin/ctl start"),
        "health_command": format!("{home}/bin/ctl status"),
        "start_timeout_seconds": 120, "rollback_on_unhealthy": false,
        "drill_root": null, "drill_path": format!("{home}/drills"), "drill_probe_command": ""
    })
}

/// `GET /components/{name}`.
pub fn component_view() -> Value {
    component(
        "lui",
        "maestro-lui",
        "/srv/maestro/lui",
        &["lui.ini", "luidata/", "registry/"],
    )
}

/// `GET /components`: two local components and one on an agent.
pub fn components() -> Value {
    let mut trk = component(
        "trk",
        "maestro-tracker",
        "/srv/maestro/tracker",
        &["tracker.ini", "data/"],
    );
    trk["location"] = json!("remote");
    trk["home"] = Value::Null;
    trk["backup_path"] = Value::Null;
    trk["agent"] = json!("https://10.0.0.7:9090");
    trk["reachable"] = json!(true);
    trk["agent_version"] = json!("0.1.0");
    trk["drill_path"] = Value::Null;
    json!([
        component(
            "hub",
            "maestro-hub",
            "/srv/maestro/hub",
            &["hub.ini", "accountreg/", "hubreg/"]
        ),
        component_view(),
        trk
    ])
}

/// `PUT /components/{name}`.
pub fn component_update() -> Value {
    json!({
        "backup_folder": "backup", "keep": 3, "on_change": "fail",
        "stop_command": "/srv/maestro/lui/bin/ctl stop", "start_timeout_seconds": 300,
        "rollback_on_unhealthy": true
    })
}

/// `GET /components/{name}/history`.
pub fn history() -> Value {
    let slot = |slot: &str, id: &str, day: u32| {
        json!({
            "slot": slot, "path": format!("/srv/maestro/lui/{slot}"), "backup_id": id,
            "result": "success",
            "started": format!("2026-11-{day}T02:00:00Z"), "finished": format!("2026-11-{day}T02:00:03Z"),
            "error": null, "errors": []
        })
    };
    json!([
        slot("backup", BACKUP_ID, 26),
        slot("backup1", "20261125T020000Z", 25)
    ])
}

fn hook_process(status: &str) -> Value {
    let done = status != "running";
    json!({
        "id": HOOK_ID, "kind": "after_success", "hook": "on_success",
        "command": "/opt/scripts/to-tape.sh --all", "backup_id": BACKUP_ID,
        "started_at": "2026-11-26T02:00:04Z",
        "finished_at": if done { json!("2026-11-26T02:09:31Z") } else { Value::Null },
        "pid": 48211, "status": status,
        "exit_code": if done { json!(0) } else { Value::Null },
        "signal": null, "error": null, "lines": 2
    })
}

/// `GET /hook-processes/{id}`.
pub fn hook_process_exited() -> Value {
    hook_process("exited")
}

/// `GET /hook-processes`.
pub fn hook_list() -> Value {
    json!([hook_process("running")])
}

/// `POST /hook-processes` (202).
pub fn hook_test_started() -> Value {
    let mut p = hook_process("running");
    p["id"] = json!("20261126T093000.104Z-5e6f7a8b");
    p["kind"] = json!("test");
    p["started_at"] = json!("2026-11-26T09:30:00Z");
    p["lines"] = json!(0);
    p
}

/// `DELETE /hook-processes/{id}`.
pub fn hook_killed() -> Value {
    let mut p = hook_process("killed");
    p["exit_code"] = Value::Null;
    p["signal"] = json!(15);
    p
}

fn set_folder(component: &str, folder: &str) -> Value {
    json!({
        "component": component, "folder": folder, "slot": "backup", "source": "slot",
        "result": "success", "started": "2026-11-26T02:00:00Z", "finished": "2026-11-26T02:00:03Z",
        "errors": [], "problem": null, "imported_at": null, "agent": null
    })
}

/// `GET /backup-sets/{id}`.
pub fn backup_set() -> Value {
    let mut trk = set_folder("trk", "/srv/maestro/tracker/backup");
    trk["agent"] = json!("https://10.0.0.7:9090");
    json!({
        "id": BACKUP_ID, "complete": true, "successful": true, "committing": false,
        "components": [
            set_folder("hub", "/srv/maestro/hub/backup"),
            set_folder("lui", "/srv/maestro/lui/backup"),
            trk
        ],
        "missing": [],
        "last_verification": {
            "id": VERIFICATION_ID, "status": "passed",
            "started_at": "2026-11-26T08:00:00Z", "finished_at": "2026-11-26T08:00:09Z",
            "ok": true, "problems": 0
        }
    })
}

/// `GET /backup-sets`.
pub fn backup_set_list() -> Value {
    json!({
        "items": [backup_set()],
        "unidentified": [{
            "component": "hub", "folder": "/srv/maestro/hub/backup2", "slot": "backup2",
            "source": "slot", "result": null, "started": null, "finished": null, "errors": [],
            "problem": "no readme.txt", "imported_at": null, "agent": null
        }],
        "problems": []
    })
}

/// `POST /backup-sets/import`.
pub fn import_request() -> Value {
    json!({ "component": "lui", "folder": "/mnt/tape/lui/backup" })
}

/// `POST /backup-sets/import` (201).
pub fn import_outcome() -> Value {
    let mut folder = set_folder("lui", "/mnt/tape/lui/backup");
    folder["slot"] = Value::Null;
    folder["source"] = json!("imported");
    folder["imported_at"] = json!("2026-11-26T09:12:00Z");
    json!({
        "created": true,
        "imported": {
            "component": "lui", "folder": "/mnt/tape/lui/backup",
            "backup_id": "20261120T020000Z", "imported_at": "2026-11-26T09:12:00Z"
        },
        "set": {
            "id": "20261120T020000Z", "complete": false, "successful": false, "committing": false,
            "components": [folder], "missing": ["hub", "trk"], "last_verification": null
        }
    })
}

/// `POST /backup-sets/import` (200): the same folder again.
pub fn import_outcome_again() -> Value {
    let mut o = import_outcome();
    o["created"] = json!(false);
    o
}

fn folder_check(component: &str, folder: &str, files: u64, bytes: u64) -> Value {
    json!({
        "component": component, "folder": folder, "ok": true,
        "changed": [], "missing": [], "unlisted": [], "unreadable": [],
        "error": null, "omitted": 0, "files_checked": files, "bytes_checked": bytes
    })
}

/// `POST /backup-sets/{id}/verify` (202).
pub fn verification_running() -> Value {
    json!({
        "id": VERIFICATION_ID, "set_id": BACKUP_ID, "status": "running",
        "started_at": "2026-11-26T08:00:00Z", "finished_at": null,
        "files_checked": 0, "bytes_checked": 0, "missing_components": [], "folders": [], "error": null
    })
}

/// `GET /backup-sets/{id}/verifications/{verification_id}`: one file changed since the backup.
pub fn verification_failed() -> Value {
    let mut hub = folder_check("hub", "/srv/maestro/hub/backup", 4, 1_048_576);
    hub["ok"] = json!(false);
    hub["changed"] = json!(["accountreg/accounts.dat"]);
    json!({
        "id": VERIFICATION_ID, "set_id": BACKUP_ID, "status": "failed",
        "started_at": "2026-11-26T08:00:00Z", "finished_at": "2026-11-26T08:00:09Z",
        "files_checked": 11, "bytes_checked": 61_865_984, "missing_components": [],
        "folders": [
            hub,
            folder_check("lui", "/srv/maestro/lui/backup", 4, 52_428_800),
            folder_check("trk", "/srv/maestro/tracker/backup", 3, 8_388_608)
        ],
        "error": null
    })
}

/// `GET /backup-sets/{id}/verifications`.
pub fn verifications() -> Value {
    json!([verification_failed()])
}

/// `POST /restores`: restore two components.
pub fn restore_request() -> Value {
    json!({ "backup_id": BACKUP_ID, "components": ["hub", "lui"] })
}

/// `POST /restores`: a dry run with a folder from an external medium.
pub fn restore_dry_run_request() -> Value {
    json!({
        "backup_id": BACKUP_ID, "components": ["lui"], "dry_run": true,
        "source_folders": { "lui": "/mnt/tape/lui/backup" }
    })
}

fn lui_plan(status: &str, origin: &str, source: &str) -> Value {
    let done = status == "restored";
    let mut plan = json!({
        "name": "lui", "profile": "maestro-lui", "home": "/srv/maestro/lui",
        "source_folder": source, "origin": origin,
        "slot": if origin == "slot" { json!("backup") } else { Value::Null },
        "layout": "items",
        "safety_folder": format!("/srv/maestro/lui/.pre-restore-{RESTORE_ID}"),
        "remove": ["/srv/maestro/lui/lui.ini", "/srv/maestro/lui/luidata", "/srv/maestro/lui/registry"],
        "copy": [
            { "from": format!("{source}/lui.ini"), "to": "/srv/maestro/lui/lui.ini", "kind": "file" },
            { "from": format!("{source}/luidata"), "to": "/srv/maestro/lui/luidata", "kind": "folder" },
            { "from": format!("{source}/registry"), "to": "/srv/maestro/lui/registry", "kind": "folder" }
        ],
        "edit": [{ "path": "/srv/maestro/lui/lui.ini", "append": format!("RestoreFromBackup={source}") }],
        "skip": [], "create_dirs": [],
        "status": status,
        "started_at": if done { json!("2026-11-26T10:15:01Z") } else { Value::Null },
        "finished_at": if done { json!("2026-11-26T10:15:06Z") } else { Value::Null },
        "files": if done { 4 } else { 0 }, "bytes": if done { 52_428_800 } else { 0 },
        "errors": [],
        "folder_times": [{ "path": "/srv/maestro/lui", "mtime_s": 1_795_680_000, "mtime_ns": 0 }]
    });
    if done {
        plan["safety_copy"] = json!({ "bytes": 52_428_800, "kept_at": "2026-11-26T10:15:06Z" });
    }
    plan
}

const LUI_NOTE: &str = "start the Maestro User Interface before the next backup: it reads its database from the folder named in RestoreFromBackup, which the next backup rotates; backups are refused until it has started and removed that line";

fn restore(dry_run: bool, status: &str) -> Value {
    let source = if dry_run {
        "/mnt/tape/lui/backup"
    } else {
        "/srv/maestro/lui/backup"
    };
    let origin = if dry_run { "source_folder" } else { "slot" };
    let done = status == "succeeded";
    let mut steps = vec![
        json!({ "at": "2026-11-26T10:15:00Z", "action": "planned", "detail": format!("1 component(s) from backup set {BACKUP_ID}") }),
        json!({ "at": "2026-11-26T10:15:00Z", "action": "verified", "component": "lui", "path": source }),
    ];
    if done {
        steps.extend([
            json!({ "at": "2026-11-26T10:15:01Z", "action": "component_started", "component": "lui" }),
            json!({ "at": "2026-11-26T10:15:01Z", "action": "created_safety_folder", "component": "lui", "path": format!("/srv/maestro/lui/.pre-restore-{RESTORE_ID}") }),
            json!({ "at": "2026-11-26T10:15:01Z", "action": "moved_aside", "component": "lui", "path": "/srv/maestro/lui/luidata", "to": format!("/srv/maestro/lui/.pre-restore-{RESTORE_ID}/luidata") }),
            json!({ "at": "2026-11-26T10:15:05Z", "action": "copied", "component": "lui", "path": "/srv/maestro/lui/luidata", "detail": format!("from {source}/luidata") }),
            json!({ "at": "2026-11-26T10:15:06Z", "action": "component_applied", "component": "lui" }),
            json!({ "at": "2026-11-26T10:15:06Z", "action": "commit_decided" }),
            json!({ "at": "2026-11-26T10:15:06Z", "action": "finished", "detail": "succeeded" }),
        ]);
    }
    let plan_status = if done { "restored" } else { "pending" };
    let mut rec = json!({
        "id": RESTORE_ID, "backup_id": BACKUP_ID, "dry_run": dry_run, "status": status,
        "requested_components": ["lui"],
        "source_folders": if dry_run { json!({ "lui": source }) } else { json!({}) },
        "created_at": "2026-11-26T10:15:00Z",
        "started_at": if dry_run { Value::Null } else { json!("2026-11-26T10:15:00Z") },
        "finished_at": if dry_run { json!("2026-11-26T10:15:00Z") } else if done { json!("2026-11-26T10:15:06Z") } else { Value::Null },
        "verification": [{ "component": "lui", "folder": source, "ok": true, "problems": [] }],
        "components": [lui_plan(plan_status, origin, source)],
        "steps": steps,
        "changed": if done { json!([format!("/srv/maestro/lui/.pre-restore-{RESTORE_ID}"), "/srv/maestro/lui/lui.ini", "/srv/maestro/lui/luidata", "/srv/maestro/lui/registry"]) } else { json!([]) },
        "commit_decided": done,
        "errors": [],
        "notes": [LUI_NOTE],
        "heuristic": []
    });
    if done {
        rec["undo_available"] = json!(true);
        rec["safety_copy_bytes"] = json!(52_428_800);
    }
    rec
}

/// `POST /restores` (202): the record with its plan.
pub fn restore_running() -> Value {
    restore(false, "running")
}

/// `POST /restores` with `dry_run` (200): the plan.
pub fn restore_planned() -> Value {
    restore(true, "planned")
}

/// `GET /restores/{id}`.
pub fn restore_succeeded() -> Value {
    restore(false, "succeeded")
}

/// `GET /restores/{id}`: lui was stopped before the restore and started after it, but its
/// health command never exited 0 within `start_timeout_seconds`; the restored data stayed (no
/// `rollback_on_unhealthy`), so the restore can be undone.
pub fn restore_unhealthy() -> Value {
    let mut r = restore(false, "succeeded");
    let home = "/srv/maestro/lui";
    let err = "unhealthy: lui did not become healthy after the restore; the restored data is in place and the restore can be undone";
    r["status"] = json!("unhealthy");
    r["errors"] = json!([err]);
    let outcome = |cmd: &str, code: i32, output: &str, ms: u64| json!({ "command": format!("{home}/bin/ctl {cmd}"), "exit_code": code, "timed_out": false, "output": output, "duration_ms": ms });
    r["lifecycle"] = json!([{
        "component": "lui", "home": home,
        "settings": {
            "stop_command": format!("{home}/bin/ctl stop"), "start_command": format!("{home}/bin/ctl start"),
            "health_command": format!("{home}/bin/ctl status"), "start_timeout_seconds": 120,
            "rollback_on_unhealthy": false
        },
        "state": "unhealthy",
        "stopped_at": "2026-11-26T10:15:00.912Z",
        "started_at": "2026-11-26T10:15:06.418Z",
        "stop": outcome("stop", 0, "lui stopped\n", 880),
        "start": outcome("start", 0, "starting lui\n", 310),
        "health": outcome("status", 1, "lui: database restore failed: table jobs is corrupt\n", 95),
        "health_attempts": 412,
        "errors": ["lui: did not become healthy within 120 s (412 attempts of its health_command; the last exited 1)"]
    }]);
    let steps = r["steps"]
        .as_array_mut()
        .map(std::mem::take)
        .unwrap_or_default();
    let mut out = Vec::new();
    for st in steps {
        let action = st["action"].as_str().unwrap_or_default().to_string();
        if action == "component_started" {
            out.push(json!({ "at": "2026-11-26T10:15:00.031Z", "action": "stopping", "component": "lui" }));
            out.push(json!({ "at": "2026-11-26T10:15:00.912Z", "action": "stopped", "component": "lui", "detail": "exited 0" }));
        }
        if action == "commit_decided" {
            out.push(json!({ "at": "2026-11-26T10:15:06.418Z", "action": "started", "component": "lui", "detail": "exited 0" }));
            out.push(json!({ "at": "2026-11-26T10:17:06.502Z", "action": "unhealthy", "component": "lui", "detail": "412 attempt(s); the last exited 1" }));
        }
        if action == "finished" {
            out.push(json!({ "at": "2026-11-26T10:17:06Z", "action": "finished", "detail": "unhealthy" }));
            continue;
        }
        out.push(st);
    }
    r["steps"] = json!(out);
    r["finished_at"] = json!("2026-11-26T10:17:06Z");
    r["components"][0]["safety_copy"]["kept_at"] = json!("2026-11-26T10:17:06Z");
    r
}

/// `POST /restores/{id}/undo` (202): the undo's record, copying lui back from the safety
/// folder of the restore it undoes.
pub fn restore_undo_running() -> Value {
    let undo_id = "R20261126T111500Z";
    let safety = format!("/srv/maestro/lui/.pre-restore-{RESTORE_ID}");
    let home = "/srv/maestro/lui";
    let component = json!({
            "name": "lui", "profile": "maestro-lui", "home": home,
            "source_folder": safety, "origin": "safety_copy", "slot": null, "layout": "items",
            "safety_folder": format!("{home}/.pre-restore-{undo_id}"),
            "remove": [format!("{home}/lui.ini"), format!("{home}/luidata"), format!("{home}/registry")],
            "copy": [
                { "from": format!("{safety}/lui.ini"), "to": format!("{home}/lui.ini"), "kind": "file" },
                { "from": format!("{safety}/luidata"), "to": format!("{home}/luidata"), "kind": "folder" },
                { "from": format!("{safety}/registry"), "to": format!("{home}/registry"), "kind": "folder" }
            ],
            "edit": [], "skip": [], "create_dirs": [], "status": "pending",
            "started_at": null, "finished_at": null, "files": 0, "bytes": 0, "errors": [],
            "folder_times": [{ "path": home, "mtime_s": 1_795_683_306, "mtime_ns": 0 }],
            "undo": {
                "remove": [format!("{home}/lui.ini"), format!("{home}/luidata"), format!("{home}/registry")],
                "sources": [
                    { "path": format!("{safety}/lui.ini"), "dev": 2049, "ino": 131_075, "kind": "file" },
                    { "path": format!("{safety}/luidata"), "dev": 2049, "ino": 131_076, "kind": "folder" },
                    { "path": format!("{safety}/registry"), "dev": 2049, "ino": 131_090, "kind": "folder" }
                ],
                "folder_times": [{ "path": home, "mtime_s": 1_795_680_000, "mtime_ns": 0 }]
            }
    });
    json!({
        "id": undo_id, "backup_id": BACKUP_ID, "dry_run": false, "status": "running",
        "requested_components": ["lui"], "source_folders": {},
        "created_at": "2026-11-26T11:15:00Z", "started_at": "2026-11-26T11:15:00Z",
        "finished_at": null,
        "verification": [{ "component": "lui", "folder": safety, "ok": true, "problems": [] }],
        "components": [component],
        "steps": [
            { "at": "2026-11-26T11:15:00Z", "action": "planned", "detail": format!("undo of restore {RESTORE_ID}: 1 component(s) from its safety folders") },
            { "at": "2026-11-26T11:15:00Z", "action": "verified", "component": "lui", "path": safety, "detail": "every entry to copy back is the one the restore moved there" }
        ],
        "changed": [], "commit_decided": false, "errors": [], "notes": [], "heuristic": [],
        "undo_of": RESTORE_ID
    })
}

/// `DELETE /restores/{id}/safety-copy` (200): the restore, its copy discarded.
pub fn restore_copy_discarded() -> Value {
    let mut r = restore_succeeded();
    r["components"][0]["safety_copy"]["discarded_at"] = json!("2026-11-27T08:00:00Z");
    r["components"][0]["safety_copy"]["discarded_because"] = json!("deleted by the operator");
    if let Some(o) = r.as_object_mut() {
        o.remove("undo_available");
        o.remove("safety_copy_bytes");
    }
    r["undo_unavailable_because"] = json!("the safety copy of component lui was discarded at 2026-11-27T08:00:00+00:00: deleted by the operator");
    r
}

/// `GET /restores`.
pub fn restore_list() -> Value {
    json!({ "items": [restore_succeeded()], "next_cursor": null })
}

// The agent's document.

/// The master's settings of a component, as sent with the agent's transaction calls.
pub fn remote_spec() -> Value {
    json!({ "profile": "maestro-tracker", "backup_folder": "backup", "keep": 3, "items": ["tracker.ini", "data/"], "errors": [] })
}

/// `POST .../consistency`: the freeze step with the master's settings of the component.
pub fn consistency_request() -> Value {
    json!({
        "step": "freeze",
        "consistency": {
            "freeze_command": "/opt/maestro/bin/trk-ctl freeze",
            "thaw_command": "/opt/maestro/bin/trk-ctl thaw",
            "freeze_timeout_seconds": 60,
            "on_change": "warn",
            "snapshot": "none",
            "snapshot_command": "",
            "snapshot_release_command": ""
        },
        "backup_folder": "backup"
    })
}

/// `POST .../consistency`: the freeze ran; the agent holds the component frozen for 60 s
/// unless renewed.
pub fn consistency_answer() -> Value {
    json!({
        "outcome": {
            "command": "/opt/maestro/bin/trk-ctl freeze",
            "exit_code": 0,
            "timed_out": false,
            "output": "tracker: writes paused\n",
            "duration_ms": 212
        },
        "lease_seconds": 60
    })
}

/// `POST /agent/v1/components/{name}/restores/{restore_id}/lifecycle`: the master asks the
/// agent to stop the component before its restore.
pub fn lifecycle_request() -> Value {
    json!({
        "step": "stop",
        "command": "/opt/maestro/bin/trk-ctl stop",
        "timeout_seconds": 120,
        "backup_id": BACKUP_ID
    })
}

/// The agent's answer to [`lifecycle_request`].
pub fn lifecycle_answer() -> Value {
    json!({
        "home": "/srv/maestro/tracker",
        "outcome": {
            "command": "/opt/maestro/bin/trk-ctl stop",
            "exit_code": 0,
            "timed_out": false,
            "output": "tracker stopped\n",
            "duration_ms": 1840
        }
    })
}

/// `POST .../abort`: the settings, with why the set was not committed.
pub fn remote_spec_abort() -> Value {
    let mut s = remote_spec();
    s["errors"] =
        json!(["hub: copying accountreg/accounts.dat: No space left on device (os error 28)"]);
    s
}

/// `GET /agent/v1/components`.
pub fn agent_info() -> Value {
    json!({
        "version": "0.1.0", "decision_timeout_seconds": 3600,
        "components": [{ "name": "trk", "profile": "maestro-tracker", "home": "/srv/maestro/tracker" }],
        "transactions": []
    })
}

fn txn(state: &str) -> Value {
    let prepared = !matches!(state, "preparing");
    let decided = matches!(state, "committed" | "aborted");
    let stats = json!({ "files": 3, "files_copied": 1, "files_linked": 2, "bytes_copied": 4096, "bytes_linked": 8_384_512 });
    json!({
        "component": "trk", "backup_id": BACKUP_ID, "state": state,
        "backup_path": "/srv/maestro/tracker/backup",
        "progress": if prepared { stats.clone() } else { json!({ "files": 1, "files_copied": 1, "files_linked": 0, "bytes_copied": 4096, "bytes_linked": 0 }) },
        "started_at": "2026-11-26T02:00:00Z",
        "prepared_at": if prepared { json!("2026-11-26T02:00:03Z") } else { Value::Null },
        "decided_at": if decided { json!("2026-11-26T02:00:04Z") } else { Value::Null },
        "outcome": if prepared {
            json!({ "status": "prepared", "stats": stats, "started_at": "2026-11-26T02:00:00Z", "finished_at": "2026-11-26T02:00:03Z", "errors": [], "skipped": [] })
        } else { Value::Null },
        "detail": if state == "aborted" { json!("hub: copying accountreg/accounts.dat: No space left on device (os error 28)") } else { Value::Null },
        "participation": {
            "last_message_at": if decided { "2026-11-26T02:00:04Z" } else { "2026-11-26T02:00:03Z" },
            "in_doubt_since": null, "operator": null
        },
        "decision_timeout_seconds": 3600
    })
}

/// The agent's view of a backup while preparing.
pub fn txn_preparing() -> Value {
    txn("preparing")
}

/// The agent's view of a prepared backup.
pub fn txn_prepared() -> Value {
    txn("prepared")
}

/// The agent's view of a committed backup.
pub fn txn_committed() -> Value {
    txn("committed")
}

/// The agent's view of an aborted backup.
pub fn txn_aborted() -> Value {
    txn("aborted")
}

/// `GET /agent/v1/components/{name}/history`.
pub fn agent_history() -> Value {
    let mut h = history();
    if let Some(slots) = h.as_array_mut() {
        for s in slots {
            let slot = s["slot"].as_str().unwrap_or("backup").to_string();
            s["path"] = json!(format!("/srv/maestro/tracker/{slot}"));
        }
    }
    h
}

/// `POST /agent/v1/components/{name}/verify`.
pub fn agent_verify_request() -> Value {
    json!({ "backup_folder": "backup", "slot": "backup1" })
}

/// `POST /agent/v1/components/{name}/verify` (200).
pub fn agent_verification() -> Value {
    folder_check("trk", "/srv/maestro/tracker/backup1", 3, 8_388_608)
}

/// The body of the agent's restore calls.
pub fn remote_restore_request() -> Value {
    json!({
        "profile": "maestro-tracker", "backup_folder": "backup", "items": ["tracker.ini", "data/"],
        "backup_id": "20261125T020000Z", "slot": "backup1"
    })
}

fn trk_plan(status: &str) -> Value {
    let done = status != "pending";
    let src = "/srv/maestro/tracker/backup1";
    json!({
        "name": "trk", "profile": "maestro-tracker", "home": "/srv/maestro/tracker",
        "source_folder": src, "origin": "slot", "slot": "backup1", "layout": "items",
        "safety_folder": format!("/srv/maestro/tracker/.pre-restore-{RESTORE_ID}"),
        "remove": ["/srv/maestro/tracker/data", "/srv/maestro/tracker/tracker.ini"],
        "copy": [
            { "from": format!("{src}/data"), "to": "/srv/maestro/tracker/data", "kind": "folder" },
            { "from": format!("{src}/tracker.ini"), "to": "/srv/maestro/tracker/tracker.ini", "kind": "file" }
        ],
        "edit": [], "skip": [], "create_dirs": [],
        "status": status,
        "started_at": if done { json!("2026-11-26T10:15:01Z") } else { Value::Null },
        "finished_at": if done { json!("2026-11-26T10:15:03Z") } else { Value::Null },
        "files": if done { 3 } else { 0 }, "bytes": if done { 8_388_608 } else { 0 },
        "errors": [],
        "folder_times": [{ "path": "/srv/maestro/tracker", "mtime_s": 1_795_680_000, "mtime_ns": 0 }]
    })
}

/// The agent's restore plan of a component.
pub fn agent_restore_plan() -> Value {
    trk_plan("pending")
}

fn agent_restore(status: &str, plan_status: &str, decided: bool) -> Value {
    let safety = format!("/srv/maestro/tracker/.pre-restore-{RESTORE_ID}");
    json!({
        "id": RESTORE_ID, "backup_id": "20261125T020000Z", "dry_run": false, "status": status,
        "requested_components": ["trk"], "source_folders": {},
        "created_at": "2026-11-26T10:15:00Z", "started_at": "2026-11-26T10:15:00Z",
        "finished_at": if status == "running" { Value::Null } else { json!("2026-11-26T10:15:04Z") },
        "verification": [{ "component": "trk", "folder": "/srv/maestro/tracker/backup1", "ok": true, "problems": [] }],
        "components": [trk_plan(plan_status)],
        "steps": [
            { "at": "2026-11-26T10:15:00Z", "action": "verified", "component": "trk", "path": "/srv/maestro/tracker/backup1" },
            { "at": "2026-11-26T10:15:01Z", "action": "created_safety_folder", "component": "trk", "path": safety },
            { "at": "2026-11-26T10:15:03Z", "action": "component_applied", "component": "trk" }
        ],
        "changed": [safety, "/srv/maestro/tracker/data", "/srv/maestro/tracker/tracker.ini"],
        "commit_decided": decided, "errors": [], "notes": [], "heuristic": []
    })
}

/// The agent's restore record after apply: waiting for the decision.
pub fn agent_restore_applied() -> Value {
    agent_restore("running", "applied", false)
}

/// The agent's restore record after commit.
pub fn agent_restore_committed() -> Value {
    agent_restore("succeeded", "restored", true)
}

/// The agent's restore record after rollback.
pub fn agent_restore_rolled_back() -> Value {
    let mut r = agent_restore("failed", "rolled_back", false);
    r["errors"] = json!(["rolled back at the master's request"]);
    r
}

/// `PUT /notification-targets/{name}`: a signed webhook for failures and the overdue alarm.
pub fn notification_target_settings() -> Value {
    json!({
        "kind": "webhook",
        "url": "https://hooks.example.com/backup",
        "secret_file": "/etc/backup-master/webhook.secret",
        "headers": {"X-Team": "ops"},
        "timeout_seconds": 10,
        "events": ["backup_failed", "backup_interrupted", "overdue"],
    })
}

/// `GET /notification-targets/{name}`.
pub fn notification_target() -> Value {
    let mut v = notification_target_settings();
    v["name"] = json!("ops-webhook");
    v
}

/// `GET /notification-targets`: the webhook, a mail for every error, a healthchecks.io check.
pub fn notification_targets() -> Value {
    json!([
        notification_target(),
        {
            "name": "admin-mail", "kind": "email", "smtp_host": "smtp.example.com",
            "smtp_port": 587, "tls": "starttls", "username": "backup",
            "password_file": "/etc/backup-master/smtp.password",
            "from": "backup-master <backup@example.com>", "to": ["ops@example.com"],
            "min_severity": "error",
        },
        {
            "name": "healthchecks", "kind": "ping",
            "url": "https://hc-ping.com/0d1f6a52-5cde-4b8e-9a3c-2f1d7e8c9b10",
            "events": ["backup_started", "backup_succeeded", "backup_failed", "backup_cancelled", "backup_interrupted"],
        },
    ])
}

/// `POST /notification-targets/{name}/test`.
pub fn test_outcome() -> Value {
    json!({
        "target": "ops-webhook", "ok": true, "status": 200, "reply": null, "latency_ms": 84,
        "error": null, "delivery_id": "N20261126T101500.120Z-00000001",
    })
}

/// `GET /notifications/deliveries`: a failure delivered after one retry.
pub fn deliveries() -> Value {
    json!({
        "items": [{
            "id": "N20261126T020004.120Z-00000002", "target": "ops-webhook", "kind": "webhook",
            "status": "delivered", "attempts": 2,
            "created_at": "2026-11-26T02:00:04.120Z",
            "last_attempt_at": "2026-11-26T02:00:34.251Z",
            "finished_at": "2026-11-26T02:00:34.251Z",
            "last_status": 200, "latency_ms": 131,
            "event": {
                "event": "backup_failed", "severity": "error", "at": "2026-11-26T02:00:04Z",
                "backup_id": BACKUP_ID, "components": ["hub", "lui", "trk"],
                "summary": "backup 20261126T020000Z failed: lui: cannot read accountreg/x.reg: Permission denied (os error 13)",
                "link": "/api/v1/backups/20261126T020000Z",
                "report_tail": [
                    "lui: error: cannot read accountreg/x.reg: Permission denied (os error 13)",
                    "The backup failed: no history slot was changed",
                ],
            },
        }],
        "next_cursor": null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::DeserializeOwned;
    use serde::Serialize;

    /// The example reads as the type the server answers with, and that type writes it back
    /// unchanged: no field is missing, unknown or of another shape.
    fn same<T: DeserializeOwned + Serialize>(what: &str, example: Value) {
        let typed: T = serde_json::from_value(example.clone())
            .unwrap_or_else(|e| panic!("{what}: {e}\n{example:#}"));
        let back = serde_json::to_value(&typed).unwrap();
        let mut diffs = vec![];
        differences("", &back, &example, &mut diffs);
        assert!(diffs.is_empty(), "{what}: written != example at {diffs:?}");
    }

    /// Paths where `written` and `example` differ (`+` only written, `-` only in the example).
    fn differences(at: &str, written: &Value, example: &Value, out: &mut Vec<String>) {
        match (written, example) {
            (Value::Object(w), Value::Object(e)) => {
                for (k, v) in w {
                    match e.get(k) {
                        Some(ev) => differences(&format!("{at}/{k}"), v, ev, out),
                        None => out.push(format!("+{at}/{k}")),
                    }
                }
                out.extend(
                    e.keys()
                        .filter(|k| !w.contains_key(*k))
                        .map(|k| format!("-{at}/{k}")),
                );
            }
            (Value::Array(w), Value::Array(e)) if w.len() == e.len() => {
                for (i, (wv, ev)) in w.iter().zip(e).enumerate() {
                    differences(&format!("{at}/{i}"), wv, ev, out);
                }
            }
            _ if written != example => out.push(format!("{at}: {written} != {example}")),
            _ => {}
        }
    }

    #[test]
    fn examples_are_what_the_server_writes() {
        use crate::engine::record::BackupRecord;
        use crate::restore::{ComponentRestore, RestoreRecord};
        same::<crate::config::TargetSettings>("target", notification_target_settings());
        same::<crate::notify::Delivery>("delivery", deliveries()["items"][0].clone());
        same::<BackupRecord>("backup running", backup_running());
        same::<BackupRecord>("backup succeeded", backup_succeeded());
        same::<BackupRecord>("backup discarded", backup_discarded());
        same::<crate::hooks::HookProcess>("hook", hook_process_exited());
        same::<crate::hooks::HookProcess>("hook test", hook_test_started());
        same::<crate::hooks::HookProcess>("hook killed", hook_killed());
        same::<Vec<crate::schedule::ScheduleLogEntry>>("schedule log", schedule_log());
        same::<Vec<crate::store::SlotInfo>>("history", history());
        same::<crate::sets::BackupSet>("set", backup_set());
        same::<crate::sets::Verification>("verification", verification_running());
        same::<crate::sets::Verification>("verification", verification_failed());
        same::<crate::sets::FolderVerification>("agent verification", agent_verification());
        same::<RestoreRecord>("restore running", restore_running());
        same::<RestoreRecord>("restore planned", restore_planned());
        same::<RestoreRecord>("restore succeeded", restore_succeeded());
        same::<RestoreRecord>("restore unhealthy", restore_unhealthy());
        same::<RestoreRecord>("undo running", restore_undo_running());
        same::<RestoreRecord>("restore copy discarded", restore_copy_discarded());
        same::<ComponentRestore>("agent plan", agent_restore_plan());
        same::<RestoreRecord>("agent applied", agent_restore_applied());
        same::<RestoreRecord>("agent committed", agent_restore_committed());
        same::<RestoreRecord>("agent rolled back", agent_restore_rolled_back());
        same::<crate::store::wire::TxnView>("txn", txn_preparing());
        same::<crate::store::wire::TxnView>("txn", txn_prepared());
        same::<crate::store::wire::TxnView>("txn", txn_committed());
        same::<crate::store::wire::TxnView>("txn", txn_aborted());
        same::<crate::store::wire::AgentInfo>("agent", agent_info());
        same::<crate::store::wire::RemoteSpec>("spec", remote_spec());
        same::<crate::store::wire::RemoteSpec>("spec", remote_spec_abort());
        same::<crate::store::wire::RemoteRestoreRequest>(
            "restore request",
            remote_restore_request(),
        );
        same::<crate::store::wire::VerifyRequest>("verify request", agent_verify_request());
        same::<crate::store::wire::LifecycleRequest>("lifecycle request", lifecycle_request());
        same::<crate::store::wire::LifecycleAnswer>("lifecycle answer", lifecycle_answer());
        // Request bodies the server only reads.
        serde_json::from_value::<crate::restore::RestoreRequest>(restore_request()).unwrap();
        serde_json::from_value::<crate::restore::RestoreRequest>(restore_dry_run_request())
            .unwrap();
        serde_json::from_value::<crate::state::SettingsUpdate>(settings_update()).unwrap();
        serde_json::from_value::<crate::state::ComponentUpdate>(component_update()).unwrap();
    }
}
