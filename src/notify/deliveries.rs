//! The delivery records: one per (event, target), saved through the one record store
//! (`<state_dir>/notifications/deliveries/<ID>.json`) at each attempt, so the history and the
//! deliveries still owed survive a restart; the newest [`MAX_KEPT`] are kept.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::toolkit::events::Event;
use crate::toolkit::fsutil::IoError;
use crate::toolkit::job_id::{IdIssuer, DELIVERY};
use crate::toolkit::record_dir::{Record, RecordDir, RecordIndex};

/// Deliveries kept (the oldest finished ones go first).
pub const MAX_KEPT: usize = 1000;

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not sent yet, or waiting for its next attempt.
    Pending,
    /// The target accepted it.
    Delivered,
    /// Given up: refused (HTTP 4xx, a permanent SMTP reply), or still failing when the retry
    /// time ran out.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }
}

/// One event sent (or being sent) to one target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    #[schema(example = "N20261126T020004.120Z-00000001")]
    pub id: String,
    /// The target's name.
    #[schema(example = "ops-webhook")]
    pub target: String,
    /// `webhook`, `email` or `ping`.
    #[schema(example = "webhook")]
    pub kind: String,
    pub status: DeliveryStatus,
    /// Attempts made so far.
    #[schema(example = 1)]
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When the next attempt is due (pending deliveries after a failed attempt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// The HTTP status of the last attempt (webhook, ping).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 200)]
    pub last_status: Option<u16>,
    /// The SMTP server's last reply (email).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "250 OK")]
    pub last_reply: Option<String>,
    /// Why the last attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// How long the last attempt took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// The event sent.
    pub event: Event,
}

impl Record for Delivery {
    type Status = DeliveryStatus;
    fn id(&self) -> &str {
        &self.id
    }
    fn status(&self) -> DeliveryStatus {
        self.status
    }
}

/// The records on disk and in memory.
pub(super) struct Store {
    dir: RecordDir,
    pub(super) index: RecordIndex<Delivery>,
    pub(super) ids: IdIssuer,
}

impl Store {
    /// Opens (creating) the folder and loads what it holds; unreadable files are logged.
    pub(super) fn open(state_dir: &Path) -> Result<Store, IoError> {
        let dir = RecordDir::create(state_dir.join("notifications").join("deliveries"))?;
        let loaded = dir.load::<Delivery>()?;
        for u in &loaded.unreadable {
            tracing::warn!(path = %u.path.display(), error = %u.error, "unreadable delivery record left alone");
        }
        let ids = IdIssuer::new(DELIVERY, loaded.index.last_id());
        Ok(Store {
            dir,
            index: loaded.index,
            ids,
        })
    }

    pub(super) fn dir(&self) -> &RecordDir {
        &self.dir
    }

    /// Drops the oldest finished records over [`MAX_KEPT`]; returns their IDs (to remove
    /// from disk).
    pub(super) fn prune(&mut self) -> Vec<String> {
        let total = self.index.oldest_first().count();
        if total <= MAX_KEPT {
            return Vec::new();
        }
        let old: Vec<String> = self
            .index
            .oldest_first()
            .filter(|d| d.status != DeliveryStatus::Pending)
            .take(total - MAX_KEPT)
            .map(|d| d.id.clone())
            .collect();
        for id in &old {
            self.index.remove(id);
        }
        old
    }
}

/// A page of deliveries, newest first: only `target`'s and those in `status` when given,
/// older than `cursor`, at most `limit`; and the next page's cursor.
pub(super) fn page(
    index: &RecordIndex<Delivery>,
    target: Option<&str>,
    status: Option<DeliveryStatus>,
    cursor: Option<&str>,
    limit: usize,
) -> (Vec<Delivery>, Option<String>) {
    let mut items: Vec<Delivery> = index
        .newest_first()
        .filter(|d| cursor.is_none_or(|c| d.id.as_str() < c))
        .filter(|d| target.is_none_or(|t| d.target == t))
        .filter(|d| status.is_none_or(|s| d.status == s))
        .take(limit + 1)
        .cloned()
        .collect();
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|d| d.id.clone())
    } else {
        None
    };
    (items, next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toolkit::events::{EventKind, Severity};

    fn delivery(id: String, status: DeliveryStatus, target: &str) -> Delivery {
        Delivery {
            id,
            target: target.into(),
            kind: "webhook".into(),
            status,
            attempts: 1,
            created_at: chrono::Utc::now(),
            last_attempt_at: None,
            next_attempt_at: None,
            finished_at: None,
            last_status: None,
            last_reply: None,
            last_error: None,
            latency_ms: None,
            event: Event::new(EventKind::BackupFailed, Severity::Error, "x"),
        }
    }

    #[test]
    fn the_history_is_bounded_keeping_pending_ones_and_pages_by_target_and_status() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let t0 = chrono::Utc::now();
        let ids: Vec<String> = (0..MAX_KEPT + 5).map(|_| store.ids.issue(t0)).collect();
        for (i, id) in ids.iter().enumerate() {
            let status = if i == 0 {
                DeliveryStatus::Pending
            } else {
                DeliveryStatus::Delivered
            };
            let target = if i % 2 == 0 { "a" } else { "b" };
            store.index.insert(delivery(id.clone(), status, target));
        }
        let dropped = store.prune();
        assert_eq!(dropped, ids[1..6].to_vec(), "the oldest finished ones go");
        assert!(store.index.contains(&ids[0]), "a pending one stays");
        assert_eq!(store.index.oldest_first().count(), MAX_KEPT);
        let (page1, next) = page(&store.index, Some("b"), None, None, 2);
        assert!(page1.iter().all(|d| d.target == "b"));
        assert_eq!(page1[0].id, ids[MAX_KEPT + 3], "newest first");
        let (page2, _) = page(&store.index, Some("b"), None, next.as_deref(), 2);
        assert!(page2[0].id < page1[1].id);
        let (pending, next) = page(&store.index, None, Some(DeliveryStatus::Pending), None, 10);
        assert_eq!((pending.len(), next), (1, None));
    }
}
