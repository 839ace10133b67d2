//! Receive-path cost: one `JitterBuffer::push` + `pop` per 2.5 ms frame in steady state (RED
//! depth 2), and `Playout::pop` of one 64-frame host block over a real Opus stream (mono and
//! stereo), which is jitter buffer + Opus decode + drift resampler per host callback.
//!
//! Run with: `cargo bench -p tutti-bench --bench jitter`
//!
//! Budget: push + pop ≤ 2 µs per frame (0.08% of a 2.5 ms frame on one core).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use tutti_core::codec::{Channels, Encoder, EncoderConfig, MAX_PACKET_BYTES};
use tutti_core::jitter::{JitterBuffer, JitterConfig, PayloadFormat, Pop};
use tutti_core::playout::Playout;
use tutti_core::redundancy::RedundancyEncoder;

const FRAME: Duration = Duration::from_micros(2500);
const SAMPLES: u32 = 120;
const BASE_DELAY: Duration = Duration::from_millis(10);
/// Pre-built payloads, reused cyclically (RED offsets are relative, so reuse is exact).
const PAYLOADS: usize = 1024;

/// Deterministic jitter in 0..500 µs from a fixed-seed LCG: steady state, not a spike test.
struct Jitter(u32);

impl Jitter {
    fn next(&mut self) -> Duration {
        self.0 = self.0.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        Duration::from_micros(u64::from((self.0 >> 8) % 500))
    }
}

/// RED depth-2 payloads around `frames` (each frame's RTP timestamp is `k × 120`).
fn red_payloads(frames: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut red = RedundancyEncoder::new(111, 2).expect("red");
    let mut out = [0_u8; 4 * MAX_PACKET_BYTES];
    frames
        .iter()
        .enumerate()
        .map(|(k, f)| {
            let len = red
                .packetize(k as u32 * SAMPLES, f, &mut out)
                .expect("packetize");
            out[..len].to_vec()
        })
        .collect()
}

/// A 2.5 ms frame of a chord with a little deterministic noise, interleaved over `channels`.
fn music_frame(k: usize, channels: usize) -> Vec<f32> {
    let mut seed = 0x9E37_79B9_u32.wrapping_mul(k as u32 + 1);
    (0..SAMPLES as usize)
        .flat_map(|i| {
            let t = (k * SAMPLES as usize + i) as f32 / 48_000.0;
            let tone: f32 = [(110.0, 0.25), (220.0, 0.12), (329.63, 0.1)]
                .iter()
                .map(|&(f, a)| a * (std::f32::consts::TAU * f * t).sin())
                .sum();
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let v = tone + 0.01 * ((seed >> 8) as f32 / (1 << 24) as f32 - 0.5);
            std::iter::repeat_n(v, channels)
        })
        .collect()
}

fn bench_push_pop(c: &mut Criterion) {
    // Payload bytes do not matter to the buffer; 40 bytes is a 2.5 ms frame at 128 kbit/s.
    let frames: Vec<Vec<u8>> = (0..PAYLOADS)
        .map(|k| (0..40).map(|i| (k * 7 + i) as u8).collect())
        .collect();
    let payloads = red_payloads(&frames);
    let mut jb = JitterBuffer::new(JitterConfig {
        payload: PayloadFormat::Redundant,
        ..JitterConfig::default()
    });
    let start = Instant::now();
    let mut jitter = Jitter(0x1234_5678);
    let mut k: u64 = 0;
    let mut step = |jb: &mut JitterBuffer| {
        let sent = start + FRAME * k as u32;
        let payload = &payloads[k as usize % PAYLOADS];
        jb.push(
            sent + BASE_DELAY + jitter.next(),
            k as u16,
            (k as u32).wrapping_mul(SAMPLES),
            payload,
        );
        // Pulled a little after the path's worst case, as the audio clock would.
        let played = matches!(jb.pop(sent + BASE_DELAY + FRAME), Pop::Frame { .. });
        k += 1;
        played
    };
    // Ten seconds of stream first: skew fit, baseline and policy in steady state.
    for _ in 0..4000 {
        step(&mut jb);
    }
    assert!(
        jb.stats().frames_decoded > 3500,
        "not steady: {:?}",
        jb.stats()
    );
    c.bench_function("jitter_push_pop_2.5ms_red2", |b| {
        b.iter(|| black_box(step(black_box(&mut jb))))
    });
}

fn bench_playout(c: &mut Criterion) {
    const BLOCK: usize = 64;
    for channels in [Channels::Mono, Channels::Stereo] {
        let n = channels.count();
        let mut encoder = Encoder::new(EncoderConfig {
            channels,
            ..EncoderConfig::default()
        })
        .expect("encoder");
        let mut packet = [0_u8; MAX_PACKET_BYTES];
        let frames: Vec<Vec<u8>> = (0..PAYLOADS)
            .map(|k| {
                let len = encoder
                    .encode(&music_frame(k, n), &mut packet)
                    .expect("encode");
                packet[..len].to_vec()
            })
            .collect();
        let payloads = red_payloads(&frames);
        let mut playout = Playout::new(JitterConfig::default(), channels).expect("playout");
        let start = Instant::now();
        let mut jitter = Jitter(0x8765_4321);
        let mut out = vec![0.0_f32; BLOCK * n];
        let (mut sent, mut block) = (0_u64, 0_u64);
        let mut arrival = start + BASE_DELAY + jitter.next();
        // One host callback: deliver the packets that have arrived by now, then fill the block.
        let mut callback = |playout: &mut Playout, out: &mut [f32]| {
            let now = start + Duration::from_nanos(block * BLOCK as u64 * 1_000_000_000 / 48_000);
            while arrival <= now {
                playout.push(
                    arrival,
                    sent as u16,
                    (sent as u32).wrapping_mul(SAMPLES),
                    &payloads[sent as usize % PAYLOADS],
                );
                sent += 1;
                arrival = start + FRAME * sent as u32 + BASE_DELAY + jitter.next();
            }
            playout.pop(now, out);
            block += 1;
        };
        for _ in 0..8000 {
            callback(&mut playout, &mut out);
        }
        let stats = playout.jitter().stats();
        assert!(stats.frames_decoded > 3500, "not steady: {stats:?}");
        c.bench_function(&format!("playout_pop_64_frames_{}", name(channels)), |b| {
            b.iter(|| {
                callback(black_box(&mut playout), &mut out);
                black_box(out[0])
            })
        });
    }
}

fn name(channels: Channels) -> &'static str {
    match channels {
        Channels::Mono => "mono",
        Channels::Stereo => "stereo",
    }
}

criterion_group!(benches, bench_push_pop, bench_playout);
criterion_main!(benches);
