//! DEMA and TEMA: double and triple exponential moving averages.

use super::super::check_period;
use super::{EmaCore, ema_k, warmup};
use crate::indicators::{Candle, IndicatorError, Streaming, nan_vec};

/// Double exponential moving average, `2 * EMA - EMA(EMA)`.
///
/// TA-Lib DEMA: lookback `2 * (period - 1)`; the inner EMA seeded with the SMA of the first
/// `period` outer-EMA values; period 1 copies the input.
pub fn dema(input: &[f64], period: usize) -> Result<Vec<f64>, IndicatorError> {
    let period = check_period("dema", "period", period, 1)?;
    let n = input.len();
    if period == 1 {
        return Ok(input.to_vec());
    }
    let lb = period - 1;
    if n <= 2 * lb {
        return Ok(nan_vec(n));
    }
    let k = ema_k(period);
    let pf = period as f64;
    let mut s = 0.0;
    for &x in &input[..period] {
        s += x;
    }
    let mut e1 = s / pf;
    let mut s2 = 0.0;
    s2 += e1;
    for &x in &input[period..period + lb] {
        e1 = (x - e1) * k + e1;
        s2 += e1;
    }
    let mut e2 = s2 / pf;
    let mut out = warmup(n, 2 * lb);
    out.push(2.0 * e1 - e2);
    for &x in &input[period + lb..] {
        e1 = (x - e1) * k + e1;
        e2 = (e1 - e2) * k + e2;
        out.push(2.0 * e1 - e2);
    }
    Ok(out)
}

/// Streaming [`dema`].
#[derive(Debug, Clone)]
pub struct Dema {
    copy: bool,
    e1: EmaCore,
    e2: EmaCore,
}

impl Dema {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = check_period("dema", "period", period, 1)?;
        Ok(Dema {
            copy: period == 1,
            e1: EmaCore::new(period),
            e2: EmaCore::new(period),
        })
    }

    /// Feeds one value of any series.
    pub fn update_value(&mut self, x: f64) -> Option<f64> {
        if self.copy {
            return Some(x);
        }
        let v1 = self.e1.update(x)?;
        let v2 = self.e2.update(v1)?;
        Some(2.0 * v1 - v2)
    }
}

impl Streaming for Dema {
    type Output = f64;
    fn update(&mut self, candle: &Candle) -> Option<f64> {
        self.update_value(candle.close)
    }
}

/// Triple exponential moving average, `3 * EMA - 3 * EMA(EMA) + EMA(EMA(EMA))`.
///
/// TA-Lib TEMA: lookback `3 * (period - 1)`; each inner EMA seeded with the SMA of its first
/// `period` inputs; combined as `e3 + (3 * e1 - 3 * e2)`; period 1 copies the input.
pub fn tema(input: &[f64], period: usize) -> Result<Vec<f64>, IndicatorError> {
    let period = check_period("tema", "period", period, 1)?;
    let n = input.len();
    if period == 1 {
        return Ok(input.to_vec());
    }
    let lb = period - 1;
    if n <= 3 * lb {
        return Ok(nan_vec(n));
    }
    let k = ema_k(period);
    let pf = period as f64;
    let mut s = 0.0;
    for &x in &input[..period] {
        s += x;
    }
    let mut e1 = s / pf;
    let mut s2 = 0.0;
    s2 += e1;
    for &x in &input[period..period + lb] {
        e1 = (x - e1) * k + e1;
        s2 += e1;
    }
    let mut e2 = s2 / pf;
    let mut s3 = 0.0;
    s3 += e2;
    for &x in &input[period + lb..period + 2 * lb] {
        e1 = (x - e1) * k + e1;
        e2 = (e1 - e2) * k + e2;
        s3 += e2;
    }
    let mut e3 = s3 / pf;
    let mut out = warmup(n, 3 * lb);
    out.push(e3 + (3.0 * e1 - 3.0 * e2));
    for &x in &input[period + 2 * lb..] {
        e1 = (x - e1) * k + e1;
        e2 = (e1 - e2) * k + e2;
        e3 = (e2 - e3) * k + e3;
        out.push(e3 + (3.0 * e1 - 3.0 * e2));
    }
    Ok(out)
}

/// Streaming [`tema`].
#[derive(Debug, Clone)]
pub struct Tema {
    copy: bool,
    e1: EmaCore,
    e2: EmaCore,
    e3: EmaCore,
}

impl Tema {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = check_period("tema", "period", period, 1)?;
        Ok(Tema {
            copy: period == 1,
            e1: EmaCore::new(period),
            e2: EmaCore::new(period),
            e3: EmaCore::new(period),
        })
    }

    /// Feeds one value of any series.
    pub fn update_value(&mut self, x: f64) -> Option<f64> {
        if self.copy {
            return Some(x);
        }
        let v1 = self.e1.update(x)?;
        let v2 = self.e2.update(v1)?;
        let v3 = self.e3.update(v2)?;
        Some(v3 + (3.0 * v1 - 3.0 * v2))
    }
}

impl Streaming for Tema {
    type Output = f64;
    fn update(&mut self, candle: &Candle) -> Option<f64> {
        self.update_value(candle.close)
    }
}
