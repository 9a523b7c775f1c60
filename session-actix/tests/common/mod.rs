//! Drivers that wrap the memory driver to count calls, slow it down or fail.
#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use session_actix::driver::{DriverError, Record, SessionDriver, SessionId, Timestamp, Update};
use session_actix::MemoryDriver;

/// Counts every store call; optionally yields to the runtime inside each
/// call so parallel requests really interleave; optionally fails.
#[derive(Clone, Debug, Default)]
pub struct TestDriver {
    pub inner: MemoryDriver,
    pub calls: Arc<Calls>,
    pub slow: bool,
    pub failing: Arc<AtomicBool>,
}

#[derive(Debug, Default)]
pub struct Calls {
    pub load: AtomicUsize,
    pub create: AtomicUsize,
    pub update: AtomicUsize,
    pub touch: AtomicUsize,
    pub destroy: AtomicUsize,
}

impl Calls {
    pub fn total(&self) -> usize {
        [
            &self.load,
            &self.create,
            &self.update,
            &self.touch,
            &self.destroy,
        ]
        .iter()
        .map(|c| c.load(Ordering::SeqCst))
        .sum()
    }
    pub fn get(c: &AtomicUsize) -> usize {
        c.load(Ordering::SeqCst)
    }
}

impl TestDriver {
    pub fn slow() -> Self {
        Self {
            slow: true,
            ..Self::default()
        }
    }

    pub fn fail(&self, on: bool) {
        self.failing.store(on, Ordering::SeqCst);
    }

    async fn enter(&self, counter: &AtomicUsize) -> Result<(), DriverError> {
        counter.fetch_add(1, Ordering::SeqCst);
        if self.slow {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        if self.failing.load(Ordering::SeqCst) {
            return Err(DriverError::backend(std::io::Error::other(
                "store is down (test)",
            )));
        }
        Ok(())
    }
}

#[async_trait]
impl SessionDriver for TestDriver {
    fn name(&self) -> &'static str {
        "test"
    }
    async fn load(&self, id: &SessionId, now: Timestamp) -> Result<Option<Record>, DriverError> {
        self.enter(&self.calls.load).await?;
        self.inner.load(id, now).await
    }
    async fn create(&self, id: &SessionId, record: &Record) -> Result<(), DriverError> {
        self.enter(&self.calls.create).await?;
        self.inner.create(id, record).await
    }
    async fn update(
        &self,
        id: &SessionId,
        record: &Record,
        expected: u64,
    ) -> Result<Update, DriverError> {
        self.enter(&self.calls.update).await?;
        self.inner.update(id, record, expected).await
    }
    async fn touch(
        &self,
        id: &SessionId,
        last: Timestamp,
        exp: Timestamp,
    ) -> Result<bool, DriverError> {
        self.enter(&self.calls.touch).await?;
        self.inner.touch(id, last, exp).await
    }
    async fn destroy(&self, id: &SessionId) -> Result<(), DriverError> {
        self.enter(&self.calls.destroy).await?;
        self.inner.destroy(id).await
    }
}
