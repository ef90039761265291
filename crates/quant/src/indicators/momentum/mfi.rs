//! Money Flow Index.

use super::super::{Candle, IndicatorError, Streaming};
use super::kit::{check_lengths, check_period, is_zero_scaled};

#[derive(Debug, Clone)]
struct MfiCore {
    period: usize,
    pos_ring: Vec<f64>,
    neg_ring: Vec<f64>,
    idx: usize,
    prev_tp: Option<f64>,
    seen: usize,
    pos_sum: f64,
    neg_sum: f64,
    null_run: usize,
}

impl MfiCore {
    fn new(period: usize) -> Self {
        Self {
            period,
            pos_ring: vec![0.0; period],
            neg_ring: vec![0.0; period],
            idx: 0,
            prev_tp: None,
            seen: 0,
            pos_sum: 0.0,
            neg_sum: 0.0,
            null_run: 0,
        }
    }

    #[inline(always)]
    fn step(&mut self, high: f64, low: f64, close: f64, volume: f64) -> Option<f64> {
        let tp = (high + low + close) / 3.0;
        let prev_tp = self.prev_tp.replace(tp)?;
        let warm = self.seen >= self.period;
        if warm {
            // The flow leaving the window (the ring slot about to be overwritten).
            self.pos_sum -= self.pos_ring.get(self.idx).copied().unwrap_or(0.0);
            self.neg_sum -= self.neg_ring.get(self.idx).copied().unwrap_or(0.0);
        }
        let change = tp - prev_tp;
        // A typical price within ~90 ulps of the previous one is "no movement" (TA-Lib #107).
        let flow = if is_zero_scaled(change, tp.abs() + prev_tp.abs()) {
            0.0
        } else {
            tp * volume
        };
        let (pos, neg) = if change < 0.0 {
            (0.0, flow)
        } else {
            (flow, 0.0)
        };
        if let Some(slot) = self.pos_ring.get_mut(self.idx) {
            *slot = pos;
        }
        if let Some(slot) = self.neg_ring.get_mut(self.idx) {
            *slot = neg;
        }
        self.pos_sum += pos;
        self.neg_sum += neg;
        // A whole window without flow leaves exact zeros in the ring: drop the sums' residue.
        self.null_run = if flow == 0.0 { self.null_run + 1 } else { 0 };
        if self.null_run >= self.period {
            self.null_run = self.period;
            self.pos_sum = 0.0;
            self.neg_sum = 0.0;
        }
        self.idx += 1;
        if self.idx == self.period {
            self.idx = 0;
        }
        if !warm {
            self.seen += 1;
            if self.seen < self.period {
                return None;
            }
        }
        let total = self.pos_sum + self.neg_sum;
        // Clamped into [0, total]: the running sums drift by ulps as the window slides.
        let pos = if self.pos_sum < 0.0 {
            0.0
        } else if self.pos_sum > total {
            total
        } else {
            self.pos_sum
        };
        Some(if total <= 0.0 {
            0.0
        } else {
            100.0 * (pos / total)
        })
    }
}

/// Money Flow Index (TA-Lib `MFI`): RSI-like ratio of positive to total money flow (typical price
/// × volume, signed by the typical price's change) over `period` bars, × 100. TA-Lib convention:
/// first value at index `period`; an unchanged typical price carries no flow; 0 when the window
/// has no flow at all.
pub fn mfi(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    volume: &[f64],
    period: usize,
) -> Result<Vec<f64>, IndicatorError> {
    check_period("mfi", "period", period, 2)?;
    let len = check_lengths("mfi", &[high.len(), low.len(), close.len(), volume.len()])?;
    let mut core = MfiCore::new(period);
    Ok((0..len)
        .map(|i| {
            core.step(high[i], low[i], close[i], volume[i])
                .unwrap_or(f64::NAN)
        })
        .collect())
}

/// Streaming [`mfi`].
#[derive(Debug, Clone)]
pub struct Mfi {
    core: MfiCore,
}

impl Mfi {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        check_period("mfi", "period", period, 2)?;
        Ok(Self {
            core: MfiCore::new(period),
        })
    }
}

impl Streaming for Mfi {
    type Output = f64;

    fn update(&mut self, candle: &Candle) -> Option<f64> {
        self.core
            .step(candle.high, candle.low, candle.close, candle.volume)
    }
}
