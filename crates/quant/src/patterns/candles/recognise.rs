//! The pattern rules, one function per TA-Lib `CDL*` function, transcribed from TA-Lib's C
//! source: same lookback, same settings and bar offsets, same comparisons (strict or not), same
//! output values. Each returns one value per bar; bars inside the lookback are 0, as TA-Lib's
//! Python wrapper returns them.

use super::ohlc::{Avg, Ohlc};
use super::settings::CandleSettings;

/// The first bar TA-Lib evaluates (its lookback), or `None` when there are too few bars.
fn first_bar(x: &Ohlc<'_>, lookback: usize) -> Option<usize> {
    (x.len() > lookback).then_some(lookback)
}

pub(crate) fn doji(x: &Ohlc<'_>, s: &CandleSettings) -> Vec<i32> {
    let Some(start) = first_bar(x, s.body_doji.avg_period) else {
        return vec![0; x.len()];
    };
    let mut out = vec![0; x.len()];
    let mut doji = Avg::new(x, s.body_doji, 0, start);
    for (i, slot) in out.iter_mut().enumerate().skip(start) {
        if x.body(i) <= doji.at(x, i) {
            *slot = 100;
        }
        doji.advance(x, i);
    }
    out
}

/// Doji whose shadows decide the flavour: dragonfly (long lower, no upper), gravestone (long
/// upper, no lower) — the shared TA-Lib shape with "very short" judged by `ShadowVeryShort`.
fn doji_shadowed(x: &Ohlc<'_>, s: &CandleSettings, dragonfly: bool) -> Vec<i32> {
    let lookback = s.body_doji.avg_period.max(s.shadow_very_short.avg_period);
    let Some(start) = first_bar(x, lookback) else {
        return vec![0; x.len()];
    };
    let mut out = vec![0; x.len()];
    let mut doji = Avg::new(x, s.body_doji, 0, start);
    let mut vshort = Avg::new(x, s.shadow_very_short, 0, start);
    for (i, slot) in out.iter_mut().enumerate().skip(start) {
        let (short_side, long_side) = if dragonfly {
            (x.upper_shadow(i), x.lower_shadow(i))
        } else {
            (x.lower_shadow(i), x.upper_shadow(i))
        };
        let vs = vshort.at(x, i);
        if x.body(i) <= doji.at(x, i) && short_side < vs && long_side > vs {
            *slot = 100;
        }
        doji.advance(x, i);
        vshort.advance(x, i);
    }
    out
}

pub(crate) fn dragonfly_doji(x: &Ohlc<'_>, s: &CandleSettings) -> Vec<i32> {
    doji_shadowed(x, s, true)
}

pub(crate) fn gravestone_doji(x: &Ohlc<'_>, s: &CandleSettings) -> Vec<i32> {
    doji_shadowed(x, s, false)
}

pub(crate) fn long_legged_doji(x: &Ohlc<'_>, s: &CandleSettings) -> Vec<i32> {
    let lookback = s.body_doji.avg_period.max(s.shadow_long.avg_period);
    let Some(start) = first_bar(x, lookback) else {
        return vec![0; x.len()];
    };
    let mut out = vec![0; x.len()];
    let mut doji = Avg::new(x, s.body_doji, 0, start);
    let mut long = Avg::new(x, s.shadow_long, 0, start);
    for (i, slot) in out.iter_mut().enumerate().skip(start) {
        let l = long.at(x, i);
        if x.body(i) <= doji.at(x, i) && (x.lower_shadow(i) > l || x.upper_shadow(i) > l) {
            *slot = 100;
        }
        doji.advance(x, i);
        long.advance(x, i);
    }
    out
}

pub(crate) fn spinning_top(x: &Ohlc<'_>, s: &CandleSettings) -> Vec<i32> {
    let Some(start) = first_bar(x, s.body_short.avg_period) else {
        return vec![0; x.len()];
    };
    let mut out = vec![0; x.len()];
    let mut short = Avg::new(x, s.body_short, 0, start);
    for (i, slot) in out.iter_mut().enumerate().skip(start) {
        let body = x.body(i);
        if body < short.at(x, i) && x.upper_shadow(i) > body && x.lower_shadow(i) > body {
            *slot = x.color(i) * 100;
        }
        short.advance(x, i);
    }
    out
}

