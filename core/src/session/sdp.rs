//! Opus parameters in SDP: what we advertise and how both ends settle on one frame duration.
//!
//! Sans-IO text processing, independent of the WebRTC stack.
//!
//! # What we write
//! - fmtp (`a=fmtp:<pt> …`): `minptime=<ms>;stereo=1;sprop-stereo=1;useinbandfec=0`.
//!   `stereo=1` is needed in *both* descriptions or Chromium down-mixes to mono (RFC 7587 §7.1);
//!   in-band FEC carries nothing at ≤ 5 ms CELT frames, so it is switched off.
//! - Media attributes in the audio section: `a=ptime:<preferred ms>` and `a=maxptime:<ms>`
//!   (RFC 8866 §6.4/6.5). Both are integers there, and Chrome's SDP parser rejects a whole
//!   description whose `a=ptime` is not one, so a 2.5 ms preference is not written as `ptime`
//!   (the fmtp `minptime=2.5` already carries it: natives prefer what they accept). An answer
//!   states the frame both sides settled on, which is what a browser then sends.
//! - `a=x-tutti-red` in the audio section: "my Opus packets are RFC 2198 RED blocks under the
//!   Opus payload type" ([`crate::redundancy`]). Native Tutti peers write it; browsers, which
//!   ignore unknown attributes, do not, so a peer without it is sent and read plain Opus at the
//!   negotiated frame (the browser-compatible path; see ARCHITECTURE.md).
//!
//! # How the frame is chosen
//! The frame duration travels in the SDP itself, so no field in the signalling join info is
//! needed and a browser, which only speaks SDP, takes part in the same rule. Both directions of a
//! link use one duration, which each side computes from the two descriptions alone:
//!
//! `floor = max(local ptime, local minptime, remote ptime, remote minptime)`, where a remote that
//! states no `minptime` counts as 10 ms (browsers: Chrome sends `minptime=10`, none sends
//! 2.5/5 ms). The frame is the shortest of 2.5/5/10/20 ms that is ≥ `floor`. `maxptime` never
//! binds in this rule (we always pick the shortest allowed); we advertise it so a browser does
//! not send us 40–120 ms packets. Two Tutti peers therefore get 2.5 ms (or 5 ms if either
//! prefers it), a browser gets 10 ms (20 ms if it asks with `ptime`/`minptime`).

use crate::codec::FrameDuration;

use super::transport::TransportError;

/// The Opus payload type we offer (Chrome's, so answers to browsers keep it).
pub const OPUS_PAYLOAD_TYPE: u8 = 111;

/// Frame durations in µs, shortest first.
const DURATIONS: [(u32, FrameDuration); 4] = [
    (2_500, FrameDuration::Ms2_5),
    (5_000, FrameDuration::Ms5),
    (10_000, FrameDuration::Ms10),
    (20_000, FrameDuration::Ms20),
];

/// A remote that states no `minptime` is assumed to be a browser: at least 10 ms.
const DEFAULT_REMOTE_MIN_US: u32 = 10_000;

/// What this endpoint advertises about packet durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramePolicy {
    /// The duration we would like (`a=ptime`).
    pub preferred: FrameDuration,
    /// The shortest we accept (`minptime` in the fmtp).
    pub min: FrameDuration,
    /// The longest we accept (`a=maxptime`).
    pub max: FrameDuration,
}

impl Default for FramePolicy {
    /// A native peer: 2.5 ms preferred and accepted, up to 20 ms for browsers.
    fn default() -> Self {
        Self {
            preferred: FrameDuration::Ms2_5,
            min: FrameDuration::Ms2_5,
            max: FrameDuration::Ms20,
        }
    }
}

/// The fmtp line (without `a=fmtp:<pt> `) we register for Opus.
pub fn opus_fmtp(policy: &FramePolicy) -> String {
    format!(
        "minptime={};stereo=1;sprop-stereo=1;useinbandfec=0",
        ms_text(micros(policy.min))
    )
}

/// Our marker attribute (module docs): the sender frames Opus in RFC 2198 RED.
const RED_MARKER: &str = "a=x-tutti-red";

/// Adds `a=ptime` (integer durations only), `a=maxptime` and our RED marker to the audio
/// section(s) of a local description, replacing any present, right after the Opus `a=rtpmap`
/// line.
pub fn add_media_attributes(sdp: &str, policy: &FramePolicy) -> String {
    let mut out = String::with_capacity(sdp.len() + 40);
    let mut audio = false;
    for line in sdp.lines() {
        if line.starts_with("m=") {
            audio = line.starts_with("m=audio");
        }
        if audio
            && (line.starts_with("a=ptime:")
                || line.starts_with("a=maxptime:")
                || line == RED_MARKER)
        {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
        if audio && is_opus_rtpmap(line) {
            let preferred = micros(policy.preferred);
            if preferred.is_multiple_of(1000) {
                out.push_str(&format!("a=ptime:{}\r\n", preferred / 1000));
            }
            out.push_str(&format!(
                "a=maxptime:{}\r\n{RED_MARKER}\r\n",
                ms_text(micros(policy.max))
            ));
        }
    }
    out
}

/// Opus as the remote described it (first audio section).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RemoteOpus {
    /// Its Opus payload type.
    pub payload_type: u8,
    /// `stereo=1`: it wants to receive stereo.
    pub stereo: bool,
    /// `minptime` in µs, if stated.
    pub min_us: Option<u32>,
    /// `a=ptime` in µs, if stated.
    pub ptime_us: Option<u32>,
    /// `a=maxptime` in µs, if stated.
    pub max_us: Option<u32>,
    /// `a=x-tutti-red`: it sends (and reads) RFC 2198 RED-framed Opus; without it, plain Opus.
    pub red: bool,
}

