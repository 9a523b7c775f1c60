//! The record a driver stores for one session.

mod binary;

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::DriverError;
use crate::session::{depth_within, MAX_VALUE_DEPTH};
use crate::time::Timestamp;

/// Room a buffer makes for an encoded record before it grows: a typical small
/// session (a few short keys and a flash message) fits.
pub(crate) const ENCODED_GUESS: usize = 256;

/// Everything stored for one session.
///
/// Drivers treat it as a unit: they store it (usually as the bytes from
/// [`Record::encode`]) and give it back from `load`. `version` is what makes
/// commits safe under parallel requests: a driver's `update` only replaces a
/// record whose stored version is the one the caller expects.
///
/// Two records are equal when these six fields are; the
/// [loaded bytes](Record::loaded_from) a driver may keep do not count.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Record {
    /// The session data, key to JSON value.
    #[serde(rename = "d", default)]
    pub data: Map<String, Value>,
    /// Flash messages written for the next request that uses the session.
    #[serde(rename = "f", default)]
    pub flash: Map<String, Value>,
    /// When the session was first stored.
    #[serde(rename = "c")]
    pub created_at: Timestamp,
    /// When a request last saved or touched the session.
    #[serde(rename = "a")]
    pub last_active: Timestamp,
    /// When the session expires; drivers never return a record past this.
    #[serde(rename = "e")]
    pub expires_at: Timestamp,
    /// Bumped by one on every save; the compare-and-set token.
    #[serde(rename = "v")]
    pub version: u64,
    /// What the driver loaded the record from, if it kept it.
    #[serde(skip)]
    pub(crate) loaded_from: Option<LoadedFrom>,
}

/// The stored bytes a record was read from, shared by its clones.
#[derive(Clone)]
pub(crate) struct LoadedFrom(Arc<Vec<u8>>);

/// The length only: the bytes are the session's data.
impl fmt::Debug for LoadedFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes", self.0.len())
    }
}

impl PartialEq for Record {
    fn eq(&self, other: &Self) -> bool {
        self.data == other.data
            && self.flash == other.flash
            && self.created_at == other.created_at
            && self.last_active == other.last_active
            && self.expires_at == other.expires_at
            && self.version == other.version
    }
}

impl Record {
    /// An empty record created at `now`, expiring at `expires_at`, version 0
    /// (not yet stored).
    pub fn new(now: Timestamp, expires_at: Timestamp) -> Self {
        Self {
            data: Map::new(),
            flash: Map::new(),
            created_at: now,
            last_active: now,
            expires_at,
            version: 0,
            loaded_from: None,
        }
    }

