//! Binding parameter values into a [`Strategy`] and evaluating its rules over the bars, column
//! by column, into an engine [`Plan`].
//!
//! Evaluation is vectorised (one pass per operator over whole columns) and every indicator call
//! is computed once per distinct (indicator, input, parameters) in an [`IndicatorCache`], which
//! the optimiser shares across its whole grid. Values at bar i come from bars ≤ i only: the
//! indicators are causal and the only look-back operator, a crossing, reads bar i-1.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::Arc;

use rayon::prelude::*;

use super::{Strategy, StrategyError, err, sizing, stop_distance};
use crate::backtest::{Plan, Signals, Sizing, StopRules};
use crate::indicators::overlap::sma_pair;
use crate::indicators::{Columns, compute};
use crate::screen::{ArithOp, Call, CallKey, CmpOp, Column, Expr, Expression, Kind};

/// Indicator outputs computed over one series, keyed by call (indicator, input, parameters).
#[derive(Debug, Default, Clone)]
pub struct IndicatorCache {
    map: HashMap<CallKey, Arc<Vec<Vec<f64>>>>,
}

impl IndicatorCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// Distinct indicator computations held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Computes every call `bound` needs that is not cached yet (the distinct ones in parallel
    /// when there is enough work).
    pub fn prepare(&mut self, bound: &Bound, cols: &Columns<'_>) -> Result<(), StrategyError> {
        self.prepare_all(std::slice::from_ref(bound), cols)
    }

    /// [`IndicatorCache::prepare`] for many bound strategies at once (an optimiser's grid):
    /// each distinct call is computed once, in parallel when there is enough work.
    pub fn prepare_all(
        &mut self,
        bounds: &[Bound],
        cols: &Columns<'_>,
    ) -> Result<(), StrategyError> {
        let mut missing: Vec<(&'static str, &Call, CallKey)> = Vec::new();
        let mut seen: std::collections::HashSet<CallKey> = std::collections::HashSet::new();
        for bound in bounds {
            for (path, expr) in bound.rules() {
                for call in expr.calls() {
                    let key = call.key();
                    if !self.map.contains_key(&key) && seen.insert(key.clone()) {
                        missing.push((path, call, key));
                    }
                }
            }
        }
        type Outputs = Vec<Vec<f64>>;
        let input = |call: &Call| match call.source {
            Some(src) => column(cols, src),
            None => cols.close,
        };
        let one = |(path, call, key): (&'static str, &Call, CallKey)| {
            let mut c = *cols;
            c.close = input(call);
            let params = call.param_map();
            let outs = compute(call.spec.name, &params, &c).map_err(|e| StrategyError {
                path: path.to_string(),
                message: format!("{}: {e}", call.canonical()),
            })?;
            Ok(vec![(key, outs.into_iter().map(|(_, v)| v).collect())])
        };
        // SMAs of the same input are computed two per pass (`sma_pair`, the same bits as one at
        // a time) when that does not take work from an idle core: when the calls run on one
        // thread anyway, or there are more of them than threads. Anything else, or an SMA whose
        // period `compute` would reject, one by one.
        let n = cols.len();
        let pairing = missing.len() * n < crate::backtest::PARALLEL_BARS
            || missing.len() > rayon::current_num_threads();
        let aligned = [cols.open, cols.high, cols.low, cols.close, cols.volume]
            .iter()
            .all(|c| c.len() == n);
        let sma_period = |call: &Call| -> Option<usize> {
            let p = *call.params.first()?;
            (aligned
                && call.spec.name == "sma"
                && call.params.len() == 1
                && p.fract() == 0.0
                && (1.0..=100_000.0).contains(&p))
            .then_some(p as usize)
        };
        let mut jobs: Vec<Vec<(&'static str, &Call, CallKey)>> = Vec::new();
        // Jobs holding one SMA, waiting for a second of the same input.
        let mut unpaired: Vec<usize> = Vec::new();
        for m in missing {
            if !pairing || sma_period(m.1).is_none() {
                jobs.push(vec![m]);
                continue;
            }
            let same_input = unpaired
                .iter()
                .position(|&j| std::ptr::eq(input(jobs[j][0].1), input(m.1)));
            match same_input {
                Some(w) => {
                    let j = unpaired.swap_remove(w);
                    jobs[j].push(m);
                }
                None => {
                    unpaired.push(jobs.len());
                    jobs.push(vec![m]);
                }
            }
        }
        let job = |calls: Vec<(&'static str, &Call, CallKey)>| match <[_; 2]>::try_from(calls) {
            Ok([a, b]) => {
                let (pa, pb) = (sma_period(a.1), sma_period(b.1));
                let (Some(pa), Some(pb)) = (pa, pb) else {
                    let mut out = one(a)?;
                    out.extend(one(b)?);
                    return Ok(out);
                };
                let (x, y) = sma_pair(input(a.1), pa, pb).map_err(|e| StrategyError {
                    path: a.0.to_string(),
                    message: format!("{}: {e}", a.1.canonical()),
                })?;
                Ok(vec![(a.2, vec![x]), (b.2, vec![y])])
            }
            Err(calls) => {
                let mut out = Vec::new();
                for c in calls {
                    out.extend(one(c)?);
                }
                Ok(out)
            }
        };
        // In parallel only when there is enough work to pay for waking threads.
        let work: usize = jobs.iter().map(Vec::len).sum::<usize>() * n;
        let computed: Vec<Result<Vec<(CallKey, Outputs)>, StrategyError>> =
            if jobs.len() > 1 && work >= crate::backtest::PARALLEL_BARS {
                jobs.into_par_iter().map(job).collect()
            } else {
                jobs.into_iter().map(job).collect()
            };
        for r in computed {
            for (key, outs) in r? {
                self.map.insert(key, Arc::new(outs));
            }
        }
        Ok(())
    }
}

/// A strategy with its parameter values fixed: parsed rules, sizing and stops.
#[derive(Debug, Clone)]
pub struct Bound {
    long_entry: Option<Expression>,
    long_exit: Option<Expression>,
    short_entry: Option<Expression>,
    short_exit: Option<Expression>,
    sizing: Sizing,
    stops: StopRules,
}

fn substitute(
    text: &str,
    values: &BTreeMap<String, f64>,
    path: &str,
) -> Result<String, StrategyError> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some((i, ch)) = chars.next() {
        if ch != '$' {
            out.push(ch);
            continue;
        }
        let mut end = i + 1;
        while let Some(&(j, c)) = chars.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                end = j + c.len_utf8();
                chars.next();
            } else {
                break;
            }
        }
        let name = &text[i + 1..end];
        let Some(v) = values.get(name) else {
            return err(
                path,
                format!("unknown parameter '${name}' in \"{text}\"; declare it under 'params'"),
            );
        };
        if v.fract() == 0.0 && v.abs() < 1e15 {
            out.push_str(&format!("{}", *v as i64));
        } else {
            out.push_str(&format!("({v})"));
        }
    }
    Ok(out)
}

