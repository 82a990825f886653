//! The one ID scheme of every job kind: [`next`] issues IDs that are time-based (the UTC
//! start, to the second or the millisecond), monotonic (never smaller than the last one
//! issued, also when the clock steps back: the last time is kept and its sequence goes on)
//! and sort as plain strings in issue order. Each kind keeps the form clients know
//! ([`IdForm`]): backups `20261126T020000Z` then `.0001`.. in the same second, restores the same
//! with an `R` in front, verifications `20261126T020000Z-0001`, hook processes
//! `20261126T020000.123Z-0000002a`.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

/// How a kind writes its IDs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdForm {
    /// Before the time (`R` for restores).
    pub prefix: &'static str,
    /// Whole seconds (`YYYYMMDDTHHMMSSZ`) or milliseconds (`YYYYMMDDTHHMMSS.mmmZ`).
    pub millis: bool,
    /// How the sequence within one tick is written.
    pub seq: SeqForm,
}

/// The sequence part of an ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeqForm {
    /// None for the first of a tick, then `.0001` .. `.9999` (backups, restores).
    DotAfterFirst,
    /// Always, `-0001` .. `-9999` (verifications).
    Dash4,
    /// Always, 8 hex digits, `-00000001` .. (hook processes).
    DashHex8,
}

/// Backup IDs.
pub const BACKUP: IdForm = IdForm {
    prefix: "",
    millis: false,
    seq: SeqForm::DotAfterFirst,
};
/// Restore IDs.
pub const RESTORE: IdForm = IdForm {
    prefix: "R",
    millis: false,
    seq: SeqForm::DotAfterFirst,
};
/// Verification IDs.
pub const VERIFICATION: IdForm = IdForm {
    prefix: "",
    millis: false,
    seq: SeqForm::Dash4,
};
/// Hook process IDs.
pub const HOOK_PROCESS: IdForm = IdForm {
    prefix: "",
    millis: true,
    seq: SeqForm::DashHex8,
};

/// Notification delivery IDs.
pub const DELIVERY: IdForm = IdForm {
    prefix: "N",
    millis: true,
    seq: SeqForm::DashHex8,
};

/// An ID's time (truncated to its form's tick) and its sequence within that tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct IdParts {
    pub time: DateTime<Utc>,
    pub seq: u32,
}

impl IdForm {
    fn time_format(self) -> &'static str {
        if self.millis {
            "%Y%m%dT%H%M%S%.3fZ"
        } else {
            "%Y%m%dT%H%M%SZ"
        }
    }

    fn first_seq(self) -> u32 {
        match self.seq {
            SeqForm::DotAfterFirst => 0,
            SeqForm::Dash4 | SeqForm::DashHex8 => 1,
        }
    }

    fn max_seq(self) -> u32 {
        match self.seq {
            SeqForm::DotAfterFirst | SeqForm::Dash4 => 9999,
            SeqForm::DashHex8 => u32::MAX,
        }
    }

    fn tick(self) -> chrono::Duration {
        if self.millis {
            chrono::Duration::milliseconds(1)
        } else {
            chrono::Duration::seconds(1)
        }
    }

    fn truncate(self, t: DateTime<Utc>) -> DateTime<Utc> {
        let ms = if self.millis {
            t.timestamp_millis()
        } else {
            t.timestamp() * 1000
        };
        Utc.timestamp_millis_opt(ms).single().unwrap_or(t)
    }

    /// Writes `parts` in this form.
    pub fn format(self, parts: IdParts) -> String {
        let time = parts.time.format(self.time_format());
        let p = self.prefix;
        match self.seq {
            SeqForm::DotAfterFirst if parts.seq == 0 => format!("{p}{time}"),
            SeqForm::DotAfterFirst => format!("{p}{time}.{:04}", parts.seq),
            SeqForm::Dash4 => format!("{p}{time}-{:04}", parts.seq),
            SeqForm::DashHex8 => format!("{p}{time}-{:08x}", parts.seq),
        }
    }

    /// Reads an ID written in this form (the canonical spelling only); `None` for anything
    /// else.
    pub fn parse(self, id: &str) -> Option<IdParts> {
        let rest = id.strip_prefix(self.prefix)?;
        if !rest.is_ascii() {
            return None;
        }
        let time_len = if self.millis { 20 } else { 16 };
        if rest.len() < time_len {
            return None;
        }
        let (time_part, seq_part) = rest.split_at(time_len);
        let naive = NaiveDateTime::parse_from_str(time_part, self.time_format()).ok()?;
        let time = Utc.from_utc_datetime(&naive);
        // chrono accepts some non-zero-padded fields; insist on the canonical spelling.
        if time.format(self.time_format()).to_string() != time_part {
            return None;
        }
        let digits = |s: &str, n: usize, hex: bool| {
            (s.len() == n
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (hex && matches!(b, b'a'..=b'f'))))
            .then(|| u32::from_str_radix(s, if hex { 16 } else { 10 }).ok())
            .flatten()
        };
        let seq = match self.seq {
            SeqForm::DotAfterFirst if seq_part.is_empty() => 0,
            SeqForm::DotAfterFirst => digits(seq_part.strip_prefix('.')?, 4, false)?,
            SeqForm::Dash4 => digits(seq_part.strip_prefix('-')?, 4, false)?,
            SeqForm::DashHex8 => digits(seq_part.strip_prefix('-')?, 8, true)?,
        };
        (seq >= self.first_seq() && seq <= self.max_seq()).then_some(IdParts { time, seq })
    }
}

