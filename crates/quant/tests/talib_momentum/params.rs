//! Parameter errors through the catalogue, the typed functions and the streams.

use super::*;

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
