//! How likely an optimised backtest is overfit, from per-period returns:
//!
//! - the **Probabilistic Sharpe Ratio** (Bailey & López de Prado, "The Sharpe Ratio Efficient
//!   Frontier", 2012): the probability that the true Sharpe ratio exceeds a benchmark `SR*`,
//!   given the estimate's sample length, skewness and kurtosis:
//!   `PSR(SR*) = Φ((SR − SR*)·√(T−1) / √(1 − γ₃·SR + (γ₄−1)/4·SR²))`;
//! - the **Deflated Sharpe Ratio** (Bailey & López de Prado, "The Deflated Sharpe Ratio", 2014):
//!   the PSR against the Sharpe ratio the best of `N` unskilled trials would reach by luck,
//!   `SR₀ = √V[SRₙ]·((1−γ)·Φ⁻¹(1−1/N) + γ·Φ⁻¹(1−1/(N·e)))` with γ Euler–Mascheroni's constant;
//! - the **Probability of Backtest Overfitting** by combinatorially symmetric cross-validation
//!   (Bailey, Borwein, López de Prado & Zhu, "The Probability of Backtest Overfitting", 2015):
//!   the returns of all trials split into `S` blocks; for every choice of `S/2` blocks as the
//!   in-sample half, the trial best in-sample is ranked out of sample; PBO is the share of
//!   choices in which it ranks in the lower half (logit λ ≤ 0).
//!
//! Conventions (the Python reference in `tests/python/test_overfit_stats.py` uses the same):
//! Sharpe ratios are per period, not annualised — mean over the sample standard deviation
//! (n − 1); skewness and kurtosis are the population moments (`scipy.stats.skew`,
//! `kurtosis(fisher=False)`); a rank among equal values is the mean of their ranks.
//!
//! Pure arithmetic: no I/O, no clock, no randomness.

use schemars::JsonSchema;
use serde::Serialize;

use crate::options::norm_cdf;
use crate::risk::norm_inv_cdf;

/// Euler–Mascheroni's constant.
pub const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// A return series' per-period Sharpe ratio and its third and fourth moments.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    pub sharpe: f64,
    pub skewness: f64,
    /// Not excess: 3 for a normal distribution.
    pub kurtosis: f64,
    pub observations: usize,
}

/// The moments of `returns`; `None` with fewer than 3 values or no variation.
pub fn moments(returns: &[f64]) -> Option<Moments> {
    let n = returns.len();
    if n < 3 {
        return None;
    }
    let nf = n as f64;
    let mean = returns.iter().sum::<f64>() / nf;
    let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
    for r in returns {
        let d = r - mean;
        let d2 = d * d;
        m2 += d2;
        m3 += d2 * d;
        m4 += d2 * d2;
    }
    if m2 <= 0.0 || !m2.is_finite() {
        return None;
    }
    let sample_sd = (m2 / (nf - 1.0)).sqrt();
    let (m2, m3, m4) = (m2 / nf, m3 / nf, m4 / nf);
    Some(Moments {
        sharpe: mean / sample_sd,
        skewness: m3 / m2.powf(1.5),
        kurtosis: m4 / (m2 * m2),
        observations: n,
    })
}

/// The probability that the true Sharpe ratio exceeds `benchmark` (both per period).
pub fn probabilistic_sharpe(m: &Moments, benchmark: f64) -> f64 {
    let sr = m.sharpe;
    let denominator = 1.0 - m.skewness * sr + (m.kurtosis - 1.0) / 4.0 * sr * sr;
    if denominator <= 0.0 || m.observations < 2 {
        return f64::NAN;
    }
    norm_cdf((sr - benchmark) * ((m.observations - 1) as f64).sqrt() / denominator.sqrt())
}

/// The Sharpe ratio the best of `trials` independent unskilled trials is expected to show, when
/// the trials' Sharpe ratios vary with `variance`.
pub fn expected_max_sharpe(variance: f64, trials: usize) -> f64 {
    if trials < 2 {
        return 0.0;
    }
    let n = trials as f64;
    variance.max(0.0).sqrt()
        * ((1.0 - EULER_GAMMA) * norm_inv_cdf(1.0 - 1.0 / n)
            + EULER_GAMMA * norm_inv_cdf(1.0 - 1.0 / (n * std::f64::consts::E)))
}

