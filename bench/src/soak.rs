//! A soak: many browsers, each with several tabs sharing one cookie jar,
//! doing increments, puts, flashes, regenerates, logouts, sign-ins and
//! revokes of the other devices in parallel
//! against two app instances on one store, for a bounded time; then a
//! checker that compares what every session holds with what the
//! acknowledged responses imply.
//!
//! ```text
//! cargo run --release -p session-bench --features redis,postgres --bin soak -- \
//!     --store memory|redis|postgres [--seconds 60] [--sessions 16] [--clients 4] [--seed N]
//!     [--redis URL] [--database-url URL] [--rss-limit-mib 256] [--latency-us 0]
//!     [--broken drop[:N]|ignore-version|resurrect]
//! ```
//!
//! Each of `--sessions` browsers has `--clients` clients (tabs) that loop
//! until the time is up: each picks an [`Op`] at random (seeded), sends it
//! with the browser's current cookie to one of the two instances at random,
//! and applies the response's `Set-Cookie` to the shared jar, as a browser
//! does (so a late answer may put back an id a regenerate has retired; the
//! next request then gets a fresh session, which the checker allows). After
//! the clients stop, every id the run saw is read once more with
//! `GET /session`.
//!
//! The two instances are the testbed's routes
//! ([`session_examples::testbed::routes`]) behind two
//! [`Server`]s, each with its own
//! middleware (its own commit gate) over its own
//! driver: one memory driver shared by both, or two drivers on one Redis or
//! PostgreSQL. Every driver sits behind a
//! [`Forward`](session_test_support::driver::Forward), which counts the
//! compare-and-set conflicts and can be told to get `update` wrong
//! ([`Store::break_updates`]) to show that the checker notices.
//!
//! What must hold is listed in the checker's docs (`soak/check.rs`): no
//! lost increment, no put that is not the last acknowledged put of its
//! client, no resurrected session (a revoked one included), no session that
//! vanishes without a logout, regenerate or revoke, no flash shown twice; and for the memory store, as many
//! sessions held at the end as the run leaves (plus a device index per
//! user that signed in), and the process's resident
//! memory grown by less than `--rss-limit-mib`.
//!
//! To add an operation: a variant of [`Op`] with its weight in [`Op::ALL`],
//! its request in `Op::request`, and what its answer implies in the checker
//! (`Op::ends_session` and the `match e.op` in `check.rs`).

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde_json::Value;
use session_test_support::http::{Browser, Reply, Server};

mod check;
mod store;

pub use check::{Kind, Violation};
pub use session_test_support::driver::BrokenUpdate;
pub use store::{Store, StoreKind};

use check::{Event, Seen, SetCookie, Shown, Sid};

/// What a client does in one request, and how often. The keys are chosen so
/// that the checker knows who wrote what: one counter per browser, one key
/// per client for puts and for flashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Op {
    /// `POST /incr/hits`: the browser's shared counter, plus one.
    Incr,
    /// `PUT /kv/p{client}` with a value larger than any the client put
    /// before.
    Put,
    /// `POST /flash/f{client}` with a token no other request uses.
    Flash,
    /// `GET /flashed`: shows (and so consumes) the flash messages.
    Flashed,
    /// `GET /session`: the whole session, read-only.
    Read,
    /// `POST /regenerate`: the same data under a new id.
    Regenerate,
    /// `POST /logout`: destroys the session.
    Logout,
    /// `POST /auth/login/u{pair}`: signs in as the user the browser shares
    /// with its pair (browsers `2k` and `2k + 1` are user `k`): a regenerate
    /// that also records the owner in the user's device index.
    Login,
    /// `DELETE /auth/devices/others`: signs the user out of every session
    /// but this one, the pair browser's included (401 when this session is
    /// not signed in).
    Revoke,
}

impl Op {
    /// Every operation with its weight: how often a client picks it,
    /// relative to the others.
    pub const ALL: [(Op, u32); 9] = [
        (Op::Incr, 30),
        (Op::Put, 20),
        (Op::Flash, 12),
        (Op::Flashed, 12),
        (Op::Read, 14),
        (Op::Regenerate, 7),
        (Op::Logout, 5),
        (Op::Login, 4),
        (Op::Revoke, 3),
    ];

