//! `status`, `backup [--wait]`, `backups`, `backup show|report|cancel`.

use backup_master_client::apis::{backups_api, components_api, restores_api, settings_api};
use backup_master_client::models::{
    BackupRecord, BackupStatus, ComponentView, NextRun, RestoreRecord, RestoreStatus,
    ScheduleSettings,
};
use chrono::Utc;
use clap::{Args, Subcommand};
use serde::Serialize;

use super::conn::{CliError, Client};
use super::output::{self, bytes, flat, print_json, print_table, status_word, table};
use super::watch;
use super::{Common, Exit, OutputArgs};

#[derive(Subcommand)]
pub enum BackupAction {
    /// One backup: status, trigger, times, and per component files, bytes and errors.
    Show {
        /// Backup ID.
        id: String,
        #[command(flatten)]
        common: Common,
    },
    /// The backup's report (text).
    Report {
        /// Backup ID.
        id: String,
        #[command(flatten)]
        conn: super::ConnArgs,
    },
    /// Cancel a running backup: it stops between files, nothing rotates.
    Cancel {
        /// Backup ID.
        id: String,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Args)]
pub struct ListArgs {
    /// Only backups with this status.
    #[arg(long, value_parser = ["running", "succeeded", "failed", "cancelled", "interrupted"])]
    status: Option<String>,
    /// How many, newest first (1..=500).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(i32).range(1..=500))]
    limit: i32,
    #[command(flatten)]
    common: Common,
}

fn backup_status(s: &str) -> Option<BackupStatus> {
    match s {
        "running" => Some(BackupStatus::Running),
        "succeeded" => Some(BackupStatus::Succeeded),
        "failed" => Some(BackupStatus::Failed),
        "cancelled" => Some(BackupStatus::Cancelled),
        "interrupted" => Some(BackupStatus::Interrupted),
        _ => None,
    }
}

/// `status` in JSON: the API's bodies it is made of.
#[derive(Serialize)]
struct StatusView {
    schedule: ScheduleSettings,
    next_run: Option<NextRun>,
    last_success: Option<BackupRecord>,
    running_backup: Option<BackupRecord>,
    running_restore: Option<RestoreRecord>,
    components: Vec<ComponentView>,
}

pub async fn status(client: &Client, out: OutputArgs) -> Result<Exit, CliError> {
    let c = &client.config;
    let settings = settings_api::get_settings(c).await?;
    let last = backups_api::list_backups(c, Some(1), None, Some(BackupStatus::Succeeded)).await?;
    let running = backups_api::list_backups(c, Some(1), None, Some(BackupStatus::Running)).await?;
    let restoring =
        restores_api::list_restores(c, Some(1), None, Some(RestoreStatus::Running)).await?;
    let components = components_api::list_components(c).await?;
    let view = StatusView {
        next_run: settings
            .schedule
            .enabled
            .then(|| settings.next_runs.first().cloned())
            .flatten(),
        schedule: *settings.schedule,
        last_success: last.items.into_iter().next(),
        running_backup: running.items.into_iter().next(),
        running_restore: restoring.items.into_iter().next(),
        components,
    };
    if out.json() {
        print_json(&view);
        return Ok(Exit::Ok);
    }
    let color = output::color_stdout();
    let now = Utc::now();
    match (&view.next_run, view.schedule.enabled) {
        (Some(n), _) => println!(
            "Next run:      {} ({} {})",
            output::utc(&n.utc),
            n.local.format("%Y-%m-%d %H:%M"),
            n.time_zone
        ),
        (None, true) => println!("Next run:      none scheduled"),
        (None, false) => println!(
            "Next run:      schedule disabled (daily {} {})",
            view.schedule.daily_time, view.schedule.time_zone
        ),
    }
    match &view.last_success {
        Some(b) => {
            let at = flat(&b.finished_at).unwrap_or(b.started_at);
            println!(
                "Last success:  {}, finished {} ({})",
                b.id,
                output::utc(&at),
                output::age(&at, now)
            );
        }
        None => println!("Last success:  none"),
    }
    match (&view.running_backup, &view.running_restore) {
        (Some(b), _) => println!(
            "Running:       backup {} (started {})",
            b.id,
            output::age(&b.started_at, now)
        ),
        (None, Some(r)) => println!(
            "Running:       restore {} of set {} (started {})",
            r.id,
            r.backup_id,
            output::age(&r.created_at, now)
        ),
        (None, None) => println!("Running:       nothing"),
    }
    println!();
    print_components(&view.components, color);
    Ok(Exit::Ok)
}

