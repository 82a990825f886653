//! A component's lifecycle settings (the commands that stop, start and health-check it around a
//! restore) and what a restore did with them (the per-component lifecycle record, which is also
//! the journal a restart reads). The config file and the API use the same settings type.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::toolkit::command::Outcome;

/// `start_timeout_seconds` when not set.
pub const DEFAULT_START_TIMEOUT: u64 = 120;
/// The largest `start_timeout_seconds`.
pub const MAX_START_TIMEOUT: u64 = 3600;

/// How a restore stops, starts and proves a component. Commands are split into arguments like
/// the hooks' commands (no shell unless the command names one), run in the component's home
/// with `COMPONENT`, `COMPONENT_HOME`, `RESTORE_ID` and `BACKUP_ID` set; empty means none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Lifecycle {
    /// Stops the component before a restore changes its home; empty: none.
    #[schema(example = "/opt/maestro/bin/lui-ctl stop")]
    pub stop_command: String,
    /// Starts it again once the restore's files are in place; empty: none.
    #[schema(example = "/opt/maestro/bin/lui-ctl start")]
    pub start_command: String,
    /// Exits 0 when the component is healthy; retried until `start_timeout_seconds`; empty:
    /// none.
    #[schema(example = "/opt/maestro/bin/lui-ctl status")]
    pub health_command: String,
    /// Seconds the component has to become healthy after its start (also the timeout of each
    /// stop and start command), 1 to 3600.
    #[schema(example = 120, minimum = 1, maximum = 3600)]
    pub start_timeout_seconds: u64,
    /// A restore after which the component does not become healthy is undone at once: every
    /// component goes back to its pre-restore state and is started again.
    pub rollback_on_unhealthy: bool,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle {
            stop_command: String::new(),
            start_command: String::new(),
            health_command: String::new(),
            start_timeout_seconds: DEFAULT_START_TIMEOUT,
            rollback_on_unhealthy: false,
        }
    }
}

impl Lifecycle {
    pub fn stops(&self) -> bool {
        !self.stop_command.trim().is_empty()
    }

    pub fn starts(&self) -> bool {
        !self.start_command.trim().is_empty()
    }

    pub fn checks_health(&self) -> bool {
        !self.health_command.trim().is_empty()
    }

    /// Any command is set.
    pub fn is_set(&self) -> bool {
        self.stops() || self.starts() || self.checks_health()
    }

    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.start_timeout_seconds)
    }
}

/// One of a component's lifecycle commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleStep {
    /// `stop_command`.
    Stop,
    /// `start_command`.
    Start,
    /// `health_command`.
    Health,
}

impl Lifecycle {
    /// The command of `step` (empty: none).
    pub fn command(&self, step: LifecycleStep) -> &str {
        match step {
            LifecycleStep::Stop => &self.stop_command,
            LifecycleStep::Start => &self.start_command,
            LifecycleStep::Health => &self.health_command,
        }
    }
}

/// Where a component stands in a restore's stop / start / health sequence. The states the
/// journal needs: `stopping` and `stopped` (started again after a crash), `starting` and
/// `started` (running on restored data: stopped again before a rollback).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleState {
    /// Not stopped by this restore (yet).
    #[default]
    Untouched,
    /// Its stop command was started (recorded before it ran).
    Stopping,
    /// Stopped.
    Stopped,
    /// Its stop command failed: the restore was aborted; it is not started again (it was not
    /// stopped).
    StopFailed,
    /// Its start command was started on the restored data (recorded before it ran).
    Starting,
    /// Started (or only health-checked) on the restored data; waiting for its health.
    Started,
    /// Started and healthy.
    Healthy,
    /// It did not become healthy in time (or its start command failed).
    Unhealthy,
}

/// What a restore did to stop, start and prove one component (`lifecycle` in the restore
/// record), with the settings as they were when the restore began (a restart uses these).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ComponentLifecycle {
    #[schema(example = "lui")]
    pub component: String,
    /// The working folder of the commands.
    #[schema(example = "/srv/lui")]
    pub home: String,
    pub settings: Lifecycle,
    /// For a remote component: the agent that runs its commands on its machine (`home` is a
    /// path there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "https://tracker.example:7444")]
    pub agent: Option<String>,
    pub state: LifecycleState,
    /// When its stop command ended successfully.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<DateTime<Utc>>,
    /// When its start command ended successfully (the last start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    /// When its health command first exited 0 (after the last start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy_at: Option<DateTime<Utc>>,
    /// The last run of the stop command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Outcome>,
    /// The last run of the start command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Outcome>,
    /// The last run of the health command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Outcome>,
    /// Runs of the health command after the last start.
    #[serde(default)]
    pub health_attempts: u32,
    /// It was started again after a rollback (its pre-restore data back in place).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restarted: bool,
    /// What went wrong, one line each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

impl ComponentLifecycle {
    pub fn new(component: &str, home: &str, settings: Lifecycle) -> ComponentLifecycle {
        ComponentLifecycle {
            component: component.to_string(),
            home: home.to_string(),
            settings,
            agent: None,
            state: LifecycleState::Untouched,
            stopped_at: None,
            started_at: None,
            healthy_at: None,
            stop: None,
            start: None,
            health: None,
            health_attempts: 0,
            restarted: false,
            errors: Vec::new(),
        }
    }

    /// Stopped (or perhaps stopped: a crash during its stop command) by this restore and not
    /// started since.
    pub fn is_down(&self) -> bool {
        matches!(
            self.state,
            LifecycleState::Stopping | LifecycleState::Stopped
        )
    }

    /// Started by this restore on the restored data (perhaps: a crash during its start).
    pub fn runs_restored_data(&self) -> bool {
        self.settings.starts()
            && matches!(
                self.state,
                LifecycleState::Starting
                    | LifecycleState::Started
                    | LifecycleState::Healthy
                    | LifecycleState::Unhealthy
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_what_counts_as_set() {
        let d = Lifecycle::default();
        assert!(!d.is_set());
        assert_eq!(d.start_timeout_seconds, DEFAULT_START_TIMEOUT);
        let l = Lifecycle {
            health_command: " ".into(),
            ..d.clone()
        };
        assert!(!l.is_set(), "blank is none");
        let l = Lifecycle {
            stop_command: "x".into(),
            ..d
        };
        assert!(l.stops() && !l.starts() && l.is_set());
        let mut c = ComponentLifecycle::new("a", "/h", l);
        assert!(!c.is_down() && !c.runs_restored_data());
        c.state = LifecycleState::Stopping;
        assert!(c.is_down());
        c.state = LifecycleState::Started;
        assert!(!c.is_down());
        assert!(!c.runs_restored_data(), "nothing started it");
        c.settings.start_command = "y".into();
        assert!(c.runs_restored_data());
    }
}
