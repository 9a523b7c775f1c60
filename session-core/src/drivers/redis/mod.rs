//! The Redis driver: sessions in Redis or Redis Cluster (feature `redis`).
//!
//! ```no_run
//! # async fn f() -> Result<(), session_actix::driver::redis::RedisConnectError> {
//! use session_actix::driver::redis::RedisDriver;
//!
//! // Once, at start-up, outside `HttpServer::new`; clones share the connection.
//! let driver = RedisDriver::connect("redis://127.0.0.1:6379").await?;
//! # Ok(()) }
//! ```
//!
//! # What is stored where
//!
//! One Redis string per session:
//!
//! - **Key**: the prefix (default `"session:"`) followed by the SHA-256 of
//!   the session id in URL-safe base64, for example `session:q3J…Xw` (43
//!   characters). The id itself is never stored, so a `KEYS` listing, a
//!   `MONITOR` capture or a dump of the database hands out no live session;
//!   the SQL driver stores its rows the same way.
//! - **Value**: a 66-byte header, then the record as [`Record::encode`]
//!   writes it (compact binary; values written by earlier releases hold
//!   JSON there, which is read, and rewritten on the next save):
//!
//!   ```text
//!   s1:00000000000000000003:00000000001754300000:00000000001754307200\n<record>
//!      version              last_active (s)      expires_at (s)
//!   ```
//!
//!   The header lets the Lua scripts compare versions and expiry with
//!   `GETRANGE` and plain string functions, without decoding the record in
//!   Lua. Where the record's own times and the header differ (after a
//!   `touch`), the header wins.
//! - **TTL**: every write sets the key's expiry in the same command (`SET … PX`)
//!   or the same script (`SET … PX`, `PEXPIRE`). The TTL is `expires_at`
//!   minus the caller's `now`, so Redis drops a session at (or within a
//!   second after) its `expires_at`. `load` also checks `expires_at` itself,
//!   so the expiry holds to the second whatever the clocks of Redis and the
//!   application say, and a [`ManualClock`](crate::driver::ManualClock) works in
//!   tests.
//!
//! Nothing else is written: no index, no lock keys. Redis removes expired
//! sessions itself, so there is no cleanup task.
//!
//! # Settings
//!
//! | setting | default | meaning |
//! | --- | --- | --- |
//! | [`prefix`](RedisDriverBuilder::prefix) | `"session:"` | put before each id's hash to make the key |
//! | [`timeout`](RedisDriverBuilder::timeout) | 2 s | the most one call may take, reconnection included; then [`DriverError::Timeout`] |
//! | [`connect_timeout`](RedisDriverBuilder::connect_timeout) | 5 s | the most a connection attempt may take |
//!
//! Connection errors and errors reported by Redis become
//! [`DriverError::Backend`]; the middleware answers 500 and logs the cause.
//!
//! # Guarantees
//!
//! - **Atomic compare-and-set.** `update` is one Lua script: it reads the
//!   stored version and writes the new value only if it is the expected one.
//!   Redis runs a script alone, so no other write can come in between. On a
//!   version mismatch the script returns the current value, so
//!   [`Update::Conflict`] carries the record and the merge-and-retry costs no
//!   extra read. On servers that have it, `update` is a `SET … IFEQ`
//!   instead (see [below](#updates-without-lua)), atomic by itself.
//! - **Group commit.** The driver is [remote](crate::driver::SessionDriver::remote),
//!   so saves to one session
//!   from this process that arrive while one is running are stored together
//!   by the next `update`, so a burst of parallel writes to one session costs
//!   one script call per batch instead of one per loser per round.
//! - **No resurrection.** `update` and `touch` never write when the key is
//!   missing or holds an expired record; they answer [`Update::Gone`] /
//!   `false`. A session destroyed by one request stays destroyed whatever a
//!   parallel request commits.
//! - **No overwrite on create.** `create` is `SET NX`; an id held by a live
//!   record gives [`DriverError::AlreadyExists`].
//! - **Reconnects by itself.** The connection is redis-rs'
//!   [`ConnectionManager`] (or the cluster connection), which reconnects
//!   after a dropped connection or a Redis restart. While Redis is down,
//!   calls fail within the timeout instead of hanging; the first call after
//!   it is back may still fail, the following ones succeed. Scripts are
//!   loaded again automatically (EVALSHA, then SCRIPT LOAD on `NOSCRIPT`).
//! - **Corrupt values** (not written by this driver, or damaged): `load`
//!   answers [`DriverError::Corrupt`], which the engine turns into a fresh
//!   session and a `tracing` warning that names neither the key nor the
//!   value; a destroy, a regenerate or a write then deletes the value.
//!   `update` and `touch` never write over a value without this driver's
//!   header. Ids and values are never logged.
//!
//! # Cost per call
//!
//! Each call is one network round trip and one Redis command (measured in
//! the tests with `INFO commandstats` on a private server):
//!
//! | call | command |
//! | --- | --- |
//! | `load` | `GET` |
//! | `create` | `SET key value NX PX ttl` |
//! | `update` | `SET key value IFEQ loaded PX ttl` where the server has it; else `EVALSHA` (`GETRANGE`, then `SET … PX` or `GET` inside) |
//! | `touch` | `EVALSHA` (`GETRANGE`, `SETRANGE`, `PEXPIRE` inside) |
//! | `destroy` | `DEL` |
//!
//! Three exceptions: the first script call after Redis starts (or after
//! `SCRIPT FLUSH`) costs two more round trips to load the script; a
//! `create` whose `SET NX` finds the key taken runs one more script to check
//! whether that record is merely expired (practically never: ids are 256
//! random bits); and a `SET … IFEQ` that finds other bytes (a parallel
//! request's save or refresh) is followed by a `GET` for the current record.
//!
//! # Updates without Lua
//!
//! Valkey 8.1 and Redis 8.4 added `SET … IFEQ value`: the write happens
//! only if the key holds exactly `value`. [`RedisDriverBuilder::connect`]
//! asks the server (`COMMAND DOCS SET`) whether its `SET` takes `IFEQ`. If
//! it does, `load` keeps the bytes it read in the record
//! ([`Record::keep_loaded_from`]), and `update` of a record that carries the
//! bytes of a live record at the expected version sends
//! `SET key new IFEQ loaded PX ttl`: one plain command instead of a script.
//! Bytes equal to the loaded ones mean the same version, not touched since
//! and not expired, which is what the script checks, so the guarantees
//! above hold alike. When the stored bytes differ, a `GET` tells a
//! conflict (answered with the current record) from a gone session.
//!
//! The script is still used for `touch`, for records that carry no loaded
//! bytes (one a batch of parallel saves just stored, for instance), for
//! drivers built with [`RedisDriverBuilder::build_with_connection_manager`]
//! (no detection) and on Redis Cluster, whose nodes may run different
//! versions during an upgrade. If a server refuses `IFEQ` after all (a
//! failover to an older one), the driver logs a warning, runs the script
//! for that update and for every later one until it is connected again.
//!
//! The tests run both paths on real servers: the script on Redis 7, `IFEQ`
//! on Valkey 9.
//!
//! # Redis Cluster (feature `redis-cluster`)
//!
//! [`RedisDriverBuilder::connect_cluster`] takes one or more node URLs. Each
//! script touches exactly one key, the session's, so it runs on the primary
//! that owns the key's slot and needs no hash tags; sessions spread over all
//! slots. (That is why the prefix may not contain `{` or `}`.)
//!
//! # Valkey
//!
//! The driver uses only commands Valkey has too (`GET`, `SET … NX PX`,
//! `SET … IFEQ … PX` from Valkey 8.1, `DEL`, `COMMAND DOCS`, and Lua scripts
//! through `EVALSHA` and `SCRIPT LOAD` that call `GETRANGE`, `GET`, `SET`,
//! `SETRANGE` and `PEXPIRE`); the tests run the contract scenarios and the
//! conformance suite against Valkey 9 as well as Redis 7. Use a `redis://`
//! URL for Valkey.
//!
//! # TLS (feature `redis-tls`)
//!
//! Use a `rediss://` URL. Certificates are checked against the Mozilla root
//! store (webpki-roots) with rustls and its `ring` provider, so no system
//! OpenSSL is needed. For a private CA or client certificates, build a
//! `redis::Client` yourself (`Client::build_with_tls`), wrap it in a
//! [`ConnectionManager`], and pass it to
//! [`RedisDriver::from_connection_manager`].
//!
//! # In production
//!
//! - Give the sessions a Redis whose eviction policy cannot drop them
//!   (`maxmemory-policy noeviction` or `volatile-*` with enough memory): an
//!   evicted session is a user logged out.
//! - Turn on persistence (AOF or RDB) if a Redis restart must not log
//!   everyone out.
//! - Replication is asynchronous: after a failover the newest writes (a
//!   logout included) can be lost. Keep that in mind for logouts that must
//!   stick; short idle timeouts limit the exposure.
//! - A timed-out `update` may or may not have been applied; the request
//!   fails with a 500 and the next request sees whichever it was.
//! - Requires Rust 1.88 (the redis crate's minimum), above the 1.85 of the
//!   rest of the crate.
//!
//! [`Record::encode`]: crate::driver::Record::encode
//! [`Record::keep_loaded_from`]: crate::driver::Record::keep_loaded_from
//! [`DriverError::Timeout`]: crate::driver::DriverError::Timeout
//! [`DriverError::Backend`]: crate::driver::DriverError::Backend
//! [`DriverError::AlreadyExists`]: crate::driver::DriverError::AlreadyExists
//! [`Update::Conflict`]: crate::driver::Update::Conflict
//! [`Update::Gone`]: crate::driver::Update::Gone

