//! Test harness: the same scenario against a real SQLite file and a real PostgreSQL database.
//!
//! PostgreSQL comes from `TUTTI_TEST_POSTGRES_URL` (an admin URL; `scripts/test.sh` starts a
//! private cluster and sets it). Each test gets its own database, so tests run in parallel.
//! Without the variable, PostgreSQL is skipped with a note, unless `CI` or
//! `TUTTI_REQUIRE_POSTGRES=1` is set, in which case the test fails.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::Value;
use sqlx::Connection;
use tower::ServiceExt;
use tutti_server::{AppState, Config, app};

/// One server instance over one backend.
pub struct TestApp {
    /// `sqlite` or `postgres`, for assertion messages.
    pub backend: &'static str,
    /// The database URL (to reopen the same database).
    pub database_url: String,
    /// The shared state (for the in-process relay API).
    pub state: AppState,
    /// The router under test.
    pub router: Router,
    _file: Option<TempFile>,
}

/// Deletes a SQLite database file and its WAL side files on drop.
pub struct TempFile(pub std::path::PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

/// A fresh SQLite file path under the temp directory.
pub fn temp_sqlite() -> (String, TempFile) {
    let path = std::env::temp_dir().join(format!("tutti-test-{}.db", uuid::Uuid::new_v4()));
    (format!("sqlite://{}", path.display()), TempFile(path))
}

/// The PostgreSQL admin URL, or `None` when PostgreSQL is skipped (panics when required).
pub fn postgres_admin_url() -> Option<String> {
    if let Ok(url) = std::env::var("TUTTI_TEST_POSTGRES_URL") {
        return Some(url);
    }
    let required = std::env::var_os("CI").is_some()
        || std::env::var("TUTTI_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "TUTTI_TEST_POSTGRES_URL is not set but PostgreSQL tests are required (CI or \
         TUTTI_REQUIRE_POSTGRES=1); run `bash scripts/test.sh`, which starts PostgreSQL"
    );
    // Written to stderr directly (the test harness captures only the print macros), once per
    // test binary, so a plain `cargo test` shows that half of the matrix did not run.
    static NOTE: std::sync::Once = std::sync::Once::new();
    NOTE.call_once(|| {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "note: PostgreSQL skipped: set TUTTI_TEST_POSTGRES_URL or run `bash scripts/test.sh`"
        );
    });
    None
}

/// A new, empty PostgreSQL database; returns its URL.
pub async fn fresh_postgres_database(admin_url: &str) -> String {
    let name = format!("tutti_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("connect to PostgreSQL");
    // The name is ours (a UUID), not input.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url, |(base, _)| base);
    format!("{base}/{name}")
}

/// Every available backend's database URL (SQLite always; PostgreSQL when configured).
pub async fn database_urls() -> Vec<(&'static str, String, Option<TempFile>)> {
    let (sqlite, file) = temp_sqlite();
    let mut urls = vec![("sqlite", sqlite, Some(file))];
    if let Some(admin) = postgres_admin_url() {
        urls.push(("postgres", fresh_postgres_database(&admin).await, None));
    }
    urls
}

/// A server per backend, configured by `tweak` (demo data off unless the tweak turns it on).
pub async fn apps_with(tweak: impl Fn(&mut Config)) -> Vec<TestApp> {
    let mut apps = Vec::new();
    for (backend, url, file) in database_urls().await {
        let mut config = Config::with_database(&url);
        config.demo_data = false;
        config.db_max_connections = 4;
        tweak(&mut config);
        let state = AppState::new(config).await.expect("start state");
        apps.push(TestApp {
            backend,
            database_url: url,
            router: app(state.clone()),
            state,
            _file: file,
        });
    }
    apps
}

impl TestApp {
    /// Wraps an already started state (file cleanup stays with the caller).
    pub fn wrap(backend: &'static str, database_url: &str, state: AppState) -> Self {
        Self {
            backend,
            database_url: database_url.to_owned(),
            router: app(state.clone()),
            state,
            _file: None,
        }
    }
}

/// A server per backend with default test configuration.
pub async fn apps() -> Vec<TestApp> {
    apps_with(|_| {}).await
}

/// A response: status, headers and the body parsed as JSON (`Value::Null` if not JSON).
pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl TestApp {
    /// Sends a request with an optional bearer token and raw body (sent as JSON).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(bytes) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(bytes)
            }
            None => Body::empty(),
        };
        let response = self
            .router
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    /// Sends a JSON request.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let body = body.map(|v| serde_json::to_vec(&v).unwrap());
        self.raw(method, path, token, body).await
    }

    /// GET without a token.
    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None, None).await
    }
}

/// A signed-up account's id and tokens.
pub struct User {
    pub id: String,
    pub email: String,
    pub access: String,
    pub refresh: String,
}

/// The password every test account uses.
pub const PASSWORD: &str = "correct horse battery";

impl TestApp {
    /// Signs up `email` with [`PASSWORD`]; panics unless 201.
    pub async fn sign_up(&self, email: &str) -> User {
        let r = self
            .call(
                Method::POST,
                "/api/v1/auth/signup",
                None,
                Some(serde_json::json!({"email": email, "password": PASSWORD})),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "{}: sign-up {email}: {}",
            self.backend,
            r.text
        );
        User {
            id: r.body["account"]["id"].as_str().unwrap().to_owned(),
            email: email.to_owned(),
            access: r.body["access_token"].as_str().unwrap().to_owned(),
            refresh: r.body["refresh_token"].as_str().unwrap().to_owned(),
        }
    }

    /// Gives `user` the admin role directly in the database (as `--admin-email` would).
    pub async fn make_admin(&self, user: &User) {
        sqlx::query("UPDATE users SET role = 'admin' WHERE id = $1")
            .bind(&user.id)
            .execute(&self.state.db.pool)
            .await
            .unwrap();
    }
}
