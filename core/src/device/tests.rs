//! The callbacks without a device: format conversion, channel mapping, splitting large
//! callbacks into engine blocks, and what happens when the input is late.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::callbacks::{Attach, CaptureCallback, Counters, PlaybackCallback};
use crate::engine::{Engine, EngineConfig, EngineControl};

/// A capture half with `device_channels` and a playback half with `out_channels`, attached to
/// an engine with 256-frame blocks that plays its input back at unity (local monitor).
fn pair(
    device_channels: usize,
    out_channels: usize,
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
    let capture = CaptureCallback::new(tx, device_channels, 2, Arc::clone(&counters));
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
                input: Some((rx, 2)),
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
