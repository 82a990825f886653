//! `backup-master agent`: runs on a component's own server and serves one or more components
//! to the master (README, *Remote components*). The master drives each backup with a two-phase commit over HTTP
//! ([`api`], its own OpenAPI document); the agent copies, rotates and removes with the same
//! [`crate::store::LocalStore`] the master uses for local components, so the files on disk are
//! exactly those of a local component, and the data never passes through the master.
//!
//! * [`config`]: the agent's TOML (listen, state_dir, tokens, components with their homes,
//!   `decision_timeout_seconds`, optional TLS certificate and key);
//! * [`txn`]: the agent's side of the two-phase commit of a backup, its records and the
//!   in-doubt alarm;
//! * [`restore`]: the agent's side of a restore (plan, apply, commit, rollback), its records;
//! * [`freeze`]: the freeze, read point and thaw steps of the master's backups, run here and
//!   held under a lease (thawed by the agent itself when the master stops renewing);
//! * [`drill`]: restore drills of the components, into scratch folders on this machine;
//! * [`replicate`]: uploads of the components to the master's replication targets, and
//!   downloads from them for restores;
//! * [`claims`]: one job per component (a backup or a restore, never both);
//! * [`resolve`]: `backup-master agent resolve`, an operator's decision for a master that is
//!   gone for good;
//! * [`wire`]: the JSON bodies shared with the master's `store::remote`.
//!
//! A participant that voted yes (a backup prepared, a restore applied) never ends by itself:
//! it waits for the master's decision, or an operator's; `decision_timeout_seconds` only
//! marks it in doubt. Start-up: transactions the agent died in while preparing are aborted
//! (staging removed), and restores it died in while applying are rolled back (it never voted
//! yes for them); prepared and applied ones wait as they were. `<state_dir>/agent.lock` is
//! locked while the agent runs, so a second agent, or `agent resolve` carrying out a decision,
//! cannot work on the same state folder meanwhile. With `tls_cert_file` and `tls_key_file`
//! it serves https (rustls); the printed line then says `https://`.

pub mod api;
pub mod claims;
pub mod config;
pub mod drill;
pub mod freeze;
pub mod lifecycle;
pub mod replicate;
pub mod resolve;
pub mod restore;
pub mod txn;

use std::io::Write;
use std::sync::Arc;

use actix_web::{
    body::MessageBody,
    dev::{ServiceFactory, ServiceRequest, ServiceResponse},
    web, App, HttpServer,
};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::Tokens;
use crate::error::{ApiError, ProblemKind};
use crate::server::ServeError;
use config::AgentConfig;
use txn::Txns;

/// Runs an agent operation to its end even when the master stops waiting for it (its
/// connection closed, the master killed): actix then drops the handler's future, and an
/// operation stopped at an `.await` would release its lock while its file work (on the
/// blocking pool) goes on, so a second operation could run beside it.
pub(crate) async fn to_the_end<T: Send + 'static>(
    op: impl std::future::Future<Output = Result<T, ApiError>> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::spawn(op)
        .await
        .map_err(|e| ApiError::internal(format!("the operation stopped: {e}")))?
}

/// The agent's actix app: its routes, its OpenAPI document and Swagger UI, problem+json for
/// every error.
pub fn create_agent_app(
    txns: web::Data<Txns>,
    restores: web::Data<restore::AgentRestores>,
    lifecycle: web::Data<lifecycle::AgentLifecycle>,
    drills: web::Data<drill::AgentDrills>,
    replications: web::Data<replicate::AgentReplications>,
    tokens: web::Data<Tokens>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    use utoipa::OpenApi;
    let app = App::new()
        .into_utoipa_app()
        .openapi(api::AgentDoc::openapi())
        .app_data(txns)
        .app_data(restores)
        .app_data(lifecycle)
        .app_data(drills)
        .app_data(replications)
        .app_data(tokens);
    let (app, doc) = crate::api::with_extractor_config(app)
        .configure(api::routes)
        .split_for_parts();
    app.service(crate::api::swagger_index("backup-master agent API"))
        .service(SwaggerUi::new("/swagger-ui/{_:.*}").url("/api-docs/openapi.json", doc))
        .default_service(web::to(unknown_route))
        .wrap(actix_web::middleware::from_fn(
            crate::request_log::log_request,
        ))
}

