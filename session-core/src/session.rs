//! The in-request session: the data API a handler uses and the state the
//! commit works from.

use std::cell::{OnceCell, RefCell};
use std::fmt;
use std::ops::Deref;
use std::rc::Rc;
use std::sync::LazyLock;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::change::Change;
use crate::csrf::CSRF_KEY;
use crate::devices::DeviceInfo;
use crate::error::SessionError;
use crate::id::SessionId;
use crate::policy::ExpiryPolicy;
use crate::record::Record;
use crate::renew::{FORWARD_KEY, ID_TIME_KEY};
use crate::signin::USER_KEY;

/// What has happened to the session in this request so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// Nothing was written.
    Unchanged,
    /// Data or flash was written; the change log will be saved.
    Changed,
    /// The id was regenerated; the data moves to the new id and the old
    /// record is destroyed.
    Regenerated,
    /// The session was destroyed. Data written afterwards starts a new session
    /// under a new id.
    Destroyed,
}

/// The record this request loaded from the store, if any.
#[derive(Clone, Debug)]
pub(crate) struct Stored {
    /// The id the cookie holds.
    pub(crate) id: SessionId,
    /// The id the store holds the record under ([`SessionId::store_id`]),
    /// once known: a server-side load starts from it, while an inline
    /// session (the cookie driver) works it out only if a commit needs it,
    /// so a read of a cookie session hashes nothing.
    pub(crate) key: OnceCell<SessionId>,
    /// The record lives in the cookie itself (no server copy to re-read).
    pub(crate) inline: bool,
    /// The loaded record, before this request's changes.
    pub(crate) record: Record,
}

impl Stored {
    /// The pair of ids a commit works with: the cookie's and the store's.
    /// From the fields, so that the caller may move the record out while it
    /// holds them.
    pub(crate) fn ids<'a>(
        id: &'a SessionId,
        key: &'a OnceCell<SessionId>,
    ) -> (&'a SessionId, &'a SessionId) {
        (id, key.get_or_init(|| id.store_id()))
    }

    /// [`Stored::key`], taking it.
    pub(crate) fn into_key(self) -> SessionId {
        let Stored { id, key, .. } = self;
        key.into_inner().unwrap_or_else(|| id.store_id())
    }
}

#[derive(Debug)]
pub(crate) struct State {
    /// The id the session has now (new if fresh, regenerated or destroyed).
    pub(crate) id: SessionId,
    pub(crate) stored: Option<Stored>,
    /// The store id of the record the cookie named when that record does
    /// not decode: the session starts fresh, and a destroy, a
    /// regenerate or any write removes that record.
    pub(crate) unreadable: Option<SessionId>,
    /// The data as this request sees it, once it differs from the stored
    /// record's; `None` while it does not, so a read clones nothing.
    pub(crate) view: Option<Map<String, Value>>,
    pub(crate) log: Vec<Change>,
    pub(crate) status: Status,
    pub(crate) fresh: bool,
    pub(crate) regenerate: bool,
    pub(crate) destroy_stored: bool,
    pub(crate) reseal: bool,
    /// A writable handle was handed out: the commit runs.
    pub(crate) writable_used: bool,
    /// Flash messages visible in this request (flashed by the previous one).
    pub(crate) flash_in: Map<String, Value>,
    /// Incoming keys kept for one more request.
    pub(crate) flash_keep: Vec<String>,
    /// Messages flashed in this request, for the next one.
    pub(crate) flash_out: Map<String, Value>,
    /// Messages flashed for this request only.
    pub(crate) flash_now: Map<String, Value>,
    /// `clear_flash` was called: incoming messages are consumed and hidden.
    pub(crate) flash_cleared: bool,
    /// `Session::login` ran, recording this about the device.
    pub(crate) sign_in: Option<DeviceInfo>,
    pub(crate) policy: ExpiryPolicy,
}

impl State {
    /// A state with nothing done yet to it.
    fn base(id: SessionId, policy: ExpiryPolicy) -> Self {
        Self {
            id,
            stored: None,
            view: Some(Map::new()),
            log: Vec::new(),
            status: Status::Unchanged,
            fresh: true,
            regenerate: false,
            destroy_stored: false,
            unreadable: None,
            reseal: false,
            writable_used: false,
            flash_in: Map::new(),
            flash_keep: Vec::new(),
            flash_out: Map::new(),
            flash_now: Map::new(),
            flash_cleared: false,
            sign_in: None,
            policy,
        }
    }

