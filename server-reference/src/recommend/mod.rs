//! Who should I play with: the jam-member recommender, as a pure library over plain data.
//!
//! No database, no async, no clock: the server (or a benchmark) builds a [`Recommender`] from
//! [`Candidate`]s, the [`RttTable`] of round-trip times measured in earlier sessions and the
//! [`CoJamGraph`] of who played with whom, then asks it for
//! - [`Recommender::recommend`]: ranked musicians for one member, each with a total score, the
//!   per-factor breakdown and a one-line human reason;
//! - [`Recommender::complete_lineup`] ([`lineup`]): the best jointly compatible *set* of musicians
//!   for a list of needed instruments;
//! - [`venues::rank_venues`]: rehearsal rooms for a group.
//!
//! The score is `Σ weight × factor / Σ weight`, every factor in 0..1 and documented with its
//! formula in [`factors`]; online, the place factor is the estimated one-way latency
//! ([`latency`]), in person the travel distance. Pairs that cannot jam are not scored at all:
//! online, an estimated latency above either side's maximum (or no estimate); in person, a
//! distance above [`Query::max_travel_km`] (or no location).
//!
//! ```
//! use tutti_server::recommend::{Candidate, CoJamGraph, GeoPoint, InstrumentSkill, MemberId,
//!     Mode, Query, Recommender, RttTable};
//!
//! let player = |id, instrument: &str, wants: &str, lon| Candidate {
//!     id: MemberId(id),
//!     instruments: vec![InstrumentSkill { name: instrument.into(), skill: 3, years: 5 }],
//!     genres: vec!["funk".into()],
//!     looking_for: vec![wants.into()],
//!     location: Some(GeoPoint { lat: 52.5, lon }),
//!     ..Candidate::default()
//! };
//! let population = vec![player(1, "guitar", "bass", 13.4), player(2, "bass", "guitar", 13.5)];
//! let rec = Recommender::new(population, RttTable::default(), CoJamGraph::default());
//! let top = rec.recommend(MemberId(1), &Query::new(Mode::Online, 10))?;
//! assert_eq!(top[0].member, MemberId(2));
//! assert!(top[0].reason.starts_with("plays bass, which you are looking for"));
//! # Ok::<(), tutti_server::recommend::RecommendError>(())
//! ```

mod explain;
pub mod factors;
pub mod index;
pub mod latency;
pub mod lineup;
pub mod model;
pub mod text;
pub mod venues;

use std::collections::{HashMap, HashSet};

pub use explain::FactorScore;
pub use factors::{CoJamEvidence, Factor};
pub use latency::{LatencyEstimate, LatencySource};
pub use lineup::{GreedyLineup, Lineup, LineupSearch};
pub use model::{
    Candidate, CoJam, CoJamGraph, DEFAULT_MAX_LATENCY_MS, GeoPoint, Goal, InstrumentSkill,
    MemberId, NetworkId, RttTable, Slot,
};

use model::{canonical_instrument, canonical_tag};
use text::{BioModel, BioVector};

/// What the caller got wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecommendError {
    /// The member asked about is not in the population.
    #[error("unknown member {0:?}")]
    UnknownMember(MemberId),
    /// A line-up request with no needed instrument, or more than [`lineup::MAX_NEEDS`].
    #[error("a line-up needs 1 to {max} instruments, got {0}", max = lineup::MAX_NEEDS)]
    BadNeeds(usize),
}

/// Online jam (latency decides) or in the same room (distance decides).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Over the network.
    Online,
    /// In person.
    InPerson,
}

/// The weight of each factor in the total (normalised by their sum).
#[derive(Debug, Clone, Copy, PartialEq)]
#[allow(missing_docs)]
pub struct Weights {
    pub instruments: f64,
    pub genres: f64,
    pub influences: f64,
    pub bio: f64,
    pub skill: f64,
    pub availability: f64,
    pub goals: f64,
    /// Latency online, distance in person.
    pub place: f64,
    pub cojam: f64,
    pub reliability: f64,
}

