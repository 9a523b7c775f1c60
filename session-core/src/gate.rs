//! Group commit: parallel requests of one process that save the same session
//! commit together, one compare-and-set for the lot, instead of racing each
//! other's compare-and-set over the network.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures_channel::oneshot;

use crate::change::Change;
use crate::error::DriverError;
use crate::id::SessionId;
use crate::lifecycle::CookieAction;
use crate::record::Record;

/// Queues one process' saves to the same session so that they commit
/// together, for drivers whose compare-and-set costs a round trip (see
/// [`SessionDriver::remote`](crate::driver::SessionDriver::remote)). The
/// middleware keeps one for the process and hands it to every commit.
///
/// Without it, `n` requests saving one session at once all send their
/// compare-and-set, one wins, and the other `n - 1` merge and send again:
/// about `n / 2` round trips each, `n²/2` in all. With it, the first request
/// commits alone; the requests that arrive meanwhile queue up, and when it is
/// done the first of them commits the change logs of all of them, in the
/// order they arrived, in one compare-and-set, starting from the record just
/// stored. Every request still gets its own answer; a store error or a
/// cancelled commit is reported to each request of the batch
/// ([`DriverError::Joined`], [`DriverError::Interrupted`]).
///
/// A batch is stored with the expiry policy of the request that runs it;
/// middlewares with different timeouts sharing one driver and one session
/// would see each other's.
///
/// Correctness never depends on the gate: the driver's version check still
/// guards against other processes (and other gates), and a batch that loses
/// to one merges and retries like a single request.
///
/// Clones share the queue. A session's entry exists only while a commit to
/// it runs; the gate holds nothing otherwise.
#[derive(Clone, Default)]
pub struct CommitGate {
    /// A key is present while a commit to that session runs; its value holds
    /// the saves waiting for the next batch.
    queues: Arc<Mutex<HashMap<SessionId, Vec<Waiter>>>>,
}

impl fmt::Debug for CommitGate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Session ids are never printed; how many are busy is enough.
        let busy = self.lock().len();
        f.debug_struct("CommitGate").field("busy", &busy).finish()
    }
}

/// A save waiting for its batch.
struct Waiter {
    log: Vec<Change>,
    reply: oneshot::Sender<Message>,
}

enum Message {
    /// The batch holding this save was committed (or failed).
    Done(Result<CookieAction, String>),
    /// Commit this save and `batch`, starting from `base` if it is newer than
    /// what the request loaded.
    Lead {
        log: Vec<Change>,
        batch: Vec<Waiter>,
        base: Option<Record>,
    },
}

/// What [`CommitGate::enter`] gives a save.
pub(crate) enum Turn {
    /// Commit the change logs of the [`Lead`], then [`Lead::finish`].
    Lead(Lead),
    /// Another request committed this one's changes in its batch.
    Done(Result<CookieAction, DriverError>),
}

impl CommitGate {
    /// An empty gate.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<SessionId, Vec<Waiter>>> {
        // Every critical section leaves the map consistent (no user code runs
        // under the lock), so a poisoned lock is still usable.
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Joins the commits to `id`: leads at once when none runs, otherwise
    /// waits to lead the next batch or to have this save committed by it.
    pub(crate) async fn enter(&self, id: &SessionId, log: Vec<Change>) -> Turn {
        let reply = {
            let mut queues = self.lock();
            match queues.entry(id.clone()) {
                Entry::Vacant(free) => {
                    free.insert(Vec::new());
                    drop(queues);
                    return Turn::Lead(Lead::new(self, id, log, Vec::new(), None));
                }
                Entry::Occupied(mut busy) => {
                    let (tx, rx) = oneshot::channel();
                    busy.get_mut().push(Waiter { log, reply: tx });
                    rx
                }
            }
        };
        match reply.await {
            Ok(Message::Done(result)) => Turn::Done(result.map_err(DriverError::Joined)),
            Ok(Message::Lead { log, batch, base }) => {
                Turn::Lead(Lead::new(self, id, log, batch, base))
            }
            // The request leading our batch was dropped mid-commit.
            Err(oneshot::Canceled) => Turn::Done(Err(DriverError::Interrupted)),
        }
    }
}

/// The right, and duty, to commit a batch. Dropping it, finished or not,
/// passes the turn to the next waiting save, so no request waits forever.
pub(crate) struct Lead {
    gate: CommitGate,
    id: SessionId,
    log: Vec<Change>,
    batch: Vec<Waiter>,
    base: Option<Record>,
}

