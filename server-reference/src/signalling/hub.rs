//! The room registry: who is connected to which room, and delivery between them.
//!
//! One mutex over a map of rooms, held only to look members up and push onto their queues
//! (`try_send`, never awaiting), so delivery order between any two peers is the order the hub saw
//! the messages. Each member is reached through its [`PeerLink`]: a bounded queue drained by the
//! connection's single writer task. A full queue means the client does not read fast enough: the
//! hub removes it at once (peers see `peer_left`), wakes its connection to close, and counts it;
//! the server never buffers without bound for a slow reader.
//!
//! Occupancy changes mark the room dirty; one background task ([`Hub::run_occupancy_writer`])
//! writes the *current* count of each dirty room through `rooms::relay::report_occupancy`
//! (which updates the database and the lobby feed), so reports cannot overtake each other.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::{Notify, mpsc};
use tutti_core::protocol::{ErrorCode, PeerId, PeerInfo, RoomId, RoomState, ServerMessage};

use super::metrics::{Count, SignalMetrics};
use crate::AppState;

/// What a connection's writer task sends.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// One encoded protocol message (shared between recipients, encoded once).
    Text(Utf8Bytes),
    /// A close frame; the writer stops after it.
    Close {
        /// WebSocket close code.
        code: u16,
        /// Short reason.
        reason: &'static str,
    },
}

/// The hub's handle on one connection: its send queue and a way to make it close.
#[derive(Debug, Clone)]
pub(crate) struct PeerLink {
    tx: mpsc::Sender<Outbound>,
    kick: Arc<Notify>,
}

impl PeerLink {
    pub(crate) fn new(tx: mpsc::Sender<Outbound>, kick: Arc<Notify>) -> Self {
        Self { tx, kick }
    }

    /// Queues `item` without waiting; `false` when the queue is full or the writer is gone.
    pub(crate) fn offer(&self, item: Outbound) -> bool {
        self.tx.try_send(item).is_ok()
    }

    /// Wakes the connection so it closes (it sees the notification in its read loop).
    pub(crate) fn kick(&self) {
        self.kick.notify_one();
    }
}

/// Encodes a server message once, for any number of queues.
pub(crate) fn encode(message: &ServerMessage) -> Utf8Bytes {
    Utf8Bytes::from(message.encode())
}

struct Member {
    info: PeerInfo,
    link: PeerLink,
}

struct LiveRoom {
    capacity: u32,
    members: Vec<Member>,
}

/// Where a joined connection is: the room and its own peer id.
#[derive(Debug, Clone)]
pub(crate) struct Seat {
    pub(crate) room: RoomId,
    pub(crate) peer: PeerId,
}

