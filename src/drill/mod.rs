//! Restore drills: a backup set restored into scratch folders exactly as a real restore would
//! restore it (the same plan, the same per-profile rules, the same apply code), every restored
//! file hashed against the set's `SHA256SUMS`, the component's probe command run against the
//! copy, and the scratch removed again. This module does one component's drill and owns the
//! drill record's shape ([`record`]) and the scratch folders ([`scratch`]); running a drill as
//! a job (lock, record store, events) is `crate::jobs::drill`'s.
//!
//! # Where the copies go
//! Component `c` of drill `<ID>` is restored into `<drill_root>/<ID>/<c>` (its scratch home).
//! `<drill_root>/<ID>/` is made exclusively by the drill, with the marker file [`scratch::MARKER`]
//! naming the drill; its path and identity (device, inode) are in the drill's record before
//! anything is written into it, and it is removed only when both still prove it is the
//! drill's own ([`scratch::remove`]).
//!
//! # One component ([`run::drill_component`])
//! 1. The plan: `crate::restore::plan::plan_component` for the component with its home set to
//!    the scratch home (empty), so it copies every item of the set's folder, skips `my.ini`,
//!    handles old-style tracker `*.dat` files and adds the `lui.ini` line.
//! 2. The apply: `crate::restore::apply::local::apply_component` on an in-memory restore
//!    record (a drill is no restore: nothing is written to the restore records). It checks
//!    each copied file against `SHA256SUMS` while copying and stops at the first mismatch.
//! 3. The check ([`check`]): every file `SHA256SUMS` lists that the plan restores is hashed in
//!    the scratch home; each mismatch and each missing file is reported by its path in the
//!    set's folder. A file the plan edits (`lui.ini`) must equal the backup's file plus the
//!    one line the plan appends.
//! 4. The probe: the component's `drill_probe_command`, else its `health_command`
//!    ([`probe_command`]), with `DRILL_HOME` and `COMPONENT_HOME` (both the scratch home),
//!    `BACKUP_ID` and `COMPONENT` set, run by `crate::toolkit::command`; exit 0 passes.
//!
//! A remote component (one with an agent) is drilled on its agent's machine by the same
//! function (`crate::agent::drill`); [`remote`] turns its answer into the component's result.
//!
//! The component's RTO is the time from the drill's start until its restore was verified and
//! its probe passed.

pub mod check;
pub mod record;
pub mod remote;
pub mod run;
pub mod scratch;

pub use record::{
    ComponentDrill, ComponentDrillStatus, DrillEvent, DrillRecord, DrillStatus, DrillTrigger,
};

use std::path::PathBuf;

/// What a drill needs to know of one configured component beyond its engine spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DrillTarget {
    pub name: String,
    /// The drill root (absolute); `None` for a remote component (its agent has its own).
    pub root: Option<PathBuf>,
    /// `drill_probe_command`; empty: none.
    pub probe_command: String,
    /// The component's `health_command` (empty: none): the probe when no
    /// `drill_probe_command` is set.
    pub health_command: String,
}

/// The command a drill runs against the restored copy of `target`, if any: its
/// `drill_probe_command`, else its `health_command` (run with `COMPONENT_HOME` set to the
/// scratch home, so a health command that reads its home checks the copy).
pub fn probe_command(target: &DrillTarget) -> Option<String> {
    [&target.probe_command, &target.health_command]
        .into_iter()
        .map(|c| c.trim())
        .find(|c| !c.is_empty())
        .map(str::to_string)
}

/// Why a drill step failed below the job.
#[derive(Debug, thiserror::Error)]
pub enum DrillError {
    #[error(transparent)]
    Io(#[from] crate::toolkit::fsutil::IoError),
    /// A folder at a scratch folder's name that the drill cannot prove it made: left alone.
    #[error("{0}")]
    NotOurs(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_is_the_drill_probe_else_the_health_command_else_none() {
        let t = |probe: &str, health: &str| DrillTarget {
            name: "hub".into(),
            root: None,
            probe_command: probe.into(),
            health_command: health.into(),
        };
        assert_eq!(probe_command(&t("p", "h")).as_deref(), Some("p"));
        assert_eq!(probe_command(&t(" ", "h")).as_deref(), Some("h"));
        assert_eq!(probe_command(&t("", "")), None);
    }
}
