//! Recommendation endpoints and feedback on SQLite and PostgreSQL: auth, visibility, blocks,
//! self-exclusion, the latency cut-off, feedback changing the next ranking, line-ups, venues
//! and malformed queries.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{Method, StatusCode};
use common::{TestApp, User};
use serde_json::{Value, json};

fn profile(name: &str, plays: &str, seeks: &[&str], visibility: &str, lat: f64, lon: f64) -> Value {
    json!({
        "display_name": name,
        "instruments": [{"name": plays, "skill": 3, "years_played": 8}],
        "genres": ["funk", "soul"],
        "influences": ["Prince"],
        "bio": "Groove first, then the song.",
        "city": "Somewhere",
        "coordinates": {"latitude": lat, "longitude": lon},
        "availability": [{"day": "thu", "start": "19:00", "end": "22:00"}],
        "looking_for": {"instruments": seeks, "goals": ["band"]},
        "visibility": visibility,
    })
}

const BERLIN: (f64, f64) = (52.5, 13.4);
const POTSDAM: (f64, f64) = (52.4, 13.1);
const SYDNEY: (f64, f64) = (-33.9, 151.2);

async fn member(app: &TestApp, email: &str, body: Value) -> User {
    let user = app.sign_up(email).await;
    let r = app
        .call(
            Method::POST,
            "/api/v1/profiles",
            Some(&user.access),
            Some(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}: {}", app.backend, r.text);
    user
}

fn ids(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["profile_id"].as_str().expect("profile_id").to_owned())
        .collect()
}

async fn musicians(app: &TestApp, user: &User, query: &str) -> Value {
    let r = app
        .call(
            Method::GET,
            &format!("/api/v1/recommendations/musicians?{query}"),
            Some(&user.access),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}: {}", app.backend, r.text);
    r.body
}

/// Two bass players looking for a guitarist with identical profiles at `at` (ties go by id).
async fn two_bassists(app: &TestApp, (lat, lon): (f64, f64)) -> (User, User) {
    let one = member(
        app,
        "one@example.org",
        profile("Bass One", "bass", &["guitar"], "public", lat, lon),
    )
    .await;
    let two = member(
        app,
        "two@example.org",
        profile("Bass Two", "bass", &["guitar"], "public", lat, lon),
    )
    .await;
    (one, two)
}

