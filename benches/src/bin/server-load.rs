//! Load measurements of the reference server; figures in `benches/README.md`.
//!
//! Run with: `cargo run --release -p tutti-bench --bin server-load -- [--json] [--connections N]
//! [--url http://HOST:PORT [--server-pid PID]] [--server-bin PATH] [--source-ips K] [--part sockets]`
//!
//! Without `--url` it builds (through cargo, when run by cargo) and spawns `tutti-server` on
//! 127.0.0.1 with a throwaway database. A server given by `--url` must accept anonymous joins
//! (`--allow-anonymous-signalling`), a high join rate per IP and a long idle timeout; its memory is
//! measured only with `--server-pid`.
//!
//! Parts: `--part sockets` (default) is the part (a), idle signalling WebSockets and
//! server memory per connection. Part (b) — venue search and profile reads at 1,000 requests/s,
//! p50/p99 — is not built yet: it becomes `--part http` (see `tutti_bench::server_load`).

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
    /// (b) HTTP latency under load — planned.
    Http,
}

struct Args {
    json: bool,
    connections: usize,
    url: Option<String>,
    server_pid: Option<u32>,
    server_bin: Option<PathBuf>,
    source_ips: usize,
    part: Part,
}

const USAGE: &str = "usage: server-load [--json] [--connections N] [--url http://HOST:PORT [--server-pid PID]] \
                     [--server-bin PATH] [--source-ips K] [--part sockets|http]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        json: false,
        connections: 10_000,
        url: None,
        server_pid: None,
        server_bin: None,
        source_ips: 4,
        part: Part::Sockets,
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
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
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
        return Err("part (b), HTTP latency at 1,000 requests/s, is not built yet".into());
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
