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

use std::fs::{self, File, FileTimes, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use super::fsutil::{self, IoContext, IoError};
use super::index::{IndexCursor, IndexEntry, IndexWriter, INDEX_FILE_NAME};
use super::profile::item_is_reserved;
use super::runs::{self, Merge, RunSorter};
use super::sums::{SumsWriter, SUMS_FILE_NAME};
use super::walk::{Kind, SortedWalk, Stat};
use super::CancelToken;

const BUF_SIZE: usize = 1 << 20;
/// Up to this many files, a progress event is sent after every file.
const EVERY_FILE_UP_TO: usize = 500;
const PROGRESS_INTERVAL: Duration = Duration::from_millis(200);
/// Most files one worker takes at a time. Large: two workers adding entries to the same folder
/// contend for its lock (measured: 10% of the unchanged-backup time went to that spinning), so
/// a folder is split only when it is huge.
const CHUNK: usize = 4096;
/// Most skipped special files named in an outcome (all are counted).
pub const MAX_SKIPPED_NAMES: usize = 100;
/// What each worker's sort buffer holds before it writes a run.
const SORT_BUFFER_BYTES: usize = 2 << 20;

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
}

/// Counters of a copy; also the progress reported while it runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CopyStats {
    pub files: u64,
    /// Files whose data was read and written (neither cloned nor linked).
    pub files_copied: u64,
    pub files_linked: u64,
    /// Files cloned (`FICLONE`); their data was read once, from the clone, for the checksum.
    pub files_cloned: u64,
    pub bytes_copied: u64,
    pub bytes_linked: u64,
    pub bytes_cloned: u64,
}

/// One copied file as listed after the copy: its path relative to the folder, its SHA-256 and,
/// when it may be reused by the next backup, its index entry.
#[derive(Debug, PartialEq, Eq)]
pub struct ListedFile {
    pub rel: Vec<u8>,
    pub sha256: [u8; 32],
    pub index: Option<IndexEntry>,
}

/// Every regular file a copy put in place, in path order, read from the sorted runs.
pub struct Listing(Merge);

impl std::fmt::Debug for Listing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Listing")
    }
}

fn encode_listed(sha: &[u8; 32], index: Option<&IndexEntry>) -> Vec<u8> {
    let mut v = Vec::with_capacity(32 + IndexEntry::ENCODED_LEN);
    v.extend_from_slice(sha);
    if let Some(e) = index {
        e.encode(&mut v);
    }
    v
}

impl Iterator for Listing {
    type Item = Result<ListedFile, IoError>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.0.next()?.map(|(rel, value)| {
            let mut sha256 = [0u8; 32];
            let (sha, rest) = value.split_at(value.len().min(32));
            if sha.len() == 32 {
                sha256.copy_from_slice(sha);
            }
            ListedFile {
                rel,
                sha256,
                index: IndexEntry::decode(rest),
            }
        }))
    }
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
}

struct FileJob {
    rel: Vec<u8>,
    stat: Stat,
    /// The previous backup's index entry for this path.
    prev: Option<IndexEntry>,
}

impl FileJob {
    fn path(&self) -> &Path {
        Path::new(std::ffi::OsStr::from_bytes(&self.rel))
    }
}

struct DirFix {
    rel: PathBuf,
    stat: Stat,
}

