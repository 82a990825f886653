//! Restores that stop, start and prove the application, through the real server against fake
//! homes and a fake application ([`FakeApp`]: a background process with a pid file that
//! records its start, readiness and exit, and refuses to start on bad data): it is stopped
//! before the first change and started after, the restore waits for its health; a set that
//! makes it refuse to start ends `unhealthy` (undoable, or rolled back at once with
//! `rollback_on_unhealthy`); a failing stop changes nothing and starts again what it stopped;
//! kill -9 between the stop and the start is rolled back at the next start and the application
//! started again; the settings go through the config and `PUT /components`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const SKIP: &[&str] = &[".pre-restore-"];

/// hub, lui, trk (trk last in the file: `trk_keys` go into its table), trk run by a fake app;
/// `hub_keys` go into hub's table.
fn setup(trk_keys: &str, hub_keys: &str) -> (Setup, FakeApp) {
    setup_with("", trk_keys, hub_keys)
}

/// [`setup`] with `extra` TOML before the components.
fn setup_with(extra: &str, trk_keys: &str, hub_keys: &str) -> (Setup, FakeApp) {
    let s = Setup::with_extra(2, extra);
    let app = FakeApp::new(&s.path().join("apps/trk"), &s.home("trk"));
    let mut text = std::fs::read_to_string(&s.config).unwrap();
    let hub = "name = \"hub\"\nprofile = \"maestro-hub\"\n";
    assert!(text.contains(hub));
    text = text.replace(hub, &format!("{hub}{hub_keys}\n"));
    text.push_str(&app.config_keys(trk_keys));
    std::fs::write(&s.config, text).unwrap();
    (s, app)
}

/// The steps of `rec` with `action` (and component `name` when given).
fn steps<'a>(rec: &'a Value, action: &str, name: Option<&str>) -> Vec<&'a Value> {
    rec["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["action"] == action && name.is_none_or(|n| s["component"] == n))
        .collect()
}

fn step_time(rec: &Value, action: &str, name: Option<&str>) -> f64 {
    let all = steps(rec, action, name);
    let first = all
        .first()
        .unwrap_or_else(|| panic!("no {action} step in {rec}"));
    unix_seconds(&first["at"])
}

/// The lifecycle entry of component `name`.
fn lifecycle<'a>(rec: &'a Value, name: &str) -> &'a Value {
    rec["lifecycle"]
        .as_array()
        .unwrap_or_else(|| panic!("no lifecycle in {rec}"))
        .iter()
        .find(|l| l["component"] == name)
        .unwrap_or_else(|| panic!("no lifecycle entry of {name} in {rec}"))
}

fn start_restore(server: &Server, body: &Value) -> String {
    let r = post_restore(server, body);
    assert_eq!(r.status(), 202, "start restore");
    let rec: Value = r.json().unwrap();
    rec["id"].as_str().unwrap().to_string()
}

