//! What `netem-queue` does to each packet: a seeded stand-in for `tc netem delay D J loss P`
//! where the kernel has no `sch_netem`, with a switch that cuts the link (an outage).
//!
//! Sans-IO, like the rest of the emulation: the caller says which way a packet goes and when it
//! was queued (time since the emulator started) and gets back whether to drop it or when to let
//! it through. Each direction is one [`tutti_core::netsim::Link`] (its own seed), so the delay,
//! jitter and loss model is the one the simulations use:
//!
//! - delay `D ± J` uniform (as netem without a distribution table): base delay `D − J` plus
//!   [`JitterModel::Uniform`] up to `2J`;
//! - independent loss with probability `P` ([`LossModel::Random`]);
//! - no overtaking: `Link`'s queue rule keeps a direction in order, where netem with jitter
//!   reorders packets whose delays cross. Less harsh than netem on 2.5 ms packet spacing with
//!   ±3 ms jitter, and what a real path's queue does.

use std::fmt;
use std::time::Duration;

use tutti_core::netsim::{JitterModel, Link, LossModel, NetworkProfile};

use crate::processes::field;

/// Which way a packet goes, seen from the namespace the emulator runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Arriving (netfilter `INPUT`/`PREROUTING`).
    Inbound,
    /// Leaving (netfilter `OUTPUT`/`POSTROUTING`).
    Outbound,
}

impl Direction {
    /// The direction of a packet queued from netfilter hook number `hook`
    /// (`NF_INET_PRE_ROUTING` = 0, `LOCAL_IN` = 1, `FORWARD` = 2, `LOCAL_OUT` = 3,
    /// `POST_ROUTING` = 4); forwarded packets count as inbound.
    #[must_use]
    pub fn from_hook(hook: u8) -> Self {
        if hook >= 3 {
            Self::Outbound
        } else {
            Self::Inbound
        }
    }

    const fn index(self) -> usize {
        match self {
            Self::Inbound => 0,
            Self::Outbound => 1,
        }
    }
}

/// The link each direction emulates: `tc netem delay {delay} {jitter} loss {loss}`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NetemParams {
    /// Mean one-way delay (netem's `delay D`).
    pub delay: Duration,
    /// Half-width of the uniform delay variation (netem's `J`); capped at `delay`.
    pub jitter: Duration,
    /// Probability that a packet is dropped (netem's `loss P`, as a fraction).
    pub loss: f64,
}

impl NetemParams {
    /// The [`NetworkProfile`] of one direction.
    #[must_use]
    pub fn profile(&self) -> NetworkProfile {
        let jitter = self.jitter.min(self.delay);
        NetworkProfile::perfect()
            .with_base_delay(self.delay - jitter)
            .with_jitter(JitterModel::Uniform { max: 2 * jitter })
            .with_loss(LossModel::Random {
                probability: self.loss,
            })
    }
}

/// What happens to one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Drop it now.
    Drop,
    /// Let it through at this time (since the emulator started).
    DeliverAt(Duration),
}

/// Packet counts of one direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirectionCounters {
    /// Packets queued to the emulator.
    pub seen: u64,
    /// Dropped by the random loss.
    pub lost: u64,
    /// Dropped because the link was cut (outage).
    pub cut: u64,
    /// Held for their delay and then let through.
    pub delayed: u64,
}

impl DirectionCounters {
    /// The share of packets the random loss dropped (outage drops excluded): what the receiver's
    /// loss statistic should show for traffic sent outside outages.
    #[must_use]
    pub fn loss_ratio(&self) -> f64 {
        let offered = self.seen - self.cut;
        if offered == 0 {
            0.0
        } else {
            self.lost as f64 / offered as f64
        }
    }
}

/// Counts of both directions; printed as `in_seen=… in_lost=… … out_delayed=…`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Arriving packets.
    pub inbound: DirectionCounters,
    /// Leaving packets.
    pub outbound: DirectionCounters,
}

impl fmt::Display for Counters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (separator, prefix, c) in [("", "in", &self.inbound), (" ", "out", &self.outbound)] {
            write!(
                f,
                "{separator}{prefix}_seen={} {prefix}_lost={} {prefix}_cut={} {prefix}_delayed={}",
                c.seen, c.lost, c.cut, c.delayed
            )?;
        }
        Ok(())
    }
}

impl Counters {
    /// Reads the counters back from a line that carries them as `key=value` fields (what
    /// `netem-queue` prints); `None` if one is missing or not a number.
    #[must_use]
    pub fn from_fields(line: &str) -> Option<Self> {
        let direction = |prefix: &str| {
            let get = |name: &str| field(line, &format!("{prefix}_{name}"))?.parse().ok();
            Some(DirectionCounters {
                seen: get("seen")?,
                lost: get("lost")?,
                cut: get("cut")?,
                delayed: get("delayed")?,
            })
        };
        Some(Self {
            inbound: direction("in")?,
            outbound: direction("out")?,
        })
    }
}

/// Both directions of the emulated link, the outage switch and the counters.
#[derive(Debug, Clone)]
pub struct Impairment {
    links: [Link; 2],
    counters: [DirectionCounters; 2],
    outage: bool,
    /// Latest time seen: `Link` needs non-decreasing send times.
    now: Duration,
}

impl Impairment {
    /// Both directions behave as `params`, with independent randomness derived from `seed`.
    #[must_use]
    pub fn new(params: NetemParams, seed: u64) -> Self {
        let profile = params.profile();
        Self {
            links: [
                Link::new(profile, seed),
                Link::new(profile, seed.wrapping_add(1)),
            ],
            counters: [DirectionCounters::default(); 2],
            outage: false,
            now: Duration::ZERO,
        }
    }

