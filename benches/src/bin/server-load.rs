//! Load measurements of the reference server; figures in `benches/README.md`.
//!
//! Run with: `cargo run --release -p tutti-bench --bin server-load -- [--json] [--connections N]
//! [--url http://HOST:PORT [--server-pid PID]] [--server-bin PATH] [--source-ips K] [--part sockets]`
//! or `… -- --part http [--json] [--database-url URL] [--rate R] [--seconds S] [--warmup S]
//! [--http-connections C] [--server-bin PATH]`
//!
//! Without `--url` it builds (through cargo, when run by cargo) and spawns `tutti-server` on
//! 127.0.0.1 with a throwaway database. A server given by `--url` must accept anonymous joins
//! (`--allow-anonymous-signalling`), a high join rate per IP and a long idle timeout; its memory is
//! measured only with `--server-pid`.
//!
//! Parts: `--part sockets` (default) is the part (a), idle signalling WebSockets and
//! server memory per connection. `--part http` is part (b): it seeds 100,000 synthetic venues and
//! a few thousand profiles into a fresh SQLite file (or the empty database of `--database-url`,
//! e.g. PostgreSQL), spawns the server on it and measures venue searches and profile reads at
//! 1,000 requests/s, open loop, p50/p99/max per kind.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use tutti_bench::server_load::{
    ServerProcess, TARGET_BYTES_PER_CONNECTION, idle_sockets, raise_nofile_limit,
};

/// Which measurement to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// (a) idle signalling WebSockets, server RSS per connection.
    Sockets,
    /// (b) HTTP latency under load.
    Http,
}

/// Venues seeded for part (b) (the figure).
#[cfg(feature = "server")]
const HTTP_VENUES: usize = 100_000;
/// Profiles seeded for part (b).
#[cfg(feature = "server")]
const HTTP_PROFILES: usize = 3_000;
/// Seed of the synthetic data and the request mix.
#[cfg(feature = "server")]
const HTTP_SEED: u64 = 2026;

struct Args {
    json: bool,
    connections: usize,
    url: Option<String>,
    server_pid: Option<u32>,
    server_bin: Option<PathBuf>,
    source_ips: usize,
    part: Part,
    database_url: Option<String>,
    rate: f64,
    seconds: f64,
    warmup: f64,
    http_connections: usize,
}

const USAGE: &str = "usage: server-load [--json] [--connections N] [--url http://HOST:PORT [--server-pid PID]] \
                     [--server-bin PATH] [--source-ips K] [--part sockets|http] \
                     [--database-url URL] [--rate R] [--seconds S] [--warmup S] [--http-connections C]";

