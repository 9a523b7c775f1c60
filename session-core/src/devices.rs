//! The per-user session index: which sessions a user is signed in with,
//! and revoking them.
//!
//! # Data model
//!
//! A user's index is one ordinary record, kept by the session driver itself
//! (so it works on every server-side driver, custom ones too, with no schema
//! of its own), under an id derived from the user id by a SHA-256 with its
//! own prefix. Its data maps each session's *handle* to an entry: the
//! session's store id (the SHA-256 the driver files the session under, see
//! [`SessionId::store_id`], never the cookie's id), when the user signed in,
//! and the device details the app chose to record ([`DeviceInfo`]). A handle
//! is a further hash of the store id, so neither it nor anything in the
//! index can be turned back into a session cookie. The record changes only
//! by compare-and-set, like a session.
//!
//! Requests that neither sign in nor out never touch it: a sign-in, a
//! sign-out and a regenerate of a signed-in session update it at commit; a
//! device list reads it and each listed session (last seen is the session's
//! `last_active`, which moves at the refresh granularity); a revoke marks
//! the entry first, then destroys the session, so a commit still in flight
//! for it finds it gone (the same no-resurrection rule as a logout), then
//! removes the entry. A sign-in or regenerate enters its new session before
//! storing it and checks the entry is still there, unmarked, after: a revoke
//! that ran meanwhile wins. A revoke also finishes the entries a parallel
//! or interrupted revoke marked, so it answers only once every session it
//! names is gone.
//!
//! The index expires a little after the last of its sessions: each change
//! sets it to live an idle timeout, a refresh interval and a minute from
//! then, and the first commit of a signed-in session in each refresh
//! interval moves the index's expiry the same way before its own (one more
//! store call per refresh interval, for signed-in sessions only). So the
//! index never expires before a session it names, and outlives the last
//! one by at most the refresh interval plus a minute. Entries of sessions
//! that expired leave on the next device list (or sign-in) of that user.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::driver::{SessionDriver, Update};
use crate::error::{DriverError, SessionError};
use crate::id::SessionId;
use crate::lifecycle::MAX_COMMIT_ATTEMPTS;
use crate::policy::ExpiryPolicy;
use crate::record::Record;
use crate::session::ReadonlySession;
use crate::signin::user_key;
use crate::telemetry::{timed, Op};
use crate::time::{Clock, Timestamp};

/// A user keeps at most this many signed-in sessions; a sign-in past it
/// signs out the one that signed in longest ago.
pub(crate) const MAX_DEVICES: usize = 100;

/// The longest user agent or address kept, in bytes; longer ones are cut.
const MAX_DETAIL: usize = 256;

/// How long an entry whose session is not (yet) stored is left alone: a
/// sign-in enters its session in the index one round trip before it stores
/// it, and a device list must not drop it in between.
const SETTLING: Duration = Duration::from_secs(60);

/// How long a "signed out before" time (cookie sessions) lives after its
/// last change when sessions have no absolute timeout: a cookie session
/// refreshed all along could otherwise come back when it expires.
const UNBOUNDED_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);

/// What an app chooses to record about a device when a user signs in, for
/// its device list ([`Session::login_with`](crate::Session::login_with)).
///
/// Both are personal data: record them only if the device list needs them,
/// say so in your privacy notice, and prefer a coarse address (a network,
/// not the host). Each is cut to 256 bytes.
///
/// ```
/// use session_actix::DeviceInfo;
///
/// let device = DeviceInfo::new()
///     .user_agent("Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0")
///     .ip("192.0.2.0/24");
/// # let _ = device;
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceInfo {
    user_agent: Option<String>,
    ip: Option<String>,
}

impl DeviceInfo {
    /// Nothing recorded.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the browser's `User-Agent`.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(cut(user_agent.into()));
        self
    }

    /// Records an address, ideally a coarse one.
    pub fn ip(mut self, ip: impl Into<String>) -> Self {
        self.ip = Some(cut(ip.into()));
        self
    }
}

