//! Undoing a succeeded restore from the safety folders it kept: whether a restore can be
//! undone now ([`blocker`], [`annotate`]), the plan of an undo ([`plan_undo`]), the size of a
//! kept copy ([`tree_bytes`]) and discarding one ([`discard`]).
//!
//! An undo is itself a restore (its record has `undo_of`): its components copy back, out of the
//! undone restore's safety folder, every entry that restore moved aside there, after moving
//! aside (into the undo's own safety folder) what that restore put into the home. It is
//! applied, committed, rolled back and recovered like any restore (`crate::restore::apply`).
//! Once it succeeded, the undone restore's safety copies are discarded (a later restore of
//! those components succeeded) and the home folders get back their modification times from
//! before the undone restore.
//!
//! A restore can be undone while it `succeeded`, every component's safety copy is kept (a
//! remote component's on its agent, which plans and applies that part of the undo from it:
//! `crate::agent::restore`), and no later restore or undo changed any of its components (one
//! that was rolled back completely changed nothing).

use std::fs;
use std::path::{Path, PathBuf};

use super::apply::{found, retired_name, Found};
use super::plan::{refresh_home, safety_folder};
use super::record::{
    ComponentRestore, ComponentState, CopyOp, FolderOrigin, OwnedEntry, RestoreRecord,
    RestoreStatus,
};
use crate::engine::fsutil;
pub use crate::store::restore_record::{SafetyCopy, UndoPlan};

/// Why a restore cannot be undone; the API answers each with its own code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UndoRefusal {
    /// Not a restore that changed homes and kept its copies: a dry run, not succeeded.
    NotUndoable,
    /// A later restore or undo changed one of its components.
    Superseded,
    /// A safety copy was discarded, never kept, or is no longer what the restore moved there.
    SafetyCopyGone,
    /// A home is in a state no restore can work on.
    Home,
}

/// A refused undo: why, and the message naming the component or path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocked {
    pub why: UndoRefusal,
    pub message: String,
}

fn blocked(why: UndoRefusal, message: String) -> Blocked {
    Blocked { why, message }
}

/// True when restore `later` changed component `name` (it is running, succeeded, or did not
/// put that component back completely).
fn changed_component(later: &RestoreRecord, name: &str) -> bool {
    if later.dry_run {
        return false;
    }
    let Some(c) = later.components.iter().find(|c| c.name == name) else {
        return false;
    };
    matches!(
        later.status,
        RestoreStatus::Running | RestoreStatus::Succeeded
    ) || !matches!(
        c.status,
        ComponentState::Pending | ComponentState::RolledBack
    )
}

/// Why `rec` cannot be undone now, if it cannot; `others`: the other restore records (any
/// order; only later ones count).
pub fn blocker<'a>(
    rec: &RestoreRecord,
    others: impl Iterator<Item = &'a RestoreRecord>,
) -> Option<Blocked> {
    use UndoRefusal::*;
    if rec.dry_run {
        return Some(blocked(NotUndoable, "a dry run changed nothing".into()));
    }
    if !rec.committed() {
        return Some(blocked(
            NotUndoable,
            format!(
                "only a succeeded restore (or an unhealthy one that was not rolled back) can be \
                 undone; this one is {}",
                rec.status.as_str()
            ),
        ));
    }
    for o in others.filter(|o| o.id > rec.id) {
        if let Some(c) = rec
            .components
            .iter()
            .find(|c| changed_component(o, &c.name))
        {
            let what = if o.undo_of.is_some() {
                "undo"
            } else {
                "restore"
            };
            return Some(blocked(
                Superseded,
                format!("the later {what} {} changed component {}", o.id, c.name),
            ));
        }
    }
    for c in &rec.components {
        match &c.safety_copy {
            None => {
                return Some(blocked(
                    SafetyCopyGone,
                    format!("no safety copy of component {} was kept", c.name),
                ))
            }
            Some(k) if !k.is_kept() => {
                return Some(blocked(
                    SafetyCopyGone,
                    format!(
                        "the safety copy of component {} was discarded{}{}",
                        c.name,
                        k.discarded_at
                            .map(|t| format!(" at {}", t.to_rfc3339()))
                            .unwrap_or_default(),
                        k.discarded_because
                            .as_deref()
                            .map(|b| format!(": {b}"))
                            .unwrap_or_default()
                    ),
                ))
            }
            Some(_) => {}
        }
    }
    None
}

/// Fills in the computed fields of `rec` (`undo_available`, `undo_unavailable_because` for a
/// succeeded restore, `safety_copy_bytes`) from it and the other records. Absent when false,
/// none or 0, so a record with nothing to undo reads as before.
pub fn annotate<'a>(rec: &mut RestoreRecord, others: impl Iterator<Item = &'a RestoreRecord>) {
    let b = blocker(rec, others);
    rec.undo_available = b.is_none();
    // Said only where an undo would be expected: a succeeded restore.
    rec.undo_unavailable_because = b
        .filter(|_| rec.committed() && !rec.dry_run)
        .map(|b| b.message);
    rec.safety_copy_bytes = rec
        .components
        .iter()
        .filter_map(|c| c.safety_copy.as_ref())
        .filter(|k| k.is_kept())
        .map(|k| k.bytes)
        .sum();
}

