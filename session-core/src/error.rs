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

/// An error from the session data API in a handler.
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
    /// A write was attempted through a read-only session.
    #[error("this session is read-only; take `Session` instead of `ReadonlySession` to write")]
    Readonly,
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
    /// parallel requests to the same session (see
    /// [`CommitGate`](crate::CommitGate)), and that commit failed. The cause
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