pub(super) fn bind(s: &Strategy, values: &BTreeMap<String, f64>) -> Result<Bound, StrategyError> {
    let parse = |text: &Option<String>, path: &str| -> Result<Option<Expression>, StrategyError> {
        let Some(text) = text else { return Ok(None) };
        let text = substitute(text, values, path)?;
        let expr = Expression::parse(&text).map_err(|e| StrategyError {
            path: path.to_string(),
            message: format!("{e} in \"{text}\""),
        })?;
        if expr.kind() != Kind::Condition {
            return err(
                path,
                format!("\"{text}\" is a number, not a condition; compare it, e.g. \"{text} > 0\""),
            );
        }
        Ok(Some(expr))
    };
    let stops = StopRules {
        stop_loss: stop_distance(&s.stop_loss, values, "strategy.stops.stop_loss")?,
        take_profit: stop_distance(&s.take_profit, values, "strategy.stops.take_profit")?,
        trailing_stop: stop_distance(&s.trailing_stop, values, "strategy.stops.trailing_stop")?,
    };
    Ok(Bound {
        long_entry: parse(&s.long.entry, "strategy.long.entry")?,
        long_exit: parse(&s.long.exit, "strategy.long.exit")?,
        short_entry: parse(&s.short.entry, "strategy.short.entry")?,
        short_exit: parse(&s.short.exit, "strategy.short.exit")?,
        sizing: sizing(&s.sizing, values)?,
        stops,
    })
}

/// Three-valued condition per bar: unknown where an operand has no value (warm-up).
const F: u8 = 0;
const T: u8 = 1;
const U: u8 = 2;

