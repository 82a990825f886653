//! One file: hard-linked from the previous slot when unchanged, else cloned (`FICLONE`) where
//! the file system can share extents, else copied; its SHA-256 read on the way (or from the
//! clone) and its index entry when it did not change while copied.

use std::fs::{self, File, FileTimes, OpenOptions};
use std::io::{self, Seek, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::pool::{FileJob, Shared};
use super::CopyError;
use crate::engine::digest::sha256_stream;
use crate::engine::fsutil::{IoContext, IoError};
use crate::engine::index::IndexEntry;
use crate::engine::walk::{Kind, Stat};

const BUF_SIZE: usize = 1 << 20;

/// Directory descriptors of one folder in the previous slot and in the staging folder, for the
/// `*at` calls of the hard-link path (one path component to resolve instead of the whole path).
pub(super) struct DirFds {
    prev: File,
    dest: File,
}

pub(super) fn open_dir_fds(sh: &Shared<'_>, parent: &Path) -> Option<DirFds> {
    let prev = sh.req.previous.as_ref()?;
    if !sh.has_index {
        return None;
    }
    Some(DirFds {
        prev: open_dir(&prev.join(parent))?,
        dest: open_dir(&sh.req.dest.join(parent))?,
    })
}

/// A folder's descriptor; `None` when it is anything else (never follows a link, never waits
/// on a FIFO put at a folder's name in the previous slot).
fn open_dir(path: &Path) -> Option<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .ok()
}

/// Per worker: whether cloning works from each source device into the destination.
#[derive(Default)]
pub(super) struct CloneState {
    devices: Vec<(u64, bool)>,
}

impl CloneState {
    fn allowed(&self, dev: u64) -> bool {
        self.devices.iter().all(|&(d, ok)| d != dev || ok)
    }

    fn learn(&mut self, dev: u64, ok: bool) {
        if let Some(e) = self.devices.iter_mut().find(|e| e.0 == dev) {
            e.1 = ok;
        } else {
            self.devices.push((dev, ok));
        }
    }
}

/// Hard-links `name` from the previous slot's folder when it still has the recorded size and
/// mtime. False when it cannot (then the file is copied).
fn try_link(fds: &DirFds, name: &std::ffi::OsStr, entry: &IndexEntry) -> bool {
    use nix::fcntl::AtFlags;
    let (prev, dest) = (fds.prev.as_raw_fd(), fds.dest.as_raw_fd());
    let ok = match nix::sys::stat::fstatat(Some(prev), name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) => {
            (st.st_mode & libc::S_IFMT) == libc::S_IFREG
                && u64::try_from(st.st_size).ok() == Some(entry.size)
                && (st.st_mtime, st.st_mtime_nsec) == entry.mtime
        }
        Err(_) => false,
    };
    ok && nix::unistd::linkat(Some(prev), name, Some(dest), name, AtFlags::empty()).is_ok()
}

/// Copies, clones or links one file; a file that changes while copied is copied again, up to
/// [`MAX_RECOPIES`] times.
pub(super) fn copy_one(
    sh: &Shared<'_>,
    job: &FileJob,
    buf: &mut Vec<u8>,
    fds: Option<&DirFds>,
    clone: &mut CloneState,
) -> Result<FileCopied, CopyError> {
    let path = job.path();
    if let (Some(fds), Some(entry), Some(name)) = (fds, job.prev.as_ref(), path.file_name()) {
        if entry.same_source(&job.stat) && try_link(fds, name, entry) {
            sh.counters.files_linked.fetch_add(1, Ordering::Relaxed);
            sh.counters
                .bytes_linked
                .fetch_add(entry.size, Ordering::Relaxed);
            return Ok(FileCopied {
                sha: entry.sha256,
                entry: Some(*entry),
                changed: false,
            });
        }
    }
    if buf.is_empty() {
        buf.resize(BUF_SIZE, 0);
    }
    let src = sh.req.home.join(path);
    let dst = sh.req.dest.join(path);
    copy_file(sh, &src, &dst, buf, clone)
}

/// Errors of `FICLONE` that say the file systems cannot share extents (here, or between these
/// two): cloning is not tried again for that source device.
fn clone_unsupported(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::EOPNOTSUPP
                | libc::EXDEV
                | libc::EINVAL
                | libc::ENOTTY
                | libc::ENOSYS
                | libc::EPERM
                | libc::EBADF
        )
    )
}

