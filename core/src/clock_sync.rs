//! NTP-style clock synchronisation between two peers: the offset between their clocks and the
//! round-trip time, from timestamped ping/pong exchanges over the data channel.
//!
//! # Method
//! A ping carries the requester's send time t0; the responder stamps its receive time t1 and
//! its reply time t2; the requester stamps the reply's arrival t3. Then
//! - round trip `δ = (t3 − t0) − (t2 − t1)` (the responder's processing time removed), and
//! - offset `θ = ((t1 − t0) + (t2 − t3)) / 2` (peer clock minus local clock).
//!
//! θ is exact when both directions take equally long; queueing makes them unequal, and its error
//! is at most δ/2 minus the fastest path's half. So, like NTP's clock filter, the estimate uses
//! the sample with the *smallest* round trip among the last [`ClockSyncConfig::window`] samples
//! (no older than [`ClockSyncConfig::max_age`]): the one least touched by queueing. An asymmetric
//! *base* delay (different routes each way) cannot be seen from either end; it biases θ by half
//! the difference, as in NTP.
//!
//! # Run loop (sans-IO)
//! The caller owns the data channel and the clock: it asks [`ClockSync::poll_ping`] whether a
//! ping is due, answers a peer's ping with [`ClockSync::handle_ping`], and feeds replies to
//! [`ClockSync::handle_pong`], passing local `Instant`s each time. The message shapes are
//! [`crate::protocol::ClockPing`] and [`crate::protocol::ClockPong`].
//!
//! ```
//! use std::time::{Duration, Instant};
//! use tutti_core::clock_sync::{ClockSync, ClockSyncConfig};
//!
//! let start = Instant::now();
//! let mut alice = ClockSync::new(start, ClockSyncConfig::default());
//! // Bob's clock started 5 ms before Alice's; the network takes 10 ms each way.
//! let bob = ClockSync::new(start - Duration::from_millis(5), ClockSyncConfig::default());
//! let one_way = Duration::from_millis(10);
//!
//! let ping = alice.poll_ping(start).expect("the first ping is due at once");
//! let pong = bob.handle_ping(ping, start + one_way, start + one_way);
//! alice.handle_pong(pong, start + 2 * one_way)?;
//!
//! let estimate = alice.estimate(start + 2 * one_way).expect("one sample");
//! assert_eq!(estimate.offset_us, 5_000);
//! assert_eq!(estimate.rtt, Duration::from_millis(20));
//! # Ok::<(), tutti_core::clock_sync::ClockSyncError>(())
//! ```

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::protocol::{ClockPing, ClockPong};

/// Settings of one peer's clock synchronisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockSyncConfig {
    /// Time between pings.
    pub interval: Duration,
    /// Samples kept; the estimate uses the one with the smallest round trip.
    pub window: usize,
    /// Samples older than this are dropped: clocks drift apart (100 ppm is 0.1 ms a second), so a
    /// stale sample's offset is wrong however fast its round trip was.
    pub max_age: Duration,
    /// Pings awaiting a reply that are remembered; a reply to an older or unknown ping is refused.
    pub max_outstanding: usize,
}

impl Default for ClockSyncConfig {
    /// A ping every 500 ms; the best of the last 8 samples within 5 s.
    fn default() -> Self {
        Self {
            interval: Duration::from_millis(500),
            window: 8,
            max_age: Duration::from_secs(5),
            max_outstanding: 8,
        }
    }
}

/// The current estimate of a peer's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockEstimate {
    /// Peer clock minus local clock, µs (each clock counted from its own epoch).
    pub offset_us: i64,
    /// Round-trip time of the sample used (the window's smallest).
    pub rtt: Duration,
    /// Half of `rtt`: the one-way network term of the latency budget.
    pub one_way: Duration,
    /// Samples in the window.
    pub samples: usize,
    /// Age of the sample used.
    pub age: Duration,
}

/// A pong that was refused. Both are the peer's (or the network's) fault; the sample is dropped
/// and synchronisation continues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClockSyncError {
    /// The pong answers no ping in flight (a duplicate, a very late reply, or forged).
    #[error("pong for t0 = {t0_us} µs answers no outstanding ping")]
    Unsolicited {
        /// The echoed t0.
        t0_us: u64,
    },
    /// The responder claims to have held the ping longer than the whole round trip.
    #[error(
        "inconsistent pong: responder time {responder_us} µs exceeds round trip {round_trip_us} µs"
    )]
    Inconsistent {
        /// t2 − t1.
        responder_us: u64,
        /// t3 − t0.
        round_trip_us: u64,
    },
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Instant,
    offset_us: i64,
    rtt_us: u64,
}

