//! Counters of the relay, appended to `/metrics`. Atomics, because every message touches them
//! and the HTTP metrics' mutex would serialise the relay.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// The relay's gauges and counters.
#[derive(Debug, Default)]
pub struct SignalMetrics {
    connections: AtomicI64,
    peers: AtomicI64,
    joins: AtomicU64,
    resumes: AtomicU64,
    refused_joins: AtomicU64,
    relayed: AtomicU64,
    slow_consumers: AtomicU64,
    idle_timeouts: AtomicU64,
    bad_messages: AtomicU64,
}

/// Which counter to bump.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Count {
    Join,
    Resumed,
    RefusedJoin,
    Relayed,
    SlowConsumer,
    IdleTimeout,
    BadMessage,
}

impl SignalMetrics {
    pub(crate) fn count(&self, what: Count) {
        let counter = match what {
            Count::Join => &self.joins,
            Count::Resumed => &self.resumes,
            Count::RefusedJoin => &self.refused_joins,
            Count::Relayed => &self.relayed,
            Count::SlowConsumer => &self.slow_consumers,
            Count::IdleTimeout => &self.idle_timeouts,
            Count::BadMessage => &self.bad_messages,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn connection_opened(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn connection_closed(&self) {
        self.connections.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn peers_changed(&self, delta: i64) {
        self.peers.fetch_add(delta, Ordering::Relaxed);
    }

    /// Slow consumers disconnected so far.
    pub fn slow_consumers(&self) -> u64 {
        self.slow_consumers.load(Ordering::Relaxed)
    }

    /// The Prometheus text lines.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let gauges = [
            (
                "tutti_signal_connections",
                "Open signalling WebSockets.",
                self.connections.load(Ordering::Relaxed),
            ),
            (
                "tutti_signal_peers",
                "Peers joined to a room.",
                self.peers.load(Ordering::Relaxed),
            ),
        ];
        for (name, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        let counters = [
            ("tutti_signal_joins_total", "Successful joins.", &self.joins),
            (
                "tutti_signal_resumes_total",
                "Joins that took back a held seat (same peer id, resume token).",
                &self.resumes,
            ),
            (
                "tutti_signal_refused_joins_total",
                "Joins refused (auth, room, capacity, rate limit).",
                &self.refused_joins,
            ),
            (
                "tutti_signal_relayed_total",
                "Messages delivered to another peer (offer, answer, candidate, chat, presence).",
                &self.relayed,
            ),
            (
                "tutti_signal_slow_consumer_disconnects_total",
                "Clients disconnected because their send queue was full.",
                &self.slow_consumers,
            ),
            (
                "tutti_signal_idle_timeouts_total",
                "Clients disconnected for sending nothing within the idle timeout.",
                &self.idle_timeouts,
            ),
            (
                "tutti_signal_bad_messages_total",
                "Messages answered with malformed, too_large or unsupported_version.",
                &self.bad_messages,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Ordering::Relaxed)
            );
        }
        out
    }
}
