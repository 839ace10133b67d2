//! Jam rooms: create (public or private), list live rooms, close, and invite tokens for private
//! rooms. [`relay`] is the in-process API the signalling relay uses to authorise joins and
//! report occupancy. Public room changes are announced on the [`crate::lobby`] feed.

pub mod relay;

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::accounts::AuthUser;
use crate::accounts::tokens::{random_token, token_hash};
use crate::db::{new_id, unix_now};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::http::{Json, Path, Query};
use crate::lobby::LobbyEvent;
use crate::validate::{Page, check_len, check_optional_len, check_range};

/// Largest room capacity (a full mesh of 16 peers is already heavy on uplinks).
pub const MAX_CAPACITY: u32 = 16;
/// Default and longest invite lifetimes, in seconds.
const DEFAULT_INVITE_TTL: u64 = 7 * 24 * 3600;
const MAX_INVITE_TTL: u64 = 30 * 24 * 3600;

/// Routes under `/api/v1/rooms`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get_room, close_room))
        .routes(routes!(create_invite))
}

/// Who may see and join a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoomVisibility {
    /// Listed in the lobby; any member may join.
    Public,
    /// Unlisted; joining needs an invite token (or being the owner or an admin).
    Private,
}

impl RoomVisibility {
    fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Private => "private",
        }
    }
}

/// A room as returned by the API.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Room {
    /// Room id.
    pub id: String,
    /// User id of the creator.
    pub owner_id: String,
    /// Name shown in the lobby.
    pub name: String,
    /// Public or private.
    pub visibility: RoomVisibility,
    /// Most musicians at once.
    pub capacity: u32,
    /// Genre, free text.
    pub genre: Option<String>,
    /// Tempo in beats per minute.
    pub tempo_bpm: Option<u32>,
    /// Description.
    pub description: String,
    /// Musicians in the room now (reported by the signalling relay).
    pub occupancy: u32,
    /// Synthetic demo data, not a real room.
    pub demo: bool,
    /// Created at, Unix seconds.
    pub created_at: i64,
    /// Closed at, Unix seconds; `null` while live.
    pub closed_at: Option<i64>,
}

impl Room {
    /// Whether `user` (or an anonymous caller) may see this room.
    pub fn visible_to(&self, user: Option<&AuthUser>) -> bool {
        self.visibility == RoomVisibility::Public
            || user.is_some_and(|u| u.may_edit(&self.owner_id))
    }
}

/// A new room.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRoom {
    /// 1–80 characters.
    pub name: String,
    /// Public or private.
    pub visibility: RoomVisibility,
    /// 2–16 musicians.
    pub capacity: u32,
    /// Up to 40 characters.
    #[serde(default)]
    pub genre: Option<String>,
    /// 20–300 BPM.
    #[serde(default)]
    pub tempo_bpm: Option<u32>,
    /// Up to 1000 characters.
    #[serde(default)]
    pub description: String,
}

impl NewRoom {
    fn validate(&self) -> ApiResult<()> {
        check_len("name", self.name.trim(), 1, 80)?;
        check_range("capacity", self.capacity, 2, MAX_CAPACITY)?;
        check_optional_len("genre", self.genre.as_deref(), 40)?;
        if let Some(bpm) = self.tempo_bpm {
            check_range("tempo_bpm", bpm, 20, 300)?;
        }
        check_len("description", &self.description, 0, 1000)
    }
}

/// A request for an invite token.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvite {
    /// Lifetime in seconds, 60 s to 30 days (default 7 days).
    #[serde(default)]
    pub ttl_secs: Option<u64>,
}

/// An invite token: give it to the musicians you invite; they present it when joining.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Invite {
    /// The room.
    pub room_id: String,
    /// The secret token (shown once; only its hash is stored).
    pub token: String,
    /// Expires at, Unix seconds.
    pub expires_at: i64,
}

