//! `/api/v1/backups`: start, list, read, cancel, report and live events of backups, and
//! `/api/v1/components/{name}/history`.

use std::collections::VecDeque;
use std::time::Duration;

use actix_web::{delete, get, http::header, post, web, HttpResponse};
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;
use utoipa::{IntoParams, PartialSchema, ToSchema};

use super::streams::{self, StreamLimits};
use super::{
    AuthProblems, BackupIdProblems, CancelConflict, ComponentProblems, DiscardConflict, JobId,
    OperatorAuthProblems, PageQueryProblems, ReportProblems, StartBackupConflict, TokenProblems,
    TooManySubscribersProblem,
};
use crate::auth::{Admin, Operator, Viewer};
use crate::engine::record::{BackupEvent, BackupRecord, BackupStatus, Trigger};
use crate::engine::slots::SlotInfo;
use crate::error::{ApiError, Code, ProblemKind};
use crate::jobs::EngineError;
use crate::jobs::{BackupJobs, CancelError, DiscardError, ListQuery, StartError};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(start_backup)
        .service(list_backups)
        .service(get_backup)
        .service(get_backup_report)
        .service(get_backup_events)
        .service(cancel_backup)
        .service(discard_kept_staging)
        .service(get_component_history);
}

/// A page of backups, newest first.
#[derive(Serialize, ToSchema)]
pub struct BackupList {
    pub items: Vec<BackupRecord>,
    /// Pass as `cursor` to get the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page: backups older than this ID.
    #[param(value_type = Option<JobId>)]
    pub cursor: Option<String>,
    /// Only backups with this status.
    pub status: Option<BackupStatus>,
}

/// A backup ID as the README defines it: `[0-9A-Za-z._-]`, no `..`. Anything else is refused before it
/// can reach a file name. The OpenAPI document states the same rule as [`JobId`].
/// The query of a job listing (`GET /backups`, `GET /restores`): `limit` 1 to 500 (default
/// 50), a `cursor` that is an ID, a `status`.
pub(crate) fn list_query<S>(
    limit: Option<u32>,
    cursor: Option<String>,
    status: Option<S>,
) -> Result<ListQuery<S>, ApiError> {
    let limit = limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::field("limit", "must be between 1 and 500"));
    }
    if let Some(c) = &cursor {
        check_id(c, "cursor")?;
    }
    Ok(ListQuery {
        limit: limit as usize,
        cursor,
        status,
    })
}

pub(crate) fn check_id(id: &str, field: &str) -> Result<(), ApiError> {
    let ok = !id.is_empty()
        && id.len() <= super::JOB_ID_MAX_LEN
        && !id.starts_with('.')
        && !id.contains("..")
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::field(
            field,
            format!("{id:?} is not a backup ID: only 0-9 A-Z a-z . _ - and no '..'"),
        ))
    }
}

fn record_or_404(engine: &BackupJobs, id: &str) -> Result<BackupRecord, ApiError> {
    check_id(id, "id")?;
    engine
        .get_backup(id)
        .ok_or_else(|| ApiError::coded(Code::BackupNotFound, format!("no backup {id}")))
}

fn start_error(e: StartError) -> ApiError {
    match e {
        StartError::Busy { kind, id } => ApiError::busy(kind.as_str(), &id),
        StartError::NoComponents => {
            ApiError::coded(Code::NoComponents, "no components are configured")
        }
        e @ StartError::StagingKept { .. } => {
            ApiError::new(ProblemKind::StagingKept, e.to_string())
        }
        e @ StartError::RestorePending { .. } => {
            ApiError::new(ProblemKind::RestorePending, e.to_string())
        }
        other => ApiError::internal(other),
    }
}

/// Start a backup
///
/// Starts a backup of every component now (operator) and answers at once, 202 with the record
/// (status `running`) and its `Location`. The backup copies each component into a staging
/// folder beside its backup folder, then, only if every component prepared, rotates the slots
/// of all of them; a failure anywhere changes no slot. It runs for seconds to hours: follow it
/// with `GET /backups/{id}/events` or poll `GET /backups/{id}` until `status` is not `running`;
/// the post-backup hook starts when it ends. 409 when it cannot start: another job runs
/// (`job_running`, `running_id` names it), a backup keeps staging folders for an operator
/// (`staging_kept`), a restored component has not started since its restore
/// (`restore_pending`), or no component is configured (`no_components`).
#[utoipa::path(
    tag = "backups",
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Started; the record", body = BackupRecord,
            headers(("Location" = String, description = "The backup's URL")),
            example = json!(super::examples::backup_running())),
        OperatorAuthProblems, StartBackupConflict,
    )
)]
#[post("/backups")]
pub async fn start_backup(
    _: Operator,
    engine: web::Data<BackupJobs>,
) -> Result<HttpResponse, ApiError> {
    let record = engine
        .start_backup_async(Trigger::Manual, None)
        .await
        .map_err(start_error)?;
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, format!("/api/v1/backups/{}", record.id)))
        .json(record))
}

