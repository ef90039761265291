//! `generate_report`: a self-contained HTML report of a backtest, written as a new private file
//! into the reports folder it is given, with a Markdown summary for the chat. It overwrites
//! nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use quantdesk_domain::untrusted;
use quantdesk_quant::backtest::optimize::{Constraint, Request, Search, optimize_combinations};
use quantdesk_quant::backtest::report::{ReportInput, markdown, render};
use quantdesk_quant::backtest::robustness::{Analysis, analyze};
use quantdesk_quant::backtest::strategy::Strategy;
use quantdesk_quant::backtest::{MarketContext, Settings};
use quantdesk_quant::indicators::{Columns, OwnedColumns};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Loaded, Subject};
use crate::{Error, MarketData, blocking};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReportParams {
    #[serde(flatten)]
    pub subject: Subject,
    /// Override param defaults.
    pub params: Option<BTreeMap<String, f64>>,
    /// Heat map over the strategy's param ranges (default true when it has two).
    pub heatmap: Option<bool>,
    /// For the heat map, e.g. "fast < slow".
    pub constraint: Option<String>,
    /// Heat-map stat, default sharpe_ratio.
    pub maximize: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ReportOut {
    /// The HTML file.
    pub path: String,
    pub markdown: String,
    pub return_pct: f64,
    pub trades: usize,
    pub source: String,
    pub as_of: DateTime<Utc>,
}

/// Backtests and analyses the subject, renders the report and writes it into `dir` (created
/// private if missing).
pub async fn generate_report(
    market: &dyn MarketData,
    store: &quantdesk_store::Store,
    dir: &Path,
    p: ReportParams,
) -> Result<ReportOut, Error> {
    let Loaded {
        strategy,
        series,
        settings,
    } = p.subject.load(market, store).await?;
    let ranged = strategy
        .params
        .iter()
        .filter(|q| q.min.is_some() && q.max.is_some())
        .count();
    let constraint = p
        .constraint
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .map(|c| Constraint::parse(c, &strategy))
        .transpose()
        .map_err(|e| Error::Invalid(e.to_string()))?;
    let job = Job {
        strategy,
        settings,
        values: p.params.unwrap_or_default(),
        heatmap: p.heatmap.unwrap_or(ranged >= 2),
        constraint,
        maximize: p.maximize.unwrap_or_else(|| "sharpe_ratio".into()),
        symbol: series.symbol.to_string(),
        provenance: format!(
            "{} data, as of {}",
            series.provenance.source,
            series.provenance.as_of.format("%Y-%m-%d %H:%M UTC")
        ),
        now: Utc::now(),
        dir: dir.to_path_buf(),
    };
    let cols = OwnedColumns::from_bars(&series.bars);
    let (path, markdown, return_pct, trades) =
        blocking("report", move || job.write(&cols.view())).await??;
    Ok(ReportOut {
        path: path.display().to_string(),
        markdown,
        return_pct,
        trades,
        source: series.provenance.source,
        as_of: series.provenance.as_of,
    })
}

/// Everything a report needs besides the bars.
struct Job {
    strategy: Strategy,
    settings: Settings,
    values: BTreeMap<String, f64>,
    heatmap: bool,
    constraint: Option<Constraint>,
    maximize: String,
    symbol: String,
    provenance: String,
    now: DateTime<Utc>,
    dir: PathBuf,
}

impl Job {
    /// Renders the report and writes it: its path, Markdown, return and trade count.
    fn write(self, view: &Columns<'_>) -> Result<(PathBuf, String, f64, usize), Error> {
        let a = Analysis {
            strategy: &self.strategy,
            values: self.values.clone(),
            settings: self.settings,
            in_sample_share: 0.7,
            monte_carlo_runs: 1000,
            seed: 1,
            metric: self.maximize.clone(),
        };
        let (outcome, robustness) = analyze(view, &a).map_err(|e| Error::Invalid(e.to_string()))?;
        let heatmap = if self.heatmap {
            let req = Request {
                strategy: &self.strategy,
                ranges: BTreeMap::new(),
                constraint: self.constraint.clone(),
                maximize: self.maximize.clone(),
                search: Search::Grid,
                settings: self.settings,
            };
            let ctx = MarketContext::new(view);
            req.combinations()
                .and_then(|c| optimize_combinations(view, &ctx, &req, c, &|_| {}))
                .map_err(|e| Error::Invalid(e.to_string()))?
                .heatmap
        } else {
            None
        };
        let name = self
            .strategy
            .name
            .clone()
            .unwrap_or_else(|| "Strategy".into());
        let generated = self.now.format("%Y-%m-%d %H:%M UTC").to_string();
        let input = ReportInput {
            symbol: &self.symbol,
            strategy_name: &name,
            params: &outcome.params,
            settings: &self.settings,
            cols: view,
            outcome: &outcome,
            heatmap: heatmap.as_ref(),
            robustness: Some(&robustness),
            provenance: &self.provenance,
            generated: &generated,
        };
        let path = self.save(&name, &render(&input))?;
        Ok((
            path,
            // The Markdown goes to the model: the name in it is enveloped (the HTML escapes it).
            markdown(&ReportInput {
                strategy_name: &untrusted::envelope("strategy", &name),
                ..input
            }),
            outcome.stats.return_pct,
            outcome.stats.trades,
        ))
    }

    /// Writes `html` as a new private file named after the symbol, strategy and time.
    fn save(&self, name: &str, html: &str) -> Result<PathBuf, Error> {
        let slug: String = format!("{}-{name}", self.symbol)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let dir = &self.dir;
        quantdesk_store::private::create_private_dir(dir)
            .map_err(|e| Error::Failed(format!("cannot create {}: {e}", dir.display())))?;
        let path = dir.join(format!(
            "{slug}-{}-{}.html",
            self.now.format("%Y%m%d-%H%M%S"),
            std::process::id()
        ));
        quantdesk_store::private::create_private_file(&path)
            .and_then(|()| std::fs::write(&path, html))
            .map_err(|e| Error::Failed(format!("cannot write {}: {e}", path.display())))?;
        Ok(path)
    }
}
