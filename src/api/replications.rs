//! `/api/v1/replications`: the records of replication jobs (listed, read, followed over
//! server-sent events) and their cancel. Handlers only; the jobs are
//! `crate::jobs::replication`'s.

use std::time::Duration;

use actix_web::{get, http::header, post, web, HttpResponse};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::backups::{check_id, list_query};
use super::replication_targets::replication_example;
use super::streams::{self, StreamLimits};
use super::{
    JobId, OperatorAuthProblems, PageQueryProblems, ReplicationCancelConflict,
    ReplicationIdProblems, TokenProblems, TooManySubscribersProblem,
};
use crate::auth::{Operator, Viewer};
use crate::error::{ApiError, Code};
use crate::jobs::replication::{
    ReplicationCancelError, ReplicationRecord, ReplicationStatus, Replications,
};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_replications)
        .service(get_replication)
        .service(get_replication_events)
        .service(cancel_replication);
}

/// A page of replications, newest first.
#[derive(Serialize, ToSchema)]
pub struct ReplicationList {
    pub items: Vec<ReplicationRecord>,
    /// Pass as `cursor` to get the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReplicationListParams {
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page: replications older than this ID.
    #[param(value_type = Option<JobId>)]
    pub cursor: Option<String>,
    /// Only replications with this status.
    pub status: Option<ReplicationStatus>,
}

/// A stream as the events route sends it: the record running, then at its end.
fn events_example() -> String {
    format!(
        "event: progress\ndata: {}\n\nevent: end\ndata: {}\n\n",
        replication_example("running"),
        replication_example("succeeded")
    )
}

fn not_found(id: &str) -> ApiError {
    ApiError::coded(Code::ReplicationNotFound, format!("no replication {id}"))
}

/// List replications
///
/// Replications, newest first, `limit` per page (default 50); pass `next_cursor` as `cursor`
/// for the next page, `status` to see only those that ended so. Any role.
#[utoipa::path(
    tag = "replication",
    security(("bearer" = [])),
    params(ReplicationListParams),
    responses(
        (status = 200, description = "A page of replications", body = ReplicationList,
            example = json!({"items": [replication_example("succeeded")], "next_cursor": null})),
        TokenProblems, PageQueryProblems,
    )
)]
#[get("/replications")]
pub async fn list_replications(
    _: Viewer,
    replications: web::Data<Replications>,
    q: web::Query<ReplicationListParams>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let (items, next_cursor) = replications.list(&list_query(q.limit, q.cursor, q.status)?);
    Ok(HttpResponse::Ok().json(ReplicationList { items, next_cursor }))
}

/// One replication
///
/// A replication's record: target, set, status (`running`, then `succeeded`, `failed`,
/// `cancelled` or `interrupted`), the blobs and bytes of the set, those uploaded and those
/// already on the bucket (skipped), and the error naming the target when it failed. Any role.
#[utoipa::path(
    tag = "replication",
    security(("bearer" = [])),
    params(("id" = JobId, Path, description = "Replication ID", example = "C20261126T020500Z")),
    responses(
        (status = 200, description = "The replication", body = ReplicationRecord,
            example = json!(replication_example("succeeded"))),
        TokenProblems, ReplicationIdProblems,
    )
)]
#[get("/replications/{id}")]
pub async fn get_replication(
    _: Viewer,
    replications: web::Data<Replications>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_id(&id, "id")?;
    let rec = replications.get(&id).ok_or_else(|| not_found(&id))?;
    Ok(HttpResponse::Ok().json(rec))
}

/// Cancel a replication
///
/// Asks a running replication to stop (operator) and answers at once, 202 with the record as
/// it is now. It stops between chunks and ends `cancelled`; the blobs it uploaded stay (the
/// next run skips them) and no manifest is written, so the set does not exist remotely. 409
/// (`replication_not_running`) when it has ended.
#[utoipa::path(
    tag = "replication",
    security(("bearer" = [])),
    params(("id" = JobId, Path, description = "Replication ID", example = "C20261126T020500Z")),
    responses(
        (status = 202, description = "Asked to stop; the record", body = ReplicationRecord,
            example = json!(replication_example("running"))),
        OperatorAuthProblems, ReplicationIdProblems, ReplicationCancelConflict,
    )
)]
#[post("/replications/{id}/cancel")]
pub async fn cancel_replication(
    _: Operator,
    replications: web::Data<Replications>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_id(&id, "id")?;
    match replications.cancel(&id) {
        Ok(rec) => Ok(HttpResponse::Accepted().json(rec)),
        Err(ReplicationCancelError::NotFound(id)) => Err(not_found(&id)),
        Err(e @ ReplicationCancelError::NotRunning(_)) => {
            Err(ApiError::coded(Code::ReplicationNotRunning, e.to_string()))
        }
    }
}

/// Follow a replication (server-sent events)
///
/// A `text/event-stream` of the replication's record: `event: progress` with the record as
/// `data` when the stream opens and whenever its counters change (at most four times a
/// second), then `event: end` with the final record. A finished replication answers with its
/// final record and `end` at once. Comments (`: keep-alive`) are sent every 15 s. At most
/// `max_stream_subscribers` clients follow one replication: 429 past it. Any role.
#[utoipa::path(
    tag = "replication",
    security(("bearer" = [])),
    params(("id" = JobId, Path, description = "Replication ID", example = "C20261126T020500Z")),
    responses(
        (status = 200, description = "`event: progress` ... `event: end`; each `data` is a ReplicationRecord as JSON",
            body = String, content_type = "text/event-stream",
            example = json!(events_example())),
        TokenProblems, ReplicationIdProblems, TooManySubscribersProblem,
    )
)]
#[get("/replications/{id}/events")]
pub async fn get_replication_events(
    _: Viewer,
    replications: web::Data<Replications>,
    limits: web::Data<StreamLimits>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_id(&id, "id")?;
    let rx = replications.subscribe(&id).ok_or_else(|| not_found(&id))?;
    let slot = limits.join(&format!("/api/v1/replications/{id}/events"))?;
    let events =
        futures_util::stream::unfold((rx, false, true), |(mut rx, done, first)| async move {
            if done {
                return None;
            }
            let mut closed = false;
            if !first {
                match tokio::time::timeout(Duration::from_secs(15), rx.changed()).await {
                    Err(_) => {
                        return Some((
                            web::Bytes::from_static(b": keep-alive\n\n"),
                            (rx, false, false),
                        ))
                    }
                    // The job ended and dropped its sender: its last value is the final record.
                    Ok(Err(_)) => closed = true,
                    Ok(Ok(())) => {}
                }
            }
            let rec = rx.borrow_and_update().clone();
            let end = rec.status.is_final() || closed;
            let name = if end { "end" } else { "progress" };
            let data = serde_json::to_string(&rec).unwrap_or_default();
            Some((
                web::Bytes::from(format!("event: {name}\ndata: {data}\n\n")),
                (rx, end, false),
            ))
        })
        .boxed_local();
    let stream = streams::relay(events, slot, streams::STALL);
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(stream))
}
