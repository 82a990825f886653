//! The config file: loading with every error at once (key and line), semantic validation shared
//! with the API, and atomic write-back through `toml_edit` that keeps the operator's comments.
//!
//! Loading walks the parsed document by hand rather than through `serde(deny_unknown_fields)`:
//! serde stops at the first problem, while an operator fixing a config wants the whole list.
//! The same [`validate`] runs for a file at start-up and for a candidate built from an API
//! request, so the API refuses exactly what start-up would refuse.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml_edit::{DocumentMut, ImDocument, Item, Table};
use utoipa::ToSchema;

use crate::engine::{folder_check, ComponentSpec, Profile};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_STATE_DIR: &str = "backup-master-data";
pub const DEFAULT_CONFIG_FILE: &str = "backup-master.toml";
pub const MAX_KEEP: u32 = 100;
pub const MAX_HOOK_TIMEOUT: u64 = 7 * 24 * 3600;
/// Default and most of `max_stream_subscribers`.
pub const DEFAULT_STREAM_SUBSCRIBERS: usize = 64;
pub const MAX_STREAM_SUBSCRIBERS: usize = 10_000;

/// Roles, weakest first: each includes the rights of those before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Operator,
    Admin,
}

impl Role {
    fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A bearer token as the server keeps it: its role and the SHA-256 of the secret, never the secret.
#[derive(Clone, Debug)]
pub struct TokenSpec {
    pub role: Role,
    pub sha256: [u8; 32],
}

/// The `[schedule]` table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSettings {
    /// Whether the daily backup runs.
    pub enabled: bool,
    /// Local time of the daily backup, exactly `hh:mm`, 00:00 to 23:59.
    #[schema(example = "02:00", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub daily_time: String,
    /// IANA time zone name; empty means the machine's local zone.
    #[schema(example = "Europe/Berlin")]
    pub time_zone: String,
    /// Run once at start-up when the last scheduled run was missed while the server was down.
    pub catch_up: bool,
}

impl Default for ScheduleSettings {
    fn default() -> Self {
        ScheduleSettings {
            enabled: true,
            daily_time: "02:00".into(),
            time_zone: String::new(),
            catch_up: true,
        }
    }
}

/// The `[hooks]` table: commands run after each backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HookSettings {
    /// Command run after a successful backup; empty: nothing runs. Split like a shell would, no shell.
    #[schema(example = "/opt/scripts/to-tape.sh --all")]
    pub on_success: String,
    /// Command run after a failed, cancelled or interrupted backup; empty: nothing runs.
    #[schema(example = "/opt/scripts/page-admin.sh")]
    pub on_failure: String,
    /// Working folder of both commands (must exist); empty: the home of the `maestro-hub`
    /// component (the state dir when there is none on this machine).
    pub work_folder: String,
    /// Seconds after which the command's whole process group is killed, 1 to 604800 (a week).
    #[schema(example = 3600, minimum = 1, maximum = 604800)]
    pub timeout_seconds: u64,
    /// Names of variables of the master's environment the commands also get. They get no other
    /// variable of it: only `PATH`, `HOME`, `LANG`, the `BACKUP_*` variables the master sets,
    /// and these. Each a plain name (`[A-Za-z_][A-Za-z0-9_]*`), not `BACKUP_*`. Optional:
    /// absent means none.
    #[serde(default)]
    #[schema(example = json!(["TAPE_DEVICE", "TZ"]))]
    pub env: Vec<String>,
}

impl Default for HookSettings {
    fn default() -> Self {
        HookSettings {
            on_success: String::new(),
            on_failure: String::new(),
            work_folder: String::new(),
            timeout_seconds: 3600,
            env: Vec::new(),
        }
    }
}

/// One `[[components]]` entry as written in the file (paths unresolved).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComponentConfig {
    pub name: String,
    pub profile: Profile,
    pub home: Option<String>,
    pub backup_folder: String,
    pub keep: u32,
    pub items: Option<Vec<String>>,
    pub agent: Option<String>,
    pub agent_token_file: Option<String>,
    /// PEM file of the CA that signed the agent's certificate (https agents with a private CA).
    pub agent_ca_file: Option<String>,
}

/// The whole configuration, loaded and validated.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file settings are written back to.
    pub file: PathBuf,
    /// The folder relative paths are resolved against (the file's folder).
    pub base_dir: PathBuf,
    pub listen: String,
    pub state_dir: PathBuf,
    pub tokens: Vec<TokenSpec>,
    pub schedule: ScheduleSettings,
    pub hooks: HookSettings,
    pub components: Vec<ComponentConfig>,
    pub metrics_public: bool,
    /// Most clients following one event stream (a backup's events, a hook's output) at once.
    pub max_stream_subscribers: usize,
}

