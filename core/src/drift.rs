//! Clock drift: estimating how fast the sender's sample clock runs against ours, and the
//! resampler that absorbs the difference.
//!
//! Sound cards disagree by ±100 ppm (2000 ppm on bad hardware): at 100 ppm a receiver playing at
//! its own rate gains or loses 1 ms every 10 s, so a 2 ms jitter buffer would under- or overrun
//! within half a minute. The [`SkewEstimator`] fits a line through the lower envelope of packet
//! delays (per-second minima, which queueing cannot push below the true path delay); its slope is
//! the clock skew and its intercept the fastest-path baseline that the jitter buffer measures delay
//! against. The [`DriftResampler`] then plays the stream slightly faster or slower — by the skew
//! plus a small correction that steers the buffer to its target — with rubato's asynchronous
//! polynomial resampler, whose delay is a few samples (a sinc filter would add ~0.7 ms).

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Async, FixedAsync, PolynomialDegree, Resampler, SincInterpolationParameters,
    SincInterpolationType, WindowFunction,
};

/// Width of one lower-envelope bucket, seconds. One second holds hundreds of packets, enough for
/// the minimum to reach the fastest path on any realistic link.
const BUCKET_SECS: f64 = 1.0;
/// Buckets kept for the skew fit (about a minute: ±2 ppm slope error on a wired path).
const FIT_BUCKETS: usize = 64;
/// Buckets whose minimum forms the delay baseline: short, so that a route change is followed
/// within seconds.
const BASELINE_BUCKETS: usize = 4;
/// Fewer buckets than this give no slope estimate yet (skew 0 is assumed).
const MIN_FIT_BUCKETS: usize = 4;
/// Estimates beyond this are treated as measurement artefacts and clamped.
const MAX_SKEW: f64 = 5_000e-6;

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    index: i64,
    /// Time of the minimum, seconds.
    time: f64,
    /// Minimum relative delay in the bucket, seconds.
    min: f64,
    valid: bool,
}

/// Estimates the sender/receiver clock skew and the fastest-path delay baseline from packet
/// arrivals (sans-IO: the caller passes local time in seconds since an epoch of its choosing).
///
/// The observation for each packet is its *relative delay* `ρ = arrival − media_time`: local
/// arrival time minus the sender's media timestamp converted to seconds. `ρ` contains an unknown
/// constant (clock offset plus path delay), queueing jitter (always ≥ 0), and a linear trend whose
/// slope is the skew.
#[derive(Debug, Clone)]
pub struct SkewEstimator {
    ring: [Bucket; FIT_BUCKETS],
    current: Bucket,
    skew: f64,
    estimated: bool,
}

impl Default for SkewEstimator {
    fn default() -> Self {
        Self::new()
    }
}

impl SkewEstimator {
    /// A fresh estimator: skew 0, no baseline.
    pub const fn new() -> Self {
        const EMPTY: Bucket = Bucket {
            index: 0,
            time: 0.0,
            min: 0.0,
            valid: false,
        };
        Self {
            ring: [EMPTY; FIT_BUCKETS],
            current: EMPTY,
            skew: 0.0,
            estimated: false,
        }
    }

    /// Forgets everything (new source).
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// Records one packet's relative delay `rho` (seconds) observed at local time `time` (seconds).
    pub fn observe(&mut self, time: f64, rho: f64) {
        if !time.is_finite() || !rho.is_finite() {
            return;
        }
        let index = (time / BUCKET_SECS).floor() as i64;
        if !self.current.valid {
            self.current = Bucket {
                index,
                time,
                min: rho,
                valid: true,
            };
            return;
        }
        if index > self.current.index {
            let slot = self.current.index.rem_euclid(FIT_BUCKETS as i64) as usize;
            self.ring[slot] = self.current;
            self.current = Bucket {
                index,
                time,
                min: rho,
                valid: true,
            };
            self.refit();
        } else if rho < self.current.min {
            self.current.time = time;
            self.current.min = rho;
        }
    }

    /// Whether a skew has been fitted yet (after a few seconds of packets); until then `skew()`
    /// is 0 and callers should keep headroom for an unknown drift.
    pub fn is_estimated(&self) -> bool {
        self.estimated
    }

    /// Skew as a fraction: positive when the sender's clock runs slower than ours (its media time
    /// advances `1 + skew` times more slowly), e.g. `100e-6` for 100 ppm.
    pub fn skew(&self) -> f64 {
        self.skew
    }

