//! The SQL driver against real databases: SQLite (a temporary file),
//! PostgreSQL on 127.0.0.1:5432 and MariaDB / MySQL on 127.0.0.1:3306.
//!
//! The servers must be running: `scripts/test.sh` starts them (or run
//! `. scripts/services.sh; ensure_postgres; ensure_mariadb`). A test whose
//! server does not answer fails and says so; none is skipped. Set
//! `SESSION_TEST_POSTGRES_URL` / `SESSION_TEST_MYSQL_URL` to use other
//! servers. Every test works in a table of its own and drops it at the end.

use std::time::{Duration, Instant};

use serde_json::json;
use session_core::driver::sql::sqlx::{self, MySqlPool, PgPool, SqlitePool};
use session_core::driver::sql::{SqlDriver, DEFAULT_TIMEOUT};
use session_core::driver::{
    conformance, Clock, DriverError, SessionDriver, SessionId, SettingsError, SystemClock,
    Timestamp, Update,
};
use session_core::driver::{DriverRegistry, DriverSettings};
use sha2::{Digest, Sha256};

use session_test_support::fixtures::{at, record};
use session_test_support::sql::{mysql_url, postgres_url};

fn unique_table() -> String {
    session_test_support::sql::unique_table("t")
}

/// The pool under a driver, for checks the driver's API does not offer.
#[derive(Clone)]
enum Raw {
    Sqlite(SqlitePool),
    Postgres(PgPool),
    MySql(MySqlPool),
}

macro_rules! on_raw {
    ($raw:expr, $pool:ident => $body:expr) => {
        match $raw {
            Raw::Sqlite($pool) => $body,
            Raw::Postgres($pool) => $body,
            Raw::MySql($pool) => $body,
        }
    };
}

/// A driver on a fresh table (not yet migrated unless `migrated` is used).
struct Db {
    driver: SqlDriver,
    raw: Raw,
    table: String,
    url: String,
    _dir: Option<tempfile::TempDir>,
}

impl Db {
    async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/sessions.db", dir.path().display());
        let driver = SqlDriver::connect(&url).await.unwrap();
        // A second pool on the same file, for the raw checks.
        let raw = SqlitePool::connect(&url).await.unwrap();
        Self::finish_setup(driver, Raw::Sqlite(raw), url, Some(dir))
    }

    async fn postgres() -> Self {
        let url = postgres_url();
        let pool = match PgPool::connect(&url).await {
            Ok(pool) => pool,
            Err(e) => panic!(
                "PostgreSQL is not answering at {url} ({e}); start it with scripts/test.sh or \
                 `. scripts/services.sh; ensure_postgres`"
            ),
        };
        let driver = SqlDriver::from_pg_pool(pool.clone());
        Self::finish_setup(driver, Raw::Postgres(pool), url, None)
    }

    async fn mysql() -> Self {
        let url = mysql_url();
        let pool = match MySqlPool::connect(&url).await {
            Ok(pool) => pool,
            Err(e) => panic!(
                "MariaDB / MySQL is not answering at {url} ({e}); start it with scripts/test.sh \
                 or `. scripts/services.sh; ensure_mariadb`"
            ),
        };
        let driver = SqlDriver::from_mysql_pool(pool.clone());
        Self::finish_setup(driver, Raw::MySql(pool), url, None)
    }

    fn finish_setup(
        driver: SqlDriver,
        raw: Raw,
        url: String,
        dir: Option<tempfile::TempDir>,
    ) -> Self {
        let table = unique_table();
        Self {
            driver: driver.with_table(&table).unwrap(),
            raw,
            table,
            url,
            _dir: dir,
        }
    }

    async fn migrated(self) -> Self {
        self.driver.migrate().await.unwrap();
        self
    }

    fn quoted(&self) -> String {
        match self.raw {
            Raw::MySql(_) => format!("`{}`", self.table),
            _ => format!("\"{}\"", self.table),
        }
    }

    async fn count(&self) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {}", self.quoted());
        on_raw!(&self.raw, pool => sqlx::query_as::<_, (i64,)>(&sql).fetch_one(pool).await.unwrap().0)
    }

    async fn stored_ids(&self) -> Vec<Vec<u8>> {
        let sql = format!("SELECT id FROM {}", self.quoted());
        on_raw!(&self.raw, pool => sqlx::query_as::<_, (Vec<u8>,)>(&sql)
            .fetch_all(pool)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.0)
            .collect())
    }

    /// The `record` column of `id`'s row.
    async fn record_bytes(&self, id: &SessionId) -> Vec<u8> {
        let sql = format!(
            "SELECT record FROM {} WHERE id = {}",
            self.quoted(),
            self.param(1)
        );
        let hash = Sha256::digest(id.as_str().as_bytes()).to_vec();
        on_raw!(&self.raw, pool => sqlx::query_as::<_, (Vec<u8>,)>(&sql)
            .bind(hash)
            .fetch_one(pool)
            .await
            .unwrap()
            .0)
    }

    /// Writes `bytes` into the `record` column of `id`'s row.
    async fn set_record_bytes(&self, id: &SessionId, bytes: &[u8]) {
        let sql = format!(
            "UPDATE {} SET record = {} WHERE id = {}",
            self.quoted(),
            self.param(1),
            self.param(2)
        );
        let hash = Sha256::digest(id.as_str().as_bytes()).to_vec();
        on_raw!(&self.raw, pool => {
            sqlx::query(&sql).bind(bytes).bind(hash).execute(pool).await.unwrap();
        });
    }

    /// The `n`th bind parameter in the backend's syntax.
    fn param(&self, n: usize) -> String {
        match self.raw {
            Raw::Postgres(_) => format!("${n}"),
            _ => "?".to_owned(),
        }
    }

    async fn drop_table(self) {
        let sql = format!("DROP TABLE IF EXISTS {}", self.quoted());
        on_raw!(&self.raw, pool => { sqlx::query(&sql).execute(pool).await.unwrap(); });
    }
}

