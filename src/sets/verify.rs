//! Checking one backup folder against its `SHA256SUMS`: every listed file is hashed again
//! (SHA-256, streamed through a 1 MiB buffer per worker thread, so memory stays flat whatever
//! the file sizes) and compared; the folder is walked to find files that are present but not
//! listed.
//!
//! What is checked, and what is not:
//! * `readme.txt`, `SHA256SUMS` and the hidden index ([`INDEX_FILE_NAME`]) at the top of the
//!   folder are the backup's own records: never reported as unlisted (a `SHA256SUMS` written by
//!   hand that lists one of them gets it checked like any other file).
//! * Only regular files are listed in `SHA256SUMS` (the tree copy keeps symbolic links as links
//!   and does not list them, because `sha256sum -c` would follow them). So a symbolic link is
//!   not reported as unlisted, and it is never followed: a listed path that is now a link, a
//!   folder or a special file is reported as **changed** ("not a regular file").
//! * Empty folders are not listed anywhere and cannot be verified; they are ignored.
//! * Sockets, FIFOs and device nodes are never part of a backup: one found is **unlisted**.
//! * A listed path that is absolute or holds `..` is refused (a malformed line), so a crafted
//!   `SHA256SUMS` on an external medium cannot make the verifier read outside the folder.
//!   `./` prefixes and doubled slashes (coreutils output of `find .`) are accepted.
//! * Paths are reported relative to the folder, as UTF-8 (invalid bytes replaced).
//! * Each of the lists is sorted and capped at [`MAX_LISTED`] names; `omitted` counts the rest.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::fs::{self, OpenOptions};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::engine::fsutil::read_regular as read_listing;
use crate::engine::readme::README_FILE;
use crate::engine::tree_copy::{listing_limit, parse_sums, INDEX_FILE_NAME, SUMS_FILE_NAME};

/// Most names reported in each list of one folder.
pub const MAX_LISTED: usize = 1000;
const BUF_SIZE: usize = 1 << 20;
/// Most hashing threads per folder.
const MAX_WORKERS: usize = 4;

/// Counters shared with whoever watches a verification run.
#[derive(Debug, Default)]
pub struct Progress {
    pub files: AtomicU64,
    pub bytes: AtomicU64,
}

/// The outcome of checking one folder (without the component: the caller knows it).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TreeCheck {
    /// Listed files whose content no longer matches, or that are no longer regular files.
    pub changed: Vec<String>,
    /// Listed files that are gone.
    pub missing: Vec<String>,
    /// Files present but not listed.
    pub unlisted: Vec<String>,
    /// `path: error` for files or folders that could not be read.
    pub unreadable: Vec<String>,
    /// A problem with the folder as a whole (missing, no `SHA256SUMS`, malformed lines).
    pub error: Option<String>,
    /// Names left out of the lists above (over [`MAX_LISTED`] each).
    pub omitted: u64,
    pub files_checked: u64,
    pub bytes_checked: u64,
}

impl TreeCheck {
    pub fn ok(&self) -> bool {
        self.changed.is_empty()
            && self.missing.is_empty()
            && self.unlisted.is_empty()
            && self.unreadable.is_empty()
            && self.error.is_none()
            && self.omitted == 0
    }

    pub fn failed(error: String) -> TreeCheck {
        TreeCheck {
            error: Some(error),
            ..TreeCheck::default()
        }
    }
}

fn show(rel: &[u8]) -> String {
    String::from_utf8_lossy(rel).into_owned()
}

/// The backup's own files at the top of a folder.
fn is_own_file(name: &[u8]) -> bool {
    name == README_FILE.as_bytes()
        || name == SUMS_FILE_NAME.as_bytes()
        || name == INDEX_FILE_NAME.as_bytes()
}

