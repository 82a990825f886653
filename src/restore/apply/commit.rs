//! The commit of a restore whose commit is decided (also after a crash).
//!
//! When every component is applied the commit is decided (recorded). The remote components
//! commit first, each waited for until its agent acknowledges (the restore stays `running`,
//! with a note naming the agent); only then are the local safety folders dealt with, and the
//! restore is `succeeded`. Every safety folder is kept (recorded with its size in
//! `safety_copy`; a remote component's by its agent, which reports the size at its commit):
//! the restore can be undone (`crate::restore::undo`). A crash after the decision completes
//! that. A remote component that an operator rolled back by hand
//! (`agent resolve`) while nothing was committed yet withdraws the decision, durably, and
//! everything is rolled back; after a commit it can only be reported (a mismatch).
//!

use std::path::{Path, PathBuf};

use super::{
    found, now, on_agents, record_heuristic, rollback_all_with, Found, Journal, NoRemote,
    RemoteRestores,
};
use crate::engine::faults::Faults;
use crate::engine::fsutil;
use crate::restore::record::{
    ComponentRestore, ComponentState, RestoreRecord, RestoreStatus, StepAction,
};
use crate::toolkit::Backoff;

/// What a safety folder is renamed to once its restore is committed: out of the way at once,
/// deleted after the restore is final ([`purge_retired`]) or, after a crash, at start-up.
pub fn retired_name(safety_folder: &str) -> PathBuf {
    PathBuf::from(format!("{safety_folder}{RETIRED_SUFFIX}"))
}

/// Suffix of a committed restore's retired safety folder.
pub const RETIRED_SUFFIX: &str = ".retired";

/// Deletes the retired safety folders of a committed restore (slow for a large home: runs
/// after the restore is final, so the next job need not wait for it). Only a folder that is
/// the safety folder this restore made (its recorded identity) is deleted; anything else at
/// that name is left alone and logged. Remote components' folders are their agents' business.
pub fn purge_retired(rec: &RestoreRecord) {
    if !rec.commit_decided {
        return;
    }
    for c in rec.components.iter().filter(|c| c.agent.is_none()) {
        // A component whose restore made no safety folder has no retired one either.
        let Some(made) = &c.safety_created else {
            continue;
        };
        let retired = retired_name(&c.safety_folder);
        match found(&retired, made) {
            Ok(Found::Same) => {
                if let Err(e) = fsutil::remove_tree(&retired) {
                    tracing::warn!(folder = %retired.display(), error = %e, "could not remove a retired safety folder");
                }
            }
            Ok(Found::Absent) => {}
            Ok(Found::Other) => tracing::warn!(
                folder = %retired.display(),
                restore = %rec.id,
                "this folder is not the safety folder the restore made; it was left as it is"
            ),
            Err(e) => {
                tracing::warn!(folder = %retired.display(), error = %e, "could not check a retired safety folder; it was kept")
            }
        }
    }
}

/// After the commit decision: keeps every safety folder (the restore can be undone) and ends
/// the restore `succeeded`. Idempotent (start-up
/// recovery calls it again after a crash). `note` is added to the record.
pub fn complete(journal: &dyn Journal<RestoreRecord>, note: Option<&str>) {
    complete_with(journal, &Faults::none(), &NoRemote, note)
}

