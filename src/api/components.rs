//! `/api/v1/components`: the configured components; PUT changes backup folder, keep and items.

use actix_web::{get, put, web, HttpRequest, HttpResponse};

use super::settings::{if_match, with_etag};
use super::{
    AuthProblems, BodyProblems, NotFoundProblem, PreconditionProblems, UnavailableProblem,
    ValidJson,
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

/// Every configured component; for a remote one also whether its agent answers, its version,
/// and its backups and restores in doubt there.
#[utoipa::path(
    tag = "components",
    security(("bearer" = [])),
    responses((status = 200, description = "The components", body = Vec<ComponentView>), AuthProblems)
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

/// One component, with an `ETag` for PUT.
#[utoipa::path(
    tag = "components",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Component name", example = "lui")),
    responses(
        (status = 200, description = "The component", body = ComponentView,
            headers(("ETag" = String, description = "Version, for If-Match"))),
        AuthProblems, NotFoundProblem,
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

/// Changes a component's backup folder, history length and (custom profile) items (admin).
/// Needs `If-Match`. Refuses folders shared with or nested in another component's, folders
/// inside an item, and existing non-backup folders; the config file is written atomically.
#[utoipa::path(
    tag = "components",
    security(("bearer" = [])),
    request_body = ComponentUpdate,
    params(
        ("name" = String, Path, description = "Component name", example = "lui"),
        ("If-Match" = String, Header, description = "The ETag from GET /components/{name}"),
    ),
    responses(
        (status = 200, description = "Saved", body = ComponentView,
            headers(("ETag" = String, description = "The new version"))),
        AuthProblems, NotFoundProblem, BodyProblems, PreconditionProblems, UnavailableProblem,
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
