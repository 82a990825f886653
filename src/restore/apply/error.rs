//! Why applying a restore failed ([`ApplyError`]) and why a call to an agent failed
//! ([`RemoteError`]). Their texts are what the records and the API show.

use std::io;
use std::path::PathBuf;

use crate::engine::fsutil::IoError;
use crate::engine::sums::SUMS_FILE_NAME;
use crate::engine::tree_copy;
use crate::restore::record::ComponentState;
use crate::store::{StoreError, UnknownComponent};
use crate::toolkit::journal::JournalError;

/// Why a component (or the restore) could not be applied: the rollback follows. Its text is
/// what the record's errors show.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("component #{0} is not in the record")]
    NotInRecord(usize),
    /// The home side of the plan could not be computed again
    /// ([`refresh_home`](crate::restore::plan::refresh_home)).
    #[error("{name}: {}", .problems.join("; "))]
    Home { name: String, problems: Vec<String> },
    #[error("{name}: could not record the start: {source}")]
    RecordStart { name: String, source: JournalError },
    #[error("{name}: could not record the end: {source}")]
    RecordEnd { name: String, source: JournalError },
    /// A step of component `name` failed.
    #[error("{name}: {source}")]
    Step {
        name: String,
        source: Box<ApplyError>,
    },
    /// Its agent did not apply remote component `name`.
    #[error("{name}: {source}")]
    Remote { name: String, source: RemoteError },
    #[error("injected fault: restore_fail_after:{0}")]
    InjectedFailAfter(String),
    #[error("injected fault restore_plant_safety: {0}")]
    InjectedPlant(#[source] io::Error),
    #[error(
        "the safety folder {} exists already: this restore did not make it, so it stopped \
         before changing anything (move that folder away, then restore again)",
        .0.display()
    )]
    SafetyFolderExists(PathBuf),
    #[error("{0} is outside the home")]
    OutsideHome(String),
    #[error(
        "{0} is not what the undone restore moved into its safety folder (changed or replaced \
         since): nothing is copied from it"
    )]
    NotUndoSource(String),
    #[error("cannot copy {from} to {to}")]
    CopyPair { from: String, to: String },
    #[error("cannot copy {from} to {to}: names differ")]
    NamesDiffer { from: String, to: String },
    #[error("{0} appeared during the restore (something else made it): nothing is copied over it")]
    Appeared(String),
    #[error("could not record the copy: {0}")]
    RecordCopy(#[source] JournalError),
    #[error("copying into {}: {source}", .dest.display())]
    Copy {
        dest: PathBuf,
        source: tree_copy::CopyError,
    },
    #[error("{0} changed since the folder was verified")]
    Changed(String),
    #[error("{0} is not listed in {SUMS_FILE_NAME}")]
    Unlisted(String),
    #[error("{} is {what}, not a regular file", .path.display())]
    NotRegular { path: PathBuf, what: &'static str },
    /// A batch of steps could not be saved in the record.
    #[error(transparent)]
    Record(JournalError),
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("could not record the commit decision: {0}")]
    RecordDecision(#[source] JournalError),
    /// A component's stop command failed (before any change).
    #[error("{0}")]
    Lifecycle(String),
    /// A source folder that another component's apply would move aside.
    #[error("nothing was changed: {}", .0.join("; "))]
    SourceClash(Vec<String>),
}

/// Why a call to a remote component's agent failed (plan, verify, apply, renew).
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Unknown(#[from] UnknownComponent),
    #[error("cannot start a runtime to reach the agent: {0}")]
    Runtime(#[source] io::Error),
    #[error("internal error: the call to the agent stopped")]
    Stopped,
    #[error("the agent reports the component {0:?}")]
    NotApplied(ComponentState),
    #[error("the agent answered no component")]
    NoComponent,
    #[error("{0}: no link to its agent here")]
    NoLink(String),
}
