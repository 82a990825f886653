//! A participant's standing in a two-phase commit (a component's part of a backup or a
//! restore): the decision it was told, an operator's decision by hand, and the heuristic
//! outcome the master reports. The agent's records and the master's records both use them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a participant of a two-phase commit was told to do (or an operator did by hand).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// A backup rotated (its staging folder became `backup`), or a restore kept.
    Commit,
    /// A backup's staging folder removed; no slot changed.
    Abort,
    /// A restore undone: every item put back from the safety copy.
    Rollback,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Commit => "commit",
            Decision::Abort => "abort",
            Decision::Rollback => "rollback",
        }
    }
}

/// Which kind of job a transaction of an agent belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TxnKind {
    Backup,
    Restore,
}

impl TxnKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TxnKind::Backup => "backup",
            TxnKind::Restore => "restore",
        }
    }
}

/// A decision an operator carried out on an agent's machine (`backup-master agent resolve`)
/// instead of the master: a heuristic outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OperatorDecision {
    pub decision: Decision,
    pub at: DateTime<Utc>,
}

/// Where an agent's part of a backup or restore stands with its master (two-phase commit).
/// A participant that voted yes (a backup `prepared`, a restore `applied`) never decides
/// alone: after `decision_timeout_seconds` without a word from the master it is marked in
/// doubt (an alarm) and keeps waiting for the master, or for an operator.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Participation {
    /// When the master last spoke about it (prepare, renew, commit, abort; for a restore
    /// apply, renew, commit, rollback). Written to disk with each change of state; the
    /// agent's API shows the live value.
    #[serde(default)]
    pub last_message_at: Option<DateTime<Utc>>,
    /// Set while it is in doubt: it voted yes and heard nothing from the master within the
    /// agent's `decision_timeout_seconds` (a monotonic clock, restarted when the agent
    /// starts). Cleared when the master speaks again.
    #[serde(default)]
    pub in_doubt_since: Option<DateTime<Utc>>,
    /// Set when an operator ended it by hand on the agent's machine.
    #[serde(default)]
    pub operator: Option<OperatorDecision>,
}

/// A participant that an operator resolved by hand while the master was away, as the master's
/// record reports it once it meets that participant again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HeuristicOutcome {
    /// Component name.
    pub component: String,
    /// The agent's URL.
    pub agent: Option<String>,
    /// What the master decided.
    pub decision: Decision,
    /// What the operator did.
    pub outcome: Decision,
    /// When the operator did it.
    pub at: DateTime<Utc>,
    /// The operator's outcome differs from the master's decision: the components did not all
    /// end the same way (see the record's errors).
    pub mismatch: bool,
}

impl HeuristicOutcome {
    /// One line for a record's notes or errors.
    pub fn describe(&self) -> String {
        let agent = self
            .agent
            .as_deref()
            .map(|a| format!(" on agent {a}"))
            .unwrap_or_default();
        if self.mismatch {
            format!(
                "{}: heuristic outcome that contradicts the master's decision: an operator \
                 carried out {} by hand{agent} at {}, while the master had decided {}",
                self.component,
                self.outcome.as_str(),
                super::readme::fmt_time(self.at),
                self.decision.as_str()
            )
        } else {
            format!(
                "{}: an operator had already carried out {} by hand{agent} at {} (heuristic \
                 outcome); it matches the master's decision",
                self.component,
                self.outcome.as_str(),
                super::readme::fmt_time(self.at)
            )
        }
    }
}

/// A job record that reports the heuristic outcomes the master met (a backup's, a
/// restore's): the one way such an outcome is added to a record.
pub trait HeuristicLog {
    /// The record's heuristic outcomes, errors and notes, in that order.
    fn heuristic_lists(
        &mut self,
    ) -> (
        &mut Vec<HeuristicOutcome>,
        &mut Vec<String>,
        &mut Vec<String>,
    );

    /// Adds `h` to the record, once: the outcome itself, and its line
    /// ([`HeuristicOutcome::describe`], on one line) among the errors for a mismatch, else
    /// among the notes.
    fn note_heuristic(&mut self, h: &HeuristicOutcome) {
        let line = super::single_line(&h.describe());
        let (heuristic, errors, notes) = self.heuristic_lists();
        if !heuristic.contains(h) {
            heuristic.push(h.clone());
        }
        let list = if h.mismatch { errors } else { notes };
        if !list.contains(&line) {
            list.push(line);
        }
    }
}
