//! The per-process record file `<id>.json` (kept in the toolkit's record store) and its log.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{HookProcess, HookStatus};
use crate::toolkit::record_dir::{Record, RecordDir};

/// What `<id>.json` holds: the API record plus what is needed to recognise the process
/// group after a restart.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct StoredRecord {
    #[serde(flatten)]
    pub process: HookProcess,
    /// `/proc/sys/kernel/random/boot_id` when it was started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<String>,
    /// Start time of the group leader, in clock ticks after boot (`/proc/<pid>/stat` field 22).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ticks: Option<u64>,
}

pub(crate) fn json_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.json"))
}

pub(crate) fn log_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.log"))
}

impl Record for StoredRecord {
    type Status = HookStatus;
    const TRAILING_NEWLINE: bool = true;
    fn id(&self) -> &str {
        &self.process.id
    }
    fn status(&self) -> HookStatus {
        self.process.status
    }
}

/// Writes `<dir>/<id>.json` through the record store ([`RecordDir::save`]: private, durable).
pub(crate) fn save(dir: &Path, record: &StoredRecord) -> io::Result<()> {
    RecordDir::new(dir).save(record).map_err(|e| e.source)
}

/// [`save`] without the final fsync of the folder ([`RecordDir::save_visible`]): used for the
/// record of a hook process about to start, so that the process starts right after the rename.
pub(crate) fn save_visible(dir: &Path, record: &StoredRecord) -> io::Result<()> {
    RecordDir::new(dir)
        .save_visible(record)
        .map_err(|e| e.source)
}

/// Every readable `*.json` record in `dir` (through the record store, which also removes the
/// temp files of interrupted writes). Unreadable ones are skipped with a warning.
pub(crate) fn load_all(dir: &Path) -> io::Result<Vec<StoredRecord>> {
    let loaded = RecordDir::new(dir)
        .load::<StoredRecord>()
        .map_err(|e| e.source)?;
    for u in &loaded.unreadable {
        tracing::warn!(path = %u.path.display(), error = %u.error, "unreadable hook record ignored");
    }
    Ok(loaded.index.oldest_first().cloned().collect())
}

/// Number of complete lines in a log file (0 when it is missing).
pub(crate) fn count_lines(path: &Path) -> u64 {
    let Ok(mut f) = fs::File::open(path) else {
        return 0;
    };
    let mut buf = vec![0u8; 64 * 1024];
    let mut n = 0u64;
    loop {
        match io::Read::read(&mut f, &mut buf) {
            Ok(0) => return n,
            Ok(k) => n += buf[..k].iter().filter(|&&b| b == b'\n').count() as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return n,
        }
    }
}

/// Removes a record and its log; missing files are fine.
pub(crate) fn remove_files(dir: &Path, id: &str) {
    for p in [json_path(dir, id), log_path(dir, id)] {
        if let Err(e) = fs::remove_file(&p) {
            if e.kind() != io::ErrorKind::NotFound {
                tracing::warn!(path = %p.display(), error = %e, "cannot remove old hook file");
            }
        }
    }
}
