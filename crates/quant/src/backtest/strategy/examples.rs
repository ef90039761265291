//! Worked strategies shipped as data (`crates/quant/strategies/*.json`): what Claude can start
//! from, and what the tests run to keep every example valid.

/// `(name, JSON text)` of each worked example.
pub const EXAMPLES: &[(&str, &str)] = &[
    (
        "sma_cross",
        include_str!("../../../strategies/sma_cross.json"),
    ),
    (
        "rsi_mean_reversion",
        include_str!("../../../strategies/rsi_mean_reversion.json"),
    ),
    (
        "macd_trend",
        include_str!("../../../strategies/macd_trend.json"),
    ),
    (
        "bollinger_breakout",
        include_str!("../../../strategies/bollinger_breakout.json"),
    ),
    (
        "donchian_breakout",
        include_str!("../../../strategies/donchian_breakout.json"),
    ),
];

/// The example called `name`, as JSON text.
pub fn example(name: &str) -> Option<&'static str> {
    EXAMPLES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}
