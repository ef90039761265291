//! The tool catalogue and dispatch. Each tool is a typed parameter struct (its JSON schema is the
//! tool's input schema), a typed output (its output schema), annotations, and a handler a few
//! lines long over the library crates.

pub(crate) mod research;
pub mod trading;

use std::sync::{Arc, LazyLock};

use quantdesk_domain::{OptionChain, PriceSnapshot};
use quantdesk_live::alerts::{AlertsOut, AlertsParams};
use quantdesk_live::watch::{WatchOut, WatchParams};
use quantdesk_market::MarketData;
use quantdesk_research::analysis::*;
use quantdesk_research::backtest::*;
use quantdesk_research::jobs::*;
use quantdesk_research::ml::*;
use quantdesk_research::quotes::*;
use quantdesk_store::Store;
use rmcp::handler::server::common::{schema_for_input, schema_for_output};
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use trading::{
    AccountInfoOut, CancelOrderParams, GetOrdersParams, NoParams, OrderAnswer, OrdersOut,
    PlaceOrderOut, PlaceOrderParams, PositionsOut, slim,
};

use crate::input::{ToolError, parse};

/// What every handler may use.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub store: Store,
    pub market: Arc<dyn MarketData>,
    /// The trading desk; `None` where a test builds a sidecar without one.
    pub trading: Option<Arc<trading::Trading>>,
    /// Where a long call (an order waiting for approval, a search) reports progress, if the
    /// client asked.
    pub progress: Option<trading::Progress>,
    /// Cancelled when the client cancels this call (`notifications/cancelled`).
    pub cancel: Option<tokio_util::sync::CancellationToken>,
    /// The watchlist over the live stream; `None` when the sidecar runs offline.
    pub watcher: Option<Arc<quantdesk_live::watch::Watcher>>,
    /// Alerts over the live stream; `None` when the sidecar runs offline.
    pub alerts: Option<Arc<quantdesk_live::alerts::Alerts>>,
}

/// The one table of tools: from each row come both its definition in `tools/list` (schemas
/// from the parameter and answer types, annotations from the effect) and its dispatch.
macro_rules! tools {
    ($( $name:ident: $handler:path, $p:ty => $o:ty, $post:ident, $effect:expr,
        $title:literal, $desc:literal; )*) => {
        fn definitions() -> Vec<Tool> {
            vec![$( $post(define::<$p, $o>(stringify!($name), $title, $desc, $effect)) ),*]
        }

        async fn dispatch(
            ctx: &Ctx,
            name: &str,
            args: Map<String, Value>,
        ) -> Option<Result<Value, ToolError>> {
            Some(match name {
                $( stringify!($name) => run(args, |p: $p| $handler(ctx, p)).await, )*
                _ => return None,
            })
        }
    };
}

