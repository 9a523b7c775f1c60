//! One HTTP suite, run against every driver: the testbed served by real
//! `HttpServer`s (two app instances on one store, as two machines would be)
//! and driven over real connections by a client that keeps cookies like a
//! browser.
//!
//! Each scenario is an `async fn(&Store)`; `http_suite!` makes a test of it
//! for memory, cookie, file, Redis, Redis Cluster, SQLite, PostgreSQL and
//! MySQL. Scenarios that cannot hold for the cookie driver (it keeps nothing
//! on the server, so a stolen cookie stays valid and parallel writes are
//! last-response-wins) ask [`Store::server_side`].

use std::sync::Arc;

use actix_web::http::header::COOKIE;
use actix_web::http::StatusCode;
use serde_json::json;
use session_actix::driver::SessionDriver;
use session_examples::testbed::{self, Options};
use session_test_support::http::{Browser, Server};

#[path = "support/sql_query.rs"]
mod sql_query;
use session_test_support::redis::{RedisCluster, RedisServer};

/// One test's store: where it keeps its data, and what to clean up after.
struct Store {
    name: &'static str,
    options: Options,
    driver: Arc<dyn SessionDriver>,
    sql_table: Option<(String, String)>,
    _dir: tempfile::TempDir,
    /// The Redis store's private server.
    redis: Option<RedisServer>,
    cluster: Option<RedisCluster>,
}

impl Store {
    async fn new(name: &'static str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let table = session_test_support::sql::unique_table("suite");
        let mut cluster = None;
        let mut redis = None;
        let mut sql_table = None;
        let mut args: Vec<String> = vec!["--ttl".into(), "600".into()];
        match name {
            "memory" | "cookie" => args.extend(["--store".into(), name.into()]),
            "file" => args.extend([
                "--store".into(),
                "file".into(),
                "--dir".into(),
                dir.path().join("sessions").display().to_string(),
            ]),
            "redis" => {
                // A private server, so the test sees exactly what its store wrote.
                let server = RedisServer::start();
                args.extend([
                    "--store".into(),
                    "redis".into(),
                    "--redis".into(),
                    server.url(),
                ]);
                redis = Some(server);
            }
            "redis-cluster" => {
                let nodes = RedisCluster::start();
                let urls = nodes.urls().join(",");
                cluster = Some(nodes);
                args.extend([
                    "--store".into(),
                    "redis".into(),
                    "--redis-cluster".into(),
                    urls,
                ]);
            }
            sql => {
                let url = session_test_support::sql::url(sql, dir.path());
                sql_table = Some((url.clone(), table.clone()));
                args.extend([
                    "--store".into(),
                    sql.into(),
                    "--database-url".into(),
                    url,
                    "--table".into(),
                    table,
                ]);
            }
        }
        let options = Options::parse(args).unwrap();
        let driver = match options.driver().await {
            Ok(Some(driver)) => driver,
            other => panic!(
                "the {name} store did not start ({:?}); scripts/test.sh starts Redis, \
                 PostgreSQL and MariaDB",
                other.err()
            ),
        };
        Self {
            name,
            options,
            driver,
            sql_table,
            _dir: dir,
            redis,
            cluster,
        }
    }

    /// Whether the store keeps sessions on the server (all but cookie).
    fn server_side(&self) -> bool {
        self.name != "cookie"
    }

    /// An app server on this store; a second call is a second machine.
    fn server(&self) -> Server {
        let mw = self.options.middleware(Arc::clone(&self.driver)).unwrap();
        Server::start(move |listener| testbed::serve(Some(mw), listener))
    }

    /// An app server on this store with id renewal: ids older than a
    /// second are renewed, the old id forwarding for five.
    fn renewing_server(&self) -> Server {
        let mut options = self.options.clone();
        options.renew_id_after = Some(1);
        options.grace = Some(5);
        let mw = options.middleware(Arc::clone(&self.driver)).unwrap();
        Server::start(move |listener| testbed::serve(Some(mw), listener))
    }

