//! The backtest report: one self-contained HTML page (inline SVG and CSS, no script, no network,
//! no CDN) with the equity curve against buy-and-hold, the drawdown, the price with trade
//! markers, the statistics, the trade list, the optimisation heat map and robustness findings;
//! and a short Markdown summary for the chat.
//!
//! This module only renders strings: it never writes files or reads the clock (the caller passes
//! the generation time), and it escapes every piece of text a person or Claude supplied.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::optimize::Heatmap;
use super::robustness::Robustness;
use super::{Outcome, Settings, Stats, drawdown};
use crate::indicators::Columns;

/// What a report shows.
#[derive(Debug, Clone)]
pub struct ReportInput<'a> {
    pub symbol: &'a str,
    pub strategy_name: &'a str,
    pub params: &'a BTreeMap<String, f64>,
    pub settings: &'a Settings,
    pub cols: &'a Columns<'a>,
    pub outcome: &'a Outcome,
    pub heatmap: Option<&'a Heatmap>,
    pub robustness: Option<&'a Robustness>,
    /// Where the bars came from and as of when, e.g. "bundled, as of 2013-03-01".
    pub provenance: &'a str,
    /// When the report was made (the caller's clock).
    pub generated: &'a str,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn date(t: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

const W: f64 = 900.0;
const PAD: f64 = 50.0;

/// A chart frame mapping bar index and value to SVG coordinates.
struct Frame {
    n: usize,
    lo: f64,
    hi: f64,
    h: f64,
}

impl Frame {
    fn new(n: usize, values: impl Iterator<Item = f64>, h: f64) -> Self {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values.filter(|v| v.is_finite()) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if !lo.is_finite() {
            (lo, hi) = (0.0, 1.0);
        }
        if hi - lo < 1e-12 {
            hi = lo + 1.0;
        }
        Frame { n, lo, hi, h }
    }
    fn x(&self, i: usize) -> f64 {
        PAD + (W - PAD - 10.0) * i as f64 / (self.n.max(2) - 1) as f64
    }
    fn y(&self, v: f64) -> f64 {
        10.0 + (self.h - 35.0) * (1.0 - (v - self.lo) / (self.hi - self.lo))
    }
    fn polyline(&self, v: &[f64], step: usize, color: &str, width: f64) -> String {
        let mut pts = String::new();
        let mut i = 0;
        while i < v.len() {
            if v[i].is_finite() {
                let _ = write!(pts, "{:.1},{:.1} ", self.x(i), self.y(v[i]));
            }
            i += if i + step >= v.len() && i + 1 < v.len() {
                v.len() - 1 - i
            } else {
                step
            };
        }
        format!(
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"{width}\" points=\"{pts}\"/>"
        )
    }
    fn axes(&self, time: &[i64], fmt: impl Fn(f64) -> String) -> String {
        let mut s = String::new();
        for k in 0..=4 {
            let v = self.lo + (self.hi - self.lo) * k as f64 / 4.0;
            let y = self.y(v);
            let _ = write!(
                s,
                "<line x1=\"{PAD}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" class=\"grid\"/>\
                 <text x=\"{}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"end\">{}</text>",
                W - 10.0,
                PAD - 4.0,
                y + 4.0,
                esc(&fmt(v))
            );
        }
        for k in 0..=4 {
            let i = (self.n.saturating_sub(1)) * k / 4;
            if let Some(&t) = time.get(i) {
                let anchor = match k {
                    0 => "start",
                    4 => "end",
                    _ => "middle",
                };
                let _ = write!(
                    s,
                    "<text x=\"{:.1}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"{anchor}\">{}</text>",
                    self.x(i),
                    self.h - 8.0,
                    date(t)
                );
            }
        }
        s
    }
}

fn svg(h: f64, label: &str, body: &str) -> String {
    format!(
        "<svg viewBox=\"0 0 {W} {h}\" width=\"100%\" role=\"img\" aria-label=\"{}\">{body}</svg>",
        esc(label)
    )
}

