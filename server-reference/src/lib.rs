//! Tutti reference server: accounts, musician profiles, jam rooms and the lobby feed, over
//! embedded SQLite (default) or PostgreSQL.
//!
//! The server is a library with a thin `main`: [`app`] builds the whole HTTP API from an
//! [`AppState`], so tests drive it in-process with `tower::ServiceExt::oneshot` against a real
//! database, and `main.rs` only parses [`Config`], sets up logging, binds and serves.
//!
//! Run with: `cargo run --release -p tutti-server` (serves `127.0.0.1:8080`, database
//! `tutti.db`; `--help` lists every flag and environment variable).

pub mod accounts;
pub mod config;
pub mod db;
pub mod error;
pub mod http;
pub mod profiles;
pub mod rate_limit;
pub mod recommend;
pub mod state;
pub mod validate;

use axum::Router;
use axum::extract::State;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use config::Config;
pub use error::{ApiError, ApiResult, ErrorBody};
pub use state::{AppState, StartError};

/// The OpenAPI document's fixed parts; paths are collected from the handlers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tutti reference server",
        description = "Accounts, musician profiles, jam rooms and the lobby feed."
    ),
    components(schemas(ErrorBody))
)]
struct ApiDoc;

/// Builds the HTTP API around `state`.
pub fn app(state: AppState) -> Router {
    let (router, api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(healthz))
        .merge(accounts::routes())
        .merge(profiles::routes())
        .split_for_parts();
    let api = std::sync::Arc::new(api);
    router
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let api = api.clone();
                async move { axum::Json(api.as_ref().clone()) }
            }),
        )
        .fallback(|| async { ApiError::NotFound("route") })
        .with_state(state)
}

/// Liveness and database reachability.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "ok", body = String), (status = 500, body = ErrorBody)))]
async fn healthz(State(state): State<AppState>) -> ApiResult<&'static str> {
    sqlx::query("SELECT 1").execute(&state.db.pool).await?;
    Ok("ok")
}
