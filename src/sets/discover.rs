//! Finding backup sets on disk: every history slot of every configured component, plus the
//! imported folders, grouped by the backup ID their `readme.txt` names. Also the checks of a
//! single folder used by import and by restores (`check_folder`).
//!
//! Nothing here writes; a folder that cannot be read or whose readme is malformed becomes a
//! [`SetFolder`] with `problem` set, never an error of the whole scan.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use crate::engine::fsutil;
use crate::engine::readme::{Readme, MAX_README_BYTES, README_FILE};
use crate::engine::slots::SlotLayout;
use crate::engine::{single_line, ComponentSpec};
use crate::store::SlotInfo;

use super::{BackupSet, ComponentProblem, FolderSource, ImportedFolder, SetFolder, SetsError};

/// What the agent of each remote component said, by component name: its URL and history
/// slots, or why they could not be listed.
pub(crate) type RemoteSlots = HashMap<String, Result<(String, Vec<SlotInfo>), String>>;

/// A slot of a remote component as its agent described it (the agent read its readme).
fn remote_folder(component: &str, agent: &str, info: &SlotInfo) -> Found {
    let mut f = blank(
        component,
        Path::new(&info.path),
        FolderSource::Slot,
        Some(info.slot.clone()),
    );
    f.agent = Some(agent.to_string());
    f.result = info.result.clone();
    f.started = info.started;
    f.finished = info.finished;
    f.errors = info.errors.clone();
    f.problem = info.error.as_deref().map(single_line);
    let id = match &info.backup_id {
        Some(id) if acceptable_id(id) => Some(id.clone()),
        Some(id) => {
            f.problem = Some(format!(
                "readme.txt holds {:?}, which is not a usable backup ID",
                single_line(id)
            ));
            None
        }
        None => {
            if f.problem.is_none() {
                f.problem = Some("the agent could not read a backup ID from readme.txt".into());
            }
            None
        }
    };
    Found { id, folder: f }
}

/// Longest folder path accepted from a client.
const MAX_PATH_BYTES: usize = 4096;

/// True for an ID usable as a set ID: the rule of the API's `check_id` (`[0-9A-Za-z._-]`, at
/// most 80 bytes, not starting with `.`, no `..`), so every set listed can also be addressed.
pub fn acceptable_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 80
        && !id.starts_with('.')
        && !id.contains("..")
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A folder as read from disk, with the set it belongs to (`None`: it cannot be placed).
pub(crate) struct Found {
    pub id: Option<String>,
    pub folder: SetFolder,
}

fn blank(component: &str, path: &Path, source: FolderSource, slot: Option<String>) -> SetFolder {
    SetFolder {
        component: component.to_string(),
        folder: path.display().to_string(),
        slot,
        source,
        result: None,
        started: None,
        finished: None,
        errors: Vec::new(),
        problem: None,
        imported_at: None,
        agent: None,
    }
}

fn fill(f: &mut SetFolder, r: &Readme) {
    f.result = Some(if r.success { "success" } else { "error" }.to_string());
    f.started = r.started;
    f.finished = r.finished;
    f.errors = r.errors.clone();
}

fn component_problem(found: &str, expected: &str) -> String {
    if found.is_empty() {
        "readme.txt names no component".to_string()
    } else {
        format!("readme.txt names component {found:?}, but this is a folder of {expected:?}")
    }
}

/// The `Backup ID:` line of a readme that does not parse as a whole (e.g. a bad `Started:`
/// time), so the folder is still shown in its set, with the problem.
fn lenient_id(folder: &Path) -> Option<String> {
    let bytes = fsutil::read_regular(&folder.join(README_FILE), MAX_README_BYTES).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        let k = k.trim().trim_start_matches('\u{feff}');
        k.eq_ignore_ascii_case("backup id")
            .then(|| v.trim().to_string())
    })
}

