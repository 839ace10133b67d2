//! The `device` feature on real ALSA devices, without a sound card: ALSA's `null` PCM (discards
//! playback, captures silence) and its `file` plugin (plays into a file, captures from one),
//! defined in a throw-away `~/.asoundrc`. Checks listing, opening input and output, the engine
//! running from the output callback, the granted buffer, and — because this binary installs
//! `assert_no_alloc`'s allocator and the device callbacks run inside `assert_no_alloc` — that the
//! callbacks never allocate (an allocation aborts the test process).
//!
//! ALSA's `null` and `file` PCMs are not paced by a clock: their callbacks run as fast as the
//! CPU allows, so "one second of audio" takes a fraction of a second here. The tests count
//! frames, not wall-clock time, and assert nothing about input/output alignment (the two
//! unpaced streams run in bursts; see the counters in the failure messages).
//!
//! Without ALSA's configuration (no `null` device) the tests print why and pass.
#![cfg(feature = "device")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use assert_no_alloc::AllocDisabler;
use tutti_core::device::{
    DeviceChoice, DeviceConfig, DeviceError, DevicePlan, DeviceStreams, StreamFault, list_devices,
};
use tutti_core::engine::{Engine, EngineConfig, EngineControl};

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

/// Set in the child process that runs with the temporary `HOME`.
const CHILD_ENV: &str = "TUTTI_DEVICE_TEST_DIR";

fn null_available() -> bool {
    match list_devices() {
        Ok(devices) if devices.iter().any(|d| d.id == "null") => true,
        Ok(_) => {
            eprintln!("SKIP: ALSA lists no `null` PCM (alsa.conf missing?)");
            false
        }
        Err(e) => {
            eprintln!("SKIP: no ALSA host: {e}");
            false
        }
    }
}

fn named(id: &str) -> DeviceChoice {
    DeviceChoice::Named(id.into())
}

/// Opens the plan with a fresh engine; returns the streams and the engine's control handle.
fn start(config: &DeviceConfig, monitor: f32) -> (DeviceStreams, EngineControl) {
    let plan = DevicePlan::new(config).expect("plan");
    assert_eq!(plan.sample_rate(), 48_000, "48 kHz is offered, so chosen");
    let (engine, _network, control) =
        Engine::new(plan.engine_config(EngineConfig::default())).expect("engine");
    control.set_monitor_level(monitor).expect("monitor");
    (plan.start(engine).expect("start"), control)
}

