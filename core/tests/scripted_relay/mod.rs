//! What the tests against a scripted signalling relay share: the wait guard and the relay's
//! welcome message, and a relay that forwards between real sessions (`forwarding`).
#![allow(dead_code, clippy::unwrap_used)]

pub mod forwarding;

use std::time::Duration;

use tutti_core::protocol::{
    ClientKind, FrameSize, PeerId, PeerInfo, RoomId, RoomState, ServerMessage, Welcome,
};

/// Guard for any single wait (generous: the machine may be busy).
pub const GUARD: Duration = Duration::from_secs(30);

/// The welcome a relay sends to the joining peer `id`, alone in `room-1`.
pub fn welcome(id: &str) -> String {
    let me = PeerInfo {
        id: PeerId::new(id).unwrap(),
        display_name: "Ada".into(),
        client: ClientKind::Native,
        frame_sizes: vec![FrameSize::Ms2_5],
    };
    ServerMessage::Welcome(Welcome {
        peer_id: me.id.clone(),
        room: RoomState {
            room: RoomId::new("room-1").unwrap(),
            capacity: 4,
            peers: vec![me],
        },
        ice_servers: vec![],
        heartbeat_interval_ms: 15_000,
        resume_token: None,
        resumed: false,
    })
    .encode()
}
