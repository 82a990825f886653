//! `/api/v1/notification-targets`: the targets notifications go to (webhook, email, ping),
//! read, created or replaced (`If-Match`), removed, and test-sent. Admin only: a target's
//! settings say where the server's news goes.

use actix_web::{delete, get, post, put, web, HttpRequest, HttpResponse};

use super::settings::{if_match, put_answer, with_etag};
use super::{
    AuthProblems, BodyProblems, ConfigUnwritableProblem, NotificationTargetInvalid,
    NotificationTargetProblems, PreconditionProblems, ValidJson,
};
use crate::auth::Admin;
use crate::config::TargetSettings;
use crate::error::{ApiError, Code};
use crate::notify::{Notifier, TestOutcome};
use crate::state::{AppState, TargetView};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_notification_targets)
        .service(get_notification_target)
        .service(put_notification_target)
        .service(delete_notification_target)
        .service(test_notification_target);
}

/// The notification targets
///
/// Every `[[notification_targets]]` entry in config order, with its matcher. Secrets show
/// only as the paths of their files (`secret_file`, `password_file`). Admin.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The targets", body = Vec<TargetView>,
            example = json!(super::examples::notification_targets())),
        AuthProblems,
    )
)]
#[get("/notification-targets")]
pub async fn list_notification_targets(_: Admin, state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(state.targets())
}

/// One notification target
///
/// One target as in the list (secrets only as their files' paths), with an `ETag` for the
/// `If-Match` of `PUT` and `DELETE`. 404 (`notification_target_not_found`) for a name the
/// config does not have. Admin.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Target name", example = "ops-webhook")),
    responses(
        (status = 200, description = "The target", body = TargetView,
            headers(("ETag" = String, description = "Version, for If-Match")),
            example = json!(super::examples::notification_target())),
        AuthProblems, NotificationTargetProblems,
    )
)]
#[get("/notification-targets/{name}")]
pub async fn get_notification_target(
    _: Admin,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (view, etag) = state.target(&name)?;
    Ok(with_etag(&view, etag))
}

/// Create or replace a notification target
///
/// Sets target `{name}` (1 to 32 of `a-z 0-9 _ -`): `kind` `webhook` (`url`, optional
/// `secret_file` for an HMAC-SHA256 signature of the body in `signature_header`, `headers`),
/// `email` (`smtp_host`, `smtp_port`, `tls` `starttls`/`tls`/`none`, `username` with
/// `password_file`, `from`, `to`) or `ping` (`url`, pinged on success, `<url>/start` and
/// `<url>/fail`; or `start_url`, `success_url`, `fail_url`); `timeout_seconds` (1 to 300);
/// the matcher `events`, `min_severity`, `mode` (`all`/`any`); no matcher: warnings and
/// errors. Needs `If-Match`: the `ETag` of `GET`, or `*` (which also creates): 428 without it,
/// 412 when stale, 404 for an ETag of a target that does not exist. Refused with 422 naming
/// each field, changing nothing: an unknown kind or event, a URL that is not http(s), a
/// secret file that cannot be read, an SMTP port out of range, a key of another kind. The
/// config file is written atomically (503 when it cannot be). Admin.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    request_body(content = TargetSettings, example = json!(super::examples::notification_target_settings())),
    params(
        ("name" = String, Path, description = "Target name", example = "ops-webhook"),
        ("If-Match" = String, Header, description = "The ETag from GET /notification-targets/{name}, or `*`",
            example = "\"0c9d1f7e2b3a4c5d6e7f8091\""),
    ),
    responses(
        (status = 200, description = "Replaced; the target as it is now", body = TargetView,
            headers(("ETag" = String, description = "The new version")),
            example = json!(super::examples::notification_target())),
        (status = 201, description = "Created; the target as it is now", body = TargetView,
            headers(("ETag" = String, description = "The new version")),
            example = json!(super::examples::notification_target())),
        AuthProblems, NotificationTargetProblems, BodyProblems, NotificationTargetInvalid,
        PreconditionProblems, ConfigUnwritableProblem,
    )
)]
#[put("/notification-targets/{name}")]
pub async fn put_notification_target(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: ValidJson<TargetSettings>,
) -> Result<HttpResponse, ApiError> {
    let if_match = if_match(&req).map(str::to_string);
    let (view, etag, created) =
        web::block(move || state.put_target(&name, if_match.as_deref(), body.0))
            .await
            .map_err(ApiError::internal)??;
    Ok(put_answer(&view, etag, created))
}

/// Remove a notification target
///
/// Removes target `{name}` from the config file (`If-Match`: its `ETag`, or `*`). Its
/// deliveries still pending are given up. Admin.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    params(
        ("name" = String, Path, description = "Target name", example = "ops-webhook"),
        ("If-Match" = String, Header, description = "The ETag from GET /notification-targets/{name}, or `*`",
            example = "\"0c9d1f7e2b3a4c5d6e7f8091\""),
    ),
    responses(
        (status = 204, description = "Removed"),
        AuthProblems, NotificationTargetProblems, PreconditionProblems, ConfigUnwritableProblem,
    )
)]
#[delete("/notification-targets/{name}")]
pub async fn delete_notification_target(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let if_match = if_match(&req).map(str::to_string);
    web::block(move || state.delete_target(&name, if_match.as_deref()))
        .await
        .map_err(ApiError::internal)??;
    Ok(HttpResponse::NoContent().finish())
}

/// Send a test notification
///
/// Sends a `test` event to target `{name}` now, once (no retry), and answers with the outcome
/// within the target's `timeout_seconds`: `ok`, the HTTP status (webhook, ping) or the SMTP
/// reply (email), the latency, and the error when it failed. A refused or failed send is
/// still a 200: the outcome says what happened. Recorded as a delivery. Admin.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Target name", example = "ops-webhook")),
    responses(
        (status = 200, description = "What the target answered", body = TestOutcome,
            example = json!(super::examples::test_outcome())),
        AuthProblems, NotificationTargetProblems,
    )
)]
#[post("/notification-targets/{name}/test")]
pub async fn test_notification_target(
    _: Admin,
    notifier: web::Data<Notifier>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    match notifier.test_send(&name).await {
        Some(outcome) => Ok(HttpResponse::Ok().json(outcome)),
        None => Err(ApiError::coded(
            Code::NotificationTargetNotFound,
            format!("no notification target named {:?}", name.as_str()),
        )),
    }
}