impl Default for Weights {
    /// Instruments first (a jam needs complementary players), then taste, place and time.
    fn default() -> Self {
        Weights {
            instruments: 0.30,
            genres: 0.14,
            influences: 0.06,
            bio: 0.05,
            skill: 0.08,
            availability: 0.10,
            goals: 0.04,
            place: 0.12,
            cojam: 0.07,
            reliability: 0.04,
        }
    }
}

/// A recommendation request.
#[derive(Debug, Clone)]
pub struct Query {
    /// Online or in person.
    pub mode: Mode,
    /// How many to return.
    pub limit: usize,
    /// Never recommend these (blocked members, members already chosen, hidden profiles).
    pub exclude: HashSet<MemberId>,
    /// In person: farther than this is not recommended, km.
    pub max_travel_km: f64,
}

impl Query {
    /// A query with nobody excluded and a 50 km travel limit.
    pub fn new(mode: Mode, limit: usize) -> Self {
        Query {
            mode,
            limit,
            exclude: HashSet::new(),
            max_travel_km: 50.0,
        }
    }
}

/// One recommended musician.
#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation {
    /// Who.
    pub member: MemberId,
    /// Total score, 0..1: the sum of the breakdown's contributions.
    pub score: f64,
    /// Every factor's value, weight and contribution.
    pub breakdown: Vec<FactorScore>,
    /// Online: the latency estimate with its uncertainty.
    pub latency: Option<LatencyEstimate>,
    /// Distance between the coarse locations, when both are known, km.
    pub distance_km: Option<f64>,
    /// One line: "plays bass, which you are looking for · 4 shared genres · …".
    pub reason: String,
}

/// A member prepared for fast scoring: names interned to sorted ids, bio vectorised,
/// availability in UTC.
#[derive(Debug, Clone)]
struct Prepared {
    plays: Vec<u32>,
    seeks: Vec<u32>,
    genres: Vec<u32>,
    influences: Vec<u32>,
    bio: BioVector,
    week: Vec<(u32, u32)>,
    level: Option<f64>,
    goals: Vec<Goal>,
}

/// Interned names: instruments, genres and influences live in separate namespaces.
#[derive(Debug, Default)]
struct Vocabulary {
    ids: HashMap<(u8, String), u32>,
    display: Vec<String>,
}

const INSTRUMENT: u8 = 0;
const GENRE: u8 = 1;
const INFLUENCE: u8 = 2;

impl Vocabulary {
    fn intern(&mut self, kind: u8, key: String, display: &str) -> u32 {
        let next = self.display.len() as u32;
        *self.ids.entry((kind, key)).or_insert_with(|| {
            self.display.push(display.trim().to_owned());
            next
        })
    }

    fn get(&self, kind: u8, key: String) -> Option<u32> {
        self.ids.get(&(kind, key)).copied()
    }

    fn name(&self, id: u32) -> &str {
        self.display.get(id as usize).map_or("", String::as_str)
    }

