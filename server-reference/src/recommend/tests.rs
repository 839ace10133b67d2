//! Properties of the whole score: exclusions, symmetry, explanations, band completion.

#![allow(clippy::unwrap_used)]

use super::lineup::GreedyLineup;
use super::*;

/// Deterministic small generator (SplitMix64), so the tests need no RNG crate.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const INSTRUMENTS: [&str; 6] = ["guitar", "bass", "drums", "vocals", "keys", "sax"];
const GENRES: [&str; 8] = [
    "rock", "jazz", "funk", "metal", "folk", "soul", "punk", "blues",
];
const ARTISTS: [&str; 6] = [
    "Miles Davis",
    "Bowie",
    "Metallica",
    "Nina Simone",
    "Fela Kuti",
    "Björk",
];
const WORDS: [&str; 8] = [
    "groove",
    "improvise",
    "riffs",
    "standards",
    "loud",
    "quiet",
    "grooves",
    "tour",
];

/// A random population spread over Europe, with some measured RTTs and co-jams.
fn population(seed: u64, n: u64) -> (Vec<Candidate>, RttTable, CoJamGraph) {
    let mut g = Gen(seed);
    let members: Vec<Candidate> = (0..n)
        .map(|id| Candidate {
            id: MemberId(id),
            instruments: vec![InstrumentSkill {
                name: g.pick(&INSTRUMENTS).into(),
                skill: 1 + g.below(5) as u8,
                years: g.below(30) as u8,
            }],
            genres: (0..1 + g.below(3))
                .map(|_| g.pick(&GENRES).into())
                .collect(),
            influences: (0..g.below(3)).map(|_| g.pick(&ARTISTS).into()).collect(),
            bio: (0..g.below(6))
                .map(|_| g.pick(&WORDS))
                .collect::<Vec<_>>()
                .join(" "),
            location: (g.below(10) > 0).then(|| GeoPoint {
                lat: 40.0 + 20.0 * g.unit(),
                lon: -5.0 + 30.0 * g.unit(),
            }),
            utc_offset_min: [0, 60, 120][g.below(3) as usize],
            availability: (0..g.below(4))
                .map(|_| {
                    let start = 8 * 60 + g.below(12) as u16 * 60;
                    Slot {
                        day: g.below(7) as u8,
                        start_min: start,
                        end_min: start + 180,
                    }
                })
                .collect(),
            looking_for: (0..g.below(3))
                .map(|_| g.pick(&INSTRUMENTS).into())
                .collect(),
            goals: if g.below(2) == 0 {
                vec![Goal::Band]
            } else {
                vec![Goal::CasualJam, Goal::Gigs]
            },
            max_latency_ms: (g.below(3) == 0).then(|| 10.0 + 30.0 * g.unit()),
            network: Some(NetworkId(g.below(8))),
            jams_attended: g.below(20) as u32,
            no_shows: g.below(3) as u32,
            hidden: g.below(12) == 0,
        })
        .collect();
    let mut rtts = RttTable::default();
    let mut graph = CoJamGraph::default();
    for _ in 0..n {
        let (a, b) = (MemberId(g.below(n)), MemberId(g.below(n)));
        rtts.insert_pair(a, b, 5.0 + 60.0 * g.unit());
        graph.record(a, b, 1.0 + 4.0 * g.unit());
    }
    rtts.insert_network(NetworkId(1), NetworkId(2), 12.0);
    (members, rtts, graph)
}

fn recommender(seed: u64, n: u64) -> Recommender {
    let (m, r, g) = population(seed, n);
    Recommender::new(m, r, g)
}

#[test]
fn never_self_never_excluded_and_sorted() {
    let rec = recommender(1, 200);
    for seeker in (0..200).step_by(17).map(MemberId) {
        for mode in [Mode::Online, Mode::InPerson] {
            let mut q = Query::new(mode, 20);
            q.exclude.extend([MemberId(3), MemberId(5), MemberId(8)]);
            let top = rec.recommend(seeker, &q).unwrap();
            assert!(top.len() <= 20);
            assert!(
                top.iter()
                    .all(|r| r.member != seeker && !q.exclude.contains(&r.member))
            );
            assert!(top.windows(2).all(|w| w[0].score >= w[1].score));
        }
    }
    assert!(matches!(
        rec.recommend(MemberId(999), &Query::new(Mode::Online, 5)),
        Err(RecommendError::UnknownMember(MemberId(999)))
    ));
}

