//! The backup engine's file work: backup IDs, profiles, the tree copy, history slots, readme
//! and report files, the backup record, folder checks, fault points. It knows nothing of HTTP,
//! of stores or of jobs; the coordinator that makes a backup set atomic over the stores and
//! its crash recovery are `crate::backup`, run as a job by `crate::jobs`.
//!
//! Files the engine puts on disk, next to each component's backup folder `<parent>/<NAME>`:
//!
//! | name | what |
//! |---|---|
//! | `<NAME>` | slot 0, the newest successful backup |
//! | `<NAME>1` .. `<NAME><keep>` | older slots (Maestro admin manual, table 11-1) |
//! | `<NAME>.staging-<ID>` | a backup being prepared; renamed to `<NAME>` on commit |
//! | `<NAME>.staging-<ID>.*` | short-lived helpers of one backup (the next `.failed`, the old one) |
//! | `<NAME>.trash-<ID>-<k>` | a slot being deleted (renamed first, so a half-deleted slot never looks like one) |
//! | `<NAME>.failed` | only `readme.txt` of the newest failed attempt; never a slot |
//!
//! Inside a slot: the component's items, `readme.txt`, `SHA256SUMS` and the hidden index
//! `.backup-master-index` (see [`index::INDEX_FILE_NAME`]). Verification ignores these three.

pub mod backup_id;
pub mod consistency;
pub mod digest;
pub mod faults;
pub mod folder_check;
pub mod index;
pub mod lifecycle;
pub mod participation;
pub mod profile;
pub mod readme;
pub mod record;
pub mod report;
pub mod runs;
pub mod slots;
pub mod snapshot;
pub mod sums;
pub mod tree_copy;
pub mod walk;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The toolkit's file helpers, where the engine's files have always found them.
pub use crate::toolkit::fsutil;
pub use profile::Profile;

/// One component of the application, as the engine needs it. Built by the config layer, which
/// has already validated every field.
#[derive(Clone, Debug)]
pub struct ComponentSpec {
    /// `[a-z0-9_-]{1,32}`.
    pub name: String,
    pub profile: Profile,
    /// Absolute path of the component's home.
    pub home: PathBuf,
    /// Absolute path of the backup folder (slot 0), e.g. `/srv/lui/backup`.
    pub backup_folder: PathBuf,
    /// Previous backups kept (`backup1` .. `backup<keep>`), 0..=100.
    pub keep: u32,
    /// Items relative to home; a trailing `/` means the item must be a folder.
    pub items: Vec<String>,
    /// Freeze and thaw commands, the read point's kind, and what a file that keeps changing
    /// while it is copied does to the backup.
    pub consistency: consistency::Consistency,
    /// Where the copy reads the items from when it is not the home: the snapshot a backup took
    /// as its read point (set by the backup for its own run, never configured).
    pub read_point: Option<PathBuf>,
}

/// What a file that still changes after the copy's retries does to a backup (`on_change`).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OnChange {
    /// The backup succeeds; the files are named as changed during the backup.
    #[default]
    Warn,
    /// The component's prepare fails, so the backup fails and nothing rotates.
    Fail,
}

impl OnChange {
    pub fn as_str(self) -> &'static str {
        match self {
            OnChange::Warn => "warn",
            OnChange::Fail => "fail",
        }
    }

    pub fn parse(s: &str) -> Option<OnChange> {
        match s {
            "warn" => Some(OnChange::Warn),
            "fail" => Some(OnChange::Fail),
            _ => None,
        }
    }
}

impl ComponentSpec {
    /// A component served by an agent on another machine (`agent` in the config): it has no
    /// home here (`home` is empty) and its `backup_folder` is as configured, relative to the
    /// home on the agent's machine. Only its store ([`crate::store::remote`]) touches it.
    pub fn is_remote(&self) -> bool {
        self.home.as_os_str().is_empty()
    }
}

/// A cancellation flag shared between the job runner and the code doing the work. Checked
/// between files (and between chunks of a large file).
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Makes an error message fit on one line (readme.txt and the report hold one error per line).
pub fn single_line(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for c in message.chars() {
        if c == '\n' || c == '\r' {
            out.push(' ');
        } else if c.is_control() && c != '\t' {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}
