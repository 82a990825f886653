//! Reading the audit log back: the lines of every file oldest first, filtered by time and
//! token, a page at a time with a cursor (the `seq` of the last line given).

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{AuditEntry, AuditError};
use crate::toolkit::fsutil::IoContext;

/// Which entries to read. Entries come oldest first.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    /// Only entries at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only entries before this instant.
    pub until: Option<DateTime<Utc>>,
    /// Only entries of the token with this name.
    pub token: Option<String>,
    /// The page size (at least 1).
    pub limit: usize,
    /// Only entries after this one (a cursor, see [`parse_cursor`]).
    pub after: Option<u64>,
}

/// A page of entries.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// The entries, oldest first.
    pub items: Vec<AuditEntry>,
    /// Pass as `cursor` (with the same filters) for the next page; absent when no entry
    /// matched after this page's last one when it was read.
    pub next_cursor: Option<String>,
}

/// The cursor that continues after the entry `seq`.
pub fn cursor_of(seq: u64) -> String {
    seq.to_string()
}

/// The `seq` a cursor continues after; None when it is not one.
pub fn parse_cursor(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl AuditQuery {
    fn matches(&self, e: &AuditEntry) -> bool {
        self.after.is_none_or(|a| e.seq > a)
            && self.since.is_none_or(|s| e.time >= s)
            && self.until.is_none_or(|u| e.time < u)
            && self
                .token
                .as_deref()
                .is_none_or(|t| e.token.as_deref() == Some(t))
    }
}

/// The page `q` asks for from `files` (oldest first). Lines that are not entries (one torn by
/// a crash) and lines whose `seq` is not above the last one read are skipped.
pub(super) fn read(files: Vec<(PathBuf, File)>, q: &AuditQuery) -> Result<AuditPage, AuditError> {
    let limit = q.limit.max(1);
    let mut items = Vec::new();
    let mut last_seq: Option<u64> = None;
    for (path, file) in files {
        for line in BufReader::new(file).split(b'\n') {
            let line = line.ctx("reading", &path)?;
            let Ok(entry) = serde_json::from_slice::<AuditEntry>(&line) else {
                continue;
            };
            if last_seq.is_some_and(|s| entry.seq <= s) {
                continue;
            }
            last_seq = Some(entry.seq);
            if !q.matches(&entry) {
                continue;
            }
            if items.len() == limit {
                let next_cursor = items.last().map(|e: &AuditEntry| cursor_of(e.seq));
                return Ok(AuditPage { items, next_cursor });
            }
            items.push(entry);
        }
    }
    Ok(AuditPage {
        items,
        next_cursor: None,
    })
}