fn now() -> Timestamp {
    SystemClock.now()
}

// ---------------------------------------------------------------------------
// The checks, each run on every backend by `for_each_backend!` below.

async fn conforms(db: Db) {
    let db = db.migrated().await;
    let driver = db.driver.clone();
    conformance::run(|| {
        let driver = driver.clone();
        async move { driver }
    })
    .await;
    db.drop_table().await;
}

async fn migrate_is_idempotent_and_check_schema_explains_a_missing_table(db: Db) {
    let e = db.driver.check_schema().await.unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("migrate") && msg.contains(&db.table), "{msg}");
    db.driver.migrate().await.unwrap();
    db.driver.migrate().await.unwrap();
    db.driver.check_schema().await.unwrap();
    assert_eq!(db.count().await, 0);
    db.drop_table().await;
}

async fn ids_are_stored_as_sha256(db: Db) {
    let db = db.migrated().await;
    let id = SessionId::generate();
    let mut r = record(now().as_secs(), now().as_secs() + 60);
    r.data.insert("k".into(), json!("v"));
    db.driver.create(&id, &r).await.unwrap();
    let hash = Sha256::digest(id.as_str().as_bytes()).to_vec();
    assert_eq!(db.stored_ids().await, vec![hash]);
    db.drop_table().await;
}

async fn create_replaces_an_expired_row_but_never_a_live_one(db: Db) {
    let db = db.migrated().await;
    let id = SessionId::generate();
    let mut first = record(1_000, 2_000);
    first.data.insert("who".into(), json!("first"));
    db.driver.create(&id, &first).await.unwrap();
    // Live at 1 500: refused, and the row is unchanged.
    let mut second = record(1_500, 3_000);
    second.data.insert("who".into(), json!("second"));
    assert!(matches!(
        db.driver.create(&id, &second).await,
        Err(DriverError::AlreadyExists)
    ));
    assert_eq!(db.driver.load(&id, at(1_500)).await.unwrap(), Some(first));
    // Expired at 2 000: replaced in place.
    let mut third = record(2_000, 4_000);
    third.data.insert("who".into(), json!("third"));
    db.driver.create(&id, &third).await.unwrap();
    assert_eq!(db.driver.load(&id, at(2_500)).await.unwrap(), Some(third));
    assert_eq!(db.count().await, 1);
    db.drop_table().await;
}

