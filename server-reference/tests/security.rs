//! Security and robustness on SQLite and PostgreSQL: expired, forged, wrong-algorithm and
//! revoked tokens; SQL-injection strings as plain data; 413, 400, 415, unknown fields; 429.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{Method, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use tutti_server::accounts::tokens::AccessTokens;

#[tokio::test]
async fn bad_access_tokens_are_rejected() {
    for app in common::apps().await {
        let b = app.backend;
        let user = app.sign_up("ada@example.org").await;
        let secret = app.state.db.setting("jwt_secret").await.unwrap().unwrap();
        let keys = AccessTokens::new(secret.as_bytes(), 900);
        let claims = keys.verify(&user.access).expect("own token verifies");
        let now = i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap();
        let app = &app;
        let me = |token: String| async move {
            app.call(Method::GET, "/api/v1/auth/me", Some(&token), None)
                .await
        };

        assert_eq!(me(user.access.clone()).await.status, StatusCode::OK, "{b}");

        let expired = keys.issue(&claims.sub, &claims.sid, now - 3600).unwrap();
        assert_eq!(me(expired).await.body["code"], "token_expired", "{b}");

        let forged = AccessTokens::new(b"another secret that is long enough!!", 900)
            .issue(&claims.sub, &claims.sid, now)
            .unwrap();
        assert_eq!(me(forged).await.body["code"], "invalid_token", "{b}");

        // Same secret, same claims, another HMAC: only HS256 is accepted.
        let hs512 = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap();
        assert_eq!(me(hs512).await.body["code"], "invalid_token", "{b}");

        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
        let none = format!(
            "{}.{payload}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#)
        );
        assert_eq!(me(none).await.body["code"], "invalid_token", "{b}");

        // A valid signature over tampered claims cannot be made; a swapped payload fails.
        let mut parts: Vec<&str> = user.access.split('.').collect();
        let other = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&json!({"sub": "someone-else", "sid": claims.sid, "iss": "tutti-server", "iat": now, "exp": now + 900})).unwrap());
        parts[1] = &other;
        assert_eq!(
            me(parts.join(".")).await.body["code"],
            "invalid_token",
            "{b}"
        );

        assert_eq!(
            me("garbage".into()).await.status,
            StatusCode::UNAUTHORIZED,
            "{b}"
        );
        let basic = app.raw(Method::GET, "/api/v1/auth/me", None, None).await;
        assert_eq!(basic.status, StatusCode::UNAUTHORIZED, "{b}");

        app.call(
            Method::POST,
            "/api/v1/auth/logout",
            Some(&user.access),
            None,
        )
        .await;
        assert_eq!(
            me(user.access.clone()).await.body["code"],
            "token_revoked",
            "{b}"
        );
    }
}

#[tokio::test]
async fn sql_injection_strings_are_plain_data() {
    let nasty = [
        "Robert'); DROP TABLE profiles;--",
        "' OR '1'='1",
        "\"; DELETE FROM users; --",
        "$1 $2 ? :name @x",
    ];
    for app in common::apps().await {
        let b = app.backend;
        let user = app.sign_up("bobby@example.org").await;
        let profile = json!({"display_name": nasty[0], "bio": nasty.join("\n"), "genres": nasty, "city": nasty[1], "visibility": "public"});
        let created = app
            .call(
                Method::POST,
                "/api/v1/profiles",
                Some(&user.access),
                Some(profile),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{b}: {}", created.text);
        let read = app.get(&format!("/api/v1/profiles/{}", user.id)).await;
        assert_eq!(read.body["display_name"], nasty[0], "{b}");
        assert_eq!(read.body["bio"], nasty.join("\n"), "{b}");
        assert_eq!(read.body["genres"], json!(nasty), "{b}");
        assert_eq!(read.body["city"], nasty[1], "{b}");

        let room = app
            .call(
                Method::POST,
                "/api/v1/rooms",
                Some(&user.access),
                Some(json!({"name": nasty[2], "visibility": "public", "capacity": 4})),
            )
            .await;
        assert_eq!(
            app.get(&format!(
                "/api/v1/rooms/{}",
                room.body["id"].as_str().unwrap()
            ))
            .await
            .body["name"],
            nasty[2],
            "{b}"
        );

        let login = app
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"email": "' OR 1=1 --", "password": "' OR '1'='1"})),
            )
            .await;
        assert_eq!(login.body["code"], "invalid_credentials", "{b}");
        let probe = app.get("/api/v1/profiles/'%20OR%20'1'%3D'1").await;
        assert_eq!(probe.status, StatusCode::NOT_FOUND, "{b}");

        let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
        assert_eq!(users, 1, "{b}: tables intact");
        assert_eq!(
            app.get("/api/v1/profiles")
                .await
                .body
                .as_array()
                .unwrap()
                .len(),
            1,
            "{b}"
        );
    }
}

