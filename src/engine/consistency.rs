//! A component's consistency settings (freeze and thaw commands, the read point of its copy,
//! what a file changing during its copy does) as the engine and the stores need them. The
//! config file and the API use the same type.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::OnChange;

/// `freeze_timeout_seconds` when not set.
pub const DEFAULT_FREEZE_TIMEOUT: u64 = 60;
/// The largest `freeze_timeout_seconds`.
pub const MAX_FREEZE_TIMEOUT: u64 = 3600;

/// Where a component's copy reads from (`snapshot`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotMode {
    /// The live home (the freeze then lasts the whole copy).
    #[default]
    None,
    /// A read-only btrfs snapshot of the home, made beside it.
    Btrfs,
    /// The read-only view whose path `snapshot_command` prints on its last line.
    Command,
}

impl SnapshotMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotMode::None => "none",
            SnapshotMode::Btrfs => "btrfs",
            SnapshotMode::Command => "command",
        }
    }

    pub fn parse(s: &str) -> Option<SnapshotMode> {
        match s {
            "none" => Some(SnapshotMode::None),
            "btrfs" => Some(SnapshotMode::Btrfs),
            "command" => Some(SnapshotMode::Command),
            _ => None,
        }
    }
}

/// A component's consistency settings: the commands that freeze and thaw it, its read point,
/// and what a file changing while it is copied does. The keys of the config file and of the
/// API are the same. Commands are split into arguments like the hooks' commands (no shell
/// unless the command names one); empty means none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Consistency {
    /// Command that makes the component's files consistent and keeps them so until the thaw;
    /// empty: none.
    #[schema(example = "/opt/maestro/bin/lui-ctl freeze")]
    pub freeze_command: String,
    /// Command that lets the component write again; empty: none. Needs a `freeze_command`.
    #[schema(example = "/opt/maestro/bin/lui-ctl thaw")]
    pub thaw_command: String,
    /// Seconds after which the freeze (and each thaw or snapshot command) is killed, 1 to 3600.
    #[schema(example = 60, minimum = 1, maximum = 3600)]
    pub freeze_timeout_seconds: u64,
    /// A file that still changes after three copies: `warn` names it in the result, `fail`
    /// fails the backup (nothing rotates).
    pub on_change: OnChange,
    /// The read point of the copy: `none` (the live home), `btrfs`, or `command`.
    pub snapshot: SnapshotMode,
    /// With `snapshot = "command"`: prints the path of a read-only view of the home on its last
    /// line; empty otherwise.
    pub snapshot_command: String,
    /// With `snapshot = "command"`: releases that view; empty otherwise.
    pub snapshot_release_command: String,
}

impl Default for Consistency {
    fn default() -> Self {
        Consistency {
            freeze_command: String::new(),
            thaw_command: String::new(),
            freeze_timeout_seconds: DEFAULT_FREEZE_TIMEOUT,
            on_change: OnChange::Warn,
            snapshot: SnapshotMode::None,
            snapshot_command: String::new(),
            snapshot_release_command: String::new(),
        }
    }
}

impl Consistency {
    /// A freeze command is set.
    pub fn freezes(&self) -> bool {
        !self.freeze_command.trim().is_empty()
    }

    /// A thaw command is set.
    pub fn thaws(&self) -> bool {
        !self.thaw_command.trim().is_empty()
    }

    /// Anything to do before the copy: a freeze or a snapshot.
    pub fn has_read_point_steps(&self) -> bool {
        self.freezes() || self.snapshot != SnapshotMode::None
    }

    /// The timeout of each freeze, thaw and snapshot command.
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.freeze_timeout_seconds)
    }
}

/// What a backup did to give one component its point in time (`freeze` in the component's
/// record): the freeze, the read point, the thaw, their times and the commands' outcomes. The
/// flags `frozen` and `snapshot_held` are the journal a restart reads: whatever is still frozen
/// is thawed, whatever snapshot is still held is released.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FreezeRecord {
    /// The read point's kind: `none` (the live home), `btrfs` or `command`.
    pub snapshot_mode: SnapshotMode,
    /// The freeze command was started and no thaw has ended it yet.
    #[serde(default)]
    pub frozen: bool,
    /// A snapshot is (or is being) made and not yet released.
    #[serde(default)]
    pub snapshot_held: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freeze_started_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When the read point was taken: the snapshot made, or (live) the freeze done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_point_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thawed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Seconds from the freeze's start to the end of the thaw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freeze_seconds: Option<f64>,
    /// The read point was the live home, so the component stayed frozen during the whole copy.
    #[serde(default)]
    pub frozen_during_copy: bool,
    /// The path the copy read from when it was a snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freeze_command: Option<crate::toolkit::command::Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_command: Option<crate::toolkit::command::Outcome>,
    /// The last attempt of the thaw command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thaw_command: Option<crate::toolkit::command::Outcome>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub thaw_attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_command: Option<crate::toolkit::command::Outcome>,
    /// What went wrong in these steps, one line each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}
