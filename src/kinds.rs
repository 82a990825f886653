//! The kinds of long-running job and the job holding the one-job lock: plain data that the job
//! runner (`crate::jobs`) and the modules whose work it runs (a restore's refusals name the
//! running job) share.

use serde::{Deserialize, Serialize};

/// The kind of job holding the exclusive lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    Backup,
    Restore,
    /// A restore drill: a restore into scratch folders, hashed and probed (`crate::drill`).
    Drill,
    /// An off-site copy of a set to a replication target (`crate::jobs::replication`).
    Replication,
}

impl JobKind {
    /// `backup`, `restore`, `drill` or `replication`.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Backup => "backup",
            JobKind::Restore => "restore",
            JobKind::Drill => "drill",
            JobKind::Replication => "replication",
        }
    }
}

impl std::fmt::Display for JobKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The job holding the exclusive lock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunningJob {
    pub kind: JobKind,
    /// Backup, restore, drill or replication ID.
    pub id: String,
}
