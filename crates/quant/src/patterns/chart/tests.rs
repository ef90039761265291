//! Chart patterns on hand-built series whose pivots and breaks can be worked out on paper, and
//! the no-look-ahead property on replayed history.

use super::*;
use crate::indicators::OwnedColumns;

/// Closes interpolated linearly between `(bar, price)` vertices; high/low half a point around the
/// close and the open at the previous close, so pivots sit exactly on the vertices.
fn zigzag(vertices: &[(usize, f64)]) -> OwnedColumns {
    let mut closes = vec![vertices[0].1];
    for w in vertices.windows(2) {
        let ((a, pa), (b, pb)) = (w[0], w[1]);
        for i in a + 1..=b {
            closes.push(pa + (pb - pa) * (i - a) as f64 / (b - a) as f64);
        }
    }
    let mut cols = OwnedColumns::default();
    for (i, &c) in closes.iter().enumerate() {
        cols.time.push(i as i64);
        cols.open.push(if i == 0 { c } else { closes[i - 1] });
        cols.high.push(c + 0.5);
        cols.low.push(c - 0.5);
        cols.close.push(c);
        cols.volume.push(1.0);
    }
    cols
}

/// The same series upside down around 100 (price' = 200 - price), turning tops into bottoms.
fn mirrored(vertices: &[(usize, f64)]) -> Vec<(usize, f64)> {
    vertices.iter().map(|&(i, p)| (i, 200.0 - p)).collect()
}

fn indices(p: &ChartPattern) -> Vec<usize> {
    p.points.iter().map(|q| q.index).collect()
}

