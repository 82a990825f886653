//! The HTTP plumbing of a remote store: the client (timeouts, a private CA), one request with
//! its retry policy, and agent errors and TLS failures turned into messages naming the agent.

use crate::engine::single_line;
use crate::store::StoreError;
use crate::toolkit::Backoff;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use super::{RemoteStore, ATTEMPTS, CALL_TIMEOUT, CONNECT_TIMEOUT};

/// How long the master waits for a drill on an agent: a whole component's restore, its check
/// and a probe (killed by the agent after 15 minutes).
const DRILL_CALL_TIMEOUT: Duration = Duration::from_secs(2 * 3600);

/// How long the master waits for an agent's upload or download of one component.
const TRANSFER_CALL_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// `Err` naming the agent and the target unless keys may go to agent `base` (serving
/// `component`): over https, or over plain http only to a loopback address.
pub(crate) fn keys_may_go_to(base: &str, component: &str, target: &str) -> Result<(), String> {
    let url = reqwest::Url::parse(base).map_err(|e| format!("agent URL {base}: {e}"))?;
    let host = url.host_str().unwrap_or_default();
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|a| a.is_loopback());
    if url.scheme() == "https" || (url.scheme() == "http" && loopback) {
        return Ok(());
    }
    Err(format!(
        "the keys of replication target {target} are not sent to agent {base} of component \
         {component} over plain http: serve the agent over https (tls_cert_file, tls_key_file) \
         and give its https:// URL"
    ))
}

/// A token or key that never shows in `Debug` output. It travels in a request body only as
/// itself (a key the master sends an agent with a replication call); no answer carries one.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, format = Password)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Secret {
        Secret(s)
    }

    /// The secret itself, for the one place that hands it on (a header, a client's key).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Whether a call may be sent again after a transport error or a 5xx answer.
#[derive(Clone, Copy)]
pub(super) enum Retry {
    /// Not idempotent (a prepare, an apply): sent once.
    Once,
    /// Idempotent: retried.
    Idempotent,
}

/// The problem+json body an agent answers errors with (the fields used here).
#[derive(Deserialize)]
struct ProblemBody {
    detail: Option<String>,
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

