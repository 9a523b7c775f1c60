//! Keys for the cookie driver: where they come from, how they are checked,
//! and the short id that lets a sealed value name the key that sealed it.

use std::fmt;

use aes_gcm::{Aes256Gcm, KeyInit};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

/// Length of an AES-256 key in bytes.
pub const KEY_LEN: usize = 32;

/// Length of a [`KeyId`] in bytes.
pub(crate) const KEY_ID_LEN: usize = 4;

/// The HKDF-SHA256 `info` string used to derive a key from a secret that is
/// not exactly 32 bytes. Changing it changes every derived key, so it is part
/// of the format.
const HKDF_INFO: &[u8] = b"session-core cookie driver v1 / AES-256-GCM key";

/// Domain separation for the key id hash, so the id is never the hash of the
/// key used for anything else.
const KEY_ID_DOMAIN: &[u8] = b"session-core cookie driver v1 / key id";

/// Why a secret cannot be used as a cookie key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The secret has fewer than 32 bytes.
    #[error(
        "the cookie key secret is {0} bytes, but at least 32 are required; \
         generate one with `CookieKey::generate()` or `openssl rand -hex 32` and pass it to `CookieKey::from_hex`"
    )]
    TooShort(usize),
    /// The secret is all zero bytes (an unset or placeholder key).
    #[error(
        "the cookie key secret is all zeros, which looks like an unset placeholder; \
         use 32 random bytes, e.g. from `openssl rand -hex 32`"
    )]
    AllZeros,
    /// The text given to [`CookieKey::from_hex`] is not 64 hexadecimal digits.
    #[error(
        "a cookie key in hex is exactly 64 hexadecimal digits (32 bytes); \
         this value has {0} characters or a non-hex character"
    )]
    Hex(usize),
    /// The operating system's random source failed.
    #[error(
        "the operating system's random source failed; \
         check that getrandom(2) or /dev/urandom is available"
    )]
    Random,
}

/// A 256-bit key for sealing session cookies with AES-256-GCM.
///
/// Build one from a secret of at least 32 bytes ([`CookieKey::from_secret`]), from
/// 64 hex digits ([`CookieKey::from_hex`]) or at random ([`CookieKey::generate`]). A
/// secret of exactly 32 bytes is used as the key as it is; a longer one (a
/// passphrase, a key file) is derived down to 32 bytes with HKDF-SHA256 and a
/// fixed `info` string, so the same secret always gives the same key.
///
/// `Debug` never shows key material:
///
/// ```
/// use session_actix::CookieKey;
///
/// let key = CookieKey::from_hex(&"2a".repeat(32)).unwrap();
/// assert_eq!(format!("{key:?}"), "CookieKey(REDACTED)");
/// assert!(CookieKey::from_secret(b"too short").is_err());
/// assert!(CookieKey::from_secret(&[0u8; 32]).is_err());
/// ```
#[derive(Clone)]
pub struct CookieKey {
    bytes: [u8; KEY_LEN],
    id: KeyId,
    /// The AES-256 key schedule and GHASH key, expanded once here rather
    /// than on every seal and open.
    cipher: Aes256Gcm,
}

/// The key's bytes are wiped when it is dropped, so a freed key does not
/// linger in the process' memory (or a core dump). The AES key schedules
/// made from it are wiped too (aes-gcm's `zeroize` feature).
impl Drop for CookieKey {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl CookieKey {
    /// Whether two keys are the same, in time that does not depend on where
    /// they differ.
    fn same_as(&self, other: &CookieKey) -> bool {
        self.bytes.ct_eq(&other.bytes).into()
    }
}

impl CookieKey {
    /// A key from a secret of at least 32 bytes.
    ///
    /// Exactly 32 bytes are used as they are; anything longer goes through
    /// HKDF-SHA256 (no salt, a fixed `info` string). Fails with
    /// [`KeyError::TooShort`] below 32 bytes and [`KeyError::AllZeros`] for a
    /// secret of zero bytes only.
    pub fn from_secret(secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < KEY_LEN {
            return Err(KeyError::TooShort(secret.len()));
        }
        if secret.iter().all(|&b| b == 0) {
            return Err(KeyError::AllZeros);
        }
        // Working copies of key material are wiped when they go out of scope.
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        if secret.len() == KEY_LEN {
            bytes.copy_from_slice(secret);
        } else {
            Hkdf::<Sha256>::new(None, secret)
                .expand(HKDF_INFO, &mut *bytes)
                .expect("32 bytes is a valid HKDF-SHA256 output length");
        }
        Ok(Self::from_bytes(*bytes))
    }

