//! Tests of the tree copy: what is copied, linked, cloned, skipped and refused.

use super::*;
use crate::engine::index::INDEX_FILE_NAME;
use crate::engine::sums::SUMS_FILE_NAME;
use std::fs;
use std::os::unix::fs::symlink;
use std::os::unix::fs::MetadataExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

pub(crate) fn request(
    home: &Path,
    dest: &Path,
    items: &[&str],
    prev: Option<&Path>,
) -> CopyRequest {
    CopyRequest {
        home: home.to_path_buf(),
        items: items.iter().map(|s| s.to_string()).collect(),
        dest: dest.to_path_buf(),
        previous: prev.map(Path::to_path_buf),
        must_not_contain: vec![],
        workers: 2,
        slow_copy: None,
        inject_enospc: false,
        skip_change_check: false,
    }
}

fn set_mtime(p: &Path, secs: i64) {
    set_times(p, secs, 123_456_789);
}

/// Sets the access and modification times of `p` (not following a link).
pub(crate) fn set_times(p: &Path, secs: i64, nsec: i64) {
    let t = nix::sys::time::TimeSpec::new(secs, nsec);
    nix::sys::stat::utimensat(
        None,
        p,
        &t,
        &t,
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )
    .unwrap();
}

/// A home with most of what a copy must handle.
pub(crate) fn sample_home(root: &Path) -> PathBuf {
    let home = root.join("home");
    fs::create_dir_all(home.join("data/sub/empty")).unwrap();
    fs::create_dir_all(home.join("other")).unwrap();
    fs::write(home.join("app.ini"), "x=1\n").unwrap();
    fs::write(home.join("data/with space.txt"), "spaces").unwrap();
    let bin: Vec<u8> = (0..70_000u32).map(|i| (i * 7 % 256) as u8).collect();
    fs::write(home.join("data/sub/blob.bin"), &bin).unwrap();
    fs::write(home.join("data/exec.sh"), "#!/bin/sh\n").unwrap();
    fs::set_permissions(home.join("data/exec.sh"), fs::Permissions::from_mode(0o751)).unwrap();
    fs::write(home.join("data/secret"), "s").unwrap();
    fs::set_permissions(home.join("data/secret"), fs::Permissions::from_mode(0o400)).unwrap();
    fs::write(home.join("other/not-an-item"), "no").unwrap();
    fs::write(root.join("outside.txt"), "outside").unwrap();
    symlink("../../outside.txt", home.join("data/out-link")).unwrap();
    symlink(root.join("outside.txt"), home.join("data/abs-link")).unwrap();
    symlink("with space.txt", home.join("data/rel-link")).unwrap();
    symlink("does-not-exist", home.join("data/dangling")).unwrap();
    fs::write(home.join("data/back\\slash"), "b").unwrap();
    fs::write(home.join("data/new\nline"), "n").unwrap();
    set_mtime(&home.join("app.ini"), 1_000_000_000);
    set_mtime(&home.join("data/sub/blob.bin"), 1_100_000_000);
    set_mtime(&home.join("data/out-link"), 1_200_000_000);
    fs::set_permissions(
        home.join("data/sub/empty"),
        fs::Permissions::from_mode(0o750),
    )
    .unwrap();
    set_mtime(&home.join("data/sub/empty"), 1_300_000_000);
    home
}

fn copy(req: &CopyRequest) -> CopyOutcome {
    fs::create_dir_all(&req.dest).unwrap();
    copy_items(req, &CancelToken::new(), &|_| {}).unwrap()
}

