//! The one error type of the HTTP API and its single JSON shape `{code, message}`.
//!
//! Variants are split by who is at fault: the client (4xx) or the server's environment (5xx).
//! Internal details (SQL, I/O) are logged, never sent to the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// Every error the API returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The client sent something invalid: malformed JSON, unknown fields, failed validation.
    #[error("{0}")]
    BadRequest(String),
    /// The request body is larger than the configured limit.
    #[error("request body is too large (limit {limit} bytes)")]
    PayloadTooLarge {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// The route exists but not with this HTTP method.
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// The body is not declared as `application/json`.
    #[error("expected a body with `Content-Type: application/json`")]
    UnsupportedMediaType,
    /// No valid credentials: missing, malformed, expired, forged or revoked token, or a wrong
    /// email/password pair. The code says which (`invalid_token`, `token_expired`, …).
    #[error("{message}")]
    Unauthorized {
        /// Machine-readable reason.
        code: &'static str,
        /// Human-readable reason.
        message: &'static str,
    },
    /// Authenticated, but not allowed to do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The resource does not exist or is not visible to the caller (the two are not
    /// distinguished, so probing ids reveals nothing).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request conflicts with the current state (email taken, profile exists, room full).
    #[error("{message}")]
    Conflict {
        /// Machine-readable reason.
        code: &'static str,
        /// Human-readable reason.
        message: &'static str,
    },
    /// Too many requests from this IP address or for this account; retry after the given time.
    #[error("too many requests; retry in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until a retry may succeed.
        retry_after_secs: u64,
    },
    /// The database failed or is unreachable (the server's environment is at fault).
    #[error("storage error")]
    Storage(#[from] sqlx::Error),
    /// Any other server-side failure (hashing, token signing, a task that panicked).
    #[error("internal error: {0}")]
    Internal(String),
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `not_found`, `malformed_json`, `rate_limited`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

impl ApiError {
    /// The HTTP status and stable code of this error.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::PayloadTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            Self::Unauthorized { code, .. } => (StatusCode::UNAUTHORIZED, code),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            Self::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Self::Storage(_) => (StatusCode::INTERNAL_SERVER_ERROR, "storage_error"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }

    /// A shorthand for the common "not authenticated" case.
    pub(crate) fn invalid_token() -> Self {
        Self::Unauthorized {
            code: "invalid_token",
            message: "missing, malformed or forged access token",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = match &self {
            Self::Storage(e) => {
                tracing::error!(error = %e, "storage error");
                "the database is unavailable or failed".to_owned()
            }
            Self::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                "internal server error".to_owned()
            }
            other => other.to_string(),
        };
        let body = ErrorBody {
            code: code.to_owned(),
            message,
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Self::RateLimited { retry_after_secs } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;
