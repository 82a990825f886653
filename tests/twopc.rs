//! Two-phase commit with no one-sided outcome (issue 22): a real master and two agents on
//! loopback ports (trk on agent one, app on agent two), hub local unless said otherwise, every
//! agent with `decision_timeout_seconds = 1`, fault points and kill -9 of the master.
//!
//! * (a) master killed after its commit decision and after agent one acknowledged; agent two
//!   goes in doubt (and keeps its staging folder); the restarted master commits it: every
//!   `backup` slot holds one ID, the record `succeeded` with a note.
//! * (b) master killed after every prepare, before the decision; both agents in doubt; the
//!   restarted master aborts both (presumed abort): no slot changed anywhere.
//! * (c) the same for restores: all restored, or all as before, and the record says which.
//! * (d) a master that never comes back: the operator lists and resolves on each agent
//!   (`agent resolve`); the homes and slots end consistent, and a master that does come back
//!   reports the heuristic outcome (a mismatch flagged, and undone while nothing committed).
//! * (e) an agent unreachable while the restarted master resolves: the record stays `running`
//!   with a note and the job lock; when the agent returns, it completes.
//! * In doubt is visible (agent status, `GET /components`, `/metrics`) while a hung master
//!   (paused) does not renew; the alarm measures the master's silence (a viewer's read does
//!   not end it, a renewal does); a slow local copy longer than the agents' timeout never
//!   makes an agent doubt (renewals); a set whose commit waits for an agent is `committing`,
//!   and the set about to leave the history stays complete until every component committed;
//!   one job per component on an agent.
//! * 20 kills at random points of two-agent backups and restores, each followed by the agents'
//!   timeout: the outcome is never mixed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use rand::Rng;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const TRK_TOKEN: &str = "twopc-agent-one-token";
const APP_TOKEN: &str = "twopc-agent-two-token";

/// Every component with its items: hub local, trk on agent one, app on agent two.
const ITEMS: [(&str, &[&str]); 3] = [
    ("hub", &["hub.ini", "accountreg", "hubreg"]),
    ("trk", &["tracker.ini", "data"]),
    ("app", &["app.ini", "data"]),
];

struct Cluster {
    dir: tempfile::TempDir,
    trk: Agent,
    app: Agent,
    /// hub (local on the master's machine) is configured.
    hub: bool,
}

impl Cluster {
    /// The agents run with `agent_env`; every component keeps `keep` older backups.
    fn new(hub: bool, keep: u32, agent_env: &[(&str, &str)]) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let timeout = "decision_timeout_seconds = 1";
        let trk = Agent::start(
            &dir.path().join("agent-one"),
            ("trk", "maestro-tracker", TRK_TOKEN),
            timeout,
            "127.0.0.1:0",
            agent_env,
        );
        let app = Agent::start(
            &dir.path().join("agent-two"),
            ("app", "custom", APP_TOKEN),
            timeout,
            "127.0.0.1:0",
            agent_env,
        );
        let hub_section = if hub {
            make_home(&dir.path().join("homes/hub"), "maestro-hub");
            format!(
                "[[components]]\nname = \"hub\"\nprofile = \"maestro-hub\"\nhome = \"homes/hub\"\nkeep = {keep}\n"
            )
        } else {
            String::new()
        };
        let text = format!(
            r#"{head}[schedule]
enabled = false
{hub_section}
[[components]]
name = "trk"
profile = "maestro-tracker"
agent = "{trk}"
keep = {keep}
[[components]]
name = "app"
profile = "custom"
agent = "{app}"
items = ["app.ini", "data/"]
keep = {keep}
"#,
            head = master_head(),
            trk = trk.addr,
            app = app.addr,
        );
        std::fs::write(dir.path().join("backup-master.toml"), text).unwrap();
        Cluster { dir, trk, app, hub }
    }

    fn master(&self, faults: &str) -> Server {
        Server::start(
            &self.dir.path().join("backup-master.toml"),
            self.dir.path(),
            &[
                ("BACKUP_MASTER_AGENT_TOKEN_TRK", TRK_TOKEN),
                ("BACKUP_MASTER_AGENT_TOKEN_APP", APP_TOKEN),
                ("BACKUP_MASTER_FAULTS", faults),
            ],
        )
    }

    fn names(&self) -> Vec<&'static str> {
        ITEMS
            .iter()
            .map(|(n, _)| *n)
            .filter(|n| self.hub || *n != "hub")
            .collect()
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn home(&self, name: &str) -> PathBuf {
        match name {
            "trk" => self.dir.path().join("agent-one/home"),
            "app" => self.dir.path().join("agent-two/home"),
            other => self.dir.path().join("homes").join(other),
        }
    }

    fn agent(&self, name: &str) -> &Agent {
        if name == "trk" {
            &self.trk
        } else {
            &self.app
        }
    }

    fn agent_mut(&mut self, name: &str) -> &mut Agent {
        if name == "trk" {
            &mut self.trk
        } else {
            &mut self.app
        }
    }

    /// (component, slot, backup ID) of every slot.
    fn all_slots(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for c in self.names() {
            let home = self.home(c);
            for s in slots(&home) {
                out.push((c.to_string(), s.clone(), readme_id(&home.join(&s))));
            }
        }
        out
    }

    fn stagings(&self) -> Vec<String> {
        self.names()
            .iter()
            .flat_map(|c| stagings(&self.home(c)))
            .collect()
    }

    fn safety_folders(&self) -> Vec<String> {
        self.names()
            .iter()
            .flat_map(|c| safety_folders(&self.home(c)))
            .collect()
    }

    /// The open transaction `id` of component `name` on its agent, if any.
    fn open_txn(&self, name: &str, id: &str) -> Option<Value> {
        self.agent(name)
            .open_transactions(token(name))
            .into_iter()
            .find(|t| t["component"] == name && t["id"] == id)
    }

    /// Waits until `id` is in doubt on the agent of `name`; returns it.
    fn wait_in_doubt(&self, name: &str, id: &str) -> Value {
        poll(
            &format!("{id} of {name} to be in doubt"),
            Duration::from_secs(20),
            || self.open_txn(name, id).filter(|t| t["state"] == "in_doubt"),
        )
    }

    /// Waits until neither agent has an open transaction.
    fn wait_agents_settled(&self) {
        poll("the agents to settle", Duration::from_secs(30), || {
            (self.trk.open_transactions(TRK_TOKEN).is_empty()
                && self.app.open_transactions(APP_TOKEN).is_empty())
            .then_some(())
        });
    }

    fn wait_paused(&self, step: &str) {
        let paused = self.state().join(format!("fault-paused-{step}"));
        poll(
            &format!("the master to pause at {step}"),
            Duration::from_secs(60),
            || paused.exists().then_some(()),
        );
    }

    fn resume(&self, step: &str) {
        std::fs::write(self.state().join(format!("fault-resume-{step}")), b"").unwrap();
    }

    /// item -> (relative path -> hash) of every component's items in its home.
    fn homes(&self) -> BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>> {
        self.names()
            .into_iter()
            .map(|n| (n.to_string(), items_of(&self.home(n), n)))
            .collect()
    }

    /// The same of the set `id` as its slots hold it.
    fn set_items(&self, id: &str) -> BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>> {
        self.names()
            .into_iter()
            .map(|n| {
                let folder = slot_of(self, n, id).expect("the set is in the slots");
                (n.to_string(), items_of(&folder, n))
            })
            .collect()
    }
}

