//! The embedded default config, written on the first start without a config file.

/// The config the server writes on first start without a config file: three demo components
/// under `demo/`, an admin token in `admin.token`. Paths are relative to the state dir, where
/// this file itself lives, so the whole setup moves with the folder.
pub fn embedded_default_text(listen: &str) -> String {
    format!(
        r#"# backup-master: the embedded default, written on first start.
# Edit freely (restart to apply) or change schedule/hooks/components through the API.
listen = "{listen}"
state_dir = "."                        # this folder: logs/, job records, hook output

[[tokens]]                             # the admin token printed at first start
role = "admin"
token_file = "admin.token"

[schedule]
enabled = true
daily_time = "02:00"                   # hh:mm, 00:00..23:59
time_zone = ""                         # IANA name; empty: the machine's local zone
catch_up = true                        # run once at start-up if a scheduled run was missed

[hooks]                                # commands run after each backup; here the demo hook
on_success = "sh demo-hook.sh"         # after a successful backup
on_failure = "sh demo-hook.sh"         # after a failed, cancelled or interrupted one
work_folder = "demo"                   # where hooks run; empty: the hub component's home
timeout_seconds = 3600                 # then the hook's process group is killed

[[components]]
name = "hub"
profile = "maestro-hub"
home = "demo/hub"
backup_folder = "backup"               # relative to home
keep = 3

[[components]]
name = "lui"
profile = "maestro-lui"
home = "demo/lui"
backup_folder = "backup"
keep = 3

[[components]]
name = "trk"
profile = "maestro-tracker"
home = "demo/trk"
backup_folder = "backup"
keep = 3
"#
    )
}
