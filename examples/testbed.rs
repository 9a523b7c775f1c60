//! The testbed server; see `session_examples::testbed` for its routes.
//!
//! ```text
//! cargo run --release --example testbed -- --store memory --port 8080
//! ```

use actix_web::{App, HttpServer};
use session_examples::testbed::{bare_routes, routes, Options};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let fail = |msg: String| -> std::io::Result<()> {
        eprintln!("testbed: {msg}");
        std::process::exit(2)
    };
    let opts = match Options::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    let driver = match opts.driver().await {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let sessions = match driver.map(|d| opts.middleware(d)).transpose() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    eprintln!(
        "testbed: store {} on http://127.0.0.1:{}",
        opts.store, opts.port
    );
    let addr = ("127.0.0.1", opts.port);
    match sessions {
        Some(sessions) => {
            HttpServer::new(move || App::new().wrap(sessions.clone()).configure(routes))
                .bind(addr)?
                .run()
                .await
        }
        None => {
            HttpServer::new(|| App::new().configure(bare_routes))
                .bind(addr)?
                .run()
                .await
        }
    }
}
