//! Mouth-to-ear latency and join time through the whole stack: a real `tutti-server` and two
//! `jam` processes on loopback (real WebRTC, host-driven engines at real-time pace).
//!
//! Run with: `cargo run --release -p tutti-bench --bin e2e-latency -- [--json] [--verbose] [--seconds S] [--settle S] [--block N] [--frames 2.5,5,10,20] [--poll-pacing]`
//!
//! For each frame duration: A joins a fresh room, then B; both send a 1 ms burst every 200 ms
//! (`jam --impulses-ms`) and timestamp burst onsets in what they send and hear on
//! `CLOCK_MONOTONIC`, which both processes share. Each heard onset is paired with the other
//! side's latest sent onset: that delay is mouth to ear without the device's own buffers (from
//! the moment a sample would be captured to the moment it would sound; see `wav_host`). Join
//! time is B's `join-request` → its first decoded frame from A. The figure is the median over the
//! bursts heard after `--settle` seconds (default 5: for its first ~4 s a stream's clock skew is
//! unknown and the buffer keeps headroom); the whole-run median is printed beside it. So is the
//! engines' own estimate: each latency term's median over both peers' per-second `latency`
//! lines after the same settling time.
//!
//! `tutti-server` and `jam` are taken from this binary's directory, built first if missing.

use std::process::Command;
use std::time::Duration;

use tutti_bench::jam_rig::Rig;
use tutti_examples::impulse::pair_onsets;
use tutti_examples::processes::{JamProcess, field};

/// Guard for any single wait: two cores shared with other builds.
const GUARD: Duration = Duration::from_secs(60);
const PERIOD_MS: u32 = 200;

struct Options {
    json: bool,
    verbose: bool,
    seconds: f64,
    /// Bursts heard in the first this-many seconds are left out of the figure (start-up: the
    /// clock skew is unknown for ~4 s and the buffer keeps headroom); the run lasts this plus
    /// `seconds`.
    settle: f64,
    block: usize,
    frames: Vec<String>,
    /// Pass `--poll-pacing` to both peers (the old 1 ms capture poll), for A/B runs.
    poll_pacing: bool,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        json: false,
        verbose: false,
        seconds: 6.0,
        settle: 5.0,
        block: 64,
        frames: ["2.5", "5", "10", "20"].map(str::to_owned).to_vec(),
        poll_pacing: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--json" => o.json = true,
            "--verbose" => o.verbose = true,
            "--poll-pacing" => o.poll_pacing = true,
            "--seconds" => o.seconds = value("--seconds")?.parse().map_err(|e| format!("{e}"))?,
            "--settle" => o.settle = value("--settle")?.parse().map_err(|e| format!("{e}"))?,
            "--block" => o.block = value("--block")?.parse().map_err(|e| format!("{e}"))?,
            "--frames" => o.frames = value("--frames")?.split(',').map(str::to_owned).collect(),
            _ => return Err(format!("unknown argument {arg}")),
        }
    }
    Ok(o)
}

/// One frame duration's result.
#[derive(serde::Serialize)]
struct Row {
    frame_ms: f64,
    /// Median over both directions, after the settling time.
    mouth_to_ear_ms: f64,
    /// Median over both directions and the whole run (start-up included).
    whole_run_ms: f64,
    min_ms: f64,
    p90_ms: f64,
    max_ms: f64,
    impulses_heard: usize,
    impulses_sent: usize,
    join_ms: f64,
    /// The engines' estimate (capture block + frame + lookahead + network + buffer + resampling
    /// + playback block): each term's median over both peers' per-second `latency` lines.
    estimate: Option<Estimate>,
}

#[derive(serde::Serialize)]
struct Estimate {
    capture_ms: f64,
    frame_ms: f64,
    lookahead_ms: f64,
    network_ms: Option<f64>,
    buffer_ms: f64,
    playback_ms: f64,
    total_ms: f64,
}

fn ms_value(s: &str) -> Option<f64> {
    s.strip_suffix("ms")?.parse().ok()
}

