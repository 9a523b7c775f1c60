//! The store a soak runs on, behind two app instances: one memory driver
//! shared by both, or two drivers (two connection pools) on one Redis or one
//! PostgreSQL database, each behind a [`Forward`] that counts conflicts and
//! can break `update` on purpose. What the run leaves in a shared store is
//! removed when the [`Store`] is dropped, even after a panic.

use std::fmt;
use std::sync::Arc;

use session_actix::driver::SessionDriver;
use session_actix::MemoryDriver;
use session_examples::testbed::{self, Options};
use session_test_support::driver::{self, BrokenUpdate, Forward};
use session_test_support::http::Server;

/// Which store a soak runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    /// One `MemoryDriver` behind both instances.
    Memory,
    /// Redis, one driver per instance, under a key prefix of the run's own.
    Redis,
    /// PostgreSQL, one driver per instance, in a table of the run's own.
    Postgres,
}

impl StoreKind {
    /// `memory`, `redis` or `postgres`.
    pub fn name(self) -> &'static str {
        match self {
            StoreKind::Memory => "memory",
            StoreKind::Redis => "redis",
            StoreKind::Postgres => "postgres",
        }
    }

    /// The kind called `name`.
    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "memory" => Ok(StoreKind::Memory),
            "redis" => Ok(StoreKind::Redis),
            "postgres" => Ok(StoreKind::Postgres),
            other => Err(format!(
                "unknown store {other:?}: memory, redis or postgres"
            )),
        }
    }
}

/// The idle timeout of the soak's sessions: far longer than a run, so none
/// expires while the checker counts on it.
pub(crate) const TTL_SECS: u64 = 4 * 3600;

/// Two app instances' drivers on one store.
pub struct Store {
    kind: StoreKind,
    options: Options,
    drivers: [Forward<dyn SessionDriver>; 2],
    memory: Option<MemoryDriver>,
    _leftovers: Leftovers,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// One memory driver, shared by both instances.
    pub fn memory() -> Self {
        let memory = MemoryDriver::new();
        let inner: Arc<dyn SessionDriver> = Arc::new(memory.clone());
        let shared = Forward::shared(inner);
        Self {
            kind: StoreKind::Memory,
            options: options(&["--store", "memory"]),
            drivers: [shared.clone(), shared],
            memory: Some(memory),
            _leftovers: Leftovers::default(),
        }
    }

    /// Two drivers on the Redis at `url`, under a key prefix no other run
    /// uses; the keys are deleted when the store is dropped.
    #[cfg(feature = "redis")]
    pub async fn redis(url: &str) -> Result<Self, String> {
        let prefix = format!("{}:", session_test_support::sql::unique_table("soak"));
        let options = options(&["--store", "redis", "--redis", url, "--prefix", &prefix]);
        let leftovers = Leftovers {
            redis: Some((url.to_owned(), prefix)),
            table: None,
        };
        let drivers = [built(&options).await?, built(&options).await?];
        Ok(Self {
            kind: StoreKind::Redis,
            options,
            drivers,
            memory: None,
            _leftovers: leftovers,
        })
    }

    /// Two drivers (two pools) on the PostgreSQL database at `url`, in a
    /// table no other run uses; the table is dropped when the store is.
    #[cfg(feature = "postgres")]
    pub async fn postgres(url: &str) -> Result<Self, String> {
        let table = session_test_support::sql::unique_table("soak");
        let options = options(&[
            "--store",
            "postgres",
            "--database-url",
            url,
            "--table",
            &table,
        ]);
        let leftovers = Leftovers {
            redis: None,
            table: Some((url.to_owned(), table)),
        };
        let mut drivers = Vec::new();
        for _ in 0..2 {
            let driver = options.sql_driver().await?;
            let inner: Arc<dyn SessionDriver> = Arc::new(driver);
            drivers.push(Forward::shared(inner));
        }
        let [a, b]: [Forward<dyn SessionDriver>; 2] = drivers.try_into().expect("two drivers");
        Ok(Self {
            kind: StoreKind::Postgres,
            options,
            drivers: [a, b],
            memory: None,
            _leftovers: leftovers,
        })
    }

    /// The store `kind`, at `redis_url` or `database_url` where it needs one.
    pub async fn open(
        kind: StoreKind,
        redis_url: &str,
        database_url: &str,
    ) -> Result<Self, String> {
        let _ = (redis_url, database_url);
        match kind {
            StoreKind::Memory => Ok(Self::memory()),
            #[cfg(feature = "redis")]
            StoreKind::Redis => Self::redis(redis_url).await,
            #[cfg(feature = "postgres")]
            StoreKind::Postgres => Self::postgres(database_url).await,
            #[allow(unreachable_patterns)]
            other => Err(format!(
                "this build has no {0} driver: build session-bench with `--features {0}`",
                other.name()
            )),
        }
    }

