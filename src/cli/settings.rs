//! `settings show`, `settings set KEY=VALUE ...`, `components`, `component set NAME KEY=VALUE ...`.
//!
//! A change is a read-modify-write guarded by the server's ETag: the GET's `ETag` goes back in
//! `If-Match`, so a change made by someone else in between is refused (412, exit 4) instead of
//! being overwritten. The generated client returns bodies only, not headers, so the GETs that
//! need the ETag use its reqwest client directly.

use backup_master_client::apis::components_api;
use backup_master_client::models::{ComponentUpdate, ComponentView, SettingsView};
use clap::Subcommand;
use http_client::Method;
use serde_json::{Map, Value};

use super::conn::{CliError, Client};
use super::output::{self, print_json, print_table, table};
use super::{Common, Exit, OutputArgs};

#[derive(Subcommand)]
pub enum SettingsAction {
    /// The schedule, the hooks and the next runs.
    Show {
        #[command(flatten)]
        common: Common,
    },
    /// Change settings, e.g. `schedule.daily_time=02:30 schedule.time_zone=Europe/Berlin
    /// hooks.env=TAPE_DEVICE,TZ` (lists comma-separated; an empty value clears a list).
    Set {
        /// KEY=VALUE pairs; keys as in `settings show --output json`.
        #[arg(required = true, value_name = "KEY=VALUE", value_parser = parse_pair)]
        changes: Vec<(String, String)>,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
pub enum ComponentAction {
    /// Change a component, e.g. `component set lui keep=5 backup_folder=/mnt/backup/lui`
    /// (`items=a,b/` for a custom component, `health_command=` removes the command).
    Set {
        /// Component name.
        name: String,
        /// KEY=VALUE pairs: keep, backup_folder, items, freeze_command, thaw_command,
        /// freeze_timeout_seconds, on_change (warn|fail), snapshot (none|btrfs|command),
        /// snapshot_command, snapshot_release_command, stop_command, start_command,
        /// health_command, start_timeout_seconds, rollback_on_unhealthy (true|false),
        /// drill_root, drill_probe_command. An empty command or drill_root removes it.
        #[arg(required = true, value_name = "KEY=VALUE", value_parser = parse_pair)]
        changes: Vec<(String, String)>,
        #[command(flatten)]
        common: Common,
    },
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("{s:?}: expected KEY=VALUE")),
    }
}

/// A body and the ETag it came with.
async fn get_with_etag(client: &Client, path: &str) -> Result<(Value, String), CliError> {
    let resp = client.send(client.request(Method::GET, path)).await?;
    let etag = resp
        .headers()
        .get(http_client::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| CliError::Unreachable(format!("GET {path}: the answer has no ETag")))?;
    Ok((json_body(resp, path).await?, etag))
}

/// A body as the server sent it.
async fn get_value(client: &Client, path: &str) -> Result<Value, CliError> {
    let resp = client.send(client.request(Method::GET, path)).await?;
    json_body(resp, path).await
}

async fn json_body(resp: http_client::Response, path: &str) -> Result<Value, CliError> {
    resp.json::<Value>()
        .await
        .map_err(|e| CliError::Unreachable(format!("GET {path}: {e}")))
}

pub async fn settings(a: SettingsAction) -> Result<Exit, CliError> {
    match a {
        SettingsAction::Show { common } => {
            let client = common.conn.connect()?;
            let (body, _) = get_with_etag(&client, "/api/v1/settings").await?;
            show_settings(&body, &common.out)?;
            Ok(Exit::Ok)
        }
        SettingsAction::Set { changes, common } => {
            let client = common.conn.connect()?;
            let (current, etag) = get_with_etag(&client, "/api/v1/settings").await?;
            let update = apply_settings(&current, &changes)?;
            // Sent as JSON, not through the generated `put_settings`: its `SettingsUpdate`
            // would drop any field it does not know (today `hooks.env`, which the server then
            // clears); the body here is the server's own, changed only where asked.
            let resp = client
                .send(
                    client
                        .request(Method::PUT, "/api/v1/settings")
                        .header(http_client::header::IF_MATCH, etag)
                        .json(&update),
                )
                .await?;
            let body = resp
                .json::<Value>()
                .await
                .map_err(|e| CliError::Unreachable(format!("PUT /api/v1/settings: {e}")))?;
            show_settings(&body, &common.out)?;
            Ok(Exit::Ok)
        }
    }
}

