//! Feeds arbitrary input to the cookie driver's `read_cookie`: it must never
//! panic, and anything it accepts must be a live record that seals and opens
//! again unchanged.
#![no_main]

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use session_core::driver::{CookieRead, SessionDriver, Timestamp};
use session_core::{CookieDriver, CookieKey};

/// The same keys, name and time as the seed corpus (written by the ignored
/// test `write_fuzz_seed_corpus` in session-core's cookie driver tests).
const NAME: &str = "session";
const NOW: Timestamp = Timestamp::from_secs(1_700_000_000);

fn driver() -> &'static CookieDriver {
    static DRIVER: OnceLock<CookieDriver> = OnceLock::new();
    DRIVER.get_or_init(|| {
        let current = CookieKey::from_secret(&[0x42; 32]).expect("a valid key");
        let old = CookieKey::from_secret(&[0x24; 32]).expect("a valid key");
        CookieDriver::new(NAME, current).with_old_key(old)
    })
}

fn check(driver: &CookieDriver, read: CookieRead) {
    match read {
        CookieRead::Inline { id, record, .. } => {
            assert!(!record.is_expired(NOW), "an expired record was accepted");
            let again = driver
                .write_cookie(&id, &record)
                .expect("an accepted record reseals");
            match driver.read_cookie(&again, NOW) {
                CookieRead::Inline {
                    id: id2,
                    record: record2,
                    reseal,
                } => {
                    assert_eq!(id2, id);
                    assert_eq!(record2, record);
                    assert!(
                        !reseal,
                        "a value sealed with the current key asked for a reseal"
                    );
                }
                _ => panic!("a resealed value did not open"),
            }
        }
        CookieRead::Invalid(reason) => assert!(!reason.is_empty()),
        CookieRead::Reference(_) => panic!("the cookie driver never answers Reference"),
    }
}

fuzz_target!(|data: &[u8]| {
    let driver = driver();
    // The bytes as the cookie text itself ...
    let text = String::from_utf8_lossy(data);
    check(driver, driver.read_cookie(&text, NOW));
    // ... and as the decoded value, so the header, key lookup, AEAD and
    // payload checks see arbitrary bytes, not only whatever survives base64.
    check(
        driver,
        driver.read_cookie(&URL_SAFE_NO_PAD.encode(data), NOW),
    );
});
