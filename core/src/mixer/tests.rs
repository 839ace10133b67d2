use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use proptest::prelude::*;

use super::*;

const RATE: u32 = 48_000;
const FRAMES: usize = 128;
/// 10 ms at 48 kHz.
const RAMP: usize = 480;

fn new_mixer(max_sources: usize) -> (Mixer, MixerHandle) {
    Mixer::new(MixerConfig {
        max_sources,
        max_block_frames: FRAMES,
        sample_rate: RATE,
        smoothing: Duration::from_millis(10),
    })
}

fn instant_mixer(max_sources: usize) -> (Mixer, MixerHandle) {
    Mixer::new(MixerConfig {
        max_sources,
        max_block_frames: FRAMES,
        sample_rate: RATE,
        smoothing: Duration::ZERO,
    })
}

/// Mixes `blocks` blocks where every source is filled with the constant `level`, and returns the
/// output of the last block.
fn run_dc(mixer: &mut Mixer, blocks: usize, level: f32) -> Vec<f32> {
    let mut out = vec![0.0; 2 * FRAMES];
    for _ in 0..blocks {
        mixer
            .mix_with(FRAMES, &mut out, |_, buf| {
                buf.fill(level);
                true
            })
            .expect("mix");
    }
    out
}

/// Blocks comfortably past one smoothing ramp.
const SETTLE: usize = 2 * RAMP / FRAMES + 1;

fn assert_close(actual: f32, expected: f32, tolerance: f32) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{actual} is not within {tolerance} of {expected}"
    );
}

#[test]
fn mono_centre_is_minus_3db_per_side() {
    let (mut mixer, handle) = new_mixer(1);
    handle.add_source(SourceLayout::Mono).expect("add");
    let out = run_dc(&mut mixer, SETTLE, 0.5);
    let expected = 0.5 * std::f32::consts::FRAC_1_SQRT_2;
    for frame in out.chunks_exact(2) {
        assert_close(frame[0], expected, 1e-6);
        assert_close(frame[1], expected, 1e-6);
    }
    assert_close(20.0 * (frame_gain(&out, 0, 0.5)).log10(), -3.01, 0.01);
}

fn frame_gain(out: &[f32], channel: usize, input: f32) -> f32 {
    out[out.len() - 2 + channel] / input
}

#[test]
fn mono_hard_left_silences_right_and_power_is_constant() {
    let (mut mixer, handle) = new_mixer(1);
    let id = handle.add_source(SourceLayout::Mono).expect("add");
    handle.set_pan(id, -1.0).expect("pan");
    let out = run_dc(&mut mixer, SETTLE, 0.5);
    assert_close(frame_gain(&out, 0, 0.5), 1.0, 1e-6);
    assert_eq!(frame_gain(&out, 1, 0.5), 0.0);

    handle.set_pan(id, 1.0).expect("pan");
    let out = run_dc(&mut mixer, SETTLE, 0.5);
    assert_eq!(frame_gain(&out, 0, 0.5), 0.0);
    assert_close(frame_gain(&out, 1, 0.5), 1.0, 1e-6);

    for pan in [-0.75, -0.3, 0.0, 0.4, 0.9] {
        handle.set_pan(id, pan).expect("pan");
        let out = run_dc(&mut mixer, SETTLE, 0.5);
        let (l, r) = (frame_gain(&out, 0, 0.5), frame_gain(&out, 1, 0.5));
        assert_close(l * l + r * r, 1.0, 1e-5);
        assert_eq!(l > r, pan < 0.0, "pan {pan}");
    }
}

#[test]
fn stereo_pan_is_a_balance_control() {
    let (mut mixer, handle) = new_mixer(1);
    let id = handle.add_source(SourceLayout::Stereo).expect("add");
    let out = run_dc(&mut mixer, SETTLE, 0.5);
    assert_eq!(
        (frame_gain(&out, 0, 0.5), frame_gain(&out, 1, 0.5)),
        (1.0, 1.0)
    );

    handle.set_pan(id, 0.5).expect("pan");
    let out = run_dc(&mut mixer, SETTLE, 0.5);
    assert_eq!(
        (frame_gain(&out, 0, 0.5), frame_gain(&out, 1, 0.5)),
        (0.5, 1.0)
    );

    handle.set_pan(id, -1.0).expect("pan");
    let out = run_dc(&mut mixer, SETTLE, 0.5);
    assert_eq!(
        (frame_gain(&out, 0, 0.5), frame_gain(&out, 1, 0.5)),
        (1.0, 0.0)
    );
}

