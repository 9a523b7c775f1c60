//! CSRF tokens bound to the session.
//!
//! The session keeps one secret token of 256 bits from the operating
//! system's random source, under the reserved key `_csrf` (so it is stored
//! by every driver, the cookie driver included, and hidden from the data
//! API). It is created the first time a page asks for it
//! ([`Session::csrf_token`]), replaced when the id is regenerated, and gone
//! with a destroyed session.
//!
//! Pages never see the secret itself: each call of `csrf_token` returns it
//! masked with a fresh one-time pad (`base64url(pad ‖ pad ⊕ secret)`, 86
//! characters), so the value sent differs in every response and a
//! compression side channel (BREACH) has nothing stable to find.
//! [`ReadonlySession::verify_csrf`] unmasks what a form or header sent back
//! and compares it with the secret in constant time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

use crate::change::Change;
use crate::error::SessionError;
use crate::session::{ReadonlySession, Session};

/// The session key the token is kept under.
pub(crate) const CSRF_KEY: &str = "_csrf";

/// The secret's length in bytes: 256 bits.
const SECRET_BYTES: usize = 32;

/// A new secret, base64url-encoded.
pub(crate) fn new_secret() -> Result<String, SessionError> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(|_| SessionError::Random)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The secret's bytes, if `text` is a well-formed secret.
fn secret_bytes(text: &str) -> Option<[u8; SECRET_BYTES]> {
    let mut out = [0u8; SECRET_BYTES];
    let decoded = URL_SAFE_NO_PAD.decode(text).ok()?;
    if decoded.len() != SECRET_BYTES {
        return None;
    }
    out.copy_from_slice(&decoded);
    Some(out)
}

/// `secret` masked with a fresh pad.
fn mask(secret: &[u8; SECRET_BYTES]) -> Result<String, SessionError> {
    let mut out = [0u8; 2 * SECRET_BYTES];
    let (pad, masked) = out.split_at_mut(SECRET_BYTES);
    getrandom::fill(pad).map_err(|_| SessionError::Random)?;
    for ((m, p), s) in masked.iter_mut().zip(pad.iter()).zip(secret) {
        *m = p ^ s;
    }
    Ok(URL_SAFE_NO_PAD.encode(out))
}

/// Whether `presented` (a masked token) unmasks to `secret`, compared
/// without an early exit.
fn matches(secret: &[u8; SECRET_BYTES], presented: &str) -> bool {
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(presented.trim()) else {
        return false;
    };
    if bytes.len() != 2 * SECRET_BYTES {
        return false;
    }
    let (pad, masked) = bytes.split_at(SECRET_BYTES);
    let diff = pad
        .iter()
        .zip(masked)
        .zip(secret)
        .fold(0u8, |acc, ((p, m), s)| acc | (p ^ m ^ s));
    std::hint::black_box(diff) == 0
}

impl ReadonlySession {
    /// The stored secret, if the session has one.
    fn csrf_secret(&self) -> Option<[u8; SECRET_BYTES]> {
        match self.state.borrow().data().get(CSRF_KEY) {
            Some(Value::String(text)) => secret_bytes(text),
            _ => None,
        }
    }

    /// Whether `presented`, a token from a form field or header, is one that
    /// [`Session::csrf_token`] handed out for this session (any of them: each
    /// is the same secret under another mask). `false` when the session has
    /// no token. The comparison takes the same time wherever the values
    /// differ.
    ///
    /// ```
    /// # use session_actix::Session;
    /// # let session = Session::detached();
    /// let token = session.csrf_token()?;
    /// assert!(session.verify_csrf(&token));
    /// assert!(!session.verify_csrf("forged"));
    /// # Ok::<(), session_actix::SessionError>(())
    /// ```
    pub fn verify_csrf(&self, presented: &str) -> bool {
        self.csrf_secret()
            .is_some_and(|secret| matches(&secret, presented))
    }
}

impl Session {
    /// The session's CSRF token, freshly masked, for a hidden form field
    /// (`_csrf`) or a header (`X-CSRF-Token`). The first call in a session
    /// creates the secret behind it (so the session is stored); every call
    /// returns a different text for the same secret. session-actix's
    /// `CsrfGuard` middleware checks it on unsafe requests.
    ///
    /// ```
    /// # use session_actix::Session;
    /// # let session = Session::detached();
    /// let a = session.csrf_token()?;
    /// let b = session.csrf_token()?;
    /// assert_ne!(a, b, "masked anew each time");
    /// assert!(session.verify_csrf(&a) && session.verify_csrf(&b));
    /// # Ok::<(), session_actix::SessionError>(())
    /// ```
    pub fn csrf_token(&self) -> Result<String, SessionError> {
        let secret = match self.csrf_secret() {
            Some(secret) => secret,
            None => self.rotate_csrf()?,
        };
        mask(&secret)
    }

    /// Replaces the secret (regenerate does this when the session has one).
    pub(crate) fn rotate_csrf(&self) -> Result<[u8; SECRET_BYTES], SessionError> {
        let text = new_secret()?;
        let secret = secret_bytes(&text).ok_or(SessionError::Random)?;
        self.write()
            .changed(Change::Put(CSRF_KEY.to_owned(), Value::String(text)));
        Ok(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_masked_anew_and_verify() {
        let s = Session::detached();
        assert!(!s.verify_csrf("anything"), "no token yet");
        let a = s.csrf_token().unwrap();
        let b = s.csrf_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 86);
        assert!(s.verify_csrf(&a) && s.verify_csrf(&b));
        assert!(!s.has(CSRF_KEY), "the secret is hidden from the data API");
        assert!(!s.all().contains_key(CSRF_KEY));
    }

    #[test]
    fn tampered_and_foreign_tokens_are_refused() {
        let s = Session::detached();
        let token = s.csrf_token().unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        bytes[40] ^= 1;
        assert!(!s.verify_csrf(&URL_SAFE_NO_PAD.encode(&bytes)));
        assert!(!s.verify_csrf(&token[..85]));
        assert!(!s.verify_csrf(""));
        // The unmasked secret itself is not a token.
        let secret = s.state.borrow().data()[CSRF_KEY]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(!s.verify_csrf(&secret));
        let other = Session::detached();
        assert!(!s.verify_csrf(&other.csrf_token().unwrap()));
    }

    #[test]
    fn regenerate_rotates_an_existing_token_and_destroy_drops_it() {
        let s = Session::detached();
        s.regenerate().unwrap();
        assert!(
            !s.verify_csrf("x") && s.csrf_secret().is_none(),
            "none made"
        );
        let before = s.csrf_token().unwrap();
        s.regenerate().unwrap();
        assert!(!s.verify_csrf(&before), "rotated with the id");
        let after = s.csrf_token().unwrap();
        assert!(s.verify_csrf(&after));
        s.clear().unwrap();
        assert!(s.verify_csrf(&after), "clear keeps the token");
        s.destroy().unwrap();
        assert!(!s.verify_csrf(&after), "gone with the session");
    }

    #[test]
    fn the_token_key_is_reserved() {
        let s = Session::detached();
        assert!(matches!(
            s.put(CSRF_KEY, 1),
            Err(SessionError::ReservedKey { .. })
        ));
        assert!(matches!(
            s.forget(CSRF_KEY),
            Err(SessionError::ReservedKey { .. })
        ));
        assert!(matches!(
            s.increment(CSRF_KEY, 1),
            Err(SessionError::ReservedKey { .. })
        ));
        assert!(s.get::<String>(CSRF_KEY).unwrap().is_none());
    }
}