/// Errors found while loading: each names the key (and its line where the file has one).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is invalid:\n{}", list(.errors))]
    Invalid {
        path: PathBuf,
        errors: Vec<FieldError>,
    },
    #[error("cannot write config file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn list(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("  - {}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        load_with(path, Config::parse)
    }

    /// Parses config text as if it were the file `file`; every error at once.
    pub fn parse(text: &str, file: &Path) -> Result<Config, Vec<FieldError>> {
        let (base_dir, doc, mut r) = begin_parse(text, file)?;
        let root = doc.as_table();
        r.check_keys(
            root,
            "",
            &[
                "listen",
                "state_dir",
                "tokens",
                "schedule",
                "hooks",
                "components",
                "metrics_public",
                "max_stream_subscribers",
            ],
        );
        let listen = r
            .string(root, "", "listen")
            .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        let state_dir = r
            .string(root, "", "state_dir")
            .unwrap_or_else(|| DEFAULT_STATE_DIR.to_string());
        let metrics_public = r.boolean(root, "", "metrics_public").unwrap_or(false);
        let max_stream_subscribers = match r.integer(root, "", "max_stream_subscribers") {
            None => DEFAULT_STREAM_SUBSCRIBERS,
            Some(n) => match usize::try_from(n) {
                Ok(n) if (1..=MAX_STREAM_SUBSCRIBERS).contains(&n) => n,
                _ => {
                    r.push(
                        "",
                        "max_stream_subscribers",
                        format!("must be between 1 and {MAX_STREAM_SUBSCRIBERS}"),
                    );
                    DEFAULT_STREAM_SUBSCRIBERS
                }
            },
        };

        let tokens = read_tokens(&mut r, root, &base_dir);

        let schedule = match r.table(root, "schedule") {
            Some(t) => {
                r.check_keys(
                    t,
                    "schedule",
                    &["enabled", "daily_time", "time_zone", "catch_up"],
                );
                let d = ScheduleSettings::default();
                ScheduleSettings {
                    enabled: r.boolean(t, "schedule", "enabled").unwrap_or(d.enabled),
                    daily_time: r
                        .string(t, "schedule", "daily_time")
                        .unwrap_or(d.daily_time),
                    time_zone: r.string(t, "schedule", "time_zone").unwrap_or(d.time_zone),
                    catch_up: r.boolean(t, "schedule", "catch_up").unwrap_or(d.catch_up),
                }
            }
            None => ScheduleSettings::default(),
        };
        let hooks = match r.table(root, "hooks") {
            Some(t) => {
                r.check_keys(
                    t,
                    "hooks",
                    &[
                        "on_success",
                        "on_failure",
                        "work_folder",
                        "timeout_seconds",
                        "env",
                    ],
                );
                let d = HookSettings::default();
                HookSettings {
                    on_success: r.string(t, "hooks", "on_success").unwrap_or(d.on_success),
                    on_failure: r.string(t, "hooks", "on_failure").unwrap_or(d.on_failure),
                    work_folder: r.string(t, "hooks", "work_folder").unwrap_or(d.work_folder),
                    timeout_seconds: r
                        .integer(t, "hooks", "timeout_seconds")
                        .map(|v| v.max(0) as u64)
                        .unwrap_or(d.timeout_seconds),
                    env: r.string_array(t, "hooks", "env").unwrap_or(d.env),
                }
            }
            None => HookSettings::default(),
        };

        let mut components = Vec::new();
        for (i, t) in r.tables(root, "components").into_iter().enumerate() {
            let p = format!("components[{i}]");
            r.check_keys(
                t,
                &p,
                &[
                    "name",
                    "profile",
                    "home",
                    "backup_folder",
                    "keep",
                    "items",
                    "agent",
                    "agent_token_file",
                    "agent_ca_file",
                ],
            );
            let name = r.string(t, &p, "name").unwrap_or_else(|| {
                r.push(&p, "name", "is required".into());
                String::new()
            });
            let profile = match r.string(t, &p, "profile") {
                Some(s) => match parse_profile(&s) {
                    Some(p) => p,
                    None => {
                        r.push(
                            &p,
                            "profile",
                            format!("unknown profile {s:?}; one of maestro-hub, maestro-lui, maestro-tracker, custom"),
                        );
                        Profile::Custom
                    }
                },
                None => {
                    r.push(&p, "profile", "is required".into());
                    Profile::Custom
                }
            };
            let keep = match r.integer(t, &p, "keep") {
                Some(k) if (0..=MAX_KEEP as i64).contains(&k) => k as u32,
                Some(_) => {
                    r.push(&p, "keep", format!("must be between 0 and {MAX_KEEP}"));
                    0
                }
                None => 3,
            };
            components.push(ComponentConfig {
                name,
                profile,
                home: r.string(t, &p, "home"),
                backup_folder: r
                    .string(t, &p, "backup_folder")
                    .unwrap_or_else(|| "backup".to_string()),
                keep,
                items: r.string_array(t, &p, "items"),
                agent: r.string(t, &p, "agent"),
                agent_token_file: r.string(t, &p, "agent_token_file"),
                agent_ca_file: r.string(t, &p, "agent_ca_file"),
            });
        }

        let cfg = Config {
            file: file.to_path_buf(),
            state_dir: resolve(&base_dir, &state_dir),
            base_dir,
            listen,
            tokens,
            schedule,
            hooks,
            components,
            metrics_public,
            max_stream_subscribers,
        };
        let mut errors = r.errors;
        // Semantic checks only where the file parsed: a type error already said what is wrong.
        let semantic: Vec<FieldError> = validate(&cfg)
            .into_iter()
            .filter(|e| !errors.iter().any(|x| x.field == e.field))
            .collect();
        errors.extend(semantic);
        if cfg.tokens.is_empty() && !errors.iter().any(|e| e.field.starts_with("tokens")) {
            errors.push(FieldError::new(
                "tokens",
                "at least one [[tokens]] entry is required: without one nobody can use the API",
            ));
        }
        if errors.is_empty() {
            Ok(cfg)
        } else {
            Err(errors)
        }
    }

    /// The folder a component's home resolves to (local components only).
    pub fn home_of(&self, c: &ComponentConfig) -> Option<PathBuf> {
        c.home.as_deref().map(|h| resolve(&self.base_dir, h))
    }

    /// The folder hooks run in: `work_folder`; empty means the home of the (first)
    /// `maestro-hub` component on this machine, as the administration hub runs its external
    /// processes in its own home (Maestro admin manual, 11.2), and the state dir when there is none.
    pub fn hook_work_folder(&self) -> PathBuf {
        if !self.hooks.work_folder.is_empty() {
            return resolve(&self.base_dir, &self.hooks.work_folder);
        }
        self.components
            .iter()
            .filter(|c| c.profile == Profile::MaestroHub)
            .find_map(|c| self.home_of(c))
            .unwrap_or_else(|| self.state_dir.clone())
    }

    /// What the engine needs to know of each component. A remote component (agent) has no
    /// home here: its spec's `home` is empty and its `backup_folder` is as configured, relative
    /// to the home on the agent's machine (see [`ComponentSpec::is_remote`]).
    pub fn component_specs(&self) -> Vec<ComponentSpec> {
        self.components
            .iter()
            .map(|c| match self.home_of(c) {
                Some(home) => ComponentSpec {
                    name: c.name.clone(),
                    profile: c.profile,
                    backup_folder: resolve(&home, &c.backup_folder),
                    home,
                    keep: c.keep,
                    items: items_of(c),
                },
                None => ComponentSpec {
                    name: c.name.clone(),
                    profile: c.profile,
                    backup_folder: PathBuf::from(&c.backup_folder),
                    home: PathBuf::new(),
                    keep: c.keep,
                    items: items_of(c),
                },
            })
            .collect()
    }

    /// The bearer token the master presents to a remote component's agent: the contents of
    /// `agent_token_file` (relative to the config folder), else the environment variable
    /// [`agent_token_env`]. Never logged, never returned by the API.
    pub fn agent_token(&self, c: &ComponentConfig) -> Result<String, String> {
        match &c.agent_token_file {
            Some(f) => read_token_file(&resolve(&self.base_dir, f)),
            None => {
                let var = agent_token_env(&c.name);
                match std::env::var(&var) {
                    Ok(t) if !t.trim().is_empty() => Ok(t.trim().to_string()),
                    _ => Err(format!(
                        "a remote component needs agent_token_file, or its token in the environment variable {var}"
                    )),
                }
            }
        }
    }
}

