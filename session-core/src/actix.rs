//! The session types as actix-web extractors (cargo feature `actix`, which
//! session-actix turns on): [`Session`], [`ReadonlySession`] and [`Named`]
//! implement `FromRequest`, and [`SessionError`] implements `ResponseError`.
//!
//! Why here and not in session-actix: Rust lets a crate implement a foreign
//! trait only for its own types, so the crate that owns `Session` must also
//! make it an extractor. Keeping one `Session` (this crate's, re-exported by
//! session-actix) means every method is written and documented once; the
//! middleware stays in session-actix and reaches this module through the
//! hidden [`__private`](crate::__private) items below.
//!
//! The middleware leaves a [`Slot`] per mounted middleware in the request;
//! the first extractor that asks for the session loads it (one store read),
//! later ones share it.

use std::any::Any;
use std::cell::{Cell, OnceCell, RefCell};
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;
use std::task::{Poll, Waker};

use actix_web::dev::{Extensions, Payload};
use actix_web::http::header::{HeaderMap, COOKIE};
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use futures_util::future::LocalBoxFuture;

use crate::devices::Devices;
use crate::driver::SessionDriver;
use crate::error::SessionError;
use crate::lifecycle::{self, Rejected};
use crate::policy::ExpiryPolicy;
use crate::session::{ReadonlySession, Session};
use crate::time::Timestamp;

impl ResponseError for SessionError {
    fn status_code(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    /// An opaque 500: the cause is for the logs, never for the client.
    fn error_response(&self) -> HttpResponse {
        HttpResponse::InternalServerError().finish()
    }
}

/// Where a slot's session comes from: the middleware's settings.
pub trait Source: Any {
    /// The middleware's name; `None` for the default one.
    fn name(&self) -> Option<&str>;
    /// What loading the session needs, in one call.
    fn loading(&self) -> Loading<'_>;
    /// The per-user session index over the middleware's store.
    fn devices(&self) -> Devices;
}

/// What loading a session needs from the middleware.
pub struct Loading<'a> {
    /// The store.
    pub driver: &'a dyn SessionDriver,
    /// The session cookie's name.
    pub cookie_name: &'a str,
    /// The expiry rules.
    pub policy: ExpiryPolicy,
    /// The current time.
    pub now: Timestamp,
}

/// One middleware's session in one request, kept by value in the request's
/// extensions (one allocation, the extensions' own): the middleware puts it
/// there before the handler and takes it back after; the first extractor
/// that asks for the session loads it (one store read), later ones share it.
///
/// Extractors reach it through a shared borrow of the extensions only (its
/// per-request state is in cells), so a handler that holds
/// `req.extensions()` while it asks for the session does not panic.
pub struct Slot {
    source: Arc<dyn Source>,
    /// Whether the request carried this middleware's cookie (so that a
    /// removal cookie is worth sending).
    had_cookie: Cell<bool>,
    session: OnceCell<ReadonlySession>,
    /// Set while an extractor loads the session; others that ask meanwhile
    /// wait for it, registered here.
    loading: Cell<bool>,
    waiting: RefCell<Vec<Waker>>,
    /// Whether the slot of a middleware further out waits in `Slots`
    /// behind this one (the rare case of nested session middlewares).
    nested: bool,
}

impl Slot {
    /// The middleware's settings.
    pub fn source(&self) -> &dyn Source {
        &*self.source
    }

    /// The session, if a handler asked for it.
    pub fn loaded(&self) -> Option<&ReadonlySession> {
        self.session.get()
    }

    /// Whether the request carried this middleware's cookie.
    pub fn had_cookie(&self) -> bool {
        self.had_cookie.get()
    }

    fn named(&self, name: Option<&str>) -> bool {
        self.source.name() == name
    }
}

/// The slots of the session middlewares further out than the innermost one,
/// when several wrap a request, innermost last.
#[derive(Default)]
struct Slots(Vec<Slot>);

/// Puts a slot for the middleware with these settings in the request. A
/// slot already there (a middleware further out) moves behind it, into
/// `Slots`, until [`take_slot`] gives it its place back.
#[inline]
pub fn insert_slot(req: &actix_web::dev::ServiceRequest, source: Arc<dyn Source>) {
    let mut extensions = req.extensions_mut();
    let slot = Slot {
        source,
        had_cookie: Cell::new(false),
        session: OnceCell::new(),
        loading: Cell::new(false),
        waiting: RefCell::new(Vec::new()),
        nested: false,
    };
    if let Some(outer) = extensions.insert(slot) {
        nest_slot(&mut extensions, outer);
    }
}

