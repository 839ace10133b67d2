//! [`Session`]: the host's handle on a joined room.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::codec::FrameDuration;
use crate::engine::{EngineControl, EngineNetwork, EnginePeer, PeerStats};
use crate::protocol::{
    Auth, ClientMessage, FrameSize, Join, PeerId, ProtocolError, RoomId, ServerMessage, Welcome,
};

use super::config::{Identity, SessionConfig};
use super::error::SessionError;
use super::event::SessionEvent;
use super::mesh::{Command, Mesh, MeshParts, lock};
use super::signalling::{Incoming, SignalConnection, signal_url};

/// State the handle reads while the task runs.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// Peers whose stream is in the engine.
    pub(crate) peers: Mutex<HashMap<PeerId, EnginePeer>>,
    /// Our id in the room (changes on rejoin; `None` after leaving).
    pub(crate) local_id: Mutex<Option<PeerId>>,
    pub(crate) dropped_events: AtomicU64,
}

/// A joined room. See the [module docs](super) for what runs where.
///
/// Dropping the handle leaves the room too (without waiting); [`Session::leave`] waits and
/// hands the engine's network half back.
#[derive(Debug)]
pub struct Session {
    commands: mpsc::UnboundedSender<Command>,
    control: EngineControl,
    shared: Arc<Shared>,
    task: Option<JoinHandle<EngineNetwork>>,
}

impl Session {
    /// Joins `room` on the server at `server_url` (`http://host:port`, or the relay's
    /// `ws://…/signal` URL) and starts the session task on the current tokio runtime.
    ///
    /// The task owns `network` (the engine's network half); `control` (a clone of the
    /// engine's control handle) serves the per-peer mix and statistics. Returns once the
    /// server has welcomed us; peers connect afterwards (watch the events). Fails if the
    /// server cannot be reached, refuses the join, or does not answer within
    /// [`SessionConfig::join_timeout`]; later connection losses are retried by the task.
    pub async fn join(
        server_url: &str,
        room: RoomId,
        identity: Identity,
        config: SessionConfig,
        network: EngineNetwork,
        control: EngineControl,
    ) -> Result<(Session, mpsc::Receiver<SessionEvent>), SessionError> {
        Self::join_or_return(server_url, room, identity, config, network, control)
            .await
            .map_err(|(error, _network)| error)
    }