/// The components table (also `components`).
pub fn print_components(list: &[ComponentView], color: bool) {
    let mut t = table(&[
        "name",
        "profile",
        "location",
        "reachable",
        "backup folder",
        "keep",
    ]);
    for c in list {
        let reachable = match (flat(&c.reachable), flat(&c.agent_error)) {
            (Some(true), _) => status_word("yes", color),
            (Some(false), Some(e)) => format!("{}: {e}", status_word("no", color)),
            (Some(false), None) => status_word("no", color),
            (None, _) => "local".to_string(),
        };
        t.add_row(vec![
            c.name.clone(),
            c.profile.clone(),
            c.location.clone(),
            reachable,
            match (flat(&c.backup_path), flat(&c.agent)) {
                (Some(path), _) => path,
                (None, Some(agent)) => format!("{} (on {agent})", c.backup_folder),
                (None, None) => c.backup_folder.clone(),
            },
            c.keep.to_string(),
        ]);
    }
    print_table(&t);
}

/// `backup [--wait]`.
pub async fn start(client: &Client, wait: bool, out: OutputArgs) -> Result<Exit, CliError> {
    let record = backups_api::start_backup(&client.config).await?;
    if !wait {
        if out.json() {
            print_json(&record);
        } else {
            println!("Backup {} started", record.id);
            println!("Follow it with: backup-master backup show {}", record.id);
        }
        return Ok(Exit::Ok);
    }
    if !out.json() {
        println!("Backup {} started", record.id);
    }
    follow(client, &record.id, out).await
}

/// Follows a running backup to its end and prints the outcome.
async fn follow(client: &Client, id: &str, out: OutputArgs) -> Result<Exit, CliError> {
    let Some(record) = watch::follow_backup(client, id, true).await? else {
        eprintln!(
            "Stopped watching; backup {id} goes on. Follow it with: backup-master backup show {id}"
        );
        return Ok(Exit::StoppedWatching);
    };
    if out.json() {
        print_json(&record);
    } else {
        print_outcome(client, &record).await;
    }
    Ok(watch::backup_exit(record.status))
}

/// The outcome line, a line per component, and the report's closing lines.
async fn print_outcome(client: &Client, r: &BackupRecord) {
    let color = output::color_stdout();
    let took = flat(&r.finished_at)
        .map(|f| {
            format!(
                " in {}",
                output::duration(output::secs_between(&r.started_at, &f))
            )
        })
        .unwrap_or_default();
    println!(
        "Backup {} {}{took}",
        r.id,
        status_word(&r.status.to_string(), color)
    );
    for c in &r.components {
        println!(
            "  {}: {}, {} files ({} copied, {} linked), {} copied, {} linked{}",
            c.name,
            status_word(&c.status.to_string(), color),
            c.files.unwrap_or(0),
            c.files_copied.unwrap_or(0),
            c.files_linked.unwrap_or(0),
            bytes(c.bytes_copied.unwrap_or(0)),
            bytes(c.bytes_linked.unwrap_or(0)),
            match c.errors.as_deref() {
                Some([first, ..]) => format!(": {first}"),
                _ => String::new(),
            }
        );
    }
    match backups_api::get_backup_report(&client.config, &r.id).await {
        Ok(text) => {
            println!("Report {}:", r.report);
            for line in report_summary(&text) {
                println!("  {line}");
            }
        }
        Err(e) => {
            let e = CliError::from(e);
            eprintln!("(the report could not be read: {e})");
        }
    }
}

/// The report's closing block: the lines after its last blank line (the success sentence and
/// completion date, or every error).
pub fn report_summary(text: &str) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .rposition(|l| l.trim().is_empty())
        .map_or(0, |i| i + 1);
    lines[start..].to_vec()
}

