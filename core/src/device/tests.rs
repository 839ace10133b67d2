//! The callbacks without a device: format conversion, channel mapping, splitting large
//! callbacks into engine blocks, what happens when the input is late, and two devices whose
//! clocks drift apart (simulated time: the callbacks take their `now` from the test).
//!
//! This test binary installs `assert_no_alloc`'s allocator, so an allocation inside a callback
//! aborts it.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::callbacks::{Attach, CaptureCallback, Counters, Input, PlaybackCallback};
use super::clock::{CaptureClock, ClockFollower};
use crate::engine::{Engine, EngineConfig, EngineControl};

#[global_allocator]
static ALLOCATOR: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;

/// A capture half with `device_channels` and a playback half with `out_channels`, attached to
/// an engine with 256-frame blocks that plays its input back at unity (local monitor). One
/// device (no clock follower).
fn pair(
    device_channels: usize,
    out_channels: usize,
) -> (
    CaptureCallback,
    PlaybackCallback,
    EngineControl,
    Arc<Counters>,
) {
    pair_at(device_channels, out_channels, None)
}

/// [`pair`], with the input resampled to the output clock when `epoch` is given (two devices).
fn pair_at(
    device_channels: usize,
    out_channels: usize,
    epoch: Option<Instant>,
) -> (
    CaptureCallback,
    PlaybackCallback,
    EngineControl,
    Arc<Counters>,
) {
    let (engine, _network, control) = Engine::new(EngineConfig {
        max_block_frames: 256,
        ..EngineConfig::default()
    })
    .expect("engine");
    control.set_monitor_level(1.0).expect("monitor");
    let counters = Arc::new(Counters::default());
    counters.max_input_backlog.store(4096, Ordering::Relaxed);
    let (tx, rx) = rtrb::RingBuffer::new(2 * 8192);
    let capture = CaptureCallback::new(
        tx,
        device_channels,
        2,
        Arc::clone(&counters),
        CaptureClock::new(epoch.unwrap_or_else(Instant::now), 48_000),
    );
    let follower = epoch.map(|epoch| {
        ClockFollower::new(2, engine.max_block_frames(), 48_000, epoch).expect("follower")
    });
    let (mut attach_tx, attach_rx) = rtrb::RingBuffer::new(1);
    let playback = PlaybackCallback::new(
        attach_rx,
        engine.max_block_frames(),
        engine.host_rate(),
        out_channels,
        Arc::clone(&counters),
    );
    assert!(
        attach_tx
            .push(Attach {
                engine,
                input: Some(Input {
                    ring: rx,
                    kept: 2,
                    follower,
                }),
            })
            .is_ok()
    );
    (capture, playback, control, counters)
}

#[test]
fn a_large_i16_callback_is_split_into_engine_blocks_and_channels_are_mapped() {
    let (mut capture, mut playback, control, counters) = pair(4, 3);
    // 1000 frames of 4-channel i16: left 8192, right -8192, the rest ignored.
    let input: Vec<i16> = (0..1000)
        .flat_map(|_| [8192, -8192, 30_000, 30_000])
        .collect();
    capture.run(&input);
    let mut out = vec![7i16; 1000 * 3];
    playback.run(&mut out, Duration::ZERO);

    assert_eq!(control.blocks(), 4, "1000 frames in blocks of at most 256");
    // The monitor ramps up over the first block; after it the input comes out unchanged.
    let frames: Vec<&[i16]> = out.chunks_exact(3).collect();
    for frame in &frames[256..] {
        assert_eq!(frame, &[8192, -8192, 0], "left, right, silence beyond two");
    }
    assert_eq!(counters.input_underrun_frames.load(Ordering::Relaxed), 0);
    assert_eq!(counters.output_frames.load(Ordering::Relaxed), 1000);
}

#[test]
fn late_input_is_played_as_silence_and_counted() {
    let (_capture, mut playback, control, counters) = pair(2, 1);
    let mut out = vec![0.5f32; 64];
    playback.run(&mut out, Duration::ZERO);
    assert!(out.iter().all(|&x| x == 0.0), "{out:?}");
    assert_eq!(counters.input_underrun_frames.load(Ordering::Relaxed), 64);
    assert_eq!(control.blocks(), 1);
}

