//! Momentum oscillators — RSI, stochastics, ADX with ±DI, CCI, Williams %R, MFI, ROC and
//! momentum — with TA-Lib's definitions, warm-up and degenerate-case answers, so a signal
//! QuantDesk reports is the signal a quant's TA-Lib reports.
//!
//! Most indicators here are written once, as a small state machine (`*Core`) that both the batch
//! function and the streaming struct drive, so the two forms agree bit for bit. RSI's batch form
//! is the exception: it is the speed-critical one and runs a blocked loop (see [`rsi`]).
//!
//! TA-Lib's flatness tests are reproduced as TA-Lib 0.8.1 has them: a range or deviation is
//! "zero" when it is within 1e-14 of the prices it was computed from (scale-aware, so an
//! instrument quoted at 0.0001 is not mistaken for a flat one), and sums of magnitudes are
//! tested exactly.

use super::registry::period_param;
use super::volatility::true_range;
use super::{Candle, Columns, IndicatorError, IndicatorSpec, OutputSpec, ParamSpec, Streaming};
use kit::{Extremes, Lag, RunningSma, check_lengths, check_period, is_zero, is_zero_scaled, param};

// ---------------------------------------------------------------------------------------------
// RSI
// ---------------------------------------------------------------------------------------------

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
struct RsiCore {
    period: usize,
    inv: f64,
    prev: Option<f64>,
    seen: usize,
    gain: f64,
    loss: f64,
}

