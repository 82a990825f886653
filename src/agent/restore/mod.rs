//! The agent's side of a restore of a remote component (README: *Config reference* profiles, *How backups work*, *Remote components*): the master plans,
//! applies, commits or rolls back each remote component through these calls, and the agent does
//! the file work on its own machine with the same code as a local restore
//! ([`crate::restore::plan`], [`crate::restore::apply`]). The data never passes through the
//! master.
//!
//! ```text
//! plan (dry, nothing recorded)
//! apply ─► running/applying ─► running/applied ◄──► in doubt (alarm only)
//!   │                              ├─► commit ─► succeeded    (safety folder kept: undoable)
//!   │                              └─► rollback ─► failed     (every item put back)
//!   └─► failed (the apply failed: rolled back at once; a later rollback answers it again)
//! ```
//!
//! Each restore of a component is a one-component restore record (the master's JSON shape),
//! written atomically at every step under `<state_dir>/restores/<component>/jobs/restores/`.
//! An agent restarted while a restore was being applied rolls it back at start-up (it never
//! answered `applied`, so the master cannot have decided to commit); one that was applied (it
//! voted yes) stays applied and waits for the master's decision, keeping its safety copy; one
//! whose commit was recorded is completed, and a committed one whose retired safety folder was
//! still being deleted has it deleted. The record in memory is only what was saved (a failed
//! save fails the call; the master repeats it), and the calls run to their end under the
//! one-call lock even when the master stops waiting.
//!
//! **No one-sided outcome.** An applied restore is committed or rolled back only by the master
//! or by an operator on this machine (`backup-master agent resolve`, recorded as a heuristic
//! outcome): `decision_timeout_seconds` without a word from the master (apply, renew, commit,
//! rollback; a monotonic clock, restarted when the agent starts) marks it in doubt
//! (`participation.in_doubt_since`), an alarm the master's next message ends.
//!
//! * `apply` checks the slot (its readme names the backup ID) and verifies it against its
//!   `SHA256SUMS` before anything changes; the plan is made again from the disk.
//! * `commit` and `rollback` are idempotent: a second call answers the final record again. A
//!   rollback of a restore the agent never applied answers a record with no component (nothing
//!   to put back); a commit of one that was rolled back is refused (409), as is a rollback of a
//!   committed one.
//! * Undo: a committed restore keeps its safety folder (`safety_copy` in its record, with its
//!   size; kept across a restart). A request with `undo_of` plans and applies from that copy
//!   ([`crate::restore::undo`], refused with 409 when it cannot be undone), then waits for the
//!   decision like any restore. A commit discards the copies earlier restores of the component
//!   kept (recorded first, then renamed `….retired` and removed, only the folder the record
//!   names), as does the master's `DELETE .../safety-copy`.
//! * One job per component ([`super::claims`]): an `apply` while another restore of the
//!   component, or a backup of it (preparing, prepared or in doubt), is open is refused (409
//!   naming it).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{SubsecRound, Utc};

use super::claims::Claims;
use super::txn::Txns;
use crate::engine::faults::Faults;
use crate::engine::ComponentSpec;
use crate::error::{ApiError, ProblemKind};
use crate::restore::apply::{self, Journal};
use crate::restore::plan::{plan_component, PlanInput, PlanIssue};
use crate::restore::record::{
    self, ComponentRestore, ComponentState, FolderOrigin, RestoreRecord, RestoreStatus, StepAction,
};
use crate::restore::undo;
use crate::store::wire::{OpenTransaction, RemoteRestoreRequest, RemoteSpec, TxnKind};
use crate::store::{Decision, OperatorDecision, Participation};

mod journal;

pub use journal::open_on_disk;
use journal::{open_view, AgentJournal};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct Inner {
    state_dir: PathBuf,
    txns: Txns,
    faults: Faults,
    decision_timeout: Duration,
    journals: Mutex<HashMap<(String, String), Arc<AgentJournal>>>,
    /// One restore call at a time (they are short but must not interleave).
    ops: tokio::sync::Mutex<()>,
    /// Which backup or restore holds each component (shared with the backups).
    claims: Arc<Claims>,
}