/// The environment variable holding a remote component's agent token when the config gives no
/// `agent_token_file`: `BACKUP_MASTER_AGENT_TOKEN_<NAME>`, the name upper-cased with `-` as `_`.
pub fn agent_token_env(name: &str) -> String {
    format!(
        "BACKUP_MASTER_AGENT_TOKEN_{}",
        name.to_ascii_uppercase().replace('-', "_")
    )
}

/// Checks an agent URL: `http://` or `https://`, a host, nothing after the path.
pub fn check_agent_url(url: &str) -> Result<reqwest::Url, String> {
    let u = reqwest::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(format!("{url:?} must start with http:// or https://"));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(format!("{url:?} names no host"));
    }
    if u.query().is_some() || u.fragment().is_some() || !u.username().is_empty() {
        return Err(format!(
            "{url:?} must be just scheme://host:port (no user, query or fragment)"
        ));
    }
    Ok(u)
}

/// Reads `path` and parses it with `parse` (the master's or the agent's), naming the file in
/// every error.
pub(crate) fn load_with<T>(
    path: &Path,
    parse: impl FnOnce(&str, &Path) -> Result<T, Vec<FieldError>>,
) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let abs = absolute(path);
    parse(&text, &abs).map_err(|errors| ConfigError::Invalid { path: abs, errors })
}

/// The common start of parsing a config file: its folder, the TOML document (a syntax error
/// is one error naming its line), and a reader collecting field errors.
pub(crate) fn begin_parse<'t>(
    text: &'t str,
    file: &Path,
) -> Result<(PathBuf, ImDocument<String>, Reader<'t>), Vec<FieldError>> {
    let base_dir = file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let doc = ImDocument::parse(text.to_string()).map_err(|e| {
        let line = e
            .span()
            .map(|s| format!(" (line {})", line_of(text, s.start)))
            .unwrap_or_default();
        vec![FieldError::new(
            "file",
            format!("TOML syntax error{line}: {}", e.message()),
        )]
    })?;
    Ok((
        base_dir,
        doc,
        Reader {
            text,
            errors: Vec::new(),
        },
    ))
}

/// The items a component backs up: its profile's, or the configured ones for `custom`.
pub fn items_of(c: &ComponentConfig) -> Vec<String> {
    match c.profile {
        Profile::Custom => c.items.clone().unwrap_or_default(),
        p => p.default_items().iter().map(|s| s.to_string()).collect(),
    }
}

pub fn parse_profile(s: &str) -> Option<Profile> {
    match s {
        "maestro-hub" => Some(Profile::MaestroHub),
        "maestro-lui" => Some(Profile::MaestroLui),
        "maestro-tracker" => Some(Profile::MaestroTracker),
        "custom" => Some(Profile::Custom),
        _ => None,
    }
}

pub fn profile_name(p: Profile) -> &'static str {
    match p {
        Profile::MaestroHub => "maestro-hub",
        Profile::MaestroLui => "maestro-lui",
        Profile::MaestroTracker => "maestro-tracker",
        Profile::Custom => "custom",
    }
}

/// Semantic validation shared by start-up and the API. Field paths are those of the file
/// (`schedule.daily_time`, `components[2].keep`).
pub fn validate(cfg: &Config) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if cfg.listen.parse::<SocketAddr>().is_err() {
        errors.push(FieldError::new(
            "listen",
            "must be an address like 127.0.0.1:8080",
        ));
    }
    errors.extend(validate_schedule(&cfg.schedule, "schedule"));
    errors.extend(validate_hooks(&cfg.hooks, &cfg.base_dir, "hooks"));
    errors.extend(validate_components(cfg));
    errors
}

/// The schedule rules are the scheduler's own (`crate::schedule`), so the API refuses exactly
/// what the scheduler could not run.
pub fn validate_schedule(s: &ScheduleSettings, prefix: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Err(msg) = crate::schedule::parse_daily_time(&s.daily_time) {
        errors.push(FieldError::new(format!("{prefix}.daily_time"), msg));
    }
    if !s.time_zone.is_empty() {
        if let Err(msg) = crate::schedule::validate_time_zone(&s.time_zone) {
            errors.push(FieldError::new(
                format!("{prefix}.time_zone"),
                format!("{msg}; use an IANA name such as Europe/Berlin, or empty for the machine's zone"),
            ));
        }
    }
    errors
}

pub fn validate_hooks(h: &HookSettings, base_dir: &Path, prefix: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (key, cmd) in [("on_success", &h.on_success), ("on_failure", &h.on_failure)] {
        if cmd.contains('\0') {
            errors.push(FieldError::new(
                format!("{prefix}.{key}"),
                "must not contain NUL",
            ));
        } else if let Err(e) = shell_words::split(cmd) {
            errors.push(FieldError::new(
                format!("{prefix}.{key}"),
                format!("cannot be split into arguments: {e}"),
            ));
        }
    }
    if !h.work_folder.is_empty() {
        let field = format!("{prefix}.work_folder");
        if has_dot_dot(&h.work_folder) {
            errors.push(FieldError::new(field, "must not contain '..'"));
        } else if !resolve(base_dir, &h.work_folder).is_dir() {
            errors.push(FieldError::new(
                field,
                format!("{:?} is not an existing folder", h.work_folder),
            ));
        }
    }
    if h.timeout_seconds == 0 || h.timeout_seconds > MAX_HOOK_TIMEOUT {
        errors.push(FieldError::new(
            format!("{prefix}.timeout_seconds"),
            format!("must be between 1 and {MAX_HOOK_TIMEOUT}"),
        ));
    }
    if h.env.len() > MAX_HOOK_ENV {
        errors.push(FieldError::new(
            format!("{prefix}.env"),
            format!("lists {} names; at most {MAX_HOOK_ENV}", h.env.len()),
        ));
    }
    let mut seen = HashSet::new();
    for (i, name) in h.env.iter().enumerate() {
        let field = format!("{prefix}.env[{i}]");
        if let Err(msg) = check_env_name(name) {
            errors.push(FieldError::new(field, msg));
        } else if !seen.insert(name.as_str()) {
            errors.push(FieldError::new(field, format!("{name:?} is listed twice")));
        }
    }
    errors
}

