//! Adaptive parameter search over the optimiser's grid: Bayesian optimisation by a
//! tree-structured Parzen estimator (Bergstra, Bardenet, Bengio & Kégl 2011; multivariate, as
//! Optuna's) and CMA-ES with increasing-population restarts (Hansen 2016; Auger & Hansen 2005).
//!
//! Each method proposes a batch of grid points from the runs so far; the batch runs in parallel on
//! the search's shared indicator cache; the search stops after `samples` distinct runs. A point is
//! run at most once (a repeated proposal is answered from memory and not counted) and a point the
//! constraint excludes is never run. Batches have a fixed size whatever the core count, so a seed
//! gives the same search on any machine. When the grid has no more points than the budget, every
//! point is run: an adaptive method never does worse than the grid it searches.

mod cmaes;
mod tpe;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::MarketContext;
use super::optimize::{
    MAX_COMBINATIONS, OptimizeError, Optimum, Request, Row, Search, Space, SplitMix64, Tally,
    evaluate, finish,
};
use super::overfit::pbo_blocks;
use super::strategy::IndicatorCache;
use crate::indicators::Columns;

/// Points proposed per round (fixed, so results do not depend on the core count).
const BATCH: usize = 8;
/// Points per round taken from the neighbourhood of the best runs (see [`Polish`]).
const POLISH: usize = 2;
/// Rounds in a row without a new point before the search gives up early.
const MAX_IDLE_ROUNDS: usize = 200;

/// Every point proposed so far with its value (None: undefined, or excluded by the constraint),
/// in the order they were first proposed.
#[derive(Debug, Default)]
pub(crate) struct History {
    points: Vec<(Vec<usize>, Option<f64>)>,
    seen: HashMap<Vec<usize>, Option<f64>>,
}

impl History {
    pub(crate) fn points(&self) -> &[(Vec<usize>, Option<f64>)] {
        &self.points
    }

    pub(crate) fn contains(&self, idx: &[usize]) -> bool {
        self.seen.contains_key(idx)
    }

    fn value(&self, idx: &[usize]) -> Option<f64> {
        self.seen.get(idx).copied().flatten()
    }

    fn insert(&mut self, idx: Vec<usize>, value: Option<f64>) {
        if self.seen.insert(idx.clone(), value).is_none() {
            self.points.push((idx, value));
        }
    }
}

/// A method that proposes grid points and learns from their values.
pub(crate) trait Proposer {
    /// Points to run next (at most `n` unless the method asks for a whole population); the
    /// driver skips points already run.
    fn ask(&mut self, history: &History, n: usize, rng: &mut SplitMix64) -> Vec<Vec<usize>>;
    /// The values of the points the last `ask` returned, in its order.
    fn tell(&mut self, values: &[Option<f64>]);
}

