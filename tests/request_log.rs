//! The server's log (`request_log`, `server::init_tracing`): one line per request with method,
//! route (the pattern that answered), status, duration and request ID; a refused request once,
//! at INFO, with its problem's type and detail and no debug dump; a failed one (5xx) at ERROR,
//! its cause on a line with the same request ID; the real address in the start-up line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::json;

/// A server of `s` whose log (stderr) goes to a file; (server, log file).
fn start_logged(s: &Setup) -> (Server, PathBuf) {
    let log = s.path().join("server.log");
    let mut cmd = Command::new(bin());
    cmd.arg("serve")
        .arg("--config")
        .arg(&s.config)
        .current_dir(s.path())
        .env_remove("BACKUP_MASTER_LOG")
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()));
    (Server::spawn(cmd), log)
}

/// The log's lines that contain every one of `parts`, once the log has one (the line of a
/// request is written right after its response).
fn lines_with(log: &PathBuf, parts: &[&str]) -> Vec<String> {
    poll(
        &format!("a log line with {parts:?}"),
        Duration::from_secs(10),
        || {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let found: Vec<String> = text
                .lines()
                .filter(|l| parts.iter().all(|p| l.contains(p)))
                .map(String::from)
                .collect();
            (!found.is_empty()).then_some(found)
        },
    )
}

/// The value of `key=` in a log line (quoted values unquoted).
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(&format!(" {key}="))? + key.len() + 2;
    let rest = &line[start..];
    if let Some(quoted) = rest.strip_prefix('"') {
        quoted.split('"').next()
    } else {
        rest.split(' ').next()
    }
}

#[test]
fn each_request_is_one_line_and_a_refusal_is_logged_once_with_its_problem() {
    let s = Setup::new(3);
    let (server, log) = start_logged(&s);

    // The start-up line names the address really bound (the config says 127.0.0.1:0).
    let started = lines_with(&log, &["server started"]);
    assert_eq!(started.len(), 1, "{started:?}");
    assert_eq!(
        field(&started[0], "listen"),
        Some(server.base.as_str()),
        "{started:?}"
    );
    assert!(!server.base.ends_with(":0"));

    // A success: method, route, status, duration, request ID, at INFO.
    assert_eq!(server.get("/api/v1/settings", VIEWER).status(), 200);
    let ok = lines_with(&log, &["route=/api/v1/settings "]);
    assert_eq!(ok.len(), 1, "{ok:?}");
    let line = &ok[0];
    assert!(line.contains(" INFO "), "{line}");
    assert_eq!(field(line, "method"), Some("GET"), "{line}");
    assert_eq!(field(line, "status"), Some("200"), "{line}");
    assert!(
        field(line, "duration_ms").is_some_and(|d| d.parse::<f64>().is_ok()),
        "{line}"
    );
    let id = field(line, "request_id").unwrap();
    assert!(
        id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{line}"
    );

    // A refusal (422) on the import route: logged under its own pattern, not as
    // /backup-sets/{id}, once, at INFO, with the problem's type and detail.
    let r = server.post(
        "/api/v1/backup-sets/import",
        ADMIN,
        &json!({"component": "lui", "folder": "/nowhere/lui-backup"}),
    );
    let problem = assert_problem(r, 422);
    let refused = lines_with(&log, &["route=/api/v1/backup-sets/import "]);
    assert_eq!(refused.len(), 1, "{refused:?}");
    let line = &refused[0];
    assert!(line.contains(" INFO "), "{line}");
    assert_eq!(field(line, "method"), Some("POST"), "{line}");
    assert_eq!(field(line, "status"), Some("422"), "{line}");
    assert_eq!(field(line, "problem"), problem["type"].as_str(), "{line}");
    assert_eq!(field(line, "detail"), problem["detail"].as_str(), "{line}");

    // A route with a parameter also names the path; a 404 of a known route is the same.
    let r = server.get("/api/v1/backups/20990101T000000Z", VIEWER);
    assert_problem(r, 404);
    let line = lines_with(&log, &["path=\"/api/v1/backups/20990101T000000Z\""]);
    assert_eq!(line.len(), 1, "{line:?}");
    assert_eq!(
        field(&line[0], "route"),
        Some("/api/v1/backups/{id}"),
        "{line:?}"
    );
    assert_eq!(field(&line[0], "status"), Some("404"), "{line:?}");
    assert_eq!(
        field(&line[0], "problem"),
        Some("/problems/not-found"),
        "{line:?}"
    );

    // No route at all: route "-", the path given.
    let r = server.get("/no/such/route", VIEWER);
    assert_problem(r, 404);
    let line = lines_with(&log, &["path=\"/no/such/route\""]);
    assert_eq!(field(&line[0], "route"), Some("-"), "{line:?}");

    // Without a token: 401, once.
    assert_eq!(
        server
            .client
            .get(server.url("/api/v1/components"))
            .send()
            .unwrap()
            .status(),
        401
    );
    let line = lines_with(&log, &["route=/api/v1/components ", "status=401"]);
    assert_eq!(line.len(), 1, "{line:?}");
    assert_eq!(
        field(&line[0], "problem"),
        Some("/problems/unauthorized"),
        "{line:?}"
    );

    // A validation error of a PUT: the detail names the field.
    let r = server.put(
        "/api/v1/settings",
        ADMIN,
        &json!({
            "schedule": {"enabled": true, "daily_time": "24:00", "time_zone": "", "catch_up": true},
            "hooks": {"on_success": "", "on_failure": "", "work_folder": "", "timeout_seconds": 60}
        }),
        Some("*"),
    );
    assert_problem(r, 422);
    let line = lines_with(&log, &["method=PUT", "route=/api/v1/settings "]);
    assert_eq!(line.len(), 1, "{line:?}");
    assert!(
        field(&line[0], "detail").is_some_and(|d| d.starts_with("schedule.daily_time: ")),
        "{line:?}"
    );

    // Nothing of that was logged twice, as a warning, or as a debug dump; lines stay short.
    let text = std::fs::read_to_string(&log).unwrap();
    for line in text.lines() {
        assert!(!line.contains(" WARN "), "a warning: {line}");
        assert!(line.chars().count() < 400, "a long line: {line}");
        assert!(
            !line.contains("ApiError {") && !line.contains("Error encountered"),
            "a debug dump: {line}"
        );
    }
    let requests = text.lines().filter(|l| l.contains(" request_id=")).count();
    assert_eq!(requests, 6, "one line per request:\n{text}");
}

