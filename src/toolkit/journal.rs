//! The journal of a running job: [`Journal`], where a job keeps its record (every change saved
//! before it counts), and [`JournalError`], why a change was not saved. Every job kind's journal
//! implements it; a kind that needs more (a backup's progress) extends it.

use super::fsutil::IoError;
use super::record_dir::Record;

/// Where a running job keeps its record `R`: every `update` is saved (atomically, durably)
/// before it returns.
pub trait Journal<R: Record>: Send + Sync {
    /// Applies `f` to the record and saves it.
    fn update(&self, f: &mut dyn FnMut(&mut R)) -> Result<(), JournalError>;
    /// The record as the job sees it (also changes whose save failed).
    fn snapshot(&self) -> R;
    /// [`Journal::update`] for a change the job goes on without when it cannot be saved (a
    /// note, an error also reported elsewhere, a step, an end): a failed save is logged,
    /// naming `what`. The change is not lost: the journal keeps it for the next save.
    fn update_or_log(&self, what: &str, f: &mut dyn FnMut(&mut R)) {
        if let Err(e) = self.update(f) {
            tracing::warn!(job = %self.snapshot().id(), error = %e, "could not record {what}; going on");
        }
    }
    /// The job reached a named fault point (`crate::engine::faults::STEPS`); a journal that
    /// injects faults (tests) runs its fault there. Nothing by default.
    fn step_reached(&self, _step: &str) {}
}

/// Why a job journal could not save its record.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Writing the record failed (or a fault was injected there).
    #[error(transparent)]
    Io(#[from] IoError),
    /// The job has no record to update (`what`, e.g. `backup <ID>`): never expected, a journal
    /// is made for a recorded job.
    #[error("{0} has no record")]
    NoRecord(String),
}
