//! One signalling WebSocket: a read loop (this task) that decodes client messages, admits the
//! join and hands deliveries to the hub, and one writer task that drains the connection's
//! bounded queue onto the socket in order and sends WebSocket pings every heartbeat.
//!
//! Closing: the client closes or errs, the idle timeout passes (no protocol message — a `ping`
//! counts, WebSocket control frames do not), a join is refused, the frame is far beyond the size
//! limit, or the hub kicks the connection (slow consumer, room closed, resumed elsewhere). The
//! seat is released (peers see `peer_left`, occupancy is reported) at once after `leave`, the
//! client's close frame, a refusal or a kick; a connection that just drops (transport error, end
//! of stream without a close frame, idle timeout) only detaches it, and the seat is released
//! after `--signal-resume-grace-ms` unless its client resumes it first (see `hub`). In every
//! case an error reply and a close frame are queued, and the writer gets a short grace period to
//! deliver them before it is stopped.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;
use tutti_core::protocol::{
    ClientMessage, ErrorCode, IceServer, Join, PeerId, PeerInfo, ServerMessage, Welcome,
};

use super::hub::{Outbound, PeerLink, ResumeKey, Seat, encode};
use super::join::admit;
use super::metrics::Count;
use crate::AppState;

/// How long the closing handshake may take (writer flush, then the client's close frame).
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// WebSocket close codes (RFC 6455 §7.4.1).
const CLOSE_NORMAL: u16 = 1000;
const CLOSE_POLICY: u16 = 1008;
const CLOSE_TOO_BIG: u16 = 1009;

/// What the read loop does after a message.
enum Flow {
    Continue,
    Close { code: u16, reason: &'static str },
}

/// How a connection ended, for its seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// On purpose (close frame, refusal, kick): release the seat now.
    Release,
    /// The connection was lost: hold the seat for the grace period.
    Lost,
}

