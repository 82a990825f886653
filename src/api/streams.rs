//! Limits on the server-sent event streams: at most `max_stream_subscribers` clients follow
//! one stream (a backup's events, a hook process's output) at a time; one more is answered
//! `429` until a place is free. A place is a [`StreamSlot`], freed when dropped. It is held by
//! the task that produces the client's events (the hook output's subscriber task, or
//! [`relay`]), so it is freed as soon as nothing more will be sent, also when that client was
//! dropped as too slow and still holds its connection.
//!
//! [`relay`] gives any event stream the rule of the hook output (`crate::hooks::output`): a
//! queue bounded in bytes per client, and a client that leaves it full for the stall timeout
//! is dropped (its stream ends; it reconnects and starts from the current state).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use actix_web::web::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::sync::{mpsc, Semaphore};

use crate::error::{ApiError, ProblemKind};

/// Bytes queued for one client of a [`relay`], at most (one larger event is let through alone).
pub const RELAY_BUFFER_BYTES: usize = 64 * 1024;
/// How long a client's full queue may stay untouched before it is dropped: the hook output's.
pub const STALL: Duration = crate::hooks::output::DEFAULT_STALL;

/// Subscribers per stream, shared by all workers.
#[derive(Clone)]
pub struct StreamLimits {
    inner: Arc<Inner>,
}

struct Inner {
    max: usize,
    /// Open subscribers per stream key; a key is removed when its count drops to zero.
    open: Mutex<HashMap<String, usize>>,
}

/// One subscriber's place in a stream; dropping it frees the place.
pub struct StreamSlot {
    inner: Arc<Inner>,
    key: String,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self
            .inner
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

impl StreamLimits {
    /// At most `max` subscribers per stream (at least 1).
    pub fn new(max: usize) -> Self {
        StreamLimits {
            inner: Arc::new(Inner {
                max: max.max(1),
                open: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// A place in the stream `key` (its path, e.g. `/api/v1/hook-processes/<id>/output`), or
    /// `429` naming the stream and the limit when it has `max` subscribers already.
    pub fn join(&self, key: &str) -> Result<StreamSlot, ApiError> {
        let mut open = self
            .inner
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let n = open.entry(key.to_string()).or_insert(0);
        if *n >= self.inner.max {
            return Err(ApiError::new(
                ProblemKind::TooManySubscribers,
                format!(
                    "{key} has {} subscribers already, the most max_stream_subscribers allows; try again when one has left",
                    self.inner.max
                ),
            ));
        }
        *n += 1;
        Ok(StreamSlot {
            inner: self.inner.clone(),
            key: key.to_string(),
        })
    }

    /// Subscribers of `key` now.
    pub fn count(&self, key: &str) -> usize {
        self.inner
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .copied()
            .unwrap_or(0)
    }
}

/// Runs `source` on a task of its own that keeps `slot`, queueing its events for the client
/// up to [`RELAY_BUFFER_BYTES`]; `source` is only polled when there is room, so a slow client
/// costs no more than that. A client that leaves its queue full for `stall` is dropped: the
/// task ends (freeing `slot`) and the client's stream ends after what was queued.
pub fn relay<S>(
    source: S,
    slot: StreamSlot,
    stall: Duration,
) -> impl Stream<Item = Result<Bytes, Infallible>>
where
    S: Stream<Item = Bytes> + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel();
    let room = Arc::new(Semaphore::new(RELAY_BUFFER_BYTES));
    actix_web::rt::spawn(async move {
        let _slot = slot;
        let mut source = std::pin::pin!(source);
        loop {
            let next = tokio::select! {
                _ = tx.closed() => return,
                n = source.next() => n,
            };
            let Some(bytes) = next else { return };
            let cost = u32::try_from(bytes.len().clamp(1, RELAY_BUFFER_BYTES)).unwrap_or(1);
            let acquire = room.clone().acquire_many_owned(cost);
            let permit = tokio::select! {
                _ = tx.closed() => return,
                r = tokio::time::timeout(stall, acquire) => match r {
                    Ok(Ok(p)) => p,
                    Ok(Err(_)) => return,
                    Err(_) => {
                        tracing::info!(stall = ?stall, "event stream client too slow: dropped");
                        return;
                    }
                },
            };
            if tx.send((bytes, permit)).is_err() {
                return;
            }
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move {
        // The permit is dropped here: the event left the queue.
        let (bytes, _room) = rx.recv().await?;
        Some((Ok(bytes), rx))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_counted_per_stream_and_freed_on_drop() {
        let limits = StreamLimits::new(2);
        let a = limits.join("s1").unwrap();
        let b = limits.join("s1").unwrap();
        let e = limits.join("s1").err().unwrap();
        assert_eq!(e.kind, ProblemKind::TooManySubscribers);
        assert_eq!(e.kind.status().as_u16(), 429);
        assert!(e.detail.contains("s1") && e.detail.contains("max_stream_subscribers"));
        // Another stream has its own places.
        let _other = limits.join("s2").unwrap();
        drop(a);
        assert_eq!(limits.count("s1"), 1);
        let _c = limits.join("s1").unwrap();
        drop(b);
        assert_eq!(limits.count("s1"), 1);
        assert_eq!(StreamLimits::new(0).inner.max, 1);
    }

    /// A relay passes everything in order and frees its place at the end; a client that takes
    /// nothing is dropped after the stall timeout, with at most its buffer queued.
    #[actix_web::test]
    async fn relay_is_bounded_and_drops_a_stalled_client() {
        let limits = StreamLimits::new(1);
        let events: Vec<Bytes> = (0..10).map(|i| Bytes::from(format!("e{i}"))).collect();
        let source = futures_util::stream::iter(events.clone());
        let out: Vec<Bytes> = relay(source, limits.join("a").unwrap(), STALL)
            .map(|r| r.unwrap())
            .collect()
            .await;
        assert_eq!(out, events);
        assert_eq!(limits.count("a"), 0);

        // An endless source of 1 KiB events, and a client that takes nothing.
        let endless = futures_util::stream::repeat(Bytes::from(vec![b'x'; 1024]));
        let mut stalled = Box::pin(relay(
            endless,
            limits.join("b").unwrap(),
            Duration::from_millis(200),
        ));
        let end = std::time::Instant::now() + Duration::from_secs(10);
        while limits.count("b") != 0 {
            assert!(
                std::time::Instant::now() < end,
                "the stalled client was not dropped"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut queued = 0;
        while let Some(b) = stalled.next().await {
            queued += b.unwrap().len();
        }
        assert!(queued > 0 && queued <= RELAY_BUFFER_BYTES, "{queued}");
    }
}
