//! The session task: one tokio task that owns the engine's network half, the signalling
//! connection and one [`PeerLink`] per remote musician (a full mesh), and drives them all from
//! one `select!` loop. See [`super`] for the task structure, who offers and the pacing.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::clock_sync::ClockSync;
use crate::codec::FrameDuration;
use crate::engine::{EngineControl, EngineNetwork, EnginePeer, PeerConfig, Stream};
use crate::jitter::PayloadFormat;
use crate::protocol::{
    self, Auth, ClientMessage, Join, PeerId, PeerInfo, PeerMessage, Resume, ServerMessage, Welcome,
};

use super::backoff::Backoff;
use super::config::{SessionConfig, Tokens};
use super::error::SessionError;
use super::event::{PeerStatistics, SessionEvent};
use super::handle::Shared;
use super::pacer::Pacer;
use super::receive_stats::ReceiveStats;
use super::sdp::FramePolicy;
use super::signalling::{Incoming, SignalConnection};
use super::transport::{
    Channel, IceCandidate, IceServer, LinkEvent, LinkState, Negotiated, PeerLink, RtpOut, SdpKind,
    SessionDescription, TransportError,
};
use super::webrtc_link::WebRtcLink;

/// Link events of every peer, merged: (peer, link generation, event).
type Tagged = (PeerId, u64, LinkEvent);

/// Room for link events between the links' forwarding tasks and the session loop (RTP beyond
/// it is dropped and counted, like the link's own channel).
const MERGED_EVENTS: usize = 4096;
/// Timers that need no precision: clock pings, heartbeats, join timeouts.
const HOUSEKEEPING: Duration = Duration::from_millis(100);
/// Most messages for other peers kept while signalling is down (the oldest go first). Trickled
/// candidates are the bulk: a few per link and ICE restart, and restarts wait for signalling.
const OUTBOX_MAX: usize = 1024;

/// Requests from the [`Session`](super::Session) handle.
#[derive(Debug)]
pub(crate) enum Command {
    Chat(String),
    Leave,
}

/// One remote musician.
struct Peer {
    link: Arc<dyn PeerLink>,
    link_id: u64,
    forward: JoinHandle<()>,
    /// We sent the first offer, so we also drive ICE restarts (no glare).
    offerer: bool,
    state: LinkState,
    remote_description: bool,
    pending_candidates: Vec<IceCandidate>,
    negotiated: Option<Negotiated>,
    /// The stream this peer is sent: native (RED at our frame) for a Tutti peer at our frame,
    /// plain Opus at the negotiated frame for a browser, none on a frame mismatch.
    send: Option<Stream>,
    engine: Option<EnginePeer>,
    clock: ClockSync,
    clock_channel_open: bool,
    receive: ReceiveStats,
    /// RTP the forwarding task dropped because the session loop lagged.
    dropped: Arc<std::sync::atomic::AtomicU64>,
    last_restart: Option<Instant>,
}

/// The signalling side's state.
struct Signal {
    conn: Option<SignalConnection>,
    /// The current connection has not been welcomed yet (sent join at this time).
    awaiting_welcome: Option<Instant>,
    /// A reconnect attempt in flight.
    connecting: Option<JoinHandle<Result<SignalConnection, SessionError>>>,
    /// When the next reconnect attempt starts.
    retry_at: Option<Instant>,
    backoff: Backoff,
    heartbeat: Duration,
    next_heartbeat: Instant,
    nonce: u32,
    /// When the server last sent anything (a pong at least every heartbeat while it is there).
    last_heard: Instant,
    /// The current seat's resume token (protocol revision 2), sent with the next rejoin.
    resume_token: Option<String>,
    /// Offers, answers, candidates and chat written while offline or awaiting the welcome:
    /// sent after a resumed welcome (the peer ids still hold), dropped after a fresh one.
    outbox: VecDeque<ClientMessage>,
}

impl Signal {
    /// Joined on a live connection: messages for peers can go out.
    fn online(&self) -> bool {
        self.conn.is_some() && self.awaiting_welcome.is_none()
    }
}

