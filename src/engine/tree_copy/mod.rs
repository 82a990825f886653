//! The tree copy: puts a component's items into a staging folder (or, for a restore, a
//! backup's items into a home), reading every file once while hashing it (SHA-256), cloning it
//! where the file system can share extents, or hard-linking it from the previous backup when
//! it is unchanged. `SHA256SUMS` and the index that go with a copy are in [`super::sums`] and
//! [`super::index`].
//!
//! Rules:
//! * Modes, mtimes (and atimes) are kept; owners too when running as root. Empty folders are kept.
//! * Symbolic links are copied as links and never followed, also when they point outside the
//!   home; an item whose path runs through a symbolic link is refused. Links are not listed in
//!   `SHA256SUMS` (`sha256sum -c` would follow them).
//! * Sockets, FIFOs and device nodes inside an item are never opened: they are skipped, listed
//!   in the outcome (the first [`MAX_SKIPPED_NAMES`] by name, all counted; the backup's record
//!   names some in its notes) and logged. They are not recreated: a restore must not make
//!   device nodes in a home from whatever a backup medium holds, `sha256sum -c` cannot check
//!   them, and a socket or FIFO is recreated by the program that uses it. An item that is
//!   itself such a file is an error, like a missing item.
//! * Torn files are caught: each copied file's size, mtime, ctime and inode are compared before
//!   and after its copy; a file that changed meanwhile is copied again from the start, up to
//!   [`MAX_RECOPIES`] times, and if it still changed it is named in the outcome (`changed`; the
//!   first [`MAX_CHANGED_NAMES`], all counted). What that does to the backup (`on_change`) is
//!   its store's decision.
//! * A file is unchanged when its source size, mtime, ctime, inode and device equal what the
//!   index of the previous backup (slot `backup/`) recorded; it is then hard-linked from that
//!   slot, after checking the slot's file still has the recorded size and mtime, and its
//!   checksum is reused. A file that changed while it was copied is not indexed, so the next
//!   backup copies it again.
//! * A changed or new file is first cloned (`FICLONE`: the copy shares the source's extents
//!   until either is written, so it stays an independent copy) where source and destination
//!   can (btrfs, XFS with reflink): tried once per source device and worker, and where the
//!   file system refuses, every later file of that device is copied. A cloned file is then
//!   read back **from the clone** for its checksum: the sum describes exactly what the copy
//!   holds, also when the source changes meanwhile. The outcome counts copies, clones and links.
//! * Memory stays flat whatever the file count: the items are walked in path order (one
//!   folder's names at a time), joined line by line with the previous index, and each file's
//!   checksum and index entry go to sorted runs on disk ([`super::runs`], unnamed files in the
//!   scratch folder) merged in path order when the listings are written. Files are spread over
//!   worker threads, one 1 MiB buffer each.
//! * The cancel token is checked before every file and between chunks of a large file.
//!
//! Files: `plan` checks the items and walks them (folders and links made on the way, files
//! handed on in runs); `pool` is the queue and the copy workers; `file` copies, clones or
//! links one file; `stats` counts and reports progress; `listing` is what a copy lists
//! and the `SHA256SUMS` and index written from it.

mod file;
mod listing;
mod plan;
mod pool;
mod stats;
#[cfg(test)]
pub(crate) mod tests;

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::fsutil::IoError;
use super::index::IndexCursor;
use super::runs;
use super::CancelToken;
pub use listing::{write_sums_and_index, ListedFile, Listing};
use plan::{apply_dir_meta, check_items, is_root, walk_items, WalkOutcome};
use pool::{worker, CloseOnDrop, Queue, Shared, WorkerResult};
pub use stats::CopyStats;
use stats::Counters;

/// Most skipped special files named in an outcome (all are counted).
pub const MAX_SKIPPED_NAMES: usize = 100;
/// Most files changed during the copy named in an outcome (all are counted).
pub const MAX_CHANGED_NAMES: usize = 100;
pub use file::MAX_RECOPIES;

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// Problems with the items themselves (missing, wrong type, unsafe path); one line each.
    #[error("{}", .0.join("; "))]
    Items(Vec<String>),
    #[error("cancelled")]
    Cancelled,
    #[error(transparent)]
    Io(#[from] IoError),
}

