//! The soak's invariant checker: from what every request sent and got back,
//! what each session must hold, and every place where what a response showed
//! contradicts it.
//!
//! # What the history tells
//!
//! Sessions are known by the order in which the run first saw their ids
//! ([`Sid`]); time is a logical clock ticked before each request is sent and
//! after its response is read, so `a.recv < b.sent` means `a` was over (its
//! commit done) before `b` began.
//!
//! Each answered request is attributed to the session it loaded, from the
//! cookie it carried and the one its response set (the middleware sets the
//! cookie on every save, sets a new one after a regenerate or on a fresh
//! session's first write, removes it when the session is destroyed, and
//! leaves it alone when the session was gone by the time the save ran):
//!
//! | sent with | response | it loaded |
//! | --- | --- | --- |
//! | no cookie | anything | a fresh session |
//! | `S` | sets `S` | `S` |
//! | `S` | removes the cookie | `S` (destroyed now); for a sign-in, `S` or a fresh session, signed out by a revoke as it signed in |
//! | `S` | sets `N ≠ S`, a regenerate | `S`, moved to `N`; `S` is destroyed |
//! | `S` | sets `N ≠ S`, a sign-in | `S` moved to `N`, or a fresh session (`S` was dead); `S` is destroyed |
//! | `S` | sets `N ≠ S`, anything else | a fresh session (`S` was dead), stored as `N` |
//! | `S` | no cookie, logout, regenerate or sign-in | a fresh session (`S` was dead) |
//! | `S` | no cookie, a read | `S` if it showed data, or if nothing can have destroyed `S` yet |
//!
//! A request that failed (5xx, or no answer) may or may not have committed:
//! it widens what a session may hold and never counts as acknowledged.
//!
//! # What must hold
//!
//! - **Increments**: the counter a request sees in session `S` is at least
//!   the increments acknowledged into `S` before the request was sent, and at
//!   most those sent (acknowledged or failed) before it was answered. A
//!   session made by a regenerate of `P` starts between `P`'s lower bound
//!   when the regenerate was sent and its upper bound when it was answered:
//!   an increment racing a regenerate may or may not move with the data.
//! - **Puts**: each client puts ever larger values under a key of its own, so
//!   the value seen is at least the client's last put acknowledged into the
//!   session before the request was sent (and at most its last one sent).
//! - **No resurrection**: once a request that destroyed `S` (or found it
//!   gone) is answered, no later request loads `S`, and no write lands in it.
//! - **Nothing vanishes**: a request that carried `S` gets a fresh session
//!   only if a logout or regenerate of `S` was sent before it was answered,
//!   or a revoke by another session of `S`'s user.
//! - **A revoke signs out**: once a revoke of the other devices is answered,
//!   every other session its user had signed in before it was sent is
//!   destroyed: loading one again is a resurrection. (Browsers `2k` and
//!   `2k + 1` sign in as the same user, so a revoke reaches across
//!   browsers.)
//! - **Flash at most once**: every flash carries a token no other request
//!   uses. Once a request that loaded a session after the flash was stored
//!   (and so saw the token) has committed into it, no request sent later sees
//!   the token in that session, nor in a session regenerated from it
//!   afterwards. Two requests that load the session before either commits
//!   may both see it: the library documents that. A token never shows in a
//!   session it was not flashed into or regenerated into.
//! - **A fresh session is empty.**
//! - **One winner per regenerate race**: of regenerates of one session, at
//!   most one answers with a new id.
//!
//! The checker never reads the store: everything comes from HTTP answers,
//! including a last `GET /session` per session after the clients stopped.

use std::collections::HashMap;
use std::fmt;

use super::Op;

/// A session, by the order in which the run first saw its id (ids are
/// credentials: they never leave the run).
pub(crate) type Sid = usize;

/// What a response did to the session cookie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SetCookie {
    /// Nothing.
    Keep,
    /// Set it to this session's id.
    Set(Sid),
    /// Removed it.
    Removed,
}

/// The session as `GET /session` showed it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Shown {
    /// `hits`, 0 when absent.
    pub(crate) counter: i64,
    /// `p{client}` by client, in no order.
    pub(crate) puts: Vec<(usize, u64)>,
    /// The flash tokens.
    pub(crate) flash: Vec<u64>,
    /// Whether it held anything at all.
    pub(crate) anything: bool,
    /// Keys no client writes, or values of the wrong type.
    pub(crate) strange: bool,
}

