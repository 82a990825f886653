//! backup-master: consistent, crash-safe backups of an application made of several components,
//! driven over HTTP. `create_app` builds the actix app that `main.rs` serves.

pub mod agent;
pub mod api;
pub mod app;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod cli;
pub mod config;
pub mod demo;
pub mod drill;
pub mod engine;
pub mod error;
pub mod hooks;
pub mod jobs;
pub mod kinds;
pub mod metrics;
pub mod notify;
pub mod replicate;
pub mod request_audit;
pub mod request_log;
pub mod resolver;
pub mod restore;
pub mod schedule;
pub mod server;
pub mod sets;
pub mod state;
pub mod store;
pub mod toolkit;

use actix_web::{
    body::MessageBody,
    dev::{ServiceFactory, ServiceRequest, ServiceResponse},
    http::header,
    web, App, HttpResponse,
};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

pub use crate::app::AppParts;
use crate::auth::Tokens;

/// The whole app: API routes, OpenAPI document, Swagger UI, and problem+json for every error
/// actix itself raises (bad JSON, query or path; unknown route).
pub fn create_app(
    parts: AppParts,
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
    let app = App::new()
        .into_utoipa_app()
        .openapi(api::ApiDoc::openapi())
        .app_data(parts.state.clone())
        .app_data(parts.engine.clone())
        .app_data(parts.hooks.clone())
        .app_data(parts.scheduler.clone())
        .app_data(parts.sets.clone())
        .app_data(parts.restorer.clone())
        .app_data(parts.agents.clone())
        .app_data(parts.resolver.clone())
        .app_data(parts.streams.clone())
        .app_data(parts.audit.clone())
        .app_data(parts.notifier.clone())
        .app_data(parts.drills.clone())
        .app_data(parts.replications.clone())
        .app_data(tokens)
        .app_data(
            web::JsonConfig::default()
                .limit(api::json::MAX_BODY)
                .error_handler(|e, _| error::json_error(e).into()),
        );
    let (app, api) = api::with_extractor_config(app)
        .configure(api::routes)
        .split_for_parts();
    let api = api::served_openapi(api, parts.state.config().metrics_public);
    app.service(api::swagger_index("backup-master API"))
        .service(SwaggerUi::new("/swagger-ui/{_:.*}").url("/api-docs/openapi.json", api))
        .route("/swagger-ui", web::get().to(swagger_redirect))
        .default_service(web::to(api::fallback))
        // Inside the request log, so an answer the audit replaced is the one logged.
        .wrap(actix_web::middleware::from_fn(request_audit::audit_request))
        .wrap(actix_web::middleware::from_fn(request_log::log_request))
}

async fn swagger_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/swagger-ui/"))
        .finish()
}
