//! The one record store of every kind of job record (backups, restores, verifications, hook
//! processes): a folder of `<ID>.json` files, each replaced atomically ([`RecordDir::save`],
//! through [`fsutil::write_atomic`]), all loaded at start into an in-memory [`RecordIndex`]
//! (unreadable files are reported, not fatal), read by ID and listed newest first with cursor
//! paging ([`RecordIndex::page`]). Record IDs sort by time, so the newest is the greatest ID.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::fsutil::{self, IoContext, IoError};

/// A record kept in a [`RecordDir`].
pub trait Record: Clone + Serialize + DeserializeOwned {
    /// What a listing filters on.
    type Status: PartialEq + Copy;
    /// A newline after the JSON document (hook records have always had one).
    const TRAILING_NEWLINE: bool = false;
    fn id(&self) -> &str;
    fn status(&self) -> Self::Status;
    /// Whether a record read from `<stem>.json` is taken (default: its ID is that name).
    fn belongs_in(&self, stem: &str) -> bool {
        self.id() == stem
    }
}

/// Query of a record listing: a page of at most `limit` records, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListQuery<S> {
    /// Page size; capped by the listing. 0 gives an empty page.
    pub limit: usize,
    /// Exclusive: only IDs strictly older (smaller) than this one.
    pub cursor: Option<String>,
    /// Only records with this status.
    pub status: Option<S>,
}

impl<S> Default for ListQuery<S> {
    fn default() -> Self {
        ListQuery {
            limit: 0,
            cursor: None,
            status: None,
        }
    }
}

/// A `*.json` file of a [`RecordDir`] that could not be read, parsed, or whose record does
/// not belong under its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable {
    pub path: PathBuf,
    /// The file name without `.json`.
    pub stem: String,
    pub error: String,
}

/// The records in memory, by ID.
#[derive(Clone, Debug)]
pub struct RecordIndex<T> {
    by_id: BTreeMap<String, T>,
}

impl<T> Default for RecordIndex<T> {
    fn default() -> Self {
        RecordIndex {
            by_id: BTreeMap::new(),
        }
    }
}

impl<T: Record> RecordIndex<T> {
    pub fn get(&self, id: &str) -> Option<&T> {
        self.by_id.get(id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut T> {
        self.by_id.get_mut(id)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }

    /// Adds or replaces the record with `rec`'s ID.
    pub fn insert(&mut self, rec: T) {
        self.by_id.insert(rec.id().to_string(), rec);
    }

    pub fn remove(&mut self, id: &str) -> Option<T> {
        self.by_id.remove(id)
    }

    /// The greatest (newest) ID.
    pub fn last_id(&self) -> Option<&str> {
        self.by_id.keys().next_back().map(String::as_str)
    }

    /// Oldest first.
    pub fn oldest_first(&self) -> impl DoubleEndedIterator<Item = &T> {
        self.by_id.values()
    }

    pub fn newest_first(&self) -> impl Iterator<Item = &T> {
        self.by_id.values().rev()
    }

    /// One page for query `q`, newest first, at most `max` long, and the cursor of the next
    /// page (`None` on the last).
    pub fn page(&self, q: &ListQuery<T::Status>, max: usize) -> (Vec<T>, Option<String>) {
        page(self.newest_first(), q, max)
    }
}

impl<T: Record> FromIterator<T> for RecordIndex<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut index = RecordIndex::default();
        for r in iter {
            index.insert(r);
        }
        index
    }
}

/// One page of `newest_first` (records in descending ID order) for query `q`, at most `max`
/// long, and the cursor of the next page (`None` on the last).
fn page<'a, T: Record + 'a>(
    newest_first: impl Iterator<Item = &'a T>,
    q: &ListQuery<T::Status>,
    max: usize,
) -> (Vec<T>, Option<String>) {
    let limit = q.limit.min(max);
    let mut items: Vec<T> = Vec::new();
    let mut next = None;
    for r in newest_first.filter(|r| {
        q.cursor.as_deref().is_none_or(|c| r.id() < c) && q.status.is_none_or(|s| r.status() == s)
    }) {
        if items.len() == limit {
            next = items.last().map(|l| l.id().to_string());
            break;
        }
        items.push(r.clone());
    }
    (items, next)
}

/// What [`RecordDir::load`] found.
pub struct Loaded<T> {
    pub index: RecordIndex<T>,
    pub unreadable: Vec<Unreadable>,
}

/// A folder of `<ID>.json` records.
#[derive(Clone, Debug)]
pub struct RecordDir {
    dir: PathBuf,
}

/// The mark of temp files beside a record: [`fsutil::write_atomic`]'s `<ID>.json.tmp-<uuid>`,
/// and the bare `<ID>.json.tmp` of an older hook record writer.
const TEMP_MARK: &str = ".json.tmp";

impl RecordDir {
    /// The folder `dir` (not touched until used).
    pub fn new(dir: impl Into<PathBuf>) -> RecordDir {
        RecordDir { dir: dir.into() }
    }

