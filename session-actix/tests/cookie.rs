//! The cookie driver at the HTTP level: the whole session sealed in the
//! cookie, every bad value a fresh session, rotation, size and expiry.
#![cfg(feature = "cookie")]

use std::time::Duration;

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::{COOKIE, SET_COOKIE};
use actix_web::http::StatusCode;
use actix_web::{test, web, App, HttpResponse};
use session_actix::driver::{ManualClock, SessionDriver, Timestamp};
use session_actix::{ConfigError, CookieDriver, CookieKey, Session, SessionMiddleware};

use session_test_support::driver::{Forward, Op};
use session_test_support::fixtures::T0;

async fn read(s: Session) -> actix_web::Result<String> {
    Ok(s.get_or::<i64>("n", 0)?.to_string())
}
async fn write(s: Session) -> actix_web::Result<String> {
    Ok(s.increment("n", 1)?.to_string())
}
async fn big(s: Session, len: web::Path<usize>) -> actix_web::Result<HttpResponse> {
    s.put("big", "x".repeat(*len))?;
    Ok(HttpResponse::NoContent().finish())
}
async fn logout(s: Session) -> actix_web::Result<HttpResponse> {
    s.destroy()?;
    Ok(HttpResponse::NoContent().finish())
}

fn key(byte: u8) -> CookieKey {
    CookieKey::from_secret(&[byte; 32]).unwrap()
}

async fn app(
    driver: impl SessionDriver,
    clock: &ManualClock,
) -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<impl actix_web::body::MessageBody>,
    Error = actix_web::Error,
> {
    let mw = SessionMiddleware::builder(driver)
        .clock(clock.clone())
        .idle_timeout(Duration::from_secs(600))
        .build()
        .unwrap();
    test::init_service(
        App::new()
            .wrap(mw)
            .route("/read", web::get().to(read))
            .route("/write", web::post().to(write))
            .route("/big/{len}", web::post().to(big))
            .route("/logout", web::post().to(logout)),
    )
    .await
}

fn req(method: &str, path: &str, cookie: Option<&str>) -> actix_http::Request {
    let r = if method == "POST" {
        test::TestRequest::post()
    } else {
        test::TestRequest::get()
    }
    .uri(path);
    match cookie {
        Some(c) => r
            .insert_header((COOKIE, format!("session={c}")))
            .to_request(),
        None => r.to_request(),
    }
}

fn set_cookie<B>(res: &ServiceResponse<B>) -> Option<String> {
    res.headers()
        .get(SET_COOKIE)
        .map(|h| h.to_str().unwrap().to_owned())
}

fn value<B>(res: &ServiceResponse<B>) -> Option<String> {
    let header = set_cookie(res)?;
    let pair = header.split(';').next().unwrap();
    pair.strip_prefix("session=").map(str::to_owned)
}

async fn text<B: actix_web::body::MessageBody>(res: ServiceResponse<B>) -> String {
    String::from_utf8(test::read_body(res).await.to_vec()).unwrap()
}

/// A clock for the middleware, at `T0`.
fn clock() -> ManualClock {
    ManualClock::new(Timestamp::from_secs(T0))
}

/// The app on the cookie driver with key 1, and the clock it runs on.
async fn standard_app() -> (
    ManualClock,
    impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
    >,
) {
    let clock = clock();
    let app = app(CookieDriver::new("session", key(1)), &clock).await;
    (clock, app)
}

/// Starts a session (its counter at 1) and gives its cookie.
async fn written<S, B>(app: &S) -> String
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    value(&test::call_service(app, req("POST", "/write", None)).await).unwrap()
}

/// The counter `/read` shows for the session in `cookie`.
async fn count<S, B>(app: &S, cookie: &str) -> String
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    text(test::call_service(app, req("GET", "/read", Some(cookie))).await).await
}

#[actix_web::test]
async fn the_session_travels_sealed_in_the_cookie() {
    let (clock, app) = standard_app().await;
    let c1 = written(&app).await;
    assert!(
        c1.len() > 43,
        "the cookie carries the sealed record, not an id"
    );
    let res = test::call_service(&app, req("POST", "/write", Some(&c1))).await;
    let c2 = value(&res).unwrap();
    assert_ne!(c1, c2, "a fresh nonce on every seal");
    assert_eq!(count(&app, &c2).await, "2");
    // A server with the same key reads it: no server-side state.
    let other = app_same_key(&clock).await;
    assert_eq!(count(&other, &c2).await, "2");
}

async fn app_same_key(
    clock: &ManualClock,
) -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<impl actix_web::body::MessageBody>,
    Error = actix_web::Error,
> {
    app(CookieDriver::new("session", key(1)), clock).await
}

#[actix_web::test]
async fn every_bad_value_gives_a_fresh_session_and_a_200() {
    let (_clock, app) = standard_app().await;
    let good = written(&app).await;

    let mut bad: Vec<String> = vec![
        String::new(),
        good[..good.len() / 2].to_owned(),
        good[..good.len() - 1].to_owned(),
        format!("{good}=="),
        good.replace('-', "+").replace('_', "/") + "+/",
        "../../etc/passwd".into(),
        "'; DROP TABLE sessions; --".into(),
        "A".repeat(6000),
    ];
    // One character changed at a spread of positions.
    for i in (0..good.len()).step_by(7) {
        let mut b = good.clone().into_bytes();
        b[i] = if b[i] == b'A' { b'B' } else { b'A' };
        bad.push(String::from_utf8(b).unwrap());
    }
    for v in &bad {
        let res = test::call_service(&app, req("GET", "/read", Some(v))).await;
        assert_eq!(res.status(), StatusCode::OK, "value {v:?}");
        assert_eq!(text(res).await, "0", "value {v:?} gives a fresh session");
    }
}

