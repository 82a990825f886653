//! The change index of a slot, `.backup-master-index` ([`INDEX_FILE_NAME`]), written and read
//! as a stream. It tells the next backup which files are unchanged since this one (so they are
//! linked, not copied) and their checksums.
//!
//! Format: a header line `# backup-master index v1`, then per regular file, sorted by path
//! (byte order), `<sha256 hex> <size> <mtime s> <mtime ns> <ctime s> <ctime ns> <inode> <dev>
//! <path>`, where size, times, inode and device are the **source** file's at copy time and the
//! path is escaped like in `SHA256SUMS`. Verification ignores it, `readme.txt` and
//! `SHA256SUMS`. A reader walks it side by side with a walk of the home in the same order
//! ([`IndexCursor`]); a line out of order or malformed is skipped (that file is copied again).

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::fsutil::{self, IoContext, IoError};
use super::sums::{escape_path, unescape_path};
use super::walk::Stat;

/// Hidden index of a slot (see the module doc).
pub const INDEX_FILE_NAME: &str = ".backup-master-index";
const INDEX_HEADER: &str = "# backup-master index v1";
const BUFFER: usize = 256 << 10;
/// Longest index line read (a path is at most 4 KiB on Linux).
const MAX_LINE: u64 = 64 << 10;

/// One indexed file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    pub sha256: [u8; 32],
    pub size: u64,
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
    pub ino: u64,
    pub dev: u64,
}

impl IndexEntry {
    pub fn of_source(st: &Stat, sha256: [u8; 32]) -> IndexEntry {
        IndexEntry {
            sha256,
            size: st.size,
            mtime: st.mtime,
            ctime: st.ctime,
            ino: st.ino,
            dev: st.dev,
        }
    }

    pub fn same_source(&self, st: &Stat) -> bool {
        self.size == st.size
            && self.mtime == st.mtime
            && self.ctime == st.ctime
            && self.ino == st.ino
            && self.dev == st.dev
    }

    /// Fixed-size binary form (for sort runs).
    pub const ENCODED_LEN: usize = 32 + 8 * 7;

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.sha256);
        for n in [
            self.size as i64,
            self.mtime.0,
            self.mtime.1,
            self.ctime.0,
            self.ctime.1,
            self.ino as i64,
            self.dev as i64,
        ] {
            out.extend_from_slice(&n.to_le_bytes());
        }
    }

    pub fn decode(b: &[u8]) -> Option<IndexEntry> {
        if b.len() != Self::ENCODED_LEN {
            return None;
        }
        let mut sha256 = [0u8; 32];
        sha256.copy_from_slice(&b[..32]);
        let n = |k: usize| {
            let mut x = [0u8; 8];
            x.copy_from_slice(&b[32 + 8 * k..40 + 8 * k]);
            i64::from_le_bytes(x)
        };
        Some(IndexEntry {
            sha256,
            size: n(0) as u64,
            mtime: (n(1), n(2)),
            ctime: (n(3), n(4)),
            ino: n(5) as u64,
            dev: n(6) as u64,
        })
    }
}

/// One index line (with its newline).
fn index_line(out: &mut Vec<u8>, path: &[u8], e: &IndexEntry) {
    let head = format!(
        "{} {} {} {} {} {} {} {} ",
        hex::encode(e.sha256),
        e.size,
        e.mtime.0,
        e.mtime.1,
        e.ctime.0,
        e.ctime.1,
        e.ino,
        e.dev
    );
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(&escape_path(path).0);
    out.push(b'\n');
}

/// Parses one line (without its newline).
fn parse_line(line: &[u8]) -> Option<(Vec<u8>, IndexEntry)> {
    let mut parts = line.splitn(9, |&b| b == b' ');
    let mut sha = [0u8; 32];
    hex::decode_to_slice(parts.next()?, &mut sha).ok()?;
    let mut num = || -> Option<i128> { std::str::from_utf8(parts.next()?).ok()?.parse().ok() };
    let size = u64::try_from(num()?).ok()?;
    let mtime = (i64::try_from(num()?).ok()?, i64::try_from(num()?).ok()?);
    let ctime = (i64::try_from(num()?).ok()?, i64::try_from(num()?).ok()?);
    let ino = u64::try_from(num()?).ok()?;
    let dev = u64::try_from(num()?).ok()?;
    let path = unescape_path(parts.next()?)?;
    Some((
        path,
        IndexEntry {
            sha256: sha,
            size,
            mtime,
            ctime,
            ino,
            dev,
        },
    ))
}

/// Writes an index line by line, in path order.
pub struct IndexWriter {
    out: BufWriter<File>,
    line: Vec<u8>,
    path: PathBuf,
}

impl IndexWriter {
    /// Creates the file (it must not exist) and writes the header.
    pub fn create(path: &Path) -> Result<IndexWriter, IoError> {
        let mut out = BufWriter::with_capacity(BUFFER, super::sums::create_new(path)?);
        out.write_all(INDEX_HEADER.as_bytes())
            .and_then(|()| out.write_all(b"\n"))
            .ctx("writing", path)?;
        Ok(IndexWriter {
            out,
            line: Vec::new(),
            path: path.to_path_buf(),
        })
    }

    pub fn add(&mut self, path: &[u8], e: &IndexEntry) -> Result<(), IoError> {
        self.line.clear();
        index_line(&mut self.line, path, e);
        self.out.write_all(&self.line).ctx("writing", &self.path)
    }

