//! `/api/v1/replication-targets`: the S3-compatible buckets backup sets are copied to, read
//! (viewer), created or replaced (`If-Match`) and removed (admin); a replication started by
//! hand (operator); the sets on a target's bucket (viewer). Handlers only: the settings are
//! `crate::state`'s, the job `crate::jobs::replication`'s.

use actix_web::{delete, get, http::header, post, put, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::backups::check_id;
use super::settings::{if_match, put_answer, with_etag};
use super::{
    AuthProblems, BodyProblems, ConfigUnwritableProblem, JobId, OperatorAuthProblems,
    PreconditionProblems, RemoteSetsProblems, RemoteVerifyProblems, ReplicateProblems,
    ReplicationTargetInvalid, ReplicationTargetProblems, TokenProblems, ValidJson,
};
use crate::auth::{Admin, Operator, Viewer};
use crate::config::ReplicationTargetSettings;
use crate::error::{ApiError, Code};
use crate::jobs::replication::{
    RemoteSet, RemoteSetsError, ReplicationRecord, ReplicationStartError, ReplicationTrigger,
    Replications,
};
use crate::state::{AppState, ReplicationTargetView};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_replication_targets)
        .service(get_replication_target)
        .service(put_replication_target)
        .service(delete_replication_target)
        .service(replicate_to_target)
        .service(list_remote_sets)
        .service(verify_remote_set);
}

fn target_example() -> serde_json::Value {
    json!({
        "name": "offsite",
        "endpoint": "https://s3.eu-central-1.amazonaws.com",
        "bucket": "maestro-offsite",
        "prefix": "site-a",
        "region": "eu-central-1",
        "access_key_file": "/etc/backup-master/s3.access",
        "secret_key_file": "/etc/backup-master/s3.secret",
        "mode": "after_backup",
        "concurrency": 4,
        "max_bytes_per_second": 0
    })
}

fn settings_example() -> serde_json::Value {
    let mut v = target_example();
    if let Some(o) = v.as_object_mut() {
        o.remove("name");
    }
    v
}

/// A replication's record as the API shows it (for the examples).
pub(crate) fn replication_example(status: &str) -> serde_json::Value {
    let done = status != "running";
    json!({
        "id": "C20261126T020500Z",
        "target": "offsite",
        "backup_id": "20261126T020000Z",
        "trigger": "manual",
        "status": status,
        "started_at": "2026-11-26T02:05:00Z",
        "finished_at": if done { json!("2026-11-26T02:07:10Z") } else { json!(null) },
        "blobs_total": 1200,
        "bytes_total": 734003200u64,
        "blobs_uploaded": if done { 12 } else { 3 },
        "bytes_uploaded": if done { 7340032 } else { 1048576 },
        "blobs_present": 1188,
        "bytes_present": 726663168u64,
        "retries": 0,
        "already_replicated": false,
        "manifest_key": if done { json!("sets/20261126T020000Z.json") } else { json!(null) },
        "error": null
    })
}

/// The replication targets
///
/// Every `[[replication_targets]]` entry in config order. Credentials show only as the paths
/// of their files (`access_key_file`, `secret_key_file`); keys taken from the environment do
/// not show at all. Any role.
#[utoipa::path(
    tag = "replication",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The targets", body = Vec<ReplicationTargetView>,
            example = json!([target_example()])),
        TokenProblems,
    )
)]
#[get("/replication-targets")]
pub async fn list_replication_targets(_: Viewer, state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(state.replication_targets())
}

/// One replication target
///
/// One target as in the list, with an `ETag` for the `If-Match` of `PUT` and `DELETE`. 404
/// (`replication_target_not_found`) for a name the config does not have. Any role.
#[utoipa::path(
    tag = "replication",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Target name", example = "offsite")),
    responses(
        (status = 200, description = "The target", body = ReplicationTargetView,
            headers(("ETag" = String, description = "Version, for If-Match")),
            example = json!(target_example())),
        TokenProblems, ReplicationTargetProblems,
    )
)]
#[get("/replication-targets/{name}")]
pub async fn get_replication_target(
    _: Viewer,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (view, etag) = state.replication_target(&name)?;
    Ok(with_etag(&view, etag))
}

