//! Issue #23, folders and slots: a backup deletes only what it provably owns. Each test
//! reproduces one finding exactly as reported, with the real server (and a real agent) on fake
//! homes, and checks that the request is refused naming `backup_folder` (or the backup fails
//! naming the path) and that every home, slot and imported folder is byte-identical after.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::{json, Value};

/// The ETag of a component.
fn etag(server: &Server, name: &str) -> String {
    let r = server.get(&format!("/api/v1/components/{name}"), ADMIN);
    assert_eq!(r.status(), 200);
    r.headers()["etag"].to_str().unwrap().to_string()
}

/// PUT /components/{name} with the current ETag.
fn put_component(server: &Server, name: &str, body: Value) -> reqwest::blocking::Response {
    let tag = etag(server, name);
    server.put(
        &format!("/api/v1/components/{name}"),
        ADMIN,
        &body,
        Some(&tag),
    )
}

/// Asserts a 422 naming `backup_folder` whose messages mention every one of `mentions`;
/// returns the messages.
fn assert_refused(r: reqwest::blocking::Response, mentions: &[&str]) -> String {
    let body = assert_problem(r, 422);
    let fields = problem_fields(&body);
    assert!(
        !fields.is_empty() && fields.iter().all(|f| f == "backup_folder"),
        "{body}"
    );
    let msgs = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    for m in mentions {
        assert!(msgs.contains(m), "{m:?} not in:\n{msgs}");
    }
    msgs
}

/// Every file, folder and link under `root` with its content (or target), leaving out
/// entries with a name starting with one of `skip` (at any depth): a tree is byte-identical
/// when this is equal before and after. Folder times are left out on purpose: a staging folder
/// created and removed beside the slots changes its parent's mtime, not its content.
fn tree(root: &Path, skip: &[&str]) -> BTreeMap<String, String> {
    snapshot(root)
        .into_iter()
        .filter(|(k, _)| {
            !Path::new(k).components().any(|c| {
                let c = c.as_os_str().to_string_lossy();
                skip.iter().any(|s| c.starts_with(s))
            })
        })
        .collect()
}

/// Starts `serve` on `config` and expects it to refuse, naming `key` and `mention`.
fn assert_start_refused(config: &Path, key: &str, mention: &str) {
    let out = Command::new(bin())
        .args(["serve", "--config"])
        .arg(config)
        .output()
        .unwrap();
    assert!(!out.status.success(), "the server started");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(key) && err.contains(mention),
        "{key} / {mention} not in:\n{err}"
    );
}

/// Finding 1: hub's backup folder set so that one of its slot names (`<NAME>2`) is lui's
/// home. Refused by PUT (422, nothing written) and at start-up; before the fix the next
/// backup succeeded and lui's whole home was gone.
#[test]
fn finding_1_a_slot_name_that_is_another_components_home_is_refused() {
    let s = Setup::new(1);
    // lui lives in `homes/lui2`, so `homes/lui` as hub's folder has lui's home as slot 2.
    std::fs::rename(s.home("lui"), s.path().join("homes/lui2")).unwrap();
    let text = std::fs::read_to_string(&s.config)
        .unwrap()
        .replace("home = \"homes/lui\"", "home = \"homes/lui2\"");
    std::fs::write(&s.config, &text).unwrap();
    let lui_home = s.path().join("homes/lui2");
    let server = s.start();
    assert_eq!(run_backup(&server)["status"], "succeeded");
    let homes = tree(&s.path().join("homes"), &[]);
    let config = std::fs::read(&s.config).unwrap();

    let folder = s.path().join("homes/lui");
    let r = put_component(
        &server,
        "hub",
        json!({"backup_folder": folder.display().to_string(), "keep": 1}),
    );
    let msgs = assert_refused(
        r,
        &[
            &lui_home.display().to_string(),
            "the home of component \"lui\"",
        ],
    );
    assert!(msgs.contains("would use"), "{msgs}");
    assert_eq!(
        std::fs::read(&s.config).unwrap(),
        config,
        "config unchanged"
    );
    assert_eq!(tree(&s.path().join("homes"), &[]), homes, "homes unchanged");
    // The running setting is unchanged: the next backup goes where it went before.
    assert_eq!(
        server.get_json("/api/v1/components/hub", VIEWER)["backup_folder"],
        "backup"
    );
    drop(server);

    // The same setting in the file: the server does not start.
    let bad = text.replacen(
        "home = \"homes/hub\"\n",
        &format!(
            "home = \"homes/hub\"\nbackup_folder = \"{}\"\n",
            folder.display()
        ),
        1,
    );
    std::fs::write(&s.config, bad).unwrap();
    assert_start_refused(
        &s.config,
        "components[0].backup_folder",
        &lui_home.display().to_string(),
    );
    assert_eq!(tree(&s.path().join("homes"), &[]), homes, "homes unchanged");
}

