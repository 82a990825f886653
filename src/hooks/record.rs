//! The per-process record file `<id>.json`: atomic replacement and loading at start-up.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::HookProcess;
use crate::toolkit::fsutil;

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

/// Writes `record` to `path` with the toolkit's [`fsutil::write_atomic`] (private, durable).
pub(crate) fn write_atomic(path: &Path, record: &StoredRecord) -> io::Result<()> {
    fsutil::write_atomic(path, &record_bytes(record)?).map_err(|e| e.source)
}

/// [`write_atomic`] without the final fsync of the folder ([`fsutil::write_visible`]): used
/// for the record of a hook process about to start, so that the process starts right after
/// the rename.
pub(crate) fn write_visible(path: &Path, record: &StoredRecord) -> io::Result<()> {
    fsutil::write_visible(path, &record_bytes(record)?).map_err(|e| e.source)
}

fn record_bytes(record: &StoredRecord) -> io::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(record).map_err(io::Error::other)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Every readable `*.json` record in `dir`. Unreadable ones are skipped with a warning.
pub(crate) fn load_all(dir: &Path) -> io::Result<Vec<StoredRecord>> {
    let mut out = Vec::new();
    for item in fs::read_dir(dir)? {
        let path = item?.path();
        if path.to_string_lossy().ends_with(".json.tmp") {
            // an interrupted atomic write: the record it replaced is still there
            let _ = fs::remove_file(&path);
            continue;
        }
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let parsed = fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<StoredRecord>(&b).map_err(|e| e.to_string()));
        match parsed {
            Ok(r) if path.file_stem().and_then(|s| s.to_str()) == Some(r.process.id.as_str()) => {
                out.push(r)
            }
            Ok(_) => {
                tracing::warn!(path = %path.display(), "hook record id does not match its file name; ignored")
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "unreadable hook record ignored")
            }
        }
    }
    Ok(out)
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
