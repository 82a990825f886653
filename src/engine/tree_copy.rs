//! The tree copy: puts a component's items into a staging folder, reading every file once while
//! hashing it (SHA-256), or hard-linking it from the previous backup when it is unchanged; and
//! the formats of the two files that go with it, `SHA256SUMS` and the index.
//!
//! Rules:
//! * Modes, mtimes (and atimes) are kept; owners too when running as root. Empty folders are kept.
//! * Symbolic links are copied as links and never followed, also when they point outside the
//!   home; an item whose path runs through a symbolic link is refused. Links are not listed in
//!   `SHA256SUMS` (`sha256sum -c` would follow them).
//! * Sockets, FIFOs and device nodes inside an item are never opened: they are skipped, listed
//!   in the outcome (the backup's record names each in its notes) and logged. They are not
//!   recreated: a restore must not make device nodes in a home from whatever a backup medium
//!   holds, `sha256sum -c` cannot check them, and a socket or FIFO is recreated by the program
//!   that uses it. An item that is itself such a file is an error, like a missing item.
//! * A file is unchanged when its source size, mtime, ctime, inode and device equal what the
//!   index of the previous backup (slot `backup/`) recorded; it is then hard-linked from that
//!   slot, after checking the slot's file still has the recorded size and mtime, and its
//!   checksum is reused. A file that changed while it was copied is not indexed, so the next
//!   backup copies it again.
//! * Files are spread over worker threads that take the next file from a shared counter.
//!   Memory stays flat: one 1 MiB buffer per worker, whatever the data size.
//! * The cancel token is checked before every file and between chunks of a large file.
//!
//! The index, `.backup-master-index` ([`INDEX_FILE_NAME`]), is a hidden file in each slot:
//! a header line `# backup-master index v1`, then per regular file
//! `<sha256 hex> <size> <mtime s> <mtime ns> <ctime s> <ctime ns> <inode> <dev> <path>`, where
//! size, times, inode and device are the **source** file's at copy time and the path is escaped
//! like in `SHA256SUMS`. Verification ignores it, `readme.txt` and `SHA256SUMS`.
//!
//! `SHA256SUMS` lists every regular file as `<64 hex>  <path relative to the folder>`, sorted by
//! path. A path holding a backslash, newline or carriage return is escaped the way GNU coreutils
//! (9.x) writes it: the line starts with `\` and those characters become `\\`, `\n`, `\r`.
//! Such names are therefore kept, not refused; `sha256sum -c` reads them back.

use std::collections::{HashMap, HashSet, VecDeque};
use std::ffi::OsStr;
use std::fs::{self, File, FileTimes, Metadata, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use super::fsutil::{self, IoContext, IoError};
use super::profile::item_is_reserved;
use super::CancelToken;

/// Hidden index of a slot (see the module doc).
pub const INDEX_FILE_NAME: &str = ".backup-master-index";
/// Checksums of a slot, `sha256sum -c` format.
pub const SUMS_FILE_NAME: &str = "SHA256SUMS";
const INDEX_HEADER: &str = "# backup-master index v1";
/// [`listing_limit`]: what any listing may hold, and what each listed file may add to it.
const LISTING_BASE_BYTES: u64 = 16 << 20;
const LISTING_BYTES_PER_FILE: u64 = 1 << 10;
/// The most the previous slot's index is read of: the index only saves copying, so a larger
/// one (some 1.5 million files) is ignored and every file is copied.
pub const INDEX_MAX_BYTES: u64 = 256 << 20;
const BUF_SIZE: usize = 1 << 20;
/// Up to this many files, a progress event is sent after every file.
const EVERY_FILE_UP_TO: usize = 500;
const PROGRESS_INTERVAL: Duration = Duration::from_millis(200);
/// Most files one worker takes at a time. Large: two workers adding entries to the same folder
/// contend for its lock (measured: 10% of the unchanged-backup time went to that spinning), so
/// a folder is split only when it is huge.
const CHUNK: usize = 4096;

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
    pub files_copied: u64,
    pub files_linked: u64,
    pub bytes_copied: u64,
    pub bytes_linked: u64,
}

