#![doc = include_str!("docs.md")]

#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use crate::cleanup::CleanupTask;
use crate::driver::{SessionDriver, Update};
use crate::error::DriverError;
use crate::id::SessionId;
use crate::record::Record;
use crate::settings::{DriverSettings, SettingsError};
use crate::time::Timestamp;

/// The `sqlx` crate this driver is built on, so an application can build a
/// pool of the exact same version for `SqlDriver::from_pg_pool` and its
/// siblings without naming `sqlx` in its own `Cargo.toml`.
pub use sqlx;

/// The table used unless [`SqlDriver::with_table`] or the `table` setting
/// names another.
pub const DEFAULT_TABLE: &str = "sessions";

/// The per-operation time limit unless [`SqlDriver::with_timeout`] or the
/// `timeout_ms` setting says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// A sensible `batch` for [`SqlDriver::cleanup`] and
/// [`SqlDriver::spawn_cleanup`]: small enough that one `DELETE` holds its
/// locks for milliseconds, large enough to keep up with any login rate.
pub const DEFAULT_CLEANUP_BATCH: u32 = 1000;

/// The longest table name accepted, so that the index name
/// (`<table>_expires_at_idx`) stays within every database's 63-character
/// identifier limit.
pub const MAX_TABLE_NAME_LEN: usize = 48;

/// A table name that [`SqlDriver::with_table`] (or the `table` setting)
/// refused.
///
/// The name is spliced into SQL (identifiers cannot be query parameters), so
/// only plain identifiers are accepted: ASCII letters, digits and `_`, not
/// starting with a digit, 1 to [`MAX_TABLE_NAME_LEN`] characters.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the session table name {name:?} is not usable: {reason}; use ASCII letters, digits and \
     underscores, not starting with a digit, at most 48 characters (for example `sessions`)"
)]
pub struct TableNameError {
    /// The name that was given.
    pub name: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// A validated table name: safe to splice into SQL between quotes.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Table(Arc<str>);

impl Table {
    fn parse(name: &str) -> Result<Self, TableNameError> {
        let fail = |reason| {
            Err(TableNameError {
                name: name.to_owned(),
                reason,
            })
        };
        if name.is_empty() {
            return fail("it is empty");
        }
        if name.len() > MAX_TABLE_NAME_LEN {
            return fail("it is too long");
        }
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return fail("it has a character other than a letter, a digit or `_`");
        }
        if name.as_bytes()[0].is_ascii_digit() {
            return fail("it starts with a digit");
        }
        Ok(Self(name.into()))
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The SQL of one backend for one table. Parameters are bound in the order
/// given for each query; the dialect files write them as `$n`, `?n` or `?`.
struct Queries {
    /// `(id, now)` → `(record, version, last_active, expires_at)` of the live row.
    load: String,
    create: Create,
    /// `(record, version, last_active, expires_at, id, expected_version, now)`;
    /// changes the row only if it is live and at the expected version.
    update: String,
    /// `(last_active, expires_at, id, now)`; changes the row only if live.
    touch: String,
    /// `(id)`.
    destroy: String,
    /// `(now, batch)`; deletes at most `batch` rows expired at `now`.
    cleanup: String,
    /// `()`; selects every column the driver uses, returning no row.
    probe: String,
    /// Run in order in one transaction by [`SqlDriver::migrate`].
    migrate: Vec<String>,
}

/// How a backend creates a row without overwriting a live one.
#[cfg_attr(
    any(
        not(feature = "mysql"),
        not(any(feature = "postgres", feature = "sqlite"))
    ),
    allow(dead_code)
)]
enum Create {
    /// `(id, record, version, last_active, expires_at, now)`: one `INSERT ...
    /// ON CONFLICT (id) DO UPDATE ... WHERE <existing row> expires_at <= now`.
    /// The database locks the conflicting row and judges its expiry on the
    /// latest version, so replacing an expired row is atomic; 0 rows
    /// affected means a live row holds the id.
    Upsert(String),
    /// MySQL / MariaDB: `insert` `(id, record, version, last_active,
    /// expires_at)`; on a duplicate key, `delete_expired` `(id, now)` and,
    /// if that removed the row, `insert` once more. `ON DUPLICATE KEY
    /// UPDATE` cannot be used: with the `CLIENT_FOUND_ROWS` flag that sqlx
    /// sets, "inserted" and "kept the live row" both report one affected
    /// row. A live row is never deleted (the `DELETE` re-checks expiry), and
    /// a second duplicate means another request created the id meanwhile.
    /// A statement InnoDB rolls back to break a deadlock (creates racing
    /// over one expired row) starts the create over.
    InsertOrReplaceExpired {
        insert: String,
        delete_expired: String,
    },
}

