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
//! When the prediction does not move on (the host is late or stopped), the thread re-checks
//! a few times at a short interval, then falls back to the session's `pacing` period, so a
//! stalled host costs ~1000 wake-ups a second at most, and a host whose `now` is not its call
//! time is never worse off than the old fixed poll.

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
    // The prediction last woken for: a frame due then has been handed to the session.
    let mut last: Option<Instant> = None;
    let mut stale = 0u32;
    while !stop.load(Ordering::Relaxed) {
        let due = clock.next_frame_due();
        let wake = next_wake(due, last, Instant::now(), fallback, &mut stale);
        if let Some(d) = wake.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
        // A wake capped by the fallback came before the prediction: it still stands.
        if let Some(due) = due
            && wake >= due
        {
            last = Some(due);
        }
        notify.notify_one();
    }
}

/// When to wake next: just after a fresh prediction, soon while the prediction is stale, and
/// never later than `fallback` from `now`.
fn next_wake(
    due: Option<Instant>,
    last: Option<Instant>,
    now: Instant,
    fallback: Duration,
    stale: &mut u32,
) -> Instant {
    let latest = now + fallback;
    match due {
        Some(due) if last.is_none_or(|l| due > l) => {
            *stale = 0;
            (due + MARGIN).min(latest)
        }
        _ if *stale < RETRIES => {
            *stale += 1;
            (now + RETRY).min(latest)
        }
        _ => latest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wakes_after_a_fresh_prediction_and_backs_off_when_it_stalls() {
        let now = Instant::now();
        let fallback = Duration::from_millis(1);
        let due = now + Duration::from_micros(700);
        let mut stale = 0;
        assert_eq!(
            next_wake(Some(due), None, now, fallback, &mut stale),
            due + MARGIN
        );
        // Far-off predictions are capped by the fallback.
        let far = now + Duration::from_millis(50);
        assert_eq!(
            next_wake(Some(far), Some(due), now, fallback, &mut stale),
            now + fallback
        );
        // The same prediction again: a few short re-checks, then the fallback period.
        for _ in 0..RETRIES {
            assert_eq!(
                next_wake(Some(due), Some(due), now, fallback, &mut stale),
                now + RETRY
            );
        }
        assert_eq!(
            next_wake(Some(due), Some(due), now, fallback, &mut stale),
            now + fallback
        );
        assert_eq!(
            next_wake(None, None, now, fallback, &mut stale),
            now + fallback
        );
    }
}