/// What to copy and how.
#[derive(Clone, Debug)]
pub struct CopyRequest {
    pub home: PathBuf,
    /// Items relative to home (trailing `/` = must be a folder).
    pub items: Vec<String>,
    /// The staging folder; must exist and be empty.
    pub dest: PathBuf,
    /// The previous successful backup (slot 0), for hard links of unchanged files.
    pub previous: Option<PathBuf>,
    /// Folders that must not be inside an item (the backup folder and its parent).
    pub must_not_contain: Vec<PathBuf>,
    pub workers: usize,
    /// Fault injection: sleep before each file.
    pub slow_copy: Option<Duration>,
    /// Fault injection: the first write fails with ENOSPC.
    pub inject_enospc: bool,
    /// Benchmark baseline only: no status comparison before and after each file's copy.
    pub skip_change_check: bool,
}

/// The result of a successful copy.
#[derive(Debug)]
pub struct CopyOutcome {
    pub stats: CopyStats,
    /// Every regular file, in path order (read once).
    pub listing: Listing,
    pub symlinks: u64,
    pub dirs: u64,
    /// Entries skipped because they are neither file, folder nor link: the first
    /// [`MAX_SKIPPED_NAMES`].
    pub skipped: Vec<String>,
    /// How many were skipped in all.
    pub skipped_count: u64,
    /// Files that changed while they were copied, also on each of [`MAX_RECOPIES`] more
    /// copies: the first [`MAX_CHANGED_NAMES`], relative to the home, sorted. Their copy may
    /// be torn.
    pub changed: Vec<String>,
    /// How many changed in all.
    pub changed_count: u64,
    /// Copies made again because a file changed while it was copied.
    pub recopies: u64,
}

/// Copies the items of `req` into `req.dest`. `progress` is called from the worker threads.
/// The sort runs of the listing are unnamed files in `req.dest`.
pub fn copy_items(
    req: &CopyRequest,
    cancel: &CancelToken,
    progress: &(dyn Fn(CopyStats) + Sync),
) -> Result<CopyOutcome, CopyError> {
    let roots = check_items(req)?;
    let mut index = match &req.previous {
        Some(p) => IndexCursor::open(p),
        None => IndexCursor::empty(),
    };
    let shared = Shared {
        req,
        queue: Queue::default(),
        cancel,
        stop: AtomicBool::new(false),
        counters: Counters::new(progress),
        enospc_armed: AtomicBool::new(req.inject_enospc),
        as_root: is_root(),
        has_index: !index.is_empty(),
        changed: Default::default(),
    };
    progress(shared.counters.stats());
    let mut walked_out = WalkOutcome::default();
    let workers = req.workers.clamp(1, 16);
    let (walked, results) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers).map(|_| s.spawn(|| worker(&shared))).collect();
        // Closes the queue however the walk ends (even by a panic), so no worker waits forever.
        let closer = CloseOnDrop(&shared.queue);
        let walked = walk_items(&shared, roots, &mut index, &mut walked_out);
        if walked.is_err() {
            shared.stop.store(true, Ordering::Relaxed);
        }
        drop(closer);
        let results: Vec<WorkerResult> = handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(CopyError::Io(IoError::new(
                        "copying into",
                        &req.dest,
                        io::Error::other("a copy worker panicked"),
                    )))
                })
            })
            .collect();
        (walked, results)
    });
    // The first real error wins over the "cancelled" of those it stopped.
    let mut first_err = walked.err();
    let mut sorters = Vec::new();
    for r in results {
        match r {
            Ok(sorter) => sorters.push(sorter),
            Err(CopyError::Cancelled) => {
                first_err.get_or_insert(CopyError::Cancelled);
            }
            Err(e) => {
                if matches!(first_err, None | Some(CopyError::Cancelled)) {
                    first_err = Some(e);
                }
            }
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    if cancel.is_cancelled() {
        return Err(CopyError::Cancelled);
    }
    // Folder modes and times last: writing into a folder changes its mtime, and a read-only
    // source folder must stay writable until its content is in.
    for d in walked_out.dirs.iter().rev() {
        apply_dir_meta(&req.dest.join(&d.rel), &d.stat, shared.as_root)?;
    }
    let stats = shared.counters.stats();
    progress(stats);
    let (changed, changed_count) = shared.take_changed();
    Ok(CopyOutcome {
        changed,
        changed_count,
        recopies: shared.counters.recopies.load(Ordering::Relaxed),
        stats,
        listing: Listing(runs::merge(sorters)),
        symlinks: walked_out.symlinks,
        dirs: walked_out.dirs.len() as u64,
        skipped: walked_out.skipped,
        skipped_count: walked_out.skipped_count,
    })
}
