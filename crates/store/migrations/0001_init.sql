-- Settings: small JSON values by key, shared by the app and every sidecar.
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Market-data cache: provider answers by request key; rows past expires_at are stale.
CREATE TABLE market_cache (
    key        TEXT PRIMARY KEY,
    provider   TEXT NOT NULL,
    body       TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    expires_at TEXT
);

-- The audit log: append-only, each entry chained to the previous one by SHA-256.
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    ts        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    kind      TEXT NOT NULL,
    tool      TEXT,
    symbol    TEXT,
    args      TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX audit_log_tool ON audit_log (tool);
CREATE INDEX audit_log_symbol ON audit_log (symbol);

-- The database refuses edits to history; tampering has to go around SQLite, and verify finds it.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
