//! A blocking client (feature `session`): [`Engine`] + [`Session`] behind a synchronous API for
//! hosts that do not run tokio — the C API for DAW plug-ins and the uniffi bindings convert
//! this type and add nothing of their own.
//!
//! [`Client::new`] builds the engine and hands its audio-thread half back to the caller; the
//! client keeps the network half and a small tokio runtime of its own. Every method takes
//! `&self` and may be called from any thread (wrap the client in an `Arc` to share it);
//! none of them may be called from the audio thread, which only ever touches the [`Engine`].
//!
//! ```no_run
//! use tutti_core::client::{Client, ClientConfig};
//! use tutti_core::protocol::RoomId;
//! use tutti_core::session::{Identity, SessionConfig, SessionEvent};
//!
//! let (client, mut engine) = Client::new(ClientConfig::default())?;
//! // Audio thread: engine.process(inputs, outputs, frames) every callback.
//! client.join(
//!     "http://127.0.0.1:8080",
//!     RoomId::new("room-id")?,
//!     Identity::Anonymous("ann".into()),
//!     SessionConfig::default(),
//! )?;
//! // UI or timer thread: poll events and adjust the mix.
//! while let Some(event) = client.next_event() {
//!     if let SessionEvent::PeerMedia { peer, .. } = event {
//!         client.set_gain_db(&peer, -3.0)?;
//!     }
//! }
//! client.leave()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::{Mutex, MutexGuard};

use tokio::sync::mpsc;

use crate::engine::{
    Engine, EngineConfig, EngineControl, EngineError, EngineNetwork, LatencyTerms,
};
use crate::protocol::{PeerId, RoomId};
use crate::session::{
    Identity, PeerStatistics, Session, SessionConfig, SessionError, SessionEvent,
};

/// How to build a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The engine: host rate, largest block, channels and frame duration (in `encoder`).
    pub engine: EngineConfig,
    /// Worker threads of the client's tokio runtime (the session task and the WebRTC links);
    /// at least 1.
    pub worker_threads: usize,
}

impl Default for ClientConfig {
    /// [`EngineConfig::default`] with random initial RTP sequence and timestamp, 2 workers.
    fn default() -> Self {
        Self {
            engine: EngineConfig {
                initial_sequence: random_u32() as u16,
                initial_timestamp: random_u32(),
                ..EngineConfig::default()
            },
            worker_threads: 2,
        }
    }
}

/// A [`Client`] call failed, split by who is at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// Caller: `join` while already joined (leave first).
    #[error("already joined a room")]
    AlreadyJoined,
    /// Caller: the call needs a joined room.
    #[error("not joined to a room")]
    NotJoined,
    /// Caller: the engine configuration is unusable.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The session refused or failed (see [`SessionError`] for whose fault).
    #[error(transparent)]
    Session(#[from] SessionError),
    /// Environment: the tokio runtime could not be started (threads, file descriptors).
    #[error("cannot start the client runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

/// A snapshot of the client's statistics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientStatistics {
    /// Blocks the audio thread has processed.
    pub blocks: u64,
    /// Captured frames lost because the network side did not drain the capture ring.
    pub capture_overruns: u64,
    /// Events dropped because the host did not poll [`Client::next_event`] often enough.
    pub dropped_events: u64,
    /// This engine's own latency terms (capture, frame, lookahead, resampling, playback).
    pub local_latency: LatencyTerms,
    /// Every peer, as of the last [`SessionEvent::Stats`] that [`Client::next_event`] returned
    /// (empty before the first, and after leaving).
    pub peers: Vec<PeerStatistics>,
}

/// Where the client stands: holding the engine's network half, or a joined session.
// One per client and rarely moved: boxing the network half would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Link {
    Idle(EngineNetwork),
    Joined(Session),
    /// The network half is in flight: a join is running, or a session task died with it.
    Busy,
}

struct State {
    link: Link,
    events: Option<mpsc::Receiver<SessionEvent>>,
    last_stats: Vec<PeerStatistics>,
}