/// List backups
///
/// Backups, newest first, `limit` per page (default 50); pass `next_cursor` as `cursor` for
/// the next page, and `status` to see only backups that ended so (`failed`, `interrupted`, ...).
/// Changes nothing; any role.
#[utoipa::path(
    tag = "backups",
    security(("bearer" = [])),
    params(ListParams),
    responses(
        (status = 200, description = "A page of backups", body = BackupList,
            example = json!(super::examples::backup_list())),
        TokenProblems, PageQueryProblems,
    )
)]
#[get("/backups")]
pub async fn list_backups(
    _: Viewer,
    engine: web::Data<BackupJobs>,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let page = engine.list_backups(&list_query(q.limit, q.cursor, q.status)?);
    Ok(HttpResponse::Ok().json(BackupList {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

/// One backup
///
/// A backup's record: status (`running`, then `succeeded`, `failed`, `cancelled` or
/// `interrupted`), trigger, times, and per component its progress (files and bytes copied and
/// linked), folder and errors. Poll it to follow a running backup. Changes nothing; any role.
#[utoipa::path(
    tag = "backups",
    security(("bearer" = [])),
    params(("id" = JobId, Path, description = "Backup ID", example = "20261126T020000Z")),
    responses(
        (status = 200, description = "The backup", body = BackupRecord,
            example = json!(super::examples::backup_succeeded())),
        TokenProblems, BackupIdProblems,
    )
)]
#[get("/backups/{id}")]
pub async fn get_backup(
    _: Viewer,
    engine: web::Data<BackupJobs>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(record_or_404(&engine, &id)?))
}

/// A backup's report
///
/// The report file (`backupReport_<ID>.txt`) as text: per component its folder, status,
/// counts, duration and errors, then the overall result. Written when the backup ends: 409
/// (`report_not_ready`) while it runs; 404 (`report_not_found`) if the file was removed.
/// Changes nothing; any role.
#[utoipa::path(
    tag = "backups",
    security(("bearer" = [])),
    params(("id" = JobId, Path, description = "Backup ID", example = "20261126T020000Z")),
    responses(
        (status = 200, description = "The report", body = String, content_type = "text/plain",
            example = json!(super::examples::REPORT)),
        TokenProblems, ReportProblems,
    )
)]
#[get("/backups/{id}/report")]
pub async fn get_backup_report(
    _: Viewer,
    engine: web::Data<BackupJobs>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let record = record_or_404(&engine, &id)?;
    let engine = engine.into_inner();
    let report_id = record.id.clone();
    let text = web::block(move || engine.read_report(&report_id))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    match text {
        Some(t) => Ok(HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(t)),
        None if !record.status.is_final() => Err(ApiError::coded(
            Code::ReportNotReady,
            format!("backup {id} is still running: its report is written when it ends"),
        )),
        None => Err(ApiError::coded(
            Code::ReportNotFound,
            format!("the report of backup {id} is missing"),
        )),
    }
}

