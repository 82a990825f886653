//! The audit middleware: every request under `/api/v1` that is not a GET or HEAD, whatever its
//! outcome (401 and 403 included), is appended to the audit log ([`crate::audit`]) before its
//! answer goes out.
//!
//! * Who: the bearer token's name and role ([`Tokens::identify_headers`]); none without a valid
//!   token. Never the token, never a body, never the query string.
//! * What: method, path, status, the ID of what was created (the last segment of `Location`
//!   of a 2xx answer, else the body's `id` of a 201 or 202), the peer's IP address.
//! * The line is written on the blocking pool and fsynced; the answer waits for it. When it
//!   cannot be written, a success (2xx, 3xx) is replaced by a 503 `audit_unavailable` naming
//!   what the request answered, so no client sees a success that the audit log lacks; a
//!   refusal (4xx, 5xx) changed nothing and goes out as it was, with the failure logged.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};

use crate::audit::{AuditLog, NewEntry};
use crate::auth::Tokens;
use crate::error::{ApiError, Code};

/// The prefix of the audited routes.
const API_PREFIX: &str = "/api/v1";
/// Longest path recorded (a client chooses it); longer ones are cut.
const MAX_PATH: usize = 1024;
/// Longest created ID recorded.
const MAX_ID: usize = 200;

/// Whether a request is audited: not a GET or HEAD, under `/api/v1`.
pub fn is_audited(method: &Method, path: &str) -> bool {
    *method != Method::GET
        && *method != Method::HEAD
        && (path == API_PREFIX
            || path
                .strip_prefix(API_PREFIX)
                .is_some_and(|rest| rest.starts_with('/')))
}

fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The middleware (`actix_web::middleware::from_fn(request_audit::audit_request)`).
pub async fn audit_request(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let log = req.app_data::<web::Data<AuditLog>>().cloned();
    let (Some(log), true) = (log, is_audited(req.method(), req.path())) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let who = req
        .app_data::<web::Data<Tokens>>()
        .and_then(|t| t.identify_headers(req.headers()));
    let mut entry = NewEntry {
        token: who.as_ref().map(|w| w.name.clone()),
        role: who.map(|w| w.role),
        method: req.method().as_str().to_string(),
        path: cut(req.path(), MAX_PATH),
        status: 0,
        job_id: None,
        remote_addr: req.peer_addr().map(|a| a.ip().to_string()),
    };
    match next.call(req).await {
        Ok(res) => {
            let (res, job_id) = created_id(res.map_into_boxed_body());
            entry.status = res.status().as_u16();
            entry.job_id = job_id;
            match write(log, entry.clone()).await {
                Ok(()) => Ok(res),
                Err(e) if res.status().is_success() || res.status().is_redirection() => {
                    let (http_req, _) = res.into_parts();
                    let answered = match &entry.job_id {
                        Some(id) => format!("{} (created {id})", entry.status),
                        None => entry.status.to_string(),
                    };
                    let err = ApiError::coded(
                        Code::AuditUnavailable,
                        format!(
                            "{} {} was carried out and answered {answered}, but its audit line \
                             could not be written: {e}",
                            entry.method, entry.path
                        ),
                    );
                    Ok(ServiceResponse::new(http_req, err.error_response()))
                }
                Err(_) => Ok(res),
            }
        }
        Err(e) => {
            // An error no service turned into a response: a refusal, nothing was done.
            entry.status = e.as_response_error().status_code().as_u16();
            let _ = write(log, entry).await;
            Err(e)
        }
    }
}

/// Appends `entry` on the blocking pool; a failure is logged (with the entry, which holds no
/// secret) and returned as text.
async fn write(log: web::Data<AuditLog>, entry: NewEntry) -> Result<(), String> {
    let shown = format!("{entry:?}");
    let result = match web::block(move || log.append(entry)).await {
        Ok(Ok(_)) => return Ok(()),
        Ok(Err(e)) => e.to_string(),
        Err(e) => e.to_string(),
    };
    tracing::error!(error = %result, entry = %shown, "audit line not written");
    Err(result)
}

