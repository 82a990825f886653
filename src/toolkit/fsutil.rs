//! File-system helpers the engine relies on for crash safety and privacy: atomic file
//! replacement, directory fsync, durable flush of a whole tree, removal of trees that may hold
//! read-only folders, the one way to read back a file the product wrote ([`read_regular`]), and
//! private folders. Every error names the operation, the path and the OS error.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// An I/O error with the operation and the path it concerns, e.g.
/// `writing /srv/hub/backup.staging-X/hub.ini: No space left on device (os error 28)`.
#[derive(Debug, thiserror::Error)]
#[error("{op} {}: {source}", path.display())]
pub struct IoError {
    pub op: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

impl IoError {
    pub fn new(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        IoError {
            op,
            path: path.into(),
            source,
        }
    }

    /// Why [`read_regular`] refused the file, when it did.
    pub fn refusal(&self) -> Option<&Refused> {
        self.source
            .get_ref()
            .and_then(|e| e.downcast_ref::<Refused>())
    }

    /// True when the file or folder does not exist.
    pub fn is_not_found(&self) -> bool {
        self.source.kind() == io::ErrorKind::NotFound
    }

    /// True when the OS said the disk (or quota) is full.
    pub fn is_no_space(&self) -> bool {
        matches!(
            self.source.raw_os_error(),
            Some(libc::ENOSPC) | Some(libc::EDQUOT)
        )
    }
}

/// Shorthand: attach an operation and a path to an `io::Result`.
pub trait IoContext<T> {
    fn ctx(self, op: &'static str, path: &Path) -> Result<T, IoError>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, op: &'static str, path: &Path) -> Result<T, IoError> {
        self.map_err(|e| IoError::new(op, path, e))
    }
}

/// fsync a directory, making renames and new entries in it durable.
pub fn fsync_dir(dir: &Path) -> Result<(), IoError> {
    let f = File::open(dir).ctx("opening folder", dir)?;
    f.sync_all().ctx("syncing folder", dir)
}

/// The parent folder of `path` ("." for a bare name).
pub fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Replaces `path` atomically with `bytes`: write a temp file beside it, fsync, rename, fsync
/// the folder. A reader sees the old or the new content, never a mix, also after a crash.
/// The file is created with mode 0600: everything written this way is the product's own state
/// (job records, reports, the register of imports), which only its user may read.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    replace(path, bytes, None)?;
    fsync_dir(&parent_of(path))
}

/// [`write_atomic`] without the final fsync of the folder: the file is complete and visible to
/// any later process at once (a crash of this one cannot lose it), and durable against a power
/// loss with the folder's next fsync.
pub fn write_visible(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    replace(path, bytes, None)
}

/// [`write_atomic`] keeping the permissions of the file it replaces (an operator's file);
/// private when there was none.
pub fn write_atomic_keeping_mode(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    let mode = fs::metadata(path).ok().map(|m| m.permissions());
    replace(path, bytes, mode)?;
    fsync_dir(&parent_of(path))
}

/// Writes a temp file beside `path` (private, or `mode`), fsyncs it and renames it over
/// `path`; on failure the temp file is removed.
fn replace(path: &Path, bytes: &[u8], mode: Option<fs::Permissions>) -> Result<(), IoError> {
    let dir = parent_of(path);
    let mut tmp_name: OsString = path.file_name().map(OsString::from).unwrap_or_default();
    tmp_name.push(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .ctx("creating", &tmp)?;
        if let Some(mode) = mode {
            f.set_permissions(mode)
                .ctx("setting the permissions of", &tmp)?;
        }
        f.write_all(bytes).ctx("writing", &tmp)?;
        f.sync_all().ctx("syncing", &tmp)?;
        drop(f);
        fs::rename(&tmp, path).ctx("renaming into place", path)
    })();
    if result.is_err() {
        // Best effort: the temp file is ours and useless now; the error above is the one
        // that matters.
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Writes a new file (which must not exist) and fsyncs it.
pub fn write_new_synced(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .ctx("creating", path)?;
    f.write_all(bytes).ctx("writing", path)?;
    f.sync_all().ctx("syncing", path)
}

/// Makes everything written under `root` durable. Uses `syncfs(2)` on the file system holding
/// `root`: one journal commit instead of one fsync per file, which for 20,000 small files is the
/// difference between seconds and minutes. Falls back to fsyncing every file and folder.
pub fn sync_tree(root: &Path) -> Result<(), IoError> {
    let f = File::open(root).ctx("opening folder", root)?;
    // SAFETY: syncfs only reads the descriptor, which `f` keeps open for the call.
    let rc = unsafe { libc::syncfs(f.as_raw_fd()) };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    tracing::warn!(path = %root.display(), error = %err, "syncfs failed; syncing file by file");
    fsync_each(root)
}

fn fsync_each(path: &Path) -> Result<(), IoError> {
    let meta = fs::symlink_metadata(path).ctx("reading metadata of", path)?;
    if meta.is_dir() {
        for entry in fs::read_dir(path).ctx("listing", path)? {
            let entry = entry.ctx("listing", path)?;
            fsync_each(&entry.path())?;
        }
        fsync_dir(path)
    } else if meta.is_file() {
        File::open(path)
            .ctx("opening", path)?
            .sync_all()
            .ctx("syncing", path)
    } else {
        Ok(())
    }
}

/// Removes a file or a whole tree; a missing path is fine. Read-only folders (kept from the
/// source by the copy) are made writable first when the plain removal is refused.
pub fn remove_tree(path: &Path) -> Result<(), IoError> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(IoError::new("reading metadata of", path, e)),
    };
    if !meta.is_dir() {
        return match fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(IoError::new("removing", path, e)),
            _ => Ok(()),
        };
    }
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            make_dirs_writable(path);
            match fs::remove_dir_all(path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    Err(IoError::new("removing", path, e))
                }
                _ => Ok(()),
            }
        }
        Err(e) => Err(IoError::new("removing", path, e)),
    }
}

