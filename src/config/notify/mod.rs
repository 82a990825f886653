//! The notification settings of the config file: `[notifications]` (`overdue_after_hours`) and
//! `[[notification_targets]]` (webhook, email, ping; each with its matcher). Read from the
//! file, checked (the same check for the file and for `PUT /notification-targets/{name}`, every
//! field named), turned into the typed [`Target`] the notifier sends to, and written back.
//! Secrets stay in files: the settings hold their paths only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{resolve, valid_name, FieldError};
use crate::toolkit::events::{EventKind, Severity};

mod file;
#[cfg(test)]
mod tests;

pub use file::edit_targets;
pub(super) use file::read;

/// Default of `overdue_after_hours`: a daily backup plus two hours of slack.
pub const DEFAULT_OVERDUE_HOURS: u64 = 26;
/// Most of `overdue_after_hours` (a year).
pub const MAX_OVERDUE_HOURS: u64 = 24 * 366;
/// Default of a target's `timeout_seconds`.
pub const DEFAULT_TARGET_TIMEOUT: u64 = 10;
/// Most of a target's `timeout_seconds`.
pub const MAX_TARGET_TIMEOUT: u64 = 300;
/// The header of a webhook's signature when `signature_header` is not given.
pub const DEFAULT_SIGNATURE_HEADER: &str = "X-Backup-Master-Signature";

/// `[notifications]` and `[[notification_targets]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifySettings {
    /// Hours without a successful backup (since the previous success) after which an
    /// `overdue` event fires; 0: never.
    pub overdue_after_hours: u64,
    pub targets: Vec<NamedTarget>,
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings {
            overdue_after_hours: DEFAULT_OVERDUE_HOURS,
            targets: Vec::new(),
        }
    }
}

/// One `[[notification_targets]]` entry: its name and settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedTarget {
    pub name: String,
    pub settings: TargetSettings,
}

/// A notification target's settings, as in the file (`[[notification_targets]]`, without
/// `name`) and in the API. Which keys apply depends on `kind`; the others must be absent.
/// Secrets are never here: `secret_file` and `password_file` name the files holding them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetSettings {
    /// `webhook` (POST of the event as JSON), `email` (SMTP) or `ping` (healthchecks.io-style
    /// URLs).
    #[schema(example = "webhook", pattern = "^(webhook|email|ping)$")]
    pub kind: String,
    /// webhook: the URL the event is POSTed to. ping: the check's URL; success pings it,
    /// `<url>/start` and `<url>/fail` the other states. http or https.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "https://hooks.example.com/backup")]
    pub url: Option<String>,
    /// webhook: file holding the HMAC-SHA256 key; the body's signature is then sent as
    /// `sha256=<hex>` in `signature_header`. Absolute, or relative to the config file's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "/etc/backup-master/webhook.secret")]
    pub secret_file: Option<String>,
    /// webhook: the signature's header (default `X-Backup-Master-Signature`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_header: Option<String>,
    /// webhook: more headers sent with each POST.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(example = json!({"X-Team": "ops"}))]
    pub headers: BTreeMap<String, String>,
    /// ping, instead of `url`: the URL pinged when a backup starts (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_url: Option<String>,
    /// ping, instead of `url`: the URL pinged for info events (a success).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_url: Option<String>,
    /// ping, instead of `url`: the URL pinged for warnings and errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_url: Option<String>,
    /// email: the SMTP server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "smtp.example.com")]
    pub smtp_host: Option<String>,
    /// email: 1 to 65535; default 587 (starttls), 465 (tls) or 25 (none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 587)]
    pub smtp_port: Option<i64>,
    /// email: `starttls` (default), `tls` (implicit TLS) or `none` (plain; only for a server on
    /// this machine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "starttls")]
    pub tls: Option<String>,
    /// email: the SMTP user; needs `password_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// email: file holding the SMTP password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<String>,
    /// email: the sender, `backup@example.com` or `Backups <backup@example.com>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "backup-master <backup@example.com>")]
    pub from: Option<String>,
    /// email: the recipients (one at least).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(example = json!(["ops@example.com"]))]
    pub to: Vec<String>,
    /// Seconds one attempt may take, 1 to 300 (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 10, minimum = 1, maximum = 300)]
    pub timeout_seconds: Option<i64>,
    /// Matcher: the events sent (`backup_started`, `backup_succeeded`, `backup_failed`,
    /// `backup_cancelled`, `backup_interrupted`, `restore_ended`, `verification_failed`,
    /// `hook_failed`, `agent_unreachable`, `agent_reachable`, `overdue`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(example = json!(["backup_failed", "overdue"]))]
    pub events: Vec<String>,
    /// Matcher: the least severity sent: `info`, `warning` or `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "warning")]
    pub min_severity: Option<String>,
    /// Matcher, when both `events` and `min_severity` are given: `all` (default; an event
    /// must pass both) or `any` (one is enough). With neither, warnings and errors are sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "all")]
    pub mode: Option<String>,
}

