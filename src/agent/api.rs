//! The agent's HTTP API, `/agent/v1`: what the master calls to drive a remote component. It
//! has **its own OpenAPI document** ([`AgentDoc`]), served by the agent at
//! `/api-docs/openapi.json` (Swagger UI at `/swagger-ui/`) and printed by
//! `backup-master openapi --agent`: the agent is a separate server with its own tokens, and its
//! routes never exist on the master, so mixing them into the master's document would list
//! operations the master does not answer.
//!
//! Roles (the agent's `[[tokens]]`): viewer reads (`GET`), operator also verifies, admin also
//! prepares, renews, commits and aborts backups, and plans, applies, renews, commits and rolls
//! back restores ([`super::restore`]). The master's token should be admin. Only the master's
//! calls about a transaction (admin) count as its messages for the in-doubt alarm; reading
//! one does not.

use actix_web::{get, post, web, HttpResponse};
use utoipa::OpenApi;

use super::restore::AgentRestores;
use super::txn::Txns;
use super::wire::{
    AgentInfo, FolderQuery, RemoteRestoreRequest, RemoteSpec, TxnView, VerifyRequest,
};
use crate::api::{
    AuthProblems, BearerAuth, BodyProblems, NotFoundProblem, QueryProblems, ValidJson,
};
use crate::auth::{Admin, Operator, Viewer};
use crate::error::ApiError;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "backup-master agent",
        description = "The agent runs on a component's own server; the backup master drives it over \
            HTTP: two-phase commit (prepare, then commit or abort) of one backup of a component, \
            its history, verification; and the restore of a component (plan, apply with a safety \
            copy, then commit or rollback). A prepared backup or an applied restore is never \
            ended by the agent alone: without a word from the master for \
            `decision_timeout_seconds` it is marked in doubt and waits (the master renews it \
            while it works on the set). The data never passes through the master. Every \
            `/agent/v1` route needs `Authorization: Bearer <token>`.",
        license(name = "MIT", identifier = "MIT"),
    ),
    modifiers(&BearerAuth),
    components(schemas(crate::error::Problem, crate::error::FieldError)),
    tags(
        (name = "agent", description = "Backups of the components this agent serves"),
        (name = "agent-restores", description = "Restores of the components this agent serves"),
        (name = "health", description = "Liveness"),
    )
)]
pub struct AgentDoc;

/// The agent's routes.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(crate::api::health::healthz);
    cfg.service(
        utoipa_actix_web::scope("/agent/v1")
            .service(get_agent)
            .service(get_txn)
            .service(prepare_txn)
            .service(renew_txn)
            .service(commit_txn)
            .service(abort_txn)
            .service(get_history)
            .service(verify_slot)
            .service(get_restore)
            .service(plan_restore)
            .service(apply_restore)
            .service(renew_restore)
            .service(commit_restore)
            .service(rollback_restore),
    );
}

/// The agent's OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa_actix_web::AppExt;
    let (_, api) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(AgentDoc::openapi())
        .configure(routes)
        .split_for_parts();
    api
}

type Key = web::Path<(String, String)>;

/// The agent's version, decision timeout, components, and its open backups and restores
/// (prepared, applied, in doubt, ...).
#[utoipa::path(
    tag = "agent",
    security(("bearer" = [])),
    responses((status = 200, description = "The agent", body = AgentInfo), AuthProblems)
)]
#[get("/components")]
pub async fn get_agent(
    _: Viewer,
    txns: web::Data<Txns>,
    restores: web::Data<AgentRestores>,
) -> HttpResponse {
    let mut info = txns.info();
    info.transactions.extend(restores.open_transactions());
    HttpResponse::Ok().json(info)
}

/// Where one backup of a component stands (the master polls this while it prepares).
#[utoipa::path(
    tag = "agent",
    security(("bearer" = [])),
    params(
        ("name" = String, Path, description = "Component name", example = "trk"),
        ("id" = String, Path, description = "Backup ID", example = "20261126T020000Z"),
    ),
    responses((status = 200, description = "The backup on this agent", body = TxnView), AuthProblems, NotFoundProblem)
)]
#[get("/components/{name}/backups/{id}")]
pub async fn get_txn(_: Viewer, txns: web::Data<Txns>, key: Key) -> Result<HttpResponse, ApiError> {
    let (name, id) = key.into_inner();
    Ok(HttpResponse::Ok().json(txns.status(&name, &id)?))
}

