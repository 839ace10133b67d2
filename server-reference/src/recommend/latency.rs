//! Estimated one-way network latency between two members, with its uncertainty.
//!
//! Measured beats modelled: a round-trip time measured between the two members in an earlier
//! session is the best evidence, then one measured between their access networks, and only
//! then the physics of distance:
//!
//! ```text
//! one_way ≈ distance_km × 5 µs/km (light in fibre) × 1.5 (routes run 1.3–2× the straight line)
//!         + 4 ms (access networks: ~2 ms each way on each side's last mile)
//! ```
//!
//! The uncertainty says how far off that can be: the route factor spans 1.0–2.0 around 1.5
//! (±0.5 × the fibre term) and access networks vary by a few ms (±3 ms).

use super::model::{Candidate, DEFAULT_MAX_LATENCY_MS, RttTable};

/// Fibre propagation, ms per km (light at ~2/3 c).
pub const FIBRE_MS_PER_KM: f64 = 0.005;
/// Typical ratio of route length to great-circle distance.
pub const ROUTE_FACTOR: f64 = 1.5;
/// One-way allowance for both sides' access networks together, ms.
pub const ACCESS_ALLOWANCE_MS: f64 = 4.0;
/// Uncertainty of the access allowance, ms.
pub const ACCESS_UNCERTAINTY_MS: f64 = 3.0;

/// Where an estimate comes from, best evidence first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatencySource {
    /// RTT measured between these two members.
    MeasuredPair,
    /// RTT measured between their access networks.
    MeasuredNetworks,
    /// Modelled from the distance between their coarse locations.
    Distance,
}

/// An estimated one-way latency.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyEstimate {
    /// Best estimate, ms.
    pub one_way_ms: f64,
    /// Plus or minus, ms.
    pub uncertainty_ms: f64,
    /// What the estimate rests on.
    pub source: LatencySource,
}

/// One-way latency from distance alone (see the module docs for the formula).
pub fn from_distance(km: f64) -> LatencyEstimate {
    let fibre = km.max(0.0) * FIBRE_MS_PER_KM;
    LatencyEstimate {
        one_way_ms: fibre * ROUTE_FACTOR + ACCESS_ALLOWANCE_MS,
        uncertainty_ms: fibre * 0.5 + ACCESS_UNCERTAINTY_MS,
        source: LatencySource::Distance,
    }
}

/// The farthest distance whose modelled one-way latency ([`from_distance`]) fits `budget_ms`
/// (negative when even next door does not fit): the radius of the geographic candidate search.
pub fn max_distance_km(budget_ms: f64) -> f64 {
    (budget_ms - ACCESS_ALLOWANCE_MS) / (FIBRE_MS_PER_KM * ROUTE_FACTOR)
}

/// One-way latency from a measured RTT: half of it. Paths may be asymmetric, so the half is
/// uncertain by 10% (at least 0.5 ms) for a pair, 25% (at least 2 ms) for a network pair, whose
/// members' own last miles differ.
pub fn from_rtt(rtt_ms: f64, source: LatencySource) -> LatencyEstimate {
    let one_way_ms = rtt_ms / 2.0;
    let uncertainty_ms = match source {
        LatencySource::MeasuredPair => (0.1 * one_way_ms).max(0.5),
        _ => (0.25 * one_way_ms).max(2.0),
    };
    LatencyEstimate {
        one_way_ms,
        uncertainty_ms,
        source,
    }
}

/// The best estimate for a pair, or `None` when nothing is known (no measurement, and a
/// location missing on either side).
pub fn estimate(a: &Candidate, b: &Candidate, rtts: &RttTable) -> Option<LatencyEstimate> {
    if let Some(rtt) = rtts.pair(a.id, b.id) {
        return Some(from_rtt(rtt, LatencySource::MeasuredPair));
    }
    if let (Some(na), Some(nb)) = (a.network, b.network)
        && let Some(rtt) = rtts.network(na, nb)
    {
        return Some(from_rtt(rtt, LatencySource::MeasuredNetworks));
    }
    Some(from_distance(a.location?.distance_km(b.location?)))
}