/// Standard normal draw (Box–Muller).
pub(crate) fn normal(rng: &mut SplitMix64) -> f64 {
    let u1 = unit(rng).max(f64::MIN_POSITIVE);
    let u2 = unit(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Uniform in [0, 1).
pub(crate) fn unit(rng: &mut SplitMix64) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A uniformly drawn grid point.
pub(crate) fn random_point(lens: &[usize], rng: &mut SplitMix64) -> Vec<usize> {
    lens.iter().map(|&n| rng.below(n)).collect()
}

/// Grid index nearest to `u` in [0, 1] on an axis of `n` values.
pub(crate) fn to_index(u: f64, n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    let x = (u.clamp(0.0, 1.0) * (n - 1) as f64).round();
    (x as usize).min(n - 1)
}

/// Where grid index `i` sits in [0, 1] on an axis of `n` values.
pub(crate) fn to_unit(i: usize, n: usize) -> f64 {
    if n <= 1 {
        0.5
    } else {
        i as f64 / (n - 1) as f64
    }
}

/// Runs a Bayesian or CMA-ES search (`req.search`) over `cols`, calling `progress(done)` as runs
/// finish and stopping with [`OptimizeError::Cancelled`] soon after `cancel` is set.
pub fn optimize_adaptive(
    cols: &Columns<'_>,
    ctx: &MarketContext<'_>,
    req: &Request<'_>,
    progress: &(dyn Fn(usize) + Sync),
    cancel: &AtomicBool,
) -> Result<Optimum, OptimizeError> {
    let space = req.space()?;
    let lens = space.lens();
    let (budget, seed, mut proposer): (usize, u64, Box<dyn Proposer>) = match req.search {
        Search::Bayesian { samples, seed } => (samples, seed, Box::new(tpe::Tpe::new(&lens))),
        Search::Cmaes { samples, seed } => (samples, seed, Box::new(cmaes::Cmaes::new(&lens))),
        Search::Grid | Search::Random { .. } => {
            return Err(OptimizeError::Empty(
                "grid and random search run over a fixed list of combinations".into(),
            ));
        }
    };
    if budget == 0 {
        return Err(OptimizeError::Empty("'samples' must be at least 1".into()));
    }
    let budget = budget.min(MAX_COMBINATIONS);
    let done = AtomicUsize::new(0);
    let tally = Tally {
        done: &done,
        progress,
        cancel,
    };
    let mut run = Runner {
        cols,
        ctx,
        req,
        space: &space,
        cache: IndicatorCache::new(),
        blocks: pbo_blocks(budget),
        rows: Vec::new(),
        history: History::default(),
    };
    let mut rng = SplitMix64(seed);
    if space.size() <= budget {
        // The whole grid fits the budget: run every point.
        let all: Vec<Vec<usize>> = (0..space.size()).map(|k| space.index_of(k)).collect();
        for chunk in all.chunks(256) {
            run.round(chunk, budget, &tally)?;
        }
    } else {
        let mut idle = 0;
        let mut polish = Polish::new(&lens);
        while run.rows.len() < budget && idle < MAX_IDLE_ROUNDS {
            // The last third of the budget refines the best regions found; before that, a
            // quarter of each round does (after a first tenth explores freely).
            let ran = run.rows.len();
            let share = if ran * 3 >= budget * 2 {
                BATCH
            } else if ran * 10 >= budget {
                POLISH
            } else {
                0
            };
            let near = polish.next(&run.history, share);
            let mut fresh = run.round(&near, budget, &tally)?;
            if near.len() < BATCH {
                let asked = proposer.ask(&run.history, BATCH - near.len(), &mut rng);
                fresh += run.round(&asked, budget, &tally)?;
                let values: Vec<Option<f64>> = asked.iter().map(|p| run.history.value(p)).collect();
                proposer.tell(&values);
            }
            idle = if fresh == 0 { idle + 1 } else { 0 };
            if run.history.points.len() >= space.size() {
                break;
            }
        }
    }
    if run.rows.is_empty() {
        return Err(OptimizeError::Empty(
            "no combination satisfies the constraint".into(),
        ));
    }
    progress(run.rows.len());
    let computations = run.cache.len();
    Ok(finish(req, run.rows, computations))
}

/// Local refinement beside either method: best-first expansion on the grid. Each round takes
/// the best run that still has unseen neighbours (every point one step away on any set of axes;
/// for more than five parameters, one axis at a time) and runs those, so the best region found
/// is searched around its best points first, then the next. The method finds the promising
/// regions; this makes sure their best points are not left one grid step from a better one,
/// which on a backtest's rugged surface is where a method alone most often stops short.
struct Polish {
    lens: Vec<usize>,
    offsets: Vec<Vec<isize>>,
    /// Runs whose neighbours have all run.
    done: std::collections::HashSet<Vec<usize>>,
}

impl Polish {
    fn new(lens: &[usize]) -> Self {
        let d = lens.len();
        let mut offsets: Vec<Vec<isize>> = Vec::new();
        if d <= 5 {
            let count = 3usize.pow(d as u32);
            for k in 0..count {
                let mut rest = k;
                let o: Vec<isize> = (0..d)
                    .map(|_| {
                        let v = (rest % 3) as isize - 1;
                        rest /= 3;
                        v
                    })
                    .collect();
                if o.iter().any(|&v| v != 0) {
                    offsets.push(o);
                }
            }
            // Nearest first: axis steps before diagonals.
            offsets.sort_by_key(|o| o.iter().filter(|&&v| v != 0).count());
        } else {
            for i in 0..d {
                for step in [-1, 1] {
                    let mut o = vec![0; d];
                    o[i] = step;
                    offsets.push(o);
                }
            }
        }
        Polish {
            lens: lens.to_vec(),
            offsets,
            done: Default::default(),
        }
    }

    fn neighbours<'a>(&'a self, p: &'a [usize]) -> impl Iterator<Item = Vec<usize>> + 'a {
        self.offsets.iter().filter_map(move |o| {
            p.iter()
                .zip(o)
                .zip(&self.lens)
                .map(|((&i, &d), &len)| {
                    let j = i as isize + d;
                    (j >= 0 && (j as usize) < len).then_some(j as usize)
                })
                .collect()
        })
    }

    /// Up to `n` unseen neighbours of the best runs, best run first.
    fn next(&mut self, history: &History, n: usize) -> Vec<Vec<usize>> {
        let mut out: Vec<Vec<usize>> = Vec::new();
        if n == 0 {
            return out;
        }
        let mut ranked: Vec<(&Vec<usize>, f64)> = history
            .points()
            .iter()
            .filter_map(|(p, v)| v.map(|v| (p, v)))
            .collect();
        // Stable: among equal values the earlier run comes first.
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        for (p, _) in ranked {
            if self.done.contains(p) {
                continue;
            }
            let mut any = false;
            for q in self.neighbours(p) {
                if history.contains(&q) || out.contains(&q) {
                    continue;
                }
                any = true;
                out.push(q);
                if out.len() == n {
                    return out;
                }
            }
            if !any {
                self.done.insert(p.clone());
            }
        }
        out
    }
}

/// The search's state between rounds: what ran, what it cost, what the proposers know.
struct Runner<'a, 'c> {
    cols: &'a Columns<'c>,
    ctx: &'a MarketContext<'c>,
    req: &'a Request<'a>,
    space: &'a Space,
    cache: IndicatorCache,
    blocks: usize,
    rows: Vec<Row>,
    history: History,
}

impl Runner<'_, '_> {
    /// Runs the points of `asked` not seen before that the constraint allows, within `budget`;
    /// answers how many ran.
    fn round(
        &mut self,
        asked: &[Vec<usize>],
        budget: usize,
        tally: &Tally<'_>,
    ) -> Result<usize, OptimizeError> {
        let mut fresh: Vec<Vec<usize>> = Vec::new();
        for p in asked {
            if self.history.contains(p) || fresh.contains(p) {
                continue;
            }
            let allowed = match &self.req.constraint {
                Some(c) => c.holds(&self.space.point(p))?,
                None => true,
            };
            if !allowed {
                self.history.insert(p.clone(), None);
            } else if self.rows.len() + fresh.len() < budget {
                fresh.push(p.clone());
            }
        }
        if fresh.is_empty() {
            return Ok(0);
        }
        if tally.cancel.load(Ordering::Relaxed) {
            return Err(OptimizeError::Cancelled);
        }
        let combos: Vec<BTreeMap<String, f64>> =
            fresh.iter().map(|p| self.space.point(p)).collect();
        let rows = evaluate(
            self.cols,
            self.ctx,
            self.req,
            &combos,
            &mut self.cache,
            self.blocks,
            tally,
        )?;
        for (p, row) in fresh.into_iter().zip(&rows) {
            self.history.insert(p, row.value);
        }
        let n = rows.len();
        self.rows.extend(rows);
        (tally.progress)(self.rows.len());
        Ok(n)
    }
}
