//! Real WebRTC between in-process peers on loopback: negotiation, Opus RTP both ways, data
//! channels, ICE restart, close, and a peer that vanishes. SDP and candidates travel through
//! plain channels (`session::loopback`; no signalling server). Timeouts are failure guards only.
#![cfg(feature = "session")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tutti_core::codec::{Channels, Decoder, FrameDuration};
use tutti_core::session::loopback::{self, LoopbackPeer, opus_frames};
use tutti_core::session::transport::{
    Channel, LinkEvent, LinkState, PeerLink, RtpIn, RtpOut, SdpKind, SessionDescription,
};
use tutti_core::session::webrtc_link::{LinkConfig, WebRtcLink};

/// Failure guard for anything that should happen within a few seconds.
const GUARD: Duration = Duration::from_secs(30);
/// Real-time pacing of 2.5 ms frames.
const FRAME: Duration = Duration::from_micros(2500);

fn loopback_config() -> LinkConfig {
    LinkConfig {
        udp_addrs: vec![SocketAddr::from(([127, 0, 0, 1], 0))],
        ..LinkConfig::default()
    }
}

async fn send_frames(link: &WebRtcLink, frames: &[Vec<u8>], seq0: u16, ts0: u32) {
    loopback::send_frames(link, frames, seq0, ts0, FRAME)
        .await
        .expect("send RTP");
}

/// One side, with everything it reported so far.
struct Peer {
    link: Arc<WebRtcLink>,
    inner: LoopbackPeer,
    states: Vec<LinkState>,
    open: Vec<Channel>,
    rtp: Vec<RtpIn>,
    data: Vec<(Channel, Vec<u8>)>,
}

impl Peer {
    fn new(inner: LoopbackPeer) -> Self {
        Self {
            link: Arc::clone(&inner.link),
            inner,
            states: Vec::new(),
            open: Vec::new(),
            rtp: Vec::new(),
            data: Vec::new(),
        }
    }

    /// Takes events until `done` holds; `None` if `limit` passes first or the stream ends.
    async fn take_until(&mut self, limit: Duration, done: impl Fn(&Self) -> bool) -> Option<()> {
        let deadline = tokio::time::Instant::now() + limit;
        while !done(self) {
            let event = tokio::time::timeout_at(deadline, self.inner.events.recv())
                .await
                .ok()??;
            match event {
                LinkEvent::State(s) => self.states.push(s),
                LinkEvent::ChannelOpen(c) => self.open.push(c),
                LinkEvent::Rtp(p) => self.rtp.push(p),
                LinkEvent::Data { channel, data } => self.data.push((channel, data.to_vec())),
                _ => {}
            }
        }
        Some(())
    }

    async fn wait_state(&mut self, want: impl Fn(LinkState) -> bool) {
        let seen = self
            .take_until(GUARD, |p| p.states.iter().any(|s| want(*s)))
            .await;
        assert!(seen.is_some(), "state not reached; saw {:?}", self.states);
    }

    async fn wait_channels_open(&mut self) {
        let both =
            |p: &Self| p.open.contains(&Channel::Reliable) && p.open.contains(&Channel::Unreliable);
        assert!(
            self.take_until(GUARD, both).await.is_some(),
            "channels open"
        );
    }

    /// Takes up to `n` RTP packets; stops early after 2 s without one (some may be lost).
    async fn collect_rtp(&mut self, n: usize) -> Vec<RtpIn> {
        let deadline = Instant::now() + GUARD;
        while self.rtp.len() < n && Instant::now() < deadline {
            let before = self.rtp.len();
            let _ = self
                .take_until(Duration::from_secs(2), |p| p.rtp.len() > before)
                .await;
            if self.rtp.len() == before {
                break;
            }
        }
        std::mem::take(&mut self.rtp)
    }

    async fn collect_data(&mut self, n: usize) -> Vec<(Channel, Vec<u8>)> {
        let _ = self.take_until(GUARD, |p| p.data.len() >= n).await;
        std::mem::take(&mut self.data)
    }
}

struct Pair {
    a: Peer,
    b: Peer,
    offer_sdp: String,
}

impl Pair {
    async fn connect(a: LinkConfig, b: LinkConfig) -> Self {
        Self::connect_with_b_on(a, b, None).await
    }

    /// Connects and waits for both sides to report `Connected`; prints the time it took.
    async fn connect_with_b_on(a: LinkConfig, b: LinkConfig, b_rt: Option<Handle>) -> Self {
        let start = Instant::now();
        let pair = loopback::connect(a, b, b_rt).await.expect("negotiate");
        let mut pair = Self {
            a: Peer::new(pair.a),
            b: Peer::new(pair.b),
            offer_sdp: pair.offer_sdp,
        };
        pair.a.wait_state(|s| s == LinkState::Connected).await;
        pair.b.wait_state(|s| s == LinkState::Connected).await;
        println!(
            "connect time (build + offer/answer + ICE + DTLS): {:?}",
            start.elapsed()
        );
        pair
    }

