//! The one error type of the HTTP edge: every failure becomes `application/problem+json` (RFC 9457).
//!
//! Each kind of problem has a stable `type` (a relative URI reference, `/problems/<slug>`) and a
//! status taken from one table, [`ProblemKind::status`]. Each problem also carries a stable
//! domain `code` ([`Code`], e.g. `set_incomplete`, `job_running`): the table in
//! [`problem_codes!`] names every code with its kind, so its status and `type`; a client that
//! needs to tell two 409s apart reads `code`. Engine and config errors are mapped into an
//! [`ApiError`] by the handlers, from their typed errors; actix's own extractor errors (JSON,
//! query, path, payload size) are routed here by the handlers installed in
//! [`crate::create_app`].

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

pub use crate::config::FieldError;

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
    #[schema(example = "schedule.daily_time: must be hh:mm between 00:00 and 23:59")]
    pub detail: String,
    /// The stable domain code of this problem, finer than `type`: one `type` (and status) can
    /// have several codes, e.g. a 409 is `job_running`, `staging_kept` or `restore_pending`.
    #[schema(schema_with = code_schema)]
    pub code: String,
    /// For validation problems: each invalid field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For conflicts with a running job: its ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "20261126T020000Z")]
    pub running_id: Option<String>,
}

/// The schema of [`Problem::code`]: a string, with every code of the table, its status and
/// meaning in the description. Not an `enum`: codes are added as the API grows, and a generated
/// client must not fail on a code it does not know yet.
fn code_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let mut text = String::from(
        "The stable domain code of this problem, finer than `type`; new codes may be added. \
         Codes, with their status and `type`:\n\n| code | status | type | meaning |\n|---|---|---|---|\n",
    );
    for c in Code::ALL {
        text.push_str(&format!(
            "| `{}` | {} | `/problems/{}` | {} |\n",
            c.as_str(),
            c.kind().status().as_u16(),
            c.kind().slug(),
            c.meaning()
        ));
    }
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(text))
        .pattern(Some("^[a-z][a-z0-9_]*$"))
        .examples([serde_json::json!("validation_failed")])
        .build()
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

    /// The last segment of the `type` URI, `/problems/<slug>`.
    pub fn slug(self) -> &'static str {
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

    pub fn title(self) -> &'static str {
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

/// Declares [`Code`], the one table of domain error codes: each code with the [`ProblemKind`]
/// it is answered as (so its HTTP status and `type`) and its meaning, which the OpenAPI
/// document lists. A code's string never changes once published.
macro_rules! problem_codes {
    ($($(#[$attr:meta])* $variant:ident = $name:literal, $kind:ident, $meaning:literal;)+) => {
        /// A stable domain error code, the `code` of every problem body.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($(#[$attr])* #[doc = $meaning] $variant,)+
        }

        impl Code {
            /// Every code, in table order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),+];

            /// The code as it appears in problem bodies.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $name,)+
                }
            }

            /// The kind of problem this code is answered as: its status and `type`.
            pub fn kind(self) -> ProblemKind {
                match self {
                    $(Code::$variant => ProblemKind::$kind,)+
                }
            }

            /// What the code means, for the API document.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(Code::$variant => $meaning,)+
                }
            }
        }
    };
}