#[cold]
fn nest_slot(extensions: &mut Extensions, outer: Slot) {
    let mut rest = extensions.remove::<Slots>().unwrap_or_default();
    if let Some(inner) = extensions.get_mut::<Slot>() {
        inner.nested = true;
        if inner.named(outer.source.name()) {
            tracing::debug!(
                name = outer.source.name().unwrap_or("(default)"),
                "two session middlewares of the same name wrap this route; the inner one serves it"
            );
        }
    }
    rest.0.push(outer);
    extensions.insert(rest);
}

/// Which middleware a slot belongs to: the address of its settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotKey(usize);

impl SlotKey {
    /// The key of the middleware with these settings.
    pub fn of(source: &Arc<dyn Source>) -> Self {
        Self(Arc::as_ptr(source).cast::<()>() as usize)
    }
}

impl Slot {
    fn key(&self) -> SlotKey {
        SlotKey::of(&self.source)
    }
}

/// Takes back, after the handler, the slot that the middleware `key` put in
/// the request; `None` if it is gone (something else took it).
#[inline]
pub fn take_slot(extensions: &mut Extensions, key: SlotKey) -> Option<Slot> {
    let slot = extensions.remove::<Slot>()?;
    if slot.nested || slot.key() != key {
        return untangle_slot(extensions, slot, key);
    }
    Some(slot)
}

/// [`take_slot`] with middlewares nested: gives the next slot out its place
/// back, or finds ours behind a slot that was not taken back (an inner
/// middleware whose handler failed, turned into a response further out).
#[cold]
fn untangle_slot(extensions: &mut Extensions, first: Slot, key: SlotKey) -> Option<Slot> {
    let mut rest = extensions.remove::<Slots>().unwrap_or_default();
    let mut mine = None;
    for slot in std::iter::once(first).chain(std::mem::take(&mut rest.0).into_iter().rev()) {
        if mine.is_none() && slot.key() == key {
            mine = Some(slot);
        } else {
            rest.0.insert(0, slot);
        }
    }
    // The innermost left serves the handlers again.
    if let Some(mut inner) = rest.0.pop() {
        inner.nested = !rest.0.is_empty();
        extensions.insert(inner);
    }
    if !rest.0.is_empty() {
        extensions.insert(rest);
    }
    mine
}

/// The slot of the middleware called `name`: the innermost of that name.
fn find_slot<'e>(extensions: &'e Extensions, name: Option<&str>) -> Option<&'e Slot> {
    let inner = extensions.get::<Slot>()?;
    if inner.named(name) {
        return Some(inner);
    }
    extensions
        .get::<Slots>()?
        .0
        .iter()
        .rev()
        .find(|s| s.named(name))
}

fn missing_middleware(req: &HttpRequest, name: Option<&str>) -> SessionError {
    let error = SessionError::MissingMiddleware {
        name: name.map(str::to_owned),
    };
    tracing::error!(path = req.path(), %error, "a handler asked for a session that no middleware provides");
    error
}

/// Ends a load, finished or abandoned (a store error, or the extractor's
/// future dropped mid-read): stores the session if there is one, and wakes
/// the extractors that waited, which find it or load it again.
struct EndLoad<'r> {
    req: &'r HttpRequest,
    name: Option<&'r str>,
    loaded: Option<(ReadonlySession, bool)>,
}

impl Drop for EndLoad<'_> {
    fn drop(&mut self) {
        let extensions = self.req.extensions();
        let Some(slot) = find_slot(&extensions, self.name) else {
            return;
        };
        slot.loading.set(false);
        if let Some((session, had_cookie)) = self.loaded.take() {
            // Only the one loading extractor stores: the cell is empty.
            let _ = slot.session.set(session);
            slot.had_cookie.set(had_cookie);
        }
        if !slot.waiting.borrow().is_empty() {
            wake_all(slot.waiting.take());
        }
    }
}

#[cold]
fn wake_all(waiting: Vec<Waker>) {
    for waker in waiting {
        waker.wake();
    }
}

