//! The audit log on the real server: every request under `/api/v1` that is not a GET or HEAD is
//! recorded in order with the token's name and role and its outcome (401 and 403 too), the ID
//! of a started backup, never a token, a body or a query string; `GET /api/v1/audit` filters
//! and pages; the files rotate at `audit_max_bytes` and read back whole; bad query values 422.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

const ADMIN_NAME: &str = "ops-admin";
const OPERATOR_NAME: &str = "ci-operator";
/// A token no entry of the config has.
const STRANGER: &str = "stranger-token-not-configured";

/// The viewer token has no `name`: it is named by its SHA-256's first 8 hex digits.
fn viewer_name() -> String {
    sha(VIEWER)[..8].to_string()
}

/// A config with the three harness tokens (admin and operator named, viewer not), three
/// local components and `extra` top-level keys.
fn setup(extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, profile) in [
        ("hub", "maestro-hub"),
        ("lui", "maestro-lui"),
        ("trk", "maestro-tracker"),
    ] {
        make_home(&dir.path().join("homes").join(name), profile);
    }
    let text = format!(
        "listen = \"127.0.0.1:0\"\nstate_dir = \"state\"\n{extra}\n\
         [[tokens]]\nname = \"{ADMIN_NAME}\"\nrole = \"admin\"\nsha256 = \"{}\"\n\
         [[tokens]]\nname = \"{OPERATOR_NAME}\"\nrole = \"operator\"\nsha256 = \"{}\"\n\
         [[tokens]]\nrole = \"viewer\"\nsha256 = \"{}\"\n\
         [schedule]\nenabled = false\n\
         [[components]]\nname = \"hub\"\nprofile = \"maestro-hub\"\nhome = \"homes/hub\"\n\
         [[components]]\nname = \"lui\"\nprofile = \"maestro-lui\"\nhome = \"homes/lui\"\n\
         [[components]]\nname = \"trk\"\nprofile = \"maestro-tracker\"\nhome = \"homes/trk\"\n",
        sha(ADMIN),
        sha(OPERATOR),
        sha(VIEWER)
    );
    std::fs::write(dir.path().join("backup-master.toml"), text).unwrap();
    dir
}

fn start(dir: &Path) -> Server {
    Server::start(&dir.join("backup-master.toml"), dir, &[])
}

/// Sends `method path` with `token` (none: no Authorization header) and a JSON `body`.
fn send(
    server: &Server,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: &Value,
) -> reqwest::blocking::Response {
    let mut rb = server.client.request(method, server.url(path)).json(body);
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    rb.send().unwrap()
}

/// Every entry of the audit log, read page by page (`limit` per page) through the API.
fn read_all(server: &Server, query: &str, limit: usize) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/audit?limit={limit}{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = server.get_json(&path, ADMIN);
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= limit, "{page}");
        out.extend(items.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => {
                assert_eq!(items.len(), limit, "a page before the last is full: {page}");
                cursor = Some(c.to_string());
            }
            None => return out,
        }
    }
}

/// (token, role, method, path, status) of an entry.
fn summary(e: &Value) -> (Option<String>, Option<String>, String, String, u64) {
    (
        e["token"].as_str().map(String::from),
        e["role"].as_str().map(String::from),
        e["method"].as_str().unwrap().to_string(),
        e["path"].as_str().unwrap().to_string(),
        e["status"].as_u64().unwrap(),
    )
}

fn row(
    token: Option<&str>,
    role: Option<&str>,
    method: &str,
    path: &str,
    status: u64,
) -> (Option<String>, Option<String>, String, String, u64) {
    (
        token.map(String::from),
        role.map(String::from),
        method.to_string(),
        path.to_string(),
        status,
    )
}