/// The budget for an online jam between two members: the smaller of their stated maxima.
pub fn budget_ms(a: &Candidate, b: &Candidate) -> f64 {
    let max = |c: &Candidate| c.max_latency_ms.unwrap_or(DEFAULT_MAX_LATENCY_MS);
    max(a).min(max(b))
}

/// The exclusion rule for online jams: a pair is feasible only when its latency is known and the
/// best estimate is within both members' maxima.
pub fn online_feasible(estimate: Option<LatencyEstimate>, budget_ms: f64) -> bool {
    estimate.is_some_and(|e| e.one_way_ms <= budget_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recommend::model::{GeoPoint, MemberId, NetworkId};

    fn at(id: u64, lat: f64, lon: f64) -> Candidate {
        Candidate {
            id: MemberId(id),
            location: Some(GeoPoint { lat, lon }),
            ..Candidate::default()
        }
    }

    #[test]
    fn distance_model_follows_the_formula() {
        // Berlin–Munich is ~504 km: 504 × 0.005 × 1.5 + 4 ≈ 7.8 ms.
        let (berlin, munich) = (at(1, 52.52, 13.40), at(2, 48.14, 11.58));
        let e = estimate(&berlin, &munich, &RttTable::default()).expect("located");
        assert_eq!(e.source, LatencySource::Distance);
        assert!((e.one_way_ms - 7.8).abs() < 0.1, "{e:?}");
        assert!((e.uncertainty_ms - (504.0 * 0.0025 + 3.0)).abs() < 0.1);
        // Same place: only the access allowance.
        assert_eq!(from_distance(0.0).one_way_ms, ACCESS_ALLOWANCE_MS);
    }

    #[test]
    fn measurements_win_over_distance_pair_first() {
        let (mut a, mut b) = (at(1, 52.52, 13.40), at(2, 48.14, 11.58));
        a.network = Some(NetworkId(7));
        b.network = Some(NetworkId(9));
        let mut rtts = RttTable::default();
        rtts.insert_network(NetworkId(9), NetworkId(7), 30.0);
        let e = estimate(&a, &b, &rtts).expect("known");
        assert_eq!(
            (e.source, e.one_way_ms),
            (LatencySource::MeasuredNetworks, 15.0)
        );
        rtts.insert_pair(MemberId(2), MemberId(1), 18.0);
        let e = estimate(&a, &b, &rtts).expect("known");
        assert_eq!((e.source, e.one_way_ms), (LatencySource::MeasuredPair, 9.0));
        // Symmetric.
        assert_eq!(estimate(&b, &a, &rtts), Some(e));
    }

    #[test]
    fn unknown_without_location_or_measurement_and_then_infeasible() {
        let a = at(1, 52.5, 13.4);
        let b = Candidate {
            id: MemberId(2),
            ..Candidate::default()
        };
        let e = estimate(&a, &b, &RttTable::default());
        assert_eq!(e, None);
        assert!(!online_feasible(e, 25.0));
    }

    #[test]
    fn budget_is_the_stricter_side() {
        let (mut a, mut b) = (at(1, 0.0, 0.0), at(2, 0.0, 0.0));
        assert_eq!(budget_ms(&a, &b), DEFAULT_MAX_LATENCY_MS);
        a.max_latency_ms = Some(40.0);
        b.max_latency_ms = Some(15.0);
        assert_eq!(budget_ms(&a, &b), 15.0);
        assert_eq!(budget_ms(&b, &a), 15.0);
        let e = from_rtt(31.0, LatencySource::MeasuredPair);
        assert!(online_feasible(Some(e), 15.5));
        assert!(!online_feasible(Some(e), 15.0));
    }
}
