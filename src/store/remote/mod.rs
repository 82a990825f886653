//! The store of a component behind an agent (README, *Remote components*): every [`ComponentStore`] call is an
//! HTTP call to the agent's `/agent/v1` API (reqwest, rustls; `https://` agents may name a
//! private CA). The data never passes through the master: the agent copies, rotates and
//! removes on its own machine with its own [`super::LocalStore`].
//!
//! # Timeouts and retries
//! Every request has a timeout (connect 5 s; a status poll 10 s; the others 60 s). Only
//! idempotent calls are retried, up to [`ATTEMPTS`] times with a short backoff, and only on
//! transport errors and 5xx answers: `history`, `commit` (idempotent by backup ID: a second
//! commit of a committed backup is a no-op), `abort` and the status polls. `prepare` is sent
//! once. An answer that refuses (401/403: the token; 404: the agent does not serve the
//! component; 422) is a [`StoreError::Refused`], a 409 (e.g. a commit of a backup the agent
//! already aborted) a [`StoreError::Conflict`]: repeating cannot help, and the error names the
//! agent and says why.
//! A failed TLS handshake (e.g. the agent's certificate is not signed by `agent_ca_file` or a
//! public CA) is reported as such, naming the agent, the component and what to check, not as
//! "unreachable"; it is retried like any transport error (a certificate may be replaced).
//!
//! # Prepare
//! `prepare` starts the copy on the agent (`POST .../prepare`, answered at once) and then polls
//! it with `POST .../backups/{id}/renew` every [`POLL_INTERVAL`] (each poll is a message from
//! the master, so the agent's in-doubt alarm counts from the last one), forwarding the
//! counters to the progress sink, until the agent reports `prepared`, `failed` or `cancelled`.
//! [`MAX_POLL_FAILURES`] failed polls in a row (the agent died or is unreachable) fail the
//! prepare, which makes the coordinator abort the whole set: no slot rotates anywhere. A
//! cancel (request or another component's failure) sends `abort` at once, so the agent stops
//! copying. After the prepare the coordinator renews it ([`ComponentStore::renew`]) every
//! quarter of the agent's `decision_timeout_seconds` (taken from its answers) until the
//! decision is carried out.
//!
//! # Commit
//! A failed commit of a remote component is retried by the coordinator until the agent
//! acknowledges it (see `engine::coordinator`); this store only makes single, bounded attempts.
//! An answer that shows an operator's decision on the agent's machine (`agent resolve`) is a
//! heuristic outcome: the same as asked is acknowledged with it ([`super::Ack`]); the other
//! way round (a 409, then the transaction read back) is [`StoreError::Heuristic`].
//!
//! # Restores
//! `restore_step` drives the agent's side of a restore (`.../restores/{restore_id}/...`):
//! `plan`, `renew` and `commit`/`rollback` (idempotent on the agent) are retried
//! like the other idempotent calls; `apply` is sent once. A 409 to a commit or rollback is
//! checked against the agent's record for an operator's decision, as for backups.
//!
//! `remove_temporaries` does nothing here: the agent removes its own leftovers (see
//! `crate::agent`), and master start-up never waits for an agent.
//!
//! The token is kept in a [`Secret`], whose `Debug` prints `***`; it is sent only in the
//! `Authorization` header and appears in no error or log line.
//!
//! Files: this one is the [`ComponentStore`] of one remote component; `client` is the HTTP
//! plumbing (one request and its retry policy, agent errors and TLS failures as messages);
//! `agents` holds the stores of a config, the probe of an agent and the in-doubt list.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{SubsecRound, Utc};
use reqwest::Method;

use super::{
    Ack, ComponentStore, ConsistencyStep, Decision, HeuristicOutcome, Participation,
    PrepareOutcome, PrepareStatus, ProgressSink, ProgressUpdate, SlotInfo, StepDone, StoreError,
};
use crate::engine::{single_line, CancelToken, ComponentSpec};
use crate::store::wire::{
    AgentInfo, ConsistencyAnswer, ConsistencyRequest, OpenTransaction, RemoteSpec, TxnState,
    TxnView,
};

mod agents;
mod client;

pub use agents::{Agents, InDoubt, Probe};
pub use client::Secret;
use client::{urlencode, Retry};

