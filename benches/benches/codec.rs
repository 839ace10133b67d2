//! Opus encode/decode/PLC cost for one 2.5 ms stereo frame, and RED packetize + parse.
//!
//! Run with: `cargo bench -p tutti-bench --bench codec`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tutti_core::codec::{Decoder, Encoder, EncoderConfig, MAX_PACKET_BYTES};
use tutti_core::redundancy::{self, RedundancyEncoder};

/// 40 ms of a deterministic music-like stereo signal: a chord of a few partials plus a little
/// noise from a fixed-seed LCG, so runs are comparable.
fn music(frames: usize) -> Vec<f32> {
    let partials = [
        (110.0, 0.25),
        (220.0, 0.12),
        (277.18, 0.1),
        (329.63, 0.1),
        (1760.0, 0.03),
    ];
    let mut seed: u32 = 0x1234_5678;
    let mut noise = move || {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (seed >> 8) as f32 / (1 << 24) as f32 - 0.5
    };
    let mut out = Vec::with_capacity(frames * 2);
    for i in 0..frames {
        let t = i as f32 / 48_000.0;
        let tone: f32 = partials
            .iter()
            .map(|&(f, a)| a * (std::f32::consts::TAU * f * t).sin())
            .sum();
        out.push(tone + 0.01 * noise());
        out.push(0.9 * tone + 0.01 * noise());
    }
    out
}

fn bench_codec(c: &mut Criterion) {
    let signal = music(1920);
    let frames: Vec<&[f32]> = signal.chunks_exact(240).collect();

    for complexity in [10, 5] {
        let mut encoder = Encoder::new(EncoderConfig {
            complexity,
            ..EncoderConfig::default()
        })
        .expect("encoder");
        let mut packet = [0_u8; MAX_PACKET_BYTES];
        let mut i = 0;
        c.bench_function(
            &format!("opus_encode_2.5ms_stereo_128k_c{complexity}"),
            |b| {
                b.iter(|| {
                    i = (i + 1) % frames.len();
                    black_box(encoder.encode(black_box(frames[i]), &mut packet))
                })
            },
        );
    }

    // Pre-encode the signal so decode sees a realistic packet stream.
    let mut encoder = Encoder::new(EncoderConfig::default()).expect("encoder");
    let packets: Vec<Vec<u8>> = frames
        .iter()
        .map(|f| {
            let mut p = [0_u8; MAX_PACKET_BYTES];
            let len = encoder.encode(f, &mut p).expect("encode");
            p[..len].to_vec()
        })
        .collect();

    let mut decoder = Decoder::new(EncoderConfig::default().channels).expect("decoder");
    let mut out = [0.0_f32; 240];
    let mut i = 0;
    c.bench_function("opus_decode_2.5ms_stereo_128k", |b| {
        b.iter(|| {
            i = (i + 1) % packets.len();
            black_box(decoder.decode(black_box(&packets[i]), &mut out))
        })
    });

    // Loss right after real audio: decode one packet, then conceal the next frame. Subtract
    // the decode figure above for the cost of PLC alone.
    c.bench_function("opus_decode_then_plc_2.5ms_stereo", |b| {
        b.iter(|| {
            i = (i + 1) % packets.len();
            let _ = decoder.decode(&packets[i], &mut out);
            black_box(decoder.conceal(&mut out))
        })
    });

    // A long outage: concealment after concealment (libopus fades to comfort noise).
    c.bench_function("opus_plc_consecutive_2.5ms_stereo", |b| {
        b.iter(|| black_box(decoder.conceal(&mut out)))
    });

    let mut red = RedundancyEncoder::new(111, 2).expect("red");
    let mut payload = [0_u8; 4 * MAX_PACKET_BYTES];
    let mut ts = 0_u32;
    c.bench_function("red_packetize_parse_depth2", |b| {
        b.iter(|| {
            i = (i + 1) % packets.len();
            ts = ts.wrapping_add(120);
            let len = red
                .packetize(ts, black_box(&packets[i]), &mut payload)
                .expect("packetize");
            let parsed = redundancy::parse(black_box(&payload[..len])).expect("parse");
            black_box(parsed.primary().data.len())
        })
    });
}

criterion_group!(benches, bench_codec);
criterion_main!(benches);
