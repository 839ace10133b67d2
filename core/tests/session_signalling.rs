//! The session's signalling client against a scripted relay on loopback (the real relay is
//! exercised by `examples/tests/jam_two_process.rs`; this one sends what a well-behaved server
//! never would): malformed and oversized messages become error events and the session keeps
//! running; a dropped connection is reported, reconnected and rejoined; and, through a relay
//! that forwards between two real sessions, a dropped connection resumes its peer id without
//! rebuilding the media link (or rebuilds it when the relay forgot the seat).
#![cfg(feature = "session")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tutti_core::engine::{Engine, EngineConfig};
use tutti_core::protocol::{ClientMessage, MAX_MESSAGE_BYTES, PeerId, RoomId, ServerMessage};
use tutti_core::session::transport::LinkState;
use tutti_core::session::{Identity, Session, SessionConfig, SessionError, SessionEvent};

mod scripted_relay;
use scripted_relay::forwarding::ForwardingRelay;
use scripted_relay::{GUARD, welcome, welcome_with};

async fn next_event(events: &mut tokio::sync::mpsc::Receiver<SessionEvent>) -> SessionEvent {
    loop {
        let event = tokio::time::timeout(GUARD, events.recv())
            .await
            .expect("an event in time")
            .expect("the session is running");
        if !matches!(event, SessionEvent::Stats(_)) {
            return event;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_server_messages_are_reported_and_a_lost_connection_rejoins() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (chat_tx, mut chat_rx) = tokio::sync::mpsc::unbounded_channel();
    let relay = tokio::spawn(async move {
        // First connection: welcome, garbage, an oversized message, a chat; then a drop.
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let join = ws.next().await.unwrap().unwrap();
        let join = ClientMessage::decode(join.into_text().unwrap().as_bytes()).unwrap();
        assert!(matches!(join, ClientMessage::Join(_)));
        ws.send(Message::text(welcome("first"))).await.unwrap();
        ws.send(Message::text("{not json")).await.unwrap();
        let huge = format!(
            r#"{{"v":1,"type":"pong","nonce":1,"pad":"{}"}}"#,
            "x".repeat(MAX_MESSAGE_BYTES)
        );
        ws.send(Message::text(huge)).await.unwrap();
        ws.send(Message::text(r#"{"v":2,"type":"pong","nonce":1}"#))
            .await
            .unwrap();
        let chat = ServerMessage::Chat {
            from: PeerId::new("bob").unwrap(),
            text: "still there?".into(),
        };
        ws.send(Message::text(chat.encode())).await.unwrap();
        // The client's own chat arrives after all that.
        loop {
            let message = ws.next().await.unwrap().unwrap();
            let Ok(text) = message.into_text() else {
                continue;
            };
            if let Ok(ClientMessage::Chat { text }) = ClientMessage::decode(text.as_bytes()) {
                chat_tx.send(text).unwrap();
                break;
            }
        }
        drop(ws); // No closing handshake: like a crashed server.

        // Second connection: the rejoin.
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let join = ws.next().await.unwrap().unwrap();
        let join = ClientMessage::decode(join.into_text().unwrap().as_bytes()).unwrap();
        assert!(matches!(join, ClientMessage::Join(_)));
        ws.send(Message::text(welcome("second"))).await.unwrap();
        // Stay until the client leaves.
        while let Some(Ok(message)) = ws.next().await {
            if message.is_close() {
                break;
            }
        }
    });

    let (_engine, session, mut events) = join(
        &format!("http://{addr}"),
        Identity::Anonymous("Ada".into()),
        SessionConfig::default(),
    )
    .await;
    assert_eq!(session.local_peer_id().unwrap().as_str(), "first");

    assert!(matches!(
        next_event(&mut events).await,
        SessionEvent::Joined {
            rejoined: false,
            ..
        }
    ));
    for _ in 0..3 {
        let event = next_event(&mut events).await;
        assert!(
            matches!(event, SessionEvent::Error(SessionError::ServerProtocol(_))),
            "{event:?}"
        );
    }
    match next_event(&mut events).await {
        SessionEvent::Chat { from, text } => {
            assert_eq!((from.as_str(), text.as_str()), ("bob", "still there?"));
        }
        other => panic!("expected the chat, got {other:?}"),
    }
    session.chat("yes").expect("chat");
    assert_eq!(chat_rx.recv().await.as_deref(), Some("yes"));

    assert!(matches!(
        next_event(&mut events).await,
        SessionEvent::SignallingLost { .. }
    ));
    assert!(matches!(
        next_event(&mut events).await,
        SessionEvent::Joined { rejoined: true, .. }
    ));
    assert_eq!(session.local_peer_id().unwrap().as_str(), "second");

    session.leave().await.expect("left");
    tokio::time::timeout(GUARD, relay).await.unwrap().unwrap();
}

/// Hands out `token-1`, `token-2`, … — one per call.
struct CountingTokens(std::sync::atomic::AtomicU32);

#[async_trait::async_trait]
impl tutti_core::session::TokenSource for CountingTokens {
    async fn access_token(&self) -> Result<String, String> {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        Ok(format!("token-{n}"))
    }
}

/// The access token a join carries.
async fn join_token(ws: &mut tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>) -> String {
    let join = ws.next().await.unwrap().unwrap();
    match ClientMessage::decode(join.into_text().unwrap().as_bytes()).unwrap() {
        ClientMessage::Join(join) => match join.auth {
            tutti_core::protocol::Auth::Token { access_token } => access_token,
            other => panic!("expected a token, got {other:?}"),
        },
        other => panic!("expected a join, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejoin_asks_the_token_source_for_a_fresh_access_token() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let relay = tokio::spawn(async move {
        let mut tokens = Vec::new();
        for id in ["first", "second"] {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            tokens.push(join_token(&mut ws).await);
            ws.send(Message::text(welcome(id))).await.unwrap();
            if id == "second" {
                while let Some(Ok(message)) = ws.next().await {
                    if message.is_close() {
                        break;
                    }
                }
            }
            // The first connection drops without a closing handshake.
        }
        tokens
    });

    let source = std::sync::Arc::new(CountingTokens(std::sync::atomic::AtomicU32::new(0)));
    let (_engine, session, mut events) = join(
        &format!("http://{addr}"),
        Identity::Refreshing(tutti_core::session::Tokens(source)),
        SessionConfig::default(),
    )
    .await;
    loop {
        if let SessionEvent::Joined { rejoined: true, .. } = next_event(&mut events).await {
            break;
        }
    }
    session.leave().await.expect("left");
    let tokens = tokio::time::timeout(GUARD, relay).await.unwrap().unwrap();
    assert_eq!(tokens, ["token-1", "token-2"]);
}

/// Joins `room-1` through the relay at `url` with a fresh engine; the caller keeps its audio
/// half (these tests look at signalling and links, not at audio).
async fn join(
    url: &str,
    identity: Identity,
    config: SessionConfig,
) -> (Engine, Session, tokio::sync::mpsc::Receiver<SessionEvent>) {
    let (engine, network, control) = Engine::new(EngineConfig::default()).unwrap();
    let (session, events) = Session::join(
        url,
        RoomId::new("room-1").unwrap(),
        identity,
        config,
        network,
        control,
    )
    .await
    .expect("joined");
    (engine, session, events)
}

/// A session on the forwarding relay, over loopback.
async fn join_relay(
    relay: &ForwardingRelay,
) -> (Session, tokio::sync::mpsc::Receiver<SessionEvent>, PeerId) {
    let mut config = SessionConfig::default();
    config.link.udp_addrs = vec!["127.0.0.1:0".parse().unwrap()];
    let (_engine, session, events) =
        join(&relay.url, Identity::Anonymous("Ada".into()), config).await;
    let id = session.local_peer_id().unwrap();
    (session, events, id)
}

/// Reads events (statistics included) until `done` holds for one; returns every event read,
/// the last one included. The guard covers the whole wait.
async fn events_until(
    events: &mut tokio::sync::mpsc::Receiver<SessionEvent>,
    mut done: impl FnMut(&SessionEvent) -> bool,
) -> Vec<SessionEvent> {
    let mut seen = Vec::new();
    tokio::time::timeout(GUARD, async {
        loop {
            let event = events.recv().await.expect("the session is running");
            let last = done(&event);
            seen.push(event);
            if last {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the awaited event in time; saw {seen:?}"));
    seen
}

fn connected(peer: &PeerId) -> impl FnMut(&SessionEvent) -> bool + use<> {
    let peer = peer.clone();
    move |e| matches!(e, SessionEvent::PeerConnection { peer: p, state: LinkState::Connected } if *p == peer)
}

fn chat_from(peer: &PeerId, text: &'static str) -> impl FnMut(&SessionEvent) -> bool + use<> {
    let peer = peer.clone();
    move |e| matches!(e, SessionEvent::Chat { from, text: t } if *from == peer && t == text)
}

/// Anything that shows `peer` or the link to it being replaced.
fn churn(e: &SessionEvent, peer: &PeerId) -> bool {
    match e {
        SessionEvent::PeerJoined(info) => info.id == *peer,
        SessionEvent::PeerLeft(id)
        | SessionEvent::PeerMedia { peer: id, .. }
        | SessionEvent::PeerConnection { peer: id, .. } => id == peer,
        _ => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_signalling_connection_resumes_without_rebuilding_links() {
    let relay = ForwardingRelay::start().await;
    let (a, mut a_events, a_id) = join_relay(&relay).await;
    let (b, mut b_events, b_id) = join_relay(&relay).await;
    // B is the newcomer and offers; both links come up.
    events_until(&mut a_events, connected(&b_id)).await;
    events_until(&mut b_events, connected(&a_id)).await;
    assert_eq!(relay.offers(), [(b_id.clone(), a_id.clone())]);

    // A's WebSocket drops; its reconnect is held back while both sides write to the other and
    // C joins (and offers to A, whom the relay lists), so all that travels while A is away.
    relay.hold_resumes(true);
    relay.cut(&a_id);
    events_until(&mut a_events, |e| {
        matches!(e, SessionEvent::SignallingLost { .. })
    })
    .await;
    a.chat("written while away").unwrap();
    b.chat("for A, held by the relay").unwrap();
    let (c, mut c_events, c_id) = join_relay(&relay).await;
    events_until(&mut c_events, connected(&b_id)).await;
    relay.hold_resumes(false);

    // A resumes its seat: same id, links kept.
    let seen = events_until(&mut a_events, |e| matches!(e, SessionEvent::Joined { .. })).await;
    match seen.last().unwrap() {
        SessionEvent::Joined {
            peer_id,
            rejoined,
            resumed,
            ..
        } => {
            assert_eq!(*peer_id, a_id);
            assert!(*rejoined && *resumed);
        }
        other => panic!("{other:?}"),
    }
    // A learns of C, answers the offer C sent while A was away, and the link comes up.
    let seen = events_until(&mut a_events, connected(&c_id)).await;
    assert!(
        seen.iter()
            .any(|e| matches!(e, SessionEvent::PeerJoined(p) if p.id == c_id))
    );
    let mut seen_by_a = seen;
    let mut held_chat = chat_from(&b_id, "for A, held by the relay");
    if !seen_by_a.iter().any(&mut held_chat) {
        seen_by_a.extend(events_until(&mut a_events, held_chat).await);
    }
    assert!(
        !seen_by_a.iter().any(|e| churn(e, &b_id)),
        "A rebuilt its link to B: {seen_by_a:?}"
    );
    // B saw no leave, join or renegotiation of A, and gets what A wrote while offline.
    let seen = events_until(&mut b_events, chat_from(&a_id, "written while away")).await;
    assert!(
        !seen.iter().any(|e| churn(e, &a_id)),
        "B saw churn: {seen:?}"
    );
    let offers = relay.offers();
    assert!(
        !offers[1..]
            .iter()
            .any(|(from, to)| [from, to].contains(&&a_id) && [from, to].contains(&&b_id)),
        "no new offer between A and B: the link was kept ({offers:?})"
    );
    // The kept link still carries the clock-sync probes: B measures a round trip to A.
    events_until(&mut b_events, |e| match e {
        SessionEvent::Stats(stats) => stats
            .iter()
            .any(|s| s.peer == a_id && s.state == LinkState::Connected && s.rtt.is_some()),
        _ => false,
    })
    .await;
    c.leave().await.expect("C left");
    drop(c_events);

    // A server that forgot the seat (restarted): the rejoin is fresh, A gets a new id and
    // rebuilds its link as a newcomer, and B sees the old A leave and the new one join.
    relay.hold_resumes(true);
    relay.cut(&a_id);
    events_until(&mut a_events, |e| {
        matches!(e, SessionEvent::SignallingLost { .. })
    })
    .await;
    relay.forget(&a_id);
    relay.hold_resumes(false);
    let seen = events_until(&mut a_events, |e| matches!(e, SessionEvent::Joined { .. })).await;
    let new_id = match seen.last().unwrap() {
        SessionEvent::Joined {
            peer_id,
            rejoined: true,
            resumed: false,
            ..
        } => peer_id.clone(),
        other => panic!("{other:?}"),
    };
    assert_ne!(new_id, a_id);
    events_until(&mut a_events, connected(&b_id)).await;
    let seen = events_until(&mut b_events, connected(&new_id)).await;
    assert!(
        seen.iter()
            .any(|e| matches!(e, SessionEvent::PeerLeft(p) if *p == a_id))
    );
    assert!(
        seen.iter()
            .any(|e| matches!(e, SessionEvent::PeerMedia { peer, .. } if *peer == new_id))
    );
    assert_eq!(relay.offers().last(), Some(&(new_id, b_id)));

    a.leave().await.expect("A left");
    b.leave().await.expect("B left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_counts_as_lost_and_the_rejoin_asks_to_resume() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let relay = tokio::spawn(async move {
        // First connection: welcome (heartbeat 500 ms, a resume token), then silence — pings
        // are read and never answered, as over a stalled network path.
        let (tcp, _) = listener.accept().await.unwrap();
        let mut silent = tokio_tungstenite::accept_async(tcp).await.unwrap();
        silent.next().await.unwrap().unwrap();
        let hello = welcome_with("first", 500, Some("secret-1"), false);
        silent.send(Message::text(hello)).await.unwrap();
        let drain = tokio::spawn(async move { while let Some(Ok(_)) = silent.next().await {} });
        // The rejoin asks for the seat back; this relay grants it.
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let join = ws.next().await.unwrap().unwrap();
        let ClientMessage::Join(join) =
            ClientMessage::decode(join.into_text().unwrap().as_bytes()).unwrap()
        else {
            panic!("expected a join");
        };
        let back = welcome_with("first", 500, Some("secret-1"), true);
        ws.send(Message::text(back)).await.unwrap();
        while let Some(Ok(message)) = ws.next().await {
            if message.is_close() {
                break;
            }
            if let Ok(ClientMessage::Ping { nonce }) =
                ClientMessage::decode(message.into_text().unwrap().as_bytes())
            {
                let pong = ServerMessage::Pong { nonce }.encode();
                ws.send(Message::text(pong)).await.unwrap();
            }
        }
        drain.abort();
        join.resume
    });
    let (_engine, session, mut events) = join(
        &format!("http://{addr}"),
        Identity::Anonymous("Ada".into()),
        SessionConfig::default(),
    )
    .await;
    let seen = events_until(&mut events, |e| {
        matches!(e, SessionEvent::SignallingLost { .. })
    })
    .await;
    match seen.last().unwrap() {
        SessionEvent::SignallingLost { reason, .. } => {
            assert!(reason.contains("no reply"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    let seen = events_until(&mut events, |e| {
        matches!(e, SessionEvent::Joined { rejoined: true, .. })
    })
    .await;
    assert!(matches!(
        seen.last().unwrap(),
        SessionEvent::Joined { resumed: true, .. }
    ));
    assert_eq!(session.local_peer_id().unwrap().as_str(), "first");
    session.leave().await.expect("left");
    let resume = tokio::time::timeout(GUARD, relay)
        .await
        .unwrap()
        .unwrap()
        .expect("a resume");
    assert_eq!(
        (resume.peer_id.as_str(), resume.token.as_str()),
        ("first", "secret-1")
    );
}
