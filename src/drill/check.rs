//! The check after a drill's restore: every file the set's `SHA256SUMS` lists that the plan
//! restores is hashed where the restore put it.

use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::engine::digest::sha256_stream;
use crate::engine::sums::{SumsSource, SUMS_FILE_NAME};
use crate::restore::plan::LUI_RESTORE_KEY;
use crate::restore::record::ComponentRestore;
use crate::toolkit::fsutil;

/// What the check found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Checked {
    pub files: u64,
    /// Paths relative to the set's folder.
    pub mismatched: Vec<String>,
    pub missing: Vec<String>,
    /// Problems with the check itself (`SHA256SUMS` unreadable, a file unreadable).
    pub errors: Vec<String>,
}

/// Where the plan puts the file at `rel` (relative to the backup folder), if it restores it.
fn target_of(plan: &ComponentRestore, folder: &Path, rel: &[u8]) -> Option<PathBuf> {
    let rel = Path::new(std::ffi::OsStr::from_bytes(rel));
    plan.copy.iter().find_map(|op| {
        let from = Path::new(&op.from).strip_prefix(folder).ok()?;
        let rest = rel.strip_prefix(from).ok()?;
        Some(if rest.as_os_str().is_empty() {
            PathBuf::from(&op.to)
        } else {
            Path::new(&op.to).join(rest)
        })
    })
}

/// The SHA-256 of the regular file at `path` (never through a link); `None` when there is
/// none.
fn hash(path: &Path) -> Result<Option<[u8; 32]>, String> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
        Ok(m) if !m.is_file() => return Ok(None),
        Ok(_) => {}
    }
    let mut f = fsutil::open_regular(path).map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 1 << 20];
    sha256_stream(
        &mut f,
        &mut buf,
        |e| format!("{}: {e}", path.display()),
        |_| Ok(()),
    )
    .map(|(sha, _)| Some(sha))
}

/// The lines of a text file without those starting with `key` (any case), line endings
/// dropped.
fn lines_without(bytes: &[u8], key: &str) -> Vec<Vec<u8>> {
    bytes
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
        .filter(|l| !l.is_empty())
        .filter(|l| !(l.len() >= key.len() && l[..key.len()].eq_ignore_ascii_case(key.as_bytes())))
        .collect()
}

/// An edited file (the `lui.ini` a restore appends its line to): the source must match its
/// `SHA256SUMS` line, and the restored file must hold the source's lines plus exactly the
/// appended one.
fn check_edited(
    source: &Path,
    restored: &Path,
    sha: &[u8; 32],
    line: &str,
) -> Result<bool, String> {
    if hash(source)?.as_ref() != Some(sha) {
        return Ok(false);
    }
    let read = |p: &Path| fsutil::read_regular(p, 16 * 1024 * 1024).map_err(|e| e.to_string());
    let (src, got) = (read(source)?, read(restored)?);
    let key = line.split('=').next().unwrap_or(LUI_RESTORE_KEY);
    let key = format!("{key}=");
    let appended: Vec<&[u8]> = got
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| l.len() >= key.len() && l[..key.len()].eq_ignore_ascii_case(key.as_bytes()))
        .collect();
    Ok(appended == [line.as_bytes()] && lines_without(&src, &key) == lines_without(&got, &key))
}

/// Hashes every file of `plan`'s backup folder that the plan restores, where it was restored.
pub fn check_restored(plan: &ComponentRestore) -> Checked {
    let mut out = Checked::default();
    let folder = PathBuf::from(&plan.source_folder);
    let sums = match SumsSource::open(&folder.join(SUMS_FILE_NAME), &std::env::temp_dir())
        .and_then(|s| s.entries().map(|e| (s, e)))
    {
        Ok((_, entries)) => entries,
        Err(e) => {
            out.errors.push(e.to_string());
            return out;
        }
    };
    for entry in sums {
        let (rel, sha) = match entry {
            Ok(e) => e,
            Err(e) => {
                out.errors.push(e.to_string());
                break;
            }
        };
        let Some(target) = target_of(plan, &folder, &rel) else {
            continue;
        };
        let shown = String::from_utf8_lossy(&rel).into_owned();
        out.files += 1;
        let edit = plan.edit.iter().find(|e| Path::new(&e.path) == target);
        let source = folder.join(std::ffi::OsStr::from_bytes(&rel));
        let verdict = match (edit, hash(&target)) {
            (_, Ok(None)) => {
                out.missing.push(shown);
                continue;
            }
            (_, Err(e)) => {
                out.errors.push(e);
                continue;
            }
            (Some(e), Ok(Some(_))) => check_edited(&source, &target, &sha, &e.append),
            (None, Ok(Some(got))) => Ok(got == sha),
        };
        match verdict {
            Ok(true) => {}
            Ok(false) => out.mismatched.push(shown),
            Err(e) => out.errors.push(e),
        }
    }
    out
}