/// The bytes of every file below `<state>/audit`.
fn audit_files(state: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(state.join("audit"))
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().to_string(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn three_tokens_are_recorded_in_order_with_names_roles_and_outcomes() {
    let dir = setup("");
    let state = dir.path().join("state");
    let server = start(dir.path());
    let viewer = viewer_name();

    // 1. The operator starts a backup: 202, its ID recorded.
    let backup_id = start_backup(&server);
    wait_backup(&server, &backup_id);
    // 2. The viewer may not start one (403); the query string and the body are not recorded.
    let r = send(
        &server,
        Method::POST,
        "/api/v1/backups?note=query-secret-text",
        Some(VIEWER),
        &json!({"note": "body-secret-text"}),
    );
    assert_problem(r, 403);
    // 3. No token, and a token that is not configured: 401, recorded without a name.
    assert_problem(
        send(&server, Method::POST, "/api/v1/backups", None, &json!({})),
        401,
    );
    assert_problem(
        send(
            &server,
            Method::DELETE,
            "/api/v1/hook-processes/x1",
            Some(STRANGER),
            &json!({}),
        ),
        401,
    );
    // 4. The admin writes the settings: 428 without If-Match, then 200 with it.
    let current = server.get("/api/v1/settings", ADMIN);
    let tag = current.headers()["etag"].to_str().unwrap().to_string();
    let mut settings: Value = current.json().unwrap();
    let settings =
        json!({"schedule": settings["schedule"].take(), "hooks": settings["hooks"].take()});
    assert_problem(server.put("/api/v1/settings", ADMIN, &settings, None), 428);
    let r = server.put("/api/v1/settings", ADMIN, &settings, Some(&tag));
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    // 5. The operator cancels the ended backup: 409. A restore with a body holding text that
    //    looks like a secret is refused to the operator (403).
    let cancel = format!("/api/v1/backups/{backup_id}/cancel");
    assert_problem(server.post(&cancel, OPERATOR, &json!({})), 409);
    assert_problem(
        server.post(
            "/api/v1/restores",
            OPERATOR,
            &json!({"backup_id": backup_id, "password": "body-secret-text"}),
        ),
        403,
    );
    // 6. The admin verifies the set: 202, the verification's ID recorded.
    let r = server.post(
        &format!("/api/v1/backup-sets/{backup_id}/verify"),
        OPERATOR,
        &json!({}),
    );
    assert_eq!(r.status(), 202);
    let verification: Value = r.json().unwrap();
    let verification_id = verification["id"].as_str().unwrap().to_string();
    // Reading is not audited, nor is reading the audit log; and only an admin may read it.
    assert_problem(server.get("/api/v1/audit", OPERATOR), 403);
    assert_problem(server.get("/api/v1/audit", VIEWER), 403);
    server.get_json("/api/v1/backups", VIEWER);

    let entries = read_all(&server, "", 100);
    let got: Vec<_> = entries.iter().map(summary).collect();
    let want = vec![
        row(
            Some(OPERATOR_NAME),
            Some("operator"),
            "POST",
            "/api/v1/backups",
            202,
        ),
        row(
            Some(&viewer),
            Some("viewer"),
            "POST",
            "/api/v1/backups",
            403,
        ),
        row(None, None, "POST", "/api/v1/backups", 401),
        row(None, None, "DELETE", "/api/v1/hook-processes/x1", 401),
        row(
            Some(ADMIN_NAME),
            Some("admin"),
            "PUT",
            "/api/v1/settings",
            428,
        ),
        row(
            Some(ADMIN_NAME),
            Some("admin"),
            "PUT",
            "/api/v1/settings",
            200,
        ),
        row(Some(OPERATOR_NAME), Some("operator"), "POST", &cancel, 409),
        row(
            Some(OPERATOR_NAME),
            Some("operator"),
            "POST",
            "/api/v1/restores",
            403,
        ),
        row(
            Some(OPERATOR_NAME),
            Some("operator"),
            "POST",
            &format!("/api/v1/backup-sets/{backup_id}/verify"),
            202,
        ),
    ];
    assert_eq!(got, want);
    // The created IDs: the backup's and the verification's, nothing for the rest.
    let ids: Vec<Option<&str>> = entries.iter().map(|e| e["job_id"].as_str()).collect();
    let mut want_ids = vec![None; want.len()];
    want_ids[0] = Some(backup_id.as_str());
    want_ids[8] = Some(verification_id.as_str());
    assert_eq!(ids, want_ids);
    // In order: seq one by one, times not going back; from this machine.
    for w in entries.windows(2) {
        assert_eq!(w[1]["seq"].as_u64(), w[0]["seq"].as_u64().map(|s| s + 1));
        assert!(w[1]["time"].as_str() >= w[0]["time"].as_str(), "{w:?}");
    }
    assert!(entries.iter().all(|e| e["remote_addr"] == "127.0.0.1"));

    // No token text (nor its full digest), no body, no query string in any file of the log.
    let files = audit_files(&state);
    assert_eq!(files.len(), 1, "one file before any rotation");
    for (name, bytes) in &files {
        let text = String::from_utf8_lossy(bytes);
        for secret in [ADMIN, OPERATOR, VIEWER, STRANGER] {
            assert!(!text.contains(secret), "{name} holds a token");
            assert!(
                !text.contains(&sha(secret)),
                "{name} holds a token's digest"
            );
        }
        for leaked in ["query-secret-text", "body-secret-text", "note="] {
            assert!(!text.contains(leaked), "{name} holds {leaked}");
        }
        // One JSON line per entry, the same the API gives.
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines, entries);
    }

    // Filters: by token name, and by time (since inclusive, until exclusive).
    let of_operator = read_all(&server, &format!("&token={OPERATOR_NAME}"), 100);
    let want_operator: Vec<_> = entries
        .iter()
        .filter(|e| e["token"] == OPERATOR_NAME)
        .cloned()
        .collect();
    assert_eq!(of_operator.len(), 4);
    assert_eq!(of_operator, want_operator);
    assert_eq!(
        read_all(&server, &format!("&token={viewer}"), 100),
        vec![entries[1].clone()]
    );
    assert!(read_all(&server, "&token=nobody", 100).is_empty());
    let t = |i: usize| entries[i]["time"].as_str().unwrap().replace('+', "%2B");
    let since = read_all(&server, &format!("&since={}", t(5)), 100);
    assert_eq!(since.first(), Some(&entries[5]));
    assert_eq!(since.last(), entries.last());
    let until = read_all(&server, &format!("&until={}", t(5)), 100);
    assert_eq!(until.last(), Some(&entries[4]));
    assert_eq!(until.first(), Some(&entries[0]));
    let window = read_all(&server, &format!("&since={}&until={}", t(2), t(4)), 100);
    assert_eq!(window, entries[2..4].to_vec());
    // Paging: every page size gives the same entries in the same order.
    for limit in [1, 2, 4] {
        assert_eq!(read_all(&server, "", limit), entries, "limit {limit}");
    }
    let paged = read_all(&server, &format!("&token={OPERATOR_NAME}"), 3);
    assert_eq!(paged, want_operator);
}

#[test]
fn bad_query_values_are_422_naming_the_field_and_change_nothing() {
    let dir = setup("");
    let state = dir.path().join("state");
    let server = start(dir.path());
    assert_problem(server.post("/api/v1/backups", VIEWER, &json!({})), 403);
    let before = audit_files(&state);
    for (query, field) in [
        ("since=yesterday", "since"),
        ("until=2026-13-40T00:00:00Z", "until"),
        (
            "since=2026-11-27T00:00:00Z&until=2026-11-26T00:00:00Z",
            "until",
        ),
        ("token=has%20space", "token"),
        ("token=", "token"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=many", "limit"),
        ("limit=-1", "limit"),
        ("cursor=abc", "cursor"),
        ("cursor=-5", "cursor"),
        ("bogus=1", "bogus"),
    ] {
        let body = assert_problem(server.get(&format!("/api/v1/audit?{query}"), ADMIN), 422);
        assert_eq!(body["code"], "validation_failed", "{query}: {body}");
        assert!(
            problem_fields(&body).contains(&field.to_string()),
            "{query}: {body}"
        );
    }
    // Limits at the edges are fine.
    for query in ["limit=1", "limit=1000", "cursor=0", "token=a"] {
        server.get_json(&format!("/api/v1/audit?{query}"), ADMIN);
    }
    assert_eq!(audit_files(&state), before, "reading the log changed it");
}

#[test]
fn the_log_rotates_at_its_size_and_reads_back_whole_in_order() {
    let dir = setup("audit_max_bytes = 1024");
    let state = dir.path().join("state");
    let mut server = start(dir.path());
    // ~190 bytes a line: 5 a file; 22 lines make 5 files, all kept.
    let refused = |server: &Server| {
        assert_problem(server.post("/api/v1/backups", VIEWER, &json!({})), 403);
    };
    for _ in 0..22 {
        refused(&server);
    }
    let names: Vec<String> = audit_files(&state).into_iter().map(|(n, _)| n).collect();
    for name in ["audit.log", "audit.log.1", "audit.log.2", "audit.log.3"] {
        assert!(names.contains(&name.to_string()), "{names:?}");
    }
    for (name, bytes) in audit_files(&state) {
        assert!(bytes.len() <= 1024, "{name} is {} bytes", bytes.len());
    }
    let entries = read_all(&server, "", 7);
    let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=22).collect::<Vec<_>>());

    // Many more: the oldest files go, at most 5 rotated ones stay, what is left is a run
    // ending with the newest line.
    for _ in 0..40 {
        refused(&server);
    }
    let names: Vec<String> = audit_files(&state).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        vec![
            "audit.log",
            "audit.log.1",
            "audit.log.2",
            "audit.log.3",
            "audit.log.4",
            "audit.log.5"
        ]
    );
    let entries = read_all(&server, "", 1000);
    let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs.last(), Some(&62));
    assert!(seqs.len() >= 25, "{seqs:?}");
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");

    // After a restart the numbering goes on, and a stale cursor (a line rotated away) starts
    // at the oldest kept.
    server.kill9();
    let server = start(dir.path());
    refused(&server);
    let kept: Vec<u64> = read_all(&server, "", 1000)
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(kept.last(), Some(&63));
    assert!(kept.windows(2).all(|w| w[1] == w[0] + 1), "{kept:?}");
    let page = server.get_json("/api/v1/audit?cursor=60", ADMIN);
    let after: Vec<u64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(after, vec![61, 62, 63]);
    let page = server.get_json("/api/v1/audit?cursor=1&limit=1", ADMIN);
    assert_eq!(page["items"][0]["seq"].as_u64(), Some(kept[0]));
    assert!(kept[0] > 1);
}

