//! A regenerate racing another request in the middle of its move, at the
//! exact point where a request on another instance could land: between the
//! regenerate's load of the old record and its retire of the old id (the
//! `create` of the new one), through the forwarding driver's hook.

use std::sync::Arc;

use session_core::__private::{load, prepare_commit, CookieAction, Handle, PendingCommit};
use session_core::driver::memory::MemoryDriver;
use session_core::driver::{ExpiryPolicy, Timestamp};
use session_core::Session;
use session_test_support::driver::{Forward, Op};

const NOW: Timestamp = Timestamp::from_secs(1_800_000_000);

/// The session `cookie` names, as a handler's `Session` argument.
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

/// A memory store behind a forwarding driver, holding a session with
/// `count` = 1; its cookie.
async fn store() -> (Arc<MemoryDriver>, Forward, String) {
    let memory = Arc::new(MemoryDriver::new());
    let driver = Forward::shared(Arc::clone(&memory));
    let session = open(&driver, None).await;
    session.put("count", 1).unwrap();
    let CookieAction::Set { value, .. } = commit(&driver, &session).await else {
        panic!("a new session with data sets its cookie");
    };
    (memory, driver, value)
}

/// `pending` committed straight to the store when the next `create` starts.
fn race(driver: &Forward, memory: &Arc<MemoryDriver>, pending: Option<PendingCommit>) {
    let memory = Arc::clone(memory);
    let pending = pending.expect("the racing request has something to commit");
    driver.before_next(Op::Create, async move {
        pending.run(&*memory, None).await.unwrap();
    });
}

#[tokio::test]
async fn a_save_landing_during_a_regenerate_moves_with_the_session() {
    let (memory, driver, cookie) = store().await;
    let regenerate = open(&driver, Some(&cookie)).await;
    let save = open(&driver, Some(&cookie)).await;
    save.increment("count", 1).unwrap();
    race(&driver, &memory, prepare_commit(&save, NOW));
    regenerate.regenerate().unwrap();
    regenerate.put("moved", true).unwrap();

    let CookieAction::Set { value: moved, .. } = commit(&driver, &regenerate).await else {
        panic!("the regenerate must set the new cookie");
    };
    assert!(!driver.hook_pending(), "the save ran mid-regenerate");
    let moved = open(&driver, Some(&moved)).await;
    assert_eq!(
        moved.get::<i64>("count").unwrap(),
        Some(2),
        "the racing save moved too"
    );
    assert_eq!(moved.get::<bool>("moved").unwrap(), Some(true));
    let old = open(&driver, Some(&cookie)).await;
    assert_eq!(old.get::<i64>("count").unwrap(), None, "the old id is dead");
    assert_eq!(memory.len(), 1, "one record: the moved session");
}

#[tokio::test]
async fn a_regenerate_that_loses_the_move_leaves_one_copy_and_the_cookie() {
    let (memory, driver, cookie) = store().await;
    let loser = open(&driver, Some(&cookie)).await;
    let winner = open(&driver, Some(&cookie)).await;
    winner.regenerate().unwrap();
    race(&driver, &memory, prepare_commit(&winner, NOW));
    loser.regenerate().unwrap();
    loser.put("lost", true).unwrap();

    // The winner moves the session while the loser is creating its copy.
    let action = commit(&driver, &loser).await;
    assert!(!driver.hook_pending(), "the winner ran mid-regenerate");
    assert_eq!(
        action,
        CookieAction::Keep,
        "no removal of the winner's cookie"
    );
    assert_eq!(memory.len(), 1, "the loser's copy is gone");
    let old = open(&driver, Some(&cookie)).await;
    assert_eq!(old.get::<i64>("count").unwrap(), None);
}
