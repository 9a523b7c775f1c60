//! The middleware: finds the session cookie, leaves a lazy handle in the
//! request, and commits after the handler.

use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{HeaderMap, HeaderValue, COOKIE, SET_COOKIE};
use actix_web::{HttpMessage, HttpResponse};
use futures_util::future::LocalBoxFuture;
use session_core::lifecycle::{self, CookieAction, PendingCommit, Rejected};
use session_core::SessionDriver;
use tokio::sync::OnceCell;

use crate::config::{Config, SessionMiddlewareBuilder};
use crate::error::Error;

/// Session middleware for an `App`, a `scope` or a resource.
///
/// Build it once, outside `HttpServer::new`, and clone it into each worker's
/// `App` so every worker shares the same driver:
///
/// ```no_run
/// use actix_web::{web, App, HttpServer};
/// use session_actix::{MemoryDriver, Session, SessionMiddleware};
///
/// async fn index(session: Session) -> actix_web::Result<String> {
///     let visits = session.increment("visits", 1)?;
///     Ok(format!("visit number {visits}"))
/// }
///
/// #[actix_web::main]
/// async fn main() -> std::io::Result<()> {
///     let sessions = SessionMiddleware::builder(MemoryDriver::new())
///         .build()
///         .expect("valid session settings");
///     HttpServer::new(move || {
///         App::new()
///             .wrap(sessions.clone())
///             .route("/", web::get().to(index))
///     })
///     .bind(("127.0.0.1", 8080))?
///     .run()
///     .await
/// }
/// ```
///
/// On a scope only: `web::scope("/account").wrap(sessions.clone())`.
///
/// Per request it costs no store call until a handler takes a [`Session`]
/// (or calls [`SessionExt::session`]); then one read. After the handler it
/// commits at most once; see the crate docs for the exact rules.
///
/// [`Session`]: crate::Session
/// [`SessionExt::session`]: crate::SessionExt::session
#[derive(Clone, Debug)]
pub struct SessionMiddleware {
    config: Arc<Config>,
}

impl SessionMiddleware {
    /// Starts a builder for sessions kept by `driver`.
    pub fn builder(driver: impl SessionDriver) -> SessionMiddlewareBuilder {
        SessionMiddlewareBuilder::new(Arc::new(driver))
    }

    /// Starts a builder for a driver chosen at run time.
    pub fn builder_dyn(driver: Arc<dyn SessionDriver>) -> SessionMiddlewareBuilder {
        SessionMiddlewareBuilder::new(driver)
    }

    pub(crate) fn from_config(config: Config) -> Self {
        Self {
            config: Arc::new(config),
        }
    }

    #[cfg(test)]
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }
}

impl<S, B> Transform<S, ServiceRequest> for SessionMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = SessionService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(SessionService {
            service,
            config: Arc::clone(&self.config),
        }))
    }
}

/// The per-worker service made by [`SessionMiddleware`].
#[doc(hidden)]
pub struct SessionService<S> {
    service: S,
    config: Arc<Config>,
}

/// What the middleware leaves in the request for extractors.
pub(crate) struct Slot {
    pub(crate) config: Arc<Config>,
    /// Whether the request carried our cookie (so a removal is worth sending).
    pub(crate) had_cookie: std::cell::Cell<bool>,
    session: OnceCell<session_core::Session>,
}

impl Slot {
    /// The session, loaded on first use: one store read per request at most.
    pub(crate) async fn session(
        &self,
        headers: &HeaderMap,
    ) -> Result<session_core::Session, Error> {
        let session = self
            .session
            .get_or_try_init(|| async {
                let cookie = find_cookie(headers, &self.config.cookie_name);
                self.had_cookie.set(cookie.is_some());
                let now = self.config.now();
                let loaded = lifecycle::load(self.config.driver.as_ref(), cookie, self.config.policy, now).await;
                match loaded {
                    Ok((session, rejected)) => {
                        match rejected {
                            Some(Rejected::Invalid(reason)) => {
                                tracing::warn!(driver = self.config.driver.name(), reason, "rejected a session cookie; starting a fresh session");
                            }
                            Some(Rejected::Unknown) => {
                                tracing::warn!(driver = self.config.driver.name(), "session cookie names no live session (unknown or expired); starting a fresh session");
                            }
                            _ => {}
                        }
                        Ok(session)
                    }
                    Err(e) => {
                        tracing::error!(driver = self.config.driver.name(), error = %e, "loading the session failed");
                        Err(Error::Store(e))
                    }
                }
            })
            .await?;
        Ok(session.clone())
    }
}