    /// A key from exactly 64 hexadecimal digits (upper or lower case), the
    /// form `openssl rand -hex 32` prints and [`CookieKey::to_hex`] writes.
    ///
    /// ```
    /// use session_actix::CookieKey;
    ///
    /// let hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    /// let key = CookieKey::from_hex(hex).unwrap();
    /// assert_eq!(key.to_hex(), hex);
    /// assert!(CookieKey::from_hex("abc").is_err());
    /// ```
    pub fn from_hex(hex: &str) -> Result<Self, KeyError> {
        let text = hex.as_bytes();
        if text.len() != 2 * KEY_LEN {
            return Err(KeyError::Hex(text.len()));
        }
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        for (byte, pair) in bytes.iter_mut().zip(text.chunks_exact(2)) {
            let (Some(hi), Some(lo)) = (hex_digit(pair[0]), hex_digit(pair[1])) else {
                return Err(KeyError::Hex(text.len()));
            };
            *byte = (hi << 4) | lo;
        }
        Self::from_secret(&*bytes)
    }

    /// A new key from the operating system's random source.
    ///
    /// A generated key lives only as long as you keep it: sessions sealed
    /// with it cannot be opened after a restart unless you store it (see
    /// [`CookieKey::to_hex`]) and load it again with [`CookieKey::from_hex`].
    ///
    /// # Panics
    ///
    /// Panics if the operating system cannot provide random bytes. Use
    /// [`CookieKey::try_generate`] to handle that yourself.
    pub fn generate() -> Self {
        Self::try_generate().expect("the OS random source failed; no cookie key can be made")
    }

    /// Like [`CookieKey::generate`], but reports a failure of the random source
    /// as [`KeyError::Random`] instead of panicking.
    pub fn try_generate() -> Result<Self, KeyError> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::fill(&mut *bytes).map_err(|_| KeyError::Random)?;
        Ok(Self::from_bytes(*bytes))
    }

    /// The key (after any derivation) as 64 lowercase hex digits, for storing
    /// a generated key in a secret store. The result is the secret itself:
    /// never log it.
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(2 * KEY_LEN);
        for b in self.bytes {
            out.push(char::from(DIGITS[usize::from(b >> 4)]));
            out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
        }
        out
    }

    /// The key's short public id, which every sealed value carries so the
    /// driver knows which key to open it with. Safe to log.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// This key under another id, to test what happens when two keys of a
    /// ring share an id (a 1 in 2^32 chance per pair in real use).
    #[cfg(test)]
    pub(crate) fn with_forged_id(mut self, id: KeyId) -> Self {
        self.id = id;
        self
    }

    #[cfg(test)]
    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }

    /// The cipher for this key.
    pub(crate) fn cipher(&self) -> &Aes256Gcm {
        &self.cipher
    }

    fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        let digest = Sha256::new()
            .chain_update(KEY_ID_DOMAIN)
            .chain_update(bytes)
            .finalize();
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        // From the slice: no copy of the key on the stack to wipe.
        let cipher = Aes256Gcm::new_from_slice(&bytes).expect("a cookie key is 32 bytes");
        Self {
            bytes,
            id: KeyId(id),
            cipher,
        }
    }
}

impl fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CookieKey(REDACTED)")
    }
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The short public id of a [`CookieKey`]: the first 4 bytes of
/// SHA-256(`"session-core cookie driver v1 / key id"` ‖ key).
///
/// Every sealed cookie carries it in clear so that opening tries only the
/// key (or, after a 1-in-4-billion collision, the few keys) with that id. It
/// reveals nothing usable about the key. `Display` prints 8 hex digits, for
/// logs and for telling keys apart when rotating.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub(crate) [u8; KEY_ID_LEN]);

