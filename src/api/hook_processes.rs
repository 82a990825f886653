//! `/api/v1/hook-processes`: post-backup processes, test runs, their live output, termination.

use actix_web::{delete, get, http::header, post, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::streams::StreamLimits;
use super::{
    AuthProblems, BodyProblems, JobId, NotFoundProblem, QueryProblems, TooManySubscribersProblem,
    ValidJson,
};
use crate::auth::{Admin, Viewer};
use crate::error::{ApiError, Code};
use crate::hooks::{HookError, HookManager, HookName, HookProcess, HookStatus, OutputEvent};
use crate::jobs::Engine;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_hook_processes)
        .service(start_hook_test)
        .service(get_hook_process)
        .service(delete_hook_process)
        .service(get_hook_output);
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Also list recently finished processes (default: only running ones).
    pub all: Option<bool>,
}

/// `POST /hook-processes`: which configured command to run as a test.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HookTest {
    /// `on_success` or `on_failure`.
    pub hook: HookName,
}

/// The `data` of an output stream's `line` event.
#[derive(Serialize, ToSchema)]
pub struct OutputLine {
    /// Line number, from 1; also the event's `id:`.
    pub n: u64,
    /// The line, without its newline (invalid UTF-8 replaced; lines over 64 KiB split).
    pub text: String,
}

/// The `data` of an output stream's `exit` event: how the process ended.
#[derive(Serialize, ToSchema)]
pub struct OutputExit {
    /// Always `exit`.
    #[schema(value_type = String, pattern = "^exit$", example = "exit")]
    pub event: &'static str,
    pub status: HookStatus,
    /// The exit code, when the process exited.
    pub exit_code: Option<i32>,
    /// The signal that ended it, when one did.
    pub signal: Option<i32>,
}

/// One event of `/hook-processes/{id}/output` (the schema of each item of the stream).
pub struct HookOutputMessage;

impl utoipa::PartialSchema for HookOutputMessage {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        super::sse_one_of(
            "A server-sent event: `event: line` (with `id:`, the line number) or the last one, `event: exit`",
            vec![
                super::sse_event("An output line", &["line"], "OutputLine", true),
                super::sse_event("How the process ended; the last event", &["exit"], "OutputExit", false),
            ],
        )
    }
}

impl ToSchema for HookOutputMessage {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        use utoipa::PartialSchema;
        schemas.push((OutputLine::name().into(), OutputLine::schema()));
        schemas.push((OutputExit::name().into(), OutputExit::schema()));
        <OutputExit as ToSchema>::schemas(schemas);
    }
}

fn hook_error(e: HookError) -> ApiError {
    match e {
        HookError::EmptyCommand { .. } => ApiError::field("hook", e.to_string()),
        HookError::BadCommand { .. } => ApiError::field("hook", e.to_string()),
        HookError::WorkFolderMissing { .. } => {
            ApiError::coded(Code::WorkFolderMissing, e.to_string())
        }
        HookError::NotFound { .. } => ApiError::coded(Code::HookProcessNotFound, e.to_string()),
        HookError::NotRunning { .. } => ApiError::coded(Code::HookNotRunning, e.to_string()),
        other => ApiError::internal(other),
    }
}

fn check_hook_id(id: &str) -> Result<(), ApiError> {
    super::backups::check_id(id, "id")
}

/// Hook processes: running ones, or with `all=true` also recently finished ones; newest first.
#[utoipa::path(
    tag = "hook-processes",
    security(("bearer" = [])),
    params(ListParams),
    responses((status = 200, description = "The processes", body = Vec<HookProcess>), AuthProblems, QueryProblems)
)]
#[get("/hook-processes")]
pub async fn list_hook_processes(
    _: Viewer,
    hooks: web::Data<HookManager>,
    q: web::Query<ListParams>,
) -> HttpResponse {
    HttpResponse::Ok().json(hooks.list(q.all.unwrap_or(false)))
}

/// Runs the configured `on_success` or `on_failure` command now, as a test (admin). Same rules
/// as after a backup, with `BACKUP_RESULT=test` and the latest backup's ID, report and folders.
#[utoipa::path(
    tag = "hook-processes",
    security(("bearer" = [])),
    request_body = HookTest,
    responses(
        (status = 202, description = "Started (or failed to start: see status and error)", body = HookProcess,
            headers(("Location" = String, description = "The process's URL"))),
        AuthProblems, BodyProblems,
        (status = 409, description = "The work folder does not exist", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/hook-processes")]
pub async fn start_hook_test(
    _: Admin,
    hooks: web::Data<HookManager>,
    engine: web::Data<Engine>,
    body: ValidJson<HookTest>,
) -> Result<HttpResponse, ApiError> {
    let ctx = crate::app::latest_context(&engine);
    let p = hooks.run_test(body.0.hook, ctx).map_err(hook_error)?;
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, format!("/api/v1/hook-processes/{}", p.id)))
        .json(p))
}

