//! `/api/v1/drills`: start a restore drill, list drills, read one, follow one (server-sent
//! events). Handlers only; `crate::jobs::drill` runs drills, `crate::drill` does the work.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use actix_web::{get, http::header, post, web, HttpResponse};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;
use utoipa::openapi::{response::Response, RefOr};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use super::backups::{check_id, list_query};
use super::streams::{self, StreamLimits};
use super::{
    BodyProblems, JobId, OperatorAuthProblems, PageQueryProblems, TokenProblems,
    TooManySubscribersProblem, ValidJson,
};
use crate::auth::{Operator, Viewer};
use crate::drill::{DrillEvent, DrillRecord, DrillStatus, DrillTrigger};
use crate::error::{ApiError, Code, FieldError, ProblemKind};
use crate::jobs::drill::{CancelError, DrillRefused, DrillRequest, Drills, DRILL_ID};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(start_drill)
        .service(list_drills)
        .service(get_drill)
        .service(get_drill_events)
        .service(cancel_drill);
}

/// A page of drills, newest first.
#[derive(Serialize, ToSchema)]
pub struct DrillList {
    pub items: Vec<DrillRecord>,
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
    /// The `next_cursor` of the previous page: drills older than this ID.
    #[param(value_type = Option<JobId>)]
    pub cursor: Option<String>,
    /// Only drills with this status.
    pub status: Option<DrillStatus>,
}

fn p(description: &str, examples: &[ApiError]) -> RefOr<Response> {
    super::problems::problem_response(description, examples)
}

/// The 404, 409, 422 and 503 of `POST /drills`.
pub struct DrillStartProblems;

impl utoipa::IntoResponses for DrillStartProblems {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([
            (
                "404".to_string(),
                p(
                    "No backup set with this ID on disk, or (no `backup_id`) no successful complete set at all (`set_not_found`)",
                    &[ApiError::coded(
                        Code::SetNotFound,
                        "no backup set 20261126T020000Z on disk",
                    )],
                ),
            ),
            (
                "409".to_string(),
                p(
                    "A backup, restore or drill runs (`job_running`, `running_id` names it)",
                    &[ApiError::busy("backup", "20261201T020000Z")],
                ),
            ),
            (
                "422".to_string(),
                p(
                    "The request is refused; `errors` names each field: an unknown component, a set without a usable folder of a component, a drill root that overlaps a home, an item, a backup area or the state folder (`validation_failed`)",
                    &[ApiError::validation(vec![FieldError::new(
                        "components[0]",
                        "set 20261201T020000Z has no usable folder of component trk (missing, failed or not readable)",
                    )])],
                ),
            ),
            (
                "503".to_string(),
                p(
                    "The drill could not be recorded (state folder not writable) (`unavailable`)",
                    &[ApiError::new(
                        ProblemKind::Unavailable,
                        "could not record the drill: No space left on device (os error 28)",
                    )],
                ),
            ),
        ])
    }
}

/// The 404 and 422 of `/drills/{id}` routes.
pub struct DrillIdProblems;

impl utoipa::IntoResponses for DrillIdProblems {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([
            (
                "404".to_string(),
                p(
                    "No drill with this ID (`drill_not_found`)",
                    &[ApiError::coded(
                        Code::DrillNotFound,
                        "no drill D20261201T040000Z",
                    )],
                ),
            ),
            (
                "422".to_string(),
                p(
                    "The ID is not an ID (`validation_failed`)",
                    &[ApiError::field(
                        "id",
                        "\"..\" is not a backup ID: only 0-9 A-Z a-z . _ - and no '..'",
                    )],
                ),
            ),
        ])
    }
}