#[tokio::test]
async fn body_limits_malformed_json_and_unknown_fields() {
    for app in common::apps_with(|c| c.max_body_bytes = 1024).await {
        let b = app.backend;
        let user = app.sign_up("ada@example.org").await;

        let huge = json!({"display_name": "x".repeat(4096), "visibility": "public"});
        let r = app
            .call(
                Method::POST,
                "/api/v1/profiles",
                Some(&user.access),
                Some(huge),
            )
            .await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")),
            "{b}"
        );

        let r = app
            .raw(
                Method::POST,
                "/api/v1/profiles",
                Some(&user.access),
                Some(b"{\"display_name\": ".to_vec()),
            )
            .await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("bad_request")),
            "{b}"
        );
        assert!(
            r.body["message"]
                .as_str()
                .unwrap()
                .starts_with("malformed JSON"),
            "{b}: {}",
            r.text
        );

        let r = app
            .raw(
                Method::POST,
                "/api/v1/profiles",
                Some(&user.access),
                Some(b"[1, 2".to_vec()),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{b}");

        let r = app
            .call(
                Method::POST,
                "/api/v1/profiles",
                Some(&user.access),
                Some(json!({"display_name": "Ada", "visibility": "public", "is_admin": true})),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "{b}: unknown fields are rejected"
        );
        assert!(
            r.body["message"]
                .as_str()
                .unwrap()
                .contains("unknown field `is_admin`"),
            "{b}: {}",
            r.text
        );

        let r = app
            .call(
                Method::POST,
                "/api/v1/profiles",
                Some(&user.access),
                Some(json!({"display_name": 7, "visibility": "public"})),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "{b}: wrong types are 400 too"
        );

        let no_type = {
            use tower::ServiceExt;
            let req = axum::http::Request::post("/api/v1/auth/login")
                .body(axum::body::Body::from("{}"))
                .unwrap();
            app.router.clone().oneshot(req).await.unwrap()
        };
        assert_eq!(no_type.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{b}");
    }
}

#[tokio::test]
async fn auth_rate_limits_per_ip_and_per_account() {
    for app in common::apps_with(|c| c.auth_rate_per_ip = 3).await {
        let b = app.backend;
        for i in 0..3 {
            app.sign_up(&format!("user{i}@example.org")).await;
        }
        let r = app
            .call(
                Method::POST,
                "/api/v1/auth/signup",
                None,
                Some(json!({"email": "late@example.org", "password": common::PASSWORD})),
            )
            .await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")),
            "{b}"
        );
        assert!(r.headers.contains_key("retry-after"), "{b}");
        let metrics = app.get("/metrics").await;
        assert!(
            metrics
                .text
                .contains("tutti_rate_limited_total{scope=\"auth\"} 1"),
            "{b}: {}",
            metrics.text
        );
    }
    for app in common::apps_with(|c| c.auth_rate_per_account = 2).await {
        let b = app.backend;
        app.sign_up("target@example.org").await;
        app.sign_up("bystander@example.org").await;
        let login = |email: &'static str| {
            app.call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"email": email, "password": "guessing..."})),
            )
        };
        assert_eq!(
            login("target@example.org").await.status,
            StatusCode::UNAUTHORIZED,
            "{b}"
        );
        assert_eq!(
            login("TARGET@example.org").await.status,
            StatusCode::UNAUTHORIZED,
            "{b}"
        );
        assert_eq!(
            login("target@example.org").await.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{b}: per account"
        );
        assert_eq!(
            login("bystander@example.org").await.status,
            StatusCode::UNAUTHORIZED,
            "{b}: other accounts unaffected"
        );
    }
}