impl KeyId {
    /// The id's bytes, as they appear in a sealed value.
    pub fn as_bytes(&self) -> &[u8; KEY_ID_LEN] {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// One current key, which seals, and any number of old keys, which only
/// open.
#[derive(Clone)]
pub(crate) struct KeyRing {
    current: CookieKey,
    old: Vec<CookieKey>,
}

impl KeyRing {
    pub(crate) fn new(current: CookieKey) -> Self {
        Self {
            current,
            old: Vec::new(),
        }
    }

    /// Adds a key that may open but never seals. A key already in the ring
    /// is not added twice.
    pub(crate) fn add_old(&mut self, key: CookieKey) {
        let known = std::iter::once(&self.current)
            .chain(&self.old)
            .any(|k| k.same_as(&key));
        if !known {
            self.old.push(key);
        }
    }

    pub(crate) fn current(&self) -> &CookieKey {
        &self.current
    }

    pub(crate) fn old_len(&self) -> usize {
        self.old.len()
    }

    /// The keys whose id is `id`, the current key first, each with whether
    /// it is the current one.
    pub(crate) fn matching<'a>(
        &'a self,
        id: &'a [u8],
    ) -> impl Iterator<Item = (&'a CookieKey, bool)> + 'a {
        std::iter::once((&self.current, true))
            .chain(self.old.iter().map(|k| (k, false)))
            .filter(move |(k, _)| k.id.0 == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_lengths_and_zero_keys() {
        assert_eq!(
            CookieKey::from_secret(b"").unwrap_err(),
            KeyError::TooShort(0)
        );
        assert_eq!(
            CookieKey::from_secret(&[1u8; 31]).unwrap_err(),
            KeyError::TooShort(31)
        );
        assert_eq!(
            CookieKey::from_secret(&[0u8; 32]).unwrap_err(),
            KeyError::AllZeros
        );
        assert_eq!(
            CookieKey::from_secret(&[0u8; 100]).unwrap_err(),
            KeyError::AllZeros
        );
        // Exactly 32 bytes are used as they are.
        let raw: Vec<u8> = (0u8..32).collect();
        assert_eq!(
            CookieKey::from_secret(&raw).unwrap().bytes().as_slice(),
            raw
        );
    }

    #[test]
    fn longer_secrets_are_derived_with_hkdf_sha256() {
        let secret = b"a long passphrase that is well over thirty-two bytes";
        let a = CookieKey::from_secret(secret).unwrap();
        let b = CookieKey::from_secret(secret).unwrap();
        assert_eq!(a.bytes(), b.bytes());
        assert_ne!(&a.bytes()[..], &secret[..32]);
        let mut expected = [0u8; 32];
        Hkdf::<Sha256>::new(None, secret)
            .expand(HKDF_INFO, &mut expected)
            .unwrap();
        assert_eq!(a.bytes(), &expected);
        // Fixed vector (checked against RFC 5869 computed with Python's
        // hmac), so a change of the info string or the KDF is caught.
        assert_eq!(
            CookieKey::from_secret(&[0x42; 33]).unwrap().to_hex(),
            "8f6c2d3f590d62b71822544eb38250490ce48785ddd13c2993815d408e53baec"
        );
    }

    #[test]
    fn hex_parsing() {
        let hex = "000102030405060708090A0B0C0D0E0F101112131415161718191a1b1c1d1e1f";
        let key = CookieKey::from_hex(hex).unwrap();
        assert_eq!(key.to_hex(), hex.to_ascii_lowercase());
        assert_eq!(CookieKey::from_hex("").unwrap_err(), KeyError::Hex(0));
        assert_eq!(
            CookieKey::from_hex(&hex[..62]).unwrap_err(),
            KeyError::Hex(62)
        );
        let bad = format!("zz{}", &hex[2..]);
        assert_eq!(CookieKey::from_hex(&bad).unwrap_err(), KeyError::Hex(64));
        // Multi-byte characters must not make the length check lie or panic.
        let wide = format!("é{}", &hex[2..]);
        assert!(CookieKey::from_hex(&wide).is_err());
        assert_eq!(
            CookieKey::from_hex(&"0".repeat(64)).unwrap_err(),
            KeyError::AllZeros
        );
    }

    #[test]
    fn debug_and_errors_show_no_key_material() {
        let key = CookieKey::generate();
        let shown = format!("{key:?} {} {:?}", key.id(), key.id());
        assert!(!shown.contains(&key.to_hex()));
        assert!(!shown.contains(&key.to_hex()[..8]));
        assert_eq!(format!("{key:?}"), "CookieKey(REDACTED)");
        assert_eq!(key.id().to_string().len(), 8);
    }

    #[test]
    fn generated_keys_differ_and_ids_follow_the_key() {
        let a = CookieKey::generate();
        let b = CookieKey::generate();
        assert_ne!(a.bytes(), b.bytes());
        assert_ne!(a.id(), b.id());
        assert_eq!(CookieKey::from_hex(&a.to_hex()).unwrap().id(), a.id());
    }

    #[test]
    fn ring_skips_duplicates_and_matches_by_id() {
        let current = CookieKey::generate();
        let old = CookieKey::generate();
        let mut ring = KeyRing::new(current.clone());
        ring.add_old(current.clone());
        ring.add_old(old.clone());
        ring.add_old(old.clone());
        assert_eq!(ring.old_len(), 1);
        let found: Vec<bool> = ring.matching(old.id().as_bytes()).map(|(_, c)| c).collect();
        assert_eq!(found, [false]);
        let found: Vec<bool> = ring
            .matching(current.id().as_bytes())
            .map(|(_, c)| c)
            .collect();
        assert_eq!(found, [true]);
        assert_eq!(ring.matching(&[0, 0, 0, 0]).count(), 0);
    }
}
