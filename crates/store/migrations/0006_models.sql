-- Models trained by `train_model`: the recipe (symbol, timeframe, label, horizon, features and
-- the hash of what they compute), the bars trained on, the out-of-sample evaluation (JSON) and
-- the fitted trees (JSON). `predict` and `model("id")` in strategies read them back.
CREATE TABLE models (
    id            TEXT PRIMARY KEY,
    symbol        TEXT NOT NULL,
    timeframe     TEXT NOT NULL,
    label         TEXT NOT NULL,
    horizon       INTEGER NOT NULL,
    features      TEXT NOT NULL,
    feature_hash  TEXT NOT NULL,
    train_start   TEXT NOT NULL,
    train_end     TEXT NOT NULL,
    rows          INTEGER NOT NULL,
    evaluation    TEXT NOT NULL,
    model         TEXT NOT NULL,
    source        TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
