//! Choosing and configuring the driver from settings or the environment.

mod common;

use std::sync::Arc;

use actix_web::http::header::SET_COOKIE;
use actix_web::{test, web, App};
use session_actix::{
    DriverRegistry, DriverSettings, Session, SessionDriver, SessionSettings, SettingsError,
    StartupError,
};

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
    let mw = settings
        .build(&DriverRegistry::with_builtins())
        .await
        .unwrap();
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
    let e = SessionSettings::from_vars(vars(&[("SESSION_COOKIE_NAME", "x")])).unwrap_err();
    assert!(e.to_string().contains("SESSION_DRIVER"), "{e}");
    let e = SessionSettings::from_vars(vars(&[
        ("SESSION_DRIVER", "memory"),
        ("SESSION_SECURE", "maybe"),
    ]))
    .unwrap_err();
    assert!(e.to_string().contains("SESSION_SECURE"), "{e}");

    let s = SessionSettings::from_vars(vars(&[("SESSION_DRIVER", "mongo")])).unwrap();
    let e = s.build(&reg).await.unwrap_err();
    assert!(matches!(
        e,
        StartupError::Settings(SettingsError::UnknownDriver { .. })
    ));
    assert!(e.to_string().contains("mongo"), "{e}");

    let s: SessionSettings =
        serde_json::from_str(r#"{"driver":"memory","same_site":"sideways"}"#).unwrap();
    assert!(s
        .build(&reg)
        .await
        .unwrap_err()
        .to_string()
        .contains("lax, strict, none"));

    let s: SessionSettings =
        serde_json::from_str(r#"{"driver":"memory","cookie_name":"a b"}"#).unwrap();
    assert!(matches!(
        s.build(&reg).await.unwrap_err(),
        StartupError::Config(_)
    ));

    let s: SessionSettings =
        serde_json::from_str(r#"{"driver":"memory","idle_timeout_secs":0}"#).unwrap();
    assert!(matches!(
        s.build(&reg).await.unwrap_err(),
        StartupError::Config(_)
    ));
}

#[actix_web::test]
async fn a_custom_driver_is_chosen_by_name() {
    let driver = common::TestDriver::default();
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
    let mw = s.build(&reg).await.unwrap();
    let app = test::init_service(App::new().wrap(mw).route("/", web::post().to(write))).await;
    test::call_service(&app, test::TestRequest::post().uri("/").to_request()).await;
    assert_eq!(
        driver
            .calls
            .create
            .load(std::sync::atomic::Ordering::SeqCst),
        1
    );
}