/// [`complete`], committing remote components through their agents first, each waited for
/// until its agent acknowledges (the restore stays `running` meanwhile, with a note naming the
/// agent); the local safety folders are kept only then. A remote component that will never
/// commit (an operator rolled it back by hand on its machine, or it was taken out of the
/// config) while no component committed yet abandons the commit: the decision is withdrawn on
/// disk, then everything is rolled back. After a commit, it is reported (the restore ends
/// `failed`, the local safety folders kept).
pub fn complete_with(
    journal: &dyn Journal<RestoreRecord>,
    faults: &Faults,
    remote: &dyn RemoteRestores,
    note: Option<&str>,
) {
    let rec = journal.snapshot();
    let mut committed_any = rec
        .components
        .iter()
        .any(|c| c.agent.is_some() && c.status == ComponentState::Restored);
    let mut failed: Vec<String> = Vec::new();
    let mut abandoned: Option<(String, String)> = None;
    let remotes: Vec<&ComponentRestore> = rec
        .components
        .iter()
        .filter(|c| c.agent.is_some() && c.status != ComponentState::Restored)
        .collect();
    on_agents(
        journal,
        &rec,
        remotes,
        "commit",
        &mut |c| remote.commit(&rec, c),
        // `others_uncertain`: another component may have committed (not acknowledged yet).
        &mut |c, result, others_uncertain| {
            let name = c.name.clone();
            let agent = c.agent.clone().unwrap_or_default();
            match result {
                Ok(ack) => {
                    journal.update_or_log("a commit its agent acknowledged", &mut |r| {
                        if let Some(cc) = r.component_mut(&name) {
                            cc.status = ComponentState::Restored;
                            if cc.safety_copy.is_none() {
                                cc.safety_copy = ack.safety_copy.clone();
                            }
                        }
                        r.step(
                            StepAction::Committed,
                            Some(&name),
                            Some(&c.safety_folder),
                            None,
                            Some(format!(
                                "committed on agent {agent}, which keeps the safety folder"
                            )),
                        );
                    });
                    if let Some(h) = &ack.heuristic {
                        record_heuristic(journal, h);
                    }
                    if !committed_any {
                        committed_any = true;
                        journal.step_reached("restore_first_commit");
                    }
                    true
                }
                Err(f) => {
                    if let Some(h) = &f.heuristic {
                        record_heuristic(journal, h);
                    }
                    if !committed_any && !others_uncertain {
                        abandoned = Some((name, f.message));
                        return false;
                    }
                    let line = crate::engine::single_line(&format!(
                        "{name}: the commit was decided but its agent {agent} will not commit: {}",
                        f.message
                    ));
                    journal.update_or_log("a component its agent will not commit", &mut |r| {
                        if let Some(cc) = r.component_mut(&name) {
                            cc.errors.push(line.clone());
                        }
                        r.errors.push(line.clone());
                    });
                    failed.push(name);
                    true
                }
            }
        },
    );
    if let Some((name, why)) = abandoned {
        return abandon(journal, faults, remote, &name, &why);
    }
    for c in rec.components.iter().filter(|c| c.agent.is_none()) {
        if !failed.is_empty() {
            // Mixed already: the old state of the local homes stays, for the operator.
            continue;
        }
        keep_safety_folder(journal, c);
    }
    // Started before the decision; one still stopped (a crash between) is started now.
    super::lifecycle::start_down(journal, remote);
    let unhealthy = journal
        .snapshot()
        .lifecycle
        .iter()
        .any(|l| l.state == crate::engine::lifecycle::LifecycleState::Unhealthy);
    let status = if !failed.is_empty() {
        RestoreStatus::Failed
    } else if unhealthy {
        RestoreStatus::Unhealthy
    } else {
        RestoreStatus::Succeeded
    };
    journal.update_or_log("the restore's end", &mut |r| {
        if let Some(n) = note {
            r.notes.push(n.to_string());
        }
        if !failed.is_empty() {
            r.errors.push(format!(
                "the components did not all end the same way: {} will not commit while others \
                 did; the safety folders of the local components are kept (put them back by \
                 hand for the state before the restore)",
                failed.join(", ")
            ));
        }
        r.finish(status, now());
    });
}

/// Keeps the safety folder of local component `c` of a committed restore (when it is the one
/// this restore made) and records it with its size: the restore can be undone until it is
/// discarded. Idempotent. The component ends `restored`.
fn keep_safety_folder(journal: &dyn Journal<RestoreRecord>, c: &ComponentRestore) {
    let safety = Path::new(&c.safety_folder);
    let state = match &c.safety_created {
        Some(made) => found(safety, made),
        None => Ok(Found::Absent),
    };
    let kept = match &state {
        Ok(Found::Same) if c.safety_copy.is_none() => Some(crate::restore::undo::SafetyCopy {
            bytes: crate::restore::undo::tree_bytes(safety),
            kept_at: now(),
            discarded_at: None,
            discarded_because: None,
        }),
        _ => None,
    };
    let problem = match state {
        Ok(Found::Other) => Some(format!(
            "{} is not the safety folder this restore made; it was left as it is (the restore \
             cannot be undone)",
            c.safety_folder
        )),
        Err(e) => Some(format!(
            "the safety folder could not be checked ({e}); the restore cannot be undone"
        )),
        Ok(_) => None,
    };
    let name = c.name.clone();
    journal.update_or_log("a component's end", &mut |r| {
        if let Some(p) = &problem {
            r.notes.push(format!("{name}: {p}"));
        }
        if let Some(cc) = r.component_mut(&name) {
            if kept.is_some() {
                cc.safety_copy = kept.clone();
            }
            cc.status = ComponentState::Restored;
        }
    });
}

/// A decided restore that component `name` will not commit while nothing committed yet: the
/// decision is withdrawn on disk (retried until it is), then every component is rolled back.
fn abandon(
    journal: &dyn Journal<RestoreRecord>,
    faults: &Faults,
    remote: &dyn RemoteRestores,
    name: &str,
    why: &str,
) {
    let note = crate::engine::single_line(&format!(
        "{name} will not commit ({why}) and no component had committed: the commit decision \
         was withdrawn and every component is put back"
    ));
    let mut backoff = Backoff::new(
        std::time::Duration::from_millis(500),
        std::time::Duration::from_secs(15),
    );
    while let Err(e) = journal.update(&mut |r| {
        r.commit_decided = false;
        if !r.notes.contains(&note) {
            r.notes.push(note.clone());
        }
    }) {
        tracing::error!(error = %e, "could not record the withdrawn commit decision; retrying");
        backoff.sleep_blocking();
    }
    rollback_all_with(
        journal,
        faults,
        remote,
        RestoreStatus::Failed,
        &format!("{name} refused the commit before any component had committed: {why}"),
    );
}
