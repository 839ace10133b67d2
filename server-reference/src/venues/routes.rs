//! HTTP handlers for venues: search, read and export for everyone; create, replace, delete and
//! import for curators and admins.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use sqlx::Acquire;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::import::{ImportReport, MAX_IMPORT_BYTES, Record, apply, parse_json};
use super::model::{Venue, VenueData};
use super::search::{SearchPage, SearchQuery};
use super::{import_csv, import_geojson, search, storage};
use crate::AppState;
use crate::accounts::{AuthUser, Role};
use crate::db::{is_unique_violation, new_id, unix_now};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::http::{Json, Query};

/// Largest export page.
const MAX_EXPORT_PAGE: u32 = 1000;

/// Routes under `/api/v1/venues`.
pub fn routes() -> OpenApiRouter<AppState> {
    let import = OpenApiRouter::new()
        .routes(routes!(import))
        .layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES));
    OpenApiRouter::new()
        .routes(routes!(search_venues, create))
        .routes(routes!(export))
        .routes(routes!(get_venue, replace, delete))
        .merge(import)
}

/// A caller allowed to manage venue data (curator or admin); anyone else gets 403.
#[derive(Debug, Clone)]
pub struct Curator(pub AuthUser);

impl FromRequestParts<AppState> for Curator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        if user.role < Role::Curator {
            return Err(ApiError::Forbidden(
                "only curators and admins manage venues",
            ));
        }
        Ok(Self(user))
    }
}

fn source_conflict(err: sqlx::Error) -> ApiError {
    if is_unique_violation(&err) {
        ApiError::Conflict {
            code: "source_ref_exists",
            message: "another venue has this source_ref",
        }
    } else {
        err.into()
    }
}

/// Unwraps a storage error that may be a `source_ref` uniqueness conflict.
fn conflict_aware(err: ApiError) -> ApiError {
    match err {
        ApiError::Storage(e) => source_conflict(e),
        other => other,
    }
}

/// Search venues by area, filters and text, nearest first.
#[utoipa::path(get, path = "/api/v1/venues", tag = "venues", params(SearchQuery),
    responses((status = 200, body = SearchPage), (status = 400, body = ErrorBody)))]
async fn search_venues(
    State(state): State<AppState>,
    Query(query): Query<SearchQuery>,
) -> ApiResult<axum::Json<SearchPage>> {
    let plan = query.plan()?;
    Ok(axum::Json(
        search::run(&state.db, &state.venues, &plan).await?,
    ))
}

/// Create a venue (curators and admins).
#[utoipa::path(post, path = "/api/v1/venues", tag = "venues", security(("bearer" = [])),
    request_body = VenueData,
    responses((status = 201, body = Venue), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    _curator: Curator,
    Json(body): Json<VenueData>,
) -> ApiResult<(StatusCode, axum::Json<Venue>)> {
    let data = body.validated()?;
    let (id, now) = (new_id(), unix_now());
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = conn.begin().await?;
    storage::insert(&mut tx, &id, &data, false, now)
        .await
        .map_err(conflict_aware)?;
    tx.commit().await?;
    let venue = Venue {
        id,
        data,
        demo: false,
        created_at: now,
        updated_at: now,
    };
    Ok((StatusCode::CREATED, axum::Json(venue)))
}

/// One venue.
#[utoipa::path(get, path = "/api/v1/venues/{id}", tag = "venues",
    params(("id" = String, Path, description = "venue id")),
    responses((status = 200, body = Venue), (status = 404, body = ErrorBody)))]
