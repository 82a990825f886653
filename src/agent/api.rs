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

use actix_web::{delete, get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use super::restore::AgentRestores;
use super::txn::Txns;
use crate::api::{
    AgentAbortProblems, AgentCommitProblems, AgentComponentProblems, AgentDrillProblems,
    AgentHistoryQueryProblems, AgentPrepareProblems, AgentRenewProblems, AgentReplicationProblems,
    AgentRestoreCommitProblems, AgentRestoreProblems, AgentRestoreRollbackProblems,
    AgentRestoreStatusProblems, AgentSpecInvalid, AgentTxnProblems, AgentVerifyInvalid,
    AuthProblems, BearerAuth, BodyProblems, OperatorAuthProblems, TokenProblems, ValidJson,
};
use crate::auth::{Admin, Operator, Viewer};
use crate::error::ApiError;
use crate::store::wire::{
    AgentInfo, ConsistencyAnswer, ConsistencyRequest, FolderQuery, LifecycleAnswer,
    LifecycleRequest, RemoteDownloadAnswer, RemoteDownloadRequest, RemoteDrillAnswer,
    RemoteDrillRequest, RemoteReplicationAnswer, RemoteReplicationRequest, RemoteRestoreRequest,
    RemoteSpec, ReplicationCancelAnswer, TxnView, VerifyRequest,
};

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
            `/agent/v1` route needs `Authorization: Bearer <token>` with a token of the agent's \
            `[[tokens]]` (the master's should be admin); `/healthz` needs none.\n\n\
            **Errors** are `application/problem+json` (RFC 9457) with `type`, `title`, `status`, \
            `detail`, a stable `code` and, for invalid input, `errors` naming each field.",
        license(name = "MIT", identifier = "MIT"),
        contact(name = "backup-master maintainers"),
    ),
    servers(
        (url = "/", description = "The agent this document is served by"),
        (url = "http://127.0.0.1:9090", description = "The agent's default listen address (`listen` in agent.toml)"),
    ),
    modifiers(&BearerAuth),
    components(schemas(crate::error::Problem, crate::error::FieldError)),
    tags(
        (name = "agent", description = "Backups of the components this agent serves, as a two-phase commit \
            driven by the master: prepare (copy into a staging folder), then commit (rotate the slots) or \
            abort; the component's history and the verification of a slot."),
        (name = "agent-restores", description = "Restores of the components this agent serves: plan, apply \
            (with a safety copy of everything replaced), then commit or roll back."),
        (name = "agent-replications", description = "Off-site copies of the components this agent serves: \
            the agent uploads a slot's files to the master's replication target (the master writes the \
            set's manifest once every component's blobs are there), and downloads them again for a restore \
            from the target. The target's settings and keys come with each call and are never stored."),
        (name = "health", description = "Liveness, without a token."),
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
            .service(consistency_step)
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
            .service(rollback_restore)
            .service(discard_restore_copy)
            .service(lifecycle_step)
            .service(drill_component)
            .service(drill_output)
            .service(cancel_drill)
            .service(replicate_component)
            .service(cancel_replication)
            .service(download_component),
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

/// The path of a backup of a component: `/components/{name}/backups/{id}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct BackupPath {
    /// Component name
    #[param(example = "trk")]
    name: String,
    /// Backup ID
    #[param(example = "20261126T020000Z")]
    id: String,
}

/// The path of a restore of a component: `/components/{name}/restores/{restore_id}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RestorePath {
    /// Component name
    #[param(example = "trk")]
    name: String,
    /// The master's restore ID
    #[param(example = "R20261126T101500Z")]
    restore_id: String,
}

/// The agent and its components
///
/// The agent's version, how long a prepared backup or an applied restore waits for word from
/// the master before it is marked in doubt, the components it serves (name, profile, home), and
/// its open backups and restores (prepared, applied, in doubt, ...). The master calls it to
/// show whether the agent answers and what waits there. Changes nothing; any role.
#[utoipa::path(
    tag = "agent",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The agent", body = AgentInfo,
            example = json!(crate::api::examples::agent_info())),
        TokenProblems,
    )
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

