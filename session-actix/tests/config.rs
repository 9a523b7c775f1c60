//! Every unusable setting is an error when the middleware is built, with a
//! message that says what to change.

use std::time::Duration;

use session_actix::SameSite;
use session_actix::{ConfigError, MemoryDriver, SessionMiddleware, SessionMiddlewareBuilder};

fn b() -> SessionMiddlewareBuilder {
    SessionMiddleware::builder(MemoryDriver::new())
}

fn err(builder: SessionMiddlewareBuilder) -> ConfigError {
    builder.build().expect_err("these settings must be refused")
}

#[test]
fn defaults_build() {
    assert!(b().build().is_ok());
    assert!(b().cookie_name("__Host-session").build().is_ok());
    assert!(b().same_site(SameSite::None).build().is_ok());
}

#[test]
fn bad_cookie_names() {
    for name in [
        "",
        "a;b",
        "a b",
        "a=b",
        "sess\u{e9}",
        "a,b",
        "\"q\"",
        "tab\t",
    ] {
        let e = err(b().cookie_name(name));
        assert_eq!(e, ConfigError::CookieName(name.into()));
        assert!(e.to_string().contains("no spaces"), "{e}");
    }
}

#[test]
fn bad_path_and_domain() {
    assert!(matches!(
        err(b().path("/a;b")),
        ConfigError::CookieAttribute {
            attribute: "path",
            ..
        }
    ));
    assert!(matches!(
        err(b().path("")),
        ConfigError::CookieAttribute {
            attribute: "path",
            ..
        }
    ));
    assert!(matches!(
        err(b().domain("a b.test")),
        ConfigError::CookieAttribute {
            attribute: "domain",
            ..
        }
    ));
}

#[test]
fn zero_and_sub_second_timeouts() {
    for d in [Duration::ZERO, Duration::from_millis(999)] {
        let e = err(b().idle_timeout(d));
        assert!(matches!(e, ConfigError::Timeout { which: "idle", .. }));
        assert!(e.to_string().contains("at least one second"));
        let e = err(b().absolute_timeout(d));
        assert!(matches!(
            e,
            ConfigError::Timeout {
                which: "absolute",
                ..
            }
        ));
    }
}

#[test]
fn refresh_interval_must_be_shorter_than_idle() {
    let e = err(b()
        .idle_timeout(Duration::from_secs(60))
        .refresh_after(Duration::from_secs(60)));
    assert!(matches!(e, ConfigError::RefreshInterval { .. }));
    assert!(e.to_string().contains("lower refresh_after"), "{e}");
}

#[test]
fn host_prefix_rules() {
    let host = || b().cookie_name("__Host-id");
    let e = err(host().domain("example.test"));
    assert!(e.to_string().contains("remove the domain"), "{e}");
    assert!(err(host().secure(false)).to_string().contains("secure"));
    assert!(err(host().path("/app")).to_string().contains("path"));
}

#[test]
fn secure_is_required_where_browsers_require_it() {
    assert!(matches!(
        err(b().cookie_name("__Secure-id").secure(false)),
        ConfigError::NeedsSecure(_)
    ));
    assert!(matches!(
        err(b().same_site(SameSite::None).secure(false)),
        ConfigError::NeedsSecure(_)
    ));
}

/// Every public error type is nameable with session-actix alone: the app's
/// at the root, the drivers' in `driver`.
#[test]
fn public_errors_are_nameable() {
    fn is_error<E: std::error::Error>() {}
    is_error::<session_actix::SessionError>();
    is_error::<session_actix::ConfigError>();
    is_error::<session_actix::StartupError>();
    is_error::<session_actix::driver::DriverError>();
    is_error::<session_actix::driver::IdError>();
    is_error::<session_actix::driver::SettingsError>();
    #[cfg(feature = "cookie")]
    is_error::<session_actix::driver::cookie::KeyError>();
    #[cfg(feature = "file")]
    is_error::<session_actix::driver::file::FileDriverError>();
    #[cfg(feature = "redis")]
    is_error::<session_actix::driver::redis::RedisConnectError>();
    #[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
    is_error::<session_actix::driver::sql::TableNameError>();
}
