//! Passwords and tokens never reach the logs, even with every target at TRACE.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::{Method, StatusCode};
use serde_json::json;

/// A `MakeWriter` collecting everything logged into one buffer.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Self;
    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

// The default (current-thread) runtime keeps every task on this thread, under the subscriber.
#[tokio::test]
async fn secrets_are_never_logged() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut secrets = vec![common::PASSWORD.to_owned(), "brand new password".to_owned()];
    for app in common::apps().await {
        let user = app.sign_up("ada@example.org").await;
        let login = app
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"email": "ada@example.org", "password": common::PASSWORD})),
            )
            .await;
        let refreshed = app
            .call(
                Method::POST,
                "/api/v1/auth/refresh",
                None,
                Some(json!({"refresh_token": user.refresh})),
            )
            .await;
        let reused = app
            .call(
                Method::POST,
                "/api/v1/auth/refresh",
                None,
                Some(json!({"refresh_token": user.refresh})),
            )
            .await;
        assert_eq!(reused.status, StatusCode::UNAUTHORIZED);
        let access = login.body["access_token"].as_str().unwrap().to_owned();
        let room = app
            .call(
                Method::POST,
                "/api/v1/rooms",
                Some(&access),
                Some(json!({"name": "r", "visibility": "private", "capacity": 2})),
            )
            .await;
        let invite = app
            .call(
                Method::POST,
                &format!(
                    "/api/v1/rooms/{}/invites",
                    room.body["id"].as_str().unwrap()
                ),
                Some(&access),
                Some(json!({})),
            )
            .await;
        let change = app
            .call(
                Method::POST,
                "/api/v1/auth/password",
                Some(&access),
                Some(json!({"current_password": common::PASSWORD, "new_password": "brand new password"})),
            )
            .await;
        assert_eq!(change.status, StatusCode::NO_CONTENT);
        for value in [
            &login.body["access_token"],
            &login.body["refresh_token"],
            &refreshed.body["access_token"],
            &refreshed.body["refresh_token"],
            &invite.body["token"],
        ] {
            secrets.push(value.as_str().expect("a token in the response").to_owned());
        }
        secrets.extend([user.access, user.refresh]);
    }
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("account created") && logs.contains("refresh token reuse"),
        "the capture works:\n{logs}"
    );
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a secret was logged");
    }
}