/// One backup of a component
///
/// Where one backup (one transaction of the two-phase commit) of a component stands:
/// `preparing` with its counters, then `prepared`, `failed` or `cancelled`, and once decided
/// `committed` or `aborted`; `in_doubt` while it waits for word from the master longer than
/// `decision_timeout_seconds`. The master polls it while the agent prepares.
/// Changes nothing; any role.
#[utoipa::path(
    tag = "agent",
    security(("bearer" = [])),
    params(BackupPath),
    responses(
        (status = 200, description = "The backup on this agent", body = TxnView,
            example = json!(crate::api::examples::txn_prepared())),
        TokenProblems, AgentTxnProblems,
    )
)]
#[get("/components/{name}/backups/{id}")]
pub async fn get_txn(
    _: Viewer,
    txns: web::Data<Txns>,
    key: web::Path<BackupPath>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(txns.status(&key.name, &key.id)?))
}

/// Prepare a backup
///
/// Starts preparing a backup of the component with the master's settings (admin): its items
/// are copied into `<NAME>.staging-<ID>` beside its backup folder, in the background; no slot
/// changes. Answers at once, 202 (`preparing`); poll `GET .../backups/{id}` until `prepared`,
/// `failed` or `cancelled`, then commit or abort. A prepared backup with no decision within
/// the agent's decision timeout is aborted. 409 (`conflict`) when this backup is already known
/// here or another backup of the component waits for its decision.
#[utoipa::path(
    tag = "agent",
    security(("bearer" = [])),
    request_body(content = RemoteSpec, example = json!(crate::api::examples::remote_spec())),
    params(BackupPath),
    responses(
        (status = 202, description = "Preparing", body = TxnView,
            example = json!(crate::api::examples::txn_preparing())),
        AuthProblems, AgentTxnProblems, BodyProblems, AgentSpecInvalid, AgentPrepareProblems,
    )
)]
#[post("/components/{name}/backups/{id}/prepare")]
pub async fn prepare_txn(
    _: Admin,
    txns: web::Data<Txns>,
    key: web::Path<BackupPath>,
    body: ValidJson<RemoteSpec>,
) -> Result<HttpResponse, ApiError> {
    let v = txns.prepare(&key.name, &key.id, &body.0).await?;
    Ok(HttpResponse::Accepted().json(v))
}

/// A step of a backup's point in time
///
/// Runs one step of the component's freeze for the master's backup (admin): `freeze` (its
/// freeze command), `read_point` (a btrfs snapshot of the home, or its snapshot command's
/// view, which the backup's prepare then reads), `release`, `thaw`, or `renew`. What a step
/// leaves held (frozen, a snapshot) is undone by the agent itself when no step or renewal
/// came for `freeze_lease_seconds` (the answer's `lease_seconds`). A failed step answers 200
/// with its `error` and the command's outcome. 422 naming `consistency` when the step would
/// run a command and the component's `run_commands` is not set in the agent's config.
#[utoipa::path(
    tag = "agent",
    security(("bearer" = [])),
    request_body(content = ConsistencyRequest, example = json!(crate::api::examples::consistency_request())),
    params(BackupPath),
    responses(
        (status = 200, description = "How the step went", body = ConsistencyAnswer,
            example = json!(crate::api::examples::consistency_answer())),
        AuthProblems, BodyProblems,
    )
)]
#[post("/components/{name}/backups/{id}/consistency")]
pub async fn consistency_step(
    _: Admin,
    txns: web::Data<Txns>,
    key: web::Path<BackupPath>,
    body: ValidJson<ConsistencyRequest>,
) -> Result<HttpResponse, ApiError> {
    let a = txns.freezes().step(&key.name, &key.id, &body.0).await?;
    Ok(HttpResponse::Ok().json(a))
}

/// Renew a backup
///
/// Tells the agent the master still works on the set of this backup (admin): while it
/// prepares (the master's progress poll), and after it prepared while the master waits for the
/// other components. The in-doubt alarm starts again, and a backup in doubt is prepared again.
/// Changes only that clock; answers the backup as it stands, at once. 503 (`unavailable`) when
/// the renewal could not be recorded; the master retries.
#[utoipa::path(
    tag = "agent",
    security(("bearer" = [])),
    params(BackupPath),
    responses(
        (status = 200, description = "The backup on this agent", body = TxnView,
            example = json!(crate::api::examples::txn_prepared())),
        AuthProblems, AgentTxnProblems, AgentRenewProblems,
    )
)]
#[post("/components/{name}/backups/{id}/renew")]
pub async fn renew_txn(
    _: Admin,
    txns: web::Data<Txns>,
    key: web::Path<BackupPath>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(txns.renew(&key.name, &key.id).await?))
}