/// The ID of what the request created: the last segment of `Location` of a 2xx answer, else
/// the `id` of a 201 or 202 JSON body held in memory; the response goes on unchanged.
fn created_id(res: ServiceResponse<BoxBody>) -> (ServiceResponse<BoxBody>, Option<String>) {
    let status = res.status();
    if !status.is_success() {
        return (res, None);
    }
    let from_location = res
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(|l| l.split(['?', '#']).next().unwrap_or(l))
        .and_then(|l| l.trim_end_matches('/').rsplit('/').next())
        .filter(|id| !id.is_empty())
        .map(|id| cut(id, MAX_ID));
    if from_location.is_some() || !(status == StatusCode::CREATED || status == StatusCode::ACCEPTED)
    {
        return (res, from_location);
    }
    let (http_req, response) = res.into_parts();
    let (head, body) = response.into_parts();
    match body.try_into_bytes() {
        Ok(bytes) => {
            let id = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(|i| cut(i, MAX_ID)));
            let res = ServiceResponse::new(http_req, head.set_body(BoxBody::new(bytes)));
            (res, id)
        }
        // A streamed body is passed on untouched, unread.
        Err(body) => (ServiceResponse::new(http_req, head.set_body(body)), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::HttpResponse;

    #[test]
    fn only_changing_requests_under_the_api_are_audited() {
        assert!(is_audited(&Method::POST, "/api/v1/backups"));
        assert!(is_audited(&Method::DELETE, "/api/v1/hook-processes/x"));
        assert!(is_audited(&Method::PUT, "/api/v1/settings"));
        assert!(is_audited(&Method::POST, "/api/v1"));
        assert!(!is_audited(&Method::GET, "/api/v1/backups"));
        assert!(!is_audited(&Method::HEAD, "/api/v1/backups"));
        assert!(!is_audited(&Method::POST, "/api/v10/backups"));
        assert!(!is_audited(&Method::POST, "/healthz"));
    }

    fn id_of(res: HttpResponse) -> Option<String> {
        let req = actix_web::test::TestRequest::default().to_http_request();
        created_id(ServiceResponse::new(req, res.map_into_boxed_body())).1
    }

    #[test]
    fn the_created_id_comes_from_location_else_the_body_of_a_201_or_202() {
        let located = HttpResponse::Accepted()
            .insert_header((header::LOCATION, "/api/v1/backup-sets/S1/verifications/V7"))
            .json(serde_json::json!({"id": "other"}));
        assert_eq!(id_of(located).as_deref(), Some("V7"));
        let bodied = HttpResponse::Created().json(serde_json::json!({"id": "H9"}));
        assert_eq!(id_of(bodied).as_deref(), Some("H9"));
        // A 200 without Location created nothing (a cancel answers the backup's record).
        let ok = HttpResponse::Ok().json(serde_json::json!({"id": "B1"}));
        assert_eq!(id_of(ok), None);
        let refused = HttpResponse::Conflict()
            .insert_header((header::LOCATION, "/api/v1/backups/B1"))
            .finish();
        assert_eq!(id_of(refused), None);
        let no_id = HttpResponse::Accepted().json(serde_json::json!({"status": "running"}));
        assert_eq!(id_of(no_id), None);
    }

    #[actix_web::test]
    async fn the_body_of_a_202_goes_on_unchanged() {
        let req = actix_web::test::TestRequest::default().to_http_request();
        let res = HttpResponse::Accepted().json(serde_json::json!({"id": "H9"}));
        let (res, _) = created_id(ServiceResponse::new(req, res.map_into_boxed_body()));
        let bytes = actix_web::body::to_bytes(res.into_body()).await.ok();
        assert_eq!(bytes.as_deref(), Some(&br#"{"id":"H9"}"#[..]));
    }

    #[test]
    fn long_paths_are_cut() {
        let long = "/api/v1/".to_string() + &"x".repeat(5000);
        assert_eq!(cut(&long, MAX_PATH).chars().count(), MAX_PATH + 1);
        assert_eq!(cut("/api/v1/backups", MAX_PATH), "/api/v1/backups");
    }
}
