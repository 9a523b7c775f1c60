//! The sealed cookie format, version 1. See the module docs of
//! [`crate::drivers::cookie`] for the layout.

use aes_gcm::aead::{AeadInOut, Nonce, Tag};
use aes_gcm::Aes256Gcm;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::key::{CookieKey, KeyRing, KEY_ID_LEN};
use crate::error::DriverError;
use crate::id::{SessionId, ID_BYTES};
use crate::record::{Record, ENCODED_GUESS};
use crate::time::Timestamp;

/// The first byte of every sealed value in this format.
pub(crate) const VERSION: u8 = 1;
/// AES-GCM nonce length (96 bits).
pub(crate) const NONCE_LEN: usize = 12;
/// AES-GCM tag length (128 bits).
pub(crate) const TAG_LEN: usize = 16;
/// Version byte and key id: sent in clear, authenticated as associated data.
pub(crate) const HEADER_LEN: usize = 1 + KEY_ID_LEN;
/// Session id and issued-at, before the encoded record in the plaintext.
pub(crate) const PAYLOAD_HEADER_LEN: usize = ID_BYTES + 8;
/// Bytes a sealed value adds to the encoded record before base64:
/// header, nonce, payload header, tag (73).
pub(crate) const OVERHEAD: usize = HEADER_LEN + NONCE_LEN + PAYLOAD_HEADER_LEN + TAG_LEN;

/// The longest cookie value this driver ever issues or reads. Longer input is
/// refused before it is decoded.
pub(crate) const MAX_VALUE_LEN: usize = 4096;

/// What a successfully opened value holds.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) id: SessionId,
    pub(crate) issued_at: Timestamp,
    pub(crate) record: Record,
    /// The value was opened with an old key, not the current one.
    pub(crate) old_key: bool,
}

/// Runs `f` with the associated data: the clear header, then the cookie
/// name. The header has a fixed length, so the concatenation is
/// unambiguous. Built on the stack for any name of up to
/// [`AAD_ON_STACK`] bytes less the header.
fn with_aad<R>(header: &[u8], cookie_name: &str, f: impl FnOnce(&[u8]) -> R) -> R {
    let len = header.len() + cookie_name.len();
    if len <= AAD_ON_STACK {
        let mut aad = [0u8; AAD_ON_STACK];
        aad[..header.len()].copy_from_slice(header);
        aad[header.len()..len].copy_from_slice(cookie_name.as_bytes());
        f(&aad[..len])
    } else {
        let mut aad = Vec::with_capacity(len);
        aad.extend_from_slice(header);
        aad.extend_from_slice(cookie_name.as_bytes());
        f(&aad)
    }
}

/// Room for the associated data of a cookie name of up to 59 bytes without
/// an allocation.
const AAD_ON_STACK: usize = 64;

/// Seals with a fresh random nonce from the operating system.
pub(crate) fn seal(
    key: &CookieKey,
    cookie_name: &str,
    id: &SessionId,
    issued_at: Timestamp,
    record: &Record,
) -> Result<String, DriverError> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(|_| DriverError::backend(super::KeyError::Random))?;
    seal_with_nonce(key, cookie_name, &nonce, id, issued_at, record)
}

/// Seals with the given nonce. Only [`seal`] (random nonce) and the fixed
/// test vector call this: reusing a nonce under one key breaks AES-GCM.
///
/// The value is built in one buffer: the clear header and nonce, then the
/// plaintext (id, issued-at, the record encoded in place), which is
/// encrypted where it lies, then the tag; and base64 of that buffer is the
/// only other allocation.
pub(crate) fn seal_with_nonce(
    key: &CookieKey,
    cookie_name: &str,
    nonce: &[u8; NONCE_LEN],
    id: &SessionId,
    issued_at: Timestamp,
    record: &Record,
) -> Result<String, DriverError> {
    const PLAINTEXT_AT: usize = HEADER_LEN + NONCE_LEN;
    let mut raw = Vec::with_capacity(OVERHEAD + ENCODED_GUESS);
    raw.push(VERSION);
    raw.extend_from_slice(key.id().as_bytes());
    raw.extend_from_slice(nonce);
    raw.extend_from_slice(&id_bytes(id));
    raw.extend_from_slice(&issued_at.as_secs().to_be_bytes());
    record.encode_into(&mut raw)?;

    let (head, plaintext) = raw.split_at_mut(PLAINTEXT_AT);
    let size = plaintext.len();
    let tag = with_aad(&head[..HEADER_LEN], cookie_name, |aad| {
        key.cipher().encrypt_inout_detached(
            &Nonce::<Aes256Gcm>::from(*nonce),
            aad,
            plaintext.into(),
        )
    })
    .map_err(|_| DriverError::TooLarge {
        // AES-GCM refuses only plaintexts over 64 GiB.
        size,
        limit: MAX_VALUE_LEN,
    })?;
    raw.extend_from_slice(&tag);
    Ok(base64_simd::URL_SAFE_NO_PAD.encode_to_string(&raw))
}

