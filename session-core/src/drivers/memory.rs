//! The in-process memory driver, the default.
//!
//! One store is shared by every clone of [`MemoryDriver`], so create it once,
//! outside `HttpServer::new`, and move a clone into each worker's `App`. Data
//! lives only as long as the process: a restart logs everyone out. For more
//! than one process, use a shared store such as Redis or SQL.
//!
//! # The stored form
//!
//! The driver does not keep the [`Record`] it is given. A record's `data` and
//! `flash` are `serde_json::Map`s, that is `BTreeMap`s, and a `BTreeMap`
//! allocates a whole leaf node, room for eleven entries (about 630 bytes), as
//! soon as it holds one: a typical small session (four short data keys and
//! one flash message) cost 1,686 heap bytes as a `Record`, three quarters of
//! it in two mostly empty leaves. So each session is kept as a
//! `CompactRecord`: the three times and the version, and one boxed slice of
//! `(Box<str>, Value)` pairs, the data entries then the flash entries, each
//! part in key order (the order the maps iterate in). A pair is 48 bytes
//! and the slice has exactly as many as the session holds, so that session
//! takes about 550 heap bytes in all, the hash map slot and the expiry index
//! included (`cargo run --release -p session-bench --bin memory-footprint`;
//! `bench/tests/footprint.rs` fails above 1,000).
//!
//! `load` builds a `Record` from it, with the allocations and copies a clone
//! of a stored `Record` made (a leaf per non-empty map, each key, each string
//! value), but a map is filled by `insert`, which searches the leaf and
//! compares keys where a clone only pushes: about 150 instructions more per
//! entry, 750 for that session's load. The cheaper id hash (`IdHashing`)
//! pays for half of that; a session of one key, like the benchmark
//! testbed's, reads for fewer instructions than before (docs/performance.md
//! has the figures). Building a map in bulk (`FromIterator`) costs more for
//! a few entries (it first collects and sorts a vector of its own), so it is
//! used only above `INSERT_UP_TO` entries, where inserting in key order
//! would compare each new key with a whole leaf. An encoded form (the
//! record's JSON, 185 bytes for that session) would be smaller still, but
//! every `load` would parse it, about 3,400 instructions; values keep their
//! `serde_json::Value` shape for the same reason, so a nested object still
//! costs a `BTreeMap` of its own. `touch` changes the stored times in place.

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::driver::{DriverSettings, SessionDriver, SettingsError, Update};
use crate::error::DriverError;
use crate::id::SessionId;
use crate::record::Record;
use crate::time::Timestamp;

/// Independent locks, so workers rarely wait on each other.
const SHARDS: usize = 16;
/// Expired entries removed per write, so eviction costs a bounded amount of
/// work per request instead of a scan of the whole map.
const EVICT_PER_WRITE: usize = 8;
/// Up to this many entries, `load` builds a map by inserting the entries one
/// by one (in key order, each compared with the ones before it); above, in
/// bulk, which sorts and deduplicates a vector first: linear, but with an
/// allocation of its own.
const INSERT_UP_TO: usize = 8;

/// One pair of a session's data or flash, as stored.
type Pair = (Box<str>, Value);

/// A [`Record`] as this driver keeps it (see the module docs).
struct CompactRecord {
    created_at: Timestamp,
    last_active: Timestamp,
    expires_at: Timestamp,
    version: u64,
    /// The data pairs, then the flash pairs, each part in key order.
    pairs: Box<[Pair]>,
    /// How many of `pairs` are data; the rest are flash.
    data_len: usize,
}

impl CompactRecord {
    fn new(record: &Record) -> Self {
        let mut pairs = Vec::with_capacity(record.data.len() + record.flash.len());
        pairs.extend(
            record
                .data
                .iter()
                .chain(&record.flash)
                .map(|(key, value)| (Box::from(key.as_str()), value.clone())),
        );
        Self {
            created_at: record.created_at,
            last_active: record.last_active,
            expires_at: record.expires_at,
            version: record.version,
            // Exactly as many as reserved, so this does not reallocate.
            pairs: pairs.into_boxed_slice(),
            data_len: record.data.len(),
        }
    }

    fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at <= now
    }

    fn to_record(&self) -> Record {
        let (data, flash) = self.pairs.split_at(self.data_len);
        Record {
            data: to_map(data),
            flash: to_map(flash),
            created_at: self.created_at,
            last_active: self.last_active,
            expires_at: self.expires_at,
            version: self.version,
            loaded_from: None,
        }
    }
}

/// The map of `pairs`, which are in key order with no key twice.
#[inline]
fn to_map(pairs: &[Pair]) -> Map<String, Value> {
    if pairs.len() > INSERT_UP_TO {
        return pairs
            .iter()
            .map(|(key, value)| (String::from(&**key), value.clone()))
            .collect();
    }
    let mut map = Map::new();
    for (key, value) in pairs {
        map.insert(String::from(&**key), value.clone());
    }
    map
}

/// Builds the [`IdHasher`]s of one shard's map, all with the same random key.
///
/// std's default, SipHash-1-3 with a random key, costs about 200
/// instructions for a 43-byte id, once on every `load` and two or three
/// times on a write; this costs about 20. Flooding a hash map needs keys
/// that collide, and this map's keys are not chosen by clients: an id is
/// stored only by `create`, which the engine calls with ids it drew from
/// the operating system (256 random bits; strict mode never adopts an id a
/// client sent). A client's id is only ever looked up, which costs one probe
/// sequence of a table of random keys whatever that id hashes to. So a fast
/// keyed mix is enough; the random key is kept anyway, so that a program
/// that does `create` ids of its own choosing gets no fixed hash function.
#[derive(Clone)]
struct IdHashing {
    key: u64,
}

impl Default for IdHashing {
    fn default() -> Self {
        // 64 bits from std's per-process random hash keys.
        Self {
            key: std::collections::hash_map::RandomState::new().hash_one(0x5e55_1011_u64) | 1,
        }
    }
}

impl BuildHasher for IdHashing {
    type Hasher = IdHasher;

    fn build_hasher(&self) -> IdHasher {
        IdHasher { state: self.key }
    }
}

/// A multiply-and-fold hash over 8-byte words, for session ids (see
/// [`IdHashing`]).
struct IdHasher {
    state: u64,
}

/// The 128-bit product of `a` and `b`, its halves xored: a cheap mix in
/// which every input bit reaches the output's high and low bits.
fn fold(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

/// An odd 64-bit constant with no pattern in its bits (from the digits of
/// pi), for `fold`.
const MIX: u64 = 0x243f_6a88_85a3_08d3;

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let word = u64::from_le_bytes(word.try_into().expect("8 bytes"));
            self.state = fold(self.state ^ word, MIX);
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.state = fold(self.state ^ u64::from_le_bytes(last), MIX);
        }
    }

    fn write_usize(&mut self, n: usize) {
        // The length `Hash` writes before an id's bytes: always the same.
        self.state ^= n as u64;
    }

    fn finish(&self) -> u64 {
        fold(self.state, MIX)
    }
}

/// The shard for `id`: the 6-bit value of its first character, modulo the
/// number of shards, so that each shard gets an equal share of random ids (4
/// of the 64 values each). The character's byte itself would not: ASCII
/// codes modulo 16 give 9 shards 5 of the 64 characters and 3 shards 2.
fn shard_of(id: &SessionId) -> usize {
    usize::from(id.first_sextet()) % SHARDS
}

#[derive(Default)]
struct Shard {
    records: HashMap<SessionId, CompactRecord, IdHashing>,
    /// (expires_at, id) for every record: the oldest come first.
    by_expiry: BTreeSet<(Timestamp, SessionId)>,
}

impl Shard {
    fn insert(&mut self, id: &SessionId, record: CompactRecord) {
        match self.records.get_mut(id) {
            // Replaced in place; the expiry index moves only if the expiry
            // did (timestamps are whole seconds, so a burst of writes to one
            // session leaves it alone).
            Some(slot) => {
                if slot.expires_at != record.expires_at {
                    self.by_expiry.remove(&(slot.expires_at, id.clone()));
                    self.by_expiry.insert((record.expires_at, id.clone()));
                }
                *slot = record;
            }
            None => {
                self.by_expiry.insert((record.expires_at, id.clone()));
                self.records.insert(id.clone(), record);
            }
        }
    }