/// Attempts of an idempotent call.
pub const ATTEMPTS: u32 = 3;
/// Between two status polls of a running prepare.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// Failed polls in a row after which a prepare is given up (the agent is gone).
pub const MAX_POLL_FAILURES: u32 = 6;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
const POLL_TIMEOUT: Duration = Duration::from_secs(10);
/// `GET /components` waits at most this long for each agent.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// One remote component: its agent's URL, the token, an HTTP client.
#[derive(Clone, Debug)]
pub struct RemoteStore {
    name: String,
    base: String,
    token: Secret,
    client: reqwest::Client,
    /// The agent's `decision_timeout_seconds` as its last answer said (0: not known yet).
    alarm_secs: Arc<AtomicU64>,
}

/// Renewals of a prepared backup when the agent's decision timeout is not known yet.
const DEFAULT_RENEW_EVERY: Duration = Duration::from_secs(5);

fn now() -> chrono::DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

impl RemoteStore {
    /// Notes the agent's decision timeout from one of its answers.
    fn learn(&self, v: &TxnView) {
        if v.decision_timeout_seconds > 0 {
            self.alarm_secs
                .store(v.decision_timeout_seconds, Ordering::Relaxed);
        }
    }

    /// The heuristic outcome an agent's answer shows, for the master's `decision`.
    fn heuristic(&self, decision: Decision, p: &Participation) -> Option<HeuristicOutcome> {
        p.operator.map(|o| HeuristicOutcome {
            component: self.name.clone(),
            agent: Some(self.base.clone()),
            decision,
            outcome: o.decision,
            at: o.at,
            mismatch: o.decision != decision,
        })
    }

    /// After a 409 to `decision` on backup `id`: the operator's contrary decision when the
    /// agent's record shows one, else the 409 as it was.
    async fn explain_conflict(&self, id: &str, decision: Decision, e: StoreError) -> StoreError {
        match self.status(id).await {
            Ok(v) => match self.heuristic(decision, &v.participation) {
                Some(h) if h.mismatch => StoreError::Heuristic(h),
                _ => e,
            },
            Err(_) => e,
        }
    }

    /// Who the agent is and its open transactions; one short attempt (for `GET /components`
    /// and the resolver).
    pub async fn info(&self) -> Result<AgentInfo, StoreError> {
        let url = format!("{}/agent/v1/components", self.base);
        let info: AgentInfo = self
            .send::<(), _>(Retry::Once, Method::GET, &url, None, PROBE_TIMEOUT)
            .await?;
        if info.decision_timeout_seconds > 0 {
            self.alarm_secs
                .store(info.decision_timeout_seconds, Ordering::Relaxed);
        }
        Ok(info)
    }

    /// Where backup `id` stands on the agent.
    pub async fn status(&self, id: &str) -> Result<TxnView, StoreError> {
        let url = self.path(&format!("/backups/{}", urlencode(id)));
        self.send::<(), _>(Retry::Idempotent, Method::GET, &url, None, POLL_TIMEOUT)
            .await
    }

    /// Renews backup `id` on the agent (the master still works on its set); answers where it
    /// stands. One attempt.
    async fn renew_once(&self, id: &str) -> Result<TxnView, StoreError> {
        let url = self.path(&format!("/backups/{}/renew", urlencode(id)));
        let v: TxnView = self
            .send::<(), _>(Retry::Once, Method::POST, &url, None, POLL_TIMEOUT)
            .await?;
        self.learn(&v);
        Ok(v)
    }

    /// The open transactions of this agent that belong to this store's component.
    pub async fn open_transactions(&self) -> Result<Vec<OpenTransaction>, StoreError> {
        Ok(self
            .info()
            .await?
            .transactions
            .into_iter()
            .filter(|t| t.component == self.name)
            .collect())
    }

    /// `POST .../backups/{id}/{decision}` (`commit`, `abort`) with the master's settings for the
    /// component: idempotent on the agent, so retried.
    async fn send_decision(
        &self,
        decision: &str,
        id: &str,
        spec: &ComponentSpec,
        errors: &[String],
    ) -> Result<TxnView, StoreError> {
        let url = self.path(&format!("/backups/{}/{decision}", urlencode(id)));
        let body = remote_spec(spec, errors);
        self.send(
            Retry::Idempotent,
            Method::POST,
            &url,
            Some(&body),
            CALL_TIMEOUT,
        )
        .await
    }
}