    pub(crate) fn new_empty(policy: ExpiryPolicy) -> Self {
        Self::base(SessionId::generate(), policy)
    }

    pub(crate) fn from_stored(stored: Stored, policy: ExpiryPolicy) -> Self {
        let mut state = Self::base(stored.id.clone(), policy);
        state.flash_in = stored.record.flash.clone();
        state.view = None;
        state.stored = Some(stored);
        state.fresh = false;
        state
    }

    /// The data this request sees.
    pub(crate) fn data(&self) -> &Map<String, Value> {
        static EMPTY: LazyLock<Map<String, Value>> = LazyLock::new(Map::new);
        match (&self.view, &self.stored) {
            (Some(view), _) => view,
            (None, Some(stored)) => &stored.record.data,
            (None, None) => &EMPTY,
        }
    }

    /// The value under `key` as the data API shows it: the engine's own
    /// keys are hidden.
    fn user_value(&self, key: &str) -> Option<&Value> {
        if is_engine_key(key) {
            return None;
        }
        self.data().get(key)
    }

    pub(crate) fn changed(&mut self, change: Change) {
        let stored = &self.stored;
        let view = self.view.get_or_insert_with(|| {
            stored
                .as_ref()
                .map(|s| s.record.data.clone())
                .unwrap_or_default()
        });
        change.apply_data(view);
        self.log.push(change);
        if self.status == Status::Unchanged {
            self.status = Status::Changed;
        }
    }
}

/// The session of the current request, read-only: what a page or a websocket
/// handshake that must not change the session takes.
///
/// It has the reading half of the session API and nothing else: no method,
/// `Deref` or conversion leads from it to a writable [`Session`], so a write
/// through it does not compile. A request that takes only a
/// `ReadonlySession` never commits: no store write, no expiry refresh, no
/// cookie, and its flash messages are not consumed.
///
/// Every [`Session`] derefs to one, so these methods are the reading methods
/// of `Session` too.
///
/// ```
/// use session_actix::ReadonlySession;
///
/// async fn greeting(session: ReadonlySession) -> actix_web::Result<String> {
///     let name: String = session.get_or("name", "guest".to_owned())?;
///     Ok(format!("Hello, {name}"))
/// }
/// ```
#[derive(Clone)]
pub struct ReadonlySession {
    pub(crate) state: Rc<RefCell<State>>,
}

// By hand: the data is the user's and has no place in logs.
impl fmt::Debug for ReadonlySession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("Session")
            .field("status", &state.status)
            .field("keys", &state.data().len())
            .finish_non_exhaustive()
    }
}

/// The session of the current request: take it as a handler argument.
///
/// Taking it loads the session (one store read at most, shared by every
/// `Session` taken in the same request). Writes change this request's view
/// at once and are recorded in a change log that the middleware commits
/// after the handler, merged with whatever parallel requests committed
/// meanwhile, so no update is lost. Every method takes `&self`; clones share
/// the session. Values are stored as JSON: anything `Serialize` can be put,
/// anything `Deserialize` read back.
///
/// The reading methods (`get`, `has`, `all`, `flash_messages`, `id` ...) are
/// those of [`ReadonlySession`], which `Session` derefs to.
///
/// ```
/// use session_actix::Session;
///
/// async fn add_to_cart(session: Session) -> actix_web::Result<String> {
///     let mut cart: Vec<String> = session.get_or("cart", Vec::new())?;
///     cart.push("apple".into());
///     session.put("cart", &cart)?;
///     Ok(format!("{} items", cart.len()))
/// }
/// ```
///
/// Errors are [`SessionError`]s, which answer an opaque 500 when returned
/// with `?` from an actix-web handler. Taking `Session` on a route without
/// the session middleware fails the same way, with an error event that names
/// the missing middleware, rather than handing out a session that would
/// never be saved.
///
/// # In unit tests
///
/// [`Session::detached`] makes a session without a server or a store, for
/// testing code that takes a `&Session`:
///
/// ```
/// use session_actix::{Session, SessionError};
///
/// fn remember_visit(session: &Session) -> Result<i64, SessionError> {
///     session.increment("visits", 1)
/// }
///
/// let session = Session::detached();
/// assert_eq!(remember_visit(&session)?, 1);
/// assert_eq!(remember_visit(&session)?, 2);
/// assert_eq!(session.get::<i64>("visits")?, Some(2));
/// # Ok::<(), SessionError>(())
/// ```
#[derive(Clone)]
pub struct Session {
    read: ReadonlySession,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.read.fmt(f)
    }
}

