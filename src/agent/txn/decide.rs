//! The decisions: commit (with the second commit that drops the extra slot), abort, the
//! in-doubt alarm, and an operator's decision made on this machine.

use std::time::Duration;

use crate::engine::{single_line, CancelToken, ComponentSpec};
use crate::error::{ApiError, ProblemKind};
use crate::store::wire::{RemoteSpec, TxnState, TxnView};
use crate::store::{ComponentStore, Decision, OperatorDecision};

use super::{conflict, lock, now, state_name, unrecorded, Entry, TxnFile, Txns};

impl Txns {
    /// Commits `id` (rotation + rename). Idempotent. Runs to its end even when the master
    /// stops waiting ([`crate::agent::to_the_end`]).
    pub async fn commit(
        &self,
        name: &str,
        id: &str,
        req: &RemoteSpec,
    ) -> Result<TxnView, ApiError> {
        let (me, name, id, req) = (self.clone(), name.to_string(), id.to_string(), req.clone());
        crate::agent::to_the_end(async move { me.commit_now(&name, &id, &req).await }).await
    }

    pub(super) async fn commit_now(
        &self,
        name: &str,
        id: &str,
        req: &RemoteSpec,
    ) -> Result<TxnView, ApiError> {
        if self.inner.abort_on_commit {
            tracing::error!("injected fault abort_on_commit: aborting the agent process");
            std::process::abort();
        }
        let req_spec = self.spec_of(name, req)?;
        self.heard_from_master(name, id);
        let _d = self.inner.decide.lock().await;
        let known = lock(&self.inner.entries)
            .get(&(name.to_string(), id.to_string()))
            .map(|e| (e.file.view.clone(), e.file.keep));
        let spec = match &known {
            Some((v, kept)) => match v.state {
                TxnState::Committed if req.keep < *kept => {
                    return self.drop_extra_slots(name, id, req.keep).await
                }
                TxnState::Committed => return Ok(v.clone()),
                // The keep sent now: one more than configured (see the module doc).
                s if s.is_prepared() => self
                    .spec_of_entry(name, id)
                    .map(|e| ComponentSpec {
                        keep: req.keep,
                        ..e
                    })
                    .unwrap_or(req_spec),
                TxnState::Preparing => {
                    return Err(conflict(format!(
                        "backup {id} of component {name} is still being prepared"
                    )))
                }
                other => {
                    return Err(conflict(format!(
                        "backup {id} of component {name} cannot be committed: it is {} on this \
                         agent{}",
                        state_name(other),
                        v.detail
                            .as_deref()
                            .map(|d| format!(" ({d})"))
                            .unwrap_or_default()
                    )))
                }
            },
            None => req_spec,
        };
        match self.inner.store.commit(id, &spec).await {
            Ok(_) => {
                if known.is_none() {
                    self.adopt(name, id, &spec, TxnState::Committed, None);
                }
                tracing::info!(component = %name, backup = %id, "committed");
                let keep = spec.keep;
                self.change(name, id, &mut |f| {
                    f.keep = keep;
                    f.view.state = TxnState::Committed;
                    if f.view.decided_at.is_none() {
                        f.view.decided_at = Some(now());
                    }
                    f.view.participation.in_doubt_since = None;
                })
                .ok_or_else(|| unrecorded("commit"))
            }
            Err(e) => {
                let msg = single_line(&e.to_string());
                tracing::error!(component = %name, backup = %id, error = %msg, "commit failed");
                if known.is_none() {
                    Err(conflict(format!("backup {id} of component {name} is unknown here and cannot be committed: {msg}")))
                } else {
                    Err(ApiError::new(
                        ProblemKind::Unavailable,
                        format!("commit failed: {msg}"),
                    ))
                }
            }
        }
    }

    /// A commit repeated with a smaller `keep` once every component of the set committed:
    /// drops the slots above it (best effort: a later backup's rotation drops them too).
    pub(super) async fn drop_extra_slots(
        &self,
        name: &str,
        id: &str,
        keep: u32,
    ) -> Result<TxnView, ApiError> {
        if let Some(spec) = self.spec_of_entry(name, id) {
            let spec = ComponentSpec { keep, ..spec };
            match self.inner.store.commit(id, &spec).await {
                Ok(_) => {
                    if let Some(v) = self.change(name, id, &mut |f| f.keep = keep) {
                        return Ok(v);
                    }
                }
                Err(e) => {
                    tracing::warn!(component = %name, backup = %id, error = %e, "could not drop the slots above keep; the next backup does")
                }
            }
        }
        self.status(name, id)
    }

