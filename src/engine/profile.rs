//! Built-in component profiles (README, *Profiles*): which items of a component's home a backup holds,
//! and whether a maestro-lui home still waits for its first start after a restore. The restore
//! rules of each profile live with the restore code.

use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// What kind of component this is; decides the default items.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// Administration Hub: `hub.ini`, `accountreg/`, `hubreg/`.
    MaestroHub,
    /// Maestro User Interface: `lui.ini`, `luidata/`, `registry/`.
    MaestroLui,
    /// Maestro Tracker: `tracker.ini`, `data/`.
    MaestroTracker,
    /// Items listed in the config.
    Custom,
}

/// Names the engine writes into every backup folder; an item may not use them.
pub const RESERVED_NAMES: &[&str] = &["readme.txt", "SHA256SUMS", ".backup-master-index"];

impl Profile {
    /// The items a backup of this profile holds, relative to the home. A trailing `/` marks a
    /// folder. Empty for `Custom` (the config lists them).
    pub fn default_items(self) -> &'static [&'static str] {
        match self {
            Profile::MaestroHub => &["hub.ini", "accountreg/", "hubreg/"],
            Profile::MaestroLui => &["lui.ini", "luidata/", "registry/"],
            Profile::MaestroTracker => &["tracker.ini", "data/"],
            Profile::Custom => &[],
        }
    }

    /// The profile's config spelling, e.g. `maestro-hub`.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::MaestroHub => "maestro-hub",
            Profile::MaestroLui => "maestro-lui",
            Profile::MaestroTracker => "maestro-tracker",
            Profile::Custom => "custom",
        }
    }
}

/// True when an item's first path component collides with a file the engine writes into the
/// backup folder (`readme.txt`, `SHA256SUMS`, the index). The config should refuse such items;
/// the engine refuses them at backup time too.
pub fn item_is_reserved(item: &str) -> bool {
    let first = item
        .trim_start_matches("./")
        .split('/')
        .next()
        .unwrap_or("");
    RESERVED_NAMES.contains(&first)
}

/// The maestro-lui configuration file in its home.
pub const LUI_INI: &str = "lui.ini";
/// The key a restore appends to `lui.ini` (Maestro admin manual, 11.7): the component restores its database
/// from that folder at its next start and removes the line.
pub const LUI_RESTORE_KEY: &str = "RestoreFromBackup";

/// The folder a `RestoreFromBackup=` line of `<home>/lui.ini` names (key in any case, spaces
/// around `=` allowed), or `None` when there is no such line or no `lui.ini`. While the line is
/// there the component has not started since a restore.
pub fn pending_restore_from(home: &Path) -> io::Result<Option<String>> {
    let bytes = match std::fs::read(home.join(LUI_INI)) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let key = LUI_RESTORE_KEY.as_bytes();
    for line in bytes.split(|&b| b == b'\n') {
        let t = line.trim_ascii();
        if t.len() > key.len() && t[..key.len()].eq_ignore_ascii_case(key) {
            if let Some(value) = t[key.len()..].trim_ascii_start().strip_prefix(b"=") {
                return Ok(Some(
                    String::from_utf8_lossy(value.trim_ascii()).into_owned(),
                ));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restore_from_backup_line_is_found_in_any_case() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(pending_restore_from(dir.path()).unwrap(), None);
        std::fs::write(
            dir.path().join(LUI_INI),
            "[LUI]\r\nRestoreFromBackupX=1\r\n",
        )
        .unwrap();
        assert_eq!(pending_restore_from(dir.path()).unwrap(), None);
        std::fs::write(
            dir.path().join(LUI_INI),
            "[LUI]\r\n  restorefrombackup = /srv/lui/backup1 \r\nA=1\r\n",
        )
        .unwrap();
        assert_eq!(
            pending_restore_from(dir.path()).unwrap().as_deref(),
            Some("/srv/lui/backup1")
        );
    }

    #[test]
    fn serde_names_and_items() {
        assert_eq!(
            serde_json::to_string(&Profile::MaestroTracker).unwrap(),
            "\"maestro-tracker\""
        );
        let p: Profile = serde_json::from_str("\"maestro-lui\"").unwrap();
        assert_eq!(p, Profile::MaestroLui);
        assert_eq!(p.as_str(), "maestro-lui");
        assert_eq!(
            Profile::MaestroHub.default_items(),
            &["hub.ini", "accountreg/", "hubreg/"]
        );
        assert!(Profile::Custom.default_items().is_empty());
        assert!(item_is_reserved("readme.txt"));
        assert!(item_is_reserved("SHA256SUMS/"));
        assert!(!item_is_reserved("data/readme.txt"));
    }
}
