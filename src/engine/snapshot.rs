//! The read point of a component's copy when it is not the live home: a read-only btrfs
//! snapshot of the home made beside it (`snapshot = "btrfs"`), or the read-only view an
//! operator's `snapshot_command` prints (`snapshot = "command"`). Making, checking and removing
//! them; the backup decides when.
//!
//! A btrfs snapshot is named `<home>.bm-snapshot-<backup ID>` beside the home, so its name is
//! known before it exists (the backup's journal records that a snapshot is being made, and a
//! restart after a crash removes it). It is removed only when it provably is the one the
//! product made: a read-only subvolume at exactly that name whose parent is the home.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::toolkit::command::{self, Outcome};

/// `statfs` magic number of btrfs.
const BTRFS_SUPER_MAGIC: i64 = 0x9123_683E;
/// Inode number of the root of every btrfs subvolume.
const SUBVOLUME_ROOT_INODE: u64 = 256;
/// Timeout of the `btrfs` tool's calls.
const BTRFS_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{0}")]
    Refused(String),
    #[error("`{what}` {how}: {output}")]
    Tool {
        what: String,
        how: String,
        output: String,
    },
}

/// The path of backup `id`'s btrfs snapshot of `home`: beside it.
pub fn btrfs_path(home: &Path, id: &str) -> Option<PathBuf> {
    let name = home.file_name()?;
    let mut snap = name.to_os_string();
    snap.push(format!(".bm-snapshot-{id}"));
    Some(home.with_file_name(snap))
}

/// Is `path` on btrfs and the root of a subvolume?
pub fn is_btrfs_subvolume(path: &Path) -> Result<bool, String> {
    use std::os::unix::fs::MetadataExt;
    let st = nix::sys::statfs::statfs(path).map_err(|e| format!("{}: {e}", path.display()))?;
    #[allow(clippy::unnecessary_cast)]
    let magic = st.filesystem_type().0 as i64;
    if magic != BTRFS_SUPER_MAGIC {
        return Ok(false);
    }
    let md = std::fs::symlink_metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(md.is_dir() && md.ino() == SUBVOLUME_ROOT_INODE)
}

fn btrfs(args: &str) -> Result<Outcome, SnapshotError> {
    let o = command::run(&command::Run {
        command: format!("btrfs {args}"),
        env: vec![],
        cwd: None,
        timeout: BTRFS_TIMEOUT,
    });
    if o.succeeded() {
        Ok(o)
    } else {
        Err(SnapshotError::Tool {
            what: format!("btrfs {args}"),
            how: o.describe(),
            output: crate::engine::single_line(o.output.trim()),
        })
    }
}

fn quoted(p: &Path) -> String {
    shell_words::quote(&p.to_string_lossy()).into_owned()
}

/// Makes backup `id`'s read-only snapshot of `home` and returns its path. The home must be a
/// btrfs subvolume; nothing may be at the snapshot's name yet.
pub fn create_btrfs(home: &Path, id: &str) -> Result<PathBuf, SnapshotError> {
    match is_btrfs_subvolume(home) {
        Ok(true) => {}
        Ok(false) => {
            return Err(SnapshotError::Refused(format!(
                "snapshot = \"btrfs\" needs the home {} to be a btrfs subvolume, and it is not",
                home.display()
            )))
        }
        Err(e) => return Err(SnapshotError::Refused(e)),
    }
    let snap = btrfs_path(home, id).ok_or_else(|| {
        SnapshotError::Refused(format!("the home {} has no parent folder", home.display()))
    })?;
    if snap.symlink_metadata().is_ok() {
        return Err(SnapshotError::Refused(format!(
            "{} exists already; the snapshot is not made over it",
            snap.display()
        )));
    }
    btrfs(&format!(
        "subvolume snapshot -r {} {}",
        quoted(home),
        quoted(&snap)
    ))?;
    Ok(snap)
}

/// One `Key: value` line of `btrfs subvolume show`.
fn show_field(show: &str, key: &str) -> Option<String> {
    show.lines().find_map(|l| {
        let (k, v) = l.trim().split_once(':')?;
        (k.trim() == key).then(|| v.trim().to_string())
    })
}

