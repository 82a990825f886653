//! Crash recovery with agents never reverses a decision (issue 21): real master and agent
//! processes on loopback ports, fake homes, fault points and kill -9 of the master.
//!
//! * Agent R1 commits, agent R2 refuses the master's token: the set can only be completed, so
//!   the master keeps the backup running and retries; killed, and restarted with the token
//!   fixed, it completes the set everywhere.
//! * Agent R1 refuses before anything committed: the master withdraws the decision on disk
//!   before it aborts anything; killed during that abort and restarted with the token fixed, it
//!   finishes the abort everywhere, and no slot changed anywhere.
//! * 30 kills at random instants of backups and restores across local and remote components:
//!   no mixed outcome, no original lost, every after-backup hook exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use rand::Rng;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const TRK_TOKEN: &str = "crash-agent-one-token";
const APP_TOKEN: &str = "crash-agent-two-token";
const WRONG_TOKEN: &str = "a-token-the-master-does-not-have";

/// Every component with its items: hub local, trk on agent one (R1), app on agent two (R2).
const ITEMS: [(&str, &[&str]); 3] = [
    ("hub", &["hub.ini", "accountreg", "hubreg"]),
    ("trk", &["tracker.ini", "data"]),
    ("app", &["app.ini", "data"]),
];

struct Cluster {
    dir: tempfile::TempDir,
    trk: Agent,
    app: Agent,
    hooks_log: PathBuf,
}

impl Cluster {
    /// The agents run with `agent_env` (e.g. slow copies).
    fn new(agent_env: &[(&str, &str)]) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let timeout = "decision_timeout_seconds = 3600";
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
        make_home(&dir.path().join("homes/hub"), "maestro-hub");
        let hooks_log = dir.path().join("hooks.log");
        let hook = dir.path().join("hook.sh");
        std::fs::write(
            &hook,
            format!(
                "#!/bin/sh\necho \"$BACKUP_ID $BACKUP_RESULT\" >> {}\n",
                hooks_log.display()
            ),
        )
        .unwrap();
        let ok = std::process::Command::new("chmod")
            .arg("755")
            .arg(&hook)
            .status()
            .unwrap();
        assert!(ok.success());
        let text = format!(
            r#"{head}[schedule]
enabled = false
[hooks]
on_success = "{hook}"
on_failure = "{hook}"
timeout_seconds = 600
[[components]]
name = "hub"
profile = "maestro-hub"
home = "homes/hub"
keep = 2
[[components]]
name = "trk"
profile = "maestro-tracker"
agent = "{trk}"
keep = 2
[[components]]
name = "app"
profile = "custom"
agent = "{app}"
items = ["app.ini", "data/"]
keep = 2
"#,
            head = master_head(),
            hook = hook.display(),
            trk = trk.addr,
            app = app.addr,
        );
        std::fs::write(dir.path().join("backup-master.toml"), text).unwrap();
        Cluster {
            dir,
            trk,
            app,
            hooks_log,
        }
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

    /// (component, slot, backup ID) of every slot.
    fn all_slots(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for (c, _) in ITEMS {
            let home = self.home(c);
            for s in slots(&home) {
                out.push((c.to_string(), s.clone(), readme_id(&home.join(&s))));
            }
        }
        out
    }

    fn stagings(&self) -> Vec<String> {
        ITEMS
            .iter()
            .flat_map(|(c, _)| stagings(&self.home(c)))
            .collect()
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
}

/// Makes `agent` accept only `token` from now on (its config rewritten, the agent restarted on
/// the same address; prepared transactions survive the restart).
fn accept_token(agent: &mut Agent, token: &str) {
    let text = std::fs::read_to_string(&agent.config).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("sha256 = "))
        .unwrap()
        .to_string();
    let text = text.replace(&line, &format!("sha256 = \"{}\"", sha(token)));
    std::fs::write(&agent.config, text).unwrap();
    agent.restart(&[]);
}

fn backup(master: &Server, id: &str) -> Value {
    master.get_json(&format!("/api/v1/backups/{id}"), VIEWER)
}

fn slot0(c: &Cluster, name: &str) -> String {
    readme_id(&c.home(name).join("backup"))
}