fn number<T: std::str::FromStr>(name: &str, text: String) -> Result<T, String> {
    text.parse().map_err(|_| format!("{name} needs a number"))
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        json: false,
        connections: 10_000,
        url: None,
        server_pid: None,
        server_bin: None,
        source_ips: 4,
        part: Part::Sockets,
        database_url: None,
        rate: 1_000.0,
        seconds: 20.0,
        warmup: 5.0,
        http_connections: 64,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--json" => args.json = true,
            "--connections" => {
                args.connections = value("--connections")?
                    .parse()
                    .map_err(|_| "--connections needs a number")?;
            }
            "--url" => args.url = Some(value("--url")?),
            "--server-pid" => {
                args.server_pid = Some(
                    value("--server-pid")?
                        .parse()
                        .map_err(|_| "--server-pid needs a number")?,
                );
            }
            "--server-bin" => args.server_bin = Some(value("--server-bin")?.into()),
            "--source-ips" => {
                args.source_ips = value("--source-ips")?
                    .parse()
                    .map_err(|_| "--source-ips needs a number")?;
                if !(1..=250).contains(&args.source_ips) {
                    return Err("--source-ips must be 1..=250".into());
                }
            }
            "--part" => {
                args.part = match value("--part")?.as_str() {
                    "sockets" | "a" => Part::Sockets,
                    "http" | "b" => Part::Http,
                    other => return Err(format!("unknown part {other:?}\n{USAGE}")),
                };
            }
            "--database-url" => args.database_url = Some(value("--database-url")?),
            "--rate" => args.rate = number("--rate", value("--rate")?)?,
            "--seconds" => args.seconds = number("--seconds", value("--seconds")?)?,
            "--warmup" => args.warmup = number("--warmup", value("--warmup")?)?,
            "--http-connections" => {
                args.http_connections = number("--http-connections", value("--http-connections")?)?;
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    if !(args.rate > 0.0 && args.seconds > 0.0 && args.warmup >= 0.0 && args.http_connections > 0) {
        return Err("--rate, --seconds and --http-connections must be positive".into());
    }
    Ok(args)
}

/// The `tutti-server` binary: `--server-bin`, else the one beside this executable (same profile),
/// built first through cargo when this runs under `cargo run`.
fn server_binary(explicit: Option<PathBuf>) -> Result<PathBuf, String> {
    if let Some(path) = explicit {
        return Ok(path);
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = exe.parent().ok_or("no executable directory")?;
    if let Ok(cargo) = std::env::var("CARGO") {
        let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
        let mut build = std::process::Command::new(cargo);
        build.args([
            "build",
            "-p",
            "tutti-server",
            "--bin",
            "tutti-server",
            "--manifest-path",
            manifest,
        ]);
        if dir.file_name().is_some_and(|d| d == "release") {
            build.arg("--release");
        }
        let status = build.status().map_err(|e| format!("cargo build: {e}"))?;
        if !status.success() {
            return Err("building tutti-server failed".into());
        }
    }
    let path = dir.join("tutti-server");
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found; build it or pass --server-bin",
            path.display()
        ))
    }
}

async fn resolve(url: &str) -> Result<SocketAddr, String> {
    let host = url
        .strip_prefix("http://")
        .ok_or("--url must start with http://")?
        .trim_end_matches('/');
    tokio::net::lookup_host(host)
        .await
        .map_err(|e| format!("{host}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host}: no address"))
}

async fn run(args: Args) -> Result<(), String> {
    if args.part == Part::Http {
        return http(args).await;
    }
    // Two descriptors per connection on loopback (client and server side) plus headroom; the
    // spawned server inherits the limit.
    let want = 2 * args.connections as u64 + 1024;
    let nofile = raise_nofile_limit(want);
    if nofile < want {
        eprintln!("warning: RLIMIT_NOFILE is {nofile}, below the {want} this run needs");
    }
    let (server, addr, pid) = match &args.url {
        Some(url) => (None, resolve(url).await?, args.server_pid),
        None => {
            let server = ServerProcess::spawn(&server_binary(args.server_bin.clone())?)?;
            let (addr, pid) = (server.addr, server.pid());
            (Some(server), addr, Some(pid))
        }
    };
    let report = idle_sockets(addr, pid, args.connections, args.source_ips).await?;
    drop(server);
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&report).map_err(|e| e.to_string())?
        );
        return Ok(());
    }
    println!(
        "server-load (a): {} idle signalling WebSockets in {} rooms from {} source IPs, set up in {:.1} s",
        report.connections, report.rooms, report.source_ips, report.setup_seconds
    );
    match (
        report.rss_before_bytes,
        report.rss_after_bytes,
        report.bytes_per_connection,
    ) {
        (Some(before), Some(after), Some(per)) => println!(
            "server RSS {:.1} MB -> {:.1} MB: {:.1} KB per connection (target <= {} KB)",
            before as f64 / 1e6,
            after as f64 / 1e6,
            per as f64 / 1024.0,
            TARGET_BYTES_PER_CONNECTION / 1024
        ),
        _ => println!("server RSS not measured (give --server-pid with --url)"),
    }
    Ok(())
}

