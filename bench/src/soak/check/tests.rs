//! The checker on hand-written histories: what a correct store may
//! legitimately show (races with regenerate and logout) passes, and each
//! kind of damage is named.

use super::*;

/// A history being written: requests start and are answered in the order
/// the test calls them.
#[derive(Default)]
struct History {
    events: Vec<Event>,
    clock: u64,
    sessions: usize,
}

impl History {
    /// A new session id.
    fn id(&mut self) -> Sid {
        self.sessions += 1;
        self.sessions - 1
    }

    /// Client `client` of browser 0 sends `op` with `cookie`.
    fn send(&mut self, client: usize, op: Op, cookie: Option<Sid>) -> usize {
        self.send_from(0, client, op, cookie)
    }

    /// Client `client` of `browser` sends `op` with `cookie`.
    fn send_from(&mut self, browser: usize, client: usize, op: Op, cookie: Option<Sid>) -> usize {
        self.clock += 1;
        self.events
            .push(Event::sent(browser, client, op, self.clock, cookie));
        self.events.len() - 1
    }

    /// `browser` sends `op` with `cookie`, answered before the next request.
    fn call_from(
        &mut self,
        browser: usize,
        op: Op,
        cookie: Option<Sid>,
        status: u16,
        set: SetCookie,
        seen: Seen,
    ) -> usize {
        let i = self.send_from(browser, 0, op, cookie);
        self.answer(i, status, set, seen);
        i
    }

    /// Request `i` is answered `status`, doing `set` to the cookie and
    /// showing `seen`.
    fn answer(&mut self, i: usize, status: u16, set: SetCookie, seen: Seen) {
        self.clock += 1;
        let e = &mut self.events[i];
        e.recv = self.clock;
        e.status = status;
        e.set = set;
        e.seen = seen;
    }

    /// A request sent and answered before the next one starts.
    fn call(&mut self, op: Op, cookie: Option<Sid>, set: SetCookie, seen: Seen) -> usize {
        let i = self.send(0, op, cookie);
        let status = if matches!(seen, Seen::Nothing) && op != Op::Incr {
            204
        } else {
            200
        };
        self.answer(i, status, set, seen);
        i
    }

    /// The token or value request `i` sent.
    fn value(&self, i: usize) -> u64 {
        self.events[i].sent
    }

    fn kinds(&self) -> Vec<Kind> {
        let out = check(&self.events, self.sessions, 2);
        out.violations.iter().map(|v| v.kind).collect()
    }
}

fn counter(hits: i64) -> Seen {
    Seen::Whole(Box::new(Shown {
        counter: hits,
        anything: hits != 0,
        ..Shown::default()
    }))
}

fn flash(tokens: &[u64]) -> Seen {
    Seen::Flash(tokens.to_vec())
}

/// A session made by one increment, then incremented `more` times.
fn session_with(h: &mut History, more: i64) -> Sid {
    let s = h.id();
    h.call(Op::Incr, None, SetCookie::Set(s), Seen::Counter(1));
    for n in 0..more {
        h.call(Op::Incr, Some(s), SetCookie::Set(s), Seen::Counter(n + 2));
    }
    s
}

#[test]
fn sequential_increments_add_up() {
    let mut h = History::default();
    let s = session_with(&mut h, 2);
    h.call(Op::Read, Some(s), SetCookie::Keep, counter(3));
    assert_eq!(h.kinds(), []);
    let out = check(&h.events, h.sessions, 2);
    assert_eq!(out.live, (1, 1));
}

#[test]
fn a_counter_behind_the_acknowledged_increments_is_a_lost_increment() {
    let mut h = History::default();
    let s = session_with(&mut h, 2);
    h.call(Op::Read, Some(s), SetCookie::Keep, counter(2));
    assert_eq!(h.kinds(), [Kind::LostIncrement]);
}

#[test]
fn an_increment_seeing_an_old_counter_is_a_lost_increment() {
    let mut h = History::default();
    let s = session_with(&mut h, 1);
    h.call(Op::Incr, Some(s), SetCookie::Set(s), Seen::Counter(2));
    assert_eq!(h.kinds(), [Kind::LostIncrement]);
}

#[test]
fn a_counter_ahead_of_every_increment_sent_is_flagged() {
    let mut h = History::default();
    let s = session_with(&mut h, 0);
    h.call(Op::Read, Some(s), SetCookie::Keep, counter(2));
    assert_eq!(h.kinds(), [Kind::ExtraIncrement]);
}

#[test]
fn a_failed_increment_may_or_may_not_have_landed() {
    for hits in [1, 2] {
        let mut h = History::default();
        let s = session_with(&mut h, 0);
        let i = h.send(0, Op::Incr, Some(s));
        h.answer(i, 500, SetCookie::Keep, Seen::Nothing);
        h.call(Op::Read, Some(s), SetCookie::Keep, counter(hits));
        assert_eq!(h.kinds(), [], "counter {hits}");
    }
}

