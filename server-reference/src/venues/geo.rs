//! Points on the sphere, exact great-circle distance, and the grid that makes search indexed.
//!
//! The grid cuts the globe into 0.1° latitude bands (~11 km): a search lists the bands its
//! bounding box touches and, inside each, the longitude range, so it looks only at venues near the
//! area ([`super::index`] keeps each band sorted by longitude). The bounding box of a radius is
//! exact for a sphere (Matuschek's method), so this prefilter never drops a point that the
//! haversine distance would keep.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Mean Earth radius (IUGG), in metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;
/// Height of one latitude band of the grid index, in degrees.
pub const BAND_DEG: f64 = 0.1;
/// Number of latitude bands (band `0` starts at -90°).
pub const BANDS: i64 = 1800;

/// A position in WGS 84 degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Point {
    /// Degrees north, -90 to 90.
    pub latitude: f64,
    /// Degrees east, -180 to 180.
    pub longitude: f64,
}

impl Point {
    /// Whether both coordinates are finite and in range.
    pub fn is_valid(self) -> bool {
        self.latitude.is_finite()
            && self.longitude.is_finite()
            && (-90.0..=90.0).contains(&self.latitude)
            && (-180.0..=180.0).contains(&self.longitude)
    }
}

/// Great-circle distance in metres (haversine on a sphere of [`EARTH_RADIUS_M`]).
pub fn haversine_m(a: Point, b: Point) -> f64 {
    let (phi1, phi2) = (a.latitude.to_radians(), b.latitude.to_radians());
    let dphi = phi2 - phi1;
    let dlambda = (b.longitude - a.longitude).to_radians();
    let h = (dphi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (dlambda / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// The grid band of a latitude (also stored in the `lat_band` column).
pub fn lat_band(latitude: f64) -> i64 {
    // Truncation is the point: a band is an integer cell; 90° falls into the last band.
    #[allow(clippy::cast_possible_truncation)]
    let band = ((latitude + 90.0) / BAND_DEG).floor() as i64;
    band.clamp(0, BANDS - 1)
}

/// A latitude/longitude box. `min_lon > max_lon` means it crosses the antimeridian.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    /// Southern edge.
    pub min_lat: f64,
    /// Northern edge.
    pub max_lat: f64,
    /// Western edge.
    pub min_lon: f64,
    /// Eastern edge (less than `min_lon` when the box crosses 180°).
    pub max_lon: f64,
}

impl BBox {
    /// The smallest box holding every point within `radius_m` of `center` (a little larger, so
    /// rounding never excludes a point on the circle).
    pub fn around(center: Point, radius_m: f64) -> Self {
        const MARGIN: f64 = 1e-9;
        let angular = radius_m / EARTH_RADIUS_M;
        let dlat = angular.to_degrees() + MARGIN;
        let min_lat = (center.latitude - dlat).max(-90.0);
        let max_lat = (center.latitude + dlat).min(90.0);
        let whole = Self {
            min_lat,
            max_lat,
            min_lon: -180.0,
            max_lon: 180.0,
        };
        if min_lat <= -90.0 || max_lat >= 90.0 {
            return whole; // the circle holds a pole: every longitude
        }
        let ratio = angular.sin() / center.latitude.to_radians().cos();
        if !ratio.is_finite() || ratio >= 1.0 {
            return whole;
        }
        let dlon = ratio.asin().to_degrees() + MARGIN;
        let wrap = |lon: f64| {
            if lon < -180.0 {
                lon + 360.0
            } else if lon > 180.0 {
                lon - 360.0
            } else {
                lon
            }
        };
        Self {
            min_lat,
            max_lat,
            min_lon: wrap(center.longitude - dlon),
            max_lon: wrap(center.longitude + dlon),
        }
    }

    /// The box's centre (on the short way across the antimeridian).
    pub fn center(&self) -> Point {
        let width = self.lon_width();
        let mut longitude = self.min_lon + width / 2.0;
        if longitude > 180.0 {
            longitude -= 360.0;
        }
        Point {
            latitude: (self.min_lat + self.max_lat) / 2.0,
            longitude,
        }
    }

    /// Width in degrees of longitude, accounting for a crossing of the antimeridian.
    pub fn lon_width(&self) -> f64 {
        if self.min_lon <= self.max_lon {
            self.max_lon - self.min_lon
        } else {
            360.0 - self.min_lon + self.max_lon
        }
    }

    /// The grid bands the box touches.
    pub fn bands(&self) -> std::ops::RangeInclusive<i64> {
        lat_band(self.min_lat)..=lat_band(self.max_lat)
    }

    /// One longitude interval, or two when the box crosses the antimeridian.
    pub fn lon_ranges(&self) -> Vec<(f64, f64)> {
        if self.min_lon <= self.max_lon {
            vec![(self.min_lon, self.max_lon)]
        } else {
            vec![(self.min_lon, 180.0), (-180.0, self.max_lon)]
        }
    }

    /// Whether `p` lies inside the box (edges included).
    pub fn contains(&self, p: Point) -> bool {
        (self.min_lat..=self.max_lat).contains(&p.latitude)
            && self
                .lon_ranges()
                .iter()
                .any(|&(lo, hi)| (lo..=hi).contains(&p.longitude))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BERLIN: Point = Point {
        latitude: 52.52,
        longitude: 13.405,
    };

    #[test]
    fn known_distance() {
        let paris = Point {
            latitude: 48.8566,
            longitude: 2.3522,
        };
        let d = haversine_m(BERLIN, paris);
        assert!((d - 877_500.0).abs() < 2_000.0, "{d}");
        assert!(haversine_m(BERLIN, BERLIN).abs() < 1e-9);
    }

    #[test]
    fn radius_box_holds_the_whole_circle() {
        for (center, radius) in [
            (BERLIN, 10_000.0),
            (
                Point {
                    latitude: -16.5,
                    longitude: 179.9,
                },
                50_000.0,
            ),
            (
                Point {
                    latitude: 89.95,
                    longitude: 0.0,
                },
                20_000.0,
            ),
        ] {
            let bbox = BBox::around(center, radius);
            // Points on the circle in 360 directions lie inside the box.
            for step in 0..360 {
                let bearing = f64::from(step).to_radians();
                let a = radius / EARTH_RADIUS_M;
                let (phi, lambda) = (center.latitude.to_radians(), center.longitude.to_radians());
                let phi2 = (phi.sin() * a.cos() + phi.cos() * a.sin() * bearing.cos()).asin();
                let lambda2 = lambda
                    + (bearing.sin() * a.sin() * phi.cos()).atan2(a.cos() - phi.sin() * phi2.sin());
                let mut lon = lambda2.to_degrees();
                if lon > 180.0 {
                    lon -= 360.0;
                } else if lon < -180.0 {
                    lon += 360.0;
                }
                let p = Point {
                    latitude: phi2.to_degrees(),
                    longitude: lon,
                };
                assert!(bbox.contains(p), "{p:?} outside {bbox:?}");
            }
        }
    }

    #[test]
    fn antimeridian_box_splits_in_two() {
        let bbox = BBox::around(
            Point {
                latitude: 0.0,
                longitude: 179.99,
            },
            10_000.0,
        );
        assert!(bbox.min_lon > bbox.max_lon);
        assert_eq!(bbox.lon_ranges().len(), 2);
        assert!((bbox.center().longitude - 179.99).abs() < 1e-6);
    }

    #[test]
    fn bands_cover_the_globe() {
        assert_eq!(lat_band(-90.0), 0);
        assert_eq!(lat_band(90.0), BANDS - 1);
        assert_eq!(lat_band(0.05), 900);
        assert_eq!(lat_band(-0.05), 899);
    }
}
