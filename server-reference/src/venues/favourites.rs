//! Members' favourite venues. A favourite list is private: every route acts on the caller's own
//! list only (there is no way to name another user), and venues do not reveal who saved them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::Venue;
use super::storage;
use crate::AppState;
use crate::accounts::AuthUser;
use crate::db::unix_now;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::http::Query;
use crate::validate::Page;

/// Routes under `/api/v1/me/favourite-venues`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(add, remove))
}

/// The caller's favourite venues, most recently saved first.
#[utoipa::path(get, path = "/api/v1/me/favourite-venues", tag = "venues",
    security(("bearer" = [])), params(Page),
    responses((status = 200, body = Vec<Venue>), (status = 401, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Query(page): Query<Page>,
) -> ApiResult<axum::Json<Vec<Venue>>> {
    let (limit, offset) = page.bounds()?;
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT venue_id FROM venue_favourites WHERE user_id = $1 \
         ORDER BY created_at DESC, venue_id LIMIT $2 OFFSET $3",
    )
    .bind(&user.id)
    .bind(limit)
    .bind(offset)
    .fetch_all(&state.db.pool)
    .await?;
    Ok(axum::Json(storage::get_many(&state.db, &ids).await?))
}

/// Save a venue as a favourite (idempotent).
#[utoipa::path(put, path = "/api/v1/me/favourite-venues/{venue_id}", tag = "venues",
    security(("bearer" = [])), params(("venue_id" = String, Path, description = "venue id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn add(
    State(state): State<AppState>,
    user: AuthUser,
    Path(venue_id): Path<String>,
) -> ApiResult<StatusCode> {
    // The venue must exist; INSERT … SELECT makes check and insert one statement.
    let done = sqlx::query(
        "INSERT INTO venue_favourites (user_id, venue_id, created_at) \
         SELECT $1, id, $2 FROM venues WHERE id = $3 \
         ON CONFLICT (user_id, venue_id) DO NOTHING",
    )
    .bind(&user.id)
    .bind(unix_now())
    .bind(&venue_id)
    .execute(&state.db.pool)
    .await?;
    if done.rows_affected() == 0 && storage::get(&state.db, &venue_id).await?.is_none() {
        return Err(ApiError::NotFound("venue"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a venue from the caller's favourites (idempotent).
#[utoipa::path(delete, path = "/api/v1/me/favourite-venues/{venue_id}", tag = "venues",
    security(("bearer" = [])), params(("venue_id" = String, Path, description = "venue id")),
    responses((status = 204), (status = 401, body = ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    user: AuthUser,
    Path(venue_id): Path<String>,
) -> ApiResult<StatusCode> {
    sqlx::query("DELETE FROM venue_favourites WHERE user_id = $1 AND venue_id = $2")
        .bind(&user.id)
        .bind(&venue_id)
        .execute(&state.db.pool)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