    /// [`Session::join`] that hands `network` back when the join fails, so the caller can try
    /// again with the same engine (the blocking [`Client`](crate::client::Client) does).
    pub(crate) async fn join_or_return(
        server_url: &str,
        room: RoomId,
        identity: Identity,
        config: SessionConfig,
        network: EngineNetwork,
        control: EngineControl,
    ) -> Result<(Session, mpsc::Receiver<SessionEvent>), (SessionError, EngineNetwork)> {
        let tokens = match &identity {
            Identity::Refreshing(tokens) => Some(tokens.clone()),
            _ => None,
        };
        let prepared = async {
            let url = signal_url(server_url)?;
            let frame = engine_frame(&control)?;
            let auth = match identity {
                Identity::Token(access_token) => Auth::Token { access_token },
                Identity::Anonymous(display_name) => Auth::Anonymous { display_name },
                Identity::Refreshing(tokens) => Auth::Token {
                    access_token: tokens.fetch().await?,
                },
            };
            Ok::<_, SessionError>((url, frame, auth))
        }
        .await;
        let (url, frame, auth) = match prepared {
            Ok(v) => v,
            Err(e) => return Err((e, network)),
        };
        let join = Join {
            room,
            auth,
            invite: config.invite.clone(),
            client: config.client,
            frame_sizes: vec![frame_size(frame)],
            resume: None,
        };
        let join_message = ClientMessage::Join(join.clone());
        // The server would refuse what breaks a limit; say so before connecting.
        if let Err(e) = ClientMessage::decode(join_message.encode().as_bytes()) {
            return Err((SessionError::InvalidArgument(e), network));
        }

        let timeout = config.join_timeout;
        let connected = tokio::time::timeout(timeout, async {
            let mut conn = SignalConnection::connect(&url).await?;
            conn.send(&join_message).await?;
            let welcome = wait_for_welcome(&mut conn).await?;
            Ok::<_, SessionError>((conn, welcome))
        })
        .await
        .map_err(|_| SessionError::Timeout)
        .and_then(|r| r);
        let (conn, welcome) = match connected {
            Ok(v) => v,
            Err(e) => return Err((e, network)),
        };

        let (events_tx, events) = mpsc::channel(config.event_capacity.max(1));
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared::default());
        *lock(&shared.local_id) = Some(welcome.peer_id.clone());
        let seed = seed_from(&welcome.peer_id);
        let mesh = Mesh::new(
            MeshParts {
                url,
                join,
                tokens,
                config,
                frame,
                network,
                control: control.clone(),
                shared: Arc::clone(&shared),
                events: events_tx,
                commands: commands_rx,
                conn,
                seed,
            },
            &welcome,
        );
        let task = tokio::spawn(mesh.run(welcome));
        Ok((
            Session {
                commands,
                control,
                shared,
                task: Some(task),
            },
            events,
        ))
    }

    /// Leaves the room: closes every link, removes every peer from the engine, says goodbye
    /// to the server, and returns the engine's network half (to join again later).
    pub async fn leave(mut self) -> Result<EngineNetwork, SessionError> {
        let _ = self.commands.send(Command::Leave);
        let task = self.task.take().ok_or(SessionError::Ended)?;
        task.await.map_err(|_| SessionError::Ended)
    }

    /// Sends a chat line to the room.
    pub fn chat(&self, text: &str) -> Result<(), SessionError> {
        let message = ClientMessage::Chat {
            text: text.to_owned(),
        };
        ClientMessage::decode(message.encode().as_bytes())
            .map_err(SessionError::InvalidArgument)?;
        self.commands
            .send(Command::Chat(text.to_owned()))
            .map_err(|_| SessionError::Ended)
    }

    /// Our id in the room (it changes when the session rejoins after a reconnect).
    pub fn local_peer_id(&self) -> Option<PeerId> {
        lock(&self.shared.local_id).clone()
    }

    /// Peers whose audio is in the mix now.
    pub fn peers(&self) -> Vec<PeerId> {
        let mut ids: Vec<PeerId> = lock(&self.shared.peers).keys().cloned().collect();
        ids.sort();
        ids
    }

    /// A peer's gain in dB (−∞..=+24), ramped.
    pub fn set_gain_db(&self, peer: &PeerId, db: f32) -> Result<(), SessionError> {
        Ok(self.control.set_gain_db(self.engine_peer(peer)?, db)?)
    }

    /// A peer's pan (mono) or balance (stereo), −1 = left ..= 1 = right.
    pub fn set_pan(&self, peer: &PeerId, pan: f32) -> Result<(), SessionError> {
        Ok(self.control.set_pan(self.engine_peer(peer)?, pan)?)
    }

    /// Mutes or unmutes a peer, ramped.
    pub fn set_mute(&self, peer: &PeerId, mute: bool) -> Result<(), SessionError> {
        Ok(self.control.set_mute(self.engine_peer(peer)?, mute)?)
    }

    /// How loud the musician hears their own input (linear, 0 = off).
    pub fn set_monitor_level(&self, gain: f32) -> Result<(), SessionError> {
        Ok(self.control.set_monitor_level(gain)?)
    }

    /// A peer's engine statistics (jitter buffer, decoded and concealed frames) as of the
    /// audio thread's last block; `None` for a peer not in the mix.
    pub fn peer_stats(&self, peer: &PeerId) -> Option<PeerStats> {
        self.control.peer_stats(self.engine_peer(peer).ok()?)
    }

    /// The engine's control handle (master gain, solo, meters).
    pub fn control(&self) -> &EngineControl {
        &self.control
    }

    /// Events dropped because the host did not drain the event channel.
    pub fn dropped_events(&self) -> u64 {
        self.shared.dropped_events.load(Ordering::Relaxed)
    }

    fn engine_peer(&self, peer: &PeerId) -> Result<EnginePeer, SessionError> {
        lock(&self.shared.peers)
            .get(peer)
            .copied()
            .ok_or_else(|| SessionError::UnknownPeer(peer.clone()))
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Leave);
    }
}

/// Reads until the welcome; an error reply is the refusal.
async fn wait_for_welcome(conn: &mut SignalConnection) -> Result<Welcome, SessionError> {
    loop {
        match conn.recv().await {
            Incoming::Message(ServerMessage::Welcome(welcome)) => return Ok(welcome),
            Incoming::Message(ServerMessage::Error { code, message }) => {
                return Err(SessionError::Refused { code, message });
            }
            Incoming::Message(_) => {}
            Incoming::Malformed(e) => return Err(SessionError::ServerProtocol(e)),
            Incoming::Closed(reason) => return Err(SessionError::Signalling(reason)),
        }
    }
}

/// The engine's codec frame, which the session advertises in SDP.
fn engine_frame(control: &EngineControl) -> Result<FrameDuration, SessionError> {
    let frame = control.local_latency().codec_frame;
    [
        FrameDuration::Ms2_5,
        FrameDuration::Ms5,
        FrameDuration::Ms10,
        FrameDuration::Ms20,
    ]
    .into_iter()
    .find(|f| f.as_duration() == frame)
    .ok_or(SessionError::InvalidArgument(ProtocolError::Invalid {
        field: "engine frame",
        reason: "must be 2.5, 5, 10 or 20 ms",
    }))
}

fn frame_size(frame: FrameDuration) -> FrameSize {
    match frame {
        FrameDuration::Ms2_5 => FrameSize::Ms2_5,
        FrameDuration::Ms5 => FrameSize::Ms5,
        FrameDuration::Ms10 => FrameSize::Ms10,
        FrameDuration::Ms20 => FrameSize::Ms20,
    }
}

/// Reconnect jitter seed: differs between clients (their ids are random) and runs.
fn seed_from(id: &PeerId) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write(id.as_str().as_bytes());
    h.finish()
}
