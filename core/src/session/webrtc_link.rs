//! [`PeerLink`] on webrtc-rs 0.21 (the async layer over the sans-IO `rtc` core), on tokio.
//!
//! One `PeerConnection` per remote musician with:
//! - one send-receive audio transceiver whose local track is a `TrackLocalStaticRTP`: we hand it
//!   whole RTP packets, so our sequence numbers and timestamps reach the remote jitter buffer
//!   unchanged (`write_sample` would re-packetize and re-stamp them);
//! - Opus registered alone (PT 111, 48 kHz, 2 channels, fmtp from [`super::sdp::opus_fmtp`]);
//! - only the RTCP-report interceptors (sender/receiver reports for RTT and loss): no NACK — a
//!   retransmitted 2.5 ms frame arrives long after it was due — and no TWCC;
//! - two pre-negotiated data channels (see [`Channel`]).
//!
//! The WebRTC driver runs on the tokio runtime that calls [`WebRtcLink::new`]; event callbacks
//! and the per-track and per-channel reader tasks forward into the link's event channel.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::RTCOfferOptions;
use rtc::peer_connection::configuration::media_engine::MIME_TYPE_OPUS;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RtpCodecKind,
};
use tokio::sync::mpsc;
use webrtc::data_channel::{DataChannel, DataChannelEvent, RTCDataChannelInit};
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceCandidateInit, RTCIceGatheringState, RTCIceServer,
    RTCPeerConnectionIceEvent, RTCPeerConnectionState, RTCSessionDescription, Registry,
    SettingEngineBuilder, configure_rtcp_reports,
};

use super::sdp::{self, FramePolicy, OPUS_PAYLOAD_TYPE};
use super::transport::{
    Channel, IceCandidate, IceServer, IceTimeouts, LinkEvent, LinkState, Negotiated, PeerLink,
    RtpIn, RtpOut, SdpKind, SessionDescription, TransportError,
};

/// SCTP stream ids of the pre-negotiated channels; both ends create them with these ids.
const RELIABLE_STREAM: u16 = 0;
const UNRELIABLE_STREAM: u16 = 1;

/// How a [`WebRtcLink`] is built.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    /// STUN/TURN servers from the server's join reply.
    pub ice_servers: Vec<IceServer>,
    /// Local UDP sockets to bind. `0.0.0.0:0` binds every interface except loopback;
    /// loopback tests must name `127.0.0.1:0`.
    pub udp_addrs: Vec<SocketAddr>,
    /// Packet durations we advertise (see [`super::sdp`]).
    pub frames: FramePolicy,
    /// ICE liveness timers.
    pub ice_timeouts: IceTimeouts,
    /// SSRC of our audio stream; `None` picks a random one.
    pub ssrc: Option<u32>,
    /// Capacity of the event channel. RTP beyond it is dropped and counted.
    pub event_capacity: usize,
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self {
            ice_servers: Vec::new(),
            udp_addrs: vec![SocketAddr::from(([0, 0, 0, 0], 0))],
            frames: FramePolicy::default(),
            ice_timeouts: IceTimeouts::default(),
            ssrc: None,
            // 1024 packets = 2.5 s of 2.5 ms frames: room for a stalled consumer to catch up.
            event_capacity: 1024,
        }
    }
}

/// State shared between the link and its callbacks/reader tasks.
#[derive(Debug)]
struct Shared {
    events: mpsc::Sender<LinkEvent>,
    dropped_rtp: AtomicU64,
    closed_reported: AtomicBool,
}

impl Shared {
    /// Control events wait for room: losing a state change or candidate breaks the session.
    async fn report(&self, event: LinkEvent) {
        if matches!(event, LinkEvent::State(LinkState::Closed))
            && self.closed_reported.swap(true, Ordering::AcqRel)
        {
            return;
        }
        // A dropped receiver means nobody listens any more; nothing to do.
        let _ = self.events.send(event).await;
    }