fn parse_estimate(line: &str) -> Option<Estimate> {
    let get = |k: &str| field(line, k).and_then(ms_value);
    Some(Estimate {
        capture_ms: get("capture")?,
        frame_ms: get("frame")?,
        lookahead_ms: get("lookahead")?,
        network_ms: get("network"),
        buffer_ms: get("buffer")?,
        playback_ms: get("playback")?,
        total_ms: get("total")?,
    })
}

/// Each term's median over the per-second estimates of both peers: comparable with the measured
/// median, which pools the whole run and both directions (the last line alone is one snapshot
/// of a buffer that moves).
fn median_estimate(all: Vec<Estimate>) -> Option<Estimate> {
    let median = |f: &dyn Fn(&Estimate) -> f64| {
        let mut v: Vec<f64> = all.iter().map(f).filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        quantile(&v, 0.5)
    };
    let network: Vec<f64> = all.iter().filter_map(|e| e.network_ms).collect();
    (!all.is_empty()).then(|| Estimate {
        capture_ms: median(&|e| e.capture_ms),
        frame_ms: median(&|e| e.frame_ms),
        lookahead_ms: median(&|e| e.lookahead_ms),
        network_ms: (!network.is_empty()).then(|| {
            let mut n = network.clone();
            n.sort_by(f64::total_cmp);
            quantile(&n, 0.5)
        }),
        buffer_ms: median(&|e| e.buffer_ms),
        playback_ms: median(&|e| e.playback_ms),
        total_ms: median(&|e| e.total_ms),
    })
}

fn onsets(lines: &[String], kind: &str) -> Vec<u64> {
    lines
        .iter()
        .filter(|l| l.starts_with(kind))
        .filter_map(|l| field(l, "t_ns")?.parse().ok())
        .collect()
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

struct Bench<'a> {
    rig: &'a Rig,
    options: &'a Options,
}

