//! The agent's side of a restore of a remote component (README: *Config reference* profiles, *How backups work*, *Remote components*): the master plans,
//! applies, commits or rolls back each remote component through these calls, and the agent does
//! the file work on its own machine with the same code as a local restore
//! ([`crate::restore::plan`], [`crate::restore::apply`]). The data never passes through the
//! master.
//!
//! ```text
//! plan (dry, nothing recorded)
//! apply ─► running/applied ─► commit ─► succeeded      (safety folder retired, then removed)
//!   │             ├─────────► rollback ─► failed       (every item put back)
//!   │             └─ no decision within decision_timeout_seconds ─► failed (rolled back)
//!   └─► failed (the apply failed: rolled back at once; a later rollback answers it again)
//! ```
//!
//! Each restore of a component is a one-component restore record (the master's JSON shape),
//! written atomically at every step under `<state_dir>/restores/<component>/jobs/restores/`.
//! An agent restarted while a restore was applied or being applied, without a commit, rolls it
//! back at start-up (the record and the disk are the only truth used, as in a local rollback);
//! one whose commit was recorded is completed, and a committed one whose retired safety folder
//! was still being deleted has it deleted. The record in memory is only what was saved (a
//! failed save fails the call; the master repeats it), and the calls run to their end under the
//! one-call lock even when the master stops waiting.
//!
//! * `apply` checks the slot (its readme names the backup ID) and verifies it against its
//!   `SHA256SUMS` before anything changes; the plan is made again from the disk.
//! * `commit` and `rollback` are idempotent: a second call answers the final record again. A
//!   rollback of a restore the agent never applied answers a record with no component (nothing
//!   to put back); a commit of one that was rolled back is refused (409), as is a rollback of a
//!   committed one.
//! * One restore of a component at a time: an `apply` while another one of the same component
//!   waits for its decision is refused (409 naming it).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{SubsecRound, Utc};

use super::txn::Txns;
use super::wire::{RemoteRestoreRequest, RemoteSpec};
use crate::engine::faults::Faults;
use crate::engine::ComponentSpec;
use crate::error::{ApiError, ProblemKind};
use crate::restore::apply::{self, Journal};
use crate::restore::plan::{plan_component, PlanInput, Problem};
use crate::restore::record::{
    self, ComponentRestore, ComponentState, FolderOrigin, RestoreRecord, RestoreStatus, StepAction,
};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One restore of one component on this agent: its record, saved at every update. Only what
/// was saved is kept: a change whose save failed is dropped (the call fails and the master
/// repeats it; every step is idempotent), so the agent never acts on a commit decision or an
/// end that is not on disk.
struct AgentJournal {
    dir: PathBuf,
    rec: Mutex<RestoreRecord>,
}

impl Journal for AgentJournal {
    fn update(&self, f: &mut dyn FnMut(&mut RestoreRecord)) -> Result<(), String> {
        let mut r = lock(&self.rec);
        let mut next = r.clone();
        f(&mut next);
        record::save(&self.dir, &next).map_err(|e| e.to_string())?;
        *r = next;
        Ok(())
    }

    fn snapshot(&self) -> RestoreRecord {
        lock(&self.rec).clone()
    }
}

struct Inner {
    state_dir: PathBuf,
    txns: Txns,
    faults: Faults,
    decision_timeout: Duration,
    journals: Mutex<HashMap<(String, String), Arc<AgentJournal>>>,
    /// One restore call at a time (they are short but must not interleave).
    ops: tokio::sync::Mutex<()>,
}

/// The restores this agent applied. Cheap to clone.
#[derive(Clone)]
pub struct AgentRestores {
    inner: Arc<Inner>,
}