    /// RTP never waits (a late packet is worthless and waiting would stall the driver).
    fn report_rtp(&self, packet: RtpIn) {
        if self.events.try_send(LinkEvent::Rtp(packet)).is_err() {
            self.dropped_rtp.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Forwards webrtc callbacks into [`Shared`].
struct Handler {
    shared: Arc<Shared>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Ok(init) = event.candidate.to_json() {
            let candidate = IceCandidate {
                candidate: init.candidate,
                sdp_mid: init.sdp_mid,
                sdp_mline_index: init.sdp_mline_index,
            };
            self.shared
                .report(LinkEvent::LocalCandidate(candidate))
                .await;
        }
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.shared.report(LinkEvent::GatheringComplete).await;
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let state = match state {
            RTCPeerConnectionState::New => LinkState::New,
            RTCPeerConnectionState::Connecting => LinkState::Connecting,
            RTCPeerConnectionState::Connected => LinkState::Connected,
            RTCPeerConnectionState::Disconnected => LinkState::Disconnected,
            RTCPeerConnectionState::Failed => LinkState::Failed,
            RTCPeerConnectionState::Closed => LinkState::Closed,
            _ => return,
        };
        self.shared.report(LinkEvent::State(state)).await;
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let shared = Arc::clone(&self.shared);
        tokio::spawn(async move {
            while let Some(event) = track.poll().await {
                match event {
                    TrackRemoteEvent::OnRtpPacket(packet) => shared.report_rtp(RtpIn {
                        sequence: packet.header.sequence_number,
                        timestamp: packet.header.timestamp,
                        marker: packet.header.marker,
                        payload_type: packet.header.payload_type,
                        ssrc: packet.header.ssrc,
                        payload: packet.payload,
                        arrival: Instant::now(),
                    }),
                    TrackRemoteEvent::OnEnded => break,
                    _ => {}
                }
            }
        });
    }
}

/// A [`PeerLink`] on webrtc-rs. Build with [`WebRtcLink::new`]; see the module docs.
pub struct WebRtcLink {
    pc: Arc<dyn PeerConnection>,
    track: Arc<TrackLocalStaticRTP>,
    reliable: Arc<dyn DataChannel>,
    unreliable: Arc<dyn DataChannel>,
    frames: FramePolicy,
    ssrc: u32,
    shared: Arc<Shared>,
    negotiated: Mutex<Option<Negotiated>>,
}

impl std::fmt::Debug for WebRtcLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebRtcLink")
            .field("ssrc", &self.ssrc)
            .field("negotiated", &self.negotiated())
            .finish_non_exhaustive()
    }
}

impl WebRtcLink {
    /// Binds the sockets and sets up the audio transceiver and both data channels; returns the
    /// link and its event stream. Must run inside a tokio runtime, which then drives the link.
    pub async fn new(
        config: LinkConfig,
    ) -> Result<(Self, mpsc::Receiver<LinkEvent>), TransportError> {
        if config.event_capacity == 0 {
            return Err(TransportError::InvalidConfig(
                "event_capacity must be > 0".into(),
            ));
        }
        let (events, rx) = mpsc::channel(config.event_capacity);
        let shared = Arc::new(Shared {
            events,
            dropped_rtp: AtomicU64::new(0),
            closed_reported: AtomicBool::new(false),
        });

        let opus = RTCRtpCodec {
            mime_type: MIME_TYPE_OPUS.to_owned(),
            clock_rate: crate::codec::SAMPLE_RATE,
            channels: 2,
            sdp_fmtp_line: sdp::opus_fmtp(&config.frames),
            rtcp_feedback: vec![],
        };
        let mut media = MediaEngine::default();
        media
            .register_codec(
                RTCRtpCodecParameters {
                    rtp_codec: opus.clone(),
                    payload_type: OPUS_PAYLOAD_TYPE,
                },
                RtpCodecKind::Audio,
            )
            .map_err(stack)?;
        let registry = configure_rtcp_reports(Registry::new());
        let t = config.ice_timeouts;
        let settings = SettingEngineBuilder::new()
            .with_ice_timeouts(Some(t.disconnected), Some(t.failed), Some(t.keepalive))
            .with_ice_connection_attempts(Some(t.check_interval), Some(binding_requests(t)))
            .with_prflx_acceptance_min_wait(Some(t.peer_reflexive_wait))
            .build();
        let rtc_config = RTCConfigurationBuilder::new()
            .with_ice_servers(
                config
                    .ice_servers
                    .iter()
                    .map(|s| RTCIceServer {
                        urls: s.urls.clone(),
                        username: s.username.clone(),
                        credential: s.credential.clone(),
                    })
                    .collect(),
            )
            .build();
        let handler = Arc::new(Handler {
            shared: Arc::clone(&shared),
        });
        let pc = PeerConnectionBuilder::new()
            .with_configuration(rtc_config)
            .with_media_engine(media)
            .with_setting_engine(settings)
            .with_interceptor_registry(registry)
            .with_handler(handler)
            .with_udp_addrs(config.udp_addrs.clone())
            .build()
            .await
            .map_err(|e| TransportError::InvalidConfig(e.to_string()))?;
        let pc: Arc<dyn PeerConnection> = Arc::new(pc);

        let ssrc = config.ssrc.unwrap_or_else(random_ssrc);
        let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
            "tutti".to_owned(),
            format!("tutti-audio-{ssrc:08x}"),
            "audio".to_owned(),
            RtpCodecKind::Audio,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                codec: opus,
                ..Default::default()
            }],
        )));
        pc.add_track(Arc::clone(&track) as Arc<dyn TrackLocal>)
            .await
            .map_err(stack)?;

        let reliable = open_channel(&pc, &shared, Channel::Reliable).await?;
        let unreliable = open_channel(&pc, &shared, Channel::Unreliable).await?;
        Ok((
            Self {
                pc,
                track,
                reliable,
                unreliable,
                frames: config.frames,
                ssrc,
                shared,
                negotiated: Mutex::new(None),
            },
            rx,
        ))
    }

    /// Our audio SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Applies a description we created and returns it for the remote with our
    /// `ptime`/`maxptime`/RED marker added. The stack refuses a locally applied SDP that differs
    /// from the one it generated, so the attributes go only into the copy that is sent; they
    /// concern the remote (how long the packets we want are), not our own stack. An answer's
    /// `ptime` is the negotiated frame, which is what a browser then sends.
    async fn apply_local(
        &self,
        kind: SdpKind,
        generated: RTCSessionDescription,
    ) -> Result<SessionDescription, TransportError> {
        let mut policy = self.frames;
        if let (SdpKind::Answer, Some(negotiated)) = (kind, self.negotiated()) {
            policy.preferred = negotiated.frame;
        }
        let sdp = sdp::add_media_attributes(&generated.sdp, &policy);
        self.pc
            .set_local_description(generated)
            .await
            .map_err(stack)?;
        Ok(SessionDescription { kind, sdp })
    }
}

