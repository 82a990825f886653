//! Applying one component here: on the master for a local component, on its agent's
//! machine for a remote one (`crate::agent::restore`).
//!
//! # Apply, per component, in config order
//! 1. The home side of the plan is computed again ([`refresh_home`]) and the component is
//!    recorded `applying` (fsynced) **before** anything in its home changes. From then on a
//!    crash is rolled back at the next start.
//! 2. `<home>/.pre-restore-<id>/` is created **exclusively** (one that exists already was not
//!    made by this restore: the restore fails there, before any change, naming it). The
//!    folder's identity (device, inode) and the identity of every path of `remove` are recorded
//!    (fsynced) **before** anything is moved into it; then each path is renamed into it (same
//!    file system: atomic, never over an existing entry), keeping its place relative to the
//!    home. The folders involved are fsynced; a failed fsync fails the step.
//! 3. Missing folders (`create_dirs`) are created (exclusively) and recorded; the `copy`
//!    entries are copied out of the backup folder with the engine's tree copy
//!    ([`tree_copy::copy_items`]): real copies with new inodes, modes, mtimes and symbolic links
//!    kept, empty folders kept, never a hard link into the backup. Before each copy its targets
//!    are checked free and recorded (`copy_started`). Every file's SHA-256, computed while
//!    copying, must equal its line in the folder's `SHA256SUMS`: a file changed since
//!    verification fails the restore.
//! 4. Lines are appended (`edit`), everything written is flushed (`syncfs`), and the component
//!    is recorded `applied`.

use crate::store::restore_record::RestoreRecord;
use std::collections::BTreeSet;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::{flush_steps, found, now, owned_entry, pending, sync_dirs, ApplyError, Found, Journal};
use crate::engine::faults::{Faults, PLANTED};
use crate::engine::fsutil::{self, IoContext, IoError};
use crate::engine::sums::{SumsSource, SUMS_FILE_NAME};
use crate::engine::tree_copy::{self, CopyRequest};
use crate::engine::CancelToken;
use crate::restore::plan::refresh_home;
use crate::restore::record::{ComponentRestore, ComponentState, StepAction};
use crate::store::local::COPY_WORKERS;

/// Applies component `i` (see the module doc). Any error leaves it for the rollback.
pub fn apply_component(
    journal: &dyn Journal<RestoreRecord>,
    faults: &Faults,
    i: usize,
) -> Result<(), ApplyError> {
    let mut plan = journal
        .snapshot()
        .components
        .get(i)
        .cloned()
        .ok_or(ApplyError::NotInRecord(i))?;
    let name = plan.name.clone();
    refresh_home(&mut plan).map_err(|problems| ApplyError::Home {
        name: name.clone(),
        problems,
    })?;
    journal
        .update(&mut |r| {
            if let Some(c) = r.components.get_mut(i) {
                c.remove = plan.remove.clone();
                c.create_dirs = plan.create_dirs.clone();
                c.folder_times = plan.folder_times.clone();
                c.status = ComponentState::Applying;
                c.started_at = Some(now());
            }
            r.step(StepAction::ComponentStarted, Some(&name), None, None, None);
        })
        .map_err(|source| ApplyError::RecordStart {
            name: name.clone(),
            source,
        })?;
    if let Err(e) = apply_steps(journal, faults, i, &plan) {
        let e = ApplyError::Step {
            name: name.clone(),
            source: Box::new(e),
        };
        let msg = e.to_string();
        journal.update_or_log("the component's error", &mut |r| {
            if let Some(c) = r.components.get_mut(i) {
                c.errors.push(msg.clone());
            }
        });
        return Err(e);
    }
    journal
        .update(&mut |r| {
            if let Some(c) = r.components.get_mut(i) {
                c.status = ComponentState::Applied;
                c.finished_at = Some(now());
            }
            r.step(StepAction::ComponentApplied, Some(&name), None, None, None);
        })
        .map_err(|source| ApplyError::RecordEnd {
            name: name.clone(),
            source,
        })?;
    if faults.restore_fail_after.contains(&name) {
        return Err(ApplyError::InjectedFailAfter(name));
    }
    Ok(())
}

