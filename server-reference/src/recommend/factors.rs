//! The scoring factors, each a small pure function with its formula in its doc comment. Every
//! factor returns a value in 0..1 (1 = best); the total score weights and sums them.

use std::collections::HashMap;

use super::model::{CoJamGraph, Goal, MemberId};

/// Which factor a value belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Factor {
    /// The candidate plays what the seeker looks for, and the other way round.
    Instruments,
    /// Shared genres, weighted by rarity.
    Genres,
    /// Shared influences, weighted by rarity.
    Influences,
    /// Text similarity of the bios.
    Bio,
    /// Similar level.
    Skill,
    /// Overlapping weekly free time.
    Availability,
    /// Shared goals (casual jam, band, session work, gigs).
    Goals,
    /// Online: estimated one-way latency within the budget.
    Latency,
    /// In person: travel distance.
    Distance,
    /// The co-jam graph: played together before, or with the same people.
    CoJam,
    /// Shows up to agreed jams.
    Reliability,
}

impl Factor {
    /// The name used in API output.
    pub fn name(self) -> &'static str {
        match self {
            Factor::Instruments => "instruments",
            Factor::Genres => "genres",
            Factor::Influences => "influences",
            Factor::Bio => "bio",
            Factor::Skill => "skill",
            Factor::Availability => "availability",
            Factor::Goals => "goals",
            Factor::Latency => "latency",
            Factor::Distance => "distance",
            Factor::CoJam => "co_jam",
            Factor::Reliability => "reliability",
        }
    }
}

/// How well two members' instruments complement what each is looking for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InstrumentFit {
    /// `0.7 × A + 0.3 × B`, where A = 1 if the candidate plays an instrument the seeker looks
    /// for, and B = 1 if the seeker plays one the candidate looks for. A side that looks for
    /// nothing in particular scores 0.5 if the other plays something it does not (a neutral
    /// complement) and 0 otherwise. The seeker's wish weighs more: it is their search.
    pub value: f64,
    /// The instrument the candidate offers that the seeker wants.
    pub offered: Option<u32>,
    /// The instrument the seeker plays that the candidate wants.
    pub wanted: Option<u32>,
}

/// First common element of two sorted lists.
fn first_common(a: &[u32], b: &[u32]) -> Option<u32> {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return Some(a[i]),
        }
    }
    None
}

/// See [`InstrumentFit::value`]. All lists are sorted instrument ids.
pub fn instrument_fit(
    seeker_plays: &[u32],
    seeker_seeks: &[u32],
    cand_plays: &[u32],
    cand_seeks: &[u32],
) -> InstrumentFit {
    let side = |seeks: &[u32], own: &[u32], other_plays: &[u32]| -> (f64, Option<u32>) {
        if seeks.is_empty() {
            let new = other_plays.iter().any(|i| own.binary_search(i).is_err());
            (if new { 0.5 } else { 0.0 }, None)
        } else {
            let hit = first_common(seeks, other_plays);
            (if hit.is_some() { 1.0 } else { 0.0 }, hit)
        }
    };
    let (a, offered) = side(seeker_seeks, seeker_plays, cand_plays);
    let (b, wanted) = side(cand_seeks, cand_plays, seeker_plays);
    InstrumentFit {
        value: 0.7 * a + 0.3 * b,
        offered,
        wanted,
    }
}

/// Overlap of two tag sets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TagOverlap {
    /// Weighted Jaccard: `Σ w(shared) / Σ w(union)`, with `w(tag) = ln(1 + N / df(tag))`
    /// over the population, so sharing a rare tag ("zeuhl") counts more than a common one
    /// ("rock"). 0 when either side has no tags.
    pub value: f64,
    /// How many tags are shared.
    pub shared: usize,
    /// The shared tag with the highest weight (the most telling one).
    pub most_specific: Option<u32>,
}

/// See [`TagOverlap::value`]. Both lists are sorted, deduplicated tag ids; `weight[id]` is the
/// tag's weight.
pub fn tag_overlap(a: &[u32], b: &[u32], weight: &[f64]) -> TagOverlap {
    let w = |t: u32| weight.get(t as usize).copied().unwrap_or(1.0);
    let (mut i, mut j) = (0, 0);
    let (mut shared_w, mut union_w, mut shared) = (0.0, 0.0, 0);
    let mut best: Option<(f64, u32)> = None;
    while i < a.len() || j < b.len() {
        let (x, y) = (a.get(i), b.get(j));
        match (x, y) {
            (Some(&x), Some(&y)) if x == y => {
                shared_w += w(x);
                union_w += w(x);
                shared += 1;
                if best.is_none_or(|(bw, _)| w(x) > bw) {
                    best = Some((w(x), x));
                }
                i += 1;
                j += 1;
            }
            (Some(&x), Some(&y)) if x < y => {
                union_w += w(x);
                i += 1;
            }
            (Some(&x), None) => {
                union_w += w(x);
                i += 1;
            }
            (_, Some(&y)) => {
                union_w += w(y);
                j += 1;
            }
            (None, None) => break,
        }
    }
    TagOverlap {
        value: if union_w > 0.0 {
            shared_w / union_w
        } else {
            0.0
        },
        shared,
        most_specific: best.map(|(_, t)| t),
    }
}