fn empty_record(id: &str, backup_id: &str) -> RestoreRecord {
    let now = Utc::now().trunc_subsecs(0);
    RestoreRecord {
        id: id.to_string(),
        backup_id: backup_id.to_string(),
        dry_run: false,
        status: RestoreStatus::Running,
        requested_components: None,
        source_folders: BTreeMap::new(),
        created_at: now,
        started_at: Some(now),
        finished_at: None,
        verification: vec![],
        components: vec![],
        steps: vec![],
        changed: vec![],
        commit_decided: false,
        errors: vec![],
        notes: vec![],
    }
}

fn blocking_failed(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(format!("the restore task stopped: {e}"))
}

impl AgentRestores {
    /// Loads the restore records and finishes those a restart interrupted (see the module doc).
    /// Faults come from `BACKUP_MASTER_FAULTS` (`restore_fail_after:<component>`, ...).
    pub fn open(state_dir: &Path, txns: Txns, decision_timeout: Duration) -> Result<Self, String> {
        let faults = Faults::from_env().map_err(|e| e.to_string())?;
        let root = state_dir.join("restores");
        std::fs::create_dir_all(&root).map_err(|e| format!("creating {}: {e}", root.display()))?;
        let this = AgentRestores {
            inner: Arc::new(Inner {
                state_dir: state_dir.to_path_buf(),
                txns,
                faults,
                decision_timeout,
                journals: Mutex::new(HashMap::new()),
                ops: tokio::sync::Mutex::new(()),
            }),
        };
        let Ok(entries) = std::fs::read_dir(&root) else {
            return Ok(this);
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let dir = e.path();
            let (records, warnings) = record::load_all(&dir).map_err(|e| e.to_string())?;
            for w in warnings {
                tracing::warn!("{w}");
            }
            for rec in records {
                let id = rec.id.clone();
                let running = rec.status == RestoreStatus::Running;
                if rec.status == RestoreStatus::Succeeded {
                    // A crash while its retired safety folder was being deleted: finish that
                    // (the folder is named in this record, renamed there only at the commit).
                    apply::purge_retired(&rec);
                }
                let j = Arc::new(AgentJournal {
                    dir: dir.clone(),
                    rec: Mutex::new(rec),
                });
                if running {
                    this.finish_interrupted(&j);
                }
                lock(&this.inner.journals).insert((name.clone(), id), j);
            }
        }
        Ok(this)
    }

    /// Start-up: a restore left `running` is completed when its commit was recorded, else
    /// rolled back.
    fn finish_interrupted(&self, j: &AgentJournal) {
        let rec = j.snapshot();
        tracing::warn!(restore = %rec.id, "the agent stopped during a restore; finishing it");
        let _ = j.update(&mut |r| {
            r.step(
                StepAction::Recovered,
                None,
                None,
                None,
                Some("the agent stopped while this restore ran".into()),
            )
        });
        if rec.commit_decided {
            apply::complete(j, Some("completed when the agent started again"));
            apply::purge_retired(&j.snapshot());
        } else {
            apply::rollback_all(
                j,
                &self.inner.faults,
                RestoreStatus::Interrupted,
                "interrupted: the agent stopped before the master's decision; every item was put back",
            );
        }
    }

    fn dir_of(&self, name: &str) -> PathBuf {
        self.inner.state_dir.join("restores").join(name)
    }

    fn journal(&self, name: &str, id: &str) -> Option<Arc<AgentJournal>> {
        lock(&self.inner.journals)
            .get(&(name.to_string(), id.to_string()))
            .cloned()
    }

