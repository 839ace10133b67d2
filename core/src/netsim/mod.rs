//! Seeded, deterministic network emulator for tests and benchmarks (feature `netsim`).
//!
//! Tutti's state machines take time as an argument, so a whole evening of jamming over a bad
//! network can be replayed in a second, bit for bit from a seed. This module supplies that
//! network. It is a test tool, not release API.
//!
//! # Time
//! Everything here is *simulated true time*: a [`Duration`] since the start of the simulation.
//! Nothing reads a clock. Each host additionally has its own drifting clock ([`SimClock`]); a
//! sender producing a frame every `F` of its clock sends frame `k` at true time
//! `profile.sender_clock().to_true(k·F)`, and a receiver stamps an arrival at true time `t` as
//! `profile.receiver_clock().to_local(t)`.
//!
//! # The model
//! One [`Link`] is one direction of one path. For packet `i` sent at `send_i`:
//!
//! 1. **Delay.** It would arrive at `send_i + base_delay + jitter_i`, with `jitter_i` drawn from
//!    the [`JitterModel`].
//! 2. **Queue (FIFO).** Packets on a path do not overtake each other:
//!    `arrival_i = max(send_i + base_delay + jitter_i, previous non-reordered arrival)`. A delay
//!    spike therefore also holds back the packets sent during it, which then arrive in a burst,
//!    as behind a real queue. This makes observed delays heavier-tailed than the jitter model on
//!    its own, more so the shorter the packet interval.
//! 3. **Reordering.** With `reorder_probability` a packet gets an extra `reorder_delay` and is
//!    exempt from the queue rule (it neither waits for nor holds back other packets), so later
//!    packets overtake it.
//! 4. **Duplication.** With `duplicate_probability` a second copy arrives 0.1–1 ms after the first.
//! 5. **Loss.** The [`LossModel`] decides whether the packet (and its duplicate) is delivered. A
//!    lost packet still occupied the queue, so turning loss on only *removes* packets: the
//!    survivors keep exactly the arrival times they had without loss.
//!
//! Each mechanism draws from its own ChaCha8 stream derived from the seed, a fixed number of
//! draws per packet, so changing one knob (say, adding loss) leaves the others' randomness
//! untouched and comparisons between profiles are paired.
//!
//! # Presets
//! All presets have a 10 ms base delay, no loss, no reordering, no duplication and no drift; add
//! those with the `with_*` setters. [`NetworkProfile::wired`] is what the design's jitter-buffer
//! figures assume (p99 of delay above minimum ~1.5 ms, rare spikes up to 20 ms);
//! [`NetworkProfile::wifi`] and [`NetworkProfile::cellular`] are progressively worse.
//!
//! # Example
//! ```
//! use std::time::Duration;
//! use tutti_core::netsim::{Link, LossModel, NetworkProfile};
//!
//! // The benchmark network: wired with 1 % random loss plus ~3-packet bursts (4 a minute at
//! // 400 packets/s) and sound cards 100 ppm apart.
//! let profile = NetworkProfile::wired()
//!     .with_loss(LossModel::random_plus_bursts(0.01, 3.0, 4.0 / 24_000.0))
//!     .with_drift(50.0, -50.0);
//! let frame = Duration::from_micros(2500);
//! let mut link = Link::new(profile, 42);
//! let mut received = 0;
//! for k in 0..4000_u32 {
//!     // The sender's sound card paces the frames, on the sender's clock.
//!     let send = profile.sender_clock().to_true(frame * k);
//!     let arrivals = link.transmit(send)?;
//!     for arrival in arrivals.iter() {
//!         assert!(arrival >= send + profile.base_delay);
//!         // A receiver would stamp it on its own clock:
//!         let _stamp = profile.receiver_clock().to_local(arrival);
//!         received += 1;
//!     }
//! }
//! assert!(received > 3800 && received < 4000);
//! # Ok::<(), tutti_core::netsim::NetsimError>(())
//! ```