#[test]
fn the_app_is_stopped_before_the_first_change_started_after_and_its_health_waited_for() {
    let (s, app) = setup("start_timeout_seconds = 20", "");
    app.start_now();
    let before = app.running().unwrap();
    let server = s.start();
    let backup = run_backup(&server);
    assert_eq!(backup["status"], "succeeded", "{backup}");
    let backed_up = snapshot(&s.home("trk").join("data"));
    write(&s.home("trk").join("data/events.dat"), b"changed since\n");

    let rec = run_restore(&server, &json!({"backup_id": backup["id"]}));
    assert_eq!(rec["status"], "succeeded", "{rec}");
    assert_eq!(snapshot(&s.home("trk").join("data")), backed_up);

    // Stopped before the first change of any component.
    let exits = app.times("exited");
    assert_eq!(exits.len(), 1, "{:?}", app.events());
    let first_change = step_time(&rec, "component_started", None);
    assert!(
        exits[0] < first_change,
        "the app exited at {} after the first change at {first_change}",
        exits[0]
    );
    let l = lifecycle(&rec, "trk");
    assert!(unix_seconds(&l["stopped_at"]) >= exits[0], "{l}");
    assert!(
        step_time(&rec, "stopping", Some("trk")) <= exits[0],
        "{rec}"
    );
    assert_eq!(l["stop"]["exit_code"], 0, "{l}");
    assert!(l["stop"]["output"].as_str().unwrap().contains("stopped"));

    // Started after every component was applied, and waited for until healthy.
    let starts = app.times("started");
    let ready = app.times("ready");
    assert_eq!(starts.len(), 2, "{:?}", app.events());
    let applied = steps(&rec, "component_applied", None);
    assert_eq!(applied.len(), 3, "{rec}");
    let last_applied = applied
        .iter()
        .map(|s| unix_seconds(&s["at"]))
        .fold(0.0, f64::max);
    assert!(
        starts[1] > last_applied,
        "started before the data was in place"
    );
    assert_eq!(l["state"], "healthy", "{l}");
    assert_eq!(l["start"]["exit_code"], 0, "{l}");
    assert_eq!(l["health"]["exit_code"], 0, "{l}");
    assert!(
        l["health_attempts"].as_u64().unwrap() >= 2,
        "the app is ready after 1 s: {l}"
    );
    let healthy_at = unix_seconds(&l["healthy_at"]);
    assert!(unix_seconds(&l["started_at"]) <= healthy_at);
    assert!(ready[1] <= healthy_at, "healthy before the app was ready");
    // finished_at has whole seconds.
    assert!(healthy_at.floor() <= unix_seconds(&rec["finished_at"]));
    assert!(
        step_time(&rec, "healthy", Some("trk")) <= step_time(&rec, "commit_decided", None),
        "the commit was decided before the app was proven healthy"
    );
    let now = app.running().expect("the app runs after the restore");
    assert_ne!(now, before);
}

/// A set taken while `data/BAD` was in trk's home: restoring it makes the app refuse to
/// start. Returns the set's ID, with the home good again and changed since.
fn bad_set(s: &Setup, server: &Server) -> String {
    write(&s.home("trk").join("data/BAD"), b"the data is bad\n");
    let backup = run_backup(server);
    assert_eq!(backup["status"], "succeeded", "{backup}");
    std::fs::remove_file(s.home("trk").join("data/BAD")).unwrap();
    write(
        &s.home("trk").join("tracker.ini"),
        b"[Tracker]\nchanged=1\n",
    );
    backup["id"].as_str().unwrap().to_string()
}

#[test]
fn a_set_the_app_refuses_to_start_on_ends_unhealthy_keeps_the_output_and_can_be_undone() {
    // A ping target hears of every restore's end (nothing listens there: the delivery's
    // record is what is checked).
    let ping = "[[notification_targets]]\nname = \"hc\"\nkind = \"ping\"\nurl = \"http://127.0.0.1:9/ping\"\n";
    let (s, app) = setup_with(ping, "start_timeout_seconds = 3", "");
    app.start_now();
    let server = s.start();
    let set = bad_set(&s, &server);
    let home = s.home("trk");
    let before = snapshot_meta(&home, SKIP);

    let rec = run_restore(&server, &json!({"backup_id": set, "components": ["trk"]}));
    assert_eq!(rec["status"], "unhealthy", "{rec}");
    let errors = rec["errors"].to_string();
    assert!(
        errors.contains("trk") && errors.contains("healthy"),
        "{errors}"
    );
    let l = lifecycle(&rec, "trk");
    assert_eq!(l["state"], "unhealthy", "{l}");
    assert_eq!(l["health"]["exit_code"], 1, "{l}");
    assert!(
        l["health"]["output"]
            .as_str()
            .unwrap()
            .contains("data is bad"),
        "the health command's output is kept: {l}"
    );
    assert!(l["health_attempts"].as_u64().unwrap() >= 2, "{l}");
    assert!(l["errors"]
        .to_string()
        .contains("did not become healthy within 3 s"));
    // The restored data is in place, the app refused it, undo is offered.
    assert!(home.join("data/BAD").exists());
    assert!(app.times("refused").len() == 1, "{:?}", app.events());
    assert_eq!(app.running(), None);
    assert_eq!(component(&rec, "trk")["status"], "restored", "{rec}");
    assert_eq!(rec["undo_available"], true, "{rec}");
    // An error event, like a failed restore's, naming the component.
    let event = poll("the restore's end event", Duration::from_secs(30), || {
        let d = server.get_json("/api/v1/notifications/deliveries?target=hc", ADMIN);
        d["items"]
            .as_array()?
            .iter()
            .find(|i| i["event"]["event"] == "restore_ended")
            .map(|i| i["event"].clone())
    });
    assert_eq!(event["severity"], "error", "{event}");
    let summary = event["summary"].as_str().unwrap();
    assert!(
        summary.contains("unhealthy") && summary.contains("trk"),
        "{event}"
    );

    let r = server.post(
        &format!("/api/v1/restores/{}/undo", rec["id"].as_str().unwrap()),
        ADMIN,
        &json!({}),
    );
    assert_eq!(r.status(), 202);
    let undo: Value = r.json().unwrap();
    let undo = wait_restore(&server, undo["id"].as_str().unwrap());
    assert_eq!(undo["status"], "succeeded", "{undo}");
    assert_eq!(lifecycle(&undo, "trk")["state"], "healthy", "{undo}");
    assert_eq!(
        snapshot_meta(&home, SKIP),
        before,
        "the undo gives back the home"
    );
    assert!(app.running().is_some(), "the app runs again after the undo");
}

