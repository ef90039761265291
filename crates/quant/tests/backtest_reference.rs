//! The engine reproduces backtesting.py 0.6.6: the SMA(10)/SMA(20) cross on GOOG with its
//! example settings gives `smacross_10_20_trades.csv` trade for trade and every statistic in
//! `smacross_10_20.json` to 1e-9 relative.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use quantdesk_quant::backtest::{
    MarketContext, Plan, Settings, Signals, Sizing, Stats, StopRules, compute_stats, run,
};
use quantdesk_quant::indicators::OwnedColumns;
use quantdesk_quant::indicators::overlap::sma;

mod common;
use common::{days, fixtures, goog};

/// backtesting.py's `crossover(a, b)`: strictly below at the previous bar, strictly above now.
fn crossover(a: &[f64], b: &[f64]) -> Vec<bool> {
    (0..a.len())
        .map(|i| i > 0 && a[i - 1] < b[i - 1] && a[i] > b[i])
        .collect()
}

fn close_rel(got: f64, want: f64, what: &str) {
    let tol = 1e-9 * want.abs().max(1e-12);
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got}, want {want} (rel {:e})",
        ((got - want) / want).abs()
    );
}

fn sma_cross_plan(cols: &OwnedColumns, fast: usize, slow: usize) -> Plan {
    let a = sma(&cols.close, fast).unwrap();
    let b = sma(&cols.close, slow).unwrap();
    Plan {
        signals: Signals {
            enter_long: crossover(&a, &b).into(),
            enter_short: crossover(&b, &a).into(),
            exit_long: Default::default(),
            exit_short: Default::default(),
        },
        sizing: Sizing::FractionOfEquity(1.0),
        stops: StopRules::default(),
        warmup: slow - 1,
    }
}

pub fn check_stats(stats: &Stats, want: &serde_json::Value) {
    let num = |k: &str| want[k].as_f64().unwrap_or_else(|| panic!("{k} in fixture"));
    let dur = |k: &str| -> f64 {
        let s = want[k].as_str().unwrap();
        s.split(' ').next().unwrap().parse().unwrap()
    };
    let pairs: Vec<(&str, Option<f64>, f64)> = vec![
        ("duration_days", Some(stats.duration_days), dur("Duration")),
        (
            "exposure_time_pct",
            Some(stats.exposure_time_pct),
            num("Exposure Time [%]"),
        ),
        (
            "equity_final",
            Some(stats.equity_final),
            num("Equity Final [$]"),
        ),
        (
            "equity_peak",
            Some(stats.equity_peak),
            num("Equity Peak [$]"),
        ),
        (
            "commissions",
            Some(stats.commissions),
            num("Commissions [$]"),
        ),
        ("return_pct", Some(stats.return_pct), num("Return [%]")),
        (
            "buy_and_hold_return_pct",
            stats.buy_and_hold_return_pct,
            num("Buy & Hold Return [%]"),
        ),
        (
            "return_ann_pct",
            stats.return_ann_pct,
            num("Return (Ann.) [%]"),
        ),
        (
            "volatility_ann_pct",
            stats.volatility_ann_pct,
            num("Volatility (Ann.) [%]"),
        ),
        ("cagr_pct", stats.cagr_pct, num("CAGR [%]")),
        ("sharpe_ratio", stats.sharpe_ratio, num("Sharpe Ratio")),
        ("sortino_ratio", stats.sortino_ratio, num("Sortino Ratio")),
        ("calmar_ratio", stats.calmar_ratio, num("Calmar Ratio")),
        ("alpha_pct", stats.alpha_pct, num("Alpha [%]")),
        ("beta", stats.beta, num("Beta")),
        (
            "max_drawdown_pct",
            Some(stats.max_drawdown_pct),
            num("Max. Drawdown [%]"),
        ),
        (
            "avg_drawdown_pct",
            stats.avg_drawdown_pct,
            num("Avg. Drawdown [%]"),
        ),
        (
            "max_drawdown_duration_days",
            stats.max_drawdown_duration_days,
            dur("Max. Drawdown Duration"),
        ),
        (
            "avg_drawdown_duration_days",
            stats.avg_drawdown_duration_days,
            dur("Avg. Drawdown Duration"),
        ),
        ("trades", Some(stats.trades as f64), num("# Trades")),
        ("win_rate_pct", stats.win_rate_pct, num("Win Rate [%]")),
        (
            "best_trade_pct",
            stats.best_trade_pct,
            num("Best Trade [%]"),
        ),
        (
            "worst_trade_pct",
            stats.worst_trade_pct,
            num("Worst Trade [%]"),
        ),
        ("avg_trade_pct", stats.avg_trade_pct, num("Avg. Trade [%]")),
        (
            "max_trade_duration_days",
            stats.max_trade_duration_days,
            dur("Max. Trade Duration"),
        ),
        (
            "avg_trade_duration_days",
            stats.avg_trade_duration_days,
            dur("Avg. Trade Duration"),
        ),
        ("profit_factor", stats.profit_factor, num("Profit Factor")),
        (
            "expectancy_pct",
            stats.expectancy_pct,
            num("Expectancy [%]"),
        ),
        ("sqn", stats.sqn, num("SQN")),
        (
            "kelly_criterion",
            stats.kelly_criterion,
            num("Kelly Criterion"),
        ),
    ];
    for (key, got, want) in pairs {
        close_rel(
            got.unwrap_or_else(|| panic!("{key} is undefined")),
            want,
            key,
        );
    }
}

