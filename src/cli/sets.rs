//! `sets`, `set show`, `verify [--wait]`.

use backup_master_client::apis::backup_sets_api;
use backup_master_client::models::{BackupSet, SetFolder, Verification, VerificationStatus};
use clap::{Args, Subcommand};

use super::conn::CliError;
use super::output::{self, bytes, first_lines, flat, print_json, print_table, status_word, table};
use super::watch;
use super::{Common, Exit};

#[derive(Args)]
pub struct ListArgs {
    /// Only the newest set (with --successful: the one to restore).
    #[arg(long)]
    latest: bool,
    /// Only sets that are complete and whose every folder says success.
    #[arg(long)]
    successful: bool,
    #[command(flatten)]
    common: Common,
}

#[derive(Subcommand)]
pub enum SetAction {
    /// One backup set: each component's folder, its slot and result.
    Show {
        /// Backup set ID (the backup ID).
        id: String,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Args)]
pub struct VerifyArgs {
    /// Backup set ID.
    id: String,
    /// Follow the verification to its end, then list changed, missing and unlisted files.
    #[arg(long)]
    wait: bool,
    #[command(flatten)]
    common: Common,
}

pub async fn list(a: ListArgs) -> Result<Exit, CliError> {
    let client = a.common.conn.connect()?;
    let list = backup_sets_api::list_backup_sets(
        &client.config,
        None,
        a.successful.then_some(true),
        a.latest.then_some(true),
    )
    .await?;
    if a.common.out.json() {
        print_json(&list);
        return Ok(Exit::Ok);
    }
    let color = output::color_stdout();
    let mut t = table(&[
        "id",
        "complete",
        "successful",
        "components",
        "missing",
        "verified",
    ]);
    for s in &list.items {
        t.add_row(vec![
            s.id.clone(),
            yes_no(s.complete, color),
            yes_no(s.successful, color),
            s.components
                .iter()
                .map(|c| c.component.clone())
                .collect::<Vec<_>>()
                .join(", "),
            s.missing.join(", "),
            verified(s, color),
        ]);
    }
    if list.items.is_empty() {
        println!("No backup sets.");
    } else {
        print_table(&t);
    }
    for p in list.problems.iter().flatten() {
        println!("Problem: {}: {}", p.component, p.problem);
    }
    if !list.unidentified.is_empty() {
        println!(
            "Folders without a readable backup ID: {}",
            list.unidentified
                .iter()
                .map(|f| f.folder.clone())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(Exit::Ok)
}

fn yes_no(v: bool, color: bool) -> String {
    status_word(if v { "yes" } else { "no" }, color)
}

fn verified(s: &BackupSet, color: bool) -> String {
    match flat(&s.last_verification) {
        None => "never".into(),
        Some(v) => format!(
            "{} {}",
            status_word(&v.status.to_string(), color),
            output::utc(&v.started_at)
        ),
    }
}

pub async fn action(a: SetAction) -> Result<Exit, CliError> {
    let SetAction::Show { id, common } = a;
    let client = common.conn.connect()?;
    let s = backup_sets_api::get_backup_set(&client.config, &id).await?;
    if common.out.json() {
        print_json(&s);
        return Ok(Exit::Ok);
    }
    let color = output::color_stdout();
    println!("Set:        {}", s.id);
    println!("Complete:   {}", yes_no(s.complete, color));
    println!("Successful: {}", yes_no(s.successful, color));
    if !s.missing.is_empty() {
        println!("Missing:    {}", s.missing.join(", "));
    }
    println!("Verified:   {}", verified(&s, color));
    println!();
    print_folders(&s.components, color);
    Ok(Exit::Ok)
}

fn print_folders(list: &[SetFolder], color: bool) {
    let mut t = table(&[
        "component",
        "source",
        "slot",
        "result",
        "finished",
        "folder",
    ]);
    for f in list {
        let mut result = flat(&f.result).unwrap_or_default();
        if let Some(p) = flat(&f.problem) {
            result = format!("{result} ({p})");
        }
        for e in f.errors.iter().flatten() {
            result.push('\n');
            result.push_str(e);
        }
        t.add_row(vec![
            f.component.clone(),
            f.source.to_string(),
            flat(&f.slot).unwrap_or_default(),
            status_word(&result, color),
            flat(&f.finished)
                .map(|t| output::utc(&t))
                .unwrap_or_default(),
            match flat(&f.agent) {
                Some(agent) => format!("{} (on {agent})", f.folder),
                None => f.folder.clone(),
            },
        ]);
    }
    print_table(&t);
}

pub async fn verify(a: VerifyArgs) -> Result<Exit, CliError> {
    let client = a.common.conn.connect()?;
    let started = backup_sets_api::verify_backup_set(&client.config, &a.id).await?;
    if !a.wait {
        if a.common.out.json() {
            print_json(&started);
        } else {
            println!("Verification {} of set {} started", started.id, a.id);
        }
        return Ok(Exit::Ok);
    }
    let spin = watch::spinner(true);
    let v = loop {
        let v = backup_sets_api::get_verification(&client.config, &a.id, &started.id).await?;
        if v.status != VerificationStatus::Running {
            break v;
        }
        spin.set_message(format!(
            "verifying set {}: {} files, {} checked",
            a.id,
            v.files_checked,
            bytes(v.bytes_checked)
        ));
        tokio::time::sleep(watch::POLL).await;
    };
    spin.finish_and_clear();
    if a.common.out.json() {
        print_json(&v);
    } else {
        print_verification(&v);
    }
    Ok(if v.status == VerificationStatus::Passed {
        Exit::Ok
    } else {
        Exit::JobFailed
    })
}

/// How many paths of each list are printed.
const SHOWN: usize = 20;

fn print_verification(v: &Verification) {
    let color = output::color_stdout();
    println!(
        "Verification {} of set {}: {} ({} files, {})",
        v.id,
        v.set_id,
        status_word(&v.status.to_string(), color),
        v.files_checked,
        bytes(v.bytes_checked)
    );
    if let Some(e) = flat(&v.error) {
        println!("Error: {e}");
    }
    for c in v.missing_components.iter().flatten() {
        println!("Missing component: {c}");
    }
    for f in &v.folders {
        println!(
            "  {}: {} ({})",
            f.component,
            status_word(if f.ok { "ok" } else { "failed" }, color),
            f.folder
        );
        if let Some(e) = flat(&f.error) {
            println!("    error: {e}");
        }
        let lists = [
            ("changed", &f.changed),
            ("missing", &f.missing),
            ("unlisted", &f.unlisted),
        ];
        for (what, list) in lists {
            if !list.is_empty() {
                println!("    {what} ({}):", list.len());
                for line in first_lines(list, SHOWN).lines() {
                    println!("      {line}");
                }
            }
        }
        if let Some(list) = f.unreadable.as_ref().filter(|l| !l.is_empty()) {
            println!("    unreadable ({}):", list.len());
            for line in first_lines(list, SHOWN).lines() {
                println!("      {line}");
            }
        }
    }
}
