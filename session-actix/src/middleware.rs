//! The middleware: finds the session cookie, leaves a lazy handle in the
//! request, and commits after the handler.

use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{HeaderValue, SET_COOKIE};
use actix_web::HttpResponse;
use futures_util::future::LocalBoxFuture;
use session_core::__private::{
    insert_slot, prepare_commit, CookieAction, Loading, PendingCommit, Slot, Source,
};
use session_core::driver::SessionDriver;

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
pub struct SessionService<S> {
    service: S,
    config: Arc<Config>,
}

/// The middleware's settings, as the request's session slot sees them.
pub(crate) struct Shared(Arc<Config>);

impl Source for Shared {
    fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }

    fn loading(&self) -> Loading<'_> {
        Loading {
            driver: self.0.driver.as_ref(),
            cookie_name: &self.0.cookie_name,
            policy: self.0.policy,
            now: self.0.now(),
        }
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
        let slot = Rc::new(Slot::new(Shared(Arc::clone(&self.config))));
        insert_slot(&req, Rc::clone(&slot) as Rc<Slot<dyn Source>>);
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
            slot: Option<Rc<Slot<Shared>>>,
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
        let Some(pending) = prepare_commit(session, slot.source.0.now()) else {
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
    slot: Rc<Slot<Shared>>,
    pending: PendingCommit,
    mut res: ServiceResponse<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let config = &slot.source.0;
    match pending
        .run(config.driver.as_ref(), Some(&config.gate))
        .await
    {
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