pub(super) fn apply_steps(
    journal: &dyn Journal<RestoreRecord>,
    faults: &Faults,
    i: usize,
    plan: &ComponentRestore,
) -> Result<(), ApplyError> {
    let name = plan.name.as_str();
    let home = PathBuf::from(&plan.home);
    let safety = PathBuf::from(&plan.safety_folder);
    let folder = PathBuf::from(&plan.source_folder);
    let mut steps = Vec::new();

    // What is about to move, then the safety folder, created exclusively; both recorded before
    // anything is moved into it.
    if faults.restore_plant_safety.contains(name) {
        plant_safety_folder(plan, &home, &safety)?;
    }
    let mut aside = Vec::with_capacity(plan.remove.len());
    for p in &plan.remove {
        let e = owned_entry(Path::new(p)).ctx("reading metadata of", Path::new(p))?;
        aside.push(e);
    }
    match fs::DirBuilder::new().mode(0o700).create(&safety) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(ApplyError::SafetyFolderExists(safety))
        }
        Err(e) => return Err(IoError::new("creating folder", &safety, e).into()),
    }
    let made = owned_entry(&safety).ctx("reading metadata of", &safety)?;
    steps.push(pending(
        StepAction::CreatedSafetyFolder,
        plan.safety_folder.clone(),
        None,
        None,
    ));
    flush_steps(journal, name, &mut steps, &mut |r| {
        if let Some(c) = r.components.get_mut(i) {
            c.safety_created = Some(made.clone());
            c.moved_aside = aside.clone();
        }
    })
    .map_err(ApplyError::Record)?;
    fsutil::fsync_dir(&home)?;

    let mut to_sync: BTreeSet<PathBuf> = BTreeSet::new();
    to_sync.insert(home.clone());
    to_sync.insert(safety.clone());
    let mut moved = Ok(());
    for e in &aside {
        let src = Path::new(&e.path);
        let Ok(rel) = src.strip_prefix(&home) else {
            moved = Err(ApplyError::OutsideHome(e.path.clone()));
            break;
        };
        let dst = safety.join(rel);
        let r = (|| {
            if let Some(parent) = dst.parent() {
                fs::create_dir_all(parent).ctx("creating folder", parent)?;
                to_sync.insert(parent.to_path_buf());
            }
            fsutil::rename_noreplace(src, &dst)?;
            if let Some(parent) = src.parent() {
                to_sync.insert(parent.to_path_buf());
            }
            if !matches!(found(&dst, e)?, Found::Same) {
                return Err(fsutil::IoError::new(
                    "moving aside",
                    src,
                    io::Error::other("it was replaced while it was moved"),
                ));
            }
            Ok::<(), fsutil::IoError>(())
        })();
        if let Err(err) = r {
            moved = Err(err.into());
            break;
        }
        steps.push(pending(
            StepAction::MovedAside,
            e.path.clone(),
            Some(dst.display().to_string()),
            None,
        ));
    }
    let fail = faults.restore_fsync_fail.contains(name);
    if moved.is_ok() {
        if let Some(e) = sync_dirs(&to_sync, fail).into_iter().next() {
            moved = Err(e.into());
        }
    }
    flush_steps(journal, name, &mut steps, &mut |_| {}).map_err(ApplyError::Record)?;
    moved?;

    // Missing folders, each created exclusively (one that appeared meanwhile is someone
    // else's) and recorded before anything is copied into it.
    let mut created = Vec::new();
    let mut made = Ok(());
    for d in &plan.create_dirs {
        if let Err(e) = fs::create_dir(d) {
            made = Err(IoError::new("creating folder", d, e));
            break;
        }
        created.push(d.clone());
        steps.push(pending(StepAction::CreatedFolder, d.clone(), None, None));
    }
    flush_steps(journal, name, &mut steps, &mut |r| {
        if let Some(c) = r.components.get_mut(i) {
            c.created_dirs.extend(created.iter().cloned());
        }
    })
    .map_err(ApplyError::Record)?;
    made?;

    // Copy, one tree-copy call per (source folder, destination folder) pair.
    // The list is read once here (and sorted on disk in the home's folder if it was made by
    // hand out of order); each copy below is checked against it in path order.
    // An undo copies back from the undone restore's safety folder, which has no list: each
    // entry copied must still be the one that restore moved there (checked right before).
    let sums = match &plan.undo {
        Some(undo) => {
            for e in &undo.sources {
                if !matches!(found(Path::new(&e.path), e)?, Found::Same) {
                    return Err(ApplyError::NotUndoSource(e.path.clone()));
                }
            }
            None
        }
        None => Some(SumsSource::open(&folder.join(SUMS_FILE_NAME), &home)?),
    };
    let mut groups: Vec<(PathBuf, PathBuf, Vec<String>, Vec<usize>)> = Vec::new();
    for (k, op) in plan.copy.iter().enumerate() {
        let (from, to) = (Path::new(&op.from), Path::new(&op.to));
        let (Some(fp), Some(tp), Some(fname), Some(tname)) =
            (from.parent(), to.parent(), from.file_name(), to.file_name())
        else {
            return Err(ApplyError::CopyPair {
                from: op.from.clone(),
                to: op.to.clone(),
            });
        };
        if fname != tname {
            return Err(ApplyError::NamesDiffer {
                from: op.from.clone(),
                to: op.to.clone(),
            });
        }
        let item = fname.to_string_lossy().into_owned();
        match groups.iter_mut().find(|g| g.0 == fp && g.1 == tp) {
            Some(g) => {
                g.2.push(item);
                g.3.push(k);
            }
            None => groups.push((fp.to_path_buf(), tp.to_path_buf(), vec![item], vec![k])),
        }
    }
    for (src_parent, dst_parent, items, ops) in groups {
        // Every target is free now (moved aside, or never there): record that this restore
        // copies into them, so a rollback removes these and nothing else.
        let targets: Vec<String> = ops
            .iter()
            .filter_map(|k| plan.copy.get(*k).map(|op| op.to.clone()))
            .collect();
        if let Some(t) = targets
            .iter()
            .find(|t| fsutil::exists_nofollow(Path::new(t)))
        {
            return Err(ApplyError::Appeared(t.clone()));
        }
        journal
            .update(&mut |r| {
                if let Some(c) = r.components.get_mut(i) {
                    for t in &targets {
                        if !c.copy_started.contains(t) {
                            c.copy_started.push(t.clone());
                        }
                    }
                }
            })
            .map_err(ApplyError::RecordCopy)?;
        let req = CopyRequest {
            home: src_parent.clone(),
            items,
            dest: dst_parent.clone(),
            previous: None,
            must_not_contain: vec![],
            workers: COPY_WORKERS,
            slow_copy: faults.restore_slow,
            inject_enospc: false,
            skip_change_check: false,
        };
        let outcome =
            tree_copy::copy_items(&req, &CancelToken::new(), &|_| {}).map_err(|source| {
                ApplyError::Copy {
                    dest: dst_parent.clone(),
                    source,
                }
            })?;
        let src_rel = src_parent.strip_prefix(&folder).unwrap_or(Path::new(""));
        let (stats, listing) = (outcome.stats, outcome.listing);
        if let Some(sums) = &sums {
            check_copied(&folder, src_rel, listing, sums)?;
        }
        for k in ops {
            if let Some(op) = plan.copy.get(k) {
                steps.push(pending(
                    StepAction::Copied,
                    op.to.clone(),
                    None,
                    Some(format!("from {}", op.from)),
                ));
            }
        }
        let files = stats.files_copied + stats.files_cloned;
        let bytes = stats.bytes_copied + stats.bytes_cloned;
        flush_steps(journal, name, &mut steps, &mut |r| {
            if let Some(c) = r.components.get_mut(i) {
                c.files += files;
                c.bytes += bytes;
                c.files_cloned += stats.files_cloned;
                c.bytes_cloned += stats.bytes_cloned;
            }
        })
        .map_err(ApplyError::Record)?;
    }

    for e in &plan.edit {
        append_line(Path::new(&e.path), &e.append)?;
        steps.push(pending(
            StepAction::Edited,
            e.path.clone(),
            None,
            Some(format!("appended {:?}", e.append)),
        ));
    }
    fsutil::sync_tree(&home)?;
    flush_steps(journal, name, &mut steps, &mut |_| {}).map_err(ApplyError::Record)
}

