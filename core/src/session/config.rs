//! How a session is set up: who joins, and the knobs of its network task.

use std::sync::Arc;
use std::time::Duration;

use crate::clock_sync::ClockSyncConfig;
use crate::engine::PeerConfig;
use crate::protocol::ClientKind;

use super::backoff::BackoffConfig;
use super::webrtc_link::LinkConfig;

/// Who joins a room.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Identity {
    /// An access token from the accounts API (`POST /api/v1/auth/login`).
    Token(String),
    /// Just a display name; the server must allow anonymous signalling.
    Anonymous(String),
    /// Access tokens fetched when needed: at the first join and at every rejoin after a lost
    /// signalling connection. The relay checks the token at each join and access tokens live
    /// 15 minutes, so a long session that reconnects needs a fresh one.
    Refreshing(Tokens),
}

/// Where a long session gets fresh access tokens (typically by rotating a refresh token
/// through `POST /api/v1/auth/refresh`).
#[async_trait::async_trait]
pub trait TokenSource: Send + Sync {
    /// A currently valid access token; the error text is reported in
    /// [`SessionError::TokenSource`](super::SessionError::TokenSource).
    async fn access_token(&self) -> Result<String, String>;
}

/// A shared [`TokenSource`]; two are equal when they are the same source.
#[derive(Clone)]
pub struct Tokens(pub Arc<dyn TokenSource>);

impl Tokens {
    /// Fetches a token from the source.
    pub(crate) async fn fetch(&self) -> Result<String, super::SessionError> {
        self.0
            .access_token()
            .await
            .map_err(super::SessionError::TokenSource)
    }
}

impl PartialEq for Tokens {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Tokens {}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens(..)")
    }
}

/// Settings of a [`Session`](super::Session). `Default` suits a native client.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Template for every remote peer's stream (jitter buffer, channels, payload framing); the
    /// frame duration is replaced by the negotiated one.
    pub peer: PeerConfig,
    /// Template for every peer link (UDP bind addresses, ICE timers, event capacity); ICE
    /// servers come from the server's welcome and the frame policy from the engine's encoder.
    pub link: LinkConfig,
    /// Native or browser (native peers use 2.5 or 5 ms frames between themselves).
    pub client: ClientKind,
    /// Invite token for a private room.
    pub invite: Option<String>,
    /// The longest the network task waits between drains of the capture. With
    /// [`Self::capture_wakeup`] it is only the fallback when the audio thread's prediction
    /// stalls; without, it is a fixed poll and each packet waits up to this long (half on
    /// average) before it is sent.
    pub pacing: Duration,
    /// Wake the network task when the audio thread predicts its next frame complete (a pacer
    /// thread, see the session docs) instead of polling every [`Self::pacing`]. On by default;
    /// off reproduces the fixed poll, e.g. to measure what the wake-up buys.
    pub capture_wakeup: bool,
    /// How often [`SessionEvent::Stats`](super::SessionEvent::Stats) is emitted.
    pub stats_interval: Duration,
    /// Clock synchronisation with each peer (over the unordered data channel).
    pub clock: ClockSyncConfig,
    /// How long the first join (and each rejoin) may take.
    pub join_timeout: Duration,
    /// Reconnect pacing after the signalling connection broke.
    pub reconnect: BackoffConfig,
    /// Capacity of the event channel; events beyond it are dropped and counted
    /// ([`Session::dropped_events`](super::Session::dropped_events)).
    pub event_capacity: usize,
    /// After a link reports disconnected or failed, how long the offering side waits between
    /// ICE restarts.
    pub ice_restart_interval: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            peer: PeerConfig::default(),
            link: LinkConfig::default(),
            client: ClientKind::Native,
            invite: None,
            pacing: Duration::from_millis(1),
            capture_wakeup: true,
            stats_interval: Duration::from_secs(1),
            clock: ClockSyncConfig::default(),
            join_timeout: Duration::from_secs(10),
            reconnect: BackoffConfig::default(),
            event_capacity: 1024,
            ice_restart_interval: Duration::from_secs(3),
        }
    }
}
