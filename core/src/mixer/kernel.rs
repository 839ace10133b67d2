//! The inner loops: scale a source, add it to the bus and gather its meter statistics.
//!
//! Written over fixed-size lane arrays (`as_chunks`) so LLVM sees branch-free, bounds-check-free
//! bodies with independent accumulators and vectorises them; a single running sum would force
//! strict left-to-right float addition and stay scalar.

/// Samples per chunk: 8 stereo frames, two AVX registers; even, so lane parity is the channel.
const LANES: usize = 16;

/// Per-channel post-gain statistics of one block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BlockStats {
    /// Largest absolute sample per channel.
    pub(crate) peak: [f32; 2],
    /// Sum of squared samples per channel.
    pub(crate) sum_sq: [f32; 2],
}

impl BlockStats {
    pub(crate) const SILENT: BlockStats = BlockStats {
        peak: [0.0; 2],
        sum_sq: [0.0; 2],
    };
}

struct Lanes {
    peak: [f32; LANES],
    sum_sq: [f32; LANES],
}

impl Lanes {
    fn new() -> Self {
        Self {
            peak: [0.0; LANES],
            sum_sq: [0.0; LANES],
        }
    }

    #[inline(always)]
    fn accumulate(&mut self, lane: usize, bus: &mut f32, y: f32) {
        *bus += y;
        self.sum_sq[lane] += y * y;
        let a = y.abs();
        // A select, not f32::max, whose NaN rules keep LLVM from using a plain vector max.
        self.peak[lane] = if a > self.peak[lane] {
            a
        } else {
            self.peak[lane]
        };
    }

    fn finish(self) -> BlockStats {
        let mut stats = BlockStats::SILENT;
        for lane in 0..LANES {
            let channel = lane % 2;
            stats.sum_sq[channel] += self.sum_sq[lane];
            if self.peak[lane] > stats.peak[channel] {
                stats.peak[channel] = self.peak[lane];
            }
        }
        stats
    }
}

/// `bus += input × gain` (interleaved stereo, one gain per channel); the settled-gain path.
pub(crate) fn add_scaled(bus: &mut [f32], input: &[f32], gain: [f32; 2]) -> BlockStats {
    debug_assert_eq!(bus.len(), input.len());
    let gains: [f32; LANES] = std::array::from_fn(|lane| gain[lane % 2]);
    let mut lanes = Lanes::new();
    let (bus_chunks, bus_tail) = bus.as_chunks_mut::<LANES>();
    let (in_chunks, in_tail) = input.as_chunks::<LANES>();
    for (b, x) in bus_chunks.iter_mut().zip(in_chunks) {
        for lane in 0..LANES {
            lanes.accumulate(lane, &mut b[lane], x[lane] * gains[lane]);
        }
    }
    for (lane, (b, x)) in bus_tail.iter_mut().zip(in_tail).enumerate() {
        lanes.accumulate(lane, b, x * gains[lane]);
    }
    lanes.finish()
}

/// `bus += input × gains` with a gain per sample; the path while a parameter ramps.
pub(crate) fn add_ramped(bus: &mut [f32], input: &[f32], gains: &[f32]) -> BlockStats {
    debug_assert_eq!(bus.len(), input.len());
    debug_assert_eq!(bus.len(), gains.len());
    let mut lanes = Lanes::new();
    let (bus_chunks, bus_tail) = bus.as_chunks_mut::<LANES>();
    let (in_chunks, in_tail) = input.as_chunks::<LANES>();
    let (gain_chunks, gain_tail) = gains.as_chunks::<LANES>();
    for ((b, x), g) in bus_chunks.iter_mut().zip(in_chunks).zip(gain_chunks) {
        for lane in 0..LANES {
            lanes.accumulate(lane, &mut b[lane], x[lane] * g[lane]);
        }
    }
    for (lane, ((b, x), g)) in bus_tail.iter_mut().zip(in_tail).zip(gain_tail).enumerate() {
        lanes.accumulate(lane, b, x * g);
    }
    lanes.finish()
}

/// Duplicates a mono block into interleaved stereo, so mono sources share the stereo kernels.
pub(crate) fn upmix(mono: &[f32], stereo: &mut [f32]) {
    debug_assert_eq!(2 * mono.len(), stereo.len());
    for (frame, &x) in stereo.as_chunks_mut::<2>().0.iter_mut().zip(mono) {
        *frame = [x, x];
    }
}
