//! The plain records and enums that cross to Kotlin, Swift and Python: who joins, what happened
//! (events) and how it goes (statistics). Built from the core's types here and nowhere else.

use tutti_core::client::ClientStatistics as CoreClientStatistics;
use tutti_core::engine::LatencyTerms as CoreLatency;
use tutti_core::session::transport::LinkState as CoreLinkState;
use tutti_core::session::{
    Identity as CoreIdentity, PeerStatistics as CorePeerStatistics, SessionEvent as CoreEvent,
};

use crate::convert::{error_code, frame_us, ms};

/// Who joins a room.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum Identity {
    /// An access token from the server's `POST /api/v1/auth/login`.
    Token {
        /// The token.
        access_token: String,
    },
    /// Just a display name; the server must allow anonymous signalling.
    Anonymous {
        /// The name others see.
        display_name: String,
    },
}

impl From<Identity> for CoreIdentity {
    fn from(identity: Identity) -> Self {
        match identity {
            Identity::Token { access_token } => CoreIdentity::Token(access_token),
            Identity::Anonymous { display_name } => CoreIdentity::Anonymous(display_name),
        }
    }
}

/// The state of the WebRTC link to one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LinkState {
    /// Created, nothing negotiated yet.
    New,
    /// ICE/DTLS in progress.
    Connecting,
    /// Media and data flow.
    Connected,
    /// No traffic for a while; may recover (the session restarts ICE).
    Disconnected,
    /// Gave up; the session restarts ICE or drops the link.
    Failed,
    /// Closed locally or by the remote.
    Closed,
}

impl From<CoreLinkState> for LinkState {
    fn from(state: CoreLinkState) -> Self {
        match state {
            CoreLinkState::New => LinkState::New,
            CoreLinkState::Connecting => LinkState::Connecting,
            CoreLinkState::Connected => LinkState::Connected,
            CoreLinkState::Disconnected => LinkState::Disconnected,
            CoreLinkState::Failed => LinkState::Failed,
            CoreLinkState::Closed => LinkState::Closed,
            // A state added to the core later: not usable until this binding learns it.
            _ => LinkState::Disconnected,
        }
    }
}

/// Estimated one-way mouth-to-ear latency, term by term, in ms.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct LatencyTerms {
    /// One host block of capture.
    pub capture_block_ms: f64,
    /// The codec frame being filled.
    pub codec_frame_ms: f64,
    /// The encoder's lookahead.
    pub lookahead_ms: f64,
    /// Network one way, once clock sync has measured it.
    pub network_one_way_ms: Option<f64>,
    /// Jitter-buffer delay above the fastest path.
    pub buffer_ms: f64,
    /// Host-rate conversion (0 at 48 kHz).
    pub resampling_ms: f64,
    /// One host block of playback.
    pub playback_block_ms: f64,
    /// The sum of all terms.
    pub total_ms: f64,
}

impl From<CoreLatency> for LatencyTerms {
    fn from(l: CoreLatency) -> Self {
        LatencyTerms {
            capture_block_ms: ms(l.capture_block),
            codec_frame_ms: ms(l.codec_frame),
            lookahead_ms: ms(l.lookahead),
            network_one_way_ms: l.network_one_way.map(ms),
            buffer_ms: ms(l.buffer),
            resampling_ms: ms(l.resampling),
            playback_block_ms: ms(l.playback_block),
            total_ms: ms(l.total()),
        }
    }
}

/// One peer's statistics: network, jitter buffer, latency.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PeerStatistics {
    /// The peer's id in the room.
    pub peer_id: String,
    /// Its display name, if the room told us.
    pub display_name: Option<String>,
    /// Link state.
    pub state: LinkState,
    /// Negotiated frame in µs, once the offer/answer completed.
    pub frame_us: Option<u32>,
    /// Round-trip time from clock sync.
    pub rtt_ms: Option<f64>,
    /// The peer's clock minus ours, µs.
    pub clock_offset_us: Option<i64>,
    /// RTP packets received (duplicates included).
    pub packets_received: u64,
    /// RTP packets lost (expected minus received).
    pub packets_lost: u64,
    /// Lost share of expected packets (0..=1).
    pub loss: f64,
    /// RFC 3550 interarrival jitter.
    pub jitter_ms: f64,
    /// Codec frames decoded and played.
    pub frames_decoded: u64,
    /// Frames concealed (lost or late).
    pub frames_concealed: u64,
    /// Concealed share of played frames (0..=1).
    pub concealed: f64,
    /// Jitter-buffer delay above the fastest path.
    pub buffer_ms: f64,
    /// Mouth-to-ear terms, once the stream is in the engine.
    pub latency: Option<LatencyTerms>,
}

impl From<&CorePeerStatistics> for PeerStatistics {
    fn from(s: &CorePeerStatistics) -> Self {
        let jitter = s.engine.map(|e| e.jitter).unwrap_or_default();
        PeerStatistics {
            peer_id: s.peer.as_str().to_owned(),
            display_name: s.display_name.clone(),
            state: s.state.into(),
            frame_us: s.frame.map(frame_us),
            rtt_ms: s.rtt.map(ms),
            clock_offset_us: s.clock_offset_us,
            packets_received: s.receive.received,
            packets_lost: s.receive.lost,
            loss: s.receive.loss,
            jitter_ms: ms(s.receive.jitter),
            frames_decoded: jitter.frames_decoded,
            frames_concealed: jitter.frames_concealed,
            concealed: s.concealed,
            buffer_ms: ms(jitter.current_delay),
            latency: s.latency.map(Into::into),
        }
    }
}