    /// Moves the times of the record under `id` if it is live at
    /// `last_active`; `false` if it is not.
    fn touch(&mut self, id: &SessionId, last_active: Timestamp, expires_at: Timestamp) -> bool {
        let Some(slot) = self
            .records
            .get_mut(id)
            .filter(|r| !r.is_expired(last_active))
        else {
            return false;
        };
        if slot.expires_at != expires_at {
            self.by_expiry.remove(&(slot.expires_at, id.clone()));
            self.by_expiry.insert((expires_at, id.clone()));
        }
        slot.last_active = last_active;
        slot.expires_at = expires_at;
        true
    }

    fn remove(&mut self, id: &SessionId) {
        if let Some(old) = self.records.remove(id) {
            self.by_expiry.remove(&(old.expires_at, id.clone()));
        }
    }

    fn live(&self, id: &SessionId, now: Timestamp) -> Option<&CompactRecord> {
        self.records.get(id).filter(|r| !r.is_expired(now))
    }

    /// Drops the live session that expires soonest (with the idle timeout,
    /// the one used least recently), to make room.
    fn evict_soonest(&mut self) -> bool {
        match self.by_expiry.pop_first() {
            Some((_, id)) => {
                self.records.remove(&id);
                true
            }
            None => false,
        }
    }

    fn evict(&mut self, now: Timestamp, max: usize) {
        for _ in 0..max {
            match self.by_expiry.first() {
                Some((at, _)) if *at <= now => {
                    let (_, id) = self.by_expiry.pop_first().expect("first exists");
                    self.records.remove(&id);
                }
                _ => break,
            }
        }
    }
}

/// Sessions kept in a map in this process.
///
/// Cloning is cheap and every clone shares the same sessions. Locks are plain
/// mutexes held only for a map operation, never across an `.await`. Expired
/// records are never returned, and are removed a few at a time on every write
/// (oldest first), or all at once by [`MemoryDriver::cleanup`].
///
/// ```
/// use session_actix::MemoryDriver;
///
/// let driver = MemoryDriver::new();
/// let for_another_worker = driver.clone(); // same sessions
/// assert_eq!(driver.len(), for_another_worker.len());
/// ```
///
/// By default the store grows with the number of live sessions. Anything
/// that gives an anonymous visitor a session (a login form with a CSRF
/// token, a cart) lets a client create sessions as fast as it sends
/// requests, so give a public app a bound with
/// [`with_capacity`](MemoryDriver::with_capacity).
#[derive(Clone, Default)]
pub struct MemoryDriver {
    shards: Arc<[Mutex<Shard>; SHARDS]>,
    /// The most sessions each shard keeps; `None`: no bound.
    shard_capacity: Option<usize>,
    evictions: Arc<AtomicU64>,
}

impl std::fmt::Debug for MemoryDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryDriver")
            .field("sessions", &self.len())
            .field("capacity", &self.shard_capacity.map(|c| c * SHARDS))
            .finish()
    }
}

impl MemoryDriver {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store that keeps at most about `sessions` live sessions.
    /// When a new session would go over, the one that expires soonest (with
    /// the idle timeout: the one used least recently) is dropped to make
    /// room, with a warning (the first time, then every 10,000th) and, with
    /// the `metrics` feature, the counter `session_memory_evictions_total`.
    /// Its user starts a fresh session on their next request.
    ///
    /// The bound holds per shard (the store has 16, chosen by the id), so
    /// the store holds at most `sessions` rounded up to a multiple of 16.
    /// A typical small session (four short keys and a flash message) takes
    /// about 550 bytes of heap, 800 of resident memory, so 100,000 sessions
    /// fit in about 80 MB.
    ///
    /// ```
    /// use session_actix::MemoryDriver;
    ///
    /// let driver = MemoryDriver::with_capacity(100_000);
    /// # let _ = driver;
    /// ```
    ///
    /// # Panics
    ///
    /// If `sessions` is zero.
    pub fn with_capacity(sessions: usize) -> Self {
        assert!(
            sessions > 0,
            "a memory driver needs room for at least one session"
        );
        Self {
            shard_capacity: Some(sessions.div_ceil(SHARDS)),
            ..Self::default()
        }
    }

