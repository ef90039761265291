//! The shipped fixtures: `fixtures/routes.json` lists canned responses (`responses`, bodies in
//! files next to it) and bar histories (`bars`) that the bars endpoints page through like
//! Alpaca does. Adding a symbol or an endpoint is a fixture and a line in `routes.json`, no code.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::routes::Route;
use crate::{Incoming, Reply, StandInError};

pub(crate) fn dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures"))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    #[serde(default)]
    bars: Vec<BarsEntry>,
    #[serde(default)]
    responses: Vec<ResponseEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponseEntry {
    #[serde(default = "get")]
    method: String,
    path: String,
    /// A value of `null` means "must not be sent".
    #[serde(default)]
    query: BTreeMap<String, Option<String>>,
    #[serde(default = "ok")]
    status: u16,
    /// File under `fixtures/` holding the body.
    body: String,
}

fn get() -> String {
    "GET".to_string()
}

fn ok() -> u16 {
    200
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Asset {
    Stock,
    Crypto,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BarsEntry {
    asset: Asset,
    symbol: String,
    /// Alpaca's spelling, e.g. `1Day`.
    timeframe: String,
    /// A JSON array of Alpaca bars (`t`, `o`, `h`, `l`, `c`, `v`, `n`, `vw`), oldest first.
    file: String,
    /// At most this many bars per page, whatever `limit` asks — Alpaca may return fewer than
    /// the limit and a `next_page_token`, and clients must cope; this makes tests exercise it.
    #[serde(default)]
    max_page: Option<usize>,
}

/// One symbol's bars at one timeframe.
#[derive(Debug, Clone)]
pub(crate) struct BarSet {
    pub asset: Asset,
    pub symbol: String,
    pub timeframe: String,
    pub max_page: Option<usize>,
    /// Bar start times and the bars exactly as in the fixture, oldest first.
    pub bars: Vec<(DateTime<Utc>, serde_json::Value)>,
}

#[derive(Debug, Default)]
pub(crate) struct Fixtures {
    /// Sorted by precedence.
    routes: Vec<Route>,
    pub bars: Vec<BarSet>,
}

impl Fixtures {
    pub fn load(dir: &Path) -> Result<Self, StandInError> {
        let manifest_path = dir.join("routes.json");
        let manifest: Manifest = read_json(&manifest_path)?;
        let mut routes = Vec::with_capacity(manifest.responses.len());
        for entry in manifest.responses {
            let path = dir.join(&entry.body);
            let body = read(&path)?;
            // Bodies of `{symbol}` routes are templates; all others must already be JSON.
            if !entry.path.contains("{symbol}") {
                serde_json::from_str::<serde_json::Value>(&body).map_err(|e| {
                    StandInError::Fixture {
                        path: path.clone(),
                        reason: e.to_string(),
                    }
                })?;
            }
            routes.push(Route {
                method: entry.method,
                path: entry.path,
                query: entry.query.into_iter().collect(),
                status: entry.status,
                body,
                custom: false,
            });
        }
        let mut bars = Vec::with_capacity(manifest.bars.len());
        for entry in manifest.bars {
            let path = dir.join(&entry.file);
            let raw: Vec<serde_json::Value> = read_json(&path)?;
            let mut parsed = Vec::with_capacity(raw.len());
            for (i, bar) in raw.into_iter().enumerate() {
                let time = bar
                    .get("t")
                    .and_then(|t| t.as_str())
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .ok_or_else(|| StandInError::Fixture {
                        path: path.clone(),
                        reason: format!("bar {i} has no RFC 3339 `t`"),
                    })?;
                parsed.push((time.with_timezone(&Utc), bar));
            }
            if !parsed.windows(2).all(|w| w[0].0 < w[1].0) {
                return Err(StandInError::Fixture {
                    path,
                    reason: "bars are not in ascending time order".to_string(),
                });
            }
            bars.push(BarSet {
                asset: entry.asset,
                symbol: entry.symbol,
                timeframe: entry.timeframe,
                max_page: entry.max_page,
                bars: parsed,
            });
        }
        let mut fixtures = Self { routes, bars };
        fixtures.sort();
        Ok(fixtures)
    }

    pub fn add_custom(&mut self, routes: Vec<Route>) {
        self.routes.extend(routes.into_iter().map(|mut r| {
            r.custom = true;
            r
        }));
        self.sort();
    }

    fn sort(&mut self) {
        self.routes.sort_by_key(Route::precedence);
    }

    /// The first canned route without a placeholder that answers `request`.
    pub fn exact(&self, request: &Incoming) -> Option<Reply> {
        self.routes
            .iter()
            .filter(|r| !r.is_pattern())
            .find_map(|r| r.answer(request))
    }

    /// The first `{symbol}` route that answers `request`.
    pub fn pattern(&self, request: &Incoming) -> Option<Reply> {
        self.routes
            .iter()
            .filter(|r| r.is_pattern())
            .find_map(|r| r.answer(request))
    }
}

fn read(path: &Path) -> Result<String, StandInError> {
    std::fs::read_to_string(path).map_err(|e| StandInError::Fixture {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, StandInError> {
    serde_json::from_str(&read(path)?).map_err(|e| StandInError::Fixture {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_fixtures_load() {
        let f = Fixtures::load(&dir()).unwrap();
        assert!(
            f.bars
                .iter()
                .any(|b| b.symbol == "GOOG" && b.bars.len() == 60)
        );
        assert!(f.bars.iter().any(|b| b.symbol == "BTC/USD"));
        assert!(f.routes.len() >= 6);
    }
}
