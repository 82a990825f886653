//! `GET /healthz`: liveness, without a token (for load balancers and Docker `HEALTHCHECK`).

use actix_web::{get, web::Json};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the server answers.
    #[schema(example = "ok")]
    pub status: &'static str,
    /// The server's version.
    #[schema(example = "0.1.0")]
    pub version: &'static str,
}

/// Liveness: answers while the server runs. Needs no token.
#[utoipa::path(tag = "health", responses((status = 200, description = "The server is up", body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}
