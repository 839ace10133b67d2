//! Who is calling: the `AuthUser` extractor other modules put in their handler signatures.
//!
//! A bearer token must verify (HS256, issuer, expiry) *and* its session must still exist and be
//! unrevoked, so logout and password changes take effect at once, not when tokens expire. The
//! role is read from the database on every request, so role changes apply immediately too.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::ApiError;

/// Account roles, from least to most privileged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Any registered musician.
    Member,
    /// May manage venue data.
    Curator,
    /// May edit or delete anything and change roles.
    Admin,
}

impl Role {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Curator => "curator",
            Self::Admin => "admin",
        }
    }

    /// Parses the stored spelling; unknown values fall back to the least privilege.
    pub fn from_stored(s: &str) -> Self {
        match s {
            "admin" => Self::Admin,
            "curator" => Self::Curator,
            _ => Self::Member,
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct AuthUser {
    /// User id.
    pub id: String,
    /// Current role (read from the database on this request).
    pub role: Role,
    /// The session the access token belongs to.
    pub session_id: String,
}

impl AuthUser {
    /// Whether the caller is an admin.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether the caller may modify something owned by `owner_id`.
    pub fn may_edit(&self, owner_id: &str) -> bool {
        self.id == owner_id || self.is_admin()
    }

    /// Authenticates a raw access token (the signalling relay calls this with the token a client
    /// presents when joining).
    pub async fn from_access_token(state: &AppState, token: &str) -> Result<Self, ApiError> {
        let claims = state.tokens.verify(token)?;
        let role: Option<String> = sqlx::query_scalar(
            "SELECT u.role FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL",
        )
        .bind(&claims.sid)
        .bind(&claims.sub)
        .fetch_optional(&state.db.pool)
        .await?;
        let role = role.ok_or(ApiError::Unauthorized {
            code: "token_revoked",
            message: "the session of this token was ended (logout or password change)",
        })?;
        Ok(Self {
            id: claims.sub,
            role: Role::from_stored(&role),
            session_id: claims.sid,
        })
    }
}

/// The bearer token of a request, if it has an `Authorization` header; malformed headers are
/// errors rather than "anonymous", so a client bug is never silently downgraded.
fn bearer(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(value) = parts.headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| ApiError::invalid_token())?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(Some(token.trim())),
        _ => Err(ApiError::invalid_token()),
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?.ok_or(ApiError::Unauthorized {
            code: "unauthenticated",
            message: "this endpoint needs `Authorization: Bearer <access token>`",
        })?;
        Self::from_access_token(state, token).await
    }
}

impl OptionalFromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, ApiError> {
        match bearer(parts)? {
            Some(token) => Self::from_access_token(state, token).await.map(Some),
            None => Ok(None),
        }
    }
}