#[derive(sqlx::FromRow)]
struct RoomRow {
    id: String,
    owner_id: String,
    name: String,
    visibility: String,
    capacity: i64,
    genre: Option<String>,
    tempo_bpm: Option<i64>,
    description: String,
    occupancy: i64,
    is_demo: i64,
    created_at: i64,
    closed_at: Option<i64>,
}

impl From<RoomRow> for Room {
    fn from(r: RoomRow) -> Self {
        let small = |v: i64| u32::try_from(v).unwrap_or(0);
        Self {
            id: r.id,
            owner_id: r.owner_id,
            name: r.name,
            visibility: if r.visibility == "public" {
                RoomVisibility::Public
            } else {
                RoomVisibility::Private
            },
            capacity: small(r.capacity),
            genre: r.genre,
            tempo_bpm: r.tempo_bpm.map(small),
            description: r.description,
            occupancy: small(r.occupancy),
            demo: r.is_demo != 0,
            created_at: r.created_at,
            closed_at: r.closed_at,
        }
    }
}

/// The room columns, as a literal so queries stay `&'static str` (sqlx's injection guard).
macro_rules! columns {
    () => {
        "id, owner_id, name, visibility, capacity, genre, tempo_bpm, description, occupancy, \
         is_demo, created_at, closed_at"
    };
}

/// Loads a room by id, live or closed.
pub async fn load(state: &AppState, id: &str) -> ApiResult<Option<Room>> {
    let row: Option<RoomRow> =
        sqlx::query_as(concat!("SELECT ", columns!(), " FROM rooms WHERE id = $1"))
            .bind(id)
            .fetch_optional(&state.db.pool)
            .await?;
    Ok(row.map(Room::from))
}

/// Inserts a room owned by `owner_id` (also used by the demo data) and announces it if public.
pub async fn insert(
    state: &AppState,
    owner_id: &str,
    new: &NewRoom,
    demo: bool,
) -> ApiResult<Room> {
    let room = Room {
        id: new_id(),
        owner_id: owner_id.to_owned(),
        name: new.name.trim().to_owned(),
        visibility: new.visibility,
        capacity: new.capacity,
        genre: new.genre.clone(),
        tempo_bpm: new.tempo_bpm,
        description: new.description.clone(),
        occupancy: 0,
        demo,
        created_at: unix_now(),
        closed_at: None,
    };
    sqlx::query(
        "INSERT INTO rooms (id, owner_id, name, visibility, capacity, genre, tempo_bpm, description, \
         is_demo, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&room.id)
    .bind(&room.owner_id)
    .bind(&room.name)
    .bind(room.visibility.as_str())
    .bind(i64::from(room.capacity))
    .bind(&room.genre)
    .bind(room.tempo_bpm.map(i64::from))
    .bind(&room.description)
    .bind(i64::from(demo))
    .bind(room.created_at)
    .execute(&state.db.pool)
    .await?;
    announce(state, &room, LobbyEvent::RoomOpened { room: room.clone() });
    Ok(room)
}

/// Publishes `event` about `room` on the lobby feed if the room is public.
pub(crate) fn announce(state: &AppState, room: &Room, event: LobbyEvent) {
    if room.visibility == RoomVisibility::Public {
        state.lobby.publish(event);
    }
}

/// Loads a room the caller may see; otherwise 404 (existence is not revealed).
async fn load_visible(state: &AppState, id: &str, user: Option<&AuthUser>) -> ApiResult<Room> {
    load(state, id)
        .await?
        .filter(|room| room.visible_to(user))
        .ok_or(ApiError::NotFound("room"))
}

/// Loads a live room the caller may manage: 404 if invisible, 403 if visible but not theirs.
async fn load_managed(state: &AppState, id: &str, user: &AuthUser) -> ApiResult<Room> {
    let room = load_visible(state, id, Some(user)).await?;
    if !user.may_edit(&room.owner_id) {
        return Err(ApiError::Forbidden(
            "only the room's owner or an admin may do this",
        ));
    }
    Ok(room)
}

/// Open a jam room.
#[utoipa::path(post, path = "/api/v1/rooms", tag = "rooms", security(("bearer" = [])),
    request_body = NewRoom,
    responses((status = 201, body = Room), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<NewRoom>,
) -> ApiResult<(StatusCode, axum::Json<Room>)> {
    body.validate()?;
    let room = insert(&state, &user.id, &body, false).await?;
    Ok((StatusCode::CREATED, axum::Json(room)))
}

/// Live rooms: every public room, plus the caller's own private rooms (all rooms for admins).
#[utoipa::path(get, path = "/api/v1/rooms", tag = "rooms", params(Page),
    responses((status = 200, body = Vec<Room>)))]
