//! Cost of the WebRTC transport: connect time and CPU per RTP packet, on loopback with real
//! webrtc-rs links carrying real 2.5 ms Opus packets (pre-encoded, so the codec is not counted).
//!
//! Run with: `cargo run --release -p tutti-bench --features session --bin webrtc-link-cost -- [--json] [--connects N]`
//!
//! Three measurements, all in this one process (both ends of every link):
//! - `connect_ms`: build two links, offer/answer, until both report `Connected` (`--connects`
//!   runs, default 5; median, p90, max).
//! - `cpu_us_per_packet`: one link pair, 20 000 packets sent as fast as the link takes them;
//!   process CPU time (user + system, `/proc/self/stat`) divided by packets sent. Each packet is
//!   counted once but paid for twice (send path + receive path), so it is the per-packet cost of
//!   one send plus one receive, including SRTP both ways.
//! - `client_5_peers_cpu_percent`: five link pairs, each sending 400 packets/s (2.5 ms frames)
//!   both ways for 5 s. This process runs both ends of all five links, i.e. twice the load one
//!   client has with five remote peers, so the figure reported is half the measured CPU.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tutti_core::session::loopback::{self, LoopbackPair, opus_frames};
use tutti_core::session::transport::{LinkEvent, LinkState, PeerLink};
use tutti_core::session::webrtc_link::LinkConfig;

fn config() -> LinkConfig {
    LinkConfig {
        udp_addrs: vec![SocketAddr::from(([127, 0, 0, 1], 0))],
        event_capacity: 8192,
        ..LinkConfig::default()
    }
}

/// Process CPU time (user + system). `/proc/self/stat` counts in clock ticks of 10 ms
/// (`USER_HZ` = 100 on Linux), so runs last seconds to keep the error near 1%.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_comm = stat.rsplit_once(") ").map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

async fn connected(events: &mut tokio::sync::mpsc::UnboundedReceiver<LinkEvent>) -> bool {
    while let Some(event) = events.recv().await {
        if let LinkEvent::State(LinkState::Connected) = event {
            return true;
        }
    }
    false
}

async fn connect() -> Result<(LoopbackPair, Duration), String> {
    let start = Instant::now();
    let mut pair = loopback::connect(config(), config(), None)
        .await
        .map_err(|e| e.to_string())?;
    let both = async { connected(&mut pair.a.events).await && connected(&mut pair.b.events).await };
    match tokio::time::timeout(Duration::from_secs(30), both).await {
        Ok(true) => Ok((pair, start.elapsed())),
        _ => Err("link did not connect within 30 s".into()),
    }
}

/// Counts RTP packets arriving on `pair.b` until `n` or 2 s of silence.
fn count_rtp(
    mut events: tokio::sync::mpsc::UnboundedReceiver<LinkEvent>,
    n: usize,
) -> tokio::task::JoinHandle<usize> {
    tokio::spawn(async move {
        let mut got = 0;
        while got < n {
            match tokio::time::timeout(Duration::from_secs(2), events.recv()).await {
                Ok(Some(LinkEvent::Rtp(_))) => got += 1,
                Ok(Some(_)) => {}
                _ => break,
            }
        }
        got
    })
}

