//! Restore drills through the real server: a set restored into scratch folders, hashed against
//! its `SHA256SUMS` and probed, while homes, slots and imports stay as they were.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{DateTime, Duration as CDuration, Timelike, Utc};
use common::*;
use serde_json::{json, Value};

/// Adds `lines` to component `name`'s table of the config.
fn component_keys(s: &Setup, name: &str, lines: &str) {
    let text = std::fs::read_to_string(&s.config).unwrap().replace(
        &format!("name = \"{name}\"\n"),
        &format!("name = \"{name}\"\n{lines}\n"),
    );
    std::fs::write(&s.config, text).unwrap();
}

/// Everything of the installation but the state folder (homes, slots, imports, config).
fn installation(s: &Setup) -> std::collections::BTreeMap<String, String> {
    snapshot(s.path())
        .into_iter()
        .filter(|(k, _)| !k.starts_with("state"))
        .collect()
}

fn start_drill(server: &Server, body: &Value) -> String {
    let r = server.post("/api/v1/drills", OPERATOR, body);
    assert_eq!(r.status(), 202, "start drill");
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let rec: Value = r.json().unwrap();
    let id = rec["id"].as_str().unwrap().to_string();
    assert_eq!(loc, format!("/api/v1/drills/{id}"));
    assert_eq!(rec["status"], "running");
    id
}