pub(crate) fn marubozu(x: &Ohlc<'_>, s: &CandleSettings) -> Vec<i32> {
    let lookback = s.body_long.avg_period.max(s.shadow_very_short.avg_period);
    let Some(start) = first_bar(x, lookback) else {
        return vec![0; x.len()];
    };
    let mut out = vec![0; x.len()];
    let mut long = Avg::new(x, s.body_long, 0, start);
    let mut vshort = Avg::new(x, s.shadow_very_short, 0, start);
    for (i, slot) in out.iter_mut().enumerate().skip(start) {
        let vs = vshort.at(x, i);
        if x.body(i) > long.at(x, i) && x.upper_shadow(i) < vs && x.lower_shadow(i) < vs {
            *slot = x.color(i) * 100;
        }
        long.advance(x, i);
        vshort.advance(x, i);
    }
    out
}

/// Which one-candle "umbrella" or "star" shape to look for; they share TA-Lib's settings and
/// differ in which shadow is long and how the body sits against the previous candle.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Umbrella {
    Hammer,
    HangingMan,
    InvertedHammer,
    ShootingStar,
}

fn umbrella(x: &Ohlc<'_>, s: &CandleSettings, kind: Umbrella) -> Vec<i32> {
    let uses_near = matches!(kind, Umbrella::Hammer | Umbrella::HangingMan);
    let mut lookback = s
        .body_short
        .avg_period
        .max(s.shadow_long.avg_period)
        .max(s.shadow_very_short.avg_period);
    if uses_near {
        lookback = lookback.max(s.near.avg_period);
    }
    let Some(start) = first_bar(x, lookback + 1) else {
        return vec![0; x.len()];
    };
    let mut out = vec![0; x.len()];
    let mut short = Avg::new(x, s.body_short, 0, start);
    let mut long = Avg::new(x, s.shadow_long, 0, start);
    let mut vshort = Avg::new(x, s.shadow_very_short, 0, start);
    let mut near = uses_near.then(|| Avg::new(x, s.near, 1, start));
    for (i, slot) in out.iter_mut().enumerate().skip(start) {
        let small_body = x.body(i) < short.at(x, i);
        let hit = match kind {
            Umbrella::Hammer | Umbrella::HangingMan => {
                let shape = small_body
                    && x.lower_shadow(i) > long.at(x, i)
                    && x.upper_shadow(i) < vshort.at(x, i);
                let near_prior = near.as_ref().map_or(0.0, |n| n.at(x, i));
                if kind == Umbrella::Hammer {
                    // Body below or near the prior candle's low.
                    shape && x.body_bottom(i) <= x.low[i - 1] + near_prior
                } else {
                    // Body above or near the prior candle's high.
                    shape && x.body_bottom(i) >= x.high[i - 1] - near_prior
                }
            }
            Umbrella::InvertedHammer => {
                // Real body gaps down from the prior real body.
                x.body_top(i) < x.body_bottom(i - 1)
                    && small_body
                    && x.upper_shadow(i) > long.at(x, i)
                    && x.lower_shadow(i) < vshort.at(x, i)
            }
            Umbrella::ShootingStar => {
                // Real body gaps up from the prior real body.
                x.body_bottom(i) > x.body_top(i - 1)
                    && small_body
                    && x.upper_shadow(i) > long.at(x, i)
                    && x.lower_shadow(i) < vshort.at(x, i)
            }
        };
        if hit {
            *slot = match kind {
                Umbrella::Hammer | Umbrella::InvertedHammer => 100,
                Umbrella::HangingMan | Umbrella::ShootingStar => -100,
            };
        }
        short.advance(x, i);
        long.advance(x, i);
        vshort.advance(x, i);
        if let Some(n) = near.as_mut() {
            n.advance(x, i);
        }
    }
    out
}

pub(crate) fn hammer(x: &Ohlc<'_>, s: &CandleSettings) -> Vec<i32> {
    umbrella(x, s, Umbrella::Hammer)
}

