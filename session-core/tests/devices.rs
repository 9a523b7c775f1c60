//! A revoke racing a request of the session it signs out, at the exact
//! points where a request on another instance could land, through the
//! forwarding driver's hook: whatever the order, a revoked session stays
//! signed out and nothing it commits brings it back.

use std::sync::Arc;

use session_core::__private::{load, prepare_commit, CookieAction, Handle};
use session_core::driver::memory::MemoryDriver;
use session_core::driver::{ExpiryPolicy, ManualClock, SessionDriver, Timestamp};
use session_core::{Devices, Session};
use session_test_support::driver::{Forward, Op};

const NOW: Timestamp = Timestamp::from_secs(1_800_000_000);

async fn open(driver: &Forward, cookie: Option<&str>) -> Session {
    let (loaded, _) = load(driver, cookie, ExpiryPolicy::default(), NOW)
        .await
        .unwrap();
    Session::from_loaded(loaded)
}

async fn commit(driver: &Forward, session: &Session) -> CookieAction {
    let pending = prepare_commit(session, NOW).expect("the session has something to commit");
    pending.run(driver, None).await.unwrap()
}

fn cookie(action: CookieAction) -> String {
    match action {
        CookieAction::Set { value, .. } => value,
        other => panic!("expected a new cookie, got {other:?}"),
    }
}

/// A memory store behind a forwarding driver, its device list, and the
/// cookie of a session signed in as "ada" (so that her index exists).
async fn store() -> (Forward, Devices, String) {
    let memory = Arc::new(MemoryDriver::new());
    let driver = Forward::shared(Arc::clone(&memory));
    let devices = Devices::new(
        memory as Arc<dyn SessionDriver>,
        ExpiryPolicy::default(),
        Arc::new(ManualClock::new(NOW)),
    );
    let session = open(&driver, None).await;
    session.login("ada").unwrap();
    let first = cookie(commit(&driver, &session).await);
    (driver, devices, first)
}

/// Signs every session of "ada" out when the next `op` starts.
fn revoke_all_before(driver: &Forward, devices: &Devices, op: Op) {
    let devices = devices.clone();
    driver.before_next(op, async move {
        devices.revoke_all("ada").await.unwrap();
    });
}

async fn user(driver: &Forward, cookie: &str) -> Option<String> {
    open(driver, Some(cookie)).await.user_id()
}