/// Clock synchronisation with one peer. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct ClockSync {
    epoch: Instant,
    config: ClockSyncConfig,
    samples: VecDeque<Sample>,
    outstanding: VecDeque<u64>,
    next_ping: Option<Instant>,
    rejected: u64,
}

impl ClockSync {
    /// Synchronisation whose local clock counts from `epoch` (any fixed `Instant`, e.g. the
    /// session start). A `window` or `max_outstanding` of 0 counts as 1.
    pub fn new(epoch: Instant, config: ClockSyncConfig) -> Self {
        let config = ClockSyncConfig {
            window: config.window.max(1),
            max_outstanding: config.max_outstanding.max(1),
            ..config
        };
        Self {
            epoch,
            samples: VecDeque::with_capacity(config.window),
            outstanding: VecDeque::with_capacity(config.max_outstanding),
            config,
            next_ping: None,
            rejected: 0,
        }
    }

    /// The local clock at `t`, µs since the epoch (0 before it).
    pub fn local_micros(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.epoch).as_micros()).unwrap_or(u64::MAX)
    }

    /// A ping to send now, if one is due (the first at once, then every
    /// [`ClockSyncConfig::interval`]).
    pub fn poll_ping(&mut self, now: Instant) -> Option<ClockPing> {
        if self.next_ping.is_some_and(|due| now < due) {
            return None;
        }
        self.next_ping = Some(now + self.config.interval);
        let t0_us = self.local_micros(now);
        if self.outstanding.len() == self.config.max_outstanding {
            self.outstanding.pop_front();
        }
        self.outstanding.push_back(t0_us);
        Some(ClockPing { t0_us })
    }

    /// When [`ClockSync::poll_ping`] next has a ping (`None` before the first poll: now).
    pub fn next_ping(&self) -> Option<Instant> {
        self.next_ping
    }

    /// The reply to a peer's ping that arrived at `received`, sent at `now`.
    pub fn handle_ping(&self, ping: ClockPing, received: Instant, now: Instant) -> ClockPong {
        let t1_us = self.local_micros(received);
        ClockPong {
            t0_us: ping.t0_us,
            t1_us,
            t2_us: self.local_micros(now).max(t1_us),
        }
    }

    /// Takes the reply to one of our pings, which arrived at `received`.
    pub fn handle_pong(
        &mut self,
        pong: ClockPong,
        received: Instant,
    ) -> Result<(), ClockSyncError> {
        let Some(pos) = self.outstanding.iter().position(|&t0| t0 == pong.t0_us) else {
            self.rejected += 1;
            return Err(ClockSyncError::Unsolicited { t0_us: pong.t0_us });
        };
        self.outstanding.remove(pos);
        let t3 = self.local_micros(received);
        let round_trip_us = t3.saturating_sub(pong.t0_us);
        let responder_us = pong.t2_us.saturating_sub(pong.t1_us);
        if responder_us > round_trip_us {
            self.rejected += 1;
            return Err(ClockSyncError::Inconsistent {
                responder_us,
                round_trip_us,
            });
        }
        // i128: µs values up to 2^64 cannot overflow a sum of two differences.
        let (t0, t1, t2, t3) = (
            i128::from(pong.t0_us),
            i128::from(pong.t1_us),
            i128::from(pong.t2_us),
            i128::from(t3),
        );
        let offset = ((t1 - t0) + (t2 - t3)).div_euclid(2);
        if self.samples.len() == self.config.window {
            self.samples.pop_front();
        }
        self.samples.push_back(Sample {
            at: received,
            offset_us: i64::try_from(offset).unwrap_or(if offset < 0 {
                i64::MIN
            } else {
                i64::MAX
            }),
            rtt_us: round_trip_us - responder_us,
        });
        Ok(())
    }

    /// The estimate from the fastest fresh sample, or `None` without one.
    pub fn estimate(&self, now: Instant) -> Option<ClockEstimate> {
        let fresh = self
            .samples
            .iter()
            .filter(|s| now.saturating_duration_since(s.at) <= self.config.max_age);
        let best = fresh.clone().min_by_key(|s| s.rtt_us)?;
        let rtt = Duration::from_micros(best.rtt_us);
        Some(ClockEstimate {
            offset_us: best.offset_us,
            rtt,
            one_way: rtt / 2,
            samples: fresh.count(),
            age: now.saturating_duration_since(best.at),
        })
    }

    /// Pongs refused so far (see [`ClockSyncError`]).
    pub fn rejected(&self) -> u64 {
        self.rejected
    }
}

#[cfg(all(test, feature = "netsim"))]
mod tests;
