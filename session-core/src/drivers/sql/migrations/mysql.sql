-- The session table for the MySQL / MariaDB session driver (session-core
-- feature `mysql`). `SqlDriver::migrate()` runs this same statement; run this
-- file yourself instead if you manage the schema with your own tool. To use
-- another table name, change `sessions` in both places and pass the same name
-- to `SqlDriver::with_table` (or the `table` setting).
--
-- id          SHA-256 of the session id (32 bytes): a copy of the database
--             does not hold ids that could be replayed as cookies.
-- record      the session record as written by `Record::encode` (JSON bytes).
-- version     the compare-and-set token, bumped by every save.
-- last_active unix seconds of the last save or touch.
-- expires_at  unix seconds; rows at or past it are never loaded and are
--             removed by `SqlDriver::cleanup`, which uses the index.
CREATE TABLE IF NOT EXISTS `sessions` (
    id          BINARY(32) NOT NULL PRIMARY KEY,
    record      LONGBLOB   NOT NULL,
    version     BIGINT     NOT NULL,
    last_active BIGINT     NOT NULL,
    expires_at  BIGINT     NOT NULL,
    INDEX `sessions_expires_at_idx` (expires_at)
) ENGINE = InnoDB;
