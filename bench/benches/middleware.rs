//! A whole request through the session middleware, in-process
//! (`actix_web::test`), for the testbed's untouched, read and write routes,
//! with the memory driver and with the cookie driver. For scale, the same
//! requests against the bare routes (no session middleware) and against
//! actix-session's cookie store.
//!
//! `cargo bench -p session-bench --bench middleware`

use std::time::{Duration, Instant};

use actix_http::Request;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::{COOKIE, SET_COOKIE};
use actix_web::http::Method;
use actix_web::{test, App};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use session_examples::testbed::{bare_routes, routes, Options};

const ROUTES: [(&str, Method); 3] = [
    ("untouched", Method::GET),
    ("read", Method::GET),
    ("write", Method::POST),
];

/// Runs `iters` requests to `route` carrying `cookie` and times them.
async fn drive<S, B>(
    service: &S,
    route: &str,
    method: &Method,
    cookie: &str,
    iters: u64,
) -> Duration
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    let start = Instant::now();
    for _ in 0..iters {
        let req = test::TestRequest::default()
            .method(method.clone())
            .uri(route)
            .insert_header((COOKIE, cookie))
            .to_request();
        let res = test::call_service(service, req).await;
        assert!(res.status().is_success(), "{route}: {}", res.status());
    }
    start.elapsed()
}

/// The `name=value` of the first `Set-Cookie` of a `POST /write`, or a
/// well-formed cookie of the same size where there is none (the bare routes),
/// so every request carries the same header.
async fn session_cookie<S, B>(service: &S) -> String
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    let req = test::TestRequest::post().uri("/write").to_request();
    let res = test::call_service(service, req).await;
    match res.headers().get(SET_COOKIE) {
        Some(header) => header
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned(),
        None => format!("session={}", "A".repeat(43)),
    }
}

/// Benchmarks the three routes on `app`, under `name`.
fn bench_app<S, B>(c: &mut Criterion, system: &actix_rt::SystemRunner, name: &str, app: S)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    let cookie = system.block_on(session_cookie(&app));
    let mut group = c.benchmark_group("request");
    for (route, method) in &ROUTES {
        let uri = format!("/{route}");
        group.bench_function(BenchmarkId::new(name, route), |b| {
            b.iter_custom(|iters| system.block_on(drive(&app, &uri, method, &cookie, iters)))
        });
    }
    group.finish();
}

fn requests(c: &mut Criterion) {
    let system = actix_rt::System::new();

    // No session middleware: the floor.
    let bare = system.block_on(test::init_service(App::new().configure(bare_routes)));
    bench_app(c, &system, "bare", bare);

    // Ours: the testbed's routes and settings, with the memory driver and
    // with the cookie driver (a random key for the run).
    let key = session_actix::CookieKey::generate().to_hex();
    for args in [
        vec!["--store", "memory"],
        vec!["--store", "cookie", "--key", &key],
    ] {
        let store = args[1];
        let ours = system.block_on(async {
            let opts = Options::parse(args.iter().map(|a| a.to_string())).unwrap();
            let driver = opts.driver().await.unwrap().unwrap();
            let sessions = opts.middleware(driver).unwrap();
            test::init_service(App::new().wrap(sessions).configure(routes)).await
        });
        bench_app(c, &system, store, ours);
    }

    // actix-session's cookie store, with the same routes.
    let theirs = system.block_on(async {
        let opts =
            session_bench::peer::Options::parse(["--store", "cookie"].map(String::from)).unwrap();
        let sessions = opts.middleware(opts.cookie_store(), actix_web::cookie::Key::generate());
        test::init_service(
            App::new()
                .wrap(sessions)
                .configure(session_bench::peer::routes),
        )
        .await
    });
    bench_app(c, &system, "actix-session-cookie", theirs);
}

criterion_group!(benches, requests);
criterion_main!(benches);
