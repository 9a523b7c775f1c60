//! The CSRF guard over HTTP: every method, both token sources, tampering,
//! rotation, a missing session, the Origin check.

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::{CONTENT_TYPE, COOKIE, ORIGIN, SET_COOKIE};
use actix_web::http::{Method, StatusCode};
use actix_web::{test, web, App, HttpResponse};
use session_actix::{CsrfGuard, MemoryDriver, Session, SessionMiddleware};

/// A page with a form: the masked token, as a page would render it.
async fn page(s: Session) -> actix_web::Result<String> {
    s.put("user", "ada")?;
    Ok(s.csrf_token()?)
}
/// Echoes the form body the handler received, and counts.
async fn submit(s: Session, body: String) -> actix_web::Result<String> {
    s.increment("posts", 1)?;
    Ok(body)
}
async fn count(s: Session) -> actix_web::Result<String> {
    Ok(s.get_or::<i64>("posts", 0)?.to_string())
}
async fn login(s: Session) -> actix_web::Result<HttpResponse> {
    s.regenerate()?;
    Ok(HttpResponse::NoContent().finish())
}

macro_rules! app {
    ($guard:expr) => {
        app!($guard, MemoryDriver::new())
    };
    ($guard:expr, $driver:expr) => {
        test::init_service(
            App::new()
                .wrap($guard)
                .wrap(SessionMiddleware::builder($driver).build().unwrap())
                .route("/page", web::get().to(page))
                .route("/count", web::get().to(count))
                .route("/login", web::post().to(login))
                .route("/submit", web::to(submit)),
        )
        .await
    };
}

fn cookie_of<B>(res: &ServiceResponse<B>) -> Option<String> {
    res.headers().get_all(SET_COOKIE).find_map(|h| {
        let pair = h.to_str().ok()?.split(';').next()?.to_owned();
        pair.strip_prefix("session=").map(str::to_owned)
    })
}

async fn body<B: actix_web::body::MessageBody>(res: ServiceResponse<B>) -> String {
    String::from_utf8(test::read_body(res).await.to_vec()).unwrap()
}

/// Opens the page; gives the session cookie and a token.
async fn open<S, B>(app: &S, cookie: Option<&str>) -> (String, String)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    let mut req = test::TestRequest::get().uri("/page");
    if let Some(c) = cookie {
        req = req.insert_header((COOKIE, format!("session={c}")));
    }
    let res = test::call_service(app, req.to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = cookie_of(&res)
        .or_else(|| cookie.map(str::to_owned))
        .unwrap();
    (cookie, body(res).await)
}

fn request(method: Method, cookie: Option<&str>) -> test::TestRequest {
    let mut req = test::TestRequest::default().method(method).uri("/submit");
    if let Some(c) = cookie {
        req = req.insert_header((COOKIE, format!("session={c}")));
    }
    req
}

fn form(req: test::TestRequest, body: String) -> actix_http::Request {
    req.insert_header((CONTENT_TYPE, "application/x-www-form-urlencoded"))
        .set_payload(body)
        .to_request()
}

#[actix_web::test]
async fn unsafe_methods_need_the_token_and_safe_ones_never_do() {
    let app = app!(CsrfGuard::new());
    let (cookie, token) = open(&app, None).await;
    for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        let res =
            test::call_service(&app, request(method.clone(), Some(&cookie)).to_request()).await;
        assert_eq!(
            res.status(),
            StatusCode::FORBIDDEN,
            "{method} without a token"
        );
        let text = body(res).await;
        assert!(
            text.contains("403 Forbidden") && !text.contains(&token) && !text.contains(&cookie)
        );

        let req =
            request(method.clone(), Some(&cookie)).insert_header(("X-CSRF-Token", token.clone()));
        let res = test::call_service(&app, req.to_request()).await;
        assert_eq!(res.status(), StatusCode::OK, "{method} with the header");
    }
    for method in [Method::GET, Method::HEAD, Method::OPTIONS, Method::TRACE] {
        let res =
            test::call_service(&app, request(method.clone(), Some(&cookie)).to_request()).await;
        assert_eq!(res.status(), StatusCode::OK, "{method} is never checked");
    }
    // The refused requests stored nothing: four accepted, four safe ones.
    let res = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/count")
            .insert_header((COOKIE, format!("session={cookie}")))
            .to_request(),
    )
    .await;
    assert_eq!(body(res).await, "8");
}