async fn get_venue(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Venue>> {
    storage::get(&state.db, &id)
        .await?
        .map(axum::Json)
        .ok_or(ApiError::NotFound("venue"))
}

/// Replace a venue (curators and admins).
#[utoipa::path(put, path = "/api/v1/venues/{id}", tag = "venues", security(("bearer" = [])),
    params(("id" = String, Path, description = "venue id")), request_body = VenueData,
    responses((status = 200, body = Venue), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn replace(
    State(state): State<AppState>,
    _curator: Curator,
    Path(id): Path<String>,
    Json(body): Json<VenueData>,
) -> ApiResult<axum::Json<Venue>> {
    let data = body.validated()?;
    let now = unix_now();
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = conn.begin().await?;
    if !storage::update(&mut tx, &id, &data, now)
        .await
        .map_err(conflict_aware)?
    {
        return Err(ApiError::NotFound("venue"));
    }
    tx.commit().await?;
    drop(conn);
    storage::get(&state.db, &id)
        .await?
        .map(axum::Json)
        .ok_or(ApiError::NotFound("venue"))
}

/// Delete a venue (curators and admins).
#[utoipa::path(delete, path = "/api/v1/venues/{id}", tag = "venues", security(("bearer" = [])),
    params(("id" = String, Path, description = "venue id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete(
    State(state): State<AppState>,
    _curator: Curator,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    if storage::delete(&state.db, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("venue"))
    }
}

/// Options of an import.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportOptions {
    /// Check and report only; write nothing.
    #[serde(default)]
    pub dry_run: bool,
}

fn parse_body(content_type: &str, body: &[u8]) -> ApiResult<Vec<Record>> {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let json = || {
        serde_json::from_slice::<serde_json::Value>(body)
            .map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))
    };
    match mime.as_str() {
        "text/csv" | "application/csv" => import_csv::parse(body),
        "application/geo+json" => import_geojson::parse(&json()?),
        "application/json" => {
            let value = json()?;
            if value.get("type").and_then(serde_json::Value::as_str) == Some("FeatureCollection") {
                import_geojson::parse(&value)
            } else {
                parse_json(&value)
            }
        }
        _ => Err(ApiError::BadRequest(
            "an import needs `Content-Type: text/csv`, `application/geo+json` or \
             `application/json`"
                .into(),
        )),
    }
}

/// Import venues from CSV, GeoJSON or JSON (curators and admins); up to 8 MiB and 20,000
/// records. Bad records are reported, not fatal; good ones are written in one transaction;
/// a record whose `source_ref` exists updates that venue.
#[utoipa::path(post, path = "/api/v1/venues/import", tag = "venues", security(("bearer" = [])),
    params(ImportOptions),
    request_body(description = "CSV with the documented header, an OSM-style GeoJSON \
        FeatureCollection, or a JSON array of venues",
        content(("text/csv"), ("application/geo+json"), (Vec<VenueData> = "application/json"))),
    responses((status = 200, body = ImportReport), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 413, body = ErrorBody)))]
async fn import(
    State(state): State<AppState>,
    _curator: Curator,
    Query(options): Query<ImportOptions>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<axum::Json<ImportReport>> {
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge {
                limit: MAX_IMPORT_BYTES,
            }
        } else {
            ApiError::BadRequest(format!(
                "could not read the request body: {}",
                r.body_text()
            ))
        }
    })?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    // Parsing 8 MiB is CPU work: keep it off the async workers.
    let records = tokio::task::spawn_blocking(move || parse_body(&content_type, &body))
        .await
        .map_err(|e| ApiError::Internal(format!("import parser failed: {e}")))??;
    Ok(axum::Json(
        apply(&state.db, records, options.dry_run).await?,
    ))
}

/// Keyset page of the export.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// Start after this venue id (the previous page's `next_after`).
    pub after: Option<String>,
    /// Venues per page, 1–1000 (default 1000).
    pub limit: Option<u32>,
}

/// One page of the export; its `venues` array imports back as JSON.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ExportPage {
    /// Venues by id.
    pub venues: Vec<Venue>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<String>,
}

/// Export every venue as JSON, in pages by id.
#[utoipa::path(get, path = "/api/v1/venues/export", tag = "venues", params(ExportQuery),
    responses((status = 200, body = ExportPage), (status = 400, body = ErrorBody)))]
async fn export(
    State(state): State<AppState>,
    Query(query): Query<ExportQuery>,
) -> ApiResult<axum::Json<ExportPage>> {
    let limit = query.limit.unwrap_or(MAX_EXPORT_PAGE);
    crate::validate::check_range("limit", limit, 1, MAX_EXPORT_PAGE)?;
    let venues = storage::page_by_id(
        &state.db,
        query.after.as_deref().unwrap_or(""),
        limit.into(),
    )
    .await?;
    let next_after = (venues.len() == limit as usize)
        .then(|| venues.last().map(|v| v.id.clone()))
        .flatten();
    Ok(axum::Json(ExportPage { venues, next_after }))
}