/// Commit a backup
///
/// Commits a prepared backup, in doubt or not (admin): rotates the component's slots (`backup`
/// becomes `backup1`, ...) and renames the staging folder to the backup folder, each step
/// recorded first. Answers when done (seconds). Idempotent: committing a committed backup
/// answers 200 again; repeated with a smaller `keep`, it drops the slots above it (the master
/// commits keeping one slot more, so the oldest set stays complete until every component
/// committed). 409 (`conflict`) when it is not committable (still preparing, failed, or aborted
/// by the master or by an operator on this machine); 503 (`unavailable`) when the rotation
/// failed, which the master retries.
#[utoipa::path(
    tag = "agent",
    security(("bearer" = [])),
    request_body(content = RemoteSpec, example = json!(crate::api::examples::remote_spec())),
    params(BackupPath),
    responses(
        (status = 200, description = "Committed", body = TxnView,
            example = json!(crate::api::examples::txn_committed())),
        AuthProblems, AgentTxnProblems, BodyProblems, AgentSpecInvalid, AgentCommitProblems,
    )
)]
#[post("/components/{name}/backups/{id}/commit")]
pub async fn commit_txn(
    _: Admin,
    txns: web::Data<Txns>,
    key: web::Path<BackupPath>,
    body: ValidJson<RemoteSpec>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(txns.commit(&key.name, &key.id, &body.0).await?))
}

/// Abort a backup
///
/// Aborts a backup (admin): stops its prepare, removes its staging folder and keeps the
/// attempt's readme as `<NAME>.failed` with the `errors` sent. No history slot changes.
/// Answers when done. Idempotent. 409 (`conflict`) when it is already committed; 503
/// (`unavailable`) when the staging folder could not be removed, which the master retries.
#[utoipa::path(
    tag = "agent",
    security(("bearer" = [])),
    request_body(content = RemoteSpec, example = json!(crate::api::examples::remote_spec_abort())),
    params(BackupPath),
    responses(
        (status = 200, description = "Aborted", body = TxnView,
            example = json!(crate::api::examples::txn_aborted())),
        AuthProblems, AgentTxnProblems, BodyProblems, AgentSpecInvalid, AgentAbortProblems,
    )
)]
#[post("/components/{name}/backups/{id}/abort")]
pub async fn abort_txn(
    _: Admin,
    txns: web::Data<Txns>,
    key: web::Path<BackupPath>,
    body: ValidJson<RemoteSpec>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(txns.abort(&key.name, &key.id, &body.0).await?))
}

/// A component's history
///
/// The history slots `backup`, `backup1`, ... of a component under the given backup folder,
/// newest first, read from disk: each slot's backup ID, result and times from its
/// `readme.txt`. Changes nothing; any role.
#[utoipa::path(
    tag = "agent",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Component name", example = "trk"), FolderQuery),
    responses(
        (status = 200, description = "The slots, newest first", body = Vec<crate::store::SlotInfo>,
            example = json!(crate::api::examples::agent_history())),
        TokenProblems, AgentComponentProblems, AgentHistoryQueryProblems,
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

/// Verify a slot
///
/// Checks every file of one slot of the component against its `SHA256SUMS` (operator) and
/// answers when done (it reads every byte: minutes for a large slot) with the files changed,
/// missing, unlisted and unreadable; `ok` says whether it passed. Changes nothing.
#[utoipa::path(
    tag = "agent",
    security(("bearer" = [])),
    request_body(content = VerifyRequest, example = json!(crate::api::examples::agent_verify_request())),
    params(("name" = String, Path, description = "Component name", example = "trk")),
    responses(
        (status = 200, description = "The check (ok or not)", body = crate::sets::FolderVerification,
            example = json!(crate::api::examples::agent_verification())),
        OperatorAuthProblems, AgentComponentProblems, BodyProblems, AgentVerifyInvalid,
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

/// A restore on this agent
///
/// Where a restore of the component stands on this agent: its record, with the component's
/// status (applying, applied, in doubt, restored, rolled back). The master reads it when it
/// resolves open transactions. Changes nothing; any role.
#[utoipa::path(
    tag = "agent-restores",
    security(("bearer" = [])),
    params(RestorePath),
    responses(
        (status = 200, description = "The restore on this agent", body = crate::restore::RestoreRecord,
            example = json!(crate::api::examples::agent_restore_applied())),
        TokenProblems, AgentRestoreStatusProblems,
    )
)]
#[get("/components/{name}/restores/{restore_id}")]
pub async fn get_restore(
    _: Viewer,
    restores: web::Data<AgentRestores>,
    key: web::Path<RestorePath>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(restores.status(&key.name, &key.restore_id)?))
}

