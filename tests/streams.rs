//! Bounded streaming through the real server: the memory of many slow subscribers of a large
//! hook output, `max_stream_subscribers` (429 past it, for hook output and backup events), and
//! a subscriber dropped as too slow that resumes with `Last-Event-ID` and gets every line once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use reqwest::blocking::{Client, Response};
use serde_json::{json, Value};

/// A setup whose `on_success` runs `body` (a /bin/sh script in a work folder of its own), with
/// `max_stream_subscribers = max`.
fn with_hook(body: &str, max: usize) -> (Setup, tempfile::TempDir) {
    let work = tempfile::tempdir().unwrap();
    let script = work.path().join("hook.sh");
    std::fs::write(&script, format!("#!/bin/sh\n{body}\n")).unwrap();
    let extra = format!(
        "[hooks]\non_success = \"/bin/sh {}\"\nwork_folder = {:?}\ntimeout_seconds = 600\n",
        script.display(),
        work.path().display().to_string()
    );
    let s = Setup::with_extra(1, &extra);
    let text = std::fs::read_to_string(&s.config).unwrap();
    std::fs::write(&s.config, format!("max_stream_subscribers = {max}\n{text}")).unwrap();
    (s, work)
}

/// Starts `on_success` as a test run; returns its process ID.
fn run_hook(server: &Server) -> String {
    let r = server.post(
        "/api/v1/hook-processes",
        ADMIN,
        &json!({"hook": "on_success"}),
    );
    assert_eq!(r.status(), 202);
    let p: Value = r.json().unwrap();
    assert_eq!(p["status"], "running", "{p}");
    p["id"].as_str().unwrap().to_string()
}

fn wait_exited(server: &Server, id: &str) -> Value {
    let p = poll("the hook to end", Duration::from_secs(120), || {
        let p = server.get_json(&format!("/api/v1/hook-processes/{id}"), VIEWER);
        (p["status"] != "running").then_some(p)
    });
    assert_eq!(p["status"], "exited", "{p}");
    assert_eq!(p["exit_code"], 0, "{p}");
    p
}

/// A client without a total timeout: streams are read for as long as a test needs.
fn stream_client() -> Client {
    Client::builder().timeout(None).build().unwrap()
}

fn open(client: &Client, server: &Server, path: &str, last: Option<u64>) -> Response {
    let mut rb = client.get(server.url(path)).bearer_auth(VIEWER);
    if let Some(n) = last {
        rb = rb.header("Last-Event-ID", n.to_string());
    }
    rb.send().unwrap()
}

/// Peak and current resident memory of a process, in KiB (`VmHWM`, `VmRSS`).
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// 200 slow readers of a 50 MB hook output made of 64 KiB lines, connected while it is
/// written: the server's peak memory stays under 150 MB (it grew by ~4.5 MB per reader when
/// queues were counted in lines). The 201st reader is refused with 429. A reader the server
/// drops as too slow (a busy test machine) resumes with `Last-Event-ID`, as an EventSource
/// does; every reader gets the lines in order, each once.
#[test]
fn two_hundred_slow_subscribers_of_a_50_mb_output_stay_under_150_mb() {
    const READERS: usize = 200;
    const LINES: u64 = 800;
    let go = tempfile::tempdir().unwrap();
    let go_file = go.path().join("go");
    let body = format!(
        "while [ ! -e {go} ]; do sleep 0.05; done\nline=$(head -c 65535 /dev/zero | tr '\\0' x)\nyes \"$line\" | head -n {LINES}",
        go = go_file.display()
    );
    let (s, _work) = with_hook(&body, READERS);
    let server = s.start();
    let pid = server.child.id();
    let id = run_hook(&server);
    let path = format!("/api/v1/hook-processes/{id}/output");

    let client = stream_client();
    let stop = Arc::new(AtomicBool::new(false));
    let got: Arc<Vec<AtomicU64>> = Arc::new((0..READERS).map(|_| AtomicU64::new(0)).collect());
    let drops = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for k in 0..READERS {
        let first = open(&client, &server, &path, None);
        assert_eq!(first.status(), 200, "reader {k}");
        let (stop, got, drops) = (stop.clone(), got.clone(), drops.clone());
        let (client, url) = (client.clone(), server.url(&path));
        readers.push(std::thread::spawn(move || {
            let mut ids = Vec::new();
            let mut r = Some(first);
            let mut buf = vec![0u8; 8192];
            let mut pending: Vec<u8> = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let Some(resp) = r.as_mut() else {
                    // Dropped as too slow: resume like an EventSource does.
                    let last = ids.last().copied().unwrap_or(0u64);
                    let sent = client
                        .get(&url)
                        .bearer_auth(VIEWER)
                        .header("Last-Event-ID", last.to_string())
                        .send();
                    match sent {
                        Ok(resp) if resp.status() == 200 => r = Some(resp),
                        Ok(_) => std::thread::sleep(Duration::from_millis(100)),
                        // The server is gone: the main thread reports why.
                        Err(_) => break,
                    }
                    continue;
                };
                match resp.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        drops.fetch_add(1, Ordering::Relaxed);
                        r = None;
                        pending.clear();
                    }
                    Ok(n) => {
                        got[k].fetch_add(n as u64, Ordering::Relaxed);
                        pending.extend_from_slice(&buf[..n]);
                        while let Some(end) = pending.windows(2).position(|w| w == b"\n\n") {
                            let block = String::from_utf8_lossy(&pending[..end]).to_string();
                            if let Some(id) = block.lines().find_map(|l| l.strip_prefix("id: ")) {
                                ids.push(id.parse::<u64>().unwrap());
                            }
                            pending.drain(..end + 2);
                        }
                    }
                }
                // Slow: 8 KiB per 100 ms, some 80 KB/s, while the output comes at disk speed.
                std::thread::sleep(Duration::from_millis(100));
            }
            ids
        }));
    }
    let over = assert_problem(open(&client, &server, &path, None), 429);
    assert!(
        over["detail"]
            .as_str()
            .unwrap()
            .contains("max_stream_subscribers"),
        "{over}"
    );

    std::fs::write(&go_file, b"").unwrap();
    wait_exited(&server, &id);
    // Every reader keeps getting data at its own pace.
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    loop {
        let least = got.iter().map(|g| g.load(Ordering::Relaxed)).min().unwrap();
        if least >= 1 << 20 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a slow reader got only {least} bytes in 3 minutes ({} drops)",
            drops.load(Ordering::Relaxed)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (hwm, rss) = memory_kib(pid);
    eprintln!(
        "server memory with {READERS} slow readers: peak {} MiB, now {} MiB; {} readers dropped as too slow and resumed",
        hwm / 1024,
        rss / 1024,
        drops.load(Ordering::Relaxed)
    );
    assert!(
        hwm < 150 * 1024,
        "peak resident memory {} MiB: not bounded",
        hwm / 1024
    );
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        // In order, from line 1, each line once, across resumes.
        let ids = r.join().unwrap();
        let want: Vec<u64> = (1..=ids.len() as u64).collect();
        assert_eq!(ids, want);
    }
    // Still serving: the end of the output, and the exit event, after Last-Event-ID.
    let text = poll(
        "a place among the subscribers",
        Duration::from_secs(30),
        || {
            let r = open(&stream_client(), &server, &path, Some(LINES - 1));
            (r.status() == 200).then(|| r.text().unwrap())
        },
    );
    let events = sse(&text);
    assert_eq!(events.len(), 2, "{:.200}", text);
    assert_eq!(events[0].0, Some(LINES));
    assert_eq!(events[0].2["text"].as_str().unwrap().len(), 65535);
    assert_eq!(events[1].1, "exit");
}

