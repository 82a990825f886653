//! Backup IDs: unique, `[0-9A-Za-z._-]` only, starting with the UTC start second
//! `YYYYMMDDTHHMMSSZ`, and sorting as plain strings in the order backups were started.
//!
//! Shape: the first backup of a second is the bare time, `20261126T020000Z`; further backups in
//! the same second get a fixed-width suffix, `20261126T020000Z.0001` .. `.9999`. The bare ID is
//! a prefix of its suffixed siblings, so it sorts first; IDs of different seconds differ before
//! the suffix, so the time decides.
//!
//! The last ID issued is persisted atomically in `<state_dir>/last_backup_id` before the ID is
//! used, and a new ID is never smaller than it:
//! * clock in a later second than the last ID: the bare time of now;
//! * clock in the same second **or earlier** (the clock was stepped back, e.g. by NTP): we keep
//!   the last ID's time and take its next suffix, so the ID's time may run ahead of the real
//!   start time until the clock catches up (the record's `started_at` keeps the real time);
//! * suffix exhausted (10,000 backups in one second): the bare time of the next second.

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

use super::fsutil::{self, IoError};

/// `strftime` format of the time part of an ID.
pub const ID_TIME_FORMAT: &str = "%Y%m%dT%H%M%SZ";
const TIME_LEN: usize = 16;
const SUFFIX_DIGITS: usize = 4;
#[cfg(test)]
const MAX_SEQ: u32 = 9999;
/// Length of the longest ID this module issues (`YYYYMMDDTHHMMSSZ.NNNN`): the folder names that
/// embed an ID (`<NAME>.staging-<ID>`, ...) are checked against the file system's limits with it.
pub const MAX_ID_LEN: usize = TIME_LEN + 1 + SUFFIX_DIGITS;
/// File in the state dir holding the last ID issued.
pub const LAST_ID_FILE: &str = "last_backup_id";