/// (2) R1 (trk) commits, R2 (app) answers 401: abandoning is no longer possible, so the backup
/// stays running (the job lock held) and the master retries. Killed, and restarted with the
/// token fixed, the master completes the set: one consistent outcome everywhere.
#[test]
fn r2_refusing_after_r1_committed_is_completed_after_a_restart_with_the_token_fixed() {
    let mut c = Cluster::new(&[]);
    let m = c.master("");
    let first = run_backup(&m);
    assert_eq!(first["status"], "succeeded", "{first:#}");
    let first = first["id"].as_str().unwrap().to_string();
    drop(m);

    let mut m = c.master("pause_at:backup_committing");
    let id = start_backup(&m);
    c.wait_paused("backup_committing");
    accept_token(&mut c.app, WRONG_TOKEN);
    c.resume("backup_committing");
    let rec = poll("app's refusal to be noted", Duration::from_secs(60), || {
        let r = backup(&m, &id);
        r["notes"]
            .to_string()
            .contains("app: the commit was decided but the agent refused it")
            .then_some(r)
    });
    assert_eq!(rec["status"], "running", "{rec:#}");
    assert_eq!(rec["commit_decided"], true, "{rec:#}");
    assert_eq!(component(&rec, "trk")["status"], "committed", "{rec:#}");
    assert_eq!(slot0(&c, "trk"), id, "R1 rotated");
    assert_eq!(slot0(&c, "app"), first);
    let body = assert_problem(m.post("/api/v1/backups", OPERATOR, &json!({})), 409);
    assert_eq!(body["running_id"], id.as_str(), "{body}");
    m.kill9();
    drop(m);

    accept_token(&mut c.app, APP_TOKEN);
    let m = c.master("");
    let done = poll("the completed backup", Duration::from_secs(60), || {
        let r = backup(&m, &id);
        (r["status"] != "running").then_some(r)
    });
    assert_eq!(done["status"], "succeeded", "{done:#}");
    assert!(
        done["notes"].to_string().contains("rolled forward"),
        "{done:#}"
    );
    for (name, _) in ITEMS {
        let home = c.home(name);
        assert_eq!(readme_id(&home.join("backup")), id, "{name}");
        assert_eq!(readme_id(&home.join("backup1")), first, "{name}");
        assert!(sha256sum_ok(&home.join("backup")), "{name}");
    }
    poll("no staging left", Duration::from_secs(20), || {
        c.stagings().is_empty().then_some(())
    });
}

