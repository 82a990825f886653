//! The HTTP edge: one file per resource, handlers only. This module holds the OpenAPI document
//! (`ApiDoc`), the reusable problem responses every operation documents, and `routes`, the one
//! list of services that both the server and `backup-master openapi` are built from.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::OnceLock;

use actix_web::{http::header, HttpRequest, HttpResponse, ResponseError};
use utoipa::openapi::{
    self,
    extensions::Extensions,
    schema::{ObjectBuilder, OneOfBuilder, Schema, Type},
    security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    ContentBuilder, Ref, RefOr, ResponseBuilder,
};
use utoipa::{IntoResponses, Modify, OpenApi, PartialSchema, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{ApiError, FieldError, Problem, ProblemKind};

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
pub mod streams;

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
    components(schemas(Problem, FieldError, JobId)),
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

pub struct BearerAuth;

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

/// The IDs of jobs and records in paths and cursors (backups, verifications, hook processes,
/// restores): what `backups::check_id` accepts. Documented so that clients and fuzzers know an
/// ID that does not fit is refused with 422 before anything is looked up.
pub struct JobId;

/// `[0-9A-Za-z._-]`, not starting with `.`, no `..` (JSON Schema / ECMA-262 syntax).
pub const JOB_ID_PATTERN: &str = r"^[0-9A-Za-z_-]+(\.[0-9A-Za-z_-]+)*\.?$";
pub const JOB_ID_MAX_LEN: usize = 80;

impl PartialSchema for JobId {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "A job or record ID: 1 to 80 of `0-9 A-Z a-z . _ -`, not starting with `.`, \
                 without `..`; e.g. `20261126T020000Z` or `20261126T020000Z.0001`.",
            ))
            .min_length(Some(1))
            .max_length(Some(JOB_ID_MAX_LEN))
            .pattern(Some(JOB_ID_PATTERN))
            .into()
    }
}

impl ToSchema for JobId {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("JobId")
    }
}

/// The schema of one server-sent event as OpenAPI describes the items of a `text/event-stream`
/// (`event`, `data`, `id`): `event` is one of `events`, `data` a JSON document of the schema
/// named `data_schema` (`contentMediaType` + `contentSchema`), `id` the line number when `with_id`.
pub(crate) fn sse_event(
    description: &str,
    events: &[&str],
    data_schema: &str,
    with_id: bool,
) -> ObjectBuilder {
    let content_schema =
        serde_json::to_value(Ref::from_schema_name(data_schema)).unwrap_or(serde_json::Value::Null);
    let data = ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(format!("JSON: a {data_schema}")))
        .content_media_type("application/json")
        .extensions(Some(Extensions::from_iter([(
            "contentSchema",
            content_schema,
        )])));
    let mut event = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(description))
        .property(
            "event",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(events.iter().copied())),
        )
        .required("event")
        .property("data", data)
        .required("data");
    if with_id {
        event = event
            .property(
                "id",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("The line number, for `Last-Event-ID`"))
                    .pattern(Some("^[0-9]+$")),
            )
            .required("id");
    }
    event
}

/// One of several event shapes (see [`sse_event`]).
pub(crate) fn sse_one_of(description: &str, events: Vec<ObjectBuilder>) -> RefOr<Schema> {
    let mut b = OneOfBuilder::new().description(Some(description));
    for e in events {
        b = b.item(e);
    }
    b.into()
}

