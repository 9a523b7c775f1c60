//! HTTP-level behaviour of the middleware, driven through actix-web's test
//! utilities.

use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::cookie::SameSite;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::{CACHE_CONTROL, COOKIE, SET_COOKIE};
use actix_web::http::StatusCode;
use actix_web::{test, web, App, HttpMessage, HttpRequest, HttpResponse};
use session_actix::driver::{ManualClock, Timestamp};
use session_actix::{
    ReadonlySession, Session, SessionExt, SessionMiddleware, SessionMiddlewareBuilder,
};
use session_test_support::driver::{Forward, Op};

use session_test_support::fixtures::T0;

fn builder(driver: &Forward) -> SessionMiddlewareBuilder {
    SessionMiddleware::builder(driver.clone())
}

async fn read(s: Session) -> actix_web::Result<String> {
    Ok(s.get_or::<i64>("n", 0)?.to_string())
}
async fn write(s: Session) -> actix_web::Result<String> {
    Ok(s.increment("n", 1)?.to_string())
}
async fn put(s: Session, path: web::Path<(String, String)>) -> actix_web::Result<HttpResponse> {
    let (k, v) = path.into_inner();
    s.put(k, v)?;
    Ok(HttpResponse::NoContent().finish())
}
async fn get(s: Session, k: web::Path<String>) -> HttpResponse {
    match s.get_value(&k) {
        Some(v) => HttpResponse::Ok().json(v),
        None => HttpResponse::NotFound().finish(),
    }
}
async fn regenerate(s: Session) -> actix_web::Result<HttpResponse> {
    s.regenerate()?;
    Ok(HttpResponse::NoContent().finish())
}
async fn destroy(s: Session) -> actix_web::Result<HttpResponse> {
    s.destroy()?;
    Ok(HttpResponse::NoContent().finish())
}
async fn fail(s: Session) -> actix_web::Result<HttpResponse> {
    s.put("failed", true)?;
    Ok(HttpResponse::InternalServerError().finish())
}
// `s.put(..)` does not compile: tests/ui/fail/readonly_session_writes.rs.
async fn readonly(s: ReadonlySession) -> String {
    format!("{} {}", s.get_or::<i64>("n", 0).unwrap(), s.is_stored())
}
async fn via_ext(req: HttpRequest) -> actix_web::Result<String> {
    let s = req.session().await?;
    Ok(s.increment("n", 1)?.to_string())
}
async fn inc(s: Session, k: web::Path<String>) -> actix_web::Result<String> {
    Ok(s.increment(&k, 1)?.to_string())
}
async fn untouched() -> &'static str {
    "ok"
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/read", web::get().to(read))
        .route("/write", web::post().to(write))
        .route("/put/{k}/{v}", web::post().to(put))
        .route("/get/{k}", web::get().to(get))
        .route("/regenerate", web::post().to(regenerate))
        .route("/destroy", web::post().to(destroy))
        .route("/fail", web::get().to(fail))
        .route("/readonly", web::get().to(readonly))
        .route("/ext", web::post().to(via_ext))
        .route("/inc/{k}", web::post().to(inc))
        .route("/untouched", web::get().to(untouched));
}

macro_rules! app {
    ($mw:expr) => {
        test::init_service(App::new().wrap($mw).configure(routes)).await
    };
}