#[test]
fn gain_db_and_master_gain_multiply() {
    let (mut mixer, handle) = new_mixer(1);
    let id = handle.add_source(SourceLayout::Stereo).expect("add");
    handle.set_gain_db(id, -6.0).expect("gain");
    handle.set_master_gain_db(-6.0).expect("master");
    let out = run_dc(&mut mixer, SETTLE, 0.5);
    let expected = 0.5 * 10f32.powf(-12.0 / 20.0);
    assert_close(out[0], expected, 1e-6);
    assert_close(out[1], expected, 1e-6);
    assert_close(handle.params(id).expect("params").gain, 0.501_187, 1e-5);
}

#[test]
fn mute_silences_after_the_ramp_without_a_jump() {
    let (mut mixer, handle) = new_mixer(1);
    let id = handle.add_source(SourceLayout::Stereo).expect("add");
    run_dc(&mut mixer, SETTLE, 0.5);
    handle.set_mute(id, true).expect("mute");
    let mut previous = 0.5;
    let mut out = vec![0.0; 2 * FRAMES];
    for _ in 0..SETTLE {
        mixer
            .mix_with(FRAMES, &mut out, |_, buf| {
                buf.fill(0.5);
                true
            })
            .expect("mix");
        for frame in out.chunks_exact(2) {
            assert!((frame[0] - previous).abs() <= 0.5 / RAMP as f32 + 1e-6);
            previous = frame[0];
        }
    }
    assert!(out.iter().all(|&s| s == 0.0));
    let meter = handle.source_meter(id).expect("meter");
    assert!(meter.peak[0] < 0.5, "the peak meter falls once muted");
}

#[test]
fn gain_step_is_smoothed_within_a_bound() {
    let (mut mixer, handle) = new_mixer(1);
    let id = handle.add_source(SourceLayout::Stereo).expect("add");
    let mut out = vec![0.0; 2 * FRAMES];
    let mut previous = 0.0; // the source fades in from silence when added
    let mut max_step = 0.0f32;
    let mut step = |mixer: &mut Mixer, out: &mut Vec<f32>| {
        mixer
            .mix_with(FRAMES, out, |_, buf| {
                buf.fill(0.5);
                true
            })
            .expect("mix");
        for frame in out.chunks_exact(2) {
            max_step = max_step.max((frame[0] - previous).abs());
            previous = frame[0];
        }
    };
    for _ in 0..SETTLE {
        step(&mut mixer, &mut out);
    }
    handle.set_gain(id, 1.5).expect("gain");
    for _ in 0..SETTLE {
        step(&mut mixer, &mut out);
    }
    assert_close(out[0], 0.75, 1e-6);
    handle.set_gain(id, 0.1).expect("gain");
    for _ in 0..SETTLE {
        step(&mut mixer, &mut out);
    }
    assert_close(out[0], 0.05, 1e-6);
    // The largest move is 1.5 → 0.1 at an input of 0.5: 0.7 over 480 samples.
    assert!(max_step <= 0.7 / RAMP as f32 + 1e-6, "max step {max_step}");
}

#[test]
fn solo_leaves_only_soloed_sources() {
    let (mut mixer, handle) = new_mixer(2);
    let left = handle.add_source(SourceLayout::Mono).expect("add");
    let right = handle.add_source(SourceLayout::Mono).expect("add");
    handle.set_pan(left, -1.0).expect("pan");
    handle.set_pan(right, 1.0).expect("pan");
    let heard = |mixer: &mut Mixer| {
        let out = run_dc(mixer, SETTLE, 0.5);
        (out[0] != 0.0, out[1] != 0.0)
    };
    assert_eq!(heard(&mut mixer), (true, true));
    handle.set_solo(left, true).expect("solo");
    assert_eq!(heard(&mut mixer), (true, false));
    handle.set_solo(right, true).expect("solo");
    assert_eq!(heard(&mut mixer), (true, true));
    handle.set_mute(right, true).expect("mute");
    assert_eq!(heard(&mut mixer), (true, false));
    handle.set_solo(left, false).expect("solo");
    assert_eq!(
        heard(&mut mixer),
        (false, false),
        "only a muted source is soloed"
    );
    // Removing the last soloed source ends the solo.
    handle.remove_source(right).expect("remove");
    assert_eq!(heard(&mut mixer), (true, false));
}