#[tokio::test]
async fn a_revoke_during_a_sign_in_wins() {
    let (driver, devices, first) = store().await;
    // A second device signs in; "sign out everywhere" runs after its entry
    // is written and before its session is stored.
    let second = open(&driver, None).await;
    second.login("ada").unwrap();
    revoke_all_before(&driver, &devices, Op::Create);
    let action = commit(&driver, &second).await;
    assert!(!driver.hook_pending(), "the revoke ran mid-sign-in");
    assert_eq!(action, CookieAction::Remove, "the sign-in is undone");
    assert_eq!(user(&driver, &first).await, None);
    assert!(devices.list("ada").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_revoke_during_a_regenerate_signs_the_moved_session_out() {
    // After the move, before the index is checked (at the destroy of the
    // retired record), and before the move (at the create of the copy).
    // The device page showed the handle from before the regenerate.
    for op in [Op::Destroy, Op::Create] {
        let (driver, devices, first) = store().await;
        let session = open(&driver, Some(&first)).await;
        let handle = session.device_handle().unwrap();
        session.regenerate().unwrap();
        let revoke = devices.clone();
        driver.before_next(op, async move {
            assert!(revoke.revoke("ada", &handle).await.unwrap());
        });
        let action = commit(&driver, &session).await;
        assert!(
            !driver.hook_pending(),
            "{op:?}: the revoke ran mid-regenerate"
        );
        if let CookieAction::Set { value, .. } = &action {
            assert_eq!(
                user(&driver, value).await,
                None,
                "{op:?}: the moved session is signed out"
            );
        }
        assert_eq!(user(&driver, &first).await, None, "{op:?}");
        assert!(devices.list("ada").await.unwrap().is_empty(), "{op:?}");
    }
}

#[tokio::test]
async fn a_save_racing_a_revoke_does_not_bring_the_session_back() {
    let (driver, devices, first) = store().await;
    let session = open(&driver, Some(&first)).await;
    session.put("cart", ["apple"]).unwrap();
    revoke_all_before(&driver, &devices, Op::Update);
    assert_eq!(commit(&driver, &session).await, CookieAction::Keep);
    let after = open(&driver, Some(&first)).await;
    assert_eq!(after.user_id(), None);
    assert!(!after.has("cart"));
}

#[tokio::test]
async fn a_regenerate_keeps_the_device_listed_and_a_logout_removes_it() {
    let (driver, devices, first) = store().await;
    let listed = devices.list("ada").await.unwrap();
    assert_eq!(listed.len(), 1);
    let session = open(&driver, Some(&first)).await;
    assert_eq!(session.device_handle().as_ref(), Some(&listed[0].handle));
    session.regenerate().unwrap();
    let moved = cookie(commit(&driver, &session).await);
    let relisted = devices.list("ada").await.unwrap();
    assert_eq!(relisted.len(), 1);
    assert_eq!(relisted[0].signed_in_at, listed[0].signed_in_at);
    let session = open(&driver, Some(&moved)).await;
    assert_eq!(session.device_handle().as_ref(), Some(&relisted[0].handle));
    session.logout().unwrap();
    assert_eq!(commit(&driver, &session).await, CookieAction::Remove);
    assert!(devices.list("ada").await.unwrap().is_empty());
}

/// A signed-in session kept in use long past an idle timeout keeps its
/// user's index alive with it: still listed, still revocable. (The index
/// lives an idle timeout, a refresh interval and a minute from its last
/// change or keep-alive, so without one it would be gone after 170 s here.)
#[tokio::test]
async fn a_session_in_use_for_many_idle_timeouts_keeps_its_index() {
    let policy = ExpiryPolicy {
        idle: std::time::Duration::from_secs(100),
        refresh_after: std::time::Duration::from_secs(10),
        ..ExpiryPolicy::default()
    };
    let driver = Forward::shared(Arc::new(MemoryDriver::new()));
    let at = |secs: u64| Timestamp::from_secs(NOW.as_secs() + secs);
    let open_at = |cookie: Option<String>, t: Timestamp| {
        let driver = driver.clone();
        async move {
            let (loaded, _) = load(&driver, cookie.as_deref(), policy, t).await.unwrap();
            Session::from_loaded(loaded)
        }
    };
    let session = open_at(None, at(0)).await;
    session.login("ada").unwrap();
    let action = prepare_commit(&session, at(0))
        .unwrap()
        .run(&driver, None)
        .await;
    let cookie = cookie(action.unwrap());
    // A write every 30 s for 1,000 s; only the first in each 10 s interval
    // keeps the index alive.
    for step in 1..=33 {
        let t = at(step * 30);
        let session = open_at(Some(cookie.clone()), t).await;
        assert_eq!(
            session.user_id().as_deref(),
            Some("ada"),
            "at {} s",
            step * 30
        );
        session.put("n", step).unwrap();
        prepare_commit(&session, t)
            .unwrap()
            .run(&driver, None)
            .await
            .unwrap();
    }
    let clock = Arc::new(ManualClock::new(at(1000)));
    let devices = Devices::new(
        Arc::new(driver.clone()) as Arc<dyn SessionDriver>,
        policy,
        clock,
    );
    assert_eq!(devices.list("ada").await.unwrap().len(), 1, "still listed");
    assert_eq!(devices.revoke_all("ada").await.unwrap(), 1);
    let after = open_at(Some(cookie), at(1000)).await;
    assert_eq!(after.user_id(), None, "revoked");
}

/// The device list of `driver` itself, so that revokes go through its hooks
/// and faults.
fn devices_over(driver: &Forward) -> Devices {
    Devices::new(
        Arc::new(driver.clone()) as Arc<dyn SessionDriver>,
        ExpiryPolicy::default(),
        Arc::new(ManualClock::new(NOW)),
    )
}

/// Two "sign out everywhere" at once (a double click): the second, landing
/// while the first is still destroying sessions, answers only once they are
/// gone, not at once with nothing to do. Found by the soak.
#[tokio::test]
async fn a_revoke_answers_only_once_the_sessions_it_names_are_gone() {
    let (driver, _, first) = store().await;
    let devices = devices_over(&driver);
    let (second, probe, cookie) = (devices.clone(), driver.clone(), first.clone());
    driver.before_next(Op::Destroy, async move {
        assert_eq!(second.revoke_all("ada").await.unwrap(), 1);
        assert_eq!(user(&probe, &cookie).await, None, "gone when it answers");
    });
    assert_eq!(devices.revoke_all("ada").await.unwrap(), 1);
    assert!(!driver.hook_pending(), "the second revoke ran");
    assert_eq!(user(&driver, &first).await, None);
    assert!(devices.list("ada").await.unwrap().is_empty());
}

/// A revoke that fails before its sessions are destroyed leaves them
/// unlisted, lets no move of them stand, and the next revoke finishes
/// them: no session is left signed in outside the index.
#[tokio::test]
async fn a_revoke_that_stopped_midway_is_finished_by_the_next() {
    let (driver, _, first) = store().await;
    let devices = devices_over(&driver);
    let other = {
        let session = open(&driver, None).await;
        session.login("ada").unwrap();
        cookie(commit(&driver, &session).await)
    };
    driver.fail_on(&[Op::Destroy], true);
    assert!(devices.revoke_all("ada").await.is_err());
    driver.fail_on(&[Op::Destroy], false);
    assert!(devices.list("ada").await.unwrap().is_empty(), "not listed");
    // A regenerate of one of them does not stand.
    let session = open(&driver, Some(&other)).await;
    session.regenerate().unwrap();
    assert_eq!(commit(&driver, &session).await, CookieAction::Remove);
    assert_eq!(user(&driver, &other).await, None);
    // The next revoke destroys the rest.
    assert_eq!(user(&driver, &first).await.as_deref(), Some("ada"));
    assert_eq!(devices.revoke_all("ada").await.unwrap(), 2);
    assert_eq!(user(&driver, &first).await, None);
    assert!(devices.list("ada").await.unwrap().is_empty());
}
