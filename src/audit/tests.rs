use super::*;

fn entry(token: &str, status: u16) -> NewEntry {
    NewEntry {
        token: Some(token.to_string()),
        role: Some(Role::Admin),
        method: "POST".into(),
        path: "/api/v1/backups".into(),
        status,
        job_id: None,
        remote_addr: Some("127.0.0.1".into()),
    }
}

fn all(log: &AuditLog) -> Vec<AuditEntry> {
    let page = log
        .read(&AuditQuery {
            limit: 100_000,
            ..Default::default()
        })
        .unwrap();
    assert!(page.next_cursor.is_none());
    page.items
}

#[test]
fn lines_are_numbered_and_the_numbering_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit");
    let log = AuditLog::open(&audit, 1 << 20).unwrap();
    let first = log.append(entry("a", 202)).unwrap();
    assert_eq!(first.seq, 1);
    // The line is what append returned, its time with 6 decimals.
    assert_eq!(all(&log), vec![first.clone()]);
    let text = std::fs::read_to_string(audit.join(FILE_NAME)).unwrap();
    let time = first.time.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    assert!(text.contains(&format!("\"time\":\"{time}\"")), "{text}");
    assert_eq!(log.append(entry("b", 403)).unwrap().seq, 2);
    drop(log);
    let log = AuditLog::open(&audit, 1 << 20).unwrap();
    assert_eq!(log.append(entry("c", 401)).unwrap().seq, 3);
    let got: Vec<_> = all(&log)
        .into_iter()
        .map(|e| (e.seq, e.token, e.status))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, Some("a".into()), 202),
            (2, Some("b".into()), 403),
            (3, Some("c".into()), 401)
        ]
    );
    // Private: the folder 0700, the file 0600.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&audit), 0o700);
    assert_eq!(mode(&audit.join(FILE_NAME)), 0o600);
}

#[test]
fn rotation_keeps_five_files_reads_them_in_order_and_continues_numbering() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit");
    let log = AuditLog::open(&audit, 1024).unwrap();
    let line_len = serde_json::to_vec(&log.append(entry("t", 200)).unwrap())
        .unwrap()
        .len() as u64
        + 1;
    let per_file = 1024 / line_len;
    // Enough lines for more than 6 files: the oldest get dropped.
    let total = per_file * 8;
    for _ in 1..total {
        log.append(entry("t", 200)).unwrap();
    }
    for n in 1..=KEEP_ROTATED {
        let p = rotated_path(&audit, n);
        assert!(p.is_file(), "{} missing", p.display());
        assert!(std::fs::metadata(&p).unwrap().len() <= 1024);
    }
    assert!(!rotated_path(&audit, KEEP_ROTATED + 1).exists());
    let got = all(&log);
    // What is kept is the newest lines, every one, in order, ending with the last.
    assert_eq!(got.last().unwrap().seq, total);
    assert!(got.len() as u64 >= per_file * 5, "{}", got.len());
    assert!(got.windows(2).all(|w| w[1].seq == w[0].seq + 1));
    // The numbering goes on after a reopen with the files rotated.
    drop(log);
    let log = AuditLog::open(&audit, 1024).unwrap();
    assert_eq!(log.append(entry("t", 200)).unwrap().seq, total + 1);
}

#[test]
fn a_file_not_ours_at_the_oldest_name_is_left_alone_and_no_line_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit");
    std::fs::create_dir_all(&audit).unwrap();
    let foreign = rotated_path(&audit, KEEP_ROTATED);
    std::fs::write(&foreign, b"an operator's notes\n").unwrap();
    for n in 1..KEEP_ROTATED {
        std::fs::write(rotated_path(&audit, n), b"").unwrap();
    }
    let log = AuditLog::open(&audit, 1024).unwrap();
    for _ in 0..40 {
        log.append(entry("t", 200)).unwrap();
    }
    assert_eq!(std::fs::read(&foreign).unwrap(), b"an operator's notes\n");
    assert_eq!(all(&log).len(), 40);
}

#[test]
fn a_torn_last_line_is_skipped_and_the_next_line_stands_alone() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit");
    let log = AuditLog::open(&audit, 1 << 20).unwrap();
    log.append(entry("a", 200)).unwrap();
    drop(log);
    // A crash in the middle of a line.
    let mut f = OpenOptions::new()
        .append(true)
        .open(audit.join(FILE_NAME))
        .unwrap();
    f.write_all(br#"{"seq":2,"time":"2026-"#).unwrap();
    drop(f);
    let log = AuditLog::open(&audit, 1 << 20).unwrap();
    assert_eq!(log.append(entry("b", 200)).unwrap().seq, 2);
    let got: Vec<_> = all(&log).into_iter().map(|e| e.seq).collect();
    assert_eq!(got, vec![1, 2]);
}

#[test]
fn filters_and_cursor_pages() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(&dir.path().join("audit"), 1 << 20).unwrap();
    for i in 0..7 {
        log.append(entry(if i % 2 == 0 { "even" } else { "odd" }, 200))
            .unwrap();
    }
    let q = |token: Option<&str>, after: Option<u64>| AuditQuery {
        token: token.map(String::from),
        limit: 2,
        after,
        ..Default::default()
    };
    // Pages of the "even" token: 1,3 / 5,7 / end.
    let p1 = log.read(&q(Some("even"), None)).unwrap();
    let seqs = |p: &AuditPage| p.items.iter().map(|e| e.seq).collect::<Vec<_>>();
    assert_eq!(seqs(&p1), vec![1, 3]);
    let c1 = parse_cursor(p1.next_cursor.as_deref().unwrap());
    let p2 = log.read(&q(Some("even"), c1)).unwrap();
    assert_eq!(seqs(&p2), vec![5, 7]);
    assert_eq!(p2.next_cursor, None);
    // Time: since the 4th entry's time, until the 6th's.
    let every = all(&log);
    let page = log
        .read(&AuditQuery {
            since: Some(every[3].time),
            until: Some(every[5].time),
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    assert!(page
        .items
        .iter()
        .all(|e| e.time >= every[3].time && e.time < every[5].time));
    assert!(page.items.iter().any(|e| e.seq == 4));
    assert!(!page
        .items
        .iter()
        .any(|e| e.seq == 6 || e.seq < 4 && e.time < every[3].time));
}

#[test]
fn cursors_are_digits_only() {
    assert_eq!(parse_cursor("17"), Some(17));
    assert_eq!(parse_cursor(&cursor_of(u64::MAX)), Some(u64::MAX));
    for bad in ["", "-1", "1a", "99999999999999999999999", " 1"] {
        assert_eq!(parse_cursor(bad), None, "{bad}");
    }
}

/// When the file written to is no longer at its name (moved away), a rotation shifts nothing:
/// shifting again and again would drop a rotated file each time.
#[test]
fn no_rotated_file_is_dropped_while_the_current_one_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit");
    let log = AuditLog::open(&audit, 1024).unwrap();
    while !rotated_path(&audit, KEEP_ROTATED).exists() {
        log.append(entry("t", 200)).unwrap();
    }
    let rotated = |n| std::fs::read(rotated_path(&audit, n)).unwrap();
    let before: Vec<Vec<u8>> = (1..=KEEP_ROTATED).map(rotated).collect();
    std::fs::rename(audit.join(FILE_NAME), dir.path().join("moved")).unwrap();
    for _ in 0..20 {
        log.append(entry("t", 200)).unwrap();
    }
    let after: Vec<Vec<u8>> = (1..=KEEP_ROTATED).map(rotated).collect();
    assert_eq!(before, after);
}