#[derive(Clone)]
enum Backend {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
    #[cfg(feature = "mysql")]
    MySql(sqlx::MySqlPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool of the backend, so
/// one piece of code serves every database (each arm is type-checked with its
/// own pool type).
macro_rules! with_pool {
    ($backend:expr, $pool:ident => $body:expr) => {
        match $backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite($pool) => $body,
            #[cfg(feature = "postgres")]
            Backend::Postgres($pool) => $body,
            #[cfg(feature = "mysql")]
            Backend::MySql($pool) => $body,
        }
    };
}

/// Sessions in a SQL table, on SQLite, PostgreSQL or MySQL / MariaDB.
///
/// Build it from a URL with [`SqlDriver::connect`], from a pool your
/// application already has with `SqlDriver::from_pg_pool` (and its
/// siblings), or from configuration with [`SqlDriver::from_settings`] (what
/// the `sqlite`, `postgres` and `mysql` names of
/// [`DriverRegistry::with_builtins`](crate::driver::DriverRegistry::with_builtins)
/// do). Create the table once with [`SqlDriver::migrate`] or the SQL file for
/// your database, and start [`SqlDriver::spawn_cleanup`] to delete expired
/// rows. See the [module docs](self) for the schema and production notes.
///
/// Cloning is cheap and every clone shares the pool. `Debug` shows the
/// backend, the table, the time limit and the pool's size, never the URL.
///
/// ```no_run
/// # #[cfg(feature = "postgres")]
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use session_actix::driver::sql::{SqlDriver, DEFAULT_CLEANUP_BATCH};
///
/// let driver = SqlDriver::connect("postgres://app@127.0.0.1/app")
///     .await?
///     .with_table("web_sessions")?
///     .with_timeout(Duration::from_secs(2));
/// driver.migrate().await?;
/// // Keep the handle: dropping it stops the cleanup.
/// let _cleanup = driver.spawn_cleanup(Duration::from_secs(60), DEFAULT_CLEANUP_BATCH);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SqlDriver {
    backend: Backend,
    table: Table,
    queries: Arc<Queries>,
    timeout: Duration,
}

impl fmt::Debug for SqlDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (size, idle) = with_pool!(&self.backend, pool => (pool.size(), pool.num_idle()));
        f.debug_struct("SqlDriver")
            .field("backend", &self.name())
            .field("table", &&*self.table.0)
            .field("timeout", &self.timeout)
            .field("pool_size", &size)
            .field("pool_idle", &idle)
            .finish()
    }
}

/// A message-only error, for failures that are not sqlx's.
#[derive(Debug)]
struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Message {}

/// The session table is missing or lacks a column.
#[derive(Debug)]
struct SchemaError {
    table: Table,
    backend: &'static str,
    source: sqlx::Error,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the session table {:?} is missing or lacks the driver's columns (id, record, version, \
             last_active, expires_at); create it with `SqlDriver::migrate()` or the SQL in \
             session-core/src/drivers/sql/migrations/{}.sql ({})",
            self.table.0, self.backend, self.source
        )
    }
}