/// A listed path made relative and plain: `./a//b` -> `a/b`; `None` for absolute paths, `..`
/// and empty paths.
fn normalise_listed(p: &[u8]) -> Option<Vec<u8>> {
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

/// What a walk of the folder found, by path relative to it.
#[derive(Default)]
struct Walk {
    /// Regular files, except the backup's own files at the top.
    files: BTreeSet<Vec<u8>>,
    /// The backup's own files present at the top.
    own: BTreeSet<Vec<u8>>,
    /// Entries that are neither regular files nor folders: what they are.
    others: BTreeMap<Vec<u8>, &'static str>,
    /// Folders below the top (a listed path that is a folder is "changed").
    dirs: BTreeSet<Vec<u8>>,
    errors: Vec<String>,
}

/// Lists the tree without following symbolic links (DirEntry::file_type does not follow them).
fn walk(root: &Path) -> Walk {
    let mut w = Walk::default();
    let mut stack: Vec<Vec<u8>> = vec![Vec::new()];
    while let Some(rel) = stack.pop() {
        let dir = if rel.is_empty() {
            root.to_path_buf()
        } else {
            root.join(OsStr::from_bytes(&rel))
        };
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                w.errors.push(format!("{}/: {e}", show(&rel)));
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    w.errors.push(format!("{}/: {e}", show(&rel)));
                    continue;
                }
            };
            let name = entry.file_name();
            let mut child = rel.clone();
            if !child.is_empty() {
                child.push(b'/');
            }
            child.extend_from_slice(name.as_bytes());
            match entry.file_type() {
                Ok(t) if t.is_dir() => {
                    w.dirs.insert(child.clone());
                    stack.push(child);
                }
                Ok(t) if t.is_file() => {
                    if rel.is_empty() && is_own_file(name.as_bytes()) {
                        w.own.insert(child);
                    } else {
                        w.files.insert(child);
                    }
                }
                Ok(t) if t.is_symlink() => {
                    w.others.insert(child, "a symbolic link");
                }
                Ok(_) => {
                    w.others.insert(child, "a special file");
                }
                Err(e) => w.errors.push(format!("{}: {e}", show(&child))),
            }
        }
    }
    w
}

/// SHA-256 of a regular file, never following a final symbolic link.
fn hash_file(path: &Path, buf: &mut [u8], progress: &Progress) -> io::Result<([u8; 32], u64)> {
    let mut f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NOCTTY | libc::O_NONBLOCK)
        .open(path)?;
    if !f.metadata()?.is_file() {
        return Err(io::Error::other("no longer a regular file"));
    }
    let mut hasher = Sha256::new();
    let mut total = 0u64;
    loop {
        let n = match f.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        total += n as u64;
        progress.bytes.fetch_add(n as u64, Ordering::Relaxed);
    }
    progress.files.fetch_add(1, Ordering::Relaxed);
    Ok((hasher.finalize().into(), total))
}

#[derive(Default)]
struct HashResults {
    changed: Vec<String>,
    unreadable: Vec<String>,
    files: u64,
    bytes: u64,
}

/// Hashes `jobs` (relative path, expected sum) on a few threads sharing one counter.
fn hash_all(root: &Path, jobs: &[(Vec<u8>, [u8; 32])], progress: &Progress) -> HashResults {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, MAX_WORKERS)
        .min(jobs.len().max(1));
    let next = AtomicUsize::new(0);
    let total = Mutex::new(HashResults::default());
    let panicked = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut buf = vec![0u8; BUF_SIZE];
                    let mut mine = HashResults::default();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((rel, want)) = jobs.get(i) else {
                            break;
                        };
                        let path = root.join(OsStr::from_bytes(rel));
                        match hash_file(&path, &mut buf, progress) {
                            Ok((got, n)) => {
                                mine.files += 1;
                                mine.bytes += n;
                                if &got != want {
                                    mine.changed.push(show(rel));
                                }
                            }
                            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                                mine.changed.push(show(rel));
                            }
                            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                                mine.unreadable
                                    .push(format!("{}: removed while verifying", show(rel)));
                            }
                            Err(e) => mine.unreadable.push(format!("{}: {e}", show(rel))),
                        }
                    }
                    let mut t = total.lock().unwrap_or_else(|e| e.into_inner());
                    t.changed.append(&mut mine.changed);
                    t.unreadable.append(&mut mine.unreadable);
                    t.files += mine.files;
                    t.bytes += mine.bytes;
                })
            })
            .collect();
        handles.into_iter().any(|h| h.join().is_err())
    });
    let mut out = total.into_inner().unwrap_or_else(|e| e.into_inner());
    if panicked {
        out.unreadable
            .push("a verification worker failed; not every file was checked".into());
    }
    out
}

/// Sorts a list and keeps at most [`MAX_LISTED`] names; returns how many were dropped.
fn cap(list: &mut Vec<String>) -> u64 {
    list.sort();
    list.dedup();
    let extra = list.len().saturating_sub(MAX_LISTED);
    list.truncate(MAX_LISTED);
    extra as u64
}