fn token(name: &str) -> &'static str {
    if name == "trk" {
        TRK_TOKEN
    } else {
        APP_TOKEN
    }
}

fn backup(master: &Server, id: &str) -> Value {
    master.get_json(&format!("/api/v1/backups/{id}"), VIEWER)
}

fn restore(master: &Server, id: &str) -> Value {
    master.get_json(&format!("/api/v1/restores/{id}"), VIEWER)
}

fn slot0(c: &Cluster, name: &str) -> String {
    readme_id(&c.home(name).join("backup"))
}

/// The slot folder of component `name` holding backup `id`.
fn slot_of(c: &Cluster, name: &str, id: &str) -> Option<PathBuf> {
    let home = c.home(name);
    slots(&home)
        .into_iter()
        .map(|s| home.join(s))
        .find(|p| readme_id(p) == id)
}

/// item -> (relative path -> content hash) of component `name`'s items under `root`.
fn items_of(root: &Path, name: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let items = ITEMS.iter().find(|(c, _)| *c == name).unwrap().1;
    let mut out = BTreeMap::new();
    for item in items {
        let p = root.join(item);
        let snap = if p.is_dir() {
            snapshot(&p)
        } else if p.is_file() {
            let digest = Sha256::digest(std::fs::read(&p).unwrap());
            BTreeMap::from([(String::new(), hex::encode(digest))])
        } else {
            BTreeMap::new()
        };
        out.insert(item.to_string(), snap);
    }
    out
}

/// Changes every component's items a little, so a restore has work and a backup copies.
fn churn(c: &Cluster, round: usize) {
    for name in c.names() {
        let items = ITEMS.iter().find(|(n, _)| *n == name).unwrap().1;
        let dir = items[items.len() - 1];
        for f in 0..6 {
            write(
                &c.home(name).join(format!("{dir}/bulk/f{f:02}.dat")),
                format!("{name} {f} round {}\n", if f < 2 { round } else { 0 }).as_bytes(),
            );
        }
        write(
            &c.home(name).join(items[0]),
            format!("[{name}]\nround={round}\n").as_bytes(),
        );
    }
}

/// Every slot of every component verifies with `sha256sum -c`.
fn all_slots_verify(c: &Cluster) {
    for name in c.names() {
        for s in slots(&c.home(name)) {
            assert!(sha256sum_ok(&c.home(name).join(&s)), "{name}/{s}");
        }
    }
}

fn wait_idle(m: &Server) {
    poll("no job running", Duration::from_secs(90), || {
        let b = m.get_json("/api/v1/backups?status=running", VIEWER);
        let r = m.get_json("/api/v1/restores?status=running", VIEWER);
        (b["items"].as_array().unwrap().is_empty() && r["items"].as_array().unwrap().is_empty())
            .then_some(())
    });
}

