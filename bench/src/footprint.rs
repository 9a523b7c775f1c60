//! Bytes the memory driver holds per session, for a small typical session
//! ([`typical_record`]), measured two ways:
//!
//! - heap: a counting global allocator, [`Counting`], bytes live after minus
//!   before (exact for what the driver asked the allocator for; the
//!   allocator's own rounding and bookkeeping are not in it);
//! - RSS: resident memory from `/proc/self/statm` after minus before (what
//!   the process really costs, allocator overhead included, in 4 KiB pages).
//!
//! The `memory-footprint` binary prints them; `tests/footprint.rs` holds the
//! heap figure to its bound. Both install [`Counting`] as their global
//! allocator: a global allocator belongs to a binary, so this library only
//! defines it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use session_actix::driver::{Clock, SessionDriver, SessionId, SystemClock};
use session_actix::MemoryDriver;

use crate::fixtures::typical_record;

/// A global allocator that counts the bytes currently allocated and passes
/// everything to [`System`]. Install it in a binary with
/// `#[global_allocator] static ALLOCATOR: Counting = Counting;`.
pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System`'s guarantees hold; the counter is only bookkeeping.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// What [`measure`] found.
#[derive(Clone, Copy, Debug)]
pub struct Footprint {
    /// Sessions stored.
    pub sessions: usize,
    /// The typical record's size as JSON ([`Record::encode`](session_actix::driver::Record::encode)).
    pub encoded_len: usize,
    /// Heap bytes the driver holds for all of them.
    pub heap: usize,
    /// Resident memory they added, if `/proc/self/statm` is readable.
    pub rss: Option<usize>,
}

impl Footprint {
    /// Heap bytes per session.
    pub fn heap_per_session(&self) -> f64 {
        self.heap as f64 / self.sessions as f64
    }

    /// Resident bytes per session.
    pub fn rss_per_session(&self) -> Option<f64> {
        self.rss.map(|rss| rss as f64 / self.sessions as f64)
    }
}

/// Creates `sessions` sessions of the typical record, each under a new id,
/// in a new [`MemoryDriver`] through the driver API, and measures what they
/// take.
///
/// # Panics
///
/// If [`Counting`] is not the global allocator (nothing would be counted),
/// if `sessions` is zero, or if the driver refuses a create.
pub fn measure(sessions: usize) -> Footprint {
    assert!(sessions > 0, "measure at least one session");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    let now = SystemClock.now();
    let record = typical_record(now);
    let encoded_len = record.encode().expect("the record encodes").len();

    let driver = MemoryDriver::new();
    let (heap_before, rss_before) = (LIVE.load(Ordering::Relaxed), crate::rss::resident());
    runtime.block_on(async {
        for _ in 0..sessions {
            let id = SessionId::generate();
            driver.create(&id, &record).await.expect("create");
        }
    });
    let (heap_after, rss_after) = (LIVE.load(Ordering::Relaxed), crate::rss::resident());
    assert_eq!(driver.len(), sessions);
    assert!(
        heap_after > heap_before,
        "no allocation was counted: install footprint::Counting as the #[global_allocator]"
    );
    let footprint = Footprint {
        sessions,
        encoded_len,
        heap: heap_after - heap_before,
        rss: rss_before
            .zip(rss_after)
            .map(|(before, after)| after.saturating_sub(before)),
    };
    drop(driver);
    footprint
}