fn cut(mut text: String) -> String {
    if text.len() > MAX_DETAIL {
        let mut end = MAX_DETAIL;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// One session a user is signed in with, from [`Devices::list`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Device {
    /// Names this session for [`Devices::revoke`]. Not a credential: it
    /// cannot be turned into the session's cookie. Compare it with
    /// [`ReadonlySession::device_handle`] to mark the current session.
    pub handle: String,
    /// When the user signed in with it.
    pub signed_in_at: SystemTime,
    /// When a request last used it, to the refresh granularity of the
    /// expiry policy (a request does not write just to move this).
    pub last_seen: SystemTime,
    /// The user agent recorded at sign-in, if the app recorded one.
    pub user_agent: Option<String>,
    /// The address recorded at sign-in, if the app recorded one.
    pub ip: Option<String>,
}

/// The sessions each user is signed in with: list them, sign one out, all
/// but the current one, or all of them (after a password change). Works on
/// every server-side driver and on every app instance that shares the
/// store: a revoked session reads as anonymous on its next request.
///
/// Take it in a handler like the session (the default middleware's store),
/// or get it from [`SessionMiddleware::devices`] for work outside requests
/// (an admin page, a password-reset job). The cookie driver keeps sessions
/// in browsers, so `list`, `revoke` and `revoke_others` answer
/// [`SessionError::NotIndexed`] there, and `revoke_all` works only through
/// `CookieDriver::with_revocations`.
/// A user keeps at most 100 signed-in sessions: a sign-in past that signs
/// out the one that signed in longest ago.
/// Errors of the store are [`SessionError::Store`], an opaque 500 in a
/// handler.
///
/// [`SessionMiddleware::devices`]: https://docs.rs/session-actix/latest/session_actix/struct.SessionMiddleware.html#method.devices
///
/// ```no_run
/// use actix_web::{web, HttpResponse};
/// use session_actix::{Devices, ReadonlySession, SessionError};
///
/// async fn devices(session: ReadonlySession, devices: Devices) -> Result<HttpResponse, SessionError> {
///     let Some(user) = session.user_id() else {
///         return Ok(HttpResponse::Unauthorized().finish());
///     };
///     let current = session.device_handle();
///     let list: Vec<String> = devices
///         .list(&user)
///         .await?
///         .into_iter()
///         .map(|d| {
///             let here = Some(&d.handle) == current.as_ref();
///             format!("{} {}", d.user_agent.unwrap_or_default(), if here { "(this one)" } else { "" })
///         })
///         .collect();
///     Ok(HttpResponse::Ok().json(list))
/// }
///
/// async fn sign_out_elsewhere(session: ReadonlySession, devices: Devices) -> Result<HttpResponse, SessionError> {
///     let signed_out = devices.revoke_others(&session).await?;
///     Ok(HttpResponse::Ok().json(signed_out))
/// }
/// # let _ = web::get().to(devices);
/// # let _ = web::post().to(sign_out_elsewhere);
/// ```
#[derive(Clone)]
pub struct Devices {
    driver: Arc<dyn SessionDriver>,
    policy: ExpiryPolicy,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Devices {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Devices")
            .field("driver", &self.driver.name())
            .finish_non_exhaustive()
    }
}

impl Devices {
    /// The index over `driver`, for the middleware. Not public API.
    #[doc(hidden)]
    pub fn new(
        driver: Arc<dyn SessionDriver>,
        policy: ExpiryPolicy,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            driver,
            policy,
            clock,
        }
    }

    /// The index over the store as of now, or [`SessionError::NotIndexed`].
    fn index(&self) -> Result<Index<'_>, SessionError> {
        if !self.driver.keeps_records() {
            return Err(SessionError::NotIndexed {
                driver: self.driver.name(),
            });
        }
        Ok(Index {
            driver: &*self.driver,
            policy: self.policy,
            now: self.clock.now(),
        })
    }

    /// The live sessions `user` is signed in with (a string or a number, as
    /// given to [`Session::login`](crate::Session::login)), most recently
    /// seen first. One read of the index and one per session in it.
    pub async fn list<U: Serialize>(&self, user: U) -> Result<Vec<Device>, SessionError> {
        let index = self.index()?;
        index.list(&user_key(user)?).await
    }

    /// Signs `user` out of the session named by `handle`: it reads as
    /// anonymous on its next request. `false` if `user` has no such session.
    pub async fn revoke<U: Serialize>(&self, user: U, handle: &str) -> Result<bool, SessionError> {
        let index = self.index()?;
        let revoked = index
            .revoke_where(&user_key(user)?, |h| h == handle)
            .await?;
        Ok(revoked > 0)
    }

    /// Signs `session`'s user out of every other session, keeping this one.
    /// Answers how many were signed out; 0 for an anonymous session.
    pub async fn revoke_others(&self, session: &ReadonlySession) -> Result<usize, SessionError> {
        let index = self.index()?;
        let (Some(user), Some(current)) = (session.user_id(), session.device_handle()) else {
            return Ok(0);
        };
        index.revoke_where(&user, |h| h != current).await
    }

    /// Signs `user` out of every session (for example after a password
    /// change). Answers how many were signed out.
    ///
    /// With the cookie driver this works when it was given a store with
    /// `CookieDriver::with_revocations`:
    /// every session of `user` that signed in before this second reads as
    /// anonymous from its next request on (one that signs in later in this
    /// same second, such as the current request signing in again after a
    /// password change, stays signed in). The sessions are in browsers, so
    /// the answer is 0.
    pub async fn revoke_all<U: Serialize>(&self, user: U) -> Result<usize, SessionError> {
        let user = user_key(user)?;
        match self.driver.revocations() {
            Some(store) if !self.driver.keeps_records() => {
                let now = self.clock.now();
                let id = not_before_id(&user);
                let expiry = revocation_expiry(self.policy, now);
                edit(store, expiry, now, &id, |map| {
                    map.insert("nb".to_owned(), Value::from(now.as_secs()));
                    (true, ())
                })
                .await?;
                Ok(0)
            }
            _ => self.index()?.revoke_where(&user, |_| true).await,
        }
    }
}

