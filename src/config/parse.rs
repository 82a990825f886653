//! Reading the config file: the TOML walk that collects every type error with its key and line,
//! shared by the master's file and the agent's, and the master's `Config::parse`.

use std::path::{Path, PathBuf};

use toml_edit::{ImDocument, Item, Table};

use super::{
    absolute, default_token_name, parse_profile, resolve, sha256_of, valid_token_name, validate,
    ComponentConfig, Config, ConfigError, Consistency, DrillSchedule, FieldError, HookSettings,
    Lifecycle, Role, ScheduleSettings, SnapshotMode, TokenError, TokenSpec,
    DEFAULT_AUDIT_MAX_BYTES, DEFAULT_LISTEN, DEFAULT_STATE_DIR, DEFAULT_STREAM_SUBSCRIBERS,
    MAX_AUDIT_MAX_BYTES, MAX_DRILL_EVERY_DAYS, MAX_FREEZE_TIMEOUT, MAX_KEEP, MAX_START_TIMEOUT,
    MAX_STREAM_SUBSCRIBERS, MAX_TOKEN_NAME, MIN_AUDIT_MAX_BYTES,
};
use crate::engine::{OnChange, Profile};

impl Config {
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
                "audit_max_bytes",
                "notifications",
                "notification_targets",
                "drill",
                "replication_targets",
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

        let audit_max_bytes = match r.integer(root, "", "audit_max_bytes") {
            None => DEFAULT_AUDIT_MAX_BYTES,
            Some(n) => match u64::try_from(n) {
                Ok(n) if (MIN_AUDIT_MAX_BYTES..=MAX_AUDIT_MAX_BYTES).contains(&n) => n,
                _ => {
                    r.push(
                        "",
                        "audit_max_bytes",
                        format!("must be between {MIN_AUDIT_MAX_BYTES} and {MAX_AUDIT_MAX_BYTES}"),
                    );
                    DEFAULT_AUDIT_MAX_BYTES
                }
            },
        };

        let tokens = read_tokens(&mut r, root, &base_dir);

        let schedule = read_schedule(&mut r, root);
        let hooks = read_hooks(&mut r, root);
        let components = r
            .tables(root, "components")
            .into_iter()
            .enumerate()
            .map(|(i, t)| read_component(&mut r, t, &format!("components[{i}]")))
            .collect();
        let notifications = super::notify::read(&mut r, root);
        let drill = read_drill(&mut r, root);
        let replication_targets = super::replication::read(&mut r, root);

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
            audit_max_bytes,
            notifications,
            drill,
            replication_targets,
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
}

/// The `[schedule]` table; the defaults where it or a key is missing.
fn read_schedule(r: &mut Reader<'_>, root: &Table) -> ScheduleSettings {
    match r.table(root, "schedule") {
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
    }
}

/// The `[drill]` table; the defaults (no scheduled drill) where it or a key is missing.
fn read_drill(r: &mut Reader<'_>, root: &Table) -> DrillSchedule {
    let d = DrillSchedule::default();
    let Some(t) = r.table(root, "drill") else {
        return d;
    };
    r.check_keys(t, "drill", &["weekday", "time", "every_days"]);
    let every_days = match r.integer(t, "drill", "every_days") {
        Some(n) if (0..=MAX_DRILL_EVERY_DAYS as i64).contains(&n) => n as u32,
        Some(_) => {
            r.push(
                "drill",
                "every_days",
                format!("must be between 0 and {MAX_DRILL_EVERY_DAYS}"),
            );
            0
        }
        None => d.every_days,
    };
    DrillSchedule {
        weekday: r.string(t, "drill", "weekday").unwrap_or(d.weekday),
        time: r.string(t, "drill", "time").unwrap_or(d.time),
        every_days,
    }
}

/// The `[hooks]` table; the defaults where it or a key is missing.
fn read_hooks(r: &mut Reader<'_>, root: &Table) -> HookSettings {
    match r.table(root, "hooks") {
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
    }
}

/// The keys of a `[[components]]` entry that `PUT /components/{name}` (and the CLI's
/// `component set`) can change; the others say which component it is and where it lives.
pub const COMPONENT_SETTINGS: [&str; 17] = [
    "keep",
    "backup_folder",
    "items",
    "freeze_command",
    "thaw_command",
    "freeze_timeout_seconds",
    "on_change",
    "snapshot",
    "snapshot_command",
    "snapshot_release_command",
    "stop_command",
    "start_command",
    "health_command",
    "start_timeout_seconds",
    "rollback_on_unhealthy",
    "drill_root",
    "drill_probe_command",
];

