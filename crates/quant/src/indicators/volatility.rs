//! Volatility: Average True Range (ATR) and its normalised form (NATR), with TA-Lib's Wilder
//! smoothing and seeding, so a stop or position size computed from them matches a quant's TA-Lib.
//!
//! [`atr`] is public because other families reuse it (Keltner channels are an EMA ± a multiple of
//! ATR).

use super::momentum::kit::{check_lengths, check_period, param};
use super::registry::period_param;
use super::{
    Candle, Columns, IndicatorError, IndicatorSpec, OutputSpec, ParamSpec, Streaming, stream_store,
};

/// True range of a bar given the previous close: `max(high, prev close) − min(low, prev close)`.
///
/// TA-Lib takes the largest of `high − low`, `|prev close − high|` and `|prev close − low|`. For
/// every bar with `low <= high` the two are the same subtraction of the same two prices, so the
/// same bits (NaNs propagate the same way too); this form is half the work, which matters because
/// ATR over a long history is bound by it. They differ only on malformed bars (`low > high`).
#[inline(always)]
pub(crate) fn true_range(high: f64, low: f64, prev_close: f64) -> f64 {
    let top = if prev_close > high { prev_close } else { high };
    let bottom = if prev_close < low { prev_close } else { low };
    top - bottom
}

/// Wilder's weights as TA-Lib derives them: `beta = (n − 1) / n` first, then `alpha = 1 − beta`
/// (which makes `alpha + beta` exactly 1).
#[inline]
pub(crate) fn wilder_weights(period: usize) -> (f64, f64) {
    let beta = (period - 1) as f64 / period as f64;
    (1.0 - beta, beta)
}

/// The Wilder-smoothed true range `atr[i] = beta·atr[i−1] + alpha·tr[i]` for bars `start..len`
/// from `prev` = `atr[start − 1]`, appended to `out` (which already holds bars `..start`, a
/// multiple of four) in blocks of four and then the last `< 4` bars.
///
/// Why it is shaped like this: the recurrence is one long dependency chain, which TA-Lib's build
/// runs as a fused multiply-add per bar. Here it advances four bars per step on the chain
/// (`atr[i+3] = beta⁴·atr[i−1] + partial sum`): the four true ranges of a step and their partial
/// sums are independent work the CPU overlaps with the previous step, in one pass over the three
/// price columns. Over a long history ATR is bound by reading those columns and writing its
/// output, so the loop must stay lean: the blocks are appended through an exact-size iterator,
/// which reserves once, so the loop holds no reallocation call (around which every constant
/// would have to be saved on the stack), a long column is written with streaming stores that
/// skip reading the output's cache lines first, and the price columns are prefetched 4 KiB
/// ahead ([`stream_store`]). The numbers differ from the bar-by-bar form ([`Atr`])
/// by a few ulps at most: the recurrence is a contraction, so nothing accumulates.
fn atr_extend(
    mut out: Vec<f64>,
    mut prev: f64,
    (high, low, close): (&[f64], &[f64], &[f64]),
    start: usize,
    (alpha, beta): (f64, f64),
) -> Vec<f64> {
    let len = close.len().min(high.len()).min(low.len());
    let b2 = beta * beta;
    let powers = [beta, b2, b2 * beta, b2 * b2];
    let (high, low, prev_close) = (
        &high[start..len],
        &low[start..len],
        &close[start - 1..len - 1],
    );
    let (highs, high_rest) = high.as_chunks::<4>();
    let (lows, low_rest) = low.as_chunks::<4>();
    let (closes, close_rest) = prev_close.as_chunks::<4>();
    let bars = highs.iter().zip(lows).zip(closes).enumerate();
    // `move`: the closure owns its constants and running value, so they stay in registers.
    stream_store::extend_blocks(
        &mut out,
        bars.map(move |(k, ((h, l), c))| {
            let ahead = 4 * k + stream_store::PREFETCH_AHEAD;
            stream_store::prefetch(high, ahead);
            stream_store::prefetch(low, ahead);
            stream_store::prefetch(prev_close, ahead);
            let mut a = [0.0; 4];
            for (j, a) in a.iter_mut().enumerate() {
                *a = alpha * true_range(h[j], l[j], c[j]);
            }
            let t0 = a[0];
            let t1 = t0 * beta + a[1];
            let t2 = t1 * beta + a[2];
            let t3 = t2 * beta + a[3];
            let y = [
                prev * powers[0] + t0,
                prev * powers[1] + t1,
                prev * powers[2] + t2,
                prev * powers[3] + t3,
            ];
            prev = y[3];
            y
        }),
    );
    if let Some(&last) = out.last() {
        prev = last;
    }
    for ((&h, &l), &c) in high_rest.iter().zip(low_rest).zip(close_rest) {
        prev = prev * beta + alpha * true_range(h, l, c);
        out.push(prev);
    }
    out
}

