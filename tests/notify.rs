//! Notifications against real receivers: a small HTTP server in the test stands for a webhook
//! (and a healthchecks.io-style ping) receiver, checks the HMAC signature and the payload of
//! each kind of event (including `overdue`, fired by the scheduler's clock shifted with
//! `BACKUP_MASTER_CLOCK_OFFSET_SECS`), answers 500 then 200, or never answers. Retries are
//! shortened with `BACKUP_MASTER_NOTIFY_RETRY` so a test ends in seconds. Also the targets'
//! API (If-Match, bad input refused naming the field with nothing written), the test send and
//! the deliveries' record.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use common::*;

const SECRET: &str = "hmac-key-for-tests-0123456789";

/// What the receiver does with a request.
#[derive(Clone, Copy, Debug)]
enum Reply {
    Status(u16),
    /// Reads the request and never answers (the connection stays open).
    Hang,
}

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Got {
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// An HTTP server on a loopback port, on its own thread: records every request and answers
/// from its plan (then with its default).
struct Receiver {
    addr: String,
    got: Arc<Mutex<Vec<Got>>>,
    plan: Arc<Mutex<VecDeque<Reply>>>,
}

impl Receiver {
    fn start(default: Reply) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let got = Arc::new(Mutex::new(Vec::new()));
        let plan = Arc::new(Mutex::new(VecDeque::new()));
        let (g, p) = (got.clone(), plan.clone());
        std::thread::spawn(move || {
            // Hanging connections are kept open here until the test process ends.
            let mut held: Vec<TcpStream> = Vec::new();
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Some(req) = read_request(&mut stream) else {
                    continue;
                };
                g.lock().unwrap().push(req);
                let reply = p.lock().unwrap().pop_front().unwrap_or(default);
                match reply {
                    Reply::Status(code) => {
                        let _ = write!(
                            stream,
                            "HTTP/1.1 {code} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        );
                    }
                    Reply::Hang => held.push(stream),
                }
            }
        });
        Receiver { addr, got, plan }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn then(&self, replies: &[Reply]) {
        self.plan.lock().unwrap().extend(replies.iter().copied());
    }

    fn all(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    /// Waits for a request whose JSON body is event `kind` (and passes `also`).
    fn wait_event(&self, kind: &str, also: impl Fn(&Value) -> bool) -> Got {
        poll(
            &format!("a {kind} event at the receiver"),
            Duration::from_secs(60),
            || {
                self.all()
                    .into_iter()
                    .find(|g| g.json()["event"] == kind && also(&g.json()))
            },
        )
    }
}

fn read_request(stream: &mut TcpStream) -> Option<Got> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1)?.to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Got {
        path,
        headers,
        body,
    })
}

