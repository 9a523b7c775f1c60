//! The testbed: a server that exercises the session API over HTTP. Our
//! integration tests and benchmarks drive it; `examples/testbed.rs` runs it.
//!
//! ```text
//! cargo run --release --example testbed -- --store STORE [--port 8080] [--ttl 7200]
//!     [--renew-id-after SECONDS [--grace SECONDS]]
//!     [--dir PATH] [--redis URL | --redis-cluster HOST:PORT,...] [--prefix PREFIX]
//!     [--key HEX64 [--old-key HEX64]...] [--database-url URL [--table NAME]]
//! ```
//!
//! `STORE` is `none` or any driver compiled in (`memory`, and with their
//! cargo features `cookie`, `file`, `redis`, `sqlite`, `postgres`, `mysql`).
//!
//! The SQL stores need `--database-url` (for example
//! `postgres://postgres@127.0.0.1:5432/test`, `mysql://root@127.0.0.1:3306/test`
//! or `sqlite://testbed.db`); the testbed creates the table (`sessions`, or
//! `--table NAME`) at start-up and deletes expired rows every
//! [`SQL_CLEANUP_EVERY`].
//!
//! `--store none` serves the same first four routes with no session
//! middleware at all (constant answers), as the baseline for benchmarks.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::USER_AGENT;
use actix_web::{web, HttpRequest, HttpResponse, Responder};
use serde::Serialize;
use serde_json::Value;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
use session_actix::driver::sql::{SqlDriver, DEFAULT_CLEANUP_BATCH};
use session_actix::driver::{DriverRegistry, DriverSettings, SessionDriver};
use session_actix::{
    DeviceInfo, Devices, ReadonlySession, Session, SessionError, SessionMiddleware, TypedSession,
};

/// The testbed's command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// `none` or a driver name.
    pub store: String,
    /// Port on 127.0.0.1.
    pub port: u16,
    /// Idle timeout in seconds.
    pub ttl: u64,
    /// `--dir PATH` for the file driver.
    pub dir: Option<String>,
    /// `--redis URL` for the Redis driver.
    pub redis: Option<String>,
    /// `--redis-cluster HOST:PORT,...` for Redis Cluster.
    pub redis_cluster: Option<String>,
    /// `--prefix PREFIX`, the Redis driver's key prefix (default
    /// `session:`).
    pub prefix: Option<String>,
    /// `--key HEX64` for the cookie driver.
    pub key: Option<String>,
    /// `--old-key HEX64`, repeatable, for the cookie driver.
    pub old_keys: Vec<String>,
    /// `--database-url URL` for the SQL drivers.
    pub database_url: Option<String>,
    /// `--table NAME` for the SQL drivers.
    pub table: Option<String>,
    /// `--renew-id-after SECONDS`: renew session ids this old.
    pub renew_id_after: Option<u64>,
    /// `--grace SECONDS`: how long a renewed id's old id forwards.
    pub grace: Option<u64>,
}

