//! Checking one backup folder against its `SHA256SUMS`: every listed file is hashed again
//! (SHA-256, streamed through a 1 MiB buffer per worker thread) and compared; the folder is
//! walked to find files that are present but not listed. Memory stays flat whatever the file
//! count: the list and a walk of the folder, both in path order, are read side by side (a list
//! that is not sorted, one made by hand, is sorted on disk first), and only the first
//! [`MAX_LISTED`] names of each kind of problem are kept.
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

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Mutex};

use crate::engine::digest::sha256_stream;
use crate::engine::index::INDEX_FILE_NAME;
use crate::engine::readme::README_FILE;
use crate::engine::sums::{SumsLine, SumsSource, SUMS_FILE_NAME};
use crate::engine::walk::{Kind, SortedWalk};

/// Most names reported in each list of one folder.
pub const MAX_LISTED: usize = 1000;
const BUF_SIZE: usize = 1 << 20;
/// Most hashing threads per folder.
const MAX_WORKERS: usize = 4;
/// Most problems with `SHA256SUMS` itself named in the error.
const MAX_PROBLEMS: usize = 20;

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
fn is_own_file(rel: &[u8]) -> bool {
    rel == README_FILE.as_bytes()
        || rel == SUMS_FILE_NAME.as_bytes()
        || rel == INDEX_FILE_NAME.as_bytes()
}

/// The first [`MAX_LISTED`] names of a list in sorted order, and how many more there were.
#[derive(Default)]
struct Capped {
    names: BTreeSet<String>,
    omitted: u64,
}

impl Capped {
    fn push(&mut self, name: String) {
        if self.names.len() >= MAX_LISTED {
            match self.names.last() {
                Some(last) if *last < name => {
                    self.omitted += 1;
                    return;
                }
                _ => {}
            }
        }
        if self.names.insert(name) && self.names.len() > MAX_LISTED {
            self.names.pop_last();
            self.omitted += 1;
        }
    }

    fn take(self) -> (Vec<String>, u64) {
        (self.names.into_iter().collect(), self.omitted)
    }
}

/// What the hashing workers found.
#[derive(Default)]
struct HashResults {
    changed: Capped,
    unreadable: Capped,
    files: u64,
    bytes: u64,
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
    let digest = sha256_stream(
        &mut f,
        buf,
        |e| e,
        |chunk| {
            progress
                .bytes
                .fetch_add(chunk.len() as u64, Ordering::Relaxed);
            Ok(())
        },
    )?;
    progress.files.fetch_add(1, Ordering::Relaxed);
    Ok(digest)
}