/// Most names in `hooks.env`.
pub const MAX_HOOK_ENV: usize = 100;

/// A name `hooks.env` may list: a plain variable name, and not one the master sets itself
/// (`BACKUP_*`, which also covers the master's own `BACKUP_MASTER_*` secrets).
fn check_env_name(name: &str) -> Result<(), String> {
    let plain = (1..=128).contains(&name.len())
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !plain {
        return Err(format!(
            "{name:?} is not a variable name: 1 to 128 of A-Z, a-z, 0-9 and '_', not starting with a digit"
        ));
    }
    if name.starts_with("BACKUP_") {
        return Err(format!(
            "{name:?}: BACKUP_* variables are set by the master itself and never passed on"
        ));
    }
    Ok(())
}

/// A component name: `[a-z0-9_-]{1,32}`.
pub fn valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn validate_components(cfg: &Config) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut names = HashSet::new();
    if cfg.components.is_empty() {
        errors.push(FieldError::new(
            "components",
            "at least one [[components]] entry is required",
        ));
    }
    // Where every local component's folders are, for the one folder check below.
    let site = site_of(cfg);
    // (index, backup folder) of each local component whose folder is checked.
    let mut placed: Vec<(usize, PathBuf)> = Vec::new();
    for (i, c) in cfg.components.iter().enumerate() {
        let p = format!("components[{i}]");
        let mut err =
            |key: &str, msg: String| errors.push(FieldError::new(format!("{p}.{key}"), msg));
        if !valid_name(&c.name) {
            err(
                "name",
                format!("{:?} must be 1 to 32 of a-z, 0-9, '_' and '-'", c.name),
            );
        } else if !names.insert(c.name.clone()) {
            err("name", format!("{:?} is used by two components", c.name));
        }
        if c.keep > MAX_KEEP {
            err("keep", format!("must be between 0 and {MAX_KEEP}"));
        }
        match (c.profile, &c.items) {
            (Profile::Custom, None) => err("items", "profile custom needs a list of items".into()),
            (Profile::Custom, Some(items)) if items.is_empty() => {
                err("items", "profile custom needs at least one item".into())
            }
            (Profile::Custom, Some(items)) => {
                let mut seen = HashSet::new();
                for (j, item) in items.iter().enumerate() {
                    if let Err(msg) = check_relative(item) {
                        errors.push(FieldError::new(format!("{p}.items[{j}]"), msg));
                    } else if RESERVED_NAMES.contains(&item.trim_end_matches('/')) {
                        errors.push(FieldError::new(
                            format!("{p}.items[{j}]"),
                            format!("{item:?} is a name the backup folder itself uses"),
                        ));
                    } else if !seen.insert(item.trim_end_matches('/').to_string()) {
                        errors.push(FieldError::new(
                            format!("{p}.items[{j}]"),
                            format!("{item:?} is listed twice"),
                        ));
                    }
                }
            }
            (_, Some(_)) => err(
                "items",
                format!(
                    "only profile custom lists items; {} backs up {}",
                    profile_name(c.profile),
                    c.profile.default_items().join(", ")
                ),
            ),
            (_, None) => {}
        }
        let mut err =
            |key: &str, msg: String| errors.push(FieldError::new(format!("{p}.{key}"), msg));
        if c.backup_folder.is_empty() {
            err("backup_folder", "must not be empty".into());
        } else if has_dot_dot(&c.backup_folder) {
            err("backup_folder", "must not contain '..'".into());
        }
        match (&c.home, &c.agent) {
            (Some(_), Some(_)) => err(
                "agent",
                "a component is local (home) or remote (agent), not both".into(),
            ),
            (None, None) => err("home", "is required (the component's folder)".into()),
            (None, Some(url)) => {
                // The folder is on the agent's machine, which checks the rest for itself.
                if !c.backup_folder.is_empty() && !c.backup_folder.contains('\0') {
                    for p in folder_check::check_names(Path::new(&c.backup_folder)) {
                        err("backup_folder", p.to_string());
                    }
                }
                if let Err(msg) = check_agent_url(url) {
                    err("agent", msg);
                } else if c.agent_ca_file.is_some() && !url.starts_with("https://") {
                    err(
                        "agent_ca_file",
                        "only an https:// agent has a CA file".into(),
                    );
                }
                if let Err(msg) = cfg.agent_token(c) {
                    err("agent_token_file", msg);
                }
                if let Some(ca) = &c.agent_ca_file {
                    let path = resolve(&cfg.base_dir, ca);
                    match std::fs::read(&path) {
                        Ok(pem) => {
                            if reqwest::Certificate::from_pem(&pem).is_err() {
                                err(
                                    "agent_ca_file",
                                    format!("{} is not a PEM certificate", path.display()),
                                );
                            }
                        }
                        Err(e) => err(
                            "agent_ca_file",
                            format!("cannot read {}: {e}", path.display()),
                        ),
                    }
                }
            }
            (Some(home), None) => {
                let home = resolve(&cfg.base_dir, home);
                if !home.is_dir() {
                    err(
                        "home",
                        format!("{} is not an existing folder", home.display()),
                    );
                } else if !c.backup_folder.is_empty() && !has_dot_dot(&c.backup_folder) {
                    placed.push((i, resolve(&home, &c.backup_folder)));
                }
            }
        }
        if c.agent_token_file.is_some() && c.agent.is_none() {
            err(
                "agent_token_file",
                "only a remote component (agent) has a token file".into(),
            );
        }
        if c.agent_ca_file.is_some() && c.agent.is_none() {
            err(
                "agent_ca_file",
                "only a remote component (agent) has a CA file".into(),
            );
        }
    }
    for (i, folder) in placed {
        for p in folder_check::check_backup_folder(&site, &cfg.components[i].name, &folder) {
            errors.push(FieldError::new(
                format!("components[{i}].backup_folder"),
                p.to_string(),
            ));
        }
    }
    errors
}

