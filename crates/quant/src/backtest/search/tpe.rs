//! The tree-structured Parzen estimator (Bergstra et al. 2011), multivariate: the runs so far are
//! split into the best few ("good", the top 10%, at most 25) and the rest; each group becomes a
//! mixture of Gaussian kernels over the grid (coordinates scaled to [0, 1] per axis, one kernel
//! per run plus a uniform prior); candidates are drawn from the good mixture and the one with the
//! highest ratio good/rest density that has not run yet is proposed.

use super::{History, Proposer, normal, random_point, to_index, to_unit, unit};
use crate::backtest::optimize::SplitMix64;

/// Candidates drawn per proposal (Optuna's default).
const CANDIDATES: usize = 24;

#[derive(Debug)]
pub(crate) struct Tpe {
    lens: Vec<usize>,
    startup: usize,
}

impl Tpe {
    pub(crate) fn new(lens: &[usize]) -> Self {
        Tpe {
            lens: lens.to_vec(),
            startup: 16.max(2 * lens.len() + 2),
        }
    }
}

/// A mixture of Gaussian kernels over [0, 1]^d plus a uniform prior of equal weight.
struct Parzen {
    centres: Vec<Vec<f64>>,
    width: Vec<f64>,
}

impl Parzen {
    fn new(points: &[Vec<f64>], lens: &[usize]) -> Self {
        let d = lens.len();
        let m = points.len().max(1) as f64;
        let width = (0..d)
            .map(|i| {
                let mean = points.iter().map(|p| p[i]).sum::<f64>() / m;
                let var = points.iter().map(|p| (p[i] - mean).powi(2)).sum::<f64>() / m;
                // Scott's rule, never narrower than one grid step nor wider than the axis.
                let cell = if lens[i] > 1 {
                    1.0 / (lens[i] - 1) as f64
                } else {
                    1.0
                };
                (var.sqrt() * m.powf(-1.0 / (d as f64 + 4.0))).clamp(cell, 1.0)
            })
            .collect();
        Parzen {
            centres: points.to_vec(),
            width,
        }
    }

    /// Log density at `x` (the prior keeps it finite everywhere).
    fn log_density(&self, x: &[f64]) -> f64 {
        let mut total = 1.0; // the uniform prior's density on [0, 1]^d
        for c in &self.centres {
            let mut k = 1.0;
            for ((xi, ci), h) in x.iter().zip(c).zip(&self.width) {
                let z = (xi - ci) / h;
                k *= (-0.5 * z * z).exp() / (h * (std::f64::consts::TAU).sqrt());
            }
            total += k;
        }
        (total / (self.centres.len() + 1) as f64).ln()
    }

    /// A draw: a kernel chosen uniformly (or the prior), then a Gaussian step per axis.
    fn sample(&self, lens: &[usize], rng: &mut SplitMix64) -> Vec<usize> {
        let k = rng.below(self.centres.len() + 1);
        match self.centres.get(k) {
            None => random_point(lens, rng),
            Some(c) => c
                .iter()
                .zip(&self.width)
                .zip(lens)
                .map(|((ci, h), &n)| to_index(ci + h * normal(rng), n))
                .collect(),
        }
    }
}

impl Tpe {
    fn unit_point(&self, idx: &[usize]) -> Vec<f64> {
        idx.iter()
            .zip(&self.lens)
            .map(|(&i, &n)| to_unit(i, n))
            .collect()
    }

    /// An unseen point drawn uniformly (a few tries; the grid is larger than the budget).
    fn unseen(
        &self,
        history: &History,
        taken: &[Vec<usize>],
        rng: &mut SplitMix64,
    ) -> Option<Vec<usize>> {
        (0..256)
            .map(|_| random_point(&self.lens, rng))
            .find(|p| !history.contains(p) && !taken.contains(p))
    }
}

impl Proposer for Tpe {
    fn ask(&mut self, history: &History, n: usize, rng: &mut SplitMix64) -> Vec<Vec<usize>> {
        let mut out: Vec<Vec<usize>> = Vec::with_capacity(n);
        let runs = history.points();
        if runs.len() < self.startup {
            while out.len() < n {
                match self.unseen(history, &out, rng) {
                    Some(p) => out.push(p),
                    None => break,
                }
            }
            return out;
        }
        // Best first; undefined and excluded points rank last.
        let mut order: Vec<usize> = (0..runs.len()).collect();
        order.sort_by(|&a, &b| match (runs[a].1, runs[b].1) {
            (Some(x), Some(y)) => y.total_cmp(&x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });
        let good_n = (runs.len() as f64 * 0.1).ceil().clamp(1.0, 25.0) as usize;
        let pts = |ix: &[usize]| -> Vec<Vec<f64>> {
            ix.iter().map(|&i| self.unit_point(&runs[i].0)).collect()
        };
        let good = Parzen::new(&pts(&order[..good_n]), &self.lens);
        let rest = Parzen::new(&pts(&order[good_n..]), &self.lens);
        for _ in 0..n {
            let mut best: Option<(f64, Vec<usize>)> = None;
            for _ in 0..CANDIDATES {
                let c = good.sample(&self.lens, rng);
                if history.contains(&c) || out.contains(&c) {
                    continue;
                }
                let u = self.unit_point(&c);
                // Ties broken at random so equal scores do not always pick the first draw.
                let score = good.log_density(&u) - rest.log_density(&u) + 1e-12 * unit(rng);
                if best.as_ref().is_none_or(|(s, _)| score > *s) {
                    best = Some((score, c));
                }
            }
            match best
                .map(|(_, c)| c)
                .or_else(|| self.unseen(history, &out, rng))
            {
                Some(p) => out.push(p),
                None => break,
            }
        }
        out
    }

    fn tell(&mut self, _values: &[Option<f64>]) {
        // The estimator is rebuilt from the whole history at each ask.
    }
}
