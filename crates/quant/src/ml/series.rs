//! A model as a series for strategies: `model("id")` in a rule reads, at each bar, an
//! up-probability from a model trained only on rows whose labels had ended (plus an embargo)
//! before that bar — expanding walk-forward windows over the backtest's own bars — so a
//! backtest of "buy when the up-probability is above 0.6" is out of sample by construction.
//! Also the feature hash that tells a stored model from one whose features mean something else.

use std::borrow::Cow;
use std::sync::Arc;

use super::features;
use super::gbt::Gbt;
use super::train::{self, Request, TrainError};
use crate::indicators::Columns;

/// A model's predictions over a run of bars, kept by bar time so any window of those bars (a
/// walk-forward fold, a robustness slice) reads the same values.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSeries {
    pub time: Vec<i64>,
    pub value: Vec<f64>,
}

impl ModelSeries {
    /// The values at the bars `time` (NaN where this series has none): borrowed when `time` is
    /// a contiguous run of this series' bars, as it is for a backtest and each of its windows.
    pub fn aligned(&self, time: &[i64]) -> Cow<'_, [f64]> {
        if let (Some(first), Some(last)) = (time.first(), time.last())
            && let Ok(at) = self.time.binary_search(first)
            && self.time.get(at + time.len() - 1) == Some(last)
        {
            return Cow::Borrowed(&self.value[at..at + time.len()]);
        }
        time.iter()
            .map(|t| {
                self.time
                    .binary_search(t)
                    .map_or(f64::NAN, |k| self.value[k])
            })
            .collect()
    }
}

/// Up-probabilities at every bar of `cols` from `req`'s recipe, each from gradient-boosted trees
/// fitted only on rows `i` with `i + horizon + embargo < s`, where `s` is the first bar of the
/// window holding that bar. Bars before the first window (too little history to train on) and
/// bars whose features are unknown are NaN.
pub fn walk_forward_predictions(
    cols: &Columns<'_>,
    req: &Request,
) -> Result<Arc<ModelSeries>, TrainError> {
    let set = features::compute(cols, &req.features)?;
    let n = cols.len();
    let h = req.horizon.max(1);
    let label = req.label.compute(cols.close, h);
    let rows: Vec<Option<Vec<f64>>> = (0..n).map(|i| set.row(i)).collect();
    let usable: Vec<usize> = (0..n)
        .filter(|&i| rows[i].is_some() && label[i].is_some())
        .collect();
    let min_train = train::min_train_rows(set.names.len());
    let gap = h + req.embargo;
    let first_test = usable
        .get(min_train - 1)
        .map(|&i| i + gap + 1)
        .filter(|&s| s < n)
        .ok_or_else(|| {
            TrainError::Data(format!(
                "{n} bars are too few for a walk-forward model series: it trains on at least \
                 {min_train} labelled rows (horizon {h}, embargo {}) before its first prediction",
                req.embargo
            ))
        })?;
    // As many windows as the recipe's evaluation folds.
    let windows = req.folds.max(1);
    let span = (n - first_test).div_ceil(windows);
    let mut value = vec![f64::NAN; n];
    let mut s = first_test;
    while s < n {
        let e = (s + span).min(n);
        let train: Vec<usize> = usable.iter().copied().filter(|&i| i + gap < s).collect();
        let x: Vec<Vec<f64>> = train.iter().filter_map(|&i| rows[i].clone()).collect();
        let y: Vec<f64> = train.iter().filter_map(|&i| label[i]).collect();
        let gbt = Gbt::fit(&x, &y, req.threads)?;
        let at: Vec<usize> = (s..e).filter(|&i| rows[i].is_some()).collect();
        let xs: Vec<Vec<f64>> = at.iter().filter_map(|&i| rows[i].clone()).collect();
        for (i, p) in at.into_iter().zip(gbt.predict(&xs)) {
            value[i] = p;
        }
        s = e;
    }
    Ok(Arc::new(ModelSeries {
        time: cols.time.to_vec(),
        value,
    }))
}

/// A short, stable fingerprint of what `names` compute (each default name resolved to its
/// expression): a stored model whose hash differs from today's was trained on features that
/// now mean something else. FNV-1a, 64 bits, as hex.
pub fn feature_hash(names: &[String]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for name in names {
        for b in features::expression_of(name.trim())
            .bytes()
            .chain(std::iter::once(0))
        {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::OwnedColumns;

    fn bars(n: usize, seed: u64) -> OwnedColumns {
        let mut rng = crate::backtest::optimize::SplitMix64(seed);
        let mut c = OwnedColumns::default();
        let mut p = 100.0;
        for i in 0..n {
            let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            p *= 1.0 + 0.02 * (u - 0.5);
            c.time.push(1_600_000_000 + 86_400 * i as i64);
            c.open.push(p);
            c.high.push(p * 1.01);
            c.low.push(p * 0.99);
            c.close.push(p);
            c.volume.push(1000.0 + u * 500.0);
        }
        c
    }

    #[test]
    fn no_prediction_reads_a_later_bar() {
        let mut req = Request::new(5);
        req.threads = Some(1);
        let a = bars(900, 3);
        let pa = walk_forward_predictions(&a.view(), &req).unwrap();
        // The same bars up to 600, then a different future: every prediction before bar 600 is
        // the same, so none of them was made with anything at or after bar 600.
        let mut b = bars(900, 4);
        for v in [
            (&mut b.open, &a.open),
            (&mut b.high, &a.high),
            (&mut b.low, &a.low),
            (&mut b.close, &a.close),
            (&mut b.volume, &a.volume),
        ] {
            v.0[..600].copy_from_slice(&v.1[..600]);
        }
        let pb = walk_forward_predictions(&b.view(), &req).unwrap();
        let known = pa.value[..600].iter().filter(|v| v.is_finite()).count();
        assert!(known > 300, "{known} predictions before bar 600");
        for i in 0..600 {
            assert!(
                pa.value[i] == pb.value[i] || (pa.value[i].is_nan() && pb.value[i].is_nan()),
                "bar {i}: {} vs {}",
                pa.value[i],
                pb.value[i]
            );
        }
        assert!((600..900).any(|i| pa.value[i] != pb.value[i]));
        // The first window starts after 90 labelled rows (ten per feature; the first is bar 33,
        // MACD's warm-up), the horizon (5), the embargo (5) and one bar: at bar 122 + 11.
        let first = pa.value.iter().position(|v| v.is_finite()).unwrap();
        assert_eq!(first, 33 + 89 + 5 + 5 + 1);
        // A window of the bars reads the same values.
        let w = pa.aligned(&a.time[700..720]);
        assert_eq!(&*w, &pa.value[700..720]);
        assert!(matches!(w, Cow::Borrowed(_)));
        assert!(pa.aligned(&[1]).iter().all(|v| v.is_nan()));
    }

    #[test]
    fn the_hash_follows_what_features_compute() {
        let a = feature_hash(&["ret_1".into(), "rsi_14".into()]);
        assert_eq!(a, feature_hash(&["roc(1)".into(), "rsi(14)".into()]));
        assert_ne!(a, feature_hash(&["rsi_14".into(), "ret_1".into()]));
        assert_eq!(a.len(), 16);
        assert!(walk_forward_predictions(&bars(60, 1).view(), &Request::new(5)).is_err());
    }
}
