//! Two engines, A → B, in virtual time through the seeded network emulator: what A's host
//! captures comes out of B's host output, at each host rate, and the impulse latency through the
//! pair matches the latency terms the engines report.
#![cfg(feature = "media")]

use std::time::{Duration, Instant};

use tutti_core::engine::{
    Engine, EngineConfig, EngineControl, EngineNetwork, EnginePeer, PeerConfig,
};
use tutti_core::netsim::{Link, LossModel, NetworkProfile, signal};

/// A packet on the wire: arrival (true time), sequence, timestamp, payload.
type InFlight = (Duration, u16, u32, Vec<u8>);

/// A sends to B over `link`; both hosts run the same rate and block size on one clock.
struct Pair {
    a: (Engine, EngineNetwork),
    b: (Engine, EngineNetwork, EngineControl),
    from_a: EnginePeer,
    link: Link,
    in_flight: Vec<InFlight>,
    epoch: Instant,
    rate: u32,
    block: usize,
    blocks: u64,
}

impl Pair {
    fn new(rate: u32, block: usize, profile: NetworkProfile, seed: u64) -> Self {
        let config = EngineConfig {
            host_rate: rate,
            max_block_frames: block,
            ..EngineConfig::default()
        };
        let (a_engine, a_network, _) = Engine::new(config.clone()).expect("engine a");
        let (b_engine, mut b_network, b_control) = Engine::new(config).expect("engine b");
        let from_a = b_network.add_peer(PeerConfig::default()).expect("peer");
        Self {
            a: (a_engine, a_network),
            b: (b_engine, b_network, b_control),
            from_a,
            link: Link::new(profile, seed),
            in_flight: Vec::new(),
            epoch: Instant::now(),
            rate,
            block,
            blocks: 0,
        }
    }

    /// One host block on both sides: A captures `input` (mono, duplicated to both channels)
    /// and sends what it encoded; B receives what has arrived and plays into `out` (left).
    fn step(&mut self, input: &[f32], out: &mut [f32]) {
        let nanos =
            u128::from(self.blocks) * self.block as u128 * 1_000_000_000 / u128::from(self.rate);
        let now = Duration::from_nanos(nanos as u64);
        self.blocks += 1;
        let (mut l, mut r) = (vec![0.0f32; self.block], vec![0.0f32; self.block]);
        self.a
            .0
            .process_at(
                self.epoch + now,
                &[input, input],
                &mut [&mut l, &mut r],
                self.block,
            )
            .expect("a");
        while let Some(packet) = self.a.1.poll_packet() {
            for arrival in self.link.transmit(now).expect("ordered").iter() {
                self.in_flight.push((
                    arrival,
                    packet.sequence,
                    packet.timestamp,
                    packet.payload.to_vec(),
                ));
            }
        }
        self.in_flight.sort_by_key(|p| p.0);
        let due = self.in_flight.iter().take_while(|p| p.0 <= now).count();
        for (arrival, seq, ts, payload) in self.in_flight.drain(..due) {
            self.b
                .1
                .receive(self.from_a, self.epoch + arrival, seq, ts, &payload)
                .expect("receive");
        }
        let silence = vec![0.0f32; self.block];
        self.b
            .0
            .process_at(
                self.epoch + now,
                &[&silence],
                &mut [out, &mut r],
                self.block,
            )
            .expect("b");
    }
}

/// A 440 Hz tone captured by A is heard at 440 Hz in B's output at every host rate, over a
/// jittery link with 2% loss (bursts included), and little of it is concealed.
#[test]
fn tone_crosses_the_pair_at_every_host_rate() {
    for (i, rate) in [44_100u32, 48_000, 96_000].into_iter().enumerate() {
        let block = 128;
        let profile = NetworkProfile::wired()
            .with_loss(LossModel::random_plus_bursts(0.02, 3.0, 0.0005))
            .with_reordering(0.01, Duration::from_millis(3));
        let mut pair = Pair::new(rate, block, profile, 40 + i as u64);
        let blocks = 4 * rate as usize / block; // 4 s
        let mut heard = Vec::new();
        for k in 0..blocks {
            let input = signal::sine(440.0, 0.3, rate, (k * block) as u64, block, 1);
            let mut out = vec![0.0f32; block];
            pair.step(&input, &mut out);
            if k >= blocks / 2 {
                heard.extend_from_slice(&out);
            }
        }
        let f = signal::dominant_frequency(&heard, rate, 5.0);
        let rms = signal::rms(&heard);
        let stats = pair.b.2.peer_stats(pair.from_a).expect("stats");
        assert_eq!(f, 440.0, "{rate} Hz host: dominant {f} Hz");
        assert!(rms > 0.15 && rms < 0.3, "{rate} Hz host: rms {rms}");
        assert!(stats.jitter.frames_recovered > 0, "{stats:?}");
        assert!(stats.concealed_ratio() < 0.03, "{rate} Hz: {stats:?}");
    }
}

/// An impulse in A's input comes out of B's output after as many samples as the reported
/// latency terms add up to (minus the two host-buffer terms, which the virtual host does not
/// have), within one host block plus a millisecond of rounding.
#[test]
fn impulse_latency_matches_reported_terms() {
    for rate in [44_100u32, 48_000, 96_000] {
        let block = rate as usize / 750; // 64 frames at 48 kHz, 1.33 ms
        let base_delay = Duration::from_millis(10);
        let mut pair = Pair::new(
            rate,
            block,
            NetworkProfile::perfect().with_base_delay(base_delay),
            1,
        );
        let warmup = 6 * rate as usize / block;
        let impulse_at = warmup * block + block / 3;
        let mut heard = Vec::new();
        // A band-limited click: a raised-cosine pulse 0.25 ms wide, centred on `impulse_at`.
        let half = rate as usize / 8_000;
        let click = |n: usize| {
            let d = n.abs_diff(impulse_at);
            if d >= half {
                0.0
            } else {
                0.45 * (1.0 + (std::f64::consts::PI * d as f64 / half as f64).cos()) as f32
            }
        };
        for k in 0..warmup + rate as usize / block {
            let input: Vec<f32> = (k * block..(k + 1) * block).map(click).collect();
            let mut out = vec![0.0f32; block];
            pair.step(&input, &mut out);
            heard.extend_from_slice(&out);
        }
        let peak = (impulse_at..heard.len())
            .max_by(|&x, &y| heard[x].abs().total_cmp(&heard[y].abs()))
            .expect("output");
        assert!(
            heard[peak].abs() > 0.3,
            "{rate} Hz: click lost ({})",
            heard[peak]
        );
        let measured = Duration::from_secs_f64((peak - impulse_at) as f64 / f64::from(rate));
        let mut terms = pair.b.2.latency(pair.from_a).expect("terms");
        terms.network_one_way = Some(base_delay);
        let expected = terms.total() - terms.capture_block - terms.playback_block;
        let tolerance =
            Duration::from_secs_f64(block as f64 / f64::from(rate)) + Duration::from_millis(1);
        eprintln!(
            "{rate} Hz, {block}-frame blocks: measured {:.2} ms, terms {:.2} ms ({terms:?})",
            measured.as_secs_f64() * 1e3,
            expected.as_secs_f64() * 1e3
        );
        let diff = measured.abs_diff(expected);
        assert!(
            diff <= tolerance,
            "{rate} Hz: measured {measured:?}, terms {expected:?}"
        );
    }
}