    /// A short name for summaries.
    pub fn name(self) -> &'static str {
        match self {
            Op::Incr => "incr",
            Op::Put => "put",
            Op::Flash => "flash",
            Op::Flashed => "flashed",
            Op::Read => "read",
            Op::Regenerate => "regenerate",
            Op::Logout => "logout",
            Op::Login => "login",
            Op::Revoke => "revoke",
        }
    }

    /// The request of `browser`'s `client`: method, path and JSON body.
    /// `value` is unique in the run and grows with each request a client
    /// sends.
    fn request(
        self,
        browser: usize,
        client: usize,
        value: u64,
    ) -> (&'static str, String, Option<String>) {
        match self {
            Op::Incr => ("POST", "/incr/hits".into(), None),
            Op::Put => ("PUT", format!("/kv/p{client}"), Some(value.to_string())),
            Op::Flash => ("POST", format!("/flash/f{client}"), Some(value.to_string())),
            Op::Flashed => ("GET", "/flashed".into(), None),
            Op::Read => ("GET", "/session".into(), None),
            Op::Regenerate => ("POST", "/regenerate".into(), None),
            Op::Logout => ("POST", "/logout".into(), None),
            Op::Login => ("POST", format!("/auth/login/u{}", browser / 2), None),
            Op::Revoke => ("DELETE", "/auth/devices/others".into(), None),
        }
    }
}

/// A soak's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The store.
    pub store: StoreKind,
    /// How long the clients run.
    pub duration: Duration,
    /// Browsers, each with its own cookie jar.
    pub sessions: usize,
    /// Clients (tabs) per browser, sharing its jar.
    pub clients: usize,
    /// Seeds the clients' choices.
    pub seed: u64,
    /// The Redis for [`StoreKind::Redis`].
    pub redis_url: String,
    /// The PostgreSQL database for [`StoreKind::Postgres`].
    pub database_url: String,
    /// For the memory store: how much the process's resident memory may
    /// grow during the run, in MiB, beyond what the run legitimately holds
    /// ([`SESSION_ALLOWANCE`] per session the store keeps, and one and a
    /// half times the bytes of the run's own record of requests).
    pub rss_limit_mib: u64,
    /// Every store call waits this long first (zero: no wait), so that
    /// parallel requests overlap more; most useful on the memory store,
    /// whose calls are otherwise too quick to race often.
    pub latency: Duration,
    /// Breaks the drivers' `update` on purpose.
    pub broken: Option<BrokenUpdate>,
}

impl Default for Config {
    /// The binary's defaults: the memory store for a minute, 16 browsers of 4
    /// clients, the machine's Redis and PostgreSQL, a seed from the clock.
    fn default() -> Self {
        Self {
            store: StoreKind::Memory,
            duration: Duration::from_secs(60),
            sessions: 16,
            clients: 4,
            seed: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_secs() ^ u64::from(d.subsec_nanos())),
            redis_url: "redis://127.0.0.1:6379".into(),
            database_url: session_test_support::sql::postgres_url(),
            rss_limit_mib: 256,
            latency: Duration::ZERO,
            broken: None,
        }
    }
}

impl Config {
    /// Parses the binary's flags (see the module docs) over the defaults.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut config = Config::default();
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
            let number = |text: String| text.parse::<u64>().map_err(|e| format!("{flag}: {e}"));
            match flag.as_str() {
                "--store" => config.store = StoreKind::parse(&value()?)?,
                "--seconds" => config.duration = Duration::from_secs(number(value()?)?),
                "--sessions" => config.sessions = number(value()?)? as usize,
                "--clients" => config.clients = number(value()?)? as usize,
                "--seed" => config.seed = number(value()?)?,
                "--redis" => config.redis_url = value()?,
                "--database-url" => config.database_url = value()?,
                "--rss-limit-mib" => config.rss_limit_mib = number(value()?)?,
                "--latency-us" => config.latency = Duration::from_micros(number(value()?)?),
                "--broken" => config.broken = Some(broken(&value()?)?),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        if config.sessions == 0 || config.clients == 0 {
            return Err("--sessions and --clients must be at least 1".into());
        }
        Ok(config)
    }
}

fn broken(name: &str) -> Result<BrokenUpdate, String> {
    match name.split_once(':') {
        _ if name == "drop" => Ok(BrokenUpdate::DropEvery(10)),
        Some(("drop", n)) => match n.parse() {
            Ok(n) if n > 0 => Ok(BrokenUpdate::DropEvery(n)),
            _ => Err(format!(
                "--broken drop:N needs a whole number N > 0, not {n:?}"
            )),
        },
        _ if name == "ignore-version" => Ok(BrokenUpdate::IgnoreVersion),
        _ if name == "resurrect" => Ok(BrokenUpdate::Resurrect),
        _ => Err(format!(
            "unknown --broken {name:?}: drop, drop:N, ignore-version or resurrect"
        )),
    }
}

