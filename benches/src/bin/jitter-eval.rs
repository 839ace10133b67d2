//! Jitter-buffer evaluation: Tutti's policy against fixed buffers and reference rules, with the
//! oracle bound, on simulated network profiles or a recorded trace.
//!
//! Run with: `cargo run --release -p tutti-bench --bin jitter-eval -- [--json] [--trace FILE] [--minutes N] [--seed S]`

use std::process::ExitCode;

use tutti_bench::jitter_eval::{
    EvalResult, Prepared, match_concealment, policy_names, profile_trace, profiles, verdicts,
};
use tutti_core::codec::FrameDuration;
use tutti_core::netsim::Trace;

struct Args {
    json: bool,
    trace: Option<String>,
    minutes: f64,
    seed: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        json: false,
        trace: None,
        minutes: 10.0,
        seed: 2026,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--json" => args.json = true,
            "--trace" => args.trace = Some(it.next().ok_or("--trace needs a file")?),
            "--minutes" => {
                args.minutes = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--minutes needs a number")?;
            }
            "--seed" => {
                args.seed = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--seed needs a number")?
            }
            "-h" | "--help" => {
                return Err(
                    "usage: jitter-eval [--json] [--trace FILE] [--minutes N] [--seed S]".into(),
                );
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

/// The frame duration of a trace: its median send interval.
fn trace_frame(trace: &Trace) -> Result<FrameDuration, String> {
    let mut gaps: Vec<u128> = trace
        .records
        .windows(2)
        .filter(|w| w[1].seq == w[0].seq + 1)
        .map(|w| w[1].send.saturating_sub(w[0].send).as_micros())
        .collect();
    gaps.sort_unstable();
    let median = *gaps
        .get(gaps.len() / 2)
        .ok_or("trace has too few packets")?;
    [
        FrameDuration::Ms2_5,
        FrameDuration::Ms5,
        FrameDuration::Ms10,
        FrameDuration::Ms20,
    ]
    .into_iter()
    .min_by_key(|f| f.as_duration().as_micros().abs_diff(median))
    .ok_or_else(|| "no frame duration".into())
}

/// Applies `f` to every job on all cores (jobs split into one contiguous chunk per core), keeping
/// the order of the jobs.
fn parallel_filter_map<T: Sync, R: Send>(jobs: &[T], f: impl Fn(&T) -> Option<R> + Sync) -> Vec<R> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .chunks(jobs.len().div_ceil(workers).max(1))
            .map(|chunk| s.spawn(move || chunk.iter().filter_map(f).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().ok())
            .flatten()
            .collect()
    })
}

fn run(args: &Args) -> Result<Vec<EvalResult>, String> {
    let prepared: Vec<Prepared> = match &args.trace {
        Some(path) => {
            let file = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
            let trace = Trace::read_csv(std::io::BufReader::new(file))
                .map_err(|e| format!("{path}: {e}"))?;
            let frame = trace_frame(&trace)?;
            vec![Prepared::new(path, trace, frame)]
        }
        None => std::thread::scope(|s| {
            let handles: Vec<_> = profiles()
                .into_iter()
                .map(|(name, profile)| {
                    s.spawn(move || {
                        Prepared::new(
                            name,
                            profile_trace(profile, args.seed, args.minutes),
                            FrameDuration::Ms2_5,
                        )
                    })
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        }),
    };
    let jobs: Vec<(&Prepared, String)> = prepared
        .iter()
        .flat_map(|p| policy_names().into_iter().map(move |n| (p, n)))
        .collect();
    let results = parallel_filter_map(&jobs, |(p, n)| p.evaluate(n));
    // Like-for-like points: Tutti tuned to each reference rule's concealment, one thread each.
    let references: Vec<(&Prepared, EvalResult)> = prepared
        .iter()
        .flat_map(|p| {
            results
                .iter()
                .filter(|r| r.profile == p.name() && r.policy.ends_with("-like"))
                .map(move |r| (p, r.clone()))
        })
        .collect();
    let matched = parallel_filter_map(&references, |(p, r)| match_concealment(p, r));
    let mut all = results;
    for m in matched {
        let at = all
            .iter()
            .rposition(|r| r.profile == m.profile)
            .map_or(all.len(), |i| i + 1);
        all.insert(at, m);
    }
    Ok(all)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let results = match run(&args) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("jitter-eval: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.json {
        for r in &results {
            match serde_json::to_string(r) {
                Ok(line) => println!("{line}"),
                Err(e) => eprintln!("jitter-eval: {e}"),
            }
        }
        return ExitCode::SUCCESS;
    }
    let mut profile = "";
    for r in &results {
        if r.profile != profile {
            profile = &r.profile;
            println!(
                "\n== {profile} ({} min, 2.5 ms frames, RED depth 2, 64-frame host blocks)",
                args.minutes
            );
            println!(
                "{:<14} {:>10} {:>10} {:>11} {:>11} {:>11}",
                "policy", "mean ms", "p95 ms", "concealed%", "oracle ms", "recovered%"
            );
        }
        let oracle = r
            .oracle_delay_ms
            .map_or("-".to_string(), |d| format!("{d:.2}"));
        println!(
            "{:<14} {:>10.2} {:>10.2} {:>11.3} {:>11} {:>11.2}",
            r.policy, r.mean_delay_ms, r.p95_delay_ms, r.concealed_pct, oracle, r.recovered_pct
        );
    }
    println!("\n== targets");
    for (line, ok) in verdicts(&results) {
        println!("[{}] {line}", if ok { "met" } else { "MISSED" });
    }
    ExitCode::SUCCESS
}