/// Renew a restore
///
/// Tells the agent the master still works on this restore (admin; it applies the other
/// components, or waits for them to commit): the in-doubt alarm starts again, and a restore in
/// doubt no longer is. Changes only that clock; answers the restore as it stands, at once. 503
/// (`unavailable`) when the renewal could not be recorded; the master retries.
#[utoipa::path(
    tag = "agent-restores",
    security(("bearer" = [])),
    params(RestorePath),
    responses(
        (status = 200, description = "The restore on this agent", body = crate::restore::RestoreRecord,
            example = json!(crate::api::examples::agent_restore_applied())),
        AuthProblems, AgentRestoreStatusProblems, AgentRenewProblems,
    )
)]
#[post("/components/{name}/restores/{restore_id}/renew")]
pub async fn renew_restore(
    _: Admin,
    restores: web::Data<AgentRestores>,
    key: web::Path<RestorePath>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(restores.renew(&key.name, &key.restore_id).await?))
}

/// Plan a restore
///
/// The plan of a restore of the component from one of its slots (admin), as a dry run:
/// every home path that would be moved aside, copied and edited, by the profile's rule.
/// Nothing is recorded or changed; answers at once. 422 (`validation_failed`) when the slot
/// does not hold that backup or its backup did not succeed; 409 (`conflict`) when the home is
/// not in a state a restore can work on.
#[utoipa::path(
    tag = "agent-restores",
    security(("bearer" = [])),
    request_body(content = RemoteRestoreRequest, example = json!(crate::api::examples::remote_restore_request())),
    params(RestorePath),
    responses(
        (status = 200, description = "The plan", body = crate::restore::ComponentRestore,
            example = json!(crate::api::examples::agent_restore_plan())),
        AuthProblems, AgentComponentProblems, BodyProblems, AgentRestoreProblems,
    )
)]
#[post("/components/{name}/restores/{restore_id}/plan")]
pub async fn plan_restore(
    _: Admin,
    restores: web::Data<AgentRestores>,
    key: web::Path<RestorePath>,
    body: ValidJson<RemoteRestoreRequest>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(restores.plan(&key.name, &key.restore_id, &body.0).await?))
}

/// Apply a restore
///
/// Applies a restore of the component (admin): verifies the slot, moves the items aside into
/// `<home>/.pre-restore-<restore_id>/`, copies the backup out (never moving or linking backup
/// files) and applies the profile's rules, recorded at every step. Answers when applied
/// (seconds to minutes); the restore then waits for the master's commit or rollback: after
/// `decision_timeout_seconds` without a word from the master it is marked in doubt, and still
/// waits. A failed apply is rolled back at once: 409 (`conflict`) saying why; 409 too when
/// another restore or a backup of the component is open (applied, prepared, in doubt, ...).
#[utoipa::path(
    tag = "agent-restores",
    security(("bearer" = [])),
    request_body(content = RemoteRestoreRequest, example = json!(crate::api::examples::remote_restore_request())),
    params(RestorePath),
    responses(
        (status = 200, description = "Applied; waiting for the decision", body = crate::restore::RestoreRecord,
            example = json!(crate::api::examples::agent_restore_applied())),
        AuthProblems, AgentComponentProblems, BodyProblems, AgentRestoreProblems,
    )
)]
#[post("/components/{name}/restores/{restore_id}/apply")]
pub async fn apply_restore(
    _: Admin,
    restores: web::Data<AgentRestores>,
    key: web::Path<RestorePath>,
    body: ValidJson<RemoteRestoreRequest>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(restores.apply(&key.name, &key.restore_id, &body.0).await?))
}