#[test]
fn copies_modes_times_links_empty_dirs_and_only_items() {
    let root = tempfile::tempdir().unwrap();
    let home = sample_home(root.path());
    let dest = root.path().join("stage");
    let out = copy(&request(&home, &dest, &["app.ini", "data/"], None));
    assert_eq!(out.stats.files, 7);
    assert_eq!(out.stats.files_copied, 7);
    assert_eq!(out.symlinks, 4);
    assert!(
        !dest.join("other").exists(),
        "files outside items are never copied"
    );
    // Modes and mtimes.
    for rel in [
        "app.ini",
        "data/exec.sh",
        "data/secret",
        "data/sub/blob.bin",
        "data/sub/empty",
    ] {
        let a = fs::symlink_metadata(home.join(rel)).unwrap();
        let b = fs::symlink_metadata(dest.join(rel)).unwrap();
        assert_eq!(a.mode(), b.mode(), "{rel}");
        assert_eq!(
            (a.mtime(), a.mtime_nsec()),
            (b.mtime(), b.mtime_nsec()),
            "{rel}"
        );
    }
    // Folders keep their times too (set after their content).
    for rel in ["data", "data/sub"] {
        let a = fs::metadata(home.join(rel)).unwrap();
        let b = fs::metadata(dest.join(rel)).unwrap();
        assert_eq!(a.mode(), b.mode(), "{rel}");
        assert_eq!(a.mtime(), b.mtime(), "{rel}");
    }
    assert!(dest.join("data/sub/empty").is_dir());
    // Links copied as links, never followed.
    let l = fs::symlink_metadata(dest.join("data/out-link")).unwrap();
    assert!(l.file_type().is_symlink());
    assert_eq!(
        fs::read_link(dest.join("data/out-link")).unwrap(),
        Path::new("../../outside.txt")
    );
    assert_eq!(l.mtime(), 1_200_000_000);
    assert!(fs::symlink_metadata(dest.join("data/abs-link"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(fs::symlink_metadata(dest.join("data/dangling"))
        .unwrap()
        .file_type()
        .is_symlink());
    // Binary content and odd names.
    assert_eq!(
        fs::read(dest.join("data/sub/blob.bin")).unwrap(),
        fs::read(home.join("data/sub/blob.bin")).unwrap()
    );
    assert_eq!(
        fs::read(dest.join("data/with space.txt")).unwrap(),
        b"spaces"
    );
    assert_eq!(fs::read(dest.join("data/new\nline")).unwrap(), b"n");
    // Checksums match sha256 of the content and the file passes the real sha256sum -c.
    write_sums_and_index(&dest, out.listing).unwrap();
    let st = Command::new("sha256sum")
        .arg("-c")
        .arg("--quiet")
        .arg(SUMS_FILE_NAME)
        .current_dir(&dest)
        .status()
        .unwrap();
    assert!(st.success());
    let sums = fs::read(dest.join(SUMS_FILE_NAME)).unwrap();
    let src = crate::engine::sums::SumsSource::open(&dest.join(SUMS_FILE_NAME), &dest).unwrap();
    assert_eq!((src.entries, src.problem_count), (7, 0));
    assert!(
        !String::from_utf8_lossy(&sums).contains("link"),
        "links are not checksummed"
    );
}

#[test]
fn unchanged_files_are_linked_changed_ones_copied() {
    let root = tempfile::tempdir().unwrap();
    let home = sample_home(root.path());
    let first = root.path().join("b1");
    let out1 = copy(&request(&home, &first, &["app.ini", "data/"], None));
    write_sums_and_index(&first, out1.listing).unwrap();
    // Change one file (content and size).
    fs::write(home.join("data/with space.txt"), "changed!").unwrap();
    let second = root.path().join("b2");
    let out2 = copy(&request(
        &home,
        &second,
        &["app.ini", "data/"],
        Some(&first),
    ));
    assert_eq!(out2.stats.files_linked, 6);
    assert_eq!(out2.stats.files_copied, 1);
    let ino = |p: PathBuf| fs::metadata(p).unwrap().ino();
    assert_eq!(ino(first.join("app.ini")), ino(second.join("app.ini")));
    assert_eq!(
        ino(first.join("data/sub/blob.bin")),
        ino(second.join("data/sub/blob.bin"))
    );
    assert_ne!(
        ino(first.join("data/with space.txt")),
        ino(second.join("data/with space.txt"))
    );
    assert_eq!(
        fs::read(second.join("data/with space.txt")).unwrap(),
        b"changed!"
    );
    // Reused checksums are right.
    write_sums_and_index(&second, out2.listing).unwrap();
    let st = Command::new("sha256sum")
        .args(["-c", "--quiet", SUMS_FILE_NAME])
        .current_dir(&second)
        .status()
        .unwrap();
    assert!(st.success());
    // A slot file that was tampered with (size changed) is not linked.
    fs::write(second.join("app.ini"), "tampered, longer").unwrap();
    let third = root.path().join("b3");
    let out3 = copy(&request(
        &home,
        &third,
        &["app.ini", "data/"],
        Some(&second),
    ));
    assert_eq!(out3.stats.files_copied, 1);
    assert_eq!(fs::read(third.join("app.ini")).unwrap(), b"x=1\n");
}

#[test]
fn item_problems_are_all_reported() {
    let root = tempfile::tempdir().unwrap();
    let home = sample_home(root.path());
    symlink(root.path(), home.join("linkdir")).unwrap();
    let dest = root.path().join("stage");
    fs::create_dir_all(&dest).unwrap();
    let req = request(
        &home,
        &dest,
        &[
            "app.ini",
            "missing.ini",
            "data/exec.sh/",
            "linkdir/x",
            "readme.txt",
            "../x",
        ],
        None,
    );
    match copy_items(&req, &CancelToken::new(), &|_| {}) {
        Err(CopyError::Items(p)) => {
            assert_eq!(p.len(), 5, "{p:?}");
            assert!(p.iter().any(|e| e.contains("must be a folder")), "{p:?}");
            let all = p.join("\n");
            assert!(
                all.contains("missing.ini") && all.contains("No such file"),
                "{all}"
            );
            assert!(all.contains("symbolic link"), "{all}");
            assert!(all.contains("collides"), "{all}");
            assert!(all.contains("plain relative"), "{all}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fs::read_dir(&dest).unwrap().count(), 0, "nothing copied");
}

fn mkfifo(p: &Path) {
    nix::unistd::mkfifo(p, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
}

/// FIFOs and sockets inside an item are never opened (a FIFO without a writer would block
/// the copy forever): skipped and listed. One that *is* an item is an error.
#[test]
fn special_files_are_skipped_inside_items_and_refused_as_items() {
    let root = tempfile::tempdir().unwrap();
    let home = sample_home(root.path());
    mkfifo(&home.join("data/pipe"));
    let _sock = std::os::unix::net::UnixListener::bind(home.join("data/sub/sock")).unwrap();
    let dest = root.path().join("stage");
    let out = copy(&request(&home, &dest, &["app.ini", "data/"], None));
    let mut skipped = out.skipped.clone();
    skipped.sort();
    let want =
        [home.join("data/pipe"), home.join("data/sub/sock")].map(|p| p.display().to_string());
    assert_eq!(skipped, want);
    assert!(!exists_nofollow_t(&dest.join("data/pipe")));
    assert!(!exists_nofollow_t(&dest.join("data/sub/sock")));
    assert!(dest.join("data/sub/blob.bin").is_file());

    mkfifo(&home.join("pipe.ini"));
    let dest = root.path().join("stage2");
    fs::create_dir_all(&dest).unwrap();
    match copy_items(
        &request(&home, &dest, &["app.ini", "pipe.ini"], None),
        &CancelToken::new(),
        &|_| {},
    ) {
        Err(CopyError::Items(p)) => {
            assert_eq!(p.len(), 1, "{p:?}");
            assert!(
                p[0].contains("pipe.ini") && p[0].contains("a FIFO"),
                "{p:?}"
            );
        }
        other => panic!("{other:?}"),
    }
}

fn exists_nofollow_t(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok()
}

/// Runs `f` on a thread; fails the test if it does not end within 10 s (a blocked open).
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("{what} did not end within 10 s"))
}

/// A previous slot whose index, or a folder of whose items, is a FIFO or a link to
/// /dev/zero: the copy neither blocks nor reads endlessly; it copies every file instead.
#[test]
fn a_special_file_in_the_previous_slot_never_blocks_the_copy() {
    let root = tempfile::tempdir().unwrap();
    let home = sample_home(root.path());
    let first = root.path().join("b1");
    let out1 = copy(&request(&home, &first, &["app.ini", "data/"], None));
    write_sums_and_index(&first, out1.listing).unwrap();
    let index = first.join(INDEX_FILE_NAME);
    let good_index = fs::read(&index).unwrap();
    for (k, plant) in ["fifo", "zero"].into_iter().enumerate() {
        fs::remove_file(&index).unwrap();
        match plant {
            "fifo" => mkfifo(&index),
            _ => symlink("/dev/zero", &index).unwrap(),
        }
        let req = request(
            &home,
            &root.path().join(format!("next{k}")),
            &["app.ini", "data/"],
            Some(&first),
        );
        let out = within(plant, move || copy(&req));
        assert_eq!(out.stats.files_linked, 0, "{plant}");
        assert_eq!(out.stats.files_copied, 7, "{plant}");
    }
    // A good index, but a folder of the previous slot became a FIFO.
    fs::remove_file(&index).unwrap();
    fs::write(&index, &good_index).unwrap();
    fs::remove_dir_all(first.join("data/sub")).unwrap();
    mkfifo(&first.join("data/sub"));
    let dest = root.path().join("next-dir");
    let req = request(&home, &dest, &["app.ini", "data/"], Some(&first));
    let out = within("a copy with a FIFO for a folder", move || copy(&req));
    assert_eq!(out.stats.files, 7);
    assert_eq!(
        fs::read(dest.join("data/sub/blob.bin")).unwrap(),
        fs::read(home.join("data/sub/blob.bin")).unwrap()
    );
}

#[test]
fn cancel_and_enospc_stop_the_copy() {
    let root = tempfile::tempdir().unwrap();
    let home = sample_home(root.path());
    let dest = root.path().join("stage");
    fs::create_dir_all(&dest).unwrap();
    let token = CancelToken::new();
    token.cancel();
    let r = copy_items(&request(&home, &dest, &["data/"], None), &token, &|_| {});
    assert!(matches!(r, Err(CopyError::Cancelled)));
    let dest2 = root.path().join("stage2");
    fs::create_dir_all(&dest2).unwrap();
    let mut req = request(&home, &dest2, &["data/"], None);
    req.inject_enospc = true;
    let e = copy_items(&req, &CancelToken::new(), &|_| {}).unwrap_err();
    assert!(e.to_string().contains("No space left on device"), "{e}");
}

/// A file written after its copy began is copied again, from what it is then: the copy holds
/// the file as it was when it stopped changing, nothing is named as changed, and it is indexed.
/// Every write after the first look at the file is seen by some attempt, as each attempt's
/// "before" is the previous one's "after".
#[test]
fn a_file_written_during_its_copy_is_copied_again_and_not_named_once_it_settles() {
    let root = tempfile::tempdir().unwrap();
    let home = root.path().join("home");
    let dest = root.path().join("dest");
    fs::create_dir_all(home.join("data")).unwrap();
    fs::create_dir_all(&dest).unwrap();
    let file = home.join("data/grows.log");
    let block: Vec<u8> = (0..1u32 << 20).map(|i| (i % 253) as u8).collect();
    fs::write(&file, block.repeat(16)).unwrap();
    let copied = dest.join("data/grows.log");
    // Appends until the copy of the file has data, then once more, then stops.
    let writer = {
        let (file, copied) = (file.clone(), copied.clone());
        std::thread::spawn(move || {
            use std::io::Write;
            let mut f = fs::OpenOptions::new().append(true).open(&file).unwrap();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            while fs::metadata(&copied).map_or(true, |m| m.len() == 0) {
                assert!(std::time::Instant::now() < deadline, "the copy never began");
                f.write_all(b"appended while copied\n").unwrap();
            }
            f.write_all(b"the last line\n").unwrap();
        })
    };
    let out = copy_items(
        &request(&home, &dest, &["data/"], None),
        &CancelToken::new(),
        &|_| {},
    )
    .unwrap();
    writer.join().unwrap();
    assert!(out.recopies >= 1, "recopies {}", out.recopies);
    assert!(out.changed.is_empty(), "{:?}", out.changed);
    assert_eq!(out.changed_count, 0);
    assert_eq!(out.stats.files, 1);
    assert_eq!(out.stats.files_copied + out.stats.files_cloned, 1);
    assert_eq!(fs::read(&copied).unwrap(), fs::read(&file).unwrap());
    assert!(fs::read(&copied).unwrap().ends_with(b"the last line\n"));
    write_sums_and_index(&dest, out.listing).unwrap();
    let index = fs::read_to_string(dest.join(INDEX_FILE_NAME)).unwrap();
    assert!(index.contains("data/grows.log"), "{index}");
}