/// One hook process.
#[utoipa::path(
    tag = "hook-processes",
    security(("bearer" = [])),
    params(("id" = JobId, Path, description = "Process ID", example = "20261126T020004.512Z-1a2b3c4d")),
    responses((status = 200, description = "The process", body = HookProcess), AuthProblems, NotFoundProblem, QueryProblems)
)]
#[get("/hook-processes/{id}")]
pub async fn get_hook_process(
    _: Viewer,
    hooks: web::Data<HookManager>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_hook_id(&id)?;
    let p = hooks
        .get(&id)
        .ok_or_else(|| ApiError::coded(Code::HookProcessNotFound, format!("no hook process {id}")))?;
    Ok(HttpResponse::Ok().json(p))
}

/// Terminates a running process and its whole process group (admin): SIGTERM, then SIGKILL
/// after a grace period. Answers once the group is gone.
#[utoipa::path(
    tag = "hook-processes",
    security(("bearer" = [])),
    params(("id" = JobId, Path, description = "Process ID", example = "20261126T020004.512Z-1a2b3c4d")),
    responses(
        (status = 200, description = "Terminated", body = HookProcess),
        AuthProblems, NotFoundProblem, QueryProblems,
        (status = 409, description = "Not running", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/hook-processes/{id}")]
pub async fn delete_hook_process(
    _: Admin,
    hooks: web::Data<HookManager>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_hook_id(&id)?;
    let hooks = hooks.into_inner();
    let id = id.into_inner();
    let p = web::block(move || hooks.terminate(&id))
        .await
        .map_err(ApiError::internal)?
        .map_err(hook_error)?;
    Ok(HttpResponse::Ok().json(p))
}

/// The process's output as server-sent events from line 1 (or after `Last-Event-ID`), live:
/// `event: line` with `id: <n>` and data `{"n":..,"text":..}`, then one `event: exit` with
/// `{"status":..,"exit_code":..,"signal":..}`. Works the same for a finished process. A client
/// that leaves its buffered output (128 KiB) untaken for 10 s is dropped: the stream ends
/// without `exit`, and the client resumes with `Last-Event-ID`. At most
/// `max_stream_subscribers` clients follow one process (429 past it).
#[utoipa::path(
    tag = "hook-processes",
    security(("bearer" = [])),
    params(
        ("id" = JobId, Path, description = "Process ID", example = "20261126T020004.512Z-1a2b3c4d"),
        ("Last-Event-ID" = Option<i64>, Header, nullable = false, minimum = 0,
            description = "Resume after this line number"),
    ),
    responses(
        (status = 200, description = "The output stream", body = HookOutputMessage, content_type = "text/event-stream"),
        AuthProblems, NotFoundProblem, QueryProblems, TooManySubscribersProblem,
    )
)]
#[get("/hook-processes/{id}/output")]
pub async fn get_hook_output(
    _: Viewer,
    req: HttpRequest,
    hooks: web::Data<HookManager>,
    limits: web::Data<StreamLimits>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_hook_id(&id)?;
    let after = match req.headers().get("Last-Event-ID") {
        None => 0,
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| ApiError::field("Last-Event-ID", "must be a line number"))?,
    };
    if hooks.get(&id).is_none() {
        return Err(ApiError::coded(Code::HookProcessNotFound, format!("no hook process {id}")));
    }
    // Held by the subscriber's task: freed once nothing more will be sent to this client.
    let slot = limits.join(req.path())?;
    let stream = hooks
        .output_holding(&id, after, Box::new(slot))
        .ok_or_else(|| ApiError::coded(Code::HookProcessNotFound, format!("no hook process {id}")))?;
    let body = stream.map(|ev| {
        let text = match ev {
            OutputEvent::Line { n, text } => {
                let data = serde_json::to_string(&OutputLine { n, text }).unwrap_or_default();
                format!("id: {n}\nevent: line\ndata: {data}\n\n")
            }
            OutputEvent::Exit {
                status,
                exit_code,
                signal,
            } => {
                let exit = OutputExit {
                    event: "exit",
                    status,
                    exit_code,
                    signal,
                };
                let data = serde_json::to_string(&exit).unwrap_or_default();
                format!("event: exit\ndata: {data}\n\n")
            }
        };
        Ok::<_, std::convert::Infallible>(web::Bytes::from(text))
    });
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}