#[test]
fn online_cutoff_holds_for_both_sides() {
    let rec = recommender(2, 300);
    let q = Query::new(Mode::Online, 300);
    for seeker in (0..300).step_by(7).map(MemberId) {
        let s = rec.member(seeker).unwrap();
        let top = rec.recommend(seeker, &q).unwrap();
        for r in &top {
            let c = rec.member(r.member).unwrap();
            let e = r
                .latency
                .expect("online recommendations carry their estimate");
            assert!(e.one_way_ms <= s.max_latency_ms.unwrap_or(DEFAULT_MAX_LATENCY_MS));
            assert!(e.one_way_ms <= c.max_latency_ms.unwrap_or(DEFAULT_MAX_LATENCY_MS));
        }
        // And everyone left out who is not excluded for another reason is indeed too far.
        let shown: HashSet<MemberId> = top.iter().map(|r| r.member).collect();
        for c in rec
            .members()
            .iter()
            .filter(|c| c.id != seeker && !c.hidden && !shown.contains(&c.id))
        {
            let e = latency::estimate(s, c, &rec.rtts);
            assert!(!latency::online_feasible(e, latency::budget_ms(s, c)));
        }
    }
}

#[test]
fn in_person_respects_the_travel_limit() {
    let rec = recommender(3, 200);
    let mut q = Query::new(Mode::InPerson, 200);
    q.max_travel_km = 300.0;
    for seeker in (0..200).step_by(11).map(MemberId) {
        for r in rec.recommend(seeker, &q).unwrap() {
            assert!(r.distance_km.unwrap() <= 300.0);
            assert!(r.latency.is_none());
        }
    }
}

#[test]
fn symmetric_factors_are_symmetric() {
    let rec = recommender(4, 120);
    let symmetric = [
        Factor::Genres,
        Factor::Influences,
        Factor::Bio,
        Factor::Skill,
        Factor::Availability,
        Factor::Goals,
        Factor::Latency,
        Factor::Distance,
    ];
    for mode in [Mode::Online, Mode::InPerson] {
        let mut q = Query::new(mode, 0);
        q.max_travel_km = 5000.0;
        for a in (0..120).step_by(5).map(MemberId) {
            for b in (1..120).step_by(9).map(MemberId) {
                if rec.member(a).unwrap().hidden || rec.member(b).unwrap().hidden {
                    continue; // hidden members are never scored as candidates
                }
                let ab = rec.score(a, b, &q).unwrap();
                let ba = rec.score(b, a, &q).unwrap();
                assert_eq!(ab.is_some(), ba.is_some(), "feasibility is symmetric");
                let (Some(ab), Some(ba)) = (ab, ba) else {
                    continue;
                };
                for f in symmetric {
                    let v = |r: &Recommendation| {
                        r.breakdown.iter().find(|s| s.factor == f).map(|s| s.value)
                    };
                    assert_eq!(v(&ab), v(&ba), "{f:?} for {a:?}/{b:?}");
                }
                assert_eq!(ab.latency, ba.latency);
            }
        }
    }
}

#[test]
fn reasons_match_the_breakdown() {
    let rec = recommender(5, 200);
    for mode in [Mode::Online, Mode::InPerson] {
        let mut q = Query::new(mode, 10);
        q.max_travel_km = 2000.0;
        for seeker in (0..200).step_by(13).map(MemberId) {
            for r in rec.recommend(seeker, &q).unwrap() {
                let total: f64 = r.breakdown.iter().map(|f| f.contribution).sum();
                assert!((total - r.score).abs() < 1e-12);
                assert!((0.0..=1.0).contains(&r.score));
                let notes: Vec<&str> = r
                    .breakdown
                    .iter()
                    .filter_map(|f| f.note.as_deref())
                    .collect();
                assert!(!r.reason.is_empty(), "the place is always said");
                for phrase in r.reason.split(" · ") {
                    assert!(notes.contains(&phrase), "{phrase:?} not in {notes:?}");
                }
                // The place phrase is always there.
                let place = r
                    .breakdown
                    .iter()
                    .find(|f| matches!(f.factor, Factor::Latency | Factor::Distance))
                    .and_then(|f| f.note.clone())
                    .unwrap();
                assert!(r.reason.contains(&place));
            }
        }
    }
}

