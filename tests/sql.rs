//! What only the SQL drivers do over HTTP: the batched cleanup of expired
//! rows, on every database. The scenarios every driver shares (two app
//! servers on one database, parallel increments ...) are in `tests/http.rs`.
//!
//! Needs PostgreSQL on 127.0.0.1:5432 and MariaDB / MySQL on 127.0.0.1:3306
//! (`scripts/test.sh` starts them; `SESSION_TEST_POSTGRES_URL` and
//! `SESSION_TEST_MYSQL_URL` point elsewhere). A missing server fails the test
//! with a message saying so. Each test uses a table of its own and drops it.

use std::time::Duration;

use session_actix::driver::{Clock, ManualClock, SessionDriver, SystemClock};
use session_actix::{SessionMiddleware, SqlDriver};
use session_examples::testbed::{self, Options, COOKIE_NAME};
use session_test_support::http::{Browser, Server};
use session_test_support::sql::{unique_table, url};

#[path = "support/sql_query.rs"]
mod sql_query;

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
            url: url(store, dir.path()),
            table: unique_table("http"),
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

    /// The test table's name, quoted for this database.
    fn quoted(&self) -> String {
        sql_query::quoted(self.store, &self.table)
    }

    /// Runs `sql` on a connection of its own; the first column of the first
    /// row as an integer, if it returns one.
    async fn query(&self, sql: &str) -> Option<i64> {
        sql_query::column(self.store, &self.url, sql)
            .await
            .first()
            .copied()
    }

    async fn drop_table(self) {
        self.query(&format!("DROP TABLE IF EXISTS {}", self.quoted()))
            .await;
    }
}

/// An app server on its own port with its own pool, like a second machine.
fn serve(sessions: SessionMiddleware) -> Server {
    Server::start(move |listener| testbed::serve(Some(sessions), listener))
}

// ---------------------------------------------------------------------------

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
    let server = serve(sessions);

    let mut browsers: Vec<Browser> = (0..3).map(|_| Browser::new()).collect();
    for b in &mut browsers {
        assert_eq!(b.send(&server, "POST", "/write", None).await.body, "1");
    }
    // 40 s later only the first browser comes back; its session now lives
    // until 100 s, the others' until 60 s.
    clock.advance(Duration::from_secs(40));
    assert_eq!(
        browsers[0].send(&server, "POST", "/write", None).await.body,
        "2"
    );
    clock.advance(Duration::from_secs(30));

    let now = clock.now();
    assert_eq!(driver.cleanup(now, 100).await.unwrap(), 2, "{store}");
    assert_eq!(driver.cleanup(now, 100).await.unwrap(), 0, "{store}");
    assert_eq!(
        browsers[0].send(&server, "GET", "/read", None).await.body,
        "2"
    );
    for b in &mut browsers[1..] {
        assert_eq!(
            b.send(&server, "GET", "/read", None).await.body,
            "0",
            "{store}: expired"
        );
    }
    assert_eq!(driver.name(), store);
    drop(server);
    db.drop_table().await;
}

/// The lock-out the hardening issue found: a row whose record no longer
/// decodes must not answer 500 to every request until it expires. It reads as
/// a fresh session, and a logout removes the row.
async fn an_unreadable_row_is_a_fresh_session_and_logout_removes_it(store: &'static str) {
    let db = Db::new(store);
    let driver = db.driver().await;
    let server = serve(
        db.options()
            .middleware(std::sync::Arc::new(driver))
            .unwrap(),
    );
    let mut b = Browser::new();
    assert_eq!(b.send(&server, "POST", "/write", None).await.body, "1");
    let cookie = b.cookie().unwrap().to_owned();
    let blob = match store {
        "postgres" => "BYTEA",
        "mysql" => "BINARY",
        _ => "BLOB",
    };
    let damage = format!(
        "UPDATE {} SET record = CAST('not a record' AS {blob})",
        db.quoted()
    );
    let count = format!("SELECT COUNT(*) FROM {}", db.quoted());
    db.query(&damage).await;
    let r = b.send(&server, "GET", "/read", None).await;
    assert_eq!(
        (r.status.as_u16(), r.body.as_str()),
        (200, "0"),
        "{store}: a fresh session, not a 500"
    );
    assert_eq!(
        b.cookie(),
        Some(cookie.as_str()),
        "{store}: a read leaves the cookie"
    );
    assert_eq!(db.query(&count).await, Some(1));
    let r = b.send(&server, "POST", "/logout", None).await;
    assert_eq!(r.status.as_u16(), 204, "{store}: logout works");
    assert_eq!(b.cookie(), None, "{store}: and removes the cookie");
    assert_eq!(db.query(&count).await, Some(0), "{store}: and the row");
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

// The scenarios every driver shares (two servers on one session, parallel
// increments ...) are in tests/http.rs.
on_every_database!(
    cleanup_removes_expired_rows_and_keeps_live_ones,
    an_unreadable_row_is_a_fresh_session_and_logout_removes_it,
);

#[actix_rt::test]
async fn the_testbed_needs_a_database_url_for_a_sql_store() {
    let opts = Options::parse(["--store", "postgres"].map(String::from)).unwrap();
    let e = opts.driver().await.unwrap_err();
    assert!(e.contains("--database-url"), "{e}");
}