async fn run(connects: usize) -> Result<serde_json::Value, String> {
    let mut connect_ms = Vec::new();
    for _ in 0..connects.max(1) {
        let (pair, took) = connect().await?;
        connect_ms.push(took.as_secs_f64() * 1e3);
        let _ = pair.a.link.close().await;
        let _ = pair.b.link.close().await;
    }
    let mut sorted = connect_ms.clone();
    sorted.sort_by(f64::total_cmp);

    // Per packet, unpaced.
    const N: usize = 20_000;
    let frames = opus_frames(400, 1);
    let many: Vec<Vec<u8>> = frames.iter().cycle().take(N).cloned().collect();
    let (pair, _) = connect().await?;
    let counter = count_rtp(pair.b.events, N);
    let (cpu0, wall0) = (cpu_time(), Instant::now());
    loopback::send_frames(&*pair.a.link, &many, 0, 0, Duration::ZERO)
        .await
        .map_err(|e| e.to_string())?;
    let received = counter.await.map_err(|e| e.to_string())?;
    let (cpu, wall) = (cpu_time() - cpu0, wall0.elapsed());
    let _ = pair.a.link.close().await;
    let _ = pair.b.link.close().await;
    let us_per_packet = cpu.as_secs_f64() * 1e6 / N as f64;

    // Five peers at 400 packets/s each way, paced in real time.
    const SECONDS: usize = 5;
    let per_stream = 400 * SECONDS;
    let mut pairs = Vec::new();
    for _ in 0..5 {
        pairs.push(connect().await?.0);
    }
    let stream: Arc<Vec<Vec<u8>>> =
        Arc::new(frames.iter().cycle().take(per_stream).cloned().collect());
    let (cpu0, wall0) = (cpu_time(), Instant::now());
    let (mut tasks, mut counters, mut links) = (Vec::new(), Vec::new(), Vec::new());
    for LoopbackPair { a, b, .. } in pairs {
        for peer in [a, b] {
            counters.push(count_rtp(peer.events, per_stream));
            let (link, stream) = (Arc::clone(&peer.link), Arc::clone(&stream));
            links.push(peer.link);
            tasks.push(tokio::spawn(async move {
                loopback::send_frames(&*link, &stream, 0, 0, Duration::from_micros(2500)).await
            }));
        }
    }
    for task in tasks {
        task.await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
    }
    let mut received_paced = 0;
    for counter in counters {
        received_paced += counter.await.map_err(|e| e.to_string())?;
    }
    let (cpu5, wall5) = (cpu_time() - cpu0, wall0.elapsed());
    for link in links {
        let _ = link.close().await;
    }
    let both_ends_percent = 100.0 * cpu5.as_secs_f64() / wall5.as_secs_f64();

    Ok(serde_json::json!({
        "connect_ms_median": sorted[sorted.len() / 2],
        "connect_ms_p90": sorted[(sorted.len() * 9 / 10).min(sorted.len() - 1)],
        "connect_ms_max": sorted[sorted.len() - 1],
        "connects_over_500ms": sorted.iter().filter(|ms| **ms > 500.0).count(),
        "connect_ms_all": connect_ms,
        "packets": N,
        "received": received,
        "unpaced_wall_ms": wall.as_secs_f64() * 1e3,
        "cpu_us_per_packet": us_per_packet,
        "paced_streams": 10,
        "paced_packets_sent": 10 * per_stream,
        "paced_packets_received": received_paced,
        "paced_wall_s": wall5.as_secs_f64(),
        "both_ends_cpu_percent": both_ends_percent,
        "client_5_peers_cpu_percent": both_ends_percent / 2.0,
    }))
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let connects = match args.iter().position(|a| a == "--connects") {
        None => 5,
        Some(i) => match args.get(i + 1).and_then(|n| n.parse().ok()) {
            Some(n) => n,
            None => {
                eprintln!("usage: webrtc-link-cost [--json] [--connects N]");
                return std::process::ExitCode::FAILURE;
            }
        },
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("webrtc-link-cost: no tokio runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let r = match runtime.block_on(run(connects)) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("webrtc-link-cost: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if json {
        println!("{r}");
        return std::process::ExitCode::SUCCESS;
    }
    let f = |key: &str| r[key].as_f64().unwrap_or(f64::NAN);
    println!(
        "connect (build + negotiate + ICE + DTLS), {} runs: median {:.0} ms, p90 {:.0} ms, max {:.0} ms, {} over 500 ms",
        connects,
        f("connect_ms_median"),
        f("connect_ms_p90"),
        f("connect_ms_max"),
        r["connects_over_500ms"]
    );
    println!(
        "unpaced: {} packets, {} received, {:.0} ms wall, {:.1} µs CPU per packet (send + receive)",
        r["packets"],
        r["received"],
        f("unpaced_wall_ms"),
        f("cpu_us_per_packet")
    );
    println!(
        "paced, 5 links × 400 packets/s each way: {} of {} received, both ends {:.1}% of one core, one client ≈ {:.1}%",
        r["paced_packets_received"],
        r["paced_packets_sent"],
        f("both_ends_cpu_percent"),
        f("client_5_peers_cpu_percent")
    );
    std::process::ExitCode::SUCCESS
}
