//! Semantic checks of a config, shared by start-up and the API: listen address, schedule,
//! hooks and components (names, items, local and remote placement).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::{
    check_relative, has_dot_dot, items_of, profile_name, resolve, ComponentConfig, Config,
    DrillSchedule, FieldError, HookSettings, ScheduleSettings, SnapshotMode, MAX_FREEZE_TIMEOUT,
    MAX_HOOK_TIMEOUT, MAX_KEEP, MAX_START_TIMEOUT,
};
use crate::engine::slots::SlotLayout;
use crate::engine::{folder_check, Profile};

/// Names inside a backup folder that the backup itself writes; no item may be called so.
const RESERVED_NAMES: [&str; 3] = ["readme.txt", "SHA256SUMS", ".backup-master-index"];

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
    errors.extend(validate_drill(&cfg.drill));
    errors.extend(super::notify::validate_notifications(
        &cfg.notifications,
        &cfg.base_dir,
    ));
    errors.extend(super::replication::validate_replication(
        &cfg.replication_targets,
        &cfg.base_dir,
    ));
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

/// The `[drill]` table: a weekday or a number of days (not both) and a time like the
/// schedule's; the rules are the scheduler's own.
pub fn validate_drill(d: &DrillSchedule) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Err(msg) = crate::schedule::parse_daily_time(&d.time) {
        errors.push(FieldError::new("drill.time", msg));
    }
    if !d.weekday.is_empty() && crate::schedule::parse_weekday(&d.weekday).is_none() {
        errors.push(FieldError::new(
            "drill.weekday",
            "must be a day name: monday .. sunday (or mon .. sun), or empty",
        ));
    }
    if !d.weekday.is_empty() && d.every_days > 0 {
        errors.push(FieldError::new(
            "drill.every_days",
            "set either weekday or every_days, not both",
        ));
    }
    errors
}