/// Reads one folder's readme into a [`SetFolder`].
pub(crate) fn read_folder(
    component: &str,
    path: &Path,
    source: FolderSource,
    slot: Option<String>,
) -> Found {
    let mut f = blank(component, path, source, slot);
    match Readme::read_from(path) {
        Ok(r) => {
            fill(&mut f, &r);
            if r.component != component {
                f.problem = Some(component_problem(&r.component, component));
            }
            if acceptable_id(&r.backup_id) {
                Found {
                    id: Some(r.backup_id),
                    folder: f,
                }
            } else {
                f.problem = Some(format!(
                    "readme.txt holds {:?}, which is not a usable backup ID",
                    single_line(&r.backup_id)
                ));
                Found {
                    id: None,
                    folder: f,
                }
            }
        }
        Err(e) if Readme::is_not_found(&e) => {
            f.problem = Some("no readme.txt: the folder cannot be identified".into());
            Found {
                id: None,
                folder: f,
            }
        }
        Err(e) => {
            f.problem = Some(single_line(&e.to_string()));
            let id = lenient_id(path).filter(|id| acceptable_id(id));
            Found { id, folder: f }
        }
    }
}

/// An imported folder as it is now. It stays in the set it was imported into; a change since
/// (folder gone, readme now naming another backup) is its `problem`.
fn read_imported(entry: &ImportedFolder) -> Found {
    let path = Path::new(&entry.folder);
    let mut found = match fs::metadata(path) {
        Ok(m) if m.is_dir() => read_folder(&entry.component, path, FolderSource::Imported, None),
        Ok(_) => {
            let mut f = blank(&entry.component, path, FolderSource::Imported, None);
            f.problem = Some("no longer a folder".into());
            Found {
                id: None,
                folder: f,
            }
        }
        Err(e) => {
            let mut f = blank(&entry.component, path, FolderSource::Imported, None);
            f.problem = Some(if e.kind() == io::ErrorKind::NotFound {
                "the folder is gone (is the external medium mounted?)".to_string()
            } else {
                format!("cannot read the folder: {e}")
            });
            Found {
                id: None,
                folder: f,
            }
        }
    };
    found.folder.imported_at = Some(entry.imported_at);
    match &found.id {
        Some(id) if *id != entry.backup_id => {
            found.folder.problem = Some(format!(
                "imported as backup {} but its readme.txt now names {id}; import it again",
                entry.backup_id
            ));
        }
        _ => {}
    }
    found.id = Some(entry.backup_id.clone());
    found
}

/// What [`scan`] found: sets newest first (without `last_verification`), the folders whose
/// backup ID cannot be known, and the components whose folders could not be listed.
pub(crate) type ScanParts = (Vec<BackupSet>, Vec<SetFolder>, Vec<ComponentProblem>);

