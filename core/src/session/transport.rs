//! The peer-link contract: what the session needs from a WebRTC stack, and nothing more.
//!
//! The engine talks to each remote musician through one [`PeerLink`] and drains its
//! [`LinkEvent`]s from a tokio channel. Everything here is plain data (SDP strings, candidate
//! strings, RTP fields), so the engine and the signalling protocol never name a type of the
//! WebRTC crate underneath, and another stack (str0m, a browser bridge) can be slotted in.
//!
//! # Contract
//! - **Negotiation is driven by the caller.** The link never starts an offer on its own; the
//!   session decides who offers (e.g. the peer that joined later) so there is no glare.
//!   Offerer: [`create_offer`](PeerLink::create_offer) → send → [`set_remote_description`]
//!   (answer). Answerer: [`set_remote_description`] (offer) →
//!   [`create_answer`](PeerLink::create_answer) → send. Both: forward every
//!   [`LinkEvent::LocalCandidate`] to the other side and feed theirs to
//!   [`add_remote_candidate`](PeerLink::add_remote_candidate) (trickle ICE).
//! - **Time.** Received packets carry the `Instant` at which the link took them off the stack;
//!   that is the arrival time the jitter buffer wants. The link reads the clock only there.
//! - **Back-pressure.** Control events wait for room in the event channel; RTP never does: when
//!   the consumer falls behind, packets are dropped and counted ([`PeerLink::dropped_rtp`]) —
//!   a late audio packet is worthless, and blocking would stall the WebRTC driver.
//!
//! [`set_remote_description`]: PeerLink::set_remote_description

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::codec::FrameDuration;

/// An SDP offer or answer, as carried by the signalling protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// Offer or answer.
    pub kind: SdpKind,
    /// The SDP text.
    pub sdp: String,
}

/// Which half of the offer/answer exchange a [`SessionDescription`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SdpKind {
    /// Sent by the side that starts a negotiation.
    Offer,
    /// The reply to an offer.
    Answer,
}

/// One trickled ICE candidate (RFC 8839 `candidate-attribute` plus its m-line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceCandidate {
    /// `candidate:…` attribute text.
    pub candidate: String,
    /// The `mid` of the m-section it belongs to, if known.
    pub sdp_mid: Option<String>,
    /// The index of the m-section it belongs to, if known.
    pub sdp_mline_index: Option<u16>,
}

/// A STUN or TURN server, as handed to clients by the server when they join.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IceServer {
    /// `stun:host:port` or `turn:host:port?transport=udp` URLs.
    pub urls: Vec<String>,
    /// TURN user name (for coturn's `use-auth-secret`: `expiry:user`); empty for STUN.
    pub username: String,
    /// TURN credential (for `use-auth-secret`: base64 HMAC-SHA1 of the user name); empty for STUN.
    pub credential: String,
}

/// ICE liveness timers: how fast a vanished peer is noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IceTimeouts {
    /// Silence after which the link reports [`LinkState::Disconnected`].
    pub disconnected: Duration,
    /// Further silence after which it reports [`LinkState::Failed`].
    pub failed: Duration,
    /// Keep-alive (consent) interval while the link is idle.
    pub keepalive: Duration,
    /// Pause between connectivity checks while connecting. Each candidate pair is still tried
    /// for ~1.4 s in all (the stack's default window), so a shorter interval only makes the
    /// first successful check come sooner.
    pub check_interval: Duration,
    /// How long ICE waits before settling on a pair with a peer-reflexive remote candidate (one
    /// learned from the remote's check rather than from signalling). With trickle ICE the
    /// remote's first check often beats its candidate through the signalling server, so the
    /// working pair *is* peer-reflexive; the stack's 1 s default then delays roughly one
    /// connect in five by a second.
    pub peer_reflexive_wait: Duration,
}

impl Default for IceTimeouts {
    /// The WebRTC stack's liveness defaults (5 s, 25 s, 2 s); checks every 50 ms instead of
    /// 200 ms and no peer-reflexive wait instead of 1 s: median loopback connect 54–104 ms
    /// instead of 408 ms with a ~1.2 s tail (`benches/README.md`).
    fn default() -> Self {
        Self {
            disconnected: Duration::from_secs(5),
            failed: Duration::from_secs(25),
            keepalive: Duration::from_secs(2),
            check_interval: Duration::from_millis(50),
            peer_reflexive_wait: Duration::ZERO,
        }
    }
}

/// Connection state of one link, as reported by [`LinkEvent::State`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LinkState {
    /// Created, nothing negotiated yet.
    New,
    /// ICE/DTLS in progress.
    Connecting,
    /// Media and data can flow.
    Connected,
    /// No traffic for the disconnected timeout; may recover (or after an ICE restart).
    Disconnected,
    /// Gave up; an ICE restart or a new link is needed.
    Failed,
    /// Closed locally or by the remote.
    Closed,
}

/// The two data channels every link carries (pre-negotiated, so no in-band handshake and no
/// extra round trip: both sides create them with fixed SCTP stream ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// Ordered and reliable: chat, control, anything that must arrive once and in order.
    Reliable,
    /// Unordered, no retransmission: clock-sync probes. A retransmitted or head-of-line-blocked
    /// probe would measure the retransmission timer, not the path; a lost one is simply
    /// replaced by the next. It shares the SCTP association with [`Channel::Reliable`], so it
    /// costs one stream id, no handshake.
    Unreliable,
}

