//! Flash messages: values written in one request for the next request that
//! uses the session, then gone.
//!
//! # Lifetime, request by request
//!
//! | request | does | sees | flash stored afterwards |
//! | --- | --- | --- | --- |
//! | 1 | `flash("notice", "Saved")` | nothing | `notice` |
//! | 2 | serves `/favicon.ico`, never takes the session | — | `notice` (not consumed) |
//! | 3 | handler answers 500 after `flash("x", 1)` | `notice` | `notice` (nothing committed, `x` dropped) |
//! | 4 | takes the session, reads anything or nothing | `notice` | nothing (consumed) |
//! | 5 | takes the session | nothing | nothing |
//!
//! - `keep("notice")` in request 4 keeps it for request 5 too; `reflash()`
//!   keeps every message, `reflash_only` / `reflash_except` some of them.
//! - `flash_now(k, v)` is visible in the current request only, never stored.
//! - Three kinds of message live side by side and never collide: values by
//!   key (`flash`, read with `get` / `all`), levelled messages
//!   (`flash_success` ..., read with `messages` / `messages_at`) and old form
//!   input (`flash_all` / `flash_only` / `flash_except`, read with `old` /
//!   `old_input`). All three follow the table above.
//! - A value flashed in this request is not visible in this request (use
//!   `flash_now` for that); it is visible in the next one.
//! - Flash survives `regenerate()` in the same request (a "Welcome back" set
//!   at login shows on the next page); `destroy()` drops it, but messages
//!   flashed after the destroy go with the new session.
//! - A request that takes only a read-only session sees the messages but does
//!   not consume them: it never commits.
//! - When two parallel requests both see a message, it is consumed once; a
//!   message flashed again meanwhile with a new value is not lost.
//!
//! Flash lives in the session record (`Record::flash`), so every driver
//! carries it with no driver-specific code.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::SessionError;
use crate::session::{check_depth, to_json, ReadonlySession, Session, Status};

/// The flash key under which the level messages are kept, as a list.
pub(crate) const LEVEL_MESSAGES_KEY: &str = "_messages";

/// The flash key under which `flash_all` / `flash_only` / `flash_except`
/// keep the old form input, as an object.
pub(crate) const OLD_INPUT_KEY: &str = "_old";

/// Refuses the flash keys the engine keeps for itself.
fn check_key(key: &str) -> Result<(), SessionError> {
    if key == LEVEL_MESSAGES_KEY || key == OLD_INPUT_KEY {
        return Err(SessionError::ReservedKey {
            key: key.to_owned(),
        });
    }
    Ok(())
}

/// The level of a [`FlashMessage`], for styling in templates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Level {
    /// Something worked.
    Success,
    /// Something to know.
    Info,
    /// Something to watch.
    Warning,
    /// Something failed.
    Error,
}

/// A message with a level, written with [`Session::flash_success`] and
/// friends and read with [`FlashMessages::messages`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlashMessage {
    /// The level.
    pub level: Level,
    /// The text.
    pub text: String,
}

/// The flash messages visible in this request: what the previous request
/// flashed plus what this one flashed with `flash_now`. An owned snapshot,
/// taken by [`ReadonlySession::flash_messages`] (which `Session` derefs to).
///
/// Three kinds of message are kept apart, so none collides with another:
/// the values flashed by key ([`get`](Self::get), [`all`](Self::all)), the
/// levelled messages ([`messages`](Self::messages)) and the old form input
/// ([`old`](Self::old), [`old_input`](Self::old_input)).
///
/// ```
/// # use session_actix::Session;
/// # let session = Session::detached();
/// session.flash_now("errors", serde_json::json!({"title": "is required"}))?;
/// let flash = session.flash_messages();
/// assert_eq!(flash.get::<String>("errors.title")?, Some("is required".into()));
/// assert!(flash.has("errors"));
/// assert!(!flash.has("errors.body"));
/// # Ok::<(), session_actix::SessionError>(())
/// ```
///
/// It serializes (for tera, handlebars, askama ...) as an object with
/// `values` (the flashed values, a dotted key such as `errors.title` nested
/// as `{"errors": {"title": ..}}`), `messages` (a list of `{level, text}`)
/// and `old` (the old input):
///
/// ```
/// # use session_actix::Session;
/// # let session = Session::detached();
/// session.flash_now("errors.title", "is required")?;
/// let json = serde_json::to_value(session.flash_messages())?;
/// assert_eq!(json["values"]["errors"]["title"], "is required");
/// assert_eq!(json["messages"], serde_json::json!([]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FlashMessages {
    #[serde(serialize_with = "nested")]
    values: Map<String, Value>,
    messages: Vec<FlashMessage>,
    old: Map<String, Value>,
}

