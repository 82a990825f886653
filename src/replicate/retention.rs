//! Remote retention of a target: keeps the newest `keep` sets (and the set it is told to
//! protect, the newest that verified), removes the older manifests, then the blobs that no
//! remaining manifest references and that are older than a grace period (a replication
//! running elsewhere at the same time may have uploaded a blob it has not referenced yet).
//! Only what the product writes is removed: `sets/<backup id>.json` whose manifest names that
//! set, `blobs/<2 hex>/<64 hex>`; any other key is left alone.

use std::collections::BTreeSet;
use std::time::Duration;

use super::download::read_manifest;
use super::{blob_key, Bucket, ReplicateError};

/// What a pass removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub sets_removed: Vec<String>,
    pub blobs_removed: u64,
    pub bytes_removed: u64,
}

/// The backup ID of a manifest key, when it is one the product writes.
fn set_of(key: &str) -> Option<&str> {
    let id = key.strip_prefix("sets/")?.strip_suffix(".json")?;
    crate::engine::backup_id::is_valid(id).then_some(id)
}

/// The hash of a blob key, when it is one the product writes.
fn blob_of(key: &str) -> Option<&str> {
    let sha = key.strip_prefix("blobs/")?.split_once('/')?.1;
    let ok = sha.len() == 64
        && sha
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && blob_key(sha) == key;
    ok.then_some(sha)
}

/// One retention pass on `bucket`: the newest `keep` sets stay, and `protect` (the newest set
/// that verified) whatever its age. Refuses to remove anything when a set that stays cannot be
/// read (its references would be unknown).
pub async fn prune(
    bucket: &Bucket,
    keep: usize,
    protect: Option<&str>,
    grace: Duration,
) -> Result<Pruned, ReplicateError> {
    let listed = bucket.list("sets").await?;
    let mut ids: Vec<&str> = listed.keys().filter_map(|k| set_of(k)).collect();
    ids.sort_unstable_by(|a, b| b.cmp(a));
    let mut stay: Vec<&str> = Vec::new();
    let mut older: Vec<&str> = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        if i < keep.max(1) || Some(*id) == protect {
            stay.push(id);
        } else {
            older.push(id);
        }
    }
    let mut referenced: BTreeSet<String> = BTreeSet::new();
    for id in &stay {
        let m = read_manifest(bucket, id)
            .await?
            .ok_or_else(|| ReplicateError::Remote {
                target: bucket.target().to_string(),
                message: format!("set {id} vanished during retention: nothing removed"),
            })?;
        referenced.extend(m.blobs().into_keys());
    }
    let mut pruned = Pruned::default();
    for id in older {
        // Proved ours: the manifest parses and names this set.
        match read_manifest(bucket, id).await {
            Ok(Some(_)) => {
                bucket.delete(&super::manifest_key(id)).await?;
                pruned.sets_removed.push(id.to_string());
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(target = %bucket.target(), set = %id, error = %e, "not a manifest of this product: left alone");
            }
        }
    }
    let now = chrono::Utc::now();
    let grace = chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX);
    let blobs = bucket.list_dated("blobs").await?;
    for (key, (size, modified)) in blobs {
        let Some(sha) = blob_of(&key) else { continue };
        if referenced.contains(sha) || now - modified < grace {
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
        assert_eq!(blob_of(&format!("blobs/cd/{sha}")), None);
        assert_eq!(blob_of("blobs/ab/notes.txt"), None);
        assert_eq!(
            set_of("sets/20261126T020000Z.json"),
            Some("20261126T020000Z")
        );
        assert_eq!(set_of("sets/readme.json"), None);
    }
}