/// How a target's matcher combines its conditions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchMode {
    All,
    Any,
}

/// Which events a target gets (see `crate::notify::matcher`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matcher {
    pub events: Vec<EventKind>,
    pub min_severity: Option<Severity>,
    pub mode: MatchMode,
}

/// How an email target talks to its server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    StartTls,
    Tls,
    None,
}

/// Where and how a target sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Channel {
    Webhook {
        url: reqwest::Url,
        secret_file: Option<PathBuf>,
        signature_header: String,
        headers: Vec<(String, String)>,
    },
    Email {
        host: String,
        port: u16,
        tls: SmtpTls,
        username: Option<String>,
        password_file: Option<PathBuf>,
        from: String,
        to: Vec<String>,
    },
    Ping {
        start: Option<reqwest::Url>,
        success: reqwest::Url,
        fail: reqwest::Url,
    },
}

/// A checked target, ready to send to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub channel: Channel,
    pub matcher: Matcher,
    pub timeout: Duration,
}

/// Field errors under a prefix (`notification_targets[1].` for the file, none for the API).
struct Errors<'p> {
    prefix: &'p str,
    list: Vec<FieldError>,
}

impl Errors<'_> {
    fn add(&mut self, field: &str, message: impl Into<String>) {
        self.list
            .push(FieldError::new(format!("{}{field}", self.prefix), message));
    }
}

/// Keys of each kind only.
const WEBHOOK_KEYS: [&str; 3] = ["secret_file", "signature_header", "headers"];
const PING_KEYS: [&str; 3] = ["start_url", "success_url", "fail_url"];
const EMAIL_KEYS: [&str; 7] = [
    "smtp_host",
    "smtp_port",
    "tls",
    "username",
    "password_file",
    "from",
    "to",
];