#[derive(Debug, thiserror::Error)]
pub enum IdError {
    #[error("malformed backup ID {0:?}")]
    Malformed(String),
    #[error(transparent)]
    Io(#[from] IoError),
}

/// The parts of an ID: its second and its sequence number within that second (0 = bare).
pub use crate::toolkit::job_id::IdParts;

/// Parses an ID this module issued. `None` for anything else.
pub fn parse(id: &str) -> Option<IdParts> {
    if !id.is_ascii() || id.len() < TIME_LEN {
        return None;
    }
    let (time_part, rest) = id.split_at(TIME_LEN);
    let naive = NaiveDateTime::parse_from_str(time_part, ID_TIME_FORMAT).ok()?;
    // chrono accepts some non-zero-padded fields; insist on the canonical spelling.
    if naive.format(ID_TIME_FORMAT).to_string() != time_part {
        return None;
    }
    let seq = if rest.is_empty() {
        0
    } else {
        let digits = rest.strip_prefix('.')?;
        if digits.len() != SUFFIX_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let seq: u32 = digits.parse().ok()?;
        if seq == 0 {
            return None;
        }
        seq
    };
    Some(IdParts {
        time: Utc.from_utc_datetime(&naive),
        seq,
    })
}

/// True for an ID of the shape this module issues (used to validate IDs from the outside).
pub fn is_valid(id: &str) -> bool {
    parse(id).is_some()
}

/// True when `s` only holds characters allowed in IDs (`[0-9A-Za-z._-]`), is not empty and is
/// not `.`/`..`: safe as a file-name part.
pub fn is_safe_chars(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

/// Formats the parts as an ID.
pub fn format(parts: IdParts) -> String {
    let time = parts.time.format(ID_TIME_FORMAT).to_string();
    if parts.seq == 0 {
        time
    } else {
        format!("{time}.{:0width$}", parts.seq, width = SUFFIX_DIGITS)
    }
}

/// The ID to issue at `now`, given the last one issued (see the module doc for the rules): the
/// job IDs' one scheme, [`crate::toolkit::job_id::next`], in the backup form.
pub fn next_after(last: Option<IdParts>, now: DateTime<Utc>) -> IdParts {
    crate::toolkit::job_id::next(crate::toolkit::job_id::BACKUP, last, now)
}

/// Issues IDs and remembers the last one on disk.
#[derive(Debug)]
pub struct IdGenerator {
    path: PathBuf,
    last: Option<IdParts>,
}

impl IdGenerator {
    /// Loads `<state_dir>/last_backup_id`. `floor` is the greatest ID known from elsewhere (the
    /// job records), used when the file is missing or unreadable, and when it is greater.
    pub fn load(state_dir: &Path, floor: Option<&str>) -> Result<Self, IdError> {
        let path = state_dir.join(LAST_ID_FILE);
        let from_file = match fsutil::read_regular(&path, 4096) {
            Ok(s) => match parse(String::from_utf8_lossy(&s).trim()) {
                Some(p) => Some(p),
                None => {
                    tracing::warn!(path = %path.display(), "ignoring malformed last backup ID");
                    None
                }
            },
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e.into()),
        };
        let floor = floor.and_then(parse);
        let last = match (from_file, floor) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        Ok(IdGenerator { path, last })
    }

    /// The next ID, persisted (atomically, fsynced) before it is returned.
    pub fn issue(&mut self, now: DateTime<Utc>) -> Result<String, IdError> {
        let next = next_after(self.last, now);
        let id = format(next);
        fsutil::write_atomic(&self.path, format!("{id}\n").as_bytes())?;
        self.last = Some(next);
        Ok(id)
    }

    pub fn last(&self) -> Option<String> {
        self.last.map(format)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn truncate_to_second(t: DateTime<Utc>) -> DateTime<Utc> {
        Utc.timestamp_opt(t.timestamp(), 0).single().unwrap()
    }
    use std::fs;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn same_second_gets_suffixes_in_order() {
        let now = t("2026-11-26T02:00:00.250Z");
        let a = next_after(None, now);
        let b = next_after(Some(a), now);
        let c = next_after(Some(b), t("2026-11-26T02:00:00.900Z"));
        assert_eq!(format(a), "20261126T020000Z");
        assert_eq!(format(b), "20261126T020000Z.0001");
        assert_eq!(format(c), "20261126T020000Z.0002");
        assert!(format(a) < format(b) && format(b) < format(c));
        let d = next_after(Some(c), t("2026-11-26T02:00:01Z"));
        assert_eq!(format(d), "20261126T020001Z");
        assert!(format(c) < format(d));
    }

    #[test]
    fn clock_back_continues_from_last() {
        let a = next_after(None, t("2026-11-26T02:00:00Z"));
        let b = next_after(Some(a), t("2026-11-26T01:00:00Z"));
        assert_eq!(format(b), "20261126T020000Z.0001");
    }

    #[test]
    fn suffix_overflow_moves_to_next_second() {
        let last = IdParts {
            time: t("2026-11-26T02:00:00Z"),
            seq: MAX_SEQ,
        };
        let n = next_after(Some(last), t("2026-11-26T02:00:00Z"));
        assert_eq!(format(n), "20261126T020001Z");
        assert!(format(last) < format(n));
    }

    #[test]
    fn parse_rejects_non_canonical() {
        for bad in [
            "",
            "2026",
            "20261126T020000",
            "20261126T020000Z.1",
            "20261126T020000Z.0000",
            "20261126T020000Z.00001",
            "20261126T020000Z-0001",
            "20261326T020000Z",
            "20261126T020000Z/..",
            "../20261126T020000Z",
        ] {
            assert!(!is_valid(bad), "{bad}");
        }
        assert!(is_valid("20261126T020000Z"));
        assert!(is_valid("20261126T020000Z.0042"));
        assert!(is_safe_chars("20261126T020000Z.0042"));
        assert!(!is_safe_chars(".."));
        assert!(!is_safe_chars("a/b"));
    }

    #[test]
    fn persisted_across_restarts_and_never_smaller() {
        let dir = tempfile::tempdir().unwrap();
        let mut g = IdGenerator::load(dir.path(), None).unwrap();
        let a = g.issue(t("2026-11-26T02:00:00Z")).unwrap();
        drop(g);
        let mut g = IdGenerator::load(dir.path(), None).unwrap();
        // Clock stepped back across the restart.
        let b = g.issue(t("2026-11-25T02:00:00Z")).unwrap();
        assert!(a < b, "{a} < {b}");
        assert_eq!(b, "20261126T020000Z.0001");
        // Lost file: the job records' greatest ID is the floor.
        fs::remove_file(dir.path().join(LAST_ID_FILE)).unwrap();
        let mut g = IdGenerator::load(dir.path(), Some(&b)).unwrap();
        let c = g.issue(t("2026-11-25T02:00:00Z")).unwrap();
        assert!(b < c);
        // Corrupt file: ignored, floor used.
        fs::write(dir.path().join(LAST_ID_FILE), "garbage").unwrap();
        let mut g = IdGenerator::load(dir.path(), Some(&c)).unwrap();
        assert!(c < g.issue(t("2026-11-25T02:00:00Z")).unwrap());
    }

    fn clock_steps() -> impl Strategy<Value = Vec<(i64, bool)>> {
        // (step in milliseconds, may be negative: the clock going back; restart before issuing)
        prop::collection::vec((-5_000i64..5_000, any::<bool>()), 1..60)
    }

    fn check_sequence(ids: &[(String, DateTime<Utc>)]) -> Result<(), TestCaseError> {
        for (i, (id, now)) in ids.iter().enumerate() {
            prop_assert!(is_valid(id));
            prop_assert!(is_safe_chars(id));
            let parts = parse(id).unwrap();
            prop_assert_eq!(&format(parts), id);
            // Never earlier than the clock's second (only later when the clock went back).
            prop_assert!(parts.time >= truncate_to_second(*now));
            if i > 0 {
                prop_assert!(ids[i - 1].0 < *id, "{} !< {}", ids[i - 1].0, id);
            }
        }
        Ok(())
    }

    proptest! {
        /// Pure rule: any clock (repeats, jumps back and forward) gives strictly increasing IDs.
        #[test]
        fn ids_strictly_increase_and_are_well_formed(steps in clock_steps(), start in 0i64..4_000_000_000) {
            let mut clock_ms = start * 1000;
            let mut last = None;
            let mut ids = Vec::new();
            for (step, _) in steps {
                clock_ms += step;
                let now = Utc.timestamp_millis_opt(clock_ms).single().unwrap();
                let next = next_after(last, now);
                last = Some(next);
                ids.push((format(next), now));
            }
            check_sequence(&ids)?;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
        /// The same through the persisted generator, with restarts at random points.
        #[test]
        fn ids_increase_across_restarts(steps in prop::collection::vec((-3_000i64..3_000, any::<bool>()), 1..25)) {
            let dir = tempfile::tempdir().unwrap();
            let mut g = IdGenerator::load(dir.path(), None).unwrap();
            let mut clock_ms = 1_800_000_000_000i64;
            let mut ids = Vec::new();
            for (step, restart) in steps {
                clock_ms += step;
                if restart {
                    g = IdGenerator::load(dir.path(), None).unwrap();
                }
                let now = Utc.timestamp_millis_opt(clock_ms).single().unwrap();
                ids.push((g.issue(now).unwrap(), now));
            }
            check_sequence(&ids)?;
        }
    }

    proptest! {
        #[test]
        fn string_order_equals_parts_order(a in 0i64..4_000_000_000, sa in 0u32..=9999, b in 0i64..4_000_000_000, sb in 0u32..=9999) {
            let pa = IdParts { time: Utc.timestamp_opt(a, 0).single().unwrap(), seq: sa };
            let pb = IdParts { time: Utc.timestamp_opt(b, 0).single().unwrap(), seq: sb };
            prop_assert_eq!(pa.cmp(&pb), format(pa).cmp(&format(pb)));
        }
    }
}
