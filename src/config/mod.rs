//! The config file: loading with every error at once (key and line), semantic validation shared
//! with the API, and atomic write-back through `toml_edit` that keeps the operator's comments.
//!
//! Loading walks the parsed document by hand rather than through `serde(deny_unknown_fields)`:
//! serde stops at the first problem, while an operator fixing a config wants the whole list.
//! The same [`validate`] runs for a file at start-up and for a candidate built from an API
//! request, so the API refuses exactly what start-up would refuse.

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::engine::{ComponentSpec, Profile};

mod default;
mod notify;
mod parse;
mod replication;
#[cfg(test)]
mod tests;
mod validate;
mod write_back;

pub use default::embedded_default_text;
pub use notify::{
    edit_targets, read_secret, Channel, MatchMode, Matcher, NamedTarget, NotifySettings, SmtpTls,
    Target, TargetSettings,
};
use parse::read_token_file;
pub use parse::COMPONENT_SETTINGS;
pub(crate) use parse::{begin_parse, load_with, read_tokens};
pub use replication::{
    credentials_env, edit_replication_targets, Encryption, NamedReplicationTarget, ReplicationMode,
    ReplicationTarget, ReplicationTargetSettings, S3Credentials,
};
pub(crate) use validate::check_new_name;
pub use validate::{
    check_agent_url, check_drill_root, site_of, valid_name, validate, validate_drill,
    validate_hooks, validate_schedule, AgentUrlError, MAX_HOOK_ENV,
};
pub use write_back::{edit_component, edit_drill, edit_settings, write_atomic, EditError};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_STATE_DIR: &str = "backup-master-data";
pub const DEFAULT_CONFIG_FILE: &str = "backup-master.toml";
pub const MAX_KEEP: u32 = 100;
pub const MAX_HOOK_TIMEOUT: u64 = 7 * 24 * 3600;
pub use crate::engine::consistency::{
    Consistency, SnapshotMode, DEFAULT_FREEZE_TIMEOUT, MAX_FREEZE_TIMEOUT,
};
/// Default and most of a component's `freeze_timeout_seconds`.
pub use crate::engine::lifecycle::{Lifecycle, DEFAULT_START_TIMEOUT, MAX_START_TIMEOUT};
/// Default and most of `max_stream_subscribers`.
pub const DEFAULT_STREAM_SUBSCRIBERS: usize = 64;
pub const MAX_STREAM_SUBSCRIBERS: usize = 10_000;
/// Default `audit_max_bytes`: the size at which the audit log is rotated (16 MiB).
pub const DEFAULT_AUDIT_MAX_BYTES: u64 = 16 * 1024 * 1024;
/// Least and most of `audit_max_bytes` (1 KiB to 1 GiB).
pub const MIN_AUDIT_MAX_BYTES: u64 = 1024;
pub const MAX_AUDIT_MAX_BYTES: u64 = 1024 * 1024 * 1024;

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

/// A bearer token as the server keeps it: its role, its name and the SHA-256 of the secret,
/// never the secret.
#[derive(Clone, Debug)]
pub struct TokenSpec {
    pub role: Role,
    pub sha256: [u8; 32],
    /// Who the token is in the audit log: the entry's `name`, else [`default_token_name`].
    pub name: String,
}

/// Longest `name` of a `[[tokens]]` entry.
pub const MAX_TOKEN_NAME: usize = 64;

/// The name of a token the config gives no `name`: the first 8 hex digits of its SHA-256
/// (which says nothing usable about the token itself).
pub fn default_token_name(sha256: &[u8; 32]) -> String {
    hex::encode(&sha256[..4])
}

/// A token name: 1 to 64 of `A-Z a-z 0-9 . _ -`.
pub fn valid_token_name(name: &str) -> bool {
    (1..=MAX_TOKEN_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
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
    /// Freeze, thaw, snapshot and torn-file settings.
    pub consistency: Consistency,
    /// Stop, start and health commands around a restore.
    pub lifecycle: Lifecycle,
    /// Where restore drills put this component's scratch copies (`drill_root`): absolute, or
    /// relative to the home; `None`: [`DEFAULT_DRILL_FOLDER`] beside the backup folder.
    pub drill_root: Option<String>,
    /// Command a restore drill runs against the scratch copy (`drill_probe_command`); empty:
    /// none. Exit 0 passes.
    pub drill_probe_command: String,
}

/// The drill root of a component that configures none: this folder name beside its backup
/// folder (`<backup folder's parent>/drills`).
pub const DEFAULT_DRILL_FOLDER: &str = "drills";
/// Most days between scheduled drills (`[drill] every_days`).
pub const MAX_DRILL_EVERY_DAYS: u32 = 366;

/// The `[drill]` table: when restore drills run by themselves. `weekday` and `every_days` are
/// exclusive; neither set: no scheduled drill. The time is in the schedule's time zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DrillSchedule {
    /// `monday` .. `sunday` (or `mon` .. `sun`): a drill every week on that day; empty: none.
    #[schema(example = "sunday")]
    pub weekday: String,
    /// Local time of the drill, exactly `hh:mm`.
    #[schema(example = "04:30", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub time: String,
    /// A drill every this many days (1 to 366) at `time`, counted from the last drill's day;
    /// 0: none.
    #[schema(example = 0, minimum = 0, maximum = 366)]
    pub every_days: u32,
}