    /// The folder `dir`, created when missing.
    pub fn create(dir: impl Into<PathBuf>) -> Result<RecordDir, IoError> {
        let d = RecordDir::new(dir);
        fs::create_dir_all(&d.dir).ctx("creating folder", &d.dir)?;
        Ok(d)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `<dir>/<id>.json`.
    pub fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    fn bytes<T: Record>(&self, rec: &T) -> Result<Vec<u8>, IoError> {
        let mut bytes = serde_json::to_vec_pretty(rec)
            .map_err(|e| IoError::new("serialising", self.path(rec.id()), io::Error::other(e)))?;
        if T::TRAILING_NEWLINE {
            bytes.push(b'\n');
        }
        Ok(bytes)
    }

    /// Replaces `<ID>.json` atomically and durably ([`fsutil::write_atomic`]).
    pub fn save<T: Record>(&self, rec: &T) -> Result<(), IoError> {
        fsutil::write_atomic(&self.path(rec.id()), &self.bytes(rec)?)
    }

    /// [`RecordDir::save`] without the final fsync of the folder ([`fsutil::write_visible`]).
    pub fn save_visible<T: Record>(&self, rec: &T) -> Result<(), IoError> {
        fsutil::write_visible(&self.path(rec.id()), &self.bytes(rec)?)
    }

    /// Every record of the folder (none when it is missing). Temp files of interrupted saves
    /// (`<ID>.json.tmp-…`, which only [`RecordDir::save`] makes) are removed; a file that
    /// cannot be read or parsed, or whose record does not [`Record::belongs_in`] its name, is
    /// reported in [`Loaded::unreadable`] and left as it is.
    pub fn load<T: Record>(&self) -> Result<Loaded<T>, IoError> {
        let mut loaded = Loaded {
            index: RecordIndex::default(),
            unreadable: Vec::new(),
        };
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(loaded),
            Err(e) => return Err(IoError::new("listing", &self.dir, e)),
        };
        for entry in entries {
            let entry = entry.ctx("listing", &self.dir)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if name.contains(TEMP_MARK) {
                // An interrupted save: the record it was replacing is still in place.
                if let Err(e) = fs::remove_file(&path) {
                    tracing::warn!(file = %path.display(), error = %e, "could not remove the temp file of an interrupted record write");
                }
                continue;
            }
            let Some(stem) = name.strip_suffix(".json") else {
                continue;
            };
            let parsed = fsutil::read_regular(&path, fsutil::MAX_STATE_FILE_BYTES)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice::<T>(&b).map_err(|e| e.to_string()))
                .and_then(|r| {
                    if r.belongs_in(stem) {
                        Ok(r)
                    } else {
                        Err(format!("its ID {:?} does not match the file name", r.id()))
                    }
                });
            match parsed {
                Ok(r) => loaded.index.insert(r),
                Err(error) => loaded.unreadable.push(Unreadable {
                    path,
                    stem: stem.to_string(),
                    error,
                }),
            }
        }
        Ok(loaded)
    }

    /// Removes `<ID>.json`; a missing one is fine.
    pub fn remove(&self, id: &str) -> Result<(), IoError> {
        let path = self.path(id);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(IoError::new("removing", path, e)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    struct R {
        id: String,
        ok: bool,
    }

    impl Record for R {
        type Status = bool;
        fn id(&self) -> &str {
            &self.id
        }
        fn status(&self) -> bool {
            self.ok
        }
    }

    fn r(id: &str, ok: bool) -> R {
        R { id: id.into(), ok }
    }

    #[test]
    fn pages_newest_first_with_a_cursor_and_a_filter() {
        let mut index = RecordIndex::default();
        for x in [r("a", true), r("b", false), r("c", true), r("d", true)] {
            index.insert(x);
        }
        let q = |cursor: Option<&str>, status| ListQuery {
            limit: 2,
            cursor: cursor.map(str::to_string),
            status,
        };
        let (p, next) = index.page(&q(None, None), 10);
        assert_eq!(p, [r("d", true), r("c", true)]);
        assert_eq!(next.as_deref(), Some("c"));
        let (p, next) = index.page(&q(Some("c"), None), 10);
        assert_eq!(p, [r("b", false), r("a", true)]);
        assert_eq!(next, None);
        let (p, _) = index.page(&q(None, Some(false)), 10);
        assert_eq!(p, [r("b", false)]);
        let (p, next) = index.page(&q(None, None), 1);
        assert_eq!((p.len(), next.as_deref()), (1, Some("d")));
        assert_eq!(index.last_id(), Some("d"));
    }

    #[test]
    fn saves_atomically_and_loads_what_is_readable() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = RecordDir::create(tmp.path().join("recs")).unwrap();
        dir.save(&r("a", true)).unwrap();
        dir.save(&r("b", false)).unwrap();
        dir.save(&r("b", true)).unwrap();
        fs::write(dir.path("bad"), b"{not json").unwrap();
        fs::write(dir.path("c"), serde_json::to_vec(&r("x", true)).unwrap()).unwrap();
        fs::write(dir.dir().join("a.json.tmp-0123"), b"half").unwrap();
        fs::write(dir.dir().join("b.json.tmp"), b"half").unwrap();
        fs::write(dir.dir().join("a.log"), b"not a record").unwrap();
        let loaded = dir.load::<R>().unwrap();
        let all: Vec<R> = loaded.index.oldest_first().cloned().collect();
        assert_eq!(all, [r("a", true), r("b", true)]);
        let mut bad: Vec<String> = loaded.unreadable.iter().map(|u| u.stem.clone()).collect();
        bad.sort();
        assert_eq!(bad, ["bad", "c"]);
        assert!(!dir.dir().join("a.json.tmp-0123").exists());
        assert!(!dir.dir().join("b.json.tmp").exists());
        assert!(
            dir.dir().join("a.log").exists(),
            "only records and their temp files"
        );
        assert!(
            dir.dir().join("bad.json").exists(),
            "an unreadable file is left alone"
        );
        dir.remove("a").unwrap();
        dir.remove("a").unwrap();
        assert!(!dir.path("a").exists());
        let missing = RecordDir::new(tmp.path().join("none")).load::<R>().unwrap();
        assert!(missing.index.last_id().is_none() && missing.unreadable.is_empty());
    }
}