/// Starts a restore of set `set` and returns its ID.
fn start_restore(m: &Server, set: &str) -> String {
    let r = post_restore(m, &json!({ "backup_id": set }));
    assert_eq!(r.status(), 202, "restore of {set}");
    r.json::<Value>().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A prepare of another backup of `name`, as a master would send it.
fn prepare_other(c: &Cluster, name: &str, id: &str) -> reqwest::blocking::Response {
    let body = if name == "trk" {
        json!({"profile": "maestro-tracker", "backup_folder": "backup", "keep": 2,
               "items": ["tracker.ini", "data/"]})
    } else {
        json!({"profile": "custom", "backup_folder": "backup", "keep": 2,
               "items": ["app.ini", "data/"]})
    };
    c.agent(name).post(
        &format!("/agent/v1/components/{name}/backups/{id}/prepare"),
        token(name),
        &body,
    )
}

/// (a) The master dies after its commit decision and after trk acknowledged; app's timeout
/// passes (in doubt, staging kept, other prepares refused); the restarted master commits app.
#[test]
fn a_decided_backup_is_committed_everywhere_after_the_master_returns() {
    let c = Cluster::new(true, 2, &[]);
    let m = c.master("");
    let first = run_backup(&m);
    assert_eq!(first["status"], "succeeded", "{first:#}");
    let first = first["id"].as_str().unwrap().to_string();
    drop(m);

    let mut m = c.master("abort_at:backup_first_commit");
    let id = start_backup(&m);
    wait_exit(&mut m.child, Duration::from_secs(60)).expect("the master aborts after trk's commit");
    drop(m);
    assert_eq!(slot0(&c, "trk"), id, "trk committed before the master died");
    assert_eq!(slot0(&c, "app"), first);
    assert_eq!(slot0(&c, "hub"), first);

    let t = c.wait_in_doubt("app", &id);
    assert!(t["participation"]["in_doubt_since"].is_string(), "{t:#}");
    assert!(t["participation"]["last_message_at"].is_string(), "{t:#}");
    assert_eq!(
        stagings(&c.home("app")).len(),
        1,
        "app keeps its staging folder"
    );
    let p = assert_problem(prepare_other(&c, "app", "29990101T000000Z"), 409);
    assert!(
        p["detail"].as_str().unwrap().contains(&id) && p["detail"].to_string().contains("in doubt"),
        "{p}"
    );
    assert_eq!(slot0(&c, "app"), first, "app never decides alone");

    let m = c.master("");
    let done = poll("the backup to end", Duration::from_secs(60), || {
        let r = backup(&m, &id);
        (r["status"] != "running").then_some(r)
    });
    assert_eq!(done["status"], "succeeded", "{done:#}");
    assert!(
        done["notes"].to_string().contains("rolled forward"),
        "{done:#}"
    );
    for name in c.names() {
        assert_eq!(slot0(&c, name), id, "{name}");
        assert_eq!(readme_id(&c.home(name).join("backup1")), first, "{name}");
        assert_eq!(component(&done, name)["status"], "committed", "{done:#}");
    }
    all_slots_verify(&c);
    poll("no staging left", Duration::from_secs(20), || {
        c.stagings().is_empty().then_some(())
    });
    c.wait_agents_settled();
    let set = m.get_json(&format!("/api/v1/backup-sets/{id}"), VIEWER);
    assert_eq!(set["complete"], true, "{set:#}");
    assert_eq!(set["committing"], false, "{set:#}");
}

/// (b) The master dies after every component prepared, before the decision; both agents go
/// in doubt; the restarted master aborts both (no decision on record: presumed abort).
#[test]
fn an_undecided_backup_is_aborted_everywhere_after_the_master_returns() {
    let c = Cluster::new(true, 2, &[]);
    let m = c.master("");
    assert_eq!(run_backup(&m)["status"], "succeeded");
    drop(m);
    let before = c.all_slots();

    let mut m = c.master("abort_at:backup_prepared");
    let id = start_backup(&m);
    wait_exit(&mut m.child, Duration::from_secs(60)).expect("the master aborts before deciding");
    drop(m);
    for name in ["trk", "app"] {
        c.wait_in_doubt(name, &id);
        assert_eq!(stagings(&c.home(name)).len(), 1, "{name} keeps its staging");
    }
    assert_eq!(c.all_slots(), before);

    let m = c.master("");
    let rec = backup(&m, &id);
    assert_eq!(rec["status"], "interrupted", "{rec:#}");
    assert_eq!(rec["commit_decided"], false, "{rec:#}");
    c.wait_agents_settled();
    for name in ["trk", "app"] {
        let v = c.agent(name).get_json(
            &format!("/agent/v1/components/{name}/backups/{id}"),
            token(name),
        );
        assert_eq!(v["state"], "aborted", "{v:#}");
    }
    assert_eq!(c.all_slots(), before, "no slot may change anywhere");
    poll("every staging removed", Duration::from_secs(20), || {
        c.stagings().is_empty().then_some(())
    });
}

/// Two sets S0, S1 on disk and the homes changed since: returns S1 and the homes now.
type Items = BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>>;

fn two_sets_and_changes(c: &Cluster) -> (String, Items) {
    let m = c.master("");
    churn(c, 1);
    assert_eq!(run_backup(&m)["status"], "succeeded");
    churn(c, 2);
    let s1 = run_backup(&m);
    assert_eq!(s1["status"], "succeeded", "{s1:#}");
    churn(c, 3);
    (s1["id"].as_str().unwrap().to_string(), c.homes())
}

/// (c) A restore decided and committed on trk when the master dies: app in doubt keeps its
/// restored items and safety copy; the restarted master completes it everywhere.
#[test]
fn a_decided_restore_is_completed_everywhere_after_the_master_returns() {
    let c = Cluster::new(true, 2, &[]);
    let (set, _) = two_sets_and_changes(&c);
    let want = c.set_items(&set);
    let mut m = c.master("abort_at:restore_first_commit");
    let rid = start_restore(&m, &set);
    wait_exit(&mut m.child, Duration::from_secs(60)).expect("the master aborts after trk's commit");
    drop(m);
    let t = c.wait_in_doubt("app", &rid);
    assert_eq!(t["kind"], "restore", "{t:#}");
    assert_eq!(
        items_of(&c.home("app"), "app"),
        want["app"],
        "app stays restored"
    );
    assert_eq!(
        safety_folders(&c.home("app")).len(),
        1,
        "app keeps its safety copy"
    );
    // One job per component: no backup of app while its restore waits.
    let p = assert_problem(prepare_other(&c, "app", "29990101T000000Z"), 409);
    assert!(p["detail"].as_str().unwrap().contains(&rid), "{p}");

    let m = c.master("");
    let rec = wait_restore(&m, &rid);
    assert_eq!(rec["status"], "succeeded", "{rec:#}");
    assert_eq!(c.homes(), want, "every home restored");
    // Every home, local or remote, keeps only this restore's safety folder (for an undo).
    for name in c.names() {
        assert_eq!(
            safety_folders(&c.home(name)),
            [format!(".pre-restore-{rid}")],
            "{name}"
        );
    }
    c.wait_agents_settled();
}

/// (c) A restore applied everywhere when the master dies before the decision: both agents in
/// doubt; the restarted master rolls everything back and says so.
#[test]
fn an_undecided_restore_is_rolled_back_everywhere_after_the_master_returns() {
    let c = Cluster::new(true, 2, &[]);
    let (set, before) = two_sets_and_changes(&c);
    let mut m = c.master("abort_at:restore_applied");
    let rid = start_restore(&m, &set);
    wait_exit(&mut m.child, Duration::from_secs(60)).expect("the master aborts before deciding");
    drop(m);
    for name in ["trk", "app"] {
        c.wait_in_doubt(name, &rid);
        assert_eq!(safety_folders(&c.home(name)).len(), 1, "{name}");
    }
    let m = c.master("");
    let rec = wait_restore(&m, &rid);
    assert_eq!(rec["status"], "interrupted", "{rec:#}");
    for name in c.names() {
        assert_eq!(component(&rec, name)["status"], "rolled_back", "{rec:#}");
    }
    assert_eq!(c.homes(), before, "every home exactly as before");
    assert!(c.safety_folders().is_empty(), "{:?}", c.safety_folders());
    c.wait_agents_settled();
}

/// (d) The master never comes back: the operator lists and commits on the agent still in
/// doubt (agent stopped), so every slot holds the new backup. A master that comes back after
/// all reports the operator's commit as a heuristic outcome matching its decision.
#[test]
fn an_operator_resolves_a_backup_for_a_master_that_is_gone() {
    let mut c = Cluster::new(false, 2, &[]);
    let m = c.master("");
    let first = run_backup(&m)["id"].as_str().unwrap().to_string();
    drop(m);
    let mut m = c.master("abort_at:backup_first_commit");
    let id = start_backup(&m);
    wait_exit(&mut m.child, Duration::from_secs(60)).expect("the master dies");
    drop(m);
    c.wait_in_doubt("app", &id);
    assert_eq!(slot0(&c, "trk"), id);
    assert_eq!(slot0(&c, "app"), first);

    let config = c.app.config.clone();
    // The list works while the agent runs, and says what is known.
    let (ok, out, err) = agent_resolve(&config, &["--list"]);
    assert!(ok, "{err}");
    assert!(out.contains(&format!("backup {id} of app")), "{out}");
    assert!(out.contains("IN DOUBT since"), "{out}");
    assert!(out.contains("the master's last message"), "{out}");
    assert!(out.contains("the agent is running"), "{out}");
    let (ok, json_out, err) = agent_resolve(&config, &["--list", "--json"]);
    assert!(ok, "{err}");
    let listed: Value = serde_json::from_str(&json_out).unwrap();
    assert_eq!(listed[0]["id"], id.as_str(), "{listed:#}");
    assert_eq!(listed[0]["state"], "in_doubt", "{listed:#}");
    // Deciding needs the agent stopped.
    let (ok, _, err) = agent_resolve(&config, &["--commit", &id]);
    assert!(!ok && err.contains("stop it first"), "{err}");
    // A backup cannot be rolled back, a restore not aborted.
    let (ok, _, err) = agent_resolve(&config, &["--rollback", &id]);
    assert!(!ok && err.contains("is a backup"), "{err}");

    c.app.kill9();
    let (ok, out, err) = agent_resolve(&config, &["--commit", &id]);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains(&format!("backup {id} of app: committed")),
        "{out}"
    );
    let (ok, out, _) = agent_resolve(&config, &["--list"]);
    assert!(ok && out.contains("no open backup or restore"), "{out}");
    c.app.restart(&[]);
    for name in c.names() {
        assert_eq!(slot0(&c, name), id, "{name}");
        assert_eq!(readme_id(&c.home(name).join("backup1")), first, "{name}");
    }
    assert!(c.stagings().is_empty(), "{:?}", c.stagings());
    let v = c
        .app
        .get_json(&format!("/agent/v1/components/app/backups/{id}"), APP_TOKEN);
    assert_eq!(v["state"], "committed", "{v:#}");
    assert_eq!(
        v["participation"]["operator"]["decision"], "commit",
        "{v:#}"
    );

    // The master comes back after all: its record reports the heuristic outcome.
    let m = c.master("");
    let done = poll("the backup to end", Duration::from_secs(60), || {
        let r = backup(&m, &id);
        (r["status"] != "running").then_some(r)
    });
    assert_eq!(done["status"], "succeeded", "{done:#}");
    let h = &done["heuristic"][0];
    assert_eq!(h["component"], "app", "{done:#}");
    assert_eq!(h["outcome"], "commit", "{done:#}");
    assert_eq!(h["mismatch"], false, "{done:#}");
    assert!(
        done["notes"]
            .to_string()
            .contains("an operator had already carried out commit"),
        "{done:#}"
    );
    for name in c.names() {
        assert_eq!(slot0(&c, name), id, "{name}");
    }
    all_slots_verify(&c);
}