#[test]
fn stale_source_id_is_rejected() {
    let (mut mixer, handle) = new_mixer(1);
    let old = handle.add_source(SourceLayout::Mono).expect("add");
    handle.remove_source(old).expect("remove");
    let new = handle.add_source(SourceLayout::Stereo).expect("re-add");
    assert_eq!(old.index(), new.index(), "the slot is re-used");
    let stale = Err(MixerError::UnknownSource(old));
    assert_eq!(handle.set_gain(old, 0.5), stale);
    assert_eq!(handle.set_pan(old, 0.5), stale);
    assert_eq!(handle.set_mute(old, true), stale);
    assert_eq!(handle.set_solo(old, true), stale);
    assert_eq!(handle.remove_source(old), stale);
    assert_eq!(
        handle.source_meter(old),
        Err(MixerError::UnknownSource(old))
    );
    assert!(mixer.source_input(old).is_none());
    // The new occupant is untouched and has defaults.
    let params = handle.params(new).expect("params");
    assert_eq!(
        (params.layout, params.gain, params.mute),
        (SourceLayout::Stereo, 1.0, false)
    );
    assert_eq!(
        mixer.source_input(new).map(|buf| buf.len()),
        Some(2 * FRAMES)
    );

    let (_, other) = Mixer::new(MixerConfig::default());
    let foreign = other.add_source(SourceLayout::Mono).expect("add");
    let (_, empty) = new_mixer(0);
    assert_eq!(
        empty.set_gain(foreign, 1.0),
        Err(MixerError::UnknownSource(foreign))
    );
}

#[test]
fn capacity_and_argument_errors() {
    let (mut mixer, handle) = new_mixer(2);
    let id = handle.add_source(SourceLayout::Mono).expect("add");
    handle.add_source(SourceLayout::Mono).expect("add");
    assert_eq!(
        handle.add_source(SourceLayout::Mono),
        Err(MixerError::NoFreeSlot { max_sources: 2 })
    );
    let mut out = vec![0.0; 2 * FRAMES + 2];
    assert_eq!(
        mixer.mix(FRAMES + 1, &mut out),
        Err(MixerError::BlockTooLarge {
            frames: FRAMES + 1,
            max: FRAMES
        })
    );
    assert_eq!(
        mixer.mix(10, &mut out[..19]),
        Err(MixerError::OutputTooShort {
            needed: 20,
            len: 19
        })
    );
    assert!(mixer.mix(0, &mut []).is_ok());
    for bad in [f32::NAN, -0.1, f32::INFINITY, 100.0] {
        assert!(matches!(
            handle.set_gain(id, bad),
            Err(MixerError::InvalidParameter { name: "gain", .. })
        ));
    }
    assert!(handle.set_gain_db(id, f32::NAN).is_err());
    assert!(handle.set_gain_db(id, 30.0).is_err());
    assert!(handle.set_master_gain(-1.0).is_err());
    assert!(handle.set_pan(id, f32::NAN).is_err());
    handle
        .set_gain_db(id, f32::NEG_INFINITY)
        .expect("−∞ dB is silence");
    assert_eq!(handle.params(id).expect("params").gain, 0.0);
    handle.set_pan(id, 7.0).expect("pan is clamped");
    assert_eq!(handle.params(id).expect("params").pan, 1.0);
}

