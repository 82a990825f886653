//! Undoing a restore.
//!
//! # Rollback (any failure, a panic, or start-up recovery of an interrupted restore)
//! Components that got to `applying` are rolled back in reverse order, the local ones first
//! and then the remote ones, each waited for until its agent acknowledges (one agent down then
//! keeps neither the local homes nor the other agents waiting). Only what the record proves
//! this restore did is undone, entry by entry (reverse plan order):
//! * a path recorded in `moved_aside` whose entry in the safety folder is still that entry
//!   (same device, inode and kind) is put back; what is at the path now is removed first only
//!   when this restore copied it there (`copy_started`);
//! * an entry of the safety folder that is not the one recorded is left alone and reported; a
//!   recorded one that is missing is reported, and the live path is then left as it is;
//! * a target that did not exist before is removed only when this restore copied it there.
//!
//! Then the folders the restore recorded creating are removed (only when empty), the safety
//! folder (only the one this restore made, only once empty) is removed, and the modification
//! times of the home folders involved are set back. A restore that made no safety folder (it
//! existed already) moved nothing, so its rollback changes nothing. The folders involved are
//! fsynced; a failed fsync is reported like any other problem. The record and the disk are the
//! only truth used, so a rollback interrupted by a crash is simply run again.

use crate::store::restore_record::RestoreRecord;
use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::{
    flush_steps, found, now, on_agents, record_heuristic, sync_dirs, Found, Journal, NoRemote,
    PendingStep, RemoteRestores,
};
use crate::engine::faults::Faults;
use crate::engine::fsutil;
use crate::restore::record::{
    ComponentRestore, ComponentState, FolderTime, RestoreStatus, StepAction,
};

/// Rolls back every component that got to `applying` (reverse order) and ends the restore with
/// `status` (`failed` or `interrupted`), `reason` first among its errors.
pub fn rollback_all(
    journal: &dyn Journal<RestoreRecord>,
    faults: &Faults,
    status: RestoreStatus,
    reason: &str,
) {
    rollback_all_with(journal, faults, &NoRemote, status, reason)
}

/// [`rollback_all`], rolling remote components back through their agents, each waited for
/// until its agent acknowledges (the restore stays `running` meanwhile, with a note naming the
/// agent). One that never will (an operator committed it by hand: a heuristic mismatch, or it
/// was taken out of the config) is left `rollback_incomplete`, named in the errors.
pub fn rollback_all_with(
    journal: &dyn Journal<RestoreRecord>,
    faults: &Faults,
    remote: &dyn RemoteRestores,
    status: RestoreStatus,
    reason: &str,
) {
    journal.update_or_log("the reason of the rollback", &mut |r| {
        r.errors.push(reason.to_string());
        r.step(
            StepAction::Failed,
            None,
            None,
            None,
            Some(reason.to_string()),
        );
    });
    // An application running on the restored data is stopped before its old data goes back.
    super::lifecycle::stop_started(journal, remote);
    let rec = journal.snapshot();
    let to_undo = |c: &&ComponentRestore| {
        matches!(
            c.status,
            ComponentState::Applying | ComponentState::Applied | ComponentState::RollbackIncomplete
        )
    };
    let record_end = |name: &str, steps: &mut Vec<PendingStep>, result: Result<(), Vec<String>>| {
        let saved = flush_steps(journal, name, steps, &mut |r| {
            if let Some(cc) = r.component_mut(name) {
                match &result {
                    Ok(()) => cc.status = ComponentState::RolledBack,
                    Err(errs) => {
                        cc.status = ComponentState::RollbackIncomplete;
                        cc.errors.extend(errs.iter().cloned());
                    }
                }
            }
            match &result {
                Ok(()) => r.step(StepAction::RolledBack, Some(name), None, None, None),
                Err(errs) => {
                    for e in errs {
                        r.errors.push(format!("{name}: rollback: {e}"));
                    }
                }
            }
        });
        // The rollback goes on: it reads only the plan and the disk, so a step not recorded
        // is found done when it runs again.
        if let Err(e) = saved {
            tracing::warn!(restore = %rec.id, component = name, error = %e, "could not record the rollback of a component; going on");
        }
    };
    // The local components first (reverse order), so an agent that keeps the master waiting
    // does not keep them waiting; then the remote ones, each until its agent acknowledges.
    for c in rec
        .components
        .iter()
        .rev()
        .filter(to_undo)
        .filter(|c| c.agent.is_none())
    {
        let mut steps: Vec<PendingStep> = Vec::new();
        let result = rollback_component(c, faults, &mut |s| {
            steps.push(s);
        });
        record_end(&c.name, &mut steps, result);
    }
    let remotes: Vec<&ComponentRestore> = rec
        .components
        .iter()
        .rev()
        .filter(to_undo)
        .filter(|c| c.agent.is_some())
        .collect();
    on_agents(
        journal,
        &rec,
        remotes,
        "rollback",
        &mut |c| remote.rollback(&rec, c),
        &mut |c, result, _| {
            let agent = c.agent.clone().unwrap_or_default();
            let result = match result {
                Ok(ack) => {
                    if let Some(h) = &ack.heuristic {
                        record_heuristic(journal, h);
                    }
                    Ok(())
                }
                Err(f) => {
                    if let Some(h) = &f.heuristic {
                        record_heuristic(journal, h);
                    }
                    Err(vec![format!("through its agent {agent}: {}", f.message)])
                }
            };
            record_end(&c.name, &mut Vec::new(), result);
            true
        },
    );
    // What this restore stopped runs again on its old data.
    super::lifecycle::start_down(journal, remote);
    journal.update_or_log("the restore's end", &mut |r| {
        r.finish(status, now());
    });
}

