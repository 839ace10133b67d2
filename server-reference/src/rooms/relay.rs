//! The in-process API the signalling relay calls: authorise a join and report occupancy.
//!
//! The relay lives in this server, so this is a Rust API rather than HTTP: the relay passes the
//! access token a client presented on its WebSocket, and publishes occupancy as musicians come
//! and go. Both go through the same checks and lobby announcements as the HTTP API.

use crate::AppState;
use crate::accounts::AuthUser;
use crate::accounts::tokens::token_hash;
use crate::db::unix_now;
use crate::error::{ApiError, ApiResult};
use crate::lobby::LobbyEvent;
use crate::rooms::{Room, RoomVisibility, announce, load};

/// Permission for one user to enter one room.
#[derive(Debug, Clone)]
pub struct JoinGrant {
    /// Who joins.
    pub user: AuthUser,
    /// The room, as it is now.
    pub room: Room,
}

/// Checks that the holder of `access_token` may join `room_id` now: the token is valid and its
/// session live, the room exists and is open, a private room gets a valid `invite` (unless the
/// user owns the room or is an admin), and the room is not full. A private room the user may not
/// enter is reported as not found, like everywhere else.
pub async fn authorize_join(
    state: &AppState,
    access_token: &str,
    room_id: &str,
    invite: Option<&str>,
) -> ApiResult<JoinGrant> {
    let user = AuthUser::from_access_token(state, access_token).await?;
    let room = authorize_access(state, Some(&user), room_id, invite).await?;
    if room.occupancy >= room.capacity {
        return Err(ApiError::Conflict {
            code: "room_full",
            message: "this room is full",
        });
    }
    Ok(JoinGrant { user, room })
}

/// The access part of [`authorize_join`], for an authenticated `user` or (with `None`) an
/// anonymous musician: the room exists and is open, and a private room gets a valid `invite`
/// (unless the user owns it or is an admin). Capacity is left to the caller: the signalling relay
/// counts live connections itself rather than trusting the stored occupancy.
pub async fn authorize_access(
    state: &AppState,
    user: Option<&AuthUser>,
    room_id: &str,
    invite: Option<&str>,
) -> ApiResult<Room> {
    let room = load(state, room_id)
        .await?
        .ok_or(ApiError::NotFound("room"))?;
    let privileged = user.is_some_and(|u| u.may_edit(&room.owner_id));
    if room.visibility == RoomVisibility::Private && !privileged {
        let valid_invite = match invite {
            Some(token) => sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM room_invites WHERE token_hash = $1 AND room_id = $2 AND expires_at > $3",
            )
            .bind(token_hash(token))
            .bind(&room.id)
            .bind(unix_now())
            .fetch_one(&state.db.pool)
            .await?
                > 0,
            None => false,
        };
        if !valid_invite {
            return Err(ApiError::NotFound("room"));
        }
    }
    if room.closed_at.is_some() {
        return Err(ApiError::Conflict {
            code: "room_closed",
            message: "this room is closed",
        });
    }
    Ok(room)
}

/// Records that `occupancy` musicians are in `room_id` and announces it on the lobby feed.
pub async fn report_occupancy(state: &AppState, room_id: &str, occupancy: u32) -> ApiResult<Room> {
    let done = sqlx::query("UPDATE rooms SET occupancy = $1 WHERE id = $2 AND closed_at IS NULL")
        .bind(i64::from(occupancy))
        .bind(room_id)
        .execute(&state.db.pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(ApiError::NotFound("room"));
    }
    let room = load(state, room_id)
        .await?
        .ok_or(ApiError::NotFound("room"))?;
    announce(
        state,
        &room,
        LobbyEvent::Occupancy {
            room_id: room.id.clone(),
            occupancy: room.occupancy,
            capacity: room.capacity,
        },
    );
    Ok(room)
}
