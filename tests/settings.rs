//! Settings and components through the API: ETag / If-Match, validation naming each field with
//! the config file left byte-identical, and the operator's comments surviving a write.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{json, Value};

fn settings_body(daily_time: &str) -> Value {
    json!({
        "schedule": {"enabled": true, "daily_time": daily_time, "time_zone": "America/New_York", "catch_up": true},
        "hooks": {"on_success": "/bin/echo ok", "on_failure": "", "work_folder": "", "timeout_seconds": 60}
    })
}

fn etag(r: &reqwest::blocking::Response) -> String {
    r.headers()["etag"].to_str().unwrap().to_string()
}

/// PUTs each body to `path`: a 422 that names its field, and the config file unchanged.
fn refused_each(
    server: &Server,
    path: &str,
    tag: &str,
    config: &std::path::Path,
    original: &[u8],
    cases: Vec<(Value, &str)>,
) {
    for (body, field) in cases {
        let r = server.put(path, ADMIN, &body, Some(tag));
        let problem = assert_problem(r, 422);
        assert!(
            problem_fields(&problem).contains(&field.to_string()),
            "{field} not named for {body}: {problem}"
        );
        assert_eq!(
            std::fs::read(config).unwrap(),
            original,
            "{body} changed the file"
        );
    }
}

#[test]
fn settings_put_needs_a_fresh_etag_and_keeps_comments() {
    let s = Setup::new(3);
    let server = s.start();
    let r = server.get("/api/v1/settings", VIEWER);
    assert_eq!(r.status(), 200);
    let tag = etag(&r);
    let before: Value = r.json().unwrap();
    assert_eq!(before["schedule"]["daily_time"], "02:00");

    // No If-Match: 428, nothing written.
    let original = std::fs::read(&s.config).unwrap();
    assert_problem(
        server.put("/api/v1/settings", ADMIN, &settings_body("03:30"), None),
        428,
    );
    assert_eq!(std::fs::read(&s.config).unwrap(), original);

    let r = server.put(
        "/api/v1/settings",
        ADMIN,
        &settings_body("03:30"),
        Some(&tag),
    );
    assert_eq!(r.status(), 200);
    let new_tag = etag(&r);
    assert_ne!(new_tag, tag);
    let after: Value = r.json().unwrap();
    assert_eq!(after["schedule"]["daily_time"], "03:30");
    assert_eq!(after["hooks"]["on_success"], "/bin/echo ok");

    // The stale tag is refused and changes nothing.
    let written = std::fs::read(&s.config).unwrap();
    assert_problem(
        server.put(
            "/api/v1/settings",
            ADMIN,
            &settings_body("04:00"),
            Some(&tag),
        ),
        412,
    );
    assert_eq!(std::fs::read(&s.config).unwrap(), written);

    // The file keeps the operator's comments and has the new values.
    let text = String::from_utf8(written).unwrap();
    assert!(
        text.starts_with("# test config: this comment must survive API writes"),
        "{text}"
    );
    assert!(
        text.contains("daily_time = \"03:30\"   # keep me"),
        "{text}"
    );
    assert!(
        text.contains("state_dir = \"state\"   # relative to this file"),
        "{text}"
    );
    assert!(text.contains("time_zone = \"America/New_York\""), "{text}");

    // And a restarted server reads them back.
    drop(server);
    let server = s.start();
    let again = server.get_json("/api/v1/settings", VIEWER);
    assert_eq!(again["schedule"], after["schedule"]);
    assert_eq!(again["hooks"], after["hooks"]);
}

