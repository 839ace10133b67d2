#![allow(unsafe_code)] // Calls the C API as C would; allowed under ffi/ only.
//! Cost of one `tutti_engine_process` call through the C ABI, as a DAW plug-in makes it: four
//! remote peers (2.5 ms stereo Opus, RED depth 2), 64-frame stereo blocks at 48 kHz, called at
//! real-time pace (sleeping to absolute deadlines, like a sound card's period). Packets from each peer are
//! delivered between calls when due, with their real arrival time. Prints p50, p99 and max in
//! µs of the measured calls (after a warm-up that lets jitter buffers settle).
//!
//! Run with: cargo bench -p tutti-ffi --bench process_cost -- [--seconds 20] [--json]

use std::time::{Duration, Instant};

use tutti_bench::engine_payloads::{FRAME_SAMPLES, red_payloads};
use tutti_core::engine::{Engine, EngineConfig, EnginePeer, PeerConfig};
use tutti_core::netsim::signal;
use tutti_ffi::c_api::TuttiResult;
use tutti_ffi::c_api::engine::{TuttiEngine, tutti_engine_free, tutti_engine_process};

const PEERS: usize = 4;
const BLOCK: usize = 64;
const RATE: u32 = 48_000;
const FRAME: Duration = Duration::from_micros(2500);
const PAYLOADS: usize = 1024;
const WARM_UP: Duration = Duration::from_secs(3);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: f64 = args
        .iter()
        .position(|a| a == "--seconds")
        .and_then(|i| args.get(i + 1))
        .map_or(20.0, |s| s.parse().expect("--seconds takes a number"));
    let json = args.iter().any(|a| a == "--json");

    let payloads = red_payloads(PAYLOADS);
    let (engine, mut network, _control) = Engine::new(EngineConfig {
        host_rate: RATE,
        max_block_frames: BLOCK,
        ..EngineConfig::default()
    })
    .expect("engine");
    let peers: Vec<EnginePeer> = (0..PEERS)
        .map(|_| network.add_peer(PeerConfig::default()).expect("peer"))
        .collect();
    let mut engine = TuttiEngine::into_raw(engine, 2, BLOCK);
    let input = signal::sine(440.0, 0.3, RATE, 0, BLOCK, 1);
    let (mut l, mut r) = ([0.0f32; BLOCK], [0.0f32; BLOCK]);
    let block = Duration::from_nanos(BLOCK as u64 * 1_000_000_000 / u64::from(RATE));

    let start = Instant::now();
    let end = start + WARM_UP + Duration::from_secs_f64(seconds);
    let (mut next, mut sent) = (start, 0u64);
    let mut costs: Vec<f64> = Vec::with_capacity((seconds * 800.0) as usize);
    let mut late = 0u64;
    while next < end {
        // Deliver every packet due by now (the sender's clock runs with ours).
        let now = Instant::now();
        while start + FRAME * sent as u32 <= now {
            let payload = &payloads[sent as usize % PAYLOADS];
            for &peer in &peers {
                network
                    .receive(
                        peer,
                        now,
                        sent as u16,
                        (sent as u32).wrapping_mul(FRAME_SAMPLES),
                        payload,
                    )
                    .expect("receive");
            }
            sent += 1;
        }
        let ins = [input.as_ptr(), input.as_ptr()];
        let outs = [l.as_mut_ptr(), r.as_mut_ptr()];
        let timer = Instant::now();
        // SAFETY: `engine` is live and used by this thread only; both arrays hold 2 pointers
        // to BLOCK floats that outlive the call, outputs distinct from inputs.
        let result =
            unsafe { tutti_engine_process(engine, ins.as_ptr(), outs.as_ptr(), 2, BLOCK as u32) };
        let spent = timer.elapsed();
        assert_eq!(result, TuttiResult::Ok);
        if timer >= start + WARM_UP {
            costs.push(spent.as_secs_f64() * 1e6);
        }
        while network.poll_packet().is_some() {}
        next += block;
        let now = Instant::now();
        if now < next {
            std::thread::sleep(next - now);
        } else {
            late += 1;
        }
    }
    // SAFETY: made by `into_raw` above and not used afterwards.
    unsafe { tutti_engine_free(&mut engine) };

    costs.sort_by(f64::total_cmp);
    let pick = |q: f64| costs[((costs.len() - 1) as f64 * q).round() as usize];
    let (p50, p99, max) = (pick(0.5), pick(0.99), pick(1.0));
    if json {
        println!(
            r#"{{"calls":{},"peers":{PEERS},"block":{BLOCK},"p50_us":{p50:.2},"p99_us":{p99:.2},"max_us":{max:.2},"late_blocks":{late}}}"#,
            costs.len()
        );
    } else {
        println!(
            "tutti_engine_process, {PEERS} peers, {BLOCK}-frame stereo blocks at 48 kHz, real-time pace: \
             calls={} p50={p50:.1}µs p99={p99:.1}µs max={max:.1}µs late_blocks={late}",
            costs.len()
        );
    }
}
