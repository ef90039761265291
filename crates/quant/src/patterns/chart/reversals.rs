//! Double tops/bottoms and head and shoulders (and inverse).
//!
//! The bottom-side patterns are the top-side ones upside down, so both are found by one routine
//! working on a "frame": the prices as given for tops, negated (highs and lows swapped) for
//! bottoms. That keeps every rule — tolerance, depth, break margin, invalidation — exactly
//! mirrored between the bullish and bearish versions.

use super::{
    ChartConfig, ChartPattern, ChartPatternKind, Direction, Line, PatternPoint, PointRole,
    SwingKind, hlc, pivots, within,
};
use crate::indicators::Columns;
use crate::patterns::PatternError;

/// Prices in the frame the routines work in: tops as given, bottoms negated.
pub(super) struct Frame {
    pub high: Vec<f64>,
    pub low: Vec<f64>,
    pub close: Vec<f64>,
    /// +1 for the top frame, -1 for the negated (bottom) frame.
    pub sign: f64,
}

impl Frame {
    pub fn new(high: &[f64], low: &[f64], close: &[f64], tops: bool) -> Self {
        if tops {
            Self {
                high: high.to_vec(),
                low: low.to_vec(),
                close: close.to_vec(),
                sign: 1.0,
            }
        } else {
            Self {
                high: low.iter().map(|x| -x).collect(),
                low: high.iter().map(|x| -x).collect(),
                close: close.iter().map(|x| -x).collect(),
                sign: -1.0,
            }
        }
    }

    /// Back from the frame to real prices.
    pub fn real(&self, x: f64) -> f64 {
        self.sign * x
    }

    pub fn real_line(&self, line: &Line) -> Line {
        Line {
            start_index: line.start_index,
            start_price: self.real(line.start_price),
            end_index: line.end_index,
            end_price: self.real(line.end_price),
        }
    }
}

/// How a pattern's wait for a neckline break ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Broken at this bar.
    Confirmed(usize),
    /// Neither broken, invalidated nor expired by the last bar.
    Pending,
    /// Invalidated (a close beyond the pattern's extreme) or expired.
    Dead,
}

/// Waits for a close below `line` (by `margin`) on bars `from..=deadline`, watching closes from
/// `after + 1` for one above `invalid_above`, which kills the pattern. Reads bars in order and
/// stops at the first decision, so the result at a bar never depends on a later bar.
fn await_break(
    close: &[f64],
    after: usize,
    from: usize,
    deadline: usize,
    line: &Line,
    invalid_above: f64,
    margin: f64,
) -> Outcome {
    let Some(last) = close.len().checked_sub(1) else {
        return Outcome::Dead;
    };
    for (t, &c) in close
        .iter()
        .enumerate()
        .take(deadline.min(last) + 1)
        .skip(after + 1)
    {
        if c > invalid_above {
            return Outcome::Dead;
        }
        let l = line.price_at(t);
        if t >= from && c < l - margin * l.abs() {
            return Outcome::Confirmed(t);
        }
    }
    if deadline > last {
        Outcome::Pending
    } else {
        Outcome::Dead
    }
}

/// Index and value of the lowest low strictly between bars `a` and `b` (the first one on ties).
fn lowest_between(low: &[f64], a: usize, b: usize) -> Option<(usize, f64)> {
    let mut best: Option<(usize, f64)> = None;
    for (i, &x) in low.iter().enumerate().take(b).skip(a + 1) {
        if best.is_none_or(|(_, m)| x < m) {
            best = Some((i, x));
        }
    }
    best.filter(|(_, m)| !m.is_nan())
}

/// Last bar a pattern whose pivots run from `first` to `last` may break out on.
fn deadline(first: usize, last: usize, k: usize, wait: f64) -> usize {
    let width = (last - first) as f64;
    let bars = (width * wait).ceil();
    // `wait` is validated finite and positive; the cast saturates for absurd values.
    let bars = if bars.is_finite() {
        bars as usize
    } else {
        usize::MAX
    };
    last.saturating_add(bars).max(last + k)
}

fn point(frame: &Frame, role: PointRole, index: usize, price: f64) -> PatternPoint {
    PatternPoint {
        role,
        index,
        price: frame.real(price),
    }
}

/// Builds the reported pattern from a frame-space outcome.
#[allow(clippy::too_many_arguments)]
fn finish(
    frame: &Frame,
    kind: ChartPatternKind,
    points: Vec<PatternPoint>,
    neck: &Line,
    height: f64,
    outcome: Outcome,
    known_if_pending: usize,
) -> Option<ChartPattern> {
    let last = frame.close.len().checked_sub(1)?;
    let (confirmed, breakout_index, at, known_at) = match outcome {
        Outcome::Confirmed(t) => (true, Some(t), t, t),
        Outcome::Pending => (false, None, last, known_if_pending),
        Outcome::Dead => return None,
    };
    let level = neck.price_at(at);
    Some(ChartPattern {
        kind,
        direction: if frame.sign > 0.0 {
            Direction::Bearish
        } else {
            Direction::Bullish
        },
        points,
        neckline: frame.real_line(neck),
        breakout_index,
        breakout_price: frame.real(level),
        target: frame.real(level - height),
        confirmed,
        known_at,
    })
}