fn num(v: Option<f64>) -> String {
    match v {
        Some(x) if x.abs() >= 1e6 => format!("{x:.0}"),
        Some(x) => format!("{x:.4}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string(),
        None => "—".into(),
    }
}

fn stats_rows(s: &Stats) -> String {
    let mut out = format!(
        "<tr><th>start</th><td>{}</td></tr><tr><th>end</th><td>{}</td></tr>",
        s.start.format("%Y-%m-%d"),
        s.end.format("%Y-%m-%d")
    );
    for key in Stats::KEYS {
        let _ = write!(out, "<tr><th>{key}</th><td>{}</td></tr>", num(s.get(key)));
    }
    out
}

/// Renders the report page.
pub fn render(r: &ReportInput<'_>) -> String {
    let o = r.outcome;
    let cols = r.cols;
    let n = o.equity.len().min(cols.len());
    let step = n.div_ceil(1200).max(1);
    let start = o.warmup.min(n.saturating_sub(1));
    let base = cols.close.get(start).copied().unwrap_or(f64::NAN);
    let hold: Vec<f64> = (0..n)
        .map(|i| {
            if i < start {
                r.settings.cash
            } else {
                r.settings.cash * cols.close[i] / base
            }
        })
        .collect();

    let eq = Frame::new(n, o.equity.iter().chain(&hold).copied(), 300.0);
    let equity_svg = svg(
        300.0,
        "Equity curve against buy-and-hold",
        &format!(
            "{}{}{}<text x=\"{}\" y=\"22\" class=\"legend\"><tspan fill=\"#1f6feb\">■ strategy</tspan>  <tspan fill=\"#8b949e\">■ buy &amp; hold</tspan></text>",
            eq.axes(&cols.time[..n], |v| format!("{v:.0}")),
            eq.polyline(&hold, step, "#8b949e", 1.2),
            eq.polyline(&o.equity[..n], step, "#1f6feb", 1.8),
            PAD + 10.0
        ),
    );

    let dd: Vec<f64> = drawdown(&o.equity[..n])
        .iter()
        .map(|d| -d * 100.0)
        .collect();
    let df = Frame::new(n, dd.iter().copied().chain([0.0]), 160.0);
    let mut area = format!("{:.1},{:.1} ", df.x(0), df.y(0.0));
    let mut i = 0;
    while i < n {
        let _ = write!(area, "{:.1},{:.1} ", df.x(i), df.y(dd[i]));
        i += step;
    }
    let _ = write!(
        area,
        "{:.1},{:.1} {:.1},{:.1}",
        df.x(n - 1),
        df.y(dd[n - 1]),
        df.x(n - 1),
        df.y(0.0)
    );
    let dd_svg = svg(
        160.0,
        "Drawdown",
        &format!(
            "{}<polygon fill=\"#f85149\" fill-opacity=\"0.35\" stroke=\"#f85149\" points=\"{area}\"/>",
            df.axes(&cols.time[..n], |v| format!("{v:.0}%"))
        ),
    );

    let pf = Frame::new(n, cols.close[..n].iter().copied(), 300.0);
    let mut markers = String::new();
    let shown = &o.trades[o.trades.len().saturating_sub(400)..];
    for t in shown {
        let (x, y) = (pf.x(t.entry_bar.min(n - 1)), pf.y(t.entry_price));
        let (fill, pts) = if t.size > 0.0 {
            (
                "#2da44e",
                format!(
                    "{x:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
                    y - 6.0,
                    x - 5.0,
                    y + 3.0,
                    x + 5.0,
                    y + 3.0
                ),
            )
        } else {
            (
                "#cf222e",
                format!(
                    "{x:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
                    y + 6.0,
                    x - 5.0,
                    y - 3.0,
                    x + 5.0,
                    y - 3.0
                ),
            )
        };
        let _ = write!(
            markers,
            "<polygon class=\"entry\" fill=\"{fill}\" points=\"{pts}\"/>"
        );
        let _ = write!(
            markers,
            "<circle class=\"exit\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"none\" stroke=\"#24292f\"/>",
            pf.x(t.exit_bar.min(n - 1)),
            pf.y(t.exit_price)
        );
    }
    let price_svg = svg(
        300.0,
        "Price with trades",
        &format!(
            "{}{}{markers}<text x=\"{}\" y=\"22\" class=\"legend\"><tspan fill=\"#2da44e\">▲ long entry</tspan>  <tspan fill=\"#cf222e\">▼ short entry</tspan>  ○ exit</text>",
            pf.axes(&cols.time[..n], |v| format!("{v:.2}")),
            pf.polyline(&cols.close[..n], step, "#57606a", 1.0),
            PAD + 10.0
        ),
    );

    let mut trades = String::new();
    for t in o.trades.iter().rev().take(500) {
        let _ = write!(
            trades,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td></tr>",
            num(Some(t.size)),
            date(cols.time[t.entry_bar.min(n - 1)]),
            date(cols.time[t.exit_bar.min(n - 1)]),
            t.entry_price,
            t.exit_price,
            t.pnl,
            t.return_pct * 100.0
        );
    }

    let heat = r.heatmap.map(heatmap_svg).unwrap_or_default();
    let robust = r.robustness.map(robustness_html).unwrap_or_default();
    let params = r
        .params
        .iter()
        .map(|(k, v)| format!("{}={}", esc(k), num(Some(*v))))
        .collect::<Vec<_>>()
        .join(", ");
    let s = &o.stats;
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
    <title>{title}</title><style>\
    body{{font:14px -apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;max-width:960px;color:#24292f}}\
    h1{{font-size:22px;margin-bottom:4px}} h2{{font-size:17px;margin-top:28px}} .sub{{color:#57606a}}\
    .grid{{stroke:#d0d7de;stroke-width:0.5}} .tick{{font-size:11px;fill:#57606a}} .legend{{font-size:12px}}\
    table{{border-collapse:collapse;font-size:12px}} td,th{{padding:2px 8px;border-bottom:1px solid #eaeef2;text-align:right}}\
    th{{text-align:left;font-weight:600}} .cols{{display:flex;gap:32px;flex-wrap:wrap}} .kpi{{font-size:20px;font-weight:600}}\
    .warn{{background:#fff8c5;padding:6px 10px;border-left:3px solid #d4a72c;margin:4px 0}}\
    </style></head><body>\
    <h1>{title}</h1><div class=\"sub\">{params} · {prov} · generated {gen}</div>\
    <p><span class=\"kpi\">{ret:.1} %</span> return vs <b>{bh}</b> % buy &amp; hold · Sharpe <b>{sharpe}</b> · max drawdown <b>{mdd:.1} %</b> · {ntr} trades</p>\
    <h2>Equity</h2>{equity_svg}<h2>Drawdown</h2>{dd_svg}<h2>Price and trades</h2>{price_svg}\
    {heat}{robust}\
    <div class=\"cols\"><div><h2>Statistics</h2><table>{stats}</table></div>\
    <div><h2>Trades (newest first)</h2><table><tr><th>size</th><th>entry</th><th>exit</th><th>entry px</th><th>exit px</th><th>P&amp;L</th><th>return %</th></tr>{trades}</table></div></div>\
    </body></html>",
        title = esc(&format!("{} — {}", r.strategy_name, r.symbol)),
        prov = esc(r.provenance),
        gen = esc(r.generated),
        ret = s.return_pct,
        bh = num(s.buy_and_hold_return_pct),
        sharpe = num(s.sharpe_ratio),
        mdd = s.max_drawdown_pct,
        ntr = s.trades,
        stats = stats_rows(s),
    )
}

fn heatmap_svg(h: &Heatmap) -> String {
    let (nx, ny) = (h.xs.len().max(1), h.ys.len().max(1));
    let (lo, hi) = h
        .values
        .iter()
        .flatten()
        .flatten()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let cw = ((W - 2.0 * PAD) / nx as f64).min(60.0);
    let ch = 22.0;
    let height = 40.0 + ch * ny as f64 + 30.0;
    let mut body = String::new();
    for (j, row) in h.values.iter().enumerate() {
        let y = 20.0 + ch * j as f64;
        let _ = write!(
            body,
            "<text x=\"{}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"end\">{}</text>",
            PAD + 40.0,
            y + 15.0,
            num(h.ys.get(j).copied())
        );
        for (i, v) in row.iter().enumerate() {
            let x = PAD + 50.0 + cw * i as f64;
            let (fill, label) = match v {
                Some(v) if hi > lo => {
                    let f = (v - lo) / (hi - lo);
                    (
                        format!(
                            "rgb({},{},{})",
                            (68.0 + f * 185.0) as u8,
                            (1.0 + f * 230.0) as u8,
                            (84.0 - f * 50.0) as u8
                        ),
                        num(Some(*v)),
                    )
                }
                Some(v) => ("rgb(128,128,128)".into(), num(Some(*v))),
                None => ("#f6f8fa".into(), String::new()),
            };
            let _ = write!(
                body,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{cw:.1}\" height=\"{ch}\" fill=\"{fill}\"><title>{}={} {}={}: {}</title></rect>",
                esc(&h.x),
                num(h.xs.get(i).copied()),
                esc(&h.y),
                num(h.ys.get(j).copied()),
                esc(&label)
            );
        }
    }
    for (i, x) in h.xs.iter().enumerate() {
        let _ = write!(
            body,
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"middle\">{}</text>",
            PAD + 50.0 + cw * (i as f64 + 0.5),
            30.0 + ch * ny as f64,
            num(Some(*x))
        );
    }
    let _ = write!(
        body,
        "<text x=\"{:.1}\" y=\"{:.1}\" class=\"legend\">{} → (rows: {})</text>",
        PAD + 50.0,
        48.0 + ch * ny as f64,
        esc(&h.x),
        esc(&h.y)
    );
    format!(
        "<h2>Optimisation heat map</h2>{}",
        svg(height, "Optimisation heat map", &body)
    )
}

fn robustness_html(r: &Robustness) -> String {
    let mut s = String::from("<h2>Robustness</h2>");
    for w in &r.warnings {
        let _ = write!(s, "<div class=\"warn\">{}</div>", esc(w));
    }
    let _ = write!(
        s,
        "<table><tr><th></th><th>bars</th><th>trades</th><th>return %</th><th>Sharpe</th><th>max DD %</th></tr>"
    );
    for (label, x) in [
        ("in-sample", &r.in_sample),
        ("out-of-sample", &r.out_of_sample),
    ] {
        let _ = write!(
            s,
            "<tr><th>{label}</th><td>{}</td><td>{}</td><td>{:.2}</td><td>{}</td><td>{:.2}</td></tr>",
            x.bars,
            x.trades,
            x.return_pct,
            num(x.sharpe_ratio),
            x.max_drawdown_pct
        );
    }
    s.push_str("</table>");
    if let (Some(f), Some(d)) = (&r.monte_carlo.final_equity, &r.monte_carlo.max_drawdown_pct) {
        let _ = write!(
            s,
            "<p>Monte Carlo ({} bootstrap runs of the trade returns): final equity 5/50/95 % = {:.0} / {:.0} / {:.0}; max drawdown = {:.1} / {:.1} / {:.1} %.</p>",
            r.monte_carlo.runs, f.p5, f.p50, f.p95, d.p5, d.p50, d.p95
        );
    }
    s
}

/// A few lines of Markdown for the chat.
pub fn markdown(r: &ReportInput<'_>) -> String {
    let s = &r.outcome.stats;
    let mut out = format!(
        "**{}** on **{}** ({} to {}): return **{:.1} %** vs buy & hold {} %, Sharpe {}, max drawdown {:.1} %, {} trades, win rate {} %.",
        r.strategy_name,
        r.symbol,
        s.start.format("%Y-%m-%d"),
        s.end.format("%Y-%m-%d"),
        s.return_pct,
        num(s.buy_and_hold_return_pct),
        num(s.sharpe_ratio),
        s.max_drawdown_pct,
        s.trades,
        num(s.win_rate_pct)
    );
    if let Some(h) = r.heatmap {
        let _ = write!(out, "\nHeat map over {} × {}.", h.x, h.y);
    }
    if let Some(rb) = r.robustness {
        for w in &rb.warnings {
            let _ = write!(out, "\n- ⚠ {w}");
        }
    }
    out
}
