//! Evaluation of checked expressions over [`Columns`], bar by bar, with three-valued logic for
//! bars where an operand has no value yet (indicator warm-up).

use std::collections::HashMap;

use thiserror::Error;

use super::parse::{ArithOp, Call, CallKey, CmpOp, Column, Expr, Expression, Kind};
use crate::indicators::{Columns, IndicatorError, compute};

/// Why an expression could not be evaluated on a set of columns.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum EvalError {
    /// The indicator refused its parameters or the columns.
    #[error("{call}: {error}")]
    Indicator {
        call: String,
        #[source]
        error: IndicatorError,
    },
    /// `model("id")` outside a strategy.
    #[error(
        "model('{id}') is read in strategies only (run_backtest, optimize_parameters, \
         analyze_strategy, generate_report); here use predict for a model's latest probabilities"
    )]
    Model { id: String },
    /// No bars at all.
    #[error("no bars to evaluate")]
    NoBars,
    /// A condition was required (e.g. for [`Evaluator::signal`]) but the expression is a number.
    #[error("`{text}` is a number, not a condition; compare it, e.g. `{text} > 0`")]
    NotACondition { text: String },
}

/// An expression's value at one bar. Conditions are three-valued: `None` means *unknown*, because
/// an operand had no value there (warm-up `NaN`, or no previous bar for a crossing).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Number(f64),
    Condition(Option<bool>),
}

/// An expression's value at every bar.
#[derive(Debug, Clone, PartialEq)]
pub enum SeriesValue {
    Number(Vec<f64>),
    Condition(Vec<Option<bool>>),
}

/// Evaluates expressions over one symbol's columns, computing each distinct indicator call
/// (same indicator, input column and resolved parameters) once however many expressions or
/// outputs use it.
#[derive(Debug)]
pub struct Evaluator<'a> {
    columns: Columns<'a>,
    cache: HashMap<CallKey, Vec<Vec<f64>>>,
}

impl<'a> Evaluator<'a> {
    pub fn new(columns: Columns<'a>) -> Self {
        Self {
            columns,
            cache: HashMap::new(),
        }
    }

    /// Number of distinct indicator computations run so far (for tests and diagnostics).
    pub fn computations(&self) -> usize {
        self.cache.len()
    }

    /// The value of `expr` at the last bar.
    pub fn last(&mut self, expr: &Expression) -> Result<Value, EvalError> {
        let n = self.columns.len();
        if n == 0 {
            return Err(EvalError::NoBars);
        }
        self.prepare(expr)?;
        Ok(self.value_at(expr, n - 1))
    }

    /// The value of `expr` at bar `i` (0 = oldest). Out of range gives an unknown/NaN value.
    pub fn at(&mut self, expr: &Expression, i: usize) -> Result<Value, EvalError> {
        self.prepare(expr)?;
        Ok(self.value_at(expr, i))
    }

    /// The value of `expr` at every bar.
    pub fn series(&mut self, expr: &Expression) -> Result<SeriesValue, EvalError> {
        self.prepare(expr)?;
        let n = self.columns.len();
        Ok(match expr.kind() {
            Kind::Number => SeriesValue::Number((0..n).map(|i| self.num(expr.root(), i)).collect()),
            Kind::Condition => {
                SeriesValue::Condition((0..n).map(|i| self.cond(expr.root(), i)).collect())
            }
        })
    }

    /// A condition as a plain per-bar signal for strategies: *unknown* counts as `false` (no
    /// signal until every operand has a value).
    pub fn signal(&mut self, expr: &Expression) -> Result<Vec<bool>, EvalError> {
        match self.series(expr)? {
            SeriesValue::Condition(v) => Ok(v.into_iter().map(|b| b == Some(true)).collect()),
            SeriesValue::Number(_) => Err(EvalError::NotACondition {
                text: expr.to_string(),
            }),
        }
    }

    /// Value of a numeric sub-expression at bar `i` (after [`Self::prepare`]).
    pub(crate) fn num_at(&self, e: &Expr, i: usize) -> f64 {
        self.num(e, i)
    }

