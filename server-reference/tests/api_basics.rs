//! Health, OpenAPI, the error body shape and start-up behaviour, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use tutti_server::{AppState, Config};

#[tokio::test]
async fn health_openapi_and_unknown_routes() {
    for app in common::apps().await {
        let b = app.backend;
        let health = app.get("/healthz").await;
        assert_eq!(health.status, StatusCode::OK, "{b}");
        assert_eq!(health.text, "ok", "{b}");

        let doc = app.get("/openapi.json").await;
        assert_eq!(doc.status, StatusCode::OK, "{b}");
        assert!(
            doc.body["openapi"]
                .as_str()
                .is_some_and(|v| v.starts_with("3.")),
            "{b}"
        );
        assert!(doc.body["paths"]["/healthz"]["get"].is_object(), "{b}");

        let missing = app.get("/no/such/route").await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{b}");
        assert_eq!(missing.body["code"], "not_found", "{b}");
        assert!(missing.body["message"].is_string(), "{b}");
    }
}

#[tokio::test]
async fn generated_jwt_secret_survives_restart() {
    for (backend, url, _file) in common::database_urls().await {
        let mut config = Config::with_database(&url);
        config.demo_data = false;
        let first = AppState::new(config.clone()).await.expect("first start");
        let secret = first
            .db
            .setting("jwt_secret")
            .await
            .expect("read")
            .expect("persisted");
        assert!(secret.len() >= 32, "{backend}");
        first.db.pool.close().await;
        let second = AppState::new(config)
            .await
            .expect("restart; migrations are idempotent");
        assert_eq!(
            second.db.setting("jwt_secret").await.expect("read"),
            Some(secret),
            "{backend}"
        );
    }
}

#[tokio::test]
async fn sqlite_file_is_created_and_unknown_schemes_are_refused() {
    let (url, file) = common::temp_sqlite();
    assert!(!file.0.exists());
    let mut config = Config::with_database(&url);
    config.demo_data = false;
    AppState::new(config).await.expect("creates the file");
    assert!(file.0.exists());

    let err = AppState::new(Config::with_database("mysql://localhost/x"))
        .await
        .expect_err("refused");
    assert!(
        err.to_string().contains("unsupported database URL scheme"),
        "{err}"
    );
}
