//! The agent's config file (`backup-master agent --config FILE`), loaded like the master's
//! (`crate::config`): the document is walked by hand with the same reader, so every error is
//! reported at once with its key and line, and unknown keys are errors. Tokens use the
//! master's `[[tokens]]` schema and code.
//!
//! ```toml
//! listen = "127.0.0.1:9090"
//! state_dir = "agent-data"            # transaction records (relative to this file)
//! decision_timeout_seconds = 3600     # then a prepared backup / applied restore is in doubt
//! # tls_cert_file = "agent.crt"       # both or neither: serve https (rustls)
//! # tls_key_file = "agent.key"
//! # allowed_roots = ["/srv/backups"]  # backup folders must lie inside one of these
//! # freeze_lease_seconds = 60         # thaw by itself when the master stops renewing
//! [[tokens]]                          # the token the master presents
//! role = "admin"
//! sha256 = "<hex>"                    # or token_file = "..."
//! [[components]]
//! name = "trk"
//! profile = "maestro-tracker"
//! home = "/srv/maestro/tracker"
//! # run_commands = true               # let the master's freeze/thaw/snapshot and stop/start/health commands and drill probes run here
//! # drill_root = "/srv/drills"        # restore drills' scratch copies (default: `drills` beside the backup folder)
//! ```
//!
//! Backup folder, `keep` and custom items are **not** here: settings stay central (README, *Remote components*);
//! the master sends them with every call and the agent checks them against the home.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::config::{
    check_new_name, has_dot_dot, read_tokens, resolve, ConfigError, TokenSpec, MAX_HOOK_TIMEOUT,
};
use crate::engine::Profile;
use crate::error::FieldError;

pub const DEFAULT_AGENT_LISTEN: &str = "127.0.0.1:9090";
pub const DEFAULT_AGENT_STATE_DIR: &str = "agent-data";
/// Seconds without a word from the master after which a prepared backup or an applied restore
/// is marked in doubt (an alarm only: it still waits for the master's decision).
pub const DEFAULT_DECISION_TIMEOUT: u64 = 3600;
/// `freeze_lease_seconds` when not set.
pub const DEFAULT_FREEZE_LEASE: u64 = 60;
/// The shortest `freeze_lease_seconds`.
pub const MIN_FREEZE_LEASE: u64 = 2;

/// A component the agent serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentComponentConfig {
    pub name: String,
    pub profile: Profile,
    /// Absolute, resolved.
    pub home: PathBuf,
    /// The master may have this agent run the component's freeze, thaw and snapshot commands
    /// (sent with each backup) and its stop, start and health commands (around a restore);
    /// off by default, so a master's token alone never runs a command on this machine.
    pub run_commands: bool,
    /// Where restore drills put the component's scratch copies (`drill_root`; absolute,
    /// resolved against the home); `None`: `drills` beside the backup folder the master names.
    pub drill_root: Option<PathBuf>,
}

/// The agent's whole configuration, loaded and validated.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    pub file: PathBuf,
    pub listen: String,
    pub state_dir: PathBuf,
    pub tokens: Vec<TokenSpec>,
    pub decision_timeout_seconds: u64,
    /// Certificate chain and private key (PEM) for https.
    pub tls: Option<(PathBuf, PathBuf)>,
    pub components: Vec<AgentComponentConfig>,
    /// When set, every backup folder the master names must lie inside one of these folders
    /// (absolute, resolved, existing).
    pub allowed_roots: Option<Vec<PathBuf>>,
    /// A component frozen (or snapshotted) for a backup is thawed (released) by the agent
    /// itself when the master has not renewed it for this long: a dead master leaves no
    /// application frozen.
    pub freeze_lease_seconds: u64,
}

impl AgentConfig {
    pub fn load(path: &Path) -> Result<AgentConfig, ConfigError> {
        crate::config::load_with(path, AgentConfig::parse)
    }

