//! The strategy language: a small JSON form Claude writes from a person's sentence, validated
//! with errors that name the JSON path of the bad field, and compiled to an engine [`Plan`].
//!
//! ```json
//! {
//!   "name": "SMA cross",
//!   "params": {"fast": 10, "slow": {"default": 20, "min": 10, "max": 100, "step": 10}},
//!   "long":  {"entry": "sma($fast) crosses_above sma($slow)",
//!             "exit":  "sma($fast) crosses_below sma($slow)"},
//!   "short": {"entry": "...", "exit": "..."},
//!   "sizing": {"fraction": 1},
//!   "stops": {"stop_loss": {"percent": 5}, "take_profit": {"atr": 3, "period": 14},
//!             "trailing_stop": {"percent": "$trail"}}
//! }
//! ```
//!
//! - **params**: named numbers, a plain default or `{default, min, max, step}` (the range is what
//!   the optimiser searches). `$name` uses one, in a rule or in any number of `sizing`/`stops`.
//! - **rules** (`long`/`short` `entry`/`exit`) are conditions in the screener's expression
//!   language ([`crate::screen`]): columns `open high low close volume`, any catalogue indicator
//!   (`rsi(14)`, `macd.hist`, `bbands(20, 2).upper`, `donchian(20).upper`), arithmetic,
//!   `< <= > >= == !=`, `crosses_above`/`crosses_below`, `and`/`or`/`not`. Crossings follow
//!   backtesting.py's `crossover`: strictly below on the previous bar, strictly above now. An
//!   indicator's value at a bar uses that bar and earlier ones only.
//! - **sizing**: one of `{"fraction": f}` of equity (default 1 = all of it), `{"quantity": units}`,
//!   `{"cash": amount}`, `{"volatility_target": 0.15, "lookback": 20, "periods_per_year": 252}`.
//! - **stops**: `stop_loss`, `take_profit`, `trailing_stop`, each `{"percent": p}` or
//!   `{"atr": multiple, "period": n}`, priced from the deciding bar's close.
//!
//! At each bar: trailing stops move; an exit rule closes the position on its side; then a long
//! entry buys unless already long, else a short entry sells unless already short (with exclusive
//! orders an entry first closes the other side). Nothing is decided before every indicator has a
//! value (the warm-up), as in backtesting.py.
//!
//! This module must never read data beyond the bar a signal is for, and never guess: a field it
//! does not know is an error, not ignored.

mod compile;
mod examples;
mod rules;

pub use compile::IndicatorCache;
pub use examples::{EXAMPLES, GUIDE, example};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;
use thiserror::Error;

use super::{Sizing, StopDistance};
use crate::ml::series::ModelSeries;

/// A validation or compilation error: the JSON path (`strategy.long.entry`) and what was
/// expected there.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{path}: {message}")]
pub struct StrategyError {
    pub path: String,
    pub message: String,
}

fn err<T>(path: &str, message: impl Into<String>) -> Result<T, StrategyError> {
    Err(StrategyError {
        path: path.to_string(),
        message: message.into(),
    })
}

/// A named, optimisable number.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    pub default: f64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub step: Option<f64>,
}

impl Param {
    /// Whole-number parameters (periods) stay whole in grids and random search.
    pub fn is_integer(&self) -> bool {
        [Some(self.default), self.min, self.step]
            .into_iter()
            .flatten()
            .all(|v| v.fract() == 0.0)
    }

    /// The grid `min, min+step, …, max` (or just the default without a range).
    pub fn grid(&self) -> Vec<f64> {
        match (self.min, self.max) {
            (Some(lo), Some(hi)) => {
                let step = self.step.unwrap_or(if self.is_integer() {
                    1.0
                } else {
                    (hi - lo) / 10.0
                });
                let count = ((hi - lo) / step + 1e-9).floor() as usize + 1;
                (0..count.min(10_000))
                    .map(|k| lo + step * k as f64)
                    .collect()
            }
            _ => vec![self.default],
        }
    }
}

/// A number written literally or as `$param`.
#[derive(Debug, Clone, PartialEq)]
pub enum Num {
    Value(f64),
    Param(String),
}

