//! Off-site copies of sets with a component on an agent (real master, real agent on loopback,
//! a real S3 protocol server): the agent uploads its own component's blobs with the keys the
//! master sends per call, the master writes the manifest once every component's blobs are
//! there; an unchanged file is not uploaded again; a fresh master restores both components
//! exactly from the bucket alone; an unreachable agent fails the replication naming it, with
//! no manifest; a cancel stops the agent's upload; the keys appear in no response and no log
//! line of the agent.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const TOKEN: &str = "agent-token-for-replication-tests";
const ACCESS: &str = "AKIAAGENTREPLACCESS7";
const SECRET: &str = "agentReplSecret/MustNeverShow+99";

/// A master with `hub` local and `trk` on an agent, and target `offsite` on `bucket`.
struct Site {
    dir: tempfile::TempDir,
    agent: Agent,
    s3: Arc<S3Server>,
    bucket: String,
}

/// Starts the agent of `root` (its `agent.toml` exists) on `listen`, its log (debug) in
/// `<root>/agent.log`.
fn spawn_agent(root: &Path, listen: &str) -> Agent {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(root.join("agent.log"))
        .unwrap();
    let mut cmd = Command::new(bin());
    cmd.arg("agent")
        .arg("--config")
        .arg(root.join("agent.toml"))
        .arg("--listen")
        .arg(listen)
        .env("BACKUP_MASTER_LOG", "debug")
        .stderr(Stdio::from(log));
    let (child, addr, _) = spawn_listening(cmd, "backup-master agent listening on ");
    Agent {
        child,
        addr,
        config: root.join("agent.toml"),
    }
}

fn site(bucket: &str, target_more: &str) -> Site {
    let s3 = S3Server::shared();
    s3.create_bucket(bucket, false);
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("agent");
    std::fs::create_dir_all(&a).unwrap();
    make_home(&a.join("home"), "maestro-tracker");
    std::fs::write(
        a.join("agent.toml"),
        format!(
            "listen = \"127.0.0.1:0\"\nstate_dir = \"agent-state\"\n\
             [[tokens]]\nrole = \"admin\"\nsha256 = \"{}\"\n\
             [[components]]\nname = \"trk\"\nprofile = \"maestro-tracker\"\nhome = \"home\"\n",
            sha(TOKEN)
        ),
    )
    .unwrap();
    let agent = spawn_agent(&a, "127.0.0.1:0");
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
[[components]]
name = "hub"
profile = "maestro-hub"
home = "homes/hub"
keep = 1
[[replication_targets]]
name = "offsite"
endpoint = "{endpoint}"
bucket = "{bucket}"
prefix = "site-a"
path_style = true
{target_more}
"#,
        head = master_head(),
        addr = agent.addr,
        endpoint = s3.endpoint,
    );
    std::fs::write(dir.path().join("backup-master.toml"), text).unwrap();
    Site {
        dir,
        agent,
        s3,
        bucket: bucket.to_string(),
    }
}

impl Site {
    fn start(&self) -> Server {
        Server::start(
            &self.dir.path().join("backup-master.toml"),
            self.dir.path(),
            &[
                ("BACKUP_MASTER_S3_OFFSITE_ACCESS_KEY", ACCESS),
                ("BACKUP_MASTER_S3_OFFSITE_SECRET_KEY", SECRET),
            ],
        )
    }

    fn agent_root(&self) -> PathBuf {
        self.dir.path().join("agent")
    }

    fn agent_log(&self) -> String {
        std::fs::read_to_string(self.agent_root().join("agent.log")).unwrap_or_default()
    }

    fn objects(&self) -> BTreeMap<String, u64> {
        self.s3.objects(&self.bucket)
    }

    /// The blobs on the bucket: hash -> size.
    fn blobs(&self) -> BTreeMap<String, u64> {
        self.objects()
            .into_iter()
            .filter_map(|(k, size)| {
                let rest = k.strip_prefix("site-a/blobs/")?;
                Some((rest.split('/').nth(1)?.to_string(), size))
            })
            .collect()
    }

