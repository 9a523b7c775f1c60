//! The change log: what a request did to the session, replayable on a newer
//! copy of the record when a parallel request committed first.

use serde_json::{Map, Value};

use crate::record::Record;

/// One change a handler made. Replaying the log on the latest stored record is
/// how two overlapping requests both land.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Change {
    /// Set a key.
    Put(String, Value),
    /// Remove a key.
    Forget(String),
    /// Add `by` to an integer. `local` is the result this request saw; it is
    /// stored as-is if the latest value is no longer an integer.
    Increment { key: String, by: i64, local: i64 },
    /// Remove every key (flash and the CSRF token are left alone).
    Clear,
    /// Replace the outgoing flash messages and the set of incoming ones this
    /// request consumed.
    Flash(FlashChange),
}

/// What a request did to the flash bag, applied as a whole at commit.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct FlashChange {
    /// Incoming messages this request consumed (removed from the store unless
    /// re-flashed).
    pub(crate) consumed: Vec<(String, Value)>,
    /// Messages for the next request.
    pub(crate) outgoing: Map<String, Value>,
}

impl Change {
    pub(crate) fn apply(&self, record: &mut Record) {
        match self {
            Change::Flash(f) => {
                // Only remove a message if it is still the one we saw: a
                // parallel request may have flashed a new value meanwhile.
                for (k, seen) in &f.consumed {
                    if record.flash.get(k) == Some(seen) {
                        record.flash.remove(k);
                    }
                }
                for (k, v) in &f.outgoing {
                    record.flash.insert(k.clone(), v.clone());
                }
            }
            data_change => data_change.apply_data(&mut record.data),
        }
    }

    /// Applies a change to the data; flash changes do not touch it.
    pub(crate) fn apply_data(&self, data: &mut Map<String, Value>) {
        match self {
            Change::Put(k, v) => {
                data.insert(k.clone(), v.clone());
            }
            Change::Forget(k) => {
                data.remove(k);
            }
            Change::Increment { key, by, local } => {
                let next = data
                    .get(key)
                    .map_or(Some(0), Value::as_i64)
                    .and_then(|cur| cur.checked_add(*by))
                    .unwrap_or(*local);
                data.insert(key.clone(), Value::from(next));
            }
            // The CSRF token and the sign-in are the session's, not the
            // app's data.
            Change::Clear => data.retain(|k, _| crate::session::is_engine_key(k)),
            Change::Flash(_) => {}
        }
    }
}

/// Replays `log` on `record`.
pub(crate) fn apply_all(log: &[Change], record: &mut Record) {
    for change in log {
        change.apply(record);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;
    use serde_json::json;

    fn rec() -> Record {
        Record::new(Timestamp::from_secs(0), Timestamp::from_secs(10))
    }

    #[test]
    fn increments_from_two_logs_add_up() {
        let mut base = rec();
        let a = [Change::Increment {
            key: "n".into(),
            by: 1,
            local: 1,
        }];
        let b = [Change::Increment {
            key: "n".into(),
            by: 1,
            local: 1,
        }];
        apply_all(&a, &mut base);
        apply_all(&b, &mut base);
        assert_eq!(base.data["n"], json!(2));
    }

    #[test]
    fn increment_on_a_value_changed_to_text_stores_local_result() {
        let mut base = rec();
        base.data.insert("n".into(), json!("x"));
        Change::Increment {
            key: "n".into(),
            by: 1,
            local: 5,
        }
        .apply(&mut base);
        assert_eq!(base.data["n"], json!(5));
    }

    #[test]
    fn flash_consume_keeps_a_value_flashed_again_meanwhile() {
        let mut base = rec();
        base.flash.insert("m".into(), json!("new"));
        Change::Flash(FlashChange {
            consumed: vec![("m".into(), json!("old"))],
            outgoing: Map::new(),
        })
        .apply(&mut base);
        assert_eq!(base.flash["m"], json!("new"));
    }
}
