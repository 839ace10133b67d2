// One remote musician: its RTCPeerConnection (audio both ways plus the two pre-negotiated data
// channels native peers open), its audio graph (volume, level meter), and its statistics.
//
// Negotiation follows the native rule: the newcomer offers to everyone present, so this side
// offers on `welcome` and answers offers from peers who join later. Remote candidates that come
// before the remote description are held until it is set.

import { ensurePtime, localOpus } from './sdp.js';
import { readStats } from './stats.js';

/** SCTP stream ids of the native side's pre-negotiated channels (webrtc_link.rs). */
const RELIABLE_STREAM = 0;
const CLOCK_STREAM = 1;
/** Packet time asked of the native side when its description states none. */
const PTIME_MS = 10;

export class RemotePeer {
  /**
   * `signal.send(type, fields)` relays to this peer; `audio` is the page's AudioContext and
   * `local` the microphone stream; `onChange()` is called when anything shown changes.
   */
  constructor({ id, name, signal, audio, local, epoch, onChange }) {
    this.id = id;
    this.name = name;
    this.signal = signal;
    this.audio = audio;
    this.epoch = epoch;
    this.onChange = onChange;
    this.state = 'new';
    this.stats = null;
    this.pending = [];
    this.remoteSet = false;
    this.gain = audio.createGain();
    this.analyser = audio.createAnalyser();
    this.analyser.fftSize = 8192;
    this.analyser.smoothingTimeConstant = 0;
    this.gain.connect(audio.destination);
    this.pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    for (const track of local.getAudioTracks()) this.pc.addTrack(track, local);
    this.reliable = this.pc.createDataChannel('tutti', { negotiated: true, id: RELIABLE_STREAM });
    this.clock = this.pc.createDataChannel('tutti-clock', {
      negotiated: true, id: CLOCK_STREAM, ordered: false, maxRetransmits: 0,
    });
    // Native peers send binary messages (UTF-8 JSON).
    this.clock.binaryType = 'arraybuffer';
    this.clock.onmessage = (e) => this.onClockMessage(
      typeof e.data === 'string' ? e.data : new TextDecoder().decode(e.data));
    this.pc.onicecandidate = (e) => {
      const c = e.candidate;
      this.signal.send('candidate', {
        to: this.id,
        candidate: c && c.candidate ? {
          candidate: c.candidate,
          sdpMid: c.sdpMid ?? undefined,
          sdpMLineIndex: c.sdpMLineIndex ?? undefined,
          usernameFragment: c.usernameFragment ?? undefined,
        } : null,
      });
    };
    this.pc.onconnectionstatechange = () => {
      this.state = this.pc.connectionState;
      this.onChange();
    };
    this.pc.ontrack = (e) => this.onTrack(e);
  }

  onTrack(e) {
    const stream = e.streams[0] || new MediaStream([e.track]);
    // Chrome only feeds a remote stream into WebAudio while a media element plays it; the
    // element stays muted, the sound goes through the gain node.
    this.element = new Audio();
    this.element.muted = true;
    this.element.srcObject = stream;
    this.element.play().catch(() => {});
    this.source = this.audio.createMediaStreamSource(stream);
    this.source.connect(this.analyser);
    this.source.connect(this.gain);
    // Low-latency hints: play as early as the network allows (where the browser supports it).
    const receiver = e.receiver;
    if ('jitterBufferTarget' in receiver) receiver.jitterBufferTarget = 0;
    if ('playoutDelayHint' in receiver) receiver.playoutDelayHint = 0;
    this.onChange();
  }

  /** Answers the native side's clock-sync pings, so its latency estimate covers this link. */
  onClockMessage(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (msg.v !== 1 || msg.type !== 'clock_ping' || !Number.isSafeInteger(msg.t0_us)) return;
    const t1 = this.nowMicros();
    if (this.clock.readyState !== 'open') return;
    this.clock.send(JSON.stringify({
      v: 1, type: 'clock_pong', t0_us: msg.t0_us, t1_us: t1, t2_us: this.nowMicros(),
    }));
  }

  nowMicros() {
    return Math.floor((performance.now() - this.epoch) * 1000);
  }

  async offer() {
    const offer = await this.pc.createOffer();
    const sdp = localOpus(offer.sdp);
    await this.pc.setLocalDescription({ type: 'offer', sdp });
    this.signal.send('offer', { to: this.id, sdp });
  }

  async onOffer(sdp) {
    await this.pc.setRemoteDescription({ type: 'offer', sdp: ensurePtime(sdp, PTIME_MS) });
    await this.flushCandidates();
    const answer = await this.pc.createAnswer();
    const local = localOpus(answer.sdp);
    await this.pc.setLocalDescription({ type: 'answer', sdp: local });
    this.signal.send('answer', { to: this.id, sdp: local });
  }

  async onAnswer(sdp) {
    await this.pc.setRemoteDescription({ type: 'answer', sdp: ensurePtime(sdp, PTIME_MS) });
    await this.flushCandidates();
  }

  async onCandidate(candidate) {
    if (!candidate) return;
    if (!this.remoteSet) this.pending.push(candidate);
    else await this.pc.addIceCandidate(candidate).catch(() => {});
  }

  async flushCandidates() {
    this.remoteSet = true;
    const held = this.pending.splice(0);
    for (const c of held) await this.pc.addIceCandidate(c).catch(() => {});
  }

  /** Volume 0..1 (0 silences this peer for us only). */
  setVolume(v) {
    this.gain.gain.setTargetAtTime(v, this.audio.currentTime, 0.01);
  }

  /** Level of what we hear from this peer, dBFS (−100 when silent). */
  levelDb() {
    const buf = new Float32Array(this.analyser.fftSize);
    this.analyser.getFloatTimeDomainData(buf);
    let sum = 0;
    for (const x of buf) sum += x * x;
    const rms = Math.sqrt(sum / buf.length);
    return rms > 1e-5 ? Math.max(-100, 20 * Math.log10(rms)) : -100;
  }

  /** The strongest frequency in what we hear from this peer, Hz (FFT peak), or null. */
  peakHz() {
    const bins = new Float32Array(this.analyser.frequencyBinCount);
    this.analyser.getFloatFrequencyData(bins);
    let best = 1;
    for (let i = 2; i < bins.length; i += 1) if (bins[i] > bins[best]) best = i;
    if (!(bins[best] > -90)) return null;
    return (best * this.audio.sampleRate) / this.analyser.fftSize;
  }

  async refreshStats() {
    if (this.pc.connectionState === 'closed') return;
    this.stats = readStats(await this.pc.getStats(), this.stats);
    this.onChange();
  }

  close() {
    this.pc.close();
    this.source?.disconnect();
    this.gain.disconnect();
    if (this.element) this.element.srcObject = null;
  }
}
