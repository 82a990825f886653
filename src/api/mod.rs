//! The HTTP edge: one file per resource, handlers only. This module holds the OpenAPI document
//! (`ApiDoc`), the reusable problem responses every operation documents, and `routes`, the one
//! list of services that both the server and `backup-master openapi` are built from.

use std::collections::BTreeMap;

use utoipa::openapi::{
    self,
    security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    ContentBuilder, Ref, RefOr, ResponseBuilder,
};
use utoipa::{IntoResponses, Modify, OpenApi};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{FieldError, Problem};

pub mod backup_sets;
pub mod backups;
pub mod components;
pub mod health;
pub mod hook_processes;
pub mod json;
pub mod metrics;
pub mod restores;
pub mod schedule;
pub mod settings;

pub use json::ValidJson;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "backup-master",
        description = "Consistent, crash-safe backups of an application made of several components: \
            atomic backup sets, history, post-backup commands and restores. Every `/api/v1` route \
            needs `Authorization: Bearer <token>`; roles are viewer < operator < admin. Errors are \
            `application/problem+json` (RFC 9457).",
        license(name = "MIT", identifier = "MIT"),
    ),
    modifiers(&BearerAuth),
    components(schemas(Problem, FieldError)),
    tags(
        (name = "settings", description = "Schedule and post-backup hooks"),
        (name = "components", description = "The components backed up and their history"),
        (name = "backups", description = "Backup jobs: start, follow, cancel, report"),
        (name = "hook-processes", description = "Post-backup commands, test runs, their output"),
        (name = "restores", description = "Restore jobs: plan (dry run), verify, apply with rollback"),
        (name = "backup-sets", description = "Backup sets found on disk, imports from external media, verification"),
        (name = "health", description = "Liveness"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, api: &mut openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A token from the config file's [[tokens]]"))
                    .build(),
            ),
        );
    }
}

/// Every API route. The server mounts it; `openapi()` collects the spec from it.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz);
    cfg.service(metrics::get_metrics);
    cfg.service(
        utoipa_actix_web::scope("/api/v1")
            .configure(settings::routes)
            .configure(schedule::routes)
            .configure(components::routes)
            .configure(backups::routes)
            .configure(hook_processes::routes)
            .configure(backup_sets::routes)
            .configure(restores::routes),
    );
}

/// The OpenAPI document, as served at `/api-docs/openapi.json` and printed by `openapi`.
pub fn openapi() -> openapi::OpenApi {
    use utoipa_actix_web::AppExt;
    let (_, api) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes)
        .split_for_parts();
    api
}

fn problem(description: &str) -> RefOr<openapi::response::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build(),
    )
}

macro_rules! problem_responses {
    ($($name:ident => [$(($code:literal, $desc:literal)),+ $(,)?];)+) => {
        $(
            #[doc = concat!("Problem responses: ", $($code, " "),+)]
            pub struct $name;
            impl IntoResponses for $name {
                fn responses() -> BTreeMap<String, RefOr<openapi::response::Response>> {
                    let mut m = BTreeMap::new();
                    $( m.insert($code.to_string(), problem($desc)); )+
                    m
                }
            }
        )+
    };
}

problem_responses! {
    AuthProblems => [
        ("401", "No token, or an unknown one"),
        ("403", "The token's role is too weak"),
    ];
    NotFoundProblem => [("404", "No such resource")];
    BodyProblems => [
        ("400", "Malformed JSON"),
        ("413", "Body over 1 MiB"),
        ("415", "Body is not application/json"),
        ("422", "A field is invalid; `errors` names each one"),
    ];
    QueryProblems => [("422", "A query parameter is invalid; `errors` names it")];
    PreconditionProblems => [
        ("412", "If-Match does not match the current ETag"),
        ("428", "If-Match is missing"),
    ];
    ConflictProblem => [("409", "Another job is running; `running_id` names it")];
    UnavailableProblem => [("503", "The server could not write its files (disk full, permissions)")];
}