impl Bench<'_> {
    fn jam(&self, room: &str, name: &'static str, frame: &str) -> Result<JamProcess, String> {
        let mut command = Command::new(&self.rig.jam);
        command
            .args(["--server", &self.rig.url(), "--room", room, "--name", name])
            .args(["--udp-bind", "127.0.0.1:0", "--frame-ms", frame])
            .args(["--block", &self.options.block.to_string()])
            .args(["--impulses-ms", &PERIOD_MS.to_string()]);
        if self.options.poll_pacing {
            command.arg("--poll-pacing");
        }
        JamProcess::start(command, self.options.verbose.then_some(name)).map_err(|e| e.to_string())
    }

    fn run(&self, frame: &str) -> Result<Row, String> {
        let room = self
            .rig
            .api
            .create_room(&self.rig.token, &format!("e2e {frame} ms"), 2)
            .map_err(|e| e.to_string())?;
        let a = self.jam(&room, "A", frame)?;
        a.lines
            .wait(0, GUARD, "A to join", |l| {
                l.starts_with("joined ").then_some(())
            })
            .map_err(|e| e.to_string())?;
        let b = self.jam(&room, "B", frame)?;
        let (_, join_ms) = b
            .lines
            .wait(0, GUARD, "B's first decoded frame", |l| {
                l.starts_with("first-decoded ")
                    .then(|| field(l, "since_join").and_then(ms_value))
                    .flatten()
            })
            .map_err(|e| e.to_string())?;
        std::thread::sleep(Duration::from_secs_f64(
            self.options.settle + self.options.seconds,
        ));
        let (a_lines, b_lines) = (a.lines.clone(), b.lines.clone());
        b.quit(GUARD).map_err(|e| e.to_string())?;
        a.quit(GUARD).map_err(|e| e.to_string())?;
        let (a_lines, b_lines) = (a_lines.snapshot(), b_lines.snapshot());

        let max = Duration::from_millis(u64::from(PERIOD_MS) / 2);
        let settle_ns = (self.options.settle * 1e9) as u64;
        // Both directions pooled, each as (heard at, delay ms), from its first heard burst on.
        let mut timed: Vec<(u64, f64)> = Vec::new();
        for (sender, receiver) in [(&a_lines, &b_lines), (&b_lines, &a_lines)] {
            let paired = pair_onsets(
                &onsets(sender, "impulse-sent"),
                &onsets(receiver, "impulse-heard"),
                max,
            );
            let start = paired.first().map_or(0, |p| p.0);
            timed.extend(
                paired
                    .into_iter()
                    .map(|(h, d)| (h - start, d.as_secs_f64() * 1e3)),
            );
        }
        let sorted = |keep: &dyn Fn(u64) -> bool| {
            let mut v: Vec<f64> = timed.iter().filter(|t| keep(t.0)).map(|t| t.1).collect();
            v.sort_by(f64::total_cmp);
            v
        };
        let all = sorted(&|_| true);
        let delays = sorted(&|since_first| since_first >= settle_ns);
        // Only bursts sent while both were connected can be heard: count those.
        let sent = |lines: &[String], other: &[String]| {
            let heard = onsets(other, "impulse-heard");
            let (Some(first), Some(last)) = (heard.first(), heard.last()) else {
                return 0;
            };
            let max_ns = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
            onsets(lines, "impulse-sent")
                .into_iter()
                .filter(|&s| s + max_ns >= *first && s <= *last)
                .count()
        };
        // One `latency` line per second and peer: skip the settling seconds.
        let settled = |lines: &[String]| -> Vec<Estimate> {
            lines
                .iter()
                .filter(|l| l.starts_with("latency "))
                .skip(self.options.settle.ceil() as usize)
                .filter_map(|l| parse_estimate(l))
                .collect()
        };
        let estimate = median_estimate(
            settled(&a_lines)
                .into_iter()
                .chain(settled(&b_lines))
                .collect(),
        );
        Ok(Row {
            frame_ms: frame.parse().unwrap_or(f64::NAN),
            mouth_to_ear_ms: quantile(&delays, 0.5),
            whole_run_ms: quantile(&all, 0.5),
            min_ms: quantile(&delays, 0.0),
            p90_ms: quantile(&delays, 0.9),
            max_ms: quantile(&delays, 1.0),
            impulses_heard: all.len(),
            impulses_sent: sent(&a_lines, &b_lines) + sent(&b_lines, &a_lines),
            join_ms,
            estimate,
        })
    }
}

fn main() {
    if let Err(e) = run() {
        eprintln!("e2e-latency: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let options = options()?;
    let rig = Rig::start("e2e", "e2e@bench.test", GUARD)?;
    let bench = Bench {
        rig: &rig,
        options: &options,
    };
    let mut rows = Vec::new();
    for frame in &options.frames {
        let row = bench.run(frame)?;
        if !options.json {
            print_row(&row, options.block);
        }
        rows.push(row);
    }
    drop(rig);
    if options.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())?
        );
    }
    Ok(())
}

fn print_row(r: &Row, block: usize) {
    println!(
        "frame {:>4} ms (block {block}): mouth-to-ear median {:.2} ms (min {:.2}, p90 {:.2}, max {:.2}; \
         whole run {:.2}; {} of {} bursts heard), join {:.0} ms",
        r.frame_ms,
        r.mouth_to_ear_ms,
        r.min_ms,
        r.p90_ms,
        r.max_ms,
        r.whole_run_ms,
        r.impulses_heard,
        r.impulses_sent,
        r.join_ms
    );
    if let Some(e) = &r.estimate {
        println!(
            "    engine estimate (medians): capture {:.2} + frame {:.2} + lookahead {:.2} + network {} + \
             buffer {:.2} + playback {:.2} = {:.2} ms",
            e.capture_ms,
            e.frame_ms,
            e.lookahead_ms,
            e.network_ms.map_or("-".into(), |n| format!("{n:.2}")),
            e.buffer_ms,
            e.playback_ms,
            e.total_ms
        );
    }
}