/// (d) The master dies right after deciding to commit a restore; an operator rolls it back by
/// hand on both agents (the master is thought gone): the homes are as before. The master that
/// comes back flags the contradiction and, as nothing committed anywhere, rolls back too.
#[test]
fn an_operator_rolls_a_restore_back_and_a_returning_master_flags_the_mismatch() {
    let mut c = Cluster::new(false, 2, &[]);
    let (set, before) = two_sets_and_changes(&c);
    let mut m = c.master("abort_at:restore_decided");
    let rid = start_restore(&m, &set);
    wait_exit(&mut m.child, Duration::from_secs(60)).expect("the master dies after deciding");
    drop(m);
    for name in ["trk", "app"] {
        c.wait_in_doubt(name, &rid);
        let config = c.agent(name).config.clone();
        let (ok, out, err) = agent_resolve(&config, &["--list"]);
        assert!(
            ok && out.contains(&format!("restore {rid} of {name}")),
            "{out}{err}"
        );
        let (ok, _, err) = agent_resolve(&config, &["--abort", &rid]);
        assert!(!ok && err.contains("is a restore"), "{err}");
        c.agent_mut(name).kill9();
        let (ok, out, err) = agent_resolve(&config, &["--rollback", &rid]);
        assert!(ok, "{out}{err}");
        c.agent_mut(name).restart(&[]);
    }
    assert_eq!(c.homes(), before, "all as before");
    assert!(c.safety_folders().is_empty(), "{:?}", c.safety_folders());

    let m = c.master("");
    let rec = wait_restore(&m, &rid);
    assert_eq!(rec["status"], "failed", "{rec:#}");
    assert_eq!(
        rec["commit_decided"], false,
        "the decision was withdrawn: {rec:#}"
    );
    let heuristic = rec["heuristic"].as_array().unwrap();
    assert!(
        heuristic.iter().any(|h| h["mismatch"] == true
            && h["decision"] == "commit"
            && h["outcome"] == "rollback"),
        "{rec:#}"
    );
    assert!(
        rec["errors"]
            .to_string()
            .contains("contradicts the master's decision"),
        "{rec:#}"
    );
    for name in c.names() {
        assert_eq!(component(&rec, name)["status"], "rolled_back", "{rec:#}");
    }
    assert_eq!(c.homes(), before, "still all as before");
    c.wait_agents_settled();
}

