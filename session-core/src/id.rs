//! Session ids: 256 bits from the operating system, URL-safe base64.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::error::IdError;

/// Number of random bytes in a session id (256 bits).
pub const ID_BYTES: usize = 32;
/// Length of a session id in its text form (URL-safe base64, no padding).
pub const ID_LEN: usize = 43;

/// An opaque session id: 256 bits from the OS random source.
///
/// Its text form is 43 characters of URL-safe base64 without padding. Parsing
/// checks the exact length and alphabet before anything else touches the
/// value, so a store never sees a path- or SQL-shaped string. `Debug` never
/// shows the value; `Display` does, because drivers need it as a key. Do not
/// log it.
///
/// ```
/// use session_actix::driver::SessionId;
///
/// let id = SessionId::generate();
/// let parsed = SessionId::parse(id.as_str()).unwrap();
/// assert_eq!(id, parsed);
/// assert_eq!(format!("{id:?}"), "SessionId(REDACTED)");
/// assert!(SessionId::parse("../../etc/passwd").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId {
    /// The text form, inline: ids are cloned several times per request and
    /// kept twice per session by the memory driver, and an array needs no
    /// allocation. Always 43 bytes of the URL-safe base64 alphabet.
    text: [u8; ID_LEN],
}

impl SessionId {
    /// Draws a new id from the operating system's random source.
    ///
    /// # Panics
    ///
    /// Panics if the operating system cannot provide random bytes: without
    /// them no id would be safe to issue. Use [`SessionId::try_generate`] to
    /// handle that case yourself.
    pub fn generate() -> Self {
        Self::try_generate().expect("the OS random source failed; no safe session id can be made")
    }

    /// Draws a new id from the operating system's random source, reporting a
    /// failure of that source instead of panicking.
    pub fn try_generate() -> Result<Self, IdError> {
        let mut bytes = [0u8; ID_BYTES];
        getrandom::fill(&mut bytes).map_err(|_| IdError::Random)?;
        Ok(Self::from_bytes(&bytes))
    }

    /// Builds the id for exactly these 32 bytes.
    ///
    /// Meant for tests and drivers that store the raw bytes; ids issued to
    /// clients must come from [`SessionId::generate`].
    pub fn from_bytes(bytes: &[u8; ID_BYTES]) -> Self {
        let mut text = [0u8; ID_LEN];
        let written = URL_SAFE_NO_PAD
            .encode_slice(bytes, &mut text)
            .expect("32 bytes encode to exactly 43 characters");
        debug_assert_eq!(written, ID_LEN);
        Self { text }
    }

    /// Parses the text form, checking the exact length, the alphabet and that
    /// the value is canonical base64 (so one id has exactly one spelling).
    pub fn parse(text: &str) -> Result<Self, IdError> {
        if text.len() != ID_LEN {
            return Err(IdError::Length(text.len()));
        }
        let bytes: [u8; ID_LEN] = text.as_bytes().try_into().map_err(|_| IdError::Alphabet)?;
        if !bytes.iter().all(|&b| sextet(b).is_some()) {
            return Err(IdError::Alphabet);
        }
        // 43 characters carry 258 bits; the last two must be zero for the
        // value to be the one canonical encoding of 32 bytes.
        match sextet(bytes[ID_LEN - 1]) {
            Some(last) if last & 0b11 == 0 => Ok(Self { text: bytes }),
            _ => Err(IdError::Alphabet),
        }
    }

    /// The 6-bit value of the first character (the top bits of the id's
    /// first byte): uniform over 0..64 for ids from the random source.
    #[cfg(feature = "memory")]
    pub(crate) fn first_sextet(&self) -> u8 {
        // Only ever filled with base64 characters.
        sextet(self.text[0]).unwrap_or(0)
    }

    /// The 32 bytes the id encodes.
    pub(crate) fn to_bytes(&self) -> [u8; ID_BYTES] {
        let mut bytes = [0u8; ID_BYTES];
        // A valid id is always the canonical encoding of 32 bytes.
        let _ = URL_SAFE_NO_PAD.decode_slice(self.text, &mut bytes);
        bytes
    }

    /// The text form, for use as a store key or a cookie value.
    pub fn as_str(&self) -> &str {
        // Only ever filled with base64 characters, which are ASCII.
        std::str::from_utf8(&self.text).unwrap_or_default()
    }
}

