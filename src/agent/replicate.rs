//! The agent's side of replicating a set with remote components: this agent uploads its own
//! component's files to the master's replication target, and downloads them again for a
//! restore from the target. The master sends the target's settings and keys with each call
//! ([`TargetAccess`]); they are used for that call and never stored, logged or answered. The
//! bucket is reached with the same code as on the master ([`crate::replicate`]): the blobs are
//! uploaded by [`upload::upload_folders`] and the master writes the set's manifest once every
//! component's blobs are there; a download is [`crate::replicate::download::download_set`],
//! every hash checked.
//!
//! * Copy: the slot is checked like a restore's source (its readme names the backup, which
//!   succeeded: [`super::restore::checked_source`]). The call answers when the component's
//!   blobs are all on the bucket. The master's cancel stops it: a cancel call
//!   (`POST .../replications/{id}/cancel`) stops the upload between chunks, and so does a
//!   master that stops waiting (its connection closed drops the upload).
//! * Download: into `<state_dir>/downloads/<download_id>/<component>/`, the `<download_id>`
//!   folder marked as the product's by [`DOWNLOAD_MARK`] (checked before any removal). A
//!   restore names it with `from_download`; the folder goes when that restore is committed or
//!   rolled back here, and earlier downloads go at the next download (unless an open restore
//!   of this agent reads one).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::txn::Txns;
use crate::config::{ReplicationMode, ReplicationTarget, S3Credentials};
use crate::engine::CancelToken;
use crate::error::{ApiError, FieldError, ProblemKind};
use crate::jobs::replication::REPLICATION_ID;
use crate::replicate::upload::{self, Options, SourceFolder};
use crate::replicate::{Bucket, Progress, ReplicateError};
use crate::store::wire::{RemoteReplicationAnswer, RemoteReplicationRequest, TargetAccess};

/// The file that marks a download folder of this agent as made by the product.
pub const DOWNLOAD_MARK: &str = ".backup-master-download";
/// The agent's downloads for restores, under its state folder.
pub const DOWNLOADS_DIR: &str = "downloads";

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The replications and downloads of this agent's components. Cheap to clone.
#[derive(Clone)]
pub struct AgentReplications {
    inner: Arc<Inner>,
}

struct Inner {
    txns: Txns,
    state_dir: PathBuf,
    /// The uploads running now: (component, replication ID) -> their cancel.
    running: Mutex<HashMap<(String, String), CancelToken>>,
}

/// Takes a running upload out of the list when it ends, however it ends; one the master
/// stopped waiting for (its future dropped) is logged.
struct Running<'a> {
    inner: &'a Inner,
    key: (String, String),
    done: bool,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        lock(&self.inner.running).remove(&self.key);
        if !self.done {
            tracing::warn!(component = %self.key.0, replication = %self.key.1, "replication upload stopped: the master stopped waiting");
        }
    }
}

