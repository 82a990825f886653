//! The drill record (`<state_dir>/jobs/drills/<ID>.json`) and the events a drill streams.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::scratch::ScratchFolder;
use crate::toolkit::command::Outcome;

/// A drill's state: `running`, then `passed`, `failed`, `cancelled` (an operator stopped it)
/// or (the master died while it ran) `interrupted`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DrillStatus {
    Running,
    Passed,
    Failed,
    Cancelled,
    Interrupted,
}

impl DrillStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DrillStatus::Running => "running",
            DrillStatus::Passed => "passed",
            DrillStatus::Failed => "failed",
            DrillStatus::Cancelled => "cancelled",
            DrillStatus::Interrupted => "interrupted",
        }
    }

    pub fn is_final(self) -> bool {
        self != DrillStatus::Running
    }
}

/// Who started a drill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DrillTrigger {
    /// `POST /drills`.
    Manual,
    /// The `[drill]` schedule.
    Schedule,
}

/// One component's state in a drill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComponentDrillStatus {
    Pending,
    Restoring,
    Verifying,
    Probing,
    Passed,
    Failed,
    /// Not drilled (the drill was cancelled before it); `reason` says why.
    Skipped,
}

/// What a drill found for one component.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ComponentDrill {
    #[schema(example = "lui")]
    pub name: String,
    pub status: ComponentDrillStatus,
    /// Why it was skipped, or why it failed as a whole (one line each in `errors`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The set's folder restored from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "/srv/maestro/lui/backup")]
    pub source_folder: Option<String>,
    /// The scratch home restored into: `<drill_root>/<drill ID>/<component>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "/srv/maestro/lui/drills/D20261201T040000Z/lui")]
    pub scratch_home: Option<String>,
    /// Files and bytes the restore copied.
    pub files: u64,
    pub bytes: u64,
    /// Files hashed against `SHA256SUMS` after the restore.
    pub files_checked: u64,
    /// Paths (relative to the set's folder) whose restored copy does not match its line in
    /// `SHA256SUMS`.
    #[serde(default)]
    pub mismatched: Vec<String>,
    /// Paths (relative to the set's folder) listed in `SHA256SUMS` that the restore should
    /// have put in place and that are not there.
    #[serde(default)]
    pub missing: Vec<String>,
    /// What went wrong otherwise (the plan, the apply, the scratch), one line each.
    #[serde(default)]
    pub errors: Vec<String>,
    /// The probe command's outcome (exit code, output); absent when none is configured or
    /// the restore already failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<Outcome>,
    /// Seconds from the drill's start until this component's restore was verified and its
    /// probe passed; absent unless it passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 12.5)]
    pub rto_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
}

impl ComponentDrill {
    pub fn new(name: &str) -> ComponentDrill {
        ComponentDrill {
            name: name.to_string(),
            status: ComponentDrillStatus::Pending,
            reason: None,
            source_folder: None,
            scratch_home: None,
            files: 0,
            bytes: 0,
            files_checked: 0,
            mismatched: vec![],
            missing: vec![],
            errors: vec![],
            probe: None,
            rto_seconds: None,
            started_at: None,
            finished_at: None,
        }
    }
}

/// A restore drill.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DrillRecord {
    #[schema(example = "D20261201T040000Z")]
    pub id: String,
    /// The backup set drilled.
    #[schema(example = "20261201T020000Z")]
    pub backup_id: String,
    pub status: DrillStatus,
    pub trigger: DrillTrigger,
    /// For a scheduled drill: the instant it was scheduled for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_for: Option<DateTime<Utc>>,
    /// The scratch copies are kept at the end (`keep_scratch`).
    pub keep_scratch: bool,
    pub started_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// When the set's backup started (its earliest folder's start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_started_at: Option<DateTime<Utc>>,
    /// The RPO the drill proved: seconds from the set's start to the drill's start (the age
    /// of the data a restore now would bring back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 7200.0)]
    pub rpo_seconds: Option<f64>,
    /// The RTO the drill measured: seconds from its start until every drilled component was
    /// verified; absent unless it passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 31.2)]
    pub rto_seconds: Option<f64>,
    /// Per component, in config order.
    pub components: Vec<ComponentDrill>,
    /// The scratch folders `<drill_root>/<ID>` the drill made (or is about to make), and
    /// whether each is removed.
    #[serde(default)]
    pub scratch: Vec<ScratchFolder>,
    /// What went wrong with the drill as a whole.
    #[serde(default)]
    pub errors: Vec<String>,
    #[serde(default)]
    pub notes: Vec<String>,
}

impl crate::toolkit::record_dir::Record for DrillRecord {
    type Status = DrillStatus;
    fn id(&self) -> &str {
        &self.id
    }
    fn status(&self) -> DrillStatus {
        self.status
    }
}

/// One event of `/drills/{id}/events`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DrillEvent {
    /// A component's state changed (its whole result so far).
    Component { component: Box<ComponentDrill> },
    /// One line of a probe's output.
    ProbeOutput {
        #[schema(example = "lui")]
        component: String,
        #[schema(example = "RestoreFromBackup line found")]
        line: String,
    },
    /// The drill ended; the last event.
    End { status: DrillStatus },
}
