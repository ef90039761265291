//! Volume: On-Balance Volume, the Chaikin Accumulation/Distribution line and the Chaikin A/D
//! oscillator, with TA-Lib's definitions (cumulative from the first bar, which is why their level
//! depends on where the history starts — only their changes are comparable across sources).

use super::momentum::kit::{check_lengths, check_period, param};
use super::registry::period_param;
use super::{Candle, Columns, IndicatorError, IndicatorSpec, OutputSpec, ParamSpec, Streaming};

// ---------------------------------------------------------------------------------------------
// OBV
// ---------------------------------------------------------------------------------------------

/// On-Balance Volume (TA-Lib `OBV`): a running total that adds the bar's volume when the close
/// rises and subtracts it when it falls. TA-Lib convention: starts at the first bar's volume (not
/// 0), no warm-up.
pub fn obv(close: &[f64], volume: &[f64]) -> Result<Vec<f64>, IndicatorError> {
    let len = check_lengths("obv", &[close.len(), volume.len()])?;
    let mut core = ObvCore::default();
    Ok((0..len).map(|i| core.step(close[i], volume[i])).collect())
}

#[derive(Debug, Clone, Default)]
struct ObvCore {
    prev: Option<(f64, f64)>,
}

impl ObvCore {
    #[inline(always)]
    fn step(&mut self, close: f64, volume: f64) -> f64 {
        let obv = match self.prev {
            None => volume,
            Some((prev_close, mut obv)) => {
                if close > prev_close {
                    obv += volume;
                } else if close < prev_close {
                    obv -= volume;
                }
                obv
            }
        };
        self.prev = Some((close, obv));
        obv
    }
}

/// Streaming [`obv`].
#[derive(Debug, Clone, Default)]
pub struct Obv {
    core: ObvCore,
}

impl Obv {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Streaming for Obv {
    type Output = f64;

    fn update(&mut self, candle: &Candle) -> Option<f64> {
        Some(self.core.step(candle.close, candle.volume))
    }
}

// ---------------------------------------------------------------------------------------------
// AD
// ---------------------------------------------------------------------------------------------

/// One bar's money-flow volume, TA-Lib's arithmetic: `((close − low) − (high − close)) /
/// (high − low) × volume`, nothing for a bar with no range.
#[inline(always)]
fn money_flow_volume(high: f64, low: f64, close: f64, volume: f64) -> f64 {
    let range = high - low;
    if range > 0.0 {
        (close - low - (high - close)) / range * volume
    } else {
        0.0
    }
}

/// Chaikin Accumulation/Distribution line (TA-Lib `AD`): the running total of each bar's
/// close-location value × volume. TA-Lib convention: starts at 0 before the first bar, no
/// warm-up; a bar with high = low adds nothing.
pub fn ad(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    volume: &[f64],
) -> Result<Vec<f64>, IndicatorError> {
    let len = check_lengths("ad", &[high.len(), low.len(), close.len(), volume.len()])?;
    let mut total = 0.0;
    Ok((0..len)
        .map(|i| {
            total += money_flow_volume(high[i], low[i], close[i], volume[i]);
            total
        })
        .collect())
}

/// Streaming [`ad`].
#[derive(Debug, Clone, Default)]
pub struct Ad {
    total: f64,
}

impl Ad {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Streaming for Ad {
    type Output = f64;

    fn update(&mut self, candle: &Candle) -> Option<f64> {
        self.total += money_flow_volume(candle.high, candle.low, candle.close, candle.volume);
        Some(self.total)
    }
}

// ---------------------------------------------------------------------------------------------
// ADOSC
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct AdOscCore {
    fast_k: f64,
    slow_k: f64,
    lookback: usize,
    bars: usize,
    ad: f64,
    fast: f64,
    slow: f64,
}

impl AdOscCore {
    fn new(fast: usize, slow: usize) -> Self {
        let fast_k = 2.0 / (fast as f64 + 1.0);
        let slow_k = 2.0 / (slow as f64 + 1.0);
        Self {
            fast_k,
            slow_k,
            lookback: fast.max(slow) - 1,
            bars: 0,
            ad: 0.0,
            fast: 0.0,
            slow: 0.0,
        }
    }