/// The `restore_plant_safety` fault: something else creates the safety folder first, with an
/// entry of the same kind at the place of each path about to be moved aside.
fn plant_safety_folder(
    plan: &ComponentRestore,
    home: &Path,
    safety: &Path,
) -> Result<(), ApplyError> {
    let plant = || -> io::Result<()> {
        fs::create_dir(safety)?;
        for p in &plan.remove {
            let Ok(rel) = Path::new(p).strip_prefix(home) else {
                continue;
            };
            let dst = safety.join(rel);
            if let Some(parent) = dst.parent() {
                fs::create_dir_all(parent)?;
            }
            if fs::symlink_metadata(p)?.is_dir() {
                fs::create_dir(&dst)?;
                fs::write(dst.join(PLANTED), PLANTED)?;
            } else {
                fs::write(&dst, PLANTED)?;
            }
        }
        Ok(())
    };
    plant().map_err(ApplyError::InjectedPlant)
}

/// Every file one copy put in place has the digest `SHA256SUMS` lists for it: the copy's
/// listing (paths relative to `src_rel` inside `folder`) and the list are read side by side,
/// both in path order.
fn check_copied(
    folder: &Path,
    src_rel: &Path,
    listing: tree_copy::Listing,
    sums: &SumsSource,
) -> Result<(), ApplyError> {
    let mut listed = sums.entries()?.peekable();
    for copied in listing {
        let copied = copied?;
        let key = src_rel.join(std::ffi::OsStr::from_bytes(&copied.rel));
        let key = key.as_os_str().as_bytes();
        let expected = loop {
            match listed.peek() {
                Some(Ok((p, _))) if p.as_slice() < key => {
                    listed.next();
                }
                Some(Ok((p, sha))) if p.as_slice() == key => break Some(*sha),
                Some(Ok(_)) | None => break None,
                Some(Err(_)) => {
                    if let Some(Err(e)) = listed.next() {
                        return Err(e.into());
                    }
                }
            }
        };
        let shown = || {
            folder
                .join(std::ffi::OsStr::from_bytes(key))
                .display()
                .to_string()
        };
        match expected {
            Some(sha) if sha == copied.sha256 => {}
            Some(_) => return Err(ApplyError::Changed(shown())),
            None => return Err(ApplyError::Unlisted(shown())),
        }
    }
    Ok(())
}

