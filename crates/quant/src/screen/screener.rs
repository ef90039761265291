//! [`screen`]: filters and ranks a universe of symbols by expressions evaluated at each
//! symbol's last bar.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;
use thiserror::Error;

use super::eval::{EvalError, Evaluator, Value};
use super::parse::{Expression, Kind, ParseError, excerpt};
use crate::indicators::{IndicatorError, OwnedColumns};

/// Why a whole screen was refused (as opposed to one symbol being skipped).
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ScreenError {
    /// A filter or the sort key does not parse.
    #[error("{role} `{text}`: {error}")]
    Parse {
        role: String,
        text: String,
        error: ParseError,
    },
    /// A filter is a number or the sort key a condition.
    #[error("{role} `{text}` is {message}")]
    Kind {
        role: String,
        text: String,
        message: String,
    },
    /// An indicator rejected a parameter value (e.g. a period of 0): the expression is wrong for
    /// every symbol, so the screen stops rather than skipping them all.
    #[error("{role} `{text}`: {error}")]
    Indicator {
        role: String,
        text: String,
        error: Box<EvalError>,
    },
}

/// One symbol that passed every filter.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ScreenMatch {
    pub symbol: String,
    /// Timestamp of the bar the values are from (Unix seconds), when the columns carry times.
    pub time: Option<i64>,
    /// Value at the last bar of every non-literal comparison operand in the filters and of the
    /// sort key, keyed by its normalised text (e.g. `"rsi(14)"`, `"close"`, `"2 * sma(volume,
    /// 20)"`); null where undefined (warm-up, division by zero).
    pub values: BTreeMap<String, Option<f64>>,
    /// The sort key's value, when a sort was requested.
    pub sort_value: Option<f64>,
}

/// A symbol the screen could not decide.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Skipped {
    pub symbol: String,
    pub reason: String,
}

/// What [`screen`] returns.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ScreenResult {
    /// Matching symbols, sorted and truncated to the limit.
    pub matches: Vec<ScreenMatch>,
    /// Matches before the limit was applied.
    pub total_matches: usize,
    /// Symbols whose filters could be decided (matched or not).
    pub evaluated: usize,
    /// Symbols that could not be decided, with why (no bars, too little history for an
    /// indicator, inconsistent columns).
    pub skipped: Vec<Skipped>,
}

