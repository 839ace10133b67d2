//! Messages between two peers over their data channel. Today: clock synchronisation (see
//! [`crate::clock_sync`]); chat and control go through the server.

use serde::{Deserialize, Serialize};

use super::{ProtocolError, Validate, invalid};

/// Largest timestamp accepted: 2^53 − 1 µs (285 years), the largest integer a JavaScript peer
/// holds exactly.
const MAX_MICROS: u64 = (1 << 53) - 1;

/// A message on the peer-to-peer data channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PeerMessage {
    /// A clock-sync request.
    ClockPing(ClockPing),
    /// The reply to a [`ClockPing`].
    ClockPong(ClockPong),
}

/// A clock-sync request: the sender's clock when it was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockPing {
    /// t0: the requester's clock at sending, µs since its own epoch.
    pub t0_us: u64,
}

/// A clock-sync reply: the request's t0 echoed, and the responder's clock when the request
/// arrived (t1) and when the reply left (t2), µs since the responder's epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockPong {
    /// t0, copied from the ping.
    pub t0_us: u64,
    /// t1: responder's clock at reception.
    pub t1_us: u64,
    /// t2: responder's clock at sending the reply.
    pub t2_us: u64,
}

impl PeerMessage {
    /// The JSON text to send.
    pub fn encode(&self) -> String {
        super::encode(self)
    }

    /// Parses and checks a message from a peer. Never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
        super::decode(bytes)
    }
}

impl Validate for PeerMessage {
    fn validate(&self) -> Result<(), ProtocolError> {
        let (times, ordered) = match self {
            PeerMessage::ClockPing(p) => ([p.t0_us, 0, 0], true),
            PeerMessage::ClockPong(p) => ([p.t0_us, p.t1_us, p.t2_us], p.t2_us >= p.t1_us),
        };
        if times.iter().any(|&t| t > MAX_MICROS) {
            return Err(invalid("clock time", "exceeds 2^53 µs"));
        }
        if !ordered {
            return Err(invalid("clock pong", "t2 is before t1"));
        }
        Ok(())
    }
}
