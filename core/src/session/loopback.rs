//! Two real [`WebRtcLink`]s in one process, signalled through plain channels: the harness shared
//! by the transport tests and the transport benchmark (feature `netsim`, not release API).
//!
//! [`connect`] builds both links, runs offer/answer, then starts one pump task per side that
//! hands local ICE candidates straight to the other link and forwards every other event to that
//! side's [`LoopbackPeer::events`]. It does not wait for the connection; callers watch for
//! [`LinkState::Connected`](super::transport::LinkState::Connected).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::runtime::Handle;
use tokio::sync::mpsc;

use super::transport::{LinkEvent, PeerLink, TransportError};
use super::webrtc_link::{LinkConfig, WebRtcLink};

/// One side of a loopback pair.
#[derive(Debug)]
pub struct LoopbackPeer {
    /// The link.
    pub link: Arc<WebRtcLink>,
    /// Its events, minus the local candidates the pump already delivered.
    pub events: mpsc::UnboundedReceiver<LinkEvent>,
    /// Remote candidates the link refused (e.g. stale ones around an ICE restart).
    pub rejected_candidates: Arc<AtomicU64>,
}

/// Both sides of a negotiated loopback pair.
#[derive(Debug)]
pub struct LoopbackPair {
    /// The offering side.
    pub a: LoopbackPeer,
    /// The answering side.
    pub b: LoopbackPeer,
    /// The offer as sent, e.g. to compare ICE credentials after a restart.
    pub offer_sdp: String,
}

/// Builds and negotiates two links; `a` offers. `b_runtime` runs side `b` — its driver, pump and
/// negotiation calls — on another runtime, so a test can make `b` vanish by shutting it down.
pub async fn connect(
    a_config: LinkConfig,
    b_config: LinkConfig,
    b_runtime: Option<Handle>,
) -> Result<LoopbackPair, TransportError> {
    let b_rt = b_runtime.unwrap_or_else(Handle::current);
    let (a, a_events) = WebRtcLink::new(a_config).await?;
    let (b, b_events) = b_rt
        .spawn(WebRtcLink::new(b_config))
        .await
        .map_err(|e| TransportError::Stack(e.to_string()))??;
    let (a, b) = (Arc::new(a), Arc::new(b));
    let offer_sdp = renegotiate(&a, &b, false, &b_rt).await?;
    Ok(LoopbackPair {
        a: pump(&Handle::current(), a_events, Arc::clone(&a), Arc::clone(&b)),
        b: pump(&b_rt, b_events, b, a),
        offer_sdp,
    })
}

/// One offer/answer round from `a` to `b` (with fresh ICE credentials if `ice_restart`);
/// returns the offer's SDP.
pub async fn renegotiate(
    a: &Arc<WebRtcLink>,
    b: &Arc<WebRtcLink>,
    ice_restart: bool,
    b_runtime: &Handle,
) -> Result<String, TransportError> {
    let offer = a.create_offer(ice_restart).await?;
    let offer_sdp = offer.sdp.clone();
    let answerer = Arc::clone(b);
    let answer = b_runtime
        .spawn(async move {
            answerer.set_remote_description(offer).await?;
            answerer.create_answer().await
        })
        .await
        .map_err(|e| TransportError::Stack(e.to_string()))??;
    a.set_remote_description(answer).await?;
    Ok(offer_sdp)
}

fn pump(
    runtime: &Handle,
    mut events: mpsc::Receiver<LinkEvent>,
    link: Arc<WebRtcLink>,
    remote: Arc<WebRtcLink>,
) -> LoopbackPeer {
    let (tx, rx) = mpsc::unbounded_channel();
    let rejected = Arc::new(AtomicU64::new(0));
    let rejected_in_pump = Arc::clone(&rejected);
    runtime.spawn(async move {
        while let Some(event) = events.recv().await {
            match event {
                LinkEvent::LocalCandidate(candidate) => {
                    if remote.add_remote_candidate(candidate).await.is_err() {
                        rejected_in_pump.fetch_add(1, Ordering::Relaxed);
                    }
                }
                other => {
                    if tx.send(other).is_err() {
                        break;
                    }
                }
            }
        }
    });
    LoopbackPeer {
        link,
        events: rx,
        rejected_candidates: rejected,
    }
}

/// `n` real Opus packets (default encoder: stereo, 2.5 ms, 128 kbit/s) of a two-tone chord whose
/// pitch depends on `seed`, so runs are reproducible and streams distinguishable.
pub fn opus_frames(n: usize, seed: u32) -> Vec<Vec<u8>> {
    use crate::codec::{Encoder, EncoderConfig, MAX_PACKET_BYTES, SAMPLE_RATE};
    #[allow(clippy::expect_used)] // the default configuration is valid by construction
    let mut encoder = Encoder::new(EncoderConfig::default()).expect("default encoder config");
    let (f1, f2) = (220.0 + 20.0 * seed as f32, 330.0 + 30.0 * seed as f32);
    let mut pcm = [0.0f32; 240];
    let mut out = [0u8; MAX_PACKET_BYTES];
    (0..n)
        .map(|frame| {
            for (i, pair) in pcm.chunks_exact_mut(2).enumerate() {
                let t = (frame * 120 + i) as f32 / SAMPLE_RATE as f32;
                let phase = std::f32::consts::TAU * t;
                pair[0] = 0.3 * (phase * f1).sin();
                pair[1] = 0.3 * (phase * f2).sin();
            }
            #[allow(clippy::expect_used)] // one frame of f32 into a max-size buffer cannot fail
            let len = encoder.encode(&pcm, &mut out).expect("encode");
            out[..len].to_vec()
        })
        .collect()
}

/// Sends `frames` as consecutive RTP packets (sequence from `seq0`, timestamp from `ts0`,
/// +120 per 2.5 ms frame), one every `interval` (zero: as fast as the link accepts them).
pub async fn send_frames(
    link: &dyn PeerLink,
    frames: &[Vec<u8>],
    seq0: u16,
    ts0: u32,
    interval: std::time::Duration,
) -> Result<(), TransportError> {
    let mut ticker = (!interval.is_zero()).then(|| tokio::time::interval(interval));
    for (i, payload) in frames.iter().enumerate() {
        if let Some(ticker) = ticker.as_mut() {
            ticker.tick().await;
        }
        link.send_rtp(super::transport::RtpOut {
            sequence: seq0.wrapping_add(i as u16),
            timestamp: ts0.wrapping_add(120 * i as u32),
            marker: i == 0,
            payload,
        })
        .await?;
    }
    Ok(())
}
