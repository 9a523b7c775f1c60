//! The driver conformance suite: every behaviour the middleware relies on,
//! checked against any [`SessionDriver`].
//!
//! Enabled by the `conformance` cargo feature. A driver author adds
//! `session-core` with that feature as a dev-dependency and calls [`run`] with
//! a factory for their driver from an async test. The suite brings no async
//! runtime of its own: it runs on whatever runtime the test provides
//! (`#[tokio::test]`, `#[actix_rt::test]` ...), and it needs no timers, so it
//! never sleeps.
//!
//! ```
//! # #[cfg(feature = "memory")]
//! # mod wrapper {
//! use session_actix::{driver::conformance, MemoryDriver};
//!
//! #[actix_web::test]
//! async fn memory_driver_conforms() {
//!     // The factory is called once per check, so each check gets a fresh driver.
//!     conformance::run(|| async { MemoryDriver::new() }).await;
//! }
//! # }
//! ```
//!
//! A driver that talks to a server builds its client in the factory, for
//! example `conformance::run(|| async { RedisDriver::connect(URL).await.unwrap() })`.
//! Checks use fresh random ids, so they never collide with each other or with
//! data already in the store, and they leave little behind (records that the
//! checks do not destroy expire within a day).
//!
//! # What is checked
//!
//! Each entry of [`CHECKS`] is one contract, also available as a plain
//! `async fn` of this module taking `&dyn SessionDriver`, so a single check can
//! be run (or one left out) on its own:
//!
//! ```
//! # #[cfg(feature = "memory")]
//! # async fn example() {
//! use session_actix::{driver::conformance, MemoryDriver};
//!
//! let driver = MemoryDriver::new();
//! conformance::update_with_wrong_version_conflicts(&driver).await;
//! for check in conformance::CHECKS.iter().filter(|c| c.name != "large_record_round_trips") {
//!     check.run(&driver).await;
//! }
//! # }
//! ```
//!
//! A failed check panics with the check's name, the contract that was broken
//! and what the driver did instead, which is what a test harness reports.
//!
//! # Time
//!
//! Drivers receive the current time explicitly (`load(id, now)`; `create` and
//! `update` judge liveness at `record.last_active`, `touch` at its
//! `last_active` argument), so the suite tests expiry by passing a `now` in
//! the future instead of sleeping. Every record is stamped relative to the
//! real current time ([`SystemClock`]), and a record that must stay live
//! expires a day from now, so drivers that also enforce expiry with the
//! store's own clock (a Redis TTL, a SQL `WHERE expires_at > now()`) pass too.
//!
//! # Scope
//!
//! [`run`] is for server-side drivers, whose cookie holds only the id (they
//! keep the default [`SessionDriver::read_cookie`] and
//! [`SessionDriver::write_cookie`]). A driver whose cookie carries the record
//! itself, such as the cookie driver, keeps nothing to load, version or
//! destroy; [`run_client_side`] runs the checks that apply to it (those with
//! [`Applies::EveryDriver`]): sessions round-trip through the cookie,
//! refresh, regenerate and are destroyed, and cookie values it did not issue
//! are refused.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use futures_util::future::{join_all, LocalBoxFuture};
use serde_json::{json, Map, Value};

use crate::devices::Index;
use crate::driver::{CookieRead, SessionDriver, Update};
use crate::error::DriverError;
use crate::gate::CommitGate;
use crate::id::{SessionId, ID_LEN};
use crate::lifecycle::{self, CookieAction, Rejected};
use crate::policy::ExpiryPolicy;
use crate::record::Record;
use crate::session::ReadonlySession;
use crate::time::{Clock, SystemClock, Timestamp};

/// How many commits [`concurrent_commits_lose_nothing`] runs at once on one
/// session.
pub const CONCURRENT_COMMITS: usize = 50;

/// The size of the data in [`large_record_round_trips`]: 1 MiB.
pub const LARGE_RECORD_BYTES: usize = 1024 * 1024;

const DAY: Duration = Duration::from_secs(24 * 60 * 60);
const MINUTE: Duration = Duration::from_secs(60);

/// One check of the suite: a contract of [`SessionDriver`] and the code that
/// tests it.
pub struct Check {
    /// The check's name, the same as its `async fn` in this module.
    pub name: &'static str,
    /// The contract it checks, in one sentence.
    pub contract: &'static str,
    /// Which drivers the contract applies to.
    pub applies: Applies,
    run: for<'a> fn(&'a dyn SessionDriver) -> LocalBoxFuture<'a, ()>,
}

impl Check {
    /// Runs the check on `driver`, panicking with a message that names the
    /// contract if the driver breaks it.
    pub async fn run(&self, driver: &dyn SessionDriver) {
        (self.run)(driver).await;
    }
}

impl fmt::Debug for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Check")
            .field("name", &self.name)
            .field("contract", &self.contract)
            .field("applies", &self.applies)
            .finish_non_exhaustive()
    }
}

/// Which drivers a [`Check`] applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Applies {
    /// Every driver, whether it stores records or seals them into the
    /// cookie: the check goes through the engine's load and commit.
    EveryDriver,
    /// Drivers that store records on the server (the cookie holds the id).
    ServerSide,
}

macro_rules! checks {
    ($($name:ident ($applies:ident) => $contract:literal,)*) => {
        /// Every check of the suite, in the order [`run`] runs them.
        pub static CHECKS: &[Check] = &[
            $(Check {
                name: stringify!($name),
                contract: $contract,
                applies: Applies::$applies,
                run: |driver| Box::pin($name(driver)),
            },)*
        ];
    };
}

checks! {
    create_refuses_a_live_id (ServerSide) =>
        "`create` fails with `DriverError::AlreadyExists` when the id holds a live record, and leaves that record as it was",
    load_of_a_missing_id_is_none (ServerSide) =>
        "`load` of an id that was never stored returns `None`",
    load_of_an_expired_record_is_none (ServerSide) =>
        "`load` never returns a record whose `expires_at` is not after `now`",
    records_round_trip (ServerSide) =>
        "`load` returns exactly what `create` or `update` stored (nested and unicode data, flash, times, version), per id",
    touch_extends_expiry (ServerSide) =>
        "`touch` of a live record sets its `last_active` and `expires_at` (keeping data and version) and returns `true`",
    touch_of_a_missing_or_expired_id_is_false (ServerSide) =>
        "`touch` returns `false` and stores nothing when no live record has the id",
    destroy_removes (ServerSide) =>
        "after `destroy`, `load` returns `None`",
    destroy_of_a_missing_id_is_ok (ServerSide) =>
        "`destroy` of an id that is not stored succeeds",
    update_with_wrong_version_conflicts (ServerSide) =>
        "`update` answers `Update::Conflict` and changes nothing unless the stored version equals `expected_version`",
    update_never_resurrects (ServerSide) =>
        "`update` of an id with no record answers `Update::Gone` and does not create one; a commit after a parallel destroy does not bring the session back",
    overlapping_commits_merge (ServerSide) =>
        "two requests loaded from the same state that change different keys both land, and their increments add up",
    concurrent_commits_lose_nothing (ServerSide) =>
        "many commits racing on one session all land, batched by a commit gate and racing the compare-and-set: every increment counts and every key is kept",
    well_formed_ids_are_references (ServerSide) =>
        "`read_cookie` of a well-formed id answers `CookieRead::Reference` to that id",
    malformed_cookies_are_rejected (EveryDriver) =>
        "`read_cookie` answers `CookieRead::Invalid` for a value that is not a well-formed id (path- or SQL-shaped, wrong length or alphabet), and the engine starts a fresh session for it",
    sessions_round_trip_through_the_cookie (EveryDriver) =>
        "a committed session reads back through the cookie the commit set, with every change of a later commit",
    reads_refresh_the_expiry (EveryDriver) =>
        "a read once the refresh interval has passed sets the cookie again with a later expiry, and the session lives on past its first expiry",
    regenerate_keeps_the_data (EveryDriver) =>
        "`regenerate` sets a cookie for a new id that reads back with the session's data",
    destroy_removes_the_cookie (EveryDriver) =>
        "`destroy` answers with the cookie's removal and leaves nothing stored under the id, and data written after it starts a new session",
    parallel_regenerates_have_one_winner (ServerSide) =>
        "of parallel regenerates of one session exactly one moves it to a new id, carrying a save committed meanwhile; the others and a later save leave the cookie alone, and the old id stays dead (`update` of an expired record answers `Update::Gone`)",
    signed_in_sessions_are_indexed (ServerSide) =>
        "the sessions a user signs in with are listed in the user's index (kept through this driver's own `load`, `create`, `update` and `destroy`), a revoked one reads as anonymous, a regenerated one stays listed and a logout leaves the list",
    large_record_round_trips (ServerSide) =>
        "a record holding 1 MiB of data is stored and loaded back unchanged",
}