async fn unknown_route(req: actix_web::HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::new(
        ProblemKind::NotFound,
        format!("no route {} {}", req.method(), req.path()),
    ))
}

fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<rustls::ServerConfig, ServeError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| ServeError::Other(format!("tls_cert_file {}: {e}", cert.display())))?;
    if certs.is_empty() {
        return Err(ServeError::Other(format!(
            "tls_cert_file {}: no certificate in it",
            cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| ServeError::Other(format!("tls_key_file {}: {e}", key.display())))?;
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| ServeError::Other(format!("TLS certificate and key: {e}")))
}

/// Locks `<state_dir>/agent.lock` (held while the returned file lives): one agent, or one
/// `agent resolve` carrying out a decision, per state folder.
pub(crate) fn lock_state_dir(
    state_dir: &std::path::Path,
) -> Result<nix::fcntl::Flock<std::fs::File>, String> {
    let path = state_dir.join("agent.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("opening {}: {e}", path.display()))?;
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock).map_err(|_| {
        format!(
            "{} is locked: an agent runs on this state folder (stop it first)",
            path.display()
        )
    })
}

/// Runs the agent until SIGINT/SIGTERM.
pub async fn serve(mut cfg: AgentConfig, listen: Option<String>) -> Result<(), ServeError> {
    if let Some(l) = listen {
        cfg.listen = l;
    }
    // Transaction and restore records: the agent's business only. `transactions/` is what
    // proves an existing folder is an agent's state dir.
    crate::engine::fsutil::ensure_private_dir(&cfg.state_dir, "transactions")?;
    let _lock = lock_state_dir(&cfg.state_dir).map_err(ServeError::Other)?;
    let txns = Txns::open(&cfg).await.map_err(ServeError::Other)?;
    actix_web::rt::spawn(txns.clone().watch_alarms());
    actix_web::rt::spawn(txns.freezes().clone().watch_leases());
    let restores = restore::AgentRestores::open(
        &cfg.state_dir,
        txns.clone(),
        std::time::Duration::from_secs(cfg.decision_timeout_seconds),
    )
    .map_err(ServeError::Other)?;
    actix_web::rt::spawn(restores.clone().watch_alarms());
    let restores = web::Data::new(restores);
    let txns = web::Data::new(txns);
    let tokens = web::Data::new(Tokens(Arc::new(cfg.tokens.clone())));
    let lifecycle = web::Data::new(lifecycle::AgentLifecycle::new(cfg.components.clone()));
    let drills = web::Data::new(
        drill::AgentDrills::open(
            &cfg.state_dir,
            cfg.components.clone(),
            txns.get_ref().clone(),
        )
        .map_err(ServeError::Other)?,
    );
    let replications = web::Data::new(replicate::AgentReplications::new(
        &cfg.state_dir,
        txns.get_ref().clone(),
    ));
    let server = HttpServer::new(move || {
        create_agent_app(
            txns.clone(),
            restores.clone(),
            lifecycle.clone(),
            drills.clone(),
            replications.clone(),
            tokens.clone(),
        )
    })
    .shutdown_timeout(10);
    let (server, scheme) = match &cfg.tls {
        Some((cert, key)) => (
            server
                .bind_rustls_0_23(&cfg.listen, tls_config(cert, key)?)
                .map_err(|source| ServeError::Io {
                    what: format!("binding {}", cfg.listen),
                    source,
                })?,
            "https",
        ),
        None => (
            server.bind(&cfg.listen).map_err(|source| ServeError::Io {
                what: format!("binding {}", cfg.listen),
                source,
            })?,
            "http",
        ),
    };
    let urls = crate::server::listen_urls(scheme, &server.addrs());
    for url in &urls {
        println!("backup-master agent listening on {url}");
    }
    let _ = std::io::stdout().flush();
    tracing::info!(listen = %urls.join(" "), components = cfg.components.len(), "agent started");
    server.run().await.map_err(|source| ServeError::Io {
        what: "running the agent".into(),
        source,
    })?;
    tracing::info!("agent stopped");
    Ok(())
}
