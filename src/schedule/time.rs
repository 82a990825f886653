//! The daily time, the time zone and the run-instant computation: pure functions, no I/O, no clock.
//!
//! One rule turns "`daily_time` in `time_zone` on local date D" into an instant
//! (`instant_on`); everything else (next runs, the latest run at or before a moment) walks
//! local dates and applies that rule, so the scheduler, the catch-up check and
//! `GET /settings` can never disagree about when a run is.

use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{ScheduleError, ScheduleSpec};

/// A wall-clock time of day, `hh:mm`, 00:00..=23:59. Valid by construction.
///
/// Serialized as the string `"hh:mm"`, exactly as in the config file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DailyTime {
    hour: u8,
    minute: u8,
}

impl DailyTime {
    /// `hour` 0..=23, `minute` 0..=59.
    pub fn new(hour: u8, minute: u8) -> Result<Self, String> {
        if hour > 23 {
            return Err(format!("hour {hour:02} is out of range 00..=23"));
        }
        if minute > 59 {
            return Err(format!("minute {minute:02} is out of range 00..=59"));
        }
        Ok(Self { hour, minute })
    }

    pub fn hour(self) -> u8 {
        self.hour
    }

    pub fn minute(self) -> u8 {
        self.minute
    }

    fn civil(self) -> Result<Time, ScheduleError> {
        // Both values are in range by construction; jiff still returns a Result.
        Ok(Time::new(
            i8::try_from(self.hour).map_err(|e| ScheduleError::Time(e.to_string()))?,
            i8::try_from(self.minute).map_err(|e| ScheduleError::Time(e.to_string()))?,
            0,
            0,
        )?)
    }
}

impl Default for DailyTime {
    /// 02:00, the example in the config contract.
    fn default() -> Self {
        Self { hour: 2, minute: 0 }
    }
}

impl fmt::Display for DailyTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

impl FromStr for DailyTime {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_daily_time(s)
    }
}

impl Serialize for DailyTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DailyTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        parse_daily_time(&s).map_err(serde::de::Error::custom)
    }
}

/// Parses exactly `hh:mm`: two ASCII digits, a colon, two ASCII digits, 00:00..=23:59.
/// Refused: `24:00`, `7:5`, `07:5`, `7:05`, ` 07:05`, `07:05:00`, `07h05`.
///
/// ```
/// use backup_master::schedule::parse_daily_time;
/// let t = parse_daily_time("02:30").unwrap();
/// assert_eq!((t.hour(), t.minute()), (2, 30));
/// assert!(parse_daily_time("24:00").is_err());
/// assert!(parse_daily_time("7:5").is_err());
/// ```
pub fn parse_daily_time(s: &str) -> Result<DailyTime, String> {
    let digit = |b: u8| b.is_ascii_digit().then(|| b - b'0');
    let parsed = match s.as_bytes() {
        [h1, h2, b':', m1, m2] => digit(*h1)
            .zip(digit(*h2))
            .zip(digit(*m1).zip(digit(*m2)))
            .map(|((h1, h2), (m1, m2))| (h1 * 10 + h2, m1 * 10 + m2)),
        _ => None,
    };
    let Some((hour, minute)) = parsed else {
        return Err(format!(
            "expected hh:mm with two digits each, 00:00..23:59 (e.g. \"02:00\"), got {s:?}"
        ));
    };
    DailyTime::new(hour, minute)
}

