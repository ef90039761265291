//! Overlap studies against TA-Lib 0.8.2 (PyPI `ta-lib`, the C library's Python wrapper).
//!
//! Two oracles:
//! - `tests/fixtures/indicators_goog.csv` (SMA/EMA/WMA 20, MACD 12/26/9, BBANDS 20/2/2 on GOOG);
//! - `tests/fixtures/talib/overlap/*.csv`, written by `generate.py` there: every TA-Lib-backed
//!   overlap indicator at default and non-default parameters on GOOG, on SPX 2000-2005 and on a
//!   seeded synthetic series with flat, high-price/low-volatility and zero-volume stretches.
//!
//! Every value is computed through the catalogue (`compute`), so names, parameter order and
//! output order are checked too. Pass rule: our `NaN`s are exactly TA-Lib's, and elsewhere
//! `|ours - talib| <= 1e-9 * max(|talib|, floor)`. `floor` is 1e-12 for price-like outputs; for
//! outputs that cross zero (MACD line, signal and histogram, regression slope) a relative error
//! against a value near zero is meaningless, so `floor` is the column's mean |value| — its
//! typical magnitude.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use std::collections::BTreeMap;
use std::path::PathBuf;

use quantdesk_quant::indicators::{OwnedColumns, compute, spec};

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/"
    ))
    .join(rel)
}

/// A CSV without quoted fields: header and cells (`None` for an empty cell).
struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn read(rel: &str) -> Table {
        let path = fixture(rel);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let mut lines = text.lines();
        let headers = lines
            .next()
            .expect("header row")
            .split(',')
            .map(str::to_string)
            .collect::<Vec<_>>();
        let rows = lines
            .filter(|l| !l.is_empty())
            .map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>())
            .collect::<Vec<_>>();
        for r in &rows {
            assert_eq!(r.len(), headers.len(), "{rel}: ragged row");
        }
        Table { headers, rows }
    }

    fn index(&self, name: &str) -> usize {
        self.headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }

    /// Column `name` as floats, `NaN` for empty cells.
    fn column(&self, name: &str) -> Vec<f64> {
        let i = self.index(name);
        self.rows
            .iter()
            .map(|r| {
                if r[i].is_empty() {
                    f64::NAN
                } else {
                    r[i].parse()
                        .unwrap_or_else(|e| panic!("{name}: bad number {:?}: {e}", r[i]))
                }
            })
            .collect()
    }
}

#[derive(Default)]
struct Tally {
    columns: usize,
    values: usize,
    bit_exact_columns: usize,
    worst: f64,
    worst_at: String,
    failures: Vec<String>,
}

impl Tally {
    /// Compares one output column; records failures instead of panicking so one run reports all.
    fn compare(&mut self, label: &str, ours: &[f64], talib: &[f64], crosses_zero: bool) {
        self.columns += 1;
        if ours.len() != talib.len() {
            self.failures.push(format!(
                "{label}: {} values, TA-Lib has {}",
                ours.len(),
                talib.len()
            ));
            return;
        }
        let floor = if crosses_zero {
            let vals: Vec<f64> = talib.iter().copied().filter(|v| !v.is_nan()).collect();
            vals.iter().map(|v| v.abs()).sum::<f64>() / vals.len().max(1) as f64
        } else {
            1e-12
        };
        let mut exact = true;
        let mut reported = 0;
        for (i, (&a, &b)) in ours.iter().zip(talib).enumerate() {
            if a.is_nan() != b.is_nan() {
                exact = false;
                if reported < 3 {
                    self.failures.push(format!(
                        "{label}[{i}]: ours {a}, TA-Lib {b} (warm-up mismatch)"
                    ));
                    reported += 1;
                }
                continue;
            }
            if b.is_nan() {
                continue;
            }
            self.values += 1;
            if a.to_bits() != b.to_bits() {
                exact = false;
            }
            let err = (a - b).abs() / b.abs().max(floor);
            if err > self.worst {
                self.worst = err;
                self.worst_at = format!("{label}[{i}]");
            }
            if (err.is_nan() || err > 1e-9) && reported < 3 {
                self.failures.push(format!(
                    "{label}[{i}]: ours {a:e}, TA-Lib {b:e}, scaled error {err:e}"
                ));
                reported += 1;
            }
        }
        if exact {
            self.bit_exact_columns += 1;
        } else if std::env::var_os("OVERLAP_DEBUG").is_some() {
            let worst = ours
                .iter()
                .zip(talib)
                .filter(|(_, b)| !b.is_nan())
                .map(|(a, b)| (a - b).abs() / b.abs().max(floor))
                .fold(0.0, f64::max);
            println!("not bit-exact: {label}: worst {worst:e}");
        }
    }

