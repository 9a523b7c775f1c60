//! Tests of the cookie driver: format, tampering, expiry, rotation, size.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::json;

use super::seal::{self, OVERHEAD};
use super::*;

use crate::test_fixtures::{at, T0};

const NAME: &str = "session";

fn key(byte: u8) -> CookieKey {
    CookieKey::from_secret(&[byte; 32]).unwrap()
}

fn driver() -> CookieDriver {
    CookieDriver::new(NAME, key(1))
}

/// A record saved at `T0`, expiring an hour later.
fn record() -> Record {
    crate::test_fixtures::record(T0, T0 + 3600)
}

fn rich_record() -> Record {
    let mut r = record();
    r.data.insert("name".into(), json!("Zoë ✓ 日本語 🍪"));
    r.data.insert(
        "cart".into(),
        json!({"items": [1, 2, {"sku": "a\"b;c=d", "qty": null}], "total": 12.5}),
    );
    r.data.insert("empty".into(), json!({}));
    r.data
        .insert("ключ".into(), json!([true, false, -1, u64::MAX]));
    r.flash.insert("notice".into(), json!("saved ✓"));
    r.version = 7;
    r
}

/// Asserts the value opens as this id and record, and returns `reseal`.
fn opens(driver: &CookieDriver, value: &str, now: u64, id: &SessionId, record: &Record) -> bool {
    match driver.read_cookie(value, at(now)) {
        CookieRead::Inline {
            id: got,
            record: r,
            reseal,
        } => {
            assert_eq!(&got, id);
            assert_eq!(&r, record);
            reseal
        }
        other => panic!("expected the value to open, got {other:?}"),
    }
}

