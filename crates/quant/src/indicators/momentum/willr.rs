//! Williams %R.

use super::super::{Candle, IndicatorError, Streaming};
use super::kit::{Extremes, check_lengths, check_period, is_zero_scaled};

#[inline(always)]
fn williams_r(close: f64, highest: f64, lowest: f64) -> f64 {
    let range = highest - lowest;
    if is_zero_scaled(range, highest.abs() + lowest.abs()) {
        0.0
    } else {
        (highest - close) / range * -100.0
    }
}

/// Williams %R (TA-Lib `WILLR`): −100 · (highest high − close) / (highest high − lowest low) over
/// `period` bars, from −100 (at the low) to 0 (at the high). TA-Lib convention: first value at
/// index `period − 1`; 0 for a flat window.
pub fn willr(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: usize,
) -> Result<Vec<f64>, IndicatorError> {
    check_period("willr", "period", period, 2)?;
    let len = check_lengths("willr", &[high.len(), low.len(), close.len()])?;
    let mut window = Extremes::new(period);
    Ok((0..len)
        .map(|i| match window.push(high[i], low[i]) {
            Some((highest, lowest)) => williams_r(close[i], highest, lowest),
            None => f64::NAN,
        })
        .collect())
}

/// Streaming [`willr`].
#[derive(Debug, Clone)]
pub struct WillR {
    window: Extremes,
}

impl WillR {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        check_period("willr", "period", period, 2)?;
        Ok(Self {
            window: Extremes::new(period),
        })
    }
}

impl Streaming for WillR {
    type Output = f64;

    fn update(&mut self, candle: &Candle) -> Option<f64> {
        let (highest, lowest) = self.window.push(candle.high, candle.low)?;
        Some(williams_r(candle.close, highest, lowest))
    }
}
