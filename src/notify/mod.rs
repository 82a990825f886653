//! Notifications: the events every layer emits (`toolkit::events`) sent to the configured
//! targets whose matcher lets them through, asynchronously (a job never waits for a
//! notification), each send recorded as a [`Delivery`] and retried with backoff on errors
//! that may pass (HTTP 5xx, timeouts, connection errors, transient SMTP replies) until the
//! retry time (24 h) runs out; refusals (HTTP 4xx, permanent SMTP replies) are not retried.
//! Given-up deliveries are counted for `/metrics`. A test send goes out at once, once.
//!
//! What a target is and how it is configured belongs to `config` ([`Target`]); the senders
//! per kind are in [`send`], the matching in [`matcher`], the records in [`deliveries`].

pub mod deliveries;
pub mod matcher;
pub mod send;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use chrono::{SubsecRound, Utc};
use serde::Serialize;
use tokio::sync::mpsc::UnboundedReceiver;
use utoipa::ToSchema;

use crate::config::Target;
use crate::toolkit::events::{Event, EventKind, Severity};
use crate::toolkit::fsutil::IoError;
use crate::toolkit::Backoff;

pub use deliveries::{Delivery, DeliveryStatus, MAX_KEPT};

/// How failed attempts are retried: delays from `first` doubling up to `max`, no new attempt
/// later than `give_up` after the event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub first: Duration,
    pub max: Duration,
    pub give_up: Duration,
}

impl Default for RetryPolicy {
    /// 30 s doubling to an hour, for 24 hours.
    fn default() -> Self {
        RetryPolicy {
            first: Duration::from_secs(30),
            max: Duration::from_secs(3600),
            give_up: Duration::from_secs(24 * 3600),
        }
    }
}

impl RetryPolicy {
    /// `first_ms:max_ms:give_up_ms` (for tests, which cannot wait a day).
    pub fn parse(s: &str) -> Option<RetryPolicy> {
        let mut parts = s.split(':').map(|p| p.trim().parse::<u64>().ok());
        let (first, max, give_up) = (parts.next()??, parts.next()??, parts.next()??);
        (parts.next().is_none() && first > 0 && max >= first).then(|| RetryPolicy {
            first: Duration::from_millis(first),
            max: Duration::from_millis(max),
            give_up: Duration::from_millis(give_up),
        })
    }
}

/// Why the notifier could not open.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("delivery records: {0}")]
    Records(#[from] IoError),
}

/// What a test send came to (`POST /notification-targets/{name}/test`).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TestOutcome {
    #[schema(example = "ops-webhook")]
    pub target: String,
    /// Whether the target accepted the test event.
    pub ok: bool,
    /// The HTTP status (webhook, ping).
    #[schema(example = 200)]
    pub status: Option<u16>,
    /// The SMTP server's reply (email).
    pub reply: Option<String>,
    #[schema(example = 84)]
    pub latency_ms: u64,
    /// Why it failed.
    pub error: Option<String>,
    /// The delivery record of this send.
    #[schema(example = "N20261126T020004.120Z-00000001")]
    pub delivery_id: String,
}

/// A page of deliveries, newest first.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DeliveryPage {
    pub items: Vec<Delivery>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// The notifier: targets, the records and the delivery tasks. Cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

struct Inner {
    targets: RwLock<Vec<Target>>,
    store: Mutex<deliveries::Store>,
    policy: RetryPolicy,
    /// Deliveries given up, by target, since this process started plus those on disk then.
    failed: Mutex<BTreeMap<String, u64>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Notifier {
    /// Opens the delivery records under `state_dir`. Nothing is sent until [`Notifier::run`].
    pub fn open(
        state_dir: &Path,
        targets: Vec<Target>,
        policy: RetryPolicy,
    ) -> Result<Notifier, NotifyError> {
        let store = deliveries::Store::open(state_dir)?;
        let mut failed = BTreeMap::new();
        for d in store.index.oldest_first() {
            if d.status == DeliveryStatus::Failed {
                *failed.entry(d.target.clone()).or_insert(0) += 1;
            }
        }
        Ok(Notifier {
            inner: Arc::new(Inner {
                targets: RwLock::new(targets),
                store: Mutex::new(store),
                policy,
                failed: Mutex::new(failed),
            }),
        })
    }

    /// The targets changed (the config file was written).
    pub fn set_targets(&self, targets: Vec<Target>) {
        *self
            .inner
            .targets
            .write()
            .unwrap_or_else(|e| e.into_inner()) = targets;
    }

    fn target(&self, name: &str) -> Option<Target> {
        self.inner
            .targets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|t| t.name == name)
            .cloned()
    }