/// What a response's body showed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Seen {
    /// Nothing to check (204, or a failed request).
    Nothing,
    /// `POST /incr` answered this: the counter it loaded, plus one.
    Counter(i64),
    /// `GET /flashed` showed these tokens.
    Flash(Vec<u64>),
    /// `GET /session` showed this.
    Whole(Box<Shown>),
    /// A 2xx whose body is not what the route answers, or a 4xx.
    Strange(String),
}

impl Seen {
    /// Bytes it holds on the heap, for the soak's memory bound.
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            Seen::Flash(tokens) => tokens.capacity() * 8,
            Seen::Whole(shown) => {
                std::mem::size_of::<Shown>()
                    + shown.puts.capacity() * 16
                    + shown.flash.capacity() * 8
            }
            Seen::Strange(body) => body.capacity(),
            Seen::Nothing | Seen::Counter(_) => 0,
        }
    }

    fn anything(&self) -> bool {
        match self {
            Seen::Flash(tokens) => !tokens.is_empty(),
            Seen::Whole(shown) => shown.anything,
            _ => false,
        }
    }
}

/// One request of the run.
#[derive(Clone, Debug)]
pub(crate) struct Event {
    /// The browser (the shared cookie jar) it came from.
    pub(crate) browser: usize,
    /// The client (tab) of that browser.
    pub(crate) client: usize,
    /// What it did.
    pub(crate) op: Op,
    /// Clock ticks before sending and after the response was read. `sent`
    /// is unique in the run and grows with each request of a client, so it
    /// is also the value a put stores and the token a flash carries.
    pub(crate) sent: u64,
    /// See `sent`.
    pub(crate) recv: u64,
    /// The session cookie it carried.
    pub(crate) cookie: Option<Sid>,
    /// The HTTP status; 0 when no answer came.
    pub(crate) status: u16,
    /// What the response did to the cookie.
    pub(crate) set: SetCookie,
    /// What the body showed.
    pub(crate) seen: Seen,
    /// One of the reads after the clients stopped.
    pub(crate) last_look: bool,
}

impl Event {
    /// A request `browser`'s client `client` sent at tick `sent`, not yet
    /// answered.
    pub(crate) fn sent(
        browser: usize,
        client: usize,
        op: Op,
        sent: u64,
        cookie: Option<Sid>,
    ) -> Self {
        Self {
            browser,
            client,
            op,
            sent,
            recv: u64::MAX,
            cookie,
            status: 0,
            set: SetCookie::Keep,
            seen: Seen::Nothing,
            last_look: false,
        }
    }

    fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The request in a line, for a violation's detail.
    fn summary(&self) -> String {
        format!(
            "{} of session {:?} from browser {}, sent at {}, answered at {}: {} {:?}",
            self.op.name(),
            self.cookie,
            self.browser,
            self.sent,
            self.recv,
            self.status,
            self.set
        )
    }
}

impl Op {
    /// Whether the request can destroy the session it carries.
    fn ends_session(self) -> bool {
        matches!(self, Op::Regenerate | Op::Logout | Op::Login)
    }

    /// Whether the request may move the session it carries to a new id (a
    /// sign-in may also start from a fresh one).
    fn moves_session(self) -> bool {
        matches!(self, Op::Regenerate | Op::Login)
    }

    /// Whether the handler takes a writable session, so a commit of it
    /// consumes the flash messages it loaded.
    fn consumes_flash(self) -> bool {
        !matches!(self, Op::Read | Op::Revoke)
    }
}

/// Which invariant a [`Violation`] breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// A counter below the increments acknowledged into its session.
    LostIncrement,
    /// A counter above every increment sent to its session.
    ExtraIncrement,
    /// A client's key holds an older value than its last acknowledged put.
    StalePut,
    /// A client's key holds a value the client had not put yet.
    UnknownPut,
    /// A session destroyed (or found gone) was loaded or written again.
    Resurrected,
    /// A session vanished although nothing destroyed it.
    Vanished,
    /// A flash token showed again after a request consumed it.
    FlashShownTwice,
    /// A flash token showed in a session it was never in.
    FlashInWrongSession,
    /// A fresh session held data.
    FreshNotEmpty,
    /// One id was issued by two requests.
    IdIssuedTwice,
    /// A response that no route of the testbed gives.
    StrangeAnswer,
    /// Two regenerates of one session both moved it, each to its own new
    /// id: a regenerate is a conditional move with one winner.
    Forked,
    /// The memory store holds more (or fewer) sessions than the run leaves,
    /// or the process grew past the bound.
    Memory,
}

