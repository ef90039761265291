//! Commodity Channel Index.

use super::super::{Candle, IndicatorError, Streaming};
use super::kit::{check_lengths, check_period, is_zero_scaled};

#[derive(Debug, Clone)]
struct CciCore {
    ring: Vec<f64>,
    pos: usize,
    filled: usize,
}

impl CciCore {
    fn new(period: usize) -> Self {
        Self {
            ring: vec![0.0; period],
            pos: 0,
            filled: 0,
        }
    }

    #[inline(always)]
    fn step(&mut self, high: f64, low: f64, close: f64) -> Option<f64> {
        let n = self.ring.len();
        let tp = (high + low + close) / 3.0;
        if let Some(slot) = self.ring.get_mut(self.pos) {
            *slot = tp;
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
        // Summed in ring-slot order, as TA-Lib's circular buffer is.
        let mut sum = 0.0;
        for &v in &self.ring {
            sum += v;
        }
        let average = sum / n as f64;
        let mut dev_sum = 0.0;
        for &v in &self.ring {
            dev_sum += (v - average).abs();
        }
        let mean_dev = dev_sum / n as f64;
        let dev = tp - average;
        let scale = average.abs();
        Some(
            if is_zero_scaled(dev, scale) || is_zero_scaled(mean_dev, scale) {
                0.0
            } else {
                dev / (0.015 * mean_dev)
            },
        )
    }
}

/// Commodity Channel Index (TA-Lib `CCI`): (typical price − its SMA) / (0.015 × mean absolute
/// deviation), typical price = (high + low + close) / 3. TA-Lib convention: first value at index
/// `period − 1`; 0 for a window flat relative to its price level.
pub fn cci(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: usize,
) -> Result<Vec<f64>, IndicatorError> {
    check_period("cci", "period", period, 2)?;
    let len = check_lengths("cci", &[high.len(), low.len(), close.len()])?;
    let mut core = CciCore::new(period);
    Ok((0..len)
        .map(|i| core.step(high[i], low[i], close[i]).unwrap_or(f64::NAN))
        .collect())
}

/// Streaming [`cci`].
#[derive(Debug, Clone)]
pub struct Cci {
    core: CciCore,
}

impl Cci {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        check_period("cci", "period", period, 2)?;
        Ok(Self {
            core: CciCore::new(period),
        })
    }
}

impl Streaming for Cci {
    type Output = f64;

    fn update(&mut self, candle: &Candle) -> Option<f64> {
        self.core.step(candle.high, candle.low, candle.close)
    }
}
