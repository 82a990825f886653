//! The plan of a restore (also what a dry run returns): for one component, from its backup
//! folder and its home, every path removed (moved to the safety folder), copied and edited,
//! following the profile's restore rule (README, *Profiles*). Making a plan only reads the disk.
//!
//! | profile | plan |
//! |---|---|
//! | maestro-hub | replace `hub.ini`, `accountreg/`, `hubreg/` |
//! | maestro-lui | replace `lui.ini`, `luidata/`, `registry/`; a `my.ini` in the backup is listed under `skip`, never copied; append `RestoreFromBackup=<backup folder>` to the restored `lui.ini` |
//! | maestro-tracker | replace `tracker.ini` and `data/`; a backup without `data/` but with `*.dat` files (before Maestro 2.0-4) replaces the home's `data/*.dat` with the backup's `*.dat` (and `tracker.ini` when the backup has one) |
//! | custom | replace the configured items |
//!
//! "Replace" means: the home path, when it exists, is moved into the safety folder; the
//! backup's entry is copied in. The names `*.dat` are matched without regard to case.
//!
//! The home side of a plan (what exists now, what must be created, folder times) is computed by
//! [`refresh_home`], which apply calls again right before it changes anything, so a file that
//! appeared in between is moved aside too.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use super::record::{
    ComponentRestore, CopyOp, EditOp, EntryKind, FolderOrigin, FolderTime, Layout, SkipOp,
};
use crate::engine::{ComponentSpec, Profile};
use crate::store::local::effective_items;

/// The line the Maestro User Interface reads at its next start (Maestro admin manual, 11.7).
pub const LUI_RESTORE_KEY: &str = "RestoreFromBackup=";

/// Prefix of the safety folder in a home: `<home>/.pre-restore-<restore id>`.
pub const SAFETY_PREFIX: &str = ".pre-restore-";

/// A reason the component cannot be restored as asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlanIssue {
    /// The backup folder does not hold what the profile needs (a client-side choice: 422).
    Folder(String),
    /// The home is not in a state a restore can work on (409).
    Home(String),
}

/// What [`plan_component`] needs.
pub struct PlanInput<'a> {
    pub restore_id: &'a str,
    pub spec: &'a ComponentSpec,
    /// The backup folder (absolute).
    pub folder: &'a Path,
    pub origin: FolderOrigin,
    pub slot: Option<String>,
}

/// `<home>/.pre-restore-<id>`.
pub fn safety_folder(home: &Path, restore_id: &str) -> PathBuf {
    home.join(format!("{SAFETY_PREFIX}{restore_id}"))
}

fn utf8(p: &Path) -> Option<String> {
    p.to_str().map(String::from)
}

pub(super) fn kind_of(meta: &fs::Metadata) -> EntryKind {
    let ft = meta.file_type();
    if ft.is_symlink() {
        EntryKind::Symlink
    } else if ft.is_dir() {
        EntryKind::Folder
    } else {
        EntryKind::File
    }
}

/// True for a name matching `*.dat` (any case).
pub fn is_dat(name: &OsStr) -> bool {
    let b = name.as_encoded_bytes();
    b.len() > 4 && b[b.len() - 4..].eq_ignore_ascii_case(b".dat")
}

/// An item as a plain relative path and whether it must be a folder; `None` for anything that
/// is not a plain relative path.
fn normalise_item(item: &str) -> Option<(PathBuf, bool)> {
    let must_be_dir = item.ends_with('/');
    let mut rel = PathBuf::new();
    for c in Path::new(item.trim_end_matches('/')).components() {
        match c {
            Component::Normal(n) => rel.push(n),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!rel.as_os_str().is_empty()).then_some((rel, must_be_dir))
}

/// Why a folder on the way to a restored path cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AncestorIssue {
    #[error("{} is a symbolic link; a restore never writes through links", .0.display())]
    Link(PathBuf),
    #[error("{} is not a folder", .0.display())]
    NotFolder(PathBuf),
    #[error("{}: {source}", .path.display())]
    Unreadable { path: PathBuf, source: io::Error },
}

