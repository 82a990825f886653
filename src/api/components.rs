//! `/api/v1/components`: the configured components; PUT changes backup folder, keep and items.

use actix_web::{get, put, web, HttpRequest, HttpResponse};

use super::settings::{if_match, with_etag};
use super::{
    AuthProblems, BodyProblems, ComponentInvalid, ComponentProblems, ConfigUnwritableProblem,
    PreconditionProblems, TokenProblems, ValidJson,
};
use crate::auth::{Admin, Viewer};
use crate::error::ApiError;
use crate::resolver::Resolver;
use crate::state::{AppState, ComponentUpdate, ComponentView};
use crate::store::remote::Agents;

/// Asks the agent of every remote component in `views` (concurrently, short timeout) and fills
/// in `reachable`, `agent_version`, `agent_error` and `in_doubt`. The ETag does not cover
/// these. Transactions in doubt wake the resolver.
async fn with_reachability(agents: &Agents, resolver: &Resolver, views: &mut [ComponentView]) {
    let probes = futures_util::future::join_all(views.iter().map(|v| agents.probe(&v.name))).await;
    let mut doubt = false;
    for (v, p) in views.iter_mut().zip(probes) {
        if let Some(p) = p {
            doubt |= !p.in_doubt.is_empty();
            v.reachable = Some(p.reachable);
            v.agent_version = p.version;
            v.agent_error = p.error;
            v.in_doubt = p.reachable.then_some(p.in_doubt);
        }
    }
    if doubt {
        resolver.wake();
    }
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_components)
        .service(get_component)
        .service(put_component);
}

/// The components
///
/// Every configured component in config order: profile, home, backup folder, `keep`, items;
/// for a component on an agent also whether its agent answers now, its version, and its
/// backups and restores in doubt there (`in_doubt`; each agent is asked concurrently, with a
/// short timeout, so this takes at most a few seconds). Changes nothing; any role.
#[utoipa::path(
    tag = "components",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The components", body = Vec<ComponentView>,
            example = json!(super::examples::components())),
        TokenProblems,
    )
)]
#[get("/components")]
pub async fn list_components(
    _: Viewer,
    state: web::Data<AppState>,
    agents: web::Data<Agents>,
    resolver: web::Data<Resolver>,
) -> HttpResponse {
    let mut views = state.components();
    with_reachability(&agents, &resolver, &mut views).await;
    HttpResponse::Ok().json(views)
}

/// One component
///
/// One component, as in the list, with an `ETag` for `If-Match` of
/// `PUT /components/{name}`. Changes nothing; any role. 404 (`component_not_found`) for a name
/// the config does not have.
#[utoipa::path(
    tag = "components",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Component name", example = "lui")),
    responses(
        (status = 200, description = "The component", body = ComponentView,
            headers(("ETag" = String, description = "Version, for If-Match")),
            example = json!(super::examples::component_view())),
        TokenProblems, ComponentProblems,
    )
)]
#[get("/components/{name}")]
pub async fn get_component(
    _: Viewer,
    state: web::Data<AppState>,
    agents: web::Data<Agents>,
    resolver: web::Data<Resolver>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (view, etag) = state.component(&name)?;
    let mut views = [view];
    with_reachability(&agents, &resolver, &mut views).await;
    let [view] = views;
    Ok(with_etag(&view, etag))
}

/// Change a component's backup folder and history
///
/// Sets a component's backup folder, how many previous backups it keeps (`keep`, 0 to 100),
/// for a `custom` profile its items, and its consistency settings (`freeze_command`,
/// `thaw_command`, `freeze_timeout_seconds` 1 to 3600, `on_change` `warn`/`fail`, `snapshot`
/// with its commands) and its restore lifecycle (`stop_command`, `start_command`,
/// `health_command`, `start_timeout_seconds` 1 to 3600, `rollback_on_unhealthy`); each
/// optional, absent keeps the current value (admin). Needs `If-Match` with the `ETag` of
/// `GET /components/{name}` (`*` writes unconditionally): 428 (`precondition_required`)
/// without it, 412 (`precondition_failed`) when stale. Refused with 422
/// (`validation_failed`, `errors` naming the field), changing nothing: a folder shared with or
/// nested in another component's backup folder or home, a folder inside one of the items, an
/// existing folder that is not a backup folder, `items` for a built-in profile, a value out
/// of range, a thaw without a freeze, snapshot commands without `snapshot = "command"`, and
/// what this version cannot do yet (snapshots, freeze commands, `on_change = "fail"` on an
/// agent's component). The config
/// file is written atomically (503 `unavailable` when it cannot be); the next backup uses the
/// new settings, existing slots are not moved.
#[utoipa::path(
    tag = "components",
    security(("bearer" = [])),
    request_body(content = ComponentUpdate, example = json!(super::examples::component_update())),
    params(
        ("name" = String, Path, description = "Component name", example = "lui"),
        ("If-Match" = String, Header, description = "The ETag from GET /components/{name}, or `*`",
            example = "\"0c9d1f7e2b3a4c5d6e7f8091\""),
    ),
    responses(
        (status = 200, description = "Saved; the component as it is now", body = ComponentView,
            headers(("ETag" = String, description = "The new version")),
            example = json!(super::examples::component_view())),
        AuthProblems, ComponentProblems, BodyProblems, ComponentInvalid, PreconditionProblems,
        ConfigUnwritableProblem,
    )
)]
#[put("/components/{name}")]
pub async fn put_component(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: ValidJson<ComponentUpdate>,
) -> Result<HttpResponse, ApiError> {
    let (view, etag) = state.update_component(&name, if_match(&req), body.0)?;
    Ok(with_etag(&view, etag))
}