#[test]
fn parallel_increments_count_while_in_flight() {
    let mut h = History::default();
    let s = session_with(&mut h, 0);
    let a = h.send(0, Op::Incr, Some(s));
    let read = h.send(1, Op::Read, Some(s));
    h.answer(a, 200, SetCookie::Set(s), Seen::Counter(2));
    // The read overlapped the increment: before or after it is fine.
    h.answer(read, 200, SetCookie::Keep, counter(1));
    h.call(Op::Read, Some(s), SetCookie::Keep, counter(2));
    assert_eq!(h.kinds(), []);
}

#[test]
fn an_increment_racing_a_regenerate_may_stay_behind() {
    for moved in [false, true] {
        let mut h = History::default();
        let old = session_with(&mut h, 0);
        let new = h.id();
        let incr = h.send(0, Op::Incr, Some(old));
        let regenerate = h.send(1, Op::Regenerate, Some(old));
        h.answer(regenerate, 204, SetCookie::Set(new), Seen::Nothing);
        // Committed into the old id, before or after the regenerate read it.
        h.answer(incr, 200, SetCookie::Set(old), Seen::Counter(2));
        let hits = if moved { 2 } else { 1 };
        h.call(Op::Read, Some(new), SetCookie::Keep, counter(hits));
        assert_eq!(h.kinds(), [], "moved: {moved}");
    }
}

#[test]
fn a_regenerate_moves_what_was_acknowledged_before_it() {
    let mut h = History::default();
    let old = session_with(&mut h, 1);
    let new = h.id();
    h.call(
        Op::Regenerate,
        Some(old),
        SetCookie::Set(new),
        Seen::Nothing,
    );
    h.call(Op::Read, Some(new), SetCookie::Keep, counter(1));
    assert_eq!(h.kinds(), [Kind::LostIncrement]);
}

#[test]
fn a_session_loaded_after_its_logout_was_answered_is_resurrected() {
    let mut h = History::default();
    let s = session_with(&mut h, 0);
    h.call(Op::Logout, Some(s), SetCookie::Removed, Seen::Nothing);
    h.call(Op::Read, Some(s), SetCookie::Keep, counter(1));
    h.call(Op::Incr, Some(s), SetCookie::Set(s), Seen::Counter(1));
    assert_eq!(h.kinds(), [Kind::Resurrected, Kind::Resurrected]);
}

#[test]
fn requests_racing_a_logout_may_find_the_session_gone() {
    let mut h = History::default();
    let s = session_with(&mut h, 0);
    let incr = h.send(0, Op::Incr, Some(s));
    h.call(Op::Logout, Some(s), SetCookie::Removed, Seen::Nothing);
    h.answer(incr, 200, SetCookie::Removed, Seen::Counter(2));
    // A tab that still sends the old cookie starts afresh.
    let fresh = h.id();
    h.call(Op::Incr, Some(s), SetCookie::Set(fresh), Seen::Counter(1));
    h.call(Op::Read, Some(s), SetCookie::Keep, counter(0));
    h.call(Op::Read, Some(fresh), SetCookie::Keep, counter(1));
    let out = check(&h.events, h.sessions, 2);
    assert_eq!(out.violations, []);
    assert_eq!(out.found_gone, 2);
    assert_eq!(out.live, (1, 1));
}

#[test]
fn a_fresh_session_without_a_logout_or_regenerate_means_one_vanished() {
    let mut h = History::default();
    let s = session_with(&mut h, 0);
    let fresh = h.id();
    h.call(Op::Put, Some(s), SetCookie::Set(fresh), Seen::Nothing);
    assert_eq!(h.kinds(), [Kind::Vanished]);
    let mut h = History::default();
    let s = session_with(&mut h, 0);
    h.call(Op::Read, Some(s), SetCookie::Keep, counter(0));
    assert_eq!(
        h.kinds(),
        [Kind::LostIncrement],
        "an empty read of a live session"
    );
}

#[test]
fn a_put_older_than_the_last_acknowledged_one_is_stale() {
    let mut h = History::default();
    let s = session_with(&mut h, 0);
    let first = h.call(Op::Put, Some(s), SetCookie::Set(s), Seen::Nothing);
    let second = h.call(Op::Put, Some(s), SetCookie::Set(s), Seen::Nothing);
    let read = |v: u64| {
        Seen::Whole(Box::new(Shown {
            counter: 1,
            puts: vec![(0, v)],
            anything: true,
            ..Shown::default()
        }))
    };
    let (first, second) = (h.value(first), h.value(second));
    h.call(Op::Read, Some(s), SetCookie::Keep, read(second));
    assert_eq!(h.kinds(), []);
    h.call(Op::Read, Some(s), SetCookie::Keep, read(first));
    assert_eq!(h.kinds(), [Kind::StalePut]);
    h.call(Op::Read, Some(s), SetCookie::Keep, read(second + 100));
    assert_eq!(h.kinds(), [Kind::StalePut, Kind::UnknownPut]);
}