/// Starts preparing a backup: the items are copied into `<NAME>.staging-<ID>` in the
/// background. Answers at once; poll the backup until `prepared`, `failed` or `cancelled`.
#[utoipa::path(
    tag = "agent",
    security(("bearer" = [])),
    request_body = RemoteSpec,
    params(
        ("name" = String, Path, description = "Component name", example = "trk"),
        ("id" = String, Path, description = "Backup ID", example = "20261126T020000Z"),
    ),
    responses(
        (status = 202, description = "Preparing", body = TxnView),
        (status = 409, description = "This backup is already known, or another backup or a restore of the component is open (prepared, applied, in doubt, ...)", body = crate::error::Problem, content_type = "application/problem+json"),
        AuthProblems, NotFoundProblem, BodyProblems,
    )
)]
#[post("/components/{name}/backups/{id}/prepare")]
pub async fn prepare_txn(
    _: Admin,
    txns: web::Data<Txns>,
    key: Key,
    body: ValidJson<RemoteSpec>,
) -> Result<HttpResponse, ApiError> {
    let (name, id) = key.into_inner();
    let v = txns.prepare(&name, &id, &body.0).await?;
    Ok(HttpResponse::Accepted().json(v))
}

/// The master still works on the set of a prepared backup (it waits for other components):
/// the in-doubt alarm starts again, and a backup in doubt is prepared again. Answers the
/// backup as it stands; the master polls a prepare's progress with it too.
#[utoipa::path(
    tag = "agent",
    security(("bearer" = [])),
    params(
        ("name" = String, Path, description = "Component name", example = "trk"),
        ("id" = String, Path, description = "Backup ID", example = "20261126T020000Z"),
    ),
    responses(
        (status = 200, description = "The backup on this agent", body = TxnView),
        (status = 503, description = "The renewal could not be recorded; retry", body = crate::error::Problem, content_type = "application/problem+json"),
        AuthProblems, NotFoundProblem,
    )
)]
#[post("/components/{name}/backups/{id}/renew")]
pub async fn renew_txn(
    _: Admin,
    txns: web::Data<Txns>,
    key: Key,
) -> Result<HttpResponse, ApiError> {
    let (name, id) = key.into_inner();
    Ok(HttpResponse::Ok().json(txns.renew(&name, &id).await?))
}

/// Commits a prepared backup (in doubt or not): rotates the slots and renames the staging
/// folder to the backup folder. Idempotent: committing a committed backup answers 200 again;
/// repeated with a smaller `keep`, it drops the slots above it (the master commits keeping one
/// slot more, so the oldest set stays complete until every component committed).
#[utoipa::path(
    tag = "agent",
    security(("bearer" = [])),
    request_body = RemoteSpec,
    params(
        ("name" = String, Path, description = "Component name", example = "trk"),
        ("id" = String, Path, description = "Backup ID", example = "20261126T020000Z"),
    ),
    responses(
        (status = 200, description = "Committed", body = TxnView),
        (status = 409, description = "Not committable: still preparing, failed, or aborted (by the master, or by an operator on this machine)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The rotation failed; retry", body = crate::error::Problem, content_type = "application/problem+json"),
        AuthProblems, NotFoundProblem, BodyProblems,
    )
)]
#[post("/components/{name}/backups/{id}/commit")]
pub async fn commit_txn(
    _: Admin,
    txns: web::Data<Txns>,
    key: Key,
    body: ValidJson<RemoteSpec>,
) -> Result<HttpResponse, ApiError> {
    let (name, id) = key.into_inner();
    Ok(HttpResponse::Ok().json(txns.commit(&name, &id, &body.0).await?))
}

/// Aborts a backup: stops its prepare, removes its staging folder and keeps the attempt's
/// readme as `<NAME>.failed` with `errors`. Idempotent; no history slot changes.
#[utoipa::path(
    tag = "agent",
    security(("bearer" = [])),
    request_body = RemoteSpec,
    params(
        ("name" = String, Path, description = "Component name", example = "trk"),
        ("id" = String, Path, description = "Backup ID", example = "20261126T020000Z"),
    ),
    responses(
        (status = 200, description = "Aborted", body = TxnView),
        (status = 409, description = "Already committed", body = crate::error::Problem, content_type = "application/problem+json"),
        AuthProblems, NotFoundProblem, BodyProblems,
    )
)]
#[post("/components/{name}/backups/{id}/abort")]
pub async fn abort_txn(
    _: Admin,
    txns: web::Data<Txns>,
    key: Key,
    body: ValidJson<RemoteSpec>,
) -> Result<HttpResponse, ApiError> {
    let (name, id) = key.into_inner();
    Ok(HttpResponse::Ok().json(txns.abort(&name, &id, &body.0).await?))
}

