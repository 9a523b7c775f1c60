//! The demo shop's journey in a real headless Chromium, driven over
//! WebDriver (chromedriver) with fantoccini, on the memory and Redis drivers.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`scripts/test.sh`
//! installs them with apt where missing). When the browser cannot start, the
//! test fails and says what to install; it never skips.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use session_actix::{MemoryDriver, RedisDriver, SessionMiddleware};
use session_test_support::http::Server;
use session_test_support::redis::{free_port, RedisServer};

/// A chromedriver on a free loopback port, stopped on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Self {
        let port = free_port(false);
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start chromedriver ({e}): install Debian's chromium and chromium-driver (apt-get install chromium chromium-driver), or run scripts/test.sh, which does")
            });
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on port {port} within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn browser(&self) -> Client {
        let mut caps = serde_json::Map::new();
        let mut options = serde_json::json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        });
        if std::path::Path::new("/usr/bin/chromium").exists() {
            options["binary"] = "/usr/bin/chromium".into();
        }
        caps.insert("goog:chromeOptions".into(), options);
        ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("headless Chromium did not start ({e}): install Debian's chromium and chromium-driver"))
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A page on another origin (another port) whose form posts to the shop
/// without a token, submitted as soon as it loads.
fn other_site(shop: &str) -> Server {
    let page = format!(
        r#"<!doctype html><form id="f" method="post" action="{shop}/cart/clear"><input name="item" value="x"></form><script>document.getElementById('f').submit()</script>"#
    );
    Server::start(move |listener| {
        Ok(HttpServer::new(move || {
            let page = page.clone();
            App::new().route(
                "/",
                web::get().to(move || {
                    let page = page.clone();
                    async move { HttpResponse::Ok().content_type("text/html").body(page) }
                }),
            )
        })
        .workers(1)
        .listen(listener)?
        .run())
    })
}

async fn texts(c: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in c.find_all(Locator::Css(css)).await.unwrap() {
        out.push(e.text().await.unwrap());
    }
    out
}

/// Submits the form holding `button` and waits for the next page's `wait_for`.
async fn press(c: &Client, button: &str, wait_for: &str) {
    c.find(Locator::Css(button))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(wait_for))
        .await
        .unwrap();
}

async fn journey(sessions: SessionMiddleware) {
    let shop = Server::start(move |listener| session_examples::demo::serve(sessions, listener));
    let base = shop.base.clone();
    let driver = Driver::start();
    let c = driver.browser().await;

    // A failed login shows the error and keeps the name.
    c.goto(&format!("{base}/login")).await.unwrap();
    c.find(Locator::Css("input[name=username]"))
        .await
        .unwrap()
        .send_keys("ann")
        .await
        .unwrap();
    c.find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys("nope")
        .await
        .unwrap();
    press(&c, "#login button", ".flash.error").await;
    assert_eq!(texts(&c, ".flash").await, ["Wrong name or password."]);
    let name = c.find(Locator::Css("input[name=username]")).await.unwrap();
    assert_eq!(name.prop("value").await.unwrap().as_deref(), Some("ann"));

    // The welcome shows exactly once.
    c.find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys("demo")
        .await
        .unwrap();
    press(&c, "#login button", "#user").await;
    assert_eq!(texts(&c, ".flash.success").await, ["Welcome, ann"]);
    assert_eq!(texts(&c, "#user").await, ["ann"]);
    c.refresh().await.unwrap();
    c.wait().for_element(Locator::Css("#user")).await.unwrap();
    assert!(texts(&c, ".flash").await.is_empty(), "gone on reload");

    // The cart survives navigation.
    for item in ["apple", "pear"] {
        c.goto(&format!("{base}/cart")).await.unwrap();
        c.find(Locator::Css("input[name=item]"))
            .await
            .unwrap()
            .send_keys(item)
            .await
            .unwrap();
        press(&c, "form[action='/cart/items'] button", "#items").await;
    }
    c.goto(&format!("{base}/")).await.unwrap();
    c.goto(&format!("{base}/cart")).await.unwrap();
    assert_eq!(texts(&c, "#items li").await, ["apple", "pear"]);

    // A form posted from a page on another origin is refused.
    let other = other_site(&base);
    c.goto(&format!("{}/", other.base)).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let body = c
            .find(Locator::Css("body"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if body.contains("403 Forbidden") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the cross-site post was not refused: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.goto(&format!("{base}/cart")).await.unwrap();
    assert_eq!(
        texts(&c, "#items li").await,
        ["apple", "pear"],
        "nothing lost"
    );

    // Twenty parallel fetch increments from the page all count.
    c.goto(&format!("{base}/")).await.unwrap();
    let script = r#"
        const done = arguments[arguments.length - 1];
        const token = document.querySelector('meta[name=csrf-token]').content;
        const posts = Array.from({length: 20}, () =>
            fetch('/count', {method: 'POST', headers: {'X-CSRF-Token': token}}).then(r => r.status));
        Promise.all(posts).then(done, e => done(String(e)));
    "#;
    let statuses = c.execute_async(script, vec![]).await.unwrap();
    assert_eq!(statuses, serde_json::json!(vec![200; 20]));
    c.refresh().await.unwrap();
    assert_eq!(texts(&c, "#count").await, ["20"]);

    // Logout shows its message once; /account then redirects to /login.
    press(&c, "form[action='/logout'] button", ".flash").await;
    assert_eq!(texts(&c, ".flash").await, ["Logged out"]);
    assert!(texts(&c, "#user").await.is_empty());
    c.refresh().await.unwrap();
    assert!(texts(&c, ".flash").await.is_empty());
    c.goto(&format!("{base}/account")).await.unwrap();
    assert_eq!(c.current_url().await.unwrap().path(), "/login");
    assert_eq!(
        texts(&c, ".flash").await,
        ["Please log in to see your account."]
    );

    c.close().await.unwrap();
}

fn middleware(driver: impl session_actix::driver::SessionDriver) -> SessionMiddleware {
    // The shop is served over plain http on loopback.
    SessionMiddleware::builder(driver)
        .secure(false)
        .build()
        .unwrap()
}

#[actix_web::test]
async fn the_demo_journey_in_chromium_on_memory() {
    journey(middleware(MemoryDriver::new())).await;
}

#[actix_web::test]
async fn the_demo_journey_in_chromium_on_redis() {
    let redis = RedisServer::start();
    let driver = RedisDriver::connect(&redis.url()).await.unwrap();
    journey(middleware(driver)).await;
}