#[test]
fn bad_settings_name_the_field_and_leave_the_file_alone() {
    let s = Setup::new(3);
    let server = s.start();
    let tag = etag(&server.get("/api/v1/settings", VIEWER));
    let original = std::fs::read(&s.config).unwrap();
    let mut cases: Vec<(Value, &str)> = Vec::new();
    for bad_time in ["24:00", "7:5", "07:5", "7:05", "12:60", ""] {
        cases.push((settings_body(bad_time), "schedule.daily_time"));
    }
    let mut zone = settings_body("02:00");
    zone["schedule"]["time_zone"] = json!("Mars/Olympus_Mons");
    cases.push((zone, "schedule.time_zone"));
    let mut unknown = settings_body("02:00");
    unknown["schedule"]["dailytime"] = json!("02:00");
    cases.push((unknown, "schedule.dailytime"));
    let mut missing = settings_body("02:00");
    missing["hooks"]
        .as_object_mut()
        .unwrap()
        .remove("timeout_seconds");
    cases.push((missing, "hooks.timeout_seconds"));
    let mut wrong_type = settings_body("02:00");
    wrong_type["schedule"]["enabled"] = json!("yes");
    cases.push((wrong_type, "schedule.enabled"));
    let mut zero = settings_body("02:00");
    zero["hooks"]["timeout_seconds"] = json!(0);
    cases.push((zero, "hooks.timeout_seconds"));
    let mut quote = settings_body("02:00");
    quote["hooks"]["on_failure"] = json!("/bin/echo 'unbalanced");
    cases.push((quote, "hooks.on_failure"));
    let mut folder = settings_body("02:00");
    folder["hooks"]["work_folder"] = json!("/no/such/folder/anywhere");
    cases.push((folder, "hooks.work_folder"));
    let mut escape = settings_body("02:00");
    escape["hooks"]["work_folder"] = json!("../..");
    cases.push((escape, "hooks.work_folder"));
    let mut extra = settings_body("02:00");
    extra["next_runs"] = json!([]);
    cases.push((extra, "next_runs"));

    for (body, field) in cases {
        let r = server.put("/api/v1/settings", ADMIN, &body, Some(&tag));
        let status = r.status().as_u16();
        assert_eq!(status, 422, "{field}: {body}");
        let problem = assert_problem(r, 422);
        assert!(
            problem_fields(&problem).contains(&field.to_string()),
            "{field} not named: {problem}"
        );
        assert_eq!(problem["code"], "validation_failed", "{problem}");
        assert_eq!(
            std::fs::read(&s.config).unwrap(),
            original,
            "{field} changed the file"
        );
    }

    // Malformed JSON, wrong content type, oversized body.
    let r = server
        .client
        .put(server.url("/api/v1/settings"))
        .bearer_auth(ADMIN)
        .header("If-Match", &tag)
        .header("content-type", "application/json")
        .body("{\"schedule\": ")
        .send()
        .unwrap();
    assert_problem(r, 400);
    let r = server
        .client
        .put(server.url("/api/v1/settings"))
        .bearer_auth(ADMIN)
        .header("If-Match", &tag)
        .header("content-type", "text/plain")
        .body(settings_body("02:00").to_string())
        .send()
        .unwrap();
    assert_problem(r, 415);
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(1024 * 1024 + 10));
    let r = server
        .client
        .put(server.url("/api/v1/settings"))
        .bearer_auth(ADMIN)
        .header("If-Match", &tag)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .unwrap();
    assert_problem(r, 413);
    assert_eq!(std::fs::read(&s.config).unwrap(), original);
}

#[test]
fn components_are_listed_and_updated_with_validation() {
    let s = Setup::new(3);
    let server = s.start();
    let list = server.get_json("/api/v1/components", VIEWER);
    assert_eq!(list.as_array().unwrap().len(), 3);
    assert_eq!(list[1]["name"], "lui");
    assert_eq!(
        list[1]["items"],
        json!(["lui.ini", "luidata/", "registry/"])
    );
    assert_eq!(
        list[1]["backup_path"].as_str().unwrap(),
        s.home("lui").join("backup").to_str().unwrap()
    );

    let p = assert_problem(server.get("/api/v1/components/nope", VIEWER), 404);
    assert_eq!(p["code"], "component_not_found", "{p}");

    let r = server.get("/api/v1/components/lui", VIEWER);
    let tag = etag(&r);
    let original = std::fs::read(&s.config).unwrap();
    let hub_backup = s.home("hub").join("backup");
    let elsewhere = s.path().join("elsewhere");
    std::fs::create_dir_all(elsewhere.join("stuff")).unwrap();
    let cases: Vec<(Value, &str)> = vec![
        (json!({"backup_folder": "backup", "keep": 101}), "keep"),
        (json!({"backup_folder": "backup", "keep": -1}), "keep"),
        (
            json!({"backup_folder": "../hub/backup", "keep": 3}),
            "backup_folder",
        ),
        (
            json!({"backup_folder": hub_backup, "keep": 3}),
            "backup_folder",
        ),
        (
            json!({"backup_folder": hub_backup.join("inner"), "keep": 3}),
            "backup_folder",
        ),
        (
            json!({"backup_folder": "luidata/backup", "keep": 3}),
            "backup_folder",
        ),
        (json!({"backup_folder": "", "keep": 3}), "backup_folder"),
        (
            json!({"backup_folder": elsewhere, "keep": 3}),
            "backup_folder",
        ),
        (
            json!({"backup_folder": "backup", "keep": 3, "items": ["x"]}),
            "items",
        ),
        (
            json!({"backup_folder": "backup", "keep": 3, "colour": "red"}),
            "colour",
        ),
        (json!({"keep": 3}), "backup_folder"),
    ];
    refused_each(
        &server,
        "/api/v1/components/lui",
        &tag,
        &s.config,
        &original,
        cases,
    );

    // A valid change: keep 5 and another folder; stale tag afterwards.
    let r = server.put(
        "/api/v1/components/lui",
        ADMIN,
        &json!({"backup_folder": "bk", "keep": 5}),
        Some(&tag),
    );
    assert_eq!(r.status(), 200);
    let v: Value = r.json().unwrap();
    assert_eq!(v["keep"], 5);
    assert_eq!(v["backup_folder"], "bk");
    let text = std::fs::read_to_string(&s.config).unwrap();
    assert!(text.contains("backup_folder = \"bk\""), "{text}");
    assert!(text.contains("# test config: this comment must survive API writes"));
    assert_problem(
        server.put(
            "/api/v1/components/lui",
            ADMIN,
            &json!({"backup_folder": "bk", "keep": 4}),
            Some(&tag),
        ),
        412,
    );
}