#[test]
fn a_source_not_refreshed_contributes_silence() {
    let (mut mixer, handle) = new_mixer(2);
    let fed = handle.add_source(SourceLayout::Stereo).expect("add");
    let stalled = handle.add_source(SourceLayout::Stereo).expect("add");
    run_dc(&mut mixer, SETTLE, 0.25);
    let mut out = vec![0.0; 2 * FRAMES];

    // Through source_input: only `fed` is written this block.
    mixer.source_input(fed).expect("input")[..2 * FRAMES].fill(0.25);
    mixer.mix(FRAMES, &mut out).expect("mix");
    assert!(
        out.iter().all(|&s| s == 0.25),
        "stale audio of `stalled` repeated"
    );

    // Nothing written at all: silence, not the previous block again.
    mixer.mix(FRAMES, &mut out).expect("mix");
    assert!(out.iter().all(|&s| s == 0.0));

    // Through mix_with: a fill that reports no data is silent too.
    mixer
        .mix_with(FRAMES, &mut out, |id, buf| {
            buf.fill(0.25);
            id == fed
        })
        .expect("mix");
    assert!(out.iter().all(|&s| s == 0.25));
    let fed_rms = handle.source_meter(fed).expect("meter").rms[0];
    let stalled_rms = handle.source_meter(stalled).expect("meter").rms[0];
    assert!(stalled_rms < 0.9 * fed_rms, "{stalled_rms} vs {fed_rms}");
}

fn sine(frequency: f32, amplitude: f32, start: usize, buf: &mut [f32], channels: usize) {
    for (i, frame) in buf.chunks_exact_mut(channels).enumerate() {
        let t = (start + i) as f32 / RATE as f32;
        frame.fill(amplitude * (std::f32::consts::TAU * frequency * t).sin());
    }
}

#[test]
fn meters_read_peak_and_rms_of_a_sine() {
    let (mut mixer, handle) = new_mixer(1);
    let id = handle.add_source(SourceLayout::Stereo).expect("add");
    let mut out = vec![0.0; 2 * FRAMES];
    let mut position = 0;
    // 1 kHz at 48 kHz puts samples exactly on the crests; 0.5 s is ten RMS time constants.
    for _ in 0..RATE as usize / 2 / FRAMES {
        mixer
            .mix_with(FRAMES, &mut out, |_, buf| {
                sine(1000.0, 0.5, position, buf, 2);
                true
            })
            .expect("mix");
        position += FRAMES;
    }
    for meter in [
        handle.source_meter(id).expect("meter"),
        handle.master_meter(),
    ] {
        for channel in 0..2 {
            assert_close(meter.peak[channel], 0.5, 1e-4);
            assert_close(
                meter.rms[channel],
                0.5 * std::f32::consts::FRAC_1_SQRT_2,
                2e-3,
            );
        }
    }
    assert_eq!(handle.limiter_gain_reduction_db(), 0.0);

    // 300 ms of silence: the peak falls by 1/e, the mean square by e⁻⁶.
    for _ in 0..(RATE as usize * 3 / 10).div_ceil(FRAMES) {
        mixer.mix(FRAMES, &mut out).expect("mix");
    }
    let meter = handle.master_meter();
    assert_close(meter.peak[0], 0.5 / std::f32::consts::E, 0.01);
    let rms = 0.5 * std::f32::consts::FRAC_1_SQRT_2 * (-3.0f32).exp();
    assert_close(meter.rms[0], rms, 0.05 * rms);
}

#[test]
fn decaying_state_snaps_to_zero_instead_of_going_subnormal() {
    let (mut mixer, handle) = new_mixer(1);
    let id = handle.add_source(SourceLayout::Stereo).expect("add");
    run_dc(&mut mixer, SETTLE, 0.9);
    let mut out = vec![0.0; 2 * FRAMES];
    // 30 s of the source fed zeros: every meter decays through the subnormal range.
    for _ in 0..30 * RATE as usize / FRAMES {
        mixer
            .mix_with(FRAMES, &mut out, |_, buf| {
                buf.fill(0.0);
                true
            })
            .expect("mix");
        let meters = [
            handle.source_meter(id).expect("meter"),
            handle.master_meter(),
        ];
        for value in meters.iter().flat_map(|m| m.peak.iter().chain(&m.rms)) {
            assert!(!value.is_subnormal(), "subnormal meter {value:e}");
        }
        assert!(!mixer.limiter.envelope_for_test().is_subnormal());
    }
    assert_eq!(handle.master_meter(), Meter::default());
    assert_eq!(mixer.limiter.envelope_for_test(), 0.0);
}

