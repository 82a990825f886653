//! The application state shared by all handlers, and the config-level operations behind the
//! settings, components and notification targets resources: read, check a precondition, validate, write the file back
//! atomically, then tell the running parts (engine, scheduler, hooks) about the change.

use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::config::{self, ComponentConfig, Config, HookSettings, ScheduleSettings};
use crate::error::{ApiError, FieldError, ProblemKind};

/// Called after a settings or components change was written, with the new config.
pub type ChangeListener = Arc<dyn Fn(&Config) + Send + Sync>;

pub struct AppState {
    config: RwLock<Config>,
    /// Serialises read-modify-write of the config file.
    write_lock: Mutex<()>,
    listeners: RwLock<Vec<ChangeListener>>,
    scheduler: std::sync::OnceLock<Arc<crate::schedule::Scheduler>>,
}

/// `GET /settings`: the schedule and hooks, plus the next scheduled runs.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SettingsView {
    pub schedule: ScheduleSettings,
    pub hooks: HookSettings,
    /// The next 5 scheduled runs (empty when the schedule is disabled).
    pub next_runs: Vec<crate::schedule::NextRun>,
    /// When restore drills run by themselves (`[drill]`; in the schedule's time zone).
    pub drill: config::DrillSchedule,
}

/// `PUT /settings`: the whole `schedule` and `hooks`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsUpdate {
    pub schedule: ScheduleSettings,
    pub hooks: HookSettings,
    /// The restore drills' schedule, replaced as a whole; absent: unchanged.
    #[serde(default)]
    pub drill: Option<config::DrillSchedule>,
}

/// A component as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ComponentView {
    #[schema(example = "lui")]
    pub name: String,
    /// `maestro-hub`, `maestro-lui`, `maestro-tracker` or `custom`.
    #[schema(example = "maestro-lui")]
    pub profile: String,
    /// `local` (a home on this machine) or `remote` (served by an agent).
    #[schema(example = "local")]
    pub location: String,
    /// The home folder, resolved (local components).
    pub home: Option<String>,
    /// The backup folder as configured: absolute, or relative to the home.
    #[schema(example = "backup")]
    pub backup_folder: String,
    /// The backup folder resolved to an absolute path (local components).
    pub backup_path: Option<String>,
    /// Previous backups kept: `backup1` .. `backup<keep>`.
    #[schema(example = 3)]
    pub keep: u32,
    /// What a backup holds, relative to the home.
    pub items: Vec<String>,
    /// The agent's URL (remote components).
    #[schema(example = "http://10.0.0.7:9090")]
    pub agent: Option<String>,
    /// Remote components: whether the agent answered just now (each agent is asked when the
    /// component is read, 3 s at most). Absent for local components.
    pub reachable: Option<bool>,
    /// Remote components: the agent's version, when it answered.
    #[schema(example = "0.1.0")]
    pub agent_version: Option<String>,
    /// Remote components: why backups through the agent cannot work right now (unreachable,
    /// token refused, component not served). Absent when all is well.
    pub agent_error: Option<String>,
    /// Remote components whose agent answered: its backups and restores of this component
    /// that are in doubt there (they voted yes and heard nothing from the master for the
    /// agent's `decision_timeout_seconds`; the master resolves them when it can).
    pub in_doubt: Option<Vec<crate::store::remote::InDoubt>>,
    /// Freeze, thaw, snapshot and `on_change`, as in the config file.
    #[serde(flatten)]
    pub consistency: config::Consistency,
    /// Stop, start and health commands around a restore, as in the config file.
    #[serde(flatten)]
    pub lifecycle: config::Lifecycle,
    /// The drill root as configured (absolute, or relative to the home); absent: the default,
    /// `drills` beside the backup folder.
    #[schema(example = "/srv/drills")]
    pub drill_root: Option<String>,
    /// Where restore drills put this component's scratch copies, resolved (local components).
    #[schema(example = "/srv/drills")]
    pub drill_path: Option<String>,
    /// Command a restore drill runs against the restored copy (`DRILL_HOME`); empty: none.
    #[schema(example = "/opt/maestro/bin/lui-check --data $DRILL_HOME")]
    pub drill_probe_command: String,
}

