//! Batch and streaming agree, bar by bar, on random valid bars.

use super::*;

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