/// The restores this agent applied. Cheap to clone.
#[derive(Clone)]
pub struct AgentRestores {
    inner: Arc<Inner>,
}

fn empty_record(id: &str, backup_id: &str) -> RestoreRecord {
    let now = Utc::now().trunc_subsecs(0);
    let mut r = RestoreRecord::blank(id, backup_id, RestoreStatus::Running, now);
    r.started_at = Some(now);
    r.participation = Some(Participation {
        last_message_at: Some(now),
        ..Default::default()
    });
    r
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
        let claims = txns.claims();
        let this = AgentRestores {
            inner: Arc::new(Inner {
                state_dir: state_dir.to_path_buf(),
                txns,
                faults,
                decision_timeout,
                journals: Mutex::new(HashMap::new()),
                ops: tokio::sync::Mutex::new(()),
                claims,
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
                    // A kept safety copy recorded discarded whose deletion a crash stopped.
                    for c in rec
                        .components
                        .iter()
                        .filter(|c| c.safety_copy.as_ref().is_some_and(|k| !k.is_kept()))
                    {
                        if let Err(e) = undo::discard(c) {
                            tracing::warn!(restore = %id, error = %e, "a discarded safety copy was not deleted");
                        }
                    }
                }
                let j = Arc::new(AgentJournal::new(dir.clone(), rec));
                if running {
                    this.finish_interrupted(&j);
                }
                if j.snapshot().status == RestoreStatus::Running {
                    // Applied and waiting for the decision: it holds its component. Start-up
                    // loads one transaction per component at most (a second one is refused
                    // when it is made), so the claim cannot meet another holder; if it did,
                    // that holder keeps the component and this restore still waits.
                    if let Err(e) = this.inner.claims.claim(&name, TxnKind::Restore, &id) {
                        tracing::error!(restore = %id, component = %name, error = %e, "an applied restore could not claim its component at start-up");
                    }
                }
                lock(&this.inner.journals).insert((name.clone(), id), j);
            }
        }
        Ok(this)
    }

    /// Start-up: a restore left `running` is completed when its commit was recorded, kept
    /// (waiting for the decision) when it was applied, else rolled back.
    fn finish_interrupted(&self, j: &AgentJournal) {
        let rec = j.snapshot();
        if j.waits() {
            tracing::warn!(restore = %rec.id, "a restore applied before the agent stopped waits for the master's decision");
            return;
        }
        tracing::warn!(restore = %rec.id, "the agent stopped during a restore; finishing it");
        j.update_or_log("the recovery step", &mut |r| {
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
        super::replicate::remove_downloads_of(&self.inner.state_dir, &j.snapshot());
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
        checked_source(&self.inner.txns, name, req, "").await
    }

    /// The plan from `folder`: the slot `req` names, or the agent's download `req` names.
    fn make_plan(
        restore_id: &str,
        spec: &ComponentSpec,
        folder: &Path,
        req: &RemoteRestoreRequest,
    ) -> Result<ComponentRestore, ApiError> {
        let (origin, slot) = match &req.from_download {
            Some(_) => (FolderOrigin::Replica, None),
            None => (FolderOrigin::Slot, Some(req.slot.clone())),
        };
        plan_component(&PlanInput {
            restore_id,
            spec,
            folder,
            origin,
            slot,
        })
        .map(|mut p| {
            p.download = req.from_download.clone();
            p
        })
        .map_err(|problems| {
            let home = problems.iter().any(|p| matches!(p, PlanIssue::Home(_)));
            let msg = problems
                .into_iter()
                .map(|p| match p {
                    PlanIssue::Folder(m) | PlanIssue::Home(m) => m,
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
        if let Some(u) = &req.undo_of {
            self.inner.txns.spec_of_name(name)?;
            let this = self.clone();
            let (n, id, u) = (name.to_string(), restore_id.to_string(), u.clone());
            return tokio::task::spawn_blocking(move || this.undo_plan(&n, &id, &u))
                .await
                .map_err(blocking_failed)?;
        }
        let (spec, folder) = self.source(name, req).await?;
        let (id, req) = (restore_id.to_string(), req.clone());
        tokio::task::spawn_blocking(move || Self::make_plan(&id, &spec, &folder, &req))
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
        self.inner.txns.spec_of_name(name)?;
        // One job per component (a backup of it open, or another restore: 409 naming it).
        self.inner
            .claims
            .claim(name, TxnKind::Restore, restore_id)?;
        let source = match &req.undo_of {
            Some(_) => Ok(None),
            None => self.source(name, req).await.map(Some),
        };
        let result = match source {
            Ok(src) => {
                let this = self.clone();
                let (n, id, req) = (name.to_string(), restore_id.to_string(), req.clone());
                tokio::task::spawn_blocking(move || {
                    this.apply_blocking(&n, &id, &req, src.as_ref().map(|(s, f)| (s, f.as_path())))
                })
                .await
                .map_err(blocking_failed)
                .and_then(|r| r)
            }
            Err(e) => Err(e),
        };
        self.settle_claim(name, restore_id);
        result
    }

    /// Frees the component unless restore `id` of it is still open here.
    fn settle_claim(&self, name: &str, id: &str) {
        let open = self
            .journal(name, id)
            .is_some_and(|j| j.snapshot().status == RestoreStatus::Running);
        if !open {
            self.inner.claims.release(name, TxnKind::Restore, id);
        }
    }

    fn apply_blocking(
        &self,
        name: &str,
        id: &str,
        req: &RemoteRestoreRequest,
        source: Option<(&ComponentSpec, &Path)>,
    ) -> Result<RestoreRecord, ApiError> {
        let (plan, check) = match (source, &req.undo_of) {
            (Some((spec, folder)), _) => {
                let check = Self::verify_slot(name, folder)?;
                (Self::make_plan(id, spec, folder, req)?, Some(check))
            }
            (None, Some(u)) => (self.undo_plan(name, id, u)?, None),
            (None, None) => {
                return Err(ApiError::internal(
                    "a restore with neither a slot nor an undo",
                ))
            }
        };
        let mut rec = empty_record(id, &req.backup_id);
        rec.undo_of = req.undo_of.clone();
        rec.components.push(plan);
        rec.verification.extend(check);
        rec.step(StepAction::Planned, Some(name), None, None, None);
        self.record_and_apply(name, id, rec)
    }

    /// The plan of undo `id` of restore `undo_of` of component `name` on this agent: from the
    /// safety copy that restore kept, refused (409) when it cannot be undone (not committed
    /// here, the copy discarded or changed, a later restore of the component).
    fn undo_plan(&self, name: &str, id: &str, undo_of: &str) -> Result<ComponentRestore, ApiError> {
        if record::parse_restore_id(undo_of).is_none() {
            return Err(ApiError::field(
                "undo_of",
                format!("{undo_of:?} is not a restore ID"),
            ));
        }
        let Some(j) = self.journal(name, undo_of) else {
            return Err(ApiError::conflict(format!(
                "this agent has no restore {undo_of} of {name} to undo"
            )));
        };
        let undone = j.snapshot();
        let others: Vec<RestoreRecord> = lock(&self.inner.journals)
            .iter()
            .filter(|((n, other), _)| n == name && other != undo_of && other.as_str() != id)
            .map(|(_, j)| j.snapshot())
            .collect();
        if let Some(b) = undo::blocker(&undone, others.iter()) {
            return Err(ApiError::conflict(format!(
                "restore {undo_of} of {name} cannot be undone on this agent: {}",
                b.message
            )));
        }
        undo::plan_undo(id, &undone, &mut |c| {
            Err(undo::Blocked {
                why: undo::UndoRefusal::NotUndoable,
                message: format!("{} is not a component of this agent", c.name),
            })
        })
        .map_err(|b| ApiError::conflict(format!("cannot undo {name}: {}", b.message)))?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::conflict(format!("restore {undo_of} of {name} has no component")))
    }

    /// Checks a slot against its `SHA256SUMS` before anything changes.
    fn verify_slot(
        name: &str,
        folder: &Path,
    ) -> Result<crate::restore::record::FolderCheck, ApiError> {
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
        Ok(crate::restore::record::FolderCheck {
            component: name.to_string(),
            folder: v.folder.clone(),
            ok: true,
            problems: vec![],
        })
    }

    /// Records the planned restore `rec` of component `name` and applies it.
    fn record_and_apply(
        &self,
        name: &str,
        id: &str,
        rec: RestoreRecord,
    ) -> Result<RestoreRecord, ApiError> {
        let j = Arc::new(AgentJournal::new(self.dir_of(name), rec.clone()));
        let records = record::records_dir(&j.dir);
        std::fs::create_dir_all(&records)
            .map_err(|e| ApiError::internal(format!("creating {}: {e}", records.display())))?;
        record::save(&j.dir, &rec)
            .map_err(|e| ApiError::internal(format!("recording the restore: {e}")))?;
        lock(&self.inner.journals).insert((name.to_string(), id.to_string()), j.clone());
        tracing::info!(component = %name, restore = %id, "applying a restore");
        if let Err(e) = apply::apply_component(&*j, &self.inner.faults, 0) {
            tracing::warn!(component = %name, restore = %id, error = %e, "the restore failed; rolling back");
            apply::rollback_all(
                &*j,
                &self.inner.faults,
                RestoreStatus::Failed,
                &e.to_string(),
            );
            let r = j.snapshot();
            super::replicate::remove_downloads_of(&self.inner.state_dir, &r);
            return Err(ApiError::conflict(format!(
                "the restore of {name} failed on this agent and was rolled back: {}",
                r.errors.join("; ")
            )));
        }
        // The master waits for this answer: the alarm counts from the end of the apply.
        j.heard_from_master();
        Ok(j.snapshot())
    }

    /// Commits an applied restore: its safety folder is kept (it can be undone), and the
    /// copies earlier restores of the component kept are discarded. Idempotent.
    pub async fn commit(&self, name: &str, restore_id: &str) -> Result<RestoreRecord, ApiError> {
        let (me, name, id) = (self.clone(), name.to_string(), restore_id.to_string());
        super::to_the_end(async move { me.commit_now(&name, &id).await }).await
    }

    async fn commit_now(&self, name: &str, restore_id: &str) -> Result<RestoreRecord, ApiError> {
        check_restore_id(restore_id)?;
        if let Some(j) = self.journal(name, restore_id) {
            j.heard_from_master();
        }
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
        let inner = self.inner.clone();
        let result = tokio::task::spawn_blocking(move || commit_journal(&inner, &j, None))
            .await
            .map_err(blocking_failed)
            .and_then(|r| r);
        self.settle_claim(name, restore_id);
        result
    }

    /// Discards the safety copy committed restore `restore_id` of component `name` kept (the
    /// master's `DELETE` of it, or a later restore of the component elsewhere): it can no
    /// longer be undone. Idempotent; 409 when the restore was not committed here or the folder
    /// is not the one it made (left as it is).
    pub async fn discard_safety_copy(
        &self,
        name: &str,
        restore_id: &str,
    ) -> Result<RestoreRecord, ApiError> {
        check_restore_id(restore_id)?;
        self.inner.txns.spec_of_name(name)?;
        let _ops = self.inner.ops.lock().await;
        let Some(j) = self.journal(name, restore_id) else {
            return Err(ApiError::not_found(format!(
                "this agent has no restore {restore_id} of {name}"
            )));
        };
        if j.snapshot().status != RestoreStatus::Succeeded {
            return Err(ApiError::conflict(format!(
                "restore {restore_id} of {name} is {} on this agent: it keeps no safety copy",
                j.snapshot().status.as_str()
            )));
        }
        let (inner, jj) = (self.inner.clone(), j.clone());
        tokio::task::spawn_blocking(move || discard_kept(&inner, &jj, "deleted by the operator"))
            .await
            .map_err(blocking_failed)?
            .map_err(ApiError::conflict)?;
        Ok(j.snapshot())
    }

    /// Where restore `restore_id` of component `name` stands on this agent.
    pub fn status(&self, name: &str, restore_id: &str) -> Result<RestoreRecord, ApiError> {
        check_restore_id(restore_id)?;
        self.inner.txns.spec_of_name(name)?;
        self.journal(name, restore_id)
            .map(|j| j.snapshot())
            .ok_or_else(|| {
                ApiError::not_found(format!("this agent has no restore {restore_id} of {name}"))
            })
    }

    /// The master still works on the restore (it applies other components): the alarm
    /// starts again, and a restore in doubt is no longer. Answers the record as it stands.
    pub async fn renew(&self, name: &str, restore_id: &str) -> Result<RestoreRecord, ApiError> {
        self.status(name, restore_id)?;
        let Some(j) = self.journal(name, restore_id) else {
            return self.status(name, restore_id);
        };
        j.heard_from_master();
        if j.in_doubt() {
            let _ops = self.inner.ops.lock().await;
            if j.in_doubt() {
                tracing::info!(component = %name, restore = %restore_id, "the master is back: no longer in doubt");
                j.update(&mut |r| {
                    if let Some(p) = r.participation.as_mut() {
                        p.in_doubt_since = None;
                    }
                })
                .map_err(|e| {
                    ApiError::new(
                        ProblemKind::Unavailable,
                        format!("the renewal could not be recorded on this agent ({e}); retry"),
                    )
                })?;
            }
        }
        Ok(j.snapshot())
    }

    /// The restores not final here (applying, applied, in doubt).
    pub fn open_transactions(&self) -> Vec<OpenTransaction> {
        let mut out: Vec<OpenTransaction> = lock(&self.inner.journals)
            .iter()
            .filter_map(|((name, _), j)| open_view(name, &j.snapshot()))
            .collect();
        out.sort_by(|a, b| (&a.component, &a.id).cmp(&(&b.component, &b.id)));
        out
    }

    /// Carries out an operator's decision (`backup-master agent resolve`) on every open
    /// restore `restore_id` of this agent (of `component` only, when given): commit or
    /// rollback, recorded as a heuristic outcome the master reports when it meets it again.
    /// Used with the agent stopped. Returns the records as they ended.
    pub async fn resolve_by_operator(
        &self,
        restore_id: &str,
        component: Option<&str>,
        decision: Decision,
    ) -> Result<Vec<RestoreRecord>, String> {
        let _ops = self.inner.ops.lock().await;
        let open: Vec<(String, Arc<AgentJournal>)> = lock(&self.inner.journals)
            .iter()
            .filter(|((c, id), j)| {
                id == restore_id
                    && component.is_none_or(|w| w == c)
                    && j.snapshot().status == RestoreStatus::Running
            })
            .map(|((c, _), j)| (c.clone(), j.clone()))
            .collect();
        if open.is_empty() {
            return Err(format!(
                "no applied or in-doubt restore {restore_id}{} on this agent",
                component
                    .map(|c| format!(" of component {c}"))
                    .unwrap_or_default()
            ));
        }
        let mut out = Vec::new();
        for (name, j) in open {
            let at = Utc::now().trunc_subsecs(0);
            let op = OperatorDecision { decision, at };
            let inner = self.inner.clone();
            let jj = j.clone();
            let r = tokio::task::spawn_blocking(move || {
                let mark = |r: &mut RestoreRecord| {
                    let p = r.participation.get_or_insert_with(Participation::default);
                    p.operator = Some(op);
                    p.in_doubt_since = None;
                };
                match decision {
                    Decision::Commit => commit_journal(
                        &inner,
                        &jj,
                        Some(&mut |r: &mut RestoreRecord| {
                            mark(r);
                            r.notes.push(format!(
                                "committed by an operator on this machine at {} (backup-master \
                                 agent resolve), without the master",
                                crate::engine::readme::fmt_time(at)
                            ));
                        }),
                    )
                    .map_err(|e| e.to_string()),
                    _ => {
                        jj.update(&mut |r| mark(r))
                            .map_err(|e| format!("recording the operator's decision: {e}"))?;
                        apply::rollback_all(
                            &*jj,
                            &inner.faults,
                            RestoreStatus::Failed,
                            &format!(
                                "rolled back by an operator on this machine at {} (backup-master \
                                 agent resolve), without the master",
                                crate::engine::readme::fmt_time(at)
                            ),
                        );
                        super::replicate::remove_downloads_of(&inner.state_dir, &jj.snapshot());
                        Ok(jj.snapshot())
                    }
                }
            })
            .await
            .map_err(|e| e.to_string())??;
            self.settle_claim(&name, restore_id);
            tracing::warn!(component = %name, restore = %restore_id, ?decision, "resolved by an operator");
            out.push(r);
        }
        Ok(out)
    }

    /// Rolls an applied restore back (every item put back). Idempotent.
    pub async fn rollback(&self, name: &str, restore_id: &str) -> Result<RestoreRecord, ApiError> {
        let (me, name, id) = (self.clone(), name.to_string(), restore_id.to_string());
        super::to_the_end(async move { me.rollback_now(&name, &id).await }).await
    }

    async fn rollback_now(&self, name: &str, restore_id: &str) -> Result<RestoreRecord, ApiError> {
        check_restore_id(restore_id)?;
        self.inner.txns.spec_of_name(name)?;
        if let Some(j) = self.journal(name, restore_id) {
            j.heard_from_master();
        }
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
                let by = match r.participation.as_ref().and_then(|p| p.operator) {
                    Some(o) => format!(
                        " by an operator on this machine at {} (backup-master agent resolve)",
                        crate::engine::readme::fmt_time(o.at)
                    ),
                    None => String::new(),
                };
                return Err(ApiError::conflict(format!(
                    "restore {restore_id} of {name} was committed on this agent{by}; it cannot be rolled back"
                )));
            }
            _ => return Ok(r),
        }
        let faults = self.inner.faults.clone();
        let state_dir = self.inner.state_dir.clone();
        let result = tokio::task::spawn_blocking(move || {
            apply::rollback_all(
                &*j,
                &faults,
                RestoreStatus::Failed,
                "rolled back at the master's request",
            );
            super::replicate::remove_downloads_of(&state_dir, &j.snapshot());
            j.snapshot()
        })
        .await
        .map_err(blocking_failed);
        self.settle_claim(name, restore_id);
        result
    }

    /// Marks applied restores in doubt once the master has not spoken about them for the
    /// decision timeout (monotonic clock). Only an alarm: nothing is committed or rolled
    /// back. Runs until the process ends.
    pub async fn watch_alarms(self) {
        let t = self.inner.decision_timeout;
        let every = (t / 4).clamp(Duration::from_millis(100), Duration::from_secs(5));
        loop {
            tokio::time::sleep(every).await;
            let due: Vec<Arc<AgentJournal>> = lock(&self.inner.journals)
                .values()
                .filter(|j| j.waits() && !j.in_doubt() && lock(&j.heard).elapsed() >= t)
                .cloned()
                .collect();
            for j in due {
                let _ops = self.inner.ops.lock().await;
                // A decision or a renewal may have come while waiting for the lock.
                if !(j.waits() && !j.in_doubt() && lock(&j.heard).elapsed() >= t) {
                    continue;
                }
                let at = Utc::now().trunc_subsecs(0);
                let saved = j.update(&mut |r| {
                    r.participation
                        .get_or_insert_with(Participation::default)
                        .in_doubt_since = Some(at);
                });
                let r = j.snapshot();
                match saved {
                    Ok(()) => tracing::warn!(
                        restore = %r.id,
                        "in doubt: applied, and no word from the master for {} s; the restored \
                         items and the safety copy are kept until the master decides (or an \
                         operator: backup-master agent resolve)",
                        t.as_secs()
                    ),
                    Err(e) => {
                        tracing::error!(restore = %r.id, error = %e, "could not record that the restore is in doubt")
                    }
                }
            }
        }
    }
}

/// Commits an applied restore (its commit recorded first, then its safety folder kept and the
/// copies earlier restores of the component kept discarded); `mark` changes the record with the decision (an operator's).
fn commit_journal(
    inner: &Inner,
    j: &AgentJournal,
    mark: Option<&mut dyn FnMut(&mut RestoreRecord)>,
) -> Result<RestoreRecord, ApiError> {
    let mut mark = mark;
    j.update(&mut |r| {
        r.commit_decided = true;
        r.step(StepAction::CommitDecided, None, None, None, None);
        if let Some(p) = r.participation.as_mut() {
            p.in_doubt_since = None;
        }
        if let Some(m) = mark.as_mut() {
            m(r);
        }
    })
    .map_err(|e| ApiError::internal(format!("recording the commit: {e}")))?;
    apply::complete(j, None);
    let r = j.snapshot();
    // The download it restored from (a restore from a replication target) is not needed now.
    super::replicate::remove_downloads_of(&inner.state_dir, &r);
    // Records from before safety copies were kept may have a retired folder to delete.
    apply::purge_retired(&r);
    if let Some(c) = r.components.first() {
        // The kept copies of earlier restores of the component can no longer be undone to.
        let earlier: Vec<Arc<AgentJournal>> = lock(&inner.journals)
            .iter()
            .filter(|((n, id), _)| *n == c.name && *id < r.id)
            .map(|(_, j)| j.clone())
            .collect();
        let what = if r.undo_of.is_some() {
            "undo"
        } else {
            "restore"
        };
        for e in earlier {
            if let Err(err) = discard_kept(
                inner,
                &e,
                &format!("the later {what} {} of it succeeded", r.id),
            ) {
                tracing::warn!(restore = %e.snapshot().id, error = %err, "a superseded safety copy was kept");
            }
        }
        // An undo gives the home folders back their times from before the undone restore
        // (after the discards, which change the home).
        if r.undo_of.is_some() {
            if let Some(u) = &c.undo {
                apply::set_folder_times(&u.folder_times);
            }
        }
    }
    Ok(j.snapshot())
}

/// Discards the safety copy restore `j` kept: recorded discarded (`because`) first, then its
/// folder deleted when it is the one that restore made ([`undo::discard`]: renamed to
/// `….retired`, then removed). `Ok(true)`: a folder was deleted. Idempotent.
fn discard_kept(inner: &Inner, j: &AgentJournal, because: &str) -> Result<bool, String> {
    let r = j.snapshot();
    let Some(c) = r.components.first() else {
        return Ok(false);
    };
    let Some(k) = &c.safety_copy else {
        return Ok(false);
    };
    if k.is_kept() {
        let now = Utc::now().trunc_subsecs(0);
        j.update(&mut |r| {
            if let Some(k) = r
                .components
                .first_mut()
                .and_then(|c| c.safety_copy.as_mut())
            {
                k.discarded_at = Some(now);
                k.discarded_because = Some(because.to_string());
            }
        })
        .map_err(|e| format!("could not record that the safety copy is discarded: {e}"))?;
    }
    undo::discard_with(c, &mut || {
        inner.faults.step("restore_retired", &inner.state_dir)
    })
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

/// Component `name`'s spec for `req` and the slot folder `req` names, checked: the slot holds
/// backup `req.backup_id` and that backup succeeded. Problems name `<prefix><field>` (a drill
/// request carries the restore request as `source`, so it passes `"source."`).
pub(crate) async fn checked_source(
    txns: &Txns,
    name: &str,
    req: &RemoteRestoreRequest,
    prefix: &str,
) -> Result<(ComponentSpec, PathBuf), ApiError> {
    let field = |f: &str| format!("{prefix}{f}");
    if let Some(download) = &req.from_download {
        let spec = txns.spec_to_read(
            name,
            &RemoteSpec {
                profile: req.profile,
                backup_folder: req.backup_folder.clone(),
                keep: 0,
                items: req.items.clone(),
                errors: vec![],
                consistency: None,
            },
        )?;
        let folder =
            super::replicate::downloaded_folder(txns.state_dir(), name, download, &req.backup_id)
                .map_err(|m| ApiError::field(field("from_download"), m))?;
        return Ok((spec, folder));
    }
    let spec = txns.spec_to_read(
        name,
        &RemoteSpec {
            profile: req.profile,
            backup_folder: req.backup_folder.clone(),
            keep: 0,
            items: req.items.clone(),
            errors: vec![],
            consistency: None,
        },
    )?;
    let slots = txns
        .history(name, &req.backup_folder, crate::config::MAX_KEEP)
        .await?;
    let Some(slot) = slots.into_iter().find(|s| s.slot == req.slot) else {
        return Err(ApiError::field(
            field("slot"),
            format!("component {name:?} has no history slot {:?}", req.slot),
        ));
    };
    if slot.backup_id.as_deref() != Some(req.backup_id.as_str()) {
        return Err(ApiError::field(
            field("backup_id"),
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
            field("backup_id"),
            format!("the backup in {} did not succeed", slot.path),
        ));
    }
    Ok((spec, PathBuf::from(slot.path)))
}
