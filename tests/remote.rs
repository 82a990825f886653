//! Remote components (README): a master and two agents, all real processes on loopback
//! ports, with fake homes. A full backup cycle across local and remote components; an agent
//! killed during prepare (the set fails, no slot changes anywhere); an agent that dies after
//! the commit decision and comes back (the master retries until the set completes); a wrong
//! token (a clean error naming the component); an agent down when the master starts; a
//! restore across local and remote components, and one whose remote apply fails (everything,
//! local and remote, put back); an applied restore kept across an agent restart until the
//! master decides; a master killed mid-restore that waits for an agent down at its restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

const TRK_TOKEN: &str = "agent-one-token-for-tests";
const LUI_TOKEN: &str = "agent-two-token-for-tests";

/// hub local; trk on agent one (token from a file); lui on agent two (token from the environment).
struct Cluster {
    dir: tempfile::TempDir,
    trk: Agent,
    lui: Agent,
}

impl Cluster {
    fn new(trk_env: &[(&str, &str)], lui_env: &[(&str, &str)]) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let a1 = dir.path().join("agent-one");
        let a2 = dir.path().join("agent-two");
        std::fs::create_dir_all(&a1).unwrap();
        std::fs::create_dir_all(&a2).unwrap();
        let timeout = "decision_timeout_seconds = 3600";
        let trk = Agent::start(
            &a1,
            ("trk", "maestro-tracker", TRK_TOKEN),
            timeout,
            "127.0.0.1:0",
            trk_env,
        );
        let lui = Agent::start(
            &a2,
            ("lui", "maestro-lui", LUI_TOKEN),
            timeout,
            "127.0.0.1:0",
            lui_env,
        );
        make_home(&dir.path().join("homes/hub"), "maestro-hub");
        let c = Cluster { dir, trk, lui };
        c.write_master_config(TRK_TOKEN);
        c
    }

    fn write_master_config(&self, trk_token: &str) {
        write(
            &self.dir.path().join("secrets/trk.token"),
            trk_token.as_bytes(),
        );
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
agent = "{trk}"
agent_token_file = "secrets/trk.token"
backup_folder = "backup"
keep = 2
[[components]]
name = "lui"
profile = "maestro-lui"
agent = "{lui}"
keep = 2
"#,
            head = master_head(),
            trk = self.trk.addr,
            lui = self.lui.addr,
        );
        std::fs::write(self.dir.path().join("backup-master.toml"), text).unwrap();
    }

    fn master(&self) -> Server {
        Server::start(
            &self.dir.path().join("backup-master.toml"),
            self.dir.path(),
            &[("BACKUP_MASTER_AGENT_TOKEN_LUI", LUI_TOKEN)],
        )
    }

    fn home(&self, name: &str) -> PathBuf {
        match name {
            "trk" => self.dir.path().join("agent-one/home"),
            "lui" => self.dir.path().join("agent-two/home"),
            other => self.dir.path().join("homes").join(other),
        }
    }

    /// (slot name, backup ID) of every slot of every component.
    fn all_slots(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for c in ["hub", "trk", "lui"] {
            let home = self.home(c);
            for s in slots(&home) {
                out.push((c.to_string(), s.clone(), readme_id(&home.join(&s))));
            }
        }
        out
    }

    fn stagings(&self) -> Vec<String> {
        ["hub", "trk", "lui"]
            .iter()
            .flat_map(|c| stagings(&self.home(c)))
            .collect()
    }
}

fn component<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no component {name} in {list}"))
}

fn errors_of(rec: &Value) -> String {
    rec.to_string()
}

