use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use super::*;

fn id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._-]{1,64}"
}

fn peer_id() -> impl Strategy<Value = PeerId> {
    id().prop_map(|s| PeerId::new(s).expect("valid by construction"))
}

fn room_id() -> impl Strategy<Value = RoomId> {
    id().prop_map(|s| RoomId::new(s).expect("valid by construction"))
}

/// Names and chat: any non-control characters (including non-ASCII and quotes), not blank.
fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[^\\p{{Cc}}]{{1,{max}}}"))
        .expect("regex")
        .prop_filter("not blank", |s| !s.trim().is_empty())
}

fn token() -> impl Strategy<Value = String> {
    "[!-~]{1,200}"
}

fn frame_sizes() -> impl Strategy<Value = Vec<FrameSize>> {
    vec(
        prop_oneof![
            Just(FrameSize::Ms2_5),
            Just(FrameSize::Ms5),
            Just(FrameSize::Ms10),
            Just(FrameSize::Ms20)
        ],
        1..=4,
    )
}

fn client_kind() -> impl Strategy<Value = ClientKind> {
    prop_oneof![Just(ClientKind::Native), Just(ClientKind::Browser)]
}

fn sdp() -> impl Strategy<Value = String> {
    "(v=0\r\n)?[ -~]{1,300}(\r\n[ -~]{0,80}){0,4}"
}

fn candidate() -> impl Strategy<Value = Option<IceCandidate>> {
    option::of(
        (
            "candidate:[ -~]{0,120}",
            option::of("[!-~]{1,8}"),
            option::of(any::<u16>()),
            option::of("[!-~]{1,16}"),
        )
            .prop_map(
                |(candidate, sdp_mid, sdp_m_line_index, username_fragment)| IceCandidate {
                    candidate,
                    sdp_mid,
                    sdp_m_line_index,
                    username_fragment,
                },
            ),
    )
}

fn peer_info() -> impl Strategy<Value = PeerInfo> {
    (peer_id(), text(64), client_kind(), frame_sizes()).prop_map(
        |(id, display_name, client, frame_sizes)| PeerInfo {
            id,
            display_name,
            client,
            frame_sizes,
        },
    )
}

fn client_message() -> impl Strategy<Value = ClientMessage> {
    let auth = prop_oneof![
        token().prop_map(|access_token| Auth::Token { access_token }),
        text(64).prop_map(|display_name| Auth::Anonymous { display_name }),
    ];
    let join = (
        room_id(),
        auth,
        option::of(token()),
        client_kind(),
        frame_sizes(),
        option::of((peer_id(), token()).prop_map(|(peer_id, token)| Resume { peer_id, token })),
    )
        .prop_map(|(room, auth, invite, client, frame_sizes, resume)| {
            ClientMessage::Join(Join {
                room,
                auth,
                invite,
                client,
                frame_sizes,
                resume,
            })
        });
    prop_oneof![
        join,
        Just(ClientMessage::Leave),
        (peer_id(), sdp()).prop_map(|(to, sdp)| ClientMessage::Offer { to, sdp }),
        (peer_id(), sdp()).prop_map(|(to, sdp)| ClientMessage::Answer { to, sdp }),
        (peer_id(), candidate())
            .prop_map(|(to, candidate)| ClientMessage::Candidate { to, candidate }),
        text(MAX_CHAT_CHARS).prop_map(|text| ClientMessage::Chat { text }),
        any::<u32>().prop_map(|nonce| ClientMessage::Ping { nonce }),
    ]
}

