//! Reaching the session from places other than a handler argument.

use actix_web::dev::ServiceRequest;
use actix_web::HttpRequest;
use futures_util::future::LocalBoxFuture;

use crate::error::Error;
use crate::session::{load, ReadonlySession, Session};

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
    fn session(&self) -> LocalBoxFuture<'static, Result<Session, Error>>;

    /// A read-only view of the session; see [`ReadonlySession`].
    fn readonly_session(&self) -> LocalBoxFuture<'static, Result<ReadonlySession, Error>>;
}

impl SessionExt for HttpRequest {
    fn session(&self) -> LocalBoxFuture<'static, Result<Session, Error>> {
        Box::pin(load(self.clone(), true))
    }

    fn readonly_session(&self) -> LocalBoxFuture<'static, Result<ReadonlySession, Error>> {
        let req = self.clone();
        Box::pin(async move { Ok(ReadonlySession::from_session(load(req, false).await?)) })
    }
}

impl SessionExt for ServiceRequest {
    fn session(&self) -> LocalBoxFuture<'static, Result<Session, Error>> {
        self.request().session()
    }

    fn readonly_session(&self) -> LocalBoxFuture<'static, Result<ReadonlySession, Error>> {
        self.request().readonly_session()
    }
}
