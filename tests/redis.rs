//! The Redis driver at the HTTP level, against real Redis servers: the shared
//! one on 127.0.0.1:6379 and private ones this test starts.
#![cfg(feature = "redis")]

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{App, HttpServer};
use awc::http::header::{COOKIE, SET_COOKIE};
use awc::http::StatusCode;
use session_actix::driver::{SessionDriver, SessionId};
use session_actix::RedisDriver;
use session_examples::testbed::{routes, Options};
use session_test_support::redis::RedisServer;

const SHARED: &str = "redis://127.0.0.1:6379";

/// A driver on `url` with a prefix of its own, so parallel tests never meet.
async fn driver(url: &str) -> RedisDriver {
    let prefix = format!("test-http:{}:", &SessionId::generate().as_str()[..12]);
    RedisDriver::builder()
        .prefix(prefix)
        .timeout(Duration::from_millis(500))
        .connect(url)
        .await
        .unwrap_or_else(|e| {
            panic!("Redis at {url} is not reachable ({e}): start it (scripts/test.sh does)")
        })
}

/// A two-worker testbed server on a free port.
fn serve(driver: Arc<dyn SessionDriver>) -> (String, actix_web::dev::ServerHandle) {
    let opts = Options::parse(["--store", "redis"].map(String::from)).unwrap();
    let mw = opts.middleware(driver).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(move || App::new().wrap(mw.clone()).configure(routes))
        .workers(2)
        .listen(listener)
        .unwrap()
        .run();
    let handle = server.handle();
    actix_rt::spawn(server);
    (base, handle)
}

/// Sends one request with the cookie; returns status, body and the new cookie
/// value if one was set.
async fn send(
    client: &awc::Client,
    method: &str,
    url: String,
    cookie: Option<&str>,
) -> (StatusCode, String, Option<String>) {
    let mut req = client.request(method.parse().unwrap(), url);
    if let Some(c) = cookie {
        req = req.insert_header((COOKIE, format!("session={c}")));
    }
    let mut res = req.send().await.unwrap();
    let set = res.headers().get(SET_COOKIE).map(|h| {
        let pair = h.to_str().unwrap().split(';').next().unwrap().to_owned();
        pair.strip_prefix("session=").unwrap().to_owned()
    });
    let body = String::from_utf8(res.body().await.unwrap().to_vec()).unwrap();
    (res.status(), body, set)
}

#[actix_rt::test]
async fn two_app_servers_sharing_redis_serve_one_session_alternately() {
    let d = driver(SHARED).await;
    let (a, ha) = serve(Arc::new(d.clone()));
    let (b, hb) = serve(Arc::new(d));
    let client = awc::Client::default();
    let (_, body, cookie) = send(&client, "POST", format!("{a}/write"), None).await;
    assert_eq!(body, "1");
    let cookie = cookie.unwrap();
    for (i, base) in [&b, &a, &b, &a].into_iter().enumerate() {
        let (_, body, _) = send(&client, "POST", format!("{base}/write"), Some(&cookie)).await;
        assert_eq!(
            body,
            (i + 2).to_string(),
            "server {base} sees the other's writes"
        );
    }
    let (_, body, _) = send(&client, "GET", format!("{b}/read"), Some(&cookie)).await;
    assert_eq!(body, "5");
    ha.stop(false).await;
    hb.stop(false).await;
}

#[actix_rt::test]
async fn forty_parallel_increments_of_two_keys_through_redis() {
    let (base, handle) = serve(Arc::new(driver(SHARED).await));
    let client = awc::Client::default();
    let (_, _, cookie) = send(&client, "POST", format!("{base}/write"), None).await;
    let cookie = cookie.unwrap();
    let calls = (0..80).map(|i| {
        let key = if i % 2 == 0 { "a" } else { "b" };
        send(&client, "POST", format!("{base}/incr/{key}"), Some(&cookie))
    });
    for (status, _, _) in futures_util::future::join_all(calls).await {
        assert_eq!(status, StatusCode::OK);
    }
    for key in ["a", "b"] {
        let (_, body, _) = send(&client, "GET", format!("{base}/kv/{key}"), Some(&cookie)).await;
        assert_eq!(body, "40", "key {key}");
    }
    handle.stop(false).await;
}

#[actix_rt::test]
async fn redis_down_gives_500s_then_recovers_with_committed_data() {
    let mut redis = RedisServer::start_persistent();
    let (base, handle) = serve(Arc::new(driver(&redis.url()).await));
    let client = awc::Client::default();
    let (_, _, cookie) = send(&client, "POST", format!("{base}/write"), None).await;
    let cookie = cookie.unwrap();
    let (_, body, _) = send(&client, "POST", format!("{base}/write"), Some(&cookie)).await;
    assert_eq!(body, "2");

    redis.stop();
    for (method, path) in [("GET", "/read"), ("POST", "/write"), ("GET", "/untouched")] {
        let started = Instant::now();
        let (status, body, set) =
            send(&client, method, format!("{base}{path}"), Some(&cookie)).await;
        if path == "/untouched" {
            assert_eq!(
                status,
                StatusCode::OK,
                "a request that does not use the session still works"
            );
            continue;
        }
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        assert!(set.is_none(), "the client's cookie is not replaced");
        assert!(body.is_empty(), "the cause is not shown: {body:?}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "bounded by the timeout"
        );
    }

    redis.restart();
    let mut recovered = None;
    for _ in 0..50 {
        let (status, body, _) = send(&client, "GET", format!("{base}/read"), Some(&cookie)).await;
        if status == StatusCode::OK {
            recovered = Some(body);
            break;
        }
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        recovered.as_deref(),
        Some("2"),
        "data committed before the outage is intact"
    );
    let (_, body, _) = send(&client, "POST", format!("{base}/write"), Some(&cookie)).await;
    assert_eq!(body, "3");
    handle.stop(false).await;
}

#[actix_rt::test]
async fn round_trips_per_request() {
    let redis = RedisServer::start_persistent();
    let (base, handle) = serve(Arc::new(driver(&redis.url()).await));
    let client = awc::Client::default();
    // Warm up: the first script call also loads the script.
    let (_, _, cookie) = send(&client, "POST", format!("{base}/write"), None).await;
    let cookie = cookie.unwrap();
    send(&client, "POST", format!("{base}/write"), Some(&cookie)).await;

    let monitor = redis.monitor();
    let (_, _, new_cookie) = send(&client, "POST", format!("{base}/write"), None).await;
    assert!(new_cookie.is_some());
    assert_eq!(monitor.take(), ["set"], "a new session: one create");
    send(&client, "GET", format!("{base}/read"), Some(&cookie)).await;
    assert_eq!(monitor.take(), ["get"], "a read: one load");
    send(&client, "POST", format!("{base}/write"), Some(&cookie)).await;
    assert_eq!(
        monitor.take(),
        ["get", "evalsha"],
        "a commit: load, then one compare-and-set"
    );
    send(&client, "GET", format!("{base}/untouched"), Some(&cookie)).await;
    assert!(monitor.take().is_empty(), "an untouched request: nothing");
    handle.stop(false).await;
}