fn player(id: u64, instrument: &str, lat: f64, lon: f64) -> Candidate {
    Candidate {
        id: MemberId(id),
        instruments: vec![InstrumentSkill {
            name: instrument.into(),
            skill: 4,
            years: 10,
        }],
        genres: vec!["funk".into(), "soul".into()],
        location: Some(GeoPoint { lat, lon }),
        availability: vec![Slot {
            day: 1,
            start_min: 19 * 60,
            end_min: 22 * 60,
        }],
        utc_offset_min: 60,
        ..Candidate::default()
    }
}

#[test]
fn reason_for_a_clear_match() {
    let mut seeker = player(1, "guitar", 52.5, 13.4);
    seeker.looking_for = vec!["bass".into()];
    let mut bassist = player(2, "Bass guitar", 52.4, 13.1);
    bassist.genres.extend(["jazz".into(), "afrobeat".into()]);
    seeker.genres.extend(["jazz".into(), "afrobeat".into()]);
    let filler: Vec<Candidate> = (10..40).map(|i| player(i, "vocals", 48.0, 11.0)).collect();
    let mut all = vec![seeker, bassist];
    all.extend(filler);
    let rec = Recommender::new(all, RttTable::default(), CoJamGraph::default());
    let r = rec
        .score(MemberId(1), MemberId(2), &Query::new(Mode::Online, 1))
        .unwrap()
        .unwrap();
    assert_eq!(
        r.reason,
        "plays bass, which you are looking for · 4 shared genres · about 4 ms away (±4) · \
         free Tuesday evenings"
    );
}

/// Seeker in Berlin needs drums and bass. The best drummer for them is in Lisbon and the best
/// bassist in Moscow — each fine with Berlin, but ~33 ms from each other. Slightly lesser
/// players sit in Prague and Vienna.
fn band_case() -> Recommender {
    let mut seeker = player(1, "guitar", 52.5, 13.4);
    seeker.looking_for = vec!["drums".into(), "bass".into()];
    let mut lisbon = player(2, "drums", 38.7, -9.1);
    let mut moscow = player(3, "bass", 55.8, 37.6);
    for star in [&mut lisbon, &mut moscow] {
        star.genres.extend(["afrobeat".into(), "highlife".into()]);
        star.influences = vec!["Fela Kuti".into()];
    }
    seeker.genres.extend(["afrobeat".into(), "highlife".into()]);
    seeker.influences = vec!["Fela Kuti".into()];
    let prague = player(4, "drums", 50.1, 14.4);
    let vienna = player(5, "bass", 48.2, 16.4);
    let mut all = vec![seeker, lisbon, moscow, prague, vienna];
    all.extend((10..30).map(|i| player(i, "vocals", 45.0, 5.0)));
    Recommender::new(all, RttTable::default(), CoJamGraph::default())
}

#[test]
fn band_completion_beats_greedy_and_keeps_every_pair_in_budget() {
    let rec = band_case();
    let q = Query::new(Mode::Online, 10);
    let needs = ["drums", "bass"];
    let GreedyLineup {
        members: greedy,
        score: greedy_score,
    } = rec.greedy_lineup(MemberId(1), &needs, &q).unwrap().unwrap();
    assert_eq!(
        greedy,
        vec![MemberId(2), MemberId(3)],
        "greedy takes each instrument's star"
    );
    assert_eq!(greedy_score, None, "and Lisbon–Moscow cannot jam");

    let lineup = rec
        .complete_lineup(MemberId(1), &needs, &q)
        .unwrap()
        .unwrap();
    assert_eq!(lineup.search, LineupSearch::Exact);
    let ids: Vec<MemberId> = lineup.members.iter().map(|(_, m)| *m).collect();
    assert_ne!(ids, greedy);
    assert!(lineup.score > 0.0);
    let mut everyone = vec![MemberId(1)];
    everyone.extend(&ids);
    for (i, &a) in everyone.iter().enumerate() {
        for &b in &everyone[i + 1..] {
            let (ma, mb) = (rec.member(a).unwrap(), rec.member(b).unwrap());
            let e = latency::estimate(ma, mb, &rec.rtts).unwrap();
            assert!(
                e.one_way_ms <= latency::budget_ms(ma, mb),
                "{a:?}-{b:?}: {e:?}"
            );
        }
    }
    // And it is the best feasible pair of the candidates: check every alternative by hand.
    let pair = |a: u64, b: u64| {
        let ab = rec.score(MemberId(a), MemberId(b), &q).unwrap()?.score;
        let ba = rec.score(MemberId(b), MemberId(a), &q).unwrap()?.score;
        Some((ab + ba) / 2.0)
    };
    let joint = |d: u64, b: u64| Some((pair(1, d)? + pair(1, b)? + pair(d, b)?) / 3.0);
    for (d, b) in [(2, 5), (4, 3), (4, 5)] {
        if let Some(alt) = joint(d, b) {
            assert!(
                lineup.score >= alt - 1e-12,
                "({d},{b}) {alt} > {}",
                lineup.score
            );
        }
    }
}