tools! {
    get_stock_price: research::get_stock_price, StockPriceParams => PriceSnapshot, keep, Effect::ReadOnly,
        "Stock price",
        "Latest price of a stock, ETF or index: last price, change vs previous close, day range, volume, as-of time and data source.";
    get_market_data: research::get_market_data, MarketDataParams => MarketDataOut, keep, Effect::ReadOnly,
        "OHLCV bars",
        "Historical OHLCV bars for a symbol. Timeframes: 1Min..1Month (coarser ones are resampled). Without start, limit returns the newest bars; omit limit for the whole range.";
    get_crypto_prices: research::get_crypto_prices, CryptoPricesParams => CryptoPricesOut, keep, Effect::ReadOnly,
        "Crypto prices",
        "Latest prices of crypto pairs (e.g. BTC/USD) with the change over the provider's last period, as-of time and source.";
    get_options_chain: research::get_options_chain, OptionsChainParams => OptionChain, keep, Effect::ReadOnly,
        "Options chain",
        "Calls and puts per strike and expiry with bid/ask/last, volume, open interest, IV and greeks. Offline the chain is priced by Black-Scholes from realised volatility and marked source=model (no bid/ask).";
    calculate_indicators: research::calculate_indicators, CalculateIndicatorsParams => IndicatorsOut, keep, Effect::ReadOnly,
        "Technical indicators",
        "TA-Lib-compatible indicators over a symbol's bars, e.g. [{\"name\":\"rsi\",\"params\":{\"period\":14}}, \"macd\"]. Unknown names list the valid ones. Without start/limit returns the last 100 bars.";
    find_patterns: research::find_patterns, PatternsParams => PatternsOut, keep, Effect::ReadOnly,
        "Chart patterns",
        "Candlestick patterns with TA-Lib's signals (doji, hammer, engulfing, harami, stars, three soldiers/crows, piercing, dark cloud…), chart patterns on swing points (double top/bottom, head and shoulders, trend-line breakouts) and support/resistance levels, with the bars that form each.";
    screen_stocks: research::screen_stocks, ScreenParams => ScreenOut, keep, Effect::ReadOnly,
        "Stock screener",
        "Filter symbols by conditions over price and indicators at the last bar, e.g. [\"rsi(14) < 30\", \"close > sma(200)\"]; also crosses_above/crosses_below, and/or/not, .output (macd.hist). Sort by an expression.";
    risk_analysis: research::risk_analysis, RiskParams => RiskOut, keep, Effect::ReadOnly,
        "Risk analysis",
        "Volatility, historical and parametric VaR/CVaR, beta and correlation vs a benchmark (default SPX), max drawdown, Sharpe, Sortino, and for holdings concentration (largest weight, HHI).";
    run_backtest: research::run_backtest, RunBacktestParams => RunBacktestOut, keep, Effect::ReadOnly,
        "Backtest a strategy",
        "Backtest with backtesting.py's semantics (fill next open). strategy: {params:{n:10}, long:{entry:\"sma($n) crosses_above sma(20)\", exit}, short:{entry,exit}, sizing:{fraction|quantity|cash|volatility_target}, stops:{stop_loss|take_profit|trailing_stop:{percent:5}|{atr:2,period:14}}}; rules use screen_stocks expressions and model('id') from train_model. Or an example: sma_cross, rsi_mean_reversion, macd_trend, bollinger_breakout, donchian_breakout. Returns stats, trades, equity.";
    optimize_parameters: research::optimize_parameters, OptimizeParams => OptimizeOut, keep, Effect::ReadOnly,
        "Optimise strategy parameters",
        "Grid, random, bayesian (TPE) or cmaes search over a strategy's params (their min/max/step, or ranges; bayesian/cmaes run at most `samples` and say how many in `evaluations`), optional constraint like \"fast < slow\", maximising any stat (default sharpe_ratio); optional walk-forward. Returns best params, top results, a 2-param heat map, overfitting stats. Long searches return a job_id for get_job.";
    analyze_strategy: research::analyze_strategy, AnalyzeParams => AnalyzeOut, keep, Effect::ReadOnly,
        "Strategy robustness",
        "Backtest stats plus robustness: in-sample vs out-of-sample, Monte Carlo bootstrap of trade returns (final equity and drawdown percentiles), sensitivity of a stat to each param ±1 step, plain-language warnings. Same strategy/broker fields as run_backtest.";
    generate_report: research::generate_report, ReportParams => ReportOut, keep, Effect::WritesFile,
        "Backtest report (HTML)",
        "Write a self-contained HTML report (equity vs buy & hold, drawdown, trades on price, stats, trade list, 2-param heat map, robustness) to the QuantDesk reports folder; returns its path and a Markdown summary. Same strategy/broker fields as run_backtest.";
    get_job: research::get_job, GetJobParams => JobOut, keep, Effect::ReadOnly,
        "Long-running job",
        "Progress and, when done, the result of a job started by optimize_parameters or train_model.";
    train_model: research::train_model, TrainModelParams => TrainModelOut, slim, Effect::Settings { idempotent: false },
        "Train an ML signal",
        "Gradient-boosted trees on indicator features predicting the sign of the return `horizon` bars ahead. Purged walk-forward scores (accuracy, AUC, log-loss, IC) beside always-up and logistic regression, importances, a verdict. Keeps the model for predict and model('id') in strategy rules (run walk-forward, out of sample).";
    predict: research::predict, PredictParams => PredictOut, slim, Effect::ReadOnly,
        "Predict with a model",
        "A trained model's up-probabilities for the latest bars of its symbol (or another), with the model's out-of-sample verdict.";
    place_order: trading::place_order, PlaceOrderParams => PlaceOrderOut, slim, Effect::Trades { idempotent: false },
        "Place an order",
        "Buy/sell inside the person's limits: market, limit, stop, stop_limit, trailing_stop, bracket (take_profit+stop_loss); day/gtc/ioc; fractional qty or notional $. A repeat within 10 min is the same order unless client_order_id differs. May wait for approval in the QuantDesk app.";
    cancel_order: trading::cancel_order, CancelOrderParams => OrderAnswer, slim, Effect::Trades { idempotent: true },
        "Cancel an order",
        "Cancel an open or pending order by client_order_id (from place_order or get_orders).";
    get_positions: trading::get_positions, NoParams => PositionsOut, slim, Effect::ReadOnly,
        "Positions",
        "Open positions with quantity, average entry, current price, value and unrealised P&L.";
    get_account_balance: trading::get_account_balance, NoParams => AccountInfoOut, slim, Effect::ReadOnly,
        "Account balance",
        "Cash, equity, buying power, realised and unrealised P&L of the trading account.";
    get_orders: trading::get_orders, GetOrdersParams => OrdersOut, slim, Effect::ReadOnly,
        "Orders",
        "Orders and their fate (open, pending approval, filled, cancelled, expired, rejected) and orders the limits refused.";
    watch: research::watch, WatchParams => WatchOut, keep, Effect::Settings { idempotent: true },
        "Watch live prices",
        "Start or stop streaming crypto pairs (Coinbase) into the live cache, so prices answer from the stream; returns at once with the watchlist and the stream's state.";
    alerts: research::alerts, AlertsParams => AlertsOut, keep, Effect::Settings { idempotent: false },
        "Price alerts",
        "Create, list or cancel alerts on crypto pairs: a screen_stocks condition on closed bars of a timeframe (default 1Min), e.g. \"close crosses_below 3000\", \"rsi(14) < 30\" on 5Min. Fires once per crossing (repeat: every crossing) with a desktop notification; list shows what fired and when.";
}