/// The `PUT /settings` body: `schedule` and `hooks` as read, with `changes` applied. A key
/// must name a field the server showed; the value is parsed as that field's JSON type.
pub fn apply_settings(current: &Value, changes: &[(String, String)]) -> Result<Value, CliError> {
    let mut update = Map::new();
    for group in ["schedule", "hooks"] {
        let table = current.get(group).cloned().unwrap_or(Value::Null);
        if !table.is_object() {
            return Err(CliError::Unreachable(format!(
                "GET /api/v1/settings: the answer has no `{group}`"
            )));
        }
        update.insert(group.to_string(), table);
    }
    let mut update = Value::Object(update);
    for (key, raw) in changes {
        set_field(&mut update, key, raw)?;
    }
    Ok(update)
}

/// Sets `key` (dotted) in `obj` to `raw` parsed as the JSON type of the value already there.
fn set_field(obj: &mut Value, key: &str, raw: &str) -> Result<(), CliError> {
    let known = {
        let mut keys = Vec::new();
        collect_keys(obj, "", &mut keys);
        keys.join(", ")
    };
    let Some(slot) = key
        .split('.')
        .try_fold(&mut *obj, |v, part| v.get_mut(part))
    else {
        return Err(CliError::Usage(format!(
            "{key}: unknown setting; known: {known}"
        )));
    };
    let parsed = match slot {
        Value::Bool(_) => match raw.trim() {
            "true" | "yes" | "on" => Value::Bool(true),
            "false" | "no" | "off" => Value::Bool(false),
            _ => {
                return Err(CliError::Usage(format!(
                    "{key}: {raw:?} is not true or false"
                )))
            }
        },
        Value::Number(_) => raw
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| CliError::Usage(format!("{key}: {raw:?} is not a whole number")))?,
        Value::Array(_) => Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_string()))
                .collect(),
        ),
        Value::String(_) | Value::Null => Value::String(raw.to_string()),
        Value::Object(_) => {
            return Err(CliError::Usage(format!(
                "{key}: a group, not a setting; known: {known}"
            )))
        }
    };
    *slot = parsed;
    Ok(())
}

fn collect_keys(v: &Value, prefix: &str, out: &mut Vec<String>) {
    if let Value::Object(m) = v {
        for (k, child) in m {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if child.is_object() {
                collect_keys(child, &key, out);
            } else {
                out.push(key);
            }
        }
    }
}

fn show_settings(body: &Value, out: &OutputArgs) -> Result<(), CliError> {
    if out.json() {
        print_json(body);
        return Ok(());
    }
    let mut keys = Vec::new();
    let groups = Value::Object(
        ["schedule", "hooks"]
            .iter()
            .filter_map(|g| body.get(*g).map(|v| (g.to_string(), v.clone())))
            .collect(),
    );
    collect_keys(&groups, "", &mut keys);
    let mut t = table(&["setting", "value"]);
    for k in &keys {
        let v = k
            .split('.')
            .try_fold(&groups, |v, p| v.get(p))
            .cloned()
            .unwrap_or(Value::Null);
        let text = match v {
            Value::String(s) => s,
            Value::Array(a) => a
                .iter()
                .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join(","),
            other => other.to_string(),
        };
        t.add_row(vec![k.clone(), text]);
    }
    print_table(&t);
    // The typed view for the next runs: a change of their shape breaks this build.
    let view: SettingsView = serde_json::from_value(body.clone())
        .map_err(|e| CliError::Unreachable(format!("the settings are not the API's: {e}")))?;
    if !view.next_runs.is_empty() {
        println!();
        let mut t = table(&["next runs (utc)", "local", "note"]);
        for n in &view.next_runs {
            t.add_row(vec![
                output::utc(&n.utc),
                format!("{} {}", n.local.format("%Y-%m-%d %H:%M %:z"), n.time_zone),
                output::flat(&n.dst_adjustment)
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
            ]);
        }
        print_table(&t);
    }
    Ok(())
}

