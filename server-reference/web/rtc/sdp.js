// SDP edits the room needs, on plain text (browsers expose no API for these Opus parameters):
// stereo Opus with a music bitrate in what we send, and a 10 ms packet time asked of the remote
// when it states none, so Chrome sends the frame the native side negotiates (see
// core/src/session/sdp.rs: a browser gets 10 ms; Chrome's own default would be 20 ms).

/** The Opus payload type of the first audio section, or null. */
export function opusPayloadType(sdp) {
  const m = sdp.match(/^a=rtpmap:(\d+) opus\/48000/im);
  return m ? m[1] : null;
}

/**
 * Sets `params` (e.g. `{ stereo: 1, 'sprop-stereo': 1 }`) in the Opus fmtp line, adding the
 * line if there is none. Other parameters are kept.
 */
export function setOpusParams(sdp, params) {
  const pt = opusPayloadType(sdp);
  if (!pt) return sdp;
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const lines = sdp.split(eol);
  const fmtpAt = lines.findIndex((l) => l.startsWith(`a=fmtp:${pt} `));
  const current = new Map();
  if (fmtpAt >= 0) {
    for (const kv of lines[fmtpAt].slice(`a=fmtp:${pt} `.length).split(';')) {
      const [k, v = ''] = kv.split('=');
      if (k.trim()) current.set(k.trim(), v.trim());
    }
  }
  for (const [k, v] of Object.entries(params)) current.set(k, String(v));
  const line = `a=fmtp:${pt} ${[...current].map(([k, v]) => `${k}=${v}`).join(';')}`;
  if (fmtpAt >= 0) lines[fmtpAt] = line;
  else lines.splice(lines.findIndex((l) => l.startsWith(`a=rtpmap:${pt} `)) + 1, 0, line);
  return lines.join(eol);
}

/** Adds `a=ptime:<ms>` after the Opus rtpmap unless the audio section states an integer one. */
export function ensurePtime(sdp, ms) {
  if (/^a=ptime:\d+\s*$/m.test(sdp)) return sdp;
  const pt = opusPayloadType(sdp);
  if (!pt) return sdp;
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const lines = sdp.split(eol).filter((l) => !l.startsWith('a=ptime:'));
  const at = lines.findIndex((l) => l.startsWith(`a=rtpmap:${pt} `));
  lines.splice(at + 1, 0, `a=ptime:${ms}`);
  return lines.join(eol);
}

/** What we send: stereo Opus at a bitrate for music, no DTX, 10 ms packets at least. */
export function localOpus(sdp) {
  return setOpusParams(sdp, {
    minptime: 10,
    stereo: 1,
    'sprop-stereo': 1,
    maxaveragebitrate: 128000,
    usedtx: 0,
  });
}