/// Opens a value sealed by [`seal`] for `cookie_name` with a key of `ring`.
/// The error is a reason fit for a log line; it never contains the value.
///
/// The value is decoded into one buffer and decrypted in place; the record
/// is read from there.
pub(crate) fn open(ring: &KeyRing, cookie_name: &str, value: &str) -> Result<Opened, &'static str> {
    if value.len() > MAX_VALUE_LEN {
        return Err("the session cookie is longer than any value this driver issues");
    }
    // A buffer of the value's own size (one on the stack would be sized for
    // the longest value, and zeroing 3 KB costs more than the allocation).
    let mut raw = base64_simd::URL_SAFE_NO_PAD
        .decode_to_vec(value)
        .map_err(|_| "the session cookie is not canonical URL-safe base64 without padding")?;
    if raw.len() < HEADER_LEN + NONCE_LEN + TAG_LEN {
        return Err("the session cookie is too short to be a sealed value");
    }
    if raw[0] != VERSION {
        return Err("the session cookie has an unknown format version");
    }
    let (header, rest) = raw.split_at_mut(HEADER_LEN);
    let (nonce, rest) = rest.split_at_mut(NONCE_LEN);
    let (sealed, tag) = rest.split_at_mut(rest.len() - TAG_LEN);
    let nonce = Nonce::<Aes256Gcm>::try_from(&*nonce)
        .map_err(|_| "the session cookie has a malformed nonce")?;
    let tag =
        Tag::<Aes256Gcm>::try_from(&*tag).map_err(|_| "the session cookie has a malformed tag")?;

    let mut matched = false;
    for (key, current) in ring.matching(&header[1..]) {
        matched = true;
        // On a wrong key or a forged value the buffer is left as it was
        // (the tag is checked before anything is decrypted), so the next
        // key of the same id sees the ciphertext.
        let opened = with_aad(header, cookie_name, |aad| {
            key.cipher()
                .decrypt_inout_detached(&nonce, aad, (&mut *sealed).into(), &tag)
        });
        if opened.is_ok() {
            return decode_payload(sealed, !current);
        }
    }
    if matched {
        Err("the session cookie failed authentication (tampered with, or sealed for another cookie name)")
    } else {
        Err("the session cookie was sealed with a key that is not in the key ring (retired or foreign)")
    }
}

fn decode_payload(plaintext: &[u8], old_key: bool) -> Result<Opened, &'static str> {
    const BAD: &str = "the session cookie's payload does not decode";
    if plaintext.len() < PAYLOAD_HEADER_LEN {
        return Err(BAD);
    }
    let (id, rest) = plaintext.split_at(ID_BYTES);
    let (issued_at, record) = rest.split_at(8);
    let id: [u8; ID_BYTES] = id.try_into().map_err(|_| BAD)?;
    let issued_at: [u8; 8] = issued_at.try_into().map_err(|_| BAD)?;
    let record = Record::decode(record).map_err(|_| BAD)?;
    Ok(Opened {
        id: SessionId::from_bytes(&id),
        issued_at: Timestamp::from_secs(u64::from_be_bytes(issued_at)),
        record,
        old_key,
    })
}

/// The 32 bytes an id's text stands for.
fn id_bytes(id: &SessionId) -> [u8; ID_BYTES] {
    let mut bytes = [0u8; ID_BYTES];
    // A `SessionId` is always the canonical encoding of exactly 32 bytes.
    let n = URL_SAFE_NO_PAD
        .decode_slice(id.as_str(), &mut bytes)
        .expect("a SessionId is valid base64");
    debug_assert_eq!(n, ID_BYTES);
    bytes
}
