//! Remote retention of a target: keeps the newest `keep` sets (and the set it is told to
//! protect, the newest that verified), removes the older manifests, then the blobs that no
//! remaining manifest references and that are older than a grace period (a replication
//! running elsewhere at the same time may have uploaded a blob it has not referenced yet).
//! Only what the product writes is removed: `sets/<backup id>.json` whose manifest names that
//! set, `sets/<backup id>.json.age` (an age file) with its blob index naming that set,
//! `blobs/<2 hex>/<64 hex>` and `blobs/<2 hex>/<64 hex>.age`; any other key is left alone.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::manifest::{BlobIndex, Manifest};
use super::seal::{AGE_MAGIC, SEALED_SUFFIX};
use super::{
    blob_index_key, blob_key, manifest_key, manifest_of, sealed_blob_key, sealed_manifest_key,
    Bucket, ReplicateError,
};

/// What a pass removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub sets_removed: Vec<String>,
    pub blobs_removed: u64,
    pub bytes_removed: u64,
}

/// The hash of a blob key (either form), when it is one the product writes.
fn blob_of(key: &str) -> Option<&str> {
    let plain = key.strip_suffix(SEALED_SUFFIX).unwrap_or(key);
    let sha = plain.strip_prefix("blobs/")?.split_once('/')?.1;
    let ok = sha.len() == 64
        && sha
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && blob_key(sha) == plain;
    ok.then_some(sha)
}

/// The forms of one set on the bucket.
#[derive(Clone, Copy, Debug, Default)]
struct Forms {
    plain: bool,
    sealed: bool,
}

/// Set `id`'s plain manifest, proved the product's (it parses and names the set).
async fn plain_manifest(bucket: &Bucket, id: &str) -> Result<Option<Manifest>, ReplicateError> {
    let Some(bytes) = bucket.get(&manifest_key(id)).await? else {
        return Ok(None);
    };
    Manifest::parse(&bytes, id, false)
        .map(Some)
        .map_err(|message| ReplicateError::Remote {
            target: bucket.target().to_string(),
            message,
        })
}

/// Encrypted set `id`'s blob index, proved the product's (it parses and names the set).
async fn blob_index(bucket: &Bucket, id: &str) -> Result<Option<BlobIndex>, ReplicateError> {
    let Some(bytes) = bucket.get(&blob_index_key(id)).await? else {
        return Ok(None);
    };
    BlobIndex::parse(&bytes, id)
        .map(Some)
        .map_err(|message| ReplicateError::Remote {
            target: bucket.target().to_string(),
            message,
        })
}

/// The blob keys set `id` uses. An encrypted set's come from its blob index (no key needed).
async fn used_blobs(
    bucket: &Bucket,
    id: &str,
    forms: Forms,
) -> Result<Vec<String>, ReplicateError> {
    let gone = |what: String| ReplicateError::Remote {
        target: bucket.target().to_string(),
        message: format!("set {id}: {what} during retention: nothing removed"),
    };
    let mut out = Vec::new();
    if forms.plain {
        let m = plain_manifest(bucket, id)
            .await?
            .ok_or_else(|| gone(format!("{} vanished", manifest_key(id))))?;
        out.extend(m.blobs().into_keys().map(|sha| blob_key(&sha)));
    }
    if forms.sealed {
        let ix = blob_index(bucket, id)
            .await?
            .ok_or_else(|| gone(format!("{} is missing", blob_index_key(id))))?;
        out.extend(ix.blobs.into_keys().map(|sha| sealed_blob_key(&sha)));
    }
    Ok(out)
}