#[test]
fn limiter_is_transparent_for_quiet_signals() {
    let (mut mixer, handle) = instant_mixer(2);
    handle.add_source(SourceLayout::Stereo).expect("add");
    handle.add_source(SourceLayout::Stereo).expect("add");
    let mut out = vec![0.0; 2 * FRAMES];
    let mut position = 0;
    for _ in 0..100 {
        mixer
            .mix_with(FRAMES, &mut out, |id, buf| {
                sine(440.0 + 100.0 * id.index() as f32, 0.44, position, buf, 2);
                true
            })
            .expect("mix");
        for (i, frame) in out.chunks_exact(2).enumerate() {
            let t = (position + i) as f32 / RATE as f32;
            let expected = 0.44 * (std::f32::consts::TAU * 440.0 * t).sin()
                + 0.44 * (std::f32::consts::TAU * 540.0 * t).sin();
            assert_close(frame[0], expected, 1e-6);
        }
        position += FRAMES;
    }
    assert_eq!(handle.limiter_gain_reduction_db(), 0.0);
}

#[test]
fn limiter_scales_a_loud_sine_instead_of_clipping_it_then_releases() {
    let (mut mixer, handle) = instant_mixer(1);
    handle.add_source(SourceLayout::Mono).expect("add");
    handle.set_master_gain_db(12.0).expect("master"); // 0.5 · 4 · −3 dB ≈ 1.41 peak
    let mut out = vec![0.0; 2 * FRAMES];
    let mut input = vec![0.0; FRAMES];
    let mut position = 0;
    let mut ratios = Vec::new();
    for block in 0..40 {
        mixer
            .mix_with(FRAMES, &mut out, |_, buf| {
                sine(100.0, 0.5, position, buf, 1);
                input.copy_from_slice(buf);
                true
            })
            .expect("mix");
        for (frame, &x) in out.chunks_exact(2).zip(&input) {
            assert!(frame[0].abs() < 1.0, "{} reached the clamp", frame[0]);
            if block >= 2 && x.abs() > 0.05 {
                ratios.push(frame[0] / x);
            }
        }
        position += FRAMES;
    }
    // After the first cycle the gain is steady: the wave is scaled, not flattened.
    let (min, max) = ratios
        .iter()
        .fold((f32::MAX, f32::MIN), |(lo, hi), &r| (lo.min(r), hi.max(r)));
    assert!(max / min < 1.001, "gain moved within a cycle: {min}..{max}");
    let reduction = handle.limiter_gain_reduction_db();
    assert!(
        (2.0..4.0).contains(&reduction),
        "gain reduction {reduction} dB"
    );

    // Back to quiet: within 10 ms hold + 8 release time constants the gain is unity again.
    handle.set_master_gain(1.0).expect("master");
    for _ in 0..(RATE as usize * 3 / 4).div_ceil(FRAMES) {
        run_dc(&mut mixer, 1, 0.1);
    }
    assert_eq!(handle.limiter_gain_reduction_db(), 0.0);
    let out = run_dc(&mut mixer, 1, 0.1);
    assert_close(out[0], 0.1 * std::f32::consts::FRAC_1_SQRT_2, 1e-6);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn limiter_output_never_exceeds_full_scale(
        samples in prop::collection::vec(-100.0f32..100.0, 4 * 2 * FRAMES),
        gains_db in prop::collection::vec(-20.0f32..24.0, 4),
        master_db in -20.0f32..24.0,
        frames in 1..=FRAMES,
    ) {
        let (mut mixer, handle) = new_mixer(4);
        for gain_db in &gains_db {
            let id = handle.add_source(SourceLayout::Stereo).expect("add");
            handle.set_gain_db(id, *gain_db).expect("gain");
        }
        handle.set_master_gain_db(master_db).expect("master");
        let mut out = vec![0.0; 2 * FRAMES];
        for block in 0..8 {
            mixer
                .mix_with(frames, &mut out, |id, buf| {
                    let offset = (id.index() * 2 * FRAMES + block * 37) % samples.len();
                    for (i, sample) in buf.iter_mut().enumerate() {
                        *sample = samples[(offset + i) % samples.len()];
                    }
                    true
                })
                .expect("mix");
            for &y in &out[..2 * frames] {
                prop_assert!(y.abs() <= 1.0, "{y}");
            }
        }
        prop_assert!(handle.master_meter().peak.iter().all(|&p| p <= 1.0));
    }

    #[test]
    fn limiter_is_identity_below_the_threshold(
        samples in prop::collection::vec(-0.44f32..0.44, 2 * 2 * FRAMES),
    ) {
        let (mut mixer, handle) = instant_mixer(2);
        handle.add_source(SourceLayout::Stereo).expect("add");
        handle.add_source(SourceLayout::Stereo).expect("add");
        let mut out = vec![0.0; 2 * FRAMES];
        mixer
            .mix_with(FRAMES, &mut out, |id, buf| {
                let start = id.index() * 2 * FRAMES;
                buf.copy_from_slice(&samples[start..start + 2 * FRAMES]);
                true
            })
            .expect("mix");
        for (i, &y) in out.iter().enumerate() {
            prop_assert!((y - (samples[i] + samples[2 * FRAMES + i])).abs() <= 1e-6);
        }
    }
}

