//! A replicated set brought back from its bucket: each component's folder rebuilt in a new
//! local folder exactly as its manifest describes it (files, empty folders, symbolic links,
//! modes, modification times), every blob hashed while it is written and compared with the
//! manifest, then the folder's `readme.txt` (from the manifest) and `SHA256SUMS` (from the
//! entries). The result is an ordinary backup folder that a restore takes like a folder from
//! an external medium. An encrypted set is read through the bucket's seal: its manifest
//! decrypted whole, each blob decrypted while it streams, then hashed as any other.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::manifest::{plain_path, EntryKind, Manifest, ManifestComponent};
use super::{manifest_key, sealed_manifest_key, Bucket, ReplicateError};
use crate::engine::readme::README_FILE;
use crate::engine::sums::{SumsWriter, SUMS_FILE_NAME};

/// Why a download stopped.
fn local(path: &Path, e: impl std::fmt::Display) -> ReplicateError {
    ReplicateError::Source(format!("{}: {e}", path.display()))
}

/// The manifest of set `id` on `bucket` (either form: an encrypted one is decrypted with the
/// bucket's seal); `None` when the set is not there.
pub async fn read_manifest(bucket: &Bucket, id: &str) -> Result<Option<Manifest>, ReplicateError> {
    let remote = |message| ReplicateError::Remote {
        target: bucket.target().to_string(),
        message,
    };
    if let Some(bytes) = bucket.get(&manifest_key(id)).await? {
        return Manifest::parse(&bytes, id, false).map(Some).map_err(remote);
    }
    let key = sealed_manifest_key(id);
    let Some(sealed) = bucket.get(&key).await? else {
        return Ok(None);
    };
    let Some(seal) = bucket.seal() else {
        return Err(ReplicateError::Settings(format!(
            "replication target {}: set {id} is encrypted ({key}) and the target has no key: set \
             encrypt_recipients_file with decrypt_identity_file, or encrypt_passphrase_file",
            bucket.target()
        )));
    };
    let plain = seal.decrypt(&sealed).map_err(|e| match e {
        super::seal::SealError::NoIdentity(m) => ReplicateError::Settings(m),
        super::seal::SealError::WrongKey => ReplicateError::Settings(format!(
            "replication target {}: {key} does not open with the configured key (not one of \
             the identities it was encrypted to)",
            bucket.target()
        )),
        other => remote(format!("{key}: {other}")),
    })?;
    Manifest::parse(&plain, id, true).map(Some).map_err(remote)
}

/// Rebuilds the folders of `components` (all of the manifest's when `None`) of `manifest`
/// under `dest` (which must exist and be empty), one folder per component named after it.
/// Returns component -> folder.
pub async fn download_set(
    bucket: &Bucket,
    manifest: &Manifest,
    components: Option<&[String]>,
    dest: &Path,
) -> Result<BTreeMap<String, PathBuf>, ReplicateError> {
    let mut out = BTreeMap::new();
    for c in &manifest.components {
        if components.is_some_and(|want| !want.contains(&c.name)) {
            continue;
        }
        if !crate::config::valid_name(&c.name) {
            return Err(ReplicateError::Remote {
                target: bucket.target().to_string(),
                message: format!(
                    "manifest of {}: bad component name {:?}",
                    manifest.backup_id, c.name
                ),
            });
        }
        let folder = dest.join(&c.name);
        download_component(bucket, manifest, c, &folder).await?;
        out.insert(c.name.clone(), folder);
    }
    Ok(out)
}

