//! Momentum, volume and volatility indicators against TA-Lib 0.8.2 (C library 0.8.1), and their
//! batch and streaming forms against each other.
//!
//! Oracles: `tests/fixtures/indicators_goog.csv` (the original reference file) and every CSV in
//! `tests/fixtures/talib/momentum/` (see the README there: GOOG, SPX 2008-2011, a seeded random
//! walk and a file of degenerate stretches, at defaults and non-default parameters). Every value
//! is computed through the catalogue's `compute`, so names, parameters and outputs are checked
//! along with the numbers.

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

// ---------------------------------------------------------------------------------------------
// Parameter errors through the catalogue
// ---------------------------------------------------------------------------------------------

fn some_bars() -> OwnedColumns {
    let mut cols = OwnedColumns::default();
    for i in 0..50 {
        let c = 100.0 + (i as f64 * 0.7).sin() * 5.0;
        cols.push(Candle {
            time: i,
            open: c - 0.5,
            high: c + 1.0,
            low: c - 1.0,
            close: c,
            volume: 1000.0 + i as f64,
        });
    }
    cols
}

fn invalid_param(result: Result<impl std::fmt::Debug, IndicatorError>) -> (String, String, f64) {
    match result {
        Err(IndicatorError::InvalidParam {
            indicator,
            param,
            value,
            ..
        }) => (indicator, param, value),
        other => panic!("expected InvalidParam, got {other:?}"),
    }
}

#[test]
fn catalogue_rejects_out_of_range_and_fractional_periods() {
    let cols = some_bars();
    let cases: [(&str, &str, f64); 16] = [
        ("rsi", "period", 1.0),
        ("rsi", "period", 2.5),
        ("stoch", "fastk_period", 0.0),
        ("stoch", "slowd_period", 100_001.0),
        ("stochrsi", "period", 1.0),
        ("stochrsi", "fastd_period", 0.0),
        ("adx", "period", 1.0),
        ("cci", "period", 1.0),
        ("willr", "period", -3.0),
        ("mfi", "period", 1.0),
        ("roc", "period", 0.0),
        ("mom", "period", f64::NAN),
        ("adosc", "fast_period", 1.0),
        ("adosc", "slow_period", 1.0),
        ("atr", "period", 0.0),
        ("natr", "period", 0.5),
    ];
    for (name, param, value) in cases {
        let params = BTreeMap::from([(param.to_string(), value)]);
        let (indicator, got_param, got_value) = invalid_param(compute(name, &params, &cols.view()));
        assert_eq!((indicator.as_str(), got_param.as_str()), (name, param));
        assert!(got_value.is_nan() == value.is_nan() && (value.is_nan() || got_value == value));
    }
    let err = compute(
        "rsi",
        &BTreeMap::from([("length".to_string(), 3.0)]),
        &cols.view(),
    )
    .expect_err("unknown parameter");
    assert!(err.to_string().contains("it takes: period"), "{err}");
}

