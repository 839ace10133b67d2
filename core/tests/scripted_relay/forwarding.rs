//! A small relay that forwards between real sessions, as the reference server does, with
//! resume (protocol revision 2) — and lets a test cut one connection without a closing
//! handshake, hold joins that ask to resume back, and forget a seat (as a restarted server
//! would).
//! It records every offer it forwards, so a test can tell a kept link from a rebuilt one.

use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::Message;
use tutti_core::protocol::{
    ClientMessage, PeerId, PeerInfo, RoomId, RoomState, ServerMessage, Welcome,
};

/// One seat: its peer, resume token, and the connection holding it (none while detached).
struct Seat {
    info: PeerInfo,
    token: String,
    conn: Option<(u64, mpsc::UnboundedSender<ServerMessage>)>,
    cut: Option<oneshot::Sender<()>>,
    held: Vec<ServerMessage>,
}

#[derive(Default)]
struct State {
    seats: Vec<Seat>,
    next: u64,
    /// (from, to) of every offer forwarded.
    offers: Vec<(PeerId, PeerId)>,
}

impl State {
    fn seat(&mut self, id: &PeerId) -> Option<&mut Seat> {
        self.seats.iter_mut().find(|s| s.info.id == *id)
    }

    /// Delivers to `to`, or holds the message while its seat is detached (presence is not
    /// held: the resume welcome lists the room as it is, as the reference server does).
    fn deliver(&mut self, to: &PeerId, message: ServerMessage) {
        let presence = matches!(
            message,
            ServerMessage::PeerJoined { .. } | ServerMessage::PeerLeft { .. }
        );
        if let Some(seat) = self.seat(to) {
            match &seat.conn {
                Some((_, tx)) => {
                    let _ = tx.send(message);
                }
                None if presence => {}
                None => seat.held.push(message),
            }
        }
    }

    fn broadcast(&mut self, except: &PeerId, message: &ServerMessage) {
        let others: Vec<PeerId> = self
            .seats
            .iter()
            .filter(|s| s.info.id != *except)
            .map(|s| s.info.id.clone())
            .collect();
        for id in others {
            self.deliver(&id, message.clone());
        }
    }

    fn remove(&mut self, id: &PeerId) {
        self.seats.retain(|s| s.info.id != *id);
        self.broadcast(
            id,
            &ServerMessage::PeerLeft {
                peer_id: id.clone(),
            },
        );
    }
}

/// The relay; serves until dropped.
pub struct ForwardingRelay {
    /// `http://127.0.0.1:port`.
    pub url: String,
    state: Arc<Mutex<State>>,
    open: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ForwardingRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap()
}

impl ForwardingRelay {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let (open, gate) = watch::channel(true);
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let gate = gate.clone();
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    if let Ok(ws) = tokio_tungstenite::accept_async(tcp).await {
                        serve(ws, state, gate).await;
                    }
                });
            }
        });
        Self {
            url,
            state,
            open,
            task,
        }
    }

    /// Holds joins that ask to resume back (`true`: they wait, unanswered) or lets them and
    /// those waiting through (`false`). Fresh joins always go through.
    pub fn hold_resumes(&self, hold: bool) {
        self.open.send_replace(!hold);
    }

    /// Drops `id`'s connection without a closing handshake; its seat is held.
    pub fn cut(&self, id: &PeerId) {
        let cut = lock(&self.state).seat(id).and_then(|s| s.cut.take());
        cut.expect("a connected seat").send(()).unwrap();
    }

    /// Gives up `id`'s seat (announces `peer_left`), as a server that restarted has.
    pub fn forget(&self, id: &PeerId) {
        lock(&self.state).remove(id);
    }

    /// Offers forwarded so far, as (from, to).
    pub fn offers(&self) -> Vec<(PeerId, PeerId)> {
        lock(&self.state).offers.clone()
    }
}