/// The resident memory a session held by the memory store may take, for
/// the soak's bound: twice what `memory-footprint` measures for a typical
/// small session (see docs/performance.md).
pub const SESSION_ALLOWANCE: usize = 4096;

/// Requests of one [`Op`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpCount {
    /// Sent.
    pub sent: usize,
    /// Answered 2xx.
    pub acknowledged: usize,
    /// Answered otherwise, or not at all.
    pub failed: usize,
}

/// What a soak did and found.
#[derive(Debug)]
pub struct Report {
    /// The settings.
    pub config: Config,
    /// How long the clients ran.
    pub elapsed: Duration,
    /// Requests by operation (the last look after the run left out).
    pub ops: BTreeMap<Op, OpCount>,
    /// Compare-and-set conflicts the drivers answered (each one a merge and
    /// retry).
    pub conflicts: usize,
    /// Session ids the run saw.
    pub sessions: usize,
    /// Requests that found their session already destroyed or moved: the
    /// legitimate effect of a logout or regenerate racing them.
    pub found_gone: usize,
    /// Regenerates of one session that both won, each with its own new id.
    pub regenerate_forks: usize,
    /// For the memory store: sessions held at the end, and how many the run
    /// leaves (at least, at most).
    pub held: Option<(usize, usize, usize)>,
    /// Growth of the process's resident memory over the run, and the bound
    /// it must stay under (memory store only), in bytes.
    pub rss: Option<(usize, Option<usize>)>,
    /// Clients that stopped on a transport error (their last request counts
    /// as failed).
    pub client_errors: usize,
    /// What the checker found.
    pub violations: Vec<Violation>,
}

impl Report {
    /// Whether every invariant held and every client ran to the end.
    pub fn passed(&self) -> bool {
        self.violations.is_empty() && self.client_errors == 0
    }

    /// The violations of `kind`.
    pub fn count(&self, kind: Kind) -> usize {
        self.violations.iter().filter(|v| v.kind == kind).count()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        writeln!(
            f,
            "soak: {} store, two app instances, {} browsers x {} clients, {:.1} s, seed {}{}{}",
            c.store.name(),
            c.sessions,
            c.clients,
            self.elapsed.as_secs_f64(),
            c.seed,
            match c.latency {
                l if l.is_zero() => String::new(),
                l => format!(", {} us per store call", l.as_micros()),
            },
            match c.broken {
                Some(how) => format!(", update broken on purpose ({how:?})"),
                None => String::new(),
            }
        )?;
        let total: OpCount = self.ops.values().fold(OpCount::default(), |a, b| OpCount {
            sent: a.sent + b.sent,
            acknowledged: a.acknowledged + b.acknowledged,
            failed: a.failed + b.failed,
        });
        writeln!(
            f,
            "requests: {} ({:.0}/s), {} acknowledged, {} failed",
            total.sent,
            total.sent as f64 / self.elapsed.as_secs_f64().max(1e-9),
            total.acknowledged,
            total.failed
        )?;
        for (op, n) in &self.ops {
            writeln!(
                f,
                "  {:<10} {:>8} sent {:>8} acknowledged {:>6} failed",
                op.name(),
                n.sent,
                n.acknowledged,
                n.failed
            )?;
        }
        writeln!(f, "compare-and-set conflicts: {}", self.conflicts)?;
        writeln!(
            f,
            "sessions: {} ids; {} requests found theirs gone (a logout, regenerate, sign-in or revoke won the race); {} regenerate forks",
            self.sessions, self.found_gone, self.regenerate_forks
        )?;
        if let Some((held, lo, hi)) = self.held {
            writeln!(
                f,
                "memory store: {held} sessions held at the end; the run leaves {lo} to {hi}"
            )?;
        }
        let mib = |bytes: usize| bytes as f64 / f64::from(1 << 20);
        match self.rss {
            Some((growth, Some(bound))) => writeln!(
                f,
                "resident memory grew {:.1} MiB; bound {:.1} MiB ({} MiB, {} KiB per session held, 1.5 x the run's record of requests)",
                mib(growth),
                mib(bound),
                c.rss_limit_mib,
                SESSION_ALLOWANCE >> 10
            )?,
            Some((growth, None)) => writeln!(f, "resident memory grew {:.1} MiB", mib(growth))?,
            None => {}
        }
        if self.client_errors > 0 {
            writeln!(
                f,
                "clients stopped by transport errors: {}",
                self.client_errors
            )?;
        }
        if self.violations.is_empty() {
            return writeln!(f, "violations: none");
        }
        let mut by_kind: BTreeMap<Kind, usize> = BTreeMap::new();
        for v in &self.violations {
            *by_kind.entry(v.kind).or_default() += 1;
        }
        writeln!(f, "violations: {}", self.violations.len())?;
        for (kind, n) in by_kind {
            writeln!(f, "  {:<26} {n}", kind.name())?;
        }
        const SHOWN: usize = 20;
        writeln!(f, "the first {}:", SHOWN.min(self.violations.len()))?;
        for v in self.violations.iter().take(SHOWN) {
            writeln!(f, "  - {v}")?;
        }
        Ok(())
    }
}

