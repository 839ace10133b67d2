//! The receive path end to end in virtual time: packets over the seeded emulator into the real
//! playout (jitter buffer → Opus → drift resampler).

use std::time::{Duration, Instant};

use tutti_core::codec::{Channels, Encoder, EncoderConfig, FrameDuration, SAMPLE_RATE};
use tutti_core::jitter::{JitterBuffer, JitterConfig, PayloadFormat};
use tutti_core::netsim::playback::{FrameLog, Playback, numbered_frame, packetize};
use tutti_core::netsim::{LossModel, NetworkProfile, Trace, signal};
use tutti_core::playout::Playout;

const FRAME: FrameDuration = FrameDuration::Ms2_5;

/// One simulated hour on a jitter-free path with the sender's clock `ppm` off: after start-up no
/// frame is concealed (no underrun) and none is skipped (no overrun), and the delay stays put.
fn hour_without_drift_glitches(ppm: f64) {
    let profile = NetworkProfile::perfect().with_drift(ppm, 0.0);
    let hour = Duration::from_secs(3600);
    let count = (hour.as_secs_f64() / FRAME.as_duration().as_secs_f64() * 1.003) as usize;
    let trace = Trace::generate(profile, 1, FRAME.as_duration(), count);
    let payloads = packetize(count as u64, FRAME, None, |k| numbered_frame(k).to_vec());
    let jitter = JitterBuffer::new(JitterConfig {
        payload: PayloadFormat::Plain,
        ..JitterConfig::default()
    });
    let mut playout = Playout::with_parts(jitter, FrameLog::default()).expect("playout");
    Playback {
        trace: &trace,
        payloads: &payloads,
        frame: FRAME,
        host_block: 64,
        until: hour,
        epoch: Instant::now(),
    }
    .run(&mut playout, |_| {});

    let log = playout.render();
    let stats = playout.jitter().stats();
    assert_eq!(log.concealed, 0, "underruns at {ppm} ppm: {stats:?}");
    let skipped = log
        .played
        .windows(2)
        .filter(|w| w[1].0 != w[0].0 + 1)
        .count();
    assert_eq!(skipped, 0, "overruns at {ppm} ppm: {stats:?}");
    assert!(
        log.played.len() as f64 > count as f64 * 0.99,
        "{} played",
        log.played.len()
    );
    // Held at target plus at most one host block (pulls happen at block boundaries).
    assert!(stats.current_delay < Duration::from_millis(2), "{stats:?}");
    assert!(
        (stats.sender_clock_ppm - ppm).abs() < 5.0,
        "clock estimate {} for {ppm}",
        stats.sender_clock_ppm
    );
}

#[test]
fn drift_plus_200_ppm_for_an_hour() {
    hour_without_drift_glitches(200.0);
}

#[test]
fn drift_minus_200_ppm_for_an_hour() {
    hour_without_drift_glitches(-200.0);
}

#[test]
fn drift_plus_2000_ppm_for_an_hour() {
    hour_without_drift_glitches(2000.0);
}

#[test]
fn drift_minus_2000_ppm_for_an_hour() {
    hour_without_drift_glitches(-2000.0);
}

/// A 440 Hz stereo tone, Opus-encoded with two frames of redundancy, over a wired path with 2%
/// random loss and 150 ppm drift: the receiver hears 440 Hz at the sent level, with almost nothing
/// concealed.
#[test]
fn tone_survives_a_lossy_drifting_network() {
    let secs = 20;
    let count = secs * 400;
    let profile = NetworkProfile::wired()
        .with_loss(LossModel::Random { probability: 0.02 })
        .with_drift(150.0, 0.0);
    let trace = Trace::generate(profile, 7, FRAME.as_duration(), count);

    let mut encoder = Encoder::new(EncoderConfig::default()).expect("encoder");
    let samples = FRAME.samples_per_channel();
    let payloads = packetize(count as u64, FRAME, Some(2), |k| {
        let pcm = signal::sine(440.0, 0.5, SAMPLE_RATE, k * samples as u64, samples, 2);
        let mut out = [0u8; 1275];
        let len = encoder.encode(&pcm, &mut out).expect("encode");
        out[..len].to_vec()
    });

    let mut playout = Playout::new(JitterConfig::default(), Channels::Stereo).expect("playout");
    let mut heard = Vec::new();
    let until = Duration::from_secs(secs as u64);
    Playback {
        trace: &trace,
        payloads: &payloads,
        frame: FRAME,
        host_block: 128,
        until,
        epoch: Instant::now(),
    }
    .run(&mut playout, |b| heard.extend_from_slice(b));

    let stats = playout.jitter().stats();
    let played = stats.frames_decoded + stats.frames_recovered + stats.frames_concealed;
    assert!(stats.frames_recovered > 100, "redundancy used: {stats:?}");
    assert!(
        (stats.frames_concealed as f64) < played as f64 * 0.005,
        "concealed: {stats:?}"
    );
    assert_eq!(playout.render().decode_errors(), 0);
    // Skip the first second (start-up), then check each 100 ms window of the left channel.
    let left = signal::channel(&heard, 2, 0);
    for window in left[48_000..].chunks_exact(4_800) {
        assert_eq!(signal::dominant_frequency(window, SAMPLE_RATE, 10.0), 440.0);
        let level = signal::rms(window);
        assert!((0.25..0.45).contains(&level), "level {level}");
    }
}
