//! The memory driver's footprint stays within issue #18's bound: at most
//! 1,000 heap bytes per typical small session (four short data keys and one
//! flash message), over 100,000 sessions. This file is its own test binary,
//! so it can count every allocation with its own global allocator.
//!
//! `cargo test -p session-bench --test footprint`

use session_bench::footprint::{self, Counting};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The bound from the issue, in heap bytes per session.
const MAX_HEAP_PER_SESSION: f64 = 1_000.0;

#[test]
fn a_typical_small_session_takes_at_most_1000_heap_bytes() {
    let f = footprint::measure(100_000);
    let per = f.heap_per_session();
    assert!(
        per <= MAX_HEAP_PER_SESSION,
        "the memory driver holds {per:.0} heap bytes per typical session \
         ({} sessions, {} bytes as JSON each); the bound is {MAX_HEAP_PER_SESSION}",
        f.sessions,
        f.encoded_len
    );
    // Not the bound, but a check that the whole session was counted: its
    // strings alone (keys and string values) are 88 bytes.
    assert!(per >= 88.0, "only {per:.0} bytes per session were counted");
}
