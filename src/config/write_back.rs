//! Write-back: settings changed through the API written into the operator's file with
//! `toml_edit`, comments and alignment kept, and replaced atomically.

use std::path::Path;

use toml_edit::{DocumentMut, Item, Table};

use super::{
    ComponentConfig, Consistency, DrillSchedule, HookSettings, Lifecycle, ScheduleSettings,
};

/// Why a config text could not be edited (the API answers 500: the file was valid when read).
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("{0}")]
    Syntax(#[from] toml_edit::TomlError),
    #[error("{0} is not a table in the file")]
    NotATable(&'static str),
    #[error("components[{0}] not found in the file")]
    NoComponent(usize),
}

/// Sets `key = value` in `t`, keeping the comment and spacing around the old value. A comment
/// after the value stays in its column (aligned with its neighbours') when the new value is
/// wider or narrower, and keeps at least one space before it.
pub(super) fn set_value(t: &mut Table, key: &str, new: impl Into<toml_edit::Value>) {
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

fn table_mut<'d>(doc: &'d mut DocumentMut, key: &'static str) -> Result<&'d mut Table, EditError> {
    doc.entry(key)
        .or_insert_with(|| Item::Table(Table::new()))
        .as_table_mut()
        .ok_or(EditError::NotATable(key))
}

/// The config text with `schedule` and `hooks` replaced, everything else (comments too) kept.
/// The config text with the array of tables `key` (`[[key]]`) replaced by `items`, in that
/// order. An entry whose `name` was there already keeps its place's comments and the layout of
/// the keys it still has (`fill` sets its keys and removes those no longer set); no items
/// removes the array. Everything else in the file is kept.
pub(crate) fn edit_named_tables<T>(
    text: &str,
    key: &'static str,
    items: &[T],
    name: impl Fn(&T) -> &str,
    fill: impl Fn(&mut Table, &T),
) -> Result<String, EditError> {
    let mut doc: DocumentMut = text.parse()?;
    let old: Vec<Table> = match doc.get(key) {
        None => Vec::new(),
        Some(item) => item
            .as_array_of_tables()
            .ok_or(EditError::NotATable(key))?
            .iter()
            .cloned()
            .collect(),
    };
    let mut array = toml_edit::ArrayOfTables::new();
    for t in items {
        let mut table = old
            .iter()
            .find(|o| o.get("name").and_then(Item::as_str) == Some(name(t)))
            .cloned()
            .unwrap_or_default();
        fill(&mut table, t);
        array.push(table);
    }
    if array.is_empty() {
        doc.remove(key);
    } else {
        doc.insert(key, Item::ArrayOfTables(array));
    }
    Ok(doc.to_string())
}

pub fn edit_settings(
    text: &str,
    schedule: &ScheduleSettings,
    hooks: &HookSettings,
) -> Result<String, EditError> {
    let mut doc: DocumentMut = text.parse()?;
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

/// The config text with the `[drill]` table set from `d` (made when missing), everything else
/// kept.
pub fn edit_drill(text: &str, d: &DrillSchedule) -> Result<String, EditError> {
    let mut doc: DocumentMut = text.parse()?;
    let t = table_mut(&mut doc, "drill")?;
    set_value(t, "weekday", d.weekday.as_str());
    set_value(t, "time", d.time.as_str());
    set_value(t, "every_days", i64::from(d.every_days));
    Ok(doc.to_string())
}

/// The config text with component `index`'s `backup_folder`, `keep`, `items` (when given) and
/// consistency keys (freeze, thaw, snapshot, `on_change`) and drill keys (`drill_root`,
/// `drill_probe_command`) set from `c`; everything else kept.
pub fn edit_component(text: &str, index: usize, c: &ComponentConfig) -> Result<String, EditError> {
    let mut doc: DocumentMut = text.parse()?;
    let t = doc
        .get_mut("components")
        .and_then(Item::as_array_of_tables_mut)
        .and_then(|a| a.get_mut(index))
        .ok_or(EditError::NoComponent(index))?;
    set_value(t, "backup_folder", c.backup_folder.as_str());
    set_value(t, "keep", c.keep as i64);
    if let Some(items) = &c.items {
        let arr: toml_edit::Array = items.iter().map(String::as_str).collect();
        set_value(t, "items", arr);
    }
    set_consistency(t, &c.consistency);
    set_lifecycle(t, &c.lifecycle);
    match &c.drill_root {
        Some(r) => set_value(t, "drill_root", r.as_str()),
        None => {
            t.remove("drill_root");
        }
    }
    if !c.drill_probe_command.is_empty() || t.contains_key("drill_probe_command") {
        set_value(t, "drill_probe_command", c.drill_probe_command.as_str());
    }
    Ok(doc.to_string())
}

/// Writes each lifecycle key that differs from its default or is already in the table.
fn set_lifecycle(t: &mut Table, l: &Lifecycle) {
    let d = Lifecycle::default();
    for (key, value, default) in [
        ("stop_command", &l.stop_command, &d.stop_command),
        ("start_command", &l.start_command, &d.start_command),
        ("health_command", &l.health_command, &d.health_command),
    ] {
        if value != default || t.contains_key(key) {
            set_value(t, key, value.as_str());
        }
    }
    let key = "start_timeout_seconds";
    if l.start_timeout_seconds != d.start_timeout_seconds || t.contains_key(key) {
        set_value(t, key, l.start_timeout_seconds as i64);
    }
    let key = "rollback_on_unhealthy";
    if l.rollback_on_unhealthy != d.rollback_on_unhealthy || t.contains_key(key) {
        set_value(t, key, l.rollback_on_unhealthy);
    }
}

/// Writes each consistency key that differs from its default or is already in the table, so a
/// file that never used them stays as it was.
fn set_consistency(t: &mut Table, k: &Consistency) {
    let d = Consistency::default();
    let strings = [
        ("freeze_command", &k.freeze_command, &d.freeze_command),
        ("thaw_command", &k.thaw_command, &d.thaw_command),
        (
            "on_change",
            &k.on_change.as_str().to_string(),
            &d.on_change.as_str().to_string(),
        ),
        (
            "snapshot",
            &k.snapshot.as_str().to_string(),
            &d.snapshot.as_str().to_string(),
        ),
        ("snapshot_command", &k.snapshot_command, &d.snapshot_command),
        (
            "snapshot_release_command",
            &k.snapshot_release_command,
            &d.snapshot_release_command,
        ),
    ];
    for (key, value, default) in strings {
        if value != default || t.contains_key(key) {
            set_value(t, key, value.as_str());
        }
    }
    let key = "freeze_timeout_seconds";
    if k.freeze_timeout_seconds != d.freeze_timeout_seconds || t.contains_key(key) {
        set_value(t, key, k.freeze_timeout_seconds as i64);
    }
}

/// Replaces `path` with `text` atomically: temp file in the same folder, fsync, rename, fsync
/// of the folder. A reader sees the old or the new file, never a mix.
pub fn write_atomic(path: &Path, text: &[u8]) -> std::io::Result<()> {
    // keep the operator's permissions on the file (a config may hold secrets' paths)
    crate::toolkit::fsutil::write_atomic_keeping_mode(path, text).map_err(|e| e.source)
}