impl Deref for Session {
    type Target = ReadonlySession;

    fn deref(&self) -> &ReadonlySession {
        &self.read
    }
}

impl From<Session> for ReadonlySession {
    fn from(session: Session) -> Self {
        session.read
    }
}

impl ReadonlySession {
    pub(crate) fn from_state(state: State) -> Self {
        Self {
            state: Rc::new(RefCell::new(state)),
        }
    }

    /// A writable handle to the same session, which marks the session for
    /// commit at the end of the request. Crate-private: only the extractor
    /// (and the engine's own tests) may upgrade a handle.
    #[cfg(any(test, feature = "conformance"))]
    pub(crate) fn writable(&self) -> Session {
        self.clone().into_writable()
    }

    /// [`writable`](Self::writable), without a copy of the handle.
    pub(crate) fn into_writable(self) -> Session {
        self.state.borrow_mut().writable_used = true;
        Session { read: self }
    }

    /// Reads the value under `key`, or `None` when absent. An error means a
    /// value is stored but does not deserialize into `T`.
    ///
    /// ```
    /// # use session_actix::Session;
    /// # let session = Session::detached();
    /// session.put("user_id", 42)?;
    /// assert_eq!(session.get::<u32>("user_id")?, Some(42));
    /// assert_eq!(session.get::<u32>("missing")?, None);
    /// assert!(session.get::<String>("user_id").is_err());
    /// # Ok::<(), session_actix::SessionError>(())
    /// ```
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionError> {
        let state = self.state.borrow();
        match state.user_value(key) {
            None => Ok(None),
            Some(v) => T::deserialize(v)
                .map(Some)
                .map_err(|source| SessionError::Deserialize {
                    key: key.to_owned(),
                    source,
                }),
        }
    }

    /// Reads the value under `key`, or `default` when it is absent or null.
    pub fn get_or<T: DeserializeOwned>(&self, key: &str, default: T) -> Result<T, SessionError> {
        match self.state.borrow().user_value(key) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => T::deserialize(v).map_err(|source| SessionError::Deserialize {
                key: key.to_owned(),
                source,
            }),
        }
    }

    /// The raw JSON value under `key`.
    pub fn get_value(&self, key: &str) -> Option<Value> {
        self.state.borrow().user_value(key).cloned()
    }

    /// Whether a value is stored under `key`.
    pub fn has(&self, key: &str) -> bool {
        self.state.borrow().user_value(key).is_some()
    }

    /// A copy of all the session data.
    pub fn all(&self) -> Map<String, Value> {
        let mut all = self.state.borrow().data().clone();
        all.retain(|k, _| !is_engine_key(k));
        all
    }

    /// The session's id: the one the client sent, or the one that will be
    /// issued if this request saves anything. It is a credential: never log
    /// it.
    pub fn id(&self) -> SessionId {
        self.state.borrow().id.clone()
    }

    /// Whether the id was made in this request (a new client, a regenerate or
    /// a destroy).
    pub fn is_fresh(&self) -> bool {
        self.state.borrow().fresh
    }

    /// What has happened to the session in this request.
    pub fn status(&self) -> Status {
        self.state.borrow().status
    }

    /// Whether the client arrived with a live session.
    pub fn is_stored(&self) -> bool {
        let state = self.state.borrow();
        state.stored.is_some() && !state.destroy_stored
    }
}

/// Serializes as a snapshot of the session data, what [`all`](Self::all)
/// returns, with each dotted key (`user.name`) nested into objects: for
/// template engines that take serde values.
///
/// ```
/// # use session_actix::Session;
/// # let session = Session::detached();
/// session.put("user.name", "Ada")?;
/// let json = serde_json::to_value(&*session)?;
/// assert_eq!(json, serde_json::json!({"user": {"name": "Ada"}}));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl Serialize for ReadonlySession {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::flash::nested(&self.all(), s)
    }
}