/// (e) app's agent is down when the master comes back after deciding a restore: the record
/// stays `running` with a note naming that agent, holding the job lock; when the agent
/// returns, the restore completes everywhere.
#[test]
fn an_unreachable_agent_keeps_the_restore_running_until_it_returns() {
    let mut c = Cluster::new(true, 2, &[]);
    let (set, _) = two_sets_and_changes(&c);
    let want = c.set_items(&set);
    let mut m = c.master("abort_at:restore_decided");
    let rid = start_restore(&m, &set);
    wait_exit(&mut m.child, Duration::from_secs(60)).expect("the master dies after deciding");
    drop(m);
    c.app.kill9();

    let m = c.master("");
    let rec = poll(
        "the note naming app's agent",
        Duration::from_secs(30),
        || {
            let r = restore(&m, &rid);
            assert_eq!(r["status"], "running", "{r:#}");
            r["notes"]
                .to_string()
                .contains("app: its agent")
                .then_some(r)
        },
    );
    assert!(rec["notes"].to_string().contains(&c.app.addr), "{rec:#}");
    assert_eq!(component(&rec, "trk")["status"], "restored", "{rec:#}");
    let body = assert_problem(m.post("/api/v1/backups", OPERATOR, &json!({})), 409);
    assert!(body.to_string().contains(&rid), "{body}");
    // The old state of hub is kept until every agent committed.
    assert_eq!(safety_folders(&c.home("hub")).len(), 1);

    c.app.restart(&[]);
    let rec = wait_restore(&m, &rid);
    assert_eq!(rec["status"], "succeeded", "{rec:#}");
    assert_eq!(c.homes(), want, "every home restored");
    // Every home keeps only this restore's safety folder (for an undo).
    for name in c.names() {
        assert_eq!(
            safety_folders(&c.home(name)),
            [format!(".pre-restore-{rid}")],
            "{name}"
        );
    }
    let next = run_backup(&m);
    assert_eq!(next["status"], "succeeded", "the lock is free: {next:#}");
}

