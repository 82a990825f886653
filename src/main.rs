//! The `backup-master` command line: serve | agent | openapi | healthcheck, and the operator's
//! client commands (`backup_master::cli`).

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
    Agent {
        /// The agent's config file (TOML).
        #[arg(long)]
        config: PathBuf,
        /// Listen address, overriding the config (port 0 picks a free one).
        #[arg(long)]
        listen: Option<String>,
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
        Command::Agent { config, listen } => {
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
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
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
