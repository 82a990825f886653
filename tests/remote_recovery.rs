//! A remote commit pending across a master restart (README *How backups work* and *Remote components*; `engine::recovery`): the
//! master dies right after the commit decision (`abort_after_decision`) and the agent is down
//! when it comes back. Start-up does not wait for the agent; the backup stays `running` with a
//! note while the master retries the commit in the background, holding the job lock. When the
//! agent comes back the set is rolled forward and the backup ends `succeeded`. An agent whose
//! decision timeout passes meanwhile never aborts on its own (issue 22): it marks the backup in
//! doubt, keeps its staging folder, refuses other prepares, and commits when the master comes
//! back. Real processes on loopback ports, fake homes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const TRK_TOKEN: &str = "recovery-agent-token-for-tests";

/// hub local, trk behind the agent.
struct Cluster {
    dir: tempfile::TempDir,
    agent: Agent,
}

impl Cluster {
    fn new(decision_timeout: u32) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let agent = Agent::start(
            &dir.path().join("agent"),
            ("trk", "maestro-tracker", TRK_TOKEN),
            &format!("decision_timeout_seconds = {decision_timeout}"),
            "127.0.0.1:0",
            &[],
        );
        make_home(&dir.path().join("homes/hub"), "maestro-hub");
        let text = format!(
            r#"{head}[schedule]
enabled = false
[[components]]
name = "hub"
profile = "maestro-hub"
home = "homes/hub"
keep = 2
[[components]]
name = "trk"
profile = "maestro-tracker"
agent = "{agent}"
keep = 2
"#,
            head = master_head(),
            agent = agent.addr,
        );
        std::fs::write(dir.path().join("backup-master.toml"), text).unwrap();
        Cluster { dir, agent }
    }

    fn master(&self, faults: &str) -> Server {
        Server::start(
            &self.dir.path().join("backup-master.toml"),
            self.dir.path(),
            &[
                ("BACKUP_MASTER_AGENT_TOKEN_TRK", TRK_TOKEN),
                ("BACKUP_MASTER_FAULTS", faults),
            ],
        )
    }

    fn home(&self, name: &str) -> PathBuf {
        match name {
            "trk" => self.dir.path().join("agent/home"),
            other => self.dir.path().join("homes").join(other),
        }
    }

    /// (component, slot, backup ID) of every slot.
    fn all_slots(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for c in ["hub", "trk"] {
            let home = self.home(c);
            for s in slots(&home) {
                out.push((c.to_string(), s.clone(), readme_id(&home.join(&s))));
            }
        }
        out
    }

    fn stagings(&self) -> Vec<String> {
        ["hub", "trk"]
            .iter()
            .flat_map(|c| stagings(&self.home(c)))
            .collect()
    }

    /// Runs a first, complete backup; then a second one in which the master aborts right after
    /// the commit decision; then kills the agent. Returns the second backup's ID and the slots
    /// before it.
    fn decide_and_die(&mut self) -> (String, Vec<(String, String, String)>) {
        let master = self.master("");
        let first = run_backup(&master);
        assert_eq!(first["status"], "succeeded", "{first:#}");
        drop(master);
        let before = self.all_slots();
        assert_eq!(before.len(), 2, "{before:?}");

        let mut master = self.master("abort_after_decision");
        let id = start_backup(&master);
        let exit = wait_exit(&mut master.child, Duration::from_secs(30))
            .expect("the master aborts after the commit decision");
        assert!(!exit.success());
        self.agent.kill9();
        assert_eq!(
            self.all_slots(),
            before,
            "nothing rotated before the commit"
        );
        assert_eq!(
            self.stagings().len(),
            2,
            "both prepared: {:?}",
            self.stagings()
        );
        (id, before)
    }
}

fn backup(master: &Server, id: &str) -> Value {
    master.get_json(&format!("/api/v1/backups/{id}"), VIEWER)
}

