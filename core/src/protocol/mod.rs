//! Versioned messages shared by clients and the server: signalling over the WebSocket
//! ([`ClientMessage`], [`ServerMessage`]) and peer-to-peer control over the data channel
//! ([`PeerMessage`]: clock synchronisation).
//!
//! # Wire format
//! One JSON object per message: a version field `"v"`, a `"type"` tag, then the fields of that
//! type, e.g. `{"v":1,"type":"chat","text":"ready?"}`. Unknown fields are ignored, so a minor
//! addition does not break older peers; a different `v` is refused with
//! [`ProtocolError::UnsupportedVersion`], which the server answers with
//! [`ErrorCode::UnsupportedVersion`].
//!
//! # Revisions
//! Within a version, revisions only add optional fields, so both sides keep talking across
//! them; [`PROTOCOL_REVISION`] is the newest this build speaks. A field's presence is the
//! feature flag: a peer learns that the other side supports something from seeing its field.
//! - 1: the first.
//! - 2: peer-id resume across a reconnect — `welcome.resume_token`, `welcome.resumed`,
//!   `join.resume` ([`Resume`]).
//!
//! # Untrusted input
//! Every `decode` function takes bytes straight from the network: it checks the size against
//! [`MAX_MESSAGE_BYTES`] first, never panics, and returns a [`ProtocolError`] that says what was
//! wrong. Decoded messages are also checked against the field limits below (lengths, allowed
//! characters, list sizes), so code behind `decode` can trust them. Encoding is infallible; a
//! message that breaks a limit is refused by the receiver, not the sender.
//!
//! ```
//! use tutti_core::protocol::{Auth, ClientKind, ClientMessage, FrameSize, Join, RoomId};
//!
//! let join = ClientMessage::Join(Join {
//!     room: RoomId::new("friday-band")?,
//!     auth: Auth::Anonymous { display_name: "Ada".into() },
//!     invite: None,
//!     client: ClientKind::Native,
//!     frame_sizes: vec![FrameSize::Ms2_5, FrameSize::Ms5],
//!     resume: None,
//! });
//! let text = join.encode();
//! assert!(text.starts_with(r#"{"v":1,"type":"join""#));
//! assert_eq!(ClientMessage::decode(text.as_bytes())?, join);
//! # Ok::<(), tutti_core::protocol::ProtocolError>(())
//! ```

mod peer;
mod signal;
#[cfg(test)]
mod tests;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use peer::{ClockPing, ClockPong, PeerMessage};
pub use signal::{
    Auth, ClientKind, ClientMessage, IceCandidate, IceServer, Join, PeerInfo, Resume, RoomState,
    ServerMessage, Welcome,
};

/// The protocol version this build speaks; the `"v"` of every message.
pub const PROTOCOL_VERSION: u32 = 1;

/// The newest revision of [`PROTOCOL_VERSION`] this build speaks (see the module docs). Not on
/// the wire: revisions are told apart by their optional fields.
pub const PROTOCOL_REVISION: u32 = 2;

/// Largest message accepted, in bytes: room for an SDP with many candidates, small enough that a
/// hostile peer cannot make anyone buffer much.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Longest room or peer id, in bytes.
pub const MAX_ID_BYTES: usize = 64;
/// Longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Longest access or invite token, in bytes (a JWT with a few claims fits easily).
pub const MAX_TOKEN_BYTES: usize = 4096;
/// Longest chat message, in characters.
pub const MAX_CHAT_CHARS: usize = 2000;
/// Longest ICE candidate line, in bytes.
pub const MAX_CANDIDATE_BYTES: usize = 1024;
/// Longest error message, in characters.
pub const MAX_ERROR_CHARS: usize = 1024;
/// Most peers listed in a room state.
pub const MAX_ROOM_PEERS: usize = 64;
/// Most ICE servers in a welcome, and most URLs per server.
pub const MAX_ICE_SERVERS: usize = 16;