async fn download_component(
    bucket: &Bucket,
    m: &Manifest,
    c: &ManifestComponent,
    folder: &Path,
) -> Result<(), ReplicateError> {
    fs::create_dir(folder).map_err(|e| local(folder, e))?;
    let mut sums =
        SumsWriter::create(&folder.join(SUMS_FILE_NAME)).map_err(|e| local(folder, e))?;
    for e in &c.entries {
        if !plain_path(&e.path) || e.path == README_FILE || e.path == SUMS_FILE_NAME {
            return Err(ReplicateError::Remote {
                target: bucket.target().to_string(),
                message: format!("component {}: path {:?} cannot be restored", c.name, e.path),
            });
        }
        let path = folder.join(&e.path);
        match e.kind {
            EntryKind::Dir => fs::create_dir(&path).map_err(|err| local(&path, err))?,
            EntryKind::Symlink => {
                let target = e.target.as_deref().unwrap_or_default();
                std::os::unix::fs::symlink(target, &path).map_err(|err| local(&path, err))?;
                set_times(&path, e.mtime, false)?;
            }
            EntryKind::File => {
                let sha = e.sha256.as_deref().unwrap_or_default();
                fetch_blob(bucket, m, sha, e.size, &path).await?;
                fs::set_permissions(&path, fs::Permissions::from_mode(e.mode))
                    .map_err(|err| local(&path, err))?;
                set_times(&path, e.mtime, true)?;
                let mut digest = [0u8; 32];
                hex::decode_to_slice(sha, &mut digest).map_err(|err| local(&path, err))?;
                sums.add(e.path.as_bytes(), &digest)
                    .map_err(|err| local(&path, err))?;
            }
        }
    }
    sums.finish().map_err(|e| local(folder, e))?;
    let readme = folder.join(README_FILE);
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&readme)
        .and_then(|mut f| f.write_all(c.readme.as_bytes()))
        .map_err(|e| local(&readme, e))?;
    // Folders last, deepest first: writing into a folder changes its modification time.
    for e in c.entries.iter().rev().filter(|e| e.kind == EntryKind::Dir) {
        let path = folder.join(&e.path);
        fs::set_permissions(&path, fs::Permissions::from_mode(e.mode))
            .map_err(|err| local(&path, err))?;
        set_times(&path, e.mtime, true)?;
    }
    fs::set_permissions(folder, fs::Permissions::from_mode(c.mode))
        .map_err(|e| local(folder, e))?;
    set_times(folder, c.mtime, true)
}

/// Blob `sha` of `m`'s set as a stream of its content (decrypted when the set is encrypted).
pub async fn blob_stream(
    bucket: &Bucket,
    m: &Manifest,
    sha: &str,
) -> Result<futures_util::stream::BoxStream<'static, Result<Vec<u8>, ReplicateError>>, ReplicateError>
{
    let key = m.blob_key(sha);
    let stream = bucket.get_stream(&key).await?;
    if !m.sealed() {
        return Ok(stream);
    }
    let seal = bucket.seal().ok_or_else(|| {
        ReplicateError::Settings(format!(
            "replication target {}: set {} is encrypted and the target has no key",
            bucket.target(),
            m.backup_id
        ))
    })?;
    Ok(seal.open_stream(stream, bucket.target(), &format!("blob {key}")))
}

/// Writes blob `sha` to the new file `path`, hashing it on the way: a blob whose bytes do not
/// hash to its name, or of another size than the manifest says, is refused.
async fn fetch_blob(
    bucket: &Bucket,
    m: &Manifest,
    sha: &str,
    size: u64,
    path: &Path,
) -> Result<(), ReplicateError> {
    let key = m.blob_key(sha);
    let mut stream = blob_stream(bucket, m, sha).await?;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| local(path, e))?;
    let mut h = Sha256::new();
    let mut n = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        h.update(&chunk);
        n += chunk.len() as u64;
        file.write_all(&chunk).map_err(|e| local(path, e))?;
    }
    file.sync_all().map_err(|e| local(path, e))?;
    if n != size || hex::encode(h.finalize()) != sha {
        return Err(ReplicateError::Remote {
            target: bucket.target().to_string(),
            message: format!(
                "blob {key} does not match its manifest ({n} bytes, {size} expected, or another \
                 hash): the set on the bucket is damaged"
            ),
        });
    }
    Ok(())
}

fn set_times(path: &Path, mtime: (i64, i64), follow: bool) -> Result<(), ReplicateError> {
    let t = nix::sys::time::TimeSpec::new(mtime.0, mtime.1);
    let flag = if follow {
        nix::sys::stat::UtimensatFlags::FollowSymlink
    } else {
        nix::sys::stat::UtimensatFlags::NoFollowSymlink
    };
    nix::sys::stat::utimensat(None, path, &t, &t, flag).map_err(|e| local(path, e))
}
