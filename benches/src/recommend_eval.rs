//! Recommender evaluation on a synthetic population with planted structure.
//!
//! The world: members live in real cities (population-weighted, a few km of spread) and belong to
//! a latent *scene* (a taste vector over six scenes) that drives their genres, influences and the
//! words of their bios. Each has a true ability, instruments, a weekly routine, an access network
//! and a true last-mile delay. True one-way latency is `km × 5 µs × route factor (1.2–2.0 per
//! pair) + both last miles`; the recommender never sees it, only coarse locations and the RTTs
//! measured on jams in the training graph (per pair, and per network pair as their median).
//!
//! Who jams with whom is drawn from a hidden affinity — shared scene, an instrument the other
//! wants, similar ability, shared free time, low latency — among pairs whose true latency is
//! within both members' budgets, plus *hidden bands*: groups of four complementary players of
//! one scene who all play together. A share of the co-jam edges is held out; every method ranks
//! members (never self, never a training partner) and is scored on the held-out partners:
//! precision@10, NDCG@10, catalogue coverage, and the share of recommended partners whose *true*
//! one-way latency is within 25 ms. Baselines: random, most popular (training degree), genre
//! overlap only (Jaccard), nearest only (distance).
//!
//! Everything is drawn from ChaCha8 streams seeded from one seed: the same seed gives the same
//! figures.

use std::collections::{HashMap, HashSet};

use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::Serialize;
use tutti_server::recommend::{
    Candidate, CoJamGraph, GeoPoint, Goal, InstrumentSkill, MemberId, Mode, NetworkId, Query,
    Recommender, RttTable, Slot, Weights, factors,
};

/// Evaluation settings.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct EvalConfig {
    /// Population size.
    pub members: usize,
    /// At most this many members (with held-out partners) are evaluated.
    pub max_users: usize,
    /// Share of co-jam edges held out.
    pub holdout: f64,
    /// Recommendations per member.
    pub k: usize,
    /// Seed of every random stream.
    pub seed: u64,
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig {
            members: 5000,
            max_users: 1000,
            holdout: 0.2,
            k: 10,
            seed: 2026,
        }
    }
}