/// Why a message could not be decoded. All variants are the sender's fault; map them to an
/// [`ErrorCode`] with [`ProtocolError::code`] to answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The message is larger than [`MAX_MESSAGE_BYTES`]; it was not parsed.
    #[error("message of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Size of the message.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The message carries a version this build does not speak.
    #[error("protocol version {got} is not supported (this side speaks {supported})")]
    UnsupportedVersion {
        /// The version in the message.
        got: u64,
        /// [`PROTOCOL_VERSION`].
        supported: u32,
    },
    /// Not JSON, no version, an unknown `type`, or a missing or mistyped field.
    #[error("malformed message: {0}")]
    Malformed(#[source] serde_json::Error),
    /// Well-formed, but a field breaks a documented limit.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The offending field.
        field: &'static str,
        /// Which limit it breaks.
        reason: &'static str,
    },
}

impl ProtocolError {
    /// The code to send back in [`ServerMessage::Error`].
    pub fn code(&self) -> ErrorCode {
        match self {
            ProtocolError::TooLarge { .. } => ErrorCode::TooLarge,
            ProtocolError::UnsupportedVersion { .. } => ErrorCode::UnsupportedVersion,
            ProtocolError::Malformed(_) | ProtocolError::Invalid { .. } => ErrorCode::Malformed,
        }
    }
}

/// Stable error codes of [`ServerMessage::Error`]; the strings on the wire never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The room is at capacity.
    RoomFull,
    /// The access token is missing, invalid or expired, or anonymous joins are off.
    Unauthorized,
    /// The invite token is invalid or expired.
    InvalidInvite,
    /// No such room, or a private one the client may not see (the two are not distinguished).
    RoomNotFound,
    /// The room was closed; it takes no more joins, and members are disconnected.
    RoomClosed,
    /// The request needs a joined room (offer, chat, …) and the client has not joined.
    NotInRoom,
    /// A second join on the same connection.
    AlreadyJoined,
    /// The addressed peer is not in the room.
    UnknownPeer,
    /// The message could not be parsed or breaks a field limit.
    Malformed,
    /// The message exceeds [`MAX_MESSAGE_BYTES`].
    TooLarge,
    /// The message's protocol version is not supported.
    UnsupportedVersion,
    /// The client sends too fast.
    RateLimited,
    /// No message (not even a ping) within the idle timeout; the server closes the connection.
    IdleTimeout,
    /// The server failed; not the client's fault.
    Internal,
    /// A code this build does not know (sent by a newer server).
    #[serde(other)]
    Unknown,
}

/// A room's id: 1..=64 bytes of ASCII letters, digits, `-`, `_` or `.`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RoomId(String);

/// A peer's id within a room, assigned by the server: same alphabet and length as [`RoomId`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PeerId(String);

