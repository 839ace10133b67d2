//! Accounts: sign-up, login, token refresh, logout, password change and roles.
//!
//! A login opens a *session*: a family of refresh tokens. Each refresh rotates the token (the old
//! one is marked used); presenting a used token again means it was stolen or replayed, so the
//! whole family is revoked. Access tokens name their session, and a revoked session rejects its
//! access tokens immediately (see [`identity`]). Passwords and tokens are never logged.

pub mod identity;
pub mod password;
pub mod tokens;

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::db::{is_unique_violation, new_id, unix_now};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::http::{ClientIp, Json, Path};
pub use identity::{AuthUser, Role};
use tokens::{random_token, token_hash};

/// Shortest accepted password, in characters.
const MIN_PASSWORD_CHARS: usize = 8;
/// Longest accepted password, in bytes (bounds hashing work per request).
const MAX_PASSWORD_BYTES: usize = 1024;

/// Routes under `/api/v1/auth` and `/api/v1/users`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign_up))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(change_password))
        .routes(routes!(me))
        .routes(routes!(set_role))
}

/// Email and password, for sign-up and login.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// Email address (case-insensitive).
    pub email: String,
    /// Password, 8 characters to 1024 bytes.
    pub password: String,
}

/// A refresh token to rotate.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh.
    pub refresh_token: String,
}

/// A password change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The current password.
    pub current_password: String,
    /// The new password.
    pub new_password: String,
}

/// A role change (admins only).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    /// The new role.
    pub role: Role,
}

/// An account as its owner sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Account {
    /// User id.
    pub id: String,
    /// Email address (lowercased).
    pub email: String,
    /// Role.
    pub role: Role,
}

/// Tokens issued by sign-up, login and refresh.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuthResponse {
    /// The account.
    pub account: Account,
    /// Short-lived HS256 JWT for `Authorization: Bearer …`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Opaque single-use token for `POST /api/v1/auth/refresh`.
    pub refresh_token: String,
}

/// Trimmed, lowercased email, or 400 if it cannot be an address.
fn normalise_email(email: &str) -> ApiResult<String> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.contains('@')
        });
    if valid {
        Ok(email)
    } else {
        Err(ApiError::BadRequest("invalid email address".into()))
    }
}

