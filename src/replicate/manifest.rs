//! The manifest of a replicated set (`sets/<backup id>.json`) and how one component's part of it
//! is read from a local slot folder: every path with its kind, mode, mtime, size, symbolic link
//! target and blob hash, empty folders included. File hashes come from the folder's
//! `SHA256SUMS` (joined with an ordered walk of the folder, nothing hashed here). The folder's
//! own `readme.txt` is kept as text and its `SHA256SUMS` follows from the entries: neither is a
//! blob, so an unchanged file costs nothing in the next set.
//!
//! An encrypted target's manifest (`sets/<backup id>.json.age`) is format [`FORMAT_SEALED`]:
//! the same fields plus every blob's stored (encrypted) size; its [`BlobIndex`] repeats the
//! blobs and sizes without names, in plaintext, for what must work without the private key.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::ReplicateError;
use crate::engine::index::INDEX_FILE_NAME;
use crate::engine::readme::{Readme, README_FILE};
use crate::engine::sums::{SumsSource, SUMS_FILE_NAME};
use crate::engine::walk::{Kind, SortedWalk};

/// The manifest format of a target that does not encrypt (also every earlier version's).
pub const FORMAT: u32 = 1;
/// The manifest format of a target that encrypts: blobs under `<key>.age`, `stored_sizes`.
pub const FORMAT_SEALED: u32 = 2;

/// What a set on the bucket holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub backup_id: String,
    /// When the manifest was written (RFC 3339).
    pub replicated_at: String,
    /// The backup's report (`backupReport_<ID>.txt`), when the master still had it.
    #[serde(default)]
    pub report: Option<String>,
    pub components: Vec<ManifestComponent>,
    /// Format 2: every blob's size on the bucket (hash -> bytes), for quick verification.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub stored_sizes: std::collections::BTreeMap<String, u64>,
}

/// One component's folder of the set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestComponent {
    pub name: String,
    /// The folder's `readme.txt` (also an entry with its blob).
    pub readme: String,
    /// Mode of the folder itself.
    pub mode: u32,
    /// Modification time of the folder itself (seconds, nanoseconds).
    pub mtime: (i64, i64),
    /// Every path below the folder, in the byte order of the paths.
    pub entries: Vec<Entry>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
}

/// One path of a component's folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Relative to the folder, `/`-separated.
    pub path: String,
    pub kind: EntryKind,
    /// Permission bits (`0o7777`).
    pub mode: u32,
    pub mtime: (i64, i64),
    #[serde(default, skip_serializing_if = "is_zero")]
    pub size: u64,
    /// Files: the SHA-256 (hex) naming the blob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Symbolic links: the target as stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Manifest {
    /// Every blob the manifest references: hash -> size (a hash listed twice once).
    pub fn blobs(&self) -> std::collections::BTreeMap<String, u64> {
        self.components
            .iter()
            .flat_map(|c| c.entries.iter())
            .filter_map(|e| e.sha256.as_ref().map(|s| (s.clone(), e.size)))
            .collect()
    }

    /// True for the manifest of an encrypted set (format 2).
    pub fn sealed(&self) -> bool {
        self.format == FORMAT_SEALED
    }

    /// The key of blob `sha` in the form this manifest's set uses.
    pub fn blob_key(&self, sha: &str) -> String {
        if self.sealed() {
            super::sealed_blob_key(sha)
        } else {
            super::blob_key(sha)
        }
    }

    /// The size blob `sha` (of `size` plaintext bytes) has on the bucket.
    pub fn stored_size(&self, sha: &str, size: u64) -> u64 {
        if self.sealed() {
            self.stored_sizes.get(sha).copied().unwrap_or(0)
        } else {
            size
        }
    }

    /// Parses a manifest read from the bucket, refusing one of another set or format;
    /// `sealed`: it was read (and decrypted) from `sets/<id>.json.age`.
    pub fn parse(bytes: &[u8], id: &str, sealed: bool) -> Result<Manifest, String> {
        let m: Manifest =
            serde_json::from_slice(bytes).map_err(|e| format!("manifest of {id}: {e}"))?;
        let want = if sealed { FORMAT_SEALED } else { FORMAT };
        if m.format != want {
            return Err(format!(
                "manifest of {id} has format {}, this version reads {want} there",
                m.format
            ));
        }
        if m.backup_id != id {
            return Err(format!(
                "manifest sets/{id}.json names backup {}",
                m.backup_id
            ));
        }
        for c in &m.components {
            for e in &c.entries {
                if !plain_path(&e.path) {
                    return Err(format!(
                        "manifest of {id}: component {}: path {:?} is not a plain relative path",
                        c.name, e.path
                    ));
                }
                if let Some(s) = &e.sha256 {
                    if !is_sha(s) {
                        return Err(format!("manifest of {id}: bad hash {s:?}"));
                    }
                    if sealed && !m.stored_sizes.contains_key(s) {
                        return Err(format!("manifest of {id}: no stored size of blob {s}"));
                    }
                }
            }
        }
        Ok(m)
    }
}