/// Loads the session of the middleware called `name` (`None`: the default
/// one) for `req`, on first use: one store read per request at most. What
/// every extractor and `SessionExt` call comes down to.
///
/// A request is served on one thread, so a flag in the slot does what an
/// async once-cell would (without its semaphore): the first extractor
/// loads, any other that asks meanwhile waits for it.
async fn load(req: HttpRequest, name: Option<&str>) -> Result<ReadonlySession, SessionError> {
    let source = loop {
        {
            let extensions = req.extensions();
            let slot =
                find_slot(&extensions, name).ok_or_else(|| missing_middleware(&req, name))?;
            if let Some(session) = slot.session.get() {
                return Ok(session.clone());
            }
            if !slot.loading.get() {
                slot.loading.set(true);
                break Arc::clone(&slot.source);
            }
        }
        std::future::poll_fn(|cx| {
            let extensions = req.extensions();
            match find_slot(&extensions, name) {
                Some(slot) if slot.loading.get() => {
                    slot.waiting.borrow_mut().push(cx.waker().clone());
                    Poll::Pending
                }
                _ => Poll::Ready(()),
            }
        })
        .await;
    };
    let mut end = EndLoad {
        req: &req,
        name,
        loaded: None,
    };
    let Loading {
        driver,
        cookie_name,
        policy,
        now,
    } = source.loading();
    let cookie = find_cookie(req.headers(), cookie_name);
    let session = match lifecycle::load(driver, cookie, policy, now).await {
        Ok((session, rejected)) => {
            match rejected {
                Some(Rejected::Invalid(reason)) => {
                    tracing::warn!(
                        driver = driver.name(),
                        reason,
                        "rejected a session cookie; starting a fresh session"
                    );
                }
                Some(Rejected::Unknown) => {
                    tracing::warn!(driver = driver.name(), "session cookie names no live session (unknown or expired); starting a fresh session");
                }
                Some(Rejected::Unreadable) => {
                    tracing::warn!(driver = driver.name(), "the stored session record does not decode; starting a fresh session (a write, regenerate or destroy removes the record)");
                }
                None => {}
            }
            session
        }
        Err(e) => {
            tracing::error!(driver = driver.name(), error = %e, "loading the session failed");
            return Err(SessionError::Store(e));
        }
    };
    end.loaded = Some((session.clone(), cookie.is_some()));
    Ok(session)
}

/// The value of the first cookie called `name` in the request's `Cookie`
/// headers. Parsed by hand, on bytes, and leniently: a malformed neighbour
/// cookie is skipped instead of hiding ours.
fn find_cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    let name = name.as_bytes();
    let mut found: Option<&'h str> = None;
    let mut duplicates = 0usize;
    for header in headers.get_all(COOKIE) {
        // memchr finds the separators a vector at a time: a cookie store's
        // value is several hundred bytes long.
        let bytes = header.as_bytes();
        let ends = memchr::memchr_iter(b';', bytes).chain([bytes.len()]);
        let mut start = 0;
        for end in ends {
            let pair = &bytes[start..end];
            start = end + 1;
            let Some(eq) = memchr::memchr(b'=', pair) else {
                continue;
            };
            if pair[..eq].trim_ascii() != name {
                continue;
            }
            if found.is_some() {
                duplicates += 1;
                continue;
            }
            let v = pair[eq + 1..].trim_ascii();
            let v = v
                .strip_prefix(b"\"")
                .and_then(|v| v.strip_suffix(b"\""))
                .unwrap_or(v);
            // Not text at all: hand the driver an empty value, which it
            // rejects (a fresh session and a warning), rather than ignore it.
            found = Some(std::str::from_utf8(v).unwrap_or(""));
        }
    }
    if duplicates > 0 {
        tracing::warn!(
            duplicates,
            "the request carries the session cookie more than once; using the first"
        );
    }
    found
}

/// The `cookie_header` fuzz target's way in: [`find_cookie`] over a
/// request whose `Cookie` headers are `headers` (those that are valid header
/// values; the HTTP parser drops the others before we see them).
#[cfg(fuzzing)]
pub fn fuzz_find_cookie(headers: &[&[u8]], name: &str) -> Option<String> {
    let mut map = HeaderMap::new();
    for value in headers {
        if let Ok(value) = actix_web::http::header::HeaderValue::from_bytes(value) {
            map.append(COOKIE, value);
        }
    }
    find_cookie(&map, name).map(str::to_owned)
}

impl FromRequest for Session {
    type Error = SessionError;
    type Future = LocalBoxFuture<'static, Result<Self, SessionError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(load(req, None).await?.into_writable()) })
    }
}

/// The device list of the default (unnamed) session middleware's store.
impl FromRequest for Devices {
    type Error = SessionError;
    type Future = std::future::Ready<Result<Self, SessionError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let extensions = req.extensions();
        std::future::ready(match find_slot(&extensions, None) {
            Some(slot) => Ok(slot.source().devices()),
            None => Err(SessionError::MissingMiddleware { name: None }),
        })
    }
}

impl FromRequest for ReadonlySession {
    type Error = SessionError;
    type Future = LocalBoxFuture<'static, Result<Self, SessionError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(load(req.clone(), None))
    }
}

/// A marker type that names one of several session middlewares on a route,
/// for [`Named`].
///
/// ```
/// use session_actix::SessionName;
///
/// /// The long-lived cookie session that keeps display preferences.
/// struct Prefs;
///
/// impl SessionName for Prefs {
///     const NAME: &'static str = "prefs";
/// }
/// ```
pub trait SessionName: 'static {
    /// The name given to the middleware's builder with `.name(..)`.
    const NAME: &'static str;
}