/// Commit a restore
///
/// Commits an applied restore (admin): the safety folder is kept (the restore can be undone
/// until it is discarded), and the copies earlier restores of the component kept are
/// discarded. Answers when done. Idempotent. 409 (`conflict`) when the restore was rolled back here (for instance after
/// the decision timeout).
#[utoipa::path(
    tag = "agent-restores",
    security(("bearer" = [])),
    params(RestorePath),
    responses(
        (status = 200, description = "Committed", body = crate::restore::RestoreRecord,
            example = json!(crate::api::examples::agent_restore_committed())),
        AuthProblems, AgentRestoreCommitProblems,
    )
)]
#[post("/components/{name}/restores/{restore_id}/commit")]
pub async fn commit_restore(
    _: Admin,
    restores: web::Data<AgentRestores>,
    key: web::Path<RestorePath>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(restores.commit(&key.name, &key.restore_id).await?))
}

/// Discard a restore's safety copy
///
/// Deletes the safety folder a committed restore kept (admin): recorded discarded first, then
/// renamed to `….retired` and removed, only when it is the folder that restore made. The
/// restore can no longer be undone. Idempotent. The master calls it for its `DELETE
/// /restores/{id}/safety-copy`; a later restore of the component discards it by itself at its
/// commit. 409 (`conflict`) when the restore was not committed here, or the folder is not the
/// one it made (left as it is).
#[utoipa::path(
    tag = "agent-restores",
    security(("bearer" = [])),
    params(RestorePath),
    responses(
        (status = 200, description = "Discarded (or discarded already)", body = crate::restore::RestoreRecord,
            example = json!(crate::api::examples::agent_restore_committed())),
        AuthProblems, AgentRestoreCommitProblems,
    )
)]
#[delete("/components/{name}/restores/{restore_id}/safety-copy")]
pub async fn discard_restore_copy(
    _: Admin,
    restores: web::Data<AgentRestores>,
    key: web::Path<RestorePath>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(
        restores
            .discard_safety_copy(&key.name, &key.restore_id)
            .await?,
    ))
}

/// Roll a restore back
///
/// Rolls a restore back (admin): every item is put back from the safety folder. Answers when
/// done. Idempotent; a restore this agent never applied answers a record with nothing to put
/// back. 409 (`conflict`) when the restore was committed here.
#[utoipa::path(
    tag = "agent-restores",
    security(("bearer" = [])),
    params(RestorePath),
    responses(
        (status = 200, description = "Rolled back", body = crate::restore::RestoreRecord,
            example = json!(crate::api::examples::agent_restore_rolled_back())),
        AuthProblems, AgentRestoreRollbackProblems,
    )
)]
#[post("/components/{name}/restores/{restore_id}/rollback")]
pub async fn rollback_restore(
    _: Admin,
    restores: web::Data<AgentRestores>,
    key: web::Path<RestorePath>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(restores.rollback(&key.name, &key.restore_id).await?))
}

/// Stop, start or check a component around a restore
///
/// Runs the component's stop, start or health command the master sends for its restore
/// (admin), in the component's home on this machine, with `COMPONENT`, `COMPONENT_HOME`,
/// `RESTORE_ID` and `BACKUP_ID` set (split into arguments, no shell unless the command names
/// one, its own process group, killed with that group at `timeout_seconds`). Answers when the
/// command ended, with its exit code (or signal, or timeout) and the tail of its output; a
/// command that failed is still a 200. 422 naming `command` when the component's
/// `run_commands` is not set in the agent's config, or naming the field of a bad request.
#[utoipa::path(
    tag = "agent-restores",
    security(("bearer" = [])),
    request_body(content = LifecycleRequest, example = json!(crate::api::examples::lifecycle_request())),
    params(RestorePath),
    responses(
        (status = 200, description = "How the command ended", body = LifecycleAnswer,
            example = json!(crate::api::examples::lifecycle_answer())),
        AuthProblems, AgentComponentProblems, BodyProblems,
    )
)]
#[post("/components/{name}/restores/{restore_id}/lifecycle")]
pub async fn lifecycle_step(
    _: Admin,
    lifecycle: web::Data<crate::agent::lifecycle::AgentLifecycle>,
    key: web::Path<RestorePath>,
    body: ValidJson<LifecycleRequest>,
) -> Result<HttpResponse, ApiError> {
    let a = lifecycle.step(&key.name, &key.restore_id, &body.0).await?;
    Ok(HttpResponse::Ok().json(a))
}