/// The history slots `backup`, `backup1`, ... of a component, read from disk.
#[utoipa::path(
    tag = "agent",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Component name", example = "trk"), FolderQuery),
    responses(
        (status = 200, description = "The slots, newest first", body = Vec<crate::store::SlotInfo>),
        AuthProblems, NotFoundProblem, QueryProblems,
    )
)]
#[get("/components/{name}/history")]
pub async fn get_history(
    _: Viewer,
    txns: web::Data<Txns>,
    name: web::Path<String>,
    q: web::Query<FolderQuery>,
) -> Result<HttpResponse, ApiError> {
    let keep = q.keep.unwrap_or(crate::config::MAX_KEEP);
    Ok(HttpResponse::Ok().json(txns.history(&name, &q.backup_folder, keep).await?))
}

/// Checks every file of one slot against its `SHA256SUMS`.
#[utoipa::path(
    tag = "agent",
    security(("bearer" = [])),
    request_body = VerifyRequest,
    params(("name" = String, Path, description = "Component name", example = "trk")),
    responses(
        (status = 200, description = "The check (ok or not)", body = crate::sets::FolderVerification),
        AuthProblems, NotFoundProblem, BodyProblems,
    )
)]
#[post("/components/{name}/verify")]
pub async fn verify_slot(
    _: Operator,
    txns: web::Data<Txns>,
    name: web::Path<String>,
    body: ValidJson<VerifyRequest>,
) -> Result<HttpResponse, ApiError> {
    let v = txns
        .verify(&name, &body.0.backup_folder, &body.0.slot)
        .await?;
    Ok(HttpResponse::Ok().json(v))
}

type RestoreKey = web::Path<(String, String)>;

/// Where a restore of the component stands on this agent.
#[utoipa::path(
    tag = "agent-restores",
    security(("bearer" = [])),
    params(
        ("name" = String, Path, description = "Component name", example = "trk"),
        ("restore_id" = String, Path, description = "The master's restore ID", example = "R20261126T101500Z"),
    ),
    responses(
        (status = 200, description = "The restore on this agent", body = crate::restore::RestoreRecord),
        AuthProblems, NotFoundProblem,
    )
)]
#[get("/components/{name}/restores/{restore_id}")]
pub async fn get_restore(
    _: Viewer,
    restores: web::Data<AgentRestores>,
    key: RestoreKey,
) -> Result<HttpResponse, ApiError> {
    let (name, id) = key.into_inner();
    Ok(HttpResponse::Ok().json(restores.status(&name, &id)?))
}

/// The master still works on the restore (it applies other components): the in-doubt alarm
/// starts again, and a restore in doubt no longer is. Answers the restore as it stands.
#[utoipa::path(
    tag = "agent-restores",
    security(("bearer" = [])),
    params(
        ("name" = String, Path, description = "Component name", example = "trk"),
        ("restore_id" = String, Path, description = "The master's restore ID", example = "R20261126T101500Z"),
    ),
    responses(
        (status = 200, description = "The restore on this agent", body = crate::restore::RestoreRecord),
        (status = 503, description = "The renewal could not be recorded; retry", body = crate::error::Problem, content_type = "application/problem+json"),
        AuthProblems, NotFoundProblem,
    )
)]
#[post("/components/{name}/restores/{restore_id}/renew")]
pub async fn renew_restore(
    _: Admin,
    restores: web::Data<AgentRestores>,
    key: RestoreKey,
) -> Result<HttpResponse, ApiError> {
    let (name, id) = key.into_inner();
    Ok(HttpResponse::Ok().json(restores.renew(&name, &id).await?))
}

