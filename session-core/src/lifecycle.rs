//! Loading a session at the start of a request and committing it at the end:
//! the whole commit path, top to bottom.
//!
//! 1. [`load`]: the cookie, through the driver, to a session (or a fresh one
//!    and the reason the cookie was refused).
//! 2. [`prepare_commit`], after the handler, synchronously: the request's
//!    change log and the one [`Step`] it calls for (touch, save,
//!    regenerate, destroy, create), or `None` when the store has nothing to
//!    do (an unchanged read), so the adapter sets up no asynchronous work.
//! 3. [`PendingCommit::run`]: one flat match on the step. A save goes
//!    through the adapter's [`CommitGate`] when the driver is remote, then
//!    the compare-and-set loop ([`Plan::merge`]) that replays the log on the
//!    latest record until the version check passes.
//!
//! The middleware calls these; handlers never do.

use std::cell::OnceCell;

use crate::change::{apply_all, Change, FlashChange};
use crate::devices::{self, IndexWork};
use crate::driver::{CookieRead, SessionDriver, Update};
use crate::error::DriverError;
use crate::gate::{CommitGate, Turn};
use crate::id::SessionId;
use crate::policy::ExpiryPolicy;
use crate::record::Record;
use crate::renew;
use crate::session::{ReadonlySession, State, Stored};
use crate::signin::owner;
use crate::telemetry::{self, timed, Op};
use crate::time::Timestamp;

/// How many times a commit merges and retries after losing a race to a
/// parallel request before giving up with [`DriverError::Contention`].
///
/// Every round has a winner, so with `n` requests committing to one session
/// at once the last one lands within `n` attempts; browsers open at most a
/// few dozen parallel requests to one site, well under this bound. Through a
/// [`CommitGate`], requests from one process take turns and only other
/// processes can make a commit retry.
pub(crate) const MAX_COMMIT_ATTEMPTS: u32 = 256;

/// Why a cookie did not lead to a stored session. Logged as a warning by the
/// adapter; the client gets a fresh session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejected {
    /// The driver refused the cookie value; the reason says why.
    Invalid(&'static str),
    /// A well-formed id that the store does not know, or that expired. It is
    /// never adopted.
    Unknown,
    /// The store holds a record under the id that does not decode (damaged,
    /// or not written by this library). The request gets a fresh session; a
    /// destroy, a regenerate or any write removes the record.
    Unreadable,
}

/// Loads the session a request's cookie points to.
///
/// `cookie` is the value of the session cookie, if the request had one. A
/// value the driver rejects, or an id it does not know, yields a fresh
/// session and the reason in the second element, for the adapter to log.
/// Only a store failure is an error.
pub async fn load(
    driver: &dyn SessionDriver,
    cookie: Option<&str>,
    policy: ExpiryPolicy,
    now: Timestamp,
) -> Result<(ReadonlySession, Option<Rejected>), DriverError> {
    let Some(value) = cookie else {
        return Ok((ReadonlySession::from_state(State::new_empty(policy)), None));
    };
    let mut unreadable = None;
    let (stored, rejected) = match driver.read_cookie(value, now) {
        CookieRead::Invalid(reason) => (None, Some(Rejected::Invalid(reason))),
        CookieRead::Inline { id, record, reseal } => {
            let revoked = match (driver.revocations(), owner(&record.data)) {
                (Some(store), Some(user)) => {
                    devices::revoked_since(store, &user, record.created_at, now).await?
                }
                _ => false,
            };
            if revoked {
                (None, Some(Rejected::Unknown))
            } else if policy.is_live(&record, now) {
                let stored = Stored {
                    key: OnceCell::new(),
                    id,
                    inline: true,
                    record,
                };
                (Some((stored, reseal)), None)
            } else {
                (None, Some(Rejected::Unknown))
            }
        }
        CookieRead::Reference(id) => {
            let key = id.store_id();
            match timed(driver, Op::Load, driver.load(&key, now)).await {
                Ok(Some(record)) if policy.is_live(&record, now) => {
                    // A renewed session's old id: the new session, whose
                    // cookie this response sends (`reseal`).
                    let followed = match renew::forwarded(&record, &id, now) {
                        None => Some((id, key, record, false)),
                        Some(_) => renew::follow(driver, policy, id, record, now)
                            .await?
                            .map(|(id, key, record)| (id, key, record, true)),
                    };
                    match followed {
                        Some((id, key, record, forwarded)) => {
                            let stored = Stored {
                                id,
                                key: OnceCell::from(key),
                                inline: false,
                                record,
                            };
                            (Some((stored, forwarded)), None)
                        }
                        None => (None, Some(Rejected::Unknown)),
                    }
                }
                Ok(_) => (None, Some(Rejected::Unknown)),
                Err(DriverError::Corrupt(_)) => {
                    unreadable = Some(key);
                    (None, Some(Rejected::Unreadable))
                }
                Err(e) => return Err(e),
            }
        }
    };
    let state = match stored {
        Some((stored, reseal)) => {
            let mut state = State::from_stored(stored, policy);
            state.reseal = reseal;
            state
        }
        None => {
            let mut state = State::new_empty(policy);
            state.unreadable = unreadable;
            state
        }
    };
    if let Some(why) = rejected {
        let reason = match why {
            Rejected::Invalid(_) => "malformed",
            Rejected::Unknown => "unknown",
            Rejected::Unreadable => "unreadable",
        };
        telemetry::rejected(driver, reason);
    }
    Ok((ReadonlySession::from_state(state), rejected))
}