/// One hashing worker: takes (path, expected sum) from the channel until it closes.
fn hash_worker(
    root: &Path,
    jobs: &Mutex<mpsc::Receiver<(Vec<u8>, [u8; 32])>>,
    results: &Mutex<HashResults>,
    progress: &Progress,
) {
    let mut buf = vec![0u8; BUF_SIZE];
    loop {
        let job = jobs.lock().unwrap_or_else(|e| e.into_inner()).recv();
        let Ok((rel, want)) = job else { break };
        let path = root.join(OsStr::from_bytes(&rel));
        let outcome = hash_file(&path, &mut buf, progress);
        let mut r = results.lock().unwrap_or_else(|e| e.into_inner());
        match outcome {
            Ok((got, n)) => {
                r.files += 1;
                r.bytes += n;
                if got != want {
                    r.changed.push(show(&rel));
                }
            }
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => r.changed.push(show(&rel)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => r
                .unreadable
                .push(format!("{}: removed while verifying", show(&rel))),
            Err(e) => r.unreadable.push(format!("{}: {e}", show(&rel))),
        }
    }
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
    let sums_path = folder.join(SUMS_FILE_NAME);
    // Verification never writes into the folder (it may be read-only media): a list to sort
    // goes to the temporary folder.
    let source = match SumsSource::open(&sums_path, &std::env::temp_dir()) {
        Ok(s) => s,
        Err(e) if e.is_not_found() => {
            return TreeCheck::failed(format!(
                "no {SUMS_FILE_NAME} in {}: the folder cannot be verified",
                folder.display()
            ))
        }
        Err(e) => return TreeCheck::failed(e.to_string()),
    };
    let mut problems: Vec<String> = source
        .problems
        .iter()
        .map(|p| match p {
            SumsLine::Malformed(n) => format!("line {n} is malformed"),
            SumsLine::NotPlain(path) => {
                format!("{:?} is not a plain relative path; not checked", show(path))
            }
            SumsLine::Entry(..) => String::new(),
        })
        .collect();
    let mut problem_count = source.problem_count;

    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, MAX_WORKERS);
    let (tx, rx) = mpsc::sync_channel::<(Vec<u8>, [u8; 32])>(1024);
    let rx = Mutex::new(rx);
    let results = Mutex::new(HashResults::default());
    let (mut changed, mut missing, mut unlisted, mut unreadable) = (
        Capped::default(),
        Capped::default(),
        Capped::default(),
        Capped::default(),
    );
    let joined = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| s.spawn(|| hash_worker(folder, &rx, &results, progress)))
            .collect();
        let mut listed = match source.entries() {
            Ok(e) => e.peekable(),
            Err(e) => {
                drop(tx);
                for h in handles {
                    let _ = h.join();
                }
                return Err(e.to_string());
            }
        };
        let mut walk = SortedWalk::new(folder, b"", false).peekable();
        let mut last_listed: Option<(Vec<u8>, [u8; 32])> = None;
        let mut failure = None;
        loop {
            // The next listed entry, with repeated paths folded (one with another sum is a
            // problem of the list).
            let next_listed = loop {
                match listed.next() {
                    None => break None,
                    Some(Err(e)) => {
                        failure = Some(e.to_string());
                        break None;
                    }
                    Some(Ok((p, sha))) => {
                        if let Some((lp, lsha)) = &last_listed {
                            if *lp == p {
                                if *lsha != sha {
                                    problem_count += 1;
                                    if problems.len() < MAX_PROBLEMS {
                                        problems.push(format!(
                                            "{:?} is listed twice with different sums",
                                            show(&p)
                                        ));
                                    }
                                }
                                continue;
                            }
                        }
                        last_listed = Some((p.clone(), sha));
                        break Some((p, sha));
                    }
                }
            };
            // Present entries before it are not listed.
            loop {
                let entry = match walk.peek() {
                    None => break,
                    Some(Err(_)) => {
                        if let Some(Err(e)) = walk.next() {
                            unreadable.push(format!("{}/: {}", show(&e.rel), e.error));
                        }
                        continue;
                    }
                    Some(Ok(e)) => e,
                };
                if let Some((p, _)) = &next_listed {
                    if entry.rel >= *p {
                        break;
                    }
                }
                let top_level = !entry.rel.contains(&b'/');
                match entry.kind {
                    Kind::File if !(top_level && is_own_file(&entry.rel)) => {
                        unlisted.push(show(&entry.rel))
                    }
                    Kind::Other => unlisted.push(show(&entry.rel)),
                    _ => {}
                }
                walk.next();
            }
            let Some((p, sha)) = next_listed else { break };
            match walk.peek() {
                Some(Ok(e)) if e.rel == p => {
                    if e.kind == Kind::File {
                        if tx.send((p, sha)).is_err() {
                            failure = Some("the verification workers stopped".into());
                            break;
                        }
                    } else {
                        changed.push(show(&p));
                    }
                    walk.next();
                }
                // Not where a file would come in the walk: gone, or a folder now (a folder
                // comes later in the walk, as `name/`).
                _ => match fs::symlink_metadata(folder.join(OsStr::from_bytes(&p))) {
                    Ok(m) if m.is_dir() => changed.push(show(&p)),
                    _ => missing.push(show(&p)),
                },
            }
        }
        drop(tx);
        let panicked = handles.into_iter().any(|h| h.join().is_err());
        if panicked {
            unreadable.push("a verification worker failed; not every file was checked".into());
        }
        match failure {
            Some(f) => Err(f),
            None => Ok(()),
        }
    });
    if let Err(e) = joined {
        return TreeCheck::failed(e);
    }
    let hashed = results.into_inner().unwrap_or_else(|e| e.into_inner());
    for name in hashed.changed.names {
        changed.push(name);
    }
    for name in hashed.unreadable.names {
        unreadable.push(name);
    }
    let mut check = TreeCheck {
        files_checked: hashed.files,
        bytes_checked: hashed.bytes,
        omitted: hashed.changed.omitted + hashed.unreadable.omitted,
        ..TreeCheck::default()
    };
    let mut omitted = 0;
    for (list, capped) in [
        (&mut check.changed, changed),
        (&mut check.missing, missing),
        (&mut check.unlisted, unlisted),
        (&mut check.unreadable, unreadable),
    ] {
        let (names, more) = capped.take();
        *list = names;
        omitted += more;
    }
    check.omitted += omitted;
    if problem_count > 0 {
        let shown = problems.len() as u64;
        let more = if problem_count > shown {
            format!(" (and {} more)", problem_count - shown)
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
    use crate::engine::sums::render_sums;
    use sha2::{Digest, Sha256};
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
        fs::remove_file(f.join("data/back\\slash")).unwrap();
        fs::write(f.join("data/sub/extra.txt"), "new").unwrap();
        // A listed file replaced by a link to identical content: changed, never followed.
        fs::remove_file(f.join("app.ini")).unwrap();
        fs::write(dir.path().join("outside"), "x=1\n").unwrap();
        symlink(dir.path().join("outside"), f.join("app.ini")).unwrap();
        // A listed file replaced by a folder, with a sibling that sorts before the folder's
        // content: changed.
        fs::remove_file(f.join("data/sub/with space.txt")).unwrap();
        fs::create_dir(f.join("data/sub/with space.txt")).unwrap();
        fs::write(f.join("data/sub/with space.txt.bak"), "").unwrap();
        // A FIFO is unlisted.
        nix::unistd::mkfifo(&f.join("data/fifo"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        let c = check_tree(&f, &Progress::default());
        assert!(!c.ok());
        assert_eq!(
            c.changed,
            ["app.ini", "data/a.bin", "data/sub/with space.txt"]
        );
        assert_eq!(c.missing, ["data/back\\slash"]);
        assert_eq!(
            c.unlisted,
            [
                "data/fifo",
                "data/sub/extra.txt",
                "data/sub/with space.txt.bak"
            ]
        );
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
        use crate::engine::sums::plain_relative;
        assert_eq!(plain_relative(b"./a//b/./c").unwrap(), b"a/b/c");
        assert!(plain_relative(b"a/../b").is_none());
        assert!(plain_relative(b"/a").is_none());
        assert!(plain_relative(b"./").is_none());
    }

    /// A list made by hand in another order (`find . | xargs sha256sum`), with a repeated
    /// line: checked like a sorted one, the same problems found.
    #[test]
    fn an_unsorted_list_is_checked_like_a_sorted_one() {
        let dir = tempfile::tempdir().unwrap();
        let f = folder(dir.path());
        let sums = fs::read_to_string(f.join(SUMS_FILE_NAME)).unwrap();
        let mut lines: Vec<&str> = sums.lines().collect();
        lines.reverse();
        let first = lines[0].to_string();
        lines.push(&first);
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        fs::write(f.join(SUMS_FILE_NAME), text.replace("  data/", "  ./data/")).unwrap();
        let c = check_tree(&f, &Progress::default());
        assert!(c.ok(), "{c:?}");
        assert_eq!(c.files_checked, 5);
        fs::write(f.join("data/a.bin"), [9u8]).unwrap();
        fs::write(f.join("data/zzz"), "new").unwrap();
        let c = check_tree(&f, &Progress::default());
        assert_eq!(c.changed, ["data/a.bin"]);
        assert_eq!(c.unlisted, ["data/zzz"]);
    }
}
