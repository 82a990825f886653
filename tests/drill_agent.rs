//! Restore drills of a remote component (real master, real agent on loopback): the component
//! is restored into a scratch home on the agent's machine, hashed against its slot's
//! `SHA256SUMS` and probed there (only when the agent's config lets the master's commands
//! run), the scratch is removed, and the master records the result with the local ones.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

const TOKEN: &str = "agent-token-for-drill-tests";

struct Pair {
    dir: tempfile::TempDir,
    agent: Agent,
}

/// trk on an agent (`run_commands` as given), hub local; `probe` is trk's
/// `drill_probe_command` on the master.
fn pair(run_commands: bool, probe: &str) -> Pair {
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
            sha(TOKEN)
        ),
    )
    .unwrap();
    let agent = Agent::spawn(&a.join("agent.toml"), "127.0.0.1:0", &[]);
    make_home(&dir.path().join("homes/hub"), "maestro-hub");
    write(&dir.path().join("secrets/trk.token"), TOKEN.as_bytes());
    let text = format!(
        r#"{head}[schedule]
enabled = false
[[components]]
name = "trk"
profile = "maestro-tracker"
agent = "{addr}"
agent_token_file = "secrets/trk.token"
keep = 1
drill_probe_command = {probe:?}
[[components]]
name = "hub"
profile = "maestro-hub"
home = "homes/hub"
keep = 1
"#,
        head = master_head(),
        addr = agent.addr,
    );
    std::fs::write(dir.path().join("backup-master.toml"), text).unwrap();
    Pair { dir, agent }
}

impl Pair {
    fn start(&self) -> Server {
        Server::start(
            &self.dir.path().join("backup-master.toml"),
            self.dir.path(),
            &[],
        )
    }

    fn agent_home(&self) -> PathBuf {
        self.dir.path().join("agent/home")
    }

    /// Everything but the master's and the agent's state folders: homes, slots, config.
    fn installation(&self) -> std::collections::BTreeMap<String, String> {
        snapshot(self.dir.path())
            .into_iter()
            .filter(|(k, _)| !k.starts_with("state") && !k.starts_with("agent/agent-state"))
            .collect()
    }

    /// No scratch on either side: no `drills` folder anywhere, no drill noted by the agent.
    fn assert_no_scratch(&self) {
        let found: Vec<String> = snapshot(self.dir.path())
            .into_keys()
            .filter(|k| k.split('/').any(|p| p == "drills" || p.starts_with('D')))
            .filter(|k| !k.starts_with("state/") && !k.starts_with("agent/agent-state/"))
            .collect();
        assert!(found.is_empty(), "scratch left: {found:?}");
        let notes = self.dir.path().join("agent/agent-state/drills");
        let left = std::fs::read_dir(&notes).map_or(0, |d| d.count());
        assert_eq!(left, 0, "drill notes left in {}", notes.display());
    }
}