/// The race the create statement has to win: many app servers creating the
/// same id at once over a row that has just expired. Whatever the
/// interleaving (MySQL deletes the expired row and inserts again in two
/// statements), exactly one create succeeds, the others are told the id is
/// taken, and the one row left is the winner's.
async fn parallel_creates_over_an_expired_row_have_one_winner(db: Db) {
    const ROUNDS: u64 = 40;
    const WRITERS: u64 = 12;
    let db = db.migrated().await;
    for round in 0..ROUNDS {
        let id = SessionId::generate();
        let start = 10_000 * (round + 1);
        db.driver
            .create(&id, &record(start, start + 100))
            .await
            .unwrap();
        let creates = (0..WRITERS).map(|writer| {
            let (driver, id) = (db.driver.clone(), id.clone());
            tokio::spawn(async move {
                let mut r = record(start + 100, start + 1_000);
                r.data.insert("writer".into(), json!(writer));
                (writer, driver.create(&id, &r).await)
            })
        });
        let mut winners = Vec::new();
        for done in futures_util::future::join_all(creates).await {
            match done.unwrap() {
                (writer, Ok(())) => winners.push(writer),
                (_, Err(DriverError::AlreadyExists)) => {}
                (_, Err(e)) => panic!("round {round}: a create failed: {e}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        let stored = db.driver.load(&id, at(start + 200)).await.unwrap().unwrap();
        assert_eq!(stored.data["writer"], json!(winners[0]), "round {round}");
    }
    assert_eq!(db.count().await, ROUNDS as i64);
    db.drop_table().await;
}

async fn update_checks_the_version_and_never_resurrects(db: Db) {
    let db = db.migrated().await;
    let id = SessionId::generate();
    db.driver.create(&id, &record(1_000, 2_000)).await.unwrap();

    let mut next = record(1_100, 2_100);
    next.version = 2;
    next.data.insert("n".into(), json!(1));
    match db.driver.update(&id, &next, 7).await.unwrap() {
        Update::Conflict(Some(current)) => assert_eq!(current, record(1_000, 2_000)),
        other => panic!("expected a conflict carrying the stored record, got {other:?}"),
    }
    assert!(matches!(
        db.driver.update(&id, &next, 1).await.unwrap(),
        Update::Updated
    ));
    assert_eq!(
        db.driver.load(&id, at(1_100)).await.unwrap(),
        Some(next.clone())
    );

    // Past its expiry the row is gone for `update`, which writes nothing.
    let mut late = record(2_100, 3_000);
    late.version = 3;
    assert!(matches!(
        db.driver.update(&id, &late, 2).await.unwrap(),
        Update::Gone
    ));
    assert_eq!(db.driver.load(&id, at(1_100)).await.unwrap(), Some(next));
    // Destroyed: gone, and no row appears.
    db.driver.destroy(&id).await.unwrap();
    assert!(matches!(
        db.driver.update(&id, &late, 2).await.unwrap(),
        Update::Gone
    ));
    assert_eq!(db.count().await, 0);
    db.drop_table().await;
}

/// A row written by an earlier release holds the record as JSON: it loads
/// as it was, and its next save writes the compact form.
async fn a_json_record_of_earlier_releases_loads_and_its_next_save_is_compact(db: Db) {
    let db = db.migrated().await;
    let id = SessionId::generate();
    let mut old = record(1_000, 2_000);
    old.data.insert("who".into(), json!("Zoë"));
    db.driver.create(&id, &old).await.unwrap();
    let json = serde_json::to_vec(&old).unwrap();
    db.set_record_bytes(&id, &json).await;

    let loaded = db.driver.load(&id, at(1_100)).await.unwrap().unwrap();
    assert_eq!(loaded, old);
    let mut next = loaded.clone();
    next.data.insert("n".into(), json!(1));
    next.version = old.version + 1;
    assert!(matches!(
        db.driver.update(&id, &next, old.version).await.unwrap(),
        Update::Updated
    ));
    let stored = db.record_bytes(&id).await;
    assert_eq!(stored, next.encode().unwrap());
    assert_ne!(stored[0], b'{');
    assert_eq!(db.driver.load(&id, at(1_100)).await.unwrap(), Some(next));
    db.drop_table().await;
}

async fn touch_moves_expiry_in_the_columns_and_load_agrees(db: Db) {
    let db = db.migrated().await;
    let id = SessionId::generate();
    let mut r = record(1_000, 2_000);
    r.data.insert("kept".into(), json!([1, 2]));
    db.driver.create(&id, &r).await.unwrap();
    assert!(db.driver.touch(&id, at(1_500), at(5_000)).await.unwrap());
    // The same values again still count as touched (MySQL reports matched
    // rows, not changed ones).
    assert!(db.driver.touch(&id, at(1_500), at(5_000)).await.unwrap());
    let loaded = db.driver.load(&id, at(4_000)).await.unwrap().unwrap();
    assert_eq!(loaded.last_active, at(1_500));
    assert_eq!(loaded.expires_at, at(5_000));
    assert_eq!(loaded.data, r.data);
    assert_eq!(loaded.version, 1);
    assert!(!db.driver.touch(&id, at(5_000), at(9_000)).await.unwrap());
    db.drop_table().await;
}

async fn cleanup_deletes_expired_rows_in_batches_and_keeps_live_ones(db: Db) {
    let db = db.migrated().await;
    let mut live = Vec::new();
    for i in 0..25 {
        let id = SessionId::generate();
        db.driver
            .create(&id, &record(1_000, 1_100 + i))
            .await
            .unwrap();
    }
    for _ in 0..5 {
        let id = SessionId::generate();
        db.driver.create(&id, &record(1_000, 9_000)).await.unwrap();
        live.push(id);
    }
    assert_eq!(db.driver.cleanup(at(1_000), 10).await.unwrap(), 0);
    let now = at(2_000);
    assert_eq!(db.driver.cleanup(now, 10).await.unwrap(), 10);
    assert_eq!(db.driver.cleanup(now, 10).await.unwrap(), 10);
    assert_eq!(db.driver.cleanup(now, 10).await.unwrap(), 5);
    assert_eq!(db.driver.cleanup(now, 10).await.unwrap(), 0);
    assert_eq!(db.count().await, 5);
    for id in &live {
        assert!(db.driver.load(id, now).await.unwrap().is_some());
    }
    db.drop_table().await;
}

async fn spawned_cleanup_runs_until_dropped(db: Db) {
    let db = db.migrated().await;
    let t = now().as_secs();
    for _ in 0..7 {
        let id = SessionId::generate();
        db.driver
            .create(&id, &record(t - 100, t - 50))
            .await
            .unwrap();
    }
    let keep = SessionId::generate();
    db.driver
        .create(&keep, &record(t, t + 3_600))
        .await
        .unwrap();
    // Batches of 2: the task must loop until a short batch.
    let task = db.driver.spawn_cleanup(Duration::from_millis(50), 2);
    let deadline = Instant::now() + Duration::from_secs(10);
    while db.count().await > 1 {
        assert!(
            Instant::now() < deadline,
            "the cleanup task did not remove the expired rows"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(db.driver.load(&keep, now()).await.unwrap().is_some());
    assert!(!task.is_finished());
    drop(task);
    // Rows expiring from now on are no longer removed.
    let id = SessionId::generate();
    db.driver
        .create(&id, &record(t - 100, t - 50))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(db.count().await, 2);
    db.drop_table().await;
}

async fn a_slow_store_is_a_timeout(db: Db) {
    let db = db.migrated().await;
    // A pool of one connection, held here: every operation waits for it.
    let (driver, _held) = match &db.raw {
        Raw::Sqlite(_) => {
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect(&db.url)
                .await
                .unwrap();
            let held = pool.acquire().await.unwrap();
            (
                SqlDriver::from_sqlite_pool(pool),
                Box::new(held) as Box<dyn Send>,
            )
        }
        Raw::Postgres(_) => {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(&db.url)
                .await
                .unwrap();
            let held = pool.acquire().await.unwrap();
            (
                SqlDriver::from_pg_pool(pool),
                Box::new(held) as Box<dyn Send>,
            )
        }
        Raw::MySql(_) => {
            let pool = sqlx::mysql::MySqlPoolOptions::new()
                .max_connections(1)
                .connect(&db.url)
                .await
                .unwrap();
            let held = pool.acquire().await.unwrap();
            (
                SqlDriver::from_mysql_pool(pool),
                Box::new(held) as Box<dyn Send>,
            )
        }
    };
    let limit = Duration::from_millis(150);
    let driver = driver.with_table(&db.table).unwrap().with_timeout(limit);
    let started = Instant::now();
    match driver.load(&SessionId::generate(), now()).await {
        Err(DriverError::Timeout(d)) => assert_eq!(d, limit),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(3));
    drop(_held);
    db.drop_table().await;
}

async fn the_registry_builds_it_from_settings_and_wants_the_table(db: Db) {
    let name = db.driver.name();
    let mut settings = DriverSettings::new(name);
    settings.url = Some(db.url.clone());
    settings.table = Some(db.table.clone());
    settings.timeout_ms = Some(2_000);
    let registry = DriverRegistry::with_builtins();
    let e = registry.build(&settings).await.unwrap_err();
    assert!(matches!(e, SettingsError::Driver { .. }), "{e}");
    assert!(e.to_string().contains("migrate"), "{e}");

    db.driver.migrate().await.unwrap();
    let driver = registry.build(&settings).await.unwrap();
    assert_eq!(driver.name(), name);
    let id = SessionId::generate();
    driver
        .create(&id, &record(now().as_secs(), now().as_secs() + 60))
        .await
        .unwrap();
    assert!(db.driver.load(&id, now()).await.unwrap().is_some());

    // Bad settings are named.
    let mut bad = settings.clone();
    bad.url = None;
    assert!(matches!(
        registry.build(&bad).await,
        Err(SettingsError::Missing { .. })
    ));
    let mut bad = settings.clone();
    bad.table = Some("sessions; DROP TABLE x".into());
    match registry.build(&bad).await {
        Err(SettingsError::Invalid { setting, .. }) => assert_eq!(setting, "table"),
        other => panic!("expected an invalid table, got {other:?}"),
    }
    let mut bad = settings.clone();
    bad.url = Some(match name {
        "postgres" => mysql_url(),
        _ => postgres_url(),
    });
    match registry.build(&bad).await {
        Err(SettingsError::Invalid { setting, .. }) => assert_eq!(setting, "url"),
        other => panic!("expected a URL for the wrong database to be refused, got {other:?}"),
    }
    db.drop_table().await;
}

async fn mixed_case_table_names_are_quoted_consistently(db: Db) {
    let table = format!("Mixed_{}", db.table);
    let driver = db.driver.clone().with_table(&table).unwrap();
    driver.migrate().await.unwrap();
    let id = SessionId::generate();
    driver.create(&id, &record(1_000, 2_000)).await.unwrap();
    assert!(driver.load(&id, at(1_000)).await.unwrap().is_some());
    assert_eq!(driver.cleanup(at(3_000), 10).await.unwrap(), 1);
    let db = Db { table, ..db };
    db.drop_table().await;
}

macro_rules! for_each_backend {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() { super::$check(Db::sqlite().await).await; })*
        }
        mod postgres {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() { super::$check(Db::postgres().await).await; })*
        }
        mod mysql {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() { super::$check(Db::mysql().await).await; })*
        }
    };
}

