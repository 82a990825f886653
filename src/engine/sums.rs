//! The `SHA256SUMS` format, written and read as a stream: a folder of millions of files never
//! has its list of checksums in memory.
//!
//! Each regular file is a line `<64 hex>  <path relative to the folder>`, sorted by path (byte
//! order). A path holding a backslash, newline or carriage return is escaped the way GNU
//! coreutils (9.x) writes it: the line starts with `\` and those characters become `\\`, `\n`,
//! `\r`. Such names are therefore kept, not refused; `sha256sum -c` reads them back. Reading
//! also accepts coreutils' binary marker (` *`) and a file that is not sorted (one made by
//! hand): that one is sorted on disk first ([`SumsSource`]).

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};

use super::fsutil::{self, IoContext, IoError};
use super::runs::{RunSorter, DEFAULT_BUFFER_BYTES};

/// Checksums of a slot, `sha256sum -c` format.
pub const SUMS_FILE_NAME: &str = "SHA256SUMS";
const READ_BUFFER: usize = 256 << 10;
/// Longest line read; a longer one is malformed (a path is at most 4 KiB on Linux).
const MAX_LINE: u64 = 64 << 10;

/// Escapes a path the way coreutils' `sha256sum` does. Returns the escaped bytes and whether
/// anything was escaped (then the line must start with `\`).
pub fn escape_path(path: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::with_capacity(path.len());
    let mut escaped = false;
    for &b in path {
        match b {
            b'\\' => {
                out.extend_from_slice(b"\\\\");
                escaped = true;
            }
            b'\n' => {
                out.extend_from_slice(b"\\n");
                escaped = true;
            }
            b'\r' => {
                out.extend_from_slice(b"\\r");
                escaped = true;
            }
            _ => out.push(b),
        }
    }
    (out, escaped)
}

/// Reverses [`escape_path`]; `None` for an invalid escape.
pub fn unescape_path(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut it = s.iter();
    while let Some(&b) = it.next() {
        if b == b'\\' {
            match it.next()? {
                b'\\' => out.push(b'\\'),
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                _ => return None,
            }
        } else {
            out.push(b);
        }
    }
    Some(out)
}

/// One `SHA256SUMS` line for a file.
pub fn sums_line(out: &mut Vec<u8>, path: &[u8], sha: &[u8; 32]) {
    let (p, escaped) = escape_path(path);
    if escaped {
        out.push(b'\\');
    }
    out.extend_from_slice(hex::encode(sha).as_bytes());
    out.extend_from_slice(b"  ");
    out.extend_from_slice(&p);
    out.push(b'\n');
}

/// The `SHA256SUMS` text for a few files (sorted by path here); for tests and small lists.
pub fn render_sums(sums: &[(Vec<u8>, [u8; 32])]) -> Vec<u8> {
    let mut sorted: Vec<&(Vec<u8>, [u8; 32])> = sums.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Vec::new();
    for (path, sha) in sorted {
        sums_line(&mut out, path, sha);
    }
    out
}

/// Parses one line (without its newline); `None` when it is malformed.
pub fn parse_line(line: &[u8]) -> Option<(Vec<u8>, [u8; 32])> {
    let (line, escaped) = match line.strip_prefix(b"\\") {
        Some(rest) => (rest, true),
        None => (line, false),
    };
    let hex_part = line.get(..64)?;
    let sep = line.get(64..66)?;
    if sep != b"  " && sep != b" *" {
        return None;
    }
    let mut sha = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut sha).ok()?;
    let path = &line[66..];
    let path = if escaped {
        unescape_path(path)?
    } else {
        path.to_vec()
    };
    Some((path, sha))
}

