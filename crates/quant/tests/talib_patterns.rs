//! Candlestick patterns against TA-Lib 0.8.2, every pattern on every bar.
//!
//! Oracles: `tests/fixtures/indicators_goog.csv` (the original TA-Lib reference columns) and
//! `tests/fixtures/talib/patterns/*.csv` (all our patterns on GOOG, SPX and three synthetic series
//! built to hit the thresholds often; see that folder's README for how they were produced).
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use std::collections::HashMap;

use quantdesk_quant::indicators::Columns;
use quantdesk_quant::patterns::{
    CandlePattern, cdl_dark_cloud_cover, cdl_evening_star, cdl_morning_star, scan_candles,
};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures");

/// A CSV as a header-name → column map (values kept as text).
struct Csv {
    columns: HashMap<String, Vec<String>>,
    rows: usize,
}

impl Csv {
    fn read(path: &str) -> Csv {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let header: Vec<String> = lines
            .next()
            .expect("header")
            .split(',')
            .map(|h| h.trim().to_string())
            .collect();
        let mut cols: Vec<Vec<String>> = vec![Vec::new(); header.len()];
        let mut rows = 0;
        for line in lines {
            let fields: Vec<&str> = line.split(',').collect();
            assert_eq!(fields.len(), header.len(), "{path}: ragged row {line}");
            for (c, f) in cols.iter_mut().zip(fields) {
                c.push(f.trim().to_string());
            }
            rows += 1;
        }
        Csv {
            columns: header.into_iter().zip(cols).collect(),
            rows,
        }
    }

    fn col(&self, name: &str) -> &[String] {
        self.columns
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
            .unwrap_or_else(|| panic!("no column {name}"))
    }

    fn floats(&self, name: &str) -> Vec<f64> {
        self.col(name)
            .iter()
            .map(|s| {
                if s.is_empty() {
                    f64::NAN
                } else {
                    s.parse().unwrap_or_else(|e| panic!("{name}: {s}: {e}"))
                }
            })
            .collect()
    }

    fn ints(&self, name: &str) -> Vec<i32> {
        self.col(name)
            .iter()
            .map(|s| s.parse().unwrap_or_else(|e| panic!("{name}: {s}: {e}")))
            .collect()
    }

    fn pattern_columns(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .columns
            .keys()
            .filter(|k| k.starts_with("CDL"))
            .cloned()
            .collect();
        names.sort();
        names
    }
}

struct Bars {
    time: Vec<i64>,
    open: Vec<f64>,
    high: Vec<f64>,
    low: Vec<f64>,
    close: Vec<f64>,
    volume: Vec<f64>,
}

impl Bars {
    fn from_csv(csv: &Csv) -> Bars {
        let close = csv.floats("close");
        Bars {
            time: (0..close.len() as i64).collect(),
            open: csv.floats("open"),
            high: csv.floats("high"),
            low: csv.floats("low"),
            volume: vec![0.0; close.len()],
            close,
        }
    }

    fn columns(&self) -> Columns<'_> {
        Columns {
            time: &self.time,
            open: &self.open,
            high: &self.high,
            low: &self.low,
            close: &self.close,
            volume: &self.volume,
        }
    }
}

/// Our values for a reference column name such as `CDLMORNINGSTAR` or `CDLMORNINGSTAR_0.5`.
fn ours(columns: &Columns<'_>, column: &str) -> Vec<i32> {
    let (name, penetration) = match column.split_once('_') {
        Some((n, p)) => (n, Some(p.parse::<f64>().expect("penetration"))),
        None => (column, None),
    };
    match (name, penetration) {
        ("CDLMORNINGSTAR", Some(p)) => cdl_morning_star(columns, p).expect("morning star"),
        ("CDLEVENINGSTAR", Some(p)) => cdl_evening_star(columns, p).expect("evening star"),
        ("CDLDARKCLOUDCOVER", Some(p)) => cdl_dark_cloud_cover(columns, p).expect("dark cloud"),
        (_, Some(_)) => panic!("no penetration variant for {column}"),
        (_, None) => CandlePattern::from_name(name)
            .unwrap_or_else(|| panic!("unknown pattern {name}"))
            .compute(columns)
            .expect("compute"),
    }
}

