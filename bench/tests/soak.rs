//! The soak, short (a few seconds per store): every invariant holds on the
//! memory store, on Redis (127.0.0.1:6379, a key prefix of its own) and on
//! PostgreSQL (127.0.0.1:5432, a table of its own), and the checker catches
//! each way of breaking a driver's `update` on purpose. The long run is
//! `scripts/bench.sh soak`.

use std::time::Duration;

use session_bench::soak::{self, BrokenUpdate, Config, Kind, Op, Report, Store, StoreKind};

/// A short soak: 6 browsers of 4 tabs for 4 seconds.
fn short(store: StoreKind) -> Config {
    Config {
        store,
        duration: Duration::from_secs(4),
        sessions: 6,
        clients: 4,
        seed: 17,
        ..Config::default()
    }
}

async fn soak_on(store: &Store, config: &Config) -> Report {
    let report = soak::run_on(store, config).await.expect("the soak runs");
    println!("{report}");
    for (op, _) in Op::ALL {
        let n = report.ops.get(&op).copied().unwrap_or_default();
        assert!(
            n.acknowledged > 0,
            "no {} was acknowledged:\n{report}",
            op.name()
        );
    }
    report
}

/// Store calls as slow as this race often enough for every broken driver
/// below to be caught in a short run.
const SLOW: Duration = Duration::from_micros(200);

async fn holds_every_invariant(store: Store, latency: Duration) {
    let config = Config {
        latency,
        ..short(store.kind())
    };
    let report = soak_on(&store, &config).await;
    assert!(report.passed(), "{report}");
    assert_eq!(report.client_errors, 0);
}

#[actix_rt::test]
async fn memory_store_holds_every_invariant() {
    holds_every_invariant(Store::memory(), Duration::ZERO).await;
}

/// The soak the broken drivers below fail, on the healthy driver.
#[actix_rt::test]
async fn memory_store_with_slow_calls_holds_every_invariant() {
    holds_every_invariant(Store::memory(), SLOW).await;
}

#[cfg(feature = "redis")]
#[actix_rt::test]
async fn redis_store_holds_every_invariant() {
    let url = Config::default().redis_url;
    let store = Store::redis(&url).await.unwrap_or_else(|e| {
        panic!("Redis on {url} did not answer ({e}); scripts/test.sh starts it")
    });
    holds_every_invariant(store, Duration::ZERO).await;
}

#[cfg(feature = "postgres")]
#[actix_rt::test]
async fn postgres_store_holds_every_invariant() {
    let url = session_test_support::sql::postgres_url();
    let store = Store::postgres(&url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL did not answer ({e}); scripts/test.sh starts it"));
    holds_every_invariant(store, Duration::ZERO).await;
}

/// The short soak with slow calls on a memory store whose `update` is
/// broken as `how` says.
async fn broken(how: BrokenUpdate) -> Report {
    let config = Config {
        broken: Some(how),
        latency: SLOW,
        ..short(StoreKind::Memory)
    };
    let report = soak_on(&Store::memory(), &config).await;
    assert!(!report.passed(), "{how:?} went unnoticed:\n{report}");
    report
}

#[actix_rt::test]
async fn the_checker_catches_a_driver_that_drops_updates() {
    let report = broken(BrokenUpdate::DropEvery(5)).await;
    assert!(report.count(Kind::LostIncrement) > 0, "{report}");
    assert!(report.count(Kind::StalePut) > 0, "{report}");
}

#[actix_rt::test]
async fn the_checker_catches_a_driver_that_ignores_the_version() {
    let report = broken(BrokenUpdate::IgnoreVersion).await;
    assert!(report.count(Kind::LostIncrement) > 0, "{report}");
}

#[actix_rt::test]
async fn the_checker_catches_a_driver_that_brings_sessions_back() {
    let report = broken(BrokenUpdate::Resurrect).await;
    assert!(report.count(Kind::Resurrected) > 0, "{report}");
}
