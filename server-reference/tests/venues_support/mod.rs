//! Helpers shared by the venue tests: curator accounts, raw-body requests, query encoding.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{Method, Request, header};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::common::{Reply, TestApp, User};

/// Signs up `email` and gives it the curator role directly in the database.
pub async fn curator(app: &TestApp, email: &str) -> User {
    let user = app.sign_up(email).await;
    sqlx::query("UPDATE users SET role = 'curator' WHERE id = $1")
        .bind(&user.id)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    user
}

/// Sends `body` with an explicit content type (CSV, GeoJSON, …).
pub async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> Reply {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, content_type);
    if let Some(token) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = app
        .router
        .clone()
        .oneshot(req.body(Body::from(body)).unwrap())
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

/// Percent-encodes a query-string value.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A minimal valid venue body.
pub fn venue(name: &str, latitude: f64, longitude: f64) -> Value {
    json!({
        "name": name,
        "kind": "rehearsal_room",
        "coordinates": {"latitude": latitude, "longitude": longitude}
    })
}

/// Creates a venue as `curator`; returns its id.
pub async fn create(app: &TestApp, curator: &User, body: Value) -> String {
    let r = app
        .call(
            Method::POST,
            "/api/v1/venues",
            Some(&curator.access),
            Some(body),
        )
        .await;
    assert_eq!(r.status, 201, "{}: create venue: {}", app.backend, r.text);
    r.body["id"].as_str().unwrap().to_owned()
}