/// The path of a drill of a component: `/components/{name}/drills/{drill_id}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DrillPath {
    /// Component name
    #[param(example = "trk")]
    name: String,
    /// The master's drill ID
    #[param(example = "D20261201T040000Z")]
    drill_id: String,
}

/// Drill a component on this machine
///
/// A restore drill of the component (admin): the history slot the master names is restored
/// into a scratch home `<drill_root>/<drill_id>/<name>` on this machine (the agent's
/// `drill_root` of the component, else `drills` beside its backup folder) exactly as a restore
/// would restore it, every restored file is hashed against the slot's `SHA256SUMS`, the probe
/// command the master sends runs against the copy (with `DRILL_HOME`, `COMPONENT_HOME`,
/// `BACKUP_ID` and `COMPONENT` set; only when the agent's config says `run_commands = true`
/// for the component, else the probe step fails saying so), and the scratch is removed.
/// Answers when all that is done (a failed drill is still a 200 with `passed: false`); it
/// runs to its end even when the master stops waiting, and an agent stopped meanwhile
/// removes the scratch at its next start. The component's home and slots are only read.
/// 409 when the drill root cannot be used (it is, holds or lies in a home, an item, the backup
/// area or the agent's state folder).
#[utoipa::path(
    tag = "agent-restores",
    security(("bearer" = [])),
    request_body(content = RemoteDrillRequest, example = json!({
        "source": {"profile": "maestro-tracker", "backup_folder": "backup", "items": [],
            "backup_id": "20261201T020000Z", "slot": "backup"},
        "probe_command": "/opt/maestro/bin/trk-ctl check --home $DRILL_HOME"
    })),
    params(DrillPath),
    responses(
        (status = 200, description = "The component's drill result", body = RemoteDrillAnswer,
            example = json!({
                "passed": true, "source_folder": "/srv/maestro/tracker/backup",
                "scratch_home": "/srv/maestro/drills/D20261201T040000Z/trk",
                "files": 214, "bytes": 73400320, "files_checked": 214,
                "mismatched": [], "missing": [], "errors": [],
                "probe": {"command": "/opt/maestro/bin/trk-ctl check", "exit_code": 0,
                    "timed_out": false, "output": "tracker data ok\n", "duration_ms": 5120}
            })),
        AuthProblems, AgentComponentProblems, BodyProblems, AgentSpecInvalid,
        (status = 409, description = "The component's drill root cannot be used (`conflict`)",
            body = crate::error::Problem, content_type = "application/problem+json",
            example = json!({
                "code": "conflict",
                "detail": "the drill root of component \"trk\" on this agent cannot be used: /srv/maestro/tracker/data/drills lies in the item /srv/maestro/tracker/data of component \"trk\"",
                "status": 409, "title": "Conflict", "type": "/problems/conflict"
            })),
    )
)]
#[post("/components/{name}/drills/{drill_id}")]
pub async fn drill_component(
    _: Admin,
    drills: web::Data<crate::agent::drill::AgentDrills>,
    key: web::Path<DrillPath>,
    body: ValidJson<RemoteDrillRequest>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(drills.run(&key.name, &key.drill_id, &body.0).await?))
}

