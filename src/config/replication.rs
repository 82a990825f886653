//! The off-site copy settings of the config file: `[[replication_targets]]` (S3-compatible
//! buckets). Read from the file with every error named, checked (the same check for the file
//! and for `PUT /replication-targets/{name}`), turned into the typed [`ReplicationTarget`] the
//! replication uses, and written back with `toml_edit`. Credentials never live here: the
//! settings hold the paths of the files holding them, or the replication reads them from the
//! environment ([`credentials_env`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml_edit::Table;
use utoipa::ToSchema;

use super::notify::{check_secret_file, read_secret};
use super::parse::Reader;
use super::write_back::{edit_named_tables, set_value};
use super::{valid_name, EditError, FieldError};
use crate::toolkit::age_keys::{check_identity_file, check_recipients_file};

/// Default of `concurrency`: uploads in flight at once.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// Most of `concurrency`.
pub const MAX_CONCURRENCY: usize = 64;
/// Default of `region` (S3-compatible stores mostly ignore it, but it is part of the signature).
pub const DEFAULT_REGION: &str = "us-east-1";

const KEYS: [&str; 17] = [
    "name",
    "endpoint",
    "bucket",
    "prefix",
    "region",
    "path_style",
    "access_key_file",
    "secret_key_file",
    "encrypt_recipients_file",
    "encrypt_passphrase_file",
    "decrypt_identity_file",
    "keep",
    "mode",
    "concurrency",
    "max_bytes_per_second",
    "timeout_seconds",
    "unreferenced_grace_seconds",
];

/// One `[[replication_targets]]` entry: its name and settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedReplicationTarget {
    pub name: String,
    pub settings: ReplicationTargetSettings,
}

/// A replication target's settings, as in the file (`[[replication_targets]]`, without `name`)
/// and in the API. Credentials are never here: `access_key_file` and `secret_key_file` name the
/// files holding them; without them they come from the environment,
/// `BACKUP_MASTER_S3_<NAME>_ACCESS_KEY` and `BACKUP_MASTER_S3_<NAME>_SECRET_KEY` (the name
/// upper-cased, `-` as `_`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplicationTargetSettings {
    /// The S3 endpoint, http or https (`https://s3.eu-central-1.amazonaws.com`,
    /// `http://minio.internal:9000`).
    #[schema(
        example = "https://s3.example.com",
        pattern = "^https?://[^/?#\\s]+(/[^?#\\s]*)?$"
    )]
    pub endpoint: String,
    /// The bucket; it must exist (the replication never creates one).
    #[schema(
        example = "maestro-offsite",
        pattern = "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
    )]
    pub bucket: String,
    /// Key prefix inside the bucket (`site-a/`); empty: the bucket's root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "site-a")]
    pub prefix: Option<String>,
    /// Signing region (default `us-east-1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "eu-central-1")]
    pub region: Option<String>,
    /// Path-style addressing (`<endpoint>/<bucket>/<key>`), as most self-hosted stores need;
    /// default false (virtual-hosted style).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_style: Option<bool>,
    /// File holding the access key ID. With `secret_key_file`; absolute, or relative to the
    /// config file's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "/etc/backup-master/s3.access")]
    pub access_key_file: Option<String>,
    /// File holding the secret access key. With `access_key_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "/etc/backup-master/s3.secret")]
    pub secret_key_file: Option<String>,
    /// Client-side encryption: file of `age` X25519 recipients (`age1...`, one per line, `#`
    /// comments). Blobs and manifests are encrypted to them before upload; restoring and deep
    /// verification need `decrypt_identity_file`. Not with `encrypt_passphrase_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "/etc/backup-master/offsite.recipients")]
    pub encrypt_recipients_file: Option<String>,
    /// Client-side encryption with a passphrase (the file's trimmed content): the first
    /// replication stores a generated `age` identity on the bucket (`keys/identity.age`),
    /// encrypted with the passphrase, and encrypts everything to it. Not with
    /// `encrypt_recipients_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "/etc/backup-master/offsite.passphrase")]
    pub encrypt_passphrase_file: Option<String>,
    /// With `encrypt_recipients_file`: the `age` identity file (`AGE-SECRET-KEY-1...`) of one
    /// of the recipients, for restoring and deep verification. Without it those fail; copying,
    /// quick verification, retention and listing work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "/etc/backup-master/offsite.identity")]
    pub decrypt_identity_file: Option<String>,
    /// Sets kept on the bucket, 1 to 10000, independent of the local history: after each
    /// replication the older manifests are removed, then the blobs no remaining set uses.
    /// The newest set that verified (replicated or checked by this server) is never removed.
    /// Absent: every set is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 14, minimum = 1, maximum = 10000)]
    pub keep: Option<i64>,
    /// With `keep`: a blob no set uses is removed only once it is this old (default 86400, a
    /// day; 0 to 2592000), so a replication of another server to the same bucket never loses
    /// a blob it uploaded and has not referenced yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 86400, minimum = 0, maximum = 2592000)]
    pub unreferenced_grace_seconds: Option<i64>,
    /// `after_backup` (each successful backup is replicated when it ends) or `manual` (only
    /// `POST /replication-targets/{name}/replicate`); default `manual`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "after_backup", pattern = "^(after_backup|manual)$")]
    pub mode: Option<String>,
    /// Uploads in flight at once, 1 to 64 (default 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 4, minimum = 1, maximum = 64)]
    pub concurrency: Option<i64>,
    /// Upload bandwidth limit in bytes per second over all uploads; 0 or absent: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 0, minimum = 0)]
    pub max_bytes_per_second: Option<i64>,
    /// Seconds one request to the store may take, 1 to 3600 (default 60); a request that
    /// takes longer is retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 60, minimum = 1, maximum = 3600)]
    pub timeout_seconds: Option<i64>,
}

