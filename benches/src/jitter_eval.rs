//! The jitter-buffer evaluation: each policy plays the same packet trace through the real playout
//! path, and its delay and concealment are compared with the oracle bound of that trace.
//!
//! Delays are measured in the trace's time base, detrended for clock drift: a frame's *added
//! delay* is when it was pulled for playout minus when it was sent, minus the fastest delivery
//! on the trace. The oracle bound for a concealment rate `p` is the `(1 − p)` quantile of the
//! frames' effective delays (the earliest copy, redundancy included; lost frames count as
//! infinitely late) minus the minimum — the delay a clairvoyant fixed buffer would need.

use std::time::{Duration, Instant};

use serde::Serialize;
use tutti_core::codec::FrameDuration;
use tutti_core::drift::SkewEstimator;
use tutti_core::jitter::{AdaptivePolicy, DelayPolicy, FixedPolicy, JitterBuffer, JitterConfig};
use tutti_core::netsim::playback::{FrameLog, Playback, numbered_frame, packetize};
use tutti_core::netsim::{LossModel, NetworkProfile, Trace, quantile};
use tutti_core::playout::Playout;

use crate::reference_policies::{JamulusLike, NetEqLike, SonoBusLike};

/// Redundancy depth used by every policy (the receiver keeps whichever copy comes first).
pub const REDUNDANCY: usize = 2;
/// Host callback size for the evaluation: 64 frames (1.33 ms), a typical low-latency DAW setting.
pub const HOST_BLOCK: usize = 64;
/// Tutti's late-loss goal in the evaluation (the default configuration).
pub const OUR_GOAL: f64 = 0.0025;

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct EvalResult {
    /// Network profile or trace name.
    pub profile: String,
    /// Policy name.
    pub policy: String,
    /// Mean added playout delay of played frames, ms.
    pub mean_delay_ms: f64,
    /// 95th percentile of the added playout delay, ms.
    pub p95_delay_ms: f64,
    /// Concealed share of output frames after start-up, percent.
    pub concealed_pct: f64,
    /// Oracle bound at the same concealed share, ms (`null` when loss alone exceeds it).
    pub oracle_delay_ms: Option<f64>,
    /// Frames played from a redundant copy, percent of played frames.
    pub recovered_pct: f64,
    /// Frames played (decoded or recovered).
    pub frames: usize,
}

/// The built-in network profiles: each with ±100 ppm sender clock drift, 1% random loss plus
/// Gilbert–Elliott bursts (mean 3 packets, a few per minute).
pub fn profiles() -> Vec<(&'static str, NetworkProfile)> {
    let loss = LossModel::random_plus_bursts(0.01, 3.0, 4.0 / 24_000.0);
    vec![
        (
            "wired",
            NetworkProfile::wired()
                .with_loss(loss)
                .with_drift(100.0, 0.0),
        ),
        (
            "wifi",
            NetworkProfile::wifi()
                .with_loss(loss)
                .with_drift(-100.0, 0.0),
        ),
        (
            "cellular",
            NetworkProfile::cellular()
                .with_loss(loss)
                .with_drift(100.0, 0.0),
        ),
    ]
}

/// Late-loss goals (percent) at which Tutti's policy is also run, to trace its delay/concealment
/// curve: a reference rule is beaten when some point of the curve has both lower delay and no
/// more concealment.
pub const GOAL_SWEEP_PCT: [f64; 4] = [0.05, 0.5, 2.0, 8.0];

/// The policies compared, by name: `tutti` (default goal), `tutti@G` (goal G percent), fixed
/// buffers of 1–8 frames and the three reference rules.
pub fn policy_names() -> Vec<String> {
    let mut names = vec!["tutti".to_string()];
    names.extend(GOAL_SWEEP_PCT.iter().map(|g| format!("tutti@{g}")));
    names.extend((1..=8).map(|n| format!("fixed-{n}")));
    names.extend(["neteq-like", "jamulus-like", "sonobus-like"].map(String::from));
    names
}

