//! The whole receive path a host's audio callback runs never allocates: packets pushed into four
//! peers' playouts (with loss, reordering, duplicates, garbage and clock drift), each popped —
//! decode, conceal, drift-resample — into the mixer, and mixed, for thousands of blocks of varying
//! size, all under `assert_no_alloc` (which aborts the test process on any allocation).
//!
//! Nothing on this path locks either: the jitter buffer, playout and mixer own their state, and
//! the only cross-thread state (mixer parameters and meters) is atomics.
#![cfg(feature = "media")]

use std::time::{Duration, Instant};

use assert_no_alloc::{AllocDisabler, assert_no_alloc};
use tutti_core::codec::{Channels, Encoder, EncoderConfig, SAMPLE_RATE};
use tutti_core::jitter::JitterConfig;
use tutti_core::mixer::{Mixer, MixerConfig, SourceLayout};
use tutti_core::netsim::signal;
use tutti_core::playout::Playout;
use tutti_core::redundancy::RedundancyEncoder;

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

const PEERS: usize = 4;
const FRAME_SAMPLES: usize = 120;
const MAX_BLOCK: usize = 512;

/// Pre-encoded RED packets of a tone, made before the audio path starts.
fn packets(count: usize, freq: f64) -> Vec<Vec<u8>> {
    let mut encoder = Encoder::new(EncoderConfig::default()).expect("encoder");
    let mut red = RedundancyEncoder::new(111, 2).expect("red");
    (0..count)
        .map(|k| {
            let pcm = signal::sine(
                freq,
                0.3,
                SAMPLE_RATE,
                (k * FRAME_SAMPLES) as u64,
                FRAME_SAMPLES,
                2,
            );
            let mut frame = [0u8; 1275];
            let len = encoder.encode(&pcm, &mut frame).expect("encode");
            let mut out = vec![0u8; 4096];
            let n = red
                .packetize((k * FRAME_SAMPLES) as u32, &frame[..len], &mut out)
                .expect("red");
            out.truncate(n);
            out
        })
        .collect()
}

#[test]
fn receive_decode_conceal_resample_mix_never_allocates() {
    const FRAMES: usize = 8_000; // 20 s of 2.5 ms frames
    let streams: Vec<Vec<Vec<u8>>> = (0..PEERS)
        .map(|p| packets(FRAMES, 220.0 * (p + 1) as f64))
        .collect();
    let mut playouts: Vec<_> = (0..PEERS)
        .map(|_| Playout::new(JitterConfig::default(), Channels::Stereo).expect("playout"))
        .collect();
    let (mut mixer, handle) = Mixer::new(MixerConfig {
        max_sources: 8,
        max_block_frames: MAX_BLOCK,
        sample_rate: SAMPLE_RATE,
        ..MixerConfig::default()
    });
    let ids: Vec<_> = (0..PEERS)
        .map(|_| handle.add_source(SourceLayout::Stereo).expect("slot"))
        .collect();
    let mut out = vec![0.0f32; MAX_BLOCK * 2];
    let garbage = [0xFFu8; 40];
    let epoch = Instant::now();
    let mut heard_energy = 0.0f64;

    assert_no_alloc(|| {
        let mut sent = 0usize;
        let mut now = Duration::ZERO;
        let mut block_index = 0usize;
        while sent < FRAMES - 4 {
            // Host blocks of varying size, as a DAW changing its buffer size would send.
            let frames = [16, 64, 128, 441, 512, 32][block_index % 6];
            block_index += 1;
            // The network delivers every packet whose time has come (peer p's clock runs
            // p × 150 ppm fast; every 37th packet is lost, every 11th arrives twice, every 53rd
            // swaps with its neighbour, and garbage shows up now and then).
            while sent < FRAMES - 4 {
                let due = Duration::from_micros(2_500 * sent as u64 + 8_000);
                if due > now {
                    break;
                }
                for (p, playout) in playouts.iter_mut().enumerate() {
                    let drifted = due.mul_f64(1.0 - 150e-6 * p as f64);
                    let k = if sent.is_multiple_of(53) {
                        sent + 1
                    } else if sent % 53 == 1 {
                        sent - 1
                    } else {
                        sent
                    };
                    let packet = &streams[p][k];
                    let copies = usize::from(k % 37 != 5) + usize::from(k.is_multiple_of(11));
                    for _ in 0..copies {
                        let ts = (k * FRAME_SAMPLES) as u32;
                        playout.push(epoch + drifted, k as u16, ts, packet);
                    }
                    if k.is_multiple_of(97) {
                        playout.push(epoch + drifted, 9, 77, &garbage);
                    }
                }
                sent += 1;
            }
            for (playout, &id) in playouts.iter_mut().zip(&ids) {
                if let Some(input) = mixer.source_input(id) {
                    playout.pop(epoch + now, &mut input[..frames * 2]);
                }
            }
            if block_index.is_multiple_of(100) {
                let _ = handle.set_gain_db(ids[block_index / 100 % PEERS], -3.0);
                let _ = handle.set_pan(ids[0], (block_index % 7) as f32 / 7.0 - 0.5);
            }
            mixer.mix(frames, &mut out[..frames * 2]).expect("mix");
            heard_energy += out[..frames * 2]
                .iter()
                .map(|&x| f64::from(x) * f64::from(x))
                .sum::<f64>();
            now += Duration::from_nanos(frames as u64 * 1_000_000_000 / u64::from(SAMPLE_RATE));
        }
    });

    // The path really ran: audio came out, losses were recovered, garbage was counted. (Host
    // blocks jumping between 16 and 512 frames every call make pulls up to 10 ms early, so
    // some frames are late here; steady block sizes do far better — see tests/playout.rs.)
    assert!(heard_energy > 1_000.0, "energy {heard_energy}");
    for playout in &playouts {
        let stats = playout.jitter().stats();
        assert!(
            stats.frames_decoded + stats.frames_recovered > 6_500,
            "{stats:?}"
        );
        assert!(stats.frames_recovered > 100, "{stats:?}");
        assert!(stats.malformed > 50, "{stats:?}");
        assert!(stats.duplicates > 500, "{stats:?}");
    }
}