impl RsiCore {
    fn new(period: usize) -> Self {
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
    fn step(&mut self, x: f64) -> Option<f64> {
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

// ---------------------------------------------------------------------------------------------
// Stochastics
// ---------------------------------------------------------------------------------------------

/// Fast %K as TA-Lib 0.8.1 computes it: `(close − lowest) / (highest − lowest) × 100`, 0 when
/// the window is flat relative to its own prices. (Older TA-Lib divided by `range / 100`; the
/// order matters to the last bit, and the SMA of %K keeps TA-Lib's rounding only if %K does.)
#[inline(always)]
fn fast_k(close: f64, highest: f64, lowest: f64) -> f64 {
    let range = highest - lowest;
    if is_zero_scaled(range, highest.abs() + lowest.abs()) {
        0.0
    } else {
        (close - lowest) / range * 100.0
    }
}

#[derive(Debug, Clone)]
struct StochCore {
    window: Extremes,
    slow_k: RunningSma,
    slow_d: RunningSma,
}

impl StochCore {
    fn new(fastk: usize, slowk: usize, slowd: usize) -> Self {
        Self {
            window: Extremes::new(fastk),
            slow_k: RunningSma::new(slowk),
            slow_d: RunningSma::new(slowd),
        }
    }

    #[inline(always)]
    fn step(&mut self, high: f64, low: f64, close: f64) -> Option<(f64, f64)> {
        let (highest, lowest) = self.window.push(high, low)?;
        let k = self.slow_k.push(fast_k(close, highest, lowest))?;
        let d = self.slow_d.push(k)?;
        Some((k, d))
    }
}

fn check_stoch(fastk: usize, slowk: usize, slowd: usize) -> Result<(), IndicatorError> {
    check_period("stoch", "fastk_period", fastk, 1)?;
    check_period("stoch", "slowk_period", slowk, 1)?;
    check_period("stoch", "slowd_period", slowd, 1)?;
    Ok(())
}

/// Slow stochastic (TA-Lib `STOCH` with SMA smoothing): fast %K over `fastk` bars, smoothed by an
/// SMA of `slowk` into %K, and %K smoothed by an SMA of `slowd` into %D. TA-Lib convention: both
/// outputs start together at index `fastk + slowk + slowd − 3` (TA-Lib trims %K to %D's start).
///
/// Returns `(k, d)`.
pub fn stoch(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    fastk: usize,
    slowk: usize,
    slowd: usize,
) -> Result<(Vec<f64>, Vec<f64>), IndicatorError> {
    check_stoch(fastk, slowk, slowd)?;
    let len = check_lengths("stoch", &[high.len(), low.len(), close.len()])?;
    let mut core = StochCore::new(fastk, slowk, slowd);
    let mut k = Vec::with_capacity(len);
    let mut d = Vec::with_capacity(len);
    for i in 0..len {
        let (kv, dv) = core
            .step(high[i], low[i], close[i])
            .unwrap_or((f64::NAN, f64::NAN));
        k.push(kv);
        d.push(dv);
    }
    Ok((k, d))
}

/// Streaming [`stoch`]: `(k, d)` once both exist.
#[derive(Debug, Clone)]
pub struct Stoch {
    core: StochCore,
}

impl Stoch {
    pub fn new(fastk: usize, slowk: usize, slowd: usize) -> Result<Self, IndicatorError> {
        check_stoch(fastk, slowk, slowd)?;
        Ok(Self {
            core: StochCore::new(fastk, slowk, slowd),
        })
    }
}

impl Streaming for Stoch {
    type Output = (f64, f64);

    fn update(&mut self, candle: &Candle) -> Option<(f64, f64)> {
        self.core.step(candle.high, candle.low, candle.close)
    }
}

#[derive(Debug, Clone)]
struct StochRsiCore {
    rsi: RsiCore,
    window: Extremes,
    fast_d: RunningSma,
}

impl StochRsiCore {
    fn new(period: usize, fastk: usize, fastd: usize) -> Self {
        Self {
            rsi: RsiCore::new(period),
            window: Extremes::new(fastk),
            fast_d: RunningSma::new(fastd),
        }
    }

    #[inline(always)]
    fn step(&mut self, close: f64) -> Option<(f64, f64)> {
        let rsi = self.rsi.step(close)?;
        let (highest, lowest) = self.window.push(rsi, rsi)?;
        let k = fast_k(rsi, highest, lowest);
        let d = self.fast_d.push(k)?;
        Some((k, d))
    }
}

fn check_stochrsi(period: usize, fastk: usize, fastd: usize) -> Result<(), IndicatorError> {
    check_period("stochrsi", "period", period, 2)?;
    check_period("stochrsi", "fastk_period", fastk, 1)?;
    check_period("stochrsi", "fastd_period", fastd, 1)?;
    Ok(())
}

/// Stochastic RSI (TA-Lib `STOCHRSI` with SMA %D): TA-Lib's *fast* stochastic (`STOCHF`) applied
/// to RSI(`period`) — fast %K over `fastk` RSI values, %D an SMA of `fastd` of it. TA-Lib
/// convention: both outputs start at index `period + fastk + fastd − 2`.
///
/// Returns `(k, d)`. Bar-by-bar like [`StochRsi`] (not [`rsi`]'s blocked loop): %K divides by
/// the RSI's range over a few bars, which would magnify the blocked loop's ulps.
pub fn stochrsi(
    close: &[f64],
    period: usize,
    fastk: usize,
    fastd: usize,
) -> Result<(Vec<f64>, Vec<f64>), IndicatorError> {
    check_stochrsi(period, fastk, fastd)?;
    let mut core = StochRsiCore::new(period, fastk, fastd);
    let mut k = Vec::with_capacity(close.len());
    let mut d = Vec::with_capacity(close.len());
    for &c in close {
        let (kv, dv) = core.step(c).unwrap_or((f64::NAN, f64::NAN));
        k.push(kv);
        d.push(dv);
    }
    Ok((k, d))
}

/// Streaming [`stochrsi`] over closes: `(k, d)` once both exist.
#[derive(Debug, Clone)]
pub struct StochRsi {
    core: StochRsiCore,
}

impl StochRsi {
    pub fn new(period: usize, fastk: usize, fastd: usize) -> Result<Self, IndicatorError> {
        check_stochrsi(period, fastk, fastd)?;
        Ok(Self {
            core: StochRsiCore::new(period, fastk, fastd),
        })
    }
}

impl Streaming for StochRsi {
    type Output = (f64, f64);

    fn update(&mut self, candle: &Candle) -> Option<(f64, f64)> {
        self.core.step(candle.close)
    }
}

// ---------------------------------------------------------------------------------------------
// ADX, +DI, -DI
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct AdxCore {
    period: usize,
    alpha: f64,
    beta: f64,
    prev: Option<(f64, f64, f64)>,
    bars: usize,
    plus_dm: f64,
    minus_dm: f64,
    tr: f64,
    sum_dx: f64,
    adx: f64,
}

impl AdxCore {
    fn new(period: usize) -> Self {
        let beta = (period - 1) as f64 / period as f64;
        Self {
            period,
            alpha: 1.0 - beta,
            beta,
            prev: None,
            bars: 0,
            plus_dm: 0.0,
            minus_dm: 0.0,
            tr: 0.0,
            sum_dx: 0.0,
            adx: f64::NAN,
        }
    }

    /// `(adx, plus_di, minus_di)`; `adx` is `NaN` until its own, longer warm-up is over.
    #[inline(always)]
    fn step(&mut self, high: f64, low: f64, close: f64) -> Option<(f64, f64, f64)> {
        let (prev_high, prev_low, prev_close) = self.prev.replace((high, low, close))?;
        self.bars += 1;
        let diff_p = high - prev_high;
        let diff_m = prev_low - low;
        // The larger move outside yesterday's range counts; a tie counts for neither.
        let plus1 = if diff_p > 0.0 && diff_p > diff_m {
            diff_p
        } else {
            0.0
        };
        let minus1 = if diff_m > 0.0 && diff_m > diff_p {
            diff_m
        } else {
            0.0
        };
        let tr1 = true_range(high, low, prev_close);
        let n = self.period;
        if self.bars < n {
            self.plus_dm += plus1;
            self.minus_dm += minus1;
            self.tr += tr1;
            return None;
        }
        self.plus_dm = self.plus_dm * self.beta + plus1;
        self.minus_dm = self.minus_dm * self.beta + minus1;
        self.tr = self.tr * self.beta + tr1;
        // The true-range sum is non-negative and only ever added to: test it exactly. The DIs
        // are ratios, so TA-Lib's fixed band on their sum is scale-free and kept.
        let (plus_di, minus_di, dx) = if self.tr > 0.0 {
            let minus_di = 100.0 * (self.minus_dm / self.tr);
            let plus_di = 100.0 * (self.plus_dm / self.tr);
            let sum = minus_di + plus_di;
            let dx = if is_zero(sum) {
                None
            } else {
                Some(100.0 * ((minus_di - plus_di).abs() / sum))
            };
            (plus_di, minus_di, dx)
        } else {
            (0.0, 0.0, None)
        };
        let first_adx = 2 * n - 1;
        if self.bars <= first_adx {
            if let Some(dx) = dx {
                self.sum_dx += dx;
            }
            if self.bars == first_adx {
                self.adx = self.sum_dx / n as f64;
            }
        } else if let Some(dx) = dx {
            self.adx = self.adx * self.beta + dx * self.alpha;
        }
        Some((self.adx, plus_di, minus_di))
    }
}

/// The three lines of [`adx`], each as long as the input, `NaN` during its own warm-up.
#[derive(Debug, Clone, PartialEq)]
pub struct AdxSeries {
    pub adx: Vec<f64>,
    pub plus_di: Vec<f64>,
    pub minus_di: Vec<f64>,
}

/// Average Directional Index with the directional indicators (TA-Lib `ADX`, `PLUS_DI`,
/// `MINUS_DI`): Wilder sums of +DM, −DM and true range; DI = 100·DM/TR; DX =
/// 100·|+DI − −DI|/(+DI + −DI); ADX = Wilder average of DX seeded with the mean of the first
/// `period` DX. TA-Lib convention: ±DI start at index `period`, ADX at `2·period − 1`.
///
/// Each line has its own warm-up.
pub fn adx(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: usize,
) -> Result<AdxSeries, IndicatorError> {
    check_period("adx", "period", period, 2)?;
    let len = check_lengths("adx", &[high.len(), low.len(), close.len()])?;
    let mut core = AdxCore::new(period);
    let mut adx = Vec::with_capacity(len);
    let mut plus = Vec::with_capacity(len);
    let mut minus = Vec::with_capacity(len);
    for i in 0..len {
        let (a, p, m) =
            core.step(high[i], low[i], close[i])
                .unwrap_or((f64::NAN, f64::NAN, f64::NAN));
        adx.push(a);
        plus.push(p);
        minus.push(m);
    }
    Ok(AdxSeries {
        adx,
        plus_di: plus,
        minus_di: minus,
    })
}

/// Streaming [`adx`]: `(adx, plus_di, minus_di)` from bar `period` on, with `adx` `NaN` until
/// bar `2·period − 1` — the same rows the batch form gives.
#[derive(Debug, Clone)]
pub struct Adx {
    core: AdxCore,
}

impl Adx {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        check_period("adx", "period", period, 2)?;
        Ok(Self {
            core: AdxCore::new(period),
        })
    }
}

impl Streaming for Adx {
    type Output = (f64, f64, f64);

    fn update(&mut self, candle: &Candle) -> Option<(f64, f64, f64)> {
        self.core.step(candle.high, candle.low, candle.close)
    }
}

// ---------------------------------------------------------------------------------------------
// CCI
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct CciCore {
    ring: Vec<f64>,
    pos: usize,
    filled: usize,
}

impl CciCore {
    fn new(period: usize) -> Self {
        Self {
            ring: vec![0.0; period],
            pos: 0,
            filled: 0,
        }
    }

    #[inline(always)]
    fn step(&mut self, high: f64, low: f64, close: f64) -> Option<f64> {
        let n = self.ring.len();
        let tp = (high + low + close) / 3.0;
        if let Some(slot) = self.ring.get_mut(self.pos) {
            *slot = tp;
        }
        self.pos += 1;
        if self.pos == n {
            self.pos = 0;
        }
        if self.filled < n {
            self.filled += 1;
            if self.filled < n {
                return None;
            }
        }
        // Summed in ring-slot order, as TA-Lib's circular buffer is.
        let mut sum = 0.0;
        for &v in &self.ring {
            sum += v;
        }
        let average = sum / n as f64;
        let mut dev_sum = 0.0;
        for &v in &self.ring {
            dev_sum += (v - average).abs();
        }
        let mean_dev = dev_sum / n as f64;
        let dev = tp - average;
        let scale = average.abs();
        Some(
            if is_zero_scaled(dev, scale) || is_zero_scaled(mean_dev, scale) {
                0.0
            } else {
                dev / (0.015 * mean_dev)
            },
        )
    }
}

/// Commodity Channel Index (TA-Lib `CCI`): (typical price − its SMA) / (0.015 × mean absolute
/// deviation), typical price = (high + low + close) / 3. TA-Lib convention: first value at index
/// `period − 1`; 0 for a window flat relative to its price level.
pub fn cci(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: usize,
) -> Result<Vec<f64>, IndicatorError> {
    check_period("cci", "period", period, 2)?;
    let len = check_lengths("cci", &[high.len(), low.len(), close.len()])?;
    let mut core = CciCore::new(period);
    Ok((0..len)
        .map(|i| core.step(high[i], low[i], close[i]).unwrap_or(f64::NAN))
        .collect())
}

/// Streaming [`cci`].
#[derive(Debug, Clone)]
pub struct Cci {
    core: CciCore,
}

impl Cci {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        check_period("cci", "period", period, 2)?;
        Ok(Self {
            core: CciCore::new(period),
        })
    }
}

impl Streaming for Cci {
    type Output = f64;

