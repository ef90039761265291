//! The market, analysis and backtesting tools: parse → one call into `quantdesk_research` →
//! answer. Each handler is a few lines; what they compute lives in that crate.

use std::future::Future;
use std::pin::Pin;
use std::sync::LazyLock;

use quantdesk_domain::{OptionChain, PriceSnapshot};
use quantdesk_quant::backtest::strategy::{EXAMPLES, GUIDE, example};
use quantdesk_research::analysis::{self, *};
use quantdesk_research::backtest::optimize::{self, Watch};
use quantdesk_research::backtest::{self, *};
use quantdesk_research::jobs::{GetJobParams, JobOut, Jobs};
use quantdesk_research::ml::{self, *};
use quantdesk_research::quotes::{self, *};
use rmcp::model::{
    GetPromptResult, JsonObject, Prompt, PromptArgument, PromptMessage, ReadResourceResult,
    Resource, ResourceContents, Role,
};
use serde_json::Value;

use super::Ctx;
use super::trading::Progress;
use crate::input::ToolError;

/// This sidecar's background searches (bounded; see [`Jobs`]).
static JOBS: LazyLock<Jobs> = LazyLock::new(Jobs::default);

impl From<quantdesk_research::Error> for ToolError {
    fn from(err: quantdesk_research::Error) -> Self {
        ToolError(err.to_string())
    }
}

impl optimize::Progress for Progress {
    fn report(&self, done: usize, total: usize) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        use quantdesk_trading::WaitProgress;
        self.say(
            done as f64,
            total as f64,
            format!("{done} of {total} backtests"),
        )
    }
}

pub async fn get_stock_price(ctx: &Ctx, p: StockPriceParams) -> Result<PriceSnapshot, ToolError> {
    Ok(quotes::get_stock_price(&*ctx.market, p).await?)
}

pub async fn get_market_data(ctx: &Ctx, p: MarketDataParams) -> Result<MarketDataOut, ToolError> {
    Ok(quotes::get_market_data(&*ctx.market, p).await?)
}

pub async fn get_crypto_prices(
    ctx: &Ctx,
    p: CryptoPricesParams,
) -> Result<CryptoPricesOut, ToolError> {
    Ok(quotes::get_crypto_prices(&*ctx.market, p).await?)
}

pub async fn watch(
    ctx: &Ctx,
    p: quantdesk_live::watch::WatchParams,
) -> Result<quantdesk_live::watch::WatchOut, ToolError> {
    let Some(watcher) = &ctx.watcher else {
        return Err(ToolError(
            "this sidecar runs offline (--provider bundled or alpaca): nothing streams".into(),
        ));
    };
    watcher.watch(p).await.map_err(|e| ToolError(e.to_string()))
}

pub async fn alerts(
    ctx: &Ctx,
    p: quantdesk_live::alerts::AlertsParams,
) -> Result<quantdesk_live::alerts::AlertsOut, ToolError> {
    let Some(alerts) = &ctx.alerts else {
        return Err(ToolError(
            "this sidecar runs offline (--provider bundled or alpaca): alerts need the live stream"
                .into(),
        ));
    };
    alerts.handle(p).await.map_err(|e| ToolError(e.to_string()))
}

pub async fn get_options_chain(ctx: &Ctx, p: OptionsChainParams) -> Result<OptionChain, ToolError> {
    Ok(quotes::get_options_chain(&*ctx.market, p).await?)
}

pub async fn calculate_indicators(
    ctx: &Ctx,
    p: CalculateIndicatorsParams,
) -> Result<IndicatorsOut, ToolError> {
    Ok(analysis::calculate_indicators(&*ctx.market, p).await?)
}

pub async fn find_patterns(ctx: &Ctx, p: PatternsParams) -> Result<PatternsOut, ToolError> {
    Ok(analysis::find_patterns(&*ctx.market, p).await?)
}

pub async fn screen_stocks(ctx: &Ctx, p: ScreenParams) -> Result<ScreenOut, ToolError> {
    Ok(analysis::screen_stocks(&*ctx.market, p).await?)
}

pub async fn risk_analysis(ctx: &Ctx, p: RiskParams) -> Result<RiskOut, ToolError> {
    Ok(analysis::risk_analysis(&*ctx.market, p).await?)
}

pub async fn run_backtest(ctx: &Ctx, p: RunBacktestParams) -> Result<RunBacktestOut, ToolError> {
    Ok(backtest::run_backtest(&*ctx.market, &ctx.store, p).await?)
}