fn close_to(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

const DOUBLE_TOP: &[(usize, f64)] = &[
    (0, 100.0),
    (10, 120.0),
    (20, 110.0),
    (30, 120.5),
    (55, 94.875),
];
const HEAD_SHOULDERS: &[(usize, f64)] = &[
    (0, 100.0),
    (10, 115.0),
    (20, 105.0),
    (30, 125.0),
    (40, 106.0),
    (50, 115.5),
    (70, 90.0),
];
const TRENDLINE: &[(usize, f64)] = &[
    (0, 100.0),
    (10, 120.0),
    (20, 108.0),
    (30, 115.0),
    (40, 105.0),
    (52, 117.0),
];

#[test]
fn swing_points_sit_on_the_vertices_and_are_known_window_bars_later() {
    let cols = zigzag(DOUBLE_TOP);
    let swings = swing_points(&cols.view(), 5).expect("swings");
    let got: Vec<_> = swings
        .iter()
        .map(|s| (s.index, s.kind, s.price, s.confirmed_at))
        .collect();
    assert_eq!(
        got,
        vec![
            (10, SwingKind::High, 120.5, 15),
            (20, SwingKind::Low, 109.5, 25),
            (30, SwingKind::High, 121.0, 35),
        ]
    );
    // The first pivot needs 5 bars after it: with bars 0..=14 it is not known yet, with bar 15
    // it is.
    assert!(
        swing_points(&prefix(&cols, 15).view(), 5)
            .expect("swings")
            .is_empty()
    );
    assert_eq!(
        swing_points(&prefix(&cols, 16).view(), 5)
            .expect("swings")
            .len(),
        1
    );
}

#[test]
fn double_top_is_found_and_confirmed_on_the_neckline_break() {
    let cols = zigzag(DOUBLE_TOP);
    let all = scan_chart_patterns(&cols.view(), &ChartConfig::default()).expect("scan");
    assert_eq!(all.len(), 1, "{all:#?}");
    let p = &all[0];
    assert_eq!(p.kind, ChartPatternKind::DoubleTop);
    assert_eq!(p.direction, Direction::Bearish);
    assert_eq!(indices(p), vec![10, 20, 30]);
    let roles: Vec<_> = p.points.iter().map(|q| q.role).collect();
    assert_eq!(
        roles,
        vec![
            PointRole::FirstTop,
            PointRole::Neckline,
            PointRole::SecondTop
        ]
    );
    // Closes fall 1.025 a bar from 120.5 at bar 30; the first below 109.5 * 0.995 is bar 42.
    assert_eq!(p.breakout_index, Some(42));
    assert!(p.confirmed);
    assert_eq!(p.known_at, 42);
    assert!(close_to(p.breakout_price, 109.5));
    // Height 121 - 109.5 projected down from the neckline.
    assert!(close_to(p.target, 98.0));
}

#[test]
fn double_bottom_mirrors_the_double_top() {
    let cols = zigzag(&mirrored(DOUBLE_TOP));
    let all = scan_chart_patterns(&cols.view(), &ChartConfig::default()).expect("scan");
    assert_eq!(all.len(), 1, "{all:#?}");
    let p = &all[0];
    assert_eq!(p.kind, ChartPatternKind::DoubleBottom);
    assert_eq!(p.direction, Direction::Bullish);
    assert_eq!(indices(p), vec![10, 20, 30]);
    assert_eq!(p.points[0].role, PointRole::FirstBottom);
    assert!(close_to(p.points[0].price, 79.5));
    assert!(close_to(p.points[2].price, 79.0));
    assert_eq!(p.breakout_index, Some(42));
    assert!(close_to(p.breakout_price, 90.5));
    assert!(close_to(p.target, 102.0));
}

#[test]
fn head_and_shoulders_with_sloping_neckline() {
    let cols = zigzag(HEAD_SHOULDERS);
    let config = ChartConfig::default();
    let hs = head_and_shoulders(&cols.view(), &config).expect("h&s");
    assert_eq!(hs.len(), 1, "{hs:#?}");
    let p = &hs[0];
    assert_eq!(p.kind, ChartPatternKind::HeadAndShoulders);
    assert_eq!(p.direction, Direction::Bearish);
    assert_eq!(indices(p), vec![10, 20, 30, 40, 50]);
    let roles: Vec<_> = p.points.iter().map(|q| q.role).collect();
    assert_eq!(
        roles,
        vec![
            PointRole::LeftShoulder,
            PointRole::Neckline,
            PointRole::Head,
            PointRole::Neckline,
            PointRole::RightShoulder
        ]
    );
    // Neckline through (20, 104.5) and (40, 105.5): 0.05 a bar.
    assert!(close_to(p.neckline.slope(), 0.05));
    assert_eq!(p.breakout_index, Some(58));
    assert!(close_to(p.breakout_price, 106.4));
    // Head 125.5 is 20.5 above the neckline at bar 30.
    assert!(close_to(p.target, 106.4 - 20.5));

    // The rising support line through the same two troughs breaks on the same bar; the falling
    // line through head and right shoulder is still being watched. Nothing else is found.
    let all = scan_chart_patterns(&cols.view(), &config).expect("scan");
    let summary: Vec<_> = all
        .iter()
        .map(|p| (p.kind, p.direction, indices(p), p.breakout_index))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                ChartPatternKind::TrendlineBreakout,
                Direction::Bullish,
                vec![30, 50],
                None
            ),
            (
                ChartPatternKind::HeadAndShoulders,
                Direction::Bearish,
                vec![10, 20, 30, 40, 50],
                Some(58)
            ),
            (
                ChartPatternKind::TrendlineBreakout,
                Direction::Bearish,
                vec![20, 40],
                Some(58)
            ),
        ]
    );
    assert!(!all[0].confirmed);
    assert_eq!(all[0].known_at, 55);
}

#[test]
fn inverse_head_and_shoulders_mirrors_it() {
    let cols = zigzag(&mirrored(HEAD_SHOULDERS));
    let hs = head_and_shoulders(&cols.view(), &ChartConfig::default()).expect("h&s");
    assert_eq!(hs.len(), 1, "{hs:#?}");
    let p = &hs[0];
    assert_eq!(p.kind, ChartPatternKind::InverseHeadAndShoulders);
    assert_eq!(p.direction, Direction::Bullish);
    assert_eq!(indices(p), vec![10, 20, 30, 40, 50]);
    assert!(close_to(p.points[2].price, 74.5));
    assert_eq!(p.breakout_index, Some(58));
    assert!(close_to(p.breakout_price, 93.6));
    assert!(close_to(p.target, 93.6 + 20.5));
}