impl TargetSettings {
    /// The keys of this settings that are set (for the kind check).
    fn given(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        let mut mark = |on: bool, k: &'static str| {
            if on {
                v.push(k)
            }
        };
        mark(self.secret_file.is_some(), "secret_file");
        mark(self.signature_header.is_some(), "signature_header");
        mark(!self.headers.is_empty(), "headers");
        mark(self.start_url.is_some(), "start_url");
        mark(self.success_url.is_some(), "success_url");
        mark(self.fail_url.is_some(), "fail_url");
        mark(self.smtp_host.is_some(), "smtp_host");
        mark(self.smtp_port.is_some(), "smtp_port");
        mark(self.tls.is_some(), "tls");
        mark(self.username.is_some(), "username");
        mark(self.password_file.is_some(), "password_file");
        mark(self.from.is_some(), "from");
        mark(!self.to.is_empty(), "to");
        v
    }

    /// Checks these settings as target `name`, files relative to `base_dir`; the typed target,
    /// or every problem with its field (each prefixed with `prefix`).
    pub fn check(
        &self,
        name: &str,
        base_dir: &Path,
        prefix: &str,
    ) -> Result<Target, Vec<FieldError>> {
        let mut e = Errors {
            prefix,
            list: Vec::new(),
        };
        if !valid_name(name) {
            e.add(
                "name",
                format!("{name:?} must be 1 to 32 of a-z, 0-9, '_' and '-'"),
            );
        }
        let timeout = match self.timeout_seconds {
            None => DEFAULT_TARGET_TIMEOUT,
            Some(t) => match u64::try_from(t) {
                Ok(t) if (1..=MAX_TARGET_TIMEOUT).contains(&t) => t,
                _ => {
                    e.add(
                        "timeout_seconds",
                        format!("must be between 1 and {MAX_TARGET_TIMEOUT}"),
                    );
                    DEFAULT_TARGET_TIMEOUT
                }
            },
        };
        let matcher = self.matcher(&mut e);
        let own: &[&str] = match self.kind.as_str() {
            "webhook" => &WEBHOOK_KEYS,
            "ping" => &PING_KEYS,
            "email" => &EMAIL_KEYS,
            other => {
                e.add(
                    "kind",
                    format!("unknown kind {other:?}; one of webhook, email, ping"),
                );
                return Err(e.list);
            }
        };
        for key in self.given() {
            if !own.contains(&key) {
                e.add(key, format!("does not apply to a {} target", self.kind));
            }
        }
        let channel = match self.kind.as_str() {
            "webhook" => self.webhook(base_dir, &mut e),
            "ping" => self.ping(&mut e),
            _ => self.email(base_dir, &mut e),
        };
        match channel {
            Some(channel) if e.list.is_empty() => Ok(Target {
                name: name.to_string(),
                channel,
                matcher,
                timeout: Duration::from_secs(timeout),
            }),
            _ => Err(e.list),
        }
    }

    fn matcher(&self, e: &mut Errors<'_>) -> Matcher {
        let mut events = Vec::new();
        for (i, name) in self.events.iter().enumerate() {
            match EventKind::parse(name).filter(|k| *k != EventKind::Test) {
                Some(k) if !events.contains(&k) => events.push(k),
                Some(_) => e.add(&format!("events[{i}]"), format!("{name:?} is listed twice")),
                None => e.add(
                    &format!("events[{i}]"),
                    format!("unknown event {name:?}; one of {}", event_names()),
                ),
            }
        }
        let min_severity = self.min_severity.as_deref().and_then(|s| {
            let v = Severity::parse(s);
            if v.is_none() {
                e.add(
                    "min_severity",
                    format!("unknown severity {s:?}; one of info, warning, error"),
                );
            }
            v
        });
        let mode = match self.mode.as_deref() {
            None | Some("all") => MatchMode::All,
            Some("any") => MatchMode::Any,
            Some(other) => {
                e.add("mode", format!("unknown mode {other:?}; one of all, any"));
                MatchMode::All
            }
        };
        Matcher {
            events,
            min_severity,
            mode,
        }
    }

    fn webhook(&self, base_dir: &Path, e: &mut Errors<'_>) -> Option<Channel> {
        let url = required_url(self.url.as_deref(), "url", e);
        let secret_file = self
            .secret_file
            .as_deref()
            .and_then(|f| secret_file(base_dir, f, "secret_file", e));
        let signature_header = self
            .signature_header
            .clone()
            .unwrap_or_else(|| DEFAULT_SIGNATURE_HEADER.to_string());
        if reqwest::header::HeaderName::from_bytes(signature_header.as_bytes()).is_err() {
            e.add("signature_header", "must be an HTTP header name");
        }
        for (name, value) in &self.headers {
            let field = format!("headers.{name}");
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                e.add(&field, "must be an HTTP header name");
            } else if name.eq_ignore_ascii_case(&signature_header)
                || name.eq_ignore_ascii_case("content-type")
                || name.eq_ignore_ascii_case("content-length")
            {
                e.add(&field, "is set by the server");
            }
            if reqwest::header::HeaderValue::from_str(value).is_err() {
                e.add(&field, "must be a visible ASCII header value");
            }
        }
        Some(Channel::Webhook {
            url: url?,
            secret_file,
            signature_header,
            headers: self
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        })
    }

    fn ping(&self, e: &mut Errors<'_>) -> Option<Channel> {
        let per_state =
            self.success_url.is_some() || self.fail_url.is_some() || self.start_url.is_some();
        match (&self.url, per_state) {
            (Some(_), true) => {
                e.add(
                    "url",
                    "give either url or start_url/success_url/fail_url, not both",
                );
                None
            }
            (Some(_), false) => {
                let base = required_url(self.url.as_deref(), "url", e)?;
                let join = |suffix: &str| {
                    let text = format!("{}/{suffix}", base.as_str().trim_end_matches('/'));
                    reqwest::Url::parse(&text).ok()
                };
                Some(Channel::Ping {
                    start: join("start"),
                    fail: join("fail")?,
                    success: base,
                })
            }
            (None, _) => {
                let success = required_url(self.success_url.as_deref(), "success_url", e);
                let fail = required_url(self.fail_url.as_deref(), "fail_url", e);
                let start = match self.start_url.as_deref() {
                    Some(u) => Some(required_url(Some(u), "start_url", e)?),
                    None => None,
                };
                if self.success_url.is_none() && self.fail_url.is_none() {
                    e.list.retain(|f| {
                        !f.field.ends_with("success_url") && !f.field.ends_with("fail_url")
                    });
                    e.add(
                        "url",
                        "a ping target needs url, or success_url and fail_url",
                    );
                }
                Some(Channel::Ping {
                    start,
                    success: success?,
                    fail: fail?,
                })
            }
        }
    }

    fn email(&self, base_dir: &Path, e: &mut Errors<'_>) -> Option<Channel> {
        let host = match self.smtp_host.as_deref().map(str::trim) {
            Some(h) if !h.is_empty() && !h.contains(['/', ' ', '\0']) => Some(h.to_string()),
            Some(_) => {
                e.add("smtp_host", "must be a host name or address");
                None
            }
            None => {
                e.add("smtp_host", "is required for an email target");
                None
            }
        };
        let tls = match self.tls.as_deref() {
            None | Some("starttls") => SmtpTls::StartTls,
            Some("tls") => SmtpTls::Tls,
            Some("none") => SmtpTls::None,
            Some(other) => {
                e.add(
                    "tls",
                    format!("unknown tls {other:?}; one of starttls, tls, none"),
                );
                SmtpTls::StartTls
            }
        };
        let port = match self.smtp_port {
            None => match tls {
                SmtpTls::StartTls => 587,
                SmtpTls::Tls => 465,
                SmtpTls::None => 25,
            },
            Some(p) => match u16::try_from(p) {
                Ok(p) if p > 0 => p,
                _ => {
                    e.add("smtp_port", "must be between 1 and 65535");
                    0
                }
            },
        };
        let password_file = self
            .password_file
            .as_deref()
            .and_then(|f| secret_file(base_dir, f, "password_file", e));
        match (&self.username, &self.password_file) {
            (Some(_), None) => e.add("password_file", "is required with username"),
            (None, Some(_)) => e.add("username", "is required with password_file"),
            _ => {}
        }
        let from = match self.from.as_deref() {
            Some(f) if f.parse::<lettre::message::Mailbox>().is_ok() => Some(f.to_string()),
            Some(_) => {
                e.add(
                    "from",
                    "must be an email address (name <user@host> or user@host)",
                );
                None
            }
            None => {
                e.add("from", "is required for an email target");
                None
            }
        };
        if self.to.is_empty() {
            e.add(
                "to",
                "is required for an email target: one address at least",
            );
        }
        for (i, t) in self.to.iter().enumerate() {
            if t.parse::<lettre::message::Mailbox>().is_err() {
                e.add(&format!("to[{i}]"), "must be an email address");
            }
        }
        Some(Channel::Email {
            host: host?,
            port,
            tls,
            username: self.username.clone(),
            password_file,
            from: from?,
            to: self.to.clone(),
        })
    }
}