    fn update(&mut self, candle: &Candle) -> Option<f64> {
        self.core.step(candle.high, candle.low, candle.close)
    }
}

// ---------------------------------------------------------------------------------------------
// Williams %R
// ---------------------------------------------------------------------------------------------

#[inline(always)]
fn williams_r(close: f64, highest: f64, lowest: f64) -> f64 {
    let range = highest - lowest;
    if is_zero_scaled(range, highest.abs() + lowest.abs()) {
        0.0
    } else {
        (highest - close) / range * -100.0
    }
}

/// Williams %R (TA-Lib `WILLR`): −100 · (highest high − close) / (highest high − lowest low) over
/// `period` bars, from −100 (at the low) to 0 (at the high). TA-Lib convention: first value at
/// index `period − 1`; 0 for a flat window.
pub fn willr(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: usize,
) -> Result<Vec<f64>, IndicatorError> {
    check_period("willr", "period", period, 2)?;
    let len = check_lengths("willr", &[high.len(), low.len(), close.len()])?;
    let mut window = Extremes::new(period);
    Ok((0..len)
        .map(|i| match window.push(high[i], low[i]) {
            Some((highest, lowest)) => williams_r(close[i], highest, lowest),
            None => f64::NAN,
        })
        .collect())
}

/// Streaming [`willr`].
#[derive(Debug, Clone)]
pub struct WillR {
    window: Extremes,
}

impl WillR {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        check_period("willr", "period", period, 2)?;
        Ok(Self {
            window: Extremes::new(period),
        })
    }
}