/// What the response must do with the session cookie after a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CookieAction {
    /// Leave the cookie alone.
    Keep,
    /// Send the cookie with this value, valid until `expires_at`.
    Set {
        /// The cookie value.
        value: String,
        /// When the session expires (for Max-Age).
        expires_at: Timestamp,
    },
    /// Remove the cookie (the session was destroyed or is gone).
    Remove,
}

/// Commits the request's changes to the store, exactly one of: nothing, a
/// touch, a save of the change log, a destroy, or a regenerate (possibly after
/// a destroy). Call it once, after the handler, and only if the handler
/// succeeded.
///
/// A session for which no writable handle was handed out commits nothing.
/// This is [`prepare_commit`] followed by [`PendingCommit::run`]; the
/// middleware calls those two, the conformance suite and the tests this.
///
/// With a `gate`, parallel saves to one session from this process are
/// committed together when the driver is [remote](SessionDriver::remote);
/// without one, each races the driver's compare-and-set.
#[cfg(any(test, feature = "conformance"))]
pub(crate) async fn commit(
    session: &ReadonlySession,
    driver: &dyn SessionDriver,
    gate: Option<&CommitGate>,
    now: Timestamp,
) -> Result<CookieAction, DriverError> {
    match prepare_commit(session, now) {
        None => Ok(CookieAction::Keep),
        Some(pending) => pending.run(driver, gate).await,
    }
}

/// The synchronous half of `commit`: takes what the request did out of the
/// session and decides whether the store has anything to do. `None` means
/// nothing (no writable handle was used, or a read with no refresh due): the
/// cookie stays as it is, and a caller can skip setting up an asynchronous
/// commit at all. Call it once, after the handler, and only if the handler
/// succeeded.
pub fn prepare_commit(session: &ReadonlySession, now: Timestamp) -> Option<PendingCommit> {
    let mut state = session.state.borrow_mut();
    if !state.writable_used {
        return None;
    }
    // Id renewal: a stored session whose id is old enough moves to a new id
    // now, as a regenerate that leaves the old id forwarding (see `renew`).
    let renew = !state.destroy_stored
        && !state.regenerate
        && match (state.policy.renew_id_after, &state.stored) {
            (Some(after), Some(stored)) => {
                !stored.inline && renew::id_age(&stored.record, now) >= after
            }
            _ => false,
        };
    if renew {
        state.regenerate = true;
        state.id = SessionId::generate();
    }
    let mut log = std::mem::take(&mut state.log);
    if let Some(flash) = flash_change(&state) {
        log.push(Change::Flash(flash));
    }
    // The common read: a stored session, nothing changed, no refresh due.
    // Decided here on the borrowed record, without cloning it into a plan.
    if log.is_empty() && !state.destroy_stored && !state.regenerate && !state.reseal {
        if let Some(stored) = &state.stored {
            if !state.policy.touch_due(&stored.record, now) {
                return None;
            }
        }
    }
    // Only a sign-in, a sign-out or a regenerate touches the user's index.
    let index = if state.destroy_stored || state.regenerate || state.sign_in.is_some() {
        let before = state.stored.as_ref().and_then(|s| owner(&s.record.data));
        let after = match state.destroy_stored && log.is_empty() {
            true => None,
            false => owner(state.data()),
        };
        let sign_in = state.sign_in.take();
        (before.is_some() || after.is_some()).then_some(IndexWork {
            before,
            after,
            sign_in,
        })
    } else {
        None
    };
    // A signed-in session's first commit in each refresh interval keeps its
    // user's index alive first (see `devices`): every later commit in the
    // interval expires before the index does.
    let keep_index = match (&index, &state.stored) {
        (None, Some(stored)) if !stored.inline && !state.destroy_stored => {
            let every = state.policy.refresh_after.as_secs().max(1);
            let last = stored.record.last_active.as_secs() / every;
            (last != now.as_secs() / every)
                .then(|| owner(&stored.record.data))
                .flatten()
        }
        _ => None,
    };
    let loaded_id = state.stored.as_ref().map(|s| s.id.clone());
    // The handler is done with the state: move, do not copy, the record.
    let step = match (state.stored.take(), state.unreadable.take()) {
        (Some(stored), _) if state.destroy_stored && log.is_empty() => {
            Step::Destroy(stored.into_key())
        }
        (Some(stored), _) if state.destroy_stored => Step::Create {
            replaces: Some(stored.into_key()),
        },
        (Some(stored), _) if state.regenerate => Step::Regenerate(stored),
        (Some(stored), _) if !log.is_empty() => Step::Save(stored),
        // Unchanged, and the check above found a refresh (or reseal) due.
        (Some(stored), _) => Step::Touch(stored),
        // An unreadable record goes on a destroy, a regenerate or a write;
        // a read leaves it (and the cookie) alone.
        (None, Some(old)) if log.is_empty() && (state.destroy_stored || state.regenerate) => {
            Step::Destroy(old)
        }
        (None, Some(old)) if !log.is_empty() => Step::Create {
            replaces: Some(old),
        },
        (None, _) if log.is_empty() => return None,
        (None, _) => Step::Create { replaces: None },
    };
    let plan = Plan {
        id: state.id.clone(),
        renew,
        joined: false,
        loaded: loaded_id,
        log,
        policy: state.policy,
        signs_in: index.as_ref().is_some_and(|i| i.sign_in.is_some()),
        index,
        keep_index,
    };
    // The borrow ends here: the plan holds nothing of the state, so nothing
    // below holds it across an await.
    Some(PendingCommit { step, plan, now })
}

