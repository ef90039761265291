//! RSI: the blocked batch loop and the bar-by-bar core STOCHRSI shares.

use super::super::{Candle, IndicatorError, Streaming};
use super::kit::check_period;

/// `100 · gain / (gain + loss)`; 0 when there has been neither gain nor loss (TA-Lib 0.8.1's
/// answer). Both sums are non-negative, so the zero test is exact.
#[inline(always)]
fn rsi_ratio(gain: f64, loss: f64) -> f64 {
    let total = gain + loss;
    if total > 0.0 {
        100.0 * (gain / total)
    } else {
        0.0
    }
}

/// Gain and loss of one close-to-close change, split without a branch (TA-Lib's split: the loss
/// is `gain − change`, exact for every finite change). `max` rather than a comparison: written
/// as `if change > 0.0`, the compiler may turn it into a real branch, which mispredicts on half
/// of all bars; a `NaN` change still gives a zero gain.
#[inline(always)]
fn split_change(change: f64) -> (f64, f64) {
    let gain = change.max(0.0);
    (gain, gain - change)
}

/// Relative Strength Index (TA-Lib `RSI`): Wilder-smoothed average gain over average gain plus
/// average loss, × 100. TA-Lib convention: the averages are seeded with the plain mean of the
/// first `period` changes, so the first value is at index `period`.
///
/// Why it looks unusual: Wilder's recurrence is a serial dependency chain, and this is the
/// indicator people ask for over long histories, so the steady state runs four bars per step
/// (`avg[i+3] = beta⁴·avg[i−1] + partial sums`), putting one multiply-add on the chain per four
/// bars. The averages are kept unscaled (×`period`), which cancels in the ratio. Results differ
/// from TA-Lib's bar-by-bar arithmetic (which [`Rsi`] keeps) by a few ulps.
pub fn rsi(close: &[f64], period: usize) -> Result<Vec<f64>, IndicatorError> {
    check_period("rsi", "period", period, 2)?;
    let len = close.len();
    if len <= period {
        return Ok(vec![f64::NAN; len]);
    }
    let (mut gain, mut loss) = (0.0, 0.0);
    for i in 1..=period {
        let (g, l) = split_change(close[i] - close[i - 1]);
        gain += g;
        loss += l;
    }
    let beta = (period - 1) as f64 / period as f64;
    let pw = [
        beta,
        beta * beta,
        beta * beta * beta,
        (beta * beta) * (beta * beta),
    ];
    // Warm-up, first value and the bars up to the next multiple of four, bar by bar; the output
    // is built in blocks of four bars.
    let head = (period + 1).next_multiple_of(4).min(len);
    let mut blocks: Vec<[f64; 4]> = Vec::with_capacity(len.div_ceil(4));
    // Blocks before the one holding bar `period` are all warm-up.
    blocks.resize(period / 4, [f64::NAN; 4]);
    let mut block = [f64::NAN; 4];
    for i in period..head {
        if i > period {
            let (g, l) = split_change(close[i] - close[i - 1]);
            gain = gain * beta + g;
            loss = loss * beta + l;
        }
        block[i % 4] = rsi_ratio(gain, loss);
        if i % 4 == 3 {
            blocks.push(block);
        }
    }
    if !head.is_multiple_of(4) {
        // The series ended inside this block.
        let mut out = blocks.into_flattened();
        out.extend_from_slice(&block[..head % 4]);
        return Ok(out);
    }
    // Steady state, whole blocks through an exact-size iterator, which reserves once: the loop
    // makes no calls, and the closure owns its running averages (`move`), so they stay in
    // registers; it only reports them to `last`, for the bars after the last whole block.
    let (now, before) = (&close[head..], &close[head - 1..len - 1]);
    let (now_blocks, now_rest) = now.as_chunks::<4>();
    let (before_blocks, before_rest) = before.as_chunks::<4>();
    let last = std::cell::Cell::new((gain, loss));
    let report = &last;
    blocks.extend(now_blocks.iter().zip(before_blocks).map(move |(x, p)| {
        let mut g = [0.0; 4];
        let mut l = [0.0; 4];
        for k in 0..4 {
            (g[k], l[k]) = split_change(x[k] - p[k]);
        }
        // Partial sums of the block, then the block's averages from the chain value.
        let (mut tg, mut tl) = (0.0, 0.0);
        let mut avg_g = [0.0; 4];
        let mut avg_l = [0.0; 4];
        for k in 0..4 {
            tg = tg * beta + g[k];
            tl = tl * beta + l[k];
            avg_g[k] = gain * pw[k] + tg;
            avg_l[k] = loss * pw[k] + tl;
        }
        let mut rsi = [0.0; 4];
        for k in 0..4 {
            rsi[k] = rsi_ratio(avg_g[k], avg_l[k]);
        }
        gain = avg_g[3];
        loss = avg_l[3];
        report.set((gain, loss));
        rsi
    }));
    let (mut gain, mut loss) = last.get();
    let mut out = blocks.into_flattened();
    for (&x, &p) in now_rest.iter().zip(before_rest) {
        let (g, l) = split_change(x - p);
        gain = gain * beta + g;
        loss = loss * beta + l;
        out.push(rsi_ratio(gain, loss));
    }
    Ok(out)
}

/// Bar-by-bar RSI state, shared by [`Rsi`] and [`stochrsi`], in TA-Lib 0.8.1's exact arithmetic
/// (sums scaled by `1/period`; Wilder step: × (period − 1), add, × 1/period), so its values are
/// TA-Lib's to the last bit — which STOCHRSI needs, as it divides by the RSI's range over a few
/// bars.
#[derive(Debug, Clone)]
pub(super) struct RsiCore {
    period: usize,
    inv: f64,
    prev: Option<f64>,
    seen: usize,
    gain: f64,
    loss: f64,
}

impl RsiCore {
    pub(super) fn new(period: usize) -> Self {
        Self {
            period,
            inv: 1.0 / period as f64,
            prev: None,
            seen: 0,
            gain: 0.0,
            loss: 0.0,
        }
    }

    #[inline(always)]
    pub(super) fn step(&mut self, x: f64) -> Option<f64> {
        let prev = self.prev.replace(x)?;
        let (g, l) = split_change(x - prev);
        if self.seen < self.period {
            self.gain += g;
            self.loss += l;
            self.seen += 1;
            if self.seen < self.period {
                return None;
            }
        } else {
            let n1 = (self.period - 1) as f64;
            self.gain = self.gain * n1 + g;
            self.loss = self.loss * n1 + l;
        }
        self.gain *= self.inv;
        self.loss *= self.inv;
        Some(rsi_ratio(self.gain, self.loss))
    }
}

/// Streaming [`rsi`] over closes: `None` for the first `period` bars.
#[derive(Debug, Clone)]
pub struct Rsi {
    core: RsiCore,
}

impl Rsi {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        check_period("rsi", "period", period, 2)?;
        Ok(Self {
            core: RsiCore::new(period),
        })
    }
}

impl Streaming for Rsi {
    type Output = f64;

    fn update(&mut self, candle: &Candle) -> Option<f64> {
        self.core.step(candle.close)
    }
}