impl Bound {
    fn rules(&self) -> impl Iterator<Item = (&'static str, &Expression)> {
        [
            ("strategy.long.entry", &self.long_entry),
            ("strategy.long.exit", &self.long_exit),
            ("strategy.short.entry", &self.short_entry),
            ("strategy.short.exit", &self.short_exit),
        ]
        .into_iter()
        .filter_map(|(p, e)| e.as_ref().map(|e| (p, e)))
    }

    /// The engine plan over `cols`, computing missing indicators into `cache`.
    pub fn plan(
        &self,
        cols: &Columns<'_>,
        cache: &mut IndicatorCache,
    ) -> Result<Plan, StrategyError> {
        cache.prepare(self, cols)?;
        self.plan_cached(cols, cache)
    }

    /// The engine plan over `cols` from an already prepared cache (read-only, so optimiser
    /// threads can share it).
    pub fn plan_cached(
        &self,
        cols: &Columns<'_>,
        cache: &IndicatorCache,
    ) -> Result<Plan, StrategyError> {
        let n = cols.len();
        let ev = Eval {
            cols,
            cache,
            n,
            orders: RefCell::new(Vec::new()),
        };
        let signal = |e: &Option<Expression>, path: &str| -> Result<Vec<bool>, StrategyError> {
            match e {
                None => Ok(Vec::new()),
                Some(e) => ev.signal(e.root(), path),
            }
        };
        // Warm-up: the first bar where every indicator the rules read has all its outputs.
        let mut warmup = 0usize;
        for (_, expr) in self.rules() {
            for call in expr.calls() {
                if let Some(outs) = cache.map.get(&call.key()) {
                    for out in outs.iter() {
                        let first = out.iter().position(|v| !v.is_nan()).unwrap_or(n);
                        warmup = warmup.max(first);
                    }
                }
            }
        }
        for d in [
            self.stops.stop_loss,
            self.stops.take_profit,
            self.stops.trailing_stop,
        ]
        .into_iter()
        .flatten()
        {
            if let crate::backtest::StopDistance::Atr { period, .. } = d {
                warmup = warmup.max(period);
            }
        }
        if let Sizing::VolatilityTarget { lookback, .. } = self.sizing {
            warmup = warmup.max(lookback);
        }
        Ok(Plan {
            signals: Signals {
                enter_long: signal(&self.long_entry, "strategy.long.entry")?,
                exit_long: signal(&self.long_exit, "strategy.long.exit")?,
                enter_short: signal(&self.short_entry, "strategy.short.entry")?,
                exit_short: signal(&self.short_exit, "strategy.short.exit")?,
            },
            sizing: self.sizing,
            stops: self.stops,
            warmup,
        })
    }
}

struct Eval<'a, 'c> {
    cols: &'a Columns<'c>,
    cache: &'a IndicatorCache,
    n: usize,
    /// How two operands compare at each bar ([`order`]), per pair of operands (by their text):
    /// `a crosses_above b` and `a crosses_below b` read the two series once between them.
    orders: RefCell<Vec<(String, Rc<Vec<u8>>)>>,
}

