//! The set view kept in memory: what a scan of the slots and imported folders found
//! ([`super::discover::scan`]) is reused while nothing it read can have changed, so listing
//! sets costs a few `lstat` calls instead of reading every slot's `readme.txt`.
//!
//! A kept view is used again only when the components (names, backup folders) and the import
//! register are the same, and each folder it read has the same mtime, ctime and inode: each
//! component's backup area (the parent of its slots: a slot made, rotated, renamed or deleted,
//! by the product or by hand, changes its mtime), each slot and imported folder (a readme
//! replaced in it changes its mtime). The product's own writes need no separate notice: every
//! change of a slot is a rename or removal in its backup area.
//!
//! A file's times have the resolution of the kernel's clock tick, so a change in the same tick
//! as the scan could go unseen: a view is not kept when any of those folders changed in the two
//! seconds before the scan (the next request scans again). A readme rewritten in place (not
//! replaced) leaves its folder's mtime alone and is seen at the next change of a slot. Sets
//! with remote components are never kept: the agents are asked every time.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use super::discover::ScanParts;
use super::ImportedFolder;
use crate::engine::slots::SlotLayout;
use crate::engine::ComponentSpec;

/// Changes younger than this at scan time make a view not worth keeping (clock tick margin).
const RACY_NS: i128 = 2_000_000_000;

/// (mtime s, mtime ns, ctime s, ctime ns, inode, device) of a folder; `None` when absent.
type Stamp = Option<(i64, i64, i64, i64, u64, u64)>;

fn stamp(p: &Path) -> Stamp {
    fs::symlink_metadata(p).ok().map(|m| {
        (
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec(),
            m.ino(),
            m.dev(),
        )
    })
}

#[derive(PartialEq)]
struct Key {
    specs: Vec<(String, PathBuf)>,
    imports: Vec<ImportedFolder>,
}

struct Kept {
    key: Key,
    stamps: Vec<(PathBuf, Stamp)>,
    parts: ScanParts,
}

/// The kept view, and a count of the scans made (for tests and the log).
#[derive(Default)]
pub(crate) struct ViewCache {
    kept: Mutex<Option<Kept>>,
    scans: AtomicU64,
}

/// Every folder whose change would change the view.
fn watched(specs: &[ComponentSpec], parts: &ScanParts) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = specs
        .iter()
        .filter_map(|s| SlotLayout::of(&s.backup_folder).ok().map(|l| l.parent))
        .collect();
    let (sets, unidentified, _) = parts;
    for f in sets
        .iter()
        .flat_map(|s| s.components.iter())
        .chain(unidentified.iter())
    {
        paths.push(PathBuf::from(&f.folder));
    }
    paths.sort();
    paths.dedup();
    paths
}

/// Now, in nanoseconds since the epoch.
fn unix_now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX))
}

fn ns(s: i64, n: i64) -> i128 {
    i128::from(s) * 1_000_000_000 + i128::from(n)
}

impl ViewCache {
    /// Scans made so far (every view not served from memory).
    pub(crate) fn scans(&self) -> u64 {
        self.scans.load(Ordering::Relaxed)
    }

    /// The view of `specs` and `imports`: the kept one when it is still true, else `scan()`.
    pub(crate) fn view(
        &self,
        specs: &[ComponentSpec],
        imports: Vec<ImportedFolder>,
        scan: impl FnOnce() -> ScanParts,
    ) -> ScanParts {
        if specs.iter().any(ComponentSpec::is_remote) {
            self.scans.fetch_add(1, Ordering::Relaxed);
            return scan();
        }
        let key = Key {
            specs: specs
                .iter()
                .map(|s| (s.name.clone(), s.backup_folder.clone()))
                .collect(),
            imports,
        };
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(k) = kept.as_ref() {
            if k.key == key && k.stamps.iter().all(|(p, s)| stamp(p) == *s) {
                return k.parts.clone();
            }
        }
        let started = unix_now_ns();
        self.scans.fetch_add(1, Ordering::Relaxed);
        let parts = scan();
        let stamps: Vec<(PathBuf, Stamp)> = watched(specs, &parts)
            .into_iter()
            .map(|p| {
                let s = stamp(&p);
                (p, s)
            })
            .collect();
        let racy = stamps.iter().any(|(_, s)| {
            s.is_some_and(|(m, mn, c, cn, _, _)| ns(m, mn).max(ns(c, cn)) >= started - RACY_NS)
        });
        *kept = (!racy).then(|| Kept {
            key,
            stamps,
            parts: parts.clone(),
        });
        parts
    }
}