/// What one policy did on a trace.
struct Played {
    /// `(frame, pull time in trace time)`.
    frames: Vec<(u64, Duration)>,
    recovered: usize,
    concealed: u64,
}

/// Tutti's policy at the late-loss goal (percent) whose concealment comes closest to, without
/// exceeding, `reference`'s: the like-for-like comparison point. Bisects the goal in log space.
pub fn match_concealment(prepared: &Prepared, reference: &EvalResult) -> Option<EvalResult> {
    let (mut lo, mut hi) = (0.001f64.ln(), 20f64.ln());
    let mut best: Option<EvalResult> = None;
    for _ in 0..12 {
        let goal = ((lo + hi) / 2.0).exp();
        let result = prepared.evaluate(&format!("tutti@{goal:.4}"))?;
        if result.concealed_pct <= reference.concealed_pct {
            lo = goal.ln();
            if best
                .as_ref()
                .is_none_or(|b| result.mean_delay_ms < b.mean_delay_ms)
            {
                best = Some(result);
            }
        } else {
            hi = goal.ln();
        }
    }
    best
}

/// A trace prepared for evaluation: payloads and the detrended effective delays.
pub struct Prepared {
    name: String,
    trace: Trace,
    payloads: Vec<Vec<u8>>,
    frame: FrameDuration,
    /// Send time per frame (trace time), indexed by sequence number.
    send: Vec<Duration>,
    /// Drift slope of delay against time (s/s), removed from every delay.
    slope: f64,
    /// Detrended effective delay per frame, seconds (`INFINITY` when no copy arrived).
    effective: Vec<f64>,
    /// Smallest detrended effective delay.
    min_delay: f64,
}

impl Prepared {
    /// Prepares `trace` (sequence numbers renumbered from 0) with frames of `frame` duration.
    pub fn new(name: &str, mut trace: Trace, frame: FrameDuration) -> Self {
        let first = trace.records.iter().map(|r| r.seq).min().unwrap_or(0);
        trace.records.iter_mut().for_each(|r| r.seq -= first);
        let count = trace.records.iter().map(|r| r.seq + 1).max().unwrap_or(0) as usize;
        let mut send = vec![Duration::ZERO; count];
        let mut recv = vec![None; count];
        for r in &trace.records {
            send[r.seq as usize] = r.send;
            recv[r.seq as usize] = r.recv;
        }
        // A frame's earliest copy: its own packet or one of the next REDUNDANCY packets.
        let earliest: Vec<Option<Duration>> = (0..count)
            .map(|k| {
                (k..=(k + REDUNDANCY).min(count - 1))
                    .filter_map(|j| recv[j])
                    .min()
            })
            .collect();
        let mut skew = SkewEstimator::new();
        let mut by_arrival: Vec<(Duration, Duration)> = (0..count)
            .filter_map(|k| recv[k].map(|a| (a, send[k])))
            .collect();
        by_arrival.sort_unstable();
        for (a, s) in &by_arrival {
            skew.observe(a.as_secs_f64(), a.as_secs_f64() - s.as_secs_f64());
        }
        let slope = skew.skew();
        let effective: Vec<f64> = (0..count)
            .map(|k| match earliest[k] {
                Some(a) => detrend(a, send[k], slope),
                None => f64::INFINITY,
            })
            .collect();
        let min_delay = effective.iter().copied().fold(f64::INFINITY, f64::min);
        let payloads = packetize(count as u64, frame, Some(REDUNDANCY), |k| {
            numbered_frame(k).to_vec()
        });
        Self {
            name: name.to_string(),
            trace,
            payloads,
            frame,
            send,
            slope,
            effective,
            min_delay,
        }
    }