/// A drill's probe output so far
///
/// The lines the probe of drill `{drill_id}` of the component printed, from line `after` on
/// (lines are numbered from 0; at most the last 10,000 are kept), while the drill runs and for
/// ten minutes after it ended; `next` is the `after` of the next read. The master reads this
/// while its drill call runs, so its drill events show the probe live. Changes nothing; admin
/// (like the drill itself).
#[utoipa::path(
    tag = "agent-restores",
    security(("bearer" = [])),
    params(DrillPath, crate::store::wire::DrillOutputQuery),
    responses(
        (status = 200, description = "The lines from `after` on", body = crate::store::wire::RemoteDrillOutput,
            example = json!({"lines": ["tracker: opening the copy read-only", "tracker data ok"],
                "next": 2, "ended": false})),
        AuthProblems, AgentDrillProblems,
    )
)]
#[get("/components/{name}/drills/{drill_id}/output")]
pub async fn drill_output(
    _: Admin,
    drills: web::Data<crate::agent::drill::AgentDrills>,
    key: web::Path<DrillPath>,
    q: web::Query<crate::store::wire::DrillOutputQuery>,
) -> Result<HttpResponse, ApiError> {
    let out = drills.output(&key.name, &key.drill_id, q.after.unwrap_or(0))?;
    Ok(HttpResponse::Ok().json(out))
}

/// Stop a drill
///
/// Stops drill `{drill_id}` of the component (admin): a probe that runs is killed with its
/// process group, one not yet started does not start; the drill call then answers with the
/// component failed, its scratch removed as always. The master sends this when an operator
/// cancels the drill. Idempotent.
#[utoipa::path(
    tag = "agent-restores",
    security(("bearer" = [])),
    params(DrillPath),
    responses(
        (status = 200, description = "The drill is told to stop (`ended`: it had ended already)",
            body = crate::store::wire::RemoteDrillCancelled, example = json!({"ended": false})),
        AuthProblems, AgentDrillProblems,
    )
)]
#[post("/components/{name}/drills/{drill_id}/cancel")]
pub async fn cancel_drill(
    _: Admin,
    drills: web::Data<crate::agent::drill::AgentDrills>,
    key: web::Path<DrillPath>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(drills.cancel(&key.name, &key.drill_id)?))
}

/// The path of a replication of a component: `/components/{name}/replications/{replication_id}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ReplicationPath {
    /// Component name
    #[param(example = "trk")]
    name: String,
    /// The master's replication ID
    #[param(example = "C20261201T030000Z")]
    replication_id: String,
}

/// Upload a component to a replication target
///
/// Uploads one history slot of the component to the master's replication target (admin): the
/// slot is checked like a restore's source (its `readme.txt` names the backup, which
/// succeeded), the blobs the bucket lacks are uploaded (content-addressed by the hashes of the
/// slot's `SHA256SUMS`, each hashed again while it is read, never overwriting a key), and the
/// answer is the component's part of the set's manifest with the counters. The agent writes no
/// manifest: the master does, once every component's blobs are there. The target's settings
/// and keys come with the call and are used for it only (never stored, logged or answered).
/// Answers when the upload is done (minutes to hours); `POST .../cancel`, or the master closing
/// the connection, stops it. 409 when it was cancelled, or the slot or the bucket is not what
/// it should be; 503 when the store failed or could not be reached.
#[utoipa::path(
    tag = "agent-replications",
    security(("bearer" = [])),
    request_body(content = RemoteReplicationRequest, example = json!({
        "source": {"profile": "maestro-tracker", "backup_folder": "backup", "items": [],
            "backup_id": "20261201T020000Z", "slot": "backup"},
        "target": {"name": "offsite", "endpoint": "https://s3.eu-central-1.amazonaws.com",
            "bucket": "maestro-offsite", "prefix": "site-a", "region": "eu-central-1",
            "path_style": false, "timeout_seconds": 60, "concurrency": 4,
            "max_bytes_per_second": 0, "access_key": "AKIA...", "secret_key": "..."}
    })),
    params(ReplicationPath),
    responses(
        (status = 200, description = "The component's blobs are on the bucket", body = RemoteReplicationAnswer,
            example = json!({
                "component": {"name": "trk", "readme": "Component: trk\n...", "mode": 493,
                    "mtime": [1795909200, 0], "entries": [{"path": "data", "kind": "dir",
                    "mode": 493, "mtime": [1795909200, 0]}, {"path": "data/tracker.dat",
                    "kind": "file", "mode": 420, "mtime": [1795909100, 0], "size": 73400320,
                    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}]},
                "blobs_total": 1, "bytes_total": 73400320, "blobs_uploaded": 1,
                "bytes_uploaded": 73400320, "blobs_present": 0, "bytes_present": 0, "retries": 0
            })),
        AuthProblems, AgentComponentProblems, BodyProblems, AgentReplicationProblems,
    )
)]
#[post("/components/{name}/replications/{replication_id}")]
pub async fn replicate_component(
    _: Admin,
    replications: web::Data<crate::agent::replicate::AgentReplications>,
    key: web::Path<ReplicationPath>,
    body: ValidJson<RemoteReplicationRequest>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(
        replications
            .copy(&key.name, &key.replication_id, &body.0)
            .await?,
    ))
}