/// A listed path made relative and plain: `./a//b` -> `a/b`; `None` for absolute paths, `..`
/// and empty paths (a crafted list must not reach outside its folder).
pub fn plain_relative(p: &[u8]) -> Option<Vec<u8>> {
    if p.starts_with(b"/") {
        return None;
    }
    let mut out = Vec::with_capacity(p.len());
    for part in p.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => return None,
            _ => {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(part);
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// A line of a `SHA256SUMS` as read.
#[derive(Debug, PartialEq, Eq)]
pub enum SumsLine {
    /// A file: its path made plain ([`plain_relative`]) and its digest.
    Entry(Vec<u8>, [u8; 32]),
    /// A malformed line: its number (from 1).
    Malformed(usize),
    /// A line whose path is absolute or holds `..`: the path as written.
    NotPlain(Vec<u8>),
}

/// The lines of a `SHA256SUMS`, one at a time (empty lines skipped).
pub struct SumsReader<R> {
    input: R,
    line: Vec<u8>,
    number: usize,
    path: PathBuf,
}

impl<R: BufRead> SumsReader<R> {
    pub fn new(input: R, path: &Path) -> SumsReader<R> {
        SumsReader {
            input,
            line: Vec::new(),
            number: 0,
            path: path.to_path_buf(),
        }
    }
}

impl<R: BufRead> Iterator for SumsReader<R> {
    type Item = Result<SumsLine, IoError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.line.clear();
            let input = &mut self.input;
            let n = match input.take(MAX_LINE).read_until(b'\n', &mut self.line) {
                Ok(n) => n,
                Err(e) => return Some(Err(IoError::new("reading", &self.path, e))),
            };
            if n == 0 {
                return None;
            }
            self.number += 1;
            let mut long = false;
            if self.line.last() != Some(&b'\n') && n as u64 == MAX_LINE {
                // Skip the rest of an overlong line; it is malformed.
                long = true;
                let mut rest = Vec::new();
                loop {
                    rest.clear();
                    match self
                        .input
                        .by_ref()
                        .take(MAX_LINE)
                        .read_until(b'\n', &mut rest)
                    {
                        Ok(0) => break,
                        Ok(_) if rest.last() == Some(&b'\n') => break,
                        Ok(_) => {}
                        Err(e) => return Some(Err(IoError::new("reading", &self.path, e))),
                    }
                }
            }
            let text = self.line.strip_suffix(b"\n").unwrap_or(&self.line);
            if text.is_empty() && !long {
                continue;
            }
            return Some(Ok(match (long, parse_line(text)) {
                (false, Some((path, sha))) => match plain_relative(&path) {
                    Some(p) => SumsLine::Entry(p, sha),
                    None => SumsLine::NotPlain(path),
                },
                _ => SumsLine::Malformed(self.number),
            }));
        }
    }
}

/// Writes `SHA256SUMS` line by line.
pub struct SumsWriter {
    out: BufWriter<File>,
    line: Vec<u8>,
    path: PathBuf,
}

impl SumsWriter {
    /// Creates the file (it must not exist).
    pub fn create(path: &Path) -> Result<SumsWriter, IoError> {
        Ok(SumsWriter {
            out: BufWriter::with_capacity(READ_BUFFER, create_new(path)?),
            line: Vec::new(),
            path: path.to_path_buf(),
        })
    }

    /// Adds a file; the caller adds them in path order.
    pub fn add(&mut self, path: &[u8], sha: &[u8; 32]) -> Result<(), IoError> {
        self.line.clear();
        sums_line(&mut self.line, path, sha);
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

/// A new file for the product's listings (mode 0644; never replaces anything).
pub(crate) fn create_new(path: &Path) -> Result<File, IoError> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(path)
        .ctx("creating", path)
}

/// A folder's `SHA256SUMS` ready to be read in path order, as often as needed: the file
/// itself when it is sorted (the product always writes it so), else a sorted copy in an
/// unnamed temporary file. Its malformed lines and paths that are not plain are counted and
/// their first [`SumsSource::MAX_PROBLEMS`] kept; they are left out of the entries.
pub struct SumsSource {
    path: PathBuf,
    sorted_copy: Option<File>,
    /// Malformed lines (numbers) and paths that are not plain, in file order, capped.
    pub problems: Vec<SumsLine>,
    /// How many problems there were in all.
    pub problem_count: u64,
    /// Entries (including repeated paths).
    pub entries: u64,
}

impl SumsSource {
    pub const MAX_PROBLEMS: usize = 20;

    /// Reads `path` once (the checks of [`fsutil::open_regular`]); sorts it into `scratch`
    /// when it is not in path order.
    pub fn open(path: &Path, scratch: &Path) -> Result<SumsSource, IoError> {
        let mut src = SumsSource {
            path: path.to_path_buf(),
            sorted_copy: None,
            problems: Vec::new(),
            problem_count: 0,
            entries: 0,
        };
        let mut sorted = true;
        let mut last: Option<Vec<u8>> = None;
        for line in src.read_file()? {
            match line? {
                SumsLine::Entry(p, _) => {
                    src.entries += 1;
                    if last.as_ref().is_some_and(|l| *l > p) {
                        sorted = false;
                    }
                    last = Some(p);
                }
                other => {
                    src.problem_count += 1;
                    if src.problems.len() < Self::MAX_PROBLEMS {
                        src.problems.push(other);
                    }
                }
            }
        }
        if !sorted {
            let mut sorter = RunSorter::new(scratch, DEFAULT_BUFFER_BYTES);
            for line in src.read_file()? {
                if let SumsLine::Entry(p, sha) = line? {
                    sorter.add(&p, &sha)?;
                }
            }
            let file = tempfile::tempfile_in(scratch).ctx("creating a sort run in", scratch)?;
            let mut w = BufWriter::with_capacity(READ_BUFFER, file);
            let mut line = Vec::new();
            for rec in sorter.finish() {
                let (p, sha) = rec?;
                let mut d = [0u8; 32];
                if sha.len() == 32 {
                    d.copy_from_slice(&sha);
                }
                line.clear();
                sums_line(&mut line, &p, &d);
                w.write_all(&line).ctx("writing a sort run in", scratch)?;
            }
            let mut file = w
                .into_inner()
                .map_err(|e| e.into_error())
                .ctx("writing a sort run in", scratch)?;
            file.rewind().ctx("reading a sort run in", scratch)?;
            src.sorted_copy = Some(file);
        }
        Ok(src)
    }