    /// Which store this is.
    pub fn kind(&self) -> StoreKind {
        self.kind
    }

    /// Makes both instances' `update` wrong in the way `how` says (`None`:
    /// right again), to show that the checker notices.
    pub fn break_updates(&self, how: Option<BrokenUpdate>) {
        for driver in &self.drivers {
            driver.break_updates(how);
        }
    }

    /// Every store call of both instances waits `latency` first, like a
    /// network round trip (zero: none), so that parallel requests overlap
    /// more.
    pub fn delay(&self, latency: std::time::Duration) {
        let ops: &[driver::Op] = if latency.is_zero() {
            &[]
        } else {
            &driver::Op::ALL
        };
        for driver in &self.drivers {
            driver.delay(ops, latency);
        }
    }

    /// An app instance serving the testbed's routes through driver `i` (0
    /// or 1).
    pub(crate) fn server(&self, i: usize) -> Result<Server, String> {
        let driver: Arc<dyn SessionDriver> = Arc::new(self.drivers[i].clone());
        let sessions = self.options.middleware(driver)?;
        Ok(Server::start(move |listener| {
            testbed::serve(Some(sessions), listener)
        }))
    }

    /// Compare-and-set conflicts the drivers answered so far.
    pub(crate) fn conflicts(&self) -> usize {
        match self.memory {
            // One driver behind both instances: count it once.
            Some(_) => self.drivers[0].conflicts(),
            None => self.drivers.iter().map(Forward::conflicts).sum(),
        }
    }

    /// How many sessions the memory store holds; `None` for the others.
    pub(crate) fn held(&self) -> Option<usize> {
        self.memory.as_ref().map(MemoryDriver::len)
    }
}

/// The testbed's options for a soak (sessions that outlive the run).
fn options(args: &[&str]) -> Options {
    let ttl = TTL_SECS.to_string();
    let args = args
        .iter()
        .copied()
        .chain(["--ttl", &ttl])
        .map(String::from);
    Options::parse(args).expect("the soak's testbed options parse")
}

/// A driver as the testbed builds it from `options`, behind a [`Forward`].
#[cfg(feature = "redis")]
async fn built(options: &Options) -> Result<Forward<dyn SessionDriver>, String> {
    match options.driver().await? {
        Some(driver) => Ok(Forward::shared(driver)),
        None => Err("the soak needs a store".into()),
    }
}

/// What a run leaves in a shared store, removed on drop: Redis keys under a
/// prefix, a PostgreSQL table.
#[derive(Default)]
struct Leftovers {
    /// (URL, prefix).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    redis: Option<(String, String)>,
    /// (database URL, table).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    table: Option<(String, String)>,
}

impl Drop for Leftovers {
    fn drop(&mut self) {
        #[cfg(feature = "redis")]
        if let Some((url, prefix)) = self.redis.take() {
            delete_keys(&url, &prefix);
        }
        #[cfg(feature = "postgres")]
        if let Some((url, table)) = self.table.take() {
            drop_table(url, table);
        }
    }
}

/// Deletes every key under `prefix`, on a connection of its own (drop cannot
/// await).
#[cfg(feature = "redis")]
fn delete_keys(url: &str, prefix: &str) {
    use session_actix::driver::redis::redis::{self, Commands as _};
    let Ok(mut conn) = redis::Client::open(url).and_then(|c| c.get_connection()) else {
        return;
    };
    let keys: Vec<String> = match conn.scan_match(format!("{prefix}*")) {
        Ok(keys) => keys.filter_map(Result::ok).collect(),
        Err(_) => return,
    };
    for batch in keys.chunks(500) {
        let _: redis::RedisResult<i64> = conn.del(batch);
    }
}

/// Drops `table`, on a runtime of its own in a thread of its own (drop may
/// run inside the run's runtime, which cannot be blocked on).
#[cfg(feature = "postgres")]
fn drop_table(url: String, table: String) {
    use session_actix::driver::sql::sqlx;
    let dropped = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        runtime.block_on(async {
            let pool = sqlx::PgPool::connect(&url).await.ok()?;
            let sql = format!("DROP TABLE IF EXISTS \"{table}\"");
            sqlx::query(&sql).execute(&pool).await.ok()?;
            pool.close().await;
            Some(())
        })
    });
    let _ = dropped.join();
}
