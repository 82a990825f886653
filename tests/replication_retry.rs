//! Replication through a store that fails: a fault-injecting HTTP proxy (written here, on std
//! threads) stands between the real server binary and the S3 test server (moto) and answers
//! 503 to a share of the requests, to every request after a point, or holds a PUT past the
//! target's `timeout_seconds`. What the contract promises: failed requests are retried and
//! counted (record and `/metrics`), a replication that succeeds left an exact copy, one that
//! fails names the target and writes no manifest, and nothing local changes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const ACCESS: &str = "AKIARETRYTESTACCESS1";
const SECRET: &str = "retrySecretKey/NeverShown+7";

/// What the proxy does with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// Forwarded to the store, its answer passed back.
    Pass,
    /// Answered 503 with an S3 error body; the store never sees it.
    Unavailable,
    /// Held this long, then forwarded (a request that arrives late).
    Late(Duration),
    /// Forwarded at once, its answer held this long (an answer that arrives late).
    SlowAnswer(Duration),
}

/// One request as the proxy saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    /// Path and query.
    target: String,
    fault: Fault,
}

impl Seen {
    fn is_blob_put(&self) -> bool {
        self.method == "PUT" && self.target.contains("/blobs/")
    }
    fn is_manifest_put(&self) -> bool {
        self.method == "PUT" && self.target.contains("/sets/")
    }
}

/// Decides the fault of a request from its method, its target and what came before.
type Rule = Box<dyn FnMut(&str, &str, &[Seen]) -> Fault + Send>;

struct Shared {
    upstream: SocketAddr,
    rule: Mutex<Rule>,
    seen: Mutex<Vec<Seen>>,
    /// Requests the proxy could not parse or forward: a broken test, asserted empty.
    broken: Mutex<Vec<String>>,
    /// Held requests ([`Fault::Late`], [`Fault::SlowAnswer`]) that reached the store.
    held_done: std::sync::atomic::AtomicUsize,
}

/// The proxy on a free loopback port; stopped when dropped.
struct Proxy {
    endpoint: String,
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    fn start(upstream: &str, rule: Rule) -> Proxy {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .parse()
            .expect("the S3 server's address");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            upstream,
            rule: Mutex::new(rule),
            seen: Mutex::new(Vec::new()),
            broken: Mutex::new(Vec::new()),
            held_done: std::sync::atomic::AtomicUsize::new(0),
        });
        let stop = Arc::new(AtomicBool::new(false));
        {
            let shared = shared.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let shared = shared.clone();
                    std::thread::spawn(move || {
                        if let Err(e) = serve(conn, &shared) {
                            shared.broken.lock().unwrap().push(e);
                        }
                    });
                }
            });
        }
        Proxy {
            endpoint: format!("http://{addr}"),
            addr,
            shared,
            stop,
        }
    }

    /// A new rule; what the proxy saw is forgotten.
    fn set_rule(&self, rule: Rule) {
        *self.shared.rule.lock().unwrap() = rule;
        self.shared.seen.lock().unwrap().clear();
    }

    fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// Requests answered with a fault (not passed on untouched).
    fn faults(&self) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.fault != Fault::Pass)
            .count()
    }

    fn held_done(&self) -> usize {
        self.shared.held_done.load(Ordering::SeqCst)
    }

    fn assert_sound(&self) {
        let broken = self.shared.broken.lock().unwrap();
        assert!(broken.is_empty(), "the proxy failed: {broken:?}");
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop, which then ends.
        let _ = TcpStream::connect(self.addr);
    }
}