/// hub runs an application too, which starts fine on the restored data: before the rollback
/// it is stopped again (its old data goes back under a stopped application), then started.
#[test]
fn with_rollback_on_unhealthy_every_home_goes_back_and_the_apps_run_again() {
    let (s, app) = setup(
        "start_timeout_seconds = 3\nrollback_on_unhealthy = true",
        "",
    );
    let hub_app = FakeApp::new(&s.path().join("apps/hub"), &s.home("hub"));
    let text = std::fs::read_to_string(&s.config).unwrap();
    let hub = "name = \"hub\"\nprofile = \"maestro-hub\"\n";
    let text = text.replace(hub, &format!("{hub}{}\n", hub_app.config_keys("")));
    std::fs::write(&s.config, text).unwrap();
    app.start_now();
    hub_app.start_now();
    let server = s.start();
    let set = bad_set(&s, &server);
    write(&s.home("hub").join("hub.ini"), b"[Hub]\nPort=9090\n");
    let (home, hub_home) = (s.home("trk"), s.home("hub"));
    let before = (snapshot_meta(&home, SKIP), snapshot_meta(&hub_home, SKIP));

    let rec = run_restore(
        &server,
        &json!({"backup_id": set, "components": ["hub", "trk"]}),
    );
    assert_eq!(rec["status"], "unhealthy", "{rec}");
    assert!(rec["errors"].to_string().contains("trk"), "{rec}");
    assert_eq!(component(&rec, "trk")["status"], "rolled_back", "{rec}");
    assert_eq!(component(&rec, "hub")["status"], "rolled_back", "{rec}");
    let after = (snapshot_meta(&home, SKIP), snapshot_meta(&hub_home, SKIP));
    assert_eq!(after, before, "every home is as before the restore");
    assert!(
        safety_folders(&home).is_empty(),
        "{:?}",
        safety_folders(&home)
    );
    let l = lifecycle(&rec, "trk");
    assert_eq!(l["restarted"], true, "{l}");
    assert_eq!(l["state"], "healthy", "{l}");
    assert!(
        l["errors"].to_string().contains("did not become healthy"),
        "{l}"
    );
    assert!(rec["undo_available"] != true, "{rec}");
    // trk refused once on the restored data, then ran again on the old data.
    assert_eq!(app.times("refused").len(), 1, "{:?}", app.events());
    assert!(app.running().is_some(), "the app runs again");
    assert!(
        app.run.join("ready").exists(),
        "and was ready before the restore ended"
    );
    // hub: stopped, started on the restored data, stopped again before its rollback, started.
    let exits = hub_app.times("exited");
    assert_eq!(exits.len(), 2, "{:?}", hub_app.events());
    assert_eq!(hub_app.times("started").len(), 3, "{:?}", hub_app.events());
    let rolled_back = step_time(&rec, "rolled_back", Some("hub"));
    assert!(exits[1] < rolled_back, "hub was put back while it ran");
    let h = lifecycle(&rec, "hub");
    assert_eq!(h["restarted"], true, "{h}");
    assert_eq!(h["state"], "healthy", "{h}");
    assert!(hub_app.running().is_some());
}