/// When a target is replicated to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplicationMode {
    AfterBackup,
    Manual,
}

/// A checked target, ready to replicate to.
#[derive(Clone, PartialEq, Eq)]
pub struct ReplicationTarget {
    pub name: String,
    pub endpoint: String,
    pub bucket: String,
    /// Without a leading or trailing `/`; empty for the bucket's root.
    pub prefix: String,
    pub region: String,
    pub path_style: bool,
    pub access_key_file: Option<PathBuf>,
    pub secret_key_file: Option<PathBuf>,
    pub mode: ReplicationMode,
    pub concurrency: usize,
    /// 0: unlimited.
    pub max_bytes_per_second: u64,
    pub timeout: std::time::Duration,
    /// Sets kept on the bucket; `None`: all.
    pub keep: Option<usize>,
    pub unreferenced_grace: std::time::Duration,
    /// Client-side encryption (paths only: the keys are read by each job).
    pub encryption: Encryption,
}

impl std::fmt::Debug for ReplicationTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicationTarget")
            .field("name", &self.name)
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// An access key pair. Its `Debug` shows neither key.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Credentials {
    pub access_key: String,
    pub secret_key: String,
}

impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("S3Credentials(<redacted>)")
    }
}

/// The environment variables holding target `name`'s keys when the config names no files:
/// `BACKUP_MASTER_S3_<NAME>_ACCESS_KEY` and `..._SECRET_KEY`.
pub fn credentials_env(name: &str) -> (String, String) {
    let up = name.to_ascii_uppercase().replace('-', "_");
    (
        format!("BACKUP_MASTER_S3_{up}_ACCESS_KEY"),
        format!("BACKUP_MASTER_S3_{up}_SECRET_KEY"),
    )
}

impl ReplicationTarget {
    /// The keys, read now (so a rotated key is used at the next run): from the files, else
    /// the environment. The error names the file or variable, never a key.
    pub fn credentials(&self) -> Result<S3Credentials, String> {
        match (&self.access_key_file, &self.secret_key_file) {
            (Some(a), Some(s)) => Ok(S3Credentials {
                access_key: read_secret(a)?,
                secret_key: read_secret(s)?,
            }),
            _ => {
                let (a, s) = credentials_env(&self.name);
                let get = |var: &str| {
                    std::env::var(var)
                        .ok()
                        .map(|v| v.trim().to_string())
                        .filter(|v| !v.is_empty())
                };
                match (get(&a), get(&s)) {
                    (Some(access_key), Some(secret_key)) => Ok(S3Credentials {
                        access_key,
                        secret_key,
                    }),
                    _ => Err(format!(
                        "replication target {} has no credentials: set access_key_file and \
                         secret_key_file, or the environment variables {a} and {s}",
                        self.name
                    )),
                }
            }
        }
    }
}

