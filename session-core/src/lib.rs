//! The session model behind `session-actix`, with no web framework in it.
//!
//! - [`SessionId`]: 256-bit ids from the OS random source.
//! - [`Record`]: what a driver stores for one session (data, flash, times,
//!   version).
//! - [`Session`]: the handle a handler uses (get, put, increment, regenerate
//!   ...), which records a change log, and flash messages ([`FlashMessages`]).
//! - [`SessionDriver`]: the store trait; [`drivers`] holds the built-in ones.
//! - [`lifecycle`]: loading a session for a request and committing it after,
//!   merging with parallel requests so no update is lost.
//! - `conformance` (cargo feature `conformance`): the driver conformance
//!   suite, one call that checks a driver against the whole contract.
//!
//! Most users want the `session-actix` crate, which re-exports all of this.
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod change;
#[cfg(feature = "conformance")]
pub mod conformance;
mod driver;
pub mod drivers;
mod error;
mod flash;
mod gate;
mod id;
pub mod lifecycle;
mod policy;
mod record;
mod session;
pub mod settings;
mod time;

/// The attribute for implementing [`SessionDriver`], re-exported so driver
/// authors need no extra dependency.
pub use async_trait::async_trait;
pub use driver::{CookieRead, SessionDriver, Update};
pub use error::{DriverError, IdError, SessionError};
pub use flash::{FlashMessage, FlashMessages, Level, LEVEL_MESSAGES_KEY};
pub use gate::CommitGate;
pub use id::{SessionId, ID_BYTES, ID_LEN};
pub use policy::ExpiryPolicy;
pub use record::Record;
pub use session::{Session, Status};
pub use settings::{DriverRegistry, DriverSettings, SettingsError};
pub use time::{Clock, ManualClock, SystemClock, Timestamp};

#[cfg(feature = "cookie")]
pub use drivers::cookie::{CookieDriver, Key, KeyError, KeyId};
#[cfg(feature = "memory")]
pub use drivers::memory::MemoryDriver;
#[cfg(feature = "redis")]
pub use drivers::redis::{RedisConnectError, RedisDriver, RedisDriverBuilder};

#[cfg(feature = "file")]
pub use drivers::file::{FileDriver, FileDriverError, TemplateProblem};

#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub use drivers::sql::{CleanupTask, SqlDriver, TableNameError};