    /// Records a transaction the agent had no record of.
    pub(super) fn adopt(
        &self,
        name: &str,
        id: &str,
        spec: &ComponentSpec,
        state: TxnState,
        detail: Option<String>,
    ) {
        let mut file = TxnFile::new(name, id, spec, state, self.inner.decision_timeout);
        file.view.decided_at = Some(file.view.started_at);
        file.view.detail = detail;
        let _ = self.persist(&file);
        lock(&self.inner.entries).insert(
            (name.to_string(), id.to_string()),
            Entry::new(file, CancelToken::new()),
        );
    }

    /// Aborts `id`: stops a running prepare, removes the staging folder, writes `.failed`.
    /// Idempotent; refused (409) for a committed backup.
    /// Runs to its end even when the master stops waiting ([`crate::agent::to_the_end`]).
    pub async fn abort(&self, name: &str, id: &str, req: &RemoteSpec) -> Result<TxnView, ApiError> {
        let (me, name, id, req) = (self.clone(), name.to_string(), id.to_string(), req.clone());
        crate::agent::to_the_end(async move { me.abort_now(&name, &id, &req).await }).await
    }

    pub(super) async fn abort_now(
        &self,
        name: &str,
        id: &str,
        req: &RemoteSpec,
    ) -> Result<TxnView, ApiError> {
        // A known backup is aborted where its prepare put it; an unknown one only in a folder
        // that passes the check (the abort writes `<NAME>.failed` there).
        let req_spec = match self.spec_of_entry(name, id) {
            Some(spec) => spec,
            None => self.spec_of(name, req)?,
        };
        self.heard_from_master(name, id);
        let key = (name.to_string(), id.to_string());
        // Stop a running prepare first and wait for it to end (it checks between files).
        let cancel = lock(&self.inner.entries)
            .get(&key)
            .map(|e| e.cancel.clone());
        if let Some(c) = cancel {
            c.cancel();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            while lock(&self.inner.entries)
                .get(&key)
                .is_some_and(|e| e.file.view.state == TxnState::Preparing)
                && tokio::time::Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let _d = self.inner.decide.lock().await;
        let known = lock(&self.inner.entries)
            .get(&key)
            .map(|e| e.file.view.clone());
        if let Some(v) = &known {
            if v.state == TxnState::Committed {
                let by = match v.participation.operator {
                    Some(o) => format!(
                        " by an operator on this machine at {} (backup-master agent resolve)",
                        crate::engine::readme::fmt_time(o.at)
                    ),
                    None => String::new(),
                };
                return Err(conflict(format!(
                    "backup {id} of component {name} is already committed{by}"
                )));
            }
        }
        let spec = self.spec_of_entry(name, id).unwrap_or(req_spec);
        let errors: Vec<String> = if req.errors.is_empty() {
            vec!["aborted by the master".into()]
        } else {
            req.errors.clone()
        };
        self.inner
            .store
            .abort(id, &spec, &errors)
            .await
            .map_err(|e| ApiError::new(ProblemKind::Unavailable, format!("abort failed: {e}")))?;
        let mut detail = Some(single_line(&errors.join("; ")));
        let state = match known.as_ref().map(|v| v.state) {
            None => {
                self.adopt(name, id, &spec, TxnState::Aborted, detail.clone());
                TxnState::Aborted
            }
            Some(s) if !s.is_final() => TxnState::Aborted,
            // Already ended (also by an operator): answered as it is.
            Some(s) => {
                detail = None;
                s
            }
        };
        tracing::info!(component = %name, backup = %id, "aborted");
        self.set_state(name, id, state, detail)
            .ok_or_else(|| unrecorded("abort"))
    }

    /// Marks prepared transactions in doubt once the master has not spoken about them for the
    /// decision timeout (monotonic clock). Only an alarm: nothing is committed or aborted.
    /// Runs until the process ends.
    pub async fn watch_alarms(self) {
        let t = self.inner.decision_timeout;
        let every = (t / 4).clamp(Duration::from_millis(100), Duration::from_secs(5));
        loop {
            tokio::time::sleep(every).await;
            let due: Vec<(String, String)> = lock(&self.inner.entries)
                .iter()
                .filter(|(_, e)| e.file.view.state == TxnState::Prepared && e.heard.elapsed() >= t)
                .map(|(k, _)| k.clone())
                .collect();
            for (name, id) in due {
                let _d = self.inner.decide.lock().await;
                let still = lock(&self.inner.entries)
                    .get(&(name.clone(), id.clone()))
                    .is_some_and(|e| {
                        e.file.view.state == TxnState::Prepared && e.heard.elapsed() >= t
                    });
                if !still {
                    continue;
                }
                let v = self.change(&name, &id, &mut |f| {
                    f.view.state = TxnState::InDoubt;
                    f.view.participation.in_doubt_since = Some(now());
                });
                if let Some(v) = v {
                    tracing::warn!(
                        component = %name,
                        backup = %id,
                        last_message = ?v.participation.last_message_at,
                        "in doubt: prepared, and no word from the master for {} s; the staging \
                         folder is kept and the backup waits for the master's decision (or an \
                         operator's: backup-master agent resolve)",
                        t.as_secs()
                    );
                }
            }
        }
    }

    /// Carries out an operator's decision (`backup-master agent resolve`) on every open
    /// backup `id` of this agent (of `component` only, when given): commit or abort, recorded
    /// as a heuristic outcome the master reports when it meets it again. Used with the agent
    /// stopped. Returns the transactions as they ended.
    pub async fn resolve_by_operator(
        &self,
        id: &str,
        component: Option<&str>,
        decision: Decision,
    ) -> Result<Vec<TxnView>, String> {
        let open: Vec<(String, TxnState)> = lock(&self.inner.entries)
            .iter()
            .filter(|((c, i), _)| i == id && component.is_none_or(|w| w == c))
            .map(|((c, _), e)| (c.clone(), e.file.view.state))
            .collect();
        let open: Vec<String> = open
            .into_iter()
            .filter(|(_, s)| s.is_prepared())
            .map(|(c, _)| c)
            .collect();
        if open.is_empty() {
            return Err(format!(
                "no prepared or in-doubt backup {id}{} on this agent",
                component
                    .map(|c| format!(" of component {c}"))
                    .unwrap_or_default()
            ));
        }
        let _d = self.inner.decide.lock().await;
        let mut out = Vec::new();
        for name in open {
            let spec = self
                .spec_of_entry(&name, id)
                .ok_or_else(|| format!("component {name} is not served by this agent any more"))?;
            let at = now();
            let (state, detail) = match decision {
                Decision::Commit => {
                    self.inner
                        .store
                        .commit(id, &spec)
                        .await
                        .map_err(|e| format!("committing {name}: {e}"))?;
                    (
                        TxnState::Committed,
                        format!(
                            "committed by an operator on this machine at {} (backup-master \
                             agent resolve), without the master",
                            crate::engine::readme::fmt_time(at)
                        ),
                    )
                }
                _ => {
                    let why = format!(
                        "aborted by an operator on this machine at {} (backup-master agent \
                         resolve), without the master",
                        crate::engine::readme::fmt_time(at)
                    );
                    self.inner
                        .store
                        .abort(id, &spec, std::slice::from_ref(&why))
                        .await
                        .map_err(|e| format!("aborting {name}: {e}"))?;
                    (TxnState::Aborted, why)
                }
            };
            let v = self
                .change(&name, id, &mut |f| {
                    f.view.state = state;
                    f.view.decided_at = Some(at);
                    f.view.detail = Some(detail.clone());
                    f.view.participation.in_doubt_since = None;
                    f.view.participation.operator = Some(OperatorDecision {
                        decision: if state == TxnState::Committed {
                            Decision::Commit
                        } else {
                            Decision::Abort
                        },
                        at,
                    });
                })
                .ok_or_else(|| format!("{name}: the decision was carried out but could not be recorded; run it again"))?;
            tracing::warn!(component = %name, backup = %id, ?decision, "resolved by an operator");
            out.push(v);
        }
        Ok(out)
    }
}