impl Default for DrillSchedule {
    fn default() -> Self {
        DrillSchedule {
            weekday: String::new(),
            time: "04:00".into(),
            every_days: 0,
        }
    }
}

impl DrillSchedule {
    /// Whether any drill is scheduled.
    pub fn is_on(&self) -> bool {
        !self.weekday.is_empty() || self.every_days > 0
    }
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
    /// Size in bytes at which the audit log (`<state_dir>/audit/audit.log`) is rotated.
    pub audit_max_bytes: u64,
    /// `[notifications]` and `[[notification_targets]]`.
    pub notifications: NotifySettings,
    /// `[drill]`: the restore drills' schedule.
    pub drill: DrillSchedule,
    /// `[[replication_targets]]`: S3-compatible buckets the sets are copied to.
    pub replication_targets: Vec<NamedReplicationTarget>,
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

/// Why a token could not be had (a `token_file`, or a remote component's agent token).
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read {}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is empty", path.display())]
    Empty { path: PathBuf },
    #[error(
        "a remote component needs agent_token_file, or its token in the environment variable {var}"
    )]
    Missing { var: String },
}

/// What is wrong with a path that must be relative to a home (the message for its field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RelativePathError {
    #[error("must name a file or folder")]
    Empty,
    #[error("must not contain NUL")]
    Nul,
    #[error("must be relative to the home")]
    Absolute,
    #[error("must not contain '..'")]
    DotDot,
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

    /// The drill root of a local component, absolute: `drill_root` (relative to the home), else
    /// [`DEFAULT_DRILL_FOLDER`] in the backup folder's parent. `None` for a remote component.
    pub fn drill_root_of(&self, c: &ComponentConfig) -> Option<PathBuf> {
        let home = self.home_of(c)?;
        if c.agent.is_some() {
            return None;
        }
        Some(match &c.drill_root {
            Some(r) => resolve(&home, r),
            None => {
                let folder = resolve(&home, &c.backup_folder);
                folder
                    .parent()
                    .map(|p| p.join(DEFAULT_DRILL_FOLDER))
                    .unwrap_or_else(|| home.join(DEFAULT_DRILL_FOLDER))
            }
        })
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
                    consistency: c.consistency.clone(),
                    read_point: None,
                },
                None => ComponentSpec {
                    name: c.name.clone(),
                    profile: c.profile,
                    backup_folder: PathBuf::from(&c.backup_folder),
                    home: PathBuf::new(),
                    keep: c.keep,
                    items: items_of(c),
                    consistency: c.consistency.clone(),
                    read_point: None,
                },
            })
            .collect()
    }

    /// Each component's stop, start and health settings, by name (the restores read them).
    pub fn lifecycles(&self) -> std::collections::BTreeMap<String, Lifecycle> {
        self.components
            .iter()
            .map(|c| (c.name.clone(), c.lifecycle.clone()))
            .collect()
    }

    /// The notification targets, checked and ready to send to.
    pub fn notification_targets(&self) -> Vec<Target> {
        notify::targets(&self.notifications, &self.base_dir)
    }

    /// The replication targets, checked and ready to replicate to.
    pub fn replication_targets(&self) -> Vec<ReplicationTarget> {
        replication::targets(&self.replication_targets, &self.base_dir)
    }

    /// The bearer token the master presents to a remote component's agent: the contents of
    /// `agent_token_file` (relative to the config folder), else the environment variable
    /// [`agent_token_env`]. Never logged, never returned by the API.
    pub fn agent_token(&self, c: &ComponentConfig) -> Result<String, TokenError> {
        match &c.agent_token_file {
            Some(f) => read_token_file(&resolve(&self.base_dir, f)),
            None => {
                let var = agent_token_env(&c.name);
                match std::env::var(&var) {
                    Ok(t) if !t.trim().is_empty() => Ok(t.trim().to_string()),
                    _ => Err(TokenError::Missing { var }),
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

/// A path relative to a home: not empty, not absolute, no `..`, no `.` alone.
pub fn check_relative(p: &str) -> Result<(), RelativePathError> {
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() || trimmed == "." {
        return Err(RelativePathError::Empty);
    }
    if p.contains('\0') {
        return Err(RelativePathError::Nul);
    }
    if Path::new(p).is_absolute() {
        return Err(RelativePathError::Absolute);
    }
    if has_dot_dot(p) {
        return Err(RelativePathError::DotDot);
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
