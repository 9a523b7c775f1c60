//! How long sessions live and when their expiry is refreshed.

use std::time::Duration;

use crate::record::Record;
use crate::time::Timestamp;

/// Expiry rules applied to every session, whatever the driver.
///
/// - `idle`: a session unused for this long expires.
/// - `absolute`: a session expires this long after it was created, however
///   active it is (`None`: no such limit).
/// - `refresh_after`: a request that changes nothing refreshes the expiry only
///   when doing so moves it by at least this much, so a busy session costs one
///   touch per interval instead of a write per request.
/// - `renew_id_after`: the first request that uses a session whose id is
///   this old moves it to a new id (`None`: never). The old id forwards to
///   the new one for `renew_grace`, so that requests still carrying it
///   commit into the new session and get the new cookie; after that it is
///   dead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpiryPolicy {
    /// Idle timeout.
    pub idle: Duration,
    /// Optional absolute timeout.
    pub absolute: Option<Duration>,
    /// Minimum gain before an unchanged session's expiry is refreshed.
    pub refresh_after: Duration,
    /// Renew the id of a session whose id is this old (`None`: never).
    pub renew_id_after: Option<Duration>,
    /// How long a renewed session's old id forwards to the new one.
    pub renew_grace: Duration,
}

impl Default for ExpiryPolicy {
    /// Two hours idle, no absolute limit, refreshed at most once a minute,
    /// no id renewal (a grace window of 5 seconds when it is turned on).
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(2 * 60 * 60),
            absolute: None,
            refresh_after: Duration::from_secs(60),
            renew_id_after: None,
            renew_grace: Duration::from_secs(5),
        }
    }
}

impl ExpiryPolicy {
    /// When a session created at `created_at` and active at `now` expires.
    pub fn expires_at(&self, created_at: Timestamp, now: Timestamp) -> Timestamp {
        let idle = now.plus(self.idle);
        match self.absolute {
            Some(abs) => idle.min(created_at.plus(abs)),
            None => idle,
        }
    }

    /// Whether `record` is still live at `now` under this policy. Checked on
    /// top of the driver's own expiry so a shortened policy applies at once.
    pub fn is_live(&self, record: &Record, now: Timestamp) -> bool {
        !record.is_expired(now) && self.expires_at(record.created_at, record.last_active) > now
    }

    /// Whether an unchanged `record` should have its expiry refreshed at `now`.
    pub fn touch_due(&self, record: &Record, now: Timestamp) -> bool {
        let refreshed = self.expires_at(record.created_at, now);
        refreshed.since(record.expires_at) >= self.refresh_after.max(Duration::from_secs(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64) -> Timestamp {
        Timestamp::from_secs(s)
    }

    #[test]
    fn absolute_timeout_caps_idle_expiry() {
        let p = ExpiryPolicy {
            idle: Duration::from_secs(100),
            absolute: Some(Duration::from_secs(150)),
            refresh_after: Duration::from_secs(10),
            ..ExpiryPolicy::default()
        };
        assert_eq!(p.expires_at(t(0), t(0)), t(100));
        assert_eq!(p.expires_at(t(0), t(120)), t(150));
    }

    #[test]
    fn touch_is_due_only_after_the_refresh_interval() {
        let p = ExpiryPolicy {
            idle: Duration::from_secs(100),
            absolute: None,
            refresh_after: Duration::from_secs(10),
            ..ExpiryPolicy::default()
        };
        let r = Record::new(t(0), t(100));
        assert!(!p.touch_due(&r, t(9)));
        assert!(p.touch_due(&r, t(10)));
        assert!(p.is_live(&r, t(99)));
        assert!(!p.is_live(&r, t(100)));
    }
}