/// Records a jam of `user` with `partner` through `app` and rates the partner 5; returns the
/// jam id.
async fn great_jam(app: &TestApp, user: &User, partner: &str) -> String {
    let b = app.backend;
    let r = app
        .call(
            Method::POST,
            "/api/v1/jams",
            Some(&user.access),
            Some(json!({"members": [partner]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{b}: {}", r.text);
    let jam = r.body["id"].as_str().expect("jam id").to_owned();
    let r = app
        .call(
            Method::POST,
            &format!("/api/v1/jams/{jam}/ratings"),
            Some(&user.access),
            Some(json!({"ratings": [{"profile_id": partner, "rating": 5}]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{b}: {}", r.text);
    jam
}

#[tokio::test]
async fn musicians_respect_auth_visibility_blocks_self_and_latency() {
    for app in common::apps().await {
        let b = app.backend;
        for path in [
            "/api/v1/recommendations/musicians",
            "/api/v1/recommendations/lineup?need=bass",
            "/api/v1/recommendations/venues?members=x",
        ] {
            assert_eq!(
                app.get(path).await.status,
                StatusCode::UNAUTHORIZED,
                "{b} {path}"
            );
        }
        let nobody = app.sign_up("nobody@example.org").await;
        let r = app
            .call(
                Method::GET,
                "/api/v1/recommendations/musicians",
                Some(&nobody.access),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{b}: no profile yet");

        let (lat, lon) = BERLIN;
        let me = member(
            &app,
            "me@example.org",
            profile("Me", "guitar", &["bass"], "private", lat, lon),
        )
        .await;
        let open = member(
            &app,
            "open@example.org",
            profile(
                "Open Bass",
                "bass",
                &["guitar"],
                "public",
                POTSDAM.0,
                POTSDAM.1,
            ),
        )
        .await;
        let members_only = member(
            &app,
            "mo@example.org",
            profile("Members Drums", "drums", &[], "members_only", lat, lon),
        )
        .await;
        let private = member(
            &app,
            "private@example.org",
            profile("Private Bass", "bass", &["guitar"], "private", lat, lon),
        )
        .await;
        let far = member(
            &app,
            "far@example.org",
            profile(
                "Far Bass",
                "bass",
                &["guitar"],
                "public",
                SYDNEY.0,
                SYDNEY.1,
            ),
        )
        .await;

        let body = musicians(&app, &me, "mode=online&limit=10").await;
        assert_eq!(body["mode"], "online", "{b}");
        let got = ids(&body);
        assert_eq!(
            got.first(),
            Some(&open.id),
            "{b}: the bassist I look for comes first: {got:?}"
        );
        assert!(got.contains(&members_only.id), "{b}");
        assert!(!got.contains(&me.id), "{b}: never myself");
        assert!(
            !got.contains(&private.id),
            "{b}: private profiles never appear"
        );
        assert!(!got.contains(&far.id), "{b}: beyond 25 ms one-way");
        let first = &body["items"][0];
        assert_eq!(first["display_name"], "Open Bass");
        assert_eq!(
            first["instruments"][0],
            json!({"name": "bass", "skill": 3, "years": 8})
        );
        assert_eq!(first["city"], "Somewhere");
        assert!(
            first["reason"].as_str().unwrap().contains("plays bass"),
            "{b}: {first}"
        );
        assert!(first["latency"]["one_way_ms"].as_f64().unwrap() < 25.0);
        assert_eq!(first["latency"]["source"], "distance");
        assert!(first["distance_km"].as_f64().unwrap() > 10.0);
        assert!(
            first.get("bio").is_none() && first.get("coordinates").is_none(),
            "{b}: hidden fields"
        );
        let factors = first["factors"].as_array().unwrap();
        assert!(
            factors
                .iter()
                .any(|f| f["factor"] == "latency" && f["weight"].as_f64().is_some())
        );
        let total: f64 = factors
            .iter()
            .map(|f| f["value"].as_f64().unwrap() * f["weight"].as_f64().unwrap())
            .sum();
        assert!(
            (total - first["score"].as_f64().unwrap()).abs() < 1e-6,
            "{b}: score = Σ w·v"
        );

        // The private member sees others but is seen by nobody.
        assert!(
            ids(&musicians(&app, &private, "").await).contains(&open.id),
            "{b}"
        );
        assert!(
            !ids(&musicians(&app, &open, "").await).contains(&private.id),
            "{b}"
        );

        // In person: Sydney is out at any travel limit; Potsdam is within 50 km.
        let body = musicians(&app, &me, "mode=in_person").await;
        assert_eq!(body["mode"], "in_person");
        let got = ids(&body);
        assert!(
            got.contains(&open.id) && !got.contains(&far.id),
            "{b}: {got:?}"
        );
        assert!(body["items"][0]["latency"].is_null(), "{b}");
        let got = ids(&musicians(&app, &me, "mode=in_person&max_travel_km=5").await);
        assert!(!got.contains(&open.id), "{b}: Potsdam is ~23 km away");

        // Blocks work both ways.
        let r = app
            .call(
                Method::PUT,
                &format!("/api/v1/blocks/{}", open.id),
                Some(&me.access),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{b}: {}", r.text);
        assert!(
            !ids(&musicians(&app, &me, "").await).contains(&open.id),
            "{b}"
        );
        assert!(
            !ids(&musicians(&app, &open, "").await).contains(&me.id),
            "{b}"
        );
        app.call(
            Method::DELETE,
            &format!("/api/v1/blocks/{}", open.id),
            Some(&me.access),
            None,
        )
        .await;
        assert!(
            ids(&musicians(&app, &me, "").await).contains(&open.id),
            "{b}"
        );

        // Profile writes update the index: the far bassist moves next door, then leaves.
        let r = app
            .call(
                Method::PUT,
                &format!("/api/v1/profiles/{}", far.id),
                Some(&far.access),
                Some(profile("Far Bass", "bass", &["guitar"], "public", lat, lon)),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{b}");
        assert!(
            ids(&musicians(&app, &me, "").await).contains(&far.id),
            "{b}: moved"
        );
        app.call(
            Method::DELETE,
            &format!("/api/v1/profiles/{}", far.id),
            Some(&far.access),
            None,
        )
        .await;
        assert!(
            !ids(&musicians(&app, &me, "").await).contains(&far.id),
            "{b}: deleted"
        );
    }
}

#[tokio::test]
async fn feedback_changes_the_next_ranking() {
    for app in common::apps().await {
        let b = app.backend;
        let (lat, lon) = BERLIN;
        let me = member(
            &app,
            "me@example.org",
            profile("Me", "guitar", &["bass"], "public", lat, lon),
        )
        .await;
        let (one, two) = two_bassists(&app, (lat, lon)).await;
        // Identical profiles: ties go by internal id; note who is first now.
        let before = ids(&musicians(&app, &me, "").await);
        assert_eq!(before.len(), 2, "{b}");
        let (first, second) = if before[0] == one.id {
            (&one, &two)
        } else {
            (&two, &one)
        };

        // A great jam with the second one lifts them to the top.
        let jam = great_jam(&app, &me, &second.id).await;
        let body = musicians(&app, &me, "").await;
        assert_eq!(
            ids(&body)[0],
            second.id,
            "{b}: the rated partner comes first"
        );
        let cojam = body["items"][0]["factors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["factor"] == "co_jam")
            .unwrap()
            .clone();
        assert_eq!(cojam["value"].as_f64(), Some(1.0), "{b}: rated 5");

        // Ratings are checked: only members of the jam, 1–5, not yourself.
        for bad in [
            json!({"ratings": [{"profile_id": first.id, "rating": 4}]}),
            json!({"ratings": [{"profile_id": second.id, "rating": 6}]}),
            json!({"ratings": [{"profile_id": me.id, "rating": 3}]}),
        ] {
            let r = app
                .call(
                    Method::POST,
                    &format!("/api/v1/jams/{jam}/ratings"),
                    Some(&me.access),
                    Some(bad),
                )
                .await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{b}: {}", r.text);
        }
        let r = app
            .call(
                Method::POST,
                &format!("/api/v1/jams/{jam}/ratings"),
                Some(&first.access),
                Some(json!({"ratings": [{"profile_id": me.id, "rating": 1}]})),
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{b}: not in that jam");

        // A measured RTT beats distance: 200 ms round trip puts the partner out of reach.
        let r = app
            .call(
                Method::POST,
                "/api/v1/measurements/rtt",
                Some(&me.access),
                Some(json!({"peer": second.id, "rtt_ms": 200.0, "network": "AS1", "peer_network": "AS2"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{b}: {}", r.text);
        let got = ids(&musicians(&app, &me, "").await);
        assert_eq!(
            got,
            vec![first.id.clone()],
            "{b}: measured 100 ms one-way is out"
        );
        // … and a fast one brings them back, with the measured source shown.
        for _ in 0..3 {
            app.call(
                Method::POST,
                "/api/v1/measurements/rtt",
                Some(&second.access),
                Some(json!({"peer": me.id, "rtt_ms": 8.0})),
            )
            .await;
        }
        // The bio model as a reload fits it (the server refits on its own once bios drift).
        app.state.recommender.refit_bios().await.unwrap();
        let body = musicians(&app, &me, "").await;
        let item = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["profile_id"] == second.id.as_str())
            .expect("back");
        assert_eq!(item["latency"]["source"], "measured_pair", "{b}");
        assert_eq!(
            item["latency"]["one_way_ms"].as_f64(),
            Some(4.0),
            "{b}: median 8 ms / 2"
        );

        // A restart (full reload from the database) gives the same ranking.
        let state = tutti_server::AppState::new({
            let mut c = tutti_server::Config::with_database(&app.database_url);
            c.demo_data = false;
            c
        })
        .await
        .expect("restart");
        let again = TestApp::wrap(b, &app.database_url, state);
        assert_eq!(
            musicians(&again, &me, "").await,
            body,
            "{b}: reload = live updates"
        );

        // Malformed feedback.
        for bad in [
            json!({"peer": first.id, "rtt_ms": -1.0}),
            json!({"peer": me.id, "rtt_ms": 10.0}),
            json!({"peer": "nope", "rtt_ms": 10.0}),
            json!({"peer": first.id, "rtt_ms": 10.0, "extra": 1}),
        ] {
            let r = app
                .call(
                    Method::POST,
                    "/api/v1/measurements/rtt",
                    Some(&me.access),
                    Some(bad),
                )
                .await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{b}: {}", r.text);
        }
        for bad in [
            json!({"members": []}),
            json!({"members": ["nope"]}),
            json!({"members": [me.id]}),
        ] {
            let r = app
                .call(Method::POST, "/api/v1/jams", Some(&me.access), Some(bad))
                .await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{b}: {}", r.text);
        }
    }
}

#[tokio::test]
async fn lineup_and_venues() {
    for app in common::apps().await {
        let b = app.backend;
        let (lat, lon) = BERLIN;
        let me = member(
            &app,
            "me@example.org",
            profile("Me", "guitar", &["bass", "drums"], "public", lat, lon),
        )
        .await;
        let bass = member(
            &app,
            "bass@example.org",
            profile("Bass", "bass", &["guitar"], "public", lat, lon),
        )
        .await;
        let drums = member(
            &app,
            "drums@example.org",
            profile("Drums", "drums", &["bass"], "public", POTSDAM.0, POTSDAM.1),
        )
        .await;
        member(
            &app,
            "far@example.org",
            profile("Far Drums", "drums", &[], "public", SYDNEY.0, SYDNEY.1),
        )
        .await;

        let r = app
            .call(
                Method::GET,
                "/api/v1/recommendations/lineup?need=drums,bass&mode=online",
                Some(&me.access),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.text);
        assert_eq!(r.body["need"], json!(["drums", "bass"]));
        let members = r.body["members"].as_array().unwrap();
        assert_eq!(members.len(), 2, "{b}: {}", r.text);
        assert_eq!(members[0]["instrument"], "drums");
        assert_eq!(members[0]["musician"]["profile_id"], drums.id.as_str());
        assert_eq!(members[1]["musician"]["profile_id"], bass.id.as_str());
        assert!(r.body["max_pair_latency_ms"].as_f64().unwrap() < 25.0);
        assert!(r.body["score"].as_f64().unwrap() > 0.0);

        let r = app
            .call(
                Method::GET,
                "/api/v1/recommendations/lineup?need=tuba",
                Some(&me.access),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{b}");
        assert_eq!(r.body["members"], json!([]));
        assert!(r.body["message"].is_string());

        // Venues: a room near the group with a drum kit beats a far one without.
        let admin = app.sign_up("admin@example.org").await;
        app.make_admin(&admin).await;
        for (name, la, lo, equipment) in [
            (
                "Near Room",
                52.48,
                13.3,
                json!(["drum_kit", "bass_amp", "guitar_amp"]),
            ),
            ("Bare Room", 52.7, 13.7, json!([])),
        ] {
            let r = app
                .call(
                    Method::POST,
                    "/api/v1/venues",
                    Some(&admin.access),
                    Some(json!({"name": name, "kind": "rehearsal_room",
                        "coordinates": {"latitude": la, "longitude": lo}, "capacity": 6,
                        "equipment": equipment})),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{b}: {}", r.text);
        }
        let path = format!(
            "/api/v1/recommendations/venues?members={},{}&limit=5",
            bass.id, drums.id
        );
        let r = app.call(Method::GET, &path, Some(&me.access), None).await;
        assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.text);
        let items = r.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 2, "{b}");
        assert_eq!(items[0]["venue"]["name"], "Near Room");
        assert!(items[0]["venue"]["id"].is_string());
        assert!(items[0]["total_travel_km"].as_f64().unwrap() > 0.0);
        assert!(items[0]["reason"].is_string() && items[0]["score"].is_f64());

        // Malformed queries are 400 with the one error body.
        for bad in [
            "/api/v1/recommendations/musicians?mode=telepathy",
            "/api/v1/recommendations/musicians?limit=0",
            "/api/v1/recommendations/musicians?limit=many",
            "/api/v1/recommendations/musicians?limit=101",
            "/api/v1/recommendations/musicians?colour=red",
            "/api/v1/recommendations/musicians?mode=in_person&max_travel_km=0",
            "/api/v1/recommendations/lineup",
            "/api/v1/recommendations/lineup?need=",
            "/api/v1/recommendations/lineup?need=a,b,c,d,e,f,g",
            "/api/v1/recommendations/lineup?need=bass,,drums",
            "/api/v1/recommendations/venues",
            "/api/v1/recommendations/venues?members=nope",
        ] {
            let r = app.call(Method::GET, bad, Some(&me.access), None).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{b}: {bad}: {}", r.text);
            assert!(
                r.body["code"].is_string() && r.body["message"].is_string(),
                "{b}: {bad}"
            );
        }
    }
}

#[tokio::test]
async fn endpoints_are_in_the_openapi_document() {
    let app = common::apps().await.remove(0);
    let doc = app.get("/openapi.json").await.body;
    for path in [
        "/api/v1/recommendations/musicians",
        "/api/v1/recommendations/lineup",
        "/api/v1/recommendations/venues",
        "/api/v1/jams",
        "/api/v1/jams/{id}/ratings",
        "/api/v1/measurements/rtt",
        "/api/v1/blocks/{user_id}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
}

#[tokio::test]
async fn demo_musicians_give_a_new_member_sensible_recommendations() {
    for app in common::apps_with(|c| c.demo_data = true).await {
        let b = app.backend;
        let me = member(
            &app,
            "new@example.org",
            profile(
                "New",
                "guitar",
                &["drums", "bass"],
                "public",
                BERLIN.0,
                BERLIN.1,
            ),
        )
        .await;
        let body = musicians(&app, &me, "mode=online&limit=10").await;
        let items = body["items"].as_array().unwrap();
        assert!(
            items.len() >= 8,
            "{b}: most demo musicians are within 25 ms of Berlin"
        );
        let first = items[0]["instruments"][0]["name"].as_str().unwrap();
        assert!(
            ["drums", "bass guitar", "double bass"].contains(&first),
            "{b}: a wanted instrument first, got {first}"
        );
        assert!(
            items
                .iter()
                .all(|i| i["latency"]["one_way_ms"].as_f64().unwrap() <= 25.0)
        );
        let r = app
            .call(
                Method::GET,
                "/api/v1/recommendations/lineup?need=drums,bass",
                Some(&me.access),
                None,
            )
            .await;
        assert_eq!(
            r.body["members"].as_array().map(Vec::len),
            Some(2),
            "{b}: {}",
            r.text
        );
    }
}

/// A second server instance on `app`'s database, with its own in-memory recommender.
async fn second_instance(app: &TestApp) -> TestApp {
    let mut config = tutti_server::config::Config::with_database(&app.database_url);
    config.demo_data = false;
    config.db_max_connections = 4;
    let state = tutti_server::AppState::new(config).await.unwrap();
    TestApp::wrap(app.backend, &app.database_url, state)
}

fn factor<'a>(item: &'a Value, name: &str) -> &'a Value {
    item["factors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["factor"] == name)
        .unwrap()
}

#[tokio::test]
async fn a_second_server_sees_every_write_in_its_next_recommendation() {
    for first in common::apps().await {
        let b = first.backend;
        let (lat, lon) = BERLIN;
        let me = member(
            &first,
            "me@example.org",
            profile("Me", "guitar", &["bass"], "public", lat, lon),
        )
        .await;
        let second = second_instance(&first).await;
        // Profiles written through the first instance after the second one loaded.
        let (one, two) = two_bassists(&first, (lat, lon)).await;
        let seen = ids(&musicians(&second, &me, "").await);
        assert_eq!(seen.len(), 2, "{b}: both new profiles: {seen:?}");
        let other = if seen[0] == one.id { &two } else { &one };

        // Feedback through the first instance: a great jam with the one ranked second, and a
        // measured round trip.
        great_jam(&first, &me, &other.id).await;
        let r = first
            .call(
                Method::POST,
                "/api/v1/measurements/rtt",
                Some(&me.access),
                Some(json!({"peer": other.id, "rtt_ms": 7.0})),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{b}: {}", r.text);
        let body = musicians(&second, &me, "").await;
        let top = &body["items"][0];
        assert_eq!(
            top["profile_id"],
            other.id.as_str(),
            "{b}: the rated partner"
        );
        assert!(
            factor(top, "co_jam")["value"].as_f64().unwrap() > 0.0,
            "{b}"
        );
        assert_eq!(top["latency"]["source"], "measured_pair", "{b}: {top}");
        assert_eq!(top["latency"]["one_way_ms"], 3.5, "{b}: {top}");

        // A change by hand (an operator with a SQL shell) reaches both instances: the first
        // never saw it through its own API.
        sqlx::query("UPDATE profiles SET visibility = 'private' WHERE user_id = $1")
            .bind(&other.id)
            .execute(&first.state.db.pool)
            .await
            .unwrap();
        for app in [&first, &second] {
            let seen = ids(&musicians(app, &me, "").await);
            assert!(!seen.contains(&other.id), "{b}: private now: {seen:?}");
        }

        // A profile deleted through the second instance leaves the first one's next answer.
        let r = second
            .call(
                Method::DELETE,
                &format!("/api/v1/profiles/{}", other.id),
                Some(&other.access),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{b}: {}", r.text);
        sqlx::query("UPDATE profiles SET visibility = 'public' WHERE user_id = $1")
            .bind(&other.id)
            .execute(&first.state.db.pool)
            .await
            .unwrap();
        let seen = ids(&musicians(&first, &me, "").await);
        assert!(!seen.contains(&other.id), "{b}: deleted: {seen:?}");
    }
}

#[tokio::test]
async fn a_profile_write_committed_out_of_order_is_not_missed_by_syncs_or_loads() {
    for app in common::apps().await {
        if app.backend != "postgres" {
            continue; // SQLite has one writer at a time: numbers follow commits
        }
        let (lat, lon) = BERLIN;
        let me = member(
            &app,
            "me@example.org",
            profile("Me", "guitar", &["bass"], "public", lat, lon),
        )
        .await;
        let early = member(
            &app,
            "early@example.org",
            profile("Early", "bass", &["guitar"], "public", lat, lon),
        )
        .await;
        let late = member(
            &app,
            "late@example.org",
            profile("Late", "bass", &["guitar"], "public", lat, lon),
        )
        .await;
        let rename = "UPDATE profiles SET display_name = $1 WHERE user_id = $2";
        // Numbered first, committed last.
        let mut slow = app.state.db.pool.begin().await.unwrap();
        sqlx::query(rename)
            .bind("Early Renamed")
            .bind(&early.id)
            .execute(&mut *slow)
            .await
            .unwrap();
        sqlx::query(rename)
            .bind("Late Renamed")
            .bind(&late.id)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
        let names = |body: Value| {
            let mut names: Vec<String> = body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["display_name"].as_str().unwrap().to_owned())
                .collect();
            names.sort();
            names
        };
        assert_eq!(
            names(musicians(&app, &me, "").await),
            vec!["Early", "Late Renamed"]
        );
        // A second instance loads everything while the slow write is still in flight.
        let second = second_instance(&app).await;
        assert_eq!(
            names(musicians(&second, &me, "").await),
            vec!["Early", "Late Renamed"]
        );
        slow.commit().await.unwrap();
        for app in [&app, &second] {
            assert_eq!(
                names(musicians(app, &me, "").await),
                vec!["Early Renamed", "Late Renamed"]
            );
        }
    }
}

#[tokio::test]
async fn an_unknown_time_zone_is_400() {
    for app in common::apps().await {
        let b = app.backend;
        let user = app.sign_up("tz@example.org").await;
        let mut body = profile("Tz", "bass", &["guitar"], "public", BERLIN.0, BERLIN.1);
        body["time_zone"] = json!("Europe/Atlantis");
        let r = app
            .call(
                Method::POST,
                "/api/v1/profiles",
                Some(&user.access),
                Some(body.clone()),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{b}: {}", r.text);
        assert!(
            r.body["message"]
                .as_str()
                .unwrap()
                .contains("\"Europe/Atlantis\" is not a time zone in the IANA database"),
            "{b}: {}",
            r.text
        );
        body["time_zone"] = json!("America/New_York");
        let r = app
            .call(
                Method::POST,
                "/api/v1/profiles",
                Some(&user.access),
                Some(body),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{b}: {}", r.text);

        // A row stored before names were checked still reads, and recommends as UTC.
        let other = member(
            &app,
            "other@example.org",
            profile("Other", "guitar", &["bass"], "public", BERLIN.0, BERLIN.1),
        )
        .await;
        sqlx::query("UPDATE profiles SET time_zone = 'Europe/Atlantis' WHERE user_id = $1")
            .bind(&other.id)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
        let path = format!("/api/v1/profiles/{}", other.id);
        let r = app.call(Method::GET, &path, Some(&user.access), None).await;
        assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.text);
        assert_eq!(r.body["time_zone"], "Europe/Atlantis", "{b}");
        // Thursday 19-22 in New York is Friday 00-03 UTC: no shared time with "UTC" 19-22.
        let got = musicians(&app, &other, "").await;
        assert_eq!(ids(&got), vec![user.id.clone()], "{b}");
        assert_eq!(
            factor(&got["items"][0], "availability")["value"],
            0.0,
            "{b}"
        );
    }
}