/// The Deflated Sharpe Ratio of the chosen trial and what it rests on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Deflated {
    /// The probability that the chosen strategy's true Sharpe ratio is above zero, after
    /// allowing for the number of trials it was picked from.
    pub dsr: f64,
    /// The benchmark: the expected best Sharpe ratio among this many luck-only trials.
    pub benchmark: f64,
    pub trials: usize,
    /// The variance of the trials' Sharpe ratios.
    pub variance: f64,
    pub moments: Moments,
}

/// The DSR of `chosen` (its returns' moments) among trials whose Sharpe ratios are
/// `trial_sharpes` (the chosen one included).
pub fn deflated_sharpe(chosen: &Moments, trial_sharpes: &[f64]) -> Deflated {
    let finite: Vec<f64> = trial_sharpes
        .iter()
        .copied()
        .filter(|s| s.is_finite())
        .collect();
    let n = finite.len();
    let variance = if n < 2 {
        0.0
    } else {
        let mean = finite.iter().sum::<f64>() / n as f64;
        finite.iter().map(|s| (s - mean) * (s - mean)).sum::<f64>() / (n - 1) as f64
    };
    let benchmark = expected_max_sharpe(variance, trial_sharpes.len());
    Deflated {
        dsr: probabilistic_sharpe(chosen, benchmark),
        benchmark,
        trials: trial_sharpes.len(),
        variance,
        moments: *chosen,
    }
}

/// The PBO of a set of trials and the distribution it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Pbo {
    /// The share of in-sample/out-of-sample splits in which the in-sample winner ranks at or
    /// below the out-of-sample median.
    pub pbo: f64,
    /// How many splits were evaluated (`C(S, S/2)`).
    pub splits: usize,
    pub blocks: usize,
    /// The logits λ of the winner's out-of-sample relative rank, one per split.
    pub logits: Vec<f64>,
}

/// Blocks a CSCV split uses by default (the papers' examples use 16: C(16, 8) = 12,870 splits).
pub const PBO_BLOCKS: usize = 16;

/// Trial-splits one PBO may evaluate (each sums a trial's blocks twice): fewer blocks for
/// searches of many trials, so the statistic costs well under a second.
const PBO_BUDGET: u64 = 1_000_000;

/// C(n, k).
fn choose(n: u64, k: u64) -> u64 {
    (0..k).fold(1u64, |c, i| c * (n - i) / (i + 1))
}

/// The blocks a search of `trials` trials is split into: [`PBO_BLOCKS`], fewer (even, at least
/// 4) when that many splits of that many trials would exceed the budget.
pub fn pbo_blocks(trials: usize) -> usize {
    [16u64, 14, 12, 10, 8, 6]
        .into_iter()
        .find(|&s| choose(s, s / 2).saturating_mul(trials as u64) <= PBO_BUDGET)
        .unwrap_or(4) as usize
}

/// One trial's returns summed per block, so any union of blocks is summed in O(blocks), and as
/// power sums over the whole series (for its moments): what the PBO and the DSR need of a trial,
/// a few hundred bytes however long its history.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialSummary {
    count: Vec<f64>,
    sum: Vec<f64>,
    squares: Vec<f64>,
    /// n, Σx, Σx², Σx³, Σx⁴ over every return.
    powers: [f64; 5],
    /// The blocks' count, sum and sum of squares together.
    totals: [f64; 3],
}

impl TrialSummary {
    /// `returns` in `blocks` contiguous blocks (the oldest rows that do not fill a block are
    /// left out of the blocks, not of the moments).
    pub fn new(returns: &[f64], blocks: usize) -> Self {
        Self::of(returns.iter().copied(), returns.len(), blocks)
    }

    /// The bar-to-bar returns of an equity curve from `warmup` on (before it the strategy
    /// cannot act), summed without keeping them.
    pub fn from_equity(equity: &[f64], warmup: usize, blocks: usize) -> Self {
        let curve = equity.get(warmup..).unwrap_or_default();
        let returns = curve
            .windows(2)
            .map(|w| if w[0] != 0.0 { w[1] / w[0] - 1.0 } else { 0.0 });
        Self::of(returns, curve.len().saturating_sub(1), blocks)
    }

