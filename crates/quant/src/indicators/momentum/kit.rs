//! Shared building blocks of the momentum, volume and volatility families.

use std::collections::VecDeque;

use super::super::IndicatorError;

/// TA-Lib's largest period.
pub(crate) const MAX_PERIOD: usize = 100_000;

/// TA-Lib's epsilon (`TA_EPSILON`).
const EPSILON: f64 = 1e-14;

/// TA-Lib's fixed zero band, for dimensionless quantities.
#[inline(always)]
pub(crate) fn is_zero(v: f64) -> bool {
    -EPSILON < v && v < EPSILON
}

/// TA-Lib's scale-aware zero test (`TA_IS_ZERO_SCALED`): `v` is zero when within 1e-14 of
/// `scale`, the magnitude of the operands `v` was computed from.
#[inline(always)]
pub(crate) fn is_zero_scaled(v: f64, scale: f64) -> bool {
    v.abs() <= EPSILON * scale
}

/// Validates a period-like parameter: a whole number from `min` to 100000, as TA-Lib does.
pub(crate) fn check_period(
    indicator: &str,
    param: &str,
    value: usize,
    min: usize,
) -> Result<usize, IndicatorError> {
    if value < min || value > MAX_PERIOD {
        return Err(IndicatorError::InvalidParam {
            indicator: indicator.to_string(),
            param: param.to_string(),
            expected: format!("a whole number from {min} to {MAX_PERIOD}"),
            value: value as f64,
        });
    }
    Ok(value)
}

/// The common length of the input columns, or an error naming the indicator.
pub(crate) fn check_lengths(indicator: &str, lens: &[usize]) -> Result<usize, IndicatorError> {
    let n = lens.first().copied().unwrap_or(0);
    if lens.iter().any(|&l| l != n) {
        return Err(IndicatorError::LengthMismatch {
            indicator: indicator.to_string(),
        });
    }
    Ok(n)
}

/// The `i`-th resolved parameter (the registry always passes all of them; the default only
/// guards a direct call with a short slice).
pub(crate) fn param(params: &[f64], i: usize, default: f64) -> f64 {
    params.get(i).copied().unwrap_or(default)
}

/// Simple moving average the way TA-Lib computes it inside STOCH: a running sum, adding the
/// newest value before the average is taken and removing the oldest right after, starting
/// from the first value pushed — so the rounding matches TA-Lib's.
#[derive(Debug, Clone)]
pub(crate) struct RunningSma {
    ring: Vec<f64>,
    pos: usize,
    filled: usize,
    sum: f64,
}

impl RunningSma {
    pub(crate) fn new(period: usize) -> Self {
        Self {
            ring: vec![0.0; period.max(1)],
            pos: 0,
            filled: 0,
            sum: 0.0,
        }
    }

    #[inline(always)]
    pub(crate) fn push(&mut self, x: f64) -> Option<f64> {
        let n = self.ring.len();
        self.sum += x;
        if let Some(slot) = self.ring.get_mut(self.pos) {
            *slot = x;
        }
        self.pos += 1;
        if self.pos == n {
            self.pos = 0;
        }
        if self.filled < n {
            self.filled += 1;
            if self.filled < n {
                return None;
            }
        }
        let average = self.sum / n as f64;
        // `pos` now points at the oldest value: it leaves before the next push.
        self.sum -= self.ring.get(self.pos).copied().unwrap_or(0.0);
        Some(average)
    }
}

/// Highest high and lowest low of the last `period` bars, by monotonic queues: amortised O(1)
/// a bar whatever the period (TA-Lib rescans, which is O(period) a bar in a trend). The
/// extremes are the same values either way.
#[derive(Debug, Clone)]
pub(crate) struct Extremes {
    period: u64,
    t: u64,
    highs: VecDeque<(u64, f64)>,
    lows: VecDeque<(u64, f64)>,
}

impl Extremes {
    pub(crate) fn new(period: usize) -> Self {
        Self {
            period: period.max(1) as u64,
            t: 0,
            highs: VecDeque::with_capacity(period.max(1)),
            lows: VecDeque::with_capacity(period.max(1)),
        }
    }

    /// Adds a bar; `(highest, lowest)` once `period` bars have been seen.
    #[inline(always)]
    pub(crate) fn push(&mut self, high: f64, low: f64) -> Option<(f64, f64)> {
        let t = self.t;
        self.t += 1;
        while self
            .highs
            .front()
            .is_some_and(|&(i, _)| i + self.period <= t)
        {
            self.highs.pop_front();
        }
        while self
            .lows
            .front()
            .is_some_and(|&(i, _)| i + self.period <= t)
        {
            self.lows.pop_front();
        }
        while self.highs.back().is_some_and(|&(_, v)| v <= high) {
            self.highs.pop_back();
        }
        while self.lows.back().is_some_and(|&(_, v)| v >= low) {
            self.lows.pop_back();
        }
        self.highs.push_back((t, high));
        self.lows.push_back((t, low));
        if self.t < self.period {
            return None;
        }
        let highest = self.highs.front().map_or(high, |&(_, v)| v);
        let lowest = self.lows.front().map_or(low, |&(_, v)| v);
        Some((highest, lowest))
    }
}

/// The value pushed `period` pushes ago.
#[derive(Debug, Clone)]
pub(crate) struct Lag {
    ring: Vec<f64>,
    pos: usize,
    filled: bool,
}

impl Lag {
    pub(crate) fn new(period: usize) -> Self {
        Self {
            ring: vec![0.0; period.max(1)],
            pos: 0,
            filled: false,
        }
    }

    #[inline(always)]
    pub(crate) fn push(&mut self, x: f64) -> Option<f64> {
        let old = self
            .ring
            .get_mut(self.pos)
            .map(|slot| std::mem::replace(slot, x));
        let filled = self.filled;
        self.pos += 1;
        if self.pos == self.ring.len() {
            self.pos = 0;
            self.filled = true;
        }
        if filled { old } else { None }
    }
}