    /// Cuts the link (every packet dropped) or restores it.
    pub fn set_outage(&mut self, cut: bool) {
        self.outage = cut;
    }

    /// Whether the link is cut.
    #[must_use]
    pub fn outage(&self) -> bool {
        self.outage
    }

    /// Decides the fate of a packet going `direction`, queued at `now`.
    ///
    /// Times earlier than one already seen count as that one (they cannot come from a monotonic
    /// clock, and the link model needs order).
    pub fn packet(&mut self, direction: Direction, now: Duration) -> Fate {
        self.now = self.now.max(now);
        let i = direction.index();
        let counters = &mut self.counters[i];
        counters.seen += 1;
        if self.outage {
            counters.cut += 1;
            return Fate::Drop;
        }
        // Send times never go backwards here, so the link cannot refuse the packet.
        match self.links[i].transmit(self.now).map(|a| a.first()) {
            Ok(Some(at)) => {
                counters.delayed += 1;
                Fate::DeliverAt(at)
            }
            Ok(None) | Err(_) => {
                counters.lost += 1;
                Fate::Drop
            }
        }
    }

    /// Counts so far.
    #[must_use]
    pub fn counters(&self) -> Counters {
        Counters {
            inbound: self.counters[0],
            outbound: self.counters[1],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn params() -> NetemParams {
        NetemParams {
            delay: 20 * MS,
            jitter: 3 * MS,
            loss: 0.02,
        }
    }

    /// 400 packets/s each way for `seconds`: (delays in ms, drops) of the inbound direction.
    fn run(impairment: &mut Impairment, start: Duration, seconds: u32) -> (Vec<f64>, u64) {
        let mut delays = Vec::new();
        let mut drops = 0;
        for k in 0..seconds * 400 {
            let now = start + Duration::from_micros(2500) * k;
            for direction in [Direction::Inbound, Direction::Outbound] {
                match impairment.packet(direction, now) {
                    Fate::DeliverAt(at) if direction == Direction::Inbound => {
                        delays.push((at - now).as_secs_f64() * 1e3);
                    }
                    Fate::DeliverAt(_) => {}
                    Fate::Drop => drops += u64::from(direction == Direction::Inbound),
                }
            }
        }
        (delays, drops)
    }

    #[test]
    fn delay_jitter_and_loss_match_the_netem_parameters() {
        let mut impairment = Impairment::new(params(), 7);
        let (delays, drops) = run(&mut impairment, Duration::ZERO, 60);
        let mean = delays.iter().sum::<f64>() / delays.len() as f64;
        let min = delays.iter().copied().fold(f64::MAX, f64::min);
        // Uniform 17–23 ms; the no-overtaking rule pushes some packets a little later.
        assert!(min >= 17.0, "min delay {min} ms");
        assert!((20.0..21.5).contains(&mean), "mean delay {mean} ms");
        let c = impairment.counters();
        assert_eq!(c.inbound.seen, 24_000);
        assert_eq!(c.inbound.lost, drops);
        assert_eq!(c.inbound.delayed + c.inbound.lost, c.inbound.seen);
        assert!((c.inbound.loss_ratio() - 0.02).abs() < 0.004, "{c}");
        assert!((c.outbound.loss_ratio() - 0.02).abs() < 0.004, "{c}");
    }

    #[test]
    fn the_same_seed_gives_the_same_fates_and_directions_differ() {
        let mut a = Impairment::new(params(), 3);
        let mut b = Impairment::new(params(), 3);
        assert_eq!(
            run(&mut a, Duration::ZERO, 5),
            run(&mut b, Duration::ZERO, 5)
        );
        let (c_in, c_out) = (a.counters().inbound, a.counters().outbound);
        assert_ne!((c_in.lost, c_in.delayed), (0, 0));
        assert_ne!(c_in, c_out, "each direction has its own random stream");
    }

    #[test]
    fn an_outage_drops_everything_and_then_the_link_recovers() {
        let mut impairment = Impairment::new(params(), 11);
        run(&mut impairment, Duration::ZERO, 2);
        impairment.set_outage(true);
        let (delays, drops) = run(&mut impairment, 2000 * MS, 3);
        assert!(delays.is_empty());
        assert_eq!(drops, 1200);
        impairment.set_outage(false);
        let (delays, _) = run(&mut impairment, 5000 * MS, 1);
        assert!(delays.len() > 350, "{} packets through after", delays.len());
        let c = impairment.counters().inbound;
        assert_eq!(c.cut, 1200);
        assert_eq!(c.seen, c.cut + c.lost + c.delayed);
        assert!(c.loss_ratio() < 0.05, "outage drops are not loss: {c:?}");
    }

    #[test]
    fn time_going_backwards_is_absorbed_and_counters_read_back_from_their_line() {
        let mut impairment = Impairment::new(
            NetemParams {
                loss: 0.0,
                ..params()
            },
            1,
        );
        assert!(matches!(
            impairment.packet(Direction::Outbound, 100 * MS),
            Fate::DeliverAt(at) if at >= 117 * MS
        ));
        assert!(matches!(
            impairment.packet(Direction::Outbound, 50 * MS),
            Fate::DeliverAt(at) if at >= 117 * MS
        ));
        assert_eq!(Direction::from_hook(1), Direction::Inbound);
        assert_eq!(Direction::from_hook(3), Direction::Outbound);
        let line = format!("netem-stats {} held=0", impairment.counters());
        assert_eq!(
            line,
            "netem-stats in_seen=0 in_lost=0 in_cut=0 in_delayed=0 out_seen=2 out_lost=0 \
             out_cut=0 out_delayed=2 held=0"
        );
        assert_eq!(Counters::from_fields(&line), Some(impairment.counters()));
        assert_eq!(Counters::from_fields("in_seen=1 in_lost=x"), None);
    }
}