impl Options {
    /// Parses `--store STORE [--port N] [--ttl SECONDS]` and the driver
    /// flags.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut opts = Options {
            port: 8080,
            ttl: 7200,
            ..Options::default()
        };
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--store" => opts.store = value()?,
                "--port" => opts.port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
                "--ttl" => opts.ttl = value()?.parse().map_err(|e| format!("--ttl: {e}"))?,
                "--dir" => opts.dir = Some(value()?),
                "--redis" => opts.redis = Some(value()?),
                "--redis-cluster" => opts.redis_cluster = Some(value()?),
                "--prefix" => opts.prefix = Some(value()?),
                "--key" => opts.key = Some(value()?),
                "--old-key" => opts.old_keys.push(value()?),
                "--database-url" => opts.database_url = Some(value()?),
                "--table" => opts.table = Some(value()?),
                "--renew-id-after" => {
                    let secs = value()?
                        .parse()
                        .map_err(|e| format!("--renew-id-after: {e}"))?;
                    opts.renew_id_after = Some(secs);
                }
                "--grace" => {
                    opts.grace = Some(value()?.parse().map_err(|e| format!("--grace: {e}"))?);
                }
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        if opts.store.is_empty() {
            return Err("--store is required (none, or a driver name such as memory)".into());
        }
        Ok(opts)
    }

    /// The driver settings the flags describe.
    pub fn driver_settings(&self) -> DriverSettings {
        let mut s = DriverSettings::new(self.store.as_str());
        s.cookie_name = Some(COOKIE_NAME.into());
        s.dir = self.dir.clone().map(Into::into);
        s.key = self.key.clone();
        s.old_keys = self.old_keys.clone();
        s.table = self.table.clone();
        s.prefix = self.prefix.clone();
        s.url = match self.store.as_str() {
            "redis" if self.redis_cluster.is_some() => {
                s.driver = "redis-cluster".into();
                self.redis_cluster.clone()
            }
            "redis" => Some(
                self.redis
                    .clone()
                    .unwrap_or_else(|| "redis://127.0.0.1:6379".into()),
            ),
            _ => self.database_url.clone(),
        };
        s
    }

    /// The driver named by `--store`, or `None` for `--store none`.
    pub async fn driver(&self) -> Result<Option<Arc<dyn SessionDriver>>, String> {
        if self.store == "none" {
            return Ok(None);
        }
        #[allow(unused_mut)]
        let mut settings = self.driver_settings();
        #[cfg(feature = "cookie")]
        if self.store == "cookie" && settings.key.is_none() {
            eprintln!("testbed: no --key given; generated a random cookie key for this run (cookies will not survive a restart)");
            settings.key = Some(session_actix::CookieKey::generate().to_hex());
        }
        #[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
        if matches!(self.store.as_str(), "sqlite" | "postgres" | "mysql") {
            let driver = self.sql_driver().await?;
            return Ok(Some(Arc::new(driver)));
        }
        DriverRegistry::with_builtins()
            .build(&settings)
            .await
            .map(Some)
            .map_err(|e| e.to_string())
    }

    /// For `--store sqlite|postgres|mysql`: the driver for `--database-url`,
    /// with its table created if missing, and a task (detached, so it lasts
    /// as long as the runtime) that deletes expired rows every
    /// [`SQL_CLEANUP_EVERY`].
    #[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
    pub async fn sql_driver(&self) -> Result<SqlDriver, String> {
        if self.database_url.is_none() {
            return Err(format!("--store {} needs --database-url URL", self.store));
        }
        let driver = SqlDriver::from_settings(&self.driver_settings())
            .await
            .map_err(|e| e.to_string())?;
        driver
            .migrate()
            .await
            .map_err(|e| format!("creating the session table failed: {e}"))?;
        driver
            .spawn_cleanup(SQL_CLEANUP_EVERY, DEFAULT_CLEANUP_BATCH)
            .detach();
        Ok(driver)
    }

    /// The session middleware for `driver` with the testbed's settings:
    /// `Secure` off (it serves plain http), idle timeout `--ttl`, id renewal
    /// from `--renew-id-after` and `--grace`, the rest at the defaults.
    pub fn middleware(&self, driver: Arc<dyn SessionDriver>) -> Result<SessionMiddleware, String> {
        let ttl = Duration::from_secs(self.ttl);
        let mut builder = SessionMiddleware::builder_dyn(driver)
            .cookie_name(COOKIE_NAME)
            .secure(false)
            .idle_timeout(ttl)
            .refresh_after(Duration::from_secs(60).min(ttl / 2));
        if let Some(after) = self.renew_id_after {
            builder = builder.renew_id_after(Duration::from_secs(after));
        }
        if let Some(grace) = self.grace {
            builder = builder.renew_grace(Duration::from_secs(grace));
        }
        builder.build().map_err(|e| e.to_string())
    }
}

/// How often the testbed deletes expired rows of a SQL store.
pub const SQL_CLEANUP_EVERY: Duration = Duration::from_secs(10);

/// The testbed's session cookie name (the default).
pub const COOKIE_NAME: &str = "session";

/// Registers the session routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    // The benchmarked routes come first, in `bare_routes`' order: actix-web
    // tries routes in turn, so matching costs the same as on the baseline.
    cfg.route("/read", web::get().to(read))
        .route("/write", web::post().to(write))
        .route("/login", web::get().to(login))
        .route("/untouched", web::get().to(untouched))
        .route("/kv/{key}", web::get().to(kv_get))
        .route("/kv/{key}", web::put().to(kv_put))
        .route("/kv/{key}", web::delete().to(kv_delete))
        .route("/incr/{key}", web::post().to(incr))
        .route("/regenerate", web::post().to(regenerate))
        .route("/logout", web::post().to(logout))
        .route("/fail", web::get().to(fail))
        .route("/flash/{key}", web::post().to(flash))
        .route("/flashed", web::get().to(flashed))
        .route("/session", web::get().to(whole_session));
    cart_routes(cfg);
    auth_routes(cfg);
}

/// The first four routes with constant answers and no session: the
/// `--store none` baseline.
pub fn bare_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/read", web::get().to(|| async { "0" }))
        .route("/write", web::post().to(|| async { "1" }))
        .route("/login", web::get().to(|| async { "ok" }))
        .route("/untouched", web::get().to(untouched));
}

async fn read(session: Session) -> actix_web::Result<String> {
    Ok(session.get_or::<i64>("counter", 0)?.to_string())
}

async fn write(session: Session) -> actix_web::Result<String> {
    let next = session.get_or::<i64>("counter", 0)? + 1;
    session.put("counter", next)?;
    Ok(next.to_string())
}