/// The per-user session index ([`Devices`](crate::Devices)) on this driver,
/// through the engine: two sign-ins listed, one revoked by its handle, one
/// regenerated and then signed out.
pub async fn signed_in_sessions_are_indexed(driver: &dyn SessionDriver) {
    let cx = Ctx::new("signed_in_sessions_are_indexed", driver);
    let now = now();
    // A user of its own, so that a store shared with other runs does not
    // mix in their sessions.
    let user = format!("conformance {}", SessionId::generate());
    let index = Index {
        driver,
        policy: policy(),
        now,
    };
    let list = || async {
        let listed = index.list(&user).await.map_err(session_err);
        let mut handles: Vec<String> = cx
            .ok("Devices::list", listed)
            .into_iter()
            .map(|d| d.handle)
            .collect();
        handles.sort();
        handles
    };
    let mut cookies = Vec::new();
    for _ in 0..2 {
        let session = load_fresh(&cx, now).await;
        cx.ok(
            "Session::login",
            session.writable().login(&user).map_err(session_err),
        );
        match commit(&cx, &session, now).await {
            CookieAction::Set { value, .. } => cookies.push(value),
            other => cx.fail(format_args!(
                "a sign-in answered {other:?} instead of a cookie"
            )),
        }
    }
    let mut handles = Vec::new();
    for cookie in &cookies {
        let session = load_session(&cx, cookie, now).await;
        handles.extend(session.device_handle());
    }
    handles.sort();
    cx.ensure(
        list().await == handles && handles.len() == 2,
        "two sign-ins of one user are not both listed under their sessions' handles",
    );

    let revoked = index.revoke_where(&user, |h| h == handles[0]).await;
    cx.ensure(
        cx.ok("Devices::revoke", revoked.map_err(session_err)) == 1,
        "a revoke by handle did not find the session",
    );
    let mut kept = None;
    for cookie in &cookies {
        let result = lifecycle::load(driver, Some(cookie), policy(), now).await;
        let session = cx.ok("lifecycle::load", result).0;
        match session.device_handle() {
            Some(h) if h == handles[0] => cx.fail("a revoked session still reads as signed in"),
            Some(_) => kept = Some(session),
            None => {}
        }
    }
    let Some(kept) = kept else {
        cx.fail("revoking one session signed the other out too");
    };

    cx.ok(
        "Session::regenerate",
        kept.writable().regenerate().map_err(session_err),
    );
    let moved = match commit(&cx, &kept, now).await {
        CookieAction::Set { value, .. } => value,
        other => cx.fail(format_args!(
            "a regenerate answered {other:?} instead of a cookie"
        )),
    };
    let moved = load_session(&cx, &moved, now).await;
    cx.ensure(
        list().await == Vec::from_iter(moved.device_handle()),
        "a regenerated session is not listed under its new handle (or the old one stayed)",
    );
    cx.ok(
        "Session::logout",
        moved.writable().logout().map_err(session_err),
    );
    commit(&cx, &moved, now).await;
    cx.ensure(
        list().await.is_empty(),
        "a logout left the session in the user's index",
    );
}