#[test]
fn a_failing_stop_changes_nothing_and_starts_again_what_it_stopped() {
    let (s, app) = setup(
        "",
        "stop_command = \"sh -c 'echo cannot stop the hub; exit 3'\"",
    );
    app.start_now();
    let server = s.start();
    let backup = run_backup(&server);
    assert_eq!(backup["status"], "succeeded", "{backup}");
    write(&s.home("trk").join("data/events.dat"), b"changed\n");
    write(&s.home("hub").join("hub.ini"), b"changed\n");
    let homes = s.path().join("homes");
    let before = snapshot_meta(&homes, &[]);
    let first = app.running().unwrap();

    let rec = run_restore(&server, &json!({"backup_id": backup["id"]}));
    assert_eq!(rec["status"], "failed", "{rec}");
    assert!(
        rec["errors"]
            .to_string()
            .contains("hub: stop_command exited 3"),
        "{rec}"
    );
    assert_eq!(
        snapshot_meta(&homes, &[]),
        before,
        "nothing changed on disk"
    );
    assert!(rec["changed"].as_array().unwrap().is_empty(), "{rec}");
    assert!(steps(&rec, "component_started", None).is_empty(), "{rec}");
    let hub = lifecycle(&rec, "hub");
    assert_eq!(hub["state"], "stop_failed", "{hub}");
    assert!(hub["stop"]["output"]
        .as_str()
        .unwrap()
        .contains("cannot stop the hub"));
    // trk (stopped first: reverse order) was started again and is healthy.
    let trk = lifecycle(&rec, "trk");
    assert_eq!(trk["restarted"], true, "{trk}");
    assert_eq!(trk["state"], "healthy", "{trk}");
    assert_eq!(app.times("exited").len(), 1, "{:?}", app.events());
    assert_eq!(app.times("started").len(), 2, "{:?}", app.events());
    let again = app.running().expect("the app runs again");
    assert_ne!(again, first);
}

#[test]
fn kill_9_between_stop_and_start_is_rolled_back_and_the_app_started_again() {
    let (s, app) = setup("", "");
    app.start_now();
    let mut server = s.start_env(&[("BACKUP_MASTER_FAULTS", "pause_at:restore_applied")]);
    let backup = run_backup(&server);
    assert_eq!(backup["status"], "succeeded", "{backup}");
    write(&s.home("trk").join("data/events.dat"), b"changed\n");
    let home = s.home("trk");
    let before = snapshot_meta(&home, SKIP);

    let id = start_restore(
        &server,
        &json!({"backup_id": backup["id"], "components": ["trk"]}),
    );
    let paused = s.state().join("fault-paused-restore_applied");
    poll(
        "the restore to pause after applying",
        Duration::from_secs(60),
        || paused.exists().then_some(()),
    );
    assert_eq!(app.running(), None, "stopped during the restore");
    assert_ne!(snapshot_meta(&home, SKIP), before, "the set is applied");
    server.kill9();

    let server = s.start();
    let rec = wait_restore(&server, &id);
    assert_eq!(rec["status"], "interrupted", "{rec}");
    assert_eq!(snapshot_meta(&home, SKIP), before, "rolled back");
    let l = lifecycle(&rec, "trk");
    assert_eq!(l["restarted"], true, "{l}");
    assert_eq!(l["state"], "healthy", "{l}");
    assert!(app.running().is_some(), "started again after the crash");
    assert_eq!(app.times("started").len(), 2, "{:?}", app.events());
}

