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

use std::collections::BTreeMap;

use actix_web::{delete, get, http::header, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::backups::{check_id, list_query};
use super::{
    AuthProblems, BodyProblems, JobId, PageQueryProblems, RestoreIdProblems, RestoreProblems,
    TokenProblems, ValidJson,
};
use crate::auth::{Admin, Viewer};
use crate::error::{ApiError, Code, FieldError};
use crate::jobs::restore::{Restorer, UndoError};
use crate::restore::record::is_restore_id;
use crate::restore::undo::UndoRefusal;
use crate::restore::{Refusal, RestoreRecord, RestoreRefused, RestoreRequest, RestoreStatus};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(start_restore)
        .service(list_restores)
        .service(get_restore)
        .service(undo_restore)
        .service(delete_safety_copy);
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

fn start_error(e: RestoreRefused) -> ApiError {
    match e {
        RestoreRefused::Invalid(fields) => ApiError::validation(
            fields
                .into_iter()
                .map(|(f, m)| FieldError::new(f, m))
                .collect(),
        ),
        RestoreRefused::UnknownSet(id) => {
            ApiError::coded(Code::SetNotFound, format!("no backup set {id} on disk"))
        }
        RestoreRefused::Refused { why, fields } => ApiError::validation(
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
        RestoreRefused::Busy { kind, id } => ApiError::busy(kind.as_str(), &id),
        RestoreRefused::Conflict(m) => ApiError::coded(Code::HomeNotRestorable, m),
        RestoreRefused::AgentUnreachable(m) => ApiError::coded(Code::AgentUnreachable, m),
        RestoreRefused::Io(m) => ApiError::new(crate::error::ProblemKind::Unavailable, m),
    }
}

/// `from_target`: the set downloaded from that replication target into the state dir, as
/// `source_folders` for the usual restore. Refused (nothing changed) when the request also gives
/// `source_folders`, the target is unknown or the set is not on its bucket.
async fn download_from_target(
    replications: &web::Data<crate::jobs::replication::Replications>,
    req: &RestoreRequest,
    target: &str,
) -> Result<crate::jobs::replication::Downloaded, ApiError> {
    use crate::jobs::replication::DownloadError;
    check_id(&req.backup_id, "backup_id")?;
    if req.source_folders.is_some() {
        return Err(ApiError::field(
            "source_folders",
            "give either from_target or source_folders, not both",
        ));
    }
    if !crate::config::valid_name(target) {
        return Err(ApiError::field(
            "from_target",
            format!("{target:?} is not a target name: 1 to 32 of a-z, 0-9, '_' and '-'"),
        ));
    }
    let (me, name, id, components) = (
        replications.clone().into_inner(),
        target.to_string(),
        req.backup_id.clone(),
        req.components.clone(),
    );
    let got = web::block(move || me.download_for_restore(&name, &id, components.as_deref()))
        .await
        .map_err(ApiError::internal)?;
    got.map_err(|e| match e {
        DownloadError::TargetNotFound(_) => ApiError::field("from_target", e.to_string()),
        DownloadError::NotOnTarget { .. } => ApiError::coded(Code::SetNotFound, e.to_string()),
        DownloadError::Busy { kind, id } => ApiError::busy(kind.as_str(), &id),
        DownloadError::Store(e) => ApiError::coded(Code::ReplicationTargetFailed, e.to_string()),
        DownloadError::Agent {
            unreachable: true,
            message,
        } => ApiError::coded(Code::AgentUnreachable, message),
        DownloadError::Agent { message, .. } => {
            ApiError::coded(Code::ReplicationTargetFailed, message)
        }
        DownloadError::Io(m) => ApiError::new(crate::error::ProblemKind::Unavailable, m),
    })
}

fn check_restore_id(id: &str) -> Result<(), ApiError> {
    check_id(id, "id")?;
    if is_restore_id(id) {
        Ok(())
    } else {
        Err(ApiError::coded(
            Code::RestoreNotFound,
            format!("no restore {id}"),
        ))
    }
}

/// Restore a backup set (or plan one)
///
/// Restores a backup set into the components' homes (admin). Checked before anything changes,
/// while the request waits (a few seconds to minutes: the folders to restore are verified
/// byte for byte): the set is on disk (404 `set_not_found`), has a folder for every component
/// to restore (422 `set_incomplete`), their backups succeeded (422 `set_failed`), the folders
/// verify against their `SHA256SUMS` (422 `set_not_verified`), every request field is valid
/// (422 `validation_failed`), no backup or restore runs (409 `job_running`), every home can be
/// worked on (409 `home_not_restorable`) and every agent answers (409 `agent_unreachable`, 422
/// `agent_refused`). A refused restore changes nothing.
///
/// `dry_run: true` stops there and answers 200 with the plan (status `planned`): every path
/// that would be moved aside, copied and edited; nothing changes. Otherwise the restore
/// answers 202 with the record (status `running`, the plan) and runs in the background:
/// every item about to be replaced is first moved to `<home>/.pre-restore-<restore id>/`, then
/// the backup is copied out (never moved or linked); any failure puts every component back.
/// Poll `GET /restores/{id}` until `status` is not `running`. `components` restores only some
/// components; `source_folders` takes a component's folder from an external medium instead of
/// its slots; `from_target` takes the whole set from a replication target's bucket (downloaded
/// into the state dir and checked hash by hash before anything else: it works with no local
/// backup left; 404 `set_not_found` when the set is not on the bucket, 409
/// `replication_target_failed` when the bucket cannot be read). Backups wait while a restore
/// runs.
#[utoipa::path(
    tag = "restores",
    security(("bearer" = [])),
    request_body(content = RestoreRequest, examples(
        ("restore" = (summary = "Restore two components from the set's slots",
            value = json!(super::examples::restore_request()))),
        ("dry_run" = (summary = "Plan the restore of one component from a folder on tape",
            value = json!(super::examples::restore_dry_run_request()))),
    )),
    responses(
        (status = 202, description = "Started: the record with its plan (status `running`)", body = RestoreRecord,
            headers(("Location" = String, description = "The restore's URL")),
            example = json!(super::examples::restore_running())),
        (status = 200, description = "Dry run: the plan (status `planned`); nothing changed", body = RestoreRecord,
            headers(("Location" = String, description = "The restore's URL")),
            example = json!(super::examples::restore_planned())),
        AuthProblems, BodyProblems, RestoreProblems,
    )
)]
#[post("/restores")]
pub async fn start_restore(
    _: Admin,
    restorer: web::Data<Restorer>,
    replications: web::Data<crate::jobs::replication::Replications>,
    body: ValidJson<RestoreRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut req = body.0;
    if let Some(target) = req.from_target.clone() {
        let got = download_from_target(&replications, &req, &target).await?;
        req.source_folders = Some(got.local);
        req.agent_downloads = got.on_agents;
    }
    let record = restorer.start_async(req).await.map_err(start_error)?;
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

/// List restores
///
/// Restores and dry runs, newest first, `limit` per page (default 50); pass `next_cursor` as
/// `cursor` for the next page, `status` to see only restores that ended so. Changes nothing;
/// any role.
#[utoipa::path(
    tag = "restores",
    security(("bearer" = [])),
    params(ListParams),
    responses(
        (status = 200, description = "A page of restores", body = RestoreList,
            example = json!(super::examples::restore_list())),
        TokenProblems, PageQueryProblems,
    )
)]
#[get("/restores")]
pub async fn list_restores(
    _: Viewer,
    restorer: web::Data<Restorer>,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let (items, next_cursor) = restorer.list(&list_query(q.limit, q.cursor, q.status)?);
    Ok(HttpResponse::Ok().json(RestoreList { items, next_cursor }))
}

