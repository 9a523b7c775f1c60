//! The CSRF guard: unsafe requests must carry the session's CSRF token.

use std::future::{ready, Ready};
use std::rc::Rc;

use actix_web::body::EitherBody;
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{HeaderValue, CONTENT_TYPE, ORIGIN};
use actix_web::http::Method;
use actix_web::web::Bytes;
use actix_web::HttpResponse;
use futures_util::future::LocalBoxFuture;
use session_core::ReadonlySession;

/// The form field a token is read from.
pub(crate) const CSRF_FIELD: &str = "_csrf";

/// The request header a token is read from (for `fetch` and XHR).
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

/// Rejects `POST`, `PUT`, `PATCH` and `DELETE` requests that do not carry the
/// session's CSRF token, with `403 Forbidden`; `GET`, `HEAD`, `OPTIONS` and
/// `TRACE` are never checked.
///
/// The token is looked for in the `X-CSRF-Token` header first, then in the
/// form field `_csrf` of an `application/x-www-form-urlencoded` body (the
/// body is read, within actix-web's default 256 KiB limit, and handed on
/// unchanged to the handler). Multipart forms must send the header. A token
/// is valid if [`Session::csrf_token`](crate::Session::csrf_token) handed it
/// out for this session: pages render it with that method (or with the
/// template helpers), which masks it anew each time.
///
/// A refused request gets a short page that names no token or session, the
/// reason goes to a `tracing` warning, and the session is left as it was.
/// A session store failure while checking is the usual opaque 500.
///
/// The guard reads the session, so the session middleware must run first:
/// wrap the guard **before** the session middleware (actix-web runs the last
/// `wrap` first).
///
/// ```
/// use actix_web::{web, App, HttpResponse};
/// use session_actix::{CsrfGuard, MemoryDriver, Session, SessionMiddleware};
///
/// async fn form(session: Session) -> actix_web::Result<HttpResponse> {
///     let token = session.csrf_token()?;
///     Ok(HttpResponse::Ok().body(format!(
///         r#"<form method="post"><input type="hidden" name="_csrf" value="{token}"><button>Go</button></form>"#
///     )))
/// }
///
/// let sessions = SessionMiddleware::builder(MemoryDriver::new()).build().unwrap();
/// let app = App::new()
///     .wrap(CsrfGuard::new().allowed_origins(["https://shop.example"]))
///     .wrap(sessions)
///     .route("/", web::get().to(form))
///     .route("/", web::post().to(|| async { "done" }));
/// # let _ = app;
/// ```
#[derive(Clone, Debug, Default)]
pub struct CsrfGuard {
    origins: Option<Rc<[String]>>,
}

impl CsrfGuard {
    /// A guard that checks the token only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also refuses an unsafe request whose `Origin` header is present and
    /// not one of `origins` (written as browsers send them:
    /// `https://shop.example`, with a port when it is not the default). A
    /// request without `Origin` is judged by its token alone.
    pub fn allowed_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let list: Vec<String> = origins
            .into_iter()
            .map(|o| o.into().trim_end_matches('/').to_ascii_lowercase())
            .collect();
        self.origins = Some(list.into());
        self
    }
}

impl<S, B> Transform<S, ServiceRequest> for CsrfGuard
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = CsrfService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(CsrfService {
            service: Rc::new(service),
            origins: self.origins.clone(),
        }))
    }
}

/// The service [`CsrfGuard`] wraps around the app's.
#[doc(hidden)]
pub struct CsrfService<S> {
    service: Rc<S>,
    origins: Option<Rc<[String]>>,
}

impl<S, B> Service<ServiceRequest> for CsrfService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    actix_service::forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        if is_safe(req.method()) {
            return Box::pin(async move { Ok(service.call(req).await?.map_into_left_body()) });
        }
        let origins = self.origins.clone();
        Box::pin(async move {
            match check(req, origins.as_deref()).await? {
                Ok(req) => Ok(service.call(req).await?.map_into_left_body()),
                Err((req, reason)) => {
                    tracing::warn!(
                        method = %req.method(),
                        path = req.path(),
                        reason,
                        "refused a request without a valid CSRF token"
                    );
                    let page = HttpResponse::Forbidden()
                        .content_type("text/plain; charset=utf-8")
                        .body("403 Forbidden: this form has expired or was not sent from this site. Reload the page and try again.");
                    Ok(req.into_response(page).map_into_right_body())
                }
            }
        })
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

type Checked = Result<ServiceRequest, (ServiceRequest, &'static str)>;

/// Hands the request back if it may go on, or with the reason it may not.
async fn check(
    mut req: ServiceRequest,
    origins: Option<&[String]>,
) -> Result<Checked, actix_web::Error> {
    if let (Some(allowed), Some(origin)) = (origins, req.headers().get(ORIGIN)) {
        let origin = origin
            .to_str()
            .unwrap_or("")
            .trim_end_matches('/')
            .to_ascii_lowercase();
        if !allowed.contains(&origin) {
            return Ok(Err((req, "the Origin header is not an allowed origin")));
        }
    }
    let presented = match header_token(req.headers().get(CSRF_HEADER)) {
        Some(token) => Some(token),
        None if is_form(&req) => {
            let body = req.extract::<Bytes>().await?;
            let token = form_token(&body);
            req.set_payload(Payload::from(body));
            token
        }
        None => None,
    };
    let Some(presented) = presented else {
        return Ok(Err((
            req,
            "no CSRF token in the X-CSRF-Token header or the _csrf form field",
        )));
    };
    // A store failure here is the session middleware's opaque 500.
    let session = req.extract::<ReadonlySession>().await?;
    if session.verify_csrf(&presented) {
        Ok(Ok(req))
    } else if session.is_stored() {
        Ok(Err((req, "the CSRF token does not belong to this session")))
    } else {
        Ok(Err((
            req,
            "the request has no session, so no CSRF token can be valid",
        )))
    }
}

fn header_token(value: Option<&HeaderValue>) -> Option<String> {
    let text = value?.to_str().ok()?.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn is_form(req: &ServiceRequest) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

fn form_token(body: &[u8]) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v)
}