/// The components of undo `undo_id` of restore `rec` (which [`blocker`] found undoable), their
/// home side computed from the disk now. Refused when an entry of a safety folder is no longer
/// what `rec` moved there, or a home cannot be worked on. Only reads the disk; a remote
/// component is planned by `remote` (its agent, from the copy it kept, with the same checks).
pub fn plan_undo(
    undo_id: &str,
    rec: &RestoreRecord,
    remote: &mut dyn FnMut(&ComponentRestore) -> Result<ComponentRestore, Blocked>,
) -> Result<Vec<ComponentRestore>, Blocked> {
    let mut out = Vec::with_capacity(rec.components.len());
    for c in &rec.components {
        if c.agent.is_some() {
            out.push(remote(c)?);
            continue;
        }
        let home = PathBuf::from(&c.home);
        let safety = PathBuf::from(&c.safety_folder);
        match &c.safety_created {
            Some(made) if matches!(found(&safety, made), Ok(Found::Same)) => {}
            _ => {
                return Err(blocked(
                    UndoRefusal::SafetyCopyGone,
                    format!(
                        "{} is not the safety folder restore {} made (moved or replaced)",
                        c.safety_folder, rec.id
                    ),
                ))
            }
        }
        let mut sources = Vec::with_capacity(c.moved_aside.len());
        let mut copy = Vec::with_capacity(c.moved_aside.len());
        for e in &c.moved_aside {
            let rel = Path::new(&e.path).strip_prefix(&home).map_err(|_| {
                blocked(
                    UndoRefusal::NotUndoable,
                    format!("{} is outside the home {}", e.path, c.home),
                )
            })?;
            let src = safety.join(rel).display().to_string();
            let source = OwnedEntry {
                path: src.clone(),
                ..e.clone()
            };
            if !matches!(found(Path::new(&src), &source), Ok(Found::Same)) {
                return Err(blocked(
                    UndoRefusal::SafetyCopyGone,
                    format!(
                        "{src} is not what restore {} moved there from {} (changed or removed)",
                        rec.id, e.path
                    ),
                ));
            }
            copy.push(CopyOp {
                from: src,
                to: e.path.clone(),
                kind: e.kind,
            });
            sources.push(source);
        }
        let mut remove = c.targets();
        for d in &c.created_dirs {
            if !remove.contains(d) {
                remove.push(d.clone());
            }
        }
        let mut plan = ComponentRestore {
            copy,
            undo: Some(UndoPlan {
                remove,
                sources,
                folder_times: c.folder_times.clone(),
            }),
            ..ComponentRestore::pending(
                &c.name,
                c.profile,
                c.home.clone(),
                c.safety_folder.clone(),
                FolderOrigin::SafetyCopy,
                safety_folder(&home, undo_id).display().to_string(),
            )
        };
        if fs::symlink_metadata(&plan.safety_folder).is_ok() {
            return Err(blocked(
                UndoRefusal::Home,
                format!("{} exists already", plan.safety_folder),
            ));
        }
        refresh_home(&mut plan).map_err(|p| {
            blocked(
                UndoRefusal::Home,
                format!("cannot undo {}: {}", c.name, p.join("; ")),
            )
        })?;
        out.push(plan);
    }
    Ok(out)
}

/// Bytes of the regular files below `root` (links not followed; unreadable parts count 0).
pub fn tree_bytes(root: &Path) -> u64 {
    let Ok(m) = fs::symlink_metadata(root) else {
        return 0;
    };
    if m.is_file() {
        return m.len();
    }
    if !m.is_dir() {
        return 0;
    }
    fs::read_dir(root)
        .map(|rd| rd.flatten().map(|e| tree_bytes(&e.path())).sum())
        .unwrap_or(0)
}

/// Deletes the safety folder of component `c` of a succeeded restore, only when it is the one
/// that restore made (its recorded identity, checked right before): renamed out of the way
/// first (atomically), then removed. A retired one a crash left behind is removed too.
/// `Ok(true)`: a folder was removed; `Ok(false)`: there was none.
pub fn discard(c: &ComponentRestore) -> Result<bool, String> {
    discard_with(c, &mut || {})
}

