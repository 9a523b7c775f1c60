//! Bytes the memory driver holds per session, for a small typical session
//! (`session_bench::fixtures::typical_record`), measured over 100,000
//! sessions by heap (a counting allocator) and by RSS; see
//! `session_bench::footprint` for how.
//!
//! ```text
//! cargo run --release -p session-bench --bin memory-footprint [-- SESSIONS]
//! ```

use session_bench::footprint::{self, Counting};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn main() {
    let sessions: usize = match std::env::args().nth(1) {
        Some(n) => n.parse().expect("SESSIONS must be a number"),
        None => 100_000,
    };
    let f = footprint::measure(sessions);
    let mib = |bytes: usize| bytes as f64 / (1 << 20) as f64;
    println!(
        "memory driver, {sessions} sessions of a typical small record ({} bytes as JSON)",
        f.encoded_len
    );
    println!(
        "heap (counting allocator): {:.0} bytes per session ({:.1} MiB in all)",
        f.heap_per_session(),
        mib(f.heap)
    );
    match (f.rss_per_session(), f.rss) {
        (Some(per), Some(all)) => println!(
            "RSS (/proc/self/statm):    {per:.0} bytes per session ({:.1} MiB in all)",
            mib(all)
        ),
        _ => println!("RSS: /proc/self/statm is not readable here"),
    }
}
