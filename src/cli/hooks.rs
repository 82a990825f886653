//! `hooks [--all]`, `hook test on_success|on_failure [--follow]`, `hook tail ID`, `hook kill ID`.

use backup_master_client::apis::hook_processes_api;
use backup_master_client::models::{HookName, HookProcess, HookStatus, HookTest, OutputExit};
use clap::{Args, Subcommand, ValueEnum};

use super::conn::CliError;
use super::output::{self, flat, print_json, print_table, status_word, table};
use super::watch;
use super::{Common, ConnArgs, Exit};

#[derive(Args)]
pub struct ListArgs {
    /// Also recently finished processes.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    common: Common,
}

#[derive(Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Hook {
    OnSuccess,
    OnFailure,
}

#[derive(Subcommand)]
pub enum HookAction {
    /// Run a configured hook now as a test (BACKUP_RESULT=test).
    Test {
        hook: Hook,
        /// Print its output live until it ends (exit 1 unless it exits 0).
        #[arg(long)]
        follow: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Print a hook process's output from its first line, live, until it ends; resumes where
    /// it broke off if the connection drops (exit 1 unless it exited 0).
    Tail {
        /// Hook process ID.
        id: String,
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Terminate a running hook process (SIGTERM to its group, SIGKILL after a grace period).
    Kill {
        /// Hook process ID.
        id: String,
        #[command(flatten)]
        common: Common,
    },
}

pub async fn list(a: ListArgs) -> Result<Exit, CliError> {
    let client = a.common.conn.connect()?;
    let list =
        hook_processes_api::list_hook_processes(&client.config, a.all.then_some(true)).await?;
    if a.common.out.json() {
        print_json(&list);
        return Ok(Exit::Ok);
    }
    if list.is_empty() {
        println!("No {}hook processes.", if a.all { "" } else { "running " });
        return Ok(Exit::Ok);
    }
    let color = output::color_stdout();
    let mut t = table(&[
        "id", "kind", "status", "exit", "started", "lines", "backup", "command",
    ]);
    for p in &list {
        t.add_row(vec![
            p.id.clone(),
            p.kind.to_string(),
            status_word(&p.status.to_string(), color),
            exit_text(flat(&p.exit_code), flat(&p.signal)),
            output::utc(&p.started_at),
            p.lines.to_string(),
            flat(&p.backup_id).unwrap_or_default(),
            p.command.clone(),
        ]);
    }
    print_table(&t);
    Ok(Exit::Ok)
}

fn exit_text(code: Option<i32>, signal: Option<i32>) -> String {
    match (code, signal) {
        (Some(c), _) => c.to_string(),
        (None, Some(s)) => format!("signal {s}"),
        (None, None) => String::new(),
    }
}

pub async fn action(a: HookAction) -> Result<Exit, CliError> {
    match a {
        HookAction::Test {
            hook,
            follow,
            common,
        } => {
            let client = common.conn.connect()?;
            let hook = match hook {
                Hook::OnSuccess => HookName::OnSuccess,
                Hook::OnFailure => HookName::OnFailure,
            };
            let p =
                hook_processes_api::start_hook_test(&client.config, HookTest::new(hook)).await?;
            if common.out.json() && !follow {
                print_json(&p);
                return Ok(Exit::Ok);
            }
            eprintln!("Hook process {} started: {}", p.id, p.command);
            if !follow {
                println!("{}", p.id);
                return Ok(Exit::Ok);
            }
            let exit = watch::tail_hook(&client, &p.id).await?;
            Ok(report_exit(&exit))
        }
        HookAction::Tail { id, conn } => {
            let client = conn.connect()?;
            let exit = watch::tail_hook(&client, &id).await?;
            Ok(report_exit(&exit))
        }
        HookAction::Kill { id, common } => {
            let client = common.conn.connect()?;
            let p: HookProcess =
                hook_processes_api::delete_hook_process(&client.config, &id).await?;
            if common.out.json() {
                print_json(&p);
            } else {
                println!("Hook process {} terminated (status {}).", p.id, p.status);
            }
            Ok(Exit::Ok)
        }
    }
}

/// Prints how a followed process ended (on stderr: stdout holds only its output) and gives
/// the exit code: 0 only for an exit with code 0.
fn report_exit(e: &OutputExit) -> Exit {
    let color = output::color_stderr();
    eprintln!(
        "[{}{}]",
        status_word(&e.status.to_string(), color),
        match exit_text(flat(&e.exit_code), flat(&e.signal)) {
            t if t.is_empty() => String::new(),
            t => format!(" {t}"),
        }
    );
    if e.status == HookStatus::Exited && flat(&e.exit_code) == Some(0) {
        Exit::Ok
    } else {
        Exit::JobFailed
    }
}
