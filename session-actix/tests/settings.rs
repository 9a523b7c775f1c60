//! Choosing and configuring the driver from settings or the environment.

use std::sync::Arc;

use actix_web::http::header::SET_COOKIE;
use actix_web::{test, web, App};
use session_actix::driver::{DriverRegistry, DriverSettings, SessionDriver, SettingsError};
use session_actix::{SameSite, Session, SessionSettings, StartupError};
use session_test_support::driver::{Forward, Op};

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

async fn write(s: Session) -> actix_web::Result<String> {
    Ok(s.increment("n", 1)?.to_string())
}

#[actix_web::test]
async fn env_settings_build_a_working_middleware() {
    let settings = SessionSettings::from_vars(vars(&[
        ("SESSION_DRIVER", "memory"),
        ("SESSION_COOKIE_NAME", "sid"),
        ("SESSION_SECURE", "false"),
        ("SESSION_SAME_SITE", "Strict"),
        ("SESSION_IDLE_TIMEOUT_SECS", "900"),
        ("HOME", "/root"),
    ]))
    .unwrap();
    let mw = settings.build().await.unwrap();
    let app = test::init_service(App::new().wrap(mw).route("/", web::post().to(write))).await;
    let res = test::call_service(&app, test::TestRequest::post().uri("/").to_request()).await;
    let cookie = res
        .headers()
        .get(SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("sid="), "{cookie}");
    assert!(
        cookie.contains("SameSite=Strict") && cookie.contains("Max-Age=900"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "{cookie}");
}

#[actix_web::test]
async fn startup_errors_name_what_is_wrong() {
    let reg = DriverRegistry::with_builtins();
    // SESSION_DRIVER defaults to memory; an empty one is named.
    let s = SessionSettings::from_vars(vars(&[("SESSION_COOKIE_NAME", "x")])).unwrap();
    assert_eq!(s.driver.driver, "memory");
    assert!(s.build().await.is_ok());
    let e = SessionSettings::from_vars(vars(&[("SESSION_DRIVER", "")])).unwrap_err();
    assert!(e.to_string().contains("SESSION_DRIVER"), "{e}");
    let e = SessionSettings::from_vars(vars(&[
        ("SESSION_DRIVER", "memory"),
        ("SESSION_SECURE", "maybe"),
    ]))
    .unwrap_err();
    assert!(e.to_string().contains("SESSION_SECURE"), "{e}");

    let s = SessionSettings::from_vars(vars(&[("SESSION_DRIVER", "mongo")])).unwrap();
    let e = s.build_with(&reg).await.unwrap_err();
    assert!(matches!(
        e,
        StartupError::Settings(SettingsError::UnknownDriver { .. })
    ));
    assert!(e.to_string().contains("mongo"), "{e}");

    // A SameSite value is checked as it is read, before any driver is built.
    let e =
        serde_json::from_str::<SessionSettings>(r#"{"driver":"memory","same_site":"sideways"}"#)
            .unwrap_err();
    assert!(
        e.to_string()
            .contains("same_site: expected one of lax, strict, none"),
        "{e}"
    );
    let e = SessionSettings::from_vars(vars(&[("SESSION_SAME_SITE", "sideways")])).unwrap_err();
    assert!(e.to_string().contains("SESSION_SAME_SITE"), "{e}");
    let s: SessionSettings = serde_json::from_str(r#"{"same_site":"Strict"}"#).unwrap();
    assert_eq!(s.same_site, Some(SameSite::Strict));

    let s: SessionSettings =
        serde_json::from_str(r#"{"driver":"memory","cookie_name":"a b"}"#).unwrap();
    assert!(matches!(
        s.build_with(&reg).await.unwrap_err(),
        StartupError::Config(_)
    ));

    let s: SessionSettings =
        serde_json::from_str(r#"{"driver":"memory","idle_timeout_secs":0}"#).unwrap();
    assert!(matches!(
        s.build_with(&reg).await.unwrap_err(),
        StartupError::Config(_)
    ));
}

#[actix_web::test]
async fn a_custom_driver_is_chosen_by_name() {
    let driver = Forward::memory();
    let mut reg = DriverRegistry::with_builtins();
    let shared = driver.clone();
    reg.register("counting", move |s: DriverSettings| {
        let d = shared.clone();
        async move {
            assert_eq!(
                s.options["region"], "eu",
                "custom options reach the factory"
            );
            Ok(Arc::new(d) as Arc<dyn SessionDriver>)
        }
    });
    let s: SessionSettings =
        serde_json::from_str(r#"{"driver":"counting","region":"eu"}"#).unwrap();
    let mw = s.build_with(&reg).await.unwrap();
    let app = test::init_service(App::new().wrap(mw).route("/", web::post().to(write))).await;
    test::call_service(&app, test::TestRequest::post().uri("/").to_request()).await;
    assert_eq!(driver.calls(Op::Create), 1);
}

/// With no `SESSION_*` variable at all, the settings build the memory driver
/// with the builder's defaults.
#[actix_web::test]
async fn an_empty_environment_starts_on_memory() {
    let mw = SessionSettings::from_vars(vars(&[("HOME", "/root")]))
        .unwrap()
        .build()
        .await
        .unwrap();
    let app = test::init_service(App::new().wrap(mw).route("/", web::post().to(write))).await;
    let res = test::call_service(&app, test::TestRequest::post().uri("/").to_request()).await;
    let cookie = res.headers().get(SET_COOKIE).unwrap().to_str().unwrap();
    assert!(
        cookie.starts_with("session=") && cookie.contains("Secure"),
        "{cookie}"
    );
}

/// An error about a setting names it as the user gave it: the environment
/// variable, or the serde field.
#[actix_web::test]
async fn errors_name_the_environment_variable() {
    let env_error = |pairs: &[(&str, &str)]| {
        let pairs = vars(pairs);
        async move {
            match SessionSettings::from_vars(pairs) {
                Err(e) => e,
                Ok(s) => s.build().await.unwrap_err(),
            }
        }
    };
    let e = env_error(&[("SESSION_COOKIE_NAME", "a b")]).await;
    assert!(
        matches!(
            e,
            StartupError::Variable {
                variable: "SESSION_COOKIE_NAME",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().starts_with("SESSION_COOKIE_NAME: "), "{e}");
    let e = env_error(&[("SESSION_IDLE_TIMEOUT_SECS", "0")]).await;
    assert!(e.to_string().contains("SESSION_IDLE_TIMEOUT_SECS"), "{e}");
    let e = env_error(&[("SESSION_SAME_SITE", "None"), ("SESSION_SECURE", "no")]).await;
    assert!(e.to_string().contains("SESSION_SECURE"), "{e}");
    let e = env_error(&[("SESSION_SAME_SITE", "sideways")]).await;
    assert!(e.to_string().contains("SESSION_SAME_SITE"), "{e}");
    let e = env_error(&[("SESSION_CACHE_CONTROL", "no-store\u{1}")]).await;
    assert!(e.to_string().starts_with("SESSION_CACHE_CONTROL: "), "{e}");
    let e = env_error(&[("SESSION_DRIVER", "file")]).await;
    assert!(
        e.to_string().contains("SESSION_DIR") || e.to_string().contains("`file` cargo feature"),
        "{e}"
    );

    #[cfg(feature = "cookie")]
    {
        let e = env_error(&[("SESSION_DRIVER", "cookie")]).await;
        assert!(e.to_string().contains("SESSION_KEY"), "{e}");
        let e = env_error(&[("SESSION_DRIVER", "cookie"), ("SESSION_KEY", "short")]).await;
        assert!(e.to_string().contains("SESSION_KEY"), "{e}");
        let s: SessionSettings = serde_json::from_str(r#"{"driver":"cookie"}"#).unwrap();
        let e = s.build().await.unwrap_err().to_string();
        assert!(e.contains("key") && !e.contains("SESSION_KEY"), "{e}");
    }
    #[cfg(feature = "sqlite")]
    {
        let e = env_error(&[
            ("SESSION_DRIVER", "sqlite"),
            ("SESSION_URL", "sqlite::memory:"),
            ("SESSION_TABLE", "no such table"),
        ])
        .await;
        assert!(e.to_string().contains("SESSION_TABLE"), "{e}");
    }
}
