//! Copying one backup set to a target: the manifest read from the local folders, the blobs the
//! bucket lacks uploaded (each hash once, `concurrency` at a time, within
//! `max_bytes_per_second`), then the manifest, last. A run that was killed or failed leaves
//! blobs and no manifest; the next run lists the blobs and uploads only the missing ones.
//! A bucket with a seal (a target that encrypts) gets every blob and the manifest encrypted,
//! in their own key form (see the crate's layout), and the blob index before the manifest.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::bucket::{Bucket, Created};
use super::manifest::{self, BlobIndex, Manifest, ManifestComponent, FORMAT, FORMAT_SEALED};
use super::seal::{min_sealed_size, Seal};
use super::{
    blob_index_key, blob_key, manifest_key, sealed_blob_key, sealed_manifest_key, Progress,
    ReplicateError,
};
use crate::engine::CancelToken;
use crate::toolkit::Backoff;

/// Blobs up to this size go in one conditional request; larger ones in parts.
pub const SINGLE_PUT_MAX: u64 = 16 << 20;
/// Size of a part of a multipart upload (S3 wants 5 MiB at least, but for the last).
const PART: usize = 8 << 20;
/// Bytes read (and throttled) at a time.
const CHUNK: usize = 1 << 20;
/// Attempts at one blob (and at the manifest), after the client's own retries of each
/// request.
const BLOB_ATTEMPTS: u32 = 3;

/// One component's folder of the set.
#[derive(Clone, Debug)]
pub struct SourceFolder {
    pub component: String,
    pub folder: PathBuf,
}

/// How to upload.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub concurrency: usize,
    /// 0: unlimited.
    pub max_bytes_per_second: u64,
}

/// What a run did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The manifest was there before this run: nothing was uploaded.
    pub already_replicated: bool,
    /// The manifest's key (under the prefix).
    pub manifest_key: String,
}

/// Paces uploads to an average of `rate` bytes per second over all of them.
struct Throttle {
    rate: u64,
    next: tokio::sync::Mutex<Instant>,
}

impl Throttle {
    async fn take(&self, n: usize) {
        if self.rate == 0 {
            return;
        }
        let start = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let start = (*next).max(now);
            *next = start + Duration::from_secs_f64(n as f64 / self.rate as f64);
            start
        };
        tokio::time::sleep_until(start.into()).await;
    }
}

/// The set a replication copies.
#[derive(Clone, Debug)]
pub struct SetToCopy<'a> {
    pub backup_id: &'a str,
    /// One folder per component.
    pub folders: &'a [SourceFolder],
    /// The backup's report, when this master has it.
    pub report: Option<String>,
}

/// Copies `set` to `bucket`. `scratch` is a local folder for sorting a `SHA256SUMS` that is
/// not sorted.
pub async fn replicate_set(
    bucket: &Bucket,
    set: SetToCopy<'_>,
    scratch: &Path,
    opts: Options,
    progress: &Progress,
    cancel: &CancelToken,
) -> Result<Outcome, ReplicateError> {
    let SetToCopy {
        backup_id,
        folders,
        report,
    } = set;
    if let Some(done) = replicated_already(bucket, backup_id).await? {
        return Ok(done);
    }
    let up = upload_folders(bucket, backup_id, folders, scratch, opts, progress, cancel).await?;
    write_manifest(bucket, backup_id, report, up).await
}

/// Checks the bucket answers; `Some` when set `backup_id`'s manifest is there already
/// (nothing is to be uploaded).
pub async fn replicated_already(
    bucket: &Bucket,
    backup_id: &str,
) -> Result<Option<Outcome>, ReplicateError> {
    bucket.check().await?;
    // Either form counts: a set replicated before the target turned encryption on or off is
    // there all the same.
    for key in [manifest_key(backup_id), sealed_manifest_key(backup_id)] {
        if bucket.head(&key).await?.is_some() {
            return Ok(Some(Outcome {
                already_replicated: true,
                manifest_key: key,
            }));
        }
    }
    Ok(None)
}

/// What [`upload_folders`] answers: each folder's part of the manifest, and the size on the
/// bucket of each blob they name (encrypted blobs are larger than their content).
#[derive(Clone, Debug, Default)]
pub struct Uploaded {
    pub components: Vec<ManifestComponent>,
    pub stored_sizes: BTreeMap<String, u64>,
}

