//! The testbed served by a real `HttpServer` (two workers sharing one memory
//! store) and driven over real connections with awc.

use std::net::TcpListener;

use actix_web::{App, HttpServer};
use awc::http::header::{COOKIE, SET_COOKIE};
use awc::http::StatusCode;
use session_examples::testbed::{bare_routes, routes, Options};

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

async fn start(store: &str) -> Server {
    start_with(&["--store", store]).await
}

async fn start_with(args: &[&str]) -> Server {
    let opts = Options::parse(args.iter().map(|a| a.to_string())).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = match opts.driver().await.unwrap() {
        Some(driver) => {
            let mw = opts.middleware(driver).unwrap();
            HttpServer::new(move || App::new().wrap(mw.clone()).configure(routes))
                .workers(2)
                .listen(listener)
                .unwrap()
                .run()
        }
        None => HttpServer::new(|| App::new().configure(bare_routes))
            .workers(1)
            .listen(listener)
            .unwrap()
            .run(),
    };
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

    async fn send(&mut self, method: &str, path: &str, json: Option<&str>) -> (StatusCode, String) {
        let url = format!("{}{}", self.base, path);
        let mut req = self.client.request(method.parse().unwrap(), url);
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
        for h in res.headers().get_all(SET_COOKIE) {
            let h = h.to_str().unwrap();
            let pair = h.split(';').next().unwrap();
            if let Some(v) = pair.strip_prefix("session=") {
                self.cookie = if v.is_empty() {
                    None
                } else {
                    Some(v.to_owned())
                };
            }
        }
        let body = res.body().await.unwrap();
        (res.status(), String::from_utf8(body.to_vec()).unwrap())
    }
}

