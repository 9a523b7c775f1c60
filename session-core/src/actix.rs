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

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::rc::Rc;

use actix_web::dev::Payload;
use actix_web::http::header::{HeaderMap, COOKIE};
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use futures_util::future::LocalBoxFuture;
use tokio::sync::OnceCell;

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
pub trait Source: 'static {
    /// The middleware's name; `None` for the default one.
    fn name(&self) -> Option<&str>;
    /// What loading the session needs, in one call.
    fn loading(&self) -> Loading<'_>;
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

/// One middleware's session in one request: loaded on first use.
pub struct Slot<S: ?Sized> {
    /// Whether the request carried this middleware's cookie (so that a
    /// removal cookie is worth sending).
    pub had_cookie: Cell<bool>,
    /// The session, once a handler asked for it.
    pub session: OnceCell<ReadonlySession>,
    /// The middleware's settings.
    pub source: S,
}

impl<S> Slot<S> {
    /// A slot with nothing loaded.
    pub fn new(source: S) -> Self {
        Self {
            had_cookie: Cell::new(false),
            session: OnceCell::new(),
            source,
        }
    }
}

/// A request's slots, in its extensions: the innermost middleware's as an
/// `Rc<Slot<dyn Source>>` (so that a route with one middleware, the common
/// case, pays for one entry), the ones further out, if any, in a [`Slots`].
type Shared = Rc<Slot<dyn Source>>;

/// The slots of the session middlewares further out than the innermost one,
/// when several wrap a request.
#[derive(Default)]
pub(crate) struct Slots(Vec<Shared>);

/// Puts `slot` in the request, beside the slots of middlewares further out.
/// A slot of the same name as one further out replaces it: the innermost
/// middleware of a name serves the handler, and the outer one, never loaded,
/// commits nothing.
#[inline]
pub fn insert_slot(req: &actix_web::dev::ServiceRequest, slot: Shared) {
    let mut extensions = req.extensions_mut();
    let Some(outer) = extensions.insert(slot) else {
        return;
    };
    nest_slot(&mut extensions, outer);
}

/// Keeps an outer middleware's slot when an inner one takes its place (the
/// rare case of nested session middlewares), off the common path.
#[cold]
fn nest_slot(extensions: &mut actix_web::dev::Extensions, outer: Shared) {
    let name = extensions
        .get::<Shared>()
        .and_then(|s| s.source.name())
        .map(str::to_owned);
    let mut rest = extensions.remove::<Slots>().unwrap_or_default();
    rest.0.push(outer);
    rest.0.retain(|s| {
        let same = s.source.name() == name.as_deref();
        if same {
            tracing::debug!(
                name = name.as_deref().unwrap_or("(default)"),
                "two session middlewares of the same name wrap this route; the inner one serves it"
            );
        }
        !same
    });
    extensions.insert(rest);
}

fn find_slot(req: &HttpRequest, name: Option<&str>) -> Result<Shared, SessionError> {
    let extensions = req.extensions();
    let found = match extensions.get::<Shared>() {
        Some(inner) if inner.source.name() == name => Some(Rc::clone(inner)),
        Some(_) => extensions
            .get::<Slots>()
            .and_then(|rest| rest.0.iter().find(|s| s.source.name() == name).cloned()),
        None => None,
    };
    found.ok_or_else(|| {
        let error = SessionError::MissingMiddleware {
            name: name.map(str::to_owned),
        };
        tracing::error!(path = req.path(), %error, "a handler asked for a session that no middleware provides");
        error
    })
}

impl Slot<dyn Source> {
    /// The session, loaded on first use: one store read per request at most.
    async fn load(&self, headers: &HeaderMap) -> Result<&ReadonlySession, SessionError> {
        self.session
            .get_or_try_init(|| async {
                let Loading { driver, cookie_name, policy, now } = self.source.loading();
                let cookie = find_cookie(headers, cookie_name);
                self.had_cookie.set(cookie.is_some());
                let loaded = lifecycle::load(driver, cookie, policy, now).await;
                match loaded {
                    Ok((session, rejected)) => {
                        match rejected {
                            Some(Rejected::Invalid(reason)) => {
                                tracing::warn!(driver = driver.name(), reason, "rejected a session cookie; starting a fresh session");
                            }
                            Some(Rejected::Unknown) => {
                                tracing::warn!(driver = driver.name(), "session cookie names no live session (unknown or expired); starting a fresh session");
                            }
                            None => {}
                        }
                        Ok(session)
                    }
                    Err(e) => {
                        tracing::error!(driver = driver.name(), error = %e, "loading the session failed");
                        Err(SessionError::Store(e))
                    }
                }
            })
            .await
    }
}

/// Loads the session of the middleware called `name` (`None`: the default
/// one) for `req`: what every extractor and `SessionExt` call comes down to.
async fn load(req: HttpRequest, name: Option<&str>) -> Result<ReadonlySession, SessionError> {
    let slot = find_slot(&req, name)?;
    slot.load(req.headers()).await.cloned()
}

/// The value of the first cookie called `name` in the request's `Cookie`
/// headers. Parsed by hand, on bytes, and leniently: a malformed neighbour
/// cookie is skipped instead of hiding ours.
fn find_cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    let name = name.as_bytes();
    let mut found: Option<&'h str> = None;
    let mut duplicates = 0usize;
    for header in headers.get_all(COOKIE) {
        for pair in header.as_bytes().split(|&b| b == b';') {
            let Some(eq) = pair.iter().position(|&b| b == b'=') else {
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

impl FromRequest for Session {
    type Error = SessionError;
    type Future = LocalBoxFuture<'static, Result<Self, SessionError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(load(req, None).await?.into_writable()) })
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
