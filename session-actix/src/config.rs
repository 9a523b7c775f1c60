//! Session settings: a builder with secure defaults, checked when the
//! middleware is built.

use std::fmt::{self, Write as _};
use std::sync::Arc;
use std::time::Duration;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header::HeaderValue;
use session_core::__private::CommitGate;
use session_core::driver::{Clock, ExpiryPolicy, SessionDriver, SystemClock, Timestamp};

use crate::error::ConfigError;
use crate::middleware::SessionMiddleware;

/// A function that shapes the cookie just before it is sent (Vapor's
/// `cookieFactory`): add attributes, change the path, and so on. It runs on
/// cookies that set a session, not on removal cookies.
pub(crate) type CookieHook = Arc<dyn Fn(&mut Cookie<'static>) + Send + Sync>;

/// The checked settings, shared by every worker.
pub(crate) struct Config {
    /// The name handlers reach this middleware's session by; `None` for the
    /// default one.
    pub(crate) name: Option<String>,
    pub(crate) driver: Arc<dyn SessionDriver>,
    pub(crate) cookie_name: String,
    pub(crate) path: String,
    pub(crate) domain: Option<String>,
    pub(crate) secure: bool,
    pub(crate) http_only: bool,
    pub(crate) same_site: SameSite,
    pub(crate) browser_session: bool,
    pub(crate) policy: ExpiryPolicy,
    pub(crate) hook: Option<CookieHook>,
    pub(crate) clock: Arc<dyn Clock>,
    /// Queues this process' parallel saves to one session, so that they are
    /// committed together to a remote driver.
    pub(crate) gate: CommitGate,
    /// The `Cache-Control` value sent with every response that sets or
    /// removes the session cookie, unless the handler set one; `None`: none.
    pub(crate) cache_control: Option<String>,
    /// `cache_control`, checked and made a header value by `build`.
    pub(crate) cache_control_header: Option<HeaderValue>,
    /// What follows `name=value` in every `Set-Cookie` but `Max-Age`
    /// (`; HttpOnly; SameSite=Lax; Secure; Path=/`), formatted once by the
    /// cookie crate so each response only appends.
    attributes: String,
}

impl Config {
    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The `Set-Cookie` value for a session valid until `expires_at`: the
    /// same text as [`session_cookie`](Self::session_cookie)'s, written
    /// without building a `Cookie` unless a hook must see one.
    pub(crate) fn set_cookie(&self, value: String, expires_at: Timestamp) -> String {
        if self.hook.is_some() {
            return self.session_cookie(value, expires_at).to_string();
        }
        let mut out = String::with_capacity(
            self.cookie_name.len() + value.len() + self.attributes.len() + 32,
        );
        out.push_str(&self.cookie_name);
        out.push('=');
        out.push_str(&value);
        out.push_str(&self.attributes);
        if !self.browser_session {
            let secs = expires_at.since(self.now()).as_secs();
            let secs = i64::try_from(secs).unwrap_or(i64::MAX);
            // Writing to a String cannot fail.
            let _ = write!(out, "; Max-Age={secs}");
        }
        out
    }

    /// The `Set-Cookie` for a session valid until `expires_at`.
    pub(crate) fn session_cookie(&self, value: String, expires_at: Timestamp) -> Cookie<'static> {
        let mut cookie = self.base_cookie(value);
        if !self.browser_session {
            let secs = expires_at.since(self.now()).as_secs();
            cookie.set_max_age(actix_web::cookie::time::Duration::seconds(
                i64::try_from(secs).unwrap_or(i64::MAX),
            ));
        }
        if let Some(hook) = &self.hook {
            hook(&mut cookie);
        }
        cookie
    }

    /// The `Set-Cookie` that removes the session cookie (same Path and
    /// Domain, or the browser would keep it).
    pub(crate) fn removal_cookie(&self) -> Cookie<'static> {
        let mut cookie = self.base_cookie(String::new());
        cookie.make_removal();
        cookie
    }

    fn base_cookie(&self, value: String) -> Cookie<'static> {
        let mut cookie = Cookie::new(self.cookie_name.clone(), value);
        cookie.set_path(self.path.clone());
        if let Some(domain) = &self.domain {
            cookie.set_domain(domain.clone());
        }
        cookie.set_secure(self.secure);
        cookie.set_http_only(self.http_only);
        cookie.set_same_site(self.same_site);
        cookie
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("name", &self.name)
            .field("driver", &self.driver.name())
            .field("cookie_name", &self.cookie_name)
            .field("path", &self.path)
            .field("domain", &self.domain)
            .field("secure", &self.secure)
            .field("http_only", &self.http_only)
            .field("same_site", &self.same_site)
            .field("browser_session", &self.browser_session)
            .field("policy", &self.policy)
            .field("cache_control", &self.cache_control)
            .finish_non_exhaustive()
    }
}

