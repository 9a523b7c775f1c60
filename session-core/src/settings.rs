//! Choosing a driver in configuration: settings that deserialize from a
//! config file or the environment, and a registry that turns them into a
//! driver (`Arc<dyn SessionDriver>`), custom drivers included.
//!
//! ```
//! # actix_web::rt::System::new().block_on(async {
//! use session_actix::driver::{DriverRegistry, DriverSettings};
//!
//! let settings: DriverSettings = serde_json::from_str(r#"{ "driver": "memory" }"#).unwrap();
//! let driver = DriverRegistry::with_builtins().build(&settings).await.unwrap();
//! assert_eq!(driver.name(), "memory");
//! # });
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::driver::SessionDriver;
use crate::error::DriverError;

/// The driver part of the session settings.
///
/// Every built-in driver reads the fields it needs; a custom driver can read
/// any extra field from [`DriverSettings::options`]. Secrets (`key`,
/// `old_keys`, passwords in `url`) never show in `Debug`.
///
/// From the environment ([`DriverSettings::from_env`]):
///
/// | variable | field | used by |
/// | --- | --- | --- |
/// | `SESSION_DRIVER` | `driver` | all (default `memory`) |
/// | `SESSION_URL` | `url` | redis, redis-cluster (comma-separated nodes), sql |
/// | `SESSION_PREFIX` | `prefix` | redis |
/// | `SESSION_DIR` | `dir` | file |
/// | `SESSION_KEY` | `key` | cookie (64 hex characters, or a secret of 32 bytes or more) |
/// | `SESSION_OLD_KEYS` | `old_keys` | cookie (comma-separated) |
/// | `SESSION_TABLE` | `table` | sql |
/// | `SESSION_TIMEOUT_MS` | `timeout_ms` | redis, sql |
/// | `SESSION_FILENAME_TEMPLATE` | `options.filename_template` | file |
/// | `SESSION_CAPACITY` | `options.capacity` | memory (most sessions kept; unbounded when unset) |
///
/// An error about a setting names it the way it was given: `SESSION_KEY`
/// when the settings came from the environment, `key` otherwise.
#[derive(Clone, Deserialize)]
#[non_exhaustive]
pub struct DriverSettings {
    /// The driver's registered name: `memory` (the default), `cookie`,
    /// `file`, `redis`, `postgres` ... or a custom one.
    #[serde(default = "default_driver")]
    pub driver: String,
    /// A server URL.
    #[serde(default)]
    pub url: Option<String>,
    /// A key prefix.
    #[serde(default)]
    pub prefix: Option<String>,
    /// A directory.
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// The current key.
    #[serde(default)]
    pub key: Option<String>,
    /// Retired keys still accepted for reading.
    #[serde(default)]
    pub old_keys: Vec<String>,
    /// A table name.
    #[serde(default)]
    pub table: Option<String>,
    /// A per-operation timeout in milliseconds.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// The session cookie's name, filled in by the adapter (the cookie driver
    /// binds it into every sealed value).
    #[serde(default)]
    pub cookie_name: Option<String>,
    /// Any other setting, for custom drivers.
    #[serde(flatten)]
    pub options: Map<String, Value>,
    /// Read from `SESSION_*` variables, so errors name those.
    #[serde(skip)]
    from_env: bool,
}

fn default_driver() -> String {
    "memory".to_owned()
}

impl Default for DriverSettings {
    /// The memory driver, with every other field empty.
    fn default() -> Self {
        Self {
            driver: default_driver(),
            url: None,
            prefix: None,
            dir: None,
            key: None,
            old_keys: Vec::new(),
            table: None,
            timeout_ms: None,
            cookie_name: None,
            options: Map::new(),
            from_env: false,
        }
    }
}