/// What [`prepare_commit`] found to do; [`PendingCommit::run`] does it.
#[must_use = "nothing is stored until `run` is awaited"]
pub struct PendingCommit {
    step: Step,
    plan: Plan,
    now: Timestamp,
}

// By hand: the plan holds the session's data, which has no place in logs.
impl std::fmt::Debug for PendingCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let step = self.step.name();
        f.debug_struct("PendingCommit")
            .field("changes", &self.plan.log.len())
            .field("step", &step)
            .finish_non_exhaustive()
    }
}

impl PendingCommit {
    /// Writes the request's changes through `driver` and says what to do with
    /// the cookie. Saves to a [remote](SessionDriver::remote) driver go
    /// through `gate`, which the caller keeps for the whole process (the
    /// middleware does), so that parallel saves to one session are committed
    /// together.
    pub async fn run(
        self,
        driver: &dyn SessionDriver,
        gate: Option<&CommitGate>,
    ) -> Result<CookieAction, DriverError> {
        let gate = gate.filter(|_| driver.remote());
        let step = self.step.name();
        telemetry::commit(driver, step);
        let run = self.plan.run(self.step, driver, gate, self.now);
        // With the `metrics` feature only: a span costs the commit path a
        // larger future even when no subscriber listens.
        #[cfg(feature = "metrics")]
        let run = tracing::Instrument::instrument(
            run,
            tracing::debug_span!("session_commit", driver = driver.name(), step),
        );
        run.await
    }
}

