//! Tests of loading, validation and write-back of the config file.

use super::*;

fn cfg_text(home: &Path, extra: &str) -> String {
    format!(
        r#"
listen = "127.0.0.1:0"
[[tokens]]
role = "admin"
sha256 = "{}"
{extra}
[[components]]
name = "hub"
profile = "maestro-hub"
home = "{}"
"#,
        hex::encode(sha256_of(b"t")),
        home.display()
    )
}

#[test]
fn all_errors_are_reported_at_once_with_lines() {
    let dir = tempfile::tempdir().unwrap();
    let text = cfg_text(
        dir.path(),
        "bogus = 1\n[schedule]\ndaily_time = \"24:00\"\ntime_zone = \"Mars/Olympus\"\n",
    );
    let errs = Config::parse(&text, &dir.path().join("c.toml")).unwrap_err();
    let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
    assert!(fields.contains(&"tokens[0].bogus"), "{errs:?}");
    assert!(fields.contains(&"schedule.daily_time"), "{errs:?}");
    assert!(fields.contains(&"schedule.time_zone"), "{errs:?}");
    let bogus = errs.iter().find(|e| e.field == "tokens[0].bogus").unwrap();
    assert!(bogus.message.contains("line 6"), "{}", bogus.message);
}

#[test]
fn nested_and_shared_backup_folders_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let shared = dir.path().join("shared");
    let text = format!(
            "{}\nbackup_folder = \"{}\"\n[[components]]\nname = \"lui\"\nprofile = \"maestro-lui\"\nhome = \"{}\"\nbackup_folder = \"{}\"\n",
            cfg_text(&a, ""),
            shared.display(),
            b.display(),
            shared.join("inner").display()
        );
    let errs = Config::parse(&text, &dir.path().join("c.toml")).unwrap_err();
    assert!(
        errs.iter()
            .any(|e| e.field == "components[0].backup_folder" && e.message.contains("nested")),
        "{errs:?}"
    );
}

#[test]
fn backup_folder_inside_an_item_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{}backup_folder = \"hubreg/bk\"\n",
        cfg_text(dir.path(), "")
    );
    let errs = Config::parse(&text, &dir.path().join("c.toml")).unwrap_err();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].field, "components[0].backup_folder");
}

#[test]
fn edits_keep_comments() {
    let text = "# top\n[schedule]\ndaily_time = \"02:00\" # when\nenabled = true\n\n[hooks] # h\non_success = \"\"\n";
    let s = ScheduleSettings {
        daily_time: "03:15".into(),
        ..ScheduleSettings::default()
    };
    let out = edit_settings(text, &s, &HookSettings::default()).unwrap();
    assert!(out.starts_with("# top\n"), "{out}");
    assert!(out.contains("daily_time = \"03:15\" # when"), "{out}");
    assert!(out.contains("[hooks] # h"), "{out}");
}

/// The column a line's `#` comment starts in (characters), if it has one after a value.
fn comment_column(text: &str, key: &str) -> (String, Option<usize>) {
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{key} =")))
        .unwrap_or_else(|| panic!("no {key} line in:\n{text}"))
        .to_string();
    let col = line.find(" #").map(|i| line[..i + 1].chars().count());
    (line, col)
}

