//! Health, OpenAPI, the error body shape and start-up behaviour, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{Method, StatusCode};
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

        for path in [
            "/api/v1/auth/login",
            "/api/v1/profiles/{user_id}",
            "/api/v1/rooms",
            "/api/v1/lobby/events",
        ] {
            assert!(
                doc.body["paths"][path].is_object(),
                "{b}: {path} documented"
            );
        }
        assert_eq!(
            doc.body["components"]["securitySchemes"]["bearer"]["scheme"], "bearer",
            "{b}"
        );
        assert!(
            doc.body["components"]["schemas"]["ProfileData"].is_object(),
            "{b}"
        );

        // Unknown API paths stay JSON 404s (other paths open the web app).
        let missing = app.get("/api/no/such/route").await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{b}");
        assert_eq!(missing.body["code"], "not_found", "{b}");
        assert!(missing.body["message"].is_string(), "{b}");

        let wrong_method = app.call(Method::DELETE, "/healthz", None, None).await;
        assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED, "{b}");
        assert_eq!(wrong_method.body["code"], "method_not_allowed", "{b}");

        let metrics = app.get("/metrics").await;
        assert_eq!(metrics.status, StatusCode::OK, "{b}");
        assert!(
            metrics.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain; version=0.0.4"),
            "{b}"
        );
        for line in [
            "tutti_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1",
            "tutti_http_requests_total{method=\"DELETE\",route=\"/healthz\",status=\"405\"} 1",
            "tutti_http_request_duration_seconds_count{route=\"/healthz\"} 2",
            "tutti_lobby_subscribers 0",
        ] {
            assert!(
                metrics.text.lines().any(|l| l == line),
                "{b}: missing {line:?} in\n{}",
                metrics.text
            );
        }
    }
}

#[tokio::test]
async fn cors_allows_only_configured_origins() {
    use tower::ServiceExt;
    for app in common::apps_with(|c| c.cors_origins = vec!["https://app.example".into()]).await {
        let preflight = |origin: &'static str| {
            let req = axum::http::Request::builder()
                .method(Method::OPTIONS)
                .uri("/api/v1/rooms")
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .body(axum::body::Body::empty())
                .unwrap();
            app.router.clone().oneshot(req)
        };
        let allowed = preflight("https://app.example").await.unwrap();
        assert_eq!(
            allowed.headers()["access-control-allow-origin"],
            "https://app.example",
            "{}",
            app.backend
        );
        let other = preflight("https://evil.example").await.unwrap();
        assert!(
            !other.headers().contains_key("access-control-allow-origin"),
            "{}",
            app.backend
        );
    }
    let mut config = Config::with_database("sqlite://unused.db");
    config.cors_origins = vec!["bad\norigin".into()];
    let err = AppState::new(config)
        .await
        .expect_err("invalid origin refused before touching the database");
    assert!(err.to_string().contains("CORS"), "{err}");
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