/// A statistics snapshot of the whole client.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ClientStatistics {
    /// Blocks `process` has handled.
    pub blocks: u64,
    /// Captured frames lost because the network side fell behind.
    pub capture_overruns: u64,
    /// Events dropped because the listener was too slow.
    pub dropped_events: u64,
    /// This engine's own latency terms.
    pub local_latency: LatencyTerms,
    /// Every peer, as of the last `Stats` event.
    pub peers: Vec<PeerStatistics>,
}

impl From<CoreClientStatistics> for ClientStatistics {
    fn from(s: CoreClientStatistics) -> Self {
        ClientStatistics {
            blocks: s.blocks,
            capture_overruns: s.capture_overruns,
            dropped_events: s.dropped_events,
            local_latency: s.local_latency.into(),
            peers: s.peers.iter().map(Into::into).collect(),
        }
    }
}

/// Something that happened in the session, delivered in order to the
/// [`SessionListener`](super::SessionListener).
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum SessionEvent {
    /// The server accepted the join (again after each reconnect).
    Joined {
        /// Our id in the room.
        peer_id: String,
        /// Ids of the others present.
        peers: Vec<String>,
        /// `true` after a reconnect.
        rejoined: bool,
        /// `true` when a reconnect kept our peer id: the others noticed nothing and every
        /// media link stayed up. `false` on the first join and after a fresh rejoin (new id,
        /// links rebuilt).
        resumed: bool,
    },
    /// Someone entered the room.
    PeerJoined {
        /// Their id.
        peer_id: String,
        /// Their name.
        display_name: String,
    },
    /// Someone left; their audio stops.
    PeerLeft {
        /// Their id.
        peer_id: String,
    },
    /// The link to a peer changed state.
    PeerConnection {
        /// The peer.
        peer_id: String,
        /// Its new state.
        state: LinkState,
    },
    /// Offer/answer with a peer completed: its audio is in the mix.
    PeerMedia {
        /// The peer.
        peer_id: String,
        /// The frame both directions use, µs.
        frame_us: u32,
    },
    /// Statistics of every peer (every second by default).
    Stats {
        /// One entry per peer.
        peers: Vec<PeerStatistics>,
    },
    /// A chat line.
    Chat {
        /// Who wrote it.
        from: String,
        /// The text.
        text: String,
    },
    /// The signalling connection broke; audio keeps flowing, the session retries.
    SignallingLost {
        /// Why.
        reason: String,
        /// When the next attempt starts, ms.
        retry_in_ms: u64,
    },
    /// Something went wrong that the session survives.
    Error {
        /// The server's code when it reported the error, else empty.
        code: String,
        /// What happened.
        reason: String,
    },
    /// The session ended (after `leave`); no more events follow until the next join.
    Ended,
}

impl SessionEvent {
    /// The event for a core event; `None` for kinds this binding does not know yet.
    pub(crate) fn from_core(event: &CoreEvent) -> Option<Self> {
        let id = |p: &tutti_core::protocol::PeerId| p.as_str().to_owned();
        Some(match event {
            CoreEvent::Joined {
                peer_id,
                room,
                rejoined,
                resumed,
                ..
            } => SessionEvent::Joined {
                peer_id: id(peer_id),
                peers: room
                    .peers
                    .iter()
                    .filter(|p| &p.id != peer_id)
                    .map(|p| id(&p.id))
                    .collect(),
                rejoined: *rejoined,
                resumed: *resumed,
            },
            CoreEvent::PeerJoined(info) => SessionEvent::PeerJoined {
                peer_id: id(&info.id),
                display_name: info.display_name.clone(),
            },
            CoreEvent::PeerLeft(peer) => SessionEvent::PeerLeft { peer_id: id(peer) },
            CoreEvent::PeerConnection { peer, state } => SessionEvent::PeerConnection {
                peer_id: id(peer),
                state: (*state).into(),
            },
            CoreEvent::PeerMedia { peer, frame } => SessionEvent::PeerMedia {
                peer_id: id(peer),
                frame_us: frame_us(*frame),
            },
            CoreEvent::Stats(peers) => SessionEvent::Stats {
                peers: peers.iter().map(Into::into).collect(),
            },
            CoreEvent::Chat { from, text } => SessionEvent::Chat {
                from: id(from),
                text: text.clone(),
            },
            CoreEvent::SignallingLost { reason, retry_in } => SessionEvent::SignallingLost {
                reason: reason.clone(),
                retry_in_ms: u64::try_from(retry_in.as_millis()).unwrap_or(u64::MAX),
            },
            CoreEvent::Error(e) => SessionEvent::Error {
                code: match e {
                    tutti_core::session::SessionError::Server { code, .. }
                    | tutti_core::session::SessionError::Refused { code, .. } => error_code(*code),
                    _ => String::new(),
                },
                reason: e.to_string(),
            },
            CoreEvent::Ended => SessionEvent::Ended,
            _ => return None,
        })
    }
}