fn wait_drill(server: &Server, id: &str) -> Value {
    poll(
        &format!("drill {id} to end"),
        Duration::from_secs(120),
        || {
            let r = server.get_json(&format!("/api/v1/drills/{id}"), VIEWER);
            (r["status"] != "running").then_some(r)
        },
    )
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

/// `<home>/drills/<id>`, the default scratch folder of a component.
fn scratch(s: &Setup, component: &str, id: &str) -> PathBuf {
    s.home(component).join("drills").join(id)
}

const LUI_PROBE: &str = r#"drill_probe_command = "sh -c 'grep -qx \"RestoreFromBackup=.*\" \"$DRILL_HOME/lui.ini\" && test ! -e \"$DRILL_HOME/my.ini\" && test -f \"$DRILL_HOME/luidata/db/jobs.ibd\" && echo lui-ok $COMPONENT $BACKUP_ID'""#;

#[test]
fn a_drill_of_a_good_set_passes_leaves_everything_as_it_was_and_measures_rto_and_rpo() {
    let s = Setup::new(1);
    component_keys(&s, "lui", LUI_PROBE);
    let server = s.start();
    let backup = run_backup(&server);
    assert_eq!(backup["status"], "succeeded");
    let bid = backup["id"].as_str().unwrap().to_string();
    let before = installation(&s);

    let t0 = Utc::now();
    let wall = Instant::now();
    let id = start_drill(&server, &json!({}));
    let rec = wait_drill(&server, &id);
    let wall = wall.elapsed().as_secs_f64();
    assert_eq!(rec["status"], "passed", "{rec:#}");
    assert_eq!(rec["backup_id"], bid.as_str());
    assert_eq!(rec["trigger"], "manual");
    for name in ["hub", "lui", "trk"] {
        let c = component(&rec, name);
        assert_eq!(c["status"], "passed", "{c:#}");
        assert!(c["files"].as_u64().unwrap() > 0, "{c:#}");
        assert!(c["files_checked"].as_u64().unwrap() > 0, "{c:#}");
        assert_eq!(c["mismatched"], json!([]));
        assert_eq!(c["missing"], json!([]));
        let rto = c["rto_seconds"].as_f64().unwrap();
        assert!(rto > 0.0 && rto <= wall, "{rto} vs {wall}");
    }
    // The probe saw the restored copy: lui.ini with its line, no my.ini, the data.
    let probe = &component(&rec, "lui")["probe"];
    assert_eq!(probe["exit_code"], 0, "{probe:#}");
    assert_eq!(
        probe["output"].as_str().unwrap().trim(),
        format!("lui-ok lui {bid}")
    );
    // RTO: positive, at most the drill's wall time; RPO: the drill's start minus the set's.
    let rto = rec["rto_seconds"].as_f64().unwrap();
    assert!(rto > 0.0 && rto <= wall, "{rto} vs {wall}");
    let started = time(&rec["started_at"]);
    assert!((started - t0).num_seconds().abs() <= 1);
    let set_start = time(&backup["started_at"]);
    let rpo = rec["rpo_seconds"].as_f64().unwrap();
    let expected = (started - set_start).num_milliseconds() as f64 / 1000.0;
    assert!(
        (rpo - expected).abs() <= 1.0,
        "rpo {rpo}, expected {expected}"
    );

    // Nothing of the installation changed, and no scratch folder is left.
    assert_eq!(installation(&s), before);
    for name in ["hub", "lui", "trk"] {
        assert!(!s.home(name).join("drills").exists());
    }
    assert!(rec["scratch"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["removed"] == true));

    // The events of the ended drill: every component, then the end.
    let text = server
        .get(&format!("/api/v1/drills/{id}/events"), VIEWER)
        .text()
        .unwrap();
    let events = sse(&text);
    assert_eq!(events.last().unwrap().1, "end");
    assert_eq!(events.last().unwrap().2["status"], "passed");
    assert_eq!(events.iter().filter(|e| e.1 == "component").count(), 3);

    // Listed, and in the metrics.
    let list = server.get_json("/api/v1/drills?status=passed", VIEWER);
    assert_eq!(list["items"][0]["id"], id.as_str());
    let metrics = server.get("/metrics", VIEWER).text().unwrap();
    let line = metrics
        .lines()
        .find(|l| l.starts_with("backup_master_last_drill_rto_seconds "))
        .unwrap_or_else(|| panic!("{metrics}"));
    assert_eq!(line.split(' ').nth(1).unwrap().parse::<f64>().unwrap(), rto);
    assert!(metrics
        .lines()
        .any(|l| l.starts_with("backup_master_last_drill_rpo_seconds ")));
    let finished = time(&rec["finished_at"]).timestamp();
    assert!(metrics.contains(&format!(
        "backup_master_last_drill_success_timestamp_seconds {finished}"
    )));

    // keep_scratch keeps the copy (with the drill's marker), one component only.
    let kid = start_drill(
        &server,
        &json!({"components": ["trk"], "keep_scratch": true}),
    );
    let kept = wait_drill(&server, &kid);
    assert_eq!(kept["status"], "passed", "{kept:#}");
    assert_eq!(kept["components"].as_array().unwrap().len(), 1);
    let home = scratch(&s, "trk", &kid).join("trk");
    assert_eq!(
        snapshot(&home.join("data")),
        snapshot(&s.home("trk").join("data"))
    );
    assert!(scratch(&s, "trk", &kid)
        .join(".backup-master-drill")
        .is_file());
}

#[test]
fn a_flipped_byte_in_a_slot_fails_the_drill_naming_the_component_and_the_path() {
    let s = Setup::new(1);
    let server = s.start();
    assert_eq!(run_backup(&server)["status"], "succeeded");
    let file = s.home("hub").join("backup/accountreg/accounts.dat");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[100] ^= 0x01;
    std::fs::write(&file, &bytes).unwrap();
    // A target that hears of failed drills (nothing listens on port 9: the delivery fails, and
    // its record shows the event).
    let target =
        json!({"kind": "webhook", "url": "http://127.0.0.1:9/drills", "events": ["drill_failed"]});
    let r = server.put(
        "/api/v1/notification-targets/ops",
        ADMIN,
        &target,
        Some("*"),
    );
    assert!(r.status().is_success(), "{}", r.status());
    let before = installation(&s);

    let id = start_drill(&server, &json!({}));
    let rec = wait_drill(&server, &id);
    assert_eq!(rec["status"], "failed", "{rec:#}");
    let d = poll("the drill_failed delivery", Duration::from_secs(30), || {
        let page = server.get_json("/api/v1/notifications/deliveries?target=ops", ADMIN);
        page["items"].as_array().unwrap().first().cloned()
    });
    assert_eq!(d["event"]["event"], "drill_failed", "{d:#}");
    assert_eq!(d["event"]["severity"], "error");
    assert_eq!(d["event"]["job_id"], id.as_str());
    assert_eq!(d["event"]["components"], json!(["hub"]));
    assert!(
        d["event"]["summary"].as_str().unwrap().contains("hub"),
        "{d:#}"
    );
    let hub = component(&rec, "hub");
    assert_eq!(hub["status"], "failed");
    assert_eq!(
        hub["mismatched"],
        json!(["accountreg/accounts.dat"]),
        "{hub:#}"
    );
    assert_eq!(component(&rec, "lui")["status"], "passed");
    assert_eq!(component(&rec, "trk")["status"], "passed");
    assert!(rec["rto_seconds"].is_null());
    assert_eq!(installation(&s), before);
    assert!(!s.home("hub").join("drills").exists());
    // A failed drill does not count as the last passed one.
    let metrics = server.get("/metrics", VIEWER).text().unwrap();
    assert!(!metrics
        .lines()
        .any(|l| l.starts_with("backup_master_last_drill_rto_seconds ")));
}

#[test]
fn a_probe_that_exits_1_fails_the_drill_with_its_output_kept() {
    let s = Setup::new(1);
    component_keys(
        &s,
        "trk",
        r#"drill_probe_command = "sh -c 'echo checked $COMPONENT in $DRILL_HOME; ls $DRILL_HOME/data; exit 1'""#,
    );
    let server = s.start();
    assert_eq!(run_backup(&server)["status"], "succeeded");
    let id = start_drill(&server, &json!({"components": ["trk"]}));
    let rec = wait_drill(&server, &id);
    assert_eq!(rec["status"], "failed", "{rec:#}");
    let trk = component(&rec, "trk");
    assert_eq!(trk["status"], "failed");
    assert_eq!(trk["probe"]["exit_code"], 1);
    let out = trk["probe"]["output"].as_str().unwrap();
    let home = trk["scratch_home"].as_str().unwrap();
    assert!(out.contains(&format!("checked trk in {home}")), "{out}");
    assert!(out.contains("events.dat"), "{out}");
    assert!(trk["errors"][0].as_str().unwrap().contains("exited 1"));
    // The output lines were events too.
    let text = server
        .get(&format!("/api/v1/drills/{id}/events"), VIEWER)
        .text()
        .unwrap();
    let events = sse(&text);
    assert_eq!(events.last().unwrap().2["status"], "failed");
    assert!(!Path::new(home).exists());
}

#[test]
fn without_a_probe_the_health_command_checks_the_copy() {
    let s = Setup::new(1);
    // The health command reads its home through COMPONENT_HOME: in a drill that is the copy.
    component_keys(
        &s,
        "trk",
        r#"health_command = "sh -c 'echo health of $COMPONENT_HOME; test -e $COMPONENT_HOME/no-such-file'""#,
    );
    let server = s.start();
    assert_eq!(run_backup(&server)["status"], "succeeded");
    let id = start_drill(&server, &json!({"components": ["trk"]}));
    let rec = wait_drill(&server, &id);
    assert_eq!(rec["status"], "failed", "{rec:#}");
    let trk = component(&rec, "trk");
    assert_eq!(trk["probe"]["exit_code"], 1, "{trk:#}");
    let home = trk["scratch_home"].as_str().unwrap();
    let out = trk["probe"]["output"].as_str().unwrap();
    assert!(out.contains(&format!("health of {home}")), "{out}");
    assert_ne!(home, s.home("trk").to_str().unwrap());
}

#[test]
fn a_drill_root_overlapping_a_home_or_a_backup_folder_is_refused() {
    let s = Setup::new(1);
    let server = s.start();
    let before = std::fs::read_to_string(&s.config).unwrap();
    let get = |name: &str| {
        let r = server.get(&format!("/api/v1/components/{name}"), VIEWER);
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        (r.json::<Value>().unwrap(), etag)
    };
    let (lui, etag) = get("lui");
    assert_eq!(
        lui["drill_path"].as_str().unwrap(),
        s.home("lui").join("drills").to_str().unwrap()
    );
    for root in [
        s.home("hub").display().to_string(),
        s.home("lui").join("backup").display().to_string(),
        s.home("lui").join("luidata/x").display().to_string(),
        s.path().join("homes").display().to_string(),
        s.state().join("drills").display().to_string(),
    ] {
        let body = json!({"backup_folder": "backup", "keep": 1, "drill_root": root});
        let r = server.put("/api/v1/components/lui", ADMIN, &body, Some(&etag));
        let p = assert_problem(r, 422);
        let mut fields = problem_fields(&p);
        fields.dedup();
        assert_eq!(fields, vec!["drill_root"], "{root}: {p:#}");
    }
    assert_eq!(std::fs::read_to_string(&s.config).unwrap(), before);
    // A folder of its own outside every home is taken and written back.
    let own = s.path().join("scratch");
    let body = json!({"backup_folder": "backup", "keep": 1, "drill_root": own, "drill_probe_command": "true"});
    let r = server.put("/api/v1/components/lui", ADMIN, &body, Some(&etag));
    assert_eq!(r.status(), 200);
    let text = std::fs::read_to_string(&s.config).unwrap();
    assert!(
        text.contains(&format!("drill_root = \"{}\"", own.display())),
        "{text}"
    );
    assert!(text.contains("drill_probe_command = \"true\""), "{text}");
    assert!(text.contains("# test config: this comment must survive API writes"));

    // The file: `config check` names the field.
    let check = |cfg: &Path| {
        let out = Command::new(bin())
            .args(["config", "check", cfg.to_str().unwrap()])
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), all)
    };
    assert!(check(&s.config).0);
    let bad = text.replace(
        &format!("drill_root = \"{}\"", own.display()),
        &format!(
            "drill_root = \"{}\"",
            s.home("trk").join("backup1").display()
        ),
    );
    std::fs::write(&s.config, bad).unwrap();
    let (ok, out) = check(&s.config);
    assert!(!ok, "{out}");
    assert!(out.contains("components[1].drill_root"), "{out}");
    assert!(out.contains("backup area of component \"trk\""), "{out}");
}