#[test]
fn a_decided_commit_waits_for_the_agent_across_a_master_restart_and_rolls_forward() {
    let mut c = Cluster::new(3600);
    let (id, before) = c.decide_and_die();

    // The master restarts while the agent is down: start-up does not wait for it.
    let t0 = std::time::Instant::now();
    let master = c.master("");
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    let rec = backup(&master, &id);
    assert_eq!(rec["status"], "running", "{rec:#}");
    assert_eq!(rec["commit_decided"], true, "{rec:#}");
    let notes = rec["notes"].to_string();
    assert!(
        notes.contains("trk") && notes.contains("retries the commit in the background"),
        "{rec:#}"
    );
    // The job lock is held: no new backup (and no restore) while the set is incomplete.
    let r = master.post("/api/v1/backups", OPERATOR, &json!({}));
    let body = assert_problem(r, 409);
    assert!(body.to_string().contains(&id), "{body}");
    let r = post_restore(&master, &json!({"backup_id": id, "dry_run": true}));
    assert_eq!(r.status(), 409, "restore while the roll-forward is pending");
    // Nothing rotated yet, and the staging folders are kept for the roll-forward.
    assert_eq!(c.all_slots(), before);
    assert_eq!(c.stagings().len(), 2, "{:?}", c.stagings());

    // The background retries meet the dead agent, and the record says so.
    poll(
        "the master to note the unacknowledged commit",
        Duration::from_secs(20),
        || {
            let r = backup(&master, &id);
            assert_eq!(r["status"], "running", "{r:#}");
            r["notes"]
                .to_string()
                .contains("did not acknowledge")
                .then_some(())
        },
    );
    // The agent comes back: the master's retries reach it and the set is completed.
    c.agent.restart(&[]);
    let done = poll(
        "the rolled-forward backup to end",
        Duration::from_secs(30),
        || {
            let r = backup(&master, &id);
            (r["status"] != "running").then_some(r)
        },
    );
    assert_eq!(done["status"], "succeeded", "{done:#}");
    let notes = done["notes"].to_string();
    assert!(notes.contains("rolled forward"), "{done:#}");
    assert!(notes.contains("acknowledged the commit after"), "{done:#}");
    assert!(done["errors"].as_array().unwrap().is_empty(), "{done:#}");
    for comp in done["components"].as_array().unwrap() {
        assert_eq!(comp["status"], "committed", "{done:#}");
    }
    for name in ["hub", "trk"] {
        let home = c.home(name);
        assert_eq!(readme_id(&home.join("backup")), id, "{name}");
        assert!(sha256sum_ok(&home.join("backup")), "{name}");
        let old = before.iter().find(|(c, _, _)| c == name).unwrap();
        assert_eq!(readme_id(&home.join("backup1")), old.2, "{name}");
    }
    assert!(c.stagings().is_empty(), "{:?}", c.stagings());
    // The lock is free again.
    let next = run_backup(&master);
    assert_eq!(next["status"], "succeeded", "{next:#}");
}

#[test]
fn an_agent_past_its_decision_timeout_is_in_doubt_keeps_its_staging_and_commits_for_the_master() {
    // decision_timeout_seconds = 1: only an alarm; the agent waits for the master.
    let mut c = Cluster::new(1);
    let (id, before) = c.decide_and_die();
    c.agent.restart(&[]);
    let client = reqwest::blocking::Client::new();
    let url = format!("{}/agent/v1/components/trk/backups/{id}", c.agent.addr);
    let v = poll(
        "the agent's in-doubt alarm",
        Duration::from_secs(20),
        || {
            let v: Value = client
                .get(&url)
                .bearer_auth(TRK_TOKEN)
                .send()
                .ok()?
                .json()
                .ok()?;
            (v["state"] == "in_doubt").then_some(v)
        },
    );
    assert!(v["participation"]["in_doubt_since"].is_string(), "{v:#}");
    // Reading it is no message from the master (a renewal would end the alarm at once): it
    // stays in doubt, and nothing changed.
    let again: Value = client
        .get(&url)
        .bearer_auth(TRK_TOKEN)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(again["state"], "in_doubt", "{again:#}");
    assert_eq!(c.all_slots(), before, "nothing rotated by itself");
    assert_eq!(
        stagings(&c.home("trk")).len(),
        1,
        "the staging folder is kept"
    );
    // One job per component: another prepare is refused, naming the backup in doubt.
    let r = client
        .post(format!(
            "{}/agent/v1/components/trk/backups/29990101T000000Z/prepare",
            c.agent.addr
        ))
        .bearer_auth(TRK_TOKEN)
        .json(
            &json!({"profile": "maestro-tracker", "backup_folder": "backup", "keep": 2,
                      "items": ["tracker.ini", "data/"]}),
        )
        .send()
        .unwrap();
    let p = assert_problem(r, 409);
    let detail = p["detail"].as_str().unwrap();
    assert!(detail.contains(&id) && detail.contains("in doubt"), "{p}");

    // The master comes back: it holds the decision and commits.
    let master = c.master("");
    let done = poll(
        "the rolled-forward backup to end",
        Duration::from_secs(30),
        || {
            let r = backup(&master, &id);
            (r["status"] != "running").then_some(r)
        },
    );
    assert_eq!(done["status"], "succeeded", "{done:#}");
    assert!(
        done["notes"].to_string().contains("rolled forward"),
        "{done:#}"
    );
    for name in ["hub", "trk"] {
        assert_eq!(readme_id(&c.home(name).join("backup")), id, "{name}");
    }
    assert!(c.stagings().is_empty(), "{:?}", c.stagings());
    let v: Value = client
        .get(&url)
        .bearer_auth(TRK_TOKEN)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(v["state"], "committed", "{v:#}");
    assert!(v["participation"]["in_doubt_since"].is_null(), "{v:#}");
}
