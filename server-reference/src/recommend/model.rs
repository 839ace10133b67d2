//! The recommender's own plain input types: what it needs to know about a musician, and the
//! signals gathered from earlier jams (measured round-trip times, who played with whom).
//!
//! They are deliberately independent of the HTTP/storage types so the scoring can be tested and
//! benchmarked on synthetic data; the server converts stored profiles into these.

use std::collections::HashMap;

/// A member, as the caller numbers them (the server maps its user ids to these).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemberId(pub u64);

/// An access network (e.g. an ISP's prefix in a city): round-trip times measured between two
/// networks stand in for pairs of members never measured directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NetworkId(pub u64);

/// Coarse coordinates in degrees (profiles store them rounded to 0.1°, about 11 km).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoPoint {
    /// Degrees north.
    pub lat: f64,
    /// Degrees east.
    pub lon: f64,
}

impl GeoPoint {
    /// Great-circle (haversine) distance in kilometres, on a sphere of radius 6371 km.
    pub fn distance_km(self, other: GeoPoint) -> f64 {
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * 6371.0 * h.sqrt().min(1.0).asin()
    }
}

/// An instrument someone plays.
#[derive(Debug, Clone, PartialEq)]
pub struct InstrumentSkill {
    /// Free text, e.g. `bass guitar`; normalised by [`canonical_instrument`].
    pub name: String,
    /// Self-assessed skill, 1 (beginner) to 5 (professional); clamped into that range.
    pub skill: u8,
    /// Years played.
    pub years: u8,
}

/// Why a musician is here (mirrors the profile's goals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Goal {
    /// Play for fun.
    CasualJam,
    /// Form or join a band.
    Band,
    /// Paid session work.
    SessionWork,
    /// Play gigs.
    Gigs,
}

/// A weekly window when someone is usually free, in their own local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Day of the week, 0 = Monday … 6 = Sunday.
    pub day: u8,
    /// Start, minutes after local midnight.
    pub start_min: u16,
    /// End, minutes after local midnight, after `start_min` (at most 1440).
    pub end_min: u16,
}

/// Everything the recommender knows about one musician.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Candidate {
    /// Who.
    pub id: MemberId,
    /// Instruments played, with skill and years.
    pub instruments: Vec<InstrumentSkill>,
    /// Genre tags.
    pub genres: Vec<String>,
    /// Influences (artists).
    pub influences: Vec<String>,
    /// Free-text bio.
    pub bio: String,
    /// Coarse home location, if shared.
    pub location: Option<GeoPoint>,
    /// Offset of the member's time zone from UTC this week, in minutes (the server resolves the
    /// IANA name, so this library needs no time-zone database).
    pub utc_offset_min: i16,
    /// Weekly availability in local time.
    pub availability: Vec<Slot>,
    /// Instruments wanted in partners.
    pub looking_for: Vec<String>,
    /// Goals.
    pub goals: Vec<Goal>,
    /// Preferred maximum one-way latency for online jams, ms (default [`DEFAULT_MAX_LATENCY_MS`]).
    pub max_latency_ms: Option<f64>,
    /// The member's usual access network, if known from earlier sessions.
    pub network: Option<NetworkId>,
    /// Jams attended (sessions the member joined as agreed).
    pub jams_attended: u32,
    /// Agreed jams the member did not show up for.
    pub no_shows: u32,
    /// Never recommended to anyone (a private profile); the member may still ask for
    /// recommendations.
    pub hidden: bool,
}

/// The ensemble-performance threshold: beyond ~25 ms one-way, players stop keeping time together.
pub const DEFAULT_MAX_LATENCY_MS: f64 = 25.0;

/// Round-trip times measured in earlier sessions, per pair of members and per pair of networks
/// (order-insensitive). The caller stores one summary per pair (e.g. the median of a session's
/// minimum RTTs); the estimator halves it.
#[derive(Debug, Clone, Default)]
pub struct RttTable {
    pairs: HashMap<(MemberId, MemberId), f64>,
    networks: HashMap<(NetworkId, NetworkId), f64>,
    /// Who has a measurement with whom, so candidate generation can reach a measured partner
    /// without scanning every pair.
    member_partners: HashMap<MemberId, Vec<MemberId>>,
    network_partners: HashMap<NetworkId, Vec<NetworkId>>,
}

/// Adds `b` to `a`'s list and `a` to `b`'s, once.
fn link<T: Copy + Eq + std::hash::Hash>(lists: &mut HashMap<T, Vec<T>>, a: T, b: T) {
    for (x, y) in [(a, b), (b, a)] {
        let list = lists.entry(x).or_default();
        if !list.contains(&y) {
            list.push(y);
        }
    }
}

fn ordered<T: Ord>(a: T, b: T) -> (T, T) {
    if a <= b { (a, b) } else { (b, a) }
}

impl RttTable {
    /// Records the RTT between two members (replaces an earlier value). Non-finite or negative
    /// values are ignored.
    pub fn insert_pair(&mut self, a: MemberId, b: MemberId, rtt_ms: f64) {
        if rtt_ms.is_finite() && rtt_ms >= 0.0 {
            self.pairs.insert(ordered(a, b), rtt_ms);
            link(&mut self.member_partners, a, b);
        }
    }