#[test]
fn falling_trendline_breakout() {
    let cols = zigzag(TRENDLINE);
    let all = scan_chart_patterns(&cols.view(), &ChartConfig::default()).expect("scan");
    assert_eq!(all.len(), 1, "{all:#?}");
    let p = &all[0];
    assert_eq!(p.kind, ChartPatternKind::TrendlineBreakout);
    assert_eq!(p.direction, Direction::Bullish);
    assert_eq!(indices(p), vec![10, 30]);
    assert!(close_to(p.neckline.slope(), -0.25));
    // Line 120.5 - 0.25 (t - 10); closes rise 1 a bar from 105 at bar 40: first above the line
    // by 0.5% at bar 47.
    assert_eq!(p.breakout_index, Some(47));
    assert!(close_to(p.breakout_price, 111.25));
    // Widest gap under the line while it formed: 118 - 107.5 at bar 20.
    assert!(close_to(p.target, 111.25 + 10.5));
}

#[test]
fn support_and_resistance_levels_cluster_pivots() {
    let cols = zigzag(&[
        (0, 105.0),
        (8, 100.0),
        (16, 110.0),
        (24, 100.5),
        (32, 110.4),
        (40, 99.8),
        (48, 110.2),
        (56, 105.0),
    ]);
    let levels = support_resistance(&cols.view(), &ChartConfig::default()).expect("levels");
    assert_eq!(levels.len(), 2, "{levels:#?}");
    let (r, s) = (&levels[0], &levels[1]);
    assert_eq!(r.kind, LevelKind::Resistance);
    assert_eq!(r.touch_indices, vec![16, 32, 48]);
    assert_eq!((r.touches, r.swing_highs, r.swing_lows), (3, 3, 0));
    assert_eq!((r.first_touch, r.last_touch), (16, 48));
    assert!(close_to(r.price, 110.7));
    assert!(close_to(r.low, 110.5) && close_to(r.high, 110.9));
    assert!(close_to(r.strength, 3.0 + 49.0 / 57.0));
    assert_eq!(s.kind, LevelKind::Support);
    assert_eq!(s.touch_indices, vec![8, 24, 40]);
    assert!(close_to(s.price, (99.5 + 100.0 + 99.3) / 3.0));
    assert!(close_to(s.strength, 3.0 + 41.0 / 57.0));

    // A tighter tolerance splits the support pivots (99.3 vs 100.0 is 0.7% apart).
    let tight = ChartConfig {
        price_tolerance: 0.005,
        ..ChartConfig::default()
    };
    let levels = support_resistance(&cols.view(), &tight).expect("levels");
    let supports: Vec<_> = levels
        .iter()
        .filter(|l| l.kind == LevelKind::Support)
        .collect();
    assert_eq!(supports.len(), 1);
    assert_eq!(supports[0].touch_indices, vec![8, 40]);
}

fn prefix(cols: &OwnedColumns, len: usize) -> OwnedColumns {
    OwnedColumns {
        time: cols.time[..len].to_vec(),
        open: cols.open[..len].to_vec(),
        high: cols.high[..len].to_vec(),
        low: cols.low[..len].to_vec(),
        close: cols.close[..len].to_vec(),
        volume: cols.volume[..len].to_vec(),
    }
}

/// Deterministic random walk with swings (a small LCG, no dependency).
fn random_walk(n: usize, seed: u64) -> OwnedColumns {
    let mut state = seed;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64) / ((1u64 << 53) as f64)
    };
    let mut cols = OwnedColumns::default();
    let mut price = 100.0;
    let mut drift = 0.0;
    for i in 0..n {
        if i % 15 == 0 {
            drift = (next() - 0.5) * 1.2;
        }
        let open = price;
        price = (price + drift + (next() - 0.5) * 2.0).max(5.0);
        let high = open.max(price) + next() * 0.8;
        let low = open.min(price) - next() * 0.8;
        cols.time.push(i as i64);
        cols.open.push(open);
        cols.high.push(high);
        cols.low.push(low);
        cols.close.push(price);
        cols.volume.push(1.0);
    }
    cols
}