/// `PUT /components/{name}`. The consistency fields (`freeze_command` .. `snapshot_release_command`)
/// are optional: absent keeps the current value, so a client that does not know them changes
/// none of them; an empty command removes it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentUpdate {
    /// Absolute, or relative to the home; no `..`.
    #[schema(example = "backup")]
    pub backup_folder: String,
    /// 0 to 100.
    #[schema(example = 3, minimum = 0, maximum = 100)]
    pub keep: i64,
    /// The items of a `custom` component; refused for the built-in profiles.
    pub items: Option<Vec<String>>,
    /// Freeze command (split into arguments, no shell unless it names one).
    #[schema(example = "/opt/maestro/bin/lui-ctl freeze")]
    pub freeze_command: Option<String>,
    /// Thaw command; needs a freeze command.
    #[schema(example = "/opt/maestro/bin/lui-ctl thaw")]
    pub thaw_command: Option<String>,
    /// 1 to 3600.
    #[schema(example = 60, minimum = 1, maximum = 3600)]
    pub freeze_timeout_seconds: Option<i64>,
    pub on_change: Option<crate::engine::OnChange>,
    pub snapshot: Option<config::SnapshotMode>,
    /// Required with `snapshot = "command"`, refused otherwise.
    pub snapshot_command: Option<String>,
    /// Required with `snapshot = "command"`, refused otherwise.
    pub snapshot_release_command: Option<String>,
    /// Stops the component before a restore changes its home (a remote component's agent runs
    /// it, with `run_commands = true`).
    #[schema(example = "/opt/maestro/bin/lui-ctl stop")]
    pub stop_command: Option<String>,
    /// Starts it once the restored files are in place.
    #[schema(example = "/opt/maestro/bin/lui-ctl start")]
    pub start_command: Option<String>,
    /// Exits 0 when it is healthy; retried until `start_timeout_seconds`.
    #[schema(example = "/opt/maestro/bin/lui-ctl status")]
    pub health_command: Option<String>,
    /// 1 to 3600.
    #[schema(example = 120, minimum = 1, maximum = 3600)]
    pub start_timeout_seconds: Option<i64>,
    /// Undo a restore at once when a component does not become healthy after it.
    pub rollback_on_unhealthy: Option<bool>,
    /// Where restore drills put this component's scratch copies: absolute, or relative to the
    /// home; never a home, an item, a backup area or the state folder, nor inside them. Empty:
    /// back to the default (`drills` beside the backup folder). Absent: unchanged.
    #[schema(example = "/srv/drills")]
    pub drill_root: Option<String>,
    /// Command a restore drill runs against the restored copy; empty removes it. Absent:
    /// unchanged.
    #[schema(example = "/opt/maestro/bin/lui-check")]
    pub drill_probe_command: Option<String>,
}

impl ComponentUpdate {
    /// `current` with the consistency fields this update gives; the timeout must be in range.
    fn consistency(&self, current: &config::Consistency) -> Result<config::Consistency, ApiError> {
        let mut k = current.clone();
        if let Some(t) = self.freeze_timeout_seconds {
            k.freeze_timeout_seconds = match u64::try_from(t) {
                Ok(t) if (1..=config::MAX_FREEZE_TIMEOUT).contains(&t) => t,
                _ => {
                    return Err(ApiError::field(
                        "freeze_timeout_seconds",
                        format!("must be between 1 and {}", config::MAX_FREEZE_TIMEOUT),
                    ))
                }
            };
        }
        let set = |field: &mut String, v: &Option<String>| {
            if let Some(v) = v {
                field.clone_from(v);
            }
        };
        set(&mut k.freeze_command, &self.freeze_command);
        set(&mut k.thaw_command, &self.thaw_command);
        set(&mut k.snapshot_command, &self.snapshot_command);
        set(
            &mut k.snapshot_release_command,
            &self.snapshot_release_command,
        );
        if let Some(v) = self.on_change {
            k.on_change = v;
        }
        if let Some(v) = self.snapshot {
            k.snapshot = v;
        }
        Ok(k)
    }

