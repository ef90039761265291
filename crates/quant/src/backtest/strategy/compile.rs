//! Binding parameter values into a [`Strategy`] and evaluating its rules over the bars, column
//! by column, into an engine [`Plan`].
//!
//! Evaluation is vectorised (one pass per operator over whole columns; conditions as bitsets,
//! 64 bars a word, so `and`/`or`/`not` and crossings are word operations) and every indicator call
//! is computed once per distinct (indicator, input, parameters) in an [`IndicatorCache`], which
//! the optimiser shares across its whole grid. Values at bar i come from bars ≤ i only: the
//! indicators are causal and the only look-back operator, a crossing, reads bar i-1.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::Arc;

use rayon::prelude::*;

use super::rules::parse_rule;
use super::{Strategy, StrategyError, err, sizing, stop_distance};
use crate::backtest::flags::words_for;
use crate::backtest::{Flags, Plan, Signals, Sizing, StopRules};
use crate::indicators::overlap::sma_pair;
use crate::indicators::{Columns, compute};
use crate::ml::series::ModelSeries;
use crate::screen::{ArithOp, Call, CallKey, CmpOp, Column, Expr, Expression};

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
    models: BTreeMap<String, Arc<ModelSeries>>,
}

pub(super) fn bind(s: &Strategy, values: &BTreeMap<String, f64>) -> Result<Bound, StrategyError> {
    let parse = |text: &Option<String>, path: &str| match text {
        None => Ok(None),
        Some(text) => parse_rule(text, values, path).map(Some),
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
        models: s.models.clone(),
    })
}

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

    /// The ids of the models the rules read (`model("id")`).
    pub fn model_ids(&self) -> std::collections::BTreeSet<String> {
        self.rules()
            .flat_map(|(_, e)| e.models())
            .map(str::to_string)
            .collect()
    }

    /// Distinct indicator computations the rules need.
    pub fn distinct_calls(&self) -> usize {
        let mut keys = std::collections::HashSet::new();
        for (_, expr) in self.rules() {
            for call in expr.calls() {
                keys.insert(call.key());
            }
        }
        keys.len()
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
        let mut models = HashMap::new();
        for (path, expr) in self.rules() {
            for id in expr.models() {
                let series = self.models.get(id).ok_or_else(|| StrategyError {
                    path: path.to_string(),
                    message: format!(
                        "model('{id}') has no predictions here: the tool reading this strategy \
                         did not load it"
                    ),
                })?;
                models.insert(id.to_string(), series.aligned(cols.time));
            }
        }
        let ev = Eval {
            cols,
            cache,
            n,
            orders: RefCell::new(Vec::new()),
            models: &models,
        };
        let signal = |e: &Option<Expression>, path: &str| -> Result<Flags, StrategyError> {
            match e {
                None => Ok(Flags::default()),
                Some(e) => Ok(Flags::from_words(ev.side(e.root(), true, path)?, n)),
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
        for v in models.values() {
            warmup = warmup.max(v.iter().position(|v| !v.is_nan()).unwrap_or(n));
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
    /// Per pair of operands (by their text), where the first is above and where below the
    /// second ([`order`]): `a crosses_above b` and `a crosses_below b` read the two series once
    /// between them.
    orders: RefCell<Vec<(String, Rc<Order>)>>,
    /// Each `model("id")`'s predictions at these bars.
    models: &'a HashMap<String, Cow<'a, [f64]>>,
}

impl<'a> Eval<'a, '_> {
    /// [`order`] of `a` against `b`, computed once per pair of operands.
    fn order(&self, a: &Expr, b: &Expr, path: &str) -> Result<Rc<Order>, StrategyError> {
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
            Expr::Model(id) => match self.models.get(id) {
                Some(v) => Cow::Borrowed(v.as_ref()),
                None => return err(path, format!("model('{id}') was not loaded")),
            },
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

    /// Where condition `e` holds `value`: with `true` where it is true (a rule's signal), with
    /// `false` where it is false (what `not e` is true on). Neither where it is unknown (an
    /// operand has no value yet, during warm-up).
    fn side(&self, e: &Expr, value: bool, path: &str) -> Result<Vec<u64>, StrategyError> {
        Ok(match e {
            Expr::Compare(op @ (CmpOp::CrossesAbove | CmpOp::CrossesBelow), a, b) if value => {
                crossing(self.order(a, b, path)?.as_ref(), *op == CmpOp::CrossesAbove)
            }
            Expr::Compare(op, a, b) if value => {
                holds(*op, &self.num(a, path)?, &self.num(b, path)?)
            }
            Expr::Compare(op, a, b) => {
                let (x, y) = (self.num(a, path)?, self.num(b, path)?);
                let mut k = known(&x, &y);
                if matches!(op, CmpOp::CrossesAbove | CmpOp::CrossesBelow) {
                    k = zip_words(&previous(&k), &k, |p, c| p & c);
                }
                zip_words(&k, &self.side(e, true, path)?, |k, t| k & !t)
            }
            Expr::And(a, b) | Expr::Or(a, b) => {
                let (x, y) = (self.side(a, value, path)?, self.side(b, value, path)?);
                // `and` is true where both are and false where either is; `or` the reverse.
                if matches!(e, Expr::And(..)) == value {
                    zip_words(&x, &y, |p, q| p & q)
                } else {
                    zip_words(&x, &y, |p, q| p | q)
                }
            }
            Expr::Not(a) => self.side(a, !value, path)?,
            Expr::Number(_)
            | Expr::Column(_)
            | Expr::Indicator(_)
            | Expr::Model(_)
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

/// `f` of two bitsets (bar i is bit `i % 64` of word `i / 64`), word by word.
fn zip_words(x: &[u64], y: &[u64], f: impl Fn(u64, u64) -> u64) -> Vec<u64> {
    x.iter().zip(y).map(|(&p, &q)| f(p, q)).collect()
}

/// Eight 0/1 bytes (little-endian in `v`) as eight bits: byte k becomes bit k.
#[inline(always)]
fn pack8(v: u64) -> u64 {
    v.wrapping_mul(0x0102_0408_1020_4080) >> 56
}

/// Sixty-four 0/1 bytes as a word: byte k becomes bit k.
#[inline(always)]
fn pack64(bytes: &[u8; 64]) -> u64 {
    let mut w = 0u64;
    for (g, b) in bytes.as_chunks::<8>().0.iter().enumerate() {
        w |= pack8(u64::from_le_bytes(*b)) << (8 * g);
    }
    w
}

/// `N` bitsets over the bars: bar i's bits are `f(x[i], y[i])`. Sixty-four bars at a time are
/// decided into bytes (a loop the compiler vectorises) and packed into one word per bitset.
#[inline(always)]
fn masks<const N: usize>(x: &[f64], y: &[f64], f: impl Fn(f64, f64) -> [bool; N]) -> [Vec<u64>; N] {
    let n = x.len().min(y.len());
    let mut out: [Vec<u64>; N] = std::array::from_fn(|_| Vec::with_capacity(words_for(n)));
    let (x64, x_rest) = x[..n].as_chunks::<64>();
    let (y64, y_rest) = y[..n].as_chunks::<64>();
    for (xc, yc) in x64.iter().zip(y64) {
        let mut bytes = [[0u8; 64]; N];
        for j in 0..64 {
            let r = f(xc[j], yc[j]);
            for c in 0..N {
                bytes[c][j] = u8::from(r[c]);
            }
        }
        for c in 0..N {
            out[c].push(pack64(&bytes[c]));
        }
    }
    if !x_rest.is_empty() {
        let mut words = [0u64; N];
        for (j, (&a, &b)) in x_rest.iter().zip(y_rest).enumerate() {
            let r = f(a, b);
            for c in 0..N {
                words[c] |= u64::from(r[c]) << j;
            }
        }
        for c in 0..N {
            out[c].push(words[c]);
        }
    }
    out
}

/// Where both `x` and `y` have a value.
fn known(x: &[f64], y: &[f64]) -> Vec<u64> {
    let [k] = masks(x, y, |a, b| [!(a.is_nan() | b.is_nan())]);
    k
}

/// Where comparison `op` (not a crossing) holds with both values known. Every comparison but
/// `!=` is false on a NaN by itself.
fn holds(op: CmpOp, x: &[f64], y: &[f64]) -> Vec<u64> {
    let [t] = match op {
        CmpOp::Lt => masks(x, y, |a, b| [a < b]),
        CmpOp::Le => masks(x, y, |a, b| [a <= b]),
        CmpOp::Gt => masks(x, y, |a, b| [a > b]),
        CmpOp::Ge => masks(x, y, |a, b| [a >= b]),
        CmpOp::Eq => masks(x, y, |a, b| [a == b]),
        CmpOp::Ne => masks(x, y, |a, b| [(a != b) & !(a.is_nan() | b.is_nan())]),
        CmpOp::CrossesAbove | CmpOp::CrossesBelow => {
            return crossing(&order(x, y), op == CmpOp::CrossesAbove);
        }
    };
    t
}

/// Where one series is strictly above another, and where strictly below, as bitsets (neither
/// where they are equal or a value is missing).
type Order = [Vec<u64>; 2];

/// The [`Order`] of `x` against `y`.
fn order(x: &[f64], y: &[f64]) -> Order {
    masks(x, y, |a, b| [a > b, a < b])
}

/// The bitset of the bar before: bar i's bit is bar i-1's (bar 0's is clear).
fn previous(v: &[u64]) -> Vec<u64> {
    let mut carry = 0u64;
    v.iter()
        .map(|&w| {
            let out = (w << 1) | carry;
            carry = w >> 63;
            out
        })
        .collect()
}

/// backtesting.py's crossover from an [`order`], strict on both bars: below (above) at bar i-1
/// and above (below) at bar i; never on the first bar.
fn crossing([above, below]: &Order, upwards: bool) -> Vec<u64> {
    let (from, to) = if upwards {
        (below, above)
    } else {
        (above, below)
    };
    zip_words(&previous(from), to, |p, c| p & c)
}

#[cfg(test)]
mod tests;