/// One indexed file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    pub sha256: [u8; 32],
    pub size: u64,
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
    pub ino: u64,
    pub dev: u64,
}

impl IndexEntry {
    fn of_source(meta: &Metadata, sha256: [u8; 32]) -> IndexEntry {
        IndexEntry {
            sha256,
            size: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
            ino: meta.ino(),
            dev: meta.dev(),
        }
    }

    fn same_source(&self, meta: &Metadata) -> bool {
        self.size == meta.size()
            && self.mtime == (meta.mtime(), meta.mtime_nsec())
            && self.ctime == (meta.ctime(), meta.ctime_nsec())
            && self.ino == meta.ino()
            && self.dev == meta.dev()
    }
}

/// The result of a successful copy.
#[derive(Debug, Default)]
pub struct CopyOutcome {
    pub stats: CopyStats,
    /// Every regular file: path relative to the folder (raw bytes) and its SHA-256.
    pub sums: Vec<(Vec<u8>, [u8; 32])>,
    /// Index entries for the next backup (files that did not change while copied).
    pub index: Vec<(Vec<u8>, IndexEntry)>,
    pub symlinks: u64,
    pub dirs: u64,
    /// Entries skipped because they are neither file, folder nor link.
    pub skipped: Vec<String>,
}

struct FileJob {
    rel: PathBuf,
    meta: Metadata,
}

struct DirFix {
    rel: PathBuf,
    meta: Metadata,
}

/// Escapes a path the way coreutils' `sha256sum` does. Returns the escaped bytes and whether
/// anything was escaped (then the line must start with `\`).
pub fn escape_path(path: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::with_capacity(path.len());
    let mut escaped = false;
    for &b in path {
        match b {
            b'\\' => {
                out.extend_from_slice(b"\\\\");
                escaped = true;
            }
            b'\n' => {
                out.extend_from_slice(b"\\n");
                escaped = true;
            }
            b'\r' => {
                out.extend_from_slice(b"\\r");
                escaped = true;
            }
            _ => out.push(b),
        }
    }
    (out, escaped)
}

/// Reverses [`escape_path`]; `None` for an invalid escape.
pub fn unescape_path(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut it = s.iter();
    while let Some(&b) = it.next() {
        if b == b'\\' {
            match it.next()? {
                b'\\' => out.push(b'\\'),
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                _ => return None,
            }
        } else {
            out.push(b);
        }
    }
    Some(out)
}

/// The `SHA256SUMS` text for these files (sorted by path).
pub fn render_sums(sums: &[(Vec<u8>, [u8; 32])]) -> Vec<u8> {
    let mut sorted: Vec<&(Vec<u8>, [u8; 32])> = sums.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Vec::with_capacity(sums.len() * 100);
    for (path, sha) in sorted {
        let (p, escaped) = escape_path(path);
        if escaped {
            out.push(b'\\');
        }
        out.extend_from_slice(hex::encode(sha).as_bytes());
        out.extend_from_slice(b"  ");
        out.extend_from_slice(&p);
        out.push(b'\n');
    }
    out
}

/// A path (raw bytes, relative to the folder) and its SHA-256.
pub type SumEntry = (Vec<u8>, [u8; 32]);

/// A parsed `SHA256SUMS`.
#[derive(Debug, Default)]
pub struct ParsedSums {
    pub entries: Vec<SumEntry>,
    /// Malformed lines: (line number from 1, text), for a verifier to report.
    pub bad_lines: Vec<(usize, String)>,
}

