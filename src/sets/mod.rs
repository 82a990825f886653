//! Backup sets as they are **on disk**: discovery, import of folders from an external medium,
//! and verification against `SHA256SUMS`. No actix here; `crate::api::backup_sets` is the edge.
//!
//! # Discovery (Maestro admin manual, 11.6–11.7)
//! A set is every folder whose `readme.txt` names one backup ID. The folders looked at are, for
//! each configured component (config order), every history slot that exists — `<NAME>`,
//! `<NAME>1` .. `<NAME>100`, whatever `keep` says now — and the folders imported for it.
//! `<NAME>.failed` (a failed attempt), `<NAME>.staging-*` and `<NAME>.trash-*` are never slots.
//! The master's job records are not used: the list is the same after `state_dir` is lost,
//! except for imports and verification records, which live there.
//!
//! * `complete`: every configured component has at least one folder with the ID (`missing`
//!   names the others), and the set is not `committing`;
//! * `committing`: the backup's commit is decided but not yet acknowledged by every component
//!   (an agent is down after the decision): the master completes it (its record is `running`),
//!   and until then the set is neither complete nor successful, whatever is on disk;
//! * `successful`: complete, and every folder listed says `Result: success` and has no
//!   `problem`. A component may have two folders with one ID (its slot and an imported copy):
//!   both are listed, the slot first; [`BackupSet::preferred_folders`] picks one per component
//!   for a restore (a usable slot before a usable import).
//! * A malformed or unreadable readme is the `problem` of that folder, never an error of the
//!   list. If its `Backup ID:` line can still be read the folder stays in its set (which is then
//!   not successful); if not, the folder is listed apart as unidentified.
//! * Sets are newest first: IDs sort in start order (README, *How backups work*).
//!
//! # Import
//! An admin registers a folder retrieved from an external medium: an absolute path without
//! `..` to an existing folder whose `readme.txt` names that component and a usable ID. The
//! folder is stored resolved (symbolic links followed) in `<state_dir>/imports.json` (see
//! [`imports`]); registering it again is idempotent. A folder that is, or is inside, a slot,
//! staging, trash or `.failed` folder of any component is refused: slots are found anyway and
//! the others are the engine's. Imports of a component no longer configured stay registered
//! but are not shown until it is configured again. An imported folder that later disappears or
//! changes stays in its set with a `problem`.
//!
//! # Verification
//! Always a job, whatever the size (one shape for clients, who cannot know the size in
//! advance): `start_verification` records it and returns at once; a thread hashes every
//! folder of the set ([`verify`]) and the record ends `passed` or `failed` (see
//! [`verifications`] for the states and files). One verification runs at a time. While a
//! backup runs, starting one is refused (409 naming the backup): its commit renames slots,
//! which would make files look missing. Restores do not block it (they never modify backups,
//! README *How backups work*). A backup may still start during a verification; a folder whose readme no
//! longer names the set afterwards has moved, so the set is found again and that folder
//! verified at its new place (up to 3 times); a folder rotated out of the history meanwhile
//! fails with that error, never passes for the newer backup now at its path. The set's `last_verification` is its newest
//! `passed` or `failed` verification. A verification checks files only: an incomplete set
//! can pass; its `missing_components` are on the record.
//!
//! [`Sets::verify_folders`] is the same check run synchronously, for restores (which hold the
//! one-job lock, so nothing moves); it records nothing.
//!
//! # Remote components (README, *Remote components*)
//! The slots of a component behind an agent are listed by its agent (`GET .../history`, one
//! call per remote component, all at once): they are [`SetFolder`]s with `source: slot`, the
//! path on the agent's machine and `agent` (its URL), and count for `complete` and
//! `successful` like any other. An agent that cannot be asked (unreachable, refusing the
//! token) leaves its component out of the sets — so they are not complete — and is named in
//! the scan's `problems`; it never fails the list. Verifying a set verifies a remote folder
//! through its agent (`POST .../verify`); the files never pass through the master. Remote
//! folders cannot be imported (an import names a folder on this machine). The agents are
//! reached on the tokio runtime of the calling thread, so these methods must run on a
//! blocking thread of the runtime (`web::block`), as they already must because they read
//! the disk; with no runtime (unit tests), remote components are reported as problems.

mod cache;
pub mod discover;
pub mod imports;
mod types;
pub mod verifications;
pub mod verify;

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use chrono::{DateTime, SubsecRound, Utc};

use crate::engine::folder_check;
use crate::engine::readme::Readme;
use crate::engine::ComponentSpec;
use crate::store::Locator;

