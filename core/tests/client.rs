//! The blocking [`Client`] against a scripted relay on loopback: a failed join leaves it usable,
//! join/leave pair up, misuse is an error, and events are polled without blocking.
#![cfg(feature = "session")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tutti_core::client::{Client, ClientConfig, ClientError};
use tutti_core::protocol::{ClientMessage, PeerId, RoomId};
use tutti_core::session::{Identity, SessionConfig, SessionError, SessionEvent};

mod scripted_relay;
use scripted_relay::{GUARD, welcome};

/// A relay on its own thread that welcomes every join as `peer-N` and waits for the close.
fn spawn_relay() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = TcpListener::from_std(listener).unwrap();
            for n in 0.. {
                let (tcp, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
                    let join = ws.next().await.unwrap().unwrap();
                    let join = ClientMessage::decode(join.into_text().unwrap().as_bytes());
                    assert!(matches!(join, Ok(ClientMessage::Join(_))));
                    ws.send(Message::text(welcome(&format!("peer-{n}"))))
                        .await
                        .unwrap();
                    while let Some(Ok(message)) = ws.next().await {
                        if message.is_close() {
                            break;
                        }
                    }
                });
            }
        });
    });
    addr
}

fn wait_for(client: &Client, what: &str, matches: impl Fn(&SessionEvent) -> bool) {
    let deadline = Instant::now() + GUARD;
    loop {
        match client.next_event() {
            Some(event) if matches(&event) => return,
            Some(_) => {}
            None => {
                assert!(Instant::now() < deadline, "timed out waiting for {what}");
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

#[test]
fn a_failed_join_leaves_the_client_usable_and_join_leave_pair_up() {
    let relay = spawn_relay();
    // A port nobody listens on: bind one, note it, close it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (client, _engine) = Client::new(ClientConfig::default()).unwrap();
    let room = RoomId::new("room-1").unwrap();
    let ada = || Identity::Anonymous("Ada".into());

    let refused = client.join(
        &format!("http://{closed}"),
        room.clone(),
        ada(),
        SessionConfig::default(),
    );
    assert!(
        matches!(
            refused,
            Err(ClientError::Session(SessionError::Signalling(_)))
        ),
        "{refused:?}"
    );
    assert!(!client.is_joined());
    assert!(matches!(client.leave(), Err(ClientError::NotJoined)));
    let bob = PeerId::new("bob").unwrap();
    assert!(matches!(
        client.set_gain_db(&bob, -3.0),
        Err(ClientError::NotJoined)
    ));
    assert!(client.next_event().is_none());

    // The same client (same engine) joins once the server is there.
    let url = format!("http://{relay}");
    client
        .join(&url, room.clone(), ada(), SessionConfig::default())
        .expect("joined");
    assert!(client.is_joined());
    assert_eq!(client.local_peer_id().unwrap().as_str(), "peer-0");
    wait_for(&client, "joined", |e| {
        matches!(e, SessionEvent::Joined { .. })
    });
    assert!(matches!(
        client.join(&url, room.clone(), ada(), SessionConfig::default()),
        Err(ClientError::AlreadyJoined)
    ));
    assert!(matches!(
        client.set_pan(&bob, 0.5),
        Err(ClientError::Session(SessionError::UnknownPeer(_)))
    ));
    client.set_monitor_level(0.5).unwrap();
    assert!(client.set_monitor_level(-1.0).is_err());
    assert!(client.peers().is_empty());
    assert_eq!(client.statistics().blocks, 0);

    client.leave().expect("left");
    assert!(!client.is_joined());
    wait_for(&client, "ended", |e| matches!(e, SessionEvent::Ended));

    // And again: the engine's network half came back.
    client
        .join(&url, room, ada(), SessionConfig::default())
        .expect("joined again");
    assert_eq!(client.local_peer_id().unwrap().as_str(), "peer-1");
    drop(client); // Leaves on drop.
}

#[test]
fn dropping_a_joined_client_inside_async_code_does_not_panic() {
    let relay = spawn_relay();
    let (client, _engine) = Client::new(ClientConfig::default()).unwrap();
    client
        .join(
            &format!("http://{relay}"),
            RoomId::new("room-1").unwrap(),
            Identity::Anonymous("Ada".into()),
            SessionConfig::default(),
        )
        .expect("joined");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async move { drop(client) });
}
