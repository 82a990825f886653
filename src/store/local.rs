//! The store for a component on this machine: prepare copies the items into
//! `<parent>/<NAME>.staging-<ID>` (tree copy, `SHA256SUMS`, index, `readme.txt`, then one
//! durable flush), commit rotates the slots, abort removes the staging folder and keeps the
//! attempt's readme as `<NAME>.failed`. Blocking file work runs on tokio's blocking pool.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};

use super::{
    Ack, ComponentStore, PrepareOutcome, PrepareStatus, ProgressSink, ProgressUpdate, SlotInfo,
    StoreError,
};
use crate::engine::faults::Faults;
use crate::engine::fsutil;
use crate::engine::profile::Profile;
use crate::engine::readme::{ChangedFiles, Readme, README_FILE};
use crate::engine::slots::{self, SlotLayout, Step};
use crate::engine::tree_copy::{self, CopyError, CopyRequest, CopyStats};
use crate::engine::{single_line, CancelToken, ComponentSpec, OnChange};

/// Copy worker threads per component (the machines this targets have two cores).
pub const COPY_WORKERS: usize = 2;

/// The `Error:` line of a staging folder's readme until its prepare completes.
pub const INCOMPLETE: &str = "incomplete: this backup is still being prepared";

/// A component whose home is on this machine.
#[derive(Clone, Debug, Default)]
pub struct LocalStore {
    faults: Arc<Faults>,
}

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

/// The items a backup of `spec` holds: the configured ones, or the profile's defaults when the
/// config gave none.
pub fn effective_items(spec: &ComponentSpec) -> Vec<String> {
    if spec.items.is_empty() && spec.profile != Profile::Custom {
        spec.profile
            .default_items()
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        spec.items.clone()
    }
}

impl LocalStore {
    pub fn new(faults: Arc<Faults>) -> Self {
        LocalStore { faults }
    }
}

fn to_update(s: CopyStats) -> ProgressUpdate {
    ProgressUpdate {
        files: s.files,
        files_copied: s.files_copied,
        files_linked: s.files_linked,
        files_cloned: s.files_cloned,
        bytes_copied: s.bytes_copied,
        bytes_linked: s.bytes_linked,
        bytes_cloned: s.bytes_cloned,
    }
}

/// Skipped special files: the first names, and how many in all.
type Skipped = (Vec<String>, u64);

fn join_error(e: tokio::task::JoinError) -> StoreError {
    StoreError::Internal(format!("blocking task failed: {e}"))
}

