//! The journals of job records: the critical fields every kind's journal guards ([`Critical`]:
//! those others act on, readers, the job lock, recovery, shown only once they are durable, and
//! a job's end only after its lock is released, see `crate::jobs::runner`), and the backup
//! kind's journal ([`BackupJournal`]; the restore kind's is in `crate::jobs::restore`).

use chrono::{DateTime, Utc};

use super::*;
use crate::engine::record::{BackupRecord, BackupStatus};
use crate::restore::{RestoreRecord, RestoreStatus};
use crate::toolkit::journal::{Journal, JournalError};

/// The critical fields of a job record whose status is `S`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Critical<S> {
    pub status: S,
    pub finished_at: Option<DateTime<Utc>>,
    pub commit_decided: bool,
}

/// A job record with [`Critical`] fields.
pub trait WithCritical {
    type Status: Copy + PartialEq;
    fn critical(&self) -> Critical<Self::Status>;
    fn set_critical(&mut self, c: Critical<Self::Status>);
}

impl<S: Copy> Critical<S> {
    pub fn of<R: WithCritical<Status = S>>(r: &R) -> Critical<S> {
        r.critical()
    }

    /// Writes these values into `r`.
    pub fn put<R: WithCritical<Status = S>>(self, r: &mut R) {
        r.set_critical(self)
    }
}

macro_rules! with_critical {
    ($record:ty, $status:ty) => {
        impl WithCritical for $record {
            type Status = $status;
            fn critical(&self) -> Critical<$status> {
                Critical {
                    status: self.status,
                    finished_at: self.finished_at,
                    commit_decided: self.commit_decided,
                }
            }
            fn set_critical(&mut self, c: Critical<$status>) {
                self.status = c.status;
                self.finished_at = c.finished_at;
                self.commit_decided = c.commit_decided;
            }
        }
    };
}

with_critical!(BackupRecord, BackupStatus);
with_critical!(RestoreRecord, RestoreStatus);

type BackupCritical = Critical<BackupStatus>;

/// The fault injected (tests) into the save that takes a job of `kind` (`backup`, `restore`)
/// from `was` to `now`: `fail_save_once:<kind>_decision` for the save of its commit decision,
/// `<kind>_final` for the save of its end; reported as a failed write of the record at `path`.
pub(super) fn injected_save_fault<S: Copy + PartialEq + StatusFinal>(
    faults: &Faults,
    kind: &str,
    was: Critical<S>,
    now: Critical<S>,
    path: PathBuf,
) -> Option<IoError> {
    let save = if now.commit_decided && !was.commit_decided {
        "decision"
    } else if now.status.is_final() && !was.status.is_final() {
        "final"
    } else {
        return None;
    };
    let e = faults.save_error(&format!("{kind}_{save}"))?;
    Some(IoError::new("writing", path, e))
}

/// A job status that may be final.
pub(super) trait StatusFinal {
    fn is_final(&self) -> bool;
}

impl StatusFinal for BackupStatus {
    fn is_final(&self) -> bool {
        BackupStatus::is_final(*self)
    }
}

impl StatusFinal for RestoreStatus {
    fn is_final(&self) -> bool {
        RestoreStatus::is_final(*self)
    }
}

/// A backup job's own values of the [`BackupCritical`] fields, while readers see others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Own {
    c: BackupCritical,
    /// On disk already: a final record waiting for [`BackupJournal::show_final`].
    durable: bool,
}

/// The journal of one backup: the record in `state` (what readers see), saved at every update.
///
/// A backup's end and its commit decision count only once they are on disk: until a save that
/// changes `status`, `finished_at` or `commit_decided` succeeds, readers keep seeing the values
/// last saved, while the job works with its own (`State::own`, shared by every journal of the
/// backup, so a late note never saves stale values). A final record, once durable, is shown
/// only by [`BackupJournal::show_final`], which the runner calls after it released the job lock.
/// A decision whose save failed is withdrawn durably before `update` returns the error: the
/// failed save may have reached the disk all the same (a folder sync failing after the
/// rename), and an abort over a decision on disk would be rolled forward by recovery.
pub(super) struct BackupJournal {
    inner: Arc<Inner>,
    id: String,
}

impl BackupJournal {
    pub(super) fn new(inner: Arc<Inner>, id: &str) -> BackupJournal {
        BackupJournal {
            inner,
            id: id.to_string(),
        }
    }

    fn save(&self, rec: &BackupRecord, was: BackupCritical) -> Result<(), IoError> {
        let path = record::record_path(&self.inner.state_dir, &self.id);
        let now = Critical::of(rec);
        if let Some(e) = injected_save_fault(&self.inner.faults, "backup", was, now, path) {
            return Err(e);
        }
        record::save(&self.inner.state_dir, rec)
    }

    /// After a save of `c`: shows it, except a new end, which waits for
    /// [`BackupJournal::show_final`].
    fn saved(&self, c: BackupCritical) {
        let mut st = lock(&self.inner.state);
        let State { records, own, .. } = &mut *st;
        let Some(rec) = records.get_mut(&self.id) else {
            return;
        };
        if c.status.is_final() && !rec.status.is_final() {
            own.insert(self.id.clone(), Own { c, durable: true });
        } else {
            c.put(rec);
            own.remove(&self.id);
        }
    }

