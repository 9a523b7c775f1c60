#![doc = include_str!("docs/crate.md")]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod config;
mod error;
mod ext;
mod middleware;
mod session;
mod typed;

pub use config::{CookieHook, SessionMiddlewareBuilder};
pub use error::{ConfigError, Error};
pub use ext::SessionExt;
pub use middleware::{SessionMiddleware, SessionService};
pub use session::{ReadonlySession, Session};

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
    Clock, CookieRead, DriverError, ExpiryPolicy, IdError, ManualClock, Record, SessionDriver,
    SessionError, SessionId, Status, SystemClock, Timestamp, Update,
};

#[cfg(feature = "memory")]
pub use session_core::MemoryDriver;
