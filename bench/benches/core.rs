//! Micro-benchmarks of session-core's building blocks: ids, records, the
//! record formats that were candidates, a memory driver load, and sealing
//! and opening a cookie with the cookie driver.
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

/// The record formats that were candidates, on a typical small session and
/// on one of 100 keys of 90-character strings (about 10 KB): our compact
/// format, the JSON of earlier releases and MessagePack (rmp-serde).
/// postcard is not among them: it cannot deserialize a `serde_json::Value`
/// (which needs `deserialize_any`, and postcard is not self-describing).
fn formats(c: &mut Criterion) {
    let mut large = typical_record();
    for i in 0..100 {
        large
            .data
            .insert(format!("key{i}"), serde_json::json!("x".repeat(90)));
    }
    for (size, record) in [("typical", typical_record()), ("100 keys", large)] {
        let compact = record.encode().unwrap();
        let json = serde_json::to_vec(&record).unwrap();
        let msgpack = rmp_serde::to_vec_named(&record).unwrap();
        let back: Record = rmp_serde::from_slice(&msgpack).unwrap();
        assert_eq!(back, record, "MessagePack reads the record back");
        eprintln!(
            "formats/{size}: compact {} bytes, JSON {}, MessagePack {}",
            compact.len(),
            json.len(),
            msgpack.len()
        );
        c.bench_function(&format!("formats/{size}/compact/encode"), |b| {
            b.iter(|| black_box(&record).encode().unwrap())
        });
        c.bench_function(&format!("formats/{size}/compact/decode"), |b| {
            b.iter(|| Record::decode(black_box(&compact)).unwrap())
        });
        c.bench_function(&format!("formats/{size}/json/encode"), |b| {
            b.iter(|| serde_json::to_vec(black_box(&record)).unwrap())
        });
        c.bench_function(&format!("formats/{size}/json/decode"), |b| {
            b.iter(|| Record::decode(black_box(&json)).unwrap())
        });
        c.bench_function(&format!("formats/{size}/msgpack/encode"), |b| {
            b.iter(|| rmp_serde::to_vec_named(black_box(&record)).unwrap())
        });
        c.bench_function(&format!("formats/{size}/msgpack/decode"), |b| {
            b.iter(|| rmp_serde::from_slice::<Record>(black_box(&msgpack)).unwrap())
        });
    }
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

criterion_group!(benches, ids, records, formats, memory, cookies);
criterion_main!(benches);