/// A reader that takes nothing is dropped after the stall timeout: its place is freed (the
/// next reader is not refused any more), its stream ends after the lines it was sent, without
/// `exit`; resuming with `Last-Event-ID` it gets the rest, every line exactly once. Backup
/// events have the same limit of readers.
#[test]
fn a_dropped_slow_subscriber_resumes_with_last_event_id_and_gets_every_line_once() {
    const LINES: u64 = 2000;
    let body = format!(
        "pad=$(head -c 4000 /dev/zero | tr '\\0' x)\ni=1\nwhile [ $i -le {LINES} ]; do echo \"$i $pad\"; i=$((i + 1)); done"
    );
    let (s, _work) = with_hook(&body, 1);
    let server = s.start_env(&[("BACKUP_MASTER_FAULTS", "slow_copy_ms:150")]);
    let id = run_hook(&server);
    wait_exited(&server, &id);
    let path = format!("/api/v1/hook-processes/{id}/output");

    let client = stream_client();
    let stalled = open(&client, &server, &path, None);
    assert_eq!(stalled.status(), 200);
    // Its place is taken while it is a subscriber...
    let refused = assert_problem(open(&client, &server, &path, None), 429);
    assert!(
        refused["detail"].as_str().unwrap().contains(&path),
        "{refused}"
    );
    // ... and freed once it was dropped for taking nothing.
    poll(
        "the stalled reader to be dropped",
        Duration::from_secs(60),
        || {
            let r = open(&client, &server, &path, None);
            (r.status() == 200).then_some(())
        },
    );
    let first = sse(&stalled.text().unwrap());
    assert!(!first.is_empty(), "it got the lines sent before it stalled");
    assert!(
        first.iter().all(|(_, ev, _)| ev == "line"),
        "a dropped reader gets no exit event"
    );
    let last = first.last().unwrap().0.unwrap();
    assert!(last < LINES, "dropped before the end: {last}");

    let rest = poll("a place to resume", Duration::from_secs(30), || {
        let r = open(&client, &server, &path, Some(last));
        (r.status() == 200).then(|| sse(&r.text().unwrap()))
    });
    let (exit, lines) = rest.split_last().unwrap();
    assert_eq!(exit.1, "exit");
    assert_eq!(exit.2["exit_code"], 0);
    let all: Vec<_> = first.iter().chain(lines).collect();
    assert_eq!(all.len() as u64, LINES, "every line once");
    for (i, (n, ev, data)) in all.iter().enumerate() {
        let want = i as u64 + 1;
        assert_eq!((*n, ev.as_str()), (Some(want), "line"));
        let text = data["text"].as_str().unwrap();
        assert_eq!(text, format!("{want} {}", "x".repeat(4000)));
    }

    // Backup events: one reader at a time here too.
    let backup = start_backup(&server);
    let events = format!("/api/v1/backups/{backup}/events");
    let follower = open(&client, &server, &events, None);
    assert_eq!(follower.status(), 200);
    assert_problem(open(&client, &server, &events, None), 429);
    let text = follower.text().unwrap();
    assert!(text.contains("event: end"), "{text}");
    wait_backup(&server, &backup);
    let again = poll(
        "the follower's place to be free",
        Duration::from_secs(30),
        || {
            let r = open(&client, &server, &events, None);
            (r.status() == 200).then(|| r.text().unwrap())
        },
    );
    assert!(again.contains("event: end"), "{again}");
}