fn metric(m: &Server, name: &str) -> Option<f64> {
    let text = m.get("/metrics", VIEWER).text().unwrap();
    text.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// A hung master (paused before its decision: it does not renew) leaves both agents in doubt:
/// visible in the agents' status, in `GET /components` and in `/metrics`; a restore of an
/// agent's component is refused meanwhile (one job per component). The master then goes on
/// and commits: in doubt is only an alarm.
#[test]
fn in_doubt_is_visible_while_a_hung_master_does_not_renew_and_is_no_outcome() {
    let c = Cluster::new(true, 2, &[]);
    let m = c.master("pause_at:backup_prepared");
    let first = run_backup_paused(&c, &m);
    // First backup: resume it at once.
    assert_eq!(first["status"], "succeeded");
    let id = start_backup(&m);
    c.wait_paused("backup_prepared");
    for name in ["trk", "app"] {
        c.wait_in_doubt(name, &id);
    }
    let comps = poll(
        "GET /components to show both in doubt",
        Duration::from_secs(20),
        || {
            let list = m.get_json("/api/v1/components", VIEWER);
            let both = ["trk", "app"].iter().all(|n| {
                list.as_array()
                    .unwrap()
                    .iter()
                    .find(|x| x["name"] == *n)
                    .is_some_and(|x| {
                        x["in_doubt"].as_array().is_some_and(|a| {
                            a.iter().any(|t| {
                                t["id"] == id.as_str()
                                    && t["kind"] == "backup"
                                    && t["since"].is_string()
                            })
                        })
                    })
            });
            both.then_some(list)
        },
    );
    let hub = comps
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "hub")
        .unwrap();
    assert!(hub["in_doubt"].is_null(), "local: {hub:#}");
    poll("/metrics to count them", Duration::from_secs(30), || {
        (metric(
            &m,
            "backup_master_in_doubt_transactions{component=\"trk\",kind=\"backup\"}",
        ) == Some(1.0)
            && metric(
                &m,
                "backup_master_in_doubt_transactions{component=\"app\",kind=\"backup\"}",
            ) == Some(1.0))
        .then_some(())
    });
    // One job per component: a restore apply on trk is refused while its backup is open.
    let r = c.trk.post(
        "/agent/v1/components/trk/restores/R29990101T000000Z/apply",
        TRK_TOKEN,
        &json!({"profile": "maestro-tracker", "backup_folder": "backup",
                "items": ["tracker.ini", "data/"], "backup_id": first["id"], "slot": "backup"}),
    );
    let p = assert_problem(r, 409);
    assert!(p["detail"].as_str().unwrap().contains(&id), "{p}");

    c.resume("backup_prepared");
    let done = wait_backup(&m, &id);
    assert_eq!(done["status"], "succeeded", "{done:#}");
    for name in c.names() {
        assert_eq!(slot0(&c, name), id, "{name}");
    }
    let list = m.get_json("/api/v1/components", VIEWER);
    for x in list
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["location"] == "remote")
    {
        assert_eq!(x["in_doubt"], json!([]), "{x:#}");
    }
    poll("/metrics to clear", Duration::from_secs(60), || {
        (metric(&m, "backup_master_in_doubt_transactions{").is_none()).then_some(())
    });
}

/// Runs a backup on a master started with `pause_at:backup_prepared`, resuming at the pause.
fn run_backup_paused(c: &Cluster, m: &Server) -> Value {
    let id = start_backup(m);
    c.wait_paused("backup_prepared");
    c.resume("backup_prepared");
    let rec = wait_backup(m, &id);
    // The fault files of the first run are gone before the next one waits on them.
    for f in [
        "fault-paused-backup_prepared",
        "fault-resume-backup_prepared",
    ] {
        let _ = std::fs::remove_file(c.state().join(f));
    }
    rec
}