/// Screens `universe` (symbol, columns oldest first): a symbol matches when **every** filter
/// holds at its last bar. Matches are ordered by `sort` — `(expression, descending)` — with
/// symbols whose sort value is undefined last and ties broken by symbol; without a sort they keep
/// universe order. At most `limit` matches are returned (`total_matches` says how many there
/// were).
///
/// A filter that is *unknown* at the last bar (an operand still in warm-up) skips the symbol
/// with a reason, unless another filter is definitely false (then it is simply not a match).
/// Each distinct indicator call is computed once per symbol.
pub fn screen<S: AsRef<str>>(
    universe: &[(S, OwnedColumns)],
    filters: &[&str],
    sort: Option<(&str, bool)>,
    limit: Option<usize>,
) -> Result<ScreenResult, ScreenError> {
    let filters: Vec<(String, Expression)> = filters
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let role = format!("filter {}", i + 1);
            let expr = parse_as(&role, text, Kind::Condition)?;
            Ok((role, expr))
        })
        .collect::<Result<_, ScreenError>>()?;
    let sort = match sort {
        Some((text, descending)) => Some((parse_as("sort key", text, Kind::Number)?, descending)),
        None => None,
    };

    let mut reported: Vec<(String, &super::parse::Expr)> = Vec::new();
    let exprs = filters
        .iter()
        .map(|(_, e)| e)
        .chain(sort.iter().map(|(e, _)| e));
    for expr in exprs {
        for operand in expr.operands() {
            let key = operand.to_string();
            if !reported.iter().any(|(k, _)| *k == key) {
                reported.push((key, operand));
            }
        }
    }

    let mut matches = Vec::new();
    let mut skipped = Vec::new();
    let mut evaluated = 0;
    'symbols: for (symbol, columns) in universe {
        let symbol = symbol.as_ref();
        if let Err(reason) = check_columns(columns) {
            skipped.push(Skipped {
                symbol: symbol.to_string(),
                reason,
            });
            continue;
        }
        let mut ev = Evaluator::new(columns.view());
        let mut unknown: Option<String> = None;
        let mut failed = false;
        for (role, expr) in &filters {
            match ev.last(expr) {
                Ok(Value::Condition(Some(true))) => {}
                Ok(Value::Condition(Some(false))) => failed = true,
                Ok(_) => {
                    unknown.get_or_insert_with(|| {
                        format!(
                            "{role} `{expr}` is undefined at the last bar: an operand has no \
                             value yet ({} bars; an indicator may need more history)",
                            columns.close.len()
                        )
                    });
                }
                Err(e) => {
                    let reason = symbol_error(role, expr, e)?;
                    skipped.push(Skipped {
                        symbol: symbol.to_string(),
                        reason,
                    });
                    continue 'symbols;
                }
            }
        }
        if failed {
            evaluated += 1;
            continue;
        }
        if let Some(reason) = unknown {
            skipped.push(Skipped {
                symbol: symbol.to_string(),
                reason,
            });
            continue;
        }
        evaluated += 1;
        let sort_value = match &sort {
            Some((expr, _)) => match ev.last(expr) {
                Ok(Value::Number(v)) => finite(v),
                Ok(Value::Condition(_)) => None,
                Err(e) => {
                    let reason = symbol_error("sort key", expr, e)?;
                    skipped.push(Skipped {
                        symbol: symbol.to_string(),
                        reason,
                    });
                    evaluated -= 1;
                    continue;
                }
            },
            None => None,
        };
        let last = columns.close.len() - 1;
        let values = reported
            .iter()
            .map(|(key, e)| (key.clone(), finite(ev.num_at(e, last))))
            .collect();
        matches.push(ScreenMatch {
            symbol: symbol.to_string(),
            time: columns.time.get(last).copied(),
            values,
            sort_value,
        });
    }

    if let Some((_, descending)) = sort {
        matches.sort_by(|a, b| match (a.sort_value, b.sort_value) {
            (Some(x), Some(y)) => {
                let o = x.total_cmp(&y);
                let o = if descending { o.reverse() } else { o };
                o.then_with(|| a.symbol.cmp(&b.symbol))
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => a.symbol.cmp(&b.symbol),
        });
    }
    let total_matches = matches.len();
    if let Some(limit) = limit {
        matches.truncate(limit);
    }
    Ok(ScreenResult {
        matches,
        total_matches,
        evaluated,
        skipped,
    })
}

fn parse_as(role: &str, text: &str, want: Kind) -> Result<Expression, ScreenError> {
    let expr = Expression::parse(text).map_err(|error| ScreenError::Parse {
        role: role.to_string(),
        text: excerpt(text),
        error,
    })?;
    if expr.kind() != want {
        let message = match want {
            Kind::Condition => {
                format!("a number, but a filter must be a condition; compare it, e.g. `{expr} > 0`")
            }
            Kind::Number => "a condition, but a sort key must be a number".to_string(),
        };
        return Err(ScreenError::Kind {
            role: role.to_string(),
            text: excerpt(text),
            message,
        });
    }
    if let Some(id) = expr.models().first() {
        return Err(ScreenError::Kind {
            role: role.to_string(),
            text: excerpt(text),
            message: EvalError::Model { id: id.to_string() }.to_string(),
        });
    }
    Ok(expr)
}

/// Splits evaluation errors into the expression's fault (a bad parameter value: stop the
/// screen) and the symbol's (a reason to skip it).
fn symbol_error(role: &str, expr: &Expression, e: EvalError) -> Result<String, ScreenError> {
    match e {
        EvalError::Indicator {
            error: IndicatorError::InvalidParam { .. } | IndicatorError::UnknownParam { .. },
            ..
        } => Err(ScreenError::Indicator {
            role: role.to_string(),
            text: expr.text().to_string(),
            error: Box::new(e),
        }),
        other => Ok(format!("{role} `{expr}`: {other}")),
    }
}

/// The columns must be non-empty and equally long (`time` may be empty or full length).
fn check_columns(c: &OwnedColumns) -> Result<(), String> {
    let n = c.close.len();
    if n == 0 {
        return Err("no bars".into());
    }
    let lens = [
        ("open", c.open.len()),
        ("high", c.high.len()),
        ("low", c.low.len()),
        ("volume", c.volume.len()),
    ];
    if let Some((name, len)) = lens.iter().find(|(_, l)| *l != n) {
        return Err(format!(
            "columns have different lengths: close {n}, {name} {len}"
        ));
    }
    if !c.time.is_empty() && c.time.len() != n {
        return Err(format!(
            "columns have different lengths: close {n}, time {}",
            c.time.len()
        ));
    }
    Ok(())
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}