#[test]
fn sma_cross_10_20_on_goog_reproduces_backtesting_py_trade_for_trade() {
    let cols = goog();
    let plan = sma_cross_plan(&cols, 10, 20);
    let settings = Settings {
        commission_rate: 0.002,
        ..Settings::default()
    };
    let out = run(&cols.view(), &plan, &settings).unwrap();

    let text = std::fs::read_to_string(fixtures().join("smacross_10_20_trades.csv")).unwrap();
    let want: Vec<Vec<String>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    assert_eq!(out.trades.len(), want.len(), "number of trades");
    for (k, (t, w)) in out.trades.iter().zip(&want).enumerate() {
        let f = |i: usize| w[i].parse::<f64>().unwrap();
        assert_eq!(t.size, f(0), "trade {k} size");
        assert_eq!(
            t.entry_bar,
            w[1].parse::<usize>().unwrap(),
            "trade {k} entry bar"
        );
        assert_eq!(
            t.exit_bar,
            w[2].parse::<usize>().unwrap(),
            "trade {k} exit bar"
        );
        close_rel(t.entry_price, f(3), &format!("trade {k} entry price"));
        close_rel(t.exit_price, f(4), &format!("trade {k} exit price"));
        close_rel(t.pnl, f(7), &format!("trade {k} pnl"));
        close_rel(t.commission, f(8), &format!("trade {k} commission"));
        close_rel(t.return_pct, f(9), &format!("trade {k} return"));
        assert_eq!(cols.time[t.entry_bar], days(&w[10]), "trade {k} entry time");
        assert_eq!(cols.time[t.exit_bar], days(&w[11]), "trade {k} exit time");
    }

    let ctx = MarketContext::new(&cols.view());
    let stats = compute_stats(&out.trades, &out.equity, &ctx, plan.warmup);
    let want: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("smacross_10_20.json")).unwrap(),
    )
    .unwrap();
    check_stats(&stats, &want);
}

fn settings_from(v: &serde_json::Value) -> Settings {
    let mut s = Settings::default();
    match &v["commission"] {
        serde_json::Value::Array(a) => {
            s.commission_fixed = a[0].as_f64().unwrap();
            s.commission_rate = a[1].as_f64().unwrap();
        }
        c => s.commission_rate = c.as_f64().unwrap_or(0.0),
    }
    s.spread = v["spread"].as_f64().unwrap_or(0.0);
    s.trade_on_close = v["trade_on_close"].as_bool().unwrap_or(false);
    s.exclusive_orders = v["exclusive_orders"].as_bool().unwrap_or(true);
    s
}