/// Uploads the blobs of `folders` (components of set `backup_id`) that the bucket lacks, each
/// hash once, and answers each folder's part of the manifest, in the order of `folders`. The
/// master calls it for a set's local components, an agent for its own
/// (`crate::agent::replicate`); the manifest follows ([`write_manifest`]) once every
/// component's blobs are there.
pub async fn upload_folders(
    bucket: &Bucket,
    backup_id: &str,
    folders: &[SourceFolder],
    scratch: &Path,
    opts: Options,
    progress: &Progress,
    cancel: &CancelToken,
) -> Result<Uploaded, ReplicateError> {
    let seal = bucket.seal().cloned();
    let mut components = Vec::new();
    // hash -> (size, a file with that content)
    let mut blobs: BTreeMap<String, (u64, PathBuf)> = BTreeMap::new();
    for f in folders {
        let c = manifest::read_component(&f.folder, &f.component, backup_id, scratch)?;
        for e in &c.entries {
            if let Some(sha) = &e.sha256 {
                blobs
                    .entry(sha.clone())
                    .or_insert_with(|| (e.size, f.folder.join(&e.path)));
            }
        }
        components.push(c);
    }
    Progress::add(&progress.blobs_total, blobs.len() as u64);
    Progress::add(
        &progress.bytes_total,
        blobs.values().map(|(s, _)| *s).sum::<u64>(),
    );
    let present = bucket.list("blobs").await?;
    let mut missing = Vec::new();
    // hash -> its size on the bucket (encrypted blobs are larger than their content)
    let mut stored_sizes = BTreeMap::new();
    for (sha, (size, path)) in blobs {
        let key = stored_key(bucket, &sha);
        match present.get(&key) {
            Some(have) if plausible_size(*have, size, seal.is_some()) => {
                Progress::add(&progress.blobs_present, 1);
                Progress::add(&progress.bytes_present, size);
                stored_sizes.insert(sha, *have);
            }
            Some(have) => {
                return Err(ReplicateError::Remote {
                    target: bucket.target().to_string(),
                    message: format!(
                        "blob {key} has {have} bytes, its content has {size}: left alone; \
                         remove it by hand after checking"
                    ),
                })
            }
            None => missing.push((sha, size, path)),
        }
    }
    let throttle = Arc::new(Throttle {
        rate: opts.max_bytes_per_second,
        next: tokio::sync::Mutex::new(Instant::now()),
    });
    let mut uploads = futures_util::stream::iter(missing)
        .map(|(sha, size, path)| {
            let throttle = throttle.clone();
            async move {
                let stored =
                    upload_blob(bucket, &sha, size, &path, &throttle, progress, cancel).await?;
                Ok::<_, ReplicateError>((sha, stored))
            }
        })
        .buffer_unordered(opts.concurrency.max(1));
    while let Some(r) = uploads.next().await {
        let (sha, stored) = r?;
        stored_sizes.insert(sha, stored);
    }
    drop(uploads);
    if cancel.is_cancelled() {
        return Err(ReplicateError::Cancelled);
    }
    Ok(Uploaded {
        components,
        stored_sizes,
    })
}

/// Writes set `backup_id`'s manifest of what was uploaded (`up`): called once every blob it
/// names is on the bucket; only then does the set exist remotely. An encrypted set's blob
/// index goes first, then its manifest, encrypted.
pub async fn write_manifest(
    bucket: &Bucket,
    backup_id: &str,
    report: Option<String>,
    up: Uploaded,
) -> Result<Outcome, ReplicateError> {
    let seal = bucket.seal().cloned();
    let mut m = Manifest {
        format: FORMAT,
        backup_id: backup_id.to_string(),
        replicated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        report,
        components: up.components,
        stored_sizes: BTreeMap::new(),
    };
    let (key, bytes) = match &seal {
        None => (manifest_key(backup_id), to_json("manifest", &m, backup_id)?),
        Some(seal) => {
            m.format = FORMAT_SEALED;
            m.stored_sizes = up.stored_sizes;
            write_index(bucket, &BlobIndex::of(&m)).await?;
            let plain = to_json("manifest", &m, backup_id)?;
            let sealed = seal.encrypt(&plain).map_err(|e| {
                ReplicateError::Settings(format!(
                    "replication target {}: encrypting the manifest: {e}",
                    bucket.target()
                ))
            })?;
            (sealed_manifest_key(backup_id), sealed)
        }
    };
    // Every blob is there: only now does the set exist remotely.
    let created = put_manifest(bucket, &key, bytes).await?;
    Ok(Outcome {
        already_replicated: created == Created::Existed,
        manifest_key: key,
    })
}

