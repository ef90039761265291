use super::*;
use crate::screen::{Evaluator, Value};

/// Rule evaluation on bitsets (comparisons, crossings, and/or/not, true and false sides)
/// agrees bar by bar with the screener's evaluator (the same language, three-valued one bar
/// at a time), NaNs (warm-up) and ties included, at lengths around a word, and leaves no bit
/// past the last bar.
#[test]
fn bitsets_agree_with_three_valued_definitions() {
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    let mut value = move |_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        match state % 7 {
            0 => f64::NAN,
            1 | 2 => 1.0,
            k => k as f64 * 0.5,
        }
    };
    let rules = [
        "open < close",
        "open <= close",
        "open > close",
        "open >= close",
        "open == close",
        "open != close",
        "open crosses_above close",
        "open crosses_below close",
        "not (open crosses_above close)",
        "open > close and not (high crosses_below close)",
        "not (open > close or high crosses_above low)",
        "not (not (open < close) and (low != close or open crosses_below high))",
    ];
    let mut seen = [false; 3];
    for n in [0, 1, 2, 63, 64, 65, 128, 500] {
        let cols: Vec<Vec<f64>> = (0..4).map(|_| (0..n).map(&mut value).collect()).collect();
        let (time, volume) = (vec![0i64; n], vec![1.0; n]);
        let c = Columns {
            time: &time,
            open: &cols[0],
            high: &cols[1],
            low: &cols[2],
            close: &cols[3],
            volume: &volume,
        };
        let cache = IndicatorCache::new();
        let models = HashMap::new();
        let ev = Eval {
            cols: &c,
            cache: &cache,
            n,
            orders: RefCell::new(Vec::new()),
            models: &models,
        };
        for text in rules {
            let expr = Expression::parse(text).expect("rule");
            let (t, f) = (
                ev.side(expr.root(), true, "r").expect("true side"),
                ev.side(expr.root(), false, "r").expect("false side"),
            );
            assert_eq!((t.len(), f.len()), (words_for(n), words_for(n)), "{text}");
            for (j, w) in t.iter().chain(&f).enumerate() {
                let first = (j % words_for(n)) * 64;
                let past = (0..64)
                    .filter(|k| first + k >= n)
                    .fold(0u64, |m, k| m | 1 << k);
                assert_eq!(w & past, 0, "{text}: bits past bar {n}");
            }
            let (t, f) = (Flags::from_words(t, n), Flags::from_words(f, n));
            for i in 0..n {
                let got = match (t.get(i), f.get(i)) {
                    (true, false) => Some(true),
                    (false, true) => Some(false),
                    (false, false) => None,
                    (true, true) => panic!("{text}: bar {i} both true and false"),
                };
                let want = match Evaluator::new(c).at(&expr, i).expect("evaluates") {
                    Value::Condition(v) => v,
                    Value::Number(x) => panic!("{text} is a number ({x})"),
                };
                assert_eq!(got, want, "{text} at bar {i} of {n}");
                seen[match want {
                    Some(true) => 0,
                    Some(false) => 1,
                    None => 2,
                }] = true;
            }
        }
    }
    assert_eq!(seen, [true; 3], "true, false and unknown all exercised");
}
