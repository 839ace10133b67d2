//! Venues on SQLite and PostgreSQL: curator CRUD and authorisation, private favourites,
//! CSV/GeoJSON/JSON import (unknown tags kept, malformed rows reported), export round trip,
//! SQL-injection strings as plain data, demo data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod venues_support;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use tutti_server::{AppState, Config};
use venues_support::{create, curator, encode, send, venue};

fn ids(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v["id"].as_str().expect("id").to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn curators_manage_venues_members_cannot() {
    for app in common::apps().await {
        let b = app.backend;
        let member = app.sign_up("member@example.org").await;
        let cur = curator(&app, "curator@example.org").await;
        let admin = app.sign_up("admin@example.org").await;
        app.make_admin(&admin).await;

        let body = json!({
            "name": "Proberaum Nord",
            "kind": "rehearsal_room",
            "address": {"street": "Hauptstraße", "house_number": "5", "city": "Berlin"},
            "coordinates": {"latitude": 52.55, "longitude": 13.38},
            "time_zone": "Europe/Berlin",
            "capacity": 8,
            "hourly_price": {"amount": 15.5, "currency": "eur"},
            "equipment": ["pa_system", "drum_kit"],
            "opening_hours": {"raw": "Mo-Fr 10:00-22:00"},
            "contact": {"phone": "+49 30 1234", "email": "info@example.org"},
            "website": "https://example.org",
            "photos": ["https://example.org/a.jpg"],
            "tags": {"wheelchair": "yes"}
        });
        let anonymous = app
            .call(Method::POST, "/api/v1/venues", None, Some(body.clone()))
            .await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{b}");
        let as_member = app
            .call(
                Method::POST,
                "/api/v1/venues",
                Some(&member.access),
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            as_member.status,
            StatusCode::FORBIDDEN,
            "{b}: {}",
            as_member.text
        );

        let created = app
            .call(
                Method::POST,
                "/api/v1/venues",
                Some(&cur.access),
                Some(body.clone()),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{b}: {}", created.text);
        let id = created.body["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/venues/{id}");
        let read = app.get(&path).await;
        assert_eq!(read.status, StatusCode::OK, "{b}");
        assert_eq!(read.body, created.body, "{b}: read equals created");
        assert_eq!(
            read.body["equipment"],
            json!(["drum_kit", "pa_system"]),
            "{b}"
        );
        assert_eq!(
            read.body["hourly_price"],
            json!({"amount": 15.5, "currency": "EUR"}),
            "{b}"
        );
        assert_eq!(
            read.body["opening_hours"]["weekly"]
                .as_array()
                .map(Vec::len),
            Some(5),
            "{b}: raw hours parsed"
        );

        let mut changed = body.clone();
        changed["capacity"] = json!(12);
        for who in [&member] {
            for (method, payload) in [(Method::PUT, Some(changed.clone())), (Method::DELETE, None)]
            {
                let r = app.call(method, &path, Some(&who.access), payload).await;
                assert_eq!(r.status, StatusCode::FORBIDDEN, "{b}: member edits");
            }
        }
        let replaced = app
            .call(Method::PUT, &path, Some(&cur.access), Some(changed))
            .await;
        assert_eq!(replaced.status, StatusCode::OK, "{b}: {}", replaced.text);
        assert_eq!(app.get(&path).await.body["capacity"], 12, "{b}");
        let invalid = app
            .call(
                Method::PUT,
                &path,
                Some(&cur.access),
                Some(json!({"name": "x", "kind": "castle", "coordinates": {"latitude": 0, "longitude": 0}})),
            )
            .await;
        assert_eq!(invalid.status, StatusCode::BAD_REQUEST, "{b}");
        let missing = app
            .call(
                Method::PUT,
                "/api/v1/venues/nope",
                Some(&cur.access),
                Some(venue("x", 1.0, 1.0)),
            )
            .await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{b}");

        let mut with_ref = venue("A", 1.0, 1.0);
        with_ref["source_ref"] = json!("osm:node/1");
        create(&app, &cur, with_ref.clone()).await;
        let dup = app
            .call(
                Method::POST,
                "/api/v1/venues",
                Some(&cur.access),
                Some(with_ref),
            )
            .await;
        assert_eq!(
            (dup.status, dup.body["code"].as_str()),
            (StatusCode::CONFLICT, Some("source_ref_exists")),
            "{b}"
        );

        let deleted = app
            .call(Method::DELETE, &path, Some(&admin.access), None)
            .await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{b}");
        assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND, "{b}");
        let again = app
            .call(Method::DELETE, &path, Some(&cur.access), None)
            .await;
        assert_eq!(again.status, StatusCode::NOT_FOUND, "{b}");
    }
}

#[tokio::test]
async fn favourites_are_private_to_their_owner() {
    for app in common::apps().await {
        let b = app.backend;
        let cur = curator(&app, "curator@example.org").await;
        let v: Vec<String> = futures_util::future::join_all((0..3).map(|i| {
            create(
                &app,
                &cur,
                venue(&format!("V{i}"), 52.0, 13.0 + f64::from(i)),
            )
        }))
        .await;
        let ann = app.sign_up("ann@example.org").await;
        let bob = app.sign_up("bob@example.org").await;
        let fav = |id: &str| format!("/api/v1/me/favourite-venues/{id}");
        for (who, id) in [(&ann, &v[0]), (&ann, &v[1]), (&ann, &v[1]), (&bob, &v[2])] {
            let r = app
                .call(Method::PUT, &fav(id), Some(&who.access), None)
                .await;
            assert_eq!(r.status, StatusCode::NO_CONTENT, "{b}: {}", r.text);
        }
        let list = |who: &common::User| {
            let token = who.access.clone();
            let app = &app;
            async move {
                app.call(
                    Method::GET,
                    "/api/v1/me/favourite-venues",
                    Some(&token),
                    None,
                )
                .await
            }
        };
        let mut expected = vec![v[0].clone(), v[1].clone()];
        expected.sort();
        assert_eq!(
            ids(&list(&ann).await.body),
            expected,
            "{b}: ann sees hers, once each"
        );
        assert_eq!(
            ids(&list(&bob).await.body),
            [v[2].clone()],
            "{b}: bob sees only his"
        );

        // Bob cannot remove Ann's favourite: removal acts on his own list only.
        let r = app
            .call(Method::DELETE, &fav(&v[0]), Some(&bob.access), None)
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{b}");
        assert_eq!(
            ids(&list(&ann).await.body),
            expected,
            "{b}: ann's list untouched"
        );

        let anonymous = app.get("/api/v1/me/favourite-venues").await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{b}");
        let unknown = app
            .call(Method::PUT, &fav("nope"), Some(&ann.access), None)
            .await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{b}");
        let public = app.get(&format!("/api/v1/venues/{}", v[0])).await;
        assert!(
            !public.text.contains(&ann.id) && !public.text.contains("favourite"),
            "{b}: a venue does not reveal who saved it"
        );

        app.call(Method::DELETE, &fav(&v[0]), Some(&ann.access), None)
            .await;
        let deleted = app
            .call(
                Method::DELETE,
                &format!("/api/v1/venues/{}", v[1]),
                Some(&cur.access),
                None,
            )
            .await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{b}");
        assert_eq!(
            list(&ann).await.body,
            json!([]),
            "{b}: removed and deleted venues leave the list"
        );
    }
}

const CSV: &str = "name,kind,street,city,latitude,longitude,capacity,hourly_price,currency,equipment,opening_hours,website,source_ref,parking\n\
Proberaum Nord,rehearsal_room,Hauptstraße 5,Berlin,52.55,13.38,8,12.50,EUR,drum_kit;pa_system,Mo-Fr 10:00-22:00,https://example.org,csv:1,yes\n\
Studio Süd,recording_studio,,Berlin,52.45,13.40,lots,20,EUR,piano;theremin,PH off,javascript:alert(1),csv:2,\n\
No coordinates,rehearsal_room,,Berlin,,,5,,,,,,csv:3,\n\
Wrong kind,castle,,Berlin,52.5,13.4,,,,,,,csv:4,\n\
\"Quoted, \"\"name\"\"\",performance_venue,,Berlin,52.5,13.41,300,,,,,,csv:5,no\n\
Too,few,fields\n";

#[tokio::test]
async fn csv_import_reports_bad_rows_and_keeps_good_ones() {
    for app in common::apps().await {
        let b = app.backend;
        let cur = curator(&app, "curator@example.org").await;
        let import = |dry: bool| {
            send(
                &app,
                Method::POST,
                if dry {
                    "/api/v1/venues/import?dry_run=true"
                } else {
                    "/api/v1/venues/import"
                },
                Some(&cur.access),
                "text/csv; charset=utf-8",
                CSV.as_bytes().to_vec(),
            )
        };
        let dry = import(true).await;
        assert_eq!(dry.status, StatusCode::OK, "{b}: {}", dry.text);
        assert_eq!(
            (dry.body["created"].as_u64(), dry.body["dry_run"].as_bool()),
            (Some(3), Some(true))
        );
        assert_eq!(
            app.get("/api/v1/venues/export").await.body["venues"],
            json!([]),
            "{b}: a dry run writes nothing"
        );

        let r = import(false).await;
        assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.text);
        assert_eq!(
            (
                r.body["received"].as_u64(),
                r.body["created"].as_u64(),
                r.body["updated"].as_u64()
            ),
            (Some(6), Some(3), Some(0)),
            "{b}: {}",
            r.text
        );
        let rejected_lines: Vec<u64> = r.body["rejected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["line"].as_u64().unwrap())
            .collect();
        assert_eq!(rejected_lines, [4, 5, 7], "{b}: {}", r.text);
        let warned_lines: Vec<u64> = r.body["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["line"].as_u64().unwrap())
            .collect();
        assert_eq!(
            warned_lines,
            [3, 3, 3, 3],
            "{b}: capacity, equipment, hours, website: {}",
            r.text
        );

        let exported = app.get("/api/v1/venues/export").await.body["venues"].clone();
        let by_ref = |r: &str| {
            exported
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["source_ref"] == r)
                .cloned()
                .unwrap_or_else(|| panic!("{b}: {r} imported"))
        };
        let nord = by_ref("csv:1");
        assert_eq!(
            nord["tags"],
            json!({"parking": "yes"}),
            "{b}: unknown column kept"
        );
        assert_eq!(nord["equipment"], json!(["drum_kit", "pa_system"]), "{b}");
        assert_eq!(nord["hourly_price"]["amount"], 12.5, "{b}");
        let sud = by_ref("csv:2");
        assert_eq!(
            sud["tags"],
            json!({"capacity": "lots", "equipment": "theremin", "website": "javascript:alert(1)"}),
            "{b}: dropped fields kept as tags"
        );
        assert_eq!(
            sud["opening_hours"],
            json!({"raw": "PH off", "weekly": null}),
            "{b}"
        );
        assert_eq!(by_ref("csv:5")["name"], "Quoted, \"name\"", "{b}");

        let again = import(false).await;
        assert_eq!(
            (
                again.body["created"].as_u64(),
                again.body["updated"].as_u64()
            ),
            (Some(0), Some(3)),
            "{b}: re-import updates by source_ref"
        );
        let count = app.get("/api/v1/venues/export").await.body["venues"]
            .as_array()
            .map(Vec::len);
        assert_eq!(count, Some(3), "{b}: no duplicates");
    }
}

#[tokio::test]
async fn geojson_import_maps_osm_tags_and_keeps_unknown_ones() {
    for app in common::apps().await {
        let b = app.backend;
        let cur = curator(&app, "curator@example.org").await;
        let geojson = json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": "node/100",
             "geometry": {"type": "Point", "coordinates": [13.4326, 52.5002]},
             "properties": {"amenity": "music_venue", "name": "SO36", "addr:street": "Oranienstraße",
                            "addr:housenumber": "190", "addr:city": "Berlin", "capacity": "500",
                            "opening_hours": "Mo-Su 20:00-04:00", "contact:website": "https://so36.com",
                            "contact:instagram": "so36berlin", "wheelchair": "limited",
                            "check_date": "2024-05-01"}},
            {"type": "Feature", "id": "way/200",
             "geometry": {"type": "Polygon", "coordinates": [[[13.0, 52.0], [13.2, 52.0], [13.2, 52.2], [13.0, 52.2], [13.0, 52.0]]]},
             "properties": {"leisure": "music_rehearsal", "name": "Bunker", "fee": "yes"}},
            {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
             "properties": {"amenity": "studio", "name": "Line"}},
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [13.0, 52.0]},
             "properties": {"amenity": "studio"}},
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [13.0, 95.0]},
             "properties": {"amenity": "studio", "name": "Off the map"}},
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [13.0, 52.0]},
             "properties": {"shop": "music", "name": "Not a venue"}}
        ]});
        let r = send(
            &app,
            Method::POST,
            "/api/v1/venues/import",
            Some(&cur.access),
            "application/geo+json",
            serde_json::to_vec(&geojson).unwrap(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.text);
        assert_eq!(r.body["created"], 2, "{b}: {}", r.text);
        let rejected: Vec<u64> = r.body["rejected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["feature"].as_u64().unwrap())
            .collect();
        assert_eq!(rejected, [2, 3, 4, 5], "{b}: {}", r.text);

        let search = app
            .get("/api/v1/venues?lat=52.5&lon=13.43&radius_m=2000&q=oranien")
            .await;
        assert_eq!(search.body["total"], 1, "{b}: {}", search.text);
        let so36 = &search.body["results"][0];
        assert_eq!(so36["kind"], "performance_venue", "{b}");
        assert_eq!(so36["source_ref"], "osm:node/100", "{b}");
        assert_eq!(so36["capacity"], 500, "{b}");
        assert_eq!(so36["website"], "https://so36.com", "{b}");
        assert_eq!(
            so36["tags"],
            json!({"check_date": "2024-05-01", "contact:instagram": "so36berlin", "wheelchair": "limited"}),
            "{b}: unknown tags kept verbatim"
        );
        let open = app
            .get("/api/v1/venues?lat=52.5&lon=13.43&radius_m=2000&open_day=tue&open_time=03:30")
            .await;
        assert_eq!(
            open.body["total"], 1,
            "{b}: Mon 20:00-04:00 is open Tue 03:30"
        );

        let bunker = app
            .get("/api/v1/venues?lat=52.1&lon=13.1&radius_m=100&kind=rehearsal_room")
            .await;
        assert_eq!(
            bunker.body["total"], 1,
            "{b}: polygon placed at its centre: {}",
            bunker.text
        );
        assert_eq!(
            bunker.body["results"][0]["tags"],
            json!({"fee": "yes"}),
            "{b}"
        );
    }
}