/// What the request did to the flash bag, if anything worth saving.
fn flash_change(state: &State) -> Option<FlashChange> {
    let consumed: Vec<(String, serde_json::Value)> = state
        .flash_in
        .iter()
        .filter(|(k, _)| !state.flash_keep.contains(k) && !state.flash_out.contains_key(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if consumed.is_empty() && state.flash_out.is_empty() {
        return None;
    }
    Some(FlashChange {
        consumed,
        outgoing: state.flash_out.clone(),
    })
}

/// The one thing a commit does to the store, decided by [`prepare_commit`].
enum Step {
    /// An unchanged session whose expiry refresh is due (or whose cookie
    /// must be resealed): extend its life.
    Touch(Stored),
    /// Apply the change log to the stored record under a version check.
    Save(Stored),
    /// Move the stored session, with the change log, to the new id, then
    /// retire the old id under a version check ([`Plan::regenerate`]).
    Regenerate(Stored),
    /// Destroy the stored session (or the unreadable record the cookie
    /// named); nothing was written after.
    Destroy(SessionId),
    /// Store the change log as a new session under the new id: a client
    /// without one, or data written after a destroy of `replaces` (or over
    /// an unreadable record).
    Create { replaces: Option<SessionId> },
}

impl Step {
    /// The step's name, for logs, the commit span and metrics.
    fn name(&self) -> &'static str {
        match self {
            Step::Touch(_) => "touch",
            Step::Save(_) => "save",
            Step::Regenerate(_) => "regenerate",
            Step::Destroy(_) => "destroy",
            Step::Create { replaces: None } => "create",
            Step::Create { replaces: Some(_) } => "destroy and create",
        }
    }
}

/// What every step needs besides its stored record.
struct Plan {
    /// The id a created or regenerated session gets.
    id: SessionId,
    /// This regenerate is an id renewal: the old id forwards for the grace
    /// window instead of dying at once.
    renew: bool,
    /// This renewal lost to a parallel one and committed into the session
    /// that one moved to.
    joined: bool,
    /// The cookie id of the session the request loaded, if any.
    loaded: Option<SessionId>,
    log: Vec<Change>,
    policy: ExpiryPolicy,
    /// What to change in the user's session index, for a sign-in, a
    /// sign-out or a regenerate of a signed-in session.
    index: Option<IndexWork>,
    /// `Session::login` ran: the session counts as created now (its
    /// absolute timeout, and the cookie driver's sign-out check, run from
    /// the sign-in).
    signs_in: bool,
    /// The user whose index a save or touch keeps alive before it runs.
    keep_index: Option<String>,
}

impl Plan {
    async fn run(
        mut self,
        step: Step,
        driver: &dyn SessionDriver,
        gate: Option<&CommitGate>,
        now: Timestamp,
    ) -> Result<CookieAction, DriverError> {
        if let Some(user) = self.keep_index.take() {
            if driver.keeps_records() && matches!(step, Step::Touch(_) | Step::Save(_)) {
                devices::keep_index(driver, self.policy, now, &user).await?;
            }
        }
        // The stored record is moved, not cloned: the step is consumed here.
        match step {
            // The cookie carries the record: it is the latest there is, and
            // nothing is stored, so there is no store call to make (and no
            // store id to work out). The sealed cookie is the commit; a
            // touch of one is the plain touch below, without the store call.
            Step::Save(stored) if stored.inline => {
                let mut record = stored.record;
                let expected = record.version;
                apply_all(&self.log, &mut record);
                self.stamp(&mut record, expected.wrapping_add(1), now);
                Ok(set(driver, &stored.id, &record)?)
            }
            // With renewal on, the old id may have become a forward since
            // the load: a compare-and-set finds out (and follows it) where a
            // touch would extend the forward.
            Step::Touch(stored) if self.policy.renew_id_after.is_some() && !stored.inline => {
                let ids = Stored::ids(&stored.id, &stored.key);
                let logs = std::iter::empty::<&[Change]>();
                let saved = self.merge(driver, ids, stored.record, logs, now).await;
                saved.map(|(action, _)| action)
            }
            Step::Touch(stored) => {
                let mut record = stored.record;
                record.last_active = now;
                record.expires_at = self.policy.expires_at(record.created_at, now);
                let touched = stored.inline
                    || timed(
                        driver,
                        Op::Touch,
                        driver.touch(
                            Stored::ids(&stored.id, &stored.key).1,
                            now,
                            record.expires_at,
                        ),
                    )
                    .await?;
                if touched {
                    Ok(set(driver, &stored.id, &record)?)
                } else {
                    // Ended by a parallel request, which sent what the
                    // cookie should be (see `gone`).
                    Ok(CookieAction::Keep)
                }
            }
            Step::Save(stored) => {
                let log = std::mem::take(&mut self.log);
                self.save(driver, gate, stored, log, now).await
            }
            Step::Regenerate(stored) if stored.inline => {
                // The cookie carried the record: it is the latest there is,
                // and there is no old id in a store to retire.
                let mut record = stored.record;
                apply_all(&self.log, &mut record);
                let (id, record) = self.create(driver, record, now).await?;
                Ok(set(driver, &id, &record)?)
            }
            Step::Regenerate(stored) => {
                let old = Stored::ids(&stored.id, &stored.key);
                match self.index.take() {
                    Some(index) if driver.keeps_records() => {
                        self.regenerate_indexed(driver, &index, old, now).await
                    }
                    _ => self.regenerate(driver, old, now).await,
                }
            }
            Step::Destroy(key) => {
                self.destroy_forwarded(driver, &key, now).await?;
                timed(driver, Op::Destroy, driver.destroy(&key)).await?;
                self.leave_index(driver, &key, now).await;
                Ok(CookieAction::Remove)
            }
            Step::Create { replaces } => {
                if let Some(old) = &replaces {
                    self.destroy_forwarded(driver, old, now).await?;
                    timed(driver, Op::Destroy, driver.destroy(old)).await?;
                    self.leave_index(driver, old, now).await;
                }
                let mut record = Record::new(now, self.policy.expires_at(now, now));
                apply_all(&self.log, &mut record);
                if record.is_empty() {
                    // Nothing to keep: after a destroy, the cookie goes.
                    return Ok(match replaces {
                        Some(_) => CookieAction::Remove,
                        None => CookieAction::Keep,
                    });
                }
                let index = self.index.take().filter(|i| i.after.is_some());
                let Some(index) = index.filter(|_| driver.keeps_records()) else {
                    let (id, record) = self.create(driver, record, now).await?;
                    return set(driver, &id, &record);
                };
                let (policy, key) = (self.policy, self.id.store_id());
                index.enter(driver, policy, now, &key, None).await?;
                let (id, record) = self.create(driver, record, now).await?;
                let key = id.store_id();
                if index.confirm(driver, policy, now, &key, None).await? {
                    return set(driver, &id, &record);
                }
                self.signed_out_meanwhile(driver, &index, &key, now).await
            }
        }
    }

    /// A regenerate of a session that is or becomes signed in: the new
    /// session is entered in the user's index first, the move runs, then the
    /// index is checked and the old entry removed. A revoke of the old or
    /// the new entry that ran meanwhile wins: the moved session is destroyed.
    async fn regenerate_indexed(
        &mut self,
        driver: &dyn SessionDriver,
        index: &IndexWork,
        (old_id, old): (&SessionId, &SessionId),
        now: Timestamp,
    ) -> Result<CookieAction, DriverError> {
        let policy = self.policy;
        index
            .enter(driver, policy, now, &self.id.store_id(), Some(old))
            .await?;
        let entered = self.id.store_id();
        let action = self.regenerate(driver, (old_id, old), now).await?;
        if self.joined {
            // The parallel renewal that won moved the index entry.
            if let Some(user) = &index.after {
                IndexWork::leave(driver, policy, now, user, &entered).await;
            }
            return Ok(action);
        }
        // The id the move used (it draws another if the first was taken).
        let key = self.id.store_id();
        if !matches!(action, CookieAction::Set { .. }) {
            if let Some(user) = &index.after {
                IndexWork::leave(driver, policy, now, user, &key).await;
            }
            return Ok(action);
        }
        if !index.confirm(driver, policy, now, &key, Some(old)).await? {
            return self.signed_out_meanwhile(driver, index, &key, now).await;
        }
        if let Some(before) = index
            .before
            .as_ref()
            .filter(|b| index.after.as_ref() != Some(*b))
        {
            IndexWork::leave(driver, policy, now, before, old).await;
        }
        Ok(action)
    }

    /// The session just stored under `key` was signed out by a revoke while
    /// this request moved it: it goes, and so does the cookie.
    async fn signed_out_meanwhile(
        &self,
        driver: &dyn SessionDriver,
        index: &IndexWork,
        key: &SessionId,
        now: Timestamp,
    ) -> Result<CookieAction, DriverError> {
        tracing::warn!(
            driver = driver.name(),
            "the session was signed out from another device while this request signed in or regenerated it; it stays signed out"
        );
        timed(driver, Op::Destroy, driver.destroy(key)).await?;
        if let Some(user) = &index.after {
            IndexWork::leave(driver, self.policy, now, user, key).await;
        }
        Ok(CookieAction::Remove)
    }

    /// Removes the session that was stored under `key`, now destroyed, from
    /// the index of the user it was signed in as.
    async fn leave_index(&self, driver: &dyn SessionDriver, key: &SessionId, now: Timestamp) {
        let user = self.index.as_ref().and_then(|i| i.before.as_ref());
        if let Some(user) = user.filter(|_| driver.keeps_records()) {
            IndexWork::leave(driver, self.policy, now, user, key).await;
        }
    }

    /// Moves the session stored under `old` to this request's new id as a
    /// conditional move, so that of parallel regenerates (from any instance)
    /// exactly one wins and a save committed meanwhile moves with the data.
    ///
    /// The new record is created first, from the latest stored one with the
    /// change log applied; then `old` is retired by a compare-and-set to an
    /// empty record that has already expired, under the version the new
    /// record was built from. If a parallel save got there first, the new
    /// record is rebuilt from the old one's newer version and the retire is
    /// tried again. If the old id is gone (a parallel regenerate won, or a
    /// logout), the new record is destroyed and this request's changes are
    /// dropped, as after a parallel destroy. At every moment one of the two
    /// ids holds the session, so a failure midway leaves the old one live.
    /// Once the move stands, the retired record is destroyed too: four round
    /// trips (load, create, update, destroy), one more than an unconditional
    /// move.
    async fn regenerate(
        &mut self,
        driver: &dyn SessionDriver,
        (old_id, old): (&SessionId, &SessionId),
        now: Timestamp,
    ) -> Result<CookieAction, DriverError> {
        let mut latest = timed(driver, Op::Load, driver.load(old, now)).await?;
        let mut moved: Option<(SessionId, Record)> = None;
        for _ in 0..MAX_COMMIT_ATTEMPTS {
            let forward = latest
                .as_ref()
                .is_some_and(|r| r.data.contains_key(renew::FORWARD_KEY));
            if latest.is_none() || forward {
                if let Some((id, _)) = &moved {
                    timed(driver, Op::Destroy, driver.destroy(&id.store_id())).await?;
                }
            }
            let Some(mut record) = latest.take() else {
                return Ok(gone(driver));
            };
            if forward {
                return self.join_renewed(driver, old_id, record, now).await;
            }
            let expected = record.version;
            apply_all(&self.log, &mut record);
            let (id, record) = match moved.take() {
                None => self.create(driver, record, now).await?,
                Some((id, previous)) => {
                    self.stamp(&mut record, previous.version.wrapping_add(1), now);
                    self.mark_new_id(&mut record, now);
                    // Only this request knows the new id: nothing else can
                    // have changed or removed its record.
                    let key = id.store_id();
                    let update = driver.update(&key, &record, previous.version);
                    match timed(driver, Op::Update, update).await? {
                        Update::Updated => (id, record),
                        other => {
                            return Err(DriverError::backend(std::io::Error::other(format!(
                                "the record this regenerate had just created answered {other:?} to its own update"
                            ))))
                        }
                    }
                }
            };
            let retired = match self.renew {
                true => renew::forward(expected, now, self.policy.renew_grace, old_id, &id),
                false => Record::retired(expected, now),
            };
            match timed(driver, Op::Update, driver.update(old, &retired, expected)).await? {
                // A renewal's forward stays for its grace window.
                Update::Updated if self.renew => return set(driver, &id, &record),
                Update::Updated => {
                    // The old id is dead already; removing its empty record
                    // frees the store now rather than at cleanup. A failure
                    // here costs nothing but that, so the move stands.
                    if let Err(e) = timed(driver, Op::Destroy, driver.destroy(old)).await {
                        tracing::warn!(
                            driver = driver.name(),
                            error = %e,
                            "could not remove the retired record of a regenerated session; cleanup will"
                        );
                    }
                    return set(driver, &id, &record);
                }
                Update::Conflict(found) => latest = after_conflict(driver, old, found, now).await?,
                Update::Gone => latest = None,
            }
            moved = Some((id, record));
        }
        Err(DriverError::Contention(MAX_COMMIT_ATTEMPTS))
    }

    /// A renewal moved the session this regenerate was moving (`forward` is
    /// what it left under the old id `old_id`). A renewal that lost to it
    /// commits its changes into the session it moved to, and sends that
    /// cookie; any other regenerate lost the race and drops them.
    async fn join_renewed(
        &mut self,
        driver: &dyn SessionDriver,
        old_id: &SessionId,
        forward: Record,
        now: Timestamp,
    ) -> Result<CookieAction, DriverError> {
        if !self.renew {
            return Ok(gone(driver));
        }
        self.joined = true;
        let log = std::mem::take(&mut self.log);
        match renew::follow(driver, self.policy, old_id.clone(), forward, now).await? {
            Some((id, key, record)) => {
                let logs = std::iter::once(log.as_slice());
                Ok(self.merge(driver, (&id, &key), record, logs, now).await?.0)
            }
            None => Ok(gone(driver)),
        }
    }

    /// Notes a new id's time in `record` when ids are renewed.
    fn mark_new_id(&self, record: &mut Record, now: Timestamp) {
        if self.policy.renew_id_after.is_some() {
            renew::mark_new_id(record, now);
        }
    }

    /// Before the record under `key` (the loaded session's) is destroyed,
    /// with renewal on: if a renewal made it a forward meanwhile, the
    /// session it forwards to goes too, so a logout with the old id still
    /// signs out. One more read.
    async fn destroy_forwarded(
        &self,
        driver: &dyn SessionDriver,
        key: &SessionId,
        now: Timestamp,
    ) -> Result<(), DriverError> {
        let Some(cookie) = self.loaded.as_ref() else {
            return Ok(());
        };
        if self.policy.renew_id_after.is_none() {
            return Ok(());
        }
        let loaded = match timed(driver, Op::Load, driver.load(key, now)).await {
            Err(DriverError::Corrupt(_)) => None,
            other => other?,
        };
        let target = loaded.and_then(|r| renew::forwarded(&r, cookie, now).flatten());
        if let Some(target) = target {
            let target = target.store_id();
            timed(driver, Op::Destroy, driver.destroy(&target)).await?;
            self.leave_index(driver, &target, now).await;
        }
        Ok(())
    }

    /// Gives `record` the version it is written with and this request's
    /// activity: last active now, expiring by the policy.
    fn stamp(&self, record: &mut Record, version: u64, now: Timestamp) {
        if self.signs_in {
            record.created_at = now;
        }
        record.version = version;
        record.last_active = now;
        record.expires_at = self.policy.expires_at(record.created_at, now);
    }

    /// Stores `record` under this request's new id, drawing another id in the
    /// (astronomically unlikely) case that one is taken.
    /// The id used becomes the plan's.
    async fn create(
        &mut self,
        driver: &dyn SessionDriver,
        mut record: Record,
        now: Timestamp,
    ) -> Result<(SessionId, Record), DriverError> {
        self.stamp(&mut record, 1, now);
        self.mark_new_id(&mut record, now);
        for _ in 0..3 {
            let id = self.id.clone();
            match timed(driver, Op::Create, driver.create(&id.store_id(), &record)).await {
                Ok(()) => return Ok((id, record)),
                Err(DriverError::AlreadyExists) => self.id = SessionId::generate(),
                Err(e) => return Err(e),
            }
        }
        Err(DriverError::AlreadyExists)
    }

    /// Applies the change log to the latest stored record under a version
    /// check, merging again whenever a parallel request got there first.
    /// Through `gate`, parallel saves
    /// from this process are committed together instead.
    async fn save(
        &self,
        driver: &dyn SessionDriver,
        gate: Option<&CommitGate>,
        stored: Stored,
        log: Vec<Change>,
        now: Timestamp,
    ) -> Result<CookieAction, DriverError> {
        let Some(gate) = gate else {
            let logs = std::iter::once(log.as_slice());
            return self
                .merge(
                    driver,
                    Stored::ids(&stored.id, &stored.key),
                    stored.record,
                    logs,
                    now,
                )
                .await
                .map(|(a, _)| a);
        };
        let mut lead = match gate.enter(&stored.id, log).await {
            Turn::Done(result) => return result,
            Turn::Lead(lead) => lead,
        };
        // The batch before ours hands over what it stored, so our first
        // compare-and-set starts from the latest version.
        let base = lead
            .take_base_newer_than(stored.record.version)
            .unwrap_or(stored.record);
        telemetry::batch(driver, lead.size());
        if lead.size() > 1 {
            tracing::trace!(
                driver = driver.name(),
                requests = lead.size(),
                "committing parallel saves together"
            );
        }
        let ids = Stored::ids(&stored.id, &stored.key);
        let result = self.merge(driver, ids, base, lead.logs(), now).await;
        let (result, record) = match result {
            Ok((action, record)) => (Ok(action), record),
            Err(e) => (Err(e), None),
        };
        lead.finish(&result, record);
        result
    }

    /// The compare-and-set loop: `logs` applied in order to `base`, stored if
    /// the version is still `base`'s, else merged onto the newer record and
    /// tried again. Gives the record stored, if any, with the cookie action.
    /// `ids` are the session's cookie id and store id.
    async fn merge<'l>(
        &self,
        driver: &dyn SessionDriver,
        (id, key): (&SessionId, &SessionId),
        mut base: Record,
        logs: impl Iterator<Item = &'l [Change]> + Clone,
        now: Timestamp,
    ) -> Result<(CookieAction, Option<Record>), DriverError> {
        let (mut id, mut key) = (id.clone(), key.clone());
        for _ in 0..MAX_COMMIT_ATTEMPTS {
            // The logs go onto `base` itself, not a copy: a failed attempt
            // replaces it with the latest record anyway.
            let expected = base.version;
            for log in logs.clone() {
                apply_all(log, &mut base);
            }
            self.stamp(&mut base, expected.wrapping_add(1), now);
            match timed(driver, Op::Update, driver.update(&key, &base, expected)).await? {
                Update::Updated => return Ok((set(driver, &id, &base)?, Some(base))),
                Update::Conflict(found) => match after_conflict(driver, &key, found, now).await? {
                    // A renewal moved the session meanwhile: commit into
                    // the new id, and send its cookie.
                    Some(latest) => {
                        match renew::follow(driver, self.policy, id, latest, now).await? {
                            Some((next_id, next_key, latest)) => {
                                (id, key, base) = (next_id, next_key, latest);
                            }
                            None => return Ok((gone(driver), None)),
                        }
                    }
                    None => return Ok((gone(driver), None)),
                },
                Update::Gone => return Ok((gone(driver), None)),
            }
        }
        Err(DriverError::Contention(MAX_COMMIT_ATTEMPTS))
    }
}