/// Checks a `time_zone` value. `""` is accepted and means the machine's local zone (the
/// same as leaving `time_zone` out). Anything else must be a zone name in jiff's time zone
/// database (the system tzdb, `/usr/share/zoneinfo`); jiff matches names ASCII
/// case-insensitively, and [`NextRun::time_zone`] reports the canonical spelling.
pub fn validate_time_zone(s: &str) -> Result<(), String> {
    resolve_time_zone(Some(s))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The zone a spec's `time_zone` names: `None` or `""` is the machine's local zone (UTC, with
/// a warning, when that cannot be determined).
pub fn resolve_time_zone(name: Option<&str>) -> Result<TimeZone, ScheduleError> {
    let name = match name {
        None | Some("") => {
            return Ok(TimeZone::try_system().unwrap_or_else(|e| {
                tracing::warn!(error = %e, "machine local time zone unknown; the schedule uses UTC");
                TimeZone::UTC
            }));
        }
        Some(name) => name,
    };
    let unknown = |reason: &str| ScheduleError::UnknownTimeZone {
        name: name.to_owned(),
        reason: reason.to_owned(),
    };
    // IANA names are short ASCII paths like "America/Argentina/Buenos_Aires" or "Etc/GMT+5".
    // Refuse anything else up front, with a clearer message than a failed lookup.
    let plain = name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'+'))
        && !name.starts_with('/')
        && !name.ends_with('/')
        && !name.contains("//");
    if !plain {
        return Err(unknown(
            "not an IANA time zone name (like \"Europe/Berlin\"); use \"\" for the machine's zone",
        ));
    }
    jiff::tz::db()
        .get(name)
        .map_err(|_| unknown("not in the time zone database"))
}

/// The name shown next to local times: the IANA name, or `"local"` for a machine zone
/// without one (e.g. a POSIX `TZ` string).
pub(crate) fn zone_label(tz: &TimeZone) -> String {
    tz.iana_name().unwrap_or("local").to_owned()
}

/// How DST changed the daily time on one day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DstAdjustment {
    /// The daily time does not exist that day (spring forward); the run is at the first
    /// instant after the gap.
    SkippedTimeMovedForward,
    /// The daily time occurs twice that day (fall back); the run is at the first occurrence.
    RepeatedTimeFirstOccurrence,
}

/// One upcoming run, as `GET /api/v1/settings` shows it in `next_runs`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NextRun {
    /// The run instant in UTC, RFC 3339 with `Z`.
    #[schema(format = DateTime, example = "2026-03-29T01:00:00Z")]
    pub utc: String,
    /// The same instant in the schedule's zone: RFC 3339 with that zone's UTC offset at that
    /// instant (no `[Zone]` suffix, so every RFC 3339 parser reads it; the zone is in
    /// `time_zone`).
    #[schema(format = DateTime, example = "2026-03-29T03:00:00+02:00")]
    pub local: String,
    /// IANA name of the schedule's zone, or `local` for an unnamed machine zone.
    #[schema(example = "Europe/Berlin")]
    pub time_zone: String,
    /// Present when a DST change moved or disambiguated the daily time on this day.
    pub dst_adjustment: Option<DstAdjustment>,
}

/// The run instant for local date `date`:
/// - the daily time exists once: that instant;
/// - it falls in a gap (spring forward): the first instant after the gap, i.e. the
///   transition itself (Berlin 2026-03-29 02:30 → 03:00 CEST = 01:00Z);
/// - it occurs twice (fall back): the first occurrence, i.e. with the offset in force before
///   the transition (Berlin 2026-10-25 02:30 → 02:30 CEST = 00:30Z).
///
/// jiff's `Disambiguation::Compatible` (the RFC 5545 / Temporal rule) agrees for folds but
/// not for gaps: it moves a skipped time forward by the gap's length (02:30 → 03:30 CEST), so
/// the gap case is resolved here from the zone's transition. A test pins the difference.
pub(crate) fn instant_on(
    tz: &TimeZone,
    date: Date,
    time: DailyTime,
) -> Result<(Timestamp, Option<DstAdjustment>), ScheduleError> {
    let dt = date.to_datetime(time.civil()?);
    match tz.to_ambiguous_timestamp(dt).offset() {
        AmbiguousOffset::Unambiguous { offset } => Ok((offset.to_timestamp(dt)?, None)),
        AmbiguousOffset::Fold { before, .. } => Ok((
            before.to_timestamp(dt)?,
            Some(DstAdjustment::RepeatedTimeFirstOccurrence),
        )),
        AmbiguousOffset::Gap { before, after } => {
            // The clock jumps from `before` to `after` at the transition T, so a civil time in
            // the gap read with `after` lies before T and read with `before` lies at or after T.
            // T is therefore the first transition strictly after the former.
            let lower = after.to_timestamp(dt)?;
            let upper = before.to_timestamp(dt)?;
            let transition = tz
                .following(lower)
                .next()
                .map(|t| t.timestamp())
                .filter(|t| *t <= upper);
            let at = match transition {
                Some(t) => t,
                None => {
                    // Not reachable with consistent tzdata; fall back to the compatible rule
                    // (still after the gap, only later) rather than fail the schedule.
                    tracing::warn!(%dt, "no transition found for a DST gap; using the offset before it");
                    upper
                }
            };
            Ok((at, Some(DstAdjustment::SkippedTimeMovedForward)))
        }
    }
}

