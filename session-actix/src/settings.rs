//! Session settings from a config file or the environment, with the driver
//! chosen by name.

use std::time::Duration;

use actix_web::cookie::SameSite;
use serde::Deserialize;
use session_core::driver::{DriverRegistry, DriverSettings, SettingsError};

use crate::config::SessionMiddlewareBuilder;
use crate::error::{ConfigError, StartupError};
use crate::middleware::SessionMiddleware;

/// Every middleware setting, written once: its field (which is also its
/// serde name and, in capitals after `SESSION_`, its environment variable),
/// its type, and the builder method it maps onto. The macro writes the
/// struct, the reading of variables and the mapping onto the builder.
macro_rules! settings {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[$attr:meta])* $field:ident: $ty:ty => $apply:expr,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, Deserialize)]
        #[non_exhaustive]
        pub struct $name {
            $($(#[$attr])* #[serde(default)] pub $field: Option<$ty>,)*
            /// The driver and its settings.
            #[serde(flatten)]
            pub driver: DriverSettings,
            /// Read from `SESSION_*` variables, so errors name those.
            #[serde(skip)]
            from_env: bool,
        }

        impl $name {
            /// Takes the variable `name` if it is one of the middleware's;
            /// `false` leaves it to the driver settings.
            fn take_var(&mut self, name: &str, value: &str) -> Result<bool, SettingsError> {
                $(if is_variable(name, stringify!($field)) {
                    self.$field = Some(FromVar::from_var(name, value)?);
                    return Ok(true);
                })*
                Ok(false)
            }

            /// Calls the builder method of every setting that is set.
            fn apply(&mut self, mut builder: SessionMiddlewareBuilder) -> SessionMiddlewareBuilder {
                $(if let Some(value) = self.$field.take() {
                    builder = apply::<$ty>(builder, value, $apply);
                })*
                builder
            }
        }
    };
}

