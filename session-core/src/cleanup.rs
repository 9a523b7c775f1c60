//! The periodic removal of expired sessions, shared by the drivers whose
//! store does not expire records by itself (file, SQL).

use std::future::Future;
use std::time::Duration;

use crate::error::DriverError;
use crate::time::{Clock, SystemClock, Timestamp};

/// A running cleanup of expired sessions, started by a driver's
/// `spawn_cleanup` ([`FileDriver`](crate::FileDriver),
/// [`SqlDriver`](crate::SqlDriver)). Dropping it stops the task (at its next
/// `.await`); [`detach`](Self::detach) lets it run for as long as the
/// runtime does.
#[derive(Debug)]
#[must_use = "the cleanup stops when this handle is dropped; keep it, or call `detach`"]
pub struct CleanupTask {
    handle: Option<tokio::task::JoinHandle<()>>,
}

impl CleanupTask {
    /// Runs `clean(now)` every `every` (the first run at once) on the tokio
    /// runtime, logging what it removed (`debug`) and failures (`warn`, then
    /// it tries again at the next tick).
    ///
    /// Panics outside a tokio runtime or if `every` is zero; the drivers'
    /// `spawn_cleanup` document it.
    pub(crate) fn spawn<F, Fut>(every: Duration, driver: &'static str, clean: F) -> Self
    where
        F: Fn(Timestamp) -> Fut + Send + 'static,
        Fut: Future<Output = Result<u64, DriverError>> + Send,
    {
        assert!(
            !every.is_zero(),
            "the session cleanup interval must not be zero"
        );
        let handle = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match clean(SystemClock.now()).await {
                    Ok(0) => {}
                    Ok(removed) => tracing::debug!(driver, removed, "removed expired sessions"),
                    Err(error) => tracing::warn!(
                        driver,
                        %error,
                        "removing expired sessions failed; trying again at the next interval"
                    ),
                }
            }
        });
        Self {
            handle: Some(handle),
        }
    }

    /// Stops the cleanup (the same as dropping the handle).
    pub fn stop(self) {}

    /// Lets the cleanup run until the tokio runtime shuts down.
    pub fn detach(mut self) {
        self.handle = None;
    }

    /// Whether the task has ended (it only ends when stopped or if it
    /// panicked).
    pub fn is_finished(&self) -> bool {
        self.handle.as_ref().is_none_or(|h| h.is_finished())
    }
}

impl Drop for CleanupTask {
    fn drop(&mut self) {
        if let Some(handle) = &self.handle {
            handle.abort();
        }
    }
}
