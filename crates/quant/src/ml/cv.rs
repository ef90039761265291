//! Purged, embargoed walk-forward splits. The rows are cut into `folds + 1` consecutive blocks;
//! fold `k` tests on block `k + 1` and trains on rows before it, minus
//! - the **purge**: every row whose label window (up to `label_end(row)`) reaches the test block,
//! - the **embargo**: `embargo` more rows just before the test block (features and labels of
//!   neighbouring bars are correlated; the gap keeps the nearest ones out).
//!
//! Training only ever sees the past: a walk-forward model is what a person would have had on the
//! test block's first day.

use std::ops::Range;

use thiserror::Error;

/// One fold: the rows to train on and the block to test on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub train: Range<usize>,
    pub test: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CvError {
    #[error("{rows} rows are too few for {folds} walk-forward folds with a horizon of {horizon}")]
    TooFew {
        rows: usize,
        folds: usize,
        horizon: usize,
    },
    #[error(
        "leak: training row {train_row} (label to row {label_end}) overlaps fold {fold}'s test \
         rows {test_start}..{test_end}"
    )]
    Leak {
        fold: usize,
        train_row: usize,
        label_end: usize,
        test_start: usize,
        test_end: usize,
    },
}

/// Walk-forward splits of `rows` rows into `folds` folds, purged for labels that end at
/// `label_end(row)` and embargoed by `embargo` rows. Each fold keeps at least `min_train` rows.
pub fn walk_forward(
    rows: usize,
    folds: usize,
    label_end: &dyn Fn(usize) -> usize,
    embargo: usize,
    min_train: usize,
) -> Result<Vec<Split>, CvError> {
    let horizon = label_end(0);
    let too_few = CvError::TooFew {
        rows,
        folds,
        horizon,
    };
    if folds == 0 {
        return Err(too_few);
    }
    let block = rows / (folds + 1);
    if block == 0 {
        return Err(too_few);
    }
    let mut out = Vec::with_capacity(folds);
    for k in 0..folds {
        let start = block * (k + 1);
        let end = if k + 1 == folds { rows } else { start + block };
        // Rows before `start` whose label ends before it: label_end is increasing, so they are
        // a prefix; then the embargo.
        let purged = (0..start).take_while(|&j| label_end(j) < start).count();
        let train_end = purged.saturating_sub(embargo);
        if train_end < min_train.max(1) {
            return Err(too_few);
        }
        out.push(Split {
            train: 0..train_end,
            test: start..end,
        });
    }
    Ok(out)
}

/// Checks that no training row's label window `j ..= label_end(j)` overlaps any test row's
/// `i ..= label_end(i)` in the same fold.
pub fn check_no_leak(splits: &[Split], label_end: &dyn Fn(usize) -> usize) -> Result<(), CvError> {
    for (fold, s) in splits.iter().enumerate() {
        if s.test.is_empty() {
            continue;
        }
        let test_start = s.test.start;
        let test_end = label_end(s.test.end - 1);
        for j in s.train.clone() {
            let end = label_end(j);
            // Overlap of [j, end] and [test_start, test_end].
            if j <= test_end && end >= test_start {
                return Err(CvError::Leak {
                    fold,
                    train_row: j,
                    label_end: end,
                    test_start,
                    test_end,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ml::labels;

    #[test]
    fn splits_are_purged_embargoed_and_only_look_back() {
        let h = 5;
        let end = |i| labels::label_end(i, h);
        let splits = walk_forward(1_000, 4, &end, 10, 50).unwrap();
        assert_eq!(splits.len(), 4);
        for s in &splits {
            // Purge: the last training row's label ends before the test block, with the embargo.
            assert_eq!(s.train.end + 10 + h, s.test.start);
            assert!(s.train.start == 0 && s.train.end <= s.test.start);
        }
        assert_eq!(splits[3].test.end, 1_000);
        check_no_leak(&splits, &end).unwrap();
    }

    #[test]
    fn a_label_shifted_one_bar_into_the_future_is_caught() {
        let h = 5;
        // Splits purged for an h-bar label, without an embargo...
        let splits = walk_forward(600, 3, &|i| labels::label_end(i, h), 0, 20).unwrap();
        check_no_leak(&splits, &|i| labels::label_end(i, h)).unwrap();
        // ...are caught leaking when the label actually reads one bar further.
        let err = check_no_leak(&splits, &|i| labels::label_end(i, h) + 1).unwrap_err();
        assert!(
            matches!(err, CvError::Leak { fold: 0, train_row, test_start, .. } if train_row + h + 1 == test_start),
            "{err}"
        );
    }

    #[test]
    fn too_few_rows_is_an_error_not_an_empty_training_set() {
        let end = |i| labels::label_end(i, 20);
        assert!(matches!(
            walk_forward(30, 5, &end, 0, 10),
            Err(CvError::TooFew { .. })
        ));
    }
}