/// Finds Opus in a remote description. Hostile input: never panics; unparsable optional
/// attributes are ignored, a missing Opus `rtpmap` is [`TransportError::NoOpus`].
pub fn parse_remote_opus(sdp: &str) -> Result<RemoteOpus, TransportError> {
    let mut audio = false;
    let mut seen_audio = false;
    let mut found: Option<RemoteOpus> = None;
    let mut fmtp: Vec<(u8, &str)> = Vec::new();
    let (mut ptime, mut maxptime, mut red) = (None, None, false);
    for line in sdp.lines() {
        let line = line.trim_end();
        if line.starts_with("m=") {
            if seen_audio && audio {
                break; // only the first audio section matters
            }
            audio = line.starts_with("m=audio");
            seen_audio |= audio;
            continue;
        }
        if !audio {
            continue;
        }
        if line == RED_MARKER {
            red = true;
        } else if let Some(rest) = line.strip_prefix("a=ptime:") {
            ptime = parse_ms(rest);
        } else if let Some(rest) = line.strip_prefix("a=maxptime:") {
            maxptime = parse_ms(rest);
        } else if let Some(rest) = line.strip_prefix("a=fmtp:") {
            if let Some((pt, params)) = rest.split_once(' ')
                && let Ok(pt) = pt.parse::<u8>()
            {
                fmtp.push((pt, params));
            }
        } else if found.is_none() && is_opus_rtpmap(line) {
            let pt = line
                .strip_prefix("a=rtpmap:")
                .and_then(|r| r.split_once(' '))
                .and_then(|(pt, _)| pt.parse::<u8>().ok());
            if let Some(payload_type) = pt {
                found = Some(RemoteOpus {
                    payload_type,
                    stereo: false,
                    min_us: None,
                    ptime_us: None,
                    max_us: None,
                    red: false,
                });
            }
        }
    }
    let mut opus = found.ok_or(TransportError::NoOpus)?;
    for (_, params) in fmtp.iter().filter(|(pt, _)| *pt == opus.payload_type) {
        for param in params.split(';') {
            let (key, value) = param.split_once('=').unwrap_or((param, ""));
            match key.trim().to_ascii_lowercase().as_str() {
                "stereo" => opus.stereo = value.trim() == "1",
                "minptime" => opus.min_us = parse_ms(value),
                _ => {}
            }
        }
    }
    opus.ptime_us = ptime;
    opus.max_us = maxptime;
    opus.red = red;
    Ok(opus)
}

/// The frame duration both sides of a link use (rule in the module docs).
pub fn negotiate_frame(local: &FramePolicy, remote: &RemoteOpus) -> FrameDuration {
    let floor = micros(local.preferred)
        .max(micros(local.min))
        .max(remote.ptime_us.unwrap_or(0))
        .max(remote.min_us.unwrap_or(DEFAULT_REMOTE_MIN_US));
    DURATIONS
        .iter()
        .find(|(us, _)| *us >= floor)
        .map_or(FrameDuration::Ms20, |(_, d)| *d)
}

fn micros(d: FrameDuration) -> u32 {
    DURATIONS
        .iter()
        .find(|(_, f)| *f == d)
        .map_or(20_000, |(us, _)| *us)
}

/// `2500` → `"2.5"`, `10000` → `"10"`.
fn ms_text(us: u32) -> String {
    if us.is_multiple_of(1000) {
        format!("{}", us / 1000)
    } else {
        format!("{}.{}", us / 1000, (us % 1000) / 100)
    }
}

/// Milliseconds, integer or decimal, to µs; `None` for anything else or absurd values.
fn parse_ms(text: &str) -> Option<u32> {
    let value: f64 = text.trim().parse().ok()?;
    (value.is_finite() && value > 0.0 && value <= 10_000.0).then(|| (value * 1000.0).round() as u32)
}

