//! Parser, evaluator and screener tests. Indicator-backed cases use catalogue entries; the ones
//! on `sma`, `macd` and `bbands` need those families registered.

use std::collections::BTreeMap;

use super::*;
use crate::indicators::{OwnedColumns, compute};

/// Bars from closes: open = previous close, high/low = close ± 1, volume given or 1000.
fn bars(close: &[f64]) -> OwnedColumns {
    bars_with_volume(close, &vec![1000.0; close.len()])
}

fn bars_with_volume(close: &[f64], volume: &[f64]) -> OwnedColumns {
    let n = close.len();
    OwnedColumns {
        time: (0..n as i64).map(|i| 1_700_000_000 + 86_400 * i).collect(),
        open: (0..n)
            .map(|i| if i == 0 { close[0] } else { close[i - 1] })
            .collect(),
        high: close.iter().map(|c| c + 1.0).collect(),
        low: close.iter().map(|c| c - 1.0).collect(),
        close: close.to_vec(),
        volume: volume.to_vec(),
    }
}

fn parse(text: &str) -> Expression {
    Expression::parse(text).unwrap_or_else(|e| panic!("{}", e.render(text)))
}

fn err(text: &str) -> ParseError {
    match Expression::parse(text) {
        Ok(e) => panic!("`{text}` parsed as `{e}`"),
        Err(e) => e,
    }
}

fn last_number(cols: &OwnedColumns, text: &str) -> f64 {
    match Evaluator::new(cols.view()).last(&parse(text)).unwrap() {
        Value::Number(v) => v,
        other => panic!("{text}: {other:?}"),
    }
}

fn last_condition(cols: &OwnedColumns, text: &str) -> Option<bool> {
    match Evaluator::new(cols.view()).last(&parse(text)).unwrap() {
        Value::Condition(v) => v,
        other => panic!("{text}: {other:?}"),
    }
}

// ----------------------------------------------------------------------------- parsing

#[test]
fn precedence_and_normalised_display() {
    let cases = [
        ("1+2*3", "1 + 2 * 3"),
        ("(1 + 2) * 3", "(1 + 2) * 3"),
        ("1 - 2 - 3", "1 - 2 - 3"),
        ("1 - (2 - 3)", "1 - (2 - 3)"),
        ("8 / (4 / 2)", "8 / (4 / 2)"),
        ("-close * 2", "-close * 2"),
        ("-(close + 1)", "-(close + 1)"),
        (
            "CLOSE > 1 AND close < 2 OR not volume > 0",
            "close > 1 and close < 2 or not volume > 0",
        ),
        (
            "close > 1 and (close < 2 or volume > 0)",
            "close > 1 and (close < 2 or volume > 0)",
        ),
        ("not not close > 1", "not not close > 1"),
        ("rsi( 14 )<30", "rsi(14) < 30"),
        ("rsi(period = 14) < 30", "rsi(period=14) < 30"),
        (
            "stoch(14,3).d crosses_above stoch.k",
            "stoch(14, 3).d crosses_above stoch.k",
        ),
        ("mom(volume, 5) > -1.5e3", "mom(volume, 5) > -1500"),
        ("(close) > .5", "close > 0.5"),
    ];
    for (text, want) in cases {
        assert_eq!(parse(text).to_string(), want, "{text}");
    }
    // `and` binds tighter than `or`: a or (b and c).
    let e = parse("close > 1 or close > 2 and close > 3");
    assert!(matches!(e.root(), Expr::Or(_, r) if matches!(**r, Expr::And(..))));
    // `not` binds tighter than `and`, looser than comparisons.
    let e = parse("not close > 1 and volume > 1");
    assert!(matches!(e.root(), Expr::And(l, _) if matches!(**l, Expr::Not(_))));
    assert_eq!(parse("close + 1").kind(), Kind::Number);
    assert_eq!(parse("close > 1").kind(), Kind::Condition);
}

