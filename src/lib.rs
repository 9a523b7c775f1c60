//! Shared code for the workspace's examples and HTTP-level tests: the testbed
//! application, so that `examples/testbed.rs` and `tests/` serve the same
//! routes.

pub mod demo;
pub mod testbed;