fn make_dirs_writable(dir: &Path) {
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                make_dirs_writable(&entry.path());
            }
        }
    }
}

/// True when `path` exists (without following a final symlink).
pub fn exists_nofollow(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// Why [`read_regular`] refused a file that exists. Carried inside the [`IoError`]'s source,
/// so the message names the file; [`IoError::refusal`] gives it back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// A folder, symbolic link, FIFO, socket or device: never opened for reading, so it can
    /// neither block the reader (a FIFO without a writer) nor feed it endlessly (`/dev/zero`).
    #[error("is {0}, not a regular file (not read)")]
    NotRegular(&'static str),
    /// Larger than what this file can legitimately hold.
    #[error("is larger than {limit} bytes, the most this file may hold (not read)")]
    TooLarge { limit: u64 },
}

/// The most a state file of the product (a job record, a report, the register of imports) may
/// hold when it is read back.
pub const MAX_STATE_FILE_BYTES: u64 = 64 << 20;

/// What a file type is, in words, for error messages.
pub fn describe_type(ft: fs::FileType) -> &'static str {
    if ft.is_file() {
        "a regular file"
    } else if ft.is_dir() {
        "a folder"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else {
        "a special file"
    }
}

fn refused(path: &Path, why: Refused) -> IoError {
    let kind = match why {
        Refused::NotRegular(_) => io::ErrorKind::InvalidInput,
        Refused::TooLarge { .. } => io::ErrorKind::FileTooLarge,
    };
    IoError::new("reading", path, io::Error::new(kind, why))
}

/// Opens a file the product wrote for reading as a stream, with the checks of
/// [`read_regular`] but no size limit: the caller reads it piece by piece (a `SHA256SUMS` or
/// index of millions of lines is never held whole).
pub fn open_regular(path: &Path) -> Result<File, IoError> {
    // Checked before the open too, so a device node is not even opened (opening some devices
    // has effects); the fstat below closes the race with a swap after this check.
    let meta = fs::symlink_metadata(path).ctx("reading metadata of", path)?;
    if !meta.is_file() {
        return Err(refused(
            path,
            Refused::NotRegular(describe_type(meta.file_type())),
        ));
    }
    let f = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(refused(path, Refused::NotRegular("a symbolic link")))
        }
        Err(e) => return Err(IoError::new("opening", path, e)),
    };
    let meta = f.metadata().ctx("reading metadata of", path)?;
    if !meta.is_file() {
        return Err(refused(
            path,
            Refused::NotRegular(describe_type(meta.file_type())),
        ));
    }
    Ok(f)
}

/// Reads back a file the product wrote (a slot's `readme.txt`, `SHA256SUMS` or index, a job
/// record, a report, ...), whatever was put at its name since: the only way such files are
/// read. A final symbolic link is never followed (`O_NOFOLLOW`), the open never waits
/// (`O_NONBLOCK`: a FIFO without a writer would block it forever), the opened file must be a
/// regular file (`fstat`), and at most `limit` bytes are read: anything else is an error naming
/// the file ([`Refused`]). A missing file is an error with `NotFound` ([`IoError::is_not_found`]).
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, IoError> {
    let f = open_regular(path)?;
    let meta = f.metadata().ctx("reading metadata of", path)?;
    if meta.size() > limit {
        return Err(refused(path, Refused::TooLarge { limit }));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.size()).unwrap_or(0));
    f.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .ctx("reading", path)?;
    if bytes.len() as u64 > limit {
        // It grew while it was read.
        return Err(refused(path, Refused::TooLarge { limit }));
    }
    Ok(bytes)
}

