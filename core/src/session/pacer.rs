//! Wakes the session task when the audio thread has a frame to send.
//!
//! The audio thread cannot wake an async task (a `Notify` locks, an eventfd is a system call),
//! so it only predicts when the next codec frame completes ([`CaptureClock`]). This module's
//! thread — ordinary, not real-time — sleeps until that instant plus a small margin and then
//! notifies the session task, which drains the capture ring. Compared with a fixed 1 ms poll,
//! a frame no longer waits for an unrelated timer phase (0.5 ms on average, and up to 1 ms of
//! extra spread in the sender's packet spacing that the receiver's jitter buffer had to cover).
//! tokio's timers cannot do this: they round deadlines up to whole milliseconds.
//!
//! The thread notifies only when the audio thread's frame count has moved
//! ([`CaptureClock::frames_captured`]), so the session task wakes once per frame. While the
//! predicted block is overdue (the host is late or stopped) it re-checks a few times at a short
//! interval, then every `pacing` period, so a stalled host costs ~1000 wake-ups a second of
//! this thread alone. It sleeps on the call-time clock ([`CaptureClock::next_call_due`]), so a
//! host that passes its output time to `process_at` is paced as well as one calling `process`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::engine::CaptureClock;

/// After the predicted block start: time for `process` to reach the capture and push the frame.
const MARGIN: Duration = Duration::from_micros(100);
/// Re-check interval while the prediction has not moved on.
const RETRY: Duration = Duration::from_micros(250);
/// Short re-checks before falling back to the pacing period.
const RETRIES: u32 = 4;

/// The pacing thread; stops (and is joined) on drop.
pub(crate) struct Pacer {
    notify: Arc<Notify>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Pacer {
    /// Starts the thread. `fallback` is the longest it waits between notifications.
    pub(crate) fn start(clock: CaptureClock, fallback: Duration) -> std::io::Result<Self> {
        let notify = Arc::new(Notify::new());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (notify, stop) = (Arc::clone(&notify), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("tutti-pacer".into())
                .spawn(move || run(&clock, fallback, &notify, &stop))?
        };
        Ok(Self {
            notify,
            stop,
            thread: Some(thread),
        })
    }

    /// Completes when a frame is (probably) ready; a notification sent while nobody waited is
    /// kept, so none is lost between two calls.
    pub(crate) async fn ready(&self) {
        self.notify.notified().await;
    }
}

impl Drop for Pacer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // Exits within one fallback period.
            let _ = thread.join();
        }
    }
}

fn run(clock: &CaptureClock, fallback: Duration, notify: &Notify, stop: &AtomicBool) {
    let mut notified = clock.frames_captured();
    let mut retries = 0u32;
    while !stop.load(Ordering::Relaxed) {
        // Wake the session only for new frames: one task wake-up per frame, none while waiting.
        let captured = clock.frames_captured();
        if captured != notified {
            notified = captured;
            notify.notify_one();
        }
        let now = Instant::now();
        let wake = next_wake(clock.next_call_due(), now, fallback, &mut retries);
        if let Some(d) = wake.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
    }
}

/// When to look next: just after the predicted block, soon while that block is overdue (the
/// host is late), and never later than `fallback` from `now`.
fn next_wake(due: Option<Instant>, now: Instant, fallback: Duration, retries: &mut u32) -> Instant {
    let latest = now + fallback;
    match due {
        Some(due) if due + MARGIN > now => {
            *retries = 0;
            (due + MARGIN).min(latest)
        }
        _ if *retries < RETRIES => {
            *retries += 1;
            (now + RETRY).min(latest)
        }
        _ => latest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wakes_after_the_predicted_block_and_backs_off_while_it_is_overdue() {
        let now = Instant::now();
        let fallback = Duration::from_millis(1);
        let due = now + Duration::from_micros(700);
        let mut retries = 0;
        assert_eq!(
            next_wake(Some(due), now, fallback, &mut retries),
            due + MARGIN
        );
        // Far-off predictions are capped by the fallback.
        let far = now + Duration::from_millis(50);
        assert_eq!(
            next_wake(Some(far), now, fallback, &mut retries),
            now + fallback
        );
        // The predicted block is overdue: a few short re-checks, then the fallback period.
        let overdue = now.checked_sub(Duration::from_millis(1)).unwrap_or(now);
        for _ in 0..RETRIES {
            assert_eq!(
                next_wake(Some(overdue), now, fallback, &mut retries),
                now + RETRY
            );
        }
        assert_eq!(
            next_wake(Some(overdue), now, fallback, &mut retries),
            now + fallback
        );
        assert_eq!(next_wake(None, now, fallback, &mut retries), now + fallback);
        // A fresh prediction resets the re-checks.
        assert_eq!(
            next_wake(Some(due), now, fallback, &mut retries),
            due + MARGIN
        );
        assert_eq!(next_wake(None, now, fallback, &mut retries), now + RETRY);
    }
}
