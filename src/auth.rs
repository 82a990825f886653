//! Bearer-token authentication: an extractor per required role (`Viewer`, `Operator`, `Admin`).
//!
//! The server keeps only SHA-256 digests of tokens. A presented token is hashed and compared
//! with every configured digest in constant time (no early exit), so timing tells nothing about
//! which bytes matched. Tokens are never logged: the extractor reads the header and drops it.
//! [`Tokens::identify`] also gives the token's name, which the audit log records instead of it.

use std::future::{ready, Ready};
use std::sync::Arc;

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use subtle::ConstantTimeEq;

use crate::config::{sha256_of, Role, TokenSpec};
use crate::error::{ApiError, ProblemKind};

/// The configured tokens, shared with the extractors through app data.
#[derive(Clone)]
pub struct Tokens(pub Arc<Vec<TokenSpec>>);

/// Who a valid token is: its role and its name (never the token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub role: Role,
    pub name: String,
}

impl Tokens {
    /// The strongest role whose token matches `presented`, comparing against all of them.
    pub fn role_of(&self, presented: &str) -> Option<Role> {
        self.identify(presented).map(|i| i.role)
    }

    /// The entry of `presented` with the strongest role (its role and name), comparing against
    /// all of them.
    pub fn identify(&self, presented: &str) -> Option<Identity> {
        let digest = sha256_of(presented.as_bytes());
        let mut best: Option<&TokenSpec> = None;
        for t in self.0.iter() {
            let hit: bool = t.sha256[..].ct_eq(&digest[..]).into();
            if hit && best.is_none_or(|b| t.role > b.role) {
                best = Some(t);
            }
        }
        best.map(|t| Identity {
            role: t.role,
            name: t.name.clone(),
        })
    }

    /// Who the bearer token of `headers` is; None without a valid one.
    pub fn identify_headers(&self, headers: &header::HeaderMap) -> Option<Identity> {
        bearer_token(headers).ok().and_then(|t| self.identify(t))
    }
}

/// Checks the request's bearer token against `required`.
pub fn authorize(req: &HttpRequest, required: Role) -> Result<Role, ApiError> {
    let tokens = req
        .app_data::<web::Data<Tokens>>()
        .ok_or_else(|| ApiError::internal("token table missing from app data"))?;
    let token = bearer_token(req.headers())?;
    let role = tokens
        .role_of(token)
        .ok_or_else(|| ApiError::new(ProblemKind::Unauthorized, "the token is not valid"))?;
    if role < required {
        return Err(ApiError::new(
            ProblemKind::Forbidden,
            format!(
                "this needs the {} role; the token has {}",
                role_name(required),
                role_name(role)
            ),
        ));
    }
    Ok(role)
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer_token(headers: &header::HeaderMap) -> Result<&str, ApiError> {
    let header = headers.get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::new(
            ProblemKind::Unauthorized,
            "send Authorization: Bearer <token>",
        )
    })?;
    header
        .to_str()
        .ok()
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                ProblemKind::Unauthorized,
                "the Authorization header must be: Bearer <token>",
            )
        })
}

/// A role as the API and the audit log spell it.
pub fn role_name(r: Role) -> &'static str {
    match r {
        Role::Viewer => "viewer",
        Role::Operator => "operator",
        Role::Admin => "admin",
    }
}

macro_rules! role_extractor {
    ($name:ident, $role:expr, $doc:literal) => {
        #[doc = $doc]
        pub struct $name(pub Role);

        impl FromRequest for $name {
            type Error = ApiError;
            type Future = Ready<Result<Self, ApiError>>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                ready(authorize(req, $role).map($name))
            }
        }
    };
}

role_extractor!(
    Viewer,
    Role::Viewer,
    "A caller with at least the viewer role."
);
role_extractor!(
    Operator,
    Role::Operator,
    "A caller with at least the operator role."
);
role_extractor!(Admin, Role::Admin, "A caller with the admin role.");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strongest_matching_role_wins_and_unknown_token_has_none() {
        let tokens = Tokens(Arc::new(vec![
            TokenSpec {
                role: Role::Viewer,
                sha256: sha256_of(b"shared"),
                name: "viewer".into(),
            },
            TokenSpec {
                role: Role::Admin,
                sha256: sha256_of(b"shared"),
                name: "admin".into(),
            },
            TokenSpec {
                role: Role::Operator,
                sha256: sha256_of(b"op"),
                name: "operator".into(),
            },
        ]));
        assert_eq!(tokens.role_of("shared"), Some(Role::Admin));
        assert_eq!(tokens.role_of("op"), Some(Role::Operator));
        assert_eq!(tokens.role_of("nope"), None);
        assert_eq!(tokens.role_of(""), None);
        // The name is the strongest entry's.
        assert_eq!(
            tokens.identify("shared"),
            Some(Identity {
                role: Role::Admin,
                name: "admin".into()
            })
        );
        assert_eq!(tokens.identify("nope"), None);
    }

    #[test]
    fn the_bearer_header_identifies_the_token() {
        let tokens = Tokens(Arc::new(vec![TokenSpec {
            role: Role::Operator,
            sha256: sha256_of(b"op"),
            name: "ci".into(),
        }]));
        let mut headers = header::HeaderMap::new();
        assert_eq!(tokens.identify_headers(&headers), None);
        headers.insert(
            header::AUTHORIZATION,
            header::HeaderValue::from_static("Bearer op"),
        );
        let who = tokens.identify_headers(&headers).map(|i| i.name);
        assert_eq!(who.as_deref(), Some("ci"));
        headers.insert(
            header::AUTHORIZATION,
            header::HeaderValue::from_static("Basic op"),
        );
        assert_eq!(tokens.identify_headers(&headers), None);
    }
}