    /// `current` with the lifecycle fields this update gives; the timeout must be in range.
    fn lifecycle(&self, current: &config::Lifecycle) -> Result<config::Lifecycle, ApiError> {
        let mut l = current.clone();
        if let Some(t) = self.start_timeout_seconds {
            l.start_timeout_seconds = match u64::try_from(t) {
                Ok(t) if (1..=config::MAX_START_TIMEOUT).contains(&t) => t,
                _ => {
                    return Err(ApiError::field(
                        "start_timeout_seconds",
                        format!("must be between 1 and {}", config::MAX_START_TIMEOUT),
                    ))
                }
            };
        }
        for (field, v) in [
            (&mut l.stop_command, &self.stop_command),
            (&mut l.start_command, &self.start_command),
            (&mut l.health_command, &self.health_command),
        ] {
            if let Some(v) = v {
                field.clone_from(v);
            }
        }
        if let Some(v) = self.rollback_on_unhealthy {
            l.rollback_on_unhealthy = v;
        }
        Ok(l)
    }
}

/// A notification target as the API shows it: its name and settings. Secrets appear only as
/// the paths of the files holding them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TargetView {
    #[schema(example = "ops-webhook")]
    pub name: String,
    #[serde(flatten)]
    pub settings: config::TargetSettings,
}

/// A replication target as the API shows it: its name and settings. Credentials appear only
/// as the paths of the files holding them (or not at all, when they come from the environment).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReplicationTargetView {
    #[schema(example = "offsite")]
    pub name: String,
    #[serde(flatten)]
    pub settings: config::ReplicationTargetSettings,
}

/// A strong ETag over the JSON of `value`.
pub fn etag_of<T: Serialize>(value: &T) -> String {
    let json = serde_json::to_vec(value).unwrap_or_default();
    format!("\"{}\"", hex::encode(&config::sha256_of(&json)[..12]))
}

/// Checks `If-Match` against `current`: absent is 428, stale is 412. `*` matches anything.
pub fn check_if_match(if_match: Option<&str>, current: &str) -> Result<(), ApiError> {
    let Some(given) = if_match else {
        return Err(ApiError::new(
            ProblemKind::PreconditionRequired,
            "send If-Match with the ETag from GET, so a concurrent change is not overwritten",
        ));
    };
    let matches = given
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t == current || t.strip_prefix("W/") == Some(current));
    if matches {
        Ok(())
    } else {
        Err(ApiError::new(
            ProblemKind::PreconditionFailed,
            format!("If-Match {given} does not match the current ETag {current}: GET again"),
        ))
    }
}

impl AppState {
    pub fn new(config: Config) -> Self {
        AppState {
            config: RwLock::new(config),
            write_lock: Mutex::new(()),
            listeners: RwLock::new(Vec::new()),
            scheduler: std::sync::OnceLock::new(),
        }
    }

    /// The running scheduler: `next_runs` then comes from it (its clock, its handled runs).
    pub fn set_scheduler(&self, s: Arc<crate::schedule::Scheduler>) {
        let _ = self.scheduler.set(s);
    }

    pub fn on_change(&self, f: ChangeListener) {
        if let Ok(mut l) = self.listeners.write() {
            l.push(f);
        }
    }