#[test]
fn arithmetic_evaluates_with_precedence() {
    let c = bars(&[10.0]);
    for (text, want) in [
        ("2 + 3 * 4", 14.0),
        ("(2 + 3) * 4", 20.0),
        ("10 - 4 - 3", 3.0),
        ("10 - (4 - 3)", 9.0),
        ("2 * 3 / 4", 1.5),
        ("-2 * 3", -6.0),
        ("--2", 2.0),
        ("close / 4 + 1", 3.5),
        ("high - low", 2.0),
        ("1e2 + .5", 100.5),
    ] {
        assert_eq!(last_number(&c, text), want, "{text}");
    }
}

#[test]
fn parse_errors_say_where_and_what() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "rsi(14) <",
            10,
            "expected a number, a column, an indicator call or '('",
        ),
        ("close > > 3", 9, "found '>'"),
        ("close < 1 < 2", 11, "cannot be chained"),
        ("close = 3", 7, "use '=='"),
        (
            "(close > 1",
            11,
            "expected ')' to close the parenthesis at column 1",
        ),
        ("close > 1)", 10, "unbalanced parenthesis"),
        ("close && open", 7, "use 'and'"),
        ("close || open", 7, "use 'or'"),
        ("!close", 1, "use 'not'"),
        ("close > 2x", 10, "expected an operator after the number 2"),
        ("close # 2", 7, "unexpected character '#'"),
        (
            "rsi(14) and close > 1",
            1,
            "'and' needs a condition, but `rsi(14)` is a number",
        ),
        (
            "close > 1 + (open < 2)",
            13,
            "needs a number, but `open < 2` is a condition",
        ),
        ("not close", 5, "'not' needs a condition"),
        (
            "rsi(period=14, 3) < 1",
            16,
            "positional arguments must come before named ones",
        ),
        (
            "rsi(foo=3) < 1",
            5,
            "rsi: unknown parameter 'foo'; it takes: period",
        ),
        (
            "rsi(14, 3) < 1",
            9,
            "rsi takes 1 parameter(s) (period), got more",
        ),
        ("rsi(period=1, period=2)", 15, "given twice"),
        ("rsi(14 < 1", 8, "expected ',' or ')'"),
        ("rsi(14, volume)", 9, "must be the first argument"),
        ("rsi(x) > 1", 6, "expected '=' after parameter name 'x'"),
        (
            "stoch.x > 1",
            7,
            "stoch has no output 'x'; its outputs: k, d",
        ),
        ("stoch.(1)", 7, "expected an output name of stoch"),
        ("close(3) > 1", 6, "is a price column, not an indicator"),
        ("close > and", 9, "found 'and'"),
        ("", 1, "found end of expression"),
    ];
    for &(text, column, needle) in cases {
        let e = err(text);
        assert_eq!(e.column, column, "`{text}`: {e}");
        assert!(e.message.contains(needle), "`{text}`: {e}");
    }
    let e = err("close > 1 and rsx(14) < 30");
    assert_eq!(e.column, 15);
    assert!(
        e.message.contains("unknown indicator 'rsx'; available: ") && e.message.contains("rsi"),
        "{e}"
    );
    assert!(
        e.message
            .contains("columns: open, high, low, close, volume")
    );
    assert_eq!(
        e.render("close > 1 and rsx(14) < 30").lines().nth(1),
        Some("              ^")
    );
}

// ----------------------------------------------------------------------------- evaluation

#[test]
fn columns_indicators_and_sources_on_hand_made_series() {
    let close = [1.0, 2.0, 3.0, 4.0, 5.0, 4.0, 3.0];
    let volume = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 80.0];
    let c = bars_with_volume(&close, &volume);
    // TA-Lib MOM: close[t] − close[t − n].
    assert_eq!(last_number(&c, "mom(2)"), 3.0 - 5.0);
    assert_eq!(last_number(&c, "mom(close, 2)"), -2.0);
    assert_eq!(last_number(&c, "mom(period=3)"), 3.0 - 4.0);
    assert_eq!(last_number(&c, "mom(volume, 1)"), 20.0);
    assert_eq!(last_number(&c, "mom(high, 1) - mom(low, 1)"), 0.0);
    assert_eq!(last_condition(&c, "close < open"), Some(true));
    assert_eq!(
        last_condition(&c, "volume >= 80 and close == 3"),
        Some(true)
    );
    assert_eq!(last_condition(&c, "close != 3"), Some(false));
    assert_eq!(last_condition(&c, "not mom(2) > 0"), Some(true));
    // Per-bar series, NaN during warm-up.
    let mut ev = Evaluator::new(c.view());
    let SeriesValue::Number(m) = ev.series(&parse("mom(2)")).unwrap() else {
        panic!("number expected")
    };
    assert!(m[0].is_nan() && m[1].is_nan());
    assert_eq!(&m[2..], &[2.0, 2.0, 2.0, 0.0, -2.0]);
}

