//! The indicator catalogue: names, parameters, outputs, and dispatch from a name and parameter
//! map to the batch functions. Each family module contributes its entries through `specs()`.

use std::collections::BTreeMap;

use super::{Columns, IndicatorError};

/// A parameter an indicator takes, with its default.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpec {
    pub name: &'static str,
    pub default: f64,
    pub description: &'static str,
}

/// One output series of an indicator (e.g. MACD has `macd`, `signal`, `hist`).
#[derive(Debug, Clone, PartialEq)]
pub struct OutputSpec {
    pub name: &'static str,
}

/// The batch computation behind a catalogue entry: parameters resolved (defaults filled in,
/// in the order of `params`), one `Vec<f64>` per output.
pub type BatchFn = fn(&Columns<'_>, &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError>;

/// A catalogue entry.
#[derive(Debug, Clone)]
pub struct IndicatorSpec {
    /// Lower-case name, e.g. `rsi`, `bbands`, `macd`.
    pub name: &'static str,
    pub description: &'static str,
    pub params: Vec<ParamSpec>,
    pub outputs: Vec<OutputSpec>,
    pub batch: BatchFn,
}

/// Every indicator QuantDesk knows, sorted by name.
pub fn catalog() -> &'static [IndicatorSpec] {
    static CATALOG: std::sync::LazyLock<Vec<IndicatorSpec>> = std::sync::LazyLock::new(|| {
        let mut all: Vec<IndicatorSpec> = Vec::new();
        // Family modules register here as they land.
        all.extend(super::momentum::specs());
        all.extend(super::overlap::specs());
        all.extend(super::volatility::specs());
        all.extend(super::volume::specs());
        all.sort_by_key(|s| s.name);
        all
    });
    &CATALOG
}

/// The catalogue entry called `name` (any case), or an error listing the valid names.
pub fn spec(name: &str) -> Result<&'static IndicatorSpec, IndicatorError> {
    let lower = name.trim().to_ascii_lowercase();
    catalog()
        .iter()
        .find(|s| s.name == lower)
        .ok_or_else(|| IndicatorError::Unknown {
            name: name.to_string(),
            available: catalog()
                .iter()
                .map(|s| s.name)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Computes indicator `name` with `params` (missing ones take their defaults) over `columns`.
/// Returns `(output name, values)` pairs in the catalogue's output order.
pub fn compute(
    name: &str,
    params: &BTreeMap<String, f64>,
    columns: &Columns<'_>,
) -> Result<Vec<(&'static str, Vec<f64>)>, IndicatorError> {
    let spec = spec(name)?;
    for key in params.keys() {
        if !spec.params.iter().any(|p| p.name == key.as_str()) {
            return Err(IndicatorError::UnknownParam {
                indicator: spec.name.to_string(),
                param: key.clone(),
                accepted: spec
                    .params
                    .iter()
                    .map(|p| p.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    let n = columns.len();
    if [
        columns.open.len(),
        columns.high.len(),
        columns.low.len(),
        columns.volume.len(),
    ]
    .iter()
    .any(|&l| l != n)
    {
        return Err(IndicatorError::LengthMismatch {
            indicator: spec.name.to_string(),
        });
    }
    let resolved: Vec<f64> = spec
        .params
        .iter()
        .map(|p| params.get(p.name).copied().unwrap_or(p.default))
        .collect();
    let outputs = (spec.batch)(columns, &resolved)?;
    Ok(spec.outputs.iter().map(|o| o.name).zip(outputs).collect())
}

/// Reads a parameter as a whole number of at least `min` (periods, lookbacks).
#[allow(dead_code)] // used by the family modules as they land
pub(crate) fn period_param(
    spec_name: &str,
    param: &str,
    value: f64,
    min: usize,
) -> Result<usize, IndicatorError> {
    if value.fract() != 0.0 || value < min as f64 || value > 100_000.0 {
        return Err(IndicatorError::InvalidParam {
            indicator: spec_name.to_string(),
            param: param.to_string(),
            expected: format!("a whole number from {min} to 100000"),
            value,
        });
    }
    Ok(value as usize)
}