    /// Parses agent config text as if it were the file `file`; every error at once.
    pub fn parse(text: &str, file: &Path) -> Result<AgentConfig, Vec<FieldError>> {
        let (base_dir, doc, mut r) = crate::config::begin_parse(text, file)?;
        let root = doc.as_table();
        r.check_keys(
            root,
            "",
            &[
                "listen",
                "state_dir",
                "tokens",
                "components",
                "decision_timeout_seconds",
                "tls_cert_file",
                "tls_key_file",
                "allowed_roots",
                "freeze_lease_seconds",
            ],
        );
        let listen = r
            .string(root, "", "listen")
            .unwrap_or_else(|| DEFAULT_AGENT_LISTEN.to_string());
        if listen.parse::<SocketAddr>().is_err() {
            r.push(
                "",
                "listen",
                "must be an address like 127.0.0.1:9090".into(),
            );
        }
        let state_dir = r
            .string(root, "", "state_dir")
            .unwrap_or_else(|| DEFAULT_AGENT_STATE_DIR.to_string());
        let decision_timeout_seconds = match r.integer(root, "", "decision_timeout_seconds") {
            Some(v) if (1..=MAX_HOOK_TIMEOUT as i64).contains(&v) => v as u64,
            Some(_) => {
                r.push(
                    "",
                    "decision_timeout_seconds",
                    format!("must be between 1 and {MAX_HOOK_TIMEOUT}"),
                );
                DEFAULT_DECISION_TIMEOUT
            }
            None => DEFAULT_DECISION_TIMEOUT,
        };
        let freeze_lease_seconds = match r.integer(root, "", "freeze_lease_seconds") {
            Some(v) if (MIN_FREEZE_LEASE as i64..=MAX_HOOK_TIMEOUT as i64).contains(&v) => v as u64,
            Some(_) => {
                r.push(
                    "",
                    "freeze_lease_seconds",
                    format!("must be between {MIN_FREEZE_LEASE} and {MAX_HOOK_TIMEOUT}"),
                );
                DEFAULT_FREEZE_LEASE
            }
            None => DEFAULT_FREEZE_LEASE,
        };
        let cert = r.string(root, "", "tls_cert_file");
        let key = r.string(root, "", "tls_key_file");
        let tls = match (cert, key) {
            (Some(c), Some(k)) => {
                let (c, k) = (resolve(&base_dir, &c), resolve(&base_dir, &k));
                for (field, p) in [("tls_cert_file", &c), ("tls_key_file", &k)] {
                    if !p.is_file() {
                        r.push("", field, format!("{} is not a readable file", p.display()));
                    }
                }
                Some((c, k))
            }
            (None, None) => None,
            (Some(_), None) => {
                r.push(
                    "",
                    "tls_key_file",
                    "tls_cert_file needs tls_key_file".into(),
                );
                None
            }
            (None, Some(_)) => {
                r.push(
                    "",
                    "tls_cert_file",
                    "tls_key_file needs tls_cert_file".into(),
                );
                None
            }
        };
        let allowed_roots = r.string_array(root, "", "allowed_roots").map(|roots| {
            if roots.is_empty() {
                r.push(
                    "",
                    "allowed_roots",
                    "must list at least one folder, or be left out".into(),
                );
            }
            roots
                .iter()
                .enumerate()
                .map(|(i, root)| {
                    let path = resolve(&base_dir, root);
                    if root.is_empty() || has_dot_dot(root) || root.contains('\0') {
                        r.push(
                            "",
                            &format!("allowed_roots[{i}]"),
                            format!("{root:?} must name a folder, without '..'"),
                        );
                    } else if !path.is_dir() {
                        r.push(
                            "",
                            &format!("allowed_roots[{i}]"),
                            format!("{} is not an existing folder", path.display()),
                        );
                    }
                    path
                })
                .collect::<Vec<_>>()
        });
        let tokens = read_tokens(&mut r, root, &base_dir);
        if tokens.is_empty() && !r.errors.iter().any(|e| e.field.starts_with("tokens")) {
            r.push(
                "",
                "tokens",
                "at least one [[tokens]] entry is required: the master's token".into(),
            );
        }
        let mut components = Vec::new();
        let mut names = HashSet::new();
        for (i, t) in r.tables(root, "components").into_iter().enumerate() {
            let p = format!("components[{i}]");
            let known = ["name", "profile", "home", "run_commands", "drill_root"];
            for (key, _) in t.iter() {
                if [
                    "backup_folder",
                    "keep",
                    "items",
                    "agent",
                    "agent_token_file",
                ]
                .contains(&key)
                {
                    r.push(
                        &p,
                        key,
                        "is set in the master's config (settings stay central) and sent with every call".into(),
                    );
                }
            }
            let central = [
                "backup_folder",
                "keep",
                "items",
                "agent",
                "agent_token_file",
            ];
            let mut allowed: Vec<&str> = known.to_vec();
            allowed.extend(central);
            r.check_keys(t, &p, &allowed);
            let name = r.string(t, &p, "name").unwrap_or_default();
            if let Err(msg) = check_new_name(&name, &mut names) {
                r.push(&p, "name", msg);
            }
            let profile = r.profile(t, &p);
            let home = match r.string(t, &p, "home") {
                Some(h) => {
                    let home = resolve(&base_dir, &h);
                    if !home.is_dir() {
                        r.push(
                            &p,
                            "home",
                            format!("{} is not an existing folder", home.display()),
                        );
                    }
                    home
                }
                None => {
                    r.push(&p, "home", "is required (the component's folder)".into());
                    PathBuf::new()
                }
            };
            let run_commands = r.boolean(t, &p, "run_commands").unwrap_or(false);
            let drill_root = r.string(t, &p, "drill_root").and_then(|d| {
                if d.is_empty() || has_dot_dot(&d) || d.contains('\0') {
                    r.push(
                        &p,
                        "drill_root",
                        format!("{d:?} must name a folder, without '..'"),
                    );
                    return None;
                }
                Some(home.join(d))
            });
            components.push(AgentComponentConfig {
                name,
                profile,
                home,
                run_commands,
                drill_root,
            });
        }
        if components.is_empty() && !r.errors.iter().any(|e| e.field.starts_with("components")) {
            r.push(
                "",
                "components",
                "at least one [[components]] entry is required".into(),
            );
        }
        if r.errors.is_empty() {
            Ok(AgentConfig {
                file: file.to_path_buf(),
                listen,
                state_dir: resolve(&base_dir, &state_dir),
                tokens,
                decision_timeout_seconds,
                tls,
                components,
                allowed_roots,
                freeze_lease_seconds,
            })
        } else {
            Err(r.errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_at_once_and_central_settings_refused() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "listen = \"nope\"\nbogus = 1\ndecision_timeout_seconds = 0\n[[components]]\nname = \"trk\"\nprofile = \"maestro-tracker\"\nhome = \"{}\"\nkeep = 3\n",
            dir.path().display()
        );
        let errs = AgentConfig::parse(&text, &dir.path().join("a.toml")).unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "listen",
            "bogus",
            "decision_timeout_seconds",
            "tokens",
            "components[0].keep",
        ] {
            assert!(fields.contains(&f), "{f} missing in {errs:?}");
        }
    }