impl Lead {
    fn new(
        gate: &CommitGate,
        id: &SessionId,
        log: Vec<Change>,
        batch: Vec<Waiter>,
        base: Option<Record>,
    ) -> Self {
        Lead {
            gate: gate.clone(),
            id: id.clone(),
            log,
            batch,
            base,
        }
    }

    /// The record the previous batch stored, if newer than `version`.
    pub(crate) fn take_base_newer_than(&mut self, version: u64) -> Option<Record> {
        self.base.take().filter(|b| b.version > version)
    }

    /// The change logs to commit, in arrival order.
    pub(crate) fn logs(&self) -> impl Iterator<Item = &[Change]> + Clone {
        std::iter::once(self.log.as_slice()).chain(self.batch.iter().map(|w| w.log.as_slice()))
    }

    /// How many requests this batch answers, the leader included.
    pub(crate) fn size(&self) -> usize {
        1 + self.batch.len()
    }

    /// Answers every request of the batch with the commit's outcome, and
    /// keeps `stored`, the record now in the store, for the next batch.
    pub(crate) fn finish(
        &mut self,
        result: &Result<CookieAction, DriverError>,
        stored: Option<Record>,
    ) {
        let shared = match result {
            Ok(action) => Ok(action.clone()),
            Err(e) => Err(e.to_string()),
        };
        for waiter in self.batch.drain(..) {
            // A request that went away meanwhile no longer listens; its
            // changes are stored all the same.
            let _ = waiter.reply.send(Message::Done(shared.clone()));
        }
        self.base = stored;
    }
}

