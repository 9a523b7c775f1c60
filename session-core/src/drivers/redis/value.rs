//! The bytes stored under a session key, and the Lua scripts that read and
//! change them atomically.
//!
//! A value is a fixed-width header followed by [`Record::encode`]'s bytes:
//!
//! ```text
//! s1:<version, 20 digits>:<last_active, 20 digits>:<expires_at, 20 digits>\n<record>
//! ```
//!
//! The header lets the scripts compare versions and expiry with `GETRANGE`
//! and plain string functions, without decoding the record in Lua. `touch`
//! rewrites only the two times in the header with `SETRANGE`, so the header
//! is what counts: `load` takes `version`, `last_active` and `expires_at`
//! from it, over the copies inside the record.

use std::sync::LazyLock;

use redis::Script;

use crate::error::DriverError;
use crate::record::{Record, ENCODED_GUESS};
use crate::time::Timestamp;

/// The format tag at the start of every value.
const TAG: &[u8] = b"s1:";
/// Length of the header, newline included.
pub(super) const HEADER_LEN: usize = 66;
const VERSION: std::ops::Range<usize> = 3..23;
/// Where `last_active` sits; `touch` rewrites it and `expires_at` from here.
const LAST_ACTIVE: std::ops::Range<usize> = 24..44;
const EXPIRES_AT: std::ops::Range<usize> = 45..65;

/// Longest TTL handed to Redis (about 31,700 years). Redis refuses an expiry
/// whose absolute time overflows, and a saturated far-future `expires_at`
/// would otherwise do that.
const MAX_TTL_MS: u64 = 1_000_000_000_000_000;

/// How many decimal digits a header number takes: enough for `u64::MAX`.
const DIGITS: usize = 20;

/// Fixed-width decimal text of a number, as used in the header (zero
/// padded to [`DIGITS`]). Written by hand: `format!("{n:020}")` costs an
/// allocation and about ten times the instructions.
pub(super) fn digits(mut n: u64) -> [u8; DIGITS] {
    let mut out = [b'0'; DIGITS];
    for digit in out.iter_mut().rev() {
        // `n % 10` is below 10, so the cast keeps it whole.
        *digit = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out
}

/// The value stored for `record`.
pub(super) fn encode(record: &Record) -> Result<Vec<u8>, DriverError> {
    let mut out = Vec::with_capacity(HEADER_LEN + ENCODED_GUESS);
    out.extend_from_slice(TAG);
    out.extend_from_slice(&digits(record.version));
    out.push(b':');
    out.extend_from_slice(&digits(record.last_active.as_secs()));
    out.push(b':');
    out.extend_from_slice(&digits(record.expires_at.as_secs()));
    out.push(b'\n');
    debug_assert_eq!(out.len(), HEADER_LEN);
    // Written in place after the header: no separate buffer to copy.
    record.encode_into(&mut out)?;
    Ok(out)
}

/// Why a stored value could not be read. Carries no part of the value, so it
/// is safe to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Corrupt {
    /// The header is missing or malformed (not a value this driver wrote).
    Header,
    /// The bytes after the header do not decode as a record.
    Record,
}

impl std::fmt::Display for Corrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Corrupt::Header => f.write_str("the value does not start with this driver's header"),
            Corrupt::Record => f.write_str("the record after the header does not decode"),
        }
    }
}

/// The number written by [`digits`] at `range`; anything but decimal digits,
/// or a number past `u64::MAX`, is a corrupt header.
fn number(header: &[u8], range: std::ops::Range<usize>) -> Result<u64, Corrupt> {
    header[range].iter().try_fold(0u64, |n, &b| {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return Err(Corrupt::Header);
        }
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(digit)))
            .ok_or(Corrupt::Header)
    })
}

/// A value's header numbers.
struct Header {
    version: u64,
    last_active: u64,
    expires_at: u64,
}

impl Header {
    fn read(bytes: &[u8]) -> Result<Self, Corrupt> {
        if bytes.len() < HEADER_LEN
            || &bytes[..TAG.len()] != TAG
            || bytes[LAST_ACTIVE.start - 1] != b':'
            || bytes[EXPIRES_AT.start - 1] != b':'
            || bytes[HEADER_LEN - 1] != b'\n'
        {
            return Err(Corrupt::Header);
        }
        let header = &bytes[..HEADER_LEN];
        Ok(Self {
            version: number(header, VERSION)?,
            last_active: number(header, LAST_ACTIVE)?,
            expires_at: number(header, EXPIRES_AT)?,
        })
    }

    /// What the scripts' `live` says: expiring after `now`.
    fn is_live(&self, now: Timestamp) -> bool {
        self.expires_at > now.as_secs()
    }
}