/// Follow a backup (server-sent events)
///
/// A `text/event-stream` of the backup's progress. Event types:
///
/// - `progress`: `data` is a `BackupEvent` of type `progress`, one component's status and
///   counters; first one per component with its current state, then one at each step.
/// - `end`: `data` is a `BackupEvent` of type `end` with the final status; the last event.
///
/// A finished backup answers with its final state and `end` at once. A client that falls
/// behind gets the current state instead of every step; one that leaves its buffered events
/// (64 KiB) untaken for 10 s is dropped (its stream ends; reconnecting starts from the current
/// state, so `Last-Event-ID` is not used here). Comments (`: keep-alive`) are sent every 15 s.
/// At most `max_stream_subscribers` clients follow one backup: 429
/// (`too_many_subscribers`) past it. Any role. A stream:
///
/// ```text
/// event: progress
/// data: {"type":"progress","name":"hub","status":"preparing","files":3,"files_copied":1,"files_linked":2,"bytes_copied":2048,"bytes_linked":1044480}
///
/// event: progress
/// data: {"type":"progress","name":"hub","status":"committed","files":4,"files_copied":2,"files_linked":2,"bytes_copied":4096,"bytes_linked":1044480}
///
/// event: end
/// data: {"type":"end","status":"succeeded"}
/// ```
#[utoipa::path(
    tag = "backups",
    security(("bearer" = [])),
    params(("id" = JobId, Path, description = "Backup ID", example = "20261126T020000Z")),
    responses(
        (status = 200, description = "`event: progress` ... `event: end`; each `data` is a BackupEvent as JSON",
            body = BackupEventMessage, content_type = "text/event-stream",
            example = json!(super::examples::backup_event())),
        TokenProblems, BackupIdProblems, TooManySubscribersProblem,
    )
)]
#[get("/backups/{id}/events")]
pub async fn get_backup_events(
    _: Viewer,
    engine: web::Data<BackupJobs>,
    limits: web::Data<StreamLimits>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_id(&id, "id")?;
    let (snapshot, rx) = engine
        .subscribe(&id)
        .ok_or_else(|| ApiError::coded(Code::BackupNotFound, format!("no backup {id}")))?;
    let slot = limits.join(&format!("/api/v1/backups/{id}/events"))?;
    let mut pending = VecDeque::new();
    let done = push_snapshot(&mut pending, &snapshot);
    let state = EventState {
        engine: engine.into_inner(),
        id: id.into_inner(),
        rx,
        pending,
        done,
    };
    let events = futures_util::stream::unfold(state, next_event)
        .map(|r| r.unwrap_or_else(|never| match never {}));
    let stream = streams::relay(events, slot, streams::STALL);
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(stream))
}

/// One event of `/backups/{id}/events` (the schema of each item of the stream).
pub struct BackupEventMessage;

impl utoipa::PartialSchema for BackupEventMessage {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        super::sse_event(
            "A server-sent event: `event: progress` or `event: end`, `data:` a BackupEvent",
            &["progress", "end"],
            "BackupEvent",
            false,
        )
        .into()
    }
}

impl ToSchema for BackupEventMessage {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        schemas.push((BackupEvent::name().into(), BackupEvent::schema()));
        <BackupEvent as ToSchema>::schemas(schemas);
    }
}

struct EventState {
    engine: std::sync::Arc<BackupJobs>,
    id: String,
    rx: tokio::sync::broadcast::Receiver<BackupEvent>,
    pending: VecDeque<web::Bytes>,
    done: bool,
}

fn sse(event: &BackupEvent) -> web::Bytes {
    let name = match event {
        BackupEvent::End { .. } => "end",
        _ => "progress",
    };
    let data = serde_json::to_string(event).unwrap_or_default();
    web::Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

/// Queues one progress event per component, and `end` if the backup is over. True when over.
fn push_snapshot(pending: &mut VecDeque<web::Bytes>, r: &BackupRecord) -> bool {
    for c in &r.components {
        pending.push_back(sse(&BackupEvent::progress_of(c)));
    }
    if r.status.is_final() {
        pending.push_back(sse(&BackupEvent::End { status: r.status }));
        true
    } else {
        false
    }
}

async fn next_event(
    mut st: EventState,
) -> Option<(Result<web::Bytes, std::convert::Infallible>, EventState)> {
    loop {
        if let Some(b) = st.pending.pop_front() {
            return Some((Ok(b), st));
        }
        if st.done {
            return None;
        }
        match tokio::time::timeout(Duration::from_secs(15), st.rx.recv()).await {
            Err(_) => st
                .pending
                .push_back(web::Bytes::from_static(b": keep-alive\n\n")),
            Ok(Ok(ev)) => {
                st.done = matches!(ev, BackupEvent::End { .. });
                st.pending.push_back(sse(&ev));
            }
            // Fell behind: the record has the truth; progress events carry whole state.
            Ok(Err(RecvError::Lagged(_))) => match st.engine.get_backup(&st.id) {
                Some(r) => st.done = push_snapshot(&mut st.pending, &r),
                None => st.done = true,
            },
            // The runner dropped its sender: send the final state, then stop.
            Ok(Err(RecvError::Closed)) => {
                if let Some(r) = st.engine.get_backup(&st.id) {
                    push_snapshot(&mut st.pending, &r);
                }
                st.done = true;
            }
        }
    }
}

/// Cancel a backup
///
/// Asks a running backup to stop (operator) and answers at once, 202 with the record as it is
/// now. The backup stops between files and ends `cancelled` within seconds: no slot of any
/// component is rotated, and the failure hook runs. Poll
/// `GET /backups/{id}` until `status` is not `running`. 409 (`backup_not_running`) when it has
/// already ended.
#[utoipa::path(
    tag = "backups",
    security(("bearer" = [])),
    params(("id" = JobId, Path, description = "Backup ID", example = "20261126T020000Z")),
    responses(
        (status = 202, description = "Cancellation requested; the backup as it is now", body = BackupRecord,
            example = json!(super::examples::backup_running())),
        OperatorAuthProblems, BackupIdProblems, CancelConflict,
    )
)]
#[post("/backups/{id}/cancel")]
pub async fn cancel_backup(
    _: Operator,
    engine: web::Data<BackupJobs>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_id(&id, "id")?;
    match engine.cancel_backup(&id) {
        Ok(r) => Ok(HttpResponse::Accepted().json(r)),
        Err(CancelError::NotFound) => Err(ApiError::coded(
            Code::BackupNotFound,
            format!("no backup {id}"),
        )),
        Err(CancelError::NotRunning { status }) => Err(ApiError::coded(
            Code::BackupNotRunning,
            format!("backup {id} is not running: it is {}", status.as_str()),
        )),
    }
}