/// One outgoing Opus RTP packet. Sequence number and timestamp are the caller's, so the sender's
/// packetizer drives the remote jitter buffer exactly (the link does not re-stamp them).
#[derive(Debug, Clone, Copy)]
pub struct RtpOut<'a> {
    /// RTP sequence number (+1 per packet, wrapping).
    pub sequence: u16,
    /// RTP timestamp at 48 kHz (+samples per frame).
    pub timestamp: u32,
    /// Marker bit: first packet after a silence (DTX) gap.
    pub marker: bool,
    /// The Opus (or RED) payload.
    pub payload: &'a [u8],
}

/// One received RTP packet with the time the link took it off the stack.
#[derive(Debug, Clone)]
pub struct RtpIn {
    /// RTP sequence number.
    pub sequence: u16,
    /// RTP timestamp (48 kHz).
    pub timestamp: u32,
    /// Marker bit.
    pub marker: bool,
    /// Payload type as sent.
    pub payload_type: u8,
    /// Sender's SSRC.
    pub ssrc: u32,
    /// Payload bytes.
    pub payload: Bytes,
    /// Local arrival time, for the jitter buffer.
    pub arrival: Instant,
}

/// What an offer/answer exchange settled, available once the remote description is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    /// Opus frame duration both directions use on this link (see [`super::sdp`]).
    pub frame: FrameDuration,
    /// Payload type for outgoing Opus packets.
    pub payload_type: u8,
    /// The remote asked for stereo (`stereo=1`); without it a browser down-mixes.
    pub remote_stereo: bool,
    /// The remote is a Tutti peer framing Opus in RFC 2198 RED (`a=x-tutti-red`); otherwise
    /// (a browser) both directions carry plain Opus at [`Self::frame`].
    pub remote_red: bool,
}

/// Everything a link reports, in order, through its event channel.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum LinkEvent {
    /// A local ICE candidate to send to the remote (trickle ICE).
    LocalCandidate(IceCandidate),
    /// Local candidate gathering finished (also after an ICE restart).
    GatheringComplete,
    /// The link's connection state changed.
    State(LinkState),
    /// A data channel became usable.
    ChannelOpen(Channel),
    /// A data-channel message arrived.
    Data {
        /// Which channel it came on.
        channel: Channel,
        /// Message bytes.
        data: Bytes,
    },
    /// An RTP packet arrived.
    Rtp(RtpIn),
}

/// Transport failures, split by who is at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// Caller: the operation needs a state the link is not in (e.g. sending RTP before the
    /// negotiation finished, an answer without a remote offer, a wrong description kind).
    #[error("not possible in the link's current state: {0}")]
    InvalidState(&'static str),
    /// Caller: a configuration value is unusable (bad ICE server URL, bind address).
    #[error("invalid link configuration: {0}")]
    InvalidConfig(String),
    /// Remote peer: its description cannot be parsed or applied.
    #[error("remote description rejected: {0}")]
    BadRemoteDescription(String),
    /// Remote peer: its description offers no Opus we can use.
    #[error("remote description has no usable Opus codec")]
    NoOpus,
    /// Remote peer: its ICE candidate cannot be parsed or applied.
    #[error("remote ICE candidate rejected: {0}")]
    BadRemoteCandidate(String),
    /// The link is closed (locally, by the remote, or its driver stopped).
    #[error("link closed")]
    Closed,
    /// Environment or stack: sockets, DTLS, SCTP or an internal WebRTC error.
    #[error("WebRTC stack error: {0}")]
    Stack(String),
}

/// One peer-to-peer media and data link. See the module docs for the call order.
///
/// Methods take `&self` so the link can be shared between the task that sends media and the one
/// that handles signalling.
#[async_trait::async_trait]
pub trait PeerLink: Send + Sync {
    /// Creates an offer, applies it locally and returns it for the remote. With `ice_restart`,
    /// the offer carries fresh ICE credentials and candidates are gathered again.
    async fn create_offer(&self, ice_restart: bool) -> Result<SessionDescription, TransportError>;

    /// ICE restart (after a network change, or on [`LinkState::Failed`]): the offer to send.
    /// Media keeps flowing on the old path until the new one is selected.
    async fn restart_ice(&self) -> Result<SessionDescription, TransportError> {
        self.create_offer(true).await
    }

    /// Creates the answer to the applied remote offer, applies it locally and returns it.
    async fn create_answer(&self) -> Result<SessionDescription, TransportError>;

    /// Applies the remote offer or answer and returns what this link sends with; both are
    /// settled by the remote description together with our own policy (see [`super::sdp`]).
    async fn set_remote_description(
        &self,
        desc: SessionDescription,
    ) -> Result<Negotiated, TransportError>;

    /// Adds one remote ICE candidate (after the remote description).
    async fn add_remote_candidate(&self, candidate: IceCandidate) -> Result<(), TransportError>;

    /// Sends one Opus RTP packet.
    async fn send_rtp(&self, packet: RtpOut<'_>) -> Result<(), TransportError>;

    /// Sends one data-channel message.
    async fn send_data(&self, channel: Channel, data: &[u8]) -> Result<(), TransportError>;

    /// The negotiated parameters, once the offer/answer exchange completed.
    fn negotiated(&self) -> Option<Negotiated>;

    /// RTP packets dropped because the event channel was full.
    fn dropped_rtp(&self) -> u64;

    /// Closes the link; a final [`LinkState::Closed`] event follows. Idempotent.
    async fn close(&self) -> Result<(), TransportError>;
}