/// The blocking part of prepare. Returns the stats and errors; removes the staging folder on
/// failure.
fn prepare_blocking(
    id: &str,
    spec: &ComponentSpec,
    faults: &Faults,
    cancel: &CancelToken,
    progress: &ProgressSink,
    started: DateTime<Utc>,
) -> (
    PrepareStatus,
    ProgressUpdate,
    Vec<String>,
    Skipped,
    ChangedFiles,
) {
    let layout = match SlotLayout::of(&spec.backup_folder) {
        Ok(l) => l,
        Err(e) => {
            return (
                PrepareStatus::Failed,
                ProgressUpdate::default(),
                vec![e.to_string()],
                Skipped::default(),
                ChangedFiles::default(),
            )
        }
    };
    let staging = layout.staging(id);
    let mut last = ProgressUpdate::default();
    // Files that changed while copied: reported whether the prepare ends well or not.
    let mut changed = ChangedFiles::default();
    let mut created = false;
    let result = (|| -> Result<(ProgressUpdate, Skipped), CopyError> {
        if !spec.home.is_dir() {
            return Err(CopyError::Items(vec![format!(
                "home {} is not a folder",
                spec.home.display()
            )]));
        }
        if let Some(rp) = spec.read_point.as_ref().filter(|rp| !rp.is_dir()) {
            return Err(CopyError::Items(vec![format!(
                "the read point {} is not a folder",
                rp.display()
            )]));
        }
        // Anything at a slot name that is not this component's backup stops the backup now,
        // before the commit decision, so no slot of any component changes.
        slots::check_slots(&layout, &spec.name)
            .map_err(|e| CopyError::Items(vec![e.to_string()]))?;
        // A new backup folder, and each new folder above it, is as private as the home: files
        // from a 0700 home must not become readable to others there. Its owner (this process)
        // keeps full access, or it could not write the backup into it.
        let mode = fsutil::folder_mode(&spec.home) | 0o700;
        fsutil::create_dirs_with_mode(&layout.parent, mode)?;
        // Created exclusively, and at once given a readme naming this component and backup
        // (`Result: error` until the end): that is how removal proves it is ours.
        fsutil::create_dir_with_mode(&staging, mode)?;
        created = true;
        let mut readme = Readme {
            backup_id: id.to_string(),
            component: spec.name.clone(),
            started: Some(started),
            finished: None,
            success: false,
            errors: vec![INCOMPLETE.to_string()],
            changed: Default::default(),
        };
        let readme_path = staging.join(README_FILE);
        fsutil::write_new_synced(&readme_path, readme.render().as_bytes())?;
        let slot0 = layout.slot(0);
        let previous = slot0.is_dir().then_some(slot0);
        let items = effective_items(spec);
        if items.is_empty() {
            return Err(CopyError::Items(vec!["no items configured".into()]));
        }
        // The items are read from the read point: the home, or the snapshot taken of it. The
        // backup folder is never copied into itself, also not its image in a snapshot.
        let source = spec.read_point.clone().unwrap_or_else(|| spec.home.clone());
        let mut must_not_contain = vec![spec.backup_folder.clone(), layout.parent.clone()];
        if source != spec.home {
            let images: Vec<_> = must_not_contain
                .iter()
                .filter_map(|p| p.strip_prefix(&spec.home).ok())
                .map(|rel| source.join(rel))
                .collect();
            must_not_contain.extend(images);
        }
        let req = CopyRequest {
            home: source,
            items,
            dest: staging.clone(),
            previous,
            must_not_contain,
            workers: COPY_WORKERS,
            slow_copy: faults.slow_copy,
            inject_enospc: faults.enospc.contains(&spec.name),
            skip_change_check: faults.skip_change_check,
        };
        let outcome = tree_copy::copy_items(&req, cancel, &|s| progress(to_update(s)))?;
        last = to_update(outcome.stats);
        changed = ChangedFiles {
            names: outcome.changed,
            count: outcome.changed_count,
        };
        if changed.count > 0 {
            tracing::warn!(component = %spec.name, files = changed.count, recopies = outcome.recopies,
                "files changed while they were copied");
            if spec.consistency.on_change == OnChange::Fail {
                return Err(CopyError::Items(vec![changed_error(&changed)]));
            }
        }
        readme.changed = changed.clone();
        tree_copy::write_sums_and_index(&staging, outcome.listing)?;
        readme.finished = Some(now());
        readme.success = true;
        readme.errors.clear();
        fsutil::write_atomic(&readme_path, readme.render().as_bytes())?;
        // Everything in the staging folder is durable before commit can rename it.
        fsutil::sync_tree(&staging)?;
        fsutil::fsync_dir(&staging)?;
        fsutil::fsync_dir(&layout.parent)?;
        Ok((last, (outcome.skipped, outcome.skipped_count)))
    })();
    match result {
        Ok((stats, skipped)) => (PrepareStatus::Prepared, stats, vec![], skipped, changed),
        Err(e) => {
            // Only a staging folder this prepare created is removed (not one that was there).
            if created {
                if let Err(rm) = slots::remove_staging(&layout, id, &spec.name) {
                    tracing::warn!(error = %rm, "could not remove staging folder");
                }
            }
            match e {
                CopyError::Cancelled => (
                    PrepareStatus::Cancelled,
                    last,
                    vec!["cancelled".into()],
                    Skipped::default(),
                    changed,
                ),
                CopyError::Items(problems) => (
                    PrepareStatus::Failed,
                    last,
                    problems,
                    Skipped::default(),
                    changed,
                ),
                CopyError::Io(io) => {
                    let mut msg = io.to_string();
                    if io.is_no_space() {
                        msg.push_str(" (the disk holding the backup folder is full; the staging folder was removed, no history slot was changed)");
                    }
                    (
                        PrepareStatus::Failed,
                        last,
                        vec![msg],
                        Skipped::default(),
                        changed,
                    )
                }
            }
        }
    }
}

