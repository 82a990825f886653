//! Crash safety: kill -9 of the real server at random instants of a multi-thousand-file
//! backup, then restart: every slot complete and verifying, all components' `backup` slots at
//! the same ID, no staging left, the killed backup final (never `running`), the next one fine.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use rand::Rng;

const COMPONENTS: [&str; 3] = ["hub", "lui", "trk"];

fn many_files(s: &Setup) {
    // ~3,600 files spread over the three homes, plus a few larger ones.
    for (c, item) in [("hub", "accountreg"), ("lui", "luidata"), ("trk", "data")] {
        for d in 0..12 {
            for f in 0..100 {
                let body = format!("{c} {d} {f} {}\n", "x".repeat((f * 37) % 900));
                write(
                    &s.home(c).join(format!("{item}/bulk{d}/file{f}.dat")),
                    body.as_bytes(),
                );
            }
        }
        let big: Vec<u8> = (0..2_000_000u32).map(|i| (i % 241) as u8).collect();
        write(&s.home(c).join(format!("{item}/big.bin")), &big);
    }
}

/// Changes a slice of the data (a folder of 100 files per component) so that each backup
/// copies as well as links.
fn change_round(s: &Setup, round: usize) {
    for (c, item) in [("hub", "accountreg"), ("lui", "luidata"), ("trk", "data")] {
        write(
            &s.home(c).join(format!("round-{c}.txt")),
            format!("round={round}\n").as_bytes(),
        );
        for f in 0..100 {
            write(
                &s.home(c)
                    .join(format!("{item}/bulk{}/file{f}.dat", round % 12)),
                format!("changed in round {round} {f}\n").as_bytes(),
            );
        }
    }
}

fn check_invariants(s: &Setup, server: &Server, killed: &str) -> String {
    let r = server.get_json(&format!("/api/v1/backups/{killed}"), VIEWER);
    let status = r["status"].as_str().unwrap().to_string();
    assert!(
        ["interrupted", "succeeded", "failed"].contains(&status.as_str()),
        "killed backup {killed} is {status}"
    );
    let mut newest = Vec::new();
    for c in COMPONENTS {
        let home = s.home(c);
        assert!(
            stagings(&home).is_empty(),
            "{c}: staging left after restart"
        );
        for slot in slots(&home) {
            let folder = home.join(&slot);
            assert!(sha256sum_ok(&folder), "{c}/{slot} does not verify");
            let rd = readme(&folder);
            assert!(
                rd.iter().any(|(k, v)| k == "Result" && v == "success"),
                "{c}/{slot}"
            );
        }
        newest.push(if home.join("backup").exists() {
            readme_id(&home.join("backup"))
        } else {
            String::new()
        });
    }
    assert!(
        newest.windows(2).all(|w| w[0] == w[1]),
        "backup slots disagree: {newest:?}"
    );
    if status == "succeeded" {
        assert_eq!(newest[0], killed, "succeeded but not in the slots");
    }
    if status == "interrupted" {
        assert_ne!(newest[0], killed, "interrupted but in the slots");
    }
    status
}

#[test]
fn kill_9_at_random_instants_leaves_every_slot_intact() {
    let s = Setup::new(2);
    many_files(&s);
    let mut rng = rand::thread_rng();

    // How long does one daily (mostly linked) backup take here? Kills land anywhere in
    // 0..3× that (a killed backup leaves more to copy for the next).
    let server = s.start();
    assert_eq!(run_backup(&server)["status"], "succeeded");
    change_round(&s, 99);
    let t0 = Instant::now();
    assert_eq!(run_backup(&server)["status"], "succeeded");
    let full = t0.elapsed();
    drop(server);

    let mut outcomes = Vec::new();
    for round in 0..20 {
        change_round(&s, round);
        let mut server = s.start();
        let id = start_backup(&server);
        let wait = rng.gen_range(0..(full.as_millis() as u64 * 3).max(20));
        std::thread::sleep(Duration::from_millis(wait));
        server.kill9();
        drop(server);

        let server = s.start();
        let status = check_invariants(&s, &server, &id);
        outcomes.push((wait, status));
    }
    eprintln!("kill instants (ms) and outcomes: {outcomes:?}");
    assert!(
        outcomes.iter().any(|(_, st)| st == "interrupted"),
        "no kill landed inside a backup: {outcomes:?}"
    );
    let server = s.start();
    let r = run_backup(&server);
    assert_eq!(r["status"], "succeeded", "{r}");
    check_invariants(&s, &server, r["id"].as_str().unwrap());
}

#[test]
fn a_crash_after_the_commit_decision_rolls_forward() {
    let s = Setup::new(2);
    let server = s.start();
    assert_eq!(run_backup(&server)["status"], "succeeded");
    drop(server);
    // The process aborts right after the commit decision is durable.
    let mut server = s.start_env(&[("BACKUP_MASTER_FAULTS", "abort_after_decision")]);
    let id = start_backup(&server);
    let _ = wait_exit(&mut server.child, Duration::from_secs(30)).expect("server aborts");
    drop(server);
    let server = s.start();
    let r = server.get_json(&format!("/api/v1/backups/{id}"), VIEWER);
    assert_eq!(r["status"], "succeeded", "{r}");
    assert!(r["notes"].to_string().contains("recovery completed"), "{r}");
    for c in COMPONENTS {
        assert_eq!(readme_id(&s.home(c).join("backup")), id, "{c}");
        assert_eq!(slots(&s.home(c)), ["backup", "backup1"], "{c}");
        assert!(stagings(&s.home(c)).is_empty());
    }
}

#[test]
fn a_crash_mid_rotation_rolls_forward() {
    let s = Setup::new(2);
    let server = s.start();
    let first = run_backup(&server);
    let second = run_backup(&server);
    drop(server);
    let mut server = s.start_env(&[("BACKUP_MASTER_FAULTS", "abort_mid_rotation:lui")]);
    let id = start_backup(&server);
    let _ = wait_exit(&mut server.child, Duration::from_secs(30)).expect("server aborts");
    drop(server);
    let server = s.start();
    let r = server.get_json(&format!("/api/v1/backups/{id}"), VIEWER);
    assert_eq!(r["status"], "succeeded", "{r}");
    for c in COMPONENTS {
        let home = s.home(c);
        assert_eq!(slots(&home), ["backup", "backup1", "backup2"], "{c}");
        assert_eq!(readme_id(&home.join("backup")), id);
        assert_eq!(
            readme_id(&home.join("backup1")),
            second["id"].as_str().unwrap()
        );
        assert_eq!(
            readme_id(&home.join("backup2")),
            first["id"].as_str().unwrap()
        );
    }
}