fn check_password_policy(password: &str) -> ApiResult<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::BadRequest(format!(
            "password must have at least {MIN_PASSWORD_CHARS} characters and at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

fn wrong_credentials() -> ApiError {
    ApiError::Unauthorized {
        code: "invalid_credentials",
        message: "wrong email or password",
    }
}

/// Opens a session for `account` and issues its first token pair.
async fn start_session(state: &AppState, account: Account) -> ApiResult<AuthResponse> {
    let now = unix_now();
    let session_id = new_id();
    let refresh_token = random_token();
    let mut tx = state.db.pool.begin().await?;
    sqlx::query("INSERT INTO sessions (id, user_id, created_at) VALUES ($1, $2, $3)")
        .bind(&session_id)
        .bind(&account.id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    insert_refresh_token(&mut tx, state, &session_id, &refresh_token, now).await?;
    tx.commit().await?;
    issue(state, account, &session_id, refresh_token, now)
}

async fn insert_refresh_token(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    state: &AppState,
    session_id: &str,
    token: &str,
    now: i64,
) -> ApiResult<()> {
    let ttl = i64::try_from(state.config.refresh_token_ttl_secs).unwrap_or(i64::MAX);
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(token_hash(token))
    .bind(session_id)
    .bind(now.saturating_add(ttl))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn issue(
    state: &AppState,
    account: Account,
    session_id: &str,
    refresh_token: String,
    now: i64,
) -> ApiResult<AuthResponse> {
    let access_token = state.tokens.issue(&account.id, session_id, now)?;
    Ok(AuthResponse {
        account,
        access_token,
        token_type: "Bearer".into(),
        expires_in: state.tokens.ttl_secs(),
        refresh_token,
    })
}

/// Revokes one session, or every session of a user.
async fn revoke_sessions(state: &AppState, column: SessionKey, value: &str) -> ApiResult<()> {
    let sql = match column {
        SessionKey::Session => {
            "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL"
        }
        SessionKey::User => {
            "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL"
        }
    };
    sqlx::query(sql)
        .bind(unix_now())
        .bind(value)
        .execute(&state.db.pool)
        .await?;
    Ok(())
}

/// Which sessions [`revoke_sessions`] ends.
#[derive(Clone, Copy)]
enum SessionKey {
    /// One session by id.
    Session,
    /// Every session of a user.
    User,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    email: String,
    password_hash: String,
    role: String,
}

impl UserRow {
    fn account(&self) -> Account {
        Account {
            id: self.id.clone(),
            email: self.email.clone(),
            role: Role::from_stored(&self.role),
        }
    }
}

async fn user_by_email(state: &AppState, email: &str) -> ApiResult<Option<UserRow>> {
    let sql = "SELECT id, email, password_hash, role FROM users WHERE email = $1";
    Ok(sqlx::query_as(sql)
        .bind(email)
        .fetch_optional(&state.db.pool)
        .await?)
}

async fn user_by_id(state: &AppState, id: &str) -> ApiResult<Option<UserRow>> {
    let sql = "SELECT id, email, password_hash, role FROM users WHERE id = $1";
    Ok(sqlx::query_as(sql)
        .bind(id)
        .fetch_optional(&state.db.pool)
        .await?)
}

/// Create an account and log in.
#[utoipa::path(post, path = "/api/v1/auth/signup", tag = "accounts",
    request_body = Credentials,
    responses((status = 201, body = AuthResponse), (status = 400, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn sign_up(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<Credentials>,
) -> ApiResult<(StatusCode, axum::Json<AuthResponse>)> {
    state.limit_auth(ip, None)?;
    let email = normalise_email(&body.email)?;
    check_password_policy(&body.password)?;
    let role = if state
        .config
        .admin_emails
        .iter()
        .any(|a| a.trim().eq_ignore_ascii_case(&email))
    {
        Role::Admin
    } else {
        Role::Member
    };
    let hash = password::hash(body.password).await?;
    let account = Account {
        id: new_id(),
        email,
        role,
    };
    let inserted = sqlx::query(
        "INSERT INTO users (id, email, password_hash, role, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&account.id)
    .bind(&account.email)
    .bind(&hash)
    .bind(role.as_str())
    .bind(unix_now())
    .execute(&state.db.pool)
    .await;
    match inserted {
        Err(e) if is_unique_violation(&e) => {
            return Err(ApiError::Conflict {
                code: "email_taken",
                message: "an account with this email exists",
            });
        }
        other => other?,
    };
    tracing::info!(user_id = %account.id, "account created");
    let response = start_session(&state, account).await?;
    Ok((StatusCode::CREATED, axum::Json(response)))
}

/// Log in with email and password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "accounts",
    request_body = Credentials,
    responses((status = 200, body = AuthResponse), (status = 401, body = ErrorBody),
              (status = 429, body = ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<Credentials>,
) -> ApiResult<axum::Json<AuthResponse>> {
    let email = body.email.trim().to_lowercase();
    state.limit_auth(ip, Some(&email))?;
    let user = user_by_email(&state, &email).await?;
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    if !password::verify(body.password, hash).await? {
        return Err(wrong_credentials());
    }
    let account = user.ok_or_else(wrong_credentials)?.account();
    tracing::info!(user_id = %account.id, "login");
    Ok(axum::Json(start_session(&state, account).await?))
}

#[derive(sqlx::FromRow)]
struct RefreshRow {
    session_id: String,
    user_id: String,
    expires_at: i64,
    used_at: Option<i64>,
    revoked_at: Option<i64>,
}

/// Exchange a refresh token for a new token pair (the old refresh token becomes invalid).
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "accounts",
    request_body = RefreshRequest,
    responses((status = 200, body = AuthResponse), (status = 401, body = ErrorBody),
              (status = 429, body = ErrorBody)))]
async fn refresh(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<RefreshRequest>,
) -> ApiResult<axum::Json<AuthResponse>> {
    state.limit_auth(ip, None)?;
    let hash = token_hash(&body.refresh_token);
    let row: Option<RefreshRow> = sqlx::query_as(
        "SELECT r.session_id, s.user_id, r.expires_at, r.used_at, s.revoked_at \
         FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id WHERE r.token_hash = $1",
    )
    .bind(&hash)
    .fetch_optional(&state.db.pool)
    .await?;
    let row = row.ok_or(ApiError::Unauthorized {
        code: "invalid_token",
        message: "unknown refresh token",
    })?;
    let reused = ApiError::Unauthorized {
        code: "refresh_token_reused",
        message: "this refresh token was already used; the session is revoked, log in again",
    };
    if row.revoked_at.is_some() {
        return Err(ApiError::Unauthorized {
            code: "token_revoked",
            message: "this session was ended; log in again",
        });
    }
    if row.used_at.is_some() {
        tracing::warn!(session_id = %row.session_id, "refresh token reuse; revoking the session");
        revoke_sessions(&state, SessionKey::Session, &row.session_id).await?;
        return Err(reused);
    }
    let now = unix_now();
    if row.expires_at <= now {
        return Err(ApiError::Unauthorized {
            code: "token_expired",
            message: "refresh token expired; log in again",
        });
    }
    let new_token = random_token();
    let mut tx = state.db.pool.begin().await?;
    // Only one of two concurrent refreshes with the same token may win.
    let claimed = sqlx::query(
        "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
    )
    .bind(now)
    .bind(&hash)
    .execute(&mut *tx)
    .await?;
    if claimed.rows_affected() != 1 {
        drop(tx);
        revoke_sessions(&state, SessionKey::Session, &row.session_id).await?;
        return Err(reused);
    }
    insert_refresh_token(&mut tx, &state, &row.session_id, &new_token, now).await?;
    tx.commit().await?;
    let user = user_by_id(&state, &row.user_id)
        .await?
        .ok_or_else(ApiError::invalid_token)?;
    Ok(axum::Json(issue(
        &state,
        user.account(),
        &row.session_id,
        new_token,
        now,
    )?))
}

/// End the current session: its refresh tokens and access tokens stop working at once.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "accounts",
    security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
async fn logout(State(state): State<AppState>, user: AuthUser) -> ApiResult<StatusCode> {
    revoke_sessions(&state, SessionKey::Session, &user.session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change the password; every session of the account ends (log in again).
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "accounts",
    security(("bearer" = [])), request_body = PasswordChange,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 429, body = ErrorBody)))]
async fn change_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    user: AuthUser,
    Json(body): Json<PasswordChange>,
) -> ApiResult<StatusCode> {
    state.limit_auth(ip, Some(&user.id))?;
    check_password_policy(&body.new_password)?;
    let row = user_by_id(&state, &user.id)
        .await?
        .ok_or_else(ApiError::invalid_token)?;
    if !password::verify(body.current_password, Some(row.password_hash)).await? {
        return Err(wrong_credentials());
    }
    let hash = password::hash(body.new_password).await?;
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(&hash)
        .bind(&user.id)
        .execute(&state.db.pool)
        .await?;
    revoke_sessions(&state, SessionKey::User, &user.id).await?;
    tracing::info!(user_id = %user.id, "password changed; sessions revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's account.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = Account), (status = 401, body = ErrorBody)))]
async fn me(State(state): State<AppState>, user: AuthUser) -> ApiResult<axum::Json<Account>> {
    let row = user_by_id(&state, &user.id)
        .await?
        .ok_or_else(ApiError::invalid_token)?;
    Ok(axum::Json(row.account()))
}

/// Change a user's role (admins only).
#[utoipa::path(put, path = "/api/v1/users/{id}/role", tag = "accounts", security(("bearer" = [])),
    params(("id" = String, Path, description = "user id")), request_body = RoleChange,
    responses((status = 200, body = Account), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
async fn set_role(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Json(body): Json<RoleChange>,
) -> ApiResult<axum::Json<Account>> {
    if !user.is_admin() {
        return Err(ApiError::Forbidden("only admins change roles"));
    }
    let done = sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
        .bind(body.role.as_str())
        .bind(&id)
        .execute(&state.db.pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(ApiError::NotFound("user"));
    }
    let row = user_by_id(&state, &id)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    Ok(axum::Json(row.account()))
}

/// Gives the admin role to existing accounts with these emails (the `--admin-email` flag).
pub async fn promote_admins(state: &AppState, emails: &[String]) -> ApiResult<()> {
    for email in emails {
        let email = email.trim().to_lowercase();
        sqlx::query("UPDATE users SET role = 'admin' WHERE email = $1")
            .bind(&email)
            .execute(&state.db.pool)
            .await?;
    }
    Ok(())
}
