//! Recommender evaluation: ours against random, most-popular, genre-overlap and nearest-only
//! baselines on a seeded synthetic population with planted structure (see
//! `tutti_bench::recommend_eval`).
//!
//! Run with: `cargo run --release -p tutti-bench --bin recommend-eval -- [--json] [--members N] [--users N] [--seed S]`

use std::process::ExitCode;

use tutti_bench::recommend_eval::{EvalConfig, evaluate, verdicts};

fn parse_args() -> Result<(EvalConfig, bool), String> {
    let mut config = EvalConfig::default();
    let mut json = false;
    let mut it = std::env::args().skip(1);
    let number = |v: Option<String>, flag: &str| -> Result<u64, String> {
        v.and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{flag} needs a number"))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--json" => json = true,
            "--members" => config.members = number(it.next(), "--members")? as usize,
            "--users" => config.max_users = number(it.next(), "--users")? as usize,
            "--seed" => config.seed = number(it.next(), "--seed")?,
            "-h" | "--help" => {
                return Err(
                    "usage: recommend-eval [--json] [--members N] [--users N] [--seed S]".into(),
                );
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if config.members < 50 {
        return Err("--members must be at least 50".into());
    }
    Ok((config, json))
}

fn main() -> ExitCode {
    let (config, json) = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let report = evaluate(&config);
    let verdicts = verdicts(&report);
    if json {
        let out = serde_json::json!({ "report": report, "targets": verdicts
            .iter()
            .map(|(what, met)| serde_json::json!({ "target": what, "met": met }))
            .collect::<Vec<_>>() });
        println!("{out}");
    } else {
        println!(
            "population {} (seed {}), {} bands planted, co-jam edges: {} training / {} held out; \
             {} members evaluated, top {}",
            config.members,
            config.seed,
            report.bands,
            report.train_edges,
            report.test_edges,
            report.users,
            config.k
        );
        println!(
            "{:<14} {:>8} {:>8} {:>9} {:>10} {:>6}",
            "method", "P@10", "NDCG@10", "coverage", "≤25 ms", "len"
        );
        for m in &report.methods {
            println!(
                "{:<14} {:>8.4} {:>8.4} {:>8.1}% {:>9.1}% {:>6.2}",
                m.method,
                m.precision_at_k,
                m.ndcg_at_k,
                100.0 * m.coverage,
                100.0 * m.within_budget,
                m.mean_list_len
            );
        }
        println!(
            "recommend() over the whole population: p50 {:.2} ms, p99 {:.2} ms (through the candidate index)",
            report.query_ms.0, report.query_ms.1
        );
        for (what, met) in &verdicts {
            println!("{} {what}", if *met { "met:    " } else { "NOT MET:" });
        }
    }
    ExitCode::SUCCESS
}