#[test]
fn unknown_values_follow_three_valued_logic() {
    let c = bars(&[1.0, 2.0, 3.0]);
    // mom(10) has no value with 3 bars.
    assert_eq!(last_condition(&c, "mom(10) > 0"), None);
    assert_eq!(last_condition(&c, "mom(10) > 0 or close > 0"), Some(true));
    assert_eq!(last_condition(&c, "mom(10) > 0 and close < 0"), Some(false));
    assert_eq!(last_condition(&c, "mom(10) > 0 and close > 0"), None);
    assert_eq!(last_condition(&c, "not mom(10) > 0"), None);
    assert_eq!(last_condition(&c, "close / 0 * 0 > 1"), None);
    let mut ev = Evaluator::new(c.view());
    assert_eq!(
        ev.signal(&parse("mom(10) > 0 or close > 2")).unwrap(),
        vec![false, false, true]
    );
    assert!(matches!(
        ev.signal(&parse("close + 1")),
        Err(EvalError::NotACondition { .. })
    ));
    let empty = OwnedColumns::default();
    assert_eq!(
        Evaluator::new(empty.view()).last(&parse("close > 1")),
        Err(EvalError::NoBars)
    );
}

#[test]
fn crossing_is_strict_on_both_bars_as_in_the_strategy_language() {
    let c = bars(&[1.0, 2.0, 2.0, 3.0, 2.0, 1.0, 3.0, 1.0]);
    let mut ev = Evaluator::new(c.view());
    let series = |ev: &mut Evaluator<'_>, text: &str| match ev.series(&parse(text)).unwrap() {
        SeriesValue::Condition(v) => v,
        other => panic!("{other:?}"),
    };
    let (t, f) = (Some(true), Some(false));
    // Bar 0 has no previous bar; 1→2 reaches 2 but is not above it; 2→3 leaves the level it was
    // resting on, which backtesting.py's `crossover` does not count; 1→3 crosses.
    assert_eq!(
        series(&mut ev, "close crosses_above 2"),
        vec![None, f, f, f, f, f, t, f]
    );
    // 3→2 lands on the level and 2→1 leaves it: neither crosses; 3→1 does.
    assert_eq!(
        series(&mut ev, "close crosses_below 2"),
        vec![None, f, f, f, f, f, f, t]
    );
    // Both sides may move: open is the previous close here, so close crosses above open when
    // the close turns up after being strictly below the prior close.
    assert_eq!(
        series(&mut ev, "close crosses_above open"),
        vec![None, f, f, f, f, f, t, f]
    );
    // Warm-up on either bar makes the crossing unknown; resting at 0 and rising is no crossing.
    let m = series(&mut ev, "mom(1) crosses_above 0");
    assert_eq!(m[..2], [None, None]);
    assert_eq!(m[3], f);
    assert_eq!(m[6], t);
    assert_eq!(
        ev.signal(&parse("close crosses_above 2")).unwrap(),
        vec![false, false, false, false, false, false, true, false]
    );
}