#[test]
fn a_drill_killed_mid_way_is_interrupted_at_restart_and_its_scratch_is_gone() {
    let s = Setup::new(1);
    let server = s.start();
    assert_eq!(run_backup(&server)["status"], "succeeded");
    drop(server);
    let before = installation(&s);
    let mut server = s.start_env(&[("BACKUP_MASTER_FAULTS", "pause_at:drill_restored")]);
    let id = start_drill(&server, &json!({"components": ["hub"]}));
    poll("the drill to pause", Duration::from_secs(60), || {
        s.state()
            .join("fault-paused-drill_restored")
            .exists()
            .then_some(())
    });
    let restored = scratch(&s, "hub", &id).join("hub");
    assert!(restored.join("hub.ini").is_file());
    server.kill9();
    std::fs::remove_file(s.state().join("fault-paused-drill_restored")).unwrap();

    let server = s.start();
    let rec = server.get_json(&format!("/api/v1/drills/{id}"), VIEWER);
    assert_eq!(rec["status"], "interrupted", "{rec:#}");
    assert_eq!(component(&rec, "hub")["status"], "failed");
    assert!(!scratch(&s, "hub", &id).exists());
    assert!(!s.home("hub").join("drills").exists());
    assert_eq!(installation(&s), before);
    // The lock is free again.
    assert_eq!(run_backup(&server)["status"], "succeeded");
}