#[test]
fn backlog_beyond_the_bound_is_dropped() {
    let (mut capture, mut playback, _control, counters) = pair(2, 2);
    counters.max_input_backlog.store(128, Ordering::Relaxed);
    capture.run(&vec![0.25f32; 2 * 1000]);
    let mut out = vec![0.0f32; 2 * 64];
    playback.run(&mut out, Duration::ZERO);
    // 1000 queued, 64 needed + 128 allowed: 808 dropped, 64 played, 128 left waiting.
    assert_eq!(counters.input_dropped_frames.load(Ordering::Relaxed), 808);
    assert_eq!(counters.input_underrun_frames.load(Ordering::Relaxed), 0);
}

#[test]
fn without_the_engine_the_output_is_silent() {
    let counters = Arc::new(Counters::default());
    let (_tx, rx) = rtrb::RingBuffer::<Attach>::new(1);
    let mut playback = PlaybackCallback::new(rx, 256, 48_000, 2, Arc::clone(&counters));
    let mut out = vec![0.5f32; 128];
    playback.run(&mut out, Duration::ZERO);
    assert!(out.iter().all(|&x| x == 0.0));
}

#[test]
fn a_wild_output_latency_does_not_panic() {
    let (_capture, mut playback, control, _counters) = pair(2, 2);
    let mut out = vec![0.0f32; 2 * 64];
    playback.run(&mut out, Duration::MAX);
    assert_eq!(control.blocks(), 1);
}

/// What a drift simulation saw after it settled.
#[derive(Debug, Default)]
struct Settled {
    trims: u64,
    pads: u64,
    dropped: u64,
    clock_ppm: f64,
    /// Largest |ratio − 1| after settling, ppm.
    ratio_ppm_max: f64,
    fill_min: u64,
    fill_max: u64,
    /// Largest step between consecutive output samples of the tone.
    max_step: f32,
    /// Rising zero crossings of the tone, and the output frames they span.
    crossings: u64,
    frames: u64,
    /// Gross events over the whole run, settling included.
    all_trims: u64,
    all_pads: u64,
    /// Wall-clock time spent in the output callbacks, and how many ran (measurement only).
    playback_time: Duration,
    playback_callbacks: u32,
}

/// A device that stops calling back for a while (an xrun, a restart); its frames are lost.
#[derive(Debug, Clone, Copy)]
struct Stall {
    input: bool,
    from: f64,
    secs: f64,
}

impl Stall {
    fn covers(stall: Option<Stall>, input: bool, t: f64) -> bool {
        stall.is_some_and(|s| s.input == input && (s.from..s.from + s.secs).contains(&t))
    }
}

/// Two devices in simulated time: the output plays 128-frame blocks at 48 kHz × (1 +
/// `output_ppm`), the input captures `input_block`-frame blocks of a 440 Hz tone (0.5) at
/// 48 kHz × (1 + `input_ppm`), both against the monotonic clock; each callback runs up to
/// `jitter` seconds late (seeded).
#[derive(Debug, Clone, Copy)]
struct Sim {
    input_ppm: f64,
    output_ppm: f64,
    input_block: usize,
    /// Simulated seconds, and the first of them to leave out of [`Settled`].
    seconds: f64,
    settle: f64,
    stall: Option<Stall>,
    /// `false` runs the one-device path (no resampler) instead.
    follow: bool,
    jitter: f64,
}

impl Default for Sim {
    fn default() -> Self {
        Self {
            input_ppm: 0.0,
            output_ppm: 0.0,
            input_block: 128,
            seconds: 180.0,
            settle: 30.0,
            stall: None,
            follow: true,
            jitter: 0.3e-3,
        }
    }
}

impl Sim {
    /// The input clock against the output clock, ppm.
    fn relative_ppm(&self) -> f64 {
        ((1.0 + self.input_ppm * 1e-6) / (1.0 + self.output_ppm * 1e-6) - 1.0) * 1e6
    }
}