mod clock;
mod jitter;
mod loss;
#[cfg(feature = "media")]
pub mod playback;
pub mod signal;
mod trace;

use std::time::Duration;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use clock::{MAX_CLOCK_PPM, SimClock};
pub use jitter::{JitterModel, WIFI_SLOW_SHAPE};
pub use loss::LossModel;
pub use trace::{Trace, TraceError, TraceRecord, quantile};

use loss::LossState;

/// Earliest a duplicate copy arrives after the first copy.
pub const DUPLICATE_MIN_GAP: Duration = Duration::from_micros(100);
/// Latest a duplicate copy arrives after the first copy.
pub const DUPLICATE_MAX_GAP: Duration = Duration::from_millis(1);

/// Misuse of the emulator by its caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NetsimError {
    /// [`Link::transmit`] was called with a send time earlier than the previous one.
    ///
    /// The queue model needs packets in the order they were sent; this is a bug in the test
    /// harness, not something the network did.
    #[error("send time {send_time:?} is earlier than the previous send time {previous:?}")]
    SendTimeWentBackwards {
        /// Send time of the previous packet.
        previous: Duration,
        /// The offending send time.
        send_time: Duration,
    },
}

/// Everything that describes one direction of a network path, plus the two hosts' clocks.
///
/// Start from a preset and adjust with the `with_*` setters; fields are public so a test can
/// state exactly what it assumes. Probabilities outside `[0, 1]` behave as the nearest bound
/// (NaN as 0); nothing here can make the emulator panic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NetworkProfile {
    /// Propagation plus fixed processing delay: the minimum one-way delay.
    pub base_delay: Duration,
    /// Per-packet random delay on top of `base_delay`.
    pub jitter: JitterModel,
    /// Which packets are lost.
    pub loss: LossModel,
    /// Probability that a packet is held back by `reorder_delay` and overtaken.
    pub reorder_probability: f64,
    /// Extra delay of a reordered packet.
    pub reorder_delay: Duration,
    /// Probability that a packet arrives twice.
    pub duplicate_probability: f64,
    /// Rate error of the sender's clock in ppm (see [`SimClock`]).
    pub sender_clock_ppm: f64,
    /// Rate error of the receiver's clock in ppm.
    pub receiver_clock_ppm: f64,
}

impl NetworkProfile {
    /// Base delay of every preset: a regional path of ~1000–1500 km of fibre.
    pub const PRESET_BASE_DELAY: Duration = Duration::from_millis(10);

    /// A path with no jitter, loss, reordering, duplication or drift; only the base delay.
    ///
    /// The baseline that isolates whatever a test is not about.
    #[must_use]
    pub const fn perfect() -> Self {
        Self {
            base_delay: Self::PRESET_BASE_DELAY,
            jitter: JitterModel::None,
            loss: LossModel::None,
            reorder_probability: 0.0,
            reorder_delay: Duration::ZERO,
            duplicate_probability: 0.0,
            sender_clock_ppm: 0.0,
            receiver_clock_ppm: 0.0,
        }
    }

    /// A clean wired path: exponential jitter of mean 0.3 ms plus spikes of 5–20 ms (uniform)
    /// on 1 packet in 8000, i.e. three times a minute at 400 packets/s.
    ///
    /// Rare spikes, not average jitter, set the cost of a jitter buffer: this is the path on
    /// which "conceal rare spikes rather than buffer for them" is decided.
    #[must_use]
    pub const fn wired() -> Self {
        Self::perfect().with_jitter(JitterModel::Wired {
            mean: Duration::from_micros(300),
            spike_probability: 1.0 / 8000.0,
            spike_min: Duration::from_millis(5),
            spike_max: Duration::from_millis(20),
        })
    }

