//! Jam rooms, invites, the relay's join authorisation and the lobby SSE feed, on SQLite and
//! PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{Method, StatusCode};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tutti_server::ApiError;
use tutti_server::rooms::relay::{authorize_join, report_occupancy};

fn room(name: &str, visibility: &str) -> Value {
    json!({"name": name, "visibility": visibility, "capacity": 2, "genre": "funk", "tempo_bpm": 96,
           "description": "bring a bass"})
}

fn code(err: &ApiError) -> &'static str {
    err.status_and_code().1
}

#[tokio::test]
async fn create_list_get_close() {
    for app in common::apps().await {
        let b = app.backend;
        let host = app.sign_up("host@example.org").await;
        let other = app.sign_up("other@example.org").await;
        let public = app
            .call(
                Method::POST,
                "/api/v1/rooms",
                Some(&host.access),
                Some(room("Open jam", "public")),
            )
            .await;
        assert_eq!(public.status, StatusCode::CREATED, "{b}: {}", public.text);
        let private = app
            .call(
                Method::POST,
                "/api/v1/rooms",
                Some(&host.access),
                Some(room("Band practice", "private")),
            )
            .await;
        let private_id = private.body["id"].as_str().unwrap().to_owned();

        let names = |v: &Value| {
            v.as_array()
                .unwrap()
                .iter()
                .map(|r| r["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(&app.get("/api/v1/rooms").await.body),
            ["Open jam"],
            "{b}: anonymous sees public rooms"
        );
        let as_other = app
            .call(Method::GET, "/api/v1/rooms", Some(&other.access), None)
            .await;
        assert_eq!(names(&as_other.body), ["Open jam"], "{b}");
        let mut as_host = names(
            &app.call(Method::GET, "/api/v1/rooms", Some(&host.access), None)
                .await
                .body,
        );
        as_host.sort();
        assert_eq!(
            as_host,
            ["Band practice", "Open jam"],
            "{b}: owners see their private rooms"
        );

        let private_path = format!("/api/v1/rooms/{private_id}");
        assert_eq!(
            app.call(Method::GET, &private_path, Some(&other.access), None)
                .await
                .status,
            StatusCode::NOT_FOUND,
            "{b}"
        );
        assert_eq!(
            app.call(Method::DELETE, &private_path, Some(&other.access), None)
                .await
                .status,
            StatusCode::NOT_FOUND,
            "{b}"
        );
        let public_path = format!("/api/v1/rooms/{}", public.body["id"].as_str().unwrap());
        assert_eq!(
            app.call(Method::DELETE, &public_path, Some(&other.access), None)
                .await
                .status,
            StatusCode::FORBIDDEN,
            "{b}"
        );
        let invite = app
            .call(
                Method::POST,
                &format!("{private_path}/invites"),
                Some(&other.access),
                Some(json!({})),
            )
            .await;
        assert_eq!(
            invite.status,
            StatusCode::NOT_FOUND,
            "{b}: only owners invite"
        );

        assert_eq!(
            app.call(Method::DELETE, &public_path, Some(&host.access), None)
                .await
                .status,
            StatusCode::NO_CONTENT,
            "{b}"
        );
        assert!(
            app.get(&public_path).await.body["closed_at"].is_i64(),
            "{b}"
        );
        assert!(
            names(&app.get("/api/v1/rooms").await.body).is_empty(),
            "{b}: closed rooms are not live"
        );

        let mut bad = room("x", "public");
        bad["capacity"] = json!(100);
        let bad = app
            .call(Method::POST, "/api/v1/rooms", Some(&host.access), Some(bad))
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{b}");
    }
}

#[tokio::test]
async fn relay_authorises_joins_with_invites_capacity_and_live_tokens() {
    for app in common::apps().await {
        let b = app.backend;
        let state = &app.state;
        let host = app.sign_up("host@example.org").await;
        let guest = app.sign_up("guest@example.org").await;
        let public = app
            .call(
                Method::POST,
                "/api/v1/rooms",
                Some(&host.access),
                Some(room("Open", "public")),
            )
            .await;
        let public_id = public.body["id"].as_str().unwrap().to_owned();
        let private = app
            .call(
                Method::POST,
                "/api/v1/rooms",
                Some(&host.access),
                Some(room("Closed door", "private")),
            )
            .await;
        let private_id = private.body["id"].as_str().unwrap().to_owned();

        let grant = authorize_join(state, &guest.access, &public_id, None)
            .await
            .expect("public room");
        assert_eq!(grant.user.id, guest.id, "{b}");
        assert!(
            authorize_join(state, &host.access, &private_id, None)
                .await
                .is_ok(),
            "{b}: owner needs no invite"
        );
        let no_invite = authorize_join(state, &guest.access, &private_id, None)
            .await
            .expect_err("needs invite");
        assert_eq!(code(&no_invite), "not_found", "{b}");
        let forged = authorize_join(state, &guest.access, &private_id, Some("forged"))
            .await
            .expect_err("forged");
        assert_eq!(code(&forged), "not_found", "{b}");

        let invite = app
            .call(
                Method::POST,
                &format!("/api/v1/rooms/{private_id}/invites"),
                Some(&host.access),
                Some(json!({"ttl_secs": 3600})),
            )
            .await;
        assert_eq!(invite.status, StatusCode::CREATED, "{b}: {}", invite.text);
        let token = invite.body["token"].as_str().unwrap().to_owned();
        assert!(
            authorize_join(state, &guest.access, &private_id, Some(&token))
                .await
                .is_ok(),
            "{b}"
        );
        let elsewhere = authorize_join(state, &guest.access, &public_id, Some(&token)).await;
        assert!(
            elsewhere.is_ok(),
            "{b}: an invite is not needed for public rooms"
        );

        sqlx::query("UPDATE room_invites SET expires_at = 0")
            .execute(&state.db.pool)
            .await
            .unwrap();
        let expired = authorize_join(state, &guest.access, &private_id, Some(&token))
            .await
            .expect_err("expired invite");
        assert_eq!(code(&expired), "not_found", "{b}");

        report_occupancy(state, &public_id, 2)
            .await
            .expect("report");
        let full = authorize_join(state, &guest.access, &public_id, None)
            .await
            .expect_err("full");
        assert_eq!(code(&full), "room_full", "{b}");
        assert_eq!(
            app.get(&format!("/api/v1/rooms/{public_id}")).await.body["occupancy"],
            2,
            "{b}"
        );

        let forged_token = authorize_join(state, "eyJhbGciOiJIUzI1NiJ9.e30.x", &public_id, None)
            .await
            .expect_err("forged");
        assert_eq!(code(&forged_token), "invalid_token", "{b}");
        app.call(
            Method::POST,
            "/api/v1/auth/logout",
            Some(&guest.access),
            None,
        )
        .await;
        report_occupancy(state, &public_id, 0)
            .await
            .expect("report");
        let revoked = authorize_join(state, &guest.access, &public_id, None)
            .await
            .expect_err("revoked");
        assert_eq!(code(&revoked), "token_revoked", "{b}");

        app.call(
            Method::DELETE,
            &format!("/api/v1/rooms/{public_id}"),
            Some(&host.access),
            None,
        )
        .await;
        let closed = authorize_join(state, &host.access, &public_id, None)
            .await
            .expect_err("closed");
        assert_eq!(code(&closed), "room_closed", "{b}");
        assert_eq!(
            code(
                &report_occupancy(state, &public_id, 1)
                    .await
                    .expect_err("closed")
            ),
            "not_found",
            "{b}"
        );
    }
}

/// Reads SSE frames until `n` events arrived; returns `(event name, data JSON)` pairs.
async fn next_events(
    body: &mut (impl futures_util::Stream<Item = Result<axum::body::Bytes, axum::Error>> + Unpin),
    n: usize,
) -> Vec<(String, Value)> {
    let mut events = Vec::new();
    let mut buffer = String::new();
    while events.len() < n {
        let chunk = body.next().await.expect("stream open").expect("chunk");
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some((frame, rest)) = buffer.split_once("\n\n") {
            let (mut name, mut data) = (String::new(), Value::Null);
            for line in frame.lines() {
                if let Some(v) = line.strip_prefix("event: ") {
                    name = v.to_owned();
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data = serde_json::from_str(v).unwrap();
                }
            }
            if !name.is_empty() {
                events.push((name, data));
            }
            buffer = rest.to_owned();
        }
    }
    events
}

#[tokio::test]
async fn lobby_streams_public_room_events() {
    use tower::ServiceExt;
    for app in common::apps().await {
        let b = app.backend;
        let request = axum::http::Request::get("/api/v1/lobby/events")
            .body(axum::body::Body::empty())
            .unwrap();
        let response = app.router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{b}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream"),
            "{b}"
        );
        let mut body = response.into_body().into_data_stream();

        let host = app.sign_up("host@example.org").await;
        let _hidden = app
            .call(
                Method::POST,
                "/api/v1/rooms",
                Some(&host.access),
                Some(room("Secret", "private")),
            )
            .await;
        let open = app
            .call(
                Method::POST,
                "/api/v1/rooms",
                Some(&host.access),
                Some(room("Open", "public")),
            )
            .await;
        let id = open.body["id"].as_str().unwrap().to_owned();
        report_occupancy(&app.state, &id, 1).await.expect("report");
        app.call(
            Method::DELETE,
            &format!("/api/v1/rooms/{id}"),
            Some(&host.access),
            None,
        )
        .await;

        let events = next_events(&mut body, 3).await;
        assert_eq!(
            events[0].0, "room_opened",
            "{b}: the private room is not announced"
        );
        assert_eq!(events[0].1["room"]["name"], "Open", "{b}");
        assert_eq!(
            events[1],
            (
                "occupancy".to_owned(),
                json!({"type": "occupancy", "room_id": id, "occupancy": 1, "capacity": 2})
            ),
            "{b}"
        );
        assert_eq!(
            events[2],
            (
                "room_closed".to_owned(),
                json!({"type": "room_closed", "room_id": id})
            ),
            "{b}"
        );
    }
}