    /// Whether the record has expired at `now`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at <= now
    }

    /// What a regenerate leaves under the old id: no data, `version` one
    /// past `replaced`, and expired since the epoch, so that no clock, however
    /// far behind, reads it as live, and an update racing it answers
    /// [`Update::Gone`](crate::driver::Update::Gone) instead of reviving it.
    pub(crate) fn retired(replaced: u64, now: Timestamp) -> Self {
        let mut record = Self::new(now, Timestamp::from_secs(1));
        record.last_active = now;
        record.version = replaced.wrapping_add(1);
        record
    }

    /// Whether there is nothing worth storing: no data and no flash.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty() && self.flash.is_empty()
    }

    /// The record as the bytes the serializing drivers store (cookie, file,
    /// Redis, SQL): a compact binary format, versioned by its first byte.
    ///
    /// Strings are copied as they are and numbers keep their kind, so
    /// [`Record::decode`] gives back an equal record. Fails with
    /// [`DriverError::Encode`] for a value that nests arrays and objects more
    /// than 64 levels deep, which `Session::put` refuses anyway (a driver
    /// that fills `data` itself could build one): nothing is stored that
    /// could not be read back.
    ///
    /// ```
    /// use session_actix::driver::{Record, Timestamp};
    ///
    /// let mut record = Record::new(Timestamp::from_secs(10), Timestamp::from_secs(70));
    /// record.data.insert("user".into(), serde_json::json!({"id": 7, "name": "Zoë"}));
    /// let bytes = record.encode()?;
    /// assert_eq!(Record::decode(&bytes)?, record);
    /// # Ok::<(), session_actix::driver::DriverError>(())
    /// ```
    pub fn encode(&self) -> Result<Vec<u8>, DriverError> {
        let mut out = Vec::with_capacity(ENCODED_GUESS);
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Appends [`Record::encode`]'s bytes to `out`.
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), DriverError> {
        binary::encode_into(self, out).map_err(|binary::TooDeep| {
            DriverError::Encode(serde::ser::Error::custom(format_args!(
                "a value nests arrays and objects more than {MAX_VALUE_DEPTH} levels deep"
            )))
        })
    }

    /// Reads bytes written by [`Record::encode`], or by the JSON encoding
    /// of earlier releases (which starts with `{`): a stored session
    /// outlives an upgrade, and its next save stores it in the new form.
    /// Anything else, input nested past the depth `encode` allows included,
    /// is [`DriverError::Corrupt`].
    pub fn decode(bytes: &[u8]) -> Result<Self, DriverError> {
        match bytes.first() {
            Some(&binary::FORMAT) => binary::decode(bytes)
                .map_err(|reason| DriverError::Corrupt(serde::de::Error::custom(reason))),
            Some(b'{') => Self::decode_json(bytes),
            _ => Err(DriverError::Corrupt(serde::de::Error::custom(
                "not a stored record (unknown format)",
            ))),
        }
    }

    /// The JSON records of earlier releases.
    fn decode_json(bytes: &[u8]) -> Result<Self, DriverError> {
        let record: Self = serde_json::from_slice(bytes).map_err(DriverError::Corrupt)?;
        let within = |map: &Map<String, Value>| map.values().all(|v| depth_within(v, 0));
        if !(within(&record.data) && within(&record.flash)) {
            return Err(DriverError::Corrupt(serde::de::Error::custom(
                format_args!(
                    "a value nests arrays and objects more than {MAX_VALUE_DEPTH} levels deep"
                ),
            )));
        }
        Ok(record)
    }

    /// Keeps `stored`, the exact bytes this record was just read from, for
    /// a driver whose store compares whole values (the Redis driver's
    /// `SET … IFEQ`).
    ///
    /// The engine applies a request's changes to the record `load` gave it
    /// and hands that record to [`update`](crate::driver::SessionDriver::update),
    /// so the driver finds its bytes there again. They are a hint, never the
    /// truth: a record that was copied, rebuilt or stored since carries old
    /// bytes or none. Check them against `expected_version` and let the
    /// store compare them; a mismatch is an ordinary conflict. Clones share
    /// the bytes; [`Debug`] shows only their length.
    ///
    /// ```
    /// use session_actix::driver::{Record, Timestamp};
    ///
    /// let stored = br#"{"d":{},"f":{},"c":1,"a":1,"e":60,"v":3}"#.to_vec();
    /// let mut record = Record::decode(&stored)?;
    /// record.keep_loaded_from(stored);
    /// assert_eq!(record.version, 3);
    /// assert!(record.loaded_from().is_some_and(|b| b.starts_with(b"{")));
    /// // Not part of the record's value.
    /// assert_eq!(record, Record::decode(br#"{"d":{},"f":{},"c":1,"a":1,"e":60,"v":3}"#)?);
    /// # Ok::<(), session_actix::driver::DriverError>(())
    /// ```
    pub fn keep_loaded_from(&mut self, stored: Vec<u8>) {
        self.loaded_from = Some(LoadedFrom(Arc::new(stored)));
    }

    /// The bytes kept by [`Record::keep_loaded_from`], if any.
    pub fn loaded_from(&self) -> Option<&[u8]> {
        self.loaded_from.as_ref().map(|b| b.0.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn encode_decode_round_trip_keeps_nested_and_unicode_data() {
        let mut r = Record::new(Timestamp::from_secs(10), Timestamp::from_secs(100));
        r.data.insert("name".into(), json!("Zoë ✓ 日本"));
        r.data
            .insert("cart".into(), json!({"items": [1, 2, {"x": null}]}));
        r.flash.insert("notice".into(), json!("saved"));
        r.version = 3;
        let back = Record::decode(&r.encode().unwrap()).unwrap();
        assert_eq!(back, r);
    }

    /// Found by the `decode_record` fuzz target: without serde_json's
    /// `float_roundtrip` its parser may land one ulp off the number it
    /// printed, so a stored float read back as a different one.
    #[test]
    fn every_float_reads_back_bit_for_bit() {
        let mut r = Record::new(Timestamp::from_secs(10), Timestamp::from_secs(100));
        let floats = [
            1.777_777e32_f64,
            0.1,
            1.0 / 3.0,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
        ];
        r.data.insert("floats".into(), json!(floats));
        let back = Record::decode(&r.encode().unwrap()).unwrap();
        assert_eq!(back, r);
        let parsed: Record = Record::decode(
            br#"{"d":{"n":[177777700000000000000001154869891]},"f":{},"c":1,"a":1,"e":2,"v":1}"#,
        )
        .unwrap();
        assert_eq!(Record::decode(&parsed.encode().unwrap()).unwrap(), parsed);
    }

    /// Earlier releases stored JSON, which reads as it was; JSON nested
    /// deeper than the compact format allows (no session could store it) is
    /// refused, so whatever decodes can be stored again.
    #[test]
    fn json_of_earlier_releases_reads_and_is_held_to_the_same_depth() {
        let mut r = Record::new(Timestamp::from_secs(10), Timestamp::from_secs(100));
        r.data
            .insert("cart".into(), json!({"items": [1, 2.5, {"x": null}]}));
        r.version = 4;
        let json = serde_json::to_vec(&r).unwrap();
        assert_eq!(Record::decode(&json).unwrap(), r);
        assert_ne!(r.encode().unwrap()[0], b'{');

        let nested = |depth| (0..depth).fold(json!(1), |inner, _| json!([inner]));
        r.data.insert("deep".into(), nested(MAX_VALUE_DEPTH));
        assert!(Record::decode(&serde_json::to_vec(&r).unwrap()).is_ok());
        r.data.insert("deep".into(), nested(MAX_VALUE_DEPTH + 1));
        assert!(matches!(
            Record::decode(&serde_json::to_vec(&r).unwrap()),
            Err(DriverError::Corrupt(_))
        ));
        assert!(matches!(r.encode(), Err(DriverError::Encode(_))));
    }

    #[test]
    fn decode_rejects_garbage() {
        for garbage in [&b""[..], b"\x02", b"[1]", b" {}"] {
            assert!(matches!(
                Record::decode(garbage),
                Err(DriverError::Corrupt(_))
            ));
        }
        assert!(matches!(
            Record::decode(b"{\"d\":"),
            Err(DriverError::Corrupt(_))
        ));
    }
}