/// 64 hex digits, a blob's hash.
fn is_sha(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// An encrypted set's blobs without names (`sets/<backup id>.blobs.json`, plaintext): what
/// quick verification and retention read, so neither needs the private key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobIndex {
    pub format: u32,
    pub backup_id: String,
    /// hash -> the blob's plaintext and stored sizes.
    pub blobs: std::collections::BTreeMap<String, IndexedBlob>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedBlob {
    pub size: u64,
    pub stored: u64,
}

impl BlobIndex {
    /// The index of sealed manifest `m`.
    pub fn of(m: &Manifest) -> BlobIndex {
        BlobIndex {
            format: 1,
            backup_id: m.backup_id.clone(),
            blobs: m
                .blobs()
                .into_iter()
                .map(|(sha, size)| {
                    let stored = m.stored_size(&sha, size);
                    (sha, IndexedBlob { size, stored })
                })
                .collect(),
        }
    }

    /// Parses an index read from the bucket, refusing one of another set or format.
    pub fn parse(bytes: &[u8], id: &str) -> Result<BlobIndex, String> {
        let ix: BlobIndex =
            serde_json::from_slice(bytes).map_err(|e| format!("blob index of {id}: {e}"))?;
        if ix.format != 1 || ix.backup_id != id {
            return Err(format!(
                "sets/{id}.blobs.json is not this set's blob index (format {}, set {})",
                ix.format, ix.backup_id
            ));
        }
        if let Some(bad) = ix.blobs.keys().find(|s| !is_sha(s)) {
            return Err(format!("blob index of {id}: bad hash {bad:?}"));
        }
        Ok(ix)
    }
}

/// A relative `/`-separated path with no empty, `.` or `..` part and no NUL.
pub fn plain_path(p: &str) -> bool {
    !p.is_empty()
        && !p.contains('\0')
        && !p.starts_with('/')
        && p.split('/').all(|s| !s.is_empty() && s != "." && s != "..")
}

fn source_err(folder: &Path, what: impl std::fmt::Display) -> ReplicateError {
    ReplicateError::Source(format!("{}: {what}", folder.display()))
}

/// Component `name`'s part of the manifest of backup `backup_id`, read from `folder` (a slot
/// of that backup): its `readme.txt` must name this backup and component, and every regular
/// file but the folder's own (`readme.txt`, `SHA256SUMS`, the change index) must be in
/// `SHA256SUMS`. `scratch` is where an unsorted `SHA256SUMS` is sorted.
pub fn read_component(
    folder: &Path,
    name: &str,
    backup_id: &str,
    scratch: &Path,
) -> Result<ManifestComponent, ReplicateError> {
    let readme = Readme::read_from(folder).map_err(|e| source_err(folder, e))?;
    if readme.backup_id != backup_id || readme.component != name {
        return Err(source_err(
            folder,
            format!(
                "its readme.txt names backup {} of {}, not {backup_id} of {name}",
                readme.backup_id, readme.component
            ),
        ));
    }
    let readme_text = std::fs::read_to_string(folder.join(README_FILE))
        .map_err(|e| source_err(folder, format!("readme.txt: {e}")))?;
    let sums = SumsSource::open(&folder.join(SUMS_FILE_NAME), scratch)
        .map_err(|e| source_err(folder, e))?;
    if sums.problem_count > 0 {
        return Err(source_err(
            folder,
            format!(
                "{SUMS_FILE_NAME} has {} malformed line(s); verify the set",
                sums.problem_count
            ),
        ));
    }
    let mut sums = sums
        .entries()
        .map_err(|e| source_err(folder, e))?
        .peekable();
    let meta = std::fs::symlink_metadata(folder).map_err(|e| source_err(folder, e))?;
    let mut entries = Vec::new();
    for item in SortedWalk::new(folder, b"", true) {
        let item = item.map_err(|e| {
            source_err(
                folder,
                format!("{}: {}", String::from_utf8_lossy(&e.rel), e.error),
            )
        })?;
        let rel = item.rel;
        // The product's own files of the folder: the readme is in the manifest as text, the
        // checksums are the entries' hashes (written again on a download), the change index is
        // a cache of the next local backup. None is a blob: a new backup changes all three.
        if [INDEX_FILE_NAME, README_FILE, SUMS_FILE_NAME]
            .iter()
            .any(|n| rel.as_slice() == n.as_bytes())
        {
            continue;
        }
        let path = String::from_utf8(rel.clone()).map_err(|_| {
            source_err(
                folder,
                format!(
                    "{:?}: a name that is not UTF-8 cannot be replicated",
                    String::from_utf8_lossy(&rel)
                ),
            )
        })?;
        let Some(st) = item.stat else {
            return Err(source_err(folder, format!("{path}: no metadata")));
        };
        let mode = st.mode & 0o7777;
        let mut e = Entry {
            path: path.clone(),
            kind: EntryKind::File,
            mode,
            mtime: st.mtime,
            size: 0,
            sha256: None,
            target: None,
        };
        match item.kind {
            Kind::Dir => e.kind = EntryKind::Dir,
            Kind::Symlink => {
                let t = std::fs::read_link(folder.join(&path))
                    .map_err(|err| source_err(folder, format!("{path}: {err}")))?;
                let t = t.as_os_str().as_bytes();
                e.kind = EntryKind::Symlink;
                e.target = Some(String::from_utf8(t.to_vec()).map_err(|_| {
                    source_err(folder, format!("{path}: a link target that is not UTF-8"))
                })?);
            }
            Kind::Other => {
                return Err(source_err(
                    folder,
                    format!("{path}: not a file, folder or link"),
                ))
            }
            Kind::File => {
                e.size = st.size;
                // The sums are in the same order as the walk: skip what lies before this path.
                while sums
                    .peek()
                    .is_some_and(|s| s.as_ref().is_ok_and(|(p, _)| p.as_slice() < rel.as_slice()))
                {
                    sums.next();
                }
                let sha = match sums.peek() {
                    Some(Ok((p, sha))) if p.as_slice() == rel.as_slice() => *sha,
                    Some(Err(err)) => return Err(source_err(folder, err)),
                    _ => {
                        return Err(source_err(
                            folder,
                            format!(
                                "{path} is not in {SUMS_FILE_NAME}: the folder changed since \
                                 its backup; verify the set"
                            ),
                        ))
                    }
                };
                e.sha256 = Some(hex::encode(sha));
            }
        }
        entries.push(e);
    }
    Ok(ManifestComponent {
        name: name.to_string(),
        readme: readme_text,
        mode: std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777,
        mtime: (
            std::os::unix::fs::MetadataExt::mtime(&meta),
            std::os::unix::fs::MetadataExt::mtime_nsec(&meta),
        ),
        entries,
    })
}