/// Removes backup `id`'s snapshot of `home` if it is there and provably the product's (a
/// read-only subvolume at its name, made from `home`). Returns whether one was removed; a
/// folder at that name that is not provably ours is refused and left alone.
pub fn delete_btrfs(home: &Path, id: &str) -> Result<bool, SnapshotError> {
    let Some(snap) = btrfs_path(home, id) else {
        return Ok(false);
    };
    if snap.symlink_metadata().is_err() {
        return Ok(false);
    }
    if !is_btrfs_subvolume(&snap).unwrap_or(false) {
        return Err(SnapshotError::Refused(format!(
            "{} is not a btrfs subvolume, so it is not the snapshot this product made; left alone",
            snap.display()
        )));
    }
    let ro = btrfs(&format!("property get -ts {} ro", quoted(&snap)))?;
    if ro.output.trim() != "ro=true" {
        return Err(SnapshotError::Refused(format!(
            "{} is not read-only, so it is not the snapshot this product made; left alone",
            snap.display()
        )));
    }
    let home_show = btrfs(&format!("subvolume show {}", quoted(home)))?;
    let snap_show = btrfs(&format!("subvolume show {}", quoted(&snap)))?;
    let home_uuid = show_field(&home_show.output, "UUID");
    let parent = show_field(&snap_show.output, "Parent UUID");
    if home_uuid.is_none() || home_uuid != parent {
        return Err(SnapshotError::Refused(format!(
            "{} is not a snapshot of {}, so it is not the one this product made; left alone",
            snap.display(),
            home.display()
        )));
    }
    btrfs(&format!("subvolume delete {}", quoted(&snap)))?;
    Ok(true)
}

/// Checks the path a `snapshot_command` printed: an absolute, existing folder, not `/`, not the
/// home itself, not in the backup folder.
pub fn check_view(
    printed: Option<&str>,
    home: &Path,
    backup_folder: &Path,
) -> Result<PathBuf, String> {
    let Some(line) = printed.filter(|l| !l.is_empty()) else {
        return Err("the snapshot command printed no path (its last line must be the path of the read-only view)".into());
    };
    let p = PathBuf::from(line);
    if !p.is_absolute() || p.components().any(|c| c == std::path::Component::ParentDir) {
        return Err(format!(
            "the snapshot command printed {line:?}, not an absolute path without `..`"
        ));
    }
    if p == Path::new("/") || p == home {
        return Err(format!(
            "the snapshot command printed {line:?}: the root or the home itself is no snapshot"
        ));
    }
    if p.starts_with(backup_folder) || backup_folder.starts_with(&p) {
        return Err(format!(
            "the snapshot command printed {line:?}, which overlaps the backup folder {}",
            backup_folder.display()
        ));
    }
    match std::fs::symlink_metadata(&p) {
        Ok(md) if md.is_dir() => Ok(p),
        Ok(_) => Err(format!(
            "the snapshot command printed {line:?}, which is not a folder"
        )),
        Err(e) => Err(format!(
            "the snapshot command printed {line:?}, which cannot be read: {e}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_names_sit_beside_the_home() {
        assert_eq!(
            btrfs_path(Path::new("/srv/hub"), "20260101T000000Z"),
            Some(PathBuf::from("/srv/hub.bm-snapshot-20260101T000000Z"))
        );
        assert_eq!(btrfs_path(Path::new("/"), "x"), None);
    }

    #[test]
    fn a_printed_view_must_be_an_existing_folder_apart_from_home_and_backups() {
        let d = tempfile::tempdir().unwrap();
        let home = d.path().join("home");
        let view = d.path().join("view");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&view).unwrap();
        let bf = home.join("backup");
        let ok = check_view(Some(view.to_str().unwrap()), &home, &bf).unwrap();
        assert_eq!(ok, view);
        for bad in [
            None,
            Some(""),
            Some("relative/path"),
            Some("/"),
            Some(home.to_str().unwrap()),
            Some(bf.to_str().unwrap()),
            Some("/nonexistent/view"),
        ] {
            assert!(check_view(bad, &home, &bf).is_err(), "{bad:?}");
        }
        let dotdot = format!("{}/../view", home.display());
        assert!(check_view(Some(&dotdot), &home, &bf).is_err());
    }

    #[test]
    fn a_plain_folder_is_no_subvolume_and_its_name_is_never_deleted() {
        let d = tempfile::tempdir().unwrap();
        let home = d.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        assert!(!is_btrfs_subvolume(&home).unwrap_or(false));
        assert!(matches!(
            create_btrfs(&home, "20260101T000000Z"),
            Err(SnapshotError::Refused(_))
        ));
        let fake = btrfs_path(&home, "20260101T000000Z").unwrap();
        std::fs::create_dir_all(&fake).unwrap();
        std::fs::write(fake.join("keep"), b"x").unwrap();
        assert!(delete_btrfs(&home, "20260101T000000Z").is_err());
        assert!(fake.join("keep").exists());
    }
}
