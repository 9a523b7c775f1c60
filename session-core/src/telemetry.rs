//! What the engine reports through the [`metrics`](https://docs.rs/metrics)
//! facade, with the cargo feature `metrics` (session-actix's feature of the
//! same name turns it on). No exporter is bundled: install the recorder of
//! your choice (Prometheus, StatsD ...) as for any crate that uses `metrics`.
//! Without the feature every call here compiles to nothing.
//!
//! The names, labels and meaning of each metric are documented in
//! session-actix's crate docs, "Metrics".

#[cfg(feature = "metrics")]
use std::time::Instant;

use crate::driver::SessionDriver;
#[cfg(feature = "metrics")]
use crate::error::DriverError;

/// A driver operation, as the `op` label names it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Op {
    Load,
    Create,
    Update,
    Touch,
    Destroy,
}

impl Op {
    #[cfg(feature = "metrics")]
    fn label(self) -> &'static str {
        match self {
            Op::Load => "load",
            Op::Create => "create",
            Op::Update => "update",
            Op::Touch => "touch",
            Op::Destroy => "destroy",
        }
    }
}

/// Runs one driver call, counting and timing it.
#[cfg(feature = "metrics")]
pub(crate) async fn timed<T>(
    driver: &dyn SessionDriver,
    op: Op,
    call: impl std::future::Future<Output = Result<T, DriverError>>,
) -> Result<T, DriverError> {
    let started = Instant::now();
    let result = call.await;
    let labels = [("driver", driver.name()), ("op", op.label())];
    ::metrics::counter!("session_store_calls_total", &labels).increment(1);
    ::metrics::histogram!("session_store_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    if matches!(&result, Err(e) if !matches!(e, DriverError::AlreadyExists)) {
        ::metrics::counter!("session_store_errors_total", &labels).increment(1);
    }
    result
}

/// Without the feature: the call itself, not wrapped in another future.
#[cfg(not(feature = "metrics"))]
#[inline(always)]
pub(crate) fn timed<F>(_driver: &dyn SessionDriver, _op: Op, call: F) -> F {
    call
}

/// A commit that reached the store, by step.
#[inline]
pub(crate) fn commit(driver: &dyn SessionDriver, step: &'static str) {
    #[cfg(feature = "metrics")]
    ::metrics::counter!("session_commits_total", "driver" => driver.name(), "step" => step)
        .increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (driver, step);
}