#[test]
fn each_distinct_call_is_computed_once() {
    let c = bars(&(1..=40).map(f64::from).collect::<Vec<_>>());
    let mut ev = Evaluator::new(c.view());
    for text in [
        "mom(3) > 0",
        "mom(period=3) < 100",
        "mom(close, 3) != 0",
        "mom(3) * 2 > mom(3)",
    ] {
        ev.last(&parse(text)).unwrap();
    }
    assert_eq!(ev.computations(), 1);
    ev.last(&parse("mom(volume, 3) >= 0")).unwrap();
    assert_eq!(ev.computations(), 2);
    // Outputs of one indicator share the computation; defaults resolve to the same key.
    ev.last(&parse("stoch.k > stoch(14, 3, 3).d")).unwrap();
    ev.last(&parse("rsi + rsi(14) > rsi(period=14)")).unwrap();
    assert_eq!(ev.computations(), 4);
}

#[test]
fn indicator_values_match_compute() {
    let close: Vec<f64> = (0..60)
        .map(|i| 100.0 + (f64::from(i) * 0.7).sin() * 5.0)
        .collect();
    let c = bars(&close);
    let rsi = compute("rsi", &BTreeMap::new(), &c.view()).unwrap();
    assert_eq!(last_number(&c, "rsi"), *rsi[0].1.last().unwrap());
    let stoch = compute("stoch", &BTreeMap::new(), &c.view()).unwrap();
    assert_eq!(last_number(&c, "stoch.d"), *stoch[1].1.last().unwrap());
    assert_eq!(last_number(&c, "stoch"), *stoch[0].1.last().unwrap());
}

// ----------------------------------------------------------------------------- screening

fn universe() -> Vec<(String, OwnedColumns)> {
    let steady_fall: Vec<f64> = (0..30).map(|i| 100.0 - f64::from(i)).collect();
    // Falls 2, rises 1, repeatedly: weak but not zero RSI.
    let choppy_fall: Vec<f64> = (0..30)
        .map(|i| 100.0 - f64::from(i / 2) - if i % 2 == 1 { 2.0 } else { 0.0 })
        .collect();
    let rise: Vec<f64> = (0..30).map(|i| 50.0 + f64::from(i)).collect();
    let mut ragged = bars(&rise);
    ragged.volume.pop();
    vec![
        ("FALL".into(), bars(&steady_fall)),
        ("RISE".into(), bars(&rise)),
        ("NEW".into(), bars(&[10.0, 11.0, 9.0])),
        ("CHOP".into(), bars(&choppy_fall)),
        ("NONE".into(), OwnedColumns::default()),
        ("RAGGED".into(), ragged),
    ]
}

#[test]
fn screen_filters_sorts_limits_and_explains() {
    let u = universe();
    let r = screen(
        &u,
        &["rsi(14) < 50", "close > 1"],
        Some(("rsi(14)", false)),
        Some(1),
    )
    .unwrap();
    assert_eq!(r.total_matches, 2);
    assert_eq!(r.matches.len(), 1);
    assert_eq!(r.matches[0].symbol, "FALL");
    assert_eq!(r.evaluated, 3); // FALL, RISE, CHOP
    let skipped: Vec<&str> = r.skipped.iter().map(|s| s.symbol.as_str()).collect();
    assert_eq!(skipped, ["NEW", "NONE", "RAGGED"]);
    assert!(
        r.skipped[0].reason.contains("undefined at the last bar"),
        "{:?}",
        r.skipped
    );
    assert_eq!(r.skipped[1].reason, "no bars");
    assert!(r.skipped[2].reason.contains("different lengths"));
    let m = &r.matches[0];
    assert_eq!(m.values.keys().collect::<Vec<_>>(), ["close", "rsi(14)"]);
    assert_eq!(m.values["close"], Some(71.0));
    assert_eq!(m.sort_value, m.values["rsi(14)"]);
    assert_eq!(m.time, Some(1_700_000_000 + 86_400 * 29));

    // Descending, no limit: CHOP's RSI is above FALL's.
    let r = screen(&u, &["rsi < 50"], Some(("rsi", true)), None).unwrap();
    let order: Vec<&str> = r.matches.iter().map(|m| m.symbol.as_str()).collect();
    assert_eq!(order, ["CHOP", "FALL"]);
    assert!(r.matches[0].sort_value > r.matches[1].sort_value);

    // No sort: universe order. A definite `false` beats an unknown one: NEW is evaluated.
    let r = screen(&u, &["close > 60", "rsi(14) >= 0"], None, None).unwrap();
    let order: Vec<&str> = r.matches.iter().map(|m| m.symbol.as_str()).collect();
    assert_eq!(order, ["FALL", "RISE", "CHOP"]);
    assert_eq!(r.evaluated, 4);

    // The result serialises and has a schema.
    let json = serde_json::to_value(&r).unwrap();
    assert!(json["matches"][0]["values"]["close"].is_number());
    let schema = serde_json::to_value(schemars::schema_for!(ScreenResult)).unwrap();
    assert!(schema["properties"]["skipped"].is_object());
}

