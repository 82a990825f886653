//! `/api/v1/hook-processes`: post-backup processes, test runs, their live output, termination.

use actix_web::{delete, get, http::header, post, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::streams::StreamLimits;
use super::{
    AuthProblems, BodyProblems, HookIdProblems, HookListQueryProblems, HookNotRunningProblem,
    HookTestProblems, JobId, TokenProblems, TooManySubscribersProblem, ValidJson,
};
use crate::auth::{Admin, Viewer};
use crate::error::{ApiError, Code};
use crate::hooks::{HookError, HookManager, HookName, HookProcess, HookStatus, OutputEvent};
use crate::jobs::BackupJobs;

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

/// List hook processes
///
/// The post-backup processes (`on_success` after a successful backup, `on_failure` after any
/// other) and test runs that are still running, newest first; with `all=true` also recently
/// finished ones, with their exit code or signal. Changes nothing; any role.
#[utoipa::path(
    tag = "hook-processes",
    security(("bearer" = [])),
    params(ListParams),
    responses(
        (status = 200, description = "The processes, newest first", body = Vec<HookProcess>,
            example = json!(super::examples::hook_list())),
        TokenProblems, HookListQueryProblems,
    )
)]
#[get("/hook-processes")]
pub async fn list_hook_processes(
    _: Viewer,
    hooks: web::Data<HookManager>,
    q: web::Query<ListParams>,
) -> HttpResponse {
    HttpResponse::Ok().json(hooks.list(q.all.unwrap_or(false)))
}

/// Run a hook as a test
///
/// Runs the configured `on_success` or `on_failure` command now, as a test (admin), with the
/// same rules as after a backup (its own process group, `work_folder`, `timeout_seconds`, the
/// `BACKUP_*` variables) and `BACKUP_RESULT=test` with the latest backup's ID, report and
/// folders. Answers at once, 202 with the process (status `running`, or `failed_to_start` with
/// `error`); follow its output with `GET /hook-processes/{id}/output`. 422
/// (`validation_failed`) when that hook's command is empty or cannot be split into arguments;
/// 409 (`work_folder_missing`) when the work folder does not exist.
#[utoipa::path(
    tag = "hook-processes",
    security(("bearer" = [])),
    request_body(content = HookTest, example = json!({"hook": "on_success"})),
    responses(
        (status = 202, description = "Started (or failed to start: see `status` and `error`)", body = HookProcess,
            headers(("Location" = String, description = "The process's URL")),
            example = json!(super::examples::hook_test_started())),
        AuthProblems, BodyProblems, HookTestProblems,
    )
)]
#[post("/hook-processes")]
pub async fn start_hook_test(
    _: Admin,
    hooks: web::Data<HookManager>,
    engine: web::Data<BackupJobs>,
    body: ValidJson<HookTest>,
) -> Result<HttpResponse, ApiError> {
    let ctx = crate::jobs::latest_context(&engine);
    let p = hooks.run_test(body.0.hook, ctx).map_err(hook_error)?;
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, format!("/api/v1/hook-processes/{}", p.id)))
        .json(p))
}

/// One hook process
///
/// A hook process: kind, command, backup, times, PID, status and, once it ended, its exit
/// code or signal and the number of output lines. Poll it to see when a process ends.
/// Changes nothing; any role.
#[utoipa::path(
    tag = "hook-processes",
    security(("bearer" = [])),
    params(("id" = JobId, Path, description = "Process ID", example = "20261126T020004.512Z-1a2b3c4d")),
    responses(
        (status = 200, description = "The process", body = HookProcess,
            example = json!(super::examples::hook_process_exited())),
        TokenProblems, HookIdProblems,
    )
)]
#[get("/hook-processes/{id}")]
pub async fn get_hook_process(
    _: Viewer,
    hooks: web::Data<HookManager>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_hook_id(&id)?;
    let p = hooks.get(&id).ok_or_else(|| {
        ApiError::coded(Code::HookProcessNotFound, format!("no hook process {id}"))
    })?;
    Ok(HttpResponse::Ok().json(p))
}

/// Terminate a hook process
///
/// Terminates a running process and its whole process group (admin): SIGTERM, then SIGKILL
/// after a grace period. Answers once the group is gone (a few seconds at most), with the
/// process (status `killed`). 409 (`hook_not_running`) when it has already ended.
#[utoipa::path(
    tag = "hook-processes",
    security(("bearer" = [])),
    params(("id" = JobId, Path, description = "Process ID", example = "20261126T020004.512Z-1a2b3c4d")),
    responses(
        (status = 200, description = "Terminated", body = HookProcess,
            example = json!(super::examples::hook_killed())),
        AuthProblems, HookIdProblems, HookNotRunningProblem,
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

/// Follow a hook's output (server-sent events)
///
/// A `text/event-stream` of the process's output (stdout and stderr, interleaved, line by
/// line), from line 1 or after `Last-Event-ID`, then live. Event types:
///
/// - `line`: `id` is the line number, `data` an `OutputLine` (`{"n":..,"text":..}`).
/// - `exit`: the last event, `data` an `OutputExit` (`status`, `exit_code`, `signal`).
///
/// Works the same for a finished process (the whole output, then `exit`). To resume after a
/// dropped connection send `Last-Event-ID` with the last line number received: the stream goes
/// on after it, each line once. A client that leaves its buffered output (128 KiB) untaken for
/// 10 s is dropped: the stream ends without `exit`, and the client resumes with
/// `Last-Event-ID`. At most `max_stream_subscribers` clients follow one process: 429
/// (`too_many_subscribers`) past it. Any role. A stream:
///
/// ```text
/// id: 1
/// event: line
/// data: {"n":1,"text":"copying 20261126T020000Z to tape"}
///
/// id: 2
/// event: line
/// data: {"n":2,"text":"done: 3 folders, 61865984 bytes"}
///
/// event: exit
/// data: {"event":"exit","status":"exited","exit_code":0,"signal":null}
/// ```
#[utoipa::path(
    tag = "hook-processes",
    security(("bearer" = [])),
    params(
        ("id" = JobId, Path, description = "Process ID", example = "20261126T020004.512Z-1a2b3c4d"),
        ("Last-Event-ID" = Option<i64>, Header, nullable = false, minimum = 0,
            description = "Resume after this line number (the `id` of the last `line` event received)",
            example = 2),
    ),
    responses(
        (status = 200, description = "The output stream: `event: line` ... then `event: exit`",
            body = HookOutputMessage, content_type = "text/event-stream",
            example = json!(super::examples::hook_output_event())),
        TokenProblems, HookIdProblems, TooManySubscribersProblem,
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
        return Err(ApiError::coded(
            Code::HookProcessNotFound,
            format!("no hook process {id}"),
        ));
    }
    // Held by the subscriber's task: freed once nothing more will be sent to this client.
    let slot = limits.join(req.path())?;
    let stream = hooks
        .output_holding(&id, after, Box::new(slot))
        .ok_or_else(|| {
            ApiError::coded(Code::HookProcessNotFound, format!("no hook process {id}"))
        })?;
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