/// Builds a [`SessionMiddleware`]. Start from [`SessionMiddleware::builder`].
///
/// Defaults: cookie `session`, path `/`, no domain, `Secure`, `HttpOnly`,
/// `SameSite=Lax`, two hours idle timeout, no absolute timeout, expiry
/// refreshed at most once a minute, a persistent cookie (with `Max-Age`),
/// and `Cache-Control: no-store` on responses that set or remove it.
///
/// ```
/// use std::time::Duration;
/// use session_actix::{MemoryDriver, SessionMiddleware};
///
/// let sessions = SessionMiddleware::builder(MemoryDriver::new())
///     .cookie_name("app_session")
///     .idle_timeout(Duration::from_secs(30 * 60))
///     .absolute_timeout(Duration::from_secs(12 * 60 * 60))
///     .build()
///     .expect("valid session settings");
/// # let _ = sessions;
/// ```
#[must_use = "call .build() to get the middleware"]
pub struct SessionMiddlewareBuilder {
    /// The settings so far; `build` checks them and finishes `attributes`.
    config: Config,
}

impl fmt::Debug for SessionMiddlewareBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionMiddlewareBuilder")
            .field("driver", &self.config.driver.name())
            .field("cookie_name", &self.config.cookie_name)
            .finish_non_exhaustive()
    }
}

impl SessionMiddlewareBuilder {
    pub(crate) fn new(driver: Arc<dyn SessionDriver>) -> Self {
        Self {
            config: Config {
                name: None,
                driver,
                cookie_name: "session".to_owned(),
                path: "/".to_owned(),
                domain: None,
                secure: true,
                http_only: true,
                same_site: SameSite::Lax,
                browser_session: false,
                policy: ExpiryPolicy::default(),
                hook: None,
                clock: Arc::new(SystemClock),
                gate: CommitGate::default(),
                cache_control: Some("no-store".to_owned()),
                cache_control_header: None,
                attributes: String::new(),
            },
        }
    }