/// The error of a component with `on_change = "fail"` whose files changed while copied.
fn changed_error(changed: &ChangedFiles) -> String {
    const SHOWN: usize = 5;
    let mut names = changed
        .names
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if changed.count > SHOWN as u64 {
        names.push_str(&format!(" and {} more", changed.count - SHOWN as u64));
    }
    format!(
        "{} while copied, also when copied {} more times, and on_change = \"fail\": {names}",
        changed
            .summary()
            .unwrap_or_default()
            .replace(" during the backup", ""),
        tree_copy::MAX_RECOPIES
    )
}

fn slot_info(k_name: String, path: &Path) -> SlotInfo {
    let mut info = SlotInfo {
        slot: k_name,
        path: path.display().to_string(),
        backup_id: None,
        result: None,
        started: None,
        finished: None,
        error: None,
        errors: Vec::new(),
    };
    match Readme::read_from(path) {
        Ok(r) => {
            info.backup_id = Some(r.backup_id);
            info.result = Some(if r.success { "success" } else { "error" }.to_string());
            info.started = r.started;
            info.finished = r.finished;
            info.errors = r.errors;
        }
        Err(e) => info.error = Some(single_line(&e.to_string())),
    }
    info
}

#[async_trait]
impl ComponentStore for LocalStore {
    async fn consistency_step(
        &self,
        id: &str,
        spec: &ComponentSpec,
        step: super::ConsistencyStep,
        snapshot: Option<&Path>,
    ) -> super::StepDone {
        let (id, spec, snapshot) = (
            id.to_string(),
            spec.clone(),
            snapshot.map(Path::to_path_buf),
        );
        tokio::task::spawn_blocking(move || {
            super::local_freeze::step(&id, &spec, step, snapshot.as_deref())
        })
        .await
        .unwrap_or_else(|e| super::StepDone {
            error: Some(format!("internal error: the {step:?} step stopped: {e}")),
            ..super::StepDone::default()
        })
    }

    async fn prepare(
        &self,
        id: &str,
        spec: &ComponentSpec,
        cancel: CancelToken,
        progress: ProgressSink,
    ) -> PrepareOutcome {
        let started = now();
        if self.faults.panic.contains(&spec.name) {
            panic!("injected fault: panic:{}", spec.name);
        }
        if self.faults.prepare_fail.contains(&spec.name) {
            return PrepareOutcome {
                status: PrepareStatus::Failed,
                stats: ProgressUpdate::default(),
                started_at: started,
                finished_at: now(),
                errors: vec![format!("injected fault: prepare:{}", spec.name)],
                skipped: vec![],
                skipped_more: 0,
                changed_during_backup: vec![],
                changed_during_backup_count: 0,
            };
        }
        let (id2, spec2, faults) = (id.to_string(), spec.clone(), self.faults.clone());
        let res = tokio::task::spawn_blocking(move || {
            prepare_blocking(&id2, &spec2, &faults, &cancel, &progress, started)
        })
        .await;
        let (status, stats, errors, (skipped, skipped_count), changed) = match res {
            Ok(r) => r,
            Err(e) => (
                PrepareStatus::Failed,
                ProgressUpdate::default(),
                vec![format!("internal error: the copy task failed: {e}")],
                Skipped::default(),
                ChangedFiles::default(),
            ),
        };
        PrepareOutcome {
            status,
            stats,
            started_at: started,
            finished_at: now(),
            errors: errors.iter().map(|e| single_line(e)).collect(),
            skipped_more: skipped_count.saturating_sub(skipped.len() as u64),
            skipped,
            changed_during_backup: changed.names,
            changed_during_backup_count: changed.count,
        }
    }

    async fn commit(&self, id: &str, spec: &ComponentSpec) -> Result<Ack, StoreError> {
        let layout = SlotLayout::of(&spec.backup_folder)?;
        let (id, name, keep) = (id.to_string(), spec.name.clone(), spec.keep);
        let abort_mid = self.faults.abort_mid_rotation.contains(&spec.name);
        tokio::task::spawn_blocking(move || {
            slots::commit(&layout, &id, &name, keep, &mut |step| {
                if abort_mid && step == Step::BeforeStagingRename {
                    tracing::error!("injected fault abort_mid_rotation: aborting the process");
                    std::process::abort();
                }
                Ok(())
            })
        })
        .await
        .map_err(join_error)??;
        Ok(Ack::default())
    }