#[test]
fn a_drill_while_a_backup_runs_is_refused_with_409() {
    let s = Setup::new(1);
    let server = s.start_env(&[("BACKUP_MASTER_FAULTS", "slow_copy_ms:200")]);
    // A set to drill first, then a slow backup.
    let first = run_backup(&server);
    assert_eq!(first["status"], "succeeded");
    let bid = start_backup(&server);
    let r = server.post("/api/v1/drills", OPERATOR, &json!({}));
    let p = assert_problem(r, 409);
    assert_eq!(p["code"], "job_running", "{p:#}");
    assert_eq!(p["running_id"], bid.as_str(), "{p:#}");
    // Bad input is a 422 naming the field, and the viewer may not start one.
    let r = server.post("/api/v1/drills", OPERATOR, &json!({"components": ["nope"]}));
    assert_eq!(
        problem_fields(&assert_problem(r, 422)),
        vec!["components[0]"]
    );
    let r = server.post("/api/v1/drills", VIEWER, &json!({}));
    assert_problem(r, 403);
    wait_backup(&server, &bid);
    assert!(server.get_json("/api/v1/drills", VIEWER)["items"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn a_scheduled_drill_runs_at_its_instant() {
    // A set first, from a server without a drill schedule.
    let s = Setup::new(1);
    let text = std::fs::read_to_string(&s.config)
        .unwrap()
        .replace("time_zone = \"Europe/Berlin\"", "time_zone = \"UTC\"");
    std::fs::write(&s.config, text).unwrap();
    let server = s.start();
    assert_eq!(run_backup(&server)["status"], "succeeded");
    drop(server);
    // The server's clock just before a whole minute (UTC); the drill set through the settings
    // for every day at that minute.
    let now = Utc::now();
    let t = (now + CDuration::seconds(120))
        .with_second(0)
        .unwrap()
        .with_nanosecond(0)
        .unwrap();
    let offset = (t - now).num_seconds() - 12;
    let server = s.start_env(&[("BACKUP_MASTER_CLOCK_OFFSET_SECS", &offset.to_string())]);
    let settings = |server: &Server| {
        let r = server.get("/api/v1/settings", VIEWER);
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        (r.json::<Value>().unwrap(), etag)
    };
    let (current, etag) = settings(&server);
    assert_eq!(current["drill"]["every_days"], 0, "{current:#}");
    let mut body = json!({"schedule": current["schedule"], "hooks": current["hooks"]});
    body["drill"] = json!({"weekday": "someday", "every_days": 1, "time": "24:00"});
    let r = server.put("/api/v1/settings", ADMIN, &body, Some(&etag));
    let mut fields = problem_fields(&assert_problem(r, 422));
    fields.sort();
    assert_eq!(fields, ["drill.every_days", "drill.time", "drill.weekday"]);
    let hhmm = format!("{:02}:{:02}", t.hour(), t.minute());
    body["drill"] = json!({"every_days": 1, "time": hhmm});
    let r = server.put("/api/v1/settings", ADMIN, &body, Some(&etag));
    assert_eq!(r.status(), 200);
    let (now_set, _) = settings(&server);
    assert_eq!(now_set["drill"]["time"], hhmm.as_str());
    let text = std::fs::read_to_string(&s.config).unwrap();
    assert!(
        text.contains(&format!(
            "[drill]\nweekday = \"\"\ntime = \"{hhmm}\"\nevery_days = 1\n"
        )),
        "{text}"
    );
    assert!(server.get_json("/api/v1/drills", VIEWER)["items"]
        .as_array()
        .unwrap()
        .is_empty());
    let d = poll("the scheduled drill", Duration::from_secs(60), || {
        server.get_json("/api/v1/drills", VIEWER)["items"]
            .as_array()
            .unwrap()
            .first()
            .cloned()
    });
    assert_eq!(d["trigger"], "schedule", "{d:#}");
    assert_eq!(time(&d["scheduled_for"]), t);
    let rec = wait_drill(&server, d["id"].as_str().unwrap());
    assert_eq!(rec["status"], "passed", "{rec:#}");
    // Once a day: the next instant is tomorrow, so no second drill follows.
    assert_eq!(
        server.get_json("/api/v1/drills", VIEWER)["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// Remote components drill on their agent (tests/drill_agent.rs); one the set has no usable
/// folder of (here: configured after the set was taken, its agent never answers) is refused
/// before anything is made, naming it.
#[test]
fn a_remote_component_the_set_has_no_folder_of_is_refused_naming_it() {
    let s = Setup::new(1);
    let server = s.start();
    let bid = run_backup(&server)["id"].as_str().unwrap().to_string();
    drop(server);
    let mut text = std::fs::read_to_string(&s.config).unwrap();
    text.push_str(
        "\n[[components]]\nname = \"far\"\nprofile = \"maestro-tracker\"\nagent = \"http://127.0.0.1:1\"\n",
    );
    std::fs::write(&s.config, text).unwrap();
    let server = s.start_env(&[("BACKUP_MASTER_AGENT_TOKEN_FAR", "a-token-for-the-test")]);
    let before = installation(&s);
    let r = server.post(
        "/api/v1/drills",
        OPERATOR,
        &json!({"backup_id": bid, "components": ["lui", "far"]}),
    );
    let p = assert_problem(r, 422);
    assert_eq!(problem_fields(&p), vec!["components[1]"], "{p:#}");
    let msg = p["errors"][0]["message"].as_str().unwrap();
    assert!(msg.contains("component far") && msg.contains(&bid), "{msg}");
    // The set by its ID, every component: refused naming the set.
    let r = server.post("/api/v1/drills", OPERATOR, &json!({"backup_id": bid}));
    let p = assert_problem(r, 422);
    assert_eq!(problem_fields(&p), vec!["backup_id"], "{p:#}");
    // The set lacks the new component: no successful complete set for a default drill.
    let r = server.post("/api/v1/drills", OPERATOR, &json!({}));
    assert_eq!(assert_problem(r, 404)["code"], "set_not_found");
    // Nothing recorded, nothing made.
    let list = server.get_json("/api/v1/drills", VIEWER);
    assert_eq!(list["items"], json!([]), "{list:#}");
    assert_eq!(installation(&s), before);
    // The local components of that set still drill.
    let id = start_drill(
        &server,
        &json!({"backup_id": bid, "components": ["hub", "lui", "trk"]}),
    );
    let rec = wait_drill(&server, &id);
    assert_eq!(rec["status"], "passed", "{rec:#}");
}

#[test]
fn a_cancelled_drill_stops_before_the_next_step_and_removes_its_scratch() {
    let s = Setup::new(1);
    let server = s.start();
    assert_eq!(run_backup(&server)["status"], "succeeded");
    drop(server);
    let before = installation(&s);
    let server = s.start_env(&[("BACKUP_MASTER_FAULTS", "pause_at:drill_restored")]);
    let id = start_drill(&server, &json!({"components": ["hub", "lui"]}));
    poll("the drill to pause", Duration::from_secs(60), || {
        s.state()
            .join("fault-paused-drill_restored")
            .exists()
            .then_some(())
    });
    let r = server.post(&format!("/api/v1/drills/{id}/cancel"), OPERATOR, &json!({}));
    assert_eq!(r.status(), 202);
    std::fs::write(s.state().join("fault-resume-drill_restored"), b"").unwrap();
    let rec = wait_drill(&server, &id);
    assert_eq!(rec["status"], "cancelled", "{rec:#}");
    let hub = component(&rec, "hub");
    assert_eq!(hub["status"], "failed", "{hub:#}");
    assert!(hub["errors"].to_string().contains("cancelled"), "{hub:#}");
    let lui = component(&rec, "lui");
    assert_eq!(lui["status"], "skipped", "{lui:#}");
    assert!(
        lui["files"] == 0 && lui["scratch_home"].is_null(),
        "{lui:#}"
    );
    assert!(rec["rto_seconds"].is_null());
    assert!(!s.home("hub").join("drills").exists());
    assert!(!s.home("lui").join("drills").exists());
    std::fs::remove_file(s.state().join("fault-paused-drill_restored")).unwrap();
    std::fs::remove_file(s.state().join("fault-resume-drill_restored")).unwrap();
    assert_eq!(installation(&s), before);
    // Cancelling what has ended, or what never was.
    let r = server.post(&format!("/api/v1/drills/{id}/cancel"), OPERATOR, &json!({}));
    assert_eq!(assert_problem(r, 409)["code"], "drill_not_running");
    let r = server.post(
        "/api/v1/drills/D20200101T000000Z/cancel",
        OPERATOR,
        &json!({}),
    );
    assert_eq!(assert_problem(r, 404)["code"], "drill_not_found");
    // The lock is free again.
    assert_eq!(run_backup(&server)["status"], "succeeded");
}

/// A probe that prints a line and then waits for a flag the test sets only once that line came
/// over the drill's events: the output is read while the probe runs. A second drill's probe
/// that would wait for minutes is killed by the cancel.
#[test]
fn probe_output_comes_over_the_events_while_the_probe_runs_and_a_cancel_kills_the_probe() {
    let s = Setup::new(1);
    let flag = s.path().join("flag");
    let pid = s.path().join("probe.pid");
    component_keys(
        &s,
        "trk",
        &format!(
            r#"drill_probe_command = "sh -c 'echo $$ > {pid}; echo waiting for {flag}; while [ ! -e {flag} ]; do sleep 0.05; done; echo released'""#,
            pid = pid.display(),
            flag = flag.display()
        ),
    );
    let server = s.start();
    assert_eq!(run_backup(&server)["status"], "succeeded");

    let id = start_drill(&server, &json!({"components": ["trk"]}));
    let waiting = format!("waiting for {}", flag.display());
    let mut lines = Vec::new();
    follow_sse(
        &server,
        &format!("/api/v1/drills/{id}/events"),
        |event, data| {
            if event == "probe_output" {
                assert_eq!(data["component"], "trk");
                let line = data["line"].as_str().unwrap().to_string();
                if line == waiting {
                    // The probe still waits: the drill runs, its component is probing.
                    let rec = server.get_json(&format!("/api/v1/drills/{id}"), VIEWER);
                    assert_eq!(rec["status"], "running", "{rec:#}");
                    assert_eq!(component(&rec, "trk")["status"], "probing", "{rec:#}");
                    write(&flag, b"");
                }
                lines.push(line);
            }
            event == "end"
        },
    );
    // Every line was an event, once.
    assert_eq!(lines, [waiting, "released".to_string()]);
    let rec = wait_drill(&server, &id);
    assert_eq!(rec["status"], "passed", "{rec:#}");
    let out = component(&rec, "trk")["probe"]["output"].as_str().unwrap();
    assert!(out.ends_with("released\n"), "{out}");

    // Cancelled while its probe waits: the probe's group is killed and the drill ends at once.
    std::fs::remove_file(&flag).unwrap();
    let id = start_drill(&server, &json!({"components": ["trk"]}));
    cancel_drill_while_probing(&server, &id, "trk", &pid);
    assert!(!scratch(&s, "trk", &id).exists());
}
