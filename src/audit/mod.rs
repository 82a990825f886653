//! The audit log: who changed what through the API, one JSON line per request, fsynced before
//! the answer goes out, rotated by size, and read back with filters and a cursor.
//!
//! * The file is `<state_dir>/audit/audit.log`; when a line would take it past `max_bytes` it
//!   becomes `audit.log.1` (`.1` becomes `.2`, …, up to [`KEEP_ROTATED`]; the oldest is
//!   dropped, after checking it is an audit file this log wrote).
//! * Each line is an [`AuditEntry`] with a sequence number `seq` that grows by one per line
//!   across rotations and restarts (the next one is found at start-up from the last line
//!   written), so a cursor is a `seq` and stays valid while lines are added or rotated away.
//! * [`AuditLog::append`] writes and fsyncs under one lock (file order is `seq` order) and
//!   returns only when the line is durable. A line torn by a crash is closed with a newline at
//!   the next open, and readers skip it.
//! * Nothing here knows HTTP: the edge (`crate::request_audit`) says what to record.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::config::Role;
use crate::toolkit::fsutil::{self, IoContext, IoError};

mod reader;
#[cfg(test)]
mod tests;

pub use reader::{cursor_of, parse_cursor, AuditPage, AuditQuery};

/// The current file's name in the audit folder.
pub const FILE_NAME: &str = "audit.log";
/// How many rotated files (`audit.log.1` … `audit.log.5`) are kept.
pub const KEEP_ROTATED: u32 = 5;
/// The audit folder's name in the state dir.
pub const DIR_NAME: &str = "audit";
/// How much of a file's end is read at start-up to find the last `seq`.
const TAIL_BYTES: u64 = 64 * 1024;

/// One audited request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    /// Position in the log: one more than the line before, across rotations.
    #[schema(example = 42)]
    pub seq: u64,
    /// When the answer was known (UTC, always with 6 decimals, so times sort as text).
    #[schema(example = "2026-11-26T09:14:03.512034Z")]
    #[serde(with = "micros")]
    pub time: DateTime<Utc>,
    /// The token's `name` from the config, else the first 8 hex digits of its SHA-256; null
    /// when the request had no valid token. Never the token.
    #[schema(example = "ops-admin")]
    pub token: Option<String>,
    /// The token's role; null when the request had no valid token.
    pub role: Option<Role>,
    /// The HTTP method.
    #[schema(example = "POST")]
    pub method: String,
    /// The path, without the query string.
    #[schema(example = "/api/v1/backups")]
    pub path: String,
    /// The status of the answer.
    #[schema(example = 202)]
    pub status: u16,
    /// The ID of what the request created (a backup, restore, verification, hook process, an
    /// imported set): the last segment of the answer's `Location`, else the body's `id` of a
    /// 201 or 202; null when none.
    #[schema(example = "20261126T091403Z")]
    pub job_id: Option<String>,
    /// The client's IP address as the connection shows it (no forwarded-for header is trusted).
    #[schema(example = "192.0.2.10")]
    pub remote_addr: Option<String>,
}

/// An entry's `time`: RFC 3339 in UTC with exactly 6 decimals (any RFC 3339 is read).
mod micros {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Micros, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

/// What the edge knows of a request; [`AuditLog::append`] adds `seq` and `time`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEntry {
    pub token: Option<String>,
    pub role: Option<Role>,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub job_id: Option<String>,
    pub remote_addr: Option<String>,
}

/// Why the audit log could not be opened, written or read.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("encoding an audit line: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("the audit log's lock was poisoned by a panic")]
    Poisoned,
}

/// The open log, shared by every worker.
pub struct AuditLog {
    dir: PathBuf,
    max_bytes: u64,
    inner: Mutex<Writer>,
}

struct Writer {
    file: File,
    /// Bytes in the current file.
    size: u64,
    next_seq: u64,
    /// A failed write may have left part of a line that could not be cut off: the next line
    /// starts on a line of its own.
    torn: bool,
}