    /// Records the RTT between two networks (replaces an earlier value).
    pub fn insert_network(&mut self, a: NetworkId, b: NetworkId, rtt_ms: f64) {
        if rtt_ms.is_finite() && rtt_ms >= 0.0 {
            self.networks.insert(ordered(a, b), rtt_ms);
            link(&mut self.network_partners, a, b);
        }
    }

    /// The RTT measured between two members.
    pub fn pair(&self, a: MemberId, b: MemberId) -> Option<f64> {
        self.pairs.get(&ordered(a, b)).copied()
    }

    /// The RTT measured between two networks.
    pub fn network(&self, a: NetworkId, b: NetworkId) -> Option<f64> {
        self.networks.get(&ordered(a, b)).copied()
    }

    /// The members with an RTT measured to `a`.
    pub fn measured_members(&self, a: MemberId) -> &[MemberId] {
        self.member_partners.get(&a).map_or(&[], Vec::as_slice)
    }

    /// The networks with an RTT measured to `a` (`a` itself included if measured).
    pub fn measured_networks(&self, a: NetworkId) -> &[NetworkId] {
        self.network_partners.get(&a).map_or(&[], Vec::as_slice)
    }
}

/// One partner in the co-jam graph.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoJam {
    /// Who.
    pub partner: MemberId,
    /// How many jams the pair has recorded.
    pub jams: u32,
    /// Mean post-jam rating, 1–5.
    pub rating: f64,
}

/// Who has played with whom, with the post-jam ratings.
#[derive(Debug, Clone, Default)]
pub struct CoJamGraph {
    edges: HashMap<MemberId, Vec<CoJam>>,
}

impl CoJamGraph {
    /// Records that `a` and `b` played together and rated it `rating` (clamped to 1–5); a repeated
    /// pair keeps the mean of all its ratings. Self-loops and non-finite ratings are ignored.
    pub fn record(&mut self, a: MemberId, b: MemberId, rating: f64) {
        if a == b || !rating.is_finite() {
            return;
        }
        let rating = rating.clamp(1.0, 5.0);
        for (x, y) in [(a, b), (b, a)] {
            let list = self.edges.entry(x).or_default();
            match list.iter_mut().find(|e| e.partner == y) {
                Some(e) => {
                    e.rating = (e.rating * f64::from(e.jams) + rating) / f64::from(e.jams + 1);
                    e.jams += 1;
                }
                None => list.push(CoJam {
                    partner: y,
                    jams: 1,
                    rating,
                }),
            }
        }
    }

    /// Sets a pair's summary directly (as stored: jam count and mean rating, clamped to 1–5),
    /// replacing what was recorded. Self-loops, zero jams and non-finite ratings are ignored.
    pub fn set_pair(&mut self, a: MemberId, b: MemberId, jams: u32, rating: f64) {
        if a == b || jams == 0 || !rating.is_finite() {
            return;
        }
        let rating = rating.clamp(1.0, 5.0);
        for (x, y) in [(a, b), (b, a)] {
            let list = self.edges.entry(x).or_default();
            match list.iter_mut().find(|e| e.partner == y) {
                Some(e) => {
                    e.jams = jams;
                    e.rating = rating;
                }
                None => list.push(CoJam {
                    partner: y,
                    jams,
                    rating,
                }),
            }
        }
    }

    /// The members `a` has played with.
    pub fn partners(&self, a: MemberId) -> &[CoJam] {
        self.edges.get(&a).map_or(&[], Vec::as_slice)
    }

    /// The pair's mean rating, if they have played together.
    pub fn rating(&self, a: MemberId, b: MemberId) -> Option<f64> {
        self.partners(a)
            .iter()
            .find(|e| e.partner == b)
            .map(|e| e.rating)
    }

    /// How many distinct partners `a` has played with.
    pub fn degree(&self, a: MemberId) -> usize {
        self.partners(a).len()
    }
}

/// Canonical spelling of an instrument name: lower case, trimmed, and a few common synonyms
/// folded together, so "Bass guitar" matches "bass" and "drum kit" matches "drums".
pub fn canonical_instrument(name: &str) -> String {
    let n = name.trim().to_lowercase();
    let folded = match n.as_str() {
        "bass guitar" | "electric bass" | "double bass" | "upright bass" | "bassist" => "bass",
        "drum kit" | "drum set" | "drumkit" | "drummer" | "percussion kit" => "drums",
        "electric guitar" | "acoustic guitar" | "guitarist" => "guitar",
        "voice" | "vocal" | "singer" | "singing" | "lead vocals" => "vocals",
        "keyboard" | "keyboards" | "synth" | "synthesizer" | "organ" => "keys",
        "saxophone" | "alto sax" | "tenor sax" => "sax",
        other => other,
    };
    folded.to_owned()
}

/// Canonical spelling of a genre or influence tag: lower case, trimmed, inner whitespace single.
pub fn canonical_tag(tag: &str) -> String {
    tag.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}
