//! Emmett's counter: every client gets its own count.
//!
//! ```text
//! cargo run --example counter
//! curl -c jar -b jar http://127.0.0.1:8080/   # This is your 1 visit
//! curl -c jar -b jar http://127.0.0.1:8080/   # This is your 2 visit
//! ```

use actix_web::{web, App, HttpServer};
use session_actix::{MemoryDriver, Session, SessionMiddleware};

async fn index(session: Session) -> actix_web::Result<String> {
    let n = session.increment("counter", 1)?;
    Ok(format!("This is your {n} visit"))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let sessions = SessionMiddleware::builder(MemoryDriver::new())
        // The example serves plain http on localhost; keep Secure on in production.
        .secure(false)
        .build()
        .expect("valid session settings");
    println!("counter on http://127.0.0.1:8080/");
    HttpServer::new(move || {
        App::new()
            .wrap(sessions.clone())
            .route("/", web::get().to(index))
    })
    .bind(("127.0.0.1", 8080))?
    .run()
    .await
}
