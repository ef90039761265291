use super::*;
use crate::indicators::OwnedColumns;

/// A deterministic wobbly series with plenty of small bodies (no dependency on fixtures).
fn series(n: usize) -> OwnedColumns {
    let mut cols = OwnedColumns::default();
    let mut price = 50.0;
    for i in 0..n {
        let f = i as f64;
        let open = price + (f * 0.7).sin() * 0.4;
        let close = open + (f * 1.3).cos() * 1.1;
        let high = open.max(close) + ((f * 0.3).sin().abs()) * 0.9;
        let low = open.min(close) - ((f * 0.5).cos().abs()) * 0.9;
        price = close;
        cols.time.push(i as i64);
        cols.open.push(open);
        cols.high.push(high);
        cols.low.push(low);
        cols.close.push(close);
        cols.volume.push(1.0);
    }
    cols
}

#[test]
fn names_round_trip_and_are_unique() {
    let mut seen = std::collections::HashSet::new();
    for p in CandlePattern::ALL {
        assert_eq!(CandlePattern::from_name(p.name()), Some(p));
        assert_eq!(CandlePattern::from_name(p.ta_lib_name()), Some(p));
        assert_eq!(
            CandlePattern::from_name(&p.ta_lib_name().to_lowercase()),
            Some(p)
        );
        assert!(seen.insert(p.name()));
        assert!(!p.description().is_empty());
    }
    assert_eq!(CandlePattern::from_name("nope"), None);
}

#[test]
fn mismatched_columns_are_refused() {
    let cols = series(30);
    let mut view = cols.view();
    view.open = &cols.open[..29];
    assert!(matches!(
        cdl_doji(&view),
        Err(PatternError::LengthMismatch {
            open: 29,
            close: 30,
            ..
        })
    ));
    assert!(scan_candles(&view, &[]).is_err());
}

#[test]
fn short_and_empty_inputs_give_zeros() {
    let empty = OwnedColumns::default();
    for p in CandlePattern::ALL {
        assert!(p.compute(&empty.view()).expect("empty").is_empty());
    }
    // Every pattern but engulfing (lookback 2) needs at least 11 bars.
    let short = series(10);
    for p in CandlePattern::ALL {
        let values = p.compute(&short.view()).expect("short");
        assert_eq!(values.len(), 10);
        if p != CandlePattern::Engulfing {
            assert_eq!(values, vec![0; 10], "{p}");
        }
    }
    let two = series(2);
    assert_eq!(cdl_engulfing(&two.view()).expect("two"), vec![0, 0]);
}

#[test]
fn leading_missing_prices_are_skipped_like_talib_python() {
    let cols = series(200);
    let mut padded = OwnedColumns::default();
    for _ in 0..3 {
        padded.push(crate::indicators::Candle {
            open: f64::NAN,
            high: f64::NAN,
            low: f64::NAN,
            close: f64::NAN,
            ..Default::default()
        });
    }
    for i in 0..cols.close.len() {
        padded.push(cols.view().candle(i));
    }
    for p in CandlePattern::ALL {
        let plain = p.compute(&cols.view()).expect("plain");
        let shifted = p.compute(&padded.view()).expect("padded");
        assert_eq!(&shifted[..3], &[0, 0, 0]);
        assert_eq!(&shifted[3..], plain.as_slice(), "{p}");
    }
}

#[test]
fn penetration_must_be_non_negative() {
    let cols = series(40);
    assert!(cdl_morning_star(&cols.view(), -0.1).is_err());
    assert!(cdl_evening_star(&cols.view(), f64::NAN).is_err());
    assert!(cdl_dark_cloud_cover(&cols.view(), -1.0).is_err());
    assert_eq!(
        cdl_morning_star(&cols.view(), STAR_PENETRATION).expect("default"),
        CandlePattern::MorningStar
            .compute(&cols.view())
            .expect("enum")
    );
}

#[test]
fn scan_filters_kinds_and_marks_indecision_neutral() {
    let cols = series(300);
    let hits = scan_candles(
        &cols.view(),
        &[CandlePattern::Doji, CandlePattern::Engulfing],
    )
    .expect("scan");
    assert!(hits.iter().any(|h| h.pattern == CandlePattern::Doji));
    for h in &hits {
        assert!(matches!(
            h.pattern,
            CandlePattern::Doji | CandlePattern::Engulfing
        ));
        match h.pattern {
            CandlePattern::Doji => assert_eq!(h.signal, CandleSignal::Neutral),
            _ => assert_eq!(
                h.signal,
                if h.value > 0 {
                    CandleSignal::Bullish
                } else {
                    CandleSignal::Bearish
                }
            ),
        }
    }
    let all = scan_candles(&cols.view(), &[]).expect("scan all");
    assert!(all.len() >= hits.len());
}

#[test]
fn custom_settings_change_the_answer() {
    let cols = series(300);
    let strict = CandleSettings {
        body_doji: CandleSetting {
            factor: 0.0,
            ..CandleSettings::default().body_doji
        },
        ..CandleSettings::default()
    };
    let default = CandlePattern::Doji.compute(&cols.view()).expect("default");
    let none = CandlePattern::Doji
        .compute_with(&cols.view(), &strict)
        .expect("strict");
    assert!(default.iter().any(|&v| v != 0));
    // With a zero allowance only bars whose open equals the close can be dojis.
    for (i, &v) in none.iter().enumerate() {
        if v != 0 {
            assert_eq!(cols.open[i], cols.close[i]);
        }
    }
}
