//! The testbed on the SQL drivers, served by real `HttpServer`s and driven
//! over real connections: two app servers (each with its own pool) share one
//! database, as a deployment behind a load balancer would.
//!
//! Needs PostgreSQL on 127.0.0.1:5432 and MariaDB / MySQL on 127.0.0.1:3306
//! (`scripts/test.sh` starts them; `SESSION_TEST_POSTGRES_URL` and
//! `SESSION_TEST_MYSQL_URL` point elsewhere). A missing server fails the test
//! with a message saying so. Each test uses a table of its own and drops it.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpServer};
use awc::http::header::{COOKIE, SET_COOKIE};
use awc::http::StatusCode;
use session_actix::driver::sql::sqlx;
use session_actix::driver::{Clock, ManualClock, SessionDriver, SystemClock};
use session_actix::{SessionMiddleware, SqlDriver};
use session_examples::testbed::{routes, Options, COOKIE_NAME};

fn url(store: &str, dir: &tempfile::TempDir) -> String {
    match store {
        "sqlite" => format!("sqlite://{}/sessions.db", dir.path().display()),
        "postgres" => std::env::var("SESSION_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
        _ => std::env::var("SESSION_TEST_MYSQL_URL")
            .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into()),
    }
}

fn unique_table() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "http_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// One database (a table in it) for a test.
struct Db {
    store: &'static str,
    url: String,
    table: String,
    _dir: tempfile::TempDir,
}

impl Db {
    fn new(store: &'static str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self {
            store,
            url: url(store, &dir),
            table: unique_table(),
            _dir: dir,
        }
    }

    fn options(&self) -> Options {
        Options::parse(
            [
                "--store",
                self.store,
                "--database-url",
                &self.url,
                "--table",
                &self.table,
                "--ttl",
                "600",
            ]
            .map(String::from),
        )
        .unwrap()
    }

    /// A driver with its own pool, the table created as the testbed does.
    async fn driver(&self) -> SqlDriver {
        match self.options().sql_driver().await {
            Ok(driver) => driver,
            Err(e) => {
                let start = match self.store {
                    "postgres" => "ensure_postgres",
                    _ => "ensure_mariadb",
                };
                panic!(
                    "the {} database did not answer ({e}); start it with scripts/test.sh or \
                     `. scripts/services.sh; {start}`",
                    self.store
                )
            }
        }
    }

    async fn drop_table(self) {
        let quoted = match self.store {
            "mysql" => format!("`{}`", self.table),
            _ => format!("\"{}\"", self.table),
        };
        let sql = format!("DROP TABLE IF EXISTS {quoted}");
        match self.store {
            "sqlite" => {
                let pool = sqlx::SqlitePool::connect(&self.url).await.unwrap();
                sqlx::query(&sql).execute(&pool).await.unwrap();
            }
            "postgres" => {
                let pool = sqlx::PgPool::connect(&self.url).await.unwrap();
                sqlx::query(&sql).execute(&pool).await.unwrap();
            }
            _ => {
                let pool = sqlx::MySqlPool::connect(&self.url).await.unwrap();
                sqlx::query(&sql).execute(&pool).await.unwrap();
            }
        }
    }
}

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

/// An app server on its own port with its own pool, like a second machine.
async fn serve(sessions: SessionMiddleware) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(move || App::new().wrap(sessions.clone()).configure(routes))
        .workers(2)
        .listen(listener)
        .unwrap()
        .run();
    let handle = server.handle();
    actix_rt::spawn(server);
    Server { base, handle }
}

async fn testbed_server(db: &Db) -> Server {
    let opts = db.options();
    let driver = db.driver().await;
    serve(opts.middleware(Arc::new(driver)).unwrap()).await
}

/// A client that keeps the session cookie like a browser, and can be sent
/// to any server.
struct Browser {
    client: awc::Client,
    cookie: Option<String>,
}

impl Browser {
    fn new() -> Self {
        Self {
            client: awc::Client::default(),
            cookie: None,
        }
    }

    async fn send(&mut self, server: &Server, method: &str, path: &str) -> (StatusCode, String) {
        let url = format!("{}{}", server.base, path);
        let mut req = self.client.request(method.parse().unwrap(), url);
        if let Some(c) = &self.cookie {
            req = req.insert_header((COOKIE, format!("{COOKIE_NAME}={c}")));
        }
        let mut res = req.send().await.unwrap();
        for h in res.headers().get_all(SET_COOKIE) {
            let pair = h.to_str().unwrap().split(';').next().unwrap();
            if let Some(v) = pair.strip_prefix(&format!("{COOKIE_NAME}=")) {
                self.cookie = (!v.is_empty()).then(|| v.to_owned());
            }
        }
        let body = res.body().await.unwrap();
        (res.status(), String::from_utf8(body.to_vec()).unwrap())
    }
}

// ---------------------------------------------------------------------------

