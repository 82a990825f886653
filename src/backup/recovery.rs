//! Crash recovery, run when the engine opens: no job record stays `running`, and every history
//! slot is intact and complete (README, *How backups work*: crash safety).
//!
//! For each record still `running` (the master died during that backup):
//! * commit decided (`commit_decided: true`, fsynced before the first slot changed): the commit
//!   is rolled forward for every component — the rotation is idempotent, so a component that
//!   had finished is left as it is and one stopped half-way is completed. The backup then ends
//!   **`succeeded`**, with a note saying it was completed by recovery: its set is complete and
//!   consistent on disk, exactly as if the master had not died. If rolling forward fails, it
//!   ends `interrupted` with the error, and that component's staging folder is kept for the
//!   operator (listed in `kept_stagings`: never removed as a stray, at this start or a later
//!   one, until an operator discards it; backups are refused meanwhile).
//!
//!   A decided backup that a **remote** component had not acknowledged (its agent was down or
//!   unreachable when the master died, or the master died between the decision and that
//!   commit) is not finished here: start-up never waits for an agent. Its record stays
//!   **`running`** (`commit_decided: true`) with a note naming the components and their agents
//!   the master waits for, and it is returned in [`Recovered::pending`]; `crate::jobs` then
//!   runs the rest of the commit exactly as the live path does
//!   ([`super::coordinator::commit_decided`]: remote components retried with backoff until
//!   their agents acknowledge, with no time limit, then the local ones), holding the one-job
//!   lock, so no other backup or restore rotates or reads a slot of the incomplete set
//!   meanwhile. Those agents keep their part prepared (in doubt, perhaps) until then: none of
//!   them decides alone. It ends **`succeeded`** with the note [`ROLLED_FORWARD`] once every
//!   agent acknowledged, or **`failed`** with the reason (an operator aborted a component by
//!   hand on its agent: a heuristic outcome that contradicts the decision, flagged in the
//!   record; or a component was taken out of the config). Why `running` and not a new
//!   status: the backup *is* being driven by this master run, exactly like a live backup
//!   waiting for an agent after the decision (clients already poll `running` to its end, a
//!   cancel is refused after the decision, a new backup gets 409 with its ID); the crash-safety guarantee's
//!   "no record stays running" is about records nobody drives. If the master stops again
//!   meanwhile, the next start-up picks it up the same way.
//! * otherwise (never decided, or the decision was withdrawn on disk because a component
//!   refused it before any committed): every component's staging folder is removed and
//!   `<NAME>.failed` written; the backup ends `interrupted` with the error "interrupted: ...".
//!   No slot was touched. An agent that cannot be reached now keeps its prepared staging
//!   folder (it never decides alone) until `crate::resolver` reaches it and aborts it
//!   (presumed abort: this record has no commit decision); the record notes it.
//!
//! Before either, every component the record's journal shows still frozen is thawed and every
//! snapshot it shows still held is released (`super::freeze::recover`).
//!
//! Finally leftover temporary folders (`<NAME>.staging-<ID>`, `<NAME>.trash-<ID>-*`, ...) of
//! the configured components are removed, but only those whose ID a job record names for that
//! component and folder (ownership before destruction: a folder at such a name that no record
//! explains is left alone, and so is a staging folder whose readme does not name the
//! component and ID), and except the staging folders still needed: those of pending
//! roll-forwards, those kept for the operator (`kept_stagings` of any record: a commit that
//! could not be completed, here or earlier), and those of job records that cannot be read
//! (the caller passes them in: whether that backup was decided is unknown). Each finished
//! record gets its report, owes its after-backup hook (`hook_pending`) and is persisted; one
//! whose final write fails is returned in [`Recovered::unrecorded`] instead, still `running` on
//! disk, so that nothing acts on an end that is not durable.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{SubsecRound, Utc};

use super::coordinator::Participant;
use crate::engine::record::{
    self, BackupRecord, BackupStatus, ComponentProgress, ComponentStatus, KeptStaging,
};
use crate::engine::slots::SlotLayout;
use crate::engine::{fsutil, report, single_line, ComponentSpec, Profile};
use crate::store::ComponentStore;

