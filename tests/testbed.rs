//! The testbed itself: its command line, `--store none`, and what only the
//! file and cookie stores show over real connections. The scenarios every
//! driver shares are in `tests/http.rs`.

use session_examples::testbed::{self, Options};
use session_test_support::http::{Browser, Server};

async fn start(store: &str) -> Server {
    start_with(&["--store", store]).await
}

async fn start_with(args: &[&str]) -> Server {
    let opts = Options::parse(args.iter().map(|a| a.to_string())).unwrap();
    let sessions = opts
        .driver()
        .await
        .unwrap()
        .map(|driver| opts.middleware(driver).unwrap());
    Server::start(move |listener| testbed::serve(sessions, listener))
}

#[actix_rt::test]
async fn store_none_answers_constants_without_sessions() {
    let server = start("none").await;
    let mut b = Browser::new();
    assert_eq!(b.send(&server, "GET", "/read", None).await.body, "0");
    assert_eq!(b.send(&server, "POST", "/write", None).await.body, "1");
    assert_eq!(b.send(&server, "GET", "/login", None).await.body, "ok");
    assert_eq!(b.send(&server, "GET", "/untouched", None).await.body, "ok");
    assert!(b.cookie().is_none());
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
    assert_eq!(redis.prefix, None);
    let prefixed = Options::parse(["--store", "redis", "--prefix", "soak:"].map(String::from))
        .unwrap()
        .driver_settings();
    assert_eq!(prefixed.prefix.as_deref(), Some("soak:"));
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
async fn whole_session_route_shows_data_and_flash_without_consuming_them() {
    let server = start("memory").await;
    let mut b = Browser::new();
    let empty = serde_json::json!({"data": {}, "flash": {}});
    assert_eq!(b.json(&server, "/session").await, empty);
    b.send(&server, "POST", "/incr/hits", None).await;
    b.send(&server, "POST", "/flash/note", Some("7")).await;
    let whole = serde_json::json!({"data": {"hits": 1}, "flash": {"note": 7}});
    let r = b.send(&server, "GET", "/session", None).await;
    assert!(!r.set_cookie, "looking commits nothing");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&r.body).unwrap(),
        whole
    );
    assert_eq!(
        b.json(&server, "/session").await,
        whole,
        "the flash is still there"
    );
    assert_eq!(
        b.json(&server, "/flashed").await,
        serde_json::json!({"note": 7})
    );
    assert_eq!(
        b.json(&server, "/session").await,
        serde_json::json!({"data": {"hits": 1}, "flash": {}})
    );
}

#[cfg(feature = "file")]
#[actix_rt::test]
async fn file_store_serves_the_testbed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions");
    let server = start_with(&["--store", "file", "--dir", path.to_str().unwrap()]).await;
    let mut b = Browser::new();
    b.send(&server, "POST", "/write", None).await;
    b.send(&server, "GET", "/login", None).await;
    b.send(&server, "POST", "/logout", None).await;
    b.send(&server, "POST", "/write", None).await;
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
        "one session file for the one live session (login and logout removed the others)"
    );
    let cookie = b.cookie().expect("the last write set a cookie");
    assert!(
        !path.join(format!("sess_{cookie}")).exists(),
        "the file is named for a hash of the cookie's id, never the id"
    );
}

#[cfg(feature = "cookie")]
#[actix_rt::test]
async fn cookie_store_serves_the_testbed_with_a_given_key() {
    // tests/http.rs runs the shared scenarios with a generated key.
    let key = "11".repeat(32);
    let server = start_with(&["--store", "cookie", "--key", &key]).await;
    let mut b = Browser::new();
    assert_eq!(b.send(&server, "POST", "/write", None).await.body, "1");
    assert_eq!(b.send(&server, "POST", "/write", None).await.body, "2");
    // Another server with the same key opens the same cookie.
    let twin = start_with(&["--store", "cookie", "--key", &key]).await;
    assert_eq!(b.send(&twin, "GET", "/read", None).await.body, "2");
    // One with another key refuses it: a fresh session.
    let other = start_with(&["--store", "cookie", "--key", &"22".repeat(32)]).await;
    assert_eq!(b.send(&other, "GET", "/read", None).await.body, "0");
}