#[test]
fn full_backup_cycle_across_local_and_remote_components() {
    let c = Cluster::new(&[], &[]);
    let master = c.master();
    let list = master.get_json("/api/v1/components", VIEWER);
    for name in ["trk", "lui"] {
        let v = component(&list, name);
        assert_eq!(v["location"], "remote", "{v}");
        assert_eq!(v["reachable"], true, "{v}");
        assert_eq!(v["agent_version"], env!("CARGO_PKG_VERSION"), "{v}");
        assert!(v["agent_error"].is_null(), "{v}");
    }
    assert!(component(&list, "hub")["reachable"].is_null());
    // The token never appears in the API.
    assert!(!list.to_string().contains(TRK_TOKEN) && !list.to_string().contains(LUI_TOKEN));

    let first = run_backup(&master);
    assert_eq!(first["status"], "succeeded", "{first:#}");
    let id1 = first["id"].as_str().unwrap().to_string();
    for name in ["hub", "trk", "lui"] {
        let slot = c.home(name).join("backup");
        assert_eq!(readme_id(&slot), id1, "{name}");
        assert!(sha256sum_ok(&slot), "{name}");
    }
    // Only the profile's items travelled into the remote backup.
    assert!(c.home("trk").join("backup/data/events.dat").is_file());
    assert!(!c.home("trk").join("backup/logs").exists());
    let report = master
        .get(&format!("/api/v1/backups/{id1}/report"), VIEWER)
        .text()
        .unwrap();
    assert!(
        report.contains("The backup was completed successfully"),
        "{report}"
    );

    // Second backup: every component rotates, remote ones on their own machine.
    write(&c.home("trk").join("data/new.dat"), b"new");
    let second = run_backup(&master);
    assert_eq!(second["status"], "succeeded", "{second:#}");
    let id2 = second["id"].as_str().unwrap().to_string();
    for name in ["hub", "trk", "lui"] {
        assert_eq!(readme_id(&c.home(name).join("backup")), id2, "{name}");
        assert_eq!(readme_id(&c.home(name).join("backup1")), id1, "{name}");
    }
    assert!(c.home("trk").join("backup/data/new.dat").is_file());
    // History of a remote component comes from its agent.
    let h = master.get_json("/api/v1/components/trk/history", VIEWER);
    let ids: Vec<_> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["backup_id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(id2), json!(id1)], "{h}");
    assert!(c.stagings().is_empty());

    // The agent documents its own API.
    let doc: Value = reqwest::blocking::get(format!("{}/api-docs/openapi.json", c.trk.addr))
        .unwrap()
        .json()
        .unwrap();
    assert!(doc["paths"]["/agent/v1/components/{name}/backups/{id}/commit"]["post"].is_object());
}

#[test]
fn agent_killed_during_prepare_fails_the_set_and_changes_no_slot() {
    let mut c = Cluster::new(&[("BACKUP_MASTER_FAULTS", "slow_copy_ms:40")], &[]);
    for i in 0..80 {
        write(
            &c.home("trk").join(format!("data/bulk/f{i}.dat")),
            format!("{i}").as_bytes(),
        );
    }
    let master = c.master();
    let first = run_backup(&master);
    assert_eq!(first["status"], "succeeded", "{first:#}");
    let before = c.all_slots();

    // New files so the next prepare copies slowly again.
    for i in 0..80 {
        write(
            &c.home("trk").join(format!("data/bulk/f{i}.dat")),
            format!("changed {i}").as_bytes(),
        );
    }
    let id = start_backup(&master);
    poll(
        "a staging folder on the agent",
        Duration::from_secs(20),
        || (!stagings(&c.home("trk")).is_empty()).then_some(()),
    );
    c.trk.kill9();
    let rec = wait_backup(&master, &id);
    assert_eq!(rec["status"], "failed", "{rec:#}");
    let trk = rec["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "trk")
        .unwrap();
    assert_eq!(trk["status"], "failed", "{rec:#}");
    assert!(errors_of(trk).contains("agent"), "{trk:#}");
    assert_eq!(rec["commit_decided"], false);
    assert_eq!(c.all_slots(), before, "no slot may change anywhere");
    assert!(stagings(&c.home("hub")).is_empty() && stagings(&c.home("lui")).is_empty());

    // The agent comes back: it removes its half-written staging folder by itself, and the
    // next backup works.
    c.trk.restart(&[]);
    poll("the agent to clean up", Duration::from_secs(20), || {
        stagings(&c.home("trk")).is_empty().then_some(())
    });
    assert_eq!(c.all_slots(), before);
    let next = run_backup(&master);
    assert_eq!(next["status"], "succeeded", "{next:#}");
}

#[test]
fn agent_dying_after_the_commit_decision_is_rolled_forward() {
    let mut c = Cluster::new(&[], &[("BACKUP_MASTER_AGENT_FAULTS", "abort_on_commit")]);
    let master = c.master();
    let id = start_backup(&master);
    // The lui agent dies when the commit arrives; the master keeps retrying and says so.
    let rec = poll(
        "the master to wait for lui's commit",
        Duration::from_secs(30),
        || {
            let r = master.get_json(&format!("/api/v1/backups/{id}"), VIEWER);
            assert_ne!(r["status"], "failed", "{r:#}");
            (r["notes"].to_string().contains("did not acknowledge")).then_some(r)
        },
    );
    assert_eq!(rec["status"], "running", "{rec:#}");
    assert_eq!(rec["commit_decided"], true);
    assert!(
        c.lui.child.try_wait().unwrap().is_some(),
        "the lui agent should have died"
    );
    c.lui.restart(&[]);
    let done = wait_backup(&master, &id);
    assert_eq!(done["status"], "succeeded", "{done:#}");
    assert!(
        done["notes"]
            .to_string()
            .contains("acknowledged the commit"),
        "{done:#}"
    );
    for name in ["hub", "trk", "lui"] {
        let slot = c.home(name).join("backup");
        assert_eq!(readme_id(&slot), id, "{name}");
        assert!(sha256sum_ok(&slot), "{name}");
    }
    assert!(c.stagings().is_empty());
}

#[test]
fn wrong_token_is_a_clean_error_naming_the_component() {
    let c = Cluster::new(&[], &[]);
    c.write_master_config("not-the-agents-token");
    let master = c.master();
    let list = master.get_json("/api/v1/components", VIEWER);
    let trk = component(&list, "trk");
    assert_eq!(trk["reachable"], true, "{trk}");
    assert!(
        trk["agent_error"].as_str().unwrap().contains("token"),
        "{trk}"
    );
    assert!(!list.to_string().contains("not-the-agents-token"));
    let rec = run_backup(&master);
    assert_eq!(rec["status"], "failed", "{rec:#}");
    let t = rec["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "trk")
        .unwrap();
    let err = t["errors"].to_string();
    assert!(err.contains("token for component trk"), "{err}");
    assert!(!rec.to_string().contains("not-the-agents-token"));
    assert!(c.all_slots().is_empty(), "no slot anywhere");
    assert!(c.stagings().is_empty());
}

#[test]
fn agent_down_at_master_start_is_reported_and_backups_fail_until_it_is_back() {
    let mut c = Cluster::new(&[], &[]);
    c.trk.kill9();
    let master = c.master();
    let list = master.get_json("/api/v1/components", VIEWER);
    let trk = component(&list, "trk");
    assert_eq!(trk["reachable"], false, "{trk}");
    assert!(
        trk["agent_error"].as_str().unwrap().contains("unreachable"),
        "{trk}"
    );
    assert_eq!(component(&list, "lui")["reachable"], true);
    let t0 = Instant::now();
    let rec = run_backup(&master);
    assert_eq!(rec["status"], "failed", "{rec:#}");
    assert!(t0.elapsed() < Duration::from_secs(30));
    assert!(rec.to_string().contains("unreachable"), "{rec:#}");
    assert!(c.all_slots().is_empty() && c.stagings().is_empty());

    c.trk.restart(&[]);
    let list = master.get_json("/api/v1/components", VIEWER);
    assert_eq!(component(&list, "trk")["reachable"], true);
    let rec = run_backup(&master);
    assert_eq!(rec["status"], "succeeded", "{rec:#}");
}

#[test]
fn config_refuses_home_and_agent_together_and_a_missing_token() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("h")).unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[tokens]]\nrole = \"admin\"\nsha256 = \"{}\"\n\
             [[components]]\nname = \"a\"\nprofile = \"maestro-hub\"\nhome = \"h\"\nagent = \"http://127.0.0.1:1\"\n\
             [[components]]\nname = \"b\"\nprofile = \"maestro-hub\"\nagent = \"ftp://x\"\n",
            sha(ADMIN)
        ),
    )
    .unwrap();
    let out = Command::new(bin())
        .args(["serve", "--config"])
        .arg(&cfg)
        .env_remove("BACKUP_MASTER_AGENT_TOKEN_B")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("components[0].agent") && err.contains("not both"),
        "{err}"
    );
    assert!(
        err.contains("components[1].agent:") && err.contains("http://"),
        "{err}"
    );
    assert!(
        err.contains("components[1].agent_token_file")
            && err.contains("BACKUP_MASTER_AGENT_TOKEN_B"),
        "{err}"
    );
}

