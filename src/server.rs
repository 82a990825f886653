//! `serve`: finds the config (or writes the embedded default), builds the app, runs it until
//! SIGINT/SIGTERM.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use actix_web::{web, HttpServer};

use crate::auth::Tokens;
use crate::config::{self, Config};
use crate::engine::fsutil;

/// An entry only the master's own state dir holds (its job records), which proves an existing
/// folder is one and may be made private.
const STATE_MARKER: &str = "jobs";

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Fs(#[from] crate::engine::fsutil::IoError),
    #[error("{0}")]
    Other(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ServeError {
    let what = what.into();
    move |source| ServeError::Io { what, source }
}

/// Where the config comes from: `--config`, else `./backup-master.toml`, else the embedded
/// default in `./backup-master-data/` (written on first start, with the admin token printed once).
pub fn locate_config(explicit: Option<&Path>, listen: Option<&str>) -> Result<Config, ServeError> {
    if let Some(path) = explicit {
        return Ok(Config::load(path)?);
    }
    let local = Path::new(config::DEFAULT_CONFIG_FILE);
    if local.is_file() {
        return Ok(Config::load(local)?);
    }
    let state_dir = PathBuf::from(config::DEFAULT_STATE_DIR);
    let file = state_dir.join(config::DEFAULT_CONFIG_FILE);
    if !file.is_file() {
        fsutil::ensure_private_dir(&state_dir, STATE_MARKER)?;
        crate::demo::create_demo_homes(&state_dir).map_err(io("creating the demo homes"))?;
        let token_path = state_dir.join("admin.token");
        let token = match std::fs::read_to_string(&token_path) {
            Ok(existing) => existing.trim().to_string(),
            Err(_) => crate::demo::create_token_file(&token_path)
                .map_err(io(format!("writing {}", token_path.display())))?,
        };
        let text = config::embedded_default_text(listen.unwrap_or(config::DEFAULT_LISTEN));
        config::write_atomic(&file, text.as_bytes())
            .map_err(io(format!("writing {}", file.display())))?;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "First start on the embedded default: config {}, demo homes in {}/demo.\n\
             Admin token (shown once; kept in {} with mode 0600):\n{token}",
            file.display(),
            state_dir.display(),
            token_path.display()
        );
        let _ = out.flush();
    }
    Ok(Config::load(&file)?)
}

/// Logs to stderr, INFO and up unless `BACKUP_MASTER_LOG` says otherwise. Requests are logged
/// by [`crate::request_log`], one line each; spans are not logged when they close.
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("BACKUP_MASTER_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs the server on `config` until a signal stops it.
pub async fn serve(mut config: Config, listen: Option<String>) -> Result<(), ServeError> {
    if let Some(l) = listen {
        config.listen = l;
    }
    // Job records, reports and hook output are the operator's business only.
    fsutil::ensure_private_dir(&config.state_dir, STATE_MARKER)?;
    let tokens = web::Data::new(Tokens(Arc::new(config.tokens.clone())));
    let listen_addr = config.listen.clone();
    let parts = crate::AppParts::start(config)?;
    let app_parts = parts.clone();
    let server = HttpServer::new(move || crate::create_app(app_parts.clone(), tokens.clone()))
        .shutdown_timeout(10)
        .bind(&listen_addr)
        .map_err(io(format!("binding {listen_addr}")))?;
    let urls = listen_urls("http", &server.addrs());
    for url in &urls {
        // Tests and operators read this line to learn the port (also with --listen ...:0).
        println!("backup-master listening on {url}");
    }
    let _ = std::io::stdout().flush();
    tracing::info!(listen = %urls.join(" "), "server started");
    log_schedule(&parts);
    let result = server.run().await;
    parts.shutdown().await;
    result.map_err(io("running the server"))?;
    tracing::info!("server stopped");
    Ok(())
}

/// Says at start-up what the schedule will do, defaults included: a config without
/// `[schedule]` backs up every night at 02:00, and that should not go unsaid.
fn log_schedule(parts: &crate::AppParts) {
    let schedule = parts.state.config().schedule;
    if !schedule.enabled {
        tracing::info!("schedule off: backups run only on request");
        return;
    }
    let next = parts
        .scheduler
        .next_runs(1)
        .ok()
        .and_then(|runs| runs.into_iter().next());
    tracing::info!(
        daily_time = %schedule.daily_time,
        time_zone = next.as_ref().map(|n| n.time_zone.as_str()).unwrap_or("local"),
        catch_up = schedule.catch_up,
        next_run = next.as_ref().map(|n| n.utc.as_str()).unwrap_or("-"),
        "schedule: a backup every day"
    );
}

/// `scheme://addr` of each address the server is bound to: the real ports, also for `:0`.
pub(crate) fn listen_urls(scheme: &str, addrs: &[std::net::SocketAddr]) -> Vec<String> {
    addrs.iter().map(|a| format!("{scheme}://{a}")).collect()
}