/// The task. Built by [`Session::join`](super::Session::join) after the first welcome.
pub(crate) struct Mesh {
    url: String,
    join: Join,
    tokens: Option<Tokens>,
    config: SessionConfig,
    frame: FrameDuration,
    network: EngineNetwork,
    control: EngineControl,
    shared: Arc<Shared>,
    events: mpsc::Sender<SessionEvent>,
    commands: mpsc::UnboundedReceiver<Command>,
    merged_tx: mpsc::Sender<Tagged>,
    merged: mpsc::Receiver<Tagged>,
    self_id: PeerId,
    roster: HashMap<PeerId, PeerInfo>,
    peers: HashMap<PeerId, Peer>,
    ice_servers: Vec<IceServer>,
    epoch: Instant,
    next_link_id: u64,
    signal: Signal,
}

pub(crate) struct MeshParts {
    pub(crate) url: String,
    pub(crate) join: Join,
    /// Fresh access tokens for each rejoin (`Identity::Refreshing`).
    pub(crate) tokens: Option<Tokens>,
    pub(crate) config: SessionConfig,
    pub(crate) frame: FrameDuration,
    pub(crate) network: EngineNetwork,
    pub(crate) control: EngineControl,
    pub(crate) shared: Arc<Shared>,
    pub(crate) events: mpsc::Sender<SessionEvent>,
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    pub(crate) conn: SignalConnection,
    pub(crate) seed: u64,
}

impl Mesh {
    pub(crate) fn new(parts: MeshParts, welcome: &Welcome) -> Self {
        let (merged_tx, merged) = mpsc::channel(MERGED_EVENTS);
        let now = Instant::now();
        Self {
            signal: Signal {
                conn: Some(parts.conn),
                awaiting_welcome: None,
                connecting: None,
                retry_at: None,
                backoff: Backoff::new(parts.config.reconnect, parts.seed),
                heartbeat: Duration::from_secs(15),
                next_heartbeat: now,
                nonce: 0,
                last_heard: now,
                resume_token: None,
                outbox: VecDeque::new(),
            },
            url: parts.url,
            join: parts.join,
            tokens: parts.tokens,
            config: parts.config,
            frame: parts.frame,
            network: parts.network,
            control: parts.control,
            shared: parts.shared,
            events: parts.events,
            commands: parts.commands,
            merged_tx,
            merged,
            self_id: welcome.peer_id.clone(),
            roster: HashMap::new(),
            peers: HashMap::new(),
            ice_servers: Vec::new(),
            epoch: now,
            next_link_id: 0,
        }
    }

