//! Verification job records, `<state_dir>/verifications/<verification id>.json`.
//!
//! A record is written atomically when the job starts (before the API answers 202) and again
//! when it ends. States: `running` → `passed` (every folder matches its `SHA256SUMS`) |
//! `failed` (something changed, missing, unlisted or unreadable, or the job itself failed).
//! A record found `running` when the store opens (the master stopped meanwhile) becomes
//! `interrupted`. All but `running` are final. Progress counters of the running job live in
//! memory and are shown on its record.
//!
//! IDs are `<UTC start, YYYYMMDDTHHMMSSZ>-<4-digit sequence>`: unique, sortable in start order
//! and valid in URLs. At most [`KEEP_PER_SET`] finished records are kept per set; older ones
//! are deleted when a newer one finishes.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{SubsecRound, Utc};

use super::verify::Progress;
use super::{BackupSet, SetsError, Verification, VerificationStatus, VerificationSummary};
use crate::engine::fsutil::IoError;
use crate::toolkit::job_id::{self, IdIssuer};
use crate::toolkit::record_dir::{Record, RecordDir, RecordIndex};

/// Finished records kept per set.
pub const KEEP_PER_SET: usize = 20;
pub const VERIFICATIONS_DIR: &str = "verifications";

struct Running {
    id: String,
    progress: Arc<Progress>,
}

struct State {
    records: RecordIndex<Verification>,
    running: Option<Running>,
    /// Issues IDs after the highest one issued or found on disk (records pruned from memory
    /// must not have their IDs issued again).
    ids: IdIssuer,
}

pub(crate) struct VerificationStore {
    dir: RecordDir,
    state: Mutex<State>,
}

/// Why a verification could not start.
pub(crate) enum BeginError {
    /// Another verification runs: its ID.
    Busy(String),
    Io(IoError),
}

impl Record for Verification {
    type Status = VerificationStatus;
    fn id(&self) -> &str {
        &self.id
    }
    fn status(&self) -> VerificationStatus {
        self.status
    }
    fn belongs_in(&self, stem: &str) -> bool {
        self.id == stem && super::acceptable_id(&self.id)
    }
}

impl VerificationStore {
    pub fn open(state_dir: &Path) -> Result<VerificationStore, SetsError> {
        let dir = RecordDir::create(state_dir.join(VERIFICATIONS_DIR))?;
        let mut loaded = dir.load::<Verification>()?;
        for u in &loaded.unreadable {
            tracing::warn!(file = %u.path.display(), error = %u.error, "skipping an unreadable verification record");
        }
        // The restart rule of this kind: a verification still running is `interrupted`.
        let running: Vec<String> = loaded
            .index
            .oldest_first()
            .filter(|r| r.status == VerificationStatus::Running)
            .map(|r| r.id.clone())
            .collect();
        for id in running {
            let Some(r) = loaded.index.get_mut(&id) else {
                continue;
            };
            r.status = VerificationStatus::Interrupted;
            r.finished_at = Some(Utc::now().trunc_subsecs(0));
            r.error = Some("the master stopped while this verification ran".into());
            dir.save(&*r)?;
        }
        let ids = IdIssuer::new(job_id::VERIFICATION, loaded.index.last_id());
        Ok(VerificationStore {
            dir,
            state: Mutex::new(State {
                records: loaded.index,
                running: None,
                ids,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a new running verification of `set` (durably) and marks it the running one.
    pub fn begin(&self, set: &BackupSet) -> Result<(Verification, Arc<Progress>), BeginError> {
        let mut st = self.lock();
        if let Some(r) = &st.running {
            return Err(BeginError::Busy(r.id.clone()));
        }
        let now = Utc::now().trunc_subsecs(0);
        let id = st.ids.issue(now);
        let record = Verification {
            id,
            set_id: set.id.clone(),
            status: VerificationStatus::Running,
            started_at: now,
            finished_at: None,
            files_checked: 0,
            bytes_checked: 0,
            missing_components: set.missing.clone(),
            folders: Vec::new(),
            error: None,
        };
        self.dir.save(&record).map_err(BeginError::Io)?;
        let progress = Arc::new(Progress::default());
        st.records.insert(record.clone());
        st.running = Some(Running {
            id: record.id.clone(),
            progress: progress.clone(),
        });
        Ok((record, progress))
    }

    /// Stores the final record (in memory even if the disk refuses it) and prunes old ones.
    pub fn finish(&self, record: Verification) {
        if let Err(e) = self.dir.save(&record) {
            tracing::error!(verification = %record.id, error = %e, "could not write the verification record");
        }
        let mut st = self.lock();
        if st.running.as_ref().is_some_and(|r| r.id == record.id) {
            st.running = None;
        }
        let set_id = record.set_id.clone();
        st.records.insert(record);
        let finished: Vec<String> = st
            .records
            .newest_first()
            .filter(|r| r.set_id == set_id && r.status != VerificationStatus::Running)
            .map(|r| r.id.clone())
            .collect();
        for old in finished.into_iter().skip(KEEP_PER_SET) {
            st.records.remove(&old);
            if let Err(e) = self.dir.remove(&old) {
                tracing::warn!(error = %e, "could not remove an old verification record");
            }
        }
    }

    fn with_progress(&self, st: &State, mut r: Verification) -> Verification {
        if let Some(run) = st.running.as_ref().filter(|run| run.id == r.id) {
            r.files_checked = run.progress.files.load(Ordering::Relaxed);
            r.bytes_checked = run.progress.bytes.load(Ordering::Relaxed);
        }
        r
    }

    pub fn get(&self, id: &str) -> Option<Verification> {
        let st = self.lock();
        let r = st.records.get(id)?.clone();
        Some(self.with_progress(&st, r))
    }

    /// The verifications of one set, newest first.
    pub fn for_set(&self, set_id: &str) -> Vec<Verification> {
        let st = self.lock();
        st.records
            .newest_first()
            .filter(|r| r.set_id == set_id)
            .map(|r| self.with_progress(&st, r.clone()))
            .collect()
    }

    /// The newest `passed`/`failed` verification of each set.
    pub fn last_finished(&self) -> BTreeMap<String, VerificationSummary> {
        let st = self.lock();
        let mut out = BTreeMap::new();
        for r in st.records.newest_first() {
            if matches!(
                r.status,
                VerificationStatus::Passed | VerificationStatus::Failed
            ) && !out.contains_key(&r.set_id)
            {
                out.insert(r.set_id.clone(), VerificationSummary::of(r));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(stamp: &str) -> chrono::DateTime<Utc> {
        chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ")
            .unwrap()
            .and_utc()
    }

    #[test]
    fn ids_always_increase() {
        let mut ids = IdIssuer::new(job_id::VERIFICATION, None);
        assert_eq!(ids.issue(at("20261126T020000Z")), "20261126T020000Z-0001");
        let same = ids.issue(at("20261126T020000Z"));
        assert_eq!(same, "20261126T020000Z-0002");
        let later = ids.issue(at("20261126T020001Z"));
        assert_eq!(later, "20261126T020001Z-0001");
        // The clock went back: still after the last one.
        let back = ids.issue(at("20261126T015959Z"));
        assert_eq!(back, "20261126T020001Z-0002");
        assert!(back > later && later > same);
    }
}