/// Clones `input` into the empty `output` (`FICLONE`).
fn ficlone(output: &File, input: &File) -> io::Result<()> {
    // SAFETY: both descriptors are open for the call (borrowed Files); FICLONE takes the
    // source descriptor as its integer argument and writes no memory of this process.
    let rc = unsafe { libc::ioctl(output.as_raw_fd(), libc::FICLONE, input.as_raw_fd()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Reads `f` from its start to its end, hashing; returns the digest and the length read.
fn hash_stream(
    sh: &Shared<'_>,
    f: &mut File,
    path: &Path,
    buf: &mut [u8],
) -> Result<([u8; 32], u64), CopyError> {
    let full = buf.len();
    sha256_stream(
        f,
        buf,
        |e| IoError::new("reading", path, e).into(),
        |chunk| sh.after_chunk(chunk.len() == full),
    )
}

/// How often a file that changed while it was copied is copied again before it is reported
/// as changed during the backup.
pub const MAX_RECOPIES: u32 = 3;

/// One file's result: its digest, its index entry when it may be reused next time, and whether
/// it still changed while copied after every retry.
pub(super) struct FileCopied {
    pub(super) sha: [u8; 32],
    pub(super) entry: Option<IndexEntry>,
    pub(super) changed: bool,
}

fn copy_file(
    sh: &Shared<'_>,
    src: &Path,
    dst: &Path,
    buf: &mut [u8],
    clone: &mut CloneState,
) -> Result<FileCopied, CopyError> {
    // O_NOFOLLOW: if the file was replaced by a link since it was listed, fail instead of
    // following it; O_NONBLOCK: if it was replaced by a FIFO, the open does not wait for a
    // writer (the check below then refuses it).
    let mut input = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NOCTTY | libc::O_NONBLOCK)
        .open(src)
        .ctx("opening", src)?;
    let mut before = Stat::of(&input.metadata().ctx("reading metadata of", src)?);
    if before.kind() != Kind::File {
        return Err(CopyError::Io(IoError::new(
            "copying",
            src,
            io::Error::other("no longer a regular file"),
        )));
    }
    let mut output = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dst)
        .ctx("creating", dst)?;
    if sh.take_enospc() {
        return Err(
            IoError::new("writing", dst, io::Error::from_raw_os_error(libc::ENOSPC)).into(),
        );
    }
    // Size, mtime and ctime (and inode) before and after the copy: a file written meanwhile
    // may be torn in the copy, so it is copied again from the start, from what it is now.
    let mut recopies = 0;
    let (sha, stable, cloned) = loop {
        let (sha, copied, cloned) =
            copy_data(sh, &mut input, &mut output, &before, src, dst, buf, clone)?;
        let after = if sh.req.skip_change_check {
            before
        } else {
            Stat::of(&input.metadata().ctx("reading metadata of", src)?)
        };
        let entry = IndexEntry::of_source(&before, sha);
        let stable = entry.same_source(&after) && copied == before.size;
        if stable || recopies == MAX_RECOPIES {
            break (sha, stable.then_some(entry), cloned);
        }
        recopies += 1;
        sh.counters.recopies.fetch_add(1, Ordering::Relaxed);
        input.rewind().ctx("reading", src)?;
        output.set_len(0).ctx("writing", dst)?;
        output.rewind().ctx("writing", dst)?;
        before = after;
    };
    let counter = if cloned {
        &sh.counters.files_cloned
    } else {
        &sh.counters.files_copied
    };
    counter.fetch_add(1, Ordering::Relaxed);
    if sh.as_root {
        let _ = std::os::unix::fs::fchown(&output, Some(before.uid), Some(before.gid));
    }
    output
        .set_permissions(fs::Permissions::from_mode(before.mode & 0o7777))
        .ctx("setting mode of", dst)?;
    let times = FileTimes::new()
        .set_accessed(system_time(before.atime.0, before.atime.1))
        .set_modified(system_time(before.mtime.0, before.mtime.1));
    output.set_times(times).ctx("setting times of", dst)?;
    drop::<File>(output);
    Ok(FileCopied {
        sha,
        changed: stable.is_none(),
        entry: stable,
    })
}

/// Puts the data of `input` into the empty `output`: cloned where the file systems can share
/// extents (the digest then read back from the clone), else copied while hashed. Returns the
/// digest, the bytes in the copy and whether it was cloned.
#[allow(clippy::too_many_arguments)]
fn copy_data(
    sh: &Shared<'_>,
    input: &mut File,
    output: &mut File,
    before: &Stat,
    src: &Path,
    dst: &Path,
    buf: &mut [u8],
    clone: &mut CloneState,
) -> Result<([u8; 32], u64, bool), CopyError> {
    let mut cloned = false;
    if before.size > 0 && clone.allowed(before.dev) {
        match ficlone(output, input) {
            Ok(()) => {
                clone.learn(before.dev, true);
                cloned = true;
            }
            Err(e) => {
                if clone_unsupported(&e) {
                    clone.learn(before.dev, false);
                } else {
                    tracing::debug!(path = %src.display(), error = %e, "clone failed; copying");
                }
                // A failed clone leaves the new file empty: the copy below starts from zero.
                output.set_len(0).ctx("writing", dst)?;
            }
        }
    }
    if cloned {
        // The checksum is of what the backup holds: the clone, read back.
        output.rewind().ctx("reading", dst)?;
        let (sha, n) = hash_stream(sh, output, dst, buf)?;
        sh.counters.bytes_cloned.fetch_add(n, Ordering::Relaxed);
        return Ok((sha, n, true));
    }
    let full = buf.len();
    let (sha, copied) = sha256_stream(
        input,
        buf,
        |e| IoError::new("reading", src, e).into(),
        |chunk| {
            output.write_all(chunk).ctx("writing", dst)?;
            sh.counters
                .bytes_copied
                .fetch_add(chunk.len() as u64, Ordering::Relaxed);
            sh.after_chunk(chunk.len() == full)
        },
    )?;
    Ok((sha, copied, false))
}

fn system_time(sec: i64, nsec: i64) -> SystemTime {
    let nsec = u32::try_from(nsec.clamp(0, 999_999_999)).unwrap_or(0);
    if sec >= 0 {
        UNIX_EPOCH + Duration::new(sec.unsigned_abs(), nsec)
    } else {
        UNIX_EPOCH - Duration::from_secs(sec.unsigned_abs()) + Duration::from_nanos(u64::from(nsec))
    }
}
