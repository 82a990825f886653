//! The one error type of the HTTP edge: every failure becomes `application/problem+json` (RFC 9457).
//!
//! Each kind of problem has a stable `type` (a relative URI reference, `/problems/<slug>`) and a
//! status taken from one table, [`ProblemKind::status`]. Engine and config errors are mapped into
//! an [`ApiError`] by the handlers; actix's own extractor errors (JSON, query, path, payload size)
//! are routed here by the handlers installed in [`crate::create_app`].

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// One problem with one input field.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// The field, as a dotted path into the request (`schedule.daily_time`, `components[1].keep`)
    /// or the config file key for errors found while loading it.
    #[schema(example = "schedule.daily_time")]
    pub field: String,
    /// What is wrong with it.
    #[schema(example = "must be hh:mm between 00:00 and 23:59")]
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An RFC 9457 problem document, as every error response carries it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem; stable, one per kind.
    #[serde(rename = "type")]
    #[schema(example = "/problems/validation")]
    pub kind: String,
    /// A short summary of the kind of problem.
    #[schema(example = "Validation failed")]
    pub title: String,
    /// The HTTP status code.
    #[schema(example = 422)]
    pub status: u16,
    /// What happened, in words for this occurrence.
    #[schema(example = "1 field is invalid")]
    pub detail: String,
    /// For validation problems: each invalid field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For conflicts with a running job: its ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running_id: Option<String>,
}

/// The kinds of problem the API reports. The single table of status codes lives in `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    NotAcceptable,
    Conflict,
    Busy,
    /// A staging folder kept for an operator blocks new backups.
    StagingKept,
    /// A restored component has not started since the restore: backups wait for it.
    RestorePending,
    PreconditionFailed,
    PreconditionRequired,
    PayloadTooLarge,
    UnsupportedMediaType,
    Validation,
    TooManySubscribers,
    Internal,
    Unavailable,
}

impl ProblemKind {
    pub fn status(self) -> StatusCode {
        match self {
            ProblemKind::BadRequest => StatusCode::BAD_REQUEST,
            ProblemKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ProblemKind::Forbidden => StatusCode::FORBIDDEN,
            ProblemKind::NotFound => StatusCode::NOT_FOUND,
            ProblemKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ProblemKind::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            ProblemKind::Conflict
            | ProblemKind::Busy
            | ProblemKind::StagingKept
            | ProblemKind::RestorePending => StatusCode::CONFLICT,
            ProblemKind::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ProblemKind::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            ProblemKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ProblemKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProblemKind::Validation => StatusCode::UNPROCESSABLE_ENTITY,
            ProblemKind::TooManySubscribers => StatusCode::TOO_MANY_REQUESTS,
            ProblemKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ProblemKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn slug(self) -> &'static str {
        match self {
            ProblemKind::BadRequest => "bad-request",
            ProblemKind::Unauthorized => "unauthorized",
            ProblemKind::Forbidden => "forbidden",
            ProblemKind::NotFound => "not-found",
            ProblemKind::MethodNotAllowed => "method-not-allowed",
            ProblemKind::NotAcceptable => "not-acceptable",
            ProblemKind::Conflict => "conflict",
            ProblemKind::Busy => "job-running",
            ProblemKind::StagingKept => "staging-kept",
            ProblemKind::RestorePending => "restore-pending",
            ProblemKind::PreconditionFailed => "precondition-failed",
            ProblemKind::PreconditionRequired => "precondition-required",
            ProblemKind::PayloadTooLarge => "payload-too-large",
            ProblemKind::UnsupportedMediaType => "unsupported-media-type",
            ProblemKind::Validation => "validation",
            ProblemKind::TooManySubscribers => "too-many-subscribers",
            ProblemKind::Internal => "internal",
            ProblemKind::Unavailable => "unavailable",
        }
    }

    fn title(self) -> &'static str {
        match self {
            ProblemKind::BadRequest => "Bad request",
            ProblemKind::Unauthorized => "Authentication required",
            ProblemKind::Forbidden => "Role too weak",
            ProblemKind::NotFound => "Not found",
            ProblemKind::MethodNotAllowed => "Method not allowed",
            ProblemKind::NotAcceptable => "Not acceptable",
            ProblemKind::Conflict => "Conflict",
            ProblemKind::Busy => "Another job is running",
            ProblemKind::StagingKept => "A staging folder waits for an operator",
            ProblemKind::RestorePending => "A restore waits for its component's first start",
            ProblemKind::PreconditionFailed => "Precondition failed",
            ProblemKind::PreconditionRequired => "Precondition required",
            ProblemKind::PayloadTooLarge => "Payload too large",
            ProblemKind::UnsupportedMediaType => "Unsupported media type",
            ProblemKind::Validation => "Validation failed",
            ProblemKind::TooManySubscribers => "Too many subscribers",
            ProblemKind::Internal => "Internal error",
            ProblemKind::Unavailable => "Service unavailable",
        }
    }
}

/// The error every handler returns.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub kind: ProblemKind,
    pub detail: String,
    pub errors: Vec<FieldError>,
    pub running_id: Option<String>,
}

