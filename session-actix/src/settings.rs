//! Session settings from a config file or the environment, with the driver
//! chosen by name.

use std::time::Duration;

use actix_web::cookie::SameSite;
use serde::Deserialize;
use session_core::driver::{DriverRegistry, DriverSettings, SettingsError};

use crate::config::SessionMiddlewareBuilder;
use crate::error::{ConfigError, StartupError};
use crate::middleware::SessionMiddleware;

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
/// Environment variables, besides the driver's (`SESSION_DRIVER`,
/// `SESSION_URL` ..., see [`DriverSettings`]): `SESSION_NAME` (see
/// [`SessionMiddlewareBuilder::name`]), `SESSION_COOKIE_NAME`,
/// `SESSION_PATH`, `SESSION_DOMAIN`, `SESSION_SECURE`, `SESSION_HTTP_ONLY`,
/// `SESSION_SAME_SITE` (`lax`, `strict`, `none`), `SESSION_IDLE_TIMEOUT_SECS`,
/// `SESSION_ABSOLUTE_TIMEOUT_SECS`, `SESSION_REFRESH_AFTER_SECS`,
/// `SESSION_BROWSER_SESSION`.
#[derive(Clone, Debug, Default, Deserialize)]
#[non_exhaustive]
pub struct SessionSettings {
    /// The middleware's name, for a route with several session middlewares
    /// (see [`SessionMiddlewareBuilder::name`]).
    #[serde(default)]
    pub name: Option<String>,
    /// The cookie's name.
    #[serde(default)]
    pub cookie_name: Option<String>,
    /// The cookie's path.
    #[serde(default)]
    pub path: Option<String>,
    /// The cookie's domain.
    #[serde(default)]
    pub domain: Option<String>,
    /// The `Secure` attribute.
    #[serde(default)]
    pub secure: Option<bool>,
    /// The `HttpOnly` attribute.
    #[serde(default)]
    pub http_only: Option<bool>,
    /// `lax`, `strict` or `none`.
    #[serde(default)]
    pub same_site: Option<String>,
    /// Idle timeout in seconds.
    #[serde(default)]
    pub idle_timeout_secs: Option<u64>,
    /// Absolute timeout in seconds.
    #[serde(default)]
    pub absolute_timeout_secs: Option<u64>,
    /// Minimum interval between expiry refreshes, in seconds.
    #[serde(default)]
    pub refresh_after_secs: Option<u64>,
    /// Cookie without `Max-Age`.
    #[serde(default)]
    pub browser_session: Option<bool>,
    /// The driver and its settings.
    #[serde(flatten)]
    pub driver: DriverSettings,
    /// Read from `SESSION_*` variables, so errors name those.
    #[serde(skip)]
    from_env: bool,
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
            let flag = |v: &str| parse_bool(&name, v);
            let secs = |v: &str| {
                v.parse::<u64>().map_err(|_| SettingsError::Invalid {
                    setting: name.clone(),
                    reason: "a whole number of seconds".into(),
                })
            };
            match name.as_str() {
                "SESSION_NAME" => s.name = Some(value),
                "SESSION_COOKIE_NAME" => s.cookie_name = Some(value),
                "SESSION_PATH" => s.path = Some(value),
                "SESSION_DOMAIN" => s.domain = Some(value),
                "SESSION_SECURE" => s.secure = Some(flag(&value)?),
                "SESSION_HTTP_ONLY" => s.http_only = Some(flag(&value)?),
                "SESSION_SAME_SITE" => s.same_site = Some(value),
                "SESSION_IDLE_TIMEOUT_SECS" => s.idle_timeout_secs = Some(secs(&value)?),
                "SESSION_ABSOLUTE_TIMEOUT_SECS" => s.absolute_timeout_secs = Some(secs(&value)?),
                "SESSION_REFRESH_AFTER_SECS" => s.refresh_after_secs = Some(secs(&value)?),
                "SESSION_BROWSER_SESSION" => s.browser_session = Some(flag(&value)?),
                _ => rest.push((name, value)),
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
        let cookie_name = self.cookie_name.clone().unwrap_or_else(|| "session".into());
        self.driver.cookie_name = Some(cookie_name.clone());
        let same_site = match self
            .same_site
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None => None,
            Some("lax") => Some(SameSite::Lax),
            Some("strict") => Some(SameSite::Strict),
            Some("none") => Some(SameSite::None),
            Some(_) => {
                return Err(SettingsError::Invalid {
                    setting: self.setting_name("same_site"),
                    reason: "one of lax, strict, none".into(),
                }
                .into())
            }
        };
        let driver = registry.build(&self.driver).await?;
        let mut b: SessionMiddlewareBuilder =
            SessionMiddleware::builder_dyn(driver).cookie_name(cookie_name);
        if let Some(v) = self.name.take() {
            b = b.name(v);
        }
        if let Some(v) = self.path {
            b = b.path(v);
        }
        if let Some(v) = self.domain {
            b = b.domain(v);
        }
        if let Some(v) = self.secure {
            b = b.secure(v);
        }
        if let Some(v) = self.http_only {
            b = b.http_only(v);
        }
        if let Some(v) = same_site {
            b = b.same_site(v);
        }
        if let Some(v) = self.idle_timeout_secs {
            b = b.idle_timeout(Duration::from_secs(v));
        }
        if let Some(v) = self.absolute_timeout_secs {
            b = b.absolute_timeout(Duration::from_secs(v));
        }
        if let Some(v) = self.refresh_after_secs {
            b = b.refresh_after(Duration::from_secs(v));
        }
        if let Some(v) = self.browser_session {
            b = b.browser_session(v);
        }
        b.build().map_err(|source| match self.from_env {
            true => StartupError::Variable {
                variable: variable_of(&source),
                source,
            },
            false => StartupError::Config(source),
        })
    }

    fn setting_name(&self, field: &str) -> String {
        if self.from_env {
            format!("SESSION_{}", field.to_ascii_uppercase())
        } else {
            field.to_owned()
        }
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
        ConfigError::Timeout { .. } => "SESSION_IDLE_TIMEOUT_SECS",
        ConfigError::RefreshInterval { .. } => "SESSION_REFRESH_AFTER_SECS",
        ConfigError::NeedsSecure(_) => "SESSION_SECURE",
        ConfigError::CookieName(_)
        | ConfigError::DriverCookieName { .. }
        | ConfigError::HostPrefix(_) => "SESSION_COOKIE_NAME",
    }
}

fn parse_bool(name: &str, value: &str) -> Result<bool, SettingsError> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(SettingsError::Invalid {
            setting: name.to_owned(),
            reason: "true or false".into(),
        }),
    }
}