    /// The agent's base URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    pub(super) fn path(&self, rest: &str) -> String {
        format!(
            "{}/agent/v1/components/{}{rest}",
            self.base,
            urlencode(&self.name)
        )
    }

    /// Runs a stop, start or health command of this component on its agent for restore
    /// `restore_id`: the call lasts as long as the command may (its timeout) and more. A stop
    /// or a start is sent once (not blindly repeated); a health check is retried.
    pub(super) async fn lifecycle_step(
        &self,
        restore_id: &str,
        req: &crate::store::wire::LifecycleRequest,
    ) -> Result<crate::store::wire::LifecycleAnswer, StoreError> {
        let url = self.path(&format!("/restores/{}/lifecycle", urlencode(restore_id)));
        let retry = match req.step {
            crate::engine::lifecycle::LifecycleStep::Health => Retry::Idempotent,
            _ => Retry::Once,
        };
        let timeout = Duration::from_secs(req.timeout_seconds) + CALL_TIMEOUT;
        self.send(retry, Method::POST, &url, Some(req), timeout)
            .await
    }

    /// Drills this component on its agent (drill `drill_id`): the agent answers when the
    /// restore, the check and the probe are done and its scratch is removed. Sent once (it
    /// restores a whole component); the call may last as long as the probe may and more.
    pub(super) async fn drill_on_agent(
        &self,
        drill_id: &str,
        req: &crate::store::wire::RemoteDrillRequest,
    ) -> Result<crate::store::wire::RemoteDrillAnswer, StoreError> {
        let url = self.path(&format!("/drills/{}", urlencode(drill_id)));
        self.send(
            Retry::Once,
            Method::POST,
            &url,
            Some(req),
            DRILL_CALL_TIMEOUT,
        )
        .await
    }

    /// The probe output of drill `drill_id` on the agent from line `after` on (idempotent).
    pub(super) async fn drill_output_on_agent(
        &self,
        drill_id: &str,
        after: u64,
    ) -> Result<crate::store::wire::RemoteDrillOutput, StoreError> {
        let url = self.path(&format!(
            "/drills/{}/output?after={after}",
            urlencode(drill_id)
        ));
        self.send::<(), _>(Retry::Idempotent, Method::GET, &url, None, CALL_TIMEOUT)
            .await
    }

    /// Tells the agent to stop drill `drill_id` (idempotent).
    pub(super) async fn drill_cancel_on_agent(
        &self,
        drill_id: &str,
    ) -> Result<crate::store::wire::RemoteDrillCancelled, StoreError> {
        let url = self.path(&format!("/drills/{}/cancel", urlencode(drill_id)));
        self.send::<(), _>(Retry::Idempotent, Method::POST, &url, None, CALL_TIMEOUT)
            .await
    }

    /// Refuses to send target `target`'s keys to this agent unless the call is encrypted
    /// (https) or stays on this machine (a loopback address).
    pub(super) fn keys_may_go(&self, target: &str) -> Result<(), StoreError> {
        keys_may_go_to(&self.base, &self.name, target).map_err(StoreError::Refused)
    }

    /// Uploads this component's slot on its agent for replication `replication_id`: the agent
    /// answers when its blobs are on the bucket. Sent once, and only over https or to a
    /// loopback agent (it carries the target's keys).
    pub(super) async fn replicate_on_agent(
        &self,
        replication_id: &str,
        req: &crate::store::wire::RemoteReplicationRequest,
    ) -> Result<crate::store::wire::RemoteReplicationAnswer, StoreError> {
        self.keys_may_go(&req.target.name)?;
        let url = self.path(&format!("/replications/{}", urlencode(replication_id)));
        self.send(
            Retry::Once,
            Method::POST,
            &url,
            Some(req),
            TRANSFER_CALL_TIMEOUT,
        )
        .await
    }

    /// Tells the agent to stop the upload of replication `replication_id`. Idempotent.
    pub(super) async fn cancel_on_agent(&self, replication_id: &str) -> Result<(), StoreError> {
        let url = self.path(&format!(
            "/replications/{}/cancel",
            urlencode(replication_id)
        ));
        self.send::<(), crate::store::wire::ReplicationCancelAnswer>(
            Retry::Idempotent,
            Method::POST,
            &url,
            None,
            super::CALL_TIMEOUT,
        )
        .await
        .map(|_| ())
    }

    /// Downloads this component of a replicated set on its agent (download `download_id`).
    /// Sent once, under the same rule for the keys as an upload.
    pub(super) async fn download_on_agent(
        &self,
        download_id: &str,
        req: &crate::store::wire::RemoteDownloadRequest,
    ) -> Result<crate::store::wire::RemoteDownloadAnswer, StoreError> {
        self.keys_may_go(&req.target.name)?;
        let url = self.path(&format!("/downloads/{}", urlencode(download_id)));
        self.send(
            Retry::Once,
            Method::POST,
            &url,
            Some(req),
            TRANSFER_CALL_TIMEOUT,
        )
        .await
    }

    /// A request to the agent, sent once or, for an idempotent call (`retry`), retried on
    /// transport errors and 5xx answers up to [`ATTEMPTS`] times.
    pub(super) async fn send<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        retry: Retry,
        method: Method,
        url: &str,
        body: Option<&B>,
        timeout: Duration,
    ) -> Result<T, StoreError> {
        let attempts = match retry {
            Retry::Once => 1,
            Retry::Idempotent => ATTEMPTS,
        };
        let mut backoff = Backoff::new(Duration::from_millis(300), Duration::from_secs(2));
        let mut attempt = 1;
        loop {
            let mut rb = self
                .client
                .request(method.clone(), url)
                .bearer_auth(&self.token.0)
                .timeout(timeout);
            if let Some(b) = body {
                rb = rb.json(b);
            }
            match self.attempt(rb, timeout).await {
                Err(StoreError::Remote(e)) if attempt < attempts => {
                    tracing::debug!(component = %self.name, attempt, error = %e, "retrying an agent call");
                    backoff.sleep().await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// One attempt of a request; maps every failure to a `StoreError` naming the agent.
    pub(super) async fn attempt<T: DeserializeOwned>(
        &self,
        rb: reqwest::RequestBuilder,
        timeout: Duration,
    ) -> Result<T, StoreError> {
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
pub(super) fn urlencode(s: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::keys_may_go_to;

    #[test]
    fn keys_go_only_over_https_or_to_a_loopback_agent() {
        for ok in [
            "https://agent.example.com:9090",
            "https://10.0.0.5:9090",
            "http://127.0.0.1:9090",
            "http://127.0.0.2:9090",
            "http://[::1]:9090",
            "http://localhost:9090",
        ] {
            assert!(keys_may_go_to(ok, "trk", "offsite").is_ok(), "{ok}");
        }
        for refused in [
            "http://agent.example.com:9090",
            "http://10.0.0.5:9090",
            "http://[fe80::1]:9090",
            "http://localhost.example.com:9090",
        ] {
            let e = keys_may_go_to(refused, "trk", "offsite").unwrap_err();
            assert!(
                e.contains(refused)
                    && e.contains("offsite")
                    && e.contains("trk")
                    && e.contains("https"),
                "{e}"
            );
        }
    }
}
