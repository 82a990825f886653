//! `/api/v1/schedule/log`: what became of each scheduled instant (started, skipped because a
//! job ran, missed while the server was down).

use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{LogQueryProblems, TokenProblems};
use crate::auth::Viewer;
use crate::error::ApiError;
use crate::schedule::{ScheduleLogEntry, Scheduler};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(get_schedule_log);
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogParams {
    /// How many entries, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// The schedule log
///
/// What became of each scheduled instant, newest first: its trigger (`schedule`, or
/// `catch_up` at start-up for a day the server was down) and outcome: `started` (with the
/// backup ID), `skipped` (a backup or restore was running; never queued or retried) or
/// `missed` (the server was down and `catch_up` is off). Changes nothing; any role.
#[utoipa::path(
    tag = "settings",
    security(("bearer" = [])),
    params(LogParams),
    responses(
        (status = 200, description = "Log entries, newest first", body = Vec<ScheduleLogEntry>,
            example = json!(super::examples::schedule_log())),
        TokenProblems, LogQueryProblems,
    )
)]
#[get("/schedule/log")]
pub async fn get_schedule_log(
    _: Viewer,
    scheduler: web::Data<Scheduler>,
    q: web::Query<LogParams>,
) -> Result<HttpResponse, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::field("limit", "must be between 1 and 200"));
    }
    Ok(HttpResponse::Ok().json(scheduler.log(limit as usize)))
}