#[test]
fn write_back_keeps_inline_comments_in_their_column() {
    let text = embedded_default_text("127.0.0.1:8080");
    let (_, col) = comment_column(&text, "time_zone");
    let col = col.unwrap();
    let schedule = ScheduleSettings {
        enabled: true,                     // same value
        daily_time: "03:15".into(),        // same width
        time_zone: "Europe/Berlin".into(), // wider
        catch_up: false,                   // one wider than `true`
    };
    let hooks = HookSettings {
        on_success: "sh".into(), // narrower
        on_failure: "/opt/scripts/page-admin.sh --all --verbose --to ops@example.org".into(), // past the column
        ..HookSettings::default()
    };
    let out = edit_settings(&text, &schedule, &hooks).unwrap();
    for key in ["daily_time", "time_zone", "catch_up", "on_success"] {
        let (line, at) = comment_column(&out, key);
        assert_eq!(at, Some(col), "{key}: the comment moved:\n{line}\n{out}");
    }
    let (line, _) = comment_column(&out, "daily_time");
    assert_eq!(
        line,
        "daily_time = \"03:15\"                   # hh:mm, 00:00..23:59"
    );
    let (line, _) = comment_column(&out, "time_zone");
    assert_eq!(
        line,
        "time_zone = \"Europe/Berlin\"            # IANA name; empty: the machine's local zone"
    );
    // A value longer than the column: one space before its comment.
    let (line, _) = comment_column(&out, "on_failure");
    assert_eq!(
        line,
        "on_failure = \"/opt/scripts/page-admin.sh --all --verbose --to ops@example.org\" \
             # after a failed, cancelled or interrupted one"
    );
    // Everything else is as it was, byte for byte.
    let changed: Vec<_> = text
        .lines()
        .zip(out.lines())
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a.split(" =").next().unwrap_or(a).to_string())
        .collect();
    assert_eq!(
        changed,
        [
            "daily_time",
            "time_zone",
            "catch_up",
            "on_success",
            "on_failure",
            "work_folder"
        ]
    );
    assert_eq!(text.lines().count(), out.lines().count());
    // Written back as read, nothing changes at all.
    let demo_hooks = HookSettings {
        on_success: "sh demo-hook.sh".into(),
        on_failure: "sh demo-hook.sh".into(),
        work_folder: "demo".into(),
        ..HookSettings::default()
    };
    let again = edit_settings(&text, &ScheduleSettings::default(), &demo_hooks).unwrap();
    assert_eq!(again, text);
}

#[test]
fn hook_env_names_are_checked_and_written_back() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    let ok = cfg_text(dir.path(), "[hooks]\nenv = [\"TAPE_DEVICE\", \"_X1\"]\n");
    let cfg = Config::parse(&ok, &file).unwrap();
    assert_eq!(cfg.hooks.env, ["TAPE_DEVICE", "_X1"]);
    let bad = cfg_text(
            dir.path(),
            "[hooks]\nenv = [\"1X\", \"A-B\", \"\", \"BACKUP_MASTER_AGENT_TOKEN_TRK\", \"OK\", \"OK\"]\n",
        );
    let errs = Config::parse(&bad, &file).unwrap_err();
    let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "hooks.env[0]",
            "hooks.env[1]",
            "hooks.env[2]",
            "hooks.env[3]",
            "hooks.env[5]"
        ],
        "{errs:?}"
    );
    assert!(errs[3].message.contains("BACKUP_"), "{errs:?}");
    let not_list = cfg_text(dir.path(), "[hooks]\nenv = \"PATH\"\n");
    let errs = Config::parse(&not_list, &file).unwrap_err();
    assert_eq!(errs[0].field, "hooks.env", "{errs:?}");

    // Written back only when set or already present; read back the same.
    let none = edit_settings(
        &ok.replace("env = [\"TAPE_DEVICE\", \"_X1\"]\n", ""),
        &cfg.schedule,
        &HookSettings::default(),
    )
    .unwrap();
    assert!(!none.contains("env"), "{none}");
    let out = edit_settings(&ok, &cfg.schedule, &HookSettings::default()).unwrap();
    assert_eq!(
        Config::parse(&out, &file).unwrap().hooks.env,
        Vec::<String>::new()
    );
    let h = HookSettings {
        env: vec!["TZ".into()],
        ..HookSettings::default()
    };
    let out = edit_settings(&none, &cfg.schedule, &h).unwrap();
    assert_eq!(Config::parse(&out, &file).unwrap().hooks.env, ["TZ"]);
}

#[test]
fn empty_work_folder_is_the_hub_home_else_the_state_dir() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    let hub = dir.path().join("hub");
    std::fs::create_dir_all(&hub).unwrap();
    let cfg = Config::parse(&cfg_text(&hub, ""), &file).unwrap();
    assert_eq!(cfg.hook_work_folder(), hub);
    let custom = cfg_text(&hub, "")
        .replace("maestro-hub", "custom")
        .replace("home = ", "items = [\"x\"]\nhome = ");
    let cfg = Config::parse(&custom, &file).unwrap();
    assert_eq!(cfg.hook_work_folder(), cfg.state_dir);
    let set = cfg_text(
        &hub,
        &format!(
            "[hooks]\nwork_folder = {:?}\n",
            dir.path().display().to_string()
        ),
    );
    let cfg = Config::parse(&set, &file).unwrap();
    assert_eq!(cfg.hook_work_folder(), dir.path());
}