/// Starts a verification of set `id`; polls it until it ends; returns the record.
fn verify_set(master: &Server, id: &str) -> Value {
    let r = master.post(
        &format!("/api/v1/backup-sets/{id}/verify"),
        OPERATOR,
        &json!({}),
    );
    assert_eq!(r.status(), 202, "verify {id}");
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    poll("verification to end", Duration::from_secs(60), || {
        let v = master.get_json(&loc, VIEWER);
        (v["status"] != "running").then_some(v)
    })
}

fn folder_of<'a>(list: &'a Value, component: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|f| f["component"] == component)
        .unwrap_or_else(|| panic!("no folder of {component} in {list}"))
}

#[test]
fn backup_sets_list_remote_folders_and_verify_them_through_the_agent() {
    let mut c = Cluster::new(&[], &[]);
    let master = c.master();
    let first = run_backup(&master);
    assert_eq!(first["status"], "succeeded", "{first:#}");
    let id = first["id"].as_str().unwrap().to_string();

    // The set holds the local folder and the agents' folders, and is complete.
    let list = master.get_json("/api/v1/backup-sets", VIEWER);
    assert_eq!(list["problems"], json!([]), "{list:#}");
    let set = &list["items"][0];
    assert_eq!(set["id"], id, "{list:#}");
    assert_eq!(set["complete"], true, "{set:#}");
    assert_eq!(set["successful"], true, "{set:#}");
    assert_eq!(set["missing"], json!([]), "{set:#}");
    let names: Vec<_> = set["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["component"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["hub", "trk", "lui"], "config order");
    let hub = folder_of(&set["components"], "hub");
    assert!(hub["agent"].is_null(), "{hub}");
    for (name, agent, dir) in [
        ("trk", &c.trk.addr, "agent-one/home/backup"),
        ("lui", &c.lui.addr, "agent-two/home/backup"),
    ] {
        let f = folder_of(&set["components"], name);
        assert_eq!(f["source"], "slot", "{f}");
        assert_eq!(f["slot"], "backup", "{f}");
        assert_eq!(f["agent"], json!(agent), "{f}");
        assert_eq!(f["result"], "success", "{f}");
        assert!(f["folder"].as_str().unwrap().ends_with(dir), "{f}");
        assert!(f["started"].is_string() && f["problem"].is_null(), "{f}");
    }
    // The token never appears.
    assert!(!list.to_string().contains(TRK_TOKEN) && !list.to_string().contains(LUI_TOKEN));
    let latest = master.get_json("/api/v1/backup-sets?latest=true&successful=true", VIEWER);
    assert_eq!(latest["items"][0]["id"], id, "{latest:#}");

    // Verification goes through the agents and passes.
    let v = verify_set(&master, &id);
    assert_eq!(v["status"], "passed", "{v:#}");
    assert_eq!(v["folders"].as_array().unwrap().len(), 3, "{v:#}");
    let trk = folder_of(&v["folders"], "trk");
    assert!(trk["files_checked"].as_u64().unwrap() > 0, "{trk}");
    assert!(v["files_checked"].as_u64().unwrap() >= trk["files_checked"].as_u64().unwrap());

    // A flipped byte in a remote slot is found by the agent.
    let victim = c.home("trk").join("backup/data/events.dat");
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&victim, &bytes).unwrap();
    let v = verify_set(&master, &id);
    assert_eq!(v["status"], "failed", "{v:#}");
    let trk = folder_of(&v["folders"], "trk");
    assert_eq!(trk["ok"], false, "{trk}");
    assert_eq!(trk["changed"], json!(["data/events.dat"]), "{trk}");
    assert_eq!(folder_of(&v["folders"], "lui")["ok"], true, "{v:#}");
    assert_eq!(folder_of(&v["folders"], "hub")["ok"], true, "{v:#}");
    let set = master.get_json(&format!("/api/v1/backup-sets/{id}"), VIEWER);
    assert_eq!(set["last_verification"]["status"], "failed", "{set:#}");

    // An agent that is down: its folders are missing, the list says why, never a 500.
    c.lui.kill9();
    let list = master.get_json("/api/v1/backup-sets", VIEWER);
    let set = &list["items"][0];
    assert_eq!(set["id"], id, "{list:#}");
    assert_eq!(set["complete"], false, "{set:#}");
    assert_eq!(set["successful"], false, "{set:#}");
    assert_eq!(set["missing"], json!(["lui"]), "{set:#}");
    let problems = list["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{list:#}");
    assert_eq!(problems[0]["component"], "lui");
    let why = problems[0]["problem"].as_str().unwrap();
    assert!(why.contains(&c.lui.addr), "{why}");
    assert!(!list.to_string().contains(LUI_TOKEN));
    let v = verify_set(&master, &id);
    assert_eq!(v["missing_components"], json!(["lui"]), "{v:#}");

    // A restore needs every chosen component's folder, verified: lui's agent is down (its
    // folder is missing from the set) and trk's slot no longer verifies; hub alone is planned.
    let r = post_restore(&master, &json!({"backup_id": id, "dry_run": true}));
    let p = assert_problem(r, 422);
    assert!(p.to_string().contains("lui"), "{p:#}");
    let r = post_restore(
        &master,
        &json!({"backup_id": id, "dry_run": true, "components": ["hub", "trk"]}),
    );
    let p = assert_problem(r, 422);
    assert!(p.to_string().contains("events.dat"), "{p:#}");
    let r = post_restore(
        &master,
        &json!({"backup_id": id, "dry_run": true, "components": ["hub"]}),
    );
    assert_eq!(r.status(), 200, "dry run of hub alone");
}

