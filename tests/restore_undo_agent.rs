//! Undo of restores that include a remote component, through the real server and a real agent:
//! the agent keeps its safety folder after a committed restore (also across its restart), the
//! undo puts the remote home back exactly as it was before (content, modes, mtimes, links),
//! `GET /restores/{id}` counts the agent's kept bytes, a later restore or `DELETE
//! /restores/{id}/safety-copy` discards the agent's copy and makes undo 409, and kill -9 of the
//! master during an undo with a remote component is rolled back at its restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const AGENT_TOKEN: &str = "agent-token-for-undo-tests";
const SKIP: &[&str] = &[".pre-restore-"];

/// hub local, trk on a real agent (this machine); both keep 2 slots.
struct Pair {
    dir: tempfile::TempDir,
    agent: Agent,
}

impl Pair {
    fn new(agent_env: &[(&str, &str)]) -> Pair {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("agent");
        make_home(&a.join("home"), "maestro-tracker");
        std::os::unix::fs::symlink("../tracker.ini", a.join("home/data/link")).unwrap();
        std::fs::write(
            a.join("agent.toml"),
            format!(
                "listen = \"127.0.0.1:0\"\nstate_dir = \"agent-state\"\n\
                 [[tokens]]\nrole = \"admin\"\nsha256 = \"{}\"\n\
                 [[components]]\nname = \"trk\"\nprofile = \"maestro-tracker\"\nhome = \"home\"\n",
                sha(AGENT_TOKEN)
            ),
        )
        .unwrap();
        let agent = Agent::spawn(&a.join("agent.toml"), "127.0.0.1:0", agent_env);
        make_home(&dir.path().join("homes/hub"), "maestro-hub");
        write(
            &dir.path().join("secrets/trk.token"),
            AGENT_TOKEN.as_bytes(),
        );
        let text = format!(
            "{head}[schedule]\nenabled = false\n\
             [[components]]\nname = \"hub\"\nprofile = \"maestro-hub\"\nhome = \"homes/hub\"\nkeep = 2\n\
             [[components]]\nname = \"trk\"\nprofile = \"maestro-tracker\"\nagent = \"{addr}\"\n\
             agent_token_file = \"secrets/trk.token\"\nkeep = 2\n",
            head = master_head(),
            addr = agent.addr,
        );
        std::fs::write(dir.path().join("backup-master.toml"), text).unwrap();
        Pair { dir, agent }
    }

    fn start(&self, env: &[(&str, &str)]) -> Server {
        Server::start(
            &self.dir.path().join("backup-master.toml"),
            self.dir.path(),
            env,
        )
    }

    fn remote_home(&self) -> PathBuf {
        self.dir.path().join("agent/home")
    }

    fn local_home(&self) -> PathBuf {
        self.dir.path().join("homes/hub")
    }
}

fn touch(p: &Path, when: &str) {
    let st = Command::new("touch")
        .args(["-h", "-d", when])
        .arg(p)
        .status()
        .unwrap();
    assert!(st.success());
}

/// The damaged state an undo must give back on the agent: changed content, mode and mtime, a
/// different link target, a stray file, a removed file, a removed folder, a new empty folder.
fn damage_remote(home: &Path) {
    let ev = home.join("data/events.dat");
    write(&ev, b"corrupted on the agent");
    std::fs::set_permissions(&ev, std::fs::Permissions::from_mode(0o604)).unwrap();
    touch(&ev, "@1200000000.5");
    std::fs::remove_file(home.join("data/link")).unwrap();
    std::os::unix::fs::symlink("elsewhere", home.join("data/link")).unwrap();
    write(&home.join("data/stray.dat"), b"stray\n");
    std::fs::remove_file(home.join("tracker.ini")).unwrap();
    std::fs::remove_dir_all(home.join("data/sub dir")).unwrap();
    std::fs::create_dir_all(home.join("data/new empty")).unwrap();
    touch(&home.join("data"), "@1300000000");
}

fn damage_local(home: &Path) {
    write(&home.join("accountreg/accounts.dat"), b"corrupted locally");
    write(&home.join("hubreg/stray.reg"), b"stray\n");
}

/// Bytes of the regular files below `root`.
fn bytes_below(root: &Path) -> u64 {
    let m = std::fs::symlink_metadata(root).unwrap();
    if m.is_file() {
        return m.len();
    }
    if !m.is_dir() {
        return 0;
    }
    std::fs::read_dir(root)
        .unwrap()
        .flatten()
        .map(|e| bytes_below(&e.path()))
        .sum()
}

fn restore_of(server: &Server, id: &str) -> Value {
    server.get_json(&format!("/api/v1/restores/{id}"), VIEWER)
}