#[test]
fn max_stream_subscribers_has_a_default_and_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    let cfg = Config::parse(&cfg_text(dir.path(), ""), &file).unwrap();
    assert_eq!(cfg.max_stream_subscribers, DEFAULT_STREAM_SUBSCRIBERS);
    let text = format!("max_stream_subscribers = 3\n{}", cfg_text(dir.path(), ""));
    assert_eq!(
        Config::parse(&text, &file).unwrap().max_stream_subscribers,
        3
    );
    for bad in ["0", "-1", "10001", "\"many\""] {
        let text = format!(
            "max_stream_subscribers = {bad}\n{}",
            cfg_text(dir.path(), "")
        );
        let errs = Config::parse(&text, &file).unwrap_err();
        assert_eq!(errs[0].field, "max_stream_subscribers", "{bad}: {errs:?}");
    }
}

#[test]
fn audit_max_bytes_has_a_default_and_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    let cfg = Config::parse(&cfg_text(dir.path(), ""), &file).unwrap();
    assert_eq!(cfg.audit_max_bytes, DEFAULT_AUDIT_MAX_BYTES);
    let text = format!("audit_max_bytes = 4096\n{}", cfg_text(dir.path(), ""));
    assert_eq!(Config::parse(&text, &file).unwrap().audit_max_bytes, 4096);
    for bad in ["0", "1023", "-5", "1073741825", "\"big\""] {
        let text = format!("audit_max_bytes = {bad}\n{}", cfg_text(dir.path(), ""));
        let errs = Config::parse(&text, &file).unwrap_err();
        assert_eq!(errs[0].field, "audit_max_bytes", "{bad}: {errs:?}");
    }
}

/// A token's optional `name`: kept when valid, else its SHA-256's first 8 hex digits; a bad
/// or repeated name is an error naming `tokens[i].name`.
#[test]
fn token_names_are_checked_and_default_to_the_digest_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    let with = |extra: &str| cfg_text(dir.path(), extra);
    let named = with(&format!(
        "name = \"ops-admin\"\n[[tokens]]\nrole = \"viewer\"\nsha256 = \"{}\"\n",
        hex::encode(sha256_of(b"v"))
    ));
    let cfg = Config::parse(&named, &file).unwrap();
    assert_eq!(cfg.tokens[0].name, "ops-admin");
    assert_eq!(cfg.tokens[1].name, hex::encode(sha256_of(b"v"))[..8]);
    assert_eq!(cfg.tokens[1].name, default_token_name(&sha256_of(b"v")));
    let long = "x".repeat(MAX_TOKEN_NAME + 1);
    for bad in ["\"\"", "\"a b\"", "\"café\"", "7", &format!("\"{long}\"")] {
        let errs = Config::parse(&with(&format!("name = {bad}\n")), &file).unwrap_err();
        assert_eq!(errs[0].field, "tokens[0].name", "{bad}: {errs:?}");
    }
    let twice = with(&format!(
        "name = \"ci\"\n[[tokens]]\nrole = \"viewer\"\nname = \"ci\"\nsha256 = \"{}\"\n",
        hex::encode(sha256_of(b"v"))
    ));
    let errs = Config::parse(&twice, &file).unwrap_err();
    assert_eq!(errs[0].field, "tokens[1].name", "{errs:?}");
    assert!(errs[0].message.contains("another token"), "{errs:?}");
}

#[test]
fn component_names_are_checked() {
    for ok in ["hub", "lui-2", "a_b", &"x".repeat(32)] {
        assert!(valid_name(ok), "{ok}");
    }
    for bad in ["", "Hub", "../x", "a/b", "a.b", "a b", &"x".repeat(33)] {
        assert!(!valid_name(bad), "{bad}");
    }
}

#[test]
fn relative_paths_are_checked() {
    assert!(check_relative("data/").is_ok());
    assert!(check_relative("a b/c.ini").is_ok());
    for bad in ["", "/", "/etc", "../x", "a/../../b", ".", "./"] {
        assert!(check_relative(bad).is_err(), "{bad}");
    }
}

