//! One forwarding driver for every test that needs to watch or break a
//! store: [`Forward`] passes each call to a real driver, counts it, and can
//! be told to wait or to fail first, or to get `update` wrong on purpose
//! ([`BrokenUpdate`]) so a checker can show that it notices.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use session_core::driver::memory::MemoryDriver;
use session_core::driver::{
    async_trait, CookieRead, DriverError, Record, SessionDriver, SessionId, Timestamp, Update,
};

/// A store call, for counting and for aiming faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// [`SessionDriver::load`].
    Load,
    /// [`SessionDriver::create`].
    Create,
    /// [`SessionDriver::update`].
    Update,
    /// [`SessionDriver::touch`].
    Touch,
    /// [`SessionDriver::destroy`].
    Destroy,
}

impl Op {
    /// Every call.
    pub const ALL: [Op; 5] = [Op::Load, Op::Create, Op::Update, Op::Touch, Op::Destroy];

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// A way for [`Forward`]'s `update` to be wrong, set with
/// [`Forward::break_updates`]: the defects a session store can have that a
/// soak's checker must catch. Each answers the engine as a healthy driver
/// would, so only the data shows the damage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrokenUpdate {
    /// Every `n`th update answers [`Update::Updated`] and stores nothing: an
    /// acknowledged write is lost.
    DropEvery(usize),
    /// The version check is ignored: an update overwrites whatever is stored
    /// (last writer wins), so a parallel request's changes are lost.
    IgnoreVersion,
    /// An update of a record that is gone (destroyed or expired) creates it
    /// again and answers [`Update::Updated`]: a logged-out or regenerated
    /// session comes back to life.
    Resurrect,
}

/// What the test has set, shared by every clone of one [`Forward`].
#[derive(Default)]
struct Faults {
    calls: [AtomicUsize; 5],
    conflicts: AtomicUsize,
    /// The ops that fail, one bit each.
    failing: AtomicU8,
    /// The ops that wait before they run, one bit each, and for how long.
    slow: AtomicU8,
    latency_micros: AtomicU64,
    /// How `update` is broken, if it is.
    broken: Mutex<Option<BrokenUpdate>>,
    /// Updates seen while broken, for [`BrokenUpdate::DropEvery`].
    broken_updates: AtomicUsize,
    /// Run before the next call of its op reaches `inner`.
    before_next: Mutex<Option<(Op, Hook)>>,
}

/// Work a test runs in the middle of a store call (see
/// [`Forward::before_next`]).
type Hook = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Forwards every call to `inner` (the memory driver unless said otherwise),
/// counting calls by [`Op`], optionally waiting (like a network round trip,
/// so that parallel requests really interleave) and optionally failing with
/// a backend error before the call reaches `inner`.
///
/// Clones share the inner driver, the counters and the faults, so a test
/// keeps one clone and gives another to the middleware. The inner driver may
/// be a trait object: `Forward::<dyn SessionDriver>::shared(driver)` wraps
/// whatever driver the testbed's options built.
pub struct Forward<D: ?Sized = MemoryDriver> {
    inner: Arc<D>,
    faults: Arc<Faults>,
    remote: bool,
}

impl Forward<MemoryDriver> {
    /// In front of a new memory driver.
    pub fn memory() -> Self {
        Self::new(MemoryDriver::new())
    }
}

impl Default for Forward<MemoryDriver> {
    fn default() -> Self {
        Self::memory()
    }
}

impl<D: ?Sized> Clone for Forward<D> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            faults: Arc::clone(&self.faults),
            remote: self.remote,
        }
    }
}

impl<D: SessionDriver + ?Sized> fmt::Debug for Forward<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Forward")
            .field("inner", &self.inner.name())
            .field("calls", &self.total_calls())
            .finish_non_exhaustive()
    }
}

impl<D: SessionDriver> Forward<D> {
    /// In front of `inner`.
    pub fn new(inner: D) -> Self {
        Self::shared(Arc::new(inner))
    }
}

