//! The room registry: who is connected to which room, and delivery between them.
//!
//! One mutex over a map of rooms, held only to look members up and push onto their queues
//! (`try_send`, never awaiting), so delivery order between any two peers is the order the hub saw
//! the messages. Each member is reached through its [`PeerLink`]: a bounded queue drained by the
//! connection's single writer task. A full queue means the client does not read fast enough: the
//! hub removes it at once (peers see `peer_left`), wakes its connection to close, and counts it;
//! the server never buffers without bound for a slow reader.
//!
//! **Held seats.** A connection that drops without `leave` is *detached*, not removed: its seat
//! keeps its peer id and counts against capacity, nobody hears `peer_left`, and messages
//! addressed to it (offers, answers, candidates, chat) are held, up to [`HELD_MAX`]. A join with
//! the seat's resume token ([`Hub::resume`]) takes it back: the old connection, if still open
//! (a ghost), is kicked, the held messages follow the welcome, and the others notice nothing.
//! The connection schedules [`Hub::leave`] after the grace period; each seat remembers which
//! connection holds it ([`Seat::conn`]), so a late leave from a replaced connection is a no-op.
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

/// Most messages held for a detached seat; one more and the seat is given up (`peer_left`),
/// since its client could not resume into a consistent state anyway.
pub(crate) const HELD_MAX: usize = 256;

/// What a resume must present to take a seat back.
#[derive(Debug, Clone)]
pub(crate) struct ResumeKey {
    /// The secret handed out in the seat's welcome.
    pub(crate) token: String,
    /// The account that joined (`None` for an anonymous seat).
    pub(crate) account: Option<String>,
}

impl ResumeKey {
    /// Same account, same token (compared in constant time: the token is a secret).
    fn matches(&self, token: &str, account: Option<&str>) -> bool {
        let (a, b) = (self.token.as_bytes(), token.as_bytes());
        let same_token =
            a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
        same_token && self.account.as_deref() == account
    }
}

struct Member {
    info: PeerInfo,
    /// The connection's queue; `None` while detached.
    link: Option<PeerLink>,
    /// The connection holding the seat (see [`Seat::conn`]).
    conn: u64,
    resume: ResumeKey,
    /// Messages for a detached seat, with their sender (dropped on delivery if it has left).
    held: Vec<(PeerId, Utf8Bytes)>,
}

impl Member {
    fn holds(&self, seat: &Seat) -> bool {
        self.info.id == seat.peer && self.conn == seat.conn
    }
}

/// A message for the members of a room: how a detached member treats it.
#[derive(Clone, Copy)]
enum Hold<'a> {
    /// Presence: the resume welcome carries the room as it is then, so it is not held.
    No,
    /// From this peer: held for a detached member.
    From(&'a PeerId),
}

struct LiveRoom {
    capacity: u32,
    members: Vec<Member>,
}

/// Where a joined connection is: the room, its own peer id, and which connection holds it.
#[derive(Debug, Clone)]
pub(crate) struct Seat {
    pub(crate) room: RoomId,
    pub(crate) peer: PeerId,
    /// A number unique to the connection: after a resume the seat belongs to the new one, and
    /// whatever the old one does (leave, relay) no longer touches it.
    pub(crate) conn: u64,
}