pub async fn components(client: &Client, out: OutputArgs) -> Result<Exit, CliError> {
    if out.json() {
        // The server's own JSON, not the generated model's: that would drop the fields it
        // does not know yet (today the consistency settings).
        let list = get_value(client, "/api/v1/components").await?;
        print_json(&list);
    } else {
        let list = components_api::list_components(&client.config).await?;
        super::backups::print_components(&list, output::color_stdout());
    }
    Ok(Exit::Ok)
}

fn whole(key: &str, raw: &str) -> Result<i64, CliError> {
    raw.trim()
        .parse()
        .map_err(|_| CliError::Usage(format!("{key}: {raw:?} is not a whole number")))
}

/// One of the words an enum setting takes, as the API spells them.
fn word<T: serde::de::DeserializeOwned>(key: &str, raw: &str) -> Result<T, CliError> {
    serde_json::from_value(serde_json::Value::String(raw.trim().to_string()))
        .map_err(|_| CliError::Usage(format!("{key}: {raw:?} is not one of its values")))
}

/// The `PUT /components/{name}` body: the component as read, with `changes` applied.
pub fn component_update(
    view: &ComponentView,
    changes: &[(String, String)],
) -> Result<ComponentUpdate, CliError> {
    let mut u = ComponentUpdate::new(view.backup_folder.clone(), i64::from(view.keep));
    if view.profile == "custom" {
        u.items = Some(Some(view.items.clone()));
    }
    for (key, raw) in changes {
        let text = || Some(Some(raw.clone()));
        match key.as_str() {
            "keep" => u.keep = whole(key, raw)?,
            "backup_folder" => u.backup_folder = raw.clone(),
            "items" => {
                u.items = Some(Some(
                    raw.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect(),
                ))
            }
            "freeze_command" => u.freeze_command = text(),
            "thaw_command" => u.thaw_command = text(),
            "snapshot_command" => u.snapshot_command = text(),
            "snapshot_release_command" => u.snapshot_release_command = text(),
            "stop_command" => u.stop_command = text(),
            "start_command" => u.start_command = text(),
            "health_command" => u.health_command = text(),
            "drill_root" => u.drill_root = text(),
            "drill_probe_command" => u.drill_probe_command = text(),
            "freeze_timeout_seconds" => u.freeze_timeout_seconds = Some(Some(whole(key, raw)?)),
            "start_timeout_seconds" => u.start_timeout_seconds = Some(Some(whole(key, raw)?)),
            "rollback_on_unhealthy" => {
                u.rollback_on_unhealthy = Some(Some(raw.trim().parse().map_err(|_| {
                    CliError::Usage(format!("{key}: {raw:?} is not true or false"))
                })?))
            }
            "on_change" => u.on_change = Some(Some(word(key, raw)?)),
            "snapshot" => u.snapshot = Some(Some(word(key, raw)?)),
            other => {
                return Err(CliError::Usage(format!(
                    "{other}: unknown component setting; known: {}",
                    crate::config::COMPONENT_SETTINGS.join(", ")
                )))
            }
        }
    }
    Ok(u)
}

pub async fn component(a: ComponentAction) -> Result<Exit, CliError> {
    let ComponentAction::Set {
        name,
        changes,
        common,
    } = a;
    let client = common.conn.connect()?;
    if !backup_master_config_name(&name) {
        return Err(CliError::Usage(format!(
            "{name:?} is not a component name ([a-z0-9_-], 1 to 32)"
        )));
    }
    let path = format!("/api/v1/components/{name}");
    let (body, etag) = get_with_etag(&client, &path).await?;
    let view: ComponentView = serde_json::from_value(body)
        .map_err(|e| CliError::Unreachable(format!("GET {path}: not the API's: {e}")))?;
    let update = component_update(&view, &changes)?;
    let after = components_api::put_component(&client.config, &name, &etag, update).await?;
    if common.out.json() {
        print_json(&after);
    } else {
        super::backups::print_components(&[after], output::color_stdout());
    }
    Ok(Exit::Ok)
}

