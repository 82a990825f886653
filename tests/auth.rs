//! The auth matrix: every route refuses a missing or unknown token with 401 and a role too weak
//! with 403, as problem+json; tokens never appear in a response.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use reqwest::Method;

/// (method, path, weakest role allowed). Keep in step with the routes.
fn routes() -> Vec<(Method, &'static str, &'static str)> {
    vec![
        (Method::GET, "/api/v1/settings", "viewer"),
        (Method::PUT, "/api/v1/settings", "admin"),
        (Method::GET, "/api/v1/components", "viewer"),
        (Method::GET, "/api/v1/components/lui", "viewer"),
        (Method::PUT, "/api/v1/components/lui", "admin"),
        (Method::GET, "/api/v1/components/lui/history", "viewer"),
        (Method::GET, "/api/v1/schedule/log", "viewer"),
        (Method::GET, "/api/v1/audit", "admin"),
        (Method::POST, "/api/v1/backups", "operator"),
        (Method::GET, "/api/v1/backups", "viewer"),
        (Method::GET, "/api/v1/backups/20261126T020000Z", "viewer"),
        (
            Method::GET,
            "/api/v1/backups/20261126T020000Z/report",
            "viewer",
        ),
        (
            Method::GET,
            "/api/v1/backups/20261126T020000Z/events",
            "viewer",
        ),
        (
            Method::POST,
            "/api/v1/backups/20261126T020000Z/cancel",
            "operator",
        ),
        (
            Method::DELETE,
            "/api/v1/backups/20261126T020000Z/staging",
            "admin",
        ),
        (Method::GET, "/api/v1/hook-processes", "viewer"),
        (Method::POST, "/api/v1/hook-processes", "admin"),
        (Method::GET, "/api/v1/hook-processes/x1", "viewer"),
        (Method::DELETE, "/api/v1/hook-processes/x1", "admin"),
        (Method::GET, "/api/v1/hook-processes/x1/output", "viewer"),
        (Method::POST, "/api/v1/restores", "admin"),
        (Method::GET, "/api/v1/restores", "viewer"),
        (Method::GET, "/api/v1/restores/R20261126T101500Z", "viewer"),
        (
            Method::POST,
            "/api/v1/restores/R20261126T101500Z/undo",
            "admin",
        ),
        (
            Method::DELETE,
            "/api/v1/restores/R20261126T101500Z/safety-copy",
            "admin",
        ),
        (Method::POST, "/api/v1/drills", "operator"),
        (Method::GET, "/api/v1/drills", "viewer"),
        (Method::GET, "/api/v1/drills/D20261201T040000Z", "viewer"),
        (
            Method::GET,
            "/api/v1/drills/D20261201T040000Z/events",
            "viewer",
        ),
        (
            Method::POST,
            "/api/v1/drills/D20261201T040000Z/cancel",
            "operator",
        ),
        (Method::GET, "/api/v1/backup-sets", "viewer"),
        (Method::POST, "/api/v1/backup-sets/import", "admin"),
        (
            Method::GET,
            "/api/v1/backup-sets/20261126T020000Z",
            "viewer",
        ),
        (
            Method::POST,
            "/api/v1/backup-sets/20261126T020000Z/verify",
            "operator",
        ),
        (
            Method::GET,
            "/api/v1/backup-sets/20261126T020000Z/verifications",
            "viewer",
        ),
        (
            Method::GET,
            "/api/v1/backup-sets/20261126T020000Z/verifications/20261126T080000Z-0001",
            "viewer",
        ),
        (Method::GET, "/api/v1/notification-targets", "admin"),
        (Method::GET, "/api/v1/notification-targets/ops", "admin"),
        (Method::PUT, "/api/v1/notification-targets/ops", "admin"),
        (Method::DELETE, "/api/v1/notification-targets/ops", "admin"),
        (
            Method::POST,
            "/api/v1/notification-targets/ops/test",
            "admin",
        ),
        (Method::GET, "/api/v1/notifications/deliveries", "admin"),
        (Method::GET, "/api/v1/replication-targets", "viewer"),
        (Method::GET, "/api/v1/replication-targets/offsite", "viewer"),
        (Method::PUT, "/api/v1/replication-targets/offsite", "admin"),
        (
            Method::DELETE,
            "/api/v1/replication-targets/offsite",
            "admin",
        ),
        (
            Method::POST,
            "/api/v1/replication-targets/offsite/replicate",
            "operator",
        ),
        (
            Method::GET,
            "/api/v1/replication-targets/offsite/sets",
            "viewer",
        ),
        (
            Method::POST,
            "/api/v1/replication-targets/offsite/sets/20261126T020000Z/verify",
            "operator",
        ),
        (Method::GET, "/api/v1/replications", "viewer"),
        (
            Method::GET,
            "/api/v1/replications/C20261126T020500Z",
            "viewer",
        ),
        (
            Method::GET,
            "/api/v1/replications/C20261126T020500Z/events",
            "viewer",
        ),
        (
            Method::POST,
            "/api/v1/replications/C20261126T020500Z/cancel",
            "operator",
        ),
    ]
}