/// Replays `cols` bar by bar: every pattern confirmed on a prefix is reported identically on
/// the full history, and every confirmed pattern of the full history is already there, confirmed,
/// on the prefix ending at its breakout bar. Returns how many confirmed patterns were checked.
fn assert_no_look_ahead(cols: &OwnedColumns, config: &ChartConfig) -> usize {
    let full = scan_chart_patterns(&cols.view(), config).expect("scan");
    let confirmed: Vec<_> = full.iter().filter(|p| p.confirmed).collect();
    for len in 1..=cols.close.len() {
        let part = scan_chart_patterns(&prefix(cols, len).view(), config).expect("scan");
        for p in part.iter().filter(|p| p.confirmed) {
            assert!(
                full.contains(p),
                "bar {}: {p:#?} not in the full history",
                len - 1
            );
        }
        for p in confirmed
            .iter()
            .filter(|p| p.breakout_index == Some(len - 1))
        {
            assert!(
                part.contains(p),
                "bar {}: {p:#?} missing on its breakout bar",
                len - 1
            );
        }
        // Swing points of a prefix are exactly the full history's pivots known by then.
        let swings = swing_points(&prefix(cols, len).view(), config.swing_window).expect("swings");
        let known: Vec<_> = swing_points(&cols.view(), config.swing_window)
            .expect("swings")
            .into_iter()
            .filter(|s| s.confirmed_at < len)
            .collect();
        assert_eq!(swings, known);
    }
    confirmed.len()
}

#[test]
fn appending_bars_never_changes_a_confirmed_pattern() {
    let config = ChartConfig::default();
    let mut checked = 0;
    for series in [
        zigzag(DOUBLE_TOP),
        zigzag(&mirrored(DOUBLE_TOP)),
        zigzag(HEAD_SHOULDERS),
        zigzag(&mirrored(HEAD_SHOULDERS)),
        zigzag(TRENDLINE),
    ] {
        checked += assert_no_look_ahead(&series, &config);
    }
    let walk = random_walk(500, 7);
    let walk_confirmed = assert_no_look_ahead(&walk, &config);
    assert!(
        walk_confirmed >= 5,
        "random walk gave only {walk_confirmed} confirmed patterns"
    );
    let loose = ChartConfig {
        price_tolerance: 0.03,
        min_depth: 0.02,
        ..ChartConfig::default()
    };
    let loose_confirmed = assert_no_look_ahead(&walk, &loose);
    let kinds: std::collections::HashSet<_> = scan_chart_patterns(&walk.view(), &loose)
        .expect("scan")
        .iter()
        .filter(|p| p.confirmed)
        .map(|p| p.kind)
        .collect();
    assert!(kinds.len() >= 2, "{kinds:?}");
    assert!(checked + walk_confirmed + loose_confirmed > 10);
}

#[test]
fn bad_inputs_are_refused() {
    let cols = zigzag(DOUBLE_TOP);
    let mut view = cols.view();
    view.low = &cols.low[1..];
    assert!(matches!(
        scan_chart_patterns(&view, &ChartConfig::default()),
        Err(PatternError::LengthMismatch { .. })
    ));
    let bad = ChartConfig {
        price_tolerance: f64::NAN,
        ..ChartConfig::default()
    };
    assert!(matches!(
        support_resistance(&cols.view(), &bad),
        Err(PatternError::InvalidParam {
            param: "price_tolerance",
            ..
        })
    ));
    assert!(swing_points(&cols.view(), 0).is_err());
    // Too few bars for any pivot is not an error, just nothing found.
    let short = prefix(&cols, 5);
    assert!(
        scan_chart_patterns(&short.view(), &ChartConfig::default())
            .expect("scan")
            .is_empty()
    );
    let empty = OwnedColumns::default();
    assert!(
        scan_chart_patterns(&empty.view(), &ChartConfig::default())
            .expect("scan")
            .is_empty()
    );
    assert!(
        support_resistance(&empty.view(), &ChartConfig::default())
            .expect("levels")
            .is_empty()
    );
}