impl Streaming for WillR {
    type Output = f64;

    fn update(&mut self, candle: &Candle) -> Option<f64> {
        let (highest, lowest) = self.window.push(candle.high, candle.low)?;
        Some(williams_r(candle.close, highest, lowest))
    }
}

// ---------------------------------------------------------------------------------------------
// MFI
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct MfiCore {
    period: usize,
    pos_ring: Vec<f64>,
    neg_ring: Vec<f64>,
    idx: usize,
    prev_tp: Option<f64>,
    seen: usize,
    pos_sum: f64,
    neg_sum: f64,
    null_run: usize,
}

impl MfiCore {
    fn new(period: usize) -> Self {
        Self {
            period,
            pos_ring: vec![0.0; period],
            neg_ring: vec![0.0; period],
            idx: 0,
            prev_tp: None,
            seen: 0,
            pos_sum: 0.0,
            neg_sum: 0.0,
            null_run: 0,
        }
    }

    #[inline(always)]
    fn step(&mut self, high: f64, low: f64, close: f64, volume: f64) -> Option<f64> {
        let tp = (high + low + close) / 3.0;
        let prev_tp = self.prev_tp.replace(tp)?;
        let warm = self.seen >= self.period;
        if warm {
            // The flow leaving the window (the ring slot about to be overwritten).
            self.pos_sum -= self.pos_ring.get(self.idx).copied().unwrap_or(0.0);
            self.neg_sum -= self.neg_ring.get(self.idx).copied().unwrap_or(0.0);
        }
        let change = tp - prev_tp;
        // A typical price within ~90 ulps of the previous one is "no movement" (TA-Lib #107).
        let flow = if is_zero_scaled(change, tp.abs() + prev_tp.abs()) {
            0.0
        } else {
            tp * volume
        };
        let (pos, neg) = if change < 0.0 {
            (0.0, flow)
        } else {
            (flow, 0.0)
        };
        if let Some(slot) = self.pos_ring.get_mut(self.idx) {
            *slot = pos;
        }
        if let Some(slot) = self.neg_ring.get_mut(self.idx) {
            *slot = neg;
        }
        self.pos_sum += pos;
        self.neg_sum += neg;
        // A whole window without flow leaves exact zeros in the ring: drop the sums' residue.
        self.null_run = if flow == 0.0 { self.null_run + 1 } else { 0 };
        if self.null_run >= self.period {
            self.null_run = self.period;
            self.pos_sum = 0.0;
            self.neg_sum = 0.0;
        }
        self.idx += 1;
        if self.idx == self.period {
            self.idx = 0;
        }
        if !warm {
            self.seen += 1;
            if self.seen < self.period {
                return None;
            }
        }
        let total = self.pos_sum + self.neg_sum;
        // Clamped into [0, total]: the running sums drift by ulps as the window slides.
        let pos = if self.pos_sum < 0.0 {
            0.0
        } else if self.pos_sum > total {
            total
        } else {
            self.pos_sum
        };
        Some(if total <= 0.0 {
            0.0
        } else {
            100.0 * (pos / total)
        })
    }
}