/// The 6-bit value of a URL-safe base64 character.
fn sextet(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'-' => Some(62),
        b'_' => Some(63),
        _ => None,
    }
}

impl SessionId {
    /// The id the engine hands the driver for the session whose cookie holds
    /// this id: a SHA-256 of it, written like an id. The store never sees the
    /// cookie's id, so nothing it keeps (a record's key, the per-user session
    /// index) can be turned back into a usable cookie, on any driver, custom
    /// ones included. A cookie holding a store id is just another unknown id:
    /// its own hash names nothing.
    pub(crate) fn store_id(&self) -> SessionId {
        Self::derived(b"sc-store\0", self.as_str().as_bytes())
    }

    /// An id made from `input` under `domain` (distinct, fixed, NUL-ended
    /// prefixes), so that ids derived for different purposes never meet.
    /// The store id's prefix is short, so that with an id it fits one
    /// SHA-256 block (55 bytes): the hash runs on every request.
    pub(crate) fn derived(domain: &[u8], input: &[u8]) -> SessionId {
        use sha2::{Digest, Sha256};
        Self::from_bytes(
            &Sha256::new()
                .chain_update(domain)
                .chain_update(input)
                .finalize()
                .into(),
        )
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(REDACTED)")
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_43_chars_and_distinct() {
        let a = SessionId::generate();
        let b = SessionId::generate();
        assert_eq!(a.as_str().len(), ID_LEN);
        assert_ne!(a, b);
        assert_eq!(SessionId::parse(a.as_str()).unwrap(), a);
    }

    #[test]
    fn parse_rejects_wrong_length_alphabet_and_non_canonical() {
        let good = SessionId::from_bytes(&[7u8; 32]).to_string();
        assert!(SessionId::parse(&good).is_ok());
        assert_eq!(SessionId::parse(""), Err(IdError::Length(0)));
        assert!(SessionId::parse(&good[..42]).is_err());
        assert!(SessionId::parse(&format!("{good}A")).is_err());
        let mut slash = good.clone();
        slash.replace_range(0..1, "/");
        assert_eq!(SessionId::parse(&slash), Err(IdError::Alphabet));
        let prefix = "'; DROP TABLE s;--";
        let sql = format!("{prefix}{}", "a".repeat(ID_LEN - prefix.len()));
        assert_eq!(sql.len(), ID_LEN);
        assert!(SessionId::parse(&sql).is_err());
        let path = format!("../../{}", "a".repeat(ID_LEN - 6));
        assert!(SessionId::parse(&path).is_err());
        // The last character carries 4 data bits and 2 bits that must be
        // zero; setting the lowest one spells the same bytes non-canonically.
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut loose = good.clone().into_bytes();
        let last = loose.pop().unwrap();
        let index = ALPHABET.iter().position(|&c| c == last).unwrap();
        assert_eq!(index & 0b11, 0);
        loose.push(ALPHABET[index | 1]);
        let loose = String::from_utf8(loose).unwrap();
        assert_eq!(SessionId::parse(&loose), Err(IdError::Alphabet));
    }

    /// `parse` checks canonical base64 by hand; it must agree with a real
    /// decoder on every possible last character, and round-trip.
    #[test]
    fn parse_agrees_with_the_base64_decoder() {
        let prefix = &SessionId::generate().to_string()[..ID_LEN - 1];
        for c in (0u8..=255).filter(u8::is_ascii_graphic) {
            let text = format!("{prefix}{}", c as char);
            let mut out = [0u8; ID_BYTES];
            let decodes = URL_SAFE_NO_PAD.decode_slice(&text, &mut out) == Ok(ID_BYTES);
            let parsed = SessionId::parse(&text);
            assert_eq!(parsed.is_ok(), decodes, "last character {:?}", c as char);
            if let Ok(id) = parsed {
                assert_eq!(id.as_str(), text);
                assert_eq!(id, SessionId::from_bytes(&out));
            }
        }
    }

    #[test]
    fn debug_hides_the_value() {
        let id = SessionId::generate();
        let shown = format!("{id:?}");
        assert!(!shown.contains(id.as_str()));
    }
}
