//! Periodic id renewal with a grace window ([`ExpiryPolicy::renew_id_after`]).
//!
//! A renewal is a regenerate that the engine starts by itself, with one
//! difference: instead of an empty, expired record, the old id is left a
//! *forward*: a record that lives for the grace window and names the new id,
//! sealed so that only a holder of the old cookie can read it (the new id
//! XOR a SHA-256 of the old one; the store has only the old id's hash). A
//! request that arrives with the old id within the window follows it, reads
//! and commits the new session and gets the new cookie; one that loaded the
//! old record before the renewal finds the forward when its compare-and-set
//! fails and commits into the new session too. After the window the forward
//! names nothing.
//!
//! The id's age is kept in the session under the engine key `_idt` (when it
//! got its id, in seconds), written when renewal is on; a session without it
//! counts from its creation.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::driver::SessionDriver;
use crate::error::DriverError;
use crate::id::{SessionId, ID_BYTES};
use crate::policy::ExpiryPolicy;
use crate::record::Record;
use crate::telemetry::{timed, Op};
use crate::time::Timestamp;

/// The session key holding when the session got its current id.
pub(crate) const ID_TIME_KEY: &str = "_idt";

/// The key a forward keeps the sealed new id and its deadline under.
pub(crate) const FORWARD_KEY: &str = "_fwd";

/// How many forwards in a row a request follows (a session renewed twice
/// within one grace window).
const MAX_HOPS: usize = 4;

/// How old `record`'s id is at `now`.
pub(crate) fn id_age(record: &Record, now: Timestamp) -> Duration {
    let since = record
        .data
        .get(ID_TIME_KEY)
        .and_then(Value::as_u64)
        .map_or(record.created_at, Timestamp::from_secs);
    now.since(since)
}

/// Notes in `record` that its session got a new id at `now`.
pub(crate) fn mark_new_id(record: &mut Record, now: Timestamp) {
    record
        .data
        .insert(ID_TIME_KEY.to_owned(), Value::from(now.as_secs()));
}

/// The mask the new id is sealed with: only the old cookie's holder has it.
fn mask(old: &SessionId) -> [u8; ID_BYTES] {
    SessionId::derived(b"sc-fwd\0", old.as_str().as_bytes()).to_bytes()
}

fn xor(a: [u8; ID_BYTES], b: [u8; ID_BYTES]) -> [u8; ID_BYTES] {
    std::array::from_fn(|i| a[i] ^ b[i])
}

/// What a renewal leaves under the old id (cookie `old`), replacing version
/// `replaced`: a forward to `new` until `now + grace`.
pub(crate) fn forward(
    replaced: u64,
    now: Timestamp,
    grace: Duration,
    old: &SessionId,
    new: &SessionId,
) -> Record {
    let until = now.plus(grace.max(Duration::from_secs(1)));
    let mut record = Record::new(now, until);
    record.version = replaced.wrapping_add(1);
    let sealed = URL_SAFE_NO_PAD.encode(xor(new.to_bytes(), mask(old)));
    record.data.insert(
        FORWARD_KEY.to_owned(),
        json!({ "to": sealed, "until": until.as_secs() }),
    );
    record
}

/// Whether `record`, loaded for the cookie `cookie`, is a forward: `None` if
/// it is a session, `Some(None)` if it is a forward past its window (or
/// not readable with this cookie), `Some(Some(id))` for the id it names.
pub(crate) fn forwarded(
    record: &Record,
    cookie: &SessionId,
    now: Timestamp,
) -> Option<Option<SessionId>> {
    let forward = record.data.get(FORWARD_KEY)?;
    let until = forward.get("until").and_then(Value::as_u64).unwrap_or(0);
    if now.as_secs() >= until {
        return Some(None);
    }
    let sealed = forward.get("to").and_then(Value::as_str)?;
    let mut bytes = [0u8; ID_BYTES];
    match URL_SAFE_NO_PAD.decode_slice(sealed, &mut bytes) {
        Ok(ID_BYTES) => Some(Some(SessionId::from_bytes(&xor(bytes, mask(cookie))))),
        _ => Some(None),
    }
}

/// The session `record` (loaded under `id`) really is, following forwards:
/// the live session's cookie id, store id and record, or `None` when the
/// chain ends in nothing live.
pub(crate) async fn follow(
    driver: &dyn SessionDriver,
    policy: ExpiryPolicy,
    mut id: SessionId,
    mut record: Record,
    now: Timestamp,
) -> Result<Option<(SessionId, SessionId, Record)>, DriverError> {
    for _ in 0..MAX_HOPS {
        match forwarded(&record, &id, now) {
            None => {
                let key = id.store_id();
                return Ok(Some((id, key, record)));
            }
            Some(None) => return Ok(None),
            Some(Some(next)) => {
                let key = next.store_id();
                let loaded = match timed(driver, Op::Load, driver.load(&key, now)).await {
                    Err(DriverError::Corrupt(_)) => None,
                    other => other?,
                };
                match loaded.filter(|r| policy.is_live(r, now)) {
                    Some(next_record) => (id, record) = (next, next_record),
                    None => return Ok(None),
                }
            }
        }
    }
    Ok(None)
}
