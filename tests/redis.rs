//! What only Redis does over HTTP: an outage answered with bounded 500s and
//! recovered from with the committed data intact, and the round trips per
//! request. The scenarios every driver shares are in `tests/http.rs`.
#![cfg(feature = "redis")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use session_actix::driver::SessionId;
use session_actix::RedisDriver;
use session_examples::testbed::{self, Options};
use session_test_support::http::{Browser, Server};
use session_test_support::redis::RedisServer;

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
fn serve(driver: RedisDriver) -> Server {
    let opts = Options::parse(["--store", "redis"].map(String::from)).unwrap();
    let mw = opts.middleware(Arc::new(driver)).unwrap();
    Server::start(move |listener| testbed::serve(Some(mw), listener))
}

#[actix_rt::test]
async fn redis_down_gives_500s_then_recovers_with_committed_data() {
    let mut redis = RedisServer::start_persistent();
    let server = serve(driver(&redis.url()).await);
    let mut b = Browser::new();
    b.send(&server, "POST", "/write", None).await;
    let cookie = b.cookie().unwrap().to_owned();
    assert_eq!(b.send(&server, "POST", "/write", None).await.body, "2");

    redis.stop();
    for (method, path) in [("GET", "/read"), ("POST", "/write"), ("GET", "/untouched")] {
        let started = Instant::now();
        let r = b.send(&server, method, path, None).await;
        if path == "/untouched" {
            assert_eq!(
                r.status,
                StatusCode::OK,
                "a request that does not use the session still works"
            );
            continue;
        }
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        assert!(!r.set_cookie, "the client's cookie is not replaced");
        assert_eq!(b.cookie(), Some(cookie.as_str()));
        assert!(r.body.is_empty(), "the cause is not shown: {:?}", r.body);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "bounded by the timeout"
        );
    }

    redis.restart();
    let mut recovered = None;
    for _ in 0..50 {
        let r = b.send(&server, "GET", "/read", None).await;
        if r.status == StatusCode::OK {
            recovered = Some(r.body);
            break;
        }
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        recovered.as_deref(),
        Some("2"),
        "data committed before the outage is intact"
    );
    assert_eq!(b.send(&server, "POST", "/write", None).await.body, "3");
}

#[actix_rt::test]
async fn round_trips_per_request() {
    let redis = RedisServer::start_persistent();
    let server = serve(driver(&redis.url()).await);
    let mut b = Browser::new();
    // Warm up: the first script call also loads the script.
    b.send(&server, "POST", "/write", None).await;
    b.send(&server, "POST", "/write", None).await;

    let monitor = redis.monitor();
    let r = Browser::new().send(&server, "POST", "/write", None).await;
    assert!(r.set_cookie);
    assert_eq!(monitor.take(), ["set"], "a new session: one create");
    b.send(&server, "GET", "/read", None).await;
    assert_eq!(monitor.take(), ["get"], "a read: one load");
    b.send(&server, "POST", "/write", None).await;
    assert_eq!(
        monitor.take(),
        ["get", "evalsha"],
        "a commit: load, then one compare-and-set"
    );
    b.send(&server, "GET", "/untouched", None).await;
    assert!(monitor.take().is_empty(), "an untouched request: nothing");
}