/// Parses a `SHA256SUMS` file (the format [`render_sums`] writes, and plain coreutils output).
pub fn parse_sums(text: &[u8]) -> ParsedSums {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let (line, escaped) = match line.strip_prefix(b"\\") {
            Some(rest) => (rest, true),
            None => (line, false),
        };
        let parsed = (|| {
            let hex_part = line.get(..64)?;
            let sep = line.get(64..66)?;
            if sep != b"  " && sep != b" *" {
                return None;
            }
            let mut sha = [0u8; 32];
            hex::decode_to_slice(hex_part, &mut sha).ok()?;
            let path = &line[66..];
            let path = if escaped {
                unescape_path(path)?
            } else {
                path.to_vec()
            };
            Some((path, sha))
        })();
        match parsed {
            Some(p) => ok.push(p),
            None => bad.push((i + 1, String::from_utf8_lossy(line).into_owned())),
        }
    }
    ParsedSums {
        entries: ok,
        bad_lines: bad,
    }
}

/// The most `SHA256SUMS` of a folder holding `files` regular files is read of: 16 MiB, plus
/// 1 KiB per file (a line is 67 bytes plus its path, which is rarely over a few hundred). A
/// larger one is refused by name instead of being read into memory.
pub fn listing_limit(files: u64) -> u64 {
    LISTING_BASE_BYTES.saturating_add(files.saturating_mul(LISTING_BYTES_PER_FILE))
}

/// Regular files below `root` (links not followed; unreadable folders count as empty): what
/// bounds [`listing_limit`] where no walk of the folder is at hand.
pub fn count_files(root: &Path) -> u64 {
    let mut n = 0u64;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(e.path()),
                Ok(t) if t.is_file() => n += 1,
                _ => {}
            }
        }
    }
    n
}

