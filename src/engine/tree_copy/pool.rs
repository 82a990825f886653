//! The copy workers: the bounded queue of file runs the walk fills, and the workers that
//! take whole runs, copy their files and add each file's sum to their sorted run.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use super::file::copy_one;
use super::file::open_dir_fds;
use super::file::CloneState;
use super::listing::encode_listed;
use super::stats::Counters;
use super::{CopyError, CopyRequest, MAX_CHANGED_NAMES};
use crate::engine::index::IndexEntry;
use crate::engine::runs::RunSorter;
use crate::engine::walk::Stat;
use crate::engine::CancelToken;

/// What each worker's sort buffer holds before it writes a run.
const SORT_BUFFER_BYTES: usize = 2 << 20;

pub(super) struct FileJob {
    pub(super) rel: Vec<u8>,
    pub(super) stat: Stat,
    /// The previous backup's index entry for this path.
    pub(super) prev: Option<IndexEntry>,
}

impl FileJob {
    pub(super) fn path(&self) -> &Path {
        Path::new(std::ffi::OsStr::from_bytes(&self.rel))
    }
}

/// Work handed from the walk to the copy workers: runs of files of one folder (at most
/// [`CHUNK`]). A worker takes a whole run, so the workers rarely contend for one directory's
/// lock and can use directory descriptors; and copying starts while the walk goes on. At most
/// [`MAX_QUEUED`] runs wait: the walk never runs far ahead of the copy.
#[derive(Default)]
pub(super) struct Queue {
    state: Mutex<(std::collections::VecDeque<Vec<FileJob>>, bool)>,
    ready: Condvar,
    room: Condvar,
}

/// Most runs waiting in the queue.
const MAX_QUEUED: usize = 8;

impl Queue {
    /// Queues a run, waiting while the queue is full (unless `stopped` says to give up).
    pub(super) fn push(&self, chunk: Vec<FileJob>, stopped: &dyn Fn() -> bool) {
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

    pub(super) fn close(&self) {
        lock(&self.state).1 = true;
        self.ready.notify_all();
        self.room.notify_all();
    }

    /// The next run, waiting for the walk; `None` once the walk is over and all was taken.
    pub(super) fn pop(&self) -> Option<Vec<FileJob>> {
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

pub(super) struct CloseOnDrop<'a>(pub(super) &'a Queue);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.close();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(super) struct Shared<'a> {
    pub(super) req: &'a CopyRequest,
    pub(super) queue: Queue,
    pub(super) cancel: &'a CancelToken,
    /// Set on the first error anywhere: everyone stops.
    pub(super) stop: AtomicBool,
    pub(super) counters: Counters<'a>,
    pub(super) enospc_armed: AtomicBool,
    pub(super) as_root: bool,
    /// The previous slot was given and its index is usable (then links are tried).
    pub(super) has_index: bool,
    /// Files that still changed while copied after every retry: the first
    /// [`MAX_CHANGED_NAMES`] (relative to the home), and how many in all.
    pub(super) changed: Mutex<(Vec<String>, u64)>,
}

impl Shared<'_> {
    pub(super) fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.cancel.is_cancelled()
    }

    /// After each chunk of a file read: a full chunk (the file goes on) is where a large file
    /// stops when cancelled and reports progress.
    pub(super) fn after_chunk(&self, full: bool) -> Result<(), CopyError> {
        if full {
            if self.stopped() {
                return Err(CopyError::Cancelled);
            }
            self.counters.maybe_emit(false);
        }
        Ok(())
    }

    /// Notes a file that changed while it was copied, every retry included.
    fn note_changed(&self, job: &FileJob) {
        let mut changed = lock(&self.changed);
        changed.1 += 1;
        if changed.0.len() < MAX_CHANGED_NAMES {
            changed.0.push(job.path().display().to_string());
        }
    }

    /// The files noted as changed (sorted) and their count.
    pub(super) fn take_changed(&self) -> (Vec<String>, u64) {
        let mut changed = std::mem::take(&mut *lock(&self.changed));
        changed.0.sort();
        changed
    }

    /// Takes the one injected ENOSPC (fault injection), if still armed.
    pub(super) fn take_enospc(&self) -> bool {
        self.enospc_armed.swap(false, Ordering::Relaxed)
    }
}

pub(super) type WorkerResult = Result<RunSorter, CopyError>;

pub(super) fn worker(sh: &Shared<'_>) -> WorkerResult {
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
                Ok(done) => {
                    if done.changed {
                        sh.note_changed(&job);
                    }
                    let line = encode_listed(&done.sha, done.entry.as_ref());
                    if let Err(e) = sorter.add(&job.rel, &line) {
                        return fail(sh, e.into());
                    }
                    sh.counters.maybe_emit(true);
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