/// Up to `n` run instants strictly after `after`, increasing, at most one per local date.
pub(crate) fn runs_after(
    tz: &TimeZone,
    time: DailyTime,
    after: Timestamp,
    n: usize,
) -> Result<Vec<(Timestamp, Option<DstAdjustment>)>, ScheduleError> {
    let mut out = Vec::with_capacity(n);
    if n == 0 {
        return Ok(out);
    }
    // Start one local day early: a gap around midnight can push the previous date's run past
    // `after`. Each date yields at most one instant; an instant not later than the previous
    // one (a date the zone skipped entirely, like Pacific/Apia 2011-12-30, resolves to the
    // same instant as the next date) is dropped, so a run can never happen twice.
    let mut date = tz.to_datetime(after).date().yesterday()?;
    let mut last = after;
    for _ in 0..n.saturating_mul(2).saturating_add(4) {
        let (at, adjustment) = instant_on(tz, date, time)?;
        if at > last {
            out.push((at, adjustment));
            last = at;
            if out.len() == n {
                break;
            }
        }
        date = date.tomorrow()?;
    }
    Ok(out)
}

/// The latest run instant at or before `at`.
pub(crate) fn latest_run_at_or_before(
    tz: &TimeZone,
    time: DailyTime,
    at: Timestamp,
) -> Result<Option<Timestamp>, ScheduleError> {
    let mut date = tz.to_datetime(at).date().tomorrow()?;
    for _ in 0..6 {
        let (run, _) = instant_on(tz, date, time)?;
        if run <= at {
            return Ok(Some(run));
        }
        date = date.yesterday()?;
    }
    Ok(None)
}

/// The next `n` runs of `spec` strictly after `after`, each in UTC and in the zone.
/// Empty when the schedule is disabled.
pub fn next_runs(
    spec: &ScheduleSpec,
    after: Timestamp,
    n: usize,
) -> Result<Vec<NextRun>, ScheduleError> {
    if !spec.enabled {
        return Ok(Vec::new());
    }
    let tz = resolve_time_zone(spec.time_zone.as_deref())?;
    let label = zone_label(&tz);
    Ok(runs_after(&tz, spec.daily_time, after, n)?
        .into_iter()
        .map(|(at, dst_adjustment)| NextRun {
            utc: at.to_string(),
            local: at.display_with_offset(tz.to_offset(at)).to_string(),
            time_zone: label.clone(),
            dst_adjustment,
        })
        .collect())
}

/// The next `n` run instants of `spec` strictly after `after` (ignores `enabled`).
pub fn next_run_instants(
    spec: &ScheduleSpec,
    after: Timestamp,
    n: usize,
) -> Result<Vec<Timestamp>, ScheduleError> {
    let tz = resolve_time_zone(spec.time_zone.as_deref())?;
    Ok(runs_after(&tz, spec.daily_time, after, n)?
        .into_iter()
        .map(|(at, _)| at)
        .collect())
}