fn remote_spec(spec: &ComponentSpec, errors: &[String]) -> RemoteSpec {
    RemoteSpec {
        profile: spec.profile,
        backup_folder: spec.backup_folder.display().to_string(),
        keep: spec.keep,
        items: spec.items.clone(),
        errors: errors.to_vec(),
        consistency: (spec.consistency != Default::default()).then(|| spec.consistency.clone()),
    }
}

fn failed(started: chrono::DateTime<Utc>, stats: ProgressUpdate, msg: String) -> PrepareOutcome {
    PrepareOutcome {
        status: PrepareStatus::Failed,
        stats,
        started_at: started,
        finished_at: now(),
        errors: vec![single_line(&msg)],
        skipped: vec![],
        skipped_more: 0,
        changed_during_backup: vec![],
        changed_during_backup_count: 0,
    }
}

#[async_trait]
impl ComponentStore for RemoteStore {
    fn is_remote(&self) -> bool {
        true
    }

    fn location(&self) -> Option<String> {
        Some(self.base.clone())
    }

    /// The slot verified by the agent (`SHA256SUMS`), for backup sets.
    async fn verify_slot(
        &self,
        spec: &ComponentSpec,
        slot: &str,
    ) -> Result<crate::store::wire::FolderVerification, StoreError> {
        let url = self.path("/verify");
        let body = crate::store::wire::VerifyRequest {
            backup_folder: spec.backup_folder.display().to_string(),
            slot: slot.to_string(),
        };
        // Read-only: safe to retry. Verifying a large slot takes a while.
        self.send(
            Retry::Idempotent,
            Method::POST,
            &url,
            Some(&body),
            Duration::from_secs(3600),
        )
        .await
    }

    async fn consistency_step(
        &self,
        id: &str,
        spec: &ComponentSpec,
        step: ConsistencyStep,
        _snapshot: Option<&std::path::Path>,
    ) -> StepDone {
        let url = self.path(&format!("/backups/{}/consistency", urlencode(id)));
        let body = ConsistencyRequest {
            step,
            consistency: spec.consistency.clone(),
            backup_folder: Some(spec.backup_folder.display().to_string()),
        };
        // Freeze and read point are not repeated blindly (a second snapshot would be refused);
        // release, thaw and renew are safe to repeat.
        let retry = match step {
            ConsistencyStep::Freeze | ConsistencyStep::ReadPoint => Retry::Once,
            _ => Retry::Idempotent,
        };
        // The agent runs the command up to its timeout (a btrfs call up to two minutes).
        let timeout = spec.consistency.timeout().max(Duration::from_secs(120)) + CALL_TIMEOUT;
        match self
            .send::<_, ConsistencyAnswer>(retry, Method::POST, &url, Some(&body), timeout)
            .await
        {
            Ok(a) => StepDone {
                outcome: a.outcome,
                snapshot: a.snapshot.map(std::path::PathBuf::from),
                error: a.error,
                renew_every: (a.lease_seconds > 0).then(|| {
                    (Duration::from_secs(a.lease_seconds) / 4).max(Duration::from_millis(200))
                }),
            },
            Err(e) => StepDone {
                error: Some(single_line(&format!("agent {}: {e}", self.base))),
                ..StepDone::default()
            },
        }
    }