/// Money Flow Index (TA-Lib `MFI`): RSI-like ratio of positive to total money flow (typical price
/// × volume, signed by the typical price's change) over `period` bars, × 100. TA-Lib convention:
/// first value at index `period`; an unchanged typical price carries no flow; 0 when the window
/// has no flow at all.
pub fn mfi(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    volume: &[f64],
    period: usize,
) -> Result<Vec<f64>, IndicatorError> {
    check_period("mfi", "period", period, 2)?;
    let len = check_lengths("mfi", &[high.len(), low.len(), close.len(), volume.len()])?;
    let mut core = MfiCore::new(period);
    Ok((0..len)
        .map(|i| {
            core.step(high[i], low[i], close[i], volume[i])
                .unwrap_or(f64::NAN)
        })
        .collect())
}

/// Streaming [`mfi`].
#[derive(Debug, Clone)]
pub struct Mfi {
    core: MfiCore,
}

impl Mfi {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        check_period("mfi", "period", period, 2)?;
        Ok(Self {
            core: MfiCore::new(period),
        })
    }
}

impl Streaming for Mfi {
    type Output = f64;

    fn update(&mut self, candle: &Candle) -> Option<f64> {
        self.core
            .step(candle.high, candle.low, candle.close, candle.volume)
    }
}

// ---------------------------------------------------------------------------------------------
// ROC and MOM
// ---------------------------------------------------------------------------------------------

#[inline(always)]
fn rate_of_change(now: f64, then: f64) -> f64 {
    if then != 0.0 {
        (now / then - 1.0) * 100.0
    } else {
        0.0
    }
}

/// Rate of change (TA-Lib `ROC`): `(close / close[period bars ago] − 1) × 100`, in percent.
/// TA-Lib convention: first value at index `period`; 0 where the old close is exactly 0.
pub fn roc(close: &[f64], period: usize) -> Result<Vec<f64>, IndicatorError> {
    check_period("roc", "period", period, 1)?;
    Ok(lagged(close, period, rate_of_change))
}

/// Momentum (TA-Lib `MOM`): `close − close[period bars ago]`, in price units. TA-Lib
/// convention: first value at index `period`.
pub fn mom(close: &[f64], period: usize) -> Result<Vec<f64>, IndicatorError> {
    check_period("mom", "period", period, 1)?;
    Ok(lagged(close, period, |now, then| now - then))
}

fn lagged(close: &[f64], period: usize, f: impl Fn(f64, f64) -> f64) -> Vec<f64> {
    let len = close.len();
    let mut out = Vec::with_capacity(len);
    out.resize(period.min(len), f64::NAN);
    for i in period..len {
        out.push(f(close[i], close[i - period]));
    }
    out
}

/// Streaming [`roc`].
#[derive(Debug, Clone)]
pub struct Roc {
    lag: Lag,
}

impl Roc {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        check_period("roc", "period", period, 1)?;
        Ok(Self {
            lag: Lag::new(period),
        })
    }
}

impl Streaming for Roc {
    type Output = f64;