/// A local copy several times longer than the agents' decision timeout: the master renews the
/// prepared agents meanwhile, so neither is ever in doubt, and the backup succeeds.
#[test]
fn a_slow_local_component_never_makes_a_prepared_agent_doubt() {
    let c = Cluster::new(true, 2, &[]);
    for f in 0..24 {
        write(
            &c.home("hub").join(format!("accountreg/many/f{f:02}.dat")),
            format!("file {f}\n").as_bytes(),
        );
    }
    let m = c.master("slow_copy_ms:300");
    let t0 = Instant::now();
    let id = start_backup(&m);
    let mut prepared_seen = false;
    let rec = loop {
        for name in ["trk", "app"] {
            if let Some(t) = c.open_txn(name, &id) {
                assert_ne!(t["state"], "in_doubt", "renewed agents never doubt: {t:#}");
                prepared_seen |= t["state"] == "prepared";
            }
        }
        let r = backup(&m, &id);
        if r["status"] != "running" {
            break r;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "the backup did not end"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(rec["status"], "succeeded", "{rec:#}");
    assert!(prepared_seen, "the agents prepared long before hub");
    assert!(
        t0.elapsed() > Duration::from_secs(3),
        "hub's copy must outlast the 1 s timeout several times: {:?}",
        t0.elapsed()
    );
}

/// The commit keeps the oldest set complete until every component committed, and a set whose
/// commit waits is `committing`, not complete.
#[test]
fn the_oldest_set_stays_complete_while_a_commit_waits_and_the_new_one_is_committing() {
    let c = Cluster::new(true, 1, &[]);
    let m = c.master("pause_at:backup_first_commit");
    let mut ids = Vec::new();
    for _ in 0..2 {
        let id = start_backup(&m);
        c.wait_paused("backup_first_commit");
        c.resume("backup_first_commit");
        assert_eq!(wait_backup(&m, &id)["status"], "succeeded");
        for f in [
            "fault-paused-backup_first_commit",
            "fault-resume-backup_first_commit",
        ] {
            let _ = std::fs::remove_file(c.state().join(f));
        }
        ids.push(id);
    }
    let (s0, s1) = (ids[0].clone(), ids[1].clone());
    for name in c.names() {
        assert_eq!(slots(&c.home(name)), ["backup", "backup1"], "keep = 1");
    }
    let id = start_backup(&m);
    c.wait_paused("backup_first_commit");
    // trk committed keeping one slot more: S0 is still in every component.
    assert_eq!(slot0(&c, "trk"), id);
    assert_eq!(slots(&c.home("trk")), ["backup", "backup1", "backup2"]);
    assert_eq!(readme_id(&c.home("trk").join("backup2")), s0);
    assert_eq!(slot0(&c, "app"), s1);
    let sets = m.get_json("/api/v1/backup-sets", VIEWER);
    let of = |sid: &str| {
        sets["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == sid)
            .cloned()
            .unwrap_or_else(|| panic!("no set {sid} in {sets:#}"))
    };
    let new = of(&id);
    assert_eq!(new["committing"], true, "{new:#}");
    assert_eq!(new["complete"], false, "{new:#}");
    assert_eq!(new["successful"], false, "{new:#}");
    assert_eq!(
        of(&s0)["complete"],
        true,
        "the oldest set is still complete"
    );
    assert_eq!(of(&s1)["complete"], true);
    let latest = m.get_json("/api/v1/backup-sets?successful=true&latest=true", VIEWER);
    assert_eq!(latest["items"][0]["id"], s1.as_str(), "{latest:#}");

    c.resume("backup_first_commit");
    assert_eq!(wait_backup(&m, &id)["status"], "succeeded");
    for name in c.names() {
        assert_eq!(slots(&c.home(name)), ["backup", "backup1"], "{name}");
        assert_eq!(slot0(&c, name), id, "{name}");
        assert_eq!(readme_id(&c.home(name).join("backup1")), s1, "{name}");
    }
    let set = m.get_json(&format!("/api/v1/backup-sets/{id}"), VIEWER);
    assert_eq!(set["complete"], true, "{set:#}");
    assert_eq!(set["committing"], false, "{set:#}");
    let r = m.get(&format!("/api/v1/backup-sets/{s0}"), VIEWER);
    assert_eq!(r.status(), 404, "S0 left the history everywhere");
}

// ---- 20 kills at random instants, each followed by the agents' timeout ----

/// Backup invariants after a kill: final, every component's newest slot holds the same backup
/// (the killed one exactly when it succeeded), every slot verifies, no staging left anywhere.
fn check_backup(c: &Cluster, m: &Server, id: &str) -> String {
    let rec = backup(m, id);
    let status = rec["status"].as_str().unwrap().to_string();
    assert!(
        ["succeeded", "interrupted", "failed"].contains(&status.as_str()),
        "{rec:#}"
    );
    let newest: Vec<String> = c.names().iter().map(|n| slot0(c, n)).collect();
    assert!(
        newest.windows(2).all(|w| w[0] == w[1]),
        "mixed outcome: newest slots {newest:?} after {rec:#}"
    );
    if status == "succeeded" {
        assert_eq!(newest[0], id, "{rec:#}");
    } else {
        assert_ne!(newest[0], id, "{rec:#}");
    }
    all_slots_verify(c);
    poll("no staging left", Duration::from_secs(30), || {
        c.stagings().is_empty().then_some(())
    });
    status
}

/// Restore invariants: final, and every component either restored from the set (succeeded)
/// or exactly as before: never a mix; its safety folders kept only when it succeeded.
fn check_restore(c: &Cluster, m: &Server, rid: &str, set: &Items, pre: &Items) -> String {
    let rec = restore(m, rid);
    let status = rec["status"].as_str().unwrap().to_string();
    assert!(
        ["succeeded", "interrupted", "failed"].contains(&status.as_str()),
        "{rec:#}"
    );
    let want = if status == "succeeded" { set } else { pre };
    assert_eq!(&c.homes(), want, "after restore {rid} ({status}): {rec:#}");
    let own = format!(".pre-restore-{rid}");
    poll(
        "only kept safety folders left",
        Duration::from_secs(30),
        || {
            c.names()
                .iter()
                .all(|n| {
                    let folders = safety_folders(&c.home(n));
                    let leftover = folders.iter().any(|f| f.starts_with(&own) && f != &own);
                    folders.contains(&own) == (status == "succeeded") && !leftover
                })
                .then_some(())
        },
    );
    status
}

#[test]
fn kill_9_at_20_random_points_with_agents_in_doubt_never_mixes_the_outcome() {
    let slow = [("BACKUP_MASTER_FAULTS", "slow_copy_ms:3,restore_slow_ms:3")];
    let c = Cluster::new(true, 2, &slow);
    let faults = "slow_copy_ms:3,restore_slow_ms:3";
    let mut rng = crash_rng();

    churn(&c, 0);
    let m = c.master(faults);
    let t0 = Instant::now();
    assert_eq!(run_backup(&m)["status"], "succeeded");
    let backup_time = t0.elapsed();
    churn(&c, 1);
    let set = run_backup(&m);
    assert_eq!(set["status"], "succeeded");
    churn(&c, 2);
    let t0 = Instant::now();
    let r = run_restore(&m, &json!({ "backup_id": set["id"] }));
    assert_eq!(r["status"], "succeeded", "{r:#}");
    let restore_time = t0.elapsed();
    drop(m);

    let mut outcomes = Vec::new();
    for round in 0..20 {
        churn(&c, round + 10);
        let mut m = c.master(faults);
        let is_backup = round % 2 == 0;
        let (what, id, limit, expect) = if is_backup {
            ("backup", start_backup(&m), backup_time, None)
        } else {
            // The newest set every component still has in its slots.
            let hub = c.home("hub");
            let sid = slots(&hub)
                .into_iter()
                .map(|s| readme_id(&hub.join(s)))
                .find(|id| c.names().iter().all(|n| slot_of(&c, n, id).is_some()))
                .expect("a complete set in the slots");
            let (set, pre) = (c.set_items(&sid), c.homes());
            (
                "restore",
                start_restore(&m, &sid),
                restore_time,
                Some((set, pre)),
            )
        };
        let max = (limit.as_millis() as u64 * 13 / 10).max(20);
        let wait = rng.gen_range(0..max);
        std::thread::sleep(Duration::from_millis(wait));
        m.kill9();
        drop(m);
        // The agents' timeout passes: whatever they hold open goes in doubt, and stays.
        let mut doubted = 0;
        poll(
            "open transactions to be in doubt",
            Duration::from_secs(30),
            || {
                let open: Vec<Value> = ["trk", "app"]
                    .iter()
                    .flat_map(|n| c.agent(n).open_transactions(token(n)))
                    .collect();
                doubted = open.len();
                open.iter().all(|t| t["state"] == "in_doubt").then_some(())
            },
        );

        let m = c.master("");
        wait_idle(&m);
        let status = match &expect {
            None => check_backup(&c, &m, &id),
            Some((set, pre)) => check_restore(&c, &m, &id, set, pre),
        };
        c.wait_agents_settled();
        outcomes.push(format!(
            "{what} killed at {wait} ms ({doubted} in doubt): {status}"
        ));
    }
    eprintln!("{outcomes:#?}");
    assert!(
        outcomes.iter().any(|o| !o.ends_with("succeeded")),
        "no kill landed inside a job"
    );
    assert!(
        outcomes.iter().any(|o| !o.contains("(0 in doubt)")),
        "no kill left an agent in doubt"
    );
}

/// The alarm measures the master's silence: a prepared backup goes in doubt after the
/// timeout, reading it (a viewer's GET) changes nothing, the master's renewal ends the alarm,
/// and an abort in doubt removes the staging folder. Agent calls only.
#[test]
fn a_renewal_ends_the_alarm_and_reading_does_not() {
    let c = Cluster::new(false, 2, &[]);
    let id = "29990101T000000Z";
    let r = prepare_other(&c, "trk", id);
    assert_eq!(r.status(), 202);
    let path = format!("/agent/v1/components/trk/backups/{id}");
    c.wait_in_doubt("trk", id);
    let v = c.trk.get_json(&path, TRK_TOKEN);
    assert_eq!(
        v["state"], "in_doubt",
        "a GET is no message from the master: {v:#}"
    );
    assert_eq!(v["decision_timeout_seconds"], 1, "{v:#}");
    let r = c
        .trk
        .post(&format!("{path}/renew"), TRK_TOKEN, &json!(null));
    assert_eq!(r.status(), 200);
    let v: Value = r.json().unwrap();
    assert_eq!(v["state"], "prepared", "{v:#}");
    assert!(v["participation"]["in_doubt_since"].is_null(), "{v:#}");
    // Silence again: in doubt again; the staging folder stays throughout.
    c.wait_in_doubt("trk", id);
    assert_eq!(stagings(&c.home("trk")).len(), 1);
    let r = c.trk.post(
        &format!("{path}/abort"),
        TRK_TOKEN,
        &json!({"profile": "maestro-tracker", "backup_folder": "backup", "keep": 2,
                "items": ["tracker.ini", "data/"]}),
    );
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().unwrap()["state"], "aborted");
    assert!(stagings(&c.home("trk")).is_empty());
    assert!(c.trk.open_transactions(TRK_TOKEN).is_empty());
}