/// The `Set-Cookie` headers of a response.
fn set_cookies<B>(res: &ServiceResponse<B>) -> Vec<String> {
    res.headers()
        .get_all(SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The session cookie's value from a response, if it set one.
fn cookie_value<B>(res: &ServiceResponse<B>) -> Option<String> {
    set_cookies(res).iter().find_map(|c| {
        let (pair, _) = c.split_once(';').unwrap_or((c, ""));
        pair.strip_prefix("session=").map(str::to_owned)
    })
}

async fn body<B: MessageBody>(res: ServiceResponse<B>) -> String {
    String::from_utf8(test::read_body(res).await.to_vec()).unwrap()
}

fn req(method: &str, path: &str, cookie: Option<&str>) -> test::TestRequest {
    let r = match method {
        "POST" => test::TestRequest::post(),
        _ => test::TestRequest::get(),
    }
    .uri(path);
    match cookie {
        Some(c) => r.insert_header((COOKIE, format!("session={c}"))),
        None => r,
    }
}

#[actix_web::test]
async fn counter_round_trip_sets_secure_defaults() {
    let d = Forward::memory();
    let app = app!(builder(&d).build().unwrap());
    let res = test::call_service(&app, req("POST", "/write", None).to_request()).await;
    let header = set_cookies(&res).pop().expect("a cookie on first write");
    for attr in [
        "HttpOnly",
        "SameSite=Lax",
        "Secure",
        "Path=/",
        "Max-Age=7200",
    ] {
        assert!(header.contains(attr), "{attr} missing from {header}");
    }
    assert!(!header.contains("Domain"));
    let id = cookie_value(&res).unwrap();
    assert_eq!(id.len(), 43);
    let res = test::call_service(&app, req("POST", "/write", Some(&id)).to_request()).await;
    assert_eq!(body(res).await, "2");
    let res = test::call_service(&app, req("GET", "/read", Some(&id)).to_request()).await;
    assert!(set_cookies(&res).is_empty(), "a read sends no cookie");
    assert_eq!(body(res).await, "2");
}

#[actix_web::test]
async fn configured_cookie_attributes_and_hook_are_sent() {
    let d = Forward::memory();
    let mw = builder(&d)
        .cookie_name("app")
        .domain("example.test")
        .path("/")
        .same_site(SameSite::Strict)
        .http_only(false)
        .browser_session(true)
        .cookie_hook(|c| c.set_path("/app"))
        .build()
        .unwrap();
    let app = app!(mw);
    let res = test::call_service(&app, test::TestRequest::post().uri("/write").to_request()).await;
    let header = set_cookies(&res).pop().unwrap();
    assert!(header.starts_with("app="), "{header}");
    assert!(header.contains("Domain=example.test"));
    assert!(header.contains("SameSite=Strict"));
    assert!(header.contains("Path=/app"), "the hook ran: {header}");
    assert!(!header.contains("HttpOnly"));
    assert!(
        !header.contains("Max-Age"),
        "browser session cookie has no Max-Age: {header}"
    );
}

async fn write_cached(s: Session) -> actix_web::Result<HttpResponse> {
    s.increment("n", 1)?;
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "private, max-age=60"))
        .finish())
}

/// The `Cache-Control` header of a response, if any.
fn cache_control<B>(res: &ServiceResponse<B>) -> Option<String> {
    res.headers()
        .get(CACHE_CONTROL)
        .map(|v| v.to_str().unwrap().to_owned())
}

