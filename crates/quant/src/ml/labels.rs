//! Labels: the sign of the forward return over `h` bars. Row `i`'s label is 1 when
//! `close[i + h] > close[i]`, 0 otherwise, and unknown for the last `h` rows; its label window,
//! the bars it reads beyond its own, is `i + 1 ..= i + h`.

/// The forward-return sign over `horizon` bars (None where the future bar is missing or a price
/// is not finite).
pub fn forward_sign(close: &[f64], horizon: usize) -> Vec<Option<f64>> {
    (0..close.len())
        .map(|i| {
            let j = i.checked_add(horizon.max(1))?;
            let (a, b) = (close[i], *close.get(j)?);
            (a.is_finite() && b.is_finite()).then_some(if b > a { 1.0 } else { 0.0 })
        })
        .collect()
}

/// The last bar row `i`'s forward-sign label over `horizon` reads.
pub fn label_end(i: usize, horizon: usize) -> usize {
    i + horizon.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_label_is_the_sign_h_bars_ahead() {
        let close = [1.0, 2.0, 1.5, 3.0, 3.0];
        assert_eq!(
            forward_sign(&close, 1),
            vec![Some(1.0), Some(0.0), Some(1.0), Some(0.0), None]
        );
        assert_eq!(
            forward_sign(&close, 2),
            vec![Some(1.0), Some(1.0), Some(1.0), None, None]
        );
        assert_eq!(label_end(3, 2), 5);
    }
}
