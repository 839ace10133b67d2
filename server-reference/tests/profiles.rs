//! Musician profiles on SQLite and PostgreSQL: CRUD, validation, visibility and IDOR.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

fn full_profile(name: &str, visibility: &str) -> Value {
    json!({
        "display_name": name,
        "instruments": [{"name": "bass guitar", "skill": 4, "years_played": 12}],
        "genres": ["funk", "jazz"],
        "influences": ["Jaco Pastorius"],
        "bio": "Groove first.",
        "city": "Berlin",
        "coordinates": {"latitude": 52.5213, "longitude": 13.4132},
        "time_zone": "Europe/Berlin",
        "availability": [{"day": "thu", "start": "19:00", "end": "22:30"}],
        "looking_for": {"instruments": ["drums"], "goals": ["band", "casual_jam"]},
        "max_latency_ms": 25,
        "avatar_url": "https://example.org/ada.png",
        "visibility": visibility
    })
}

#[tokio::test]
async fn create_read_replace_delete() {
    for app in common::apps().await {
        let b = app.backend;
        let ada = app.sign_up("ada@example.org").await;
        let created = app
            .call(
                Method::POST,
                "/api/v1/profiles",
                Some(&ada.access),
                Some(full_profile("Ada", "public")),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{b}: {}", created.text);
        assert_eq!(created.body["user_id"], ada.id.as_str(), "{b}");
        assert_eq!(
            created.body["coordinates"],
            json!({"latitude": 52.5, "longitude": 13.4}),
            "{b}: coarse"
        );

        let path = format!("/api/v1/profiles/{}", ada.id);
        let read = app.get(&path).await;
        assert_eq!(read.status, StatusCode::OK, "{b}");
        for field in [
            "instruments",
            "genres",
            "influences",
            "availability",
            "looking_for",
            "time_zone",
            "max_latency_ms",
        ] {
            assert_eq!(
                read.body[field], created.body[field],
                "{b}: {field} round-trips"
            );
        }

        let again = app
            .call(
                Method::POST,
                "/api/v1/profiles",
                Some(&ada.access),
                Some(full_profile("Ada", "public")),
            )
            .await;
        assert_eq!(
            (again.status, again.body["code"].as_str()),
            (StatusCode::CONFLICT, Some("profile_exists")),
            "{b}"
        );

        let mut changed = full_profile("Ada Lovelace", "members_only");
        changed["genres"] = json!(["prog"]);
        let replaced = app
            .call(Method::PUT, &path, Some(&ada.access), Some(changed))
            .await;
        assert_eq!(replaced.status, StatusCode::OK, "{b}: {}", replaced.text);
        assert_eq!(
            app.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "{b}: members only now"
        );
        let as_member = app.call(Method::GET, &path, Some(&ada.access), None).await;
        assert_eq!(as_member.body["genres"], json!(["prog"]), "{b}");

        let invalid = app
            .call(
                Method::PUT,
                &path,
                Some(&ada.access),
                Some(json!({"display_name": "", "visibility": "public"})),
            )
            .await;
        assert_eq!(invalid.status, StatusCode::BAD_REQUEST, "{b}");

        assert_eq!(
            app.call(Method::DELETE, &path, Some(&ada.access), None)
                .await
                .status,
            StatusCode::NO_CONTENT,
            "{b}"
        );
        assert_eq!(
            app.call(Method::GET, &path, Some(&ada.access), None)
                .await
                .status,
            StatusCode::NOT_FOUND,
            "{b}"
        );
    }
}

#[tokio::test]
async fn visibility_is_enforced_on_reads_and_lists() {
    for app in common::apps().await {
        let b = app.backend;
        let owners = [
            ("pub@example.org", "public"),
            ("mem@example.org", "members_only"),
            ("priv@example.org", "private"),
        ];
        let mut ids = Vec::new();
        for (email, visibility) in owners {
            let u = app.sign_up(email).await;
            let r = app
                .call(
                    Method::POST,
                    "/api/v1/profiles",
                    Some(&u.access),
                    Some(full_profile(visibility, visibility)),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{b}");
            ids.push(u);
        }
        let viewer = app.sign_up("viewer@example.org").await;
        let admin = app.sign_up("admin@example.org").await;
        app.make_admin(&admin).await;

        let names = |v: &Value| {
            let mut n: Vec<String> = v
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["display_name"].as_str().unwrap().to_owned())
                .collect();
            n.sort();
            n
        };
        assert_eq!(
            names(&app.get("/api/v1/profiles").await.body),
            ["public"],
            "{b}: anonymous"
        );
        let member_view = app
            .call(Method::GET, "/api/v1/profiles", Some(&viewer.access), None)
            .await;
        assert_eq!(
            names(&member_view.body),
            ["members_only", "public"],
            "{b}: member"
        );
        let own_view = app
            .call(Method::GET, "/api/v1/profiles", Some(&ids[2].access), None)
            .await;
        assert_eq!(
            names(&own_view.body),
            ["members_only", "private", "public"],
            "{b}: owner sees own private"
        );
        let admin_view = app
            .call(Method::GET, "/api/v1/profiles", Some(&admin.access), None)
            .await;
        assert_eq!(
            names(&admin_view.body),
            ["members_only", "private", "public"],
            "{b}: admin"
        );

        let private = format!("/api/v1/profiles/{}", ids[2].id);
        let probe = app
            .call(Method::GET, &private, Some(&viewer.access), None)
            .await;
        assert_eq!(probe.status, StatusCode::NOT_FOUND, "{b}");
        assert!(
            !probe.text.contains("Berlin") && !probe.text.contains("private"),
            "{b}: nothing leaks: {}",
            probe.text
        );
        let unknown = app
            .call(
                Method::GET,
                "/api/v1/profiles/00000000-0000-0000-0000-000000000000",
                Some(&viewer.access),
                None,
            )
            .await;
        assert_eq!(
            probe.text, unknown.text,
            "{b}: a hidden profile is indistinguishable from none"
        );

        let page = app
            .call(
                Method::GET,
                "/api/v1/profiles?limit=1&offset=1",
                Some(&admin.access),
                None,
            )
            .await;
        assert_eq!(names(&page.body), ["private"], "{b}: pagination");
        let bad_page = app.get("/api/v1/profiles?limit=1000").await;
        assert_eq!(
            (bad_page.status, bad_page.body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("bad_request")),
            "{b}"
        );
    }
}

#[tokio::test]
async fn idor_others_cannot_edit_or_delete() {
    for app in common::apps().await {
        let b = app.backend;
        let owner = app.sign_up("owner@example.org").await;
        let intruder = app.sign_up("intruder@example.org").await;
        let admin = app.sign_up("root@example.org").await;
        app.make_admin(&admin).await;
        for visibility in ["public", "private"] {
            let path = format!("/api/v1/profiles/{}", owner.id);
            let _ = app
                .call(Method::DELETE, &path, Some(&owner.access), None)
                .await;
            let r = app
                .call(
                    Method::POST,
                    "/api/v1/profiles",
                    Some(&owner.access),
                    Some(full_profile("Owner", visibility)),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{b}");

            // Visible but not theirs: 403; invisible: 404. Either way nothing changes.
            let expected = if visibility == "public" {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::NOT_FOUND
            };
            let put = app
                .call(
                    Method::PUT,
                    &path,
                    Some(&intruder.access),
                    Some(full_profile("Pwned", "public")),
                )
                .await;
            assert_eq!(put.status, expected, "{b} {visibility}");
            let del = app
                .call(Method::DELETE, &path, Some(&intruder.access), None)
                .await;
            assert_eq!(del.status, expected, "{b} {visibility}");
            let anon = app
                .call(
                    Method::PUT,
                    &path,
                    None,
                    Some(full_profile("Pwned", "public")),
                )
                .await;
            assert_eq!(anon.status, StatusCode::UNAUTHORIZED, "{b} {visibility}");
            let own = app
                .call(Method::GET, &path, Some(&owner.access), None)
                .await;
            assert_eq!(
                own.body["display_name"], "Owner",
                "{b} {visibility}: unchanged"
            );

            // Creating a profile always targets the caller's own account.
            let mine = app
                .call(
                    Method::POST,
                    "/api/v1/profiles",
                    Some(&intruder.access),
                    Some(full_profile("Intruder", "public")),
                )
                .await;
            assert_eq!(mine.body["user_id"], intruder.id.as_str(), "{b}");
            let _ = app
                .call(
                    Method::DELETE,
                    &format!("/api/v1/profiles/{}", intruder.id),
                    Some(&intruder.access),
                    None,
                )
                .await;

            let by_admin = app
                .call(
                    Method::PUT,
                    &path,
                    Some(&admin.access),
                    Some(full_profile("Moderated", visibility)),
                )
                .await;
            assert_eq!(
                by_admin.status,
                StatusCode::OK,
                "{b} {visibility}: admins may edit"
            );
        }
    }
}