fn double_in_frame(frame: &Frame, config: &ChartConfig) -> Vec<ChartPattern> {
    let k = config.swing_window;
    let tops: Vec<_> = pivots(&frame.high, &frame.low, k)
        .into_iter()
        .filter(|p| p.kind == SwingKind::High)
        .collect();
    let (kind, first_role, second_role) = if frame.sign > 0.0 {
        (
            ChartPatternKind::DoubleTop,
            PointRole::FirstTop,
            PointRole::SecondTop,
        )
    } else {
        (
            ChartPatternKind::DoubleBottom,
            PointRole::FirstBottom,
            PointRole::SecondBottom,
        )
    };
    let mut out = Vec::new();
    for pair in tops.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if !within(a.price, b.price, config.price_tolerance) {
            continue;
        }
        let Some((t, trough)) = lowest_between(&frame.low, a.index, b.index) else {
            continue;
        };
        let lower_top = a.price.min(b.price);
        let top = a.price.max(b.price);
        if lower_top - trough < config.min_depth * lower_top.abs() {
            continue;
        }
        let neck = Line::horizontal(t, trough);
        let outcome = await_break(
            &frame.close,
            b.index,
            b.confirmed_at,
            deadline(a.index, b.index, k, config.max_breakout_wait),
            &neck,
            top,
            config.breakout_margin,
        );
        let points = vec![
            point(frame, first_role, a.index, a.price),
            point(frame, PointRole::Neckline, t, trough),
            point(frame, second_role, b.index, b.price),
        ];
        out.extend(finish(
            frame,
            kind,
            points,
            &neck,
            top - trough,
            outcome,
            b.confirmed_at,
        ));
    }
    out
}

fn head_shoulders_in_frame(frame: &Frame, config: &ChartConfig) -> Vec<ChartPattern> {
    let k = config.swing_window;
    let tol = config.price_tolerance;
    let tops: Vec<_> = pivots(&frame.high, &frame.low, k)
        .into_iter()
        .filter(|p| p.kind == SwingKind::High)
        .collect();
    let kind = if frame.sign > 0.0 {
        ChartPatternKind::HeadAndShoulders
    } else {
        ChartPatternKind::InverseHeadAndShoulders
    };
    let mut out = Vec::new();
    for triple in tops.windows(3) {
        let (l, h, r) = (triple[0], triple[1], triple[2]);
        if !within(l.price, r.price, tol) || h.price - l.price.max(r.price) <= tol * h.price.abs() {
            continue;
        }
        let (Some((t1, p1)), Some((t2, p2))) = (
            lowest_between(&frame.low, l.index, h.index),
            lowest_between(&frame.low, h.index, r.index),
        ) else {
            continue;
        };
        let neck = Line {
            start_index: t1,
            start_price: p1,
            end_index: t2,
            end_price: p2,
        };
        let height = h.price - neck.price_at(h.index);
        if l.price <= neck.price_at(l.index)
            || r.price <= neck.price_at(r.index)
            || height < config.min_depth * h.price.abs()
        {
            continue;
        }
        let outcome = await_break(
            &frame.close,
            r.index,
            r.confirmed_at,
            deadline(l.index, r.index, k, config.max_breakout_wait),
            &neck,
            h.price,
            config.breakout_margin,
        );
        let points = vec![
            point(frame, PointRole::LeftShoulder, l.index, l.price),
            point(frame, PointRole::Neckline, t1, p1),
            point(frame, PointRole::Head, h.index, h.price),
            point(frame, PointRole::Neckline, t2, p2),
            point(frame, PointRole::RightShoulder, r.index, r.price),
        ];
        out.extend(finish(
            frame,
            kind,
            points,
            &neck,
            height,
            outcome,
            r.confirmed_at,
        ));
    }
    out
}

/// Double tops (bearish) and double bottoms (bullish).
///
/// A double top is two consecutive swing highs equal within
/// [`price_tolerance`](ChartConfig::price_tolerance), with the lowest low between them at least
/// [`min_depth`](ChartConfig::min_depth) below the lower top. The neckline is horizontal at that
/// low; the pattern is confirmed by the first close below it by
/// [`breakout_margin`](ChartConfig::breakout_margin), on or after the bar the second top became
/// known and within [`max_breakout_wait`](ChartConfig::max_breakout_wait) pattern widths; a
/// close above the higher top first invalidates it. Target: the neckline minus the height (higher
/// top minus neckline). Double bottoms mirror all of it.
pub fn double_tops_bottoms(
    columns: &Columns<'_>,
    config: &ChartConfig,
) -> Result<Vec<ChartPattern>, PatternError> {
    config.validate()?;
    let (high, low, close) = hlc(columns)?;
    let mut out = double_in_frame(&Frame::new(high, low, close, true), config);
    out.extend(double_in_frame(
        &Frame::new(high, low, close, false),
        config,
    ));
    out.sort_by_key(|p| (p.known_at, p.kind));
    Ok(out)
}

/// Head and shoulders (bearish) and inverse head and shoulders (bullish).
///
/// Three consecutive swing highs: shoulders equal within
/// [`price_tolerance`](ChartConfig::price_tolerance), the head above the higher shoulder by more
/// than that tolerance. The neckline runs through the lowest low between each shoulder and the
/// head (so it may slope); both shoulders must be above it and the head at least
/// [`min_depth`](ChartConfig::min_depth) above it. Confirmation, expiry and invalidation (a
/// close above the head) work as for double tops. Target: the neckline at the break minus the
/// head's height above the neckline. The inverse pattern mirrors all of it on swing lows.
pub fn head_and_shoulders(
    columns: &Columns<'_>,
    config: &ChartConfig,
) -> Result<Vec<ChartPattern>, PatternError> {
    config.validate()?;
    let (high, low, close) = hlc(columns)?;
    let mut out = head_shoulders_in_frame(&Frame::new(high, low, close, true), config);
    out.extend(head_shoulders_in_frame(
        &Frame::new(high, low, close, false),
        config,
    ));
    out.sort_by_key(|p| (p.known_at, p.kind));
    Ok(out)
}