/// One `[[components]]` entry, `p` being its field path (`components[2]`).
fn read_component(r: &mut Reader<'_>, t: &Table, p: &str) -> ComponentConfig {
    r.check_keys(
        t,
        p,
        &[
            &[
                "name",
                "profile",
                "home",
                "agent",
                "agent_token_file",
                "agent_ca_file",
            ][..],
            &COMPONENT_SETTINGS[..],
        ]
        .concat(),
    );
    let name = r.string(t, p, "name").unwrap_or_else(|| {
        r.push(p, "name", "is required".into());
        String::new()
    });
    let profile = r.profile(t, p);
    let keep = match r.integer(t, p, "keep") {
        Some(k) if (0..=MAX_KEEP as i64).contains(&k) => k as u32,
        Some(_) => {
            r.push(p, "keep", format!("must be between 0 and {MAX_KEEP}"));
            0
        }
        None => 3,
    };
    ComponentConfig {
        name,
        profile,
        home: r.string(t, p, "home"),
        backup_folder: r
            .string(t, p, "backup_folder")
            .unwrap_or_else(|| "backup".to_string()),
        keep,
        items: r.string_array(t, p, "items"),
        agent: r.string(t, p, "agent"),
        agent_token_file: r.string(t, p, "agent_token_file"),
        agent_ca_file: r.string(t, p, "agent_ca_file"),
        consistency: read_consistency(r, t, p),
        drill_root: r.string(t, p, "drill_root"),
        drill_probe_command: r.string(t, p, "drill_probe_command").unwrap_or_default(),
        lifecycle: read_lifecycle(r, t, p),
    }
}

/// A component's stop, start and health keys; the defaults where missing.
pub(super) fn read_lifecycle(r: &mut Reader<'_>, t: &Table, p: &str) -> Lifecycle {
    let d = Lifecycle::default();
    let start_timeout_seconds = match r.integer(t, p, "start_timeout_seconds") {
        Some(s) if (1..=MAX_START_TIMEOUT as i64).contains(&s) => s as u64,
        Some(_) => {
            r.push(
                p,
                "start_timeout_seconds",
                format!("must be between 1 and {MAX_START_TIMEOUT}"),
            );
            d.start_timeout_seconds
        }
        None => d.start_timeout_seconds,
    };
    Lifecycle {
        stop_command: r.string(t, p, "stop_command").unwrap_or_default(),
        start_command: r.string(t, p, "start_command").unwrap_or_default(),
        health_command: r.string(t, p, "health_command").unwrap_or_default(),
        start_timeout_seconds,
        rollback_on_unhealthy: r
            .boolean(t, p, "rollback_on_unhealthy")
            .unwrap_or(d.rollback_on_unhealthy),
    }
}