pub fn validate_hooks(h: &HookSettings, base_dir: &Path, prefix: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (key, cmd) in [("on_success", &h.on_success), ("on_failure", &h.on_failure)] {
        if let Err(msg) = check_command(cmd) {
            errors.push(FieldError::new(format!("{prefix}.{key}"), msg));
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

/// A command the master runs (a hook, a freeze, a thaw, a snapshot command): it must split
/// into arguments the way the runner splits it. Empty is fine (no command).
fn check_command(cmd: &str) -> Result<(), String> {
    if cmd.contains('\0') {
        return Err("must not contain NUL".into());
    }
    shell_words::split(cmd)
        .map(|_| ())
        .map_err(|e| format!("cannot be split into arguments: {e}"))
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

/// A component name not used before in `names` (which it joins): the message for the
/// `name` field otherwise. The agent's config checks its components' names with it too.
pub(crate) fn check_new_name(name: &str, names: &mut HashSet<String>) -> Result<(), String> {
    if !valid_name(name) {
        Err(format!("{name:?} must be 1 to 32 of a-z, 0-9, '_' and '-'"))
    } else if !names.insert(name.to_string()) {
        Err(format!("{name:?} is used by two components"))
    } else {
        Ok(())
    }
}

/// The errors found in one component, each under its field path (`components[2].keep`).
struct Found<'p> {
    prefix: &'p str,
    errors: Vec<FieldError>,
}

impl Found<'_> {
    fn add(&mut self, key: &str, message: impl Into<String>) {
        self.errors
            .push(FieldError::new(format!("{}.{key}", self.prefix), message));
    }
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
    // (index, backup folder) of each local component whose folder is checked.
    let mut placed: Vec<(usize, PathBuf)> = Vec::new();
    for (i, c) in cfg.components.iter().enumerate() {
        let prefix = format!("components[{i}]");
        let mut found = Found {
            prefix: &prefix,
            errors: Vec::new(),
        };
        if let Err(msg) = check_new_name(&c.name, &mut names) {
            found.add("name", msg);
        }
        if c.keep > MAX_KEEP {
            found.add("keep", format!("must be between 0 and {MAX_KEEP}"));
        }
        check_items(c, &mut found);
        check_consistency(c, cfg.home_of(c).as_deref(), &mut found);
        check_lifecycle(c, &mut found);
        if let Err(msg) = check_command(&c.drill_probe_command) {
            found.add("drill_probe_command", msg);
        }
        match &c.drill_root {
            Some(r) if r.is_empty() => found.add("drill_root", "must not be empty"),
            Some(r) if has_dot_dot(r) || r.contains('\0') => {
                found.add("drill_root", "must not contain '..' or NUL")
            }
            Some(_) if c.agent.is_some() => found.add(
                "drill_root",
                "only a local component has a drill root here: a remote component drills on its agent, under the drill_root of its agent's config",
            ),
            _ => {}
        }
        if c.backup_folder.is_empty() {
            found.add("backup_folder", "must not be empty");
        } else if has_dot_dot(&c.backup_folder) {
            found.add("backup_folder", "must not contain '..'");
        }
        match (&c.home, &c.agent) {
            (Some(_), Some(_)) => found.add(
                "agent",
                "a component is local (home) or remote (agent), not both",
            ),
            (None, None) => found.add("home", "is required (the component's folder)"),
            (None, Some(url)) => check_remote(cfg, c, url, &mut found),
            (Some(home), None) => {
                if let Some(folder) = check_local(cfg, c, home, &mut found) {
                    placed.push((i, folder));
                }
            }
        }
        if c.agent_token_file.is_some() && c.agent.is_none() {
            found.add(
                "agent_token_file",
                "only a remote component (agent) has a token file",
            );
        }
        if c.agent_ca_file.is_some() && c.agent.is_none() {
            found.add(
                "agent_ca_file",
                "only a remote component (agent) has a CA file",
            );
        }
        errors.extend(found.errors);
    }
    // One folder check over every local component's folders at once (they must not overlap).
    let site = site_of(cfg);
    for (i, folder) in placed {
        for p in folder_check::check_backup_folder(&site, &cfg.components[i].name, &folder) {
            errors.push(FieldError::new(
                format!("components[{i}].backup_folder"),
                p.to_string(),
            ));
        }
    }
    // Each local component's drill root; the default one (beside the backup folder) only when
    // the backup folder itself passed: its error already says what to fix.
    for (i, c) in cfg.components.iter().enumerate() {
        let bad = c
            .drill_root
            .as_deref()
            .is_some_and(|r| r.is_empty() || has_dot_dot(r));
        let folder_field = format!("components[{i}].backup_folder");
        let folder_refused = errors.iter().any(|e| e.field == folder_field);
        if bad || (c.drill_root.is_none() && folder_refused) {
            continue;
        }
        if let Some(root) = cfg.drill_root_of(c) {
            for p in check_drill_root(&site, &c.name, &root) {
                errors.push(FieldError::new(format!("components[{i}].drill_root"), p));
            }
        }
    }
    errors
}

/// `items`: listed for profile `custom` only, each a relative path, not a reserved name, once.
fn check_items(c: &ComponentConfig, found: &mut Found<'_>) {
    match (c.profile, &c.items) {
        (Profile::Custom, None) => found.add("items", "profile custom needs a list of items"),
        (Profile::Custom, Some(items)) if items.is_empty() => {
            found.add("items", "profile custom needs at least one item")
        }
        (Profile::Custom, Some(items)) => {
            let mut seen = HashSet::new();
            for (j, item) in items.iter().enumerate() {
                let key = format!("items[{j}]");
                if let Err(e) = check_relative(item) {
                    found.add(&key, e.to_string());
                } else if RESERVED_NAMES.contains(&item.trim_end_matches('/')) {
                    found.add(
                        &key,
                        format!("{item:?} is a name the backup folder itself uses"),
                    );
                } else if !seen.insert(item.trim_end_matches('/').to_string()) {
                    found.add(&key, format!("{item:?} is listed twice"));
                }
            }
        }
        (_, Some(_)) => found.add(
            "items",
            format!(
                "only profile custom lists items; {} backs up {}",
                profile_name(c.profile),
                c.profile.default_items().join(", ")
            ),
        ),
        (_, None) => {}
    }
}

/// The freeze, thaw and snapshot keys: commands that split, a timeout in range, a thaw only
/// with a freeze, the snapshot commands exactly with `snapshot = "command"`.
fn check_consistency(c: &ComponentConfig, home: Option<&Path>, found: &mut Found<'_>) {
    let k = &c.consistency;
    for (key, cmd) in [
        ("freeze_command", &k.freeze_command),
        ("thaw_command", &k.thaw_command),
        ("snapshot_command", &k.snapshot_command),
        ("snapshot_release_command", &k.snapshot_release_command),
    ] {
        if let Err(msg) = check_command(cmd) {
            found.add(key, msg);
        }
    }
    if !(1..=MAX_FREEZE_TIMEOUT).contains(&k.freeze_timeout_seconds) {
        found.add(
            "freeze_timeout_seconds",
            format!("must be between 1 and {MAX_FREEZE_TIMEOUT}"),
        );
    }
    if !k.thaw_command.trim().is_empty() && k.freeze_command.trim().is_empty() {
        found.add(
            "thaw_command",
            "a thaw_command needs a freeze_command (there is nothing to thaw)",
        );
    }
    let by_command = k.snapshot == SnapshotMode::Command;
    for (key, cmd) in [
        ("snapshot_command", &k.snapshot_command),
        ("snapshot_release_command", &k.snapshot_release_command),
    ] {
        match (by_command, cmd.trim().is_empty()) {
            (true, true) => found.add(key, "is required with snapshot = \"command\""),
            (false, false) => found.add(key, "only snapshot = \"command\" runs it"),
            _ => {}
        }
    }
    check_btrfs_home(c, home, found);
}

/// The stop, start and health keys: commands that split and a timeout in range. (A remote
/// component's agent checks for itself whether it may run them: `run_commands`.)
fn check_lifecycle(c: &ComponentConfig, found: &mut Found<'_>) {
    let l = &c.lifecycle;
    for (key, cmd) in [
        ("stop_command", &l.stop_command),
        ("start_command", &l.start_command),
        ("health_command", &l.health_command),
    ] {
        if let Err(msg) = check_command(cmd) {
            found.add(key, msg);
        }
    }
    if !(1..=MAX_START_TIMEOUT).contains(&l.start_timeout_seconds) {
        found.add(
            "start_timeout_seconds",
            format!("must be between 1 and {MAX_START_TIMEOUT}"),
        );
    }
}

/// `snapshot = "btrfs"` on a home that exists and is not a btrfs subvolume is refused now (a
/// home that does not exist yet fails its backup instead, naming the component).
fn check_btrfs_home(c: &ComponentConfig, home: Option<&Path>, found: &mut Found<'_>) {
    if c.consistency.snapshot != SnapshotMode::Btrfs {
        return;
    }
    let Some(home) = home.filter(|h| h.is_dir()) else {
        return;
    };
    if !crate::engine::snapshot::is_btrfs_subvolume(home).unwrap_or(false) {
        found.add(
            "snapshot",
            format!(
                "snapshot = \"btrfs\" needs the home {} to be a btrfs subvolume (btrfs subvolume \
                 create), and it is not",
                home.display()
            ),
        );
    }
}

/// A remote component: its folder's name, the agent URL, its token and CA file. The folder
/// itself is on the agent's machine, which checks the rest for itself.
fn check_remote(cfg: &Config, c: &ComponentConfig, url: &str, found: &mut Found<'_>) {
    if !c.backup_folder.is_empty() && !c.backup_folder.contains('\0') {
        for p in folder_check::check_names(Path::new(&c.backup_folder)) {
            found.add("backup_folder", p.to_string());
        }
    }
    if let Err(e) = check_agent_url(url) {
        found.add("agent", e.to_string());
    } else if c.agent_ca_file.is_some() && !url.starts_with("https://") {
        found.add("agent_ca_file", "only an https:// agent has a CA file");
    }
    if let Err(e) = cfg.agent_token(c) {
        found.add("agent_token_file", e.to_string());
    }
    if let Some(ca) = &c.agent_ca_file {
        let path = resolve(&cfg.base_dir, ca);
        match std::fs::read(&path) {
            Ok(pem) => {
                if reqwest::Certificate::from_pem(&pem).is_err() {
                    found.add(
                        "agent_ca_file",
                        format!("{} is not a PEM certificate", path.display()),
                    );
                }
            }
            Err(e) => found.add(
                "agent_ca_file",
                format!("cannot read {}: {e}", path.display()),
            ),
        }
    }
}

/// A local component: its home must exist. The backup folder to check against the others,
/// where its name passed the checks above.
fn check_local(
    cfg: &Config,
    c: &ComponentConfig,
    home: &str,
    found: &mut Found<'_>,
) -> Option<PathBuf> {
    let home = resolve(&cfg.base_dir, home);
    if !home.is_dir() {
        found.add(
            "home",
            format!("{} is not an existing folder", home.display()),
        );
        None
    } else if !c.backup_folder.is_empty() && !has_dot_dot(&c.backup_folder) {
        Some(resolve(&home, &c.backup_folder))
    } else {
        None
    }
}

/// Every reason why `root` cannot be a drill root on `site` (restore drills write their
/// scratch copies under it): it must not be, hold or lie inside a home's item, be or hold a
/// home, lie inside another component's home than its own, be, hold or lie inside a backup
/// area (a slot name of any component), nor be, hold or lie inside the state dir. Lying inside
/// a home outside that home's items is allowed (the default, `drills` beside the usual
/// `backup` folder of a home): backups copy only the items, restores replace only them; so is
/// lying inside the state dir within its own home that lies there (the embedded demo setup,
/// as for backup folders). Paths are compared as the file system resolves them
/// ([`folder_check::physical`]).
pub fn check_drill_root(site: &folder_check::Site, component: &str, root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if !root.is_absolute() {
        out.push(format!("{} is not an absolute path", root.display()));
        return out;
    }
    let me = folder_check::physical(root);
    let shown = root.display();
    let nesting = |other: &Path| -> Option<&'static str> {
        if me == other {
            Some("is")
        } else if other.starts_with(&me) {
            Some("holds")
        } else if me.starts_with(other) {
            Some("lies inside")
        } else {
            None
        }
    };
    let homes_holding: Vec<&str> = site
        .components
        .iter()
        .filter(|c| me.starts_with(folder_check::physical(&c.home)))
        .map(|c| c.name.as_str())
        .collect();
    for c in &site.components {
        let home = folder_check::physical(&c.home);
        match nesting(&home) {
            Some(rel @ ("is" | "holds")) => out.push(format!(
                "{shown} {rel} the home of component {:?} ({}): a drill never writes into live data",
                c.name,
                c.home.display()
            )),
            // Inside a home: only when every home holding it is the same one, its own.
            Some(_) if homes_holding.len() > 1 => out.push(format!(
                "{shown} lies inside the home of component {:?} ({}) and of another component",
                c.name,
                c.home.display()
            )),
            _ => {}
        }
        for item in &c.items {
            let item = c.home.join(item.trim_end_matches('/'));
            if let Some(rel) = nesting(&folder_check::physical(&item)) {
                out.push(format!(
                    "{shown} {rel} the item {} of component {:?}: backups would copy the drill's scratch, restores would delete it",
                    item.display(),
                    c.name
                ));
            }
        }
        if let Some(folder) = &c.backup_folder {
            let folder = folder_check::physical(folder);
            let Ok(area) = SlotLayout::of(&folder) else {
                continue;
            };
            // A name of the backup area (a slot, `.failed`, a staging or trash folder).
            let in_area = me
                .strip_prefix(&area.parent)
                .ok()
                .and_then(|rest| rest.components().next())
                .is_some_and(|first| area.owns_name(first.as_os_str()));
            let holds = folder.starts_with(&me);
            if in_area || holds {
                let rel = if holds { "holds" } else { "lies in" };
                out.push(format!(
                    "{shown} {rel} the backup area of component {:?} ({} and its slots): the slots are the backups' own",
                    c.name,
                    folder.display()
                ));
            }
        }
    }
    if let Some(state) = &site.state_dir {
        let state = folder_check::physical(state);
        let demo = site.components.iter().any(|c| {
            let home = folder_check::physical(&c.home);
            c.name == component && home.starts_with(&state) && me.starts_with(&home) && me != home
        });
        if let Some(rel) = nesting(&state).filter(|r| !(demo && *r == "lies inside")) {
            out.push(format!(
                "{shown} {rel} the state folder {} of backup-master",
                state.display()
            ));
        }
    }
    out
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

/// What is wrong with an agent URL (the message names the URL).
#[derive(Debug, thiserror::Error)]
pub enum AgentUrlError {
    #[error("{url:?} is not a URL: {reason}")]
    NotAUrl { url: String, reason: String },
    #[error("{0:?} must start with http:// or https://")]
    Scheme(String),
    #[error("{0:?} names no host")]
    NoHost(String),
    #[error("{0:?} must be just scheme://host:port (no user, query or fragment)")]
    Extra(String),
}

/// Checks an agent URL: `http://` or `https://`, a host, nothing after the path.
pub fn check_agent_url(url: &str) -> Result<reqwest::Url, AgentUrlError> {
    let u = reqwest::Url::parse(url).map_err(|e| AgentUrlError::NotAUrl {
        url: url.to_string(),
        reason: e.to_string(),
    })?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(AgentUrlError::Scheme(url.to_string()));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(AgentUrlError::NoHost(url.to_string()));
    }
    if u.query().is_some() || u.fragment().is_some() || !u.username().is_empty() {
        return Err(AgentUrlError::Extra(url.to_string()));
    }
    Ok(u)
}