impl<D: SessionDriver + ?Sized> Forward<D> {
    /// In front of a driver that others may hold too (such as an
    /// `Arc<dyn SessionDriver>`).
    pub fn shared(inner: Arc<D>) -> Self {
        Self {
            inner,
            faults: Arc::default(),
            remote: false,
        }
    }

    /// Answers [`SessionDriver::remote`] with `true` even if the inner driver
    /// does not, so the engine commits through its gate.
    pub fn remote(mut self, remote: bool) -> Self {
        self.remote = remote;
        self
    }

    /// Every call waits `latency` first.
    pub fn with_latency(self, latency: Duration) -> Self {
        self.delay(&Op::ALL, latency);
        self
    }

    /// The driver the calls go to, for checking what is really stored.
    pub fn inner(&self) -> &D {
        &self.inner
    }

    /// How many times `op` was called (failed calls included).
    pub fn calls(&self, op: Op) -> usize {
        self.faults.calls[op as usize].load(Ordering::SeqCst)
    }

    /// Every call so far.
    pub fn total_calls(&self) -> usize {
        Op::ALL.iter().map(|&op| self.calls(op)).sum()
    }

    /// How many `update`s answered [`Update::Conflict`].
    pub fn conflicts(&self) -> usize {
        self.faults.conflicts.load(Ordering::SeqCst)
    }

    /// Every call fails (`true`) or goes through again (`false`).
    pub fn fail(&self, on: bool) {
        self.fail_on(&Op::ALL, on);
    }

    /// The calls in `ops` fail (`true`) or go through again (`false`).
    pub fn fail_on(&self, ops: &[Op], on: bool) {
        let bits = ops.iter().fold(0, |b, op| b | op.bit());
        if on {
            self.faults.failing.fetch_or(bits, Ordering::SeqCst);
        } else {
            self.faults.failing.fetch_and(!bits, Ordering::SeqCst);
        }
    }

    /// The calls in `ops` wait `latency` before they run; the others do not.
    pub fn delay(&self, ops: &[Op], latency: Duration) {
        let bits = ops.iter().fold(0, |b, op| b | op.bit());
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.faults.latency_micros.store(micros, Ordering::SeqCst);
        self.faults.slow.store(bits, Ordering::SeqCst);
    }

    /// Runs `hook` at the start of the next `op` call, before it reaches
    /// the inner driver, and only then lets the call go on: a parallel
    /// request (on another instance, say) landing in the middle of a
    /// commit, at a point the test chooses.
    pub fn before_next(
        &self,
        op: Op,
        hook: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        *self.faults.before_next.lock().unwrap() = Some((op, Box::pin(hook)));
    }

    /// Whether the hook given to [`before_next`](Self::before_next) is still
    /// waiting for its call.
    pub fn hook_pending(&self) -> bool {
        self.faults.before_next.lock().unwrap().is_some()
    }

    /// From now on `update` is wrong in the way `how` says (`None`: right
    /// again).
    pub fn break_updates(&self, how: Option<BrokenUpdate>) {
        *self.faults.broken.lock().unwrap_or_else(|p| p.into_inner()) = how;
    }

