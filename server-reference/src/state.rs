//! Everything handlers share, built once at start-up.

use std::sync::Arc;

use crate::config::Config;
use crate::db::{Db, DbError};

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
}

impl AppState {
    /// Opens the database, applies migrations and loads or creates the token secret.
    pub async fn new(config: Config) -> Result<Self, StartError> {
        let db = Db::connect(&config.database_url, config.db_max_connections).await?;
        let _secret = jwt_secret(&db, config.jwt_secret.as_deref()).await?;
        Ok(Self {
            db,
            config: Arc::new(config),
        })
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
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    let candidate =
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes);
    Ok(db
        .setting_or_insert(JWT_SECRET_SETTING, &candidate)
        .await?
        .into_bytes())
}