/// What recovery did.
#[derive(Debug, Default)]
pub struct Recovered {
    /// Records that were `running` and are now final, in ID order.
    pub records: Vec<BackupRecord>,
    /// Temporary folders removed.
    pub removed: Vec<String>,
    /// Problems met (also logged); recovery goes on regardless.
    pub problems: Vec<String>,
    /// Records whose commit was decided but which a remote component had not acknowledged:
    /// still `running` (with a note), to be rolled forward in the background by the caller
    /// (`crate::jobs`), holding the job lock. Their staging folders were kept.
    pub pending: Vec<BackupRecord>,
    /// Records recovery finished whose final write failed: on disk they are still `running`.
    /// The caller keeps them `running` and retries the write before anything acts on them.
    pub unrecorded: Vec<BackupRecord>,
}

/// The staging folder of backup `id` that a local participant still has after its commit
/// failed: kept for the operator (it is the only copy of that component's backup).
pub fn staging_left(p: &Participant, id: &str) -> Option<KeptStaging> {
    if p.store.is_remote() {
        return None;
    }
    let layout = SlotLayout::of(&p.spec.backup_folder).ok()?;
    let path = layout.staging(id);
    fsutil::exists_nofollow(&path).then(|| KeptStaging {
        component: p.spec.name.clone(),
        folder: p.spec.backup_folder.display().to_string(),
        path: path.display().to_string(),
    })
}

/// The sentence a component error gets when its staging folder is kept.
pub fn kept_note(k: &KeptStaging) -> String {
    format!(
        "its staging folder {} is kept: it is the only copy of this backup of {}; nothing \
         removes it, and no backup starts, until an operator discards it",
        k.path, k.component
    )
}

/// The note a backup gets when recovery hands its unacknowledged remote commits to the
/// background: (component, agent URL) each.
pub fn pending_note(components: &[(String, String)], at: chrono::DateTime<Utc>) -> String {
    let named: Vec<String> = components
        .iter()
        .map(|(c, a)| format!("{c} (agent {a})"))
        .collect();
    format!(
        "the master stopped after the commit was decided, before component(s) {} acknowledged it; \
         since the restart at {} the master retries the commit in the background until every \
         agent acknowledges it, and the backup stays running and holds the job lock meanwhile",
        named.join(", "),
        crate::engine::readme::fmt_time(at),
    )
}

/// The note a backup gets when recovery's background retries completed its set.
pub const ROLLED_FORWARD: &str =
    "rolled forward after the master restarted: every agent acknowledged the commit; the set is complete";

/// Error text recorded for a backup the master died in before the commit was decided.
pub const INTERRUPTED: &str =
    "interrupted: the master stopped while this backup ran; its staging folders were removed and no history slot was changed";

/// The spec to finish a record's component with: the folder recorded in the job (that is where
/// its staging folder is), `keep` the greater of the recorded and the configured one, the rest
/// from the current config when it still has the component. A component no longer configured
/// that was remote (its agent recorded, or a relative folder: a local one is always absolute)
/// stays remote, with no home here: its store then reaches nothing and says so.
pub fn spec_for(c: &ComponentProgress, config: &[ComponentSpec]) -> ComponentSpec {
    let folder = PathBuf::from(&c.folder);
    match config.iter().find(|s| s.name == c.name) {
        // Keeping more history than decided is never a loss; keeping less could be.
        Some(s) => ComponentSpec {
            backup_folder: folder,
            keep: c.keep.max(s.keep),
            ..s.clone()
        },
        None => ComponentSpec {
            name: c.name.clone(),
            profile: Profile::Custom,
            home: if c.agent.is_some() || folder.is_relative() {
                PathBuf::new()
            } else {
                fsutil::parent_of(&folder)
            },
            backup_folder: folder,
            keep: c.keep,
            items: vec![],
            consistency: Default::default(),
            read_point: None,
        },
    }
}

