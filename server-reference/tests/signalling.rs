//! The signalling relay over real WebSockets: a server bound on 127.0.0.1:0 (SQLite) and
//! tokio-tungstenite clients speaking `tutti_core::protocol`.
//!
//! No assertion depends on timing: "nothing arrived" is shown by a ping whose pong is the next
//! message (delivery to one client is ordered), and every wait has a generous fail-safe timeout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::{TempFile, TestApp, User};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};
use tutti_core::protocol::{
    Auth, ClientKind, ClientMessage, ErrorCode, FrameSize, IceCandidate, Join, PeerId, Resume,
    RoomId, ServerMessage, Welcome,
};
use tutti_server::lobby::LobbyEvent;
use tutti_server::{AppState, Config, app};

/// Fail-safe for every wait (a hang fails the test instead of blocking CI); never asserted on.
const WAIT: Duration = Duration::from_secs(20);

struct Server {
    app: TestApp,
    addr: SocketAddr,
    _file: TempFile,
}

async fn server(tweak: impl Fn(&mut Config)) -> Server {
    let (url, file) = common::temp_sqlite();
    let mut config = Config::with_database(&url);
    config.demo_data = false;
    config.db_max_connections = 4;
    tweak(&mut config);
    let state = AppState::new(config).await.expect("start state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, router).await });
    Server {
        app: TestApp::wrap("sqlite", &url, state),
        addr,
        _file: file,
    }
}

impl Server {
    async fn room(&self, owner: &User, visibility: &str, capacity: u32) -> String {
        let r = self
            .app
            .call(
                Method::POST,
                "/api/v1/rooms",
                Some(&owner.access),
                Some(json!({"name": "jam", "visibility": visibility, "capacity": capacity})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.body["id"].as_str().unwrap().to_owned()
    }

    /// A public room of `capacity`, owned by a fresh account (for tests that only need a room).
    async fn public_room(&self, capacity: u32) -> String {
        let owner = self.app.sign_up("owner@example.org").await;
        self.room(&owner, "public", capacity).await
    }

    /// Anonymous Ada, then Bo, join `room`; returns both clients (Ada has seen Bo arrive)
    /// and Bo's welcome.
    async fn ada_and_bo(&self, room: &str) -> (Client, Client, Welcome) {
        let mut a = self.client().await;
        a.join(room, anonymous("Ada"), None).await;
        let mut b = self.client().await;
        let wb = b.join(room, anonymous("Bo"), None).await;
        assert!(matches!(a.recv().await, ServerMessage::PeerJoined { .. }));
        (a, b, wb)
    }

    async fn client(&self) -> Client {
        let (ws, _) =
            tokio::time::timeout(WAIT, connect_async(format!("ws://{}/signal", self.addr)))
                .await
                .expect("connect in time")
                .expect("WebSocket handshake");
        Client { ws }
    }

    async fn metrics(&self) -> String {
        self.app.get("/metrics").await.text
    }

    /// Waits until the relay has finished with closed connections: `want` are still open. (The
    /// gauge drops after the seat was released or detached, so what follows sees that state.)
    async fn await_connections(&self, want: u32) {
        let line = format!("tutti_signal_connections {want}\n");
        tokio::time::timeout(WAIT, async {
            while !self.metrics().await.contains(&line) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("connections closed in time");
    }
}

struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

fn token(user: &User) -> Auth {
    Auth::Token {
        access_token: user.access.clone(),
    }
}

fn anonymous(name: &str) -> Auth {
    Auth::Anonymous {
        display_name: name.into(),
    }
}

fn join_message(room: &str, auth: Auth, invite: Option<&str>) -> ClientMessage {
    ClientMessage::Join(Join {
        room: RoomId::new(room).expect("room id"),
        auth,
        invite: invite.map(str::to_owned),
        client: ClientKind::Native,
        frame_sizes: vec![FrameSize::Ms2_5, FrameSize::Ms5],
        resume: None,
    })
}

/// A join that asks for the seat `welcome` gave (its peer id and resume token).
fn resume_message(room: &str, auth: Auth, welcome: &Welcome) -> ClientMessage {
    resume_with(room, auth, &welcome.peer_id, welcome_token(welcome))
}

fn resume_with(room: &str, auth: Auth, peer_id: &PeerId, token: &str) -> ClientMessage {
    let ClientMessage::Join(mut join) = join_message(room, auth, None) else {
        unreachable!("join_message builds a join");
    };
    join.resume = Some(Resume {
        peer_id: peer_id.clone(),
        token: token.to_owned(),
    });
    ClientMessage::Join(join)
}

fn welcome_token(welcome: &Welcome) -> &str {
    welcome
        .resume_token
        .as_deref()
        .expect("the relay hands out resume tokens")
}

/// What ended a wait for the next message.
#[derive(Debug)]
enum Next {
    Message(ServerMessage),
    Closed,
}

impl Client {
    async fn send(&mut self, message: &ClientMessage) {
        self.send_raw(message.encode()).await;
    }

    async fn send_raw(&mut self, text: String) {
        self.ws.send(Message::text(text)).await.expect("send");
    }

    async fn next(&mut self) -> Next {
        loop {
            let frame = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a message in time");
            match frame {
                Some(Ok(Message::Text(text))) => {
                    return Next::Message(
                        ServerMessage::decode(text.as_bytes()).expect("valid server message"),
                    );
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Next::Closed,
                Some(Ok(_)) => {}
            }
        }
    }

    async fn recv(&mut self) -> ServerMessage {
        match self.next().await {
            Next::Message(m) => m,
            Next::Closed => panic!("connection closed while a message was expected"),
        }
    }

    /// Expects an error with `code`, then the connection closing.
    async fn expect_refusal(&mut self, code: ErrorCode) {
        self.expect_error(code).await;
        assert!(
            matches!(self.next().await, Next::Closed),
            "connection closes after {code:?}"
        );
    }

    async fn expect_error(&mut self, code: ErrorCode) {
        match self.recv().await {
            ServerMessage::Error { code: got, .. } => assert_eq!(got, code),
            other => panic!("expected error {code:?}, got {other:?}"),
        }
    }

    async fn join(&mut self, room: &str, auth: Auth, invite: Option<&str>) -> Welcome {
        self.send(&join_message(room, auth, invite)).await;
        match self.recv().await {
            ServerMessage::Welcome(w) => w,
            other => panic!("expected welcome, got {other:?}"),
        }
    }

    /// Proves that nothing else was queued for this client: the next message is the pong.
    async fn expect_nothing_pending(&mut self) {
        self.send(&ClientMessage::Ping { nonce: 4242 }).await;
        match self.recv().await {
            ServerMessage::Pong { nonce: 4242 } => {}
            other => panic!("expected only the pong, got {other:?}"),
        }
    }
}

fn peer(id: &PeerId) -> PeerId {
    id.clone()
}

#[tokio::test]
async fn join_presence_relay_and_chat() {
    let s = server(|c| {
        c.signalling.stun_urls = vec!["stun:stun.example.org:3478".into()];
        c.signalling.turn_urls = vec!["turn:turn.example.org:3478".into()];
        c.signalling.turn_secret = Some("north-secret".into());
        c.signalling.signal_heartbeat_ms = 12_000;
    })
    .await;
    let (ua, ub, uc) = (
        s.app.sign_up("a@example.org").await,
        s.app.sign_up("b@example.org").await,
        s.app.sign_up("c@example.org").await,
    );
    let r = s
        .app
        .call(
            Method::POST,
            "/api/v1/profiles",
            Some(&ua.access),
            Some(json!({"display_name": "Ada", "visibility": "public"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let room = s.room(&ua, "public", 4).await;

    let mut a = s.client().await;
    let wa = a.join(&room, token(&ua), None).await;
    assert_eq!(wa.room.room.as_str(), room);
    assert_eq!(wa.room.capacity, 4);
    assert_eq!(wa.room.peers.len(), 1);
    assert_eq!(wa.room.peers[0].id, wa.peer_id);
    assert_eq!(wa.room.peers[0].display_name, "Ada");
    assert_eq!(wa.heartbeat_interval_ms, 12_000);
    assert_eq!(wa.ice_servers.len(), 2);
    assert_eq!(wa.ice_servers[0].urls, ["stun:stun.example.org:3478"]);
    let turn_user = wa.ice_servers[1]
        .username
        .as_deref()
        .expect("TURN username");
    assert!(turn_user.ends_with(&format!(":{}", ua.id)), "{turn_user}");
    assert!(wa.ice_servers[1].credential.is_some());

    let mut b = s.client().await;
    let wb = b.join(&room, token(&ub), None).await;
    assert_eq!(wb.room.peers.len(), 2);
    assert_eq!(
        wb.room.peers[1].display_name, "Musician",
        "no profile: default name"
    );
    match a.recv().await {
        ServerMessage::PeerJoined { peer } => assert_eq!(peer.id, wb.peer_id),
        other => panic!("{other:?}"),
    }
    let mut c = s.client().await;
    let wc = c.join(&room, token(&uc), None).await;
    for x in [&mut a, &mut b] {
        assert!(
            matches!(x.recv().await, ServerMessage::PeerJoined { peer } if peer.id == wc.peer_id)
        );
    }

    // Offer/answer/candidates reach only the addressee, with `from`, in order.
    b.send(&ClientMessage::Offer {
        to: peer(&wa.peer_id),
        sdp: "v=0\r\no=b".into(),
    })
    .await;
    let candidate = IceCandidate {
        candidate: "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host".into(),
        sdp_mid: Some("0".into()),
        sdp_m_line_index: Some(0),
        username_fragment: None,
    };
    b.send(&ClientMessage::Candidate {
        to: peer(&wa.peer_id),
        candidate: Some(candidate.clone()),
    })
    .await;
    b.send(&ClientMessage::Candidate {
        to: peer(&wa.peer_id),
        candidate: None,
    })
    .await;
    assert_eq!(
        a.recv().await,
        ServerMessage::Offer {
            from: peer(&wb.peer_id),
            sdp: "v=0\r\no=b".into()
        }
    );
    assert_eq!(
        a.recv().await,
        ServerMessage::Candidate {
            from: peer(&wb.peer_id),
            candidate: Some(candidate)
        }
    );
    assert_eq!(
        a.recv().await,
        ServerMessage::Candidate {
            from: peer(&wb.peer_id),
            candidate: None
        }
    );
    a.send(&ClientMessage::Answer {
        to: peer(&wb.peer_id),
        sdp: "v=0\r\no=a".into(),
    })
    .await;
    assert_eq!(
        b.recv().await,
        ServerMessage::Answer {
            from: peer(&wa.peer_id),
            sdp: "v=0\r\no=a".into()
        }
    );
    c.expect_nothing_pending().await;

    // Chat goes to everyone else in the room.
    a.send(&ClientMessage::Chat {
        text: "ready?".into(),
    })
    .await;
    for x in [&mut b, &mut c] {
        assert_eq!(
            x.recv().await,
            ServerMessage::Chat {
                from: peer(&wa.peer_id),
                text: "ready?".into()
            }
        );
    }
    a.expect_nothing_pending().await;

    // Addressing someone who is not in the room is an error; the connection stays.
    a.send(&ClientMessage::Offer {
        to: PeerId::new("nobody").unwrap(),
        sdp: "v=0".into(),
    })
    .await;
    a.expect_error(ErrorCode::UnknownPeer).await;
    a.send(&ClientMessage::Offer {
        to: peer(&wa.peer_id),
        sdp: "v=0".into(),
    })
    .await;
    a.expect_error(ErrorCode::UnknownPeer).await;
    // A second join on the same connection is refused; the connection stays.
    a.send(&join_message(&room, token(&ua), None)).await;
    a.expect_error(ErrorCode::AlreadyJoined).await;
    a.expect_nothing_pending().await;

    // Leaving (explicitly, or by closing) is announced to the others.
    c.send(&ClientMessage::Leave).await;
    for x in [&mut a, &mut b] {
        assert_eq!(
            x.recv().await,
            ServerMessage::PeerLeft {
                peer_id: peer(&wc.peer_id)
            }
        );
    }
    c.send(&ClientMessage::Chat {
        text: "hello?".into(),
    })
    .await;
    c.expect_error(ErrorCode::NotInRoom).await;
    b.ws.close(None).await.expect("close");
    assert_eq!(
        a.recv().await,
        ServerMessage::PeerLeft {
            peer_id: peer(&wb.peer_id)
        }
    );
    a.expect_nothing_pending().await;
    assert!(s.metrics().await.contains("tutti_signal_joins_total 3"));
}

#[tokio::test]
async fn full_room_refuses_politely() {
    // No resume grace: a dropped connection gives its seat up at once.
    let s = server(|c| c.signalling.signal_resume_grace_ms = 0).await;
    let room = s.public_room(2).await;
    let mut clients = Vec::new();
    for i in 0..2 {
        let user = s.app.sign_up(&format!("m{i}@example.org")).await;
        let mut c = s.client().await;
        c.join(&room, token(&user), None).await;
        clients.push(c);
    }
    assert!(matches!(
        clients[0].recv().await,
        ServerMessage::PeerJoined { .. }
    ));
    let late = s.app.sign_up("late@example.org").await;
    let mut c = s.client().await;
    c.send(&join_message(&room, token(&late), None)).await;
    c.expect_refusal(ErrorCode::RoomFull).await;
    // Someone leaves: there is space again.
    drop(clients.pop());
    assert!(matches!(
        clients[0].recv().await,
        ServerMessage::PeerLeft { .. }
    ));
    let mut c = s.client().await;
    c.join(&room, token(&late), None).await;
}

#[tokio::test]
async fn private_rooms_need_an_invite() {
    let s = server(|_| {}).await;
    let owner = s.app.sign_up("owner@example.org").await;
    let guest = s.app.sign_up("guest@example.org").await;
    let room = s.room(&owner, "private", 4).await;

    let mut c = s.client().await;
    c.send(&join_message(&room, token(&guest), None)).await;
    c.expect_refusal(ErrorCode::RoomNotFound).await;
    let mut c = s.client().await;
    c.send(&join_message(&room, token(&guest), Some("not-the-invite")))
        .await;
    c.expect_refusal(ErrorCode::InvalidInvite).await;
    // A missing room with an invite looks exactly like a private room with a wrong one.
    let mut c = s.client().await;
    c.send(&join_message(
        "no-such-room",
        token(&guest),
        Some("not-the-invite"),
    ))
    .await;
    c.expect_refusal(ErrorCode::InvalidInvite).await;
    let mut c = s.client().await;
    c.send(&join_message("no-such-room", token(&guest), None))
        .await;
    c.expect_refusal(ErrorCode::RoomNotFound).await;

    let mut o = s.client().await;
    o.join(&room, token(&owner), None).await;
    let r = s
        .app
        .call(
            Method::POST,
            &format!("/api/v1/rooms/{room}/invites"),
            Some(&owner.access),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let invite = r.body["token"].as_str().unwrap();
    let mut g = s.client().await;
    let w = g.join(&room, token(&guest), Some(invite)).await;
    assert_eq!(w.room.peers.len(), 2);
}

#[tokio::test]
async fn bad_expired_and_revoked_tokens_are_refused() {
    let s = server(|_| {}).await;
    let user = s.app.sign_up("u@example.org").await;
    let room = s.room(&user, "public", 4).await;
    let forged = Auth::Token {
        access_token: "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl".into(),
    };
    let claims = s
        .app
        .state
        .tokens
        .verify(&user.access)
        .expect("valid token");
    let expired = s
        .app
        .state
        .tokens
        .issue(
            &user.id,
            &claims.sid,
            tutti_server::db::unix_now() - 10 * 3600,
        )
        .expect("sign");
    for auth in [
        forged,
        Auth::Token {
            access_token: expired,
        },
        anonymous("Ada"),
    ] {
        let mut c = s.client().await;
        c.send(&join_message(&room, auth, None)).await;
        c.expect_refusal(ErrorCode::Unauthorized).await;
    }
    let r = s
        .app
        .call(
            Method::POST,
            "/api/v1/auth/logout",
            Some(&user.access),
            None,
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    let mut c = s.client().await;
    c.send(&join_message(&room, token(&user), None)).await;
    c.expect_refusal(ErrorCode::Unauthorized).await;
    assert!(
        s.metrics()
            .await
            .contains("tutti_signal_refused_joins_total 4")
    );
}

#[tokio::test]
async fn anonymous_switch_accepts_display_names() {
    let s = server(|c| c.signalling.allow_anonymous_signalling = true).await;
    let owner = s.app.sign_up("owner@example.org").await;
    let room = s.room(&owner, "public", 4).await;
    let mut a = s.client().await;
    let wa = a.join(&room, anonymous("Ada L."), None).await;
    assert_eq!(wa.room.peers[0].display_name, "Ada L.");
    assert!(wa.ice_servers.is_empty(), "none configured");
    let mut b = s.client().await;
    let wb = b.join(&room, anonymous("Bo"), None).await;
    assert!(
        matches!(a.recv().await, ServerMessage::PeerJoined { peer } if peer.display_name == "Bo" && peer.id == wb.peer_id)
    );
    // Private rooms still need an invite.
    let private = s.room(&owner, "private", 4).await;
    let mut c = s.client().await;
    c.send(&join_message(&private, anonymous("Cy"), None)).await;
    c.expect_refusal(ErrorCode::RoomNotFound).await;
}

#[tokio::test]
async fn malformed_and_oversized_messages_get_errors_and_the_connection_lives() {
    let s = server(|c| c.signalling.allow_anonymous_signalling = true).await;
    let room = s.public_room(4).await;
    let mut a = s.client().await;
    // Before joining: garbage, then a message that needs a room.
    a.send_raw("not json".into()).await;
    a.expect_error(ErrorCode::Malformed).await;
    a.send(&ClientMessage::Chat { text: "hi".into() }).await;
    a.expect_error(ErrorCode::NotInRoom).await;
    a.join(&room, anonymous("Ada"), None).await;
    for (text, code) in [
        (
            r#"{"v":1,"type":"teleport"}"#.to_owned(),
            ErrorCode::Malformed,
        ),
        (
            r#"{"v":1,"type":"chat","text":""}"#.to_owned(),
            ErrorCode::Malformed,
        ),
        (
            r#"{"v":2,"type":"leave"}"#.to_owned(),
            ErrorCode::UnsupportedVersion,
        ),
        (
            format!(
                r#"{{"v":1,"type":"chat","text":"{}"}}"#,
                "x".repeat(70 * 1024)
            ),
            ErrorCode::TooLarge,
        ),
    ] {
        a.send_raw(text).await;
        a.expect_error(code).await;
    }
    a.ws.send(Message::binary(b"\xff\x00".to_vec()))
        .await
        .expect("send");
    a.expect_error(ErrorCode::Malformed).await;
    a.expect_nothing_pending().await;
    assert!(
        s.metrics()
            .await
            .contains("tutti_signal_bad_messages_total 6")
    );
    // A frame far beyond the limit is cut off: too_large, then the connection closes.
    a.send_raw("x".repeat(tutti_server::signalling::TRANSPORT_LIMIT + 1))
        .await;
    a.expect_refusal(ErrorCode::TooLarge).await;
}

#[tokio::test]
async fn silent_clients_time_out() {
    let s = server(|c| {
        c.signalling.allow_anonymous_signalling = true;
        c.signalling.signal_heartbeat_ms = 100;
        c.signalling.signal_idle_timeout_ms = 400;
    })
    .await;
    let room = s.public_room(4).await;
    let mut a = s.client().await;
    let wa = a.join(&room, anonymous("Ada"), None).await;
    let mut b = s.client().await;
    let wb = b.join(&room, anonymous("Bo"), None).await;
    // Both only wait (their WebSocket library answers the server's pings, which do not count):
    // each gets `idle_timeout` and is closed; whoever goes second may first see the other leave.
    let (a_saw, b_saw) = tokio::join!(until_idle_timeout(&mut a), until_idle_timeout(&mut b));
    assert!(a_saw.iter().all(|p| *p == wb.peer_id));
    assert!(b_saw.iter().all(|p| *p == wa.peer_id));
    assert!(
        s.metrics()
            .await
            .contains("tutti_signal_idle_timeouts_total 2")
    );
}

/// Reads until `idle_timeout` and the close; returns who was seen leaving meanwhile.
async fn until_idle_timeout(c: &mut Client) -> Vec<PeerId> {
    let mut left = Vec::new();
    loop {
        match c.next().await {
            Next::Message(ServerMessage::PeerLeft { peer_id }) => left.push(peer_id),
            Next::Message(ServerMessage::PeerJoined { .. }) => {}
            Next::Message(ServerMessage::Error { code, .. }) => {
                assert_eq!(code, ErrorCode::IdleTimeout);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(matches!(c.next().await, Next::Closed));
    left
}

/// Waits for the lobby's next occupancy event of `room`.
async fn next_occupancy(rx: &mut tokio::sync::broadcast::Receiver<LobbyEvent>, room: &str) -> u32 {
    loop {
        let event = tokio::time::timeout(WAIT, rx.recv())
            .await
            .expect("lobby event in time")
            .expect("lobby open");
        if let LobbyEvent::Occupancy {
            room_id, occupancy, ..
        } = event
            && room_id == room
        {
            return occupancy;
        }
    }
}

/// Waits until the lobby reports `want` musicians in `room` (reports may coalesce).
async fn await_occupancy(
    rx: &mut tokio::sync::broadcast::Receiver<LobbyEvent>,
    room: &str,
    want: u32,
) {
    while next_occupancy(rx, room).await != want {}
}

#[tokio::test]
async fn disconnect_cleans_up_and_the_lobby_follows_occupancy() {
    let s = server(|c| {
        c.signalling.allow_anonymous_signalling = true;
        // No resume grace: a dropped connection gives its seat up at once.
        c.signalling.signal_resume_grace_ms = 0;
    })
    .await;
    let owner = s.app.sign_up("owner@example.org").await;
    let room = s.room(&owner, "public", 4).await;
    let mut lobby = s.app.state.lobby.subscribe();
    let mut a = s.client().await;
    a.join(&room, anonymous("Ada"), None).await;
    await_occupancy(&mut lobby, &room, 1).await;
    let mut b = s.client().await;
    let wb = b.join(&room, anonymous("Bo"), None).await;
    await_occupancy(&mut lobby, &room, 2).await;
    assert!(matches!(a.recv().await, ServerMessage::PeerJoined { .. }));
    // B vanishes without a close handshake.
    drop(b);
    assert_eq!(
        a.recv().await,
        ServerMessage::PeerLeft {
            peer_id: wb.peer_id
        }
    );
    await_occupancy(&mut lobby, &room, 1).await;
    assert_eq!(s.app.state.signalling.occupancy(&room), 1);
    let r = s.app.get(&format!("/api/v1/rooms/{room}")).await;
    assert_eq!(r.body["occupancy"], 1, "{}", r.text);
    // Closing the room over HTTP disconnects its members and is announced.
    let r = s
        .app
        .call(
            Method::DELETE,
            &format!("/api/v1/rooms/{room}"),
            Some(&owner.access),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    a.expect_refusal(ErrorCode::RoomClosed).await;
    loop {
        let event = tokio::time::timeout(WAIT, lobby.recv())
            .await
            .expect("event")
            .expect("open");
        if matches!(&event, LobbyEvent::RoomClosed { room_id } if *room_id == room) {
            break;
        }
    }
    assert_eq!(s.app.state.signalling.occupancy(&room), 0);
    let mut c = s.client().await;
    c.send(&join_message(&room, anonymous("Cy"), None)).await;
    c.expect_refusal(ErrorCode::RoomClosed).await;
}

#[tokio::test]
async fn joins_are_rate_limited_per_ip_and_per_account() {
    let s = server(|c| {
        c.signalling.signal_join_rate_per_ip = 3;
        c.signalling.signal_join_rate_per_account = 1;
    })
    .await;
    let user = s.app.sign_up("u@example.org").await;
    let room = s.room(&user, "public", 8).await;
    let mut first = s.client().await;
    first.join(&room, token(&user), None).await;
    // Same account again (a second device): over the per-account burst of 1.
    let mut c = s.client().await;
    c.send(&join_message(&room, token(&user), None)).await;
    c.expect_refusal(ErrorCode::RateLimited).await;
    // Third attempt from this IP (a bad token counts too), then the fourth is refused.
    let mut c = s.client().await;
    c.send(&join_message(
        &room,
        Auth::Token {
            access_token: "x".into(),
        },
        None,
    ))
    .await;
    c.expect_refusal(ErrorCode::Unauthorized).await;
    let other = s.app.sign_up("v@example.org").await;
    let mut c = s.client().await;
    c.send(&join_message(&room, token(&other), None)).await;
    c.expect_refusal(ErrorCode::RateLimited).await;
    assert!(
        s.metrics()
            .await
            .contains(r#"tutti_rate_limited_total{scope="signal_join"} 2"#)
    );
}

#[tokio::test]
async fn a_client_that_does_not_read_is_disconnected() {
    let s = server(|c| {
        c.signalling.allow_anonymous_signalling = true;
        c.signalling.signal_queue = 4;
    })
    .await;
    let room = s.public_room(4).await;
    let (a, b, wb) = s.ada_and_bo(&room).await;
    // B stops reading. A floods the room with chat until the server drops B; A itself reads.
    let (mut tx, mut rx) = a.ws.split();
    let flood = tokio::spawn(async move {
        let text = ClientMessage::Chat {
            text: "x".repeat(2000),
        }
        .encode();
        for _ in 0..200_000 {
            if tx.send(Message::text(text.clone())).await.is_err() {
                break;
            }
        }
    });
    let left = loop {
        let frame = tokio::time::timeout(WAIT, rx.next())
            .await
            .expect("in time");
        let Some(Ok(Message::Text(text))) = frame else {
            continue;
        };
        if let ServerMessage::PeerLeft { peer_id } = ServerMessage::decode(text.as_bytes()).unwrap()
        {
            break peer_id;
        }
    };
    flood.abort();
    assert_eq!(left, wb.peer_id);
    assert!(
        s.metrics()
            .await
            .contains("tutti_signal_slow_consumer_disconnects_total 1")
    );
    drop(b);
}

#[tokio::test]
async fn plain_http_on_the_signal_route_gets_a_json_error() {
    let s = server(|_| {}).await;
    let r = s.app.get("/signal").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["code"], "bad_request");
}

/// Sends a join that should resume, and returns the welcome.
async fn rejoin(c: &mut Client, message: &ClientMessage) -> Welcome {
    c.send(message).await;
    match c.recv().await {
        ServerMessage::Welcome(w) => w,
        other => panic!("expected welcome, got {other:?}"),
    }
}

#[tokio::test]
async fn a_dropped_connection_resumes_its_seat_unnoticed() {
    let s = server(|c| c.signalling.allow_anonymous_signalling = true).await;
    let room = s.public_room(2).await;
    let mut a = s.client().await;
    let wa = a.join(&room, anonymous("Ada"), None).await;
    let mut b = s.client().await;
    let wb = b.join(&room, anonymous("Bo"), None).await;
    assert!(!wb.resumed);
    assert_ne!(welcome_token(&wa), welcome_token(&wb));
    assert!(matches!(a.recv().await, ServerMessage::PeerJoined { .. }));

    // B's connection drops without a close handshake: A hears nothing, the seat is held.
    drop(b);
    s.await_connections(1).await;
    a.expect_nothing_pending().await;
    assert_eq!(s.app.state.signalling.occupancy(&room), 2);
    // What A sends B meanwhile is held for it; presence is not.
    let offer = ClientMessage::Offer {
        to: peer(&wb.peer_id),
        sdp: "v=0 held".into(),
    };
    a.send(&offer).await;
    a.send(&ClientMessage::Chat {
        text: "back soon?".into(),
    })
    .await;
    // A full room still takes the resuming peer: same id, the room as it is, then the held
    // messages in order.
    let mut b = s.client().await;
    let again = rejoin(&mut b, &resume_message(&room, anonymous("Bo"), &wb)).await;
    assert!(again.resumed);
    assert_eq!(again.peer_id, wb.peer_id);
    assert_eq!(again.resume_token, wb.resume_token);
    assert_eq!(again.room.peers.len(), 2);
    assert_eq!(
        b.recv().await,
        ServerMessage::Offer {
            from: peer(&wa.peer_id),
            sdp: "v=0 held".into()
        }
    );
    assert!(matches!(b.recv().await, ServerMessage::Chat { .. }));
    b.expect_nothing_pending().await;
    // A saw no leave or join, and the link between them works both ways under the same ids.
    a.expect_nothing_pending().await;
    b.send(&ClientMessage::Answer {
        to: peer(&wa.peer_id),
        sdp: "v=0 answer".into(),
    })
    .await;
    assert_eq!(
        a.recv().await,
        ServerMessage::Answer {
            from: peer(&wb.peer_id),
            sdp: "v=0 answer".into()
        }
    );
    assert_eq!(s.app.state.signalling.occupancy(&room), 2);
    let metrics = s.metrics().await;
    assert!(
        metrics.contains("tutti_signal_resumes_total 1"),
        "{metrics}"
    );
    assert!(metrics.contains("tutti_signal_joins_total 2"), "{metrics}");
    assert!(metrics.contains("tutti_signal_peers 2"), "{metrics}");
}

#[tokio::test]
async fn a_ghost_connection_is_replaced_at_once() {
    let s = server(|_| {}).await;
    let owner = s.app.sign_up("owner@example.org").await;
    let ada = s.app.sign_up("ada@example.org").await;
    let bo = s.app.sign_up("bo@example.org").await;
    let room = s.room(&owner, "public", 2).await;
    let mut a = s.client().await;
    a.join(&room, token(&ada), None).await;
    let mut ghost = s.client().await;
    let wb = ghost.join(&room, token(&bo), None).await;
    assert!(matches!(a.recv().await, ServerMessage::PeerJoined { .. }));
    // B reconnects while the relay still holds its old connection (the network changed and the
    // old one has not timed out yet). The room is full; the resume is taken all the same.
    let mut b = s.client().await;
    let again = rejoin(&mut b, &resume_message(&room, token(&bo), &wb)).await;
    assert!(again.resumed);
    assert_eq!(again.peer_id, wb.peer_id);
    // The ghost is closed at once, not after the idle timeout.
    assert!(matches!(ghost.next().await, Next::Closed));
    s.await_connections(2).await;
    a.expect_nothing_pending().await;
    b.send(&ClientMessage::Chat {
        text: "new network".into(),
    })
    .await;
    assert_eq!(
        a.recv().await,
        ServerMessage::Chat {
            from: peer(&wb.peer_id),
            text: "new network".into()
        }
    );
    // Capacity still counts two.
    let late = s.app.sign_up("late@example.org").await;
    let mut c = s.client().await;
    c.send(&join_message(&room, token(&late), None)).await;
    c.expect_refusal(ErrorCode::RoomFull).await;
    assert_eq!(s.app.state.signalling.occupancy(&room), 2);
}

#[tokio::test]
async fn a_resume_that_does_not_match_joins_afresh() {
    let s = server(|_| {}).await;
    let owner = s.app.sign_up("owner@example.org").await;
    let ada = s.app.sign_up("ada@example.org").await;
    let bo = s.app.sign_up("bo@example.org").await;
    let eve = s.app.sign_up("eve@example.org").await;
    let room = s.room(&owner, "public", 4).await;
    let other_room = s.room(&owner, "public", 4).await;
    let mut a = s.client().await;
    let wa = a.join(&room, token(&ada), None).await;
    let mut b = s.client().await;
    let wb = b.join(&room, token(&bo), None).await;
    assert!(matches!(a.recv().await, ServerMessage::PeerJoined { .. }));
    drop(b);
    s.await_connections(1).await;

    // A wrong token, the right token from another account, the right token in another room:
    // each is a fresh join with a new id (and A sees each newcomer in its room).
    let attempts = [
        (room.as_str(), token(&bo), "not-the-token"),
        (room.as_str(), token(&eve), welcome_token(&wb)),
        (other_room.as_str(), token(&bo), welcome_token(&wb)),
    ];
    let mut fresh = Vec::new();
    for (target, auth, secret) in attempts {
        let mut c = s.client().await;
        let w = rejoin(&mut c, &resume_with(target, auth, &wb.peer_id, secret)).await;
        assert!(!w.resumed);
        assert_ne!(w.peer_id, wb.peer_id);
        assert_ne!(w.peer_id, wa.peer_id);
        if target == room {
            match a.recv().await {
                ServerMessage::PeerJoined { peer } => assert_eq!(peer.id, w.peer_id),
                other => panic!("expected a join, got {other:?}"),
            }
        }
        fresh.push(c);
    }
    // The held seat is untouched by all that: B can still resume it.
    let mut b = s.client().await;
    let again = rejoin(&mut b, &resume_message(&room, token(&bo), &wb)).await;
    assert!(again.resumed);
    assert_eq!(again.room.peers.len(), 4);
    a.expect_nothing_pending().await;
    assert!(s.metrics().await.contains("tutti_signal_resumes_total 1"));
}

#[tokio::test]
async fn a_seat_not_resumed_within_the_grace_period_is_released() {
    let s = server(|c| {
        c.signalling.allow_anonymous_signalling = true;
        c.signalling.signal_resume_grace_ms = 100;
    })
    .await;
    let room = s.public_room(2).await;
    let (mut a, b, wb) = s.ada_and_bo(&room).await;
    drop(b);
    // The grace period ends: now the others hear the leave, and the slot is free.
    assert_eq!(
        a.recv().await,
        ServerMessage::PeerLeft {
            peer_id: peer(&wb.peer_id)
        }
    );
    assert_eq!(s.app.state.signalling.occupancy(&room), 1);
    // Too late to resume: a fresh join, which A sees as such.
    let mut b = s.client().await;
    let again = rejoin(&mut b, &resume_message(&room, anonymous("Bo"), &wb)).await;
    assert!(!again.resumed);
    assert_ne!(again.peer_id, wb.peer_id);
    assert!(matches!(a.recv().await, ServerMessage::PeerJoined { .. }));
}

#[tokio::test]
async fn leaving_or_closing_gives_the_seat_up_at_once() {
    let s = server(|c| c.signalling.allow_anonymous_signalling = true).await;
    let room = s.public_room(4).await;
    let mut a = s.client().await;
    a.join(&room, anonymous("Ada"), None).await;
    // A close handshake is a deliberate goodbye, even with the default 15 s grace.
    let mut b = s.client().await;
    let wb = b.join(&room, anonymous("Bo"), None).await;
    assert!(matches!(a.recv().await, ServerMessage::PeerJoined { .. }));
    b.ws.close(None).await.expect("close");
    assert_eq!(
        a.recv().await,
        ServerMessage::PeerLeft {
            peer_id: peer(&wb.peer_id)
        }
    );
    let mut b = s.client().await;
    let again = rejoin(&mut b, &resume_message(&room, anonymous("Bo"), &wb)).await;
    assert!(!again.resumed, "a seat given up cannot be resumed");
}
