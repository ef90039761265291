//! Trained models (table `models`): what `train_model` made, kept for `predict` and for
//! `model("id")` in strategies — the recipe, the bars it was trained on, its out-of-sample
//! evaluation and the fitted trees, the last two as JSON text this crate does not read.
//! Training and prediction live in `quantdesk-quant::ml`; this is only what is kept.

use chrono::{DateTime, Utc};
use sqlx::Row as _;

use crate::{Store, StoreError, timestamp};

/// A model to keep.
#[derive(Debug, Clone, PartialEq)]
pub struct NewModel {
    pub symbol: String,
    pub timeframe: String,
    /// How outcomes were labelled, e.g. `forward_sign`.
    pub label: String,
    pub horizon: u32,
    /// Feature names or expressions, in the model's column order.
    pub features: Vec<String>,
    pub feature_hash: String,
    /// The first and last bar trained on.
    pub train_start: DateTime<Utc>,
    pub train_end: DateTime<Utc>,
    pub rows: u64,
    pub evaluation: String,
    pub model: String,
    /// Where the bars came from.
    pub source: String,
}

/// A kept model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRow {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub new: NewModel,
}

fn time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("a stored model time '{text}': {e}")))
}

/// A fresh model id: `mdl_` and 16 random hex digits.
fn new_id() -> Result<String, StoreError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Corrupt(format!("no randomness: {e}")))?;
    Ok(format!("mdl_{}", hex::encode(bytes)))
}

impl Store {
    /// Keeps `m` and returns its id.
    pub async fn insert_model(&self, m: &NewModel) -> Result<String, StoreError> {
        let id = new_id()?;
        let features = serde_json::to_string(&m.features)
            .map_err(|e| StoreError::Corrupt(format!("features: {e}")))?;
        sqlx::query(
            "INSERT INTO models (id, symbol, timeframe, label, horizon, features, feature_hash, \
             train_start, train_end, rows, evaluation, model, source, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(&m.symbol)
        .bind(&m.timeframe)
        .bind(&m.label)
        .bind(i64::from(m.horizon))
        .bind(features)
        .bind(&m.feature_hash)
        .bind(timestamp(m.train_start))
        .bind(timestamp(m.train_end))
        .bind(i64::try_from(m.rows).unwrap_or(i64::MAX))
        .bind(&m.evaluation)
        .bind(&m.model)
        .bind(&m.source)
        .bind(timestamp(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// The model `id`, if kept.
    pub async fn model(&self, id: &str) -> Result<Option<ModelRow>, StoreError> {
        let Some(row) = sqlx::query("SELECT * FROM models WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let features: String = row.try_get("features")?;
        let features = serde_json::from_str(&features)
            .map_err(|e| StoreError::Corrupt(format!("model {id}'s features: {e}")))?;
        let count = |k: &str| -> Result<i64, StoreError> { Ok(row.try_get::<i64, _>(k)?) };
        Ok(Some(ModelRow {
            id: row.try_get("id")?,
            created_at: time(&row.try_get::<String, _>("created_at")?)?,
            new: NewModel {
                symbol: row.try_get("symbol")?,
                timeframe: row.try_get("timeframe")?,
                label: row.try_get("label")?,
                horizon: u32::try_from(count("horizon")?).unwrap_or(0),
                features,
                feature_hash: row.try_get("feature_hash")?,
                train_start: time(&row.try_get::<String, _>("train_start")?)?,
                train_end: time(&row.try_get::<String, _>("train_end")?)?,
                rows: u64::try_from(count("rows")?).unwrap_or(0),
                evaluation: row.try_get("evaluation")?,
                model: row.try_get("model")?,
                source: row.try_get("source")?,
            },
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_model_is_kept_and_read_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).await.unwrap();
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let new = NewModel {
            symbol: "GOOG".into(),
            timeframe: "1Day".into(),
            label: "forward_sign".into(),
            horizon: 5,
            features: vec!["ret_1".into(), "adx(14)".into()],
            feature_hash: "0123456789abcdef".into(),
            train_start: t("2010-01-04T00:00:00Z"),
            train_end: t("2018-06-29T00:00:00Z"),
            rows: 2100,
            evaluation: "{\"verdict\":\"no edge\"}".into(),
            model: "{\"trees\":[]}".into(),
            source: "bundled".into(),
        };
        let id = store.insert_model(&new).await.unwrap();
        assert!(id.starts_with("mdl_") && id.len() == 20, "{id}");
        let back = store.model(&id).await.unwrap().unwrap();
        assert_eq!((back.id.as_str(), &back.new), (id.as_str(), &new));
        assert!(store.model("mdl_nothing").await.unwrap().is_none());
        assert_ne!(store.insert_model(&new).await.unwrap(), id);
    }
}
