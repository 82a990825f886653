//! `/metrics`: Prometheus text after real backups; a token is needed unless metrics_public.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("{series} missing in:\n{text}"))
        .parse()
        .unwrap()
}

#[test]
fn metrics_follow_the_backups() {
    let s = Setup::new(1);
    let server = s.start_env(&[("BACKUP_MASTER_FAULTS", "prepare:trk")]);
    assert_eq!(run_backup(&server)["status"], "failed");
    drop(server);
    let server = s.start();
    let ok = run_backup(&server);
    assert_eq!(ok["status"], "succeeded");

    assert_problem(
        server.client.get(server.url("/metrics")).send().unwrap(),
        401,
    );
    // The served document: a token, or none only where metrics_public (both documented).
    let op = served_metrics_operation(&server);
    assert_eq!(
        op["security"],
        serde_json::json!([{ "bearer": [] }, {}]),
        "{op}"
    );
    assert!(op["responses"]["401"].is_object(), "{op}");
    let r = server.get("/metrics", VIEWER);
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = r.text().unwrap();
    assert_eq!(
        sample(&text, "backup_master_backups_total{result=\"succeeded\"}"),
        1.0
    );
    assert_eq!(
        sample(&text, "backup_master_backups_total{result=\"failed\"}"),
        1.0
    );
    let finished = chrono::DateTime::parse_from_rfc3339(ok["finished_at"].as_str().unwrap())
        .unwrap()
        .timestamp() as f64;
    assert_eq!(
        sample(&text, "backup_master_last_success_timestamp_seconds"),
        finished
    );
    for c in ["hub", "lui", "trk"] {
        let v = sample(
            &text,
            &format!("backup_master_component_last_success_timestamp_seconds{{component=\"{c}\"}}"),
        );
        assert_eq!(v, finished, "{c}");
    }
    assert!(sample(&text, "backup_master_last_backup_bytes{kind=\"copied\"}") > 0.0);
    assert_eq!(sample(&text, "backup_master_hook_processes_running"), 0.0);
    assert!(text.contains("backup_master_build_info{version=\""));
    drop(server);

    let text = std::fs::read_to_string(&s.config).unwrap().replace(
        "state_dir = \"state\"",
        "state_dir = \"state\"\nmetrics_public = true",
    );
    std::fs::write(&s.config, text).unwrap();
    let server = s.start();
    let r = server.client.get(server.url("/metrics")).send().unwrap();
    assert_eq!(r.status(), 200);
    // The server's own document says so: no security requirement, no 401.
    let op = served_metrics_operation(&server);
    assert_eq!(op["security"], serde_json::json!([]), "{op}");
    assert!(op["responses"].get("401").is_none(), "{op}");
}

/// The `GET /metrics` operation of the document the server serves.
fn served_metrics_operation(server: &Server) -> serde_json::Value {
    let doc: serde_json::Value = server
        .client
        .get(server.url("/api-docs/openapi.json"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    doc["paths"]["/metrics"]["get"].clone()
}