    /// Names this middleware, so that it can wrap a route beside another one
    /// (say a long-lived cookie session for preferences beside the sign-in
    /// session). Handlers reach its session as [`Named<M>`](crate::Named)
    /// with `M::NAME` equal to `name`, or with
    /// [`SessionExt::named_session`](crate::SessionExt::named_session); a
    /// plain `Session` is the unnamed middleware's. Give each middleware on
    /// a route its own cookie name too. Default: unnamed.
    ///
    /// ```
    /// use session_actix::{MemoryDriver, SessionMiddleware};
    ///
    /// let prefs = SessionMiddleware::builder(MemoryDriver::new())
    ///     .name("prefs")
    ///     .cookie_name("prefs")
    ///     .build()
    ///     .expect("valid session settings");
    /// # let _ = prefs;
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.config.name = Some(name.into());
        self
    }

    /// The cookie's name. Default `session`. A `__Host-` prefix makes the
    /// browser pin the cookie to this exact host.
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.config.cookie_name = name.into();
        self
    }

    /// The cookie's `Path`. Default `/`.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.config.path = path.into();
        self
    }

    /// The cookie's `Domain`. Default none (this host only).
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.config.domain = Some(domain.into());
        self
    }

    /// The `Secure` attribute. Default on; turn it off only for plain-HTTP
    /// development servers.
    pub fn secure(mut self, secure: bool) -> Self {
        self.config.secure = secure;
        self
    }

    /// The `HttpOnly` attribute. Default on, so scripts cannot read the cookie.
    pub fn http_only(mut self, http_only: bool) -> Self {
        self.config.http_only = http_only;
        self
    }

    /// The `SameSite` attribute. Default `Lax`.
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.config.same_site = same_site;
        self
    }

    /// A session unused for this long expires. Default two hours; at least
    /// one second.
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.config.policy.idle = idle;
        self
    }

    /// A session expires this long after it was created, however active.
    /// Default none.
    pub fn absolute_timeout(mut self, absolute: Duration) -> Self {
        self.config.policy.absolute = Some(absolute);
        self
    }

    /// A request that changes nothing refreshes the session's expiry only if
    /// the last refresh is at least this old. Default one minute; must be
    /// shorter than the idle timeout.
    pub fn refresh_after(mut self, interval: Duration) -> Self {
        self.config.policy.refresh_after = interval;
        self
    }

    /// Renews the session id periodically (OWASP): the first request that
    /// takes the session ([`Session`](crate::Session)) once its id is this
    /// old moves it to a new id and sends the new cookie. Requests still
    /// carrying the old id (parallel ones, already in flight) read and
    /// commit into the renewed session for the grace window
    /// ([`renew_grace`](Self::renew_grace)) and get the new cookie; after it
    /// the old id is dead. A sign-in or an explicit regenerate never leaves
    /// a grace window. Default: never. While it is on, an unchanged
    /// request's refresh is a version-checked write (so it can notice a
    /// renewal) and a logout reads the session once more.
    ///
    /// ```
    /// use std::time::Duration;
    /// use session_actix::{MemoryDriver, SessionMiddleware};
    ///
    /// let sessions = SessionMiddleware::builder(MemoryDriver::new())
    ///     .renew_id_after(Duration::from_secs(15 * 60))
    ///     .renew_grace(Duration::from_secs(10))
    ///     .build()?;
    /// # let _ = sessions;
    /// # Ok::<(), session_actix::ConfigError>(())
    /// ```
    pub fn renew_id_after(mut self, age: Duration) -> Self {
        self.config.policy.renew_id_after = Some(age);
        self
    }

    /// How long a renewed session's old id keeps working
    /// ([`renew_id_after`](Self::renew_id_after)). Default 5 seconds.
    pub fn renew_grace(mut self, grace: Duration) -> Self {
        self.config.policy.renew_grace = grace;
        self
    }

    /// Sends the cookie without `Max-Age`, so the browser drops it when it
    /// closes (AdonisJS `clearWithBrowser`). The server still enforces the
    /// idle and absolute timeouts.
    pub fn browser_session(mut self, on: bool) -> Self {
        self.config.browser_session = on;
        self
    }

    /// The `Cache-Control` header sent with every response that sets or
    /// removes the session cookie, unless the handler already set one.
    /// Default `no-store`, so that no shared cache (a CDN, a proxy) keeps a
    /// response carrying one user's cookie and hands it to others, as OWASP
    /// asks. `Some("private")` lets the browser alone cache such responses;
    /// `None` leaves the header to the app.
    ///
    /// ```
    /// use session_actix::{MemoryDriver, SessionMiddleware};
    ///
    /// let sessions = SessionMiddleware::builder(MemoryDriver::new())
    ///     .cache_control(Some("private, no-cache"))
    ///     .build()
    ///     .unwrap();
    /// # let _ = sessions;
    /// ```
    pub fn cache_control(mut self, value: Option<&str>) -> Self {
        self.config.cache_control = value.map(str::to_owned);
        self
    }

    /// Shapes every session cookie just before it is sent.
    ///
    /// ```
    /// use session_actix::{MemoryDriver, SessionMiddleware};
    ///
    /// let sessions = SessionMiddleware::builder(MemoryDriver::new())
    ///     // e.g. a cookie that only the /app part of the site receives
    ///     .cookie_hook(|cookie| cookie.set_path("/app"))
    ///     .build()
    ///     .unwrap();
    /// # let _ = sessions;
    /// ```
    pub fn cookie_hook(
        mut self,
        hook: impl Fn(&mut Cookie<'static>) + Send + Sync + 'static,
    ) -> Self {
        self.config.hook = Some(Arc::new(hook));
        self
    }

    /// Where the middleware reads the time. Default the system clock; tests
    /// pass a [`ManualClock`](crate::driver::ManualClock) to move time
    /// without sleeping.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.config.clock = Arc::new(clock);
        self
    }

    /// Checks the settings and builds the middleware.
    pub fn build(self) -> Result<SessionMiddleware, ConfigError> {
        let mut config = self.config;
        validate(&config)?;
        config.cache_control_header = match &config.cache_control {
            None => None,
            Some(value) => match HeaderValue::from_str(value) {
                Ok(header) if !value.trim().is_empty() => Some(header),
                _ => return Err(ConfigError::CacheControl(value.clone())),
            },
        };
        let template = config.base_cookie(String::new()).to_string();
        config.attributes = template[config.cookie_name.len() + 1..].to_owned();
        Ok(SessionMiddleware::from_config(config))
    }
}

