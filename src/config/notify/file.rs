//! The notification settings in the file: `[notifications]` and `[[notification_targets]]`
//! read with every error named (key and line), and the targets written back with `toml_edit`,
//! comments kept.

use std::collections::BTreeMap;

use toml_edit::{Array, InlineTable, Table};

use super::super::parse::Reader;
use super::super::write_back::{edit_named_tables, set_value};
use super::super::EditError;
use super::{NamedTarget, NotifySettings, TargetSettings, MAX_OVERDUE_HOURS};

const TARGET_KEYS: [&str; 20] = [
    "name",
    "kind",
    "url",
    "secret_file",
    "signature_header",
    "headers",
    "start_url",
    "success_url",
    "fail_url",
    "smtp_host",
    "smtp_port",
    "tls",
    "username",
    "password_file",
    "from",
    "to",
    "timeout_seconds",
    "events",
    "min_severity",
    "mode",
];

/// Reads `[notifications]` and `[[notification_targets]]` from the file's root table.
pub(in crate::config) fn read(r: &mut Reader<'_>, root: &Table) -> NotifySettings {
    let mut n = NotifySettings::default();
    if let Some(t) = r.table(root, "notifications") {
        r.check_keys(t, "notifications", &["overdue_after_hours"]);
        if let Some(h) = r.integer(t, "notifications", "overdue_after_hours") {
            match u64::try_from(h) {
                Ok(h) if h <= MAX_OVERDUE_HOURS => n.overdue_after_hours = h,
                _ => r.push(
                    "notifications",
                    "overdue_after_hours",
                    format!("must be between 0 (off) and {MAX_OVERDUE_HOURS}"),
                ),
            }
        }
    }
    for (i, t) in r
        .tables(root, "notification_targets")
        .into_iter()
        .enumerate()
    {
        let p = format!("notification_targets[{i}]");
        r.check_keys(t, &p, &TARGET_KEYS);
        let name = r.string(t, &p, "name").unwrap_or_else(|| {
            r.push(&p, "name", "is required".into());
            String::new()
        });
        let kind = r.string(t, &p, "kind").unwrap_or_else(|| {
            r.push(&p, "kind", "is required: webhook, email or ping".into());
            String::new()
        });
        let headers = match t.get("headers") {
            None => BTreeMap::new(),
            Some(item) => {
                let pairs = item.as_table_like().and_then(|tl| {
                    tl.iter()
                        .map(|(k, v)| v.as_str().map(|v| (k.to_string(), v.to_string())))
                        .collect::<Option<BTreeMap<_, _>>>()
                });
                pairs.unwrap_or_else(|| {
                    let at = r.at(item);
                    r.push(&p, "headers", format!("must be a table of strings{at}"));
                    BTreeMap::new()
                })
            }
        };
        let settings = TargetSettings {
            kind,
            url: r.string(t, &p, "url"),
            secret_file: r.string(t, &p, "secret_file"),
            signature_header: r.string(t, &p, "signature_header"),
            headers,
            start_url: r.string(t, &p, "start_url"),
            success_url: r.string(t, &p, "success_url"),
            fail_url: r.string(t, &p, "fail_url"),
            smtp_host: r.string(t, &p, "smtp_host"),
            smtp_port: r.integer(t, &p, "smtp_port"),
            tls: r.string(t, &p, "tls"),
            username: r.string(t, &p, "username"),
            password_file: r.string(t, &p, "password_file"),
            from: r.string(t, &p, "from"),
            to: r.string_array(t, &p, "to").unwrap_or_default(),
            timeout_seconds: r.integer(t, &p, "timeout_seconds"),
            events: r.string_array(t, &p, "events").unwrap_or_default(),
            min_severity: r.string(t, &p, "min_severity"),
            mode: r.string(t, &p, "mode"),
        };
        n.targets.push(NamedTarget { name, settings });
    }
    n
}

/// The config text with `[[notification_targets]]` replaced by `targets`, in that order. An
/// entry whose name was there already keeps its place's comments and the layout of the keys
/// it still has; keys no longer set are removed. Everything else in the file is kept.
pub fn edit_targets(text: &str, targets: &[NamedTarget]) -> Result<String, EditError> {
    edit_named_tables(text, "notification_targets", targets, |t| &t.name, fill)
}

/// Sets the keys of `t` in `table`, removing those it does not set.
fn fill(table: &mut Table, t: &NamedTarget) {
    let s = &t.settings;
    let strings = [
        ("kind", Some(&s.kind)),
        ("url", s.url.as_ref()),
        ("secret_file", s.secret_file.as_ref()),
        ("signature_header", s.signature_header.as_ref()),
        ("start_url", s.start_url.as_ref()),
        ("success_url", s.success_url.as_ref()),
        ("fail_url", s.fail_url.as_ref()),
        ("smtp_host", s.smtp_host.as_ref()),
        ("tls", s.tls.as_ref()),
        ("username", s.username.as_ref()),
        ("password_file", s.password_file.as_ref()),
        ("from", s.from.as_ref()),
        ("min_severity", s.min_severity.as_ref()),
        ("mode", s.mode.as_ref()),
    ];
    set_value(table, "name", t.name.as_str());
    for (key, value) in strings {
        match value {
            Some(v) => set_value(table, key, v.as_str()),
            None => {
                table.remove(key);
            }
        }
    }
    for (key, value) in [
        ("smtp_port", s.smtp_port),
        ("timeout_seconds", s.timeout_seconds),
    ] {
        match value {
            Some(v) => set_value(table, key, v),
            None => {
                table.remove(key);
            }
        }
    }
    for (key, list) in [("to", &s.to), ("events", &s.events)] {
        if list.is_empty() {
            table.remove(key);
        } else {
            let arr: Array = list.iter().map(String::as_str).collect();
            set_value(table, key, arr);
        }
    }
    if s.headers.is_empty() {
        table.remove("headers");
    } else {
        let mut inline = InlineTable::new();
        for (k, v) in &s.headers {
            inline.insert(k, v.as_str().into());
        }
        set_value(table, "headers", inline);
    }
}