for_each_backend!(
    conforms,
    migrate_is_idempotent_and_check_schema_explains_a_missing_table,
    ids_are_stored_as_sha256,
    create_replaces_an_expired_row_but_never_a_live_one,
    parallel_creates_over_an_expired_row_have_one_winner,
    update_checks_the_version_and_never_resurrects,
    a_json_record_of_earlier_releases_loads_and_its_next_save_is_compact,
    touch_moves_expiry_in_the_columns_and_load_agrees,
    cleanup_deletes_expired_rows_in_batches_and_keeps_live_ones,
    spawned_cleanup_runs_until_dropped,
    a_slow_store_is_a_timeout,
    the_registry_builds_it_from_settings_and_wants_the_table,
    mixed_case_table_names_are_quoted_consistently,
);

// ---------------------------------------------------------------------------
// Backend-independent.

#[tokio::test]
async fn debug_and_errors_never_show_the_password() {
    let url = postgres_url().replace("postgres@", "postgres:hunter2@");
    let driver = SqlDriver::connect(&url).await.unwrap();
    let shown = format!("{driver:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(
        shown.contains("postgres") && shown.contains("sessions"),
        "{shown}"
    );

    // A server that is not there: the error does not echo the URL either.
    let e = SqlDriver::connect("postgres://u:hunter2@127.0.0.1:1/db")
        .await
        .unwrap_err();
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    let e = SqlDriver::connect("oracle://u:hunter2@db/x")
        .await
        .unwrap_err();
    assert!(!e.to_string().contains("hunter2"), "{e}");
    assert!(e.to_string().contains("sqlite:"), "{e}");
}

#[tokio::test]
async fn the_defaults_are_the_documented_ones() {
    let driver = SqlDriver::connect("sqlite::memory:").await.unwrap();
    assert_eq!(driver.table(), "sessions");
    assert_eq!(driver.timeout(), DEFAULT_TIMEOUT);
    assert!(driver.clone().with_table("no-dashes").is_err());
    // An in-memory database is shared by the pool's connections.
    driver.migrate().await.unwrap();
    let id = SessionId::generate();
    driver.create(&id, &record(1_000, 2_000)).await.unwrap();
    // Loads in parallel take several connections of the pool.
    let loads: Vec<_> = (0..20)
        .map(|_| {
            let (driver, id) = (driver.clone(), id.clone());
            tokio::spawn(async move { driver.load(&id, at(1_000)).await })
        })
        .collect();
    for load in loads {
        assert!(load.await.unwrap().unwrap().is_some());
    }
    assert_eq!(driver.migration().len(), 2);
}
