//! Signing a user in and out of the session.
//!
//! [`Session::login`] does in one call what a sign-in needs, in order: a new
//! id with the old one retired at once (session fixation), the user recorded
//! as the session's owner, and a new CSRF token if the session had one.
//! [`Session::logout`] ends the session. [`ReadonlySession::user_id`] reads
//! the owner, on every driver (the cookie driver too): it is kept under the
//! reserved key `_user`, hidden from the data API like the CSRF token, and
//! [`Session::clear`] keeps it (only `logout` or `destroy` signs out).
//! A typed view reads it through `view.session().user_id()`; the template
//! helpers give it to a page as `user_id`.

use serde::Serialize;
use serde_json::Value;

use crate::change::Change;
use crate::devices::DeviceInfo;
use crate::error::SessionError;
use crate::session::{to_json, ReadonlySession, Session};

/// The session key the owner is kept under.
pub(crate) const USER_KEY: &str = "_user";

impl Session {
    /// Signs `user` in: the session moves to a new id and the old id stops
    /// working when this request commits (even for requests still running
    /// with it, see [`regenerate`](Self::regenerate)), `user` becomes the
    /// session's owner ([`user_id`](ReadonlySession::user_id)), and a CSRF
    /// token the session had is replaced. The session's other data stays.
    ///
    /// `user` is a string, or anything that serializes to a string or a
    /// number (a numeric id is kept as its decimal text). Anything else, or
    /// an empty string, is [`SessionError::InvalidUserId`] and changes
    /// nothing.
    ///
    /// ```
    /// # use session_actix::Session;
    /// # let session = Session::detached();
    /// session.login(42)?;
    /// assert_eq!(session.user_id().as_deref(), Some("42"));
    /// session.login("ada@example.com")?;
    /// assert_eq!(session.user_id().as_deref(), Some("ada@example.com"));
    /// assert!(session.login(["not", "an", "id"]).is_err());
    /// session.logout()?;
    /// assert_eq!(session.user_id(), None);
    /// # Ok::<(), session_actix::SessionError>(())
    /// ```
    pub fn login<U: Serialize>(&self, user: U) -> Result<(), SessionError> {
        self.login_with(user, DeviceInfo::new())
    }

    /// [`login`](Self::login), recording details of the device in the
    /// user's device list ([`Devices`](crate::Devices)): its user agent, a
    /// coarse address, as the app chooses. They are personal data; see
    /// [`DeviceInfo`].
    ///
    /// ```
    /// # use session_actix::{DeviceInfo, Session};
    /// # let session = Session::detached();
    /// session.login_with("ada", DeviceInfo::new().user_agent("Firefox on Linux"))?;
    /// # Ok::<(), session_actix::SessionError>(())
    /// ```
    pub fn login_with<U: Serialize>(
        &self,
        user: U,
        device: DeviceInfo,
    ) -> Result<(), SessionError> {
        let user = user_key(user)?;
        self.regenerate()?;
        let mut state = self.write();
        state.changed(Change::Put(USER_KEY.to_owned(), Value::String(user)));
        state.sign_in = Some(device);
        Ok(())
    }

    /// Signs out: the same as [`destroy`](Self::destroy). The stored
    /// session is deleted, the response removes the cookie, and data written
    /// after this starts a new, anonymous session under a new id.
    pub fn logout(&self) -> Result<(), SessionError> {
        self.destroy()
    }
}

/// `user` as a session owner: a non-empty string, or a number as its
/// decimal text.
pub(crate) fn user_key<U: Serialize>(user: U) -> Result<String, SessionError> {
    match to_json(USER_KEY.to_owned(), user)?.1 {
        Value::String(s) if !s.is_empty() => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(SessionError::InvalidUserId),
    }
}

/// The owner recorded in session data.
pub(crate) fn owner(data: &serde_json::Map<String, Value>) -> Option<String> {
    match data.get(USER_KEY) {
        Some(Value::String(user)) => Some(user.clone()),
        _ => None,
    }
}

impl ReadonlySession {
    /// The owner recorded by [`Session::login`], or `None` for an anonymous
    /// session.
    pub fn user_id(&self) -> Option<String> {
        owner(self.state.borrow().data())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_records_the_owner_and_hides_it_from_the_data_api() {
        let s = Session::detached();
        s.put("cart", ["apple"]).unwrap();
        let before = s.id();
        s.login("ada").unwrap();
        assert_ne!(s.id(), before, "a login gives a new id");
        assert_eq!(s.user_id().as_deref(), Some("ada"));
        assert!(!s.has(USER_KEY) && !s.all().contains_key(USER_KEY));
        assert_eq!(s.get::<Vec<String>>("cart").unwrap().unwrap(), ["apple"]);
        assert!(matches!(
            s.put(USER_KEY, "mallory"),
            Err(SessionError::ReservedKey { .. })
        ));
        assert!(s.forget(USER_KEY).is_err() && s.increment(USER_KEY, 1).is_err());
        s.clear().unwrap();
        assert_eq!(
            s.user_id().as_deref(),
            Some("ada"),
            "clear keeps the sign-in"
        );
        assert!(!s.has("cart"));
    }

    #[test]
    fn only_strings_and_numbers_are_user_ids() {
        let s = Session::detached();
        for bad in [Value::Null, Value::from(""), serde_json::json!({"id": 1})] {
            assert!(matches!(s.login(&bad), Err(SessionError::InvalidUserId)));
            assert_eq!(s.user_id(), None);
        }
        s.login(7_u64).unwrap();
        assert_eq!(s.user_id().as_deref(), Some("7"));
    }

    #[test]
    fn login_rotates_a_csrf_token_and_logout_forgets_the_owner() {
        let s = Session::detached();
        let token = s.csrf_token().unwrap();
        s.login("ada").unwrap();
        assert!(
            !s.verify_csrf(&token),
            "the token from before the login is dead"
        );
        s.logout().unwrap();
        assert_eq!(s.user_id(), None);
    }
}