impl Drop for Lead {
    fn drop(&mut self) {
        // Waiters still in `self.batch` (a commit dropped before `finish`)
        // see their channel close and report `Interrupted`.
        let mut queues = self.gate.lock();
        let Some(queue) = queues.get_mut(&self.id) else {
            return;
        };
        let mut waiting = std::mem::take(queue);
        let mut base = self.base.take();
        // The first waiter still listening leads the others. One that went
        // away (its request was cancelled) is skipped like any cancelled
        // commit; the others' changes are committed even if they left too.
        while !waiting.is_empty() {
            let next = waiting.remove(0);
            let lead = Message::Lead {
                log: next.log,
                batch: std::mem::take(&mut waiting),
                base,
            };
            match next.reply.send(lead) {
                Ok(()) => return,
                Err(Message::Lead { batch, base: b, .. }) => (waiting, base) = (batch, b),
                Err(Message::Done(_)) => unreachable!("a Lead was sent"),
            }
        }
        queues.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_util::future::join_all;
    use futures_util::FutureExt as _;
    use serde_json::json;

    use super::*;
    use crate::driver::SessionDriver as _;
    use crate::lifecycle;
    use crate::policy::ExpiryPolicy;
    use crate::session::ReadonlySession;
    use crate::test_driver::{Forward, Op};
    use crate::time::Timestamp;

    /// The memory driver behind a gate, with `update` slowed down like a
    /// network round trip, counting what the store sees.
    #[derive(Debug)]
    struct Remote {
        store: Forward,
        gate: CommitGate,
    }

    impl Default for Remote {
        fn default() -> Self {
            let store = Forward::memory().remote(true);
            store.delay(&[Op::Update], Duration::from_millis(20));
            Self {
                store,
                gate: CommitGate::new(),
            }
        }
    }

    impl std::ops::Deref for Remote {
        type Target = Forward;
        fn deref(&self) -> &Forward {
            &self.store
        }
    }

    const NOW: Timestamp = Timestamp::from_secs(1_800_000_000);

    /// A stored session holding `count: 0`; gives its cookie.
    async fn stored(driver: &Remote) -> String {
        let (session, _) = lifecycle::load(&driver.store, None, ExpiryPolicy::default(), NOW)
            .await
            .unwrap();
        session.writable().put("count", 0).unwrap();
        match lifecycle::commit(&session, &driver.store, Some(&driver.gate), NOW)
            .await
            .unwrap()
        {
            CookieAction::Set { value, .. } => value,
            other => panic!("a new session answered {other:?}"),
        }
    }

    /// A request that adds one to the counter and puts `key_{i}`.
    async fn request(driver: &Remote, cookie: &str, i: usize) -> ReadonlySession {
        let (session, rejected) =
            lifecycle::load(&driver.store, Some(cookie), ExpiryPolicy::default(), NOW)
                .await
                .unwrap();
        assert_eq!(rejected, None);
        let handle = session.writable();
        handle.increment("count", 1).unwrap();
        handle.put(format!("key_{i}"), i).unwrap();
        session
    }

    async fn count(driver: &Remote, cookie: &str) -> serde_json::Value {
        let id = SessionId::parse(cookie).unwrap().store_id();
        let record = driver.inner().load(&id, NOW).await.unwrap().unwrap();
        record.data.get("count").cloned().unwrap_or_default()
    }

    fn busy(driver: &Remote) -> usize {
        driver.gate.lock().len()
    }

    #[tokio::test]
    async fn parallel_saves_are_committed_together_without_conflicts() {
        let driver = Remote::default();
        let cookie = stored(&driver).await;
        let mut sessions = Vec::new();
        for i in 0..16 {
            sessions.push(request(&driver, &cookie, i).await);
        }
        let results = join_all(
            sessions
                .iter()
                .map(|s| lifecycle::commit(s, &driver.store, Some(&driver.gate), NOW)),
        )
        .await;
        for result in results {
            assert!(
                matches!(&result, Ok(CookieAction::Set { value, .. }) if *value == cookie),
                "{result:?}"
            );
        }
        assert_eq!(count(&driver, &cookie).await, json!(16));
        let id = SessionId::parse(&cookie).unwrap().store_id();
        let record = driver.inner().load(&id, NOW).await.unwrap().unwrap();
        for i in 0..16 {
            assert_eq!(record.data.get(&format!("key_{i}")), Some(&json!(i)));
        }
        // The first request commits alone; the fifteen that queued meanwhile
        // go in one batch, from the record the first stored.
        assert_eq!(driver.calls(Op::Update), 2);
        assert_eq!(driver.conflicts(), 0);
        assert_eq!(busy(&driver), 0, "the gate keeps nothing once idle");
    }

    #[tokio::test]
    async fn a_waiter_that_goes_away_is_skipped() {
        let driver = Remote::default();
        let cookie = stored(&driver).await;
        let (a, b, c) = (
            request(&driver, &cookie, 0).await,
            request(&driver, &cookie, 1).await,
            request(&driver, &cookie, 2).await,
        );
        let mut first = Box::pin(lifecycle::commit(
            &a,
            &driver.store,
            Some(&driver.gate),
            NOW,
        ));
        let mut second = Box::pin(lifecycle::commit(
            &b,
            &driver.store,
            Some(&driver.gate),
            NOW,
        ));
        let mut third = Box::pin(lifecycle::commit(
            &c,
            &driver.store,
            Some(&driver.gate),
            NOW,
        ));
        assert!(
            first.as_mut().now_or_never().is_none(),
            "the first leads, in update"
        );
        assert!(second.as_mut().now_or_never().is_none(), "queued");
        assert!(third.as_mut().now_or_never().is_none(), "queued");
        drop(second); // its client went away while it waited
        assert!(first.await.is_ok());
        assert!(third.await.is_ok(), "the next live waiter takes the lead");
        assert_eq!(count(&driver, &cookie).await, json!(2));
        assert_eq!(busy(&driver), 0);
    }

    #[tokio::test]
    async fn a_lead_dropped_mid_commit_hands_over_and_its_batch_hears_of_it() {
        let driver = Remote::default();
        let cookie = stored(&driver).await;
        let sessions: Vec<ReadonlySession> =
            join_all((0..4).map(|i| request(&driver, &cookie, i))).await;
        let mut commits: Vec<_> = sessions
            .iter()
            .map(|s| {
                Some(Box::pin(lifecycle::commit(
                    s,
                    &driver.store,
                    Some(&driver.gate),
                    NOW,
                )))
            })
            .collect();
        for commit in commits.iter_mut() {
            assert!(commit.as_mut().unwrap().as_mut().now_or_never().is_none());
        }
        // The first leads alone and is dropped during its update: the second
        // takes over, with the third and fourth in its batch.
        commits[0] = None;
        assert!(commits[1]
            .as_mut()
            .unwrap()
            .as_mut()
            .now_or_never()
            .is_none());
        // Dropped during the batch's update: the batch cannot know whether
        // the store got it, and says so.
        commits[1] = None;
        for i in [2, 3] {
            let result = commits[i].take().unwrap().await;
            assert!(
                matches!(result, Err(DriverError::Interrupted)),
                "{result:?}"
            );
        }
        assert_eq!(busy(&driver), 0);
        // The gate is free again: the next save commits.
        let next = request(&driver, &cookie, 9).await;
        assert!(
            lifecycle::commit(&next, &driver.store, Some(&driver.gate), NOW)
                .await
                .is_ok()
        );
        assert_eq!(count(&driver, &cookie).await, json!(1));
    }

    #[test]
    fn debug_shows_no_ids() {
        assert_eq!(format!("{:?}", CommitGate::new()), "CommitGate { busy: 0 }");
    }
}