impl Session {
    /// A session for a client that has none yet, backed by no store: for unit
    /// tests of code that takes a `&Session` (see the [type docs](Session)).
    /// It behaves as in a request whose handler took the session; nothing it
    /// holds is stored anywhere.
    pub fn detached() -> Self {
        ReadonlySession::from_state(State::new_empty(ExpiryPolicy::default())).into_writable()
    }

    pub(crate) fn write(&self) -> std::cell::RefMut<'_, State> {
        self.read.state.borrow_mut()
    }

    /// Stores `value` under `key`, replacing what was there.
    pub fn put<T: Serialize>(&self, key: impl Into<String>, value: T) -> Result<(), SessionError> {
        let key = reserved(key.into())?;
        let (key, value) = to_json(key, value)?;
        self.write().changed(Change::Put(key, value));
        Ok(())
    }

    /// Stores several values checked beforehand by [`prepare_put`], as one
    /// step that cannot fail: what a typed view's `save` does once every
    /// field has been serialized.
    #[doc(hidden)]
    pub fn put_prepared<const N: usize>(&self, values: [(String, Value); N]) {
        let mut state = self.write();
        for (key, value) in values {
            state.changed(Change::Put(key, value));
        }
    }

    /// Removes `key`. Removing a missing key changes nothing.
    pub fn forget(&self, key: &str) -> Result<(), SessionError> {
        if is_engine_key(key) {
            reserved(key.to_owned())?;
        }
        let mut state = self.write();
        if state.data().contains_key(key) {
            state.changed(Change::Forget(key.to_owned()));
        }
        Ok(())
    }

    /// Reads the value under `key` and removes it.
    pub fn pull<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionError> {
        let value = self.get(key)?;
        self.forget(key)?;
        Ok(value)
    }

    /// Adds `by` to the integer under `key` (a missing key counts from 0) and
    /// returns the new value. Parallel increments of one key all count.
    ///
    /// A value that is not an integer, or a result outside `i64`, is an error
    /// and leaves the data as it was.
    ///
    /// ```
    /// # use session_actix::Session;
    /// # let session = Session::detached();
    /// assert_eq!(session.increment("visits", 1)?, 1);
    /// assert_eq!(session.increment("visits", 2)?, 3);
    /// session.put("name", "Ada")?;
    /// assert!(session.increment("name", 1).is_err());
    /// # Ok::<(), session_actix::SessionError>(())
    /// ```
    pub fn increment(&self, key: &str, by: i64) -> Result<i64, SessionError> {
        if is_engine_key(key) {
            reserved(key.to_owned())?;
        }
        let mut state = self.write();
        let current = match state.data().get(key) {
            None => 0,
            Some(v) => v.as_i64().ok_or_else(|| SessionError::NotAnInteger {
                key: key.to_owned(),
            })?,
        };
        let local = current
            .checked_add(by)
            .ok_or_else(|| SessionError::Overflow {
                key: key.to_owned(),
            })?;
        state.changed(Change::Increment {
            key: key.to_owned(),
            by,
            local,
        });
        Ok(local)
    }

    /// Subtracts `by` from the integer under `key`; see [`Session::increment`].
    pub fn decrement(&self, key: &str, by: i64) -> Result<i64, SessionError> {
        let by = by.checked_neg().ok_or_else(|| SessionError::Overflow {
            key: key.to_owned(),
        })?;
        self.increment(key, by)
    }

    /// Removes all data, keeping the session (its id, flash messages, CSRF
    /// token and the user signed in with [`login`](Self::login)).
    pub fn clear(&self) -> Result<(), SessionError> {
        let mut state = self.write();
        if state.data().keys().any(|k| !is_engine_key(k)) {
            state.changed(Change::Clear);
        }
        Ok(())
    }

    /// Destroys the session: the stored record is deleted and the cookie
    /// removed when the response goes out. Data written after this starts a
    /// new session under a new id.
    pub fn destroy(&self) -> Result<(), SessionError> {
        let mut state = self.write();
        state.destroy_stored = state.stored.is_some() || state.unreadable.is_some();
        state.id = SessionId::generate();
        state.fresh = true;
        state.regenerate = false;
        state.log.clear();
        state.view = Some(Map::new());
        state.flash_in.clear();
        state.flash_keep.clear();
        state.flash_out.clear();
        state.flash_now.clear();
        state.status = Status::Destroyed;
        Ok(())
    }

    /// Gives the session a new id, keeping its data; the old id stops working.
    /// Call it when privileges change (log in, log out) so an id planted by an
    /// attacker before login is worthless after (session fixation).
    ///
    /// A CSRF token the session has is replaced too (see
    /// [`csrf_token`](Self::csrf_token)), so forms rendered before must be
    /// rendered again.
    ///
    /// On a server-side driver the move is conditional: the session is
    /// copied to the new id, then the old id is retired under the version
    /// the copy was made from (a save that lands in between is copied too).
    /// Of parallel regenerates of one session, on any number of app
    /// instances, exactly one moves it; the others, like any request still
    /// running with the old id once it is retired, drop their changes with a
    /// warning and leave the cookie alone, so the browser keeps the new id.
    pub fn regenerate(&self) -> Result<(), SessionError> {
        let has_token = {
            let mut state = self.write();
            state.id = SessionId::generate();
            if state.stored.is_some() && !state.destroy_stored {
                state.regenerate = true;
                state.status = Status::Regenerated;
            } else if state.unreadable.is_some() {
                // Nothing to move, but the unreadable record goes.
                state.regenerate = true;
            }
            state.fresh = true;
            state.data().contains_key(CSRF_KEY)
        };
        if has_token {
            self.rotate_csrf()?;
        }
        Ok(())
    }
}