/// A compare-and-set lost to a parallel request; `retried` when another
/// attempt follows.
#[inline]
pub(crate) fn conflict(driver: &dyn SessionDriver, retried: bool) {
    #[cfg(feature = "metrics")]
    {
        ::metrics::counter!("session_commit_conflicts_total", "driver" => driver.name())
            .increment(1);
        if retried {
            ::metrics::counter!("session_commit_retries_total", "driver" => driver.name())
                .increment(1);
        }
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (driver, retried);
}

/// How many requests one grouped save carried.
#[inline]
pub(crate) fn batch(driver: &dyn SessionDriver, size: usize) {
    #[cfg(feature = "metrics")]
    ::metrics::histogram!("session_group_commit_batch_size", "driver" => driver.name())
        .record(size as f64);
    #[cfg(not(feature = "metrics"))]
    let _ = (driver, size);
}

/// The memory driver dropped a session to stay within its capacity.
#[cfg(feature = "memory")]
#[inline]
pub(crate) fn memory_eviction() {
    #[cfg(feature = "metrics")]
    ::metrics::counter!("session_memory_evictions_total").increment(1);
}

/// A cookie that led to a fresh session.
#[inline]
pub(crate) fn rejected(driver: &dyn SessionDriver, reason: &'static str) {
    #[cfg(feature = "metrics")]
    ::metrics::counter!("session_rejected_cookies_total", "driver" => driver.name(), "reason" => reason)
        .increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (driver, reason);
}

#[cfg(all(test, feature = "metrics"))]
mod tests {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    use crate::driver::ExpiryPolicy;
    use crate::lifecycle::{self, CookieAction};
    use crate::test_driver::{Forward, Op};
    use crate::test_fixtures::T0;
    use crate::time::Timestamp;

    /// The counters recorded while `run` ran, as `name{label=value,...}` to
    /// count, and the number of histogram samples per name.
    /// Counter values and histogram sample counts, by name and labels.
    type Recorded = (Vec<(String, u64)>, Vec<(String, usize)>);

    fn recorded(run: impl AsyncFnOnce()) -> Recorded {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap()
                .block_on(run())
        });
        let (mut counters, mut histograms) = (Vec::new(), Vec::new());
        for (key, _, _, value) in snapshotter.snapshot().into_vec() {
            let key = key.key();
            let mut labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            labels.sort();
            let name = format!("{}{{{}}}", key.name(), labels.join(","));
            match value {
                DebugValue::Counter(n) => counters.push((name, n)),
                DebugValue::Histogram(samples) => histograms.push((name, samples.len())),
                DebugValue::Gauge(_) => {}
            }
        }
        counters.sort();
        histograms.sort();
        (counters, histograms)
    }

    fn count(counters: &[(String, u64)], name: &str) -> u64 {
        counters
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0, |(_, c)| *c)
    }

    #[test]
    fn the_engine_reports_calls_commits_conflicts_and_rejections() {
        let driver = Forward::memory();
        let remote = Forward::memory().remote(true);
        let policy = ExpiryPolicy::default();
        let now = Timestamp::from_secs(T0);
        let (counters, histograms) = recorded(async || {
            let d = &driver;
            // A new session: one create.
            let (s, _) = lifecycle::load(d, None, policy, now).await.unwrap();
            s.writable().put("a", 1).unwrap();
            let CookieAction::Set { value: cookie, .. } =
                lifecycle::commit(&s, d, None, now).await.unwrap()
            else {
                panic!("a new session sets its cookie");
            };
            // Two parallel requests: the second loses the compare-and-set,
            // merges and retries.
            let (a, _) = lifecycle::load(d, Some(&cookie), policy, now)
                .await
                .unwrap();
            let (b, _) = lifecycle::load(d, Some(&cookie), policy, now)
                .await
                .unwrap();
            a.writable().put("b", 2).unwrap();
            b.writable().put("c", 3).unwrap();
            lifecycle::commit(&a, d, None, now).await.unwrap();
            lifecycle::commit(&b, d, None, now).await.unwrap();
            // Refused cookies.
            lifecycle::load(d, Some("garbage"), policy, now)
                .await
                .unwrap();
            let unknown = crate::id::SessionId::generate();
            lifecycle::load(d, Some(unknown.as_str()), policy, now)
                .await
                .unwrap();
            // A failing store.
            d.fail_on(&[Op::Load], true);
            assert!(lifecycle::load(d, Some(&cookie), policy, now)
                .await
                .is_err());
            // A save to a remote driver goes through the commit gate.
            let gate = crate::gate::CommitGate::default();
            let remote = &remote;
            let (s, _) = lifecycle::load(remote, None, policy, now).await.unwrap();
            s.writable().put("a", 1).unwrap();
            let CookieAction::Set { value: cookie, .. } =
                lifecycle::commit(&s, remote, Some(&gate), now)
                    .await
                    .unwrap()
            else {
                panic!("a new session sets its cookie");
            };
            let (s, _) = lifecycle::load(remote, Some(&cookie), policy, now)
                .await
                .unwrap();
            s.writable().put("b", 2).unwrap();
            lifecycle::commit(&s, remote, Some(&gate), now)
                .await
                .unwrap();
        });
        let store = |op: &str| format!("session_store_calls_total{{driver=memory,op={op}}}");
        assert_eq!(count(&counters, &store("create")), 2);
        assert_eq!(count(&counters, &store("load")), 5);
        assert_eq!(
            count(&counters, &store("update")),
            4,
            "three saves, one retried"
        );
        assert_eq!(
            count(
                &counters,
                "session_store_errors_total{driver=memory,op=load}"
            ),
            1
        );
        assert_eq!(
            count(
                &counters,
                "session_commits_total{driver=memory,step=create}"
            ),
            2
        );
        assert_eq!(
            count(&counters, "session_commits_total{driver=memory,step=save}"),
            3
        );
        assert_eq!(
            count(&counters, "session_commit_conflicts_total{driver=memory}"),
            1
        );
        assert_eq!(
            count(&counters, "session_commit_retries_total{driver=memory}"),
            1
        );
        for reason in ["malformed", "unknown"] {
            let name = format!("session_rejected_cookies_total{{driver=memory,reason={reason}}}");
            assert_eq!(count(&counters, &name), 1, "{reason}");
        }
        assert!(histograms.contains(&(
            "session_store_duration_seconds{driver=memory,op=update}".to_owned(),
            4
        )));
        assert!(histograms.contains(&(
            "session_group_commit_batch_size{driver=memory}".to_owned(),
            1
        )));
    }
}