    fn of(returns: impl Iterator<Item = f64>, len: usize, blocks: usize) -> Self {
        let blocks = blocks.max(1);
        let size = (len / blocks).max(1);
        let skip = len.saturating_sub(size * blocks);
        let mut t = Self {
            count: vec![0.0; blocks],
            sum: vec![0.0; blocks],
            squares: vec![0.0; blocks],
            powers: [0.0; 5],
            totals: [0.0; 3],
        };
        for (k, x) in returns.enumerate() {
            t.powers[0] += 1.0;
            t.powers[1] += x;
            t.powers[2] += x * x;
            t.powers[3] += x * x * x;
            t.powers[4] += x * x * x * x;
            if k >= skip {
                let b = ((k - skip) / size).min(blocks - 1);
                t.count[b] += 1.0;
                t.sum[b] += x;
                t.squares[b] += x * x;
            }
        }
        t.totals = [
            t.count.iter().sum(),
            t.sum.iter().sum(),
            t.squares.iter().sum(),
        ];
        t
    }

    /// The whole series' per-period Sharpe ratio, skewness and kurtosis (from its power sums).
    pub fn moments(&self) -> Option<Moments> {
        let [n, s1, s2, s3, s4] = self.powers;
        if n < 3.0 {
            return None;
        }
        let mean = s1 / n;
        let m2 = s2 / n - mean * mean;
        if m2 <= 0.0 || !m2.is_finite() {
            return None;
        }
        let m3 = s3 / n - 3.0 * mean * s2 / n + 2.0 * mean.powi(3);
        let m4 = s4 / n - 4.0 * mean * s3 / n + 6.0 * mean * mean * s2 / n - 3.0 * mean.powi(4);
        let sample_sd = (m2 * n / (n - 1.0)).sqrt();
        Some(Moments {
            sharpe: mean / sample_sd,
            skewness: m3 / m2.powf(1.5),
            kurtosis: m4 / (m2 * m2),
            observations: n as usize,
        })
    }

    fn blocks(&self) -> usize {
        self.count.len()
    }
}

/// The Sharpe ratio of n values with sum `s` and sum of squares `q`.
fn pooled_sharpe(n: f64, s: f64, q: f64) -> f64 {
    if n < 2.0 {
        return f64::NAN;
    }
    let mean = s / n;
    let variance = (q - s * mean) / (n - 1.0);
    if variance <= 0.0 {
        return f64::NAN;
    }
    mean / variance.sqrt()
}

/// The Sharpe ratios of the `chosen` blocks and of the others (one pass over the chosen: the
/// others are the blocks' totals less them).
fn split_sharpes(t: &TrialSummary, chosen: &[usize]) -> (f64, f64) {
    let (mut n, mut s, mut q) = (0.0, 0.0, 0.0);
    for &b in chosen {
        n += t.count[b];
        s += t.sum[b];
        q += t.squares[b];
    }
    let [tn, ts, tq] = t.totals;
    (
        pooled_sharpe(n, s, q),
        pooled_sharpe(tn - n, ts - s, tq - q),
    )
}

/// The 1-based rank of `values[i]` among `values`, ties sharing the mean of their ranks (NaN
/// ranks lowest).
fn rank(values: &[f64], i: usize) -> f64 {
    let v = values[i];
    let key = |x: f64| if x.is_nan() { f64::NEG_INFINITY } else { x };
    let (below, equal) = values.iter().fold((0usize, 0usize), |(b, e), &x| {
        if key(x) < key(v) {
            (b + 1, e)
        } else if key(x) == key(v) {
            (b, e + 1)
        } else {
            (b, e)
        }
    });
    below as f64 + (equal as f64 + 1.0) / 2.0
}

/// PBO by CSCV over `trials` (each a return series, all of one length) split into `blocks`
/// contiguous blocks (even, at least 2; the oldest rows that do not fill a block are left
/// out). `None` with fewer than 2 trials, an odd block count, or too few rows for the blocks.
pub fn probability_of_overfitting(trials: &[Vec<f64>], blocks: usize) -> Option<Pbo> {
    let rows = trials.first()?.len();
    if trials.iter().any(|t| t.len() != rows) || rows / blocks.max(1) < 2 {
        return None;
    }
    let sums: Vec<TrialSummary> = trials
        .iter()
        .map(|t| TrialSummary::new(t, blocks))
        .collect();
    pbo_of(&sums)
}