fn server_message() -> impl Strategy<Value = ServerMessage> {
    let ice = (
        vec("(stun|turn|turns):[!-~]{1,60}", 1..4),
        option::of(token()),
        option::of(token()),
    )
        .prop_map(|(urls, username, credential)| IceServer {
            urls,
            username,
            credential,
        });
    let welcome = (
        peer_id(),
        room_id(),
        any::<u32>(),
        vec(peer_info(), 0..6),
        vec(ice, 0..4),
        any::<u32>(),
        option::of(token()),
        any::<bool>(),
    )
        .prop_map(
            |(
                peer_id,
                room,
                capacity,
                peers,
                ice_servers,
                heartbeat_interval_ms,
                resume_token,
                resumed,
            )| {
                ServerMessage::Welcome(Welcome {
                    peer_id,
                    room: RoomState {
                        room,
                        capacity,
                        peers,
                    },
                    ice_servers,
                    heartbeat_interval_ms,
                    resume_token,
                    resumed,
                })
            },
        );
    let code = prop_oneof![
        Just(ErrorCode::RoomFull),
        Just(ErrorCode::Unauthorized),
        Just(ErrorCode::NotInRoom),
        Just(ErrorCode::Malformed),
        Just(ErrorCode::TooLarge),
        Just(ErrorCode::UnsupportedVersion),
        Just(ErrorCode::RateLimited),
        Just(ErrorCode::Internal),
        Just(ErrorCode::RoomNotFound),
        Just(ErrorCode::RoomClosed),
        Just(ErrorCode::InvalidInvite),
        Just(ErrorCode::IdleTimeout),
    ];
    prop_oneof![
        welcome,
        peer_info().prop_map(|peer| ServerMessage::PeerJoined { peer }),
        peer_id().prop_map(|peer_id| ServerMessage::PeerLeft { peer_id }),
        (peer_id(), sdp()).prop_map(|(from, sdp)| ServerMessage::Offer { from, sdp }),
        (peer_id(), sdp()).prop_map(|(from, sdp)| ServerMessage::Answer { from, sdp }),
        (peer_id(), candidate())
            .prop_map(|(from, candidate)| ServerMessage::Candidate { from, candidate }),
        (peer_id(), text(200)).prop_map(|(from, text)| ServerMessage::Chat { from, text }),
        any::<u32>().prop_map(|nonce| ServerMessage::Pong { nonce }),
        (code, "[^\\p{Cc}]{0,100}").prop_map(|(code, m)| ServerMessage::error(code, &m)),
    ]
}

fn peer_message() -> impl Strategy<Value = PeerMessage> {
    let t = 0..(1u64 << 53);
    prop_oneof![
        t.clone()
            .prop_map(|t0_us| PeerMessage::ClockPing(ClockPing { t0_us })),
        (t.clone(), t.clone(), 0..1_000_000u64).prop_map(|(t0_us, t1_us, d)| {
            PeerMessage::ClockPong(ClockPong {
                t0_us,
                t1_us,
                t2_us: (t1_us + d).min((1 << 53) - 1),
            })
        }),
    ]
}

proptest! {
    #[test]
    fn client_messages_round_trip(message in client_message()) {
        let text = message.encode();
        prop_assert!(text.len() <= MAX_MESSAGE_BYTES);
        prop_assert_eq!(ClientMessage::decode(text.as_bytes()).expect("decode"), message);
    }

    #[test]
    fn server_messages_round_trip(message in server_message()) {
        let text = message.encode();
        prop_assert_eq!(ServerMessage::decode(text.as_bytes()).expect("decode"), message);
    }

    #[test]
    fn peer_messages_round_trip(message in peer_message()) {
        let text = message.encode();
        prop_assert_eq!(PeerMessage::decode(text.as_bytes()).expect("decode"), message);
    }

    /// Arbitrary bytes, and valid messages with one byte changed, never panic any decoder; what
    /// they accept re-encodes to something they accept again.
    #[test]
    fn decoders_never_panic(
        bytes in vec(any::<u8>(), 0..256),
        message in client_message(),
        at in any::<usize>(),
        byte in any::<u8>(),
    ) {
        let mut mutated = message.encode().into_bytes();
        let i = at % mutated.len();
        mutated[i] = byte;
        for input in [&bytes[..], &mutated[..]] {
            if let Ok(m) = ClientMessage::decode(input) {
                prop_assert!(ClientMessage::decode(m.encode().as_bytes()).is_ok());
            }
            if let Ok(m) = ServerMessage::decode(input) {
                prop_assert!(ServerMessage::decode(m.encode().as_bytes()).is_ok());
            }
            let _ = PeerMessage::decode(input);
        }
    }
}

