//! The testbed's benchmark routes on actix-session 0.11.
//!
//! ```text
//! actix-session-testbed --store cookie|redis|none [--port 8080] [--redis URL] [--ttl 7200]
//! ```
//!
//! Same routes and meaning as ours (`session_examples::testbed`):
//!
//! | route | what it does |
//! | --- | --- |
//! | `GET /read` | the `counter` value as text (0 when absent) |
//! | `POST /write` | reads `counter`, adds one, stores it, answers the new value |
//! | `GET /untouched` | `ok`, without touching the session |
//!
//! Settings are matched to our testbed's: cookie `session`, not `Secure`
//! (plain http), a persistent cookie with a `--ttl` idle timeout, the state
//! TTL extended only when the state changes (actix-session's default). The
//! cookie store keeps its default content security, private (AES-GCM), like
//! our cookie driver.

use actix_session::config::PersistentSession;
use actix_session::storage::{CookieSessionStore, RedisSessionStore, SessionStore};
use actix_session::{Session, SessionMiddleware};
use actix_web::cookie::{time, Key};
use actix_web::web;

/// The command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// `cookie`, `redis` or `none` (no session middleware).
    pub store: String,
    /// Port on 127.0.0.1.
    pub port: u16,
    /// `--redis URL`.
    pub redis: String,
    /// Idle timeout in seconds.
    pub ttl: u64,
}

impl Options {
    /// Parses `--store STORE [--port N] [--redis URL] [--ttl SECONDS]`.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut opts = Options {
            store: String::new(),
            port: 8080,
            redis: "redis://127.0.0.1:6379".into(),
            ttl: 7200,
        };
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--store" => opts.store = value()?,
                "--port" => opts.port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
                "--redis" => opts.redis = value()?,
                "--ttl" => opts.ttl = value()?.parse().map_err(|e| format!("--ttl: {e}"))?,
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        match opts.store.as_str() {
            "cookie" | "redis" | "none" => Ok(opts),
            "" => Err("--store is required: cookie, redis or none".into()),
            other => Err(format!(
                "unknown store {other:?}: actix-session has cookie and redis (or none)"
            )),
        }
    }

    /// The middleware for `store`, with the settings described above. The
    /// key encrypts the cookie: make it once and give every worker a clone.
    pub fn middleware<S: SessionStore>(&self, store: S, key: Key) -> SessionMiddleware<S> {
        SessionMiddleware::builder(store, key)
            .cookie_name(COOKIE_NAME.to_owned())
            .cookie_secure(false)
            .session_lifecycle(
                PersistentSession::default().session_ttl(time::Duration::seconds(
                    i64::try_from(self.ttl).unwrap_or(i64::MAX),
                )),
            )
            .build()
    }

    /// The cookie store.
    pub fn cookie_store(&self) -> CookieSessionStore {
        CookieSessionStore::default()
    }

    /// The Redis store (one auto-reconnecting multiplexed connection).
    pub async fn redis_store(&self) -> Result<RedisSessionStore, String> {
        RedisSessionStore::new(self.redis.clone())
            .await
            .map_err(|e| format!("connecting to {}: {e}", self.redis))
    }
}

/// The session cookie's name, the same as our testbed's.
pub const COOKIE_NAME: &str = "session";

/// Registers the benchmark routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/read", web::get().to(read))
        .route("/write", web::post().to(write))
        .route("/untouched", web::get().to(untouched));
}

async fn read(session: Session) -> actix_web::Result<String> {
    Ok(session.get::<i64>("counter")?.unwrap_or(0).to_string())
}

async fn write(session: Session) -> actix_web::Result<String> {
    let next = session.get::<i64>("counter")?.unwrap_or(0) + 1;
    session.insert("counter", next)?;
    Ok(next.to_string())
}

async fn untouched() -> &'static str {
    "ok"
}