    /// The profile or trace name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Plays the trace through the real playout with `policy`.
    fn play<P: DelayPolicy>(&self, policy: P) -> Played {
        let config = JitterConfig {
            frame: self.frame,
            late_goal: OUR_GOAL,
            ..JitterConfig::default()
        };
        let jitter = JitterBuffer::with_policy(config, policy);
        let Ok(mut playout) = Playout::with_parts(jitter, FrameLog::default()) else {
            return Played {
                frames: Vec::new(),
                recovered: 0,
                concealed: 0,
            };
        };
        let epoch = Instant::now();
        // Stop with the stream: after its last frame every policy would only conceal.
        let until = self.send.last().copied().unwrap_or_default();
        Playback {
            trace: &self.trace,
            payloads: &self.payloads,
            frame: self.frame,
            host_block: HOST_BLOCK,
            until,
            epoch,
        }
        .run(&mut playout, |_| {});
        let log = playout.render();
        Played {
            frames: log
                .played
                .iter()
                .map(|&(k, t, _)| (k, t.saturating_duration_since(epoch)))
                .collect(),
            recovered: log.played.iter().filter(|p| p.2).count(),
            concealed: log.concealed,
        }
    }

    /// Runs the named policy and scores it.
    pub fn evaluate(&self, policy: &str) -> Option<EvalResult> {
        let frame = self.frame.as_duration();
        let played = match policy {
            "tutti" => self.play(AdaptivePolicy::new(
                frame,
                OUR_GOAL,
                JitterConfig::default().memory,
            )),
            sweep if sweep.starts_with("tutti@") => {
                let goal: f64 = sweep.strip_prefix("tutti@")?.parse().ok()?;
                self.play(AdaptivePolicy::new(
                    frame,
                    goal / 100.0,
                    JitterConfig::default().memory,
                ))
            }
            "neteq-like" => self.play(NetEqLike::new()),
            "jamulus-like" => self.play(JamulusLike::new(frame)),
            "sonobus-like" => self.play(SonoBusLike::new(frame)),
            fixed => {
                let n: u32 = fixed.strip_prefix("fixed-")?.parse().ok()?;
                self.play(FixedPolicy::new(frame * n))
            }
        };
        Some(self.score(policy, &played))
    }

