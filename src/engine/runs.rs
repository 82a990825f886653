//! Sorting more records than memory should hold: records (a key and a value, both bytes) are
//! gathered in a bounded buffer, written as sorted runs to unnamed temporary files
//! (`O_TMPFILE`: nothing to clean up after a crash), and read back merged in key order. What a
//! sort holds in memory is its buffer plus one read buffer per run, whatever the record count.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};

use super::fsutil::{IoContext, IoError};

/// What one sorter buffers before it writes a run.
pub const DEFAULT_BUFFER_BYTES: usize = 4 << 20;
/// Read buffer of each run while merging.
const RUN_READ_BUFFER: usize = 64 << 10;

/// Records of one sort: `add`, then [`RunSorter::finish`] (or [`merge`] for several sorters).
pub struct RunSorter {
    dir: PathBuf,
    limit: usize,
    /// Encoded records: `[key len u32][value len u32][key][value]`, little-endian lengths.
    data: Vec<u8>,
    /// Start of each record in `data`.
    starts: Vec<usize>,
    runs: Vec<File>,
}

fn decode(data: &[u8], at: usize) -> (&[u8], &[u8]) {
    let len = |i: usize| {
        let mut b = [0u8; 4];
        b.copy_from_slice(&data[i..i + 4]);
        u32::from_le_bytes(b) as usize
    };
    let (k, v) = (len(at), len(at + 4));
    let key_at = at + 8;
    (&data[key_at..key_at + k], &data[key_at + k..key_at + k + v])
}

fn too_long() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "record longer than 4 GiB")
}

impl RunSorter {
    /// A sorter whose runs go to unnamed files in `dir` (a folder on a disk with room: the
    /// runs together hold every record once).
    pub fn new(dir: &Path, buffer_bytes: usize) -> RunSorter {
        RunSorter {
            dir: dir.to_path_buf(),
            limit: buffer_bytes.max(1 << 10),
            data: Vec::new(),
            starts: Vec::new(),
            runs: Vec::new(),
        }
    }

    /// Reserves the whole buffer at once (untouched pages cost no memory): a buffer grown by
    /// doubling would briefly hold its old and new copies.
    fn reserve(&mut self) {
        if self.data.capacity() == 0 {
            self.data.reserve_exact(self.limit);
            self.starts.reserve_exact(self.limit / 64);
        }
    }

    pub fn add(&mut self, key: &[u8], value: &[u8]) -> Result<(), IoError> {
        let (Ok(k), Ok(v)) = (u32::try_from(key.len()), u32::try_from(value.len())) else {
            return Err(IoError::new("sorting in", &self.dir, too_long()));
        };
        self.reserve();
        self.starts.push(self.data.len());
        self.data.extend_from_slice(&k.to_le_bytes());
        self.data.extend_from_slice(&v.to_le_bytes());
        self.data.extend_from_slice(key);
        self.data.extend_from_slice(value);
        if self.data.len() + 8 + key.len() + value.len() > self.limit
            || self.starts.len() == self.starts.capacity()
        {
            self.spill()?;
        }
        Ok(())
    }

    fn sort_buffer(&mut self) {
        let data = &self.data;
        self.starts
            .sort_unstable_by(|&a, &b| decode(data, a).0.cmp(decode(data, b).0));
    }

    /// Writes the buffer as one sorted run.
    fn spill(&mut self) -> Result<(), IoError> {
        if self.starts.is_empty() {
            return Ok(());
        }
        self.sort_buffer();
        let file = tempfile::tempfile_in(&self.dir).ctx("creating a sort run in", &self.dir)?;
        let mut w = BufWriter::with_capacity(RUN_READ_BUFFER, file);
        for &at in &self.starts {
            let (k, v) = decode(&self.data, at);
            let end = at + 8 + k.len() + v.len();
            w.write_all(&self.data[at..end])
                .ctx("writing a sort run in", &self.dir)?;
        }
        let mut file = w
            .into_inner()
            .map_err(|e| e.into_error())
            .ctx("writing a sort run in", &self.dir)?;
        file.rewind().ctx("reading a sort run in", &self.dir)?;
        self.runs.push(file);
        self.data.clear();
        self.starts.clear();
        Ok(())
    }

    /// Every record added, in key order (equal keys in no particular order).
    pub fn finish(self) -> Merge {
        merge(vec![self])
    }
}

/// A record: its key and its value.
pub type Record = (Vec<u8>, Vec<u8>);

/// One sorted source of a merge.
enum Run {
    File {
        dir: PathBuf,
        reader: BufReader<File>,
    },
    Memory {
        data: Vec<u8>,
        starts: Vec<usize>,
        next: usize,
    },
}

