//! Trend-line breakouts: a falling resistance line through two consecutive swing highs broken
//! upwards (bullish), or a rising support line through two consecutive swing lows broken
//! downwards (bearish). Horizontal lines count for both; rising resistance and falling support
//! lines are channels, not the trend lines a breakout trader watches, and are left out.

use super::reversals::{Frame, Outcome};
use super::{
    ChartConfig, ChartPattern, ChartPatternKind, Direction, Line, PatternPoint, PointRole,
};
use super::{SwingKind, hlc, pivots};
use crate::indicators::Columns;
use crate::patterns::PatternError;

/// Resistance-line breakouts in the frame (support lines are resistance lines upside down).
fn breakouts_in_frame(frame: &Frame, config: &ChartConfig) -> Vec<ChartPattern> {
    let k = config.swing_window;
    let close = &frame.close;
    let n = close.len();
    let highs: Vec<_> = pivots(&frame.high, &frame.low, k)
        .into_iter()
        .filter(|p| p.kind == SwingKind::High)
        .collect();
    let mut out = Vec::new();
    for (j, pair) in highs.windows(2).enumerate() {
        let (p1, p2) = (pair[0], pair[1]);
        if p2.price > p1.price {
            continue;
        }
        let line = Line {
            start_index: p1.index,
            start_price: p1.price,
            end_index: p2.index,
            end_price: p2.price,
        };
        // The line must have held between its pivots: no close above it.
        if (p1.index + 1..p2.index).any(|t| close[t] > line.price_at(t)) {
            continue;
        }
        // The line is the active one from when its second pivot is known until the next swing
        // high is known (then a line through that one takes over).
        let until = highs.get(j + 2).map_or(n, |p3| p3.confirmed_at.min(n));
        let outcome = (p2.confirmed_at..until)
            .find(|&t| {
                let l = line.price_at(t);
                close[t] > l + config.breakout_margin * l.abs()
            })
            .map_or(
                if until == n {
                    Outcome::Pending
                } else {
                    Outcome::Dead
                },
                Outcome::Confirmed,
            );
        let (confirmed, breakout_index, at, known_at) = match outcome {
            Outcome::Confirmed(t) => (true, Some(t), t, t),
            Outcome::Pending => (false, None, n - 1, p2.confirmed_at),
            Outcome::Dead => continue,
        };
        // Measured move: the widest gap below the line while it formed, projected up from the
        // break.
        let height = (p1.index..=p2.index)
            .map(|t| line.price_at(t) - frame.low[t])
            .fold(0.0_f64, f64::max);
        let level = line.price_at(at);
        out.push(ChartPattern {
            kind: ChartPatternKind::TrendlineBreakout,
            direction: if frame.sign > 0.0 {
                Direction::Bullish
            } else {
                Direction::Bearish
            },
            points: vec![
                PatternPoint {
                    role: PointRole::LinePivot,
                    index: p1.index,
                    price: frame.real(p1.price),
                },
                PatternPoint {
                    role: PointRole::LinePivot,
                    index: p2.index,
                    price: frame.real(p2.price),
                },
            ],
            neckline: frame.real_line(&line),
            breakout_index,
            breakout_price: frame.real(level),
            target: frame.real(level + height),
            confirmed,
            known_at,
        });
    }
    out
}

/// Trend-line breakouts, bullish (falling resistance broken up) and bearish (rising support
/// broken down).
///
/// The line runs through two consecutive swing highs (lows) and must not have been closed
/// through between them. It is watched from the bar its second pivot becomes known until the next
/// swing high (low) becomes known; the first close beyond it by
/// [`breakout_margin`](ChartConfig::breakout_margin) in that span is the breakout. A line still
/// being watched at the last bar is reported unconfirmed. Target: the line's price at the break
/// plus (minus) the widest distance between the line and the lows (highs) while it formed.
pub fn trendline_breakouts(
    columns: &Columns<'_>,
    config: &ChartConfig,
) -> Result<Vec<ChartPattern>, PatternError> {
    config.validate()?;
    let (high, low, close) = hlc(columns)?;
    let mut out = breakouts_in_frame(&Frame::new(high, low, close, true), config);
    out.extend(breakouts_in_frame(
        &Frame::new(high, low, close, false),
        config,
    ));
    out.sort_by_key(|p| (p.known_at, p.points.first().map_or(0, |q| q.index)));
    Ok(out)
}