/// The index operations on one store at one time; what [`Devices`] runs
/// (and the conformance suite, on a driver it borrows).
pub(crate) struct Index<'a> {
    pub(crate) driver: &'a dyn SessionDriver,
    pub(crate) policy: ExpiryPolicy,
    pub(crate) now: Timestamp,
}

impl Index<'_> {
    /// [`Devices::list`] for an owner already made a string.
    pub(crate) async fn list(&self, user: &str) -> Result<Vec<Device>, SessionError> {
        let (driver, now) = (self.driver, self.now);
        let Some(index) = load_own(driver, &index_id(user), now, false).await? else {
            return Ok(Vec::new());
        };
        let mut devices = Vec::new();
        let mut dead = Vec::new();
        for (handle, entry) in entries(&index.data) {
            let Some((key, entry)) = entry.and_then(|e| Some((e.key()?, e))) else {
                dead.push(handle.to_owned());
                continue;
            };
            // Being revoked: signed out already, and the revoke (or the next
            // one) removes the entry once the session is gone.
            if entry.x {
                continue;
            }
            let record = match timed(driver, Op::Load, driver.load(&key, now)).await {
                Ok(record) => record.filter(|r| self.policy.is_live(r, now)),
                // Reads as a fresh session: not signed in any more.
                Err(DriverError::Corrupt(_)) => None,
                Err(e) => return Err(e.into()),
            };
            match record {
                Some(record) => devices.push(Device {
                    handle: handle.to_owned(),
                    signed_in_at: system_time(entry.c),
                    last_seen: system_time(record.last_active),
                    user_agent: entry.ua,
                    ip: entry.ip,
                }),
                None if now.since(entry.t) >= SETTLING => dead.push(handle.to_owned()),
                None => {}
            }
        }
        if !dead.is_empty() {
            let expiry = index_expiry(self.policy, now);
            let pruned = edit(driver, expiry, now, &index_id(user), |map| {
                let before = map.len();
                map.retain(|handle, _| !dead.contains(handle));
                (map.len() != before, ())
            })
            .await;
            if let Err(e) = pruned {
                tracing::warn!(driver = driver.name(), error = %e, "could not drop expired sessions from a user's session index; the next list tries again");
            }
        }
        devices.sort_by_key(|d| std::cmp::Reverse(d.last_seen));
        Ok(devices)
    }

    /// Signs out the sessions of `user`'s index whose handle `revoke`
    /// picks; answers how many.
    ///
    /// In three steps: the entries are marked as being revoked (from then on
    /// a sign-in or regenerate that moves one of them does not stand, and
    /// lists leave them out), the sessions are destroyed, and the marked
    /// entries are removed. Entries a parallel revoke marked, or one that
    /// stopped midway, are picked too and their sessions destroyed again, so
    /// that when any revoke answers, every session it picked is gone, and no
    /// session is left alive outside the index.
    pub(crate) async fn revoke_where(
        &self,
        user: &str,
        revoke: impl Fn(&str) -> bool,
    ) -> Result<usize, SessionError> {
        let driver = self.driver;
        let expiry = index_expiry(self.policy, self.now);
        let id = index_id(user);
        let taken = edit(driver, expiry, self.now, &id, |map| {
            let mut taken = Vec::new();
            let mut marked = false;
            for (handle, entry) in map.iter_mut() {
                if !revoke(handle) {
                    continue;
                }
                let fresh = !Entry::revoking(entry);
                if let (Value::Object(fields), true) = (&mut *entry, fresh) {
                    fields.insert("x".to_owned(), Value::Bool(true));
                    marked = true;
                }
                taken.push((handle.clone(), entry.clone()));
            }
            (marked, taken)
        })
        .await?;
        for (_, entry) in &taken {
            if let Some(key) = Entry::from_value(entry).and_then(|e| e.key()) {
                timed(driver, Op::Destroy, driver.destroy(&key)).await?;
            }
        }
        edit(driver, expiry, self.now, &id, |map| {
            let before = map.len();
            map.retain(|handle, entry| {
                let done = entry.is_object() && !Entry::revoking(entry);
                done || !taken.iter().any(|(h, _)| h == handle)
            });
            (map.len() != before, ())
        })
        .await?;
        Ok(taken.len())
    }
}