    #[test]
    fn a_good_config_loads() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.token"), "secret\n").unwrap();
        let text = format!(
            "listen = \"127.0.0.1:0\"\n[[tokens]]\nrole = \"admin\"\ntoken_file = \"t.token\"\n[[components]]\nname = \"trk\"\nprofile = \"maestro-tracker\"\nhome = \"{}\"\n",
            dir.path().display()
        );
        let c = AgentConfig::parse(&text, &dir.path().join("a.toml")).unwrap();
        assert_eq!(c.components[0].name, "trk");
        assert_eq!(c.decision_timeout_seconds, DEFAULT_DECISION_TIMEOUT);
        assert_eq!(c.state_dir, dir.path().join("agent-data"));
        assert_eq!(c.tokens.len(), 1);
        assert_eq!(c.allowed_roots, None);
    }

    #[test]
    fn a_drill_root_is_resolved_against_the_home_and_never_has_dot_dot() {
        let dir = tempfile::tempdir().unwrap();
        let text = |root: &str| {
            format!(
                "[[tokens]]\nrole = \"admin\"\nsha256 = \"{}\"\n[[components]]\nname = \"trk\"\nprofile = \"maestro-tracker\"\nhome = \"{}\"\n{root}",
                "ab".repeat(32),
                dir.path().display()
            )
        };
        let file = dir.path().join("a.toml");
        let c = AgentConfig::parse(&text(""), &file).unwrap();
        assert_eq!(c.components[0].drill_root, None);
        let c = AgentConfig::parse(&text("drill_root = \"scratch\"\n"), &file).unwrap();
        assert_eq!(c.components[0].drill_root, Some(dir.path().join("scratch")));
        let c = AgentConfig::parse(&text("drill_root = \"/srv/d\"\n"), &file).unwrap();
        assert_eq!(c.components[0].drill_root, Some(PathBuf::from("/srv/d")));
        let errs = AgentConfig::parse(&text("drill_root = \"../x\"\n"), &file).unwrap_err();
        assert!(
            errs.iter().any(|e| e.field == "components[0].drill_root"),
            "{errs:?}"
        );
    }

    #[test]
    fn allowed_roots_are_existing_folders() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("bk")).unwrap();
        let text = |roots: &str| {
            format!(
                "allowed_roots = {roots}\n[[tokens]]\nrole = \"admin\"\nsha256 = \"{}\"\n[[components]]\nname = \"trk\"\nprofile = \"maestro-tracker\"\nhome = \"{}\"\n",
                "ab".repeat(32),
                dir.path().display()
            )
        };
        let file = dir.path().join("a.toml");
        let c = AgentConfig::parse(&text("[\"bk\"]"), &file).unwrap();
        assert_eq!(c.allowed_roots, Some(vec![dir.path().join("bk")]));
        for (bad, field) in [
            ("[]", "allowed_roots"),
            ("[\"nope\"]", "allowed_roots[0]"),
            ("[\"bk\", \"../x\"]", "allowed_roots[1]"),
            ("\"bk\"", "allowed_roots"),
        ] {
            let errs = AgentConfig::parse(&text(bad), &file).unwrap_err();
            assert!(errs.iter().any(|e| e.field == field), "{bad}: {errs:?}");
        }
    }
}
