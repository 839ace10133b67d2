//! Reference target-delay rules, written from their published descriptions, run on the very same
//! jitter-buffer mechanics as Tutti's policy so the evaluation compares rules and nothing else.
//!
//! These are models of the *rules*, not ports of the products' code.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use tutti_core::jitter::DelayPolicy;

/// "95th percentile of relative delay over the last 2 s" — the shape of WebRTC NetEq's target
/// (relative delay = a packet's delay above the fastest packet in the window).
#[derive(Debug)]
pub struct NetEqLike {
    window: VecDeque<(Instant, Duration)>,
    sorted: Vec<Duration>,
    cached: Duration,
    since: u32,
}

impl NetEqLike {
    /// Window length of the rule.
    pub const WINDOW: Duration = Duration::from_secs(2);

    /// A fresh rule (pre-sized for 2 s of 2.5 ms frames).
    pub fn new() -> Self {
        Self {
            window: VecDeque::with_capacity(2048),
            sorted: Vec::with_capacity(2048),
            cached: Duration::ZERO,
            since: 0,
        }
    }
}

impl Default for NetEqLike {
    fn default() -> Self {
        Self::new()
    }
}

impl DelayPolicy for NetEqLike {
    fn on_arrival(&mut self, now: Instant, relative_delay: Duration) {
        self.window.push_back((now, relative_delay));
        while let Some(&(t, _)) = self.window.front() {
            if now.saturating_duration_since(t) > Self::WINDOW {
                self.window.pop_front();
            } else {
                break;
            }
        }
        self.since += 1;
    }

    fn target(&mut self, _now: Instant) -> Duration {
        if self.since >= 8 && !self.window.is_empty() {
            self.sorted.clear();
            self.sorted.extend(self.window.iter().map(|&(_, d)| d));
            self.sorted.sort_unstable();
            let min = self.sorted[0];
            let idx =
                ((self.sorted.len() as f64 * 0.95).ceil() as usize).clamp(1, self.sorted.len()) - 1;
            self.cached = self.sorted[idx] - min;
            self.since = 0;
        }
        self.cached
    }

    fn reset(&mut self) {
        *self = Self::new();
    }
}

/// "The smallest buffer with at most 0.05% errors over the last 15 s" — the shape of Jamulus's
/// auto jitter buffer, which simulates several buffer sizes at once and picks the smallest good
/// one. Buffer sizes are whole frames (blocks).
#[derive(Debug)]
pub struct JamulusLike {
    frame: Duration,
    /// Per 1-s bucket: (second, arrivals, errors per candidate size 1..=MAX_BLOCKS).
    buckets: VecDeque<(u64, u64, [u64; Self::MAX_BLOCKS])>,
    epoch: Option<Instant>,
    current: usize,
}

impl JamulusLike {
    /// Largest buffer considered, in frames.
    pub const MAX_BLOCKS: usize = 32;
    /// Error rate the rule accepts.
    pub const MAX_ERROR_RATE: f64 = 0.0005;
    /// History the rule judges by.
    pub const HISTORY_SECS: u64 = 15;

    /// A fresh rule for frames of `frame` duration, starting at 2 frames.
    pub fn new(frame: Duration) -> Self {
        Self {
            frame,
            buckets: VecDeque::with_capacity(Self::HISTORY_SECS as usize + 1),
            epoch: None,
            current: 2,
        }
    }
}

impl DelayPolicy for JamulusLike {
    fn on_arrival(&mut self, now: Instant, relative_delay: Duration) {
        let epoch = *self.epoch.get_or_insert(now);
        let second = now.saturating_duration_since(epoch).as_secs();
        if self.buckets.back().is_none_or(|b| b.0 != second) {
            self.buckets.push_back((second, 0, [0; Self::MAX_BLOCKS]));
            while self.buckets.len() > Self::HISTORY_SECS as usize {
                self.buckets.pop_front();
            }
            // Re-decide once a second, as the simulated buffers' statistics mature.
            let total: u64 = self.buckets.iter().map(|b| b.1).sum();
            if total > 0 {
                self.current = (1..=Self::MAX_BLOCKS)
                    .find(|&k| {
                        let errors: u64 = self.buckets.iter().map(|b| b.2[k - 1]).sum();
                        errors as f64 <= Self::MAX_ERROR_RATE * total as f64
                    })
                    .unwrap_or(Self::MAX_BLOCKS);
            }
        }
        if let Some(bucket) = self.buckets.back_mut() {
            bucket.1 += 1;
            for k in 1..=Self::MAX_BLOCKS {
                if relative_delay > self.frame * k as u32 {
                    bucket.2[k - 1] += 1;
                }
            }
        }
    }

    fn target(&mut self, _now: Instant) -> Duration {
        self.frame * self.current as u32
    }

    fn reset(&mut self) {
        *self = Self::new(self.frame);
    }
}

/// "Grow one block when drops exceed 0.5/s; shrink one after 10 s without drops" — the shape of
/// SonoBus's automatic jitter buffer. A drop is an underrun (the due frame missing with nothing
/// after it).
#[derive(Debug)]
pub struct SonoBusLike {
    frame: Duration,
    blocks: u32,
    drops: VecDeque<Instant>,
    last_change: Option<Instant>,
    last_drop: Option<Instant>,
}

impl SonoBusLike {
    /// Drop rate above which the buffer grows.
    pub const GROW_RATE: f64 = 0.5;
    /// Drop-free time after which it shrinks.
    pub const SHRINK_AFTER: Duration = Duration::from_secs(10);

    /// A fresh rule for frames of `frame` duration, starting at 1 block.
    pub fn new(frame: Duration) -> Self {
        Self {
            frame,
            blocks: 1,
            drops: VecDeque::with_capacity(64),
            last_change: None,
            last_drop: None,
        }
    }
}

impl DelayPolicy for SonoBusLike {
    fn on_arrival(&mut self, _now: Instant, _relative_delay: Duration) {}

    fn on_underrun(&mut self, now: Instant) {
        self.last_drop = Some(now);
        self.drops.push_back(now);
        while let Some(&t) = self.drops.front() {
            if now.saturating_duration_since(t) > Duration::from_secs(2) {
                self.drops.pop_front();
            } else {
                break;
            }
        }
        // More than 0.5 drops per second over the last 2 s (and not right after a change).
        let settled = self
            .last_change
            .is_none_or(|t| now.saturating_duration_since(t) > Duration::from_secs(1));
        if self.drops.len() as f64 > Self::GROW_RATE * 2.0 && settled {
            self.blocks += 1;
            self.drops.clear();
            self.last_change = Some(now);
        }
    }

    fn target(&mut self, now: Instant) -> Duration {
        let quiet_since = match (self.last_drop, self.last_change) {
            (Some(d), Some(c)) => Some(d.max(c)),
            (d, c) => d.or(c),
        };
        match quiet_since {
            Some(t) if now.saturating_duration_since(t) > Self::SHRINK_AFTER && self.blocks > 1 => {
                self.blocks -= 1;
                self.last_change = Some(now);
            }
            None => self.last_change = Some(now),
            _ => {}
        }
        self.frame * self.blocks
    }

    fn reset(&mut self) {
        *self = Self::new(self.frame);
    }
}
