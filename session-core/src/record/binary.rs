//! The compact record encoding every serializing driver stores (format 1).
//!
//! ```text
//! record  = 0x01 created_at last_active expires_at version map(data) map(flash)
//! map     = count (key value)*            key = string
//! value   = 0x00 null | 0x01 false | 0x02 true
//!         | 0x03 uint (a u64)  | 0x04 uint (a negative i64 n, as !n)
//!         | 0x05 f64 (8 bytes, little-endian)
//!         | 0x06 string | 0x07 count value* | 0x08 map
//! string  = length bytes (UTF-8)
//! count, length, uint, the times and version: LEB128 (7 bits a byte, low first)
//! ```
//!
//! Strings are copied as they are, without JSON's quoting and escaping,
//! and numbers keep their JSON kind (an integer stays an integer, `1.0`
//! stays a float), so a record reads back equal to what was stored. Arrays
//! and objects may nest [`MAX_VALUE_DEPTH`] deep inside a data or flash
//! entry, the limit `Session::put` enforces; the encoder refuses deeper
//! values and the decoder refuses deeper input, so the recursion of both is
//! bounded and whatever encodes, decodes.

use serde_json::{Map, Number, Value};

use super::Record;
use crate::session::MAX_VALUE_DEPTH;
use crate::time::Timestamp;

/// The first byte of a record in this format. Records in the JSON format of
/// earlier releases start with `{`.
pub(crate) const FORMAT: u8 = 0x01;

const NULL: u8 = 0x00;
const FALSE: u8 = 0x01;
const TRUE: u8 = 0x02;
const UINT: u8 = 0x03;
const NEG_INT: u8 = 0x04;
const FLOAT: u8 = 0x05;
const STRING: u8 = 0x06;
const ARRAY: u8 = 0x07;
const OBJECT: u8 = 0x08;

/// Why a record could not be encoded: a value nested past the limit.
#[derive(Debug)]
pub(crate) struct TooDeep;

/// Why bytes are not a record of this format. Carries none of the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Malformed {
    /// The input ends inside a record.
    Truncated,
    /// A tag, a number or a length that this format does not have.
    Invalid(&'static str),
    /// Arrays and objects nested past [`MAX_VALUE_DEPTH`].
    TooDeep,
    /// Bytes after the record.
    Trailing,
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Malformed::Truncated => f.write_str("the record ends early"),
            Malformed::Invalid(what) => write!(f, "the record holds an invalid {what}"),
            Malformed::TooDeep => write!(
                f,
                "the record nests values deeper than {MAX_VALUE_DEPTH} levels"
            ),
            Malformed::Trailing => f.write_str("bytes follow the record"),
        }
    }
}