/// Create or replace a replication target
///
/// Sets target `{name}` (1 to 32 of `a-z 0-9 _ -`): `endpoint` (http or https), `bucket`
/// (must exist), `prefix`, `region` (default `us-east-1`), `path_style`, the key files
/// `access_key_file` and `secret_key_file` (both or neither; without them the keys come from
/// `BACKUP_MASTER_S3_<NAME>_ACCESS_KEY` and `_SECRET_KEY` in the server's environment),
/// `mode` (`after_backup` or `manual`, the default), `concurrency` (1 to 64, default 4),
/// `max_bytes_per_second` (0: unlimited), `timeout_seconds` (1 to 3600, default 60), `keep`
/// (sets kept on the bucket) with `unreferenced_grace_seconds`, and client-side encryption:
/// `encrypt_recipients_file` (age recipients; `decrypt_identity_file` to restore and
/// deep-verify) or `encrypt_passphrase_file`, not both. Keys are never accepted in the body,
/// only the paths of their files; a file that cannot be read or parsed is refused naming the
/// field, never showing its content. Needs `If-Match`: the `ETag` of `GET`, or `*`
/// (which also creates): 428 without it, 412 when stale. Refused with 422 naming each field,
/// changing nothing. The config file is written atomically (503 when it cannot be). Admin.
#[utoipa::path(
    tag = "replication",
    security(("bearer" = [])),
    request_body(content = ReplicationTargetSettings, example = json!(settings_example())),
    params(
        ("name" = String, Path, description = "Target name", example = "offsite"),
        ("If-Match" = String, Header, description = "The ETag from GET /replication-targets/{name}, or `*`",
            example = "\"0c9d1f7e2b3a4c5d6e7f8091\""),
    ),
    responses(
        (status = 200, description = "Replaced; the target as it is now", body = ReplicationTargetView,
            headers(("ETag" = String, description = "The new version")),
            example = json!(target_example())),
        (status = 201, description = "Created; the target as it is now", body = ReplicationTargetView,
            headers(("ETag" = String, description = "The new version")),
            example = json!(target_example())),
        AuthProblems, ReplicationTargetProblems, BodyProblems, ReplicationTargetInvalid,
        PreconditionProblems, ConfigUnwritableProblem,
    )
)]
#[put("/replication-targets/{name}")]
pub async fn put_replication_target(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: ValidJson<ReplicationTargetSettings>,
) -> Result<HttpResponse, ApiError> {
    let if_match = if_match(&req).map(str::to_string);
    let (view, etag, created) =
        web::block(move || state.put_replication_target(&name, if_match.as_deref(), body.0))
            .await
            .map_err(ApiError::internal)??;
    Ok(put_answer(&view, etag, created))
}

/// Remove a replication target
///
/// Removes target `{name}` from the config file (`If-Match`: its `ETag`, or `*`). Nothing on
/// its bucket is touched; its replication records stay. Admin.
#[utoipa::path(
    tag = "replication",
    security(("bearer" = [])),
    params(
        ("name" = String, Path, description = "Target name", example = "offsite"),
        ("If-Match" = String, Header, description = "The ETag from GET /replication-targets/{name}, or `*`",
            example = "\"0c9d1f7e2b3a4c5d6e7f8091\""),
    ),
    responses(
        (status = 204, description = "Removed"),
        AuthProblems, ReplicationTargetProblems, PreconditionProblems, ConfigUnwritableProblem,
    )
)]
#[delete("/replication-targets/{name}")]
pub async fn delete_replication_target(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let if_match = if_match(&req).map(str::to_string);
    web::block(move || state.delete_replication_target(&name, if_match.as_deref()))
        .await
        .map_err(ApiError::internal)??;
    Ok(HttpResponse::NoContent().finish())
}

/// The body of `POST /replication-targets/{name}/replicate`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplicateRequest {
    /// The backup set to copy; absent: the newest complete and successful one.
    #[serde(default)]
    #[schema(example = "20261126T020000Z")]
    pub backup_id: Option<String>,
}

pub(crate) fn start_error(e: ReplicationStartError) -> ApiError {
    match e {
        ReplicationStartError::TargetNotFound(name) => ApiError::coded(
            Code::ReplicationTargetNotFound,
            format!("no replication target named {name:?}"),
        ),
        ReplicationStartError::SetNotFound(id) => {
            ApiError::coded(Code::SetNotFound, format!("no backup set {id} on disk"))
        }
        e @ (ReplicationStartError::NoSet | ReplicationStartError::NotReplicable(_)) => {
            ApiError::coded(Code::SetNotReplicable, e.to_string())
        }
        ReplicationStartError::Busy { kind, id } => ApiError::busy(kind.as_str(), &id),
        e @ ReplicationStartError::Io(_) => ApiError::internal(e),
    }
}