impl ReplicationTargetSettings {
    /// Checks these settings as target `name`, files relative to `base_dir`; the typed target,
    /// or every problem with its field (each prefixed with `prefix`).
    pub fn check(
        &self,
        name: &str,
        base_dir: &Path,
        prefix: &str,
    ) -> Result<ReplicationTarget, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut add = |field: &str, msg: String| {
            errors.push(FieldError::new(format!("{prefix}{field}"), msg));
        };
        if !valid_name(name) {
            add(
                "name",
                format!("{name:?} must be 1 to 32 of a-z, 0-9, '_' and '-'"),
            );
        }
        match reqwest::Url::parse(&self.endpoint) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                if !u.username().is_empty() || u.password().is_some() {
                    add(
                        "endpoint",
                        "must not hold credentials: use access_key_file and secret_key_file".into(),
                    );
                }
                if u.query().is_some() || u.fragment().is_some() {
                    add("endpoint", "must have no query or fragment".into());
                }
            }
            Ok(_) => add(
                "endpoint",
                "must be an http or https URL with a host".into(),
            ),
            Err(e) => add("endpoint", format!("is not a URL: {e}")),
        }
        if !valid_bucket(&self.bucket) {
            add(
                "bucket",
                "must be 3 to 63 of a-z, 0-9, '.' and '-', starting and ending with a letter or digit"
                    .into(),
            );
        }
        let clean_prefix = self
            .prefix
            .as_deref()
            .unwrap_or("")
            .trim_matches('/')
            .to_string();
        if clean_prefix.split('/').any(|p| p == "." || p == "..")
            || clean_prefix.contains("//")
            || clean_prefix
                .bytes()
                .any(|b| b.is_ascii_control() || b == b'\\')
            || clean_prefix.len() > 200
        {
            add(
                "prefix",
                "must be a plain key prefix: no '.' or '..' parts, no empty parts, no control \
                 characters or backslashes, at most 200 bytes"
                    .into(),
            );
        }
        let region = self
            .region
            .clone()
            .unwrap_or_else(|| DEFAULT_REGION.to_string());
        if region.is_empty()
            || region.len() > 64
            || !region
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            add(
                "region",
                "must be 1 to 64 of a-z, A-Z, 0-9, '-' and '_'".into(),
            );
        }
        let mut file = |field: &str, value: &Option<String>| {
            value.as_deref().and_then(|f| {
                check_secret_file(base_dir, f)
                    .map_err(|m| add(field, m))
                    .ok()
            })
        };
        let access_key_file = file("access_key_file", &self.access_key_file);
        let secret_key_file = file("secret_key_file", &self.secret_key_file);
        let mut add = |field: &str, msg: String| {
            errors.push(FieldError::new(format!("{prefix}{field}"), msg));
        };
        match (&self.access_key_file, &self.secret_key_file) {
            (Some(_), None) => add("secret_key_file", "is required with access_key_file".into()),
            (None, Some(_)) => add("access_key_file", "is required with secret_key_file".into()),
            _ => {}
        }
        let encryption = self.check_encryption(base_dir, &mut add);
        let keep = self.keep.map(|k| match usize::try_from(k) {
            Ok(k) if (1..=10_000).contains(&k) => k,
            _ => {
                add("keep", "must be between 1 and 10000".into());
                1
            }
        });
        let grace = match self.unreferenced_grace_seconds {
            None => 86_400,
            Some(g) => match u64::try_from(g) {
                Ok(g) if g <= 2_592_000 => g,
                _ => {
                    add(
                        "unreferenced_grace_seconds",
                        "must be between 0 and 2592000 (30 days)".into(),
                    );
                    86_400
                }
            },
        };
        let mode = match self.mode.as_deref() {
            None | Some("manual") => ReplicationMode::Manual,
            Some("after_backup") => ReplicationMode::AfterBackup,
            Some(other) => {
                add(
                    "mode",
                    format!("unknown mode {other:?}; one of after_backup, manual"),
                );
                ReplicationMode::Manual
            }
        };
        let concurrency = match self.concurrency {
            None => DEFAULT_CONCURRENCY,
            Some(c) => match usize::try_from(c) {
                Ok(c) if (1..=MAX_CONCURRENCY).contains(&c) => c,
                _ => {
                    add(
                        "concurrency",
                        format!("must be between 1 and {MAX_CONCURRENCY}"),
                    );
                    DEFAULT_CONCURRENCY
                }
            },
        };
        let max_bytes_per_second = match self.max_bytes_per_second {
            None => 0,
            Some(n) => u64::try_from(n).unwrap_or_else(|_| {
                add(
                    "max_bytes_per_second",
                    "must be 0 (unlimited) or more".into(),
                );
                0
            }),
        };
        let timeout = match self.timeout_seconds {
            None => 60,
            Some(t) => match u64::try_from(t) {
                Ok(t) if (1..=3600).contains(&t) => t,
                _ => {
                    add("timeout_seconds", "must be between 1 and 3600".into());
                    60
                }
            },
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ReplicationTarget {
            name: name.to_string(),
            endpoint: self.endpoint.trim_end_matches('/').to_string(),
            bucket: self.bucket.clone(),
            prefix: clean_prefix,
            region,
            path_style: self.path_style.unwrap_or(false),
            access_key_file,
            secret_key_file,
            mode,
            concurrency,
            max_bytes_per_second,
            timeout: std::time::Duration::from_secs(timeout),
            keep,
            unreferenced_grace: std::time::Duration::from_secs(grace),
            encryption,
        })
    }

    /// The encryption settings checked: at most one of the two modes, each file readable and
    /// holding what it should (the errors name the file, never its content).
    fn check_encryption(&self, base_dir: &Path, add: &mut impl FnMut(&str, String)) -> Encryption {
        let mut file =
            |field: &str, value: &Option<String>, parse: fn(&Path) -> Result<(), String>| {
                let path = check_secret_file(base_dir, value.as_deref()?)
                    .map_err(|m| add(field, m))
                    .ok()?;
                parse(&path).map_err(|m| add(field, m)).ok()?;
                Some(path)
            };
        let recipients = file(
            "encrypt_recipients_file",
            &self.encrypt_recipients_file,
            check_recipients_file,
        );
        let identity = file(
            "decrypt_identity_file",
            &self.decrypt_identity_file,
            check_identity_file,
        );
        let passphrase = file(
            "encrypt_passphrase_file",
            &self.encrypt_passphrase_file,
            |p| read_secret(p).map(|_| ()),
        );
        if self.encrypt_recipients_file.is_some() && self.encrypt_passphrase_file.is_some() {
            let both = "encrypt_recipients_file and encrypt_passphrase_file exclude each other: \
                        choose one way to encrypt";
            add("encrypt_recipients_file", both.into());
            add("encrypt_passphrase_file", both.into());
        } else if self.decrypt_identity_file.is_some() && self.encrypt_recipients_file.is_none() {
            add(
                "decrypt_identity_file",
                if self.encrypt_passphrase_file.is_some() {
                    "is not used with encrypt_passphrase_file (its identity is kept on the bucket, \
                     wrapped with the passphrase); remove it"
                } else {
                    "is used only with encrypt_recipients_file"
                }
                .into(),
            );
        }
        match (recipients, passphrase) {
            (Some(recipients_file), None) => Encryption::Recipients {
                recipients_file,
                identity_file: identity,
            },
            (None, Some(passphrase_file)) => Encryption::Passphrase { passphrase_file },
            _ => Encryption::Off,
        }
    }
}