#[test]
fn a_failed_request_is_logged_at_error_with_its_cause_under_the_same_request_id() {
    let s = Setup::new(3);
    let (server, log) = start_logged(&s);
    let b = run_backup(&server);
    assert_eq!(b["status"], "succeeded", "{b:#}");
    let id = b["id"].as_str().unwrap();
    // The master's own report file replaced by a folder: reading it fails on the server's side.
    let report = s.state().join(format!("logs/backupReport_{id}.txt"));
    std::fs::remove_file(&report).unwrap();
    std::fs::create_dir(&report).unwrap();
    let r = server.get(&format!("/api/v1/backups/{id}/report"), VIEWER);
    assert_problem(r, 500);

    let failed = lines_with(&log, &["route=/api/v1/backups/{id}/report"]);
    assert_eq!(failed.len(), 1, "{failed:?}");
    let line = &failed[0];
    assert!(line.contains(" ERROR "), "{line}");
    assert_eq!(field(line, "status"), Some("500"), "{line}");
    assert_eq!(field(line, "problem"), Some("/problems/internal"), "{line}");
    let request_id = field(line, "request_id").unwrap();
    let cause = lines_with(&log, &[&format!("request{{request_id={request_id}}}")]);
    assert_eq!(cause.len(), 1, "{cause:?}");
    assert!(cause[0].contains(" ERROR "), "{cause:?}");
    assert!(
        cause[0].contains(&report.display().to_string()) && cause[0].contains("is a folder"),
        "the cause names the file and what is wrong: {cause:?}"
    );
}

/// A config without `[schedule]` backs up every night: the start-up log says so, and says
/// when a schedule is off.
#[test]
fn the_start_up_log_states_the_schedule_also_its_default() {
    let s = Setup::new(3);
    let text = std::fs::read_to_string(&s.config).unwrap();
    let start = text.find("[schedule]").unwrap();
    let end =
        start + text[start..].find("catch_up = false\n").unwrap() + "catch_up = false\n".len();
    std::fs::write(&s.config, format!("{}{}", &text[..start], &text[end..])).unwrap();
    let (server, log) = start_logged(&s);
    let line = lines_with(&log, &["schedule: a backup every day"]);
    assert_eq!(field(&line[0], "daily_time"), Some("02:00"), "{line:?}");
    assert_eq!(field(&line[0], "catch_up"), Some("true"), "{line:?}");
    // an instant in UTC, e.g. 2026-12-01T01:00:00Z
    assert!(
        field(&line[0], "next_run").is_some_and(|t| t.len() == 20 && t.ends_with('Z')),
        "{line:?}"
    );
    drop(server);

    let off = Setup::new(3); // enabled = false
    let (_server, log) = start_logged(&off);
    lines_with(&log, &["schedule off: backups run only on request"]);
}