settings! {
    /// Everything needed to build the middleware, deserializable with serde
    /// (from TOML, JSON, YAML ...) or read from `SESSION_*` environment variables.
    ///
    /// Unset fields keep the builder's defaults. The driver fields are those of
    /// [`DriverSettings`], at the same level:
    ///
    /// ```
    /// # actix_web::rt::System::new().block_on(async {
    /// use session_actix::SessionSettings;
    ///
    /// let settings: SessionSettings = serde_json::from_str(r#"{
    ///     "driver": "memory",
    ///     "cookie_name": "app_session",
    ///     "idle_timeout_secs": 1800,
    ///     "same_site": "strict"
    /// }"#).unwrap();
    /// let sessions = settings.build().await.unwrap();
    /// # let _ = sessions;
    /// # });
    /// ```
    ///
    /// With nothing set, the settings are the builder's defaults on the memory
    /// driver, so `SessionSettings::from_env()?.build().await?` works on a
    /// machine with no `SESSION_*` variable at all. An error about a setting
    /// that came from the environment names the variable (`SESSION_KEY`,
    /// `SESSION_COOKIE_NAME` ...), one from serde the field.
    ///
    /// Each field below is also read from the environment variable named
    /// `SESSION_` and the field in capitals: `SESSION_NAME`,
    /// `SESSION_COOKIE_NAME`, `SESSION_SAME_SITE`, `SESSION_IDLE_TIMEOUT_SECS`
    /// and so on. Flags take `true`/`false` (or `1`/`0`, `yes`/`no`,
    /// `on`/`off`), timeouts whole seconds, `same_site` one of `lax`, `strict`,
    /// `none`. The driver's variables (`SESSION_DRIVER`, `SESSION_URL` ...)
    /// are listed at [`DriverSettings`].
    pub struct SessionSettings {
        /// The middleware's name, for a route with several session middlewares
        /// ([`SessionMiddlewareBuilder::name`]).
        name: String => |b, v| b.name(v),
        /// The cookie's name ([`SessionMiddlewareBuilder::cookie_name`]).
        cookie_name: String => |b, v| b.cookie_name(v),
        /// The cookie's path ([`SessionMiddlewareBuilder::path`]).
        path: String => |b, v| b.path(v),
        /// The cookie's domain ([`SessionMiddlewareBuilder::domain`]).
        domain: String => |b, v| b.domain(v),
        /// The `Secure` attribute ([`SessionMiddlewareBuilder::secure`]).
        secure: bool => |b, v| b.secure(v),
        /// The `HttpOnly` attribute ([`SessionMiddlewareBuilder::http_only`]).
        http_only: bool => |b, v| b.http_only(v),
        /// The `SameSite` attribute, written `lax`, `strict` or `none` in any
        /// case ([`SessionMiddlewareBuilder::same_site`]).
        #[serde(deserialize_with = "same_site")]
        same_site: SameSite => |b, v| b.same_site(v),
        /// Idle timeout in seconds ([`SessionMiddlewareBuilder::idle_timeout`]).
        idle_timeout_secs: u64 => |b, v| b.idle_timeout(Duration::from_secs(v)),
        /// Absolute timeout in seconds
        /// ([`SessionMiddlewareBuilder::absolute_timeout`]).
        absolute_timeout_secs: u64 => |b, v| b.absolute_timeout(Duration::from_secs(v)),
        /// Minimum interval between expiry refreshes, in seconds
        /// ([`SessionMiddlewareBuilder::refresh_after`]).
        refresh_after_secs: u64 => |b, v| b.refresh_after(Duration::from_secs(v)),
        /// Id renewal age in seconds
        /// ([`SessionMiddlewareBuilder::renew_id_after`]).
        renew_id_after_secs: u64 => |b, v| b.renew_id_after(Duration::from_secs(v)),
        /// The renewal's grace window in seconds
        /// ([`SessionMiddlewareBuilder::renew_grace`]).
        renew_grace_secs: u64 => |b, v| b.renew_grace(Duration::from_secs(v)),
        /// A cookie without `Max-Age`, dropped when the browser closes
        /// ([`SessionMiddlewareBuilder::browser_session`]).
        browser_session: bool => |b, v| b.browser_session(v),
        /// The `Cache-Control` header sent with responses that set or remove
        /// the cookie ([`SessionMiddlewareBuilder::cache_control`]); the
        /// empty string sends none.
        cache_control: String => |b, v| b.cache_control(Some(v.as_str()).filter(|v| !v.is_empty())),
    }
}

impl SessionSettings {
    /// Reads the `SESSION_*` environment variables.
    pub fn from_env() -> Result<Self, StartupError> {
        Self::from_vars(std::env::vars())
    }

    /// Reads `SESSION_*` variables from the given pairs.
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, StartupError> {
        let mut s = Self {
            from_env: true,
            ..Self::default()
        };
        let mut rest = Vec::new();
        for (name, value) in vars {
            if !s.take_var(&name, &value)? {
                rest.push((name, value));
            }
        }
        s.driver = DriverSettings::from_vars(rest)?;
        Ok(s)
    }

    /// Builds the driver (one of those compiled in by cargo features), then
    /// the middleware, checking every setting.
    pub async fn build(self) -> Result<SessionMiddleware, StartupError> {
        self.build_with(&DriverRegistry::with_builtins()).await
    }

    /// [`build`](Self::build) with the drivers of `registry`, for custom
    /// drivers registered by name.
    pub async fn build_with(
        mut self,
        registry: &DriverRegistry,
    ) -> Result<SessionMiddleware, StartupError> {
        // The cookie driver binds the cookie name into what it seals.
        let cookie_name = self.cookie_name.clone().unwrap_or_else(|| "session".into());
        self.driver.cookie_name = Some(cookie_name.clone());
        let driver = registry.build(&self.driver).await?;
        let b = self.apply(SessionMiddleware::builder_dyn(driver).cookie_name(cookie_name));
        b.build().map_err(|source| match self.from_env {
            true => StartupError::Variable {
                variable: variable_of(&source),
                source,
            },
            false => StartupError::Config(source),
        })
    }
}

