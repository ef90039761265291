//! Parabolic SAR with TA-Lib's start-up and penetration rules.

use super::{check_len, check_real};
use crate::indicators::{Candle, IndicatorError, Streaming, nan_vec};

fn check_psar(acceleration: f64, maximum: f64) -> Result<(f64, f64), IndicatorError> {
    let acceleration = check_real("psar", "acceleration", acceleration, 0.0, f64::MAX)?;
    let maximum = check_real("psar", "maximum", maximum, 0.0, f64::MAX)?;
    // TA-Lib caps the step at the ceiling rather than rejecting it.
    Ok((acceleration.min(maximum), maximum))
}

/// The SAR state machine, shared by the batch loop and the streaming struct so both take the
/// same branches with the same arithmetic.
#[derive(Debug, Clone)]
struct SarState {
    acceleration: f64,
    maximum: f64,
    is_long: bool,
    af: f64,
    ep: f64,
    sar: f64,
    new_high: f64,
    new_low: f64,
}

impl SarState {
    /// Starts on the second bar. The direction comes from TA-Lib's one-bar -DM test: short when
    /// the low fell by more than the high rose; the first SAR is the first bar's extreme against
    /// the trade, the first extreme point the second bar's.
    fn start(acceleration: f64, maximum: f64, h0: f64, l0: f64, h1: f64, l1: f64) -> Self {
        let diff_p = h1 - h0;
        let diff_m = l0 - l1;
        let is_long = !(diff_m > 0.0 && diff_p < diff_m);
        let (ep, sar) = if is_long { (h1, l0) } else { (l1, h0) };
        SarState {
            acceleration,
            maximum,
            is_long,
            af: acceleration,
            ep,
            sar,
            // "Cheat" as TA-Lib does: on the first step yesterday's range is today's.
            new_high: h1,
            new_low: l1,
        }
    }

    /// Processes a bar and returns its SAR (TA-Lib's loop body).
    fn step(&mut self, high: f64, low: f64) -> f64 {
        let prev_low = self.new_low;
        let prev_high = self.new_high;
        self.new_low = low;
        self.new_high = high;
        let out;
        if self.is_long {
            if self.new_low <= self.sar {
                // Switch to short: the SAR jumps to the extreme point, kept outside the range.
                self.is_long = false;
                self.sar = self.ep;
                if self.sar < prev_high {
                    self.sar = prev_high;
                }
                if self.sar < self.new_high {
                    self.sar = self.new_high;
                }
                out = self.sar;
                self.af = self.acceleration;
                self.ep = self.new_low;
                self.sar += self.af * (self.ep - self.sar);
                if self.sar < prev_high {
                    self.sar = prev_high;
                }
                if self.sar < self.new_high {
                    self.sar = self.new_high;
                }
            } else {
                out = self.sar;
                if self.new_high > self.ep {
                    self.ep = self.new_high;
                    self.af += self.acceleration;
                    if self.af > self.maximum {
                        self.af = self.maximum;
                    }
                }
                self.sar += self.af * (self.ep - self.sar);
                if self.sar > prev_low {
                    self.sar = prev_low;
                }
                if self.sar > self.new_low {
                    self.sar = self.new_low;
                }
            }
        } else if self.new_high >= self.sar {
            // Switch to long.
            self.is_long = true;
            self.sar = self.ep;
            if self.sar > prev_low {
                self.sar = prev_low;
            }
            if self.sar > self.new_low {
                self.sar = self.new_low;
            }
            out = self.sar;
            self.af = self.acceleration;
            self.ep = self.new_high;
            self.sar += self.af * (self.ep - self.sar);
            if self.sar > prev_low {
                self.sar = prev_low;
            }
            if self.sar > self.new_low {
                self.sar = self.new_low;
            }
        } else {
            out = self.sar;
            if self.new_low < self.ep {
                self.ep = self.new_low;
                self.af += self.acceleration;
                if self.af > self.maximum {
                    self.af = self.maximum;
                }
            }
            self.sar += self.af * (self.ep - self.sar);
            if self.sar < prev_high {
                self.sar = prev_high;
            }
            if self.sar < self.new_high {
                self.sar = self.new_high;
            }
        }
        out
    }
}

/// Parabolic SAR (Wilder's stop and reverse) from highs and lows.
///
/// TA-Lib SAR: lookback 1 (first value on the second bar); initial direction from the one-bar
/// -DM test; an acceleration above the maximum is capped to it.
pub fn psar(
    high: &[f64],
    low: &[f64],
    acceleration: f64,
    maximum: f64,
) -> Result<Vec<f64>, IndicatorError> {
    let (acceleration, maximum) = check_psar(acceleration, maximum)?;
    let n = check_len("psar", &[high.len(), low.len()])?;
    if n < 2 {
        return Ok(nan_vec(n));
    }
    let mut state = SarState::start(acceleration, maximum, high[0], low[0], high[1], low[1]);
    let mut out = Vec::with_capacity(n);
    out.push(f64::NAN);
    for (&h, &l) in high[1..].iter().zip(&low[1..]) {
        out.push(state.step(h, l));
    }
    Ok(out)
}

/// Streaming [`psar`].
#[derive(Debug, Clone)]
pub struct Psar {
    acceleration: f64,
    maximum: f64,
    first: Option<(f64, f64)>,
    state: Option<SarState>,
}

impl Psar {
    pub fn new(acceleration: f64, maximum: f64) -> Result<Self, IndicatorError> {
        let (acceleration, maximum) = check_psar(acceleration, maximum)?;
        Ok(Psar {
            acceleration,
            maximum,
            first: None,
            state: None,
        })
    }
}

impl Streaming for Psar {
    type Output = f64;
    fn update(&mut self, candle: &Candle) -> Option<f64> {
        let (h, l) = (candle.high, candle.low);
        if let Some(state) = &mut self.state {
            return Some(state.step(h, l));
        }
        match self.first {
            None => {
                self.first = Some((h, l));
                None
            }
            Some((h0, l0)) => {
                let mut state = SarState::start(self.acceleration, self.maximum, h0, l0, h, l);
                let out = state.step(h, l);
                self.state = Some(state);
                Some(out)
            }
        }
    }
}