/// The methods the API serves at `path`, from the OpenAPI document (`{param}` segments match
/// any one segment; of several matching paths the one with the fewest parameters counts, as
/// `/backup-sets/import` over `/backup-sets/{id}`); None when no documented route has this path.
pub fn allowed_methods(path: &str) -> Option<Vec<&'static str>> {
    type Routes = Vec<(Vec<String>, Vec<&'static str>)>;
    static ROUTES: OnceLock<Routes> = OnceLock::new();
    let routes = ROUTES.get_or_init(|| {
        openapi()
            .paths
            .paths
            .iter()
            .map(|(template, item)| {
                let ops = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("PATCH", item.patch.is_some()),
                ];
                let methods = ops.iter().filter(|(_, on)| *on).map(|(m, _)| *m).collect();
                (template.split('/').map(String::from).collect(), methods)
            })
            .collect()
    });
    let segments: Vec<&str> = path.split('/').collect();
    let is_param = |t: &str| t.starts_with('{') && t.ends_with('}');
    routes
        .iter()
        .filter(|(template, _)| {
            template.len() == segments.len()
                && template
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| t == s || (is_param(t) && !s.is_empty()))
        })
        .min_by_key(|(template, _)| template.iter().filter(|t| is_param(t)).count())
        .map(|(_, methods)| methods.clone())
}

/// Every request no route took: for a documented path with another method, `405` with `Allow`
/// (and `OPTIONS` answers `204` with `Allow`); otherwise `404`. Both as problem+json.
pub async fn fallback(req: HttpRequest) -> HttpResponse {
    let Some(methods) = allowed_methods(req.path()) else {
        return ApiError::not_found(format!("no route {} {}", req.method(), req.path()))
            .error_response();
    };
    let allow = methods.join(", ");
    if req.method() == actix_web::http::Method::OPTIONS {
        return HttpResponse::NoContent()
            .insert_header((header::ALLOW, allow))
            .finish();
    }
    let mut resp = ApiError::new(
        ProblemKind::MethodNotAllowed,
        format!("{} {}: this path serves {allow}", req.method(), req.path()),
    )
    .error_response();
    if let Ok(v) = header::HeaderValue::from_str(&allow) {
        resp.headers_mut().insert(header::ALLOW, v);
    }
    resp
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
    TooManySubscribersProblem => [("429", "The stream has `max_stream_subscribers` subscribers already; try again when one has left")];
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{http::Method, test::TestRequest};

    #[test]
    fn allowed_methods_come_from_the_openapi_document() {
        assert_eq!(
            allowed_methods("/api/v1/backups"),
            Some(vec!["GET", "POST"])
        );
        assert_eq!(
            allowed_methods("/api/v1/backups/20261126T020000Z"),
            Some(vec!["GET"])
        );
        assert_eq!(
            allowed_methods("/api/v1/hook-processes/x"),
            Some(vec!["GET", "DELETE"])
        );
        // A literal path wins over a parameter in the same place.
        assert_eq!(
            allowed_methods("/api/v1/backup-sets/import"),
            Some(vec!["POST"])
        );
        assert_eq!(allowed_methods("/api/v1/backup-sets/x1"), Some(vec!["GET"]));
        assert_eq!(allowed_methods("/healthz"), Some(vec!["GET"]));
        assert_eq!(allowed_methods("/api/v1/backups//report"), None);
        assert_eq!(allowed_methods("/api/v1/nothing"), None);
    }

    #[actix_web::test]
    async fn undeclared_methods_get_405_with_allow() {
        let req = TestRequest::default()
            .method(Method::TRACE)
            .uri("/api/v1/backups")
            .to_http_request();
        let resp = fallback(req).await;
        assert_eq!(resp.status(), 405);
        assert_eq!(resp.headers().get(header::ALLOW).unwrap(), "GET, POST");
        assert_eq!(
            resp.headers().get(header::CONTENT_TYPE).unwrap(),
            "application/problem+json"
        );

        let req = TestRequest::default()
            .method(Method::OPTIONS)
            .uri("/api/v1/settings")
            .to_http_request();
        let resp = fallback(req).await;
        assert_eq!(resp.status(), 204);
        assert_eq!(resp.headers().get(header::ALLOW).unwrap(), "GET, PUT");

        let req = TestRequest::default()
            .method(Method::GET)
            .uri("/api/v1/nothing")
            .to_http_request();
        assert_eq!(fallback(req).await.status(), 404);
    }
}