impl fmt::Debug for DriverSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |o: &Option<String>| o.as_ref().map(|_| "REDACTED");
        f.debug_struct("DriverSettings")
            .field("driver", &self.driver)
            .field("url", &redact(&self.url))
            .field("prefix", &self.prefix)
            .field("dir", &self.dir)
            .field("key", &redact(&self.key))
            .field("old_keys", &self.old_keys.len())
            .field("table", &self.table)
            .field("timeout_ms", &self.timeout_ms)
            .field("options", &self.options.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl DriverSettings {
    /// Settings for the named driver with every other field empty.
    pub fn new(driver: impl Into<String>) -> Self {
        Self {
            driver: driver.into(),
            ..Self::default()
        }
    }

    /// Reads the `SESSION_*` variables of the process environment (see the
    /// table above).
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_vars(std::env::vars())
    }

    /// Reads `SESSION_*` variables from the given pairs (for tests, or an
    /// environment read elsewhere).
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, SettingsError> {
        let mut s = Self {
            from_env: true,
            ..Self::default()
        };
        for (name, value) in vars {
            let Some(field) = name.strip_prefix("SESSION_") else {
                continue;
            };
            match field {
                "DRIVER" => s.driver = value,
                "URL" => s.url = Some(value),
                "PREFIX" => s.prefix = Some(value),
                "DIR" => s.dir = Some(value.into()),
                "KEY" => s.key = Some(value),
                "OLD_KEYS" => {
                    s.old_keys = value
                        .split(',')
                        .map(str::trim)
                        .filter(|k| !k.is_empty())
                        .map(str::to_owned)
                        .collect()
                }
                "TABLE" => s.table = Some(value),
                "TIMEOUT_MS" => {
                    s.timeout_ms = Some(value.parse().map_err(|_| SettingsError::Invalid {
                        setting: "SESSION_TIMEOUT_MS".into(),
                        reason: "a whole number of milliseconds".into(),
                    })?)
                }
                _ => {
                    s.options
                        .insert(field.to_ascii_lowercase(), Value::String(value));
                }
            }
        }
        if s.driver.is_empty() {
            return Err(SettingsError::NoDriver);
        }
        Ok(s)
    }

    /// How an error names the setting `field` (`"key"`, `"url"`, an
    /// option's name ...): as its environment variable (`SESSION_KEY`) when
    /// these settings came from the environment, as the field otherwise.
    ///
    /// ```
    /// use session_actix::driver::DriverSettings;
    ///
    /// let from_env = DriverSettings::from_vars([("SESSION_DRIVER".to_owned(), "cookie".to_owned())])?;
    /// assert_eq!(from_env.setting_name("key"), "SESSION_KEY");
    /// assert_eq!(DriverSettings::new("cookie").setting_name("key"), "key");
    /// # Ok::<(), session_actix::driver::SettingsError>(())
    /// ```
    pub fn setting_name(&self, field: &str) -> String {
        if self.from_env {
            format!("SESSION_{}", field.to_ascii_uppercase())
        } else {
            field.to_owned()
        }
    }

    /// The value of a required text setting, or an error naming it (see
    /// [`setting_name`](Self::setting_name)).
    pub fn require<'a>(
        &self,
        setting: &'static str,
        value: &'a Option<String>,
    ) -> Result<&'a str, SettingsError> {
        value.as_deref().ok_or_else(|| SettingsError::Missing {
            driver: self.driver.clone(),
            setting: self.setting_name(setting),
        })
    }
}

/// A problem with the session settings, found at start-up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// The driver's name is empty.
    #[error("the session driver's name is empty: set SESSION_DRIVER (or `driver` in the settings) to a driver's name, such as `memory`, or leave it unset for `memory`")]
    NoDriver,
    /// No driver is registered under this name.
    #[error("no session driver named {name:?}; known drivers: {known}{hint}")]
    UnknownDriver {
        /// The name asked for.
        name: String,
        /// The registered names, comma-separated.
        known: String,
        /// A hint, such as the cargo feature that provides the driver.
        hint: String,
    },
    /// A setting the driver needs is missing.
    #[error("the {driver:?} session driver needs the {setting} setting")]
    Missing {
        /// The driver.
        driver: String,
        /// The setting's name.
        setting: String,
    },
    /// A setting has an unusable value.
    #[error("the session setting {setting} is invalid: expected {reason}")]
    Invalid {
        /// The setting's name.
        setting: String,
        /// What was expected.
        reason: String,
    },
    /// The driver could not be built (for example its server did not answer).
    #[error("the {driver:?} session driver could not start: {source}")]
    Driver {
        /// The driver.
        driver: String,
        /// The cause.
        #[source]
        source: DriverError,
    },
}

/// The future a driver factory returns.
pub type DriverFuture =
    Pin<Box<dyn Future<Output = Result<Arc<dyn SessionDriver>, SettingsError>> + Send>>;

type Factory = Arc<dyn Fn(DriverSettings) -> DriverFuture + Send + Sync>;