/// The mode of a folder's permission bits (`mode & 0o7777`); 0700 when it cannot be read.
pub fn folder_mode(dir: &Path) -> u32 {
    fs::metadata(dir).map_or(0o700, |m| m.mode() & 0o7777)
}

/// Creates the folder `dir`, which must not exist, with exactly `mode` (not reduced by the
/// umask).
pub fn create_dir_with_mode(dir: &Path, mode: u32) -> Result<(), IoError> {
    fs::DirBuilder::new()
        .mode(mode)
        .create(dir)
        .ctx("creating folder", dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(mode)).ctx("setting mode of", dir)
}

/// Creates `dir` and any missing parents, each with exactly `mode` (not reduced by the umask);
/// folders that exist are left as they are. Returns the folders it created, outermost first.
pub fn create_dirs_with_mode(dir: &Path, mode: u32) -> Result<Vec<PathBuf>, IoError> {
    let mut missing = Vec::new();
    for a in dir.ancestors() {
        if a.as_os_str().is_empty() || exists_nofollow(a) {
            break;
        }
        missing.push(a.to_path_buf());
    }
    let mut made = Vec::new();
    for d in missing.into_iter().rev() {
        match create_dir_with_mode(&d, mode) {
            Ok(()) => made.push(d),
            // Made by someone else meanwhile: theirs, left as it is.
            Err(e) if e.source.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Ok(made)
}

/// Creates a state folder of the product (and missing parents) private to its user (0700). An
/// existing one that others may read or enter is narrowed to 0700 when it is provably the
/// product's: empty, or holding `own_entry` (the master's `jobs/`, the agent's
/// `transactions/`). Any other folder is left as it is, with a warning: a state dir set to a
/// shared folder (`/tmp`, say) must not have its mode changed under everyone else. A folder
/// whose mode cannot be changed (not its owner) is a warning too, not an error.
pub fn ensure_private_dir(dir: &Path, own_entry: &str) -> Result<(), IoError> {
    create_dirs_with_mode(dir, 0o700)?;
    let meta = fs::metadata(dir).ctx("reading metadata of", dir)?;
    if !meta.is_dir() {
        return Err(IoError::new(
            "using folder",
            dir,
            io::Error::new(io::ErrorKind::InvalidInput, "not a folder"),
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 == 0 {
        return Ok(());
    }
    let empty = fs::read_dir(dir).ctx("listing", dir)?.next().is_none();
    if empty || exists_nofollow(&dir.join(own_entry)) {
        tracing::info!(path = %dir.display(), mode = format!("{mode:o}"), "making the state folder private (0700)");
        if let Err(e) = fs::set_permissions(dir, fs::Permissions::from_mode(0o700)) {
            // Not its owner (a mounted volume, say): the files in it are still 0600.
            tracing::warn!(path = %dir.display(), error = %e, "cannot make the state folder private");
        }
        Ok(())
    } else {
        tracing::warn!(path = %dir.display(), mode = format!("{mode:o}"),
            "the state folder can be read by other users and does not look like this product's own (no {own_entry}); its mode is left as it is");
        Ok(())
    }
}

/// Renames `from` to `to` only when nothing is at `to` (`renameat2` with `RENAME_NOREPLACE`):
/// a plain rename silently replaces a file or an empty folder there. Fails with
/// `AlreadyExists` instead. A file system without the flag (EINVAL) gets a check and a plain
/// rename.
pub fn rename_noreplace(from: &Path, to: &Path) -> Result<(), IoError> {
    use nix::fcntl::{renameat2, RenameFlags};
    match renameat2(None, from, None, to, RenameFlags::RENAME_NOREPLACE) {
        Ok(()) => Ok(()),
        Err(nix::errno::Errno::EINVAL) => {
            if exists_nofollow(to) {
                return Err(IoError::new(
                    "renaming onto",
                    to,
                    io::Error::from(io::ErrorKind::AlreadyExists),
                ));
            }
            fs::rename(from, to).ctx("renaming", from)
        }
        Err(e) => Err(IoError::new("renaming", from, io::Error::from(e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn remove_tree_handles_read_only_dirs_and_missing() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("t");
        fs::create_dir_all(t.join("a/b")).unwrap();
        fs::write(t.join("a/b/f"), b"x").unwrap();
        fs::set_permissions(t.join("a"), fs::Permissions::from_mode(0o555)).unwrap();
        remove_tree(&t).unwrap();
        assert!(!t.exists());
        remove_tree(&t).unwrap();
    }

    #[test]
    fn write_atomic_creates_private_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("rec.json");
        write_atomic(&p, b"{}").unwrap();
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, 0o600);
    }

    #[test]
    fn read_regular_reads_regular_files_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        fs::write(&p, b"hello").unwrap();
        assert_eq!(read_regular(&p, 5).unwrap(), b"hello");
        let e = read_regular(&p, 4).unwrap_err();
        assert_eq!(e.refusal(), Some(&Refused::TooLarge { limit: 4 }));
        assert!(e.to_string().contains(&p.display().to_string()), "{e}");
        let e = read_regular(&dir.path().join("missing"), 5).unwrap_err();
        assert!(e.is_not_found() && e.refusal().is_none(), "{e}");
    }

    /// Each special file is refused at once, by name, without blocking or reading endlessly.
    #[test]
    fn read_regular_refuses_links_fifos_sockets_devices_and_folders() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let fifo = d.join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let sock = d.join("sock");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let zero = d.join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let target = d.join("target");
        fs::write(&target, b"x").unwrap();
        let link = d.join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let cases = [
            (fifo, "a FIFO"),
            (sock, "a socket"),
            (zero, "a symbolic link"),
            (link, "a symbolic link"),
            (PathBuf::from("/dev/zero"), "a character device"),
            (d.to_path_buf(), "a folder"),
        ];
        for (path, what) in cases {
            let t0 = std::time::Instant::now();
            let e = read_regular(&path, 1 << 20).unwrap_err();
            assert!(t0.elapsed() < std::time::Duration::from_secs(2));
            assert_eq!(e.refusal(), Some(&Refused::NotRegular(what)), "{e}");
            let msg = e.to_string();
            assert!(
                msg.contains(&path.display().to_string()) && msg.contains(what),
                "{msg}"
            );
        }
    }

    #[test]
    fn new_folders_get_the_given_mode_and_existing_ones_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old");
        fs::create_dir(&old).unwrap();
        fs::set_permissions(&old, fs::Permissions::from_mode(0o755)).unwrap();
        let deep = old.join("a/b/c");
        let made = create_dirs_with_mode(&deep, 0o710).unwrap();
        assert_eq!(made, [old.join("a"), old.join("a/b"), deep.clone()]);
        for d in &made {
            assert_eq!(
                fs::metadata(d).unwrap().mode() & 0o7777,
                0o710,
                "{}",
                d.display()
            );
        }
        assert_eq!(fs::metadata(&old).unwrap().mode() & 0o7777, 0o755);
        assert!(create_dirs_with_mode(&deep, 0o700).unwrap().is_empty());
        assert_eq!(folder_mode(&deep), 0o710);
        assert_eq!(folder_mode(&dir.path().join("missing")), 0o700);
    }

    #[test]
    fn state_folders_are_private_and_only_provably_own_ones_are_narrowed() {
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().mode() & 0o7777;
        let fresh = dir.path().join("new/state");
        ensure_private_dir(&fresh, "jobs").unwrap();
        assert_eq!(mode(&fresh), 0o700);
        assert_eq!(mode(&dir.path().join("new")), 0o700);
        // An older install: wide, holding the product's records.
        let ours = dir.path().join("ours");
        fs::create_dir_all(ours.join("jobs")).unwrap();
        fs::set_permissions(&ours, fs::Permissions::from_mode(0o755)).unwrap();
        ensure_private_dir(&ours, "jobs").unwrap();
        assert_eq!(mode(&ours), 0o700);
        // A shared folder named as state dir by mistake is not changed.
        let shared = dir.path().join("shared");
        fs::create_dir_all(shared.join("someone-elses")).unwrap();
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
        ensure_private_dir(&shared, "jobs").unwrap();
        assert_eq!(mode(&shared), 0o1777);
    }

    #[test]
    fn rename_noreplace_never_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            dir.path().join("a"),
            dir.path().join("b"),
            dir.path().join("c"),
        );
        fs::write(&a, b"a").unwrap();
        fs::write(&b, b"b").unwrap();
        let e = rename_noreplace(&a, &b).unwrap_err();
        assert_eq!(e.source.kind(), io::ErrorKind::AlreadyExists, "{e}");
        assert_eq!(fs::read(&b).unwrap(), b"b");
        fs::create_dir(&c).unwrap();
        fs::create_dir(dir.path().join("d")).unwrap();
        assert!(
            rename_noreplace(&dir.path().join("d"), &c).is_err(),
            "an empty folder too"
        );
        rename_noreplace(&a, &dir.path().join("e")).unwrap();
        assert!(!a.exists());
        assert_eq!(fs::read(dir.path().join("e")).unwrap(), b"a");
    }

    #[test]
    fn io_error_names_path_and_os_error() {
        let e = IoError::new(
            "writing",
            "/x/y",
            io::Error::from_raw_os_error(libc::ENOSPC),
        );
        assert!(e.is_no_space());
        let s = e.to_string();
        assert!(
            s.contains("/x/y") && s.contains("No space left on device"),
            "{s}"
        );
    }
}
