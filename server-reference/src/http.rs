//! HTTP conventions shared by every handler: the JSON body extractor that maps every rejection
//! onto `ApiError` (413 too large, 415 wrong content type, 400 malformed JSON or unknown field),
//! and the client-IP extractor used by rate limits.
//!
//! Unknown-field policy: request bodies are `#[serde(deny_unknown_fields)]`, so a misspelt field
//! is a 400 naming the field rather than silently ignored.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::ApiError;

/// A JSON request body (like `axum::Json`, but rejections are `ApiError`s).
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(rejection, state.config.max_body_bytes)),
        }
    }
}

fn json_rejection(rejection: JsonRejection, limit: usize) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
        r if r.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge { limit },
        JsonRejection::JsonSyntaxError(e) => {
            ApiError::BadRequest(format!("malformed JSON: {}", e.body_text()))
        }
        JsonRejection::JsonDataError(e) => {
            ApiError::BadRequest(format!("invalid JSON body: {}", e.body_text()))
        }
        other => ApiError::BadRequest(format!(
            "could not read the request body: {}",
            other.body_text()
        )),
    }
}

/// The peer address of the connection (no `X-Forwarded-For` trust: behind a proxy, every
/// client shares the proxy's address and the per-account limit does the fine-grained work).
/// Requests without connection info (in-process tests) count as `0.0.0.0`.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(addr)| {
                addr.ip()
            });
        Ok(Self(ip))
    }
}

/// Defines a wrapper around an axum extractor whose rejections become 400 `ApiError`s, so
/// every malformed input gets the one JSON error body.
macro_rules! bad_request_on_rejection {
    ($(#[$doc:meta])* $name:ident wraps $inner:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $name<T>(pub T);

        impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for $name<T> {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
                axum::extract::$inner::<T>::from_request_parts(parts, state)
                    .await
                    .map(|axum::extract::$inner(value)| Self(value))
                    .map_err(|e| ApiError::BadRequest(format!(concat!("invalid ", $what, ": {}"), e.body_text())))
            }
        }
    };
}

bad_request_on_rejection!(
    /// A query string (like `axum::extract::Query`, but rejections are 400 `ApiError`s).
    Query wraps Query, "query string"
);
bad_request_on_rejection!(
    /// Path parameters (like `axum::extract::Path`, but rejections are 400 `ApiError`s).
    Path wraps Path, "path"
);