impl std::error::Error for SchemaError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Which backend a URL's scheme names, or why none.
fn backend_of(url: &str) -> Result<&'static str, String> {
    let scheme = url
        .split(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let name = match scheme.as_str() {
        "sqlite" => "sqlite",
        "postgres" | "postgresql" => "postgres",
        "mysql" | "mariadb" => "mysql",
        _ => {
            return Err(format!(
                "the database URL must start with sqlite:, postgres:, postgresql:, mysql: or \
                 mariadb:, not {scheme:?}"
            ))
        }
    };
    let compiled = match name {
        "sqlite" => cfg!(feature = "sqlite"),
        "postgres" => cfg!(feature = "postgres"),
        _ => cfg!(feature = "mysql"),
    };
    if compiled {
        Ok(name)
    } else {
        Err(format!(
            "the database URL is for {name}, which this build does not include; enable the \
             `{name}` cargo feature of session-actix (or session-core)"
        ))
    }
}

impl SqlDriver {
    fn new(backend: Backend) -> Self {
        let table = Table(DEFAULT_TABLE.into());
        let queries = Arc::new(queries_for(&backend, &table));
        Self {
            backend,
            table,
            queries,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Uses a SQLite pool your application built. The driver does not change
    /// its settings: WAL mode and a busy timeout are recommended (see the
    /// [module docs](self)).
    #[cfg(feature = "sqlite")]
    pub fn from_sqlite_pool(pool: sqlx::SqlitePool) -> Self {
        Self::new(Backend::Sqlite(pool))
    }

    /// Uses a PostgreSQL pool your application built (and may share with its
    /// own queries).
    #[cfg(feature = "postgres")]
    pub fn from_pg_pool(pool: sqlx::PgPool) -> Self {
        Self::new(Backend::Postgres(pool))
    }

    /// Uses a MySQL / MariaDB pool your application built (and may share with
    /// its own queries).
    #[cfg(feature = "mysql")]
    pub fn from_mysql_pool(pool: sqlx::MySqlPool) -> Self {
        Self::new(Backend::MySql(pool))
    }

    /// Connects a new pool (sqlx's default size, 10 connections) to the
    /// database at `url`, whose scheme picks the backend: `sqlite:`,
    /// `postgres:` / `postgresql:`, or `mysql:` / `mariadb:`. One connection
    /// is opened now, within [`DEFAULT_TIMEOUT`], so a wrong URL or a
    /// stopped server is reported here.
    ///
    /// For SQLite the file is created if missing and put in WAL mode with
    /// `synchronous = NORMAL`; `sqlite::memory:` gives one in-memory database
    /// shared by the pool's connections, which are then never retired (the
    /// database would vanish with the last one).
    ///
    /// Errors are [`DriverError::Timeout`] or [`DriverError::Backend`]; their
    /// text never contains the URL.
    pub async fn connect(url: &str) -> Result<Self, DriverError> {
        Self::connect_within(url, DEFAULT_TIMEOUT).await
    }

    async fn connect_within(url: &str, timeout: Duration) -> Result<Self, DriverError> {
        let name = backend_of(url).map_err(|m| DriverError::backend(Message(m)))?;
        let connecting = async {
            let backend = match name {
                #[cfg(feature = "sqlite")]
                "sqlite" => {
                    use sqlx::sqlite::{
                        SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions,
                        SqliteSynchronous,
                    };
                    use std::str::FromStr;
                    let options = SqliteConnectOptions::from_str(url)?
                        .create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal);
                    let mut pool = SqlitePoolOptions::new().acquire_timeout(timeout);
                    if url.contains(":memory:") || url.contains("mode=memory") {
                        pool = pool
                            .idle_timeout(None)
                            .max_lifetime(None)
                            .min_connections(1);
                    }
                    Backend::Sqlite(pool.connect_with(options).await?)
                }
                #[cfg(feature = "postgres")]
                "postgres" => Backend::Postgres(
                    sqlx::postgres::PgPoolOptions::new()
                        .acquire_timeout(timeout)
                        .connect(url)
                        .await?,
                ),
                #[cfg(feature = "mysql")]
                "mysql" => Backend::MySql(
                    sqlx::mysql::MySqlPoolOptions::new()
                        .acquire_timeout(timeout)
                        .connect(url)
                        .await?,
                ),
                _ => unreachable!("backend_of only names compiled backends"),
            };
            Ok::<_, sqlx::Error>(backend)
        };
        let backend = match tokio::time::timeout(timeout, connecting).await {
            Ok(Ok(backend)) => backend,
            Err(_) | Ok(Err(sqlx::Error::PoolTimedOut)) => {
                return Err(DriverError::Timeout(timeout))
            }
            Ok(Err(e)) => return Err(DriverError::backend(e)),
        };
        Ok(Self::new(backend).with_timeout(timeout))
    }

    /// Builds the driver that `settings` describe: `url` (required; its
    /// scheme must match `settings.driver`, one of `sqlite`, `postgres`,
    /// `mysql`), `table` (default [`DEFAULT_TABLE`]) and `timeout_ms`
    /// (default [`DEFAULT_TIMEOUT`]; also the time allowed to connect).
    ///
    /// It does not create the table: call [`SqlDriver::migrate`] (or run the
    /// SQL file) as part of deploying. The registry's factories
    /// ([`DriverRegistry::with_builtins`](crate::driver::DriverRegistry::with_builtins))
    /// also check that the table exists, so a missing migration is reported
    /// at start-up instead of on the first request.
    pub async fn from_settings(settings: &DriverSettings) -> Result<Self, SettingsError> {
        let url = settings.require("url", &settings.url)?;
        let invalid = |setting: &str, reason: String| SettingsError::Invalid {
            setting: settings.setting_name(setting),
            reason,
        };
        let name = backend_of(url).map_err(|m| invalid("url", format!("a database URL ({m})")))?;
        if name != settings.driver {
            return Err(invalid(
                "url",
                format!(
                    "a {} URL for the {:?} driver, not a {name} one",
                    settings.driver, settings.driver
                ),
            ));
        }
        let table = match &settings.table {
            Some(t) => Table::parse(t).map_err(|e| invalid("table", e.to_string()))?,
            None => Table(DEFAULT_TABLE.into()),
        };
        let timeout = match settings.timeout_ms {
            Some(0) => return Err(invalid("timeout_ms", "at least 1 millisecond".into())),
            Some(ms) => Duration::from_millis(ms),
            None => DEFAULT_TIMEOUT,
        };
        let driver =
            Self::connect_within(url, timeout)
                .await
                .map_err(|source| SettingsError::Driver {
                    driver: settings.driver.clone(),
                    source,
                })?;
        Ok(driver.with_valid_table(table))
    }

    /// Stores sessions in the table `name` instead of [`DEFAULT_TABLE`].
    ///
    /// The name is used exactly as given, quoted, so on PostgreSQL a name
    /// with capitals must be quoted the same way in your own SQL; lowercase
    /// names avoid the question.
    pub fn with_table(self, name: &str) -> Result<Self, TableNameError> {
        Ok(self.with_valid_table(Table::parse(name)?))
    }

    fn with_valid_table(mut self, table: Table) -> Self {
        self.queries = Arc::new(queries_for(&self.backend, &table));
        self.table = table;
        self
    }

    /// Limits every store operation (and each cleanup batch) to `timeout`;
    /// one that takes longer fails with [`DriverError::Timeout`] and is
    /// abandoned (the database rolls back a statement whose connection goes
    /// away). Give at least a few milliseconds.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table.0
    }