fn start_undo(server: &Server, id: &str) -> String {
    let r = server.post(&format!("/api/v1/restores/{id}/undo"), ADMIN, &json!({}));
    assert_eq!(r.status(), 202, "start undo");
    let rec: Value = r.json().unwrap();
    assert_eq!(rec["undo_of"], id, "{rec:#}");
    rec["id"].as_str().unwrap().to_string()
}

fn delete_copy(server: &Server, id: &str) -> reqwest::blocking::Response {
    reqwest::blocking::Client::new()
        .delete(server.url(&format!("/api/v1/restores/{id}/safety-copy")))
        .bearer_auth(ADMIN)
        .send()
        .unwrap()
}

fn id_of(rec: &Value) -> String {
    rec["id"].as_str().unwrap().to_string()
}

#[test]
fn undo_puts_the_remote_home_back_exactly_and_the_agent_keeps_its_copy_across_a_restart() {
    let mut p = Pair::new(&[]);
    let server = p.start(&[]);
    let set = id_of(&run_backup(&server));
    damage_remote(&p.remote_home());
    damage_local(&p.local_home());
    let remote_damaged = snapshot_meta(&p.remote_home(), SKIP);
    let local_damaged = snapshot_meta(&p.local_home(), SKIP);

    let rec = run_restore(&server, &json!({ "backup_id": set }));
    assert_eq!(rec["status"], "succeeded", "{rec:#}");
    let rid = id_of(&rec);
    assert_ne!(snapshot_meta(&p.remote_home(), SKIP), remote_damaged);
    // The agent kept its safety folder; the master counts its bytes with the local ones.
    let kept = p.remote_home().join(format!(".pre-restore-{rid}"));
    assert!(kept.is_dir(), "the agent kept no safety folder");
    assert_eq!(
        safety_folders(&p.remote_home()),
        [format!(".pre-restore-{rid}")]
    );
    let shown = restore_of(&server, &rid);
    assert_eq!(shown["undo_available"], true, "{shown:#}");
    let remote_bytes = bytes_below(&kept);
    assert!(remote_bytes > 0);
    let local_bytes = bytes_below(&p.local_home().join(format!(".pre-restore-{rid}")));
    assert_eq!(
        shown["safety_copy_bytes"].as_u64(),
        Some(remote_bytes + local_bytes),
        "{shown:#}"
    );
    assert_eq!(
        component(&shown, "trk")["safety_copy"]["bytes"].as_u64(),
        Some(remote_bytes)
    );

    // An agent restart keeps the folder (and the restore undoable).
    p.agent.restart(&[]);
    assert!(kept.is_dir(), "the agent's restart removed its kept copy");
    assert_eq!(restore_of(&server, &rid)["undo_available"], true);

    let uid = start_undo(&server, &rid);
    let undo = wait_restore(&server, &uid);
    assert_eq!(undo["status"], "succeeded", "{undo:#}");
    assert_eq!(component(&undo, "trk")["origin"], "safety_copy", "{undo:#}");
    assert_eq!(
        snapshot_meta(&p.remote_home(), SKIP),
        remote_damaged,
        "the remote home is not exactly as before the restore"
    );
    assert_eq!(snapshot_meta(&p.local_home(), SKIP), local_damaged);
    // The undone restore's copy is discarded on the agent; the undo keeps its own.
    assert_eq!(
        safety_folders(&p.remote_home()),
        [format!(".pre-restore-{uid}")]
    );
    let after = restore_of(&server, &rid);
    assert_ne!(after["undo_available"], true, "{after:#}");
    assert_eq!(after["safety_copy_bytes"].as_u64().unwrap_or(0), 0);
    assert_eq!(
        server
            .post(&format!("/api/v1/restores/{rid}/undo"), ADMIN, &json!({}))
            .status(),
        409
    );
    for slot in slots(&p.remote_home()) {
        assert!(sha256sum_ok(&p.remote_home().join(&slot)), "{slot}");
    }
}