    #[inline(always)]
    fn step(&mut self, high: f64, low: f64, close: f64, volume: f64) -> Option<f64> {
        self.ad += money_flow_volume(high, low, close, volume);
        if self.bars == 0 {
            // Both EMAs are seeded with the first A/D value (TA-Lib, like Metastock).
            self.fast = self.ad;
            self.slow = self.ad;
        } else {
            self.fast = self.fast_k * self.ad + (1.0 - self.fast_k) * self.fast;
            self.slow = self.slow_k * self.ad + (1.0 - self.slow_k) * self.slow;
        }
        self.bars += 1;
        if self.bars <= self.lookback {
            return None;
        }
        Some(self.fast - self.slow)
    }
}

fn check_adosc(fast: usize, slow: usize) -> Result<(), IndicatorError> {
    check_period("adosc", "fast_period", fast, 2)?;
    check_period("adosc", "slow_period", slow, 2)?;
    Ok(())
}

/// Chaikin A/D oscillator (TA-Lib `ADOSC`): EMA(`fast`) − EMA(`slow`) of the A/D line. TA-Lib
/// convention: both EMAs are seeded with the first A/D value (not an SMA) and the first output is
/// at index `max(fast, slow) − 1`; the difference is always fast minus slow, even if `fast` is
/// the longer period.
pub fn adosc(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    volume: &[f64],
    fast: usize,
    slow: usize,
) -> Result<Vec<f64>, IndicatorError> {
    check_adosc(fast, slow)?;
    let len = check_lengths("adosc", &[high.len(), low.len(), close.len(), volume.len()])?;
    let mut core = AdOscCore::new(fast, slow);
    Ok((0..len)
        .map(|i| {
            core.step(high[i], low[i], close[i], volume[i])
                .unwrap_or(f64::NAN)
        })
        .collect())
}

/// Streaming [`adosc`].
#[derive(Debug, Clone)]
pub struct AdOsc {
    core: AdOscCore,
}

impl AdOsc {
    pub fn new(fast: usize, slow: usize) -> Result<Self, IndicatorError> {
        check_adosc(fast, slow)?;
        Ok(Self {
            core: AdOscCore::new(fast, slow),
        })
    }
}

impl Streaming for AdOsc {
    type Output = f64;

    fn update(&mut self, candle: &Candle) -> Option<f64> {
        self.core
            .step(candle.high, candle.low, candle.close, candle.volume)
    }
}

// ---------------------------------------------------------------------------------------------
// Catalogue
// ---------------------------------------------------------------------------------------------

fn obv_batch(cols: &Columns<'_>, _params: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    Ok(vec![obv(cols.close, cols.volume)?])
}

fn ad_batch(cols: &Columns<'_>, _params: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    Ok(vec![ad(cols.high, cols.low, cols.close, cols.volume)?])
}

fn adosc_batch(cols: &Columns<'_>, params: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let fast = period_param("adosc", "fast_period", param(params, 0, 3.0), 2)?;
    let slow = period_param("adosc", "slow_period", param(params, 1, 10.0), 2)?;
    Ok(vec![adosc(
        cols.high,
        cols.low,
        cols.close,
        cols.volume,
        fast,
        slow,
    )?])
}

/// Catalogue entries of this family.
pub(crate) fn specs() -> Vec<IndicatorSpec> {
    vec![
        IndicatorSpec {
            name: "obv",
            description: "On-Balance Volume (TA-Lib OBV): running total of volume, added on up \
                          closes and subtracted on down closes, starting at the first volume",
            params: vec![],
            outputs: vec![OutputSpec { name: "obv" }],
            batch: obv_batch,
        },
        IndicatorSpec {
            name: "ad",
            description: "Chaikin Accumulation/Distribution line (TA-Lib AD): running total of \
                          close-location value x volume",
            params: vec![],
            outputs: vec![OutputSpec { name: "ad" }],
            batch: ad_batch,
        },
        IndicatorSpec {
            name: "adosc",
            description: "Chaikin A/D oscillator (TA-Lib ADOSC): fast EMA minus slow EMA of the \
                          A/D line, both seeded with its first value",
            params: vec![
                ParamSpec {
                    name: "fast_period",
                    default: 3.0,
                    description: "fast EMA period (>= 2)",
                },
                ParamSpec {
                    name: "slow_period",
                    default: 10.0,
                    description: "slow EMA period (>= 2)",
                },
            ],
            outputs: vec![OutputSpec { name: "adosc" }],
            batch: adosc_batch,
        },
    ]
}