/// Creates the manifest `key`, tried again like a blob when the store fails. A create the
/// store refuses because the key exists, after an attempt of ours failed, may have met that
/// attempt written after all (its answer lost to a timeout): ours when it holds our bytes (they
/// carry this run's `replicated_at`). Not cancelled midway: after a failed attempt the manifest
/// may exist, and the outcome must say whether it does.
async fn put_manifest(
    bucket: &Bucket,
    key: &str,
    bytes: Vec<u8>,
) -> Result<Created, ReplicateError> {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(10));
    let mut attempt = 0;
    loop {
        attempt += 1;
        match bucket.put_new(key, bytes.clone()).await {
            Ok(Created::Existed) if attempt > 1 => {
                let ours = bucket.get(key).await?.as_deref() == Some(bytes.as_slice());
                return Ok(if ours { Created::New } else { Created::Existed });
            }
            Ok(created) => return Ok(created),
            Err(ReplicateError::Store { .. }) if attempt < BLOB_ATTEMPTS => {
                tokio::time::sleep(backoff.next_delay()).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The key blob `sha` is uploaded under: encrypted or not, as the bucket's seal says.
fn stored_key(bucket: &Bucket, sha: &str) -> String {
    match bucket.seal() {
        Some(_) => sealed_blob_key(sha),
        None => blob_key(sha),
    }
}

/// The JSON of `what` (the manifest or blob index of set `id`).
fn to_json(what: &str, v: &impl serde::Serialize, id: &str) -> Result<Vec<u8>, ReplicateError> {
    serde_json::to_vec_pretty(v)
        .map_err(|e| ReplicateError::Source(format!("the {what} of {id}: {e}")))
}

/// Whether a blob listed with `have` bytes can hold `size` bytes of content: exactly that
/// many, or, encrypted, at least that many and age's least overhead.
fn plausible_size(have: u64, size: u64, sealed: bool) -> bool {
    if sealed {
        have >= min_sealed_size(size)
    } else {
        have == size
    }
}

/// Writes the blob index of an encrypted set before its manifest. An index already there (a
/// run that stopped before its manifest) must say the same, or nothing is written.
async fn write_index(bucket: &Bucket, index: &BlobIndex) -> Result<(), ReplicateError> {
    let key = blob_index_key(&index.backup_id);
    let bytes = to_json("blob index", index, &index.backup_id)?;
    if bucket.put_new(&key, bytes).await? == Created::New {
        return Ok(());
    }
    let there = bucket.get(&key).await?.unwrap_or_default();
    match BlobIndex::parse(&there, &index.backup_id) {
        Ok(ix) if ix.blobs == index.blobs => Ok(()),
        _ => Err(ReplicateError::Remote {
            target: bucket.target().to_string(),
            message: format!(
                "{key} is on the bucket and does not list this set's blobs: left alone, no \
                 manifest written; remove it by hand after checking"
            ),
        }),
    }
}

/// Uploads one blob, retried with backoff when the store keeps failing (the failed requests
/// are counted by the bucket). Returns its size on the bucket.
async fn upload_blob(
    bucket: &Bucket,
    sha: &str,
    size: u64,
    path: &Path,
    throttle: &Throttle,
    progress: &Progress,
    cancel: &CancelToken,
) -> Result<u64, ReplicateError> {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(10));
    let mut attempt = 0;
    loop {
        attempt += 1;
        if cancel.is_cancelled() {
            return Err(ReplicateError::Cancelled);
        }
        let r = if size <= SINGLE_PUT_MAX {
            upload_small(bucket, sha, size, path, throttle, cancel).await
        } else {
            upload_large(bucket, sha, path, throttle, cancel).await
        };
        match r {
            Ok(stored) => {
                Progress::add(&progress.blobs_uploaded, 1);
                Progress::add(&progress.bytes_uploaded, size);
                return Ok(stored);
            }
            Err(ReplicateError::Store { .. }) if attempt < BLOB_ATTEMPTS => {
                tokio::time::sleep(backoff.next_delay()).await;
            }
            Err(e) => return Err(e),
        }
    }
}

fn open_checked(path: &Path) -> Result<std::fs::File, ReplicateError> {
    std::fs::File::open(path)
        .map_err(|e| ReplicateError::Source(format!("{}: {e}", path.display())))
}

fn mismatch(path: &Path, sha: &str) -> ReplicateError {
    ReplicateError::Source(format!(
        "{}: its content no longer matches its SHA256SUMS line ({sha}): not uploaded; verify \
         the set",
        path.display()
    ))
}

/// Reads up to `buf.len()` bytes (less only at the end).
fn read_full(f: &mut std::fs::File, buf: &mut [u8], path: &Path) -> Result<usize, ReplicateError> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ReplicateError::Source(format!("{}: {e}", path.display()))),
        }
    }
    Ok(n)
}