async fn one_session_alternates_between_two_servers(store: &'static str) {
    let db = Db::new(store);
    let (a, b) = (testbed_server(&db).await, testbed_server(&db).await);
    let mut browser = Browser::new();
    assert_eq!(browser.send(&a, "POST", "/write").await.1, "1");
    let first = browser.cookie.clone().expect("a cookie after a write");
    assert_eq!(browser.send(&b, "POST", "/write").await.1, "2");
    assert_eq!(browser.send(&a, "POST", "/write").await.1, "3");
    assert_eq!(browser.send(&b, "GET", "/read").await.1, "3");
    assert_eq!(browser.cookie.as_deref(), Some(first.as_str()));

    // Log in on one server, the old id is dead on both.
    assert_eq!(browser.send(&b, "GET", "/login").await.1, "ok");
    assert_ne!(browser.cookie.as_deref(), Some(first.as_str()));
    assert_eq!(browser.send(&a, "POST", "/write").await.1, "1");
    let mut attacker = Browser::new();
    attacker.cookie = Some(first);
    assert_eq!(attacker.send(&a, "GET", "/read").await.1, "0");
    assert_eq!(attacker.send(&b, "GET", "/read").await.1, "0");

    // Log out on one server, and the other agrees.
    assert_eq!(
        browser.send(&a, "POST", "/logout").await.0,
        StatusCode::NO_CONTENT
    );
    assert!(browser.cookie.is_none());
    assert_eq!(browser.send(&b, "GET", "/read").await.1, "0");
    drop((a, b));
    db.drop_table().await;
}

async fn forty_parallel_increments_of_two_keys_end_at_forty_each(store: &'static str) {
    let db = Db::new(store);
    let servers = [testbed_server(&db).await, testbed_server(&db).await];
    let mut browser = Browser::new();
    browser.send(&servers[0], "POST", "/write").await;
    let cookie = format!("{COOKIE_NAME}={}", browser.cookie.clone().unwrap());
    let client = awc::Client::default();
    // 80 requests at once, alternating servers and keys.
    let requests = (0..80).map(|i| {
        let key = if i % 2 == 0 { "a" } else { "b" };
        let server = &servers[(i / 2) % 2];
        client
            .post(format!("{}/incr/{key}", server.base))
            .insert_header((COOKIE, cookie.clone()))
            .timeout(Duration::from_secs(60))
            .send()
    });
    for res in futures_util::future::join_all(requests).await {
        let res = res.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{store}: an increment failed");
    }
    for (server, key) in [(&servers[0], "a"), (&servers[1], "b")] {
        let (status, body) = browser.send(server, "GET", &format!("/kv/{key}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, "40", "{store}: increments of {key:?} were lost");
    }
    drop(servers);
    db.drop_table().await;
}

async fn cleanup_removes_expired_rows_and_keeps_live_ones(store: &'static str) {
    let db = Db::new(store);
    let driver = db.driver().await;
    let clock = ManualClock::new(SystemClock.now());
    let sessions = SessionMiddleware::builder(driver.clone())
        .cookie_name(COOKIE_NAME)
        .secure(false)
        .idle_timeout(Duration::from_secs(60))
        .refresh_after(Duration::from_secs(10))
        .clock(clock.clone())
        .build()
        .unwrap();
    let server = serve(sessions).await;

    let mut browsers: Vec<Browser> = (0..3).map(|_| Browser::new()).collect();
    for b in &mut browsers {
        assert_eq!(b.send(&server, "POST", "/write").await.1, "1");
    }
    // 40 s later only the first browser comes back; its session now lives
    // until 100 s, the others' until 60 s.
    clock.advance(Duration::from_secs(40));
    assert_eq!(browsers[0].send(&server, "POST", "/write").await.1, "2");
    clock.advance(Duration::from_secs(30));

    let now = clock.now();
    assert_eq!(driver.cleanup(now, 100).await.unwrap(), 2, "{store}");
    assert_eq!(driver.cleanup(now, 100).await.unwrap(), 0, "{store}");
    assert_eq!(browsers[0].send(&server, "GET", "/read").await.1, "2");
    for b in &mut browsers[1..] {
        assert_eq!(
            b.send(&server, "GET", "/read").await.1,
            "0",
            "{store}: expired"
        );
    }
    assert_eq!(driver.name(), store);
    drop(server);
    db.drop_table().await;
}

macro_rules! on_every_database {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            $(#[actix_rt::test]
            async fn $check() { super::$check("sqlite").await; })*
        }
        mod postgres {
            $(#[actix_rt::test]
            async fn $check() { super::$check("postgres").await; })*
        }
        mod mysql {
            $(#[actix_rt::test]
            async fn $check() { super::$check("mysql").await; })*
        }
    };
}

on_every_database!(
    one_session_alternates_between_two_servers,
    forty_parallel_increments_of_two_keys_end_at_forty_each,
    cleanup_removes_expired_rows_and_keeps_live_ones,
);

#[actix_rt::test]
async fn the_testbed_needs_a_database_url_for_a_sql_store() {
    let opts = Options::parse(["--store", "postgres"].map(String::from)).unwrap();
    let e = opts.driver().await.unwrap_err();
    assert!(e.contains("--database-url"), "{e}");
}