/// Rules for one side.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rules {
    pub entry: Option<String>,
    pub exit: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SizingSpec {
    Fraction(Num),
    Quantity(Num),
    Cash(Num),
    VolatilityTarget {
        annual_volatility: Num,
        lookback: Num,
        periods_per_year: Num,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum StopSpec {
    Percent(Num),
    Atr { multiple: Num, period: Num },
}

/// A validated strategy, not yet bound to parameter values.
#[derive(Debug, Clone, PartialEq)]
pub struct Strategy {
    pub name: Option<String>,
    pub params: Vec<Param>,
    pub long: Rules,
    pub short: Rules,
    pub sizing: SizingSpec,
    pub stop_loss: Option<StopSpec>,
    pub take_profit: Option<StopSpec>,
    pub trailing_stop: Option<StopSpec>,
    /// Each `model("id")` the rules read: its predictions by bar time, filled in by the caller
    /// (see [`Strategy::model_ids`]); a rule reading one not filled in is an error.
    pub models: BTreeMap<String, Arc<ModelSeries>>,
}

fn object<'a>(
    v: &'a Value,
    path: &str,
    allowed: &[&str],
) -> Result<&'a serde_json::Map<String, Value>, StrategyError> {
    let Some(o) = v.as_object() else {
        return err(
            path,
            format!("expected an object with {}", allowed.join(", ")),
        );
    };
    for k in o.keys() {
        if !allowed.contains(&k.as_str()) {
            let hint = crate::screen::parse::suggest::nearest(k, allowed.iter().copied())
                .map_or_else(String::new, |c| format!("did you mean '{c}'? "));
            return err(
                &format!("{path}.{k}"),
                format!(
                    "unknown field; {hint}expected one of {}",
                    allowed.join(", ")
                ),
            );
        }
    }
    Ok(o)
}

fn number(v: &Value, path: &str) -> Result<f64, StrategyError> {
    match v {
        Value::Number(n) => n.as_f64().filter(|x| x.is_finite()),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|x| x.is_finite()),
        _ => None,
    }
    .map_or_else(|| err(path, format!("expected a number, got {v}")), Ok)
}

fn num(v: &Value, path: &str, params: &[Param]) -> Result<Num, StrategyError> {
    if let Some(s) = v.as_str()
        && let Some(name) = s.trim().strip_prefix('$')
    {
        if !params.iter().any(|p| p.name == name) {
            return err(
                path,
                format!("unknown parameter '${name}'; declare it under 'params'"),
            );
        }
        return Ok(Num::Param(name.to_string()));
    }
    Ok(Num::Value(number(v, path)?))
}

fn rule(v: Option<&Value>, path: &str) -> Result<Option<String>, StrategyError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_string())),
        Some(other) => err(
            path,
            format!("expected a condition such as \"rsi(14) < 30\", got {other}"),
        ),
    }
}

fn stop(v: &Value, path: &str, params: &[Param]) -> Result<StopSpec, StrategyError> {
    let o = object(v, path, &["percent", "atr", "period"])?;
    match (o.get("percent"), o.get("atr")) {
        (Some(p), None) if !o.contains_key("period") => Ok(StopSpec::Percent(num(
            p,
            &format!("{path}.percent"),
            params,
        )?)),
        (None, Some(a)) => Ok(StopSpec::Atr {
            multiple: num(a, &format!("{path}.atr"), params)?,
            period: match o.get("period") {
                Some(p) => num(p, &format!("{path}.period"), params)?,
                None => Num::Value(14.0),
            },
        }),
        _ => err(
            path,
            "expected {\"percent\": 5} or {\"atr\": 2, \"period\": 14}",
        ),
    }
}