/// One restore
///
/// A restore's record: the backup set ID used, the verification and plan per component, every
/// step with its time, every path changed, the status (`running`, then `succeeded`, `failed`
/// (every component put back), `interrupted`, or `unhealthy` (a component did not become
/// healthy after the restore started it; `lifecycle` says how each was stopped, started and
/// checked); `planned` for a dry run) and errors. Poll it to follow a restore.
/// Changes nothing; any role.
#[utoipa::path(
    tag = "restores",
    security(("bearer" = [])),
    params(("id" = JobId, Path, description = "Restore ID", example = "R20261126T101500Z")),
    responses(
        (status = 200, description = "The restore", body = RestoreRecord, examples(
            ("succeeded" = (summary = "A restore that succeeded (it can be undone)",
                value = json!(super::examples::restore_succeeded()))),
            ("unhealthy" = (summary = "A component did not become healthy after the restore started it",
                value = json!(super::examples::restore_unhealthy()))),
        )),
        TokenProblems, RestoreIdProblems,
    )
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

fn undo_error(e: UndoError) -> ApiError {
    match e {
        UndoError::NotFound(id) => {
            ApiError::coded(Code::RestoreNotFound, format!("no restore {id}"))
        }
        UndoError::Busy { kind, id } => ApiError::busy(kind.as_str(), &id),
        UndoError::Refused(b) => ApiError::coded(
            match b.why {
                UndoRefusal::NotUndoable => Code::UndoUnavailable,
                UndoRefusal::Superseded => Code::RestoreSuperseded,
                UndoRefusal::SafetyCopyGone => Code::SafetyCopyGone,
                UndoRefusal::Home => Code::HomeNotRestorable,
            },
            b.message,
        ),
        UndoError::NotOurs(m) => ApiError::conflict(m),
        UndoError::Io(m) => ApiError::new(crate::error::ProblemKind::Unavailable, m),
    }
}

