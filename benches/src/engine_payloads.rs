//! Remote peers' packets for engine benchmarks: RED payloads of a chord, made by a sender
//! engine exactly as it would send them (2.5 ms stereo Opus frames, RED depth 2).

use tutti_core::engine::{Engine, EngineConfig};
use tutti_core::netsim::signal;

/// Samples per 2.5 ms frame at 48 kHz (the RTP timestamp step between payloads).
pub const FRAME_SAMPLES: u32 = 120;

/// `count` consecutive payloads. RED offsets are relative, so a receiver may reuse them
/// cyclically with fresh sequence numbers and timestamps.
pub fn red_payloads(count: usize) -> Vec<Vec<u8>> {
    let (mut sender, mut network, _) = Engine::new(EngineConfig {
        max_block_frames: 120,
        capture_ring: count + 1,
        ..EngineConfig::default()
    })
    .expect("sender engine with default settings");
    let mut out = Vec::with_capacity(count);
    let (mut l, mut r) = ([0.0f32; 120], [0.0f32; 120]);
    for k in 0..count {
        let chord: Vec<f32> = [110.0, 220.0, 329.63]
            .iter()
            .map(|&f| signal::sine(f, 0.2, 48_000, (k * 120) as u64, 120, 1))
            .reduce(|a, b| a.iter().zip(&b).map(|(x, y)| x + y).collect())
            .expect("three tones");
        sender
            .process(&[&chord], &mut [&mut l, &mut r], 120)
            .expect("a 120-frame block fits");
        while let Some(p) = network.poll_packet() {
            out.push(p.payload.to_vec());
        }
    }
    out
}