async fn login(session: Session) -> actix_web::Result<&'static str> {
    session.clear()?;
    session.put("counter", 0)?;
    session.regenerate()?;
    Ok("ok")
}

async fn untouched() -> &'static str {
    "ok"
}

async fn kv_get(session: Session, key: web::Path<String>) -> HttpResponse {
    match session.get_value(&key) {
        Some(v) => HttpResponse::Ok().json(v),
        None => HttpResponse::NotFound().finish(),
    }
}

async fn kv_put(
    session: Session,
    key: web::Path<String>,
    body: web::Json<Value>,
) -> actix_web::Result<HttpResponse> {
    stored(session.put(key.into_inner(), body.into_inner()))
}

/// 204 when the session took the value; 422 with the reason when it
/// refused it (nested too deep to be read back); the rest is a 500.
fn stored(put: Result<(), SessionError>) -> actix_web::Result<HttpResponse> {
    match put {
        Ok(()) => Ok(HttpResponse::NoContent().finish()),
        Err(e @ SessionError::TooDeep { .. }) => {
            Ok(HttpResponse::UnprocessableEntity().body(e.to_string()))
        }
        Err(e) => Err(e.into()),
    }
}

async fn kv_delete(session: Session, key: web::Path<String>) -> actix_web::Result<HttpResponse> {
    session.forget(&key)?;
    Ok(HttpResponse::NoContent().finish())
}

async fn incr(session: Session, key: web::Path<String>) -> actix_web::Result<HttpResponse> {
    match session.increment(&key, 1) {
        Ok(n) => Ok(HttpResponse::Ok().body(n.to_string())),
        Err(e @ (SessionError::NotAnInteger { .. } | SessionError::Overflow { .. })) => {
            Ok(HttpResponse::Conflict().body(e.to_string()))
        }
        Err(e) => Err(e.into()),
    }
}

async fn regenerate(session: Session) -> actix_web::Result<HttpResponse> {
    session.regenerate()?;
    Ok(HttpResponse::NoContent().finish())
}

async fn logout(session: Session) -> actix_web::Result<HttpResponse> {
    session.destroy()?;
    Ok(HttpResponse::NoContent().finish())
}

async fn flash(
    session: Session,
    key: web::Path<String>,
    body: web::Json<Value>,
) -> actix_web::Result<HttpResponse> {
    stored(session.flash(key.into_inner(), body.into_inner()))
}

async fn flashed(session: Session) -> HttpResponse {
    HttpResponse::Ok().json(session.flash_messages().all())
}

/// The whole session as JSON, `{"data": {..}, "flash": {..}}` (the flash
/// values by key), through a read-only handle: it consumes no flash message
/// and never commits, so a checker can look without changing anything.
async fn whole_session(session: ReadonlySession) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "data": session.all(),
        "flash": session.flash_messages().all(),
    }))
}

async fn fail(session: Session) -> actix_web::Result<impl Responder> {
    session.put("failed", true)?;
    Ok(HttpResponse::InternalServerError().body("failed on purpose"))
}

/// The shopping cart behind the typed routes, kept in the session under
/// `cart.items` and `cart.total` (the number of items).
#[derive(TypedSession, Serialize, Debug, Clone, PartialEq, Eq)]
#[session(namespace = "cart")]
pub struct Cart {
    /// The items, in the order they were added.
    pub items: Vec<String>,
    /// How many items there are.
    pub total: u32,
}

/// The testbed's routes behind `sessions` on `listener`, two workers: the
/// server the HTTP tests start (`None`: the bare routes, one worker, as for
/// `--store none`).
pub fn serve(
    sessions: Option<SessionMiddleware>,
    listener: std::net::TcpListener,
) -> std::io::Result<actix_web::dev::Server> {
    Ok(match sessions {
        Some(sessions) => actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .wrap(sessions.clone())
                .configure(routes)
        })
        .workers(2)
        .listen(listener)?
        .run(),
        None => actix_web::HttpServer::new(|| actix_web::App::new().configure(bare_routes))
            .workers(1)
            .listen(listener)?
            .run(),
    })
}

/// The sign-in routes: `POST /auth/login/{user}` signs `user` in (204),
/// `POST /auth/logout` signs out (204), `GET /auth/me` answers the owner as
/// JSON (a string, or `null` when nobody is signed in).
///
/// The device list: `GET /auth/devices` answers the signed-in user's
/// sessions as JSON (`handle`, `created` (the sign-in) and `last_seen` in
/// seconds since the epoch, `user_agent`, `current`), or 401 when anonymous;
/// `DELETE /auth/devices/{handle}` signs one out (204, 404 if the user has
/// no such session); `DELETE /auth/devices/others` signs out all but this
/// one and `DELETE /auth/devices` all of them, this one included (both
/// answer the number signed out). On the cookie store they answer 501.
pub fn auth_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/login/{user}", web::post().to(auth_login))
        .route("/auth/logout", web::post().to(auth_logout))
        .route("/auth/me", web::get().to(auth_me))
        .route("/auth/devices", web::get().to(devices_list))
        .route("/auth/devices", web::delete().to(devices_revoke_all))
        .route(
            "/auth/devices/others",
            web::delete().to(devices_revoke_others),
        )
        .route("/auth/devices/{handle}", web::delete().to(devices_revoke));
}

