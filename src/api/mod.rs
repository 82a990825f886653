//! The HTTP edge: one file per resource, handlers only. This module holds the OpenAPI document
//! (`ApiDoc`: info, servers, tags, security), and `routes`, the one list of services that both
//! the server and `backup-master openapi` are built from. The problem responses operations
//! document are in [`problems`], the examples of their bodies in [`examples`].

use std::borrow::Cow;
use std::sync::OnceLock;

use actix_web::{http::header, HttpRequest, HttpResponse, ResponseError};
use utoipa::openapi::{
    self,
    extensions::Extensions,
    schema::{ObjectBuilder, OneOfBuilder, Schema, Type},
    security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    Ref, RefOr,
};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{ApiError, FieldError, Problem, ProblemKind};

pub mod audit;
pub mod backup_sets;
pub mod backups;
pub mod components;
pub mod drills;
pub mod examples;
pub mod health;
pub mod hook_processes;
pub mod json;
pub mod metrics;
pub mod notification_targets;
pub mod notifications;
pub mod problems;
pub mod replication_targets;
pub mod replications;
pub mod restores;
pub mod schedule;
pub mod settings;
pub mod streams;

pub use json::ValidJson;
pub use problems::*;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "backup-master",
        description = "Consistent, crash-safe backups of an application made of several components \
            (folder trees, some on other servers through an agent): atomic backup sets kept in \
            history slots (`backup`, `backup1`, ...), post-backup hook commands, verification and \
            restores.\n\n\
            **Auth.** Every `/api/v1` route needs `Authorization: Bearer <token>`. Roles: viewer \
            reads everything; operator also starts and cancels backups and verifications; admin \
            also changes settings, components and notification targets, runs and terminates hooks, \
            imports and restores, reads the notification deliveries and the audit log (`/audit`), \
            where every request that is not a GET or HEAD is recorded with the token's name. \
            `/healthz` needs no token, `/metrics` none when the config sets `metrics_public`.\n\n\
            **Jobs.** Backups, verifications and restores are jobs: the start answers `202` at once \
            with the record and its `Location`; poll it (or follow `/backups/{id}/events`) until \
            `status` is not `running`. One job runs at a time: a second one answers `409` \
            `job_running` naming the running one.\n\n\
            **Writes.** `PUT /settings` and `PUT /components/{name}` need `If-Match` with the `ETag` \
            of the GET (`428` without, `412` when stale).\n\n\
            **Errors** are `application/problem+json` (RFC 9457) with `type`, `title`, `status`, \
            `detail`, a stable domain `code` (the `Problem` schema lists every code) and, for \
            invalid input, an `errors` list naming each field. Bad input never changes anything \
            on disk.",
        license(name = "MIT", identifier = "MIT"),
        contact(name = "backup-master maintainers"),
    ),
    servers(
        (url = "/", description = "The server this document is served by"),
        (url = "http://127.0.0.1:8080", description = "The default listen address (`listen` in the config file)"),
    ),
    modifiers(&BearerAuth),
    components(schemas(Problem, FieldError, JobId)),
    tags(
        (name = "settings", description = "The daily schedule (time, zone, catch-up) and the post-backup hooks, \
            read and replaced as a whole with `ETag` / `If-Match`; and the schedule log, what became of each \
            scheduled run."),
        (name = "components", description = "The components backed up: profile, home, backup folder, how many \
            previous backups are kept; and each component's history slots as they are on disk."),
        (name = "backups", description = "Backup jobs: start one (202), follow it (poll or server-sent events), \
            cancel it, read its report; discard staging folders kept after a commit that could not complete."),
        (name = "hook-processes", description = "The post-backup commands (`on_success`, `on_failure`) and test runs: \
            list, run a test, follow the output live (server-sent events, resumable), terminate."),
        (name = "restores", description = "Restore jobs: plan one (dry run), or restore a verified set with a \
            safety copy of everything replaced and a rollback on any failure; follow it by polling."),
        (name = "drills", description = "Restore drills: a backup set restored into scratch folders as a restore \
            would, every file hashed against `SHA256SUMS`, a probe command run against the copy; passed or failed \
            per component with the measured RTO and RPO."),
        (name = "backup-sets", description = "Backup sets found on disk (works without the master's records), \
            folders imported from external media, and verification jobs against `SHA256SUMS`."),
        (name = "audit", description = "The audit log: every request that could change something (not a GET or HEAD), \
            whoever sent it and whatever its outcome, with the token's name and role (never the token), read back \
            by an admin."),
        (name = "notifications", description = "Notification targets (webhook, email, ping) with their matchers, \
            a test send per target, and the record of every delivery. Admin only."),
        (name = "replication", description = "Off-site copies on S3-compatible object storage: the replication \
            targets (viewer reads, admin changes), replication jobs (operator starts and cancels; records and \
            server-sent events for any role), and the sets on a target's bucket."),
        (name = "health", description = "Liveness (no token) and Prometheus metrics."),
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
            .configure(restores::routes)
            .configure(drills::routes)
            .configure(audit::routes)
            .configure(notification_targets::routes)
            .configure(notifications::routes)
            .configure(replication_targets::routes)
            .configure(replications::routes),
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
    merge_closed_all_of(api)
}