/// Runs `sim` and returns what happened after it settled.
fn simulate(sim: Sim) -> Settled {
    let Sim {
        input_block,
        seconds,
        settle,
        stall,
        ..
    } = sim;
    const OUT_BLOCK: usize = 128;
    let epoch = Instant::now();
    let (mut capture, mut playback, _control, counters) =
        pair_at(2, 2, sim.follow.then_some(epoch));
    counters
        .input_buffer_frames
        .store(input_block, Ordering::Relaxed);
    let input_rate = 48_000.0 * (1.0 + sim.input_ppm * 1e-6);
    let output_rate = 48_000.0 * (1.0 + sim.output_ppm * 1e-6);
    let at = |t: f64| epoch + Duration::from_secs_f64(t);
    let mut seed = 0x5eed_u64;
    let mut jitter = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 11) as f64 / (1u64 << 53) as f64 * sim.jitter
    };

    let (mut in_frames, mut out_blocks) = (0usize, 0usize);
    let mut input = vec![0.0f32; 2 * input_block];
    let mut output = vec![0.0f32; 2 * OUT_BLOCK];
    let mut settled = Settled::default();
    let mut baseline = None;
    let mut previous: Option<f32> = None;
    // The lateness of the next input and output callbacks: they run in the order they happen.
    let (mut in_late, mut out_late) = (jitter(), jitter());
    loop {
        // Each callback runs when its device's block is complete (input) or due (output).
        let next_in = (in_frames + input_block) as f64 / input_rate;
        let next_out = (out_blocks * OUT_BLOCK) as f64 / output_rate;
        if next_out > seconds {
            break;
        }
        if next_in + in_late <= next_out + out_late {
            if Stall::covers(stall, true, next_in) {
                in_frames += input_block;
                continue;
            }
            for (i, frame) in input.chunks_exact_mut(2).enumerate() {
                let phase = (in_frames + i) as f64 * 440.0 / input_rate;
                let x = (0.5 * (std::f64::consts::TAU * phase).sin()) as f32;
                frame.fill(x);
            }
            in_frames += input_block;
            capture.run_at(&input, at(next_in + in_late));
            in_late = jitter();
            continue;
        }
        if Stall::covers(stall, false, next_out) {
            out_blocks += 1;
            continue;
        }
        let started = Instant::now();
        playback.run_at(&mut output, at(next_out + out_late), Duration::ZERO);
        out_late = jitter();
        settled.playback_time += started.elapsed();
        settled.playback_callbacks += 1;
        out_blocks += 1;
        if next_out < settle {
            continue;
        }
        let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
        let now = [
            load(&counters.input_trims),
            load(&counters.input_pads),
            load(&counters.input_dropped_frames),
        ];
        let base = *baseline.get_or_insert(now);
        (settled.trims, settled.pads, settled.dropped) =
            (now[0] - base[0], now[1] - base[1], now[2] - base[2]);
        let ratio_ppm = f64::from_bits(load(&counters.input_ratio_ppm));
        settled.ratio_ppm_max = settled.ratio_ppm_max.max(ratio_ppm.abs());
        let fill = load(&counters.input_fill_frames);
        settled.fill_min = if settled.frames == 0 {
            fill
        } else {
            settled.fill_min.min(fill)
        };
        settled.fill_max = settled.fill_max.max(fill);
        for x in output.chunks_exact(2).map(|frame| frame[0]) {
            if let Some(p) = previous {
                settled.max_step = settled.max_step.max((x - p).abs());
                if p < 0.0 && x >= 0.0 {
                    settled.crossings += 1;
                }
            }
            previous = Some(x);
        }
        settled.frames += OUT_BLOCK as u64;
    }
    settled.clock_ppm = f64::from_bits(counters.input_clock_ppm.load(Ordering::Relaxed));
    settled.all_trims = counters.input_trims.load(Ordering::Relaxed);
    settled.all_pads = counters.input_pads.load(Ordering::Relaxed);
    settled
}

/// After settling: no gross events, the skew known, the fill near its target and the tone
/// clean and on the output clock.
fn assert_followed(sim: Sim) {
    let s = simulate(sim);
    let (ppm, input_block) = (sim.relative_ppm(), sim.input_block);
    let context = format!("{sim:?}: {s:?}");
    assert_eq!((s.trims, s.pads, s.dropped), (0, 0, 0), "{context}");
    assert!((s.clock_ppm - ppm).abs() < 10.0, "{context}");
    // One input buffer + 24 frames (0.5 ms) is the target for the fill minimum; the measured
    // minimum moves with the callbacks' lateness.
    let target = input_block as u64 + 24;
    let tolerance = 16 + (sim.jitter * 48_000.0) as u64 / 2;
    assert!(
        s.fill_min + tolerance >= target && s.fill_max <= target + tolerance,
        "{context}"
    );
    // A 440 Hz sine at 0.5 moves at most 0.029 per sample; a trim or pad jumps further.
    assert!(s.max_step < 0.031, "{context}");
    let expected = 440.0 * s.frames as f64 / (48_000.0 * (1.0 + sim.output_ppm * 1e-6));
    assert!(
        (s.crossings as f64 - expected).abs() <= 2.0,
        "{context}, expected {expected} crossings"
    );
}

