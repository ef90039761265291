//! Aligning several price series on their common timestamps, so period t means the same date
//! for every series (returns of misaligned series would compare different days).

use std::collections::BTreeMap;

/// Keeps only the timestamps present in **every** series and returns them (ascending) with one
/// column of closes per series, in input order: `matrix[i][t]` is series i's close at
/// `times[t]`.
///
/// Input order within a series does not matter; if a series repeats a timestamp, its last value
/// wins (a corrected bar usually arrives after the original). No series gives empty output.
/// `series` pairs a name (for the caller's bookkeeping) with `(time, close)` points.
pub fn align<S: AsRef<str>>(series: &[(S, &[(i64, f64)])]) -> (Vec<i64>, Vec<Vec<f64>>) {
    let maps: Vec<BTreeMap<i64, f64>> = series
        .iter()
        .map(|(_, points)| points.iter().copied().collect())
        .collect();
    let Some((first, rest)) = maps.split_first() else {
        return (Vec::new(), Vec::new());
    };
    let times: Vec<i64> = first
        .keys()
        .copied()
        .filter(|t| rest.iter().all(|m| m.contains_key(t)))
        .collect();
    let matrix = maps
        .iter()
        .map(|m| times.iter().filter_map(|t| m.get(t).copied()).collect())
        .collect();
    (times, matrix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_common_timestamps_in_order() {
        let a: &[(i64, f64)] = &[(3, 13.0), (1, 11.0), (2, 12.0), (4, 14.0)];
        let b: &[(i64, f64)] = &[(1, 21.0), (2, 22.0), (4, 24.0), (5, 25.0), (2, 22.5)];
        let (times, m) = align(&[("a", a), ("b", b)]);
        assert_eq!(times, vec![1, 2, 4]);
        assert_eq!(m, vec![vec![11.0, 12.0, 14.0], vec![21.0, 22.5, 24.0]]);
        let (times, m) = align::<&str>(&[]);
        assert!(times.is_empty() && m.is_empty());
        let (times, m) = align(&[("a", a), ("none", &[][..])]);
        assert!(times.is_empty());
        assert_eq!(m, vec![Vec::<f64>::new(), Vec::new()]);
    }
}