    fn update(&mut self, candle: &Candle) -> Option<f64> {
        let then = self.lag.push(candle.close)?;
        Some(rate_of_change(candle.close, then))
    }
}

/// Streaming [`mom`].
#[derive(Debug, Clone)]
pub struct Mom {
    lag: Lag,
}

impl Mom {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        check_period("mom", "period", period, 1)?;
        Ok(Self {
            lag: Lag::new(period),
        })
    }
}

impl Streaming for Mom {
    type Output = f64;

    fn update(&mut self, candle: &Candle) -> Option<f64> {
        let then = self.lag.push(candle.close)?;
        Some(candle.close - then)
    }
}

// ---------------------------------------------------------------------------------------------
// Catalogue
// ---------------------------------------------------------------------------------------------

fn rsi_batch(cols: &Columns<'_>, params: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let period = period_param("rsi", "period", param(params, 0, 14.0), 2)?;
    Ok(vec![rsi(cols.close, period)?])
}

fn stoch_batch(cols: &Columns<'_>, params: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let fastk = period_param("stoch", "fastk_period", param(params, 0, 14.0), 1)?;
    let slowk = period_param("stoch", "slowk_period", param(params, 1, 3.0), 1)?;
    let slowd = period_param("stoch", "slowd_period", param(params, 2, 3.0), 1)?;
    let (k, d) = stoch(cols.high, cols.low, cols.close, fastk, slowk, slowd)?;
    Ok(vec![k, d])
}

fn stochrsi_batch(cols: &Columns<'_>, params: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let period = period_param("stochrsi", "period", param(params, 0, 14.0), 2)?;
    let fastk = period_param("stochrsi", "fastk_period", param(params, 1, 5.0), 1)?;
    let fastd = period_param("stochrsi", "fastd_period", param(params, 2, 3.0), 1)?;
    let (k, d) = stochrsi(cols.close, period, fastk, fastd)?;
    Ok(vec![k, d])
}

fn adx_batch(cols: &Columns<'_>, params: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let period = period_param("adx", "period", param(params, 0, 14.0), 2)?;
    let AdxSeries {
        adx,
        plus_di,
        minus_di,
    } = adx(cols.high, cols.low, cols.close, period)?;
    Ok(vec![adx, plus_di, minus_di])
}

fn cci_batch(cols: &Columns<'_>, params: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let period = period_param("cci", "period", param(params, 0, 14.0), 2)?;
    Ok(vec![cci(cols.high, cols.low, cols.close, period)?])
}

fn willr_batch(cols: &Columns<'_>, params: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let period = period_param("willr", "period", param(params, 0, 14.0), 2)?;
    Ok(vec![willr(cols.high, cols.low, cols.close, period)?])
}

fn mfi_batch(cols: &Columns<'_>, params: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let period = period_param("mfi", "period", param(params, 0, 14.0), 2)?;
    Ok(vec![mfi(
        cols.high,
        cols.low,
        cols.close,
        cols.volume,
        period,
    )?])
}

fn roc_batch(cols: &Columns<'_>, params: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let period = period_param("roc", "period", param(params, 0, 10.0), 1)?;
    Ok(vec![roc(cols.close, period)?])
}

fn mom_batch(cols: &Columns<'_>, params: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let period = period_param("mom", "period", param(params, 0, 10.0), 1)?;
    Ok(vec![mom(cols.close, period)?])
}

fn period_spec(default: f64, description: &'static str) -> Vec<ParamSpec> {
    vec![ParamSpec {
        name: "period",
        default,
        description,
    }]
}