#[test]
fn band_completion_when_greedy_is_feasible_is_at_least_as_good() {
    let rec = recommender(6, 250);
    let q = Query::new(Mode::Online, 10);
    let needs = ["drums", "bass", "vocals"];
    let mut compared = 0;
    for seeker in (0..250).step_by(10).map(MemberId) {
        let Some(lineup) = rec.complete_lineup(seeker, &needs, &q).unwrap() else {
            continue;
        };
        if let Some(GreedyLineup {
            score: Some(greedy),
            ..
        }) = rec.greedy_lineup(seeker, &needs, &q).unwrap()
        {
            assert!(
                lineup.score >= greedy - 1e-12,
                "{} < {greedy}",
                lineup.score
            );
            compared += 1;
        }
        let ids: HashSet<MemberId> = lineup.members.iter().map(|(_, m)| *m).collect();
        assert_eq!(ids.len(), 3, "distinct people");
        assert!(!ids.contains(&seeker));
    }
    assert!(compared > 0);
}

#[test]
fn line_up_requests_are_checked() {
    let rec = band_case();
    let q = Query::new(Mode::Online, 10);
    assert!(matches!(
        rec.complete_lineup(MemberId(1), &[], &q),
        Err(RecommendError::BadNeeds(0))
    ));
    assert!(matches!(
        rec.complete_lineup(MemberId(1), &["drums"; 7], &q),
        Err(RecommendError::BadNeeds(7))
    ));
    assert_eq!(
        rec.complete_lineup(MemberId(1), &["theremin"], &q).unwrap(),
        None
    );
}

#[test]
fn many_needs_use_the_beam_search() {
    let rec = recommender(7, 400);
    let q = Query::new(Mode::Online, 10);
    let needs = ["drums", "bass", "vocals", "keys", "sax", "guitar"];
    let found = (0..400)
        .step_by(40)
        .filter_map(|s| rec.complete_lineup(MemberId(s), &needs, &q).unwrap())
        .inspect(|l| {
            assert_eq!(
                l.search,
                LineupSearch::Beam {
                    width: lineup::BEAM_WIDTH
                }
            )
        })
        .count();
    assert!(found > 0);
}

/// The indexed top list equals the full scan's, for every seeker sampled, both modes, with
/// exclusions, on a fresh index and on one changed by upserts and removals.
fn assert_index_matches_full_scan(rec: &Recommender, seed: u64) {
    let ids: Vec<MemberId> = rec.members().iter().map(|m| m.id).collect();
    for (k, &seeker) in ids.iter().enumerate().filter(|(k, _)| k % 7 == 0) {
        for mode in [Mode::Online, Mode::InPerson] {
            for limit in [1, 10, 40] {
                let mut q = Query::new(mode, limit);
                q.exclude.insert(ids[(k * 31 + 5) % ids.len()]);
                let fast = rec.recommend(seeker, &q).unwrap();
                let full = rec.recommend_full_scan(seeker, &q).unwrap();
                assert_eq!(
                    fast, full,
                    "seed {seed}, seeker {seeker:?}, {mode:?}, top {limit}"
                );
                assert_players_match_full_scan(rec, seeker, &q, seed);
            }
        }
    }
}

