// Latency terms of one peer from `RTCPeerConnection.getStats()`, as the browser reports them.
// The jitter-buffer delay is the mean over the last interval (jitterBufferDelay ÷
// jitterBufferEmittedCount, both cumulative, so their deltas), which is what the browser adds
// before playout; the round trip is the selected ICE pair's (STUN consent checks).

/**
 * Reads a report into plain numbers. `previous` is the last result (for deltas) or null.
 * Missing values are null: not every browser reports every field.
 */
export function readStats(report, previous) {
  let inbound = null;
  let pair = null;
  let outbound = null;
  report.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'audio') inbound = s;
    else if (s.type === 'outbound-rtp' && s.kind === 'audio') outbound = s;
    else if (s.type === 'candidate-pair' && (s.nominated || s.selected) && s.state === 'succeeded') pair = s;
  });
  const raw = {
    jbDelay: inbound?.jitterBufferDelay ?? null,
    jbEmitted: inbound?.jitterBufferEmittedCount ?? null,
    received: inbound?.packetsReceived ?? 0,
    lost: inbound?.packetsLost ?? 0,
    samples: inbound?.totalSamplesReceived ?? 0,
    concealed: inbound?.concealedSamples ?? 0,
  };
  const delta = (k) => raw[k] - (previous?.raw?.[k] ?? 0);
  let jitterBufferMs = null;
  if (raw.jbDelay !== null && raw.jbEmitted) {
    const emitted = delta('jbEmitted');
    jitterBufferMs = emitted > 0
      ? (1000 * delta('jbDelay')) / emitted
      : (1000 * raw.jbDelay) / raw.jbEmitted;
  }
  const expected = delta('received') + delta('lost');
  return {
    raw,
    rttMs: pair?.currentRoundTripTime != null ? pair.currentRoundTripTime * 1000 : null,
    jitterBufferMs,
    jitterMs: inbound?.jitter != null ? inbound.jitter * 1000 : null,
    lossPercent: expected > 0 ? (100 * Math.max(0, delta('lost'))) / expected : 0,
    concealedPercent: delta('samples') > 0 ? (100 * delta('concealed')) / delta('samples') : 0,
    audioLevel: inbound?.audioLevel ?? null,
    totalSamplesReceived: raw.samples,
    packetsReceived: raw.received,
    packetsSent: outbound?.packetsSent ?? 0,
  };
}

/** `12.3 ms`, or `–` when unknown. */
export function ms(value) {
  return value === null || value === undefined || Number.isNaN(value) ? '–' : `${value.toFixed(1)} ms`;
}