/// A view that flattens a closed schema (`#[serde(deny_unknown_fields)]`, so
/// `additionalProperties: false`) comes out of utoipa as `allOf: [closed, {its own fields}]`,
/// which no object can satisfy (the closed part rejects the view's own fields). Such a view is
/// written as one closed object with the fields of both.
fn merge_closed_all_of(mut api: openapi::OpenApi) -> openapi::OpenApi {
    use serde_json::Value;
    let Some(components) = api.components.as_mut() else {
        return api;
    };
    // Each schema as JSON (one at a time: a round trip of the whole document would lose what
    // utoipa's types do not read back, such as `contentSchema`).
    let json: std::collections::BTreeMap<String, Value> = components
        .schemas
        .iter()
        .filter_map(|(n, s)| Some((n.clone(), serde_json::to_value(s).ok()?)))
        .collect();
    for (name, schema) in &json {
        let Some([first, own]) = schema["allOf"]
            .as_array()
            .and_then(|a| <&[Value; 2]>::try_from(a.as_slice()).ok())
        else {
            continue;
        };
        let Some(base) = first["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
            .and_then(|n| json.get(n))
            .filter(|b| b["additionalProperties"] == Value::Bool(false))
        else {
            continue;
        };
        let mut merged = base.clone();
        if let (Some(props), Some(more)) = (
            merged["properties"].as_object_mut(),
            own["properties"].as_object(),
        ) {
            props.extend(more.clone());
        }
        if let Some(more) = own["required"].as_array() {
            match merged["required"].as_array_mut() {
                Some(req) => req.extend(more.iter().cloned()),
                None => merged["required"] = Value::Array(more.clone()),
            }
        }
        merged["description"] = schema["description"].clone();
        if let Ok(s) = serde_json::from_value(merged) {
            components.schemas.insert(name.clone(), s);
        }
    }
    api
}

/// The document as this server serves it: with `metrics_public` the `/metrics` route needs no
/// token, so its `security` is `[]` there (the printed document, made without a config, keeps
/// both possibilities).
pub fn served_openapi(api: openapi::OpenApi, metrics_public: bool) -> openapi::OpenApi {
    let mut api = merge_closed_all_of(api);
    if metrics_public {
        if let Some(op) = api
            .paths
            .paths
            .get_mut("/metrics")
            .and_then(|item| item.get.as_mut())
        {
            op.security = Some(Vec::new());
            op.responses.responses.remove("401");
        }
    }
    api
}

/// What the master's app and the agent's share: the request body limit, and problem+json for
/// actix's own query and path errors.
pub fn with_extractor_config<T>(
    app: utoipa_actix_web::UtoipaApp<T>,
) -> utoipa_actix_web::UtoipaApp<T>
where
    T: actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Error = actix_web::Error,
        InitError = (),
    >,
{
    app.app_data(actix_web::web::PayloadConfig::new(json::MAX_BODY))
        .app_data(
            actix_web::web::QueryConfig::default()
                .error_handler(|e, _| crate::error::query_error(e).into()),
        )
        .app_data(
            actix_web::web::PathConfig::default()
                .error_handler(|e, _| crate::error::path_error(e).into()),
        )
}

/// The Swagger UI page (`/swagger-ui/`, `/swagger-ui/index.html`) with `title` as the page's
/// title; registered before utoipa's Swagger UI service, which serves the rest of its files.
pub fn swagger_index(title: &'static str) -> actix_web::Resource {
    async fn index(title: actix_web::web::Data<SwaggerTitle>) -> HttpResponse {
        let config = std::sync::Arc::new(utoipa_swagger_ui::Config::from("/api-docs/openapi.json"));
        match utoipa_swagger_ui::serve("index.html", config) {
            Ok(Some(file)) => {
                let html = String::from_utf8_lossy(&file.bytes).replace(
                    "<title>Swagger UI</title>",
                    &format!("<title>{}</title>", title.0),
                );
                HttpResponse::Ok()
                    .content_type(file.content_type)
                    .body(html)
            }
            Ok(None) => ApiError::not_found("no Swagger UI page").error_response(),
            Err(e) => ApiError::internal(e).error_response(),
        }
    }
    actix_web::web::resource(["/swagger-ui/", "/swagger-ui/index.html"])
        .app_data(actix_web::web::Data::new(SwaggerTitle(title)))
        .route(actix_web::web::get().to(index))
}

struct SwaggerTitle(&'static str);

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
