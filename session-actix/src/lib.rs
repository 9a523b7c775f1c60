#![doc = include_str!("docs/crate.md")]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod config;
mod error;
mod ext;
mod flash;
mod middleware;
mod session;
mod settings;
mod typed;

pub use config::{CookieHook, SessionMiddlewareBuilder};
pub use error::{ConfigError, Error, StartupError};
pub use ext::SessionExt;
pub use flash::FlashMessages;
pub use middleware::{SessionFuture, SessionMiddleware, SessionService};
pub use session::{ReadonlySession, Session};
pub use settings::SessionSettings;

/// Derives a typed view of the session for a struct; see the
/// [session_macros] crate docs for what it generates.
pub use session_macros::TypedSession;

/// Used by the code `#[derive(TypedSession)]` generates. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::typed::*;
}

/// The cookie `SameSite` values, re-exported from actix-web.
pub use actix_web::cookie::SameSite;

/// The framework-free session model, for driver authors and advanced use.
pub use session_core as core;
pub use session_core::{
    Clock, CommitGate, CookieRead, DriverError, DriverRegistry, DriverSettings, ExpiryPolicy,
    FlashMessage, IdError, Level, ManualClock, Record, SessionDriver, SessionError, SessionId,
    SettingsError, Status, SystemClock, Timestamp, Update,
};

#[cfg(feature = "memory")]
pub use session_core::MemoryDriver;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub use session_core::{CleanupTask, SqlDriver, TableNameError};
#[cfg(feature = "cookie")]
pub use session_core::{CookieDriver, Key, KeyError};
#[cfg(feature = "file")]
pub use session_core::{FileDriver, FileDriverError};
#[cfg(feature = "redis")]
pub use session_core::{RedisConnectError, RedisDriver, RedisDriverBuilder};

/// Compiles the README's Rust examples as doctests, so the quick start stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
