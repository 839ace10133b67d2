// The room's SDP edits (web/rtc/sdp.js), without a browser: Chrome's offer gets stereo Opus at a
// music bitrate, other parameters stay; a native description without an integer ptime gets 10.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ensurePtime, localOpus, setOpusParams } from '../server-reference/web/rtc/sdp.js';

const CHROME = [
  'v=0', 'm=audio 9 UDP/TLS/RTP/SAVPF 111 63', 'a=mid:0',
  'a=rtpmap:111 opus/48000/2', 'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=rtpmap:63 red/48000/2', 'a=fmtp:63 111/111', '',
].join('\r\n');

test('local Opus parameters are set in place and others kept', () => {
  const sdp = localOpus(CHROME);
  assert.match(sdp, /\r\na=fmtp:111 minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1;maxaveragebitrate=128000;usedtx=0\r\n/);
  assert.match(sdp, /a=fmtp:63 111\/111/);
  const added = setOpusParams('m=audio 9 x 96\na=rtpmap:96 opus/48000/2\n', { stereo: 1 });
  assert.equal(added, 'm=audio 9 x 96\na=rtpmap:96 opus/48000/2\na=fmtp:96 stereo=1\n');
  assert.equal(setOpusParams('m=audio 9 x 0\na=rtpmap:0 PCMU/8000\n', { stereo: 1 }), 'm=audio 9 x 0\na=rtpmap:0 PCMU/8000\n');
});

test('a 10 ms ptime is asked for unless an integer one is stated', () => {
  const native = 'm=audio 9 x 111\r\na=rtpmap:111 opus/48000/2\r\na=maxptime:20\r\na=x-tutti-red\r\n';
  assert.match(ensurePtime(native, 10), /a=rtpmap:111 opus\/48000\/2\r\na=ptime:10\r\na=maxptime:20/);
  const answered = native.replace('a=maxptime', 'a=ptime:20\r\na=maxptime');
  assert.equal(ensurePtime(answered, 10), answered);
  assert.equal(ensurePtime(native.replace('a=maxptime:20', 'a=ptime:2.5'), 10).match(/a=ptime:/g).length, 1);
});