impl ReadonlySession {
    /// The handle this session is listed under in its user's device list
    /// ([`Devices::list`]), or `None` for an anonymous session.
    pub fn device_handle(&self) -> Option<String> {
        self.user_id()?;
        Some(handle_of(&self.state.borrow().id.store_id()))
    }
}

/// The handle of the session stored under `key`: 22 characters (132 bits)
/// of a further SHA-256.
fn handle_of(key: &SessionId) -> String {
    let hashed = SessionId::derived(b"session-core/handle\0", key.as_str().as_bytes());
    hashed.as_str()[..22].to_owned()
}

fn index_id(user: &str) -> SessionId {
    SessionId::derived(b"session-core/user-index\0", user.as_bytes())
}

fn system_time(t: Timestamp) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(t.as_secs())
}

/// One session in an index, stored as a JSON object under its handle.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Entry {
    /// The session's store id.
    s: String,
    /// When the user signed in with it.
    c: Timestamp,
    /// When the entry was written (a sign-in or a regenerate).
    t: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ua: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ip: Option<String>,
    /// A revoke has taken it and is destroying the session: not listed,
    /// and a move of the session does not stand (see
    /// [`Index::revoke_where`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    x: bool,
}

impl Entry {
    fn from_value(value: &Value) -> Option<Self> {
        Entry::deserialize(value).ok()
    }

    fn key(&self) -> Option<SessionId> {
        SessionId::parse(&self.s).ok()
    }

    fn is_for(value: &Value, key: &SessionId) -> bool {
        value.get("s").and_then(Value::as_str) == Some(key.as_str())
    }

    /// Whether a revoke has taken the entry stored as `value`.
    fn revoking(value: &Value) -> bool {
        value.get("x") == Some(&Value::Bool(true))
    }
}

/// The index's entries by handle; `None` for one that does not decode.
fn entries(data: &Map<String, Value>) -> impl Iterator<Item = (&str, Option<Entry>)> {
    data.iter()
        .map(|(handle, value)| (handle.as_str(), Entry::from_value(value)))
}

/// The record under `id` (a user's index or not-before time); one that
/// does not decode reads as none, and is removed when `remove` is set (so
/// that the next write can create it anew).
async fn load_own(
    driver: &dyn SessionDriver,
    id: &SessionId,
    now: Timestamp,
    remove: bool,
) -> Result<Option<Record>, DriverError> {
    match timed(driver, Op::Load, driver.load(id, now)).await {
        Err(DriverError::Corrupt(_)) => {
            tracing::warn!(
                driver = driver.name(),
                "a user's session index or sign-out time does not decode; treating it as empty (its sessions expire as usual)"
            );
            if remove {
                timed(driver, Op::Destroy, driver.destroy(id)).await?;
            }
            Ok(None)
        }
        other => other,
    }
}

/// Where the store keeps `user`'s last "sign out everywhere" time, for
/// sessions that live in cookies.
fn not_before_id(user: &str) -> SessionId {
    SessionId::derived(b"session-core/signed-out-before\0", user.as_bytes())
}

