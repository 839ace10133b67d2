//! Storage: one sqlx `Any` pool over SQLite (embedded, default) or PostgreSQL.
//!
//! All queries are written once, with `$1, $2, …` placeholders: PostgreSQL uses them natively
//! and sqlx's SQLite driver binds `$N` by number too. (The `Any` driver's `QueryBuilder::push_bind`
//! would emit `?`, which PostgreSQL rejects, so queries are never built with it.) Column types are
//! limited to what `Any` carries on both backends: TEXT, BIGINT, DOUBLE PRECISION; ids are UUID
//! strings, times are Unix seconds, lists are JSON text.
//!
//! Migrations live in one folder per backend (`migrations/sqlite`, `migrations/postgres`) because
//! some DDL must differ (spatial indexes later); a unit test keeps the two lists in step.

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

/// Errors while opening the database at start-up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// The URL is neither `sqlite:` nor `postgres:`/`postgresql:` (operator's mistake).
    #[error("unsupported database URL scheme {0:?} (expected sqlite: or postgres:)")]
    UnsupportedScheme(String),
    /// Connecting or running a statement failed (environment).
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// Applying migrations failed (environment, or a database changed by hand).
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Which database the pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file (WAL, `synchronous=FULL`).
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// The shared connection pool and the backend it speaks to.
#[derive(Debug, Clone)]
pub struct Db {
    /// The pool; queries use `$N` placeholders only (see module docs).
    pub pool: AnyPool,
    /// The backend behind the pool.
    pub backend: Backend,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Db {
    /// Opens the database at `url` (creating a SQLite file if missing) and applies migrations.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers(); // idempotent

        let scheme = url.split(':').next().unwrap_or_default();
        let (backend, url) = match scheme {
            "sqlite" => (Backend::Sqlite, sqlite_url_creating_file(url)),
            "postgres" | "postgresql" => (Backend::Postgres, url.to_owned()),
            other => return Err(DbError::UnsupportedScheme(other.to_owned())),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let mut pool_options = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10));
        if backend == Backend::Sqlite {
            // WAL lets readers run beside the writer; FULL syncs the WAL on every commit, so an
            // acknowledged write survives a crash of the process and of the machine.
            pool_options = pool_options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = FULL").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    conn.execute("PRAGMA busy_timeout = 5000").await?;
                    Ok(())
                })
            });
        }
        let pool = pool_options.connect_with(options).await?;
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&pool).await?;
        Ok(Self { pool, backend })
    }

    /// Reads a server setting (e.g. the persisted JWT secret).
    pub async fn setting(&self, name: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT value FROM server_settings WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
    }

    /// Stores `value` under `name` unless a value exists, and returns the stored value: two
    /// servers starting at once on one database agree on a single value.
    pub async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String, sqlx::Error> {
        sqlx::query(
            "INSERT INTO server_settings (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(value)
        .execute(&self.pool)
        .await?;
        sqlx::query_scalar("SELECT value FROM server_settings WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await
    }
}

/// Adds `mode=rwc` to a SQLite URL without an explicit mode, so a missing file is created.
fn sqlite_url_creating_file(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// Seconds since the Unix epoch; the one clock the storage layer uses for timestamps.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A new random id (UUID v4, lowercase hyphenated).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Whether `err` is a unique-constraint violation (e.g. an email already registered).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_create_missing_files() {
        assert_eq!(
            sqlite_url_creating_file("sqlite://tutti.db"),
            "sqlite://tutti.db?mode=rwc"
        );
        assert_eq!(
            sqlite_url_creating_file("sqlite://a.db?cache=shared"),
            "sqlite://a.db?cache=shared&mode=rwc"
        );
        assert_eq!(
            sqlite_url_creating_file("sqlite://a.db?mode=ro"),
            "sqlite://a.db?mode=ro"
        );
    }

    #[test]
    fn both_backends_have_the_same_migrations() {
        let names = |m: &sqlx::migrate::Migrator| {
            m.iter()
                .map(|m| (m.version, m.description.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&SQLITE_MIGRATIONS), names(&POSTGRES_MIGRATIONS));
        assert!(SQLITE_MIGRATIONS.iter().next().is_some());
    }
}