/// Catalogue entries of this family.
pub(crate) fn specs() -> Vec<IndicatorSpec> {
    vec![
        IndicatorSpec {
            name: "rsi",
            description: "Relative Strength Index (TA-Lib RSI, Wilder smoothing), 0-100; above 70 \
                          is commonly read as overbought, below 30 as oversold",
            params: period_spec(14.0, "lookback in bars (>= 2)"),
            outputs: vec![OutputSpec { name: "rsi" }],
            batch: rsi_batch,
        },
        IndicatorSpec {
            name: "stoch",
            description: "Slow stochastic oscillator (TA-Lib STOCH, SMA smoothing), 0-100: %K = \
                          SMA of fast %K, %D = SMA of %K",
            params: vec![
                ParamSpec {
                    name: "fastk_period",
                    default: 14.0,
                    description: "bars for the highest high / lowest low of fast %K (>= 1)",
                },
                ParamSpec {
                    name: "slowk_period",
                    default: 3.0,
                    description: "SMA period smoothing fast %K into %K (>= 1)",
                },
                ParamSpec {
                    name: "slowd_period",
                    default: 3.0,
                    description: "SMA period smoothing %K into %D (>= 1)",
                },
            ],
            outputs: vec![OutputSpec { name: "k" }, OutputSpec { name: "d" }],
            batch: stoch_batch,
        },
        IndicatorSpec {
            name: "stochrsi",
            description: "Stochastic RSI (TA-Lib STOCHRSI, SMA %D): the fast stochastic of RSI, \
                          0-100",
            params: vec![
                ParamSpec {
                    name: "period",
                    default: 14.0,
                    description: "RSI period (>= 2)",
                },
                ParamSpec {
                    name: "fastk_period",
                    default: 5.0,
                    description: "RSI values in the %K window (>= 1)",
                },
                ParamSpec {
                    name: "fastd_period",
                    default: 3.0,
                    description: "SMA period smoothing %K into %D (>= 1)",
                },
            ],
            outputs: vec![OutputSpec { name: "k" }, OutputSpec { name: "d" }],
            batch: stochrsi_batch,
        },
        IndicatorSpec {
            name: "adx",
            description: "Average Directional Index with +DI and -DI (TA-Lib ADX, PLUS_DI, \
                          MINUS_DI), 0-100: ADX measures trend strength, the DIs its direction",
            params: period_spec(14.0, "Wilder smoothing period (>= 2)"),
            outputs: vec![
                OutputSpec { name: "adx" },
                OutputSpec { name: "plus_di" },
                OutputSpec { name: "minus_di" },
            ],
            batch: adx_batch,
        },
        IndicatorSpec {
            name: "cci",
            description: "Commodity Channel Index (TA-Lib CCI): typical price's distance from its \
                          SMA in units of 0.015 x mean deviation; beyond +/-100 is unusual",
            params: period_spec(14.0, "lookback in bars (>= 2)"),
            outputs: vec![OutputSpec { name: "cci" }],
            batch: cci_batch,
        },
        IndicatorSpec {
            name: "willr",
            description: "Williams %R (TA-Lib WILLR), -100 (close at the period low) to 0 (at \
                          the high)",
            params: period_spec(14.0, "lookback in bars (>= 2)"),
            outputs: vec![OutputSpec { name: "willr" }],
            batch: willr_batch,
        },
        IndicatorSpec {
            name: "mfi",
            description: "Money Flow Index (TA-Lib MFI): volume-weighted RSI of the typical \
                          price, 0-100",
            params: period_spec(14.0, "lookback in bars (>= 2)"),
            outputs: vec![OutputSpec { name: "mfi" }],
            batch: mfi_batch,
        },
        IndicatorSpec {
            name: "roc",
            description: "Rate of change (TA-Lib ROC): percent change of the close over `period` \
                          bars",
            params: period_spec(10.0, "lookback in bars (>= 1)"),
            outputs: vec![OutputSpec { name: "roc" }],
            batch: roc_batch,
        },
        IndicatorSpec {
            name: "mom",
            description: "Momentum (TA-Lib MOM): change of the close over `period` bars, in \
                          price units",
            params: period_spec(10.0, "lookback in bars (>= 1)"),
            outputs: vec![OutputSpec { name: "mom" }],
            batch: mom_batch,
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// Shared building blocks of the momentum, volume and volatility families
// ---------------------------------------------------------------------------------------------

pub(crate) mod kit {
    use std::collections::VecDeque;

    use super::super::IndicatorError;

    /// TA-Lib's largest period.
    pub(crate) const MAX_PERIOD: usize = 100_000;

    /// TA-Lib's epsilon (`TA_EPSILON`).
    const EPSILON: f64 = 1e-14;

    /// TA-Lib's fixed zero band, for dimensionless quantities.
    #[inline(always)]
    pub(crate) fn is_zero(v: f64) -> bool {
        -EPSILON < v && v < EPSILON
    }

    /// TA-Lib's scale-aware zero test (`TA_IS_ZERO_SCALED`): `v` is zero when within 1e-14 of
    /// `scale`, the magnitude of the operands `v` was computed from.
    #[inline(always)]
    pub(crate) fn is_zero_scaled(v: f64, scale: f64) -> bool {
        v.abs() <= EPSILON * scale
    }

    /// Validates a period-like parameter: a whole number from `min` to 100000, as TA-Lib does.
    pub(crate) fn check_period(
        indicator: &str,
        param: &str,
        value: usize,
        min: usize,
    ) -> Result<usize, IndicatorError> {
        if value < min || value > MAX_PERIOD {
            return Err(IndicatorError::InvalidParam {
                indicator: indicator.to_string(),
                param: param.to_string(),
                expected: format!("a whole number from {min} to {MAX_PERIOD}"),
                value: value as f64,
            });
        }
        Ok(value)
    }

    /// The common length of the input columns, or an error naming the indicator.
    pub(crate) fn check_lengths(indicator: &str, lens: &[usize]) -> Result<usize, IndicatorError> {
        let n = lens.first().copied().unwrap_or(0);
        if lens.iter().any(|&l| l != n) {
            return Err(IndicatorError::LengthMismatch {
                indicator: indicator.to_string(),
            });
        }
        Ok(n)
    }

    /// The `i`-th resolved parameter (the registry always passes all of them; the default only
    /// guards a direct call with a short slice).
    pub(crate) fn param(params: &[f64], i: usize, default: f64) -> f64 {
        params.get(i).copied().unwrap_or(default)
    }

    /// Simple moving average the way TA-Lib computes it inside STOCH: a running sum, adding the
    /// newest value before the average is taken and removing the oldest right after, starting
    /// from the first value pushed — so the rounding matches TA-Lib's.
    #[derive(Debug, Clone)]
    pub(crate) struct RunningSma {
        ring: Vec<f64>,
        pos: usize,
        filled: usize,
        sum: f64,
    }

    impl RunningSma {
        pub(crate) fn new(period: usize) -> Self {
            Self {
                ring: vec![0.0; period.max(1)],
                pos: 0,
                filled: 0,
                sum: 0.0,
            }
        }

        #[inline(always)]
        pub(crate) fn push(&mut self, x: f64) -> Option<f64> {
            let n = self.ring.len();
            self.sum += x;
            if let Some(slot) = self.ring.get_mut(self.pos) {
                *slot = x;
            }
            self.pos += 1;
            if self.pos == n {
                self.pos = 0;
            }
            if self.filled < n {
                self.filled += 1;
                if self.filled < n {
                    return None;
                }
            }
            let average = self.sum / n as f64;
            // `pos` now points at the oldest value: it leaves before the next push.
            self.sum -= self.ring.get(self.pos).copied().unwrap_or(0.0);
            Some(average)
        }
    }

    /// Highest high and lowest low of the last `period` bars, by monotonic queues: amortised O(1)
    /// a bar whatever the period (TA-Lib rescans, which is O(period) a bar in a trend). The
    /// extremes are the same values either way.
    #[derive(Debug, Clone)]
    pub(crate) struct Extremes {
        period: u64,
        t: u64,
        highs: VecDeque<(u64, f64)>,
        lows: VecDeque<(u64, f64)>,
    }

    impl Extremes {
        pub(crate) fn new(period: usize) -> Self {
            Self {
                period: period.max(1) as u64,
                t: 0,
                highs: VecDeque::with_capacity(period.max(1)),
                lows: VecDeque::with_capacity(period.max(1)),
            }
        }

        /// Adds a bar; `(highest, lowest)` once `period` bars have been seen.
        #[inline(always)]
        pub(crate) fn push(&mut self, high: f64, low: f64) -> Option<(f64, f64)> {
            let t = self.t;
            self.t += 1;
            while self
                .highs
                .front()
                .is_some_and(|&(i, _)| i + self.period <= t)
            {
                self.highs.pop_front();
            }
            while self
                .lows
                .front()
                .is_some_and(|&(i, _)| i + self.period <= t)
            {
                self.lows.pop_front();
            }
            while self.highs.back().is_some_and(|&(_, v)| v <= high) {
                self.highs.pop_back();
            }
            while self.lows.back().is_some_and(|&(_, v)| v >= low) {
                self.lows.pop_back();
            }
            self.highs.push_back((t, high));
            self.lows.push_back((t, low));
            if self.t < self.period {
                return None;
            }
            let highest = self.highs.front().map_or(high, |&(_, v)| v);
            let lowest = self.lows.front().map_or(low, |&(_, v)| v);
            Some((highest, lowest))
        }
    }

    /// The value pushed `period` pushes ago.
    #[derive(Debug, Clone)]
    pub(crate) struct Lag {
        ring: Vec<f64>,
        pos: usize,
        filled: bool,
    }

    impl Lag {
        pub(crate) fn new(period: usize) -> Self {
            Self {
                ring: vec![0.0; period.max(1)],
                pos: 0,
                filled: false,
            }
        }

        #[inline(always)]
        pub(crate) fn push(&mut self, x: f64) -> Option<f64> {
            let old = self
                .ring
                .get_mut(self.pos)
                .map(|slot| std::mem::replace(slot, x));
            let filled = self.filled;
            self.pos += 1;
            if self.pos == self.ring.len() {
                self.pos = 0;
                self.filled = true;
            }
            if filled { old } else { None }
        }
    }
}