impl ApiError {
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        ApiError {
            kind,
            detail: detail.into(),
            errors: Vec::new(),
            running_id: None,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::BadRequest, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::NotFound, detail)
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::Conflict, detail)
    }

    /// A job of `kind` with `id` runs; the answer names it.
    pub fn busy(kind: &str, id: &str) -> Self {
        let mut e = Self::new(
            ProblemKind::Busy,
            format!("a {kind} is running: {id}; one job runs at a time"),
        );
        e.running_id = Some(id.to_string());
        e
    }

    /// One or more invalid fields.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            many => format!("{} fields are invalid", many.len()),
        };
        ApiError {
            kind: ProblemKind::Validation,
            detail,
            errors,
            running_id: None,
        }
    }

    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, message)])
    }

    /// An internal failure: the cause is logged here, the client sees a generic message.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            ProblemKind::Internal,
            "the server failed to complete the request; see its log",
        )
    }

    pub fn to_problem(&self) -> Problem {
        Problem {
            kind: format!("/problems/{}", self.kind.slug()),
            title: self.kind.title().to_string(),
            status: self.kind.status().as_u16(),
            detail: self.detail.clone(),
            errors: self.errors.clone(),
            running_id: self.running_id.clone(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind.title(), self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.kind.status()
    }

    fn error_response(&self) -> HttpResponse {
        let body = serde_json::to_vec(&self.to_problem()).unwrap_or_default();
        let mut resp = HttpResponse::build(self.status_code());
        resp.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if self.kind == ProblemKind::Unauthorized {
            resp.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        resp.body(body)
    }
}

/// actix's JSON extractor errors: size, content type, syntax, and missing or mistyped fields.
pub fn json_error(err: actix_web::error::JsonPayloadError) -> ApiError {
    use actix_web::error::JsonPayloadError as J;
    match &err {
        J::OverflowKnownLength { length, limit } => ApiError::new(
            ProblemKind::PayloadTooLarge,
            format!("body of {length} bytes is over the limit of {limit} bytes"),
        ),
        J::Overflow { limit } => ApiError::new(
            ProblemKind::PayloadTooLarge,
            format!("body is over the limit of {limit} bytes"),
        ),
        J::ContentType => ApiError::new(
            ProblemKind::UnsupportedMediaType,
            "the body must be JSON (Content-Type: application/json)",
        ),
        J::Deserialize(e) => deserialize_error(e),
        J::Payload(p) => payload_error(p),
        other => ApiError::bad_request(format!("invalid JSON body: {other}")),
    }
}

/// A serde_json error: syntax errors are 400, data errors (missing, unknown or mistyped field)
/// are 422 naming the field where serde says which.
fn deserialize_error(e: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Data => {
            let msg = e.to_string();
            let field = field_from_serde_message(&msg).unwrap_or_else(|| "body".to_string());
            ApiError::field(field, strip_position(&msg))
        }
        _ => ApiError::bad_request(format!("malformed JSON: {e}")),
    }
}

/// serde names the field in its messages as `unknown field `x``, `missing field `x``.
fn field_from_serde_message(msg: &str) -> Option<String> {
    for marker in ["unknown field `", "missing field `", "duplicate field `"] {
        if let Some(start) = msg.find(marker) {
            let rest = &msg[start + marker.len()..];
            if let Some(end) = rest.find('`') {
                return Some(rest[..end].to_string());
            }
        }
    }
    None
}

fn strip_position(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

pub fn payload_error(err: &actix_web::error::PayloadError) -> ApiError {
    use actix_web::error::PayloadError as P;
    match err {
        P::Overflow => ApiError::new(ProblemKind::PayloadTooLarge, "body is over the limit"),
        other => ApiError::bad_request(format!("could not read the body: {other}")),
    }
}

pub fn query_error(err: actix_web::error::QueryPayloadError) -> ApiError {
    let msg = err.to_string();
    let field = field_from_serde_message(&msg).unwrap_or_else(|| "query".to_string());
    ApiError::field(field, format!("invalid query: {msg}"))
}

pub fn path_error(err: actix_web::error::PathError) -> ApiError {
    ApiError::not_found(format!("invalid path: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_4xx_or_5xx_status_and_distinct_slug() {
        let all = [
            ProblemKind::BadRequest,
            ProblemKind::Unauthorized,
            ProblemKind::Forbidden,
            ProblemKind::NotFound,
            ProblemKind::MethodNotAllowed,
            ProblemKind::NotAcceptable,
            ProblemKind::Conflict,
            ProblemKind::Busy,
            ProblemKind::PreconditionFailed,
            ProblemKind::PreconditionRequired,
            ProblemKind::PayloadTooLarge,
            ProblemKind::UnsupportedMediaType,
            ProblemKind::Validation,
            ProblemKind::Internal,
            ProblemKind::Unavailable,
        ];
        let mut slugs = std::collections::HashSet::new();
        for k in all {
            assert!(k.status().as_u16() >= 400);
            assert!(slugs.insert(k.slug()), "duplicate slug {}", k.slug());
        }
    }

    #[test]
    fn serde_field_names_are_extracted() {
        assert_eq!(
            field_from_serde_message("unknown field `dailytime`, expected one of"),
            Some("dailytime".to_string())
        );
        assert_eq!(field_from_serde_message("invalid type"), None);
    }
}