fn opt_close(got: Option<f64>, want: &serde_json::Value, what: &str) {
    match want.as_f64() {
        Some(w) => close_rel(got.unwrap_or_else(|| panic!("{what} undefined")), w, what),
        None => assert_eq!(got, None, "{what}"),
    }
}

/// Cases generated by tests/fixtures/backtest/generate.py with backtesting.py 0.6.6:
/// trade_on_close, stop-loss + take-profit, trailing stop, cash sizing on the short side,
/// non-exclusive orders (running out of money), fixed quantity with spread and fixed + rate
/// commission — each written in the strategy language.
#[test]
fn strategy_language_cases_match_backtesting_py() {
    use quantdesk_quant::backtest::{run_strategy, strategy::Strategy};
    let cols = goog();
    let text = std::fs::read_to_string(fixtures().join("backtest/cases.json")).unwrap();
    let cases: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert!(cases.len() >= 6);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let strategy = Strategy::from_json(&case["strategy"]).unwrap();
        let out = run_strategy(
            &strategy,
            &Default::default(),
            &cols.view(),
            &settings_from(&case["settings"]),
        )
        .unwrap();
        let want = case["trades"].as_array().unwrap();
        assert_eq!(out.trades.len(), want.len(), "{name}: number of trades");
        for (k, (t, w)) in out.trades.iter().zip(want).enumerate() {
            let at = |f: &str| format!("{name} trade {k} {f}");
            assert_eq!(t.size, w["size"].as_f64().unwrap(), "{}", at("size"));
            assert_eq!(
                t.entry_bar as u64,
                w["entry_bar"].as_u64().unwrap(),
                "{}",
                at("entry")
            );
            assert_eq!(
                t.exit_bar as u64,
                w["exit_bar"].as_u64().unwrap(),
                "{}",
                at("exit")
            );
            for (f, got) in [
                ("entry_price", t.entry_price),
                ("exit_price", t.exit_price),
                ("pnl", t.pnl),
                ("commission", t.commission),
                ("return_pct", t.return_pct),
            ] {
                close_rel(got, w[f].as_f64().unwrap(), &at(f));
            }
            opt_close(t.sl, &w["sl"], &at("sl"));
            opt_close(t.tp, &w["tp"], &at("tp"));
        }
        let s = &case["stats"];
        let st = &out.stats;
        for (key, got, want) in [
            (
                "equity_final",
                Some(st.equity_final),
                &s["Equity Final [$]"],
            ),
            ("equity_peak", Some(st.equity_peak), &s["Equity Peak [$]"]),
            ("return_pct", Some(st.return_pct), &s["Return [%]"]),
            (
                "exposure_time_pct",
                Some(st.exposure_time_pct),
                &s["Exposure Time [%]"],
            ),
            (
                "buy_and_hold_return_pct",
                st.buy_and_hold_return_pct,
                &s["Buy & Hold Return [%]"],
            ),
            ("return_ann_pct", st.return_ann_pct, &s["Return (Ann.) [%]"]),
            (
                "volatility_ann_pct",
                st.volatility_ann_pct,
                &s["Volatility (Ann.) [%]"],
            ),
            ("cagr_pct", st.cagr_pct, &s["CAGR [%]"]),
            ("sharpe_ratio", st.sharpe_ratio, &s["Sharpe Ratio"]),
            ("sortino_ratio", st.sortino_ratio, &s["Sortino Ratio"]),
            ("calmar_ratio", st.calmar_ratio, &s["Calmar Ratio"]),
            ("alpha_pct", st.alpha_pct, &s["Alpha [%]"]),
            ("beta", st.beta, &s["Beta"]),
            (
                "max_drawdown_pct",
                Some(st.max_drawdown_pct),
                &s["Max. Drawdown [%]"],
            ),
            (
                "avg_drawdown_pct",
                st.avg_drawdown_pct,
                &s["Avg. Drawdown [%]"],
            ),
            (
                "max_drawdown_duration_days",
                st.max_drawdown_duration_days,
                &s["Max. Drawdown Duration"],
            ),
            (
                "avg_drawdown_duration_days",
                st.avg_drawdown_duration_days,
                &s["Avg. Drawdown Duration"],
            ),
            ("trades", Some(st.trades as f64), &s["# Trades"]),
            ("win_rate_pct", st.win_rate_pct, &s["Win Rate [%]"]),
            ("best_trade_pct", st.best_trade_pct, &s["Best Trade [%]"]),
            ("worst_trade_pct", st.worst_trade_pct, &s["Worst Trade [%]"]),
            ("avg_trade_pct", st.avg_trade_pct, &s["Avg. Trade [%]"]),
            (
                "max_trade_duration_days",
                st.max_trade_duration_days,
                &s["Max. Trade Duration"],
            ),
            (
                "avg_trade_duration_days",
                st.avg_trade_duration_days,
                &s["Avg. Trade Duration"],
            ),
            ("profit_factor", st.profit_factor, &s["Profit Factor"]),
            ("expectancy_pct", st.expectancy_pct, &s["Expectancy [%]"]),
            ("sqn", st.sqn, &s["SQN"]),
            ("kelly_criterion", st.kelly_criterion, &s["Kelly Criterion"]),
            ("commissions", Some(st.commissions), &s["Commissions [$]"]),
        ] {
            opt_close(got, want, &format!("{name} {key}"));
        }
    }
}