fn system_time(sec: i64, nsec: i64) -> SystemTime {
    let nsec = u32::try_from(nsec.clamp(0, 999_999_999)).unwrap_or(0);
    if sec >= 0 {
        UNIX_EPOCH + Duration::new(sec.unsigned_abs(), nsec)
    } else {
        UNIX_EPOCH - Duration::from_secs(sec.unsigned_abs()) + Duration::from_nanos(u64::from(nsec))
    }
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Sets owner (when root), mode and times of a path that is not a symlink.
fn apply_dir_meta(path: &Path, st: &Stat, as_root: bool) -> Result<(), IoError> {
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

/// Work handed from the walk to the copy workers: runs of files of one folder (at most
/// [`CHUNK`]). A worker takes a whole run, so the workers rarely contend for one directory's
/// lock and can use directory descriptors; and copying starts while the walk goes on. At most
/// [`MAX_QUEUED`] runs wait: the walk never runs far ahead of the copy.
#[derive(Default)]
struct Queue {
    state: Mutex<(std::collections::VecDeque<Vec<FileJob>>, bool)>,
    ready: Condvar,
    room: Condvar,
}

/// Most runs waiting in the queue.
const MAX_QUEUED: usize = 8;

impl Queue {
    /// Queues a run, waiting while the queue is full (unless `stopped` says to give up).
    fn push(&self, chunk: Vec<FileJob>, stopped: &dyn Fn() -> bool) {
        if chunk.is_empty() {
            return;
        }
        let mut st = lock(&self.state);
        while st.0.len() >= MAX_QUEUED && !st.1 && !stopped() {
            st = self
                .room
                .wait_timeout(st, Duration::from_millis(100))
                .map(|r| r.0)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        st.0.push_back(chunk);
        self.ready.notify_one();
    }

    fn close(&self) {
        lock(&self.state).1 = true;
        self.ready.notify_all();
        self.room.notify_all();
    }

    /// The next run, waiting for the walk; `None` once the walk is over and all was taken.
    fn pop(&self) -> Option<Vec<FileJob>> {
        let mut st = lock(&self.state);
        loop {
            if let Some(c) = st.0.pop_front() {
                self.room.notify_one();
                return Some(c);
            }
            if st.1 {
                return None;
            }
            st = self.ready.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }
}

struct CloseOnDrop<'a>(&'a Queue);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.close();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct Shared<'a> {
    req: &'a CopyRequest,
    queue: Queue,
    cancel: &'a CancelToken,
    /// Set on the first error anywhere: everyone stops.
    stop: AtomicBool,
    files_total: AtomicU64,
    files_copied: AtomicU64,
    files_linked: AtomicU64,
    files_cloned: AtomicU64,
    bytes_copied: AtomicU64,
    bytes_linked: AtomicU64,
    bytes_cloned: AtomicU64,
    enospc_armed: AtomicBool,
    last_emit: Mutex<Instant>,
    progress: &'a (dyn Fn(CopyStats) + Sync),
    as_root: bool,
    /// The previous slot was given and its index is usable (then links are tried).
    has_index: bool,
}

impl Shared<'_> {
    fn stats(&self) -> CopyStats {
        CopyStats {
            files: self.files_total.load(Ordering::Relaxed),
            files_copied: self.files_copied.load(Ordering::Relaxed),
            files_linked: self.files_linked.load(Ordering::Relaxed),
            files_cloned: self.files_cloned.load(Ordering::Relaxed),
            bytes_copied: self.bytes_copied.load(Ordering::Relaxed),
            bytes_linked: self.bytes_linked.load(Ordering::Relaxed),
            bytes_cloned: self.bytes_cloned.load(Ordering::Relaxed),
        }
    }

    /// Reports progress when the last report is old enough (or after every file for small sets).
    fn maybe_emit(&self, file_done: bool) {
        let small = self.files_total.load(Ordering::Relaxed) <= EVERY_FILE_UP_TO as u64;
        if let Ok(mut last) = self.last_emit.try_lock() {
            if (file_done && small) || last.elapsed() >= PROGRESS_INTERVAL {
                *last = Instant::now();
                (self.progress)(self.stats());
            }
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.cancel.is_cancelled()
    }
}

/// What the walk found besides files.
#[derive(Default)]
struct WalkOutcome {
    dirs: Vec<DirFix>,
    symlinks: u64,
    skipped: Vec<String>,
    skipped_count: u64,
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
        files_total: AtomicU64::new(0),
        files_copied: AtomicU64::new(0),
        files_linked: AtomicU64::new(0),
        files_cloned: AtomicU64::new(0),
        bytes_copied: AtomicU64::new(0),
        bytes_linked: AtomicU64::new(0),
        bytes_cloned: AtomicU64::new(0),
        enospc_armed: AtomicBool::new(req.inject_enospc),
        last_emit: Mutex::new(Instant::now()),
        progress,
        as_root: is_root(),
        has_index: !index.is_empty(),
    };
    progress(shared.stats());
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
    let stats = shared.stats();
    progress(stats);
    Ok(CopyOutcome {
        stats,
        listing: Listing(runs::merge(sorters)),
        symlinks: walked_out.symlinks,
        dirs: walked_out.dirs.len() as u64,
        skipped: walked_out.skipped,
        skipped_count: walked_out.skipped_count,
    })
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
fn check_items(req: &CopyRequest) -> Result<Vec<(PathBuf, Stat)>, CopyError> {
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
fn walk_items(
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
    sh.files_total
        .fetch_add(batch.len() as u64, Ordering::Relaxed);
    sh.queue.push(std::mem::take(batch), &|| sh.stopped());
    sh.maybe_emit(false);
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

/// Directory descriptors of one folder in the previous slot and in the staging folder, for the
/// `*at` calls of the hard-link path (one path component to resolve instead of the whole path).
struct DirFds {
    prev: File,
    dest: File,
}

fn open_dir_fds(sh: &Shared<'_>, parent: &Path) -> Option<DirFds> {
    let prev = sh.req.previous.as_ref()?;
    if !sh.has_index {
        return None;
    }
    Some(DirFds {
        prev: open_dir(&prev.join(parent))?,
        dest: open_dir(&sh.req.dest.join(parent))?,
    })
}

/// A folder's descriptor; `None` when it is anything else (never follows a link, never waits
/// on a FIFO put at a folder's name in the previous slot).
fn open_dir(path: &Path) -> Option<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .ok()
}

type WorkerResult = Result<RunSorter, CopyError>;

/// Per worker: whether cloning works from each source device into the destination.
#[derive(Default)]
struct CloneState {
    devices: Vec<(u64, bool)>,
}

impl CloneState {
    fn allowed(&self, dev: u64) -> bool {
        self.devices.iter().all(|&(d, ok)| d != dev || ok)
    }

    fn learn(&mut self, dev: u64, ok: bool) {
        if let Some(e) = self.devices.iter_mut().find(|e| e.0 == dev) {
            e.1 = ok;
        } else {
            self.devices.push((dev, ok));
        }
    }
}

fn worker(sh: &Shared<'_>) -> WorkerResult {
    // Allocated on the first copy: a backup of unchanged files needs no buffer.
    let mut buf = Vec::new();
    let mut sorter = RunSorter::new(&sh.req.dest, SORT_BUFFER_BYTES);
    let mut clone = CloneState::default();
    let fail = |sh: &Shared<'_>, e: CopyError| {
        sh.stop.store(true, Ordering::Relaxed);
        Err(e)
    };
    while let Some(chunk) = sh.queue.pop() {
        let parent = chunk[0].path().parent().unwrap_or(Path::new(""));
        let fds = if chunk.iter().any(|j| j.prev.is_some()) {
            open_dir_fds(sh, parent)
        } else {
            None
        };
        for job in chunk {
            if sh.stopped() {
                return Err(CopyError::Cancelled);
            }
            if let Some(d) = sh.req.slow_copy {
                std::thread::sleep(d);
            }
            match copy_one(sh, &job, &mut buf, fds.as_ref(), &mut clone) {
                Ok((sha, entry)) => {
                    if let Err(e) = sorter.add(&job.rel, &encode_listed(&sha, entry.as_ref())) {
                        return fail(sh, e.into());
                    }
                    sh.maybe_emit(true);
                }
                Err(e) => return fail(sh, e),
            }
        }
    }
    if sh.stopped() {
        return Err(CopyError::Cancelled);
    }
    Ok(sorter)
}

/// Hard-links `name` from the previous slot's folder when it still has the recorded size and
/// mtime. False when it cannot (then the file is copied).
fn try_link(fds: &DirFds, name: &std::ffi::OsStr, entry: &IndexEntry) -> bool {
    use nix::fcntl::AtFlags;
    let (prev, dest) = (fds.prev.as_raw_fd(), fds.dest.as_raw_fd());
    let ok = match nix::sys::stat::fstatat(Some(prev), name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) => {
            (st.st_mode & libc::S_IFMT) == libc::S_IFREG
                && u64::try_from(st.st_size).ok() == Some(entry.size)
                && (st.st_mtime, st.st_mtime_nsec) == entry.mtime
        }
        Err(_) => false,
    };
    ok && nix::unistd::linkat(Some(prev), name, Some(dest), name, AtFlags::empty()).is_ok()
}

/// Copies, clones or links one file. Returns its digest and, when it may be reused next time,
/// its index entry.
fn copy_one(
    sh: &Shared<'_>,
    job: &FileJob,
    buf: &mut Vec<u8>,
    fds: Option<&DirFds>,
    clone: &mut CloneState,
) -> Result<([u8; 32], Option<IndexEntry>), CopyError> {
    let path = job.path();
    if let (Some(fds), Some(entry), Some(name)) = (fds, job.prev.as_ref(), path.file_name()) {
        if entry.same_source(&job.stat) && try_link(fds, name, entry) {
            sh.files_linked.fetch_add(1, Ordering::Relaxed);
            sh.bytes_linked.fetch_add(entry.size, Ordering::Relaxed);
            return Ok((entry.sha256, Some(*entry)));
        }
    }
    if buf.is_empty() {
        buf.resize(BUF_SIZE, 0);
    }
    let src = sh.req.home.join(path);
    let dst = sh.req.dest.join(path);
    copy_file(sh, &src, &dst, buf, clone)
}

/// Errors of `FICLONE` that say the file systems cannot share extents (here, or between these
/// two): cloning is not tried again for that source device.
fn clone_unsupported(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::EOPNOTSUPP
                | libc::EXDEV
                | libc::EINVAL
                | libc::ENOTTY
                | libc::ENOSYS
                | libc::EPERM
                | libc::EBADF
        )
    )
}

