//! Off-site copies of backup sets on S3-compatible object storage: the layout on the bucket,
//! the manifest of a set, and copying one set there ([`upload::replicate_set`]). Knows no HTTP
//! and no job runner (the job is `crate::jobs::replication`).
//!
//! # Layout (under the target's `prefix`)
//! * `blobs/<first 2 hex>/<sha256>`: one file's content, keyed by the SHA-256 that the slot's
//!   `SHA256SUMS` already holds. Content-addressed: a file that did not change, a hard link, a
//!   duplicate is uploaded once, ever. (The slot's `readme.txt` is kept in the manifest as
//!   text, its `SHA256SUMS` follows from the entries.)
//! * `sets/<backup id>.json`: the [`Manifest`], written **last**, once every blob it names is
//!   on the bucket. A set exists remotely exactly when its manifest does.
//!
//! A target that encrypts ([`seal`]) writes instead `blobs/<first 2 hex>/<sha256>.age` (the
//! content encrypted, still named by its plaintext hash), `sets/<backup id>.blobs.json` (the
//! [`manifest::BlobIndex`]: which blobs the set uses and their stored sizes, no names, so quick
//! verification and retention need no private key) and, last, `sets/<backup id>.json.age`
//! (the manifest, encrypted, format 2 with every blob's stored size), plus `keys/identity.age`
//! in passphrase mode. The two key forms never mix: a target that turns encryption on or off
//! deduplicates within each form, and every earlier set stays readable.
//!
//! Nothing is ever overwritten: every object is created with `If-None-Match: *` (a conditional
//! create the store refuses when the key exists), except blobs too large for one request, which
//! are uploaded in parts only after a listing showed the key absent (one replication per target
//! runs at a time, see `crate::jobs::replication`). A blob's content is hashed while it is read
//! for the upload: a file whose bytes no longer match its `SHA256SUMS` line is never uploaded
//! under that hash (the upload is refused, and a multipart upload aborted).

pub mod bucket;
pub mod download;
pub mod manifest;
pub mod retention;
pub mod seal;
pub mod upload;
pub mod verify;

pub use bucket::Bucket;
pub use manifest::{Entry, EntryKind, Manifest, ManifestComponent};

/// Why a replication (or a read of the bucket) failed. Every message names the target.
#[derive(Debug, thiserror::Error)]
pub enum ReplicateError {
    /// The store answered with an error, or could not be reached (after the retries).
    #[error("replication target {target}: {message}")]
    Store { target: String, message: String },
    /// The target's settings or credentials are unusable.
    #[error("{0}")]
    Settings(String),
    /// A local folder of the set cannot be read or is not what it claims to be.
    #[error("{0}")]
    Source(String),
    /// The bucket holds something the product did not write the way it writes (a blob of the
    /// wrong size, a manifest of another set): left alone.
    #[error("replication target {target}: {message}")]
    Remote { target: String, message: String },
    /// A component's agent failed its part or could not be reached (the message names the
    /// agent).
    #[error("{0}")]
    Agent(String),
    #[error("the replication was cancelled")]
    Cancelled,
}

/// The key of the blob with hash `sha` (hex), relative to the target's prefix.
pub fn blob_key(sha_hex: &str) -> String {
    format!("blobs/{}/{sha_hex}", &sha_hex[..2.min(sha_hex.len())])
}

/// The key of set `id`'s manifest, relative to the target's prefix.
pub fn manifest_key(id: &str) -> String {
    format!("sets/{id}.json")
}

/// The key of the encrypted blob with hash `sha` (of the plaintext).
pub fn sealed_blob_key(sha_hex: &str) -> String {
    format!("{}{}", blob_key(sha_hex), seal::SEALED_SUFFIX)
}

/// The key of set `id`'s encrypted manifest.
pub fn sealed_manifest_key(id: &str) -> String {
    format!("{}{}", manifest_key(id), seal::SEALED_SUFFIX)
}

/// The key of encrypted set `id`'s blob index.
pub fn blob_index_key(id: &str) -> String {
    format!("sets/{id}.blobs.json")
}

/// The backup ID and form (true: encrypted) of a manifest key the product writes.
pub fn manifest_of(key: &str) -> Option<(&str, bool)> {
    let name = key.strip_prefix("sets/")?;
    let (id, sealed) = match name.strip_suffix(".json.age") {
        Some(id) => (id, true),
        None => (name.strip_suffix(".json")?, false),
    };
    crate::engine::backup_id::is_valid(id).then_some((id, sealed))
}

/// Counters of a running replication, read by the job while it runs.
#[derive(Debug, Default)]
pub struct Progress {
    pub blobs_total: std::sync::atomic::AtomicU64,
    pub bytes_total: std::sync::atomic::AtomicU64,
    pub blobs_uploaded: std::sync::atomic::AtomicU64,
    pub bytes_uploaded: std::sync::atomic::AtomicU64,
    /// Blobs already on the bucket (a listing found them): not uploaded again.
    pub blobs_present: std::sync::atomic::AtomicU64,
    pub bytes_present: std::sync::atomic::AtomicU64,
    /// Failed attempts of requests to the store (an answer 5xx, 429 or 408, a timeout, a lost
    /// connection), each tried again while the retries last: shared with the bucket
    /// ([`Bucket::open_counting`]), which counts them.
    pub retries: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Progress {
    pub fn get(c: &std::sync::atomic::AtomicU64) -> u64 {
        c.load(std::sync::atomic::Ordering::Relaxed)
    }
    pub fn add(c: &std::sync::atomic::AtomicU64, n: u64) {
        c.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }
}