    /// The component's spec and the slot folder to restore from, checked: the slot's readme
    /// names the backup ID.
    async fn source(
        &self,
        name: &str,
        req: &RemoteRestoreRequest,
    ) -> Result<(ComponentSpec, PathBuf), ApiError> {
        let spec = self.inner.txns.spec_of(
            name,
            &RemoteSpec {
                profile: req.profile,
                backup_folder: req.backup_folder.clone(),
                keep: 0,
                items: req.items.clone(),
                errors: vec![],
            },
        )?;
        let slots = self
            .inner
            .txns
            .history(name, &req.backup_folder, crate::config::MAX_KEEP)
            .await?;
        let Some(slot) = slots.into_iter().find(|s| s.slot == req.slot) else {
            return Err(ApiError::field(
                "slot",
                format!("component {name:?} has no history slot {:?}", req.slot),
            ));
        };
        if slot.backup_id.as_deref() != Some(req.backup_id.as_str()) {
            return Err(ApiError::field(
                "backup_id",
                format!(
                    "slot {} holds backup {}, not {}",
                    slot.path,
                    slot.backup_id.as_deref().unwrap_or("(unknown)"),
                    req.backup_id
                ),
            ));
        }
        if slot.result.as_deref() != Some("success") {
            return Err(ApiError::field(
                "backup_id",
                format!("the backup in {} did not succeed", slot.path),
            ));
        }
        Ok((spec, PathBuf::from(slot.path)))
    }

    fn make_plan(
        restore_id: &str,
        spec: &ComponentSpec,
        folder: &Path,
        slot: &str,
    ) -> Result<ComponentRestore, ApiError> {
        plan_component(&PlanInput {
            restore_id,
            spec,
            folder,
            origin: FolderOrigin::Slot,
            slot: Some(slot.to_string()),
        })
        .map_err(|problems| {
            let home = problems.iter().any(|p| matches!(p, Problem::Home(_)));
            let msg = problems
                .into_iter()
                .map(|p| match p {
                    Problem::Folder(m) | Problem::Home(m) => m,
                })
                .collect::<Vec<_>>()
                .join("; ");
            if home {
                ApiError::conflict(format!("cannot restore {}: {msg}", spec.name))
            } else {
                ApiError::new(ProblemKind::Validation, msg)
            }
        })
    }

    /// The plan of the component, made from its slot and its home now; nothing is recorded or
    /// changed.
    pub async fn plan(
        &self,
        name: &str,
        restore_id: &str,
        req: &RemoteRestoreRequest,
    ) -> Result<ComponentRestore, ApiError> {
        check_restore_id(restore_id)?;
        let (spec, folder) = self.source(name, req).await?;
        let (id, slot) = (restore_id.to_string(), req.slot.clone());
        tokio::task::spawn_blocking(move || Self::make_plan(&id, &spec, &folder, &slot))
            .await
            .map_err(blocking_failed)?
    }

    /// Verifies the slot, records the restore and applies it (see the module doc). Runs to its
    /// end even when the master stops waiting ([`super::to_the_end`]), like commit and
    /// rollback: the one-call-at-a-time lock is held until the file work is done.
    pub async fn apply(
        &self,
        name: &str,
        restore_id: &str,
        req: &RemoteRestoreRequest,
    ) -> Result<RestoreRecord, ApiError> {
        let (me, name, id, req) = (
            self.clone(),
            name.to_string(),
            restore_id.to_string(),
            req.clone(),
        );
        super::to_the_end(async move { me.apply_now(&name, &id, &req).await }).await
    }

    async fn apply_now(
        &self,
        name: &str,
        restore_id: &str,
        req: &RemoteRestoreRequest,
    ) -> Result<RestoreRecord, ApiError> {
        check_restore_id(restore_id)?;
        let _ops = self.inner.ops.lock().await;
        if let Some(j) = self.journal(name, restore_id) {
            let r = j.snapshot();
            return match (r.status, r.components.first().map(|c| c.status)) {
                (RestoreStatus::Running, Some(ComponentState::Applied)) => Ok(r),
                (s, _) => Err(ApiError::conflict(format!(
                    "restore {restore_id} of {name} is already {} on this agent",
                    s.as_str()
                ))),
            };
        }
        let busy = lock(&self.inner.journals)
            .iter()
            .find(|((n, _), j)| n == name && j.snapshot().status == RestoreStatus::Running)
            .map(|((_, id), _)| id.clone());
        if let Some(other) = busy {
            return Err(ApiError::conflict(format!(
                "restore {other} of {name} waits for the master's decision on this agent"
            )));
        }
        let (spec, folder) = self.source(name, req).await?;
        let this = self.clone();
        let (name, id, req) = (name.to_string(), restore_id.to_string(), req.clone());
        tokio::task::spawn_blocking(move || this.apply_blocking(&name, &id, &req, &spec, &folder))
            .await
            .map_err(blocking_failed)?
    }