fn start_drill(server: &Server, body: &Value) -> String {
    let r = server.post("/api/v1/drills", OPERATOR, body);
    assert_eq!(r.status(), 202, "start drill");
    let rec: Value = r.json().unwrap();
    assert_eq!(rec["status"], "running");
    rec["id"].as_str().unwrap().to_string()
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

/// A backup of the set (both components), checked.
fn backup(server: &Server) -> String {
    let rec = run_backup(server);
    assert_eq!(rec["status"], "succeeded", "{rec:#}");
    rec["id"].as_str().unwrap().to_string()
}

fn flip_byte(file: &Path) {
    let mut bytes = std::fs::read(file).unwrap();
    bytes[100] ^= 0x01;
    std::fs::write(file, &bytes).unwrap();
}

#[test]
fn a_set_with_a_remote_component_drills_it_on_its_agent_and_changes_nothing() {
    let p = pair(
        true,
        "sh -c 'test -f \"$DRILL_HOME/tracker.ini\" && test \"$COMPONENT_HOME\" = \"$DRILL_HOME\" && echo probed $COMPONENT $BACKUP_ID in $PWD'",
    );
    let server = p.start();
    let bid = backup(&server);
    let before = p.installation();
    let t0 = Instant::now();
    let id = start_drill(&server, &json!({}));
    let rec = wait_drill(&server, &id);
    let wall = t0.elapsed().as_secs_f64();
    assert_eq!(rec["status"], "passed", "{rec:#}");
    assert_eq!(rec["backup_id"], bid.as_str());
    // Config order: the remote trk first, then hub.
    let names: Vec<&str> = rec["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["trk", "hub"]);
    let trk = component(&rec, "trk");
    assert_eq!(trk["status"], "passed", "{trk:#}");
    assert!(trk["files"].as_u64().unwrap() >= 2, "{trk:#}");
    assert!(trk["bytes"].as_u64().unwrap() >= 20_000, "{trk:#}");
    assert_eq!(trk["files_checked"], trk["files"], "{trk:#}");
    assert_eq!(trk["mismatched"], json!([]));
    assert_eq!(trk["missing"], json!([]));
    let home = p.agent_home();
    assert_eq!(
        trk["source_folder"],
        home.join("backup").display().to_string()
    );
    let scratch_home = home.join("drills").join(&id).join("trk");
    assert_eq!(trk["scratch_home"], scratch_home.display().to_string());
    // The probe ran on the agent, in the scratch home, with the drill's variables.
    assert_eq!(trk["probe"]["exit_code"], 0, "{trk:#}");
    let out = trk["probe"]["output"].as_str().unwrap();
    assert_eq!(
        out.trim(),
        format!("probed trk {bid} in {}", scratch_home.display()),
        "{trk:#}"
    );
    let rto = trk["rto_seconds"].as_f64().unwrap();
    assert!(rto > 0.0 && rto <= wall, "rto {rto}, wall {wall}");
    assert_eq!(component(&rec, "hub")["status"], "passed");
    let set_rto = rec["rto_seconds"].as_f64().unwrap();
    assert!(set_rto >= rto && set_rto <= wall, "{rec:#}");
    // Homes and slots on both sides byte-identical; no scratch on either side.
    assert_eq!(p.installation(), before);
    p.assert_no_scratch();
    drop(p.agent);
}

#[test]
fn a_flipped_byte_in_the_agents_slot_fails_the_drill_naming_the_component_and_the_path() {
    let p = pair(true, "true");
    let server = p.start();
    backup(&server);
    flip_byte(&p.agent_home().join("backup/data/events.dat"));
    let before = p.installation();
    let id = start_drill(&server, &json!({"components": ["trk"]}));
    let rec = wait_drill(&server, &id);
    assert_eq!(rec["status"], "failed", "{rec:#}");
    assert_eq!(rec["components"].as_array().unwrap().len(), 1);
    let trk = component(&rec, "trk");
    assert_eq!(trk["status"], "failed", "{trk:#}");
    assert_eq!(trk["mismatched"], json!(["data/events.dat"]), "{trk:#}");
    assert!(
        trk["probe"].is_null(),
        "no probe after a failed check: {trk:#}"
    );
    assert!(trk["rto_seconds"].is_null());
    assert!(rec["rto_seconds"].is_null());
    assert_eq!(p.installation(), before);
    p.assert_no_scratch();
    drop(p.agent);
}

#[test]
fn a_probe_that_exits_1_on_the_agent_fails_the_drill_with_its_output_kept() {
    let p = pair(true, "sh -c 'echo tracker refuses the copy; exit 1'");
    let server = p.start();
    backup(&server);
    let before = p.installation();
    let id = start_drill(&server, &json!({"components": ["hub", "trk"]}));
    let rec = wait_drill(&server, &id);
    assert_eq!(rec["status"], "failed", "{rec:#}");
    let trk = component(&rec, "trk");
    assert_eq!(trk["status"], "failed", "{trk:#}");
    assert_eq!(trk["probe"]["exit_code"], 1, "{trk:#}");
    assert!(
        trk["probe"]["output"]
            .as_str()
            .unwrap()
            .contains("tracker refuses the copy"),
        "{trk:#}"
    );
    assert!(trk["errors"].to_string().contains("probe"), "{trk:#}");
    // The restore and its check passed before the probe.
    assert!(trk["files_checked"].as_u64().unwrap() >= 2, "{trk:#}");
    assert_eq!(trk["mismatched"], json!([]));
    assert_eq!(component(&rec, "hub")["status"], "passed");
    assert_eq!(p.installation(), before);
    p.assert_no_scratch();
    drop(p.agent);
}

#[test]
fn an_agent_without_run_commands_fails_the_probe_step_naming_why_after_restore_and_check() {
    let p = pair(false, "sh -c 'echo must not run; touch /tmp/never'");
    let server = p.start();
    backup(&server);
    let before = p.installation();
    let id = start_drill(&server, &json!({"components": ["trk"]}));
    let rec = wait_drill(&server, &id);
    assert_eq!(rec["status"], "failed", "{rec:#}");
    let trk = component(&rec, "trk");
    assert_eq!(trk["status"], "failed", "{trk:#}");
    assert!(trk["probe"].is_null(), "the probe ran: {trk:#}");
    let errors = trk["errors"].to_string();
    assert!(
        errors.contains("probe") && errors.contains("run_commands"),
        "{errors}"
    );
    // The restore and its hash ran all the same.
    assert!(trk["files"].as_u64().unwrap() >= 2, "{trk:#}");
    assert_eq!(trk["files_checked"], trk["files"], "{trk:#}");
    assert_eq!(trk["mismatched"], json!([]));
    assert_eq!(trk["missing"], json!([]));
    assert_eq!(p.installation(), before);
    p.assert_no_scratch();
    drop(p.agent);
}

#[test]
fn an_agent_unreachable_during_the_drill_fails_its_component_with_the_agents_error() {
    let mut p = pair(true, "true");
    // hub first in config order, its probe waiting for `go`: the agent dies meanwhile.
    let (mark, go) = (p.dir.path().join("probing"), p.dir.path().join("go"));
    let probe = format!(
        "sh -c 'touch {}; i=0; while [ ! -f {} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done'",
        mark.display(),
        go.display()
    );
    let cfg = p.dir.path().join("backup-master.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let mut parts: Vec<String> = text.split("[[components]]\n").map(str::to_string).collect();
    assert_eq!(parts.len(), 3);
    parts[2] = format!("{}drill_probe_command = {probe:?}\n", parts[2]);
    let text = format!(
        "{}[[components]]\n{}[[components]]\n{}",
        parts[0], parts[2], parts[1]
    );
    std::fs::write(&cfg, text).unwrap();
    let server = p.start();
    let bid = backup(&server);
    let id = start_drill(&server, &json!({"backup_id": bid}));
    poll("hub's probe", Duration::from_secs(60), || {
        mark.exists().then_some(())
    });
    p.agent.kill9();
    std::fs::write(&go, b"").unwrap();
    let rec = wait_drill(&server, &id);
    assert_eq!(rec["status"], "failed", "{rec:#}");
    assert_eq!(component(&rec, "hub")["status"], "passed", "{rec:#}");
    let trk = component(&rec, "trk");
    assert_eq!(trk["status"], "failed", "{trk:#}");
    let errors = trk["errors"].to_string();
    assert!(
        errors.contains(&format!("agent {} is unreachable", p.agent.addr)),
        "{errors}"
    );
    assert!(rec["rto_seconds"].is_null());
}

#[test]
fn an_agent_removes_the_scratch_of_a_drill_it_was_killed_in_at_its_next_start() {
    // The probe hangs: the agent is killed while it holds the scratch.
    let mut p = pair(true, "sleep 20");
    let server = p.start();
    backup(&server);
    let before = p.installation();
    let id = start_drill(&server, &json!({"components": ["trk"]}));
    let scratch = p.agent_home().join("drills").join(&id);
    poll("the agent's scratch", Duration::from_secs(60), || {
        scratch.join("trk/tracker.ini").exists().then_some(())
    });
    p.agent.kill9();
    let rec = wait_drill(&server, &id);
    assert_eq!(rec["status"], "failed", "{rec:#}");
    assert!(
        scratch.exists(),
        "the scratch is left until the agent starts"
    );
    p.agent.restart(&[]);
    poll("the scratch to be removed", Duration::from_secs(30), || {
        (!scratch.exists()).then_some(())
    });
    assert_eq!(p.installation(), before);
    p.assert_no_scratch();
}

#[test]
fn an_agents_drill_root_inside_an_item_is_refused_and_nothing_is_made() {
    let mut p = pair(true, "true");
    let cfg = p.dir.path().join("agent/agent.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, format!("{text}drill_root = \"data/drills\"\n")).unwrap();
    p.agent.restart(&[]);
    let server = p.start();
    backup(&server);
    let before = p.installation();
    let id = start_drill(&server, &json!({"components": ["trk"]}));
    let rec = wait_drill(&server, &id);
    assert_eq!(rec["status"], "failed", "{rec:#}");
    let trk = component(&rec, "trk");
    assert_eq!(trk["status"], "failed", "{trk:#}");
    let errors = trk["errors"].to_string();
    assert!(
        errors.contains("drill root") && errors.contains("data"),
        "{errors}"
    );
    assert_eq!(trk["files"], 0, "{trk:#}");
    assert_eq!(p.installation(), before);
    p.assert_no_scratch();
    drop(p.agent);
}

/// The agent's probe prints a line, then waits for a flag the test sets only once that line
/// came over the master's drill events: the master reads the agent's probe output while it
/// runs, and shows each line once. A cancel on the master kills a second probe on the agent.
#[test]
fn the_agents_probe_output_comes_over_the_events_while_it_runs_and_a_cancel_kills_it() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("flag");
    let pid = dir.path().join("probe.pid");
    let p = pair(
        true,
        &format!(
            "sh -c 'echo $$ > {pid}; echo agent probe waits; while [ ! -e {flag} ]; do sleep 0.05; done; echo agent probe released'",
            pid = pid.display(),
            flag = flag.display()
        ),
    );
    let server = p.start();
    backup(&server);
    let id = start_drill(&server, &json!({"components": ["trk"]}));
    let mut lines = Vec::new();
    follow_sse(
        &server,
        &format!("/api/v1/drills/{id}/events"),
        |event, data| {
            if event == "probe_output" {
                assert_eq!(data["component"], "trk");
                let line = data["line"].as_str().unwrap().to_string();
                if line == "agent probe waits" {
                    let rec = server.get_json(&format!("/api/v1/drills/{id}"), VIEWER);
                    assert_eq!(rec["status"], "running", "{rec:#}");
                    write(&flag, b"");
                }
                lines.push(line);
            }
            event == "end"
        },
    );
    // Every line was an event, once.
    assert_eq!(lines, ["agent probe waits", "agent probe released"]);
    let rec = wait_drill(&server, &id);
    assert_eq!(rec["status"], "passed", "{rec:#}");

    std::fs::remove_file(&flag).unwrap();
    let id = start_drill(&server, &json!({"components": ["trk"]}));
    cancel_drill_while_probing(&server, &id, "trk", &pid);
    p.assert_no_scratch();
    drop(p.agent);
}