/// Every event name a matcher may list.
fn event_names() -> String {
    EventKind::ALL
        .iter()
        .filter(|k| **k != EventKind::Test)
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// An http or https URL with a host.
fn required_url(url: Option<&str>, field: &str, e: &mut Errors<'_>) -> Option<reqwest::Url> {
    let Some(text) = url else {
        e.add(field, "is required");
        return None;
    };
    match reqwest::Url::parse(text) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
        Ok(_) => {
            e.add(field, "must be an http or https URL with a host");
            None
        }
        Err(err) => {
            e.add(field, format!("is not a URL: {err}"));
            None
        }
    }
}

/// A file holding a secret: it must exist and hold something. Its contents are never kept here.
fn secret_file(base_dir: &Path, file: &str, field: &str, e: &mut Errors<'_>) -> Option<PathBuf> {
    check_secret_file(base_dir, file)
        .map_err(|msg| e.add(field, msg))
        .ok()
}

/// [`secret_file`] for any settings: the resolved path, or what is wrong with it (naming the
/// file, never its contents). Shared with the replication targets' key files.
pub(in crate::config) fn check_secret_file(base_dir: &Path, file: &str) -> Result<PathBuf, String> {
    let path = resolve(base_dir, file);
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() && m.len() > 0 => Ok(path),
        Ok(m) if m.is_file() => Err(format!("{} is empty", path.display())),
        Ok(_) => Err(format!("{} is not a file", path.display())),
        Err(err) => Err(format!("cannot read {}: {err}", path.display())),
    }
}

/// The trimmed contents of a secret file (read at each send, so a rotated secret is used at
/// once). The error names the file, never its contents.
pub fn read_secret(path: &Path) -> Result<String, String> {
    match std::fs::read_to_string(path) {
        Ok(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Ok(_) => Err(format!("{} is empty", path.display())),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Every target of `n`, checked (the config was validated, so none is refused; a target that
/// is, e.g. its secret file removed since, is left out with a log line).
pub fn targets(n: &NotifySettings, base_dir: &Path) -> Vec<Target> {
    n.targets
        .iter()
        .filter_map(|t| match t.settings.check(&t.name, base_dir, "") {
            Ok(target) => Some(target),
            Err(errors) => {
                tracing::error!(target = %t.name, ?errors, "notification target left out");
                None
            }
        })
        .collect()
}

/// Semantic checks of the notification settings, file field paths.
pub fn validate_notifications(n: &NotifySettings, base_dir: &Path) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut names = std::collections::HashSet::new();
    for (i, t) in n.targets.iter().enumerate() {
        let prefix = format!("notification_targets[{i}].");
        if !names.insert(t.name.as_str()) {
            errors.push(FieldError::new(
                format!("{prefix}name"),
                format!("{:?} is used by two targets", t.name),
            ));
        }
        if let Err(e) = t.settings.check(&t.name, base_dir, &prefix) {
            errors.extend(e);
        }
    }
    errors
}