#[actix_web::test]
async fn responses_that_carry_the_cookie_are_not_for_shared_caches() {
    let d = Forward::memory();
    let app = test::init_service(
        App::new()
            .wrap(builder(&d).build().unwrap())
            .configure(routes)
            .route("/write-cached", web::post().to(write_cached)),
    )
    .await;
    // Setting the cookie (a new session, a write), and removing it.
    let res = test::call_service(&app, req("POST", "/write", None).to_request()).await;
    let id = cookie_value(&res).unwrap();
    assert_eq!(cache_control(&res).as_deref(), Some("no-store"));
    let res = test::call_service(&app, req("POST", "/write", Some(&id)).to_request()).await;
    assert_eq!(cache_control(&res).as_deref(), Some("no-store"));
    // No cookie on the response: the header is the app's business.
    for (m, p) in [("GET", "/read"), ("GET", "/untouched")] {
        let res = test::call_service(&app, req(m, p, Some(&id)).to_request()).await;
        assert!(set_cookies(&res).is_empty());
        assert_eq!(cache_control(&res), None, "{p}");
    }
    // A handler's own choice stands.
    let res = test::call_service(&app, req("POST", "/write-cached", Some(&id)).to_request()).await;
    assert!(!set_cookies(&res).is_empty());
    assert_eq!(cache_control(&res).as_deref(), Some("private, max-age=60"));
    let res = test::call_service(&app, req("POST", "/destroy", Some(&id)).to_request()).await;
    assert!(set_cookies(&res)[0].contains("Max-Age=0"));
    assert_eq!(cache_control(&res).as_deref(), Some("no-store"));

    // Configurable, or off.
    let app = app!(builder(&d).cache_control(Some("private")).build().unwrap());
    let res = test::call_service(&app, req("POST", "/write", None).to_request()).await;
    assert_eq!(cache_control(&res).as_deref(), Some("private"));
    let app = app!(builder(&d).cache_control(None).build().unwrap());
    let res = test::call_service(&app, req("POST", "/write", None).to_request()).await;
    assert!(!set_cookies(&res).is_empty());
    assert_eq!(cache_control(&res), None);
    for bad in ["", "no-store\r\nx: y"] {
        assert!(matches!(
            builder(&d).cache_control(Some(bad)).build(),
            Err(session_actix::ConfigError::CacheControl(_))
        ));
    }
}