    fn manifest(&self, id: &str) -> Value {
        serde_json::from_slice(&self.s3.get(&self.bucket, &format!("site-a/sets/{id}.json")))
            .unwrap()
    }

    fn has_manifest(&self, id: &str) -> bool {
        self.objects()
            .contains_key(&format!("site-a/sets/{id}.json"))
    }
}

fn start_replication(server: &Server, body: &Value) -> String {
    let r = server.post(
        "/api/v1/replication-targets/offsite/replicate",
        OPERATOR,
        body,
    );
    let status = r.status();
    let rec: Value = r.json().unwrap();
    assert_eq!(status, 202, "start replication: {rec}");
    assert_eq!(rec["status"], "running");
    rec["id"].as_str().unwrap().to_string()
}

fn replicate(server: &Server, body: &Value) -> Value {
    let id = start_replication(server, body);
    wait_replication(server, &id)
}

/// The files of one component of a manifest: path -> sha256.
fn files_of(m: &Value, component: &str) -> BTreeMap<String, String> {
    let c = m["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == component)
        .unwrap_or_else(|| panic!("no component {component} in {m}"));
    c["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| {
            Some((
                e["path"].as_str()?.to_string(),
                e["sha256"].as_str()?.to_string(),
            ))
        })
        .collect()
}

fn assert_no_keys(what: &str, text: &str) {
    assert!(
        !text.contains(ACCESS) && !text.contains(SECRET),
        "a key shows in {what}: {text}"
    );
}

#[test]
fn a_set_with_a_remote_component_replicates_and_unchanged_files_are_not_uploaded_again() {
    let site = site("agents-copy", "");
    let server = site.start();
    let first = run_backup(&server)["id"].as_str().unwrap().to_string();

    let rec = replicate(&server, &json!({"backup_id": first}));
    assert_eq!(rec["status"], "succeeded", "{rec}");
    assert_no_keys("the replication record", &rec.to_string());
    let m = site.manifest(&first);
    let names: Vec<&str> = m["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        names.contains(&"trk") && names.contains(&"hub"),
        "{names:?}"
    );
    // trk's part is its slot on the agent's machine, hash for hash.
    let trk_slot = site.agent_root().join("home/backup");
    assert_eq!(readme_id(&trk_slot), first);
    let trk = files_of(&m, "trk");
    for (path, sha) in &trk {
        let bytes = std::fs::read(trk_slot.join(path)).unwrap();
        assert_eq!(&sha2_hex(&bytes), sha, "trk/{path}");
    }
    assert!(trk.contains_key("tracker.ini") && trk.contains_key("data/sub dir/links.dat"));
    // Every blob the manifest names is on the bucket with its size.
    let blobs = site.blobs();
    for sha in trk.values().chain(files_of(&m, "hub").values()) {
        assert!(blobs.contains_key(sha), "blob {sha} missing");
    }
    // The record counts the agent's blobs too: the distinct contents of both components (a
    // content both share is uploaded once; the second finds it present).
    let hub = files_of(&m, "hub");
    let distinct: std::collections::BTreeSet<&String> = trk.values().chain(hub.values()).collect();
    assert_eq!(
        rec["blobs_uploaded"].as_u64().unwrap(),
        distinct.len() as u64,
        "{rec}"
    );
    assert_eq!(
        rec["blobs_uploaded"].as_u64().unwrap() + rec["blobs_present"].as_u64().unwrap(),
        rec["blobs_total"].as_u64().unwrap(),
        "{rec}"
    );

    // One file of trk changes; the next set uploads only that content.
    write(
        &site.agent_root().join("home/data/sub dir/links.dat"),
        b"links, changed\n",
    );
    let second = run_backup(&server)["id"].as_str().unwrap().to_string();
    let before = site.blobs();
    let rec2 = replicate(&server, &json!({"backup_id": second}));
    assert_eq!(rec2["status"], "succeeded", "{rec2}");
    assert_eq!(rec2["blobs_uploaded"], 1, "{rec2}");
    assert_eq!(
        rec2["bytes_uploaded"].as_u64().unwrap(),
        b"links, changed\n".len() as u64,
        "{rec2}"
    );
    let after = site.blobs();
    let new: Vec<&String> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    assert_eq!(new, vec![&sha2_hex(b"links, changed\n")]);
    let m2 = site.manifest(&second);
    assert_eq!(
        files_of(&m2, "trk")["data/sub dir/links.dat"],
        sha2_hex(b"links, changed\n")
    );

    // The keys went to the agent with the calls and show in none of its log lines.
    let log = site.agent_log();
    assert!(
        log.contains("uploading a component to a replication target"),
        "the agent's log shows no upload: {log}"
    );
    assert_no_keys("the agent's log", &log);
    assert_no_keys(
        "the replications list",
        &server.get_json("/api/v1/replications", VIEWER).to_string(),
    );
}

