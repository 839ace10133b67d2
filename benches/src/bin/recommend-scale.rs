//! Recommender at scale: top-10 latency through the candidate index (postings + geographic
//! grid) against a full scan, line-up search for three open positions, and the cost of keeping
//! the index current, on `recommend-eval`'s synthetic population (27 cities, realistic instrument
//! mix) with a random co-jam graph and measured RTTs added.
//!
//! Run with: `cargo run --release -p tutti-bench --bin recommend-scale -- [--members N] [--queries Q] [--lineups L] [--full-scans F] [--seed S] [--json]`

use std::process::ExitCode;
use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use tutti_bench::recommend_eval::{EvalConfig, World};
use tutti_server::recommend::{CoJamGraph, MemberId, Mode, Query, Recommender};

#[derive(Debug, Clone, Copy)]
struct Args {
    members: usize,
    queries: usize,
    lineups: usize,
    full_scans: usize,
    seed: u64,
    json: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        members: 100_000,
        queries: 1000,
        lineups: 200,
        full_scans: 50,
        seed: 2026,
        json: false,
    };
    let mut it = std::env::args().skip(1);
    let number = |v: Option<String>, flag: &str| -> Result<u64, String> {
        v.and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{flag} needs a number"))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--json" => a.json = true,
            "--members" => a.members = number(it.next(), "--members")? as usize,
            "--queries" => a.queries = number(it.next(), "--queries")? as usize,
            "--lineups" => a.lineups = number(it.next(), "--lineups")? as usize,
            "--full-scans" => a.full_scans = number(it.next(), "--full-scans")? as usize,
            "--seed" => a.seed = number(it.next(), "--seed")?,
            other => return Err(format!("unknown argument {other:?} (see the file's doc)")),
        }
    }
    if a.members < 100 {
        return Err("--members must be at least 100".into());
    }
    Ok(a)
}

/// Latency percentiles of one measured operation, ms.
#[derive(Debug, Serialize)]
struct Stats {
    runs: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

fn stats(mut d: Vec<Duration>) -> Stats {
    d.sort();
    let ms = |x: Duration| x.as_secs_f64() * 1e3;
    let at = |q: f64| {
        d.get(((d.len() as f64 - 1.0) * q).round() as usize)
            .map_or(0.0, |x| ms(*x))
    };
    Stats {
        runs: d.len(),
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        max_ms: at(1.0),
    }
}

#[derive(Debug, Serialize)]
struct Report {
    members: usize,
    seed: u64,
    build_s: f64,
    top10_online: Stats,
    top10_in_person: Stats,
    top10_full_scan: Stats,
    lineup_3: Stats,
    lineups_found: usize,
    upsert_us: f64,
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("recommend-scale: {e}");
            return ExitCode::FAILURE;
        }
    };
    let config = EvalConfig {
        members: args.members,
        seed: args.seed,
        ..EvalConfig::default()
    };
    let world = World::population(&config);
    let n = world.candidates.len() as u64;
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed ^ 0x5CA1E);
    // Jam history: three random partners per member; measured RTTs for one pair per member.
    let mut graph = CoJamGraph::default();
    let mut rtts = world.rtts.clone();
    for a in 0..n {
        for _ in 0..3 {
            graph.record(
                MemberId(a),
                MemberId(rng.random_range(0..n)),
                rng.random_range(1.0..5.0),
            );
        }
        rtts.insert_pair(
            MemberId(a),
            MemberId(rng.random_range(0..n)),
            rng.random_range(5.0..80.0),
        );
    }
    let started = Instant::now();
    let mut rec = Recommender::new(world.candidates.clone(), rtts, graph);
    let build_s = started.elapsed().as_secs_f64();

    let seekers: Vec<MemberId> = (0..args.queries.max(args.lineups).max(args.full_scans))
        .map(|_| MemberId(rng.random_range(0..n)))
        .collect();
    let time = |f: &mut dyn FnMut(MemberId) -> bool, count: usize| -> (Vec<Duration>, usize) {
        let mut found = 0;
        let d = seekers[..count]
            .iter()
            .map(|&s| {
                let t = Instant::now();
                found += usize::from(f(s));
                t.elapsed()
            })
            .collect();
        (d, found)
    };
    let online = Query::new(Mode::Online, 10);
    let in_person = Query::new(Mode::InPerson, 10);
    let (d_online, _) = time(
        &mut |s| rec.recommend(s, &online).is_ok_and(|r| !r.is_empty()),
        args.queries,
    );
    let (d_person, _) = time(&mut |s| rec.recommend(s, &in_person).is_ok(), args.queries);
    let (d_full, _) = time(
        &mut |s| rec.recommend_full_scan(s, &online).is_ok(),
        args.full_scans,
    );
    let needs = ["drums", "bass", "vocals"];
    let (d_lineup, lineups_found) = time(
        &mut |s| {
            rec.complete_lineup(s, &needs, &online)
                .is_ok_and(|l| l.is_some())
        },
        args.lineups,
    );
    // Keeping the index current: replace 1,000 members with a moved copy.
    let started = Instant::now();
    let updates = 1000.min(world.candidates.len());
    for c in world.candidates.iter().take(updates) {
        let mut moved = c.clone();
        if let Some(p) = &mut moved.location {
            p.lat += 0.05;
        }
        rec.upsert(moved);
    }
    let upsert_us = started.elapsed().as_secs_f64() * 1e6 / updates as f64;

    let report = Report {
        members: args.members,
        seed: args.seed,
        build_s,
        top10_online: stats(d_online),
        top10_in_person: stats(d_person),
        top10_full_scan: stats(d_full),
        lineup_3: stats(d_lineup),
        lineups_found,
        upsert_us,
    };
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(j) => println!("{j}"),
            Err(e) => {
                eprintln!("recommend-scale: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        let row = |name: &str, s: &Stats| {
            println!(
                "{name:<24} runs {:>5}  p50 {:>8.2} ms  p99 {:>8.2} ms  max {:>8.2} ms",
                s.runs, s.p50_ms, s.p99_ms, s.max_ms
            );
        };
        println!(
            "{} members (seed {}), index built in {:.2} s",
            report.members, report.seed, report.build_s
        );
        row("top-10 online (index)", &report.top10_online);
        row("top-10 in person", &report.top10_in_person);
        row("top-10 online full scan", &report.top10_full_scan);
        row("line-up, 3 positions", &report.lineup_3);
        println!(
            "line-ups found: {}/{}",
            report.lineups_found, report.lineup_3.runs
        );
        println!("upsert (move a member): {:.1} µs", report.upsert_us);
    }
    ExitCode::SUCCESS
}
