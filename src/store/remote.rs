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

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{SubsecRound, Utc};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{
    Ack, ComponentStore, Decision, HeuristicOutcome, Participation, PrepareOutcome, PrepareStatus,
    ProgressSink, ProgressUpdate, SlotInfo, StoreError,
};
use crate::config::Config;
use crate::engine::{single_line, CancelToken, ComponentSpec};
use crate::store::wire::{AgentInfo, OpenTransaction, RemoteSpec, TxnState, TxnView};
use crate::toolkit::Backoff;

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

/// A token that never shows in `Debug` output.
#[derive(Clone)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

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

/// The problem+json body an agent answers errors with (the fields used here).
#[derive(Deserialize)]
struct ProblemBody {
    detail: Option<String>,
}

fn now() -> chrono::DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

impl RemoteStore {
    /// A store for component `name` served at `url` (`http://host:port` or `https://...`);
    /// `ca_pem` adds a trusted CA for a private-CA https agent.
    pub fn new(
        name: &str,
        url: &str,
        token: String,
        ca_pem: Option<&[u8]>,
    ) -> Result<RemoteStore, String> {
        let mut b = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(CALL_TIMEOUT)
            .user_agent(concat!("backup-master/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = ca_pem {
            let cert = reqwest::Certificate::from_pem(pem)
                .map_err(|e| format!("agent_ca_file is not a PEM certificate: {e}"))?;
            b = b.add_root_certificate(cert);
        }
        let client = b
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(RemoteStore {
            name: name.to_string(),
            base: url.trim_end_matches('/').to_string(),
            token: Secret(token),
            client,
            alarm_secs: Arc::new(AtomicU64::new(0)),
        })
    }

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

    /// The agent's base URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    fn path(&self, rest: &str) -> String {
        format!(
            "{}/agent/v1/components/{}{rest}",
            self.base,
            urlencode(&self.name)
        )
    }