/// A city: name (for the reader), position, population in millions, UTC offset in minutes
/// (standard time).
#[allow(dead_code)]
struct City(&'static str, f64, f64, f64, i16);

/// Where members live: Europe's large cities plus three North American ones (so some pairs are
/// an ocean apart), weighted by population.
const CITIES: [City; 27] = [
    City("London", 51.51, -0.13, 9.0, 0),
    City("Paris", 48.86, 2.35, 11.0, 60),
    City("Madrid", 40.42, -3.70, 6.7, 60),
    City("Barcelona", 41.39, 2.17, 5.6, 60),
    City("Berlin", 52.52, 13.40, 3.7, 60),
    City("Rome", 41.90, 12.50, 4.3, 60),
    City("Milan", 45.46, 9.19, 3.1, 60),
    City("Athens", 37.98, 23.73, 3.1, 120),
    City("Lisbon", 38.72, -9.14, 2.9, 0),
    City("Manchester", 53.48, -2.24, 2.8, 0),
    City("Hamburg", 53.55, 9.99, 1.9, 60),
    City("Vienna", 48.21, 16.37, 1.9, 60),
    City("Warsaw", 52.23, 21.01, 1.8, 60),
    City("Budapest", 47.50, 19.04, 1.7, 60),
    City("Stockholm", 59.33, 18.07, 1.6, 60),
    City("Munich", 48.14, 11.58, 1.5, 60),
    City("Dublin", 53.35, -6.26, 1.4, 0),
    City("Prague", 50.08, 14.44, 1.3, 60),
    City("Copenhagen", 55.68, 12.57, 1.3, 60),
    City("Helsinki", 60.17, 24.94, 1.3, 120),
    City("Amsterdam", 52.37, 4.90, 1.2, 60),
    City("Brussels", 50.85, 4.35, 1.2, 60),
    City("Cologne", 50.94, 6.96, 1.1, 60),
    City("Oslo", 59.91, 10.75, 1.0, 60),
    City("New York", 40.71, -74.01, 19.0, -300),
    City("Chicago", 41.88, -87.63, 9.0, -360),
    City("Toronto", 43.65, -79.38, 6.0, -300),
];

const SCENES: usize = 6;
const SCENE_GENRES: [[&str; 4]; SCENES] = [
    ["jazz", "bebop", "fusion", "latin jazz"],
    ["rock", "indie", "garage", "alt rock"],
    ["metal", "thrash", "doom", "prog metal"],
    ["funk", "soul", "r&b", "afrobeat"],
    ["folk", "bluegrass", "americana", "celtic"],
    ["electronic", "techno", "ambient", "synthpop"],
];
const SCENE_ARTISTS: [[&str; 5]; SCENES] = [
    [
        "Miles Davis",
        "John Coltrane",
        "Thelonious Monk",
        "Herbie Hancock",
        "Esperanza Spalding",
    ],
    [
        "The Strokes",
        "Radiohead",
        "Pixies",
        "PJ Harvey",
        "Arctic Monkeys",
    ],
    ["Metallica", "Black Sabbath", "Gojira", "Tool", "Slayer"],
    [
        "James Brown",
        "Fela Kuti",
        "Aretha Franklin",
        "Prince",
        "Erykah Badu",
    ],
    [
        "Joni Mitchell",
        "Bob Dylan",
        "Alison Krauss",
        "The Chieftains",
        "Nick Drake",
    ],
    ["Kraftwerk", "Aphex Twin", "Björk", "Daft Punk", "Brian Eno"],
];
const SCENE_WORDS: [[&str; 6]; SCENES] = [
    [
        "swing",
        "standards",
        "improvisation",
        "changes",
        "voicings",
        "session",
    ],
    ["riffs", "garage", "loud", "songs", "distortion", "pedals"],
    [
        "heavy",
        "riffs",
        "blast",
        "double-kick",
        "brutal",
        "tuned-down",
    ],
    ["groove", "pocket", "horns", "sweaty", "dance", "grooves"],
    [
        "acoustic",
        "harmonies",
        "fiddle",
        "ballads",
        "traditional",
        "storytelling",
    ],
    ["synths", "modular", "beats", "sequencer", "loops", "analog"],
];
const FILLER: [&str; 16] = [
    "love", "music", "playing", "looking", "people", "weekends", "fun", "serious", "years",
    "learning", "band", "friends", "city", "practice", "record", "new",
];
/// Instruments and how common they are among players.
const INSTRUMENTS: [(&str, f64); 8] = [
    ("guitar", 0.28),
    ("vocals", 0.18),
    ("bass", 0.12),
    ("drums", 0.11),
    ("keys", 0.12),
    ("sax", 0.07),
    ("trumpet", 0.06),
    ("violin", 0.06),
];
/// A hidden band's roles.
const BAND_ROLES: [&str; 4] = ["drums", "bass", "guitar", "vocals"];
/// The latency budget the report's share is measured against, ms.
pub const BUDGET_MS: f64 = 25.0;

/// Everything hidden about one member.
struct Truth {
    taste: [f64; SCENES],
    scene: usize,
    ability: f64,
    home: GeoPoint,
    last_mile_ms: f64,
    sociability: f64,
    week: Vec<(u32, u32)>,
}

/// The synthetic world.
pub struct World {
    /// What the recommender sees.
    pub candidates: Vec<Candidate>,
    truth: Vec<Truth>,
    seed: u64,
    /// Training co-jams.
    pub train: CoJamGraph,
    /// Measured RTTs (training jams only, pair and network medians).
    pub rtts: RttTable,
    /// Held-out partners per member.
    pub test: HashMap<MemberId, HashSet<MemberId>>,
    /// How many hidden bands were planted.
    pub bands: usize,
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    rng.sample(StandardNormal)
}

fn weighted<'a, T>(rng: &mut ChaCha8Rng, items: &'a [(T, f64)]) -> &'a T {
    let total: f64 = items.iter().map(|i| i.1).sum();
    let mut x = rng.random::<f64>() * total;
    for (item, w) in items {
        if x < *w {
            return item;
        }
        x -= w;
    }
    &items[items.len() - 1].0
}

/// A member's taste: mostly one scene, a little of the others.
fn taste(rng: &mut ChaCha8Rng) -> (usize, [f64; SCENES]) {
    let scene = rng.random_range(0..SCENES);
    let mut t = [0.0; SCENES];
    for v in &mut t {
        *v = rng.random::<f64>() * 0.35;
    }
    t[scene] += 1.0;
    let norm = t.iter().map(|v| v * v).sum::<f64>().sqrt();
    t.iter_mut().for_each(|v| *v /= norm);
    (scene, t)
}

