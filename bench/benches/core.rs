//! Micro-benchmarks of session-core's building blocks: ids, records, and
//! (once the cookie driver is on main) sealing and opening a cookie.
//!
//! `cargo bench -p session-bench --bench core`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use session_actix::core::{Record, SessionId, Timestamp};
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

// COOKIE DRIVER: sealing and opening a cookie belong here once
// `session_core::drivers::cookie` is on main (branch `cookie`): build the
// driver with a fixed 32-byte key, then bench `write_cookie(&id, &record)`
// (seal) and `read_cookie(&sealed, now)` (open) on `typical_record()`, and add
// the function to the group below.

criterion_group!(benches, ids, records);
criterion_main!(benches);
