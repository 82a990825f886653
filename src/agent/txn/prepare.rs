//! Prepare and renew: a new transaction recorded before its staging folder exists, the copy
//! run in the background, its end recorded under the decision lock.

use std::sync::Arc;

use crate::engine::{CancelToken, Profile};
use crate::error::{ApiError, ProblemKind};
use crate::store::wire::{RemoteSpec, TxnKind, TxnState, TxnView};
use crate::store::{ComponentStore, PrepareStatus, ProgressSink};

use super::{conflict, in_doubt_text, lock, now, state_name, unrecorded, Entry, TxnFile, Txns};

impl Txns {
    /// Starts preparing `id`; answers at once (the copy runs in the background). Runs to its
    /// end even when the master stops waiting ([`crate::agent::to_the_end`]).
    pub async fn prepare(
        &self,
        name: &str,
        id: &str,
        req: &RemoteSpec,
    ) -> Result<TxnView, ApiError> {
        let (me, name, id, req) = (self.clone(), name.to_string(), id.to_string(), req.clone());
        crate::agent::to_the_end(async move { me.prepare_now(&name, &id, &req).await }).await
    }

    pub(super) async fn prepare_now(
        &self,
        name: &str,
        id: &str,
        req: &RemoteSpec,
    ) -> Result<TxnView, ApiError> {
        // Only IDs of the shape the master issues: the staging folder's readme must carry
        // one for the rotation to accept it as this backup's.
        if !crate::engine::backup_id::is_valid(id) {
            return Err(ApiError::field("id", format!("{id:?} is not a backup ID")));
        }
        let mut spec = self.spec_of(name, req)?;
        // The master's consistency settings (what a changing file does), and the read point
        // its freeze steps took here, if one.
        spec.consistency = req.consistency.clone().unwrap_or_default();
        spec.read_point = self.inner.freezes.read_point(name, id);
        if spec.profile == Profile::MaestroLui {
            if let Ok(Some(folder)) = crate::engine::profile::pending_restore_from(&spec.home) {
                return Err(conflict(format!(
                    "a restore of component {name} waits for the component's first start: {} \
                     still has the line RestoreFromBackup={folder}; the Maestro User Interface \
                     restores its database from that folder when it starts and then removes the \
                     line. Start it before the next backup",
                    spec.home.join(crate::engine::profile::LUI_INI).display()
                )));
            }
        }
        let _d = self.inner.decide.lock().await;
        let key = (name.to_string(), id.to_string());
        let cancel = CancelToken::new();
        let file = {
            let mut entries = lock(&self.inner.entries);
            if let Some(e) = entries.get(&key) {
                return Err(conflict(format!(
                    "backup {id} of component {name} is already known here ({})",
                    state_name(e.file.view.state)
                )));
            }
            // One job per component: refused (naming the holder) while another backup of it
            // is open, or a restore of it is applied or in doubt.
            if let Some(h) = self.inner.claims.holder(name) {
                if let Some(e) = entries.get(&(name.to_string(), h.id.clone())) {
                    if h.kind == TxnKind::Backup && e.file.view.state == TxnState::InDoubt {
                        return Err(conflict(in_doubt_text(&e.file.view)));
                    }
                }
            }
            self.inner.claims.claim(name, TxnKind::Backup, id)?;
            let file = TxnFile::new(
                name,
                id,
                &spec,
                TxnState::Preparing,
                self.inner.decision_timeout,
            );
            entries.insert(key.clone(), Entry::new(file.clone(), cancel.clone()));
            file
        };
        // Durable before any staging folder exists: a restart then knows to remove it.
        if let Err(e) = self.persist(&file) {
            lock(&self.inner.entries).remove(&key);
            self.inner.claims.release(name, TxnKind::Backup, id);
            return Err(ApiError::new(
                ProblemKind::Unavailable,
                format!("could not record the backup on this agent: {e}"),
            ));
        }
        let me = self.clone();
        let (name2, id2) = key;
        tokio::spawn(async move {
            let sink_me = me.clone();
            let (sn, si) = (name2.clone(), id2.clone());
            let sink: ProgressSink = Arc::new(move |u| {
                if let Some(e) = lock(&sink_me.inner.entries).get_mut(&(sn.clone(), si.clone())) {
                    e.file.view.progress = u;
                }
            });
            let outcome = me.inner.store.prepare(&id2, &spec, cancel, sink).await;
            let state = match outcome.status {
                PrepareStatus::Prepared => TxnState::Prepared,
                PrepareStatus::Failed => TxnState::Failed,
                PrepareStatus::Cancelled => TxnState::Cancelled,
            };
            tracing::info!(component = %name2, backup = %id2, ?state, "prepare ended");
            // Under the decision lock: an abort that came meanwhile has the last word.
            let _d = me.inner.decide.lock().await;
            let key = (name2.clone(), id2.clone());
            let Some(mut file) = lock(&me.inner.entries).get(&key).map(|e| e.file.clone()) else {
                return;
            };
            if file.view.state != TxnState::Preparing {
                tracing::warn!(component = %name2, backup = %id2, state = ?file.view.state,
                    "the prepare ended after the backup was decided here; its end is ignored");
                if state == TxnState::Prepared {
                    // Whatever the copy left after the abort removed the staging folder.
                    let errors = vec![file.view.detail.clone().unwrap_or_else(|| "aborted".into())];
                    if let Err(e) = me.inner.store.abort(&id2, &spec, &errors).await {
                        tracing::error!(error = %e, "removing the staging folder of an aborted backup");
                    }
                }
                return;
            }
            file.view.progress = outcome.stats;
            file.view.state = state;
            if state == TxnState::Prepared {
                file.view.prepared_at = Some(now());
            } else {
                file.view.decided_at = Some(now());
                file.view.detail = outcome.errors.first().cloned();
            }
            file.view.outcome = Some(outcome);
            // On disk before the master can see it: a `prepared` it acts on survives a crash.
            if let Err(e) = me.persist(&file) {
                if state == TxnState::Prepared {
                    let msg = format!("could not record the prepared backup: {e}");
                    if let Err(e) = me
                        .inner
                        .store
                        .abort(&id2, &spec, std::slice::from_ref(&msg))
                        .await
                    {
                        tracing::error!(error = %e, "removing a staging folder that could not be recorded");
                    }
                    file.view.state = TxnState::Failed;
                    file.view.prepared_at = None;
                    file.view.decided_at = Some(now());
                    file.view.detail = Some(msg.clone());
                    if let Some(o) = &mut file.view.outcome {
                        o.status = PrepareStatus::Failed;
                        o.errors.push(msg);
                    }
                    // Best effort: a restart finds it `preparing` and removes it anyway.
                    let _ = me.persist(&file);
                }
            }
            let ended = file.view.state.is_final();
            if let Some(e) = lock(&me.inner.entries).get_mut(&key) {
                let last = e.file.view.participation.last_message_at;
                e.file = file;
                e.file.view.participation.last_message_at = last;
            }
            if ended {
                me.inner.claims.release(&name2, TxnKind::Backup, &id2);
            }
        });
        Ok(file.view)
    }

    /// The master still works on the set of backup `id` (it waits for other components):
    /// the alarm starts again, and a transaction in doubt is prepared again. Answers the
    /// transaction as it stands (also a final one: nothing changes then).
    pub async fn renew(&self, name: &str, id: &str) -> Result<TxnView, ApiError> {
        let (me, name, id) = (self.clone(), name.to_string(), id.to_string());
        crate::agent::to_the_end(async move { me.renew_now(&name, &id).await }).await
    }

    pub(super) async fn renew_now(&self, name: &str, id: &str) -> Result<TxnView, ApiError> {
        self.status(name, id)?;
        self.heard_from_master(name, id);
        let v = self.status(name, id)?;
        if v.state != TxnState::InDoubt {
            return Ok(v);
        }
        let _d = self.inner.decide.lock().await;
        if self.status(name, id)?.state != TxnState::InDoubt {
            return self.status(name, id);
        }
        tracing::info!(component = %name, backup = %id, "the master is back: no longer in doubt");
        self.change(name, id, &mut |f| {
            f.view.state = TxnState::Prepared;
            f.view.participation.in_doubt_since = None;
        })
        .ok_or_else(|| unrecorded("renewal"))
    }
}
