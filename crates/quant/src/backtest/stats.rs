//! backtesting.py 0.6.6's statistics (`compute_stats`), key for key in snake_case, computed in
//! its arithmetic order: geometric mean of (daily-resampled) equity returns, annualised with 252
//! trading days (365 when a quarter or more of the bars fall on weekends, 52/12/1 for weekly,
//! monthly, yearly bars), Sortino, Calmar, CAPM alpha/beta against buy-and-hold, drawdown
//! durations, SQN and Kelly.
//!
//! Undefined figures (no trades, no losing trade, …) are `None`, never a made-up number.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use super::numeric::{geometric_mean, ln_ratios, ln_return_dot, mean, np_sum, var};
use super::{PARALLEL_BARS, Trade};
use crate::indicators::Columns;

/// What the statistics need from the bars alone, computed once per series and shared by every
/// run over it (the optimiser runs hundreds).
#[derive(Debug, Clone)]
pub struct MarketContext<'a> {
    time: &'a [i64],
    close: &'a [f64],
    /// `ln(c[i+1] / c[i])`: the market side of beta.
    market: Vec<f64>,
    /// Mean of `market`.
    market_mean: f64,
    /// Sum of squared deviations of `market` from its mean.
    market_ss: f64,
    /// Every value of `market` is finite (no zero, negative or missing close).
    market_finite: bool,
    /// Index of the last bar of each resampling bin (day, week, month, year): worked out once
    /// per series, not once per run.
    bin_ends: Vec<usize>,
    annual_periods: f64,
    /// Durations are rounded up to this many seconds (the bar period's resolution).
    resolution: i64,
}

impl<'a> MarketContext<'a> {
    pub fn new(columns: &Columns<'a>) -> Self {
        let time = columns.time;
        let close = columns.close;
        // Market log returns, their mean and the sum of squared deviations from it (the
        // market side of beta, once for every run).
        let mut market = Vec::new();
        let (mut market_mean, mut market_ss) = (f64::NAN, f64::NAN);
        let mut market_finite = true;
        if close.len() > 1 {
            let (sum, sum_sq) = ln_ratios(&close[1..], &close[..close.len() - 1], &mut market);
            let m = market.len() as f64;
            market_mean = sum / m;
            market_ss = sum_sq - sum * market_mean;
            // A NaN or infinite log return makes both sums NaN or infinite; finite ones are
            // far too small to overflow them.
            market_finite = sum.is_finite() && sum_sq.is_finite();
        }
        // pandas: median of the last 100 index differences.
        let tail = &time[time.len().saturating_sub(100)..];
        let mut diffs: Vec<i64> = tail.windows(2).map(|w| w[1] - w[0]).collect();
        diffs.sort_unstable();
        let period = match diffs.len() {
            0 => 86_400.0,
            k if k % 2 == 1 => diffs[k / 2] as f64,
            k => (diffs[k / 2 - 1] as f64 + diffs[k / 2] as f64) / 2.0,
        };
        let freq_days = (period / 86_400.0).floor() as i64;
        // One pass over the times: the share of bars on a Saturday or Sunday, and the last bar
        // of each resampling bin (day, week, month or year). Both only change with the day,
        // so the calendar is worked out once per day, not per bar (a division per bar is most
        // of this loop's cost on minute bars).
        let n = time.len();
        let mut weekend = 0usize;
        let mut bin_ends = Vec::new();
        let mut bin = i64::MIN;
        let mut i = 0;
        while i < n {
            let day = time[i].div_euclid(86_400);
            let day_start = day * 86_400;
            let b = bin_of(time[i], freq_days);
            if i > 0 && b != bin {
                bin_ends.push(i - 1);
            }
            bin = b;
            // The bars that follow on the same day.
            let mut j = i + 1;
            while j < n && (time[j].wrapping_sub(day_start) as u64) < 86_400 {
                j += 1;
            }
            // 1970-01-01 was a Thursday: Monday = 0.
            if (day + 3).rem_euclid(7) >= 5 {
                weekend += j - i;
            }
            i = j;
        }
        if n > 0 {
            bin_ends.push(n - 1);
        }
        let weekend_share = if time.is_empty() {
            0.0
        } else {
            weekend as f64 / time.len() as f64
        };
        let annual_periods = match freq_days {
            7 => 52.0,
            31 => 12.0,
            365 => 1.0,
            _ if weekend_share > 2.0 / 7.0 * 0.6 => 365.0,
            _ => 252.0,
        };
        let p = period.round() as i64;
        let resolution = if p % 86_400 == 0 {
            86_400
        } else if p % 3_600 == 0 {
            3_600
        } else if p % 60 == 0 {
            60
        } else {
            1
        };
        MarketContext {
            time,
            close,
            market,
            market_mean,
            market_ss,
            market_finite,
            bin_ends,
            annual_periods,
            resolution,
        }
    }

