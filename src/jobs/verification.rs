//! The verification job kind: checks every folder of a backup set against its `SHA256SUMS` as
//! a job of the runner, while no backup can move the slots. What a check is belongs to
//! [`crate::sets`]; this module runs it as a job (exclusion, the runner's panic boundary,
//! record).

use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{SubsecRound, Utc};
use tokio::runtime::Handle;

use super::{BackupJobs, JobKind};
use crate::sets::verify::Progress;
use crate::sets::{BackupSet, Sets, Verification, VerificationStatus, VerifyStartError};

/// Opens the backup sets over the backup service's components and stores (the sets of a
/// backup whose commit is decided show `committing`).
pub fn open_sets(jobs: &BackupJobs) -> Result<Sets, crate::sets::SetsError> {
    let committing = jobs.clone();
    Sets::open(
        jobs.state_dir(),
        Arc::new(jobs.clone()),
        Arc::new(move || committing.committing()),
    )
}

/// Starts verifying set `id` in the background; returns the running record (already on
/// disk). Blocking (it reads the set from disk). Refused while a backup may still move slots,
/// and while another verification runs.
pub fn start(jobs: &BackupJobs, sets: &Sets, id: &str) -> Result<Verification, VerifyStartError> {
    let set = sets
        .get(id)
        .ok_or_else(|| VerifyStartError::NotFound(id.to_string()))?;
    if let Some(job) = backup_in_progress(jobs) {
        return Err(VerifyStartError::BackupRunning(job));
    }
    let (record, progress) = sets.begin_verification(&set)?;
    tracing::info!(verification = %record.id, set = %id, "verification started");
    let runner = jobs.runner();
    let job = VerificationJob {
        sets: sets.clone(),
        set,
        progress,
        rt: runner.handle().clone(),
        record: Mutex::new(record.clone()),
        events: jobs.events(),
    };
    // A verification takes no lock (see `crate::jobs::lock::EXCLUDES`).
    runner.spawn(Arc::new(job), None);
    Ok(record)
}

/// The ID of a backup that may still move slots: it holds the one-job lock and its record
/// is not final yet (once final, its commit is done; the lock is released just after).
fn backup_in_progress(jobs: &BackupJobs) -> Option<String> {
    let job = jobs.running().filter(|j| j.kind == JobKind::Backup)?;
    let still = jobs
        .get_backup(&job.id)
        .is_none_or(|r| !r.status.is_final());
    still.then_some(job.id)
}

/// A verification as a job of the runner.
struct VerificationJob {
    sets: Sets,
    set: BackupSet,
    progress: Arc<Progress>,
    /// For the checks of an agent's folders.
    rt: Handle,
    record: Mutex<Verification>,
    /// Where a failed verification is reported.
    events: crate::toolkit::events::EventSink,
}

impl VerificationJob {
    fn record(&self) -> MutexGuard<'_, Verification> {
        self.record.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl super::runner::Job for VerificationJob {
    fn id(&self) -> String {
        self.record().id.clone()
    }

    fn name(&self) -> String {
        format!("verification {}", self.record().id)
    }

    fn run(&self) {
        let folders = self
            .sets
            .verify_set(&self.set, &self.progress, Some(&self.rt));
        let mut record = self.record();
        record.status = if folders.iter().all(|f| f.ok) {
            VerificationStatus::Passed
        } else {
            VerificationStatus::Failed
        };
        record.folders = folders;
    }

    /// A panic ends the record `failed` instead of leaving it running.
    fn failed_unexpectedly(&self, _why: &str) {
        let mut record = self.record();
        record.status = VerificationStatus::Failed;
        record.error = Some("internal error: the verification stopped; see the log".into());
    }

    /// Saves the final record and shows it at once: a verification holds no lock, and its
    /// store keeps the record in memory even when the disk refuses it (logged).
    fn make_final_durable(&self) {
        let mut record = self.record().clone();
        record.finished_at = Some(Utc::now().trunc_subsecs(0));
        record.files_checked = record.folders.iter().map(|f| f.files_checked).sum();
        record.bytes_checked = record.folders.iter().map(|f| f.bytes_checked).sum();
        tracing::info!(verification = %record.id, set = %record.set_id, status = ?record.status, "verification finished");
        if let Some(e) = super::events::verification_failed(&record) {
            self.events.emit(e);
        }
        self.sets.finish_verification(record);
    }

    fn show_final(&self) {}
}