/// Checks every folder between `root` and `rel`'s last part is a real folder (never a link).
/// Returns the missing ones (relative, top-down) or a problem.
fn ancestors(root: &Path, rel: &Path) -> Result<Vec<PathBuf>, AncestorIssue> {
    let parts: Vec<_> = rel.components().collect();
    let mut prefix = PathBuf::new();
    let mut missing = Vec::new();
    for c in &parts[..parts.len().saturating_sub(1)] {
        prefix.push(c);
        let p = root.join(&prefix);
        match fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => {}
            Ok(m) if m.file_type().is_symlink() => return Err(AncestorIssue::Link(p)),
            Ok(_) => return Err(AncestorIssue::NotFolder(p)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => missing.push(prefix.clone()),
            Err(source) => return Err(AncestorIssue::Unreadable { path: p, source }),
        }
    }
    Ok(missing)
}

/// Makes the plan of one component. Only reads the disk.
pub fn plan_component(input: &PlanInput<'_>) -> Result<ComponentRestore, Vec<PlanIssue>> {
    let spec = input.spec;
    let folder = input.folder;
    let home = &spec.home;
    let mut problems = Vec::new();
    let fold = |m: String| PlanIssue::Folder(m);

    let (Some(home_s), Some(folder_s)) = (utf8(home), utf8(folder)) else {
        return Err(vec![PlanIssue::Home(format!(
            "the home {} or the backup folder {} is not a UTF-8 path",
            home.display(),
            folder.display()
        ))]);
    };
    match fs::metadata(home) {
        Ok(m) if m.is_dir() => {}
        _ => {
            return Err(vec![PlanIssue::Home(format!(
                "the home {home_s} is not a folder"
            ))])
        }
    }
    match fs::metadata(folder) {
        Ok(m) if m.is_dir() => {}
        _ => return Err(vec![fold(format!("{folder_s} is not a folder"))]),
    }

    // Which layout: only the tracker has two.
    let mut layout = Layout::Items;
    let mut dats: Vec<String> = Vec::new();
    if spec.profile == Profile::MaestroTracker {
        match fs::symlink_metadata(folder.join("data")) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => problems.push(fold(format!("{folder_s}/data is not a folder"))),
            Err(_) => {
                let entries = fs::read_dir(folder)
                    .map_err(|e| vec![fold(format!("listing {folder_s}: {e}"))])?;
                for e in entries.flatten() {
                    let name = e.file_name();
                    let is_file = e.file_type().map(|t| !t.is_dir()).unwrap_or(false);
                    if is_file && is_dat(&name) {
                        match name.to_str() {
                            Some(n) => dats.push(n.to_string()),
                            None => problems.push(fold(format!(
                                "{}: a file name that is not UTF-8",
                                e.path().display()
                            ))),
                        }
                    }
                }
                dats.sort();
                if dats.is_empty() && problems.is_empty() {
                    problems.push(fold(format!(
                        "{folder_s} holds neither data/ nor *.dat files: not a tracker backup"
                    )));
                }
                layout = Layout::OldStyleDat;
            }
        }
    }

    let mut copy = Vec::new();
    let mut skip = Vec::new();
    let mut edit = Vec::new();
    let mut push_item =
        |rel: &Path, must_be_dir: bool, to: PathBuf, problems: &mut Vec<PlanIssue>| {
            if let Err(e) = ancestors(folder, rel) {
                problems.push(fold(e.to_string()));
                return;
            }
            let from = folder.join(rel);
            match fs::symlink_metadata(&from) {
                Ok(m) if must_be_dir && !m.is_dir() => {
                    problems.push(fold(format!("{} must be a folder", from.display())))
                }
                Ok(m) => match (utf8(&from), utf8(&to)) {
                    (Some(f), Some(t)) => copy.push(CopyOp {
                        from: f,
                        to: t,
                        kind: kind_of(&m),
                    }),
                    _ => problems.push(fold(format!("{}: not a UTF-8 path", from.display()))),
                },
                Err(e) => problems.push(fold(format!(
                    "the backup has no {} ({}): {e}",
                    rel.display(),
                    from.display()
                ))),
            }
        };

    match layout {
        Layout::Items => {
            let items = effective_items(spec);
            if items.is_empty() {
                return Err(vec![PlanIssue::Home(format!(
                    "component {} has no items configured",
                    spec.name
                ))]);
            }
            let mut rels: Vec<(PathBuf, bool)> = Vec::new();
            for item in &items {
                match normalise_item(item) {
                    Some(r) => rels.push(r),
                    None => problems.push(PlanIssue::Home(format!(
                        "item {item:?} is not a plain relative path"
                    ))),
                }
            }
            // Nested or repeated items: keep the outermost (it holds the others).
            rels.sort();
            let mut kept: Vec<(PathBuf, bool)> = Vec::new();
            for r in rels {
                if !kept.iter().any(|k| r.0.starts_with(&k.0)) {
                    kept.push(r);
                }
            }
            for (rel, dir) in &kept {
                push_item(rel, *dir, home.join(rel), &mut problems);
            }
        }
        Layout::OldStyleDat => {
            if fs::symlink_metadata(folder.join("tracker.ini")).is_ok() {
                push_item(
                    Path::new("tracker.ini"),
                    false,
                    home.join("tracker.ini"),
                    &mut problems,
                );
            } else {
                skip.push(SkipOp {
                    path: format!("{folder_s}/tracker.ini"),
                    reason: "not in this old-style backup: the home's tracker.ini is kept".into(),
                });
            }
            for d in &dats {
                push_item(
                    Path::new(d),
                    false,
                    home.join("data").join(d),
                    &mut problems,
                );
            }
        }
    }

    if spec.profile == Profile::MaestroLui {
        let my_ini = folder.join("my.ini");
        if fs::symlink_metadata(&my_ini).is_ok() {
            skip.push(SkipOp {
                path: my_ini.display().to_string(),
                reason:
                    "a my.ini from a backup of Maestro before 2.1 is never restored (Maestro admin manual, 11.7)"
                        .into(),
            });
        }
        if folder_s.contains(['\n', '\r']) {
            problems.push(fold(format!(
                "{folder_s:?} cannot be written on one line of lui.ini"
            )));
        }
        let lui_ini = home.join("lui.ini").display().to_string();
        if let Some(c) = copy.iter().find(|c| c.to == lui_ini) {
            if c.kind != EntryKind::File {
                problems.push(fold(format!(
                    "{} is not a regular file, so the RestoreFromBackup line cannot be added",
                    c.from
                )));
            }
            edit.push(EditOp {
                path: lui_ini,
                append: format!("{LUI_RESTORE_KEY}{folder_s}"),
            });
        }
    }

    // The backup folder must not be one of the paths the restore replaces, nor inside one:
    // moving it aside would pull the backup from under the copy.
    let canon_folder = fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf());
    let canon_home = fs::canonicalize(home).unwrap_or_else(|_| home.clone());
    for c in &copy {
        let rel = Path::new(&c.to).strip_prefix(home).unwrap_or(Path::new(""));
        for t in [Path::new(&c.to).to_path_buf(), canon_home.join(rel)] {
            if canon_folder.starts_with(&t)
                || folder.starts_with(&t)
                || t.starts_with(&canon_folder)
                || t.starts_with(folder)
            {
                problems.push(fold(format!(
                    "the backup folder {folder_s} lies inside {}, which the restore replaces",
                    t.display()
                )));
                break;
            }
        }
    }

    let mut plan = ComponentRestore {
        slot: input.slot.clone(),
        layout,
        copy,
        edit,
        skip,
        ..ComponentRestore::pending(
            &spec.name,
            spec.profile,
            home_s,
            folder_s,
            input.origin,
            safety_folder(home, input.restore_id).display().to_string(),
        )
    };
    if fs::symlink_metadata(&plan.safety_folder).is_ok() {
        problems.push(PlanIssue::Home(format!(
            "{} exists already",
            plan.safety_folder
        )));
    }
    if let Err(e) = refresh_home(&mut plan) {
        problems.extend(e.into_iter().map(PlanIssue::Home));
    }
    if problems.is_empty() {
        Ok(plan)
    } else {
        Err(problems)
    }
}

