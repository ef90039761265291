-- Price and indicator alerts (`alerts` tool, the app's Alerts screen) and their firings. A
-- firing is keyed by its alert and the bar it fired on, so however many processes evaluate,
-- and across restarts, one crossing fires once.
CREATE TABLE alerts (
    id          TEXT PRIMARY KEY,
    symbol      TEXT NOT NULL,
    product     TEXT NOT NULL,
    condition   TEXT NOT NULL,
    timeframe   TEXT NOT NULL,
    repeat      INTEGER NOT NULL DEFAULT 0,
    -- active, done (a one-shot alert that fired) or cancelled.
    status      TEXT NOT NULL DEFAULT 'active',
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    -- The newest bar evaluated and the condition's value there (NULL: unknown or not yet).
    last_bar    TEXT,
    last_value  INTEGER,
    ended_at    TEXT
);

CREATE TABLE alert_firings (
    alert_id  TEXT NOT NULL REFERENCES alerts(id),
    bar_time  TEXT NOT NULL,
    fired_at  TEXT NOT NULL,
    price     TEXT NOT NULL,
    audited   INTEGER NOT NULL DEFAULT 0,
    notified  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (alert_id, bar_time)
);
