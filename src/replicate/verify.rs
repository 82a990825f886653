//! Verifying a set on its bucket: `quick` checks that every blob its manifest references exists
//! with the right size (one listing); `deep` also downloads every blob and hashes it. Each
//! problem names the blob and the files of the set that use it.

use std::collections::BTreeMap;

use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::download::read_manifest;
use super::{blob_key, Bucket, Progress, ReplicateError};
use crate::engine::CancelToken;

/// Most problems kept (the count goes on).
pub const MAX_PROBLEMS: usize = 100;

/// What a verification found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Findings {
    pub problems: Vec<String>,
    pub problem_count: u64,
}

impl Findings {
    fn add(&mut self, p: String) {
        self.problem_count += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(p);
        }
    }
}

/// Verifies set `id` on `bucket`. `progress`: blobs and bytes of the set (`*_total`) and those
/// found sound (`blobs_present`, `bytes_present`).
pub async fn verify_set(
    bucket: &Bucket,
    id: &str,
    deep: bool,
    progress: &Progress,
    cancel: &CancelToken,
) -> Result<Findings, ReplicateError> {
    let manifest = read_manifest(bucket, id)
        .await?
        .ok_or_else(|| ReplicateError::Remote {
            target: bucket.target().to_string(),
            message: format!("backup set {id} is not on the bucket (no manifest sets/{id}.json)"),
        })?;
    // blob -> (size, the first file using it)
    let mut blobs: BTreeMap<String, (u64, String)> = BTreeMap::new();
    for c in &manifest.components {
        for e in &c.entries {
            if let Some(sha) = &e.sha256 {
                blobs
                    .entry(sha.clone())
                    .or_insert_with(|| (e.size, format!("{}/{}", c.name, e.path)));
            }
        }
    }
    Progress::add(&progress.blobs_total, blobs.len() as u64);
    Progress::add(&progress.bytes_total, blobs.values().map(|b| b.0).sum());
    let listed = bucket.list("blobs").await?;
    let mut found = Findings::default();
    for (sha, (size, file)) in &blobs {
        if cancel.is_cancelled() {
            return Err(ReplicateError::Cancelled);
        }
        let key = blob_key(sha);
        match listed.get(&key) {
            None => {
                found.add(format!("{key} is missing (the content of {file})"));
                continue;
            }
            Some(have) if have != size => {
                found.add(format!(
                    "{key} has {have} bytes, {size} expected (the content of {file})"
                ));
                continue;
            }
            Some(_) => {}
        }
        if deep {
            let mut h = Sha256::new();
            let mut stream = bucket.get_stream(&key).await?;
            while let Some(chunk) = stream.next().await {
                if cancel.is_cancelled() {
                    return Err(ReplicateError::Cancelled);
                }
                h.update(&chunk?);
            }
            let got = hex::encode(h.finalize());
            if got != *sha {
                found.add(format!(
                    "{key}: its content hashes to {got} (the content of {file}): damaged"
                ));
                continue;
            }
        }
        Progress::add(&progress.blobs_present, 1);
        Progress::add(&progress.bytes_present, *size);
    }
    Ok(found)
}