    /// The driver the settings describe: the option `capacity`
    /// (`SESSION_CAPACITY`), a whole number of sessions, sets
    /// [`with_capacity`](Self::with_capacity); without it the store is
    /// unbounded.
    ///
    /// ```
    /// use session_actix::driver::DriverSettings;
    /// use session_actix::MemoryDriver;
    ///
    /// let settings: DriverSettings = serde_json::from_str(r#"{"capacity": 50000}"#).unwrap();
    /// let driver = MemoryDriver::from_settings(&settings).unwrap();
    /// # let _ = driver;
    /// ```
    pub fn from_settings(settings: &DriverSettings) -> Result<Self, SettingsError> {
        let Some(value) = settings.options.get("capacity") else {
            return Ok(Self::new());
        };
        let capacity = match value {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(text) => text.trim().parse().ok(),
            _ => None,
        };
        match capacity.and_then(|c| usize::try_from(c).ok()) {
            Some(c) if c > 0 => Ok(Self::with_capacity(c)),
            _ => Err(SettingsError::Invalid {
                setting: settings.setting_name("capacity"),
                reason: "a whole number of sessions, at least 1".into(),
            }),
        }
    }

    /// How many sessions were dropped to keep within the capacity.
    ///
    /// ```
    /// use session_actix::MemoryDriver;
    ///
    /// assert_eq!(MemoryDriver::with_capacity(1_000).evictions(), 0);
    /// ```
    pub fn evictions(&self) -> u64 {
        self.evictions.load(Ordering::Relaxed)
    }

    /// Makes room for one more session in `shard` if it is at capacity.
    fn make_room(&self, shard: &mut Shard) {
        let Some(capacity) = self.shard_capacity else {
            return;
        };
        while shard.records.len() >= capacity && shard.evict_soonest() {
            let n = self.evictions.fetch_add(1, Ordering::Relaxed) + 1;
            crate::telemetry::memory_eviction();
            if n == 1 || n.is_multiple_of(10_000) {
                tracing::warn!(
                    evictions = n,
                    "the memory driver is at capacity; dropping the sessions that expire soonest (raise with_capacity, or use a shared store)"
                );
            }
        }
    }

    fn shard(&self, id: &SessionId) -> MutexGuard<'_, Shard> {
        // A panic elsewhere while holding the lock cannot leave a shard
        // half-updated (each operation is a few map calls), so keep serving.
        self.shards[shard_of(id)]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Number of records held, expired ones not yet evicted included.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).records.len())
            .sum()
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every record expired at `now`; returns how many.
    pub fn cleanup(&self, now: Timestamp) -> usize {
        let mut removed = 0;
        for shard in self.shards.iter() {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            let before = shard.records.len();
            shard.evict(now, usize::MAX);
            removed += before - shard.records.len();
        }
        removed
    }
}

#[async_trait]
impl SessionDriver for MemoryDriver {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn load(&self, id: &SessionId, now: Timestamp) -> Result<Option<Record>, DriverError> {
        Ok(self.shard(id).live(id, now).map(CompactRecord::to_record))
    }

    async fn create(&self, id: &SessionId, record: &Record) -> Result<(), DriverError> {
        let now = record.last_active;
        let mut shard = self.shard(id);
        shard.evict(now, EVICT_PER_WRITE);
        if shard.live(id, now).is_some() {
            return Err(DriverError::AlreadyExists);
        }
        // A new id (an expired record under it is replaced in place).
        if !shard.records.contains_key(id) {
            self.make_room(&mut shard);
        }
        shard.insert(id, CompactRecord::new(record));
        Ok(())
    }