/// Within a scene, the first tag is the most common.
const TAG_RANK: [(usize, f64); 5] = [(0, 0.4), (1, 0.25), (2, 0.2), (3, 0.15), (4, 0.1)];

/// A scene drawn in proportion to the squared taste vector.
fn scene_by_taste(rng: &mut ChaCha8Rng, taste: &[f64; SCENES]) -> usize {
    let w: Vec<(usize, f64)> = taste.iter().map(|v| v * v).enumerate().collect();
    *weighted(rng, &w)
}

fn cosine(a: &[f64; SCENES], b: &[f64; SCENES]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Per-pair route factor in 1.2–2.0, a fixed function of the pair and the seed.
fn route_factor(seed: u64, a: usize, b: usize) -> f64 {
    let (lo, hi) = (a.min(b) as u64, a.max(b) as u64);
    let mut z = seed ^ (lo.wrapping_mul(0x9E37_79B9_7F4A_7C15)) ^ hi.rotate_left(32);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    1.2 + 0.8 * ((z >> 11) as f64 / (1u64 << 53) as f64)
}

impl World {
    /// True one-way latency between two members, ms.
    pub fn true_latency(&self, a: MemberId, b: MemberId) -> f64 {
        let (i, j) = (a.0 as usize, b.0 as usize);
        let (ta, tb) = (&self.truth[i], &self.truth[j]);
        ta.home.distance_km(tb.home) * 0.005 * route_factor(self.seed, i, j)
            + ta.last_mile_ms
            + tb.last_mile_ms
    }

    fn budget(&self, a: usize, b: usize) -> f64 {
        let m = |i: usize| self.candidates[i].max_latency_ms.unwrap_or(BUDGET_MS);
        m(a).min(m(b))
    }

    /// The hidden affinity of a pair (higher = more likely to jam, and to rate it well).
    fn affinity(&self, a: usize, b: usize, seeks: &[Vec<String>], plays: &[Vec<String>]) -> f64 {
        let (ta, tb) = (&self.truth[a], &self.truth[b]);
        let wants = |x: usize, y: usize| seeks[x].iter().any(|s| plays[y].contains(s));
        let complement =
            f64::from(u8::from(wants(a, b))) * 0.7 + f64::from(u8::from(wants(b, a))) * 0.3;
        let time = factors::availability_overlap(&ta.week, &tb.week).value;
        let lat = self.true_latency(MemberId(a as u64), MemberId(b as u64));
        3.0 * cosine(&ta.taste, &tb.taste)
            + 1.5 * complement
            + 1.0 * (1.0 - (ta.ability - tb.ability).abs() / 4.0)
            + 0.8 * time
            + 0.8 * (1.0 - lat / BUDGET_MS)
    }

    /// The members alone (profiles and hidden truth), without jams: linear in the population,
    /// so the scale benchmark can draw a million (drawing jams is quadratic).
    pub fn population(config: &EvalConfig) -> World {
        let n = config.members;
        let stream =
            |k: u64| ChaCha8Rng::seed_from_u64(config.seed.wrapping_mul(1_000_003).wrapping_add(k));
        let mut rng = stream(1);
        let city_weights: Vec<(usize, f64)> =
            CITIES.iter().enumerate().map(|(i, c)| (i, c.3)).collect();
        let mut candidates = Vec::with_capacity(n);
        let mut truth = Vec::with_capacity(n);
        for id in 0..n {
            let city = *weighted(&mut rng, &city_weights);
            let c = &CITIES[city];
            // A few km of spread around the centre (σ ≈ 7 km).
            let km_lat = 1.0 / 111.0;
            let km_lon = 1.0 / (111.0 * c.1.to_radians().cos());
            let home = GeoPoint {
                lat: c.1 + normal(&mut rng) * 7.0 * km_lat,
                lon: c.2 + normal(&mut rng) * 7.0 * km_lon,
            };
            let (scene, t) = taste(&mut rng);
            let ability = rng.random_range(1.0..5.0);
            let main = *weighted(&mut rng, &INSTRUMENTS);
            let mut instruments = vec![InstrumentSkill {
                name: main.into(),
                skill: (ability + 0.6 * normal(&mut rng)).round().clamp(1.0, 5.0) as u8,
                years: ((ability - 1.0) * 4.0 + 3.0 * normal(&mut rng)).clamp(0.0, 40.0) as u8,
            }];
            if rng.random_bool(0.25) {
                let second = *weighted(&mut rng, &INSTRUMENTS);
                if second != main {
                    instruments.push(InstrumentSkill {
                        name: second.into(),
                        skill: (ability - 1.0).round().clamp(1.0, 5.0) as u8,
                        years: 2,
                    });
                }
            }
            let mut genres = Vec::new();
            for _ in 0..rng.random_range(2..=5) {
                let s = scene_by_taste(&mut rng, &t);
                genres.push(SCENE_GENRES[s][*weighted(&mut rng, &TAG_RANK[..4])].to_owned());
            }
            let mut influences = Vec::new();
            for _ in 0..rng.random_range(0..=4) {
                let s = scene_by_taste(&mut rng, &t);
                influences.push(SCENE_ARTISTS[s][*weighted(&mut rng, &TAG_RANK)].to_owned());
            }
            let bio = if rng.random_bool(0.3) {
                String::new()
            } else {
                (0..rng.random_range(5..25))
                    .map(|_| {
                        if rng.random_bool(0.35) {
                            let s = scene_by_taste(&mut rng, &t);
                            SCENE_WORDS[s][rng.random_range(0..6)]
                        } else {
                            FILLER[rng.random_range(0..FILLER.len())]
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            // Weekly routine in local time: weekday evenings, weekend afternoons, or both.
            let mut availability = Vec::new();
            let routine = rng.random_range(0..3);
            if routine != 1 {
                for day in 0..5u8 {
                    if rng.random_bool(0.45) {
                        let start = 18 * 60 + 30 * rng.random_range(0..4u16);
                        availability.push(Slot {
                            day,
                            start_min: start,
                            end_min: start + 180,
                        });
                    }
                }
            }
            if routine != 0 {
                for day in 5..7u8 {
                    if rng.random_bool(0.7) {
                        let start = 12 * 60 + 60 * rng.random_range(0..4u16);
                        availability.push(Slot {
                            day,
                            start_min: start,
                            end_min: start + 240,
                        });
                    }
                }
            }
            let slots: Vec<(u8, u16, u16)> = availability
                .iter()
                .map(|s| (s.day, s.start_min, s.end_min))
                .collect();
            // Members seek one or two band instruments they do not play.
            let mut looking_for: Vec<String> = BAND_ROLES
                .iter()
                .chain(&["keys"])
                .filter(|r| !instruments.iter().any(|i| i.name == **r))
                .map(|r| (*r).to_owned())
                .collect();
            looking_for.shuffle(&mut rng);
            looking_for.truncate(rng.random_range(1..=2));
            let goals = match rng.random_range(0..3) {
                0 => vec![Goal::Band],
                1 => vec![Goal::CasualJam],
                _ => vec![Goal::CasualJam, Goal::Gigs],
            };
            let max_latency_ms = rng.random_bool(0.25).then(|| rng.random_range(15.0..40.0));
            let last_mile_ms = (0.7 + 0.45 * normal(&mut rng)).exp().clamp(0.5, 12.0);
            let network = NetworkId((city * 4 + rng.random_range(0..4)) as u64);
            truth.push(Truth {
                taste: t,
                scene,
                ability,
                home,
                last_mile_ms,
                sociability: (0.6 * normal(&mut rng)).exp(),
                week: factors::utc_week(&slots, c.4),
            });
            candidates.push(Candidate {
                id: MemberId(id as u64),
                instruments,
                genres,
                influences,
                bio,
                // Profiles store 0.1° only.
                location: rng.random_bool(0.95).then(|| GeoPoint {
                    lat: (home.lat * 10.0).round() / 10.0,
                    lon: (home.lon * 10.0).round() / 10.0,
                }),
                utc_offset_min: c.4,
                availability,
                looking_for,
                goals,
                max_latency_ms,
                network: Some(network),
                jams_attended: 0,
                no_shows: 0,
                hidden: false,
            });
        }
        World {
            candidates,
            truth,
            seed: config.seed,
            train: CoJamGraph::default(),
            rtts: RttTable::default(),
            test: HashMap::new(),
            bands: 0,
        }
    }

    /// Builds the world for `config`: the population, then the co-jam graph and measurements.
    pub fn generate(config: &EvalConfig) -> World {
        let mut world = Self::population(config);
        let stream = ChaCha8Rng::seed_from_u64(config.seed.wrapping_mul(1_000_003).wrapping_add(2));
        world.draw_jams(config, &mut { stream });
        world
    }

    /// Draws the co-jam graph (bands, then affinity-driven jams), splits it, and derives the
    /// measured RTTs and the attendance record from the training part.
    fn draw_jams(&mut self, config: &EvalConfig, rng: &mut ChaCha8Rng) {
        let n = self.candidates.len();
        let plays: Vec<Vec<String>> = self
            .candidates
            .iter()
            .map(|c| c.instruments.iter().map(|i| i.name.clone()).collect())
            .collect();
        let seeks: Vec<Vec<String>> = self
            .candidates
            .iter()
            .map(|c| c.looking_for.clone())
            .collect();
        let mut edges: HashMap<(usize, usize), f64> = HashMap::new();
        let mut add = |a: usize, b: usize, rating: f64| {
            edges.insert((a.min(b), a.max(b)), rating.clamp(1.0, 5.0));
        };
        // Hidden bands: one in 25 members founds a band of four from their scene, choosing for
        // each role the player (of a sample) with the highest affinity to everyone so far.
        let mut in_band = vec![false; n];
        for founder in (0..n).step_by(25) {
            let scene = self.truth[founder].scene;
            let mut band = vec![founder];
            for role in BAND_ROLES {
                if band.iter().any(|&m| plays[m].iter().any(|p| p == role)) {
                    continue;
                }
                let best = (0..200)
                    .map(|_| rng.random_range(0..n))
                    .filter(|&c| {
                        !in_band[c]
                            && !band.contains(&c)
                            && self.truth[c].scene == scene
                            && plays[c].iter().any(|p| p == role)
                            && band.iter().all(|&m| {
                                self.true_latency(MemberId(m as u64), MemberId(c as u64))
                                    <= self.budget(m, c)
                            })
                    })
                    .max_by(|&x, &y| {
                        let fx: f64 = band
                            .iter()
                            .map(|&m| self.affinity(m, x, &seeks, &plays))
                            .sum();
                        let fy: f64 = band
                            .iter()
                            .map(|&m| self.affinity(m, y, &seeks, &plays))
                            .sum();
                        fx.total_cmp(&fy)
                    });
                if let Some(c) = best {
                    band.push(c);
                }
            }
            if band.len() >= 3 {
                self.bands += 1;
                for (i, &a) in band.iter().enumerate() {
                    in_band[a] = true;
                    for &b in &band[i + 1..] {
                        add(a, b, 4.0 + rng.random::<f64>());
                    }
                }
            }
        }
        // Everyone else's jams: each member starts a few (more for sociable ones), choosing
        // partners among feasible members with probability ∝ sociability × exp(2 × affinity).
        for a in 0..n {
            let starts = (self.truth[a].sociability * 2.0).round() as usize;
            if starts == 0 {
                continue;
            }
            let mut pool: Vec<(usize, f64)> = (0..n)
                .filter(|&b| b != a)
                .filter(|&b| {
                    self.true_latency(MemberId(a as u64), MemberId(b as u64)) <= self.budget(a, b)
                })
                .map(|b| {
                    (
                        b,
                        self.truth[b].sociability
                            * (2.0 * self.affinity(a, b, &seeks, &plays)).exp(),
                    )
                })
                .collect();
            for _ in 0..starts {
                if pool.is_empty() {
                    break;
                }
                let idx: Vec<(usize, f64)> =
                    pool.iter().enumerate().map(|(i, p)| (i, p.1)).collect();
                let i = *weighted(rng, &idx);
                let (b, _) = pool.swap_remove(i);
                let aff = self.affinity(a, b, &seeks, &plays);
                add(a, b, 1.0 + aff * 0.55 + 0.7 * normal(rng));
            }
        }
        // Hold out a share of the edges (sorted first so the split is deterministic).
        let mut list: Vec<((usize, usize), f64)> = edges.into_iter().collect();
        list.sort_by_key(|e| e.0);
        list.shuffle(rng);
        let held = (list.len() as f64 * config.holdout).round() as usize;
        let mut network_rtts: HashMap<(NetworkId, NetworkId), Vec<f64>> = HashMap::new();
        for (k, &((a, b), rating)) in list.iter().enumerate() {
            let (ma, mb) = (MemberId(a as u64), MemberId(b as u64));
            if k < held {
                self.test.entry(ma).or_default().insert(mb);
                self.test.entry(mb).or_default().insert(ma);
                continue;
            }
            self.train.record(ma, mb, rating);
            // The jam measured their RTT (a little noise on top of twice the one-way delay).
            let rtt = 2.0 * self.true_latency(ma, mb) * (1.0 + 0.05 * normal(rng)).max(0.8);
            self.rtts.insert_pair(ma, mb, rtt);
            if let (Some(na), Some(nb)) = (self.candidates[a].network, self.candidates[b].network) {
                let key = if na <= nb { (na, nb) } else { (nb, na) };
                network_rtts.entry(key).or_default().push(rtt);
            }
        }
        for ((na, nb), mut v) in network_rtts {
            v.sort_by(f64::total_cmp);
            self.rtts.insert_network(na, nb, v[v.len() / 2]);
        }
        // Attendance: each training jam attended; flaky members missed some.
        for (i, c) in self.candidates.iter_mut().enumerate() {
            c.jams_attended = self.train.degree(MemberId(i as u64)) as u32;
            let flaky = rng.random_bool(0.1);
            c.no_shows = if flaky { rng.random_range(1..5) } else { 0 };
        }
    }
}

/// One method's figures.
#[derive(Debug, Clone, Serialize)]
pub struct MethodResult {
    /// Method name.
    pub method: String,
    /// Mean precision@k.
    pub precision_at_k: f64,
    /// Mean NDCG@k (binary relevance).
    pub ndcg_at_k: f64,
    /// Distinct recommended members / population.
    pub coverage: f64,
    /// Share of recommended pairs with true one-way latency ≤ 25 ms.
    pub within_budget: f64,
    /// Mean recommendations per user (online exclusion can leave fewer than k).
    pub mean_list_len: f64,
}

/// The whole evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    /// Settings.
    pub config: EvalConfig,
    /// Co-jam edges kept for training.
    pub train_edges: usize,
    /// Held-out edges.
    pub test_edges: usize,
    /// Planted bands.
    pub bands: usize,
    /// Members evaluated.
    pub users: usize,
    /// Figures per method, ours first.
    pub methods: Vec<MethodResult>,
    /// Wall-clock time per `recommend` call over the population, ms (p50, p99); informational.
    pub query_ms: (f64, f64),
}

/// The methods compared: ours, ours without the co-jam factor (an ablation, to show what the
/// graph adds), then the baselines.
pub const METHODS: [&str; 6] = [
    "tutti",
    "tutti-no-cojam",
    "random",
    "popular",
    "genre-overlap",
    "nearest",
];
/// Where the baselines start in [`METHODS`].
const FIRST_BASELINE: usize = 2;

fn ndcg(list: &[MemberId], relevant: &HashSet<MemberId>, k: usize) -> f64 {
    let dcg: f64 = list
        .iter()
        .take(k)
        .enumerate()
        .filter(|(_, m)| relevant.contains(m))
        .map(|(i, _)| 1.0 / (i as f64 + 2.0).log2())
        .sum();
    let ideal: f64 = (0..relevant.len().min(k))
        .map(|i| 1.0 / (i as f64 + 2.0).log2())
        .sum();
    if ideal > 0.0 { dcg / ideal } else { 0.0 }
}

/// Top `k` of `scored` (higher first, ties by id).
fn top_k(mut scored: Vec<(f64, MemberId)>, k: usize) -> Vec<MemberId> {
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().take(k).map(|(_, m)| m).collect()
}

fn jaccard(a: &[String], b: &[String]) -> f64 {
    let (a, b): (HashSet<&String>, HashSet<&String>) = (a.iter().collect(), b.iter().collect());
    let union = a.union(&b).count();
    if union == 0 {
        0.0
    } else {
        a.intersection(&b).count() as f64 / union as f64
    }
}

/// Runs every method on the world and collects the figures.
pub fn evaluate(config: &EvalConfig) -> EvalReport {
    let world = World::generate(config);
    let build = || {
        Recommender::new(
            world.candidates.clone(),
            world.rtts.clone(),
            world.train.clone(),
        )
    };
    let rec = build();
    let no_cojam = build().with_weights(Weights {
        cojam: 0.0,
        ..Weights::default()
    });
    let top = |r: &Recommender, u: MemberId, q: &Query| -> Vec<MemberId> {
        r.recommend(u, q)
            .map(|r| r.into_iter().map(|r| r.member).collect())
            .unwrap_or_default()
    };
    let mut users: Vec<MemberId> = world.test.keys().copied().collect();
    users.sort();
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x5EED);
    users.shuffle(&mut rng);
    users.truncate(config.max_users);
    users.sort();
    let n = world.candidates.len();
    let k = config.k;
    let mut lists: Vec<Vec<Vec<MemberId>>> = vec![Vec::new(); METHODS.len()];
    let mut times = Vec::with_capacity(users.len());
    for &u in &users {
        let trained: HashSet<MemberId> =
            world.train.partners(u).iter().map(|e| e.partner).collect();
        let eligible = |m: &Candidate| m.id != u && !trained.contains(&m.id);
        let me = &world.candidates[u.0 as usize];
        // Ours.
        let mut q = Query::new(Mode::Online, k);
        q.exclude = trained.clone();
        let start = std::time::Instant::now();
        let ours = top(&rec, u, &q);
        times.push(start.elapsed().as_secs_f64() * 1e3);
        lists[0].push(ours);
        lists[1].push(top(&no_cojam, u, &q));
        // Random.
        let mut pool: Vec<MemberId> = world
            .candidates
            .iter()
            .filter(|m| eligible(m))
            .map(|m| m.id)
            .collect();
        pool.shuffle(&mut rng);
        pool.truncate(k);
        lists[2].push(pool);
        let scored = |f: &dyn Fn(&Candidate) -> f64| -> Vec<MemberId> {
            top_k(
                world
                    .candidates
                    .iter()
                    .filter(|m| eligible(m))
                    .map(|m| (f(m), m.id))
                    .collect(),
                k,
            )
        };
        lists[3].push(scored(&|m| world.train.degree(m.id) as f64));
        lists[4].push(scored(&|m| jaccard(&me.genres, &m.genres)));
        lists[5].push(scored(&|m| match (me.location, m.location) {
            (Some(a), Some(b)) => -a.distance_km(b),
            _ => f64::NEG_INFINITY,
        }));
    }
    let methods = METHODS
        .iter()
        .zip(&lists)
        .map(|(name, per_user)| {
            let (mut p, mut g, mut within, mut shown) = (0.0, 0.0, 0usize, 0usize);
            let mut distinct: HashSet<MemberId> = HashSet::new();
            for (u, list) in users.iter().zip(per_user) {
                let relevant = &world.test[u];
                p += list.iter().filter(|m| relevant.contains(m)).count() as f64 / k as f64;
                g += ndcg(list, relevant, k);
                within += list
                    .iter()
                    .filter(|&&m| world.true_latency(*u, m) <= BUDGET_MS)
                    .count();
                shown += list.len();
                distinct.extend(list);
            }
            let users_f = users.len().max(1) as f64;
            MethodResult {
                method: (*name).to_owned(),
                precision_at_k: p / users_f,
                ndcg_at_k: g / users_f,
                coverage: distinct.len() as f64 / n as f64,
                within_budget: within as f64 / shown.max(1) as f64,
                mean_list_len: shown as f64 / users_f,
            }
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let pct = |q: f64| {
        times
            .get(((times.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let test_edges = world.test.values().map(HashSet::len).sum::<usize>() / 2;
    let train_edges = (0..n)
        .map(|i| world.train.degree(MemberId(i as u64)))
        .sum::<usize>()
        / 2;
    EvalReport {
        config: *config,
        train_edges,
        test_edges,
        bands: world.bands,
        users: users.len(),
        methods,
        query_ms: (pct(0.5), pct(0.99)),
    }
}

/// The targets: ours beats every baseline on NDCG@k, and ≥ 95% of our online
/// recommendations are within the latency budget. Returns one line per target.
pub fn verdicts(report: &EvalReport) -> Vec<(String, bool)> {
    let ours = &report.methods[0];
    let mut out: Vec<(String, bool)> = report.methods[FIRST_BASELINE..]
        .iter()
        .map(|b| {
            (
                format!(
                    "NDCG@{} beats {}: {:.4} vs {:.4}",
                    report.config.k, b.method, ours.ndcg_at_k, b.ndcg_at_k
                ),
                ours.ndcg_at_k > b.ndcg_at_k,
            )
        })
        .collect();
    out.push((
        format!(
            "online recommendations within {BUDGET_MS} ms: {:.1}% (target ≥ 95%)",
            100.0 * ours.within_budget
        ),
        ours.within_budget >= 0.95,
    ));
    out
}