#[test]
fn add_and_remove_from_another_thread_while_mixing() {
    let (mut mixer, handle) = new_mixer(8);
    let done = Arc::new(AtomicBool::new(false));
    // Rounds the control thread has completed, so the mixing below overlaps them even when the
    // scheduler starts that thread late (a loaded 2-core machine finished 4000 blocks first).
    let progress = Arc::new(AtomicU32::new(0));
    let control = {
        let handle = handle.clone();
        let done = Arc::clone(&done);
        let progress = Arc::clone(&progress);
        std::thread::spawn(move || {
            let mut ids = Vec::new();
            let mut round = 0u32;
            while !done.load(Ordering::Relaxed) {
                round += 1;
                let layout = if round.is_multiple_of(2) {
                    SourceLayout::Mono
                } else {
                    SourceLayout::Stereo
                };
                match handle.add_source(layout) {
                    Ok(id) => ids.push(id),
                    Err(MixerError::NoFreeSlot { .. }) => {}
                    Err(e) => panic!("unexpected {e}"),
                }
                if let Some(&id) = ids.first() {
                    let _ = handle.set_gain(id, (round % 10) as f32 / 10.0);
                    let _ = handle.set_pan(id, (round % 3) as f32 - 1.0);
                    let _ = handle.set_mute(id, round.is_multiple_of(5));
                    let _ = handle.set_solo(id, round.is_multiple_of(7));
                    let _ = handle.source_meter(id);
                }
                if round.is_multiple_of(3) && !ids.is_empty() {
                    let id = ids.remove((round as usize / 3) % ids.len());
                    handle.remove_source(id).expect("only this thread removes");
                    // The removed id is stale at once.
                    assert_eq!(handle.set_gain(id, 1.0), Err(MixerError::UnknownSource(id)));
                }
                progress.store(round, Ordering::Relaxed);
                std::thread::yield_now();
            }
            round
        })
    };
    let mut out = vec![0.0; 2 * FRAMES];
    let mut position = 0;
    // At least 4000 blocks, and on until the control thread has done 100 rounds (bounded).
    for block in 0..4_000_000 {
        if block >= 4_000 && progress.load(Ordering::Relaxed) >= 100 {
            break;
        }
        let frames = 1 + block % FRAMES;
        mixer
            .mix_with(frames, &mut out, |id, buf| {
                let channels = buf.len() / frames;
                sine(
                    220.0,
                    0.3 + 0.05 * id.index() as f32,
                    position,
                    buf,
                    channels,
                );
                true
            })
            .expect("mix");
        assert!(out[..2 * frames].iter().all(|y| y.abs() <= 1.0));
        position += frames;
    }
    done.store(true, Ordering::Relaxed);
    let rounds = control.join().expect("control thread panicked");
    assert!(rounds >= 100, "control thread ran {rounds} rounds");
}

#[test]
fn halves_can_cross_threads() {
    fn send<T: Send>() {}
    fn shared<T: Clone + Send + Sync>() {}
    send::<Mixer>();
    shared::<MixerHandle>();
}