mod config;
mod value;
#[cfg(fuzzing)]
pub use value::fuzz_decode;

#[cfg(test)]
mod tests;

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use redis::{Cmd, RedisFuture, RedisResult, Value};

pub use self::config::{
    RedisConnectError, RedisDriverBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_PREFIX,
    DEFAULT_TIMEOUT, MAX_PREFIX_LEN,
};
/// The redis crate this driver is built on, so an application can build a
/// [`ConnectionManager`] (or cluster connection) of the same version.
pub use ::redis;

use crate::driver::{DriverSettings, SessionDriver, SettingsError, Update};
use crate::error::DriverError;
use crate::id::SessionId;
use crate::record::Record;
use crate::time::Timestamp;

/// The connection, one server or a cluster. Both reconnect by themselves
/// and are cheap to clone (clones share the connection).
#[derive(Clone)]
enum Conn {
    Single(ConnectionManager),
    #[cfg(feature = "redis-cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
}

impl redis::aio::ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            #[cfg(feature = "redis-cluster")]
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            #[cfg(feature = "redis-cluster")]
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            #[cfg(feature = "redis-cluster")]
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// Sessions in Redis or Redis Cluster. See the [module docs](self) for the
/// storage layout, guarantees and costs.
///
/// Cloning is cheap and clones share one connection (Redis connections are
/// multiplexed: many requests in flight at once). Build it once and give a
/// clone to each worker.
///
/// `Debug` shows the server address with any user name and password
/// replaced by `REDACTED`.
#[derive(Clone)]
pub struct RedisDriver {
    conn: Conn,
    /// Whether updates may be `SET … IFEQ` (see the module docs); cleared
    /// for every clone if the server refuses one.
    set_ifeq: Arc<AtomicBool>,
    prefix: Arc<str>,
    timeout: Duration,
    connect_timeout: Duration,
    /// The server, redacted, for `Debug`.
    target: Arc<str>,
}