    /// The per-operation time limit.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The statements [`SqlDriver::migrate`] runs for this backend and table
    /// (the SQL file's, with the table name substituted), for review or for
    /// your own migration tool.
    pub fn migration(&self) -> Vec<String> {
        match &self.backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite(_) => sqlite::migration(&self.table),
            #[cfg(feature = "postgres")]
            Backend::Postgres(_) => postgres::migration(&self.table),
            #[cfg(feature = "mysql")]
            Backend::MySql(_) => mysql::migration(&self.table),
        }
    }

    /// Creates the table and its index if they do not exist; running it again
    /// changes nothing. On PostgreSQL it takes an advisory lock first, so
    /// servers starting together do not race. Needs the right to create
    /// tables; where the application's database user lacks it, run the SQL
    /// file as part of deploying instead.
    pub async fn migrate(&self) -> Result<(), DriverError> {
        let statements = &self.queries.migrate;
        with_pool!(&self.backend, pool => self.run(async {
            let mut tx = pool.begin().await?;
            for statement in statements {
                sqlx::query(statement).execute(&mut *tx).await?;
            }
            tx.commit().await
        }).await)
    }

    /// Checks that the table exists with the columns the driver uses, with
    /// an error that says how to create it.
    pub async fn check_schema(&self) -> Result<(), DriverError> {
        let probe = &self.queries.probe;
        let result = with_pool!(&self.backend, pool => tokio::time::timeout(
            self.timeout,
            async { sqlx::query(probe).fetch_optional(pool).await.map(|_| ()) },
        ).await);
        match result {
            Ok(Ok(_)) => Ok(()),
            Err(_) | Ok(Err(sqlx::Error::PoolTimedOut)) => Err(DriverError::Timeout(self.timeout)),
            Ok(Err(e @ sqlx::Error::Database(_))) => Err(DriverError::backend(SchemaError {
                table: self.table.clone(),
                backend: self.name(),
                source: e,
            })),
            Ok(Err(e)) => Err(DriverError::backend(e)),
        }
    }

    /// Deletes at most `batch` rows that expired at `now` (one short
    /// `DELETE` using the `expires_at` index) and returns how many it
    /// deleted. Fewer than `batch` means none are left; call it again
    /// otherwise. [`SqlDriver::spawn_cleanup`] does that on a timer.
    pub async fn cleanup(&self, now: Timestamp, batch: u32) -> Result<u64, DriverError> {
        let sql = &self.queries.cleanup;
        with_pool!(&self.backend, pool => self.run(async {
            let done = sqlx::query(sql)
                .bind(to_db(now))
                .bind(i64::from(batch))
                .execute(pool)
                .await?;
            Ok(done.rows_affected())
        }).await)
    }

    /// Deletes every row expired at `now`, `batch` rows per statement;
    /// returns how many.
    async fn cleanup_all(&self, now: Timestamp, batch: u32) -> Result<u64, DriverError> {
        let batch = batch.max(1);
        let mut total = 0;
        loop {
            let removed = self.cleanup(now, batch).await?;
            total += removed;
            if removed < u64::from(batch) {
                return Ok(total);
            }
            // Let requests waiting on the pool go first between batches.
            tokio::task::yield_now().await;
        }
    }

    /// Starts a tokio task that deletes expired rows every `every` (the first
    /// run is immediate): batches of `batch` rows until a batch comes back
    /// short. It logs what it removed (`debug`) and failures (`warn`, then it
    /// tries again at the next tick), and stops when the returned
    /// [`CleanupTask`] is dropped.
    ///
    /// Every app server may run one: each `DELETE` is short, and on
    /// PostgreSQL concurrent cleaners skip each other's rows.
    ///
    /// # Panics
    ///
    /// Panics if called outside a tokio runtime (actix-web's included), or if
    /// `every` is zero.
    pub fn spawn_cleanup(&self, every: Duration, batch: u32) -> CleanupTask {
        let driver = self.clone();
        CleanupTask::spawn(every, self.name(), move |now| {
            let driver = driver.clone();
            async move { driver.cleanup_all(now, batch).await }
        })
    }

    /// Runs `op` within the time limit, mapping sqlx's errors.
    async fn run<T>(
        &self,
        op: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, DriverError> {
        match tokio::time::timeout(self.timeout, op).await {
            Ok(Ok(value)) => Ok(value),
            Err(_) | Ok(Err(sqlx::Error::PoolTimedOut)) => Err(DriverError::Timeout(self.timeout)),
            Ok(Err(e)) => Err(DriverError::backend(e)),
        }
    }

    /// One `INSERT` of MySQL's create.
    async fn insert(&self, sql: &str, key: &[u8], record: &Record) -> Result<Insert, DriverError> {
        let bytes = record.encode()?;
        with_pool!(&self.backend, pool => self.run(async {
            let inserted = sqlx::query(sql)
                .bind(key)
                .bind(&bytes[..])
                .bind(version_to_db(record.version))
                .bind(to_db(record.last_active))
                .bind(to_db(record.expires_at))
                .execute(pool)
                .await;
            match inserted {
                Ok(_) => Ok(Insert::Inserted),
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(Insert::Duplicate),
                Err(e) if is_deadlock(&e) => Ok(Insert::Deadlock),
                Err(e) => Err(e),
            }
        }).await)
    }
}