    /// Home wifi: 90 % of packets exponential with mean 1 ms, 10 % around 8 ms (Erlang-4 of
    /// mean 8 ms) from retransmissions and contention.
    #[must_use]
    pub const fn wifi() -> Self {
        Self::perfect().with_jitter(JitterModel::Wifi {
            fast_mean: Duration::from_millis(1),
            slow_mean: Duration::from_millis(8),
            slow_probability: 0.1,
        })
    }

    /// A good cellular link: lognormal jitter with median 5 ms and σ = 0.6 (p99 ≈ 20 ms).
    #[must_use]
    pub const fn cellular() -> Self {
        Self::perfect().with_jitter(JitterModel::Cellular {
            median: Duration::from_millis(5),
            sigma: 0.6,
        })
    }

    /// Replaces the base (minimum) delay.
    #[must_use]
    pub const fn with_base_delay(mut self, base_delay: Duration) -> Self {
        self.base_delay = base_delay;
        self
    }

    /// Replaces the jitter model.
    #[must_use]
    pub const fn with_jitter(mut self, jitter: JitterModel) -> Self {
        self.jitter = jitter;
        self
    }

    /// Replaces the loss model.
    #[must_use]
    pub const fn with_loss(mut self, loss: LossModel) -> Self {
        self.loss = loss;
        self
    }

    /// Holds back a fraction `probability` of packets by `delay` so that later ones overtake.
    #[must_use]
    pub const fn with_reordering(mut self, probability: f64, delay: Duration) -> Self {
        self.reorder_probability = probability;
        self.reorder_delay = delay;
        self
    }

    /// Delivers a fraction `probability` of packets twice.
    #[must_use]
    pub const fn with_duplication(mut self, probability: f64) -> Self {
        self.duplicate_probability = probability;
        self
    }

    /// Sets the sender's and receiver's clock errors in ppm (positive: runs fast).
    #[must_use]
    pub const fn with_drift(mut self, sender_ppm: f64, receiver_ppm: f64) -> Self {
        self.sender_clock_ppm = sender_ppm;
        self.receiver_clock_ppm = receiver_ppm;
        self
    }

    /// The sender's clock, which paces the frames it sends.
    #[must_use]
    pub const fn sender_clock(&self) -> SimClock {
        SimClock::new(self.sender_clock_ppm)
    }

    /// The receiver's clock, which paces playout and stamps arrivals.
    #[must_use]
    pub const fn receiver_clock(&self) -> SimClock {
        SimClock::new(self.receiver_clock_ppm)
    }
}

/// When the copies of one packet arrive: none (lost), one, or two (duplicated), earliest first.
///
/// A small `Copy` value so that [`Link::transmit`] allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Arrivals {
    times: [Duration; 2],
    len: u8,
}

impl Arrivals {
    /// A lost packet.
    const LOST: Self = Self {
        times: [Duration::ZERO; 2],
        len: 0,
    };

    /// Arrival times in simulated true time, earliest first.
    pub fn iter(&self) -> impl Iterator<Item = Duration> + '_ {
        self.times[..usize::from(self.len)].iter().copied()
    }

    /// The first copy's arrival, or `None` if the packet was lost.
    #[must_use]
    pub fn first(&self) -> Option<Duration> {
        self.iter().next()
    }

    /// Whether no copy arrives.
    #[must_use]
    pub const fn is_lost(&self) -> bool {
        self.len == 0
    }

    /// Whether the packet arrives twice.
    #[must_use]
    pub const fn is_duplicated(&self) -> bool {
        self.len == 2
    }

    /// Number of copies that arrive (0, 1 or 2).
    #[must_use]
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// Same as [`Arrivals::is_lost`]; present because `len` is.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.is_lost()
    }
}

/// Independent random streams, one per mechanism, so that turning one on or off does not shift
/// the others' draws.
#[derive(Debug, Clone)]
struct Streams {
    jitter: ChaCha8Rng,
    reorder: ChaCha8Rng,
    duplicate: ChaCha8Rng,
    loss: ChaCha8Rng,
}

