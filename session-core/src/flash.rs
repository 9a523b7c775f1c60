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
use crate::session::{to_json, ReadonlySession, Session, Status};

/// The flash key under which the level messages are kept, as a list.
pub(crate) const LEVEL_MESSAGES_KEY: &str = "_messages";

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
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FlashMessages {
    values: Map<String, Value>,
}

impl FlashMessages {
    /// The value at `path`: a key, or a dotted path into nested objects and
    /// arrays (`errors.title`, `items.0`). An exact key wins over a path.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, SessionError> {
        match self.lookup(path) {
            None => Ok(None),
            Some(v) => T::deserialize(v)
                .map(Some)
                .map_err(|source| SessionError::Deserialize {
                    key: path.to_owned(),
                    source,
                }),
        }
    }

    /// The value at `path`, or `default` when absent or null.
    pub fn get_or<T: DeserializeOwned>(&self, path: &str, default: T) -> Result<T, SessionError> {
        match self.lookup(path) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => T::deserialize(v).map_err(|source| SessionError::Deserialize {
                key: path.to_owned(),
                source,
            }),
        }
    }

    /// Whether something is at `path`.
    pub fn has(&self, path: &str) -> bool {
        self.lookup(path).is_some()
    }

    /// Every visible message, key to value.
    pub fn all(&self) -> &Map<String, Value> {
        &self.values
    }

    /// Whether no message is visible.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The level messages (success, info, warning, error) in the order they
    /// were flashed.
    pub fn messages(&self) -> Vec<FlashMessage> {
        self.values
            .get(LEVEL_MESSAGES_KEY)
            .and_then(|v| Vec::<FlashMessage>::deserialize(v).ok())
            .unwrap_or_default()
    }

    fn lookup(&self, path: &str) -> Option<&Value> {
        if let Some(v) = self.values.get(path) {
            return Some(v);
        }
        let mut parts = path.split('.');
        let mut current = self.values.get(parts.next()?)?;
        for part in parts {
            current = match current {
                Value::Object(map) => map.get(part)?,
                Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(current)
    }
}

/// The top-level fields of `input` as a JSON object.
fn object_of(input: impl Serialize) -> Result<Map<String, Value>, SessionError> {
    match serde_json::to_value(input) {
        Ok(Value::Object(map)) => Ok(map),
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
        FlashMessages { values }
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
        let (key, value) = to_json(key.into(), value)?;
        self.flash_write(|s| {
            s.flash_out.insert(key, value);
        })
    }

    /// Flashes every top-level field of a map or a `Serialize` struct
    /// (AdonisJS's `flash(object)`). Anything but an object is
    /// [`SessionError::NotAnObject`].
    pub fn flash_many(&self, values: impl Serialize) -> Result<(), SessionError> {
        let map = object_of(values)?;
        self.flash_write(|s| s.flash_out.extend(map))
    }

    /// Flashes all fields of a form or JSON input, so a form can show the old
    /// input after a redirect. Pass the `web::Form<T>`'s inner value.
    pub fn flash_all(&self, input: impl Serialize) -> Result<(), SessionError> {
        self.flash_many(input)
    }

    /// Flashes only the named fields of `input`.
    pub fn flash_only(&self, input: impl Serialize, fields: &[&str]) -> Result<(), SessionError> {
        let mut map = object_of(input)?;
        map.retain(|k, _| fields.contains(&k.as_str()));
        self.flash_write(|s| s.flash_out.extend(map))
    }

    /// Flashes every field of `input` but the named ones (say, a password).
    pub fn flash_except(&self, input: impl Serialize, fields: &[&str]) -> Result<(), SessionError> {
        let mut map = object_of(input)?;
        map.retain(|k, _| !fields.contains(&k.as_str()));
        self.flash_write(|s| s.flash_out.extend(map))
    }

    /// Makes `value` visible under `key` in this request only (Rails'
    /// `flash.now`). It is never stored.
    pub fn flash_now<T: Serialize>(
        &self,
        key: impl Into<String>,
        value: T,
    ) -> Result<(), SessionError> {
        let (key, value) = to_json(key.into(), value)?;
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
        assert_eq!(out.len(), 2);
        assert!(!out.contains_key("password"));
        assert!(matches!(s.flash_many(3), Err(SessionError::NotAnObject)));
    }

    #[test]
    fn levels_accumulate_in_order() {
        let s = session();
        s.flash_success("saved").unwrap();
        s.flash_error("but").unwrap();
        let out = s.state.borrow().flash_out.clone();
        let f = FlashMessages { values: out };
        let m = f.messages();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].level, Level::Success);
        assert_eq!(m[1].text, "but");
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
