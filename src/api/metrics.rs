//! `GET /metrics`: Prometheus text. Needs a viewer token unless `metrics_public = true`.

use actix_web::{get, web, HttpRequest, HttpResponse};

use super::TokenProblems;
use crate::config::Role;
use crate::error::ApiError;
use crate::hooks::HookManager;
use crate::jobs::BackupJobs;
use crate::state::AppState;

/// Prometheus metrics
///
/// The Prometheus text format (0.0.4): the time of the last successful backup (overall and per
/// component), the last backup's duration and bytes, backups by result, running hook
/// processes, transactions in doubt on agents, notification deliveries given up (by target)
/// and pending, per replication target the last set replicated (time and age), bytes uploaded,
/// blobs skipped and failures, build info. Changes nothing. Needs a viewer
/// token, unless the config sets `metrics_public = true`: then it needs none, and the server's
/// own document says so (`security: []`).
#[utoipa::path(
    tag = "health",
    security(("bearer" = []), ()),
    responses(
        (status = 200, description = "Prometheus text format 0.0.4", body = String,
            content_type = "text/plain", example = json!(super::examples::METRICS)),
        TokenProblems,
    )
)]
#[get("/metrics")]
pub async fn get_metrics(
    req: HttpRequest,
    state: web::Data<AppState>,
    engine: web::Data<BackupJobs>,
    hooks: web::Data<HookManager>,
    resolver: web::Data<crate::resolver::Resolver>,
    notifier: web::Data<crate::notify::Notifier>,
    // The later job kinds' services, as one extractor (actix takes a tuple of extractors).
    (drills, replications): (
        web::Data<crate::jobs::drill::Drills>,
        web::Data<crate::jobs::replication::Replications>,
    ),
) -> Result<HttpResponse, ApiError> {
    if !state.config().metrics_public {
        crate::auth::authorize(&req, Role::Viewer)?;
    }
    let engine = engine.into_inner();
    let running = hooks.running_count();
    let in_doubt = resolver.in_doubt();
    let mut text = web::block(move || crate::metrics::render(&engine, running, &in_doubt))
        .await
        .map_err(ApiError::internal)?;
    text.push_str(&notifier.metrics_text());
    text.push_str(&crate::metrics::render_drills(
        drills.last_passed().as_ref(),
    ));
    text.push_str(&crate::metrics::replication_text(&replications.stats()));
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}
