//! `/api/v1/notifications/deliveries`: every notification sent or being sent, newest first,
//! by target and status (admin).

use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::backups::list_query;
use super::{AuthProblems, DeliveryQueryProblems, JobId};
use crate::auth::Admin;
use crate::error::ApiError;
use crate::notify::{DeliveryPage, DeliveryStatus, Notifier};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_deliveries);
}

/// The query of `GET /notifications/deliveries`.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryParams {
    /// Only this target's deliveries.
    #[param(example = "ops-webhook", pattern = "^[a-z0-9_-]{1,32}$")]
    pub target: Option<String>,
    /// Only deliveries with this status.
    pub status: Option<DeliveryStatus>,
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page: deliveries older than this ID.
    #[param(value_type = Option<JobId>)]
    pub cursor: Option<String>,
}

/// The notification deliveries
///
/// Each event sent to each target whose matcher took it, newest first: `pending` (waiting
/// for its next attempt: a 5xx, timeout or connection error is retried with backoff for 24
/// hours), `delivered`, or `failed` (refused with a 4xx or a permanent SMTP reply, or still
/// failing after 24 hours), with its attempts, the last HTTP status or SMTP reply and error,
/// and the event. The newest 1000 are kept, also across restarts. Admin.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    params(DeliveryParams),
    responses(
        (status = 200, description = "A page of deliveries", body = DeliveryPage,
            example = json!(super::examples::deliveries())),
        AuthProblems, DeliveryQueryProblems,
    )
)]
#[get("/notifications/deliveries")]
pub async fn list_deliveries(
    _: Admin,
    notifier: web::Data<Notifier>,
    q: web::Query<DeliveryParams>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    if let Some(t) = &q.target {
        if !crate::config::valid_name(t) {
            return Err(ApiError::field(
                "target",
                format!("{t:?} is not a target name: 1 to 32 of a-z, 0-9, '_' and '-'"),
            ));
        }
    }
    let page = list_query(q.limit, q.cursor, q.status)?;
    Ok(HttpResponse::Ok().json(notifier.deliveries(
        q.target.as_deref(),
        page.status,
        page.cursor.as_deref(),
        page.limit,
    )))
}