#[test]
fn unknown_routes_and_methods_are_problems() {
    let s = Setup::new(1);
    let server = s.start();
    assert_problem(server.get("/api/v1/nothing-here", ADMIN), 404);
    let r = server
        .client
        .delete(server.url("/api/v1/settings"))
        .bearer_auth(ADMIN)
        .send()
        .unwrap();
    let status = r.status().as_u16();
    assert!(status == 404 || status == 405, "{status}");
    assert_problem(r, status);
}

/// The consistency keys of a component: shown with their defaults, refused with 422 naming the
/// field (file unchanged), written back and shown again, kept when a PUT leaves them out.
#[test]
fn component_consistency_fields_are_validated_written_back_and_kept() {
    let s = Setup::new(2);
    let server = s.start();
    let v = server.get_json("/api/v1/components/lui", VIEWER);
    assert_eq!(v["on_change"], "warn", "{v}");
    assert_eq!(v["snapshot"], "none", "{v}");
    assert_eq!(v["freeze_timeout_seconds"], 60, "{v}");
    assert_eq!(v["freeze_command"], "", "{v}");

    let tag = etag(&server.get("/api/v1/components/lui", VIEWER));
    let original = std::fs::read(&s.config).unwrap();
    let base = json!({"backup_folder": "backup", "keep": 3});
    let with = |extra: Value| {
        let mut b = base.clone();
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            with(json!({"freeze_timeout_seconds": 0})),
            "freeze_timeout_seconds",
        ),
        (
            with(json!({"freeze_timeout_seconds": -5})),
            "freeze_timeout_seconds",
        ),
        (
            with(json!({"freeze_timeout_seconds": 3601})),
            "freeze_timeout_seconds",
        ),
        (
            with(json!({"freeze_timeout_seconds": 1e30})),
            "freeze_timeout_seconds",
        ),
        (with(json!({"on_change": "explode"})), "on_change"),
        (with(json!({"snapshot": "zfs"})), "snapshot"),
        (with(json!({"snapshot": "command"})), "snapshot_command"),
        (
            with(json!({"snapshot_command": "/bin/snap"})),
            "snapshot_command",
        ),
        (with(json!({"thaw_command": "/bin/thaw"})), "thaw_command"),
        (
            with(json!({"freeze_command": "/bin/freeze 'open"})),
            "freeze_command",
        ),
        (with(json!({"snapshot": "btrfs"})), "snapshot"),
    ];
    refused_each(
        &server,
        "/api/v1/components/lui",
        &tag,
        &s.config,
        &original,
        cases,
    );

    let r = server.put(
        "/api/v1/components/lui",
        ADMIN,
        &with(json!({"on_change": "fail", "freeze_timeout_seconds": 90,
            "freeze_command": "/usr/local/bin/lui-ctl freeze", "thaw_command": "/usr/local/bin/lui-ctl thaw"})),
        Some(&tag),
    );
    assert_eq!(r.status(), 200);
    let tag = etag(&r);
    let v: Value = r.json().unwrap();
    assert_eq!(v["freeze_command"], "/usr/local/bin/lui-ctl freeze", "{v}");
    assert_eq!(v["thaw_command"], "/usr/local/bin/lui-ctl thaw", "{v}");
    assert_eq!(v["on_change"], "fail", "{v}");
    assert_eq!(v["freeze_timeout_seconds"], 90, "{v}");
    let text = std::fs::read_to_string(&s.config).unwrap();
    assert!(text.contains("on_change = \"fail\""), "{text}");
    assert!(text.contains("freeze_timeout_seconds = 90"), "{text}");
    assert!(
        text.contains("freeze_command = \"/usr/local/bin/lui-ctl freeze\""),
        "{text}"
    );
    // The other component's section gained no key.
    assert_eq!(text.matches("on_change").count(), 1, "{text}");

    // A PUT without them keeps them.
    let r = server.put(
        "/api/v1/components/lui",
        ADMIN,
        &json!({"backup_folder": "backup", "keep": 4}),
        Some(&tag),
    );
    assert_eq!(r.status(), 200);
    let v = server.get_json("/api/v1/components", VIEWER);
    let lui = v
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "lui")
        .unwrap();
    assert_eq!(lui["on_change"], "fail", "{lui}");
    assert_eq!(lui["freeze_timeout_seconds"], 90, "{lui}");
    assert_eq!(lui["thaw_command"], "/usr/local/bin/lui-ctl thaw", "{lui}");
    assert_eq!(lui["keep"], 4, "{lui}");
}