/// The blocking client. See the [module docs](self).
pub struct Client {
    /// `None` only during drop.
    runtime: Option<tokio::runtime::Runtime>,
    control: EngineControl,
    state: Mutex<State>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl Client {
    /// Builds the engine and the client's runtime. The returned [`Engine`] belongs on the
    /// host's audio thread; it keeps working (silence from the network) whether or not the
    /// client is joined.
    pub fn new(config: ClientConfig) -> Result<(Client, Engine), ClientError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.worker_threads.max(1))
            .thread_name("tutti-client")
            .enable_all()
            .build()
            .map_err(ClientError::Runtime)?;
        let (engine, network, control) = Engine::new(config.engine)?;
        let client = Client {
            runtime: Some(runtime),
            control,
            state: Mutex::new(State {
                link: Link::Idle(network),
                events: None,
                last_stats: Vec::new(),
            }),
        };
        Ok((client, engine))
    }

    /// Joins `room` and blocks until the server welcomed us (peers connect afterwards: watch
    /// [`Client::next_event`]). On failure the client stays usable; join again.
    pub fn join(
        &self,
        server_url: &str,
        room: RoomId,
        identity: Identity,
        config: SessionConfig,
    ) -> Result<(), ClientError> {
        self.runtime()
            .block_on(self.join_async(server_url, room, identity, config))
    }

    /// [`Client::join`] for callers already in async code (any executor: the session runs on
    /// the client's own runtime).
    pub async fn join_async(
        &self,
        server_url: &str,
        room: RoomId,
        identity: Identity,
        config: SessionConfig,
    ) -> Result<(), ClientError> {
        let network = {
            let mut state = self.lock();
            match std::mem::replace(&mut state.link, Link::Busy) {
                Link::Idle(network) => network,
                other => {
                    let error = match other {
                        Link::Joined(_) => ClientError::AlreadyJoined,
                        _ => ClientError::Session(SessionError::Ended),
                    };
                    state.link = other;
                    return Err(error);
                }
            }
        };
        let (url, control) = (server_url.to_owned(), self.control.clone());
        let joined = self
            .runtime()
            .spawn(async move {
                Session::join_or_return(&url, room, identity, config, network, control).await
            })
            .await;
        let mut state = self.lock();
        match joined {
            Ok(Ok((session, events))) => {
                state.link = Link::Joined(session);
                state.events = Some(events);
                state.last_stats.clear();
                Ok(())
            }
            Ok(Err((error, network))) => {
                state.link = Link::Idle(network);
                Err(error.into())
            }
            // The join task panicked or the runtime shut down: the network half is gone.
            Err(_) => Err(SessionError::Ended.into()),
        }
    }

    /// Leaves the room and blocks until every link is closed. Events still queued stay
    /// readable through [`Client::next_event`] (the last is [`SessionEvent::Ended`]).
    pub fn leave(&self) -> Result<(), ClientError> {
        let session = {
            let mut state = self.lock();
            match std::mem::replace(&mut state.link, Link::Busy) {
                Link::Joined(session) => session,
                other => {
                    state.link = other;
                    return Err(ClientError::NotJoined);
                }
            }
        };
        let left = self.runtime().block_on(session.leave());
        let mut state = self.lock();
        state.last_stats.clear();
        match left {
            Ok(network) => {
                state.link = Link::Idle(network);
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Whether the client is in a room.
    pub fn is_joined(&self) -> bool {
        matches!(self.lock().link, Link::Joined(_))
    }

    /// The next session event, if one is waiting; never blocks.
    pub fn next_event(&self) -> Option<SessionEvent> {
        let mut state = self.lock();
        let event = state.events.as_mut()?.try_recv().ok()?;
        if let SessionEvent::Stats(peers) = &event {
            state.last_stats.clone_from(peers);
        }
        Some(event)
    }

    /// Our id in the room, while joined.
    pub fn local_peer_id(&self) -> Option<PeerId> {
        self.with_session(|s| Ok(s.local_peer_id())).ok().flatten()
    }

    /// Peers whose audio is in the mix now.
    pub fn peers(&self) -> Vec<PeerId> {
        self.with_session(|s| Ok(s.peers())).unwrap_or_default()
    }

    /// A peer's gain in dB (−∞..=+24), ramped.
    pub fn set_gain_db(&self, peer: &PeerId, db: f32) -> Result<(), ClientError> {
        self.with_session(|s| s.set_gain_db(peer, db))
    }

    /// A peer's pan (mono) or balance (stereo), −1 = left ..= 1 = right.
    pub fn set_pan(&self, peer: &PeerId, pan: f32) -> Result<(), ClientError> {
        self.with_session(|s| s.set_pan(peer, pan))
    }

    /// Mutes or unmutes a peer, ramped.
    pub fn set_mute(&self, peer: &PeerId, mute: bool) -> Result<(), ClientError> {
        self.with_session(|s| s.set_mute(peer, mute))
    }

    /// How loud the musician hears their own input (linear, 0 = off); works joined or not.
    pub fn set_monitor_level(&self, gain: f32) -> Result<(), ClientError> {
        Ok(self.control.set_monitor_level(gain)?)
    }

    /// Sends a chat line to the room.
    pub fn chat(&self, text: &str) -> Result<(), ClientError> {
        self.with_session(|s| s.chat(text))
    }

    /// The engine's control handle (master gain, solo, meters).
    pub fn control(&self) -> &EngineControl {
        &self.control
    }

    /// A statistics snapshot; see [`ClientStatistics`] for how fresh each part is.
    pub fn statistics(&self) -> ClientStatistics {
        let state = self.lock();
        let dropped_events = match &state.link {
            Link::Joined(session) => session.dropped_events(),
            _ => 0,
        };
        ClientStatistics {
            blocks: self.control.blocks(),
            capture_overruns: self.control.capture_overruns(),
            dropped_events,
            local_latency: self.control.local_latency(),
            peers: state.last_stats.clone(),
        }
    }

    fn with_session<T>(
        &self,
        f: impl FnOnce(&Session) -> Result<T, SessionError>,
    ) -> Result<T, ClientError> {
        match &self.lock().link {
            Link::Joined(session) => Ok(f(session)?),
            _ => Err(ClientError::NotJoined),
        }
    }

    fn runtime(&self) -> &tokio::runtime::Runtime {
        self.runtime
            .as_ref()
            .expect("the runtime is only taken in drop")
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; if something did, the state is still whole.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if tokio::runtime::Handle::try_current().is_ok() {
            // Dropped inside async code, where blocking panics: the session's own drop asks
            // its task to leave, and the runtime winds down in the background.
            self.lock().link = Link::Busy;
            if let Some(runtime) = self.runtime.take() {
                runtime.shutdown_background();
            }
        } else {
            // Leave cleanly (close links, say goodbye) before the runtime stops under the task.
            let _ = self.leave();
        }
    }
}

/// RFC 3550 wants random initial sequence numbers and timestamps.
fn random_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish() as u32
}