/// A row's definition as it is.
fn keep(tool: Tool) -> Tool {
    tool
}

/// The tool catalogue, built once: `tools/list` is answered from it without allocation beyond a
/// clone, which keeps the sidecar's cold start short.
pub fn catalog() -> &'static [Tool] {
    static CATALOG: LazyLock<Vec<Tool>> = LazyLock::new(definitions);
    &CATALOG
}

/// Runs the tool `name` with Claude's `args`.
pub async fn call(ctx: &Ctx, name: &str, args: Map<String, Value>) -> Result<Value, ToolError> {
    dispatch(ctx, name, args).await.unwrap_or_else(|| {
        Err(ToolError(format!(
            "there is no tool '{name}'; available: {}",
            catalog()
                .iter()
                .map(|t| t.name.as_ref())
                .collect::<Vec<_>>()
                .join(", ")
        )))
    })
}

/// How a tool may affect the world, for the client's permission prompts. Claude Desktop lets a
/// person pre-allow only tools marked read-only.
#[derive(Debug, Clone, Copy)]
pub enum Effect {
    /// Reads data; may ask a data provider over the network.
    ReadOnly,
    /// Places or cancels orders: money may move (destructive, whatever the guard allows).
    Trades { idempotent: bool },
    /// Writes a new file under the data folder (a report); overwrites nothing.
    WritesFile,
    /// Changes what QuantDesk keeps (a trained model), watches or alerts on (no money, no file).
    Settings { idempotent: bool },
}

/// A tool's definition from its parameter and output types.
pub fn define<P: JsonSchema + 'static, O: JsonSchema + 'static>(
    name: &'static str,
    title: &str,
    description: &'static str,
    effect: Effect,
) -> Tool {
    let input = lean_input(
        schema_for_input::<P>()
            .unwrap_or_else(|err| panic!("input schema of {name}: {err}"))
            .as_ref()
            .clone(),
    );
    // openWorldHint is left out: its default (true) is what every tool is — each may ask a
    // data provider or a broker.
    let annotations = match effect {
        Effect::ReadOnly => ToolAnnotations::with_title(title)
            .read_only(true)
            .destructive(false)
            .idempotent(true),
        Effect::Trades { idempotent } => ToolAnnotations::with_title(title)
            .read_only(false)
            .destructive(true)
            .idempotent(idempotent),
        Effect::Settings { idempotent } => ToolAnnotations::with_title(title)
            .read_only(false)
            .destructive(false)
            .idempotent(idempotent),
        Effect::WritesFile => ToolAnnotations::with_title(title)
            .read_only(false)
            .destructive(false)
            .idempotent(false),
    };
    let output = lean_output(numbers_for_money(schema_for_output::<O>().as_ref().clone()));
    Tool::new(name, description, Arc::new(input))
        .with_title(title)
        .with_raw_output_schema(Arc::new(output))
        .with_annotations(annotations)
}

