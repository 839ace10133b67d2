//! Server configuration from command-line flags and environment variables (clap).

use std::net::SocketAddr;

use clap::Parser;

/// How `tutti-server` runs. Every flag also reads an environment variable.
#[derive(Debug, Clone, Parser)]
#[command(name = "tutti-server", version, about = "Tutti reference server")]
#[non_exhaustive]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "TUTTI_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Database URL: `sqlite://FILE` (created if missing) or `postgres://…`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://tutti.db")]
    pub database_url: String,

    /// Maximum database connections in the pool.
    #[arg(long, env = "TUTTI_DB_MAX_CONNECTIONS", default_value_t = 8)]
    pub db_max_connections: u32,

    /// HS256 secret for access tokens (at least 32 bytes). When absent, one is generated at first
    /// start and kept in the database, so tokens stay valid across restarts.
    #[arg(long, env = "TUTTI_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Lifetime of an access token, in seconds.
    #[arg(long, env = "TUTTI_ACCESS_TOKEN_TTL", default_value_t = 900)]
    pub access_token_ttl_secs: u64,

    /// Lifetime of a refresh token, in seconds (each use rotates it).
    #[arg(long, env = "TUTTI_REFRESH_TOKEN_TTL", default_value_t = 30 * 24 * 3600)]
    pub refresh_token_ttl_secs: u64,

    /// Origins allowed to call the API from a browser (comma-separated). None: same origin only.
    #[arg(
        long = "cors-origin",
        env = "TUTTI_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,

    /// Load synthetic demo musicians and rooms when the database is empty.
    #[arg(long, env = "TUTTI_DEMO_DATA", default_value_t = true, action = clap::ArgAction::Set)]
    pub demo_data: bool,

    /// Accounts with these emails get the admin role at start-up (comma-separated).
    #[arg(
        long = "admin-email",
        env = "TUTTI_ADMIN_EMAILS",
        value_delimiter = ','
    )]
    pub admin_emails: Vec<String>,

    /// Largest accepted request body, in bytes; larger bodies get 413.
    #[arg(long, env = "TUTTI_MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,

    /// Auth requests allowed per client IP: burst size (refilled over one minute).
    #[arg(long, env = "TUTTI_AUTH_RATE_PER_IP", default_value_t = 30)]
    pub auth_rate_per_ip: u32,

    /// Auth requests allowed per account (email): burst size (refilled over one minute).
    #[arg(long, env = "TUTTI_AUTH_RATE_PER_ACCOUNT", default_value_t = 10)]
    pub auth_rate_per_account: u32,

    /// Seconds between full reloads of the in-memory recommender index from the database
    /// (other instances' writes arrive through the change log at once; the reload refreshes
    /// daylight-saving offsets and refits the bio model); 0 = never (also no drift refits).
    #[arg(long, env = "TUTTI_RECOMMENDER_REFRESH_SECS", default_value_t = 300)]
    pub recommender_refresh_secs: u64,

    /// Log format.
    #[arg(long, env = "TUTTI_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// The signalling relay (`/signal`).
    #[command(flatten)]
    pub signalling: crate::signalling::SignalConfig,
}

/// How log lines are written (to stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable `key=value` lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

impl Config {
    /// The defaults with another database URL: the starting point for tests and tools.
    pub fn with_database(database_url: &str) -> Self {
        let mut config = Self::parse_from(["tutti-server"]);
        config.database_url = database_url.to_owned();
        config
    }
}
