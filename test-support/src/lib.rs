//! Test harnesses shared by the workspace's tests. Not published.
//!
//! - [`redis`]: private `redis-server`s on free loopback ports (stopped,
//!   restarted and watched with `MONITOR` by the tests that need it) and a
//!   three-node Redis Cluster.
//! - [`http`]: real app servers on free loopback ports, and a client with a
//!   cookie jar.

pub mod http;
pub mod redis;