    async fn update(
        &self,
        id: &SessionId,
        record: &Record,
        expected_version: u64,
    ) -> Result<Update, DriverError> {
        let now = record.last_active;
        let mut shard = self.shard(id);
        shard.evict(now, EVICT_PER_WRITE);
        match shard.live(id, now) {
            None => Ok(Update::Gone),
            Some(current) if current.version != expected_version => {
                Ok(Update::Conflict(Some(current.to_record())))
            }
            Some(_) => {
                shard.insert(id, CompactRecord::new(record));
                Ok(Update::Updated)
            }
        }
    }

    async fn touch(
        &self,
        id: &SessionId,
        last_active: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool, DriverError> {
        Ok(self.shard(id).touch(id, last_active, expires_at))
    }

    async fn destroy(&self, id: &SessionId) -> Result<(), DriverError> {
        self.shard(id).remove(id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(now: u64, exp: u64) -> Record {
        Record::new(Timestamp::from_secs(now), Timestamp::from_secs(exp))
    }

    /// A flood of anonymous sessions: a million creates leave the store at
    /// its capacity, having dropped the sessions that expire soonest.
    #[tokio::test]
    async fn a_million_new_sessions_stay_within_the_capacity() {
        let d = MemoryDriver::with_capacity(10_000);
        let mut first = None;
        let mut last = None;
        for i in 0..1_000_000u64 {
            let id = SessionId::generate();
            // One new session per millisecond-ish: later ones expire later.
            d.create(&id, &rec(1_000 + i / 1_000, 10_000 + i / 100))
                .await
                .unwrap();
            first.get_or_insert(id.clone());
            last = Some(id);
        }
        assert!(d.len() <= 10_000, "{} sessions held", d.len());
        assert!(
            d.len() >= 10_000 - SHARDS,
            "the capacity is used: {}",
            d.len()
        );
        assert_eq!(d.evictions(), 1_000_000 - d.len() as u64);
        let now = Timestamp::from_secs(2_000);
        assert!(
            d.load(&first.unwrap(), now).await.unwrap().is_none(),
            "the oldest went"
        );
        assert!(
            d.load(&last.unwrap(), now).await.unwrap().is_some(),
            "the newest stays"
        );
        // Without a capacity nothing is dropped.
        let unbounded = MemoryDriver::new();
        for _ in 0..1_000 {
            unbounded
                .create(&SessionId::generate(), &rec(1, 100))
                .await
                .unwrap();
        }
        assert_eq!((unbounded.len(), unbounded.evictions()), (1_000, 0));
    }

    #[tokio::test]
    async fn expired_records_are_not_returned_and_are_evicted_on_writes() {
        let d = MemoryDriver::new();
        let old = SessionId::from_bytes(&[1; 32]);
        d.create(&old, &rec(0, 10)).await.unwrap();
        assert!(d
            .load(&old, Timestamp::from_secs(9))
            .await
            .unwrap()
            .is_some());
        assert!(d
            .load(&old, Timestamp::from_secs(10))
            .await
            .unwrap()
            .is_none());
        assert_eq!(
            d.len(),
            1,
            "expired but not evicted yet: nothing wrote since"
        );
        // A write of another session in the same shard (shards go by the
        // id's first character) at a later time evicts it.
        let mut bytes = [2; 32];
        bytes[0] = 1;
        let other = SessionId::from_bytes(&bytes);
        assert_ne!(other, old);
        assert_eq!(other.as_str()[..1], old.as_str()[..1], "the same shard");
        d.create(&other, &rec(20, 30)).await.unwrap();
        assert_eq!(d.len(), 1, "the expired record went with the write");
        assert_eq!(
            d.cleanup(Timestamp::from_secs(20)),
            0,
            "nothing left to clean"
        );
        assert!(d
            .load(&other, Timestamp::from_secs(20))
            .await
            .unwrap()
            .is_some());
    }

    #[tokio::test]
    async fn the_expiry_index_follows_updates() {
        let d = MemoryDriver::new();
        let id = SessionId::generate();
        let mut first = rec(0, 10);
        first.version = 1;
        d.create(&id, &first).await.unwrap();
        // Same expiry: the index entry stays; a later expiry moves it.
        let mut same = rec(1, 10);
        same.version = 2;
        assert!(matches!(d.update(&id, &same, 1).await, Ok(Update::Updated)));
        let mut later = rec(2, 30);
        later.version = 3;
        assert!(matches!(
            d.update(&id, &later, 2).await,
            Ok(Update::Updated)
        ));
        assert_eq!(d.cleanup(Timestamp::from_secs(20)), 0, "not expired at 20");
        assert_eq!(d.len(), 1);
        assert_eq!(d.cleanup(Timestamp::from_secs(30)), 1, "expired at 30");
        assert_eq!(d.len(), 0);
    }

    #[tokio::test]
    async fn create_refuses_a_live_id_but_reuses_an_expired_one() {
        let d = MemoryDriver::new();
        let id = SessionId::generate();
        d.create(&id, &rec(0, 10)).await.unwrap();
        assert!(matches!(
            d.create(&id, &rec(5, 15)).await,
            Err(DriverError::AlreadyExists)
        ));
        d.create(&id, &rec(11, 20)).await.unwrap();
    }

    /// Random ids spread evenly over the shards (each takes 1/16 of them),
    /// so no shard's lock or table carries more than its share.
    #[test]
    fn ids_spread_evenly_over_the_shards() {
        let mut per_shard = [0usize; SHARDS];
        let ids = 64_000;
        for _ in 0..ids {
            per_shard[shard_of(&SessionId::generate())] += 1;
        }
        // 4,000 expected each, with a standard deviation of about 61.
        for (shard, n) in per_shard.iter().enumerate() {
            assert!(
                (3_500..=4_500).contains(n),
                "shard {shard} got {n} of {ids} ids: {per_shard:?}"
            );
        }
    }

    /// A record with `data` keys and `flash` messages of every JSON kind.
    fn filled(data: usize, flash: usize) -> Record {
        let mut r = rec(100, 1_000);
        for i in 0..data {
            let value = match i % 5 {
                0 => serde_json::json!(i),
                1 => serde_json::json!(format!("text {i} ✓")),
                2 => serde_json::json!({"nested": {"list": [i, null, true]}}),
                3 => serde_json::json!([1.5, "two"]),
                _ => serde_json::Value::Null,
            };
            // Keys that do not sort the way they were inserted.
            r.data
                .insert(format!("key{}", (i * 7) % data.max(1)), value);
        }
        for i in 0..flash {
            r.flash.insert(format!("note{i}"), serde_json::json!(i));
        }
        r.version = 3;
        r
    }

    /// The compact stored form gives back exactly the record it was given,
    /// below and above the size where `load` switches from inserting to
    /// building in bulk, with and without data or flash.
    #[tokio::test]
    async fn records_come_back_exactly_as_stored() {
        let d = MemoryDriver::new();
        let now = Timestamp::from_secs(200);
        for (data, flash) in [
            (0, 0),
            (1, 0),
            (0, 1),
            (4, 1),
            (INSERT_UP_TO, INSERT_UP_TO),
            (INSERT_UP_TO + 1, 2),
            (100, 30),
        ] {
            let id = SessionId::generate();
            let record = filled(data, flash);
            assert_eq!((record.data.len(), record.flash.len()), (data, flash));
            d.create(&id, &record).await.unwrap();
            assert_eq!(
                d.load(&id, now).await.unwrap().as_ref(),
                Some(&record),
                "{data} data keys, {flash} flash"
            );
            // A conflict answers the stored record too, and a touch keeps
            // the data while moving the times.
            match d.update(&id, &filled(1, 1), 99).await.unwrap() {
                Update::Conflict(Some(current)) => assert_eq!(current, record),
                other => panic!("expected a conflict, got {other:?}"),
            }
            let (active, expires) = (Timestamp::from_secs(300), Timestamp::from_secs(2_000));
            assert!(d.touch(&id, active, expires).await.unwrap());
            let touched = d.load(&id, now).await.unwrap().unwrap();
            assert_eq!((touched.data, touched.flash), (record.data, record.flash));
            assert_eq!((touched.last_active, touched.expires_at), (active, expires));
            assert_eq!(d.cleanup(Timestamp::from_secs(1_500)), 0, "the index moved");
        }
    }
}
