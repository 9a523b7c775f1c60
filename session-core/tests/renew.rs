//! Id renewal with a grace window: the first request past `renew_id_after`
//! moves the session to a new id; the old id forwards for the grace window
//! (requests still carrying it read and commit into the new session and
//! get its cookie), then is dead. Parallel requests past the threshold end
//! on one new id with every change, and a logout with the old id within the
//! window still signs out.

use std::sync::Arc;
use std::time::Duration;

use session_core::__private::{load, prepare_commit, CookieAction, Handle};
use session_core::driver::memory::MemoryDriver;
use session_core::driver::{ExpiryPolicy, Timestamp};
use session_core::Session;
use session_test_support::driver::Forward;

const T: u64 = 1_800_000_000;
const RENEW: u64 = 900;
const GRACE: u64 = 5;

fn at(secs: u64) -> Timestamp {
    Timestamp::from_secs(secs)
}

fn policy() -> ExpiryPolicy {
    ExpiryPolicy {
        renew_id_after: Some(Duration::from_secs(RENEW)),
        renew_grace: Duration::from_secs(GRACE),
        ..ExpiryPolicy::default()
    }
}

async fn open(driver: &Forward, cookie: Option<&str>, now: u64) -> Session {
    let (loaded, _) = load(driver, cookie, policy(), at(now)).await.unwrap();
    Session::from_loaded(loaded)
}

async fn commit(driver: &Forward, session: &Session, now: u64) -> CookieAction {
    match prepare_commit(session, at(now)) {
        Some(pending) => pending.run(driver, None).await.unwrap(),
        None => CookieAction::Keep,
    }
}

fn cookie(action: CookieAction) -> String {
    match action {
        CookieAction::Set { value, .. } => value,
        other => panic!("expected a cookie, got {other:?}"),
    }
}

/// A memory store holding a session with `n` = 0, made at `T`; its cookie.
async fn store() -> (Forward, String) {
    let driver = Forward::shared(Arc::new(MemoryDriver::new()));
    let session = open(&driver, None, T).await;
    session.put("n", 0).unwrap();
    let first = cookie(commit(&driver, &session, T).await);
    (driver, first)
}

async fn n(driver: &Forward, cookie: &str, now: u64) -> Option<i64> {
    open(driver, Some(cookie), now).await.get("n").unwrap()
}

#[tokio::test]
async fn the_first_request_past_the_age_renews_and_the_old_id_forwards_for_the_grace() {
    let (driver, old) = store().await;
    let before = open(&driver, Some(&old), T + RENEW - 1).await;
    match commit(&driver, &before, T + RENEW - 1).await {
        CookieAction::Set { value, .. } => assert_eq!(value, old, "a refresh, not a renewal"),
        other => assert_eq!(other, CookieAction::Keep),
    }

    let due = open(&driver, Some(&old), T + RENEW).await;
    assert_eq!(due.get::<i64>("n").unwrap(), Some(0));
    let new = cookie(commit(&driver, &due, T + RENEW).await);
    assert_ne!(new, old, "a new id");

    // Within the grace window the old id reads the renewed session and
    // sends its cookie; a write with it lands in the renewed session.
    let late = open(&driver, Some(&old), T + RENEW + 1).await;
    late.increment("n", 1).unwrap();
    assert_eq!(cookie(commit(&driver, &late, T + RENEW + 1).await), new);
    assert_eq!(n(&driver, &new, T + RENEW + 2).await, Some(1));
    let read = open(&driver, Some(&old), T + RENEW + 2).await;
    assert_eq!(cookie(commit(&driver, &read, T + RENEW + 2).await), new);

    // After it, the old id is dead; the new one lives on and is not
    // renewed again until it is old itself.
    assert_eq!(n(&driver, &old, T + RENEW + GRACE).await, None);
    let again = open(&driver, Some(&new), T + RENEW + 100).await;
    again.increment("n", 1).unwrap();
    assert_eq!(cookie(commit(&driver, &again, T + RENEW + 100).await), new);
}