/// A head (start line and headers, without the blank line) and its body length.
struct Head {
    start: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn read(r: &mut impl BufRead) -> Result<Option<Head>, String> {
        let mut start = String::new();
        if r.read_line(&mut start).map_err(|e| e.to_string())? == 0 {
            return Ok(None);
        }
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            r.read_line(&mut line).map_err(|e| e.to_string())?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (k, v) = line
                .split_once(':')
                .ok_or_else(|| format!("bad header line {line:?}"))?;
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
        Ok(Some(Head {
            start: start.trim_end().to_string(),
            headers,
        }))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn content_length(&self) -> Result<Option<usize>, String> {
        self.header("content-length")
            .map(|v| v.parse().map_err(|e| format!("content-length {v:?}: {e}")))
            .transpose()
    }

    /// The head as bytes, every connection closed after one exchange.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("{}\r\n", self.start);
        for (k, v) in &self.headers {
            if !k.eq_ignore_ascii_case("connection") && !k.eq_ignore_ascii_case("keep-alive") {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
        }
        out.push_str("Connection: close\r\n\r\n");
        out.into_bytes()
    }
}

/// One exchange on `conn`: the request read whole, its fault decided, then answered.
fn serve(conn: TcpStream, shared: &Shared) -> Result<(), String> {
    let mut reader = BufReader::new(conn.try_clone().map_err(|e| e.to_string())?);
    let Some(head) = Head::read(&mut reader)? else {
        return Ok(());
    };
    if head.header("transfer-encoding").is_some() {
        return Err(format!("a chunked request: {}", head.start));
    }
    let mut body = vec![0u8; head.content_length()?.unwrap_or(0)];
    reader.read_exact(&mut body).map_err(|e| e.to_string())?;
    let mut parts = head.start.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let fault = {
        let mut seen = shared.seen.lock().unwrap();
        let fault = (shared.rule.lock().unwrap())(&method, &target, &seen);
        seen.push(Seen {
            method: method.clone(),
            target: target.clone(),
            fault,
        });
        fault
    };
    let mut client = conn;
    match fault {
        Fault::Unavailable => {
            let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>\
                       <Message>Please reduce your request rate.</Message>\
                       <RequestId>fault-proxy</RequestId></Error>";
            let answer = format!(
                "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{xml}",
                xml.len()
            );
            // The client may have given up: its side of the exchange is not the test's.
            let _ = client.write_all(answer.as_bytes());
        }
        Fault::Pass => {
            let answer = forward(shared.upstream, &head, &body, &method)?;
            let _ = client.write_all(&answer);
        }
        Fault::Late(d) => {
            std::thread::sleep(d);
            let answer = forward(shared.upstream, &head, &body, &method)?;
            shared.held_done.fetch_add(1, Ordering::SeqCst);
            let _ = client.write_all(&answer);
        }
        Fault::SlowAnswer(d) => {
            let answer = forward(shared.upstream, &head, &body, &method)?;
            shared.held_done.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(d);
            let _ = client.write_all(&answer);
        }
    }
    let _ = client.shutdown(std::net::Shutdown::Both);
    Ok(())
}

/// Sends the request to the store; returns its whole answer, to be passed back as is (but for
/// the connection header).
fn forward(
    upstream: SocketAddr,
    head: &Head,
    body: &[u8],
    method: &str,
) -> Result<Vec<u8>, String> {
    let mut up = TcpStream::connect(upstream).map_err(|e| format!("the store: {e}"))?;
    up.set_read_timeout(Some(Duration::from_secs(120)))
        .map_err(|e| e.to_string())?;
    up.write_all(&head.to_bytes())
        .and_then(|()| up.write_all(body))
        .map_err(|e| format!("to the store: {e}"))?;
    let mut reader = BufReader::new(up);
    let answer = Head::read(&mut reader)?.ok_or("the store closed without an answer")?;
    let status: u16 = answer
        .start
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {:?}", answer.start))?;
    let mut answer_body = Vec::new();
    if method != "HEAD" && status != 204 && status != 304 {
        match answer.content_length()? {
            Some(n) => {
                answer_body.resize(n, 0);
                reader
                    .read_exact(&mut answer_body)
                    .map_err(|e| format!("the store's answer: {e}"))?;
            }
            None => {
                reader
                    .read_to_end(&mut answer_body)
                    .map_err(|e| format!("the store's answer: {e}"))?;
            }
        }
    }
    let mut out = answer.to_bytes();
    out.extend_from_slice(&answer_body);
    Ok(out)
}

/// A master with the usual three homes, a `custom` component `big` (`files` files of `size`
/// bytes, a hard link, a symlink, an empty folder) and target `offsite` on `bucket` through
/// `proxy`, with `more` TOML lines.
fn setup(proxy: &Proxy, bucket: &str, files: usize, size: usize, more: &str) -> Setup {
    let s = Setup::with_extra(
        1,
        &format!(
            "\n[[replication_targets]]\nname = \"offsite\"\nendpoint = \"{}\"\nbucket = \"{bucket}\"\n\
             prefix = \"site-a\"\npath_style = true\n{more}\n\
             \n[[components]]\nname = \"big\"\nprofile = \"custom\"\nhome = \"homes/big\"\n\
             items = [\"app.ini\", \"data/\"]\nkeep = 1\n",
            proxy.endpoint
        ),
    );
    let home = s.path().join("homes/big");
    for i in 0..files {
        write(
            &home.join(format!("data/f{i:04}.bin")),
            &noise(i as u64, size),
        );
    }
    write(&home.join("app.ini"), b"[App]\n");
    std::fs::create_dir_all(home.join("data/empty")).unwrap();
    std::os::unix::fs::symlink("f0000.bin", home.join("data/link-to-first")).unwrap();
    std::fs::hard_link(home.join("data/f0001.bin"), home.join("data/hard.bin")).unwrap();
    s
}

fn start(s: &Setup) -> Server {
    s.start_env(&[
        ("BACKUP_MASTER_S3_OFFSITE_ACCESS_KEY", ACCESS),
        ("BACKUP_MASTER_S3_OFFSITE_SECRET_KEY", SECRET),
    ])
}

fn replicate(server: &Server, body: &Value) -> Value {
    let r = server.post(
        "/api/v1/replication-targets/offsite/replicate",
        OPERATOR,
        body,
    );
    assert_eq!(r.status(), 202, "start replication");
    let id = r.json::<Value>().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    poll(
        &format!("replication {id} to end"),
        Duration::from_secs(300),
        || {
            let r = server.get_json(&format!("/api/v1/replications/{id}"), VIEWER);
            (r["status"] != "running").then_some(r)
        },
    )
}

/// A per-target metric of `/metrics`.
fn metric(server: &Server, name: &str) -> f64 {
    let text = server.get("/metrics", VIEWER).text().unwrap();
    let prefix = format!("{name}{{target=\"offsite\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("{name} in {text}"))
        .parse()
        .unwrap()
}

/// The component `big`'s home as it is, but for its backup slots and safety folders.
fn big_tree(s: &Setup) -> BTreeMap<String, String> {
    let mut t = snapshot_meta(&s.path().join("homes/big"), &["backup", ".pre-restore-"]);
    // The home folder itself gets the restore's safety folder.
    t.remove(".");
    t
}

/// Every 3rd PUT (blobs, the manifest), the first attempt of the second part of each multipart
/// upload, and the first GET, HEAD and listing of each phase are answered 503.
fn every_third_put_and_each_first_read() -> Rule {
    Box::new(|method, target, seen| {
        if target.contains("partNumber=") {
            let second = target.contains("partNumber=2&") || target.ends_with("partNumber=2");
            return if second && !seen.iter().any(|s| s.target == target) {
                Fault::Unavailable
            } else {
                Fault::Pass
            };
        }
        let list = |s: &str| s.contains("list-type=");
        let kind = |m: &str, t: &str| match m {
            "GET" if list(t) => "LIST",
            m => match m {
                "GET" => "GET",
                "HEAD" => "HEAD",
                "PUT" => "PUT",
                _ => "OTHER",
            },
        };
        let this = kind(method, target);
        let before = seen
            .iter()
            .filter(|s| !s.target.contains("partNumber="))
            .filter(|s| kind(&s.method, &s.target) == this)
            .count();
        match this {
            "PUT" if before % 3 == 2 => Fault::Unavailable,
            "GET" | "HEAD" | "LIST" if before == 0 => Fault::Unavailable,
            _ => Fault::Pass,
        }
    })
}

#[test]
fn a_share_of_503_answers_is_retried_counted_and_the_restored_tree_is_exact() {
    let s3 = S3Server::shared();
    s3.create_bucket("retry-share", true);
    let proxy = Proxy::start(&s3.endpoint, every_third_put_and_each_first_read());
    let s = setup(&proxy, "retry-share", 40, 30_000, "concurrency = 4");
    // One blob larger than a single request takes: uploaded in parts, each a PUT.
    write(
        &s.path().join("homes/big/data/large.bin"),
        &noise(99, 17 << 20),
    );
    let server = start(&s);
    let b = run_backup(&server);
    assert_eq!(b["status"], "succeeded");
    let id = b["id"].as_str().unwrap().to_string();
    let at_backup = big_tree(&s);
    proxy.set_rule(every_third_put_and_each_first_read());

    let rec = replicate(&server, &json!({"backup_id": id}));
    assert_eq!(rec["status"], "succeeded", "{rec}");
    let seen = proxy.seen();
    let faults = proxy.faults();
    assert!(
        seen.iter()
            .any(|s| s.fault == Fault::Unavailable && s.target.contains("partNumber=")),
        "a part of the multipart upload was refused once: {seen:?}"
    );
    assert!(
        seen.iter()
            .any(|s| s.fault == Fault::Unavailable && s.method == "GET"),
        "the first listing was refused: {seen:?}"
    );
    assert!(faults >= 10, "{faults} refusals");
    // Each 503 was one failed attempt, retried: the record counts them, and only them.
    assert_eq!(rec["retries"].as_u64().unwrap(), faults as u64, "{rec}");
    assert_eq!(
        metric(&server, "backup_master_replication_retries_total"),
        faults as f64
    );
    assert_eq!(
        metric(&server, "backup_master_replication_failures_total"),
        0.0
    );
    assert_eq!(rec["blobs_uploaded"], rec["blobs_total"], "{rec}");
    // Nothing was written twice, though requests were repeated (a versioned bucket).
    let versions = s3.versions("retry-share");
    assert!(versions.contains_key(&format!("site-a/sets/{id}.json")));
    for (key, n) in &versions {
        assert_eq!(*n, 1, "{key} has {n} versions");
    }

    // The home damaged, then restored from the bucket through the same faults.
    let data = s.path().join("homes/big/data");
    std::fs::write(data.join("f0003.bin"), b"damaged").unwrap();
    std::fs::remove_file(data.join("large.bin")).unwrap();
    std::fs::remove_dir_all(data.join("empty")).unwrap();
    proxy.set_rule(every_third_put_and_each_first_read());
    let r = run_restore(
        &server,
        &json!({"backup_id": id, "from_target": "offsite", "components": ["big"]}),
    );
    assert_eq!(r["status"], "succeeded", "{r}");
    assert!(
        proxy
            .seen()
            .iter()
            .any(|s| s.fault == Fault::Unavailable && s.method == "GET"),
        "the download met a refusal"
    );
    assert_eq!(big_tree(&s), at_backup, "the restored tree is exact");
    proxy.assert_sound();
}

#[test]
fn a_store_that_keeps_failing_fails_the_replication_naming_the_target_and_changes_nothing() {
    let s3 = S3Server::shared();
    s3.create_bucket("retry-down", false);
    // The first requests pass (the checks, the listing, a few blobs), then every one is 503.
    let down_after = |n: usize| -> Rule {
        Box::new(move |_, _, seen| {
            if seen.len() < n {
                Fault::Pass
            } else {
                Fault::Unavailable
            }
        })
    };
    let proxy = Proxy::start(&s3.endpoint, down_after(usize::MAX));
    // One upload at a time: every refused request is read by the client before it gives up.
    let s = setup(&proxy, "retry-down", 30, 20_000, "concurrency = 1");
    let server = start(&s);
    let b = run_backup(&server);
    assert_eq!(b["status"], "succeeded");
    let id = b["id"].as_str().unwrap().to_string();
    let before = snapshot_meta(&s.path().join("homes"), &[]);
    proxy.set_rule(down_after(6));

    let rec = replicate(&server, &json!({"backup_id": id}));
    assert_eq!(rec["status"], "failed", "{rec}");
    let error = rec["error"].as_str().unwrap();
    assert!(
        error.contains("replication target offsite") && error.contains("503"),
        "{error}"
    );
    assert!(
        !error.contains(SECRET) && !error.contains(ACCESS),
        "{error}"
    );
    // After its retries: a blob's three attempts, each one request tried seven times (the
    // client's six retries), at the least.
    let retries = rec["retries"].as_u64().unwrap();
    assert!(retries >= 21, "{retries} retries: {rec}");
    assert_eq!(retries, proxy.faults() as u64, "{rec}");
    assert!(
        proxy.seen().iter().filter(|s| s.is_blob_put()).count() > 21,
        "blob uploads were tried again"
    );
    assert!(
        !proxy.seen().iter().any(Seen::is_manifest_put),
        "no manifest was even tried"
    );
    // No manifest on the bucket (read past the proxy); the blobs before the outage stay.
    let objects = s3.objects("retry-down");
    assert!(
        !objects.keys().any(|k| k.starts_with("site-a/sets/")),
        "{objects:?}"
    );
    assert!(objects.keys().any(|k| k.starts_with("site-a/blobs/")));
    assert_eq!(snapshot_meta(&s.path().join("homes"), &[]), before);
    assert_eq!(
        metric(&server, "backup_master_replication_failures_total"),
        1.0
    );
    assert_eq!(
        metric(&server, "backup_master_replication_retries_total"),
        retries as f64
    );
    proxy.assert_sound();
}

#[test]
fn puts_held_past_the_timeout_are_retried_and_the_replication_succeeds() {
    let s3 = S3Server::shared();
    s3.create_bucket("retry-slow", true);
    // The first blob PUT arrives at the store only after the client gave up on it; the
    // manifest PUT is written at once but its answer comes too late.
    let hold = Duration::from_secs(4);
    let slow = move || -> Rule {
        Box::new(move |method, target, seen| {
            let s = Seen {
                method: method.into(),
                target: target.into(),
                fault: Fault::Pass,
            };
            if s.is_blob_put() && !seen.iter().any(Seen::is_blob_put) {
                Fault::Late(hold)
            } else if s.is_manifest_put() && !seen.iter().any(Seen::is_manifest_put) {
                Fault::SlowAnswer(hold)
            } else {
                Fault::Pass
            }
        })
    };
    let proxy = Proxy::start(&s3.endpoint, Box::new(|_, _, _| Fault::Pass));
    let s = setup(&proxy, "retry-slow", 12, 10_000, "timeout_seconds = 1");
    let server = start(&s);
    let b = run_backup(&server);
    assert_eq!(b["status"], "succeeded");
    let id = b["id"].as_str().unwrap().to_string();
    let before = snapshot_meta(&s.path().join("homes"), &[]);
    proxy.set_rule(slow());

    let rec = replicate(&server, &json!({"backup_id": id}));
    assert_eq!(rec["status"], "succeeded", "{rec}");
    assert_eq!(
        rec["already_replicated"], false,
        "the manifest this run wrote is its own: {rec}"
    );
    assert_eq!(rec["blobs_uploaded"], rec["blobs_total"], "{rec}");
    assert!(rec["retries"].as_u64().unwrap() >= 2, "{rec}");
    let seen = proxy.seen();
    let held: Vec<&Seen> = seen.iter().filter(|s| s.fault != Fault::Pass).collect();
    assert_eq!(held.len(), 2, "{seen:?}");
    for h in held {
        let again = seen
            .iter()
            .filter(|s| s.method == h.method && s.target == h.target)
            .count();
        assert!(again >= 2, "{} was sent again: {seen:?}", h.target);
    }
    // The late request met the retry's object: refused, nothing overwritten.
    poll(
        "the held requests to reach the store",
        Duration::from_secs(30),
        || (proxy.held_done() == 2).then_some(()),
    );
    for (key, n) in s3.versions("retry-slow") {
        assert_eq!(n, 1, "{key} has {n} versions");
    }
    // The copy is whole: every blob there and intact.
    let r = server.post(
        &format!("/api/v1/replication-targets/offsite/sets/{id}/verify"),
        OPERATOR,
        &json!({"deep": true}),
    );
    assert_eq!(r.status(), 202);
    let vid = r.json::<Value>().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let v = poll("the deep check", Duration::from_secs(120), || {
        let r = server.get_json(&format!("/api/v1/replications/{vid}"), VIEWER);
        (r["status"] != "running").then_some(r)
    });
    assert_eq!(v["status"], "succeeded", "{v}");
    assert_eq!(v["blobs_present"], v["blobs_total"]);
    assert_eq!(snapshot_meta(&s.path().join("homes"), &[]), before);
    proxy.assert_sound();
}