/// Checks `folder` against its `SHA256SUMS`. Never panics; problems are in the result.
pub fn check_tree(folder: &Path, progress: &Progress) -> TreeCheck {
    match fs::metadata(folder) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return TreeCheck::failed(format!("{} is not a folder", folder.display())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return TreeCheck::failed(format!("{} does not exist", folder.display()))
        }
        Err(e) => return TreeCheck::failed(format!("{}: {e}", folder.display())),
    }
    // The walk first: its count of files bounds how large SHA256SUMS may be.
    let w = walk(folder);
    let sums_path = folder.join(SUMS_FILE_NAME);
    let present = (w.files.len() + w.own.len()) as u64;
    let sums = match read_listing(&sums_path, listing_limit(present)) {
        Ok(b) => b,
        Err(e) if e.is_not_found() => {
            return TreeCheck::failed(format!(
                "no {SUMS_FILE_NAME} in {}: the folder cannot be verified",
                folder.display()
            ))
        }
        Err(e) => return TreeCheck::failed(e.to_string()),
    };
    let parsed = parse_sums(&sums);
    let mut problems: Vec<String> = parsed
        .bad_lines
        .iter()
        .map(|(n, _)| format!("line {n} is malformed"))
        .collect();
    let mut listed: BTreeMap<Vec<u8>, [u8; 32]> = BTreeMap::new();
    for (path, sha) in &parsed.entries {
        let Some(p) = normalise_listed(path) else {
            problems.push(format!(
                "{:?} is not a plain relative path; not checked",
                show(path)
            ));
            continue;
        };
        if let Some(prev) = listed.get(&p) {
            if prev != sha {
                problems.push(format!(
                    "{:?} is listed twice with different sums",
                    show(&p)
                ));
            }
            continue;
        }
        listed.insert(p, *sha);
    }

    let mut check = TreeCheck {
        unreadable: w.errors.clone(),
        ..TreeCheck::default()
    };
    let mut jobs = Vec::with_capacity(listed.len());
    for (path, sha) in &listed {
        if w.files.contains(path) || w.own.contains(path) {
            jobs.push((path.clone(), *sha));
        } else if w.others.contains_key(path) || w.dirs.contains(path) {
            check.changed.push(show(path));
        } else {
            check.missing.push(show(path));
        }
    }
    for path in &w.files {
        if !listed.contains_key(path) {
            check.unlisted.push(show(path));
        }
    }
    for (path, kind) in &w.others {
        if *kind == "a special file" && !listed.contains_key(path) {
            check.unlisted.push(show(path));
        }
    }
    let hashed = hash_all(folder, &jobs, progress);
    check.changed.extend(hashed.changed);
    check.unreadable.extend(hashed.unreadable);
    check.files_checked = hashed.files;
    check.bytes_checked = hashed.bytes;
    check.omitted = cap(&mut check.changed)
        + cap(&mut check.missing)
        + cap(&mut check.unlisted)
        + cap(&mut check.unreadable);
    if !problems.is_empty() {
        let n = problems.len();
        problems.truncate(20);
        let more = if n > 20 {
            format!(" (and {} more)", n - 20)
        } else {
            String::new()
        };
        check.error = Some(format!("{SUMS_FILE_NAME}: {}{more}", problems.join("; ")));
    }
    check
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tree_copy::render_sums;
    use std::os::unix::fs::symlink;

    fn sum(b: &[u8]) -> [u8; 32] {
        Sha256::digest(b).into()
    }

    /// A folder with files, an empty folder, a link, readme, index and a correct SHA256SUMS.
    fn folder(root: &Path) -> std::path::PathBuf {
        let f = root.join("backup");
        let files: &[(&str, &[u8])] = &[
            ("app.ini", b"x=1\n"),
            ("data/a.bin", &[0u8, 1, 2, 3]),
            ("data/sub/with space.txt", b"spaces"),
            ("data/new\nline", b"n"),
            ("data/back\\slash", b"b"),
        ];
        let mut sums = Vec::new();
        for (p, c) in files {
            let path = f.join(p);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, c).unwrap();
            sums.push((p.as_bytes().to_vec(), sum(c)));
        }
        fs::create_dir_all(f.join("data/empty")).unwrap();
        symlink("a.bin", f.join("data/link")).unwrap();
        fs::write(f.join(README_FILE), "Backup ID: X\nResult: success\n").unwrap();
        fs::write(f.join(INDEX_FILE_NAME), "# index\n").unwrap();
        fs::write(f.join(SUMS_FILE_NAME), render_sums(&sums)).unwrap();
        f
    }

    #[test]
    fn a_clean_folder_passes_and_ignores_own_files_links_and_empty_folders() {
        let dir = tempfile::tempdir().unwrap();
        let f = folder(dir.path());
        let p = Progress::default();
        let c = check_tree(&f, &p);
        assert!(c.ok(), "{c:?}");
        assert_eq!(c.files_checked, 5);
        assert_eq!(c.bytes_checked, 4 + 4 + 6 + 1 + 1);
        assert_eq!(p.files.load(Ordering::Relaxed), 5);
    }

    #[test]
    fn changed_missing_unlisted_are_each_named() {
        let dir = tempfile::tempdir().unwrap();
        let f = folder(dir.path());
        // One byte flipped, same size.
        fs::write(f.join("data/a.bin"), [0u8, 1, 2, 4]).unwrap();
        fs::remove_file(f.join("data/sub/with space.txt")).unwrap();
        fs::write(f.join("data/sub/extra.txt"), "new").unwrap();
        // A listed file replaced by a link to identical content: changed, never followed.
        fs::remove_file(f.join("app.ini")).unwrap();
        fs::write(dir.path().join("outside"), "x=1\n").unwrap();
        symlink(dir.path().join("outside"), f.join("app.ini")).unwrap();
        // A FIFO is unlisted.
        nix::unistd::mkfifo(&f.join("data/fifo"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        let c = check_tree(&f, &Progress::default());
        assert!(!c.ok());
        assert_eq!(c.changed, ["app.ini", "data/a.bin"]);
        assert_eq!(c.missing, ["data/sub/with space.txt"]);
        assert_eq!(c.unlisted, ["data/fifo", "data/sub/extra.txt"]);
        assert!(c.unreadable.is_empty() && c.error.is_none(), "{c:?}");
    }

    #[test]
    fn folder_problems_are_reported_not_panicked() {
        let dir = tempfile::tempdir().unwrap();
        let c = check_tree(&dir.path().join("nope"), &Progress::default());
        assert!(c.error.unwrap().contains("does not exist"));
        let f = folder(dir.path());
        fs::remove_file(f.join(SUMS_FILE_NAME)).unwrap();
        let c = check_tree(&f, &Progress::default());
        assert!(c.error.unwrap().contains("no SHA256SUMS"));
        assert!(c.unlisted.is_empty(), "no list of every file without sums");
    }

    #[test]
    fn escaping_paths_are_refused_and_dot_slash_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        fs::create_dir_all(&f).unwrap();
        fs::write(dir.path().join("secret"), "s").unwrap();
        fs::write(f.join("a"), "a").unwrap();
        let text = format!(
            "{}  ./a\n{}  ../secret\n{}  /etc/hostname\nnot a line\n",
            hex::encode(sum(b"a")),
            hex::encode(sum(b"s")),
            hex::encode(sum(b"s")),
        );
        fs::write(f.join(SUMS_FILE_NAME), text).unwrap();
        let c = check_tree(&f, &Progress::default());
        let e = c.error.clone().unwrap();
        assert!(
            e.contains("../secret") && e.contains("/etc/hostname"),
            "{e}"
        );
        assert!(e.contains("line 4 is malformed"), "{e}");
        assert_eq!(c.files_checked, 1);
        assert!(c.changed.is_empty() && c.missing.is_empty(), "{c:?}");
    }

    #[test]
    fn lists_are_capped() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        fs::create_dir_all(&f).unwrap();
        fs::write(f.join(SUMS_FILE_NAME), "").unwrap();
        for i in 0..(MAX_LISTED + 5) {
            fs::write(f.join(format!("{i:05}")), "").unwrap();
        }
        let c = check_tree(&f, &Progress::default());
        assert_eq!(c.unlisted.len(), MAX_LISTED);
        assert_eq!(c.omitted, 5);
        assert_eq!(c.unlisted[0], "00000");
        assert!(!c.ok());
    }

    #[test]
    fn normalising() {
        assert_eq!(normalise_listed(b"./a//b/./c").unwrap(), b"a/b/c");
        assert!(normalise_listed(b"a/../b").is_none());
        assert!(normalise_listed(b"/a").is_none());
        assert!(normalise_listed(b"./").is_none());
    }
}