/// Average True Range (TA-Lib `ATR`): Wilder smoothing of the true range, seeded with the simple
/// average of the first `period` true ranges. TA-Lib convention: first value at index `period`
/// (the first bar has no previous close); `period` 1 is the raw true range.
///
/// Returns one value per bar, `NaN` during warm-up.
pub fn atr(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: usize,
) -> Result<Vec<f64>, IndicatorError> {
    check_period("atr", "period", period, 1)?;
    let len = check_lengths("atr", &[high.len(), low.len(), close.len()])?;
    Ok(atr_unchecked(high, low, close, period, len))
}

fn atr_unchecked(high: &[f64], low: &[f64], close: &[f64], period: usize, len: usize) -> Vec<f64> {
    if len <= period {
        return vec![f64::NAN; len];
    }
    let (high, low, close) = (&high[..len], &low[..len], &close[..len]);
    let (alpha, beta) = wilder_weights(period);
    let mut sum = 0.0;
    for i in 1..=period {
        sum += true_range(high[i], low[i], close[i - 1]);
    }
    let mut prev = sum / period as f64;
    // Warm-up, seed and the bars up to the next multiple of four, bar by bar.
    let head = (period + 1).next_multiple_of(4).min(len);
    let mut out: Vec<f64> = Vec::with_capacity(len);
    for i in 0..head {
        if i == period {
            out.push(prev);
        } else if i > period {
            prev = prev * beta + alpha * true_range(high[i], low[i], close[i - 1]);
            out.push(prev);
        } else {
            out.push(f64::NAN);
        }
    }
    if !head.is_multiple_of(4) {
        // The whole series ended inside the first block.
        return out;
    }
    atr_extend(out, prev, (high, low, close), head, (alpha, beta))
}

/// Normalised ATR (TA-Lib `NATR`): `ATR / close × 100`, 0 where the close is exactly 0. TA-Lib
/// convention: same warm-up as ATR, and — a TA-Lib quirk kept on purpose — `period` 1 returns the
/// raw true range, *not* normalised.
pub fn natr(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: usize,
) -> Result<Vec<f64>, IndicatorError> {
    check_period("natr", "period", period, 1)?;
    let len = check_lengths("natr", &[high.len(), low.len(), close.len()])?;
    let mut out = atr_unchecked(high, low, close, period, len);
    if period > 1 && len > period {
        for (v, &c) in out[period..].iter_mut().zip(&close[period..len]) {
            *v = normalise(*v, c);
        }
    }
    Ok(out)
}

#[inline(always)]
fn normalise(atr: f64, close: f64) -> f64 {
    if close != 0.0 {
        (atr / close) * 100.0
    } else {
        0.0
    }
}

/// Streaming [`atr`]: `None` for the first `period` bars, then the ATR after each bar.
#[derive(Debug, Clone)]
pub struct Atr {
    period: usize,
    alpha: f64,
    beta: f64,
    prev_close: Option<f64>,
    seen: usize,
    sum: f64,
    value: f64,
}