/// Part (b): seed, spawn the server on the seeded database, load it, report.
#[cfg(feature = "server")]
async fn http(args: Args) -> Result<(), String> {
    use std::time::{Duration, Instant};
    use tutti_bench::server_load::http::{LoadPlan, load};
    use tutti_bench::server_load::{remove_sqlite, seed::seed, temp_sqlite_path};

    let binary = server_binary(args.server_bin.clone())?;
    let (url, owned, backend) = match &args.database_url {
        Some(url) => (
            url.clone(),
            None,
            url.split(':').next().unwrap_or("?").to_owned(),
        ),
        None => {
            let path = temp_sqlite_path();
            remove_sqlite(&path);
            (
                format!("sqlite://{}", path.display()),
                Some(path),
                "sqlite".to_owned(),
            )
        }
    };
    let started = Instant::now();
    let profiles = match seed(&url, HTTP_VENUES, HTTP_PROFILES, HTTP_SEED).await {
        Ok(ids) => ids,
        Err(e) => {
            if let Some(path) = &owned {
                remove_sqlite(path);
            }
            return Err(format!("seeding: {e}"));
        }
    };
    eprintln!(
        "seeded {HTTP_VENUES} venues and {} profiles into {backend} in {:.1} s",
        profiles.len(),
        started.elapsed().as_secs_f64()
    );
    let server = ServerProcess::spawn_on(&binary, &url, owned)?;
    let plan = LoadPlan {
        rate: args.rate,
        warmup: Duration::from_secs_f64(args.warmup),
        duration: Duration::from_secs_f64(args.seconds),
        connections: args.http_connections,
        seed: HTTP_SEED,
    };
    let report = load(
        server.addr,
        Some(server.pid()),
        &backend,
        HTTP_VENUES,
        &profiles,
        &plan,
    )
    .await?;
    drop(server);
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&report).map_err(|e| e.to_string())?
        );
        return Ok(());
    }
    println!(
        "server-load (b): {} over {} venues and {} profiles, {:.0} requests/s offered for {:.0} s \
         (after {:.0} s warm-up) on {} keep-alive connections",
        report.backend,
        report.venues,
        report.profiles,
        report.offered_per_s,
        report.seconds,
        args.warmup,
        report.connections
    );
    for (title, rows) in [
        ("unloaded (one at a time)", &report.unloaded),
        ("loaded", &report.loaded),
    ] {
        println!("{title}:");
        for k in rows {
            let matches = match (k.mean_matches, k.p99_matches) {
                (Some(mean), Some(p99)) => format!(", matches/search mean {mean:.0} p99 {p99}"),
                _ => String::new(),
            };
            println!(
                "  {:<13} ok {:>6} err {:>3}  {:>7.1}/s  p50 {:>6.2} ms  p99 {:>7.2} ms  max {:>7.2} ms{matches}",
                k.kind, k.ok, k.errors, k.achieved_per_s, k.p50_ms, k.p99_ms, k.max_ms
            );
        }
    }
    let buckets = report
        .unloaded_search_by_matches
        .iter()
        .map(|b| match b.to {
            u64::MAX => format!(">= {}: {} at {:.2} ms", b.from, b.searches, b.p50_ms),
            to => format!(
                "{}-{}: {} at {:.2} ms",
                b.from,
                to - 1,
                b.searches,
                b.p50_ms
            ),
        })
        .collect::<Vec<_>>();
    println!("unloaded search p50 by matches: {}", buckets.join("; "));
    let ms = |v: Option<f64>| v.map_or("?".to_owned(), |v| format!("{v:.2} ms"));
    println!(
        "server CPU per request: unloaded search {}, profile read {}; loaded (all) {}; \
         this client under load {}",
        ms(report.unloaded_server_cpu_ms[0]),
        ms(report.unloaded_server_cpu_ms[1]),
        ms(report.loaded_server_cpu_ms),
        ms(report.loaded_client_cpu_ms)
    );
    println!("target: p99 <= {} ms", report.target_p99_ms);
    Ok(())
}

/// Part (b) needs the server library for seeding.
#[cfg(not(feature = "server"))]
async fn http(_args: Args) -> Result<(), String> {
    Err("part (b) needs the `server` feature (on by default)".into())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server-load: {e}");
            ExitCode::FAILURE
        }
    }
}
