//! Test harnesses shared by the workspace's tests. Not published.
//!
//! - [`redis`]: private `redis-server`s on free loopback ports (stopped,
//!   restarted and watched with `MONITOR` by the tests that need it) and a
//!   three-node Redis Cluster.
//! - [`driver`]: a forwarding driver that counts store calls and injects
//!   latency, failures and broken updates.
//! - [`proxy`]: a TCP proxy that drops, resets, stalls, delays or cuts the
//!   connection to a real store on command.
//! - [`fixtures`]: fixed times and records.
//! - [`sql`]: where the PostgreSQL and MariaDB test databases are, and
//!   unique table names.
//! - [`http`]: real app servers on free loopback ports, and a client with a
//!   cookie jar.

pub mod driver;
pub mod fixtures;
pub mod http;
pub mod proxy;
pub mod redis;
pub mod sql;