/// Every set of `specs` (every configured component, local and remote, config order): local
/// slots and imports read from disk, remote slots as `remote` reports them.
pub(crate) fn scan(
    specs: &[ComponentSpec],
    imports: &[ImportedFolder],
    remote: &RemoteSlots,
) -> ScanParts {
    // id -> (component index, slot before import, slot index, folder)
    let mut by_id: BTreeMap<String, Vec<(usize, u8, u32, SetFolder)>> = BTreeMap::new();
    let mut unidentified = Vec::new();
    let mut problems = Vec::new();
    for (ci, spec) in specs.iter().enumerate() {
        if spec.is_remote() {
            match remote.get(&spec.name) {
                Some(Ok((agent, slots))) => {
                    for (k, info) in slots.iter().enumerate() {
                        let found = remote_folder(&spec.name, agent, info);
                        match found.id {
                            Some(id) => by_id.entry(id).or_default().push((
                                ci,
                                0,
                                u32::try_from(k).unwrap_or(u32::MAX),
                                found.folder,
                            )),
                            None => unidentified.push(found.folder),
                        }
                    }
                }
                Some(Err(e)) => problems.push(ComponentProblem {
                    component: spec.name.clone(),
                    problem: single_line(e),
                }),
                None => problems.push(ComponentProblem {
                    component: spec.name.clone(),
                    problem: "its agent was not asked".into(),
                }),
            }
            continue;
        }
        let layout = match SlotLayout::of(&spec.backup_folder) {
            Ok(l) => l,
            Err(e) => {
                let mut f = blank(&spec.name, &spec.backup_folder, FolderSource::Slot, None);
                f.problem = Some(e.to_string());
                unidentified.push(f);
                continue;
            }
        };
        let slots = match layout.existing_slots() {
            Ok(s) => s,
            Err(e) => {
                let mut f = blank(&spec.name, &layout.parent, FolderSource::Slot, None);
                f.problem = Some(single_line(&e.to_string()));
                unidentified.push(f);
                Vec::new()
            }
        };
        let mut slot_paths = HashSet::new();
        for (k, path) in slots {
            if let Ok(c) = fs::canonicalize(&path) {
                slot_paths.insert(c);
            }
            let name = path
                .file_name()
                .map(|n| String::from_utf8_lossy(n.as_bytes()).into_owned());
            let found = read_folder(&spec.name, &path, FolderSource::Slot, name);
            match found.id {
                Some(id) => by_id.entry(id).or_default().push((ci, 0, k, found.folder)),
                None => unidentified.push(found.folder),
            }
        }
        for entry in imports.iter().filter(|i| i.component == spec.name) {
            // Became a slot (the backup folder was moved onto it): it is listed once, as a slot.
            if slot_paths.contains(Path::new(&entry.folder)) {
                continue;
            }
            let found = read_imported(entry);
            if let Some(id) = found.id {
                by_id.entry(id).or_default().push((ci, 1, 0, found.folder));
            }
        }
    }
    let sets = by_id
        .into_iter()
        .rev()
        .map(|(id, mut folders)| {
            folders.sort_by_key(|a| (a.0, a.1, a.2));
            let present: HashSet<usize> = folders.iter().map(|f| f.0).collect();
            let missing: Vec<String> = specs
                .iter()
                .enumerate()
                .filter(|(i, _)| !present.contains(i))
                .map(|(_, s)| s.name.clone())
                .collect();
            let components: Vec<SetFolder> = folders.into_iter().map(|f| f.3).collect();
            let complete = missing.is_empty() && !components.is_empty();
            let successful = complete && components.iter().all(SetFolder::is_usable);
            BackupSet {
                id,
                complete,
                committing: false,
                successful,
                components,
                missing,
                last_verification: None,
            }
        })
        .collect();
    (sets, unidentified, problems)
}

/// Refuses paths that are relative, hold `..` or NUL, or are absurdly long.
fn check_path(folder: &Path) -> Result<(), SetsError> {
    let bad = |reason: &str| SetsError::BadFolder {
        folder: folder.display().to_string(),
        reason: reason.to_string(),
    };
    let bytes = folder.as_os_str().as_bytes();
    if bytes.is_empty() {
        return Err(bad("must not be empty"));
    }
    if bytes.contains(&0) {
        return Err(bad("must not contain a NUL byte"));
    }
    if bytes.len() > MAX_PATH_BYTES {
        return Err(bad("is longer than 4096 bytes"));
    }
    if !folder.is_absolute() {
        return Err(bad("must be an absolute path"));
    }
    if folder.components().any(|c| c == Component::ParentDir) {
        return Err(bad("must not contain '..'"));
    }
    Ok(())
}

/// `(layout, canonical parent)` of every component whose backup parent exists.
fn layouts(specs: &[ComponentSpec]) -> Vec<(&ComponentSpec, SlotLayout, PathBuf)> {
    specs
        .iter()
        .filter_map(|s| {
            let l = SlotLayout::of(&s.backup_folder).ok()?;
            let parent = fs::canonicalize(&l.parent).ok()?;
            Some((s, l, parent))
        })
        .collect()
}

/// The slot name when the canonical path `canon` is one of `spec`'s slots.
fn slot_of(spec: &ComponentSpec, canon: &Path) -> Option<String> {
    let l = SlotLayout::of(&spec.backup_folder).ok()?;
    let parent = fs::canonicalize(&l.parent).ok()?;
    let name = canon.file_name()?;
    (canon.parent() == Some(parent.as_path()) && l.slot_index(name).is_some())
        .then(|| String::from_utf8_lossy(name.as_bytes()).into_owned())
}

