//! Times and records for tests that call drivers directly.

use session_core::driver::{Record, Timestamp};

/// A fixed "now" for tests that pass time explicitly: 2023-11-14.
pub const T0: u64 = 1_700_000_000;

/// The instant `secs` seconds after the Unix epoch.
pub fn at(secs: u64) -> Timestamp {
    Timestamp::from_secs(secs)
}

/// An empty record as a driver stores it (version 1), last active at
/// `active` and expiring at `expires`, both in seconds.
pub fn record(active: u64, expires: u64) -> Record {
    let mut r = Record::new(at(active), at(expires));
    r.version = 1;
    r
}