pub use discover::acceptable_id;
use discover::RemoteSlots;
use imports::ImportStore;
use tokio::runtime::Handle;
pub use types::*;
use verifications::{BeginError, VerificationStore};
use verify::Progress;

/// How often a folder that moved during a verification is looked up again.
const MOVED_RETRIES: usize = 3;

/// Runs `fut` on the runtime `rt` and waits for it from this (non-async) thread (the
/// toolkit's bridge; here only on the server's runtime).
fn on_runtime<T: Send + 'static>(
    rt: Option<&Handle>,
    fut: impl std::future::Future<Output = T> + Send + 'static,
) -> Result<T, String> {
    let rt = rt.ok_or_else(|| "no async runtime here to reach the agent from".to_string())?;
    crate::toolkit::bridge::run_blocking(Some(rt), fut)
        .map_err(|_| "internal error: the call to the agent stopped; see the log".to_string())
}

/// The IDs of backups whose commit is decided but not yet done everywhere (their sets are
/// shown `committing`). Given by the job runner, which holds the backup records.
pub type Committing = Arc<dyn Fn() -> Vec<String> + Send + Sync>;

struct Inner {
    locator: Arc<dyn Locator>,
    committing: Committing,
    imports: ImportStore,
    verifications: VerificationStore,
    view: cache::ViewCache,
}

/// Backup sets on disk, imports and verifications. Cheap to clone; `Send + Sync`. Every method
/// that reads the disk blocks: call it from `web::block` / `spawn_blocking`.
#[derive(Clone)]
pub struct Sets {
    inner: Arc<Inner>,
}

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

impl Sets {
    /// Loads the import register and the verification records (marking a verification that
    /// was running `interrupted`).
    pub fn open(
        state_dir: &Path,
        locator: Arc<dyn Locator>,
        committing: Committing,
    ) -> Result<Sets, SetsError> {
        Ok(Sets {
            inner: Arc::new(Inner {
                locator,
                committing,
                imports: ImportStore::open(state_dir)?,
                verifications: VerificationStore::open(state_dir)?,
                view: cache::ViewCache::default(),
            }),
        })
    }

    /// The sets as every slot's and imported folder's readme describes them: read now, or
    /// kept in memory from an earlier read while no folder it read changed ([`cache`]).
    pub fn scan(&self) -> Scan {
        let specs = self.inner.locator.all_components();
        let imports = self.inner.imports.list();
        let parts = self.inner.view.view(&specs, imports.clone(), || {
            let remote = self.remote_slots(&specs);
            discover::scan(&specs, &imports, &remote)
        });
        self.annotated(parts)
    }

    /// [`Sets::query`] when the view kept in memory is still true, without touching a file
    /// (a request handler may call it on its own thread); `None` when a scan is needed.
    pub fn query_kept(&self, q: &SetQuery) -> Option<Scan> {
        let specs = self.inner.locator.all_components();
        let imports = self.inner.imports.list();
        let parts = self.inner.view.kept(&specs, &imports)?;
        Some(filtered(self.annotated(parts), q))
    }

    /// The view with what memory adds: each set's last verification, and the sets whose
    /// commit is decided but not yet done (shown neither complete nor successful).
    fn annotated(&self, (mut sets, unidentified, problems): discover::ScanParts) -> Scan {
        let last = self.inner.verifications.last_finished();
        let committing = (self.inner.committing)();
        for s in &mut sets {
            s.last_verification = last.get(&s.id).cloned();
            if committing.contains(&s.id) {
                s.committing = true;
                s.complete = false;
                s.successful = false;
            }
        }
        Scan {
            sets,
            unidentified,
            problems,
        }
    }

    /// Asks the agent of every remote component in `specs` for its history, all at once.
    fn remote_slots(&self, specs: &[ComponentSpec]) -> RemoteSlots {
        let remote: Vec<String> = specs
            .iter()
            .filter(|s| s.is_remote())
            .map(|s| s.name.clone())
            .collect();
        if remote.is_empty() {
            return RemoteSlots::new();
        }
        let engine = self.inner.locator.clone();
        let names = remote.clone();
        let ask = async move {
            let calls = names.into_iter().map(|name| {
                let engine = engine.clone();
                async move {
                    let r = match engine.store_of(&name) {
                        Ok((spec, store)) => {
                            let agent = store.location().unwrap_or_default();
                            store
                                .history(&spec)
                                .await
                                .map(|h| (agent, h))
                                .map_err(|e| e.to_string())
                        }
                        Err(e) => Err(e.to_string()),
                    };
                    (name, r)
                }
            });
            futures_util::future::join_all(calls)
                .await
                .into_iter()
                .collect::<RemoteSlots>()
        };
        match on_runtime(Handle::try_current().ok().as_ref(), ask) {
            Ok(slots) => slots,
            Err(e) => remote.into_iter().map(|n| (n, Err(e.clone()))).collect(),
        }
    }