pub(crate) fn hanging_man(x: &Ohlc<'_>, s: &CandleSettings) -> Vec<i32> {
    umbrella(x, s, Umbrella::HangingMan)
}

pub(crate) fn inverted_hammer(x: &Ohlc<'_>, s: &CandleSettings) -> Vec<i32> {
    umbrella(x, s, Umbrella::InvertedHammer)
}

pub(crate) fn shooting_star(x: &Ohlc<'_>, s: &CandleSettings) -> Vec<i32> {
    umbrella(x, s, Umbrella::ShootingStar)
}

/// TA-Lib's engulfing: ±100 when the second real body strictly engulfs the first, ±80 when the
/// bodies share one end (Greg Morris' variant, added to TA-Lib in 2009). No candle settings, and
/// a lookback of 2 (one more than the pattern needs — TA-Lib's, kept so bar 1 stays 0 as there).
pub(crate) fn engulfing(x: &Ohlc<'_>) -> Vec<i32> {
    let Some(start) = first_bar(x, 2) else {
        return vec![0; x.len()];
    };
    let mut out = vec![0; x.len()];
    let (o, c) = (x.open, x.close);
    for (i, slot) in out.iter_mut().enumerate().skip(start) {
        let white_engulfs_black = x.color(i) == 1
            && x.color(i - 1) == -1
            && ((c[i] >= o[i - 1] && o[i] < c[i - 1]) || (c[i] > o[i - 1] && o[i] <= c[i - 1]));
        let black_engulfs_white = x.color(i) == -1
            && x.color(i - 1) == 1
            && ((o[i] >= c[i - 1] && c[i] < o[i - 1]) || (o[i] > c[i - 1] && c[i] <= o[i - 1]));
        if white_engulfs_black || black_engulfs_white {
            let strength = if o[i] != c[i - 1] && c[i] != o[i - 1] {
                100
            } else {
                80
            };
            *slot = x.color(i) * strength;
        }
    }
    out
}

/// Harami (second body short) and harami cross (second body a doji): the second real body sits
/// inside the first long one; 100 strictly inside, 80 when one end matches.
fn harami_like(x: &Ohlc<'_>, s: &CandleSettings, cross: bool) -> Vec<i32> {
    let second = if cross { s.body_doji } else { s.body_short };
    let lookback = second.avg_period.max(s.body_long.avg_period) + 1;
    let Some(start) = first_bar(x, lookback) else {
        return vec![0; x.len()];
    };
    let mut out = vec![0; x.len()];
    let mut long = Avg::new(x, s.body_long, 1, start);
    let mut small = Avg::new(x, second, 0, start);
    for (i, slot) in out.iter_mut().enumerate().skip(start) {
        if x.body(i - 1) > long.at(x, i) && x.body(i) <= small.at(x, i) {
            let (top, bottom) = (x.body_top(i), x.body_bottom(i));
            let (top1, bottom1) = (x.body_top(i - 1), x.body_bottom(i - 1));
            if top < top1 && bottom > bottom1 {
                *slot = -x.color(i - 1) * 100;
            } else if top <= top1 && bottom >= bottom1 {
                *slot = -x.color(i - 1) * 80;
            }
        }
        long.advance(x, i);
        small.advance(x, i);
    }
    out
}

pub(crate) fn harami(x: &Ohlc<'_>, s: &CandleSettings) -> Vec<i32> {
    harami_like(x, s, false)
}

pub(crate) fn harami_cross(x: &Ohlc<'_>, s: &CandleSettings) -> Vec<i32> {
    harami_like(x, s, true)
}

pub(crate) fn doji_star(x: &Ohlc<'_>, s: &CandleSettings) -> Vec<i32> {
    let lookback = s.body_doji.avg_period.max(s.body_long.avg_period) + 1;
    let Some(start) = first_bar(x, lookback) else {
        return vec![0; x.len()];
    };
    let mut out = vec![0; x.len()];
    let mut long = Avg::new(x, s.body_long, 1, start);
    let mut doji = Avg::new(x, s.body_doji, 0, start);
    for (i, slot) in out.iter_mut().enumerate().skip(start) {
        let gapped = (x.color(i - 1) == 1 && x.body_bottom(i) > x.body_top(i - 1))
            || (x.color(i - 1) == -1 && x.body_top(i) < x.body_bottom(i - 1));
        if x.body(i - 1) > long.at(x, i) && x.body(i) <= doji.at(x, i) && gapped {
            *slot = -x.color(i - 1) * 100;
        }
        long.advance(x, i);
        doji.advance(x, i);
    }
    out
}

