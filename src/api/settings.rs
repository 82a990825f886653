//! `/api/v1/settings`: the schedule and the post-backup hooks, with ETag / If-Match.

use actix_web::{get, http::header, put, web, HttpRequest, HttpResponse};

use super::{
    AuthProblems, BodyProblems, ConfigUnwritableProblem, PreconditionProblems, SettingsInvalid,
    TokenProblems, ValidJson,
};
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

/// The answer of a PUT that creates or replaces a named resource: 201 when `created`, else
/// 200, with its `ETag`.
pub(crate) fn put_answer<T: serde::Serialize>(
    body: &T,
    etag: String,
    created: bool,
) -> HttpResponse {
    let mut resp = with_etag(body, etag);
    if created {
        *resp.status_mut() = actix_web::http::StatusCode::CREATED;
    }
    resp
}

/// The schedule and hooks
///
/// The schedule (daily time, zone, catch-up), the post-backup hooks and the next 5 scheduled
/// runs, in UTC and in the zone (a run moved by a DST change says so). Changes nothing; any
/// role. The `ETag` goes into `If-Match` of `PUT /settings`.
#[utoipa::path(
    tag = "settings",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Current settings", body = SettingsView,
            headers(("ETag" = String, description = "Version of the settings, for If-Match")),
            example = json!(super::examples::settings_view())),
        TokenProblems,
    )
)]
#[get("/settings")]
pub async fn get_settings(_: Viewer, state: web::Data<AppState>) -> HttpResponse {
    let (view, etag) = state.settings();
    with_etag(&view, etag)
}

/// Replace the schedule and hooks
///
/// Replaces the whole `schedule` and `hooks` (admin). Needs `If-Match` with the `ETag` of
/// `GET /settings` (`*` writes unconditionally): without it 428 (`precondition_required`),
/// with a stale one 412 (`precondition_failed`). Every field is checked first; any invalid one
/// is a 422 (`validation_failed`) naming each in `errors`, and nothing changes. Then the config
/// file is written atomically, keeping its comments, and the schedule takes effect at once
/// (no restart); a running backup is not affected. Answers at once with the new settings and
/// `ETag`; 503 (`unavailable`) when the file cannot be written.
#[utoipa::path(
    tag = "settings",
    security(("bearer" = [])),
    request_body(content = SettingsUpdate, example = json!(super::examples::settings_update())),
    params(("If-Match" = String, Header, description = "The ETag from GET /settings, or `*`",
        example = "\"a5e28bbecda5435c93dbeaac\"")),
    responses(
        (status = 200, description = "Saved; the new settings", body = SettingsView,
            headers(("ETag" = String, description = "The new version")),
            example = json!(super::examples::settings_view())),
        AuthProblems, BodyProblems, SettingsInvalid, PreconditionProblems, ConfigUnwritableProblem,
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
