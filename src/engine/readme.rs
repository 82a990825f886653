//! `readme.txt`, the record a backup folder keeps of itself (README, *Files on disk*): writing it, and a
//! tolerant parser used by the history, backup-set discovery and recovery. The parser never
//! panics; a malformed file is an error value.
//!
//! ```text
//! Backup ID: 20261126T020000Z
//! Component: lui
//! Started: 2026-11-26T02:00:00Z
//! Finished: 2026-11-26T02:00:04Z
//! Result: error
//! Error: missing item "lui.ini" (/srv/lui/lui.ini): No such file or directory (os error 2)
//! ```

use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};

use super::fsutil::{self, IoError};
use super::single_line;

pub const README_FILE: &str = "readme.txt";
/// Larger files are refused (a readme is a few hundred bytes).
pub const MAX_README_BYTES: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ReadmeError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("malformed {path}: {reason}")]
    Malformed { path: String, reason: String },
}

/// The content of a `readme.txt`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Readme {
    pub backup_id: String,
    pub component: String,
    pub started: Option<DateTime<Utc>>,
    pub finished: Option<DateTime<Utc>>,
    /// `Result: success` (true) or `Result: error` (false).
    pub success: bool,
    pub errors: Vec<String>,
}

/// RFC 3339 with `Z`, whole seconds: the one time format of readme and report files.
pub fn fmt_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl Readme {
    /// The file's text: the five keys in the contract's order, then one `Error:` line per error.
    pub fn render(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!("Backup ID: {}\n", single_line(&self.backup_id)));
        s.push_str(&format!("Component: {}\n", single_line(&self.component)));
        if let Some(t) = self.started {
            s.push_str(&format!("Started: {}\n", fmt_time(t)));
        }
        if let Some(t) = self.finished {
            s.push_str(&format!("Finished: {}\n", fmt_time(t)));
        }
        s.push_str(if self.success {
            "Result: success\n"
        } else {
            "Result: error\n"
        });
        for e in &self.errors {
            s.push_str(&format!("Error: {}\n", single_line(e)));
        }
        s
    }

    /// Parses a readme's text. `origin` names the file in error messages.
    pub fn parse(text: &str, origin: &str) -> Result<Readme, ReadmeError> {
        let malformed = |reason: String| ReadmeError::Malformed {
            path: origin.to_string(),
            reason,
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut backup_id = None;
        let mut component = None;
        let mut started = None;
        let mut finished = None;
        let mut result = None;
        let mut errors = Vec::new();
        for line in text.lines() {
            let line = line.trim_end_matches('\r');
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match key.trim().to_ascii_lowercase().as_str() {
                "backup id" => backup_id = Some(value.to_string()),
                "component" => component = Some(value.to_string()),
                "started" => started = Some(parse_time(value).map_err(&malformed)?),
                "finished" => finished = Some(parse_time(value).map_err(&malformed)?),
                "result" => {
                    result = Some(match value.to_ascii_lowercase().as_str() {
                        "success" => true,
                        "error" => false,
                        other => return Err(malformed(format!("unknown result {other:?}"))),
                    })
                }
                "error" => errors.push(value.to_string()),
                _ => {}
            }
        }
        let backup_id = backup_id
            .filter(|s| !s.is_empty())
            .ok_or_else(|| malformed("no \"Backup ID\" line".into()))?;
        let component = component.unwrap_or_default();
        let success = result.ok_or_else(|| malformed("no \"Result\" line".into()))?;
        Ok(Readme {
            backup_id,
            component,
            started,
            finished,
            success,
            errors,
        })
    }

    /// Reads and parses `folder/readme.txt`. A readme that is not a regular file (a link, a
    /// FIFO, a device) or is over 1 MiB is an error naming it ([`fsutil::read_regular`]).
    pub fn read_from(folder: &Path) -> Result<Readme, ReadmeError> {
        let path = folder.join(README_FILE);
        let bytes = fsutil::read_regular(&path, MAX_README_BYTES)?;
        let text = String::from_utf8_lossy(&bytes);
        Readme::parse(&text, &path.display().to_string())
    }

    /// True when the error is "the file does not exist".
    pub fn is_not_found(err: &ReadmeError) -> bool {
        matches!(err, ReadmeError::Io(e) if e.is_not_found())
    }
}

fn parse_time(value: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("bad time {value:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample(success: bool) -> Readme {
        Readme {
            backup_id: "20261126T020000Z".into(),
            component: "lui".into(),
            started: Some(parse_time("2026-11-26T02:00:00Z").unwrap()),
            finished: Some(parse_time("2026-11-26T02:00:04Z").unwrap()),
            success,
            errors: if success {
                vec![]
            } else {
                vec!["one\nline".into(), "two".into()]
            },
        }
    }

    #[test]
    fn renders_exact_format() {
        assert_eq!(
            sample(true).render(),
            "Backup ID: 20261126T020000Z\nComponent: lui\nStarted: 2026-11-26T02:00:00Z\n\
             Finished: 2026-11-26T02:00:04Z\nResult: success\n"
        );
        let failed = sample(false).render();
        assert!(failed.ends_with("Result: error\nError: one line\nError: two\n"));
    }

    #[test]
    fn round_trip_and_tolerance() {
        let r = sample(true);
        assert_eq!(Readme::parse(&r.render(), "x").unwrap(), r);
        let crlf = "\u{feff}backup id:  X \r\nResult: Success\r\nExtra: 1\r\njunk line\r\n";
        let p = Readme::parse(crlf, "x").unwrap();
        assert_eq!(p.backup_id, "X");
        assert!(p.success);
        assert!(Readme::parse("Result: success\n", "x").is_err());
        assert!(Readme::parse("Backup ID: X\n", "x").is_err());
        assert!(Readme::parse("Backup ID: X\nResult: maybe\n", "x").is_err());
        assert!(Readme::parse("Backup ID: X\nStarted: yesterday\nResult: error\n", "x").is_err());
    }

    #[test]
    fn read_from_missing_folder_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let e = Readme::read_from(&dir.path().join("nope")).unwrap_err();
        assert!(Readme::is_not_found(&e));
    }

    proptest! {
        #[test]
        fn parser_never_panics(s in ".{0,400}") {
            let _ = Readme::parse(&s, "x");
        }
    }
}