/// PBO by CSCV over trials already summed per block (all with the same blocks).
pub fn pbo_of(sums: &[TrialSummary]) -> Option<Pbo> {
    let n = sums.len();
    let blocks = sums.first()?.blocks();
    if n < 2 || blocks < 2 || !blocks.is_multiple_of(2) || sums.iter().any(|t| t.blocks() != blocks)
    {
        return None;
    }
    let mut logits = Vec::new();
    let mut is = vec![0.0; n];
    let mut oos = vec![0.0; n];
    // Every subset of half the blocks, in lexicographic order of block indices.
    let half = blocks / 2;
    let mut pick: Vec<usize> = (0..half).collect();
    loop {
        for (t, s) in sums.iter().enumerate() {
            (is[t], oos[t]) = split_sharpes(s, &pick);
        }
        // The in-sample winner (the first of equals).
        let best = (0..n).fold(0, |best, t| {
            let better = |a: f64, b: f64| !a.is_nan() && (b.is_nan() || a > b);
            if better(is[t], is[best]) { t } else { best }
        });
        let omega = rank(&oos, best) / (n as f64 + 1.0);
        logits.push((omega / (1.0 - omega)).ln());
        // The next combination.
        let mut i = half;
        loop {
            if i == 0 {
                let overfit = logits.iter().filter(|l| **l <= 0.0).count();
                return Some(Pbo {
                    pbo: overfit as f64 / logits.len() as f64,
                    splits: logits.len(),
                    blocks,
                    logits,
                });
            }
            i -= 1;
            if pick[i] < blocks - half + i {
                pick[i] += 1;
                for j in i + 1..half {
                    pick[j] = pick[j - 1] + 1;
                }
                break;
            }
        }
    }
}

/// How likely the chosen trial of a search is overfit: its Deflated Sharpe Ratio for the number
/// of trials run and the search's PBO, with what they rest on and a plain verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Overfitting {
    pub deflated: Option<Deflated>,
    /// The chance its true Sharpe ratio is above zero, ignoring how many trials it was picked
    /// from.
    pub probabilistic: Option<f64>,
    pub pbo: Option<Pbo>,
    pub verdict: String,
}

/// DSR at or above this is taken as significant (the papers' 95%).
pub const SIGNIFICANT: f64 = 0.95;

/// The overfitting statistics of `trials[chosen]` picked among `trials`.
pub fn assess(trials: &[TrialSummary], chosen: usize) -> Overfitting {
    let sharpes: Vec<f64> = trials
        .iter()
        .map(|t| t.moments().map_or(f64::NAN, |m| m.sharpe))
        .collect();
    let moments = trials.get(chosen).and_then(TrialSummary::moments);
    let deflated = moments.map(|m| deflated_sharpe(&m, &sharpes));
    let probabilistic = moments.map(|m| probabilistic_sharpe(&m, 0.0));
    let pbo = pbo_of(trials);
    let verdict = match (&deflated, &pbo) {
        (None, _) => "not assessed: the chosen combination has too few returns".to_string(),
        (_, Some(p)) if p.pbo > 0.5 => format!(
            "likely overfit: in {:.0}% of {} in-sample/out-of-sample splits the in-sample best ranked in the bottom half out of sample (PBO {:.2})",
            p.pbo * 100.0,
            p.splits,
            p.pbo
        ),
        (Some(d), _) if d.dsr.is_nan() || d.dsr < SIGNIFICANT => format!(
            "no edge beyond chance: after {} trials the best Sharpe ratio is not significant (DSR {:.2} < {SIGNIFICANT})",
            d.trials, d.dsr
        ),
        (Some(d), Some(p)) => format!(
            "survives selection: significant after {} trials (DSR {:.2}) and ranks in the top half out of sample in {:.0}% of splits (PBO {:.2})",
            d.trials,
            d.dsr,
            (1.0 - p.pbo) * 100.0,
            p.pbo
        ),
        (Some(d), None) => format!(
            "significant after {} trials (DSR {:.2}); PBO needs at least two trials and enough returns to split",
            d.trials, d.dsr
        ),
    };
    Overfitting {
        deflated,
        probabilistic,
        pbo,
        verdict,
    }
}

/// The Deflated Sharpe Ratio (Bailey & López de Prado 2014) and the Probability of Backtest
/// Overfitting by CSCV (Bailey et al. 2015), with their inputs. Sharpe ratios here are per bar.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Report {
    /// Plain words: likely overfit, no edge beyond chance, or survives selection.
    pub verdict: String,
    /// P(true Sharpe > 0) after allowing for the trials run.
    pub deflated_sharpe: Option<f64>,
    /// P(true Sharpe > 0) ignoring them.
    pub probabilistic_sharpe: Option<f64>,
    /// The best Sharpe luck alone would give over this many trials.
    pub expected_max_sharpe: Option<f64>,
    pub trials: usize,
    pub sharpe_variance: Option<f64>,
    pub best_sharpe: Option<f64>,
    pub skewness: Option<f64>,
    pub kurtosis: Option<f64>,
    pub observations: Option<usize>,
    /// Share of in/out-of-sample splits where the in-sample best ranks in the bottom half.
    pub pbo: Option<f64>,
    pub pbo_splits: Option<usize>,
    pub pbo_blocks: Option<usize>,
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

