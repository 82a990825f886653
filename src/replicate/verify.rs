//! Verifying a set on its bucket: `quick` checks that every blob its manifest references exists
//! with the right size (one listing); `deep` also downloads every blob and hashes it. Each
//! problem names the blob and the files of the set that use it. An encrypted set's quick check
//! works from its blob index without the key (problems then name no file); its deep check
//! needs the key, decrypts each blob and hashes the content.

use std::collections::BTreeMap;

use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::download::{blob_stream, read_manifest};
use super::manifest::{BlobIndex, Manifest};
use super::{
    blob_index_key, manifest_key, sealed_blob_key, sealed_manifest_key, Bucket, Progress,
    ReplicateError,
};
use crate::engine::CancelToken;

/// Most problems kept (the count goes on).
pub const MAX_PROBLEMS: usize = 100;

/// What a verification found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Findings {
    pub problems: Vec<String>,
    pub problem_count: u64,
    /// The set's manifest key (either form).
    pub manifest_key: String,
}

impl Findings {
    fn add(&mut self, p: String) {
        self.problem_count += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(p);
        }
    }
}

/// A blob a set uses, as verification checks it.
struct BlobRef {
    key: String,
    /// Content bytes, and bytes on the bucket (more when encrypted).
    size: u64,
    stored: u64,
    /// The first file using it, when the manifest could be read.
    file: Option<String>,
}

impl BlobRef {
    fn of(&self) -> String {
        match &self.file {
            Some(f) => format!("the content of {f}"),
            None => "a file of the set; encrypted, the names need the key".into(),
        }
    }
}

/// Verifies set `id` on `bucket`. `progress`: blobs and bytes of the set (`*_total`) and those
/// found sound (`blobs_present`, `bytes_present`). A quick check of an encrypted set reads its
/// blob index and needs no key; a deep one decrypts the manifest and every blob.
pub async fn verify_set(
    bucket: &Bucket,
    id: &str,
    deep: bool,
    progress: &Progress,
    cancel: &CancelToken,
) -> Result<Findings, ReplicateError> {
    let mut found = Findings::default();
    let plain = bucket.head(&manifest_key(id)).await?.is_some();
    let sealed = !plain && bucket.head(&sealed_manifest_key(id)).await?.is_some();
    if !plain && !sealed {
        return Err(ReplicateError::Remote {
            target: bucket.target().to_string(),
            message: format!("backup set {id} is not on the bucket (no manifest sets/{id}.json)"),
        });
    }
    found.manifest_key = match sealed {
        true => sealed_manifest_key(id),
        false => manifest_key(id),
    };
    let manifest = if plain || deep {
        read_manifest(bucket, id).await?
    } else {
        None
    };
    let index = if sealed {
        read_index(bucket, id, &mut found).await?
    } else {
        None
    };
    // blob -> how it is stored and the first file using it
    let mut blobs: BTreeMap<String, BlobRef> = BTreeMap::new();
    if let Some(m) = &manifest {
        for c in &m.components {
            for e in &c.entries {
                if let Some(sha) = &e.sha256 {
                    blobs.entry(sha.clone()).or_insert_with(|| BlobRef {
                        key: m.blob_key(sha),
                        size: e.size,
                        stored: m.stored_size(sha, e.size),
                        file: Some(format!("{}/{}", c.name, e.path)),
                    });
                }
            }
        }
        if let (true, Some(ix)) = (m.sealed(), &index) {
            if ix.blobs != BlobIndex::of(m).blobs {
                found.add(format!(
                    "{} does not list the blobs of the set's manifest",
                    blob_index_key(id)
                ));
            }
        }
    } else if let Some(ix) = &index {
        for (sha, b) in &ix.blobs {
            blobs.insert(
                sha.clone(),
                BlobRef {
                    key: sealed_blob_key(sha),
                    size: b.size,
                    stored: b.stored,
                    file: None,
                },
            );
        }
    }
    Progress::add(&progress.blobs_total, blobs.len() as u64);
    Progress::add(&progress.bytes_total, blobs.values().map(|b| b.size).sum());
    let listed = bucket.list("blobs").await?;
    for (sha, b) in &blobs {
        if cancel.is_cancelled() {
            return Err(ReplicateError::Cancelled);
        }
        let key = &b.key;
        match listed.get(key) {
            None => {
                found.add(format!("{key} is missing ({})", b.of()));
                continue;
            }
            Some(have) if *have != b.stored => {
                found.add(format!(
                    "{key} has {have} bytes, {} expected ({})",
                    b.stored,
                    b.of()
                ));
                continue;
            }
            Some(_) => {}
        }
        if let (true, Some(m)) = (deep, &manifest) {
            match hash_blob(bucket, m, sha, cancel).await {
                Ok(got) if got == *sha => {}
                Ok(got) => {
                    found.add(format!(
                        "{key}: its content hashes to {got} ({}): damaged",
                        b.of()
                    ));
                    continue;
                }
                // An encrypted blob that fails authentication: damaged.
                Err(ReplicateError::Remote { message, .. }) => {
                    found.add(format!("{message} ({})", b.of()));
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        Progress::add(&progress.blobs_present, 1);
        Progress::add(&progress.bytes_present, b.size);
    }
    Ok(found)
}

/// The SHA-256 (hex) of blob `sha`'s content as the bucket holds it.
async fn hash_blob(
    bucket: &Bucket,
    m: &Manifest,
    sha: &str,
    cancel: &CancelToken,
) -> Result<String, ReplicateError> {
    let mut h = Sha256::new();
    let mut stream = blob_stream(bucket, m, sha).await?;
    while let Some(chunk) = stream.next().await {
        if cancel.is_cancelled() {
            return Err(ReplicateError::Cancelled);
        }
        h.update(&chunk?);
    }
    Ok(hex::encode(h.finalize()))
}

/// Encrypted set `id`'s blob index; a missing or unreadable one is a problem of the set.
async fn read_index(
    bucket: &Bucket,
    id: &str,
    found: &mut Findings,
) -> Result<Option<BlobIndex>, ReplicateError> {
    let key = blob_index_key(id);
    match bucket.get(&key).await? {
        None => {
            found.add(format!(
                "{key} is missing: retention cannot tell which blobs the set uses"
            ));
            Ok(None)
        }
        Some(bytes) => match BlobIndex::parse(&bytes, id) {
            Ok(ix) => Ok(Some(ix)),
            Err(e) => {
                found.add(e);
                Ok(None)
            }
        },
    }
}
