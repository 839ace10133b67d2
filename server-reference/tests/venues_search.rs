//! Venue search on SQLite and PostgreSQL against a brute-force computation over a seeded random
//! set: radius and box (also across the antimeridian), each filter alone and combined,
//! pagination without duplicates or gaps, distance order; the grid looks only near the area; and
//! the in-memory index follows writes from anywhere (a second server, SQL by hand, late commits).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod venues_support;

use axum::http::StatusCode;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tutti_server::venues::generate::CITIES;
use tutti_server::venues::search::SearchQuery;
use tutti_server::venues::{VenueData, storage, synthetic_venues};
use venues_support::encode;

const EARTH_RADIUS_M: f64 = 6_371_008.8;
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Written independently of the server's `geo` module, same formula.
fn haversine(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let h = ((p2 - p1) / 2.0).sin().powi(2)
        + p1.cos() * p2.cos() * ((lon2 - lon1).to_radians() / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

fn hhmm(t: &str) -> u32 {
    let (h, m) = t.split_once(':').unwrap();
    h.parse::<u32>().unwrap() * 60 + m.parse::<u32>().unwrap()
}

/// Whether the weekly spans are open at minute `t` of the week (0 = Monday 00:00).
fn open_at(v: &VenueData, t: u32) -> bool {
    let Some(spans) = v.opening_hours.as_ref().and_then(|h| h.weekly.as_ref()) else {
        return false;
    };
    spans.iter().any(|s| {
        let day = DAYS
            .iter()
            .position(|d| serde_json::to_value(s.day).unwrap() == *d)
            .unwrap() as u32;
        let (open, mut close) = (hhmm(&s.open), hhmm(&s.close));
        if close <= open {
            close += 1440;
        }
        let (start, end) = (day * 1440 + open, day * 1440 + close);
        (start..end).contains(&t) || (start..end).contains(&(t + 7 * 1440))
    })
}

/// `(latitude, longitude)`.
type LatLon = (f64, f64);
/// Box edges `(min_lat, min_lon, max_lat, max_lon)`.
type Edges = (f64, f64, f64, f64);

#[derive(Debug, Clone, Default)]
struct Query {
    /// Radius search: (lat, lon, radius_m).
    radius: Option<(f64, f64, f64)>,
    /// Box search: (min_lat, min_lon, max_lat, max_lon) and the distance origin.
    bbox: Option<(Edges, LatLon)>,
    kind: Option<&'static str>,
    min_capacity: Option<u32>,
    max_price: Option<(f64, &'static str)>,
    equipment: Vec<&'static str>,
    open: Option<(usize, u32)>,
    text: Option<String>,
}

impl Query {
    fn origin(&self) -> (f64, f64) {
        match (self.radius, self.bbox) {
            (Some((lat, lon, _)), _) => (lat, lon),
            (_, Some((_, origin))) => origin,
            _ => unreachable!(),
        }
    }

    fn path(&self, limit: usize, offset: usize) -> String {
        let mut p = String::from("/api/v1/venues?");
        if let Some((lat, lon, r)) = self.radius {
            p += &format!("lat={lat}&lon={lon}&radius_m={r}");
        }
        if let Some(((a, b, c, d), (lat, lon))) = self.bbox {
            p += &format!("min_lat={a}&min_lon={b}&max_lat={c}&max_lon={d}&lat={lat}&lon={lon}");
        }
        if let Some(k) = self.kind {
            p += &format!("&kind={k}");
        }
        if let Some(c) = self.min_capacity {
            p += &format!("&min_capacity={c}");
        }
        if let Some((price, currency)) = self.max_price {
            p += &format!("&max_price={price}&currency={currency}");
        }
        if !self.equipment.is_empty() {
            p += &format!("&equipment={}", self.equipment.join(","));
        }
        if let Some((day, minute)) = self.open {
            p += &format!(
                "&open_day={}&open_time={:02}:{:02}",
                DAYS[day],
                minute / 60,
                minute % 60
            );
        }
        if let Some(t) = &self.text {
            p += &format!("&q={}", encode(t));
        }
        p + &format!("&limit={limit}&offset={offset}")
    }

    fn matches(&self, v: &VenueData) -> bool {
        let (lat, lon) = (v.coordinates.latitude, v.coordinates.longitude);
        let in_area = match (self.radius, self.bbox) {
            (Some((clat, clon, r)), _) => haversine(clat, clon, lat, lon) <= r,
            (_, Some(((a, b, c, d), _))) => {
                (a..=c).contains(&lat)
                    && if b <= d {
                        (b..=d).contains(&lon)
                    } else {
                        lon >= b || lon <= d
                    }
            }
            _ => unreachable!(),
        };
        let kind = self
            .kind
            .is_none_or(|k| serde_json::to_value(v.kind).unwrap() == k);
        let capacity = self
            .min_capacity
            .is_none_or(|c| v.capacity.is_some_and(|vc| vc >= c));
        let price = self.max_price.is_none_or(|(max, currency)| {
            v.hourly_price.as_ref().is_some_and(|p| {
                p.currency == currency && (p.amount * 100.0).round() <= (max * 100.0).round()
            })
        });
        let equipment = self.equipment.iter().all(|e| {
            v.equipment
                .iter()
                .any(|have| serde_json::to_value(have).unwrap() == *e)
        });
        let open = self
            .open
            .is_none_or(|(day, minute)| open_at(v, day as u32 * 1440 + minute));
        let text = self.text.as_ref().is_none_or(|t| {
            let hay = std::iter::once(v.name.as_str())
                .chain(
                    [
                        &v.address.street,
                        &v.address.house_number,
                        &v.address.postcode,
                        &v.address.city,
                        &v.address.country,
                    ]
                    .into_iter()
                    .filter_map(|p| p.as_deref()),
                )
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase();
            hay.contains(&t.to_lowercase())
        });
        in_area && kind && capacity && price && equipment && open && text
    }
}

const EQUIPMENT: [&str; 10] = [
    "drum_kit",
    "pa_system",
    "guitar_amp",
    "bass_amp",
    "keyboard",
    "piano",
    "microphones",
    "mixing_desk",
    "recording_gear",
    "stage_lighting",
];
const KINDS: [&str; 3] = ["rehearsal_room", "recording_studio", "performance_venue"];

/// A random query; `filters` is a bit set choosing which filters to add.
fn random_query(rng: &mut ChaCha8Rng, venues: &[VenueData], filters: u32) -> Query {
    let city = CITIES[rng.random_range(0..CITIES.len())];
    // Suva's cluster is shifted onto the antimeridian in this test's data set.
    let (clat, clon) = if city.name == "Suva" {
        (city.center.latitude, 179.95)
    } else {
        (city.center.latitude, city.center.longitude)
    };
    let (lat, lon) = (
        clat + rng.random_range(-0.15..0.15),
        wrap(clon + rng.random_range(-0.2..0.2)),
    );
    let mut q = Query::default();
    if rng.random_bool(0.5) {
        q.radius = Some((lat, lon, rng.random_range(500.0..30_000.0)));
    } else {
        let (h, w) = (rng.random_range(0.02..0.4), rng.random_range(0.02..0.6));
        let origin = (
            clat + rng.random_range(-0.2..0.2),
            wrap(clon + rng.random_range(-0.2..0.2)),
        );
        q.bbox = Some(((lat - h, wrap(lon - w), lat + h, wrap(lon + w)), origin));
    }
    if filters & 1 != 0 {
        q.kind = Some(KINDS[rng.random_range(0..KINDS.len())]);
    }
    if filters & 2 != 0 {
        q.min_capacity = Some(rng.random_range(1..60));
    }
    if filters & 4 != 0 {
        q.max_price = Some((
            f64::from(rng.random_range(500..8000_u32)) / 100.0,
            city.currency,
        ));
    }
    if filters & 8 != 0 {
        let n = rng.random_range(1..=2);
        q.equipment = (0..n)
            .map(|_| EQUIPMENT[rng.random_range(0..EQUIPMENT.len())])
            .collect();
    }
    if filters & 16 != 0 {
        q.open = Some((rng.random_range(0..7), rng.random_range(0..1440)));
    }
    if filters & 32 != 0 {
        // A piece of a real name or address, in a random case.
        let v = &venues[rng.random_range(0..venues.len())];
        let source = if rng.random_bool(0.5) {
            v.name.clone()
        } else {
            v.address.street.clone().unwrap_or_default()
        };
        let chars: Vec<char> = source.chars().collect();
        let start = rng.random_range(0..chars.len().saturating_sub(4).max(1));
        let piece: String = chars[start..(start + 4).min(chars.len())].iter().collect();
        // The server trims the query text.
        let piece = match piece.trim() {
            "" => "a".to_owned(),
            t => t.to_owned(),
        };
        q.text = Some(if rng.random_bool(0.5) {
            piece.to_uppercase()
        } else {
            piece
        });
    }
    q
}

fn wrap(lon: f64) -> f64 {
    if lon > 180.0 {
        lon - 360.0
    } else if lon < -180.0 {
        lon + 360.0
    } else {
        lon
    }
}

/// The seeded test set: synthetic venues, with Suva's cluster moved onto the antimeridian.
fn data_set() -> Vec<VenueData> {
    let mut venues = synthetic_venues(1600, 42);
    for v in &mut venues {
        if v.address.city.as_deref() == Some("Suva") {
            v.coordinates.longitude = wrap(v.coordinates.longitude + 1.5);
        }
    }
    venues
}

#[tokio::test]
async fn search_matches_brute_force() {
    let venues = data_set();
    for app in common::apps().await {
        let b = app.backend;
        let ids = storage::insert_many(&app.state.db, &venues, false)
            .await
            .unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut nonempty = 0;
        // Every filter alone (1 << i), none, and random combinations.
        let plans: Vec<u32> = (0..6)
            .map(|i| 1 << i)
            .chain([0, 0, 63])
            .chain((0..40).map(|i| (i * 37 + 5) % 64))
            .collect();
        for (n, filters) in plans.into_iter().enumerate() {
            let q = random_query(&mut rng, &venues, filters);
            let (olat, olon) = q.origin();
            let mut expected: Vec<(f64, &str)> = venues
                .iter()
                .zip(&ids)
                .filter(|(v, _)| q.matches(v))
                .map(|(v, id)| {
                    let d = haversine(olat, olon, v.coordinates.latitude, v.coordinates.longitude);
                    (d, id.as_str())
                })
                .collect();
            expected.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(b.1)));
            nonempty += usize::from(!expected.is_empty());

            let limit = rng.random_range(3..=25);
            let (mut got, mut offset) = (Vec::new(), 0);
            loop {
                let r = app.get(&q.path(limit, offset)).await;
                assert_eq!(r.status, StatusCode::OK, "{b} #{n}: {}", r.text);
                assert_eq!(
                    r.body["total"].as_u64(),
                    Some(expected.len() as u64),
                    "{b} #{n}: {q:?}"
                );
                let page = r.body["results"].as_array().unwrap();
                assert!(page.len() <= limit, "{b}");
                got.extend(page.iter().map(|v| {
                    (
                        v["distance_m"].as_f64().unwrap(),
                        v["id"].as_str().unwrap().to_owned(),
                    )
                }));
                match r.body["next_offset"].as_u64() {
                    Some(next) => {
                        assert_eq!(next as usize, offset + page.len(), "{b}: no gap");
                        offset = next as usize;
                    }
                    None => break,
                }
            }
            let got_ids: Vec<&str> = got.iter().map(|(_, id)| id.as_str()).collect();
            let want_ids: Vec<&str> = expected.iter().map(|(_, id)| *id).collect();
            assert_eq!(
                got_ids, want_ids,
                "{b} #{n}: pages concatenate to the brute-force list: {q:?}"
            );
            for ((gd, _), (wd, _)) in got.iter().zip(&expected) {
                assert!((gd - wd).abs() < 1e-6, "{b}: distance {gd} vs {wd}");
            }
            assert!(
                got.windows(2).all(|w| w[0].0 <= w[1].0),
                "{b}: nearest first"
            );
        }
        assert!(
            nonempty >= 30,
            "{b}: the queries exercise real results ({nonempty})"
        );
    }
}

#[tokio::test]
async fn antimeridian_and_defaults() {
    let venues = data_set();
    for app in common::apps().await {
        let b = app.backend;
        storage::insert_many(&app.state.db, &venues, false)
            .await
            .unwrap();
        let east = venues
            .iter()
            .filter(|v| v.coordinates.longitude > 0.0 && v.address.city.as_deref() == Some("Suva"))
            .count();
        let west = venues
            .iter()
            .filter(|v| v.coordinates.longitude < 0.0 && v.address.city.as_deref() == Some("Suva"))
            .count();
        assert!(east > 0 && west > 0, "the test set straddles 180°");
        let r = app
            .get("/api/v1/venues?min_lat=-19&min_lon=179&max_lat=-17&max_lon=-179&limit=100")
            .await;
        assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.text);
        assert_eq!(r.body["total"].as_u64(), Some((east + west) as u64), "{b}");
        let lons: Vec<f64> = r.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["coordinates"]["longitude"].as_f64().unwrap())
            .collect();
        assert!(
            lons.iter().any(|l| *l > 0.0) && lons.iter().any(|l| *l < 0.0),
            "{b}"
        );
        let default_page = app
            .get("/api/v1/venues?lat=52.52&lon=13.405&radius_m=30000")
            .await;
        assert_eq!(
            default_page.body["results"].as_array().map(Vec::len),
            Some(20),
            "{b}"
        );
    }
}

