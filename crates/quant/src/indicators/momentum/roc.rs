//! Rate of change and momentum.

use super::super::{Candle, IndicatorError, Streaming};
use super::kit::{Lag, check_period};

#[inline(always)]
fn rate_of_change(now: f64, then: f64) -> f64 {
    if then != 0.0 {
        (now / then - 1.0) * 100.0
    } else {
        0.0
    }
}

/// Rate of change (TA-Lib `ROC`): `(close / close[period bars ago] − 1) × 100`, in percent.
/// TA-Lib convention: first value at index `period`; 0 where the old close is exactly 0.
pub fn roc(close: &[f64], period: usize) -> Result<Vec<f64>, IndicatorError> {
    check_period("roc", "period", period, 1)?;
    Ok(lagged(close, period, rate_of_change))
}

/// Momentum (TA-Lib `MOM`): `close − close[period bars ago]`, in price units. TA-Lib
/// convention: first value at index `period`.
pub fn mom(close: &[f64], period: usize) -> Result<Vec<f64>, IndicatorError> {
    check_period("mom", "period", period, 1)?;
    Ok(lagged(close, period, |now, then| now - then))
}

fn lagged(close: &[f64], period: usize, f: impl Fn(f64, f64) -> f64) -> Vec<f64> {
    let len = close.len();
    let mut out = Vec::with_capacity(len);
    out.resize(period.min(len), f64::NAN);
    for i in period..len {
        out.push(f(close[i], close[i - period]));
    }
    out
}

/// Streaming [`roc`].
#[derive(Debug, Clone)]
pub struct Roc {
    lag: Lag,
}

impl Roc {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        check_period("roc", "period", period, 1)?;
        Ok(Self {
            lag: Lag::new(period),
        })
    }
}

impl Streaming for Roc {
    type Output = f64;

    fn update(&mut self, candle: &Candle) -> Option<f64> {
        let then = self.lag.push(candle.close)?;
        Some(rate_of_change(candle.close, then))
    }
}

/// Streaming [`mom`].
#[derive(Debug, Clone)]
pub struct Mom {
    lag: Lag,
}

impl Mom {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        check_period("mom", "period", period, 1)?;
        Ok(Self {
            lag: Lag::new(period),
        })
    }
}

impl Streaming for Mom {
    type Output = f64;

    fn update(&mut self, candle: &Candle) -> Option<f64> {
        let then = self.lag.push(candle.close)?;
        Some(candle.close - then)
    }
}