#[test]
fn the_settings_are_read_written_back_and_checked() {
    let (s, _app) = setup("start_timeout_seconds = 30", "");
    let server = s.start();
    let c = server.get_json("/api/v1/components/trk", VIEWER);
    assert!(
        c["stop_command"].as_str().unwrap().contains("ctl.sh stop"),
        "{c}"
    );
    assert_eq!(c["start_timeout_seconds"], 30);
    assert_eq!(c["rollback_on_unhealthy"], false);
    let hub = server.get_json("/api/v1/components/hub", VIEWER);
    assert_eq!(hub["stop_command"], "", "{hub}");
    assert_eq!(hub["start_timeout_seconds"], 120, "{hub}");

    let text = std::fs::read_to_string(&s.config).unwrap();
    let put = |body: Value| server.put("/api/v1/components/hub", ADMIN, &body, Some("*"));
    let bad = put(json!({"backup_folder": "backup", "keep": 2, "start_timeout_seconds": 0}));
    let p = assert_problem(bad, 422);
    assert!(
        problem_fields(&p)
            .iter()
            .any(|f| f.ends_with("start_timeout_seconds")),
        "{p}"
    );
    let bad = put(json!({"backup_folder": "backup", "keep": 2, "health_command": "'unbalanced"}));
    let p = assert_problem(bad, 422);
    assert!(
        problem_fields(&p)
            .iter()
            .any(|f| f.ends_with("health_command")),
        "{p}"
    );
    assert_eq!(
        std::fs::read_to_string(&s.config).unwrap(),
        text,
        "nothing written"
    );

    let ok = put(json!({
        "backup_folder": "backup", "keep": 2,
        "stop_command": "hub-ctl stop", "health_command": "hub-ctl status",
        "start_timeout_seconds": 45, "rollback_on_unhealthy": true
    }));
    assert_eq!(ok.status(), 200);
    let hub = server.get_json("/api/v1/components/hub", VIEWER);
    assert_eq!(hub["stop_command"], "hub-ctl stop");
    assert_eq!(hub["health_command"], "hub-ctl status");
    assert_eq!(hub["start_command"], "");
    assert_eq!(hub["start_timeout_seconds"], 45);
    assert_eq!(hub["rollback_on_unhealthy"], true);
    let text = std::fs::read_to_string(&s.config).unwrap();
    assert!(text.contains("stop_command = \"hub-ctl stop\""), "{text}");
    assert!(text.contains("rollback_on_unhealthy = true"), "{text}");
    assert!(text.contains("start_timeout_seconds = 45"), "{text}");
    assert!(text.contains("this comment must survive API writes"));
}

const AGENT_TOKEN: &str = "agent-token-for-lifecycle-tests";

/// trk on a real agent (`run_commands` as given) run by a fake app on the agent's machine
/// (this one), hub local; the master's config gives trk's commands.
fn remote_pair(run_commands: bool) -> (tempfile::TempDir, Agent, FakeApp) {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("agent");
    std::fs::create_dir_all(&a).unwrap();
    make_home(&a.join("home"), "maestro-tracker");
    std::fs::write(
        a.join("agent.toml"),
        format!(
            "listen = \"127.0.0.1:0\"\nstate_dir = \"agent-state\"\n\
             [[tokens]]\nrole = \"admin\"\nsha256 = \"{}\"\n\
             [[components]]\nname = \"trk\"\nprofile = \"maestro-tracker\"\nhome = \"home\"\n\
             run_commands = {run_commands}\n",
            sha(AGENT_TOKEN)
        ),
    )
    .unwrap();
    let agent = Agent::spawn(&a.join("agent.toml"), "127.0.0.1:0", &[]);
    let app = FakeApp::new(&dir.path().join("apps/trk"), &a.join("home"));
    make_home(&dir.path().join("homes/hub"), "maestro-hub");
    write(
        &dir.path().join("secrets/trk.token"),
        AGENT_TOKEN.as_bytes(),
    );
    let text = format!(
        "{head}[schedule]\nenabled = false\n\
         [[components]]\nname = \"hub\"\nprofile = \"maestro-hub\"\nhome = \"homes/hub\"\nkeep = 1\n\
         [[components]]\nname = \"trk\"\nprofile = \"maestro-tracker\"\nagent = \"{addr}\"\n\
         agent_token_file = \"secrets/trk.token\"\nkeep = 1\n{keys}",
        head = master_head(),
        addr = agent.addr,
        keys = app.config_keys("start_timeout_seconds = 20\n"),
    );
    std::fs::write(dir.path().join("backup-master.toml"), text).unwrap();
    (dir, agent, app)
}

