//! The logistic-regression baseline: features standardised on the training rows, an L2 penalty
//! (λ = 1 per row-sum, on the weights, not the intercept), fitted by Newton's method (IRLS) with
//! a Cholesky solve of the (features + 1)² system, so 100,000 rows × 40 features fit in a few
//! passes.

use serde::{Deserialize, Serialize};

/// A fitted model: standardisation, then the linear score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Logistic {
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
    pub weights: Vec<f64>,
    pub intercept: f64,
}

const L2: f64 = 1.0;
const ITERATIONS: usize = 25;

impl Logistic {
    /// Fits rows `x` (each of the same width) to outcomes `y` in {0, 1}.
    pub fn fit(x: &[Vec<f64>], y: &[f64]) -> Logistic {
        let p = x.first().map_or(0, Vec::len);
        let n = x.len().max(1) as f64;
        let mean: Vec<f64> = (0..p)
            .map(|j| x.iter().map(|r| r[j]).sum::<f64>() / n)
            .collect();
        let scale: Vec<f64> = (0..p)
            .map(|j| {
                let v = x.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f64>() / n;
                if v > 1e-24 { v.sqrt() } else { 1.0 }
            })
            .collect();
        let z = |r: &[f64]| -> Vec<f64> {
            let mut out: Vec<f64> = r
                .iter()
                .zip(&mean)
                .zip(&scale)
                .map(|((v, m), s)| (v - m) / s)
                .collect();
            out.push(1.0);
            out
        };
        let rows: Vec<Vec<f64>> = x.iter().map(|r| z(r)).collect();
        let k = p + 1;
        let mut beta = vec![0.0; k];
        for _ in 0..ITERATIONS {
            let mut grad = vec![0.0; k];
            let mut hess = vec![0.0; k * k];
            for (r, &yi) in rows.iter().zip(y) {
                let s: f64 = r.iter().zip(&beta).map(|(a, b)| a * b).sum();
                let mu = sigmoid(s);
                let w = (mu * (1.0 - mu)).max(1e-12);
                for a in 0..k {
                    grad[a] += (mu - yi) * r[a];
                    let wa = w * r[a];
                    for b in 0..=a {
                        hess[a * k + b] += wa * r[b];
                    }
                }
            }
            for a in 0..p {
                grad[a] += L2 * beta[a];
                hess[a * k + a] += L2;
            }
            for a in 0..k {
                for b in 0..a {
                    hess[b * k + a] = hess[a * k + b];
                }
            }
            let Some(step) = solve(&hess, &grad, k) else {
                break;
            };
            let mut largest: f64 = 0.0;
            for (b, s) in beta.iter_mut().zip(&step) {
                *b -= s;
                largest = largest.max(s.abs());
            }
            if largest < 1e-10 {
                break;
            }
        }
        let intercept = beta.pop().unwrap_or(0.0);
        Logistic {
            mean,
            scale,
            weights: beta,
            intercept,
        }
    }

    /// The probability that the outcome is 1 for row `r`.
    pub fn predict(&self, r: &[f64]) -> f64 {
        let s: f64 = r
            .iter()
            .zip(&self.mean)
            .zip(&self.scale)
            .zip(&self.weights)
            .map(|(((v, m), sc), w)| (v - m) / sc * w)
            .sum();
        sigmoid(s + self.intercept)
    }
}

fn sigmoid(s: f64) -> f64 {
    1.0 / (1.0 + (-s).exp())
}

/// Solves the symmetric positive-definite system `a · x = b` (Cholesky); None if it is not.
fn solve(a: &[f64], b: &[f64], k: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..=i {
            let s: f64 = (0..j).map(|m| l[i * k + m] * l[j * k + m]).sum();
            if i == j {
                let d = a[i * k + i] - s;
                if d <= 0.0 || !d.is_finite() {
                    return None;
                }
                l[i * k + i] = d.sqrt();
            } else {
                l[i * k + j] = (a[i * k + j] - s) / l[j * k + j];
            }
        }
    }
    let mut y = vec![0.0; k];
    for i in 0..k {
        let s: f64 = (0..i).map(|m| l[i * k + m] * y[m]).sum();
        y[i] = (b[i] - s) / l[i * k + i];
    }
    let mut x = vec![0.0; k];
    for i in (0..k).rev() {
        let s: f64 = (i + 1..k).map(|m| l[m * k + i] * x[m]).sum();
        x[i] = (y[i] - s) / l[i * k + i];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::optimize::SplitMix64;

    #[test]
    fn it_recovers_a_known_linear_rule() {
        // y = 1 when 2·x0 − x1 + noise > 0; x2 is noise.
        let mut rng = SplitMix64(3);
        let mut u = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
        let x: Vec<Vec<f64>> = (0..4_000).map(|_| vec![u(), u(), u()]).collect();
        let y: Vec<f64> = x
            .iter()
            .map(|r| f64::from(2.0 * r[0] - r[1] + 0.1 * (r[2] * 7.0).sin() > 0.0))
            .collect();
        let m = Logistic::fit(&x, &y);
        assert!(m.weights[0] > 0.0 && m.weights[1] < 0.0);
        assert!(m.weights[0] > 1.5 * m.weights[1].abs());
        let hits = x
            .iter()
            .zip(&y)
            .filter(|(r, y)| (m.predict(r) > 0.5) == (**y > 0.5))
            .count();
        assert!(hits as f64 / 4_000.0 > 0.9, "{hits}");
    }
}