/// The ID to issue at `now` after `last` (the greatest issued or found on disk): the first of
/// now's tick when that is later than `last`'s; else (the same tick, or the clock went back)
/// `last`'s time with the next sequence; when that is exhausted, the first of the next tick.
pub fn next(form: IdForm, last: Option<IdParts>, now: DateTime<Utc>) -> IdParts {
    let now = form.truncate(now);
    let first = form.first_seq();
    match last {
        Some(last) if now <= last.time && last.seq < form.max_seq() => IdParts {
            time: last.time,
            seq: last.seq + 1,
        },
        Some(last) if now <= last.time => IdParts {
            time: last.time + form.tick(),
            seq: first,
        },
        _ => IdParts {
            time: now,
            seq: first,
        },
    }
}

/// Issues the IDs of one kind, in memory (a kind whose records hold every ID it issued passes
/// the greatest as the floor).
#[derive(Clone, Debug)]
pub struct IdIssuer {
    form: IdForm,
    last: Option<IdParts>,
}

impl IdIssuer {
    /// An issuer of `form` whose IDs come after `floor` (ignored when not of this form).
    pub fn new(form: IdForm, floor: Option<&str>) -> IdIssuer {
        IdIssuer {
            form,
            last: floor.and_then(|f| form.parse(f)),
        }
    }

    /// Raises the floor to `id` (an ID found later) when it is greater.
    pub fn raise(&mut self, id: &str) {
        if let Some(p) = self.form.parse(id) {
            self.last = self.last.max(Some(p));
        }
    }

    /// The next ID at `now`.
    pub fn issue(&mut self, now: DateTime<Utc>) -> String {
        let parts = next(self.form, self.last, now);
        self.last = Some(parts);
        self.form.format(parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn every_form_is_monotonic_and_round_trips() {
        let cases: [(IdForm, [&str; 4]); 4] = [
            (
                BACKUP,
                [
                    "20261126T101500Z",
                    "20261126T101500Z.0001",
                    "20261126T101500Z.0002",
                    "20261126T101501Z",
                ],
            ),
            (
                RESTORE,
                [
                    "R20261126T101500Z",
                    "R20261126T101500Z.0001",
                    "R20261126T101500Z.0002",
                    "R20261126T101501Z",
                ],
            ),
            (
                VERIFICATION,
                [
                    "20261126T101500Z-0001",
                    "20261126T101500Z-0002",
                    "20261126T101500Z-0003",
                    "20261126T101501Z-0001",
                ],
            ),
            (
                HOOK_PROCESS,
                [
                    "20261126T101500.100Z-00000001",
                    "20261126T101500.100Z-00000002",
                    "20261126T101500.100Z-00000003",
                    "20261126T101501.000Z-00000001",
                ],
            ),
        ];
        for (form, want) in cases {
            let mut ids = IdIssuer::new(form, None);
            let got = [
                ids.issue(t("2026-11-26T10:15:00.1Z")),
                ids.issue(t("2026-11-26T10:15:00.1Z")),
                // The clock stepped back: never goes back.
                ids.issue(t("2026-11-26T10:14:00Z")),
                ids.issue(t("2026-11-26T10:15:01Z")),
            ];
            assert_eq!(got, want, "{form:?}");
            assert!(got.windows(2).all(|w| w[0] < w[1]), "{got:?}");
            for id in &got {
                assert_eq!(
                    form.parse(id).map(|p| form.format(p)).as_deref(),
                    Some(id.as_str())
                );
            }
            // A floor from the records: the next one comes after it.
            let mut after = IdIssuer::new(form, Some(&got[3]));
            assert!(after.issue(t("2026-11-26T10:15:01Z")) > got[3]);
        }
        assert_eq!(BACKUP.parse("R20261126T101500Z"), None);
        assert_eq!(RESTORE.parse("20261126T101500Z"), None);
        assert_eq!(VERIFICATION.parse("20261126T101500Z-0000"), None);
        assert_eq!(HOOK_PROCESS.parse("20261126T101500.100Z-0000000G"), None);
    }

    #[test]
    fn an_exhausted_sequence_moves_to_the_next_tick() {
        let last = IdParts {
            time: t("2026-11-26T10:15:00Z"),
            seq: 9999,
        };
        let n = next(VERIFICATION, Some(last), t("2026-11-26T10:15:00Z"));
        assert_eq!(VERIFICATION.format(n), "20261126T101501Z-0001");
        let n = next(BACKUP, Some(last), t("2026-11-26T10:15:00Z"));
        assert_eq!(BACKUP.format(n), "20261126T101501Z");
    }
}
