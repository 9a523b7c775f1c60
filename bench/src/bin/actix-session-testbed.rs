//! The benchmark routes served with actix-session 0.11; see
//! `session_bench::peer`.
//!
//! ```text
//! cargo run --release -p session-bench --bin actix-session-testbed -- --store cookie --port 8081
//! ```

use actix_web::cookie::Key;
use actix_web::{App, HttpServer};
use session_bench::peer::{routes, Options};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let opts = match Options::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("actix-session-testbed: {e}");
            std::process::exit(2)
        }
    };
    eprintln!(
        "actix-session-testbed: store {} on http://127.0.0.1:{}",
        opts.store, opts.port
    );
    let addr = ("127.0.0.1", opts.port);
    let opts = std::sync::Arc::new(opts);
    // One key for every worker, so a cookie sealed by one opens in another.
    let key = Key::generate();
    match opts.store.as_str() {
        "cookie" => {
            // actix-session's middleware holds `Rc`s: build one per worker.
            HttpServer::new(move || {
                App::new()
                    .wrap(opts.middleware(opts.cookie_store(), key.clone()))
                    .configure(routes)
            })
            .bind(addr)?
            .run()
            .await
        }
        "redis" => {
            let store = match opts.redis_store().await {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("actix-session-testbed: {e}");
                    std::process::exit(2)
                }
            };
            // The store's connection is shared by every worker's clone.
            HttpServer::new(move || {
                App::new()
                    .wrap(opts.middleware(store.clone(), key.clone()))
                    .configure(routes)
            })
            .bind(addr)?
            .run()
            .await
        }
        _ => {
            HttpServer::new(|| App::new().configure(routes_bare))
                .bind(addr)?
                .run()
                .await
        }
    }
}

/// The same routes with constant answers and no session middleware.
fn routes_bare(cfg: &mut actix_web::web::ServiceConfig) {
    use actix_web::web;
    cfg.route("/read", web::get().to(|| async { "0" }))
        .route("/write", web::post().to(|| async { "1" }))
        .route("/untouched", web::get().to(|| async { "ok" }));
}
