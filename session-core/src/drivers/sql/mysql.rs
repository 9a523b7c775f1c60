//! The MySQL / MariaDB dialect: `?` parameters, a plain `INSERT` for create
//! (see [`Create::InsertOrReplaceExpired`] for why not `ON DUPLICATE KEY
//! UPDATE`), and `DELETE ... LIMIT` for cleanup, since MySQL refuses `LIMIT`
//! in an `IN (subquery)`.

use super::{Create, Queries, Table};

/// The queries for `table`, with the parameter order [`Queries`] documents.
pub(super) fn queries(table: &Table) -> Queries {
    let t = format!("`{table}`");
    Queries {
        load: format!(
            "SELECT record, version, last_active, expires_at FROM {t} \
             WHERE id = ? AND expires_at > ?"
        ),
        create: Create::InsertOrReplaceExpired {
            insert: format!(
                "INSERT INTO {t} (id, record, version, last_active, expires_at) \
                 VALUES (?, ?, ?, ?, ?)"
            ),
            delete_expired: format!("DELETE FROM {t} WHERE id = ? AND expires_at <= ?"),
        },
        update: format!(
            "UPDATE {t} SET record = ?, version = ?, last_active = ?, expires_at = ? \
             WHERE id = ? AND version = ? AND expires_at > ?"
        ),
        touch: format!(
            "UPDATE {t} SET last_active = ?, expires_at = ? WHERE id = ? AND expires_at > ?"
        ),
        destroy: format!("DELETE FROM {t} WHERE id = ?"),
        // Walks the expires_at index from the oldest row and stops after
        // `batch` rows, so each call holds its row locks briefly.
        cleanup: format!("DELETE FROM {t} WHERE expires_at <= ? ORDER BY expires_at LIMIT ?"),
        probe: format!("SELECT id, record, version, last_active, expires_at FROM {t} WHERE 1 = 0"),
        migrate: migration(table),
    }
}

/// The statement of `migrations/mysql.sql` for `table`.
pub(super) fn migration(table: &Table) -> Vec<String> {
    vec![format!(
        "CREATE TABLE IF NOT EXISTS `{table}` ( \
         id BINARY(32) NOT NULL PRIMARY KEY, \
         record LONGBLOB NOT NULL, \
         version BIGINT NOT NULL, \
         last_active BIGINT NOT NULL, \
         expires_at BIGINT NOT NULL, \
         INDEX `{table}_expires_at_idx` (expires_at) \
         ) ENGINE = InnoDB"
    )]
}