impl Kind {
    /// A short name for summaries.
    pub fn name(self) -> &'static str {
        match self {
            Kind::LostIncrement => "lost increment",
            Kind::ExtraIncrement => "extra increment",
            Kind::StalePut => "stale put",
            Kind::UnknownPut => "unknown put",
            Kind::Resurrected => "resurrected session",
            Kind::Vanished => "vanished session",
            Kind::FlashShownTwice => "flash shown twice",
            Kind::FlashInWrongSession => "flash in the wrong session",
            Kind::FreshNotEmpty => "fresh session not empty",
            Kind::IdIssuedTwice => "id issued twice",
            Kind::StrangeAnswer => "strange answer",
            Kind::Forked => "regenerate fork",
            Kind::Memory => "memory",
        }
    }
}

/// An invariant the run broke, with what shows it (sessions by number, never
/// by id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Which invariant.
    pub kind: Kind,
    /// What happened, for a person.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.name(), self.detail)
    }
}

/// What the checker found.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub(crate) violations: Vec<Violation>,
    /// How many sessions the store should hold at the end, at least and at
    /// most.
    pub(crate) live: (usize, usize),
    /// Requests that found their session already destroyed: the legitimate
    /// effect of a logout or regenerate racing them.
    pub(crate) found_gone: usize,
    /// Regenerates of one session that both succeeded, each with its own
    /// new id (the data went to both).
    pub(crate) forks: usize,
}

/// What a request loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum View {
    Stored(Sid),
    Fresh,
    Unknown,
}

/// Times and values of one quantity's changes in one session: increments
/// (value 1 each) or one client's puts (the value put).
#[derive(Default)]
struct Timeline {
    /// (recv, value) of acknowledged changes, by recv.
    acked: Vec<(u64, u64)>,
    /// (sent, value) of changes that may have landed, by sent.
    possible: Vec<(u64, u64)>,
}

impl Timeline {
    /// Sorts both lists by time and turns each value into the largest so
    /// far.
    fn finish(&mut self) {
        for list in [&mut self.acked, &mut self.possible] {
            list.sort_unstable();
            let mut max = 0;
            for entry in list.iter_mut() {
                max = max.max(entry.1);
                entry.1 = max;
            }
        }
    }

    /// How many changes, and the largest value, of `list` before `t`.
    fn before(list: &[(u64, u64)], t: u64) -> (u64, u64) {
        let n = list.partition_point(|&(at, _)| at < t);
        let max = n.checked_sub(1).map_or(0, |last| list[last].1);
        (n as u64, max)
    }

    /// Acknowledged before `t`.
    fn acked_before(&self, t: u64) -> (u64, u64) {
        Self::before(&self.acked, t)
    }

    /// Possibly landed before `t` (sent before it).
    fn possible_before(&self, t: u64) -> (u64, u64) {
        Self::before(&self.possible, t)
    }
}

/// A lower and an upper bound.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Bounds {
    lo: u64,
    hi: u64,
}

/// Everything derived about one session.
#[derive(Default)]
struct Session {
    /// The request whose response first set its id, and whether that was a
    /// regenerate of another session (the parent).
    creator: Option<usize>,
    parent: Option<Sid>,
    children: Vec<(Sid, usize)>,
    /// Answered requests that prove it dead after their `recv`: the earliest.
    dead_since: Option<u64>,
    /// The request that answered at `dead_since`.
    dead_by: Option<usize>,
    /// The earliest `sent` of a logout or regenerate carrying it, or of a
    /// revoke that may sign it out.
    ends_from: Option<u64>,
    /// The user it is signed in as (the browser pair), if it is.
    user: Option<usize>,
    incr: Timeline,
    puts: HashMap<usize, Timeline>,
    counter_base: Bounds,
    put_base: HashMap<usize, Bounds>,
    /// (sent, recv) of answered writable requests committed into it.
    consumers: Vec<(u64, u64)>,
}

