//! Events to a listener implemented in Kotlin, Swift or Python. The core client queues events
//! for polling (what the C API exposes); a dispatcher thread drains that queue and calls the
//! listener, so foreign code runs on a thread of ours, never on the audio or network threads.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use tutti_core::client::Client;

use super::records::SessionEvent;

/// How long the dispatcher sleeps when the queue is empty: events reach the listener at most
/// this late. Statistics come once a second, so 5 ms is plenty and costs nothing measurable.
const IDLE_WAIT: Duration = Duration::from_millis(5);

/// Receives session events, in order, on the client's dispatcher thread. Implement it in the
/// foreign language; keep `on_event` short (hand work to your own thread or queue).
#[uniffi::export(foreign)]
pub trait SessionListener: Send + Sync {
    /// One event.
    fn on_event(&self, event: SessionEvent);
}

/// The thread that calls a listener; stops and is joined on drop.
pub(crate) struct Dispatcher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Dispatcher {
    /// Starts calling `listener` with `client`'s events.
    pub(crate) fn spawn(
        client: Arc<Client>,
        listener: Arc<dyn SessionListener>,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("tutti-events".into())
            .spawn(move || {
                while !flag.load(Ordering::Acquire) {
                    match client.next_event() {
                        Some(event) => {
                            if let Some(event) = SessionEvent::from_core(&event) {
                                listener.on_event(event);
                            }
                        }
                        None => std::thread::park_timeout(IDLE_WAIT),
                    }
                }
            })?;
        Ok(Dispatcher {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            // A listener that panicked already ended the thread; nothing more to report.
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher").finish_non_exhaustive()
    }
}
