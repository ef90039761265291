//! CMA-ES (Hansen, "The CMA Evolution Strategy: A Tutorial", 2016), (μ/μ_w, λ) with cumulative
//! step-size adaptation, rank-one and rank-μ covariance updates, over the grid's coordinates
//! scaled to [0, 1] per axis (samples outside are clipped, then rounded to the nearest grid point).
//! It restarts from a random mean with twice the population (IPOP, Auger & Hansen 2005) when the
//! step size falls below a grid cell, when the best value stops improving, or when its samples
//! keep landing on points already run.

// Index loops keep the matrix updates written as the tutorial's formulas.
#![allow(clippy::needless_range_loop)]

use super::{History, Proposer, normal, to_index, unit};
use crate::backtest::optimize::SplitMix64;

#[derive(Debug)]
pub(crate) struct Cmaes {
    lens: Vec<usize>,
    d: usize,
    lambda: usize,
    mean: Vec<f64>,
    sigma: f64,
    /// Covariance, its eigenvectors (columns) and the square roots of its eigenvalues.
    cov: Vec<Vec<f64>>,
    basis: Vec<Vec<f64>>,
    scale: Vec<f64>,
    ps: Vec<f64>,
    pc: Vec<f64>,
    generation: usize,
    /// The continuous samples of the last ask.
    samples: Vec<Vec<f64>>,
    best: f64,
    since_best: usize,
    stale: usize,
    started: bool,
}

impl Cmaes {
    pub(crate) fn new(lens: &[usize]) -> Self {
        let d = lens.len().max(1);
        let lambda = 4 + (3.0 * (d as f64).ln()).floor() as usize;
        let mut c = Cmaes {
            lens: lens.to_vec(),
            d,
            lambda,
            mean: vec![0.5; d],
            sigma: 0.3,
            cov: Vec::new(),
            basis: Vec::new(),
            scale: Vec::new(),
            ps: Vec::new(),
            pc: Vec::new(),
            generation: 0,
            samples: Vec::new(),
            best: f64::NEG_INFINITY,
            since_best: 0,
            stale: 0,
            started: false,
        };
        c.reset(None);
        c
    }

    /// Starts afresh (at `mean`, or the grid's centre).
    fn reset(&mut self, mean: Option<Vec<f64>>) {
        let d = self.d;
        self.mean = mean.unwrap_or_else(|| vec![0.5; d]);
        self.sigma = 0.3;
        self.cov = identity(d);
        self.basis = identity(d);
        self.scale = vec![1.0; d];
        self.ps = vec![0.0; d];
        self.pc = vec![0.0; d];
        self.generation = 0;
        self.best = f64::NEG_INFINITY;
        self.since_best = 0;
        self.stale = 0;
    }

    fn weights(&self) -> (usize, Vec<f64>, f64) {
        let mu = self.lambda / 2;
        let raw: Vec<f64> = (1..=mu)
            .map(|i| ((self.lambda as f64 + 1.0) / 2.0).ln() - (i as f64).ln())
            .collect();
        let sum: f64 = raw.iter().sum();
        let w: Vec<f64> = raw.iter().map(|x| x / sum).collect();
        let mueff = 1.0 / w.iter().map(|x| x * x).sum::<f64>();
        (mu, w, mueff)
    }

    fn restart(&mut self, rng: &mut SplitMix64) {
        self.lambda *= 2;
        let mean = (0..self.d).map(|_| unit(rng)).collect();
        self.reset(Some(mean));
    }
}