/// The record to merge onto after `update` of `id` lost to a parallel
/// request: the one the driver handed back, or a fresh load. `None` when the
/// session is gone meanwhile, including when a driver that checks the
/// version before liveness hands back an expired record (one a regenerate
/// retired), which must never be written over.
async fn after_conflict(
    driver: &dyn SessionDriver,
    id: &SessionId,
    found: Option<Record>,
    now: Timestamp,
) -> Result<Option<Record>, DriverError> {
    let latest = match found {
        Some(found) => Some(found),
        None => timed(driver, Op::Load, driver.load(id, now)).await?,
    }
    .filter(|r| !r.is_expired(now));
    telemetry::conflict(driver, latest.is_some());
    Ok(latest)
}

/// A commit found its session gone: destroyed, expired, or moved to a new id
/// by a parallel regenerate. Its changes are dropped rather than bringing the
/// session back, and the cookie is left alone: the request that ended the
/// session already sent the cookie's removal or the new id, and a removal
/// from this response, arriving after a regenerate's new cookie, would sign
/// the user out. A stale id in the browser reads as no session.
fn gone(driver: &dyn SessionDriver) -> CookieAction {
    tracing::warn!(
        driver = driver.name(),
        "session was destroyed, expired or regenerated while this request ran; its changes are dropped rather than bringing it back"
    );
    CookieAction::Keep
}