/// The session of the middleware named `M::NAME`, when a route has more than
/// one: a handler argument like [`Session`] (the default, unnamed
/// middleware's session), which it derefs to. `Named<M, ReadonlySession>`
/// is the read-only twin.
///
/// Each middleware keeps its own session under its own cookie, loads it only
/// if a handler asks for it, and commits it on its own.
///
/// ```no_run
/// # #[cfg(feature = "cookie")] {
/// use actix_web::{web, App, HttpServer};
/// use session_actix::{CookieDriver, CookieKey, MemoryDriver, Named, Session, SessionMiddleware, SessionName};
///
/// struct Prefs;
/// impl SessionName for Prefs {
///     const NAME: &'static str = "prefs";
/// }
///
/// async fn page(session: Session, prefs: Named<Prefs>) -> actix_web::Result<String> {
///     let theme: String = prefs.get_or("theme", "light".to_owned())?;
///     let visits = session.increment("visits", 1)?;
///     Ok(format!("visit {visits} in the {theme} theme"))
/// }
///
/// # async fn run() -> std::io::Result<()> {
/// let sessions = SessionMiddleware::builder(MemoryDriver::new()).build().unwrap();
/// let prefs = SessionMiddleware::builder(CookieDriver::new("prefs", CookieKey::generate()))
///     .cookie_name("prefs")
///     .name(Prefs::NAME)
///     .idle_timeout(std::time::Duration::from_secs(365 * 24 * 3600))
///     .build()
///     .unwrap();
/// HttpServer::new(move || {
///     App::new()
///         .wrap(sessions.clone())
///         .wrap(prefs.clone())
///         .route("/", web::get().to(page))
/// })
/// .bind(("127.0.0.1", 8080))?
/// .run()
/// .await
/// # }
/// # }
/// ```
///
/// Asking for a name that no middleware on the route has fails like taking
/// `Session` without a middleware: an opaque 500 and an error event naming
/// the missing middleware.
pub struct Named<M, S = Session> {
    session: S,
    name: PhantomData<fn() -> M>,
}

impl<M, S> Named<M, S> {
    /// The session inside.
    pub fn into_inner(self) -> S {
        self.session
    }
}

impl<M, S> Deref for Named<M, S> {
    type Target = S;

    fn deref(&self) -> &S {
        &self.session
    }
}

impl<M, S: Clone> Clone for Named<M, S> {
    fn clone(&self) -> Self {
        Self {
            session: self.session.clone(),
            name: PhantomData,
        }
    }
}

impl<M: SessionName, S: fmt::Debug> fmt::Debug for Named<M, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Named")
            .field(&M::NAME)
            .field(&self.session)
            .finish()
    }
}

/// What a loaded session handle can be handed out as: a [`Session`] (which
/// marks the session for commit) or a [`ReadonlySession`]. Sealed.
pub trait Handle: Sized + sealed::Sealed {
    #[doc(hidden)]
    fn from_loaded(loaded: ReadonlySession) -> Self;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Session {}
    impl Sealed for super::ReadonlySession {}
}

impl Handle for Session {
    fn from_loaded(loaded: ReadonlySession) -> Self {
        loaded.into_writable()
    }
}

impl Handle for ReadonlySession {
    fn from_loaded(loaded: ReadonlySession) -> Self {
        loaded
    }
}

/// Loads the session of the middleware called `name` as a `H`.
pub async fn load_as<H: Handle>(req: HttpRequest, name: Option<&str>) -> Result<H, SessionError> {
    load(req, name).await.map(H::from_loaded)
}

impl<M: SessionName, S: Handle + 'static> FromRequest for Named<M, S> {
    type Error = SessionError;
    type Future = LocalBoxFuture<'static, Result<Self, SessionError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            Ok(Named {
                session: load_as(req, Some(M::NAME)).await?,
                name: PhantomData,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;

    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(COOKIE, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn finds_our_cookie_among_malformed_neighbours() {
        let h = headers(&["junk; =x; a=b;;", "other=%%%; session=abc ; z"]);
        assert_eq!(find_cookie(&h, "session"), Some("abc"));
        assert_eq!(find_cookie(&headers(&["sessionx=1"]), "session"), None);
        assert_eq!(
            find_cookie(&headers(&[" session = \"quoted\" "]), "session"),
            Some("quoted")
        );
        let mut odd = HeaderMap::new();
        odd.append(
            COOKIE,
            HeaderValue::from_bytes(b"a=\xff\xfe; session=abc").unwrap(),
        );
        assert_eq!(
            find_cookie(&odd, "session"),
            Some("abc"),
            "an odd neighbour"
        );
        let mut bad = HeaderMap::new();
        bad.append(COOKIE, HeaderValue::from_bytes(b"session=\xff").unwrap());
        assert_eq!(find_cookie(&bad, "session"), Some(""), "ours, not text");
        assert_eq!(
            find_cookie(&headers(&["session=one; session=two"]), "session"),
            Some("one")
        );
    }
}
