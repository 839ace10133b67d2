//! Signalling between a client and the server (WebSocket): joining a room, presence, relaying
//! SDP and ICE candidates between two peers, chat, heartbeats and errors.
//!
//! The server only relays `offer`/`answer`/`candidate`: a client addresses a peer with `to`, and
//! the server delivers the same content to that peer with `from` set to the sender, in order.

use serde::{Deserialize, Serialize};

use super::{
    ErrorCode, FrameSize, MAX_CANDIDATE_BYTES, MAX_CHAT_CHARS, MAX_ERROR_CHARS, MAX_ICE_SERVERS,
    MAX_MESSAGE_BYTES, MAX_NAME_CHARS, MAX_ROOM_PEERS, MAX_TOKEN_BYTES, PeerId, ProtocolError,
    RoomId, Validate, check_bytes, check_text, invalid,
};

/// Longest ICE server URL, in bytes.
const MAX_URL_BYTES: usize = 512;
/// Longest ICE username or credential, in bytes.
const MAX_CREDENTIAL_BYTES: usize = 512;

/// Messages a client sends to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClientMessage {
    /// Enter a room; answered by [`ServerMessage::Welcome`] or [`ServerMessage::Error`].
    Join(Join),
    /// Leave the room (closing the connection does the same).
    Leave,
    /// An SDP offer for peer `to`.
    Offer {
        /// The addressed peer.
        to: PeerId,
        /// The session description.
        sdp: String,
    },
    /// An SDP answer for peer `to`.
    Answer {
        /// The addressed peer.
        to: PeerId,
        /// The session description.
        sdp: String,
    },
    /// A trickled ICE candidate for peer `to`; `null` means end of candidates.
    Candidate {
        /// The addressed peer.
        to: PeerId,
        /// The candidate, or `None` once gathering is complete.
        candidate: Option<IceCandidate>,
    },
    /// A chat line to everyone in the room.
    Chat {
        /// The text (1..=2000 characters, no control characters but newlines).
        text: String,
    },
    /// Heartbeat; answered by [`ServerMessage::Pong`] with the same nonce.
    Ping {
        /// Echoed back, to match replies and measure the round trip.
        nonce: u32,
    },
}

/// The content of a join request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Join {
    /// The room to enter.
    pub room: RoomId,
    /// Who the client is.
    pub auth: Auth,
    /// An invite token for private rooms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite: Option<String>,
    /// Native or browser, which decides the frame sizes peers can agree on.
    pub client: ClientKind,
    /// Codec frame sizes this client can send and play, in order of preference.
    pub frame_sizes: Vec<FrameSize>,
    /// Take back a seat this client held on a connection that dropped (revision 2). See
    /// [`Resume`]; servers of revision 1 ignore it and seat the client afresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<Resume>,
}

/// A request to keep one's peer id across a reconnect: the id and the resume token from the
/// last [`Welcome`] (revision 2).
///
/// The server hands the same peer id back, without `peer_left`/`peer_joined` for the others,
/// when the token matches that peer's seat in the joined room, the join is by the same account
/// (or anonymous again for an anonymous seat), and the seat is still held: its old connection
/// is open (it is replaced and closed at once) or dropped less than the server's grace period
/// ago. Anything else — wrong or expired token, another room or account, a restarted server —
/// is not an error: the join proceeds as a fresh one with a new id, and [`Welcome::resumed`]
/// says which happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    /// The id held before the reconnect.
    pub peer_id: PeerId,
    /// [`Welcome::resume_token`] of that seat.
    pub token: String,
}

/// How a client proves who it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Auth {
    /// An access token issued by the accounts service.
    Token {
        /// The bearer token.
        access_token: String,
    },
    /// No account: just a name to show (servers may refuse with `unauthorized`).
    Anonymous {
        /// The name others see.
        display_name: String,
    },
}

/// What kind of client a peer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClientKind {
    /// A native client (desktop app, plug-in, mobile app): 2.5 or 5 ms frames possible.
    Native,
    /// A web browser: 10 or 20 ms frames.
    Browser,
}

/// An ICE candidate, with the field names of the browser's `RTCIceCandidateInit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceCandidate {
    /// The `candidate:` line.
    pub candidate: String,
    /// Media stream identification tag.
    #[serde(rename = "sdpMid", default, skip_serializing_if = "Option::is_none")]
    pub sdp_mid: Option<String>,
    /// Index of the media description.
    #[serde(
        rename = "sdpMLineIndex",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sdp_m_line_index: Option<u16>,
    /// ICE username fragment.
    #[serde(
        rename = "usernameFragment",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub username_fragment: Option<String>,
}