#[test]
fn a_flash_is_shown_once_or_by_overlapping_requests() {
    let mut h = History::default();
    let s = session_with(&mut h, 0);
    let f = h.call(Op::Flash, Some(s), SetCookie::Set(s), Seen::Nothing);
    let token = h.value(f);
    // Two tabs load the session before either commits: both see it.
    let a = h.send(0, Op::Flashed, Some(s));
    let b = h.send(1, Op::Flashed, Some(s));
    h.answer(a, 200, SetCookie::Set(s), flash(&[token]));
    h.answer(b, 200, SetCookie::Set(s), flash(&[token]));
    assert_eq!(h.kinds(), []);
    // After one of them was answered, it is gone.
    h.call(Op::Flashed, Some(s), SetCookie::Set(s), flash(&[token]));
    assert_eq!(h.kinds(), [Kind::FlashShownTwice]);
}

#[test]
fn any_write_after_the_flash_consumes_it() {
    let mut h = History::default();
    let s = session_with(&mut h, 0);
    let f = h.call(Op::Flash, Some(s), SetCookie::Set(s), Seen::Nothing);
    let token = h.value(f);
    h.call(Op::Incr, Some(s), SetCookie::Set(s), Seen::Counter(2));
    h.call(Op::Flashed, Some(s), SetCookie::Set(s), flash(&[token]));
    assert_eq!(h.kinds(), [Kind::FlashShownTwice]);
}

#[test]
fn a_flash_racing_a_regenerate_may_move_with_it_once() {
    let mut h = History::default();
    let old = session_with(&mut h, 0);
    let new = h.id();
    let f = h.send(0, Op::Flash, Some(old));
    let r = h.send(1, Op::Regenerate, Some(old));
    h.answer(f, 204, SetCookie::Set(old), Seen::Nothing);
    h.answer(r, 204, SetCookie::Set(new), Seen::Nothing);
    let token = h.value(f);
    h.call(Op::Flashed, Some(new), SetCookie::Set(new), flash(&[token]));
    assert_eq!(h.kinds(), []);
    h.call(Op::Flashed, Some(new), SetCookie::Set(new), flash(&[token]));
    assert_eq!(h.kinds(), [Kind::FlashShownTwice]);
}

#[test]
fn a_regenerate_sent_after_the_flash_was_stored_consumes_it() {
    let mut h = History::default();
    let old = session_with(&mut h, 0);
    let new = h.id();
    let f = h.call(Op::Flash, Some(old), SetCookie::Set(old), Seen::Nothing);
    let token = h.value(f);
    h.call(
        Op::Regenerate,
        Some(old),
        SetCookie::Set(new),
        Seen::Nothing,
    );
    h.call(Op::Flashed, Some(new), SetCookie::Set(new), flash(&[token]));
    assert_eq!(h.kinds(), [Kind::FlashShownTwice]);
}

#[test]
fn a_flash_in_a_session_it_was_not_flashed_into_is_flagged() {
    let mut h = History::default();
    let a = session_with(&mut h, 0);
    let b = session_with(&mut h, 0);
    let f = h.call(Op::Flash, Some(a), SetCookie::Set(a), Seen::Nothing);
    let token = h.value(f);
    h.call(Op::Flashed, Some(b), SetCookie::Set(b), flash(&[token]));
    h.call(Op::Flashed, Some(b), SetCookie::Set(b), flash(&[12_345]));
    assert_eq!(
        h.kinds(),
        [Kind::FlashInWrongSession, Kind::FlashInWrongSession]
    );
}

#[test]
fn a_fresh_session_holds_nothing() {
    let mut h = History::default();
    h.call(Op::Read, None, SetCookie::Keep, counter(3));
    let s = h.id();
    h.call(Op::Incr, None, SetCookie::Set(s), Seen::Counter(4));
    assert_eq!(h.kinds(), [Kind::FreshNotEmpty, Kind::FreshNotEmpty]);
}

#[test]
fn two_requests_setting_one_new_id_are_flagged() {
    let mut h = History::default();
    let s = session_with(&mut h, 0);
    h.call(Op::Incr, None, SetCookie::Set(s), Seen::Counter(1));
    assert_eq!(h.kinds(), [Kind::IdIssuedTwice]);
}