fn start_error(e: DrillRefused) -> ApiError {
    match e {
        DrillRefused::Invalid(fields) => ApiError::validation(
            fields
                .into_iter()
                .map(|(f, m)| FieldError::new(f, m))
                .collect(),
        ),
        DrillRefused::UnknownSet(id) => {
            ApiError::coded(Code::SetNotFound, format!("no backup set {id} on disk"))
        }
        DrillRefused::NoSet(m) => ApiError::coded(Code::SetNotFound, m),
        DrillRefused::Busy { kind, id } => ApiError::busy(kind.as_str(), &id),
        DrillRefused::Io(m) => ApiError::new(ProblemKind::Unavailable, m),
    }
}

fn check_drill_id(id: &str) -> Result<(), ApiError> {
    check_id(id, "id")?;
    if DRILL_ID.parse(id).is_some() {
        Ok(())
    } else {
        Err(not_found(id))
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::coded(Code::DrillNotFound, format!("no drill {id}"))
}

/// Start a restore drill
///
/// Proves a backup set restores (operator): every chosen component is restored into a scratch
/// folder `<drill_root>/<drill ID>/<component>` exactly as a restore would restore it (the same
/// plan and per-profile rules; the homes, slots and imports are never changed), every restored
/// file is hashed against the set's `SHA256SUMS`, and the component's `drill_probe_command`
/// runs with `DRILL_HOME`, `BACKUP_ID` and `COMPONENT` set (exit 0 passes). The scratch is
/// removed at the end unless `keep_scratch`. Default set: the newest successful complete one;
/// default components: every configured one; a remote component is drilled on its agent's
/// machine, under the agent's drill root, and its probe runs there only when the agent's
/// config says `run_commands = true` for it. Answers
/// 202 with the record (`running`) and `Location`; poll `GET /drills/{id}` or follow
/// `/drills/{id}/events` until `status` is `passed` or `failed`. A drill never runs beside a
/// backup, a restore or another drill (409).
#[utoipa::path(
    tag = "drills",
    security(("bearer" = [])),
    request_body(content = DrillRequest, example = json!({"backup_id": "20261201T020000Z", "components": ["lui"], "keep_scratch": false})),
    responses(
        (status = 202, description = "Started: the record (status `running`)", body = DrillRecord,
            headers(("Location" = String, description = "The drill's URL")),
            example = json!(drill_example(DrillStatus::Running))),
        OperatorAuthProblems, BodyProblems, DrillStartProblems,
    )
)]
#[post("/drills")]
pub async fn start_drill(
    _: Operator,
    drills: web::Data<Drills>,
    body: ValidJson<DrillRequest>,
) -> Result<HttpResponse, ApiError> {
    if let Some(id) = &body.0.backup_id {
        check_id(id, "backup_id")?;
    }
    let record = drills
        .start_async(body.0, DrillTrigger::Manual, None)
        .await
        .map_err(start_error)?;
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, format!("/api/v1/drills/{}", record.id)))
        .json(record))
}

/// List restore drills
///
/// Drills, newest first, `limit` per page (default 50); pass `next_cursor` as `cursor` for the
/// next page, `status` to see only drills that ended so. Changes nothing; any role.
#[utoipa::path(
    tag = "drills",
    security(("bearer" = [])),
    params(ListParams),
    responses(
        (status = 200, description = "A page of drills", body = DrillList,
            example = json!({"items": [drill_example(DrillStatus::Passed)], "next_cursor": null})),
        TokenProblems, PageQueryProblems,
    )
)]
#[get("/drills")]
pub async fn list_drills(
    _: Viewer,
    drills: web::Data<Drills>,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let (items, next_cursor) = drills.list(&list_query(q.limit, q.cursor, q.status)?);
    Ok(HttpResponse::Ok().json(DrillList { items, next_cursor }))
}