/// A line-up pool (the top players of one instrument, through the index) equals the ranking of
/// every player of it.
fn assert_players_match_full_scan(rec: &Recommender, seeker: MemberId, q: &Query, seed: u64) {
    let s = rec.position(seeker).unwrap();
    let hood = factors::cojam_neighbourhood(&rec.graph, seeker);
    for name in ["drums", "bass"] {
        let Some(i) = rec.vocab.get(INSTRUMENT, canonical_instrument(name)) else {
            continue;
        };
        let fast = rec.top_indexed(s, q, &hood, q.limit, index::Pool::Players(i));
        let players = (0..rec.members.len()).filter(|&c| rec.prepared[c].plays.contains(&i));
        let mut full = rec.ranked(s, q, &hood, players);
        full.truncate(q.limit);
        assert_eq!(fast, full, "seed {seed}, seeker {seeker:?}, {name} players");
    }
}

/// [`population`] with two exact copies of every member (so scores tie and member ids decide
/// who makes the cut) and a third of the members on tight latency budgets of 5–9 ms (so the
/// online cut-off runs through the population, a few hundred km from each seeker).
fn population_with_ties(seed: u64, n: u64) -> (Vec<Candidate>, RttTable, CoJamGraph) {
    let (members, rtts, graph) = population(seed, n);
    let mut g = Gen(seed ^ 0x7135);
    let mut all = Vec::with_capacity(members.len() * 3);
    for m in members {
        let mut m = m;
        if g.below(3) == 0 {
            m.max_latency_ms = Some(5.0 + 4.0 * g.unit());
        }
        for copy in [1, 2] {
            all.push(Candidate {
                id: MemberId(m.id.0 + copy * 10_000),
                ..m.clone()
            });
        }
        all.push(m);
    }
    (all, rtts, graph)
}

#[test]
fn a_tie_at_the_cut_goes_to_the_lower_ids() {
    let mut seeker = player(1, "guitar", 52.5, 13.4);
    seeker.looking_for = vec!["bass".into()];
    // Thirty identical bassists next door, listed in descending id order.
    let mut all = vec![seeker];
    all.extend((100..130).rev().map(|i| player(i, "bass", 52.5, 13.4)));
    let rec = Recommender::new(all, RttTable::default(), CoJamGraph::default());
    for mode in [Mode::Online, Mode::InPerson] {
        let q = Query::new(mode, 10);
        let top = rec.recommend(MemberId(1), &q).unwrap();
        let ids: Vec<u64> = top.iter().map(|r| r.member.0).collect();
        assert_eq!(ids, (100..110).collect::<Vec<_>>());
        assert_eq!(top, rec.recommend_full_scan(MemberId(1), &q).unwrap());
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(12))]

    #[test]
    fn index_results_equal_full_scan_with_ties_and_tight_budgets(seed in 0u64..1_000_000) {
        let (members, rtts, graph) = population_with_ties(seed, 60);
        let rec = Recommender::new(members, rtts, graph);
        assert_index_matches_full_scan(&rec, seed);
    }

    #[test]
    fn index_results_equal_full_scan(seed in 0u64..1_000_000) {
        let (members, rtts, graph) = population(seed, 150);
        let mut rec = Recommender::new(members.clone(), rtts, graph);
        assert_index_matches_full_scan(&rec, seed);
        // Change the population: remove some, move and re-tag others, add new ones.
        let mut g = Gen(seed ^ 0xABCD);
        for m in members.iter().filter(|_| g.below(5) == 0) {
            rec.remove(m.id);
        }
        for m in &members {
            if g.below(5) != 0 {
                continue;
            }
            let mut changed = m.clone();
            changed.location = Some(GeoPoint { lat: 45.0 + 5.0 * g.unit(), lon: 5.0 * g.unit() });
            changed.looking_for = vec![g.pick(&INSTRUMENTS).into()];
            changed.genres.push(g.pick(&GENRES).into());
            changed.hidden = g.below(4) == 0;
            rec.upsert(changed);
        }
        assert!(!rec.remove(MemberId(999_999)));
        assert_index_matches_full_scan(&rec, seed);
    }
}