pub(crate) fn piercing(x: &Ohlc<'_>, s: &CandleSettings) -> Vec<i32> {
    let Some(start) = first_bar(x, s.body_long.avg_period + 1) else {
        return vec![0; x.len()];
    };
    let mut out = vec![0; x.len()];
    let mut long1 = Avg::new(x, s.body_long, 1, start);
    let mut long0 = Avg::new(x, s.body_long, 0, start);
    let (o, l, c) = (x.open, x.low, x.close);
    for (i, slot) in out.iter_mut().enumerate().skip(start) {
        if x.color(i - 1) == -1
            && x.body(i - 1) > long1.at(x, i)
            && x.color(i) == 1
            && x.body(i) > long0.at(x, i)
            && o[i] < l[i - 1]
            && c[i] < o[i - 1]
            && c[i] > c[i - 1] + x.body(i - 1) * 0.5
        {
            *slot = 100;
        }
        // TA-Lib advances the older window first; the order does not change the values.
        long1.advance(x, i);
        long0.advance(x, i);
    }
    out
}

pub(crate) fn dark_cloud_cover(x: &Ohlc<'_>, s: &CandleSettings, penetration: f64) -> Vec<i32> {
    let Some(start) = first_bar(x, s.body_long.avg_period + 1) else {
        return vec![0; x.len()];
    };
    let mut out = vec![0; x.len()];
    let mut long = Avg::new(x, s.body_long, 1, start);
    let (o, h, c) = (x.open, x.high, x.close);
    for (i, slot) in out.iter_mut().enumerate().skip(start) {
        if x.color(i - 1) == 1
            && x.body(i - 1) > long.at(x, i)
            && x.color(i) == -1
            && o[i] > h[i - 1]
            && c[i] > o[i - 1]
            && c[i] < c[i - 1] - x.body(i - 1) * penetration
        {
            *slot = -100;
        }
        long.advance(x, i);
    }
    out
}

/// Morning/evening star, plain (`doji == false`: the star's body is short, the third body must
/// be longer than short) or doji star (the star is a doji; TA-Lib's doji-star variant).
fn star(x: &Ohlc<'_>, s: &CandleSettings, penetration: f64, bullish: bool, doji: bool) -> Vec<i32> {
    let star_setting = if doji { s.body_doji } else { s.body_short };
    let lookback = star_setting
        .avg_period
        .max(s.body_long.avg_period)
        .max(s.body_short.avg_period)
        + 2;
    let Some(start) = first_bar(x, lookback) else {
        return vec![0; x.len()];
    };
    let mut out = vec![0; x.len()];
    let mut long = Avg::new(x, s.body_long, 2, start);
    let mut star_avg = Avg::new(x, star_setting, 1, start);
    let mut third = Avg::new(x, s.body_short, 0, start);
    let c = x.close;
    for (i, slot) in out.iter_mut().enumerate().skip(start) {
        let shape = if bullish {
            x.color(i - 2) == -1
                && x.color(i) == 1
                && x.body_top(i - 1) < x.body_bottom(i - 2)
                && c[i] > c[i - 2] + x.body(i - 2) * penetration
        } else {
            x.color(i - 2) == 1
                && x.color(i) == -1
                && x.body_bottom(i - 1) > x.body_top(i - 2)
                && c[i] < c[i - 2] - x.body(i - 2) * penetration
        };
        if shape
            && x.body(i - 2) > long.at(x, i)
            && x.body(i - 1) <= star_avg.at(x, i)
            && x.body(i) > third.at(x, i)
        {
            *slot = if bullish { 100 } else { -100 };
        }
        long.advance(x, i);
        star_avg.advance(x, i);
        third.advance(x, i);
    }
    out
}