/// The plan of a restore of the component from one of its slots (a dry run: nothing is
/// recorded or changed): every home path moved aside, copied and edited, by the profile's rule.
#[utoipa::path(
    tag = "agent-restores",
    security(("bearer" = [])),
    request_body = RemoteRestoreRequest,
    params(
        ("name" = String, Path, description = "Component name", example = "trk"),
        ("restore_id" = String, Path, description = "The master's restore ID", example = "R20261126T101500Z"),
    ),
    responses(
        (status = 200, description = "The plan", body = crate::restore::ComponentRestore),
        (status = 409, description = "The home is not in a state a restore can work on", body = crate::error::Problem, content_type = "application/problem+json"),
        AuthProblems, NotFoundProblem, BodyProblems,
    )
)]
#[post("/components/{name}/restores/{restore_id}/plan")]
pub async fn plan_restore(
    _: Admin,
    restores: web::Data<AgentRestores>,
    key: RestoreKey,
    body: ValidJson<RemoteRestoreRequest>,
) -> Result<HttpResponse, ApiError> {
    let (name, id) = key.into_inner();
    Ok(HttpResponse::Ok().json(restores.plan(&name, &id, &body.0).await?))
}

/// Applies a restore of the component: verifies the slot, moves the items aside into
/// `<home>/.pre-restore-<restore_id>/`, copies the backup out and applies the profile's rules;
/// recorded at every step. The restore then waits for the master's commit or rollback (after
/// `decision_timeout_seconds` without a word from the master it is marked in doubt, and still
/// waits). A failed apply is rolled back at once (409 saying why).
#[utoipa::path(
    tag = "agent-restores",
    security(("bearer" = [])),
    request_body = RemoteRestoreRequest,
    params(
        ("name" = String, Path, description = "Component name", example = "trk"),
        ("restore_id" = String, Path, description = "The master's restore ID", example = "R20261126T101500Z"),
    ),
    responses(
        (status = 200, description = "Applied; waiting for the decision", body = crate::restore::RestoreRecord),
        (status = 409, description = "The apply failed and was rolled back, the home cannot be restored, or another restore or a backup of the component is open (applied, prepared, in doubt, ...)", body = crate::error::Problem, content_type = "application/problem+json"),
        AuthProblems, NotFoundProblem, BodyProblems,
    )
)]
#[post("/components/{name}/restores/{restore_id}/apply")]
pub async fn apply_restore(
    _: Admin,
    restores: web::Data<AgentRestores>,
    key: RestoreKey,
    body: ValidJson<RemoteRestoreRequest>,
) -> Result<HttpResponse, ApiError> {
    let (name, id) = key.into_inner();
    Ok(HttpResponse::Ok().json(restores.apply(&name, &id, &body.0).await?))
}

/// Commits an applied restore: the safety folder is retired and removed. Idempotent.
#[utoipa::path(
    tag = "agent-restores",
    security(("bearer" = [])),
    params(
        ("name" = String, Path, description = "Component name", example = "trk"),
        ("restore_id" = String, Path, description = "The master's restore ID", example = "R20261126T101500Z"),
    ),
    responses(
        (status = 200, description = "Committed", body = crate::restore::RestoreRecord),
        (status = 409, description = "The restore was rolled back on this agent", body = crate::error::Problem, content_type = "application/problem+json"),
        AuthProblems, NotFoundProblem,
    )
)]
#[post("/components/{name}/restores/{restore_id}/commit")]
pub async fn commit_restore(
    _: Admin,
    restores: web::Data<AgentRestores>,
    key: RestoreKey,
) -> Result<HttpResponse, ApiError> {
    let (name, id) = key.into_inner();
    Ok(HttpResponse::Ok().json(restores.commit(&name, &id).await?))
}

/// Rolls a restore back: every item is put back from the safety folder. Idempotent; a restore
/// this agent never applied answers a record with nothing to put back.
#[utoipa::path(
    tag = "agent-restores",
    security(("bearer" = [])),
    params(
        ("name" = String, Path, description = "Component name", example = "trk"),
        ("restore_id" = String, Path, description = "The master's restore ID", example = "R20261126T101500Z"),
    ),
    responses(
        (status = 200, description = "Rolled back", body = crate::restore::RestoreRecord),
        (status = 409, description = "The restore was committed on this agent", body = crate::error::Problem, content_type = "application/problem+json"),
        AuthProblems, NotFoundProblem,
    )
)]
#[post("/components/{name}/restores/{restore_id}/rollback")]
pub async fn rollback_restore(
    _: Admin,
    restores: web::Data<AgentRestores>,
    key: RestoreKey,
) -> Result<HttpResponse, ApiError> {
    let (name, id) = key.into_inner();
    Ok(HttpResponse::Ok().json(restores.rollback(&name, &id).await?))
}