    pub fn config(&self) -> Config {
        match self.config.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn settings(&self) -> (SettingsView, String) {
        let cfg = self.config();
        let etag = etag_of(&(&cfg.schedule, &cfg.hooks, &cfg.drill));
        let next_runs = match self.scheduler.get() {
            Some(s) => s.next_runs(5).unwrap_or_default(),
            None => crate::schedule::next_runs_of(&cfg.schedule, 5),
        };
        (
            SettingsView {
                schedule: cfg.schedule,
                hooks: cfg.hooks,
                next_runs,
                drill: cfg.drill,
            },
            etag,
        )
    }

    pub fn update_settings(
        &self,
        if_match: Option<&str>,
        upd: SettingsUpdate,
    ) -> Result<(SettingsView, String), ApiError> {
        let _guard = self.write_lock.lock().map_err(ApiError::internal)?;
        let cfg = self.config();
        check_if_match(if_match, &etag_of(&(&cfg.schedule, &cfg.hooks, &cfg.drill)))?;
        let mut errors = config::validate_schedule(&upd.schedule, "schedule");
        errors.extend(config::validate_hooks(&upd.hooks, &cfg.base_dir, "hooks"));
        if let Some(d) = &upd.drill {
            errors.extend(config::validate_drill(d));
        }
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        self.rewrite(&cfg, |text| {
            let text = config::edit_settings(text, &upd.schedule, &upd.hooks)?;
            match &upd.drill {
                Some(d) => config::edit_drill(&text, d),
                None => Ok(text),
            }
        })?;
        Ok(self.settings())
    }

    pub fn components(&self) -> Vec<ComponentView> {
        let cfg = self.config();
        cfg.components.iter().map(|c| view(&cfg, c)).collect()
    }

    pub fn component(&self, name: &str) -> Result<(ComponentView, String), ApiError> {
        let cfg = self.config();
        let c = find(&cfg, name)?.1;
        let v = view(&cfg, c);
        let etag = etag_of(&v);
        Ok((v, etag))
    }

    pub fn update_component(
        &self,
        name: &str,
        if_match: Option<&str>,
        upd: ComponentUpdate,
    ) -> Result<(ComponentView, String), ApiError> {
        let _guard = self.write_lock.lock().map_err(ApiError::internal)?;
        let cfg = self.config();
        let (index, current) = find(&cfg, name)?;
        check_if_match(if_match, &etag_of(&view(&cfg, current)))?;
        let keep = match u32::try_from(upd.keep) {
            Ok(k) if k <= config::MAX_KEEP => k,
            _ => {
                return Err(ApiError::field(
                    "keep",
                    format!("must be between 0 and {}", config::MAX_KEEP),
                ))
            }
        };
        let consistency = upd.consistency(&current.consistency)?;
        let lifecycle = upd.lifecycle(&current.lifecycle)?;
        let mut candidate = cfg.clone();
        {
            let c = &mut candidate.components[index];
            c.backup_folder = upd.backup_folder.clone();
            c.keep = keep;
            c.items = upd.items.clone();
            c.consistency = consistency;
            c.lifecycle = lifecycle;
            match upd.drill_root.as_deref() {
                Some("") => c.drill_root = None,
                Some(r) => c.drill_root = Some(r.to_string()),
                None => {}
            }
            if let Some(p) = &upd.drill_probe_command {
                c.drill_probe_command.clone_from(p);
            }
            if c.items.is_none() && c.profile == crate::engine::Profile::Custom {
                c.items = current.items.clone();
            }
        }
        // Validate the whole candidate: a folder may clash with another component's.
        let prefix = format!("components[{index}].");
        let all = config::validate(&candidate);
        let own: Vec<FieldError> = all
            .iter()
            .filter_map(|e| {
                let rest = e.field.strip_prefix(&prefix)?;
                Some(FieldError::new(rest, e.message.clone()))
            })
            .collect();
        let errors = if own.is_empty() { all } else { own };
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        let edited = &candidate.components[index];
        self.rewrite(&cfg, |text| config::edit_component(text, index, edited))?;
        self.component(name)
    }

    pub fn targets(&self) -> Vec<TargetView> {
        self.config()
            .notifications
            .targets
            .iter()
            .map(target_view)
            .collect()
    }

    pub fn target(&self, name: &str) -> Result<(TargetView, String), ApiError> {
        let cfg = self.config();
        let t = find_target(&cfg, name).ok_or_else(|| target_not_found(name))?;
        let v = target_view(t);
        let etag = etag_of(&v);
        Ok((v, etag))
    }

    /// Creates or replaces target `name` (`If-Match`: the target's ETag, or `*`, which also
    /// creates). The settings are checked as the file's are, every field named; nothing is
    /// written when one is refused. True when it was created.
    pub fn put_target(
        &self,
        name: &str,
        if_match: Option<&str>,
        settings: config::TargetSettings,
    ) -> Result<(TargetView, String, bool), ApiError> {
        let _guard = self.write_lock.lock().map_err(ApiError::internal)?;
        let cfg = self.config();
        let current = find_target(&cfg, name).map(|t| etag_of(&target_view(t)));
        check_put_precondition(current.as_deref(), if_match, || target_not_found(name))?;
        settings
            .check(name, &cfg.base_dir, "")
            .map_err(ApiError::validation)?;
        let mut targets = cfg.notifications.targets.clone();
        let new = config::NamedTarget {
            name: name.to_string(),
            settings,
        };
        match targets.iter_mut().find(|t| t.name == name) {
            Some(t) => *t = new,
            None => targets.push(new),
        }
        self.rewrite(&cfg, |text| config::edit_targets(text, &targets))?;
        let (view, etag) = self.target(name)?;
        Ok((view, etag, current.is_none()))
    }

    /// The replication targets, in config order.
    pub fn replication_targets(&self) -> Vec<ReplicationTargetView> {
        self.config()
            .replication_targets
            .iter()
            .map(replication_view)
            .collect()
    }

    pub fn replication_target(
        &self,
        name: &str,
    ) -> Result<(ReplicationTargetView, String), ApiError> {
        let cfg = self.config();
        let t = find_replication(&cfg, name).ok_or_else(|| replication_not_found(name))?;
        let v = replication_view(t);
        let etag = etag_of(&v);
        Ok((v, etag))
    }

    /// Creates or replaces replication target `name`, like [`AppState::put_target`]. True
    /// when it was created.
    pub fn put_replication_target(
        &self,
        name: &str,
        if_match: Option<&str>,
        settings: config::ReplicationTargetSettings,
    ) -> Result<(ReplicationTargetView, String, bool), ApiError> {
        let _guard = self.write_lock.lock().map_err(ApiError::internal)?;
        let cfg = self.config();
        let current = find_replication(&cfg, name).map(|t| etag_of(&replication_view(t)));
        check_put_precondition(current.as_deref(), if_match, || replication_not_found(name))?;
        settings
            .check(name, &cfg.base_dir, "")
            .map_err(ApiError::validation)?;
        let mut targets = cfg.replication_targets.clone();
        let new = config::NamedReplicationTarget {
            name: name.to_string(),
            settings,
        };
        match targets.iter_mut().find(|t| t.name == name) {
            Some(t) => *t = new,
            None => targets.push(new),
        }
        self.rewrite(&cfg, |text| {
            config::edit_replication_targets(text, &targets)
        })?;
        let (view, etag) = self.replication_target(name)?;
        Ok((view, etag, current.is_none()))
    }

    /// Removes replication target `name` (`If-Match`: its ETag, or `*`). Nothing on its bucket
    /// is touched.
    pub fn delete_replication_target(
        &self,
        name: &str,
        if_match: Option<&str>,
    ) -> Result<(), ApiError> {
        let _guard = self.write_lock.lock().map_err(ApiError::internal)?;
        let cfg = self.config();
        let t = find_replication(&cfg, name).ok_or_else(|| replication_not_found(name))?;
        check_if_match(if_match, &etag_of(&replication_view(t)))?;
        let targets: Vec<config::NamedReplicationTarget> = cfg
            .replication_targets
            .iter()
            .filter(|t| t.name != name)
            .cloned()
            .collect();
        self.rewrite(&cfg, |text| {
            config::edit_replication_targets(text, &targets)
        })
    }

    /// Removes target `name` (`If-Match`: its ETag, or `*`).
    pub fn delete_target(&self, name: &str, if_match: Option<&str>) -> Result<(), ApiError> {
        let _guard = self.write_lock.lock().map_err(ApiError::internal)?;
        let cfg = self.config();
        let t = find_target(&cfg, name).ok_or_else(|| target_not_found(name))?;
        check_if_match(if_match, &etag_of(&target_view(t)))?;
        let targets: Vec<config::NamedTarget> = cfg
            .notifications
            .targets
            .iter()
            .filter(|t| t.name != name)
            .cloned()
            .collect();
        self.rewrite(&cfg, |text| config::edit_targets(text, &targets))
    }

    /// Reads the config file, applies `edit`, re-parses the result with the start-up loader (so
    /// the file is never left in a state the server would refuse), writes it atomically and
    /// swaps the in-memory config.
    fn rewrite(
        &self,
        cfg: &Config,
        edit: impl FnOnce(&str) -> Result<String, config::EditError>,
    ) -> Result<(), ApiError> {
        let text = std::fs::read_to_string(&cfg.file)
            .map_err(|e| ApiError::internal(format!("reading {}: {e}", cfg.file.display())))?;
        let new_text = edit(&text).map_err(|e| ApiError::internal(e.to_string()))?;
        let new_cfg = Config::parse(&new_text, &cfg.file).map_err(ApiError::validation)?;
        config::write_atomic(&cfg.file, new_text.as_bytes()).map_err(|e| {
            ApiError::new(
                ProblemKind::Unavailable,
                format!("could not write {}: {e}", cfg.file.display()),
            )
        })?;
        match self.config.write() {
            Ok(mut c) => *c = new_cfg.clone(),
            Err(poisoned) => *poisoned.into_inner() = new_cfg.clone(),
        }
        let listeners = match self.listeners.read() {
            Ok(l) => l.clone(),
            Err(p) => p.into_inner().clone(),
        };
        for l in listeners {
            l(&new_cfg);
        }
        Ok(())
    }
}

fn find<'c>(cfg: &'c Config, name: &str) -> Result<(usize, &'c ComponentConfig), ApiError> {
    cfg.components
        .iter()
        .enumerate()
        .find(|(_, c)| c.name == name)
        .ok_or_else(|| {
            ApiError::coded(
                crate::error::Code::ComponentNotFound,
                format!("no component named {name:?}"),
            )
        })
}

