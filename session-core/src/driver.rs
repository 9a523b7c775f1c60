//! Everything about the stores behind sessions: the built-in drivers' own
//! types and docs, and what you need to write a driver of your own.
//!
//! An app author needs this module for a driver's extra settings (the Redis
//! builder, the SQL driver's `sqlx` pools, the file driver's errors) and for
//! [`ManualClock`] in tests; the driver types themselves are at the crate
//! root. The built-in drivers, each behind the cargo feature of its name:
//!
//! | module | driver | where the data lives |
//! | --- | --- | --- |
//! | `memory` | `MemoryDriver` | this process (the default) |
//! | `cookie` | `CookieDriver` | the browser, sealed with AES-256-GCM |
//! | `file` | `FileDriver` | one file per session in a directory |
//! | `redis` | `RedisDriver` | Redis or Redis Cluster |
//! | `sql` | `SqlDriver` | SQLite, PostgreSQL or MySQL / MariaDB |
//!
//! # Writing a driver
//!
//! Implement [`SessionDriver`] (with [`macro@async_trait`]) on your type; the
//! trait's docs state the contract. A driver works on [`Record`]s (the data,
//! flash, times and version of one session) under validated [`SessionId`]s,
//! with time as [`Timestamp`]s, and reports failures as [`DriverError`]s.
//! Check it with the conformance suite (cargo feature `conformance`), one
//! call from a test that runs every behaviour of the contract against your
//! driver and names the first one it breaks:
//!
//! ```ignore
//! #[actix_web::test]
//! async fn my_driver_conforms() {
//!     session_actix::driver::conformance::run(|| async { MyDriver::new() }).await;
//! }
//! ```
//!
//! To choose it in configuration, register it by name in a
//! [`DriverRegistry`] and pass that to
//! `SessionSettings::build_with`. `examples/custom_driver.rs` in the
//! repository is a complete driver with its conformance test.

pub use async_trait::async_trait;

pub use crate::contract::{CookieRead, SessionDriver, Update};
pub use crate::error::{DriverError, IdError};
pub use crate::id::{SessionId, ID_BYTES, ID_LEN};
pub use crate::policy::ExpiryPolicy;
pub use crate::record::Record;
pub use crate::settings::{DriverFuture, DriverRegistry, DriverSettings, SettingsError};
pub use crate::time::{Clock, ManualClock, SystemClock, Timestamp};

#[cfg(feature = "conformance")]
#[path = "conformance.rs"]
pub mod conformance;

#[cfg(feature = "cookie")]
#[doc(inline)]
pub use crate::drivers::cookie;
#[cfg(feature = "file")]
#[doc(inline)]
pub use crate::drivers::file;
#[cfg(feature = "memory")]
#[doc(inline)]
pub use crate::drivers::memory;
#[cfg(feature = "redis")]
#[doc(inline)]
pub use crate::drivers::redis;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
#[doc(inline)]
pub use crate::drivers::sql;