/// Puts one component's home back as it was before the restore (see the module doc). Uses only
/// the record and the disk, and undoes only what the record proves this restore did; safe to
/// run again after it was interrupted. Returns the problems (the paths concerned are left as
/// they are, the safety folder kept).
pub fn rollback_component(
    plan: &ComponentRestore,
    faults: &Faults,
    record: &mut dyn FnMut(PendingStep),
) -> Result<(), Vec<String>> {
    let home = PathBuf::from(&plan.home);
    let safety = PathBuf::from(&plan.safety_folder);
    let mut errors = Vec::new();
    let mut to_sync: BTreeSet<PathBuf> = BTreeSet::new();
    to_sync.insert(home.clone());
    for t in plan.targets().iter().rev() {
        let p = Path::new(t);
        let Ok(rel) = p.strip_prefix(&home) else {
            errors.push(format!("{t} is outside the home {}", plan.home));
            continue;
        };
        let s = safety.join(rel);
        if let Some(parent) = p.parent() {
            to_sync.insert(parent.to_path_buf());
        }
        let copied_here = plan.copy_started.contains(t);
        let Some(orig) = plan.moved_aside.iter().find(|e| e.path == *t) else {
            // Not there before the restore: remove it only when this restore copied it.
            if copied_here && fsutil::exists_nofollow(p) {
                match fsutil::remove_tree(p) {
                    Ok(()) => record(PendingStep {
                        action: StepAction::RemovedCopy,
                        path: Some(t.clone()),
                        to: None,
                        detail: None,
                        changed: true,
                    }),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            continue;
        };
        match found(&s, orig) {
            Ok(Found::Same) => {}
            Ok(Found::Other) => {
                errors.push(format!(
                    "{} is not what this restore moved there from {t}; both were left as they are",
                    s.display()
                ));
                continue;
            }
            Ok(Found::Absent) => {
                match found(p, orig) {
                    // Never moved (stopped before), or put back already.
                    Ok(Found::Same) => {}
                    Ok(_) => errors.push(format!(
                        "the original of {t} is missing from the safety folder {}; {t} was left \
                         as it is",
                        s.display()
                    )),
                    Err(e) => errors.push(e.to_string()),
                }
                continue;
            }
            Err(e) => {
                errors.push(e.to_string());
                continue;
            }
        }
        // The original is provably in the safety folder: what is at the path now goes, when
        // this restore put it there.
        if fsutil::exists_nofollow(p) {
            if !copied_here {
                errors.push(format!(
                    "{t} holds something this restore did not copy there; the original was left \
                     in {}",
                    s.display()
                ));
                continue;
            }
            if let Err(e) = fsutil::remove_tree(p) {
                errors.push(e.to_string());
                continue;
            }
        }
        if let Err(e) = fsutil::rename_noreplace(&s, p) {
            errors.push(format!("moving {} back to {t}: {e}", s.display()));
            continue;
        }
        if let Some(parent) = s.parent() {
            to_sync.insert(parent.to_path_buf());
        }
        record(PendingStep {
            action: StepAction::PutBack,
            path: Some(t.clone()),
            to: None,
            detail: Some(format!("from {}", s.display())),
            changed: true,
        });
        // The fault stops the process right after the first put-back.
        if faults.restore_abort_in_rollback.contains(&plan.name) {
            // The test fault stops the process at once: the put-back is made durable as far
            // as it can be, and a failure is of no use to anyone.
            let _ = sync_dirs(&to_sync, false);
            tracing::error!("injected fault: restore_abort_in_rollback:{}", plan.name);
            std::process::abort();
        }
    }
    for d in plan.created_dirs.iter().rev() {
        match fs::remove_dir(d) {
            Ok(()) => {
                if let Some(parent) = Path::new(d).parent() {
                    to_sync.insert(parent.to_path_buf());
                }
                record(PendingStep {
                    action: StepAction::RemovedFolder,
                    path: Some(d.clone()),
                    to: None,
                    detail: None,
                    changed: true,
                })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => errors.push(format!("{d}, created by the restore, was kept: {e}")),
        }
    }
    // The safety folder: only the one this restore made, only once empty.
    if let (true, Some(made)) = (errors.is_empty(), &plan.safety_created) {
        match found(&safety, made) {
            Ok(Found::Same) => match prune_empty(&safety) {
                Ok(true) => record(PendingStep {
                    action: StepAction::RemovedSafetyFolder,
                    path: Some(plan.safety_folder.clone()),
                    to: None,
                    detail: Some("empty after the rollback".into()),
                    changed: true,
                }),
                Ok(false) => {}
                Err(left) => errors.push(format!(
                    "the safety folder {} still holds {}; it was kept",
                    plan.safety_folder,
                    left.join(", ")
                )),
            },
            Ok(Found::Absent) => {}
            Ok(Found::Other) => errors.push(format!(
                "{} is not the safety folder this restore made; it was left as it is",
                plan.safety_folder
            )),
            Err(e) => errors.push(e.to_string()),
        }
    }
    // Make the put-backs durable.
    let fail = faults.restore_fsync_fail.contains(&plan.name);
    errors.extend(sync_dirs(&to_sync, fail).iter().map(|e| e.to_string()));
    if errors.is_empty() {
        set_folder_times(&plan.folder_times);
        Ok(())
    } else {
        Err(errors)
    }
}

/// Sets the modification times of home folders back to `times`. The home is back by then; its
/// folders' times are only cosmetic (a folder removed meanwhile has none to set): a failure is
/// logged, never a problem.
pub fn set_folder_times(times: &[FolderTime]) {
    for t in times {
        let ts = nix::sys::time::TimeSpec::new(t.mtime_s, t.mtime_ns);
        if let Err(e) = nix::sys::stat::utimensat(
            None,
            Path::new(&t.path),
            &nix::sys::time::TimeSpec::UTIME_OMIT,
            &ts,
            nix::sys::stat::UtimensatFlags::NoFollowSymlink,
        ) {
            tracing::debug!(folder = %t.path, error = %e, "could not set a folder's time back");
        }
    }
}

/// Removes `dir` when it holds only (nested) empty folders. `Ok(false)` when it does not exist;
/// `Err` lists what is left (nothing is removed then but empty sub-folders).
fn prune_empty(dir: &Path) -> Result<bool, Vec<String>> {
    let meta = match fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(_) => return Ok(false),
    };
    if !meta.is_dir() {
        return Err(vec![dir.display().to_string()]);
    }
    let mut left = Vec::new();
    match fs::read_dir(dir) {
        Ok(entries) => {
            for e in entries.flatten() {
                let p = e.path();
                if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    if let Err(l) = prune_empty(&p) {
                        left.extend(l);
                    }
                } else {
                    left.push(p.display().to_string());
                }
            }
        }
        Err(e) => left.push(format!("{} ({e})", dir.display())),
    }
    if !left.is_empty() {
        return Err(left);
    }
    fs::remove_dir(dir).map_err(|e| vec![format!("{} ({e})", dir.display())])?;
    Ok(true)
}