/// Appends `line` to the (freshly restored) file at `path`: a line ending first when the file
/// does not end with one, and the file's own line ending (CRLF when its last line has one).
/// An older line with the same key (`RestoreFromBackup=`, any case) is dropped first, so the
/// component sees exactly one. Never follows a symbolic link, never reads anything but a
/// regular file (a FIFO at that name would block the read).
pub fn append_line(path: &Path, line: &str) -> Result<(), ApplyError> {
    let err = |op: &'static str, e: io::Error| IoError::new(op, path, e);
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| err("opening", e))?;
    let ft = f
        .metadata()
        .map_err(|e| err("reading metadata of", e))?
        .file_type();
    if !ft.is_file() {
        return Err(ApplyError::NotRegular {
            path: path.to_path_buf(),
            what: fsutil::describe_type(ft),
        });
    }
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).map_err(|e| err("reading", e))?;
    let eol: &[u8] = if bytes.ends_with(b"\r\n") {
        b"\r\n"
    } else {
        b"\n"
    };
    let key = line.split('=').next().unwrap_or(line);
    let is_key = |l: &[u8]| {
        let t = l.trim_ascii_start();
        t.len() > key.len()
            && t[..key.len()].eq_ignore_ascii_case(key.as_bytes())
            && t[key.len()..].trim_ascii_start().starts_with(b"=")
    };
    let had_key = bytes.split(|&b| b == b'\n').any(is_key);
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len() + line.len() + 2);
    if had_key {
        for l in bytes.split_inclusive(|&b| b == b'\n') {
            if !is_key(l) {
                out.extend_from_slice(l);
            }
        }
    } else {
        out = bytes;
    }
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.extend_from_slice(eol);
    }
    out.extend_from_slice(line.as_bytes());
    out.extend_from_slice(eol);
    f.set_len(0).map_err(|e| err("truncating", e))?;
    std::os::unix::fs::FileExt::write_all_at(&f, &out, 0).map_err(|e| err("writing", e))?;
    f.flush().map_err(|e| err("writing", e))?;
    f.sync_all().map_err(|e| err("syncing", e))?;
    Ok(())
}