#[actix_web::test]
async fn the_form_field_works_and_the_handler_gets_the_whole_body() {
    let app = app!(CsrfGuard::new());
    let (cookie, token) = open(&app, None).await;
    let sent = format!("title=Hello+world&_csrf={token}&note=%C3%A9");
    let res = test::call_service(
        &app,
        form(request(Method::POST, Some(&cookie)), sent.clone()),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        body(res).await,
        sent,
        "the guard hands the body on unchanged"
    );

    let res = test::call_service(
        &app,
        form(
            request(Method::POST, Some(&cookie)),
            "title=x&_csrf=".to_owned(),
        ),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "an empty field");
    // A JSON body is not searched for the field.
    let req = request(Method::POST, Some(&cookie))
        .insert_header((CONTENT_TYPE, "application/json"))
        .set_payload(format!(r#"{{"_csrf":"{token}"}}"#));
    assert_eq!(
        test::call_service(&app, req.to_request()).await.status(),
        StatusCode::FORBIDDEN
    );
}

#[actix_web::test]
async fn tokens_are_masked_per_response_and_tampering_is_refused() {
    let app = app!(CsrfGuard::new());
    let (cookie, first) = open(&app, None).await;
    let (_, second) = open(&app, Some(&cookie)).await;
    assert_ne!(first, second, "never the same text twice");
    for token in [&first, &second] {
        let req =
            request(Method::POST, Some(&cookie)).insert_header(("X-CSRF-Token", token.clone()));
        assert_eq!(
            test::call_service(&app, req.to_request()).await.status(),
            StatusCode::OK
        );
    }
    let mut tampered = first.clone().into_bytes();
    tampered[50] = if tampered[50] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for bad in [tampered.as_str(), &first[..40], "not a token", "\u{e9}"] {
        let req =
            request(Method::POST, Some(&cookie)).insert_header(("X-CSRF-Token", bad.to_owned()));
        assert_eq!(
            test::call_service(&app, req.to_request()).await.status(),
            StatusCode::FORBIDDEN,
            "{bad:?}"
        );
    }
    // Another session's token is not this one's.
    let (_, foreign) = open(&app, None).await;
    let req = request(Method::POST, Some(&cookie)).insert_header(("X-CSRF-Token", foreign));
    assert_eq!(
        test::call_service(&app, req.to_request()).await.status(),
        StatusCode::FORBIDDEN
    );
}

#[actix_web::test]
async fn regenerating_the_id_rotates_the_token() {
    let app = app!(CsrfGuard::new());
    let (cookie, before) = open(&app, None).await;
    let req = request(Method::POST, Some(&cookie))
        .uri("/login")
        .insert_header(("X-CSRF-Token", before.clone()));
    let res = test::call_service(&app, req.to_request()).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let cookie = cookie_of(&res).expect("a new id");
    let req = request(Method::POST, Some(&cookie)).insert_header(("X-CSRF-Token", before));
    assert_eq!(
        test::call_service(&app, req.to_request()).await.status(),
        StatusCode::FORBIDDEN,
        "the token from before the login no longer works"
    );
    let (_, after) = open(&app, Some(&cookie)).await;
    let req = request(Method::POST, Some(&cookie)).insert_header(("X-CSRF-Token", after));
    assert_eq!(
        test::call_service(&app, req.to_request()).await.status(),
        StatusCode::OK
    );
}

#[actix_web::test]
async fn without_a_session_every_unsafe_request_is_refused() {
    let app = app!(CsrfGuard::new());
    let (_, token) = open(&app, None).await;
    // No cookie: a token from elsewhere cannot be valid.
    let req = request(Method::POST, None).insert_header(("X-CSRF-Token", token.clone()));
    assert_eq!(
        test::call_service(&app, req.to_request()).await.status(),
        StatusCode::FORBIDDEN
    );
    // An unknown session cookie: a fresh session, still refused.
    let req = request(Method::POST, Some(&"A".repeat(43))).insert_header(("X-CSRF-Token", token));
    assert_eq!(
        test::call_service(&app, req.to_request()).await.status(),
        StatusCode::FORBIDDEN
    );

    // Without the session middleware it is a configuration error: a 500.
    let bare = test::init_service(
        App::new()
            .wrap(CsrfGuard::new())
            .route("/submit", web::post().to(|| async { "x" })),
    )
    .await;
    let req = test::TestRequest::post()
        .uri("/submit")
        .insert_header(("X-CSRF-Token", "x"));
    let err = test::try_call_service(&bare, req.to_request())
        .await
        .expect_err("no session middleware");
    assert_eq!(
        err.as_response_error().status_code(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
}

#[actix_web::test]
async fn the_origin_check_refuses_other_sites() {
    let app = app!(CsrfGuard::new().allowed_origins(["https://shop.example/"]));
    let (cookie, token) = open(&app, None).await;
    let with = |origin: Option<&str>| {
        let mut req =
            request(Method::POST, Some(&cookie)).insert_header(("X-CSRF-Token", token.clone()));
        if let Some(o) = origin {
            req = req.insert_header((ORIGIN, o.to_owned()));
        }
        req.to_request()
    };
    assert_eq!(
        test::call_service(&app, with(Some("https://evil.example")))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        test::call_service(&app, with(Some("https://SHOP.example")))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        test::call_service(&app, with(None)).await.status(),
        StatusCode::OK,
        "no Origin: the token decides"
    );
}

/// The token is session data, so the cookie driver carries it sealed in the
/// cookie like the rest, and regenerate rotates it there too.
#[cfg(feature = "cookie")]
#[actix_web::test]
async fn the_cookie_driver_carries_the_token() {
    use session_actix::{CookieDriver, CookieKey};
    let app = app!(
        CsrfGuard::new(),
        CookieDriver::new("session", CookieKey::generate())
    );
    let (cookie, token) = open(&app, None).await;
    let sent = format!("_csrf={token}");
    let res = test::call_service(&app, form(request(Method::POST, Some(&cookie)), sent)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = cookie_of(&res).unwrap_or(cookie);

    let req = request(Method::POST, Some(&cookie))
        .uri("/login")
        .insert_header(("X-CSRF-Token", token.clone()));
    let res = test::call_service(&app, req.to_request()).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let rotated = cookie_of(&res).expect("a new sealed cookie");
    let req = request(Method::POST, Some(&rotated)).insert_header(("X-CSRF-Token", token));
    assert_eq!(
        test::call_service(&app, req.to_request()).await.status(),
        StatusCode::FORBIDDEN,
        "rotated with the id"
    );
}
