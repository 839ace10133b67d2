//! Demo data: loaded once into an empty database, clearly labelled, never a way to log in.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{Method, StatusCode};
use serde_json::json;
use tutti_server::{AppState, Config};

#[tokio::test]
async fn demo_data_loads_once_and_is_labelled() {
    for (backend, url, _file) in common::database_urls().await {
        let config = Config::with_database(&url);
        assert!(config.demo_data, "on by default");
        let first = AppState::new(config.clone()).await.expect("start");
        let app1 = common::TestApp::wrap(backend, &url, first);
        let profiles = app1.get("/api/v1/profiles").await.body;
        let profiles = profiles.as_array().unwrap();
        assert_eq!(profiles.len(), 10, "{backend}");
        for p in profiles {
            assert_eq!(p["demo"], true, "{backend}");
            assert!(
                p["display_name"].as_str().unwrap().ends_with("(demo)"),
                "{backend}"
            );
            assert!(
                p["bio"]
                    .as_str()
                    .unwrap()
                    .starts_with("Synthetic demo profile"),
                "{backend}"
            );
        }
        let rooms = app1.get("/api/v1/rooms").await.body;
        assert_eq!(rooms.as_array().unwrap().len(), 3, "{backend}");
        assert!(
            rooms
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["demo"] == true && r["name"].as_str().unwrap().starts_with("Demo:")),
            "{backend}"
        );

        let login = app1
            .call(Method::POST, "/api/v1/auth/login", None, Some(json!({"email": "ada@demo.tutti.invalid", "password": "!demo-account-cannot-log-in"})))
            .await;
        assert_eq!(
            login.status,
            StatusCode::UNAUTHORIZED,
            "{backend}: demo accounts cannot log in"
        );
        drop(app1);

        let again = AppState::new(config).await.expect("restart");
        let app2 = common::TestApp::wrap(backend, &url, again);
        assert_eq!(
            app2.get("/api/v1/profiles")
                .await
                .body
                .as_array()
                .unwrap()
                .len(),
            10,
            "{backend}: loaded once"
        );
    }
}

#[tokio::test]
async fn demo_data_can_be_turned_off() {
    use clap::Parser;
    let flags =
        Config::try_parse_from(["tutti-server", "--demo-data", "false"]).expect("flag parses");
    assert!(!flags.demo_data);
    for app in common::apps_with(|c| c.demo_data = false).await {
        assert_eq!(
            app.get("/api/v1/profiles").await.body,
            json!([]),
            "{}",
            app.backend
        );
        assert_eq!(
            app.get("/api/v1/rooms").await.body,
            json!([]),
            "{}",
            app.backend
        );
    }
}