/// Driver names and how to build each from [`DriverSettings`].
///
/// [`DriverRegistry::with_builtins`] knows the drivers compiled in by cargo
/// features; [`DriverRegistry::register`] adds your own (AdonisJS's
/// `Session.extend`):
///
/// ```
/// use std::sync::Arc;
/// use session_actix::driver::{DriverRegistry, DriverSettings, SessionDriver};
/// use session_actix::MemoryDriver;
///
/// let mut registry = DriverRegistry::with_builtins();
/// registry.register("my-store", |_settings: DriverSettings| async move {
///     Ok(Arc::new(MemoryDriver::new()) as Arc<dyn SessionDriver>)
/// });
/// assert!(registry.names().contains(&"my-store"));
/// ```
#[derive(Clone, Default)]
pub struct DriverRegistry {
    factories: BTreeMap<String, Factory>,
}

impl fmt::Debug for DriverRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.factories.keys()).finish()
    }
}

/// Built-in drivers and the cargo feature of `session-actix` (and
/// `session-core`) that provides each, for the hint when one is missing.
const BUILTIN_FEATURES: &[(&str, &str)] = &[
    ("memory", "memory"),
    ("cookie", "cookie"),
    ("file", "file"),
    ("redis", "redis"),
    ("redis-cluster", "redis-cluster"),
    ("sqlite", "sqlite"),
    ("postgres", "postgres"),
    ("mysql", "mysql"),
];

/// A built-in driver's factory: its own `from_settings`, boxed.
type Builtin = fn(DriverSettings) -> DriverFuture;