    /// How many seconds each record the store holds has left, read from the
    /// store itself: the TTL of every key under the session prefix on each
    /// Redis node, the `expires_at` of every SQL row. `None` for the stores
    /// whose records the test cannot list (memory, cookie, file).
    async fn expiries(&self) -> Option<Vec<i64>> {
        if let Some((url, table)) = &self.sql_table {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64;
            let rows = sql_query::column(
                self.name,
                url,
                &format!(
                    "SELECT expires_at FROM {}",
                    sql_query::quoted(self.name, table)
                ),
            )
            .await;
            return Some(rows.into_iter().map(|at| at - now).collect());
        }
        let nodes: Vec<&RedisServer> = self
            .redis
            .iter()
            .chain(self.cluster.iter().flat_map(RedisCluster::nodes))
            .collect();
        if nodes.is_empty() {
            return None;
        }
        let mut left = Vec::new();
        for node in nodes {
            let keys = node.cli(&["--scan", "--pattern", "session:*"]).unwrap();
            for key in keys.lines().filter(|k| !k.is_empty()) {
                // -1: the key never expires; -2: it is gone.
                let ms: i64 = node.cli(&["PTTL", key]).unwrap().parse().unwrap();
                left.push(if ms < 0 { ms } else { (ms + 999) / 1000 });
            }
        }
        Some(left)
    }

    /// Drops a SQL test table.
    async fn finish(self) {
        if let Some((url, table)) = &self.sql_table {
            let drop = format!(
                "DROP TABLE IF EXISTS {}",
                sql_query::quoted(self.name, table)
            );
            sql_query::column(self.name, url, &drop).await;
        }
    }
}