/// Whether a session of `user` that signed in at `signed_in` was signed out
/// everywhere since, by the not-before time kept in `store`. One read.
pub(crate) async fn revoked_since(
    store: &dyn SessionDriver,
    user: &str,
    signed_in: Timestamp,
    now: Timestamp,
) -> Result<bool, DriverError> {
    let record = load_own(store, &not_before_id(user), now, false).await?;
    let not_before = record
        .as_ref()
        .and_then(|r| r.data.get("nb"))
        .and_then(Value::as_u64);
    Ok(not_before.is_some_and(|nb| signed_in.as_secs() < nb))
}

/// When an index written (or kept alive) at `now` may expire: after every
/// session it names, which expire an idle timeout after their last commit,
/// and keep the index alive in their first commit of each refresh interval.
fn index_expiry(policy: ExpiryPolicy, now: Timestamp) -> Timestamp {
    now.plus(policy.idle)
        .plus(policy.refresh_after)
        .plus(SETTLING)
}

/// When a "signed out before" time written at `now` may expire: after every
/// cookie session signed in before it.
fn revocation_expiry(policy: ExpiryPolicy, now: Timestamp) -> Timestamp {
    now.plus(policy.absolute.unwrap_or(UNBOUNDED_LIFETIME))
        .plus(SETTLING)
}

/// Moves `user`'s index's expiry to [`index_expiry`] from `now`: run by a
/// signed-in session's commit before it moves its own expiry, so the index
/// outlives it. A missing index is left missing.
pub(crate) async fn keep_index(
    driver: &dyn SessionDriver,
    policy: ExpiryPolicy,
    now: Timestamp,
    user: &str,
) -> Result<(), DriverError> {
    let id = index_id(user);
    let touch = driver.touch(&id, now, index_expiry(policy, now));
    timed(driver, Op::Touch, touch).await.map(drop)
}

