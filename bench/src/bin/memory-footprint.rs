//! Bytes the memory driver holds per session, for a small typical session
//! (`session_bench::fixtures::typical_record`), measured over 100,000
//! sessions two ways:
//!
//! - heap: a counting global allocator, bytes live after minus before (exact
//!   for what the driver asked the allocator for; the allocator's own
//!   rounding and bookkeeping are not in it);
//! - RSS: resident memory from `/proc/self/statm` after minus before (what
//!   the process really costs, allocator overhead included, in 4 KiB pages).
//!
//! ```text
//! cargo run --release -p session-bench --bin memory-footprint [-- SESSIONS]
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use session_actix::driver::{Clock, SessionDriver, SessionId, SystemClock};
use session_actix::MemoryDriver;
use session_bench::fixtures::typical_record;
use session_bench::rss::resident as rss;

/// Counts the bytes currently allocated, and passes everything to `System`.
struct Counting;

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

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn main() {
    let sessions: usize = match std::env::args().nth(1) {
        Some(n) => n.parse().expect("SESSIONS must be a number"),
        None => 100_000,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    let now = SystemClock.now();
    let record = typical_record(now);
    let encoded = record.encode().expect("the record encodes").len();

    let driver = MemoryDriver::new();
    let (heap_before, rss_before) = (LIVE.load(Ordering::Relaxed), rss());
    runtime.block_on(async {
        for _ in 0..sessions {
            let id = SessionId::generate();
            driver.create(&id, &record).await.expect("create");
        }
    });
    let (heap_after, rss_after) = (LIVE.load(Ordering::Relaxed), rss());
    assert_eq!(driver.len(), sessions);

    let per = |before: usize, after: usize| after.saturating_sub(before) as f64 / sessions as f64;
    println!(
        "memory driver, {sessions} sessions of a typical small record ({encoded} bytes as JSON)"
    );
    println!(
        "heap (counting allocator): {:.0} bytes per session ({:.1} MiB in all)",
        per(heap_before, heap_after),
        (heap_after - heap_before) as f64 / (1 << 20) as f64
    );
    match (rss_before, rss_after) {
        (Some(b), Some(a)) => println!(
            "RSS (/proc/self/statm):    {:.0} bytes per session ({:.1} MiB in all)",
            per(b, a),
            a.saturating_sub(b) as f64 / (1 << 20) as f64
        ),
        _ => println!("RSS: /proc/self/statm is not readable here"),
    }
}