const ITEMS: [(&str, &[&str]); 3] = [
    ("hub", &["hub.ini", "accountreg", "hubreg"]),
    ("trk", &["tracker.ini", "data"]),
    ("lui", &["lui.ini", "luidata", "registry"]),
];

/// Damages every home: a deleted folder, a modified file, a stray file inside an item.
fn damage(c: &Cluster) {
    let hub = c.home("hub");
    std::fs::remove_dir_all(hub.join("hubreg")).unwrap();
    write(&hub.join("hub.ini"), b"[Hub]\nPort=1\n");
    write(&hub.join("accountreg/stray.txt"), b"stray");
    let trk = c.home("trk");
    std::fs::remove_dir_all(trk.join("data/sub dir")).unwrap();
    write(&trk.join("tracker.ini"), b"[Tracker]\nbroken\n");
    write(&trk.join("data/stray.dat"), b"stray");
    let lui = c.home("lui");
    std::fs::remove_dir_all(lui.join("registry")).unwrap();
    write(&lui.join("luidata/db/jobs.ibd"), b"corrupted");
    write(&lui.join("luidata/recipients/stray.csv"), b"stray");
}

/// Every home as a whole (content of every file, folders, links).
fn homes(c: &Cluster) -> Vec<std::collections::BTreeMap<String, String>> {
    ["hub", "trk", "lui"]
        .iter()
        .map(|n| snapshot(&c.home(n)))
        .collect()
}