#[tokio::test]
async fn bad_search_queries_are_400() {
    for app in common::apps().await {
        let b = app.backend;
        for query in [
            "",
            "lat=52&lon=13",
            "lat=52&lon=13&radius_m=500000",
            "lat=95&lon=13&radius_m=100",
            "lat=52&lon=13&radius_m=100&min_lat=1&min_lon=1&max_lat=2&max_lon=2",
            "min_lat=10&min_lon=0&max_lat=20&max_lon=1",
            "min_lat=2&min_lon=0&max_lat=1&max_lon=1",
            "lat=52&lon=13&radius_m=100&kind=castle",
            "lat=52&lon=13&radius_m=100&equipment=theremin",
            "lat=52&lon=13&radius_m=100&max_price=10",
            "lat=52&lon=13&radius_m=100&open_day=fri",
            "lat=52&lon=13&radius_m=100&open_day=fri&open_time=25:00",
            "lat=52&lon=13&radius_m=100&limit=101",
            "lat=52&lon=13&radius_m=100&radius=5",
            "lat=52&lon=13&radius_m=NaN",
        ] {
            let r = app.get(&format!("/api/v1/venues?{query}")).await;
            assert_eq!(
                r.status,
                StatusCode::BAD_REQUEST,
                "{b}: {query:?}: {}",
                r.text
            );
            assert_eq!(r.body["code"], "bad_request", "{b}");
        }
    }
}