/// An S3 bucket name: 3 to 63 of `a-z 0-9 . -`, a letter or digit at both ends.
fn valid_bucket(b: &str) -> bool {
    (3..=63).contains(&b.len())
        && b.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
        && b.bytes().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && b.bytes().last().is_some_and(|c| c.is_ascii_alphanumeric())
}

/// Every target, checked (the config was validated, so none is refused; one that is, e.g. its
/// key file removed since, is left out with a log line).
pub fn targets(list: &[NamedReplicationTarget], base_dir: &Path) -> Vec<ReplicationTarget> {
    list.iter()
        .filter_map(|t| match t.settings.check(&t.name, base_dir, "") {
            Ok(target) => Some(target),
            Err(errors) => {
                tracing::error!(target = %t.name, ?errors, "replication target left out");
                None
            }
        })
        .collect()
}

/// Semantic checks of `[[replication_targets]]`, file field paths.
pub fn validate_replication(list: &[NamedReplicationTarget], base_dir: &Path) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut names = std::collections::HashSet::new();
    for (i, t) in list.iter().enumerate() {
        let prefix = format!("replication_targets[{i}].");
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

/// Reads `[[replication_targets]]` from the file's root table.
pub(super) fn read(r: &mut Reader<'_>, root: &Table) -> Vec<NamedReplicationTarget> {
    let mut out = Vec::new();
    for (i, t) in r
        .tables(root, "replication_targets")
        .into_iter()
        .enumerate()
    {
        let p = format!("replication_targets[{i}]");
        r.check_keys(t, &p, &KEYS);
        let required = |r: &mut Reader<'_>, key: &str| {
            r.string(t, &p, key).unwrap_or_else(|| {
                r.push(&p, key, "is required".into());
                String::new()
            })
        };
        let name = required(r, "name");
        let endpoint = required(r, "endpoint");
        let bucket = required(r, "bucket");
        let settings = ReplicationTargetSettings {
            endpoint,
            bucket,
            prefix: r.string(t, &p, "prefix"),
            region: r.string(t, &p, "region"),
            path_style: r.boolean(t, &p, "path_style"),
            access_key_file: r.string(t, &p, "access_key_file"),
            secret_key_file: r.string(t, &p, "secret_key_file"),
            encrypt_recipients_file: r.string(t, &p, "encrypt_recipients_file"),
            encrypt_passphrase_file: r.string(t, &p, "encrypt_passphrase_file"),
            decrypt_identity_file: r.string(t, &p, "decrypt_identity_file"),
            keep: r.integer(t, &p, "keep"),
            mode: r.string(t, &p, "mode"),
            concurrency: r.integer(t, &p, "concurrency"),
            max_bytes_per_second: r.integer(t, &p, "max_bytes_per_second"),
            timeout_seconds: r.integer(t, &p, "timeout_seconds"),
            unreferenced_grace_seconds: r.integer(t, &p, "unreferenced_grace_seconds"),
        };
        out.push(NamedReplicationTarget { name, settings });
    }
    out
}