/// Signs in, recording the `User-Agent` header if there is one.
async fn auth_login(
    req: HttpRequest,
    session: Session,
    user: web::Path<String>,
) -> actix_web::Result<HttpResponse> {
    let mut device = DeviceInfo::new();
    if let Some(agent) = req.headers().get(USER_AGENT).and_then(|v| v.to_str().ok()) {
        device = device.user_agent(agent);
    }
    session.login_with(user.into_inner(), device)?;
    Ok(HttpResponse::NoContent().finish())
}

/// A device-list error as the testbed answers it: 501 where the store
/// keeps no list, the usual opaque 500 otherwise.
fn devices_error(e: SessionError) -> actix_web::Error {
    match e {
        SessionError::NotIndexed { .. } => {
            actix_web::error::InternalError::new(e, actix_web::http::StatusCode::NOT_IMPLEMENTED)
                .into()
        }
        e => e.into(),
    }
}

fn seconds(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn devices_list(
    session: ReadonlySession,
    devices: Devices,
) -> actix_web::Result<HttpResponse> {
    let Some(user) = session.user_id() else {
        return Ok(HttpResponse::Unauthorized().finish());
    };
    let current = session.device_handle();
    let list: Vec<Value> = devices
        .list(&user)
        .await
        .map_err(devices_error)?
        .into_iter()
        .map(|d| {
            serde_json::json!({
                "current": Some(&d.handle) == current.as_ref(),
                "handle": d.handle,
                "created": seconds(d.signed_in_at),
                "last_seen": seconds(d.last_seen),
                "user_agent": d.user_agent,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

async fn devices_revoke(
    session: ReadonlySession,
    devices: Devices,
    handle: web::Path<String>,
) -> actix_web::Result<HttpResponse> {
    let Some(user) = session.user_id() else {
        return Ok(HttpResponse::Unauthorized().finish());
    };
    Ok(
        match devices
            .revoke(&user, &handle)
            .await
            .map_err(devices_error)?
        {
            true => HttpResponse::NoContent().finish(),
            false => HttpResponse::NotFound().finish(),
        },
    )
}

async fn devices_revoke_others(
    session: ReadonlySession,
    devices: Devices,
) -> actix_web::Result<HttpResponse> {
    if session.user_id().is_none() {
        return Ok(HttpResponse::Unauthorized().finish());
    }
    let n = devices
        .revoke_others(&session)
        .await
        .map_err(devices_error)?;
    Ok(HttpResponse::Ok().json(n))
}

/// Signs out everywhere, this session too (its cookie is removed).
async fn devices_revoke_all(session: Session, devices: Devices) -> actix_web::Result<HttpResponse> {
    let Some(user) = session.user_id() else {
        return Ok(HttpResponse::Unauthorized().finish());
    };
    let n = devices.revoke_all(&user).await.map_err(devices_error)?;
    session.logout()?;
    Ok(HttpResponse::Ok().json(n))
}

async fn auth_logout(session: Session) -> actix_web::Result<HttpResponse> {
    session.logout()?;
    Ok(HttpResponse::NoContent().finish())
}

async fn auth_me(session: ReadonlySession) -> HttpResponse {
    HttpResponse::Ok().json(session.user_id())
}

/// The typed routes, through [`CartSession`]: `GET /cart` answers the cart as
/// JSON, `POST /cart/items/{item}` adds an item (204), `DELETE /cart` forgets
/// the cart (204).
pub fn cart_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/cart", web::get().to(cart_get))
        .route("/cart/items/{item}", web::post().to(cart_add))
        .route("/cart", web::delete().to(cart_clear));
}

async fn cart_get(cart: ReadonlyCartSession) -> actix_web::Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(cart.load()?))
}

async fn cart_add(cart: CartSession, item: web::Path<String>) -> actix_web::Result<HttpResponse> {
    let mut items = cart.items()?;
    items.push(item.into_inner());
    cart.set_total(u32::try_from(items.len()).unwrap_or(u32::MAX))?;
    cart.set_items(items)?;
    Ok(HttpResponse::NoContent().finish())
}

async fn cart_clear(cart: CartSession) -> actix_web::Result<HttpResponse> {
    cart.forget()?;
    Ok(HttpResponse::NoContent().finish())
}
