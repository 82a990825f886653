//! The scheduler's only source of time: a wall clock, or a fake one tests move by hand.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::watch;

/// What [`Clock::sleep_until`] returns.
pub type SleepFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Wall-clock time for the scheduler.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Timestamp;
    /// Completes once `now() >= deadline` (at once when it already is).
    fn sleep_until(&self, deadline: Timestamp) -> SleepFuture<'_>;
}

/// The machine's clock.
///
/// Sleeps in steps of at most [`SystemClock::MAX_STEP`], re-reading the wall clock after
/// each: tokio timers follow the monotonic clock, which does not advance while the machine is
/// suspended and ignores clock steps (NTP, an admin setting the date). Rechecking bounds how
/// late a run can be after such a jump.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl SystemClock {
    pub const MAX_STEP: Duration = Duration::from_secs(30);
}

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    fn sleep_until(&self, deadline: Timestamp) -> SleepFuture<'_> {
        Box::pin(async move {
            loop {
                let now = Timestamp::now();
                if now >= deadline {
                    return;
                }
                let left =
                    Duration::try_from(now.duration_until(deadline)).unwrap_or(Self::MAX_STEP);
                tokio::time::sleep(left.min(Self::MAX_STEP)).await;
            }
        })
    }
}

/// A clock that only moves when told to. Sleepers wake as soon as [`FakeClock::set`] or
/// [`FakeClock::advance`] reaches their deadline, so tests never wait for real minutes.
#[derive(Debug)]
pub struct FakeClock {
    now: watch::Sender<Timestamp>,
}

impl FakeClock {
    pub fn new(start: Timestamp) -> Self {
        Self {
            now: watch::Sender::new(start),
        }
    }

    /// Jumps to `at` (forward or backward).
    pub fn set(&self, at: Timestamp) {
        self.now.send_replace(at);
    }

    /// Moves forward (or, with a negative duration, backward) by `by`; saturates at the
    /// ends of jiff's range.
    pub fn advance(&self, by: SignedDuration) {
        self.now.send_modify(|now| {
            *now = now.checked_add(by).unwrap_or(if by.is_negative() {
                Timestamp::MIN
            } else {
                Timestamp::MAX
            });
        });
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Timestamp {
        *self.now.borrow()
    }

    fn sleep_until(&self, deadline: Timestamp) -> SleepFuture<'_> {
        let mut rx = self.now.subscribe();
        Box::pin(async move {
            // Errs only when the sender is gone, which `&self` rules out.
            let _ = rx.wait_for(|now| *now >= deadline).await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fake_clock_wakes_sleepers_when_moved() {
        let clock = FakeClock::new("2026-01-01T00:00:00Z".parse().unwrap());
        let deadline: Timestamp = "2026-01-01T02:00:00Z".parse().unwrap();
        // Already reached: completes at once.
        clock.sleep_until(clock.now()).await;
        let sleeper = async {
            clock.sleep_until(deadline).await;
            clock.now()
        };
        let mover = async {
            tokio::task::yield_now().await;
            clock.advance(SignedDuration::from_hours(1));
            tokio::task::yield_now().await;
            clock.advance(SignedDuration::from_hours(1));
        };
        let (woke_at, ()) = tokio::join!(sleeper, mover);
        assert_eq!(woke_at, deadline);
        clock.advance(SignedDuration::from_hours(-3));
        assert_eq!(clock.now(), "2025-12-31T23:00:00Z".parse().unwrap());
    }

    #[tokio::test]
    async fn system_clock_returns_for_past_deadlines() {
        let past = Timestamp::now()
            .checked_sub(SignedDuration::from_secs(5))
            .unwrap();
        tokio::time::timeout(Duration::from_secs(1), SystemClock.sleep_until(past))
            .await
            .unwrap();
        let soon = Timestamp::now()
            .checked_add(SignedDuration::from_millis(20))
            .unwrap();
        tokio::time::timeout(Duration::from_secs(2), SystemClock.sleep_until(soon))
            .await
            .unwrap();
        assert!(Timestamp::now() >= soon);
    }
}