impl AgentReplications {
    pub fn new(state_dir: &Path, txns: Txns) -> AgentReplications {
        AgentReplications {
            inner: Arc::new(Inner {
                txns,
                state_dir: state_dir.to_path_buf(),
                running: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Uploads component `name`'s slot of `req.source` to `req.target` for the master's
    /// replication `replication_id` (see the module doc). 404 for a component not served
    /// here, 422 naming the field for a bad request, 409 when the upload was cancelled or
    /// the slot or the bucket is not what it should be, 502 when the store failed.
    pub async fn copy(
        &self,
        name: &str,
        replication_id: &str,
        req: &RemoteReplicationRequest,
    ) -> Result<RemoteReplicationAnswer, ApiError> {
        check_replication_id(replication_id)?;
        let (target, creds) = target_of(&req.target)?;
        if !crate::engine::backup_id::is_valid(&req.source.backup_id) {
            return Err(ApiError::field(
                "source.backup_id",
                format!("{:?} is not a backup ID", req.source.backup_id),
            ));
        }
        let (_, folder) =
            super::restore::checked_source(&self.inner.txns, name, &req.source, "source.").await?;
        let key = (name.to_string(), replication_id.to_string());
        let cancel = CancelToken::new();
        {
            let mut running = lock(&self.inner.running);
            if running.contains_key(&key) {
                return Err(ApiError::conflict(format!(
                    "replication {replication_id} of component {name:?} is already uploading on this agent"
                )));
            }
            running.insert(key.clone(), cancel.clone());
        }
        let mut guard = Running {
            inner: &self.inner,
            key,
            done: false,
        };
        tracing::info!(component = %name, replication = %replication_id, target = %target.name, set = %req.source.backup_id, "uploading a component to a replication target");
        let scratch = self.inner.state_dir.join("tmp");
        if let Err(e) = std::fs::create_dir_all(&scratch) {
            tracing::warn!(folder = %scratch.display(), error = %e, "no scratch folder");
        }
        let progress = Progress::default();
        let folders = [SourceFolder {
            component: name.to_string(),
            folder,
        }];
        let opts = Options {
            concurrency: target.concurrency,
            max_bytes_per_second: target.max_bytes_per_second,
        };
        let result = async {
            let bucket = Bucket::open_with_keys(&target, creds)?;
            upload::upload_folders(
                &bucket,
                &req.source.backup_id,
                &folders,
                &scratch,
                opts,
                &progress,
                &cancel,
            )
            .await
        }
        .await;
        guard.done = true;
        drop(guard);
        let p = &progress;
        match result {
            Ok(mut components) => {
                let component = components.pop().ok_or_else(|| {
                    ApiError::internal("the upload answered no component".to_string())
                })?;
                tracing::info!(component = %name, replication = %replication_id, blobs_uploaded = Progress::get(&p.blobs_uploaded), bytes_uploaded = Progress::get(&p.bytes_uploaded), blobs_present = Progress::get(&p.blobs_present), "component uploaded");
                Ok(RemoteReplicationAnswer {
                    component,
                    blobs_total: Progress::get(&p.blobs_total),
                    bytes_total: Progress::get(&p.bytes_total),
                    blobs_uploaded: Progress::get(&p.blobs_uploaded),
                    bytes_uploaded: Progress::get(&p.bytes_uploaded),
                    blobs_present: Progress::get(&p.blobs_present),
                    bytes_present: Progress::get(&p.bytes_present),
                    retries: Progress::get(&p.retries),
                })
            }
            Err(e) => {
                tracing::warn!(component = %name, replication = %replication_id, error = %e, "component upload failed");
                Err(problem_of(e))
            }
        }
    }

    /// Stops the upload of replication `replication_id` of component `name` (it ends between
    /// chunks, answering the master's copy call as cancelled). Idempotent: `false` when no such
    /// upload runs (any more).
    pub fn cancel(&self, name: &str, replication_id: &str) -> Result<bool, ApiError> {
        check_replication_id(replication_id)?;
        self.inner.txns.spec_of_name(name)?;
        let key = (name.to_string(), replication_id.to_string());
        match lock(&self.inner.running).get(&key) {
            Some(c) => {
                c.cancel();
                tracing::info!(component = %name, replication = %replication_id, "replication upload cancelled by the master");
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

/// A replication ID as the master issues them (`C` + a time).
fn check_replication_id(id: &str) -> Result<(), ApiError> {
    if REPLICATION_ID.parse(id).is_none() {
        return Err(ApiError::field(
            "replication_id",
            format!("{id:?} is not a replication ID"),
        ));
    }
    Ok(())
}

/// A failed upload or download as the agent answers it; every message names the target, none
/// carries a key.
fn problem_of(e: ReplicateError) -> ApiError {
    match e {
        ReplicateError::Cancelled => ApiError::conflict("cancelled by the master"),
        ReplicateError::Settings(m) => ApiError::field("target", m),
        ReplicateError::Source(m) | ReplicateError::Agent(m) => ApiError::conflict(m),
        e @ ReplicateError::Remote { .. } => ApiError::conflict(e.to_string()),
        e @ ReplicateError::Store { .. } => ApiError::new(ProblemKind::Unavailable, e.to_string()),
    }
}

/// The target of a call as this agent uses it, checked (422 naming `target.<field>`), with
/// its keys. Nothing here is kept after the call.
pub fn target_of(t: &TargetAccess) -> Result<(ReplicationTarget, S3Credentials), ApiError> {
    let mut errors = Vec::new();
    let mut bad = |f: &str, m: String| errors.push(FieldError::new(format!("target.{f}"), m));
    if !crate::config::valid_name(&t.name) {
        bad("name", format!("{:?} is not a target name", t.name));
    }
    match reqwest::Url::parse(&t.endpoint) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
        _ => bad(
            "endpoint",
            "must be an http:// or https:// URL with a host".into(),
        ),
    }
    if t.bucket.is_empty() || t.bucket.len() > 63 || t.bucket.contains('/') {
        bad(
            "bucket",
            "must be a bucket name (1 to 63 characters, no '/')".into(),
        );
    }
    if !t.prefix.is_empty() && !crate::replicate::manifest::plain_path(&t.prefix) {
        bad(
            "prefix",
            "must be a relative key prefix without empty, '.' or '..' parts".into(),
        );
    }
    if t.region.is_empty() {
        bad("region", "must not be empty".into());
    }
    if !(1..=3600).contains(&t.timeout_seconds) {
        bad("timeout_seconds", "must be 1 to 3600".into());
    }
    if !(1..=64).contains(&t.concurrency) {
        bad("concurrency", "must be 1 to 64".into());
    }
    if t.access_key.expose().is_empty() {
        bad("access_key", "must not be empty".into());
    }
    if t.secret_key.expose().is_empty() {
        bad("secret_key", "must not be empty".into());
    }
    if t.encryption.is_some() {
        bad(
            "encryption",
            "client-side encryption is not available on this agent's version".into(),
        );
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let target = ReplicationTarget {
        name: t.name.clone(),
        endpoint: t.endpoint.clone(),
        bucket: t.bucket.clone(),
        prefix: t.prefix.clone(),
        region: t.region.clone(),
        path_style: t.path_style,
        access_key_file: None,
        secret_key_file: None,
        mode: ReplicationMode::Manual,
        concurrency: t.concurrency,
        max_bytes_per_second: t.max_bytes_per_second,
        timeout: Duration::from_secs(t.timeout_seconds),
        keep: None,
        unreferenced_grace: Duration::ZERO,
    };
    let creds = S3Credentials {
        access_key: t.access_key.expose().to_string(),
        secret_key: t.secret_key.expose().to_string(),
    };
    Ok((target, creds))
}