/// (2) R1 (trk) answers 401 before any component committed: the set is abandoned, and the
/// withdrawn decision is on disk before the first component is aborted. A kill -9 after that
/// first abort, then a restart with the token fixed: recovery finishes the abort everywhere
/// (a recommit would rotate the agents while hub's staging is gone), and no slot changed.
#[test]
fn a_refusal_before_any_commit_is_recorded_before_the_abort_and_finished_as_an_abort() {
    let mut c = Cluster::new(&[]);
    let m = c.master("");
    let first = run_backup(&m);
    assert_eq!(first["status"], "succeeded", "{first:#}");
    drop(m);
    let before = c.all_slots();

    let mut m = c.master("pause_at:backup_committing,abort_at:backup_abort");
    let id = start_backup(&m);
    c.wait_paused("backup_committing");
    accept_token(&mut c.trk, WRONG_TOKEN);
    c.resume("backup_committing");
    wait_exit(&mut m.child, Duration::from_secs(60)).expect("the master aborts after hub's abort");
    drop(m);
    let on_disk: Value = serde_json::from_slice(
        &std::fs::read(c.state().join(format!("jobs/backups/{id}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(on_disk["commit_decided"], false, "{on_disk:#}");
    assert_eq!(on_disk["status"], "running", "{on_disk:#}");
    assert!(
        component(&on_disk, "trk")["errors"]
            .to_string()
            .contains("commit refused"),
        "{on_disk:#}"
    );
    assert!(stagings(&c.home("hub")).is_empty(), "hub was aborted");
    assert_eq!(c.stagings().len(), 2, "the agents' stagings wait");
    assert_eq!(c.all_slots(), before);

    accept_token(&mut c.trk, TRK_TOKEN);
    let m = c.master("");
    let rec = backup(&m, &id);
    assert_eq!(rec["status"], "interrupted", "{rec:#}");
    assert!(
        rec["errors"].to_string().contains("refused the commit"),
        "{rec:#}"
    );
    assert_eq!(c.all_slots(), before, "no slot may change anywhere");
    poll("every staging removed", Duration::from_secs(20), || {
        c.stagings().is_empty().then_some(())
    });
    let next = run_backup(&m);
    assert_eq!(next["status"], "succeeded", "{next:#}");
}

/// (7) An agent that stopped while it deleted the retired safety folder of a committed restore
/// deletes it when it starts again (the folder is named in that restore's record).
#[test]
fn an_agent_restarted_during_the_deletion_of_a_retired_safety_folder_finishes_it() {
    let mut c = Cluster::new(&[]);
    let m = c.master("");
    let b = run_backup(&m);
    assert_eq!(b["status"], "succeeded", "{b:#}");
    // The first restore of trk keeps its safety folder on the agent (for an undo).
    let first = run_restore(&m, &json!({ "backup_id": b["id"], "components": ["trk"] }));
    assert_eq!(first["status"], "succeeded", "{first:#}");
    let first = first["id"].as_str().unwrap().to_string();
    assert_eq!(
        safety_folders(&c.home("trk")),
        [format!(".pre-restore-{first}")]
    );
    // The agent dies for real right after the second restore's commit renamed the first one's
    // kept folder to the retired name (discarding it), before deleting it.
    c.trk
        .restart(&[("BACKUP_MASTER_FAULTS", "abort_at:restore_retired")]);
    let r = post_restore(&m, &json!({ "backup_id": b["id"], "components": ["trk"] }));
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    poll("the agent to abort", Duration::from_secs(60), || {
        c.trk.child.try_wait().unwrap().map(|_| ())
    });
    let home = c.home("trk");
    let retired: Vec<PathBuf> = std::fs::read_dir(&home)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".retired"))
        .collect();
    assert_eq!(retired.len(), 1, "one retired safety folder: {retired:?}");
    let retired = &retired[0];
    // As left by a crash in the middle of its deletion: part of it is gone already.
    let first = std::fs::read_dir(retired)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    if first.is_dir() {
        std::fs::remove_dir_all(&first).unwrap();
    } else {
        std::fs::remove_file(&first).unwrap();
    }
    c.trk.restart(&[]);
    assert!(!retired.exists(), "the agent leaked {}", retired.display());
    // The master's commit, retried, meets the restore committed on the restarted agent.
    let rec = wait_restore(&m, &id);
    assert_eq!(rec["status"], "succeeded", "{rec:#}");
    // Only the second restore's kept folder is left.
    assert_eq!(safety_folders(&home), [format!(".pre-restore-{id}")]);
}

// ---- 30 kills at random instants ----

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

/// The slot folder of component `name` holding backup `id`.
fn slot_of(c: &Cluster, name: &str, id: &str) -> Option<PathBuf> {
    let home = c.home(name);
    slots(&home)
        .into_iter()
        .map(|s| home.join(s))
        .find(|p| readme_id(p) == id)
}

/// Some files more, and a change of a few, so backups copy and restores have work.
fn churn(c: &Cluster, round: usize) {
    for (name, items) in ITEMS {
        let dir = items[items.len() - 1];
        for f in 0..12 {
            write(
                &c.home(name).join(format!("{dir}/bulk/f{f:02}.dat")),
                format!("{name} {f} round {}\n", if f < 3 { round } else { 0 }).as_bytes(),
            );
        }
        let ini = items[0];
        write(
            &c.home(name).join(ini),
            format!("[{name}]\nround={round}\n").as_bytes(),
        );
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

/// Backup invariants: final, every component's newest slot holds the same backup (the killed
/// one exactly when it succeeded), every slot verifies, no staging left anywhere.
fn check_backup(c: &Cluster, m: &Server, id: &str) -> String {
    let rec = backup(m, id);
    let status = rec["status"].as_str().unwrap().to_string();
    assert!(
        ["succeeded", "interrupted", "failed"].contains(&status.as_str()),
        "{rec:#}"
    );
    assert!(
        rec["kept_stagings"].as_array().unwrap().is_empty(),
        "{rec:#}"
    );
    let newest: Vec<String> = ITEMS.iter().map(|(n, _)| slot0(c, n)).collect();
    assert!(
        newest.windows(2).all(|w| w[0] == w[1]),
        "mixed outcome: newest slots {newest:?} after {rec:#}"
    );
    if status == "succeeded" {
        assert_eq!(newest[0], id, "{rec:#}");
    } else {
        assert_ne!(newest[0], id, "{rec:#}");
    }
    for (name, _) in ITEMS {
        for s in slots(&c.home(name)) {
            assert!(sha256sum_ok(&c.home(name).join(&s)), "{name}/{s}");
        }
    }
    poll("no staging left", Duration::from_secs(30), || {
        c.stagings().is_empty().then_some(())
    });
    status
}

/// Restore invariants: final, and every component either restored from the set (succeeded) or
/// exactly as before (any other outcome): never a mix, no original lost, its safety folders kept
/// only when it succeeded.
fn check_restore(
    c: &Cluster,
    m: &Server,
    rid: &str,
    set: &BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>>,
    pre: &BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>>,
) -> String {
    let rec = m.get_json(&format!("/api/v1/restores/{rid}"), VIEWER);
    let status = rec["status"].as_str().unwrap().to_string();
    assert!(
        ["succeeded", "interrupted", "failed"].contains(&status.as_str()),
        "{rec:#}"
    );
    let want = if status == "succeeded" { set } else { pre };
    for (name, _) in ITEMS {
        assert_eq!(
            &items_of(&c.home(name), name),
            want.get(name).unwrap(),
            "{name} after restore {rid} ({status}): {rec:#}"
        );
    }
    // A succeeded restore keeps its safety folder in every home (for an undo); any other
    // outcome leaves none of its own.
    let own = format!(".pre-restore-{rid}");
    poll(
        "only kept safety folders left",
        Duration::from_secs(30),
        || {
            ITEMS
                .iter()
                .all(|(n, _)| {
                    let folders = safety_folders(&c.home(n));
                    let kept = folders.contains(&own);
                    let leftover = folders.iter().any(|f| f.starts_with(&own) && f != &own);
                    (kept == (status == "succeeded")) && !leftover
                })
                .then_some(())
        },
    );
    status
}

#[test]
fn kill_9_at_30_random_points_of_backups_and_restores_with_agents() {
    let slow = [("BACKUP_MASTER_FAULTS", "slow_copy_ms:4,restore_slow_ms:4")];
    let c = Cluster::new(&slow);
    let faults = "slow_copy_ms:4,restore_slow_ms:4";
    let mut rng = crash_rng();

    // How long one backup and one restore take here: kills land in 0..1.3 times that.
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
    for round in 0..30 {
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
                .find(|id| ITEMS.iter().all(|(n, _)| slot_of(&c, n, id).is_some()))
                .expect("a complete set in the slots");
            let mut set = BTreeMap::new();
            let mut pre = BTreeMap::new();
            for (n, _) in ITEMS {
                let folder = slot_of(&c, n, &sid).expect("the set is in the slots");
                set.insert(n.to_string(), items_of(&folder, n));
                pre.insert(n.to_string(), items_of(&c.home(n), n));
            }
            let r = post_restore(&m, &json!({ "backup_id": sid }));
            assert_eq!(r.status(), 202, "restore of {sid}");
            let rid = r.json::<Value>().unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string();
            ("restore", rid, restore_time, Some((set, pre)))
        };
        let max = (limit.as_millis() as u64 * 13 / 10).max(20);
        let wait = rng.gen_range(0..max);
        std::thread::sleep(Duration::from_millis(wait));
        m.kill9();
        drop(m);

        let m = c.master("");
        wait_idle(&m);
        let status = match &expect {
            None => check_backup(&c, &m, &id),
            Some((set, pre)) => check_restore(&c, &m, &id, set, pre),
        };
        outcomes.push(format!("{what} killed at {wait} ms: {status}"));
    }
    eprintln!("{outcomes:#?}");
    assert!(
        outcomes.iter().any(|o| !o.ends_with("succeeded")),
        "no kill landed inside a job"
    );

    // Every after-backup hook exactly once, with the backup's result.
    let m = c.master("");
    wait_idle(&m);
    let all = m.get_json("/api/v1/backups?limit=500", VIEWER);
    let finals: Vec<(String, String)> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["id"].as_str().unwrap().to_string(),
                b["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    poll("every owed hook to run", Duration::from_secs(30), || {
        let procs = m.get_json("/api/v1/hook-processes", VIEWER);
        let log = std::fs::read_to_string(&c.hooks_log).unwrap_or_default();
        (procs.as_array().unwrap().is_empty() && log.lines().count() >= finals.len()).then_some(())
    });
    let log = std::fs::read_to_string(&c.hooks_log).unwrap();
    for (id, status) in &finals {
        let runs: Vec<&str> = log
            .lines()
            .filter(|l| l.split(' ').next() == Some(id.as_str()))
            .collect();
        let result = if status == "succeeded" {
            "success"
        } else {
            "failure"
        };
        assert_eq!(
            runs,
            [format!("{id} {result}")],
            "the hook of backup {id} ({status}) must run exactly once; hooks.log:\n{log}"
        );
    }
    assert_eq!(log.lines().count(), finals.len(), "{log}");
}