    fn finish(self, what: &str) {
        println!(
            "{what}: {} columns, {} values compared, {} columns bit-exact, worst scaled error \
             {:e} at {}",
            self.columns, self.values, self.bit_exact_columns, self.worst, self.worst_at
        );
        assert!(
            self.failures.is_empty(),
            "{what}: {} mismatches:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
    }
}

/// Outputs whose values cross zero, compared against the column's typical magnitude.
fn crosses_zero(indicator: &str) -> bool {
    matches!(indicator, "macd" | "linreg_slope")
}

/// Parses `name(p1;p2;...)` and `name(p1;...).output`.
fn parse_header(h: &str) -> Option<(String, Vec<f64>, Option<String>)> {
    let open = h.find('(')?;
    let close = h.find(')')?;
    let name = h[..open].to_string();
    let params = h[open + 1..close]
        .split(';')
        .map(|p| p.parse::<f64>().expect("numeric parameter"))
        .collect();
    let output = h[close + 1..].strip_prefix('.').map(str::to_string);
    Some((name, params, output))
}

fn check_generated(file: &str, tally: &mut Tally) {
    let t = Table::read(&format!("talib/overlap/{file}"));
    let cols = OwnedColumns {
        time: t.column("time").iter().map(|&v| v as i64).collect(),
        open: t.column("open"),
        high: t.column("high"),
        low: t.column("low"),
        close: t.column("close"),
        volume: t.column("volume"),
    };
    assert!(!cols.close.is_empty(), "{file}: no rows");
    // Group output columns by indicator call, compute each call once.
    let mut calls: BTreeMap<String, Vec<(String, Option<String>)>> = BTreeMap::new();
    for h in &t.headers {
        if let Some((_, _, output)) = parse_header(h) {
            let call = h.split(").").next().unwrap_or(h).trim_end_matches(')');
            calls
                .entry(format!("{call})"))
                .or_default()
                .push((h.clone(), output));
        }
    }
    assert!(!calls.is_empty(), "{file}: no indicator columns");
    for (call, columns) in calls {
        let (name, params, _) = parse_header(&call).expect("call header");
        let s = spec(&name).unwrap_or_else(|e| panic!("{call}: {e}"));
        assert_eq!(s.params.len(), params.len(), "{call}: parameter count");
        let map: BTreeMap<String, f64> = s
            .params
            .iter()
            .zip(&params)
            .map(|(p, &v)| (p.name.to_string(), v))
            .collect();
        let outputs = compute(&name, &map, &cols.view()).unwrap_or_else(|e| panic!("{call}: {e}"));
        for (header, output) in columns {
            let ours = match &output {
                None => {
                    assert_eq!(outputs.len(), 1, "{call}: single output expected");
                    &outputs[0].1
                }
                Some(o) => {
                    &outputs
                        .iter()
                        .find(|(n, _)| n == o)
                        .unwrap_or_else(|| panic!("{call}: no output {o}"))
                        .1
                }
            };
            tally.compare(
                &format!("{file}:{header}"),
                ours,
                &t.column(&header),
                crosses_zero(&name),
            );
        }
    }
}

#[test]
fn generated_talib_fixtures() {
    let mut tally = Tally::default();
    for file in [
        "goog.csv",
        "goog_alt.csv",
        "spx_2000_2005.csv",
        "synthetic.csv",
    ] {
        check_generated(file, &mut tally);
    }
    assert!(tally.columns >= 100, "only {} columns", tally.columns);
    tally.finish("talib/overlap fixtures");
}

#[test]
fn indicators_goog_reference() {
    let goog = Table::read("GOOG.csv");
    let reference = Table::read("indicators_goog.csv");
    let close = goog.column("Close");
    assert_eq!(
        close,
        reference.column("close"),
        "GOOG.csv and indicators_goog.csv disagree"
    );
    let n = close.len();
    let cols = OwnedColumns {
        time: vec![0; n],
        open: goog.column("Open"),
        high: goog.column("High"),
        low: goog.column("Low"),
        close,
        volume: goog.column("Volume"),
    };
    let run = |name: &str, params: &[(&str, f64)]| {
        let map = params.iter().map(|&(k, v)| (k.to_string(), v)).collect();
        compute(name, &map, &cols.view()).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let mut tally = Tally::default();
    let mut check = |label: &str, ours: &[f64], crosses: bool| {
        tally.compare(label, ours, &reference.column(label), crosses);
    };
    check("SMA_20", &run("sma", &[("period", 20.0)])[0].1, false);
    check("EMA_20", &run("ema", &[("period", 20.0)])[0].1, false);
    check("WMA_20", &run("wma", &[("period", 20.0)])[0].1, false);
    let macd = run("macd", &[]);
    check("MACD", &macd[0].1, true);
    check("MACD_signal", &macd[1].1, true);
    check("MACD_hist", &macd[2].1, true);
    let bb = run("bbands", &[]);
    check("BB_upper", &bb[0].1, false);
    check("BB_middle", &bb[1].1, false);
    check("BB_lower", &bb[2].1, false);
    tally.finish("indicators_goog.csv");
}