impl Session {
    /// Request `by`, answered at `at`, shows it dead.
    fn died(&mut self, at: u64, by: usize) {
        if self.dead_since.is_none_or(|t| at < t) {
            self.dead_since = Some(at);
            self.dead_by = Some(by);
        }
    }

    /// Whether a logout or regenerate of it was sent before `t`.
    fn may_have_ended(&self, t: u64) -> bool {
        self.ends_from.is_some_and(|from| from < t)
    }

    /// Whether it may be gone at `t`: it may have ended, or a request
    /// answered before `t` found it gone.
    fn possibly_dead(&self, t: u64) -> bool {
        self.may_have_ended(t) || self.dead_since.is_some_and(|d| d < t)
    }

    fn counter(&self, sent: u64, recv: u64) -> Bounds {
        Bounds {
            lo: self.counter_base.lo + self.incr.acked_before(sent).0,
            hi: self.counter_base.hi + self.incr.possible_before(recv).0,
        }
    }

    fn put(&self, client: usize, sent: u64, recv: u64) -> Bounds {
        let base = self.put_base.get(&client).copied().unwrap_or_default();
        let Some(line) = self.puts.get(&client) else {
            return base;
        };
        Bounds {
            lo: base.lo.max(line.acked_before(sent).1),
            hi: base.hi.max(line.possible_before(recv).1),
        }
    }
}

/// Which sessions are signed in, and as whom: one a sign-in made is its
/// browser pair's user's; one a regenerate made is its parent's.
fn signed_in(events: &[Event], s: &mut [Session]) {
    let mut order: Vec<Sid> = (0..s.len()).filter(|&n| s[n].creator.is_some()).collect();
    order.sort_by_key(|&n| s[n].creator.map(|i| events[i].recv));
    for n in order {
        let e = &events[s[n].creator.unwrap()];
        s[n].user = match (e.op, s[n].parent) {
            (Op::Login, _) => Some(e.browser / 2),
            (_, Some(p)) => s[p].user,
            _ => None,
        };
    }
}

/// What each revoke of the other devices does to the sessions of its user:
/// a session signed in before the revoke was sent is dead once it is
/// answered; one signed in while it ran, or a revoke that failed, may have
/// ended it. The caller's own session and the ones regenerated from it are
/// spared (a regenerate racing the revoke may go either way).
fn revoked(events: &[Event], s: &mut [Session]) {
    let descends = |s: &[Session], mut n: Sid, from: Sid| loop {
        if n == from {
            return true;
        }
        match s[n].parent {
            Some(p) => n = p,
            None => return false,
        }
    };
    for (i, r) in events.iter().enumerate() {
        let (Op::Revoke, Some(caller)) = (r.op, r.cookie) else {
            continue;
        };
        // 401: the caller was not signed in, so nothing was revoked.
        if r.status == 401 {
            continue;
        }
        let user = r.browser / 2;
        for n in 0..s.len() {
            if s[n].user != Some(user) || descends(s, n, caller) {
                continue;
            }
            let session = &mut s[n];
            session.ends_from = Some(session.ends_from.map_or(r.sent, |t| t.min(r.sent)));
            let before = session.creator.is_some_and(|c| events[c].recv < r.sent);
            if r.ok() && before {
                session.died(r.recv, i);
            }
        }
    }
}

/// Checks a run: `events` in any order, `sessions` ids seen, `clients` per
/// browser.
pub(crate) fn check(events: &[Event], sessions: usize, clients: usize) -> Outcome {
    Checker::new(events, sessions, clients).run()
}

struct Checker<'a> {
    events: &'a [Event],
    clients: usize,
    s: Vec<Session>,
    /// Per flash token: from when on it is certainly gone from each session
    /// it can be in (a session absent from the map never held it).
    tokens: HashMap<u64, HashMap<Sid, u64>>,
    out: Outcome,
}

