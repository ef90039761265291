-- Account API keys: which key this installation uses, never the key itself. The key lives in the
-- OS keychain; here are only its id, the account it belongs to, what it allows and a SHA-256 of
-- the key text (to check that the keychain still holds the key that was installed).
CREATE TABLE account_keys (
    key_id       TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL,
    key_sha256   TEXT NOT NULL
                 CHECK (length(key_sha256) = 64 AND key_sha256 NOT GLOB '*[^0-9a-f]*'),
    scopes       TEXT NOT NULL,
    issued_at    TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    installed_at TEXT NOT NULL,
    active       INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
    CHECK (key_id NOT LIKE 'qdk\_%' ESCAPE '\')
);
-- At most one key is in use at a time.
CREATE UNIQUE INDEX account_keys_one_active ON account_keys (active) WHERE active = 1;

-- Token buckets for rate limits, one per (key, tool family), shared by every sidecar process.
-- `tokens` is the level after the last take at `updated_us` (microseconds since 1970, UTC).
CREATE TABLE rate_buckets (
    key_id     TEXT NOT NULL,
    family     TEXT NOT NULL,
    tokens     REAL NOT NULL,
    updated_us INTEGER NOT NULL,
    PRIMARY KEY (key_id, family)
) WITHOUT ROWID;