#[test]
fn typed_functions_and_streams_reject_bad_periods_and_lengths() {
    let c = [1.0, 2.0, 3.0];
    let short = [1.0, 2.0];
    assert_eq!(invalid_param(rsi(&c, 1)).1, "period");
    assert_eq!(invalid_param(rsi(&c, 100_001)).1, "period");
    assert_eq!(invalid_param(stoch(&c, &c, &c, 14, 0, 3)).1, "slowk_period");
    assert_eq!(invalid_param(stochrsi(&c, 14, 0, 3)).1, "fastk_period");
    assert_eq!(invalid_param(adx(&c, &c, &c, 1)).1, "period");
    assert_eq!(invalid_param(cci(&c, &c, &c, 1)).1, "period");
    assert_eq!(invalid_param(willr(&c, &c, &c, 1)).1, "period");
    assert_eq!(invalid_param(mfi(&c, &c, &c, &c, 1)).1, "period");
    assert_eq!(invalid_param(roc(&c, 0)).1, "period");
    assert_eq!(invalid_param(mom(&c, 0)).1, "period");
    assert_eq!(invalid_param(adosc(&c, &c, &c, &c, 3, 1)).1, "slow_period");
    assert_eq!(invalid_param(atr(&c, &c, &c, 0)).1, "period");
    assert_eq!(invalid_param(natr(&c, &c, &c, 0)).1, "period");

    assert_eq!(invalid_param(Rsi::new(1)).1, "period");
    assert_eq!(invalid_param(Stoch::new(0, 3, 3)).1, "fastk_period");
    assert_eq!(invalid_param(StochRsi::new(14, 5, 0)).1, "fastd_period");
    assert_eq!(invalid_param(Adx::new(1)).1, "period");
    assert_eq!(invalid_param(Cci::new(1)).1, "period");
    assert_eq!(invalid_param(WillR::new(1)).1, "period");
    assert_eq!(invalid_param(Mfi::new(1)).1, "period");
    assert_eq!(invalid_param(Roc::new(0)).1, "period");
    assert_eq!(invalid_param(Mom::new(0)).1, "period");
    assert_eq!(invalid_param(AdOsc::new(1, 10)).1, "fast_period");
    assert_eq!(invalid_param(Atr::new(0)).1, "period");
    assert_eq!(invalid_param(Natr::new(100_001)).1, "period");

    let message = rsi(&c, 1).expect_err("period 1").to_string();
    assert_eq!(
        message,
        "rsi: 'period' must be a whole number from 2 to 100000, got 1"
    );

    let mismatch = |r: Result<Vec<f64>, IndicatorError>| {
        assert!(
            matches!(r, Err(IndicatorError::LengthMismatch { .. })),
            "{r:?}"
        );
    };
    mismatch(atr(&c, &short, &c, 2));
    mismatch(natr(&c, &c, &short, 2));
    mismatch(cci(&short, &c, &c, 2));
    mismatch(willr(&c, &short, &c, 2));
    mismatch(mfi(&c, &c, &c, &short, 2));
    mismatch(obv(&c, &short));
    mismatch(ad(&c, &c, &c, &short));
    mismatch(adosc(&c, &c, &c, &short, 3, 10));
    assert!(matches!(
        stoch(&c, &short, &c, 2, 1, 1),
        Err(IndicatorError::LengthMismatch { .. })
    ));
    assert!(matches!(
        adx(&c, &c, &short, 2),
        Err(IndicatorError::LengthMismatch { .. })
    ));
}

#[test]
fn short_and_empty_inputs_are_all_warm_up() {
    let c = [10.0, 11.0, 10.5];
    assert!(rsi(&[], 14).expect("empty").is_empty());
    assert!(rsi(&c, 14).expect("short").iter().all(|v| v.is_nan()));
    assert!(
        atr(&c, &c, &c, 3)
            .expect("short")
            .iter()
            .all(|v| v.is_nan())
    );
    assert!(mom(&c, 5).expect("short").iter().all(|v| v.is_nan()));
    assert_eq!(obv(&c, &[1.0, 2.0, 3.0]).expect("obv"), vec![1.0, 3.0, 0.0]);
    assert!(obv(&[], &[]).expect("empty").is_empty());
    let flat = [5.0; 3];
    let lines = adx(&flat, &flat, &flat, 2).expect("adx");
    assert_eq!(lines.adx.len(), 3);
    assert!(lines.adx.iter().all(|v| v.is_nan()));
    assert!(
        lines.plus_di[2] == 0.0 && lines.minus_di[2] == 0.0,
        "flat bars have no direction"
    );
}

// ---------------------------------------------------------------------------------------------
// Batch and streaming agree
// ---------------------------------------------------------------------------------------------

