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

/// Per-block sums of one trial's returns, so any union of blocks is summed in O(blocks).
struct BlockSums {
    count: Vec<f64>,
    sum: Vec<f64>,
    squares: Vec<f64>,
}

fn sharpe_of(blocks: &BlockSums, chosen: &[bool]) -> f64 {
    let (mut n, mut s, mut q) = (0.0, 0.0, 0.0);
    for (b, &on) in chosen.iter().enumerate() {
        if on {
            n += blocks.count[b];
            s += blocks.sum[b];
            q += blocks.squares[b];
        }
    }
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
    let n = trials.len();
    let rows = trials.first()?.len();
    if n < 2 || blocks < 2 || !blocks.is_multiple_of(2) || trials.iter().any(|t| t.len() != rows) {
        return None;
    }
    let size = rows / blocks;
    if size < 2 {
        return None;
    }
    let skip = rows - size * blocks;
    let sums: Vec<BlockSums> = trials
        .iter()
        .map(|t| {
            let mut b = BlockSums {
                count: vec![0.0; blocks],
                sum: vec![0.0; blocks],
                squares: vec![0.0; blocks],
            };
            for (k, r) in t[skip..].iter().enumerate() {
                let block = k / size;
                b.count[block] += 1.0;
                b.sum[block] += r;
                b.squares[block] += r * r;
            }
            b
        })
        .collect();
    let mut logits = Vec::new();
    let mut chosen = vec![false; blocks];
    let mut is = vec![0.0; n];
    let mut oos = vec![0.0; n];
    // Every subset of half the blocks, in lexicographic order of block indices.
    let half = blocks / 2;
    let mut pick: Vec<usize> = (0..half).collect();
    loop {
        chosen.iter_mut().for_each(|c| *c = false);
        pick.iter().for_each(|&b| chosen[b] = true);
        let complement: Vec<bool> = chosen.iter().map(|c| !c).collect();
        for (t, s) in sums.iter().enumerate() {
            is[t] = sharpe_of(s, &chosen);
            oos[t] = sharpe_of(s, &complement);
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