#[tokio::test]
async fn import_refuses_unreadable_files_and_non_curators() {
    for app in common::apps().await {
        let b = app.backend;
        let member = app.sign_up("member@example.org").await;
        let cur = curator(&app, "curator@example.org").await;
        let path = "/api/v1/venues/import";
        let r = send(
            &app,
            Method::POST,
            path,
            Some(&member.access),
            "text/csv",
            CSV.into(),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{b}");
        let r = send(&app, Method::POST, path, None, "text/csv", CSV.into()).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{b}");

        // Far above the global 64 KiB body limit, within the import's own 8 MiB.
        let mut big = String::from("name,kind,latitude,longitude,notes\n");
        for i in 0..4000 {
            big += &format!(
                "Room {i},rehearsal_room,10.{i:04},20.5,{}\n",
                "x".repeat(200)
            );
        }
        assert!(big.len() > 512 * 1024);
        let r = send(
            &app,
            Method::POST,
            path,
            Some(&cur.access),
            "text/csv",
            big.into(),
        )
        .await;
        assert_eq!(
            (r.status, r.body["created"].as_u64()),
            (StatusCode::OK, Some(4000)),
            "{b}: {}",
            r.text.chars().take(300).collect::<String>()
        );
        sqlx::query("DELETE FROM venues")
            .execute(&app.state.db.pool)
            .await
            .unwrap();

        let huge = vec![b'a'; 8 * 1024 * 1024 + 1];
        let r = send(
            &app,
            Method::POST,
            path,
            Some(&cur.access),
            "text/csv",
            huge,
        )
        .await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{b}: {}", r.text);

        for (content_type, body) in [
            ("text/plain", CSV.as_bytes().to_vec()),
            ("text/csv", b"title,lat,lon\nx,1,2\n".to_vec()),
            ("application/json", b"{\"venues\": [".to_vec()),
            ("application/json", b"{\"type\": \"Feature\"}".to_vec()),
            ("application/geo+json", b"[]".to_vec()),
        ] {
            let r = send(
                &app,
                Method::POST,
                path,
                Some(&cur.access),
                content_type,
                body,
            )
            .await;
            assert_eq!(
                r.status,
                StatusCode::BAD_REQUEST,
                "{b}: {content_type}: {}",
                r.text
            );
            assert_eq!(r.body["code"], "bad_request", "{b}");
        }
        assert_eq!(
            app.get("/api/v1/venues/export").await.body["venues"],
            json!([]),
            "{b}: nothing written"
        );
    }
}

#[tokio::test]
async fn export_imports_back_as_json() {
    for app in common::apps().await {
        let b = app.backend;
        let cur = curator(&app, "curator@example.org").await;
        let venues = tutti_server::venues::synthetic_venues(5, 3);
        tutti_server::venues::storage::insert_many(&app.state.db, &venues, false)
            .await
            .unwrap();
        let first = app.get("/api/v1/venues/export?limit=3").await;
        assert_eq!(first.status, StatusCode::OK, "{b}: {}", first.text);
        let after = first.body["next_after"].as_str().expect("a second page");
        let second = app
            .get(&format!(
                "/api/v1/venues/export?limit=3&after={}",
                encode(after)
            ))
            .await;
        assert_eq!(second.body["next_after"], Value::Null, "{b}");
        let mut all = first.body["venues"].as_array().unwrap().clone();
        all.extend(second.body["venues"].as_array().unwrap().iter().cloned());
        assert_eq!(all.len(), 5, "{b}");

        for v in &all {
            let path = format!("/api/v1/venues/{}", v["id"].as_str().unwrap());
            app.call(Method::DELETE, &path, Some(&cur.access), None)
                .await;
        }
        let r = send(
            &app,
            Method::POST,
            "/api/v1/venues/import",
            Some(&cur.access),
            "application/json",
            serde_json::to_vec(&json!({"venues": all})).unwrap(),
        )
        .await;
        assert_eq!(
            (r.status, r.body["created"].as_u64()),
            (StatusCode::OK, Some(5)),
            "{b}: {}",
            r.text
        );
        let strip = |list: &[Value]| {
            let mut out: Vec<Value> = list
                .iter()
                .map(|v| {
                    let mut v = v.clone();
                    for key in ["id", "created_at", "updated_at"] {
                        v.as_object_mut().unwrap().remove(key);
                    }
                    v
                })
                .collect();
            out.sort_by_key(|v| v["name"].as_str().unwrap().to_owned());
            out
        };
        let back = app.get("/api/v1/venues/export").await.body["venues"].clone();
        assert_eq!(
            strip(back.as_array().unwrap()),
            strip(&all),
            "{b}: same data back"
        );
    }
}

/// Names of the venues near (48, 11) whose name or address contains `q`, sorted.
async fn search_names(app: &common::TestApp, q: &str) -> Vec<String> {
    let path = format!(
        "/api/v1/venues?lat=48&lon=11&radius_m=5000&limit=100&q={}",
        encode(q)
    );
    let r = app.get(&path).await;
    assert_eq!(r.status, StatusCode::OK, "{}: {}", app.backend, r.text);
    let mut names: Vec<String> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn injection_strings_are_plain_data() {
    const NASTY: [&str; 5] = [
        "Robert'); DROP TABLE venues;--",
        "' OR '1'='1",
        "100% _Studio_",
        "x\" ; DELETE FROM users; --",
        "back\\slash !escape",
    ];
    for app in common::apps().await {
        let b = app.backend;
        let cur = curator(&app, "curator@example.org").await;
        for (i, name) in NASTY.iter().enumerate() {
            let mut body = venue(name, 48.0, 11.0 + 0.001 * i as f64);
            body["address"] = json!({"street": format!("{name} street")});
            let id = create(&app, &cur, body).await;
            let read = app.get(&format!("/api/v1/venues/{id}")).await;
            assert_eq!(read.body["name"], *name, "{b}: stored verbatim");
        }
        create(&app, &cur, venue("Plain Studio", 48.0, 11.01)).await;
        for name in NASTY {
            assert_eq!(
                search_names(&app, name).await,
                [name.to_owned()],
                "{b}: {name:?} matches itself only"
            );
        }
        assert_eq!(
            search_names(&app, "%").await,
            ["100% _Studio_"],
            "{b}: % is literal"
        );
        assert_eq!(
            search_names(&app, "_").await,
            ["100% _Studio_"],
            "{b}: _ is literal"
        );
        assert_eq!(
            search_names(&app, "!").await,
            ["back\\slash !escape"],
            "{b}: the escape char is literal"
        );
        assert_eq!(
            search_names(&app, "studio").await.len(),
            2,
            "{b}: case-insensitive"
        );
        assert_eq!(
            app.get("/api/v1/venues/export").await.body["venues"]
                .as_array()
                .map(Vec::len),
            Some(NASTY.len() + 1),
            "{b}: the table is intact"
        );
        assert_eq!(
            app.sign_up("still@example.org").await.email,
            "still@example.org"
        );
    }
}

#[tokio::test]
async fn demo_venues_load_once_and_are_labelled() {
    for app in common::apps_with(|c| c.demo_data = true).await {
        let b = app.backend;
        let count = tutti_server::venues::storage::count(&app.state.db)
            .await
            .unwrap();
        assert_eq!(count, tutti_server::venues::demo::DEMO_VENUES as i64, "{b}");
        let page = app.get("/api/v1/venues/export?limit=1000").await.body["venues"].clone();
        for v in page.as_array().unwrap() {
            assert_eq!(v["demo"], true, "{b}");
            assert!(
                v["name"].as_str().unwrap().ends_with("(demo)"),
                "{b}: {}",
                v["name"]
            );
            assert_eq!(v["tags"]["synthetic"], "yes", "{b}");
        }
        let berlin = app
            .get("/api/v1/venues?lat=52.52&lon=13.405&radius_m=30000")
            .await;
        assert!(
            berlin.body["total"].as_u64().unwrap() > 10,
            "{b}: {}",
            berlin.text
        );

        // A restart on the same database does not load them again, even after they were deleted.
        sqlx::query("DELETE FROM venues")
            .execute(&app.state.db.pool)
            .await
            .unwrap();
        let mut config = Config::with_database(&app.database_url);
        config.db_max_connections = 2;
        let restarted = AppState::new(config).await.expect("restart");
        let count = tutti_server::venues::storage::count(&restarted.db)
            .await
            .unwrap();
        assert_eq!(count, 0, "{b}: demo venues are loaded once");
    }
}