impl<'a> Eval<'a, '_> {
    /// [`order`] of `a` against `b`, computed once per pair of operands.
    fn order(&self, a: &Expr, b: &Expr, path: &str) -> Result<Rc<Vec<u8>>, StrategyError> {
        let key = format!("{a}\u{0}{b}");
        if let Some((_, o)) = self.orders.borrow().iter().find(|(k, _)| *k == key) {
            return Ok(Rc::clone(o));
        }
        let (x, y) = (self.num(a, path)?, self.num(b, path)?);
        let o = Rc::new(order(&x, &y));
        self.orders.borrow_mut().push((key, Rc::clone(&o)));
        Ok(o)
    }

    fn call(&self, c: &Call, path: &str) -> Result<&'a Arc<Vec<Vec<f64>>>, StrategyError> {
        self.cache.map.get(&c.key()).map_or_else(
            || err(path, format!("{} was not computed", c.canonical())),
            Ok,
        )
    }

    /// A numeric operand per bar; columns and indicator outputs are borrowed, not copied.
    fn num(&self, e: &Expr, path: &str) -> Result<Cow<'a, [f64]>, StrategyError> {
        Ok(match e {
            Expr::Number(v) => Cow::Owned(vec![*v; self.n]),
            Expr::Column(c) => Cow::Borrowed(column(self.cols, *c)),
            Expr::Indicator(call) => {
                let outs: &'a Vec<Vec<f64>> = self.call(call, path)?.as_ref();
                match outs.get(call.output) {
                    Some(v) => Cow::Borrowed(v.as_slice()),
                    None => Cow::Owned(vec![f64::NAN; self.n]),
                }
            }
            Expr::Neg(a) => Cow::Owned(self.num(a, path)?.iter().map(|x| -x).collect()),
            Expr::Arith(op, a, b) => {
                let (x, y) = (self.num(a, path)?, self.num(b, path)?);
                let f = |x: f64, y: f64| match op {
                    ArithOp::Add => x + y,
                    ArithOp::Sub => x - y,
                    ArithOp::Mul => x * y,
                    ArithOp::Div => x / y,
                };
                Cow::Owned(x.iter().zip(y.iter()).map(|(&x, &y)| f(x, y)).collect())
            }
            Expr::Compare(..) | Expr::And(..) | Expr::Or(..) | Expr::Not(_) => {
                return err(path, "a condition where a number was expected");
            }
        })
    }

    /// Where condition `e` is true (unknown counts as false). A crossing or a comparison at the
    /// top of a rule is written straight to flags, without the three-valued series.
    fn signal(&self, e: &Expr, path: &str) -> Result<Vec<bool>, StrategyError> {
        Ok(match e {
            Expr::Compare(op @ (CmpOp::CrossesAbove | CmpOp::CrossesBelow), a, b) => {
                crossing_flags(&self.order(a, b, path)?, *op == CmpOp::CrossesAbove)
            }
            Expr::Compare(op, a, b) => {
                let (x, y) = (self.num(a, path)?, self.num(b, path)?);
                compare_flags(*op, &x, &y)
            }
            _ => self.cond(e, path)?.into_iter().map(|v| v == T).collect(),
        })
    }

    fn cond(&self, e: &Expr, path: &str) -> Result<Vec<u8>, StrategyError> {
        Ok(match e {
            Expr::Compare(op @ (CmpOp::CrossesAbove | CmpOp::CrossesBelow), a, b) => {
                crossings(&self.order(a, b, path)?, *op == CmpOp::CrossesAbove)
            }
            Expr::Compare(op, a, b) => {
                let (x, y) = (self.num(a, path)?, self.num(b, path)?);
                compare(*op, &x, &y)
            }
            Expr::And(a, b) => {
                let (x, y) = (self.cond(a, path)?, self.cond(b, path)?);
                x.iter()
                    .zip(&y)
                    .map(|(&p, &q)| {
                        if p == F || q == F {
                            F
                        } else if p == T && q == T {
                            T
                        } else {
                            U
                        }
                    })
                    .collect()
            }
            Expr::Or(a, b) => {
                let (x, y) = (self.cond(a, path)?, self.cond(b, path)?);
                x.iter()
                    .zip(&y)
                    .map(|(&p, &q)| {
                        if p == T || q == T {
                            T
                        } else if p == F && q == F {
                            F
                        } else {
                            U
                        }
                    })
                    .collect()
            }
            Expr::Not(a) => self
                .cond(a, path)?
                .into_iter()
                .map(|p| match p {
                    T => F,
                    F => T,
                    _ => U,
                })
                .collect(),
            Expr::Number(_)
            | Expr::Column(_)
            | Expr::Indicator(_)
            | Expr::Neg(_)
            | Expr::Arith(..) => {
                return err(path, "a number where a condition was expected");
            }
        })
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

/// One comparison over whole columns, as a branch-free loop per operator (this runs once per
/// rule per bar of every backtest, so it is written for the compiler to vectorise).
fn compare(op: CmpOp, x: &[f64], y: &[f64]) -> Vec<u8> {
    #[inline(always)]
    fn each(x: &[f64], y: &[f64], f: impl Fn(f64, f64) -> bool) -> Vec<u8> {
        x.iter()
            .zip(y)
            .map(|(&a, &b)| {
                let t = u8::from(f(a, b));
                if a.is_nan() | b.is_nan() { U } else { t }
            })
            .collect()
    }
    match op {
        CmpOp::Lt => each(x, y, |a, b| a < b),
        CmpOp::Le => each(x, y, |a, b| a <= b),
        CmpOp::Gt => each(x, y, |a, b| a > b),
        CmpOp::Ge => each(x, y, |a, b| a >= b),
        CmpOp::Eq => each(x, y, |a, b| a == b),
        CmpOp::Ne => each(x, y, |a, b| a != b),
        CmpOp::CrossesAbove | CmpOp::CrossesBelow => {
            crossings(&order(x, y), op == CmpOp::CrossesAbove)
        }
    }
}

/// [`compare`]'s `== T`: where the comparison holds and both values are known.
fn compare_flags(op: CmpOp, x: &[f64], y: &[f64]) -> Vec<bool> {
    #[inline(always)]
    fn each(x: &[f64], y: &[f64], f: impl Fn(f64, f64) -> bool) -> Vec<bool> {
        x.iter()
            .zip(y)
            .map(|(&a, &b)| f(a, b) & !(a.is_nan() | b.is_nan()))
            .collect()
    }
    match op {
        CmpOp::Lt => each(x, y, |a, b| a < b),
        CmpOp::Le => each(x, y, |a, b| a <= b),
        CmpOp::Gt => each(x, y, |a, b| a > b),
        CmpOp::Ge => each(x, y, |a, b| a >= b),
        CmpOp::Eq => each(x, y, |a, b| a == b),
        CmpOp::Ne => each(x, y, |a, b| a != b),
        CmpOp::CrossesAbove | CmpOp::CrossesBelow => {
            crossing_flags(&order(x, y), op == CmpOp::CrossesAbove)
        }
    }
}

/// How `x` compares with `y` at each bar: [`BELOW`], [`EQUAL`], [`ABOVE`], or [`MISSING`]
/// where either has no value.
fn order(x: &[f64], y: &[f64]) -> Vec<u8> {
    x.iter()
        .zip(y)
        .map(|(&a, &b)| {
            let o = ABOVE * u8::from(a > b) + EQUAL * u8::from(a == b);
            if a.is_nan() | b.is_nan() { MISSING } else { o }
        })
        .collect()
}

/// Must be 0: [`order`] adds up the other two.
const BELOW: u8 = 0;
const EQUAL: u8 = 1;
const ABOVE: u8 = 2;
const MISSING: u8 = 3;

/// backtesting.py's crossover from an [`order`] series, strict on both bars: below (above) at
/// bar i-1 and above (below) at bar i. Unknown on the first bar and wherever a value is
/// missing.
fn crossings(order: &[u8], above: bool) -> Vec<u8> {
    let n = order.len();
    let mut out = vec![U; n];
    let (from, to) = if above {
        (BELOW, ABOVE)
    } else {
        (ABOVE, BELOW)
    };
    if n > 1 {
        let pairs = order[..n - 1].iter().zip(&order[1..]);
        for (o, (&p, &c)) in out[1..].iter_mut().zip(pairs) {
            let t = u8::from((p == from) & (c == to));
            *o = if (p == MISSING) | (c == MISSING) {
                U
            } else {
                t
            };
        }
    }
    out
}

/// [`crossings`]' `== T`: below (above) at bar i-1 and above (below) at bar i, both known;
/// never on the first bar.
fn crossing_flags(order: &[u8], above: bool) -> Vec<bool> {
    let (from, to) = if above {
        (BELOW, ABOVE)
    } else {
        (ABOVE, BELOW)
    };
    let n = order.len();
    let mut out = Vec::with_capacity(n);
    if n > 0 {
        out.push(false);
        out.extend(
            order[..n - 1]
                .iter()
                .zip(&order[1..])
                .map(|(&p, &c)| (p == from) & (c == to)),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The flag forms a rule's top level uses agree with the three-valued series they replace,
    /// NaNs (warm-up) and ties included.
    #[test]
    fn flags_agree_with_three_valued_series() {
        let mut state = 0x2545_F491_4F6C_DD1D_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let value = |r: u64| match r % 7 {
            0 => f64::NAN,
            1 | 2 => 1.0,
            k => k as f64 * 0.5,
        };
        let x: Vec<f64> = (0..500).map(|_| value(next())).collect();
        let y: Vec<f64> = (0..500).map(|_| value(next())).collect();
        for op in [
            CmpOp::Lt,
            CmpOp::Le,
            CmpOp::Gt,
            CmpOp::Ge,
            CmpOp::Eq,
            CmpOp::Ne,
            CmpOp::CrossesAbove,
            CmpOp::CrossesBelow,
        ] {
            let want: Vec<bool> = compare(op, &x, &y).into_iter().map(|v| v == T).collect();
            assert_eq!(compare_flags(op, &x, &y), want, "{op:?}");
            assert!(want.contains(&true) && want.contains(&false), "{op:?}");
        }
        assert!(crossing_flags(&[], true).is_empty());
        assert_eq!(crossing_flags(&[ABOVE], false), vec![false]);
    }
}