fn identity(d: usize) -> Vec<Vec<f64>> {
    (0..d)
        .map(|i| (0..d).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect()
}

/// Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations: (eigenvalues,
/// eigenvectors as columns).
fn eigen(a: &[Vec<f64>]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let d = a.len();
    let mut m = a.to_vec();
    let mut v = identity(d);
    for _sweep in 0..64 {
        let off: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[i][j] * m[i][j])
            .sum();
        if off < 1e-30 {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                if m[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (m[q][q] - m[p][p]) / (2.0 * m[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..d {
                    let (mkp, mkq) = (m[k][p], m[k][q]);
                    m[k][p] = c * mkp - s * mkq;
                    m[k][q] = s * mkp + c * mkq;
                }
                for k in 0..d {
                    let (mpk, mqk) = (m[p][k], m[q][k]);
                    m[p][k] = c * mpk - s * mqk;
                    m[q][k] = s * mpk + c * mqk;
                }
                for row in v.iter_mut() {
                    let (vp, vq) = (row[p], row[q]);
                    row[p] = c * vp - s * vq;
                    row[q] = s * vp + c * vq;
                }
            }
        }
    }
    ((0..d).map(|i| m[i][i]).collect(), v)
}

impl Proposer for Cmaes {
    fn ask(&mut self, history: &History, _n: usize, rng: &mut SplitMix64) -> Vec<Vec<usize>> {
        let d = self.d;
        let cell = self
            .lens
            .iter()
            .map(|&n| if n > 1 { 1.0 / (n - 1) as f64 } else { 1.0 })
            .fold(f64::INFINITY, f64::min);
        let spread = self.sigma
            * (0..d)
                .map(|i| self.cov[i][i].sqrt())
                .fold(0.0_f64, f64::max);
        let patience = 10 + (30.0 * d as f64 / self.lambda as f64).ceil() as usize;
        if self.started && (spread < 0.25 * cell || self.since_best > patience || self.stale >= 3) {
            self.restart(rng);
        }
        self.started = true;
        self.samples = (0..self.lambda)
            .map(|_| {
                let z: Vec<f64> = (0..d).map(|_| normal(rng)).collect();
                (0..d)
                    .map(|i| {
                        let y: f64 = (0..d)
                            .map(|j| self.basis[i][j] * self.scale[j] * z[j])
                            .sum();
                        (self.mean[i] + self.sigma * y).clamp(0.0, 1.0)
                    })
                    .collect()
            })
            .collect();
        let points: Vec<Vec<usize>> = self
            .samples
            .iter()
            .map(|x| {
                x.iter()
                    .zip(&self.lens)
                    .map(|(&u, &n)| to_index(u, n))
                    .collect()
            })
            .collect();
        let new = points.iter().filter(|p| !history.contains(p)).count();
        self.stale = if new == 0 { self.stale + 1 } else { 0 };
        points
    }

    fn tell(&mut self, values: &[Option<f64>]) {
        let d = self.d;
        let (mu, w, mueff) = self.weights();
        let n = d as f64;
        let cs = (mueff + 2.0) / (n + mueff + 5.0);
        let ds = 1.0 + 2.0 * (((mueff - 1.0) / (n + 1.0)).sqrt() - 1.0).max(0.0) + cs;
        let cc = (4.0 + mueff / n) / (n + 4.0 + 2.0 * mueff / n);
        let c1 = 2.0 / ((n + 1.3).powi(2) + mueff);
        let cmu = (1.0 - c1).min(2.0 * (mueff - 2.0 + 1.0 / mueff) / ((n + 2.0).powi(2) + mueff));
        let chi = n.sqrt() * (1.0 - 1.0 / (4.0 * n) + 1.0 / (21.0 * n * n));

        let mut order: Vec<usize> = (0..self.samples.len().min(values.len())).collect();
        let v = |i: usize| values[i].unwrap_or(f64::NEG_INFINITY);
        order.sort_by(|&a, &b| v(b).total_cmp(&v(a)));
        if order.len() < mu {
            return;
        }
        if let Some(&top) = order.first() {
            if v(top) > self.best {
                self.best = v(top);
                self.since_best = 0;
            } else {
                self.since_best += 1;
            }
        }
        let old = self.mean.clone();
        let ys: Vec<Vec<f64>> = order[..mu]
            .iter()
            .map(|&k| {
                (0..d)
                    .map(|i| (self.samples[k][i] - old[i]) / self.sigma)
                    .collect()
            })
            .collect();
        let yw: Vec<f64> = (0..d)
            .map(|i| ys.iter().zip(&w).map(|(y, wk)| wk * y[i]).sum())
            .collect();
        for i in 0..d {
            self.mean[i] = old[i] + self.sigma * yw[i];
        }
        // C^(-1/2) · yw = B · D^(-1) · Bᵀ · yw.
        let bt_y: Vec<f64> = (0..d)
            .map(|j| (0..d).map(|i| self.basis[i][j] * yw[i]).sum::<f64>() / self.scale[j])
            .collect();
        let inv_sqrt_y: Vec<f64> = (0..d)
            .map(|i| (0..d).map(|j| self.basis[i][j] * bt_y[j]).sum())
            .collect();
        let k = (cs * (2.0 - cs) * mueff).sqrt();
        for i in 0..d {
            self.ps[i] = (1.0 - cs) * self.ps[i] + k * inv_sqrt_y[i];
        }
        let ps_norm = self.ps.iter().map(|x| x * x).sum::<f64>().sqrt();
        self.generation += 1;
        let hsig = ps_norm / (1.0 - (1.0 - cs).powi(2 * self.generation as i32)).sqrt() / chi
            < 1.4 + 2.0 / (n + 1.0);
        let hs = if hsig { 1.0 } else { 0.0 };
        let kc = (cc * (2.0 - cc) * mueff).sqrt();
        for i in 0..d {
            self.pc[i] = (1.0 - cc) * self.pc[i] + hs * kc * yw[i];
        }
        let keep = 1.0 - c1 - cmu + (1.0 - hs) * c1 * cc * (2.0 - cc);
        for i in 0..d {
            for j in 0..d {
                let rank_mu: f64 = ys.iter().zip(&w).map(|(y, wk)| wk * y[i] * y[j]).sum();
                self.cov[i][j] =
                    keep * self.cov[i][j] + c1 * self.pc[i] * self.pc[j] + cmu * rank_mu;
            }
        }
        self.sigma *= ((cs / ds) * (ps_norm / chi - 1.0)).exp();
        self.sigma = self.sigma.min(1.0);
        let (values, basis) = eigen(&self.cov);
        self.scale = values.iter().map(|x| x.max(1e-20).sqrt()).collect();
        self.basis = basis;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_recovers_a_known_decomposition() {
        let a = vec![vec![2.0, 1.0], vec![1.0, 2.0]];
        let (mut vals, _) = eigen(&a);
        vals.sort_by(f64::total_cmp);
        assert!((vals[0] - 1.0).abs() < 1e-12 && (vals[1] - 3.0).abs() < 1e-12);
    }
}
