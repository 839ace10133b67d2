//! Seeded synthetic venues: the demo data, the search tests and the `server-load` bench
//! (100,000 venues) draw from this. The same `(n, seed)` gives the same venues on every machine
//! (ChaCha8). Every venue is tagged `synthetic=yes` and named as such: none is a real place.

use std::collections::BTreeMap;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::geo::{EARTH_RADIUS_M, Point};
use super::hours::parse_osm;
use super::model::{Address, Contact, Equipment, HourlyPrice, OpeningHours, VenueData, VenueKind};

/// A city synthetic venues cluster around.
#[derive(Debug, Clone, Copy)]
pub struct City {
    /// Name.
    pub name: &'static str,
    /// Country code.
    pub country: &'static str,
    /// Centre.
    pub center: Point,
    /// Local currency.
    pub currency: &'static str,
    /// IANA time zone.
    pub time_zone: &'static str,
}

const fn city(
    name: &'static str,
    country: &'static str,
    latitude: f64,
    longitude: f64,
    currency: &'static str,
    time_zone: &'static str,
) -> City {
    City {
        name,
        country,
        center: Point {
            latitude,
            longitude,
        },
        currency,
        time_zone,
    }
}

/// The cities synthetic venues are spread over (one close to the antimeridian).
pub const CITIES: [City; 8] = [
    city("Berlin", "DE", 52.52, 13.405, "EUR", "Europe/Berlin"),
    city("Hamburg", "DE", 53.551, 9.993, "EUR", "Europe/Berlin"),
    city("London", "GB", 51.507, -0.128, "GBP", "Europe/London"),
    city("Paris", "FR", 48.857, 2.352, "EUR", "Europe/Paris"),
    city("New York", "US", 40.713, -74.006, "USD", "America/New_York"),
    city(
        "São Paulo",
        "BR",
        -23.551,
        -46.633,
        "BRL",
        "America/Sao_Paulo",
    ),
    city("Tokyo", "JP", 35.676, 139.65, "JPY", "Asia/Tokyo"),
    city("Suva", "FJ", -18.124, 178.45, "FJD", "Pacific/Fiji"),
];

/// How far from the centre venues fall, in metres (uniform over the disc).
pub const SPREAD_M: f64 = 25_000.0;

const HOURS: [&str; 6] = [
    "Mo-Fr 10:00-22:00; Sa 12:00-02:00",
    "24/7",
    "Mo-Su 09:00-23:00",
    "Tu-Sa 18:00-03:00",
    "Mo-Fr 08:00-12:00,13:00-18:00",
    "We-Su 20:00-02:00; Mo off",
];

const STREETS: [&str; 6] = [
    "Hauptstraße",
    "Station Road",
    "Rue du Moulin",
    "Main Street",
    "Rua das Flores",
    "Sakura-dori",
];

/// A point `distance_m` from `center` on `bearing` (radians), longitude wrapped to ±180°.
fn destination(center: Point, distance_m: f64, bearing: f64) -> Point {
    let a = distance_m / EARTH_RADIUS_M;
    let (phi, lambda) = (center.latitude.to_radians(), center.longitude.to_radians());
    let phi2 = (phi.sin() * a.cos() + phi.cos() * a.sin() * bearing.cos()).asin();
    let lambda2 =
        lambda + (bearing.sin() * a.sin() * phi.cos()).atan2(a.cos() - phi.sin() * phi2.sin());
    let mut longitude = lambda2.to_degrees();
    if longitude > 180.0 {
        longitude -= 360.0;
    } else if longitude < -180.0 {
        longitude += 360.0;
    }
    Point {
        latitude: phi2.to_degrees(),
        longitude,
    }
}

/// One synthetic venue near `city`.
fn venue(rng: &mut ChaCha8Rng, index: usize, city: &City) -> VenueData {
    let kind = VenueKind::ALL[rng.random_range(0..VenueKind::ALL.len())];
    let label = match kind {
        VenueKind::RehearsalRoom => "Rehearsal Room",
        VenueKind::RecordingStudio => "Studio",
        VenueKind::PerformanceVenue => "Stage",
    };
    let distance = SPREAD_M * rng.random::<f64>().sqrt();
    let coordinates = destination(
        city.center,
        distance,
        rng.random_range(0.0..std::f64::consts::TAU),
    );
    let capacity = match kind {
        VenueKind::RehearsalRoom => rng.random_range(3..=15),
        VenueKind::RecordingStudio => rng.random_range(2..=30),
        VenueKind::PerformanceVenue => rng.random_range(40..=2000),
    };
    let equipment = Equipment::ALL
        .into_iter()
        .filter(|_| rng.random_bool(0.45))
        .collect();
    let hours = HOURS[rng.random_range(0..HOURS.len())];
    let mut tags = BTreeMap::new();
    tags.insert("synthetic".to_owned(), "yes".to_owned());
    VenueData {
        name: format!("Synthetic {label} {} #{index}", city.name),
        kind,
        address: Address {
            street: Some(STREETS[rng.random_range(0..STREETS.len())].to_owned()),
            house_number: Some(rng.random_range(1..300).to_string()),
            postcode: Some(format!("{:05}", rng.random_range(1000..99999))),
            city: Some(city.name.to_owned()),
            country: Some(city.country.to_owned()),
        },
        coordinates,
        time_zone: Some(city.time_zone.to_owned()),
        capacity: rng.random_bool(0.9).then_some(capacity),
        hourly_price: rng.random_bool(0.85).then(|| HourlyPrice {
            amount: f64::from(rng.random_range(500..8000_u32)) / 100.0,
            currency: city.currency.to_owned(),
        }),
        equipment,
        opening_hours: rng.random_bool(0.9).then(|| OpeningHours {
            raw: Some(hours.to_owned()),
            weekly: parse_osm(hours).ok(),
        }),
        contact: Contact {
            phone: Some(format!("+00 {:07}", rng.random_range(0..10_000_000))),
            email: None,
        },
        website: Some(format!("https://example.org/venues/{index}")),
        photos: Vec::new(),
        tags,
        source_ref: None,
    }
}

/// `n` synthetic venues spread over [`CITIES`] (round robin), reproducible from `seed`.
pub fn synthetic_venues(n: usize, seed: u64) -> Vec<VenueData> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|i| venue(&mut rng, i, &CITIES[i % CITIES.len()]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::venues::geo::haversine_m;

    #[test]
    fn deterministic_valid_and_near_their_city() {
        let a = synthetic_venues(200, 7);
        assert_eq!(a, synthetic_venues(200, 7));
        assert_ne!(a, synthetic_venues(200, 8));
        for (i, v) in a.into_iter().enumerate() {
            let city = CITIES[i % CITIES.len()];
            assert!(haversine_m(v.coordinates, city.center) <= SPREAD_M + 1.0);
            let v = v.validated().expect("synthetic venues are valid");
            assert!(v.name.starts_with("Synthetic "));
        }
    }
}