/// Compares every listed column on every bar; returns (values compared, non-zero signals).
fn compare(label: &str, bars: &Bars, reference: &Csv, names: &[String]) -> (usize, usize) {
    let columns = bars.columns();
    assert_eq!(columns.len(), reference.rows, "{label}: bar counts differ");
    let mut failures = Vec::new();
    let (mut compared, mut signals) = (0, 0);
    for name in names {
        let expected = reference.ints(name);
        let got = ours(&columns, name);
        assert_eq!(got.len(), expected.len(), "{label} {name}: length");
        let bad: Vec<usize> = (0..got.len()).filter(|&i| got[i] != expected[i]).collect();
        if let Some(&first) = bad.first() {
            failures.push(format!(
                "{label} {name}: {} of {} bars differ; first at bar {first}: ours {} TA-Lib {}",
                bad.len(),
                got.len(),
                got[first],
                expected[first]
            ));
        }
        compared += got.len();
        signals += expected.iter().filter(|&&v| v != 0).count();
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    println!(
        "{label}: {} patterns x {} bars = {compared} values equal TA-Lib ({signals} non-zero)",
        names.len(),
        reference.rows
    );
    (compared, signals)
}

#[test]
fn goog_matches_original_talib_reference_columns() {
    let bars = Bars::from_csv(&Csv::read(&format!("{FIXTURES}/GOOG.csv")));
    let reference = Csv::read(&format!("{FIXTURES}/indicators_goog.csv"));
    let names = ["CDLENGULFING", "CDLDOJI", "CDLHAMMER"].map(String::from);
    let (compared, signals) = compare("indicators_goog.csv", &bars, &reference, &names);
    assert_eq!(compared, 3 * 2148);
    // The reference holds one -80 (a partial engulfing); make sure we are not vacuously equal.
    assert!(reference.ints("CDLENGULFING").contains(&-80));
    assert!(signals > 500);
}

#[test]
fn goog_matches_talib_for_every_pattern() {
    let bars = Bars::from_csv(&Csv::read(&format!("{FIXTURES}/GOOG.csv")));
    let reference = Csv::read(&format!("{FIXTURES}/talib/patterns/goog.csv"));
    let names = reference.pattern_columns();
    assert!(names.len() >= 25);
    compare("talib/patterns/goog.csv", &bars, &reference, &names);
}

#[test]
fn spx_matches_talib_for_every_pattern() {
    let bars = Bars::from_csv(&Csv::read(&format!("{FIXTURES}/SPX.csv")));
    let reference = Csv::read(&format!("{FIXTURES}/talib/patterns/spx.csv"));
    let names = reference.pattern_columns();
    compare("talib/patterns/spx.csv", &bars, &reference, &names);
}

#[test]
fn synthetic_matches_talib_for_every_pattern() {
    let reference = Csv::read(&format!("{FIXTURES}/talib/patterns/synthetic.csv"));
    let bars = Bars::from_csv(&reference);
    let names = reference.pattern_columns();
    let (_, signals) = compare("talib/patterns/synthetic.csv", &bars, &reference, &names);
    // Built to exercise every pattern: each column must have hits, so equality is not vacuous.
    for name in &names {
        assert!(
            reference.ints(name).iter().any(|&v| v != 0),
            "synthetic series has no {name} to compare"
        );
    }
    assert!(signals > 5000);
}

#[test]
fn quarter_point_grid_matches_talib_on_exact_ties() {
    // Prices on a 0.25 grid tie with TA-Lib's thresholds often (body equal to the average body,
    // open equal to the prior close), so every `<` versus `<=` in the rules is exercised.
    let reference = Csv::read(&format!("{FIXTURES}/talib/patterns/synthetic_grid.csv"));
    let bars = Bars::from_csv(&reference);
    let names = reference.pattern_columns();
    let (_, signals) = compare(
        "talib/patterns/synthetic_grid.csv",
        &bars,
        &reference,
        &names,
    );
    assert!(signals > 5000);
}

#[test]
fn whole_point_ticks_match_talib_on_exact_ties() {
    let reference = Csv::read(&format!("{FIXTURES}/talib/patterns/synthetic_ticks.csv"));
    let bars = Bars::from_csv(&reference);
    let names = reference.pattern_columns();
    let (_, signals) = compare(
        "talib/patterns/synthetic_ticks.csv",
        &bars,
        &reference,
        &names,
    );
    assert!(signals > 3000);
}

#[test]
fn scan_reports_exactly_the_nonzero_talib_values() {
    let reference = Csv::read(&format!("{FIXTURES}/talib/patterns/synthetic.csv"));
    let bars = Bars::from_csv(&reference);
    let hits = scan_candles(&bars.columns(), &[]).expect("scan");
    let mut expected = 0;
    for pattern in CandlePattern::ALL {
        let values = reference.ints(pattern.ta_lib_name());
        expected += values.iter().filter(|&&v| v != 0).count();
        for h in hits.iter().filter(|h| h.pattern == pattern) {
            assert_eq!(values[h.index], h.value, "{pattern} at {}", h.index);
            assert!((h.strength - f64::from(h.value.abs()) / 100.0).abs() < 1e-12);
        }
    }
    assert_eq!(hits.len(), expected);
    assert!(
        hits.windows(2)
            .all(|w| (w[0].index, w[0].pattern) < (w[1].index, w[1].pattern))
    );
}
