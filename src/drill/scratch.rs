//! The scratch folder of a drill, `<drill_root>/<ID>`: made exclusively with a marker naming
//! the drill, and removed only when its identity and marker prove the drill made it.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::DrillError;
use crate::toolkit::fsutil::{self, IoContext, IoError};

/// The marker file in every scratch folder.
pub const MARKER: &str = ".backup-master-drill";

/// A scratch folder of a drill as its record keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ScratchFolder {
    /// `<drill_root>/<ID>`.
    #[schema(example = "/srv/maestro/lui/drills/D20261201T040000Z")]
    pub path: String,
    /// Device and inode of the folder once made (absent until it is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inode: Option<u64>,
    /// The folder was removed (or never made).
    pub removed: bool,
    /// Folders of the drill root the drill created for it (outermost first), removed with
    /// the scratch folder when they are empty then.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub made_dirs: Vec<String>,
}

/// Whether `id` has the shape of a drill ID (`D` and a time, maybe a `.N` suffix): one plain
/// folder name, so `<root>/<id>` stays inside the root.
pub fn is_drill_id(id: &str) -> bool {
    id.len() <= 64
        && id.starts_with('D')
        && !id.contains("..")
        && !id.ends_with('.')
        && id[1..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.')
        && id.len() > 1
}

/// `<root>/<id>`.
pub fn folder_of(root: &Path, id: &str) -> PathBuf {
    root.join(id)
}

fn marker_text(id: &str) -> String {
    format!(
        "backup-master restore drill {id}\nScratch copies restored by that drill; removed at its end unless kept.\n"
    )
}

/// What [`make`] made.
pub struct Made {
    pub device: u64,
    pub inode: u64,
    /// The folders of the root it created, outermost first.
    pub made_dirs: Vec<String>,
}

/// Makes `<root>/<id>` (the root when missing), exclusively, with its marker. Returns the
/// folder's identity.
pub fn make(root: &Path, id: &str) -> Result<Made, DrillError> {
    let mut missing = Vec::new();
    let mut cur = Some(root);
    while let Some(p) = cur {
        if fsutil::exists_nofollow(p) {
            break;
        }
        missing.push(p.to_path_buf());
        cur = p.parent();
    }
    let mut made_dirs = Vec::new();
    for d in missing.iter().rev() {
        fs::create_dir(d).ctx("creating folder", d)?;
        made_dirs.push(d.display().to_string());
    }
    let dir = folder_of(root, id);
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .ctx("creating folder", &dir)?;
    fsutil::write_atomic(&dir.join(MARKER), marker_text(id).as_bytes())?;
    fsutil::fsync_dir(root)?;
    let m = fs::symlink_metadata(&dir).ctx("reading metadata of", &dir)?;
    Ok(Made {
        device: m.dev(),
        inode: m.ino(),
        made_dirs,
    })
}

/// Removes scratch folder `s` of drill `id` when it is still the drill's own: a real folder
/// (not a link) whose marker names the drill and, once recorded, with the recorded identity.
/// `Ok(false)`: there was nothing to remove. Anything else is left as it is
/// ([`DrillError::NotOurs`]).
pub fn remove(s: &ScratchFolder, id: &str) -> Result<bool, DrillError> {
    let path = Path::new(&s.path);
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(IoError::new("reading metadata of", path, e).into()),
    };
    let not_ours = |why: &str| {
        Err(DrillError::NotOurs(format!(
            "{} was left as it is: {why}",
            path.display()
        )))
    };
    if !meta.is_dir() {
        return not_ours("it is not a folder");
    }
    if let (Some(dev), Some(ino)) = (s.device, s.inode) {
        if (meta.dev(), meta.ino()) != (dev, ino) {
            return not_ours("it is not the folder the drill made (another device or inode)");
        }
    }
    let marker = path.join(MARKER);
    match fsutil::read_regular(&marker, 4096) {
        Ok(b) if b == marker_text(id).as_bytes() => {}
        Ok(_) => return not_ours("its marker names another drill"),
        Err(_) => return not_ours("it has no marker of this drill"),
    }
    fsutil::remove_tree(path)?;
    if let Some(parent) = path.parent() {
        fsutil::fsync_dir(parent)?;
    }
    // The root folders the drill made, when nothing else was put there meanwhile
    // (`remove_dir` removes only an empty folder).
    for d in s.made_dirs.iter().rev() {
        if fs::remove_dir(d).is_err() {
            break;
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(root: &Path, id: &str, m: &Made) -> ScratchFolder {
        ScratchFolder {
            path: folder_of(root, id).display().to_string(),
            device: Some(m.device),
            inode: Some(m.inode),
            removed: false,
            made_dirs: m.made_dirs.clone(),
        }
    }

    #[test]
    fn a_drill_id_is_one_plain_folder_name() {
        for good in ["D20261201T040000Z", "D20261201T040000Z.2"] {
            assert!(is_drill_id(good), "{good}");
        }
        for bad in ["", "D", "X1", "D1/..", "D..", "D1.", "D1/x", "D 1"] {
            assert!(!is_drill_id(bad), "{bad}");
        }
    }

    #[test]
    fn only_the_drills_own_folder_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("a/drills");
        let m = make(&root, "D1").unwrap();
        assert_eq!(m.made_dirs.len(), 2);
        std::fs::write(folder_of(&root, "D1").join("f"), b"x").unwrap();
        // Another drill's ID, or the folder replaced by one without the marker: left alone.
        let s = recorded(&root, "D1", &m);
        assert!(matches!(remove(&s, "D2"), Err(DrillError::NotOurs(_))));
        let replaced = folder_of(&root, "D1");
        std::fs::rename(&replaced, dir.path().join("moved")).unwrap();
        std::fs::create_dir(&replaced).unwrap();
        std::fs::write(replaced.join(MARKER), marker_text("D1")).unwrap();
        assert!(matches!(remove(&s, "D1"), Err(DrillError::NotOurs(_))));
        assert!(replaced.join(MARKER).exists());
        std::fs::remove_dir_all(&replaced).unwrap();
        std::fs::rename(dir.path().join("moved"), &replaced).unwrap();
        // Its own: removed, with the root folders it made; gone already is fine.
        assert!(remove(&s, "D1").unwrap());
        assert!(!dir.path().join("a").exists());
        assert!(!remove(&s, "D1").unwrap());
    }
}