/// The config text with `[[replication_targets]]` replaced by `targets`, in that order. An
/// entry whose name was there already keeps its comments and the layout of the keys it still
/// has; keys no longer set are removed. Everything else in the file is kept.
pub fn edit_replication_targets(
    text: &str,
    targets: &[NamedReplicationTarget],
) -> Result<String, EditError> {
    edit_named_tables(text, "replication_targets", targets, |t| &t.name, fill)
}

fn fill(table: &mut Table, t: &NamedReplicationTarget) {
    let s = &t.settings;
    set_value(table, "name", t.name.as_str());
    set_value(table, "endpoint", s.endpoint.as_str());
    set_value(table, "bucket", s.bucket.as_str());
    for (key, value) in [
        ("prefix", &s.prefix),
        ("region", &s.region),
        ("access_key_file", &s.access_key_file),
        ("secret_key_file", &s.secret_key_file),
        ("encrypt_recipients_file", &s.encrypt_recipients_file),
        ("encrypt_passphrase_file", &s.encrypt_passphrase_file),
        ("decrypt_identity_file", &s.decrypt_identity_file),
        ("mode", &s.mode),
    ] {
        match value {
            Some(v) => set_value(table, key, v.as_str()),
            None => {
                table.remove(key);
            }
        }
    }
    match s.path_style {
        Some(v) => set_value(table, "path_style", v),
        None => {
            table.remove("path_style");
        }
    }
    for (key, value) in [
        ("keep", s.keep),
        ("concurrency", s.concurrency),
        ("max_bytes_per_second", s.max_bytes_per_second),
        ("timeout_seconds", s.timeout_seconds),
        ("unreferenced_grace_seconds", s.unreferenced_grace_seconds),
    ] {
        match value {
            Some(v) => set_value(table, key, v),
            None => {
                table.remove(key);
            }
        }
    }
}