/// The 78-combination SMA grid (windows 5..65 step 5, fast < slow) maximising final equity
/// gives backtesting.py's `optimize` table, value for value, and its best parameters.
#[test]
fn sma_grid_matches_backtesting_py_optimize() {
    use quantdesk_quant::backtest::optimize::{Constraint, Request, Search, optimize};
    use quantdesk_quant::backtest::strategy::Strategy;
    let cols = goog();
    let want: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("backtest/optimize_sma_grid.json")).unwrap(),
    )
    .unwrap();
    let strategy = Strategy::from_json(&want["strategy"]).unwrap();
    let req = Request {
        strategy: &strategy,
        ranges: Default::default(),
        constraint: Some(Constraint::parse("fast < slow", &strategy).unwrap()),
        maximize: "equity_final".into(),
        search: Search::Grid,
        settings: settings_from(&want["settings"]),
    };
    let ctx = MarketContext::new(&cols.view());
    let opt = optimize(&cols.view(), &ctx, &req).unwrap();
    let table = want["table"].as_array().unwrap();
    assert_eq!(opt.rows.len(), 78);
    assert_eq!(table.len(), 78);
    // 13 windows: one SMA each, shared by the whole grid.
    assert_eq!(opt.indicator_computations, 13);
    for w in table {
        let (f, s) = (w["fast"].as_f64().unwrap(), w["slow"].as_f64().unwrap());
        let row = opt
            .rows
            .iter()
            .find(|r| r.params["fast"] == f && r.params["slow"] == s)
            .unwrap_or_else(|| panic!("({f}, {s}) missing"));
        close_rel(
            row.value.unwrap(),
            w["equity_final"].as_f64().unwrap(),
            &format!("({f}, {s})"),
        );
    }
    let best = opt.best().unwrap();
    assert_eq!(best.params["fast"], want["best"]["fast"].as_f64().unwrap());
    assert_eq!(best.params["slow"], want["best"]["slow"].as_f64().unwrap());
    let heat = opt.heatmap.as_ref().unwrap();
    assert_eq!((heat.x.as_str(), heat.y.as_str()), ("fast", "slow"));
    assert_eq!(heat.xs.len(), 12);
}