#[async_trait::async_trait]
impl PeerLink for WebRtcLink {
    async fn create_offer(&self, ice_restart: bool) -> Result<SessionDescription, TransportError> {
        let offer = self
            .pc
            .create_offer(Some(RTCOfferOptions { ice_restart }))
            .await
            .map_err(|e| self.state_error(e))?;
        self.apply_local(SdpKind::Offer, offer).await
    }

    async fn create_answer(&self) -> Result<SessionDescription, TransportError> {
        let answer = self
            .pc
            .create_answer(None)
            .await
            .map_err(|_| TransportError::InvalidState("no remote offer to answer"))?;
        self.apply_local(SdpKind::Answer, answer).await
    }

    async fn set_remote_description(
        &self,
        desc: SessionDescription,
    ) -> Result<Negotiated, TransportError> {
        let remote = sdp::parse_remote_opus(&desc.sdp)?;
        let parsed = match desc.kind {
            SdpKind::Offer => RTCSessionDescription::offer(desc.sdp),
            SdpKind::Answer => RTCSessionDescription::answer(desc.sdp),
        }
        .map_err(|e| TransportError::BadRemoteDescription(e.to_string()))?;
        self.pc
            .set_remote_description(parsed)
            .await
            .map_err(|e| TransportError::BadRemoteDescription(e.to_string()))?;
        // The answer reuses the offer's payload type, so the remote's is ours to send with.
        let negotiated = Negotiated {
            frame: sdp::negotiate_frame(&self.frames, &remote),
            payload_type: remote.payload_type,
            remote_stereo: remote.stereo,
            remote_red: remote.red,
        };
        *self.negotiated.lock().unwrap_or_else(|p| p.into_inner()) = Some(negotiated);
        Ok(negotiated)
    }

    async fn add_remote_candidate(&self, candidate: IceCandidate) -> Result<(), TransportError> {
        let init = RTCIceCandidateInit {
            candidate: candidate.candidate,
            sdp_mid: candidate.sdp_mid,
            sdp_mline_index: candidate.sdp_mline_index,
            ..Default::default()
        };
        self.pc
            .add_ice_candidate(init)
            .await
            .map_err(|e| TransportError::BadRemoteCandidate(e.to_string()))
    }

    async fn send_rtp(&self, packet: RtpOut<'_>) -> Result<(), TransportError> {
        let negotiated = self
            .negotiated()
            .ok_or(TransportError::InvalidState("RTP before negotiation"))?;
        let rtp = rtc::rtp::Packet {
            header: rtc::rtp::Header {
                version: 2,
                marker: packet.marker,
                payload_type: negotiated.payload_type,
                sequence_number: packet.sequence,
                timestamp: packet.timestamp,
                ssrc: self.ssrc,
                ..Default::default()
            },
            payload: Bytes::copy_from_slice(packet.payload),
        };
        self.track
            .write_rtp(rtp)
            .await
            .map_err(|e| self.state_error(e))
    }