impl Strategy {
    /// Validates a strategy written as JSON. `strategy` may also be the JSON text itself.
    pub fn from_json(v: &Value) -> Result<Self, StrategyError> {
        let root = "strategy";
        if let Value::String(text) = v {
            let parsed: Value = serde_json::from_str(text).map_err(|e| StrategyError {
                path: root.into(),
                message: format!("not valid JSON: {e}"),
            })?;
            return Self::from_json(&parsed);
        }
        let o = object(
            v,
            root,
            &[
                "name",
                "description",
                "params",
                "long",
                "short",
                "sizing",
                "stops",
            ],
        )?;
        let mut params = Vec::new();
        if let Some(p) = o.get("params") {
            let Some(map) = p.as_object() else {
                return err(
                    "strategy.params",
                    "expected an object of name: number or {default, min, max, step}",
                );
            };
            for (name, spec) in map {
                let path = format!("strategy.params.{name}");
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return err(&path, "a parameter name is letters, digits and _");
                }
                let param = if spec.is_object() {
                    let s = object(spec, &path, &["default", "min", "max", "step"])?;
                    let get = |k: &str| {
                        s.get(k)
                            .map(|v| number(v, &format!("{path}.{k}")))
                            .transpose()
                    };
                    let (min, max, step) = (get("min")?, get("max")?, get("step")?);
                    let default = match get("default")? {
                        Some(d) => d,
                        None => min.ok_or_else(|| StrategyError {
                            path: format!("{path}.default"),
                            message: "expected a number (or at least min)".into(),
                        })?,
                    };
                    if let (Some(lo), Some(hi)) = (min, max)
                        && lo > hi
                    {
                        return err(&path, format!("min {lo} is above max {hi}"));
                    }
                    if step.is_some_and(|s| s <= 0.0) {
                        return err(&format!("{path}.step"), "expected a positive step");
                    }
                    Param {
                        name: name.clone(),
                        default,
                        min,
                        max,
                        step,
                    }
                } else {
                    Param {
                        name: name.clone(),
                        default: number(spec, &path)?,
                        min: None,
                        max: None,
                        step: None,
                    }
                };
                params.push(param);
            }
        }
        let side = |key: &str| -> Result<Rules, StrategyError> {
            let path = format!("strategy.{key}");
            match o.get(key) {
                None | Some(Value::Null) => Ok(Rules::default()),
                Some(v) => {
                    let s = object(v, &path, &["entry", "exit"])?;
                    Ok(Rules {
                        entry: rule(s.get("entry"), &format!("{path}.entry"))?,
                        exit: rule(s.get("exit"), &format!("{path}.exit"))?,
                    })
                }
            }
        };
        let (long, short) = (side("long")?, side("short")?);
        if long.entry.is_none() && short.entry.is_none() {
            return err(
                root,
                "expected an entry rule: \"long\": {\"entry\": \"...\"} and/or \"short\": {\"entry\": \"...\"}",
            );
        }
        let sizing = match o.get("sizing") {
            None | Some(Value::Null) => SizingSpec::Fraction(Num::Value(1.0)),
            Some(v) => {
                let path = "strategy.sizing";
                let s = object(
                    v,
                    path,
                    &[
                        "fraction",
                        "quantity",
                        "cash",
                        "volatility_target",
                        "lookback",
                        "periods_per_year",
                    ],
                )?;
                let field = |k: &str| {
                    s.get(k)
                        .map(|v| num(v, &format!("{path}.{k}"), &params))
                        .transpose()
                };
                match (
                    field("fraction")?,
                    field("quantity")?,
                    field("cash")?,
                    field("volatility_target")?,
                ) {
                    (Some(f), None, None, None) => SizingSpec::Fraction(f),
                    (None, Some(q), None, None) => SizingSpec::Quantity(q),
                    (None, None, Some(c), None) => SizingSpec::Cash(c),
                    (None, None, None, Some(v)) => SizingSpec::VolatilityTarget {
                        annual_volatility: v,
                        lookback: field("lookback")?.unwrap_or(Num::Value(20.0)),
                        periods_per_year: field("periods_per_year")?.unwrap_or(Num::Value(252.0)),
                    },
                    _ => {
                        return err(
                            path,
                            "expected exactly one of fraction, quantity, cash, volatility_target",
                        );
                    }
                }
            }
        };
        let (mut stop_loss, mut take_profit, mut trailing_stop) = (None, None, None);
        if let Some(v) = o.get("stops").filter(|v| !v.is_null()) {
            let s = object(
                v,
                "strategy.stops",
                &["stop_loss", "take_profit", "trailing_stop"],
            )?;
            let get = |k: &str| {
                s.get(k)
                    .filter(|v| !v.is_null())
                    .map(|v| stop(v, &format!("strategy.stops.{k}"), &params))
                    .transpose()
            };
            stop_loss = get("stop_loss")?;
            take_profit = get("take_profit")?;
            trailing_stop = get("trailing_stop")?;
            let atr_periods: Vec<&Num> = [&stop_loss, &take_profit, &trailing_stop]
                .into_iter()
                .flatten()
                .filter_map(|s| match s {
                    StopSpec::Atr { period, .. } => Some(period),
                    StopSpec::Percent(_) => None,
                })
                .collect();
            if atr_periods.windows(2).any(|w| w[0] != w[1]) {
                return err("strategy.stops", "ATR stops must share one period");
            }
        }
        let strategy = Strategy {
            name: o.get("name").and_then(Value::as_str).map(str::to_string),
            params,
            long,
            short,
            sizing,
            stop_loss,
            take_profit,
            trailing_stop,
            models: BTreeMap::new(),
        };
        // Check every rule parses with the defaults, so errors surface before any data is read.
        strategy.bind(&BTreeMap::new())?;
        Ok(strategy)
    }

    /// Parameter values: defaults overridden by `values` (unknown names are an error).
    pub fn values(
        &self,
        values: &BTreeMap<String, f64>,
    ) -> Result<BTreeMap<String, f64>, StrategyError> {
        let mut out: BTreeMap<String, f64> = self
            .params
            .iter()
            .map(|p| (p.name.clone(), p.default))
            .collect();
        for (k, v) in values {
            if !out.contains_key(k) {
                return err(
                    &format!("params.{k}"),
                    format!(
                        "unknown parameter; the strategy declares: {}",
                        self.params
                            .iter()
                            .map(|p| p.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            }
            out.insert(k.clone(), *v);
        }
        Ok(out)
    }

    /// The models the rules read, to be filled into [`Strategy::models`].
    pub fn model_ids(&self) -> Result<BTreeSet<String>, StrategyError> {
        Ok(self.bind(&BTreeMap::new())?.model_ids())
    }

    /// The strategy with parameter values fixed: rules parsed, numbers resolved.
    pub fn bind(&self, values: &BTreeMap<String, f64>) -> Result<compile::Bound, StrategyError> {
        compile::bind(self, &self.values(values)?)
    }
}

pub(crate) fn resolve(
    n: &Num,
    values: &BTreeMap<String, f64>,
    path: &str,
) -> Result<f64, StrategyError> {
    match n {
        Num::Value(v) => Ok(*v),
        Num::Param(p) => values
            .get(p)
            .copied()
            .map_or_else(|| err(path, format!("unknown parameter '${p}'")), Ok),
    }
}

pub(crate) fn sizing(
    spec: &SizingSpec,
    values: &BTreeMap<String, f64>,
) -> Result<Sizing, StrategyError> {
    let p = "strategy.sizing";
    Ok(match spec {
        SizingSpec::Fraction(f) => {
            let f = resolve(f, values, p)?;
            if !(f > 0.0 && f <= 1.0) {
                return err(
                    &format!("{p}.fraction"),
                    format!("expected a fraction in (0, 1], got {f}"),
                );
            }
            Sizing::FractionOfEquity(f)
        }
        SizingSpec::Quantity(q) => {
            let q = resolve(q, values, p)?;
            if q <= 0.0 {
                return err(
                    &format!("{p}.quantity"),
                    format!("expected a positive number of units, got {q}"),
                );
            }
            Sizing::Quantity(q)
        }
        SizingSpec::Cash(c) => {
            let c = resolve(c, values, p)?;
            if c <= 0.0 {
                return err(
                    &format!("{p}.cash"),
                    format!("expected a positive amount, got {c}"),
                );
            }
            Sizing::Cash(c)
        }
        SizingSpec::VolatilityTarget {
            annual_volatility,
            lookback,
            periods_per_year,
        } => {
            let v = resolve(annual_volatility, values, p)?;
            let l = resolve(lookback, values, p)?;
            let y = resolve(periods_per_year, values, p)?;
            if !(v > 0.0 && v < 10.0) {
                return err(
                    &format!("{p}.volatility_target"),
                    format!("expected an annual volatility such as 0.15, got {v}"),
                );
            }
            if l.fract() != 0.0 || l < 2.0 {
                return err(
                    &format!("{p}.lookback"),
                    format!("expected a whole number of bars ≥ 2, got {l}"),
                );
            }
            if y <= 0.0 {
                return err(
                    &format!("{p}.periods_per_year"),
                    format!("expected a positive number, got {y}"),
                );
            }
            Sizing::VolatilityTarget {
                annual_volatility: v,
                lookback: l as usize,
                periods_per_year: y,
            }
        }
    })
}

pub(crate) fn stop_distance(
    spec: &Option<StopSpec>,
    values: &BTreeMap<String, f64>,
    path: &str,
) -> Result<Option<StopDistance>, StrategyError> {
    let Some(spec) = spec else { return Ok(None) };
    Ok(Some(match spec {
        StopSpec::Percent(p) => {
            let v = resolve(p, values, path)?;
            if !(v > 0.0 && v < 100.0) {
                return err(
                    &format!("{path}.percent"),
                    format!("expected a percentage between 0 and 100, got {v}"),
                );
            }
            StopDistance::Percent(v / 100.0)
        }
        StopSpec::Atr { multiple, period } => {
            let m = resolve(multiple, values, path)?;
            let n = resolve(period, values, path)?;
            if m <= 0.0 {
                return err(
                    &format!("{path}.atr"),
                    format!("expected a positive ATR multiple, got {m}"),
                );
            }
            if n.fract() != 0.0 || !(1.0..=100_000.0).contains(&n) {
                return err(
                    &format!("{path}.period"),
                    format!("expected a whole number of bars, got {n}"),
                );
            }
            StopDistance::Atr {
                multiple: m,
                period: n as usize,
            }
        }
    }))
}