/// The local components of `cfg` and its state dir, as [`folder_check`] sees them.
pub fn site_of(cfg: &Config) -> folder_check::Site {
    let components = cfg
        .components
        .iter()
        .filter(|c| c.agent.is_none())
        .filter_map(|c| {
            let home = cfg.home_of(c)?;
            let folder_ok = !c.backup_folder.is_empty() && !has_dot_dot(&c.backup_folder);
            Some(folder_check::Resident {
                name: c.name.clone(),
                backup_folder: folder_ok.then(|| resolve(&home, &c.backup_folder)),
                items: items_of(c)
                    .into_iter()
                    .filter(|it| check_relative(it).is_ok())
                    .collect(),
                home,
            })
        })
        .collect();
    folder_check::Site {
        components,
        state_dir: Some(cfg.state_dir.clone()),
        allowed_roots: None,
    }
}

/// Names inside a backup folder that the backup itself writes; no item may be called so.
const RESERVED_NAMES: [&str; 3] = ["readme.txt", "SHA256SUMS", ".backup-master-index"];

/// A path relative to a home: not empty, not absolute, no `..`, no `.` alone.
pub fn check_relative(p: &str) -> Result<(), String> {
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() || trimmed == "." {
        return Err("must name a file or folder".into());
    }
    if p.contains('\0') {
        return Err("must not contain NUL".into());
    }
    if Path::new(p).is_absolute() {
        return Err("must be relative to the home".into());
    }
    if has_dot_dot(p) {
        return Err("must not contain '..'".into());
    }
    Ok(())
}

pub fn has_dot_dot(p: &str) -> bool {
    Path::new(p)
        .components()
        .any(|c| matches!(c, Component::ParentDir))
}

/// `p` if absolute, else `base/p`; lexically cleaned of `.` parts.
pub fn resolve(base: &Path, p: &str) -> PathBuf {
    let joined = if Path::new(p).is_absolute() {
        PathBuf::from(p)
    } else {
        base.join(p)
    };
    joined
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

pub(crate) fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        return p.to_path_buf();
    }
    match std::env::current_dir() {
        Ok(cwd) => resolve(&cwd, &p.to_string_lossy()),
        Err(_) => p.to_path_buf(),
    }
}

pub fn sha256_of(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn decode_sha256(s: &str) -> Option<[u8; 32]> {
    let v = hex::decode(s.trim()).ok()?;
    v.try_into().ok()
}

pub(crate) fn read_token_file(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let token = text.trim().to_string();
    if token.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(token)
}

pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The `[[tokens]]` entries of a document (the master's and the agent's share the schema).
pub(crate) fn read_tokens(r: &mut Reader<'_>, root: &Table, base_dir: &Path) -> Vec<TokenSpec> {
    let mut tokens = Vec::new();
    for (i, t) in r.tables(root, "tokens").into_iter().enumerate() {
        let p = format!("tokens[{i}]");
        r.check_keys(t, &p, &["role", "sha256", "token_file"]);
        let role = r.string(t, &p, "role");
        let sha = r.string(t, &p, "sha256");
        let file = r.string(t, &p, "token_file");
        let role = match role.as_deref().map(|s| (s, Role::parse(s))) {
            Some((_, Some(role))) => Some(role),
            Some((s, None)) => {
                r.push(
                    &p,
                    "role",
                    format!("unknown role {s:?}; one of viewer, operator, admin"),
                );
                None
            }
            None => {
                r.push(&p, "role", "is required".into());
                None
            }
        };
        let digest = match (sha, file) {
            (Some(_), Some(_)) => {
                r.push(
                    &p,
                    "token_file",
                    "give sha256 or token_file, not both".into(),
                );
                None
            }
            (None, None) => {
                r.push(&p, "sha256", "give sha256 or token_file".into());
                None
            }
            (Some(hexed), None) => match decode_sha256(&hexed) {
                Some(d) => Some(d),
                None => {
                    r.push(&p, "sha256", "must be 64 hex digits".into());
                    None
                }
            },
            (None, Some(f)) => match read_token_file(&resolve(base_dir, &f)) {
                Ok(secret) => Some(sha256_of(secret.as_bytes())),
                Err(msg) => {
                    r.push(&p, "token_file", msg);
                    None
                }
            },
        };
        if let (Some(role), Some(sha256)) = (role, digest) {
            tokens.push(TokenSpec { role, sha256 });
        }
    }
    tokens
}

/// Walks the document, collecting type errors with their key and line.
pub(crate) struct Reader<'a> {
    pub(crate) text: &'a str,
    pub(crate) errors: Vec<FieldError>,
}

