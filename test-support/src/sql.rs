//! Where the SQL servers of the tests are, and table names no other test
//! uses.
//!
//! PostgreSQL is expected on 127.0.0.1:5432 (user `postgres`, trust) and
//! MariaDB / MySQL on 127.0.0.1:3306 (user `root`, no password), each with a
//! database `test`, as `scripts/test.sh` starts them;
//! `SESSION_TEST_POSTGRES_URL` and `SESSION_TEST_MYSQL_URL` point elsewhere.

use std::sync::atomic::{AtomicU32, Ordering};

/// The PostgreSQL test database.
pub fn postgres_url() -> String {
    std::env::var("SESSION_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The MariaDB / MySQL test database.
pub fn mysql_url() -> String {
    std::env::var("SESSION_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}

/// The test database of `backend` (`postgres` or `mysql`), or a SQLite file
/// in `dir` for `sqlite`.
pub fn url(backend: &str, dir: &std::path::Path) -> String {
    match backend {
        "sqlite" => format!("sqlite://{}/sessions.db", dir.display()),
        "postgres" => postgres_url(),
        "mysql" => mysql_url(),
        other => panic!("no test database for {other:?}"),
    }
}

/// A table name, starting with `prefix`, that no other test of this run or
/// of an earlier one uses: the process id, a counter and the clock's
/// nanoseconds.
pub fn unique_table(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
