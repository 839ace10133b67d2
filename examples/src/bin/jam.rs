//! Join a jam room on a Tutti server and play through the sound card, or send a WAV file and
//! record what you hear.
//!
//! Run with: cargo run --release -p tutti-examples --bin jam -- --help
//!
//! ```text
//! jam --list-devices
//! jam --server http://127.0.0.1:8080 --room ROOM_ID --email a@example.com --password … \
//!     --input-device default --output-device default --buffer-frames 64
//! jam --server http://127.0.0.1:8080 --room ROOM_ID --email a@example.com --password … \
//!     --input-wav guitar.wav --output-wav heard.wav --seconds 60
//! ```
//! Without `--input-wav`, `--output-wav` and `--impulses-ms` the sound card drives the engine
//! (feature `device`, on by default; Linux builds need `libasound2-dev`): the chosen devices,
//! rate and the buffer each device actually granted are printed (`device-input`,
//! `device-output`), stream trouble as `device-event`. Otherwise the engine is driven by a
//! timer thread at real-time pace in fixed blocks (no audio hardware needed). Every second
//! (`--stats-ms`) it prints each peer's statistics and latency terms. Type `quit` (and Enter)
//! on stdin, or wait for `--seconds`, to leave; the recording is written then.
//!
//! Output lines start with a keyword (`joined`, `peer-joined`, `peer-left`, `peer-state`,
//! `peer-media`, `stats`, `latency`, `chat`, `signalling-lost`, `error`, `done`) so scripts and
//! tests can follow the session. `join-request` and `first-decoded` carry `CLOCK_MONOTONIC`
//! timestamps (`t_ns`), as do, with `--impulses-ms`, the `impulse-sent` / `impulse-heard` lines
//! printed on leaving: the `e2e-latency` benchmark pairs them across processes.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use clap::Parser;
use tokio::io::AsyncBufReadExt;
use tutti_core::codec::{EncoderConfig, FrameDuration};
use tutti_core::engine::{
    Engine, EngineConfig, EngineControl, EngineNetwork, HOST_RATES, LatencyTerms,
};
use tutti_core::protocol::RoomId;
use tutti_core::session::{
    Identity, PeerStatistics, Session, SessionConfig, SessionEvent, TokenSource, Tokens,
};
use tutti_examples::api::Api;
use tutti_examples::impulse::monotonic_ns;
use tutti_examples::wav_host::{self, HostConfig, HostResult, read_wav, write_wav};

/// Join a Tutti jam room and play WAV files through a real session.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Room id (from `POST /api/v1/rooms` or the room list).
    #[arg(long, required_unless_present_any = ["create_room", "list_devices"])]
    room: Option<String>,
    /// Create a public room with this name (needs an account) and join it; prints
    /// `room-created id=…` for the others to join.
    #[arg(long, requires = "email", conflicts_with = "room")]
    create_room: Option<String>,
    /// Create the account first (with --email/--password) instead of logging in.
    #[arg(long, requires = "email")]
    sign_up: bool,
    /// Account email (logs in through the HTTP API); needs --password.
    #[arg(long, requires = "password", conflicts_with = "name")]
    email: Option<String>,
    /// Account password.
    #[arg(long)]
    password: Option<String>,
    /// Join anonymously under this name (the server must allow anonymous signalling).
    #[arg(long)]
    name: Option<String>,
    /// Invite token for a private room.
    #[arg(long)]
    invite: Option<String>,
    /// Opus frame duration in ms: 2.5, 5, 10 or 20 (every musician in the room must match).
    #[arg(long, default_value = "2.5", value_parser = parse_frame)]
    frame_ms: FrameDuration,
    /// WAV file to send (looped). Its sample rate (44100, 48000 or 96000) sets the host rate.
    #[arg(long)]
    input_wav: Option<PathBuf>,
    /// Where to write what was heard (32-bit float stereo WAV at the host rate).
    #[arg(long)]
    output_wav: Option<PathBuf>,
    /// Leave after this many seconds (default: run until `quit` on stdin).
    #[arg(long)]
    seconds: Option<f64>,
    /// Print each peer's statistics every this many ms (tests time recoveries with it).
    #[arg(long, default_value_t = 1000)]
    stats_ms: u64,
    /// Frames per engine block (the simulated sound card's buffer).
    #[arg(long, default_value_t = 64)]
    block: usize,
    /// Local UDP address for the WebRTC links (`0.0.0.0:0` skips loopback; tests on one
    /// machine use `127.0.0.1:0`).
    #[arg(long, default_value = "0.0.0.0:0")]
    udp_bind: std::net::SocketAddr,
    /// Own input mixed into the output (linear gain; 0 = off).
    #[arg(long, default_value_t = 0.0)]
    monitor: f32,
    /// Send a 1 ms burst every this many ms instead of a WAV (at 48 kHz), and report when each
    /// burst was sent and heard (mouth-to-ear measurement).
    #[arg(long, conflicts_with = "input_wav")]
    impulses_ms: Option<f64>,
    /// Poll the capture every millisecond instead of waking when a frame completes (to measure
    /// what the wake-up buys).
    #[arg(long)]
    poll_pacing: bool,
    /// List the sound cards (ids for --input-device/--output-device) and exit.
    #[arg(long)]
    list_devices: bool,
    /// Capture device id or name (default: the system's default input).
    #[arg(long)]
    input_device: Option<String>,
    /// Play without capturing (for output-only devices).
    #[arg(long, conflicts_with = "input_device")]
    no_input: bool,
    /// Playback device id or name (default: the system's default output).
    #[arg(long)]
    output_device: Option<String>,
    /// Frames per device callback to request (the device may grant another size; printed).
    #[arg(long, default_value_t = 128)]
    buffer_frames: u32,
}

