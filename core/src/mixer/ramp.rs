//! Linear parameter smoothing.
//!
//! A linear ramp (rather than a one-pole) reaches its target exactly after the configured time,
//! bounds the per-sample step to `|Δ| / len`, and ends on the exact target, so a settled gain is
//! a constant the mixing kernel can hoist and a ramp to zero never decays into subnormals.

/// A value moving linearly towards a target over a fixed number of samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Ramp {
    current: f32,
    target: f32,
    step: f32,
    remaining: u32,
}

impl Ramp {
    /// A settled ramp at `value`.
    pub(crate) const fn new(value: f32) -> Self {
        Self {
            current: value,
            target: value,
            step: 0.0,
            remaining: 0,
        }
    }

    /// Starts moving from the current value to `target` over `len` samples (0 jumps at once).
    /// Setting the same target again does not restart the ramp.
    pub(crate) fn set_target(&mut self, target: f32, len: u32) {
        if target == self.target {
            return;
        }
        self.target = target;
        if len == 0 {
            self.current = target;
            self.remaining = 0;
        } else {
            self.remaining = len;
            self.step = (target - self.current) / len as f32;
        }
    }

    /// Whether the value has reached its target and stays constant.
    pub(crate) fn is_settled(&self) -> bool {
        self.remaining == 0
    }

    /// The current value.
    pub(crate) fn value(&self) -> f32 {
        self.current
    }

    /// Advances one sample and returns the value for it.
    pub(crate) fn next(&mut self) -> f32 {
        if self.remaining > 0 {
            self.remaining -= 1;
            // Snap on the last step so accumulated rounding never leaves the target missed.
            self.current = if self.remaining == 0 {
                self.target
            } else {
                self.current + self.step
            };
        }
        self.current
    }

    /// Advances `samples` samples without producing them (a silent block still moves time on).
    pub(crate) fn advance(&mut self, samples: usize) {
        if samples >= self.remaining as usize {
            self.current = self.target;
            self.remaining = 0;
        } else {
            self.remaining -= samples as u32;
            self.current += self.step * samples as f32;
        }
    }
}