async fn serve(
    ws: tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    state: Arc<Mutex<State>>,
    mut gate: watch::Receiver<bool>,
) {
    let (mut sink, mut stream) = ws.split();
    let Some(Ok(first)) = stream.next().await else {
        return;
    };
    let Ok(ClientMessage::Join(join)) = ClientMessage::decode(first.into_data().as_ref()) else {
        return;
    };
    if join.resume.is_some() {
        let _ = gate.wait_for(|open| *open).await;
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (cut_tx, mut cut_rx) = oneshot::channel();
    let (me, conn) = {
        let mut state = lock(&state);
        state.next += 1;
        let conn = state.next;
        let room = |state: &State| RoomState {
            room: RoomId::new("room-1").unwrap(),
            capacity: 6,
            peers: state.seats.iter().map(|s| s.info.clone()).collect(),
        };
        let resumable = join.resume.as_ref().and_then(|r| {
            state
                .seats
                .iter()
                .position(|s| s.info.id == r.peer_id && s.token == r.token)
        });
        let me = match resumable {
            Some(pos) => {
                let room = room(&state);
                let seat = &mut state.seats[pos];
                let welcome = Welcome {
                    peer_id: seat.info.id.clone(),
                    room,
                    ice_servers: vec![],
                    heartbeat_interval_ms: 15_000,
                    resume_token: Some(seat.token.clone()),
                    resumed: true,
                };
                tx.send(ServerMessage::Welcome(welcome)).unwrap();
                for held in seat.held.drain(..) {
                    tx.send(held).unwrap();
                }
                seat.conn = Some((conn, tx.clone()));
                seat.cut = Some(cut_tx);
                seat.info.id.clone()
            }
            None => {
                let info = PeerInfo {
                    id: PeerId::new(format!("p{conn}")).unwrap(),
                    display_name: "musician".into(),
                    client: join.client,
                    frame_sizes: join.frame_sizes.clone(),
                };
                let token = format!("token-{conn}");
                let me = info.id.clone();
                let joined = ServerMessage::PeerJoined { peer: info.clone() };
                state.seats.push(Seat {
                    info,
                    token: token.clone(),
                    conn: Some((conn, tx.clone())),
                    cut: Some(cut_tx),
                    held: Vec::new(),
                });
                let welcome = Welcome {
                    peer_id: me.clone(),
                    room: room(&state),
                    ice_servers: vec![],
                    heartbeat_interval_ms: 15_000,
                    resume_token: Some(token),
                    resumed: false,
                };
                tx.send(ServerMessage::Welcome(welcome)).unwrap();
                state.broadcast(&me, &joined);
                me
            }
        };
        (me, conn)
    };
    loop {
        tokio::select! {
            Some(out) = rx.recv() => {
                if sink.send(Message::text(out.encode())).await.is_err() {
                    break;
                }
            }
            frame = stream.next() => {
                let Some(Ok(frame)) = frame else { break };
                if frame.is_close() {
                    lock(&state).remove(&me);
                    return;
                }
                let Ok(message) = ClientMessage::decode(frame.into_data().as_ref()) else {
                    continue;
                };
                let mut state = lock(&state);
                let from = me.clone();
                match message {
                    ClientMessage::Offer { to, sdp } => {
                        state.offers.push((from.clone(), to.clone()));
                        state.deliver(&to, ServerMessage::Offer { from, sdp });
                    }
                    ClientMessage::Answer { to, sdp } => {
                        state.deliver(&to, ServerMessage::Answer { from, sdp });
                    }
                    ClientMessage::Candidate { to, candidate } => {
                        state.deliver(&to, ServerMessage::Candidate { from, candidate });
                    }
                    ClientMessage::Chat { text } => {
                        state.broadcast(&me, &ServerMessage::Chat { from, text });
                    }
                    ClientMessage::Ping { nonce } => {
                        let _ = tx.send(ServerMessage::Pong { nonce });
                    }
                    ClientMessage::Leave => {
                        state.remove(&me);
                        return;
                    }
                    _ => {}
                }
            }
            _ = &mut cut_rx => break,
        }
    }
    // Cut or broken: detach (if the seat is still this connection's), no closing handshake.
    if let Some(seat) = lock(&state).seat(&me)
        && seat.conn.as_ref().is_some_and(|(c, _)| *c == conn)
    {
        seat.conn = None;
    }
}