/// ±300 ppm between the devices (a USB microphone against built-in speakers): after settling,
/// no frame is trimmed or padded, the fill stays near one input buffer plus 0.5 ms, and the
/// tone comes out at 440 Hz on the output clock without a discontinuity.
#[test]
fn a_drifting_input_clock_is_followed_without_trims_or_pads() {
    for (input_ppm, output_ppm, input_block) in [
        (300.0, 0.0, 128),
        (-300.0, 0.0, 128),
        (300.0, 0.0, 96),
        (-300.0, 0.0, 240),
        // Both off the monotonic clock, 300 ppm apart.
        (120.0, -180.0, 128),
        (-250.0, 50.0, 192),
    ] {
        assert_followed(Sim {
            input_ppm,
            output_ppm,
            input_block,
            ..Sim::default()
        });
    }
}

/// A loaded machine: every callback up to 2 ms late (most of a 128-frame block).
#[test]
fn late_callbacks_do_not_break_the_follower() {
    for input_ppm in [300.0, -300.0] {
        assert_followed(Sim {
            input_ppm,
            jitter: 2e-3,
            ..Sim::default()
        });
    }
}

/// A stalled input and a stalled output (200 ms each) are gross events: trimmed or padded,
/// counted; the clock estimate restarts and 40 s later everything is followed again.
#[test]
fn after_a_stall_the_clock_is_followed_again() {
    for input in [true, false] {
        let sim = Sim {
            input_ppm: -300.0,
            seconds: 150.0,
            settle: 80.0,
            stall: Some(Stall {
                input,
                from: 40.0,
                secs: 0.2,
            }),
            ..Sim::default()
        };
        let s = simulate(sim);
        assert!(s.all_trims + s.all_pads > 0, "{sim:?}: {s:?}");
        assert_followed(sim);
    }
}

/// Without drift the ratio stays at 1 (within the estimate's noise and the feedback's last
/// correction of the fill).
#[test]
fn matching_clocks_keep_the_ratio_at_one() {
    let s = simulate(Sim {
        seconds: 60.0,
        settle: 20.0,
        ..Sim::default()
    });
    assert_eq!((s.trims, s.pads, s.dropped), (0, 0, 0), "{s:?}");
    assert!(s.clock_ppm.abs() < 1.0, "{s:?}");
    assert!(s.ratio_ppm_max < 5.0, "{s:?}");
}

/// Measurement, not a test (run with `--ignored --nocapture`): output-callback time with and
/// without the input resampler, 128-frame blocks, stereo, engine at unity monitor.
#[test]
#[ignore = "measurement: prints timings"]
fn measure_callback_cost() {
    for follow in [false, true] {
        let s = simulate(Sim {
            input_ppm: 300.0,
            seconds: 60.0,
            follow,
            ..Sim::default()
        });
        let per = s.playback_time / s.playback_callbacks.max(1);
        println!(
            "resampler={follow}: {per:?} per 128-frame output callback ({} callbacks)",
            s.playback_callbacks
        );
    }
}

/// A backlog no gentle correction would drain soon (a stalled output, a restarted input) is
/// trimmed at once, and an input that stops leaves silence: both counted as gross events.
#[test]
fn gross_backlogs_are_trimmed_and_a_dry_input_is_padded() {
    let epoch = Instant::now();
    let (mut capture, mut playback, _control, counters) = pair_at(2, 2, Some(epoch));
    counters.input_buffer_frames.store(128, Ordering::Relaxed);
    capture.run_at(&vec![0.25f32; 2 * 4000], epoch);
    let mut out = vec![0.0f32; 2 * 128];
    playback.run_at(&mut out, epoch, Duration::ZERO);
    assert_eq!(counters.input_trims.load(Ordering::Relaxed), 1);
    let dropped = counters.input_dropped_frames.load(Ordering::Relaxed);
    assert!((3000..4000).contains(&dropped), "dropped {dropped}");
    assert_eq!(counters.input_pads.load(Ordering::Relaxed), 0);

    // The input stops: what is left plays out, then silence.
    for i in 1..20u32 {
        playback.run_at(
            &mut out,
            epoch + Duration::from_millis(3) * i,
            Duration::ZERO,
        );
    }
    assert!(counters.input_pads.load(Ordering::Relaxed) > 0);
    assert!(out.iter().all(|&x| x == 0.0));
}
