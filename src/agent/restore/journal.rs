//! The agent's journal of one component's restore ([`AgentJournal`]: its record, saved at
//! every update) and the open restores as the agent's status lists them.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use chrono::{SubsecRound, Utc};

use super::lock;
use crate::restore::apply::Journal;
use crate::restore::record::{self, ComponentState, RestoreRecord, RestoreStatus};
use crate::store::wire::{OpenState, OpenTransaction, TxnKind};
use crate::store::Participation;
use crate::toolkit::journal::JournalError;

/// One restore of one component on this agent: its record, saved at every update. Only what
/// was saved is kept: a change whose save failed is dropped (the call fails and the master
/// repeats it; every step is idempotent), so the agent never acts on a commit decision or an
/// end that is not on disk.
pub(super) struct AgentJournal {
    pub(super) dir: PathBuf,
    pub(super) rec: Mutex<RestoreRecord>,
    /// The master's last message about it, on the monotonic clock: the alarm counts from here.
    pub(super) heard: Mutex<Instant>,
}

impl AgentJournal {
    pub(super) fn new(dir: PathBuf, rec: RestoreRecord) -> AgentJournal {
        AgentJournal {
            dir,
            rec: Mutex::new(rec),
            heard: Mutex::new(Instant::now()),
        }
    }

    /// The master spoke about this restore: the alarm starts again (the time is saved with
    /// the next change).
    pub(super) fn heard_from_master(&self) {
        *lock(&self.heard) = Instant::now();
        lock(&self.rec)
            .participation
            .get_or_insert_with(Participation::default)
            .last_message_at = Some(Utc::now().trunc_subsecs(0));
    }

    /// Applied, no commit decided, and waiting for the master.
    pub(super) fn waits(&self) -> bool {
        let r = self.snapshot();
        r.status == RestoreStatus::Running
            && !r.commit_decided
            && r.components
                .first()
                .is_some_and(|c| c.status == ComponentState::Applied)
    }

    pub(super) fn in_doubt(&self) -> bool {
        lock(&self.rec)
            .participation
            .as_ref()
            .is_some_and(|p| p.in_doubt_since.is_some())
    }
}

impl Journal<RestoreRecord> for AgentJournal {
    fn update(&self, f: &mut dyn FnMut(&mut RestoreRecord)) -> Result<(), JournalError> {
        let mut r = lock(&self.rec);
        let mut next = r.clone();
        f(&mut next);
        record::save(&self.dir, &next)?;
        *r = next;
        Ok(())
    }

    fn snapshot(&self) -> RestoreRecord {
        lock(&self.rec).clone()
    }
}

/// An open restore as the agent's status lists it.
pub(super) fn open_view(component: &str, r: &RestoreRecord) -> Option<OpenTransaction> {
    if r.status != RestoreStatus::Running {
        return None;
    }
    let c = r.components.first();
    let participation = r.participation.clone().unwrap_or_default();
    let state = match c.map(|c| c.status) {
        Some(ComponentState::Applied) if participation.in_doubt_since.is_some() => {
            OpenState::InDoubt
        }
        Some(ComponentState::Applied) => OpenState::Applied,
        _ => OpenState::Applying,
    };
    Some(OpenTransaction {
        kind: TxnKind::Restore,
        component: component.to_string(),
        id: r.id.clone(),
        backup_id: r.backup_id.clone(),
        state,
        started_at: r.started_at.unwrap_or(r.created_at),
        ready_at: c
            .filter(|c| c.status == ComponentState::Applied)
            .and_then(|c| c.finished_at),
        participation,
        path: c.map(|c| c.home.clone()).unwrap_or_default(),
    })
}

/// The open restores recorded under `state_dir` (read only: for `agent resolve --list`, also
/// while the agent runs).
pub fn open_on_disk(state_dir: &Path) -> Vec<OpenTransaction> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(state_dir.join("restores")) else {
        return out;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Ok((records, _)) = record::load_all(&e.path()) {
            out.extend(records.iter().filter_map(|r| open_view(&name, r)));
        }
    }
    out.sort_by(|a, b| (&a.component, &a.id).cmp(&(&b.component, &b.id)));
    out
}