    async fn close(self) {
        self.a.link.close().await.expect("close a");
        self.b.link.close().await.expect("close b");
    }
}

/// Opus RTP both ways at real 2.5 ms pacing: everything arrives, in order, bit-exact, decodable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opus_rtp_flows_both_ways_in_order() {
    let mut pair = Pair::connect(loopback_config(), loopback_config()).await;
    for peer in [&pair.a, &pair.b] {
        let n = peer.link.negotiated().expect("negotiated");
        assert_eq!(n.frame, FrameDuration::Ms2_5);
        assert!(n.remote_stereo, "stereo=1 must be in the remote fmtp");
        assert!(
            n.remote_red,
            "a=x-tutti-red survives the stack on both sides"
        );
    }
    assert!(
        !pair.offer_sdp.contains("a=ptime:2.5"),
        "ptime is an integer or absent"
    );

    const N: usize = 2000;
    let frames = opus_frames(N, 7);
    let (a, b) = (pair.a.link.clone(), pair.b.link.clone());
    let (fa, fb) = (frames.clone(), frames.clone());
    let send_a = tokio::spawn(async move { send_frames(&a, &fa, 1000, 50_000).await });
    let send_b = tokio::spawn(async move { send_frames(&b, &fb, 65_000, 4_294_900_000).await });
    let got_b = pair.b.collect_rtp(N).await;
    let got_a = pair.a.collect_rtp(N).await;
    send_a.await.expect("sender a");
    send_b.await.expect("sender b");

    for (got, seq0, ts0) in [
        (&got_b, 1000u16, 50_000u32),
        (&got_a, 65_000, 4_294_900_000),
    ] {
        let mut in_order = 0;
        let mut last: Option<u16> = None;
        let mut decoder = Decoder::new(Channels::Stereo).expect("decoder");
        let mut pcm = vec![0.0f32; 2 * 960];
        for p in got {
            let i = p.sequence.wrapping_sub(seq0) as usize;
            assert!(i < N, "unexpected sequence {}", p.sequence);
            assert_eq!(
                p.timestamp,
                ts0.wrapping_add(120 * i as u32),
                "timestamp of #{i}"
            );
            assert_eq!(&p.payload[..], &frames[i][..], "payload of #{i}");
            assert_eq!(p.payload_type, 111);
            assert_eq!(decoder.decode(&p.payload, &mut pcm).expect("decodes"), 120);
            if last.is_none_or(|l| p.sequence.wrapping_sub(l) as i16 > 0) {
                in_order += 1;
            }
            last = Some(p.sequence);
        }
        assert!(in_order * 100 >= N * 99, "{in_order}/{N} in order");
    }
    assert_eq!(pair.a.link.dropped_rtp() + pair.b.link.dropped_rtp(), 0);
    pair.close().await;
}

/// Both data channels carry messages both ways; the reliable one in order and complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_channels_carry_messages_both_ways() {
    let mut pair = Pair::connect(loopback_config(), loopback_config()).await;
    pair.a.wait_channels_open().await;
    pair.b.wait_channels_open().await;

    for i in 0..100u32 {
        let msg = format!("chat {i}");
        pair.a
            .link
            .send_data(Channel::Reliable, msg.as_bytes())
            .await
            .expect("send");
        pair.b
            .link
            .send_data(Channel::Reliable, &i.to_be_bytes())
            .await
            .expect("send");
    }
    pair.a
        .link
        .send_data(Channel::Unreliable, b"ping")
        .await
        .expect("send");
    pair.b
        .link
        .send_data(Channel::Unreliable, b"pong")
        .await
        .expect("send");

    let at_b = pair.b.collect_data(101).await;
    let at_a = pair.a.collect_data(101).await;
    let reliable_b: Vec<_> = at_b
        .iter()
        .filter(|(c, _)| *c == Channel::Reliable)
        .collect();
    let reliable_a: Vec<_> = at_a
        .iter()
        .filter(|(c, _)| *c == Channel::Reliable)
        .collect();
    assert_eq!(reliable_b.len(), 100);
    assert_eq!(reliable_a.len(), 100);
    for (i, ((_, at_b), (_, at_a))) in reliable_b.iter().zip(&reliable_a).enumerate() {
        assert_eq!(&at_b[..], format!("chat {i}").as_bytes());
        assert_eq!(&at_a[..], (i as u32).to_be_bytes());
    }
    // Unreliable over clean loopback: the one probe each way arrives.
    assert!(at_b.contains(&(Channel::Unreliable, b"ping".to_vec())));
    assert!(at_a.contains(&(Channel::Unreliable, b"pong".to_vec())));
    pair.close().await;
}

/// Connected, then closed on close; the remote notices; calls on a closed link fail cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_reports_closed_and_the_remote_notices() {
    let mut pair = Pair::connect(loopback_config(), loopback_config()).await;
    pair.a.link.close().await.expect("close");
    pair.a.link.close().await.expect("close is idempotent");
    pair.a.wait_state(|s| s == LinkState::Closed).await;
    pair.b
        .wait_state(|s| {
            matches!(
                s,
                LinkState::Closed | LinkState::Disconnected | LinkState::Failed
            )
        })
        .await;
    let frame = [0u8; 8];
    let out = RtpOut {
        sequence: 0,
        timestamp: 0,
        marker: false,
        payload: &frame,
    };
    assert!(pair.a.link.send_rtp(out).await.is_err());
    assert!(
        pair.a
            .link
            .send_data(Channel::Reliable, b"x")
            .await
            .is_err()
    );
    pair.b.link.close().await.expect("close");
}

