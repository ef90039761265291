//! Momentum, volume and volatility indicators against TA-Lib 0.8.2 (C library 0.8.1), and their
//! batch and streaming forms against each other.
//!
//! Oracles: `tests/fixtures/indicators_goog.csv` (the original reference file) and every CSV in
//! `tests/fixtures/talib/momentum/` (see the README there: GOOG, SPX 2008-2011, a seeded random
//! walk and a file of degenerate stretches, at defaults and non-default parameters). Every value
//! is computed through the catalogue's `compute`, so names, parameters and outputs are checked
//! along with the numbers.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use std::collections::BTreeMap;
use std::path::PathBuf;

use proptest::prelude::*;
use quantdesk_quant::indicators::momentum::{
    Adx, Cci, Mfi, Mom, Roc, Rsi, Stoch, StochRsi, WillR, adx, cci, mfi, mom, roc, rsi, stoch,
    stochrsi, willr,
};
use quantdesk_quant::indicators::volatility::{Atr, Natr, atr, natr};
use quantdesk_quant::indicators::volume::{Ad, AdOsc, Obv, ad, adosc, obv};
use quantdesk_quant::indicators::{
    Candle, IndicatorError, OwnedColumns, Streaming, catalog, compute,
};

mod params;
mod streaming;

const TOLERANCE: f64 = 1e-9;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/"
    ))
    .join(rel)
}

/// A CSV of numbers: header names and columns; an empty cell is TA-Lib's NaN.
struct Table {
    names: Vec<String>,
    columns: Vec<Vec<f64>>,
}

impl Table {
    fn read(rel: &str) -> Table {
        let path = fixture(rel);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let mut lines = text.lines();
        let names: Vec<String> = lines
            .next()
            .expect("header")
            .split(',')
            .map(str::to_string)
            .collect();
        let mut columns = vec![Vec::new(); names.len()];
        for line in lines.filter(|l| !l.trim().is_empty()) {
            for (j, cell) in line.split(',').enumerate() {
                let v = if cell.is_empty() {
                    f64::NAN
                } else {
                    // The first column of indicators_goog.csv is a date.
                    cell.parse().unwrap_or(f64::NAN)
                };
                columns[j].push(v);
            }
        }
        Table { names, columns }
    }

    fn column(&self, name: &str) -> &[f64] {
        let j = self
            .names
            .iter()
            .position(|n| n == name)
            .unwrap_or_else(|| panic!("no column {name}"));
        &self.columns[j]
    }

    fn ohlcv(&self, names: [&str; 5]) -> OwnedColumns {
        let [o, h, l, c, v] = names.map(|n| self.column(n).to_vec());
        OwnedColumns {
            time: Vec::new(),
            open: o,
            high: h,
            low: l,
            close: c,
            volume: v,
        }
    }
}

/// How a TA-Lib column maps onto the catalogue: indicator, parameters, output, and whether the
/// comparison is scale-aware (see [`compare`]).
struct Case {
    indicator: &'static str,
    params: BTreeMap<String, f64>,
    output: &'static str,
    scale_aware: bool,
}