/// A hand-made `backup7` (no readme) beside a component with keep = 3: a backup fails naming
/// it with no slot changed anywhere, PUT of that component is refused while it is there, and
/// it is never deleted.
#[test]
fn a_hand_made_backup7_is_never_deleted() {
    let s = Setup::new(3);
    let server = s.start();
    for _ in 0..2 {
        assert_eq!(run_backup(&server)["status"], "succeeded");
    }
    let hub = s.home("hub");
    write(&hub.join("backup7/photos/holiday.jpg"), b"jpeg bytes");
    write(&hub.join("backup7/notes.txt"), b"mine");
    // Everything but the `.failed` folders a failed backup writes (by design).
    let homes = || tree(&s.path().join("homes"), &["backup.failed"]);
    let before = homes();

    let rec = run_backup(&server);
    assert_eq!(rec["status"], "failed", "{rec}");
    let hub_errors = rec["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "hub")
        .unwrap()["errors"]
        .to_string();
    assert!(
        hub_errors.contains(&hub.join("backup7").display().to_string()),
        "{hub_errors}"
    );
    assert!(hub_errors.contains("no readme.txt"), "{hub_errors}");
    assert_eq!(homes(), before, "no slot of any component changed");
    for c in ["hub", "lui", "trk"] {
        assert!(stagings(&s.home(c)).is_empty(), "{c}: staging left");
    }

    // While it is there, hub's settings cannot be saved (the check runs on every change).
    let config = std::fs::read(&s.config).unwrap();
    let r = put_component(
        &server,
        "hub",
        json!({"backup_folder": "backup", "keep": 3}),
    );
    assert_refused(r, &[&hub.join("backup7").display().to_string()]);
    assert_eq!(std::fs::read(&s.config).unwrap(), config);
    assert_eq!(homes(), before);

    // Moved away by its owner, backups work again and rotate normally.
    std::fs::rename(hub.join("backup7"), s.path().join("backup7-moved")).unwrap();
    assert_eq!(run_backup(&server)["status"], "succeeded");
    assert_eq!(slots(&hub), ["backup", "backup1", "backup2"]);
    assert_eq!(
        std::fs::read(s.path().join("backup7-moved/photos/holiday.jpg")).unwrap(),
        b"jpeg bytes"
    );
}

/// Finding 2: lui's backup folder set to hub's home, which holds a `readme.txt`. Before the
/// fix: 200, and the next backup replaced hub's live files with lui's backup.
#[test]
fn finding_2_another_components_home_with_a_readme_is_refused() {
    let s = Setup::new(3);
    let hub = s.home("hub");
    write(
        &hub.join("readme.txt"),
        b"Backup ID: 20260101T000000Z\nComponent: lui\nResult: success\n",
    );
    let server = s.start();
    let homes = tree(&s.path().join("homes"), &[]);
    let config = std::fs::read(&s.config).unwrap();
    let r = put_component(
        &server,
        "lui",
        json!({"backup_folder": hub.display().to_string(), "keep": 0}),
    );
    assert_refused(
        r,
        &[&format!(
            "is the home of component \"hub\" ({})",
            hub.display()
        )],
    );
    assert_eq!(std::fs::read(&s.config).unwrap(), config);
    assert_eq!(tree(&s.path().join("homes"), &[]), homes);
    // A backup now still goes to lui's own folder, and hub's live files stay as they were.
    let hub_live = tree(&hub, &["backup"]);
    assert_eq!(run_backup(&server)["status"], "succeeded");
    assert_eq!(tree(&hub, &["backup"]), hub_live);
    assert_eq!(readme_id(&s.home("lui").join("backup")).len(), 16);
}

/// Finding 9: a 300-character backup folder name, and a new folder inside the state dir. Both
/// refused (nothing written); a name at the limit (214 bytes: `<NAME>.staging-<ID>.failed-new`
/// is then 255) is accepted and backups work with it.
#[test]
fn finding_9_overlong_names_and_folders_in_the_state_dir_are_refused() {
    let s = Setup::new(3);
    let server = s.start();
    let homes = tree(&s.path().join("homes"), &[]);
    let config = std::fs::read(&s.config).unwrap();
    let state_entries = || {
        let mut v: Vec<String> = std::fs::read_dir(s.state())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let state_before = state_entries();

    let long = "x".repeat(300);
    let r = put_component(&server, "hub", json!({"backup_folder": long, "keep": 3}));
    assert_refused(r, &["255"]);
    let r = put_component(
        &server,
        "hub",
        json!({"backup_folder": "y".repeat(215), "keep": 3}),
    );
    assert_refused(r, &["256 bytes"]);
    let inside = s.state().join("hub-backups");
    let r = put_component(
        &server,
        "hub",
        json!({"backup_folder": inside.display().to_string(), "keep": 3}),
    );
    assert_refused(r, &["lies inside the state folder"]);
    assert_eq!(std::fs::read(&s.config).unwrap(), config);
    assert_eq!(tree(&s.path().join("homes"), &[]), homes);
    assert_eq!(state_entries(), state_before);
    assert!(!inside.exists());

    // At the limit: accepted, and a backup that fails and one that succeeds both work.
    let name = "z".repeat(214);
    let r = put_component(&server, "hub", json!({"backup_folder": name, "keep": 3}));
    assert_eq!(r.status(), 200);
    std::fs::remove_file(s.home("hub").join("hub.ini")).unwrap();
    assert_eq!(run_backup(&server)["status"], "failed");
    assert!(s
        .home("hub")
        .join(format!("{name}.failed/readme.txt"))
        .is_file());
    write(&s.home("hub").join("hub.ini"), b"[Hub]\n");
    assert_eq!(run_backup(&server)["status"], "succeeded");
    assert!(sha256sum_ok(&s.home("hub").join(&name)));
}

/// Imports keep clear of homes and items: a lui backup copied into hub's `hubreg/` item (a
/// restore of hub would delete it) or lui's home itself are refused; a folder elsewhere is
/// accepted. The register and every folder stay as they were.
#[test]
fn imports_inside_an_item_or_of_a_home_are_refused() {
    let s = Setup::new(3);
    let server = s.start();
    assert_eq!(run_backup(&server)["status"], "succeeded");
    let copy = |to: &Path| {
        let st = Command::new("cp")
            .arg("-a")
            .arg(s.home("lui").join("backup"))
            .arg(to)
            .status()
            .unwrap();
        assert!(st.success());
    };
    let in_item = s.home("hub").join("hubreg/lui-copy");
    copy(&in_item);
    write(
        &s.home("lui").join("readme.txt"),
        &std::fs::read(s.home("lui").join("backup/readme.txt")).unwrap(),
    );
    let homes = tree(&s.path().join("homes"), &[]);
    for (folder, mention) in [
        (
            in_item.clone(),
            "a restore of that component would delete it",
        ),
        (s.home("lui"), "is the home of component \"lui\""),
    ] {
        let r = server.post(
            "/api/v1/backup-sets/import",
            ADMIN,
            &json!({"component": "lui", "folder": folder.display().to_string()}),
        );
        let body = assert_problem(r, 422);
        assert_eq!(problem_fields(&body), vec!["folder"], "{body}");
        assert!(body["detail"].as_str().unwrap().contains(mention), "{body}");
    }
    assert!(
        !s.state().join("imports.json").exists(),
        "nothing registered"
    );
    assert_eq!(tree(&s.path().join("homes"), &[]), homes);
    let media = s.path().join("media/lui-copy");
    std::fs::create_dir_all(media.parent().unwrap()).unwrap();
    copy(&media);
    let r = server.post(
        "/api/v1/backup-sets/import",
        ADMIN,
        &json!({"component": "lui", "folder": media.display().to_string()}),
    );
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(tree(&s.path().join("homes"), &[]), homes);
}

// ---------------------------------------------------------------------------------------------
// Finding 3: the agent checks backup folders on its own machine.

const TRK_TOKEN: &str = "agent-token-for-folder-tests";

/// hub and lui local, trk behind a real agent whose machine is `<root>/agent`.
struct WithAgent {
    dir: tempfile::TempDir,
    agent: Agent,
}

impl WithAgent {
    fn new(agent_extra: &str) -> WithAgent {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("agent");
        std::fs::create_dir_all(&a).unwrap();
        let agent = Agent::start(
            &a,
            ("trk", "maestro-tracker", TRK_TOKEN),
            agent_extra,
            "127.0.0.1:0",
            &[],
        );
        for (name, profile) in [("hub", "maestro-hub"), ("lui", "maestro-lui")] {
            make_home(&dir.path().join("homes").join(name), profile);
        }
        write(&dir.path().join("secrets/trk.token"), TRK_TOKEN.as_bytes());
        let text = format!(
            r#"{head}[schedule]
enabled = false
[[components]]
name = "hub"
profile = "maestro-hub"
home = "homes/hub"
keep = 2
[[components]]
name = "lui"
profile = "maestro-lui"
home = "homes/lui"
keep = 2
[[components]]
name = "trk"
profile = "maestro-tracker"
agent = "{trk}"
agent_token_file = "secrets/trk.token"
backup_folder = "backup"
keep = 2
"#,
            head = master_head(),
            trk = agent.addr,
        );
        std::fs::write(dir.path().join("backup-master.toml"), text).unwrap();
        WithAgent { dir, agent }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn master(&self) -> Server {
        Server::start(&self.path().join("backup-master.toml"), self.path(), &[])
    }

    /// A call on the agent with its token, as a master (or anyone holding the token) makes it.
    fn agent_call(&self, step: &str, id: &str, folder: &Path) -> reqwest::blocking::Response {
        reqwest::blocking::Client::new()
            .post(format!(
                "{}/agent/v1/components/trk/backups/{id}/{step}",
                self.agent.addr
            ))
            .bearer_auth(TRK_TOKEN)
            .json(&json!({
                "profile": "maestro-tracker",
                "backup_folder": folder.display().to_string(),
                "keep": 0,
                "items": ["tracker.ini", "data/"],
            }))
            .send()
            .unwrap()
    }
}

/// Finding 3: trk's backup folder set to an existing folder with data on the agent's machine
/// (keep 0). Before the fix the backup succeeded and the folder's files were gone. Now the
/// agent refuses it (422 naming `backup_folder`), the backup fails cleanly with no slot
/// changed anywhere, and the folder is byte-identical; the same for direct calls with the
/// agent's token, for the agent's own home and for its state dir.
#[test]
fn finding_3_the_agent_refuses_folders_the_master_would_refuse_on_its_machine() {
    let w = WithAgent::new("decision_timeout_seconds = 3600");
    let data = w.path().join("agent/some/existing/folder/with/data");
    write(&data.join("ledger.db"), b"precious rows");
    write(&data.join("sub/more.txt"), b"more");
    let server = w.master();
    assert_eq!(run_backup(&server)["status"], "succeeded");
    // The master cannot see the agent's disk; it accepts the setting ...
    let r = put_component(
        &server,
        "trk",
        json!({"backup_folder": data.display().to_string(), "keep": 0}),
    );
    assert_eq!(r.status(), 200);
    // Everything but the master's and agent's own state and the `.failed` folders.
    let everything = || tree(w.path(), &["backup.failed", "state", "agent-state"]);
    let before = everything();
    // ... and the agent refuses to prepare there: the backup fails, nothing rotates anywhere.
    let rec = run_backup(&server);
    assert_eq!(rec["status"], "failed", "{rec}");
    let trk = rec["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "trk")
        .unwrap()["errors"]
        .to_string();
    assert!(
        trk.contains("backup_folder") && trk.contains(&data.display().to_string()),
        "{trk}"
    );
    assert!(trk.contains("no readme.txt"), "{trk}");
    assert_eq!(
        everything(),
        before,
        "every home, slot and the folder unchanged"
    );

    // Direct calls with the agent's token: prepare, commit and abort are refused, 422.
    let home = w.path().join("agent/home");
    let state = w.path().join("agent/agent-state/new-folder");
    for (folder, mention) in [
        (data.clone(), "no readme.txt"),
        (home.clone(), "its own home"),
        (state.clone(), "lies inside the state folder"),
    ] {
        for step in ["prepare", "commit", "abort"] {
            let r = w.agent_call(step, "20990101T000000Z", &folder);
            let body = assert_problem(r, 422);
            let fields = problem_fields(&body);
            assert!(
                !fields.is_empty() && fields.iter().all(|f| f == "backup_folder"),
                "{body}"
            );
            assert!(
                body["errors"].to_string().contains(mention),
                "{step} {}: {body}",
                folder.display()
            );
        }
    }
    assert!(!state.exists());
    assert_eq!(everything(), before);
}

/// `allowed_roots` in the agent's config: folders outside every root are refused, those inside
/// one work end to end.
#[test]
fn the_agents_allowed_roots_bound_its_backup_folders() {
    let pre = tempfile::tempdir().unwrap();
    let roots = pre.path().join("srv-backups");
    std::fs::create_dir_all(&roots).unwrap();
    let w = WithAgent::new(&format!(
        "decision_timeout_seconds = 3600\nallowed_roots = [\"{}\"]",
        roots.display()
    ));
    let server = w.master();
    // "backup" relative to the agent's home is outside the root.
    let rec = run_backup(&server);
    assert_eq!(rec["status"], "failed");
    assert!(rec.to_string().contains("allowed_roots"), "{rec}");
    assert!(slots(&w.path().join("agent/home")).is_empty());
    let r = w.agent_call(
        "prepare",
        "20990101T000000Z",
        &w.path().join("agent/elsewhere"),
    );
    let body = assert_problem(r, 422);
    assert_eq!(problem_fields(&body), vec!["backup_folder"], "{body}");

    let folder: PathBuf = roots.join("trk/backup");
    let r = put_component(
        &server,
        "trk",
        json!({"backup_folder": folder.display().to_string(), "keep": 1}),
    );
    assert_eq!(r.status(), 200);
    for _ in 0..2 {
        assert_eq!(run_backup(&server)["status"], "succeeded");
    }
    assert!(sha256sum_ok(&folder));
    assert!(sha256sum_ok(&roots.join("trk/backup1")));
}