    fn score(&self, policy: &str, played: &Played) -> EvalResult {
        let mut delays: Vec<f64> = played
            .frames
            .iter()
            .filter_map(|&(k, pulled)| {
                self.send
                    .get(k as usize)
                    .map(|&s| detrend(pulled, s, self.slope) - self.min_delay)
            })
            .collect();
        delays.sort_by(f64::total_cmp);
        let outputs = delays.len() as f64 + played.concealed as f64;
        let concealed = if outputs > 0.0 {
            played.concealed as f64 / outputs
        } else {
            0.0
        };
        let mean = delays.iter().sum::<f64>() / delays.len().max(1) as f64;
        let p95 = delays
            .get(((delays.len() as f64 * 0.95) as usize).min(delays.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0);
        EvalResult {
            profile: self.name.clone(),
            policy: policy.to_string(),
            mean_delay_ms: mean * 1e3,
            p95_delay_ms: p95 * 1e3,
            concealed_pct: concealed * 100.0,
            oracle_delay_ms: self.oracle(concealed).map(|d| d * 1e3),
            recovered_pct: played.recovered as f64 / delays.len().max(1) as f64 * 100.0,
            frames: delays.len(),
        }
    }

    /// The delay a clairvoyant fixed buffer needs to conceal at most a share `p` of frames.
    pub fn oracle(&self, p: f64) -> Option<f64> {
        let mut sorted: Vec<Duration> = self
            .effective
            .iter()
            .map(|&d| {
                if d.is_finite() {
                    Duration::from_secs_f64((d - self.min_delay).max(0.0))
                } else {
                    Duration::MAX
                }
            })
            .collect();
        sorted.sort_unstable();
        let d = quantile(&sorted, 1.0 - p)?;
        (d != Duration::MAX).then_some(d.as_secs_f64())
    }
}

/// Delay of a frame sent at `send` and seen at `at`, with the clock-drift trend removed.
fn detrend(at: Duration, send: Duration, slope: f64) -> f64 {
    at.as_secs_f64() - send.as_secs_f64() - slope * send.as_secs_f64()
}

/// Generates a built-in profile's trace of `minutes` of 2.5 ms frames.
pub fn profile_trace(profile: NetworkProfile, seed: u64, minutes: f64) -> Trace {
    let frame = FrameDuration::Ms2_5.as_duration();
    let count = (minutes * 60.0 / frame.as_secs_f64()) as usize;
    Trace::generate(profile, seed, frame, count)
}

/// Ours against the targets: on `wired`, concealed ≤ 0.5% with mean delay ≤ 1.3× the oracle (at
/// the default goal); on every profile, for each reference rule, some point of Tutti's goal sweep
/// has lower mean delay at equal or lower concealment.
pub fn verdicts(results: &[EvalResult]) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut profiles: Vec<&str> = results.iter().map(|r| r.profile.as_str()).collect();
    profiles.dedup();
    for profile in profiles {
        let ours: Vec<&EvalResult> = results
            .iter()
            .filter(|r| r.profile == profile && r.policy.starts_with("tutti"))
            .collect();
        let Some(default) = ours.iter().find(|r| r.policy == "tutti") else {
            continue;
        };
        if profile == "wired" {
            let oracle = default.oracle_delay_ms.unwrap_or(f64::INFINITY);
            out.push((
                format!(
                    "wired: concealed {:.3}% ≤ 0.5% and mean {:.2} ms ≤ 1.3 × oracle {:.2} ms",
                    default.concealed_pct, default.mean_delay_ms, oracle
                ),
                default.concealed_pct <= 0.5 && default.mean_delay_ms <= 1.3 * oracle,
            ));
        }
        for reference in ["neteq-like", "jamulus-like", "sonobus-like"] {
            let Some(r) = results
                .iter()
                .find(|r| r.profile == profile && r.policy == reference)
            else {
                continue;
            };
            let best = ours
                .iter()
                .filter(|o| o.concealed_pct <= r.concealed_pct)
                .min_by(|a, b| a.mean_delay_ms.total_cmp(&b.mean_delay_ms));
            let (line, ok) = match best {
                Some(o) => (
                    format!(
                        "{profile}: {} {:.2} ms / {:.3}% vs {reference} {:.2} ms / {:.3}%",
                        o.policy,
                        o.mean_delay_ms,
                        o.concealed_pct,
                        r.mean_delay_ms,
                        r.concealed_pct
                    ),
                    o.mean_delay_ms < r.mean_delay_ms,
                ),
                None => (
                    format!(
                        "{profile}: no tutti goal conceals as little as {reference} ({:.3}%)",
                        r.concealed_pct
                    ),
                    false,
                ),
            };
            out.push((line, ok));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A short wired run: every policy plays nearly every frame, the oracle is monotone in `p`,
    /// and larger fixed buffers conceal less but cost more delay.
    #[test]
    fn short_wired_run_is_consistent() {
        let (_, profile) = profiles().remove(0);
        let prepared = Prepared::new(
            "wired",
            profile_trace(profile, 3, 0.5),
            FrameDuration::Ms2_5,
        );
        let results: Vec<EvalResult> = policy_names()
            .iter()
            .filter_map(|p| prepared.evaluate(p))
            .collect();
        assert_eq!(results.len(), policy_names().len());
        for r in &results {
            assert!(r.frames > 11_000, "{r:?}");
        }
        let fixed = |n: usize| {
            results
                .iter()
                .find(|r| r.policy == format!("fixed-{n}"))
                .expect("fixed")
        };
        let (fixed1, fixed8) = (fixed(1), fixed(8));
        assert!(fixed8.mean_delay_ms > fixed1.mean_delay_ms);
        assert!(fixed8.concealed_pct <= fixed1.concealed_pct);
        let (a, b) = (prepared.oracle(0.05), prepared.oracle(0.001));
        assert!(a <= b, "{a:?} {b:?}");
    }
}