impl fmt::Debug for RedisDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisDriver")
            .field("target", &self.target)
            .field("prefix", &self.prefix)
            .field("set_ifeq", &self.set_ifeq.load(Ordering::Relaxed))
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

impl RedisDriver {
    /// Connects the driver the settings describe: driver name `redis` with
    /// `url`, or `redis-cluster` (cargo feature `redis-cluster`) with `url`
    /// holding the comma-separated nodes (`host:port` or `redis://...`); and
    /// `prefix` and `timeout_ms`. Errors name each setting as it was given
    /// ([`DriverSettings::setting_name`]).
    ///
    /// ```no_run
    /// use session_actix::driver::DriverSettings;
    /// use session_actix::RedisDriver;
    ///
    /// # async fn start() -> Result<(), session_actix::driver::SettingsError> {
    /// let mut settings = DriverSettings::new("redis");
    /// settings.url = Some("redis://127.0.0.1:6379".into());
    /// settings.prefix = Some("app:".into());
    /// let driver = RedisDriver::from_settings(&settings).await?;
    /// # let _ = driver; Ok(()) }
    /// ```
    pub async fn from_settings(settings: &DriverSettings) -> Result<Self, SettingsError> {
        let url = settings.require("url", &settings.url)?;
        let mut builder = Self::builder();
        if let Some(prefix) = &settings.prefix {
            builder = builder.prefix(prefix.clone());
        }
        if let Some(ms) = settings.timeout_ms {
            builder = builder.timeout(Duration::from_millis(ms));
        }
        let connected = match settings.driver.as_str() {
            #[cfg(feature = "redis-cluster")]
            "redis-cluster" => {
                let nodes =
                    url.split(',')
                        .map(str::trim)
                        .filter(|n| !n.is_empty())
                        .map(|n| match n.contains("://") {
                            true => n.to_owned(),
                            false => format!("redis://{n}"),
                        });
                builder.connect_cluster(nodes).await
            }
            _ => builder.connect(url).await,
        };
        connected.map_err(|e| SettingsError::Driver {
            driver: settings.driver.clone(),
            source: DriverError::backend(e),
        })
    }

