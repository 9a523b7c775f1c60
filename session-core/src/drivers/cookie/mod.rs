#![doc = include_str!("docs.md")]

mod key;
mod seal;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use key::{CookieKey, KeyError, KeyId, KEY_LEN};

use crate::driver::{CookieRead, DriverSettings, SessionDriver, SettingsError, Update};
use crate::error::DriverError;
use crate::id::SessionId;
use crate::record::Record;
use crate::time::Timestamp;
use key::KeyRing;

/// The most bytes a session cookie may take, counted as the length of
/// `name=value`. Browsers keep cookies up to 4096 bytes (RFC 6265 §6.1).
pub const COOKIE_SIZE_LIMIT: usize = 4096;

/// How far in the future a sealed value's issued-at may lie before the value
/// is refused: room for clocks of several servers that disagree a little.
pub const ISSUED_AT_SKEW: Duration = Duration::from_secs(60);

/// The cookie driver: the whole session, sealed with AES-256-GCM, lives in
/// the cookie; nothing is stored on the server.
///
/// See the [module docs](self) for the format, key rotation and the limits
/// of keeping sessions in the client.
///
/// ```
/// use session_actix::driver::{CookieRead, Record, SessionDriver, SessionId, Timestamp};
/// use session_actix::{CookieDriver, CookieKey};
///
/// let key = CookieKey::from_hex(&"2a".repeat(32))?;
/// let driver = CookieDriver::new("session", key);
///
/// let now = Timestamp::from_secs(1_700_000_000);
/// let mut record = Record::new(now, Timestamp::from_secs(1_700_003_600));
/// record.data.insert("user".into(), serde_json::json!("zoë"));
/// let id = SessionId::generate();
///
/// let value = driver.write_cookie(&id, &record)?;
/// match driver.read_cookie(&value, now) {
///     CookieRead::Inline { id: back, record: opened, reseal } => {
///         assert_eq!(back, id);
///         assert_eq!(opened, record);
///         assert!(!reseal);
///     }
///     other => panic!("{other:?}"),
/// }
/// // The same value is refused under another cookie name ...
/// let other = CookieDriver::new("other", CookieKey::from_hex(&"2a".repeat(32))?);
/// assert!(matches!(other.read_cookie(&value, now), CookieRead::Invalid(_)));
/// // ... and once the record has expired.
/// let later = Timestamp::from_secs(1_700_003_600);
/// assert!(matches!(driver.read_cookie(&value, later), CookieRead::Invalid(_)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct CookieDriver {
    cookie_name: String,
    keys: KeyRing,
    revocations: Option<Arc<dyn SessionDriver>>,
}

impl CookieDriver {
    /// The driver the settings describe (driver name `cookie`): `key` (64
    /// hex characters are the key itself; any other text is a secret of at
    /// least 32 bytes, stretched with HKDF), `old_keys` (retired keys still
    /// accepted for reading) and `cookie_name` (default `session`; the
    /// middleware's settings fill it in). Errors name each setting as it was
    /// given ([`DriverSettings::setting_name`]).
    ///
    /// ```
    /// use session_actix::driver::DriverSettings;
    /// use session_actix::CookieDriver;
    ///
    /// let mut settings = DriverSettings::new("cookie");
    /// settings.key = Some("2a".repeat(32));
    /// let driver = CookieDriver::from_settings(&settings)?;
    /// # let _ = driver;
    /// settings.key = Some("too short".into());
    /// assert!(CookieDriver::from_settings(&settings).unwrap_err().to_string().contains("key"));
    /// # Ok::<(), session_actix::driver::SettingsError>(())
    /// ```
    pub fn from_settings(settings: &DriverSettings) -> Result<Self, SettingsError> {
        let parse = |setting: &str, text: &str| {
            key_from_text(text).map_err(|e| SettingsError::Invalid {
                setting: settings.setting_name(setting),
                reason: format!("64 hex characters or a secret of at least 32 bytes ({e})"),
            })
        };
        let key = parse("key", settings.require("key", &settings.key)?)?;
        let old = settings
            .old_keys
            .iter()
            .map(|k| parse("old_keys", k))
            .collect::<Result<Vec<_>, _>>()?;
        let name = settings.cookie_name.as_deref().unwrap_or("session");
        Ok(Self::new(name, key).with_old_keys(old))
    }