/// Removes the manifests (and blob index) of set `id`, each only once proved the product's.
/// True when something was removed.
async fn remove_set(bucket: &Bucket, id: &str, forms: Forms) -> Result<bool, ReplicateError> {
    let mut removed = false;
    if forms.plain {
        match plain_manifest(bucket, id).await {
            Ok(Some(_)) => {
                bucket.delete(&manifest_key(id)).await?;
                removed = true;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(target = %bucket.target(), set = %id, error = %e, "not a manifest of this product: left alone");
            }
        }
    }
    if forms.sealed {
        // Proved ours without the key: an age file under the name the product gives, with a
        // blob index that names this set.
        let key = sealed_manifest_key(id);
        let is_age = bucket
            .get(&key)
            .await?
            .is_some_and(|b| b.starts_with(AGE_MAGIC));
        match blob_index(bucket, id).await {
            Ok(Some(_)) if is_age => {
                // The manifest first: the set is gone once it is, the index is then unused.
                bucket.delete(&key).await?;
                bucket.delete(&blob_index_key(id)).await?;
                removed = true;
            }
            Ok(_) => {
                tracing::warn!(target = %bucket.target(), set = %id, "an encrypted manifest without its blob index, or not an age file: left alone");
            }
            Err(e) => {
                tracing::warn!(target = %bucket.target(), set = %id, error = %e, "not a blob index of this product: left alone");
            }
        }
    }
    Ok(removed)
}

/// One retention pass on `bucket`: the newest `keep` sets stay, and `protect` (the newest set
/// that verified) whatever its age. Refuses to remove anything when a set that stays cannot be
/// read (its references would be unknown). Needs no key: encrypted sets are read through
/// their blob index.
pub async fn prune(
    bucket: &Bucket,
    keep: usize,
    protect: Option<&str>,
    grace: Duration,
) -> Result<Pruned, ReplicateError> {
    let listed = bucket.list("sets").await?;
    let mut sets: BTreeMap<&str, Forms> = BTreeMap::new();
    for (id, sealed) in listed.keys().filter_map(|k| manifest_of(k)) {
        let f = sets.entry(id).or_default();
        if sealed {
            f.sealed = true;
        } else {
            f.plain = true;
        }
    }
    let mut stay = Vec::new();
    let mut older = Vec::new();
    for (i, (id, forms)) in sets.into_iter().rev().enumerate() {
        if i < keep.max(1) || Some(id) == protect {
            stay.push((id, forms));
        } else {
            older.push((id, forms));
        }
    }
    let mut referenced: BTreeSet<String> = BTreeSet::new();
    for (id, forms) in &stay {
        referenced.extend(used_blobs(bucket, id, *forms).await?);
    }
    let mut pruned = Pruned::default();
    for (id, forms) in older {
        if remove_set(bucket, id, forms).await? {
            pruned.sets_removed.push(id.to_string());
        }
    }
    let now = chrono::Utc::now();
    let grace = chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX);
    let blobs = bucket.list_dated("blobs").await?;
    for (key, (size, modified)) in blobs {
        if blob_of(&key).is_none() || referenced.contains(&key) || now - modified < grace {
            continue;
        }
        bucket.delete(&key).await?;
        pruned.blobs_removed += 1;
        pruned.bytes_removed += size;
    }
    Ok(pruned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_products_keys_are_recognised() {
        let sha = "ab".repeat(32);
        assert_eq!(blob_of(&format!("blobs/ab/{sha}")), Some(sha.as_str()));
        assert_eq!(blob_of(&format!("blobs/ab/{sha}.age")), Some(sha.as_str()));
        assert_eq!(blob_of(&format!("blobs/cd/{sha}")), None);
        assert_eq!(blob_of(&format!("blobs/ab/{sha}.gpg")), None);
        assert_eq!(blob_of("blobs/ab/notes.txt"), None);
        assert_eq!(
            manifest_of("sets/20261126T020000Z.json"),
            Some(("20261126T020000Z", false))
        );
        assert_eq!(
            manifest_of("sets/20261126T020000Z.json.age"),
            Some(("20261126T020000Z", true))
        );
        assert_eq!(manifest_of("sets/20261126T020000Z.blobs.json"), None);
        assert_eq!(manifest_of("sets/readme.json"), None);
    }
}
