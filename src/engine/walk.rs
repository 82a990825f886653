//! Walking a folder tree in the byte order of the paths relative to its root, the order of
//! `SHA256SUMS` and of the index: a walk can then be joined with either file line by line,
//! without holding one whole. Precisely: every entry but a folder comes in the byte order of
//! its path; a folder comes where its path with a `/` after it would (`a.txt` before the
//! folder `a`, whose content follows it). Symbolic links are never followed. Memory: the names of the
//! folders on the current path only (packed, a few bytes over the names themselves).

use std::cmp::Ordering;
use std::ffi::OsStr;
use std::fs::{self, File, Metadata, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// What an entry is (never following a link).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
    Symlink,
    /// Socket, FIFO, device.
    Other,
}

impl Kind {
    fn of_mode(mode: u32) -> Kind {
        match mode & libc::S_IFMT {
            libc::S_IFDIR => Kind::Dir,
            libc::S_IFREG => Kind::File,
            libc::S_IFLNK => Kind::Symlink,
            _ => Kind::Other,
        }
    }

    fn of_type(t: fs::FileType) -> Kind {
        if t.is_dir() {
            Kind::Dir
        } else if t.is_file() {
            Kind::File
        } else if t.is_symlink() {
            Kind::Symlink
        } else {
            Kind::Other
        }
    }
}

/// The parts of an entry's status the product uses (`lstat`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub atime: (i64, i64),
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
    pub ino: u64,
    pub dev: u64,
}

impl Stat {
    pub fn of(m: &Metadata) -> Stat {
        Stat {
            mode: m.mode(),
            uid: m.uid(),
            gid: m.gid(),
            size: m.size(),
            atime: (m.atime(), m.atime_nsec()),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
            ino: m.ino(),
            dev: m.dev(),
        }
    }

    fn of_raw(s: &libc::stat) -> Stat {
        #[allow(clippy::unnecessary_cast)] // the field types differ between targets
        Stat {
            mode: s.st_mode as u32,
            uid: s.st_uid,
            gid: s.st_gid,
            size: u64::try_from(s.st_size).unwrap_or(0),
            atime: (s.st_atime as i64, s.st_atime_nsec as i64),
            mtime: (s.st_mtime as i64, s.st_mtime_nsec as i64),
            ctime: (s.st_ctime as i64, s.st_ctime_nsec as i64),
            ino: s.st_ino as u64,
            dev: s.st_dev as u64,
        }
    }

    pub fn kind(&self) -> Kind {
        Kind::of_mode(self.mode)
    }
}

/// One entry of a walk: its path relative to the walk's root, what it is, and its status
/// when the walk was asked for it.
#[derive(Debug)]
pub struct Entry {
    pub rel: Vec<u8>,
    pub kind: Kind,
    pub stat: Option<Stat>,
}

/// A folder or entry that could not be read: its path relative to the root, and why.
#[derive(Debug)]
pub struct WalkError {
    pub rel: Vec<u8>,
    pub error: io::Error,
}

/// One open folder of the walk: its entries sorted, packed in one buffer.
struct Level {
    rel: Vec<u8>,
    fd: Option<File>,
    names: Vec<u8>,
    /// (start, length, kind) of each name in `names`, in walk order.
    items: Vec<(u32, u32, Kind)>,
    next: usize,
}

/// A name's sort key is the name, with a `/` after it for a folder: then the walk's order is
/// the byte order of whole paths (`a.txt` before `a/b`, since `.` < `/`).
fn cmp_names(a: &[u8], a_dir: bool, b: &[u8], b_dir: bool) -> Ordering {
    let sa: &[u8] = if a_dir { b"/" } else { b"" };
    let sb: &[u8] = if b_dir { b"/" } else { b"" };
    a.iter().chain(sa).cmp(b.iter().chain(sb))
}

/// The walk; an iterator of entries in path order, pre-order (a folder before its content).
pub struct SortedWalk {
    root: PathBuf,
    want_stat: bool,
    stack: Vec<Level>,
    /// A folder just yielded, listed on the next call.
    descend: Option<Vec<u8>>,
}

fn join_rel(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut rel = Vec::with_capacity(dir.len() + 1 + name.len());
    rel.extend_from_slice(dir);
    if !dir.is_empty() {
        rel.push(b'/');
    }
    rel.extend_from_slice(name);
    rel
}

impl SortedWalk {
    /// Walks the content of `root/start` (`start` relative to root; empty for the root
    /// itself). Entries are named relative to `root`. `want_stat`: each entry's `lstat`.
    pub fn new(root: &Path, start: &[u8], want_stat: bool) -> SortedWalk {
        SortedWalk {
            root: root.to_path_buf(),
            want_stat,
            stack: Vec::new(),
            descend: Some(start.to_vec()),
        }
    }

    fn path_of(&self, rel: &[u8]) -> PathBuf {
        if rel.is_empty() {
            self.root.clone()
        } else {
            self.root.join(OsStr::from_bytes(rel))
        }
    }