/// The settings cannot work: the first reason, saying what to change.
fn validate(config: &Config) -> Result<(), ConfigError> {
    let name = &config.cookie_name;
    if name.is_empty() || !name.bytes().all(is_token_byte) {
        return Err(ConfigError::CookieName(name.clone()));
    }
    check_attribute("path", &config.path)?;
    if let Some(domain) = &config.domain {
        check_attribute("domain", domain)?;
    }
    let second = Duration::from_secs(1);
    if config.policy.idle < second {
        return Err(ConfigError::Timeout {
            which: "idle",
            given: config.policy.idle,
        });
    }
    if let Some(absolute) = config.policy.absolute {
        if absolute < second {
            return Err(ConfigError::Timeout {
                which: "absolute",
                given: absolute,
            });
        }
    }
    if let Some(renew) = config.policy.renew_id_after {
        if renew < second {
            return Err(ConfigError::Timeout {
                which: "renew_id_after",
                given: renew,
            });
        }
    }
    if config.policy.renew_grace < second {
        return Err(ConfigError::Timeout {
            which: "renew_grace",
            given: config.policy.renew_grace,
        });
    }
    if config.policy.refresh_after >= config.policy.idle {
        return Err(ConfigError::RefreshInterval {
            refresh: config.policy.refresh_after,
            idle: config.policy.idle,
        });
    }
    if let Some(bound) = config.driver.bound_cookie_name() {
        if bound != name {
            return Err(ConfigError::DriverCookieName {
                driver: bound.to_owned(),
                middleware: name.clone(),
            });
        }
    }
    if name.starts_with("__Host-") {
        if !config.secure {
            return Err(ConfigError::HostPrefix("turn secure back on"));
        }
        if config.domain.is_some() {
            return Err(ConfigError::HostPrefix("remove the domain"));
        }
        if config.path != "/" {
            return Err(ConfigError::HostPrefix("set the path to `/`"));
        }
    }
    if name.starts_with("__Secure-") && !config.secure {
        return Err(ConfigError::NeedsSecure("a `__Secure-` cookie name"));
    }
    if config.same_site == SameSite::None && !config.secure {
        return Err(ConfigError::NeedsSecure("SameSite=None"));
    }
    Ok(())
}

/// RFC 6265 cookie-name characters (an RFC 7230 token).
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn check_attribute(attribute: &'static str, value: &str) -> Result<(), ConfigError> {
    if value.is_empty()
        || value
            .bytes()
            .any(|b| b == b';' || b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return Err(ConfigError::CookieAttribute {
            attribute,
            value: value.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use session_core::driver::ManualClock;
    use session_core::MemoryDriver;

    use super::*;

    /// The hand-written `Set-Cookie` must be byte for byte what the cookie
    /// crate writes, for every combination of settings.
    #[test]
    fn set_cookie_matches_the_cookie_crate() {
        let clock = ManualClock::new(Timestamp::from_secs(1_800_000_000));
        let expires_at = Timestamp::from_secs(1_800_007_200);
        let mut checked = 0;
        for same_site in [SameSite::Lax, SameSite::Strict, SameSite::None] {
            for secure in [true, false] {
                for http_only in [true, false] {
                    for domain in [None, Some("example.com")] {
                        for browser_session in [false, true] {
                            let mut b = SessionMiddleware::builder(MemoryDriver::new())
                                .cookie_name("sid")
                                .path("/app")
                                .secure(secure)
                                .http_only(http_only)
                                .same_site(same_site)
                                .browser_session(browser_session)
                                .clock(clock.clone());
                            if let Some(d) = domain {
                                b = b.domain(d);
                            }
                            let Ok(middleware) = b.build() else {
                                continue; // SameSite=None without Secure is refused
                            };
                            let config = middleware.config();
                            let value = "a".repeat(43);
                            assert_eq!(
                                config.set_cookie(value.clone(), expires_at),
                                config.session_cookie(value, expires_at).to_string()
                            );
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked >= 40, "only {checked} combinations built");
    }
}