/// Runs every check in [`CHECKS`], each on a fresh driver from `factory`.
///
/// # Panics
///
/// Panics on the first check the driver fails, with a message naming the
/// check, the contract and what the driver did; that is how a test fails.
pub async fn run<D, F, Fut>(factory: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = D>,
    D: SessionDriver,
{
    for check in CHECKS {
        let driver = factory().await;
        check.run(&driver).await;
    }
}

/// Runs the checks of [`CHECKS`] that apply to a driver whose cookie carries
/// the record ([`Applies::EveryDriver`]), each on a fresh driver from
/// `factory`.
///
/// ```
/// # #[cfg(feature = "cookie")]
/// # async fn example() {
/// use session_actix::{driver::conformance, CookieDriver, CookieKey};
///
/// conformance::run_client_side(|| async {
///     CookieDriver::new("session", CookieKey::generate())
/// })
/// .await;
/// # }
/// ```
///
/// # Panics
///
/// As [`run`] does.
pub async fn run_client_side<D, F, Fut>(factory: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = D>,
    D: SessionDriver,
{
    for check in CHECKS.iter().filter(|c| c.applies == Applies::EveryDriver) {
        let driver = factory().await;
        check.run(&driver).await;
    }
}

/// The context of one check, for failure messages.
struct Ctx<'a> {
    check: &'static str,
    driver: &'a dyn SessionDriver,
}

impl<'a> Ctx<'a> {
    fn new(check: &'static str, driver: &'a dyn SessionDriver) -> Self {
        Self { check, driver }
    }

    #[track_caller]
    fn fail(&self, what: impl fmt::Display) -> ! {
        let contract = CHECKS
            .iter()
            .find(|c| c.name == self.check)
            .map_or("", |c| c.contract);
        panic!(
            "session driver `{}` failed conformance check `{}`\n  contract: {}\n  failure: {}",
            self.driver.name(),
            self.check,
            contract,
            what
        )
    }

    #[track_caller]
    fn ensure(&self, ok: bool, what: impl fmt::Display) {
        if !ok {
            self.fail(what);
        }
    }

    #[track_caller]
    fn ok<T>(&self, op: &str, result: Result<T, DriverError>) -> T {
        match result {
            Ok(value) => value,
            Err(e) => self.fail(format_args!("`{op}` returned an error: {e}")),
        }
    }

    async fn create(&self, id: &SessionId, record: &Record) {
        let result = self.driver.create(id, record).await;
        self.ok("create", result);
    }

    async fn load(&self, id: &SessionId, now: Timestamp) -> Option<Record> {
        let result = self.driver.load(id, now).await;
        self.ok("load", result)
    }
}

fn now() -> Timestamp {
    SystemClock.now()
}

/// `t` moved `by` later.
fn later(t: Timestamp, by: Duration) -> Timestamp {
    Timestamp::from_secs(t.as_secs().saturating_add(by.as_secs()))
}

/// A stored-looking record (version 1) active at `now`, expiring at `expires_at`.
fn record(now: Timestamp, expires_at: Timestamp) -> Record {
    let mut r = Record::new(now, expires_at);
    r.version = 1;
    r
}

/// The expiry policy the lifecycle checks use: long enough that nothing
/// expires while they run.
fn policy() -> ExpiryPolicy {
    ExpiryPolicy {
        idle: DAY,
        ..ExpiryPolicy::default()
    }
}

/// `create` fails with [`DriverError::AlreadyExists`] on an id that holds a
/// live record, and the stored record is unchanged.
pub async fn create_refuses_a_live_id(driver: &dyn SessionDriver) {
    let cx = Ctx::new("create_refuses_a_live_id", driver);
    let now = now();
    let id = SessionId::generate();
    let mut first = record(now, later(now, DAY));
    first.data.insert("owner".into(), json!("first"));
    cx.create(&id, &first).await;

    let mut second = record(now, later(now, DAY));
    second.data.insert("owner".into(), json!("second"));
    match driver.create(&id, &second).await {
        Err(DriverError::AlreadyExists) => {}
        Ok(()) => cx.fail("the second `create` on a live id succeeded (it must never overwrite)"),
        Err(e) => cx.fail(format_args!(
            "the second `create` failed with `{e}` instead of `DriverError::AlreadyExists`"
        )),
    }
    let stored = cx.load(&id, now).await;
    cx.ensure(
        stored.as_ref() == Some(&first),
        "the record changed after a refused `create`",
    );
}

/// `load` of an id that was never stored is `None`.
pub async fn load_of_a_missing_id_is_none(driver: &dyn SessionDriver) {
    let cx = Ctx::new("load_of_a_missing_id_is_none", driver);
    let loaded = cx.load(&SessionId::generate(), now()).await;
    cx.ensure(
        loaded.is_none(),
        "`load` of an unknown id returned a record",
    );
}

/// `load` at a `now` at or past a record's `expires_at` is `None`.
pub async fn load_of_an_expired_record_is_none(driver: &dyn SessionDriver) {
    let cx = Ctx::new("load_of_an_expired_record_is_none", driver);
    let now = now();
    let id = SessionId::generate();
    // Live for a minute of real time, so a store-side TTL keeps it meanwhile.
    let expires_at = later(now, MINUTE);
    cx.create(&id, &record(now, expires_at)).await;
    cx.ensure(
        cx.load(&id, now).await.is_some(),
        "`load` before `expires_at` returned `None`",
    );
    cx.ensure(
        cx.load(&id, expires_at).await.is_none(),
        "`load` at exactly `expires_at` returned the record",
    );
    cx.ensure(
        cx.load(&id, later(expires_at, MINUTE)).await.is_none(),
        "`load` after `expires_at` returned the record",
    );
    cx.ok("destroy", driver.destroy(&id).await);
}

/// Data worth storing: nested values, unicode, JSON escapes and number edges.
fn rich_data() -> Map<String, Value> {
    let value = json!({
        "user": {"id": 42, "roles": ["admin", "ops"], "profile": {"name": "Zoë Ñúñez", "bio": null}},
        "cart": [{"sku": "a-1", "qty": 2, "price": 1.5}, {"sku": "b-2", "qty": 1, "price": 0.25}],
        "日本語のキー": "値 ✓",
        "emoji 🎉": "👩‍👩‍👧 and \u{1F600}",
        "escapes": "quote \" backslash \\ newline \n tab \t nul \u{0} bell \u{7}",
        "rtl": "مرحبا",
        "empty": {"object": {}, "array": [], "string": ""},
        "numbers": [0, -1, i64::MIN, i64::MAX, u64::MAX, 3.25, -0.5],
        "flags": [true, false, null],
        "deep": {"a": {"b": {"c": {"d": {"e": {"f": ["g"]}}}}}},
    });
    match value {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    }
}

/// What `create` and `update` store is what `load` returns, and each id has
/// its own record.
pub async fn records_round_trip(driver: &dyn SessionDriver) {
    let cx = Ctx::new("records_round_trip", driver);
    let now = now();
    let id = SessionId::generate();
    let mut rec = record(now, later(now, DAY));
    rec.created_at = Timestamp::from_secs(now.as_secs() - 3600);
    rec.data = rich_data();
    rec.flash
        .insert("notice".into(), json!("Profil gespeichert ✓"));
    rec.flash
        .insert("errors".into(), json!({"email": ["taken", "too long"]}));
    rec.version = 7;
    cx.create(&id, &rec).await;

    let other = SessionId::generate();
    let mut other_rec = record(now, later(now, DAY));
    other_rec.data.insert("other".into(), json!(true));
    cx.create(&other, &other_rec).await;

    match cx.load(&id, now).await {
        Some(loaded) if loaded == rec => {}
        Some(loaded) => cx.fail(format_args!(
            "the loaded record differs from the created one: {}",
            describe_difference(&rec, &loaded)
        )),
        None => cx.fail("`load` right after `create` returned `None`"),
    }
    cx.ensure(
        cx.load(&other, now).await.as_ref() == Some(&other_rec),
        "a second id did not load its own record",
    );

    let mut next = rec.clone();
    next.data.remove("cart");
    next.data.insert("step".into(), json!(2));
    next.flash.clear();
    next.last_active = later(now, MINUTE);
    next.expires_at = later(now, DAY + MINUTE);
    next.version = 8;
    match cx.ok("update", driver.update(&id, &next, 7).await) {
        Update::Updated => {}
        other => cx.fail(format_args!(
            "`update` with the stored version answered {other:?} instead of `Updated`"
        )),
    }
    match cx.load(&id, later(now, MINUTE)).await {
        Some(loaded) if loaded == next => {}
        Some(loaded) => cx.fail(format_args!(
            "after `update`, the loaded record differs from the stored one: {}",
            describe_difference(&next, &loaded)
        )),
        None => cx.fail("`load` after a successful `update` returned `None`"),
    }
    cx.ensure(
        cx.load(&other, now).await.as_ref() == Some(&other_rec),
        "an `update` of one id changed another id's record",
    );
    cx.ok("destroy", driver.destroy(&id).await);
    cx.ok("destroy", driver.destroy(&other).await);
}

/// A short description of how two records differ, without their (possibly
/// huge) contents.
fn describe_difference(expected: &Record, got: &Record) -> String {
    let mut parts = Vec::new();
    if expected.data != got.data {
        let keys = expected
            .data
            .keys()
            .chain(got.data.keys())
            .filter(|k| expected.data.get(*k) != got.data.get(*k))
            .take(5)
            .map(|k| format!("{k:?}"))
            .collect::<Vec<_>>();
        parts.push(format!("data differs under {}", keys.join(", ")));
    }
    if expected.flash != got.flash {
        parts.push("flash differs".to_owned());
    }
    for (name, a, b) in [
        ("created_at", expected.created_at, got.created_at),
        ("last_active", expected.last_active, got.last_active),
        ("expires_at", expected.expires_at, got.expires_at),
    ] {
        if a != b {
            parts.push(format!("{name} {} != {}", a.as_secs(), b.as_secs()));
        }
    }
    if expected.version != got.version {
        parts.push(format!("version {} != {}", expected.version, got.version));
    }
    parts.join("; ")
}

/// `touch` moves a live record's expiry (a `load` between the old and the new
/// expiry finds it) and keeps its data and version.
pub async fn touch_extends_expiry(driver: &dyn SessionDriver) {
    let cx = Ctx::new("touch_extends_expiry", driver);
    let now = now();
    let id = SessionId::generate();
    let mut rec = record(now, later(now, MINUTE));
    rec.data.insert("kept".into(), json!([1, 2, 3]));
    rec.version = 3;
    cx.create(&id, &rec).await;

    let active = later(now, Duration::from_secs(30));
    let new_expiry = later(now, DAY);
    let touched = cx.ok("touch", driver.touch(&id, active, new_expiry).await);
    cx.ensure(touched, "`touch` of a live record returned `false`");

    let after_old_expiry = later(now, 2 * MINUTE);
    match cx.load(&id, after_old_expiry).await {
        None => cx.fail("`load` after the old expiry but before the new one returned `None`"),
        Some(loaded) => {
            cx.ensure(
                loaded.expires_at == new_expiry,
                format_args!(
                    "`expires_at` is {} after `touch`, expected {}",
                    loaded.expires_at.as_secs(),
                    new_expiry.as_secs()
                ),
            );
            cx.ensure(
                loaded.last_active == active,
                "`touch` did not set `last_active`",
            );
            cx.ensure(loaded.data == rec.data, "`touch` changed the data");
            cx.ensure(
                loaded.version == rec.version,
                "`touch` changed the version (it must not, or parallel commits conflict for nothing)",
            );
        }
    }
    cx.ensure(
        cx.load(&id, new_expiry).await.is_none(),
        "`load` at the new expiry returned the record",
    );
    cx.ok("destroy", driver.destroy(&id).await);
}

/// `touch` of an id with no record, or with an expired one, returns `false`
/// and does not create a record.
pub async fn touch_of_a_missing_or_expired_id_is_false(driver: &dyn SessionDriver) {
    let cx = Ctx::new("touch_of_a_missing_or_expired_id_is_false", driver);
    let now = now();
    let missing = SessionId::generate();
    let touched = cx.ok("touch", driver.touch(&missing, now, later(now, DAY)).await);
    cx.ensure(!touched, "`touch` of an unknown id returned `true`");
    cx.ensure(
        cx.load(&missing, now).await.is_none(),
        "`touch` of an unknown id created a record",
    );

    let expired = SessionId::generate();
    let expires_at = later(now, MINUTE);
    cx.create(&expired, &record(now, expires_at)).await;
    let late = later(expires_at, MINUTE);
    let touched = cx.ok(
        "touch",
        driver.touch(&expired, late, later(late, DAY)).await,
    );
    cx.ensure(
        !touched,
        "`touch` at a time past the record's expiry returned `true` (it revived an expired session)",
    );
    cx.ensure(
        cx.load(&expired, late).await.is_none(),
        "`touch` of an expired record made it live again",
    );
    cx.ok("destroy", driver.destroy(&expired).await);
}

/// After `destroy`, `load` finds nothing, and other ids are untouched.
pub async fn destroy_removes(driver: &dyn SessionDriver) {
    let cx = Ctx::new("destroy_removes", driver);
    let now = now();
    let id = SessionId::generate();
    let other = SessionId::generate();
    cx.create(&id, &record(now, later(now, DAY))).await;
    cx.create(&other, &record(now, later(now, DAY))).await;
    cx.ok("destroy", driver.destroy(&id).await);
    cx.ensure(
        cx.load(&id, now).await.is_none(),
        "`load` after `destroy` returned a record",
    );
    cx.ensure(
        cx.load(&other, now).await.is_some(),
        "`destroy` of one id removed another",
    );
    cx.ok("destroy", driver.destroy(&other).await);
}

/// `destroy` of an id that is not stored (never, or no longer) succeeds.
pub async fn destroy_of_a_missing_id_is_ok(driver: &dyn SessionDriver) {
    let cx = Ctx::new("destroy_of_a_missing_id_is_ok", driver);
    cx.ok(
        "destroy of an unknown id",
        driver.destroy(&SessionId::generate()).await,
    );
    let now = now();
    let id = SessionId::generate();
    cx.create(&id, &record(now, later(now, DAY))).await;
    cx.ok("destroy", driver.destroy(&id).await);
    cx.ok("destroy a second time", driver.destroy(&id).await);
}

/// `update` with an `expected_version` other than the stored one answers
/// `Conflict` and leaves the record as it was.
pub async fn update_with_wrong_version_conflicts(driver: &dyn SessionDriver) {
    let cx = Ctx::new("update_with_wrong_version_conflicts", driver);
    let now = now();
    let id = SessionId::generate();
    let mut stored = record(now, later(now, DAY));
    stored.data.insert("k".into(), json!("original"));
    stored.version = 5;
    cx.create(&id, &stored).await;

    for wrong in [4, 6, 0, u64::MAX] {
        let mut next = stored.clone();
        next.data.insert("k".into(), json!("overwritten"));
        next.version = wrong.wrapping_add(1);
        match cx.ok("update", driver.update(&id, &next, wrong).await) {
            Update::Conflict(None) => {}
            Update::Conflict(Some(latest)) => cx.ensure(
                latest == stored,
                format_args!(
                    "`Conflict` carried a record that is not the stored one: {}",
                    describe_difference(&stored, &latest)
                ),
            ),
            other => cx.fail(format_args!(
                "`update` expecting version {wrong} over stored version 5 answered {other:?}"
            )),
        }
        cx.ensure(
            cx.load(&id, now).await.as_ref() == Some(&stored),
            format_args!("a conflicting `update` (expected version {wrong}) changed the record"),
        );
    }

    // A successful update moves the version on: the old one conflicts now.
    let mut next = stored.clone();
    next.version = 6;
    match cx.ok("update", driver.update(&id, &next, 5).await) {
        Update::Updated => {}
        other => cx.fail(format_args!(
            "`update` with the stored version answered {other:?}"
        )),
    }
    let mut stale = stored.clone();
    stale.data.insert("k".into(), json!("stale"));
    stale.version = 6;
    match cx.ok("update", driver.update(&id, &stale, 5).await) {
        Update::Conflict(_) => {}
        other => cx.fail(format_args!(
            "a second `update` expecting the replaced version answered {other:?}"
        )),
    }
    cx.ensure(
        cx.load(&id, now).await.as_ref() == Some(&next),
        "a stale `update` changed the record",
    );
    cx.ok("destroy", driver.destroy(&id).await);
}

/// `update` of a destroyed (or never stored) id answers `Gone` and does not
/// bring the record back; a lifecycle commit after a parallel logout removes
/// the cookie instead of saving.
pub async fn update_never_resurrects(driver: &dyn SessionDriver) {
    let cx = Ctx::new("update_never_resurrects", driver);
    let now = now();
    let id = SessionId::generate();
    let stored = record(now, later(now, DAY));
    cx.create(&id, &stored).await;
    cx.ok("destroy", driver.destroy(&id).await);

    let mut next = stored.clone();
    next.data.insert("late".into(), json!("write"));
    next.version = 2;
    match cx.ok("update", driver.update(&id, &next, 1).await) {
        Update::Gone => {}
        other => cx.fail(format_args!(
            "`update` of a destroyed id answered {other:?} instead of `Gone`"
        )),
    }
    cx.ensure(
        cx.load(&id, now).await.is_none(),
        "`update` of a destroyed id brought the record back",
    );

    let never = SessionId::generate();
    match cx.ok("update", driver.update(&never, &next, 1).await) {
        Update::Gone => {}
        other => cx.fail(format_args!(
            "`update` of an id never stored answered {other:?} instead of `Gone`"
        )),
    }
    cx.ensure(
        cx.load(&never, now).await.is_none(),
        "`update` of an id never stored created a record",
    );

    // The same through the lifecycle: a request still running when another
    // one logs the user out must not log them back in.
    let cookie = stored_session(&cx, now, &[("user", json!(1))]).await;
    let slow = load_session(&cx, &cookie, now).await;
    let logout = load_session(&cx, &cookie, now).await;
    cx.ok(
        "Session::destroy",
        logout.writable().destroy().map_err(session_err),
    );
    match commit(&cx, &logout, now).await {
        CookieAction::Remove => {}
        other => cx.fail(format_args!(
            "a commit of a destroyed session answered {other:?} instead of removing the cookie"
        )),
    }
    late_save_is_dropped(&cx, &slow, &cookie, now, "a parallel destroy").await;
}

/// `session`, loaded from `cookie` before `ended` ended it, saves: its
/// changes are dropped, its response leaves the cookie alone (the request
/// that ended the session already set what the cookie should be), and the
/// id stays dead.
async fn late_save_is_dropped(
    cx: &Ctx<'_>,
    session: &ReadonlySession,
    cookie: &str,
    now: Timestamp,
    ended: &str,
) {
    cx.ok(
        "Session::put",
        session.writable().put("late", true).map_err(session_err),
    );
    match commit(cx, session, now).await {
        CookieAction::Keep => {}
        other => cx.fail(format_args!(
            "a save after {ended} answered {other:?} instead of leaving the cookie alone"
        )),
    }
    let id = SessionId::parse(cookie)
        .expect("the cookie holds an id")
        .store_id();
    cx.ensure(
        cx.load(&id, now).await.is_none(),
        format_args!("a save after {ended} brought the old id back"),
    );
}

/// Turns a data API error (which the checks never expect) into a driver error
/// for the uniform failure message.
fn session_err(e: crate::error::SessionError) -> DriverError {
    DriverError::backend(e)
}

/// Stores a session with `data` through the lifecycle; returns its cookie.
async fn stored_session(cx: &Ctx<'_>, now: Timestamp, data: &[(&str, Value)]) -> String {
    let session = load_fresh(cx, now).await;
    let handle = session.writable();
    for (key, value) in data {
        cx.ok("Session::put", handle.put(*key, value).map_err(session_err));
    }
    match commit(cx, &session, now).await {
        CookieAction::Set { value, .. } => value,
        other => cx.fail(format_args!(
            "committing a new session with data answered {other:?} instead of setting a cookie"
        )),
    }
}

async fn load_fresh(cx: &Ctx<'_>, now: Timestamp) -> ReadonlySession {
    let result = lifecycle::load(cx.driver, None, policy(), now).await;
    cx.ok("lifecycle::load", result).0
}

async fn load_session(cx: &Ctx<'_>, cookie: &str, now: Timestamp) -> ReadonlySession {
    let result = lifecycle::load(cx.driver, Some(cookie), policy(), now).await;
    let (session, rejected) = cx.ok("lifecycle::load", result);
    if let Some(why) = rejected {
        cx.fail(format_args!(
            "a session just committed was not found again ({why:?})"
        ));
    }
    session
}

async fn commit(cx: &Ctx<'_>, session: &ReadonlySession, now: Timestamp) -> CookieAction {
    let result = lifecycle::commit(session, cx.driver, None, now).await;
    cx.ok("lifecycle::commit", result)
}

/// Two requests loaded from the same state commit in turn through
/// the engine's commit: changes to different keys both land and both
/// increments count.
pub async fn overlapping_commits_merge(driver: &dyn SessionDriver) {
    let cx = Ctx::new("overlapping_commits_merge", driver);
    let now = now();
    let cookie = stored_session(&cx, now, &[("visits", json!(10)), ("keep", json!("me"))]).await;

    let first = load_session(&cx, &cookie, now).await;
    let second = load_session(&cx, &cookie, now).await;
    let a = first.writable();
    cx.ok(
        "Session::put",
        a.put("from_first", "a").map_err(session_err),
    );
    cx.ok(
        "Session::increment",
        a.increment("visits", 1).map_err(session_err),
    );
    let b = second.writable();
    cx.ok(
        "Session::put",
        b.put("from_second", "b").map_err(session_err),
    );
    cx.ok(
        "Session::increment",
        b.increment("visits", 1).map_err(session_err),
    );

    for (name, session) in [("first", &first), ("second", &second)] {
        match commit(&cx, session, now).await {
            CookieAction::Set { value, .. } if value == cookie => {}
            other => cx.fail(format_args!(
                "the {name} commit answered {other:?} instead of keeping the session"
            )),
        }
    }

    let id = SessionId::parse(&cookie)
        .expect("the cookie holds an id")
        .store_id();
    let Some(merged) = cx.load(&id, now).await else {
        cx.fail("the session is gone after two commits");
    };
    cx.ensure(
        merged.data.get("from_first") == Some(&json!("a")),
        "the first request's change was lost",
    );
    cx.ensure(
        merged.data.get("from_second") == Some(&json!("b")),
        "the second request's change was lost",
    );
    cx.ensure(
        merged.data.get("keep") == Some(&json!("me")),
        "a key neither request changed was lost",
    );
    cx.ensure(
        merged.data.get("visits") == Some(&json!(12)),
        format_args!(
            "two increments of 10 left {:?} instead of 12",
            merged.data.get("visits")
        ),
    );
    cx.ok("destroy", driver.destroy(&id).await);
}

/// [`CONCURRENT_COMMITS`] requests load one session, each increments a
/// counter and puts its own key, and all commit at once; the driver calls
/// interleave at their await points. Nothing may be lost. Run twice: through
/// the engine's commit gate, which batches parallel saves when the driver is
/// [remote](SessionDriver::remote), and past it, so that the compare-and-set
/// itself is raced.
pub async fn concurrent_commits_lose_nothing(driver: &dyn SessionDriver) {
    let cx = Ctx::new("concurrent_commits_lose_nothing", driver);
    let now = now();
    // Through a commit gate, as the middleware commits (parallel saves to a
    // remote driver are batched), and past it (they race the driver's
    // compare-and-set).
    for gated in [true, false] {
        let how = if gated {
            "through the commit gate"
        } else {
            "past the commit gate"
        };
        let cookie = stored_session(&cx, now, &[("count", json!(0))]).await;
        let gate = CommitGate::default();

        let mut sessions = Vec::with_capacity(CONCURRENT_COMMITS);
        for i in 0..CONCURRENT_COMMITS {
            let session = load_session(&cx, &cookie, now).await;
            let handle = session.writable();
            cx.ok(
                "Session::increment",
                handle.increment("count", 1).map_err(session_err),
            );
            cx.ok(
                "Session::put",
                handle.put(format!("key_{i}"), i).map_err(session_err),
            );
            sessions.push(session);
        }
        let results = join_all(
            sessions
                .iter()
                .map(|session| lifecycle::commit(session, driver, gated.then_some(&gate), now)),
        )
        .await;
        for (i, result) in results.into_iter().enumerate() {
            match cx.ok("lifecycle::commit", result) {
                CookieAction::Set { value, .. } if value == cookie => {}
                other => cx.fail(format_args!(
                    "{how}: concurrent commit #{i} answered {other:?} instead of keeping the session"
                )),
            }
        }

        let id = SessionId::parse(&cookie)
            .expect("the cookie holds an id")
            .store_id();
        let Some(last) = cx.load(&id, now).await else {
            cx.fail(format_args!(
                "{how}: the session is gone after the concurrent commits"
            ));
        };
        cx.ensure(
            last.data.get("count") == Some(&json!(CONCURRENT_COMMITS)),
            format_args!(
                "{how}: {CONCURRENT_COMMITS} concurrent increments left the counter at {:?}",
                last.data.get("count")
            ),
        );
        let missing: Vec<usize> = (0..CONCURRENT_COMMITS)
            .filter(|i| last.data.get(&format!("key_{i}")) != Some(&json!(i)))
            .collect();
        cx.ensure(
            missing.is_empty(),
            format_args!(
                "{how}: {} of {CONCURRENT_COMMITS} concurrent commits lost their key (for example key_{})",
                missing.len(),
                missing.first().copied().unwrap_or_default()
            ),
        );
        cx.ok("destroy", driver.destroy(&id).await);
    }
}

/// Cookie values that are not ids, each with what makes it wrong.
fn malformed_ids() -> Vec<(String, &'static str)> {
    let valid = SessionId::from_bytes(&[0x5a; 32]).to_string();
    let pad = |prefix: &str| {
        let mut s = prefix.to_owned();
        while s.len() < ID_LEN {
            s.push('a');
        }
        s
    };
    vec![
        ("../../etc/passwd".to_owned(), "a path"),
        (pad("../../etc/passwd/"), "a path of an id's length"),
        (pad("..%2F..%2Fetc%2Fpasswd"), "a URL-encoded path"),
        (pad("/tmp/"), "an absolute path"),
        (pad("..\\..\\windows\\"), "a Windows path"),
        ("' OR '1'='1".to_owned(), "SQL"),
        (pad("'; DROP TABLE sessions;--"), "SQL of an id's length"),
        (pad("\" OR 1=1 --"), "SQL with double quotes"),
        (String::new(), "empty"),
        ("abc".to_owned(), "too short"),
        (valid[..ID_LEN - 1].to_owned(), "one character short"),
        (format!("{valid}A"), "one character long"),
        ("A".repeat(4096), "very long"),
        (pad("ab+cd/ef"), "standard base64, not URL-safe"),
        (format!("{}=", &valid[..ID_LEN - 1]), "padding"),
        (pad("sess:"), "a key separator"),
        (pad("*"), "a glob"),
        (pad("\u{0}"), "a NUL byte"),
        (pad("abc def"), "a space"),
        (format!(" {}", &valid[1..]), "a leading space"),
        (pad("é"), "non-ASCII"),
        (pad("\r\nSet-Cookie: x"), "a header injection"),
        (non_canonical(&valid), "a non-canonical encoding"),
    ]
}

/// `valid` with the two unused low bits of its last character set.
fn non_canonical(valid: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bytes = valid.as_bytes().to_vec();
    let last = bytes.pop().unwrap_or(b'A');
    let index = ALPHABET.iter().position(|&c| c == last).unwrap_or(0);
    bytes.push(ALPHABET[index | 1]);
    String::from_utf8(bytes).unwrap_or_default()
}

/// `read_cookie` rejects values that are not well-formed ids as
/// [`CookieRead::Invalid`] (so no store call is made for them), and the
/// lifecycle turns a rejected value into a fresh session.
pub async fn malformed_cookies_are_rejected(driver: &dyn SessionDriver) {
    let cx = Ctx::new("malformed_cookies_are_rejected", driver);
    let now = now();
    for (value, what) in malformed_ids() {
        match driver.read_cookie(&value, now) {
            CookieRead::Invalid(_) => {}
            CookieRead::Reference(_) => cx.fail(format_args!(
                "`read_cookie` accepted {what} ({value:?}) as an id"
            )),
            CookieRead::Inline { .. } => cx.fail(format_args!(
                "`read_cookie` turned {what} ({value:?}) into a session"
            )),
        }
        let result = lifecycle::load(driver, Some(&value), policy(), now).await;
        let (session, rejected) = cx.ok("lifecycle::load", result);
        cx.ensure(
            matches!(rejected, Some(Rejected::Invalid(_))) && !session.is_stored(),
            format_args!("the lifecycle did not start a fresh session for {what} ({value:?})"),
        );
    }
}

/// `read_cookie` accepts a well-formed id as a [`CookieRead::Reference`] to it.
pub async fn well_formed_ids_are_references(driver: &dyn SessionDriver) {
    let cx = Ctx::new("well_formed_ids_are_references", driver);
    let id = SessionId::generate();
    match driver.read_cookie(id.as_str(), now()) {
        CookieRead::Reference(read) if read == id => {}
        other => cx.fail(format_args!(
            "`read_cookie` of a well-formed id answered {other:?} instead of `Reference` to it"
        )),
    }
}

/// A session committed with data reads back through the cookie that commit
/// set, and so does a later change to it.
pub async fn sessions_round_trip_through_the_cookie(driver: &dyn SessionDriver) {
    let cx = Ctx::new("sessions_round_trip_through_the_cookie", driver);
    let now = now();
    let data = rich_data();
    let pairs: Vec<(&str, Value)> = data.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let cookie = stored_session(&cx, now, &pairs).await;
    let session = load_session(&cx, &cookie, now).await;
    cx.ensure(
        session.all() == data,
        "the data read back differs from what was committed",
    );

    let handle = session.writable();
    cx.ok("Session::put", handle.put("added", 1).map_err(session_err));
    cx.ok(
        "Session::forget",
        handle.forget("cart").map_err(session_err),
    );
    let cookie = match commit(&cx, &session, now).await {
        CookieAction::Set { value, .. } => value,
        other => cx.fail(format_args!(
            "committing a change answered {other:?} instead of setting the cookie"
        )),
    };
    let again = load_session(&cx, &cookie, now).await;
    let mut expected = data;
    expected.insert("added".into(), json!(1));
    expected.remove("cart");
    cx.ensure(
        again.all() == expected && again.id() == session.id(),
        "a change committed to a stored session did not read back under the same id",
    );
}

/// A read after the refresh interval sets the cookie again with a later
/// expiry, and that cookie works past the first expiry.
pub async fn reads_refresh_the_expiry(driver: &dyn SessionDriver) {
    let cx = Ctx::new("reads_refresh_the_expiry", driver);
    let now = now();
    let cookie = stored_session(&cx, now, &[("user", json!("ada"))]).await;
    let soon = later(now, policy().refresh_after + MINUTE);
    let session = load_session(&cx, &cookie, soon).await;
    let _ = session.writable();
    let (cookie, expires_at) = match commit(&cx, &session, soon).await {
        CookieAction::Set { value, expires_at } => (value, expires_at),
        other => cx.fail(format_args!(
            "a read due for a refresh answered {other:?} instead of setting the cookie"
        )),
    };
    cx.ensure(
        expires_at == later(soon, DAY),
        format_args!("the refreshed expiry is {expires_at:?}, not a day after the read"),
    );
    // Past the first expiry, within the refreshed one.
    let session = load_session(&cx, &cookie, later(now, DAY + MINUTE / 2)).await;
    cx.ensure(
        session.get_value("user") == Some(json!("ada")),
        "the refreshed session lost its data",
    );
}

/// `regenerate` gives the session a new id, and its cookie reads back with
/// the data.
pub async fn regenerate_keeps_the_data(driver: &dyn SessionDriver) {
    let cx = Ctx::new("regenerate_keeps_the_data", driver);
    let now = now();
    let cookie = stored_session(&cx, now, &[("user", json!("ada"))]).await;
    let session = load_session(&cx, &cookie, now).await;
    let old = session.id();
    let handle = session.writable();
    cx.ok(
        "Session::regenerate",
        handle.regenerate().map_err(session_err),
    );
    cx.ok(
        "Session::put",
        handle.put("role", "admin").map_err(session_err),
    );
    let cookie = match commit(&cx, &session, now).await {
        CookieAction::Set { value, .. } => value,
        other => cx.fail(format_args!(
            "a regenerate answered {other:?} instead of setting the cookie"
        )),
    };
    let moved = load_session(&cx, &cookie, now).await;
    cx.ensure(
        moved.id() != old
            && moved.get_value("user") == Some(json!("ada"))
            && moved.get_value("role") == Some(json!("admin")),
        "the regenerated session did not read back under a new id with its data",
    );
}

/// How many regenerates of one session [`parallel_regenerates_have_one_winner`]
/// commits at once.
const PARALLEL_REGENERATES: usize = 8;

/// Parallel regenerates of one session (a double-clicked sign-in, two tabs)
/// leave one live copy under one new id, not one per request; a save that
/// landed after they loaded moves with the session; a save that commits
/// after the move does not bring the old id back.
pub async fn parallel_regenerates_have_one_winner(driver: &dyn SessionDriver) {
    let cx = Ctx::new("parallel_regenerates_have_one_winner", driver);
    let now = now();
    let cookie = stored_session(&cx, now, &[("user", json!("ada"))]).await;
    let save_first = load_session(&cx, &cookie, now).await;
    let save_after = load_session(&cx, &cookie, now).await;
    let mut regenerates = Vec::with_capacity(PARALLEL_REGENERATES);
    for i in 0..PARALLEL_REGENERATES {
        let session = load_session(&cx, &cookie, now).await;
        let handle = session.writable();
        cx.ok(
            "Session::regenerate",
            handle.regenerate().map_err(session_err),
        );
        cx.ok(
            "Session::put",
            handle.put(format!("by_{i}"), i).map_err(session_err),
        );
        regenerates.push(session);
    }
    cx.ok(
        "Session::put",
        save_first
            .writable()
            .put("saved", true)
            .map_err(session_err),
    );
    commit(&cx, &save_first, now).await;

    let actions = join_all(regenerates.iter().map(|s| commit(&cx, s, now))).await;
    let winners: Vec<(usize, &String)> = actions
        .iter()
        .enumerate()
        .filter_map(|(i, a)| match a {
            CookieAction::Set { value, .. } => Some((i, value)),
            _ => None,
        })
        .collect();
    let [(winner, new_cookie)] = winners[..] else {
        cx.fail(format_args!(
            "{} of {PARALLEL_REGENERATES} parallel regenerates of one session set a cookie; exactly one may move it",
            winners.len()
        ));
    };
    if let Some(other) = actions
        .iter()
        .find(|a| !matches!(a, CookieAction::Keep | CookieAction::Set { .. }))
    {
        cx.fail(format_args!(
            "a regenerate that lost the race answered {other:?} instead of leaving the cookie alone (a removal would sign out the winner's new cookie)"
        ));
    }
    let moved = load_session(&cx, new_cookie, now).await;
    let lost: Vec<String> = (0..PARALLEL_REGENERATES)
        .filter(|&i| (moved.get_value(&format!("by_{i}")) == Some(json!(i))) != (i == winner))
        .map(|i| format!("by_{i}"))
        .collect();
    cx.ensure(
        moved.get_value("user") == Some(json!("ada"))
            && moved.get_value("saved") == Some(json!(true)),
        "the moved session lost its data or a save committed before the move",
    );
    cx.ensure(
        lost.is_empty(),
        format_args!("the moved session holds the wrong regenerates' keys: {lost:?}"),
    );

    late_save_is_dropped(&cx, &save_after, &cookie, now, "the session moved").await;
    let moved = load_session(&cx, new_cookie, now).await;
    cx.ensure(
        moved.get_value("late").is_none(),
        "a save of the old id after the move reached the new one",
    );
}

/// `destroy` removes the cookie; data written after a destroy starts a new
/// session under a new id.
pub async fn destroy_removes_the_cookie(driver: &dyn SessionDriver) {
    let cx = Ctx::new("destroy_removes_the_cookie", driver);
    let now = now();
    let cookie = stored_session(&cx, now, &[("user", json!("ada"))]).await;
    let session = load_session(&cx, &cookie, now).await;
    cx.ok(
        "Session::destroy",
        session.writable().destroy().map_err(session_err),
    );
    let action = commit(&cx, &session, now).await;
    cx.ensure(
        action == CookieAction::Remove,
        format_args!("a destroy answered {action:?} instead of removing the cookie"),
    );
    // A cookie that refers to the store no longer finds anything. (One that
    // carries the record cannot be revoked; the browser drops it.)
    if let CookieRead::Reference(id) = driver.read_cookie(&cookie, now) {
        cx.ensure(
            cx.load(&id.store_id(), now).await.is_none(),
            "the destroyed session is still stored",
        );
    }

    let cookie = stored_session(&cx, now, &[("user", json!("ada"))]).await;
    let session = load_session(&cx, &cookie, now).await;
    let old = session.id();
    let handle = session.writable();
    cx.ok("Session::destroy", handle.destroy().map_err(session_err));
    cx.ok(
        "Session::put",
        handle.put("guest", true).map_err(session_err),
    );
    let cookie = match commit(&cx, &session, now).await {
        CookieAction::Set { value, .. } => value,
        other => cx.fail(format_args!(
            "data written after a destroy answered {other:?} instead of a new cookie"
        )),
    };
    let fresh = load_session(&cx, &cookie, now).await;
    cx.ensure(
        fresh.id() != old && fresh.get_value("guest") == Some(json!(true)) && !fresh.has("user"),
        "data written after a destroy did not start a new session of its own",
    );
}

/// A record with 1 MiB of data round-trips unchanged.
pub async fn large_record_round_trips(driver: &dyn SessionDriver) {
    let cx = Ctx::new("large_record_round_trips", driver);
    let now = now();
    let id = SessionId::generate();
    let mut rec = record(now, later(now, DAY));
    // 1024 values of 1 KiB, each different, plus some multi-byte text.
    let mut size = 0;
    let mut i = 0usize;
    while size < LARGE_RECORD_BYTES {
        let value: String = format!("{i:08}-")
            .chars()
            .chain("ß✓日🎉abcdefghij".chars().cycle())
            .take(400)
            .collect();
        size += value.len();
        rec.data
            .insert(format!("chunk_{i:05}"), Value::String(value));
        i += 1;
    }
    cx.create(&id, &rec).await;
    match cx.load(&id, now).await {
        Some(loaded) if loaded == rec => {}
        Some(loaded) => cx.fail(format_args!(
            "the 1 MiB record came back different: {}",
            describe_difference(&rec, &loaded)
        )),
        None => cx.fail("`load` of a 1 MiB record returned `None`"),
    }
    cx.ok("destroy", driver.destroy(&id).await);
}

#[cfg(all(test, feature = "memory"))]
mod tests {
    use super::*;
    use crate::drivers::memory::MemoryDriver;

    #[tokio::test]
    async fn memory_driver_conforms() {
        run(|| async { MemoryDriver::new() }).await;
    }

    /// Ways a driver can break the contract, to show each check can fail.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Bug {
        CreateOverwrites,
        LoadIgnoresExpiry,
        LoadForgetsFlash,
        /// Answers every `load` with a record, stored or not.
        LoadInventsRecords,
        TouchKeepsExpiry,
        TouchAlwaysTrue,
        DestroyKeeps,
        DestroyMissingFails,
        UpdateIgnoresVersion,
        UpdateRecreates,
        /// Checks the version, yields, then writes: a lost update when calls
        /// interleave.
        UpdateRaces,
        AcceptsAnyCookie,
        RejectsEveryCookie,
        TruncatesLargeRecords,
        CreateDropsData,
    }

    #[derive(Debug)]
    struct Broken {
        inner: MemoryDriver,
        bug: Bug,
    }

    #[async_trait::async_trait]
    impl SessionDriver for Broken {
        fn name(&self) -> &'static str {
            "broken"
        }

        fn read_cookie(&self, value: &str, now: Timestamp) -> CookieRead {
            match SessionId::parse(value) {
                Err(_) if self.bug == Bug::AcceptsAnyCookie => {
                    CookieRead::Reference(SessionId::generate())
                }
                _ if self.bug == Bug::RejectsEveryCookie => CookieRead::Invalid("broken"),
                _ => self.inner.read_cookie(value, now),
            }
        }

        async fn load(
            &self,
            id: &SessionId,
            now: Timestamp,
        ) -> Result<Option<Record>, DriverError> {
            if self.bug == Bug::LoadInventsRecords {
                return Ok(Some(record(now, later(now, DAY))));
            }
            let at = if self.bug == Bug::LoadIgnoresExpiry {
                Timestamp::from_secs(0)
            } else {
                now
            };
            let mut found = self.inner.load(id, at).await?;
            if let Some(r) = found.as_mut() {
                if self.bug == Bug::LoadForgetsFlash {
                    r.flash.clear();
                }
            }
            Ok(found)
        }

        async fn create(&self, id: &SessionId, record: &Record) -> Result<(), DriverError> {
            let mut record = record.clone();
            if self.bug == Bug::TruncatesLargeRecords && record.data.len() > 1000 {
                record.data.retain(|k, _| k.as_str() < "chunk_01000");
            }
            if self.bug == Bug::CreateOverwrites {
                self.inner.destroy(id).await?;
            }
            if self.bug == Bug::CreateDropsData {
                record.data.clear();
            }
            self.inner.create(id, &record).await
        }

        async fn update(
            &self,
            id: &SessionId,
            record: &Record,
            expected_version: u64,
        ) -> Result<Update, DriverError> {
            let current = self.inner.load(id, record.last_active).await?;
            match (self.bug, current) {
                (Bug::UpdateRecreates, None) => {
                    self.inner.create(id, record).await?;
                    Ok(Update::Updated)
                }
                (Bug::UpdateIgnoresVersion, Some(current)) => {
                    self.inner.update(id, record, current.version).await
                }
                (Bug::UpdateRaces, Some(current)) if current.version == expected_version => {
                    tokio::task::yield_now().await;
                    let now = self.inner.load(id, record.last_active).await?;
                    let version = now.map_or(expected_version, |r| r.version);
                    self.inner.update(id, record, version).await
                }
                _ => self.inner.update(id, record, expected_version).await,
            }
        }

        async fn touch(
            &self,
            id: &SessionId,
            last_active: Timestamp,
            expires_at: Timestamp,
        ) -> Result<bool, DriverError> {
            match self.bug {
                Bug::TouchAlwaysTrue => Ok(true),
                Bug::TouchKeepsExpiry => Ok(self.inner.load(id, last_active).await?.is_some()),
                _ => self.inner.touch(id, last_active, expires_at).await,
            }
        }

        async fn destroy(&self, id: &SessionId) -> Result<(), DriverError> {
            match self.bug {
                Bug::DestroyKeeps => Ok(()),
                Bug::DestroyMissingFails
                    if self
                        .inner
                        .load(id, Timestamp::from_secs(0))
                        .await?
                        .is_none() =>
                {
                    Err(DriverError::Timeout(Duration::from_secs(1)))
                }
                _ => self.inner.destroy(id).await,
            }
        }
    }

    /// Runs `check` on a driver with `bug` and returns the panic message.
    async fn failure(check: &str, bug: Bug) -> String {
        use futures_util::FutureExt as _;
        let check = CHECKS.iter().find(|c| c.name == check).expect("a check");
        let driver = Broken {
            inner: MemoryDriver::new(),
            bug,
        };
        let outcome = std::panic::AssertUnwindSafe(check.run(&driver))
            .catch_unwind()
            .await;
        match outcome {
            Ok(()) => panic!("check `{}` passed a driver with {bug:?}", check.name),
            Err(payload) => payload
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_default(),
        }
    }

    #[tokio::test]
    async fn every_check_fails_on_a_driver_that_breaks_its_contract() {
        let cases = [
            ("create_refuses_a_live_id", Bug::CreateOverwrites),
            ("load_of_a_missing_id_is_none", Bug::LoadInventsRecords),
            ("load_of_an_expired_record_is_none", Bug::LoadIgnoresExpiry),
            ("records_round_trip", Bug::LoadForgetsFlash),
            ("touch_extends_expiry", Bug::TouchKeepsExpiry),
            (
                "touch_of_a_missing_or_expired_id_is_false",
                Bug::TouchAlwaysTrue,
            ),
            ("destroy_removes", Bug::DestroyKeeps),
            ("destroy_of_a_missing_id_is_ok", Bug::DestroyMissingFails),
            (
                "update_with_wrong_version_conflicts",
                Bug::UpdateIgnoresVersion,
            ),
            ("update_never_resurrects", Bug::UpdateRecreates),
            ("overlapping_commits_merge", Bug::UpdateIgnoresVersion),
            ("concurrent_commits_lose_nothing", Bug::UpdateIgnoresVersion),
            ("concurrent_commits_lose_nothing", Bug::UpdateRaces),
            ("malformed_cookies_are_rejected", Bug::AcceptsAnyCookie),
            ("well_formed_ids_are_references", Bug::RejectsEveryCookie),
            (
                "sessions_round_trip_through_the_cookie",
                Bug::CreateDropsData,
            ),
            ("reads_refresh_the_expiry", Bug::TouchKeepsExpiry),
            ("regenerate_keeps_the_data", Bug::CreateDropsData),
            ("destroy_removes_the_cookie", Bug::DestroyKeeps),
            ("large_record_round_trips", Bug::TruncatesLargeRecords),
            ("parallel_regenerates_have_one_winner", Bug::UpdateRecreates),
            ("signed_in_sessions_are_indexed", Bug::DestroyKeeps),
        ];
        // Each check is shown to fail here.
        for check in CHECKS {
            assert!(
                cases.iter().any(|(name, _)| *name == check.name),
                "no broken driver shows that `{}` can fail",
                check.name
            );
        }
        for (check, bug) in cases {
            let message = failure(check, bug).await;
            assert!(
                message.contains(&format!("failed conformance check `{check}`"))
                    && message.contains("contract: "),
                "unexpected failure message for {check} / {bug:?}: {message}"
            );
        }
        // The racy driver is correct when calls do not interleave.
        let racy = Broken {
            inner: MemoryDriver::new(),
            bug: Bug::UpdateRaces,
        };
        overlapping_commits_merge(&racy).await;
    }

    #[test]
    fn every_check_has_a_distinct_name_and_a_contract() {
        let mut names: Vec<_> = CHECKS.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CHECKS.len());
        assert!(CHECKS.iter().all(|c| !c.contract.is_empty()));
    }
}