#[actix_web::test]
async fn untouched_request_costs_no_store_call_and_no_cookie() {
    let d = Forward::memory();
    let app = app!(builder(&d).build().unwrap());
    let res = test::call_service(&app, req("POST", "/write", None).to_request()).await;
    let id = cookie_value(&res).unwrap();
    let before = d.total_calls();
    let res = test::call_service(&app, req("GET", "/untouched", Some(&id)).to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(set_cookies(&res).is_empty());
    assert_eq!(
        d.total_calls(),
        before,
        "no store call for an untouched request"
    );
}

#[actix_web::test]
async fn reads_cost_one_load_and_write_nothing() {
    let d = Forward::memory();
    let app = app!(builder(&d).build().unwrap());
    // A new client that only reads gets no cookie and nothing is stored.
    let res = test::call_service(&app, req("GET", "/read", None).to_request()).await;
    assert!(set_cookies(&res).is_empty());
    assert_eq!(d.total_calls(), 0, "no cookie: nothing to load");
    assert!(d.inner().is_empty());

    let res = test::call_service(&app, req("POST", "/write", None).to_request()).await;
    let id = cookie_value(&res).unwrap();
    let before = d.total_calls();
    let res = test::call_service(&app, req("GET", "/read", Some(&id)).to_request()).await;
    assert_eq!(body(res).await, "1");
    assert_eq!(d.calls(Op::Load), 1);
    assert_eq!(
        d.total_calls(),
        before + 1,
        "exactly one store call: the load"
    );
}

async fn three_handles(
    a: Session,
    b: ReadonlySession,
    req: HttpRequest,
) -> actix_web::Result<String> {
    let c = req.session().await?;
    let n = a.increment("n", 1)?;
    Ok(format!(
        "{n} {} {}",
        b.get_or::<i64>("n", 0)?,
        c.get_or::<i64>("n", 0)?
    ))
}

/// Asks for the session while holding a borrow of the request's
/// extensions, as code that reads another middleware's data might.
#[allow(clippy::await_holding_refcell_ref)] // the case under test
async fn session_while_extensions_are_borrowed(req: HttpRequest) -> actix_web::Result<String> {
    let extensions = req.extensions();
    let s = req.session().await?;
    let n = s.increment("n", 1)?;
    drop(extensions);
    Ok(n.to_string())
}

#[actix_web::test]
async fn the_session_loads_while_the_handler_borrows_the_extensions() {
    let d = Forward::memory();
    let app = test::init_service(App::new().wrap(builder(&d).build().unwrap()).route(
        "/borrowed",
        web::post().to(session_while_extensions_are_borrowed),
    ))
    .await;
    let res = test::call_service(&app, req("POST", "/borrowed", None).to_request()).await;
    let id = cookie_value(&res).unwrap();
    assert_eq!(body(res).await, "1");
    // With a stored session too (a store read while the borrow is held).
    let res = test::call_service(&app, req("POST", "/borrowed", Some(&id)).to_request()).await;
    assert_eq!(body(res).await, "2");
}

#[actix_web::test]
async fn extractors_that_ask_during_a_slow_load_share_it() {
    let d = Forward::memory();
    let app = test::init_service(
        App::new()
            .wrap(builder(&d).build().unwrap())
            .route("/write", web::post().to(write))
            .route("/three", web::post().to(three_handles)),
    )
    .await;
    let res = test::call_service(&app, req("POST", "/write", None).to_request()).await;
    let id = cookie_value(&res).unwrap();
    // The first extractor's read is still in flight when the second asks.
    d.delay(&[Op::Load], Duration::from_millis(50));
    let loads = d.calls(Op::Load);
    let res = test::call_service(&app, req("POST", "/three", Some(&id)).to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        body(res).await,
        "2 2 2",
        "the three handles are one session"
    );
    assert_eq!(d.calls(Op::Load), loads + 1, "one store read for all three");
}

#[actix_web::test]
async fn unknown_ids_are_never_adopted() {
    let d = Forward::memory();
    let app = app!(builder(&d).build().unwrap());
    let planted = session_actix::driver::SessionId::generate().to_string();
    let res = test::call_service(&app, req("POST", "/write", Some(&planted)).to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let issued = cookie_value(&res).unwrap();
    assert_ne!(
        issued, planted,
        "a new id is issued instead of the planted one"
    );
    assert_eq!(body(res).await, "1");
}

#[actix_web::test]
async fn bad_cookies_give_a_fresh_session_never_an_error() {
    let d = Forward::memory();
    let app = app!(builder(&d).build().unwrap());
    let res = test::call_service(&app, req("POST", "/write", None).to_request()).await;
    let good = cookie_value(&res).unwrap();
    let mut flipped = good.clone().into_bytes();
    flipped[5] = if flipped[5] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let long = "A".repeat(5000);
    let bad = [
        "",
        "\"\"",
        &good[..20],
        &flipped,
        "../../../../etc/passwd",
        "'; DROP TABLE sessions; --",
        "%00%2F%2e%2e",
        "=====",
        &long,
        "ü",
    ];
    for value in bad {
        let loads = d.calls(Op::Load);
        let res = test::call_service(&app, req("GET", "/read", Some(value)).to_request()).await;
        assert_eq!(res.status(), StatusCode::OK, "cookie {value:?}");
        assert_eq!(
            body(res).await,
            "0",
            "cookie {value:?} gives a fresh session"
        );
        if value != flipped {
            assert_eq!(
                d.calls(Op::Load),
                loads,
                "malformed {value:?} reached the store"
            );
        }
    }
}

#[actix_web::test]
async fn malformed_neighbours_and_duplicates_do_not_hide_our_cookie() {
    let d = Forward::memory();
    let app = app!(builder(&d).build().unwrap());
    let res = test::call_service(&app, req("POST", "/write", None).to_request()).await;
    let id = cookie_value(&res).unwrap();
    let header = format!("broken; =; x=\"unterminated; %%%=%; session={id}; session=junk");
    let r = test::TestRequest::get()
        .uri("/read")
        .insert_header((COOKIE, header))
        .to_request();
    assert_eq!(body(test::call_service(&app, r).await).await, "1");
    // Two Cookie headers, ours in the second.
    let r = test::TestRequest::get()
        .uri("/read")
        .append_header((COOKIE, "a=b; c"))
        .append_header((COOKIE, format!("session={id}")))
        .to_request();
    assert_eq!(body(test::call_service(&app, r).await).await, "1");
}

#[actix_web::test]
async fn regenerate_moves_data_to_a_new_id_and_kills_the_old() {
    let d = Forward::memory();
    let app = app!(builder(&d).build().unwrap());
    let res = test::call_service(&app, req("POST", "/write", None).to_request()).await;
    let old = cookie_value(&res).unwrap();
    let res = test::call_service(&app, req("POST", "/regenerate", Some(&old)).to_request()).await;
    let new = cookie_value(&res).expect("a new cookie");
    assert_ne!(new, old);
    let res = test::call_service(&app, req("GET", "/read", Some(&new)).to_request()).await;
    assert_eq!(body(res).await, "1", "data kept");
    let res = test::call_service(&app, req("GET", "/read", Some(&old)).to_request()).await;
    assert_eq!(body(res).await, "0", "old id is dead");
}

#[actix_web::test]
async fn destroy_deletes_the_record_and_sends_a_matching_removal_cookie() {
    let d = Forward::memory();
    let app = app!(builder(&d).domain("example.test").build().unwrap());
    let res = test::call_service(&app, req("POST", "/write", None).to_request()).await;
    let id = cookie_value(&res).unwrap();
    let res = test::call_service(&app, req("POST", "/destroy", Some(&id)).to_request()).await;
    let removal = set_cookies(&res).pop().expect("a removal cookie");
    assert!(removal.starts_with("session=;"), "{removal}");
    assert!(removal.contains("Max-Age=0"), "{removal}");
    assert!(
        removal.contains("Path=/") && removal.contains("Domain=example.test"),
        "{removal}"
    );
    assert!(d.inner().is_empty());
    let res = test::call_service(&app, req("GET", "/read", Some(&id)).to_request()).await;
    assert_eq!(body(res).await, "0");
}

#[actix_web::test]
async fn a_5xx_answer_commits_nothing() {
    let d = Forward::memory();
    let app = app!(builder(&d).build().unwrap());
    let res = test::call_service(&app, req("GET", "/fail", None).to_request()).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(set_cookies(&res).is_empty());
    assert!(d.inner().is_empty());
    let res = test::call_service(&app, req("POST", "/write", None).to_request()).await;
    let id = cookie_value(&res).unwrap();
    let updates = d.calls(Op::Update);
    let res = test::call_service(&app, req("GET", "/fail", Some(&id)).to_request()).await;
    assert!(set_cookies(&res).is_empty());
    assert_eq!(d.calls(Op::Update), updates);
    let res = test::call_service(&app, req("GET", "/get/failed", Some(&id)).to_request()).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn store_failures_answer_an_opaque_500_and_keep_the_clients_cookie() {
    let d = Forward::memory();
    let app = app!(builder(&d).build().unwrap());
    let res = test::call_service(&app, req("POST", "/write", None).to_request()).await;
    let id = cookie_value(&res).unwrap();
    d.fail(true);
    for (m, p) in [("GET", "/read"), ("POST", "/write")] {
        let res = test::call_service(&app, req(m, p, Some(&id)).to_request()).await;
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            set_cookies(&res).is_empty(),
            "the client's cookie is not replaced"
        );
        let text = body(res).await;
        assert!(
            !text.contains("down"),
            "the cause is not shown to the client: {text}"
        );
    }
    // A new client's first write also fails cleanly at commit time.
    let res = test::call_service(&app, req("POST", "/write", None).to_request()).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(set_cookies(&res).is_empty());
    d.fail(false);
    let res = test::call_service(&app, req("GET", "/read", Some(&id)).to_request()).await;
    assert_eq!(
        body(res).await,
        "1",
        "data committed before the outage is intact"
    );
}

#[actix_web::test]
async fn readonly_session_reads_and_never_commits() {
    let d = Forward::memory();
    let clock = ManualClock::new(Timestamp::from_secs(T0));
    let app = app!(builder(&d).clock(clock.clone()).build().unwrap());
    let res = test::call_service(&app, req("POST", "/write", None).to_request()).await;
    let id = cookie_value(&res).unwrap();
    clock.advance(Duration::from_secs(3600)); // a touch would be due
    let before = d.total_calls();
    let res = test::call_service(&app, req("GET", "/readonly", Some(&id)).to_request()).await;
    assert!(set_cookies(&res).is_empty());
    assert_eq!(body(res).await, "1 true");
    assert_eq!(d.total_calls(), before + 1, "only the load");
}

#[actix_web::test]
async fn session_ext_reaches_the_session_from_http_request() {
    let d = Forward::memory();
    let app = app!(builder(&d).build().unwrap());
    let res = test::call_service(&app, req("POST", "/ext", None).to_request()).await;
    let id = cookie_value(&res).unwrap();
    let res = test::call_service(&app, req("GET", "/read", Some(&id)).to_request()).await;
    assert_eq!(body(res).await, "1");
}

#[actix_web::test]
async fn missing_middleware_is_a_500_not_a_silent_session() {
    let app = test::init_service(
        App::new()
            .service(
                web::scope("/with")
                    .wrap(
                        SessionMiddleware::builder(Forward::memory())
                            .build()
                            .unwrap(),
                    )
                    .route("/write", web::post().to(write)),
            )
            .route("/without", web::post().to(write)),
    )
    .await;
    let res = test::call_service(
        &app,
        test::TestRequest::post().uri("/with/write").to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(cookie_value(&res).is_some());
    let res = app
        .call(test::TestRequest::post().uri("/without").to_request())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(set_cookies(&res).is_empty());
}

#[actix_web::test]
async fn middleware_on_a_single_resource() {
    let d = Forward::memory();
    let app = test::init_service(
        App::new().service(
            web::resource("/write")
                .wrap(builder(&d).build().unwrap())
                .route(web::post().to(write)),
        ),
    )
    .await;
    let res = test::call_service(&app, test::TestRequest::post().uri("/write").to_request()).await;
    assert!(cookie_value(&res).is_some());
}

#[actix_web::test]
async fn idle_expiry_is_enforced_on_the_server_and_refresh_is_throttled() {
    let d = Forward::memory();
    let clock = ManualClock::new(Timestamp::from_secs(T0));
    let mw = builder(&d)
        .clock(clock.clone())
        .idle_timeout(Duration::from_secs(600))
        .refresh_after(Duration::from_secs(60))
        .build()
        .unwrap();
    let app = app!(mw);
    let res = test::call_service(&app, req("POST", "/write", None).to_request()).await;
    let id = cookie_value(&res).unwrap();
    clock.advance(Duration::from_secs(30));
    let res = test::call_service(&app, req("GET", "/read", Some(&id)).to_request()).await;
    assert!(set_cookies(&res).is_empty(), "refresh not due yet");
    assert_eq!(d.calls(Op::Touch), 0);
    clock.advance(Duration::from_secs(40));
    let res = test::call_service(&app, req("GET", "/read", Some(&id)).to_request()).await;
    let header = set_cookies(&res).pop().expect("refreshed cookie");
    assert!(header.contains("Max-Age=600"), "{header}");
    assert_eq!(d.calls(Op::Touch), 1);
    // Touched at T0+70: alive until T0+670.
    clock.set(Timestamp::from_secs(T0 + 669));
    let res = test::call_service(&app, req("GET", "/read", Some(&id)).to_request()).await;
    assert_eq!(body(res).await, "1");
    // That read was a touch at T0+669; idle for the full 600 s after it.
    clock.set(Timestamp::from_secs(T0 + 669 + 600));
    let res = test::call_service(&app, req("GET", "/read", Some(&id)).to_request()).await;
    assert_eq!(
        body(res).await,
        "0",
        "expired on the server whatever the browser keeps"
    );
}

#[actix_web::test]
async fn absolute_timeout_ends_even_an_active_session() {
    let d = Forward::memory();
    let clock = ManualClock::new(Timestamp::from_secs(T0));
    let mw = builder(&d)
        .clock(clock.clone())
        .idle_timeout(Duration::from_secs(600))
        .absolute_timeout(Duration::from_secs(1000))
        .build()
        .unwrap();
    let app = app!(mw);
    let res = test::call_service(&app, req("POST", "/write", None).to_request()).await;
    let id = cookie_value(&res).unwrap();
    for _ in 0..3 {
        clock.advance(Duration::from_secs(300));
        let res = test::call_service(&app, req("POST", "/write", Some(&id)).to_request()).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    clock.set(Timestamp::from_secs(T0 + 999));
    let res = test::call_service(&app, req("GET", "/read", Some(&id)).to_request()).await;
    assert_eq!(body(res).await, "4");
    clock.set(Timestamp::from_secs(T0 + 1000));
    let res = test::call_service(&app, req("GET", "/read", Some(&id)).to_request()).await;
    assert_eq!(body(res).await, "0");
}

#[actix_web::test]
async fn parallel_increments_of_two_keys_all_land() {
    let d = Forward::memory().with_latency(Duration::from_millis(2));
    let app = app!(builder(&d).build().unwrap());
    let res = test::call_service(&app, req("POST", "/put/seed/1", None).to_request()).await;
    let id = cookie_value(&res).unwrap();
    let mut calls = Vec::new();
    for i in 0..80 {
        let key = if i % 2 == 0 { "a" } else { "b" };
        let r = test::TestRequest::post()
            .uri(&format!("/inc/{key}"))
            .insert_header((COOKIE, format!("session={id}")))
            .to_request();
        calls.push(app.call(r));
    }
    let results = futures_util::future::join_all(calls).await;
    let statuses: Vec<_> = results
        .iter()
        .map(|r| r.as_ref().unwrap().status())
        .collect();
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert!(
        d.calls(Op::Update) > 80,
        "the test must actually create conflicts"
    );
    for key in ["a", "b"] {
        let r = req("GET", &format!("/get/{key}"), Some(&id)).to_request();
        assert_eq!(body(test::call_service(&app, r).await).await, "40");
    }
}

// Several sessions on one route.

struct Prefs;
impl session_actix::SessionName for Prefs {
    const NAME: &'static str = "prefs";
}
struct Nowhere;
impl session_actix::SessionName for Nowhere {
    const NAME: &'static str = "nowhere";
}

async fn both(s: Session, prefs: session_actix::Named<Prefs>) -> actix_web::Result<String> {
    let visits = s.increment("n", 1)?;
    let theme: String = prefs.get_or("theme", "light".to_owned())?;
    prefs.put("theme", "dark")?;
    Ok(format!("{visits} {theme}"))
}
async fn prefs_only(
    prefs: session_actix::Named<Prefs, ReadonlySession>,
) -> actix_web::Result<String> {
    Ok(prefs.get_or("theme", String::new())?)
}
async fn prefs_via_ext(req: HttpRequest) -> actix_web::Result<String> {
    let prefs = req.named_session(Prefs::NAME).await?;
    Ok(prefs.get_or("theme", String::new())?)
}
async fn missing(s: session_actix::Named<Nowhere>) -> actix_web::Result<String> {
    Ok(s.get_or("theme", String::new())?)
}

/// The value of the cookie called `name` among a response's `Set-Cookie`s.
fn named_cookie<B>(res: &ServiceResponse<B>, name: &str) -> Option<String> {
    set_cookies(res).iter().find_map(|c| {
        let (pair, _) = c.split_once(';').unwrap_or((c, ""));
        pair.strip_prefix(&format!("{name}=")).map(str::to_owned)
    })
}

use session_actix::SessionName as _;

#[actix_web::test]
async fn two_middlewares_on_one_route_keep_two_sessions() {
    let main = Forward::memory();
    let prefs = Forward::memory();
    let app = test::init_service(
        App::new()
            .wrap(builder(&main).build().unwrap())
            .wrap(
                builder(&prefs)
                    .name(Prefs::NAME)
                    .cookie_name("prefs")
                    .build()
                    .unwrap(),
            )
            .route("/both", web::post().to(both))
            .route("/prefs", web::get().to(prefs_only))
            .route("/prefs-ext", web::get().to(prefs_via_ext))
            .route("/read", web::get().to(read))
            .route("/missing", web::get().to(missing)),
    )
    .await;

    let res = test::call_service(&app, req("POST", "/both", None).to_request()).await;
    let session = named_cookie(&res, "session").expect("the default session's cookie");
    let theme = named_cookie(&res, "prefs").expect("the named session's cookie");
    assert_ne!(session, theme, "two sessions, two ids");
    assert_eq!(body(res).await, "1 light");
    assert_eq!(main.calls(Op::Create), 1);
    assert_eq!(prefs.calls(Op::Create), 1);

    let cookies = format!("session={session}; prefs={theme}");
    let both_again = test::TestRequest::post()
        .uri("/both")
        .insert_header((COOKIE, cookies.clone()))
        .to_request();
    assert_eq!(
        body(test::call_service(&app, both_again).await).await,
        "2 dark"
    );

    // A handler that takes one session loads only that one.
    let (main_loads, prefs_loads) = (main.calls(Op::Load), prefs.calls(Op::Load));
    let read_prefs = test::TestRequest::get()
        .uri("/prefs")
        .insert_header((COOKIE, cookies.clone()))
        .to_request();
    let res = test::call_service(&app, read_prefs).await;
    assert!(
        set_cookies(&res).is_empty(),
        "a read-only named session never commits"
    );
    assert_eq!(body(res).await, "dark");
    assert_eq!(main.calls(Op::Load), main_loads);
    assert_eq!(prefs.calls(Op::Load), prefs_loads + 1);
    let via_ext = test::TestRequest::get()
        .uri("/prefs-ext")
        .insert_header((COOKIE, cookies.clone()))
        .to_request();
    assert_eq!(body(test::call_service(&app, via_ext).await).await, "dark");
    let read_main = test::TestRequest::get()
        .uri("/read")
        .insert_header((COOKIE, cookies.clone()))
        .to_request();
    assert_eq!(body(test::call_service(&app, read_main).await).await, "2");
    assert_eq!(prefs.calls(Op::Load), prefs_loads + 2);

    // A name no middleware on the route has: the loud missing-middleware 500.
    let res = test::call_service(&app, req("GET", "/missing", None).to_request()).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body(res).await.is_empty(), "the 500 is opaque");
}

#[actix_web::test]
async fn the_inner_of_two_same_name_middlewares_serves_the_route() {
    let outer = Forward::memory();
    let inner = Forward::memory();
    let app = test::init_service(
        App::new().wrap(builder(&outer).build().unwrap()).service(
            web::scope("/inner")
                .wrap(builder(&inner).build().unwrap())
                .route("/write", web::post().to(write)),
        ),
    )
    .await;
    let res = test::call_service(&app, req("POST", "/inner/write", None).to_request()).await;
    assert_eq!(
        set_cookies(&res).len(),
        1,
        "one cookie: the inner session's"
    );
    assert_eq!(inner.calls(Op::Create), 1);
    assert_eq!(
        outer.total_calls(),
        0,
        "the outer middleware was never used"
    );
}

#[actix_web::test]
async fn a_plain_session_needs_the_unnamed_middleware() {
    let d = Forward::memory();
    let app = test::init_service(
        App::new()
            .wrap(builder(&d).name("prefs").build().unwrap())
            .route("/write", web::post().to(write)),
    )
    .await;
    let res = test::call_service(&app, req("POST", "/write", None).to_request()).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(set_cookies(&res).is_empty());
    assert_eq!(d.total_calls(), 0);
}
