//! Errors of the actix-web face of the sessions.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use session_core::{DriverError, SessionError, SettingsError};

/// An error a handler can meet when using the session.
///
/// It implements [`ResponseError`], so `?` works in handlers that return
/// `actix_web::Result`. Every variant answers an opaque 500: the cause goes to
/// the logs, never to the client. Match on [`Error::Session`] to answer
/// something else (for example a 409 when a value is not an integer).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A data API error (wrong type, not an integer, read-only ...).
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The session store failed while loading the session.
    #[error("the session store failed: {0}")]
    Store(#[from] DriverError),
    /// A session was requested on a route that `SessionMiddleware` does not
    /// wrap.
    #[error("no session on this request: wrap the App, scope or resource with SessionMiddleware (`.wrap(session_middleware)`) before taking Session in a handler")]
    MissingMiddleware,
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::InternalServerError().finish()
    }
}

/// A setting that cannot work, reported when the middleware is built.
///
/// The message says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The cookie name is empty or has a character a cookie name cannot hold.
    #[error("the cookie name {0:?} is not a valid cookie name: use letters, digits and `-_.!#$%&'*+^`|~` only (no spaces, `;`, `=`, `,` or quotes)")]
    CookieName(String),
    /// The cookie path or domain holds a character that would break the
    /// `Set-Cookie` header.
    #[error(
        "the cookie {attribute} {value:?} holds a space, `;` or a control character; remove it"
    )]
    CookieAttribute {
        /// `path` or `domain`.
        attribute: &'static str,
        /// The value given.
        value: String,
    },
    /// A timeout is shorter than a second (expiry works in whole seconds).
    #[error("the {which} timeout must be at least one second; got {given:?}")]
    Timeout {
        /// `idle` or `absolute`.
        which: &'static str,
        /// The value given.
        given: std::time::Duration,
    },
    /// The refresh interval is not shorter than the idle timeout, so a busy
    /// session would expire before it is ever refreshed.
    #[error("the refresh interval ({refresh:?}) must be shorter than the idle timeout ({idle:?}); lower refresh_after or raise idle_timeout")]
    RefreshInterval {
        /// The refresh interval given.
        refresh: std::time::Duration,
        /// The idle timeout given.
        idle: std::time::Duration,
    },
    /// The driver is bound to another cookie name than the middleware's (the
    /// cookie driver seals its name into every value).
    #[error("the session driver is bound to the cookie name {driver:?} but the middleware uses {middleware:?}; give both the same name")]
    DriverCookieName {
        /// The driver's cookie name.
        driver: String,
        /// The middleware's cookie name.
        middleware: String,
    },
    /// A `__Host-` cookie must be Secure, have Path `/` and no Domain;
    /// browsers drop it otherwise.
    #[error("a cookie named `__Host-...` must be Secure, with path `/` and no domain: {0}")]
    HostPrefix(&'static str),
    /// A `__Secure-` cookie, or one with `SameSite=None`, must be Secure;
    /// browsers drop it otherwise.
    #[error(
        "{0} requires the Secure attribute; keep `secure(true)` (the default) and serve over HTTPS"
    )]
    NeedsSecure(&'static str),
}

/// Why [`SessionSettings::build`](crate::SessionSettings::build) could not
/// make the middleware.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartupError {
    /// The driver settings are wrong, or the driver could not start.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// A cookie or expiry setting is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
}