    async fn send_data(&self, channel: Channel, data: &[u8]) -> Result<(), TransportError> {
        let dc = match channel {
            Channel::Reliable => &self.reliable,
            Channel::Unreliable => &self.unreliable,
        };
        dc.send(BytesMut::from(data))
            .await
            .map_err(|e| self.state_error(e))
    }

    fn negotiated(&self) -> Option<Negotiated> {
        *self.negotiated.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn dropped_rtp(&self) -> u64 {
        self.shared.dropped_rtp.load(Ordering::Relaxed)
    }

    async fn close(&self) -> Result<(), TransportError> {
        let result = self.pc.close().await.map_err(stack);
        // The driver has stopped and reports nothing more; say it ourselves (once).
        self.shared
            .report(LinkEvent::State(LinkState::Closed))
            .await;
        result
    }
}

impl WebRtcLink {
    /// After close (ours or the remote's) every call fails; say so instead of a stack error.
    fn state_error(&self, e: webrtc::error::Error) -> TransportError {
        if self.shared.closed_reported.load(Ordering::Acquire) {
            TransportError::Closed
        } else {
            stack(e)
        }
    }
}

/// Creates one pre-negotiated data channel and the task that forwards its events.
async fn open_channel(
    pc: &Arc<dyn PeerConnection>,
    shared: &Arc<Shared>,
    channel: Channel,
) -> Result<Arc<dyn DataChannel>, TransportError> {
    let (label, init) = match channel {
        Channel::Reliable => (
            "tutti",
            RTCDataChannelInit {
                ordered: true,
                negotiated: Some(RELIABLE_STREAM),
                ..Default::default()
            },
        ),
        Channel::Unreliable => (
            "tutti-clock",
            RTCDataChannelInit {
                ordered: false,
                max_retransmits: Some(0),
                negotiated: Some(UNRELIABLE_STREAM),
                ..Default::default()
            },
        ),
    };
    let dc = pc
        .create_data_channel(label, Some(init))
        .await
        .map_err(stack)?;
    let (reader, shared) = (Arc::clone(&dc), Arc::clone(shared));
    tokio::spawn(async move {
        while let Some(event) = reader.poll().await {
            match event {
                DataChannelEvent::OnOpen => shared.report(LinkEvent::ChannelOpen(channel)).await,
                DataChannelEvent::OnMessage(message) => {
                    let data = message.data.freeze();
                    shared.report(LinkEvent::Data { channel, data }).await;
                }
                DataChannelEvent::OnClose => break,
                _ => {}
            }
        }
    });
    Ok(dc)
}

/// Attempts per candidate pair that keep the stack's default window (7 × 200 ms = 1.4 s) at
/// any check interval, so a faster pace does not give up sooner on long paths.
fn binding_requests(t: IceTimeouts) -> u16 {
    let interval = t.check_interval.as_millis().max(1);
    (1400u128.div_ceil(interval)).clamp(1, u16::MAX as u128) as u16
}

fn stack(e: webrtc::error::Error) -> TransportError {
    TransportError::Stack(e.to_string())
}

/// RFC 3550 wants a random SSRC; std's randomly keyed hasher (fresh keys per `RandomState`) is
/// enough for that without another dependency.
fn random_ssrc() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(sequence: u16) -> RtpIn {
        RtpIn {
            sequence,
            timestamp: 0,
            marker: false,
            payload_type: OPUS_PAYLOAD_TYPE,
            ssrc: 1,
            payload: Bytes::new(),
            arrival: Instant::now(),
        }
    }

    #[tokio::test]
    async fn rtp_is_dropped_and_counted_when_the_consumer_lags_but_closed_is_reported_once() {
        let (events, mut rx) = mpsc::channel(2);
        let shared = Shared {
            events,
            dropped_rtp: AtomicU64::new(0),
            closed_reported: AtomicBool::new(false),
        };
        for seq in 0..5 {
            shared.report_rtp(packet(seq));
        }
        assert_eq!(shared.dropped_rtp.load(Ordering::Relaxed), 3);
        let kept: Vec<u16> = [rx.recv().await, rx.recv().await]
            .into_iter()
            .filter_map(|e| match e {
                Some(LinkEvent::Rtp(p)) => Some(p.sequence),
                _ => None,
            })
            .collect();
        assert_eq!(kept, [0, 1], "the oldest packets are kept, in order");

        shared.report(LinkEvent::State(LinkState::Closed)).await;
        shared.report(LinkEvent::State(LinkState::Closed)).await;
        assert!(matches!(
            rx.recv().await,
            Some(LinkEvent::State(LinkState::Closed))
        ));
        assert!(rx.try_recv().is_err(), "Closed is reported once");
    }
}
