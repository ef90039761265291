-- Trading: the order journal, exposure reservations, refusals, trading sessions (for the daily
-- loss), and the built-in paper broker's account. Money and quantities are exact decimal TEXT,
-- never REAL. Timestamps are fixed-width RFC 3339 UTC text, so text order is time order.

-- Every order the guard admitted or parked for approval, by client order id: the id is the
-- idempotency key, so a retried tool call finds its order here instead of sending another.
CREATE TABLE orders (
    client_order_id  TEXT PRIMARY KEY,
    broker           TEXT NOT NULL,
    mode             TEXT NOT NULL CHECK (mode IN ('paper', 'live')),
    broker_order_id  TEXT,
    symbol           TEXT NOT NULL,
    side             TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    order_type       TEXT NOT NULL,
    time_in_force    TEXT NOT NULL,
    request          TEXT NOT NULL,
    status           TEXT NOT NULL,
    reason           TEXT,
    filled_qty       TEXT NOT NULL DEFAULT '0',
    avg_fill_price   TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    -- The trading day a `day` order belongs to (the paper clock's date for the paper broker).
    session_date     TEXT NOT NULL,
    -- Approvals: when the person's decision is due, who decided and when.
    approval_expires_at TEXT,
    decided_by       TEXT,
    decided_at       TEXT,
    -- Which process is sending it and since when; a stale claim is reconciled on start.
    sending_by       TEXT,
    sending_at       TEXT
);
CREATE INDEX orders_status ON orders (status);
CREATE INDEX orders_created ON orders (created_at);

-- The exposure an order may still add, held from admission until the order is final. Checks of
-- later orders count these, so concurrent orders can never jointly pass a limit.
CREATE TABLE order_reservations (
    client_order_id TEXT PRIMARY KEY REFERENCES orders (client_order_id),
    symbol          TEXT NOT NULL,
    -- Shares the order may still add to the position: + for buys, - for sells.
    signed_qty      TEXT NOT NULL,
    -- Dollars at the price the order was checked at.
    notional        TEXT NOT NULL,
    created_at      TEXT NOT NULL
);

-- Orders the guard refused: for get_orders and the person's review (the audit log has them too).
CREATE TABLE order_refusals (
    id              INTEGER PRIMARY KEY,
    client_order_id TEXT NOT NULL,
    broker          TEXT NOT NULL,
    mode            TEXT NOT NULL,
    symbol          TEXT NOT NULL,
    request         TEXT NOT NULL,
    rule            TEXT NOT NULL,
    message         TEXT NOT NULL,
    created_at      TEXT NOT NULL
);

-- The equity at the start of each trading session per broker account: the daily loss is
-- measured from it (realised + unrealised).
CREATE TABLE trading_sessions (
    broker      TEXT NOT NULL,
    mode        TEXT NOT NULL,
    date        TEXT NOT NULL,
    open_equity TEXT NOT NULL,
    PRIMARY KEY (broker, mode, date)
) WITHOUT ROWID;

-- The paper broker: one account, its positions and fills, and its market clock.
CREATE TABLE paper_account (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    cash         TEXT NOT NULL,
    initial_cash TEXT NOT NULL,
    realized_pnl TEXT NOT NULL,
    created_at   TEXT NOT NULL
);

CREATE TABLE paper_positions (
    symbol      TEXT PRIMARY KEY,
    asset_class TEXT NOT NULL,
    qty         TEXT NOT NULL,
    avg_price   TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE paper_fills (
    id              INTEGER PRIMARY KEY,
    client_order_id TEXT NOT NULL REFERENCES orders (client_order_id),
    symbol          TEXT NOT NULL,
    side            TEXT NOT NULL,
    qty             TEXT NOT NULL,
    price           TEXT NOT NULL,
    realized_pnl    TEXT NOT NULL,
    at              TEXT NOT NULL
);
CREATE INDEX paper_fills_order ON paper_fills (client_order_id);

-- The offline market clock: the moment of history the paper broker trades at. Advancing it
-- replays the bars in between, so resting orders fill when those prices cross them.
CREATE TABLE paper_clock (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    now TEXT NOT NULL
);
