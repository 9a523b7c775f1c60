//! The driver contract: the trait a session store implements.

use std::fmt;

use async_trait::async_trait;

use crate::error::DriverError;
use crate::id::SessionId;
use crate::record::Record;
use crate::time::Timestamp;

/// What a cookie value refers to, as decided by [`SessionDriver::read_cookie`].
#[derive(Debug)]
pub enum CookieRead {
    /// The cookie holds the id of a record kept in the store; `load` it.
    Reference(SessionId),
    /// The cookie carries the record itself (the cookie driver). `reseal` asks
    /// for the cookie to be sent again even if nothing changed, for example
    /// because it was sealed with a retired key.
    ///
    /// Such a session is committed by sending the cookie again
    /// ([`SessionDriver::write_cookie`]): the engine makes no `update` or
    /// `touch` call for it, as there is nothing stored to compare with or
    /// extend.
    Inline {
        /// The session's id.
        id: SessionId,
        /// The record, already checked for expiry by the driver.
        record: Record,
        /// Send the cookie again in this response.
        reseal: bool,
    },
    /// The value is not one this driver issued (malformed, tampered,
    /// expired ...). The caller starts a fresh session and logs the reason.
    Invalid(&'static str),
}

/// The result of [`SessionDriver::update`].
#[derive(Debug)]
pub enum Update {
    /// The record was replaced.
    Updated,
    /// The stored version was not the expected one. Carries the stored record
    /// when the driver has it at no extra cost, so the caller can merge and
    /// retry without another read; `None` makes the caller `load` it.
    Conflict(Option<Record>),
    /// No live record has this id any more (destroyed or expired meanwhile).
    /// Drivers must never create one here: that would bring a logged-out
    /// session back to life.
    Gone,
}

/// A session store.
///
/// The middleware calls these methods; handlers never do. Every method is
/// async and the trait is object safe, so a driver can be chosen at run time
/// as `Arc<dyn SessionDriver>`.
///
/// # Contract
///
/// - `load` never returns a record whose `expires_at` is not after `now`.
/// - `load` answers [`DriverError::Corrupt`] for a stored record that does
///   not decode. The engine gives the client a fresh session with a warning
///   (never a 500), and `destroy`s the record when that session is
///   destroyed, regenerated or written, so a damaged record cannot lock a
///   user out. Every other error is a store failure: an opaque 500.
/// - `create` fails with [`DriverError::AlreadyExists`] when the id is taken;
///   it never overwrites.
/// - `update` replaces the record only if the stored version equals
///   `expected_version`, atomically with respect to other `update`s, and
///   answers [`Update::Gone`] (without writing) when the id is not live.
///   A regenerate retires the old id with an `update` to an empty record
///   that has already expired (`expires_at` before `last_active`): store it
///   (or remove the record) and answer [`Update::Updated`]; from then on the
///   id is not live, so `load` answers `None` and `update` answers `Gone`.
///   That compare-and-set is what gives parallel regenerates one winner.
/// - `destroy` of a missing id succeeds.
/// - Liveness is judged at the time the caller gives: `now` in `load`,
///   `record.last_active` in `create` and `update`, and the `last_active`
///   argument in `touch` (a store's own clock, such as a Redis TTL, may
///   enforce expiry too).
/// - Ids reach the driver already validated ([`SessionId`] cannot hold
///   anything else), so they are safe in file names and keys. They are not
///   the ids in the cookies: the engine hands the driver a SHA-256 of the
///   cookie's id, so nothing a driver stores is a usable session cookie.
///
/// Server-side drivers keep the default `read_cookie` / `write_cookie` (the
/// cookie holds the id). The conformance suite checks all of this for any
/// driver.
#[async_trait]
pub trait SessionDriver: Send + Sync + fmt::Debug + 'static {
    /// A short name for logs and configuration errors, such as `"memory"`.
    fn name(&self) -> &'static str;

    /// The cookie name this driver is bound to, if any. The cookie driver
    /// seals its name into every value; the middleware refuses to start with a
    /// different cookie name. Server-side drivers keep the default, `None`.
    fn bound_cookie_name(&self) -> Option<&str> {
        None
    }

    /// Whether a call costs a round trip to another process or to the disk
    /// (Redis, SQL, files), rather than a map operation in this one. Answer
    /// `true` and the engine commits parallel saves of one session from this
    /// process together, one compare-and-set for the lot, instead of letting
    /// each lose the race and retry over the network. Keep the default,
    /// `false`, when `update` is in-process and cheap (the memory driver) or
    /// when there is no store (the cookie driver). Correctness never depends
    /// on it: the version check of [`update`](Self::update) does that.
    fn remote(&self) -> bool {
        false
    }

    /// Whether the driver keeps records in a store the engine can read by id
    /// (`true`, the default) or sends them to the client (the cookie driver
    /// answers `false`). The per-user session index
    /// ([`Devices`](crate::Devices)) is kept only where records are.
    fn keeps_records(&self) -> bool {
        true
    }

    /// For a driver that sends records to the client: the server-side store
    /// that keeps each user's "signed out everywhere" time, if the app set
    /// one up (the cookie driver's `with_revocations`). The engine checks a
    /// signed-in session against it on every request. `None`, the default:
    /// no such check.
    fn revocations(&self) -> Option<&dyn SessionDriver> {
        None
    }

    /// Interprets a session cookie's value. The default parses it as a
    /// [`SessionId`]; no store call happens for a value that does not parse.
    fn read_cookie(&self, value: &str, _now: Timestamp) -> CookieRead {
        match SessionId::parse(value) {
            Ok(id) => CookieRead::Reference(id),
            Err(_) => CookieRead::Invalid("the session cookie is not a well-formed session id"),
        }
    }

    /// The cookie value to send for a session just saved or touched. The
    /// default is the id itself.
    fn write_cookie(&self, id: &SessionId, _record: &Record) -> Result<String, DriverError> {
        Ok(id.as_str().to_owned())
    }

    /// Reads the live record for `id`, or `None` if there is none or it has
    /// expired at `now`; [`DriverError::Corrupt`] if the stored record does
    /// not decode.
    async fn load(&self, id: &SessionId, now: Timestamp) -> Result<Option<Record>, DriverError>;

    /// Stores a new record under `id`; fails with
    /// [`DriverError::AlreadyExists`] if the id is taken by a live record.
    async fn create(&self, id: &SessionId, record: &Record) -> Result<(), DriverError>;

    /// Replaces the record under `id` if its stored version is
    /// `expected_version` (compare-and-set). `record.version` is the new one.
    ///
    /// The engine usually passes the record `load` returned, with the
    /// request's changes applied in place, so bytes the driver kept there
    /// ([`Record::keep_loaded_from`]) come back; a record that was rebuilt
    /// or already stored may carry none or older ones.
    async fn update(
        &self,
        id: &SessionId,
        record: &Record,
        expected_version: u64,
    ) -> Result<Update, DriverError>;

    /// Extends the life of a live record without changing its data. Returns
    /// `false` if there is no live record under `id`.
    async fn touch(
        &self,
        id: &SessionId,
        last_active: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool, DriverError>;

    /// Removes the record under `id`. Removing a missing id succeeds.
    async fn destroy(&self, id: &SessionId) -> Result<(), DriverError>;
}