    /// The fastest-path relative delay expected at `time`: the recent lower envelope extrapolated
    /// along the skew. `None` before the first observation.
    pub fn baseline(&self, time: f64) -> Option<f64> {
        if !self.current.valid {
            return None;
        }
        let recent = self.current.index - BASELINE_BUCKETS as i64;
        let detrended = self
            .ring
            .iter()
            .filter(|b| b.valid && b.index >= recent && b.index < self.current.index)
            .chain(std::iter::once(&self.current))
            .map(|b| b.min - self.skew * b.time)
            .fold(f64::INFINITY, f64::min);
        Some(detrended + self.skew * time)
    }

    /// Least-squares slope through the bucket minima of the last minute, refitted once without
    /// the points far above the first line (buckets whose minimum was lifted by congestion).
    fn refit(&mut self) {
        let oldest = self.current.index - FIT_BUCKETS as i64;
        let in_window = |b: &&Bucket| b.valid && b.index > oldest;
        let Some((slope, intercept)) = fit(self.ring.iter().filter(in_window), None) else {
            return;
        };
        let refined = fit(self.ring.iter().filter(in_window), Some((slope, intercept)));
        let slope = refined.map_or(slope, |(s, _)| s);
        self.skew = slope.clamp(-MAX_SKEW, MAX_SKEW);
        self.estimated = true;
    }
}

/// Fits `min = intercept + slope·time`; with `reject`, drops points more than 1 ms above that
/// line first.
fn fit<'a>(
    buckets: impl Iterator<Item = &'a Bucket> + Clone,
    reject: Option<(f64, f64)>,
) -> Option<(f64, f64)> {
    let keep = |b: &&Bucket| match reject {
        Some((slope, intercept)) => b.min - (intercept + slope * b.time) < 1e-3,
        None => true,
    };
    let points = buckets.filter(keep);
    let (mut n, mut st, mut sv) = (0.0, 0.0, 0.0);
    for b in points.clone() {
        n += 1.0;
        st += b.time;
        sv += b.min;
    }
    if n < MIN_FIT_BUCKETS as f64 {
        return None;
    }
    let (mt, mv) = (st / n, sv / n);
    let (mut stt, mut stv) = (0.0, 0.0);
    for b in points {
        stt += (b.time - mt) * (b.time - mt);
        stv += (b.time - mt) * (b.min - mv);
    }
    if stt <= 0.0 {
        return None;
    }
    let slope = stv / stt;
    Some((slope, mv - slope * mt))
}

/// Errors from building a [`DriftResampler`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriftError {
    /// The caller asked for an impossible configuration (zero channels or block size).
    #[error("invalid drift resampler configuration: {0}")]
    InvalidConfig(&'static str),
    /// rubato refused the configuration.
    #[error("resampler construction failed: {0}")]
    Construction(#[from] rubato::ResamplerConstructionError),
}

/// The largest playout-rate deviation the resampler accepts: 2000 ppm of bad hardware plus the
/// buffer-steering correction, with headroom.
pub const MAX_RATE_DEVIATION: f64 = 0.02;

/// Sinc length of the fixed-ratio converter ([`DriftResampler::fixed_ratio`]): 64 taps cost
/// ~0.35 ms of delay each way (32 input samples) and keep aliasing below the window's sidelobes.
const CONVERTER_SINC_LEN: usize = 64;

/// Output chunk of the inner resampler, frames. Small, because produced-but-unplayed output is
/// latency: 16 frames is at most 0.33 ms at 48 kHz.
const CHUNK: usize = 16;

/// Plays an interleaved stream at an adjustable rate close to 1.
///
/// The caller fills the input side through [`DriftResampler::input_needed`] /
/// [`DriftResampler::push_input`] and pulls output with [`DriftResampler::pull`]; a `rate` of
/// `1.001` consumes input 0.1% faster than it produces output. All buffers are allocated in
/// [`DriftResampler::new`]; nothing afterwards allocates.
pub struct DriftResampler {
    inner: Async<f32>,
    channels: usize,
    /// Pending input, interleaved; `input_len` frames valid.
    input: Box<[f32]>,
    input_len: usize,
    /// One produced chunk, interleaved; frames `output_pos..output_len` not yet pulled.
    output: Box<[f32]>,
    output_pos: usize,
    output_len: usize,
    rate: f64,
}

impl std::fmt::Debug for DriftResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriftResampler")
            .field("channels", &self.channels)
            .field("input_len", &self.input_len)
            .field("rate", &self.rate)
            .finish_non_exhaustive()
    }
}