    pub fn len(&self) -> usize {
        self.close.len()
    }

    pub fn is_empty(&self) -> bool {
        self.close.is_empty()
    }

    pub fn time(&self) -> &'a [i64] {
        self.time
    }

    fn round_up_days(&self, seconds: f64) -> f64 {
        let r = self.resolution as f64;
        (seconds / r).ceil() * r / 86_400.0
    }
}

/// backtesting.py's statistics, snake_case. Percentages are in percent.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Stats {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub duration_days: f64,
    pub exposure_time_pct: f64,
    pub equity_final: f64,
    pub equity_peak: f64,
    pub commissions: f64,
    pub return_pct: f64,
    pub buy_and_hold_return_pct: Option<f64>,
    pub return_ann_pct: Option<f64>,
    pub volatility_ann_pct: Option<f64>,
    pub cagr_pct: Option<f64>,
    pub sharpe_ratio: Option<f64>,
    pub sortino_ratio: Option<f64>,
    pub calmar_ratio: Option<f64>,
    pub alpha_pct: Option<f64>,
    pub beta: Option<f64>,
    pub max_drawdown_pct: f64,
    pub avg_drawdown_pct: Option<f64>,
    pub max_drawdown_duration_days: Option<f64>,
    pub avg_drawdown_duration_days: Option<f64>,
    pub trades: usize,
    pub win_rate_pct: Option<f64>,
    pub best_trade_pct: Option<f64>,
    pub worst_trade_pct: Option<f64>,
    pub avg_trade_pct: Option<f64>,
    pub max_trade_duration_days: Option<f64>,
    pub avg_trade_duration_days: Option<f64>,
    pub profit_factor: Option<f64>,
    pub expectancy_pct: Option<f64>,
    pub sqn: Option<f64>,
    pub kelly_criterion: Option<f64>,
}

impl Stats {
    /// Every numeric statistic's key, e.g. for "maximise `sharpe_ratio`".
    pub const KEYS: &'static [&'static str] = &[
        "duration_days",
        "exposure_time_pct",
        "equity_final",
        "equity_peak",
        "commissions",
        "return_pct",
        "buy_and_hold_return_pct",
        "return_ann_pct",
        "volatility_ann_pct",
        "cagr_pct",
        "sharpe_ratio",
        "sortino_ratio",
        "calmar_ratio",
        "alpha_pct",
        "beta",
        "max_drawdown_pct",
        "avg_drawdown_pct",
        "max_drawdown_duration_days",
        "avg_drawdown_duration_days",
        "trades",
        "win_rate_pct",
        "best_trade_pct",
        "worst_trade_pct",
        "avg_trade_pct",
        "max_trade_duration_days",
        "avg_trade_duration_days",
        "profit_factor",
        "expectancy_pct",
        "sqn",
        "kelly_criterion",
    ];

    /// The statistic called `key` (one of [`Stats::KEYS`]); `None` if unknown or undefined.
    pub fn get(&self, key: &str) -> Option<f64> {
        Some(match key {
            "duration_days" => self.duration_days,
            "exposure_time_pct" => self.exposure_time_pct,
            "equity_final" => self.equity_final,
            "equity_peak" => self.equity_peak,
            "commissions" => self.commissions,
            "return_pct" => self.return_pct,
            "buy_and_hold_return_pct" => self.buy_and_hold_return_pct?,
            "return_ann_pct" => self.return_ann_pct?,
            "volatility_ann_pct" => self.volatility_ann_pct?,
            "cagr_pct" => self.cagr_pct?,
            "sharpe_ratio" => self.sharpe_ratio?,
            "sortino_ratio" => self.sortino_ratio?,
            "calmar_ratio" => self.calmar_ratio?,
            "alpha_pct" => self.alpha_pct?,
            "beta" => self.beta?,
            "max_drawdown_pct" => self.max_drawdown_pct,
            "avg_drawdown_pct" => self.avg_drawdown_pct?,
            "max_drawdown_duration_days" => self.max_drawdown_duration_days?,
            "avg_drawdown_duration_days" => self.avg_drawdown_duration_days?,
            "trades" => self.trades as f64,
            "win_rate_pct" => self.win_rate_pct?,
            "best_trade_pct" => self.best_trade_pct?,
            "worst_trade_pct" => self.worst_trade_pct?,
            "avg_trade_pct" => self.avg_trade_pct?,
            "max_trade_duration_days" => self.max_trade_duration_days?,
            "avg_trade_duration_days" => self.avg_trade_duration_days?,
            "profit_factor" => self.profit_factor?,
            "expectancy_pct" => self.expectancy_pct?,
            "sqn" => self.sqn?,
            "kelly_criterion" => self.kelly_criterion?,
            _ => return None,
        })
    }
}