    async fn prepare(
        &self,
        id: &str,
        spec: &ComponentSpec,
        cancel: CancelToken,
        progress: ProgressSink,
    ) -> PrepareOutcome {
        let started = now();
        let url = self.path(&format!("/backups/{}/prepare", urlencode(id)));
        let body = remote_spec(spec, &[]);
        // Not retried: a prepare is not idempotent from the caller's side (a second one of the
        // same ID is refused while the first runs).
        if let Err(e) = self
            .send::<_, TxnView>(Retry::Once, Method::POST, &url, Some(&body), CALL_TIMEOUT)
            .await
        {
            return failed(started, ProgressUpdate::default(), format!("prepare: {e}"));
        }
        let mut stats = ProgressUpdate::default();
        let mut failures = 0;
        loop {
            if cancel.is_cancelled() {
                if let Err(e) = self
                    .send_decision("abort", id, spec, &["cancelled".into()])
                    .await
                {
                    tracing::warn!(component = %self.name, error = %e, "could not stop the agent's prepare");
                }
                return PrepareOutcome {
                    status: PrepareStatus::Cancelled,
                    stats,
                    started_at: started,
                    finished_at: now(),
                    errors: vec!["cancelled".into()],
                    skipped: vec![],
                    skipped_more: 0,
                    changed_during_backup: vec![],
                    changed_during_backup_count: 0,
                };
            }
            tokio::time::sleep(POLL_INTERVAL).await;
            match self.renew_once(id).await {
                Ok(v) => {
                    failures = 0;
                    stats = v.progress;
                    progress(stats);
                    match (v.state, v.outcome) {
                        (TxnState::Preparing, _) => {}
                        (
                            TxnState::Prepared
                            | TxnState::InDoubt
                            | TxnState::Failed
                            | TxnState::Cancelled,
                            Some(o),
                        ) => return o,
                        (state, _) => {
                            return failed(
                                started,
                                stats,
                                format!(
                                    "the agent reports this backup as {}: {}",
                                    serde_json::to_string(&state).unwrap_or_default(),
                                    v.detail.unwrap_or_default()
                                ),
                            )
                        }
                    }
                }
                Err(e @ (StoreError::Refused(_) | StoreError::Conflict(_))) => {
                    return failed(started, stats, format!("while preparing: {e}"))
                }
                Err(e) => {
                    failures += 1;
                    if failures >= MAX_POLL_FAILURES {
                        return failed(
                            started,
                            stats,
                            format!("lost the agent while preparing ({failures} failed status requests in a row): {e}"),
                        );
                    }
                }
            }
        }
    }

    async fn commit(&self, id: &str, spec: &ComponentSpec) -> Result<Ack, StoreError> {
        let v = match self.send_decision("commit", id, spec, &[]).await {
            Ok(v) => v,
            Err(e @ StoreError::Conflict(_)) => {
                return Err(self.explain_conflict(id, Decision::Commit, e).await)
            }
            Err(e) => return Err(e),
        };
        if v.state == TxnState::Committed {
            Ok(Ack {
                heuristic: self.heuristic(Decision::Commit, &v.participation),
                safety_copy: None,
            })
        } else {
            Err(StoreError::Conflict(format!(
                "agent {} did not commit: the backup is {:?}",
                self.base, v.state
            )))
        }
    }

    async fn abort(
        &self,
        id: &str,
        spec: &ComponentSpec,
        errors: &[String],
    ) -> Result<Ack, StoreError> {
        match self.send_decision("abort", id, spec, errors).await {
            Ok(v) => Ok(Ack {
                heuristic: self.heuristic(Decision::Abort, &v.participation),
                safety_copy: None,
            }),
            Err(e @ StoreError::Conflict(_)) => {
                Err(self.explain_conflict(id, Decision::Abort, e).await)
            }
            Err(e) => Err(e),
        }
    }

    async fn renew(&self, id: &str, _spec: &ComponentSpec) -> Result<(), StoreError> {
        self.renew_once(id).await.map(|_| ())
    }

    fn renew_every(&self) -> Option<Duration> {
        match self.alarm_secs.load(Ordering::Relaxed) {
            0 => Some(DEFAULT_RENEW_EVERY),
            secs => Some(
                (Duration::from_secs(secs) / 4)
                    .clamp(Duration::from_millis(100), Duration::from_secs(60)),
            ),
        }
    }

    async fn history(&self, spec: &ComponentSpec) -> Result<Vec<SlotInfo>, StoreError> {
        let mut url = reqwest::Url::parse(&self.path("/history"))
            .map_err(|e| StoreError::Internal(format!("agent URL: {e}")))?;
        url.query_pairs_mut()
            .append_pair("backup_folder", &spec.backup_folder.display().to_string())
            .append_pair("keep", &spec.keep.to_string());
        self.send::<(), _>(
            Retry::Idempotent,
            Method::GET,
            url.as_str(),
            None,
            CALL_TIMEOUT,
        )
        .await
    }