/// A member's level on their best instrument: `skill + 0.5 × min(years, 20) / 20`, so 1.0–5.5;
/// experience separates two players who rate themselves the same.
pub fn level(skill: u8, years: u8) -> f64 {
    f64::from(skill.clamp(1, 5)) + 0.5 * f64::from(years.min(20)) / 20.0
}

/// Skill proximity: `1 − |level_a − level_b| / 4.5` (the widest gap between two levels).
pub fn skill_proximity(level_a: f64, level_b: f64) -> f64 {
    (1.0 - (level_a - level_b).abs() / 4.5).clamp(0.0, 1.0)
}

/// Minutes in a week.
pub const WEEK_MIN: u32 = 7 * 24 * 60;

/// Weekly availability as sorted, merged `[start, end)` intervals in UTC minutes of the week
/// (Monday 00:00 UTC = 0). Built from local slots and the member's UTC offset; a slot that
/// crosses the week boundary in UTC is split in two.
pub fn utc_week(slots: &[(u8, u16, u16)], utc_offset_min: i16) -> Vec<(u32, u32)> {
    let week = i64::from(WEEK_MIN);
    let mut out = Vec::with_capacity(slots.len() + 1);
    for &(day, start, end) in slots {
        let (start, end) = (i64::from(start.min(1440)), i64::from(end.min(1440)));
        if day > 6 || end <= start {
            continue;
        }
        let s = (i64::from(day) * 1440 + start - i64::from(utc_offset_min)).rem_euclid(week);
        let len = end - start;
        if s + len <= week {
            out.push((s as u32, (s + len) as u32));
        } else {
            out.push((s as u32, WEEK_MIN));
            out.push((0, (s + len - week) as u32));
        }
    }
    out.sort_unstable();
    let mut merged: Vec<(u32, u32)> = Vec::with_capacity(out.len());
    for (s, e) in out {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// Shared weekly free time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Overlap {
    /// `min(1, shared minutes / 180)`: three shared hours a week are enough for a weekly jam.
    pub value: f64,
    /// Shared minutes per week.
    pub minutes: u32,
    /// The longest shared window, UTC minutes of the week.
    pub longest: Option<(u32, u32)>,
}

/// See [`Overlap::value`]. Both inputs come from [`utc_week`].
pub fn availability_overlap(a: &[(u32, u32)], b: &[(u32, u32)]) -> Overlap {
    let (mut i, mut j, mut minutes) = (0, 0, 0);
    let mut longest: Option<(u32, u32)> = None;
    while i < a.len() && j < b.len() {
        let (s, e) = (a[i].0.max(b[j].0), a[i].1.min(b[j].1));
        if e > s {
            minutes += e - s;
            if longest.is_none_or(|(ls, le)| e - s > le - ls) {
                longest = Some((s, e));
            }
        }
        if a[i].1 < b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    Overlap {
        value: (f64::from(minutes) / 180.0).min(1.0),
        minutes,
        longest,
    }
}

/// Shared goals: Jaccard `|a ∩ b| / |a ∪ b|` of the two (sorted, deduplicated) goal sets;
/// `None` when either side stated none.
pub fn goal_overlap(a: &[Goal], b: &[Goal]) -> Option<f64> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let shared = a.iter().filter(|g| b.contains(g)).count();
    Some(shared as f64 / (a.len() + b.len() - shared) as f64)
}

/// Online: `1 − one_way / budget`, clamped to 0..1 — full marks next door, zero at the budget.
pub fn latency_fit(one_way_ms: f64, budget_ms: f64) -> f64 {
    if budget_ms <= 0.0 {
        return 0.0;
    }
    (1.0 - one_way_ms / budget_ms).clamp(0.0, 1.0)
}

/// In person: `exp(−km / 15)` — ~0.5 at 10 km (a typical cross-city trip), ~0.04 at 50 km.
pub fn distance_fit(km: f64) -> f64 {
    (-km.max(0.0) / 15.0).exp()
}

/// Reliability: `(attended + 4) / (attended + no_shows + 5)`, the mean of a Beta(4, 1) prior
/// updated with the record — a newcomer starts at 0.8, each no-show pulls it down, each attended
/// jam back up.
pub fn reliability(attended: u32, no_shows: u32) -> f64 {
    (f64::from(attended) + 4.0) / (f64::from(attended) + f64::from(no_shows) + 5.0)
}

/// Weight of a post-jam rating (1–5) as evidence: `(rating − 1) / 4`, so 1 = nothing, 5 = full.
pub fn rating_weight(rating: f64) -> f64 {
    ((rating - 1.0) / 4.0).clamp(0.0, 1.0)
}

/// What the co-jam graph says about one candidate, seen from one seeker.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CoJamEvidence {
    /// Two-hop evidence `Σ over shared partners n of w(s,n) × w(n,c) / ln(2 + degree(n))`,
    /// with `w` = [`rating_weight`]: good jams with the same people, hubs discounted
    /// (Adamic–Adar).
    pub two_hop: f64,
    /// How many partners the two share.
    pub via: u32,
    /// The pair's own mean rating, if they played together.
    pub direct: Option<f64>,
}

