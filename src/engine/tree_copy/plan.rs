//! The plan and walk of a copy: the items checked all at once, then walked in path order;
//! folders and links are made on the way, files handed to the workers in runs of one folder
//! with the previous index's entry of each.

use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::Ordering;

use super::pool::{FileJob, Shared};
use super::{CopyError, CopyRequest, MAX_SKIPPED_NAMES};
use crate::engine::fsutil::{self, IoContext, IoError};
use crate::engine::index::{IndexCursor, INDEX_FILE_NAME};
use crate::engine::profile::item_is_reserved;
use crate::engine::walk::{Kind, SortedWalk, Stat};

/// Most files one worker takes at a time. Large: two workers adding entries to the same folder
/// contend for its lock (measured: 10% of the unchanged-backup time went to that spinning), so
/// a folder is split only when it is huge.
const CHUNK: usize = 4096;

pub(super) struct DirFix {
    pub(super) rel: PathBuf,
    pub(super) stat: Stat,
}

/// What the walk found besides files.
#[derive(Default)]
pub(super) struct WalkOutcome {
    pub(super) dirs: Vec<DirFix>,
    pub(super) symlinks: u64,
    pub(super) skipped: Vec<String>,
    pub(super) skipped_count: u64,
}

/// Normalises an item: strips `./` and the trailing `/`; refuses anything but plain names.
fn normalise_item(item: &str) -> Result<(PathBuf, bool), String> {
    let must_be_dir = item.ends_with('/');
    let trimmed = item.trim_end_matches('/');
    let mut rel = PathBuf::new();
    for c in Path::new(trimmed).components() {
        match c {
            Component::Normal(n) => rel.push(n),
            Component::CurDir => {}
            _ => return Err(format!("item {item:?} is not a plain relative path")),
        }
    }
    if rel.as_os_str().is_empty() {
        return Err(format!("item {item:?} is empty"));
    }
    if item_is_reserved(item) {
        return Err(format!(
            "item {item:?} collides with a file the backup writes itself (readme.txt, SHA256SUMS, {INDEX_FILE_NAME})"
        ));
    }
    Ok((rel, must_be_dir))
}

/// Checks every item before anything is copied, so all problems are reported at once. Returns
/// the items to copy (outermost only) with their status, in path order.
pub(super) fn check_items(req: &CopyRequest) -> Result<Vec<(PathBuf, Stat)>, CopyError> {
    let mut problems = Vec::new();
    let mut items: Vec<(PathBuf, bool, &str)> = Vec::new();
    for item in &req.items {
        match normalise_item(item) {
            Ok((rel, dir)) => items.push((rel, dir, item)),
            Err(e) => problems.push(e),
        }
    }
    // Nested or repeated items would be copied twice: keep the outermost.
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let mut kept: Vec<(PathBuf, bool, &str)> = Vec::new();
    for it in items {
        if kept.iter().any(|k| it.0.starts_with(&k.0)) {
            continue;
        }
        kept.push(it);
    }
    let mut roots = Vec::new();
    for (rel, must_be_dir, item) in &kept {
        let src = req.home.join(rel);
        for bad in &req.must_not_contain {
            if bad.starts_with(&src) {
                problems.push(format!(
                    "item {item:?} ({}) contains the backup folder {}",
                    src.display(),
                    bad.display()
                ));
            }
        }
        // Every folder on the way must be a real folder: never follow a link out of the home.
        let mut prefix = req.home.clone();
        let mut ancestors_ok = true;
        let parts: Vec<_> = rel.components().collect();
        for c in &parts[..parts.len().saturating_sub(1)] {
            prefix.push(c);
            let problem = match fs::symlink_metadata(&prefix) {
                Ok(m) if m.is_dir() => None,
                Ok(m) if m.file_type().is_symlink() => Some(format!(
                    "item {item:?}: {} is a symbolic link; items are never reached through links",
                    prefix.display()
                )),
                Ok(_) => Some(format!(
                    "item {item:?}: {} is not a folder",
                    prefix.display()
                )),
                Err(e) => Some(format!("missing item {item:?} ({}): {e}", src.display())),
            };
            if let Some(p) = problem {
                problems.push(p);
                ancestors_ok = false;
                break;
            }
        }
        if !ancestors_ok {
            continue;
        }
        match fs::symlink_metadata(&src) {
            Ok(m) if *must_be_dir && !m.is_dir() => {
                let what = if m.file_type().is_symlink() {
                    "a symbolic link"
                } else {
                    "not a folder"
                };
                problems.push(format!(
                    "item {item:?} ({}) must be a folder but is {what}",
                    src.display()
                ));
            }
            // A special file where an item should be is as good as a missing item (the item's
            // data is not there), not something to skip quietly.
            Ok(m) if !(m.is_file() || m.is_dir() || m.file_type().is_symlink()) => {
                problems.push(format!(
                    "item {item:?} ({}) is {}: only files, folders and links are backed up",
                    src.display(),
                    fsutil::describe_type(m.file_type())
                ))
            }
            Ok(m) => roots.push((rel.clone(), Stat::of(&m))),
            Err(e) => problems.push(format!("missing item {item:?} ({}): {e}", src.display())),
        }
    }
    if !problems.is_empty() {
        return Err(CopyError::Items(problems));
    }
    // Path order of everything below the roots: a folder's key is its name with a `/` after it.
    let key = |(rel, st): &(PathBuf, Stat)| {
        let mut k = rel.as_os_str().as_bytes().to_vec();
        if st.kind() == Kind::Dir {
            k.push(b'/');
        }
        k
    };
    roots.sort_by_key(key);
    Ok(roots)
}

