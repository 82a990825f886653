//! The `backup-master` command line: serve | agent (and `agent resolve`) | openapi |
//! healthcheck, and the operator's client commands (`backup_master::cli`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "backup-master",
    version,
    about = "Consistent, crash-safe backups of multi-component applications"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API server and the scheduler.
    Serve {
        /// Config file (TOML). Default: ./backup-master.toml, else the embedded default in ./backup-master-data/.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Listen address, overriding the config (e.g. 127.0.0.1:8080; port 0 picks a free one).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Serve components of this machine to a master (the README's "Remote components").
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Agent {
        /// The agent's config file (TOML).
        #[arg(long, required = true)]
        config: Option<PathBuf>,
        /// Listen address, overriding the config (port 0 picks a free one).
        #[arg(long)]
        listen: Option<String>,
        #[command(subcommand)]
        action: Option<AgentAction>,
    },
    /// Print the OpenAPI document (JSON).
    Openapi {
        /// Print the agent's API document instead of the master's.
        #[arg(long)]
        agent: bool,
    },
    /// Exit 0 when the server answers /healthz (for Docker HEALTHCHECK).
    Healthcheck {
        /// The server's base URL or its /healthz URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
    },
    #[command(flatten)]
    Client(backup_master::cli::ClientCommand),
}

#[derive(Subcommand)]
enum AgentAction {
    /// An operator's decision for the open backups and restores of a master that is gone for
    /// good: list them, or commit / abort (backups) / roll back (restores) one on this machine.
    /// Deciding needs the agent stopped; give every agent of that backup or restore the same
    /// decision.
    Resolve {
        /// The agent's config file (TOML).
        #[arg(long)]
        config: PathBuf,
        /// Show the open backups and restores with what is known about them.
        #[arg(long, group = "what")]
        list: bool,
        /// With --list: JSON instead of text.
        #[arg(long, requires = "list")]
        json: bool,
        /// Commit backup or restore ID (a restore ID begins with R).
        #[arg(long, value_name = "ID", group = "what")]
        commit: Option<String>,
        /// Abort backup ID: its staging folder is removed, no slot changes.
        #[arg(long, value_name = "ID", group = "what")]
        abort: Option<String>,
        /// Roll back restore ID: every item is put back from its safety copy.
        #[arg(long, value_name = "ID", group = "what")]
        rollback: Option<String>,
        /// Only this component of the agent.
        #[arg(long)]
        component: Option<String>,
    },
}

fn agent_resolve(action: AgentAction) -> ExitCode {
    use backup_master::agent::resolve::{self, Action};
    use backup_master::store::Decision;
    let AgentAction::Resolve {
        config,
        list,
        json,
        commit,
        abort,
        rollback,
        component,
    } = action;
    let what = match (list, commit, abort, rollback) {
        (true, None, None, None) => Action::List { json },
        (false, Some(id), None, None) => Action::Decide {
            id,
            decision: Decision::Commit,
        },
        (false, None, Some(id), None) => Action::Decide {
            id,
            decision: Decision::Abort,
        },
        (false, None, None, Some(id)) => Action::Decide {
            id,
            decision: Decision::Rollback,
        },
        _ => {
            eprintln!("backup-master agent resolve: give one of --list, --commit ID, --abort ID, --rollback ID");
            return ExitCode::from(2);
        }
    };
    if matches!(what, Action::Decide { .. }) {
        backup_master::server::init_tracing();
    }
    let cfg = match backup_master::agent::config::AgentConfig::load(&config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("backup-master agent resolve: {e}");
            return ExitCode::from(2);
        }
    };
    match resolve::run(&cfg, &what, component.as_deref()) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("backup-master agent resolve: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config, listen } => {
            backup_master::server::init_tracing();
            let cfg =
                match backup_master::server::locate_config(config.as_deref(), listen.as_deref()) {
                    Ok(c) => c,
                    Err(e) => {
                        eprintln!("backup-master: {e}");
                        return ExitCode::from(2);
                    }
                };
            let result =
                actix_web::rt::System::new().block_on(backup_master::server::serve(cfg, listen));
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("backup-master: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Agent {
            action: Some(action),
            ..
        } => agent_resolve(action),
        Command::Agent {
            config: None,
            action: None,
            ..
        } => {
            eprintln!("backup-master agent: --config FILE is required");
            ExitCode::from(2)
        }
        Command::Agent {
            config: Some(config),
            listen,
            action: None,
        } => {
            backup_master::server::init_tracing();
            let cfg = match backup_master::agent::config::AgentConfig::load(&config) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("backup-master agent: {e}");
                    return ExitCode::from(2);
                }
            };
            let result =
                actix_web::rt::System::new().block_on(backup_master::agent::serve(cfg, listen));
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("backup-master agent: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Openapi { agent } => match if agent {
            backup_master::agent::api::openapi()
        } else {
            backup_master::api::openapi()
        }
        .to_pretty_json()
        {
            // A closed pipe (`| head`) ends the output quietly instead of a panic.
            Ok(json) => match writeln!(std::io::stdout().lock(), "{json}") {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("backup-master: writing the document: {e}");
                    ExitCode::FAILURE
                }
            },
            Err(e) => {
                eprintln!("backup-master: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Healthcheck { url } => healthcheck(&url),
        Command::Client(cmd) => backup_master::cli::run(cmd, Cli::command),
    }
}

fn healthcheck(url: &str) -> ExitCode {
    let url = if url.trim_end_matches('/').ends_with("/healthz") {
        url.to_string()
    } else {
        format!("{}/healthz", url.trim_end_matches('/'))
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("healthcheck: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = rt.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .build()?;
        client.get(&url).send().await?.error_for_status()
    });
    match outcome {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("healthcheck: {url}: {e}");
            ExitCode::FAILURE
        }
    }
}
