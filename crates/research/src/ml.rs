//! ML signals: `train_model` (features and labels from a symbol's bars, an honest walk-forward
//! evaluation beside the baselines, the final model kept in the store; a long training runs as
//! a job), `predict` (a kept model's up-probabilities for the latest bars), and the model series
//! that `model("id")` reads in strategies, retrained walk-forward over the backtest's own bars.

use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use quantdesk_domain::{Symbol, Timeframe};
use quantdesk_quant::backtest::strategy::Strategy;
use quantdesk_quant::indicators::OwnedColumns;
use quantdesk_quant::ml::features::{self, DEFAULT};
use quantdesk_quant::ml::gbt::{self, Gbt};
use quantdesk_quant::ml::labels::Label;
use quantdesk_quant::ml::series::{feature_hash, walk_forward_predictions};
use quantdesk_quant::ml::train::{self, Evaluation, Request};
use quantdesk_store::Store;
use quantdesk_store::models::{ModelRow, NewModel};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::backtest::{bars, time_of};
use crate::jobs::Jobs;
use crate::{Error, MarketData, blocking};

/// A training estimated to take longer than this runs as a job.
const JOB_AFTER_SECS: f64 = 20.0;
/// Cost of one row of one feature in one fit, twice what `ml/train_100k_x_40` measures on two
/// idle cores (~0.3 µs), for a machine that is busy.
const SECS_PER_CELL: f64 = 0.6e-6;
/// Most features a model may have.
const MAX_FEATURES: usize = 64;
/// Most bars `predict` answers for.
const MAX_PREDICT_BARS: u32 = 500;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct TrainModelParams {
    /// Ticker, e.g. GOOG.
    pub symbol: Symbol,
    /// Bars ahead the label looks, e.g. 5.
    pub horizon: u32,
    /// Names or number expressions, e.g. ["defaults", "adx(14)"]; default the default set.
    pub features: Option<Vec<String>>,
    /// forward_sign (default) or triple_barrier.
    pub label: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    /// Bar length (1Min..1Month), default 1Day.
    pub timeframe: Option<Timeframe>,
    /// Force a job.
    pub background: Option<bool>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TrainingRange {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub rows: usize,
}

#[derive(Debug, Clone, Serialize, JsonSchema, Default)]
pub struct TrainModelOut {
    /// Ask get_job.
    pub job_id: Option<String>,
    pub model_id: Option<String>,
    pub symbol: String,
    pub timeframe: String,
    pub label: String,
    pub horizon: usize,
    pub features: Vec<String>,
    pub feature_hash: String,
    pub training: Option<TrainingRange>,
    pub evaluation: Option<Evaluation>,
    pub source: String,
    pub as_of: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PredictParams {
    /// From train_model.
    pub model_id: String,
    /// Default the model's own.
    pub symbol: Option<Symbol>,
    /// Latest bars answered, default 5.
    pub bars: Option<u32>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Prediction {
    pub time: DateTime<Utc>,
    pub close: f64,
    pub up_probability: f64,
    /// The bar was in the model's training range (its prediction there is in-sample).
    pub in_training: bool,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PredictOut {
    pub model_id: String,
    pub symbol: String,
    pub timeframe: String,
    pub horizon: usize,
    pub meaning: String,
    /// Oldest first.
    pub predictions: Vec<Prediction>,
    /// The model's out-of-sample verdict.
    pub verdict: String,
    pub trained: TrainingRange,
    pub source: String,
    pub as_of: DateTime<Utc>,
}

/// The recipe a request asks for: features (with "defaults" expanded), label and horizon.
fn recipe(
    features: Option<&[String]>,
    label: Option<&str>,
    horizon: u32,
) -> Result<Request, Error> {
    if horizon == 0 || horizon > 1000 {
        return Err(Error::invalid(
            "invalid 'horizon': bars ahead the label looks, from 1 to 1000",
        ));
    }
    let mut req = Request::new(horizon as usize);
    if let Some(label) = label {
        req.label = Label::parse(label).ok_or_else(|| {
            Error::Invalid(format!(
                "invalid 'label': '{label}'; use {}",
                Label::NAMES.join(" or ")
            ))
        })?;
    }
    if let Some(list) = features {
        let mut names: Vec<String> = Vec::new();
        for f in list.iter().map(|f| f.trim()).filter(|f| !f.is_empty()) {
            if matches!(f, "defaults" | "default") {
                names.extend(DEFAULT.iter().map(|(n, _)| n.to_string()));
            } else {
                names.push(f.to_string());
            }
        }
        let mut seen = std::collections::HashSet::new();
        names.retain(|n| seen.insert(features::expression_of(n).to_string()));
        if names.is_empty() {
            return Err(Error::invalid(
                "invalid 'features': name at least one, or \"defaults\"",
            ));
        }
        if names.len() > MAX_FEATURES {
            return Err(Error::Invalid(format!(
                "invalid 'features': {} features; at most {MAX_FEATURES}",
                names.len()
            )));
        }
        req.features = names;
    }
    Ok(req)
}

/// Trains, evaluates and keeps a model; in the background (its `job_id` in the answer) when
/// asked to or when it would take longer than [`JOB_AFTER_SECS`].
pub async fn train_model(
    market: &dyn MarketData,
    store: &Store,
    jobs: &Jobs,
    p: TrainModelParams,
) -> Result<TrainModelOut, Error> {
    let req = recipe(p.features.as_deref(), p.label.as_deref(), p.horizon)?;
    let series = bars(
        market,
        p.symbol,
        p.timeframe,
        p.start.as_deref(),
        p.end.as_deref(),
    )
    .await?;
    let cols = OwnedColumns::from_bars(&series.bars);
    let head = TrainModelOut {
        symbol: series.symbol.to_string(),
        timeframe: series.timeframe.to_string(),
        label: req.label.name().into(),
        horizon: req.horizon,
        features: req.features.clone(),
        feature_hash: feature_hash(&req.features),
        source: series.provenance.source.clone(),
        as_of: Some(series.provenance.as_of),
        ..TrainModelOut::default()
    };
    let fits = (req.folds + 1) as f64 * (gbt::ROUNDS as f64 / 100.0);
    let estimate = cols.time.len() as f64 * req.features.len() as f64 * fits * SECS_PER_CELL;
    let background = p.background.unwrap_or(false) || estimate > JOB_AFTER_SECS;
    if background {
        // The features are checked on the last bars first, so a typo is an answer, not a failed
        // job (a direct training reports it from the training itself).
        let view = cols.view();
        let short = view.range(view.len().saturating_sub(300), view.len());
        features::compute(&short, &req.features).map_err(|e| Error::Invalid(e.to_string()))?;
    }
    let work = {
        let head = head.clone();
        move || fit(&cols, &req, head)
    };
    if background {
        let store = store.clone();
        let handle = tokio::runtime::Handle::current();
        let id = jobs.start("train_model", 1, move |progress| {
            let (mut out, new) = work()?;
            out.model_id = Some(handle.block_on(keep(&store, &new))?);
            progress.store(1, Ordering::Relaxed);
            serde_json::to_value(out).map_err(|e| Error::Failed(format!("encoding: {e}")))
        })?;
        return Ok(TrainModelOut {
            job_id: Some(id),
            ..head
        });
    }
    let (mut out, new) = blocking("training", work).await??;
    out.model_id = Some(keep(store, &new).await?);
    Ok(out)
}

async fn keep(store: &Store, new: &NewModel) -> Result<String, Error> {
    store
        .insert_model(new)
        .await
        .map_err(|e| Error::Failed(format!("the model could not be kept: {e}")))
}

/// Trains on `cols`: the answer (without its id) and the row to keep.
fn fit(
    cols: &OwnedColumns,
    req: &Request,
    head: TrainModelOut,
) -> Result<(TrainModelOut, NewModel), Error> {
    let view = cols.view();
    let trained = train::train(&view, req).map_err(|e| Error::Invalid(e.to_string()))?;
    let d = &trained.dataset;
    let rows = d.y.len();
    let range = TrainingRange {
        start: time_of(cols.time[d.first]),
        end: time_of(cols.time[d.first + rows - 1]),
        rows,
    };
    let model = trained
        .gbt
        .to_json()
        .map_err(|e| Error::Failed(e.to_string()))?;
    let evaluation = serde_json::to_string(&trained.evaluation)
        .map_err(|e| Error::Failed(format!("encoding: {e}")))?;
    let new = NewModel {
        symbol: head.symbol.clone(),
        timeframe: head.timeframe.clone(),
        label: head.label.clone(),
        horizon: req.horizon as u32,
        features: req.features.clone(),
        feature_hash: head.feature_hash.clone(),
        train_start: range.start,
        train_end: range.end,
        rows: rows as u64,
        evaluation,
        model,
        source: head.source.clone(),
    };
    let out = TrainModelOut {
        training: Some(range),
        evaluation: Some(trained.evaluation),
        ..head
    };
    Ok((out, new))
}

/// The kept model `id`, checked against today's feature definitions.
async fn load(store: &Store, id: &str) -> Result<ModelRow, Error> {
    let id = id.trim();
    let row = store
        .model(id)
        .await
        .map_err(|e| Error::Failed(format!("the store: {e}")))?
        .ok_or_else(|| {
            Error::Invalid(format!(
                "there is no model '{id}'; train_model answers with a model_id"
            ))
        })?;
    if feature_hash(&row.new.features) != row.new.feature_hash {
        return Err(Error::Invalid(format!(
            "model '{id}' was trained on features whose definitions have changed since; train \
             it again with train_model"
        )));
    }
    Ok(row)
}

fn request_of(row: &ModelRow) -> Result<Request, Error> {
    recipe(
        Some(&row.new.features),
        Some(&row.new.label),
        row.new.horizon,
    )
}

/// A kept model's up-probabilities for the latest bars of its symbol (or another).
pub async fn predict(
    market: &dyn MarketData,
    store: &Store,
    p: PredictParams,
) -> Result<PredictOut, Error> {
    let row = load(store, &p.model_id).await?;
    let want = p.bars.unwrap_or(5).clamp(1, MAX_PREDICT_BARS) as usize;
    let symbol = match p.symbol {
        Some(s) => s,
        None => Symbol::parse(&row.new.symbol)?,
    };
    let timeframe: Timeframe = row
        .new
        .timeframe
        .parse()
        .map_err(|_| Error::Failed(format!("model {} has a bad timeframe", row.id)))?;
    let series = bars(market, symbol, Some(timeframe), None, None).await?;
    let cols = OwnedColumns::from_bars(&series.bars);
    let names = row.new.features.clone();
    let model = row.new.model.clone();
    let (at, probs) = blocking("prediction", move || -> Result<_, Error> {
        let set =
            features::compute(&cols.view(), &names).map_err(|e| Error::Invalid(e.to_string()))?;
        let mut latest: Vec<(usize, Vec<f64>)> = (0..cols.time.len())
            .rev()
            .filter_map(|i| set.row(i).map(|r| (i, r)))
            .take(want)
            .collect();
        latest.reverse();
        let (at, x): (Vec<usize>, Vec<Vec<f64>>) = latest.into_iter().unzip();
        let gbt = Gbt::from_json(&model).map_err(|e| Error::Failed(e.to_string()))?;
        let p = gbt.predict(&x);
        Ok((
            at.into_iter()
                .map(|i| (cols.time[i], cols.close[i]))
                .collect::<Vec<_>>(),
            p,
        ))
    })
    .await??;
    if at.is_empty() {
        return Err(Error::Invalid(format!(
            "no {} bar has every feature of model {} yet (too few bars)",
            series.symbol, row.id
        )));
    }
    let verdict = serde_json::from_str::<serde_json::Value>(&row.new.evaluation)
        .ok()
        .and_then(|v| v["verdict"].as_str().map(str::to_string))
        .unwrap_or_default();
    let h = row.new.horizon as usize;
    let same_symbol = series.symbol.to_string() == row.new.symbol;
    let predictions = at
        .into_iter()
        .zip(probs)
        .map(|((t, close), up_probability)| {
            let time = time_of(t);
            Prediction {
                time,
                close,
                up_probability,
                in_training: same_symbol
                    && time >= row.new.train_start
                    && time <= row.new.train_end,
            }
        })
        .collect();
    Ok(PredictOut {
        model_id: row.id.clone(),
        symbol: series.symbol.to_string(),
        timeframe: row.new.timeframe.clone(),
        horizon: h,
        meaning: format!(
            "the model's probability that the close {h} bar(s) after each bar ends above that \
             bar's close ({}); a probability near 0.5 says nothing, and one from a model \
             without an out-of-sample edge is no forecast",
            row.new.label
        ),
        predictions,
        verdict,
        trained: TrainingRange {
            start: row.new.train_start,
            end: row.new.train_end,
            rows: row.new.rows as usize,
        },
        source: series.provenance.source,
        as_of: series.provenance.as_of,
    })
}

/// Gives every `model("id")` that `strategy` reads its series over `bars`: the kept model's
/// recipe retrained walk-forward on these bars, so each prediction comes from a model that saw
/// only earlier bars. A strategy without models costs nothing here.
pub(crate) async fn attach_models(
    store: &Store,
    strategy: &mut Strategy,
    bars: &[quantdesk_domain::Bar],
) -> Result<(), Error> {
    let ids = strategy
        .model_ids()
        .map_err(|e| Error::Invalid(format!("invalid {e}")))?;
    if ids.is_empty() {
        return Ok(());
    }
    let cols = OwnedColumns::from_bars(bars);
    for id in ids {
        let row = load(store, &id).await?;
        let req = request_of(&row)?;
        let cols = cols.clone();
        let series = blocking("model series", move || {
            walk_forward_predictions(&cols.view(), &req)
        })
        .await?
        .map_err(|e| Error::Invalid(format!("model(\"{id}\"): {e}")))?;
        strategy.models.insert(id, series);
    }
    Ok(())
}
