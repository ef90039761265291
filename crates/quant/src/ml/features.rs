//! Features from the indicator engine, each a number-valued expression of the screener language
//! evaluated at every bar (so a row reads only its own bar and earlier ones): the default set
//! after Qlib's Alpha158 in spirit — returns over 1, 5 and 20 bars, RSI, the MACD histogram,
//! ATR over close, Bollinger %b, a volume z-score, the day of the week — plus any expression a
//! request names (`adx(14)`, `sma(20) / sma(50)`).

use thiserror::Error;

use crate::indicators::Columns;
use crate::screen::{Evaluator, Expression, Kind, SeriesValue};

/// The default features: (name, expression; `day_of_week` is computed from the bar's time).
pub const DEFAULT: &[(&str, &str)] = &[
    ("ret_1", "roc(1)"),
    ("ret_5", "roc(5)"),
    ("ret_20", "roc(20)"),
    ("rsi_14", "rsi(14)"),
    ("macd_hist", "macd.hist"),
    ("atr_over_close", "natr(14)"),
    (
        "bollinger_pct_b",
        "(close - bbands(20, 2, 2).lower) / (bbands(20, 2, 2).upper - bbands(20, 2, 2).lower)",
    ),
    (
        "volume_z",
        "(volume - sma(volume, 20)) / stddev(volume, 20)",
    ),
    ("day_of_week", DAY_OF_WEEK),
];

/// Not an expression: the bar's weekday, 0 (Monday) to 6, from its UTC time.
const DAY_OF_WEEK: &str = "day_of_week";

#[derive(Debug, Clone, PartialEq, Error)]
pub enum FeatureError {
    #[error("feature '{name}': {message}")]
    Invalid { name: String, message: String },
    #[error("no features asked for")]
    Empty,
}

/// Feature columns over a series: `values[f][i]` is feature `f` at bar `i` (NaN during warm-up).
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureSet {
    pub names: Vec<String>,
    pub values: Vec<Vec<f64>>,
}

/// What to compute: a default feature by name, or an expression (its text is its name).
pub fn expression_of(name: &str) -> &str {
    DEFAULT
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(name, |(_, e)| *e)
}

/// Computes `names` (default names or expressions) over `cols`.
pub fn compute(cols: &Columns<'_>, names: &[String]) -> Result<FeatureSet, FeatureError> {
    if names.is_empty() {
        return Err(FeatureError::Empty);
    }
    let mut eval = Evaluator::new(*cols);
    let mut values = Vec::with_capacity(names.len());
    for name in names {
        let text = expression_of(name.trim());
        if text == DAY_OF_WEEK {
            values.push(cols.time.iter().map(|&t| weekday(t)).collect());
            continue;
        }
        let invalid = |message: String| FeatureError::Invalid {
            name: name.clone(),
            message,
        };
        let expr = Expression::parse(text).map_err(|e| invalid(e.to_string()))?;
        if expr.kind() != Kind::Number {
            return Err(invalid(
                "is a condition; a feature is a number (e.g. rsi(14), not rsi(14) < 30)".into(),
            ));
        }
        match eval.series(&expr).map_err(|e| invalid(e.to_string()))? {
            SeriesValue::Number(v) => values.push(v),
            SeriesValue::Condition(_) => return Err(invalid("is a condition".into())),
        }
    }
    Ok(FeatureSet {
        names: names.to_vec(),
        values,
    })
}

/// Monday = 0 … Sunday = 6, for Unix seconds.
fn weekday(t: i64) -> f64 {
    // 1970-01-01 was a Thursday (3).
    ((t.div_euclid(86_400) + 3).rem_euclid(7)) as f64
}

impl FeatureSet {
    /// Row `i` when every feature is known there.
    pub fn row(&self, i: usize) -> Option<Vec<f64>> {
        self.values
            .iter()
            .map(|f| f.get(i).copied().filter(|v| v.is_finite()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::OwnedColumns;

    fn walk(n: usize) -> OwnedColumns {
        let mut c = OwnedColumns::default();
        let mut p = 100.0;
        for i in 0..n {
            p *= 1.0 + 0.01 * ((i as f64 * 0.7).sin());
            c.time.push(1_700_000_000 + 86_400 * i as i64);
            c.open.push(p);
            c.high.push(p * 1.01);
            c.low.push(p * 0.99);
            c.close.push(p);
            c.volume.push(1000.0 + (i % 7) as f64 * 100.0);
        }
        c
    }

    #[test]
    fn the_defaults_compute_and_read_no_later_bar() {
        let cols = walk(300);
        let names: Vec<String> = DEFAULT.iter().map(|(n, _)| n.to_string()).collect();
        let all = compute(&cols.view(), &names).unwrap();
        assert_eq!(all.values.len(), DEFAULT.len());
        assert!(all.row(299).is_some() && all.row(0).is_none());
        // Features on a prefix equal the same rows of the whole (to rounding: vectorised passes
        // may group sums differently by length): nothing reads ahead.
        let mut short = cols.clone();
        for v in [
            &mut short.open,
            &mut short.high,
            &mut short.low,
            &mut short.close,
            &mut short.volume,
        ] {
            v.truncate(200);
        }
        short.time.truncate(200);
        let prefix = compute(&short.view(), &names).unwrap();
        for i in 0..200 {
            match (prefix.row(i), all.row(i)) {
                (None, None) => {}
                (Some(a), Some(b)) => {
                    for (x, y) in a.iter().zip(&b) {
                        assert!(
                            (x - y).abs() <= 1e-9 * y.abs().max(1.0),
                            "row {i}: {x} vs {y}"
                        );
                    }
                }
                other => panic!("row {i}: {other:?}"),
            }
        }
        // 2023-11-14 22:13 UTC (1_700_000_000) was a Tuesday.
        assert_eq!(all.values[8][0], 1.0);
    }

    #[test]
    fn a_condition_or_a_typo_is_refused_by_name() {
        let cols = walk(50);
        let e = compute(&cols.view(), &["rsi(14) < 30".into()]).unwrap_err();
        assert!(e.to_string().contains("is a condition"), "{e}");
        let e = compute(&cols.view(), &["rsii(14)".into()]).unwrap_err();
        assert!(e.to_string().contains("did you mean 'rsi'?"), "{e}");
    }
}
