//! Accounts on SQLite and PostgreSQL: sign-up, login, refresh rotation and reuse detection,
//! logout, password change, roles.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{Method, StatusCode};
use common::PASSWORD;
use serde_json::json;

#[tokio::test]
async fn sign_up_login_and_me() {
    for app in common::apps().await {
        let b = app.backend;
        let user = app.sign_up("Ada@Example.org").await;
        let me = app
            .call(Method::GET, "/api/v1/auth/me", Some(&user.access), None)
            .await;
        assert_eq!(me.status, StatusCode::OK, "{b}");
        assert_eq!(
            me.body["email"], "ada@example.org",
            "{b}: emails are normalised"
        );
        assert_eq!(me.body["role"], "member", "{b}");

        let dup = app
            .call(
                Method::POST,
                "/api/v1/auth/signup",
                None,
                Some(json!({"email": "ada@example.org", "password": PASSWORD})),
            )
            .await;
        assert_eq!(
            (dup.status, dup.body["code"].as_str()),
            (StatusCode::CONFLICT, Some("email_taken")),
            "{b}"
        );

        let login = |password: &'static str| {
            app.call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"email": " ADA@example.org", "password": password})),
            )
        };
        let ok = login(PASSWORD).await;
        assert_eq!(ok.status, StatusCode::OK, "{b}: {}", ok.text);
        assert_eq!(ok.body["token_type"], "Bearer", "{b}");
        let wrong = login("not the password").await;
        assert_eq!(
            (wrong.status, wrong.body["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_credentials")),
            "{b}"
        );
        let unknown = app
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"email": "nobody@example.org", "password": PASSWORD})),
            )
            .await;
        assert_eq!(
            unknown.body["code"], "invalid_credentials",
            "{b}: unknown emails look like wrong passwords"
        );

        let weak = app
            .call(
                Method::POST,
                "/api/v1/auth/signup",
                None,
                Some(json!({"email": "bea@example.org", "password": "short"})),
            )
            .await;
        assert_eq!(weak.status, StatusCode::BAD_REQUEST, "{b}");
        let bad_email = app
            .call(
                Method::POST,
                "/api/v1/auth/signup",
                None,
                Some(json!({"email": "not-an-email", "password": PASSWORD})),
            )
            .await;
        assert_eq!(bad_email.status, StatusCode::BAD_REQUEST, "{b}");

        let anonymous = app.get("/api/v1/auth/me").await;
        assert_eq!(
            (anonymous.status, anonymous.body["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthenticated")),
            "{b}"
        );
    }
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    for app in common::apps().await {
        let b = app.backend;
        let user = app.sign_up("cal@example.org").await;
        let refresh = |token: String| {
            app.call(
                Method::POST,
                "/api/v1/auth/refresh",
                None,
                Some(json!({"refresh_token": token})),
            )
        };

        let first = refresh(user.refresh.clone()).await;
        assert_eq!(first.status, StatusCode::OK, "{b}: {}", first.text);
        let rotated = first.body["refresh_token"].as_str().unwrap().to_owned();
        let new_access = first.body["access_token"].as_str().unwrap().to_owned();
        assert_ne!(rotated, user.refresh, "{b}: the refresh token rotates");

        // The old token again: reuse. The whole family dies, including the rotated token and
        // every access token of the session.
        let reuse = refresh(user.refresh.clone()).await;
        assert_eq!(
            (reuse.status, reuse.body["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("refresh_token_reused")),
            "{b}"
        );
        let after = refresh(rotated).await;
        assert_eq!(
            (after.status, after.body["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("token_revoked")),
            "{b}"
        );
        for token in [&user.access, &new_access] {
            let me = app
                .call(Method::GET, "/api/v1/auth/me", Some(token), None)
                .await;
            assert_eq!(me.body["code"], "token_revoked", "{b}");
        }

        let garbage = refresh("not-a-token".into()).await;
        assert_eq!(
            (garbage.status, garbage.body["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_token")),
            "{b}"
        );
    }
}

#[tokio::test]
async fn logout_ends_only_that_session() {
    for app in common::apps().await {
        let b = app.backend;
        let phone = app.sign_up("dev@example.org").await;
        let laptop = app
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"email": "dev@example.org", "password": PASSWORD})),
            )
            .await;
        let laptop_access = laptop.body["access_token"].as_str().unwrap().to_owned();

        let out = app
            .call(
                Method::POST,
                "/api/v1/auth/logout",
                Some(&phone.access),
                None,
            )
            .await;
        assert_eq!(out.status, StatusCode::NO_CONTENT, "{b}");
        let me = app
            .call(Method::GET, "/api/v1/auth/me", Some(&phone.access), None)
            .await;
        assert_eq!(
            me.body["code"], "token_revoked",
            "{b}: a logged-out access token is rejected at once"
        );
        let refresh = app
            .call(
                Method::POST,
                "/api/v1/auth/refresh",
                None,
                Some(json!({"refresh_token": phone.refresh})),
            )
            .await;
        assert_eq!(refresh.status, StatusCode::UNAUTHORIZED, "{b}");
        let other = app
            .call(Method::GET, "/api/v1/auth/me", Some(&laptop_access), None)
            .await;
        assert_eq!(
            other.status,
            StatusCode::OK,
            "{b}: the other session lives on"
        );
    }
}