impl CoJamEvidence {
    /// The factor: the direct rating's weight when they played together (a good jam is the best
    /// predictor of another), else `1 − exp(−2 × two_hop)`.
    pub fn value(&self) -> f64 {
        match self.direct {
            Some(r) => rating_weight(r),
            None => 1.0 - (-2.0 * self.two_hop).exp(),
        }
    }
}

/// The seeker's co-jam neighbourhood: evidence for every member within two hops, computed once
/// per seeker (a walk over partners of partners, not a scan of the population).
pub fn cojam_neighbourhood(
    graph: &CoJamGraph,
    seeker: MemberId,
) -> HashMap<MemberId, CoJamEvidence> {
    let mut out: HashMap<MemberId, CoJamEvidence> = HashMap::new();
    for first in graph.partners(seeker) {
        out.entry(first.partner).or_default().direct = Some(first.rating);
        let w1 = rating_weight(first.rating);
        let hub = (2.0 + graph.degree(first.partner) as f64).ln();
        for second in graph.partners(first.partner) {
            if second.partner == seeker {
                continue;
            }
            let e = out.entry(second.partner).or_default();
            e.two_hop += w1 * rating_weight(second.rating) / hub;
            e.via += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn instrument_fit_weighs_the_seekers_wish_more() {
        // ids: 1 guitar, 2 bass, 3 drums.
        let full = instrument_fit(&[1], &[2], &[2], &[1]);
        assert_eq!(
            (full.value, full.offered, full.wanted),
            (1.0, Some(2), Some(1))
        );
        assert_eq!(instrument_fit(&[1], &[2], &[2], &[3]).value, 0.7);
        assert!((instrument_fit(&[1], &[2], &[3], &[1]).value - 0.3).abs() < 1e-12);
        // Nobody seeks anything: a different instrument is a neutral complement, the same is not.
        assert_eq!(instrument_fit(&[1], &[], &[3], &[]).value, 0.5);
        assert_eq!(instrument_fit(&[1], &[], &[1], &[]).value, 0.0);
    }

    #[test]
    fn rare_shared_tags_count_more() {
        // Tag 0 is common (low weight), tag 1 rare.
        let weight = [0.2, 3.0, 1.0, 1.0];
        let common = tag_overlap(&[0, 2], &[0, 3], &weight);
        let rare = tag_overlap(&[1, 2], &[1, 3], &weight);
        assert!(rare.value > common.value);
        assert_eq!((rare.shared, rare.most_specific), (1, Some(1)));
        assert!((rare.value - 3.0 / 5.0).abs() < 1e-12);
        assert_eq!(tag_overlap(&[], &[1], &weight).value, 0.0);
        assert_eq!(tag_overlap(&[0, 1], &[0, 1], &weight).value, 1.0);
    }

    #[test]
    fn availability_in_utc_and_across_the_week_boundary() {
        // Berlin (UTC+60) Tuesday 19–22 and London (UTC+0) Tuesday 18–20: 18–20 UTC vs 18–20
        // UTC → 120 shared minutes.
        let berlin = utc_week(&[(1, 19 * 60, 22 * 60)], 60);
        let london = utc_week(&[(1, 18 * 60, 20 * 60)], 0);
        let o = availability_overlap(&berlin, &london);
        assert_eq!(o.minutes, 120);
        assert!((o.value - 120.0 / 180.0).abs() < 1e-12);
        assert_eq!(o.longest, Some((1440 + 18 * 60, 1440 + 20 * 60)));
        // Monday 00:30–02:00 in UTC+2 is Sunday 22:30–24:00 UTC.
        let early = utc_week(&[(0, 30, 120)], 120);
        assert_eq!(early, vec![(WEEK_MIN - 90, WEEK_MIN)]);
        // Sunday 23:00–24:00 in UTC−2 is Monday 01:00–02:00 UTC: the wrap goes the other way.
        assert_eq!(utc_week(&[(6, 23 * 60, 1440)], -120), vec![(60, 120)]);
        // A slot crossing the boundary splits.
        assert_eq!(
            utc_week(&[(6, 22 * 60, 1440)], -60),
            vec![(0, 60), (WEEK_MIN - 60, WEEK_MIN)]
        );
        // Nothing shared, nothing longest.
        assert_eq!(availability_overlap(&berlin, &early).longest, None);
    }

    #[test]
    fn small_factors_follow_their_formulas() {
        assert_eq!(skill_proximity(3.0, 3.0), 1.0);
        assert_eq!(skill_proximity(1.0, 5.5), 0.0);
        assert_eq!(level(9, 200), 5.5);
        assert_eq!(latency_fit(0.0, 25.0), 1.0);
        assert_eq!(latency_fit(12.5, 25.0), 0.5);
        assert_eq!(latency_fit(40.0, 25.0), 0.0);
        assert!((distance_fit(15.0) - (-1.0f64).exp()).abs() < 1e-12);
        assert_eq!(reliability(0, 0), 0.8);
        assert!(reliability(10, 0) > reliability(0, 0));
        assert!(reliability(10, 5) < reliability(10, 0));
        assert_eq!(goal_overlap(&[Goal::Band], &[]), None);
        assert_eq!(
            goal_overlap(&[Goal::Band, Goal::Gigs], &[Goal::Band]),
            Some(0.5)
        );
    }

    #[test]
    fn cojam_two_hop_and_direct() {
        let mut g = CoJamGraph::default();
        let (s, n, c, far) = (MemberId(1), MemberId(2), MemberId(3), MemberId(4));
        g.record(s, n, 5.0);
        g.record(n, c, 5.0);
        g.record(c, far, 5.0);
        let hood = cojam_neighbourhood(&g, s);
        let e = hood.get(&c).copied().expect("two hops away");
        assert_eq!((e.via, e.direct), (1, None));
        assert!((e.two_hop - 1.0 / 4.0f64.ln()).abs() < 1e-12);
        assert!(e.value() > 0.0 && e.value() < 1.0);
        assert!(!hood.contains_key(&far), "three hops is out of reach");
        assert_eq!(hood.get(&n).map(CoJamEvidence::value), Some(1.0));
        g.record(s, c, 1.0);
        let e = cojam_neighbourhood(&g, s).get(&c).copied().expect("direct");
        assert_eq!(
            e.value(),
            0.0,
            "a bad direct jam overrides friends of friends"
        );
    }

    proptest! {
        #[test]
        fn factors_stay_in_range_and_symmetric_ones_are(
            a in proptest::collection::vec((0u8..7, 0u16..1440, 1u16..=1440), 0..6),
            b in proptest::collection::vec((0u8..7, 0u16..1440, 1u16..=1440), 0..6),
            oa in -720i16..=840, ob in -720i16..=840,
            ta in proptest::collection::btree_set(0u32..20, 0..8),
            tb in proptest::collection::btree_set(0u32..20, 0..8),
            la in 1.0f64..5.5, lb in 1.0f64..5.5,
        ) {
            let (wa, wb) = (utc_week(&a, oa), utc_week(&b, ob));
            for w in [&wa, &wb] {
                prop_assert!(w.windows(2).all(|p| p[0].1 < p[1].0));
                prop_assert!(w.iter().all(|&(s, e)| s < e && e <= WEEK_MIN));
            }
            let o = availability_overlap(&wa, &wb);
            prop_assert_eq!(o.minutes, availability_overlap(&wb, &wa).minutes);
            prop_assert!((0.0..=1.0).contains(&o.value));
            let weight: Vec<f64> = (0..20).map(|i| 0.5 + f64::from(i) / 10.0).collect();
            let (ta, tb): (Vec<u32>, Vec<u32>) = (ta.into_iter().collect(), tb.into_iter().collect());
            let t = tag_overlap(&ta, &tb, &weight);
            prop_assert!((0.0..=1.0 + 1e-12).contains(&t.value));
            prop_assert!((t.value - tag_overlap(&tb, &ta, &weight).value).abs() < 1e-12);
            prop_assert_eq!(skill_proximity(la, lb), skill_proximity(lb, la));
        }
    }
}
