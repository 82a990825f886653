//! [`JournalError`]: why a job journal's update (the record of a running job) was not saved.

use super::fsutil::IoError;

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
