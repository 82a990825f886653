//! Remote components over TLS (README, *Remote components*): an agent serving https with a certificate signed by a
//! throwaway private CA generated at test time (the `openssl` command), and masters that trust
//! that CA (`agent_ca_file`), trust nothing extra, or trust a different CA. Real processes on
//! loopback ports, fake homes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

const TRK_TOKEN: &str = "tls-agent-token-for-tests";

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command is needed to generate the test certificates");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes into `dir`: `ca.crt`/`ca.key` (a CA), `agent.crt`/`agent.key` (a server certificate
/// for 127.0.0.1 and localhost signed by it) and `other-ca.crt` (an unrelated CA).
fn make_pki(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    for (name, cn) in [
        ("ca", "backup-master test CA"),
        ("other-ca", "some other CA"),
    ] {
        let (key, crt, subj) = (
            format!("{name}.key"),
            format!("{name}.crt"),
            format!("/CN={cn}"),
        );
        let mut args = vec!["req", "-x509"];
        args.extend(ec);
        args.extend([
            "-keyout",
            &key,
            "-out",
            &crt,
            "-days",
            "2",
            "-subj",
            &subj,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(dir, &args);
    }
    let mut args = vec!["req"];
    args.extend(ec);
    args.extend([
        "-keyout",
        "agent.key",
        "-out",
        "agent.csr",
        "-subj",
        "/CN=localhost",
    ]);
    openssl(dir, &args);
    std::fs::write(
        dir.join("agent.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "agent.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "agent.crt",
            "-days",
            "2",
            "-extfile",
            "agent.ext",
        ],
    );
}

/// hub local, trk behind the https agent.
struct Cluster {
    dir: tempfile::TempDir,
    agent: Agent,
}

impl Cluster {
    fn new() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let pki = dir.path().join("pki");
        make_pki(&pki);
        let tls = format!(
            "tls_cert_file = \"{}\"\ntls_key_file = \"{}\"",
            pki.join("agent.crt").display(),
            pki.join("agent.key").display()
        );
        let agent = Agent::start(
            &dir.path().join("agent"),
            ("trk", "maestro-tracker", TRK_TOKEN),
            &tls,
            "127.0.0.1:0",
            &[],
        );
        make_home(&dir.path().join("homes/hub"), "maestro-hub");
        Cluster { dir, agent }
    }

    /// A master config trusting `ca` (a file in `pki/`) for the agent, or nothing extra.
    fn master(&self, ca: Option<&str>) -> Server {
        let ca_line = ca
            .map(|f| format!("agent_ca_file = \"pki/{f}\"\n"))
            .unwrap_or_default();
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
{ca_line}keep = 2
"#,
            head = master_head(),
            agent = self.agent.addr,
        );
        let config = self.dir.path().join("backup-master.toml");
        std::fs::write(&config, text).unwrap();
        Server::start(
            &config,
            self.dir.path(),
            &[("BACKUP_MASTER_AGENT_TOKEN_TRK", TRK_TOKEN)],
        )
    }

    fn home(&self, name: &str) -> PathBuf {
        match name {
            "trk" => self.dir.path().join("agent/home"),
            other => self.dir.path().join("homes").join(other),
        }
    }

    fn all_slots(&self) -> Vec<String> {
        ["hub", "trk"]
            .iter()
            .flat_map(|c| {
                slots(&self.home(c))
                    .into_iter()
                    .map(move |s| format!("{c}/{s}"))
            })
            .collect()
    }

    fn stagings(&self) -> Vec<String> {
        ["hub", "trk"]
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

#[test]
fn backup_over_tls_with_a_private_ca() {
    let c = Cluster::new();
    assert!(
        c.agent.addr.starts_with("https://127.0.0.1:"),
        "{}",
        c.agent.addr
    );
    let master = c.master(Some("ca.crt"));

    let list = master.get_json("/api/v1/components", VIEWER);
    let trk = component(&list, "trk");
    assert_eq!(trk["location"], "remote", "{trk}");
    assert_eq!(trk["reachable"], true, "{trk}");
    assert_eq!(trk["agent_version"], env!("CARGO_PKG_VERSION"), "{trk}");
    assert!(trk["agent_error"].is_null(), "{trk}");
    assert!(!list.to_string().contains(TRK_TOKEN));

    let rec = run_backup(&master);
    assert_eq!(rec["status"], "succeeded", "{rec:#}");
    let id = rec["id"].as_str().unwrap();
    for name in ["hub", "trk"] {
        let slot = c.home(name).join("backup");
        assert_eq!(readme_id(&slot), id, "{name}");
        assert!(sha256sum_ok(&slot), "{name}");
    }
    // History comes from the agent, over TLS too.
    let h = master.get_json("/api/v1/components/trk/history", VIEWER);
    assert_eq!(h[0]["backup_id"], id, "{h}");
    assert!(c.stagings().is_empty());
    assert!(!rec.to_string().contains(TRK_TOKEN));
}

/// A master that does not trust the agent's CA: the component is reported with a TLS error
/// naming it, the backup fails cleanly, nothing is rotated anywhere.
fn untrusted(c: &Cluster, ca: Option<&str>) {
    let mut master = c.master(ca);
    let list = master.get_json("/api/v1/components", VIEWER);
    let trk = component(&list, "trk");
    assert_eq!(trk["reachable"], false, "{trk}");
    let why = trk["agent_error"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase();
    assert!(why.contains("component trk"), "{trk}");
    assert!(why.contains("tls") && why.contains("certificate"), "{trk}");

    let rec = run_backup(&master);
    assert_eq!(rec["status"], "failed", "{rec:#}");
    assert_eq!(rec["commit_decided"], false, "{rec:#}");
    let t = component(&rec["components"], "trk");
    assert_eq!(t["status"], "failed", "{rec:#}");
    let err = t["errors"].to_string().to_lowercase();
    assert!(err.contains("component trk"), "{err}");
    assert!(err.contains("tls") && err.contains("certificate"), "{err}");
    assert!(err.contains("agent_ca_file"), "says what to fix: {err}");
    assert_eq!(component(&rec["components"], "hub")["status"], "aborted");
    assert!(!rec.to_string().contains(TRK_TOKEN));
    assert!(
        c.all_slots().is_empty(),
        "nothing rotated: {:?}",
        c.all_slots()
    );
    assert!(c.stagings().is_empty(), "{:?}", c.stagings());
    master.terminate();
}

#[test]
fn a_master_that_does_not_trust_the_agents_certificate_fails_cleanly() {
    let c = Cluster::new();
    untrusted(&c, None);
    untrusted(&c, Some("other-ca.crt"));
    // The same installation with the right CA works: nothing was left behind.
    let master = c.master(Some("ca.crt"));
    let rec = run_backup(&master);
    assert_eq!(rec["status"], "succeeded", "{rec:#}");
}