    /// One request; maps every failure to a `StoreError` naming the agent.
    async fn once<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        body: Option<&B>,
        timeout: Duration,
    ) -> Result<T, StoreError> {
        let mut rb = self
            .client
            .request(method, url)
            .bearer_auth(&self.token.0)
            .timeout(timeout);
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let agent = &self.base;
        let resp = rb.send().await.map_err(|e| {
            let e = e.without_url();
            if e.is_timeout() {
                StoreError::Remote(format!(
                    "agent {agent} did not answer within {} s",
                    timeout.as_secs()
                ))
            } else if let Some(kind) = tls_failure(&e) {
                StoreError::Remote(tls_message(agent, &self.name, kind, &error_chain(&e)))
            } else {
                StoreError::Remote(format!("agent {agent} is unreachable: {}", error_chain(&e)))
            }
        })?;
        let status = resp.status();
        if status.is_success() {
            return resp.json::<T>().await.map_err(|e| {
                StoreError::Remote(format!(
                    "agent {agent} sent an unreadable answer: {}",
                    e.without_url()
                ))
            });
        }
        let detail = resp
            .json::<ProblemBody>()
            .await
            .ok()
            .and_then(|p| p.detail)
            .map(|d| single_line(&d))
            .unwrap_or_else(|| status.to_string());
        Err(match status {
            StatusCode::UNAUTHORIZED => StoreError::Refused(format!(
                "agent {agent} refused the master's token for component {} (401: {detail}); check agent_token_file or {}",
                self.name,
                crate::config::agent_token_env(&self.name)
            )),
            StatusCode::FORBIDDEN => StoreError::Refused(format!(
                "agent {agent} refused component {}: the master's token has too weak a role (403: {detail})",
                self.name
            )),
            StatusCode::CONFLICT => {
                StoreError::Conflict(format!("agent {agent} refused (409): {detail}"))
            }
            s if s.is_client_error() => {
                StoreError::Refused(format!("agent {agent} refused ({}): {detail}", s.as_u16()))
            }
            s => StoreError::Remote(format!("agent {agent} failed ({}): {detail}", s.as_u16())),
        })
    }

    /// An idempotent request, retried on transport errors and 5xx answers.
    async fn idempotent<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        body: Option<&B>,
        timeout: Duration,
    ) -> Result<T, StoreError> {
        let mut backoff = Backoff::new(Duration::from_millis(300), Duration::from_secs(2));
        let mut attempt = 1;
        loop {
            match self.once(method.clone(), url, body, timeout).await {
                Err(StoreError::Remote(e)) if attempt < ATTEMPTS => {
                    tracing::debug!(component = %self.name, attempt, error = %e, "retrying an agent call");
                    backoff.sleep().await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Who the agent is and its open transactions; one short attempt (for `GET /components`
    /// and the resolver).
    pub async fn info(&self) -> Result<AgentInfo, StoreError> {
        let url = format!("{}/agent/v1/components", self.base);
        let info: AgentInfo = self
            .once::<(), _>(Method::GET, &url, None, PROBE_TIMEOUT)
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
        self.idempotent::<(), _>(Method::GET, &url, None, POLL_TIMEOUT)
            .await
    }

    /// Renews backup `id` on the agent (the master still works on its set); answers where it
    /// stands. One attempt.
    async fn renew_once(&self, id: &str) -> Result<TxnView, StoreError> {
        let url = self.path(&format!("/backups/{}/renew", urlencode(id)));
        let v: TxnView = self
            .once::<(), _>(Method::POST, &url, None, POLL_TIMEOUT)
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

    async fn send_abort(
        &self,
        id: &str,
        spec: &ComponentSpec,
        errors: &[String],
    ) -> Result<TxnView, StoreError> {
        let url = self.path(&format!("/backups/{}/abort", urlencode(id)));
        let body = remote_spec(spec, errors);
        self.idempotent(Method::POST, &url, Some(&body), CALL_TIMEOUT)
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
    }
}

/// The causes of an error, joined (reqwest's own message is terse: "error sending request").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let msg = s.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        cur = s.source();
    }
    single_line(&out)
}

/// Why a TLS handshake with an agent failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TlsFailure {
    /// The master did not accept the agent's certificate (unknown CA, wrong name, expired).
    Certificate,
    /// Anything else in the handshake (e.g. the agent speaks plain http).
    Handshake,
}

/// Whether a failed request failed in the TLS handshake. rustls's error travels inside an
/// `io::Error` (whose `source()` skips it) and may be boxed on the way, so the typed check is
/// backed by the messages rustls writes.
fn tls_failure(e: &(dyn std::error::Error + 'static)) -> Option<TlsFailure> {
    let of = |t: &rustls::Error| match t {
        rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented => {
            TlsFailure::Certificate
        }
        _ => TlsFailure::Handshake,
    };
    let mut cur = Some(e);
    while let Some(s) = cur {
        if let Some(t) = s.downcast_ref::<rustls::Error>() {
            return Some(of(t));
        }
        if let Some(t) = s
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(of(t));
        }
        cur = s.source();
    }
    let text = error_chain(e).to_lowercase();
    if text.contains("certificate") {
        Some(TlsFailure::Certificate)
    } else if text.contains("tls") || text.contains("handshake") || text.contains("corrupt message")
    {
        Some(TlsFailure::Handshake)
    } else {
        None
    }
}

/// Says that the TLS handshake with the agent of `component` failed, and what to check. A
/// certificate the master does not accept is not "unreachable": the agent answered.
fn tls_message(agent: &str, component: &str, kind: TlsFailure, chain: &str) -> String {
    let advice = match kind {
        TlsFailure::Certificate => {
            "the agent's TLS certificate was not accepted; set agent_ca_file of the component \
             to the CA that signed it, and check that the certificate names the host of the agent URL"
        }
        TlsFailure::Handshake => {
            "check that the agent serves https (tls_cert_file, tls_key_file) at that address"
        }
    };
    single_line(&format!(
        "TLS with agent {agent} of component {component} failed: {advice} ({chain})"
    ))
}

/// Percent-encodes a path segment (component names and IDs are plain, but be safe).
fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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
        self.idempotent(Method::POST, &url, Some(&body), Duration::from_secs(3600))
            .await
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
            .once::<_, TxnView>(Method::POST, &url, Some(&body), CALL_TIMEOUT)
            .await
        {
            return failed(started, ProgressUpdate::default(), format!("prepare: {e}"));
        }
        let mut stats = ProgressUpdate::default();
        let mut failures = 0;
        loop {
            if cancel.is_cancelled() {
                if let Err(e) = self.send_abort(id, spec, &["cancelled".into()]).await {
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
        let url = self.path(&format!("/backups/{}/commit", urlencode(id)));
        let body = remote_spec(spec, &[]);
        let v: TxnView = match self
            .idempotent(Method::POST, &url, Some(&body), CALL_TIMEOUT)
            .await
        {
            Ok(v) => v,
            Err(e @ StoreError::Conflict(_)) => {
                return Err(self.explain_conflict(id, Decision::Commit, e).await)
            }
            Err(e) => return Err(e),
        };
        if v.state == TxnState::Committed {
            Ok(Ack {
                heuristic: self.heuristic(Decision::Commit, &v.participation),
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
        match self.send_abort(id, spec, errors).await {
            Ok(v) => Ok(Ack {
                heuristic: self.heuristic(Decision::Abort, &v.participation),
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
        self.idempotent::<(), _>(Method::GET, url.as_str(), None, CALL_TIMEOUT)
            .await
    }

    async fn remove_temporaries(
        &self,
        _spec: &ComponentSpec,
        _ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
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
                    .idempotent(Method::POST, &format!("{base}/plan"), Some(req), long)
                    .await?;
                let mut rec = crate::store::restore_record::RestoreRecord::empty(restore_id);
                rec.components.push(plan);
                Ok(rec)
            }
            S::Apply => {
                self.once(Method::POST, &format!("{base}/apply"), Some(req), long)
                    .await
            }
            S::Renew => {
                self.idempotent::<(), _>(Method::POST, &format!("{base}/renew"), None, POLL_TIMEOUT)
                    .await
            }
            S::Commit | S::Rollback => {
                let (what, decision) = if step == S::Commit {
                    ("commit", Decision::Commit)
                } else {
                    ("rollback", Decision::Rollback)
                };
                match self
                    .idempotent::<(), _>(Method::POST, &format!("{base}/{what}"), None, long)
                    .await
                {
                    Err(e @ StoreError::Conflict(_)) => {
                        let rec: Result<crate::store::restore_record::RestoreRecord, _> = self
                            .idempotent::<(), _>(Method::GET, &base, None, POLL_TIMEOUT)
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

/// A remote component whose agent is not (or no longer) configured: every call fails. Used
/// when recovery meets a record of a component that has since left the config.
struct Unconfigured(String);

#[async_trait]
impl ComponentStore for Unconfigured {
    fn is_remote(&self) -> bool {
        true
    }
    async fn prepare(
        &self,
        _id: &str,
        _spec: &ComponentSpec,
        _cancel: CancelToken,
        _progress: ProgressSink,
    ) -> PrepareOutcome {
        failed(now(), ProgressUpdate::default(), self.0.clone())
    }
    async fn commit(&self, _id: &str, _spec: &ComponentSpec) -> Result<Ack, StoreError> {
        Err(StoreError::NotConfigured(self.0.clone()))
    }
    async fn abort(&self, _: &str, _: &ComponentSpec, _: &[String]) -> Result<Ack, StoreError> {
        Err(StoreError::NotConfigured(self.0.clone()))
    }
    async fn history(&self, _spec: &ComponentSpec) -> Result<Vec<SlotInfo>, StoreError> {
        Err(StoreError::Refused(self.0.clone()))
    }
    async fn verify_slot(
        &self,
        _: &ComponentSpec,
        _: &str,
    ) -> Result<crate::store::wire::FolderVerification, StoreError> {
        Err(StoreError::Refused(self.0.clone()))
    }
    async fn remove_temporaries(
        &self,
        _: &ComponentSpec,
        _: &[String],
    ) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }
}

/// What `GET /components` says about a remote component's agent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Probe {
    /// The agent answered (even if it refused).
    pub reachable: bool,
    pub version: Option<String>,
    /// Why the component cannot be backed up through it right now.
    pub error: Option<String>,
    /// The component's transactions in doubt on the agent.
    pub in_doubt: Vec<InDoubt>,
}

/// A backup or restore of a remote component that is in doubt on its agent: it voted yes and
/// heard nothing from the master for the agent's `decision_timeout_seconds`. It waits for the
/// master's decision (the master resolves it from its records when it reaches the agent), or
/// an operator's on that machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InDoubt {
    pub kind: super::TxnKind,
    /// The backup ID, or the restore ID.
    #[schema(example = "20261126T020000Z")]
    pub id: String,
    /// Since when it is in doubt.
    pub since: chrono::DateTime<Utc>,
}

impl InDoubt {
    /// The in-doubt ones among an agent's open transactions.
    pub fn of(open: &[OpenTransaction]) -> Vec<InDoubt> {
        open.iter()
            .filter(|t| t.in_doubt())
            .map(|t| InDoubt {
                kind: t.kind,
                id: t.id.clone(),
                since: t
                    .participation
                    .in_doubt_since
                    .or(t.participation.last_message_at)
                    .unwrap_or(t.started_at),
            })
            .collect()
    }
}

/// The remote stores of the configured remote components, by name.
#[derive(Clone, Default)]
pub struct Agents {
    stores: Arc<HashMap<String, Arc<RemoteStore>>>,
}

impl Agents {
    /// A store for every component of `cfg` that has an `agent`. Errors name the field.
    pub fn from_config(cfg: &Config) -> Result<Agents, String> {
        let mut stores = HashMap::new();
        for (i, c) in cfg.components.iter().enumerate() {
            let Some(url) = &c.agent else { continue };
            let token = cfg
                .agent_token(c)
                .map_err(|e| format!("components[{i}].agent_token_file: {e}"))?;
            let ca = match &c.agent_ca_file {
                Some(f) => {
                    let path = crate::config::resolve(&cfg.base_dir, f);
                    Some(std::fs::read(&path).map_err(|e| {
                        format!(
                            "components[{i}].agent_ca_file: cannot read {}: {e}",
                            path.display()
                        )
                    })?)
                }
                None => None,
            };
            let store = RemoteStore::new(&c.name, url, token, ca.as_deref())
                .map_err(|e| format!("components[{i}]: {e}"))?;
            stores.insert(c.name.clone(), Arc::new(store));
        }
        Ok(Agents {
            stores: Arc::new(stores),
        })
    }

    pub fn get(&self, name: &str) -> Option<Arc<RemoteStore>> {
        self.stores.get(name).cloned()
    }

    /// Every remote component's store, by component name (sorted).
    pub fn all(&self) -> Vec<(String, Arc<RemoteStore>)> {
        let mut v: Vec<(String, Arc<RemoteStore>)> = self
            .stores
            .iter()
            .map(|(n, s)| (n.clone(), s.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// The store for a remote spec; a failing one when no agent is configured for it.
    pub fn store(&self, name: &str) -> Arc<dyn ComponentStore> {
        match self.get(name) {
            Some(s) => s,
            None => Arc::new(Unconfigured(format!(
                "component {name} is not configured as a remote component (agent) any more"
            ))),
        }
    }

    /// Asks the agent of `name` who it is (short timeout). `None` for a local component.
    pub async fn probe(&self, name: &str) -> Option<Probe> {
        let store = self.get(name)?;
        Some(match store.info().await {
            Ok(info) => {
                let mine: Vec<OpenTransaction> = info
                    .transactions
                    .into_iter()
                    .filter(|t| t.component == name)
                    .collect();
                Probe {
                    reachable: true,
                    error: (!info.components.iter().any(|c| c.name == name))
                        .then(|| format!("agent {} does not serve component {name}", store.url())),
                    version: Some(info.version),
                    in_doubt: InDoubt::of(&mine),
                }
            }
            Err(StoreError::Refused(e) | StoreError::Conflict(e)) => Probe {
                reachable: true,
                version: None,
                error: Some(e),
                in_doubt: vec![],
            },
            Err(e) => Probe {
                reachable: false,
                version: None,
                error: Some(e.to_string()),
                in_doubt: vec![],
            },
        })
    }
}