/// The latest run instant of `spec` at or before `at` (ignores `enabled`).
pub fn previous_run(
    spec: &ScheduleSpec,
    at: Timestamp,
) -> Result<Option<Timestamp>, ScheduleError> {
    let tz = resolve_time_zone(spec.time_zone.as_deref())?;
    latest_run_at_or_before(&tz, spec.daily_time, at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use jiff::tz::Disambiguation;
    use jiff::ToSpan;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn spec(zone: &str, time: &str) -> ScheduleSpec {
        ScheduleSpec {
            enabled: true,
            daily_time: parse_daily_time(time).unwrap(),
            time_zone: Some(zone.to_owned()),
            catch_up: true,
        }
    }

    /// The run on local date `d`: the first run after the last second of the previous day.
    fn run_on(zone: &str, time: &str, d: Date) -> NextRun {
        let tz = resolve_time_zone(Some(zone)).unwrap();
        let midnight = d.to_zoned(tz).unwrap().timestamp();
        let after = midnight.checked_sub(1.second()).unwrap();
        let runs = next_runs(&spec(zone, time), after, 1).unwrap();
        assert_eq!(runs.len(), 1);
        runs.into_iter().next().unwrap()
    }

    #[test]
    fn parse_daily_time_accepts_only_hh_mm() {
        for (s, h, m) in [
            ("00:00", 0, 0),
            ("02:00", 2, 0),
            ("07:05", 7, 5),
            ("23:59", 23, 59),
        ] {
            let t = parse_daily_time(s).unwrap();
            assert_eq!((t.hour(), t.minute()), (h, m), "{s}");
            assert_eq!(t.to_string(), s);
        }
        for s in [
            "24:00",
            "23:60",
            "7:5",
            "07:5",
            "7:05",
            " 07:05",
            "07:05 ",
            "07:05:00",
            "07h05",
            "",
            "0705",
            "-1:00",
            "+1:00",
            "٠٧:٠٥",
            "99:99",
            "ab:cd",
        ] {
            let err = parse_daily_time(s).unwrap_err();
            assert!(!err.is_empty(), "{s:?} must be refused");
        }
        assert!(parse_daily_time("24:00").unwrap_err().contains("hour 24"));
    }

    #[test]
    fn daily_time_serde_is_the_config_string() {
        let t: DailyTime = serde_json::from_str("\"06:45\"").unwrap();
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"06:45\"");
        assert!(serde_json::from_str::<DailyTime>("\"6:45\"").is_err());
    }

    #[test]
    fn time_zone_validation() {
        for ok in [
            "Europe/Berlin",
            "America/New_York",
            "UTC",
            "Etc/GMT+5",
            "",
            "europe/berlin",
        ] {
            assert!(validate_time_zone(ok).is_ok(), "{ok:?}");
        }
        for bad in [
            "Mars/Olympus_Mons",
            " Europe/Berlin",
            "Europe/Berlin ",
            "../etc/passwd",
            "/usr/share/zoneinfo/Europe/Berlin",
            "Europe//Berlin",
            "EST5EDT,M3.2.0,M11.1.0",
            "+02:00",
        ] {
            assert!(validate_time_zone(bad).is_err(), "{bad:?}");
        }
        // Lookups are case-insensitive; the canonical name is what users see.
        let runs = next_runs(
            &spec("europe/berlin", "02:00"),
            ts("2026-06-01T00:00:00Z"),
            1,
        );
        assert_eq!(runs.unwrap()[0].time_zone, "Europe/Berlin");
    }

    /// zone, daily time, local date, expected UTC instant, expected local time.
    const DST_CASES: &str = "
        # Berlin, spring forward 2026-03-29: 02:00 CET -> 03:00 CEST at 01:00Z.
        Europe/Berlin    01:30 2026-03-29 2026-03-29T00:30:00Z 2026-03-29T01:30:00+01:00
        Europe/Berlin    02:00 2026-03-29 2026-03-29T01:00:00Z 2026-03-29T03:00:00+02:00
        Europe/Berlin    02:30 2026-03-29 2026-03-29T01:00:00Z 2026-03-29T03:00:00+02:00
        Europe/Berlin    03:00 2026-03-29 2026-03-29T01:00:00Z 2026-03-29T03:00:00+02:00
        Europe/Berlin    00:00 2026-03-29 2026-03-28T23:00:00Z 2026-03-29T00:00:00+01:00
        Europe/Berlin    23:59 2026-03-29 2026-03-29T21:59:00Z 2026-03-29T23:59:00+02:00
        # Berlin, fall back 2026-10-25: 03:00 CEST -> 02:00 CET at 01:00Z.
        Europe/Berlin    01:30 2026-10-25 2026-10-24T23:30:00Z 2026-10-25T01:30:00+02:00
        Europe/Berlin    02:00 2026-10-25 2026-10-25T00:00:00Z 2026-10-25T02:00:00+02:00
        Europe/Berlin    02:30 2026-10-25 2026-10-25T00:30:00Z 2026-10-25T02:30:00+02:00
        Europe/Berlin    03:00 2026-10-25 2026-10-25T02:00:00Z 2026-10-25T03:00:00+01:00
        Europe/Berlin    00:00 2026-10-25 2026-10-24T22:00:00Z 2026-10-25T00:00:00+02:00
        Europe/Berlin    23:59 2026-10-25 2026-10-25T22:59:00Z 2026-10-25T23:59:00+01:00
        # New York, spring forward 2026-03-08: 02:00 EST -> 03:00 EDT at 07:00Z.
        America/New_York 01:30 2026-03-08 2026-03-08T06:30:00Z 2026-03-08T01:30:00-05:00
        America/New_York 02:00 2026-03-08 2026-03-08T07:00:00Z 2026-03-08T03:00:00-04:00
        America/New_York 02:30 2026-03-08 2026-03-08T07:00:00Z 2026-03-08T03:00:00-04:00
        America/New_York 03:00 2026-03-08 2026-03-08T07:00:00Z 2026-03-08T03:00:00-04:00
        America/New_York 00:00 2026-03-08 2026-03-08T05:00:00Z 2026-03-08T00:00:00-05:00
        America/New_York 23:59 2026-03-08 2026-03-09T03:59:00Z 2026-03-08T23:59:00-04:00
        # New York, fall back 2026-11-01: 02:00 EDT -> 01:00 EST at 06:00Z.
        America/New_York 01:30 2026-11-01 2026-11-01T05:30:00Z 2026-11-01T01:30:00-04:00
        America/New_York 02:00 2026-11-01 2026-11-01T07:00:00Z 2026-11-01T02:00:00-05:00
        America/New_York 02:30 2026-11-01 2026-11-01T07:30:00Z 2026-11-01T02:30:00-05:00
        America/New_York 03:00 2026-11-01 2026-11-01T08:00:00Z 2026-11-01T03:00:00-05:00
        America/New_York 00:00 2026-11-01 2026-11-01T04:00:00Z 2026-11-01T00:00:00-04:00
        America/New_York 23:59 2026-11-01 2026-11-02T04:59:00Z 2026-11-01T23:59:00-05:00
        # Year boundary.
        Europe/Berlin    00:00 2027-01-01 2026-12-31T23:00:00Z 2027-01-01T00:00:00+01:00
        Europe/Berlin    23:59 2026-12-31 2026-12-31T22:59:00Z 2026-12-31T23:59:00+01:00
        America/New_York 00:00 2027-01-01 2027-01-01T05:00:00Z 2027-01-01T00:00:00-05:00
        America/New_York 23:59 2026-12-31 2027-01-01T04:59:00Z 2026-12-31T23:59:00-05:00
    ";

    #[test]
    fn dst_change_days_and_year_boundary() {
        let mut checked = 0;
        for line in DST_CASES.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let [zone, time, day, utc, local] = line.split_whitespace().collect::<Vec<_>>()[..]
            else {
                panic!("bad case line {line:?}");
            };
            let run = run_on(zone, time, day.parse().unwrap());
            assert_eq!(
                (run.utc.as_str(), run.local.as_str()),
                (utc, local),
                "{zone} {time} on {day}"
            );
            assert_eq!(run.time_zone, zone);
            checked += 1;
        }
        assert_eq!(checked, 28);
    }

    #[test]
    fn dst_adjustment_is_reported() {
        let gap = run_on("Europe/Berlin", "02:30", date(2026, 3, 29));
        assert_eq!(
            gap.dst_adjustment,
            Some(DstAdjustment::SkippedTimeMovedForward)
        );
        let fold = run_on("Europe/Berlin", "02:30", date(2026, 10, 25));
        assert_eq!(
            fold.dst_adjustment,
            Some(DstAdjustment::RepeatedTimeFirstOccurrence)
        );
        let plain = run_on("Europe/Berlin", "03:00", date(2026, 3, 29));
        assert_eq!(plain.dst_adjustment, None);
        let json = serde_json::to_value(&gap).unwrap();
        assert_eq!(json["dst_adjustment"], "skipped_time_moved_forward");
    }

    /// Why the gap is resolved by hand: jiff's compatible rule would run 30 minutes late.
    #[test]
    fn compatible_disambiguation_differs_in_the_gap_only() {
        let tz = resolve_time_zone(Some("Europe/Berlin")).unwrap();
        let gap = date(2026, 3, 29).at(2, 30, 0, 0);
        let compatible = tz
            .to_ambiguous_zoned(gap)
            .disambiguate(Disambiguation::Compatible);
        assert_eq!(compatible.unwrap().timestamp(), ts("2026-03-29T01:30:00Z"));
        let ours = instant_on(&tz, date(2026, 3, 29), parse_daily_time("02:30").unwrap());
        assert_eq!(ours.unwrap().0, ts("2026-03-29T01:00:00Z"));
        let fold = date(2026, 10, 25).at(2, 30, 0, 0);
        let compatible = tz
            .to_ambiguous_zoned(fold)
            .disambiguate(Disambiguation::Compatible);
        assert_eq!(compatible.unwrap().timestamp(), ts("2026-10-25T00:30:00Z"));
    }

    #[test]
    fn next_runs_across_the_spring_gap() {
        let runs = next_runs(
            &spec("Europe/Berlin", "02:30"),
            ts("2026-03-26T12:00:00Z"),
            5,
        )
        .unwrap();
        let utc: Vec<&str> = runs.iter().map(|r| r.utc.as_str()).collect();
        assert_eq!(
            utc,
            [
                "2026-03-27T01:30:00Z",
                "2026-03-28T01:30:00Z",
                "2026-03-29T01:00:00Z",
                "2026-03-30T00:30:00Z",
                "2026-03-31T00:30:00Z",
            ]
        );
    }

    #[test]
    fn next_runs_across_the_fall_fold_runs_once() {
        let runs = next_runs(
            &spec("Europe/Berlin", "02:30"),
            ts("2026-10-23T12:00:00Z"),
            5,
        )
        .unwrap();
        let utc: Vec<&str> = runs.iter().map(|r| r.utc.as_str()).collect();
        assert_eq!(
            utc,
            [
                "2026-10-24T00:30:00Z",
                "2026-10-25T00:30:00Z",
                "2026-10-26T01:30:00Z",
                "2026-10-27T01:30:00Z",
                "2026-10-28T01:30:00Z",
            ]
        );
        // Right after the first 02:30, the second 02:30 (01:30Z) is not a run.
        let after_first = next_runs(
            &spec("Europe/Berlin", "02:30"),
            ts("2026-10-25T00:30:00Z"),
            1,
        );
        assert_eq!(after_first.unwrap()[0].utc, "2026-10-26T01:30:00Z");
    }

    #[test]
    fn next_runs_is_strictly_after() {
        let s = spec("Europe/Berlin", "02:00");
        let at = ts("2026-06-10T00:00:00Z"); // exactly 02:00 CEST
        assert_eq!(next_runs(&s, at, 1).unwrap()[0].utc, "2026-06-11T00:00:00Z");
        let just_before = at.checked_sub(1.nanosecond()).unwrap();
        assert_eq!(
            next_runs(&s, just_before, 1).unwrap()[0].utc,
            "2026-06-10T00:00:00Z"
        );
        assert!(next_runs(&s, at, 0).unwrap().is_empty());
    }

    #[test]
    fn disabled_has_no_next_runs() {
        let mut s = spec("Europe/Berlin", "02:00");
        s.enabled = false;
        assert!(next_runs(&s, ts("2026-06-10T00:00:00Z"), 5)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn year_boundary_sequence() {
        let runs = next_runs(
            &spec("America/New_York", "23:59"),
            ts("2026-12-30T12:00:00Z"),
            3,
        )
        .unwrap();
        let local: Vec<&str> = runs.iter().map(|r| r.local.as_str()).collect();
        assert_eq!(
            local,
            [
                "2026-12-30T23:59:00-05:00",
                "2026-12-31T23:59:00-05:00",
                "2027-01-01T23:59:00-05:00"
            ]
        );
    }

    /// Over whole years, in zones with ordinary, 30-minute and midnight DST changes: runs are
    /// strictly increasing, exactly one per local date, at the daily time or (gap) the
    /// first instant after it; and `previous_run` agrees with `next_runs`.
    #[test]
    fn one_run_per_local_day_for_a_whole_year() {
        let zones = [
            "Europe/Berlin",
            "America/New_York",
            "Australia/Lord_Howe", // 30-minute DST
            "America/Santiago",    // changes at midnight
            "America/Havana",      // changes at 00:00 / 01:00
            "UTC",
        ];
        let times = [
            "00:00", "00:30", "01:30", "02:00", "02:15", "02:30", "03:00", "12:00", "23:59",
        ];
        for zone in zones {
            let tz = resolve_time_zone(Some(zone)).unwrap();
            for time in times {
                let s = spec(zone, time);
                let start = ts("2025-12-31T00:00:00Z");
                let runs = next_run_instants(&s, start, 370).unwrap();
                assert_eq!(runs.len(), 370);
                let daily = parse_daily_time(time).unwrap();
                let mut prev: Option<Timestamp> = None;
                for run in &runs {
                    let local = tz.to_datetime(*run);
                    if let Some(p) = prev {
                        assert!(*run > p, "{zone} {time}: not increasing at {run}");
                        let pd = tz.to_datetime(p).date();
                        assert_eq!(
                            pd.tomorrow().unwrap(),
                            local.date(),
                            "{zone} {time}: day skipped or doubled at {run}"
                        );
                        // previous_run of any moment between two runs is the earlier one.
                        let mid = p.checked_add(jiff::SignedDuration::from_secs(1)).unwrap();
                        assert_eq!(previous_run(&s, mid).unwrap(), Some(p));
                        let just_before = run.checked_sub(1.nanosecond()).unwrap();
                        assert_eq!(previous_run(&s, just_before).unwrap(), Some(p));
                    }
                    assert_eq!(previous_run(&s, *run).unwrap(), Some(*run));
                    let wanted = daily.civil().unwrap();
                    if local.time() != wanted {
                        // Only a gap may move it, and only forward, to a transition.
                        assert!(local.time() > wanted, "{zone} {time}: moved back at {run}");
                        let before = run.checked_sub(1.nanosecond()).unwrap();
                        assert_ne!(
                            tz.to_offset(before),
                            tz.to_offset(*run),
                            "{zone} {time}: {run} is not a transition"
                        );
                    }
                    prev = Some(*run);
                }
            }
        }
    }

    #[test]
    fn a_skipped_calendar_day_does_not_double_a_run() {
        // Samoa skipped 2011-12-30 entirely (UTC-10 -> UTC+14 at 2011-12-30T10:00Z).
        let runs = next_run_instants(
            &spec("Pacific/Apia", "00:00"),
            ts("2011-12-27T12:00:00Z"),
            4,
        )
        .unwrap();
        for pair in runs.windows(2) {
            assert!(pair[0] < pair[1]);
        }
        assert!(runs.contains(&ts("2011-12-30T10:00:00Z")));
    }

    #[test]
    fn machine_local_zone_when_unset_or_empty() {
        let mut s = spec("", "02:00");
        let with_empty = next_runs(&s, ts("2026-06-10T00:00:00Z"), 2).unwrap();
        s.time_zone = None;
        let with_none = next_runs(&s, ts("2026-06-10T00:00:00Z"), 2).unwrap();
        assert_eq!(with_empty, with_none);
        assert_eq!(with_none.len(), 2);
    }
}