impl DriftResampler {
    /// A resampler for `channels` interleaved channels that will be fed input blocks of at most
    /// `max_input_block` frames (the codec frame size).
    pub fn new(channels: usize, max_input_block: usize) -> Result<Self, DriftError> {
        Self::build(channels, max_input_block, |channels| {
            Async::<f32>::new_poly(
                1.0,
                1.0 + MAX_RATE_DEVIATION,
                PolynomialDegree::Septic,
                CHUNK,
                channels,
                FixedAsync::Output,
            )
        })
    }

    /// A fixed-ratio sample-rate converter with the same push/pull interface, for a host rate
    /// other than 48 kHz: `ratio` is output rate / input rate (e.g. 48 000 / 44 100). It uses a
    /// short windowed sinc rather than the polynomial, because an 8% or 2× rate change needs a
    /// real anti-aliasing filter; [`DriftResampler::output_delay`] reports the delay it adds.
    /// [`DriftResampler::set_rate`] still adjusts around the nominal ratio by up to
    /// ±[`MAX_RATE_DEVIATION`].
    pub fn fixed_ratio(
        channels: usize,
        max_input_block: usize,
        ratio: f64,
    ) -> Result<Self, DriftError> {
        if !(ratio.is_finite() && (0.125..=8.0).contains(&ratio)) {
            return Err(DriftError::InvalidConfig("ratio must be within 1/8..=8"));
        }
        let params =
            SincInterpolationParameters::new(CONVERTER_SINC_LEN, WindowFunction::Blackman2)
                .oversampling_factor(256)
                .interpolation(SincInterpolationType::Linear);
        Self::build(channels, max_input_block, |channels| {
            Async::<f32>::new_sinc(
                ratio,
                1.0 + MAX_RATE_DEVIATION,
                &params,
                CHUNK,
                channels,
                FixedAsync::Output,
            )
        })
    }

    fn build(
        channels: usize,
        max_input_block: usize,
        inner: impl FnOnce(usize) -> Result<Async<f32>, rubato::ResamplerConstructionError>,
    ) -> Result<Self, DriftError> {
        if channels == 0 {
            return Err(DriftError::InvalidConfig("channels must be at least 1"));
        }
        if max_input_block == 0 {
            return Err(DriftError::InvalidConfig(
                "input block must be at least 1 frame",
            ));
        }
        let inner = inner(channels)?;
        let max_needed = inner.input_frames_max();
        let max_output = inner.output_frames_max();
        Ok(Self {
            inner,
            channels,
            input: vec![0.0; (max_needed + max_input_block) * channels].into_boxed_slice(),
            input_len: 0,
            output: vec![0.0; max_output * channels].into_boxed_slice(),
            output_pos: 0,
            output_len: 0,
            rate: 1.0,
        })
    }

    /// Delay the inner resampler adds, in output frames (the filter's half length; a few frames
    /// for the polynomial).
    pub fn output_delay(&self) -> usize {
        self.inner.output_delay()
    }

    /// Output frames the inner resampler produces at a time; produced-but-unplayed output (and
    /// input waiting for a chunk) is latency on top of [`DriftResampler::output_delay`].
    pub fn chunk_frames(&self) -> usize {
        CHUNK
    }

    /// Input frames still missing before the next output chunk can be produced (0 if it can).
    pub fn input_shortfall(&self) -> usize {
        if self.buffered_output() > 0 {
            0
        } else {
            self.inner
                .input_frames_next()
                .saturating_sub(self.input_len)
        }
    }

    /// Sets the consumption rate (input frames per output frame), clamped to
    /// `1 ± MAX_RATE_DEVIATION`. Takes effect smoothly from the next chunk.
    pub fn set_rate(&mut self, rate: f64) {
        let max = 1.0 + MAX_RATE_DEVIATION;
        let rate = if rate.is_finite() {
            rate.clamp(1.0 / max, max)
        } else {
            1.0
        };
        if rate != self.rate {
            self.rate = rate;
            // rubato's ratio is output/input; in range by construction, so this cannot fail.
            let _ =
                rubato::Adjustable::set_resample_ratio_relative(&mut self.inner, 1.0 / rate, true);
        }
    }

    /// Current consumption rate.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Output frames already produced and waiting to be pulled.
    pub fn buffered_output(&self) -> usize {
        self.output_len - self.output_pos
    }

    /// Input frames held but not yet consumed.
    pub fn buffered_input(&self) -> usize {
        self.input_len
    }

    /// Whether the next output chunk needs more input than is held.
    pub fn input_needed(&self) -> bool {
        self.buffered_output() == 0 && self.input_len < self.inner.input_frames_next()
    }

