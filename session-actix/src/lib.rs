#![doc = include_str!("docs/crate.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod config;
mod csrf;
mod error;
mod ext;
mod middleware;
mod settings;
pub mod templates;
mod typed;

pub use config::SessionMiddlewareBuilder;
pub use csrf::CsrfGuard;
pub use error::{ConfigError, StartupError};
pub use ext::SessionExt;
pub use middleware::SessionMiddleware;
pub use settings::SessionSettings;

#[doc(inline)]
pub use session_core::driver;
pub use session_core::{
    Device, DeviceInfo, Devices, FlashMessage, FlashMessages, Level, Named, ReadonlySession,
    Session, SessionError, SessionName, Status,
};

/// The cookie's `SameSite` attribute, for
/// [`SessionMiddlewareBuilder::same_site`]: actix-web's own type, re-exported
/// (the same item as `actix_web::cookie::SameSite`, so importing both is
/// fine).
pub use actix_web::cookie::SameSite;

/// Derives a typed view of the session for a struct; see the
/// [session_macros] crate docs for what it generates.
pub use session_macros::TypedSession;

#[cfg(any(
    feature = "file",
    feature = "sqlite",
    feature = "postgres",
    feature = "mysql"
))]
pub use session_core::CleanupTask;
#[cfg(feature = "file")]
pub use session_core::FileDriver;
#[cfg(feature = "memory")]
pub use session_core::MemoryDriver;
#[cfg(feature = "redis")]
pub use session_core::RedisDriver;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub use session_core::SqlDriver;
#[cfg(feature = "cookie")]
pub use session_core::{CookieDriver, CookieKey};

/// Used by the middleware's types and the code `#[derive(TypedSession)]`
/// generates. Not public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::csrf::CsrfService;
    pub use crate::middleware::{SessionFuture, SessionService};
    pub use crate::typed::*;
}

/// Compiles the README's Rust examples as doctests, so the quick start stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
