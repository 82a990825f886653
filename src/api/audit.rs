//! `/api/v1/audit`: the audit log read back, filtered by time and token, a page at a time.

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{AuditQueryProblems, AuthProblems};
use crate::audit::{parse_cursor, AuditLog, AuditPage, AuditQuery};
use crate::auth::Admin;
use crate::config::{valid_token_name, MAX_TOKEN_NAME};
use crate::error::{ApiError, FieldError, ProblemKind};

/// Most entries in one page.
pub const MAX_LIMIT: usize = 1000;
const DEFAULT_LIMIT: usize = 100;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(get_audit);
}

/// The query of `GET /audit`; read as text, so each bad value is named in the 422.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only entries at or after this instant (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime, example = "2026-11-26T00:00:00Z")]
    pub since: Option<String>,
    /// Only entries before this instant (RFC 3339); after `since`.
    #[param(value_type = Option<String>, format = DateTime, example = "2026-11-27T00:00:00Z")]
    pub until: Option<String>,
    /// Only entries of the token with this name (its `name` in the config, else the first 8
    /// hex digits of its SHA-256).
    #[param(example = "ops-admin", pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub token: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page (opaque).
    #[param(example = "1042", pattern = "^[0-9]{1,20}$")]
    pub cursor: Option<String>,
}

fn instant(
    field: &str,
    value: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> Option<DateTime<Utc>> {
    let v = value?;
    match DateTime::parse_from_rfc3339(v) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(_) => {
            errors.push(FieldError::new(
                field,
                format!("{v:?} is not an RFC 3339 instant such as 2026-11-26T02:00:00Z"),
            ));
            None
        }
    }
}

/// The query checked: every invalid parameter named at once.
fn audit_query(p: &AuditParams) -> Result<AuditQuery, ApiError> {
    let mut errors = Vec::new();
    let since = instant("since", p.since.as_deref(), &mut errors);
    let until = instant("until", p.until.as_deref(), &mut errors);
    if let (Some(s), Some(u)) = (since, until) {
        if u <= s {
            errors.push(FieldError::new("until", "must be after since"));
        }
    }
    if let Some(t) = &p.token {
        if !valid_token_name(t) {
            errors.push(FieldError::new(
                "token",
                format!("a token name is 1 to {MAX_TOKEN_NAME} of A-Z a-z 0-9 . _ -"),
            ));
        }
    }
    let limit = match p.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                errors.push(FieldError::new(
                    "limit",
                    format!("must be a whole number between 1 and {MAX_LIMIT}"),
                ));
                DEFAULT_LIMIT
            }
        },
    };
    let after = match p.cursor.as_deref() {
        None => None,
        Some(c) => match parse_cursor(c) {
            Some(seq) => Some(seq),
            None => {
                errors.push(FieldError::new(
                    "cursor",
                    "is not a cursor: pass the next_cursor of a page",
                ));
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok(AuditQuery {
        since,
        until,
        token: p.token.clone(),
        limit,
        after,
    })
}

/// Read the audit log
///
/// Who changed what (admin): one entry per request under `/api/v1` that is not a GET or HEAD,
/// whatever its outcome (401 and 403 too): time, token name and role (null without a valid
/// token), method, path (no query string), status, the ID it created, the client's address.
/// Oldest first; `since` (inclusive), `until` (exclusive), `token` filter; `limit` per page
/// (default 100); pass `next_cursor` as `cursor`, with the same filters, for the next page.
/// Entries in files rotated away (beyond the 5 kept) are gone. Changes nothing.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    params(AuditParams),
    responses(
        (status = 200, description = "A page of entries, oldest first", body = AuditPage,
            example = json!(super::examples::audit_page())),
        AuthProblems, AuditQueryProblems,
    )
)]
#[get("/audit")]
pub async fn get_audit(
    _: Admin,
    log: web::Data<AuditLog>,
    q: web::Query<AuditParams>,
) -> Result<HttpResponse, ApiError> {
    let query = audit_query(&q)?;
    let log = log.into_inner();
    let page = web::block(move || log.read(&query))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| {
            ApiError::new(
                ProblemKind::Unavailable,
                format!("could not read the audit log: {e}"),
            )
        })?;
    Ok(HttpResponse::Ok().json(page))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(f: impl FnOnce(&mut AuditParams)) -> AuditParams {
        let mut p = AuditParams {
            since: None,
            until: None,
            token: None,
            limit: None,
            cursor: None,
        };
        f(&mut p);
        p
    }

    fn fields(p: AuditParams) -> Vec<String> {
        match audit_query(&p) {
            Ok(_) => Vec::new(),
            Err(e) => e.errors.into_iter().map(|e| e.field).collect(),
        }
    }

    #[test]
    fn every_bad_parameter_is_named() {
        assert!(fields(params(|_| {})).is_empty());
        assert_eq!(
            fields(params(|p| {
                p.since = Some("yesterday".into());
                p.until = Some("2026-13-01T00:00:00Z".into());
                p.token = Some("no spaces".into());
                p.limit = Some("0".into());
                p.cursor = Some("abc".into());
            })),
            vec!["since", "until", "token", "limit", "cursor"]
        );
        assert_eq!(
            fields(params(|p| p.limit = Some("1001".into()))),
            vec!["limit"]
        );
        assert_eq!(
            fields(params(|p| {
                p.since = Some("2026-11-27T00:00:00Z".into());
                p.until = Some("2026-11-26T00:00:00+01:00".into());
            })),
            vec!["until"]
        );
        let q = audit_query(&params(|p| {
            p.limit = Some("1000".into());
            p.cursor = Some("41".into());
            p.token = Some("ops-admin".into());
        }))
        .unwrap();
        assert_eq!(
            (q.limit, q.after, q.token.as_deref()),
            (1000, Some(41), Some("ops-admin"))
        );
    }
}