/// Waits until both streams moved `frames`, then until the output played another block after
/// that (or 30 s). The input may start well after the output, so both are counted.
fn run_for(streams: &DeviceStreams, frames: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut output_mark = None;
    while Instant::now() < deadline {
        let stats = streams.stats();
        match output_mark {
            None if stats.output_frames >= frames && stats.input_frames >= frames => {
                output_mark = Some(stats.output_frames);
            }
            Some(mark) if stats.output_frames > mark + 4096 => return,
            _ => {}
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    panic!("callbacks stalled: {:?}", streams.stats());
}

#[test]
fn null_device_runs_the_engine_with_the_granted_buffer() {
    if !null_available() {
        return;
    }
    let null = list_devices()
        .expect("list")
        .into_iter()
        .find(|d| d.id == "null")
        .expect("null listed");
    let output = null.output.expect("null plays");
    assert!(output.engine_rates.contains(&48_000), "{output:?}");
    assert!(output.channels.contains(&2), "{output:?}");

    let config = DeviceConfig {
        input: Some(named("null")),
        output: named("null"),
        buffer_frames: 64,
    };
    let (mut streams, control) = start(&config, 0.5);
    run_for(&streams, 48_000);
    let stats = streams.stats();
    let granted = streams.granted().clone();
    let mut faults = Vec::new();
    while let Some(event) = streams.poll_event() {
        faults.push(event.fault);
    }
    drop(streams);

    for grant in [granted.input.as_ref().expect("input"), &granted.output] {
        assert_eq!(grant.device, "null");
        assert_eq!((grant.sample_rate, grant.channels), (48_000, 2));
        assert_eq!(grant.requested_buffer_frames, 64);
        assert!(grant.buffer_frames.is_some_and(|b| b > 0), "{grant:?}");
    }
    assert!(
        stats.output_callbacks > 0 && stats.input_callbacks > 0,
        "{stats:?}"
    );
    assert_eq!(stats.process_errors, 0);
    // Every output frame went through the engine, in blocks of at most its maximum.
    assert!(control.blocks() >= stats.output_callbacks, "{stats:?}");
    assert!(!faults.contains(&StreamFault::DeviceLost), "{faults:?}");
}

#[test]
fn callers_mistakes_are_reported_as_such() {
    if !null_available() {
        return;
    }
    let config = |input: Option<&str>, output: &str, buffer_frames| DeviceConfig {
        input: input.map(named),
        output: named(output),
        buffer_frames,
    };
    assert!(matches!(
        DevicePlan::new(&config(None, "no-such-device", 64)),
        Err(DeviceError::NoSuchDevice { .. })
    ));
    assert!(matches!(
        DevicePlan::new(&config(Some("null"), "null", 0)),
        Err(DeviceError::InvalidConfig(_))
    ));
    // The host-qualified id names the same device.
    let plan = DevicePlan::new(&config(None, "alsa:null", 128)).expect("plan");
    let (engine, _, _) = Engine::new(EngineConfig {
        host_rate: 44_100,
        ..EngineConfig::default()
    })
    .expect("engine");
    assert!(matches!(
        plan.start(engine),
        Err(DeviceError::RateMismatch {
            engine: 44_100,
            devices: 48_000
        })
    ));
}

/// An ALSA configuration with a capture device reading `input` and a playback device writing
/// `output` (both raw interleaved samples in the stream's format).
fn asoundrc(input: &Path, output: &Path) -> String {
    format!(
        r#"pcm.tutti_in {{
    type file
    slave.pcm null
    file "/dev/null"
    infile "{}"
    format raw
    hint {{ show on description "tutti test input" }}
}}
pcm.tutti_out {{
    type file
    slave.pcm null
    file "{}"
    format raw
    hint {{ show on description "tutti test output" }}
}}
"#,
        input.display(),
        output.display()
    )
}

/// A tone captured from a file comes out of the engine (local monitor at unity) into a file:
/// the whole path capture → ring → engine → playback. Runs in a child process whose `HOME`
/// holds the `.asoundrc` (ALSA reads its configuration once per process).
#[test]
fn file_devices_carry_the_input_through_the_engine() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        return file_devices_child(Path::new(&dir));
    }
    if !null_available() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("tutti-device-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (input, output) = (dir.join("in.raw"), dir.join("out.raw"));
    // Two seconds of a 440 Hz tone at 0.5, stereo f32 at 48 kHz.
    let tone: Vec<u8> = (0..96_000)
        .flat_map(|i| {
            let x = 0.5 * (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 48_000.0).sin();
            [x, x]
        })
        .flat_map(f32::to_le_bytes)
        .collect();
    std::fs::write(&input, tone).expect("input file");
    std::fs::write(dir.join(".asoundrc"), asoundrc(&input, &output)).expect("asoundrc");

    let status = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "file_devices_carry_the_input_through_the_engine",
            "--nocapture",
        ])
        .env("HOME", &dir)
        .env(CHILD_ENV, &dir)
        .status()
        .expect("child test");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(status.success(), "child failed: {status}");
}

fn file_devices_child(dir: &Path) {
    let config = DeviceConfig {
        input: Some(named("tutti_in")),
        output: named("tutti_out"),
        buffer_frames: 64,
    };
    let (streams, _control) = start(&config, 1.0);
    run_for(&streams, 48_000);
    let stats = streams.stats();
    drop(streams);

    let out: PathBuf = dir.join("out.raw");
    let bytes = std::fs::read(&out).expect("output file");
    let samples: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert!(
        samples.len() >= 2 * 48_000,
        "{} samples, {stats:?}",
        samples.len()
    );
    let peak = samples.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    let loud = samples.iter().filter(|x| x.abs() > 0.1).count();
    // The tone passes at unity gain (no doubling, which would peak at 1.0). Unpaced plugins
    // run the two streams in alternating bursts, so the output keeps only the last couple of
    // input buffers of each burst (the backlog bound) — a few hundred samples — and the input
    // resampler's polynomial overshoots a little at the cuts between them (up to ~0.6 seen).
    assert!((0.45..0.7).contains(&peak), "peak {peak}, {stats:?}");
    assert!(loud > 0, "no tone in the output, {stats:?}");
}