/// One restore drill
///
/// A drill's record: the set drilled, per component `passed`/`failed`/`skipped` with the files
/// and bytes restored, every mismatched or missing file by its path in the set's folder, the
/// probe's exit code and output, the RTO (seconds from the drill's start to a verified
/// restore) per component and for the set, and the RPO (the set's age when the drill started).
/// Changes nothing; any role.
#[utoipa::path(
    tag = "drills",
    security(("bearer" = [])),
    params(("id" = JobId, Path, description = "Drill ID", example = "D20261201T040000Z")),
    responses(
        (status = 200, description = "The drill", body = DrillRecord,
            example = json!(drill_example(DrillStatus::Passed))),
        TokenProblems, DrillIdProblems,
    )
)]
#[get("/drills/{id}")]
pub async fn get_drill(
    _: Viewer,
    drills: web::Data<Drills>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_drill_id(&id)?;
    drills
        .get(&id)
        .map(|r| HttpResponse::Ok().json(r))
        .ok_or_else(|| not_found(&id))
}

/// Follow a restore drill (server-sent events)
///
/// A `text/event-stream` of the drill: `component` events (a component's result so far, at
/// each change), `probe_output` events (a line of a probe's output, as the probe prints it),
/// and `end` with the final status, the last event. A finished drill answers with its
/// components and `end` at once (its probes' output is in each component's `probe`).
/// At most `max_stream_subscribers` clients follow one drill: 429 past it. Any role.
#[utoipa::path(
    tag = "drills",
    security(("bearer" = [])),
    params(("id" = JobId, Path, description = "Drill ID", example = "D20261201T040000Z")),
    responses(
        (status = 200, description = "`event: component` ... `event: end`; each `data` is a DrillEvent as JSON",
            body = DrillEventMessage, content_type = "text/event-stream",
            example = json!({"event": "end", "data": "{\"type\":\"end\",\"status\":\"passed\"}"})),
        TokenProblems, DrillIdProblems, TooManySubscribersProblem,
    )
)]
#[get("/drills/{id}/events")]
pub async fn get_drill_events(
    _: Viewer,
    drills: web::Data<Drills>,
    limits: web::Data<StreamLimits>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_drill_id(&id)?;
    let (snapshot, rx) = drills.subscribe(&id).ok_or_else(|| not_found(&id))?;
    let slot = limits.join(&format!("/api/v1/drills/{id}/events"))?;
    let mut pending = VecDeque::new();
    let done = push_snapshot(&mut pending, &snapshot) || rx.is_none();
    let state = EventState {
        drills: drills.into_inner(),
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

/// The 409 of `POST /drills/{id}/cancel`.
pub struct DrillCancelProblems;

impl utoipa::IntoResponses for DrillCancelProblems {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([(
            "409".to_string(),
            p(
                "The drill has ended (`drill_not_running`)",
                &[ApiError::coded(
                    Code::DrillNotRunning,
                    "drill D20261201T040000Z is not running: it is passed",
                )],
            ),
        )])
    }
}

/// Cancel a restore drill
///
/// Asks a running drill to stop (operator) and answers at once, 202 with the record as it is
/// now. No further component is restored and no further probe is started; a probe that runs
/// is killed with its process group (on an agent too); a component being restored finishes
/// first. Its scratch is removed as at any end (unless
/// `keep_scratch`), and it ends `cancelled`; poll `GET /drills/{id}`. 409 (`drill_not_running`)
/// once it has ended.
#[utoipa::path(
    tag = "drills",
    security(("bearer" = [])),
    params(("id" = JobId, Path, description = "Drill ID", example = "D20261201T040000Z")),
    responses(
        (status = 202, description = "Asked to stop: the record as it is now", body = DrillRecord,
            example = json!(drill_example(DrillStatus::Running))),
        OperatorAuthProblems, DrillIdProblems, DrillCancelProblems,
    )
)]
#[post("/drills/{id}/cancel")]
pub async fn cancel_drill(
    _: Operator,
    drills: web::Data<Drills>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_drill_id(&id)?;
    match drills.cancel(&id) {
        Ok(r) => Ok(HttpResponse::Accepted().json(r)),
        Err(CancelError::NotFound(id)) => Err(not_found(&id)),
        Err(e @ CancelError::NotRunning { .. }) => {
            Err(ApiError::coded(Code::DrillNotRunning, e.to_string()))
        }
    }
}

/// One event of `/drills/{id}/events` (the schema of each item of the stream).
pub struct DrillEventMessage;

