//! `/api/v1/restores`: start a restore (or a dry run), list restores, read one. Handlers only;
//! `crate::restore` does the work.
//!
//! `POST /restores` checks, plans and verifies synchronously, so a refused restore is a 4xx
//! problem and nothing on disk changed: 422 for the request (`backup_id`, `components[i]`,
//! `source_folders.<name>`, an incomplete or failed set, folders that do not verify, naming the
//! files), 404 for an unknown set, 409 while a backup or restore runs (`running_id`) or when a
//! home cannot be worked on. A restore answers 202 with its record (status `running`, the
//! plan) and `Location`; a dry run answers 200 with its final record (status `planned`), also
//! kept and readable at its `Location`.

use actix_web::{get, http::header, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::backups::check_id;
use super::{AuthProblems, BodyProblems, JobId, NotFoundProblem, QueryProblems, ValidJson};
use crate::auth::{Admin, Viewer};
use crate::error::{ApiError, Code, FieldError};
use crate::restore::record::is_restore_id;
use crate::restore::{
    ListQuery, Refusal, RestoreRecord, RestoreRequest, RestoreStatus, Restorer, StartError,
};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(start_restore)
        .service(list_restores)
        .service(get_restore);
}

/// A page of restores, newest first.
#[derive(Serialize, ToSchema)]
pub struct RestoreList {
    pub items: Vec<RestoreRecord>,
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
    /// The `next_cursor` of the previous page: restores older than this ID.
    #[param(value_type = Option<JobId>)]
    pub cursor: Option<String>,
    /// Only restores with this status.
    pub status: Option<RestoreStatus>,
}

fn start_error(e: StartError) -> ApiError {
    match e {
        StartError::Invalid(fields) => ApiError::validation(
            fields
                .into_iter()
                .map(|(f, m)| FieldError::new(f, m))
                .collect(),
        ),
        StartError::UnknownSet(id) => {
            ApiError::coded(Code::SetNotFound, format!("no backup set {id} on disk"))
        }
        StartError::Refused { why, fields } => ApiError::validation(
            fields
                .into_iter()
                .map(|(f, m)| FieldError::new(f, m))
                .collect(),
        )
        .with_code(match why {
            Refusal::SetIncomplete => Code::SetIncomplete,
            Refusal::SetFailed => Code::SetFailed,
            Refusal::SetNotVerified => Code::SetNotVerified,
            Refusal::AgentRefused => Code::AgentRefused,
        }),
        StartError::Busy { kind, id } => ApiError::busy(kind.as_str(), &id),
        StartError::Conflict(m) => ApiError::coded(Code::HomeNotRestorable, m),
        StartError::AgentUnreachable(m) => ApiError::coded(Code::AgentUnreachable, m),
        StartError::Io(m) => ApiError::new(crate::error::ProblemKind::Unavailable, m),
    }
}

fn check_restore_id(id: &str) -> Result<(), ApiError> {
    check_id(id, "id")?;
    if is_restore_id(id) {
        Ok(())
    } else {
        Err(ApiError::coded(Code::RestoreNotFound, format!("no restore {id}")))
    }
}

/// Restores a backup set (admin): checks the set is known, complete and successful for the
/// chosen components, makes the plan, verifies exactly the folders to restore, then applies
/// the plan in the background. Every item about to be replaced is first moved to
/// `<home>/.pre-restore-<restore id>/`; any failure puts every component back. `dry_run`
/// only plans and verifies.
#[utoipa::path(
    tag = "restores",
    security(("bearer" = [])),
    request_body = RestoreRequest,
    responses(
        (status = 202, description = "Started: the record with its plan (status `running`)", body = RestoreRecord,
            headers(("Location" = String, description = "The restore's URL"))),
        (status = 200, description = "Dry run: the plan (status `planned`); nothing changed", body = RestoreRecord,
            headers(("Location" = String, description = "The restore's URL"))),
        AuthProblems, BodyProblems,
        (status = 404, description = "No backup set with this ID on disk", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A backup or restore is running (`running_id` names it), or a home is in a state no restore can work on", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The restore could not be recorded (state folder not writable)", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/restores")]
pub async fn start_restore(
    _: Admin,
    restorer: web::Data<Restorer>,
    body: ValidJson<RestoreRequest>,
) -> Result<HttpResponse, ApiError> {
    let restorer = restorer.into_inner();
    let req = body.0;
    let record = web::block(move || restorer.start(req))
        .await
        .map_err(ApiError::internal)?
        .map_err(start_error)?;
    let location = format!("/api/v1/restores/{}", record.id);
    let mut resp = if record.dry_run {
        HttpResponse::Ok()
    } else {
        HttpResponse::Accepted()
    };
    Ok(resp
        .insert_header((header::LOCATION, location))
        .json(record))
}

/// Restores, newest first, paged with `cursor`.
#[utoipa::path(
    tag = "restores",
    security(("bearer" = [])),
    params(ListParams),
    responses((status = 200, description = "A page of restores", body = RestoreList), AuthProblems, QueryProblems)
)]
#[get("/restores")]
pub async fn list_restores(
    _: Viewer,
    restorer: web::Data<Restorer>,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::field("limit", "must be between 1 and 500"));
    }
    if let Some(c) = &q.cursor {
        check_id(c, "cursor")?;
    }
    let (items, next_cursor) = restorer.list(&ListQuery {
        limit: limit as usize,
        cursor: q.cursor,
        status: q.status,
    });
    Ok(HttpResponse::Ok().json(RestoreList { items, next_cursor }))
}

/// One restore: the backup set ID used, the plan per component, the steps with their times,
/// every path changed, the status and errors.
#[utoipa::path(
    tag = "restores",
    security(("bearer" = [])),
    params(("id" = JobId, Path, description = "Restore ID", example = "R20261126T101500Z")),
    responses((status = 200, description = "The restore", body = RestoreRecord), AuthProblems, NotFoundProblem, QueryProblems)
)]
#[get("/restores/{id}")]
pub async fn get_restore(
    _: Viewer,
    restorer: web::Data<Restorer>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_restore_id(&id)?;
    restorer
        .get(&id)
        .map(|r| HttpResponse::Ok().json(r))
        .ok_or_else(|| ApiError::coded(Code::RestoreNotFound, format!("no restore {id}")))
}