/// A component name as the config allows it (checked before it goes into a URL path).
fn backup_master_config_name(name: &str) -> bool {
    crate::config::valid_name(name)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    fn current() -> Value {
        json!({
            "schedule": {"enabled": true, "daily_time": "02:00", "time_zone": "Europe/Berlin", "catch_up": true},
            "hooks": {"on_success": "", "on_failure": "", "work_folder": "", "timeout_seconds": 3600, "env": ["TAPE"]},
            "next_runs": []
        })
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn settings_changes_keep_every_other_field_and_follow_each_type() {
        let u = apply_settings(
            &current(),
            &pairs(&[
                ("schedule.daily_time", "02:30"),
                ("schedule.enabled", "false"),
                ("hooks.timeout_seconds", "60"),
            ]),
        )
        .unwrap();
        assert_eq!(
            u,
            json!({
                "schedule": {"enabled": false, "daily_time": "02:30", "time_zone": "Europe/Berlin", "catch_up": true},
                "hooks": {"on_success": "", "on_failure": "", "work_folder": "", "timeout_seconds": 60, "env": ["TAPE"]}
            })
        );
        let u = apply_settings(&current(), &pairs(&[("hooks.env", "A, B")])).unwrap();
        assert_eq!(u["hooks"]["env"], json!(["A", "B"]));
        let u = apply_settings(&current(), &pairs(&[("hooks.env", "")])).unwrap();
        assert_eq!(u["hooks"]["env"], json!([]));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_usage_errors_naming_the_key() {
        for (k, v) in [
            ("schedule.daly_time", "02:00"),
            ("next_runs", "x"),
            ("schedule", "x"),
            ("schedule.enabled", "maybe"),
            ("hooks.timeout_seconds", "soon"),
        ] {
            let e = apply_settings(&current(), &pairs(&[(k, v)])).unwrap_err();
            assert_eq!(e.exit(), Exit::BadInput, "{k}");
            assert!(e.to_string().starts_with(k), "{e}");
        }
    }

    #[test]
    fn component_changes_start_from_the_current_values() {
        let mut view = ComponentView::new(
            String::new(),
            60,
            backup_master_client::models::OnChange::Warn,
            backup_master_client::models::SnapshotMode::None,
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            false,
            String::new(),
            120,
            String::new(),
            "backup".into(),
            String::new(),
            vec!["lui.ini".into()],
            3,
            "local".into(),
            "lui".into(),
            "maestro-lui".into(),
        );
        let u = component_update(&view, &pairs(&[("keep", "5")])).unwrap();
        assert_eq!(
            (u.backup_folder.as_str(), u.keep, u.items),
            ("backup", 5, None)
        );
        view.profile = "custom".into();
        let u = component_update(&view, &pairs(&[("items", "a.ini,data/")])).unwrap();
        assert_eq!(u.items, Some(Some(vec!["a.ini".into(), "data/".into()])));
        let u = component_update(
            &view,
            &pairs(&[
                ("health_command", "/opt/lui/check"),
                ("stop_command", ""),
                ("start_timeout_seconds", "30"),
                ("rollback_on_unhealthy", "true"),
                ("on_change", "fail"),
                ("drill_probe_command", "true"),
            ]),
        )
        .unwrap();
        assert_eq!(u.health_command, Some(Some("/opt/lui/check".into())));
        assert_eq!(u.stop_command, Some(Some(String::new())));
        assert_eq!(u.start_timeout_seconds, Some(Some(30)));
        assert_eq!(u.rollback_on_unhealthy, Some(Some(true)));
        assert_eq!(
            u.on_change,
            Some(Some(backup_master_client::models::OnChange::Fail))
        );
        assert_eq!(u.drill_probe_command, Some(Some("true".into())));
        // Untouched settings stay absent: the server keeps them.
        assert_eq!(
            (u.freeze_command.clone(), u.drill_root.clone()),
            (None, None)
        );
        for bad in [
            ("on_change", "maybe"),
            ("rollback_on_unhealthy", "yes"),
            ("start_timeout_seconds", "1m"),
        ] {
            let e = component_update(&view, &pairs(&[bad])).unwrap_err();
            assert!(e.to_string().starts_with(bad.0), "{e}");
        }
        assert!(component_update(&view, &pairs(&[("kep", "5")])).is_err());
        assert!(component_update(&view, &pairs(&[("keep", "five")])).is_err());
    }
}