problem_codes! {
    // HTTP-level codes: one per kind, used where nothing more specific applies.
    BadRequest = "bad_request", BadRequest, "The request could not be read: malformed JSON, an unreadable body.";
    Unauthorized = "unauthorized", Unauthorized, "No token, a malformed `Authorization` header, or an unknown token.";
    Forbidden = "forbidden", Forbidden, "The token's role is too weak for this operation.";
    NotFound = "not_found", NotFound, "No such route, or no such resource of this server.";
    MethodNotAllowed = "method_not_allowed", MethodNotAllowed, "The path exists, not with this method; `Allow` lists its methods.";
    NotAcceptable = "not_acceptable", NotAcceptable, "The server cannot answer in a format the `Accept` header allows.";
    Conflict = "conflict", Conflict, "The current state of the resource forbids the operation.";
    ValidationFailed = "validation_failed", Validation, "A field of the request is invalid; `errors` names each one.";
    PreconditionFailed = "precondition_failed", PreconditionFailed, "`If-Match` does not match the current `ETag`: GET again.";
    PreconditionRequired = "precondition_required", PreconditionRequired, "`If-Match` is missing (`*` writes unconditionally).";
    PayloadTooLarge = "payload_too_large", PayloadTooLarge, "The body is over 1 MiB.";
    UnsupportedMediaType = "unsupported_media_type", UnsupportedMediaType, "The body is not `application/json`.";
    TooManySubscribers = "too_many_subscribers", TooManySubscribers, "The event stream has `max_stream_subscribers` subscribers already.";
    Internal = "internal", Internal, "The server failed; the cause is in its log.";
    Unavailable = "unavailable", Unavailable, "The server could not write its files (disk full, permissions); retry once fixed.";
    // Domain codes.
    JobRunning = "job_running", Busy, "A backup, restore, restore drill, replication or verification is running; `running_id` names it. One job runs at a time.";
    StagingKept = "staging_kept", StagingKept, "A backup keeps staging folders for an operator (the only copy after a commit that could not complete); discard them first.";
    RestorePending = "restore_pending", RestorePending, "A restored component has not started since its restore; backups wait for it.";
    NoComponents = "no_components", Conflict, "No components are configured.";
    BackupNotFound = "backup_not_found", NotFound, "No backup with this ID.";
    BackupNotRunning = "backup_not_running", Conflict, "The backup is not running (it has ended).";
    ReportNotReady = "report_not_ready", Conflict, "The backup is still running; its report is written when it ends.";
    ReportNotFound = "report_not_found", NotFound, "The backup has ended but its report file is missing.";
    NothingKept = "nothing_kept", Conflict, "The backup keeps no staging folder.";
    StagingNotOurs = "staging_not_ours", Conflict, "A folder at a kept staging name is not provably the product's: left alone.";
    ComponentNotFound = "component_not_found", NotFound, "No component with this name is configured.";
    SetNotFound = "set_not_found", NotFound, "No backup set with this ID on disk.";
    SetIncomplete = "set_incomplete", Validation, "The backup set has no folder for a component to restore; `errors` names it.";
    SetFailed = "set_failed", Validation, "The backup of a component to restore did not succeed in this set; `errors` names it.";
    SetNotVerified = "set_not_verified", Validation, "A folder to restore does not verify against its `SHA256SUMS`; `errors` names the files.";
    VerificationNotFound = "verification_not_found", NotFound, "No verification with this ID for this backup set.";
    RestoreNotFound = "restore_not_found", NotFound, "No restore with this ID.";
    DrillNotFound = "drill_not_found", NotFound, "No restore drill with this ID.";
    DrillNotRunning = "drill_not_running", Conflict, "The restore drill is not running (it has ended).";
    HomeNotRestorable = "home_not_restorable", Conflict, "A component's home is in a state no restore can work on.";
    UndoUnavailable = "undo_unavailable", Conflict, "The restore cannot be undone: a dry run, or not succeeded.";
    RestoreSuperseded = "restore_superseded", Conflict, "A later restore or undo changed a component of this restore: it cannot be undone.";
    SafetyCopyGone = "safety_copy_gone", Conflict, "The restore's safety copy was discarded (or never kept, or changed since): it cannot be undone.";
    AgentUnreachable = "agent_unreachable", Conflict, "A remote component's agent did not answer (or answered no usable result).";
    AgentRefused = "agent_refused", Validation, "A remote component's agent refused the call (token, role, component or settings); `errors` names the component.";
    HookProcessNotFound = "hook_process_not_found", NotFound, "No hook process with this ID.";
    HookNotRunning = "hook_not_running", Conflict, "The hook process is not running.";
    WorkFolderMissing = "work_folder_missing", Conflict, "The hooks' `work_folder` does not exist.";
    AuditUnavailable = "audit_unavailable", Unavailable, "The request was carried out but its audit line could not be written (disk full, permissions); `detail` says what it answered. Fix the disk before going on.";
    NotificationTargetNotFound = "notification_target_not_found", NotFound, "No notification target with this name is configured.";
    ReplicationTargetNotFound = "replication_target_not_found", NotFound, "No replication target with this name is configured.";
    ReplicationNotFound = "replication_not_found", NotFound, "No replication with this ID.";
    ReplicationNotRunning = "replication_not_running", Conflict, "The replication is not running (it has ended).";
    SetNotReplicable = "set_not_replicable", Conflict, "The backup set cannot be replicated: not complete and successful, no successful set at all, or a component on an agent.";
    ReplicationTargetFailed = "replication_target_failed", Conflict, "The replication target's store could not be reached, refused the credentials, or has no such bucket; `detail` names the target.";
}