/// Opens the store the config names and runs the soak on it. Call it on an
/// actix-web runtime (`#[actix_web::main]`, `#[actix_rt::test]`).
pub async fn run(config: &Config) -> Result<Report, String> {
    let store = Store::open(config.store, &config.redis_url, &config.database_url).await?;
    run_on(&store, config).await
}

/// Runs the soak on `store` (`config.store` is only for the report), with
/// the store's calls delayed and its `update` broken as `config.latency` and
/// `config.broken` say for the run. Call it on an actix-web runtime.
pub async fn run_on(store: &Store, config: &Config) -> Result<Report, String> {
    store.delay(config.latency);
    store.break_updates(config.broken);
    let rss_before = crate::rss::resident();
    let servers = Rc::new([store.server(0)?, store.server(1)?]);
    let record = Rc::new(RefCell::new(Recorder::default()));
    let started = Instant::now();
    let deadline = started + config.duration;
    let mut clients = Vec::new();
    for browser in 0..config.sessions {
        let jar = Rc::new(Cell::new(None));
        for client in 0..config.clients {
            let client = Client {
                browser,
                client,
                jar: Rc::clone(&jar),
                rng: Rng::new(config.seed, browser, client),
                http: Browser::new(),
                servers: Rc::clone(&servers),
                record: Rc::clone(&record),
            };
            clients.push(actix_web::rt::spawn(client.run(deadline)));
        }
    }
    let mut client_errors = 0;
    for client in clients {
        if client.await.is_err() {
            client_errors += 1;
        }
    }
    let elapsed = started.elapsed();
    client_errors += last_look(&servers, &record).await;
    let held = store.held();
    let rss_growth = rss_before
        .zip(crate::rss::resident())
        .map(|(before, after)| after.saturating_sub(before));
    store.break_updates(None);
    store.delay(Duration::ZERO);

    let record = record.borrow();
    let record_bytes = record.bytes();
    let mut ops: BTreeMap<Op, OpCount> = BTreeMap::new();
    for e in record.events.iter().filter(|e| !e.last_look) {
        let n = ops.entry(e.op).or_default();
        n.sent += 1;
        // A revoke from a session that is not signed in answers 401: an
        // answer, not a failure.
        if (200..300).contains(&e.status) || (e.op == Op::Revoke && e.status == 401) {
            n.acknowledged += 1;
        } else {
            n.failed += 1;
        }
    }
    let outcome = check::check(&record.events, record.cookies.len(), config.clients);
    let mut violations = outcome.violations;
    // The memory store also holds one device index per user that signed in.
    let users: std::collections::HashSet<usize> = record
        .events
        .iter()
        .filter(|e| e.op == Op::Login)
        .map(|e| e.browser / 2)
        .collect();
    let (lo, hi) = (outcome.live.0, outcome.live.1 + users.len());
    if let Some(held) = held.filter(|&held| held < lo || held > hi) {
        violations.push(Violation {
            kind: Kind::Memory,
            detail: format!(
                "the memory store holds {held} sessions, but the run leaves between {lo} and {hi}"
            ),
        });
    }
    let bound = held.map(|held| {
        let allowance = usize::try_from(config.rss_limit_mib << 20).unwrap_or(usize::MAX);
        allowance
            .saturating_add(held.saturating_mul(SESSION_ALLOWANCE))
            .saturating_add(record_bytes.saturating_mul(3) / 2)
    });
    if let Some((growth, bound)) = rss_growth.zip(bound).filter(|&(g, b)| g > b) {
        violations.push(Violation {
            kind: Kind::Memory,
            detail: format!(
                "resident memory grew {} MiB, more than the bound of {} MiB",
                growth >> 20,
                bound >> 20
            ),
        });
    }
    Ok(Report {
        config: config.clone(),
        elapsed,
        ops,
        conflicts: store.conflicts(),
        sessions: record.cookies.len(),
        found_gone: outcome.found_gone,
        regenerate_forks: outcome.forks,
        held: held.map(|held| (held, lo, hi)),
        rss: rss_growth.map(|growth| (growth, bound)),
        client_errors,
        violations,
    })
}