macro_rules! id_type {
    ($name:ident, $field:literal) => {
        impl $name {
            /// Checks the id's length and alphabet.
            pub fn new(id: impl Into<String>) -> Result<Self, ProtocolError> {
                let id = Self(id.into());
                id.validate()?;
                Ok(id)
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            fn validate(&self) -> Result<(), ProtocolError> {
                check_id($field, &self.0)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(RoomId, "room id");
id_type!(PeerId, "peer id");

/// Codec frame durations a client can play, as microseconds on the wire (2500, 5000, 10000,
/// 20000). Native peers use 2.5 or 5 ms between themselves; browsers need 10 or 20 ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub enum FrameSize {
    /// 2.5 ms.
    Ms2_5,
    /// 5 ms.
    Ms5,
    /// 10 ms.
    Ms10,
    /// 20 ms.
    Ms20,
}

impl FrameSize {
    /// The duration in microseconds (the wire value).
    pub fn micros(self) -> u32 {
        match self {
            FrameSize::Ms2_5 => 2_500,
            FrameSize::Ms5 => 5_000,
            FrameSize::Ms10 => 10_000,
            FrameSize::Ms20 => 20_000,
        }
    }
}

impl From<FrameSize> for u32 {
    fn from(f: FrameSize) -> u32 {
        f.micros()
    }
}

impl TryFrom<u32> for FrameSize {
    type Error = &'static str;

    fn try_from(us: u32) -> Result<Self, Self::Error> {
        match us {
            2_500 => Ok(FrameSize::Ms2_5),
            5_000 => Ok(FrameSize::Ms5),
            10_000 => Ok(FrameSize::Ms10),
            20_000 => Ok(FrameSize::Ms20),
            _ => Err("frame size must be 2500, 5000, 10000 or 20000 µs"),
        }
    }
}

#[cfg(feature = "media")]
impl From<FrameSize> for crate::codec::FrameDuration {
    fn from(f: FrameSize) -> Self {
        use crate::codec::FrameDuration;
        match f {
            FrameSize::Ms2_5 => FrameDuration::Ms2_5,
            FrameSize::Ms5 => FrameDuration::Ms5,
            FrameSize::Ms10 => FrameDuration::Ms10,
            FrameSize::Ms20 => FrameDuration::Ms20,
        }
    }
}

/// A message type of this protocol: how to check its field limits after parsing.
trait Validate {
    fn validate(&self) -> Result<(), ProtocolError>;
}

/// The envelope's version, read before the body so a newer version gets a clear error rather
/// than a confusing "unknown field" one.
#[derive(Deserialize)]
struct VersionProbe {
    v: u64,
}

/// Serialises `body` (an internally tagged enum) with the version field in front.
fn encode<T: Serialize>(body: &T) -> String {
    #[derive(Serialize)]
    struct Envelope<'a, T> {
        v: u32,
        #[serde(flatten)]
        body: &'a T,
    }
    // Our message types are plain data with string keys: serialising them cannot fail.
    serde_json::to_string(&Envelope {
        v: PROTOCOL_VERSION,
        body,
    })
    .unwrap_or_default()
}

/// Size check, version check, parse, limit check — in that order, so the cheap checks guard the
/// expensive ones.
fn decode<T: DeserializeOwned + Validate>(bytes: &[u8]) -> Result<T, ProtocolError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(ProtocolError::TooLarge {
            len: bytes.len(),
            max: MAX_MESSAGE_BYTES,
        });
    }
    let probe: VersionProbe = serde_json::from_slice(bytes).map_err(ProtocolError::Malformed)?;
    if probe.v != u64::from(PROTOCOL_VERSION) {
        return Err(ProtocolError::UnsupportedVersion {
            got: probe.v,
            supported: PROTOCOL_VERSION,
        });
    }
    let message: T = serde_json::from_slice(bytes).map_err(ProtocolError::Malformed)?;
    message.validate()?;
    Ok(message)
}

fn invalid(field: &'static str, reason: &'static str) -> ProtocolError {
    ProtocolError::Invalid { field, reason }
}

fn check_id(field: &'static str, id: &str) -> Result<(), ProtocolError> {
    if id.is_empty() || id.len() > MAX_ID_BYTES {
        return Err(invalid(field, "must be 1..=64 bytes"));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(invalid(field, "allowed characters: A-Z a-z 0-9 - _ ."));
    }
    Ok(())
}

/// Human text (names, chat, error messages): bounded and free of control characters other than
/// newlines, so it can be shown as is.
fn check_text(
    field: &'static str,
    text: &str,
    max_chars: usize,
    empty_ok: bool,
) -> Result<(), ProtocolError> {
    if !empty_ok && text.trim().is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if text.chars().count() > max_chars {
        return Err(invalid(field, "too long"));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(invalid(field, "control characters are not allowed"));
    }
    Ok(())
}

/// Machine strings (tokens, SDP, candidates, URLs): bounded, and printable ASCII where asked.
fn check_bytes(
    field: &'static str,
    text: &str,
    max: usize,
    printable: bool,
) -> Result<(), ProtocolError> {
    if text.len() > max {
        return Err(invalid(field, "too long"));
    }
    if printable && !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid(field, "must be printable ASCII without spaces"));
    }
    Ok(())
}
