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
use crate::replicate::seal::Seal;
use crate::replicate::upload::{self, Options, SourceFolder};
use crate::replicate::{Bucket, Progress, ReplicateError};
use crate::store::wire::{
    RemoteDownloadAnswer, RemoteDownloadRequest, RemoteReplicationAnswer, RemoteReplicationRequest,
    TargetAccess,
};

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
    /// One download at a time (it removes the earlier ones first); held to its end even when
    /// the master stops waiting.
    downloads: Arc<tokio::sync::Mutex<()>>,
}

/// Takes a running upload out of the list when it ends, however it ends; one the master
/// stopped waiting for (the call's future dropped: its connection closed) is cancelled.
struct Running<'a> {
    inner: &'a Inner,
    key: (String, String),
    cancel: CancelToken,
    done: bool,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        lock(&self.inner.running).remove(&self.key);
        if !self.done {
            self.cancel.cancel();
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
                downloads: Arc::new(tokio::sync::Mutex::new(())),
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
        let (target, creds, seal) = target_of(&req.target)?;
        if !crate::engine::backup_id::is_valid(&req.source.backup_id) {
            return Err(ApiError::field(
                "source.backup_id",
                format!("{:?} is not a backup ID", req.source.backup_id),
            ));
        }
        if req.source.from_download.is_some() || req.source.undo_of.is_some() {
            return Err(ApiError::field(
                "source",
                "an upload reads a history slot: from_download and undo_of are not taken",
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
            cancel: cancel.clone(),
            done: false,
        };
        tracing::info!(component = %name, replication = %replication_id, target = %target.name, set = %req.source.backup_id, "uploading a component to a replication target");
        let scratch = self.inner.state_dir.join("tmp");
        if let Err(e) = std::fs::create_dir_all(&scratch) {
            tracing::warn!(folder = %scratch.display(), error = %e, "no scratch folder");
        }
        let folders = [SourceFolder {
            component: name.to_string(),
            folder,
        }];
        let opts = Options {
            concurrency: target.concurrency,
            max_bytes_per_second: target.max_bytes_per_second,
        };
        let backup_id = req.source.backup_id.clone();
        // The upload reads files as it goes: on a thread and runtime of its own, not the
        // worker that serves the other calls (a cancel among them).
        let work = tokio::task::spawn_blocking(move || {
            crate::toolkit::bridge::run_here(async move {
                let progress = Progress::default();
                let result = async {
                    let bucket = Bucket::open_with_keys(&target, creds, progress.retries.clone())?
                        .with_seal(seal);
                    upload::upload_folders(
                        &bucket, &backup_id, &folders, &scratch, opts, &progress, &cancel,
                    )
                    .await
                }
                .await;
                (result, progress)
            })
        })
        .await;
        guard.done = true;
        drop(guard);
        let (result, progress) = work
            .map_err(|e| ApiError::internal(format!("the upload's task stopped: {e}")))?
            .map_err(|e| ApiError::internal(format!("the upload's task stopped: {e}")))?;
        let p = &progress;
        match result {
            Ok(mut up) => {
                let component = up.components.pop().ok_or_else(|| {
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
                    stored_sizes: up.stored_sizes,
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

impl AgentReplications {
    /// Downloads component `name` of set `req.backup_id` from `req.target` into
    /// `<state_dir>/downloads/<download_id>/<name>/` for a restore (see the module doc), every
    /// hash checked while written, then the folder checked against its `SHA256SUMS`. Earlier
    /// downloads no open restore reads are removed first. 404 for a component not served here
    /// or a set not on the bucket, 422 naming the field for a bad request, 409 when the bucket
    /// holds something damaged or the download folder is not the product's, 503 when the
    /// store failed.
    pub async fn download(
        &self,
        name: &str,
        download_id: &str,
        req: &RemoteDownloadRequest,
    ) -> Result<RemoteDownloadAnswer, ApiError> {
        if REPLICATION_ID.parse(download_id).is_none() {
            return Err(ApiError::field(
                "download_id",
                format!("{download_id:?} is not a download ID"),
            ));
        }
        let (target, creds, seal) = target_of(&req.target)?;
        if !crate::engine::backup_id::is_valid(&req.backup_id) {
            return Err(ApiError::field(
                "backup_id",
                format!("{:?} is not a backup ID", req.backup_id),
            ));
        }
        self.inner.txns.spec_of_name(name)?;
        let one = self.inner.downloads.clone().lock_owned().await;
        let (me, name, download_id, backup_id) = (
            self.clone(),
            name.to_string(),
            download_id.to_string(),
            req.backup_id.clone(),
        );
        // It writes files as it goes: on a thread and runtime of its own, to its end.
        tokio::task::spawn_blocking(move || {
            let _one = one;
            crate::toolkit::bridge::run_here(me.download_here(
                &name,
                &download_id,
                &backup_id,
                target,
                creds,
                seal,
            ))
            .map_err(|e| ApiError::internal(format!("the download's task stopped: {e}")))?
        })
        .await
        .map_err(|e| ApiError::internal(format!("the download's task stopped: {e}")))?
    }

    /// [`AgentReplications::download`] once the request is checked and the one-download lock
    /// is held.
    async fn download_here(
        &self,
        name: &str,
        download_id: &str,
        backup_id: &str,
        target: ReplicationTarget,
        creds: S3Credentials,
        seal: Option<Seal>,
    ) -> Result<RemoteDownloadAnswer, ApiError> {
        let root = self.inner.state_dir.join(DOWNLOADS_DIR);
        self.remove_stale_downloads(&root, download_id);
        let dest = root.join(download_id);
        let folder = dest.join(name);
        prepare_download_dir(&dest, backup_id).map_err(ApiError::conflict)?;
        if std::fs::symlink_metadata(&folder).is_ok() {
            // A download of the same ID tried again: the earlier attempt's folder goes.
            crate::toolkit::fsutil::remove_tree(&folder)
                .map_err(|e| ApiError::internal(e.to_string()))?;
        }
        tracing::info!(component = %name, download = %download_id, target = %target.name, set = %backup_id, "downloading a component from a replication target");
        let result = async {
            let bucket =
                Bucket::open_with_keys(&target, creds, Default::default())?.with_seal(seal);
            let manifest = crate::replicate::download::read_manifest(&bucket, backup_id)
                .await?
                .ok_or_else(|| ReplicateError::Remote {
                    target: target.name.clone(),
                    message: format!(
                        "backup set {backup_id} is not on the bucket (no manifest sets/{backup_id}.json)"
                    ),
                })?;
            if !manifest.components.iter().any(|c| c.name == name) {
                return Err(ReplicateError::Remote {
                    target: target.name.clone(),
                    message: format!(
                        "backup set {backup_id} on the bucket has no component {name:?}"
                    ),
                });
            }
            let wanted = [name.to_string()];
            crate::replicate::download::download_set(&bucket, &manifest, Some(&wanted), &dest)
                .await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(component = %name, download = %download_id, error = %e, "component download failed");
            if let Err(r) = crate::toolkit::fsutil::remove_tree(&folder) {
                tracing::warn!(folder = %folder.display(), error = %r, "a failed download was left");
            }
            return Err(problem_of(e));
        }
        let check = crate::sets::verify::check_tree(&folder, &Default::default());
        let verification =
            crate::sets::FolderVerification::of(name, &folder.display().to_string(), check);
        downloaded_folder(&self.inner.state_dir, name, download_id, backup_id)
            .map_err(ApiError::conflict)?;
        tracing::info!(component = %name, download = %download_id, ok = verification.ok, "component downloaded");
        Ok(RemoteDownloadAnswer {
            folder: folder.display().to_string(),
            files: verification.files_checked,
            bytes: verification.bytes_checked,
            verification,
        })
    }

    /// Removes the downloads under `root` other than `keep`: only folders marked as the
    /// product's, and none that an open restore of this agent reads; anything else is left
    /// alone with a warning.
    fn remove_stale_downloads(&self, root: &Path, keep: &str) {
        let Ok(entries) = std::fs::read_dir(root) else {
            return;
        };
        let claims = self.inner.txns.claims();
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_name().to_str() == Some(keep) {
                continue;
            }
            if !is_marked(&path) {
                tracing::warn!(path = %path.display(), "not a download of this product: left alone");
                continue;
            }
            // A download whose component is held by an open restore may be that restore's
            // source: it goes when that restore ends.
            let held = std::fs::read_dir(&path)
                .into_iter()
                .flatten()
                .flatten()
                .any(|c| {
                    c.file_name()
                        .to_str()
                        .is_some_and(|n| claims.holder(n).is_some())
                });
            if held {
                continue;
            }
            if let Err(e) = crate::toolkit::fsutil::remove_tree(&path) {
                tracing::warn!(path = %path.display(), error = %e, "could not remove an earlier download");
            }
        }
    }
}

/// Whether `dir` is a folder carrying [`DOWNLOAD_MARK`] (what this product made).
fn is_marked(dir: &Path) -> bool {
    std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir())
        && std::fs::symlink_metadata(dir.join(DOWNLOAD_MARK)).is_ok_and(|m| m.is_file())
}

/// Makes download folder `dest` for set `backup_id`, marked, or takes the one there when its
/// mark names that set (another component of the same download).
fn prepare_download_dir(dest: &Path, backup_id: &str) -> Result<(), String> {
    let mark = dest.join(DOWNLOAD_MARK);
    if std::fs::symlink_metadata(dest).is_ok() {
        let named = crate::toolkit::fsutil::read_regular(&mark, 1024)
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        return match named {
            Some(n) if n.trim() == backup_id => Ok(()),
            _ => Err(format!(
                "{} exists and is not this agent's download of set {backup_id}: left alone",
                dest.display()
            )),
        };
    }
    std::fs::create_dir_all(dest).map_err(|e| format!("creating {}: {e}", dest.display()))?;
    crate::toolkit::fsutil::write_atomic(&mark, backup_id.as_bytes()).map_err(|e| e.to_string())
}

/// The folder of component `name` in this agent's download `download_id`, checked: the
/// download is marked as the product's for set `backup_id`, and the folder's readme names
/// that backup of that component, which succeeded.
pub fn downloaded_folder(
    state_dir: &Path,
    name: &str,
    download_id: &str,
    backup_id: &str,
) -> Result<PathBuf, String> {
    if REPLICATION_ID.parse(download_id).is_none() {
        return Err(format!("{download_id:?} is not a download ID"));
    }
    let dest = state_dir.join(DOWNLOADS_DIR).join(download_id);
    let named = crate::toolkit::fsutil::read_regular(&dest.join(DOWNLOAD_MARK), 1024)
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    if named.as_deref().map(str::trim) != Some(backup_id) {
        return Err(format!(
            "this agent has no download {download_id} of set {backup_id}"
        ));
    }
    let folder = dest.join(name);
    let readme = crate::engine::readme::Readme::read_from(&folder)
        .map_err(|e| format!("{}: {e}", folder.display()))?;
    if readme.backup_id != backup_id || readme.component != name || !readme.success {
        return Err(format!(
            "{} holds {} backup {} of {}, not a successful backup {backup_id} of {name}",
            folder.display(),
            if readme.success {
                "the successful"
            } else {
                "the failed"
            },
            readme.backup_id,
            readme.component
        ));
    }
    Ok(folder)
}

/// Removes the download folders restore `rec` of this agent read (its components from
/// `from_download`) once it ended, committed or rolled back: only a folder of a download
/// marked as the product's under `<state_dir>/downloads/`, and that download's folder too once
/// no component is left in it.
pub fn remove_downloads_of(state_dir: &Path, rec: &crate::restore::RestoreRecord) {
    let root = state_dir.join(DOWNLOADS_DIR);
    for c in &rec.components {
        let Some(id) = &c.download else {
            continue;
        };
        if REPLICATION_ID.parse(id).is_none() {
            continue;
        }
        let dest = root.join(id);
        let folder = dest.join(&c.name);
        if Path::new(&c.source_folder) != folder || !is_marked(&dest) {
            tracing::warn!(restore = %rec.id, folder = %c.source_folder, "a restore's source is not a download of this agent: left alone");
            continue;
        }
        if let Err(e) = crate::toolkit::fsutil::remove_tree(&folder) {
            tracing::warn!(folder = %folder.display(), error = %e, "could not remove a restore's download");
            continue;
        }
        let only_mark = std::fs::read_dir(&dest)
            .map(|d| d.flatten().all(|e| e.file_name() == DOWNLOAD_MARK))
            .unwrap_or(false);
        if only_mark {
            if let Err(e) = crate::toolkit::fsutil::remove_tree(&dest) {
                tracing::warn!(folder = %dest.display(), error = %e, "could not remove a download folder");
            }
        }
        tracing::info!(restore = %rec.id, folder = %folder.display(), "the restore's download was removed");
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
pub fn target_of(
    t: &TargetAccess,
) -> Result<(ReplicationTarget, S3Credentials, Option<Seal>), ApiError> {
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
    // Recipients to upload; the identities (secret) only come with a download.
    let seal = t.encryption.as_ref().and_then(|e| {
        let made = match &e.key {
            Some(k) => Seal::for_download(&k.expose().lines().collect::<Vec<_>>()),
            None => Seal::for_upload(&e.recipients),
        };
        made.map_err(|err| bad("encryption", err.to_string())).ok()
    });
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
        // The seal comes with the call, not from key files here.
        encryption: Default::default(),
    };
    let creds = S3Credentials {
        access_key: t.access_key.expose().to_string(),
        secret_key: t.secret_key.expose().to_string(),
    };
    Ok((target, creds, seal))
}