    /// Sorted, deduplicated ids of a list of names.
    fn intern_all<'a>(
        &mut self,
        kind: u8,
        names: impl IntoIterator<Item = &'a String>,
        canon: fn(&str) -> String,
    ) -> Vec<u32> {
        let mut ids: Vec<u32> = names
            .into_iter()
            .filter(|n| !n.trim().is_empty())
            .map(|n| self.intern(kind, canon(n), n))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// The recommender over one population, kept current by [`Recommender::upsert`] and
/// [`Recommender::remove`] (each touches one member and the index, never the population).
#[derive(Debug)]
pub struct Recommender {
    members: Vec<Candidate>,
    index: HashMap<MemberId, usize>,
    prepared: Vec<Prepared>,
    vocab: Vocabulary,
    /// Members carrying each tag (genres and influences), for `tag_weight`.
    df: Vec<u32>,
    tag_weight: Vec<f64>,
    /// Fitted on the first population and at each [`Recommender::install_bio_refit`]; bios
    /// added or edited in between reuse its document frequencies.
    bio_model: BioModel,
    /// Bios added, edited or removed since `bio_model` was fitted.
    bio_edits: usize,
    candidates: index::CandidateIndex,
    rtts: RttTable,
    graph: CoJamGraph,
    weights: Weights,
}

impl Recommender {
    /// Prepares a population (a later duplicate id replaces an earlier one).
    pub fn new(members: Vec<Candidate>, rtts: RttTable, graph: CoJamGraph) -> Self {
        let mut members = members;
        let mut index = HashMap::with_capacity(members.len());
        let mut unique = Vec::with_capacity(members.len());
        for m in members.drain(..) {
            match index.get(&m.id) {
                Some(&i) => unique[i] = m,
                None => {
                    index.insert(m.id, unique.len());
                    unique.push(m);
                }
            }
        }
        let bios: Vec<&str> = unique.iter().map(|m| m.bio.as_str()).collect();
        let bio_model = BioModel::fit(&bios);
        let mut rec = Recommender {
            members: Vec::with_capacity(unique.len()),
            index: HashMap::with_capacity(unique.len()),
            prepared: Vec::with_capacity(unique.len()),
            vocab: Vocabulary::default(),
            df: Vec::new(),
            tag_weight: Vec::new(),
            bio_model,
            bio_edits: 0,
            candidates: index::CandidateIndex::default(),
            rtts,
            graph,
            weights: Weights::default(),
        };
        for m in unique {
            rec.insert_one(m);
        }
        rec.refresh_tag_weights();
        rec.bio_edits = 0;
        rec
    }

    /// Adds a member or replaces the member with the same id.
    pub fn upsert(&mut self, member: Candidate) {
        self.insert_one(member);
        self.refresh_tag_weights();
    }

    /// Removes a member; returns whether it was there.
    pub fn remove(&mut self, id: MemberId) -> bool {
        let Some(i) = self.index.remove(&id) else {
            return false;
        };
        let last = self.members.len() - 1;
        self.unlink(i);
        if i != last {
            self.unlink(last);
        }
        self.members.swap_remove(i);
        self.prepared.swap_remove(i);
        self.bio_edits += 1;
        if i != last {
            self.index.insert(self.members[i].id, i);
            self.link(i);
        }
        self.refresh_tag_weights();
        true
    }

    /// The measured round-trip times, to record new ones.
    pub fn rtts_mut(&mut self) -> &mut RttTable {
        &mut self.rtts
    }

    /// Replaces the co-jam graph.
    pub fn set_graph(&mut self, graph: CoJamGraph) {
        self.graph = graph;
    }

    /// The co-jam graph, to record new jams.
    pub fn graph_mut(&mut self) -> &mut CoJamGraph {
        &mut self.graph
    }

    fn insert_one(&mut self, m: Candidate) {
        let p = self.prepare(&m);
        if self.member(m.id).is_none_or(|old| old.bio != m.bio) {
            self.bio_edits += 1;
        }
        match self.index.get(&m.id).copied() {
            Some(i) => {
                self.unlink(i);
                self.members[i] = m;
                self.prepared[i] = p;
                self.link(i);
            }
            None => {
                let i = self.members.len();
                self.index.insert(m.id, i);
                self.members.push(m);
                self.prepared.push(p);
                self.link(i);
            }
        }
    }

    /// Counts member `i`'s tags and files them in the candidate index.
    fn link(&mut self, i: usize) {
        let p = &self.prepared[i];
        self.df.resize(self.vocab.display.len(), 0);
        for &t in p.genres.iter().chain(&p.influences) {
            self.df[t as usize] += 1;
        }
        if !self.members[i].hidden {
            self.candidates.add(i, p, &self.members[i]);
        }
    }

    /// Undoes [`Recommender::link`].
    fn unlink(&mut self, i: usize) {
        let p = &self.prepared[i];
        for &t in p.genres.iter().chain(&p.influences) {
            self.df[t as usize] = self.df[t as usize].saturating_sub(1);
        }
        if !self.members[i].hidden {
            self.candidates.remove(i, p, &self.members[i]);
        }
    }

    /// Tag weights w = ln(1 + N / df), from how many members carry each tag.
    fn refresh_tag_weights(&mut self) {
        let n = self.members.len().max(1) as f64;
        self.df.resize(self.vocab.display.len(), 0);
        self.tag_weight = self
            .df
            .iter()
            .map(|&d| (1.0 + n / f64::from(d.max(1))).ln())
            .collect();
    }

    fn prepare(&mut self, m: &Candidate) -> Prepared {
        let vocab = &mut self.vocab;
        let plays = vocab.intern_all(
            INSTRUMENT,
            m.instruments.iter().map(|i| &i.name),
            canonical_instrument,
        );
        let seeks = vocab.intern_all(INSTRUMENT, &m.looking_for, canonical_instrument);
        let mut goals = m.goals.clone();
        goals.sort_unstable();
        goals.dedup();
        let slots: Vec<(u8, u16, u16)> = m
            .availability
            .iter()
            .map(|s| (s.day, s.start_min, s.end_min))
            .collect();
        Prepared {
            plays,
            seeks,
            genres: vocab.intern_all(GENRE, &m.genres, canonical_tag),
            influences: vocab.intern_all(INFLUENCE, &m.influences, canonical_tag),
            bio: self.bio_model.vector(&m.bio),
            week: factors::utc_week(&slots, m.utc_offset_min),
            level: m
                .instruments
                .iter()
                .map(|i| factors::level(i.skill, i.years))
                .reduce(f64::max),
            goals,
        }
    }

    /// The share of bios added, edited or removed since the bio model was fitted (can exceed 1).
    pub fn bio_drift(&self) -> f64 {
        self.bio_edits as f64 / self.members.len().max(1) as f64
    }

    /// Every member's bio, to fit a new model on ([`text::BioRefit::build`]).
    pub fn bios(&self) -> Vec<(MemberId, String)> {
        self.members.iter().map(|m| (m.id, m.bio.clone())).collect()
    }

    /// Swaps in a model fitted off the request path: members whose bio is as in the refit's
    /// snapshot take its vector, members added or edited since are vectorised now.
    pub fn install_bio_refit(&mut self, refit: text::BioRefit) {
        let text::BioRefit { model, mut vectors } = refit;
        self.bio_edits = 0;
        for (m, p) in self.members.iter().zip(&mut self.prepared) {
            p.bio = match vectors.remove(&m.id) {
                Some((bio, v)) if bio == m.bio => v,
                _ => {
                    self.bio_edits += 1;
                    model.vector(&m.bio)
                }
            };
        }
        self.bio_model = model;
    }

    /// Refits the bio model here and now (for tests and batch jobs; the server builds the refit
    /// on a blocking thread and installs it).
    pub fn refit_bios(&mut self) {
        self.install_bio_refit(text::BioRefit::build(self.bios()));
    }

    /// Replaces the default weights.
    pub fn with_weights(mut self, weights: Weights) -> Self {
        self.weights = weights;
        self
    }

    /// The member's record, if present.
    pub fn member(&self, id: MemberId) -> Option<&Candidate> {
        self.index.get(&id).map(|&i| &self.members[i])
    }

    /// The whole population.
    pub fn members(&self) -> &[Candidate] {
        &self.members
    }

    fn position(&self, id: MemberId) -> Result<usize, RecommendError> {
        self.index
            .get(&id)
            .copied()
            .ok_or(RecommendError::UnknownMember(id))
    }

    /// The top `query.limit` musicians for `seeker`, best first (ties by member id). Never the
    /// seeker, nobody in `query.exclude`, nobody infeasible for `query.mode`.
    pub fn recommend(
        &self,
        seeker: MemberId,
        query: &Query,
    ) -> Result<Vec<Recommendation>, RecommendError> {
        let s = self.position(seeker)?;
        let hood = factors::cojam_neighbourhood(&self.graph, seeker);
        let ranked = self.top_indexed(s, query, &hood, query.limit, index::Pool::Everyone);
        Ok(self.explain_all(s, query, &hood, ranked))
    }

    /// [`Recommender::recommend`] by scoring every member: the reference the index is tested
    /// and benchmarked against.
    pub fn recommend_full_scan(
        &self,
        seeker: MemberId,
        query: &Query,
    ) -> Result<Vec<Recommendation>, RecommendError> {
        let s = self.position(seeker)?;
        let hood = factors::cojam_neighbourhood(&self.graph, seeker);
        let mut ranked = self.ranked(s, query, &hood, 0..self.members.len());
        ranked.truncate(query.limit);
        Ok(self.explain_all(s, query, &hood, ranked))
    }

    fn explain_all(
        &self,
        s: usize,
        query: &Query,
        hood: &HashMap<MemberId, CoJamEvidence>,
        ranked: Vec<(f64, usize)>,
    ) -> Vec<Recommendation> {
        ranked
            .into_iter()
            .filter_map(|(_, c)| self.evaluate(s, c, query, hood, true))
            .collect()
    }

    /// Scores one pair from `seeker`'s side, with the breakdown and reason; `None` when the pair
    /// is infeasible for the mode.
    pub fn score(
        &self,
        seeker: MemberId,
        candidate: MemberId,
        query: &Query,
    ) -> Result<Option<Recommendation>, RecommendError> {
        let (s, c) = (self.position(seeker)?, self.position(candidate)?);
        if s == c || self.members[c].hidden {
            return Ok(None);
        }
        let hood = factors::cojam_neighbourhood(&self.graph, seeker);
        Ok(self.evaluate(s, c, query, &hood, true))
    }

    /// Every feasible, visible candidate among `candidates`, as (score, position), best first.
    fn ranked(
        &self,
        s: usize,
        query: &Query,
        hood: &HashMap<MemberId, CoJamEvidence>,
        candidates: impl Iterator<Item = usize>,
    ) -> Vec<(f64, usize)> {
        let mut scored: Vec<(f64, usize)> = candidates
            .filter(|&c| {
                c != s && !self.members[c].hidden && !query.exclude.contains(&self.members[c].id)
            })
            .filter_map(|c| Some((self.evaluate(s, c, query, hood, false)?.score, c)))
            .collect();
        self.sort_ranked(&mut scored);
        scored
    }

    /// Best first, ties by member id.
    fn sort_ranked(&self, scored: &mut [(f64, usize)]) {
        scored.sort_by(|a, b| {
            b.0.total_cmp(&a.0)
                .then(self.members[a.1].id.cmp(&self.members[b.1].id))
        });
    }

    /// The whole score of candidate `c` for seeker `s`. Notes (and the reason) only when
    /// `explain`, since ranking a population does not need the words.
    fn evaluate(
        &self,
        s: usize,
        c: usize,
        query: &Query,
        hood: &HashMap<MemberId, CoJamEvidence>,
        explain: bool,
    ) -> Option<Recommendation> {
        let (a, b) = (&self.members[s], &self.members[c]);
        let (pa, pb) = (&self.prepared[s], &self.prepared[c]);
        let w = &self.weights;
        let distance_km = match (a.location, b.location) {
            (Some(x), Some(y)) => Some(x.distance_km(y)),
            _ => None,
        };
        let mut latency = None;
        let place = match query.mode {
            Mode::Online => {
                let est = latency::estimate(a, b, &self.rtts);
                let budget = latency::budget_ms(a, b);
                if !latency::online_feasible(est, budget) {
                    return None;
                }
                let e = est?;
                latency = Some(e);
                (
                    Factor::Latency,
                    factors::latency_fit(e.one_way_ms, budget),
                    explain.then(|| explain::latency(&e)),
                )
            }
            Mode::InPerson => {
                let km = distance_km.filter(|&km| km <= query.max_travel_km)?;
                (
                    Factor::Distance,
                    factors::distance_fit(km),
                    explain.then(|| explain::distance(km)),
                )
            }
        };
        let name = |id: Option<u32>| id.map(|i| self.vocab.name(i));
        let fit = factors::instrument_fit(&pa.plays, &pa.seeks, &pb.plays, &pb.seeks);
        let genres = factors::tag_overlap(&pa.genres, &pb.genres, &self.tag_weight);
        let influences = factors::tag_overlap(&pa.influences, &pb.influences, &self.tag_weight);
        let bio = text::cosine(&pa.bio, &pb.bio);
        // Unknown level, time or goals: a neutral 0.5, and nothing said about it.
        let skill = match (pa.level, pb.level) {
            (Some(x), Some(y)) => factors::skill_proximity(x, y),
            _ => 0.5,
        };
        let overlap = factors::availability_overlap(&pa.week, &pb.week);
        let time_known = !pa.week.is_empty() && !pb.week.is_empty();
        let goals = factors::goal_overlap(&pa.goals, &pb.goals);
        let cojam = hood.get(&b.id).copied().unwrap_or_default();
        let parts = [
            (
                Factor::Instruments,
                w.instruments,
                fit.value,
                explain
                    .then(|| explain::instruments(name(fit.offered), name(fit.wanted)))
                    .flatten(),
            ),
            (
                Factor::Genres,
                w.genres,
                genres.value,
                explain
                    .then(|| explain::genres(genres.shared, name(genres.most_specific)))
                    .flatten(),
            ),
            (
                Factor::Influences,
                w.influences,
                influences.value,
                explain
                    .then(|| explain::influences(influences.shared, name(influences.most_specific)))
                    .flatten(),
            ),
            (
                Factor::Bio,
                w.bio,
                bio,
                explain.then(|| explain::bio(bio)).flatten(),
            ),
            (
                Factor::Skill,
                w.skill,
                skill,
                explain
                    .then(|| pa.level.and(pb.level).and(explain::skill(skill)))
                    .flatten(),
            ),
            (
                Factor::Availability,
                w.availability,
                if time_known { overlap.value } else { 0.5 },
                explain
                    .then(|| {
                        explain::availability(overlap.minutes, overlap.longest, a.utc_offset_min)
                    })
                    .flatten(),
            ),
            (
                Factor::Goals,
                w.goals,
                goals.unwrap_or(0.5),
                explain
                    .then(|| {
                        explain::goals(pa.goals.iter().find(|g| pb.goals.contains(g)).copied())
                    })
                    .flatten(),
            ),
            (place.0, w.place, place.1, place.2),
            (
                Factor::CoJam,
                w.cojam,
                cojam.value(),
                explain
                    .then(|| explain::cojam(cojam.direct, cojam.via))
                    .flatten(),
            ),
            (
                Factor::Reliability,
                w.reliability,
                factors::reliability(b.jams_attended, b.no_shows),
                explain
                    .then(|| explain::reliability(b.jams_attended, b.no_shows))
                    .flatten(),
            ),
        ];
        let total_weight: f64 = parts.iter().map(|p| p.1).sum::<f64>().max(f64::EPSILON);
        let breakdown: Vec<FactorScore> = parts
            .into_iter()
            .map(|(factor, weight, value, note)| FactorScore {
                factor,
                value,
                weight,
                contribution: weight * value / total_weight,
                note,
            })
            .collect();
        let score = breakdown.iter().map(|f| f.contribution).sum();
        let reason = if explain {
            explain::reason(&breakdown)
        } else {
            String::new()
        };
        Some(Recommendation {
            member: b.id,
            score,
            breakdown,
            latency,
            distance_km,
            reason,
        })
    }
}

#[cfg(test)]
mod tests;
