//! `/api/v1/settings`: the schedule and the post-backup hooks, with ETag / If-Match.

use actix_web::{get, http::header, put, web, HttpRequest, HttpResponse};

use super::{AuthProblems, BodyProblems, PreconditionProblems, UnavailableProblem, ValidJson};
use crate::auth::{Admin, Viewer};
use crate::error::ApiError;
use crate::state::{AppState, SettingsUpdate, SettingsView};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(get_settings).service(put_settings);
}

pub(crate) fn if_match(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::IF_MATCH)
        .map(|v| v.to_str().unwrap_or("\u{fffd}"))
}

pub(crate) fn with_etag<T: serde::Serialize>(body: &T, etag: String) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag))
        .json(body)
}

/// The schedule, the hooks, and the next 5 scheduled runs. The `ETag` goes into `If-Match` of a PUT.
#[utoipa::path(
    tag = "settings",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Current settings", body = SettingsView,
            headers(("ETag" = String, description = "Version of the settings, for If-Match"))),
        AuthProblems,
    )
)]
#[get("/settings")]
pub async fn get_settings(_: Viewer, state: web::Data<AppState>) -> HttpResponse {
    let (view, etag) = state.settings();
    with_etag(&view, etag)
}

/// Replaces the whole `schedule` and `hooks` (admin). Needs `If-Match`; validates everything
/// first, then writes the config file atomically, keeping its comments; the schedule takes
/// effect at once.
#[utoipa::path(
    tag = "settings",
    security(("bearer" = [])),
    request_body = SettingsUpdate,
    params(("If-Match" = String, Header, description = "The ETag from GET /settings")),
    responses(
        (status = 200, description = "Saved; the new settings", body = SettingsView,
            headers(("ETag" = String, description = "The new version"))),
        AuthProblems, BodyProblems, PreconditionProblems, UnavailableProblem,
    )
)]
#[put("/settings")]
pub async fn put_settings(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ValidJson<SettingsUpdate>,
) -> Result<HttpResponse, ApiError> {
    let (view, etag) = state.update_settings(if_match(&req), body.0)?;
    Ok(with_etag(&view, etag))
}