#[test]
fn restore_across_local_and_remote_components_puts_back_the_set_exactly() {
    let c = Cluster::new(&[], &[]);
    let master = c.master();
    let first = run_backup(&master);
    assert_eq!(first["status"], "succeeded", "{first:#}");
    // Data changes on both sides, then the set to restore.
    write(&c.home("hub").join("hubreg/new.reg"), b"new hub data");
    write(&c.home("trk").join("data/new.dat"), b"new tracker data");
    write(&c.home("lui").join("luidata/db/more.ibd"), b"new lui data");
    write(
        &c.home("lui").join("lui.ini"),
        b"[LUI]\nDatabase=internal\nPort=2\n",
    );
    let second = run_backup(&master);
    assert_eq!(second["status"], "succeeded", "{second:#}");
    let id = second["id"].as_str().unwrap().to_string();
    let backups: Vec<_> = ["hub", "trk", "lui"]
        .iter()
        .map(|n| snapshot(&c.home(n).join("backup")))
        .collect();
    damage(&c);
    let damaged = homes(&c);

    // A dry run: every component planned (the remote ones by their agents), nothing changed.
    let r = post_restore(&master, &json!({"backup_id": id, "dry_run": true}));
    assert_eq!(r.status(), 200, "dry run");
    let plan: Value = r.json().unwrap();
    assert_eq!(plan["status"], "planned", "{plan:#}");
    for (name, agent) in [
        ("hub", None),
        ("trk", Some(&c.trk.addr)),
        ("lui", Some(&c.lui.addr)),
    ] {
        let p = component(&plan["components"], name);
        assert_eq!(p["agent"].as_str(), agent.map(String::as_str), "{p:#}");
        assert!(!p["copy"].as_array().unwrap().is_empty(), "{p:#}");
        assert!(
            p["home"].as_str().unwrap().ends_with(match name {
                "trk" => "agent-one/home",
                "lui" => "agent-two/home",
                _ => "homes/hub",
            }),
            "{p:#}"
        );
    }
    let lui_backup = c.home("lui").join("backup");
    let line = format!("RestoreFromBackup={}", lui_backup.display());
    assert_eq!(
        component(&plan["components"], "lui")["edit"][0]["append"],
        json!(line),
        "{plan:#}"
    );
    assert_eq!(
        plan["verification"].as_array().unwrap().len(),
        3,
        "{plan:#}"
    );
    assert_eq!(homes(&c), damaged, "a dry run changes nothing");

    // The restore: every item is the backup's again, on both sides.
    let rec = run_restore(&master, &json!({"backup_id": id}));
    assert_eq!(rec["status"], "succeeded", "{rec:#}");
    assert_eq!(rec["errors"], json!([]), "{rec:#}");
    for name in ["hub", "trk", "lui"] {
        assert_eq!(
            component(&rec["components"], name)["status"],
            "restored",
            "{rec:#}"
        );
    }
    for ((name, items), backup) in ITEMS.iter().zip(&backups) {
        let home = c.home(name);
        for item in *items {
            let restored = home.join(item);
            if *item == "lui.ini" {
                let mut want = std::fs::read(lui_backup.join(item)).unwrap();
                want.extend_from_slice(format!("{line}\n").as_bytes());
                assert_eq!(std::fs::read(&restored).unwrap(), want, "lui.ini");
            } else if restored.is_dir() {
                let want: std::collections::BTreeMap<_, _> = backup
                    .iter()
                    .filter_map(|(k, v)| {
                        k.strip_prefix(&format!("{item}/"))
                            .map(|r| (r.to_string(), v.clone()))
                    })
                    .collect();
                assert!(!want.is_empty(), "{name}/{item}");
                assert_eq!(snapshot(&restored), want, "{name}/{item}");
            } else {
                assert_eq!(
                    std::fs::read(&restored).unwrap(),
                    std::fs::read(home.join("backup").join(item)).unwrap(),
                    "{name}/{item}"
                );
            }
        }
        // Outside the items nothing moved; each home, local or remote, keeps only this
        // restore's safety folder (for an undo), counted in the restore's kept bytes.
        assert!(home.join("logs/outside.log").is_file(), "{name}");
        assert_eq!(
            safety_folders(&home),
            [format!(".pre-restore-{}", rec["id"].as_str().unwrap())],
            "{name}"
        );
        assert!(
            component(&rec["components"], name)["safety_copy"]["bytes"]
                .as_u64()
                .unwrap()
                > 0,
            "{name}: {rec:#}"
        );
        // Backups are never modified.
        for slot in ["backup", "backup1"] {
            assert!(sha256sum_ok(&home.join(slot)), "{name}/{slot}");
        }
        assert_eq!(&snapshot(&home.join("backup")), backup, "{name}");
    }
    assert!(c.home("hub").join("hubreg/new.reg").is_file());
    assert!(c.home("trk").join("data/new.dat").is_file());
    assert!(!c.home("trk").join("data/stray.dat").exists());
    assert!(!c.home("lui").join("luidata/recipients/stray.csv").exists());
    let text = rec.to_string();
    assert!(!text.contains(TRK_TOKEN) && !text.contains(LUI_TOKEN));
    // The set still verifies, through the agents.
    let v = verify_set(&master, &id);
    assert_eq!(v["status"], "passed", "{v:#}");
}

