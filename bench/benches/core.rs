//! Micro-benchmarks of session-core's building blocks: ids, records, a
//! memory driver load, and sealing and opening a cookie with the cookie
//! driver.
//!
//! `cargo bench -p session-bench --bench core`

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use criterion::{criterion_group, criterion_main, Criterion};
use session_actix::driver::{CookieRead, Record, SessionDriver, SessionId, Timestamp};
use session_actix::{CookieDriver, CookieKey, MemoryDriver};
use session_bench::fixtures::typical_record as typical_record_at;

fn typical_record() -> Record {
    typical_record_at(Timestamp::from_secs(1_700_000_000))
}

fn ids(c: &mut Criterion) {
    c.bench_function("id/generate", |b| b.iter(SessionId::generate));
    let text = SessionId::generate().to_string();
    c.bench_function("id/parse", |b| {
        b.iter(|| SessionId::parse(black_box(&text)).unwrap())
    });
}

fn records(c: &mut Criterion) {
    let record = typical_record();
    let bytes = record.encode().unwrap();
    c.bench_function("record/encode", |b| {
        b.iter(|| black_box(&record).encode().unwrap())
    });
    c.bench_function("record/decode", |b| {
        b.iter(|| Record::decode(black_box(&bytes)).unwrap())
    });
    c.bench_function("record/clone", |b| b.iter(|| black_box(&record).clone()));
}

fn memory(c: &mut Criterion) {
    let driver = MemoryDriver::new();
    let record = typical_record();
    let now = record.last_active;
    let id = SessionId::generate();
    // The memory driver's futures are ready at once: poll them by hand, so
    // no runtime's overhead is in the figure.
    let mut cx = Context::from_waker(Waker::noop());
    let Poll::Ready(created) = pin!(driver.create(&id, &record)).poll(&mut cx) else {
        unreachable!("the memory driver does not wait")
    };
    created.unwrap();
    c.bench_function("memory/load", |b| {
        b.iter(
            || match pin!(driver.load(black_box(&id), now)).poll(&mut cx) {
                Poll::Ready(loaded) => loaded.unwrap().expect("the session is live"),
                Poll::Pending => unreachable!("the memory driver does not wait"),
            },
        )
    });
}

fn cookies(c: &mut Criterion) {
    let now = Timestamp::from_secs(1_700_000_000);
    let driver = CookieDriver::new("session", CookieKey::from_secret(&[7; 32]).unwrap());
    let record = typical_record();
    let id = SessionId::generate();
    let sealed = driver.write_cookie(&id, &record).unwrap();
    c.bench_function("cookie/seal", |b| {
        b.iter(|| {
            driver
                .write_cookie(black_box(&id), black_box(&record))
                .unwrap()
        })
    });
    c.bench_function("cookie/open", |b| {
        b.iter(|| match driver.read_cookie(black_box(&sealed), now) {
            CookieRead::Inline { record, .. } => record,
            other => panic!("the sealed cookie did not open: {other:?}"),
        })
    });
}

criterion_group!(benches, ids, records, memory, cookies);
criterion_main!(benches);