impl ProblemKind {
    /// The code of a problem of this kind when nothing more specific is known.
    pub fn code(self) -> Code {
        match self {
            ProblemKind::BadRequest => Code::BadRequest,
            ProblemKind::Unauthorized => Code::Unauthorized,
            ProblemKind::Forbidden => Code::Forbidden,
            ProblemKind::NotFound => Code::NotFound,
            ProblemKind::MethodNotAllowed => Code::MethodNotAllowed,
            ProblemKind::NotAcceptable => Code::NotAcceptable,
            ProblemKind::Conflict => Code::Conflict,
            ProblemKind::Busy => Code::JobRunning,
            ProblemKind::StagingKept => Code::StagingKept,
            ProblemKind::RestorePending => Code::RestorePending,
            ProblemKind::PreconditionFailed => Code::PreconditionFailed,
            ProblemKind::PreconditionRequired => Code::PreconditionRequired,
            ProblemKind::PayloadTooLarge => Code::PayloadTooLarge,
            ProblemKind::UnsupportedMediaType => Code::UnsupportedMediaType,
            ProblemKind::Validation => Code::ValidationFailed,
            ProblemKind::TooManySubscribers => Code::TooManySubscribers,
            ProblemKind::Internal => Code::Internal,
            ProblemKind::Unavailable => Code::Unavailable,
        }
    }
}

/// The error every handler returns.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The kind: status and `type`. Always `code.kind()`.
    pub kind: ProblemKind,
    /// The domain code.
    pub code: Code,
    pub detail: String,
    pub errors: Vec<FieldError>,
    pub running_id: Option<String>,
}

impl ApiError {
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        ApiError {
            kind,
            code: kind.code(),
            detail: detail.into(),
            errors: Vec::new(),
            running_id: None,
        }
    }

    /// A problem with a domain code; its kind (status, `type`) comes from the code's table row.
    pub fn coded(code: Code, detail: impl Into<String>) -> Self {
        Self::new(code.kind(), detail).with_code(code)
    }

    /// The same problem with a more specific code (and that code's kind), e.g. a validation
    /// problem that is `set_incomplete`.
    pub fn with_code(mut self, code: Code) -> Self {
        self.kind = code.kind();
        self.code = code;
        self
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
            code: Code::ValidationFailed,
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
            code: self.code.as_str().to_string(),
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

    /// The code table: distinct strings in snake_case, each kind's own code answered as that
    /// kind, and `with_code` keeps kind and code together.
    #[test]
    fn codes_are_distinct_and_agree_with_their_kind() {
        let mut names = std::collections::HashSet::new();
        for c in Code::ALL {
            assert!(names.insert(c.as_str()), "duplicate code {}", c.as_str());
            assert!(
                c.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{}",
                c.as_str()
            );
            assert!(c.kind().status().as_u16() >= 400);
            assert!(!c.meaning().is_empty());
        }
        for k in [
            ProblemKind::Busy,
            ProblemKind::Validation,
            ProblemKind::NotFound,
        ] {
            assert_eq!(k.code().kind(), k);
        }
        let e = ApiError::field("backup_id", "incomplete").with_code(Code::SetIncomplete);
        assert_eq!(e.kind, ProblemKind::Validation);
        let p = e.to_problem();
        assert_eq!((p.code.as_str(), p.status), ("set_incomplete", 422));
        assert_eq!(p.kind, "/problems/validation");
        let p = ApiError::coded(Code::BackupNotFound, "no backup x").to_problem();
        assert_eq!((p.code.as_str(), p.status), ("backup_not_found", 404));
        assert_eq!(
            ApiError::busy("backup", "B1").to_problem().code,
            "job_running"
        );
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
