//! One `Engine::process` call with five remote peers at 2.5 ms frames (RED depth 2, real Opus):
//! drain each peer's packet ring into its jitter buffer, pop + decode/conceal + drift-resample,
//! mix, capture and frame the input, and (at 44.1 kHz) convert both ways. The network side's
//! work (delivering packets, encoding the capture) runs between the timed calls.
//!
//! Run with: `cargo bench -p tutti-bench --bench engine`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use tutti_bench::engine_payloads::red_payloads;
use tutti_core::engine::{Engine, EngineConfig, EnginePeer, PeerConfig};
use tutti_core::netsim::signal;

const PEERS: usize = 5;
const BLOCK: usize = 64;
const FRAME: Duration = Duration::from_micros(2500);
const BASE_DELAY: Duration = Duration::from_millis(10);
/// Pre-built payloads, reused cyclically (RED offsets are relative, so reuse is exact).
const PAYLOADS: usize = 1024;

fn bench_engine(c: &mut Criterion) {
    let payloads = red_payloads(PAYLOADS);
    for rate in [48_000u32, 44_100] {
        let (mut engine, mut network, _control) = Engine::new(EngineConfig {
            host_rate: rate,
            max_block_frames: BLOCK,
            ..EngineConfig::default()
        })
        .expect("engine");
        let peers: Vec<EnginePeer> = (0..PEERS)
            .map(|_| network.add_peer(PeerConfig::default()).expect("peer"))
            .collect();
        let input = signal::sine(440.0, 0.3, rate, 0, BLOCK, 1);
        let (mut l, mut r) = ([0.0f32; BLOCK], [0.0f32; BLOCK]);
        let start = Instant::now();
        let (mut block, mut sent) = (0u64, 0u64);
        // One host callback; returns the time spent in `process` alone.
        let mut callback = || {
            let now = start
                + Duration::from_nanos(block * BLOCK as u64 * 1_000_000_000 / u64::from(rate));
            block += 1;
            loop {
                let arrival = start + FRAME * sent as u32 + BASE_DELAY;
                if arrival > now {
                    break;
                }
                let payload = &payloads[sent as usize % PAYLOADS];
                for &peer in &peers {
                    network
                        .receive(
                            peer,
                            arrival,
                            sent as u16,
                            (sent as u32).wrapping_mul(120),
                            payload,
                        )
                        .expect("receive");
                }
                sent += 1;
            }
            let timer = Instant::now();
            engine
                .process_at(now, &[black_box(&input[..])], &mut [&mut l, &mut r], BLOCK)
                .expect("process");
            let spent = timer.elapsed();
            while network.poll_packet().is_some() {}
            spent
        };
        // Ten seconds first: jitter buffers, skew fits and policies in steady state.
        for _ in 0..(10 * rate as usize / BLOCK) {
            callback();
        }
        let name = format!(
            "engine_process_5_peers_2.5ms_{BLOCK}_frames_{}k",
            rate as f64 / 1000.0
        );
        c.bench_function(&name, |b| {
            b.iter_custom(|iters| (0..iters).map(|_| callback()).sum())
        });
    }
}

criterion_group!(benches, bench_engine);
criterion_main!(benches);
