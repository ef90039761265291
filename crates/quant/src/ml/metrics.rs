//! Out-of-sample scores of up-probabilities against 0/1 outcomes: accuracy (at 0.5), ROC AUC
//! (Mann–Whitney, ties counted half), log-loss (probabilities clipped to [1e-15, 1 − 1e-15]) and
//! the information coefficient (Spearman rank correlation of probability and forward return).

/// Fraction of rows where `p > 0.5` agrees with `y == 1`.
pub fn accuracy(p: &[f64], y: &[f64]) -> f64 {
    if p.is_empty() {
        return f64::NAN;
    }
    let hits = p
        .iter()
        .zip(y)
        .filter(|(p, y)| (**p > 0.5) == (**y > 0.5))
        .count();
    hits as f64 / p.len() as f64
}

/// Mean negative log-likelihood.
pub fn log_loss(p: &[f64], y: &[f64]) -> f64 {
    if p.is_empty() {
        return f64::NAN;
    }
    let s: f64 = p
        .iter()
        .zip(y)
        .map(|(p, y)| {
            let p = p.clamp(1e-15, 1.0 - 1e-15);
            -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
        })
        .sum();
    s / p.len() as f64
}

/// Average ranks (1-based), ties sharing their mean rank.
fn ranks(x: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && x[idx[j + 1]] == x[idx[i]] {
            j += 1;
        }
        let mean = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = mean;
        }
        i = j + 1;
    }
    r
}

/// Area under the ROC curve; NaN when one class is absent.
pub fn auc(p: &[f64], y: &[f64]) -> f64 {
    let r = ranks(p);
    let pos = y.iter().filter(|v| **v > 0.5).count() as f64;
    let neg = y.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return f64::NAN;
    }
    let sum: f64 = r
        .iter()
        .zip(y)
        .filter(|(_, y)| **y > 0.5)
        .map(|(r, _)| r)
        .sum();
    (sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

/// Spearman correlation of `a` and `b`.
pub fn information_coefficient(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    if n < 2.0 {
        return f64::NAN;
    }
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    sab / (saa * sbb).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_match_hand_computed_values() {
        let p = [0.9, 0.8, 0.3, 0.6, 0.2];
        let y = [1.0, 1.0, 0.0, 0.0, 1.0];
        assert_eq!(accuracy(&p, &y), 0.6);
        // Positives ranked 5, 4, 1 of 5; negatives 2, 3: (10 − 6) / (3·2).
        assert!((auc(&p, &y) - 4.0 / 6.0).abs() < 1e-12);
        let ll = -(0.9f64.ln() + 0.8f64.ln() + 0.7f64.ln() + 0.4f64.ln() + 0.2f64.ln()) / 5.0;
        assert!((log_loss(&p, &y) - ll).abs() < 1e-12);
        assert!((information_coefficient(&p, &p) - 1.0).abs() < 1e-12);
        assert!((information_coefficient(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        assert!(auc(&p, &[1.0; 5]).is_nan());
    }
}