#[test]
fn consistency_keys_have_defaults_bounds_and_are_written_back() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    let cfg = Config::parse(&cfg_text(dir.path(), ""), &file).unwrap();
    assert_eq!(cfg.components[0].consistency, Consistency::default());
    assert_eq!(
        cfg.component_specs()[0].consistency.on_change,
        crate::engine::OnChange::Warn
    );

    let bad = format!(
        "{}freeze_timeout_seconds = 0\non_change = \"maybe\"\nsnapshot = \"lvm\"\nthaw_command = \"x\"\nsnapshot_release_command = \"r\"\n",
        cfg_text(dir.path(), "")
    );
    let errs = Config::parse(&bad, &file).unwrap_err();
    let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
    for f in [
        "components[0].freeze_timeout_seconds",
        "components[0].on_change",
        "components[0].snapshot",
        "components[0].thaw_command",
        "components[0].snapshot_release_command",
    ] {
        assert!(fields.contains(&f), "{f} missing: {errs:?}");
    }

    let good = format!(
        "{}on_change = \"fail\"\nfreeze_timeout_seconds = 3600\n",
        cfg_text(dir.path(), "")
    );
    let cfg = Config::parse(&good, &file).unwrap();
    assert_eq!(
        cfg.components[0].consistency.on_change,
        crate::engine::OnChange::Fail
    );
    assert_eq!(
        cfg.component_specs()[0].consistency.on_change,
        crate::engine::OnChange::Fail
    );
    assert_eq!(cfg.components[0].consistency.freeze_timeout_seconds, 3600);

    // Write-back of every key (also those this version refuses to run, for a later one),
    // then read back by the parser: the same settings.
    let mut c = cfg.components[0].clone();
    c.consistency = Consistency {
        freeze_command: "/bin/freeze --all".into(),
        thaw_command: "/bin/thaw".into(),
        freeze_timeout_seconds: 5,
        on_change: crate::engine::OnChange::Warn,
        snapshot: SnapshotMode::Command,
        snapshot_command: "/bin/snap".into(),
        snapshot_release_command: "/bin/unsnap".into(),
    };
    let out = edit_component(&good, 0, &c).unwrap();
    let (_, doc, mut r) = parse::begin_parse(&out, &file).unwrap();
    let t = doc["components"]
        .as_array_of_tables()
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(parse::read_consistency(&mut r, t, "c"), c.consistency);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    // Untouched defaults add no key to a file that never had one.
    let plain = cfg_text(dir.path(), "");
    let cfg = Config::parse(&plain, &file).unwrap();
    let out = edit_component(&plain, 0, &cfg.components[0]).unwrap();
    assert!(
        !out.contains("on_change") && !out.contains("snapshot"),
        "{out}"
    );
}

#[test]
fn lifecycle_keys_have_defaults_bounds_and_are_written_back() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    let plain = cfg_text(dir.path(), "");
    let cfg = Config::parse(&plain, &file).unwrap();
    assert_eq!(cfg.components[0].lifecycle, Lifecycle::default());
    assert_eq!(cfg.lifecycles()["hub"], Lifecycle::default());
    // Untouched defaults add no key to a file that never had one.
    let out = edit_component(&plain, 0, &cfg.components[0]).unwrap();
    assert!(
        !out.contains("_command") && !out.contains("start_timeout") && !out.contains("rollback"),
        "{out}"
    );

    let bad = format!(
        "{plain}start_timeout_seconds = 0\nstop_command = \"'open\"\nrollback_on_unhealthy = \"yes\"\n"
    );
    let errs = Config::parse(&bad, &file).unwrap_err();
    let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
    for f in [
        "components[0].start_timeout_seconds",
        "components[0].stop_command",
        "components[0].rollback_on_unhealthy",
    ] {
        assert!(fields.contains(&f), "{f} missing: {errs:?}");
    }

    let good = format!(
        "{plain}stop_command = \"ctl stop\"\nhealth_command = \"ctl status\"\nstart_timeout_seconds = 3600\nrollback_on_unhealthy = true\n"
    );
    let cfg = Config::parse(&good, &file).unwrap();
    let l = &cfg.components[0].lifecycle;
    assert_eq!(l.stop_command, "ctl stop");
    assert_eq!(l.health_command, "ctl status");
    assert!(l.start_command.is_empty());
    assert_eq!(l.start_timeout_seconds, 3600);
    assert!(l.rollback_on_unhealthy);

    let mut c = cfg.components[0].clone();
    c.lifecycle = Lifecycle {
        stop_command: "/bin/stop 'a b'".into(),
        start_command: "/bin/start".into(),
        health_command: String::new(),
        start_timeout_seconds: 7,
        rollback_on_unhealthy: false,
    };
    let out = edit_component(&good, 0, &c).unwrap();
    let (_, doc, mut r) = parse::begin_parse(&out, &file).unwrap();
    let t = doc["components"]
        .as_array_of_tables()
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(parse::read_lifecycle(&mut r, t, "c"), c.lifecycle);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
}