#[test]
fn wire_format_is_stable() {
    let peer = PeerId::new("p1").expect("id");
    assert_eq!(
        ClientMessage::Candidate {
            to: peer.clone(),
            candidate: None
        }
        .encode(),
        r#"{"v":1,"type":"candidate","to":"p1","candidate":null}"#
    );
    assert_eq!(ClientMessage::Leave.encode(), r#"{"v":1,"type":"leave"}"#);
    assert_eq!(
        ServerMessage::error(ErrorCode::RoomFull, "room is full").encode(),
        r#"{"v":1,"type":"error","code":"room_full","message":"room is full"}"#
    );
    let join = ClientMessage::Join(Join {
        room: RoomId::new("r").expect("id"),
        auth: Auth::Token {
            access_token: "abc".into(),
        },
        invite: None,
        client: ClientKind::Browser,
        frame_sizes: vec![FrameSize::Ms10, FrameSize::Ms20],
        resume: None,
    });
    assert_eq!(
        join.encode(),
        r#"{"v":1,"type":"join","room":"r","auth":{"kind":"token","access_token":"abc"},"client":"browser","frame_sizes":[10000,20000]}"#
    );
    assert_eq!(
        PeerMessage::ClockPong(ClockPong {
            t0_us: 1,
            t1_us: 2,
            t2_us: 3
        })
        .encode(),
        r#"{"v":1,"type":"clock_pong","t0_us":1,"t1_us":2,"t2_us":3}"#
    );
}

#[test]
fn unknown_version_is_refused_clearly() {
    let err = ClientMessage::decode(br#"{"v":2,"type":"leave"}"#).expect_err("v2");
    assert!(matches!(
        err,
        ProtocolError::UnsupportedVersion {
            got: 2,
            supported: 1
        }
    ));
    assert_eq!(err.code(), ErrorCode::UnsupportedVersion);
    // Even a v2 message with types this build has never heard of gets the version error.
    let err = ServerMessage::decode(br#"{"v":7,"type":"hologram"}"#).expect_err("v7");
    assert_eq!(err.code(), ErrorCode::UnsupportedVersion);
    let err = ClientMessage::decode(br#"{"type":"leave"}"#).expect_err("no version");
    assert_eq!(err.code(), ErrorCode::Malformed);
}

#[test]
fn oversized_messages_are_not_parsed() {
    let big = vec![b' '; MAX_MESSAGE_BYTES + 1];
    let err = ClientMessage::decode(&big).expect_err("too large");
    assert!(matches!(err, ProtocolError::TooLarge { .. }));
    assert_eq!(
        ServerMessage::decode_error(&err),
        ServerMessage::Error {
            code: ErrorCode::TooLarge,
            message: err.to_string(),
        }
    );
}

#[test]
fn limits_are_enforced() {
    for bad in [
        r#"{"v":1,"type":"chat","text":""}"#,
        r#"{"v":1,"type":"chat","text":"a\u0007b"}"#,
        r#"{"v":1,"type":"offer","to":"a b","sdp":"v=0"}"#,
        r#"{"v":1,"type":"offer","to":"","sdp":"v=0"}"#,
        r#"{"v":1,"type":"offer","to":"p","sdp":""}"#,
        r#"{"v":1,"type":"join","room":"r","auth":{"kind":"anonymous","display_name":"  "},"client":"native","frame_sizes":[2500]}"#,
        r#"{"v":1,"type":"join","room":"r","auth":{"kind":"anonymous","display_name":"x"},"client":"native","frame_sizes":[]}"#,
        r#"{"v":1,"type":"join","room":"r","auth":{"kind":"anonymous","display_name":"x"},"client":"native","frame_sizes":[2500],"resume":{"peer_id":"p","token":""}}"#,
        r#"{"v":1,"type":"join","room":"r","auth":{"kind":"anonymous","display_name":"x"},"client":"native","frame_sizes":[2500],"resume":{"peer_id":"a b","token":"t"}}"#,
    ] {
        let err = ClientMessage::decode(bad.as_bytes()).expect_err(bad);
        assert!(matches!(err, ProtocolError::Invalid { .. }), "{bad}: {err}");
    }
    for malformed in [
        &br#"{"v":1,"type":"join","room":"r","auth":{"kind":"anonymous","display_name":"x"},"client":"native","frame_sizes":[3000]}"#[..],
        br#"{"v":1,"type":"teleport"}"#,
        br#"{"v":1}"#,
        b"not json",
        b"",
        b"[1,2,3]",
    ] {
        let err = ClientMessage::decode(malformed).expect_err("malformed");
        assert!(matches!(err, ProtocolError::Malformed(_)), "{err}");
    }
    let long = "x".repeat(MAX_CHAT_CHARS + 1);
    let text = ClientMessage::Chat { text: long }.encode();
    assert!(ClientMessage::decode(text.as_bytes()).is_err());
    let err = PeerMessage::decode(br#"{"v":1,"type":"clock_pong","t0_us":1,"t1_us":5,"t2_us":4}"#)
        .expect_err("t2 < t1");
    assert!(matches!(err, ProtocolError::Invalid { .. }));
}

#[test]
fn room_error_codes_have_stable_names() {
    for (code, wire) in [
        (ErrorCode::RoomNotFound, "room_not_found"),
        (ErrorCode::RoomClosed, "room_closed"),
        (ErrorCode::RoomFull, "room_full"),
        (ErrorCode::InvalidInvite, "invalid_invite"),
        (ErrorCode::IdleTimeout, "idle_timeout"),
    ] {
        let text = ServerMessage::error(code, "x").encode();
        assert_eq!(
            text,
            format!(r#"{{"v":1,"type":"error","code":"{wire}","message":"x"}}"#)
        );
        assert_eq!(
            ServerMessage::decode(text.as_bytes()).expect("decode"),
            ServerMessage::error(code, "x")
        );
    }
}

#[test]
fn newer_peers_interoperate() {
    // Unknown fields are ignored and unknown error codes still decode.
    let m = ServerMessage::decode(
        br#"{"v":1,"type":"error","code":"quantum_flux","message":"?","retry_after":3}"#,
    )
    .expect("decode");
    assert_eq!(
        m,
        ServerMessage::Error {
            code: ErrorCode::Unknown,
            message: "?".into()
        }
    );
}

/// Revision 2 adds optional fields only: revision-1 messages still decode (no resume), and a
/// revision-1 reader that ignores unknown fields still reads revision-2 ones.
#[test]
fn resume_fields_are_optional_both_ways() {
    let old_join = br#"{"v":1,"type":"join","room":"r","auth":{"kind":"anonymous","display_name":"x"},"client":"native","frame_sizes":[2500]}"#;
    match ClientMessage::decode(old_join).expect("revision-1 join") {
        ClientMessage::Join(join) => assert_eq!(join.resume, None),
        other => panic!("{other:?}"),
    }
    let old_welcome = br#"{"v":1,"type":"welcome","peer_id":"p","room":{"room":"r","capacity":2,"peers":[]},"ice_servers":[],"heartbeat_interval_ms":15000}"#;
    match ServerMessage::decode(old_welcome).expect("revision-1 welcome") {
        ServerMessage::Welcome(w) => assert_eq!((w.resume_token, w.resumed), (None, false)),
        other => panic!("{other:?}"),
    }
    let welcome = ServerMessage::Welcome(Welcome {
        peer_id: PeerId::new("p").expect("id"),
        room: RoomState {
            room: RoomId::new("r").expect("id"),
            capacity: 2,
            peers: vec![],
        },
        ice_servers: vec![],
        heartbeat_interval_ms: 15_000,
        resume_token: Some("secret".into()),
        resumed: true,
    });
    assert_eq!(
        welcome.encode(),
        r#"{"v":1,"type":"welcome","peer_id":"p","room":{"room":"r","capacity":2,"peers":[]},"ice_servers":[],"heartbeat_interval_ms":15000,"resume_token":"secret","resumed":true}"#
    );
    /// A revision-1 reader: the same fields without the new ones, unknown fields ignored.
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct WelcomeR1 {
        peer_id: PeerId,
        room: RoomState,
        ice_servers: Vec<IceServer>,
        heartbeat_interval_ms: u32,
    }
    let r1: WelcomeR1 = serde_json::from_str(&welcome.encode()).expect("revision-1 reader");
    assert_eq!(r1.peer_id.as_str(), "p");
}
