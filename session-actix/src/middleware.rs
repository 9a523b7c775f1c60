//! The middleware: finds the session cookie, leaves a lazy handle in the
//! request, and commits after the handler.

use std::any::Any;
use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{HeaderValue, CACHE_CONTROL, SET_COOKIE};
use actix_web::{HttpMessage, HttpResponse};
use futures_util::future::LocalBoxFuture;
use session_core::__private::{
    insert_slot, prepare_commit, take_slot, CookieAction, Loading, PendingCommit, Slot, SlotKey,
    Source,
};
use session_core::driver::SessionDriver;
use session_core::Devices;

use crate::config::{Config, SessionMiddlewareBuilder};

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

    /// The device list of this middleware's store, for code outside
    /// requests (an admin page, a password-reset job); in a handler, take
    /// [`Devices`] as an argument instead. Clone it freely.
    ///
    /// ```
    /// # async fn job() -> Result<(), Box<dyn std::error::Error>> {
    /// use session_actix::{MemoryDriver, SessionMiddleware};
    ///
    /// let sessions = SessionMiddleware::builder(MemoryDriver::new()).build()?;
    /// let devices = sessions.devices();
    /// // After a password reset: every session of user 42 is signed out.
    /// devices.revoke_all(42).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn devices(&self) -> Devices {
        self.config.devices()
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
        let source: Arc<dyn Source> = Arc::clone(&self.config) as _;
        ready(Ok(SessionService {
            service,
            key: SlotKey::of(&source),
            source,
        }))
    }
}

/// The per-worker service made by [`SessionMiddleware`].
pub struct SessionService<S> {
    service: S,
    /// The middleware's [`Config`], as the request's session slot sees it.
    source: Arc<dyn Source>,
    key: SlotKey,
}

impl Source for Config {
    fn devices(&self) -> Devices {
        Devices::new(
            Arc::clone(&self.driver),
            self.policy,
            Arc::clone(&self.clock),
        )
    }

    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn loading(&self) -> Loading<'_> {
        Loading {
            driver: self.driver.as_ref(),
            cookie_name: &self.cookie_name,
            policy: self.policy,
            now: self.now(),
        }
    }
}

/// The config a slot was made from: the [`Config`] that
/// [`SessionService::call`] put in it.
fn config_of(slot: &Slot) -> &Config {
    (slot.source() as &dyn Any)
        .downcast_ref::<Config>()
        .expect("a session slot is made from a middleware Config")
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
        insert_slot(&req, Arc::clone(&self.source));
        SessionFuture {
            state: State::Handler {
                fut: self.service.call(req),
                key: self.key,
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
            // Which slot in the request is ours.
            key: SlotKey,
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
        let (res, key) = match state.as_mut().project() {
            StateProj::Handler { fut, key } => (ready!(fut.poll(cx))?, *key),
            StateProj::Commit { fut } => return fut.as_mut().poll(cx),
        };
        let slot = take_slot(&mut res.request().extensions_mut(), key);
        // No handler used the session: nothing to do, no store call.
        let Some(slot) = slot else {
            return Poll::Ready(Ok(res.map_into_left_body()));
        };
        let Some(session) = slot.loaded() else {
            return Poll::Ready(Ok(res.map_into_left_body()));
        };
        if res.status().is_server_error() {
            tracing::debug!("handler answered a server error; session changes are not committed");
            return Poll::Ready(Ok(res.map_into_left_body()));
        }
        let Some(pending) = prepare_commit(session, config_of(&slot).now()) else {
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
    slot: Slot,
    pending: PendingCommit,
    mut res: ServiceResponse<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let config = config_of(&slot);
    match pending
        .run(config.driver.as_ref(), Some(&config.gate))
        .await
    {
        Ok(CookieAction::Keep) => {}
        Ok(CookieAction::Set { value, expires_at }) => {
            append_cookie(&mut res, config, &config.set_cookie(value, expires_at));
        }
        Ok(CookieAction::Remove) => {
            if slot.had_cookie() {
                append_cookie(&mut res, config, &config.removal_cookie().to_string());
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

/// Adds a `Set-Cookie` header, and the configured `Cache-Control` unless
/// the handler chose one: a response that carries a session cookie must not
/// be kept by a shared cache.
fn append_cookie<B>(res: &mut ServiceResponse<B>, config: &Config, cookie: &str) {
    match HeaderValue::from_str(cookie) {
        Ok(value) => {
            let headers = res.headers_mut();
            headers.append(SET_COOKIE, value);
            if let Some(cache_control) = &config.cache_control_header {
                if !headers.contains_key(CACHE_CONTROL) {
                    headers.insert(CACHE_CONTROL, cache_control.clone());
                }
            }
        }
        // The hook may have put something unsendable in the cookie.
        Err(_) => {
            tracing::error!("the session cookie is not a valid header value; check the cookie hook")
        }
    }
}