/// Finishes every `running` record in `records` (all the job records on disk) and cleans
/// leftovers of the backups they name. `store_for` gives the store of a component; `keep`
/// names further staging folders that must stay, as (component, backup ID).
pub async fn recover(
    state_dir: &Path,
    records: Vec<BackupRecord>,
    keep: &[(String, String)],
    config: &[ComponentSpec],
    store_for: &(dyn Fn(&ComponentSpec) -> Arc<dyn ComponentStore> + Send + Sync),
) -> Recovered {
    let mut out = Recovered::default();
    let mut keep_stagings: Vec<(String, String)> = keep.to_vec(); // (component, id)
                                                                  // (component, folder, id) of every backup a record names: its temporaries are provably ours.
    let journal: Vec<(String, PathBuf, String)> = records
        .iter()
        .flat_map(|r| {
            r.components
                .iter()
                .map(|c| (c.name.clone(), PathBuf::from(&c.folder), r.id.clone()))
        })
        .collect();
    for mut rec in records
        .into_iter()
        .filter(|r| r.status == BackupStatus::Running)
    {
        let now = Utc::now().trunc_subsecs(0);
        tracing::warn!(id = %rec.id, commit_decided = rec.commit_decided, "recovering an interrupted backup");
        // First of all, no application stays frozen and no snapshot stays behind.
        let spec_of = |name: &str| {
            config
                .iter()
                .find(|s| s.name == name)
                .map(|s| (s.clone(), store_for(s)))
        };
        super::freeze::recover(&mut rec, &spec_of).await;
        if rec.commit_decided {
            // Remote components that had not acknowledged: their agent may be down now, and
            // start-up never waits for an agent. The locals are then untouched too (the
            // coordinator commits them only after every remote one acknowledged).
            let unacknowledged: Vec<(String, String)> = rec
                .components
                .iter()
                .filter(|c| c.status != ComponentStatus::Committed)
                .filter_map(|c| {
                    let store = store_for(&spec_for(c, config));
                    store
                        .is_remote()
                        .then(|| (c.name.clone(), store.location().unwrap_or_default()))
                })
                .collect();
            if !unacknowledged.is_empty() {
                tracing::warn!(id = %rec.id, components = ?unacknowledged, "a decided commit waits for agents; retrying it in the background");
                rec.notes.push(pending_note(&unacknowledged, now));
                for c in &rec.components {
                    keep_stagings.push((c.name.clone(), rec.id.clone()));
                }
                if let Err(e) = record::save(state_dir, &rec) {
                    out.problems.push(e.to_string());
                }
                out.pending.push(rec);
                continue;
            }
            let mut ok = true;
            for i in 0..rec.components.len() {
                let spec = spec_for(&rec.components[i], config);
                let store = store_for(&spec);
                if rec.components[i].status == ComponentStatus::Committed && store.is_remote() {
                    // Acknowledged before the master stopped; no need to ask the agent again.
                    continue;
                }
                // One slot more kept until every component committed (see the coordinator).
                let phase_one = super::coordinator::phase_one(&spec);
                match store.commit(&rec.id, &phase_one).await {
                    Ok(_) => rec.components[i].status = ComponentStatus::Committed,
                    Err(e) => {
                        ok = false;
                        let mut msg =
                            single_line(&format!("rolling the commit forward failed: {e}"));
                        let kept = staging_left(
                            &Participant {
                                spec: spec.clone(),
                                store,
                            },
                            &rec.id,
                        );
                        if let Some(k) = kept {
                            msg.push_str(&format!("; {}", kept_note(&k)));
                            if !rec.kept_stagings.contains(&k) {
                                rec.kept_stagings.push(k);
                            }
                        }
                        out.problems
                            .push(format!("{} {}: {msg}", rec.id, spec.name));
                        rec.components[i].status = ComponentStatus::Failed;
                        rec.components[i].errors.push(msg);
                        keep_stagings.push((spec.name.clone(), rec.id.clone()));
                    }
                }
            }
            if ok {
                // Every component committed: drop the slots above keep here (the agents'
                // extra slot, if any, goes with their next backup).
                for c in &rec.components {
                    let spec = spec_for(c, config);
                    let store = store_for(&spec);
                    if !store.is_remote() {
                        if let Err(e) = store.finish_commit(&rec.id, &spec).await {
                            out.problems.push(format!(
                                "{} {}: dropping the slots above keep: {e}",
                                rec.id, spec.name
                            ));
                        }
                    }
                }
                rec.status = BackupStatus::Succeeded;
                rec.notes.push(format!(
                    "the master stopped during the commit; recovery completed it at {}",
                    crate::engine::readme::fmt_time(now)
                ));
            } else {
                rec.status = BackupStatus::Interrupted;
                rec.errors.push(
                    "interrupted during the commit and recovery could not complete it; see the component errors"
                        .into(),
                );
            }
        } else {
            for i in 0..rec.components.len() {
                let spec = spec_for(&rec.components[i], config);
                let store = store_for(&spec);
                let c = &mut rec.components[i];
                let mut errors = c.errors.clone();
                errors.push(INTERRUPTED.to_string());
                match store.abort(&rec.id, &spec, &errors).await {
                    Ok(ack) => {
                        if let Some(h) = ack.heuristic {
                            rec.notes.push(single_line(&h.describe()));
                            rec.heuristic.push(h);
                        }
                    }
                    Err(crate::store::StoreError::Heuristic(h)) => {
                        rec.errors.push(single_line(&h.describe()));
                        c.errors.push(single_line(&h.describe()));
                        rec.heuristic.push(h);
                    }
                    Err(e) => {
                        let msg = single_line(&format!("removing the staging folder failed: {e}"));
                        out.problems
                            .push(format!("{} {}: {msg}", rec.id, spec.name));
                        c.errors.push(msg);
                        if store.is_remote() {
                            rec.notes.push(format!(
                                "{}: its agent {} could not be reached to abort; nothing commits \
                                 there without the master, which removes the staging folder when \
                                 it reaches the agent (presumed abort)",
                                spec.name,
                                store.location().unwrap_or_default()
                            ));
                        }
                    }
                }
                if c.status != ComponentStatus::Failed {
                    c.status = ComponentStatus::Aborted;
                }
            }
            rec.status = BackupStatus::Interrupted;
            rec.errors.push(INTERRUPTED.to_string());
        }
        rec.finished_at = Some(now);
        rec.hook_pending = true;
        if let Err(e) = report::write(state_dir, &rec) {
            out.problems.push(e.to_string());
        }
        match record::save(state_dir, &rec) {
            Ok(()) => out.records.push(rec),
            Err(e) => {
                out.problems.push(format!(
                    "{}: the end of the backup could not be recorded: {e}",
                    rec.id
                ));
                for c in &rec.components {
                    keep_stagings.push((c.name.clone(), rec.id.clone()));
                }
                out.unrecorded.push(rec);
            }
        }
    }
    for spec in config {
        let ids: Vec<String> = journal
            .iter()
            .filter(|(c, folder, id)| {
                *c == spec.name
                    && *folder == spec.backup_folder
                    && !keep_stagings.iter().any(|(kc, kid)| kc == c && kid == id)
            })
            .map(|(_, _, id)| id.clone())
            .collect();
        match store_for(spec).remove_temporaries(spec, &ids).await {
            Ok(removed) => {
                for r in &removed {
                    tracing::info!(path = %r, "removed leftover temporary folder");
                }
                out.removed.extend(removed);
            }
            Err(e) => out.problems.push(format!("{}: {e}", spec.name)),
        }
    }
    for p in &out.problems {
        tracing::error!(problem = %p, "recovery");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(name: &str, folder: &str, agent: Option<&str>) -> ComponentProgress {
        ComponentProgress {
            status: ComponentStatus::Prepared,
            ..ComponentProgress::pending(name, folder, 2, agent.map(String::from))
        }
    }

    #[test]
    fn a_component_gone_from_the_config_keeps_being_what_it_was() {
        // Remote (its agent recorded, or a folder relative to a remote home): no home here,
        // so it is never taken for a folder on this machine.
        for p in [
            progress("trk", "/srv/trk/backup", Some("http://10.0.0.7:9090")),
            progress("trk", "backup", None),
        ] {
            assert!(spec_for(&p, &[]).is_remote(), "{p:?}");
        }
        // Local: its recorded folder, in its parent.
        let s = spec_for(&progress("hub", "/srv/hub/backup", None), &[]);
        assert!(!s.is_remote());
        assert_eq!(s.home, PathBuf::from("/srv/hub"));
        assert_eq!(s.keep, 2);
    }
}