/// The index text.
pub fn render_index(index: &[(Vec<u8>, IndexEntry)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(index.len() * 160);
    out.extend_from_slice(INDEX_HEADER.as_bytes());
    out.push(b'\n');
    for (path, e) in index {
        let line = format!(
            "{} {} {} {} {} {} {} {} ",
            hex::encode(e.sha256),
            e.size,
            e.mtime.0,
            e.mtime.1,
            e.ctime.0,
            e.ctime.1,
            e.ino,
            e.dev
        );
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(&escape_path(path).0);
        out.push(b'\n');
    }
    out
}

/// Parses an index; a bad header gives an empty index, bad lines are skipped (those files are
/// simply copied again).
pub fn parse_index(text: &[u8]) -> HashMap<Vec<u8>, IndexEntry> {
    let mut map = HashMap::new();
    let mut lines = text.split(|&b| b == b'\n');
    if lines.next() != Some(INDEX_HEADER.as_bytes()) {
        return map;
    }
    for line in lines {
        let mut parts = line.splitn(9, |&b| b == b' ');
        let parsed = (|| {
            let mut sha = [0u8; 32];
            hex::decode_to_slice(parts.next()?, &mut sha).ok()?;
            let mut num =
                || -> Option<i128> { std::str::from_utf8(parts.next()?).ok()?.parse().ok() };
            let size = u64::try_from(num()?).ok()?;
            let mtime = (i64::try_from(num()?).ok()?, i64::try_from(num()?).ok()?);
            let ctime = (i64::try_from(num()?).ok()?, i64::try_from(num()?).ok()?);
            let ino = u64::try_from(num()?).ok()?;
            let dev = u64::try_from(num()?).ok()?;
            let path = unescape_path(parts.next()?)?;
            Some((
                path,
                IndexEntry {
                    sha256: sha,
                    size,
                    mtime,
                    ctime,
                    ino,
                    dev,
                },
            ))
        })();
        if let Some((p, e)) = parsed {
            map.insert(p, e);
        }
    }
    map
}

/// The previous slot's index; empty when it is missing or unusable (not a regular file, too
/// large: see [`fsutil::read_regular`]), and then every file is copied.
fn load_index(previous: &Path) -> HashMap<Vec<u8>, IndexEntry> {
    let path = previous.join(INDEX_FILE_NAME);
    match fsutil::read_regular(&path, INDEX_MAX_BYTES) {
        Ok(bytes) => parse_index(&bytes),
        Err(e) => {
            if !e.is_not_found() {
                tracing::warn!(error = %e, "previous index unusable; copying every file");
            }
            HashMap::new()
        }
    }
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
fn apply_dir_meta(path: &Path, meta: &Metadata, as_root: bool) -> Result<(), IoError> {
    if as_root {
        let _ = std::os::unix::fs::chown(path, Some(meta.uid()), Some(meta.gid()));
    }
    fs::set_permissions(path, fs::Permissions::from_mode(meta.mode() & 0o7777))
        .ctx("setting mode of", path)?;
    let atime = nix::sys::time::TimeSpec::new(meta.atime(), meta.atime_nsec());
    let mtime = nix::sys::time::TimeSpec::new(meta.mtime(), meta.mtime_nsec());
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
/// lock and can use directory descriptors; and copying starts while the walk goes on.
#[derive(Default)]
struct Queue {
    state: Mutex<(VecDeque<Vec<FileJob>>, bool)>,
    ready: Condvar,
}

impl Queue {
    fn push(&self, chunk: Vec<FileJob>) {
        if chunk.is_empty() {
            return;
        }
        lock(&self.state).0.push_back(chunk);
        self.ready.notify_one();
    }

    fn close(&self) {
        lock(&self.state).1 = true;
        self.ready.notify_all();
    }

    /// The next run, waiting for the walk; `None` once the walk is over and all was taken.
    fn pop(&self) -> Option<Vec<FileJob>> {
        let mut st = lock(&self.state);
        loop {
            if let Some(c) = st.0.pop_front() {
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
    /// Loaded by the first worker while the walk starts.
    prev_index: OnceLock<HashMap<Vec<u8>, IndexEntry>>,
    cancel: &'a CancelToken,
    /// Set on the first error anywhere: everyone stops.
    stop: AtomicBool,
    files_total: AtomicU64,
    files_copied: AtomicU64,
    files_linked: AtomicU64,
    bytes_copied: AtomicU64,
    bytes_linked: AtomicU64,
    enospc_armed: AtomicBool,
    last_emit: Mutex<Instant>,
    progress: &'a (dyn Fn(CopyStats) + Sync),
    as_root: bool,
}

impl Shared<'_> {
    fn index(&self) -> &HashMap<Vec<u8>, IndexEntry> {
        self.prev_index.get_or_init(|| match &self.req.previous {
            Some(p) => load_index(p),
            None => HashMap::new(),
        })
    }

    fn stats(&self) -> CopyStats {
        CopyStats {
            files: self.files_total.load(Ordering::Relaxed),
            files_copied: self.files_copied.load(Ordering::Relaxed),
            files_linked: self.files_linked.load(Ordering::Relaxed),
            bytes_copied: self.bytes_copied.load(Ordering::Relaxed),
            bytes_linked: self.bytes_linked.load(Ordering::Relaxed),
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

type WorkerResult = Result<(Vec<SumEntry>, Vec<(Vec<u8>, IndexEntry)>), CopyError>;

/// Copies the items of `req` into `req.dest`. `progress` is called from the worker threads.
pub fn copy_items(
    req: &CopyRequest,
    cancel: &CancelToken,
    progress: &(dyn Fn(CopyStats) + Sync),
) -> Result<CopyOutcome, CopyError> {
    let roots = check_items(req)?;
    let shared = Shared {
        req,
        queue: Queue::default(),
        prev_index: OnceLock::new(),
        cancel,
        stop: AtomicBool::new(false),
        files_total: AtomicU64::new(0),
        files_copied: AtomicU64::new(0),
        files_linked: AtomicU64::new(0),
        bytes_copied: AtomicU64::new(0),
        bytes_linked: AtomicU64::new(0),
        enospc_armed: AtomicBool::new(req.inject_enospc),
        last_emit: Mutex::new(Instant::now()),
        progress,
        as_root: is_root(),
    };
    progress(shared.stats());
    let mut outcome = CopyOutcome::default();
    let mut dirs = Vec::new();
    let workers = req.workers.clamp(1, 16);
    let (walked, results) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers).map(|_| s.spawn(|| worker(&shared))).collect();
        // Closes the queue however the walk ends (even by a panic), so no worker waits forever.
        let closer = CloseOnDrop(&shared.queue);
        let walked = walk_items(&shared, roots, &mut dirs, &mut outcome);
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
    for r in results {
        match r {
            Ok((sums, index)) => {
                outcome.sums.extend(sums);
                outcome.index.extend(index);
            }
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
    for d in dirs.iter().rev() {
        apply_dir_meta(&req.dest.join(&d.rel), &d.meta, shared.as_root)?;
    }
    outcome.dirs = dirs.len() as u64;
    outcome.stats = shared.stats();
    outcome.index.sort_by(|a, b| a.0.cmp(&b.0));
    progress(outcome.stats);
    Ok(outcome)
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
/// the items to copy (outermost only) with their metadata.
fn check_items(req: &CopyRequest) -> Result<Vec<(PathBuf, Metadata)>, CopyError> {
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
            Ok(m) => roots.push((rel.clone(), m)),
            Err(e) => problems.push(format!("missing item {item:?} ({}): {e}", src.display())),
        }
    }
    if problems.is_empty() {
        Ok(roots)
    } else {
        Err(CopyError::Items(problems))
    }
}

/// The walk: creates the folders and links in the staging folder, hands files to the workers.
fn walk_items(
    sh: &Shared<'_>,
    roots: Vec<(PathBuf, Metadata)>,
    dirs: &mut Vec<DirFix>,
    outcome: &mut CopyOutcome,
) -> Result<(), CopyError> {
    let req = sh.req;
    let mut made_ancestors: HashSet<PathBuf> = HashSet::new();
    for (rel, meta) in roots {
        // Recreate the item's parent folders, with the source's modes and times.
        let mut anc = PathBuf::new();
        let parts: Vec<_> = rel.components().collect();
        for c in &parts[..parts.len().saturating_sub(1)] {
            anc.push(c);
            if made_ancestors.insert(anc.clone()) {
                let src = req.home.join(&anc);
                let m = fs::symlink_metadata(&src).ctx("reading metadata of", &src)?;
                mkdir(&req.dest.join(&anc))?;
                dirs.push(DirFix {
                    rel: anc.clone(),
                    meta: m,
                });
            }
        }
        walk_entry(sh, rel, meta, dirs, outcome)?;
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

fn copy_symlink(sh: &Shared<'_>, rel: &Path, meta: &Metadata) -> Result<(), IoError> {
    let src = sh.req.home.join(rel);
    let dst = sh.req.dest.join(rel);
    let target = fs::read_link(&src).ctx("reading link", &src)?;
    std::os::unix::fs::symlink(&target, &dst).ctx("creating link", &dst)?;
    if sh.as_root {
        let _ = std::os::unix::fs::lchown(&dst, Some(meta.uid()), Some(meta.gid()));
    }
    let atime = nix::sys::time::TimeSpec::new(meta.atime(), meta.atime_nsec());
    let mtime = nix::sys::time::TimeSpec::new(meta.mtime(), meta.mtime_nsec());
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

fn walk_entry(
    sh: &Shared<'_>,
    rel: PathBuf,
    meta: Metadata,
    dirs: &mut Vec<DirFix>,
    outcome: &mut CopyOutcome,
) -> Result<(), CopyError> {
    let req = sh.req;
    // Iterative pre-order walk: deep trees cannot overflow the stack.
    let mut stack = vec![(rel, meta)];
    while let Some((rel, meta)) = stack.pop() {
        let ft = meta.file_type();
        if ft.is_dir() {
            if sh.stopped() {
                return Err(CopyError::Cancelled);
            }
            let src = req.home.join(&rel);
            mkdir(&req.dest.join(&rel))?;
            let mut batch = Vec::new();
            for entry in fs::read_dir(&src).ctx("listing", &src)? {
                let entry = entry.ctx("listing", &src)?;
                let child_rel = rel.join(entry.file_name());
                // DirEntry::metadata does not follow symlinks (fstatat AT_SYMLINK_NOFOLLOW).
                let m = entry
                    .metadata()
                    .ctx("reading metadata of", &src.join(entry.file_name()))?;
                if m.is_file() {
                    batch.push(FileJob {
                        rel: child_rel,
                        meta: m,
                    });
                    if batch.len() == CHUNK {
                        sh.files_total.fetch_add(CHUNK as u64, Ordering::Relaxed);
                        sh.queue.push(std::mem::take(&mut batch));
                    }
                } else {
                    stack.push((child_rel, m));
                }
            }
            sh.files_total
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
            sh.queue.push(batch);
            dirs.push(DirFix { rel, meta });
            sh.maybe_emit(false);
        } else if ft.is_file() {
            sh.files_total.fetch_add(1, Ordering::Relaxed);
            sh.queue.push(vec![FileJob { rel, meta }]);
        } else if ft.is_symlink() {
            copy_symlink(sh, &rel, &meta)?;
            outcome.symlinks += 1;
        } else {
            let src = req.home.join(&rel);
            tracing::warn!(path = %src.display(), "skipping special file (socket, FIFO or device)");
            outcome.skipped.push(src.display().to_string());
        }
    }
    Ok(())
}

/// Directory descriptors of one folder in the previous slot and in the staging folder, for the
/// `*at` calls of the hard-link path (one path component to resolve instead of the whole path).
struct DirFds {
    prev: File,
    dest: File,
}

fn open_dir_fds(sh: &Shared<'_>, parent: &Path) -> Option<DirFds> {
    let prev = sh.req.previous.as_ref()?;
    if sh.index().is_empty() {
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

fn worker(sh: &Shared<'_>) -> WorkerResult {
    // Allocated on the first copy: a backup of unchanged files needs no buffer.
    let mut buf = Vec::new();
    let mut sums = Vec::new();
    let mut index = Vec::new();
    sh.index();
    while let Some(chunk) = sh.queue.pop() {
        let parent = chunk[0].rel.parent().unwrap_or(Path::new(""));
        let fds = open_dir_fds(sh, parent);
        for job in chunk {
            if sh.stopped() {
                return Err(CopyError::Cancelled);
            }
            if let Some(d) = sh.req.slow_copy {
                std::thread::sleep(d);
            }
            match copy_one(sh, &job, &mut buf, fds.as_ref()) {
                Ok((sha, entry)) => {
                    let rel = job.rel.into_os_string().into_vec();
                    if let Some(e) = entry {
                        index.push((rel.clone(), e));
                    }
                    sums.push((rel, sha));
                    sh.maybe_emit(true);
                }
                Err(e) => {
                    sh.stop.store(true, Ordering::Relaxed);
                    return Err(e);
                }
            }
        }
    }
    if sh.stopped() {
        return Err(CopyError::Cancelled);
    }
    Ok((sums, index))
}

/// Hard-links `name` from the previous slot's folder when it still has the recorded size and
/// mtime. False when it cannot (then the file is copied).
fn try_link(fds: &DirFds, name: &OsStr, entry: &IndexEntry) -> bool {
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

/// Copies or links one file. Returns its digest and, when it may be reused next time, its index
/// entry.
fn copy_one(
    sh: &Shared<'_>,
    job: &FileJob,
    buf: &mut Vec<u8>,
    fds: Option<&DirFds>,
) -> Result<([u8; 32], Option<IndexEntry>), CopyError> {
    let key = job.rel.as_os_str().as_bytes();
    if let (Some(fds), Some(entry), Some(name)) = (fds, sh.index().get(key), job.rel.file_name()) {
        if entry.same_source(&job.meta) && try_link(fds, name, entry) {
            sh.files_linked.fetch_add(1, Ordering::Relaxed);
            sh.bytes_linked.fetch_add(entry.size, Ordering::Relaxed);
            return Ok((entry.sha256, Some(entry.clone())));
        }
    }
    if buf.is_empty() {
        buf.resize(BUF_SIZE, 0);
    }
    let src = sh.req.home.join(&job.rel);
    let dst = sh.req.dest.join(&job.rel);
    copy_file(sh, &src, &dst, buf)
}

fn copy_file(
    sh: &Shared<'_>,
    src: &Path,
    dst: &Path,
    buf: &mut [u8],
) -> Result<([u8; 32], Option<IndexEntry>), CopyError> {
    // O_NOFOLLOW: if the file was replaced by a link since it was listed, fail instead of
    // following it; O_NONBLOCK: if it was replaced by a FIFO, the open does not wait for a
    // writer (the check below then refuses it).
    let mut input = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NOCTTY | libc::O_NONBLOCK)
        .open(src)
        .ctx("opening", src)?;
    let before = input.metadata().ctx("reading metadata of", src)?;
    if !before.is_file() {
        return Err(CopyError::Io(IoError::new(
            "copying",
            src,
            io::Error::other("no longer a regular file"),
        )));
    }
    let mut output = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dst)
        .ctx("creating", dst)?;
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
        if sh.enospc_armed.swap(false, Ordering::Relaxed) {
            return Err(
                IoError::new("writing", dst, io::Error::from_raw_os_error(libc::ENOSPC)).into(),
            );
        }
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
    let after = input.metadata().ctx("reading metadata of", src)?;
    if sh.as_root {
        let _ = std::os::unix::fs::fchown(&output, Some(before.uid()), Some(before.gid()));
    }
    output
        .set_permissions(fs::Permissions::from_mode(before.mode() & 0o7777))
        .ctx("setting mode of", dst)?;
    let times = FileTimes::new()
        .set_accessed(system_time(before.atime(), before.atime_nsec()))
        .set_modified(system_time(before.mtime(), before.mtime_nsec()));
    output.set_times(times).ctx("setting times of", dst)?;
    drop::<File>(output);
    sh.files_copied.fetch_add(1, Ordering::Relaxed);
    let sha: [u8; 32] = hasher.finalize().into();
    let stable = IndexEntry::of_source(&before, sha);
    let unchanged = stable.same_source(&after) && copied == before.size();
    Ok((sha, unchanged.then_some(stable)))
}

/// Writes `SHA256SUMS` and the index into `folder` (new files).
pub fn write_sums_and_index(folder: &Path, outcome: &CopyOutcome) -> Result<(), IoError> {
    let sums = folder.join(SUMS_FILE_NAME);
    write_plain(&sums, &render_sums(&outcome.sums))?;
    let index = folder.join(INDEX_FILE_NAME);
    write_plain(&index, &render_index(&outcome.index))
}

fn write_plain(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(path)
        .ctx("creating", path)?;
    f.write_all(bytes).ctx("writing", path)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::os::unix::fs::symlink;
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
        write_sums_and_index(&dest, &out).unwrap();
        let st = Command::new("sha256sum")
            .arg("-c")
            .arg("--quiet")
            .arg(SUMS_FILE_NAME)
            .current_dir(&dest)
            .status()
            .unwrap();
        assert!(st.success());
        let sums = fs::read(dest.join(SUMS_FILE_NAME)).unwrap();
        let parsed = parse_sums(&sums);
        assert!(parsed.bad_lines.is_empty());
        assert_eq!(parsed.entries.len(), 7);
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
        write_sums_and_index(&first, &out1).unwrap();
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
        write_sums_and_index(&second, &out2).unwrap();
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
        write_sums_and_index(&first, &out1).unwrap();
        let index = first.join(INDEX_FILE_NAME);
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
        fs::write(&index, render_index(&out1.index)).unwrap();
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

    #[test]
    fn escaping_round_trips() {
        for p in [&b"plain"[..], b"a\\b", b"new\nline", b"cr\rx", b"\\\\n"] {
            let (e, _) = escape_path(p);
            assert_eq!(unescape_path(&e).unwrap(), p);
        }
        let idx = vec![(
            b"dir/new\nline".to_vec(),
            IndexEntry {
                sha256: [7; 32],
                size: 5,
                mtime: (-3, 4),
                ctime: (5, 6),
                ino: 7,
                dev: 8,
            },
        )];
        let parsed = parse_index(&render_index(&idx));
        assert_eq!(parsed.get(&b"dir/new\nline"[..]), Some(&idx[0].1));
        assert!(parse_index(b"garbage\n").is_empty());
    }
}
