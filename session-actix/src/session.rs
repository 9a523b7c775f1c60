//! `Session` and `ReadonlySession`: the handler arguments.

use std::ops::Deref;
use std::rc::Rc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use session_core::{SessionId, Status};

use crate::error::Error;
use crate::middleware::Slot;

/// The session of the current request, taken as a handler argument.
///
/// Taking it loads the session (one store read, shared by every `Session`
/// taken in the same request). Writes go to this request's view at once and
/// are committed by the middleware after the handler, merged with parallel
/// requests. Every method takes `&self`; clones share the session.
///
/// Errors convert into `actix_web::Error` (an opaque 500), so `?` works:
///
/// ```
/// use session_actix::Session;
///
/// async fn add_to_cart(session: Session) -> actix_web::Result<String> {
///     let mut cart: Vec<String> = session.get_or("cart", Vec::new())?;
///     cart.push("apple".into());
///     session.put("cart", &cart)?;
///     Ok(format!("{} items", cart.len()))
/// }
/// ```
///
/// Taking `Session` on a route without [`SessionMiddleware`] fails with a 500
/// and an error event that names the missing middleware, rather than handing
/// out a session that would never be saved.
///
/// [`SessionMiddleware`]: crate::SessionMiddleware
#[derive(Clone, Debug)]
pub struct Session {
    inner: session_core::Session,
}

impl Session {
    pub(crate) fn new(inner: session_core::Session) -> Self {
        Self { inner }
    }

    /// The framework-free handle underneath, for code written against
    /// `session-core`.
    pub fn core(&self) -> &session_core::Session {
        &self.inner
    }

    /// Reads the value under `key`; `None` when absent. An error means the
    /// stored value does not deserialize into `T`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        Ok(self.inner.get(key)?)
    }

    /// Reads the value under `key`, or `default` when it is absent or null.
    pub fn get_or<T: DeserializeOwned>(&self, key: &str, default: T) -> Result<T, Error> {
        Ok(self.inner.get_or(key, default)?)
    }

    /// The raw JSON value under `key`.
    pub fn get_value(&self, key: &str) -> Option<Value> {
        self.inner.get_value(key)
    }

    /// Stores `value` under `key`, replacing what was there.
    pub fn put<T: Serialize>(&self, key: impl Into<String>, value: T) -> Result<(), Error> {
        Ok(self.inner.put(key, value)?)
    }

    /// Whether a value is stored under `key`.
    pub fn has(&self, key: &str) -> bool {
        self.inner.has(key)
    }

    /// A copy of all the session data.
    pub fn all(&self) -> Map<String, Value> {
        self.inner.all()
    }

    /// Removes `key`.
    pub fn forget(&self, key: &str) -> Result<(), Error> {
        Ok(self.inner.forget(key)?)
    }

    /// Reads the value under `key` and removes it.
    pub fn pull<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        Ok(self.inner.pull(key)?)
    }

    /// Adds `by` to the integer under `key` (missing counts from 0) and
    /// returns the new value. Parallel increments all count. A non-integer
    /// value or an overflow is an error and changes nothing.
    pub fn increment(&self, key: &str, by: i64) -> Result<i64, Error> {
        Ok(self.inner.increment(key, by)?)
    }

    /// Subtracts `by` from the integer under `key`; see [`Session::increment`].
    pub fn decrement(&self, key: &str, by: i64) -> Result<i64, Error> {
        Ok(self.inner.decrement(key, by)?)
    }

    /// Removes all data but keeps the session and its flash messages.
    pub fn clear(&self) -> Result<(), Error> {
        Ok(self.inner.clear()?)
    }

    /// Destroys the session: its record is deleted and the cookie removed.
    /// Data written afterwards in the same request starts a new session.
    pub fn destroy(&self) -> Result<(), Error> {
        Ok(self.inner.destroy()?)
    }

    /// Moves the session to a new id and destroys the old one. Call it at
    /// login and logout (session fixation defence).
    pub fn regenerate(&self) -> Result<(), Error> {
        Ok(self.inner.regenerate()?)
    }

    /// The session id: the client's, or the one a save in this request will
    /// issue. It is a credential: never log it.
    pub fn id(&self) -> SessionId {
        self.inner.id()
    }

    /// Whether the id was made in this request.
    pub fn is_fresh(&self) -> bool {
        self.inner.is_fresh()
    }

    /// Whether this handle refuses writes.
    pub fn is_readonly(&self) -> bool {
        self.inner.is_readonly()
    }

    /// What has happened to the session in this request.
    pub fn status(&self) -> Status {
        self.inner.status()
    }

    /// Whether the client arrived with a live session.
    pub fn is_stored(&self) -> bool {
        self.inner.is_stored()
    }
}

/// A session that can be read but not written, for pages and websocket
/// handshakes that must not change it.
///
/// It has every method of [`Session`] (through `Deref`); the writing ones
/// return [`SessionError::Readonly`]. A request that takes only a
/// `ReadonlySession` never commits: no save, no touch, no cookie.
///
/// [`SessionError::Readonly`]: session_core::SessionError::Readonly
#[derive(Clone, Debug)]
pub struct ReadonlySession {
    session: Session,
}

impl ReadonlySession {
    pub(crate) fn from_session(session: Session) -> Self {
        Self { session }
    }
}

impl Deref for ReadonlySession {
    type Target = Session;

    fn deref(&self) -> &Session {
        &self.session
    }
}

pub(crate) fn slot(req: &HttpRequest) -> Result<Rc<Slot>, Error> {
    req.extensions().get::<Rc<Slot>>().cloned().ok_or_else(|| {
        tracing::error!(path = req.path(), "a handler took a Session on a route without SessionMiddleware; wrap the App, scope or resource with it");
        Error::MissingMiddleware
    })
}

pub(crate) async fn load(req: HttpRequest, writable: bool) -> Result<Session, Error> {
    let slot = slot(&req)?;
    let core = slot.session(req.headers()).await?;
    Ok(Session::new(if writable {
        core.writable()
    } else {
        core.readonly()
    }))
}

impl FromRequest for Session {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(load(req.clone(), true))
    }
}

impl FromRequest for ReadonlySession {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(ReadonlySession::from_session(load(req, false).await?)) })
    }
}