/// The version a newly created index (or not-before record) starts at:
/// random, not 1. The id is the same for every incarnation of a user's
/// index, so an edit that read an index that was then emptied, retired and
/// created again must not find the version it expects there (an ABA case
/// in which its compare-and-set would overwrite the new index, dropping
/// entries a revoke then misses; found by the soak).
fn first_version() -> u64 {
    getrandom::u64()
        .unwrap_or_else(|_| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
        .max(1)
}

/// Changes the record under `id` (a user's index) with `change` under a
/// version check, again on the latest one whenever a parallel change got
/// there first, and makes it live at least until `expires_at`. `change`
/// answers whether it changed anything, and a result; an index left empty
/// is retired.
async fn edit<R>(
    driver: &dyn SessionDriver,
    expires_at: Timestamp,
    now: Timestamp,
    id: &SessionId,
    mut change: impl FnMut(&mut Map<String, Value>) -> (bool, R),
) -> Result<R, DriverError> {
    for _ in 0..MAX_COMMIT_ATTEMPTS {
        match load_own(driver, id, now, true).await? {
            Some(mut index) => {
                let expected = index.version;
                let (changed, result) = change(&mut index.data);
                if !changed {
                    return Ok(result);
                }
                if index.data.is_empty() {
                    index = Record::retired(expected, now);
                } else {
                    index.version = expected.wrapping_add(1);
                    index.last_active = now;
                    index.expires_at = index.expires_at.max(expires_at);
                }
                let update = driver.update(id, &index, expected);
                match timed(driver, Op::Update, update).await? {
                    Update::Updated => return Ok(result),
                    Update::Conflict(_) | Update::Gone => {}
                }
            }
            None => {
                let mut index = Record::new(now, expires_at);
                let (changed, result) = change(&mut index.data);
                if !changed || index.data.is_empty() {
                    return Ok(result);
                }
                index.version = first_version();
                match timed(driver, Op::Create, driver.create(id, &index)).await {
                    Ok(()) => return Ok(result),
                    Err(DriverError::AlreadyExists) => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Err(DriverError::Contention(MAX_COMMIT_ATTEMPTS))
}

/// What a commit that signs in, signs out or regenerates does to the index;
/// built by `prepare_commit`, run around the step by the commit.
#[derive(Debug, Default)]
pub(crate) struct IndexWork {
    /// The user the loaded session was signed in as.
    pub(crate) before: Option<String>,
    /// The user the session is signed in as when the request ends.
    pub(crate) after: Option<String>,
    /// `Session::login` ran, with what it recorded.
    pub(crate) sign_in: Option<DeviceInfo>,
}

impl IndexWork {
    /// Enters the session about to be stored under `key` in the index of
    /// the user it is signed in as, before it is stored. A regenerate
    /// (`from`: the old store id) carries the old entry's details over.
    pub(crate) async fn enter(
        &self,
        driver: &dyn SessionDriver,
        policy: ExpiryPolicy,
        now: Timestamp,
        key: &SessionId,
        from: Option<&SessionId>,
    ) -> Result<(), DriverError> {
        let Some(user) = &self.after else {
            return Ok(());
        };
        let from = from.filter(|_| self.before == self.after && self.sign_in.is_none());
        let expiry = index_expiry(policy, now);
        let evicted = edit(driver, expiry, now, &index_id(user), |map| {
            let inherited = from
                .and_then(|old| map.get(&handle_of(old)))
                .and_then(Entry::from_value);
            let entry = match (&self.sign_in, inherited) {
                (None, Some(old)) => Entry {
                    s: key.as_str().to_owned(),
                    t: now,
                    ..old
                },
                (info, _) => {
                    let info = info.clone().unwrap_or_default();
                    Entry {
                        s: key.as_str().to_owned(),
                        c: now,
                        t: now,
                        ua: info.user_agent,
                        ip: info.ip,
                        x: false,
                    }
                }
            };
            let value = serde_json::to_value(&entry).unwrap_or(Value::Null);
            map.insert(handle_of(key), value);
            let mut evicted = Vec::new();
            while map.len() > MAX_DEVICES {
                let new = handle_of(key);
                let oldest = entries(map)
                    .filter(|(handle, _)| *handle != new)
                    .min_by_key(|(_, e)| e.as_ref().map(|e| e.t))
                    .map(|(handle, e)| (handle.to_owned(), e));
                let Some((handle, entry)) = oldest else { break };
                map.remove(&handle);
                evicted.extend(entry.and_then(|e| e.key()));
            }
            (true, evicted)
        })
        .await?;
        for key in evicted {
            tracing::warn!(
                driver = driver.name(),
                limit = MAX_DEVICES,
                "a user signed in with more sessions than the limit; signing out the oldest"
            );
            timed(driver, Op::Destroy, driver.destroy(&key)).await?;
        }
        Ok(())
    }

    /// After the session was stored under `key`: whether its entry is still
    /// in the index (a revoke may have run meanwhile) and, for a regenerate
    /// of a signed-in session, whether the old one's still was (`old`); the
    /// old entry goes. `false`: the session was signed out while it moved,
    /// and the caller destroys it.
    pub(crate) async fn confirm(
        &self,
        driver: &dyn SessionDriver,
        policy: ExpiryPolicy,
        now: Timestamp,
        key: &SessionId,
        old: Option<&SessionId>,
    ) -> Result<bool, DriverError> {
        let Some(user) = &self.after else {
            return Ok(true);
        };
        // A plain regenerate must find the old session still signed in; a
        // sign-in is a new authentication and needs no such proof.
        let same_user = self.before == self.after;
        let required = old.filter(|_| same_user && self.sign_in.is_none());
        let old = old.filter(|_| same_user);
        let expiry = index_expiry(policy, now);
        edit(driver, expiry, now, &index_id(user), |map| {
            let present = map
                .get(&handle_of(key))
                .is_some_and(|v| Entry::is_for(v, key) && !Entry::revoking(v));
            if !present {
                return (false, false);
            }
            let Some(old) = old else {
                return (false, true);
            };
            // An old entry a revoke took is the revoke's to remove; a plain
            // regenerate of it does not stand.
            match map.get(&handle_of(old)) {
                Some(v) if !Entry::revoking(v) => {
                    map.remove(&handle_of(old));
                    (true, true)
                }
                _ => (false, required.is_none()),
            }
        })
        .await
    }

    /// Removes the entry of the session that was stored under `key` from
    /// `user`'s index, if it is there. A failure is logged, not returned:
    /// the session is gone either way, and the next device list drops the
    /// entry.
    pub(crate) async fn leave(
        driver: &dyn SessionDriver,
        policy: ExpiryPolicy,
        now: Timestamp,
        user: &str,
        key: &SessionId,
    ) {
        let expiry = index_expiry(policy, now);
        let removed = edit(driver, expiry, now, &index_id(user), |map| {
            let handle = handle_of(key);
            let ours = map.get(&handle).is_some_and(|v| Entry::is_for(v, key));
            if ours {
                map.remove(&handle);
            }
            (ours, ())
        })
        .await;
        if let Err(e) = removed {
            tracing::warn!(driver = driver.name(), error = %e, "could not remove an ended session from its user's session index; the next device list drops it");
        }
    }
}