    /// A driver sealing with `key` for the cookie called `cookie_name`.
    ///
    /// The name is bound into every sealed value (as AES-GCM associated
    /// data), so it must be the name the middleware uses for the session
    /// cookie: a value moved to a cookie of another name does not open.
    pub fn new(cookie_name: impl Into<String>, key: CookieKey) -> Self {
        Self {
            cookie_name: cookie_name.into(),
            keys: KeyRing::new(key),
            revocations: None,
        }
    }

    /// Makes "sign out everywhere" work for cookie sessions: `store` (any
    /// server-side driver, such as Redis or SQL) keeps, per user, the time
    /// of their last [`Devices::revoke_all`](crate::Devices::revoke_all),
    /// and a signed-in session that signed in before it reads as anonymous.
    ///
    /// The cost: every request with a signed-in session reads that store
    /// once (anonymous sessions never do), and a failure of the store is a
    /// 500 for signed-in requests. The store holds one small record per user
    /// who signed out everywhere, under a SHA-256 of the user id. Listing or
    /// revoking single devices still needs a server-side session driver.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use session_actix::{CookieDriver, CookieKey, MemoryDriver};
    ///
    /// let key = CookieKey::from_hex(&"11".repeat(32))?;
    /// // In production: a store every instance shares (Redis, SQL).
    /// let driver = CookieDriver::new("session", key).with_revocations(Arc::new(MemoryDriver::new()));
    /// # let _ = driver;
    /// # Ok::<(), session_actix::driver::cookie::KeyError>(())
    /// ```
    pub fn with_revocations(mut self, store: Arc<dyn SessionDriver>) -> Self {
        self.revocations = Some(store);
        self
    }

    /// Also opens values sealed with `key`, an old key being rotated out.
    ///
    /// Values opened with an old key are sent again sealed with the current
    /// key (`reseal`), so once every live session has been seen once (or has
    /// expired) the old key can be dropped. A key already in the ring is not
    /// added twice.
    ///
    /// ```
    /// use session_actix::{CookieDriver, CookieKey};
    ///
    /// let current = CookieKey::from_hex(&"11".repeat(32))?;
    /// let previous = CookieKey::from_hex(&"22".repeat(32))?;
    /// let driver = CookieDriver::new("session", current).with_old_key(previous);
    /// assert_eq!(driver.old_key_count(), 1);
    /// # Ok::<(), session_actix::driver::cookie::KeyError>(())
    /// ```
    #[must_use]
    pub fn with_old_key(mut self, key: CookieKey) -> Self {
        self.keys.add_old(key);
        self
    }

    /// Adds several old keys; see [`CookieDriver::with_old_key`].
    #[must_use]
    pub fn with_old_keys(mut self, keys: impl IntoIterator<Item = CookieKey>) -> Self {
        for key in keys {
            self.keys.add_old(key);
        }
        self
    }

    /// The cookie name bound into sealed values. The middleware should
    /// check that it matches its own cookie name.
    pub fn cookie_name(&self) -> &str {
        &self.cookie_name
    }

    /// The id of the key that seals new values.
    pub fn current_key_id(&self) -> KeyId {
        self.keys.current().id()
    }

    /// How many old (open-only) keys the driver holds.
    pub fn old_key_count(&self) -> usize {
        self.keys.old_len()
    }

    /// The largest record, in bytes of its encoding ([`Record::encode`]),
    /// that fits in a cookie of this name under [`COOKIE_SIZE_LIMIT`].
    ///
    /// With the name `"session"` that is 2993 bytes; the record's own fields
    /// (times, version, the counts of data and flash) take about 20 of them,
    /// so roughly 2.9 KB of session data and flash fit.
    ///
    /// ```
    /// use session_actix::{CookieDriver, CookieKey};
    ///
    /// let driver = CookieDriver::new("session", CookieKey::generate());
    /// assert_eq!(driver.max_record_len(), 2993);
    /// ```
    pub fn max_record_len(&self) -> usize {
        let value_len = COOKIE_SIZE_LIMIT.saturating_sub(self.cookie_name.len() + 1);
        // Unpadded base64 turns n bytes into ceil(4n / 3) characters.
        (value_len * 3 / 4).saturating_sub(seal::OVERHEAD)
    }
}