/// The drivers compiled into this build, by name. Each builds itself from
/// the settings (`CookieDriver::from_settings` ...); the SQL ones also check
/// that their table exists, so a missing migration is reported at start-up.
fn builtins() -> Vec<(&'static str, Builtin)> {
    #[cfg(any(feature = "memory", feature = "cookie", feature = "file"))]
    fn ready<D: SessionDriver>(driver: Result<D, SettingsError>) -> DriverFuture {
        Box::pin(std::future::ready(
            driver.map(|d| Arc::new(d) as Arc<dyn SessionDriver>),
        ))
    }
    #[allow(unused_mut)]
    let mut table: Vec<(&'static str, Builtin)> = Vec::new();
    #[cfg(feature = "memory")]
    table.push(("memory", |s| {
        ready(crate::drivers::memory::MemoryDriver::from_settings(&s))
    }));
    #[cfg(feature = "cookie")]
    table.push(("cookie", |s| {
        ready(crate::drivers::cookie::CookieDriver::from_settings(&s))
    }));
    #[cfg(feature = "file")]
    table.push(("file", |s| {
        ready(crate::drivers::file::FileDriver::from_settings(&s))
    }));
    #[cfg(feature = "redis")]
    let redis: Builtin = |s| {
        Box::pin(async move {
            let driver = crate::drivers::redis::RedisDriver::from_settings(&s).await?;
            Ok(Arc::new(driver) as Arc<dyn SessionDriver>)
        })
    };
    #[cfg(feature = "redis")]
    table.push(("redis", redis));
    #[cfg(feature = "redis-cluster")]
    table.push(("redis-cluster", redis));
    #[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
    let sql: Builtin = |s| Box::pin(crate::drivers::sql::build(s));
    #[cfg(feature = "sqlite")]
    table.push(("sqlite", sql));
    #[cfg(feature = "postgres")]
    table.push(("postgres", sql));
    #[cfg(feature = "mysql")]
    table.push(("mysql", sql));
    table
}

impl DriverRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry with every driver compiled into this build.
    pub fn with_builtins() -> Self {
        let mut r = Self::new();
        for (name, factory) in builtins() {
            r.register(name, factory);
        }
        r
    }

    /// Registers (or replaces) the driver called `name`.
    pub fn register<F, Fut>(&mut self, name: impl Into<String>, factory: F) -> &mut Self
    where
        F: Fn(DriverSettings) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Arc<dyn SessionDriver>, SettingsError>> + Send + 'static,
    {
        self.factories.insert(
            name.into(),
            Arc::new(move |s| Box::pin(factory(s)) as DriverFuture),
        );
        self
    }

    /// The registered names.
    pub fn names(&self) -> Vec<&str> {
        self.factories.keys().map(String::as_str).collect()
    }

    /// Builds the driver the settings name.
    pub async fn build(
        &self,
        settings: &DriverSettings,
    ) -> Result<Arc<dyn SessionDriver>, SettingsError> {
        if settings.driver.is_empty() {
            return Err(SettingsError::NoDriver);
        }
        let Some(factory) = self.factories.get(&settings.driver) else {
            let hint = BUILTIN_FEATURES
                .iter()
                .find(|(name, _)| *name == settings.driver)
                .map(|(_, feature)| {
                    format!(" (enable the `{feature}` cargo feature of session-actix for it)")
                })
                .unwrap_or_default();
            return Err(SettingsError::UnknownDriver {
                name: settings.driver.clone(),
                known: self.names().join(", "),
                hint,
            });
        };
        factory(settings.clone()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn env_vars_fill_the_settings() {
        let s = DriverSettings::from_vars(vars(&[
            ("SESSION_DRIVER", "redis"),
            ("SESSION_URL", "redis://:secret@127.0.0.1/"),
            ("SESSION_OLD_KEYS", "aa, bb,"),
            ("SESSION_TIMEOUT_MS", "250"),
            ("SESSION_REGION", "eu"),
            ("PATH", "/bin"),
        ]))
        .unwrap();
        assert_eq!(s.driver, "redis");
        assert_eq!(s.old_keys, ["aa", "bb"]);
        assert_eq!(s.timeout_ms, Some(250));
        assert_eq!(s.options["region"], "eu");
        let shown = format!("{s:?}");
        assert!(!shown.contains("secret"), "{shown}");
        let unset = DriverSettings::from_vars(vars(&[("SESSION_URL", "x")])).unwrap();
        assert_eq!(unset.driver, "memory", "SESSION_DRIVER defaults to memory");
        assert!(matches!(
            DriverSettings::from_vars(vars(&[("SESSION_DRIVER", "")])),
            Err(SettingsError::NoDriver)
        ));
        assert!(DriverSettings::from_vars(vars(&[
            ("SESSION_DRIVER", "x"),
            ("SESSION_TIMEOUT_MS", "soon")
        ]))
        .is_err());
    }

    #[tokio::test]
    async fn unknown_drivers_are_named_with_a_hint() {
        let r = DriverRegistry::with_builtins();
        let e = r.build(&DriverSettings::new("nosuch")).await.unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("\"nosuch\"") && msg.contains("memory"),
            "{msg}"
        );
        let e = DriverRegistry::new()
            .build(&DriverSettings::new("redis"))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("`redis` cargo feature"), "{e}");
    }

    #[tokio::test]
    async fn the_memory_capacity_is_a_setting() {
        let r = DriverRegistry::with_builtins();
        let json: DriverSettings =
            serde_json::from_str(r#"{"driver":"memory","capacity":32}"#).unwrap();
        let built = format!("{:?}", r.build(&json).await.unwrap());
        assert!(built.contains("capacity: Some(32)"), "{built}");
        let vars = |v: &str| {
            DriverSettings::from_vars([
                ("SESSION_DRIVER".to_owned(), "memory".to_owned()),
                ("SESSION_CAPACITY".to_owned(), v.to_owned()),
            ])
            .unwrap()
        };
        assert!(r.build(&vars("100000")).await.is_ok());
        for bad in ["0", "-1", "lots"] {
            let e = r.build(&vars(bad)).await.unwrap_err();
            assert!(e.to_string().contains("SESSION_CAPACITY"), "{bad}: {e}");
        }
        let bad: DriverSettings =
            serde_json::from_str(r#"{"driver":"memory","capacity":0}"#).unwrap();
        let e = r.build(&bad).await.unwrap_err();
        assert!(e.to_string().contains("capacity"), "{e}");
    }

    #[tokio::test]
    async fn custom_drivers_are_built_by_name_with_their_options() {
        let mut r = DriverRegistry::with_builtins();
        r.register("custom", |s: DriverSettings| async move {
            if s.options.get("flavour").is_none() {
                return Err(SettingsError::Missing {
                    driver: s.driver,
                    setting: "flavour".into(),
                });
            }
            Ok(Arc::new(crate::MemoryDriver::new()) as Arc<dyn SessionDriver>)
        });
        let s: DriverSettings =
            serde_json::from_str(r#"{"driver":"custom","flavour":"x"}"#).unwrap();
        assert!(r.build(&s).await.is_ok());
        let e = r.build(&DriverSettings::new("custom")).await.unwrap_err();
        assert!(e.to_string().contains("flavour"));
    }
}