    /// Settings to change before connecting.
    pub fn builder() -> RedisDriverBuilder {
        RedisDriverBuilder::new()
    }

    /// Connects to the Redis server at `url` with the default settings (see
    /// [`RedisDriverBuilder::connect`]).
    pub async fn connect(url: &str) -> Result<Self, RedisConnectError> {
        RedisDriverBuilder::new().connect(url).await
    }

    /// Uses the application's own `ConnectionManager`, with the default
    /// settings. Use [`RedisDriver::builder`] and
    /// [`RedisDriverBuilder::build_with_connection_manager`] to change them.
    pub fn from_connection_manager(manager: ConnectionManager) -> Self {
        RedisDriverBuilder::new()
            .build_with_connection_manager(manager)
            .expect("the default settings are valid")
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The per-call time limit.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The Redis key for `id`: the prefix followed by the id. The engine
    /// hands drivers a SHA-256 of the cookie's id, never the id, so a key
    /// listing or a dump of the database holds no usable session id.
    pub fn key(&self, id: &SessionId) -> String {
        let mut key = String::with_capacity(self.prefix.len() + id.as_str().len());
        key.push_str(&self.prefix);
        key.push_str(id.as_str());
        key
    }

    /// What a write sends: the key, the encoded record and its time to live
    /// in milliseconds.
    fn prepare(
        &self,
        id: &SessionId,
        record: &Record,
    ) -> Result<(String, Vec<u8>, u64), DriverError> {
        let stored = value::encode(record)?;
        let ttl = value::ttl_ms(record.last_active, record.expires_at);
        Ok((self.key(id), stored, ttl))
    }

    /// `update` as one `SET key stored IFEQ loaded PX ttl`, for a record
    /// whose `loaded` bytes hold a live record at the expected version: Redis
    /// writes only if the key still holds exactly those bytes, which is the
    /// script's condition. If it does not, one `GET` tells a conflict from a
    /// gone session, as the script's answer would. `None` when the server
    /// refuses `IFEQ` (an older server after a failover): the caller runs
    /// the script, and so do later updates.
    async fn set_if_equal(
        &self,
        key: &str,
        stored: &[u8],
        ttl: u64,
        loaded: &[u8],
        now: Timestamp,
    ) -> Result<Option<Update>, DriverError> {
        let mut conn = self.conn.clone();
        let mut set = redis::cmd("SET");
        set.arg(key)
            .arg(stored)
            .arg("IFEQ")
            .arg(loaded)
            .arg("PX")
            .arg(ttl);
        let set = set.query_async::<Value>(&mut conn);
        let reply = match tokio::time::timeout(self.timeout, set).await {
            Err(_elapsed) => return Err(DriverError::Timeout(self.timeout)),
            // What a server without `IFEQ` answers.
            Ok(Err(e)) if e.detail().is_some_and(|d| d.contains("syntax")) => {
                tracing::warn!(
                    driver = "redis",
                    error = %e,
                    "the Redis server refused SET with IFEQ; updates use the Lua script from now on"
                );
                self.set_ifeq.store(false, Ordering::Relaxed);
                return Ok(None);
            }
            Ok(reply) => reply.map_err(|e| self.error(e))?,
        };
        match reply {
            Value::Okay => return Ok(Some(Update::Updated)),
            Value::SimpleString(ref s) if s == "OK" => return Ok(Some(Update::Updated)),
            Value::Nil => {}
            other => return Err(unexpected(&other)),
        }
        // Not written: the key is gone, or holds other bytes (a newer
        // version, or the same one touched since).
        let current: Option<Vec<u8>> = self
            .run(redis::cmd("GET").arg(key).query_async(&mut conn))
            .await?;
        Ok(Some(match current {
            Some(current) if value::is_live(&current, now) => {
                Update::Conflict(read_value(current, true))
            }
            _ => Update::Gone,
        }))
    }

    /// Runs one store call under the time limit, mapping errors.
    async fn run<T>(&self, call: impl Future<Output = RedisResult<T>>) -> Result<T, DriverError> {
        match tokio::time::timeout(self.timeout, call).await {
            Err(_elapsed) => Err(DriverError::Timeout(self.timeout)),
            Ok(result) => result.map_err(|e| self.error(e)),
        }
    }

    fn error(&self, e: redis::RedisError) -> DriverError {
        match e.is_timeout() {
            true => DriverError::Timeout(self.timeout),
            false => DriverError::backend(e),
        }
    }
}

/// Whether the server's `SET` takes `IFEQ`, by its own `COMMAND DOCS SET`
/// (Valkey 8.1 and Redis 8.4 list an argument with that token). Any error,
/// an older server's included, answers no.
async fn set_takes_ifeq(conn: &mut Conn, limit: Duration) -> bool {
    fn names_ifeq(value: &Value) -> bool {
        match value {
            Value::BulkString(word) => word.eq_ignore_ascii_case(b"IFEQ"),
            Value::SimpleString(word) => word.eq_ignore_ascii_case("IFEQ"),
            Value::Array(items) | Value::Set(items) => items.iter().any(names_ifeq),
            Value::Map(pairs) => pairs.iter().any(|(k, v)| names_ifeq(k) || names_ifeq(v)),
            _ => false,
        }
    }
    let mut docs = redis::cmd("COMMAND");
    docs.arg("DOCS").arg("SET");
    let docs = docs.query_async::<Value>(conn);
    matches!(tokio::time::timeout(limit, docs).await, Ok(Ok(docs)) if names_ifeq(&docs))
}

/// Reads a value fetched from Redis, warning (without the id or the value)
/// and answering `None` if it is not one this driver wrote. `keep`: the
/// record keeps the bytes, for a later `SET … IFEQ`.
fn read_value(bytes: Vec<u8>, keep: bool) -> Option<Record> {
    match value::decode(&bytes) {
        Ok(mut record) => {
            if keep {
                record.keep_loaded_from(bytes);
            }
            Some(record)
        }
        Err(reason) => {
            tracing::warn!(
                driver = "redis",
                %reason,
                "a stored session value is corrupt; treating it as no session"
            );
            None
        }
    }
}

/// A script's integer answer, or a backend error for anything else.
fn int_reply(value: Value) -> Result<i64, DriverError> {
    match value {
        Value::Int(n) => Ok(n),
        other => Err(unexpected(&other)),
    }
}

fn unexpected(value: &Value) -> DriverError {
    let kind = match value {
        Value::Nil => "nil",
        Value::Int(_) => "an integer",
        Value::BulkString(_) => "a string",
        Value::Array(_) => "an array",
        Value::Okay | Value::SimpleString(_) => "a status",
        _ => "another type",
    };
    DriverError::Backend(
        format!("Redis answered with {kind} where the session driver expected something else")
            .into(),
    )
}

#[async_trait]
impl SessionDriver for RedisDriver {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn remote(&self) -> bool {
        true
    }