impl PartialSchema for DrillEventMessage {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        super::sse_event(
            "A server-sent event: `event: component`, `probe_output` or `end`, `data:` a DrillEvent",
            &["component", "probe_output", "end"],
            "DrillEvent",
            false,
        )
        .into()
    }
}

impl ToSchema for DrillEventMessage {
    fn schemas(schemas: &mut Vec<(String, RefOr<utoipa::openapi::schema::Schema>)>) {
        schemas.push((DrillEvent::name().into(), DrillEvent::schema()));
        <DrillEvent as ToSchema>::schemas(schemas);
    }
}

struct EventState {
    drills: std::sync::Arc<Drills>,
    id: String,
    rx: Option<tokio::sync::broadcast::Receiver<DrillEvent>>,
    pending: VecDeque<web::Bytes>,
    done: bool,
}

fn sse(event: &DrillEvent) -> web::Bytes {
    let name = match event {
        DrillEvent::Component { .. } => "component",
        DrillEvent::ProbeOutput { .. } => "probe_output",
        DrillEvent::End { .. } => "end",
    };
    let data = serde_json::to_string(event).unwrap_or_default();
    web::Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

/// Queues one component event per component, and `end` if the drill is over. True when over.
fn push_snapshot(pending: &mut VecDeque<web::Bytes>, r: &DrillRecord) -> bool {
    for c in &r.components {
        pending.push_back(sse(&DrillEvent::Component {
            component: Box::new(c.clone()),
        }));
    }
    if r.status.is_final() {
        pending.push_back(sse(&DrillEvent::End { status: r.status }));
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
        let rx = st.rx.as_mut()?;
        match tokio::time::timeout(Duration::from_secs(15), rx.recv()).await {
            Err(_) => st
                .pending
                .push_back(web::Bytes::from_static(b": keep-alive\n\n")),
            Ok(Ok(ev)) => {
                st.done = matches!(ev, DrillEvent::End { .. });
                st.pending.push_back(sse(&ev));
            }
            // Fell behind: the record has the truth; component events carry whole state.
            Ok(Err(RecvError::Lagged(_))) => match st.drills.get(&st.id) {
                Some(r) => st.done = push_snapshot(&mut st.pending, &r),
                None => st.done = true,
            },
            Ok(Err(RecvError::Closed)) => {
                if let Some(r) = st.drills.get(&st.id) {
                    push_snapshot(&mut st.pending, &r);
                }
                st.done = true;
            }
        }
    }
}

/// The example record of the documentation.
fn drill_example(status: DrillStatus) -> serde_json::Value {
    let passed = status == DrillStatus::Passed;
    serde_json::json!({
        "id": "D20261201T040000Z",
        "backup_id": "20261201T020000Z",
        "status": status,
        "trigger": "manual",
        "keep_scratch": false,
        "started_at": "2026-12-01T04:00:00Z",
        "finished_at": if passed { serde_json::json!("2026-12-01T04:00:31Z") } else { serde_json::Value::Null },
        "set_started_at": "2026-12-01T02:00:00Z",
        "rpo_seconds": 7200.0,
        "rto_seconds": if passed { serde_json::json!(31.2) } else { serde_json::Value::Null },
        "components": [{
            "name": "lui",
            "status": if passed { "passed" } else { "restoring" },
            "source_folder": "/srv/maestro/lui/backup",
            "scratch_home": "/srv/maestro/lui/drills/D20261201T040000Z/lui",
            "files": 1204,
            "bytes": 73400320,
            "files_checked": if passed { 1204 } else { 0 },
            "mismatched": [],
            "missing": [],
            "errors": [],
            "rto_seconds": if passed { serde_json::json!(31.2) } else { serde_json::Value::Null },
        }],
        "scratch": [{
            "path": "/srv/maestro/lui/drills/D20261201T040000Z",
            "device": 2049,
            "inode": 131074,
            "removed": passed,
        }],
        "errors": [],
        "notes": [],
    })
}