/// The walk: creates the folders and links in the staging folder, hands files to the workers
/// with the previous index's entry of each (read alongside, both in path order).
pub(super) fn walk_items(
    sh: &Shared<'_>,
    roots: Vec<(PathBuf, Stat)>,
    index: &mut IndexCursor,
    out: &mut WalkOutcome,
) -> Result<(), CopyError> {
    let req = sh.req;
    let mut made_ancestors: std::collections::HashSet<PathBuf> = Default::default();
    let mut batch: Vec<FileJob> = Vec::new();
    let mut batch_parent: Vec<u8> = Vec::new();
    for (rel, stat) in roots {
        // Recreate the item's parent folders, with the source's modes and times.
        let mut anc = PathBuf::new();
        let parts: Vec<_> = rel.components().collect();
        for c in &parts[..parts.len().saturating_sub(1)] {
            anc.push(c);
            if made_ancestors.insert(anc.clone()) {
                let src = req.home.join(&anc);
                let m = fs::symlink_metadata(&src).ctx("reading metadata of", &src)?;
                mkdir(&req.dest.join(&anc))?;
                out.dirs.push(DirFix {
                    rel: anc.clone(),
                    stat: Stat::of(&m),
                });
            }
        }
        let rel_bytes = rel.as_os_str().as_bytes().to_vec();
        visit(
            sh,
            rel_bytes.clone(),
            stat,
            index,
            out,
            &mut batch,
            &mut batch_parent,
        )?;
        if stat.kind() != Kind::Dir {
            continue;
        }
        for entry in SortedWalk::new(&req.home, &rel_bytes, true) {
            if sh.stopped() {
                return Err(CopyError::Cancelled);
            }
            let entry = entry.map_err(|e| {
                IoError::new(
                    "listing",
                    req.home.join(std::ffi::OsStr::from_bytes(&e.rel)),
                    e.error,
                )
            })?;
            let Some(st) = entry.stat else { continue };
            visit(sh, entry.rel, st, index, out, &mut batch, &mut batch_parent)?;
        }
    }
    flush_batch(sh, &mut batch);
    Ok(())
}

