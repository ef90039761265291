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

/// The strategy language in a page, for Claude (served as an MCP resource next to the examples).
pub const GUIDE: &str = "# QuantDesk strategy language\n\
\n\
A strategy is JSON:\n\
- `params`: `{\"fast\": 10}` or `{\"fast\": {\"default\": 10, \"min\": 5, \"max\": 50, \"step\": 5}}`; \
use one as `$fast` in rules, sizing or stops. Ranges are what optimize_parameters searches.\n\
- `long` / `short`: `{\"entry\": rule, \"exit\": rule}`. A rule is a condition over bars: columns \
`open high low close volume`, indicators from calculate_indicators' catalogue (`sma(20)`, `rsi(14)`, \
`macd.hist`, `bbands(20, 2, 2).upper`, `donchian(20).lower`, `atr(14)`), arithmetic, \
`< <= > >= == !=`, `crosses_above` / `crosses_below` (strict, as backtesting.py's crossover), \
`and` / `or` / `not`.\n\
- `sizing`: `{\"fraction\": 1}` of equity (default), `{\"quantity\": 10}`, `{\"cash\": 5000}`, or \
`{\"volatility_target\": 0.15, \"lookback\": 20, \"periods_per_year\": 252}`.\n\
- `stops`: `stop_loss`, `take_profit`, `trailing_stop`, each `{\"percent\": 5}` or \
`{\"atr\": 2, \"period\": 14}`, priced from the signal bar's close.\n\
\n\
Each bar, after the close: trailing stops move; an exit rule closes its side; a long entry buys \
unless already long, else a short entry sells unless already short (closing the other side \
first). Orders fill at the next bar's open (or this close with trade_on_close). Nothing is \
decided before every indicator has a value.\n";