/// Every live room of this server process.
#[derive(Default)]
pub(crate) struct Hub {
    rooms: Mutex<HashMap<RoomId, LiveRoom>>,
    dirty: Mutex<HashSet<RoomId>>,
    dirty_changed: Notify,
    next_conn: std::sync::atomic::AtomicU64,
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
        resume: ResumeKey,
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
            conn: self.new_conn(),
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
        live.members.push(Member {
            info,
            link: Some(link),
            conn: seat.conn,
            resume,
            held: Vec::new(),
        });
        self.metrics.peers_changed(1);
        let mut failed = self.deliver_all(live, Some(&seat.peer), &joined, Hold::No);
        if !welcomed {
            failed.push(seat.peer.clone());
        }
        self.evict(live, failed);
        drop(rooms);
        self.mark_dirty(room);
        Ok(seat)
    }

    /// Takes back the seat `peer` of `room` for a new connection, if `token` and `account`
    /// match it (see [`ResumeKey`]) and it is still held. The old connection, if open, is kicked;
    /// the welcome (`resumed`) is queued, then the messages held meanwhile from peers still
    /// present. Nobody else is told. `None`: no such seat, and the caller seats the client
    /// afresh. Capacity is not checked — the seat was counted all along.
    pub(crate) fn resume(
        &self,
        room: &RoomId,
        peer: &PeerId,
        token: &str,
        account: Option<&str>,
        link: PeerLink,
        welcome: impl FnOnce(RoomState, &ResumeKey) -> ServerMessage,
    ) -> Option<Seat> {
        let mut rooms = lock(&self.rooms);
        let live = rooms.get_mut(room)?;
        let state = RoomState {
            room: room.clone(),
            capacity: live.capacity,
            peers: live.members.iter().map(|m| m.info.clone()).collect(),
        };
        let present: HashSet<PeerId> = live.members.iter().map(|m| m.info.id.clone()).collect();
        let conn = self.new_conn();
        let member = live
            .members
            .iter_mut()
            .find(|m| m.info.id == *peer && m.resume.matches(token, account))?;
        if let Some(ghost) = member.link.take() {
            ghost.kick();
        }
        member.conn = conn;
        let mut delivered = link.offer(Outbound::Text(encode(&welcome(state, &member.resume))));
        for (from, text) in std::mem::take(&mut member.held) {
            if present.contains(&from) {
                delivered &= link.offer(Outbound::Text(text));
            }
        }
        member.link = Some(link);
        if !delivered {
            self.evict(live, vec![peer.clone()]);
        }
        drop(rooms);
        self.mark_dirty(room);
        Some(Seat {
            room: room.clone(),
            peer: peer.clone(),
            conn,
        })
    }

    /// The seat's connection dropped without `leave`: keep the seat, hold its messages, tell
    /// nobody. The caller calls [`Hub::leave`] when the grace period ends.
    pub(crate) fn detach(&self, seat: &Seat) {
        let mut rooms = lock(&self.rooms);
        let member = rooms
            .get_mut(&seat.room)
            .and_then(|live| live.members.iter_mut().find(|m| m.holds(seat)));
        if let Some(member) = member {
            member.link = None;
        }
    }

    /// Removes the seat (if this connection still holds it) and tells the others. Idempotent: a
    /// peer the hub already removed (slow consumer, room closed) or that another connection
    /// resumed is not announced.
    pub(crate) fn leave(&self, seat: &Seat) {
        let mut rooms = lock(&self.rooms);
        let Some(live) = rooms.get_mut(&seat.room) else {
            return;
        };
        let Some(pos) = live.members.iter().position(|m| m.holds(seat)) else {
            return;
        };
        live.members.remove(pos);
        self.metrics.peers_changed(-1);
        let left = encode(&ServerMessage::PeerLeft {
            peer_id: seat.peer.clone(),
        });
        let failed = self.deliver_all(live, None, &left, Hold::No);
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
        if !live.members.iter().any(|m| m.holds(from)) {
            return Ok(()); // A replaced connection's last words: nobody is listening for them.
        }
        let target = live
            .members
            .iter_mut()
            .find(|m| m.info.id == *to)
            .ok_or(ErrorCode::UnknownPeer)?;
        if deliver(target, Hold::From(&from.peer), &encode(message)) {
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
        if !live.members.iter().any(|m| m.holds(from)) {
            return;
        }
        let failed = self.deliver_all(
            live,
            Some(&from.peer),
            &encode(message),
            Hold::From(&from.peer),
        );
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
            if let Some(link) = member.link {
                link.offer(Outbound::Text(closed.clone()));
                link.kick();
            }
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
        live: &mut LiveRoom,
        except: Option<&PeerId>,
        text: &Utf8Bytes,
        hold: Hold<'_>,
    ) -> Vec<PeerId> {
        let mut failed = Vec::new();
        for member in &mut live.members {
            if Some(&member.info.id) == except {
                continue;
            }
            if deliver(member, hold, text) {
                self.metrics.count(Count::Relayed);
            } else {
                failed.push(member.info.id.clone());
            }
        }
        failed
    }

    fn new_conn(&self) -> u64 {
        self.next_conn
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Removes slow consumers, wakes their connections to close, and announces their departure
    /// (which may find more slow consumers: repeat until none).
    fn evict(&self, live: &mut LiveRoom, mut failed: Vec<PeerId>) {
        while let Some(id) = failed.pop() {
            let Some(pos) = live.members.iter().position(|m| m.info.id == id) else {
                continue;
            };
            let member = live.members.remove(pos);
            if let Some(link) = member.link {
                link.kick();
            }
            self.metrics.count(Count::SlowConsumer);
            self.metrics.peers_changed(-1);
            tracing::info!(peer = %id, "signalling: disconnected a slow consumer");
            let left = encode(&ServerMessage::PeerLeft { peer_id: id });
            failed.extend(self.deliver_all(live, None, &left, Hold::No));
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

/// Queues `text` for `member`, or holds it while the member is detached (presence is not
/// held). `false`: its queue (or the held list) is full, and it must be evicted.
fn deliver(member: &mut Member, hold: Hold<'_>, text: &Utf8Bytes) -> bool {
    match (&member.link, hold) {
        (Some(link), _) => link.offer(Outbound::Text(text.clone())),
        (None, Hold::No) => true,
        (None, Hold::From(from)) => {
            if member.held.len() >= HELD_MAX {
                return false;
            }
            member.held.push((from.clone(), text.clone()));
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resume_key_needs_the_same_token_and_account() {
        let key = ResumeKey {
            token: "abc".into(),
            account: Some("u1".into()),
        };
        assert!(key.matches("abc", Some("u1")));
        for (token, account) in [
            ("abd", Some("u1")),
            ("ab", Some("u1")),
            ("abcd", Some("u1")),
            ("", Some("u1")),
            ("abc", Some("u2")),
            ("abc", None),
        ] {
            assert!(!key.matches(token, account), "{token} {account:?}");
        }
        let anonymous = ResumeKey {
            token: "abc".into(),
            account: None,
        };
        assert!(anonymous.matches("abc", None));
        assert!(!anonymous.matches("abc", Some("u1")));
    }
}
