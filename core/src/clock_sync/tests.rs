use std::time::{Duration, Instant};

use super::*;
use crate::netsim::{Link, LossModel, NetworkProfile, SimClock};

/// Bob's clock: `offset` ahead of true time and running `ppm` fast.
#[derive(Clone, Copy)]
struct PeerClock {
    base: Instant,
    offset: Duration,
    clock: SimClock,
}

impl PeerClock {
    fn at(&self, true_time: Duration) -> Instant {
        self.base + self.offset + self.clock.to_local(true_time)
    }

    /// Bob's clock minus Alice's (which is true time), µs.
    fn true_offset_us(&self, true_time: Duration) -> i64 {
        let bob = (self.offset + self.clock.to_local(true_time)).as_micros() as i64;
        bob - true_time.as_micros() as i64
    }
}

/// Alice pings Bob for a simulated minute over links with different jitter each way (Wi-Fi out,
/// wired back, 2% loss, some duplicates); Bob's clock is 1.234 s ahead and 50 ppm fast.
/// The min-RTT estimate stays within 0.6 ms of the truth throughout, while the newest sample
/// alone is off by several ms whenever Wi-Fi queues a packet.
#[test]
fn tracks_offset_through_asymmetric_jitter() {
    let base = Instant::now();
    let bob_clock = PeerClock {
        base,
        offset: Duration::from_micros(1_234_567),
        clock: SimClock::new(50.0),
    };
    let loss = LossModel::random_plus_bursts(0.02, 2.0, 0.001);
    let mut out = Link::new(
        NetworkProfile::wifi()
            .with_loss(loss)
            .with_duplication(0.05),
        7,
    );
    let mut back = Link::new(NetworkProfile::wired().with_loss(loss), 8);
    let mut alice = ClockSync::new(base, ClockSyncConfig::default());
    let bob = ClockSync::new(base, ClockSyncConfig::default());

    let (mut worst_filtered, mut worst_naive, mut checked) = (0i64, 0i64, 0);
    let mut t = Duration::ZERO;
    while t < Duration::from_secs(60) {
        if let Some(ping) = alice.poll_ping(base + t) {
            let arrivals = out.transmit(t).expect("ordered");
            for arrival in arrivals.iter() {
                // Bob answers each copy 0.2 ms after it arrives; a duplicate reply is refused.
                let reply_at = arrival + Duration::from_micros(200);
                let pong = bob.handle_ping(ping, bob_clock.at(arrival), bob_clock.at(reply_at));
                let Some(back_at) = back.transmit(reply_at).expect("ordered").first() else {
                    continue;
                };
                let naive = {
                    let t0 = i128::from(pong.t0_us);
                    let t3 = back_at.as_micros() as i128;
                    ((i128::from(pong.t1_us) - t0 + i128::from(pong.t2_us) - t3) / 2) as i64
                };
                match alice.handle_pong(pong, base + back_at) {
                    Ok(()) => {}
                    Err(ClockSyncError::Unsolicited { .. }) => continue,
                    Err(e) => panic!("{e}"),
                }
                let estimate = alice.estimate(base + back_at).expect("estimate");
                let truth = bob_clock.true_offset_us(back_at);
                if t > Duration::from_secs(5) {
                    worst_filtered = worst_filtered.max((estimate.offset_us - truth).abs());
                    worst_naive = worst_naive.max((naive - truth).abs());
                    checked += 1;
                    let rtt = estimate.rtt.as_secs_f64() * 1e3;
                    assert!((20.0..21.5).contains(&rtt), "rtt {rtt} ms");
                    assert_eq!(estimate.one_way, estimate.rtt / 2);
                }
            }
        }
        t += Duration::from_millis(10);
    }
    assert!(checked > 90, "{checked} samples");
    assert!(worst_filtered < 600, "filtered error {worst_filtered} µs");
    assert!(worst_naive > 2_000, "naive error only {worst_naive} µs");
    assert!(
        alice.rejected() > 0,
        "duplicated pings must yield refused pongs"
    );
}

#[test]
fn refuses_unsolicited_and_inconsistent_pongs() {
    let base = Instant::now();
    let mut a = ClockSync::new(base, ClockSyncConfig::default());
    let ping = a.poll_ping(base).expect("due");
    let forged = ClockPong {
        t0_us: ping.t0_us + 1,
        t1_us: 0,
        t2_us: 0,
    };
    assert_eq!(
        a.handle_pong(forged, base + Duration::from_millis(5)),
        Err(ClockSyncError::Unsolicited {
            t0_us: ping.t0_us + 1
        })
    );
    // The responder claims to have held the ping 50 ms of a 5 ms round trip.
    let liar = ClockPong {
        t0_us: ping.t0_us,
        t1_us: 1_000,
        t2_us: 51_000,
    };
    assert!(matches!(
        a.handle_pong(liar, base + Duration::from_millis(5)),
        Err(ClockSyncError::Inconsistent { .. })
    ));
    assert_eq!(a.rejected(), 2);
    assert!(a.estimate(base + Duration::from_millis(5)).is_none());
}

#[test]
fn paces_pings_and_forgets_stale_samples() {
    let base = Instant::now();
    let config = ClockSyncConfig::default();
    let mut a = ClockSync::new(base, config);
    let b = ClockSync::new(base, config);
    let ping = a.poll_ping(base).expect("first ping at once");
    assert!(a.poll_ping(base + config.interval / 2).is_none());
    assert_eq!(a.next_ping(), Some(base + config.interval));
    let pong = b.handle_ping(
        ping,
        base + Duration::from_millis(3),
        base + Duration::from_millis(3),
    );
    a.handle_pong(pong, base + Duration::from_millis(6))
        .expect("accepted");
    let e = a
        .estimate(base + Duration::from_millis(6))
        .expect("estimate");
    assert_eq!(
        (e.offset_us, e.rtt, e.samples),
        (0, Duration::from_millis(6), 1)
    );
    assert!(
        a.estimate(base + config.max_age + Duration::from_secs(1))
            .is_none()
    );
    // A reply can only be used once.
    assert!(
        a.handle_pong(pong, base + Duration::from_millis(7))
            .is_err()
    );
}
