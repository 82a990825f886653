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
/// The key of the lines naming files that changed during the backup.
const CHANGED_KEY: &str = "Changed during backup";
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
    /// Files that changed while they were copied (the copy may be torn): on the `Result` line
    /// as a count, then one `Changed during backup:` line per named file.
    pub changed: ChangedFiles,
}

/// Files that kept changing while a backup copied them: the first names and the count of all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangedFiles {
    pub names: Vec<String>,
    pub count: u64,
}

impl ChangedFiles {
    /// `3 files changed during the backup`; `None` when none did.
    pub fn summary(&self) -> Option<String> {
        match self.count {
            0 => None,
            1 => Some("1 file changed during the backup".into()),
            n => Some(format!("{n} files changed during the backup")),
        }
    }
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
            "Result: success"
        } else {
            "Result: error"
        });
        match self.changed.summary() {
            Some(summary) => s.push_str(&format!(" ({summary})\n")),
            None => s.push('\n'),
        }
        for e in &self.errors {
            s.push_str(&format!("Error: {}\n", single_line(e)));
        }
        for name in &self.changed.names {
            s.push_str(&format!("{CHANGED_KEY}: {}\n", single_line(name)));
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
        let mut changed = ChangedFiles::default();
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
                    // `success` or `error`, maybe followed by ` (N files changed ...)`.
                    let (word, rest) = value.split_once(' ').unwrap_or((value, ""));
                    result = Some(match word.to_ascii_lowercase().as_str() {
                        "success" => true,
                        "error" => false,
                        other => return Err(malformed(format!("unknown result {other:?}"))),
                    });
                    changed.count = leading_count(rest.trim_start_matches('('));
                }
                "error" => errors.push(value.to_string()),
                "changed during backup" => changed.names.push(value.to_string()),
                _ => {}
            }
        }
        let backup_id = backup_id
            .filter(|s| !s.is_empty())
            .ok_or_else(|| malformed("no \"Backup ID\" line".into()))?;
        let component = component.unwrap_or_default();
        let success = result.ok_or_else(|| malformed("no \"Result\" line".into()))?;
        changed.count = changed.count.max(changed.names.len() as u64);
        Ok(Readme {
            backup_id,
            component,
            started,
            finished,
            success,
            errors,
            changed,
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

/// The number a text starts with (`3 files changed`), 0 when none.
fn leading_count(text: &str) -> u64 {
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or(0)
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
            changed: ChangedFiles::default(),
        }
    }

    #[test]
    fn changed_files_are_counted_on_the_result_line_and_named_after_it() {
        let mut r = sample(true);
        r.changed = ChangedFiles {
            names: vec!["data/a.log".into(), "data/b\nc".into()],
            count: 7,
        };
        let text = r.render();
        assert!(
            text.ends_with(
                "Result: success (7 files changed during the backup)\n\
                 Changed during backup: data/a.log\nChanged during backup: data/b c\n"
            ),
            "{text}"
        );
        let back = Readme::parse(&text, "x").unwrap();
        assert!(back.success);
        assert_eq!(back.changed.count, 7);
        assert_eq!(back.changed.names, ["data/a.log", "data/b c"]);
        r.changed.count = 1;
        r.changed.names.truncate(1);
        assert!(r
            .render()
            .contains("Result: success (1 file changed during the backup)\n"));
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
