//! Unit tests of the notification settings: field errors, ping URLs, reading and writing the file.

use super::*;

fn webhook(url: &str) -> TargetSettings {
    TargetSettings {
        kind: "webhook".into(),
        url: Some(url.into()),
        ..TargetSettings::default()
    }
}

fn fields(r: Result<Target, Vec<FieldError>>) -> Vec<String> {
    r.err()
        .unwrap_or_default()
        .into_iter()
        .map(|e| e.field)
        .collect()
}

#[test]
fn each_bad_field_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    assert_eq!(fields(webhook("ftp://x/").check("a", base, "")), ["url"]);
    assert_eq!(fields(webhook("not a url").check("a", base, "")), ["url"]);
    let mut s = webhook("http://127.0.0.1:1/");
    s.events = vec!["backup_failed".into(), "backup_exploded".into()];
    s.secret_file = Some("missing.secret".into());
    assert_eq!(
        fields(s.check("a", base, "p.")),
        ["p.events[1]", "p.secret_file"]
    );
    let mut s = webhook("http://127.0.0.1:1/");
    s.smtp_port = Some(25);
    assert_eq!(fields(s.check("a", base, "")), ["smtp_port"]);
    let email = TargetSettings {
        kind: "email".into(),
        smtp_host: Some("127.0.0.1".into()),
        smtp_port: Some(70000),
        from: Some("b@example.com".into()),
        to: vec!["ops@example.com".into()],
        ..TargetSettings::default()
    };
    assert_eq!(fields(email.check("m", base, "")), ["smtp_port"]);
    assert_eq!(
        fields(webhook("http://h/").check("Bad Name", base, "")),
        ["name"]
    );
}

#[test]
fn the_file_is_read_with_every_error_named() {
    let text = format!(
        "[[tokens]]\nrole = \"admin\"\nsha256 = \"{}\"\n\
         [notifications]\noverdue_after_hours = 99999\n\
         [[notification_targets]]\nname = \"a\"\nkind = \"webhook\"\nurl = \"http://x/\"\n\
         colour = \"red\"\nheaders = {{ \"X\" = 1 }}\n\
         [[notification_targets]]\nname = \"a\"\nkind = \"ping\"\nurl = \"http://y/\"\n",
        "0".repeat(64)
    );
    let errors =
        crate::config::Config::parse(&text, Path::new("/tmp/backup-master.toml")).unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    for f in [
        "notifications.overdue_after_hours",
        "notification_targets[0].colour",
        "notification_targets[0].headers",
        "notification_targets[1].name",
    ] {
        assert!(fields.contains(&f), "{f} not in {fields:?}");
    }
    let ok = "[[notification_targets]]\nname = \"hc\"\nkind = \"ping\"\nurl = \"http://y/\"\n\
              events = [\"backup_started\", \"backup_succeeded\"]\n";
    let (base, doc, mut r) =
        super::super::begin_parse(ok, Path::new("/tmp/backup-master.toml")).unwrap();
    let n = read(&mut r, doc.as_table());
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(n.overdue_after_hours, DEFAULT_OVERDUE_HOURS);
    let t = targets(&n, &base);
    assert_eq!(t.len(), 1);
    assert_eq!(
        t[0].matcher.events,
        [EventKind::BackupStarted, EventKind::BackupSucceeded]
    );
    assert_eq!(t[0].timeout, Duration::from_secs(DEFAULT_TARGET_TIMEOUT));
}

#[test]
fn ping_urls_come_from_the_base_or_per_state() {
    let dir = tempfile::tempdir().unwrap();
    let s = TargetSettings {
        kind: "ping".into(),
        url: Some("https://hc.example.com/ping/abc/".into()),
        ..TargetSettings::default()
    };
    let t = s.check("hc", dir.path(), "").unwrap();
    let Channel::Ping {
        start,
        success,
        fail,
    } = t.channel
    else {
        panic!()
    };
    assert_eq!(
        start.unwrap().as_str(),
        "https://hc.example.com/ping/abc/start"
    );
    assert_eq!(fail.as_str(), "https://hc.example.com/ping/abc/fail");
    assert_eq!(success.as_str(), "https://hc.example.com/ping/abc/");
    let none = TargetSettings {
        kind: "ping".into(),
        ..TargetSettings::default()
    };
    assert_eq!(fields(none.check("hc", dir.path(), "")), ["url"]);
}

#[test]
fn write_back_keeps_comments_and_removes_what_is_gone() {
    let text = "# top\n[[notification_targets]]\nname = \"a\" # the first\nkind = \"webhook\"\nurl = \"http://x/\"\ntimeout_seconds = 5\n";
    let mut s = webhook("http://y/");
    s.events = vec!["overdue".into()];
    let out = edit_targets(
        text,
        &[
            NamedTarget {
                name: "a".into(),
                settings: s.clone(),
            },
            NamedTarget {
                name: "b".into(),
                settings: s,
            },
        ],
    )
    .unwrap();
    assert!(out.starts_with("# top\n"), "{out}");
    assert!(out.contains("# the first"), "{out}");
    assert!(!out.contains("timeout_seconds"), "{out}");
    assert_eq!(out.matches("[[notification_targets]]").count(), 2, "{out}");
    assert!(out.contains("events = [\"overdue\"]"), "{out}");
    let out = edit_targets(&out, &[]).unwrap();
    assert!(!out.contains("notification_targets"), "{out}");
}
