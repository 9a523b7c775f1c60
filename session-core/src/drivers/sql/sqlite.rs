//! The SQLite dialect: numbered `?n` parameters and `ON CONFLICT` for create
//! (SQLite 3.24 or later; the bundled library is newer).

use super::{Create, Queries, Table};

/// The queries for `table`, with the parameter order [`Queries`] documents.
pub(super) fn queries(table: &Table) -> Queries {
    let t = format!("\"{table}\"");
    Queries {
        load: format!(
            "SELECT record, version, last_active, expires_at FROM {t} \
             WHERE id = ?1 AND expires_at > ?2"
        ),
        create: Create::Upsert(format!(
            "INSERT INTO {t} (id, record, version, last_active, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (id) DO UPDATE SET record = excluded.record, \
             version = excluded.version, last_active = excluded.last_active, \
             expires_at = excluded.expires_at \
             WHERE {t}.expires_at <= ?6"
        )),
        update: format!(
            "UPDATE {t} SET record = ?1, version = ?2, last_active = ?3, expires_at = ?4 \
             WHERE id = ?5 AND version = ?6 AND expires_at > ?7"
        ),
        touch: format!(
            "UPDATE {t} SET last_active = ?1, expires_at = ?2 WHERE id = ?3 AND expires_at > ?4"
        ),
        destroy: format!("DELETE FROM {t} WHERE id = ?1"),
        cleanup: format!(
            "DELETE FROM {t} WHERE id IN \
             (SELECT id FROM {t} WHERE expires_at <= ?1 LIMIT ?2) \
             AND expires_at <= ?1"
        ),
        probe: format!("SELECT id, record, version, last_active, expires_at FROM {t} WHERE 1 = 0"),
        migrate: migration(table),
    }
}

/// The statements of `migrations/sqlite.sql` for `table`.
pub(super) fn migration(table: &Table) -> Vec<String> {
    vec![
        format!(
            "CREATE TABLE IF NOT EXISTS \"{table}\" ( \
             id BLOB NOT NULL PRIMARY KEY, \
             record BLOB NOT NULL, \
             version INTEGER NOT NULL, \
             last_active INTEGER NOT NULL, \
             expires_at INTEGER NOT NULL )"
        ),
        format!(
            "CREATE INDEX IF NOT EXISTS \"{table}_expires_at_idx\" ON \"{table}\" (expires_at)"
        ),
    ]
}