    /// How many times the sets were read from disk (not served from memory).
    pub fn scans(&self) -> u64 {
        self.inner.view.scans()
    }

    /// Every set on disk, newest first.
    pub fn list(&self) -> Vec<BackupSet> {
        self.scan().sets
    }

    /// The sets passing `q`, newest first (one at most with `latest`).
    pub fn query(&self, q: &SetQuery) -> Scan {
        filtered(self.scan(), q)
    }

    /// The newest complete and successful set: the one a restore should use.
    pub fn latest_successful(&self) -> Option<BackupSet> {
        self.list().into_iter().find(|s| s.successful)
    }

    pub fn get(&self, id: &str) -> Option<BackupSet> {
        self.list().into_iter().find(|s| s.id == id)
    }

    /// The registered imports.
    pub fn imports(&self) -> Vec<ImportedFolder> {
        self.inner.imports.list()
    }

    /// Reads a folder's readme and checks it names `component` (and `id` when given); the
    /// folder must be an absolute path without `..`. Used by import and by restore's
    /// `source_folders`. The returned folder is canonical; `source` is `slot` when it is one
    /// of the component's slots, else `imported`.
    pub fn check_folder(
        &self,
        component: &str,
        folder: &Path,
        id: Option<&str>,
    ) -> Result<SetFolder, SetsError> {
        let specs = self.inner.locator.components();
        discover::check_folder(&specs, component, folder, id, false).map(|(_, f)| f)
    }

    /// Registers a folder from an external medium (see the module doc). Nothing is written
    /// unless every check passes.
    pub fn import(&self, component: &str, folder: &str) -> Result<ImportOutcome, SetsError> {
        let specs = self.inner.locator.components();
        let (id, f) = discover::check_folder(&specs, component, Path::new(folder), None, true)?;
        let site = folder_check::Site::of_specs(&specs, self.inner.locator.state_dir());
        if let Some(p) = folder_check::check_import_folder(&site, Path::new(&f.folder))
            .into_iter()
            .next()
        {
            return Err(SetsError::Unsafe(p));
        }
        let (created, imported) = self.inner.imports.upsert(ImportedFolder {
            component: component.to_string(),
            folder: f.folder,
            backup_id: id.clone(),
            imported_at: now(),
        })?;
        tracing::info!(component, folder = %imported.folder, backup = %id, created, "imported a backup folder");
        Ok(ImportOutcome {
            created,
            imported,
            set: self.get(&id),
        })
    }

    /// Verifies the given folders now (blocking). Used by restore before touching anything;
    /// records nothing.
    pub fn verify_folders(&self, folders: &[SetFolder]) -> Vec<FolderVerification> {
        folders
            .iter()
            .map(|f| {
                let c = verify::check_tree(Path::new(&f.folder), &Progress::default());
                FolderVerification::of(&f.component, &f.folder, c)
            })
            .collect()
    }

    /// Records a new running verification of `set` (on disk before this returns), with the
    /// counters its run updates. One runs at a time.
    pub fn begin_verification(
        &self,
        set: &BackupSet,
    ) -> Result<(Verification, Arc<Progress>), VerifyStartError> {
        self.inner.verifications.begin(set).map_err(|e| match e {
            BeginError::Busy(v) => VerifyStartError::AlreadyRunning(v),
            BeginError::Io(e) => VerifyStartError::Io(e),
        })
    }

    /// Verifies every folder of `set` (blocking), following a folder a backup rotates away
    /// meanwhile. `rt` reaches the agents of remote folders.
    pub fn verify_set(
        &self,
        set: &BackupSet,
        progress: &Progress,
        rt: Option<&Handle>,
    ) -> Vec<FolderVerification> {
        set.components
            .iter()
            .map(|f| self.verify_tracking_moves(&set.id, f, progress, rt))
            .collect()
    }

    /// Records a verification's end (its final record).
    pub fn finish_verification(&self, record: Verification) {
        self.inner.verifications.finish(record);
    }