fn invalid(driver: &CookieDriver, value: &str, now: u64) -> &'static str {
    match driver.read_cookie(value, at(now)) {
        CookieRead::Invalid(reason) => reason,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn fixed_test_vector() {
    // Everything fixed: key, nonce, id, times and data. If this test fails,
    // the wire format changed: bump the version byte, do not edit the vector.
    let (key, nonce, id, record) = vector_inputs();
    let value = seal::seal_with_nonce(&key, NAME, &nonce, &id, at(T0), &record).unwrap();
    // Cross-checked with an independent implementation: Python's
    // `cryptography` AESGCM opens it, over the layout in the module docs, to
    // the id, the issued-at and the record bytes written by hand from the
    // grammar in `record/binary.rs`.
    assert_eq!(
        value,
        "ASUNmHSgoaKjpKWmp6ipqqvhH3sqQswFuGVigNQAfcfZd6teF5WwRWubCSGBeKxyBtJ2R__KcaI9XhzmB6N8AxuIsUDY\
         nB-weEBfDyvXFfeznrxvmuRjuC8TtkpQiyHPnV_w"
    );

    // The layout, byte by byte.
    let raw = URL_SAFE_NO_PAD.decode(&value).unwrap();
    assert_eq!(raw[0], 1);
    assert_eq!(&raw[1..5], key.id().as_bytes());
    assert_eq!(&raw[5..17], &nonce);
    let record_len = record.encode().unwrap().len();
    assert_eq!(raw.len(), OVERHEAD + record_len);

    let driver = CookieDriver::new(NAME, key);
    assert!(!opens(&driver, &value, T0, &id, &record));
}

/// The test vector's key, nonce, id and record.
fn vector_inputs() -> (CookieKey, [u8; 12], SessionId, Record) {
    let key =
        CookieKey::from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
            .unwrap();
    let nonce: [u8; 12] = [
        0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab,
    ];
    let id = SessionId::from_bytes(&[7; 32]);
    let mut record = Record::new(at(T0), at(T0 + 3600));
    record.data.insert("user".into(), json!(42));
    record.version = 1;
    (key, nonce, id, record)
}

/// The test vector as the earlier releases sealed it, with the record as
/// JSON: it still opens, to the same record, and its next save is sealed
/// in the compact format.
#[test]
fn a_cookie_sealed_with_the_json_record_of_earlier_releases_still_opens() {
    const JSON_SEALED: &str = "ASUNmHSgoaKjpKWmp6ipqqvhH3sqQswFuGVigNQAfcfZd6teF5WwRWubCSGBeKxyBtJ2R__KcaI9JL5g6jMBoYw0fjRq\
         WOQoA218bXyeC_iclt-nVQGS1NDE0s8ov_7gmKwpkZXy8alK3kUOqoG2b_GtvhqcM56_q63tNmCpqpsKHmEcnuBd7Gfr\
         pyWUEeKH0MilwQ";
    let (key, _, id, record) = vector_inputs();
    let driver = CookieDriver::new(NAME, key);
    assert!(!opens(&driver, JSON_SEALED, T0, &id, &record));
    let json_len = URL_SAFE_NO_PAD.decode(JSON_SEALED).unwrap().len() - OVERHEAD;
    assert_eq!(json_len, serde_json::to_vec(&record).unwrap().len());

    let resealed = driver.write_cookie(&id, &record).unwrap();
    let raw = URL_SAFE_NO_PAD.decode(&resealed).unwrap();
    assert_eq!(raw.len(), OVERHEAD + record.encode().unwrap().len());
    assert!(raw.len() < OVERHEAD + json_len);
    assert!(!opens(&driver, &resealed, T0, &id, &record));
}

#[test]
fn round_trip_keeps_nested_and_unicode_data() {
    let d = driver();
    let id = SessionId::generate();
    let r = rich_record();
    let value = d.write_cookie(&id, &r).unwrap();
    assert!(value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    assert!(!opens(&d, &value, T0, &id, &r));
    // An empty record round-trips too.
    let empty = record();
    let value = d.write_cookie(&id, &empty).unwrap();
    opens(&d, &value, T0 + 1, &id, &empty);
}

#[test]
fn every_seal_uses_a_fresh_nonce() {
    let d = driver();
    let id = SessionId::generate();
    let a = d.write_cookie(&id, &record()).unwrap();
    let b = d.write_cookie(&id, &record()).unwrap();
    assert_ne!(a, b);
    let (ra, rb) = (
        URL_SAFE_NO_PAD.decode(&a).unwrap(),
        URL_SAFE_NO_PAD.decode(&b).unwrap(),
    );
    assert_eq!(ra[..5], rb[..5]);
    assert_ne!(ra[5..17], rb[5..17]);
}

#[test]
fn a_flipped_bit_anywhere_is_rejected() {
    let d = driver();
    let id = SessionId::from_bytes(&[3; 32]);
    let value = d.write_cookie(&id, &rich_record()).unwrap();
    let raw = URL_SAFE_NO_PAD.decode(&value).unwrap();
    // Every bit of every byte of the sealed bytes.
    for pos in 0..raw.len() {
        for bit in 0..8 {
            let mut bad = raw.clone();
            bad[pos] ^= 1 << bit;
            let bad = URL_SAFE_NO_PAD.encode(&bad);
            assert!(
                matches!(d.read_cookie(&bad, at(T0)), CookieRead::Invalid(_)),
                "flip of bit {bit} at byte {pos} was accepted"
            );
        }
    }
    // Every (ASCII-preserving) bit of every character of the text.
    let text = value.as_bytes();
    for pos in 0..text.len() {
        for bit in 0..7 {
            let mut bad = text.to_vec();
            bad[pos] ^= 1 << bit;
            let bad = String::from_utf8(bad).unwrap();
            assert!(
                matches!(d.read_cookie(&bad, at(T0)), CookieRead::Invalid(_)),
                "flip of bit {bit} at character {pos} was accepted"
            );
        }
    }
}

#[test]
fn malformed_values_are_rejected() {
    let d = driver();
    let id = SessionId::generate();
    let value = d.write_cookie(&id, &record()).unwrap();
    let raw = URL_SAFE_NO_PAD.decode(&value).unwrap();

    // Empty, and every truncation (of the text and of the bytes).
    invalid(&d, "", T0);
    for len in 0..value.len() {
        invalid(&d, &value[..len], T0);
    }
    for len in 0..raw.len() {
        invalid(&d, &URL_SAFE_NO_PAD.encode(&raw[..len]), T0);
    }
    // Extra bytes after the tag.
    let mut longer = raw.clone();
    longer.push(0);
    invalid(&d, &URL_SAFE_NO_PAD.encode(&longer), T0);
    // Padding, whether or not the length needs it.
    invalid(&d, &URL_SAFE.encode(&raw), T0);
    invalid(&d, &format!("{value}="), T0);
    invalid(&d, &format!("{value}=="), T0);
    // The standard alphabet, when the value has a character that differs.
    let mut with_symbol = raw.clone();
    with_symbol[20] = 0xfb; // encodes to '+' or '/' in the standard alphabet
    with_symbol[21] = 0xff;
    with_symbol[22] = 0xff;
    let standard = STANDARD_NO_PAD.encode(&with_symbol);
    assert!(standard.contains('+') || standard.contains('/'));
    invalid(&d, &standard, T0);
    invalid(&d, &STANDARD.encode(&raw), T0);
    // Characters no base64 has, whitespace, and a quoted value.
    invalid(&d, &format!("{}.{}", &value[..10], &value[11..]), T0);
    invalid(&d, &format!(" {value}"), T0);
    invalid(&d, &format!("\"{value}\""), T0);
    invalid(&d, &format!("{}é", &value[..value.len() - 1]), T0);
    // A session id is not a sealed value.
    invalid(&d, id.as_str(), T0);
    // Another format version.
    for version in [0u8, 2, 0xff] {
        let mut other = raw.clone();
        other[0] = version;
        assert_eq!(
            invalid(&d, &URL_SAFE_NO_PAD.encode(&other), T0),
            "the session cookie has an unknown format version"
        );
    }
    // Far too long.
    invalid(&d, &"A".repeat(5000), T0);
    invalid(&d, &"A".repeat(1 << 20), T0);
}

#[test]
fn a_value_sealed_for_another_cookie_name_is_rejected() {
    let id = SessionId::generate();
    let r = record();
    let remember = CookieDriver::new("remember", key(1));
    let value = remember.write_cookie(&id, &r).unwrap();
    opens(&remember, &value, T0, &id, &r);
    for name in [NAME, "Remember", "remember ", "rememberx", ""] {
        let d = CookieDriver::new(name, key(1));
        assert_eq!(
            invalid(&d, &value, T0),
            "the session cookie failed authentication (tampered with, or sealed for another cookie name)"
        );
    }
}

#[test]
fn expiry_inside_the_payload_is_enforced() {
    let d = driver();
    let id = SessionId::generate();
    let r = record(); // expires at T0 + 3600
    let value = d.write_cookie(&id, &r).unwrap();
    opens(&d, &value, T0, &id, &r);
    opens(&d, &value, T0 + 3599, &id, &r);
    assert_eq!(
        invalid(&d, &value, T0 + 3600),
        "the session cookie has expired"
    );
    invalid(&d, &value, T0 + 10 * 365 * 86_400);
    invalid(&d, &value, u64::MAX);
}

#[test]
fn future_dated_values_are_rejected_beyond_the_skew() {
    let d = driver();
    let id = SessionId::generate();
    let mut r = Record::new(at(T0 + 1000), at(T0 + 5000));
    r.version = 1;
    let value = d.write_cookie(&id, &r).unwrap(); // issued at T0 + 1000
    let skew = ISSUED_AT_SKEW.as_secs();
    opens(&d, &value, T0 + 1000 - skew, &id, &r);
    assert_eq!(
        invalid(&d, &value, T0 + 1000 - skew - 1),
        "the session cookie was issued in the future"
    );
    invalid(&d, &value, 0);
    // An issued-at that would overflow is future-dated, not a panic.
    let far = seal::seal_with_nonce(&key(1), NAME, &[9; 12], &id, at(u64::MAX), &r).unwrap();
    invalid(&d, &far, T0);
}

#[test]
fn rotation_opens_old_values_and_asks_for_a_reseal() {
    let id = SessionId::generate();
    let r = rich_record();
    let before = CookieDriver::new(NAME, key(1));
    let old_value = before.write_cookie(&id, &r).unwrap();

    let after = CookieDriver::new(NAME, key(2)).with_old_key(key(1));
    assert_ne!(before.current_key_id(), after.current_key_id());
    assert!(opens(&after, &old_value, T0, &id, &r), "reseal expected");

    // The re-sent cookie is sealed with the new key only.
    let new_value = after.write_cookie(&id, &r).unwrap();
    assert!(!opens(&after, &new_value, T0, &id, &r));
    let only_new = CookieDriver::new(NAME, key(2));
    assert!(!opens(&only_new, &new_value, T0, &id, &r));
    let raw = URL_SAFE_NO_PAD.decode(&new_value).unwrap();
    assert_eq!(&raw[1..5], key(2).id().as_bytes());

    // Several old keys: each opens its own values.
    let third = CookieDriver::new(NAME, key(3));
    let third_value = third.write_cookie(&id, &r).unwrap();
    let ring = CookieDriver::new(NAME, key(4)).with_old_keys([key(1), key(3), key(1)]);
    assert_eq!(ring.old_key_count(), 2);
    assert!(opens(&ring, &old_value, T0, &id, &r));
    assert!(opens(&ring, &third_value, T0, &id, &r));
}

#[test]
fn a_retired_key_gives_an_invalid_value() {
    let id = SessionId::generate();
    let old_value = CookieDriver::new(NAME, key(1))
        .write_cookie(&id, &record())
        .unwrap();
    let d = CookieDriver::new(NAME, key(2)).with_old_key(key(3));
    assert_eq!(
        invalid(&d, &old_value, T0),
        "the session cookie was sealed with a key that is not in the key ring (retired or foreign)"
    );
}

#[test]
fn a_value_naming_another_key_of_the_ring_is_refused() {
    // Sealed with key 1 but relabelled with key 2's id: the ring holds both,
    // opening tries only key 2, and fails.
    let id = SessionId::generate();
    let value = CookieDriver::new(NAME, key(1))
        .write_cookie(&id, &record())
        .unwrap();
    let mut raw = URL_SAFE_NO_PAD.decode(&value).unwrap();
    raw[1..5].copy_from_slice(key(2).id().as_bytes());
    let d = CookieDriver::new(NAME, key(2)).with_old_key(key(1));
    assert_eq!(
        invalid(&d, &URL_SAFE_NO_PAD.encode(&raw), T0),
        "the session cookie failed authentication (tampered with, or sealed for another cookie name)"
    );
}

#[test]
fn keys_sharing_an_id_are_all_tried() {
    let id = SessionId::generate();
    let r = record();
    let value = CookieDriver::new(NAME, key(1))
        .write_cookie(&id, &r)
        .unwrap();
    // The current key collides with the old key 1: opening tries the current
    // key first, fails, then opens with key 1 and asks for a reseal.
    let colliding = key(2).with_forged_id(key(1).id());
    let d = CookieDriver::new(NAME, colliding).with_old_key(key(1));
    assert!(opens(&d, &value, T0, &id, &r));
}

/// A record whose sealed value is exactly `value_len` characters long.
fn record_with_value_len(value_len: usize) -> Record {
    assert_ne!(value_len % 4, 1, "no byte length encodes to this");
    padded(value_len * 3 / 4 - OVERHEAD)
}

/// [`record`] with a `pad` string that makes it encode to exactly `len`
/// bytes (the string's length prefix grows with it, so it is found by
/// measuring).
fn padded(len: usize) -> Record {
    let mut r = record();
    let mut pad = len;
    loop {
        r.data.insert("pad".into(), json!("x".repeat(pad)));
        let encoded = r.encode().unwrap().len();
        if encoded == len {
            return r;
        }
        assert!(encoded > len, "no pad makes {len} bytes");
        pad -= (encoded - len).min(pad);
    }
}

#[test]
fn exactly_4096_bytes_are_accepted_and_4097_refused() {
    let id = SessionId::generate();
    // "session=" is 8 bytes, so a 4088-character value makes 4096.
    let r = record_with_value_len(4088);
    let d = driver();
    assert_eq!(d.max_record_len(), r.encode().unwrap().len());
    let value = d.write_cookie(&id, &r).unwrap();
    assert_eq!(value.len(), 4088);
    assert_eq!(NAME.len() + 1 + value.len(), 4096);
    opens(&d, &value, T0, &id, &r);

    // The same record under a name one byte longer makes 4097.
    let longer_name = CookieDriver::new("session_", key(1));
    match longer_name.write_cookie(&id, &r) {
        Err(DriverError::TooLarge { size, limit }) => {
            assert_eq!((size, limit), (4097, 4096));
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    // One more byte of data under the original name: 4088 + 2 characters.
    let mut bigger = r.clone();
    bigger.data.insert("z".into(), json!(null));
    assert!(matches!(
        d.write_cookie(&id, &bigger),
        Err(DriverError::TooLarge { limit: 4096, .. })
    ));
    // And the driver reads the largest value it issues.
    assert!(longer_name.max_record_len() < r.encode().unwrap().len());
}

#[test]
fn max_record_len_fits_and_one_more_byte_does_not() {
    let id = SessionId::generate();
    for name in ["s", "session", "__Host-session", "id"] {
        let d = CookieDriver::new(name, key(1));
        let max = d.max_record_len();
        let mut r = padded(max);
        let value = d.write_cookie(&id, &r).unwrap();
        assert!(name.len() + 1 + value.len() <= COOKIE_SIZE_LIMIT);
        let pad = r.data["pad"].as_str().unwrap().len();
        r.data.insert("pad".into(), json!("x".repeat(pad + 1)));
        assert!(
            matches!(d.write_cookie(&id, &r), Err(DriverError::TooLarge { .. })),
            "{name}"
        );
    }
    // The documented figure for "session".
    assert_eq!(driver().max_record_len(), 2993);
    assert!(record().encode().unwrap().len() < 75);
}

#[test]
fn no_panic_on_arbitrary_input() {
    let d = driver().with_old_key(key(9));
    let id = SessionId::generate();
    let good = URL_SAFE_NO_PAD
        .decode(d.write_cookie(&id, &record()).unwrap())
        .unwrap();
    // A small deterministic generator; no extra dependency.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..3000 {
        let len = (next() % 200) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if round % 3 == 0 {
            // Keep a valid header so the key lookup and AEAD paths run.
            let keep = bytes.len().min(17);
            bytes[..keep].copy_from_slice(&good[..keep]);
        }
        let as_text = String::from_utf8_lossy(&bytes);
        let _ = d.read_cookie(&as_text, at(T0));
        let _ = d.read_cookie(&URL_SAFE_NO_PAD.encode(&bytes), at(T0));
    }
    for edge in [
        "=", "==", "-", "_", "\0", "\u{feff}", "A", "AA", "AAA", "AAAA",
    ] {
        invalid(&d, edge, T0);
    }
}

#[test]
fn a_valid_payload_that_is_not_a_record_is_refused() {
    // Authentic, but not what the driver writes: shows the decode check
    // holds even for a value sealed with the right key.
    use aes_gcm::aead::{Aead, KeyInit, Nonce, Payload};
    use aes_gcm::Aes256Gcm;
    let k = key(1);
    let mut header = vec![1u8];
    header.extend_from_slice(k.id().as_bytes());
    let mut aad = header.clone();
    aad.extend_from_slice(NAME.as_bytes());
    let cipher = Aes256Gcm::new(&(*k.bytes()).into());
    for msg in [&b""[..], &[0u8; 39][..], &[0u8; 40][..], &[b'{'; 60][..]] {
        let nonce = [5u8; 12];
        let sealed = cipher
            .encrypt(&Nonce::<Aes256Gcm>::from(nonce), Payload { msg, aad: &aad })
            .unwrap();
        let mut raw = header.clone();
        raw.extend_from_slice(&nonce);
        raw.extend_from_slice(&sealed);
        let reason = invalid(&driver(), &URL_SAFE_NO_PAD.encode(&raw), T0);
        assert_eq!(reason, "the session cookie's payload does not decode");
    }
}

#[tokio::test]
async fn store_methods_are_no_ops_that_fit_the_trait() {
    let d = driver();
    let id = SessionId::generate();
    let r = record();
    assert!(d.load(&id, at(T0)).await.unwrap().is_none());
    d.create(&id, &r).await.unwrap();
    d.create(&id, &r).await.unwrap();
    assert!(matches!(
        d.update(&id, &r, 99).await.unwrap(),
        Update::Updated
    ));
    assert!(d.touch(&id, at(T0), at(T0 + 10)).await.unwrap());
    d.destroy(&id).await.unwrap();
    assert_eq!(d.name(), "cookie");
}

#[test]
fn debug_shows_no_key_and_no_value() {
    let k = key(1);
    let d = CookieDriver::new(NAME, k.clone()).with_old_key(key(2));
    let shown = format!("{d:?}");
    assert!(!shown.contains(&k.to_hex()));
    assert!(shown.contains("cookie_name: \"session\""));
    assert!(shown.contains("old_keys: 1"));
    assert!(shown.contains(&k.id().to_string()));
    let value = d.write_cookie(&SessionId::generate(), &record()).unwrap();
    let read = format!("{:?}", d.read_cookie(&value[..40], at(T0)));
    assert!(!read.contains(&value[..40]));
}

#[test]
fn the_lifecycle_loads_commits_and_reseals_through_the_cookie() {
    use crate::lifecycle::{self, CookieAction, Rejected};
    use crate::policy::ExpiryPolicy;

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let old = driver();
        let policy = ExpiryPolicy::default();
        let (session, rejected) = lifecycle::load(&old, None, policy, at(T0)).await.unwrap();
        assert!(rejected.is_none());
        session.writable().put("user", 42).unwrap();
        let action = lifecycle::commit(&session, &old, None, at(T0))
            .await
            .unwrap();
        let CookieAction::Set { value, .. } = action else {
            panic!("expected a cookie, got {action:?}");
        };

        // After a rotation, a request that changes nothing still re-sends
        // the cookie, sealed with the new key.
        let rotated = CookieDriver::new(NAME, key(2)).with_old_key(key(1));
        let (session, rejected) = lifecycle::load(&rotated, Some(&value), policy, at(T0 + 5))
            .await
            .unwrap();
        assert!(rejected.is_none());
        assert_eq!(session.writable().get::<i64>("user").unwrap(), Some(42));
        let action = lifecycle::commit(&session, &rotated, None, at(T0 + 5))
            .await
            .unwrap();
        let CookieAction::Set {
            value: resealed, ..
        } = action
        else {
            panic!("expected a resealed cookie, got {action:?}");
        };
        let only_new = CookieDriver::new(NAME, key(2));
        let (session, rejected) = lifecycle::load(&only_new, Some(&resealed), policy, at(T0 + 6))
            .await
            .unwrap();
        assert!(rejected.is_none());
        assert_eq!(session.get::<i64>("user").unwrap(), Some(42));

        // The old value under a ring without the old key: a fresh session.
        let (session, rejected) = lifecycle::load(&only_new, Some(&value), policy, at(T0 + 6))
            .await
            .unwrap();
        assert!(matches!(rejected, Some(Rejected::Invalid(_))));
        assert_eq!(session.get::<i64>("user").unwrap(), None);
    });
}

/// Writes the seed corpus of the `open_cookie` fuzz target, with the keys,
/// name and time that target uses. Run it after a format change:
/// `cargo test -p session-core --features cookie -- --ignored write_fuzz_seed_corpus`
#[test]
#[ignore = "writes files into session-core/fuzz/corpus"]
fn write_fuzz_seed_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/open_cookie");
    std::fs::create_dir_all(&dir).unwrap();
    let current = CookieDriver::new(NAME, CookieKey::from_secret(&[0x42; 32]).unwrap());
    let old = CookieDriver::new(NAME, CookieKey::from_secret(&[0x24; 32]).unwrap());
    let id = SessionId::from_bytes(&[0x5a; 32]);
    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).unwrap();

    let small = current.write_cookie(&id, &record()).unwrap();
    let rich = current.write_cookie(&id, &rich_record()).unwrap();
    let rotated = old.write_cookie(&id, &rich_record()).unwrap();
    write("seed-valid-small", small.as_bytes());
    write("seed-valid-rich", rich.as_bytes());
    write("seed-valid-old-key", rotated.as_bytes());
    // Decoded, for the target's second path (bytes re-encoded as base64).
    write(
        "seed-raw-valid-rich",
        &URL_SAFE_NO_PAD.decode(&rich).unwrap(),
    );
    write(
        "seed-raw-valid-old-key",
        &URL_SAFE_NO_PAD.decode(&rotated).unwrap(),
    );
    // Junk.
    write("seed-junk-empty", b"");
    write("seed-junk-padded", format!("{small}==").as_bytes());
    write("seed-junk-truncated", &small.as_bytes()[..small.len() / 2]);
    write("seed-junk-session-id", id.as_str().as_bytes());
    write("seed-junk-version-2", &{
        let mut raw = URL_SAFE_NO_PAD.decode(&small).unwrap();
        raw[0] = 2;
        raw
    });
    write(
        "seed-junk-bytes",
        &[0xff, 0x00, 0xfe, b'=', b';', b' ', 0xc3],
    );
}

