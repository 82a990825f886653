//! What the journals of the job kinds share: the critical fields of a job record, those that
//! others act on (readers, the job lock, recovery), which a journal shows only once they are
//! durable, and a job's end only after its lock is released (see `crate::jobs::runner`).

use chrono::{DateTime, Utc};

use crate::engine::record::{BackupRecord, BackupStatus};
use crate::restore::{RestoreRecord, RestoreStatus};

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
