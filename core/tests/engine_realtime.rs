//! `Engine::process` never allocates: driven under `assert_no_alloc` (which aborts the test
//! process on any allocation) at every supported host rate with block sizes across 16..=4096,
//! while the network side delivers packets (with loss, duplicates and garbage), adds and removes
//! peers, and a control handle changes gains, pans, mutes and the monitor level.
//!
//! The network-side and control calls run between the audio calls on the same thread, outside
//! the checked closure, so the test is deterministic; they are the calls a network task and a UI
//! thread would make concurrently.
#![cfg(feature = "media")]

use std::time::{Duration, Instant};

use assert_no_alloc::{AllocDisabler, assert_no_alloc};
use tutti_core::engine::{Engine, EngineConfig, EnginePeer, MAX_BLOCK_FRAMES, PeerConfig};
use tutti_core::netsim::signal;

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

const BLOCKS: [usize; 10] = [16, 17, 64, 100, 128, 441, 512, 1024, 4096, 32];

#[test]
fn process_never_allocates() {
    for rate in [44_100u32, 48_000, 96_000] {
        let config = EngineConfig {
            host_rate: rate,
            max_block_frames: MAX_BLOCK_FRAMES,
            max_peers: 4,
            ..EngineConfig::default()
        };
        let (mut sender, mut sender_net, _) = Engine::new(config.clone()).expect("sender");
        let (mut engine, mut network, control) = Engine::new(config).expect("engine");
        let mut peers: Vec<EnginePeer> = (0..3)
            .map(|_| network.add_peer(PeerConfig::default()).expect("peer"))
            .collect();
        let input: Vec<f32> = signal::sine(330.0, 0.4, rate, 0, MAX_BLOCK_FRAMES, 1);
        let (mut l, mut r) = (
            vec![0.0f32; MAX_BLOCK_FRAMES],
            vec![0.0f32; MAX_BLOCK_FRAMES],
        );
        let (mut sl, mut sr) = (
            vec![0.0f32; MAX_BLOCK_FRAMES],
            vec![0.0f32; MAX_BLOCK_FRAMES],
        );
        let epoch = Instant::now();
        let mut now = Duration::ZERO;
        let mut energy = 0.0f64;
        let mut sent = 0u64;

        for k in 0..600usize {
            let frames = BLOCKS[k % BLOCKS.len()];
            // The sender's audio thread (its `process` reads the real clock).
            assert_no_alloc(|| {
                sender
                    .process(&[&input[..frames]], &mut [&mut sl, &mut sr], frames)
                    .expect("sender process");
            });
            // Its network task sends; ours receives with a little loss, duplication, garbage.
            while let Some(p) = sender_net.poll_packet() {
                sent += 1;
                for (i, &peer) in peers.iter().enumerate() {
                    let copies =
                        usize::from(sent % 29 != i as u64) + usize::from(sent.is_multiple_of(13));
                    for _ in 0..copies {
                        let _ =
                            network.receive(peer, epoch + now, p.sequence, p.timestamp, p.payload);
                    }
                }
                if sent.is_multiple_of(41) {
                    let _ = network.receive(peers[0], epoch + now, 7, 7, &[0xFF; 40]);
                }
            }
            // Peer churn and parameter changes from other threads.
            if k % 50 == 25 {
                let gone = peers.remove(k / 50 % peers.len());
                network.remove_peer(gone).expect("remove");
                peers.push(network.add_peer(PeerConfig::default()).expect("add"));
            }
            if k % 7 == 0 {
                let peer = peers[k % peers.len()];
                control.set_gain_db(peer, -((k % 12) as f32)).expect("gain");
                control
                    .set_pan(peer, (k % 5) as f32 / 2.0 - 1.0)
                    .expect("pan");
                control.set_mute(peer, k % 35 == 0).expect("mute");
                control
                    .set_monitor_level((k % 3) as f32 * 0.25)
                    .expect("monitor");
            }
            let _ = control.peer_stats(peers[0]);
            // Our audio thread: alternate the host-timed and the clock-reading entry points.
            assert_no_alloc(|| {
                let result = if k % 2 == 0 {
                    engine.process_at(
                        epoch + now,
                        &[&input[..frames]],
                        &mut [&mut l, &mut r],
                        frames,
                    )
                } else {
                    engine.process(&[&input[..frames]], &mut [&mut l, &mut r], frames)
                };
                result.expect("process");
            });
            energy += l[..frames].iter().map(|&x| f64::from(x * x)).sum::<f64>();
            now += Duration::from_nanos(frames as u64 * 1_000_000_000 / u64::from(rate));
        }

        // The path really ran: packets were decoded, losses recovered, garbage counted.
        assert!(energy > 10.0, "{rate} Hz: energy {energy}");
        let stats = control.peer_stats(peers[0]).expect("stats");
        assert!(stats.jitter.frames_decoded > 100, "{rate} Hz: {stats:?}");
        assert!(control.blocks() == 600);
    }
}