/// An ICE restart renegotiates (fresh credentials) and media keeps flowing afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ice_restart_renegotiates_and_media_keeps_flowing() {
    let mut pair = Pair::connect(loopback_config(), loopback_config()).await;
    let frames = opus_frames(200, 3);
    send_frames(&pair.a.link, &frames[..100], 0, 0).await;
    assert!(pair.b.collect_rtp(100).await.len() >= 99);

    let old_ufrag = ice_ufrag(&pair.offer_sdp);
    let offer = pair.a.link.restart_ice().await.expect("restart offer");
    assert_ne!(
        ice_ufrag(&offer.sdp),
        old_ufrag,
        "restart must change ICE credentials"
    );
    pair.b
        .link
        .set_remote_description(offer)
        .await
        .expect("apply offer");
    let answer = pair.b.link.create_answer().await.expect("answer");
    pair.a
        .link
        .set_remote_description(answer)
        .await
        .expect("apply answer");

    send_frames(&pair.a.link, &frames[100..], 100, 100 * 120).await;
    let after = pair.b.collect_rtp(100).await;
    assert!(after.len() >= 99, "{} of 100 after restart", after.len());
    assert!(after.iter().all(|p| p.sequence >= 100));
    assert!(
        !pair.b.states.contains(&LinkState::Failed) && !pair.a.states.contains(&LinkState::Failed)
    );
    pair.close().await;
}

/// A peer that vanishes (its runtime and sockets gone, no goodbye) is reported within the ICE
/// timeouts, and the hub's other link keeps carrying media.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_peer_is_reported_and_the_other_link_keeps_working() {
    let fast = {
        let mut c = loopback_config();
        c.ice_timeouts.disconnected = Duration::from_secs(1);
        c.ice_timeouts.failed = Duration::from_secs(2);
        c.ice_timeouts.keepalive = Duration::from_millis(200);
        c
    };
    let mut hub_b = Pair::connect(loopback_config(), loopback_config()).await;
    let victim_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let mut hub_c =
        Pair::connect_with_b_on(fast, loopback_config(), Some(victim_rt.handle().clone())).await;

    let vanished = Instant::now();
    victim_rt.shutdown_background();
    hub_c
        .a
        .wait_state(|s| matches!(s, LinkState::Disconnected | LinkState::Failed))
        .await;
    println!(
        "vanished peer reported as {:?} after {:?} (disconnected timeout 1 s)",
        hub_c.a.states.last(),
        vanished.elapsed()
    );

    let frames = opus_frames(200, 5);
    send_frames(&hub_b.a.link, &frames, 0, 0).await;
    let got = hub_b.b.collect_rtp(200).await;
    assert!(got.len() >= 198, "{} of 200 on the healthy link", got.len());
    assert!(
        !hub_b
            .a
            .states
            .iter()
            .any(|s| *s != LinkState::Connecting && *s != LinkState::Connected)
    );
    hub_c.a.link.close().await.expect("close");
    hub_b.close().await;
}

fn ice_ufrag(sdp: &str) -> String {
    sdp.lines()
        .find_map(|l| l.trim_end().strip_prefix("a=ice-ufrag:"))
        .expect("ufrag")
        .to_owned()
}

/// A browser-like offer (Chrome's Opus fmtp, no `a=x-tutti-red`): the native answer negotiates
/// plain Opus at 10 ms and states `a=ptime:10`, which Chrome then sends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_like_offer_gets_plain_opus_at_10_ms() {
    let (offerer, _a_events) = WebRtcLink::new(loopback_config()).await.expect("link a");
    let (native, _b_events) = WebRtcLink::new(loopback_config()).await.expect("link b");
    let offer = offerer.create_offer(false).await.expect("offer");
    let browser_like: String = offer
        .sdp
        .lines()
        .filter(|l| *l != "a=x-tutti-red" && !l.starts_with("a=ptime:"))
        .map(|l| {
            if l.starts_with("a=fmtp:111 ") {
                "a=fmtp:111 minptime=10;useinbandfec=1".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n")
        + "\r\n";
    let negotiated = native
        .set_remote_description(SessionDescription {
            kind: SdpKind::Offer,
            sdp: browser_like,
        })
        .await
        .expect("browser-like offer accepted");
    assert!(!negotiated.remote_red);
    assert_eq!(negotiated.frame, FrameDuration::Ms10);
    let answer = native.create_answer().await.expect("answer");
    assert!(answer.sdp.contains("a=ptime:10\r\n"), "{}", answer.sdp);
    assert!(answer.sdp.contains("a=x-tutti-red\r\n"));
}