/// Whether `key` is one the engine keeps for itself in the session data (the
/// CSRF token, the signed-in user, the id renewal's time and forward): hidden from the data API, kept by
/// `clear`.
pub(crate) fn is_engine_key(key: &str) -> bool {
    key == CSRF_KEY || key == USER_KEY || key == ID_TIME_KEY || key == FORWARD_KEY
}

/// `key`, unless it is one the engine keeps for itself.
fn reserved(key: String) -> Result<String, SessionError> {
    if is_engine_key(&key) {
        return Err(SessionError::ReservedKey { key });
    }
    Ok(key)
}

/// `value` for `key`, checked and serialized as [`Session::put`] would
/// store it, for [`Session::put_prepared`]. Not public API (the derive's
/// `save` uses it).
#[doc(hidden)]
pub fn prepare_put<T: Serialize>(key: &str, value: T) -> Result<(String, Value), SessionError> {
    to_json(reserved(key.to_owned())?, value)
}

/// `value` as JSON, or the error naming the key it was meant for.
pub(crate) fn to_json<T: Serialize>(
    key: String,
    value: T,
) -> Result<(String, Value), SessionError> {
    match serde_json::to_value(value) {
        Ok(value) => {
            check_depth(&key, &value)?;
            Ok((key, value))
        }
        Err(source) => Err(SessionError::Serialize { key, source }),
    }
}

/// How deeply a value the session stores may nest arrays and objects inside
/// one another. A stored record adds a few levels of its own, and every
/// decoder the drivers use refuses input nested past a limit (serde_json's
/// is 128), so a value is refused when it is put rather than stored and
/// found unreadable on the next request.
pub(crate) const MAX_VALUE_DEPTH: usize = 64;

/// Whether `value`, found `depth` arrays and objects deep, nests no deeper
/// than [`MAX_VALUE_DEPTH`]. The recursion stops at that depth.
pub(crate) fn depth_within(value: &Value, depth: usize) -> bool {
    match value {
        Value::Array(items) => {
            depth < MAX_VALUE_DEPTH && items.iter().all(|v| depth_within(v, depth + 1))
        }
        Value::Object(map) => {
            depth < MAX_VALUE_DEPTH && map.values().all(|v| depth_within(v, depth + 1))
        }
        _ => true,
    }
}

