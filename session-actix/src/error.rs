//! The errors of building the middleware: settings that cannot work.

use session_core::driver::SettingsError;

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
        /// `idle`, `absolute`, `renew_id_after` or `renew_grace`.
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
    /// The `Cache-Control` value is empty or not a valid header value.
    #[error("the Cache-Control value {0:?} is empty or not a valid header value: give one such as `no-store` or `private`, or none to send no header")]
    CacheControl(String),
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
    /// A cookie or expiry setting read from the environment is unusable.
    #[error("{variable}: {source}")]
    Variable {
        /// The environment variable to change, such as `SESSION_COOKIE_NAME`.
        variable: &'static str,
        /// What is wrong with it.
        #[source]
        source: ConfigError,
    },
}
