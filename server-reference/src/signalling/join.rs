//! Admission of a `join`: rate limits, who the client is (access token, or a display name when
//! anonymous signalling is switched on), and whether the room may be entered (exists, open,
//! invite for private rooms — the same rules as the HTTP API, through `rooms::relay`).
//! Capacity is the hub's business: it counts live connections.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use tutti_core::protocol::{Auth, ErrorCode, Join, MAX_NAME_CHARS};

use crate::AppState;
use crate::accounts::AuthUser;
use crate::error::ApiError;
use crate::rate_limit::KeyedLimiter;
use crate::rooms::Room;
use crate::rooms::relay::authorize_access;

/// Name shown for an account without a visible profile.
const DEFAULT_NAME: &str = "Musician";

/// Why a join was refused. All but [`JoinError::Internal`] are the client's doing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JoinError {
    /// Too many joins from this IP address or for this account.
    #[error("too many joins; retry in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until a retry may succeed.
        retry_after_secs: u64,
    },
    /// The access token is invalid, expired or revoked, or anonymous joins are off.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// No such room, or a private room and no invite (not distinguished, as in the HTTP API).
    #[error("room not found")]
    RoomNotFound,
    /// An invite was presented, but it does not open this room (or the room does not exist).
    #[error("the invite is invalid or expired")]
    InvalidInvite,
    /// The room has been closed.
    #[error("the room is closed")]
    RoomClosed,
    /// The room is at capacity.
    #[error("the room is full")]
    RoomFull,
    /// The database failed (the server's environment, not the client).
    #[error("the server could not check the join; try again")]
    Internal(#[source] ApiError),
}

impl JoinError {
    /// The protocol code of the reply.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Unauthorized(_) => ErrorCode::Unauthorized,
            Self::RoomNotFound => ErrorCode::RoomNotFound,
            Self::InvalidInvite => ErrorCode::InvalidInvite,
            Self::RoomClosed => ErrorCode::RoomClosed,
            Self::RoomFull => ErrorCode::RoomFull,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }
}

/// Join rate limits, per client IP and per account.
#[derive(Debug)]
pub(crate) struct JoinLimits {
    per_ip: KeyedLimiter,
    per_account: KeyedLimiter,
}

impl JoinLimits {
    pub(crate) fn per_minute(per_ip: u32, per_account: u32) -> Self {
        let minute = Duration::from_secs(60);
        Self {
            per_ip: KeyedLimiter::new(per_ip, minute),
            per_account: KeyedLimiter::new(per_account, minute),
        }
    }
}

fn limited(wait: Duration) -> JoinError {
    JoinError::RateLimited {
        retry_after_secs: wait.as_secs() + 1,
    }
}

/// A join that may proceed.
#[derive(Debug)]
pub(crate) struct Admission {
    /// The room as stored (capacity, visibility).
    pub(crate) room: Room,
    /// The account, if the client signed in.
    pub(crate) user_id: Option<String>,
    /// The name others see.
    pub(crate) display_name: String,
}

/// Checks a join from `ip` (see the module docs).
pub(crate) async fn admit(
    state: &AppState,
    ip: IpAddr,
    join: &Join,
) -> Result<Admission, JoinError> {
    let limits = &state.signalling.limits;
    let now = Instant::now();
    let rate_limited = |e| {
        state.metrics.rate_limited("signal_join");
        limited(e)
    };
    limits
        .per_ip
        .check(&ip.to_string(), now)
        .map_err(rate_limited)?;
    let (user, display_name) = match &join.auth {
        Auth::Token { access_token } => {
            let user = AuthUser::from_access_token(state, access_token)
                .await
                .map_err(|e| match e {
                    ApiError::Unauthorized { message, .. } => JoinError::Unauthorized(message),
                    other => JoinError::Internal(other),
                })?;
            limits
                .per_account
                .check(&user.id, now)
                .map_err(rate_limited)?;
            let name = profile_name(state, &user.id).await?;
            (Some(user), name)
        }
        Auth::Anonymous { display_name } => {
            if !state.config.signalling.allow_anonymous_signalling {
                return Err(JoinError::Unauthorized(
                    "this server needs an access token to join (anonymous joins are off)",
                ));
            }
            (None, display_name.trim().to_owned())
        }
        _ => {
            return Err(JoinError::Unauthorized(
                "unsupported kind of authentication",
            ));
        }
    };
    let invite = join.invite.as_deref();
    let room = authorize_access(state, user.as_ref(), join.room.as_str(), invite)
        .await
        .map_err(|e| match e {
            ApiError::NotFound(_) if invite.is_some() => JoinError::InvalidInvite,
            ApiError::NotFound(_) => JoinError::RoomNotFound,
            ApiError::Conflict {
                code: "room_closed",
                ..
            } => JoinError::RoomClosed,
            other => JoinError::Internal(other),
        })?;
    Ok(Admission {
        room,
        user_id: user.map(|u| u.id),
        display_name,
    })
}

/// The account's profile name unless the profile is private (room peers are not its audience).
async fn profile_name(state: &AppState, user_id: &str) -> Result<String, JoinError> {
    let name: Option<String> = sqlx::query_scalar(
        "SELECT display_name FROM profiles WHERE user_id = $1 AND visibility <> 'private'",
    )
    .bind(user_id)
    .fetch_optional(&state.db.pool)
    .await
    .map_err(|e| JoinError::Internal(e.into()))?;
    // Profiles are validated on write; filter anyway so the peer info always passes the
    // protocol's checks.
    let name: String = name
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect();
    Ok(if name.trim().is_empty() {
        DEFAULT_NAME.to_owned()
    } else {
        name
    })
}