/// What a seal error means for an upload: the keys are unusable.
fn seal_failed(bucket: &Bucket, e: super::seal::SealError) -> ReplicateError {
    ReplicateError::Settings(format!(
        "replication target {}: encrypting: {e}",
        bucket.target()
    ))
}

/// The size of `key`, just created or found there (an encrypted blob written by another run
/// has its own size).
async fn size_after(
    bucket: &Bucket,
    key: &str,
    created: Created,
    len: u64,
) -> Result<u64, ReplicateError> {
    match created {
        Created::New => Ok(len),
        Created::Existed => Ok(bucket.head(key).await?.unwrap_or(len)),
    }
}

async fn upload_small(
    bucket: &Bucket,
    sha: &str,
    size: u64,
    path: &Path,
    throttle: &Throttle,
    cancel: &CancelToken,
) -> Result<u64, ReplicateError> {
    let mut f = open_checked(path)?;
    let mut bytes = vec![0u8; usize::try_from(size).unwrap_or(0)];
    let n = read_full(&mut f, &mut bytes, path)?;
    let mut extra = [0u8; 1];
    if n as u64 != size || read_full(&mut f, &mut extra, path)? != 0 {
        return Err(mismatch(path, sha));
    }
    if hex::encode(Sha256::digest(&bytes)) != sha {
        return Err(mismatch(path, sha));
    }
    for chunk in bytes.chunks(CHUNK) {
        if cancel.is_cancelled() {
            return Err(ReplicateError::Cancelled);
        }
        throttle.take(chunk.len()).await;
    }
    let key = stored_key(bucket, sha);
    let bytes = match bucket.seal() {
        None => bytes,
        Some(seal) => seal.encrypt(&bytes).map_err(|e| seal_failed(bucket, e))?,
    };
    let len = bytes.len() as u64;
    // A key that exists holds this content already (its name is its hash).
    let created = bucket.put_new(&key, bytes).await?;
    size_after(bucket, &key, created, len).await
}

async fn upload_large(
    bucket: &Bucket,
    sha: &str,
    path: &Path,
    throttle: &Throttle,
    cancel: &CancelToken,
) -> Result<u64, ReplicateError> {
    let key = stored_key(bucket, sha);
    // Parts cannot be created conditionally: check right before (one replication per target
    // runs at a time).
    if let Some(have) = bucket.head(&key).await? {
        return Ok(have);
    }
    let mut f = open_checked(path)?;
    let mut sealing = bucket
        .seal()
        .map(Seal::sealing)
        .transpose()
        .map_err(|e| seal_failed(bucket, e))?;
    let mut upload = bucket.multipart(&key).await?;
    let mut hasher = Sha256::new();
    let mut stored = 0u64;
    let result: Result<(), ReplicateError> = async {
        loop {
            let mut part = vec![0u8; PART];
            let n = read_full(&mut f, &mut part, path)?;
            if n == 0 {
                break;
            }
            part.truncate(n);
            hasher.update(&part);
            for chunk in part.chunks(CHUNK) {
                if cancel.is_cancelled() {
                    return Err(ReplicateError::Cancelled);
                }
                throttle.take(chunk.len()).await;
            }
            let mut parts = vec![];
            match &mut sealing {
                None => parts.push(part),
                Some(s) => {
                    s.push(&part).map_err(|e| seal_failed(bucket, e))?;
                    while let Some(p) = s.take(PART) {
                        parts.push(p);
                    }
                }
            }
            for p in parts {
                stored += p.len() as u64;
                upload
                    .put_part(p.into())
                    .await
                    .map_err(|e| bucket.part_failed(&key, e))?;
            }
        }
        if hex::encode(hasher.clone().finalize()) != sha {
            return Err(mismatch(path, sha));
        }
        if let Some(s) = sealing.take() {
            let rest = s.finish().map_err(|e| seal_failed(bucket, e))?;
            stored += rest.len() as u64;
            upload
                .put_part(rest.into())
                .await
                .map_err(|e| bucket.part_failed(&key, e))?;
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => upload
            .complete()
            .await
            .map(|_| stored)
            .map_err(|e| bucket.part_failed(&key, e)),
        Err(e) => {
            // Nothing becomes visible under the key; the parts are dropped.
            if let Err(abort) = upload.abort().await {
                tracing::warn!(target = %bucket.target(), key = %key, error = %abort, "could not abort a multipart upload");
            }
            Err(e)
        }
    }
}