impl Reader<'_> {
    pub(crate) fn push(&mut self, prefix: &str, key: &str, message: String) {
        self.errors
            .push(FieldError::new(join(prefix, key), message));
    }

    pub(crate) fn at(&self, item: &Item) -> String {
        item.span()
            .map(|s| format!(" (line {})", line_of(self.text, s.start)))
            .unwrap_or_default()
    }

    pub(crate) fn check_keys(&mut self, t: &Table, prefix: &str, allowed: &[&str]) {
        for (key, _) in t.iter() {
            if !allowed.contains(&key) {
                let line = t
                    .key(key)
                    .and_then(|k| k.span())
                    .map(|s| format!(" (line {})", line_of(self.text, s.start)))
                    .unwrap_or_default();
                self.errors.push(FieldError::new(
                    join(prefix, key),
                    format!("unknown key{line}; known keys here: {}", allowed.join(", ")),
                ));
            }
        }
    }

    pub(crate) fn string(&mut self, t: &Table, prefix: &str, key: &str) -> Option<String> {
        let item = t.get(key)?;
        match item.as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                let at = self.at(item);
                self.push(prefix, key, format!("must be a string{at}"));
                None
            }
        }
    }

    pub(crate) fn boolean(&mut self, t: &Table, prefix: &str, key: &str) -> Option<bool> {
        let item = t.get(key)?;
        match item.as_bool() {
            Some(b) => Some(b),
            None => {
                let at = self.at(item);
                self.push(prefix, key, format!("must be true or false{at}"));
                None
            }
        }
    }

    pub(crate) fn integer(&mut self, t: &Table, prefix: &str, key: &str) -> Option<i64> {
        let item = t.get(key)?;
        match item.as_integer() {
            Some(i) => Some(i),
            None => {
                let at = self.at(item);
                self.push(prefix, key, format!("must be a whole number{at}"));
                None
            }
        }
    }

    pub(crate) fn string_array(
        &mut self,
        t: &Table,
        prefix: &str,
        key: &str,
    ) -> Option<Vec<String>> {
        let item = t.get(key)?;
        let at = self.at(item);
        let Some(arr) = item.as_array() else {
            self.push(prefix, key, format!("must be a list of strings{at}"));
            return None;
        };
        let mut out = Vec::new();
        for v in arr.iter() {
            match v.as_str() {
                Some(s) => out.push(s.to_string()),
                None => {
                    self.push(prefix, key, format!("must be a list of strings{at}"));
                    return None;
                }
            }
        }
        Some(out)
    }

    pub(crate) fn table<'t>(&mut self, t: &'t Table, key: &str) -> Option<&'t Table> {
        let item = t.get(key)?;
        match item.as_table() {
            Some(tab) => Some(tab),
            None => {
                let at = self.at(item);
                self.push("", key, format!("must be a table [{key}]{at}"));
                None
            }
        }
    }

    pub(crate) fn tables<'t>(&mut self, t: &'t Table, key: &str) -> Vec<&'t Table> {
        let Some(item) = t.get(key) else {
            return Vec::new();
        };
        match item.as_array_of_tables() {
            Some(arr) => arr.iter().collect(),
            None => {
                let at = self.at(item);
                self.push("", key, format!("must be a list of tables [[{key}]]{at}"));
                Vec::new()
            }
        }
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

// ---------------------------------------------------------------------------------------------
// Write-back

/// Sets `key = value` in `t`, keeping the comment and spacing around the old value. A comment
/// after the value stays in its column (aligned with its neighbours') when the new value is
/// wider or narrower, and keeps at least one space before it.
fn set_value(t: &mut Table, key: &str, new: impl Into<toml_edit::Value>) {
    let mut new: toml_edit::Value = new.into();
    if let Some(old) = t.get(key).and_then(Item::as_value) {
        let mut decor = old.decor().clone();
        let suffix = decor.suffix().and_then(|s| s.as_str()).map(str::to_string);
        if let Some(suffix) = suffix {
            if let Some(realigned) = realign_comment(&suffix, &bare(old), &bare(&new)) {
                decor.set_suffix(realigned);
            }
        }
        *new.decor_mut() = decor;
    }
    t.insert(key, Item::Value(new));
}

/// A value as written, without the spacing and comment around it.
fn bare(v: &toml_edit::Value) -> String {
    let mut v = v.clone();
    v.decor_mut().clear();
    v.to_string()
}

/// The suffix after a value (`   # comment`) for a value written as `new` instead of `old`:
/// the spaces before the comment grow or shrink by the difference in width, one at least.
/// `None` (keep the suffix as it is) when there is no comment, the spacing is not plain
/// spaces, or a value spans lines.
fn realign_comment(suffix: &str, old: &str, new: &str) -> Option<String> {
    let comment = suffix.trim_start_matches(' ');
    if !comment.starts_with('#') || old.contains('\n') || new.contains('\n') {
        return None;
    }
    let spaces = suffix.len() - comment.len();
    let column = spaces + old.chars().count();
    let spaces = column.saturating_sub(new.chars().count()).max(1);
    Some(format!("{}{comment}", " ".repeat(spaces)))
}

fn table_mut<'d>(doc: &'d mut DocumentMut, key: &str) -> Result<&'d mut Table, String> {
    doc.entry(key)
        .or_insert_with(|| Item::Table(Table::new()))
        .as_table_mut()
        .ok_or_else(|| format!("{key} is not a table in the file"))
}

/// The config text with `schedule` and `hooks` replaced, everything else (comments too) kept.
pub fn edit_settings(
    text: &str,
    schedule: &ScheduleSettings,
    hooks: &HookSettings,
) -> Result<String, String> {
    let mut doc: DocumentMut = text.parse().map_err(|e| format!("{e}"))?;
    let s = table_mut(&mut doc, "schedule")?;
    set_value(s, "enabled", schedule.enabled);
    set_value(s, "daily_time", schedule.daily_time.as_str());
    set_value(s, "time_zone", schedule.time_zone.as_str());
    set_value(s, "catch_up", schedule.catch_up);
    let h = table_mut(&mut doc, "hooks")?;
    set_value(h, "on_success", hooks.on_success.as_str());
    set_value(h, "on_failure", hooks.on_failure.as_str());
    set_value(h, "work_folder", hooks.work_folder.as_str());
    set_value(h, "timeout_seconds", hooks.timeout_seconds as i64);
    // Written only when there is something to say or the file already has the key.
    if !hooks.env.is_empty() || h.contains_key("env") {
        let arr: toml_edit::Array = hooks.env.iter().map(String::as_str).collect();
        set_value(h, "env", arr);
    }
    Ok(doc.to_string())
}

/// The config text with component `index`'s `backup_folder`, `keep` and `items` replaced.
pub fn edit_component(
    text: &str,
    index: usize,
    backup_folder: &str,
    keep: u32,
    items: Option<&[String]>,
) -> Result<String, String> {
    let mut doc: DocumentMut = text.parse().map_err(|e| format!("{e}"))?;
    let t = doc
        .get_mut("components")
        .and_then(Item::as_array_of_tables_mut)
        .and_then(|a| a.get_mut(index))
        .ok_or_else(|| format!("components[{index}] not found in the file"))?;
    set_value(t, "backup_folder", backup_folder);
    set_value(t, "keep", keep as i64);
    if let Some(items) = items {
        let arr: toml_edit::Array = items.iter().map(String::as_str).collect();
        set_value(t, "items", arr);
    }
    Ok(doc.to_string())
}