#[test]
fn a_later_restore_or_the_delete_discards_the_agents_copy_and_undo_is_refused() {
    let p = Pair::new(&[]);
    let server = p.start(&[]);
    let set = id_of(&run_backup(&server));
    damage_remote(&p.remote_home());
    let first = run_restore(&server, &json!({ "backup_id": set }));
    assert_eq!(first["status"], "succeeded", "{first:#}");
    let first = id_of(&first);
    let second = run_restore(&server, &json!({ "backup_id": set, "components": ["trk"] }));
    assert_eq!(second["status"], "succeeded", "{second:#}");
    let second = id_of(&second);

    // The later restore of trk discarded the first one's copy on the agent: undo is 409.
    assert_eq!(
        safety_folders(&p.remote_home()),
        [format!(".pre-restore-{second}")]
    );
    let r = server.post(&format!("/api/v1/restores/{first}/undo"), ADMIN, &json!({}));
    let body = assert_problem(r, 409);
    assert!(
        body["detail"].as_str().unwrap().contains(&second),
        "{body:#}"
    );

    // DELETE of the second one's copy removes the agent's kept folder; its undo is 409 then.
    let shown = restore_of(&server, &second);
    assert_eq!(shown["undo_available"], true, "{shown:#}");
    assert!(shown["safety_copy_bytes"].as_u64().unwrap() > 0);
    // Everything but the home folder itself (the deletion changes its mtime) stays as it is.
    let below_home = || {
        let mut m = snapshot_meta(&p.remote_home(), SKIP);
        m.remove(".");
        m
    };
    let before = below_home();
    let r = delete_copy(&server, &second);
    assert_eq!(r.status(), 200);
    let rec: Value = r.json().unwrap();
    assert_ne!(rec["undo_available"], true, "{rec:#}");
    assert!(
        rec["undo_unavailable_because"]
            .as_str()
            .unwrap()
            .contains("deleted by the operator"),
        "{rec:#}"
    );
    assert!(
        safety_folders(&p.remote_home()).is_empty(),
        "{:?}",
        safety_folders(&p.remote_home())
    );
    assert_eq!(below_home(), before);
    let shown = restore_of(&server, &second);
    assert_ne!(shown["undo_available"], true, "{shown:#}");
    assert_eq!(shown["safety_copy_bytes"].as_u64().unwrap_or(0), 0);
    // Refused undo and delete change nothing.
    let untouched = snapshot_meta(&p.remote_home(), &[]);
    let r = server.post(
        &format!("/api/v1/restores/{second}/undo"),
        ADMIN,
        &json!({}),
    );
    assert_eq!(assert_problem(r, 409)["code"], "safety_copy_gone");
    assert_eq!(
        assert_problem(delete_copy(&server, &second), 409)["code"],
        "safety_copy_gone"
    );
    assert_eq!(snapshot_meta(&p.remote_home(), &[]), untouched);
}

#[test]
fn kill_9_of_the_master_during_an_undo_with_a_remote_component_is_rolled_back_at_restart() {
    // The agent copies slowly, so the master can be killed while it applies the undo.
    let p = Pair::new(&[("BACKUP_MASTER_FAULTS", "restore_slow_ms:20")]);
    for i in 0..100 {
        write(
            &p.remote_home().join(format!("data/bulk/f{i:03}.dat")),
            format!("row {i}\n").as_bytes(),
        );
    }
    let server = p.start(&[]);
    let set = id_of(&run_backup(&server));
    damage_remote(&p.remote_home());
    let damaged = snapshot_meta(&p.remote_home(), SKIP);
    let rec = run_restore(&server, &json!({ "backup_id": set }));
    assert_eq!(rec["status"], "succeeded", "{rec:#}");
    let rid = id_of(&rec);
    let restored_remote = snapshot_meta(&p.remote_home(), SKIP);
    let restored_local = snapshot_meta(&p.local_home(), SKIP);
    drop(server);

    let mut server = p.start(&[]);
    let uid = start_undo(&server, &rid);
    poll(
        "the agent to move items aside for the undo",
        Duration::from_secs(60),
        || {
            p.remote_home()
                .join(format!(".pre-restore-{uid}/data"))
                .is_dir()
                .then_some(())
        },
    );
    server.kill9();
    drop(server);

    let server = p.start(&[]);
    let undo = wait_restore(&server, &uid);
    assert_eq!(undo["status"], "interrupted", "{undo:#}");
    assert_eq!(undo["undo_of"], rid.as_str());
    // The agent's part is rolled back once it acknowledges (it may still be applying).
    poll(
        "the agent to roll the undo back",
        Duration::from_secs(60),
        || {
            let r = p.agent.get_json(
                &format!("/agent/v1/components/trk/restores/{uid}"),
                AGENT_TOKEN,
            );
            (r["status"] != "running").then_some(())
        },
    );
    assert_eq!(
        snapshot_meta(&p.remote_home(), SKIP),
        restored_remote,
        "the interrupted undo was not rolled back exactly on the agent"
    );
    assert_eq!(snapshot_meta(&p.local_home(), SKIP), restored_local);
    assert_eq!(
        safety_folders(&p.remote_home()),
        [format!(".pre-restore-{rid}")],
        "the undo's own folder is gone, the restore's is kept"
    );
    // Nothing changed: the restore can still be undone, and now it is.
    assert_eq!(restore_of(&server, &rid)["undo_available"], true);
    let again = wait_restore(&server, &start_undo(&server, &rid));
    assert_eq!(again["status"], "succeeded", "{again:#}");
    assert_eq!(snapshot_meta(&p.remote_home(), SKIP), damaged);
}
