//! What a session reports to its host, in order, through one channel.

use std::time::Duration;

use crate::codec::FrameDuration;
use crate::engine::{LatencyTerms, PeerStats};
use crate::protocol::{PeerId, PeerInfo, RoomState};

use super::error::SessionError;
use super::receive_stats::ReceiveSnapshot;
use super::transport::LinkState;

/// One thing that happened in the session.
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionEvent {
    /// The server accepted the join (first time, and again after each reconnect).
    Joined {
        /// Our id in the room.
        peer_id: PeerId,
        /// The room as the server sees it (we included).
        room: RoomState,
        /// `true` after a reconnect.
        rejoined: bool,
        /// `true` when a reconnect kept our peer id (protocol revision 2): the others saw no
        /// leave or join, and every media link stayed as it was. `false` after a fresh rejoin
        /// (new id: links are rebuilt) and on the first join.
        resumed: bool,
    },
    /// Someone entered the room (they will send us an offer).
    PeerJoined(PeerInfo),
    /// Someone left the room or lost their signalling connection; their audio stops.
    PeerLeft(PeerId),
    /// A peer link changed state.
    PeerConnection {
        /// The peer.
        peer: PeerId,
        /// Its new state.
        state: LinkState,
    },
    /// The offer/answer with a peer completed: its stream is added to the engine.
    PeerMedia {
        /// The peer.
        peer: PeerId,
        /// The frame duration both directions use.
        frame: FrameDuration,
    },
    /// Statistics of every peer, every [`SessionConfig::stats_interval`](super::SessionConfig).
    Stats(Vec<PeerStatistics>),
    /// A chat line.
    Chat {
        /// Who wrote it.
        from: PeerId,
        /// The text.
        text: String,
    },
    /// The signalling connection broke; media links stay up meanwhile. The session retries.
    SignallingLost {
        /// Why.
        reason: String,
        /// When the next attempt starts.
        retry_in: Duration,
    },
    /// Something went wrong that the session survives (see [`SessionError`]).
    Error(SessionError),
    /// The session task ended (after `leave`); no more events follow.
    Ended,
}

/// One peer's statistics (issue item 6): network, jitter buffer, and the mouth-to-ear terms.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerStatistics {
    /// The peer.
    pub peer: PeerId,
    /// Its display name, if the room told us.
    pub display_name: Option<String>,
    /// Link state.
    pub state: LinkState,
    /// Negotiated frame duration, once the offer/answer completed.
    pub frame: Option<FrameDuration>,
    /// Round-trip time from clock sync (the fastest recent probe).
    pub rtt: Option<Duration>,
    /// Network one way (half the round trip).
    pub one_way: Option<Duration>,
    /// The peer's clock minus ours, µs.
    pub clock_offset_us: Option<i64>,
    /// Packets received, expected, lost; loss ratio; interarrival jitter.
    pub receive: ReceiveSnapshot,
    /// RTP packets the link dropped because the session fell behind.
    pub dropped_rtp: u64,
    /// The engine's statistics of this stream (jitter buffer delay, concealment, decode
    /// errors), once the audio thread has adopted it.
    pub engine: Option<PeerStats>,
    /// Concealed share of played frames (0..=1).
    pub concealed: f64,
    /// Mouth-to-ear latency terms with `network_one_way` filled from clock sync.
    pub latency: Option<LatencyTerms>,
}