/// Replaces `path` with `text` atomically: temp file in the same folder, fsync, rename, fsync
/// of the folder. A reader sees the old or the new file, never a mix.
pub fn write_atomic(path: &Path, text: &[u8]) -> std::io::Result<()> {
    // keep the operator's permissions on the file (a config may hold secrets' paths)
    crate::toolkit::fsutil::write_atomic_keeping_mode(path, text).map_err(|e| e.source)
}

// ---------------------------------------------------------------------------------------------
// The embedded default

/// The config the server writes on first start without a config file: three demo components
/// under `demo/`, an admin token in `admin.token`. Paths are relative to the state dir, where
/// this file itself lives, so the whole setup moves with the folder.
pub fn embedded_default_text(listen: &str) -> String {
    format!(
        r#"# backup-master: the embedded default, written on first start.
# Edit freely (restart to apply) or change schedule/hooks/components through the API.
listen = "{listen}"
state_dir = "."                        # this folder: logs/, job records, hook output

[[tokens]]                             # the admin token printed at first start
role = "admin"
token_file = "admin.token"

[schedule]
enabled = true
daily_time = "02:00"                   # hh:mm, 00:00..23:59
time_zone = ""                         # IANA name; empty: the machine's local zone
catch_up = true                        # run once at start-up if a scheduled run was missed

[hooks]                                # commands run after each backup; here the demo hook
on_success = "sh demo-hook.sh"         # after a successful backup
on_failure = "sh demo-hook.sh"         # after a failed, cancelled or interrupted one
work_folder = "demo"                   # where hooks run; empty: the hub component's home
timeout_seconds = 3600                 # then the hook's process group is killed

[[components]]
name = "hub"
profile = "maestro-hub"
home = "demo/hub"
backup_folder = "backup"               # relative to home
keep = 3

[[components]]
name = "lui"
profile = "maestro-lui"
home = "demo/lui"
backup_folder = "backup"
keep = 3

[[components]]
name = "trk"
profile = "maestro-tracker"
home = "demo/trk"
backup_folder = "backup"
keep = 3
"#
    )
}

