//! The browser-compatible path of the engine, in virtual time through the seeded network
//! emulator: a native engine sends a browser plain Opus at 10 ms besides its native RED stream,
//! and plays a browser's plain 10 ms Opus. The "browser" is libopus at the frame and framing
//! Chrome uses (plain Opus, PT 111, 10 ms); what Chrome itself does is tested in `web-tests/`.
#![cfg(feature = "media")]

use std::time::{Duration, Instant};

use tutti_core::codec::{Channels, Decoder, Encoder, EncoderConfig, FrameDuration};
use tutti_core::engine::{Engine, EngineConfig, EngineError, PeerConfig, Stream};
use tutti_core::jitter::{JitterConfig, PayloadFormat};
use tutti_core::netsim::{Link, NetworkProfile, signal};

const RATE: u32 = 48_000;
const BLOCK: usize = 128;

fn at(block: u64) -> Duration {
    Duration::from_nanos(block * BLOCK as u64 * 1_000_000_000 / u64::from(RATE))
}

/// A native engine capturing a 660 Hz tone sends a 10 ms plain stream next to its native one;
/// a browser-side decoder hears the tone, with contiguous sequence numbers and timestamps that
/// step by 480 on the native stream's timeline.
#[test]
fn a_browser_hears_plain_10_ms_opus_from_the_native_capture() {
    let (mut engine, mut network, _) = Engine::new(EngineConfig::default()).expect("engine");
    network
        .set_plain_streams(&[FrameDuration::Ms10, FrameDuration::Ms10])
        .expect("plain stream");
    assert_eq!(
        network.plain_streams().collect::<Vec<_>>(),
        [FrameDuration::Ms10]
    );
    let mut browser = Decoder::new(Channels::Stereo).expect("decoder");
    let epoch = Instant::now();
    let (mut native, mut plain) = (0usize, Vec::new());
    let mut heard = Vec::new();
    let mut pcm = vec![0.0f32; 2 * 960];
    let (mut l, mut r) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
    for k in 0..(2 * RATE as usize / BLOCK) {
        let input = signal::sine(660.0, 0.3, RATE, (k * BLOCK) as u64, BLOCK, 1);
        engine
            .process_at(
                epoch + at(k as u64),
                &[&input, &input],
                &mut [&mut l, &mut r],
                BLOCK,
            )
            .expect("process");
        while let Some(packet) = network.poll_packet() {
            match packet.stream {
                Stream::Native => native += 1,
                Stream::Plain(frame) => {
                    assert_eq!(frame, FrameDuration::Ms10);
                    plain.push((packet.sequence, packet.timestamp));
                    let n = browser
                        .decode(packet.payload, &mut pcm)
                        .expect("plain Opus");
                    assert_eq!(n, 480, "10 ms per packet");
                    heard.extend_from_slice(&pcm[..2 * n]);
                }
            }
        }
    }
    // 2 s: 800 native 2.5 ms frames and 200 plain 10 ms ones (less the last partial frame).
    assert!((799..=800).contains(&native), "{native} native packets");
    assert!((199..=200).contains(&plain.len()), "{} plain", plain.len());
    for pair in plain.windows(2) {
        assert_eq!(pair[1].0, pair[0].0.wrapping_add(1), "sequence");
        assert_eq!(pair[1].1, pair[0].1.wrapping_add(480), "timestamp");
    }
    let left = signal::channel(&heard[heard.len() / 2..], 2, 0);
    assert_eq!(signal::dominant_frequency(&left, RATE, 5.0), 660.0);
    assert!(signal::rms(&left) > 0.15, "rms {}", signal::rms(&left));

    network.set_plain_streams(&[]).expect("none");
    assert_eq!(network.plain_streams().count(), 0);
}

/// A plain stream shorter than the native frame cannot be cut from it.
#[test]
fn a_plain_frame_shorter_than_the_native_one_is_refused() {
    let mut config = EngineConfig::default();
    config.encoder.frame = FrameDuration::Ms10;
    let (_, mut network, _) = Engine::new(config).expect("engine");
    assert!(matches!(
        network.set_plain_streams(&[FrameDuration::Ms5]),
        Err(EngineError::InvalidConfig(_))
    ));
    network
        .set_plain_streams(&[FrameDuration::Ms10, FrameDuration::Ms20])
        .expect("multiples");
    assert_eq!(network.plain_streams().count(), 2);
}

/// A browser's plain 10 ms Opus (no RED) over a jittery link is played by a peer configured
/// for it, at the browser's tone.
#[test]
fn a_native_engine_plays_a_browsers_plain_10_ms_opus() {
    let (mut engine, mut network, control) = Engine::new(EngineConfig::default()).expect("engine");
    let peer = network
        .add_peer(PeerConfig {
            jitter: JitterConfig {
                frame: FrameDuration::Ms10,
                payload: PayloadFormat::Plain,
                ..JitterConfig::default()
            },
            channels: Channels::Stereo,
        })
        .expect("peer");
    let mut browser = Encoder::new(EncoderConfig {
        frame: FrameDuration::Ms10,
        ..EncoderConfig::default()
    })
    .expect("encoder");
    let mut link = Link::new(NetworkProfile::wired(), 7);
    let epoch = Instant::now();
    let mut in_flight: Vec<(Duration, u16, u32, Vec<u8>)> = Vec::new();
    let (mut sent, mut heard) = (0u32, Vec::new());
    let mut opus = vec![0u8; 1500];
    let silence = vec![0.0f32; BLOCK];
    let (mut l, mut r) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
    let blocks = 4 * RATE as usize / BLOCK;
    for k in 0..blocks {
        let now = at(k as u64);
        // The browser sends every 10 ms frame whose capture has ended by now.
        while Duration::from_micros(u64::from(sent + 1) * 10_000) <= now {
            let tone = signal::sine(880.0, 0.3, RATE, u64::from(sent) * 480, 480, 2);
            let len = browser.encode(&tone, &mut opus).expect("encode");
            for arrival in link.transmit(now).expect("ordered").iter() {
                in_flight.push((arrival, sent as u16, sent * 480, opus[..len].to_vec()));
            }
            sent += 1;
        }
        in_flight.sort_by_key(|p| p.0);
        let due = in_flight.iter().take_while(|p| p.0 <= now).count();
        for (arrival, seq, ts, payload) in in_flight.drain(..due) {
            network
                .receive(peer, epoch + arrival, seq, ts, &payload)
                .expect("receive");
        }
        engine
            .process_at(epoch + now, &[&silence], &mut [&mut l, &mut r], BLOCK)
            .expect("process");
        if k >= blocks / 2 {
            heard.extend_from_slice(&l);
        }
    }
    assert_eq!(signal::dominant_frequency(&heard, RATE, 5.0), 880.0);
    let rms = signal::rms(&heard);
    assert!(rms > 0.15 && rms < 0.3, "rms {rms}");
    let stats = control.peer_stats(peer).expect("stats");
    assert!(stats.concealed_ratio() < 0.05, "{stats:?}");
}