fn start_master(dir: &tempfile::TempDir) -> Server {
    Server::start(&dir.path().join("backup-master.toml"), dir.path(), &[])
}

#[test]
fn a_remote_component_is_stopped_and_started_by_its_agent() {
    let (dir, agent, app) = remote_pair(true);
    app.start_now();
    let first = app.running().unwrap();
    let server = start_master(&dir);
    let backup = run_backup(&server);
    assert_eq!(backup["status"], "succeeded", "{backup}");
    let home = dir.path().join("agent/home");
    let backed_up = snapshot(&home.join("data"));
    write(&home.join("data/events.dat"), b"changed on the agent\n");

    let rec = run_restore(&server, &json!({"backup_id": backup["id"]}));
    assert_eq!(rec["status"], "succeeded", "{rec}");
    assert_eq!(snapshot(&home.join("data")), backed_up);
    let l = lifecycle(&rec, "trk");
    assert_eq!(l["agent"], agent.addr.as_str(), "{l}");
    assert_eq!(l["state"], "healthy", "{l}");
    assert!(
        l["stop"]["output"].as_str().unwrap().contains("stopped"),
        "{l}"
    );
    assert_eq!(l["health"]["exit_code"], 0, "{l}");
    // Stopped on its machine before the first change, started after every component applied.
    let exits = app.times("exited");
    assert_eq!(exits.len(), 1, "{:?}", app.events());
    assert!(
        exits[0] < step_time(&rec, "component_started", None),
        "{rec}"
    );
    let starts = app.times("started");
    assert_eq!(starts.len(), 2, "{:?}", app.events());
    let applied = steps(&rec, "component_applied", None);
    assert_eq!(applied.len(), 2, "{rec}");
    let last_applied = applied
        .iter()
        .map(|s| unix_seconds(&s["at"]))
        .fold(0.0, f64::max);
    assert!(
        starts[1] > last_applied,
        "started before the data was in place"
    );
    let again = app.running().expect("the app runs after the restore");
    assert_ne!(again, first);
}

#[test]
fn an_agent_that_does_not_run_commands_fails_the_stop_and_nothing_changes() {
    let (dir, _agent, app) = remote_pair(false);
    app.start_now();
    let first = app.running().unwrap();
    let server = start_master(&dir);
    let backup = run_backup(&server);
    assert_eq!(backup["status"], "succeeded", "{backup}");
    write(&dir.path().join("agent/home/data/events.dat"), b"changed\n");
    write(&dir.path().join("homes/hub/hub.ini"), b"changed\n");
    let before = (
        snapshot_meta(&dir.path().join("agent/home"), &[]),
        snapshot_meta(&dir.path().join("homes"), &[]),
    );

    let rec = run_restore(&server, &json!({"backup_id": backup["id"]}));
    assert_eq!(rec["status"], "failed", "{rec}");
    let l = lifecycle(&rec, "trk");
    assert_eq!(l["state"], "stop_failed", "{l}");
    let why = l["stop"]["start_error"].as_str().unwrap();
    assert!(why.contains("run_commands = true"), "{l}");
    assert!(
        rec["errors"].to_string().contains("trk: stop_command"),
        "{rec}"
    );
    let after = (
        snapshot_meta(&dir.path().join("agent/home"), &[]),
        snapshot_meta(&dir.path().join("homes"), &[]),
    );
    assert_eq!(after, before, "nothing changed on either machine");
    assert_eq!(app.running(), Some(first), "the app was never stopped");
}
