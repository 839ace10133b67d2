//! Musician profiles: create, read, list, replace and delete, with visibility enforced on every
//! read. A profile the caller may not read does not exist for them (404, absent from lists), so
//! private data cannot leak through ids, lists or error codes. Only the owner or an admin edits.

pub mod model;

use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::accounts::AuthUser;
use crate::db::{is_unique_violation, unix_now};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::http::{Json, Path, Query};
use crate::validate::Page;
pub use model::{Profile, ProfileData, Visibility};

/// Routes under `/api/v1/profiles`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get_profile, replace, delete))
}

/// Whether `viewer` may read a profile of `owner_id` with `visibility`.
pub fn readable_by(visibility: Visibility, owner_id: &str, viewer: Option<&AuthUser>) -> bool {
    match visibility {
        Visibility::Public => true,
        Visibility::MembersOnly => viewer.is_some(),
        Visibility::Private => viewer.is_some_and(|v| v.may_edit(owner_id)),
    }
}

#[derive(sqlx::FromRow)]
struct ProfileRow {
    user_id: String,
    display_name: String,
    bio: String,
    city: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    time_zone: Option<String>,
    max_latency_ms: Option<i64>,
    avatar_url: Option<String>,
    visibility: String,
    instruments: String,
    genres: String,
    influences: String,
    availability: String,
    looking_for: String,
    is_demo: i64,
    created_at: i64,
    updated_at: i64,
}

/// The profile columns, as a literal so queries stay `&'static str` (sqlx's injection guard).
macro_rules! columns {
    () => {
        "user_id, display_name, bio, city, latitude, longitude, time_zone, max_latency_ms, \
         avatar_url, visibility, instruments, genres, influences, availability, looking_for, \
         is_demo, created_at, updated_at"
    };
}

