//! Raw SQL for the tests that look at a SQL store themselves, shared by
//! `tests/http.rs` and `tests/sql.rs` (included with `#[path]`).

use session_actix::driver::sql::sqlx::{self, MySqlPool, PgPool, SqlitePool};

/// `table` quoted for the SQL `backend` (`sqlite`, `postgres` or `mysql`).
pub(crate) fn quoted(backend: &str, table: &str) -> String {
    match backend {
        "mysql" => format!("`{table}`"),
        _ => format!("\"{table}\""),
    }
}

/// Runs `sql` on `backend` at `url` over a connection of its own, giving
/// the first column of each row as an integer (nothing for a statement).
pub(crate) async fn column(backend: &str, url: &str, sql: &str) -> Vec<i64> {
    macro_rules! on {
        ($pool:ty) => {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_all(&<$pool>::connect(url).await.unwrap())
                .await
        };
    }
    match backend {
        "sqlite" => on!(SqlitePool),
        "postgres" => on!(PgPool),
        _ => on!(MySqlPool),
    }
    .unwrap()
}