/// Messages the server sends to a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ServerMessage {
    /// The join succeeded.
    Welcome(Welcome),
    /// Someone entered the room; the newcomer is the one who sends offers to those present.
    PeerJoined {
        /// Who.
        peer: PeerInfo,
    },
    /// Someone left or was disconnected.
    PeerLeft {
        /// Who.
        peer_id: PeerId,
    },
    /// An SDP offer from peer `from`.
    Offer {
        /// The sending peer.
        from: PeerId,
        /// The session description.
        sdp: String,
    },
    /// An SDP answer from peer `from`.
    Answer {
        /// The sending peer.
        from: PeerId,
        /// The session description.
        sdp: String,
    },
    /// A trickled ICE candidate from peer `from`; `null` means end of candidates.
    Candidate {
        /// The sending peer.
        from: PeerId,
        /// The candidate, or `None` once the sender's gathering is complete.
        candidate: Option<IceCandidate>,
    },
    /// A chat line from peer `from`.
    Chat {
        /// The sending peer.
        from: PeerId,
        /// The text.
        text: String,
    },
    /// Reply to [`ClientMessage::Ping`].
    Pong {
        /// The ping's nonce.
        nonce: u32,
    },
    /// A request failed; the connection stays open unless the code says otherwise.
    Error {
        /// Stable machine-readable code.
        code: ErrorCode,
        /// Human-readable detail.
        message: String,
    },
}

/// The content of a successful join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The id the server gave this client.
    pub peer_id: PeerId,
    /// The room as it is now (the client itself included).
    pub room: RoomState,
    /// STUN and TURN servers to use for the peer connections.
    pub ice_servers: Vec<IceServer>,
    /// How often to send [`ClientMessage::Ping`]; the server closes idle connections after a
    /// few missed intervals.
    pub heartbeat_interval_ms: u32,
    /// A secret that lets this client take its seat back after a dropped connection
    /// ([`Join::resume`]); absent from servers that cannot (revision 1). It stays the same for
    /// the seat's lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_token: Option<String>,
    /// `true` when this welcome answers a [`Join::resume`] that the server honoured: same peer
    /// id, the others saw no leave or join, and messages addressed to this peer while it was
    /// away were held and follow this welcome.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resumed: bool,
}

/// A room's presence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomState {
    /// Its id.
    pub room: RoomId,
    /// Most peers allowed at once.
    pub capacity: u32,
    /// Who is present.
    pub peers: Vec<PeerInfo>,
}

/// One peer in a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerInfo {
    /// Its id.
    pub id: PeerId,
    /// The name to show.
    pub display_name: String,
    /// Native or browser.
    pub client: ClientKind,
    /// Frame sizes it supports, in order of preference.
    pub frame_sizes: Vec<FrameSize>,
}

/// A STUN or TURN server, as the browser's `RTCIceServer` has it. TURN entries carry short-lived
/// credentials (coturn's `use-auth-secret` scheme).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    /// `stun:` / `turn:` / `turns:` URLs.
    pub urls: Vec<String>,
    /// TURN username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TURN credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

impl ClientMessage {
    /// The JSON text to send.
    pub fn encode(&self) -> String {
        super::encode(self)
    }

    /// Parses and checks a message from a client (server side). Never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
        super::decode(bytes)
    }
}

impl ServerMessage {
    /// The JSON text to send.
    pub fn encode(&self) -> String {
        super::encode(self)
    }

    /// Parses and checks a message from the server (client side). Never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
        super::decode(bytes)
    }

    /// An error reply; the message is cut to the allowed length and stripped of control
    /// characters so the reply always passes the receiver's checks.
    pub fn error(code: ErrorCode, message: &str) -> Self {
        let message = message
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_ERROR_CHARS)
            .collect();
        ServerMessage::Error { code, message }
    }

    /// The reply to a message that failed to decode.
    pub fn decode_error(error: &ProtocolError) -> Self {
        Self::error(error.code(), &error.to_string())
    }
}

impl Validate for ClientMessage {
    fn validate(&self) -> Result<(), ProtocolError> {
        match self {
            ClientMessage::Join(join) => join.validate(),
            ClientMessage::Leave | ClientMessage::Ping { .. } => Ok(()),
            ClientMessage::Offer { to, sdp } | ClientMessage::Answer { to, sdp } => {
                to.validate()?;
                check_sdp(sdp)
            }
            ClientMessage::Candidate { to, candidate } => {
                to.validate()?;
                candidate.as_ref().map_or(Ok(()), IceCandidate::validate)
            }
            ClientMessage::Chat { text } => check_text("chat text", text, MAX_CHAT_CHARS, false),
        }
    }
}

