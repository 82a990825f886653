//! `/api/v1/backup-sets`: the backup sets found on disk, import of folders from an external
//! medium, and verification jobs. Handlers only; the work is `crate::sets::Sets`, run through
//! `web::block` because it reads the disk.
//!
//! Roles: viewer reads; operator starts a verification; admin imports.

use actix_web::{get, http::header, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::backups::check_id;
use super::{
    AuthProblems, BodyProblems, ImportProblems, JobId, OperatorAuthProblems, SetIdProblems,
    SetListQueryProblems, TokenProblems, ValidJson, VerificationIdProblems, VerifyProblems,
};
use crate::auth::{Admin, Operator, Viewer};
use crate::error::{ApiError, Code, FieldError, ProblemKind};
use crate::sets::{
    BackupSet, ImportOutcome, SetFolder, SetQuery, Sets, SetsError, Verification, VerifyStartError,
};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_backup_sets)
        .service(get_backup_set)
        .service(import_backup_folder)
        .service(verify_backup_set)
        .service(list_verifications)
        .service(get_verification);
}

/// Backup sets on disk, newest first.
#[derive(Serialize, ToSchema)]
pub struct BackupSetList {
    pub items: Vec<BackupSet>,
    /// Slot folders whose backup ID cannot be read (no `readme.txt`, or one without a usable
    /// `Backup ID:` line); `problem` says why. Not filtered by the query.
    pub unidentified: Vec<SetFolder>,
    /// Components whose folders could not be listed now (a remote component whose agent did
    /// not answer or refused): the sets lack their folders, and `problem` says why.
    #[serde(default)]
    pub problems: Vec<crate::sets::ComponentProblem>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SetListParams {
    /// `true`: only sets where every component has a folder; `false`: only the others.
    #[param(value_type = Option<bool>)]
    pub complete: Option<String>,
    /// `true`: only complete sets whose folders all say `Result: success`; `false`: the others.
    #[param(value_type = Option<bool>)]
    pub successful: Option<String>,
    /// `true`: only the newest set passing the other filters.
    /// `?successful=true&latest=true` is the set a restore should use.
    #[param(value_type = Option<bool>)]
    pub latest: Option<String>,
}

/// A folder retrieved from an external medium, to be registered as part of its backup set.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// A configured component; the folder's `readme.txt` must name it.
    #[schema(example = "lui")]
    pub component: String,
    /// Absolute path of the folder (no `..`), holding `readme.txt`.
    #[schema(example = "/mnt/tape/lui/backup")]
    pub folder: String,
}

fn parse_bool(value: &Option<String>, field: &str, errors: &mut Vec<FieldError>) -> Option<bool> {
    match value.as_deref() {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(other) => {
            errors.push(FieldError::new(
                field,
                format!("{other:?} is not a boolean: use true or false"),
            ));
            None
        }
    }
}

fn sets_error(e: SetsError) -> ApiError {
    match e.field() {
        Some(field) => ApiError::field(field, e.to_string()),
        None => ApiError::new(
            ProblemKind::Unavailable,
            format!("could not save the import: {e}"),
        ),
    }
}