/// Every live room of this server process.
#[derive(Default)]
pub(crate) struct Hub {
    rooms: Mutex<HashMap<RoomId, LiveRoom>>,
    dirty: Mutex<HashSet<RoomId>>,
    dirty_changed: Notify,
    pub(crate) metrics: SignalMetrics,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Hub {
    /// Seats `info` in `room` if there is space: queues the welcome (built from the room as it
    /// now is, newcomer included) on the newcomer's own queue *before* anyone can address it,
    /// then tells the others. `Err(RoomFull)` when at capacity.
    pub(crate) fn enter(
        &self,
        room: &RoomId,
        capacity: u32,
        info: PeerInfo,
        link: PeerLink,
        welcome: impl FnOnce(RoomState) -> ServerMessage,
    ) -> Result<Seat, ErrorCode> {
        let mut rooms = lock(&self.rooms);
        let live = rooms.entry(room.clone()).or_insert_with(|| LiveRoom {
            capacity,
            members: Vec::new(),
        });
        live.capacity = capacity;
        if live.members.len() >= capacity as usize {
            if live.members.is_empty() {
                rooms.remove(room);
            }
            return Err(ErrorCode::RoomFull);
        }
        let seat = Seat {
            room: room.clone(),
            peer: info.id.clone(),
        };
        let mut peers: Vec<PeerInfo> = live.members.iter().map(|m| m.info.clone()).collect();
        peers.push(info.clone());
        let state = RoomState {
            room: room.clone(),
            capacity,
            peers,
        };
        let joined = encode(&ServerMessage::PeerJoined { peer: info.clone() });
        let welcomed = link.offer(Outbound::Text(encode(&welcome(state))));
        live.members.push(Member { info, link });
        self.metrics.peers_changed(1);
        let mut failed = self.deliver_all(live, Some(&seat.peer), &joined);
        if !welcomed {
            failed.push(seat.peer.clone());
        }
        self.evict(live, failed);
        drop(rooms);
        self.mark_dirty(room);
        Ok(seat)
    }

    /// Removes the seat (if still there) and tells the others. Idempotent: a peer the hub
    /// already removed (slow consumer, room closed) is not announced twice.
    pub(crate) fn leave(&self, seat: &Seat) {
        let mut rooms = lock(&self.rooms);
        let Some(live) = rooms.get_mut(&seat.room) else {
            return;
        };
        let Some(pos) = live.members.iter().position(|m| m.info.id == seat.peer) else {
            return;
        };
        live.members.remove(pos);
        self.metrics.peers_changed(-1);
        let left = encode(&ServerMessage::PeerLeft {
            peer_id: seat.peer.clone(),
        });
        let failed = self.deliver_all(live, None, &left);
        self.evict(live, failed);
        if live.members.is_empty() {
            rooms.remove(&seat.room);
        }
        drop(rooms);
        self.mark_dirty(&seat.room);
    }

    /// Delivers `message` to peer `to` in the sender's room. `Err(UnknownPeer)` if `to` is not
    /// there (or is the sender).
    pub(crate) fn send_to(
        &self,
        from: &Seat,
        to: &PeerId,
        message: &ServerMessage,
    ) -> Result<(), ErrorCode> {
        if *to == from.peer {
            return Err(ErrorCode::UnknownPeer);
        }
        let mut rooms = lock(&self.rooms);
        let live = rooms.get_mut(&from.room).ok_or(ErrorCode::UnknownPeer)?;
        let target = live
            .members
            .iter()
            .find(|m| m.info.id == *to)
            .ok_or(ErrorCode::UnknownPeer)?;
        if target.link.offer(Outbound::Text(encode(message))) {
            self.metrics.count(Count::Relayed);
        } else {
            self.evict(live, vec![to.clone()]);
            drop(rooms);
            self.mark_dirty(&from.room);
        }
        Ok(())
    }

    /// Delivers `message` to everyone in the sender's room except the sender.
    pub(crate) fn send_to_room(&self, from: &Seat, message: &ServerMessage) {
        let mut rooms = lock(&self.rooms);
        let Some(live) = rooms.get_mut(&from.room) else {
            return;
        };
        let failed = self.deliver_all(live, Some(&from.peer), &encode(message));
        let changed = !failed.is_empty();
        self.evict(live, failed);
        drop(rooms);
        if changed {
            self.mark_dirty(&from.room);
        }
    }

    /// The room was closed: every member gets `room_closed` and is disconnected.
    pub(crate) fn close_room(&self, room: &RoomId) {
        let Some(live) = lock(&self.rooms).remove(room) else {
            return;
        };
        let closed = encode(&ServerMessage::error(
            ErrorCode::RoomClosed,
            "the room was closed",
        ));
        for member in live.members {
            member.link.offer(Outbound::Text(closed.clone()));
            member.link.kick();
            self.metrics.peers_changed(-1);
        }
    }

    /// Peers in `room` now.
    pub(crate) fn occupancy(&self, room: &RoomId) -> u32 {
        lock(&self.rooms).get(room).map_or(0, |live| {
            u32::try_from(live.members.len()).unwrap_or(u32::MAX)
        })
    }

    /// Queues `text` for every member but `except`; returns those whose queue was full.
    fn deliver_all(
        &self,
        live: &LiveRoom,
        except: Option<&PeerId>,
        text: &Utf8Bytes,
    ) -> Vec<PeerId> {
        let mut failed = Vec::new();
        for member in &live.members {
            if Some(&member.info.id) == except {
                continue;
            }
            if member.link.offer(Outbound::Text(text.clone())) {
                self.metrics.count(Count::Relayed);
            } else {
                failed.push(member.info.id.clone());
            }
        }
        failed
    }

    /// Removes slow consumers, wakes their connections to close, and announces their departure
    /// (which may find more slow consumers: repeat until none).
    fn evict(&self, live: &mut LiveRoom, mut failed: Vec<PeerId>) {
        while let Some(id) = failed.pop() {
            let Some(pos) = live.members.iter().position(|m| m.info.id == id) else {
                continue;
            };
            let member = live.members.remove(pos);
            member.link.kick();
            self.metrics.count(Count::SlowConsumer);
            self.metrics.peers_changed(-1);
            tracing::info!(peer = %id, "signalling: disconnected a slow consumer");
            let left = encode(&ServerMessage::PeerLeft { peer_id: id });
            failed.extend(self.deliver_all(live, None, &left));
        }
    }

    fn mark_dirty(&self, room: &RoomId) {
        lock(&self.dirty).insert(room.clone());
        self.dirty_changed.notify_one();
    }

    /// Writes occupancy of rooms marked dirty, forever (spawned once per server). Reads the count
    /// at write time, so the last write of a room always carries its latest count.
    pub(crate) async fn run_occupancy_writer(self: Arc<Self>, state: AppState) {
        loop {
            self.dirty_changed.notified().await;
            let rooms: Vec<RoomId> = lock(&self.dirty).drain().collect();
            for room in rooms {
                let count = self.occupancy(&room);
                match crate::rooms::relay::report_occupancy(&state, room.as_str(), count).await {
                    Ok(_) | Err(crate::ApiError::NotFound(_)) => {}
                    Err(e) => tracing::warn!(room = %room, error = %e, "occupancy not recorded"),
                }
            }
        }
    }
}