/// Clones `input` into the empty `output` (`FICLONE`).
fn ficlone(output: &File, input: &File) -> io::Result<()> {
    // SAFETY: both descriptors are open for the call (borrowed Files); FICLONE takes the
    // source descriptor as its integer argument and writes no memory of this process.
    let rc = unsafe { libc::ioctl(output.as_raw_fd(), libc::FICLONE, input.as_raw_fd()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Reads `f` from its start to its end, hashing; returns the digest and the length read.
fn hash_stream(
    sh: &Shared<'_>,
    f: &mut File,
    path: &Path,
    buf: &mut [u8],
) -> Result<([u8; 32], u64), CopyError> {
    let mut hasher = Sha256::new();
    let mut total = 0u64;
    loop {
        let n = match f.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(IoError::new("reading", path, e).into()),
        };
        hasher.update(&buf[..n]);
        total += n as u64;
        if n == buf.len() {
            if sh.stopped() {
                return Err(CopyError::Cancelled);
            }
            sh.maybe_emit(false);
        }
    }
    Ok((hasher.finalize().into(), total))
}

fn copy_file(
    sh: &Shared<'_>,
    src: &Path,
    dst: &Path,
    buf: &mut [u8],
    clone: &mut CloneState,
) -> Result<([u8; 32], Option<IndexEntry>), CopyError> {
    // O_NOFOLLOW: if the file was replaced by a link since it was listed, fail instead of
    // following it; O_NONBLOCK: if it was replaced by a FIFO, the open does not wait for a
    // writer (the check below then refuses it).
    let mut input = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NOCTTY | libc::O_NONBLOCK)
        .open(src)
        .ctx("opening", src)?;
    let before = Stat::of(&input.metadata().ctx("reading metadata of", src)?);
    if before.kind() != Kind::File {
        return Err(CopyError::Io(IoError::new(
            "copying",
            src,
            io::Error::other("no longer a regular file"),
        )));
    }
    let mut output = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dst)
        .ctx("creating", dst)?;
    if sh.enospc_armed.swap(false, Ordering::Relaxed) {
        return Err(
            IoError::new("writing", dst, io::Error::from_raw_os_error(libc::ENOSPC)).into(),
        );
    }
    let mut cloned = false;
    if before.size > 0 && clone.allowed(before.dev) {
        match ficlone(&output, &input) {
            Ok(()) => {
                clone.learn(before.dev, true);
                cloned = true;
            }
            Err(e) => {
                if clone_unsupported(&e) {
                    clone.learn(before.dev, false);
                } else {
                    tracing::debug!(path = %src.display(), error = %e, "clone failed; copying");
                }
                // A failed clone leaves the new file empty: the copy below starts from zero.
                output.set_len(0).ctx("writing", dst)?;
            }
        }
    }
    let (sha, copied) = if cloned {
        // The checksum is of what the backup holds: the clone, read back.
        output.rewind().ctx("reading", dst)?;
        let (sha, n) = hash_stream(sh, &mut output, dst, buf)?;
        sh.files_cloned.fetch_add(1, Ordering::Relaxed);
        sh.bytes_cloned.fetch_add(n, Ordering::Relaxed);
        (sha, n)
    } else {
        let mut hasher = Sha256::new();
        let mut copied = 0u64;
        loop {
            let n = match input.read(buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(IoError::new("reading", src, e).into()),
            };
            hasher.update(&buf[..n]);
            output.write_all(&buf[..n]).ctx("writing", dst)?;
            copied += n as u64;
            sh.bytes_copied.fetch_add(n as u64, Ordering::Relaxed);
            if n == buf.len() {
                if sh.stopped() {
                    return Err(CopyError::Cancelled);
                }
                sh.maybe_emit(false);
            }
        }
        sh.files_copied.fetch_add(1, Ordering::Relaxed);
        (hasher.finalize().into(), copied)
    };
    let after = Stat::of(&input.metadata().ctx("reading metadata of", src)?);
    if sh.as_root {
        let _ = std::os::unix::fs::fchown(&output, Some(before.uid), Some(before.gid));
    }
    output
        .set_permissions(fs::Permissions::from_mode(before.mode & 0o7777))
        .ctx("setting mode of", dst)?;
    let times = FileTimes::new()
        .set_accessed(system_time(before.atime.0, before.atime.1))
        .set_modified(system_time(before.mtime.0, before.mtime.1));
    output.set_times(times).ctx("setting times of", dst)?;
    drop::<File>(output);
    let stable = IndexEntry::of_source(&before, sha);
    let unchanged = stable.same_source(&after) && copied == before.size;
    Ok((sha, unchanged.then_some(stable)))
}

