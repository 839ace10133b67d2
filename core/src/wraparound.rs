//! Extending RTP's wrapping counters (16-bit sequence numbers, 32-bit timestamps) to 64 bits.
//!
//! A 16-bit sequence number wraps every 27 minutes at 2.5 ms packets, and a 32-bit timestamp at
//! 48 kHz every 25 hours — and both start at random values. Everything downstream compares
//! unwrapped values so that ordering survives the wrap.

/// Extends a counter of `BITS` bits to `i64`, choosing for each new value the unwrapped number
/// closest to the previous one (so reordering across the wrap point is handled).
#[derive(Debug, Clone, Copy, Default)]
pub struct Unwrapper<const BITS: u32> {
    last: Option<i64>,
}

/// Unwrapper for 16-bit RTP sequence numbers.
pub type SeqUnwrapper = Unwrapper<16>;
/// Unwrapper for 32-bit RTP timestamps.
pub type TimestampUnwrapper = Unwrapper<32>;

impl<const BITS: u32> Unwrapper<BITS> {
    const MODULUS: i64 = 1 << BITS;
    const HALF: i64 = 1 << (BITS - 1);

    /// A fresh unwrapper; the first value is taken as is.
    pub const fn new() -> Self {
        Self { last: None }
    }

    /// Unwraps `value` (only its low `BITS` bits are used) relative to the previous value and
    /// remembers the result as the new reference.
    pub fn unwrap(&mut self, value: u32) -> i64 {
        let extended = self.peek(value);
        self.last = Some(extended);
        extended
    }

    /// Unwraps `value` without moving the reference (for values that may be rejected).
    pub fn peek(&self, value: u32) -> i64 {
        let value = i64::from(value) & (Self::MODULUS - 1);
        match self.last {
            None => value,
            Some(last) => {
                let delta = (value - last).rem_euclid(Self::MODULUS);
                if delta >= Self::HALF {
                    last + delta - Self::MODULUS
                } else {
                    last + delta
                }
            }
        }
    }

    /// Forgets the reference, e.g. when a new source replaces the stream.
    pub fn reset(&mut self) {
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sequence_wraps_forward_and_backward() {
        let mut u = SeqUnwrapper::new();
        assert_eq!(u.unwrap(65_534), 65_534);
        assert_eq!(u.unwrap(65_535), 65_535);
        assert_eq!(u.unwrap(0), 65_536);
        assert_eq!(
            u.unwrap(65_535),
            65_535,
            "a reordered packet from before the wrap"
        );
        assert_eq!(u.unwrap(1), 65_537);
    }

    #[test]
    fn timestamp_wraps() {
        let mut u = TimestampUnwrapper::new();
        assert_eq!(u.unwrap(u32::MAX - 119), i64::from(u32::MAX) - 119);
        assert_eq!(u.unwrap(0), i64::from(u32::MAX) + 1);
        assert_eq!(u.unwrap(120), i64::from(u32::MAX) + 121);
    }

    proptest! {
        /// Any walk with steps smaller than half the range unwraps to the true positions.
        #[test]
        fn unwraps_any_walk(start in 0i64..(1 << 40), steps in proptest::collection::vec(-30_000i64..30_000, 1..200)) {
            let mut u = SeqUnwrapper::new();
            let mut truth = start;
            let first = u.unwrap((truth & 0xFFFF) as u32);
            let offset = truth - first;
            for step in steps {
                truth += step;
                prop_assert_eq!(u.unwrap((truth & 0xFFFF) as u32) + offset, truth);
            }
        }
    }
}