/// `backups`.
pub async fn list(a: ListArgs) -> Result<Exit, CliError> {
    let client = a.common.conn.connect()?;
    let status = a.status.as_deref().and_then(backup_status);
    let page = backups_api::list_backups(&client.config, Some(a.limit), None, status).await?;
    if a.common.out.json() {
        print_json(&page);
        return Ok(Exit::Ok);
    }
    let color = output::color_stdout();
    let mut t = table(&[
        "id", "status", "trigger", "started", "took", "files", "copied", "linked",
    ]);
    for b in &page.items {
        let sum = |f: fn(&backup_master_client::models::ComponentProgress) -> Option<i64>| {
            b.components.iter().filter_map(f).sum::<i64>()
        };
        t.add_row(vec![
            b.id.clone(),
            status_word(&b.status.to_string(), color),
            b.trigger.to_string(),
            output::utc(&b.started_at),
            flat(&b.finished_at)
                .map(|f| output::duration(output::secs_between(&b.started_at, &f)))
                .unwrap_or_default(),
            sum(|c| c.files).to_string(),
            bytes(sum(|c| c.bytes_copied)),
            bytes(sum(|c| c.bytes_linked)),
        ]);
    }
    if page.items.is_empty() {
        println!("No backups.");
    } else {
        print_table(&t);
    }
    Ok(Exit::Ok)
}

pub async fn action(a: BackupAction) -> Result<Exit, CliError> {
    match a {
        BackupAction::Show { id, common } => {
            let client = common.conn.connect()?;
            let r = backups_api::get_backup(&client.config, &id).await?;
            if common.out.json() {
                print_json(&r);
            } else {
                print_record(&r);
            }
            Ok(Exit::Ok)
        }
        BackupAction::Report { id, conn } => {
            let client = conn.connect()?;
            let text = backups_api::get_backup_report(&client.config, &id).await?;
            print!("{text}");
            Ok(Exit::Ok)
        }
        BackupAction::Cancel { id, common } => {
            let client = common.conn.connect()?;
            let r = backups_api::cancel_backup(&client.config, &id).await?;
            if common.out.json() {
                print_json(&r);
            } else {
                println!(
                    "Cancel requested: backup {} stops between files (status {}).",
                    r.id, r.status
                );
            }
            Ok(Exit::Ok)
        }
    }
}

fn print_record(r: &BackupRecord) {
    let color = output::color_stdout();
    println!("Backup:    {}", r.id);
    println!("Status:    {}", status_word(&r.status.to_string(), color));
    println!("Trigger:   {}", r.trigger);
    if let Some(t) = flat(&r.scheduled_for) {
        println!("Scheduled: {}", output::utc(&t));
    }
    println!("Started:   {}", output::utc(&r.started_at));
    if let Some(f) = flat(&r.finished_at) {
        println!(
            "Finished:  {} (took {})",
            output::utc(&f),
            output::duration(output::secs_between(&r.started_at, &f))
        );
    }
    println!("Report:    {}", r.report);
    println!();
    let mut t = table(&[
        "component",
        "status",
        "files",
        "copied",
        "linked",
        "took",
        "folder",
        "errors",
    ]);
    for c in &r.components {
        t.add_row(vec![
            c.name.clone(),
            status_word(&c.status.to_string(), color),
            c.files.unwrap_or(0).to_string(),
            format!(
                "{} ({})",
                c.files_copied.unwrap_or(0),
                bytes(c.bytes_copied.unwrap_or(0))
            ),
            format!(
                "{} ({})",
                c.files_linked.unwrap_or(0),
                bytes(c.bytes_linked.unwrap_or(0))
            ),
            flat(&c.duration_ms)
                .map(|ms| format!("{:.1} s", ms as f64 / 1000.0))
                .unwrap_or_default(),
            c.folder.clone(),
            c.errors.clone().unwrap_or_default().join("\n"),
        ]);
    }
    print_table(&t);
    for e in r.errors.iter().flatten() {
        println!("Error: {e}");
    }
    for n in r.notes.iter().flatten() {
        println!("Note: {n}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_summary_is_its_closing_block() {
        let ok = "Backup report\nBackup ID: X\n\nComponent: hub\n  Files: 3\n\nThe backup was completed successfully\nFinal completion date: 2026-11-26T02:00:04Z\n";
        assert_eq!(
            report_summary(ok),
            vec![
                "The backup was completed successfully",
                "Final completion date: 2026-11-26T02:00:04Z"
            ]
        );
        let failed = "Backup report\n\nThe backup did not complete: failed\nError: lui: boom\n";
        assert_eq!(
            report_summary(failed),
            vec!["The backup did not complete: failed", "Error: lui: boom"]
        );
    }
}