fn find_target<'c>(cfg: &'c Config, name: &str) -> Option<&'c config::NamedTarget> {
    cfg.notifications.targets.iter().find(|t| t.name == name)
}

fn target_not_found(name: &str) -> ApiError {
    ApiError::coded(
        crate::error::Code::NotificationTargetNotFound,
        format!("no notification target named {name:?} (PUT with If-Match: * creates one)"),
    )
}

fn find_replication<'c>(cfg: &'c Config, name: &str) -> Option<&'c config::NamedReplicationTarget> {
    cfg.replication_targets.iter().find(|t| t.name == name)
}

fn replication_not_found(name: &str) -> ApiError {
    ApiError::coded(
        crate::error::Code::ReplicationTargetNotFound,
        format!("no replication target named {name:?} (PUT with If-Match: * creates one)"),
    )
}

fn replication_view(t: &config::NamedReplicationTarget) -> ReplicationTargetView {
    ReplicationTargetView {
        name: t.name.clone(),
        settings: t.settings.clone(),
    }
}

/// The precondition of a create-or-replace: an existing resource needs its ETag (or `*`), a
/// missing one `*` (which creates it); an ETag for one that does not exist is `not_found`.
fn check_put_precondition(
    current: Option<&str>,
    if_match: Option<&str>,
    not_found: impl FnOnce() -> ApiError,
) -> Result<(), ApiError> {
    match (current, if_match.map(str::trim)) {
        (Some(etag), _) => check_if_match(if_match, etag),
        (None, None) => check_if_match(None, ""),
        (None, Some("*")) => Ok(()),
        // an ETag of a resource that is gone
        (None, Some(_)) => Err(not_found()),
    }
}