    /// Returns once the job's values are on disk (saved again until they are).
    pub(super) fn make_durable(&self) {
        let pending = lock(&self.inner.state)
            .own
            .get(&self.id)
            .is_some_and(|o| !o.durable);
        if pending {
            coordinator::persist_durably(self, "the end of the backup", &mut |_| {});
        }
    }

    /// Shows a durable final record to readers (the runner's last step, after the lock was
    /// released).
    pub(super) fn show_final(&self) {
        let mut st = lock(&self.inner.state);
        let State { records, own, .. } = &mut *st;
        if let (Some(o), Some(rec)) = (own.get(&self.id).copied(), records.get_mut(&self.id)) {
            if o.durable {
                o.c.put(rec);
                own.remove(&self.id);
            }
        }
    }
}

impl Journal<BackupRecord> for BackupJournal {
    fn update(&self, f: &mut dyn FnMut(&mut BackupRecord)) -> Result<(), JournalError> {
        let _w = lock(&self.inner.write_lock);
        let (snapshot, shown, on_disk) = {
            let mut st = lock(&self.inner.state);
            let State { records, live, own } = &mut *st;
            let rec = records
                .get_mut(&self.id)
                .ok_or_else(|| JournalError::NoRecord(format!("backup {}", self.id)))?;
            let shown = Critical::of(rec);
            let mine = own.get(&self.id).copied();
            let on_disk = match mine {
                Some(o) if o.durable => o.c,
                _ => shown,
            };
            if let Some(o) = mine {
                o.c.put(rec);
            }
            let before: Vec<ComponentStatus> = rec.components.iter().map(|c| c.status).collect();
            f(rec);
            if let Some(l) = live.get(&self.id) {
                for (i, c) in rec.components.iter().enumerate() {
                    if before.get(i) != Some(&c.status) {
                        // No subscriber is fine: events are for whoever follows.
                        let _ = l.tx.send(BackupEvent::progress_of(c));
                    }
                }
            }
            let snapshot = rec.clone();
            shown.put(rec);
            (snapshot, shown, on_disk)
        };
        let working = Critical::of(&snapshot);
        match self.save(&snapshot, on_disk) {
            Ok(()) => {
                self.saved(working);
                Ok(())
            }
            Err(e) => {
                if working.commit_decided && !on_disk.commit_decided {
                    let mut withdrawn = snapshot;
                    withdrawn.commit_decided = false;
                    withdrawn.notes.push(format!(
                        "the commit decision could not be recorded ({e}); it was withdrawn"
                    ));
                    let mut backoff =
                        Backoff::new(Duration::from_millis(500), Duration::from_secs(15));
                    while let Err(e2) = self.save(&withdrawn, on_disk) {
                        self.set_problem(Some(crate::engine::single_line(&format!(
                            "backup {}: withdrawing a commit decision that could not be recorded \
                             failed too ({e2}); retrying; until then the backup stays running and \
                             holds the job lock",
                            self.id
                        ))));
                        backoff.sleep_blocking();
                    }
                    self.set_problem(None);
                    self.saved(Critical::of(&withdrawn));
                    // The note is in memory too.
                    if let Some(r) = lock(&self.inner.state).records.get_mut(&self.id) {
                        r.notes = withdrawn.notes.clone();
                    }
                } else {
                    let mut st = lock(&self.inner.state);
                    if working == shown {
                        st.own.remove(&self.id);
                    } else {
                        let durable = working == on_disk && on_disk != shown;
                        st.own.insert(
                            self.id.clone(),
                            Own {
                                c: working,
                                durable,
                            },
                        );
                    }
                }
                Err(e.into())
            }
        }
    }

    fn snapshot(&self) -> BackupRecord {
        let st = lock(&self.inner.state);
        match st.records.get(&self.id) {
            Some(r) => {
                let mut r = r.clone();
                if let Some(o) = st.own.get(&self.id) {
                    o.c.put(&mut r);
                }
                r
            }
            None => BackupRecord {
                id: self.id.clone(),
                status: BackupStatus::Failed,
                trigger: Trigger::Manual,
                scheduled_for: None,
                started_at: now(),
                finished_at: None,
                components: vec![],
                errors: vec!["the record was lost".into()],
                notes: vec![],
                commit_decided: false,
                report: String::new(),
                kept_stagings: vec![],
                hook_pending: false,
                heuristic: vec![],
            },
        }
    }
}

impl CoordinatorJournal for BackupJournal {
    fn progress(&self, component: &str, u: ProgressUpdate) {
        let mut st = lock(&self.inner.state);
        let State { records, live, .. } = &mut *st;
        let Some(c) = records
            .get_mut(&self.id)
            .and_then(|r| r.component_mut(component))
        else {
            return;
        };
        if c.status != ComponentStatus::Preparing {
            return;
        }
        c.files = u.files;
        c.files_copied = u.files_copied;
        c.files_linked = u.files_linked;
        c.files_cloned = u.files_cloned;
        c.bytes_copied = u.bytes_copied;
        c.bytes_linked = u.bytes_linked;
        c.bytes_cloned = u.bytes_cloned;
        if let Some(l) = live.get(&self.id) {
            // No subscriber is fine: events are for whoever follows.
            let _ = l.tx.send(BackupEvent::progress_of(c));
        }
    }

    fn flush(&self) -> Result<(), JournalError> {
        self.update(&mut |_| {})
    }

    fn set_problem(&self, problem: Option<String>) {
        set_problem(&self.inner, &format!("backup {}", self.id), problem);
    }
}