impl Streams {
    fn new(seed: u64) -> Self {
        let stream = |n| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(n);
            rng
        };
        Self {
            jitter: stream(0),
            reorder: stream(1),
            duplicate: stream(2),
            loss: stream(3),
        }
    }
}

/// One direction of one network path: decides when (and whether) each packet arrives.
///
/// Sans-IO: it carries no payloads and owns no timers. The caller says when a packet is sent and
/// gets back when its copies arrive, then delivers them to the receiver in its own event loop.
#[derive(Debug, Clone)]
pub struct Link {
    profile: NetworkProfile,
    streams: Streams,
    loss: LossState,
    /// Send time of the previous packet, to enforce send order.
    last_send: Option<Duration>,
    /// Arrival of the previous non-reordered packet: the tail of the queue.
    queue_tail: Duration,
}

impl Link {
    /// A link behaving as `profile`, with all randomness derived from `seed`.
    ///
    /// Same profile and seed give identical arrivals; different seeds give independent ones.
    #[must_use]
    pub fn new(profile: NetworkProfile, seed: u64) -> Self {
        Self {
            profile,
            streams: Streams::new(seed),
            loss: LossState::default(),
            last_send: None,
            queue_tail: Duration::ZERO,
        }
    }

    /// The profile this link was built with.
    #[must_use]
    pub const fn profile(&self) -> &NetworkProfile {
        &self.profile
    }

    /// Sends one packet at true time `send_time`; returns when its copies arrive.
    ///
    /// Calls must come in non-decreasing `send_time` order (equal times are fine: packets sent
    /// together keep their call order), because the queue model needs to know which packet is
    /// ahead. An earlier time is refused with [`NetsimError::SendTimeWentBackwards`] and changes
    /// no state.
    pub fn transmit(&mut self, send_time: Duration) -> Result<Arrivals, NetsimError> {
        if let Some(previous) = self.last_send
            && send_time < previous
        {
            return Err(NetsimError::SendTimeWentBackwards {
                previous,
                send_time,
            });
        }
        self.last_send = Some(send_time);
        let profile = &self.profile;
        let streams = &mut self.streams;

        // Fixed number of draws per packet and mechanism, whatever the outcome.
        let jitter = profile.jitter.sample(&mut streams.jitter);
        let reordered = streams.reorder.random::<f64>() < profile.reorder_probability;
        let duplicated = streams.duplicate.random::<f64>() < profile.duplicate_probability;
        let gap_position: f64 = streams.duplicate.random();
        let lost = self.loss.next_is_lost(&profile.loss, &mut streams.loss);

        let unqueued = send_time
            .saturating_add(profile.base_delay)
            .saturating_add(jitter);
        let arrival = if reordered {
            unqueued.saturating_add(profile.reorder_delay)
        } else {
            let arrival = unqueued.max(self.queue_tail);
            self.queue_tail = arrival;
            arrival
        };

        if lost {
            return Ok(Arrivals::LOST);
        }
        if !duplicated {
            return Ok(Arrivals {
                times: [arrival, Duration::ZERO],
                len: 1,
            });
        }
        let span = (DUPLICATE_MAX_GAP - DUPLICATE_MIN_GAP).as_nanos() as f64;
        let gap = DUPLICATE_MIN_GAP.saturating_add(duration_from_nanos_f64(span * gap_position));
        Ok(Arrivals {
            times: [arrival, arrival.saturating_add(gap)],
            len: 2,
        })
    }
}

/// Nanoseconds as f64 to a [`Duration`], rounding; negative and NaN give zero, huge values
/// saturate (float-to-int `as` casts saturate, so this cannot panic).
fn duration_from_nanos_f64(nanos: f64) -> Duration {
    Duration::from_nanos(nanos.round() as u64)
}

#[cfg(test)]
mod tests;