    fn broken(&self) -> Option<BrokenUpdate> {
        *self.faults.broken.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `update` as [`BrokenUpdate`] `how` gets it wrong.
    async fn broken_update(
        &self,
        how: BrokenUpdate,
        id: &SessionId,
        record: &Record,
        expected: u64,
    ) -> Result<Update, DriverError> {
        match how {
            BrokenUpdate::DropEvery(n) => {
                let seen = self.faults.broken_updates.fetch_add(1, Ordering::SeqCst) + 1;
                if seen.is_multiple_of(n.max(1)) {
                    return Ok(Update::Updated);
                }
                self.inner.update(id, record, expected).await
            }
            BrokenUpdate::IgnoreVersion => {
                // Store `record` over whatever version is there, as a plain
                // SET would; a parallel writer may move the version again
                // between two tries.
                let mut forced = record.clone();
                let mut expected = expected;
                for _ in 0..16 {
                    match self.inner.update(id, &forced, expected).await? {
                        Update::Conflict(latest) => {
                            let latest = match latest {
                                Some(latest) => latest,
                                None => match self.inner.load(id, record.last_active).await? {
                                    Some(latest) => latest,
                                    None => return Ok(Update::Gone),
                                },
                            };
                            expected = latest.version;
                            forced.version = latest.version.wrapping_add(1);
                        }
                        done => return Ok(done),
                    }
                }
                self.inner.update(id, &forced, expected).await
            }
            BrokenUpdate::Resurrect => match self.inner.update(id, record, expected).await? {
                Update::Gone => match self.inner.create(id, record).await {
                    Ok(()) => Ok(Update::Updated),
                    Err(DriverError::AlreadyExists) => Ok(Update::Gone),
                    Err(e) => Err(e),
                },
                other => Ok(other),
            },
        }
    }

    async fn enter(&self, op: Op) -> Result<(), DriverError> {
        self.faults.calls[op as usize].fetch_add(1, Ordering::SeqCst);
        let hook = {
            let mut next = self.faults.before_next.lock().unwrap();
            match next.take() {
                Some((on, hook)) if on == op => Some(hook),
                other => {
                    *next = other;
                    None
                }
            }
        };
        if let Some(hook) = hook {
            hook.await;
        }
        if self.faults.slow.load(Ordering::SeqCst) & op.bit() != 0 {
            let micros = self.faults.latency_micros.load(Ordering::SeqCst);
            tokio::time::sleep(Duration::from_micros(micros)).await;
        }
        if self.faults.failing.load(Ordering::SeqCst) & op.bit() != 0 {
            return Err(DriverError::backend(std::io::Error::other(
                "the store is down (injected by the test)",
            )));
        }
        Ok(())
    }
}

#[async_trait]
impl<D: SessionDriver + ?Sized> SessionDriver for Forward<D> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn remote(&self) -> bool {
        self.remote || self.inner.remote()
    }
    fn bound_cookie_name(&self) -> Option<&str> {
        self.inner.bound_cookie_name()
    }
    fn keeps_records(&self) -> bool {
        self.inner.keeps_records()
    }
    fn revocations(&self) -> Option<&dyn SessionDriver> {
        self.inner.revocations()
    }
    fn read_cookie(&self, value: &str, now: Timestamp) -> CookieRead {
        self.inner.read_cookie(value, now)
    }
    fn write_cookie(&self, id: &SessionId, record: &Record) -> Result<String, DriverError> {
        self.inner.write_cookie(id, record)
    }
    async fn load(&self, id: &SessionId, now: Timestamp) -> Result<Option<Record>, DriverError> {
        self.enter(Op::Load).await?;
        self.inner.load(id, now).await
    }
    async fn create(&self, id: &SessionId, record: &Record) -> Result<(), DriverError> {
        self.enter(Op::Create).await?;
        self.inner.create(id, record).await
    }
    async fn update(
        &self,
        id: &SessionId,
        record: &Record,
        expected: u64,
    ) -> Result<Update, DriverError> {
        self.enter(Op::Update).await?;
        let update = match self.broken() {
            None => self.inner.update(id, record, expected).await?,
            Some(how) => self.broken_update(how, id, record, expected).await?,
        };
        if matches!(update, Update::Conflict(_)) {
            self.faults.conflicts.fetch_add(1, Ordering::SeqCst);
        }
        Ok(update)
    }
    async fn touch(
        &self,
        id: &SessionId,
        last: Timestamp,
        expires: Timestamp,
    ) -> Result<bool, DriverError> {
        self.enter(Op::Touch).await?;
        self.inner.touch(id, last, expires).await
    }
    async fn destroy(&self, id: &SessionId) -> Result<(), DriverError> {
        self.enter(Op::Destroy).await?;
        self.inner.destroy(id).await
    }
}
