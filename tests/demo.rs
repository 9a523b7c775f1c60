//! The demo shop's journey over HTTP, on the memory driver and on Redis: a
//! failed login keeps the name, the welcome shows once, the cart survives
//! navigation, a form without the token or from another origin is refused,
//! parallel increments all count, the account page lists the devices signed
//! in and signs one or all others out, logout shows its message once and the
//! account page then redirects.
//!
//! `tests/browser.rs` walks the same journey in a headless Chromium.

use session_actix::{MemoryDriver, RedisDriver, SessionMiddleware};
use session_test_support::http::{Browser, Reply, Server};
use session_test_support::redis::RedisServer;

fn token_of(page: &str) -> String {
    let start = page
        .find(r#"name="_csrf" value=""#)
        .expect("a CSRF field on the page")
        + 20;
    page[start..start + 86].to_owned()
}

/// The flash messages shown on a page.
fn flashes(page: &str) -> Vec<String> {
    page.match_indices(r#"<p class="flash "#)
        .map(|(i, _)| {
            let rest = &page[i..];
            let text_start = rest.find('>').unwrap() + 1;
            let text_end = rest.find("</p>").unwrap();
            rest[text_start..text_end].to_owned()
        })
        .collect()
}

async fn get(browser: &mut Browser, server: &Server, path: &str) -> Reply {
    browser.send(server, "GET", path, None).await
}

/// Posts a form with the token of `from` and follows the redirect.
async fn submit(
    browser: &mut Browser,
    server: &Server,
    from: &str,
    to: &str,
    fields: &[(&str, &str)],
) -> Reply {
    let token = token_of(&get(browser, server, from).await.body);
    let mut all = fields.to_vec();
    all.push(("_csrf", &token));
    let reply = browser.post_form(server, to, &all, &[]).await;
    assert_eq!(reply.status, 303, "POST {to}: {}", reply.body);
    get(browser, server, reply.location.as_deref().unwrap()).await
}

/// A new browser that says it is `agent`, signed in as ann.
async fn signed_in(server: &Server, agent: &str) -> Browser {
    let mut browser = Browser::new();
    let token = token_of(&get(&mut browser, server, "/login").await.body);
    let fields = [("username", "ann"), ("password", "demo"), ("_csrf", &token)];
    let reply = browser
        .post_form(server, "/login", &fields, &[("user-agent", agent)])
        .await;
    assert_eq!(reply.location.as_deref(), Some("/account"));
    browser
}

/// The handle of the device listed with `agent` on an account page.
fn handle_of(page: &str, agent: &str) -> String {
    let at = page.find(agent).expect("the device is listed");
    let start = page[..at].rfind(r#"data-handle=""#).unwrap() + 13;
    let end = start + page[start..].find('"').unwrap();
    page[start..end].to_owned()
}

async fn journey(sessions: SessionMiddleware) {
    let server = Server::start(move |listener| session_examples::demo::serve(sessions, listener));
    let mut browser = Browser::new();

    // A failed login shows the error and keeps the name, never the password.
    let page = submit(
        &mut browser,
        &server,
        "/login",
        "/login",
        &[("username", "ann"), ("password", "nope")],
    )
    .await;
    assert_eq!(flashes(&page.body), ["Wrong name or password."]);
    assert!(page.body.contains(r#"name="username" value="ann""#));
    assert!(!page.body.contains("nope"));

    // Login: a new id, the welcome once, the name in the layout.
    let before = browser.cookie().map(str::to_owned);
    let page = submit(
        &mut browser,
        &server,
        "/login",
        "/login",
        &[("username", "ann"), ("password", "demo")],
    )
    .await;
    assert_ne!(
        browser.cookie().map(str::to_owned),
        before,
        "the id changed at login"
    );
    assert_eq!(flashes(&page.body), ["Welcome, ann"]);
    assert!(page.body.contains(r#"<span id="user">ann</span>"#));
    let again = get(&mut browser, &server, "/account").await;
    assert!(flashes(&again.body).is_empty(), "the welcome shows once");

    // The cart survives navigation.
    submit(
        &mut browser,
        &server,
        "/cart",
        "/cart/items",
        &[("item", "apple")],
    )
    .await;
    submit(
        &mut browser,
        &server,
        "/cart",
        "/cart/items",
        &[("item", "pear & plum")],
    )
    .await;
    get(&mut browser, &server, "/").await;
    let cart = get(&mut browser, &server, "/cart").await;
    assert!(
        cart.body.contains("<li>apple</li><li>pear &amp; plum</li>"),
        "{}",
        cart.body
    );

    // Without the token, or from another site, a post is refused.
    let refused = browser.post_form(&server, "/cart/clear", &[], &[]).await;
    assert_eq!(refused.status, 403);
    let token = token_of(&get(&mut browser, &server, "/cart").await.body);
    let forged = browser
        .post_form(
            &server,
            "/cart/clear",
            &[("_csrf", &token[..85])],
            &[("Origin", "https://evil.example")],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert!(
        get(&mut browser, &server, "/cart")
            .await
            .body
            .contains("apple"),
        "nothing lost"
    );

    // Twenty parallel increments from the page all count.
    let token = token_of(&get(&mut browser, &server, "/").await.body);
    let client = awc::Client::default();
    let cookie = browser.cookie_header();
    let posts = (0..20).map(|_| {
        client
            .post(format!("{}/count", server.base))
            .insert_header(("cookie", cookie.clone()))
            .insert_header(("x-csrf-token", token.clone()))
            .send()
    });
    for res in futures_util::future::join_all(posts).await {
        assert_eq!(res.unwrap().status(), 200);
    }
    assert!(get(&mut browser, &server, "/")
        .await
        .body
        .contains(r#"<span id="count">20</span>"#));

    // Two more browsers sign in as ann; the account page lists all three,
    // this one marked. Signing one out from here ends its session; then
    // "all other devices" ends the last.
    let mut phone = signed_in(&server, "Phone browser").await;
    let mut tablet = signed_in(&server, "Tablet browser").await;
    let page = get(&mut browser, &server, "/account").await.body;
    assert_eq!(page.matches(r#"<li class="device""#).count(), 3, "{page}");
    assert_eq!(page.matches("this device").count(), 1);
    assert!(page.contains("Phone browser") && page.contains("Tablet browser"));
    let phone_handle = handle_of(&page, "Phone browser");
    let path = format!("/account/devices/{phone_handle}/sign-out");
    let page = submit(&mut browser, &server, "/account", &path, &[]).await;
    assert_eq!(flashes(&page.body), ["That device is signed out."]);
    assert!(!page.body.contains("Phone browser"));
    assert_eq!(get(&mut phone, &server, "/account").await.status, 303);
    assert_eq!(get(&mut tablet, &server, "/account").await.status, 200);
    let to = "/account/devices/others/sign-out";
    let page = submit(&mut browser, &server, "/account", to, &[]).await;
    assert_eq!(flashes(&page.body), ["Signed out of 1 other device(s)."]);
    assert_eq!(page.body.matches(r#"<li class="device""#).count(), 1);
    assert_eq!(get(&mut tablet, &server, "/account").await.status, 303);

    // Logout: its message once, then the account page redirects to login.
    let page = submit(&mut browser, &server, "/", "/logout", &[]).await;
    assert_eq!(flashes(&page.body), ["Logged out"]);
    assert!(!page.body.contains(r#"id="user""#));
    assert!(flashes(&get(&mut browser, &server, "/").await.body).is_empty());
    let account = get(&mut browser, &server, "/account").await;
    assert_eq!(account.status, 303);
    assert_eq!(account.location.as_deref(), Some("/login"));
    let login = get(&mut browser, &server, "/login").await;
    assert_eq!(flashes(&login.body), ["Please log in to see your account."]);
}

fn builder(driver: impl session_actix::driver::SessionDriver) -> SessionMiddleware {
    // The test server speaks plain http.
    SessionMiddleware::builder(driver)
        .secure(false)
        .build()
        .unwrap()
}

#[actix_web::test]
async fn the_demo_journey_on_memory() {
    journey(builder(MemoryDriver::new())).await;
}

#[actix_web::test]
async fn the_demo_journey_on_redis() {
    let redis = RedisServer::start();
    let driver = RedisDriver::connect(&redis.url()).await.unwrap();
    journey(builder(driver)).await;
}