/// Cancel a component's upload
///
/// Stops the upload of the master's replication running on this agent for the component
/// (admin): it ends between chunks, and its upload call answers 409 (cancelled). Blobs already
/// uploaded stay (the next replication skips them). Idempotent: `running` says whether an
/// upload was running.
#[utoipa::path(
    tag = "agent-replications",
    security(("bearer" = [])),
    params(ReplicationPath),
    responses(
        (status = 200, description = "Cancelled (or not running)", body = ReplicationCancelAnswer,
            example = json!({"running": true})),
        AuthProblems, AgentComponentProblems,
    )
)]
#[post("/components/{name}/replications/{replication_id}/cancel")]
pub async fn cancel_replication(
    _: Admin,
    replications: web::Data<crate::agent::replicate::AgentReplications>,
    key: web::Path<ReplicationPath>,
) -> Result<HttpResponse, ApiError> {
    let running = replications.cancel(&key.name, &key.replication_id)?;
    Ok(HttpResponse::Ok().json(ReplicationCancelAnswer { running }))
}

/// The path of a download of a component: `/components/{name}/downloads/{download_id}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DownloadPath {
    /// Component name
    #[param(example = "trk")]
    name: String,
    /// The master's download ID
    #[param(example = "C20261201T101500Z")]
    download_id: String,
}

/// Download a component from a replication target
///
/// Downloads the component's folder of a replicated set from the master's replication target
/// into `<state_dir>/downloads/<download_id>/<name>/` on this machine (admin), for a restore
/// from the target: rebuilt exactly as the set's manifest describes it, every blob hashed
/// while written, then checked against its `SHA256SUMS` (`verification`). A restore then names
/// it with `from_download`; the folder is removed when that restore is committed or rolled
/// back here, and earlier downloads (marked as the product's, read by no open restore) at the
/// next download. The target's settings and keys come with the call and are used for it only.
/// 409 when the set or the component is not on the bucket, the bucket holds something damaged,
/// or the download folder is not the product's; 503 when the store failed.
#[utoipa::path(
    tag = "agent-replications",
    security(("bearer" = [])),
    request_body(content = RemoteDownloadRequest, example = json!({
        "backup_id": "20261201T020000Z",
        "target": {"name": "offsite", "endpoint": "https://s3.eu-central-1.amazonaws.com",
            "bucket": "maestro-offsite", "prefix": "site-a", "region": "eu-central-1",
            "path_style": false, "timeout_seconds": 60, "concurrency": 4,
            "max_bytes_per_second": 0, "access_key": "AKIA...", "secret_key": "..."}
    })),
    params(DownloadPath),
    responses(
        (status = 200, description = "Downloaded and checked", body = RemoteDownloadAnswer,
            example = json!({
                "folder": "/var/lib/backup-master-agent/downloads/C20261201T101500Z/trk",
                "files": 214, "bytes": 73400320,
                "verification": {"component": "trk",
                    "folder": "/var/lib/backup-master-agent/downloads/C20261201T101500Z/trk",
                    "ok": true, "changed": [], "missing": [], "unlisted": [], "unreadable": [],
                    "error": null, "omitted": 0, "files_checked": 214, "bytes_checked": 73400320}
            })),
        AuthProblems, AgentComponentProblems, BodyProblems, AgentReplicationProblems,
    )
)]
#[post("/components/{name}/downloads/{download_id}")]
pub async fn download_component(
    _: Admin,
    replications: web::Data<crate::agent::replicate::AgentReplications>,
    key: web::Path<DownloadPath>,
    body: ValidJson<RemoteDownloadRequest>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(
        replications
            .download(&key.name, &key.download_id, &body.0)
            .await?,
    ))
}