/// `sha256=<hex>` of the body with the test's key.
fn expected_signature(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The secret file in the setup's folder.
fn secret_file(s: &Setup) -> String {
    let path = s.path().join("webhook.secret");
    std::fs::write(&path, format!("{SECRET}\n")).unwrap();
    path.display().to_string()
}

/// A setup with `toml` (targets, `[notifications]`, `[hooks]`) in its config.
fn setup_with(toml: &str) -> Setup {
    Setup::with_extra(2, toml)
}

/// A webhook target named `name` at `url` signed with the test's key, getting `events`.
fn webhook_toml(name: &str, url: &str, secret: &str, events: &[&str], timeout: u64) -> String {
    let events: Vec<String> = events.iter().map(|e| format!("{e:?}")).collect();
    format!(
        "\n[[notification_targets]]\nname = \"{name}\"\nkind = \"webhook\"\nurl = \"{url}\"\nsecret_file = \"{secret}\"\nheaders = {{ \"X-Team\" = \"ops\" }}\ntimeout_seconds = {timeout}\nevents = [{}]\n",
        events.join(", ")
    )
}

/// Checks what every event promises: signed with the key, the event header, the payload's
/// fields; returns the payload.
fn check_signed(g: &Got, kind: &str, severity: &str) -> Value {
    let sig = g
        .headers
        .get("x-backup-master-signature")
        .expect("signature header");
    assert_eq!(sig, &expected_signature(&g.body), "signature of {kind}");
    assert_eq!(
        g.headers.get("x-backup-master-event").map(String::as_str),
        Some(kind)
    );
    assert_eq!(g.headers.get("x-team").map(String::as_str), Some("ops"));
    assert_eq!(
        g.headers.get("content-type").map(String::as_str),
        Some("application/json")
    );
    assert!(g.headers.contains_key("x-backup-master-delivery"));
    let v = g.json();
    assert_eq!(v["event"], kind, "{v}");
    assert_eq!(v["severity"], severity, "{v}");
    assert!(v["at"].as_str().is_some_and(|t| t.ends_with('Z')), "{v}");
    let summary = v["summary"].as_str().unwrap();
    assert!(!summary.is_empty() && !summary.contains('\n'), "{v}");
    assert!(
        v["link"]
            .as_str()
            .is_some_and(|l| l.starts_with("/api/v1/")),
        "{v}"
    );
    // No secret in any payload.
    assert!(!String::from_utf8_lossy(&g.body).contains(SECRET));
    v
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

const ALL_COMPONENTS: [&str; 3] = ["hub", "lui", "trk"];

#[test]
fn the_webhook_gets_each_kind_of_event_signed_with_its_payload() {
    let rx = Receiver::start(Reply::Status(200));
    let probe = Setup::new(2);
    let secret = secret_file(&probe);
    let targets = webhook_toml(
        "ops",
        &rx.url("/hook"),
        &secret,
        &[
            "backup_started",
            "backup_succeeded",
            "backup_failed",
            "backup_cancelled",
            "backup_interrupted",
            "restore_ended",
            "verification_failed",
            "hook_failed",
        ],
        5,
    );
    let s = setup_with(&format!(
        "\n[hooks]\non_success = \"sh -c 'echo hook says bye; exit 3'\"\n{targets}"
    ));

    // A success: started, succeeded, and the failing on_success hook.
    let server = s.start();
    let ok = run_backup(&server);
    assert_eq!(ok["status"], "succeeded", "{ok}");
    let id = ok["id"].as_str().unwrap().to_string();
    let started = check_signed(
        &rx.wait_event("backup_started", |_| true),
        "backup_started",
        "info",
    );
    assert_eq!(started["backup_id"], id.as_str());
    assert_eq!(ids(&started["components"]), ALL_COMPONENTS);
    let done = check_signed(
        &rx.wait_event("backup_succeeded", |_| true),
        "backup_succeeded",
        "info",
    );
    assert_eq!(done["backup_id"], id.as_str());
    assert_eq!(done["link"], format!("/api/v1/backups/{id}"));
    assert_eq!(ids(&done["components"]), ALL_COMPONENTS);
    assert!(
        done.get("report_tail").is_none(),
        "no tail for a success: {done}"
    );
    let hook = check_signed(
        &rx.wait_event("hook_failed", |_| true),
        "hook_failed",
        "warning",
    );
    assert_eq!(hook["backup_id"], id.as_str());
    assert!(
        hook["summary"]
            .as_str()
            .unwrap()
            .contains("exited with code 3"),
        "{hook}"
    );
    assert!(
        ids(&hook["report_tail"]).contains(&"hook says bye".to_string()),
        "{hook}"
    );
    let hid = hook["job_id"].as_str().unwrap();
    assert_eq!(hook["link"], format!("/api/v1/hook-processes/{hid}"));

    // A restore of hub ends.
    let r = run_restore(&server, &json!({"backup_id": id, "components": ["hub"]}));
    assert_eq!(r["status"], "succeeded", "{r}");
    let restored = check_signed(
        &rx.wait_event("restore_ended", |_| true),
        "restore_ended",
        "info",
    );
    assert_eq!(restored["backup_id"], id.as_str());
    assert_eq!(restored["job_id"], r["id"]);
    assert_eq!(ids(&restored["components"]), ["hub"]);

    // A verification that finds a changed file.
    let slot = s.home("trk").join("backup");
    let sums = std::fs::read_to_string(slot.join("SHA256SUMS")).unwrap();
    let listed = sums
        .lines()
        .next()
        .and_then(|l| l.split_once("  "))
        .map(|(_, path)| path.to_string())
        .expect("a file listed in trk's SHA256SUMS");
    let victim = slot.join(&listed);
    std::fs::write(&victim, b"damaged\n").unwrap();
    let v = server.post(
        &format!("/api/v1/backup-sets/{id}/verify"),
        OPERATOR,
        &json!({}),
    );
    assert_eq!(v.status(), 202);
    let bad = check_signed(
        &rx.wait_event("verification_failed", |_| true),
        "verification_failed",
        "error",
    );
    assert_eq!(bad["backup_id"], id.as_str());
    assert_eq!(ids(&bad["components"]), ["trk"]);
    let name = victim.file_name().unwrap().to_string_lossy().to_string();
    assert!(
        ids(&bad["report_tail"])
            .iter()
            .any(|l| l.contains("changed") && l.contains(&name)),
        "{bad}"
    );
    drop(server);

    // A failure: the report's last lines travel with it.
    let server = s.start_env(&[("BACKUP_MASTER_FAULTS", "prepare:lui")]);
    let failed = run_backup(&server);
    assert_eq!(failed["status"], "failed", "{failed}");
    let fid = failed["id"].as_str().unwrap();
    let f = check_signed(
        &rx.wait_event("backup_failed", |v| v["backup_id"] == fid),
        "backup_failed",
        "error",
    );
    assert!(f["summary"].as_str().unwrap().contains(fid), "{f}");
    let report = server
        .get(&format!("/api/v1/backups/{fid}/report"), VIEWER)
        .text()
        .unwrap();
    let last: Vec<&str> = report.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = ids(&f["report_tail"]);
    assert!(!tail.is_empty(), "{f}");
    assert_eq!(
        tail.last().map(String::as_str),
        last.last().copied(),
        "{f}\n{report}"
    );
    drop(server);

    // Cancelled, then interrupted (killed mid-copy; the next start records it).
    let mut server = s.start_env(&[("BACKUP_MASTER_FAULTS", "slow_copy_ms:300")]);
    let cid = start_backup(&server);
    let r = server.post(
        &format!("/api/v1/backups/{cid}/cancel"),
        OPERATOR,
        &json!({}),
    );
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(wait_backup(&server, &cid)["status"], "cancelled");
    let c = check_signed(
        &rx.wait_event("backup_cancelled", |v| v["backup_id"] == cid.as_str()),
        "backup_cancelled",
        "warning",
    );
    assert!(
        c["report_tail"].as_array().is_some_and(|a| !a.is_empty()),
        "{c}"
    );
    let iid = start_backup(&server);
    rx.wait_event("backup_started", |v| v["backup_id"] == iid.as_str());
    server.kill9();
    let server = s.start();
    let i = check_signed(
        &rx.wait_event("backup_interrupted", |v| v["backup_id"] == iid.as_str()),
        "backup_interrupted",
        "error",
    );
    assert_eq!(i["link"], format!("/api/v1/backups/{iid}"));

    // Every delivery is on record, delivered at the first attempt.
    let page = server.get_json(
        "/api/v1/notifications/deliveries?target=ops&limit=500",
        ADMIN,
    );
    let items = page["items"].as_array().unwrap();
    assert!(items.len() >= 10, "{page:#}");
    for d in items {
        assert_eq!(d["status"], "delivered", "{d}");
        assert_eq!(d["attempts"], 1, "{d}");
        assert_eq!(d["last_status"], 200, "{d}");
    }
    // Newest first.
    let order: Vec<&str> = items.iter().map(|d| d["id"].as_str().unwrap()).collect();
    let mut sorted = order.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(order, sorted);
}

#[test]
fn overdue_fires_on_the_schedulers_clock_with_no_backup_running() {
    let rx = Receiver::start(Reply::Status(200));
    let probe = Setup::new(2);
    let secret = secret_file(&probe);
    let s = setup_with(&format!(
        "\n[notifications]\noverdue_after_hours = 26\n{}",
        webhook_toml("alarm", &rx.url("/overdue"), &secret, &["overdue"], 5)
    ));
    // The scheduler on (catch-up off): an instant passed while the server was down is missed.
    let text = std::fs::read_to_string(&s.config).unwrap().replace(
        "enabled = false        # tests start backups by hand",
        "enabled = true",
    );
    std::fs::write(&s.config, text).unwrap();

    let mut server = s.start();
    let ok = run_backup(&server);
    assert_eq!(ok["status"], "succeeded");
    let id = ok["id"].as_str().unwrap().to_string();
    server.terminate();
    assert!(
        rx.all().is_empty(),
        "nothing is overdue yet: {:?}",
        rx.all()
    );

    // 27 hours later on the scheduler's clock, with no backup at all.
    let offset = (27 * 3600).to_string();
    let server = s.start_env(&[("BACKUP_MASTER_CLOCK_OFFSET_SECS", &offset)]);
    let o = check_signed(
        &rx.wait_event("overdue", |v| v["severity"] == "error"),
        "overdue",
        "error",
    );
    assert_eq!(o["backup_id"], id.as_str());
    assert_eq!(o["link"], format!("/api/v1/backups/{id}"));
    assert!(o["summary"].as_str().unwrap().contains("26 h"), "{o}");
    // The scheduled run that passed while the server was down was missed: a warning.
    let m = check_signed(
        &rx.wait_event("overdue", |v| v["severity"] == "warning"),
        "overdue",
        "warning",
    );
    assert!(m["summary"].as_str().unwrap().contains("missed"), "{m}");
    // No backup ran for any of it.
    let list = server.get_json("/api/v1/backups", VIEWER);
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    // Once per silence: one error event, though the scheduler woke again for the missed run.
    let errors = rx
        .all()
        .iter()
        .filter(|g| g.json()["severity"] == "error")
        .count();
    assert_eq!(errors, 1);
}

#[test]
fn a_receiver_answering_500_then_200_gets_one_delivery_with_two_attempts() {
    let rx = Receiver::start(Reply::Status(200));
    rx.then(&[Reply::Status(500)]);
    let probe = Setup::new(2);
    let secret = secret_file(&probe);
    let s = setup_with(&webhook_toml(
        "flaky",
        &rx.url("/flaky"),
        &secret,
        &["backup_succeeded"],
        5,
    ));
    let server = s.start_env(&[("BACKUP_MASTER_NOTIFY_RETRY", "200:400:20000")]);
    let id = run_backup(&server)["id"].as_str().unwrap().to_string();
    let d = poll("the delivery to end", Duration::from_secs(30), || {
        let page = server.get_json("/api/v1/notifications/deliveries?target=flaky", ADMIN);
        let items = page["items"].as_array().unwrap().clone();
        items
            .first()
            .filter(|d| d["status"] != "pending")
            .cloned()
            .map(|d| (d, items.len()))
    });
    let (d, count) = d;
    assert_eq!(count, 1, "one delivery for one event");
    assert_eq!(d["status"], "delivered", "{d}");
    assert_eq!(d["attempts"], 2, "{d}");
    assert_eq!(d["last_status"], 200, "{d}");
    assert_eq!(d["event"]["backup_id"], id.as_str());
    let got = rx.all();
    assert_eq!(got.len(), 2);
    // Both attempts are the same delivery, signed alike.
    assert_eq!(
        got[0].headers["x-backup-master-delivery"],
        got[1].headers["x-backup-master-delivery"]
    );
    assert_eq!(got[0].body, got[1].body);
    check_signed(&got[1], "backup_succeeded", "info");
    // Filters.
    let delivered = server.get_json(
        "/api/v1/notifications/deliveries?target=flaky&status=delivered",
        ADMIN,
    );
    assert_eq!(delivered["items"].as_array().unwrap().len(), 1);
    let failed = server.get_json("/api/v1/notifications/deliveries?status=failed", ADMIN);
    assert!(failed["items"].as_array().unwrap().is_empty());
    // A 4xx is not retried: the delivery fails at once.
    rx.then(&[Reply::Status(404)]);
    let second = run_backup(&server)["id"].as_str().unwrap().to_string();
    let d = poll("the refused delivery", Duration::from_secs(30), || {
        let page = server.get_json("/api/v1/notifications/deliveries?status=failed", ADMIN);
        page["items"].as_array().unwrap().first().cloned()
    });
    assert_eq!(d["event"]["backup_id"], second.as_str());
    assert_eq!(
        (d["attempts"].as_u64(), d["last_status"].as_u64()),
        (Some(1), Some(404))
    );
}

#[test]
fn a_receiver_that_never_answers_delays_no_backup_and_the_delivery_fails_after_its_retries() {
    let rx = Receiver::start(Reply::Hang);
    let probe = Setup::new(2);
    let secret = secret_file(&probe);
    let s = setup_with(&webhook_toml(
        "void",
        &rx.url("/void"),
        &secret,
        &["backup_started", "backup_succeeded"],
        5,
    ));
    let server = s.start_env(&[("BACKUP_MASTER_NOTIFY_RETRY", "100:200:6000")]);
    // A backup of these small homes takes well under the target's 5 s timeout: a backup that
    // waited for its two notifications would take 10 s at least.
    let t = Instant::now();
    let rec = run_backup(&server);
    let took = t.elapsed();
    assert_eq!(rec["status"], "succeeded");
    assert!(took < Duration::from_secs(5), "the backup took {took:?}");
    // The start event is being sent meanwhile (the receiver holds its request).
    rx.wait_event("backup_started", |_| true);

    let failed = poll("both deliveries to fail", Duration::from_secs(40), || {
        let page = server.get_json("/api/v1/notifications/deliveries?target=void", ADMIN);
        let items = page["items"].as_array().unwrap().clone();
        (items.len() == 2 && items.iter().all(|d| d["status"] == "failed")).then_some(items)
    });
    for d in &failed {
        assert!(d["attempts"].as_u64().unwrap() >= 2, "retried: {d}");
        assert!(
            d["last_error"].as_str().unwrap().contains("no answer"),
            "{d}"
        );
        assert!(d["last_status"].is_null(), "{d}");
        assert!(d["finished_at"].as_str().is_some(), "{d}");
    }
    let metrics = server.get("/metrics", VIEWER).text().unwrap();
    assert!(
        metrics.contains("backup_master_notification_deliveries_failed_total{target=\"void\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("backup_master_notification_deliveries_pending 0"),
        "{metrics}"
    );
    // A second backup is as quick as the first, with deliveries failing around it.
    let t = Instant::now();
    assert_eq!(run_backup(&server)["status"], "succeeded");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

#[test]
fn the_test_send_answers_within_the_timeout_with_the_receivers_status() {
    let ok = Receiver::start(Reply::Status(204));
    let teapot = Receiver::start(Reply::Status(418));
    let hang = Receiver::start(Reply::Hang);
    let probe = Setup::new(2);
    let secret = secret_file(&probe);
    let s = setup_with(&format!(
        "{}{}{}\n[[notification_targets]]\nname = \"hc\"\nkind = \"ping\"\nurl = \"{}\"\n",
        webhook_toml("ok", &ok.url("/ok"), &secret, &[], 5),
        webhook_toml("teapot", &teapot.url("/t"), &secret, &[], 5),
        webhook_toml("hang", &hang.url("/h"), &secret, &[], 1),
        ok.url("/ping/abc"),
    ));
    let server = s.start();
    let test = |name: &str| -> (Value, Duration) {
        let t = Instant::now();
        let r = server.post(
            &format!("/api/v1/notification-targets/{name}/test"),
            ADMIN,
            &json!({}),
        );
        assert_eq!(r.status(), 200, "{name}");
        (r.json().unwrap(), t.elapsed())
    };
    let (o, _) = test("ok");
    assert_eq!(
        (o["ok"].as_bool(), o["status"].as_u64()),
        (Some(true), Some(204)),
        "{o}"
    );
    assert!(
        o["error"].is_null() && o["latency_ms"].as_u64().is_some(),
        "{o}"
    );
    let g = ok.wait_event("test", |_| true);
    check_signed(&g, "test", "info");
    let (o, _) = test("teapot");
    assert_eq!(
        (o["ok"].as_bool(), o["status"].as_u64()),
        (Some(false), Some(418)),
        "{o}"
    );
    assert!(o["error"].as_str().unwrap().contains("418"), "{o}");
    let (o, took) = test("hang");
    assert_eq!(o["ok"], false, "{o}");
    assert!(o["status"].is_null(), "{o}");
    assert!(
        o["error"]
            .as_str()
            .unwrap()
            .contains("no answer within 1 s"),
        "{o}"
    );
    assert!(
        took < Duration::from_millis(2500),
        "answered after {took:?}"
    );
    // A ping target: the test is an info event, so the check's own URL (success).
    let (o, _) = test("hc");
    assert_eq!(o["status"], 204, "{o}");
    let ping = poll("the ping", Duration::from_secs(10), || {
        ok.all().into_iter().find(|g| g.path.starts_with("/ping/"))
    });
    assert_eq!(ping.path, "/ping/abc");
    assert!(String::from_utf8_lossy(&ping.body).contains("test notification"));
    // Each test send is a delivery on record.
    let page = server.get_json("/api/v1/notifications/deliveries?limit=10", ADMIN);
    let recorded: Vec<(&str, &str)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["target"].as_str().unwrap(), d["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        recorded,
        [
            ("hc", "delivered"),
            ("hang", "failed"),
            ("teapot", "failed"),
            ("ok", "delivered")
        ]
    );
    // Unknown target, weaker roles.
    assert_problem(
        server.post("/api/v1/notification-targets/nope/test", ADMIN, &json!({})),
        404,
    );
    assert_problem(
        server.post("/api/v1/notification-targets/ok/test", OPERATOR, &json!({})),
        403,
    );
}

#[test]
fn a_target_without_matcher_gets_warnings_and_errors_only_and_a_ping_its_states() {
    let rx = Receiver::start(Reply::Status(200));
    let s = setup_with(&format!(
        "\n[[notification_targets]]\nname = \"default\"\nkind = \"webhook\"\nurl = \"{}\"\n\
         \n[[notification_targets]]\nname = \"hc\"\nkind = \"ping\"\nurl = \"{}\"\n\
         events = [\"backup_started\", \"backup_succeeded\", \"backup_failed\"]\n",
        rx.url("/d"),
        rx.url("/ping/check-1"),
    ));
    let server = s.start_env(&[("BACKUP_MASTER_FAULTS", "prepare:hub")]);
    let id = run_backup(&server)["id"].as_str().unwrap().to_string();
    let g = rx.wait_event("backup_failed", |_| true);
    assert_eq!(g.path, "/d");
    assert_eq!(g.json()["backup_id"], id.as_str());
    // Unsigned without a secret file.
    assert!(!g.headers.contains_key("x-backup-master-signature"));
    // The ping target: /start when the backup started, /fail when it failed.
    let pings = poll("both pings", Duration::from_secs(30), || {
        let mut p: Vec<String> = rx
            .all()
            .into_iter()
            .filter(|g| g.path.starts_with("/ping/"))
            .map(|g| g.path)
            .collect();
        p.sort();
        (p.len() == 2).then_some(p)
    });
    assert_eq!(pings, ["/ping/check-1/fail", "/ping/check-1/start"]);
    let fail = rx
        .all()
        .into_iter()
        .find(|g| g.path == "/ping/check-1/fail")
        .unwrap();
    assert!(String::from_utf8_lossy(&fail.body).contains(&format!("backup {id} failed")));
    // The webhook without a matcher did not get the start (info).
    assert!(rx
        .all()
        .iter()
        .filter(|g| g.path == "/d")
        .all(|g| g.json()["severity"] != "info"));
}

#[test]
fn targets_are_managed_through_the_api_and_bad_input_changes_nothing() {
    let s = Setup::new(2);
    let secret = secret_file(&s);
    let server = s.start();
    let path = "/api/v1/notification-targets/ops";
    let body = json!({
        "kind": "webhook", "url": "http://127.0.0.1:9/hook", "secret_file": secret,
        "events": ["backup_failed", "overdue"], "min_severity": "warning", "mode": "any",
        "timeout_seconds": 5,
    });
    // Only admins.
    for token in [VIEWER, OPERATOR] {
        assert_problem(server.get("/api/v1/notification-targets", token), 403);
        assert_problem(server.get("/api/v1/notifications/deliveries", token), 403);
        assert_problem(server.put(path, token, &body, Some("*")), 403);
    }
    assert_problem(server.get("/api/v1/notification-targets", "nope"), 401);
    let before = std::fs::read(&s.config).unwrap();
    // No If-Match: 428.
    assert_problem(server.put(path, ADMIN, &body, None), 428);
    assert_problem(server.get(path, ADMIN), 404);
    // Bad input: 422 naming the field, the file untouched.
    let bad = |patch: Value, field: &str| {
        let mut b = body.clone();
        for (k, v) in patch.as_object().unwrap() {
            b[k] = v.clone();
        }
        let p = assert_problem(server.put(path, ADMIN, &b, Some("*")), 422);
        assert!(
            problem_fields(&p).contains(&field.to_string()),
            "{field}: {p}"
        );
        assert_eq!(std::fs::read(&s.config).unwrap(), before, "{field}");
    };
    bad(
        json!({"events": ["backup_failed", "backup_exploded"]}),
        "events[1]",
    );
    bad(json!({"url": "not a url"}), "url");
    bad(json!({"url": "ftp://example.com/x"}), "url");
    bad(
        json!({"secret_file": "/nonexistent/webhook.secret"}),
        "secret_file",
    );
    bad(json!({"min_severity": "fatal"}), "min_severity");
    bad(json!({"mode": "some"}), "mode");
    bad(json!({"kind": "pager"}), "kind");
    bad(json!({"timeout_seconds": 0}), "timeout_seconds");
    bad(json!({"smtp_port": 25}), "smtp_port");
    bad(
        json!({"headers": {"bad header": "x"}}),
        "headers.bad header",
    );
    bad(json!({"colour": "red"}), "colour");
    let email = json!({
        "kind": "email", "smtp_host": "127.0.0.1", "smtp_port": 70000, "tls": "none",
        "from": "backup@example.com", "to": ["ops@example.com"],
    });
    let p = assert_problem(
        server.put(
            "/api/v1/notification-targets/mail",
            ADMIN,
            &email,
            Some("*"),
        ),
        422,
    );
    assert_eq!(problem_fields(&p), ["smtp_port"]);
    let p = assert_problem(
        server.put(
            "/api/v1/notification-targets/Bad%20Name",
            ADMIN,
            &body,
            Some("*"),
        ),
        422,
    );
    assert_eq!(problem_fields(&p), ["name"]);
    assert_eq!(std::fs::read(&s.config).unwrap(), before);

    // Created with `*`.
    let r = server.put(path, ADMIN, &body, Some("*"));
    assert_eq!(r.status(), 201);
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let v: Value = r.json().unwrap();
    assert_eq!(v["name"], "ops");
    assert_eq!(v["secret_file"], secret.as_str());
    let text = std::fs::read_to_string(&s.config).unwrap();
    assert!(text.contains("# test config: this comment must survive API writes"));
    assert!(
        text.contains("[[notification_targets]]") && text.contains("name = \"ops\""),
        "{text}"
    );
    assert!(!text.contains(SECRET), "the secret stays in its file");
    let got = server.get(path, ADMIN);
    assert_eq!(got.headers()["etag"].to_str().unwrap(), etag);
    let list = server.get_json("/api/v1/notification-targets", ADMIN);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains(SECRET));
    // Replaced with its ETag; a stale one is 412.
    let mut changed = body.clone();
    changed["events"] = json!(["overdue"]);
    let r = server.put(path, ADMIN, &changed, Some(&etag));
    assert_eq!(r.status(), 200);
    let etag2 = r.headers()["etag"].to_str().unwrap().to_string();
    assert_ne!(etag, etag2);
    assert_problem(server.put(path, ADMIN, &body, Some(&etag)), 412);
    // The new settings are in force at once: the test send goes to the (closed) port.
    let o: Value = server
        .post(&format!("{path}/test"), ADMIN, &json!({}))
        .json()
        .unwrap();
    assert_eq!(o["ok"], false, "{o}");
    assert!(o["error"].as_str().unwrap().contains("cannot reach"), "{o}");
    // Kept across a restart (it is in the file).
    drop(server);
    let server = s.start();
    let v = server.get_json(path, ADMIN);
    assert_eq!(v["events"], json!(["overdue"]));
    let page = server.get_json("/api/v1/notifications/deliveries", ADMIN);
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        1,
        "the test send's record survives"
    );
    // Bad queries.
    let p = assert_problem(
        server.get(
            "/api/v1/notifications/deliveries?target=Not%20A%20Name",
            ADMIN,
        ),
        422,
    );
    assert_eq!(problem_fields(&p), ["target"]);
    let p = assert_problem(
        server.get("/api/v1/notifications/deliveries?limit=0", ADMIN),
        422,
    );
    assert_eq!(problem_fields(&p), ["limit"]);
    // Deleted with its ETag.
    let etag = server.get(path, ADMIN).headers()["etag"]
        .to_str()
        .unwrap()
        .to_string();
    let r = server
        .client
        .delete(server.url(path))
        .bearer_auth(ADMIN)
        .header("If-Match", &etag)
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_problem(server.get(path, ADMIN), 404);
    assert!(!std::fs::read_to_string(&s.config)
        .unwrap()
        .contains("notification_targets"));
}

#[test]
fn an_agent_outage_is_reported_once_and_its_return_too() {
    const TOKEN: &str = "agent-token-for-notify-tests";
    let rx = Receiver::start(Reply::Status(200));
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    make_home(&dir.path().join("homes/hub"), "maestro-hub");
    write(&dir.path().join("secrets/trk.token"), TOKEN.as_bytes());
    let config = dir.path().join("backup-master.toml");
    let text = format!(
        r#"listen = "127.0.0.1:0"
state_dir = "state"
[[tokens]]
role = "admin"
sha256 = "{admin}"
[schedule]
enabled = false
[[notification_targets]]
name = "agents"
kind = "webhook"
url = "{url}"
events = ["agent_unreachable", "agent_reachable"]
[[components]]
name = "hub"
profile = "maestro-hub"
home = "homes/hub"
[[components]]
name = "trk"
profile = "maestro-tracker"
agent = "http://127.0.0.1:{port}"
agent_token_file = "secrets/trk.token"
backup_folder = "backup"
"#,
        admin = sha(ADMIN),
        url = rx.url("/agents"),
    );
    std::fs::write(&config, text).unwrap();
    // The agent is not there yet: watched every second.
    let server = Server::start(
        &config,
        dir.path(),
        &[("BACKUP_MASTER_AGENT_WATCH_SECS", "1")],
    );
    let down = rx.wait_event("agent_unreachable", |_| true).json();
    assert_eq!(down["severity"], "error", "{down}");
    assert_eq!(ids(&down["components"]), ["trk"]);
    assert_eq!(down["link"], "/api/v1/components/trk");
    assert!(
        down["summary"].as_str().unwrap().contains("unreachable"),
        "{down}"
    );
    // More probes (each GET /components asks the agent) report nothing new.
    for _ in 0..3 {
        let c = server.get_json("/api/v1/components/trk", ADMIN);
        assert_eq!(c["reachable"], false, "{c}");
    }
    let agent_root = dir.path().join("agent");
    std::fs::create_dir_all(&agent_root).unwrap();
    let _agent = Agent::start(
        &agent_root,
        ("trk", "maestro-tracker", TOKEN),
        "",
        &format!("127.0.0.1:{port}"),
        &[],
    );
    let up = rx.wait_event("agent_reachable", |_| true).json();
    assert_eq!(up["severity"], "info", "{up}");
    assert_eq!(ids(&up["components"]), ["trk"]);
    let downs = rx
        .all()
        .iter()
        .filter(|g| g.json()["event"] == "agent_unreachable")
        .count();
    assert_eq!(downs, 1, "once per outage");
}