/// How often MySQL's create starts over after InnoDB chose it as a deadlock
/// victim before it gives up with a backend error.
const DEADLOCK_ATTEMPTS: usize = 5;

/// What one `INSERT` of MySQL's create did.
enum Insert {
    Inserted,
    /// A row holds the id.
    Duplicate,
    /// InnoDB rolled the statement back to break a deadlock.
    Deadlock,
}

/// Whether `e` is a deadlock (or serialization failure) the database rolled
/// back: SQLSTATE 40001, MySQL's error 1213.
fn is_deadlock(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("40001"))
}

/// The SQL of `backend`'s dialect for `table`.
fn queries_for(backend: &Backend, table: &Table) -> Queries {
    match backend {
        #[cfg(feature = "sqlite")]
        Backend::Sqlite(_) => sqlite::queries(table),
        #[cfg(feature = "postgres")]
        Backend::Postgres(_) => postgres::queries(table),
        #[cfg(feature = "mysql")]
        Backend::MySql(_) => mysql::queries(table),
    }
}

/// The stored key for `id`: its SHA-256, so the table never holds a live
/// session id. Ids are 256 random bits, so the hash needs no salt.
fn key(id: &SessionId) -> [u8; 32] {
    Sha256::digest(id.as_str().as_bytes()).into()
}

