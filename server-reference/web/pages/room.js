// The jam room (route `#/rooms/<id>`): join with the microphone over WebRTC, speaking the same
// signalling protocol as native peers; per-peer level meter, volume and latency terms from the
// browser's statistics; mute; chat (the signalling chat message, as native peers use).
//
// Audio is captured raw (echo cancellation, noise suppression, auto gain off), sent as stereo
// Opus at a music bitrate, and played with the browser's low-latency hints. The latency figures
// are the browser's own and labelled as such: a browser adds its jitter buffer and 10 ms
// packets to what a native client would have.

import { h, page, errorBox, statusLine } from '../dom.js';
import { connectSignal } from '../rtc/signal.js';
import { RemotePeer } from '../rtc/peer.js';
import { ms } from '../rtc/stats.js';

const STATS_EVERY_MS = 1000;
/** The packet time browsers send (ms), part of what a browser adds. */
const BROWSER_FRAME_MS = 10;

export async function render(container, params, ctx) {
  const [id] = params;
  const back = h('p', {}, h('a', { href: '#/lobby' }, 'Back to the lobby'));
  if (!id) {
    page(container, 'Room', errorBox(new Error('No room id in the address.')), back);
    return undefined;
  }
  let room;
  try {
    room = await ctx.api('GET', `/api/v1/rooms/${encodeURIComponent(id)}`);
  } catch (e) {
    page(container, 'Room', errorBox(e), back);
    return undefined;
  }
  const occupancy = h('span', {}, `${room.occupancy} of ${room.capacity} musicians`);
  const details = h('p', {}, occupancy,
    room.genre ? ` · ${room.genre}` : '', room.tempo_bpm ? ` · ${room.tempo_bpm} BPM` : '');
  const signedIn = ctx.session.get();
  if (!signedIn) {
    page(container, room.name, details,
      room.description ? h('p', {}, room.description) : null,
      h('p', {}, h('a', { href: `#/login?next=${encodeURIComponent(location.hash)}` }, 'Log in'),
        ' to join this room with your instrument.'),
      back);
    return undefined;
  }

  const status = statusLine();
  const join = h('button', { type: 'button', class: 'primary' }, 'Join with audio');
  const mute = h('button', { type: 'button', 'aria-pressed': 'false', hidden: true }, 'Mute my microphone');
  const leave = h('button', { type: 'button', hidden: true }, 'Leave');
  const peerList = h('ul', { class: 'peers', 'aria-label': 'Musicians' });
  const empty = h('p', { class: 'hint' }, 'Nobody else is here yet.');
  const chatLog = h('ul', { class: 'chat-log', role: 'log', 'aria-label': 'Chat', 'aria-live': 'polite' });
  const chatInput = h('input', { type: 'text', id: 'chat-text', maxlength: '2000', autocomplete: 'off' });
  const chatForm = h('form', { class: 'chat-form' },
    h('label', { for: 'chat-text' }, 'Message'), chatInput,
    h('button', { type: 'submit' }, 'Send'));
  const note = h('p', { class: 'hint' },
    'Latency figures are measured by this browser. One way ≈ half the round trip + the browser ',
    `jitter buffer + ${BROWSER_FRAME_MS} ms packets + audio output; a native Tutti client skips most of the browser's share.`);
  page(container, room.name, details,
    room.description ? h('p', {}, room.description) : null,
    h('div', { class: 'actions' }, join, mute, leave), status,
    h('section', { 'aria-labelledby': 'peers-h' }, h('h2', { id: 'peers-h' }, 'Musicians'), empty, peerList, note),
    h('section', { 'aria-labelledby': 'chat-h', class: 'chat' }, h('h2', { id: 'chat-h' }, 'Chat'), chatLog, chatForm),
    back);

  const state = {
    signal: null, audio: null, local: null, selfId: null, roster: new Map(),
    peers: new Map(), rows: new Map(), timers: [], frame: 0, epoch: performance.now(),
  };

  const showOccupancy = () => {
    occupancy.textContent = `${state.roster.size} of ${room.capacity} musicians`;
  };
  const nameOf = (peerId) => (peerId === state.selfId ? 'You' : state.roster.get(peerId)?.display_name || peerId);

  function addChat(from, text) {
    chatLog.append(h('li', {}, h('strong', {}, `${nameOf(from)}: `), text));
    chatLog.scrollTop = chatLog.scrollHeight;
  }

  function row(peer) {
    let r = state.rows.get(peer.id);
    if (r) return r;
    const meter = h('meter', { min: '-60', max: '0', low: '-20', high: '-6', optimum: '-30', value: '-60', 'aria-label': `Level of ${peer.name}` });
    const volume = h('input', { type: 'range', min: '0', max: '100', value: '100', id: `vol-${peer.id}` });
    volume.addEventListener('input', () => peer.setVolume(Number(volume.value) / 100));
    const fields = {};
    const term = (key, label) => {
      fields[key] = h('dd', {}, '–');
      return [h('dt', {}, label), fields[key]];
    };
    const connection = h('span', { class: 'hint' }, peer.state);
    const li = h('li', { class: 'peer card', 'data-peer': peer.id },
      h('div', { class: 'peer-head' }, h('strong', {}, peer.name), ' ', connection),
      meter,
      h('div', { class: 'field' }, h('label', { for: `vol-${peer.id}` }, `Volume of ${peer.name}`), volume),
      h('dl', { class: 'terms' },
        term('rtt', 'Round trip'),
        term('jb', 'Browser jitter buffer adds'),
        term('oneWay', 'One way (estimate)'),
        term('jitter', 'Network jitter'),
        term('loss', 'Packet loss'),
        term('concealed', 'Concealed audio')));
    r = { li, meter, connection, fields };
    state.rows.set(peer.id, r);
    peerList.append(li);
    empty.hidden = true;
    return r;
  }

  function show(peer) {
    const r = row(peer);
    r.connection.textContent = peer.state;
    const s = peer.stats;
    if (!s) return;
    const output = 1000 * ((state.audio?.outputLatency || 0) + (state.audio?.baseLatency || 0));
    const oneWay = s.rttMs !== null && s.jitterBufferMs !== null
      ? s.rttMs / 2 + s.jitterBufferMs + BROWSER_FRAME_MS + output : null;
    r.fields.rtt.textContent = ms(s.rttMs);
    r.fields.jb.textContent = ms(s.jitterBufferMs);
    r.fields.oneWay.textContent = oneWay === null ? '–' : `${ms(oneWay)} (output ${ms(output)})`;
    r.fields.jitter.textContent = ms(s.jitterMs);
    r.fields.loss.textContent = `${s.lossPercent.toFixed(1)} %`;
    r.fields.concealed.textContent = `${s.concealedPercent.toFixed(1)} %`;
  }

  function removePeer(peerId) {
    state.peers.get(peerId)?.close();
    state.peers.delete(peerId);
    state.rows.get(peerId)?.li.remove();
    state.rows.delete(peerId);
    empty.hidden = state.rows.size > 0;
  }

  function peerFor(peerId) {
    let peer = state.peers.get(peerId);
    if (!peer) {
      peer = new RemotePeer({
        id: peerId,
        name: nameOf(peerId),
        signal: state.signal,
        audio: state.audio,
        local: state.local,
        epoch: state.epoch,
        onChange: () => show(peer),
      });
      state.peers.set(peerId, peer);
      show(peer);
    }
    return peer;
  }

  const failed = (e) => status.show(`Audio link problem: ${e.message || e}`, 'error');

  async function onMessage(msg) {
    switch (msg.type) {
      case 'welcome': {
        state.selfId = msg.peer_id;
        for (const p of msg.room.peers) state.roster.set(p.id, p);
        showOccupancy();
        status.show('Joined. You are live.', 'ok');
        for (const p of msg.room.peers) {
          if (p.id !== state.selfId) peerFor(p.id).offer().catch(failed);
        }
        break;
      }
      case 'peer_joined':
        state.roster.set(msg.peer.id, msg.peer);
        showOccupancy();
        break;
      case 'peer_left':
        removePeer(msg.peer_id);
        state.roster.delete(msg.peer_id);
        showOccupancy();
        break;
      case 'offer':
        peerFor(msg.from).onOffer(msg.sdp).catch(failed);
        break;
      case 'answer':
        state.peers.get(msg.from)?.onAnswer(msg.sdp).catch(failed);
        break;
      case 'candidate':
        state.peers.get(msg.from)?.onCandidate(msg.candidate);
        break;
      case 'chat':
        addChat(msg.from, msg.text);
        break;
      case 'error':
        status.show(msg.message || msg.code, 'error');
        break;
      default:
    }
  }

  function meters() {
    for (const peer of state.peers.values()) {
      const r = state.rows.get(peer.id);
      if (r) r.meter.value = peer.levelDb();
    }
    state.frame = requestAnimationFrame(meters);
  }

  function stop() {
    cancelAnimationFrame(state.frame);
    state.timers.forEach(clearInterval);
    state.timers = [];
    for (const peerId of [...state.peers.keys()]) removePeer(peerId);
    state.signal?.close();
    state.signal = null;
    state.local?.getTracks().forEach((t) => t.stop());
    state.local = null;
    state.audio?.close();
    state.audio = null;
    join.hidden = false;
    mute.hidden = true;
    leave.hidden = true;
  }

  join.addEventListener('click', async () => {
    join.disabled = true;
    status.show('Starting the microphone…');
    try {
      state.local = await navigator.mediaDevices.getUserMedia({
        audio: {
          echoCancellation: false,
          noiseSuppression: false,
          autoGainControl: false,
          channelCount: { ideal: 2 },
          sampleRate: { ideal: 48000 },
          latency: { ideal: 0 },
        },
      });
      state.audio = new AudioContext({ latencyHint: 'interactive', sampleRate: 48000 });
      await state.audio.resume();
    } catch (e) {
      join.disabled = false;
      status.show(`No microphone: ${e.message || e}`, 'error');
      return;
    }
    status.show('Joining…');
    state.signal = connectSignal({
      room: id,
      accessToken: ctx.session.get()?.access,
      onMessage: (msg) => onMessage(msg),
      onClose: (reason) => {
        if (state.signal) status.show(`Disconnected: ${reason}`, 'error');
        stop();
      },
    });
    state.timers.push(setInterval(() => {
      for (const peer of state.peers.values()) peer.refreshStats().catch(() => {});
    }, STATS_EVERY_MS));
    meters();
    join.hidden = true;
    join.disabled = false;
    mute.hidden = false;
    leave.hidden = false;
  });

  mute.addEventListener('click', () => {
    const muted = mute.getAttribute('aria-pressed') !== 'true';
    state.local?.getAudioTracks().forEach((t) => { t.enabled = !muted; });
    mute.setAttribute('aria-pressed', String(muted));
    mute.textContent = muted ? 'Unmute my microphone' : 'Mute my microphone';
  });

  leave.addEventListener('click', () => {
    const signal = state.signal;
    state.signal = null;
    signal?.close();
    stop();
    status.show('You left the room.');
  });

  chatForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = chatInput.value.trim();
    if (!text) return;
    if (!state.signal) {
      status.show('Join the room to chat.', 'error');
      return;
    }
    state.signal.send('chat', { text });
    chatInput.value = '';
  });

  // Diagnostics for tests and the curious (read-only numbers, no control).
  window.tuttiRoom = {
    outputMs: () => 1000 * ((state.audio?.outputLatency || 0) + (state.audio?.baseLatency || 0)),
    peers: () => [...state.peers.values()].map((p) => ({
      id: p.id, name: p.name, state: p.state, stats: p.stats, peakHz: p.peakHz(), levelDb: p.levelDb(),
    })),
  };

  return () => {
    const signal = state.signal;
    state.signal = null;
    signal?.close();
    stop();
    delete window.tuttiRoom;
  };
}
