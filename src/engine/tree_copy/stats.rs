//! The counters of a copy, added to by the walk and the workers, and the progress reports
//! made from them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Up to this many files, a progress event is sent after every file.
const EVERY_FILE_UP_TO: usize = 500;
const PROGRESS_INTERVAL: Duration = Duration::from_millis(200);

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

/// The running counts of a copy and where its progress goes.
pub(super) struct Counters<'a> {
    pub(super) files_total: AtomicU64,
    pub(super) files_copied: AtomicU64,
    pub(super) files_linked: AtomicU64,
    pub(super) files_cloned: AtomicU64,
    pub(super) bytes_copied: AtomicU64,
    pub(super) bytes_linked: AtomicU64,
    pub(super) bytes_cloned: AtomicU64,
    /// Copies made again because the file changed while it was copied.
    pub(super) recopies: AtomicU64,
    last_emit: Mutex<Instant>,
    report: &'a (dyn Fn(CopyStats) + Sync),
}

impl<'a> Counters<'a> {
    pub(super) fn new(report: &'a (dyn Fn(CopyStats) + Sync)) -> Self {
        Counters {
            files_total: AtomicU64::new(0),
            files_copied: AtomicU64::new(0),
            files_linked: AtomicU64::new(0),
            files_cloned: AtomicU64::new(0),
            bytes_copied: AtomicU64::new(0),
            bytes_linked: AtomicU64::new(0),
            bytes_cloned: AtomicU64::new(0),
            recopies: AtomicU64::new(0),
            last_emit: Mutex::new(Instant::now()),
            report,
        }
    }

    pub(super) fn stats(&self) -> CopyStats {
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
    pub(super) fn maybe_emit(&self, file_done: bool) {
        let small = self.files_total.load(Ordering::Relaxed) <= EVERY_FILE_UP_TO as u64;
        if let Ok(mut last) = self.last_emit.try_lock() {
            if (file_done && small) || last.elapsed() >= PROGRESS_INTERVAL {
                *last = Instant::now();
                (self.report)(self.stats());
            }
        }
    }
}