#[test]
fn every_route_needs_a_token_and_the_role() {
    let s = Setup::new(1);
    let server = s.start();
    // Every /api/v1 operation of the spec is in the matrix.
    let spec: serde_json::Value = server
        .client
        .get(server.url("/api-docs/openapi.json"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let mut documented = std::collections::BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        if path.starts_with("/api/v1") {
            for method in item.as_object().unwrap().keys() {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    // The operation of the spec each matrix row reaches (its path template, literal segments
    // preferred).
    let template_of = |path: &str| {
        spec["paths"]
            .as_object()
            .unwrap()
            .keys()
            .filter(|t| {
                let (t, p): (Vec<&str>, Vec<&str>) =
                    (t.split('/').collect(), path.split('/').collect());
                t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| t == p || t.starts_with('{'))
            })
            .min_by_key(|t| t.matches('{').count())
            .unwrap_or_else(|| panic!("{path}: no operation of the spec"))
            .clone()
    };
    let matrix: std::collections::BTreeSet<(String, String)> = routes()
        .into_iter()
        .map(|(method, path, _)| (method.as_str().to_string(), template_of(path)))
        .collect();
    assert_eq!(
        matrix, documented,
        "the auth matrix and the documented operations differ"
    );
    // 403 is documented exactly where a role can be too weak (operator and admin routes).
    for (method, path, role) in routes() {
        let template = template_of(path);
        let op = &spec["paths"][&template][method.as_str().to_lowercase()];
        assert_eq!(
            op["responses"].get("403").is_some(),
            role != "viewer",
            "{method} {template}: 403 documented for the {role} role?"
        );
    }

    for (method, path, role) in routes() {
        let send = |token: Option<&str>| {
            let mut rb = server
                .client
                .request(method.clone(), server.url(path))
                .header("content-type", "application/json")
                .body("{}");
            if let Some(t) = token {
                rb = rb.bearer_auth(t);
            }
            rb.send().unwrap()
        };
        assert_eq!(assert_problem(send(None), 401)["code"], "unauthorized");
        assert_eq!(
            assert_problem(send(Some("not-a-token")), 401)["code"],
            "unauthorized"
        );
        let r = server
            .client
            .request(method.clone(), server.url(path))
            .header("Authorization", "Basic YWRtaW46YWRtaW4=")
            .send()
            .unwrap();
        assert_problem(r, 401);
        let weaker: &[&str] = match role {
            "admin" => &[VIEWER, OPERATOR],
            "operator" => &[VIEWER],
            _ => &[],
        };
        for token in weaker {
            let body = assert_problem(send(Some(token)), 403);
            assert_eq!(body["code"], "forbidden", "{body}");
            let text = body.to_string();
            assert!(!text.contains(token), "token echoed in {text}");
        }
    }
}