    async fn abort(
        &self,
        id: &str,
        spec: &ComponentSpec,
        errors: &[String],
    ) -> Result<Ack, StoreError> {
        let layout = SlotLayout::of(&spec.backup_folder)?;
        let (id, name) = (id.to_string(), spec.name.clone());
        let errors: Vec<String> = errors.iter().map(|e| single_line(e)).collect();
        tokio::task::spawn_blocking(move || -> Result<Ack, StoreError> {
            let staging = layout.staging(&id);
            // The staging readme's start time, else the ID's (an ID begins with its start time).
            let started = Readme::read_from(&staging)
                .ok()
                .and_then(|r| r.started)
                .or_else(|| crate::engine::backup_id::parse(&id).map(|p| p.time));
            slots::remove_staging(&layout, &id, &name)?;
            if !layout.parent.is_dir() {
                return Ok(Ack::default());
            }
            let readme = Readme {
                backup_id: id.clone(),
                component: name.clone(),
                started,
                finished: Some(now()),
                success: false,
                errors: if errors.is_empty() {
                    vec!["the backup set was not committed".into()]
                } else {
                    errors
                },
                changed: Default::default(),
            };
            slots::write_failed(&layout, &id, &readme)?;
            Ok(Ack::default())
        })
        .await
        .map_err(join_error)?
    }

    async fn history(&self, spec: &ComponentSpec) -> Result<Vec<SlotInfo>, StoreError> {
        let layout = SlotLayout::of(&spec.backup_folder)?;
        tokio::task::spawn_blocking(move || -> Result<Vec<SlotInfo>, StoreError> {
            Ok(layout
                .existing_slots()?
                .into_iter()
                .map(|(_, path)| {
                    let name = path
                        .file_name()
                        .map(|n| String::from_utf8_lossy(n.as_bytes()).into_owned())
                        .unwrap_or_default();
                    slot_info(name, &path)
                })
                .collect())
        })
        .await
        .map_err(join_error)?
    }

    async fn remove_temporaries(
        &self,
        spec: &ComponentSpec,
        ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        let layout = SlotLayout::of(&spec.backup_folder)?;
        let (ids, name) = (ids.to_vec(), spec.name.clone());
        tokio::task::spawn_blocking(move || -> Result<Vec<String>, StoreError> {
            let mut removed = Vec::new();
            for path in layout.temporaries()? {
                let Some(t) = path.file_name().and_then(|n| layout.temporary(n)) else {
                    continue;
                };
                if !ids.iter().any(|id| id == t.id()) {
                    tracing::info!(path = %path.display(), "leaving a folder alone: no backup record of this component names its ID");
                    continue;
                }
                if !fsutil::exists_nofollow(&path) {
                    continue; // removed with its staging folder just before
                }
                match t {
                    slots::Temporary::Staging(id) => {
                        if let Err(e) = slots::remove_staging(&layout, &id, &name) {
                            tracing::warn!(error = %e, "leftover staging folder left alone");
                            continue;
                        }
                    }
                    slots::Temporary::FailedHelper(_) | slots::Temporary::Trash(_) => {
                        fsutil::remove_tree(&path)?
                    }
                }
                removed.push(path.display().to_string());
            }
            if !removed.is_empty() {
                fsutil::fsync_dir(&layout.parent)?;
            }
            Ok(removed)
        })
        .await
        .map_err(join_error)?
    }
}