#[tokio::test]
async fn requests_in_flight_during_a_renewal_commit_into_the_new_id() {
    let (driver, old) = store().await;
    let now = T + RENEW;
    // Eight requests load the old id at once; all are past the age, each
    // increments. One renews; the others find the forward and merge.
    let mut sessions = Vec::new();
    for _ in 0..8 {
        let s = open(&driver, Some(&old), now).await;
        s.increment("n", 1).unwrap();
        sessions.push(s);
    }
    let mut cookies = Vec::new();
    for s in &sessions {
        cookies.push(cookie(commit(&driver, s, now).await));
    }
    let new = cookies[0].clone();
    assert_ne!(new, old);
    assert!(cookies.iter().all(|c| *c == new), "one new id: {cookies:?}");
    assert_eq!(
        n(&driver, &new, now + 1).await,
        Some(8),
        "every increment landed"
    );

    // A request that loaded before the renewal and only reads, with its
    // refresh due, does not extend the old id: it gets the new cookie.
    let (driver, old) = store().await;
    let stale = open(&driver, Some(&old), T + RENEW).await;
    let renewing = open(&driver, Some(&old), T + RENEW).await;
    renewing.put("x", 1).unwrap();
    let new = cookie(commit(&driver, &renewing, T + RENEW).await);
    assert_eq!(cookie(commit(&driver, &stale, T + RENEW).await), new);
    assert_eq!(n(&driver, &old, T + RENEW + GRACE).await, None);
}

#[tokio::test]
async fn a_logout_with_the_old_id_in_the_grace_window_signs_out() {
    let (driver, old) = store().await;
    let now = T + RENEW;
    let logout = open(&driver, Some(&old), now).await;
    let renewing = open(&driver, Some(&old), now).await;
    renewing.put("x", 1).unwrap();
    let new = cookie(commit(&driver, &renewing, now).await);
    logout.logout().unwrap();
    assert_eq!(commit(&driver, &logout, now).await, CookieAction::Remove);
    assert_eq!(
        n(&driver, &new, now + 1).await,
        None,
        "the renewed session went too"
    );
    assert_eq!(n(&driver, &old, now + 1).await, None);
}

#[tokio::test]
async fn a_sign_in_or_a_regenerate_never_leaves_a_grace_window() {
    let (driver, old) = store().await;
    let session = open(&driver, Some(&old), T + 1).await;
    session.login("ada").unwrap();
    let new = cookie(commit(&driver, &session, T + 1).await);
    assert_eq!(
        n(&driver, &old, T + 2).await,
        None,
        "the old id is dead at once"
    );
    let session = open(&driver, Some(&new), T + 3).await;
    session.regenerate().unwrap();
    cookie(commit(&driver, &session, T + 3).await);
    assert_eq!(n(&driver, &new, T + 4).await, None);
}

#[tokio::test]
async fn a_renewed_signed_in_session_stays_listed_once_under_its_new_handle() {
    use session_core::driver::{ManualClock, SessionDriver};
    use session_core::Devices;

    let memory = Arc::new(MemoryDriver::new());
    let driver = Forward::shared(Arc::clone(&memory));
    let clock = Arc::new(ManualClock::new(at(T)));
    let devices = Devices::new(memory as Arc<dyn SessionDriver>, policy(), clock.clone());
    let session = open(&driver, None, T).await;
    session.login("ada").unwrap();
    let old = cookie(commit(&driver, &session, T).await);

    // Two requests past the age at once: one renews, the other joins it.
    let a = open(&driver, Some(&old), T + RENEW).await;
    let b = open(&driver, Some(&old), T + RENEW).await;
    b.put("b", true).unwrap();
    let new = cookie(commit(&driver, &a, T + RENEW).await);
    assert_eq!(cookie(commit(&driver, &b, T + RENEW).await), new);

    clock.set(at(T + RENEW + 1));
    let listed = devices.list("ada").await.unwrap();
    let renewed = open(&driver, Some(&new), T + RENEW + 1).await;
    assert_eq!(renewed.user_id().as_deref(), Some("ada"));
    assert_eq!(renewed.get::<bool>("b").unwrap(), Some(true));
    assert_eq!(listed.len(), 1, "one device: {listed:?}");
    assert_eq!(Some(&listed[0].handle), renewed.device_handle().as_ref());

    // Revoking it signs out the old id's forward too.
    assert!(devices.revoke("ada", &listed[0].handle).await.unwrap());
    assert_eq!(
        open(&driver, Some(&new), T + RENEW + 2).await.user_id(),
        None
    );
    assert_eq!(
        open(&driver, Some(&old), T + RENEW + 2).await.user_id(),
        None
    );
}