    /// Runs until `leave` (or the handle is dropped); hands the engine's network half back.
    pub(crate) async fn run(mut self, welcome: Welcome) -> EngineNetwork {
        self.on_welcome(welcome, false).await;
        // No pacer thread (switched off, or the OS refused a thread): poll on the fixed tick.
        let pacer = self
            .config
            .capture_wakeup
            .then(|| Pacer::start(self.network.capture_clock(), self.config.pacing).ok())
            .flatten();
        let mut pace = tokio::time::interval(self.config.pacing);
        pace.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut housekeeping = tokio::time::interval(HOUSEKEEPING);
        housekeeping.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut stats = tokio::time::interval(self.config.stats_interval);
        stats.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                biased;
                _ = frame_ready(pacer.as_ref(), &mut pace) => self.send_media().await,
                Some((peer, link_id, event)) = self.merged.recv() => {
                    self.on_link_event(peer, link_id, event).await;
                }
                incoming = recv_signal(&mut self.signal.conn) => self.on_incoming(incoming).await,
                command = self.commands.recv() => match command {
                    Some(Command::Chat(text)) => self.send_signal(&ClientMessage::Chat { text }).await,
                    Some(Command::Leave) | None => break,
                },
                done = join_connect(&mut self.signal.connecting) => self.on_reconnected(done).await,
                _ = housekeeping.tick() => self.housekeeping().await,
                _ = stats.tick() => self.emit_stats(),
            }
        }
        self.shutdown().await;
        self.network
    }

    // ---- signalling ------------------------------------------------------------------------

    async fn on_incoming(&mut self, incoming: Incoming) {
        self.signal.last_heard = Instant::now();
        match incoming {
            Incoming::Message(message) => self.on_server_message(message).await,
            Incoming::Malformed(e) => {
                self.emit(SessionEvent::Error(SessionError::ServerProtocol(e)))
            }
            Incoming::Closed(reason) => self.signalling_lost(reason),
        }
    }

    async fn on_server_message(&mut self, message: ServerMessage) {
        match message {
            ServerMessage::Welcome(welcome) => {
                if self.signal.awaiting_welcome.take().is_some() {
                    self.on_welcome(welcome, true).await;
                }
            }
            ServerMessage::PeerJoined { peer } => {
                self.roster.insert(peer.id.clone(), peer.clone());
                self.emit(SessionEvent::PeerJoined(peer));
            }
            ServerMessage::PeerLeft { peer_id } => {
                self.roster.remove(&peer_id);
                self.drop_peer(&peer_id);
                self.emit(SessionEvent::PeerLeft(peer_id));
            }
            ServerMessage::Offer { from, sdp } => self.on_offer(from, sdp).await,
            ServerMessage::Answer { from, sdp } => self.on_answer(from, sdp).await,
            ServerMessage::Candidate { from, candidate } => {
                if let Some(candidate) = candidate {
                    self.on_remote_candidate(from, candidate).await;
                }
            }
            ServerMessage::Chat { from, text } => self.emit(SessionEvent::Chat { from, text }),
            ServerMessage::Pong { .. } => {}
            ServerMessage::Error { code, message } => {
                if self.signal.awaiting_welcome.is_some() {
                    // The rejoin was refused: report, drop this connection, retry later.
                    self.emit(SessionEvent::Error(SessionError::Refused { code, message }));
                    self.signalling_lost(format!("rejoin refused ({code:?})"));
                } else {
                    self.emit(SessionEvent::Error(SessionError::Server { code, message }));
                }
            }
        }
    }

    /// Starts (or restarts after a reconnect) membership. Links to peers the room no longer
    /// lists are dropped (they left while we were away). A resumed seat keeps every other link
    /// as it is, sends what was written while offline and offers to nobody (peers that arrived
    /// meanwhile are the newcomers); a fresh one (new id — the others know us as a newcomer)
    /// rebuilds them all: the newcomer offers to everyone present.
    async fn on_welcome(&mut self, welcome: Welcome, rejoined: bool) {
        let resumed = rejoined && welcome.resumed && welcome.peer_id == self.self_id;
        self.signal.backoff.reset();
        self.signal.resume_token = welcome.resume_token.clone();
        self.signal.heartbeat = Duration::from_millis(u64::from(welcome.heartbeat_interval_ms))
            .max(Duration::from_millis(500));
        self.signal.next_heartbeat = Instant::now() + self.signal.heartbeat;
        self.signal.last_heard = Instant::now();
        self.self_id = welcome.peer_id.clone();
        *lock(&self.shared.local_id) = Some(welcome.peer_id.clone());
        self.ice_servers = welcome.ice_servers.iter().map(convert_ice_server).collect();
        let before = std::mem::take(&mut self.roster);
        self.roster = welcome
            .room
            .peers
            .iter()
            .filter(|p| p.id != welcome.peer_id)
            .map(|p| (p.id.clone(), p.clone()))
            .collect();
        let mut stale: Vec<PeerId> = self
            .peers
            .keys()
            .chain(before.keys())
            .filter(|id| !self.roster.contains_key(*id))
            .cloned()
            .collect();
        stale.sort();
        stale.dedup();
        for id in stale {
            self.drop_peer(&id);
            self.emit(SessionEvent::PeerLeft(id));
        }
        if rejoined && !resumed {
            self.signal.outbox.clear();
            let rebuilt: Vec<PeerId> = self.peers.keys().cloned().collect();
            for id in rebuilt {
                self.drop_peer(&id);
            }
        }
        self.emit(SessionEvent::Joined {
            peer_id: welcome.peer_id.clone(),
            room: welcome.room.clone(),
            rejoined,
            resumed,
        });
        if resumed {
            // Presence is not held for an absent seat: who came meanwhile shows in the room.
            let arrived: Vec<PeerInfo> = self
                .roster
                .values()
                .filter(|p| !before.contains_key(&p.id))
                .cloned()
                .collect();
            for peer in arrived {
                self.emit(SessionEvent::PeerJoined(peer));
            }
        }
        while let Some(message) = self.signal.outbox.pop_front() {
            self.send_signal(&message).await;
        }
        if resumed {
            // Still the older member: whoever arrived meanwhile offers to us (the relay held
            // it), and offering back would collide.
            return;
        }
        let present: Vec<PeerId> = self.roster.keys().cloned().collect();
        for id in present {
            if !self.peers.contains_key(&id) {
                self.offer_to(id).await;
            }
        }
    }

    fn signalling_lost(&mut self, reason: String) {
        if let Some(conn) = self.signal.conn.take() {
            tokio::spawn(conn.close());
        }
        self.signal.awaiting_welcome = None;
        let retry_in = self.signal.backoff.next_delay();
        self.signal.retry_at = Some(Instant::now() + retry_in);
        self.emit(SessionEvent::SignallingLost { reason, retry_in });
    }

    async fn on_reconnected(&mut self, done: Result<SignalConnection, SessionError>) {
        self.signal.connecting = None;
        match done {
            Ok(conn) => {
                self.signal.conn = Some(conn);
                self.signal.awaiting_welcome = Some(Instant::now());
            }
            Err(e) => self.signalling_lost(e.to_string()),
        }
    }

    /// Sends `message`. While offline or awaiting the welcome — or if sending fails — a message
    /// for peers waits in the outbox for the rejoin; anything else (a heartbeat) is moot then.
    async fn send_signal(&mut self, message: &ClientMessage) {
        let sent = match self.signal.conn.as_mut() {
            Some(conn) if self.signal.awaiting_welcome.is_none() => conn.send(message).await,
            _ => Err(SessionError::Signalling("offline".into())),
        };
        let Err(e) = sent else { return };
        if self.signal.online() {
            self.signalling_lost(e.to_string());
        }
        let for_peers = matches!(
            message,
            ClientMessage::Offer { .. }
                | ClientMessage::Answer { .. }
                | ClientMessage::Candidate { .. }
                | ClientMessage::Chat { .. }
        );
        if for_peers {
            if self.signal.outbox.len() >= OUTBOX_MAX {
                self.signal.outbox.pop_front();
            }
            self.signal.outbox.push_back(message.clone());
        }
    }

    // ---- negotiation -----------------------------------------------------------------------

    async fn offer_to(&mut self, id: PeerId) {
        let result = async {
            self.add_link(&id, true).await?;
            let link = self.link(&id).ok_or(TransportError::Closed)?;
            link.create_offer(false).await
        }
        .await;
        match result {
            Ok(offer) => {
                let to = id;
                self.send_signal(&ClientMessage::Offer { to, sdp: offer.sdp })
                    .await;
            }
            Err(source) => self.link_failed(id, source),
        }
    }

    async fn on_offer(&mut self, from: PeerId, sdp: String) {
        if from == self.self_id {
            return;
        }
        let result = async {
            if !self.peers.contains_key(&from) {
                self.add_link(&from, false).await?;
            }
            let link = self.link(&from).ok_or(TransportError::Closed)?;
            let negotiated = link
                .set_remote_description(SessionDescription {
                    kind: SdpKind::Offer,
                    sdp,
                })
                .await?;
            let answer = link.create_answer().await?;
            Ok::<_, TransportError>((negotiated, answer))
        }
        .await;
        match result {
            Ok((negotiated, answer)) => {
                self.send_signal(&ClientMessage::Answer {
                    to: from.clone(),
                    sdp: answer.sdp,
                })
                .await;
                self.negotiated(&from, negotiated).await;
            }
            Err(source) => self.link_failed(from, source),
        }
    }

    async fn on_answer(&mut self, from: PeerId, sdp: String) {
        let Some(link) = self.link(&from) else { return };
        let desc = SessionDescription {
            kind: SdpKind::Answer,
            sdp,
        };
        match link.set_remote_description(desc).await {
            Ok(negotiated) => self.negotiated(&from, negotiated).await,
            Err(source) => self.link_failed(from, source),
        }
    }

    /// The remote description is applied: flush held candidates, add the stream to the engine.
    async fn negotiated(&mut self, id: &PeerId, negotiated: Negotiated) {
        let frame = self.frame;
        let Some(peer) = self.peers.get_mut(id) else {
            return;
        };
        peer.remote_description = true;
        peer.negotiated = Some(negotiated);
        let native = negotiated.remote_red;
        peer.send = match (native, negotiated.frame == frame) {
            (true, true) => Some(Stream::Native),
            (true, false) => None,
            (false, _) => Some(Stream::Plain(negotiated.frame)),
        };
        let pending = std::mem::take(&mut peer.pending_candidates);
        let link = Arc::clone(&peer.link);
        let needs_engine = peer.engine.is_none();
        for candidate in pending {
            // Candidates from before an ICE restart are refused; that is expected.
            let _ = link.add_remote_candidate(candidate).await;
        }
        self.sync_plain_streams();
        if native && negotiated.frame != frame {
            self.emit(SessionEvent::Error(SessionError::FrameMismatch {
                peer: id.clone(),
                negotiated_us: micros(negotiated.frame),
                ours_us: micros(frame),
            }));
        }
        if !needs_engine {
            return;
        }
        let mut config: PeerConfig = self.config.peer.clone();
        config.jitter.frame = negotiated.frame;
        if !native {
            config.jitter.payload = PayloadFormat::Plain;
        }
        match self.network.add_peer(config) {
            Ok(engine) => {
                if let Some(peer) = self.peers.get_mut(id) {
                    peer.engine = Some(engine);
                }
                lock(&self.shared.peers).insert(id.clone(), engine);
                self.emit(SessionEvent::PeerMedia {
                    peer: id.clone(),
                    frame: negotiated.frame,
                });
            }
            Err(e) => self.emit(SessionEvent::Error(SessionError::Engine(e))),
        }
    }

    async fn on_remote_candidate(&mut self, from: PeerId, candidate: protocol::IceCandidate) {
        let Some(peer) = self.peers.get_mut(&from) else {
            return;
        };
        let candidate = IceCandidate {
            candidate: candidate.candidate,
            sdp_mid: candidate.sdp_mid,
            sdp_mline_index: candidate.sdp_m_line_index,
        };
        if !peer.remote_description {
            peer.pending_candidates.push(candidate);
            return;
        }
        // Stale candidates around an ICE restart are refused; that is expected.
        let _ = peer.link.add_remote_candidate(candidate).await;
    }

    async fn add_link(&mut self, id: &PeerId, offerer: bool) -> Result<(), TransportError> {
        let mut config = self.config.link.clone();
        config.ice_servers = self.ice_servers.clone();
        config.frames = FramePolicy {
            preferred: self.frame,
            min: self.frame,
            max: FrameDuration::Ms20,
        };
        let (link, mut events) = WebRtcLink::new(config).await?;
        self.next_link_id += 1;
        let link_id = self.next_link_id;
        let dropped = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (tx, peer_id, dropped_in_task) =
            (self.merged_tx.clone(), id.clone(), Arc::clone(&dropped));
        let forward = tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                let tagged = (peer_id.clone(), link_id, event);
                if matches!(tagged.2, LinkEvent::Rtp(_)) {
                    if tx.try_send(tagged).is_err() {
                        dropped_in_task.fetch_add(1, Ordering::Relaxed);
                    }
                } else if tx.send(tagged).await.is_err() {
                    break;
                }
            }
        });
        self.drop_peer(id);
        self.peers.insert(
            id.clone(),
            Peer {
                link: Arc::new(link),
                link_id,
                forward,
                offerer,
                state: LinkState::New,
                remote_description: false,
                pending_candidates: Vec::new(),
                negotiated: None,
                send: None,
                engine: None,
                clock: ClockSync::new(self.epoch, self.config.clock),
                clock_channel_open: false,
                receive: ReceiveStats::default(),
                dropped,
                last_restart: None,
            },
        );
        Ok(())
    }

    fn link(&self, id: &PeerId) -> Option<Arc<dyn PeerLink>> {
        self.peers.get(id).map(|p| Arc::clone(&p.link))
    }

    /// Negotiating with one peer failed: drop its link; the others go on.
    fn link_failed(&mut self, peer: PeerId, source: TransportError) {
        self.drop_peer(&peer);
        self.emit(SessionEvent::Error(SessionError::Link { peer, source }));
    }

    /// Removes a peer's link and engine stream (its audio stops; the others play on).
    fn drop_peer(&mut self, id: &PeerId) {
        let Some(peer) = self.peers.remove(id) else {
            return;
        };
        peer.forward.abort();
        if let Some(engine) = peer.engine {
            lock(&self.shared.peers).remove(id);
            if let Err(e) = self.network.remove_peer(engine) {
                self.emit(SessionEvent::Error(SessionError::Engine(e)));
            }
        }
        let link = peer.link;
        tokio::spawn(async move {
            let _ = link.close().await;
        });
        self.sync_plain_streams();
    }

    /// Encodes a plain-Opus stream for each frame some browser peer needs, and no other.
    fn sync_plain_streams(&mut self) {
        let mut frames: Vec<FrameDuration> = Vec::new();
        for peer in self.peers.values() {
            if let Some(Stream::Plain(frame)) = peer.send
                && !frames.contains(&frame)
            {
                frames.push(frame);
            }
        }
        if let Err(e) = self.network.set_plain_streams(&frames) {
            self.emit(SessionEvent::Error(SessionError::Engine(e)));
        }
    }

    // ---- link events -----------------------------------------------------------------------

    async fn on_link_event(&mut self, id: PeerId, link_id: u64, event: LinkEvent) {
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        if peer.link_id != link_id {
            return; // From a link that has been replaced.
        }
        match event {
            LinkEvent::Rtp(packet) => {
                peer.receive
                    .on_packet(packet.arrival, packet.sequence, packet.timestamp);
                if let Some(engine) = peer.engine {
                    // Refusals are counted by the engine (ring full, oversized) or harmless
                    // (a packet racing the peer's removal).
                    let _ = self.network.receive(
                        engine,
                        packet.arrival,
                        packet.sequence,
                        packet.timestamp,
                        &packet.payload,
                    );
                }
            }
            LinkEvent::LocalCandidate(c) => {
                let candidate = Some(protocol::IceCandidate {
                    candidate: c.candidate,
                    sdp_mid: c.sdp_mid,
                    sdp_m_line_index: c.sdp_mline_index,
                    username_fragment: None,
                });
                self.send_signal(&ClientMessage::Candidate { to: id, candidate })
                    .await;
            }
            LinkEvent::GatheringComplete => {
                let end = ClientMessage::Candidate {
                    to: id,
                    candidate: None,
                };
                self.send_signal(&end).await;
            }
            LinkEvent::State(state) => self.on_link_state(id, state).await,
            LinkEvent::ChannelOpen(Channel::Unreliable) => peer.clock_channel_open = true,
            LinkEvent::Data {
                channel: Channel::Unreliable,
                data,
            } => self.on_clock_message(id, data).await,
            _ => {}
        }
    }

    async fn on_link_state(&mut self, id: PeerId, state: LinkState) {
        let interval = self.config.ice_restart_interval;
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        peer.state = state;
        self.emit(SessionEvent::PeerConnection {
            peer: id.clone(),
            state,
        });
        match state {
            LinkState::Closed => {
                self.drop_peer(&id);
            }
            LinkState::Disconnected | LinkState::Failed => {
                self.maybe_restart_ice(&id, interval).await
            }
            _ => {}
        }
    }

    /// The side that offered first restarts ICE (so both never offer at once), at most once
    /// per `interval` while the link stays down; housekeeping retries.
    /// Not while signalling is down: the offer could not be answered, and a queue of restart
    /// offers would be answered out of turn after the rejoin.
    async fn maybe_restart_ice(&mut self, id: &PeerId, interval: Duration) {
        let now = Instant::now();
        if !self.signal.online() {
            return;
        }
        let Some(peer) = self.peers.get_mut(id) else {
            return;
        };
        let down = matches!(peer.state, LinkState::Disconnected | LinkState::Failed);
        let due = peer
            .last_restart
            .is_none_or(|t| now.duration_since(t) >= interval);
        if !(peer.offerer && down && due && peer.remote_description) {
            return;
        }
        peer.last_restart = Some(now);
        peer.remote_description = false;
        let link = Arc::clone(&peer.link);
        match link.restart_ice().await {
            Ok(offer) => {
                let to = id.clone();
                self.send_signal(&ClientMessage::Offer { to, sdp: offer.sdp })
                    .await;
            }
            Err(source) => self.link_failed(id.clone(), source),
        }
    }

    async fn on_clock_message(&mut self, id: PeerId, data: Bytes) {
        let now = Instant::now();
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        match PeerMessage::decode(&data) {
            Ok(PeerMessage::ClockPing(ping)) => {
                let pong =
                    PeerMessage::ClockPong(peer.clock.handle_ping(ping, now, Instant::now()));
                let _ = peer
                    .link
                    .send_data(Channel::Unreliable, pong.encode().as_bytes())
                    .await;
            }
            Ok(PeerMessage::ClockPong(pong)) => {
                // A refused pong (duplicate, forged) is counted by ClockSync and dropped.
                let _ = peer.clock.handle_pong(pong, now);
            }
            Err(source) => {
                self.emit(SessionEvent::Error(SessionError::PeerProtocol {
                    peer: id,
                    source,
                }));
            }
        }
    }

    // ---- media and timers ------------------------------------------------------------------

    /// Drains the capture: every encoded frame goes to every connected peer.
    async fn send_media(&mut self) {
        let Self { network, peers, .. } = self;
        while let Some(packet) = network.poll_packet() {
            for peer in peers.values() {
                if peer.send == Some(packet.stream) && peer.state == LinkState::Connected {
                    // A failure here is a link going down; its state event handles it.
                    let _ = peer
                        .link
                        .send_rtp(RtpOut {
                            sequence: packet.sequence,
                            timestamp: packet.timestamp,
                            marker: false,
                            payload: packet.payload,
                        })
                        .await;
                }
            }
        }
    }

    async fn housekeeping(&mut self) {
        let now = Instant::now();
        // Clock pings.
        for peer in self.peers.values_mut() {
            if !(peer.clock_channel_open && peer.state == LinkState::Connected) {
                continue;
            }
            if let Some(ping) = peer.clock.poll_ping(now) {
                let message = PeerMessage::ClockPing(ping).encode();
                let _ = peer
                    .link
                    .send_data(Channel::Unreliable, message.as_bytes())
                    .await;
            }
        }
        // ICE restarts that are due again.
        let interval = self.config.ice_restart_interval;
        let down: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, p)| matches!(p.state, LinkState::Disconnected | LinkState::Failed))
            .map(|(id, _)| id.clone())
            .collect();
        for id in down {
            self.maybe_restart_ice(&id, interval).await;
        }
        // Signalling: heartbeat, rejoin timeout, reconnect.
        if self
            .signal
            .awaiting_welcome
            .is_some_and(|t| now.duration_since(t) > self.config.join_timeout)
        {
            self.signalling_lost("no welcome in time after rejoining".into());
        }
        // A connection that went silent (a network change can leave TCP stalled for minutes
        // without an error): two heartbeats without a pong count as lost, so the rejoin —
        // and the resume — happens while the relay still holds our seat.
        if self.signal.online()
            && now.duration_since(self.signal.last_heard) > 2 * self.signal.heartbeat
        {
            self.signalling_lost("no reply from the server for two heartbeat intervals".into());
        }
        if self.signal.conn.is_some()
            && self.signal.awaiting_welcome.is_none()
            && now >= self.signal.next_heartbeat
        {
            self.signal.next_heartbeat = now + self.signal.heartbeat;
            self.signal.nonce = self.signal.nonce.wrapping_add(1);
            let nonce = self.signal.nonce;
            self.send_signal(&ClientMessage::Ping { nonce }).await;
        }
        if self.signal.conn.is_none()
            && self.signal.connecting.is_none()
            && self.signal.retry_at.is_some_and(|t| now >= t)
        {
            self.signal.retry_at = None;
            let (url, mut join) = (self.url.clone(), self.join.clone());
            join.resume = self.signal.resume_token.clone().map(|token| Resume {
                peer_id: self.self_id.clone(),
                token,
            });
            let tokens = self.tokens.clone();
            let timeout = self.config.join_timeout;
            self.signal.connecting = Some(tokio::spawn(async move {
                if let Some(tokens) = tokens {
                    join.auth = Auth::Token {
                        access_token: tokens.fetch().await?,
                    };
                }
                let join = ClientMessage::Join(join);
                let mut conn = tokio::time::timeout(timeout, SignalConnection::connect(&url))
                    .await
                    .map_err(|_| SessionError::Timeout)??;
                conn.send(&join).await?;
                Ok(conn)
            }));
        }
    }

    fn emit_stats(&mut self) {
        let now = Instant::now();
        let stats: Vec<PeerStatistics> = self
            .peers
            .iter()
            .map(|(id, peer)| {
                let clock = peer.clock.estimate(now);
                let engine = peer.engine.and_then(|e| self.control.peer_stats(e));
                let latency = peer
                    .engine
                    .and_then(|e| self.control.latency(e))
                    .map(|mut l| {
                        l.network_one_way = clock.map(|c| c.one_way);
                        l
                    });
                PeerStatistics {
                    peer: id.clone(),
                    display_name: self.roster.get(id).map(|p| p.display_name.clone()),
                    state: peer.state,
                    frame: peer.negotiated.map(|n| n.frame),
                    rtt: clock.map(|c| c.rtt),
                    one_way: clock.map(|c| c.one_way),
                    clock_offset_us: clock.map(|c| c.offset_us),
                    receive: peer.receive.snapshot(),
                    dropped_rtp: peer.link.dropped_rtp() + peer.dropped.load(Ordering::Relaxed),
                    concealed: engine.map_or(0.0, |s| s.concealed_ratio()),
                    engine,
                    latency,
                }
            })
            .collect();
        self.emit(SessionEvent::Stats(stats));
    }

    fn emit(&self, event: SessionEvent) {
        if self.events.try_send(event).is_err() {
            self.shared.dropped_events.fetch_add(1, Ordering::Relaxed);
        }
    }

    async fn shutdown(&mut self) {
        if let Some(conn) = self.signal.conn.as_mut() {
            let _ = conn.send(&ClientMessage::Leave).await;
        }
        if let Some(conn) = self.signal.conn.take() {
            conn.close().await;
        }
        if let Some(connecting) = self.signal.connecting.take() {
            connecting.abort();
        }
        let ids: Vec<PeerId> = self.peers.keys().cloned().collect();
        for id in ids {
            self.drop_peer(&id);
        }
        *lock(&self.shared.local_id) = None;
        self.emit(SessionEvent::Ended);
    }
}