fn start_error(e: VerifyStartError) -> ApiError {
    match e {
        VerifyStartError::NotFound(id) => {
            ApiError::coded(Code::SetNotFound, format!("no backup set {id} on disk"))
        }
        VerifyStartError::BackupRunning(id) => {
            let mut e = ApiError::busy("backup", &id);
            e.detail =
                format!("backup {id} is running; its commit moves slots, so verify after it ends");
            e
        }
        VerifyStartError::AlreadyRunning(id) => ApiError::busy("verification", &id),
        VerifyStartError::Io(e) => ApiError::new(
            ProblemKind::Unavailable,
            format!("could not record the verification: {e}"),
        ),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    web::block(f).await.map_err(ApiError::internal)
}

/// List backup sets on disk
///
/// The backup sets found on disk now, newest first: every slot's `readme.txt` of every
/// component (a component on an agent is asked through its agent), plus the imported folders,
/// grouped by backup ID; each set says whether it is `complete` (a folder for every component)
/// and `successful`. Works without the master's job records (after a loss of its state).
/// `?successful=true&latest=true` gives the set a restore should use. Slot folders without a
/// usable `readme.txt` are listed in `unidentified`, components whose agent did not answer in
/// `problems`. Reads every readme, so it takes a moment; changes nothing; any role.
#[utoipa::path(
    tag = "backup-sets",
    security(("bearer" = [])),
    params(SetListParams),
    responses(
        (status = 200, description = "Sets, newest first", body = BackupSetList,
            example = json!(super::examples::backup_set_list())),
        TokenProblems, SetListQueryProblems,
    )
)]
#[get("/backup-sets")]
pub async fn list_backup_sets(
    _: Viewer,
    sets: web::Data<Sets>,
    q: web::Query<SetListParams>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = Vec::new();
    let query = SetQuery {
        complete: parse_bool(&q.complete, "complete", &mut errors),
        successful: parse_bool(&q.successful, "successful", &mut errors),
        latest: parse_bool(&q.latest, "latest", &mut errors).unwrap_or(false),
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    // The view kept in memory needs no file: answered here; a scan goes to the blocking pool.
    let scan = match sets.query_kept(&query) {
        Some(scan) => scan,
        None => {
            let sets = sets.into_inner();
            blocking(move || sets.query(&query)).await?
        }
    };
    Ok(HttpResponse::Ok().json(BackupSetList {
        items: scan.sets,
        unidentified: scan.unidentified,
        problems: scan.problems,
    }))
}

/// One backup set
///
/// One backup set on disk: its folder per component (slot or imported), which components it
/// lacks, whether it is complete and successful, and its last verification. Changes nothing;
/// any role.
#[utoipa::path(
    tag = "backup-sets",
    security(("bearer" = [])),
    params(("id" = JobId, Path, description = "Backup ID", example = "20261126T020000Z")),
    responses(
        (status = 200, description = "The set", body = BackupSet,
            example = json!(super::examples::backup_set())),
        TokenProblems, SetIdProblems,
    )
)]
#[get("/backup-sets/{id}")]
pub async fn get_backup_set(
    _: Viewer,
    sets: web::Data<Sets>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    check_id(&id, "id")?;
    let sets = sets.into_inner();
    let key = id.clone();
    let set = blocking(move || sets.get(&key)).await?;
    match set {
        Some(s) => Ok(HttpResponse::Ok().json(s)),
        None => Err(ApiError::coded(
            Code::SetNotFound,
            format!("no backup set {id} on disk"),
        )),
    }
}

/// Import a backup folder
///
/// Registers a folder retrieved from an external medium (a tape, a copy) as a component's
/// folder of its backup set (admin), so that the set can be listed, verified and restored.
/// The folder is read, never moved or changed: its `readme.txt` must name the component and
/// says which backup it holds; it must not be one of the component's slots (those are found
/// anyway). 201 for a new registration, 200 when the folder was already registered; either way
/// with the set as it is now. 422 (`validation_failed`, `errors` naming `component` or
/// `folder`) when the folder cannot be registered; 503 (`unavailable`) when the registration
/// cannot be saved.
#[utoipa::path(
    tag = "backup-sets",
    security(("bearer" = [])),
    request_body(content = ImportRequest, example = json!(super::examples::import_request())),
    responses(
        (status = 201, description = "Registered", body = ImportOutcome,
            headers(("Location" = String, description = "The set's URL")),
            example = json!(super::examples::import_outcome())),
        (status = 200, description = "Already registered; unchanged", body = ImportOutcome,
            headers(("Location" = String, description = "The set's URL")),
            example = json!(super::examples::import_outcome_again())),
        AuthProblems, BodyProblems, ImportProblems,
    )
)]
#[post("/backup-sets/import")]
pub async fn import_backup_folder(
    _: Admin,
    sets: web::Data<Sets>,
    body: ValidJson<ImportRequest>,
) -> Result<HttpResponse, ApiError> {
    let req = body.0;
    let sets = sets.into_inner();
    let outcome = blocking(move || sets.import(&req.component, &req.folder))
        .await?
        .map_err(sets_error)?;
    let mut resp = if outcome.created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(resp
        .insert_header((
            header::LOCATION,
            format!("/api/v1/backup-sets/{}", outcome.imported.backup_id),
        ))
        .json(outcome))
}