    /// Sends every event from `events` to the targets that match it, until the sending side
    /// is gone. Deliveries still pending on disk (the server stopped while they waited) are
    /// taken up first. Spawn it on the server's runtime.
    pub async fn run(self, mut events: UnboundedReceiver<Event>) {
        let pending: Vec<Delivery> = lock(&self.inner.store)
            .index
            .oldest_first()
            .filter(|d| d.status == DeliveryStatus::Pending)
            .cloned()
            .collect();
        for d in pending {
            tokio::spawn(self.clone().deliver(d, false));
        }
        while let Some(event) = events.recv().await {
            let targets: Vec<Target> = self
                .inner
                .targets
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .filter(|t| matcher::matches(&t.matcher, &event) && send::has_url_for(t, &event))
                .cloned()
                .collect();
            for t in targets {
                let d = self.new_delivery(&t, event.clone());
                tokio::spawn(self.clone().deliver(d, true));
            }
        }
    }

    fn new_delivery(&self, target: &Target, event: Event) -> Delivery {
        let now = Utc::now();
        let id = lock(&self.inner.store).ids.issue(now);
        Delivery {
            id,
            target: target.name.clone(),
            kind: kind_name(target).to_string(),
            status: DeliveryStatus::Pending,
            attempts: 0,
            created_at: now.trunc_subsecs(3),
            last_attempt_at: None,
            next_attempt_at: None,
            finished_at: None,
            last_status: None,
            last_reply: None,
            last_error: None,
            latency_ms: None,
            event,
        }
    }

