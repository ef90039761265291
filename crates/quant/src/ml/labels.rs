//! Labels: the sign of the forward return over `h` bars (row `i`'s label is 1 when
//! `close[i + h] > close[i]`, 0 otherwise), or the triple barrier (López de Prado, 2018, ch. 3:
//! 1 when the close reaches an upper barrier before a lower one within `h` bars, 0 when the
//! lower comes first, the sign at `h` when neither). Either is unknown for the last `h` rows;
//! its label window, the bars it reads beyond its own, is `i + 1 ..= i + h`.

/// How a row's outcome is labelled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Label {
    ForwardSign,
    /// Barriers at ± `width` × the volatility of the last [`VOL_BARS`] one-bar log returns,
    /// scaled to the horizon (× √h).
    TripleBarrier {
        width: f64,
    },
}

/// Bars of returns the triple barrier's volatility is measured over.
pub const VOL_BARS: usize = 20;

impl Label {
    pub const NAMES: [&'static str; 2] = ["forward_sign", "triple_barrier"];

    pub fn name(self) -> &'static str {
        match self {
            Label::ForwardSign => "forward_sign",
            Label::TripleBarrier { .. } => "triple_barrier",
        }
    }

    /// `forward_sign` or `triple_barrier` (barriers at one volatility).
    pub fn parse(name: &str) -> Option<Label> {
        match name.trim().to_ascii_lowercase().as_str() {
            "forward_sign" | "sign" => Some(Label::ForwardSign),
            "triple_barrier" => Some(Label::TripleBarrier { width: 1.0 }),
            _ => None,
        }
    }

    /// The label of every row over `horizon` bars (None where unknown).
    pub fn compute(self, close: &[f64], horizon: usize) -> Vec<Option<f64>> {
        match self {
            Label::ForwardSign => forward_sign(close, horizon),
            Label::TripleBarrier { width } => triple_barrier(close, horizon, width),
        }
    }
}

/// The triple-barrier label (see [`Label::TripleBarrier`]); unknown where the volatility or the
/// future is.
pub fn triple_barrier(close: &[f64], horizon: usize, width: f64) -> Vec<Option<f64>> {
    let h = horizon.max(1);
    let sign = forward_sign(close, h);
    let lr: Vec<f64> = (0..close.len())
        .map(|i| match i {
            0 => f64::NAN,
            _ => (close[i] / close[i - 1]).ln(),
        })
        .collect();
    (0..close.len())
        .map(|i| {
            let s = sign[i]?;
            let past = lr.get(i.checked_sub(VOL_BARS - 1)?..=i)?;
            if past.iter().any(|v| !v.is_finite()) {
                return None;
            }
            let mean = past.iter().sum::<f64>() / VOL_BARS as f64;
            let var = past.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (VOL_BARS - 1) as f64;
            let band = width * (var * h as f64).sqrt();
            let (up, down) = (close[i] * band.exp(), close[i] * (-band).exp());
            for c in &close[i + 1..=i + h] {
                if *c >= up {
                    return Some(1.0);
                }
                if *c <= down {
                    return Some(0.0);
                }
            }
            Some(s)
        })
        .collect()
}

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

    #[test]
    fn the_triple_barrier_takes_the_first_barrier_touched() {
        // Twenty-one quiet bars (volatility ~1%), then: up 5% and back down (the upper barrier
        // first), down 5% then far up (the lower first), and a drift inside the barriers.
        let mut close: Vec<f64> = (0..21)
            .map(|i| 100.0 * (1.0 + 0.01 * f64::from(i % 2)))
            .collect();
        close.extend([105.0, 90.0, 100.0, 100.5, 100.6, 100.7, 100.8]);
        let l = triple_barrier(&close, 2, 1.0);
        assert_eq!(l[..19], [None; 19]);
        assert_eq!(l[20], Some(1.0), "105 reached before 90");
        assert_eq!(l[21], Some(0.0), "90 comes first");
        assert_eq!(l[24], Some(1.0), "no barrier touched: the sign at h");
        assert_eq!(l[27], None);
        assert_eq!(
            Label::parse("triple_barrier").map(Label::name),
            Some("triple_barrier")
        );
        assert!(Label::parse("up").is_none());
    }
}
