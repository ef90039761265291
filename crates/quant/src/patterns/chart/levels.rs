//! Support and resistance levels: prices where swing points cluster.

use super::{ChartConfig, SwingKind, hlc, pivots};
use crate::indicators::Columns;
use crate::patterns::PatternError;

/// Whether a level is below (support) or above (resistance) the last close.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LevelKind {
    Support,
    Resistance,
}

/// A price where several swing points clustered.
#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    /// Mean price of the clustered pivots.
    pub price: f64,
    /// Lowest and highest pivot price in the cluster (the zone the level stands for).
    pub low: f64,
    pub high: f64,
    /// Support when at or below the last close, resistance above it.
    pub kind: LevelKind,
    /// Pivots in the cluster.
    pub touches: usize,
    /// How many of the touches were swing highs and swing lows: a level that has been both is
    /// one that flipped role (old resistance turned support, or the reverse).
    pub swing_highs: usize,
    pub swing_lows: usize,
    pub first_touch: usize,
    pub last_touch: usize,
    /// Bars of every touch, ascending.
    pub touch_indices: Vec<usize>,
    /// `touches` plus a fraction in (0, 1] for how recent the last touch is
    /// (`(last_touch + 1) / bars`): more touches always rank higher, recency breaks ties.
    pub strength: f64,
}

/// Support and resistance levels, strongest first.
///
/// Every swing point (highs at their high, lows at their low; window
/// [`swing_window`](ChartConfig::swing_window)) is sorted by price and clustered greedily from
/// the lowest: a pivot joins the current cluster while it is within
/// [`price_tolerance`](ChartConfig::price_tolerance) of the cluster's lowest price, so no cluster
/// is wider than the tolerance. Clusters with at least
/// [`min_touches`](ChartConfig::min_touches) pivots become levels. A relative tolerance (1.5% by
/// default) rather than an ATR multiple keeps the result free of any warm-up and the same
/// whichever bar it is judged at.
pub fn support_resistance(
    columns: &Columns<'_>,
    config: &ChartConfig,
) -> Result<Vec<Level>, PatternError> {
    config.validate()?;
    let (high, low, close) = hlc(columns)?;
    let n = close.len();
    let mut points = pivots(high, low, config.swing_window);
    points.retain(|p| p.price.is_finite());
    points.sort_by(|a, b| a.price.total_cmp(&b.price).then(a.index.cmp(&b.index)));
    let last_close = close.iter().rev().copied().find(|c| !c.is_nan());

    let mut levels = Vec::new();
    let mut start = 0;
    while start < points.len() {
        let anchor = points[start].price;
        let mut end = start + 1;
        while end < points.len() {
            let p = points[end].price;
            if p - anchor > config.price_tolerance * anchor.abs().max(p.abs()) {
                break;
            }
            end += 1;
        }
        let cluster = &points[start..end];
        start = end;
        if cluster.len() < config.min_touches {
            continue;
        }
        let touches = cluster.len();
        let price = cluster.iter().map(|p| p.price).sum::<f64>() / touches as f64;
        let mut touch_indices: Vec<usize> = cluster.iter().map(|p| p.index).collect();
        touch_indices.sort_unstable();
        let (first_touch, last_touch) = match (touch_indices.first(), touch_indices.last()) {
            (Some(&f), Some(&l)) => (f, l),
            _ => continue,
        };
        let swing_highs = cluster.iter().filter(|p| p.kind == SwingKind::High).count();
        levels.push(Level {
            price,
            low: cluster[0].price,
            high: cluster[touches - 1].price,
            kind: match last_close {
                Some(c) if price > c => LevelKind::Resistance,
                _ => LevelKind::Support,
            },
            touches,
            swing_highs,
            swing_lows: touches - swing_highs,
            first_touch,
            last_touch,
            touch_indices,
            strength: touches as f64 + (last_touch + 1) as f64 / n as f64,
        });
    }
    levels.sort_by(|a, b| {
        b.strength
            .total_cmp(&a.strength)
            .then(a.price.total_cmp(&b.price))
    });
    Ok(levels)
}