pub async fn optimize_parameters(ctx: &Ctx, p: OptimizeParams) -> Result<OptimizeOut, ToolError> {
    let watch = Watch {
        progress: ctx.progress.as_ref().map(|p| p as &dyn optimize::Progress),
        cancel: ctx.cancel.clone(),
    };
    Ok(backtest::optimize_parameters(&*ctx.market, &ctx.store, &JOBS, watch, p).await?)
}

pub async fn analyze_strategy(ctx: &Ctx, p: AnalyzeParams) -> Result<AnalyzeOut, ToolError> {
    Ok(backtest::analyze_strategy(&*ctx.market, &ctx.store, p).await?)
}

/// Reports go into `<data-dir>/reports/`, beside the store.
pub async fn generate_report(ctx: &Ctx, p: ReportParams) -> Result<ReportOut, ToolError> {
    let dir = ctx
        .store
        .path()
        .parent()
        .map(|d| d.join("reports"))
        .ok_or_else(|| ToolError::new("the data folder is unknown"))?;
    Ok(backtest::generate_report(&*ctx.market, &ctx.store, &dir, p).await?)
}

pub async fn train_model(ctx: &Ctx, p: TrainModelParams) -> Result<TrainModelOut, ToolError> {
    Ok(ml::train_model(&*ctx.market, &ctx.store, &JOBS, p).await?)
}

pub async fn predict(ctx: &Ctx, p: PredictParams) -> Result<PredictOut, ToolError> {
    Ok(ml::predict(&*ctx.market, &ctx.store, p).await?)
}

pub async fn get_job(_ctx: &Ctx, p: GetJobParams) -> Result<JobOut, ToolError> {
    Ok(JOBS.get(p.job_id.trim())?)
}

/// The strategy guide and worked examples as MCP resources (`quantdesk://strategies/...`).
pub fn resources() -> Vec<Resource> {
    let mut out = vec![{
        let mut r = Resource::new("quantdesk://strategies/guide", "strategy-language")
            .with_description("The JSON strategy language run_backtest accepts");
        r.mime_type = Some("text/markdown".into());
        r
    }];
    for (name, text) in EXAMPLES {
        let description = serde_json::from_str::<Value>(text)
            .ok()
            .and_then(|v| v["description"].as_str().map(str::to_string))
            .unwrap_or_default();
        let mut r = Resource::new(format!("quantdesk://strategies/{name}"), *name)
            .with_description(description);
        r.mime_type = Some("application/json".into());
        out.push(r);
    }
    out
}

/// A resource's contents, or `None` for an unknown URI.
pub fn read_resource(uri: &str) -> Option<ReadResourceResult> {
    let name = uri.strip_prefix("quantdesk://strategies/")?;
    let text = if name == "guide" {
        GUIDE
    } else {
        example(name)?
    };
    Some(ReadResourceResult::new(vec![ResourceContents::text(
        text, uri,
    )]))
}

/// The prompt that turns a trading idea in words into a strategy: the guide, the idea, and how
/// to check the result.
pub fn prompts() -> Vec<Prompt> {
    vec![Prompt::new(
        "write_strategy",
        Some(
            "Turn a trading idea in plain words into a QuantDesk JSON strategy, backtest it and \
             fix what the validator points at",
        ),
        Some(vec![
            PromptArgument::new("description")
                .with_description("The idea, e.g. 'buy when RSI is under 30 in an uptrend'")
                .with_required(true),
            PromptArgument::new("symbol")
                .with_description("Symbol to backtest on (default SPY)")
                .with_required(false),
        ]),
    )]
}

/// The messages of prompt `name` with `arguments`, or why not.
pub fn get_prompt(name: &str, arguments: Option<&JsonObject>) -> Result<GetPromptResult, String> {
    if name != "write_strategy" {
        return Err(format!(
            "no prompt '{name}'; the prompts are: write_strategy"
        ));
    }
    let arg = |k: &str| {
        arguments
            .and_then(|a| a.get(k))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let description = arg("description")
        .ok_or_else(|| "write_strategy needs 'description': the idea in words".to_string())?;
    let symbol = arg("symbol").unwrap_or("SPY");
    let ask = format!(
        "Write a QuantDesk strategy for this idea: \"{description}\".\n\n\
         1. Write it as JSON in the language below; declare every $param you use, with a \
         min/max/step range where optimising it makes sense.\n\
         2. Call run_backtest with it on {symbol}. If it answers with an error, the error names \
         the field and the column of the token as written, with a suggested fix: correct that \
         token and run again.\n\
         3. Report the strategy, its main statistics, and that past results are not a forecast; \
         offer analyze_strategy for out-of-sample and overfitting checks.\n\n{GUIDE}"
    );
    Ok(
        GetPromptResult::new(vec![PromptMessage::new_text(Role::User, ask)])
            .with_description(format!("A strategy for: {description}")),
    )
}