#[test]
fn hidden_members_are_never_recommended_but_may_ask() {
    let rec = recommender(3, 300);
    let hidden: Vec<MemberId> = rec
        .members()
        .iter()
        .filter(|m| m.hidden)
        .map(|m| m.id)
        .collect();
    assert!(!hidden.is_empty());
    for &seeker in &hidden {
        for mode in [Mode::Online, Mode::InPerson] {
            let top = rec.recommend(seeker, &Query::new(mode, 300)).unwrap();
            assert!(top.iter().all(|r| !hidden.contains(&r.member)));
        }
    }
    let some = rec.members().iter().find(|m| !m.hidden).unwrap().id;
    let top = rec.recommend(some, &Query::new(Mode::Online, 300)).unwrap();
    assert!(top.iter().all(|r| !hidden.contains(&r.member)));
    assert!(
        rec.score(some, hidden[0], &Query::new(Mode::Online, 1))
            .unwrap()
            .is_none()
    );
}

/// The bio factor of `b` seen from `a` (in person, everyone in one town).
fn bio_similarity(rec: &Recommender, a: u64, b: u64) -> f64 {
    let r = rec
        .score(MemberId(a), MemberId(b), &Query::new(Mode::InPerson, 10))
        .unwrap()
        .unwrap();
    r.breakdown
        .iter()
        .find(|f| f.factor == Factor::Bio)
        .unwrap()
        .value
}

#[test]
fn a_refit_weighs_terms_by_how_rare_they_are_now() {
    let member = |id, bio: &str| Candidate {
        id: MemberId(id),
        bio: bio.into(),
        location: Some(GeoPoint {
            lat: 52.5,
            lon: 13.4,
        }),
        ..Candidate::default()
    };
    let others = [
        "punk", "blues", "soul", "folk", "funk", "metal", "opera", "ska",
    ];
    // At fit time nearly everyone mentions a theremin: the word carries little weight.
    let mut members = vec![member(0, "theremin player, ambient drones")];
    for (i, genre) in others.iter().enumerate() {
        members.push(member(
            i as u64 + 1,
            &format!("I own a theremin and play {genre}"),
        ));
    }
    members.push(member(9, "cello"));
    let mut rec = Recommender::new(members, RttTable::default(), CoJamGraph::default());
    assert_eq!(rec.bio_drift(), 0.0);

    // Then most drop it, and member 1 rewrites their bio around it with words never seen.
    for (i, genre) in others.iter().enumerate().skip(1) {
        rec.upsert(member(i as u64 + 1, &format!("I play {genre}")));
    }
    rec.upsert(member(1, "theremin through tape loops"));
    assert!((rec.bio_drift() - 0.8).abs() < 1e-9, "{}", rec.bio_drift());
    // Words unknown to the model are scored at once (hashed ids, full IDF), not dropped.
    let fresh = bio_similarity(&rec, 1, 0);
    assert!(fresh > 0.0, "{fresh}");
    let mut unseen = Recommender::new(
        vec![member(0, "violin"), member(1, "tape loops")],
        RttTable::default(),
        CoJamGraph::default(),
    );
    unseen.upsert(member(0, "tape loops forever"));
    assert!(bio_similarity(&unseen, 0, 1) > 0.5);

    // After the refit the now-rare shared word weighs more: member 1 moves closer to member 0.
    rec.refit_bios();
    assert_eq!(rec.bio_drift(), 0.0);
    let refitted = bio_similarity(&rec, 1, 0);
    assert!(refitted > fresh + 0.05, "{fresh} -> {refitted}");
    // Exactly what a population built from scratch computes.
    let rebuilt = Recommender::new(
        rec.members().to_vec(),
        RttTable::default(),
        CoJamGraph::default(),
    );
    assert!((bio_similarity(&rebuilt, 1, 0) - refitted).abs() < 1e-9);

    // A bio edited between the snapshot and the swap is vectorised with the new model.
    let refit = text::BioRefit::build(rec.bios());
    rec.upsert(member(9, "theremin and cello"));
    rec.install_bio_refit(refit);
    assert!(bio_similarity(&rec, 9, 0) > 0.0);
    assert!((rec.bio_drift() - 0.1).abs() < 1e-9, "{}", rec.bio_drift());
}