/// Parses a fixture column name such as `STOCH_14_3_3_k`, `PLUS_DI_7` or `OBV`.
fn case(column: &str) -> Option<Case> {
    // Longest names first, so STOCHRSI is not read as STOCH and AD not as ADX's prefix.
    const FUNCTIONS: [&str; 16] = [
        "STOCHRSI", "MINUS_DI", "PLUS_DI", "STOCH", "ADOSC", "WILLR", "NATR", "RSI", "ADX", "CCI",
        "MFI", "ROC", "MOM", "OBV", "ATR", "AD",
    ];
    let function = FUNCTIONS
        .iter()
        .find(|f| column == **f || column.starts_with(&format!("{f}_")))?;
    let rest: Vec<&str> = column[function.len()..]
        .split('_')
        .filter(|s| !s.is_empty())
        .collect();
    let numbers: Vec<f64> = rest.iter().filter_map(|s| s.parse().ok()).collect();
    let k_or_d = if rest.last() == Some(&"d") { "d" } else { "k" };
    let named = |names: &[&str]| -> BTreeMap<String, f64> {
        names
            .iter()
            .zip(&numbers)
            .map(|(n, v)| (n.to_string(), *v))
            .collect()
    };
    let period = named(&["period"]);
    let (indicator, params, output, scale_aware) = match *function {
        "RSI" => ("rsi", period, "rsi", false),
        "STOCH" => (
            "stoch",
            named(&["fastk_period", "slowk_period", "slowd_period"]),
            k_or_d,
            false,
        ),
        "STOCHRSI" => (
            "stochrsi",
            named(&["period", "fastk_period", "fastd_period"]),
            k_or_d,
            false,
        ),
        "ADX" => ("adx", period, "adx", false),
        "PLUS_DI" => ("adx", period, "plus_di", false),
        "MINUS_DI" => ("adx", period, "minus_di", false),
        "CCI" => ("cci", period, "cci", true),
        "WILLR" => ("willr", period, "willr", false),
        "MFI" => ("mfi", period, "mfi", false),
        "ROC" => ("roc", period, "roc", true),
        "MOM" => ("mom", period, "mom", true),
        "OBV" => ("obv", BTreeMap::new(), "obv", true),
        "AD" => ("ad", BTreeMap::new(), "ad", true),
        "ADOSC" => (
            "adosc",
            named(&["fast_period", "slow_period"]),
            "adosc",
            true,
        ),
        "ATR" => ("atr", period, "atr", false),
        "NATR" => ("natr", period, "natr", false),
        _ => return None,
    };
    Some(Case {
        indicator,
        params,
        output,
        scale_aware,
    })
}

fn computed(case: &Case, cols: &OwnedColumns) -> Vec<f64> {
    let outputs = compute(case.indicator, &case.params, &cols.view())
        .unwrap_or_else(|e| panic!("{} {:?}: {e}", case.indicator, case.params));
    outputs
        .into_iter()
        .find(|(name, _)| *name == case.output)
        .map(|(_, values)| values)
        .unwrap_or_else(|| panic!("{} has no output {}", case.indicator, case.output))
}

/// Compares our values with TA-Lib's: NaN exactly where TA-Lib's are, and a relative error of
/// at most 1e-9 elsewhere. Series that cross zero (CCI, ROC, MOM, OBV, AD, ADOSC) use a
/// scale-aware tolerance instead, |ours − theirs| ≤ 1e-9 × max(|theirs|, mean |theirs|): near
/// a crossing a value is the difference of two nearly equal numbers (a price and its average, two
/// EMAs), so a last-bit difference upstream is a large *relative* error of a tiny value.
/// Returns how many values were compared, or the first mismatch.
fn compare(label: &str, ours: &[f64], theirs: &[f64], scale_aware: bool) -> Result<usize, String> {
    if ours.len() != theirs.len() {
        return Err(format!(
            "{label}: {} values, TA-Lib {}",
            ours.len(),
            theirs.len()
        ));
    }
    let finite: Vec<f64> = theirs.iter().copied().filter(|v| !v.is_nan()).collect();
    let typical = if scale_aware && !finite.is_empty() {
        finite.iter().map(|v| v.abs()).sum::<f64>() / finite.len() as f64
    } else {
        0.0
    };
    let mut compared = 0;
    for (i, (&a, &b)) in ours.iter().zip(theirs).enumerate() {
        if a.is_nan() != b.is_nan() {
            return Err(format!(
                "{label}[{i}]: ours {a}, TA-Lib {b} (warm-up differs)"
            ));
        }
        if b.is_nan() {
            continue;
        }
        let scale = b.abs().max(typical);
        if (a - b).abs() > TOLERANCE * scale {
            return Err(format!(
                "{label}[{i}]: ours {a:.17e}, TA-Lib {b:.17e}, relative error {:e}",
                (a - b).abs() / b.abs()
            ));
        }
        compared += 1;
    }
    Ok(compared)
}