#[test]
fn a_failed_remote_apply_puts_every_component_back_exactly() {
    // The lui agent (applied last) fails right after applying: hub (local) and trk (remote,
    // applied and waiting for the decision) must be rolled back too.
    let c = Cluster::new(&[], &[("BACKUP_MASTER_FAULTS", "restore_fail_after:lui")]);
    let master = c.master();
    let first = run_backup(&master);
    assert_eq!(first["status"], "succeeded", "{first:#}");
    let id = first["id"].as_str().unwrap().to_string();
    damage(&c);
    let before = homes(&c);
    let rec = run_restore(&master, &json!({"backup_id": id}));
    assert_eq!(rec["status"], "failed", "{rec:#}");
    assert_eq!(rec["commit_decided"], false, "{rec:#}");
    assert!(
        rec["errors"].to_string().contains("restore_fail_after:lui"),
        "{rec:#}"
    );
    for name in ["hub", "trk", "lui"] {
        assert_eq!(
            component(&rec["components"], name)["status"],
            "rolled_back",
            "{rec:#}"
        );
    }
    assert_eq!(homes(&c), before, "every home must be exactly as before");
    for name in ["hub", "trk", "lui"] {
        assert!(safety_folders(&c.home(name)).is_empty(), "{name}");
        assert!(sha256sum_ok(&c.home(name).join("backup")), "{name}");
    }
}