/// Reads a whole tree as (relative path, kind, content or link target) for tests comparing
/// folders byte for byte.
#[cfg(test)]
pub(crate) fn tree_listing(root: &Path) -> std::collections::BTreeMap<String, String> {
    use std::os::unix::fs::MetadataExt;
    let mut out = std::collections::BTreeMap::new();
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap())
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                out.insert(rel.clone(), format!("dir {:o}", m.mode()));
                walk(root, &p, out);
            } else if m.file_type().is_symlink() {
                out.insert(
                    rel,
                    format!("link {}", std::fs::read_link(&p).unwrap().display()),
                );
            } else {
                let data = std::fs::read(&p).unwrap();
                out.insert(
                    rel,
                    format!(
                        "file {:o} {} {}",
                        m.mode(),
                        m.mtime(),
                        hex::encode(sha2_digest(&data))
                    ),
                );
            }
        }
    }
    fn sha2_digest(d: &[u8]) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(d).into()
    }
    if root.exists() {
        walk(root, root, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::slots::tests::snapshot;
    use std::fs;
    use std::process::Command;

    fn spec(root: &Path) -> ComponentSpec {
        let home = root.join("hub");
        fs::create_dir_all(home.join("accountreg/a")).unwrap();
        fs::create_dir_all(home.join("hubreg")).unwrap();
        fs::write(home.join("hub.ini"), "[hub]\n").unwrap();
        fs::write(home.join("accountreg/a/1.dat"), "one").unwrap();
        fs::write(home.join("hubreg/r.dat"), "reg").unwrap();
        fs::write(home.join("not-backed-up.log"), "log").unwrap();
        ComponentSpec {
            name: "hub".into(),
            profile: Profile::MaestroHub,
            home: home.clone(),
            backup_folder: home.join("backup"),
            keep: 2,
            items: vec![],
            consistency: Default::default(),
            read_point: None,
        }
    }

    fn sink() -> ProgressSink {
        Arc::new(|_| {})
    }

    #[tokio::test]
    async fn prepare_commit_history_and_abort() {
        let root = tempfile::tempdir().unwrap();
        let spec = spec(root.path());
        let store = LocalStore::default();
        let o = store
            .prepare("20260101T000000Z", &spec, CancelToken::new(), sink())
            .await;
        assert_eq!(o.status, PrepareStatus::Prepared, "{:?}", o.errors);
        assert_eq!(o.stats.files, 3);
        let staging = spec.home.join("backup.staging-20260101T000000Z");
        assert!(staging.join("readme.txt").is_file());
        store.commit("20260101T000000Z", &spec).await.unwrap();
        assert!(!staging.exists());
        let slot = spec.home.join("backup");
        let st = Command::new("sha256sum")
            .args(["-c", "--quiet", "SHA256SUMS"])
            .current_dir(&slot)
            .status()
            .unwrap();
        assert!(st.success());
        assert!(!slot.join("not-backed-up.log").exists());
        let readme = fs::read_to_string(slot.join("readme.txt")).unwrap();
        assert!(
            readme.starts_with("Backup ID: 20260101T000000Z\nComponent: hub\nStarted: "),
            "{readme}"
        );
        assert!(readme.ends_with("Result: success\n"));
        // Second backup: everything unchanged is linked; then an aborted third leaves slots alone.
        let o = store
            .prepare("20260102T000000Z", &spec, CancelToken::new(), sink())
            .await;
        assert_eq!(o.stats.files_linked, 3);
        store.commit("20260102T000000Z", &spec).await.unwrap();
        let before = snapshot(&spec.home);
        let o = store
            .prepare("20260103T000000Z", &spec, CancelToken::new(), sink())
            .await;
        assert_eq!(o.status, PrepareStatus::Prepared);
        store
            .abort(
                "20260103T000000Z",
                &spec,
                &["other component failed".into()],
            )
            .await
            .unwrap();
        let mut after = snapshot(&spec.home);
        assert_eq!(
            after.remove("backup.failed").as_deref(),
            Some("20260103T000000Z")
        );
        assert_eq!(before, after);
        let failed = fs::read_to_string(spec.home.join("backup.failed/readme.txt")).unwrap();
        assert!(
            failed.contains("Result: error\nError: other component failed\n"),
            "{failed}"
        );
        let h = store.history(&spec).await.unwrap();
        let ids: Vec<_> = h
            .iter()
            .map(|s| (s.slot.as_str(), s.backup_id.as_deref().unwrap()))
            .collect();
        assert_eq!(
            ids,
            vec![
                ("backup", "20260102T000000Z"),
                ("backup1", "20260101T000000Z")
            ]
        );
        assert_eq!(h[0].result.as_deref(), Some("success"));
        // An unreadable readme shows as an error on that slot.
        fs::write(spec.home.join("backup1/readme.txt"), "nonsense").unwrap();
        let h = store.history(&spec).await.unwrap();
        assert!(h[1].error.is_some() && h[1].backup_id.is_none());
    }

    #[tokio::test]
    async fn missing_item_fails_and_removes_staging() {
        let root = tempfile::tempdir().unwrap();
        let spec = spec(root.path());
        fs::remove_file(spec.home.join("hub.ini")).unwrap();
        let o = LocalStore::default()
            .prepare("20260101T000000Z", &spec, CancelToken::new(), sink())
            .await;
        assert_eq!(o.status, PrepareStatus::Failed);
        assert!(o.errors[0].contains("hub.ini"), "{:?}", o.errors);
        assert!(!spec.home.join("backup.staging-20260101T000000Z").exists());
    }

    #[tokio::test]
    async fn enospc_is_clear_and_cleans_up() {
        let root = tempfile::tempdir().unwrap();
        let spec = spec(root.path());
        let mut f = Faults::none();
        f.enospc.insert("hub".into());
        let o = LocalStore::new(Arc::new(f))
            .prepare("20260101T000000Z", &spec, CancelToken::new(), sink())
            .await;
        assert_eq!(o.status, PrepareStatus::Failed);
        assert!(
            o.errors[0].contains("No space left on device"),
            "{:?}",
            o.errors
        );
        assert!(!spec.home.join("backup.staging-20260101T000000Z").exists());
    }

    #[tokio::test]
    async fn only_temporaries_of_the_named_backups_are_removed() {
        let root = tempfile::tempdir().unwrap();
        let spec = spec(root.path());
        let layout = SlotLayout::of(&spec.backup_folder).unwrap();
        let (a, b) = ("20260101T000000Z", "20260102T000000Z");
        // A's staging (readme names hub and A), trash and helper; B's staging; a folder at
        // A's staging name of another component would not be removed (tested in slots).
        let staging_a = layout.staging(a);
        fs::create_dir_all(&staging_a).unwrap();
        let r = Readme {
            backup_id: a.into(),
            component: "hub".into(),
            started: None,
            finished: None,
            success: false,
            errors: vec![INCOMPLETE.into()],
            changed: Default::default(),
        };
        fs::write(staging_a.join(README_FILE), r.render()).unwrap();
        for p in [layout.trash(a, 3), layout.failed_new(a), layout.staging(b)] {
            fs::create_dir_all(p.join("x")).unwrap();
        }
        let unnamed = spec.home.join("backup.staging-handmade");
        fs::create_dir_all(unnamed.join("x")).unwrap();
        let removed = LocalStore::default()
            .remove_temporaries(&spec, &[a.to_string()])
            .await
            .unwrap();
        // The helper went with its staging folder.
        assert_eq!(removed.len(), 2, "{removed:?}");
        assert!(!staging_a.exists() && !layout.trash(a, 3).exists());
        assert!(!layout.failed_new(a).exists());
        assert!(layout.staging(b).join("x").is_dir());
        assert!(unnamed.join("x").is_dir());
        // B named but its staging holds no readme of hub's backup B: left alone.
        let removed = LocalStore::default()
            .remove_temporaries(&spec, &[b.to_string()])
            .await
            .unwrap();
        assert!(removed.is_empty(), "{removed:?}");
        assert!(layout.staging(b).join("x").is_dir());
    }

    #[tokio::test]
    async fn prepare_stops_at_a_foreign_slot_and_never_takes_over_a_staging_name() {
        let root = tempfile::tempdir().unwrap();
        let spec = spec(root.path());
        let store = LocalStore::default();
        let before = tree_listing(&spec.home);
        // A hand-made folder at a slot name, beyond keep: refused before anything is made.
        fs::create_dir_all(spec.home.join("backup7/photos")).unwrap();
        let before7 = tree_listing(&spec.home);
        let o = store
            .prepare("20260101T000000Z", &spec, CancelToken::new(), sink())
            .await;
        assert_eq!(o.status, PrepareStatus::Failed);
        assert!(
            o.errors[0].contains(&spec.home.join("backup7").display().to_string()),
            "{:?}",
            o.errors
        );
        assert_eq!(tree_listing(&spec.home), before7);
        fs::remove_dir_all(spec.home.join("backup7")).unwrap();
        assert_eq!(tree_listing(&spec.home), before);
        // A folder already at this backup's staging name is not adopted, and not removed,
        // neither by the failed prepare nor by the abort that follows.
        let id = "20260102T000000Z";
        let planted = spec.home.join(format!("backup.staging-{id}"));
        fs::create_dir_all(planted.join("mine")).unwrap();
        fs::write(planted.join("mine/file"), "precious").unwrap();
        let o = store.prepare(id, &spec, CancelToken::new(), sink()).await;
        assert_eq!(o.status, PrepareStatus::Failed);
        let e = store.abort(id, &spec, &["x".into()]).await.unwrap_err();
        assert!(
            e.to_string().contains(&planted.display().to_string()),
            "{e}"
        );
        assert_eq!(
            fs::read_to_string(planted.join("mine/file")).unwrap(),
            "precious"
        );
    }
}

/// Performance check against `cp -a` and `rsync --link-dest` (README *Benchmark*, targets: full backup
/// ≤ 1.3× `cp -a`, unchanged backup ≤ 0.5× `rsync --link-dest`, on ~300 MB in 3,000 files plus
/// 20,000 small files). Run with
/// `BENCH_DIR=<folder> cargo test --release -- --ignored --nocapture bench_against_cp_and_rsync`
/// (without `BENCH_DIR` it does nothing, so `--include-ignored` runs stay quick). Needs rsync.
#[cfg(test)]
mod bench {
    use super::*;
    use std::fs;
    use std::path::PathBuf;
    use std::process::Command;
    use std::time::Instant;

    fn gen(home: &Path) {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut buf = vec![0u8; 100 * 1024];
        for i in 0..3000 {
            for c in buf.chunks_mut(8) {
                c.copy_from_slice(&next().to_le_bytes()[..c.len()]);
            }
            let d = home.join(format!("data/d{:02}", i / 100));
            fs::create_dir_all(&d).unwrap();
            fs::write(d.join(format!("f{i:04}.bin")), &buf).unwrap();
        }
        for j in 0..20_000 {
            let d = home.join(format!("small/s{:02}", j / 500));
            fs::create_dir_all(&d).unwrap();
            fs::write(
                d.join(format!("s{j:05}.txt")),
                format!("{j} {}\n", next()).repeat(20),
            )
            .unwrap();
        }
    }

    /// CPU seconds (user + system) of this process and of its waited-for children.
    fn cpu() -> (f64, f64) {
        let get = |who| {
            // SAFETY: getrusage fills the struct it is given.
            let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
            unsafe { libc::getrusage(who, &mut ru) };
            let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
            t(ru.ru_utime) + t(ru.ru_stime)
        };
        (get(libc::RUSAGE_SELF), get(libc::RUSAGE_CHILDREN))
    }

    fn timed(what: &str, f: impl FnOnce()) -> f64 {
        let c0 = cpu();
        let t = Instant::now();
        f();
        let s = t.elapsed().as_secs_f64();
        let c1 = cpu();
        println!(
            "{what:<40} {s:8.3} s wall, cpu {:.3} s",
            (c1.0 - c0.0) + (c1.1 - c0.1)
        );
        s
    }

    fn sh(args: &[&str]) {
        let st = Command::new(args[0]).args(&args[1..]).status().unwrap();
        assert!(st.success(), "{args:?}");
    }

    #[test]
    #[ignore]
    fn bench_against_cp_and_rsync() {
        if std::env::var_os("BENCH_DIR").is_none() {
            eprintln!("set BENCH_DIR to run this benchmark");
            return;
        }
        let base = std::env::var("BENCH_DIR").map(PathBuf::from).unwrap();
        let root = tempfile::tempdir_in(base).unwrap();
        let home = root.path().join("home");
        gen(&home);
        sh(&["sync"]);
        let spec_in = |folder: &str| ComponentSpec {
            name: "bench".into(),
            profile: Profile::Custom,
            home: home.clone(),
            backup_folder: root.path().join(folder).join("backup"),
            keep: 3,
            items: vec!["data/".into(), "small/".into()],
            consistency: Default::default(),
            read_point: None,
        };
        let rt = tokio::runtime::Runtime::new().unwrap();
        let store = LocalStore::default();
        let backup = |id: &str, spec: &ComponentSpec| {
            rt.block_on(async {
                let o = store
                    .prepare(id, spec, CancelToken::new(), Arc::new(|_| {}))
                    .await;
                assert_eq!(o.status, PrepareStatus::Prepared, "{:?}", o.errors);
                store.commit(id, spec).await.unwrap();
                o.stats
            })
        };
        let h = |p: &str| home.join(p).display().to_string();
        // Alternate the tools and keep each one's best time: the machine is shared.
        let (mut cp, mut cp_sync, mut full) = (f64::MAX, f64::MAX, f64::MAX);
        for round in 0..2 {
            let cp_dst = root.path().join(format!("cp{round}"));
            fs::create_dir_all(&cp_dst).unwrap();
            let t = timed("cp -a", || {
                sh(&[
                    "cp",
                    "-a",
                    &h("data"),
                    &h("small"),
                    &cp_dst.display().to_string(),
                ])
            });
            cp = cp.min(t);
            cp_sync = cp_sync.min(t + timed("  + sync", || sh(&["sync"])));
            full = full.min(timed("backup-master full (incl. syncfs)", || {
                let s = backup("A", &spec_in(&format!("full{round}")));
                assert_eq!(s.files_copied, 23_000);
            }));
            sh(&["sync"]);
        }
        let spec = spec_in("full1");
        let cp_dst = root.path().join("cp1");
        // The floor: links only, one thread. It links a copy: linking the source would change
        // the source's ctime and defeat the comparison.
        let cpal = root.path().join("cpal");
        fs::create_dir_all(&cpal).unwrap();
        let c = |p: &str| cp_dst.join(p).display().to_string();
        timed("cp -al (links only)", || {
            sh(&[
                "cp",
                "-al",
                &c("data"),
                &c("small"),
                &cpal.display().to_string(),
            ])
        });
        sh(&["sync"]);
        let (mut rsync, mut unchanged) = (f64::MAX, f64::MAX);
        for round in 0..3 {
            let rs_dst = root.path().join(format!("rs{round}"));
            rsync = rsync.min(timed("rsync -a --link-dest (unchanged)", || {
                sh(&[
                    "rsync",
                    "-a",
                    &format!("--link-dest={}", cp_dst.display()),
                    &h("data"),
                    &h("small"),
                    &format!("{}/", rs_dst.display()),
                ])
            }));
            sh(&["sync"]);
            unchanged = unchanged.min(timed("backup-master unchanged (incl. syncfs)", || {
                let s = backup(&format!("B{round}"), &spec);
                assert_eq!(s.files_linked, 23_000);
            }));
            sh(&["sync"]);
        }
        println!("full / cp -a          = {:.2} (target <= 1.3)", full / cp);
        println!("full / (cp -a + sync) = {:.2}", full / cp_sync);
        println!(
            "unchanged / rsync     = {:.2} (target <= 0.5)",
            unchanged / rsync
        );
    }

    /// For profiling the unchanged path: `BENCH_DATA=<dir>` keeps the data between runs; the
    /// first run creates it and makes a full backup, later runs only make unchanged backups.
    #[test]
    #[ignore]
    fn bench_unchanged_only() {
        let Ok(dir) = std::env::var("BENCH_DATA") else {
            return;
        };
        let root = PathBuf::from(dir);
        let home = root.join("home");
        let spec = ComponentSpec {
            name: "bench".into(),
            profile: Profile::Custom,
            home: home.clone(),
            backup_folder: root.join("bk/backup"),
            keep: 1,
            items: vec!["data/".into(), "small/".into()],
            consistency: Default::default(),
            read_point: None,
        };
        let rt = tokio::runtime::Runtime::new().unwrap();
        let store = LocalStore::default();
        let fresh = !home.exists();
        if fresh {
            gen(&home);
        }
        for i in 0..if fresh { 1 } else { 5 } {
            let id = format!("{}-{i}", std::process::id());
            timed("backup", || {
                rt.block_on(async {
                    let o = store
                        .prepare(&id, &spec, CancelToken::new(), Arc::new(|_| {}))
                        .await;
                    assert_eq!(o.status, PrepareStatus::Prepared, "{:?}", o.errors);
                    store.commit(&id, &spec).await.unwrap();
                })
            });
        }
    }
}