fn uint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        // The low seven bits, with the high bit saying more follow.
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn string(out: &mut Vec<u8>, s: &str) {
    uint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn map(out: &mut Vec<u8>, map: &Map<String, Value>, depth: usize) -> Result<(), TooDeep> {
    uint(out, map.len() as u64);
    for (key, value) in map {
        string(out, key);
        self::value(out, value, depth)?;
    }
    Ok(())
}

/// `depth`: how many arrays and objects enclose `value` inside its entry.
fn value(out: &mut Vec<u8>, value: &Value, depth: usize) -> Result<(), TooDeep> {
    match value {
        Value::Null => out.push(NULL),
        Value::Bool(false) => out.push(FALSE),
        Value::Bool(true) => out.push(TRUE),
        Value::Number(n) => number(out, n),
        Value::String(s) => {
            out.push(STRING);
            string(out, s);
        }
        Value::Array(items) => {
            if depth >= MAX_VALUE_DEPTH {
                return Err(TooDeep);
            }
            out.push(ARRAY);
            uint(out, items.len() as u64);
            for item in items {
                self::value(out, item, depth + 1)?;
            }
        }
        Value::Object(entries) => {
            if depth >= MAX_VALUE_DEPTH {
                return Err(TooDeep);
            }
            out.push(OBJECT);
            map(out, entries, depth + 1)?;
        }
    }
    Ok(())
}

fn number(out: &mut Vec<u8>, n: &Number) {
    if let Some(u) = n.as_u64() {
        out.push(UINT);
        uint(out, u);
    } else if let Some(i) = n.as_i64() {
        // Negative (a non-negative one is a u64 above): !i is 0 for -1.
        out.push(NEG_INT);
        uint(out, !i as u64);
    } else {
        // Neither integer kind: a finite float (serde_json has no others).
        out.push(FLOAT);
        out.extend_from_slice(&n.as_f64().unwrap_or(0.0).to_le_bytes());
    }
}

/// Appends `record` in this format to `out`.
pub(crate) fn encode_into(record: &Record, out: &mut Vec<u8>) -> Result<(), TooDeep> {
    out.push(FORMAT);
    uint(out, record.created_at.as_secs());
    uint(out, record.last_active.as_secs());
    uint(out, record.expires_at.as_secs());
    uint(out, record.version);
    map(out, &record.data, 0)?;
    map(out, &record.flash, 0)
}

/// Reads a record in this format (its first byte is [`FORMAT`]).
pub(crate) fn decode(bytes: &[u8]) -> Result<Record, Malformed> {
    let mut input = Reader { rest: bytes };
    if input.byte()? != FORMAT {
        return Err(Malformed::Invalid("format byte"));
    }
    let created_at = Timestamp::from_secs(input.uint()?);
    let last_active = Timestamp::from_secs(input.uint()?);
    let expires_at = Timestamp::from_secs(input.uint()?);
    let version = input.uint()?;
    let data = input.map(0)?;
    let flash = input.map(0)?;
    if !input.rest.is_empty() {
        return Err(Malformed::Trailing);
    }
    let mut record = Record::new(created_at, expires_at);
    record.last_active = last_active;
    record.version = version;
    record.data = data;
    record.flash = flash;
    Ok(record)
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, Malformed> {
        let (&first, rest) = self.rest.split_first().ok_or(Malformed::Truncated)?;
        self.rest = rest;
        Ok(first)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        if n > self.rest.len() {
            return Err(Malformed::Truncated);
        }
        let (taken, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(taken)
    }

    fn uint(&mut self) -> Result<u64, Malformed> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            let bits = u64::from(b & 0x7f);
            // The tenth byte holds the top bit only.
            if shift == 63 && bits > 1 {
                return Err(Malformed::Invalid("number"));
            }
            n |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(Malformed::Invalid("number"))
    }

    /// A count or length, which cannot exceed the bytes left (every item
    /// takes at least one), so nothing is reserved for input that is not
    /// there.
    fn len(&mut self) -> Result<usize, Malformed> {
        let n = self.uint()?;
        match usize::try_from(n) {
            Ok(n) if n <= self.rest.len() => Ok(n),
            _ => Err(Malformed::Truncated),
        }
    }

    fn string(&mut self) -> Result<String, Malformed> {
        let len = self.len()?;
        let bytes = self.take(len)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_owned()),
            Err(_) => Err(Malformed::Invalid("string (not UTF-8)")),
        }
    }

    fn map(&mut self, depth: usize) -> Result<Map<String, Value>, Malformed> {
        let count = self.len()?;
        let mut pairs = Vec::with_capacity(count);
        for _ in 0..count {
            let key = self.string()?;
            pairs.push((key, self.value(depth)?));
        }
        // Written in key order: the map is built from sorted input at once.
        Ok(pairs.into_iter().collect())
    }

    fn value(&mut self, depth: usize) -> Result<Value, Malformed> {
        Ok(match self.byte()? {
            NULL => Value::Null,
            FALSE => Value::Bool(false),
            TRUE => Value::Bool(true),
            UINT => Value::Number(self.uint()?.into()),
            NEG_INT => {
                let n = self.uint()?;
                // !n fits an i64 and is negative exactly when n < 2^63.
                match i64::try_from(n) {
                    Ok(n) => Value::Number((!n).into()),
                    Err(_) => return Err(Malformed::Invalid("number")),
                }
            }
            FLOAT => {
                let bytes = self.take(8)?;
                let f = f64::from_le_bytes(bytes.try_into().expect("eight bytes"));
                match Number::from_f64(f) {
                    Some(n) => Value::Number(n),
                    None => return Err(Malformed::Invalid("number (not finite)")),
                }
            }
            STRING => Value::String(self.string()?),
            ARRAY | OBJECT if depth >= MAX_VALUE_DEPTH => return Err(Malformed::TooDeep),
            ARRAY => {
                let count = self.len()?;
                let mut items = Vec::with_capacity(count);
                for _ in 0..count {
                    items.push(self.value(depth + 1)?);
                }
                Value::Array(items)
            }
            OBJECT => Value::Object(self.map(depth + 1)?),
            _ => return Err(Malformed::Invalid("tag")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record_with(value: Value) -> Record {
        let mut r = Record::new(Timestamp::from_secs(1), Timestamp::from_secs(u64::MAX));
        r.last_active = Timestamp::from_secs(300);
        r.version = 1 << 40;
        r.data.insert("v".into(), value);
        r.flash.insert("notice".into(), json!("saved"));
        r
    }

    fn round_trip(value: Value) -> Value {
        let r = record_with(value);
        let mut bytes = Vec::new();
        encode_into(&r, &mut bytes).unwrap();
        let back = decode(&bytes).unwrap();
        assert_eq!(back, r);
        back.data["v"].clone()
    }

    /// `depth` arrays around a number.
    fn nested(depth: usize) -> Value {
        (0..depth).fold(json!(1), |inner, _| json!([inner]))
    }

    #[test]
    fn every_kind_of_value_reads_back_as_it_was() {
        for value in [
            json!(null),
            json!(false),
            json!(true),
            json!(0),
            json!(127),
            json!(128),
            json!(u64::MAX),
            json!(-1),
            json!(i64::MIN),
            json!(""),
            json!("Zoë ✓ 日本語 🍪 \"quoted\" \\ \n\u{0}"),
            json!([]),
            json!({}),
            json!({"b": [1, "two", {"c": null}], "a": {"": -3.5}}),
            nested(MAX_VALUE_DEPTH),
        ] {
            assert_eq!(round_trip(value.clone()), value);
        }
    }

    #[test]
    fn numbers_keep_their_kind_and_floats_their_bits() {
        assert!(round_trip(json!(1.0)).is_f64());
        assert!(round_trip(json!(1)).is_u64());
        assert!(round_trip(json!(-1)).is_i64());
        for f in [0.1, -0.0, 1.0 / 3.0, f64::MAX, f64::MIN_POSITIVE, 5e-324] {
            let back = round_trip(json!(f)).as_f64().unwrap();
            assert_eq!(back.to_bits(), f.to_bits(), "{f}");
        }
    }

    #[test]
    fn values_nested_past_the_limit_are_refused_both_ways() {
        let mut bytes = Vec::new();
        assert!(encode_into(&record_with(nested(MAX_VALUE_DEPTH + 1)), &mut bytes).is_err());
        let object = (0..=MAX_VALUE_DEPTH).fold(json!(1), |inner, _| json!({ "k": inner }));
        assert!(encode_into(&record_with(object), &mut Vec::new()).is_err());

        // Input nested one level deeper than an encoder would write.
        let mut deep = vec![FORMAT, 0, 0, 0, 0, 1, 1, b'v'];
        deep.extend(std::iter::repeat_n([ARRAY, 1], MAX_VALUE_DEPTH + 1).flatten());
        deep.extend([NULL, 0]);
        assert_eq!(decode(&deep).unwrap_err(), Malformed::TooDeep);
        // A million levels fail as fast, without deep recursion.
        let mut deeper = deep[..8].to_vec();
        deeper.extend(std::iter::repeat_n([ARRAY, 1], 1_000_000).flatten());
        assert_eq!(decode(&deeper).unwrap_err(), Malformed::TooDeep);
    }

    #[test]
    fn damaged_input_is_refused_and_never_panics() {
        let mut good = Vec::new();
        encode_into(&record_with(json!({"k": [1.5, "x", -2]})), &mut good).unwrap();
        for len in 0..good.len() {
            assert!(decode(&good[..len]).is_err(), "a prefix of {len} bytes");
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(decode(&trailing).unwrap_err(), Malformed::Trailing);

        let header = [FORMAT, 0, 0, 0, 0, 1, 1, b'v'];
        let with = |tail: &[u8]| [&header[..], tail, &[0]].concat();
        assert_eq!(
            decode(&with(&[0x09])).unwrap_err(),
            Malformed::Invalid("tag")
        );
        assert_eq!(
            decode(&with(&[STRING, 2, 0xc3, 0x28])).unwrap_err(),
            Malformed::Invalid("string (not UTF-8)")
        );
        let nan = f64::NAN.to_le_bytes();
        assert!(matches!(
            decode(&with(&[&[FLOAT][..], &nan].concat())),
            Err(Malformed::Invalid(_))
        ));
        // A number past u64 (eleven bytes, or a tenth byte over 1).
        let mut long = vec![UINT];
        long.extend([0xff; 10]);
        long.push(0x01);
        assert_eq!(
            decode(&with(&long)).unwrap_err(),
            Malformed::Invalid("number")
        );
        let mut over = vec![UINT];
        over.extend([0xff; 9]);
        over.push(0x02);
        assert_eq!(
            decode(&with(&over)).unwrap_err(),
            Malformed::Invalid("number")
        );
        // The largest u64 decodes; a negative number below i64::MIN does not.
        let mut max = vec![UINT];
        max.extend([0xff; 9]);
        max.push(0x01);
        assert_eq!(decode(&with(&max)).unwrap().data["v"], json!(u64::MAX));
        let mut neg = vec![NEG_INT];
        neg.extend([0xff; 8]);
        neg.push(0x80);
        neg.push(0x01);
        assert_eq!(
            decode(&with(&neg)).unwrap_err(),
            Malformed::Invalid("number")
        );
        // A count far past the input reserves nothing and fails.
        let huge = [&[ARRAY][..], &[0xff, 0xff, 0xff, 0xff, 0x0f]].concat();
        assert_eq!(decode(&with(&huge)).unwrap_err(), Malformed::Truncated);
        assert!(decode(&[0x02]).is_err());
    }

    /// The fuzz seed was written by hand (with Python) from the grammar in
    /// the module docs, so it checks the decoder against the description.
    #[test]
    fn the_hand_written_fuzz_seed_decodes_to_what_it_describes() {
        let seed = include_bytes!("../../fuzz/corpus/decode_record/seed-compact");
        let r = decode(seed).unwrap();
        let t = 1_754_300_000;
        assert_eq!(
            (r.created_at, r.last_active, r.expires_at, r.version),
            (
                Timestamp::from_secs(t),
                Timestamp::from_secs(t),
                Timestamp::from_secs(t + 7200),
                3
            )
        );
        let data = serde_json::to_value(&r.data).unwrap();
        assert_eq!(
            data,
            json!({
                "cart": [{"qty": 2, "sku": "A-1"}, -5],
                "name": "Zoë ✓",
                "none": null,
                "ok": true,
                "ratio": 0.25,
            })
        );
        assert_eq!(r.flash["notice"], json!("saved"));
        let mut again = Vec::new();
        encode_into(&r, &mut again).unwrap();
        assert_eq!(&again[..], &seed[..], "the encoder writes the same bytes");
    }

    #[test]
    fn a_typical_session_takes_under_70_percent_of_its_json() {
        let mut r = record_with(json!({"id": 7, "name": "Ada", "roles": ["admin"]}));
        r.data
            .insert("cart".into(), json!([{"sku": "A-1", "qty": 2}]));
        r.data.insert("theme".into(), json!("dark"));
        let mut bytes = Vec::new();
        encode_into(&r, &mut bytes).unwrap();
        let json = serde_json::to_vec(&r).unwrap();
        assert!(
            bytes.len() * 10 < json.len() * 7,
            "{} vs {}",
            bytes.len(),
            json.len()
        );
    }
}