/// The advisory-lock key that serialises migrations of `table` (PostgreSQL).
#[cfg(feature = "postgres")]
fn lock_key(table: &Table) -> i64 {
    let digest = Sha256::digest(format!("session-core sql migrate {table}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

/// A timestamp as a BIGINT, saturating at `i64::MAX` (the year 292 billion).
fn to_db(t: Timestamp) -> i64 {
    i64::try_from(t.as_secs()).unwrap_or(i64::MAX)
}

/// The column's time, keeping the record's own value when the column holds
/// that value (saturated), so out-of-range times round-trip exactly.
fn from_db(column: i64, in_record: Timestamp) -> Timestamp {
    if to_db(in_record) == column {
        in_record
    } else {
        Timestamp::from_secs(u64::try_from(column).unwrap_or(0))
    }
}

/// Versions are u64 and wrap; the column is a signed BIGINT holding the same
/// 64 bits (only ever compared for equality).
fn version_to_db(version: u64) -> i64 {
    i64::from_ne_bytes(version.to_ne_bytes())
}

fn version_from_db(column: i64) -> u64 {
    u64::from_ne_bytes(column.to_ne_bytes())
}

/// A loaded row as a record. The columns are authoritative for the version
/// and the times: `touch` changes only the columns, not the encoded record.
fn decode_row(
    (bytes, version, last_active, expires_at): (Vec<u8>, i64, i64, i64),
) -> Result<Record, DriverError> {
    let mut record = Record::decode(&bytes)?;
    record.version = version_from_db(version);
    record.last_active = from_db(last_active, record.last_active);
    record.expires_at = from_db(expires_at, record.expires_at);
    Ok(record)
}

#[async_trait]
impl SessionDriver for SqlDriver {
    fn name(&self) -> &'static str {
        match &self.backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite(_) => "sqlite",
            #[cfg(feature = "postgres")]
            Backend::Postgres(_) => "postgres",
            #[cfg(feature = "mysql")]
            Backend::MySql(_) => "mysql",
        }
    }

    fn remote(&self) -> bool {
        true
    }

    async fn load(&self, id: &SessionId, now: Timestamp) -> Result<Option<Record>, DriverError> {
        let key = key(id);
        let sql = &self.queries.load;
        let row: Option<(Vec<u8>, i64, i64, i64)> = with_pool!(&self.backend, pool => self.run(
            sqlx::query_as(sql).bind(&key[..]).bind(to_db(now)).fetch_optional(pool)
        ).await)?;
        row.map(decode_row).transpose()
    }

    async fn create(&self, id: &SessionId, record: &Record) -> Result<(), DriverError> {
        let key = key(id);
        let now = to_db(record.last_active);
        match &self.queries.create {
            Create::Upsert(sql) => {
                let bytes = record.encode()?;
                let affected = with_pool!(&self.backend, pool => self.run(async {
                    let done = sqlx::query(sql)
                        .bind(&key[..])
                        .bind(&bytes[..])
                        .bind(version_to_db(record.version))
                        .bind(to_db(record.last_active))
                        .bind(to_db(record.expires_at))
                        .bind(now)
                        .execute(pool)
                        .await?;
                    Ok(done.rows_affected())
                }).await)?;
                if affected == 0 {
                    return Err(DriverError::AlreadyExists);
                }
                Ok(())
            }
            Create::InsertOrReplaceExpired {
                insert,
                delete_expired,
            } => {
                // When several creates race over one expired row, InnoDB
                // may roll one back as a deadlock victim; that one starts
                // over, and then finds the winner's live row (or, if the
                // winner failed, takes the id itself).
                for _ in 0..DEADLOCK_ATTEMPTS {
                    match self.insert(insert, &key, record).await? {
                        Insert::Inserted => return Ok(()),
                        Insert::Deadlock => continue,
                        Insert::Duplicate => {}
                    }
                    let removed = with_pool!(&self.backend, pool => self.run(async {
                        match sqlx::query(delete_expired)
                            .bind(&key[..])
                            .bind(now)
                            .execute(pool)
                            .await
                        {
                            Ok(done) => Ok(Some(done.rows_affected())),
                            Err(e) if is_deadlock(&e) => Ok(None),
                            Err(e) => Err(e),
                        }
                    }).await)?;
                    match removed {
                        None => continue,
                        Some(0) => return Err(DriverError::AlreadyExists),
                        Some(_) => {}
                    }
                    match self.insert(insert, &key, record).await? {
                        Insert::Inserted => return Ok(()),
                        Insert::Deadlock => continue,
                        Insert::Duplicate => return Err(DriverError::AlreadyExists),
                    }
                }
                Err(DriverError::backend(std::io::Error::other(format!(
                    "creating a session deadlocked {DEADLOCK_ATTEMPTS} times in a row"
                ))))
            }
        }
    }

    async fn update(
        &self,
        id: &SessionId,
        record: &Record,
        expected_version: u64,
    ) -> Result<Update, DriverError> {
        let key = key(id);
        let bytes = record.encode()?;
        let sql = &self.queries.update;
        let affected = with_pool!(&self.backend, pool => self.run(async {
            let done = sqlx::query(sql)
                .bind(&bytes[..])
                .bind(version_to_db(record.version))
                .bind(to_db(record.last_active))
                .bind(to_db(record.expires_at))
                .bind(&key[..])
                .bind(version_to_db(expected_version))
                .bind(to_db(record.last_active))
                .execute(pool)
                .await?;
            Ok(done.rows_affected())
        }).await)?;
        if affected > 0 {
            return Ok(Update::Updated);
        }
        // Nothing changed: a newer version, or no live row. Read which, at
        // the same `now`; never insert (that would revive a destroyed session).
        Ok(match self.load(id, record.last_active).await? {
            Some(current) => Update::Conflict(Some(current)),
            None => Update::Gone,
        })
    }

    async fn touch(
        &self,
        id: &SessionId,
        last_active: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool, DriverError> {
        let key = key(id);
        let sql = &self.queries.touch;
        let affected = with_pool!(&self.backend, pool => self.run(async {
            let done = sqlx::query(sql)
                .bind(to_db(last_active))
                .bind(to_db(expires_at))
                .bind(&key[..])
                .bind(to_db(last_active))
                .execute(pool)
                .await?;
            Ok(done.rows_affected())
        }).await)?;
        Ok(affected > 0)
    }

    async fn destroy(&self, id: &SessionId) -> Result<(), DriverError> {
        let key = key(id);
        let sql = &self.queries.destroy;
        with_pool!(&self.backend, pool => self.run(async {
            sqlx::query(sql).bind(&key[..]).execute(pool).await.map(drop)
        }).await)
    }
}

/// The registry's factory for `sqlite`, `postgres` and `mysql`: the driver
/// from the settings, with its table checked (not created).
pub(crate) async fn build(
    settings: DriverSettings,
) -> Result<Arc<dyn SessionDriver>, SettingsError> {
    let driver = SqlDriver::from_settings(&settings).await?;
    driver
        .check_schema()
        .await
        .map_err(|source| SettingsError::Driver {
            driver: settings.driver.clone(),
            source,
        })?;
    Ok(Arc::new(driver))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_plain_identifiers() {
        for good in ["sessions", "_s", "Web_Sessions_2", &"a".repeat(48)] {
            assert!(Table::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "2fa",
            "sessions;drop",
            "a\"b",
            "a`b",
            "with space",
            "schema.table",
            "sessión",
            &"a".repeat(49),
        ] {
            let e = Table::parse(bad).unwrap_err();
            assert!(e.to_string().contains("letters, digits"), "{e}");
        }
    }

    #[test]
    fn times_and_versions_round_trip_through_the_columns() {
        for t in [0, 1, 1_700_000_000, i64::MAX as u64, u64::MAX] {
            let t = Timestamp::from_secs(t);
            assert_eq!(from_db(to_db(t), t), t);
        }
        assert_eq!(
            from_db(100, Timestamp::from_secs(50)),
            Timestamp::from_secs(100)
        );
        for v in [0, 1, i64::MAX as u64, u64::MAX - 1, u64::MAX] {
            assert_eq!(version_from_db(version_to_db(v)), v);
        }
    }

    #[test]
    fn keys_are_sha256_of_the_id() {
        let id = SessionId::from_bytes(&[9; 32]);
        let k = key(&id);
        assert_eq!(k, <[u8; 32]>::from(Sha256::digest(id.as_str().as_bytes())));
        assert_ne!(&k[..], &id.as_str().as_bytes()[..32]);
    }

    #[test]
    fn urls_pick_a_backend_and_errors_never_echo_them() {
        let e = backend_of("oracle://user:hunter2@db/x").unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
        assert!(e.contains("\"oracle\""), "{e}");
        #[cfg(feature = "postgres")]
        assert_eq!(backend_of("postgresql://h/db"), Ok("postgres"));
        #[cfg(feature = "mysql")]
        assert_eq!(backend_of("MariaDB://h/db"), Ok("mysql"));
        #[cfg(feature = "sqlite")]
        assert_eq!(backend_of("sqlite::memory:"), Ok("sqlite"));
    }

    /// The SQL files and the statements `migrate` runs are the same (for the
    /// default table), so following either gives the same schema.
    #[test]
    fn migration_files_match_the_code() {
        fn statements(file: &str) -> Vec<String> {
            let without_comments: String = file
                .lines()
                .map(|l| l.split("--").next().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(" ");
            without_comments
                .split(';')
                .map(normalise)
                .filter(|s| !s.is_empty())
                .collect()
        }
        fn normalise(s: &str) -> String {
            s.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .replace("( ", "(")
                .replace(" )", ")")
        }
        let table = Table(DEFAULT_TABLE.into());
        let code = |v: Vec<String>| v.iter().map(|s| normalise(s)).collect::<Vec<_>>();
        #[cfg(feature = "postgres")]
        assert_eq!(
            statements(include_str!("migrations/postgres.sql")),
            code(postgres::migration(&table))
        );
        #[cfg(feature = "sqlite")]
        assert_eq!(
            statements(include_str!("migrations/sqlite.sql")),
            code(sqlite::migration(&table))
        );
        #[cfg(feature = "mysql")]
        assert_eq!(
            statements(include_str!("migrations/mysql.sql")),
            code(mysql::migration(&table))
        );
        let _ = table;
    }
}