/// Whether `bytes` is a value of this driver's holding a record that is live
/// at `now`, as the scripts judge it (the header only).
pub(super) fn is_live(bytes: &[u8], now: Timestamp) -> bool {
    Header::read(bytes).is_ok_and(|h| h.is_live(now))
}

/// Whether `bytes` holds a record at `version` that is live at `now`: the
/// case in which the update script would write, so a `SET … IFEQ bytes` may
/// stand in for it.
pub(super) fn is_live_at_version(bytes: &[u8], version: u64, now: Timestamp) -> bool {
    Header::read(bytes).is_ok_and(|h| h.version == version && h.is_live(now))
}

/// Reads a stored value. The header's version and times win over the JSON's.
pub(super) fn decode(bytes: &[u8]) -> Result<Record, Corrupt> {
    let Header {
        version,
        last_active,
        expires_at,
    } = Header::read(bytes)?;
    let mut record = Record::decode(&bytes[HEADER_LEN..]).map_err(|_| Corrupt::Record)?;
    record.version = version;
    record.last_active = Timestamp::from_secs(last_active);
    record.expires_at = Timestamp::from_secs(expires_at);
    Ok(record)
}

/// The `redis_value` fuzz target's way in: decodes `bytes` as a stored
/// value and, if that succeeds, checks that the record encodes and decodes
/// again to itself. Whether `bytes` decoded.
#[cfg(fuzzing)]
pub fn fuzz_decode(bytes: &[u8]) -> bool {
    let Ok(record) = decode(bytes) else {
        return false;
    };
    let again = encode(&record).expect("a decoded record encodes");
    assert_eq!(decode(&again).expect("and decodes again"), record);
    true
}

/// Milliseconds from `now` to `expires_at` for Redis' `PX` / `PEXPIRE`: at
/// least 1 (Redis refuses 0) and at most [`MAX_TTL_MS`].
///
/// The TTL is relative to the caller's `now` (the record's `last_active`),
/// not an absolute `PXAT`, so the driver works with any [`crate::driver::Clock`] and
/// a skew between the application's clock and Redis' does not shorten
/// sessions. `load` still checks `expires_at` itself, to the second.
pub(super) fn ttl_ms(now: Timestamp, expires_at: Timestamp) -> u64 {
    expires_at
        .since(now)
        .as_secs()
        .saturating_mul(1000)
        .clamp(1, MAX_TTL_MS)
}

/// Shared Lua prelude: reads the header of `KEYS[1]` and decides whether the
/// record is live at `now`. A missing key reads as `""`.
macro_rules! live_header_lua {
    () => {
        r#"
local head = redis.call('GETRANGE', KEYS[1], 0, 65)
local function live(now)
  if string.len(head) ~= 66 or string.sub(head, 1, 3) ~= 's1:' then
    return false
  end
  local expires = tonumber(string.sub(head, 46, 65))
  return expires ~= nil and expires > tonumber(now)
end
"#
    };
}

/// Compare-and-set.
///
/// `KEYS[1]` the session key; `ARGV[1]` the expected version (20 digits);
/// `ARGV[2]` now, in seconds; `ARGV[3]` the new value; `ARGV[4]` its TTL in
/// milliseconds.
///
/// Returns `0` when there is no live record (nothing is written), the whole
/// current value when its version differs (nothing is written), or `1` after
/// replacing the value together with its expiry.
const UPDATE_LUA: &str = concat!(
    live_header_lua!(),
    r#"
if not live(ARGV[2]) then
  return 0
end
if string.sub(head, 4, 23) ~= ARGV[1] then
  return redis.call('GET', KEYS[1])
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
return 1
"#
);

