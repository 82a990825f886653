//! Freeze and thaw of a remote component (real master, real agent on loopback): the agent runs
//! the master's freeze and thaw commands on its machine (only when its config allows it), and
//! when the master dies while the component is frozen, the agent thaws it by itself once the
//! master's freeze lease expires.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;

const TOKEN: &str = "agent-token-for-freeze-tests";

struct Pair {
    dir: tempfile::TempDir,
    agent: Agent,
    marks: std::path::PathBuf,
}

/// trk on an agent (`run_commands` as given, a 2 s lease), hub local; both freeze and thaw
/// with commands that append to `marks`; `hub_freeze` replaces hub's freeze command.
fn pair(run_commands: bool, hub_freeze: Option<&str>) -> Pair {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("agent");
    std::fs::create_dir_all(&a).unwrap();
    make_home(&a.join("home"), "maestro-tracker");
    std::fs::write(
        a.join("agent.toml"),
        format!(
            "listen = \"127.0.0.1:0\"\nstate_dir = \"agent-state\"\nfreeze_lease_seconds = 2\n\
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
    let marks = dir.path().join("marks");
    let mark = |what: &str| {
        format!(
            "{:?}",
            format!(
                "sh -c 'echo {what} $COMPONENT $BACKUP_ID >> {}'",
                marks.display()
            )
        )
    };
    let hub_freeze = hub_freeze.map_or_else(|| mark("freeze"), |c| format!("{c:?}"));
    let text = format!(
        r#"{head}[schedule]
enabled = false
[[components]]
name = "trk"
profile = "maestro-tracker"
agent = "{addr}"
agent_token_file = "secrets/trk.token"
keep = 1
freeze_command = {freeze}
thaw_command = {thaw}
[[components]]
name = "hub"
profile = "maestro-hub"
home = "homes/hub"
keep = 1
freeze_command = {hub_freeze}
thaw_command = {thaw}
freeze_timeout_seconds = 120
"#,
        head = master_head(),
        addr = agent.addr,
        freeze = mark("freeze"),
        thaw = mark("thaw"),
    );
    std::fs::write(dir.path().join("backup-master.toml"), text).unwrap();
    Pair { dir, agent, marks }
}

impl Pair {
    fn start(&self) -> Server {
        Server::start(
            &self.dir.path().join("backup-master.toml"),
            self.dir.path(),
            &[],
        )
    }
}

#[test]
fn a_remote_component_is_frozen_and_thawed_by_its_agent() {
    let p = pair(true, None);
    let server = p.start();
    let rec = run_backup(&server);
    assert_eq!(rec["status"], "succeeded", "{rec}");
    let id = rec["id"].as_str().unwrap();
    assert_eq!(
        lines(&p.marks),
        [
            format!("freeze trk {id}"),
            format!("freeze hub {id}"),
            format!("thaw trk {id}"),
            format!("thaw hub {id}"),
        ]
    );
    let f = &component(&rec, "trk")["freeze"];
    assert_eq!(f["freeze_command"]["exit_code"], 0, "{f}");
    assert_eq!(f["thaw_command"]["exit_code"], 0, "{f}");
    assert_eq!(f["frozen"], false, "{f}");
    assert!(f["freeze_seconds"].as_f64().unwrap() > 0.0, "{f}");
    // Nothing held on the agent afterwards.
    let held = std::fs::read_dir(p.dir.path().join("agent/agent-state/freezes"))
        .unwrap()
        .count();
    assert_eq!(held, 0);
    drop(p.agent);
}

#[test]
fn an_agent_thaws_by_itself_when_the_master_dies_and_its_lease_expires() {
    // hub's freeze (after trk's, in config order) hangs: the master is killed meanwhile.
    let p = pair(true, Some("sleep 60"));
    let mut server = p.start();
    let id = start_backup(&server);
    poll("trk to be frozen", Duration::from_secs(20), || {
        (lines(&p.marks) == [format!("freeze trk {id}")]).then_some(())
    });
    // Renewed while the master lives: still frozen after twice the lease.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(lines(&p.marks), [format!("freeze trk {id}")]);
    server.kill9();
    let t0 = std::time::Instant::now();
    poll(
        "the agent to thaw trk by itself",
        Duration::from_secs(15),
        || (lines(&p.marks).last() == Some(&format!("thaw trk {id}"))).then_some(()),
    );
    assert!(t0.elapsed() >= Duration::from_secs(1), "{:?}", t0.elapsed());
    // Its record of the hold goes right after the thaw.
    let freezes = p.dir.path().join("agent/agent-state/freezes");
    poll("the agent to drop its hold", Duration::from_secs(5), || {
        (std::fs::read_dir(&freezes).unwrap().count() == 0).then_some(())
    });
    drop(p.agent);
}

#[test]
fn an_agent_runs_no_command_its_config_does_not_allow() {
    let p = pair(false, None);
    let server = p.start();
    let rec = run_backup(&server);
    assert_eq!(rec["status"], "failed", "{rec}");
    let errors = rec["errors"].to_string();
    assert!(
        errors.contains("freeze of component trk failed"),
        "{errors}"
    );
    assert!(errors.contains("run_commands"), "{errors}");
    // Nothing ran on the agent; hub was never frozen (trk comes first).
    assert!(
        lines(&p.marks).iter().all(|l| !l.starts_with("freeze")),
        "{:?}",
        lines(&p.marks)
    );
    assert!(slots(&p.dir.path().join("agent/home")).is_empty());
    drop(p.agent);
}

/// The agent checks a snapshot command's view against the backup folder the master configures
/// (here `bk`, not the default): a view inside it is refused, the backup fails naming trk, and
/// no slot changes.
#[test]
fn an_agent_refuses_a_snapshot_view_inside_the_configured_backup_folder() {
    let p = pair(true, None);
    let cfg = p.dir.path().join("backup-master.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let anchor = "agent_token_file = \"secrets/trk.token\"\n";
    let snap = "sh -c 'mkdir -p \"$COMPONENT_HOME/bk/view\" && echo \"$COMPONENT_HOME/bk/view\"'";
    let text = text.replacen(
        anchor,
        &format!(
            "{anchor}backup_folder = \"bk\"\nsnapshot = \"command\"\nsnapshot_command = {snap:?}\n\
             snapshot_release_command = \"true\"\n"
        ),
        1,
    );
    std::fs::write(&cfg, text).unwrap();
    let server = p.start();
    let rec = run_backup(&server);
    assert_eq!(rec["status"], "failed", "{rec}");
    let errors = rec["errors"].to_string();
    assert!(
        errors.contains("read point of component trk could not be taken"),
        "{errors}"
    );
    assert!(errors.contains("overlaps the backup folder"), "{errors}");
    let home = p.dir.path().join("agent/home");
    assert!(!home.join("bk/backup").exists() && slots(&home).is_empty());
    drop(p.agent);
}