fn set(
    driver: &dyn SessionDriver,
    id: &SessionId,
    record: &Record,
) -> Result<CookieAction, DriverError> {
    Ok(CookieAction::Set {
        value: driver.write_cookie(id, record)?,
        expires_at: record.expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::memory::MemoryDriver;

    const NOW: Timestamp = Timestamp::from_secs(1_800_000_000);

    async fn open(driver: &MemoryDriver, cookie: Option<&str>) -> ReadonlySession {
        let (session, rejected) = load(driver, cookie, ExpiryPolicy::default(), NOW)
            .await
            .unwrap();
        assert_eq!(rejected, None);
        session
    }

    #[tokio::test]
    async fn prepare_commit_leaves_reads_and_unused_sessions_to_the_caller() {
        let driver = MemoryDriver::new();
        let session = open(&driver, None).await;
        session.writable().put("count", 1).unwrap();
        let pending = prepare_commit(&session, NOW).expect("a new session with data is stored");
        let CookieAction::Set { value: cookie, .. } = pending.run(&driver, None).await.unwrap()
        else {
            panic!("a new session must set its cookie");
        };

        // Taken but never written, and not taken writable at all: nothing to run.
        let read = open(&driver, Some(&cookie)).await;
        assert_eq!(read.writable().get::<i64>("count").unwrap(), Some(1));
        assert!(prepare_commit(&read, NOW).is_none());
        assert!(prepare_commit(&open(&driver, Some(&cookie)).await, NOW).is_none());

        // A write: the pending commit stores it, under the same cookie.
        let write = open(&driver, Some(&cookie)).await;
        write.writable().increment("count", 1).unwrap();
        let pending = prepare_commit(&write, NOW).expect("a change is stored");
        assert!(format!("{pending:?}").starts_with("PendingCommit { changes: 1"));
        pending.run(&driver, None).await.unwrap();
        let after = open(&driver, Some(&cookie)).await;
        assert_eq!(after.get::<i64>("count").unwrap(), Some(2));
    }
}