/// [`discard`], calling `renamed` between the rename and the removal (a fault point).
pub fn discard_with(c: &ComponentRestore, renamed: &mut dyn FnMut()) -> Result<bool, String> {
    let Some(made) = &c.safety_created else {
        return Ok(false);
    };
    let safety = Path::new(&c.safety_folder);
    let retired = retired_name(&c.safety_folder);
    match found(safety, made).map_err(|e| e.to_string())? {
        Found::Same => {
            fsutil::rename_noreplace(safety, &retired).map_err(|e| e.to_string())?;
            fsutil::fsync_dir(Path::new(&c.home)).map_err(|e| e.to_string())?;
        }
        Found::Other => {
            return Err(format!(
                "{} is not the safety folder the restore made; it was left as it is",
                c.safety_folder
            ))
        }
        Found::Absent => {}
    }
    renamed();
    match found(&retired, made).map_err(|e| e.to_string())? {
        Found::Same => {
            fsutil::remove_tree(&retired).map_err(|e| e.to_string())?;
            Ok(true)
        }
        Found::Absent => Ok(false),
        Found::Other => Err(format!(
            "{} is not the safety folder the restore made; it was left as it is",
            retired.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Profile;
    use chrono::Utc;

    fn component(name: &str, status: ComponentState, kept: bool) -> ComponentRestore {
        ComponentRestore {
            slot: Some("backup".into()),
            status,
            safety_copy: kept.then(|| SafetyCopy {
                bytes: 7,
                kept_at: Utc::now(),
                discarded_at: None,
                discarded_because: None,
            }),
            ..ComponentRestore::pending(
                name,
                Profile::Custom,
                format!("/h/{name}"),
                format!("/h/{name}/backup"),
                FolderOrigin::Slot,
                format!("/h/{name}/.pre-restore-R1"),
            )
        }
    }

    fn restore(id: &str, status: RestoreStatus, comps: Vec<ComponentRestore>) -> RestoreRecord {
        let mut r = RestoreRecord::blank(id, "B", status, Utc::now());
        r.components = comps;
        r
    }

    fn why(rec: &RestoreRecord, others: &[RestoreRecord]) -> Option<UndoRefusal> {
        blocker(rec, others.iter()).map(|b| b.why)
    }

    #[test]
    fn what_blocks_an_undo() {
        use ComponentState as C;
        use RestoreStatus as S;
        let done = restore(
            "R1",
            S::Succeeded,
            vec![
                component("hub", C::Restored, true),
                component("lui", C::Restored, true),
            ],
        );
        assert_eq!(why(&done, &[]), None);
        // Later restores of another component, rolled back ones, dry runs and earlier ones
        // change nothing of it.
        let mut dry = restore("R3", S::Planned, vec![component("hub", C::Pending, false)]);
        dry.dry_run = true;
        let others = [
            restore(
                "R0",
                S::Succeeded,
                vec![component("hub", C::Restored, true)],
            ),
            restore(
                "R2",
                S::Succeeded,
                vec![component("trk", C::Restored, true)],
            ),
            dry,
            restore(
                "R4",
                S::Failed,
                vec![component("lui", C::RolledBack, false)],
            ),
            restore(
                "R5",
                S::Interrupted,
                vec![component("hub", C::Pending, false)],
            ),
        ];
        assert_eq!(why(&done, &others), None);
        // A later restore that is running, succeeded, or did not put it back completely.
        for (status, state) in [
            (S::Running, C::Pending),
            (S::Succeeded, C::Restored),
            (S::Failed, C::RollbackIncomplete),
        ] {
            let later = restore("R6", status, vec![component("lui", state, false)]);
            assert_eq!(
                why(&done, &[later]),
                Some(UndoRefusal::Superseded),
                "{status:?}"
            );
        }
        // The copy discarded, or never kept.
        let mut discarded = done.clone();
        if let Some(k) = discarded.components[1].safety_copy.as_mut() {
            k.discarded_at = Some(Utc::now());
        }
        assert_eq!(why(&discarded, &[]), Some(UndoRefusal::SafetyCopyGone));
        let mut none = done.clone();
        none.components[0].safety_copy = None;
        assert_eq!(why(&none, &[]), Some(UndoRefusal::SafetyCopyGone));
        // A remote component whose copy its agent kept is undoable like a local one.
        let mut remote = done.clone();
        remote.components[0].agent = Some("https://agent.example".into());
        assert_eq!(why(&remote, &[]), None);
        // Not undoable at all.
        let failed = restore("R1", S::Failed, done.components.clone());
        assert_eq!(why(&failed, &[]), Some(UndoRefusal::NotUndoable));
        let mut dry = done.clone();
        dry.dry_run = true;
        assert_eq!(why(&dry, &[]), Some(UndoRefusal::NotUndoable));
        // The computed fields.
        let mut shown = discarded.clone();
        annotate(&mut shown, std::iter::empty());
        assert!(!shown.undo_available);
        assert!(shown.undo_unavailable_because.is_some());
        assert_eq!(
            shown.safety_copy_bytes, 7,
            "only the copy still kept counts"
        );
    }
}