pub(crate) fn morning_star(x: &Ohlc<'_>, s: &CandleSettings, penetration: f64) -> Vec<i32> {
    star(x, s, penetration, true, false)
}

pub(crate) fn evening_star(x: &Ohlc<'_>, s: &CandleSettings, penetration: f64) -> Vec<i32> {
    star(x, s, penetration, false, false)
}

pub(crate) fn morning_doji_star(x: &Ohlc<'_>, s: &CandleSettings, penetration: f64) -> Vec<i32> {
    star(x, s, penetration, true, true)
}

pub(crate) fn evening_doji_star(x: &Ohlc<'_>, s: &CandleSettings, penetration: f64) -> Vec<i32> {
    star(x, s, penetration, false, true)
}

pub(crate) fn three_white_soldiers(x: &Ohlc<'_>, s: &CandleSettings) -> Vec<i32> {
    let lookback = s
        .shadow_very_short
        .avg_period
        .max(s.body_short.avg_period)
        .max(s.far.avg_period.max(s.near.avg_period))
        + 2;
    let Some(start) = first_bar(x, lookback) else {
        return vec![0; x.len()];
    };
    let mut out = vec![0; x.len()];
    let mut vshort = [2, 1, 0].map(|k| Avg::new(x, s.shadow_very_short, k, start));
    let mut near = [2, 1].map(|k| Avg::new(x, s.near, k, start));
    let mut far = [2, 1].map(|k| Avg::new(x, s.far, k, start));
    let mut short = Avg::new(x, s.body_short, 0, start);
    let (o, c) = (x.open, x.close);
    for (i, slot) in out.iter_mut().enumerate().skip(start) {
        if x.color(i - 2) == 1
            && x.upper_shadow(i - 2) < vshort[0].at(x, i)
            && x.color(i - 1) == 1
            && x.upper_shadow(i - 1) < vshort[1].at(x, i)
            && x.color(i) == 1
            && x.upper_shadow(i) < vshort[2].at(x, i)
            && c[i] > c[i - 1]
            && c[i - 1] > c[i - 2]
            && o[i - 1] > o[i - 2]
            && o[i - 1] <= c[i - 2] + near[0].at(x, i)
            && o[i] > o[i - 1]
            && o[i] <= c[i - 1] + near[1].at(x, i)
            && x.body(i - 1) > x.body(i - 2) - far[0].at(x, i)
            && x.body(i) > x.body(i - 1) - far[1].at(x, i)
            && x.body(i) > short.at(x, i)
        {
            *slot = 100;
        }
        for a in vshort
            .iter_mut()
            .chain(near.iter_mut())
            .chain(far.iter_mut())
        {
            a.advance(x, i);
        }
        short.advance(x, i);
    }
    out
}

pub(crate) fn three_black_crows(x: &Ohlc<'_>, s: &CandleSettings) -> Vec<i32> {
    let Some(start) = first_bar(x, s.shadow_very_short.avg_period + 3) else {
        return vec![0; x.len()];
    };
    let mut out = vec![0; x.len()];
    let mut vshort = [2, 1, 0].map(|k| Avg::new(x, s.shadow_very_short, k, start));
    let (o, h, c) = (x.open, x.high, x.close);
    for (i, slot) in out.iter_mut().enumerate().skip(start) {
        if x.color(i - 3) == 1
            && x.color(i - 2) == -1
            && x.color(i - 1) == -1
            && x.color(i) == -1
            && o[i - 1] < o[i - 2]
            && o[i - 1] > c[i - 2]
            && o[i] < o[i - 1]
            && o[i] > c[i - 1]
            && h[i - 3] > c[i - 2]
            && c[i - 2] > c[i - 1]
            && c[i - 1] > c[i]
            && x.lower_shadow(i - 2) < vshort[0].at(x, i)
            && x.lower_shadow(i - 1) < vshort[1].at(x, i)
            && x.lower_shadow(i) < vshort[2].at(x, i)
        {
            *slot = -100;
        }
        for a in &mut vshort {
            a.advance(x, i);
        }
    }
    out
}
