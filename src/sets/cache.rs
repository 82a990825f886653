//! The set view kept in memory: what a scan of the slots and imported folders found
//! ([`super::discover::scan`]) is reused while nothing it read has changed, so listing sets
//! costs one non-blocking read of an inotify queue instead of reading every slot's `readme.txt`.
//!
//! A kept view is used again only when the components (names, backup folders) and the import
//! register are the same, and the kernel reported no change in any folder it read: each
//! component's backup area (the parent of its slots: a slot made, rotated, renamed or deleted,
//! by the product or by hand), each slot and imported folder (a `readme.txt` written, replaced
//! or removed in it, its attributes changed) and the folders themselves (moved or deleted).
//! The kernel queues such an event before the change returns to whoever made it, so a request
//! that starts after a change always sees it: no clock-tick guard is needed.
//!
//! A view is trusted only when every folder it read was watched before the scan started and
//! nothing changed during the scan. After any change the watches are dropped and made anew
//! around the next scan (a renamed folder keeps its watch under its old name), so the first
//! request after a change scans, and so may the second. A folder that cannot be watched (absent,
//! or the kernel's watch limit reached) means the view is not kept: every request scans, as
//! before the cache existed. Sets with remote components are never kept: the agents are asked
//! every time.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use nix::errno::Errno;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

use super::discover::ScanParts;
use super::ImportedFolder;
use crate::engine::slots::SlotLayout;
use crate::engine::ComponentSpec;

#[derive(PartialEq)]
struct Key {
    specs: Vec<(String, PathBuf)>,
    imports: Vec<ImportedFolder>,
}

/// One inotify queue and the folders it watches.
struct Watch {
    queue: Inotify,
    folders: BTreeSet<PathBuf>,
    /// Every folder asked for is watched.
    whole: bool,
}

impl Watch {
    /// Watches `folders` (their own changes and those of their direct entries).
    fn over(folders: &[PathBuf]) -> Option<Watch> {
        let queue = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).ok()?;
        let mask = AddWatchFlags::IN_MODIFY
            | AddWatchFlags::IN_ATTRIB
            | AddWatchFlags::IN_CLOSE_WRITE
            | AddWatchFlags::IN_MOVED_FROM
            | AddWatchFlags::IN_MOVED_TO
            | AddWatchFlags::IN_CREATE
            | AddWatchFlags::IN_DELETE
            | AddWatchFlags::IN_DELETE_SELF
            | AddWatchFlags::IN_MOVE_SELF
            | AddWatchFlags::IN_DONT_FOLLOW
            | AddWatchFlags::IN_ONLYDIR;
        let mut watch = Watch {
            queue,
            folders: BTreeSet::new(),
            whole: true,
        };
        for f in folders {
            match watch.queue.add_watch(f.as_path(), mask) {
                Ok(_) => {
                    watch.folders.insert(f.clone());
                }
                Err(_) => watch.whole = false,
            }
        }
        Some(watch)
    }

    /// True while the kernel reported nothing since the watch began. Any event, a full queue
    /// (`IN_Q_OVERFLOW`) or a read error counts as a change.
    fn quiet(&self) -> bool {
        match self.queue.read_events() {
            Err(Errno::EAGAIN) => true,
            Ok(events) => events.is_empty(),
            Err(_) => false,
        }
    }

    fn covers(&self, folders: &[PathBuf]) -> bool {
        self.whole && folders.iter().all(|f| self.folders.contains(f))
    }
}

/// The last view, and whether it may be served again.
struct Kept {
    key: Key,
    parts: ScanParts,
    /// Watching since before the scan, over every folder it read; `None`: not trusted.
    watch: Option<Watch>,
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

fn key_of(specs: &[ComponentSpec], imports: Vec<ImportedFolder>) -> Key {
    Key {
        specs: specs
            .iter()
            .map(|s| (s.name.clone(), s.backup_folder.clone()))
            .collect(),
        imports,
    }
}

impl ViewCache {
    /// Scans made so far (every view not served from memory).
    pub(crate) fn scans(&self) -> u64 {
        self.scans.load(Ordering::Relaxed)
    }

    /// The kept view of `specs` and `imports` when it is still true; `None` when a scan is
    /// needed. Touches no file: safe on any thread.
    pub(crate) fn kept(
        &self,
        specs: &[ComponentSpec],
        imports: &[ImportedFolder],
    ) -> Option<ScanParts> {
        if specs.iter().any(ComponentSpec::is_remote) {
            return None;
        }
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let k = kept.as_mut()?;
        let same = k.key.specs.len() == specs.len()
            && k.key
                .specs
                .iter()
                .zip(specs)
                .all(|((n, f), s)| *n == s.name && *f == s.backup_folder)
            && k.key.imports == imports;
        if !same {
            return None;
        }
        // The events read here are gone from the queue: a change seen once stays seen.
        if !k.watch.as_ref().is_some_and(Watch::quiet) {
            k.watch = None;
            return None;
        }
        Some(k.parts.clone())
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
        if let Some(parts) = self.kept(specs, &imports) {
            return parts;
        }
        let key = key_of(specs, imports);
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        // Watch what the last scan read (or, the first time, the backup areas) before this
        // scan starts: a change made while it reads is then reported.
        let before = match kept.as_ref() {
            Some(k) if k.key == key => watched(specs, &k.parts),
            _ => watched(specs, &(Vec::new(), Vec::new(), Vec::new())),
        };
        let watch = Watch::over(&before);
        self.scans.fetch_add(1, Ordering::Relaxed);
        let parts = scan();
        let read = watched(specs, &parts);
        let trusted = watch.filter(|w| w.covers(&read) && w.quiet());
        *kept = Some(Kept {
            key,
            parts: parts.clone(),
            watch: trusted,
        });
        parts
    }
}