/// Discard a backup's kept staging folders
///
/// Removes the staging folders a backup keeps for an operator (admin). After a commit that
/// could not be completed, each is the only copy of that component's backup, so nothing else
/// removes them and no backup starts while they wait (`staging_kept`); copy out what you need
/// first. Each folder is checked right before it is removed (the backup's staging name beside
/// its backup folder; its `readme.txt` names this backup). Answers when done, with the record
/// and a note. 409: the backup keeps none (`nothing_kept`), or a folder at a kept name is not
/// provably the product's and is left alone (`staging_not_ours`).
#[utoipa::path(
    tag = "backups",
    security(("bearer" = [])),
    params(("id" = JobId, Path, description = "Backup ID", example = "20261125T020000Z")),
    responses(
        (status = 200, description = "Discarded; the backup's record", body = BackupRecord,
            example = json!(super::examples::backup_discarded())),
        AuthProblems, BackupIdProblems, DiscardConflict,
    )
)]
#[delete("/backups/{id}/staging")]
pub async fn discard_kept_staging(
    _: Admin,
    engine: web::Data<BackupJobs>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_id(&id, "id")?;
    let engine = engine.into_inner();
    let id = id.into_inner();
    let result = web::block(move || engine.discard_kept_stagings(&id))
        .await
        .map_err(ApiError::internal)?;
    match result {
        Ok(r) => Ok(HttpResponse::Ok().json(r)),
        Err(DiscardError::NotFound) => Err(ApiError::coded(Code::BackupNotFound, "no such backup")),
        Err(e @ DiscardError::NothingKept(_)) => {
            Err(ApiError::coded(Code::NothingKept, e.to_string()))
        }
        Err(e @ DiscardError::NotOurs(_)) => {
            Err(ApiError::coded(Code::StagingNotOurs, e.to_string()))
        }
        Err(DiscardError::Io(e)) => Err(ApiError::internal(e)),
        Err(DiscardError::Journal(e)) => Err(ApiError::internal(e)),
    }
}

/// A component's history
///
/// The component's history slots as they are on disk now, newest first: `backup`, `backup1`,
/// ... with each slot's backup ID, result and times from its `readme.txt` (for a component on
/// an agent, asked from the agent). Changes nothing; any role.
#[utoipa::path(
    tag = "components",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Component name", example = "lui")),
    responses(
        (status = 200, description = "The slots, newest first", body = Vec<SlotInfo>,
            example = json!(super::examples::history())),
        TokenProblems, ComponentProblems,
    )
)]
#[get("/components/{name}/history")]
pub async fn get_component_history(
    _: Viewer,
    engine: web::Data<BackupJobs>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let engine = engine.into_inner();
    let n = name.into_inner();
    let n2 = n.clone();
    let slots = web::block(move || engine.history(&n2))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| {
            let not_found = ApiError::not_found(format!("no history for component {n:?}: {e}"));
            match e {
                EngineError::UnknownComponent(_) => not_found.with_code(Code::ComponentNotFound),
                _ => not_found,
            }
        })?;
    Ok(HttpResponse::Ok().json(slots))
}
