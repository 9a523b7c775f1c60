//! The soak (see `session_bench::soak`): many clients over many sessions
//! against two app instances on one store, then the invariant checker.
//! Prints a summary and exits with 1 if the checker found a violation (2 on
//! bad flags or a store that does not start).
//!
//! ```text
//! cargo run --release -p session-bench --features redis,postgres --bin soak -- \
//!     --store memory|redis|postgres [--seconds 60] [--sessions 16] [--clients 4] [--seed N]
//!     [--redis URL] [--database-url URL] [--rss-limit-mib 256] [--latency-us 0]
//!     [--broken drop[:N]|ignore-version|resurrect]
//! ```

use session_bench::soak::{self, Config};

#[actix_web::main]
async fn main() {
    let config = match Config::parse(std::env::args().skip(1)) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("soak: {e}");
            std::process::exit(2)
        }
    };
    eprintln!(
        "soak: {} store, {} browsers x {} clients for {} s (seed {})",
        config.store.name(),
        config.sessions,
        config.clients,
        config.duration.as_secs(),
        config.seed
    );
    match soak::run(&config).await {
        Ok(report) => {
            print!("{report}");
            if !report.passed() {
                std::process::exit(1)
            }
        }
        Err(e) => {
            eprintln!("soak: {e}");
            std::process::exit(2)
        }
    }
}
