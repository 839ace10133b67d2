//! Whole-client CPU with five remote peers at 2.5 ms frames: six `jam` processes in one room on
//! loopback through a real `tutti-server`, each sending a tone and hearing the other five.
//!
//! Run with: `cargo run --release -p tutti-bench --bin client-cpu -- [--json] [--peers N] [--seconds S] [--poll-pacing]`
//!
//! `--poll-pacing` runs the clients with the old 1 ms capture poll instead of the capture
//! wake-up (`jam --poll-pacing`), for an A/B of the pacer's cost.
//!
//! Once every client decodes all the others, each process's CPU time (user + system, from
//! `/proc/<pid>/stat` and per thread from `/proc/<pid>/task/*/stat`, 10 ms ticks) is sampled
//! over `--seconds` (default 10). Reported per client as % of one core: the whole process, the
//! host thread (`wav-host`: `Engine::process`, decode, mix) and the rest (tokio: encode,
//! WebRTC, signalling). All clients share the machine's two cores, so scheduling contention is
//! included.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use tutti_bench::jam_rig::Rig;
use tutti_core::netsim::signal;
use tutti_examples::processes::{JamProcess, field};
use tutti_examples::wav_host::{Audio, write_wav};

const GUARD: Duration = Duration::from_secs(90);

/// CPU ticks (user + system) per thread name of process `pid`.
fn thread_ticks(pid: u32) -> BTreeMap<String, u64> {
    let mut ticks = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return ticks;
    };
    for task in tasks.flatten() {
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_owned();
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let get = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        // After the name: state is field 0; utime and stime are 11 and 12.
        *ticks.entry(name).or_default() += get(11) + get(12);
    }
    ticks
}

#[derive(serde::Serialize)]
struct Client {
    total_percent: f64,
    host_thread_percent: f64,
    other_percent: f64,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("client-cpu: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let (mut json, mut peers, mut seconds, mut poll_pacing) = (false, 6usize, 10.0f64, false);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--json" => json = true,
            "--peers" => peers = value()?.parse().map_err(|e| format!("{e}"))?,
            "--seconds" => seconds = value()?.parse().map_err(|e| format!("{e}"))?,
            "--poll-pacing" => poll_pacing = true,
            _ => return Err(format!("unknown argument {arg}")),
        }
    }
    let rig = Rig::start("client-cpu", "cpu@bench.test", GUARD)?;
    let tone = rig.dir.join("tone.wav");
    let samples = signal::sine(440.0, 0.3, 48_000, 0, 96_000, 1);
    write_wav(
        &tone,
        &Audio {
            rate: 48_000,
            channels: vec![samples],
        },
    )
    .map_err(|e| e.to_string())?;
    let capacity = u32::try_from(peers).map_err(|e| e.to_string())?;
    let room = rig
        .api
        .create_room(&rig.token, "client cpu", capacity)
        .map_err(|e| e.to_string())?;

    let mut clients = Vec::new();
    for i in 0..peers {
        let mut command = Command::new(&rig.jam);
        command
            .args([
                "--server",
                &rig.url(),
                "--room",
                &room,
                "--name",
                &format!("P{i}"),
            ])
            .args([
                "--udp-bind",
                "127.0.0.1:0",
                "--frame-ms",
                "2.5",
                "--input-wav",
            ])
            .arg(&tone);
        if poll_pacing {
            command.arg("--poll-pacing");
        }
        clients.push(JamProcess::start(command, None).map_err(|e| e.to_string())?);
    }
    // Every client decodes all the others (a stats line per peer with frames decoded).
    for client in &clients {
        let mut heard = std::collections::HashSet::new();
        let mut from = 0;
        while heard.len() < peers - 1 {
            let (at, id) = client
                .lines
                .wait(from, GUARD, "every client to hear the others", |l| {
                    let decoded: u64 = field(l, "decoded")?.parse().ok()?;
                    (l.starts_with("stats ") && decoded > 0)
                        .then(|| field(l, "id").map(str::to_owned))?
                })
                .map_err(|e| e.to_string())?;
            heard.insert(id);
            from = at + 1;
        }
    }
    let before: Vec<_> = clients.iter().map(|c| thread_ticks(c.id())).collect();
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    let after: Vec<_> = clients.iter().map(|c| thread_ticks(c.id())).collect();
    let elapsed_ticks = start.elapsed().as_secs_f64() * 100.0; // USER_HZ = 100
    let rows: Vec<Client> = before
        .iter()
        .zip(&after)
        .map(|(b, a)| {
            let delta = |filter: &dyn Fn(&str) -> bool| {
                a.iter()
                    .filter(|(name, _)| filter(name))
                    .map(|(name, t)| t.saturating_sub(b.get(name).copied().unwrap_or(0)))
                    .sum::<u64>() as f64
                    / elapsed_ticks
                    * 100.0
            };
            let total = delta(&|_| true);
            let host = delta(&|n| n == "wav-host");
            Client {
                total_percent: total,
                host_thread_percent: host,
                other_percent: total - host,
            }
        })
        .collect();
    for client in clients {
        let _ = client.quit(GUARD);
    }
    drop(rig);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())?
        );
    } else {
        for (i, r) in rows.iter().enumerate() {
            println!(
                "client P{i} ({} remote peers, 2.5 ms): {:.1}% of one core (host thread {:.1}%, tokio and the rest {:.1}%)",
                peers - 1,
                r.total_percent,
                r.host_thread_percent,
                r.other_percent
            );
        }
        let mean = rows.iter().map(|r| r.total_percent).sum::<f64>() / rows.len().max(1) as f64;
        println!("mean {mean:.1}% of one core per client (target < 15%)");
    }
    Ok(())
}
