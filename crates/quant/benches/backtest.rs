//! Backtest speed: the GOOG SMA(10)/SMA(20) cross (backtesting.py's example, compared with
//! backtesting.py and vectorbt by `cargo xtask bench`), the same strategy on 1,000,000 bars
//! (target < 10 ms), the 78-combination SMA grid on GOOG (target < 5 ms on 2 cores), and a
//! Bayesian search of 200 runs over four parameters on GOOG's 2,148 bars (target ≤ 1 s).
//! Each run is the whole thing a tool call does after loading bars (`run_strategy`, as
//! `run_backtest` calls it): rules evaluated, indicators computed, the engine run and every
//! statistic computed.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use quantdesk_quant::backtest::optimize::{Constraint, Request, Search, optimize};
use quantdesk_quant::backtest::strategy::{Strategy, example};
use quantdesk_quant::backtest::{MarketContext, Settings, run_strategy};
use quantdesk_quant::indicators::{Candle, OwnedColumns};

/// The allocator the sidecar (`quantdesk-mcp`) runs with, so this measures what it runs (with
/// glibc's malloc the equity curve and indicator columns of a long series go back to the OS on
/// every free and are faulted in again on the next run; see `quant::indicators`' module doc).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn goog() -> OwnedColumns {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/GOOG.csv");
    let text = std::fs::read_to_string(path).expect("GOOG.csv");
    let mut cols = OwnedColumns::default();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let d = chrono::NaiveDate::parse_from_str(f[0], "%Y-%m-%d").expect("date");
        cols.push(Candle {
            time: d
                .and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc()
                .timestamp(),
            open: f[1].parse().expect("open"),
            high: f[2].parse().expect("high"),
            low: f[3].parse().expect("low"),
            close: f[4].parse().expect("close"),
            volume: f[5].parse().expect("volume"),
        });
    }
    cols
}

/// A seeded random walk of one-minute bars (xorshift; same numbers everywhere).
fn walk(n: usize) -> OwnedColumns {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut cols = OwnedColumns::default();
    let mut price = 100.0;
    for i in 0..n {
        let open = price;
        let close = (open * (1.0 + (next() - 0.5) * 0.004)).max(0.01);
        cols.push(Candle {
            time: 1_600_000_000 + i as i64 * 60,
            open,
            high: open.max(close) * (1.0 + next() * 0.001),
            low: open.min(close) * (1.0 - next() * 0.001),
            close,
            volume: 1_000.0,
        });
        price = close;
    }
    cols
}

fn sma_cross() -> Strategy {
    let text = example("sma_cross").expect("example");
    Strategy::from_json(&serde_json::from_str(text).expect("json")).expect("valid")
}

fn settings() -> Settings {
    Settings {
        commission_rate: 0.002,
        ..Settings::default()
    }
}

/// Strategy → plan → engine → statistics, as `run_backtest` does after loading bars.
fn backtest_once(s: &Strategy, cols: &OwnedColumns) -> f64 {
    run_strategy(s, &BTreeMap::new(), &cols.view(), &settings())
        .expect("run")
        .stats
        .equity_final
}

fn benches(c: &mut Criterion) {
    let s = sma_cross();
    let goog = goog();
    let big = walk(1_000_000);
    let mut g = c.benchmark_group("backtest");
    g.bench_function("goog_sma_cross", |b| {
        b.iter(|| black_box(backtest_once(&s, &goog)))
    });
    g.sample_size(20);
    g.bench_function("sma_cross_1m", |b| {
        b.iter(|| black_box(backtest_once(&s, &big)))
    });
    g.sample_size(50);
    g.bench_function("sma_grid_78", |b| {
        b.iter(|| {
            let ctx = MarketContext::new(&goog.view());
            let req = Request {
                strategy: &s,
                ranges: BTreeMap::new(),
                constraint: Some(Constraint::parse("fast < slow", &s).expect("constraint")),
                maximize: "equity_final".into(),
                search: Search::Grid,
                settings: settings(),
            };
            let opt = optimize(&goog.view(), &ctx, &req).expect("optimize");
            assert_eq!(opt.rows.len(), 78);
            black_box(opt.best().map(|r| r.value))
        })
    });
    let rsi = Strategy::from_json(&serde_json::json!({
        "params": {"period": 14, "oversold": 30, "exit_level": 55, "stop": 8},
        "long": {"entry": "rsi($period) < $oversold", "exit": "rsi($period) > $exit_level"},
        "stops": {"stop_loss": {"percent": "$stop"}}
    }))
    .expect("strategy");
    let steps = |lo: f64, step: f64, n: usize| (0..n).map(|k| lo + step * k as f64).collect();
    let ranges = BTreeMap::from([
        ("period".to_string(), steps(5.0, 1.0, 26)),
        ("oversold".to_string(), steps(15.0, 5.0, 6)),
        ("exit_level".to_string(), steps(45.0, 5.0, 7)),
        ("stop".to_string(), steps(2.0, 2.0, 8)),
    ]);
    g.sample_size(10);
    g.bench_function("bayesian_4_params_200", |b| {
        b.iter(|| {
            let ctx = MarketContext::new(&goog.view());
            let req = Request {
                strategy: &rsi,
                ranges: ranges.clone(),
                constraint: None,
                maximize: "sharpe_ratio".into(),
                search: Search::Bayesian {
                    samples: 200,
                    seed: 1,
                },
                settings: settings(),
            };
            let opt = optimize(&goog.view(), &ctx, &req).expect("optimize");
            assert_eq!(opt.rows.len(), 200);
            black_box(opt.best().map(|r| r.value))
        })
    });
    g.finish();
}

criterion_group!(backtest, benches);
criterion_main!(backtest);