    pub fn finish(self) -> Result<(), IoError> {
        let path = self.path;
        self.out
            .into_inner()
            .map_err(|e| e.into_error())
            .ctx("writing", &path)
            .map(drop)
    }
}

/// Reads a previous slot's index alongside a walk in path order: [`IndexCursor::find`] is
/// asked for ascending paths and reads ahead only as far as needed.
pub struct IndexCursor {
    input: Option<BufReader<File>>,
    /// The next line not yet asked for.
    ahead: Option<(Vec<u8>, IndexEntry)>,
    line: Vec<u8>,
}

impl IndexCursor {
    /// An index that finds nothing (every file is copied).
    pub fn empty() -> IndexCursor {
        IndexCursor {
            input: None,
            ahead: None,
            line: Vec::new(),
        }
    }

    /// The index of the slot `previous`; empty when it is missing or unusable (not a regular
    /// file: see [`fsutil::open_regular`]; another header), and then every file is copied.
    pub fn open(previous: &Path) -> IndexCursor {
        let path = previous.join(INDEX_FILE_NAME);
        let f = match fsutil::open_regular(&path) {
            Ok(f) => f,
            Err(e) => {
                if !e.is_not_found() {
                    tracing::warn!(error = %e, "previous index unusable; copying every file");
                }
                return IndexCursor::empty();
            }
        };
        let mut c = IndexCursor {
            input: Some(BufReader::with_capacity(BUFFER, f)),
            ahead: None,
            line: Vec::new(),
        };
        if c.read_line() != Some(true) || c.line.as_slice() != INDEX_HEADER.as_bytes() {
            return IndexCursor::empty();
        }
        c.advance();
        c
    }

    /// True when there is nothing (more) to find.
    pub fn is_empty(&self) -> bool {
        self.ahead.is_none()
    }

    /// Reads one line into `self.line` (without its newline). `None` at the end or on an
    /// error (the rest of the index is then ignored); `Some(false)` for an overlong line.
    fn read_line(&mut self) -> Option<bool> {
        let input = self.input.as_mut()?;
        self.line.clear();
        match input.take(MAX_LINE).read_until(b'\n', &mut self.line) {
            Ok(0) | Err(_) => {
                self.input = None;
                None
            }
            Ok(_) => {
                if self.line.last() == Some(&b'\n') {
                    self.line.pop();
                    Some(true)
                } else {
                    // Overlong (or the last line without its newline): skip it.
                    Some(false)
                }
            }
        }
    }

    /// Moves to the next well-formed line that sorts after the current one.
    fn advance(&mut self) {
        let last = self.ahead.take().map(|a| a.0);
        while let Some(whole) = self.read_line() {
            if !whole {
                continue;
            }
            if let Some((p, e)) = parse_line(&self.line) {
                if last.as_ref().is_none_or(|l| *l < p) {
                    self.ahead = Some((p, e));
                    return;
                }
            }
        }
    }

    /// The entry of `path`, when the index has it. Paths must be asked in ascending order.
    pub fn find(&mut self, path: &[u8]) -> Option<IndexEntry> {
        loop {
            let (p, e) = self.ahead.as_ref()?;
            match p.as_slice().cmp(path) {
                std::cmp::Ordering::Less => self.advance(),
                std::cmp::Ordering::Equal => {
                    let found = *e;
                    self.advance();
                    return Some(found);
                }
                std::cmp::Ordering::Greater => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u8) -> IndexEntry {
        IndexEntry {
            sha256: [n; 32],
            size: u64::from(n),
            mtime: (-3, 4),
            ctime: (5, 6),
            ino: 7,
            dev: 8,
        }
    }

    #[test]
    fn written_index_is_found_in_path_order_and_bad_lines_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = IndexWriter::create(&dir.path().join(INDEX_FILE_NAME)).unwrap();
        for (i, p) in [&b"a"[..], b"dir/new\nline", b"dir/x", b"z"]
            .iter()
            .enumerate()
        {
            w.add(p, &entry(i as u8)).unwrap();
        }
        w.finish().unwrap();
        // A line out of order and a malformed one appended: both ignored.
        let path = dir.path().join(INDEX_FILE_NAME);
        let mut text = std::fs::read(&path).unwrap();
        let mut extra = Vec::new();
        index_line(&mut extra, b"b", &entry(9));
        text.extend_from_slice(&extra);
        text.extend_from_slice(b"garbage\n");
        std::fs::write(&path, text).unwrap();
        let mut c = IndexCursor::open(dir.path());
        assert_eq!(c.find(b"0"), None);
        assert_eq!(c.find(b"a"), Some(entry(0)));
        assert_eq!(c.find(b"b"), None);
        assert_eq!(c.find(b"dir/new\nline"), Some(entry(1)));
        assert_eq!(c.find(b"z"), Some(entry(3)));
        assert!(c.is_empty());
        let mut enc = Vec::new();
        entry(5).encode(&mut enc);
        assert_eq!(IndexEntry::decode(&enc), Some(entry(5)));
    }

    #[test]
    fn another_header_or_no_file_finds_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert!(IndexCursor::open(dir.path()).is_empty());
        std::fs::write(dir.path().join(INDEX_FILE_NAME), "garbage\n").unwrap();
        assert!(IndexCursor::open(dir.path()).is_empty());
    }
}