/// Verify a backup set
///
/// Starts checking every file of every folder of the set against its `SHA256SUMS` (operator).
/// Always a job: answers at once, 202 with the record (status `running`) and its `Location`;
/// poll it until `status` is `passed` or `failed` (a large set takes minutes: every byte is
/// read). Changes nothing on disk but the verification record. 409 (`job_running`,
/// `running_id` naming it) while a backup runs (its commit moves slots) or another
/// verification runs.
#[utoipa::path(
    tag = "backup-sets",
    security(("bearer" = [])),
    params(("id" = JobId, Path, description = "Backup ID", example = "20261126T020000Z")),
    responses(
        (status = 202, description = "Started", body = Verification,
            headers(("Location" = String, description = "The verification's URL")),
            example = json!(super::examples::verification_running())),
        OperatorAuthProblems, SetIdProblems, VerifyProblems,
    )
)]
#[post("/backup-sets/{id}/verify")]
pub async fn verify_backup_set(
    _: Operator,
    sets: web::Data<Sets>,
    jobs: web::Data<crate::jobs::BackupJobs>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    check_id(&id, "id")?;
    let sets = sets.into_inner();
    let jobs = jobs.into_inner();
    let key = id.clone();
    let record = blocking(move || crate::jobs::verification::start(&jobs, &sets, &key))
        .await?
        .map_err(start_error)?;
    Ok(HttpResponse::Accepted()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/backup-sets/{id}/verifications/{}", record.id),
        ))
        .json(record))
}

/// List a set's verifications
///
/// The verifications of a set, newest first (the last 20 finished ones are kept per set).
/// Changes nothing; any role.
#[utoipa::path(
    tag = "backup-sets",
    security(("bearer" = [])),
    params(("id" = JobId, Path, description = "Backup ID", example = "20261126T020000Z")),
    responses(
        (status = 200, description = "Verifications, newest first", body = Vec<Verification>,
            example = json!(super::examples::verifications())),
        TokenProblems, SetIdProblems,
    )
)]
#[get("/backup-sets/{id}/verifications")]
pub async fn list_verifications(
    _: Viewer,
    sets: web::Data<Sets>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    check_id(&id, "id")?;
    let sets = sets.into_inner();
    let key = id.clone();
    let (records, exists) = blocking(move || {
        let records = sets.verifications(&key);
        let exists = !records.is_empty() || sets.get(&key).is_some();
        (records, exists)
    })
    .await?;
    if !exists {
        return Err(ApiError::coded(
            Code::SetNotFound,
            format!("no backup set {id}"),
        ));
    }
    Ok(HttpResponse::Ok().json(records))
}

/// One verification
///
/// One verification: while `running`, the files and bytes checked so far; then per folder the
/// files changed, missing, not listed in `SHA256SUMS` and unreadable, and the result `passed`
/// or `failed`. Poll it to follow a verification. Changes nothing; any role.
#[utoipa::path(
    tag = "backup-sets",
    security(("bearer" = [])),
    params(
        ("id" = JobId, Path, description = "Backup ID", example = "20261126T020000Z"),
        ("verification_id" = JobId, Path, description = "Verification ID", example = "20261126T080000Z-0001"),
    ),
    responses(
        (status = 200, description = "The verification", body = Verification,
            example = json!(super::examples::verification_failed())),
        TokenProblems, VerificationIdProblems,
    )
)]
#[get("/backup-sets/{id}/verifications/{verification_id}")]
pub async fn get_verification(
    _: Viewer,
    sets: web::Data<Sets>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, vid) = path.into_inner();
    check_id(&id, "id")?;
    check_id(&vid, "verification_id")?;
    match sets.verification(&vid) {
        Some(v) if v.set_id == id => Ok(HttpResponse::Ok().json(v)),
        _ => Err(ApiError::coded(
            Code::VerificationNotFound,
            format!("no verification {vid} of backup set {id}"),
        )),
    }
}