    async fn load(&self, id: &SessionId, now: Timestamp) -> Result<Option<Record>, DriverError> {
        let key = self.key(id);
        let mut conn = self.conn.clone();
        let raw: Option<Vec<u8>> = self
            .run(redis::cmd("GET").arg(&key).query_async(&mut conn))
            .await?;
        let Some(raw) = raw else { return Ok(None) };
        match value::decode(&raw) {
            Ok(record) if record.is_expired(now) => Ok(None),
            Ok(mut record) => {
                if self.set_ifeq.load(Ordering::Relaxed) {
                    record.keep_loaded_from(raw);
                }
                Ok(Some(record))
            }
            // The engine warns and starts a fresh session; a destroy,
            // regenerate or write removes the value.
            Err(reason) => Err(DriverError::Corrupt(serde::de::Error::custom(reason))),
        }
    }

    async fn create(&self, id: &SessionId, record: &Record) -> Result<(), DriverError> {
        let (key, stored, ttl) = self.prepare(id, record)?;
        let mut conn = self.conn.clone();
        let reply: Value = self
            .run(
                redis::cmd("SET")
                    .arg(&key)
                    .arg(&stored)
                    .arg("NX")
                    .arg("PX")
                    .arg(ttl)
                    .query_async(&mut conn),
            )
            .await?;
        match reply {
            Value::Okay => return Ok(()),
            Value::SimpleString(ref s) if s == "OK" => return Ok(()),
            Value::Nil => {}
            other => return Err(unexpected(&other)),
        }
        // The key is taken. It may hold a record that is already expired by
        // the caller's clock (Redis' TTL runs a little behind `expires_at`):
        // that one is not live and may be replaced.
        let written = self
            .run(
                value::CREATE_OVER_DEAD
                    .key(&key)
                    .arg(record.last_active.as_secs())
                    .arg(&stored)
                    .arg(ttl)
                    .invoke_async(&mut conn),
            )
            .await?;
        match int_reply(written)? {
            1 => Ok(()),
            _ => Err(DriverError::AlreadyExists),
        }
    }

