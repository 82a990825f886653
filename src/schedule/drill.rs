//! When the next restore drill is due (`[drill]` in the config): weekly on a weekday, or every
//! n days counted from the last drill's local day, at a time of day in the schedule's time
//! zone, with the same DST rules as the backups' daily time ([`super::time`]). And the task
//! that sleeps until that instant on the scheduler's [`Clock`] and asks for the drill through
//! a launcher: running it is the job system's business.
//!
//! The drill schedule keeps no watermark of its own: a drill missed while the server was down
//! is not caught up (a drill is a check, not a backup; the next instant comes soon enough). A
//! launch refused because a job runs is logged and not retried.

use std::sync::Arc;

use jiff::civil::Weekday;
use jiff::Timestamp;
use tokio::sync::watch;

use super::time::{parse_daily_time, resolve_time_zone, runs_after, DailyTime};
use super::{Clock, ScheduleError};

/// How often a drill runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DrillCadence {
    /// Every week on this day.
    Weekly(Weekday),
    /// Every this many days (at least 1), counted from the last drill's local day.
    EveryDays(u32),
}

/// The drill schedule, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DrillSpec {
    pub cadence: DrillCadence,
    pub time: DailyTime,
    /// IANA name; `None`: the machine's zone.
    pub time_zone: Option<String>,
}

impl DrillSpec {
    /// From the `[drill]` keys and the schedule's zone; `Ok(None)` when no drill is scheduled.
    /// The error names the key.
    pub fn from_config_parts(
        weekday: &str,
        time: &str,
        every_days: u32,
        time_zone: &str,
    ) -> Result<Option<DrillSpec>, String> {
        let cadence = match (weekday.is_empty(), every_days) {
            (true, 0) => return Ok(None),
            (false, 0) => DrillCadence::Weekly(
                parse_weekday(weekday)
                    .ok_or_else(|| format!("weekday: unknown day {weekday:?}"))?,
            ),
            (true, n) => DrillCadence::EveryDays(n),
            (false, _) => return Err("every_days: set either weekday or every_days".into()),
        };
        let time = parse_daily_time(time).map_err(|e| format!("time: {e}"))?;
        Ok(Some(DrillSpec {
            cadence,
            time,
            time_zone: (!time_zone.is_empty()).then(|| time_zone.to_string()),
        }))
    }
}

/// `monday` .. `sunday` or `mon` .. `sun`, any case.
pub fn parse_weekday(s: &str) -> Option<Weekday> {
    let days = [
        ("monday", Weekday::Monday),
        ("tuesday", Weekday::Tuesday),
        ("wednesday", Weekday::Wednesday),
        ("thursday", Weekday::Thursday),
        ("friday", Weekday::Friday),
        ("saturday", Weekday::Saturday),
        ("sunday", Weekday::Sunday),
    ];
    let s = s.to_ascii_lowercase();
    days.into_iter()
        .find(|(name, _)| *name == s || (s.len() == 3 && name.starts_with(&s)))
        .map(|(_, d)| d)
}

/// The first drill instant strictly after `after`; `last` is the start of the last drill (for
/// `every_days`).
pub fn next_drill_after(
    spec: &DrillSpec,
    after: Timestamp,
    last: Option<Timestamp>,
) -> Result<Option<Timestamp>, ScheduleError> {
    let tz = resolve_time_zone(spec.time_zone.as_deref())?;
    let runs = runs_after(&tz, spec.time, after, 400)?;
    let found = match spec.cadence {
        DrillCadence::Weekly(day) => runs
            .into_iter()
            .find(|(at, _)| tz.to_datetime(*at).date().weekday() == day),
        DrillCadence::EveryDays(n) => {
            let earliest = match last {
                Some(l) => Some(
                    tz.to_datetime(l)
                        .date()
                        .checked_add(jiff::Span::new().days(i64::from(n)))
                        .map_err(|e| ScheduleError::Time(e.to_string()))?,
                ),
                None => None,
            };
            runs.into_iter()
                .find(|(at, _)| earliest.is_none_or(|e| tz.to_datetime(*at).date() >= e))
        }
    };
    Ok(found.map(|(at, _)| at))
}

/// Asks for a drill scheduled for an instant; `Err(reason)` when it cannot start (a job runs).
pub type DrillLauncher = Arc<dyn Fn(Timestamp) -> Result<String, String> + Send + Sync>;
/// The start of the last drill, if any.
pub type LastDrill = Arc<dyn Fn() -> Option<Timestamp> + Send + Sync>;

/// Runs the drill schedule until `spec` is dropped: sleeps on `clock` until the next instant
/// (recomputed at once when the spec changes), then launches. A launch is attempted once per
/// instant.
pub async fn run_drill_schedule(
    clock: Arc<dyn Clock>,
    mut spec: watch::Receiver<Option<DrillSpec>>,
    last: LastDrill,
    launch: DrillLauncher,
) {
    let mut handled = clock.now();
    loop {
        let current = spec.borrow_and_update().clone();
        let next = match &current {
            Some(s) => match next_drill_after(s, handled, last()) {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(error = %e, "the drill schedule cannot be computed");
                    None
                }
            },
            None => None,
        };
        let Some(at) = next else {
            if spec.changed().await.is_err() {
                return;
            }
            handled = clock.now();
            continue;
        };
        tokio::select! {
            _ = clock.sleep_until(at) => {
                handled = at;
                match launch(at) {
                    Ok(id) => tracing::info!(drill = %id, scheduled_for = %at, "scheduled drill started"),
                    Err(why) => tracing::warn!(scheduled_for = %at, reason = %why, "scheduled drill skipped"),
                }
            }
            changed = spec.changed() => {
                if changed.is_err() {
                    return;
                }
                handled = clock.now();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn weekly_drills_fall_on_their_day_in_the_zone_and_every_days_counts_from_the_last() {
        let weekly = DrillSpec::from_config_parts("sun", "04:30", 0, "Europe/Berlin")
            .unwrap()
            .unwrap();
        // Tuesday 2026-12-01 00:00Z -> Sunday 2026-12-06 04:30 CET = 03:30Z.
        assert_eq!(
            next_drill_after(&weekly, ts("2026-12-01T00:00:00Z"), None).unwrap(),
            Some(ts("2026-12-06T03:30:00Z"))
        );
        // Across the spring change: Sunday 2026-03-29 04:30 CEST = 02:30Z.
        assert_eq!(
            next_drill_after(&weekly, ts("2026-03-24T00:00:00Z"), None).unwrap(),
            Some(ts("2026-03-29T02:30:00Z"))
        );
        let every = DrillSpec::from_config_parts("", "04:30", 3, "UTC")
            .unwrap()
            .unwrap();
        assert_eq!(
            next_drill_after(&every, ts("2026-12-01T00:00:00Z"), None).unwrap(),
            Some(ts("2026-12-01T04:30:00Z"))
        );
        assert_eq!(
            next_drill_after(
                &every,
                ts("2026-12-01T05:00:00Z"),
                Some(ts("2026-12-01T04:30:00Z"))
            )
            .unwrap(),
            Some(ts("2026-12-04T04:30:00Z"))
        );
        assert_eq!(
            DrillSpec::from_config_parts("", "04:30", 0, "").unwrap(),
            None
        );
        assert!(DrillSpec::from_config_parts("sun", "04:30", 2, "").is_err());
        assert!(DrillSpec::from_config_parts("someday", "04:30", 0, "").is_err());
        assert_eq!(parse_weekday("Friday"), Some(Weekday::Friday));
        assert_eq!(parse_weekday("fr"), None);
    }
}