/// Parses `args` as `P`, runs `handler`, and serialises its answer.
pub async fn run<P, O, F>(
    args: Map<String, Value>,
    handler: impl FnOnce(P) -> F,
) -> Result<Value, ToolError>
where
    P: DeserializeOwned + JsonSchema + 'static,
    O: Serialize,
    F: Future<Output = Result<O, ToolError>>,
{
    let schema = schema_for_input::<P>().map_err(ToolError)?;
    let params: P = parse(&schema, args)?;
    let out = handler(params).await?;
    serde_json::to_value(out)
        .map_err(|err| ToolError(format!("could not encode the answer: {err}")))
}

/// The published input schema: what a model needs to call the tool, without what it does not
/// read — the draft URI and the machine widths of numbers (`double`, `uint32`, …). Parsing uses
/// the full schema (see [`run`]); this copy only goes into `tools/list`.
fn lean_input(mut schema: JsonObject) -> JsonObject {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(o) => {
                let numeric = o.get("format").and_then(Value::as_str).is_some_and(|f| {
                    matches!(
                        f,
                        "double"
                            | "float"
                            | "int"
                            | "uint"
                            | "int8"
                            | "uint8"
                            | "int16"
                            | "uint16"
                            | "int32"
                            | "uint32"
                            | "int64"
                            | "uint64"
                    )
                });
                if numeric {
                    o.remove("format");
                }
                o.values_mut().for_each(walk);
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    schema.remove("$schema");
    schema.values_mut().for_each(walk);
    inline_leaf_refs(&mut schema, true);
    fn collapse(v: &mut Value) {
        match v {
            Value::Object(o) => {
                collapse_optional(o);
                o.values_mut().for_each(collapse);
            }
            Value::Array(a) => a.iter_mut().for_each(collapse),
            _ => {}
        }
    }
    schema.values_mut().for_each(collapse);
    schema
}

/// `{"anyOf": [{"type": "string", "description": d}, {"type": "null"}], "description": e}` (an
/// optional field of a documented type) as `{"type": ["string", "null"], "description": e}`:
/// the same values in fewer bytes; the field's own description wins over its type's.
fn collapse_optional(o: &mut JsonObject) {
    let Some(Value::Array(any)) = o.get("anyOf") else {
        return;
    };
    let [Value::Object(x), Value::Object(null)] = any.as_slice() else {
        return;
    };
    let simple = x.keys().all(|k| k == "type" || k == "description");
    let (Some(Value::String(t)), true) = (x.get("type"), simple) else {
        return;
    };
    if null.len() != 1 || null.get("type").and_then(Value::as_str) != Some("null") {
        return;
    }
    let (t, inner) = (t.clone(), x.get("description").cloned());
    o.remove("anyOf");
    o.insert("type".into(), serde_json::json!([t, "null"]));
    if !o.contains_key("description")
        && let Some(d) = inner
    {
        o.insert("description".into(), d);
    }
}

/// Output schemas are for validation, not for the model to read: dropping their prose keeps the
/// tool list small (every byte of it sits in Claude's context on every turn).
fn lean_output(mut schema: JsonObject) -> JsonObject {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(o) => {
                for key in [
                    "description",
                    "title",
                    "$schema",
                    "examples",
                    "format",
                    "minimum",
                ] {
                    // A property *named* like a keyword is data shape, not prose: keep it.
                    if o.get(key).is_some_and(|v| !v.is_object()) {
                        o.remove(key);
                    }
                }
                o.values_mut().for_each(walk);
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    // `required` too: it only repeats the properties' names, and the answer's shape is fixed by
    // its Rust type.
    for key in ["description", "title", "$schema", "required"] {
        schema.remove(key);
    }
    // Nested types keep their kind but not their fields: the top level is what a client checks
    // and reads; spelling out every nested record would cost more context than it is worth.
    if let Some(Value::Object(defs)) = schema.get_mut("$defs") {
        for def in defs.values_mut() {
            if let Value::Object(d) = def {
                d.retain(|k, _| k == "type" || k == "enum");
            }
        }
    }
    schema.values_mut().for_each(walk);
    inline_leaf_refs(&mut schema, false);
    schema
}

/// Replaces each `{"$ref": "#/$defs/X", ...}` whose definition holds no `$ref` itself by that
/// definition's keys (all such, or with `single_use` only those referred to once), and drops the
/// definitions nothing refers to any more: the same schema, fewer bytes.
fn inline_leaf_refs(schema: &mut JsonObject, single_use: bool) {
    fn count(v: &Value, uses: &mut std::collections::BTreeMap<String, usize>) {
        match v {
            Value::Object(o) => {
                if let Some(Value::String(r)) = o.get("$ref") {
                    *uses.entry(r.clone()).or_default() += 1;
                }
                o.values().for_each(|v| count(v, uses));
            }
            Value::Array(a) => a.iter().for_each(|v| count(v, uses)),
            _ => {}
        }
    }
    fn replace(v: &mut Value, leaves: &Map<String, Value>) {
        match v {
            Value::Object(o) => {
                let target = o
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix("#/$defs/"))
                    .and_then(|name| leaves.get(name));
                if let Some(Value::Object(def)) = target {
                    o.remove("$ref");
                    for (k, v) in def {
                        o.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
                o.values_mut().for_each(|v| replace(v, leaves));
            }
            Value::Array(a) => a.iter_mut().for_each(|v| replace(v, leaves)),
            _ => {}
        }
    }
    let Some(Value::Object(defs)) = schema.get("$defs") else {
        return;
    };
    let mut uses = std::collections::BTreeMap::new();
    schema.values().for_each(|v| count(v, &mut uses));
    let leaves: Map<String, Value> = defs
        .iter()
        .filter(|(name, def)| {
            let mut inner = std::collections::BTreeMap::new();
            count(def, &mut inner);
            let n = uses.get(&format!("#/$defs/{name}")).copied().unwrap_or(0);
            inner.is_empty() && (!single_use || n == 1)
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if leaves.is_empty() {
        return;
    }
    for (k, v) in schema.iter_mut() {
        if k != "$defs" {
            replace(v, &leaves);
        }
    }
    if let Some(Value::Object(defs)) = schema.get_mut("$defs") {
        defs.retain(|name, _| !leaves.contains_key(name));
        if defs.is_empty() {
            schema.remove("$defs");
        }
    }
}

/// Money is `Decimal` in Rust and a JSON number on the wire (rust_decimal's `serde-float`), but
/// schemars describes `Decimal` as a string; say "number" so clients that validate structured
/// output against the schema accept what we send.
fn numbers_for_money(mut schema: JsonObject) -> JsonObject {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(o) => {
                let is_decimal =
                    o.get("pattern").and_then(Value::as_str) == Some(r"^-?\d+(\.\d+)?$");
                if is_decimal {
                    o.remove("pattern");
                    match o.get_mut("type") {
                        Some(Value::Array(types)) => {
                            for t in types.iter_mut() {
                                if t == "string" {
                                    *t = Value::from("number");
                                }
                            }
                        }
                        Some(t) => *t = Value::from("number"),
                        None => {}
                    }
                }
                o.values_mut().for_each(walk);
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    schema.values_mut().for_each(walk);
    schema
}

impl From<quantdesk_market::MarketError> for ToolError {
    fn from(err: quantdesk_market::MarketError) -> Self {
        ToolError(err.to_string())
    }
}

impl From<quantdesk_domain::DomainError> for ToolError {
    fn from(err: quantdesk_domain::DomainError) -> Self {
        ToolError(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_has_schemas_and_annotations() {
        for tool in catalog() {
            assert!(tool.output_schema.is_some(), "{}", tool.name);
            let a = tool.annotations.as_ref().unwrap();
            assert!(a.title.is_some(), "{}", tool.name);
            assert!(
                tool.description.as_ref().is_some_and(|d| d.len() < 600),
                "{} description too long",
                tool.name
            );
        }
    }

    #[test]
    fn money_is_described_as_numbers() {
        let text = serde_json::to_string(catalog()).unwrap();
        assert!(
            !text.contains(r#"^-?\\d+(\\.\\d+)?$"#),
            "a Decimal still described as a string"
        );
    }
}