impl FlashMessages {
    /// Splits what the session holds into the three kinds.
    fn from_values(mut values: Map<String, Value>) -> Self {
        let messages = values
            .remove(LEVEL_MESSAGES_KEY)
            .and_then(|v| Vec::<FlashMessage>::deserialize(v).ok())
            .unwrap_or_default();
        let old = match values.remove(OLD_INPUT_KEY) {
            Some(Value::Object(map)) => map,
            _ => Map::new(),
        };
        Self {
            values,
            messages,
            old,
        }
    }

    /// The value at `path`: a key, or a dotted path into nested objects and
    /// arrays (`errors.title`, `items.0`). An exact key wins over a path.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, SessionError> {
        decode(path, lookup(&self.values, path))
    }

    /// The value at `path`, or `default` when absent or null.
    pub fn get_or<T: DeserializeOwned>(&self, path: &str, default: T) -> Result<T, SessionError> {
        match lookup(&self.values, path) {
            None | Some(Value::Null) => Ok(default),
            found => decode(path, found).map(|v| v.unwrap_or(default)),
        }
    }

    /// Whether something is at `path`.
    pub fn has(&self, path: &str) -> bool {
        lookup(&self.values, path).is_some()
    }

    /// Every value flashed by key, key to value: neither the levelled
    /// messages nor the old input.
    pub fn all(&self) -> &Map<String, Value> {
        &self.values
    }

    /// Whether nothing at all is visible: no value, message or old input.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty() && self.messages.is_empty() && self.old.is_empty()
    }

    /// The levelled messages (success, info, warning, error) in the order
    /// they were flashed.
    pub fn messages(&self) -> &[FlashMessage] {
        &self.messages
    }

    /// The levelled messages of one level, in the order they were flashed.
    ///
    /// ```
    /// # use session_actix::{Level, Session};
    /// # let session = Session::detached();
    /// // (in the request after `flash_error("Card declined")`)
    /// for message in session.flash_messages().messages_at(Level::Error) {
    ///     println!("error: {}", message.text);
    /// }
    /// ```
    pub fn messages_at(&self, level: Level) -> impl Iterator<Item = &FlashMessage> + '_ {
        self.messages.iter().filter(move |m| m.level == level)
    }

    /// The old input of form field `field`, as `flash_all` / `flash_only` /
    /// `flash_except` kept it in the previous request, or `None`.
    ///
    /// ```
    /// # use session_actix::Session;
    /// # let session = Session::detached();
    /// // In the request after `flash_except(&form, &["password"])`:
    /// let title: String = session.flash_messages().old("title")?.unwrap_or_default();
    /// # Ok::<(), session_actix::SessionError>(())
    /// ```
    pub fn old<T: DeserializeOwned>(&self, field: &str) -> Result<Option<T>, SessionError> {
        decode(field, lookup(&self.old, field))
    }

    /// All the old input, field to value.
    pub fn old_input(&self) -> &Map<String, Value> {
        &self.old
    }
}

fn decode<T: DeserializeOwned>(
    path: &str,
    found: Option<&Value>,
) -> Result<Option<T>, SessionError> {
    match found {
        None => Ok(None),
        Some(v) => T::deserialize(v)
            .map(Some)
            .map_err(|source| SessionError::Deserialize {
                key: path.to_owned(),
                source,
            }),
    }
}