/// The restore sources that the restore itself would destroy: the backup folder a component is
/// restored from (a slot, an imported folder, a `source_folders` entry) must not be, contain or
/// lie inside a path that the plan of **another** component of the same restore replaces (its
/// apply moves that path into its safety folder, and the commit deletes it). Plans are
/// compared only on the same machine (local ones, or those of one agent), as written and, on
/// this machine, with links resolved. (A source against its own component's items:
/// [`plan_component`].) Returns, per clash, the index of the plan whose source it is and a
/// message.
pub fn source_clashes(plans: &[ComponentRestore]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, a) in plans.iter().enumerate() {
        // Links are resolved only on this machine; an agent's paths are compared as written.
        let resolve = |p: &Path| match a.agent {
            None => fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()),
            Some(_) => p.to_path_buf(),
        };
        let src = Path::new(&a.source_folder);
        let forms = [src.to_path_buf(), resolve(src)];
        'other: for (j, b) in plans.iter().enumerate() {
            if i == j || a.agent != b.agent {
                continue;
            }
            let home = Path::new(&b.home);
            let canon_home = resolve(home);
            for t in b.targets() {
                let t = Path::new(&t);
                let resolved = t.strip_prefix(home).map(|rel| canon_home.join(rel));
                for target in std::iter::once(t.to_path_buf()).chain(resolved) {
                    let relation = forms.iter().find_map(|f| {
                        if *f == target {
                            Some("is")
                        } else if f.starts_with(&target) {
                            Some("lies inside")
                        } else if target.starts_with(f) {
                            Some("holds")
                        } else {
                            None
                        }
                    });
                    if let Some(relation) = relation {
                        out.push((
                            i,
                            format!(
                                "the folder {} that {} is restored from {relation} {}, which the \
                                 restore of {} replaces: it would be moved aside and deleted \
                                 (restore these components separately, or move the folder)",
                                a.source_folder,
                                a.name,
                                t.display(),
                                b.name
                            ),
                        ));
                        continue 'other;
                    }
                }
            }
        }
    }
    out
}

