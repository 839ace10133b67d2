//! Mixer cost per audio block: N stereo sources summed into the stereo bus, including writing
//! each source's input, the master gain, the limiter and the meters.
//!
//! Run with: `cargo bench -p tutti-bench --bench mixer`
//!
//! Budget: 32 sources × 120 frames (2.5 ms at 48 kHz) within 40 µs, i.e. ≤ 10 ns per
//! source-frame. Throughput is reported in source-frames.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tutti_core::mixer::{Mixer, MixerConfig, SourceId, SourceLayout};

struct Setup {
    mixer: Mixer,
    handle: tutti_core::mixer::MixerHandle,
    ids: Vec<SourceId>,
    signal: Vec<f32>,
    out: Vec<f32>,
    frames: usize,
}

fn setup(sources: usize, frames: usize) -> Setup {
    let (mixer, handle) = Mixer::new(MixerConfig {
        max_sources: sources,
        max_block_frames: frames,
        sample_rate: 48_000,
        smoothing: Duration::from_millis(10),
    });
    let ids: Vec<SourceId> = (0..sources)
        .map(|i| {
            let id = handle
                .add_source(SourceLayout::Stereo)
                .expect("capacity matches the source count");
            let pan = if sources > 1 {
                2.0 * i as f32 / (sources - 1) as f32 - 1.0
            } else {
                0.0
            };
            handle.set_pan(id, pan).expect("valid pan");
            handle
                .set_gain(id, 1.0 / sources as f32)
                .expect("valid gain");
            id
        })
        .collect();
    let signal = (0..2 * frames)
        .map(|n| 0.5 * (n as f32 * 0.05).sin())
        .collect();
    let mut setup = Setup {
        mixer,
        handle,
        ids,
        signal,
        out: vec![0.0; 2 * frames],
        frames,
    };
    // Let the fade-in ramps settle so the steady-state path is measured.
    for _ in 0..100 {
        block(&mut setup);
    }
    setup
}

fn block(s: &mut Setup) {
    let samples = 2 * s.frames;
    for &id in &s.ids {
        if let Some(input) = s.mixer.source_input(id) {
            input[..samples].copy_from_slice(&s.signal);
        }
    }
    s.mixer
        .mix(s.frames, black_box(&mut s.out))
        .expect("block fits the configuration");
}

fn bench_mixer(c: &mut Criterion) {
    let mut group = c.benchmark_group("mixer");
    for (sources, frames) in [(32, 120), (4, 64)] {
        group.throughput(Throughput::Elements((sources * frames) as u64));
        let mut steady = setup(sources, frames);
        group.bench_function(format!("{sources}_stereo_x_{frames}_frames"), |b| {
            b.iter(|| block(&mut steady))
        });

        // Worst case: every source's gain changes every block, so every ramp is always moving.
        let mut ramping = setup(sources, frames);
        let mut flip = false;
        group.bench_function(format!("{sources}_stereo_x_{frames}_frames_ramping"), |b| {
            b.iter(|| {
                flip = !flip;
                let gain = if flip { 0.5 } else { 1.0 } / sources as f32;
                for &id in &ramping.ids {
                    ramping.handle.set_gain(id, gain).expect("valid gain");
                }
                block(&mut ramping)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_mixer);
criterion_main!(benches);
