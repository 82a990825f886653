//! The operator's command line: the client subcommands of the `backup-master` binary (status,
//! backups, sets, restores, hooks, settings) that talk to a server over HTTP through the
//! generated Rust client, plus the local ones (`token`, `config check`, `completions`, `man`).
//!
//! Exit codes, the same for every command ([`Exit`]): 0 success; 1 the job ended failed,
//! cancelled or interrupted; 2 usage or bad input (a 4xx of the server, its `errors` printed
//! field by field); 3 the server is not reachable, refuses the token, or fails (5xx); 4 a
//! conflict (another job runs: its ID is printed; the settings changed meanwhile).
//!
//! Nothing in the server uses this module; it uses only `config` (to check a config file and
//! hash tokens exactly as `serve` does) and `demo` (the one token generator).

mod backups;
mod conn;
mod hooks;
mod local;
mod output;
mod restore;
mod sets;
mod settings;
mod sse;
mod watch;

use std::process::ExitCode;

use clap::{Args, Subcommand};

pub use conn::ConnArgs;
pub use output::OutputArgs;

/// How a command ended, as the process exit code a script can rely on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: done.
    Ok,
    /// 1: the job ended failed, cancelled or interrupted.
    JobFailed,
    /// 2: usage or bad input (also the server's 4xx).
    BadInput,
    /// 3: not reachable, not authorised, or the server failed.
    Unreachable,
    /// 4: a conflict: another job runs, or the settings changed meanwhile.
    Conflict,
    /// 130: the operator stopped watching with Ctrl-C; the job goes on.
    StoppedWatching,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::JobFailed => 1,
            Exit::BadInput => 2,
            Exit::Unreachable => 3,
            Exit::Conflict => 4,
            Exit::StoppedWatching => 130,
        }
    }
}

/// The client and local subcommands, flattened into the binary's own command list.
#[derive(Subcommand)]
pub enum ClientCommand {
    /// Next scheduled run, last successful backup and its age, the running job, components.
    Status {
        #[command(flatten)]
        conn: ConnArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Start a backup (`--wait`: follow it live), or show, report or cancel one.
    #[command(args_conflicts_with_subcommands = true)]
    Backup {
        #[command(subcommand)]
        action: Option<backups::BackupAction>,
        /// Follow the backup until it ends: progress per component, outcome, report summary.
        /// Ctrl-C asks whether to cancel the backup or only stop watching.
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        conn: ConnArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// List backups, newest first.
    Backups(backups::ListArgs),
    /// List the backup sets found on disk.
    Sets(sets::ListArgs),
    /// Show one backup set.
    Set {
        #[command(subcommand)]
        action: sets::SetAction,
    },
    /// Verify a backup set against its SHA256SUMS (`--wait`: follow it and list the problems).
    Verify(sets::VerifyArgs),
    /// Restore a backup set: shows the plan, asks for confirmation on a terminal (unless
    /// `--yes`), starts the restore (`--wait`: follows it to its end).
    Restore(restore::RestoreArgs),
    /// List hook processes (running; `--all` adds finished ones).
    Hooks(hooks::ListArgs),
    /// Test-run a hook, follow a hook process's output, or terminate one.
    Hook {
        #[command(subcommand)]
        action: hooks::HookAction,
    },
    /// Show or change the schedule and hook settings.
    Settings {
        #[command(subcommand)]
        action: settings::SettingsAction,
    },
    /// List the components, with reachability of remote ones.
    Components {
        #[command(flatten)]
        conn: ConnArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Change a component's backup settings.
    Component {
        #[command(subcommand)]
        action: settings::ComponentAction,
    },
    /// Make a new API token, or hash one for the config.
    Token {
        #[command(subcommand)]
        action: local::TokenAction,
    },
    /// Check a config file without starting anything.
    Config {
        #[command(subcommand)]
        action: local::ConfigAction,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
}

/// Common `--output` for the listing and show commands of a group.
#[derive(Args, Clone, Debug, Default)]
pub struct Common {
    #[command(flatten)]
    pub conn: ConnArgs,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// Runs a client or local command; `top` builds the binary's whole clap command (for
/// completions and the man page).
pub fn run(cmd: ClientCommand, top: fn() -> clap::Command) -> ExitCode {
    let exit = match cmd {
        ClientCommand::Token { action } => local::token(action),
        ClientCommand::Config { action } => local::config(action),
        ClientCommand::Completions { shell } => local::completions(shell, top()),
        ClientCommand::Man => local::man(top()),
        remote => run_remote(remote),
    };
    ExitCode::from(exit.code())
}

fn run_remote(cmd: ClientCommand) -> Exit {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            output::error_line(&format!("cannot start the async runtime: {e}"));
            return Exit::Unreachable;
        }
    };
    let result = rt.block_on(async move {
        match cmd {
            ClientCommand::Status { conn, out } => backups::status(&conn.connect()?, out).await,
            ClientCommand::Backup {
                action,
                wait,
                conn,
                out,
            } => match action {
                Some(a) => backups::action(a).await,
                None => backups::start(&conn.connect()?, wait, out).await,
            },
            ClientCommand::Backups(a) => backups::list(a).await,
            ClientCommand::Sets(a) => sets::list(a).await,
            ClientCommand::Set { action } => sets::action(action).await,
            ClientCommand::Verify(a) => sets::verify(a).await,
            ClientCommand::Restore(a) => restore::run(a).await,
            ClientCommand::Hooks(a) => hooks::list(a).await,
            ClientCommand::Hook { action } => hooks::action(action).await,
            ClientCommand::Settings { action } => settings::settings(action).await,
            ClientCommand::Components { conn, out } => {
                settings::components(&conn.connect()?, out).await
            }
            ClientCommand::Component { action } => settings::component(action).await,
            ClientCommand::Token { .. }
            | ClientCommand::Config { .. }
            | ClientCommand::Completions { .. }
            | ClientCommand::Man => Ok(Exit::Ok),
        }
    });
    // The runtime may hold a blocking stdin read (a Ctrl-C question left unanswered): do not
    // wait for it.
    rt.shutdown_background();
    match result {
        Ok(exit) => exit,
        Err(e) => {
            e.print();
            e.exit()
        }
    }
}