#[actix_rt::test]
async fn counter_and_key_value_routes_over_real_connections() {
    let server = start("memory").await;
    let mut b = Browser::new(&server);
    assert_eq!(
        b.send("GET", "/read", None).await,
        (StatusCode::OK, "0".into())
    );
    assert!(b.cookie.is_none(), "reading sets no cookie");
    assert_eq!(b.send("POST", "/write", None).await.1, "1");
    assert_eq!(b.send("POST", "/write", None).await.1, "2");
    assert_eq!(b.send("GET", "/read", None).await.1, "2");
    assert_eq!(b.send("GET", "/untouched", None).await.1, "ok");

    assert_eq!(
        b.send(
            "PUT",
            "/kv/pref",
            Some(r#"{"theme":"dark","langs":["en","日本語"]}"#)
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    let (status, body) = b.send("GET", "/kv/pref", None).await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["langs"][1], "日本語");
    assert_eq!(
        b.send("DELETE", "/kv/pref", None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        b.send("GET", "/kv/pref", None).await.0,
        StatusCode::NOT_FOUND
    );

    assert_eq!(b.send("POST", "/incr/hits", None).await.1, "1");
    b.send("PUT", "/kv/name", Some(r#""Ada""#)).await;
    let (status, msg) = b.send("POST", "/incr/name", None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(msg.contains("not an integer"), "{msg}");

    assert_eq!(
        b.send("GET", "/fail", None).await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        b.send("GET", "/kv/failed", None).await.0,
        StatusCode::NOT_FOUND,
        "5xx committed nothing"
    );
}

#[actix_rt::test]
async fn login_regenerates_and_logout_destroys() {
    let server = start("memory").await;
    let mut b = Browser::new(&server);
    b.send("POST", "/write", None).await;
    let before = b.cookie.clone().unwrap();
    assert_eq!(b.send("GET", "/login", None).await.1, "ok");
    let after = b.cookie.clone().unwrap();
    assert_ne!(before, after, "login issues a new id");
    assert_eq!(b.send("GET", "/read", None).await.1, "0");

    let mut attacker = Browser::new(&server);
    attacker.cookie = Some(before);
    assert_eq!(
        attacker.send("POST", "/write", None).await.1,
        "1",
        "the old id holds nothing"
    );
    assert_ne!(attacker.cookie.as_deref(), Some(after.as_str()));

    b.send("POST", "/write", None).await;
    assert_eq!(
        b.send("POST", "/regenerate", None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_ne!(b.cookie.as_deref(), Some(after.as_str()));
    assert_eq!(
        b.send("GET", "/read", None).await.1,
        "1",
        "regenerate keeps data"
    );
    assert_eq!(
        b.send("POST", "/logout", None).await.0,
        StatusCode::NO_CONTENT
    );
    assert!(b.cookie.is_none(), "logout removes the cookie");
}

#[actix_rt::test]
async fn forty_parallel_increments_of_two_keys_end_at_forty_each() {
    let server = start("memory").await;
    let mut b = Browser::new(&server);
    b.send("POST", "/write", None).await;
    let cookie = format!("session={}", b.cookie.clone().unwrap());
    let client = awc::Client::default();
    let requests = (0..80).map(|i| {
        let key = if i % 2 == 0 { "a" } else { "b" };
        client
            .post(format!("{}/incr/{key}", server.base))
            .insert_header((COOKIE, cookie.clone()))
            .send()
    });
    for res in futures_util::future::join_all(requests).await {
        assert_eq!(res.unwrap().status(), StatusCode::OK);
    }
    assert_eq!(b.send("GET", "/kv/a", None).await.1, "40");
    assert_eq!(b.send("GET", "/kv/b", None).await.1, "40");
}

#[actix_rt::test]
async fn store_none_answers_constants_without_sessions() {
    let server = start("none").await;
    let mut b = Browser::new(&server);
    assert_eq!(b.send("GET", "/read", None).await.1, "0");
    assert_eq!(b.send("POST", "/write", None).await.1, "1");
    assert_eq!(b.send("GET", "/login", None).await.1, "ok");
    assert_eq!(b.send("GET", "/untouched", None).await.1, "ok");
    assert!(b.cookie.is_none());
}

#[actix_rt::test]
async fn testbed_options_parse_and_reject() {
    let o =
        Options::parse(["--store", "memory", "--port", "9000", "--ttl", "30"].map(String::from))
            .unwrap();
    assert_eq!((o.store.as_str(), o.port, o.ttl), ("memory", 9000, 30));
    assert!(Options::parse(["--port", "1"].map(String::from)).is_err());
    assert!(Options::parse(["--store"].map(String::from)).is_err());
    assert!(Options::parse(["--store", "memory", "--bogus"].map(String::from)).is_err());
    let redis = Options::parse(["--store", "redis"].map(String::from))
        .unwrap()
        .driver_settings();
    assert_eq!(redis.url.as_deref(), Some("redis://127.0.0.1:6379"));
    let cluster = Options::parse(
        [
            "--store",
            "redis",
            "--redis-cluster",
            "127.0.0.1:7000,127.0.0.1:7001",
        ]
        .map(String::from),
    )
    .unwrap()
    .driver_settings();
    assert_eq!(
        (cluster.driver.as_str(), cluster.url.as_deref()),
        ("redis-cluster", Some("127.0.0.1:7000,127.0.0.1:7001"))
    );
    let cookie = Options::parse(
        [
            "--store",
            "cookie",
            "--key",
            "k1",
            "--old-key",
            "k2",
            "--old-key",
            "k3",
        ]
        .map(String::from),
    )
    .unwrap()
    .driver_settings();
    assert_eq!(
        (cookie.key.as_deref(), cookie.old_keys.len()),
        (Some("k1"), 2)
    );
    let bad = Options::parse(["--store", "nosuch"].map(String::from)).unwrap();
    assert!(bad.driver().await.unwrap_err().contains("nosuch"));
    let zero_ttl = Options::parse(["--store", "memory", "--ttl", "0"].map(String::from)).unwrap();
    assert!(zero_ttl
        .middleware(zero_ttl.driver().await.unwrap().unwrap())
        .is_err());
}

#[actix_rt::test]
async fn flash_routes_show_a_message_in_the_next_request_only() {
    let server = start("memory").await;
    let mut b = Browser::new(&server);
    let (status, _) = b
        .send("POST", "/flash/notice", Some(r#"{"text":"Saved"}"#))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(b.send("GET", "/untouched", None).await.1, "ok");
    let (_, body) = b.send("GET", "/flashed", None).await;
    let seen: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(seen, serde_json::json!({"notice": {"text": "Saved"}}));
    assert_eq!(b.send("GET", "/flashed", None).await.1, "{}");
}

/// The same session flow on every store compiled in.
async fn counter_flow(server: &Server) {
    let mut b = Browser::new(server);
    assert_eq!(b.send("POST", "/write", None).await.1, "1");
    assert_eq!(b.send("POST", "/write", None).await.1, "2");
    assert_eq!(b.send("GET", "/login", None).await.1, "ok");
    assert_eq!(b.send("POST", "/write", None).await.1, "1");
    assert_eq!(
        b.send("POST", "/logout", None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(b.send("GET", "/read", None).await.1, "0");
}

#[actix_rt::test]
async fn memory_store_serves_the_testbed() {
    counter_flow(&start("memory").await).await;
}

#[cfg(feature = "file")]
#[actix_rt::test]
async fn file_store_serves_the_testbed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions");
    let server = start_with(&["--store", "file", "--dir", path.to_str().unwrap()]).await;
    counter_flow(&server).await;
    let mut b = Browser::new(&server);
    b.send("POST", "/write", None).await;
    assert_eq!(
        std::fs::read_dir(&path)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("sess_")
            })
            .count(),
        1,
        "one session file for the one live session"
    );
}

#[cfg(feature = "cookie")]
#[actix_rt::test]
async fn cookie_store_serves_the_testbed() {
    let key = "11".repeat(32);
    let server = start_with(&["--store", "cookie", "--key", &key]).await;
    counter_flow(&server).await;
    let server = start_with(&["--store", "cookie"]).await; // generates a key
    counter_flow(&server).await;
}