/// Replicate a set now
///
/// Starts copying backup set `backup_id` (default: the newest complete and successful set) to
/// target `{name}` (operator) and answers at once, 202 with the record (status `running`) and
/// its `Location`. Only the file contents the bucket lacks are uploaded (`blobs/<2 hex>/<sha256>`,
/// keyed by the hashes of the set's `SHA256SUMS`), then the set's manifest
/// `sets/<backup id>.json`, last: the set exists remotely exactly when its manifest does.
/// Nothing on the bucket is ever overwritten. A set already there is not uploaded again
/// (`already_replicated`). A component on an agent is uploaded by its agent (the target's
/// settings and keys sent with the call, only over https or to a loopback agent); its counters
/// join the record when it is done. The replication holds the job lock: no backup or restore starts
/// until it ends. 409 when another job runs (`job_running`) or the set cannot be replicated
/// (`set_not_replicable`).
#[utoipa::path(
    tag = "replication",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Target name", example = "offsite")),
    request_body(content = ReplicateRequest, example = json!({"backup_id": "20261126T020000Z"})),
    responses(
        (status = 202, description = "Started; the record", body = ReplicationRecord,
            headers(("Location" = String, description = "The replication's URL")),
            example = json!(replication_example("running"))),
        OperatorAuthProblems, BodyProblems, ReplicateProblems,
    )
)]
#[post("/replication-targets/{name}/replicate")]
pub async fn replicate_to_target(
    _: Operator,
    replications: web::Data<Replications>,
    name: web::Path<String>,
    body: ValidJson<ReplicateRequest>,
) -> Result<HttpResponse, ApiError> {
    let backup_id = body.0.backup_id;
    if let Some(id) = &backup_id {
        check_id(id, "backup_id")?;
    }
    let record = replications
        .start_async(&name, backup_id, ReplicationTrigger::Manual)
        .await
        .map_err(start_error)?;
    Ok(HttpResponse::Accepted()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/replications/{}", record.id),
        ))
        .json(record))
}

/// The sets on a target's bucket
///
/// The backup sets whose manifest is on target `{name}`'s bucket, newest first: the sets a
/// restore can take from there (also on a fresh server whose disks hold no backup). Asks the
/// store (one listing of `sets/`); 409 (`replication_target_failed`) naming the target when it
/// cannot be reached, refuses the credentials or has no such bucket. Encrypted sets are listed
/// from their key names alone (`encrypted: true`), without the target's key. Any role.
#[utoipa::path(
    tag = "replication",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Target name", example = "offsite")),
    responses(
        (status = 200, description = "The sets on the bucket", body = Vec<RemoteSet>,
            example = json!([{"backup_id": "20261126T020000Z", "manifest_key": "sets/20261126T020000Z.json", "manifest_bytes": 48213, "encrypted": false}])),
        TokenProblems, RemoteSetsProblems,
    )
)]
#[get("/replication-targets/{name}/sets")]
pub async fn list_remote_sets(
    _: Viewer,
    replications: web::Data<Replications>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    match replications.remote_sets(&name).await {
        Ok(sets) => Ok(HttpResponse::Ok().json(sets)),
        Err(RemoteSetsError::TargetNotFound(n)) => Err(ApiError::coded(
            Code::ReplicationTargetNotFound,
            format!("no replication target named {n:?}"),
        )),
        Err(RemoteSetsError::Store(e)) => Err(ApiError::coded(
            Code::ReplicationTargetFailed,
            e.to_string(),
        )),
    }
}

/// The body of `POST /replication-targets/{name}/sets/{id}/verify`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoteVerifyRequest {
    /// Download and hash every blob; default false: every blob exists with its size.
    #[serde(default)]
    pub deep: bool,
}

/// Verify a set on a target's bucket
///
/// Starts checking set `{id}` on target `{name}`'s bucket (operator), a job of kind `verify`:
/// answers at once, 202 with the record and its `Location` (`/replications/{id}`); poll it
/// until `status` is not `running`. Quick (`deep: false`): every blob the set's manifest
/// references exists with the right size (one listing). Deep: every blob is also downloaded
/// and hashed. The record ends `succeeded` when everything is sound, else `failed` with
/// `problems` naming each missing or damaged blob and a file of the set that uses it. Changes
/// nothing, locally or on the bucket; takes no job lock. A set that is not on the bucket ends
/// `failed` saying so.
#[utoipa::path(
    tag = "replication",
    security(("bearer" = [])),
    params(
        ("name" = String, Path, description = "Target name", example = "offsite"),
        ("id" = JobId, Path, description = "Backup ID", example = "20261126T020000Z"),
    ),
    request_body(content = RemoteVerifyRequest, example = json!({"deep": true})),
    responses(
        (status = 202, description = "Started; the record", body = ReplicationRecord,
            headers(("Location" = String, description = "The verification's URL")),
            example = json!(replication_example("running"))),
        OperatorAuthProblems, BodyProblems, RemoteVerifyProblems,
    )
)]
#[post("/replication-targets/{name}/sets/{id}/verify")]
pub async fn verify_remote_set(
    _: Operator,
    replications: web::Data<Replications>,
    path: web::Path<(String, String)>,
    body: ValidJson<RemoteVerifyRequest>,
) -> Result<HttpResponse, ApiError> {
    let (name, id) = path.into_inner();
    check_id(&id, "id")?;
    let deep = body.0.deep;
    let me = replications.into_inner();
    let record = web::block(move || me.start_verify(&name, &id, deep))
        .await
        .map_err(ApiError::internal)?
        .map_err(start_error)?;
    Ok(HttpResponse::Accepted()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/replications/{}", record.id),
        ))
        .json(record))
}