impl Run {
    fn next(&mut self) -> Result<Option<Record>, IoError> {
        match self {
            Run::Memory { data, starts, next } => {
                let Some(&at) = starts.get(*next) else {
                    return Ok(None);
                };
                *next += 1;
                let (k, v) = decode(data, at);
                Ok(Some((k.to_vec(), v.to_vec())))
            }
            Run::File { dir, reader } => {
                let mut head = [0u8; 8];
                match reader.read_exact(&mut head) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
                    Err(e) => return Err(IoError::new("reading a sort run in", dir.as_path(), e)),
                }
                let mut l = [0u8; 4];
                l.copy_from_slice(&head[..4]);
                let k = u32::from_le_bytes(l) as usize;
                l.copy_from_slice(&head[4..]);
                let v = u32::from_le_bytes(l) as usize;
                let mut key = vec![0u8; k];
                let mut value = vec![0u8; v];
                reader
                    .read_exact(&mut key)
                    .and_then(|()| reader.read_exact(&mut value))
                    .ctx("reading a sort run in", dir)?;
                Ok(Some((key, value)))
            }
        }
    }
}

/// A head record of a run in the merge heap: ordered by key, then by run.
struct Head {
    key: Vec<u8>,
    value: Vec<u8>,
    run: usize,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key
            .cmp(&other.key)
            .then_with(|| self.run.cmp(&other.run))
    }
}

/// Records of several sorters merged in key order; an iterator of `(key, value)`.
pub struct Merge {
    runs: Vec<Run>,
    heap: BinaryHeap<Reverse<Head>>,
    started: bool,
    failed: bool,
}

/// Merges the records of several sorters (e.g. one per worker thread). Each sorter's last
/// buffer stays in memory as a run of its own.
pub fn merge(sorters: Vec<RunSorter>) -> Merge {
    let mut runs = Vec::new();
    for mut s in sorters {
        for f in s.runs.drain(..) {
            runs.push(Run::File {
                dir: s.dir.clone(),
                reader: BufReader::with_capacity(RUN_READ_BUFFER, f),
            });
        }
        if !s.starts.is_empty() {
            s.sort_buffer();
            runs.push(Run::Memory {
                data: std::mem::take(&mut s.data),
                starts: std::mem::take(&mut s.starts),
                next: 0,
            });
        }
    }
    Merge {
        runs,
        heap: BinaryHeap::new(),
        started: false,
        failed: false,
    }
}

impl Merge {
    fn pull(&mut self, run: usize) -> Result<(), IoError> {
        if let Some(r) = self.runs.get_mut(run) {
            if let Some((key, value)) = r.next()? {
                self.heap.push(Reverse(Head { key, value, run }));
            }
        }
        Ok(())
    }
}

impl Iterator for Merge {
    type Item = Result<Record, IoError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if !self.started {
            self.started = true;
            for i in 0..self.runs.len() {
                if let Err(e) = self.pull(i) {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
        let Reverse(head) = self.heap.pop()?;
        if let Err(e) = self.pull(head.run) {
            self.failed = true;
            return Some(Err(e));
        }
        Some(Ok((head.key, head.value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted_keys(m: Merge) -> Vec<Vec<u8>> {
        m.map(|r| r.unwrap().0).collect()
    }

    /// Many runs on disk, from several sorters, come back as one sorted sequence with every
    /// record's value intact.
    #[test]
    fn spilled_runs_merge_in_key_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut sorters = Vec::new();
        let mut want = Vec::new();
        for s in 0..3u32 {
            let mut sorter = RunSorter::new(dir.path(), 1 << 10);
            for i in 0..2_000u32 {
                let n = (i * 7919 + s * 104_729) % 100_003;
                let key = format!("dir{}/file{n:06}-{s}", n % 13).into_bytes();
                sorter.add(&key, &n.to_le_bytes()).unwrap();
                want.push(key);
            }
            assert!(sorter.runs.len() > 10, "the small buffer spilled");
            sorters.push(sorter);
        }
        want.sort();
        let merged: Vec<(Vec<u8>, Vec<u8>)> = merge(sorters).map(|r| r.unwrap()).collect();
        let keys: Vec<Vec<u8>> = merged.iter().map(|r| r.0.clone()).collect();
        assert_eq!(keys, want);
        for (k, v) in merged {
            let text = String::from_utf8(k).unwrap();
            let n: u32 = text[text.find("file").unwrap() + 4..][..6].parse().unwrap();
            assert_eq!(v, n.to_le_bytes());
        }
        // Nothing named was left in the folder: runs are unnamed files.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn small_sorts_stay_in_memory_and_empty_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = RunSorter::new(dir.path(), DEFAULT_BUFFER_BYTES);
        for k in ["b", "a/b", "a.b", ""] {
            s.add(k.as_bytes(), b"").unwrap();
        }
        assert!(s.runs.is_empty());
        let keys = sorted_keys(s.finish());
        assert_eq!(keys, vec![&b""[..], b"a.b", b"a/b", b"b"]);
        assert_eq!(
            RunSorter::new(dir.path(), DEFAULT_BUFFER_BYTES)
                .finish()
                .count(),
            0
        );
    }
}
