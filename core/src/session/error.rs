//! What can go wrong in a session, split by who is at fault.

use crate::engine::EngineError;
use crate::protocol::{ErrorCode, PeerId, ProtocolError};

use super::transport::TransportError;

/// A session failure. [`Session::join`](super::Session::join) returns it when the join cannot
/// happen at all; once joined, the session reports it in [`SessionEvent::Error`] and keeps running.
///
/// [`SessionEvent::Error`]: super::SessionEvent::Error
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// Caller: the server URL is not `http://`, `ws://` (or their TLS forms) with a host.
    #[error("invalid server URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Caller: an argument breaks a protocol limit (display name, token, chat text).
    #[error("invalid argument: {0}")]
    InvalidArgument(#[source] ProtocolError),
    /// Caller: no peer with this id is in the session (it left, or never joined).
    #[error("unknown peer {0}")]
    UnknownPeer(PeerId),
    /// Caller or server policy: the server refused the join (bad token, room full or closed,
    /// invite needed, rate limited). `code` says which.
    #[error("the server refused the join ({code:?}): {message}")]
    Refused {
        /// The server's error code.
        code: ErrorCode,
        /// Its explanation.
        message: String,
    },
    /// Server: it sent a message that is not valid protocol (logged; the session goes on).
    #[error("malformed message from the server: {0}")]
    ServerProtocol(#[source] ProtocolError),
    /// Server: it reported an error about one of our requests (logged; the session goes on).
    #[error("the server reported {code:?}: {message}")]
    Server {
        /// The server's error code.
        code: ErrorCode,
        /// Its explanation.
        message: String,
    },
    /// Remote peer: its message on the data channel is not valid protocol.
    #[error("malformed message from peer {peer}: {source}")]
    PeerProtocol {
        /// The peer.
        peer: PeerId,
        /// What was wrong.
        source: ProtocolError,
    },
    /// Remote peer or network: negotiating or using the link to one peer failed. That peer's
    /// link is dropped (or restarted); the others go on.
    #[error("link to peer {peer}: {source}")]
    Link {
        /// The peer.
        peer: PeerId,
        /// The transport's error.
        source: TransportError,
    },
    /// Remote peer: a Tutti peer negotiated a frame duration our native encoder does not send.
    /// All native musicians of a room must pick the same frame (`--frame-ms`); browsers get a
    /// plain-Opus stream at their own frame and never cause this.
    #[error("peer {peer} negotiated {negotiated_us} µs frames, our encoder sends {ours_us} µs")]
    FrameMismatch {
        /// The peer.
        peer: PeerId,
        /// The frame the SDP exchange settled.
        negotiated_us: u32,
        /// Our encoder's frame.
        ours_us: u32,
    },
    /// Environment: the signalling server cannot be reached, or the connection broke.
    #[error("signalling connection: {0}")]
    Signalling(String),
    /// Caller's environment: the host's [`TokenSource`](super::config::TokenSource) could not
    /// give an access token (a rejoin is retried later).
    #[error("no access token: {0}")]
    TokenSource(String),
    /// Environment: the server did not answer the join in time.
    #[error("the server did not answer the join in time")]
    Timeout,
    /// Environment: the engine refused a peer (all slots taken, audio thread not running).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The session task has ended (after `leave`, or it stopped unexpectedly).
    #[error("the session has ended")]
    Ended,
}
