//! Data shared by the benchmarks.

use std::time::Duration;

use serde_json::json;
use session_actix::driver::{Record, Timestamp};

/// A small typical session: a user id, a name, a CSRF token, a counter and
/// one flash message (about 200 bytes as JSON), stored at `now` with a two
/// hour idle timeout.
pub fn typical_record(now: Timestamp) -> Record {
    let mut r = Record::new(now, now.plus(Duration::from_secs(7200)));
    r.data.insert("user_id".into(), json!(48_213));
    r.data.insert("name".into(), json!("Ada Lovelace"));
    r.data.insert(
        "csrf".into(),
        json!("pG1c3ZrFQmJ0Yx9bW2hK8sTnLd4eVu7aR5oI6yMqC0w"),
    );
    r.data.insert("counter".into(), json!(17));
    r.flash.insert("notice".into(), json!("Saved"));
    r.version = 1;
    r
}