    fn list(&self, rel: Vec<u8>) -> Result<Level, WalkError> {
        let path = self.path_of(&rel);
        let fail = |rel: &[u8], error| WalkError {
            rel: rel.to_vec(),
            error,
        };
        // The descriptor, for `fstatat` of each entry (one name to resolve, not the path).
        let fd = if self.want_stat {
            Some(
                OpenOptions::new()
                    .read(true)
                    .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_NONBLOCK)
                    .open(&path)
                    .map_err(|e| fail(&rel, e))?,
            )
        } else {
            None
        };
        let mut names = Vec::new();
        let mut items = Vec::new();
        for entry in fs::read_dir(&path).map_err(|e| fail(&rel, e))? {
            let entry = entry.map_err(|e| fail(&rel, e))?;
            let name = entry.file_name();
            let kind = entry.file_type().map_or(Kind::Other, Kind::of_type);
            let (Ok(start), Ok(len)) = (
                u32::try_from(names.len()),
                u32::try_from(name.as_bytes().len()),
            ) else {
                return Err(fail(&rel, io::Error::other("folder listing over 4 GiB")));
            };
            names.extend_from_slice(name.as_bytes());
            items.push((start, len, kind));
        }
        let name = |&(s, l, _): &(u32, u32, Kind)| &names[s as usize..(s + l) as usize];
        items.sort_unstable_by(|a, b| {
            cmp_names(name(a), a.2 == Kind::Dir, name(b), b.2 == Kind::Dir)
        });
        Ok(Level {
            rel,
            fd,
            names,
            items,
            next: 0,
        })
    }

    fn stat_at(fd: &File, name: &[u8]) -> io::Result<Stat> {
        let st = nix::sys::stat::fstatat(
            Some(fd.as_raw_fd()),
            OsStr::from_bytes(name),
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(io::Error::from)?;
        Ok(Stat::of_raw(&st))
    }
}

impl Iterator for SortedWalk {
    type Item = Result<Entry, WalkError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(rel) = self.descend.take() {
            match self.list(rel) {
                Ok(level) => self.stack.push(level),
                Err(e) => return Some(Err(e)),
            }
        }
        loop {
            let level = self.stack.last_mut()?;
            let Some(&(s, l, mut kind)) = level.items.get(level.next) else {
                self.stack.pop();
                continue;
            };
            level.next += 1;
            let name = &level.names[s as usize..(s + l) as usize];
            let rel = join_rel(&level.rel, name);
            let mut stat = None;
            if let Some(fd) = &level.fd {
                match Self::stat_at(fd, name) {
                    Ok(st) => {
                        kind = st.kind();
                        stat = Some(st);
                    }
                    // Gone since it was listed: as if it had never been there.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(error) => return Some(Err(WalkError { rel, error })),
                }
            }
            if kind == Kind::Dir {
                self.descend = Some(rel.clone());
            }
            return Some(Ok(Entry { rel, kind, stat }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_in_the_byte_order_of_whole_paths() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        for d in ["a", "a/b", "ab", "z"] {
            fs::create_dir_all(r.join(d)).unwrap();
        }
        for f in ["a.txt", "a/b/c", "a/-", "a0", "ab/x", "z/ä", "Z"] {
            fs::write(r.join(f), f).unwrap();
        }
        std::os::unix::fs::symlink("a", r.join("link")).unwrap();
        for want_stat in [false, true] {
            let got: Vec<(String, Kind)> = SortedWalk::new(r, b"", want_stat)
                .map(|e| {
                    let e = e.unwrap();
                    assert_eq!(e.stat.is_some(), want_stat);
                    (String::from_utf8(e.rel).unwrap(), e.kind)
                })
                .collect();
            let keys: Vec<String> = got
                .iter()
                .map(|(p, k)| {
                    if *k == Kind::Dir {
                        format!("{p}/")
                    } else {
                        p.clone()
                    }
                })
                .collect();
            let mut sorted = keys.clone();
            sorted.sort();
            assert_eq!(
                keys, sorted,
                "pre-order equals byte order (a folder as `name/`)"
            );
            let paths: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
            assert_eq!(paths.len(), 12);
            assert!(got.contains(&("link".into(), Kind::Symlink)));
            assert!(got.contains(&("a/b".into(), Kind::Dir)));
        }
        let sub: Vec<Vec<u8>> = SortedWalk::new(r, b"a", false)
            .map(|e| e.unwrap().rel)
            .collect();
        assert_eq!(
            sub,
            vec![b"a/-".to_vec(), b"a/b".to_vec(), b"a/b/c".to_vec()]
        );
    }

    #[test]
    fn an_unreadable_start_is_an_error_not_a_panic() {
        let root = tempfile::tempdir().unwrap();
        let mut w = SortedWalk::new(root.path(), b"missing", true);
        let e = w.next().unwrap().unwrap_err();
        assert_eq!(e.rel, b"missing");
        assert!(w.next().is_none());
    }
}
