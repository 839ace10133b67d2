//! Tutti reference server: accounts, musician profiles, jam rooms and the lobby feed, over
//! embedded SQLite (default) or PostgreSQL.
//!
//! The server is a library with a thin `main`: [`app`] builds the whole HTTP API from an
//! [`AppState`], so tests drive it in-process with `tower::ServiceExt::oneshot` against a real
//! database, and `main.rs` only parses [`Config`], sets up logging, binds and serves.
//!
//! Modules: [`accounts`] (sign-up, tokens, roles, the [`accounts::AuthUser`] extractor),
//! [`profiles`], [`recommendations`] (endpoints and feedback over the [`recommend`] library), [`rooms`] (with [`rooms::relay`], the API the signalling relay calls),
//! [`lobby`] (SSE), [`signalling`] (the WebSocket relay at `/signal`), [`venues`] (venue data:
//! import, export, indexed search, favourites), [`demo`] (synthetic first-run data), [`db`]
//! (storage), [`http`] (JSON and client-IP extractors), [`rate_limit`], [`metrics`], [`error`]
//! (the one error body), [`web`] (the embedded web app at `/`).
//!
//! Run with: `cargo run --release -p tutti-server` (serves `127.0.0.1:8080`, database
//! `tutti.db`; `--help` lists every flag and environment variable).

pub mod accounts;
pub mod change_log;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod http;
pub mod lobby;
pub mod metrics;
pub mod profiles;
pub mod rate_limit;
pub mod recommend;
pub mod recommendations;
pub mod rooms;
pub mod signalling;
pub mod state;
pub mod time_zone;
pub mod validate;
pub mod venues;
pub mod web;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware;
use axum::routing::get;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use config::Config;
pub use error::{ApiError, ApiResult, ErrorBody};
pub use state::{AppState, StartError};

/// The OpenAPI document's fixed parts; paths are collected from the handlers.
#[derive(OpenApi)]
#[openapi(
    info(title = "Tutti reference server", description = "Accounts, musician profiles, jam rooms and the lobby feed. \
        Errors are `{code, message}`. Request bodies reject unknown fields with 400."),
    components(schemas(ErrorBody)),
    modifiers(&BearerScheme)
)]
struct ApiDoc;

/// Declares the `bearer` (JWT access token) security scheme the paths refer to.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// Builds the HTTP API around `state`.
pub fn app(state: AppState) -> Router {
    let (router, api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(healthz))
        .merge(accounts::routes())
        .merge(profiles::routes())
        .merge(rooms::routes())
        .merge(lobby::routes())
        .merge(venues::routes())
        .merge(recommendations::routes())
        .merge(signalling::routes())
        .split_for_parts();
    let api = Arc::new(api);
    let trace = TraceLayer::new_for_http()
        .make_span_with(|req: &Request| {
            // Method and route pattern only: never the query string or headers (tokens).
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map(MatchedPath::as_str);
            tracing::info_span!("request", method = %req.method(), route)
        })
        .on_response(DefaultOnResponse::new().level(tracing::Level::INFO));
    let router = router
        .route(
            "/openapi.json",
            get(move || async move { axum::Json(api.as_ref().clone()) }),
        )
        .route("/metrics", get(metrics::render))
        .fallback(web::fallback)
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(trace);
    let router = match cors(&state.config.cors_origins) {
        Some(cors) => router.layer(cors),
        None => router,
    };
    router.with_state(state)
}

/// The CORS layer for the configured origins (none configured: same-origin only, no layer).
fn cors(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim()).ok())
        .collect();
    (!origins.is_empty()).then(|| {
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
    })
}

/// Liveness and database reachability.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "ok", body = String), (status = 500, body = ErrorBody)))]
async fn healthz(State(state): State<AppState>) -> ApiResult<&'static str> {
    sqlx::query("SELECT 1").execute(&state.db.pool).await?;
    Ok("ok")
}
