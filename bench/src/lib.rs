//! Benchmarks for session-actix, measured side by side with actix-session and
//! with bare actix-web.
//!
//! - [`peer`]: the testbed's benchmark routes written against actix-session
//!   0.11, served by the `actix-session-testbed` binary, so that
//!   `scripts/bench.sh` drives both libraries the same way.
//! - `benches/`: criterion micro-benchmarks (ids, records, a whole request
//!   through the middleware in-process).
//! - [`footprint`]: bytes per session held by the memory driver, printed by
//!   the `memory-footprint` binary and bounded by `tests/footprint.rs`.
//! - [`soak`]: many clients over many sessions against two app instances on
//!   one store, then an invariant checker; the `soak` binary runs it, and
//!   `tests/soak.rs` a short version of it.
//!
//! See `docs/performance.md` for the figures and how to rerun them.

pub mod fixtures;
pub mod footprint;
pub mod peer;
pub mod rss;
pub mod soak;
