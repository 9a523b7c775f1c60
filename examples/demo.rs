//! A small shop to open in a browser: log in and out, a cart kept in the
//! session through the derive, flash messages, CSRF-guarded forms, and
//! minijinja templates (`examples/demo/templates/`).
//!
//! ```text
//! cargo run --example demo                 # http://127.0.0.1:8080/, memory driver
//! cargo run --example demo -- --port 9000
//! SESSION_DRIVER=redis SESSION_URL=redis://127.0.0.1:6379 cargo run --example demo --features redis
//! SESSION_DRIVER=cookie SESSION_KEY=$(openssl rand -hex 32) cargo run --example demo --features cookie
//! ```
//!
//! Any name logs in with the password `demo`. The app itself is in
//! `src/demo.rs`, so that `tests/demo.rs` runs the same one.

use session_actix::SessionSettings;

fn port() -> u16 {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--port" {
            let value = args.next().unwrap_or_default();
            return value.parse().unwrap_or_else(|_| {
                eprintln!("--port needs a port number, not {value:?}");
                std::process::exit(2)
            });
        }
    }
    8080
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port = port();
    let mut settings = SessionSettings::from_env().unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    // Plain http on loopback: a Secure cookie would never come back. Set
    // SESSION_SECURE=true behind https.
    settings.secure.get_or_insert(false);
    let sessions = settings.build().await.unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    println!("demo shop on http://127.0.0.1:{port}/");
    let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
    session_examples::demo::serve(sessions, listener)?.await
}