impl Atr {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        check_period("atr", "period", period, 1)?;
        let (alpha, beta) = wilder_weights(period);
        Ok(Self {
            period,
            alpha,
            beta,
            prev_close: None,
            seen: 0,
            sum: 0.0,
            value: f64::NAN,
        })
    }
}

impl Streaming for Atr {
    type Output = f64;

    fn update(&mut self, candle: &Candle) -> Option<f64> {
        let prev_close = self.prev_close.replace(candle.close)?;
        let tr = true_range(candle.high, candle.low, prev_close);
        if self.seen < self.period {
            self.sum += tr;
            self.seen += 1;
            if self.seen < self.period {
                return None;
            }
            self.value = self.sum / self.period as f64;
        } else {
            self.value = self.value * self.beta + self.alpha * tr;
        }
        Some(self.value)
    }
}

/// Streaming [`natr`].
#[derive(Debug, Clone)]
pub struct Natr {
    atr: Atr,
}

impl Natr {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        check_period("natr", "period", period, 1)?;
        Ok(Self {
            atr: Atr::new(period)?,
        })
    }
}

impl Streaming for Natr {
    type Output = f64;

    fn update(&mut self, candle: &Candle) -> Option<f64> {
        let atr = self.atr.update(candle)?;
        Some(if self.atr.period > 1 {
            normalise(atr, candle.close)
        } else {
            atr
        })
    }
}

fn atr_batch(cols: &Columns<'_>, params: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let period = period_param("atr", "period", param(params, 0, 14.0), 1)?;
    Ok(vec![atr(cols.high, cols.low, cols.close, period)?])
}

fn natr_batch(cols: &Columns<'_>, params: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let period = period_param("natr", "period", param(params, 0, 14.0), 1)?;
    Ok(vec![natr(cols.high, cols.low, cols.close, period)?])
}

/// Catalogue entries of this family.
pub(crate) fn specs() -> Vec<IndicatorSpec> {
    vec![
        IndicatorSpec {
            name: "atr",
            description: "Average True Range (TA-Lib ATR): Wilder-smoothed true range, seeded with \
                          the mean of the first `period` true ranges; in price units",
            params: vec![ParamSpec {
                name: "period",
                default: 14.0,
                description: "smoothing period in bars (>= 1)",
            }],
            outputs: vec![OutputSpec { name: "atr" }],
            batch: atr_batch,
        },
        IndicatorSpec {
            name: "natr",
            description: "Normalized ATR (TA-Lib NATR): ATR / close x 100, in percent of price \
                          (period 1 returns the raw true range, as TA-Lib does)",
            params: vec![ParamSpec {
                name: "period",
                default: 14.0,
                description: "smoothing period in bars (>= 1)",
            }],
            outputs: vec![OutputSpec { name: "natr" }],
            batch: natr_batch,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A column long enough for streaming stores gives the streaming struct's values.
    #[test]
    fn long_batch_matches_streaming() {
        let n = 3 * super::stream_store::STREAM_MIN / 2 + 3;
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let (mut high, mut low, mut close) = (vec![], vec![], vec![]);
        let mut price = 100.0;
        for _ in 0..n {
            let c: f64 = price * (1.0 + (next() - 0.5) * 0.04);
            high.push(price.max(c) * (1.0 + next() * 0.01));
            low.push(price.min(c) * (1.0 - next() * 0.01));
            close.push(c);
            price = c;
        }
        let batch = atr(&high, &low, &close, 14).expect("valid period");
        assert_eq!(batch.len(), n);
        let mut stream = Atr::new(14).expect("valid period");
        for (i, b) in batch.iter().enumerate() {
            let candle = Candle {
                high: high[i],
                low: low[i],
                close: close[i],
                ..Candle::default()
            };
            match stream.update(&candle) {
                None => assert!(b.is_nan(), "bar {i}"),
                Some(s) => assert!((s - b).abs() <= 1e-12 * s.abs(), "bar {i}: {s} vs {b}"),
            }
        }
    }
}