/// Computes the home side of a plan from the disk as it is now: `remove` (every target that
/// exists, and for an old-style tracker backup every `data/*.dat`), `create_dirs` (missing
/// folders on the way to a target) and `folder_times`. Only reads the disk.
pub fn refresh_home(plan: &mut ComponentRestore) -> Result<(), Vec<String>> {
    let home = PathBuf::from(&plan.home);
    let mut problems = Vec::new();
    let mut remove: BTreeSet<String> = BTreeSet::new();
    let mut create: Vec<PathBuf> = Vec::new();
    let mut parents: BTreeSet<PathBuf> = BTreeSet::new();
    parents.insert(home.clone());

    if plan.layout == Layout::OldStyleDat {
        let data = home.join("data");
        match fs::symlink_metadata(&data) {
            Ok(m) if m.is_dir() => match fs::read_dir(&data) {
                Ok(entries) => {
                    for e in entries.flatten() {
                        let name = e.file_name();
                        let not_dir = e.file_type().map(|t| !t.is_dir()).unwrap_or(false);
                        if not_dir && is_dat(&name) {
                            match utf8(&e.path()) {
                                Some(p) => {
                                    remove.insert(p);
                                }
                                None => problems.push(format!(
                                    "{}: a file name that is not UTF-8",
                                    e.path().display()
                                )),
                            }
                        }
                    }
                }
                Err(e) => problems.push(format!("listing {}: {e}", data.display())),
            },
            Ok(_) => problems.push(format!(
                "{} is not a folder (a link or a file)",
                data.display()
            )),
            Err(_) => {}
        }
    }
    for c in &plan.copy {
        let to = Path::new(&c.to);
        let Ok(rel) = to.strip_prefix(&home) else {
            problems.push(format!("{} is outside the home", c.to));
            continue;
        };
        match ancestors(&home, rel) {
            Ok(missing) => {
                for m in missing {
                    let p = home.join(m);
                    if !create.contains(&p) {
                        create.push(p);
                    }
                }
            }
            Err(e) => problems.push(e.to_string()),
        }
        if let Some(parent) = to.parent() {
            parents.insert(parent.to_path_buf());
        }
        if fs::symlink_metadata(to).is_ok() {
            remove.insert(c.to.clone());
        }
    }
    // An undo also moves aside what the undone restore made (copied in, or created).
    for p in plan.undo.iter().flat_map(|u| u.remove.iter()) {
        if !Path::new(p).starts_with(&home) {
            problems.push(format!("{p} is outside the home"));
            continue;
        }
        if let Some(parent) = Path::new(p).parent() {
            parents.insert(parent.to_path_buf());
        }
        if fs::symlink_metadata(p).is_ok() {
            remove.insert(p.clone());
        }
    }
    // A path inside another one to move aside goes with it.
    let all = remove.clone();
    remove.retain(|p| {
        !Path::new(p)
            .ancestors()
            .skip(1)
            .any(|a| a.to_str().is_some_and(|a| all.contains(a)))
    });
    let mut times = Vec::new();
    for p in &parents {
        if let Ok(m) = fs::symlink_metadata(p) {
            if m.is_dir() {
                times.push(FolderTime {
                    path: p.display().to_string(),
                    mtime_s: m.mtime(),
                    mtime_ns: m.mtime_nsec(),
                });
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    plan.remove = remove.into_iter().collect();
    plan.create_dirs = create.iter().map(|p| p.display().to_string()).collect();
    plan.folder_times = times;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn spec(root: &Path, name: &str, profile: Profile, items: &[&str]) -> ComponentSpec {
        ComponentSpec {
            name: name.into(),
            profile,
            home: root.join(name),
            backup_folder: root.join(name).join("backup"),
            keep: 1,
            items: items.iter().map(|s| s.to_string()).collect(),
            consistency: Default::default(),
            read_point: None,
        }
    }

    fn w(p: &Path, s: &str) {
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, s).unwrap();
    }

    fn input<'a>(spec: &'a ComponentSpec, folder: &'a Path) -> PlanInput<'a> {
        PlanInput {
            restore_id: "R20261126T101500Z",
            spec,
            folder,
            origin: FolderOrigin::Slot,
            slot: Some("backup".into()),
        }
    }

    #[test]
    fn lui_plan_skips_my_ini_and_appends_the_line() {
        let root = tempfile::tempdir().unwrap();
        let s = spec(root.path(), "lui", Profile::MaestroLui, &[]);
        let b = s.backup_folder.clone();
        for f in ["lui.ini", "luidata/a", "registry/r", "my.ini"] {
            w(&b.join(f), "x");
        }
        w(&s.home.join("lui.ini"), "old");
        w(&s.home.join("luidata/old"), "old");
        let p = plan_component(&input(&s, &b)).unwrap();
        let h = s.home.display().to_string();
        assert_eq!(
            p.remove,
            vec![format!("{h}/lui.ini"), format!("{h}/luidata")]
        );
        let tos: Vec<&str> = p.copy.iter().map(|c| c.to.as_str()).collect();
        assert_eq!(
            tos,
            [
                format!("{h}/lui.ini"),
                format!("{h}/luidata"),
                format!("{h}/registry")
            ]
        );
        assert_eq!(p.copy[1].kind, EntryKind::Folder);
        assert_eq!(p.skip.len(), 1);
        assert!(p.skip[0].path.ends_with("/backup/my.ini"));
        assert_eq!(
            p.edit,
            vec![EditOp {
                path: format!("{h}/lui.ini"),
                append: format!("RestoreFromBackup={}", b.display())
            }]
        );
        assert!(p
            .safety_folder
            .ends_with("/lui/.pre-restore-R20261126T101500Z"));
        assert!(p.create_dirs.is_empty());
        assert_eq!(p.folder_times.len(), 1, "only the home is a parent");
    }

    #[test]
    fn old_style_tracker_plan() {
        let root = tempfile::tempdir().unwrap();
        let s = spec(root.path(), "trk", Profile::MaestroTracker, &[]);
        let b = root.path().join("tape");
        w(&b.join("a.dat"), "a");
        w(&b.join("B.DAT"), "b");
        w(&b.join("notes.txt"), "n");
        w(&s.home.join("data/old.dat"), "o");
        w(&s.home.join("data/a.dat"), "o");
        w(&s.home.join("data/keep.txt"), "k");
        w(&s.home.join("tracker.ini"), "t");
        let p = plan_component(&input(&s, &b)).unwrap();
        let h = s.home.display().to_string();
        assert_eq!(p.layout, Layout::OldStyleDat);
        assert_eq!(
            p.remove,
            vec![format!("{h}/data/a.dat"), format!("{h}/data/old.dat")]
        );
        let tos: Vec<&str> = p.copy.iter().map(|c| c.to.as_str()).collect();
        assert_eq!(tos, [format!("{h}/data/B.DAT"), format!("{h}/data/a.dat")]);
        assert_eq!(p.skip.len(), 1, "no tracker.ini in the backup: kept");
        // Without a data/ folder in the home, it is created.
        fs::remove_dir_all(s.home.join("data")).unwrap();
        let p = plan_component(&input(&s, &b)).unwrap();
        assert_eq!(p.create_dirs, vec![format!("{h}/data")]);
        assert!(p.remove.is_empty());
        // Neither data/ nor *.dat: refused.
        let empty = root.path().join("empty");
        fs::create_dir_all(&empty).unwrap();
        let e = plan_component(&input(&s, &empty)).unwrap_err();
        assert!(
            matches!(&e[0], PlanIssue::Folder(m) if m.contains("neither")),
            "{e:?}"
        );
    }

    #[test]
    fn refusals() {
        let root = tempfile::tempdir().unwrap();
        let s = spec(root.path(), "hub", Profile::MaestroHub, &[]);
        let b = s.backup_folder.clone();
        w(&b.join("hub.ini"), "x");
        w(&b.join("accountreg"), "a file, not a folder");
        let e = plan_component(&input(&s, &b)).unwrap_err();
        let all = format!("{e:?}");
        assert!(all.contains("must be a folder"), "{all}");
        assert!(all.contains("has no hubreg"), "{all}");
        // A backup folder inside an item is refused.
        let c = spec(root.path(), "app", Profile::Custom, &["data/"]);
        let inside = c.home.join("data/restored");
        w(&inside.join("data/x"), "x");
        let e = plan_component(&input(&c, &inside)).unwrap_err();
        assert!(format!("{e:?}").contains("lies inside"), "{e:?}");
        // A home folder on the way that is a link.
        let c = spec(root.path(), "cst", Profile::Custom, &["conf/app.ini"]);
        let b = root.path().join("cst-backup");
        w(&b.join("conf/app.ini"), "x");
        fs::create_dir_all(&c.home).unwrap();
        symlink(root.path(), c.home.join("conf")).unwrap();
        let e = plan_component(&input(&c, &b)).unwrap_err();
        assert!(
            matches!(&e[0], PlanIssue::Home(m) if m.contains("symbolic link")),
            "{e:?}"
        );
        // ... and a missing one is created.
        fs::remove_file(c.home.join("conf")).unwrap();
        let p = plan_component(&input(&c, &b)).unwrap();
        assert_eq!(
            p.create_dirs,
            vec![c.home.join("conf").display().to_string()]
        );
        assert!(is_dat(OsStr::new("x.Dat")) && !is_dat(OsStr::new(".dat")));
    }

    #[test]
    fn a_source_that_another_component_replaces_is_named() {
        let root = tempfile::tempdir().unwrap();
        let hub = spec(root.path(), "hub", Profile::MaestroHub, &[]);
        let lui = spec(root.path(), "lui", Profile::MaestroLui, &[]);
        for f in ["hub.ini", "accountreg/a", "hubreg/r"] {
            w(&hub.backup_folder.join(f), "x");
            w(&hub.home.join(f), "x");
        }
        // lui's folder lies inside hub's hubreg/.
        let inside = hub.home.join("hubreg/lui-set");
        for f in ["lui.ini", "luidata/a", "registry/r"] {
            w(&inside.join(f), "x");
        }
        fs::create_dir_all(&lui.home).unwrap();
        let plan_hub = plan_component(&input(&hub, &hub.backup_folder)).unwrap();
        let plan_lui = plan_component(&input(&lui, &inside)).unwrap();
        let both = [plan_hub.clone(), plan_lui.clone()];
        let clashes = source_clashes(&both);
        assert_eq!(clashes.len(), 1, "{clashes:?}");
        assert_eq!(clashes[0].0, 1, "lui's source");
        let hubreg = hub.home.join("hubreg").display().to_string();
        assert!(
            clashes[0].1.contains(&format!("lies inside {hubreg}"))
                && clashes[0].1.contains("restore of hub"),
            "{clashes:?}"
        );
        // Each alone, or on different machines: nothing to say.
        assert!(source_clashes(&both[1..]).is_empty());
        let mut remote = plan_lui.clone();
        remote.agent = Some("https://agent.example".into());
        assert!(source_clashes(&[plan_hub.clone(), remote.clone()]).is_empty());
        let mut hub_remote = plan_hub.clone();
        hub_remote.agent = remote.agent.clone();
        assert_eq!(source_clashes(&[hub_remote, remote]).len(), 1);
        // Through a link to the same place.
        let link = root.path().join("link");
        symlink(&inside, &link).unwrap();
        let mut via_link = plan_lui.clone();
        via_link.source_folder = link.display().to_string();
        let c = source_clashes(&[plan_hub.clone(), via_link]);
        assert_eq!(c.len(), 1, "{c:?}");
        // A source that is an item, or holds one.
        let mut is_item = plan_lui.clone();
        is_item.source_folder = hubreg.clone();
        assert!(source_clashes(&[plan_hub.clone(), is_item])[0]
            .1
            .contains(" is "));
        let mut holds = plan_lui;
        holds.source_folder = hub.home.display().to_string();
        let c = source_clashes(&[plan_hub, holds]);
        assert!(c[0].1.contains(" holds "), "{c:?}");
    }
}