/// Random valid bars: low ≤ open, close ≤ high, volume ≥ 0; sometimes flat, sometimes without
/// volume, sometimes on a coarse tick so that ties happen.
fn bars() -> impl Strategy<Value = Vec<Candle>> {
    let step = (
        -0.08f64..0.08,
        0.0f64..0.03,
        0.0f64..0.03,
        0.0f64..1.0,
        prop_oneof![3 => 0.0f64..2e6, 1 => Just(0.0)],
        prop_oneof![6 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
    );
    (
        1.0f64..500.0,
        prop::bool::ANY,
        prop::collection::vec(step, 0..260),
    )
        .prop_map(|(start, ticked, steps)| {
            let tick = |x: f64| {
                if ticked {
                    (x * 100.0).round() / 100.0
                } else {
                    x
                }
            };
            let mut price = start;
            let mut out = Vec::with_capacity(steps.len());
            for (i, (ret, up, down, open_at, volume, kind)) in steps.into_iter().enumerate() {
                let close = tick((price * (1.0 + ret)).max(0.01));
                let bar = match kind {
                    // A bar that does not move at all.
                    1 => Candle {
                        time: i as i64,
                        open: price,
                        high: price,
                        low: price,
                        close: price,
                        volume,
                    },
                    // Closes at its high.
                    2 => Candle {
                        time: i as i64,
                        open: price,
                        high: close.max(price),
                        low: tick(close.min(price) * (1.0 - down)).min(close.min(price)),
                        close: close.max(price),
                        volume,
                    },
                    _ => {
                        let high = tick(price.max(close) * (1.0 + up)).max(price.max(close));
                        let low = tick(price.min(close) * (1.0 - down)).min(price.min(close));
                        let open = low + (high - low) * open_at;
                        Candle {
                            time: i as i64,
                            open: open.clamp(low, high),
                            high,
                            low,
                            close,
                            volume,
                        }
                    }
                };
                price = bar.close;
                out.push(bar);
            }
            out
        })
}

fn columns(bars: &[Candle]) -> OwnedColumns {
    let mut cols = OwnedColumns::default();
    for b in bars {
        cols.push(*b);
    }
    cols
}

fn close_enough(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
}

/// Feeds `bars` to `stream` and compares each answer with row `i` of the batch outputs: `None`
/// exactly where every batch output is NaN, the same values (NaN included) elsewhere.
fn agree<S: Streaming>(
    label: &str,
    mut stream: S,
    batch: &[Vec<f64>],
    bars: &[Candle],
    row: impl Fn(&S::Output) -> Vec<f64>,
) -> Result<(), TestCaseError> {
    for (i, bar) in bars.iter().enumerate() {
        let expected: Vec<f64> = batch.iter().map(|out| out[i]).collect();
        match stream.update(bar) {
            None => prop_assert!(
                expected.iter().all(|v| v.is_nan()),
                "{label}[{i}]: stream warming up, batch {expected:?}"
            ),
            Some(out) => {
                let got = row(&out);
                prop_assert!(
                    got.iter().zip(&expected).all(|(a, b)| close_enough(*a, *b)),
                    "{label}[{i}]: stream {got:?}, batch {expected:?}"
                );
            }
        }
    }
    Ok(())
}

fn one(v: &f64) -> Vec<f64> {
    vec![*v]
}

fn two(v: &(f64, f64)) -> Vec<f64> {
    vec![v.0, v.1]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn batch_and_streaming_agree(
        bars in bars(),
        p in 1usize..40,
        q in 1usize..12,
        r in 1usize..12,
    ) {
        let cols = columns(&bars);
        let (h, l, c, v) = (&cols.high, &cols.low, &cols.close, &cols.volume);
        let p2 = p.max(2);

        agree("rsi", Rsi::new(p2)?, &[rsi(c, p2)?], &bars, one)?;
        let (k, d) = stoch(h, l, c, p, q, r)?;
        agree("stoch", Stoch::new(p, q, r)?, &[k, d], &bars, two)?;
        let (k, d) = stochrsi(c, p2, q, r)?;
        agree("stochrsi", StochRsi::new(p2, q, r)?, &[k, d], &bars, two)?;
        let lines = adx(h, l, c, p2)?;
        let lines = [lines.adx, lines.plus_di, lines.minus_di];
        agree("adx", Adx::new(p2)?, &lines, &bars, |o| vec![o.0, o.1, o.2])?;
        agree("cci", Cci::new(p2)?, &[cci(h, l, c, p2)?], &bars, one)?;
        agree("willr", WillR::new(p2)?, &[willr(h, l, c, p2)?], &bars, one)?;
        agree("mfi", Mfi::new(p2)?, &[mfi(h, l, c, v, p2)?], &bars, one)?;
        agree("roc", Roc::new(p)?, &[roc(c, p)?], &bars, one)?;
        agree("mom", Mom::new(p)?, &[mom(c, p)?], &bars, one)?;
        agree("obv", Obv::new(), &[obv(c, v)?], &bars, one)?;
        agree("ad", Ad::new(), &[ad(h, l, c, v)?], &bars, one)?;
        let (fast, slow) = (q + 1, r + 1);
        agree("adosc", AdOsc::new(fast, slow)?, &[adosc(h, l, c, v, fast, slow)?], &bars, one)?;
        agree("atr", Atr::new(p)?, &[atr(h, l, c, p)?], &bars, one)?;
        agree("natr", Natr::new(p)?, &[natr(h, l, c, p)?], &bars, one)?;
    }
}