    /// Verifies one folder; when its readme no longer names the set afterwards (a backup
    /// rotated it away meanwhile), finds it again and verifies it there.
    fn verify_tracking_moves(
        &self,
        set_id: &str,
        folder: &SetFolder,
        progress: &Progress,
        rt: Option<&Handle>,
    ) -> FolderVerification {
        let mut current = folder.clone();
        for _ in 0..MOVED_RETRIES {
            let v = self.check_now(&current, progress, rt);
            // Checked after hashing: a rotation during the check shows here, and a folder
            // replaced by a newer backup must not pass for this set.
            let still_there = if current.agent.is_some() {
                self.remote_slot_id(&current, rt).as_deref() == Some(set_id)
            } else {
                Readme::read_from(Path::new(&current.folder)).is_ok_and(|r| r.backup_id == set_id)
            };
            if still_there {
                return v;
            }
            let again = self.get(set_id).and_then(|s| {
                s.components.into_iter().find(|f| {
                    f.component == folder.component
                        && f.source == folder.source
                        && (f.source == FolderSource::Slot || f.folder == folder.folder)
                })
            });
            match again {
                Some(f) if f.folder != current.folder => current = f,
                // Same place: its readme did not name the set cleanly when it was found either
                // (the folder's `problem` says why); the files are reported as they are.
                Some(_) => return v,
                None => {
                    let mut v = v;
                    v.ok = false;
                    v.error = Some(format!(
                        "the folder no longer holds backup {set_id}: a backup rotated it out while it was verified"
                    ));
                    return v;
                }
            }
        }
        let mut v = FolderVerification::of(
            &current.component,
            &current.folder,
            verify::TreeCheck::default(),
        );
        v.ok = false;
        v.error = Some("the folder kept moving while it was verified (backups rotating the slots); verify again".into());
        v
    }

    /// Checks one folder: here, or through its agent for a remote one.
    fn check_now(
        &self,
        f: &SetFolder,
        progress: &Progress,
        rt: Option<&Handle>,
    ) -> FolderVerification {
        if f.agent.is_none() {
            let c = verify::check_tree(Path::new(&f.folder), progress);
            return FolderVerification::of(&f.component, &f.folder, c);
        }
        let Some(slot) = f.slot.clone() else {
            let c = verify::TreeCheck::failed("a remote folder without a slot name".into());
            return FolderVerification::of(&f.component, &f.folder, c);
        };
        let engine = self.inner.locator.clone();
        let name = f.component.clone();
        let asked = on_runtime(rt, async move {
            let (spec, store) = engine.store_of(&name).map_err(|e| e.to_string())?;
            store
                .verify_slot(&spec, &slot)
                .await
                .map_err(|e| e.to_string())
        });
        match asked.and_then(|r| r) {
            Ok(mut v) => {
                v.component = f.component.clone();
                v.folder = f.folder.clone();
                progress.files.fetch_add(v.files_checked, Ordering::Relaxed);
                progress.bytes.fetch_add(v.bytes_checked, Ordering::Relaxed);
                v
            }
            Err(e) => {
                let c =
                    verify::TreeCheck::failed(format!("could not verify through the agent: {e}"));
                FolderVerification::of(&f.component, &f.folder, c)
            }
        }
    }

    /// The backup ID the agent now reports for a remote folder's slot (`None`: gone or the
    /// agent cannot be asked).
    fn remote_slot_id(&self, f: &SetFolder, rt: Option<&Handle>) -> Option<String> {
        let engine = self.inner.locator.clone();
        let name = f.component.clone();
        let slot = f.slot.clone()?;
        on_runtime(rt, async move {
            let (spec, store) = engine.store_of(&name).ok()?;
            let slots = store.history(&spec).await.ok()?;
            slots.into_iter().find(|s| s.slot == slot)?.backup_id
        })
        .ok()
        .flatten()
    }

    /// A verification by its ID.
    pub fn verification(&self, verification_id: &str) -> Option<Verification> {
        self.inner.verifications.get(verification_id)
    }

    /// The verifications of set `id`, newest first.
    pub fn verifications(&self, id: &str) -> Vec<Verification> {
        self.inner.verifications.for_set(id)
    }
}

/// The sets of `scan` that `q` asks for.
fn filtered(mut scan: Scan, q: &SetQuery) -> Scan {
    scan.sets.retain(|s| {
        q.complete.is_none_or(|c| s.complete == c) && q.successful.is_none_or(|c| s.successful == c)
    });
    if q.latest {
        scan.sets.truncate(1);
    }
    scan
}

#[cfg(test)]
mod tests;
