//! `ValidJson<T>`: the JSON body extractor of every handler. Unlike actix's `Json`, a body that
//! does not fit `T` is answered with a 422 naming the exact field (`schedule.daily_time`,
//! `items[2]`), found by `serde_path_to_error`; size and content-type errors are 413 and 415.

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::error::{payload_error, ApiError, ProblemKind};

/// The largest body any endpoint accepts.
pub const MAX_BODY: usize = 1024 * 1024;

pub struct ValidJson<T>(pub T);

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| {
            m.type_() == mime::APPLICATION
                && (m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON))
        })
}

impl<T: DeserializeOwned + 'static> FromRequest for ValidJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let too_long = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            .is_some_and(|n| n > MAX_BODY);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if too_long {
                return Err(ApiError::new(
                    ProblemKind::PayloadTooLarge,
                    format!("the body is over the limit of {MAX_BODY} bytes"),
                ));
            }
            if !json {
                return Err(ApiError::new(
                    ProblemKind::UnsupportedMediaType,
                    "the body must be JSON (Content-Type: application/json)",
                ));
            }
            let bytes = body.await.map_err(|e| match e.as_error() {
                Some(p) => payload_error(p),
                None => ApiError::new(
                    ProblemKind::PayloadTooLarge,
                    format!("the body could not be read within {MAX_BODY} bytes: {e}"),
                ),
            })?;
            parse(&bytes).map(ValidJson)
        })
    }
}

/// Parses `bytes` as `T`: syntax errors are 400, shape errors 422 naming the field. Every
/// body of this API is a JSON object: an array is refused (serde would otherwise fill a struct
/// from an array's items in field order, so `[null, null]` could pass for `{}`).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(ApiError::field(
            "body",
            "must be a JSON object, not an array",
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(de).map_err(|e| {
        let inner = e.inner();
        if !matches!(inner.classify(), serde_json::error::Category::Data) {
            return ApiError::bad_request(format!("malformed JSON: {inner}"));
        }
        let path = e.path().to_string();
        let msg = inner.to_string();
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        // serde's path ends at the parent for a missing field; name the field itself.
        let field = match (missing_field(&msg), path.as_str()) {
            (Some(name), ".") => name,
            (Some(name), parent) => format!("{parent}.{name}"),
            (None, ".") => "body".to_string(),
            (None, p) => p.to_string(),
        };
        ApiError::field(field, msg)
    })?;
    Ok(value)
}

fn missing_field(msg: &str) -> Option<String> {
    let rest = &msg[msg.find("missing field `")? + "missing field `".len()..];
    rest.find('`').map(|end| rest[..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, Default)]
    #[serde(default, deny_unknown_fields)]
    #[allow(dead_code)]
    struct AllOptional {
        a: Option<u32>,
        b: Option<String>,
    }

    #[test]
    fn an_array_is_no_object_even_when_every_field_is_optional() {
        for body in [&b"[null, null]"[..], b"  [1]", b"[]"] {
            let e = parse::<AllOptional>(body).unwrap_err();
            assert_eq!(e.errors[0].field, "body", "{e:?}");
        }
        assert!(parse::<AllOptional>(b"{}").is_ok());
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        keep: u32,
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        inner: Inner,
    }

    #[test]
    fn shape_errors_name_the_field() {
        let e = parse::<Outer>(br#"{"inner":{"keep":-1}}"#).unwrap_err();
        assert_eq!(e.errors[0].field, "inner.keep");
        let e = parse::<Outer>(br#"{"inner":{"keep":1,"x":2}}"#).unwrap_err();
        assert_eq!(e.errors[0].field, "inner.x");
        let e = parse::<Outer>(br#"{"inner":{}}"#).unwrap_err();
        assert_eq!(e.errors[0].field, "inner.keep");
        let e = parse::<Outer>(br#"{}"#).unwrap_err();
        assert_eq!(e.errors[0].field, "inner");
        let e = parse::<Outer>(br#"{"inner": "#).unwrap_err();
        assert_eq!(e.kind, ProblemKind::BadRequest);
    }
}