impl<S, B> Service<ServiceRequest> for SessionService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = SessionFuture<S::Future, B>;

    actix_service::forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let slot = Rc::new(Slot {
            config: Arc::clone(&self.config),
            had_cookie: std::cell::Cell::new(false),
            session: OnceCell::new(),
        });
        req.extensions_mut().insert(Rc::clone(&slot));
        SessionFuture {
            state: State::Handler {
                fut: self.service.call(req),
                slot: Some(slot),
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`SessionService`]: the handler's future,
    /// then, only if the handler took the session, the commit.
    ///
    /// A named future instead of a boxed one, so that a request whose
    /// handler never takes the session allocates nothing for it.
    #[doc(hidden)]
    pub struct SessionFuture<F, B> {
        #[pin]
        state: State<F, B>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        // The rest of the chain is running.
        Handler {
            #[pin]
            fut: F,
            slot: Option<Rc<Slot>>,
        },
        // The handler used the session; committing it.
        Commit {
            fut: LocalBoxFuture<'static, Result<ServiceResponse<EitherBody<B>>, actix_web::Error>>,
        },
    }
}

impl<F, B> Future for SessionFuture<F, B>
where
    F: Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
    B: MessageBody + 'static,
{
    type Output = Result<ServiceResponse<EitherBody<B>>, actix_web::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        let (res, slot) = match state.as_mut().project() {
            StateProj::Handler { fut, slot } => {
                let res = ready!(fut.poll(cx))?;
                let slot = slot
                    .take()
                    .expect("SessionFuture polled after it completed");
                (res, slot)
            }
            StateProj::Commit { fut } => return fut.as_mut().poll(cx),
        };
        let Some(session) = slot.session.get() else {
            // No handler used the session: nothing to do, no store call.
            return Poll::Ready(Ok(res.map_into_left_body()));
        };
        if res.status().is_server_error() {
            tracing::debug!("handler answered a server error; session changes are not committed");
            return Poll::Ready(Ok(res.map_into_left_body()));
        }
        let Some(pending) = lifecycle::prepare_commit(session, slot.config.now()) else {
            // Nothing to store (an unchanged read): no commit to set up.
            return Poll::Ready(Ok(res.map_into_left_body()));
        };
        let mut commit = Box::pin(commit(slot, pending, res));
        let polled = commit.as_mut().poll(cx);
        if polled.is_pending() {
            state.set(State::Commit { fut: commit });
        }
        polled
    }
}

/// Commits the request's session and puts the cookie on the response, or
/// turns it into an opaque 500 if the store fails.
async fn commit<B>(
    slot: Rc<Slot>,
    pending: PendingCommit,
    mut res: ServiceResponse<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let config = &slot.config;
    match pending.run(config.driver.as_ref()).await {
        Ok(CookieAction::Keep) => {}
        Ok(CookieAction::Set { value, expires_at }) => {
            append_cookie(&mut res, &config.set_cookie(value, expires_at));
        }
        Ok(CookieAction::Remove) => {
            if slot.had_cookie.get() {
                append_cookie(&mut res, &config.removal_cookie().to_string());
            }
        }
        Err(e) => {
            tracing::error!(driver = config.driver.name(), error = %e, "committing the session failed; answering 500");
            let (req, _) = res.into_parts();
            let failed = HttpResponse::InternalServerError().finish();
            return Ok(ServiceResponse::new(req, failed).map_into_right_body());
        }
    }
    Ok(res.map_into_left_body())
}

fn append_cookie<B>(res: &mut ServiceResponse<B>, cookie: &str) {
    match HeaderValue::from_str(cookie) {
        Ok(value) => {
            res.headers_mut().append(SET_COOKIE, value);
        }
        // The hook may have put something unsendable in the cookie.
        Err(_) => {
            tracing::error!("the session cookie is not a valid header value; check the cookie hook")
        }
    }
}

/// The value of the first cookie called `name` in the request's `Cookie`
/// headers. Parsed by hand, on bytes, and leniently: a malformed neighbour
/// cookie is skipped instead of hiding ours.
pub(crate) fn find_cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
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

#[cfg(test)]
mod tests {
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