impl AuditLog {
    /// Opens (creating) the log in `dir` (`<state_dir>/audit`), rotating at `max_bytes`.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<AuditLog, AuditError> {
        fsutil::ensure_private_dir(dir, FILE_NAME)?;
        let path = dir.join(FILE_NAME);
        let (file, size) = open_current(&path)?;
        let mut torn = false;
        if size > 0 && last_byte(&file, &path)? != b'\n' {
            // A crash cut the last line: close it so the next one starts on its own line.
            torn = true;
        }
        let next_seq = last_seq(dir)?.map_or(1, |s| s + 1);
        Ok(AuditLog {
            dir: dir.to_path_buf(),
            max_bytes,
            inner: Mutex::new(Writer {
                file,
                size,
                next_seq,
                torn,
            }),
        })
    }

    fn lock(&self) -> Result<MutexGuard<'_, Writer>, AuditError> {
        self.inner.lock().map_err(|_| AuditError::Poisoned)
    }

    /// Appends `new` as the next line and returns once it is on disk (fsynced).
    pub fn append(&self, new: NewEntry) -> Result<AuditEntry, AuditError> {
        let mut w = self.lock()?;
        let entry = AuditEntry {
            seq: w.next_seq,
            // What the line says, so the returned entry equals what is read back.
            time: Utc::now().trunc_subsecs(6),
            token: new.token,
            role: new.role,
            method: new.method,
            path: new.path,
            status: new.status,
            job_id: new.job_id,
            remote_addr: new.remote_addr,
        };
        let mut line = serde_json::to_vec(&entry)?;
        line.push(b'\n');
        if w.torn {
            line.insert(0, b'\n');
        }
        if w.size > 0 && w.size + line.len() as u64 > self.max_bytes {
            self.rotate(&mut w);
        }
        let path = self.dir.join(FILE_NAME);
        let before = w.size;
        let written = w
            .file
            .write_all(&line)
            .and_then(|()| w.file.sync_data())
            .ctx("appending to", &path);
        if let Err(e) = written {
            // Cut off what part of the line got in; where that fails too, the next line starts
            // on its own line.
            w.torn = w.file.set_len(before).is_err() || w.torn;
            return Err(e.into());
        }
        w.size += line.len() as u64;
        w.torn = false;
        w.next_seq += 1;
        Ok(entry)
    }

    /// Moves the current file to `.1` (and each rotated one up, the oldest dropped) and starts
    /// a new one. A failure is logged and the current file kept: a line is never lost to a
    /// rotation, the file only grows past its size.
    fn rotate(&self, w: &mut Writer) {
        match self.shift_files() {
            Ok(()) => {}
            Err(e) => {
                tracing::error!(error = %e, dir = %self.dir.display(), "audit log not rotated; it grows past audit_max_bytes");
                return;
            }
        }
        let path = self.dir.join(FILE_NAME);
        match open_current(&path).and_then(|(f, size)| {
            fsutil::fsync_dir(&self.dir)?;
            Ok((f, size))
        }) {
            Ok((file, size)) => {
                w.file = file;
                w.size = size;
                w.torn = false;
            }
            // The old handle still writes to `.1`: nothing is lost, the next rotation retries.
            Err(e) => tracing::error!(error = %e, "audit log: a new file could not be opened"),
        }
    }

    fn shift_files(&self) -> Result<(), RotateError> {
        let current = self.dir.join(FILE_NAME);
        if !fsutil::exists_nofollow(&current) {
            // The file written to was moved away (a rotation whose new file could not be
            // opened): shifting again would only drop a rotated file.
            return Err(RotateError::NoCurrent(current));
        }
        let oldest = rotated_path(&self.dir, KEEP_ROTATED);
        if fsutil::exists_nofollow(&oldest) {
            // The only step that deletes: only a file this log provably wrote.
            if !is_audit_file(&oldest) {
                return Err(RotateError::NotOurs(oldest));
            }
            std::fs::remove_file(&oldest).ctx("removing", &oldest)?;
        }
        for n in (1..KEEP_ROTATED).rev() {
            let from = rotated_path(&self.dir, n);
            if fsutil::exists_nofollow(&from) {
                fsutil::rename_noreplace(&from, &rotated_path(&self.dir, n + 1))?;
            }
        }
        fsutil::rename_noreplace(&current, &rotated_path(&self.dir, 1))?;
        fsutil::fsync_dir(&self.dir)?;
        Ok(())
    }

    /// The entries `q` asks for, oldest first (see [`AuditQuery`]).
    pub fn read(&self, q: &AuditQuery) -> Result<AuditPage, AuditError> {
        // The files are opened under the writer's lock, so no rotation moves one between two
        // opens; reading them then needs no lock (an open file keeps its lines when renamed).
        let files = {
            let _w = self.lock()?;
            self.open_all()?
        };
        reader::read(files, q)
    }

    /// Every file of the log, oldest first, opened.
    fn open_all(&self) -> Result<Vec<(PathBuf, File)>, AuditError> {
        let mut out = Vec::new();
        let mut paths: Vec<PathBuf> = (1..=KEEP_ROTATED)
            .rev()
            .map(|n| rotated_path(&self.dir, n))
            .collect();
        paths.push(self.dir.join(FILE_NAME));
        for p in paths {
            match fsutil::open_regular(&p) {
                Ok(f) => out.push((p, f)),
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(out)
    }
}

#[derive(Debug, thiserror::Error)]
enum RotateError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("{} is not an audit file this log wrote; left alone", .0.display())]
    NotOurs(PathBuf),
    #[error("{} is missing", .0.display())]
    NoCurrent(PathBuf),
}