#[test]
fn screen_reports_bad_expressions_once() {
    let u = universe();
    let e = screen(&u, &["close > 1", "rsi(14) <"], None, None).unwrap_err();
    assert!(
        matches!(&e, ScreenError::Parse { role, error, .. }
        if role == "filter 2" && error.column == 10),
        "{e}"
    );
    let e = screen(&u, &["rsi(14)"], None, None).unwrap_err();
    assert!(e.to_string().contains("must be a condition"), "{e}");
    let e = screen(&u, &["close > 1"], Some(("close > 1", true)), None).unwrap_err();
    assert!(e.to_string().contains("sort key must be a number"), "{e}");
    // A parameter value every symbol would reject stops the screen instead of skipping all.
    let e = screen(&u, &["rsi(0) < 30"], None, None).unwrap_err();
    assert!(matches!(e, ScreenError::Indicator { .. }), "{e}");
    assert!(e.to_string().contains("period"), "{e}");
}

// ------------------------------------------------ needs the trend family (sma, macd, bbands)

#[test]
fn trend_indicators_in_expressions() {
    let close: Vec<f64> = (0..80)
        .map(|i| 100.0 + (f64::from(i) * 0.3).sin() * 10.0)
        .collect();
    let volume: Vec<f64> = (0..80).map(|i| 1000.0 + f64::from(i % 7) * 100.0).collect();
    let c = bars_with_volume(&close, &volume);
    let n = close.len();
    // sma by hand.
    let sma20: f64 = close[n - 20..].iter().sum::<f64>() / 20.0;
    assert!((last_number(&c, "sma(20)") - sma20).abs() < 1e-9);
    let vol_sma: f64 = volume[n - 20..].iter().sum::<f64>() / 20.0;
    assert!((last_number(&c, "sma(volume, 20)") - vol_sma).abs() < 1e-9);
    assert_eq!(
        last_condition(&c, "volume > 2 * sma(volume, 20)"),
        Some(volume[n - 1] > 2.0 * vol_sma)
    );
    // Multi-output selection against compute().
    let macd = compute("macd", &BTreeMap::new(), &c.view()).unwrap();
    let hist = &macd[2].1;
    let mut ev = Evaluator::new(c.view());
    let SeriesValue::Condition(cross) = ev.series(&parse("macd.hist crosses_above 0")).unwrap()
    else {
        panic!("condition expected")
    };
    for i in 1..n {
        let want = if hist[i].is_nan() || hist[i - 1].is_nan() {
            None
        } else {
            Some(hist[i - 1] <= 0.0 && hist[i] > 0.0)
        };
        assert_eq!(cross[i], want, "bar {i}");
    }
    assert!(cross.contains(&Some(true)));
    assert_eq!(last_number(&c, "macd"), *macd[0].1.last().unwrap());
    let mut p = BTreeMap::new();
    p.insert("period".to_string(), 20.0);
    let bb = compute("bbands", &p, &c.view()).unwrap();
    let lower = bb.iter().find(|(o, _)| *o == "lower").unwrap().1[n - 1];
    assert_eq!(last_number(&c, "bbands(20).lower"), lower);
    assert_eq!(
        last_condition(&c, "bbands(20, 2).lower > close"),
        Some(lower > close[n - 1])
    );
    assert_eq!(
        parse("rsi(14) < 30 and close > sma(200)").to_string(),
        "rsi(14) < 30 and close > sma(200)"
    );
}