#[tokio::test]
async fn search_examines_only_venues_near_the_area() {
    for app in common::apps().await {
        let b = app.backend;
        let n = 4000;
        storage::insert_many(&app.state.db, &synthetic_venues(n, 5), false)
            .await
            .unwrap();
        let plan = SearchQuery {
            lat: Some(52.52),
            lon: Some(13.405),
            radius_m: Some(3000.0),
            kind: Some("rehearsal_room".into()),
            ..SearchQuery::default()
        }
        .plan()
        .unwrap();
        app.state.venues.sync(&app.state.db).await.unwrap();
        assert_eq!(app.state.venues.len(), n, "{b}: every venue indexed");
        let hits = app.state.venues.search(&plan).unwrap();
        assert!(hits.total > 0, "{b}: Berlin has rehearsal rooms");
        assert!(
            hits.examined < n / 8,
            "{b}: the grid looks at {} of {n} venues",
            hits.examined
        );
        assert!(hits.total <= hits.examined, "{b}");
    }
}

/// Names of the venues a search around `(lat, lon)` returns through `app`.
async fn names_near(app: &common::TestApp, lat: f64, lon: f64, q: &str) -> Vec<String> {
    let r = app
        .get(&format!(
            "/api/v1/venues?lat={lat}&lon={lon}&radius_m=2000&q={}&limit=100",
            encode(q)
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_second_server_on_the_same_database_sees_every_write() {
    for first in common::apps().await {
        let b = first.backend;
        // A second instance on the same database, with its own index.
        let mut config = tutti_server::config::Config::with_database(&first.database_url);
        config.demo_data = false;
        let second = common::TestApp::wrap(
            b,
            &first.database_url,
            tutti_server::AppState::new(config).await.unwrap(),
        );
        let mut venue = synthetic_venues(1, 77).remove(0);
        venue.name = "Zebra Rehearsal Loft".into();
        venue.coordinates.latitude = 48.2082;
        venue.coordinates.longitude = 16.3738;
        let id = storage::insert_many(&first.state.db, &[venue], false)
            .await
            .unwrap()
            .remove(0);
        assert_eq!(
            names_near(&second, 48.2082, 16.3738, "zebra").await,
            vec!["Zebra Rehearsal Loft"],
            "{b}: an insert through the other instance"
        );
        // A change by hand (an operator with a SQL shell): renamed and moved to Graz.
        sqlx::query(
            "UPDATE venues SET name = $1, search_text = $2, latitude = $3, longitude = $4 \
             WHERE id = $5",
        )
        .bind("Quagga Loft")
        .bind("quagga loft")
        .bind(47.0707)
        .bind(15.4395)
        .bind(&id)
        .execute(&first.state.db.pool)
        .await
        .unwrap();
        assert!(
            names_near(&second, 48.2082, 16.3738, "loft")
                .await
                .is_empty(),
            "{b}: moved away"
        );
        assert_eq!(
            names_near(&second, 47.0707, 15.4395, "quagga").await,
            vec!["Quagga Loft"],
            "{b}: renamed and moved"
        );
        assert!(storage::delete(&first.state.db, &id).await.unwrap());
        assert!(
            names_near(&second, 47.0707, 15.4395, "quagga")
                .await
                .is_empty(),
            "{b}: deleted"
        );
    }
}

/// PostgreSQL numbers log entries when they are written, not when they commit: an entry that
/// commits after a later-numbered one must still reach the index.
#[tokio::test]
async fn a_write_committed_out_of_order_is_not_missed() {
    for app in common::apps().await {
        if app.backend != "postgres" {
            continue; // SQLite has one writer at a time: numbers follow commits
        }
        let mut venues = synthetic_venues(2, 78);
        for (v, name) in venues
            .iter_mut()
            .zip(["Early Bird Studio", "Late Owl Studio"])
        {
            v.name = name.into();
            v.coordinates.latitude = 41.3874;
            v.coordinates.longitude = 2.1686;
        }
        // Numbered first, committed last.
        let mut slow = app.state.db.pool.begin().await.unwrap();
        storage::insert(&mut slow, "slow-venue", &venues[0], false, 1)
            .await
            .unwrap();
        storage::insert_many(&app.state.db, &venues[1..], false)
            .await
            .unwrap();
        assert_eq!(
            names_near(&app, 41.3874, 2.1686, "studio").await,
            vec!["Late Owl Studio"]
        );
        slow.commit().await.unwrap();
        let mut names = names_near(&app, 41.3874, 2.1686, "studio").await;
        names.sort();
        assert_eq!(names, vec!["Early Bird Studio", "Late Owl Studio"]);
    }
}