/// Calls a restore step on the trk agent directly, as the master would.
fn trk_step(c: &Cluster, id: &str, step: &str, body: &Value) -> reqwest::blocking::Response {
    reqwest::blocking::Client::new()
        .post(format!(
            "{}/agent/v1/components/trk/restores/{id}/{step}",
            c.trk.addr
        ))
        .bearer_auth(TRK_TOKEN)
        .json(body)
        .send()
        .unwrap()
}

/// Calls a backup step on the trk agent directly, as the master would.
fn trk_backup_step(c: &Cluster, id: &str, step: &str) -> reqwest::blocking::Response {
    reqwest::blocking::Client::new()
        .post(format!(
            "{}/agent/v1/components/trk/backups/{id}/{step}",
            c.trk.addr
        ))
        .bearer_auth(TRK_TOKEN)
        .json(
            &json!({"profile": "maestro-tracker", "backup_folder": "backup", "keep": 2,
                      "items": ["tracker.ini", "data/"]}),
        )
        .send()
        .unwrap()
}

/// An applied restore voted yes: the agent never rolls it back by itself, also not when it
/// restarts (issue 22). It keeps the restored items and the safety copy, holds the component
/// (no other restore, no backup of it meanwhile) and waits for the master's decision.
#[test]
fn an_agent_restarted_after_applying_keeps_the_restore_until_the_master_decides() {
    let mut c = Cluster::new(&[], &[]);
    let master = c.master();
    let first = run_backup(&master);
    assert_eq!(first["status"], "succeeded", "{first:#}");
    let backup_id = first["id"].as_str().unwrap().to_string();
    damage(&c);
    let before = snapshot(&c.home("trk"));
    let id = "R20261126T101500Z";
    let body = json!({
        "profile": "maestro-tracker", "backup_folder": "backup",
        "items": ["tracker.ini", "data/"], "backup_id": backup_id, "slot": "backup"
    });
    // The plan changes nothing; the apply restores and waits for the decision.
    let r = trk_step(&c, id, "plan", &body);
    assert_eq!(r.status(), 200);
    assert_eq!(snapshot(&c.home("trk")), before);
    let r = trk_step(&c, id, "apply", &body);
    assert_eq!(r.status(), 200);
    let rec: Value = r.json().unwrap();
    assert_eq!(rec["status"], "running", "{rec:#}");
    assert_eq!(rec["components"][0]["status"], "applied", "{rec:#}");
    let restored = snapshot(&c.home("trk"));
    assert_eq!(
        std::fs::read(c.home("trk").join("tracker.ini")).unwrap(),
        std::fs::read(c.home("trk").join("backup/tracker.ini")).unwrap()
    );
    assert_eq!(safety_folders(&c.home("trk")).len(), 1);
    // One job per component: another restore, or a backup of it, is refused naming it.
    let r = trk_step(&c, "R20261126T101501Z", "apply", &body);
    let p = assert_problem(r, 409);
    assert!(p["detail"].as_str().unwrap().contains(id), "{p}");
    let p = assert_problem(trk_backup_step(&c, "20261126T101600Z", "prepare"), 409);
    assert!(p["detail"].as_str().unwrap().contains(id), "{p}");

    // Killed before any decision: at start-up it keeps the restore applied (it voted yes).
    c.trk.restart(&[]);
    assert_eq!(
        snapshot(&c.home("trk")),
        restored,
        "nothing may change by itself"
    );
    let listed: Value = reqwest::blocking::Client::new()
        .get(format!("{}/agent/v1/components", c.trk.addr))
        .bearer_auth(TRK_TOKEN)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let open = listed["transactions"].as_array().unwrap();
    assert_eq!(open.len(), 1, "{listed:#}");
    assert_eq!(open[0]["kind"], "restore");
    assert_eq!(open[0]["id"], id);
    assert_eq!(open[0]["state"], "applied");
    let p = assert_problem(trk_backup_step(&c, "20261126T101600Z", "prepare"), 409);
    assert!(p["detail"].as_str().unwrap().contains(id), "{p}");
    // The master's rollback puts everything back; a commit is refused afterwards; the
    // rollback is idempotent.
    let r = trk_step(&c, id, "rollback", &json!(null));
    assert_eq!(r.status(), 200);
    let rec: Value = r.json().unwrap();
    assert_eq!(rec["status"], "failed", "{rec:#}");
    assert_eq!(
        snapshot(&c.home("trk")),
        before,
        "the home must be as before"
    );
    let r = trk_step(&c, id, "commit", &json!(null));
    assert_eq!(r.status(), 409);
    let r = trk_step(&c, id, "rollback", &json!(null));
    assert_eq!(r.status(), 200);
    assert_eq!(snapshot(&c.home("trk")), before);
    // The component is free again.
    let r = trk_backup_step(&c, "20261126T101600Z", "prepare");
    assert_eq!(r.status(), 202);
}