/// How a target encrypts, as its settings say (paths checked by the config).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Encryption {
    /// Blobs and manifests are stored as they are.
    #[default]
    Off,
    /// `encrypt_recipients_file`, and `decrypt_identity_file` when the master may decrypt.
    Recipients {
        recipients_file: std::path::PathBuf,
        identity_file: Option<std::path::PathBuf>,
    },
    /// `encrypt_passphrase_file`: the identity is kept on the bucket, wrapped.
    Passphrase { passphrase_file: std::path::PathBuf },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ReplicationTargetSettings {
        ReplicationTargetSettings {
            endpoint: "http://127.0.0.1:9000".into(),
            bucket: "offsite".into(),
            path_style: Some(true),
            ..Default::default()
        }
    }

    #[test]
    fn a_plain_target_checks_and_every_bad_field_is_named() {
        let t = settings().check("s3", Path::new("/"), "").unwrap();
        assert_eq!(
            (t.concurrency, t.max_bytes_per_second, t.mode),
            (DEFAULT_CONCURRENCY, 0, ReplicationMode::Manual)
        );
        let bad = ReplicationTargetSettings {
            endpoint: "ftp://x".into(),
            bucket: "A".into(),
            prefix: Some("a/../b".into()),
            access_key_file: Some("/nonexistent/key".into()),
            mode: Some("often".into()),
            concurrency: Some(0),
            max_bytes_per_second: Some(-1),
            keep: Some(0),
            ..Default::default()
        };
        let errors = bad.check("S3", Path::new("/"), "p.").unwrap_err();
        let mut fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        fields.sort();
        assert_eq!(
            fields,
            [
                "p.access_key_file",
                "p.bucket",
                "p.concurrency",
                "p.endpoint",
                "p.keep",
                "p.max_bytes_per_second",
                "p.mode",
                "p.name",
                "p.prefix",
                "p.secret_key_file"
            ]
        );
    }

    #[test]
    fn credentials_come_from_the_environment_and_never_show() {
        let t = settings().check("env-only-t1", Path::new("/"), "").unwrap();
        let (a, s) = credentials_env("env-only-t1");
        assert_eq!(a, "BACKUP_MASTER_S3_ENV_ONLY_T1_ACCESS_KEY");
        let err = t.credentials().unwrap_err();
        assert!(err.contains(&a) && err.contains(&s), "{err}");
        std::env::set_var(&a, "AKIDEXAMPLE");
        std::env::set_var(&s, "wJalrXUtnFEMI");
        let c = t.credentials().unwrap();
        assert_eq!(c.access_key, "AKIDEXAMPLE");
        let shown = format!("{c:?} {t:?}");
        assert!(!shown.contains("AKIDEXAMPLE") && !shown.contains("wJalr"));
    }

    #[test]
    fn edits_keep_comments_and_remove_unset_keys() {
        let text = "# top\n[[replication_targets]]\nname = \"a\" # mine\nendpoint = \"http://h\"\nbucket = \"bbb\"\nregion = \"x\"\n";
        let mut t = NamedReplicationTarget {
            name: "a".into(),
            settings: settings(),
        };
        t.settings.mode = Some("after_backup".into());
        let out = edit_replication_targets(text, &[t]).unwrap();
        assert!(out.contains("# top") && out.contains("# mine"), "{out}");
        assert!(out.contains("mode = \"after_backup\"") && !out.contains("region"));
        assert!(!edit_replication_targets(&out, &[])
            .unwrap()
            .contains("replication_targets"));
    }
}