/// A line that cannot be written (disk full) turns a success into a 503 `audit_unavailable`
/// naming what the request did, so no client sees a success the log lacks; a refusal goes out
/// as it was. Once there is room again, lines are written and read back (the failed one is not
/// half in the file).
#[test]
fn a_success_whose_line_cannot_be_written_is_answered_503() {
    let dir = setup("");
    let state = dir.path().join("state");
    let mut server = start(dir.path());
    server.kill9();
    // The audit folder on a small file system, filled up.
    let audit = state.join("audit");
    std::fs::remove_dir_all(&audit).unwrap();
    let _fs = mount_tmpfs(&audit, "64k");
    let server = start(dir.path());
    let filler = audit.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        while f
            .write_all(&[0u8; 4096])
            .and_then(|()| f.sync_all())
            .is_ok()
        {}
        // The last partial block, byte by byte.
        while f.write_all(&[0u8]).and_then(|()| f.sync_all()).is_ok() {}
    }

    let r = server.post("/api/v1/backups", OPERATOR, &json!({}));
    let body = assert_problem(r, 503);
    assert_eq!(body["code"], "audit_unavailable", "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("POST /api/v1/backups") && detail.contains("202"),
        "{detail}"
    );
    // The backup it started is named, and it is real.
    let backups = server.get_json("/api/v1/backups", VIEWER);
    let id = backups["items"][0]["id"].as_str().unwrap().to_string();
    assert!(detail.contains(&id), "{detail}");
    wait_backup(&server, &id);
    // A refusal changed nothing: it goes out as it was.
    assert_problem(server.post("/api/v1/backups", VIEWER, &json!({})), 403);

    // Room again: the next lines are written, the failed ones left no trace.
    std::fs::remove_file(&filler).unwrap();
    assert_problem(server.post("/api/v1/backups", VIEWER, &json!({})), 403);
    let entries = read_all(&server, "", 100);
    let got: Vec<_> = entries.iter().map(summary).collect();
    assert_eq!(
        got,
        vec![row(
            Some(&viewer_name()),
            Some("viewer"),
            "POST",
            "/api/v1/backups",
            403
        )]
    );
    let text = std::fs::read_to_string(audit.join("audit.log")).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
}

