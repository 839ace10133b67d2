//! The one error type of the uniffi surface: each variant becomes an exception subclass
//! (`TuttiException.Refused` in Kotlin, `TuttiError.Refused` in Python, `TuttiError.refused` in
//! Swift). Split like the core's errors: the caller's mistakes, the server's refusals, the
//! environment's failures.

use tutti_core::client::ClientError;
use tutti_core::session::SessionError;

use crate::convert::{InvalidSetting, error_code};

/// Why a call failed. Fields are named `reason`/`detail`, never `message`, which Kotlin's
/// `Throwable` already owns.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[non_exhaustive]
pub enum TuttiError {
    /// Caller: an argument or setting is out of range (bad URL, room id, peer id, channel
    /// count, buffer length …).
    #[error("invalid argument: {reason}")]
    InvalidArgument {
        /// What is wrong.
        reason: String,
    },
    /// Caller: the call needs a joined room, or `join` was called while joined.
    #[error("wrong state: {reason}")]
    WrongState {
        /// What the client is doing.
        reason: String,
    },
    /// Server policy: it refused the join; `code` is the server's stable code (`room_full`,
    /// `unauthorized`, `room_not_found`, `invalid_invite`, `room_closed`, `rate_limited`, …).
    #[error("the server refused the join ({code}): {detail}")]
    Refused {
        /// The server's error code.
        code: String,
        /// Its explanation.
        detail: String,
    },
    /// Environment: the server cannot be reached, did not answer in time, or the network
    /// failed.
    #[error("network: {reason}")]
    Network {
        /// What failed.
        reason: String,
    },
    /// Anything else the core reported (engine, codec, a link); the text says what.
    #[error("{reason}")]
    Internal {
        /// What failed.
        reason: String,
    },
}

impl From<InvalidSetting> for TuttiError {
    fn from(e: InvalidSetting) -> Self {
        TuttiError::InvalidArgument {
            reason: e.0.to_owned(),
        }
    }
}

impl From<SessionError> for TuttiError {
    fn from(e: SessionError) -> Self {
        let reason = e.to_string();
        match e {
            SessionError::InvalidUrl { .. }
            | SessionError::InvalidArgument(_)
            | SessionError::UnknownPeer(_) => TuttiError::InvalidArgument { reason },
            SessionError::Refused { code, message } => TuttiError::Refused {
                code: error_code(code),
                detail: message,
            },
            SessionError::Signalling(_) | SessionError::Timeout => TuttiError::Network { reason },
            SessionError::Ended => TuttiError::WrongState { reason },
            _ => TuttiError::Internal { reason },
        }
    }
}

impl From<ClientError> for TuttiError {
    fn from(e: ClientError) -> Self {
        let reason = e.to_string();
        match e {
            ClientError::AlreadyJoined | ClientError::NotJoined => {
                TuttiError::WrongState { reason }
            }
            ClientError::Session(e) => e.into(),
            ClientError::Engine(tutti_core::engine::EngineError::InvalidConfig(_)) => {
                TuttiError::InvalidArgument { reason }
            }
            _ => TuttiError::Internal { reason },
        }
    }
}