impl<'a> Checker<'a> {
    fn new(events: &'a [Event], sessions: usize, clients: usize) -> Self {
        let mut s: Vec<Session> = (0..sessions).map(|_| Session::default()).collect();
        let mut out = Outcome::default();
        let mut order: Vec<usize> = (0..events.len()).collect();
        order.sort_by_key(|&i| events[i].recv);
        for &i in &order {
            let e = &events[i];
            if let SetCookie::Set(n) = e.set {
                if e.cookie != Some(n) {
                    match s[n].creator {
                        None => {
                            s[n].creator = Some(i);
                            if let (true, Some(p)) = (e.op.moves_session(), e.cookie) {
                                s[n].parent = Some(p);
                                s[p].children.push((n, i));
                            }
                        }
                        Some(first) => out.violations.push(Violation {
                            kind: Kind::IdIssuedTwice,
                            detail: format!(
                                "browser {}: session #{n} was set by {} at {} and again by {} at {}",
                                e.browser,
                                events[first].op.name(),
                                events[first].recv,
                                e.op.name(),
                                e.recv
                            ),
                        }),
                    }
                }
            }
        }
        for (i, e) in events.iter().enumerate() {
            if let Some(c) = e.cookie {
                let session = &mut s[c];
                if e.op.ends_session() {
                    session.ends_from = Some(session.ends_from.map_or(e.sent, |t| t.min(e.sent)));
                }
                let proves_dead = e.ok()
                    && match e.set {
                        SetCookie::Removed => true,
                        SetCookie::Set(n) => n != c,
                        SetCookie::Keep => e.op.ends_session(),
                    };
                if proves_dead {
                    session.died(e.recv, i);
                }
            }
            let into = match e.set {
                SetCookie::Set(n) if e.ok() => Some(n),
                _ => None,
            };
            let maybe_into = if e.ok() { into } else { e.cookie };
            match e.op {
                Op::Incr => {
                    if let Some(n) = into {
                        s[n].incr.acked.push((e.recv, 1));
                    }
                    if let Some(n) = maybe_into {
                        s[n].incr.possible.push((e.sent, 1));
                    }
                }
                Op::Put => {
                    if let Some(n) = into {
                        let line = s[n].puts.entry(e.client).or_default();
                        line.acked.push((e.recv, e.sent));
                    }
                    if let Some(n) = maybe_into {
                        let line = s[n].puts.entry(e.client).or_default();
                        line.possible.push((e.sent, e.sent));
                    }
                }
                _ => {}
            }
            if let Some(n) = into {
                if e.op.consumes_flash() && e.cookie == Some(n) {
                    s[n].consumers.push((e.sent, e.recv));
                }
            }
        }
        signed_in(events, &mut s);
        revoked(events, &mut s);
        for session in &mut s {
            session.incr.finish();
            for line in session.puts.values_mut() {
                line.finish();
            }
        }
        Self {
            events,
            clients,
            s,
            tokens: HashMap::new(),
            out,
        }
    }

    fn run(mut self) -> Outcome {
        self.bases();
        self.flash_tokens();
        for i in 0..self.events.len() {
            self.observe(i);
        }
        self.summary();
        self.out
    }

    /// What each session made by a regenerate started with, parents first.
    fn bases(&mut self) {
        let mut order: Vec<Sid> = (0..self.s.len()).collect();
        order.sort_by_key(|&n| self.s[n].creator.map_or(0, |i| self.events[i].recv));
        for n in order {
            let (Some(p), Some(r)) = (self.s[n].parent, self.s[n].creator) else {
                continue;
            };
            let r = &self.events[r];
            let parent = &self.s[p];
            // A sign-in may have started from a fresh session instead.
            let floor = |b: Bounds| match r.op {
                Op::Login => Bounds { lo: 0, ..b },
                _ => b,
            };
            let counter = floor(parent.counter(r.sent, r.recv));
            let puts: HashMap<usize, Bounds> = (0..self.clients)
                .map(|c| (c, floor(parent.put(c, r.sent, r.recv))))
                .collect();
            self.s[n].counter_base = counter;
            self.s[n].put_base = puts;
        }
    }

