//! Everything handlers share, built once at start-up.

use std::net::IpAddr;
use std::sync::Arc;

use axum::http::HeaderValue;

use crate::accounts::tokens::{AccessTokens, random_token};
use crate::config::Config;
use crate::db::{Db, DbError};
use crate::error::{ApiError, ApiResult};
use crate::lobby::Lobby;
use crate::metrics::Metrics;
use crate::rate_limit::AuthLimits;
use crate::signalling::Signalling;
use crate::venues::index::VenueIndex;

/// Name of the persisted JWT secret in `server_settings`.
const JWT_SECRET_SETTING: &str = "jwt_secret";
/// Shortest accepted JWT secret (HS256 wants at least its 256-bit output size).
const MIN_SECRET_BYTES: usize = 32;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A configuration value is unusable (operator's mistake).
    #[error("configuration: {0}")]
    Config(String),
    /// The database could not be opened or migrated (environment).
    #[error(transparent)]
    Db(#[from] DbError),
    /// A start-up query or the demo data failed (environment).
    #[error("database error during start-up: {0}")]
    Startup(#[from] ApiError),
    /// A start-up query failed (environment).
    #[error("database error during start-up: {0}")]
    Sqlx(#[from] sqlx::Error),
}

/// Shared state of the server; cheap to clone (everything is behind `Arc` or a pool).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// The configuration the server started with.
    pub config: Arc<Config>,
    /// Access-token keys.
    pub tokens: Arc<AccessTokens>,
    /// Rate limits of the auth endpoints.
    pub auth_limits: Arc<AuthLimits>,
    /// The lobby feed (the signalling relay publishes here too).
    pub lobby: Lobby,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// The signalling relay's rooms, ICE servers and join limits.
    pub signalling: Signalling,
    /// The in-memory venue search index (follows the database's venue change log).
    pub venues: VenueIndex,
}

impl AppState {
    /// Opens the database, applies migrations, loads or creates the token secret, promotes the
    /// configured admins and loads demo data into an empty database (if enabled).
    pub async fn new(config: Config) -> Result<Self, StartError> {
        if let Some(bad) = config
            .cors_origins
            .iter()
            .find(|o| HeaderValue::from_str(o.trim()).is_err())
        {
            return Err(StartError::Config(format!("invalid CORS origin {bad:?}")));
        }
        let signalling = Signalling::new(&config.signalling).map_err(StartError::Config)?;
        let db = Db::connect(&config.database_url, config.db_max_connections).await?;
        let secret = jwt_secret(&db, config.jwt_secret.as_deref()).await?;
        let state = Self {
            db,
            tokens: Arc::new(AccessTokens::new(&secret, config.access_token_ttl_secs)),
            auth_limits: Arc::new(AuthLimits::per_minute(
                config.auth_rate_per_ip,
                config.auth_rate_per_account,
            )),
            lobby: Lobby::new(),
            metrics: Arc::default(),
            signalling,
            venues: VenueIndex::new(),
            config: Arc::new(config),
        };
        state.signalling.start(&state).await?;
        crate::accounts::promote_admins(&state, &state.config.admin_emails).await?;
        if state.config.demo_data {
            crate::demo::seed_if_empty(&state).await?;
        }
        state.venues.sync(&state.db).await?;
        Ok(state)
    }

    /// Counts one auth request from `ip` (and for `account`); 429 and a metric when over.
    pub fn limit_auth(&self, ip: IpAddr, account: Option<&str>) -> ApiResult<()> {
        self.auth_limits
            .check(ip, account)
            .inspect_err(|_| self.metrics.rate_limited("auth"))
    }
}

/// The configured secret, else the one persisted in the database, else a new random one that is
/// persisted (so a server deployed as-is keeps its tokens valid across restarts).
async fn jwt_secret(db: &Db, configured: Option<&str>) -> Result<Vec<u8>, StartError> {
    if let Some(secret) = configured {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(StartError::Config(format!(
                "the JWT secret must have at least {MIN_SECRET_BYTES} bytes"
            )));
        }
        return Ok(secret.as_bytes().to_vec());
    }
    Ok(db
        .setting_or_insert(JWT_SECRET_SETTING, &random_token())
        .await?
        .into_bytes())
}