#[test]
fn lifecycle_commands_of_a_remote_component_are_kept_for_its_agent() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    std::fs::write(dir.path().join("trk.token"), "secret").unwrap();
    let text = format!(
        "{}\n[[components]]\nname = \"trk\"\nprofile = \"maestro-tracker\"\nagent = \"http://127.0.0.1:9\"\nagent_token_file = \"trk.token\"\nstart_command = \"ctl start\"\nstart_timeout_seconds = 5\n",
        cfg_text(dir.path(), "")
    );
    // The agent decides whether it runs them (its `run_commands`).
    let cfg = Config::parse(&text, &file).unwrap();
    assert_eq!(cfg.lifecycles()["trk"].start_command, "ctl start");
    assert_eq!(cfg.lifecycles()["trk"].start_timeout_seconds, 5);
    let bad = text.replace("ctl start", "'ctl");
    let errs = Config::parse(&bad, &file).unwrap_err();
    assert_eq!(errs[0].field, "components[1].start_command", "{errs:?}");
}

#[test]
fn drill_keys_default_validate_and_name_their_field() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    std::fs::create_dir_all(home.join("accountreg")).unwrap();
    // Defaults: `drills` beside the backup folder, no probe, no scheduled drill.
    let cfg = Config::parse(&cfg_text(home, ""), &home.join("c.toml")).unwrap();
    assert_eq!(
        cfg.drill_root_of(&cfg.components[0]),
        Some(home.join(DEFAULT_DRILL_FOLDER))
    );
    assert!(!cfg.drill.is_on());
    // A drill root that is an item, the backup area or the home itself; a bad probe command;
    // a weekday and every_days at once, an unknown day, a bad time.
    for (root, why) in [
        ("accountreg/scratch", "the item"),
        ("backup7", "backup area"),
        (".", "the home of component"),
    ] {
        let text = format!(
            "{}drill_root = \"{root}\"\ndrill_probe_command = \"sh -c 'unclosed\"\n",
            cfg_text(
                home,
                "[drill]\nweekday = \"someday\"\nevery_days = 2\ntime = \"25:00\"\n"
            )
        );
        let errs = Config::parse(&text, &home.join("c.toml")).unwrap_err();
        let root_err = errs
            .iter()
            .find(|e| e.field == "components[0].drill_root")
            .unwrap_or_else(|| panic!("{root}: {errs:?}"));
        assert!(root_err.message.contains(why), "{root}: {errs:?}");
        for f in [
            "components[0].drill_probe_command",
            "drill.weekday",
            "drill.every_days",
            "drill.time",
        ] {
            assert!(errs.iter().any(|e| e.field == f), "{f}: {errs:?}");
        }
    }
    // Outside the home it is taken, and a weekly drill is on.
    let text = format!(
        "{}drill_root = \"{}\"\n",
        cfg_text(home, "[drill]\nweekday = \"sun\"\ntime = \"04:30\"\n"),
        dir.path().join("..").join("elsewhere").display()
    );
    let errs = Config::parse(&text, &home.join("c.toml")).unwrap_err();
    assert_eq!(errs[0].field, "components[0].drill_root", "{errs:?}");
    let text = format!(
        "{}drill_root = \"/srv/drill-scratch\"\n",
        cfg_text(home, "[drill]\nweekday = \"sun\"\ntime = \"04:30\"\n")
    );
    let cfg = Config::parse(&text, &home.join("c.toml")).unwrap();
    assert!(cfg.drill.is_on());
    assert_eq!(
        cfg.drill_root_of(&cfg.components[0]),
        Some(PathBuf::from("/srv/drill-scratch"))
    );
}