/// Why the read loop stopped: the close frame to send, and what becomes of the seat.
type Stop = (u16, &'static str, Ending);

/// Serves one upgraded WebSocket until it closes.
pub(crate) async fn run(socket: WebSocket, state: AppState, ip: IpAddr) {
    let config = &state.config.signalling;
    let heartbeat = Duration::from_millis(config.signal_heartbeat_ms.max(1));
    let idle_timeout = Duration::from_millis(config.signal_idle_timeout_ms.max(1));
    let (sink, mut stream) = socket.split();
    let (tx, rx) = mpsc::channel(config.signal_queue.max(1));
    let kick = Arc::new(Notify::new());
    let mut writer = tokio::spawn(write_loop(sink, rx, heartbeat));
    state.signalling.hub.metrics.connection_opened();
    let mut conn = Connection {
        link: PeerLink::new(tx, Arc::clone(&kick)),
        seat: None,
        state,
        ip,
    };
    let (code, reason, ending) = conn.read_loop(&mut stream, &kick, idle_timeout).await;
    if let Some(seat) = conn.seat.take() {
        release(&conn.state, seat, ending);
    }
    conn.state.signalling.hub.metrics.connection_closed();
    conn.link.offer(Outbound::Close { code, reason });
    drop(conn);
    // Closing handshake: let the writer deliver the last messages and the close frame, then
    // wait for the client's close frame, so the socket is not dropped under data still in
    // flight (which would reset the connection and could discard the error reply).
    let handshake = async {
        let _ = (&mut writer).await;
        while let Some(Ok(frame)) = stream.next().await {
            if matches!(frame, Message::Close(_)) {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(CLOSE_GRACE, handshake).await;
    writer.abort();
}

/// Gives up a seat at once, or after the resume grace period if the connection was lost.
fn release(state: &AppState, seat: Seat, ending: Ending) {
    let hub = &state.signalling.hub;
    let grace = Duration::from_millis(state.config.signalling.signal_resume_grace_ms);
    if ending == Ending::Release || grace.is_zero() {
        hub.leave(&seat);
        return;
    }
    hub.detach(&seat);
    let hub = Arc::clone(hub);
    tokio::spawn(async move {
        tokio::time::sleep(grace).await;
        hub.leave(&seat); // A no-op if the seat was resumed meanwhile.
    });
}

/// Drains the queue onto the socket in order; pings every `heartbeat`.
async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Outbound>,
    heartbeat: Duration,
) {
    let mut ping = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let message = tokio::select! {
            item = rx.recv() => match item {
                Some(Outbound::Text(text)) => Message::Text(text),
                Some(Outbound::Close { code, reason }) => {
                    let frame = CloseFrame { code, reason: reason.into() };
                    let _ = sink.send(Message::Close(Some(frame))).await;
                    return;
                }
                None => {
                    let _ = sink.close().await;
                    return;
                }
            },
            _ = ping.tick() => Message::Ping(Bytes::new()),
        };
        if sink.send(message).await.is_err() {
            return;
        }
    }
}

struct Connection {
    state: AppState,
    ip: IpAddr,
    link: PeerLink,
    seat: Option<Seat>,
}

impl Connection {
    /// Reads until a reason to close; returns the close code and reason.
    async fn read_loop(
        &mut self,
        stream: &mut SplitStream<WebSocket>,
        kick: &Notify,
        idle_timeout: Duration,
    ) -> Stop {
        let idle = tokio::time::sleep(idle_timeout);
        tokio::pin!(idle);
        loop {
            let frame = tokio::select! {
                frame = stream.next() => frame,
                () = &mut idle => {
                    self.state.signalling.hub.metrics.count(Count::IdleTimeout);
                    self.reply(&ServerMessage::error(
                        ErrorCode::IdleTimeout,
                        "no message within the idle timeout; send a ping every heartbeat interval",
                    ));
                    return (CLOSE_NORMAL, "idle_timeout", Ending::Lost);
                }
                () = kick.notified() => {
                    return (CLOSE_POLICY, "disconnected by the server", Ending::Release);
                }
            };
            let bytes = match frame {
                Some(Ok(Message::Text(text))) => Bytes::from(text),
                Some(Ok(Message::Binary(bytes))) => bytes,
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Close(_))) => return (CLOSE_NORMAL, "bye", Ending::Release),
                None => return (CLOSE_NORMAL, "bye", Ending::Lost),
                Some(Err(e)) => return self.read_error(e),
            };
            idle.as_mut().reset(Instant::now() + idle_timeout);
            if let Flow::Close { code, reason } = self.handle(&bytes).await {
                return (code, reason, Ending::Release);
            }
        }
    }

    /// A frame beyond the transport limit gets `too_large` before the close; other transport
    /// errors (bad UTF-8, protocol violations, a reset) just end the connection.
    fn read_error(&self, error: axum::Error) -> Stop {
        let too_big = error
            .into_inner()
            .downcast_ref::<tungstenite::Error>()
            .is_some_and(|e| matches!(e, tungstenite::Error::Capacity(_)));
        if too_big {
            self.state.signalling.hub.metrics.count(Count::BadMessage);
            self.reply(&ServerMessage::error(
                ErrorCode::TooLarge,
                "frame far beyond the message size limit; closing",
            ));
            return (CLOSE_TOO_BIG, "message too big", Ending::Release);
        }
        (CLOSE_NORMAL, "transport error", Ending::Lost)
    }

    /// Queues a reply to this client; a full queue makes it a slow consumer.
    fn reply(&self, message: &ServerMessage) {
        if !self.link.offer(Outbound::Text(encode(message))) {
            self.state.signalling.hub.metrics.count(Count::SlowConsumer);
            self.link.kick();
        }
    }

    fn not_in_room(&self) -> Flow {
        self.reply(&ServerMessage::error(
            ErrorCode::NotInRoom,
            "join a room first",
        ));
        Flow::Continue
    }

    async fn handle(&mut self, bytes: &[u8]) -> Flow {
        let message = match ClientMessage::decode(bytes) {
            Ok(message) => message,
            Err(e) => {
                self.state.signalling.hub.metrics.count(Count::BadMessage);
                self.reply(&ServerMessage::decode_error(&e));
                return Flow::Continue;
            }
        };
        match message {
            ClientMessage::Join(join) => return self.join(join).await,
            ClientMessage::Ping { nonce } => self.reply(&ServerMessage::Pong { nonce }),
            ClientMessage::Leave => match self.seat.take() {
                Some(seat) => self.state.signalling.hub.leave(&seat),
                None => return self.not_in_room(),
            },
            ClientMessage::Offer { to, sdp } => {
                return self.relay(&to, |from| ServerMessage::Offer { from, sdp });
            }
            ClientMessage::Answer { to, sdp } => {
                return self.relay(&to, |from| ServerMessage::Answer { from, sdp });
            }
            ClientMessage::Candidate { to, candidate } => {
                return self.relay(&to, |from| ServerMessage::Candidate { from, candidate });
            }
            ClientMessage::Chat { text } => {
                let Some(seat) = &self.seat else {
                    return self.not_in_room();
                };
                let chat = ServerMessage::Chat {
                    from: seat.peer.clone(),
                    text,
                };
                self.state.signalling.hub.send_to_room(seat, &chat);
            }
            _ => self.reply(&ServerMessage::error(
                ErrorCode::Malformed,
                "this server does not handle that message type",
            )),
        }
        Flow::Continue
    }

    fn relay(&self, to: &PeerId, build: impl FnOnce(PeerId) -> ServerMessage) -> Flow {
        let Some(seat) = &self.seat else {
            return self.not_in_room();
        };
        let message = build(seat.peer.clone());
        if let Err(code) = self.state.signalling.hub.send_to(seat, to, &message) {
            self.reply(&ServerMessage::error(
                code,
                &format!("no peer {to} in this room"),
            ));
        }
        Flow::Continue
    }

    async fn join(&mut self, join: Join) -> Flow {
        if self.seat.is_some() {
            self.reply(&ServerMessage::error(
                ErrorCode::AlreadyJoined,
                "already in a room; leave first",
            ));
            return Flow::Continue;
        }
        let signalling = &self.state.signalling;
        let admission = match admit(&self.state, self.ip, &join).await {
            Ok(admission) => admission,
            Err(e) => {
                signalling.hub.metrics.count(Count::RefusedJoin);
                if let super::JoinError::Internal(source) = &e {
                    tracing::error!(error = %source, "signalling: join check failed");
                }
                self.reply(&ServerMessage::error(e.code(), &e.to_string()));
                return Flow::Close {
                    code: CLOSE_POLICY,
                    reason: "join refused",
                };
            }
        };
        let heartbeat_interval_ms =
            u32::try_from(self.state.config.signalling.signal_heartbeat_ms).unwrap_or(u32::MAX);
        let account = admission.user_id.as_deref();
        let welcome = |peer_id: PeerId, room, token: &str, resumed| {
            // TURN credentials are per account, or per peer id for anonymous musicians.
            let turn_user = account.map_or_else(|| peer_id.to_string(), str::to_owned);
            let now = u64::try_from(crate::db::unix_now()).unwrap_or(0);
            let ice_servers: Vec<IceServer> = signalling.ice.for_user(&turn_user, now);
            ServerMessage::Welcome(Welcome {
                peer_id,
                room,
                ice_servers,
                heartbeat_interval_ms,
                resume_token: Some(token.to_owned()),
                resumed,
            })
        };
        if let Some(resume) = &join.resume {
            let resumed = signalling.hub.resume(
                &join.room,
                &resume.peer_id,
                &resume.token,
                account,
                self.link.clone(),
                |room, key| welcome(resume.peer_id.clone(), room, &key.token, true),
            );
            if let Some(seat) = resumed {
                signalling.hub.metrics.count(Count::Resumed);
                self.seat = Some(seat);
                return Flow::Continue;
            }
            // Not resumable (unknown seat, wrong token or account, expired): a fresh join.
        }
        let peer_id = super::new_peer_id();
        let key = ResumeKey {
            token: super::new_resume_token(),
            account: admission.user_id.clone(),
        };
        let token = key.token.clone();
        let info = PeerInfo {
            id: peer_id.clone(),
            display_name: admission.display_name,
            client: join.client,
            frame_sizes: join.frame_sizes,
        };
        match signalling.hub.enter(
            &join.room,
            admission.room.capacity,
            info,
            self.link.clone(),
            key,
            |room| welcome(peer_id, room, &token, false),
        ) {
            Ok(seat) => {
                signalling.hub.metrics.count(Count::Join);
                self.seat = Some(seat);
                Flow::Continue
            }
            Err(code) => {
                signalling.hub.metrics.count(Count::RefusedJoin);
                self.reply(&ServerMessage::error(code, "the room is full"));
                Flow::Close {
                    code: CLOSE_NORMAL,
                    reason: "room full",
                }
            }
        }
    }
}
