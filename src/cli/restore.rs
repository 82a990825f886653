//! `restore ID`: the plan as a table (a dry run on the server), confirmation on a terminal
//! unless `--yes`, then the restore followed to its end.

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Write};

use backup_master_client::apis::restores_api;
use backup_master_client::models::{RestoreRecord, RestoreRequest, RestoreStatus};
use clap::Args;

use super::conn::CliError;
use super::output::{self, first_lines, print_json, print_table, status_word, table};
use super::watch;
use super::{Common, Exit};

#[derive(Args)]
pub struct RestoreArgs {
    /// Backup set ID to restore.
    id: String,
    /// Only these components (comma-separated); default: all.
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    components: Vec<String>,
    /// Restore a component from a folder retrieved from external media (repeatable).
    #[arg(long = "from-folder", value_name = "COMPONENT=PATH", value_parser = parse_from_folder)]
    from_folder: Vec<(String, String)>,
    /// Restore the set from this replication target's bucket (downloaded and checked first;
    /// works with no local copy of the set).
    #[arg(
        long = "from-target",
        value_name = "TARGET",
        conflicts_with = "from_folder"
    )]
    from_target: Option<String>,
    /// Only show the plan; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Do not ask for confirmation (needed when stdin is not a terminal).
    #[arg(long, short = 'y')]
    yes: bool,
    /// Follow the restore to its end and print the outcome (exit 1 unless it succeeded).
    #[arg(long)]
    wait: bool,
    #[command(flatten)]
    common: Common,
}

fn parse_from_folder(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((c, p)) if !c.is_empty() && !p.is_empty() => Ok((c.to_string(), p.to_string())),
        _ => Err(format!("{s:?}: expected COMPONENT=PATH")),
    }
}

/// Whether a real restore may go ahead without a question, must ask, or must refuse.
#[derive(Debug, PartialEq, Eq)]
pub enum Confirmation {
    Proceed,
    Ask,
    Refuse,
}

pub fn confirmation(dry_run: bool, yes: bool, stdin_is_terminal: bool) -> Confirmation {
    match (dry_run, yes, stdin_is_terminal) {
        (true, _, _) | (false, true, _) => Confirmation::Proceed,
        (false, false, true) => Confirmation::Ask,
        (false, false, false) => Confirmation::Refuse,
    }
}

/// True for an answer that means yes.
pub fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

