//! `GET /healthz`: liveness, without a token (for load balancers and Docker `HEALTHCHECK`), and
//! whether the server is degraded (a job whose record cannot be written, and the like).

use actix_web::{get, web, web::Json};
use serde::Serialize;
use utoipa::ToSchema;

use crate::jobs::BackupJobs;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `degraded` while something keeps a job from ending (see `problems`); the
    /// server answers either way.
    #[schema(example = "ok")]
    pub status: &'static str,
    /// The server's version.
    #[schema(example = "0.1.0")]
    pub version: &'static str,
    /// What degrades the server, one line each (e.g. a job record that cannot be written:
    /// that job stays running and holds the job lock until it can).
    pub problems: Vec<String>,
}

/// Liveness of the server
///
/// Answers 200 while the server runs, with `status` `ok`, or `degraded` while something keeps a
/// job from ending (`problems` says what, e.g. a job record that cannot be written). Changes
/// nothing and answers at once. Needs no token (for load balancers and Docker `HEALTHCHECK`);
/// the agent serves the same route.
#[utoipa::path(
    tag = "health",
    security(),
    responses(
        (status = 200, description = "The server is up (also when degraded)", body = Health,
            example = json!(super::examples::health())),
        (status = 431, description = "The request's headers are too large; answered before any route, without a body"),
    )
)]
#[get("/healthz")]
pub async fn healthz(engine: Option<web::Data<BackupJobs>>) -> Json<Health> {
    // The agent serves the same route without an engine.
    let problems = engine.map(|e| e.problems()).unwrap_or_default();
    Json(Health {
        status: if problems.is_empty() {
            "ok"
        } else {
            "degraded"
        },
        version: env!("CARGO_PKG_VERSION"),
        problems,
    })
}