/// Requests at the same time from several clients: each gets exactly one whole line, numbered
/// without gap, also across rotations.
#[test]
fn concurrent_requests_each_get_one_whole_line() {
    let dir = setup("audit_max_bytes = 2048");
    let state = dir.path().join("state");
    let server = start(dir.path());
    // Each thread its own client (the server's has a receiver of its output, not shared).
    let (client, url) = (server.client.clone(), server.url("/api/v1/backups"));
    std::thread::scope(|scope| {
        for _ in 0..6 {
            let (client, url) = (client.clone(), url.clone());
            scope.spawn(move || {
                for _ in 0..8 {
                    let r = client
                        .post(&url)
                        .bearer_auth(VIEWER)
                        .json(&json!({}))
                        .send();
                    assert_problem(r.unwrap(), 403);
                }
            });
        }
    });
    let entries = read_all(&server, "", 1000);
    let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=48).collect::<Vec<_>>());
    assert!(entries.iter().all(|e| summary(e)
        == row(
            Some(&viewer_name()),
            Some("viewer"),
            "POST",
            "/api/v1/backups",
            403
        )));
    let files = audit_files(&state);
    assert!(files.len() >= 3, "rotated meanwhile: {} files", files.len());
    let mut lines = 0;
    for (name, bytes) in files {
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.ends_with('\n'), "{name}");
        for line in text.lines() {
            serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("{name}: {e}: {line}"));
            lines += 1;
        }
    }
    assert_eq!(lines, 48);
}