fn fin(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn max_of(v: &[f64]) -> f64 {
    v.iter()
        .copied()
        .fold(f64::NAN, |a, b| if a >= b { a } else { b })
}

/// The resampling bin (day, week ending Sunday, month or year, by `freq_days`: pandas' bar
/// period in whole days) of time `t`; bins only increase with time.
fn bin_of(t: i64, freq_days: i64) -> i64 {
    let day = t.div_euclid(86_400);
    match freq_days {
        7 => (day + 3).div_euclid(7),
        31 | 365 => {
            use chrono::Datelike;
            let d = DateTime::<Utc>::from_timestamp(t, 0).unwrap_or_default();
            if freq_days == 31 {
                i64::from(d.year()) * 12 + i64::from(d.month())
            } else {
                i64::from(d.year())
            }
        }
        _ => day,
    }
}

/// Bars per block in the drawdown pass's block-at-a-time skip.
const BLOCK: usize = 16;

/// Drawdown in one pass over `equity` (bar times `time`): its segments between successive new
/// highs (backtesting.py's `compute_drawdown_duration_peaks`: duration in seconds and deepest
/// drawdown of each), the running peak at the end and the deepest drawdown (NaN if none).
struct Drawdowns {
    dur_secs: Vec<i64>,
    peaks: Vec<f64>,
    peak: f64,
    max_dd: f64,
}

fn drawdowns(equity: &[f64], time: &[i64]) -> Drawdowns {
    let n = equity.len().min(time.len());
    let mut dur_secs: Vec<i64> = Vec::new();
    let mut peaks: Vec<f64> = Vec::new();
    // Within a segment between two highs the peak is fixed, so the deepest drawdown is at the
    // lowest equity: one division per segment instead of one per bar, and the same bits
    // (`1 - e / peak` is monotonic in `e`).
    let mut peak = f64::NEG_INFINITY;
    let mut max_dd = f64::NAN;
    let (mut prev_zero, mut seg_low) = (0usize, f64::INFINITY);
    let mut i = 0;
    while i < n {
        let end = (i + BLOCK).min(n);
        // A block with no new high (and not holding the last bar) only lowers the segment's
        // low: its highest and lowest values, four lanes at a time, decide that without a
        // branch per bar. NaNs are skipped either way.
        if end - i == BLOCK && end < n {
            let (hi, lo) = block_extremes(&equity[i..end]);
            if hi < peak {
                if lo < seg_low {
                    seg_low = lo;
                }
                i = end;
                continue;
            }
        }
        for (k, &e) in equity[i..end].iter().enumerate() {
            let k = i + k;
            let at_high = e >= peak;
            if !at_high && e < seg_low {
                seg_low = e;
            }
            if at_high || k + 1 == n {
                let seg_max = if seg_low.is_finite() {
                    1.0 - seg_low / peak
                } else {
                    0.0
                };
                if max_dd.is_nan() || seg_max > max_dd {
                    max_dd = seg_max;
                }
                if k > prev_zero + 1 {
                    dur_secs.push(time[k] - time[prev_zero]);
                    peaks.push(seg_max);
                }
                prev_zero = k;
                seg_low = f64::INFINITY;
            }
            if at_high {
                peak = e;
            }
        }
        i = end;
    }
    Drawdowns {
        dur_secs,
        peaks,
        peak,
        max_dd,
    }
}

/// Highest and lowest value of `v` (NaN skipped; -inf/+inf when none), four lanes at a time.
fn block_extremes(v: &[f64]) -> (f64, f64) {
    let (mut hi, mut lo) = ([f64::NEG_INFINITY; 4], [f64::INFINITY; 4]);
    let mut chunks = v.chunks_exact(4);
    for c in &mut chunks {
        for k in 0..4 {
            hi[k] = if c[k] > hi[k] { c[k] } else { hi[k] };
            lo[k] = if c[k] < lo[k] { c[k] } else { lo[k] };
        }
    }
    for &x in chunks.remainder() {
        hi[0] = if x > hi[0] { x } else { hi[0] };
        lo[0] = if x < lo[0] { x } else { lo[0] };
    }
    let h = hi
        .iter()
        .fold(f64::NEG_INFINITY, |a, &b| if b > a { b } else { a });
    let l = lo
        .iter()
        .fold(f64::INFINITY, |a, &b| if b < a { b } else { a });
    (h, l)
}

/// The drawdown series (fraction below the running peak, 0 at a new high) of `equity`.
pub fn drawdown(equity: &[f64]) -> Vec<f64> {
    let mut peak = f64::NEG_INFINITY;
    equity
        .iter()
        .map(|&e| {
            peak = peak.max(e);
            1.0 - e / peak
        })
        .collect()
}

/// backtesting.py's `compute_stats` for a run over the bars behind `ctx`; `warmup` is the plan's
/// first trading bar (buy-and-hold starts at its close).
pub fn compute_stats(
    trades: &[Trade],
    equity: &[f64],
    ctx: &MarketContext<'_>,
    warmup: usize,
) -> Stats {
    let n = equity.len().min(ctx.len());
    let time = ctx.time;
    let ts = |i: usize| DateTime::<Utc>::from_timestamp(time[i], 0).unwrap_or_default();
    let start = if n > 0 { ts(0) } else { DateTime::default() };
    let end = if n > 0 {
        ts(n - 1)
    } else {
        DateTime::default()
    };
    let duration_secs = (end - start).num_seconds();
    let e0 = equity.first().copied().unwrap_or(f64::NAN);
    let e_last = equity.last().copied().unwrap_or(f64::NAN);

    // Drawdowns and beta's covariance (a log per bar) are independent passes over the equity:
    // on long series they run on two cores.
    let beta_cov = || {
        // Σ (x - x̄)(y - ȳ) = Σ x·y - ȳ·Σ x for equity log returns x and market log returns y
        // (numpy's np.cov to ~1e-15).
        if ctx.market.len() + 1 == n {
            let (dot, sum) = ln_return_dot(&equity[..n], &ctx.market, ctx.market_finite);
            Some(dot - ctx.market_mean * sum)
        } else {
            None
        }
    };
    let (dd, sxy) = if n >= PARALLEL_BARS {
        rayon::join(|| drawdowns(&equity[..n], time), beta_cov)
    } else {
        (drawdowns(&equity[..n], time), beta_cov())
    };
    let Drawdowns {
        dur_secs,
        peaks,
        peak,
        max_dd,
    } = dd;
    // pandas' `max()` skips NaN, as the running peak does.
    let equity_peak = if equity.len() == n && peak > f64::NEG_INFINITY {
        peak
    } else {
        max_of(equity)
    };
    // Equity at the end of each resampling bin.
    let mut last_per_bin: Vec<f64> = Vec::with_capacity(ctx.bin_ends.len());
    last_per_bin.extend(
        ctx.bin_ends
            .iter()
            .take_while(|&&k| k < n)
            .map(|&k| equity[k]),
    );
    let max_dd = if max_dd.is_nan() { 0.0 } else { max_dd };

    // Exposure: bars inside any closed trade (entry to exit, inclusive).
    let mut spans: Vec<(usize, usize)> = trades
        .iter()
        .map(|t| (t.entry_bar, t.exit_bar.min(n.saturating_sub(1))))
        .collect();
    spans.sort_unstable();
    let (mut covered, mut upto) = (0usize, 0usize);
    for (a, b) in spans {
        let a = a.max(upto);
        if b + 1 > a {
            covered += b + 1 - a;
            upto = b + 1;
        }
    }
    let exposure = covered as f64 / n as f64 * 100.0;

    let c = ctx.close;
    let bh = if warmup < c.len() {
        fin((c[c.len() - 1] - c[warmup]) / c[warmup] * 100.0)
    } else {
        None
    };
    let return_pct = (e_last - e0) / e0 * 100.0;

    // pandas `pct_change().dropna()`: 0/0 after running out of money is dropped.
    let mut day_returns: Vec<f64> = Vec::with_capacity(last_per_bin.len());
    day_returns.extend(
        last_per_bin
            .windows(2)
            .map(|w| w[1] / w[0] - 1.0)
            .filter(|r| !r.is_nan()),
    );
    let g = geometric_mean(&day_returns);
    let g = if day_returns.is_empty() { f64::NAN } else { g };
    let ann_days = ctx.annual_periods;
    let annualized = (1.0 + g).powf(ann_days) - 1.0;
    let vol = ((var(&day_returns, 1) + (1.0 + g).powi(2)).powf(ann_days)
        - (1.0 + g).powf(2.0 * ann_days))
    .sqrt()
        * 100.0;
    let years = (duration_secs.div_euclid(86_400) as f64
        + duration_secs.rem_euclid(86_400) as f64 / 86_400.0)
        / 365.25;
    let cagr = if years != 0.0 {
        ((e_last / e0).powf(1.0 / years) - 1.0) * 100.0
    } else {
        f64::NAN
    };
    let return_ann_pct = annualized * 100.0;
    let sharpe = return_ann_pct / if vol == 0.0 { f64::NAN } else { vol };
    let downside: Vec<f64> = day_returns
        .iter()
        .map(|r| {
            let x = r.min(0.0);
            x * x
        })
        .collect();
    let sortino = annualized / (mean(&downside).sqrt() * ann_days.sqrt());
    let calmar = annualized / if max_dd == 0.0 { f64::NAN } else { max_dd };

    let beta = if let Some(sxy) = sxy
        && n > 2
    {
        let f = 1.0 / (n - 2) as f64;
        (sxy * f) / (ctx.market_ss * f)
    } else {
        f64::NAN
    };
    let alpha = return_pct - beta * bh.unwrap_or(f64::NAN);

    let returns: Vec<f64> = trades.iter().map(|t| t.return_pct).collect();
    let pl: Vec<f64> = trades.iter().map(|t| t.pnl).collect();
    let durations: Vec<i64> = trades
        .iter()
        .map(|t| time[t.exit_bar.min(n - 1)] - time[t.entry_bar.min(n - 1)])
        .collect();
    let n_trades = trades.len();
    let win_rate = if n_trades == 0 {
        f64::NAN
    } else {
        pl.iter().filter(|&&p| p > 0.0).count() as f64 / n_trades as f64
    };
    let winners: Vec<f64> = returns.iter().copied().filter(|&r| r > 0.0).collect();
    let losers: Vec<f64> = returns.iter().copied().filter(|&r| r < 0.0).collect();
    let neg_sum = np_sum(&losers).abs();
    let profit_factor = np_sum(&winners) / if neg_sum == 0.0 { f64::NAN } else { neg_sum };
    let pl_std = var(&pl, 1).sqrt();
    let sqn = (n_trades as f64).sqrt() * mean(&pl) / if pl_std == 0.0 { f64::NAN } else { pl_std };
    let wins: Vec<f64> = pl.iter().copied().filter(|&p| p > 0.0).collect();
    let losses: Vec<f64> = pl.iter().copied().filter(|&p| p < 0.0).collect();
    let kelly = win_rate - (1.0 - win_rate) / (mean(&wins) / -mean(&losses));

    let ceil_days = |secs: f64| ctx.round_up_days(secs);
    Stats {
        start,
        end,
        duration_days: duration_secs as f64 / 86_400.0,
        exposure_time_pct: exposure,
        equity_final: e_last,
        equity_peak,
        commissions: trades.iter().map(|t| t.commission).sum(),
        return_pct,
        buy_and_hold_return_pct: bh,
        return_ann_pct: fin(return_ann_pct),
        volatility_ann_pct: fin(vol),
        cagr_pct: fin(cagr),
        sharpe_ratio: fin(sharpe),
        sortino_ratio: fin(sortino),
        calmar_ratio: fin(calmar),
        alpha_pct: fin(alpha),
        beta: fin(beta),
        max_drawdown_pct: -max_dd * 100.0,
        avg_drawdown_pct: (!peaks.is_empty())
            .then(|| -(np_sum(&peaks) / peaks.len() as f64) * 100.0),
        max_drawdown_duration_days: dur_secs.iter().max().map(|&d| ceil_days(d as f64)),
        avg_drawdown_duration_days: (!dur_secs.is_empty())
            .then(|| ceil_days(dur_secs.iter().sum::<i64>() as f64 / dur_secs.len() as f64)),
        trades: n_trades,
        win_rate_pct: fin(win_rate * 100.0),
        best_trade_pct: fin(max_of(&returns) * 100.0),
        worst_trade_pct: fin(returns
            .iter()
            .copied()
            .fold(f64::NAN, |a, b| if a <= b { a } else { b })
            * 100.0),
        avg_trade_pct: fin(geometric_mean(&returns) * 100.0),
        max_trade_duration_days: durations.iter().max().map(|&d| ceil_days(d as f64)),
        avg_trade_duration_days: (!durations.is_empty())
            .then(|| ceil_days(durations.iter().sum::<i64>() as f64 / durations.len() as f64)),
        profit_factor: fin(profit_factor),
        expectancy_pct: fin(mean(&returns) * 100.0),
        sqn: fin(sqn),
        kelly_criterion: fin(kelly),
    }
}
