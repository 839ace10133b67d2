//! The result code every C function returns, and its mapping from core errors.

use std::ffi::c_char;

use tutti_core::client::ClientError;
use tutti_core::engine::{EngineError, ProcessError};
use tutti_core::session::SessionError;

/// What a call did. The numbers are stable: new codes are only ever appended.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TuttiResult {
    /// Success.
    Ok = 0,
    /// Caller: a required pointer argument was NULL.
    NullPointer = 1,
    /// Caller: an argument is out of range or malformed (configuration, URL, id, UTF-8, gain).
    InvalidArgument = 2,
    /// Caller: `tutti_engine_process` got a channel count other than the engine's.
    WrongChannelCount = 3,
    /// Caller: `tutti_engine_process` got more frames than the engine's `max_block_frames`.
    BlockTooLarge = 4,
    /// Caller: the call needs a joined room.
    NotJoined = 5,
    /// Caller: already joined (leave first).
    AlreadyJoined = 6,
    /// Caller: no peer with this id is in the mix (it left, or never joined).
    UnknownPeer = 7,
    /// Server: it refused the join (bad token, room full or closed, invite needed).
    Refused = 8,
    /// Environment: the server did not answer in time.
    Timeout = 9,
    /// Environment: the server cannot be reached or the connection broke.
    Network = 10,
    /// The session ended underneath the call (its task stopped).
    Ended = 11,
    /// Environment: the engine or its runtime could not be built (threads, codec, resampler).
    Internal = 12,
    /// A bug in Tutti: a Rust panic was caught at the boundary. The handle may be unusable.
    Panic = 13,
}

impl TuttiResult {
    /// The static, NUL-terminated explanation.
    fn message(self) -> &'static str {
        match self {
            Self::Ok => "ok\0",
            Self::NullPointer => "a required pointer argument was NULL\0",
            Self::InvalidArgument => "an argument is out of range or malformed\0",
            Self::WrongChannelCount => "the channel count differs from the engine's\0",
            Self::BlockTooLarge => "the block is larger than the engine's max_block_frames\0",
            Self::NotJoined => "not joined to a room\0",
            Self::AlreadyJoined => "already joined to a room\0",
            Self::UnknownPeer => "no such peer in the session\0",
            Self::Refused => "the server refused the join\0",
            Self::Timeout => "the server did not answer in time\0",
            Self::Network => "the server cannot be reached or the connection broke\0",
            Self::Ended => "the session has ended\0",
            Self::Internal => "the engine or its runtime could not be built\0",
            Self::Panic => "internal error (a panic was caught); please report it\0",
        }
    }
}

/// A static NUL-terminated English description of `result`; never NULL, never freed. Unknown
/// numbers (from a newer header) get a generic text.
#[unsafe(no_mangle)]
pub extern "C" fn tutti_result_message(result: i32) -> *const c_char {
    let known = [
        TuttiResult::Ok,
        TuttiResult::NullPointer,
        TuttiResult::InvalidArgument,
        TuttiResult::WrongChannelCount,
        TuttiResult::BlockTooLarge,
        TuttiResult::NotJoined,
        TuttiResult::AlreadyJoined,
        TuttiResult::UnknownPeer,
        TuttiResult::Refused,
        TuttiResult::Timeout,
        TuttiResult::Network,
        TuttiResult::Ended,
        TuttiResult::Internal,
        TuttiResult::Panic,
    ];
    let text = known
        .into_iter()
        .find(|r| *r as i32 == result)
        .map_or("unknown result code\0", TuttiResult::message);
    text.as_ptr().cast()
}

impl From<ProcessError> for TuttiResult {
    fn from(e: ProcessError) -> Self {
        match e {
            ProcessError::BlockTooLarge { .. } => Self::BlockTooLarge,
            _ => Self::InvalidArgument,
        }
    }
}

impl From<&EngineError> for TuttiResult {
    fn from(e: &EngineError) -> Self {
        match e {
            EngineError::InvalidConfig(_) | EngineError::Mixer(_) => Self::InvalidArgument,
            EngineError::UnknownPeer => Self::UnknownPeer,
            _ => Self::Internal,
        }
    }
}

impl From<&ClientError> for TuttiResult {
    fn from(e: &ClientError) -> Self {
        match e {
            ClientError::AlreadyJoined => Self::AlreadyJoined,
            ClientError::NotJoined => Self::NotJoined,
            ClientError::Engine(e) => e.into(),
            ClientError::Session(e) => match e {
                SessionError::InvalidUrl { .. } | SessionError::InvalidArgument(_) => {
                    Self::InvalidArgument
                }
                SessionError::UnknownPeer(_) => Self::UnknownPeer,
                SessionError::Refused { .. } => Self::Refused,
                SessionError::Timeout => Self::Timeout,
                SessionError::Engine(e) => e.into(),
                SessionError::Ended => Self::Ended,
                _ => Self::Network,
            },
            _ => Self::Internal,
        }
    }
}