/// Writes `SHA256SUMS` and the index into `folder` (new files) from a copy's listing.
pub fn write_sums_and_index(folder: &Path, listing: Listing) -> Result<(), IoError> {
    let mut sums = SumsWriter::create(&folder.join(SUMS_FILE_NAME))?;
    let mut index = IndexWriter::create(&folder.join(INDEX_FILE_NAME))?;
    for f in listing {
        let f = f?;
        sums.add(&f.rel, &f.sha256)?;
        if let Some(e) = &f.index {
            index.add(&f.rel, e)?;
        }
    }
    sums.finish()?;
    index.finish()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::os::unix::fs::symlink;
    use std::os::unix::fs::MetadataExt;
    use std::process::Command;

    pub(crate) fn request(
        home: &Path,
        dest: &Path,
        items: &[&str],
        prev: Option<&Path>,
    ) -> CopyRequest {
        CopyRequest {
            home: home.to_path_buf(),
            items: items.iter().map(|s| s.to_string()).collect(),
            dest: dest.to_path_buf(),
            previous: prev.map(Path::to_path_buf),
            must_not_contain: vec![],
            workers: 2,
            slow_copy: None,
            inject_enospc: false,
        }
    }

    fn set_mtime(p: &Path, secs: i64) {
        let t = nix::sys::time::TimeSpec::new(secs, 123_456_789);
        nix::sys::stat::utimensat(
            None,
            p,
            &t,
            &t,
            nix::sys::stat::UtimensatFlags::NoFollowSymlink,
        )
        .unwrap();
    }

    /// A home with most of what a copy must handle.
    pub(crate) fn sample_home(root: &Path) -> PathBuf {
        let home = root.join("home");
        fs::create_dir_all(home.join("data/sub/empty")).unwrap();
        fs::create_dir_all(home.join("other")).unwrap();
        fs::write(home.join("app.ini"), "x=1\n").unwrap();
        fs::write(home.join("data/with space.txt"), "spaces").unwrap();
        let bin: Vec<u8> = (0..70_000u32).map(|i| (i * 7 % 256) as u8).collect();
        fs::write(home.join("data/sub/blob.bin"), &bin).unwrap();
        fs::write(home.join("data/exec.sh"), "#!/bin/sh\n").unwrap();
        fs::set_permissions(home.join("data/exec.sh"), fs::Permissions::from_mode(0o751)).unwrap();
        fs::write(home.join("data/secret"), "s").unwrap();
        fs::set_permissions(home.join("data/secret"), fs::Permissions::from_mode(0o400)).unwrap();
        fs::write(home.join("other/not-an-item"), "no").unwrap();
        fs::write(root.join("outside.txt"), "outside").unwrap();
        symlink("../../outside.txt", home.join("data/out-link")).unwrap();
        symlink(root.join("outside.txt"), home.join("data/abs-link")).unwrap();
        symlink("with space.txt", home.join("data/rel-link")).unwrap();
        symlink("does-not-exist", home.join("data/dangling")).unwrap();
        fs::write(home.join("data/back\\slash"), "b").unwrap();
        fs::write(home.join("data/new\nline"), "n").unwrap();
        set_mtime(&home.join("app.ini"), 1_000_000_000);
        set_mtime(&home.join("data/sub/blob.bin"), 1_100_000_000);
        set_mtime(&home.join("data/out-link"), 1_200_000_000);
        fs::set_permissions(
            home.join("data/sub/empty"),
            fs::Permissions::from_mode(0o750),
        )
        .unwrap();
        set_mtime(&home.join("data/sub/empty"), 1_300_000_000);
        home
    }

    fn copy(req: &CopyRequest) -> CopyOutcome {
        fs::create_dir_all(&req.dest).unwrap();
        copy_items(req, &CancelToken::new(), &|_| {}).unwrap()
    }

    #[test]
    fn copies_modes_times_links_empty_dirs_and_only_items() {
        let root = tempfile::tempdir().unwrap();
        let home = sample_home(root.path());
        let dest = root.path().join("stage");
        let out = copy(&request(&home, &dest, &["app.ini", "data/"], None));
        assert_eq!(out.stats.files, 7);
        assert_eq!(out.stats.files_copied, 7);
        assert_eq!(out.symlinks, 4);
        assert!(
            !dest.join("other").exists(),
            "files outside items are never copied"
        );
        // Modes and mtimes.
        for rel in [
            "app.ini",
            "data/exec.sh",
            "data/secret",
            "data/sub/blob.bin",
            "data/sub/empty",
        ] {
            let a = fs::symlink_metadata(home.join(rel)).unwrap();
            let b = fs::symlink_metadata(dest.join(rel)).unwrap();
            assert_eq!(a.mode(), b.mode(), "{rel}");
            assert_eq!(
                (a.mtime(), a.mtime_nsec()),
                (b.mtime(), b.mtime_nsec()),
                "{rel}"
            );
        }
        // Folders keep their times too (set after their content).
        for rel in ["data", "data/sub"] {
            let a = fs::metadata(home.join(rel)).unwrap();
            let b = fs::metadata(dest.join(rel)).unwrap();
            assert_eq!(a.mode(), b.mode(), "{rel}");
            assert_eq!(a.mtime(), b.mtime(), "{rel}");
        }
        assert!(dest.join("data/sub/empty").is_dir());
        // Links copied as links, never followed.
        let l = fs::symlink_metadata(dest.join("data/out-link")).unwrap();
        assert!(l.file_type().is_symlink());
        assert_eq!(
            fs::read_link(dest.join("data/out-link")).unwrap(),
            Path::new("../../outside.txt")
        );
        assert_eq!(l.mtime(), 1_200_000_000);
        assert!(fs::symlink_metadata(dest.join("data/abs-link"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(fs::symlink_metadata(dest.join("data/dangling"))
            .unwrap()
            .file_type()
            .is_symlink());
        // Binary content and odd names.
        assert_eq!(
            fs::read(dest.join("data/sub/blob.bin")).unwrap(),
            fs::read(home.join("data/sub/blob.bin")).unwrap()
        );
        assert_eq!(
            fs::read(dest.join("data/with space.txt")).unwrap(),
            b"spaces"
        );
        assert_eq!(fs::read(dest.join("data/new\nline")).unwrap(), b"n");
        // Checksums match sha256 of the content and the file passes the real sha256sum -c.
        write_sums_and_index(&dest, out.listing).unwrap();
        let st = Command::new("sha256sum")
            .arg("-c")
            .arg("--quiet")
            .arg(SUMS_FILE_NAME)
            .current_dir(&dest)
            .status()
            .unwrap();
        assert!(st.success());
        let sums = fs::read(dest.join(SUMS_FILE_NAME)).unwrap();
        let src = crate::engine::sums::SumsSource::open(&dest.join(SUMS_FILE_NAME), &dest).unwrap();
        assert_eq!((src.entries, src.problem_count), (7, 0));
        assert!(
            !String::from_utf8_lossy(&sums).contains("link"),
            "links are not checksummed"
        );
    }

    #[test]
    fn unchanged_files_are_linked_changed_ones_copied() {
        let root = tempfile::tempdir().unwrap();
        let home = sample_home(root.path());
        let first = root.path().join("b1");
        let out1 = copy(&request(&home, &first, &["app.ini", "data/"], None));
        write_sums_and_index(&first, out1.listing).unwrap();
        // Change one file (content and size).
        fs::write(home.join("data/with space.txt"), "changed!").unwrap();
        let second = root.path().join("b2");
        let out2 = copy(&request(
            &home,
            &second,
            &["app.ini", "data/"],
            Some(&first),
        ));
        assert_eq!(out2.stats.files_linked, 6);
        assert_eq!(out2.stats.files_copied, 1);
        let ino = |p: PathBuf| fs::metadata(p).unwrap().ino();
        assert_eq!(ino(first.join("app.ini")), ino(second.join("app.ini")));
        assert_eq!(
            ino(first.join("data/sub/blob.bin")),
            ino(second.join("data/sub/blob.bin"))
        );
        assert_ne!(
            ino(first.join("data/with space.txt")),
            ino(second.join("data/with space.txt"))
        );
        assert_eq!(
            fs::read(second.join("data/with space.txt")).unwrap(),
            b"changed!"
        );
        // Reused checksums are right.
        write_sums_and_index(&second, out2.listing).unwrap();
        let st = Command::new("sha256sum")
            .args(["-c", "--quiet", SUMS_FILE_NAME])
            .current_dir(&second)
            .status()
            .unwrap();
        assert!(st.success());
        // A slot file that was tampered with (size changed) is not linked.
        fs::write(second.join("app.ini"), "tampered, longer").unwrap();
        let third = root.path().join("b3");
        let out3 = copy(&request(
            &home,
            &third,
            &["app.ini", "data/"],
            Some(&second),
        ));
        assert_eq!(out3.stats.files_copied, 1);
        assert_eq!(fs::read(third.join("app.ini")).unwrap(), b"x=1\n");
    }

    #[test]
    fn item_problems_are_all_reported() {
        let root = tempfile::tempdir().unwrap();
        let home = sample_home(root.path());
        symlink(root.path(), home.join("linkdir")).unwrap();
        let dest = root.path().join("stage");
        fs::create_dir_all(&dest).unwrap();
        let req = request(
            &home,
            &dest,
            &[
                "app.ini",
                "missing.ini",
                "data/exec.sh/",
                "linkdir/x",
                "readme.txt",
                "../x",
            ],
            None,
        );
        match copy_items(&req, &CancelToken::new(), &|_| {}) {
            Err(CopyError::Items(p)) => {
                assert_eq!(p.len(), 5, "{p:?}");
                assert!(p.iter().any(|e| e.contains("must be a folder")), "{p:?}");
                let all = p.join("\n");
                assert!(
                    all.contains("missing.ini") && all.contains("No such file"),
                    "{all}"
                );
                assert!(all.contains("symbolic link"), "{all}");
                assert!(all.contains("collides"), "{all}");
                assert!(all.contains("plain relative"), "{all}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(fs::read_dir(&dest).unwrap().count(), 0, "nothing copied");
    }

    fn mkfifo(p: &Path) {
        nix::unistd::mkfifo(p, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    }

    /// FIFOs and sockets inside an item are never opened (a FIFO without a writer would block
    /// the copy forever): skipped and listed. One that *is* an item is an error.
    #[test]
    fn special_files_are_skipped_inside_items_and_refused_as_items() {
        let root = tempfile::tempdir().unwrap();
        let home = sample_home(root.path());
        mkfifo(&home.join("data/pipe"));
        let _sock = std::os::unix::net::UnixListener::bind(home.join("data/sub/sock")).unwrap();
        let dest = root.path().join("stage");
        let out = copy(&request(&home, &dest, &["app.ini", "data/"], None));
        let mut skipped = out.skipped.clone();
        skipped.sort();
        let want =
            [home.join("data/pipe"), home.join("data/sub/sock")].map(|p| p.display().to_string());
        assert_eq!(skipped, want);
        assert!(!exists_nofollow_t(&dest.join("data/pipe")));
        assert!(!exists_nofollow_t(&dest.join("data/sub/sock")));
        assert!(dest.join("data/sub/blob.bin").is_file());

        mkfifo(&home.join("pipe.ini"));
        let dest = root.path().join("stage2");
        fs::create_dir_all(&dest).unwrap();
        match copy_items(
            &request(&home, &dest, &["app.ini", "pipe.ini"], None),
            &CancelToken::new(),
            &|_| {},
        ) {
            Err(CopyError::Items(p)) => {
                assert_eq!(p.len(), 1, "{p:?}");
                assert!(
                    p[0].contains("pipe.ini") && p[0].contains("a FIFO"),
                    "{p:?}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    fn exists_nofollow_t(p: &Path) -> bool {
        fs::symlink_metadata(p).is_ok()
    }

    /// Runs `f` on a thread; fails the test if it does not end within 10 s (a blocked open).
    fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("{what} did not end within 10 s"))
    }

    /// A previous slot whose index, or a folder of whose items, is a FIFO or a link to
    /// /dev/zero: the copy neither blocks nor reads endlessly; it copies every file instead.
    #[test]
    fn a_special_file_in_the_previous_slot_never_blocks_the_copy() {
        let root = tempfile::tempdir().unwrap();
        let home = sample_home(root.path());
        let first = root.path().join("b1");
        let out1 = copy(&request(&home, &first, &["app.ini", "data/"], None));
        write_sums_and_index(&first, out1.listing).unwrap();
        let index = first.join(INDEX_FILE_NAME);
        let good_index = fs::read(&index).unwrap();
        for (k, plant) in ["fifo", "zero"].into_iter().enumerate() {
            fs::remove_file(&index).unwrap();
            match plant {
                "fifo" => mkfifo(&index),
                _ => symlink("/dev/zero", &index).unwrap(),
            }
            let req = request(
                &home,
                &root.path().join(format!("next{k}")),
                &["app.ini", "data/"],
                Some(&first),
            );
            let out = within(plant, move || copy(&req));
            assert_eq!(out.stats.files_linked, 0, "{plant}");
            assert_eq!(out.stats.files_copied, 7, "{plant}");
        }
        // A good index, but a folder of the previous slot became a FIFO.
        fs::remove_file(&index).unwrap();
        fs::write(&index, &good_index).unwrap();
        fs::remove_dir_all(first.join("data/sub")).unwrap();
        mkfifo(&first.join("data/sub"));
        let dest = root.path().join("next-dir");
        let req = request(&home, &dest, &["app.ini", "data/"], Some(&first));
        let out = within("a copy with a FIFO for a folder", move || copy(&req));
        assert_eq!(out.stats.files, 7);
        assert_eq!(
            fs::read(dest.join("data/sub/blob.bin")).unwrap(),
            fs::read(home.join("data/sub/blob.bin")).unwrap()
        );
    }

    #[test]
    fn cancel_and_enospc_stop_the_copy() {
        let root = tempfile::tempdir().unwrap();
        let home = sample_home(root.path());
        let dest = root.path().join("stage");
        fs::create_dir_all(&dest).unwrap();
        let token = CancelToken::new();
        token.cancel();
        let r = copy_items(&request(&home, &dest, &["data/"], None), &token, &|_| {});
        assert!(matches!(r, Err(CopyError::Cancelled)));
        let dest2 = root.path().join("stage2");
        fs::create_dir_all(&dest2).unwrap();
        let mut req = request(&home, &dest2, &["data/"], None);
        req.inject_enospc = true;
        let e = copy_items(&req, &CancelToken::new(), &|_| {}).unwrap_err();
        assert!(e.to_string().contains("No space left on device"), "{e}");
    }
}