/// Extends a live record: rewrites `last_active` and `expires_at` in the
/// header (from byte 24, [`LAST_ACTIVE`]'s start) and sets the key's TTL, together.
///
/// `KEYS[1]` the session key; `ARGV[1]` the new `last_active` (20 digits,
/// also "now"); `ARGV[2]` the new `expires_at` (20 digits); `ARGV[3]` the TTL
/// in milliseconds. Returns `1` if touched, `0` if there was no live record.
const TOUCH_LUA: &str = concat!(
    live_header_lua!(),
    r#"
if not live(ARGV[1]) then
  return 0
end
redis.call('SETRANGE', KEYS[1], 24, ARGV[1] .. ':' .. ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"#
);

/// `create`'s slow path, run only when `SET NX` found the key taken: the key
/// may still hold a record that is expired by the caller's clock but not yet
/// by Redis' TTL (or a value this driver cannot read). Such a record is not
/// live, so it is replaced; a live one is left alone.
///
/// `KEYS[1]` the session key; `ARGV[1]` now, in seconds; `ARGV[2]` the new
/// value; `ARGV[3]` its TTL in milliseconds. Returns `1` if written, `0` if a
/// live record holds the id.
const CREATE_OVER_DEAD_LUA: &str = concat!(
    live_header_lua!(),
    r#"
if live(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"#
);

/// [`UPDATE_LUA`], with its SHA1 computed once.
pub(super) static UPDATE: LazyLock<Script> = LazyLock::new(|| Script::new(UPDATE_LUA));
/// [`TOUCH_LUA`], with its SHA1 computed once.
pub(super) static TOUCH: LazyLock<Script> = LazyLock::new(|| Script::new(TOUCH_LUA));
/// [`CREATE_OVER_DEAD_LUA`], with its SHA1 computed once.
pub(super) static CREATE_OVER_DEAD: LazyLock<Script> =
    LazyLock::new(|| Script::new(CREATE_OVER_DEAD_LUA));

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> Record {
        let mut r = Record::new(
            Timestamp::from_secs(1_700_000_000),
            Timestamp::from_secs(1_700_007_200),
        );
        r.version = 42;
        r.data
            .insert("user".into(), json!({"id": 7, "name": "Zoë"}));
        r
    }

    #[test]
    fn encode_then_decode_round_trips() {
        let r = record();
        let bytes = encode(&r).unwrap();
        assert_eq!(
            &bytes[..HEADER_LEN],
            b"s1:00000000000000000042:00000000001700000000:00000000001700007200\n"
        );
        assert_eq!(decode(&bytes).unwrap(), r);
    }

    #[test]
    fn the_header_wins_over_the_record() {
        let r = record();
        let mut bytes = encode(&r).unwrap();
        let patch = [&digits(1_700_000_100)[..], b":", &digits(1_700_009_000)].concat();
        let at = LAST_ACTIVE.start;
        bytes[at..at + patch.len()].copy_from_slice(&patch);
        let back = decode(&bytes).unwrap();
        assert_eq!(back.last_active, Timestamp::from_secs(1_700_000_100));
        assert_eq!(back.expires_at, Timestamp::from_secs(1_700_009_000));
        assert_eq!(back.data, r.data);
    }

    #[test]
    fn the_touch_script_writes_where_the_header_keeps_last_active() {
        assert!(TOUCH_LUA.contains(&format!("KEYS[1], {}, ARGV[1]", LAST_ACTIVE.start)));
        // The Lua string positions are 1-based and inclusive.
        assert!(UPDATE_LUA.contains(&format!(
            "string.sub(head, {}, {})",
            VERSION.start + 1,
            VERSION.end
        )));
        assert!(UPDATE_LUA.contains(&format!(
            "string.sub(head, {}, {})",
            EXPIRES_AT.start + 1,
            EXPIRES_AT.end
        )));
        assert!(UPDATE_LUA.contains(&format!("GETRANGE', KEYS[1], 0, {}", HEADER_LEN - 1)));
    }

    #[test]
    fn malformed_values_are_reported_without_their_content() {
        assert_eq!(decode(b""), Err(Corrupt::Header));
        assert_eq!(decode(b"{\"d\":{}}"), Err(Corrupt::Header));
        let mut bytes = encode(&record()).unwrap();
        bytes[5] = b'x';
        assert_eq!(decode(&bytes), Err(Corrupt::Header));
        let mut bytes = encode(&record()).unwrap();
        bytes.truncate(HEADER_LEN + 3);
        assert_eq!(decode(&bytes), Err(Corrupt::Record));
    }

    #[test]
    fn ttl_is_relative_and_clamped() {
        let t = Timestamp::from_secs;
        assert_eq!(ttl_ms(t(100), t(160)), 60_000);
        assert_eq!(ttl_ms(t(100), t(100)), 1);
        assert_eq!(ttl_ms(t(100), t(50)), 1);
        assert_eq!(ttl_ms(t(0), t(u64::MAX)), MAX_TTL_MS);
    }

    #[test]
    fn header_numbers_are_twenty_digits_and_refuse_overflow() {
        assert_eq!(&digits(0), b"00000000000000000000");
        assert_eq!(&digits(1_754_300_000), b"00000000001754300000");
        assert_eq!(&digits(u64::MAX), b"18446744073709551615");
        let header = b"18446744073709551616";
        assert_eq!(number(header, 0..20), Err(Corrupt::Header));
        assert_eq!(number(b"0000000000000000000a", 0..20), Err(Corrupt::Header));
        assert_eq!(number(b"0000000000000000000/", 0..20), Err(Corrupt::Header));
        assert_eq!(number(b"00000000000000000042", 0..20), Ok(42));
    }

    #[test]
    fn max_width_numbers_fit_the_header() {
        let mut r = record();
        r.version = u64::MAX;
        r.expires_at = Timestamp::from_secs(u64::MAX);
        let bytes = encode(&r).unwrap();
        assert_eq!(decode(&bytes).unwrap(), r);
    }
}
