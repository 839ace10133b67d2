//! The uniffi surface for Kotlin, Swift and Python: [`TuttiClient`] wraps the core's blocking
//! [`Client`] and only converts (records in [`records`], errors in [`error`], events to a
//! foreign [`SessionListener`] in [`listener`]). Generate the bindings from the built library
//! with the workspace's `uniffi-bindgen` (see `bindings/README.md`).
//!
//! # Audio
//! A mobile host drives the engine from its own audio callback through the C entry point
//! `tutti_engine_process` (real-time safe). [`TuttiClient::process`] is the same step for
//! hosts and tests that cannot call C: it copies the block across the FFI, allocates and takes
//! a lock, so it is **not real-time safe** — fine for tests, tools and prototypes.

mod error;
mod listener;
mod records;

use std::sync::{Arc, Mutex, MutexGuard};

use tutti_core::client::Client;
use tutti_core::engine::Engine;

pub use error::TuttiError;
pub use listener::SessionListener;
pub use records::{
    ClientStatistics, Identity, LatencyTerms, LinkState, PeerStatistics, SessionEvent,
};

use crate::convert::{EngineSettings, JoinSettings, peer_id, room_id};
use listener::Dispatcher;

/// A musician's connection to jam rooms: the engine plus a session when joined. Every method
/// may be called from any thread.
#[derive(Debug, uniffi::Object)]
pub struct TuttiClient {
    /// Held for its `Drop`, which stops the event thread. Declared first so it stops (and
    /// lets go of `client`) before the client leaves.
    _dispatcher: Option<Dispatcher>,
    client: Arc<Client>,
    engine: Mutex<Engine>,
    channels: usize,
    max_block_frames: usize,
}

#[uniffi::export]
impl TuttiClient {
    /// Builds the engine for the host's rate, block size and channels. With a `listener`,
    /// session events are delivered to it in order on a thread of the client's.
    #[uniffi::constructor]
    pub fn new(
        settings: EngineSettings,
        listener: Option<Arc<dyn SessionListener>>,
    ) -> Result<Arc<Self>, TuttiError> {
        let (client, engine) = Client::new(settings.client_config()?)?;
        let client = Arc::new(client);
        let dispatcher = listener
            .map(|l| Dispatcher::spawn(Arc::clone(&client), l))
            .transpose()
            .map_err(|e| TuttiError::Internal {
                reason: format!("cannot start the event thread: {e}"),
            })?;
        Ok(Arc::new(TuttiClient {
            _dispatcher: dispatcher,
            client,
            engine: Mutex::new(engine),
            channels: settings.channels as usize,
            max_block_frames: settings.max_block_frames as usize,
        }))
    }

    /// Joins `room` on the server at `server_url` (`http://host:port`); returns once the
    /// server welcomed us — peers connect afterwards (watch `PeerMedia` events). Suspends
    /// (Kotlin `suspend`, Python `async`, Swift `async`) instead of blocking a thread.
    pub async fn join(
        &self,
        server_url: String,
        room: String,
        identity: Identity,
        settings: JoinSettings,
    ) -> Result<(), TuttiError> {
        let room = room_id(&room)?;
        let config = settings.session_config()?;
        Ok(self
            .client
            .join_async(&server_url, room, identity.into(), config)
            .await?)
    }

    /// Leaves the room and waits until every link is closed; the client can join again.
    pub fn leave(&self) -> Result<(), TuttiError> {
        Ok(self.client.leave()?)
    }

    /// Whether the client is in a room.
    pub fn is_joined(&self) -> bool {
        self.client.is_joined()
    }

    /// Our id in the room, while joined (it changes when the session rejoins).
    pub fn local_peer_id(&self) -> Option<String> {
        self.client.local_peer_id().map(|p| p.as_str().to_owned())
    }

    /// Peers whose audio is in the mix now.
    pub fn peers(&self) -> Vec<String> {
        self.client
            .peers()
            .iter()
            .map(|p| p.as_str().to_owned())
            .collect()
    }

    /// A peer's gain in dB (−∞..=+24), ramped.
    pub fn set_gain_db(&self, peer: String, db: f32) -> Result<(), TuttiError> {
        Ok(self.client.set_gain_db(&peer_id(&peer)?, db)?)
    }

    /// A peer's pan or balance, −1 = left ..= 1 = right.
    pub fn set_pan(&self, peer: String, pan: f32) -> Result<(), TuttiError> {
        Ok(self.client.set_pan(&peer_id(&peer)?, pan)?)
    }

    /// Mutes or unmutes a peer, ramped.
    pub fn set_mute(&self, peer: String, mute: bool) -> Result<(), TuttiError> {
        Ok(self.client.set_mute(&peer_id(&peer)?, mute)?)
    }

    /// How loud the musician hears their own input (linear, 0 = off).
    pub fn set_monitor_level(&self, gain: f32) -> Result<(), TuttiError> {
        Ok(self.client.set_monitor_level(gain)?)
    }

    /// Sends a chat line to the room.
    pub fn chat(&self, text: String) -> Result<(), TuttiError> {
        Ok(self.client.chat(&text)?)
    }

    /// A statistics snapshot (peers as of the last `Stats` event).
    pub fn statistics(&self) -> ClientStatistics {
        self.client.statistics().into()
    }

    /// One audio block: `input` holds `frames × channels` interleaved samples at the host
    /// rate; returns `frames × 2` interleaved stereo samples (the mix of every peer plus the
    /// monitor). **Not real-time safe** (copies, allocates, locks): real audio callbacks use
    /// the C entry point `tutti_engine_process`.
    pub fn process(&self, input: Vec<f32>) -> Result<Vec<f32>, TuttiError> {
        let channels = self.channels;
        if !input.len().is_multiple_of(channels) {
            return Err(TuttiError::InvalidArgument {
                reason: format!(
                    "{} samples is not a whole number of {channels}-channel frames",
                    input.len()
                ),
            });
        }
        let frames = input.len() / channels;
        if frames > self.max_block_frames {
            return Err(TuttiError::InvalidArgument {
                reason: format!(
                    "{frames} frames exceed max_block_frames {}",
                    self.max_block_frames
                ),
            });
        }
        let planar: Vec<Vec<f32>> = (0..channels)
            .map(|c| input.iter().skip(c).step_by(channels).copied().collect())
            .collect();
        let inputs: Vec<&[f32]> = planar.iter().map(Vec::as_slice).collect();
        let (mut left, mut right) = (vec![0.0f32; frames], vec![0.0f32; frames]);
        self.engine()
            .process(&inputs, &mut [&mut left, &mut right], frames)
            .map_err(|e| TuttiError::InvalidArgument {
                reason: e.to_string(),
            })?;
        Ok(left
            .iter()
            .zip(&right)
            .flat_map(|(l, r)| [*l, *r])
            .collect())
    }
}

impl TuttiClient {
    fn engine(&self) -> MutexGuard<'_, Engine> {
        // `process` cannot panic halfway through a block; the engine stays whole.
        self.engine
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The library's version (`major.minor.patch`).
#[uniffi::export]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