async fn counter_and_key_value_routes(store: &Store) {
    let server = store.server();
    let mut b = Browser::new();
    let r = b.send(&server, "GET", "/read", None).await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "0"));
    assert!(b.cookie().is_none(), "reading sets no cookie");
    assert_eq!(b.send(&server, "POST", "/write", None).await.body, "1");
    assert_eq!(b.send(&server, "POST", "/write", None).await.body, "2");
    assert_eq!(b.send(&server, "GET", "/read", None).await.body, "2");
    assert_eq!(b.send(&server, "GET", "/untouched", None).await.body, "ok");

    let put = b
        .send(
            &server,
            "PUT",
            "/kv/pref",
            Some(r#"{"theme":"dark","langs":["en","日本語"]}"#),
        )
        .await;
    assert_eq!(put.status, StatusCode::NO_CONTENT);
    assert_eq!(b.json(&server, "/kv/pref").await["langs"][1], "日本語");
    // Nested as deep as the session stores: it reads back on every driver.
    // One level deeper (or the 126 that once locked sessions out) is refused
    // when it is put, and the session keeps what it had.
    let nested = |depth: usize| format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
    let r = b.send(&server, "PUT", "/kv/deep", Some(&nested(64))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", store.name);
    let back = b.send(&server, "GET", "/kv/deep", None).await;
    assert_eq!(back.body, nested(64), "{}", store.name);
    for depth in [65, 126] {
        let r = b
            .send(&server, "PUT", "/kv/deep", Some(&nested(depth)))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", store.name);
        assert!(r.body.contains("levels deep"), "{}", r.body);
    }
    assert_eq!(
        b.send(&server, "GET", "/kv/deep", None).await.body,
        nested(64)
    );
    assert_eq!(b.json(&server, "/kv/pref").await["theme"], "dark");
    b.send(&server, "DELETE", "/kv/deep", None).await;
    let deleted = b.send(&server, "DELETE", "/kv/pref", None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = b.send(&server, "GET", "/kv/pref", None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);

    assert_eq!(b.send(&server, "POST", "/incr/hits", None).await.body, "1");
    b.send(&server, "PUT", "/kv/name", Some(r#""Ada""#)).await;
    let r = b.send(&server, "POST", "/incr/name", None).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("not an integer"), "{}", r.body);

    let r = b.send(&server, "GET", "/fail", None).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    let r = b.send(&server, "GET", "/kv/failed", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "5xx committed nothing");
}

/// What was the counter flow of the memory, file and cookie stores.
async fn login_resets_and_logout_ends_the_counter(store: &Store) {
    let server = store.server();
    let mut b = Browser::new();
    assert_eq!(b.send(&server, "POST", "/write", None).await.body, "1");
    assert_eq!(b.send(&server, "POST", "/write", None).await.body, "2");
    assert_eq!(b.send(&server, "GET", "/login", None).await.body, "ok");
    assert_eq!(b.send(&server, "POST", "/write", None).await.body, "1");
    let r = b.send(&server, "POST", "/logout", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(b.send(&server, "GET", "/read", None).await.body, "0");
}

async fn login_regenerates_and_logout_destroys(store: &Store) {
    let server = store.server();
    let mut b = Browser::new();
    b.send(&server, "POST", "/write", None).await;
    let before = b.cookie().unwrap().to_owned();
    assert_eq!(b.send(&server, "GET", "/login", None).await.body, "ok");
    let after = b.cookie().unwrap().to_owned();
    assert_ne!(before, after, "login issues a new id");
    assert_eq!(b.send(&server, "GET", "/read", None).await.body, "0");

    if store.server_side() {
        let mut attacker = Browser::new();
        attacker.set_cookie(Some(&before));
        let r = attacker.send(&server, "POST", "/write", None).await;
        assert_eq!(r.body, "1", "the old id holds nothing");
        assert_ne!(attacker.cookie(), Some(after.as_str()));
    }

    b.send(&server, "POST", "/write", None).await;
    let r = b.send(&server, "POST", "/regenerate", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_ne!(b.cookie(), Some(after.as_str()));
    let r = b.send(&server, "GET", "/read", None).await;
    assert_eq!(r.body, "1", "regenerate keeps data");
    let r = b.send(&server, "POST", "/logout", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(b.cookie().is_none(), "logout removes the cookie");
}

async fn one_session_alternates_between_two_servers(store: &Store) {
    let (a, b) = (store.server(), store.server());
    let mut browser = Browser::new();
    assert_eq!(browser.send(&a, "POST", "/write", None).await.body, "1");
    let first = browser.cookie().expect("a cookie after a write").to_owned();
    for (i, server) in [&b, &a, &b, &a].into_iter().enumerate() {
        let r = browser.send(server, "POST", "/write", None).await;
        assert_eq!(
            r.body,
            (i + 2).to_string(),
            "each server sees the other's writes"
        );
    }
    assert_eq!(browser.send(&b, "GET", "/read", None).await.body, "5");
    if store.server_side() {
        assert_eq!(browser.cookie(), Some(first.as_str()), "the id stays");
    }

    // Log in on one server: the old id is dead on both.
    assert_eq!(browser.send(&b, "GET", "/login", None).await.body, "ok");
    assert_ne!(browser.cookie(), Some(first.as_str()));
    assert_eq!(browser.send(&a, "POST", "/write", None).await.body, "1");
    if store.server_side() {
        let mut attacker = Browser::new();
        attacker.set_cookie(Some(&first));
        assert_eq!(attacker.send(&a, "GET", "/read", None).await.body, "0");
        assert_eq!(attacker.send(&b, "GET", "/read", None).await.body, "0");
    }

    // Log out on one server, and the other agrees.
    let r = browser.send(&a, "POST", "/logout", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(browser.cookie().is_none());
    assert_eq!(browser.send(&b, "GET", "/read", None).await.body, "0");
}

/// 80 requests at once, alternating keys and servers: every increment counts.
/// The cookie driver is last-response-wins by design and is left out.
async fn forty_parallel_increments_of_two_keys_end_at_forty_each(store: &Store) {
    if !store.server_side() {
        return;
    }
    let servers = [store.server(), store.server()];
    let mut browser = Browser::new();
    browser.send(&servers[0], "POST", "/write", None).await;
    let cookie = browser.cookie_header();
    let client = awc::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .finish();
    let requests = (0..80).map(|i| {
        let key = if i % 2 == 0 { "a" } else { "b" };
        let server = &servers[(i / 2) % 2];
        client
            .post(format!("{}/incr/{key}", server.base))
            .insert_header((COOKIE, cookie.clone()))
            .send()
    });
    for res in futures_util::future::join_all(requests).await {
        let status = res.unwrap().status();
        assert_eq!(
            status,
            StatusCode::OK,
            "{}: an increment failed",
            store.name
        );
    }
    for (server, key) in [(&servers[0], "a"), (&servers[1], "b")] {
        let r = browser
            .send(server, "GET", &format!("/kv/{key}"), None)
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            r.body, "40",
            "{}: increments of {key:?} were lost",
            store.name
        );
    }
}

async fn flash_shows_a_message_in_the_next_request_only(store: &Store) {
    let server = store.server();
    let mut b = Browser::new();
    let r = b
        .send(
            &server,
            "POST",
            "/flash/notice",
            Some(r#"{"text":"Saved"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(b.send(&server, "GET", "/untouched", None).await.body, "ok");
    assert_eq!(
        b.json(&server, "/flashed").await,
        json!({"notice": {"text": "Saved"}})
    );
    assert_eq!(b.send(&server, "GET", "/flashed", None).await.body, "{}");
}

async fn typed_cart(store: &Store) {
    let server = store.server();
    let mut b = Browser::new();
    // Empty: answered without a session.
    let r = b.send(&server, "GET", "/cart", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, r#"{"items":[],"total":0}"#);
    assert!(!r.set_cookie, "reading the cart writes nothing");

    // Added items are in the cart and under the untyped keys.
    for item in ["apple", "pear", "fig"] {
        let r = b
            .send(&server, "POST", &format!("/cart/items/{item}"), None)
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
    }
    assert_eq!(
        b.json(&server, "/cart").await,
        json!({"items": ["apple", "pear", "fig"], "total": 3})
    );
    assert_eq!(
        b.json(&server, "/kv/cart.items").await,
        json!(["apple", "pear", "fig"])
    );
    assert_eq!(b.json(&server, "/kv/cart.total").await, json!(3));
    // And the other way round: an untyped write shows in the typed cart.
    b.send(&server, "PUT", "/kv/cart.items", Some(r#"["plum"]"#))
        .await;
    b.send(&server, "PUT", "/kv/cart.total", Some("1")).await;
    assert_eq!(
        b.json(&server, "/cart").await,
        json!({"items": ["plum"], "total": 1})
    );
    b.send(&server, "POST", "/cart/items/kiwi", None).await;
    assert_eq!(
        b.json(&server, "/cart").await,
        json!({"items": ["plum", "kiwi"], "total": 2})
    );

    // Deleting the cart forgets only the cart.
    b.send(&server, "POST", "/write", None).await;
    let r = b.send(&server, "DELETE", "/cart", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        b.json(&server, "/cart").await,
        json!({"items": [], "total": 0})
    );
    let r = b.send(&server, "GET", "/kv/cart.items", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        b.send(&server, "GET", "/read", None).await.body,
        "1",
        "other data stays"
    );

    // Each browser has its own cart.
    let (mut alice, mut bob) = (Browser::new(), Browser::new());
    alice.send(&server, "POST", "/cart/items/apple", None).await;
    bob.send(&server, "POST", "/cart/items/pear", None).await;
    assert_eq!(
        alice.json(&server, "/cart").await["items"],
        json!(["apple"])
    );
    assert_eq!(bob.json(&server, "/cart").await["items"], json!(["pear"]));
}

/// Sign in on one instance, seen on the other; the id before the sign-in is
/// dead everywhere at once (fixation), the CSRF token is new, and a sign-out
/// on the second instance ends the session on both.
async fn login_and_logout_on_two_instances(store: &Store) {
    let (a, b) = (store.server(), store.server());
    let mut browser = Browser::new();
    assert_eq!(browser.json(&a, "/auth/me").await, json!(null));
    assert_eq!(browser.send(&a, "POST", "/write", None).await.body, "1");
    let planted = browser.cookie().unwrap().to_owned();
    let r = browser.send(&a, "POST", "/auth/login/ada", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", store.name);
    assert!(r.set_cookie && browser.cookie() != Some(planted.as_str()));
    for server in [&a, &b] {
        assert_eq!(browser.json(server, "/auth/me").await, json!("ada"));
        assert_eq!(browser.send(server, "GET", "/read", None).await.body, "1");
    }
    if store.server_side() {
        let mut attacker = Browser::new();
        attacker.set_cookie(Some(&planted));
        for server in [&a, &b] {
            assert_eq!(attacker.json(server, "/auth/me").await, json!(null));
        }
    }
    let r = browser.send(&b, "POST", "/auth/logout", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(browser.cookie().is_none(), "logout removes the cookie");
    assert_eq!(browser.json(&a, "/auth/me").await, json!(null));
}

/// Sends `POST path` ten times at once with `cookie`, alternating between
/// `servers`; checks every answer is `status` and gives the session cookie
/// values the responses set, in order.
async fn ten_at_once(
    servers: &[Server],
    path: &str,
    cookie: &str,
    status: StatusCode,
    store: &str,
) -> Vec<String> {
    let client = awc::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .finish();
    let requests = (0..10).map(|i| {
        client
            .post(format!("{}{path}", servers[i % servers.len()].base))
            .insert_header((COOKIE, cookie.to_owned()))
            .send()
    });
    let mut set = Vec::new();
    for res in futures_util::future::join_all(requests).await {
        let res = res.unwrap();
        assert_eq!(res.status(), status, "{store}");
        for h in res.headers().get_all(actix_web::http::header::SET_COOKIE) {
            let pair = h.to_str().unwrap().split(';').next().unwrap();
            if let Some(value) = pair.strip_prefix("session=") {
                set.push(value.to_owned());
            }
        }
    }
    set
}

/// Id renewal racing parallel requests on two instances: ten increments
/// sent at once with an id past its age all land, every response that sets
/// a cookie sets the same new id, and the old id still reads the renewed
/// session within the grace window.
async fn renewal_under_parallel_requests_loses_nothing(store: &Store) {
    if !store.server_side() {
        return;
    }
    let servers = [store.renewing_server(), store.renewing_server()];
    let mut browser = Browser::new();
    browser.send(&servers[0], "PUT", "/kv/n", Some("0")).await;
    let old = browser.cookie().unwrap().to_owned();
    // Past the renewal age (one second; ids are dated in whole seconds).
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let cookie = browser.cookie_header();
    let mut set = ten_at_once(&servers, "/incr/n", &cookie, StatusCode::OK, store.name).await;
    set.dedup();
    assert_eq!(set.len(), 1, "{}: one new id for all: {set:?}", store.name);
    assert_ne!(set[0], old, "the id was renewed");
    let mut renewed = Browser::new();
    renewed.set_cookie(Some(&set[0]));
    for server in &servers {
        assert_eq!(
            renewed.json(server, "/kv/n").await,
            json!(10),
            "{}",
            store.name
        );
    }
    // The old id, within the grace window, reads the renewed session.
    let mut late = Browser::new();
    late.set_cookie(Some(&old));
    assert_eq!(late.json(&servers[1], "/kv/n").await, json!(10));
}

/// Signs in as "ada" on `server` from a browser that says it is `agent`.
async fn signed_in(server: &Server, agent: &str) -> Browser {
    let mut browser = Browser::new();
    let r = browser
        .send_with(server, "POST", "/auth/login/ada", &[("user-agent", agent)])
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    browser
}

/// `GET /auth/devices`: the user agents listed, sorted, and the handle of
/// each by user agent, with which one is current.
async fn devices(browser: &mut Browser, server: &Server) -> Vec<(String, String, bool)> {
    let list = browser.json(server, "/auth/devices").await;
    let mut devices: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["user_agent"].as_str().unwrap().to_owned(),
                d["handle"].as_str().unwrap().to_owned(),
                d["current"].as_bool().unwrap(),
            )
        })
        .collect();
    devices.sort();
    devices
}

/// The device list on two instances sharing the store: every sign-in is
/// listed (with its user agent, the current one marked, handles that are
/// not cookies), a revoke by handle signs that browser out on both
/// instances, "all others" keeps only the current one, a regenerate keeps
/// the device listed, a logout leaves the list, and "all" signs out this
/// browser too. Writes racing a revoke do not bring the session back.
async fn devices_are_listed_and_revoked_on_two_instances(store: &Store) {
    let (a, b) = (store.server(), store.server());
    if !store.server_side() {
        let mut browser = signed_in(&a, "phone").await;
        let r = browser.send(&a, "GET", "/auth/devices", None).await;
        assert_eq!(r.status, StatusCode::NOT_IMPLEMENTED, "{}", store.name);
        return;
    }
    let mut phone = signed_in(&a, "phone").await;
    let mut laptop = signed_in(&b, "laptop").await;
    let mut tablet = signed_in(&a, "tablet").await;
    let mut anonymous = Browser::new();
    let r = anonymous.send(&a, "GET", "/auth/devices", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    let listed = devices(&mut laptop, &a).await;
    let agents: Vec<_> = listed.iter().map(|d| (d.0.as_str(), d.2)).collect();
    assert_eq!(
        agents,
        [("laptop", true), ("phone", false), ("tablet", false)],
        "{}",
        store.name
    );
    let body = laptop.send(&b, "GET", "/auth/devices", None).await.body;
    for browser in [&phone, &laptop, &tablet] {
        assert!(
            !body.contains(browser.cookie().unwrap()),
            "the device list shows no session cookie"
        );
    }
    let handle = |agent: &str| listed.iter().find(|d| d.0 == agent).unwrap().1.clone();

    // One device, by handle, from the other instance.
    let phone_handle = handle("phone");
    let path = format!("/auth/devices/{phone_handle}");
    let r = laptop.send(&b, "DELETE", &path, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", store.name);
    for server in [&a, &b] {
        assert_eq!(phone.json(server, "/auth/me").await, json!(null));
    }
    assert_eq!(
        laptop.send(&a, "DELETE", &path, None).await.status,
        StatusCode::NOT_FOUND
    );

    // A regenerate keeps the tablet listed, under a new handle.
    tablet.send(&b, "POST", "/regenerate", None).await;
    assert_eq!(tablet.json(&a, "/auth/me").await, json!("ada"));
    let listed = devices(&mut tablet, &b).await;
    let agents: Vec<_> = listed.iter().map(|d| (d.0.as_str(), d.2)).collect();
    assert_eq!(
        agents,
        [("laptop", false), ("tablet", true)],
        "{}",
        store.name
    );

    // A sign-out leaves the list.
    let mut desktop = signed_in(&b, "desktop").await;
    assert_eq!(devices(&mut laptop, &a).await.len(), 3);
    desktop.send(&a, "POST", "/auth/logout", None).await;
    assert_eq!(devices(&mut laptop, &a).await.len(), 2);

    // A revoke racing twenty writes of the revoked session: once it has
    // answered, nothing that session commits brings it back.
    let mut busy = signed_in(&a, "busy").await;
    let busy_handle = devices(&mut busy, &a)
        .await
        .into_iter()
        .find(|d| d.2)
        .unwrap()
        .1;
    let cookie = busy.cookie_header();
    let client = awc::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .finish();
    let writes = (0..20).map(|i| {
        client
            .post(format!("{}/incr/n", [&a, &b][i % 2].base))
            .insert_header((COOKIE, cookie.clone()))
            .send()
    });
    let path = format!("/auth/devices/{busy_handle}");
    let revoke = laptop.send(&b, "DELETE", &path, None);
    let (writes, revoke) =
        futures_util::future::join(futures_util::future::join_all(writes), revoke).await;
    assert_eq!(revoke.status, StatusCode::NO_CONTENT);
    for w in writes {
        assert!(w.unwrap().status().is_success());
    }
    for server in [&a, &b] {
        assert_eq!(
            busy.json(server, "/auth/me").await,
            json!(null),
            "{}",
            store.name
        );
        assert_eq!(busy.send(server, "GET", "/read", None).await.body, "0");
    }

    // All others: only the laptop is left.
    let r = laptop
        .send(&a, "DELETE", "/auth/devices/others", None)
        .await;
    assert_eq!(r.body, "1", "{}", store.name);
    assert_eq!(tablet.json(&b, "/auth/me").await, json!(null));
    assert_eq!(laptop.json(&b, "/auth/me").await, json!("ada"));
    let listed = devices(&mut laptop, &b).await;
    assert_eq!(listed.len(), 1);
    assert!(listed[0].2);

    // All: this browser too.
    let r = laptop.send(&b, "DELETE", "/auth/devices", None).await;
    assert_eq!(r.body, "1");
    assert!(
        laptop.cookie().is_none(),
        "signing out everywhere removes the cookie"
    );
    let mut again = signed_in(&a, "again").await;
    assert_eq!(devices(&mut again, &b).await.len(), 1);
}

/// Ten regenerates of one session at once, on two app instances (a
/// double-submitted sign-in form): one moves the session, the others leave
/// the cookie alone, so the browser ends with one live session that has the
/// data, and the old id is dead on both instances.
async fn parallel_regenerates_leave_one_session(store: &Store) {
    if !store.server_side() {
        return;
    }
    let servers = [store.server(), store.server()];
    let mut browser = Browser::new();
    browser.send(&servers[0], "POST", "/write", None).await;
    browser
        .send(&servers[0], "PUT", "/kv/pref", Some(r#""dark""#))
        .await;
    let old = browser.cookie().unwrap().to_owned();
    let cookie = browser.cookie_header();
    let set = ten_at_once(
        &servers,
        "/regenerate",
        &cookie,
        StatusCode::NO_CONTENT,
        store.name,
    )
    .await;
    assert_eq!(
        set.len(),
        1,
        "{}: one regenerate moves the session; the others set no cookie (a removal \
         would sign the winner out): {} cookies set",
        store.name,
        set.len()
    );
    assert!(!set[0].is_empty() && set[0] != old, "{}", store.name);
    browser.set_cookie(Some(&set[0]));
    for server in &servers {
        assert_eq!(browser.send(server, "GET", "/read", None).await.body, "1");
        assert_eq!(browser.json(server, "/kv/pref").await, json!("dark"));
    }
    let mut attacker = Browser::new();
    attacker.set_cookie(Some(&old));
    for server in &servers {
        assert_eq!(attacker.send(server, "GET", "/read", None).await.body, "0");
    }
    if let Some(left) = store.expiries().await {
        let live = left.iter().filter(|&&secs| secs > 0).count();
        assert_eq!(
            live, 1,
            "{}: one live record, not one per regenerate: {left:?}",
            store.name
        );
    }
}

/// A module per store, a test per scenario in each.
/// Every way a session is written leaves a record that the store itself
/// expires within the idle timeout (600 s here), and a user's device index
/// shortly after: nothing outlives it, even if the app's cleanup never runs.
async fn every_stored_record_expires_within_the_timeout(store: &Store) {
    let server = store.server();
    let mut a = Browser::new();
    a.send(&server, "POST", "/write", None).await;
    a.send(&server, "PUT", "/kv/pref", Some(r#"{"theme":"dark"}"#))
        .await;
    a.send(&server, "POST", "/flash/notice", Some(r#""saved""#))
        .await;
    a.send(&server, "POST", "/incr/hits", None).await;
    a.send(&server, "POST", "/regenerate", None).await;
    let mut b = Browser::new();
    b.send(&server, "POST", "/write", None).await;
    b.send(&server, "GET", "/login", None).await;
    b.send(&server, "POST", "/write", None).await;
    let mut c = Browser::new();
    c.send(&server, "POST", "/write", None).await;
    let r = c.send(&server, "POST", "/logout", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // A signed-in session, and so its user's device index.
    let mut d = Browser::new();
    d.send(&server, "POST", "/auth/login/ada", None).await;
    d.send(&server, "POST", "/write", None).await;

    let mut left = store
        .expiries()
        .await
        .expect("this store's records can be listed");
    assert_eq!(
        left.len(),
        4,
        "{}: a's, b's and d's sessions and ada's index, nothing else: {left:?}",
        store.name
    );
    // The index outlives its sessions by at most the refresh interval (60 s
    // in the testbed) and a minute; everything else expires within the idle
    // timeout.
    left.sort_unstable();
    let index = left.pop().unwrap();
    assert!(
        (1..=600 + 60 + 60).contains(&index),
        "{}: the index expires in {index} s",
        store.name
    );
    for secs in left {
        assert!(
            (1..=600).contains(&secs),
            "{}: a record expires in {secs} s",
            store.name
        );
    }
}

macro_rules! http_suite {
    (stores: [$($module:ident = $store:literal),* $(,)?], scenarios: $scenarios:tt) => {
        $(http_suite!(@store $module = $store, $scenarios);)*
    };
    (@store $module:ident = $store:literal, [$($scenario:ident),* $(,)?]) => {
        mod $module {
            $(
                #[actix_rt::test]
                async fn $scenario() {
                    let store = super::Store::new($store).await;
                    super::$scenario(&store).await;
                    store.finish().await;
                }
            )*
        }
    };
}

http_suite! {
    stores: [
        memory = "memory",
        cookie = "cookie",
        file = "file",
        redis = "redis",
        redis_cluster = "redis-cluster",
        sqlite = "sqlite",
        postgres = "postgres",
        mysql = "mysql",
    ],
    scenarios: [
        counter_and_key_value_routes,
        login_resets_and_logout_ends_the_counter,
        login_regenerates_and_logout_destroys,
        one_session_alternates_between_two_servers,
        forty_parallel_increments_of_two_keys_end_at_forty_each,
        flash_shows_a_message_in_the_next_request_only,
        typed_cart,
        parallel_regenerates_leave_one_session,
        login_and_logout_on_two_instances,
        devices_are_listed_and_revoked_on_two_instances,
        renewal_under_parallel_requests_loses_nothing,
    ]
}

/// The stores whose records the test can list and check for an expiry.
mod expiry {
    use super::{every_stored_record_expires_within_the_timeout, Store};

    http_suite! {
        stores: [
            redis = "redis",
            redis_cluster = "redis-cluster",
            sqlite = "sqlite",
            postgres = "postgres",
            mysql = "mysql",
        ],
        scenarios: [every_stored_record_expires_within_the_timeout]
    }
}