fn flush_batch(sh: &Shared<'_>, batch: &mut Vec<FileJob>) {
    if batch.is_empty() {
        return;
    }
    sh.counters
        .files_total
        .fetch_add(batch.len() as u64, Ordering::Relaxed);
    sh.queue.push(std::mem::take(batch), &|| sh.stopped());
    sh.counters.maybe_emit(false);
}

fn parent_of(rel: &[u8]) -> &[u8] {
    match rel.iter().rposition(|&b| b == b'/') {
        Some(i) => &rel[..i],
        None => b"",
    }
}

/// One entry of the walk.
fn visit(
    sh: &Shared<'_>,
    rel: Vec<u8>,
    st: Stat,
    index: &mut IndexCursor,
    out: &mut WalkOutcome,
    batch: &mut Vec<FileJob>,
    batch_parent: &mut Vec<u8>,
) -> Result<(), CopyError> {
    let req = sh.req;
    let path = PathBuf::from(std::ffi::OsStr::from_bytes(&rel));
    match st.kind() {
        Kind::Dir => {
            mkdir(&req.dest.join(&path))?;
            out.dirs.push(DirFix {
                rel: path,
                stat: st,
            });
        }
        Kind::File => {
            let parent = parent_of(&rel);
            if parent != batch_parent.as_slice() || batch.len() >= CHUNK {
                flush_batch(sh, batch);
                batch_parent.clear();
                batch_parent.extend_from_slice(parent);
            }
            let prev = index.find(&rel);
            batch.push(FileJob {
                rel,
                stat: st,
                prev,
            });
        }
        Kind::Symlink => {
            copy_symlink(sh, &path, &st)?;
            out.symlinks += 1;
        }
        Kind::Other => {
            let src = req.home.join(&path);
            tracing::warn!(path = %src.display(), "skipping special file (socket, FIFO or device)");
            out.skipped_count += 1;
            if out.skipped.len() < MAX_SKIPPED_NAMES {
                out.skipped.push(src.display().to_string());
            }
        }
    }
    Ok(())
}

fn mkdir(path: &Path) -> Result<(), IoError> {
    match fs::DirBuilder::new().mode(0o700).create(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(IoError::new("creating folder", path, e)),
    }
}

fn copy_symlink(sh: &Shared<'_>, rel: &Path, st: &Stat) -> Result<(), IoError> {
    let src = sh.req.home.join(rel);
    let dst = sh.req.dest.join(rel);
    let target = fs::read_link(&src).ctx("reading link", &src)?;
    std::os::unix::fs::symlink(&target, &dst).ctx("creating link", &dst)?;
    if sh.as_root {
        let _ = std::os::unix::fs::lchown(&dst, Some(st.uid), Some(st.gid));
    }
    let atime = nix::sys::time::TimeSpec::new(st.atime.0, st.atime.1);
    let mtime = nix::sys::time::TimeSpec::new(st.mtime.0, st.mtime.1);
    nix::sys::stat::utimensat(
        None,
        &dst,
        &atime,
        &mtime,
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )
    .map_err(io::Error::from)
    .ctx("setting times of", &dst)
}

pub(super) fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Sets owner (when root), mode and times of a path that is not a symlink.
pub(super) fn apply_dir_meta(path: &Path, st: &Stat, as_root: bool) -> Result<(), IoError> {
    if as_root {
        let _ = std::os::unix::fs::chown(path, Some(st.uid), Some(st.gid));
    }
    fs::set_permissions(path, fs::Permissions::from_mode(st.mode & 0o7777))
        .ctx("setting mode of", path)?;
    let atime = nix::sys::time::TimeSpec::new(st.atime.0, st.atime.1);
    let mtime = nix::sys::time::TimeSpec::new(st.mtime.0, st.mtime.1);
    nix::sys::stat::utimensat(
        None,
        path,
        &atime,
        &mtime,
        nix::sys::stat::UtimensatFlags::FollowSymlink,
    )
    .map_err(io::Error::from)
    .ctx("setting times of", path)
}