/// The 409 and 503 of `POST /restores/{id}/undo` and `DELETE /restores/{id}/safety-copy`.
pub struct UndoProblems;

impl utoipa::IntoResponses for UndoProblems {
    fn responses() -> BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::response::Response>>
    {
        let p = super::problems::problem_response;
        BTreeMap::from([
            (
                "409".to_string(),
                p(
                    "A backup or restore runs (`job_running`); the restore cannot be undone: a \
                     dry run or not succeeded (`undo_unavailable`), a \
                     later restore or undo changed a component (`restore_superseded`), its \
                     safety copy was discarded or changed (`safety_copy_gone`); a home is in a \
                     state no restore can work on (`home_not_restorable`); a folder at the \
                     safety folder's name is not the restore's (`conflict`)",
                    &[
                        ApiError::busy("restore", "R20261126T111500Z"),
                        ApiError::coded(
                            Code::UndoUnavailable,
                            "only a succeeded restore (or an unhealthy one that was not rolled back) can be undone; this one is failed",
                        ),
                        ApiError::coded(
                            Code::RestoreSuperseded,
                            "the later restore R20261127T090000Z changed component lui",
                        ),
                        ApiError::coded(
                            Code::SafetyCopyGone,
                            "the safety copy of component lui was discarded at \
                             2026-11-27T09:00:00+00:00: deleted by the operator",
                        ),
                    ],
                ),
            ),
            (
                "503".to_string(),
                p(
                    "The undo could not be recorded (state folder not writable) (`unavailable`)",
                    &[ApiError::new(
                        crate::error::ProblemKind::Unavailable,
                        "could not record the undo: No space left on device (os error 28)",
                    )],
                ),
            ),
        ])
    }
}

/// Undo a restore
///
/// Puts every component of a succeeded restore back exactly as it was before it (admin):
/// content, modes, modification times, symbolic links and empty folders, copied back from the
/// restore's kept safety folders. The undo is a restore job of its own (202 + `Location`, poll
/// `GET /restores/{id}` of the undo): its record has `undo_of` naming the restore undone; it
/// moves what the restore put into the homes into its own safety folder first, and any failure
/// (or a crash) puts everything back. Once it succeeded, the undone restore's safety copies are
/// discarded, and the undo itself can be undone. Refused (409, nothing changed) while a job
/// runs, for a dry run, a restore that did not succeed, once a later restore or undo changed
/// one of its components, or when its safety copy was discarded. A remote component is undone
/// by its agent, from the safety folder it kept on its own machine.
#[utoipa::path(
    tag = "restores",
    security(("bearer" = [])),
    params(("id" = JobId, Path, description = "The restore to undo", example = "R20261126T101500Z")),
    responses(
        (status = 202, description = "Started: the undo's record (status `running`, `undo_of`)", body = RestoreRecord,
            headers(("Location" = String, description = "The undo's URL")),
            example = json!(super::examples::restore_undo_running())),
        AuthProblems, RestoreIdProblems, UndoProblems,
    )
)]
#[post("/restores/{id}/undo")]
pub async fn undo_restore(
    _: Admin,
    restorer: web::Data<Restorer>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_restore_id(&id)?;
    let record = restorer
        .undo_async(id.into_inner())
        .await
        .map_err(undo_error)?;
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, format!("/api/v1/restores/{}", record.id)))
        .json(record))
}

/// Discard a restore's safety copy
///
/// Deletes the safety folders a succeeded restore kept (admin), each only after checking it is
/// the folder the restore's record names (a remote component's by its agent, against its own
/// record); the disk space is freed and the restore can no
/// longer be undone. Answers the restore's record (`undo_available` false,
/// `safety_copy_bytes` 0). Refused (409) while a job runs or when it keeps no safety copy
/// (`safety_copy_gone`).
#[utoipa::path(
    tag = "restores",
    security(("bearer" = [])),
    params(("id" = JobId, Path, description = "Restore ID", example = "R20261126T101500Z")),
    responses(
        (status = 200, description = "Discarded: the restore's record", body = RestoreRecord,
            example = json!(super::examples::restore_copy_discarded())),
        AuthProblems, RestoreIdProblems, UndoProblems,
    )
)]
#[delete("/restores/{id}/safety-copy")]
pub async fn delete_safety_copy(
    _: Admin,
    restorer: web::Data<Restorer>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_restore_id(&id)?;
    let record = restorer
        .discard_safety_copy_async(id.into_inner())
        .await
        .map_err(undo_error)?;
    Ok(HttpResponse::Ok().json(record))
}