    fn apply_blocking(
        &self,
        name: &str,
        id: &str,
        req: &RemoteRestoreRequest,
        spec: &ComponentSpec,
        folder: &Path,
    ) -> Result<RestoreRecord, ApiError> {
        let check = crate::sets::verify::check_tree(folder, &Default::default());
        let v = crate::sets::FolderVerification::of(name, &folder.display().to_string(), check);
        if !v.ok {
            return Err(ApiError::new(
                ProblemKind::Validation,
                format!(
                    "{} does not verify against its SHA256SUMS: changed {:?}, missing {:?}, unlisted {:?}, unreadable {:?} {}",
                    v.folder,
                    v.changed,
                    v.missing,
                    v.unlisted,
                    v.unreadable,
                    v.error.unwrap_or_default()
                ),
            ));
        }
        let plan = Self::make_plan(id, spec, folder, &req.slot)?;
        let mut rec = empty_record(id, &req.backup_id);
        rec.components.push(plan);
        rec.verification.push(crate::restore::record::FolderCheck {
            component: name.to_string(),
            folder: v.folder.clone(),
            ok: true,
            problems: vec![],
        });
        rec.step(StepAction::Planned, Some(name), None, None, None);
        let j = Arc::new(AgentJournal {
            dir: self.dir_of(name),
            rec: Mutex::new(rec.clone()),
        });
        let records = record::records_dir(&j.dir);
        std::fs::create_dir_all(&records)
            .map_err(|e| ApiError::internal(format!("creating {}: {e}", records.display())))?;
        record::save(&j.dir, &rec)
            .map_err(|e| ApiError::internal(format!("recording the restore: {e}")))?;
        lock(&self.inner.journals).insert((name.to_string(), id.to_string()), j.clone());
        tracing::info!(component = %name, restore = %id, "applying a restore");
        if let Err(e) = apply::apply_component(&*j, &self.inner.faults, 0) {
            tracing::warn!(component = %name, restore = %id, error = %e, "the restore failed; rolling back");
            apply::rollback_all(&*j, &self.inner.faults, RestoreStatus::Failed, &e);
            let r = j.snapshot();
            return Err(ApiError::conflict(format!(
                "the restore of {name} failed on this agent and was rolled back: {}",
                r.errors.join("; ")
            )));
        }
        Ok(j.snapshot())
    }

    /// Commits an applied restore: its safety folder is retired and removed. Idempotent.
    pub async fn commit(&self, name: &str, restore_id: &str) -> Result<RestoreRecord, ApiError> {
        let (me, name, id) = (self.clone(), name.to_string(), restore_id.to_string());
        super::to_the_end(async move { me.commit_now(&name, &id).await }).await
    }

    async fn commit_now(&self, name: &str, restore_id: &str) -> Result<RestoreRecord, ApiError> {
        check_restore_id(restore_id)?;
        let _ops = self.inner.ops.lock().await;
        let Some(j) = self.journal(name, restore_id) else {
            return Err(ApiError::not_found(format!(
                "this agent has no restore {restore_id} of {name}"
            )));
        };
        let r = j.snapshot();
        match r.status {
            RestoreStatus::Succeeded => return Ok(r),
            RestoreStatus::Running => {}
            s => {
                return Err(ApiError::conflict(format!(
                    "restore {restore_id} of {name} was not committed: it is {} on this agent ({})",
                    s.as_str(),
                    r.errors.join("; ")
                )))
            }
        }
        tokio::task::spawn_blocking(move || {
            j.update(&mut |r| {
                r.commit_decided = true;
                r.step(StepAction::CommitDecided, None, None, None, None);
            })
            .map_err(|e| ApiError::internal(format!("recording the commit: {e}")))?;
            apply::complete(&*j, None);
            let r = j.snapshot();
            apply::purge_retired(&r);
            Ok(r)
        })
        .await
        .map_err(blocking_failed)?
    }

