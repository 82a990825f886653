//! The verification job kind: checks every folder of a backup set against its `SHA256SUMS` on
//! a thread of its own, while no backup can move the slots. What a check is belongs to
//! [`crate::sets`]; this module runs it as a job (exclusion, thread, panic boundary, record).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

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
    let job = record.clone();
    let rt = Handle::try_current().ok();
    let me = sets.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("verify-{}", record.id))
        .spawn(move || run(&me, job, set, progress, rt));
    if let Err(e) = spawned {
        let mut failed = record.clone();
        failed.status = VerificationStatus::Failed;
        failed.finished_at = Some(Utc::now().trunc_subsecs(0));
        failed.error = Some(format!("could not start a thread: {e}"));
        sets.finish_verification(failed.clone());
        return Ok(failed);
    }
    tracing::info!(verification = %record.id, set = %id, "verification started");
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

/// The job body; a panic ends the record `failed` instead of leaving it running.
fn run(
    sets: &Sets,
    mut record: Verification,
    set: BackupSet,
    progress: Arc<Progress>,
    rt: Option<Handle>,
) {
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        sets.verify_set(&set, &progress, rt.as_ref())
    }));
    match result {
        Ok(folders) => {
            record.status = if folders.iter().all(|f| f.ok) {
                VerificationStatus::Passed
            } else {
                VerificationStatus::Failed
            };
            record.folders = folders;
        }
        Err(_) => {
            tracing::error!(verification = %record.id, "verification panicked");
            record.status = VerificationStatus::Failed;
            record.error = Some("internal error: the verification stopped; see the log".into());
        }
    }
    record.finished_at = Some(Utc::now().trunc_subsecs(0));
    record.files_checked = record.folders.iter().map(|f| f.files_checked).sum();
    record.bytes_checked = record.folders.iter().map(|f| f.bytes_checked).sum();
    tracing::info!(verification = %record.id, set = %record.set_id, status = ?record.status, "verification finished");
    sets.finish_verification(record);
}