async fn list(
    State(state): State<AppState>,
    user: Option<AuthUser>,
    Query(page): Query<Page>,
) -> ApiResult<axum::Json<Vec<Room>>> {
    let (limit, offset) = page.bounds()?;
    let rows: Vec<RoomRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM rooms WHERE closed_at IS NULL \
         AND (visibility = 'public' OR owner_id = $1 OR $2 = 1) \
         ORDER BY created_at DESC, id LIMIT $3 OFFSET $4"
    ))
    .bind(user.as_ref().map_or("", |u| u.id.as_str()))
    .bind(i64::from(user.as_ref().is_some_and(AuthUser::is_admin)))
    .bind(limit)
    .bind(offset)
    .fetch_all(&state.db.pool)
    .await?;
    Ok(axum::Json(rows.into_iter().map(Room::from).collect()))
}

/// One room (private rooms only for their owner and admins).
#[utoipa::path(get, path = "/api/v1/rooms/{id}", tag = "rooms",
    params(("id" = String, Path, description = "room id")),
    responses((status = 200, body = Room), (status = 404, body = ErrorBody)))]
async fn get_room(
    State(state): State<AppState>,
    user: Option<AuthUser>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Room>> {
    Ok(axum::Json(load_visible(&state, &id, user.as_ref()).await?))
}

/// Close a room (owner or admin).
#[utoipa::path(delete, path = "/api/v1/rooms/{id}", tag = "rooms", security(("bearer" = [])),
    params(("id" = String, Path, description = "room id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn close_room(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let room = load_managed(&state, &id, &user).await?;
    close(&state, &room).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Marks `room` closed and announces it (the relay may call this when the last musician leaves).
pub async fn close(state: &AppState, room: &Room) -> ApiResult<()> {
    let done = sqlx::query("UPDATE rooms SET closed_at = $1 WHERE id = $2 AND closed_at IS NULL")
        .bind(unix_now())
        .bind(&room.id)
        .execute(&state.db.pool)
        .await?;
    state.signalling.room_closed(&room.id);
    if done.rows_affected() == 1 {
        announce(
            state,
            room,
            LobbyEvent::RoomClosed {
                room_id: room.id.clone(),
            },
        );
    }
    Ok(())
}

/// Create an invite token for a room (owner or admin).
#[utoipa::path(post, path = "/api/v1/rooms/{id}/invites", tag = "rooms", security(("bearer" = [])),
    params(("id" = String, Path, description = "room id")), request_body = NewInvite,
    responses((status = 201, body = Invite), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn create_invite(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Json(body): Json<NewInvite>,
) -> ApiResult<(StatusCode, axum::Json<Invite>)> {
    let room = load_managed(&state, &id, &user).await?;
    let ttl = body.ttl_secs.unwrap_or(DEFAULT_INVITE_TTL);
    check_range("ttl_secs", ttl, 60, MAX_INVITE_TTL)?;
    let token = random_token();
    let expires_at = unix_now().saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX));
    sqlx::query("INSERT INTO room_invites (token_hash, room_id, created_by, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_hash(&token))
        .bind(&room.id)
        .bind(&user.id)
        .bind(expires_at)
        .execute(&state.db.pool)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(Invite {
            room_id: room.id,
            token,
            expires_at,
        }),
    ))
}
