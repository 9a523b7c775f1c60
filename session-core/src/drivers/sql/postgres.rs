//! The PostgreSQL dialect: `$n` parameters, `ON CONFLICT` for create, and a
//! migration serialised by an advisory lock.

use super::{lock_key, Create, Queries, Table};

/// The queries for `table`, with the parameter order [`Queries`] documents.
pub(super) fn queries(table: &Table) -> Queries {
    let t = format!("\"{table}\"");
    Queries {
        load: format!(
            "SELECT record, version, last_active, expires_at FROM {t} \
             WHERE id = $1 AND expires_at > $2"
        ),
        create: Create::Upsert(format!(
            "INSERT INTO {t} (id, record, version, last_active, expires_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record, \
             version = EXCLUDED.version, last_active = EXCLUDED.last_active, \
             expires_at = EXCLUDED.expires_at \
             WHERE {t}.expires_at <= $6"
        )),
        update: format!(
            "UPDATE {t} SET record = $1, version = $2, last_active = $3, expires_at = $4 \
             WHERE id = $5 AND version = $6 AND expires_at > $7"
        ),
        touch: format!(
            "UPDATE {t} SET last_active = $1, expires_at = $2 WHERE id = $3 AND expires_at > $4"
        ),
        destroy: format!("DELETE FROM {t} WHERE id = $1"),
        // SKIP LOCKED: two cleaners (one per app server) take different rows
        // instead of waiting for each other.
        cleanup: format!(
            "DELETE FROM {t} WHERE id IN \
             (SELECT id FROM {t} WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED) \
             AND expires_at <= $1"
        ),
        probe: format!("SELECT id, record, version, last_active, expires_at FROM {t} WHERE 1 = 0"),
        migrate: {
            // Two app servers starting together must not both try to create
            // the table: `IF NOT EXISTS` alone can still fail on the race.
            let mut statements = vec![format!("SELECT pg_advisory_xact_lock({})", lock_key(table))];
            statements.extend(migration(table));
            statements
        },
    }
}

/// The statements of `migrations/postgres.sql` for `table`.
pub(super) fn migration(table: &Table) -> Vec<String> {
    vec![
        format!(
            "CREATE TABLE IF NOT EXISTS \"{table}\" ( \
             id BYTEA NOT NULL PRIMARY KEY, \
             record BYTEA NOT NULL, \
             version BIGINT NOT NULL, \
             last_active BIGINT NOT NULL, \
             expires_at BIGINT NOT NULL )"
        ),
        format!(
            "CREATE INDEX IF NOT EXISTS \"{table}_expires_at_idx\" ON \"{table}\" (expires_at)"
        ),
    ]
}