    /// Free input space, frames: push at most this many at once.
    pub fn input_space(&self) -> usize {
        self.input.len() / self.channels - self.input_len
    }

    /// Appends interleaved input; returns the frames taken (fewer than offered only when the
    /// caller ignored [`DriftResampler::input_space`]).
    pub fn push_input(&mut self, samples: &[f32]) -> usize {
        let frames = (samples.len() / self.channels).min(self.input_space());
        let start = self.input_len * self.channels;
        let n = frames * self.channels;
        self.input[start..start + n].copy_from_slice(&samples[..n]);
        self.input_len += frames;
        frames
    }

    /// Mutable view of the free input space, for decoding straight into it; commit with
    /// [`DriftResampler::commit_input`].
    pub fn input_tail(&mut self) -> &mut [f32] {
        let start = self.input_len * self.channels;
        &mut self.input[start..]
    }

    /// Marks `frames` frames written through [`DriftResampler::input_tail`] as valid.
    pub fn commit_input(&mut self, frames: usize) {
        self.input_len = (self.input_len + frames).min(self.input.len() / self.channels);
    }

    /// Pulls up to `out.len() / channels` frames of output; returns the frames written. Stops
    /// early (returning fewer) when [`DriftResampler::input_needed`] says more input is required.
    pub fn pull(&mut self, out: &mut [f32]) -> usize {
        let wanted = out.len() / self.channels;
        let mut written = 0;
        while written < wanted {
            if self.buffered_output() == 0 && !self.produce() {
                break;
            }
            let n = self.buffered_output().min(wanted - written);
            let (src, dst) = (self.output_pos * self.channels, written * self.channels);
            out[dst..dst + n * self.channels]
                .copy_from_slice(&self.output[src..src + n * self.channels]);
            self.output_pos += n;
            written += n;
        }
        written
    }

    /// Runs one chunk through rubato if enough input is held.
    fn produce(&mut self) -> bool {
        let needed = self.inner.input_frames_next();
        if self.input_len < needed {
            return false;
        }
        let ch = self.channels;
        let out_frames = self.output.len() / ch;
        let input = InterleavedSlice::new(&self.input[..self.input_len * ch], ch, self.input_len);
        let output = InterleavedSlice::new_mut(&mut self.output[..], ch, out_frames);
        let (Ok(input), Ok(mut output)) = (input, output) else {
            return false;
        };
        match self.inner.process_into_buffer(&input, &mut output, None) {
            Ok((consumed, produced)) => {
                self.input
                    .copy_within(consumed * ch..self.input_len * ch, 0);
                self.input_len -= consumed;
                self.output_pos = 0;
                self.output_len = produced;
                produced > 0
            }
            Err(_) => false,
        }
    }

    /// Forgets all buffered audio (new source).
    pub fn reset(&mut self) {
        self.inner.reset();
        self.input_len = 0;
        self.output_pos = 0;
        self.output_len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Relative delays along a skewed clock with bounded jitter recover the skew to within a ppm.
    #[test]
    fn estimates_skew_from_jittery_delays() {
        for &skew in &[0.0, 200e-6, -200e-6, 2_000e-6, -2_000e-6] {
            let mut est = SkewEstimator::new();
            let mut state = 12_345u64;
            for i in 0..(90 * 400) {
                let t = f64::from(i) * 0.0025;
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let jitter = (state >> 40) as f64 / (1u64 << 24) as f64 * 3e-3;
                est.observe(t, 0.020 + skew * t + jitter);
            }
            assert!(
                (est.skew() - skew).abs() < 2e-6,
                "skew {skew}: estimated {}",
                est.skew()
            );
            let t = 90.0;
            let base = est.baseline(t).expect("baseline");
            assert!(
                (base - (0.020 + skew * t)).abs() < 0.2e-3,
                "baseline {base}"
            );
        }
    }

    #[test]
    fn resampler_tracks_rate() {
        let mut r = DriftResampler::new(1, 120).expect("resampler");
        r.set_rate(1.01);
        let block = [0.5f32; 120];
        let mut out = [0.0f32; 64];
        let (mut fed, mut pulled) = (0usize, 0usize);
        while pulled < 48_000 {
            let n = r.pull(&mut out);
            pulled += n;
            if n < out.len() {
                fed += r.push_input(&block);
            }
        }
        let consumed = fed - r.buffered_input();
        let ratio = consumed as f64 / pulled as f64;
        assert!((ratio - 1.01).abs() < 0.002, "ratio {ratio}");
    }
}