impl fmt::Debug for CookieDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieDriver")
            .field("cookie_name", &self.cookie_name)
            .field("current_key", &self.keys.current().id())
            .field("old_keys", &self.keys.old_len())
            .finish()
    }
}

#[async_trait]
impl SessionDriver for CookieDriver {
    fn name(&self) -> &'static str {
        "cookie"
    }

    /// Opens the sealed value and checks it: format version, a key of the
    /// ring, authenticity (including the cookie name), issued-at no later
    /// than `now` + [`ISSUED_AT_SKEW`], and the record not expired at `now`.
    fn bound_cookie_name(&self) -> Option<&str> {
        Some(self.cookie_name())
    }

    /// The records are in the browsers' cookies: nothing to index.
    fn keeps_records(&self) -> bool {
        false
    }

    fn revocations(&self) -> Option<&dyn SessionDriver> {
        self.revocations.as_deref()
    }

    fn read_cookie(&self, value: &str, now: Timestamp) -> CookieRead {
        let opened = match seal::open(&self.keys, &self.cookie_name, value) {
            Ok(opened) => opened,
            Err(reason) => return CookieRead::Invalid(reason),
        };
        // Saturating arithmetic: no issued-at or `now` can overflow here.
        let latest = now.as_secs().saturating_add(ISSUED_AT_SKEW.as_secs());
        if opened.issued_at.as_secs() > latest {
            return CookieRead::Invalid("the session cookie was issued in the future");
        }
        if opened.record.is_expired(now) {
            return CookieRead::Invalid("the session cookie has expired");
        }
        CookieRead::Inline {
            id: opened.id,
            record: opened.record,
            reseal: opened.old_key,
        }
    }

    /// Seals `id` and `record` with the current key and a fresh random
    /// nonce. The issued-at is `record.last_active`, which the lifecycle sets
    /// to the commit time on every save and touch. Fails with
    /// [`DriverError::TooLarge`] when `name=value` would exceed
    /// [`COOKIE_SIZE_LIMIT`].
    fn write_cookie(&self, id: &SessionId, record: &Record) -> Result<String, DriverError> {
        let value = seal::seal(
            self.keys.current(),
            &self.cookie_name,
            id,
            record.last_active,
            record,
        )?;
        let size = self.cookie_name.len() + 1 + value.len();
        if size > COOKIE_SIZE_LIMIT {
            return Err(DriverError::TooLarge {
                size,
                limit: COOKIE_SIZE_LIMIT,
            });
        }
        Ok(value)
    }

    /// Nothing is stored on the server: always `None`. The lifecycle never
    /// calls it for this driver, whose cookies carry the record.
    async fn load(&self, _id: &SessionId, _now: Timestamp) -> Result<Option<Record>, DriverError> {
        Ok(None)
    }

    /// Nothing to store; the record goes out in the cookie. This driver
    /// cannot tell whether an id is taken (ids are 256 random bits, so a
    /// collision does not happen in practice).
    async fn create(&self, _id: &SessionId, _record: &Record) -> Result<(), DriverError> {
        Ok(())
    }

    /// Always [`Update::Updated`]: there is no stored version to compare
    /// with, so the last response to set the cookie wins. The lifecycle
    /// never calls it for this driver's sessions (it seals the cookie
    /// instead); it answers for callers of the trait.
    async fn update(
        &self,
        _id: &SessionId,
        _record: &Record,
        _expected_version: u64,
    ) -> Result<Update, DriverError> {
        Ok(Update::Updated)
    }

    /// Always `true`: the new expiry goes out in the re-sealed cookie. Like
    /// `update`, never called by the lifecycle for this driver's sessions.
    async fn touch(
        &self,
        _id: &SessionId,
        _last_active: Timestamp,
        _expires_at: Timestamp,
    ) -> Result<bool, DriverError> {
        Ok(true)
    }

    /// Nothing to remove on the server; the middleware removes the cookie.
    /// A copy of the cookie kept elsewhere stays valid until its expiry.
    async fn destroy(&self, _id: &SessionId) -> Result<(), DriverError> {
        Ok(())
    }
}

/// A cookie key from settings text: 64 hex characters are the key itself,
/// anything else is a secret of at least 32 bytes run through HKDF.
fn key_from_text(text: &str) -> Result<CookieKey, KeyError> {
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        CookieKey::from_hex(text)
    } else {
        CookieKey::from_secret(text.as_bytes())
    }
}