fn parse_frame(s: &str) -> Result<FrameDuration, String> {
    match s {
        "2.5" => Ok(FrameDuration::Ms2_5),
        "5" => Ok(FrameDuration::Ms5),
        "10" => Ok(FrameDuration::Ms10),
        "20" => Ok(FrameDuration::Ms20),
        _ => Err("must be 2.5, 5, 10 or 20".into()),
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() {
    if let Err(e) = run(Args::parse()).await {
        eprintln!("jam: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), BoxError> {
    if args.list_devices {
        return sound_card::list();
    }
    let use_device =
        args.input_wav.is_none() && args.output_wav.is_none() && args.impulses_ms.is_none();
    let identity = match (&args.email, &args.password, &args.name) {
        (Some(email), Some(password), _) => {
            let (api, email, password) = (Api::new(&args.server), email.clone(), password.clone());
            let sign_up = args.sign_up;
            let tokens = tokio::task::spawn_blocking(move || {
                if sign_up {
                    api.sign_up_tokens(&email, &password)
                } else {
                    api.login_tokens(&email, &password)
                }
            })
            .await??;
            Identity::Refreshing(Tokens(Arc::new(Refresher {
                api: Api::new(&args.server),
                tokens: Mutex::new((Some(tokens.access_token), tokens.refresh_token)),
            })))
        }
        (None, _, Some(name)) => Identity::Anonymous(name.clone()),
        _ => return Err("pass --email and --password, or --name".into()),
    };
    let room = match (&args.room, &args.create_room, &identity) {
        (Some(room), _, _) => room.clone(),
        (None, Some(name), Identity::Refreshing(tokens)) => {
            let token = tokens.0.access_token().await?;
            let (api, name) = (Api::new(&args.server), name.clone());
            let room =
                tokio::task::spawn_blocking(move || api.create_room(&token, &name, 6)).await??;
            println!("room-created id={room}");
            room
        }
        _ => return Err("pass --room, or --create-room with an account".into()),
    };
    let room = RoomId::new(room)?;
    let engine_config = EngineConfig {
        max_block_frames: args.block,
        encoder: EncoderConfig {
            frame: args.frame_ms,
            ..EncoderConfig::default()
        },
        initial_sequence: random_u32() as u16,
        initial_timestamp: random_u32(),
        ..EngineConfig::default()
    };
    let (mut host, network, control) = if use_device {
        sound_card::start(&args, engine_config)?
    } else {
        wav_start(&args, engine_config)?
    };
    control.set_monitor_level(args.monitor)?;

    let mut config = SessionConfig {
        invite: args.invite.clone(),
        capture_wakeup: !args.poll_pacing,
        stats_interval: Duration::from_millis(args.stats_ms.max(1)),
        ..SessionConfig::default()
    };
    config.link.udp_addrs = vec![args.udp_bind];
    let join_request = monotonic_ns();
    println!("join-request t_ns={join_request}");
    let (session, mut events) =
        Session::join(&args.server, room, identity, config, network, control).await?;
    // Join time ends with the first decoded frame from anyone: poll for it every millisecond.
    let mut first_decoded = tokio::time::interval(Duration::from_millis(1));
    let mut waiting_first = true;

    let mut device_events = tokio::time::interval(Duration::from_millis(100));
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    let deadline = args
        .seconds
        .map(|s| tokio::time::Instant::now() + Duration::from_secs_f64(s.max(0.0)));
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(event) => print_event(&event),
                None => break,
            },
            line = stdin.next_line(), if stdin_open => match line {
                Ok(Some(line)) if line.trim() == "quit" => break,
                Ok(Some(line)) if !line.trim().is_empty() => {
                    if let Err(e) = session.chat(line.trim()) {
                        println!("error chat: {e}");
                    }
                }
                Ok(Some(_)) => {}
                // No stdin (redirected from /dev/null, closed): run until --seconds.
                Ok(None) | Err(_) => stdin_open = false,
            },
            _ = first_decoded.tick(), if waiting_first => {
                if let Some(peer) = session.peers().into_iter().find(|p| {
                    session.peer_stats(p).is_some_and(|s| {
                        s.jitter.frames_decoded + s.jitter.frames_recovered > 0
                    })
                }) {
                    let t = monotonic_ns();
                    let since = Duration::from_nanos(t.saturating_sub(join_request));
                    println!("first-decoded id={peer} t_ns={t} since_join={}", ms(since));
                    waiting_first = false;
                }
            }
            _ = device_events.tick() => host.print_events(),
            _ = sleep_until(deadline) => break,
        }
    }

    session.leave().await?;
    let (stop, host) = match host {
        Host::Wav(stop, host) => (stop, host),
        #[cfg(feature = "device")]
        Host::Device(streams) => {
            sound_card::finish(*streams);
            return Ok(());
        }
    };
    stop.store(true, Ordering::Relaxed);
    let result = host.join().map_err(|_| "the host thread panicked")?;
    if let Some(path) = &args.output_wav {
        write_wav(path, &result.recording)?;
    }
    for t in &result.sent_onsets {
        println!("impulse-sent t_ns={t}");
    }
    for t in &result.heard_onsets {
        println!("impulse-heard t_ns={t}");
    }
    println!(
        "done blocks={} late_blocks={} recorded_frames={}",
        result.blocks,
        result.late_blocks,
        result.recording.frames()
    );
    Ok(())
}

/// What drives the engine's audio thread.
enum Host {
    /// The WAV host thread and its stop flag.
    Wav(Arc<AtomicBool>, JoinHandle<HostResult>),
    /// The sound card's streams (boxed: the grant record is large, the enum lives once).
    #[cfg(feature = "device")]
    Device(Box<tutti_core::device::DeviceStreams>),
}

impl Host {
    /// Prints stream trouble reported since the last call (sound card only).
    fn print_events(&mut self) {
        #[cfg(feature = "device")]
        if let Host::Device(streams) = self {
            while let Some(event) = streams.poll_event() {
                println!(
                    "device-event direction={} fault={:?}",
                    event.direction, event.fault
                );
            }
        }
    }
}

type Started = (Host, EngineNetwork, EngineControl);

/// Starts the WAV host: the input WAV's rate (48 kHz without one) is the host rate.
fn wav_start(args: &Args, config: EngineConfig) -> Result<Started, BoxError> {
    let input = args.input_wav.as_deref().map(read_wav).transpose()?;
    let rate = input.as_ref().map_or(48_000, |a| a.rate);
    if !HOST_RATES.contains(&rate) {
        return Err(format!("the input WAV's rate {rate} Hz is not one of {HOST_RATES:?}").into());
    }
    let (engine, network, control) = Engine::new(EngineConfig {
        host_rate: rate,
        ..config
    })?;
    let stop = Arc::new(AtomicBool::new(false));
    let host = wav_host::spawn(
        engine,
        HostConfig {
            rate,
            block: args.block,
            input,
            record: args.output_wav.is_some(),
            impulses: args
                .impulses_ms
                .map(|ms| Duration::from_secs_f64(ms.max(1.0) / 1e3)),
        },
        Arc::clone(&stop),
    )?;
    Ok((Host::Wav(stop, host), network, control))
}

/// The sound card (feature `device`).
#[cfg(feature = "device")]
mod sound_card {
    use tutti_core::device::{
        DeviceChoice, DeviceConfig, DevicePlan, DeviceStreams, StreamGrant, list_devices,
    };
    use tutti_core::engine::{Engine, EngineConfig};

    use super::{Args, BoxError, Host, Started};

    /// `--list-devices`: one `device` line per device, then its capabilities.
    pub fn list() -> Result<(), BoxError> {
        for d in list_devices()? {
            println!(
                "device id={:?} name={:?} default_input={} default_output={}",
                d.id, d.name, d.default_input, d.default_output
            );
            for (direction, caps) in [("input", &d.input), ("output", &d.output)] {
                if let Some(c) = caps {
                    println!(
                        "  {direction} channels={} rates={}..{} engine_rates={:?} buffer={}",
                        channel_list(&c.channels),
                        c.rate_range.0,
                        c.rate_range.1,
                        c.engine_rates,
                        c.buffer_frames
                            .map_or_else(|| "unknown".to_owned(), |(a, b)| format!("{a}..{b}")),
                    );
                }
            }
        }
        Ok(())
    }

    /// `1,2` or, for a contiguous run of more than four counts, `1..64`.
    fn channel_list(channels: &[u16]) -> String {
        match (channels.first(), channels.last()) {
            (Some(&lo), Some(&hi))
                if channels.len() > 4 && usize::from(hi - lo) + 1 == channels.len() =>
            {
                format!("{lo}..{hi}")
            }
            _ => channels
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(","),
        }
    }

    /// Opens the devices at a rate they share and starts the engine on them.
    pub fn start(args: &Args, config: EngineConfig) -> Result<Started, BoxError> {
        let choice = |name: &Option<String>| {
            name.clone()
                .map_or(DeviceChoice::Default, DeviceChoice::Named)
        };
        let plan = DevicePlan::new(&DeviceConfig {
            input: (!args.no_input).then(|| choice(&args.input_device)),
            output: choice(&args.output_device),
            buffer_frames: args.buffer_frames,
        })?;
        let (engine, network, control) = Engine::new(plan.engine_config(config))?;
        let streams = plan.start(engine)?;
        let granted = streams.granted();
        if let Some(input) = &granted.input {
            print_grant("device-input", input);
        }
        print_grant("device-output", &granted.output);
        Ok((Host::Device(Box::new(streams)), network, control))
    }

    fn print_grant(keyword: &str, g: &StreamGrant) {
        let granted = g
            .buffer_frames
            .map_or_else(|| "unknown".to_owned(), |b| b.to_string());
        let ms = g
            .buffer_frames
            .map_or(0.0, |b| f64::from(b) * 1e3 / f64::from(g.sample_rate));
        println!(
            "{keyword} id={:?} name={:?} rate={} channels={} format={} buffer_requested={} \
             buffer_granted={granted} buffer_ms={ms:.2}",
            g.device, g.name, g.sample_rate, g.channels, g.sample_format, g.requested_buffer_frames,
        );
    }

    /// Stops the streams and prints their counters.
    pub fn finish(streams: DeviceStreams) {
        let s = streams.stats();
        drop(streams);
        println!(
            "done device output_callbacks={} input_callbacks={} input_underrun_frames={} \
             input_dropped_frames={} input_clock_ppm={:.1} input_ratio_ppm={:.1} \
             input_fill_frames={} input_trims={} input_pads={}",
            s.output_callbacks,
            s.input_callbacks,
            s.input_underrun_frames,
            s.input_dropped_frames,
            s.input_clock_ppm,
            s.input_ratio_ppm,
            s.input_fill_frames,
            s.input_trims,
            s.input_pads,
        );
    }
}

/// Without the `device` feature only the WAV host exists.
#[cfg(not(feature = "device"))]
mod sound_card {
    use tutti_core::engine::EngineConfig;

    use super::{Args, BoxError, Started};

    const MISSING: &str = "built without the `device` feature (sound card): pass --input-wav \
                           and/or --output-wav, or build with `--features device`";

    pub fn list() -> Result<(), BoxError> {
        Err(MISSING.into())
    }

    pub fn start(_: &Args, _: EngineConfig) -> Result<Started, BoxError> {
        Err(MISSING.into())
    }
}

/// Access tokens for the session: the login's first, then one refresh per (re)join.
struct Refresher {
    api: Api,
    /// The unused access token from the login (if any) and the next refresh token.
    tokens: Mutex<(Option<String>, String)>,
}

#[async_trait::async_trait]
impl TokenSource for Refresher {
    async fn access_token(&self) -> Result<String, String> {
        let refresh = {
            let mut tokens = self.tokens.lock().map_err(|_| "token state poisoned")?;
            if let Some(access) = tokens.0.take() {
                return Ok(access);
            }
            tokens.1.clone()
        };
        let api = self.api.clone();
        let fresh = tokio::task::spawn_blocking(move || api.refresh(&refresh))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        println!("token-refreshed");
        let mut tokens = self.tokens.lock().map_err(|_| "token state poisoned")?;
        tokens.1 = fresh.refresh_token;
        Ok(fresh.access_token)
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

fn print_event(event: &SessionEvent) {
    match event {
        SessionEvent::Joined {
            peer_id,
            room,
            rejoined,
            resumed,
            ..
        } => println!(
            "joined id={peer_id} room={} peers={} rejoined={rejoined} resumed={resumed}",
            room.room,
            room.peers.len()
        ),
        SessionEvent::PeerJoined(info) => {
            println!("peer-joined id={} name={:?}", info.id, info.display_name);
        }
        SessionEvent::PeerLeft(id) => println!("peer-left id={id}"),
        SessionEvent::PeerConnection { peer, state } => {
            println!("peer-state id={peer} state={state:?}");
        }
        SessionEvent::PeerMedia { peer, frame } => {
            println!("peer-media id={peer} frame={}", ms(frame.as_duration()));
        }
        SessionEvent::Stats(peers) => peers.iter().for_each(print_stats),
        SessionEvent::Chat { from, text } => println!("chat from={from} text={text:?}"),
        SessionEvent::SignallingLost { reason, retry_in } => {
            println!(
                "signalling-lost retry_in={} reason={reason:?}",
                ms(*retry_in)
            );
        }
        SessionEvent::Error(e) => println!("error {e}"),
        SessionEvent::Ended => println!("ended"),
        _ => {}
    }
}

fn print_stats(s: &PeerStatistics) {
    let opt = |d: Option<Duration>| d.map_or_else(|| "-".to_owned(), ms);
    let engine = s.engine.unwrap_or_default();
    let decoded = engine.jitter.frames_decoded + engine.jitter.frames_recovered;
    println!(
        "stats id={} name={:?} state={:?} rtt={} one_way={} loss={:.2}% jitter={} buffer={} \
         concealed={:.2}% decoded={decoded} received={} dropped={}",
        s.peer,
        s.display_name.as_deref().unwrap_or(""),
        s.state,
        opt(s.rtt),
        opt(s.one_way),
        100.0 * s.receive.loss,
        ms(s.receive.jitter),
        ms(engine.buffer_delay()),
        100.0 * s.concealed,
        s.receive.received,
        s.dropped_rtp,
    );
    if let Some(l) = &s.latency {
        print_latency(&s.peer.to_string(), l);
    }
}

fn print_latency(peer: &str, l: &LatencyTerms) {
    println!(
        "latency id={peer} capture={} frame={} lookahead={} network={} buffer={} resampling={} \
         playback={} total={}",
        ms(l.capture_block),
        ms(l.codec_frame),
        ms(l.lookahead),
        l.network_one_way.map_or_else(|| "-".to_owned(), ms),
        ms(l.buffer),
        ms(l.resampling),
        ms(l.playback_block),
        ms(l.total()),
    );
}

fn ms(d: Duration) -> String {
    format!("{:.2}ms", d.as_secs_f64() * 1e3)
}

/// RFC 3550 wants random initial sequence numbers and timestamps.
fn random_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish() as u32
}