fn from_json<T: serde::de::DeserializeOwned>(column: &str, text: &str) -> ApiResult<T> {
    serde_json::from_str(text)
        .map_err(|e| ApiError::Internal(format!("stored profile {column} unreadable: {e}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> ApiResult<String> {
    serde_json::to_string(value)
        .map_err(|e| ApiError::Internal(format!("profile encoding failed: {e}")))
}

impl TryFrom<ProfileRow> for Profile {
    type Error = ApiError;

    fn try_from(r: ProfileRow) -> ApiResult<Self> {
        let coordinates =
            r.latitude
                .zip(r.longitude)
                .map(|(latitude, longitude)| model::Coordinates {
                    latitude,
                    longitude,
                });
        Ok(Self {
            user_id: r.user_id,
            data: ProfileData {
                display_name: r.display_name,
                instruments: from_json("instruments", &r.instruments)?,
                genres: from_json("genres", &r.genres)?,
                influences: from_json("influences", &r.influences)?,
                bio: r.bio,
                city: r.city,
                coordinates,
                time_zone: r.time_zone,
                availability: from_json("availability", &r.availability)?,
                looking_for: from_json("looking_for", &r.looking_for)?,
                max_latency_ms: r.max_latency_ms.and_then(|v| u32::try_from(v).ok()),
                avatar_url: r.avatar_url,
                visibility: Visibility::from_stored(&r.visibility),
            },
            demo: r.is_demo != 0,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

async fn load(state: &AppState, user_id: &str) -> ApiResult<Option<Profile>> {
    load_one(&state.db, user_id).await
}

/// One stored profile, if there is one (the recommender reloads changed ones).
pub async fn load_one(db: &crate::db::Db, user_id: &str) -> ApiResult<Option<Profile>> {
    let row: Option<ProfileRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM profiles WHERE user_id = $1"
    ))
    .bind(user_id)
    .fetch_optional(&db.pool)
    .await?;
    row.map(Profile::try_from).transpose()
}

/// Every stored profile (the recommender index loads them at start and on refresh).
pub async fn load_all(db: &crate::db::Db) -> ApiResult<Vec<Profile>> {
    let rows: Vec<ProfileRow> = sqlx::query_as(concat!("SELECT ", columns!(), " FROM profiles"))
        .fetch_all(&db.pool)
        .await?;
    rows.into_iter().map(Profile::try_from).collect()
}

/// Loads a profile `viewer` may read; otherwise 404.
async fn load_readable(
    state: &AppState,
    user_id: &str,
    viewer: Option<&AuthUser>,
) -> ApiResult<Profile> {
    load(state, user_id)
        .await?
        .filter(|p| readable_by(p.data.visibility, &p.user_id, viewer))
        .ok_or(ApiError::NotFound("profile"))
}

/// Loads a profile `user` may edit: 404 if unreadable, 403 if readable but not theirs.
async fn load_editable(state: &AppState, user_id: &str, user: &AuthUser) -> ApiResult<Profile> {
    let profile = load_readable(state, user_id, Some(user)).await?;
    if !user.may_edit(&profile.user_id) {
        return Err(ApiError::Forbidden(
            "only the profile's owner or an admin may change it",
        ));
    }
    Ok(profile)
}

/// Inserts `data` (already validated) as the profile of `user_id`; the demo data uses this too.
pub async fn insert(
    state: &AppState,
    user_id: &str,
    data: ProfileData,
    demo: bool,
) -> ApiResult<Profile> {
    let now = unix_now();
    let (lat, lon) = data.coordinates.map(|c| (c.latitude, c.longitude)).unzip();
    let result = sqlx::query(concat!(
        "INSERT INTO profiles (",
        columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)"
    ))
    .bind(user_id)
    .bind(&data.display_name)
    .bind(&data.bio)
    .bind(&data.city)
    .bind(lat)
    .bind(lon)
    .bind(&data.time_zone)
    .bind(data.max_latency_ms.map(i64::from))
    .bind(&data.avatar_url)
    .bind(data.visibility.as_str())
    .bind(to_json(&data.instruments)?)
    .bind(to_json(&data.genres)?)
    .bind(to_json(&data.influences)?)
    .bind(to_json(&data.availability)?)
    .bind(to_json(&data.looking_for)?)
    .bind(i64::from(demo))
    .bind(now)
    .execute(&state.db.pool)
    .await;
    match result {
        Err(e) if is_unique_violation(&e) => Err(ApiError::Conflict {
            code: "profile_exists",
            message: "this account already has a profile; replace it with PUT",
        }),
        other => {
            other?;
            let profile = Profile {
                user_id: user_id.to_owned(),
                data,
                demo,
                created_at: now,
                updated_at: now,
            };
            state.recommender.write().upsert_profile(&profile);
            Ok(profile)
        }
    }
}

/// Create the caller's profile.
#[utoipa::path(post, path = "/api/v1/profiles", tag = "profiles", security(("bearer" = [])),
    request_body = ProfileData,
    responses((status = 201, body = Profile), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<ProfileData>,
) -> ApiResult<(StatusCode, axum::Json<Profile>)> {
    let profile = insert(&state, &user.id, body.validated()?, false).await?;
    Ok((StatusCode::CREATED, axum::Json(profile)))
}

/// Profiles the caller may read, by display name.
#[utoipa::path(get, path = "/api/v1/profiles", tag = "profiles", params(Page),
    responses((status = 200, body = Vec<Profile>), (status = 400, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    viewer: Option<AuthUser>,
    Query(page): Query<Page>,
) -> ApiResult<axum::Json<Vec<Profile>>> {
    let (limit, offset) = page.bounds()?;
    let rows: Vec<ProfileRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM profiles WHERE visibility = 'public' \
         OR (visibility = 'members_only' AND $1 = 1) OR user_id = $2 OR $3 = 1 \
         ORDER BY display_name, user_id LIMIT $4 OFFSET $5"
    ))
    .bind(i64::from(viewer.is_some()))
    .bind(viewer.as_ref().map_or("", |v| v.id.as_str()))
    .bind(i64::from(viewer.as_ref().is_some_and(AuthUser::is_admin)))
    .bind(limit)
    .bind(offset)
    .fetch_all(&state.db.pool)
    .await?;
    let profiles = rows
        .into_iter()
        .map(Profile::try_from)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(axum::Json(profiles))
}

/// One profile, if the caller may read it.
#[utoipa::path(get, path = "/api/v1/profiles/{user_id}", tag = "profiles",
    params(("user_id" = String, Path, description = "the owner's user id")),
    responses((status = 200, body = Profile), (status = 404, body = ErrorBody)))]
async fn get_profile(
    State(state): State<AppState>,
    viewer: Option<AuthUser>,
    Path(user_id): Path<String>,
) -> ApiResult<axum::Json<Profile>> {
    Ok(axum::Json(
        load_readable(&state, &user_id, viewer.as_ref()).await?,
    ))
}

/// Replace a profile (owner or admin).
#[utoipa::path(put, path = "/api/v1/profiles/{user_id}", tag = "profiles", security(("bearer" = [])),
    params(("user_id" = String, Path, description = "the owner's user id")), request_body = ProfileData,
    responses((status = 200, body = Profile), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn replace(
    State(state): State<AppState>,
    user: AuthUser,
    Path(user_id): Path<String>,
    Json(body): Json<ProfileData>,
) -> ApiResult<axum::Json<Profile>> {
    let old = load_editable(&state, &user_id, &user).await?;
    let data = body.validated()?;
    let now = unix_now();
    let (lat, lon) = data.coordinates.map(|c| (c.latitude, c.longitude)).unzip();
    sqlx::query(
        "UPDATE profiles SET display_name = $1, bio = $2, city = $3, latitude = $4, longitude = $5, \
         time_zone = $6, max_latency_ms = $7, avatar_url = $8, visibility = $9, instruments = $10, \
         genres = $11, influences = $12, availability = $13, looking_for = $14, updated_at = $15 \
         WHERE user_id = $16",
    )
    .bind(&data.display_name)
    .bind(&data.bio)
    .bind(&data.city)
    .bind(lat)
    .bind(lon)
    .bind(&data.time_zone)
    .bind(data.max_latency_ms.map(i64::from))
    .bind(&data.avatar_url)
    .bind(data.visibility.as_str())
    .bind(to_json(&data.instruments)?)
    .bind(to_json(&data.genres)?)
    .bind(to_json(&data.influences)?)
    .bind(to_json(&data.availability)?)
    .bind(to_json(&data.looking_for)?)
    .bind(now)
    .bind(&old.user_id)
    .execute(&state.db.pool)
    .await?;
    let profile = Profile {
        data,
        updated_at: now,
        ..old
    };
    state.recommender.write().upsert_profile(&profile);
    Ok(axum::Json(profile))
}

/// Delete a profile (owner or admin); the account stays.
#[utoipa::path(delete, path = "/api/v1/profiles/{user_id}", tag = "profiles", security(("bearer" = [])),
    params(("user_id" = String, Path, description = "the owner's user id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    Path(user_id): Path<String>,
) -> ApiResult<StatusCode> {
    let profile = load_editable(&state, &user_id, &user).await?;
    sqlx::query("DELETE FROM profiles WHERE user_id = $1")
        .bind(&profile.user_id)
        .execute(&state.db.pool)
        .await?;
    state.recommender.write().remove_profile(&profile.user_id);
    Ok(StatusCode::NO_CONTENT)
}
