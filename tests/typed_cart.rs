//! The testbed's typed cart routes (`GET /cart`, `POST /cart/items/{item}`,
//! `DELETE /cart`), served by a real `HttpServer` and checked against the
//! untyped `/kv/{key}` routes: both see the same data under the same keys.

use std::net::TcpListener;

use actix_web::{App, HttpServer};
use awc::http::header::{COOKIE, SET_COOKIE};
use awc::http::StatusCode;
use serde_json::{json, Value};
use session_examples::testbed::{routes, Options};

struct Server {
    base: String,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for Server {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        actix_rt::spawn(async move { handle.stop(false).await });
    }
}

async fn start() -> Server {
    let opts = Options::parse(["--store", "memory"].map(String::from)).unwrap();
    let mw = opts
        .middleware(opts.driver().await.unwrap().unwrap())
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(move || App::new().wrap(mw.clone()).configure(routes))
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
    let handle = server.handle();
    actix_rt::spawn(server);
    Server { base, handle }
}

/// A client that keeps the session cookie like a browser would.
struct Browser {
    client: awc::Client,
    cookie: Option<String>,
    base: String,
}

impl Browser {
    fn new(server: &Server) -> Self {
        Self {
            client: awc::Client::default(),
            cookie: None,
            base: server.base.clone(),
        }
    }

    /// `(status, whether a Set-Cookie came back, body)`.
    async fn send(
        &mut self,
        method: &str,
        path: &str,
        json: Option<&str>,
    ) -> (StatusCode, bool, String) {
        let mut req = self
            .client
            .request(method.parse().unwrap(), format!("{}{}", self.base, path));
        if let Some(c) = &self.cookie {
            req = req.insert_header((COOKIE, format!("session={c}")));
        }
        let mut res = match json {
            Some(body) => req
                .insert_header(("content-type", "application/json"))
                .send_body(body.to_owned())
                .await
                .unwrap(),
            None => req.send().await.unwrap(),
        };
        let mut set = false;
        for h in res.headers().get_all(SET_COOKIE) {
            let pair = h.to_str().unwrap().split(';').next().unwrap();
            if let Some(v) = pair.strip_prefix("session=") {
                set = true;
                self.cookie = (!v.is_empty()).then(|| v.to_owned());
            }
        }
        let body = res.body().await.unwrap();
        (res.status(), set, String::from_utf8(body.to_vec()).unwrap())
    }

    async fn json(&mut self, path: &str) -> Value {
        let (status, _, body) = self.send("GET", path, None).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap()
    }
}

#[actix_rt::test]
async fn empty_cart_is_answered_without_a_session() {
    let server = start().await;
    let mut b = Browser::new(&server);
    let (status, set_cookie, body) = b.send("GET", "/cart", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, r#"{"items":[],"total":0}"#);
    assert!(!set_cookie, "reading the cart writes nothing");
}

#[actix_rt::test]
async fn added_items_are_in_the_cart_and_under_the_untyped_keys() {
    let server = start().await;
    let mut b = Browser::new(&server);
    for item in ["apple", "pear", "fig"] {
        let (status, _, _) = b.send("POST", &format!("/cart/items/{item}"), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    assert_eq!(
        b.json("/cart").await,
        json!({"items": ["apple", "pear", "fig"], "total": 3})
    );
    assert_eq!(
        b.json("/kv/cart.items").await,
        json!(["apple", "pear", "fig"])
    );
    assert_eq!(b.json("/kv/cart.total").await, json!(3));

    // And the other way round: an untyped write shows in the typed cart.
    b.send("PUT", "/kv/cart.items", Some(r#"["plum"]"#)).await;
    b.send("PUT", "/kv/cart.total", Some("1")).await;
    assert_eq!(
        b.json("/cart").await,
        json!({"items": ["plum"], "total": 1})
    );
    b.send("POST", "/cart/items/kiwi", None).await;
    assert_eq!(
        b.json("/cart").await,
        json!({"items": ["plum", "kiwi"], "total": 2})
    );
}

#[actix_rt::test]
async fn deleting_the_cart_forgets_only_the_cart() {
    let server = start().await;
    let mut b = Browser::new(&server);
    b.send("POST", "/write", None).await;
    b.send("POST", "/cart/items/apple", None).await;
    let (status, _, _) = b.send("DELETE", "/cart", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(b.json("/cart").await, json!({"items": [], "total": 0}));
    assert_eq!(
        b.send("GET", "/kv/cart.items", None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        b.send("GET", "/read", None).await.2,
        "1",
        "other data stays"
    );
}

#[actix_rt::test]
async fn each_browser_has_its_own_cart() {
    let server = start().await;
    let mut alice = Browser::new(&server);
    let mut bob = Browser::new(&server);
    alice.send("POST", "/cart/items/apple", None).await;
    bob.send("POST", "/cart/items/pear", None).await;
    assert_eq!(alice.json("/cart").await["items"], json!(["apple"]));
    assert_eq!(bob.json("/cart").await["items"], json!(["pear"]));
}