fn target_view(t: &config::NamedTarget) -> TargetView {
    TargetView {
        name: t.name.clone(),
        settings: t.settings.clone(),
    }
}

fn view(cfg: &Config, c: &ComponentConfig) -> ComponentView {
    let home = cfg.home_of(c);
    ComponentView {
        name: c.name.clone(),
        profile: config::profile_name(c.profile).to_string(),
        location: if c.agent.is_some() { "remote" } else { "local" }.to_string(),
        backup_path: home
            .as_ref()
            .map(|h| config::resolve(h, &c.backup_folder).display().to_string()),
        home: home.map(|h| h.display().to_string()),
        backup_folder: c.backup_folder.clone(),
        keep: c.keep,
        items: config::items_of(c),
        agent: c.agent.clone(),
        reachable: None,
        agent_version: None,
        agent_error: None,
        in_doubt: None,
        consistency: c.consistency.clone(),
        lifecycle: c.lifecycle.clone(),
        drill_root: c.drill_root.clone(),
        drill_path: cfg.drill_root_of(c).map(|p| p.display().to_string()),
        drill_probe_command: c.drill_probe_command.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_rules() {
        assert_eq!(
            check_if_match(None, "\"a\"").unwrap_err().kind,
            ProblemKind::PreconditionRequired
        );
        assert_eq!(
            check_if_match(Some("\"b\""), "\"a\"").unwrap_err().kind,
            ProblemKind::PreconditionFailed
        );
        assert!(check_if_match(Some("\"a\""), "\"a\"").is_ok());
        assert!(check_if_match(Some("\"x\", \"a\""), "\"a\"").is_ok());
        assert!(check_if_match(Some("*"), "\"a\"").is_ok());
    }
}