    /// Attempts `d` until it is delivered or given up, saving it before the first attempt
    /// (when `new`) and after each.
    async fn deliver(self, mut d: Delivery, new: bool) {
        if new {
            self.persist(&d).await;
        }
        let policy = self.inner.policy;
        let give_up_at = d.created_at
            + chrono::Duration::from_std(policy.give_up).unwrap_or(chrono::Duration::days(1));
        let mut backoff = Backoff::new(policy.first, policy.max);
        loop {
            let Some(target) = self.target(&d.target) else {
                d.last_error = Some("the target was removed".into());
                self.give_up(d).await;
                return;
            };
            let out = send::send(&target, &d.event, &d.id).await;
            let now = Utc::now();
            d.attempts += 1;
            d.last_attempt_at = Some(now.trunc_subsecs(3));
            d.last_status = out.status;
            d.last_reply = out.reply;
            d.last_error = out.error;
            d.latency_ms = Some(out.latency_ms);
            if out.ok {
                d.status = DeliveryStatus::Delivered;
                d.finished_at = Some(now.trunc_subsecs(3));
                d.next_attempt_at = None;
                tracing::info!(delivery = %d.id, target = %d.target, event = %d.event.event, attempts = d.attempts, "notification delivered");
                self.persist(&d).await;
                return;
            }
            let delay = backoff.next_delay();
            let next =
                now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::hours(1));
            if !out.retry || next > give_up_at {
                self.give_up(d).await;
                return;
            }
            tracing::info!(delivery = %d.id, target = %d.target, error = d.last_error.as_deref().unwrap_or(""), retry_in_ms = delay.as_millis() as u64, "notification attempt failed; retrying");
            d.next_attempt_at = Some(next.trunc_subsecs(3));
            self.persist(&d).await;
            tokio::time::sleep(delay).await;
        }
    }

    async fn give_up(&self, mut d: Delivery) {
        d.status = DeliveryStatus::Failed;
        d.finished_at = Some(Utc::now().trunc_subsecs(3));
        d.next_attempt_at = None;
        tracing::warn!(delivery = %d.id, target = %d.target, event = %d.event.event, attempts = d.attempts, error = d.last_error.as_deref().unwrap_or(""), "notification not delivered; given up");
        *lock(&self.inner.failed)
            .entry(d.target.clone())
            .or_insert(0) += 1;
        self.persist(&d).await;
    }

    /// Saves `d` (atomically, on the blocking pool) and shows it; drops the oldest records
    /// over [`MAX_KEPT`]. A failed write is logged: the record stays in memory.
    async fn persist(&self, d: &Delivery) {
        let inner = self.inner.clone();
        let d = d.clone();
        let saved = tokio::task::spawn_blocking(move || {
            let mut store = lock(&inner.store);
            if let Err(e) = store.dir().save(&d) {
                tracing::error!(delivery = %d.id, error = %e, "cannot write the delivery record");
            }
            store.index.insert(d);
            for id in store.prune() {
                if let Err(e) = store.dir().remove(&id) {
                    tracing::warn!(delivery = %id, error = %e, "cannot remove an old delivery record");
                }
            }
        })
        .await;
        if let Err(e) = saved {
            tracing::error!(error = %e, "saving a delivery record failed");
        }
    }

    /// Sends a `test` event to target `name` once, now, and records it. `None`: no such
    /// target.
    pub async fn test_send(&self, name: &str) -> Option<TestOutcome> {
        let target = self.target(name)?;
        let mut event = Event::new(
            EventKind::Test,
            Severity::Info,
            format!("test notification from backup-master to target {name}"),
        );
        event.link = Some(format!("/api/v1/notification-targets/{name}"));
        let mut d = self.new_delivery(&target, event);
        // the senders keep within the timeout; this bounds a sender that would not
        let limit = target.timeout + Duration::from_secs(1);
        let out = match tokio::time::timeout(limit, send::send(&target, &d.event, &d.id)).await {
            Ok(out) => out,
            Err(_) => send::Outcome {
                error: Some(format!("no answer within {} s", target.timeout.as_secs())),
                latency_ms: limit.as_millis() as u64,
                ..send::Outcome::default()
            },
        };
        let now = Utc::now().trunc_subsecs(3);
        d.attempts = 1;
        d.last_attempt_at = Some(now);
        d.finished_at = Some(now);
        d.status = if out.ok {
            DeliveryStatus::Delivered
        } else {
            DeliveryStatus::Failed
        };
        d.last_status = out.status;
        d.last_reply = out.reply.clone();
        d.last_error = out.error.clone();
        d.latency_ms = Some(out.latency_ms);
        self.persist(&d).await;
        Some(TestOutcome {
            target: name.to_string(),
            ok: out.ok,
            status: out.status,
            reply: out.reply,
            latency_ms: out.latency_ms,
            error: out.error,
            delivery_id: d.id,
        })
    }

    /// A page of the delivery history, newest first.
    pub fn deliveries(
        &self,
        target: Option<&str>,
        status: Option<DeliveryStatus>,
        cursor: Option<&str>,
        limit: usize,
    ) -> DeliveryPage {
        let store = lock(&self.inner.store);
        let (items, next_cursor) = deliveries::page(&store.index, target, status, cursor, limit);
        DeliveryPage { items, next_cursor }
    }

    /// The notification lines of `/metrics`.
    pub fn metrics_text(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP backup_master_notification_deliveries_failed_total Notification deliveries given up (refused, or still failing when the retry time ran out), by target.\n");
        out.push_str("# TYPE backup_master_notification_deliveries_failed_total counter\n");
        let names: Vec<String> = self
            .inner
            .targets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|t| t.name.clone())
            .collect();
        let failed = lock(&self.inner.failed).clone();
        let mut all: BTreeMap<String, u64> = names.into_iter().map(|n| (n, 0)).collect();
        for (t, n) in failed {
            all.insert(t, n);
        }
        for (t, n) in &all {
            out.push_str(&format!(
                "backup_master_notification_deliveries_failed_total{{target=\"{t}\"}} {n}\n"
            ));
        }
        let pending = lock(&self.inner.store)
            .index
            .oldest_first()
            .filter(|d| d.status == DeliveryStatus::Pending)
            .count();
        out.push_str("# HELP backup_master_notification_deliveries_pending Notification deliveries not delivered yet and still being retried.\n");
        out.push_str("# TYPE backup_master_notification_deliveries_pending gauge\n");
        out.push_str(&format!(
            "backup_master_notification_deliveries_pending {pending}\n"
        ));
        out
    }
}

fn kind_name(t: &Target) -> &'static str {
    match t.channel {
        crate::config::Channel::Webhook { .. } => "webhook",
        crate::config::Channel::Email { .. } => "email",
        crate::config::Channel::Ping { .. } => "ping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_policy_parses_or_refuses() {
        let p = RetryPolicy::parse("100:400:2000").unwrap();
        assert_eq!(p.first, Duration::from_millis(100));
        assert_eq!(p.give_up, Duration::from_millis(2000));
        assert_eq!(RetryPolicy::parse("100:50:2000"), None);
        assert_eq!(RetryPolicy::parse("1:2"), None);
        assert_eq!(RetryPolicy::parse("a:b:c"), None);
    }
}