fn is_opus_rtpmap(line: &str) -> bool {
    line.strip_prefix("a=rtpmap:")
        .and_then(|r| r.split_once(' '))
        .is_some_and(|(_, codec)| codec.to_ascii_lowercase().starts_with("opus/48000"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The audio section of a Chrome offer (trimmed).
    const CHROME: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n\
        a=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\n\
        a=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:63 red/48000/2\r\n\
        a=fmtp:63 111/111\r\na=rtpmap:9 G722/8000\r\n\
        m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\n";

    fn native(policy: &FramePolicy) -> String {
        let base = format!(
            "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 {}\r\na=ptime:20\r\nm=application 9 x\r\na=ptime:7\r\n",
            opus_fmtp(policy)
        );
        add_media_attributes(&base, policy)
    }

    #[test]
    fn native_peers_settle_on_2_5_ms() {
        let policy = FramePolicy::default();
        let remote = parse_remote_opus(&native(&policy)).expect("opus");
        assert_eq!(
            remote,
            RemoteOpus {
                payload_type: 111,
                stereo: true,
                min_us: Some(2_500),
                ptime_us: None,
                max_us: Some(20_000),
                red: true,
            }
        );
        assert_eq!(negotiate_frame(&policy, &remote), FrameDuration::Ms2_5);
    }

    #[test]
    fn media_attributes_replace_only_the_audio_ones_and_ptime_stays_an_integer() {
        let sdp = native(&FramePolicy::default());
        assert_eq!(sdp.matches("a=ptime:").count(), 1, "{sdp}");
        assert!(sdp.contains("a=rtpmap:111 opus/48000/2\r\na=maxptime:20\r\na=x-tutti-red\r\n"));
        assert!(sdp.contains("a=ptime:7"), "application section untouched");
        assert!(!sdp.contains("a=ptime:20"));
        let five = native(&FramePolicy {
            preferred: FrameDuration::Ms5,
            ..FramePolicy::default()
        });
        assert!(five.contains("a=ptime:5\r\na=maxptime:20\r\na=x-tutti-red\r\n"));
        assert_eq!(five.matches(RED_MARKER).count(), 1, "written once");
        let again = add_media_attributes(&five, &FramePolicy::default());
        assert_eq!(again.matches(RED_MARKER).count(), 1);
    }

    #[test]
    fn the_longer_preference_wins_and_both_sides_agree() {
        let a = FramePolicy::default();
        let b = FramePolicy {
            preferred: FrameDuration::Ms5,
            ..a
        };
        let a_sees = negotiate_frame(&a, &parse_remote_opus(&native(&b)).expect("opus"));
        let b_sees = negotiate_frame(&b, &parse_remote_opus(&native(&a)).expect("opus"));
        assert_eq!((a_sees, b_sees), (FrameDuration::Ms5, FrameDuration::Ms5));
    }

    #[test]
    fn a_browser_gets_10_ms_and_its_stereo_flag_is_read() {
        let remote = parse_remote_opus(CHROME).expect("opus");
        assert_eq!(remote.payload_type, 111);
        assert!(!remote.stereo, "Chrome offers no stereo=1 by default");
        assert!(!remote.red, "a browser gets plain Opus");
        assert_eq!(
            negotiate_frame(&FramePolicy::default(), &remote),
            FrameDuration::Ms10
        );
        let asks_20 = CHROME.replace("a=mid:0\r\n", "a=mid:0\r\na=ptime:20\r\n");
        let remote = parse_remote_opus(&asks_20).expect("opus");
        assert_eq!(
            negotiate_frame(&FramePolicy::default(), &remote),
            FrameDuration::Ms20
        );
    }

    #[test]
    fn a_remote_without_minptime_is_treated_as_a_browser() {
        let sdp = "m=audio 9 RTP/AVP 96\na=rtpmap:96 OPUS/48000/2\na=fmtp:96 stereo=1\n";
        let remote = parse_remote_opus(sdp).expect("opus");
        assert_eq!(remote.payload_type, 96);
        assert!(remote.stereo);
        assert_eq!(
            negotiate_frame(&FramePolicy::default(), &remote),
            FrameDuration::Ms10
        );
    }

    #[test]
    fn a_minimum_beats_a_smaller_maximum_which_is_only_advisory() {
        let remote = RemoteOpus {
            payload_type: 111,
            stereo: true,
            min_us: Some(10_000),
            ptime_us: None,
            max_us: Some(5_000),
            red: true,
        };
        assert_eq!(
            negotiate_frame(&FramePolicy::default(), &remote),
            FrameDuration::Ms10
        );
    }

    #[test]
    fn garbage_never_panics_and_no_opus_is_an_error() {
        for sdp in [
            "",
            "m=audio",
            "m=video 9 x 96\r\na=rtpmap:111 opus/48000/2\r\n",
            "m=audio 9 x\r\na=rtpmap:999 opus/48000/2\r\na=rtpmap:x\r\na=fmtp:\r\n",
            "m=audio 9 x\r\na=rtpmap:0 PCMU/8000\r\na=ptime:NaN\r\na=maxptime:-1\r\n",
        ] {
            assert!(matches!(
                parse_remote_opus(sdp),
                Err(TransportError::NoOpus)
            ));
        }
        let odd = "m=audio 9 x\r\na=rtpmap:111 opus/48000/2\r\na=ptime:inf\r\na=fmtp:111 minptime=1e9;stereo\r\n";
        let remote = parse_remote_opus(odd).expect("opus");
        assert_eq!(
            (remote.ptime_us, remote.min_us, remote.stereo),
            (None, None, false)
        );
    }
}
