//! The persistence toolkit every layer shares: files written atomically and durably
//! ([`fsutil`]), the one ID scheme of jobs ([`job_id`]), the one record store of job records
//! ([`record_dir`]) and the error of a job
//! journal's update ([`journal`]), one retry with backoff
//! ([`Backoff`]), one bridge from blocking to async code ([`bridge`]), one short command
//! run to its end with a timeout in its own process group ([`command`]) and the sink of plain
//! events every layer emits ([`events`]). It uses no other module of the crate.

pub mod age_keys;
pub mod bridge;
pub mod command;
pub mod events;
pub mod fsutil;
pub mod job_id;
pub mod journal;
pub mod record_dir;

use std::time::Duration;

/// Delays between attempts of something retried until it succeeds: `first`, doubling up to
/// `max`.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    first: Duration,
    delay: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Backoff {
        Backoff {
            first,
            delay: first,
            max,
        }
    }

    /// Starts again from the first delay (the thing retried succeeded, or was woken).
    pub fn reset(&mut self) {
        self.delay = self.first;
    }

    /// The delay to wait now; the next one is doubled (up to the cap).
    pub fn next_delay(&mut self) -> Duration {
        let d = self.delay;
        self.delay = (self.delay * 2).min(self.max);
        d
    }

    /// Waits the next delay on this (blocking) thread.
    pub fn sleep_blocking(&mut self) {
        std::thread::sleep(self.next_delay());
    }

    /// Waits the next delay on the runtime.
    pub async fn sleep(&mut self) {
        tokio::time::sleep(self.next_delay()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap() {
        let mut b = Backoff::new(Duration::from_millis(500), Duration::from_secs(15));
        let d: Vec<u64> = (0..8).map(|_| b.next_delay().as_millis() as u64).collect();
        assert_eq!(d, [500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_millis(500));
        assert_eq!(b.next_delay(), Duration::from_millis(1000));
    }
}