/// Refuses a value nested deeper than [`MAX_VALUE_DEPTH`]. The recursion
/// stops at that depth, however deep the value goes, so it is bounded.
pub(crate) fn check_depth(key: &str, value: &Value) -> Result<(), SessionError> {
    if depth_within(value, 0) {
        Ok(())
    } else {
        Err(SessionError::TooDeep {
            key: key.to_owned(),
            limit: MAX_VALUE_DEPTH,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::at;
    use serde_json::json;

    fn session() -> Session {
        Session::detached()
    }

    /// A JSON value `depth` arrays deep.
    fn nested(depth: usize) -> Value {
        (0..depth).fold(json!(1), |inner, _| json!([inner]))
    }

    #[test]
    fn values_nested_past_the_limit_are_refused_and_the_old_one_kept() {
        let s = session();
        s.put("v", nested(MAX_VALUE_DEPTH)).unwrap();
        let deepest = s.get_value("v").unwrap();
        // What every driver stores reads back.
        let mut record = crate::record::Record::new(at(0), at(600));
        record.data = s.all();
        let back = crate::record::Record::decode(&record.encode().unwrap()).unwrap();
        assert_eq!(back.data["v"], deepest);

        for depth in [MAX_VALUE_DEPTH + 1, 126, 1_000] {
            let err = s.put("v", nested(depth)).unwrap_err();
            assert!(
                matches!(&err, SessionError::TooDeep { key, limit } if key == "v" && *limit == MAX_VALUE_DEPTH),
                "{err}"
            );
            assert_eq!(s.get_value("v").unwrap(), deepest, "the old value stays");
        }
        let object = (0..=MAX_VALUE_DEPTH).fold(json!("x"), |inner, _| json!({ "k": inner }));
        assert!(matches!(
            s.put("o", object.clone()),
            Err(SessionError::TooDeep { .. })
        ));
        assert!(matches!(
            s.flash("o", object.clone()),
            Err(SessionError::TooDeep { .. })
        ));
        assert!(matches!(
            s.flash_all(json!({ "field": object })),
            Err(SessionError::TooDeep { .. })
        ));
        assert!(!s.has("o"));
    }

    #[test]
    fn data_api_round_trip() {
        let s = session();
        assert_eq!(s.status(), Status::Unchanged);
        s.put("a", vec![1, 2]).unwrap();
        assert!(s.has("a"));
        assert_eq!(s.get::<Vec<u8>>("a").unwrap(), Some(vec![1, 2]));
        assert_eq!(s.get_or("b", 7).unwrap(), 7);
        assert_eq!(s.all().len(), 1);
        assert_eq!(s.pull::<Vec<u8>>("a").unwrap(), Some(vec![1, 2]));
        assert!(!s.has("a"));
        assert_eq!(s.status(), Status::Changed);
    }

    #[test]
    fn increment_errors_leave_data_as_it_was() {
        let s = session();
        s.put("t", "text").unwrap();
        assert!(matches!(
            s.increment("t", 1),
            Err(SessionError::NotAnInteger { .. })
        ));
        assert_eq!(s.get_value("t"), Some(json!("text")));
        s.put("m", i64::MAX).unwrap();
        assert!(matches!(
            s.increment("m", 1),
            Err(SessionError::Overflow { .. })
        ));
        assert_eq!(s.get::<i64>("m").unwrap(), Some(i64::MAX));
        assert_eq!(s.decrement("n", 3).unwrap(), -3);
        assert!(matches!(
            s.decrement("n", i64::MIN),
            Err(SessionError::Overflow { .. })
        ));
    }

    #[test]
    fn readonly_handle_reads_the_same_session() {
        // Writing through it does not compile: see session-actix's
        // tests/ui/fail/readonly_*.rs.
        let s = session();
        s.put("k", 1).unwrap();
        let r = ReadonlySession::from(s.clone());
        assert_eq!(r.get::<i32>("k").unwrap(), Some(1));
        s.put("k", 2).unwrap();
        assert_eq!(
            r.get::<i32>("k").unwrap(),
            Some(2),
            "one session, two views"
        );
        assert!(!format!("{r:?}").contains('2'), "Debug shows no data");
    }

    #[test]
    fn destroy_then_write_starts_a_new_session() {
        let s = session();
        s.put("k", 1).unwrap();
        let before = s.id();
        s.destroy().unwrap();
        assert_eq!(s.status(), Status::Destroyed);
        assert!(s.all().is_empty());
        assert_ne!(s.id(), before);
        s.put("bye", true).unwrap();
        assert_eq!(s.status(), Status::Destroyed);
        assert!(s.is_fresh());
    }
}
