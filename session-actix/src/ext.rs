//! Reaching the session from places other than a handler argument.

use actix_web::dev::ServiceRequest;
use actix_web::HttpRequest;
use futures_util::future::LocalBoxFuture;
use session_core::__private::load_as;
use session_core::{ReadonlySession, Session, SessionError};

/// Gets the request's session from an [`HttpRequest`] or, in a middleware
/// placed inside [`SessionMiddleware`], a [`ServiceRequest`].
///
/// ```
/// use actix_web::HttpRequest;
/// use session_actix::SessionExt;
///
/// async fn handler(req: HttpRequest) -> actix_web::Result<String> {
///     let session = req.session().await?;
///     Ok(session.get_or("name", String::from("guest"))?)
/// }
/// ```
///
/// [`SessionMiddleware`]: crate::SessionMiddleware
pub trait SessionExt {
    /// The session, loaded on first use (one store read per request).
    fn session(&self) -> LocalBoxFuture<'static, Result<Session, SessionError>>;

    /// A read-only view of the session; see [`ReadonlySession`].
    fn readonly_session(&self) -> LocalBoxFuture<'static, Result<ReadonlySession, SessionError>>;

    /// The session of the middleware built with `.name(name)`; see
    /// [`Named`](crate::Named).
    ///
    /// ```
    /// use actix_web::HttpRequest;
    /// use session_actix::SessionExt;
    ///
    /// async fn theme(req: HttpRequest) -> actix_web::Result<String> {
    ///     let prefs = req.named_session("prefs").await?;
    ///     Ok(prefs.get_or("theme", String::from("light"))?)
    /// }
    /// ```
    fn named_session(
        &self,
        name: &'static str,
    ) -> LocalBoxFuture<'static, Result<Session, SessionError>>;
}

impl SessionExt for HttpRequest {
    fn session(&self) -> LocalBoxFuture<'static, Result<Session, SessionError>> {
        Box::pin(load_as(self.clone(), None))
    }

    fn readonly_session(&self) -> LocalBoxFuture<'static, Result<ReadonlySession, SessionError>> {
        Box::pin(load_as(self.clone(), None))
    }

    fn named_session(
        &self,
        name: &'static str,
    ) -> LocalBoxFuture<'static, Result<Session, SessionError>> {
        Box::pin(load_as(self.clone(), Some(name)))
    }
}

impl SessionExt for ServiceRequest {
    fn session(&self) -> LocalBoxFuture<'static, Result<Session, SessionError>> {
        self.request().session()
    }

    fn readonly_session(&self) -> LocalBoxFuture<'static, Result<ReadonlySession, SessionError>> {
        self.request().readonly_session()
    }

    fn named_session(
        &self,
        name: &'static str,
    ) -> LocalBoxFuture<'static, Result<Session, SessionError>> {
        self.request().named_session(name)
    }
}