#[tokio::test]
async fn password_change_revokes_every_session() {
    for app in common::apps().await {
        let b = app.backend;
        let user = app.sign_up("eli@example.org").await;
        let change = |current: &'static str| {
            app.call(
                Method::POST,
                "/api/v1/auth/password",
                Some(&user.access),
                Some(json!({"current_password": current, "new_password": "a whole new secret"})),
            )
        };
        assert_eq!(
            change("wrong password!").await.status,
            StatusCode::UNAUTHORIZED,
            "{b}"
        );
        assert_eq!(change(PASSWORD).await.status, StatusCode::NO_CONTENT, "{b}");
        let me = app
            .call(Method::GET, "/api/v1/auth/me", Some(&user.access), None)
            .await;
        assert_eq!(me.body["code"], "token_revoked", "{b}");
        let refresh = app
            .call(
                Method::POST,
                "/api/v1/auth/refresh",
                None,
                Some(json!({"refresh_token": user.refresh})),
            )
            .await;
        assert_eq!(refresh.status, StatusCode::UNAUTHORIZED, "{b}");
        let old = app
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"email": user.email, "password": PASSWORD})),
            )
            .await;
        assert_eq!(old.status, StatusCode::UNAUTHORIZED, "{b}");
        let new = app
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"email": user.email, "password": "a whole new secret"})),
            )
            .await;
        assert_eq!(new.status, StatusCode::OK, "{b}");
    }
}

#[tokio::test]
async fn only_admins_change_roles_and_admin_emails_are_promoted() {
    for app in common::apps_with(|c| c.admin_emails = vec!["Boss@Example.org".into()]).await {
        let b = app.backend;
        let boss = app.sign_up("boss@example.org").await;
        let member = app.sign_up("fay@example.org").await;
        let me = app
            .call(Method::GET, "/api/v1/auth/me", Some(&boss.access), None)
            .await;
        assert_eq!(me.body["role"], "admin", "{b}");

        let path = format!("/api/v1/users/{}/role", boss.id);
        let denied = app
            .call(
                Method::PUT,
                &path,
                Some(&member.access),
                Some(json!({"role": "member"})),
            )
            .await;
        assert_eq!(denied.status, StatusCode::FORBIDDEN, "{b}");

        let path = format!("/api/v1/users/{}/role", member.id);
        let promoted = app
            .call(
                Method::PUT,
                &path,
                Some(&boss.access),
                Some(json!({"role": "curator"})),
            )
            .await;
        assert_eq!(
            (promoted.status, promoted.body["role"].as_str()),
            (StatusCode::OK, Some("curator")),
            "{b}"
        );
        let me = app
            .call(Method::GET, "/api/v1/auth/me", Some(&member.access), None)
            .await;
        assert_eq!(
            me.body["role"], "curator",
            "{b}: roles apply to existing tokens at once"
        );

        let bad = app
            .call(
                Method::PUT,
                &path,
                Some(&boss.access),
                Some(json!({"role": "emperor"})),
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{b}");
    }
}
