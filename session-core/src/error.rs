//! Error types of the session model.

use std::time::Duration;

/// Why a string is not a session id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The value does not have the 43 characters of an id.
    #[error("a session id has 43 characters, this value has {0}")]
    Length(usize),
    /// The value has a character outside URL-safe base64, or is not the
    /// canonical encoding of 32 bytes.
    #[error("a session id is canonical URL-safe base64 (A-Z a-z 0-9 - _)")]
    Alphabet,
    /// The operating system's random source failed.
    #[error("the operating system's random source failed; check that /dev/urandom (or getrandom(2)) is available")]
    Random,
}

/// An error a handler can meet when using the session: a value of the wrong
/// type, a counter that is not an integer, a store that failed to load the
/// session, or a route without the session middleware.
///
/// With actix-web it implements `ResponseError`, so `?` works in handlers
/// that return `actix_web::Result`. Every variant answers an opaque 500: the
/// cause goes to the logs, never to the client. Match on the variants to
/// answer something else (for example a 409 when a value is not an integer).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The stored value under `key` does not deserialize into the requested type.
    #[error("the session value under {key:?} does not have the requested type: {source}")]
    Deserialize {
        /// The key that was read.
        key: String,
        /// What serde reported.
        #[source]
        source: serde_json::Error,
    },
    /// The value given for `key` cannot be serialized to JSON (for example a
    /// map with non-string keys).
    #[error("the value for session key {key:?} cannot be stored as JSON: {source}")]
    Serialize {
        /// The key being written.
        key: String,
        /// What serde reported.
        #[source]
        source: serde_json::Error,
    },
    /// `increment` or `decrement` met a value that is not an integer.
    #[error("the session value under {key:?} is not an integer, so it cannot be incremented or decremented")]
    NotAnInteger {
        /// The key being changed.
        key: String,
    },
    /// `increment` or `decrement` would leave the range of `i64`.
    #[error("incrementing the session value under {key:?} would overflow an i64")]
    Overflow {
        /// The key being changed.
        key: String,
    },
    /// Flashing many values at once needs a map or a struct; the value given
    /// serializes to something else.
    #[error("flash_many, flash_all, flash_only and flash_except take a map or a struct with named fields")]
    NotAnObject,
    /// The key is one the engine keeps for itself: the flash keys
    /// `_messages` (levelled messages) and `_old` (old form input), and the
    /// session keys `_csrf` (the CSRF token), `_user` (the user signed in
    /// with `Session::login`), `_idt` and `_fwd` (id renewal). Use another
    /// name.
    #[error("{key:?} is a key the session keeps for itself; use another name")]
    ReservedKey {
        /// The key given.
        key: String,
    },
    /// `Session::login` was given a user id that is not a non-empty string
    /// or a number. Pass the user's primary key or another stable,
    /// non-secret identifier.
    #[error("a user id must serialize to a non-empty string or a number")]
    InvalidUserId,
    /// The value for `key` nests arrays and objects inside one another more
    /// than `limit` levels deep. Every store reads records back through a
    /// decoder with a nesting limit, so such a value is refused when it is
    /// put, and the session keeps what it had. Flatten the value.
    #[error("the value for session key {key:?} nests arrays and objects more than {limit} levels deep; the session refuses it so that it can always be read back, flatten it")]
    TooDeep {
        /// The key being written.
        key: String,
        /// The deepest nesting the session stores.
        limit: usize,
    },
    /// The operating system's random source failed, so no CSRF token could
    /// be made.
    #[error("the OS random source failed; no CSRF token can be made")]
    Random,
    /// The device list ([`Devices`](crate::Devices)) was used with a
    /// driver that keeps sessions in the browser (the cookie driver): the
    /// server has no list of them to read or revoke from.
    #[error("the {driver} driver keeps sessions in the browser, so there is no server-side list of a user's sessions to read or revoke; keep sessions in a server-side store (memory, file, Redis, SQL) to use the device list")]
    NotIndexed {
        /// The driver's name.
        driver: &'static str,
    },
    /// The session store failed while loading the session. The cause is
    /// logged when it happens; the client gets an opaque 500.
    #[error("the session store failed: {0}")]
    Store(#[from] DriverError),
    /// A session was asked for on a route that no session middleware of that
    /// name wraps.
    #[error("{}", missing_middleware(.name.as_deref()))]
    MissingMiddleware {
        /// The middleware's name, `None` for the default (unnamed) one.
        name: Option<String>,
    },
}

fn missing_middleware(name: Option<&str>) -> String {
    match name {
        None => "no session on this request: wrap the App, scope or resource with SessionMiddleware (`.wrap(sessions)`) before taking Session in a handler".to_owned(),
        Some(name) => format!("no session named {name:?} on this request: wrap the App, scope or resource with a SessionMiddleware built with `.name({name:?})` before taking it in a handler"),
    }
}

/// An error from a session driver (the store behind the sessions).
///
/// The middleware turns every one of these into an opaque 500 for the client
/// and a `tracing` event with the cause.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriverError {
    /// `create` was called with an id the store already holds.
    #[error("a session with this id already exists; creation never overwrites")]
    AlreadyExists,
    /// The store did not answer within the configured time.
    #[error(
        "the session store did not answer within {0:?}; check that it is running and reachable"
    )]
    Timeout(Duration),
    /// The record could not be encoded.
    #[error("the session record could not be encoded: {0}")]
    Encode(#[source] serde_json::Error),
    /// A stored record could not be decoded.
    #[error("a stored session record is corrupt: {0}")]
    Corrupt(#[source] serde_json::Error),
    /// The record is too large for the store (for example a cookie over 4096 bytes).
    #[error(
        "the session is {size} bytes, over the store's limit of {limit}; keep less in the session"
    )]
    TooLarge {
        /// The size that was refused.
        size: usize,
        /// The store's limit.
        limit: usize,
    },
    /// Parallel requests kept changing the session; the commit gave up after
    /// this many attempts.
    #[error("the session changed under this request {0} times in a row; the commit gave up")]
    Contention(u32),
    /// This request's changes were being committed together with those of
    /// parallel requests to the same session (group commit, see
    /// [`SessionDriver::remote`](crate::driver::SessionDriver::remote)), and that commit failed. The cause
    /// is logged with the request that ran it; fix that and these go away.
    #[error("the commit this request's changes were part of failed: {0}")]
    Joined(String),
    /// This request's changes were being committed together with those of a
    /// parallel request to the same session, and that request was cancelled
    /// (its client went away) before the store answered. The changes may or
    /// may not be stored; the client can repeat the request.
    #[error("the parallel request committing this request's changes was cancelled before the store answered; they may or may not be stored")]
    Interrupted,
    /// The store itself failed (connection, I/O, query ...).
    #[error("the session store failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl DriverError {
    /// Wraps a store's own error.
    pub fn backend(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Backend(Box::new(err))
    }
}