    async fn remove_temporaries(
        &self,
        _spec: &ComponentSpec,
        _ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }

    async fn restore_lifecycle(
        &self,
        restore_id: &str,
        req: &crate::store::wire::LifecycleRequest,
    ) -> Result<crate::store::wire::LifecycleAnswer, StoreError> {
        self.lifecycle_step(restore_id, req).await
    }

    async fn drill(
        &self,
        drill_id: &str,
        req: &crate::store::wire::RemoteDrillRequest,
    ) -> Result<crate::store::wire::RemoteDrillAnswer, StoreError> {
        self.drill_on_agent(drill_id, req).await
    }

    async fn drill_output(
        &self,
        drill_id: &str,
        after: u64,
    ) -> Result<crate::store::wire::RemoteDrillOutput, StoreError> {
        self.drill_output_on_agent(drill_id, after).await
    }

    async fn drill_cancel(&self, drill_id: &str) -> Result<(), StoreError> {
        self.drill_cancel_on_agent(drill_id).await.map(|_| ())
    }

    async fn replicate(
        &self,
        replication_id: &str,
        req: &crate::store::wire::RemoteReplicationRequest,
    ) -> Result<crate::store::wire::RemoteReplicationAnswer, StoreError> {
        self.replicate_on_agent(replication_id, req).await
    }

    async fn cancel_replication(&self, replication_id: &str) -> Result<(), StoreError> {
        self.cancel_on_agent(replication_id).await
    }

    async fn download(
        &self,
        download_id: &str,
        req: &crate::store::wire::RemoteDownloadRequest,
    ) -> Result<crate::store::wire::RemoteDownloadAnswer, StoreError> {
        self.download_on_agent(download_id, req).await
    }

    async fn restore_step(
        &self,
        restore_id: &str,
        step: super::RestoreStep,
        req: &crate::store::wire::RemoteRestoreRequest,
    ) -> Result<crate::store::restore_record::RestoreRecord, StoreError> {
        use super::RestoreStep as S;
        let base = self.path(&format!("/restores/{}", urlencode(restore_id)));
        // Applying copies a whole home: allow it time.
        let long = Duration::from_secs(3600);
        match step {
            S::Plan => {
                let plan: crate::store::restore_record::ComponentRestore = self
                    .send(
                        Retry::Idempotent,
                        Method::POST,
                        &format!("{base}/plan"),
                        Some(req),
                        long,
                    )
                    .await?;
                let mut rec = crate::store::restore_record::RestoreRecord::empty(restore_id);
                rec.components.push(plan);
                Ok(rec)
            }
            S::Apply => {
                self.send(
                    Retry::Once,
                    Method::POST,
                    &format!("{base}/apply"),
                    Some(req),
                    long,
                )
                .await
            }
            S::Renew => {
                self.send::<(), _>(
                    Retry::Idempotent,
                    Method::POST,
                    &format!("{base}/renew"),
                    None,
                    POLL_TIMEOUT,
                )
                .await
            }
            S::DiscardSafetyCopy => {
                self.send::<(), _>(
                    Retry::Idempotent,
                    Method::DELETE,
                    &format!("{base}/safety-copy"),
                    None,
                    long,
                )
                .await
            }
            S::Commit | S::Rollback => {
                let (what, decision) = if step == S::Commit {
                    ("commit", Decision::Commit)
                } else {
                    ("rollback", Decision::Rollback)
                };
                match self
                    .send::<(), _>(
                        Retry::Idempotent,
                        Method::POST,
                        &format!("{base}/{what}"),
                        None,
                        long,
                    )
                    .await
                {
                    Err(e @ StoreError::Conflict(_)) => {
                        let rec: Result<crate::store::restore_record::RestoreRecord, _> = self
                            .send::<(), _>(
                                Retry::Idempotent,
                                Method::GET,
                                &base,
                                None,
                                POLL_TIMEOUT,
                            )
                            .await;
                        let h = rec.ok().and_then(|r| {
                            self.heuristic(decision, &r.participation.unwrap_or_default())
                        });
                        Err(match h {
                            Some(h) if h.mismatch => StoreError::Heuristic(h),
                            _ => e,
                        })
                    }
                    other => other,
                }
            }
        }
    }
}