/// A component's freeze, thaw, snapshot and `on_change` keys; the defaults where missing.
pub(super) fn read_consistency(r: &mut Reader<'_>, t: &Table, p: &str) -> Consistency {
    let d = Consistency::default();
    let freeze_timeout_seconds = match r.integer(t, p, "freeze_timeout_seconds") {
        Some(s) if (1..=MAX_FREEZE_TIMEOUT as i64).contains(&s) => s as u64,
        Some(_) => {
            r.push(
                p,
                "freeze_timeout_seconds",
                format!("must be between 1 and {MAX_FREEZE_TIMEOUT}"),
            );
            d.freeze_timeout_seconds
        }
        None => d.freeze_timeout_seconds,
    };
    let on_change = match r.string(t, p, "on_change") {
        Some(s) => OnChange::parse(&s).unwrap_or_else(|| {
            r.push(
                p,
                "on_change",
                format!("unknown value {s:?}; one of warn, fail"),
            );
            d.on_change
        }),
        None => d.on_change,
    };
    let snapshot = match r.string(t, p, "snapshot") {
        Some(s) => SnapshotMode::parse(&s).unwrap_or_else(|| {
            r.push(
                p,
                "snapshot",
                format!("unknown value {s:?}; one of none, btrfs, command"),
            );
            d.snapshot
        }),
        None => d.snapshot,
    };
    let mut string = |key: &str| r.string(t, p, key).unwrap_or_default();
    Consistency {
        freeze_command: string("freeze_command"),
        thaw_command: string("thaw_command"),
        snapshot_command: string("snapshot_command"),
        snapshot_release_command: string("snapshot_release_command"),
        freeze_timeout_seconds,
        on_change,
        snapshot,
    }
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

fn decode_sha256(s: &str) -> Option<[u8; 32]> {
    let v = hex::decode(s.trim()).ok()?;
    v.try_into().ok()
}

/// A token file's secret, trimmed; an empty file is an error.
pub(crate) fn read_token_file(path: &Path) -> Result<String, TokenError> {
    let text = std::fs::read_to_string(path).map_err(|source| TokenError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    let token = text.trim().to_string();
    if token.is_empty() {
        return Err(TokenError::Empty {
            path: path.to_path_buf(),
        });
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
/// A `name` is optional (1 to 64 of `A-Z a-z 0-9 . _ -`, unique among the entries); without
/// one the token is named by [`super::default_token_name`].
pub(crate) fn read_tokens(r: &mut Reader<'_>, root: &Table, base_dir: &Path) -> Vec<TokenSpec> {
    let mut tokens = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for (i, t) in r.tables(root, "tokens").into_iter().enumerate() {
        let p = format!("tokens[{i}]");
        r.check_keys(t, &p, &["role", "sha256", "token_file", "name"]);
        let name = match r.string(t, &p, "name") {
            Some(n) if !valid_token_name(&n) => {
                r.push(
                    &p,
                    "name",
                    format!(
                        "{n:?} is not a token name: 1 to {MAX_TOKEN_NAME} of A-Z a-z 0-9 . _ -"
                    ),
                );
                None
            }
            Some(n) if names.contains(&n) => {
                r.push(&p, "name", format!("{n:?} names another token already"));
                None
            }
            Some(n) => {
                names.push(n.clone());
                Some(n)
            }
            None => None,
        };
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
                Err(e) => {
                    r.push(&p, "token_file", e.to_string());
                    None
                }
            },
        };
        if let (Some(role), Some(sha256)) = (role, digest) {
            let name = name.unwrap_or_else(|| default_token_name(&sha256));
            tokens.push(TokenSpec { role, sha256, name });
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

    /// `t[key]` as `get` reads it; `None` where it is missing, and also where it has another
    /// type, which is then an error saying what it `must be`.
    fn typed<'t, T>(
        &mut self,
        t: &'t Table,
        prefix: &str,
        key: &str,
        get: impl FnOnce(&'t Item) -> Option<T>,
        must_be: &str,
    ) -> Option<T> {
        let item = t.get(key)?;
        let value = get(item);
        if value.is_none() {
            let at = self.at(item);
            self.push(prefix, key, format!("must be {must_be}{at}"));
        }
        value
    }

    pub(crate) fn string(&mut self, t: &Table, prefix: &str, key: &str) -> Option<String> {
        self.typed(
            t,
            prefix,
            key,
            |i| i.as_str().map(str::to_string),
            "a string",
        )
    }

    pub(crate) fn boolean(&mut self, t: &Table, prefix: &str, key: &str) -> Option<bool> {
        self.typed(t, prefix, key, Item::as_bool, "true or false")
    }

    pub(crate) fn integer(&mut self, t: &Table, prefix: &str, key: &str) -> Option<i64> {
        self.typed(t, prefix, key, Item::as_integer, "a whole number")
    }

    pub(crate) fn string_array(
        &mut self,
        t: &Table,
        prefix: &str,
        key: &str,
    ) -> Option<Vec<String>> {
        let strings = |i: &Item| {
            i.as_array()?
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
        };
        self.typed(t, prefix, key, strings, "a list of strings")
    }

    pub(crate) fn table<'t>(&mut self, t: &'t Table, key: &str) -> Option<&'t Table> {
        self.typed(t, "", key, Item::as_table, &format!("a table [{key}]"))
    }

    pub(crate) fn tables<'t>(&mut self, t: &'t Table, key: &str) -> Vec<&'t Table> {
        let must_be = format!("a list of tables [[{key}]]");
        self.typed(t, "", key, Item::as_array_of_tables, &must_be)
            .map(|arr| arr.iter().collect())
            .unwrap_or_default()
    }

    /// A component's `profile`: required, one of the known names; `custom` after an error.
    pub(crate) fn profile(&mut self, t: &Table, prefix: &str) -> Profile {
        match self.string(t, prefix, "profile") {
            Some(s) => parse_profile(&s).unwrap_or_else(|| {
                self.push(
                    prefix,
                    "profile",
                    format!("unknown profile {s:?}; one of maestro-hub, maestro-lui, maestro-tracker, custom"),
                );
                Profile::Custom
            }),
            None => {
                self.push(prefix, "profile", "is required".into());
                Profile::Custom
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
