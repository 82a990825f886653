//! `GET /healthz`: liveness, without a token (for load balancers and Docker `HEALTHCHECK`), and
//! whether the server is degraded (a job whose record cannot be written, and the like).

use actix_web::{get, web, web::Json};
use serde::Serialize;
use utoipa::ToSchema;

use crate::jobs::Engine;

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

/// Liveness: answers while the server runs (200 also when degraded). Needs no token.
#[utoipa::path(tag = "health", responses((status = 200, description = "The server is up", body = Health)))]
#[get("/healthz")]
pub async fn healthz(engine: Option<web::Data<Engine>>) -> Json<Health> {
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
