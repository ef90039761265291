//! Training and honest evaluation of an up/down model on one series: features and labels made
//! into rows, scored out of sample by purged, embargoed walk-forward folds (gradient-boosted trees
//! beside the two baselines, "always up" and logistic regression), a significance test of the
//! trees' out-of-sample AUC, a plain verdict, and the final model fitted on every row.

use serde::Serialize;
use thiserror::Error;

use super::cv::{self, CvError, Split};
use super::features::{self, FeatureError};
use super::gbt::{Gbt, GbtError};
use super::labels::{self, Label};
use super::logistic::Logistic;
use super::metrics;
use crate::indicators::Columns;

#[derive(Debug, Clone, PartialEq, Error)]
pub enum TrainError {
    #[error("{0}")]
    Features(#[from] FeatureError),
    #[error("{0}")]
    Cv(#[from] CvError),
    #[error("{0}")]
    Gbt(#[from] GbtError),
    #[error("{0}")]
    Data(String),
}

/// What to train.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Default feature names or number-valued expressions.
    pub features: Vec<String>,
    /// How outcomes are labelled.
    pub label: Label,
    /// Bars ahead the label looks.
    pub horizon: usize,
    /// Walk-forward folds.
    pub folds: usize,
    /// Rows dropped before each test block beyond the purge.
    pub embargo: usize,
    /// Threads for the trees (None: all cores).
    pub threads: Option<usize>,
}

impl Request {
    /// The defaults: every default feature, 5 folds, an embargo of one horizon.
    pub fn new(horizon: usize) -> Self {
        Request {
            features: features::DEFAULT
                .iter()
                .map(|(n, _)| n.to_string())
                .collect(),
            label: Label::ForwardSign,
            horizon: horizon.max(1),
            folds: 5,
            embargo: horizon.max(1),
            threads: None,
        }
    }
}

/// Rows ready to learn from: contiguous bars (`first..first + y.len()`) whose features are all
/// known and whose label is known.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub names: Vec<String>,
    pub first: usize,
    pub x: Vec<Vec<f64>>,
    pub y: Vec<f64>,
    /// Forward return over the horizon, for the information coefficient.
    pub forward: Vec<f64>,
    /// Bars after the last labelled one whose features are known (what `predict` scores).
    pub latest: Vec<Vec<f64>>,
}

/// The rows of `cols` for `req`.
pub fn dataset(cols: &Columns<'_>, req: &Request) -> Result<Dataset, TrainError> {
    let set = features::compute(cols, &req.features)?;
    let n = cols.len();
    let h = req.horizon.max(1);
    let label = req.label.compute(cols.close, h);
    // The contiguous stretch after the last bar with an unknown feature.
    let known: Vec<bool> = (0..n).map(|i| set.row(i).is_some()).collect();
    let labelled_end = n.saturating_sub(h);
    let first = (0..labelled_end)
        .rev()
        .find(|&i| !known[i])
        .map_or(0, |i| i + 1);
    let mut out = Dataset {
        names: set.names.clone(),
        first,
        x: Vec::new(),
        y: Vec::new(),
        forward: Vec::new(),
        latest: Vec::new(),
    };
    for (i, y) in label.iter().enumerate().take(labelled_end).skip(first) {
        let (Some(row), Some(y)) = (set.row(i), *y) else {
            return Err(TrainError::Data(format!("bar {i} has no label")));
        };
        out.x.push(row);
        out.y.push(y);
        out.forward.push(cols.close[i + h] / cols.close[i] - 1.0);
    }
    out.latest = (labelled_end..n).filter_map(|i| set.row(i)).collect();
    Ok(out)
}

/// Out-of-sample scores of one predictor.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Scores {
    pub accuracy: f64,
    pub auc: Option<f64>,
    pub log_loss: f64,
    pub information_coefficient: Option<f64>,
}

fn scores(p: &[f64], y: &[f64], forward: &[f64]) -> Scores {
    let finite = |v: f64| v.is_finite().then_some(v);
    Scores {
        accuracy: metrics::accuracy(p, y),
        auc: finite(metrics::auc(p, y)),
        log_loss: metrics::log_loss(p, y),
        information_coefficient: finite(metrics::information_coefficient(p, forward)),
    }
}

/// The walk-forward evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Evaluation {
    pub rows: usize,
    pub out_of_sample_rows: usize,
    pub folds: usize,
    pub horizon: usize,
    pub embargo: usize,
    pub model: Scores,
    pub always_up: Scores,
    pub logistic: Scores,
    /// One-sided p-value of the trees' AUC above 0.5 (Mann–Whitney, its variance inflated by
    /// the horizon for overlapping labels).
    pub p_value: Option<f64>,
    /// Feature names with their share of the final model's gain, largest first.
    pub importances: Vec<(String, f64)>,
    pub verdict: String,
}

/// A model fitted on every row, with what it was trained on.
#[derive(Debug)]
pub struct Trained {
    pub gbt: Gbt,
    pub dataset: Dataset,
    pub evaluation: Evaluation,
}