    /// Rolls an applied restore back (every item put back). Idempotent.
    pub async fn rollback(&self, name: &str, restore_id: &str) -> Result<RestoreRecord, ApiError> {
        let (me, name, id) = (self.clone(), name.to_string(), restore_id.to_string());
        super::to_the_end(async move { me.rollback_now(&name, &id).await }).await
    }

    async fn rollback_now(&self, name: &str, restore_id: &str) -> Result<RestoreRecord, ApiError> {
        check_restore_id(restore_id)?;
        self.inner.txns.spec_of_name(name)?;
        let _ops = self.inner.ops.lock().await;
        let Some(j) = self.journal(name, restore_id) else {
            let mut r = empty_record(restore_id, "");
            r.status = RestoreStatus::Failed;
            r.finished_at = r.started_at;
            r.notes
                .push("this agent never applied this restore: nothing to put back".into());
            return Ok(r);
        };
        let r = j.snapshot();
        match r.status {
            RestoreStatus::Running => {}
            RestoreStatus::Succeeded => {
                return Err(ApiError::conflict(format!(
                    "restore {restore_id} of {name} was committed on this agent; it cannot be rolled back"
                )))
            }
            _ => return Ok(r),
        }
        let faults = self.inner.faults.clone();
        tokio::task::spawn_blocking(move || {
            apply::rollback_all(
                &*j,
                &faults,
                RestoreStatus::Failed,
                "rolled back at the master's request",
            );
            j.snapshot()
        })
        .await
        .map_err(blocking_failed)
    }

    /// Rolls back applied restores that got no decision within the decision timeout. Runs until
    /// the process ends.
    pub async fn watch_decisions(self) {
        let t = self.inner.decision_timeout;
        let every = (t / 4).clamp(Duration::from_millis(100), Duration::from_secs(5));
        let limit = chrono::Duration::from_std(t).unwrap_or(chrono::Duration::MAX);
        loop {
            tokio::time::sleep(every).await;
            let due: Vec<Arc<AgentJournal>> = lock(&self.inner.journals)
                .values()
                .filter(|j| {
                    let r = j.snapshot();
                    r.status == RestoreStatus::Running
                        && !r.commit_decided
                        && r.components.first().is_some_and(|c| {
                            c.status == ComponentState::Applied
                                && c.finished_at.is_some_and(|f| Utc::now() - f >= limit)
                        })
                })
                .cloned()
                .collect();
            for j in due {
                let _ops = self.inner.ops.lock().await;
                // A commit may have come while waiting for the lock.
                let r = j.snapshot();
                let still_due = r.status == RestoreStatus::Running
                    && !r.commit_decided
                    && r.components
                        .first()
                        .is_some_and(|c| c.status == ComponentState::Applied);
                if !still_due {
                    continue;
                }
                let msg = format!(
                    "no commit or rollback came from the master within {} s of the apply; the agent rolled this restore back",
                    t.as_secs()
                );
                tracing::warn!(restore = %j.snapshot().id, "{msg}");
                let faults = self.inner.faults.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    apply::rollback_all(&*j, &faults, RestoreStatus::Failed, &msg)
                })
                .await;
            }
        }
    }
}

/// A restore ID as the master issues them (`R` + a backup ID).
fn check_restore_id(id: &str) -> Result<(), ApiError> {
    if record::parse_restore_id(id).is_none() {
        return Err(ApiError::field(
            "restore_id",
            format!("{id:?} is not a restore ID"),
        ));
    }
    Ok(())
}