/// The next message of the signalling connection; pending forever while offline.
async fn recv_signal(conn: &mut Option<SignalConnection>) -> Incoming {
    match conn {
        Some(conn) => conn.recv().await,
        None => std::future::pending().await,
    }
}

/// The result of the reconnect attempt in flight; pending forever without one.
async fn join_connect(
    task: &mut Option<JoinHandle<Result<SignalConnection, SessionError>>>,
) -> Result<SignalConnection, SessionError> {
    match task {
        Some(task) => task
            .await
            .unwrap_or_else(|e| Err(SessionError::Signalling(e.to_string()))),
        None => std::future::pending().await,
    }
}

fn convert_ice_server(server: &protocol::IceServer) -> IceServer {
    IceServer {
        urls: server.urls.clone(),
        username: server.username.clone().unwrap_or_default(),
        credential: server.credential.clone().unwrap_or_default(),
    }
}

fn micros(frame: FrameDuration) -> u32 {
    u32::try_from(frame.as_duration().as_micros()).unwrap_or(u32::MAX)
}

pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Completes when the capture (probably) holds a frame to send: on the pacer's wake-up, or on
/// the fixed tick without one.
async fn frame_ready(pacer: Option<&Pacer>, tick: &mut tokio::time::Interval) {
    match pacer {
        Some(pacer) => pacer.ready().await,
        None => {
            tick.tick().await;
        }
    }
}