/// One problem with one input field.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// The field, as a dotted path into the request (`schedule.daily_time`, `components[1].keep`)
    /// or the config file key for errors found while loading it.
    #[schema(example = "schedule.daily_time")]
    pub field: String,
    /// What is wrong with it.
    #[schema(example = "must be hh:mm between 00:00 and 23:59")]
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg_text(home: &Path, extra: &str) -> String {
        format!(
            r#"
listen = "127.0.0.1:0"
[[tokens]]
role = "admin"
sha256 = "{}"
{extra}
[[components]]
name = "hub"
profile = "maestro-hub"
home = "{}"
"#,
            hex::encode(sha256_of(b"t")),
            home.display()
        )
    }

    #[test]
    fn all_errors_are_reported_at_once_with_lines() {
        let dir = tempfile::tempdir().unwrap();
        let text = cfg_text(
            dir.path(),
            "bogus = 1\n[schedule]\ndaily_time = \"24:00\"\ntime_zone = \"Mars/Olympus\"\n",
        );
        let errs = Config::parse(&text, &dir.path().join("c.toml")).unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"tokens[0].bogus"), "{errs:?}");
        assert!(fields.contains(&"schedule.daily_time"), "{errs:?}");
        assert!(fields.contains(&"schedule.time_zone"), "{errs:?}");
        let bogus = errs.iter().find(|e| e.field == "tokens[0].bogus").unwrap();
        assert!(bogus.message.contains("line 6"), "{}", bogus.message);
    }

    #[test]
    fn nested_and_shared_backup_folders_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        let shared = dir.path().join("shared");
        let text = format!(
            "{}\nbackup_folder = \"{}\"\n[[components]]\nname = \"lui\"\nprofile = \"maestro-lui\"\nhome = \"{}\"\nbackup_folder = \"{}\"\n",
            cfg_text(&a, ""),
            shared.display(),
            b.display(),
            shared.join("inner").display()
        );
        let errs = Config::parse(&text, &dir.path().join("c.toml")).unwrap_err();
        assert!(
            errs.iter()
                .any(|e| e.field == "components[0].backup_folder" && e.message.contains("nested")),
            "{errs:?}"
        );
    }

    #[test]
    fn backup_folder_inside_an_item_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "{}backup_folder = \"hubreg/bk\"\n",
            cfg_text(dir.path(), "")
        );
        let errs = Config::parse(&text, &dir.path().join("c.toml")).unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].field, "components[0].backup_folder");
    }

    #[test]
    fn edits_keep_comments() {
        let text = "# top\n[schedule]\ndaily_time = \"02:00\" # when\nenabled = true\n\n[hooks] # h\non_success = \"\"\n";
        let s = ScheduleSettings {
            daily_time: "03:15".into(),
            ..ScheduleSettings::default()
        };
        let out = edit_settings(text, &s, &HookSettings::default()).unwrap();
        assert!(out.starts_with("# top\n"), "{out}");
        assert!(out.contains("daily_time = \"03:15\" # when"), "{out}");
        assert!(out.contains("[hooks] # h"), "{out}");
    }

    /// The column a line's `#` comment starts in (characters), if it has one after a value.
    fn comment_column(text: &str, key: &str) -> (String, Option<usize>) {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{key} =")))
            .unwrap_or_else(|| panic!("no {key} line in:\n{text}"))
            .to_string();
        let col = line.find(" #").map(|i| line[..i + 1].chars().count());
        (line, col)
    }

    #[test]
    fn write_back_keeps_inline_comments_in_their_column() {
        let text = embedded_default_text("127.0.0.1:8080");
        let (_, col) = comment_column(&text, "time_zone");
        let col = col.unwrap();
        let schedule = ScheduleSettings {
            enabled: true,                     // same value
            daily_time: "03:15".into(),        // same width
            time_zone: "Europe/Berlin".into(), // wider
            catch_up: false,                   // one wider than `true`
        };
        let hooks = HookSettings {
            on_success: "sh".into(), // narrower
            on_failure: "/opt/scripts/page-admin.sh --all --verbose --to ops@example.org".into(), // past the column
            ..HookSettings::default()
        };
        let out = edit_settings(&text, &schedule, &hooks).unwrap();
        for key in ["daily_time", "time_zone", "catch_up", "on_success"] {
            let (line, at) = comment_column(&out, key);
            assert_eq!(at, Some(col), "{key}: the comment moved:\n{line}\n{out}");
        }
        let (line, _) = comment_column(&out, "daily_time");
        assert_eq!(
            line,
            "daily_time = \"03:15\"                   # hh:mm, 00:00..23:59"
        );
        let (line, _) = comment_column(&out, "time_zone");
        assert_eq!(
            line,
            "time_zone = \"Europe/Berlin\"            # IANA name; empty: the machine's local zone"
        );
        // A value longer than the column: one space before its comment.
        let (line, _) = comment_column(&out, "on_failure");
        assert_eq!(
            line,
            "on_failure = \"/opt/scripts/page-admin.sh --all --verbose --to ops@example.org\" \
             # after a failed, cancelled or interrupted one"
        );
        // Everything else is as it was, byte for byte.
        let changed: Vec<_> = text
            .lines()
            .zip(out.lines())
            .filter(|(a, b)| a != b)
            .map(|(a, _)| a.split(" =").next().unwrap_or(a).to_string())
            .collect();
        assert_eq!(
            changed,
            [
                "daily_time",
                "time_zone",
                "catch_up",
                "on_success",
                "on_failure",
                "work_folder"
            ]
        );
        assert_eq!(text.lines().count(), out.lines().count());
        // Written back as read, nothing changes at all.
        let demo_hooks = HookSettings {
            on_success: "sh demo-hook.sh".into(),
            on_failure: "sh demo-hook.sh".into(),
            work_folder: "demo".into(),
            ..HookSettings::default()
        };
        let again = edit_settings(&text, &ScheduleSettings::default(), &demo_hooks).unwrap();
        assert_eq!(again, text);
    }

    #[test]
    fn hook_env_names_are_checked_and_written_back() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        let ok = cfg_text(dir.path(), "[hooks]\nenv = [\"TAPE_DEVICE\", \"_X1\"]\n");
        let cfg = Config::parse(&ok, &file).unwrap();
        assert_eq!(cfg.hooks.env, ["TAPE_DEVICE", "_X1"]);
        let bad = cfg_text(
            dir.path(),
            "[hooks]\nenv = [\"1X\", \"A-B\", \"\", \"BACKUP_MASTER_AGENT_TOKEN_TRK\", \"OK\", \"OK\"]\n",
        );
        let errs = Config::parse(&bad, &file).unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "hooks.env[0]",
                "hooks.env[1]",
                "hooks.env[2]",
                "hooks.env[3]",
                "hooks.env[5]"
            ],
            "{errs:?}"
        );
        assert!(errs[3].message.contains("BACKUP_"), "{errs:?}");
        let not_list = cfg_text(dir.path(), "[hooks]\nenv = \"PATH\"\n");
        let errs = Config::parse(&not_list, &file).unwrap_err();
        assert_eq!(errs[0].field, "hooks.env", "{errs:?}");

        // Written back only when set or already present; read back the same.
        let none = edit_settings(
            &ok.replace("env = [\"TAPE_DEVICE\", \"_X1\"]\n", ""),
            &cfg.schedule,
            &HookSettings::default(),
        )
        .unwrap();
        assert!(!none.contains("env"), "{none}");
        let out = edit_settings(&ok, &cfg.schedule, &HookSettings::default()).unwrap();
        assert_eq!(
            Config::parse(&out, &file).unwrap().hooks.env,
            Vec::<String>::new()
        );
        let h = HookSettings {
            env: vec!["TZ".into()],
            ..HookSettings::default()
        };
        let out = edit_settings(&none, &cfg.schedule, &h).unwrap();
        assert_eq!(Config::parse(&out, &file).unwrap().hooks.env, ["TZ"]);
    }

    #[test]
    fn empty_work_folder_is_the_hub_home_else_the_state_dir() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        let hub = dir.path().join("hub");
        std::fs::create_dir_all(&hub).unwrap();
        let cfg = Config::parse(&cfg_text(&hub, ""), &file).unwrap();
        assert_eq!(cfg.hook_work_folder(), hub);
        let custom = cfg_text(&hub, "")
            .replace("maestro-hub", "custom")
            .replace("home = ", "items = [\"x\"]\nhome = ");
        let cfg = Config::parse(&custom, &file).unwrap();
        assert_eq!(cfg.hook_work_folder(), cfg.state_dir);
        let set = cfg_text(
            &hub,
            &format!(
                "[hooks]\nwork_folder = {:?}\n",
                dir.path().display().to_string()
            ),
        );
        let cfg = Config::parse(&set, &file).unwrap();
        assert_eq!(cfg.hook_work_folder(), dir.path());
    }

    #[test]
    fn max_stream_subscribers_has_a_default_and_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        let cfg = Config::parse(&cfg_text(dir.path(), ""), &file).unwrap();
        assert_eq!(cfg.max_stream_subscribers, DEFAULT_STREAM_SUBSCRIBERS);
        let text = format!("max_stream_subscribers = 3\n{}", cfg_text(dir.path(), ""));
        assert_eq!(
            Config::parse(&text, &file).unwrap().max_stream_subscribers,
            3
        );
        for bad in ["0", "-1", "10001", "\"many\""] {
            let text = format!(
                "max_stream_subscribers = {bad}\n{}",
                cfg_text(dir.path(), "")
            );
            let errs = Config::parse(&text, &file).unwrap_err();
            assert_eq!(errs[0].field, "max_stream_subscribers", "{bad}: {errs:?}");
        }
    }

    #[test]
    fn component_names_are_checked() {
        for ok in ["hub", "lui-2", "a_b", &"x".repeat(32)] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "Hub", "../x", "a/b", "a.b", "a b", &"x".repeat(33)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn relative_paths_are_checked() {
        assert!(check_relative("data/").is_ok());
        assert!(check_relative("a b/c.ini").is_ok());
        for bad in ["", "/", "/etc", "../x", "a/../../b", ".", "./"] {
            assert!(check_relative(bad).is_err(), "{bad}");
        }
    }
}
