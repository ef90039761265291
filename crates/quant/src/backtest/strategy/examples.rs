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

/// The strategy language in a page, for Claude (served as an MCP resource next to the examples,
/// and in the `write_strategy` prompt): fields, grammar, worked examples, common mistakes.
pub const GUIDE: &str = include_str!("../../../strategies/GUIDE.md");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::strategy::Strategy;

    /// The guide's worked examples are valid strategies, and each common mistake fails with an
    /// error while its fix is accepted (so the guide cannot drift from the language).
    #[test]
    fn the_guides_examples_hold_and_its_mistakes_fail() {
        let blocks: Vec<&str> = GUIDE
            .split("```json")
            .skip(1)
            .filter_map(|b| b.split("```").next())
            .collect();
        assert_eq!(blocks.len(), 5);
        for b in blocks {
            let v: serde_json::Value = serde_json::from_str(b).expect(b);
            let s = Strategy::from_json(&v).expect(b);
            s.bind(&Default::default()).expect(b);
        }
        let rule = |entry: &str| {
            let v = serde_json::json!({"long": {"entry": entry}});
            Strategy::from_json(&v).and_then(|s| s.bind(&Default::default()).map(|_| ()))
        };
        for (wrong, right) in [
            (
                "sma(50) crossover sma(200)",
                "sma(50) crosses_above sma(200)",
            ),
            (
                "rsi(14) < 30 && close > sma(200)",
                "rsi(14) < 30 and close > sma(200)",
            ),
            ("20 < rsi(14) < 80", "rsi(14) > 20 and rsi(14) < 80"),
            ("close = sma(20)", "close == sma(20)"),
            ("bbands(20).up > close", "bbands(20).upper > close"),
            ("sma(20)", "close > sma(20)"),
        ] {
            assert!(rule(wrong).is_err(), "{wrong}");
            rule(right).expect(right);
        }
    }
}