    fn value_at(&self, expr: &Expression, i: usize) -> Value {
        match expr.kind() {
            Kind::Number => Value::Number(self.num(expr.root(), i)),
            Kind::Condition => Value::Condition(self.cond(expr.root(), i)),
        }
    }

    /// Runs every indicator call `expr` needs that is not cached yet.
    pub(crate) fn prepare(&mut self, expr: &Expression) -> Result<(), EvalError> {
        if let Some(id) = expr.models().first() {
            return Err(EvalError::Model { id: id.to_string() });
        }
        for call in expr.calls() {
            let key = call.key();
            if self.cache.contains_key(&key) {
                continue;
            }
            let mut cols = self.columns;
            if let Some(source) = call.source {
                cols.close = column(&self.columns, source);
            }
            let params = call.param_map();
            let outputs =
                compute(call.spec.name, &params, &cols).map_err(|error| EvalError::Indicator {
                    call: call.canonical(),
                    error,
                })?;
            self.cache
                .insert(key, outputs.into_iter().map(|(_, v)| v).collect());
        }
        Ok(())
    }

    fn call_value(&self, call: &Call, i: usize) -> f64 {
        self.cache
            .get(&call.key())
            .and_then(|outs| outs.get(call.output))
            .and_then(|v| v.get(i))
            .copied()
            .unwrap_or(f64::NAN)
    }

    fn num(&self, e: &Expr, i: usize) -> f64 {
        match e {
            Expr::Number(v) => *v,
            Expr::Column(c) => column(&self.columns, *c)
                .get(i)
                .copied()
                .unwrap_or(f64::NAN),
            Expr::Indicator(call) => self.call_value(call, i),
            Expr::Model(_) => f64::NAN,
            Expr::Neg(a) => -self.num(a, i),
            Expr::Arith(op, a, b) => {
                let (x, y) = (self.num(a, i), self.num(b, i));
                match op {
                    ArithOp::Add => x + y,
                    ArithOp::Sub => x - y,
                    ArithOp::Mul => x * y,
                    ArithOp::Div => x / y,
                }
            }
            // Conditions never sit where a number is expected: the parser checks kinds.
            Expr::Compare(..) | Expr::And(..) | Expr::Or(..) | Expr::Not(_) => f64::NAN,
        }
    }

    fn cond(&self, e: &Expr, i: usize) -> Option<bool> {
        match e {
            Expr::Compare(op, a, b) => {
                let (x, y) = (self.num(a, i), self.num(b, i));
                if x.is_nan() || y.is_nan() {
                    return None;
                }
                match op {
                    CmpOp::Lt => Some(x < y),
                    CmpOp::Le => Some(x <= y),
                    CmpOp::Gt => Some(x > y),
                    CmpOp::Ge => Some(x >= y),
                    CmpOp::Eq => Some(x == y),
                    CmpOp::Ne => Some(x != y),
                    CmpOp::CrossesAbove | CmpOp::CrossesBelow => {
                        let prev = i.checked_sub(1)?;
                        let (px, py) = (self.num(a, prev), self.num(b, prev));
                        if px.is_nan() || py.is_nan() {
                            return None;
                        }
                        // backtesting.py's `crossover`, as the strategy language has it: strict
                        // on both bars, so one expression means the same in both tools.
                        Some(if *op == CmpOp::CrossesAbove {
                            px < py && x > y
                        } else {
                            px > py && x < y
                        })
                    }
                }
            }
            // Kleene logic: a known `false` decides `and`, a known `true` decides `or`.
            Expr::And(a, b) => match (self.cond(a, i), self.cond(b, i)) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            },
            Expr::Or(a, b) => match (self.cond(a, i), self.cond(b, i)) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            },
            Expr::Not(a) => self.cond(a, i).map(|b| !b),
            Expr::Number(_)
            | Expr::Column(_)
            | Expr::Indicator(_)
            | Expr::Model(_)
            | Expr::Neg(_)
            | Expr::Arith(..) => None,
        }
    }
}

fn column<'a>(cols: &Columns<'a>, c: Column) -> &'a [f64] {
    match c {
        Column::Open => cols.open,
        Column::High => cols.high,
        Column::Low => cols.low,
        Column::Close => cols.close,
        Column::Volume => cols.volume,
    }
}
