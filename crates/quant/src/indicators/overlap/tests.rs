//! Unit and property tests of the overlap studies: on random series, each streaming struct fed
//! bar by bar answers `None` exactly during the batch form's warm-up and then the batch values.
//!
//! Some batch forms advance their recursions several bars per step (EMA, MACD; see
//! `ma::ema_extend`), which reorders a few roundings, so values are compared to 1e-12 of their
//! scale rather than bit for bit: the scale is the larger magnitude of the two, or for series
//! that cross zero (MACD and its histogram) the price level they are differences of.

use proptest::prelude::*;

use super::*;

/// A random walk of positive prices, sometimes flat for a stretch, sometimes on a coarse tick.
fn prices() -> impl Strategy<Value = Vec<f64>> {
    let step = (
        -0.08f64..0.08,
        prop_oneof![8 => Just(false), 1 => Just(true)],
    );
    (
        1.0f64..500.0,
        prop::bool::ANY,
        prop::collection::vec(step, 0..300),
    )
        .prop_map(|(start, ticked, steps)| {
            let mut price = start;
            let mut out = Vec::with_capacity(steps.len());
            for (ret, flat) in steps {
                if !flat {
                    price = (price * (1.0 + ret)).max(0.01);
                    if ticked {
                        price = ((price * 100.0).round() / 100.0).max(0.01);
                    }
                }
                out.push(price);
            }
            out
        })
}

fn close_enough(a: f64, b: f64, scale: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(scale)
}

/// Feeds `xs` to `update` and compares each answer with row `i` of `batch`.
fn agree<T>(
    label: &str,
    xs: &[f64],
    batch: &[&[f64]],
    scale: f64,
    mut update: impl FnMut(f64) -> Option<T>,
    row: impl Fn(&T) -> Vec<f64>,
) -> Result<(), TestCaseError> {
    for out in batch {
        prop_assert_eq!(out.len(), xs.len(), "{}: batch length", label);
    }
    for (i, &x) in xs.iter().enumerate() {
        let expected: Vec<f64> = batch.iter().map(|out| out[i]).collect();
        match update(x) {
            None => prop_assert!(
                expected.iter().all(|v| v.is_nan()),
                "{label}[{i}]: stream warming up, batch {expected:?}"
            ),
            Some(v) => {
                let got = row(&v);
                prop_assert!(
                    got.iter()
                        .zip(&expected)
                        .all(|(a, b)| close_enough(*a, *b, scale)),
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

/// Long outputs go out with streaming stores (see `stream_store`): the values are still the
/// running total's, bit for bit, whatever the warm-up's parity (which decides whether one
/// value is written first to align the rest).
#[test]
fn long_sma_is_the_running_total() {
    let xs: Vec<f64> = (0..super::super::stream_store::STREAM_MIN + 37)
        .map(|i| 100.0 + (i as f64 * 0.001).sin() * 10.0 + (i % 7) as f64 * 0.01)
        .collect();
    for period in [1, 2, 10, 20, 21] {
        let got = sma(&xs, period).expect("sma");
        let mut total = 0.0;
        let mut want = vec![f64::NAN; period - 1];
        for (i, &x) in xs.iter().enumerate() {
            total += x;
            if i + 1 >= period {
                let t = total;
                total -= xs[i + 1 - period];
                want.push(t / period as f64);
            }
        }
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()),
                "{period} {i}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Two SMAs in one pass are each the same bits as one alone, whichever period is longer
    /// and however short the series.
    #[test]
    fn sma_pair_is_two_smas(xs in prices(), a in 1usize..40, b in 1usize..40) {
        let (x, y) = sma_pair(&xs, a, b)?;
        let bits = |v: &[f64]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(&x), bits(&sma(&xs, a)?));
        prop_assert_eq!(bits(&y), bits(&sma(&xs, b)?));
    }

    #[test]
    fn moving_averages_stream_as_batch(xs in prices(), p in 1usize..40) {
        let p2 = p.max(2);
        let mut s = Sma::new(p)?;
        agree("sma", &xs, &[&sma(&xs, p)?], 0.0, |x| s.update_value(x), one)?;
        let mut s = Ema::new(p)?;
        agree("ema", &xs, &[&ema(&xs, p)?], 0.0, |x| s.update_value(x), one)?;
        let mut s = Wma::new(p2)?;
        agree("wma", &xs, &[&wma(&xs, p2)?], 0.0, |x| s.update_value(x), one)?;
        let mut s = Dema::new(p2)?;
        agree("dema", &xs, &[&dema(&xs, p2)?], 0.0, |x| s.update_value(x), one)?;
        let mut s = Tema::new(p2)?;
        agree("tema", &xs, &[&tema(&xs, p2)?], 0.0, |x| s.update_value(x), one)?;
        let mut s = Kama::new(p2)?;
        agree("kama", &xs, &[&kama(&xs, p2)?], 0.0, |x| s.update_value(x), one)?;
    }

    #[test]
    fn macd_streams_as_batch(
        xs in prices(),
        fast in 2usize..20,
        slow in 2usize..40,
        signal in 1usize..15,
    ) {
        let m = macd(&xs, fast, slow, signal)?;
        // MACD and its histogram are differences of price-level EMAs.
        let scale = xs.iter().fold(0.0f64, |a, &x| a.max(x.abs()));
        let mut s = Macd::new(fast, slow, signal)?;
        agree(
            "macd",
            &xs,
            &[&m.macd, &m.signal, &m.hist],
            scale,
            |x| s.update_value(x),
            |v| vec![v.macd, v.signal, v.hist],
        )?;
    }

    #[test]
    fn bands_stream_as_batch(
        xs in prices(),
        p in 2usize..40,
        up in -3.0f64..3.0,
        dn in prop_oneof![Just(None), (-3.0f64..3.0).prop_map(Some)],
    ) {
        let dn = dn.unwrap_or(up);
        let b = bbands(&xs, p, up, dn)?;
        let mut s = Bbands::new(p, up, dn)?;
        agree(
            "bbands",
            &xs,
            &[&b.upper, &b.middle, &b.lower],
            0.0,
            |x| s.update_value(x),
            |v| vec![v.upper, v.middle, v.lower],
        )?;
        let mut s = StdDev::new(p, up)?;
        agree("stddev", &xs, &[&stddev(&xs, p, up)?], 0.0, |x| s.update_value(x), one)?;
    }
}