/// Labelled rows a model of `features` features is trained on at least: ten a feature, and 50.
pub(crate) fn min_train_rows(features: usize) -> usize {
    50.max(10 * features)
}

/// Evaluates `req` on `cols` by walk-forward, then fits the final model on every row.
pub fn train(cols: &Columns<'_>, req: &Request) -> Result<Trained, TrainError> {
    let data = dataset(cols, req)?;
    let h = req.horizon.max(1);
    let end = |i: usize| labels::label_end(i, h);
    let min_train = min_train_rows(data.names.len());
    let splits = cv::walk_forward(data.y.len(), req.folds, &end, req.embargo, min_train)?;
    cv::check_no_leak(&splits, &end)?;
    let (mut p_model, mut p_up, mut p_lr) = (Vec::new(), Vec::new(), Vec::new());
    let (mut y_oos, mut fwd_oos) = (Vec::new(), Vec::new());
    for Split { train, test } in &splits {
        let (xt, yt) = (&data.x[train.clone()], &data.y[train.clone()]);
        let gbt = Gbt::fit(xt, yt, req.threads)?;
        let lr = Logistic::fit(xt, yt);
        let up_rate = yt.iter().sum::<f64>() / yt.len() as f64;
        let xs = &data.x[test.clone()];
        p_model.extend(gbt.predict(xs));
        p_lr.extend(xs.iter().map(|r| lr.predict(r)));
        // "Always up": the training up-rate, a hair above 0.5 so it predicts up.
        p_up.extend(std::iter::repeat_n(up_rate.max(0.5 + 1e-9), xs.len()));
        y_oos.extend_from_slice(&data.y[test.clone()]);
        fwd_oos.extend_from_slice(&data.forward[test.clone()]);
    }
    let model = scores(&p_model, &y_oos, &fwd_oos);
    // A constant ranks nothing: its AUC is 0.5 and it has no rank correlation, whatever the
    // up-rate each fold's training rows gave it.
    let always_up = Scores {
        auc: Some(0.5),
        information_coefficient: None,
        ..scores(&p_up, &y_oos, &fwd_oos)
    };
    let logistic = scores(&p_lr, &y_oos, &fwd_oos);
    let p_value = model.auc.map(|auc| auc_p_value(auc, &y_oos, h));
    let gbt = Gbt::fit(&data.x, &data.y, req.threads)?;
    let mut importances: Vec<(String, f64)> =
        data.names.iter().cloned().zip(gbt.importances()).collect();
    importances.sort_by(|a, b| b.1.total_cmp(&a.1));
    let verdict = verdict(&model, &always_up, &logistic, p_value);
    let evaluation = Evaluation {
        rows: data.y.len(),
        out_of_sample_rows: y_oos.len(),
        folds: splits.len(),
        horizon: h,
        embargo: req.embargo,
        model,
        always_up,
        logistic,
        p_value,
        importances,
        verdict,
    };
    Ok(Trained {
        gbt,
        dataset: data,
        evaluation,
    })
}

/// One-sided p-value of `auc` > 0.5 under no skill: the Mann–Whitney normal approximation, its
/// variance multiplied by `horizon` (labels over overlapping windows are that much less
/// independent).
fn auc_p_value(auc: f64, y: &[f64], horizon: usize) -> f64 {
    let pos = y.iter().filter(|v| **v > 0.5).count() as f64;
    let neg = y.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return 1.0;
    }
    let var = (pos + neg + 1.0) / (12.0 * pos * neg) * horizon as f64;
    let z = (auc - 0.5) / var.sqrt();
    1.0 - crate::options::norm_cdf(z)
}

fn verdict(model: &Scores, up: &Scores, lr: &Scores, p: Option<f64>) -> String {
    let Some((auc, p)) = model.auc.zip(p) else {
        return "no verdict: the out-of-sample rows hold only one outcome".into();
    };
    if p >= 0.05 {
        return format!(
            "no edge beyond chance: out-of-sample AUC {auc:.3} (p = {p:.2}); accuracy {:.1}% \
             against {:.1}% for always predicting up",
            model.accuracy * 100.0,
            up.accuracy * 100.0
        );
    }
    if model.accuracy <= up.accuracy {
        return format!(
            "ranks better than chance (AUC {auc:.3}, p = {p:.3}) but is no more accurate than \
             always predicting up ({:.1}% vs {:.1}%): use its probabilities as a filter, not a \
             direction",
            model.accuracy * 100.0,
            up.accuracy * 100.0
        );
    }
    let vs_lr = match lr.auc {
        Some(l) if l >= auc => format!("; logistic regression does as well (AUC {l:.3})"),
        _ => String::new(),
    };
    format!(
        "an out-of-sample edge: AUC {auc:.3} (p = {p:.3}), accuracy {:.1}% against {:.1}% for \
         always up{vs_lr}. Past predictability is not a forecast",
        model.accuracy * 100.0,
        up.accuracy * 100.0
    )
}