/// The environment variable whose value a builder error is about.
fn variable_of(error: &ConfigError) -> &'static str {
    match error {
        ConfigError::CookieAttribute {
            attribute: "domain",
            ..
        } => "SESSION_DOMAIN",
        ConfigError::CookieAttribute { .. } => "SESSION_PATH",
        ConfigError::Timeout {
            which: "absolute", ..
        } => "SESSION_ABSOLUTE_TIMEOUT_SECS",
        ConfigError::Timeout {
            which: "renew_id_after",
            ..
        } => "SESSION_RENEW_ID_AFTER_SECS",
        ConfigError::Timeout {
            which: "renew_grace",
            ..
        } => "SESSION_RENEW_GRACE_SECS",
        ConfigError::Timeout { .. } => "SESSION_IDLE_TIMEOUT_SECS",
        ConfigError::RefreshInterval { .. } => "SESSION_REFRESH_AFTER_SECS",
        ConfigError::NeedsSecure(_) => "SESSION_SECURE",
        ConfigError::CacheControl(_) => "SESSION_CACHE_CONTROL",
        ConfigError::CookieName(_)
        | ConfigError::DriverCookieName { .. }
        | ConfigError::HostPrefix(_) => "SESSION_COOKIE_NAME",
    }
}

/// Calls a setting's builder method (a function, so that the macro's
/// closures get their argument types).
fn apply<T>(
    builder: SessionMiddlewareBuilder,
    value: T,
    method: fn(SessionMiddlewareBuilder, T) -> SessionMiddlewareBuilder,
) -> SessionMiddlewareBuilder {
    method(builder, value)
}

/// Whether `variable` is `SESSION_` followed by `field` in capitals.
fn is_variable(variable: &str, field: &str) -> bool {
    variable.strip_prefix("SESSION_").is_some_and(|rest| {
        rest.len() == field.len()
            && rest
                .bytes()
                .eq(field.bytes().map(|c| c.to_ascii_uppercase()))
    })
}

/// A setting's type, read from the text of an environment variable.
trait FromVar: Sized {
    fn from_var(variable: &str, value: &str) -> Result<Self, SettingsError>;
}

impl FromVar for String {
    fn from_var(_: &str, value: &str) -> Result<Self, SettingsError> {
        Ok(value.to_owned())
    }
}

/// The middleware's numbers are all timeouts in seconds.
impl FromVar for u64 {
    fn from_var(variable: &str, value: &str) -> Result<Self, SettingsError> {
        value
            .trim()
            .parse()
            .map_err(|_| invalid(variable, "a whole number of seconds"))
    }
}

impl FromVar for bool {
    fn from_var(variable: &str, value: &str) -> Result<Self, SettingsError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err(invalid(variable, "true or false")),
        }
    }
}

impl FromVar for SameSite {
    fn from_var(variable: &str, value: &str) -> Result<Self, SettingsError> {
        parse_same_site(value).ok_or_else(|| invalid(variable, SAME_SITE_VALUES))
    }
}

const SAME_SITE_VALUES: &str = "one of lax, strict, none";

fn parse_same_site(value: &str) -> Option<SameSite> {
    match value.trim().to_ascii_lowercase().as_str() {
        "lax" => Some(SameSite::Lax),
        "strict" => Some(SameSite::Strict),
        "none" => Some(SameSite::None),
        _ => None,
    }
}

/// `same_site` from serde: the same words as the environment variable.
fn same_site<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<SameSite>, D::Error> {
    let text = String::deserialize(d)?;
    parse_same_site(&text).map(Some).ok_or_else(|| {
        serde::de::Error::custom(format_args!("same_site: expected {SAME_SITE_VALUES}"))
    })
}

fn invalid(variable: &str, reason: &str) -> SettingsError {
    SettingsError::Invalid {
        setting: variable.to_owned(),
        reason: reason.into(),
    }
}