#[test]
fn an_unreachable_agent_fails_the_replication_naming_it_and_no_manifest_is_written() {
    // Throttled: the local component's upload takes seconds, the agent is gone by its turn.
    let mut site = site("agents-unreachable", "max_bytes_per_second = 15000");
    let server = site.start();
    let id = run_backup(&server)["id"].as_str().unwrap().to_string();
    let addr = site.agent.addr.clone();

    // Gone while the replication runs: the job fails naming the agent.
    let rid = start_replication(&server, &json!({"backup_id": id}));
    site.agent.kill9();
    let rec = wait_replication(&server, &rid);
    assert_eq!(rec["status"], "failed", "{rec}");
    let error = rec["error"].as_str().unwrap();
    assert!(
        error.contains(&addr) && error.contains("trk"),
        "the error names neither the agent nor the component: {error}"
    );
    assert_no_keys("the replication record", &rec.to_string());
    assert!(!site.has_manifest(&id), "a manifest was written");

    // Gone before it starts: the set lacks the component, and the refusal names the agent.
    let r = server.post(
        "/api/v1/replication-targets/offsite/replicate",
        OPERATOR,
        &json!({"backup_id": id}),
    );
    let body = assert_problem(r, 409);
    assert_eq!(body["code"], "set_not_replicable", "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains(&addr) && detail.contains("trk"), "{detail}");
    assert!(!site.has_manifest(&id), "a manifest was written");
    let sets = server.get_json("/api/v1/replication-targets/offsite/sets", VIEWER);
    assert_eq!(sets.as_array().map(Vec::len), Some(0), "{sets}");
}

#[test]
fn a_cancel_stops_the_agents_upload_and_writes_no_manifest() {
    // About 3 MB of distinct content on the agent, uploaded at 200 kB/s: some 15 s.
    let site = site(
        "agents-cancel",
        "max_bytes_per_second = 200000\nconcurrency = 1",
    );
    for i in 0..12u64 {
        let bytes: Vec<u8> = (0..256 * 1024u64)
            .map(|j| ((j * 31 + i * 7919) % 253) as u8 ^ (i as u8))
            .collect();
        write(
            &site.agent_root().join(format!("home/data/big{i:02}.dat")),
            &bytes,
        );
    }
    let server = site.start();
    let id = run_backup(&server)["id"].as_str().unwrap().to_string();
    let rid = start_replication(&server, &json!({"backup_id": id}));
    poll(
        "the agent to start uploading",
        Duration::from_secs(60),
        || {
            site.agent_log()
                .contains("uploading a component to a replication target")
                .then_some(())
        },
    );
    let r = server.post(
        &format!("/api/v1/replications/{rid}/cancel"),
        OPERATOR,
        &json!({}),
    );
    assert!(r.status().is_success(), "cancel: {}", r.status());
    let rec = wait_replication(&server, &rid);
    assert_eq!(rec["status"], "cancelled", "{rec}");
    // The agent was told, and its upload ended cancelled (not at its end).
    let log = poll("the agent's upload to end", Duration::from_secs(60), || {
        let log = site.agent_log();
        log.contains("component upload failed").then_some(log)
    });
    assert!(
        log.contains("replication upload cancelled by the master"),
        "{log}"
    );
    assert!(!log.contains("component uploaded"), "{log}");
    assert!(!site.has_manifest(&id), "a manifest was written");
    let big: Vec<String> = (0..12u64)
        .map(|i| {
            let bytes: Vec<u8> = (0..256 * 1024u64)
                .map(|j| ((j * 31 + i * 7919) % 253) as u8 ^ (i as u8))
                .collect();
            sha2_hex(&bytes)
        })
        .collect();
    let blobs = site.blobs();
    let uploaded = big.iter().filter(|s| blobs.contains_key(*s)).count();
    assert!(uploaded < big.len(), "every big file was uploaded");
}

#[test]
fn a_fresh_master_restores_both_components_exactly_from_the_target_alone() {
    let mut site = site("agents-dr", "");
    let mut server = site.start();
    let id = run_backup(&server)["id"].as_str().unwrap().to_string();
    let hub_home = site.dir.path().join("homes/hub");
    let trk_home = site.agent_root().join("home");
    let skip = ["backup", ".pre-restore-"];
    let hub_at_backup = snapshot_meta(&hub_home, &skip);
    let trk_at_backup = snapshot_meta(&trk_home, &skip);
    let rec = replicate(&server, &json!({"backup_id": id}));
    assert_eq!(rec["status"], "succeeded", "{rec}");
    server.kill9();

    // The disaster: the master's state and slots, and the agent's slots, gone; homes damaged.
    std::fs::remove_dir_all(site.dir.path().join("state")).unwrap();
    std::fs::remove_dir_all(hub_home.join("backup")).unwrap();
    std::fs::remove_dir_all(trk_home.join("backup")).unwrap();
    std::fs::write(trk_home.join("tracker.ini"), b"damaged").unwrap();
    std::fs::remove_file(trk_home.join("data/sub dir/links.dat")).unwrap();
    std::fs::remove_dir_all(trk_home.join("data/empty")).unwrap();
    std::fs::remove_file(hub_home.join("hub.ini")).unwrap();
    // The agent starts again too (nothing of the restore rests on what it had in memory).
    let listen = site.agent.addr.trim_start_matches("http://").to_string();
    site.agent.kill9();
    site.agent = spawn_agent(&site.agent_root(), &listen);

    let server = site.start();
    assert_eq!(
        server.get_json("/api/v1/backup-sets", VIEWER)["items"]
            .as_array()
            .map(Vec::len),
        Some(0),
        "no set on disk"
    );
    let r = run_restore(&server, &json!({"backup_id": id, "from_target": "offsite"}));
    assert_eq!(r["status"], "succeeded", "{r}");
    assert_no_keys("the restore record", &r.to_string());
    let trk = component(&r, "trk");
    assert_eq!(trk["origin"], "replica", "{trk}");
    assert!(trk["download"].as_str().is_some(), "{trk}");
    assert!(trk["agent"].as_str().is_some(), "{trk}");
    assert_eq!(component(&r, "hub")["origin"], "replica");

    for (home, before) in [(&hub_home, &hub_at_backup), (&trk_home, &trk_at_backup)] {
        let mut after = snapshot_meta(home, &skip);
        let mut before = before.clone();
        // The home folder itself holds the restore's safety folder now.
        before.remove(".");
        after.remove(".");
        assert_eq!(after, before, "{} restored exactly", home.display());
    }
    // The agent's download is gone with the restore's end; nothing else was in its folder.
    let downloads = site.agent_root().join("agent-state/downloads");
    let left: Vec<String> = snapshot(&downloads).into_keys().collect();
    assert!(left.is_empty(), "the agent kept its download: {left:?}");
    assert_no_keys("the agent's log", &site.agent_log());
}

/// With client-side encryption (passphrase mode) the agent uploads its component's blobs
/// sealed to the target's recipient (it gets only the public key for that) and downloads them
/// for a restore with the identity the master sends with that call: no object on the bucket
/// holds the agent's plaintext, a fresh master restores both components exactly, and neither
/// the passphrase nor the identity shows in the agent's log.
#[test]
fn an_encrypting_target_gets_the_agents_blobs_sealed_and_a_fresh_master_restores_them() {
    const PASSPHRASE: &str = "agent side passphrase 5150";
    const PLAIN: &str = "AGENT-PLAINTEXT-5e1f-90ab";
    let keys = tempfile::tempdir().unwrap();
    let pass_file = keys.path().join("offsite.passphrase");
    std::fs::write(&pass_file, format!("{PASSPHRASE}\n")).unwrap();
    let mut site = site(
        "agents-crypt",
        &format!("encrypt_passphrase_file = \"{}\"", pass_file.display()),
    );
    let content = PLAIN.repeat(20);
    write(
        &site.agent_root().join("home/data/secret.dat"),
        content.as_bytes(),
    );
    let mut server = site.start();
    let id = run_backup(&server)["id"].as_str().unwrap().to_string();
    let hub_home = site.dir.path().join("homes/hub");
    let trk_home = site.agent_root().join("home");
    let skip = ["backup", ".pre-restore-"];
    let hub_at_backup = snapshot_meta(&hub_home, &skip);
    let trk_at_backup = snapshot_meta(&trk_home, &skip);
    let rec = replicate(&server, &json!({"backup_id": id}));
    assert_eq!(rec["status"], "succeeded", "{rec}");

    // The set exists in its sealed form only; the agent's blob is sealed like the master's.
    let objects = site.objects();
    assert!(
        objects.contains_key(&format!("site-a/sets/{id}.json.age")),
        "{objects:?}"
    );
    assert!(!site.has_manifest(&id), "a plaintext manifest: {objects:?}");
    let sha = sha2_hex(content.as_bytes());
    assert!(
        objects.contains_key(&format!("site-a/blobs/{}/{sha}.age", &sha[..2])),
        "{objects:?}"
    );
    for key in objects.keys() {
        assert!(
            key.ends_with(".age") || key.ends_with(".blobs.json"),
            "an object that is not sealed: {key}"
        );
        let body = site.s3.get(&site.bucket, key);
        assert!(
            !body.windows(PLAIN.len()).any(|w| w == PLAIN.as_bytes()),
            "{key} holds the agent's plaintext"
        );
    }
    server.kill9();

    // The disaster: the master's state and slots, and the agent's slots, gone; homes damaged.
    std::fs::remove_dir_all(site.dir.path().join("state")).unwrap();
    std::fs::remove_dir_all(hub_home.join("backup")).unwrap();
    std::fs::remove_dir_all(trk_home.join("backup")).unwrap();
    std::fs::write(trk_home.join("data/secret.dat"), b"damaged").unwrap();
    std::fs::remove_file(hub_home.join("hub.ini")).unwrap();
    let listen = site.agent.addr.trim_start_matches("http://").to_string();
    site.agent.kill9();
    site.agent = spawn_agent(&site.agent_root(), &listen);

    let server = site.start();
    let r = run_restore(&server, &json!({"backup_id": id, "from_target": "offsite"}));
    assert_eq!(r["status"], "succeeded", "{r}");
    assert_eq!(component(&r, "trk")["origin"], "replica", "{r}");
    for (home, before) in [(&hub_home, &hub_at_backup), (&trk_home, &trk_at_backup)] {
        let mut after = snapshot_meta(home, &skip);
        let mut before = before.clone();
        before.remove(".");
        after.remove(".");
        assert_eq!(after, before, "{} restored exactly", home.display());
    }
    let log = site.agent_log();
    assert!(
        log.contains("downloading a component from a replication target"),
        "the agent's log shows no download: {log}"
    );
    assert!(
        !log.contains(PASSPHRASE) && !log.contains("AGE-SECRET-KEY"),
        "key material in the agent's log"
    );
    assert_no_keys("the agent's log", &log);
    assert_no_keys("the restore record", &r.to_string());
}

fn sha2_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