    /// For every flash token: the sessions it can be in, and from when on it
    /// is certainly gone from each.
    fn flash_tokens(&mut self) {
        for f in self.events {
            if f.op != Op::Flash {
                continue;
            }
            let root = match f.set {
                SetCookie::Set(n) if f.ok() => Some(n),
                SetCookie::Removed if f.ok() => None,
                _ => f.cookie,
            };
            let mut gone = HashMap::new();
            if let Some(root) = root {
                let first = self.s[root]
                    .consumers
                    .iter()
                    .filter(|&&(sent, _)| sent > f.recv)
                    .map(|&(_, recv)| recv)
                    .min()
                    .unwrap_or(u64::MAX);
                gone.insert(root, first);
                let mut stack = vec![root];
                while let Some(p) = stack.pop() {
                    for &(child, r) in &self.s[p].children {
                        let r = &self.events[r];
                        let at_birth = f.recv < r.sent || gone[&p] < r.sent;
                        let first = if at_birth {
                            0
                        } else {
                            self.s[child]
                                .consumers
                                .iter()
                                .map(|&(_, recv)| recv)
                                .min()
                                .unwrap_or(u64::MAX)
                        };
                        gone.insert(child, first);
                        stack.push(child);
                    }
                }
            }
            self.tokens.insert(f.sent, gone);
        }
    }

    fn view(&self, e: &Event) -> View {
        if !e.ok() {
            return View::Unknown;
        }
        let Some(c) = e.cookie else {
            return View::Fresh;
        };
        match e.set {
            SetCookie::Set(n) if n == c => View::Stored(c),
            SetCookie::Set(_) if e.op == Op::Regenerate => View::Stored(c),
            // A sign-in moves the session it loaded, or signs a fresh one in
            // when that was gone: the new id does not tell which.
            SetCookie::Set(_) if e.op == Op::Login => View::Unknown,
            SetCookie::Set(_) => View::Fresh,
            // A sign-in may have signed a fresh session in (the loaded one
            // was gone) that a revoke then signed out.
            SetCookie::Removed if e.op == Op::Login => View::Unknown,
            SetCookie::Removed => View::Stored(c),
            SetCookie::Keep => match e.op {
                Op::Regenerate | Op::Logout | Op::Login => View::Fresh,
                Op::Read | Op::Flashed if e.seen.anything() => View::Stored(c),
                Op::Read | Op::Flashed if !self.s[c].possibly_dead(e.recv) => View::Stored(c),
                _ => View::Unknown,
            },
        }
    }

    fn flag(&mut self, kind: Kind, e: &Event, what: String) {
        let when = if e.last_look {
            "the last look".to_owned()
        } else {
            format!("{} sent at {}", e.op.name(), e.sent)
        };
        let session = match e.cookie {
            Some(c) => format!("session #{c}"),
            None => "no cookie".to_owned(),
        };
        self.out.violations.push(Violation {
            kind,
            detail: format!(
                "browser {}, client {}, {session}, {when}: {what}",
                e.browser, e.client
            ),
        });
    }

    fn observe(&mut self, i: usize) {
        let events = self.events;
        let e = &events[i];
        if let Seen::Strange(body) = &e.seen {
            let what = format!("status {}, body {body:?}", e.status);
            self.flag(Kind::StrangeAnswer, e, what);
            return;
        }
        match self.view(e) {
            View::Unknown => {}
            View::Fresh => self.fresh(e),
            View::Stored(c) => self.stored(e, c),
        }
    }

    fn fresh(&mut self, e: &Event) {
        if let Some(c) = e.cookie {
            self.out.found_gone += 1;
            if !self.s[c].may_have_ended(e.recv) {
                let what = "got a fresh session, but no logout or regenerate of it had been sent";
                self.flag(Kind::Vanished, e, what.into());
            }
        }
        let held = match &e.seen {
            Seen::Counter(n) => (*n != 1).then(|| format!("the counter was {}", n - 1)),
            seen if seen.anything() => Some(format!("it showed {seen:?}")),
            _ => None,
        };
        if let Some(what) = held {
            self.flag(Kind::FreshNotEmpty, e, what);
        }
    }