#[actix_web::test]
async fn a_value_sealed_for_another_cookie_name_is_refused() {
    let clock = clock();
    let mw = SessionMiddleware::builder(CookieDriver::new("other", key(1)))
        .cookie_name("other")
        .clock(clock.clone())
        .build()
        .unwrap();
    let other =
        test::init_service(App::new().wrap(mw).route("/write", web::post().to(write))).await;
    let res =
        test::call_service(&other, test::TestRequest::post().uri("/write").to_request()).await;
    let header = set_cookie(&res).unwrap();
    let sealed = header
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("other=")
        .unwrap()
        .to_owned();
    let ours = app(CookieDriver::new("session", key(1)), &clock).await;
    assert_eq!(count(&ours, &sealed).await, "0");
}

#[actix_web::test]
async fn rotation_reseals_with_the_current_key_and_retired_keys_are_refused() {
    let clock = clock();
    let old_app = app(CookieDriver::new("session", key(1)), &clock).await;
    let sealed_old = written(&old_app).await;

    let rotated = app(
        CookieDriver::new("session", key(2)).with_old_key(key(1)),
        &clock,
    )
    .await;
    let res = test::call_service(&rotated, req("GET", "/read", Some(&sealed_old))).await;
    let resealed = value(&res).expect("a cookie under an old key is sent back re-sealed");
    assert_eq!(text(res).await, "1");

    let new_only = app(CookieDriver::new("session", key(2)), &clock).await;
    let res = test::call_service(&new_only, req("GET", "/read", Some(&resealed))).await;
    assert_eq!(
        text(res).await,
        "1",
        "the re-sealed cookie opens with the current key alone"
    );
    let res = test::call_service(&new_only, req("GET", "/read", Some(&sealed_old))).await;
    assert_eq!(
        text(res).await,
        "0",
        "a retired key's cookie is a new session"
    );
}

#[actix_web::test]
async fn an_oversized_session_is_a_500_and_the_client_keeps_its_cookie() {
    let clock = clock();
    let driver = CookieDriver::new("session", key(1));
    let max = driver.max_record_len();
    let app = app(driver, &clock).await;
    let good = written(&app).await;
    let res = test::call_service(&app, req("POST", "/big/5000", Some(&good))).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        set_cookie(&res).is_none(),
        "nothing is sent; the browser keeps the previous cookie"
    );
    assert_eq!(count(&app, &good).await, "1");
    // A session just under the limit is fine.
    let res =
        test::call_service(&app, req("POST", &format!("/big/{}", max / 2), Some(&good))).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let header = set_cookie(&res).unwrap();
    assert!(header.split(';').next().unwrap().len() <= 4096);
}

#[actix_web::test]
async fn expiry_inside_the_payload_is_enforced_whatever_the_browser_keeps() {
    let (clock, app) = standard_app().await;
    let c = written(&app).await;
    clock.advance(Duration::from_secs(599));
    assert_eq!(count(&app, &c).await, "1");
    clock.set(Timestamp::from_secs(T0 + 600));
    assert_eq!(count(&app, &c).await, "0");
}

#[actix_web::test]
async fn destroy_sends_a_removal_cookie() {
    let (_clock, app) = standard_app().await;
    let c = written(&app).await;
    let res = test::call_service(&app, req("POST", "/logout", Some(&c))).await;
    let header = set_cookie(&res).unwrap();
    assert!(
        header.starts_with("session=;") && header.contains("Max-Age=0"),
        "{header}"
    );
}

#[::core::prelude::v1::test]
fn a_driver_bound_to_another_cookie_name_is_a_configuration_error() {
    let err = SessionMiddleware::builder(CookieDriver::new("session", key(1)))
        .cookie_name("sid")
        .build()
        .unwrap_err();
    assert!(matches!(err, ConfigError::DriverCookieName { .. }));
    assert!(err.to_string().contains("same name"), "{err}");
}

/// A cookie session is committed by sealing the cookie again: a write and an
/// expiry refresh make no `update` or `touch` call, there being nothing
/// stored to compare with or extend.
#[actix_web::test]
async fn saves_and_refreshes_make_no_store_call() {
    let clock = clock();
    let driver = Forward::new(CookieDriver::new("session", key(1)));
    let app = app(driver.clone(), &clock).await;
    let first = written(&app).await;
    let res = test::call_service(&app, req("POST", "/write", Some(&first))).await;
    let second = value(&res).expect("a write sends the cookie again");
    assert_eq!(count(&app, &second).await, "2");

    // Past the refresh interval, a read sends the cookie again with a later
    // expiry (a touch), holding the same data.
    clock.advance(Duration::from_secs(120));
    let res = test::call_service(&app, req("GET", "/read", Some(&second))).await;
    let refreshed = value(&res).expect("the refresh re-seals the cookie");
    assert_ne!(refreshed, second);
    clock.advance(Duration::from_secs(500));
    assert_eq!(
        count(&app, &refreshed).await,
        "2",
        "the refreshed cookie lives on"
    );
    assert_eq!(count(&app, &second).await, "0", "the old one has expired");

    assert_eq!(driver.calls(Op::Update), 0);
    assert_eq!(driver.calls(Op::Touch), 0);
    assert_eq!(driver.calls(Op::Load), 0);
}