impl Validate for ServerMessage {
    fn validate(&self) -> Result<(), ProtocolError> {
        match self {
            ServerMessage::Welcome(welcome) => welcome.validate(),
            ServerMessage::PeerJoined { peer } => peer.validate(),
            ServerMessage::PeerLeft { peer_id } => peer_id.validate(),
            ServerMessage::Offer { from, sdp } | ServerMessage::Answer { from, sdp } => {
                from.validate()?;
                check_sdp(sdp)
            }
            ServerMessage::Candidate { from, candidate } => {
                from.validate()?;
                candidate.as_ref().map_or(Ok(()), IceCandidate::validate)
            }
            ServerMessage::Chat { from, text } => {
                from.validate()?;
                check_text("chat text", text, MAX_CHAT_CHARS, false)
            }
            ServerMessage::Pong { .. } => Ok(()),
            ServerMessage::Error { message, .. } => {
                check_text("error message", message, MAX_ERROR_CHARS, true)
            }
        }
    }
}

impl Join {
    fn validate(&self) -> Result<(), ProtocolError> {
        self.room.validate()?;
        match &self.auth {
            Auth::Token { access_token } => {
                check_token("access token", access_token)?;
            }
            Auth::Anonymous { display_name } => check_name(display_name)?,
        }
        if let Some(invite) = &self.invite {
            check_token("invite", invite)?;
        }
        if let Some(resume) = &self.resume {
            resume.peer_id.validate()?;
            check_token("resume token", &resume.token)?;
        }
        check_frame_sizes(&self.frame_sizes)
    }
}

impl PeerInfo {
    fn validate(&self) -> Result<(), ProtocolError> {
        self.id.validate()?;
        check_name(&self.display_name)?;
        check_frame_sizes(&self.frame_sizes)
    }
}

impl Welcome {
    fn validate(&self) -> Result<(), ProtocolError> {
        self.peer_id.validate()?;
        if let Some(token) = &self.resume_token {
            check_token("resume token", token)?;
        }
        self.room.room.validate()?;
        if self.room.peers.len() > MAX_ROOM_PEERS {
            return Err(invalid("room peers", "too many"));
        }
        self.room.peers.iter().try_for_each(PeerInfo::validate)?;
        if self.ice_servers.len() > MAX_ICE_SERVERS {
            return Err(invalid("ice servers", "too many"));
        }
        for server in &self.ice_servers {
            if server.urls.is_empty() || server.urls.len() > MAX_ICE_SERVERS {
                return Err(invalid("ice server urls", "must list 1..=16 URLs"));
            }
            for url in &server.urls {
                check_bytes("ice server url", url, MAX_URL_BYTES, true)?;
            }
            for secret in [&server.username, &server.credential].into_iter().flatten() {
                check_bytes("ice server credential", secret, MAX_CREDENTIAL_BYTES, true)?;
            }
        }
        Ok(())
    }
}

impl IceCandidate {
    fn validate(&self) -> Result<(), ProtocolError> {
        check_bytes("candidate", &self.candidate, MAX_CANDIDATE_BYTES, false)?;
        check_no_control("candidate", &self.candidate)?;
        for s in [&self.sdp_mid, &self.username_fragment]
            .into_iter()
            .flatten()
        {
            check_bytes("candidate field", s, MAX_CANDIDATE_BYTES, true)?;
        }
        Ok(())
    }
}

fn check_name(name: &str) -> Result<(), ProtocolError> {
    check_text("display name", name, MAX_NAME_CHARS, false)
}

fn check_token(field: &'static str, token: &str) -> Result<(), ProtocolError> {
    if token.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    check_bytes(field, token, MAX_TOKEN_BYTES, true)
}

fn check_sdp(sdp: &str) -> Result<(), ProtocolError> {
    if sdp.is_empty() {
        return Err(invalid("sdp", "must not be empty"));
    }
    // SDP lines end in CRLF; anything else below 0x20 has no business there.
    if sdp
        .bytes()
        .any(|b| b.is_ascii_control() && !matches!(b, b'\r' | b'\n'))
    {
        return Err(invalid("sdp", "control characters are not allowed"));
    }
    check_bytes("sdp", sdp, MAX_MESSAGE_BYTES, false)
}

fn check_no_control(field: &'static str, s: &str) -> Result<(), ProtocolError> {
    if s.chars().any(char::is_control) {
        return Err(invalid(field, "control characters are not allowed"));
    }
    Ok(())
}

fn check_frame_sizes(sizes: &[FrameSize]) -> Result<(), ProtocolError> {
    if sizes.is_empty() || sizes.len() > 4 {
        return Err(invalid("frame sizes", "must list 1..=4 sizes"));
    }
    Ok(())
}