#[test]
fn master_killed_mid_restore_rolls_remote_components_back_at_start_up() {
    // lui's agent applies slowly, so the master can be killed while hub and trk are applied
    // and lui is being applied.
    let mut c = Cluster::new(&[], &[("BACKUP_MASTER_FAULTS", "restore_slow_ms:300")]);
    let mut master = c.master();
    let first = run_backup(&master);
    assert_eq!(first["status"], "succeeded", "{first:#}");
    let backup_id = first["id"].as_str().unwrap().to_string();
    damage(&c);
    let before = homes(&c);
    let r = post_restore(&master, &json!({"backup_id": backup_id}));
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    poll("lui to be applying", Duration::from_secs(20), || {
        let r = master.get_json(&format!("/api/v1/restores/{id}"), VIEWER);
        (component(&r["components"], "lui")["status"] == "applying").then_some(())
    });
    master.kill9();
    // trk's agent is down when the master starts again: start-up does not wait for it, and
    // the restore stays running (holding the job lock, a note naming the agent) until trk's
    // agent acknowledges its rollback: it never rolls back by itself (issue 22).
    c.trk.kill9();
    let master = c.master();
    let rec = poll(
        "the note naming trk's agent",
        Duration::from_secs(30),
        || {
            let r = master.get_json(&format!("/api/v1/restores/{id}"), VIEWER);
            assert_eq!(r["status"], "running", "{r:#}");
            let notes = r["notes"].to_string();
            (notes.contains("trk: its agent") && notes.contains("did not acknowledge the rollback"))
                .then_some(r)
        },
    );
    assert!(
        rec["notes"].to_string().contains(&c.trk.addr),
        "names the agent: {rec:#}"
    );
    let body = assert_problem(master.post("/api/v1/backups", OPERATOR, &json!({})), 409);
    assert!(body.to_string().contains(&id), "{body}");
    // The trk agent comes back with its part still applied: the master rolls it back.
    c.trk.restart(&[]);
    let rec = wait_restore(&master, &id);
    assert_eq!(rec["status"], "interrupted", "{rec:#}");
    for name in ["hub", "trk", "lui"] {
        assert_eq!(
            component(&rec["components"], name)["status"],
            "rolled_back",
            "{rec:#}"
        );
    }
    assert_eq!(homes(&c), before, "every home must be exactly as before");
    for name in ["hub", "trk", "lui"] {
        assert!(safety_folders(&c.home(name)).is_empty(), "{name}");
    }
}