/// The checks of the public conformance suite that apply to a driver whose
/// cookie carries the record.
#[cfg(feature = "conformance")]
#[tokio::test]
async fn cookie_driver_conforms_where_the_suite_applies() {
    crate::driver::conformance::run_client_side(|| async { driver() }).await;
}

/// "Sign out everywhere" with cookie sessions: the not-before time kept in
/// a server-side store signs out every session that signed in before it,
/// on its next request; a sign-in after it stays; anonymous sessions never
/// read the store.
#[tokio::test]
async fn revoke_all_signs_cookie_sessions_out_through_the_revocation_store() {
    use std::sync::Arc;

    use crate::driver::{ExpiryPolicy, ManualClock};
    use crate::lifecycle::{self, CookieAction};
    use crate::test_driver::{Forward, Op};
    use crate::Devices;

    let store = Arc::new(Forward::new(crate::MemoryDriver::new()));
    let cookie = Arc::new(driver().with_revocations(Arc::clone(&store) as _));
    let policy = ExpiryPolicy::default();
    let clock = Arc::new(ManualClock::new(at(T0)));
    let devices = Devices::new(Arc::clone(&cookie) as _, policy, Arc::clone(&clock) as _);
    let d = &*cookie;

    let sign_in = |now| async move {
        let (s, _) = lifecycle::load(d, None, policy, now).await.unwrap();
        s.writable().login("ada").unwrap();
        match lifecycle::commit(&s, d, None, now).await.unwrap() {
            CookieAction::Set { value, .. } => value,
            other => panic!("a sign-in sets the cookie, not {other:?}"),
        }
    };
    let user = |value: String, now| async move {
        let (s, _) = lifecycle::load(d, Some(&value), policy, now).await.unwrap();
        s.user_id()
    };

    let (anonymous, _) = lifecycle::load(d, None, policy, at(T0)).await.unwrap();
    anonymous.writable().put("cart", 1).unwrap();
    let CookieAction::Set { value: guest, .. } = lifecycle::commit(&anonymous, d, None, at(T0))
        .await
        .unwrap()
    else {
        panic!("a new session sets its cookie");
    };
    lifecycle::load(d, Some(&guest), policy, at(T0))
        .await
        .unwrap();
    assert_eq!(
        store.calls(Op::Load),
        0,
        "anonymous sessions never read the store"
    );

    let phone = sign_in(at(T0)).await;
    let laptop = sign_in(at(T0)).await;
    assert_eq!(
        user(phone.clone(), at(T0 + 5)).await.as_deref(),
        Some("ada")
    );
    assert!(matches!(
        devices.list("ada").await,
        Err(crate::SessionError::NotIndexed { driver: "cookie" })
    ));

    clock.set(at(T0 + 10));
    assert_eq!(devices.revoke_all("ada").await.unwrap(), 0);
    let again = sign_in(at(T0 + 10)).await;
    for value in [phone, laptop] {
        assert_eq!(
            user(value, at(T0 + 11)).await,
            None,
            "signed in before: out"
        );
    }
    assert_eq!(
        user(again, at(T0 + 11)).await.as_deref(),
        Some("ada"),
        "a sign-in in the same second as the revoke, after it, stays"
    );
}