    fn stored(&mut self, e: &Event, c: Sid) {
        if e.set == SetCookie::Removed && !e.op.ends_session() {
            self.out.found_gone += 1;
        }
        if let Some(dead) = self.s[c].dead_since.filter(|&d| d < e.sent) {
            let told = |i: Option<usize>, what: &str| {
                i.map_or_else(String::new, |i| {
                    format!("; {what} {}", self.events[i].summary())
                })
            };
            let what = format!(
                "it loaded the session ({} {:?} {:?}), which a request answered at {dead} had shown destroyed{}{}",
                e.status,
                e.set,
                e.seen,
                told(self.s[c].dead_by, "that was"),
                told(self.s[c].creator, "it was made by"),
            );
            self.flag(Kind::Resurrected, e, what);
            return;
        }
        let mut found = Vec::new();
        let session = &self.s[c];
        let counter = match &e.seen {
            Seen::Counter(n) => Some(n - 1),
            Seen::Whole(shown) => Some(shown.counter),
            _ => None,
        };
        if let Some(v) = counter {
            let b = session.counter(e.sent, e.recv);
            if v < 0 || (v as u64) < b.lo {
                found.push((
                    Kind::LostIncrement,
                    format!(
                        "the counter was {v}, but {} increments had been acknowledged",
                        b.lo
                    ),
                ));
            } else if v as u64 > b.hi {
                found.push((
                    Kind::ExtraIncrement,
                    format!(
                        "the counter was {v}, but at most {} increments had been sent",
                        b.hi
                    ),
                ));
            }
        }
        if let Seen::Whole(shown) = &e.seen {
            if shown.strange {
                found.push((Kind::StrangeAnswer, format!("it showed {shown:?}")));
            }
            for client in 0..self.clients {
                let v = shown
                    .puts
                    .iter()
                    .find(|&&(c, _)| c == client)
                    .map_or(0, |&(_, v)| v);
                let b = session.put(client, e.sent, e.recv);
                if v < b.lo {
                    found.push((
                        Kind::StalePut,
                        format!(
                            "client {client}'s key held {v}, but its put of {} had been acknowledged",
                            b.lo
                        ),
                    ));
                } else if v > b.hi {
                    found.push((
                        Kind::UnknownPut,
                        format!(
                            "client {client}'s key held {v}, but its last put sent was {}",
                            b.hi
                        ),
                    ));
                }
            }
        }
        let tokens: &[u64] = match &e.seen {
            Seen::Flash(tokens) => tokens,
            Seen::Whole(shown) => &shown.flash,
            _ => &[],
        };
        for &token in tokens {
            let gone = self.tokens.get(&token).map(|gone| gone.get(&c));
            match gone {
                None => found.push((
                    Kind::FlashInWrongSession,
                    format!("flash {token} was never sent"),
                )),
                Some(None) => found.push((
                    Kind::FlashInWrongSession,
                    format!(
                        "flash {token} was neither flashed into this session nor into one it was regenerated from"
                    ),
                )),
                Some(Some(&at)) if at < e.sent => found.push((
                    Kind::FlashShownTwice,
                    format!(
                        "flash {token} showed again, though a request answered at {at} had consumed it"
                    ),
                )),
                Some(Some(_)) => {}
            }
        }
        for (kind, what) in found {
            self.flag(kind, e, what);
        }
    }

    fn summary(&mut self) {
        let created = self.s.iter().filter(|s| s.creator.is_some()).count();
        let dead = self
            .s
            .iter()
            .filter(|s| s.creator.is_some() && s.dead_since.is_some())
            .count();
        let maybe_dead = self
            .s
            .iter()
            .filter(|s| s.creator.is_some() && s.possibly_dead(u64::MAX))
            .count();
        // A failed request that could write may have made a session nobody
        // saw.
        let unseen = self
            .events
            .iter()
            .filter(|e| !e.ok() && !matches!(e.op, Op::Read | Op::Logout | Op::Revoke))
            .count();
        self.out.live = (created - maybe_dead, created - dead + unseen);
        let mut regenerated: HashMap<Sid, usize> = HashMap::new();
        let events = self.events;
        for e in events {
            if let (Op::Regenerate, Some(c), SetCookie::Set(n)) = (e.op, e.cookie, e.set) {
                if e.ok() && n != c {
                    let winners = regenerated.entry(c).or_default();
                    *winners += 1;
                    if *winners > 1 {
                        let what = format!("regenerate #{winners} of this session to set a new id");
                        self.flag(Kind::Forked, e, what);
                    }
                }
            }
        }
        self.out.forks = regenerated.values().map(|n| n - 1).sum();
    }
}

#[cfg(test)]
mod tests;