    async fn update(
        &self,
        id: &SessionId,
        record: &Record,
        expected_version: u64,
    ) -> Result<Update, DriverError> {
        let (key, stored, ttl) = self.prepare(id, record)?;
        let now = record.last_active;
        let loaded = record
            .loaded_from()
            .filter(|bytes| value::is_live_at_version(bytes, expected_version, now));
        if let Some(loaded) = loaded.filter(|_| self.set_ifeq.load(Ordering::Relaxed)) {
            if let Some(update) = self.set_if_equal(&key, &stored, ttl, loaded, now).await? {
                return Ok(update);
            }
        }
        let mut conn = self.conn.clone();
        let reply: Value = self
            .run(
                value::UPDATE
                    .key(&key)
                    .arg(&value::digits(expected_version)[..])
                    .arg(now.as_secs())
                    .arg(&stored)
                    .arg(ttl)
                    .invoke_async(&mut conn),
            )
            .await?;
        match reply {
            Value::Int(1) => Ok(Update::Updated),
            Value::Int(0) => Ok(Update::Gone),
            // The current value, returned by the script on a version mismatch.
            Value::BulkString(current) => Ok(Update::Conflict(read_value(current, false))),
            other => Err(unexpected(&other)),
        }
    }

    async fn touch(
        &self,
        id: &SessionId,
        last_active: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool, DriverError> {
        let key = self.key(id);
        let mut conn = self.conn.clone();
        let reply = self
            .run(
                value::TOUCH
                    .key(&key)
                    .arg(&value::digits(last_active.as_secs())[..])
                    .arg(&value::digits(expires_at.as_secs())[..])
                    .arg(value::ttl_ms(last_active, expires_at))
                    .invoke_async(&mut conn),
            )
            .await?;
        Ok(int_reply(reply)? == 1)
    }

    async fn destroy(&self, id: &SessionId) -> Result<(), DriverError> {
        let key = self.key(id);
        let mut conn = self.conn.clone();
        let _removed: i64 = self
            .run(redis::cmd("DEL").arg(&key).query_async(&mut conn))
            .await?;
        Ok(())
    }
}
