// The signalling connection (WebSocket `/signal`), speaking the same JSON protocol as native
// peers (core/src/protocol): every message is `{ "v": 1, "type": …, …fields }`. The browser joins
// with its access token as a `browser` client that plays 10 or 20 ms frames.

export const PROTOCOL_VERSION = 1;

/** Frame sizes a browser can play, µs on the wire, preferred first. */
const BROWSER_FRAMES = [10000, 20000];

/**
 * Opens `/signal` on this origin and sends `join`. `onMessage(msg)` gets every server message;
 * `onClose(reason)` once when the connection ends. Returns `{ send(type, fields), close() }`.
 */
export function connectSignal({ room, accessToken, onMessage, onClose }) {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(`${scheme}://${location.host}/signal`);
  let heartbeat = null;
  let nonce = 0;
  let closed = false;
  const send = (type, fields = {}) => {
    if (ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify({ v: PROTOCOL_VERSION, type, ...fields }));
    }
  };
  const finish = (reason) => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    onClose(reason);
  };
  ws.addEventListener('open', () => {
    send('join', {
      room,
      auth: { kind: 'token', access_token: accessToken },
      client: 'browser',
      frame_sizes: BROWSER_FRAMES,
    });
  });
  ws.addEventListener('message', (e) => {
    let msg;
    try {
      msg = JSON.parse(e.data);
    } catch {
      return; // Not JSON: nothing a well-behaved server sends; ignore it.
    }
    if (msg.v !== PROTOCOL_VERSION) return;
    if (msg.type === 'welcome') {
      const every = Math.max(500, msg.heartbeat_interval_ms || 15000);
      heartbeat = setInterval(() => {
        nonce = (nonce + 1) >>> 0;
        send('ping', { nonce });
      }, every);
    }
    onMessage(msg);
  });
  ws.addEventListener('close', (e) => finish(e.reason || 'the connection closed'));
  ws.addEventListener('error', () => finish('the signalling connection failed'));
  return {
    send,
    close() {
      send('leave');
      closed = true;
      clearInterval(heartbeat);
      ws.close();
    },
  };
}