    fn read_file(&self) -> Result<SumsReader<BufReader<File>>, IoError> {
        let f = fsutil::open_regular(&self.path)?;
        Ok(SumsReader::new(
            BufReader::with_capacity(READ_BUFFER, f),
            &self.path,
        ))
    }

    /// The entries in path order. A file changed since [`SumsSource::open`] so that its order
    /// breaks gives an error.
    pub fn entries(&self) -> Result<SortedEntries, IoError> {
        let reader = match &self.sorted_copy {
            Some(f) => {
                let mut f = f.try_clone().ctx("reading", &self.path)?;
                f.rewind().ctx("reading", &self.path)?;
                SumsReader::new(BufReader::with_capacity(READ_BUFFER, f), &self.path)
            }
            None => self.read_file()?,
        };
        Ok(SortedEntries { reader, last: None })
    }
}

/// Entries of a [`SumsSource`], in path order.
pub struct SortedEntries {
    reader: SumsReader<BufReader<File>>,
    last: Option<Vec<u8>>,
}

impl Iterator for SortedEntries {
    type Item = Result<(Vec<u8>, [u8; 32]), IoError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.reader.next()? {
                Err(e) => return Some(Err(e)),
                Ok(SumsLine::Entry(p, sha)) => {
                    if self.last.as_ref().is_some_and(|l| *l > p) {
                        return Some(Err(IoError::new(
                            "reading",
                            &self.reader.path,
                            io::Error::other("the file changed while it was read"),
                        )));
                    }
                    self.last = Some(p.clone());
                    return Some(Ok((p, sha)));
                }
                Ok(_) => continue,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_round_trips() {
        for p in [&b"plain"[..], b"a\\b", b"new\nline", b"cr\rx", b"\\\\n"] {
            let (e, _) = escape_path(p);
            assert_eq!(unescape_path(&e).unwrap(), p);
        }
    }

    /// A hand-made list out of order, with `./` prefixes, a bad line and a path escaping the
    /// folder: the entries come back plain and sorted, the problems counted; the sorted copy is
    /// made in the scratch folder without a name.
    #[test]
    fn unsorted_lists_are_sorted_on_disk_and_problems_kept() {
        let dir = tempfile::tempdir().unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let mut text = Vec::new();
        let n = 3000u32;
        for i in (0..n).rev() {
            let p = format!("./d{}/f{i:05}", i % 7);
            sums_line(&mut text, p.as_bytes(), &[(i % 251) as u8; 32]);
        }
        text.extend_from_slice(b"not a line\n\n");
        sums_line(&mut text, b"../escape", &[0; 32]);
        sums_line(&mut text, b"new\nline", &[9; 32]);
        let path = dir.path().join(SUMS_FILE_NAME);
        std::fs::write(&path, &text).unwrap();
        let src = SumsSource::open(&path, scratch.path()).unwrap();
        assert_eq!(src.entries, u64::from(n) + 1);
        assert_eq!(src.problem_count, 2);
        assert_eq!(
            src.problems[0],
            SumsLine::Malformed(u64::from(n) as usize + 1)
        );
        assert_eq!(src.problems[1], SumsLine::NotPlain(b"../escape".to_vec()));
        for _ in 0..2 {
            let got: Vec<(Vec<u8>, [u8; 32])> =
                src.entries().unwrap().map(|r| r.unwrap()).collect();
            assert_eq!(got.len(), n as usize + 1);
            assert!(got.windows(2).all(|w| w[0].0 <= w[1].0));
            assert!(got.iter().any(|(p, s)| p == b"new\nline" && *s == [9; 32]));
            assert!(got.iter().any(|(p, s)| p == b"d3/f00010" && *s == [10; 32]));
        }
        assert_eq!(std::fs::read_dir(scratch.path()).unwrap().count(), 0);
    }

    #[test]
    fn writer_output_is_what_sha256sum_reads() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a b"), "x").unwrap();
        std::fs::write(dir.path().join("back\\slash"), "y").unwrap();
        use sha2::{Digest, Sha256};
        let mut w = SumsWriter::create(&dir.path().join(SUMS_FILE_NAME)).unwrap();
        w.add(b"a b", &Sha256::digest(b"x").into()).unwrap();
        w.add(b"back\\slash", &Sha256::digest(b"y").into()).unwrap();
        w.finish().unwrap();
        let st = std::process::Command::new("sha256sum")
            .args(["-c", "--quiet", SUMS_FILE_NAME])
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(st.success());
    }
}