/// The value at `path` in `values`: an exact key first, then a dotted path.
fn lookup<'a>(values: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = values.get(path) {
        return Some(v);
    }
    let mut parts = path.split('.');
    let mut current = values.get(parts.next()?)?;
    for part in parts {
        current = match current {
            Value::Object(map) => map.get(part)?,
            Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Serializes `values` with each dotted key (`errors.title`) nested into
/// objects, so that a template engine's `values.errors.title` finds it. A
/// key whose place is taken by a value that is not an object keeps its
/// dotted name.
pub(crate) fn nested<S: serde::Serializer>(
    values: &Map<String, Value>,
    s: S,
) -> Result<S::Ok, S::Error> {
    if !values.keys().any(|k| k.contains('.')) {
        return values.serialize(s);
    }
    let mut out = Map::new();
    for (key, value) in values {
        if !key.contains('.') {
            merge(&mut out, key, value.clone());
        }
    }
    for (key, value) in values {
        if key.contains('.') && !insert_path(&mut out, key, value.clone()) {
            out.insert(key.clone(), value.clone());
        }
    }
    out.serialize(s)
}

fn merge(out: &mut Map<String, Value>, key: &str, value: Value) {
    match (out.get_mut(key), value) {
        (Some(Value::Object(existing)), Value::Object(more)) => existing.extend(more),
        (_, value) => {
            out.insert(key.to_owned(), value);
        }
    }
}

/// Puts `value` at the dotted `path`, making objects on the way; `false` if
/// a value that is not an object is in the way.
fn insert_path(out: &mut Map<String, Value>, path: &str, value: Value) -> bool {
    let mut parts: Vec<&str> = path.split('.').collect();
    let Some(last) = parts.pop() else {
        return false;
    };
    let mut current = out;
    for part in parts {
        let entry = current
            .entry(part.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        match entry {
            Value::Object(map) => current = map,
            _ => return false,
        }
    }
    if current.contains_key(last) {
        return false;
    }
    current.insert(last.to_owned(), value);
    true
}

/// The top-level fields of `input` as a JSON object.
fn object_of(input: impl Serialize) -> Result<Map<String, Value>, SessionError> {
    match serde_json::to_value(input) {
        Ok(Value::Object(map)) => {
            for (key, value) in &map {
                check_depth(key, value)?;
            }
            Ok(map)
        }
        Ok(_) => Err(SessionError::NotAnObject),
        Err(source) => Err(SessionError::Serialize {
            key: "(flash input)".to_owned(),
            source,
        }),
    }
}

impl ReadonlySession {
    /// The flash messages visible in this request: what the previous request
    /// that used the session flashed, plus this request's `flash_now`.
    /// Reading does not consume them; taking the session in a request that
    /// commits does (the rules are on [`FlashMessages`]).
    ///
    /// ```
    /// use session_actix::Session;
    ///
    /// async fn show(session: Session) -> actix_web::Result<String> {
    ///     let flash = session.flash_messages();
    ///     Ok(flash.get_or("notice", String::new())?)
    /// }
    /// ```
    pub fn flash_messages(&self) -> FlashMessages {
        let state = self.state.borrow();
        let mut values = if state.flash_cleared {
            Map::new()
        } else {
            state.flash_in.clone()
        };
        values.extend(state.flash_now.iter().map(|(k, v)| (k.clone(), v.clone())));
        FlashMessages::from_values(values)
    }
}

impl Session {
    fn flash_write(&self, f: impl FnOnce(&mut crate::session::State)) -> Result<(), SessionError> {
        let mut state = self.write();
        f(&mut state);
        if state.status == Status::Unchanged {
            state.status = Status::Changed;
        }
        Ok(())
    }

    /// Flashes `value` under `key` for the next request that uses the
    /// session.
    ///
    /// ```
    /// use actix_web::{http::header, HttpResponse};
    /// use session_actix::Session;
    ///
    /// async fn save(session: Session) -> actix_web::Result<HttpResponse> {
    ///     session.flash("notice", "Post saved")?;
    ///     Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/posts")).finish())
    /// }
    /// ```
    ///
    /// It is not visible in this request (use [`flash_now`](Self::flash_now)
    /// for that):
    ///
    /// ```
    /// # use session_actix::Session;
    /// # let session = Session::detached();
    /// session.flash("notice", "Post saved")?;
    /// assert!(session.flash_messages().is_empty());
    /// # Ok::<(), session_actix::SessionError>(())
    /// ```
    pub fn flash<T: Serialize>(
        &self,
        key: impl Into<String>,
        value: T,
    ) -> Result<(), SessionError> {
        let key = key.into();
        check_key(&key)?;
        let (key, value) = to_json(key, value)?;
        self.flash_write(|s| {
            s.flash_out.insert(key, value);
        })
    }

    /// Flashes every top-level field of a map or a `Serialize` struct
    /// (AdonisJS's `flash(object)`). Anything but an object is
    /// [`SessionError::NotAnObject`].
    pub fn flash_many(&self, values: impl Serialize) -> Result<(), SessionError> {
        let map = object_of(values)?;
        for key in map.keys() {
            check_key(key)?;
        }
        self.flash_write(|s| s.flash_out.extend(map))
    }

    /// Keeps all fields of a form or JSON input as the old input, so the form
    /// can be filled in again after a redirect: the next request reads them
    /// with [`FlashMessages::old`]. Pass the `web::Form<T>`'s inner value.
    /// The old input is kept apart from the values flashed by key, so a field
    /// may have any name (even `errors`).
    ///
    /// ```
    /// use actix_web::{http::header, web, HttpResponse};
    /// use session_actix::Session;
    ///
    /// #[derive(serde::Deserialize, serde::Serialize)]
    /// struct Post { title: String, body: String }
    ///
    /// async fn create(session: Session, form: web::Form<Post>) -> actix_web::Result<HttpResponse> {
    ///     if form.title.is_empty() {
    ///         session.flash_all(&*form)?;
    ///         session.flash("errors", serde_json::json!({"title": "is required"}))?;
    ///         return Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/posts/new")).finish());
    ///     }
    ///     Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/posts")).finish())
    /// }
    /// ```
    pub fn flash_all(&self, input: impl Serialize) -> Result<(), SessionError> {
        self.flash_old(object_of(input)?)
    }

    /// Keeps only the named fields of `input` as the old input.
    pub fn flash_only(&self, input: impl Serialize, fields: &[&str]) -> Result<(), SessionError> {
        let mut map = object_of(input)?;
        map.retain(|k, _| fields.contains(&k.as_str()));
        self.flash_old(map)
    }

    /// Keeps every field of `input` but the named ones (say, a password) as
    /// the old input.
    pub fn flash_except(&self, input: impl Serialize, fields: &[&str]) -> Result<(), SessionError> {
        let mut map = object_of(input)?;
        map.retain(|k, _| !fields.contains(&k.as_str()));
        self.flash_old(map)
    }

    fn flash_old(&self, fields: Map<String, Value>) -> Result<(), SessionError> {
        self.flash_write(|s| {
            let old = s
                .flash_out
                .entry(OLD_INPUT_KEY)
                .or_insert_with(|| Value::Object(Map::new()));
            match old {
                Value::Object(map) => map.extend(fields),
                other => *other = Value::Object(fields),
            }
        })
    }

    /// Makes `value` visible under `key` in this request only (Rails'
    /// `flash.now`). It is never stored.
    pub fn flash_now<T: Serialize>(
        &self,
        key: impl Into<String>,
        value: T,
    ) -> Result<(), SessionError> {
        let key = key.into();
        check_key(&key)?;
        let (key, value) = to_json(key, value)?;
        // Writing needs a writable handle, though nothing is stored.
        self.write().flash_now.insert(key, value);
        Ok(())
    }

    /// Flashes a success message (see [`FlashMessages::messages`]).
    pub fn flash_success(&self, text: impl Into<String>) -> Result<(), SessionError> {
        self.flash_level(Level::Success, text.into())
    }

    /// Flashes an info message.
    pub fn flash_info(&self, text: impl Into<String>) -> Result<(), SessionError> {
        self.flash_level(Level::Info, text.into())
    }

    /// Flashes a warning message.
    pub fn flash_warning(&self, text: impl Into<String>) -> Result<(), SessionError> {
        self.flash_level(Level::Warning, text.into())
    }

    /// Flashes an error message.
    pub fn flash_error(&self, text: impl Into<String>) -> Result<(), SessionError> {
        self.flash_level(Level::Error, text.into())
    }

    fn flash_level(&self, level: Level, text: String) -> Result<(), SessionError> {
        let message = serde_json::to_value(FlashMessage { level, text })
            .expect("a flash message always serializes");
        self.flash_write(|s| {
            let list = s
                .flash_out
                .entry(LEVEL_MESSAGES_KEY)
                .or_insert_with(|| Value::Array(Vec::new()));
            match list {
                Value::Array(items) => items.push(message),
                other => *other = Value::Array(vec![message]),
            }
        })
    }

    /// Keeps every incoming message for one more request.
    pub fn reflash(&self) -> Result<(), SessionError> {
        self.flash_write(|s| s.flash_keep = s.flash_in.keys().cloned().collect())
    }

    /// Keeps only the named incoming messages for one more request.
    pub fn reflash_only(&self, keys: &[&str]) -> Result<(), SessionError> {
        self.flash_write(|s| {
            for k in s.flash_in.keys() {
                if keys.contains(&k.as_str()) && !s.flash_keep.contains(k) {
                    s.flash_keep.push(k.clone());
                }
            }
        })
    }

    /// Keeps every incoming message but the named ones for one more request.
    pub fn reflash_except(&self, keys: &[&str]) -> Result<(), SessionError> {
        self.flash_write(|s| {
            for k in s.flash_in.keys() {
                if !keys.contains(&k.as_str()) && !s.flash_keep.contains(k) {
                    s.flash_keep.push(k.clone());
                }
            }
        })
    }

    /// Keeps one incoming message for one more request.
    pub fn keep(&self, key: &str) -> Result<(), SessionError> {
        self.reflash_only(&[key])
    }

    /// Drops every flash message, incoming and outgoing, without touching the
    /// session data (Masonite's `reset(flash_only=True)`).
    pub fn clear_flash(&self) -> Result<(), SessionError> {
        self.flash_write(|s| {
            s.flash_keep.clear();
            s.flash_out.clear();
            s.flash_now.clear();
            s.flash_cleared = true;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn session() -> Session {
        Session::detached()
    }

    #[test]
    fn dotted_paths_reach_nested_values() {
        let s = session();
        s.flash_now("errors", json!({"title": ["too short", "bad"], "a.b": 1}))
            .unwrap();
        let f = s.flash_messages();
        assert_eq!(
            f.get::<String>("errors.title.1").unwrap(),
            Some("bad".into())
        );
        assert_eq!(f.get::<String>("errors.title.9").unwrap(), None);
        assert_eq!(f.get::<String>("errors.nope").unwrap(), None);
        assert_eq!(f.get_or("missing", 5).unwrap(), 5);
        assert!(f.get::<u8>("errors.title").is_err());
    }

    #[test]
    fn only_and_except_pick_fields() {
        #[derive(Serialize)]
        struct Form {
            title: String,
            body: String,
            password: String,
        }
        let s = session();
        let form = Form {
            title: "t".into(),
            body: "b".into(),
            password: "p".into(),
        };
        s.flash_except(&form, &["password"]).unwrap();
        s.flash_only(&form, &["title"]).unwrap();
        let out = s.state.borrow().flash_out.clone();
        assert_eq!(out.len(), 1, "the old input is one flash entry");
        let old = FlashMessages::from_values(out);
        assert_eq!(old.old_input().len(), 2);
        assert_eq!(old.old::<String>("body").unwrap(), Some("b".into()));
        assert_eq!(old.old::<String>("password").unwrap(), None);
        assert!(old.all().is_empty());
        assert!(matches!(s.flash_many(3), Err(SessionError::NotAnObject)));
    }

    #[test]
    fn the_engine_s_flash_keys_are_reserved() {
        let s = session();
        for key in ["_messages", "_old"] {
            assert!(matches!(
                s.flash(key, 1),
                Err(SessionError::ReservedKey { .. })
            ));
            assert!(matches!(
                s.flash_now(key, 1),
                Err(SessionError::ReservedKey { .. })
            ));
            assert!(matches!(
                s.flash_many(json!({ key: 1 })),
                Err(SessionError::ReservedKey { .. })
            ));
        }
        assert!(s.state.borrow().flash_out.is_empty(), "nothing was flashed");
    }

    #[test]
    fn dotted_keys_serialize_nested() {
        let s = session();
        s.flash_now("errors.title", "required").unwrap();
        s.flash_now("errors", json!({"body": "too long"})).unwrap();
        s.flash_now("plain", 1).unwrap();
        s.flash_now("plain.x", 2).unwrap();
        let json = serde_json::to_value(s.flash_messages()).unwrap();
        assert_eq!(
            json["values"],
            json!({"errors": {"title": "required", "body": "too long"}, "plain": 1, "plain.x": 2})
        );
    }

    #[test]
    fn levels_accumulate_in_order() {
        let s = session();
        s.flash_success("saved").unwrap();
        s.flash_error("but").unwrap();
        let out = s.state.borrow().flash_out.clone();
        let f = FlashMessages::from_values(out);
        let m = f.messages();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].level, Level::Success);
        assert_eq!(m[1].text, "but");
        let errors: Vec<_> = f
            .messages_at(Level::Error)
            .map(|m| m.text.as_str())
            .collect();
        assert_eq!(errors, ["but"]);
        assert!(f.all().is_empty(), "levelled messages are not values");
    }

    #[test]
    fn readonly_view_reads_flash() {
        // Flashing through it does not compile: see session-actix's
        // tests/ui/fail/readonly_*.rs.
        let s = session();
        let r = ReadonlySession::from(s.clone());
        assert!(r.flash_messages().is_empty());
        s.flash_now("a", 1).unwrap();
        assert_eq!(r.flash_messages().get::<i32>("a").unwrap(), Some(1));
    }
}