#[test]
fn matches_the_original_talib_reference_file() {
    let prices = Table::read("GOOG.csv");
    let cols = prices.ohlcv(["Open", "High", "Low", "Close", "Volume"]);
    let reference = Table::read("indicators_goog.csv");
    let columns = [
        ("RSI_14", "RSI_14"),
        ("ATR_14", "ATR_14"),
        ("STOCH_k", "STOCH_14_3_3_k"),
        ("STOCH_d", "STOCH_14_3_3_d"),
        ("ADX_14", "ADX_14"),
        ("OBV", "OBV"),
    ];
    let mut compared = 0;
    for (column, name) in columns {
        let case = case(name).expect("known column");
        let ours = computed(&case, &cols);
        compared += compare(column, &ours, reference.column(column), case.scale_aware)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(compared > 6 * 2000, "only {compared} values compared");
}

#[test]
fn matches_generated_talib_cases() {
    let files = [
        "goog.csv",
        "spx_2008.csv",
        "random_walk.csv",
        "random_walk_variants.csv",
        "edge_cases.csv",
    ];
    let (mut series, mut values) = (0, 0);
    let mut failures = Vec::new();
    for file in files {
        let table = Table::read(&format!("talib/momentum/{file}"));
        let cols = table.ohlcv(["open", "high", "low", "close", "volume"]);
        for (name, theirs) in table.names.iter().zip(&table.columns).skip(5) {
            let case = case(name).unwrap_or_else(|| panic!("{file}: unknown column {name}"));
            let ours = computed(&case, &cols);
            match compare(&format!("{file} {name}"), &ours, theirs, case.scale_aware) {
                Ok(n) => values += n,
                Err(e) => failures.push(e),
            }
            series += 1;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!("compared {series} TA-Lib series, {values} values");
    assert_eq!(
        series,
        18 + 18 + 18 + 34 + 52,
        "a fixture file lost columns"
    );
}

#[test]
fn catalogue_lists_the_family_with_talib_defaults() {
    type Expected = (
        &'static str,
        &'static [(&'static str, f64)],
        &'static [&'static str],
    );
    let expect: [Expected; 14] = [
        ("rsi", &[("period", 14.0)], &["rsi"]),
        (
            "stoch",
            &[
                ("fastk_period", 14.0),
                ("slowk_period", 3.0),
                ("slowd_period", 3.0),
            ],
            &["k", "d"],
        ),
        (
            "stochrsi",
            &[
                ("period", 14.0),
                ("fastk_period", 5.0),
                ("fastd_period", 3.0),
            ],
            &["k", "d"],
        ),
        ("adx", &[("period", 14.0)], &["adx", "plus_di", "minus_di"]),
        ("cci", &[("period", 14.0)], &["cci"]),
        ("willr", &[("period", 14.0)], &["willr"]),
        ("mfi", &[("period", 14.0)], &["mfi"]),
        ("roc", &[("period", 10.0)], &["roc"]),
        ("mom", &[("period", 10.0)], &["mom"]),
        ("obv", &[], &["obv"]),
        ("ad", &[], &["ad"]),
        (
            "adosc",
            &[("fast_period", 3.0), ("slow_period", 10.0)],
            &["adosc"],
        ),
        ("atr", &[("period", 14.0)], &["atr"]),
        ("natr", &[("period", 14.0)], &["natr"]),
    ];
    for (name, params, outputs) in expect {
        let spec = catalog()
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("{name} missing from the catalogue"));
        let got: Vec<(&str, f64)> = spec.params.iter().map(|p| (p.name, p.default)).collect();
        assert_eq!(got, params, "{name} params");
        let got: Vec<&str> = spec.outputs.iter().map(|o| o.name).collect();
        assert_eq!(got, outputs, "{name} outputs");
        assert!(!spec.description.is_empty());
        assert!(spec.params.iter().all(|p| !p.description.is_empty()));
    }
}