pub async fn run(a: RestoreArgs) -> Result<Exit, CliError> {
    let confirm = confirmation(a.dry_run, a.yes, std::io::stdin().is_terminal());
    // Refused before any request: nothing is asked of the server, nothing changes.
    if confirm == Confirmation::Refuse {
        return Err(CliError::Usage(
            "a restore replaces the components' files: give --yes to confirm it when stdin is \
             not a terminal (or --dry-run to see the plan)"
                .into(),
        ));
    }
    let client = a.common.conn.connect()?;
    let request = |dry_run: bool| RestoreRequest {
        backup_id: a.id.clone(),
        components: (!a.components.is_empty()).then(|| Some(a.components.clone())),
        dry_run: Some(dry_run),
        source_folders: (!a.from_folder.is_empty())
            .then(|| Some(a.from_folder.iter().cloned().collect::<HashMap<_, _>>())),
        from_target: a.from_target.clone().map(Some),
    };
    let json = a.common.out.json();
    let plan = restores_api::start_restore(&client.config, request(true)).await?;
    if a.dry_run {
        if json {
            print_json(&plan);
        } else {
            print_plan(&plan);
        }
        return Ok(Exit::Ok);
    }
    if confirm == Confirmation::Ask {
        print_plan(&plan);
        eprint!(
            "\nRestore set {} into {}? Items listed above are replaced (kept in a safety folder). [y/N] ",
            plan.backup_id,
            plan.components
                .iter()
                .map(|c| c.name.clone())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if !is_yes(&answer) {
            eprintln!("Not restored; nothing changed.");
            return Ok(Exit::BadInput);
        }
    } else if !json {
        print_plan(&plan);
    }
    let started = restores_api::start_restore(&client.config, request(false)).await?;
    if !json {
        println!(
            "Restore {} of set {} started",
            started.id, started.backup_id
        );
    }
    if !a.wait {
        if json {
            print_json(&started);
        }
        return Ok(Exit::Ok);
    }
    let spin = watch::spinner(!json);
    let done = loop {
        let r = restores_api::get_restore(&client.config, &started.id).await?;
        if r.status != RestoreStatus::Running {
            break r;
        }
        let applied = r
            .components
            .iter()
            .filter(|c| c.status.to_string() != "pending")
            .count();
        spin.set_message(format!(
            "restoring {}: {applied}/{} components, {} paths changed",
            r.backup_id,
            r.components.len(),
            r.changed.len()
        ));
        tokio::time::sleep(watch::POLL).await;
    };
    spin.finish_and_clear();
    if json {
        print_json(&done);
    } else {
        print_result(&done);
    }
    Ok(if done.status == RestoreStatus::Succeeded {
        Exit::Ok
    } else {
        Exit::JobFailed
    })
}

/// How many paths of each list the plan shows.
const SHOWN: usize = 5;

fn print_plan(plan: &RestoreRecord) {
    println!(
        "Plan of restore {} (set {}){}",
        plan.id,
        plan.backup_id,
        if plan.dry_run { ", dry run" } else { "" }
    );
    let color = output::color_stdout();
    let mut t = table(&[
        "component",
        "home",
        "from",
        "removed",
        "copied",
        "edited",
        "skipped",
    ]);
    for c in &plan.components {
        // paths inside the home are shown relative to it (the home is in the FROM column's
        // header line): the table stays readable on a terminal
        let rel = |p: &str| -> String {
            p.strip_prefix(c.home.as_str())
                .and_then(|r| r.strip_prefix('/'))
                .filter(|r| !r.is_empty())
                .unwrap_or(p)
                .to_string()
        };
        let removed: Vec<String> = c.remove.iter().map(|p| rel(p)).collect();
        let copied: Vec<String> = c.copy.iter().map(|op| rel(&op.to)).collect();
        let edited: Vec<String> = c
            .edit
            .iter()
            .map(|e| format!("{} += {}", rel(&e.path), e.append.trim_end()))
            .collect();
        let skipped: Vec<String> = c
            .skip
            .iter()
            .map(|s| format!("{} ({})", rel(&s.path), s.reason))
            .collect();
        let cell = |list: &[String]| {
            if list.is_empty() {
                "0".to_string()
            } else {
                format!("{}\n{}", list.len(), first_lines(list, SHOWN))
            }
        };
        t.add_row(vec![
            c.name.clone(),
            c.home.clone(),
            // a slot beside the home reads `backup1`; an imported folder keeps its full path
            format!("{}\n({})", rel(&c.source_folder), c.origin),
            cell(&removed),
            cell(&copied),
            cell(&edited),
            cell(&skipped),
        ]);
    }
    print_table(&t);
    for f in &plan.verification {
        if !f.ok {
            println!(
                "Verification of {} ({}): {}",
                f.component,
                f.folder,
                status_word("failed", color)
            );
            for p in &f.problems {
                println!("  {p}");
            }
        }
    }
    for n in &plan.notes {
        println!("Note: {n}");
    }
}

fn print_result(r: &RestoreRecord) {
    let color = output::color_stdout();
    println!(
        "Restore {} of set {} {}: {} paths changed",
        r.id,
        r.backup_id,
        status_word(&r.status.to_string(), color),
        r.changed.len()
    );
    for c in &r.components {
        println!(
            "  {}: {}",
            c.name,
            status_word(&c.status.to_string(), color)
        );
        for e in &c.errors {
            println!("    error: {e}");
        }
    }
    for e in &r.errors {
        println!("Error: {e}");
    }
    for n in &r.notes {
        println!("Note: {n}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_restore_without_yes_asks_on_a_terminal_and_refuses_elsewhere() {
        assert_eq!(confirmation(false, false, true), Confirmation::Ask);
        assert_eq!(confirmation(false, false, false), Confirmation::Refuse);
        assert_eq!(confirmation(false, true, false), Confirmation::Proceed);
        assert_eq!(confirmation(true, false, false), Confirmation::Proceed);
    }

    #[test]
    fn only_y_or_yes_confirms() {
        assert!(is_yes("y\n"));
        assert!(is_yes(" YES "));
        assert!(!is_yes("\n"));
        assert!(!is_yes("n"));
        assert!(!is_yes("yep"));
    }

    #[test]
    fn from_folder_needs_component_and_path() {
        assert_eq!(
            parse_from_folder("lui=/mnt/tape/lui").unwrap_or_default(),
            ("lui".to_string(), "/mnt/tape/lui".to_string())
        );
        assert!(parse_from_folder("lui").is_err());
        assert!(parse_from_folder("=/x").is_err());
        assert!(parse_from_folder("lui=").is_err());
    }
}
