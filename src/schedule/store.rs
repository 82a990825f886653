//! The scheduler's file in `state_dir`: `schedule.json`, replaced atomically on every change.
//!
//! One file holds both the watermark (`handled_until`) and the log, so a crash can never
//! leave one updated without the other:
//!
//! ```json
//! {"version":1,"handled_until":"2026-11-26T01:00:00Z","log":[{"scheduled_for":...}, ...]}
//! ```
//!
//! `log` is oldest first and bounded to [`LOG_CAPACITY`] entries.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{ScheduleError, ScheduleLogEntry};

/// File name inside `state_dir`.
pub const STATE_FILE: &str = "schedule.json";
/// Entries kept in the schedule log (memory and file).
pub const LOG_CAPACITY: usize = 200;
const VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PersistedState {
    pub version: u32,
    /// Every scheduled instant at or before this one is done with: run, skipped, missed, or
    /// not due by design (the baseline of a first start, a schedule change, a disabled
    /// start). The catch-up check compares against it.
    pub handled_until: Timestamp,
    /// Oldest first.
    pub log: Vec<ScheduleLogEntry>,
}

impl PersistedState {
    pub fn new(handled_until: Timestamp, log: Vec<ScheduleLogEntry>) -> Self {
        Self {
            version: VERSION,
            handled_until,
            log,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Store {
    path: PathBuf,
}

impl Store {
    /// Creates `state_dir` when missing.
    pub fn open(state_dir: &Path) -> Result<Self, ScheduleError> {
        fs::create_dir_all(state_dir).map_err(|source| ScheduleError::Persist {
            path: state_dir.to_path_buf(),
            source,
        })?;
        Ok(Self {
            path: state_dir.join(STATE_FILE),
        })
    }

    /// `Ok(None)` when there is no state yet. A file that cannot be read as this version's
    /// state is moved aside to `schedule.json.corrupt` (kept for diagnosis) and treated as
    /// missing: losing the watermark only costs one catch-up decision, while refusing to
    /// start would cost every scheduled backup.
    pub fn load(&self) -> Result<Option<PersistedState>, ScheduleError> {
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(ScheduleError::Persist {
                    path: self.path.clone(),
                    source,
                })
            }
        };
        match serde_json::from_slice::<PersistedState>(&bytes) {
            Ok(state) if state.version == VERSION => Ok(Some(state)),
            other => {
                let why = match other {
                    Ok(state) => format!("unsupported version {}", state.version),
                    Err(e) => e.to_string(),
                };
                let aside = self.path.with_extension("json.corrupt");
                tracing::warn!(
                    path = %self.path.display(), aside = %aside.display(), error = %why,
                    "unreadable schedule state; moved aside, starting without it (no catch-up this time)"
                );
                if let Err(e) = fs::rename(&self.path, &aside) {
                    tracing::warn!(error = %e, "could not move the unreadable schedule state aside");
                }
                Ok(None)
            }
        }
    }

    /// Writes a temp file, fsyncs it, renames it over the state file and fsyncs the folder.
    pub fn save(&self, state: &PersistedState) -> Result<(), ScheduleError> {
        let err = |source| ScheduleError::Persist {
            path: self.path.clone(),
            source,
        };
        let bytes = serde_json::to_vec(state).map_err(|e| err(io::Error::other(e)))?;
        // 0600: the schedule log is the product's own state.
        crate::toolkit::fsutil::write_atomic(&self.path, &bytes).map_err(|e| err(e.source))
    }
}
