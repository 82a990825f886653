//! Built-in component profiles (DESIGN §3): which items of a component's home a backup holds.
//! The restore rules of each profile live with the restore code.

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

#[cfg(test)]
mod tests {
    use super::*;

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