/// `audit.log.<n>` in `dir`.
pub fn rotated_path(dir: &Path, n: u32) -> PathBuf {
    dir.join(format!("{FILE_NAME}.{n}"))
}

/// Opens the current file for appending (mode 0600); with its size.
fn open_current(path: &Path) -> Result<(File, u64), IoError> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .ctx("opening", path)?;
    let size = file.metadata().ctx("reading the size of", path)?.len();
    Ok((file, size))
}

fn last_byte(file: &File, path: &Path) -> Result<u8, IoError> {
    let mut f = file;
    f.seek(SeekFrom::End(-1)).ctx("reading", path)?;
    let mut b = [0u8; 1];
    f.read_exact(&mut b).ctx("reading", path)?;
    Ok(b[0])
}

/// A regular file (not a link) whose first line is an audit entry.
fn is_audit_file(path: &Path) -> bool {
    let Ok(f) = fsutil::open_regular(path) else {
        return false;
    };
    let mut first = Vec::new();
    let _ = f.take(TAIL_BYTES).read_to_end(&mut first);
    first
        .split(|&b| b == b'\n')
        .next()
        .is_some_and(|line| serde_json::from_slice::<AuditEntry>(line).is_ok())
}

/// The greatest `seq` written: the last whole line of the current file, else of the newest
/// rotated one that has one.
fn last_seq(dir: &Path) -> Result<Option<u64>, AuditError> {
    let mut paths = vec![dir.join(FILE_NAME)];
    paths.extend((1..=KEEP_ROTATED).map(|n| rotated_path(dir, n)));
    for p in paths {
        let mut f = match fsutil::open_regular(&p) {
            Ok(f) => f,
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e.into()),
        };
        let len = f.metadata().ctx("reading the size of", &p)?.len();
        let start = len.saturating_sub(TAIL_BYTES);
        f.seek(SeekFrom::Start(start)).ctx("reading", &p)?;
        let mut tail = Vec::new();
        f.read_to_end(&mut tail).ctx("reading", &p)?;
        let seq = tail
            .split(|&b| b == b'\n')
            .rev()
            .find_map(|line| serde_json::from_slice::<AuditEntry>(line).ok())
            .map(|e| e.seq);
        if seq.is_some() {
            return Ok(seq);
        }
    }
    Ok(None)
}