/// When the canonical path `canon` is, or is inside, a slot, a staging or trash folder or the
/// `.failed` folder of a component: that component and the folder name.
pub(crate) fn in_slot_area(specs: &[ComponentSpec], canon: &Path) -> Option<(String, String)> {
    for (spec, layout, parent) in layouts(specs) {
        let mut failed = layout.name.clone();
        failed.push(".failed");
        for a in canon.ancestors() {
            if a.parent() != Some(parent.as_path()) {
                continue;
            }
            let Some(name) = a.file_name() else { continue };
            if layout.slot_index(name).is_some() || layout.is_temporary(name) || name == failed {
                return Some((
                    spec.name.clone(),
                    String::from_utf8_lossy(name.as_bytes()).into_owned(),
                ));
            }
        }
    }
    None
}

/// Checks that `folder` is a backup folder of `component` (and of backup `id` when given).
/// Returns the backup ID and the folder, with `folder` canonical (symbolic links resolved).
/// With `refuse_slot_area`, a folder in the slot area of any component is refused before its
/// readme is even read (import: those are found without it).
pub(crate) fn check_folder(
    specs: &[ComponentSpec],
    component: &str,
    folder: &Path,
    id: Option<&str>,
    refuse_slot_area: bool,
) -> Result<(String, SetFolder), SetsError> {
    let spec = specs
        .iter()
        .find(|s| s.name == component)
        .ok_or_else(|| SetsError::UnknownComponent(component.to_string()))?;
    check_path(folder)?;
    let shown = folder.display().to_string();
    let bad = |reason: String| SetsError::BadFolder {
        folder: shown.clone(),
        reason,
    };
    match fs::metadata(folder) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(bad("is not a folder".into())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(bad("does not exist".into())),
        Err(e) => return Err(bad(format!("cannot be read: {e}"))),
    }
    let canon = fs::canonicalize(folder).map_err(|e| bad(format!("cannot be resolved: {e}")))?;
    if refuse_slot_area {
        if let Some((c, area)) = in_slot_area(specs, &canon) {
            return Err(SetsError::InSlotArea {
                folder: shown,
                component: c,
                area,
            });
        }
    }
    let readme = match Readme::read_from(&canon) {
        Ok(r) => r,
        Err(e) if Readme::is_not_found(&e) => return Err(SetsError::NoReadme { folder: shown }),
        Err(e) => {
            return Err(SetsError::BadReadme {
                folder: shown,
                reason: single_line(&e.to_string()),
            })
        }
    };
    if readme.component != component {
        return Err(SetsError::WrongComponent {
            folder: shown,
            found: readme.component,
            expected: component.to_string(),
        });
    }
    if !acceptable_id(&readme.backup_id) {
        return Err(SetsError::BadReadme {
            folder: shown,
            reason: format!(
                "{:?} is not a usable backup ID",
                single_line(&readme.backup_id)
            ),
        });
    }
    if let Some(want) = id {
        if readme.backup_id != want {
            return Err(SetsError::WrongId {
                folder: shown,
                found: readme.backup_id,
                expected: want.to_string(),
            });
        }
    }
    let (source, slot) = match slot_of(spec, &canon) {
        Some(name) => (FolderSource::Slot, Some(name)),
        None => (FolderSource::Imported, None),
    };
    let mut f = blank(component, &canon, source, slot);
    fill(&mut f, &readme);
    Ok((readme.backup_id, f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Profile;
    use chrono::Utc;

    fn spec(root: &Path, name: &str) -> ComponentSpec {
        ComponentSpec {
            name: name.into(),
            profile: Profile::Custom,
            home: root.join(name),
            backup_folder: root.join(name).join("backup"),
            keep: 2,
            items: vec!["data/".into()],
            consistency: Default::default(),
            read_point: None,
        }
    }

    fn readme(dir: &Path, text: &str) {
        fs::create_dir_all(dir).unwrap();
        fs::write(dir.join(README_FILE), text).unwrap();
    }

    fn ok_readme(id: &str, c: &str) -> String {
        format!("Backup ID: {id}\nComponent: {c}\nStarted: 2026-11-26T02:00:00Z\nFinished: 2026-11-26T02:00:04Z\nResult: success\n")
    }

    #[test]
    fn groups_slots_by_id_newest_first_with_complete_and_successful() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        let specs = [spec(r, "hub"), spec(r, "lui")];
        readme(&r.join("hub/backup"), &ok_readme("B", "hub"));
        readme(&r.join("hub/backup1"), &ok_readme("A", "hub"));
        readme(&r.join("lui/backup"), &ok_readme("B", "lui"));
        // lui lacks A; C is failed by hand; the .failed folder and staging are never slots.
        readme(
            &r.join("hub/backup2"),
            "Backup ID: C\nComponent: hub\nResult: error\nError: boom\n",
        );
        readme(&r.join("lui/backup1"), &ok_readme("C", "lui"));
        readme(&r.join("hub/backup.failed"), &ok_readme("D", "hub"));
        readme(&r.join("hub/backup.staging-E"), &ok_readme("E", "hub"));
        let (sets, unidentified, _) = scan(&specs, &[], &RemoteSlots::new());
        assert!(unidentified.is_empty());
        let ids: Vec<&str> = sets.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["C", "B", "A"]);
        let (c, b, a) = (&sets[0], &sets[1], &sets[2]);
        assert!(b.complete && b.successful);
        assert_eq!(b.components[0].component, "hub");
        assert_eq!(b.components[0].slot.as_deref(), Some("backup"));
        assert_eq!(b.components[1].component, "lui");
        assert!(!a.complete && !a.successful);
        assert_eq!(a.missing, ["lui"]);
        assert!(c.complete && !c.successful);
        assert_eq!(c.components[0].result.as_deref(), Some("error"));
        assert_eq!(c.components[0].errors, ["boom"]);
    }

    #[test]
    fn malformed_readmes_are_reported_on_their_folder() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        let specs = [spec(r, "hub")];
        readme(
            &r.join("hub/backup"),
            "Backup ID: X\nComponent: hub\nStarted: yesterday\nResult: success\n",
        );
        readme(&r.join("hub/backup1"), "garbage\n");
        fs::create_dir_all(r.join("hub/backup2")).unwrap();
        readme(&r.join("hub/backup3"), &ok_readme("../etc", "hub"));
        readme(&r.join("hub/backup4"), &ok_readme("Y", "lui"));
        let (sets, unidentified, _) = scan(&specs, &[], &RemoteSlots::new());
        let x = sets.iter().find(|s| s.id == "X").unwrap();
        assert!(x.components[0]
            .problem
            .as_ref()
            .unwrap()
            .contains("yesterday"));
        assert!(!x.successful);
        let y = sets.iter().find(|s| s.id == "Y").unwrap();
        assert!(y.components[0]
            .problem
            .as_ref()
            .unwrap()
            .contains("\"lui\""));
        assert!(!y.successful);
        let names: Vec<_> = unidentified
            .iter()
            .map(|f| f.slot.clone().unwrap())
            .collect();
        assert_eq!(names, ["backup1", "backup2", "backup3"]);
        assert!(unidentified.iter().all(|f| f.problem.is_some()));
    }

    #[test]
    fn imports_join_their_set_and_report_changes() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        let specs = [spec(r, "hub"), spec(r, "lui")];
        readme(&r.join("hub/backup"), &ok_readme("A", "hub"));
        readme(&r.join("medium/lui-A"), &ok_readme("A", "lui"));
        readme(&r.join("medium/hub-A"), &ok_readme("A", "hub"));
        let imp = |c: &str, f: &str, id: &str| ImportedFolder {
            component: c.into(),
            folder: fs::canonicalize(r).unwrap().join(f).display().to_string(),
            backup_id: id.into(),
            imported_at: Utc::now(),
        };
        let imports = [
            imp("lui", "medium/lui-A", "A"),
            imp("hub", "medium/hub-A", "A"),
            imp("hub", "medium/gone", "Z"),
            imp("hub", "medium/hub-A", "OLD"),
        ];
        let (sets, _, _) = scan(&specs, &imports, &RemoteSlots::new());
        let a = sets.iter().find(|s| s.id == "A").unwrap();
        assert!(a.complete && a.successful, "{a:?}");
        let sources: Vec<_> = a
            .components
            .iter()
            .map(|f| (f.component.as_str(), f.source))
            .collect();
        assert_eq!(
            sources,
            [
                ("hub", FolderSource::Slot),
                ("hub", FolderSource::Imported),
                ("lui", FolderSource::Imported)
            ]
        );
        let z = sets.iter().find(|s| s.id == "Z").unwrap();
        assert!(z.components[0].problem.as_ref().unwrap().contains("gone"));
        let old = sets.iter().find(|s| s.id == "OLD").unwrap();
        assert!(old.components[0]
            .problem
            .as_ref()
            .unwrap()
            .contains("now names A"));
    }

    #[test]
    fn check_folder_names_each_problem() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        let specs = [spec(r, "hub"), spec(r, "lui")];
        readme(&r.join("medium/hub-A"), &ok_readme("A", "hub"));
        fs::create_dir_all(r.join("medium/empty")).unwrap();
        readme(&r.join("hub/backup1"), &ok_readme("B", "hub"));
        let ok = r.join("medium/hub-A");
        let (id, f) = check_folder(&specs, "hub", &ok, None, false).unwrap();
        assert_eq!(id, "A");
        assert_eq!(f.source, FolderSource::Imported);
        assert_eq!(f.result.as_deref(), Some("success"));
        assert!(check_folder(&specs, "hub", &ok, Some("A"), false).is_ok());
        let field = |e: SetsError| e.field();
        assert_eq!(
            field(check_folder(&specs, "nope", &ok, None, false).unwrap_err()),
            Some("component")
        );
        let e = check_folder(&specs, "lui", &ok, None, false).unwrap_err();
        assert!(matches!(e, SetsError::WrongComponent { .. }), "{e}");
        let e = check_folder(&specs, "hub", &ok, Some("B"), false).unwrap_err();
        assert!(matches!(e, SetsError::WrongId { .. }), "{e}");
        let e = check_folder(&specs, "hub", &r.join("medium/empty"), None, false).unwrap_err();
        assert!(matches!(e, SetsError::NoReadme { .. }), "{e}");
        for bad in ["relative/x", "/a/../b", "/does/not/exist"] {
            let e = check_folder(&specs, "hub", Path::new(bad), None, false).unwrap_err();
            assert!(matches!(e, SetsError::BadFolder { .. }), "{bad}: {e}");
            assert_eq!(e.field(), Some("folder"));
        }
        // A slot is recognised as one, and is in the slot area.
        let (_, f) = check_folder(&specs, "hub", &r.join("hub/backup1"), None, false).unwrap();
        let e = check_folder(&specs, "hub", &r.join("hub/backup1"), None, true).unwrap_err();
        assert!(matches!(e, SetsError::InSlotArea { .. }), "{e}");
        assert_eq!(f.source, FolderSource::Slot);
        assert_eq!(f.slot.as_deref(), Some("backup1"));
        let canon = fs::canonicalize(r.join("hub/backup1")).unwrap();
        assert_eq!(
            in_slot_area(&specs, &canon.join("deeper")),
            Some(("hub".into(), "backup1".into()))
        );
        let staging = fs::canonicalize(r.join("hub"))
            .unwrap()
            .join("backup.staging-X");
        assert!(in_slot_area(&specs, &staging).is_some());
        assert!(in_slot_area(&specs, &fs::canonicalize(&ok).unwrap()).is_none());
    }
}
