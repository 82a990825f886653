//! The request log: one line per HTTP request (method, route, status, duration, request ID),
//! for the master's and the agent's apps alike.
//!
//! * Every request gets a random `request_id`; whatever is logged while it is handled (an
//!   internal error's cause, say) carries it, through the `request` span it runs in.
//! * The line is written once the response (its status and headers) is known: 2xx and 3xx at
//!   INFO; 4xx at INFO too (a client's mistake is not the server's problem), with the problem's
//!   `type`, `code` and `detail` read from the `application/problem+json` body; 5xx at ERROR,
//!   with the same. The cause of a 5xx is logged at ERROR where it is known (`ApiError::internal`),
//!   inside the request's span, so both lines carry the same `request_id`.
//! * `route` is the pattern of the resource that actually answered (`/api/v1/backups/{id}`),
//!   asked for after routing: asked before, actix matches the path alone, without the method
//!   guards, and `POST /api/v1/backup-sets/import` would be named `/api/v1/backup-sets/{id}`.
//!   Where the route has parameters (or none matched) the line also has the `path`.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use serde::Deserialize;
use tracing::Instrument;

/// Longest `path` and `detail` written to a line; longer ones are cut (a client chooses them).
const MAX_FIELD: usize = 300;

/// The fields of a problem body the log line shows.
#[derive(Deserialize, Default)]
struct ProblemFields {
    #[serde(rename = "type")]
    kind: Option<String>,
    code: Option<String>,
    detail: Option<String>,
}

/// A short random ID for one request (16 hex digits).
fn new_request_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// Milliseconds since `started`, to a tenth.
fn ms(started: Instant) -> f64 {
    (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0
}

fn cut(s: &str) -> String {
    match s.char_indices().nth(MAX_FIELD) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The middleware (`actix_web::middleware::from_fn(request_log::log_request)`).
pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let request_id = new_request_id();
    let method = req.method().clone();
    let path = req.path().to_string();
    // No clone of the request may live across the call: routing needs it unshared.
    let span = tracing::info_span!("request", request_id = %request_id);
    let res = match next.call(req).instrument(span).await {
        Ok(res) => res.map_into_boxed_body(),
        Err(e) => {
            // An error no service turned into a response (actix does, further out).
            let status = e.as_response_error().status_code().as_u16();
            let route = "-";
            let path = Some(cut(&path));
            let error = cut(&e.to_string());
            if status >= 500 {
                tracing::error!(%method, route, path, status, duration_ms = ms(started), %request_id, error, "request failed");
            } else {
                tracing::info!(%method, route, path, status, duration_ms = ms(started), %request_id, error, "request refused");
            }
            return Err(e);
        }
    };
    let status = res.status();
    let (res, problem) = read_problem(res);
    let route = res.request().match_pattern();
    let duration_ms = ms(started);
    let path = match &route {
        Some(r) if r == &path => None,
        _ => Some(cut(&path)),
    };
    let route = route.unwrap_or_else(|| "-".to_string());
    let status_code = status.as_u16();
    if status.is_server_error() {
        // A problem body already says it (its cause is logged where it happened, in this
        // request's span); any other error is named here.
        let error = match problem.kind {
            Some(_) => None,
            None => res.response().error().map(|e| cut(&e.to_string())),
        };
        tracing::error!(
            %method, %route, path, status = status_code, duration_ms, %request_id,
            problem = problem.kind, code = problem.code, detail = problem.detail.as_deref().map(cut),
            error, "request failed"
        );
    } else if status.is_client_error() {
        tracing::info!(
            %method, %route, path, status = status_code, duration_ms, %request_id,
            problem = problem.kind, code = problem.code, detail = problem.detail.as_deref().map(cut),
            "request refused"
        );
    } else {
        tracing::info!(%method, %route, path, status = status_code, duration_ms, %request_id, "request");
    }
    Ok(res)
}

/// The problem fields of an error response whose body is `application/problem+json` and in
/// memory (as every problem body is); the response goes on unchanged.
fn read_problem(res: ServiceResponse<BoxBody>) -> (ServiceResponse<BoxBody>, ProblemFields) {
    let is_problem = res.status() >= StatusCode::BAD_REQUEST
        && res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/problem+json"));
    if !is_problem {
        return (res, ProblemFields::default());
    }
    let (http_req, response) = res.into_parts();
    let (head, body) = response.into_parts();
    match body.try_into_bytes() {
        Ok(bytes) => {
            let problem = serde_json::from_slice(&bytes).unwrap_or_default();
            let res = ServiceResponse::new(http_req, head.set_body(BoxBody::new(bytes)));
            (res, problem)
        }
        // A streamed body is passed on untouched, unread.
        Err(body) => (
            ServiceResponse::new(http_req, head.set_body(body)),
            ProblemFields::default(),
        ),
    }
}