impl From<Overfitting> for Report {
    fn from(o: Overfitting) -> Self {
        let d = o.deflated.as_ref();
        Self {
            verdict: o.verdict,
            deflated_sharpe: d.and_then(|d| finite(d.dsr)),
            probabilistic_sharpe: o.probabilistic.and_then(finite),
            expected_max_sharpe: d.and_then(|d| finite(d.benchmark)),
            trials: d.map_or(0, |d| d.trials),
            sharpe_variance: d.and_then(|d| finite(d.variance)),
            best_sharpe: d.and_then(|d| finite(d.moments.sharpe)),
            skewness: d.and_then(|d| finite(d.moments.skewness)),
            kurtosis: d.and_then(|d| finite(d.moments.kurtosis)),
            observations: d.map(|d| d.moments.observations),
            pbo: o.pbo.as_ref().map(|p| p.pbo),
            pbo_splits: o.pbo.as_ref().map(|p| p.splits),
            pbo_blocks: o.pbo.as_ref().map(|p| p.blocks),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_normal_sample_has_skew_near_zero_and_kurtosis_near_three() {
        // A deterministic, symmetric sample: its skewness is exactly zero.
        let r: Vec<f64> = (0..1001).map(|i| ((i as f64) - 500.0) / 1000.0).collect();
        let m = moments(&r).unwrap();
        assert!(m.skewness.abs() < 1e-12);
        assert!((m.kurtosis - 1.8).abs() < 1e-2, "uniform: 9/5");
        assert!(m.sharpe.abs() < 1e-12);
    }

    #[test]
    fn more_trials_raise_the_bar_and_lower_the_dsr() {
        let r: Vec<f64> = (0..500)
            .map(|i| 0.001 + 0.01 * ((i * 7919 % 101) as f64 / 50.0 - 1.0))
            .collect();
        let m = moments(&r).unwrap();
        let few = deflated_sharpe(&m, &[m.sharpe, 0.0, 0.02]);
        let many: Vec<f64> = (0..200).map(|i| (i as f64 - 100.0) / 2000.0).collect();
        let many = deflated_sharpe(&m, &many);
        assert!(many.benchmark > few.benchmark);
        assert!(many.dsr < few.dsr);
        assert!(probabilistic_sharpe(&m, 0.0) > few.dsr);
    }

    #[test]
    fn power_sums_give_the_two_pass_moments() {
        let r: Vec<f64> = (0..700)
            .map(|i| 0.0004 + 0.01 * (((i * 7919) % 113) as f64 / 56.0 - 1.0))
            .collect();
        let (a, b) = (
            moments(&r).unwrap(),
            TrialSummary::new(&r, 16).moments().unwrap(),
        );
        assert!((a.sharpe - b.sharpe).abs() < 1e-9);
        assert!((a.skewness - b.skewness).abs() < 1e-7);
        assert!((a.kurtosis - b.kurtosis).abs() < 1e-7);
    }

    #[test]
    fn big_searches_split_into_fewer_blocks() {
        assert_eq!(pbo_blocks(20), 16);
        assert_eq!(pbo_blocks(78), 14, "C(14, 7) = 3,432 splits");
        assert_eq!(pbo_blocks(2_500), 10, "C(10, 5) = 252 splits");
        assert_eq!(pbo_blocks(100_000), 4);
        assert_eq!(choose(16, 8), 12_870);
    }

    #[test]
    fn every_split_is_counted_once() {
        let trials: Vec<Vec<f64>> = (0..5)
            .map(|t| {
                (0..160)
                    .map(|i| (((i * (t + 3)) % 17) as f64 - 8.0) / 100.0)
                    .collect()
            })
            .collect();
        let p = probability_of_overfitting(&trials, 8).unwrap();
        assert_eq!(p.splits, 70, "C(8, 4)");
        assert!((0.0..=1.0).contains(&p.pbo));
        assert!(
            probability_of_overfitting(&trials, 7).is_none(),
            "odd blocks"
        );
        assert!(
            probability_of_overfitting(&trials[..1], 8).is_none(),
            "one trial"
        );
    }
}
