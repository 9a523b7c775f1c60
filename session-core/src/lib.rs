//! The session model and engine behind
//! [session-actix](https://docs.rs/session-actix): the one [`Session`] type,
//! flash messages, the commit that merges parallel requests, the driver
//! interface and the built-in drivers. Depend on session-actix, which
//! re-exports what an app needs; this crate is its engine room.
//!
//! - The crate root holds what an app author uses: [`Session`] and
//!   [`ReadonlySession`], [`FlashMessages`], [`SessionError`], and the
//!   drivers behind their cargo features.
//! - [`driver`] holds what a driver author (or a user of a driver's extra
//!   settings) needs: the [`SessionDriver`](driver::SessionDriver) trait,
//!   records, ids, time, settings and the conformance suite.
//! - With the `actix` feature (session-actix turns it on) the session types
//!   are actix-web extractors and [`SessionError`] answers an opaque 500.
//!   They are defined here, not wrapped in session-actix, so that every
//!   method exists once: Rust lets only the crate that owns a type make it
//!   an extractor.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "actix")]
mod actix;
mod change;
#[cfg(any(
    feature = "file",
    feature = "sqlite",
    feature = "postgres",
    feature = "mysql"
))]
mod cleanup;
mod contract;
mod csrf;
mod devices;
pub mod driver;
mod drivers;
mod error;
mod flash;
mod gate;
mod id;
mod lifecycle;
mod policy;
mod record;
mod renew;
mod session;
mod settings;
mod signin;
mod telemetry;
mod time;

#[cfg(feature = "actix")]
pub use actix::{Named, SessionName};
pub use devices::{Device, DeviceInfo, Devices};
pub use error::SessionError;
pub use flash::{FlashMessage, FlashMessages, Level};
pub use session::{ReadonlySession, Session, Status};

#[cfg(any(
    feature = "file",
    feature = "sqlite",
    feature = "postgres",
    feature = "mysql"
))]
pub use cleanup::CleanupTask;
#[cfg(feature = "cookie")]
pub use drivers::cookie::{CookieDriver, CookieKey};
#[cfg(feature = "file")]
pub use drivers::file::FileDriver;
#[cfg(feature = "memory")]
pub use drivers::memory::MemoryDriver;
#[cfg(feature = "redis")]
pub use drivers::redis::RedisDriver;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub use drivers::sql::SqlDriver;

// The forwarding driver and fixtures of the test-support crate, compiled
// against this crate's own types for its unit tests (the files name
// `session_core::`).
#[cfg(test)]
extern crate self as session_core;
#[cfg(test)]
#[path = "../../test-support/src/driver.rs"]
#[allow(dead_code, unreachable_pub)]
mod test_driver;
#[cfg(test)]
#[path = "../../test-support/src/fixtures.rs"]
#[allow(dead_code, unreachable_pub)]
mod test_fixtures;

/// Private parsers of client input, for the fuzz targets in `fuzz/` only:
/// compiled under `cfg(fuzzing)`, which cargo-fuzz sets, and never otherwise.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod __fuzz {
    #[cfg(feature = "actix")]
    pub use crate::actix::fuzz_find_cookie as find_cookie;
    #[cfg(feature = "file")]
    pub use crate::drivers::file::fuzz_template as file_template;
    #[cfg(feature = "redis")]
    pub use crate::drivers::redis::fuzz_decode as redis_value;
}

/// What session-actix's middleware and derive need from the engine. Not
/// public API: it may change in any release (the crates pin each other
/// exactly, so they always agree).
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "actix")]
    pub use crate::actix::{
        insert_slot, load_as, take_slot, Handle, Loading, Slot, SlotKey, Source,
    };
    pub use crate::gate::CommitGate;
    pub use crate::lifecycle::{load, prepare_commit, CookieAction, PendingCommit, Rejected};
    pub use crate::session::prepare_put;
}