#[test]
fn two_winning_regenerates_are_flagged_as_a_fork() {
    let mut h = History::default();
    let old = session_with(&mut h, 0);
    let (a, b) = (h.id(), h.id());
    let ra = h.send(0, Op::Regenerate, Some(old));
    let rb = h.send(1, Op::Regenerate, Some(old));
    h.answer(ra, 204, SetCookie::Set(a), Seen::Nothing);
    h.answer(rb, 204, SetCookie::Set(b), Seen::Nothing);
    let out = check(&h.events, h.sessions, 2);
    let kinds: Vec<Kind> = out.violations.iter().map(|v| v.kind).collect();
    assert_eq!(kinds, [Kind::Forked]);
    assert_eq!((out.forks, out.live), (1, (2, 2)));
}

#[test]
fn a_regenerate_that_lost_the_race_and_set_no_cookie_is_fine() {
    let mut h = History::default();
    let old = session_with(&mut h, 0);
    let a = h.id();
    let ra = h.send(0, Op::Regenerate, Some(old));
    let rb = h.send(1, Op::Regenerate, Some(old));
    h.answer(ra, 204, SetCookie::Set(a), Seen::Nothing);
    h.answer(rb, 204, SetCookie::Keep, Seen::Nothing);
    let out = check(&h.events, h.sessions, 2);
    assert_eq!(out.violations, []);
    assert_eq!((out.forks, out.live), (0, (1, 1)));
}

/// Browsers 0 and 1 each sign in as user 0 (their pair) after one increment;
/// the sessions they end up with.
fn two_devices(h: &mut History) -> (Sid, Sid) {
    let mut signed = [0; 2];
    for (browser, slot) in signed.iter_mut().enumerate() {
        let s = h.id();
        h.call_from(
            browser,
            Op::Incr,
            None,
            200,
            SetCookie::Set(s),
            Seen::Counter(1),
        );
        let n = h.id();
        h.call_from(
            browser,
            Op::Login,
            Some(s),
            204,
            SetCookie::Set(n),
            Seen::Nothing,
        );
        *slot = n;
    }
    (signed[0], signed[1])
}

#[test]
fn a_session_revoked_by_the_other_device_reads_fresh_afterwards() {
    let mut h = History::default();
    let (a, b) = two_devices(&mut h);
    h.call_from(0, Op::Revoke, Some(a), 200, SetCookie::Keep, Seen::Nothing);
    // b is signed out: it gets a fresh session; a is untouched.
    let fresh = h.id();
    h.call_from(
        1,
        Op::Incr,
        Some(b),
        200,
        SetCookie::Set(fresh),
        Seen::Counter(1),
    );
    h.call_from(0, Op::Read, Some(a), 200, SetCookie::Keep, counter(1));
    assert_eq!(h.kinds(), vec![]);
}

#[test]
fn a_revoked_session_that_still_loads_is_resurrected() {
    let mut h = History::default();
    let (a, b) = two_devices(&mut h);
    h.call_from(0, Op::Revoke, Some(a), 200, SetCookie::Keep, Seen::Nothing);
    h.call_from(
        1,
        Op::Incr,
        Some(b),
        200,
        SetCookie::Set(b),
        Seen::Counter(2),
    );
    assert_eq!(h.kinds(), vec![Kind::Resurrected]);
}

#[test]
fn a_revoke_racing_a_request_may_or_may_not_sign_it_out() {
    for signed_out in [false, true] {
        let mut h = History::default();
        let (a, b) = two_devices(&mut h);
        let revoke = h.send_from(0, 0, Op::Revoke, Some(a));
        let incr = h.send_from(1, 0, Op::Incr, Some(b));
        if signed_out {
            let fresh = h.id();
            h.answer(incr, 200, SetCookie::Set(fresh), Seen::Counter(1));
        } else {
            h.answer(incr, 200, SetCookie::Set(b), Seen::Counter(2));
        }
        h.answer(revoke, 200, SetCookie::Keep, Seen::Nothing);
        assert_eq!(h.kinds(), vec![], "signed out: {signed_out}");
    }
}

#[test]
fn a_revoke_reaches_only_its_own_user() {
    let mut h = History::default();
    let (a, _) = two_devices(&mut h);
    // Browser 2 is another user: a revoke of user 0 does not sign it out.
    let s = h.id();
    h.call_from(2, Op::Incr, None, 200, SetCookie::Set(s), Seen::Counter(1));
    let other = h.id();
    h.call_from(
        2,
        Op::Login,
        Some(s),
        204,
        SetCookie::Set(other),
        Seen::Nothing,
    );
    h.call_from(0, Op::Revoke, Some(a), 200, SetCookie::Keep, Seen::Nothing);
    let fresh = h.id();
    h.call_from(
        2,
        Op::Incr,
        Some(other),
        200,
        SetCookie::Set(fresh),
        Seen::Counter(1),
    );
    assert_eq!(h.kinds(), vec![Kind::Vanished]);
}
