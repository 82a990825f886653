//! The register of imported folders, `<state_dir>/imports.json`:
//! `{"version": 1, "imports": [{component, folder, backup_id, imported_at}, ...]}`.
//!
//! Every change writes the whole file atomically (temp file, fsync, rename, fsync folder) before
//! memory changes, so a failed write changes nothing and a crash leaves the old or the new file.
//! A file that cannot be parsed (edited by hand) is moved aside to
//! `imports.json.unreadable-<time>` with an error in the log, and the register starts empty:
//! losing the register must not stop the master (the slots are still found without it), and
//! the operator's file is kept for repair.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::{ImportedFolder, SetsError};
use crate::engine::fsutil::{self, IoError};

pub const IMPORTS_FILE: &str = "imports.json";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportsFile {
    version: u32,
    imports: Vec<ImportedFolder>,
}

pub(crate) struct ImportStore {
    path: PathBuf,
    entries: Mutex<Vec<ImportedFolder>>,
}

impl ImportStore {
    pub fn open(state_dir: &Path) -> Result<ImportStore, SetsError> {
        let path = state_dir.join(IMPORTS_FILE);
        let entries = match fsutil::read_regular(&path, fsutil::MAX_STATE_FILE_BYTES) {
            Ok(bytes) => match serde_json::from_slice::<ImportsFile>(&bytes) {
                Ok(f) if f.version == 1 => f.imports,
                other => {
                    let why = match other {
                        Ok(f) => format!("unknown version {}", f.version),
                        Err(e) => e.to_string(),
                    };
                    let aside = state_dir.join(format!(
                        "{IMPORTS_FILE}.unreadable-{}",
                        chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
                    ));
                    fs::rename(&path, &aside)
                        .map_err(|e| IoError::new("moving aside", &path, e))?;
                    tracing::error!(
                        file = %path.display(),
                        moved_to = %aside.display(),
                        error = %why,
                        "the register of imported folders is unreadable; starting with none"
                    );
                    Vec::new()
                }
            },
            Err(e) if e.is_not_found() => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        Ok(ImportStore {
            path,
            entries: Mutex::new(entries),
        })
    }

    pub fn list(&self) -> Vec<ImportedFolder> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Registers `entry`. The same folder again: unchanged when it still holds the same backup
    /// of the same component (`created` false, the existing entry), else replaced.
    pub fn upsert(&self, entry: ImportedFolder) -> Result<(bool, ImportedFolder), IoError> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let mut next = entries.clone();
        match next.iter_mut().find(|e| e.folder == entry.folder) {
            Some(old) if old.component == entry.component && old.backup_id == entry.backup_id => {
                return Ok((false, old.clone()));
            }
            Some(old) => *old = entry.clone(),
            None => next.push(entry.clone()),
        }
        let file = ImportsFile {
            version: 1,
            imports: next,
        };
        let bytes = serde_json::to_vec_pretty(&file)
            .map_err(|e| IoError::new("encoding", &self.path, io::Error::other(e)))?;
        fsutil::write_atomic(&self.path, &bytes)?;
        *entries = file.imports;
        Ok((true, entry))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn entry(folder: &str, id: &str) -> ImportedFolder {
        ImportedFolder {
            component: "hub".into(),
            folder: folder.into(),
            backup_id: id.into(),
            imported_at: Utc::now(),
        }
    }

    #[test]
    fn persists_and_is_idempotent() {
        let d = tempfile::tempdir().unwrap();
        let s = ImportStore::open(d.path()).unwrap();
        assert!(s.list().is_empty());
        assert!(s.upsert(entry("/m/a", "A")).unwrap().0);
        let (created, e) = s.upsert(entry("/m/a", "A")).unwrap();
        assert!(!created);
        assert_eq!(e.backup_id, "A");
        assert!(s.upsert(entry("/m/b", "B")).unwrap().0);
        let again = ImportStore::open(d.path()).unwrap();
        assert_eq!(again.list().len(), 2);
        // Re-registering a folder that now holds another backup replaces its entry.
        assert!(again.upsert(entry("/m/a", "C")).unwrap().0);
        let ids: Vec<_> = ImportStore::open(d.path())
            .unwrap()
            .list()
            .into_iter()
            .map(|e| e.backup_id)
            .collect();
        assert_eq!(ids, ["C", "B"]);
    }

    #[test]
    fn an_unreadable_file_is_moved_aside() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join(IMPORTS_FILE), "{not json").unwrap();
        let s = ImportStore::open(d.path()).unwrap();
        assert!(s.list().is_empty());
        let names: Vec<String> = fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 1);
        assert!(
            names[0].starts_with("imports.json.unreadable-"),
            "{names:?}"
        );
    }
}