/// Every request of the run, and the ids it saw (kept here, never printed).
#[derive(Default)]
struct Recorder {
    clock: u64,
    events: Vec<Event>,
    ids: HashMap<String, Sid>,
    cookies: Vec<String>,
    /// The browser whose jar got each id.
    owner: Vec<usize>,
}

impl Recorder {
    /// Roughly what the record takes in resident memory (the unused tail of
    /// a vector's capacity is never touched, so it is left out).
    fn bytes(&self) -> usize {
        let events = self.events.len() * std::mem::size_of::<Event>();
        let seen: usize = self.events.iter().map(|e| e.seen.heap_bytes()).sum();
        // Each id twice (the map's key and the list), with their headers,
        // the map's slot and the owner.
        let ids: usize = self
            .cookies
            .iter()
            .map(|c| 2 * (c.capacity() + 24) + 16)
            .sum();
        events + seen + ids
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    fn sid(&mut self, cookie: &str, browser: usize) -> Sid {
        if let Some(&sid) = self.ids.get(cookie) {
            return sid;
        }
        let sid = self.cookies.len();
        self.ids.insert(cookie.to_owned(), sid);
        self.cookies.push(cookie.to_owned());
        self.owner.push(browser);
        sid
    }

    /// Records a request as sent, before it goes out: if its client stops
    /// on a transport error, it stays as a request that may have committed.
    fn sent(&mut self, browser: usize, client: usize, op: Op, cookie: Option<Sid>) -> usize {
        let sent = self.tick();
        self.events
            .push(Event::sent(browser, client, op, sent, cookie));
        self.events.len() - 1
    }

    /// Records the answer to request `i`, with the cookie the browser holds
    /// after it.
    fn answered(&mut self, i: usize, reply: &Reply, cookie: Option<&str>) -> SetCookie {
        let recv = self.tick();
        let browser = self.events[i].browser;
        let set = match (reply.set_cookie, cookie) {
            (false, _) => SetCookie::Keep,
            (true, Some(value)) => SetCookie::Set(self.sid(value, browser)),
            (true, None) => SetCookie::Removed,
        };
        let e = &mut self.events[i];
        e.recv = recv;
        e.status = reply.status.as_u16();
        e.set = set;
        e.seen = seen(e.op, reply);
        set
    }
}

/// One tab of a browser.
struct Client {
    browser: usize,
    client: usize,
    jar: Rc<Cell<Option<Sid>>>,
    rng: Rng,
    http: Browser,
    servers: Rc<[Server; 2]>,
    record: Rc<RefCell<Recorder>>,
}

impl Client {
    async fn run(mut self, deadline: Instant) {
        while Instant::now() < deadline {
            let op = self.rng.op();
            let server = Rc::clone(&self.servers);
            let server = &server[self.rng.below(2) as usize];
            let cookie = self.jar.get();
            let (i, value) = {
                let mut record = self.record.borrow_mut();
                let value = cookie.map(|sid| record.cookies[sid].clone());
                (record.sent(self.browser, self.client, op, cookie), value)
            };
            self.http.set_cookie(value.as_deref());
            let unique = self.record.borrow().events[i].sent;
            let (method, path, body) = op.request(self.browser, self.client, unique);
            let reply = self.http.send(server, method, &path, body.as_deref()).await;
            let set = self
                .record
                .borrow_mut()
                .answered(i, &reply, self.http.cookie());
            match set {
                SetCookie::Set(sid) => self.jar.set(Some(sid)),
                SetCookie::Removed => self.jar.set(None),
                SetCookie::Keep => {}
            }
        }
    }
}

/// Reads every id the run saw once more, after the clients stopped; returns
/// how many readers stopped on a transport error.
async fn last_look(servers: &Rc<[Server; 2]>, record: &Rc<RefCell<Recorder>>) -> usize {
    const READERS: usize = 8;
    let ids = record.borrow().cookies.len();
    let mut readers = Vec::new();
    for reader in 0..READERS {
        let servers = Rc::clone(servers);
        let record = Rc::clone(record);
        readers.push(actix_web::rt::spawn(async move {
            let mut http = Browser::new();
            for sid in (reader..ids).step_by(READERS) {
                let (i, cookie) = {
                    let mut record = record.borrow_mut();
                    let cookie = record.cookies[sid].clone();
                    let browser = record.owner[sid];
                    let i = record.sent(browser, 0, Op::Read, Some(sid));
                    record.events[i].last_look = true;
                    (i, cookie)
                };
                http.set_cookie(Some(&cookie));
                let reply = http.send(&servers[sid % 2], "GET", "/session", None).await;
                record.borrow_mut().answered(i, &reply, http.cookie());
            }
        }));
    }
    let mut errors = 0;
    for reader in readers {
        if reader.await.is_err() {
            errors += 1;
        }
    }
    errors
}

/// What a response's body shows, for the checker.
fn seen(op: Op, reply: &Reply) -> Seen {
    if reply.status.is_server_error() {
        return Seen::Nothing;
    }
    let strange = || Seen::Strange(reply.body.chars().take(200).collect());
    if op == Op::Revoke && reply.status == actix_web::http::StatusCode::UNAUTHORIZED {
        // The session was not signed in: nothing to revoke.
        return Seen::Nothing;
    }
    if !reply.status.is_success() {
        return strange();
    }
    match op {
        Op::Incr => reply.body.parse().map_or_else(|_| strange(), Seen::Counter),
        Op::Flashed => match serde_json::from_str::<Value>(&reply.body) {
            Ok(Value::Object(flash)) => match tokens(&flash) {
                Some(tokens) => Seen::Flash(tokens),
                None => strange(),
            },
            _ => strange(),
        },
        Op::Read => match serde_json::from_str::<Value>(&reply.body) {
            Ok(whole) => Seen::Whole(Box::new(shown(&whole))),
            Err(_) => strange(),
        },
        // How many sessions it signed out.
        Op::Revoke if reply.body.parse::<u64>().is_ok() => Seen::Nothing,
        _ if reply.body.is_empty() => Seen::Nothing,
        _ => strange(),
    }
}

/// The tokens of a flash map whose keys are `f{client}`; `None` if anything
/// else is in it.
fn tokens(flash: &serde_json::Map<String, Value>) -> Option<Vec<u64>> {
    flash
        .iter()
        .map(|(k, v)| {
            let client = k.strip_prefix('f')?.parse::<usize>().ok();
            client.and(v.as_u64())
        })
        .collect()
}

/// `GET /session`'s `{"data": .., "flash": ..}`.
fn shown(whole: &Value) -> Shown {
    let mut shown = Shown::default();
    let (Some(data), Some(flash)) = (
        whole.get("data").and_then(Value::as_object),
        whole.get("flash").and_then(Value::as_object),
    ) else {
        shown.strange = true;
        return shown;
    };
    shown.anything = !data.is_empty() || !flash.is_empty();
    for (key, value) in data {
        let client = key.strip_prefix('p').and_then(|c| c.parse::<usize>().ok());
        match (key.as_str(), client) {
            ("hits", _) => match value.as_i64() {
                Some(n) => shown.counter = n,
                None => shown.strange = true,
            },
            (_, Some(client)) => match value.as_u64() {
                Some(v) => shown.puts.push((client, v)),
                None => shown.strange = true,
            },
            _ => shown.strange = true,
        }
    }
    match tokens(flash) {
        Some(tokens) => shown.flash = tokens,
        None => shown.strange = true,
    }
    shown
}

/// A small seeded random source (SplitMix64): a seed replays the clients'
/// choices (the timing, and so the interleaving, differs run to run).
struct Rng(u64);

impl Rng {
    fn new(seed: u64, browser: usize, client: usize) -> Self {
        let stream = ((browser as u64) << 20) ^ client as u64;
        let mut rng = Rng(seed ^ stream.wrapping_mul(0xA076_1D64_78BD_642F));
        rng.next();
        rng
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn op(&mut self) -> Op {
        let total: u32 = Op::ALL.iter().map(|&(_, w)| w).sum();
        let mut pick = self.below(u64::from(total)) as u32;
        for (op, weight) in Op::ALL {
            if pick < weight {
                return op;
            }
            pick -= weight;
        }
        Op::Read
    }
}
