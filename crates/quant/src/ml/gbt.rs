//! Gradient-boosted trees through `forust-ml` (a maintained pure-Rust, histogram-based GBM in the
//! XGBoost family): log-loss objective, depth-limited trees with a small learning rate (noisy
//! financial labels reward shallow, slow ensembles), gain importances, serialisable for the
//! store. Fitting is seeded, so the same rows give the same model.

use forust_ml::gradientbooster::ImportanceMethod;
use forust_ml::objective::ObjectiveType;
use forust_ml::{GradientBooster, Matrix};
use rayon::prelude::*;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Error)]
#[error("gradient boosting: {0}")]
pub struct GbtError(pub String);

/// Boosting rounds, learning rate and tree depth.
pub const ROUNDS: usize = 100;
pub const LEARNING_RATE: f32 = 0.1;
pub const DEPTH: usize = 4;

/// A fitted classifier: forust's booster (for importances and storage) and the same trees
/// flattened into arrays for prediction (and, when they fit, as complete heap-ordered trees).
pub struct Gbt {
    booster: GradientBooster,
    forest: Forest,
    heap: Option<Vec<HeapTree>>,
    features: usize,
}

/// Rows a heap block holds (a multiple of [`LANES`]; measured fastest of 32, 64 and 128).
const HEAP_BLOCK: usize = 128;
/// Rows walked in lockstep.
const LANES: usize = 16;
/// Levels of splits a [`HeapTree`] holds.
const HEAP_DEPTH: usize = 4;
const HEAP_INNER: usize = (1 << HEAP_DEPTH) - 1;
/// Features a row of a heap block holds (feature indices are masked to it: no bounds checks).
const HEAP_FEATURES: usize = 64;

/// A tree as a complete binary tree of [`HEAP_DEPTH`] levels in heap order (node `k`'s children
/// at `2k + 1` and `2k + 2`): a shallower leaf is copied into every leaf below it, so each walk
/// is exactly four compares with no branch on the node kind and no child pointers to load. For
/// rows without a missing value only (NaN rows take [`Forest`]).
#[derive(Debug, Clone)]
struct HeapTree {
    feature: [u8; HEAP_INNER + 1],
    threshold: [f64; HEAP_INNER + 1],
    leaf: [f64; HEAP_INNER + 1],
}

impl HeapTree {
    /// `tree` in heap form, if it is no deeper than [`HEAP_DEPTH`], reads only the first
    /// [`HEAP_FEATURES`] features and sends missing values down the left or right child.
    fn of(tree: &forust_ml::tree::Tree) -> Option<HeapTree> {
        let mut h = HeapTree {
            feature: [0; HEAP_INNER + 1],
            threshold: [0.0; HEAP_INNER + 1],
            leaf: [0.0; HEAP_INNER + 1],
        };
        fn fill(
            h: &mut HeapTree,
            t: &forust_ml::tree::Tree,
            pos: usize,
            id: usize,
            depth: usize,
        ) -> bool {
            let Some(n) = t.nodes.get(id) else {
                return false;
            };
            if n.is_leaf {
                leaf(h, pos, depth, n.weight_value as f64);
                return true;
            }
            if depth == HEAP_DEPTH || n.split_feature >= HEAP_FEATURES || n.has_missing_branch() {
                return false;
            }
            h.feature[pos] = n.split_feature as u8;
            h.threshold[pos] = n.split_value;
            fill(h, t, 2 * pos + 1, n.left_child, depth + 1)
                && fill(h, t, 2 * pos + 2, n.right_child, depth + 1)
        }
        fn leaf(h: &mut HeapTree, pos: usize, depth: usize, w: f64) {
            if depth == HEAP_DEPTH {
                h.leaf[pos - HEAP_INNER] = w;
            } else {
                leaf(h, 2 * pos + 1, depth + 1, w);
                leaf(h, 2 * pos + 2, depth + 1, w);
            }
        }
        fill(&mut h, tree, 0, 0, 0).then_some(h)
    }
}

/// Adds every tree's leaf weight for [`LANES`] rows (row-major, [`HEAP_FEATURES`] values each,
/// no NaN) to `out`, tree by tree in the forest's order (so the sums equal [`Forest`]'s bit for
/// bit), the walks in lockstep.
fn score_heap(trees: &[HeapTree], rows: &[[f64; HEAP_FEATURES]; LANES], out: &mut [f64; LANES]) {
    for t in trees {
        // The root is the same node for every row.
        let (f0, t0) = (t.feature[0] as usize & (HEAP_FEATURES - 1), t.threshold[0]);
        let mut k: [usize; LANES] = std::array::from_fn(|r| 1 + usize::from(rows[r][f0] >= t0));
        for _ in 1..HEAP_DEPTH {
            for r in 0..LANES {
                let at = k[r] & HEAP_INNER;
                let v = rows[r][t.feature[at] as usize & (HEAP_FEATURES - 1)];
                k[r] = 2 * k[r] + 1 + usize::from(v >= t.threshold[at]);
            }
        }
        for r in 0..LANES {
            out[r] += t.leaf[(k[r] - HEAP_INNER) & HEAP_INNER];
        }
    }
}

/// Every tree's nodes in flat arrays (children as absolute indices), walked over small row-major
/// blocks of rows in parallel, each block tree by tree, eight rows at a time.
#[derive(Debug, Default)]
struct Forest {
    base: f64,
    roots: Vec<u32>,
    /// Steps from each tree's root to its deepest leaf.
    depths: Vec<u32>,
    feature: Vec<u32>,
    threshold: Vec<f64>,
    left: Vec<u32>,
    right: Vec<u32>,
    missing: Vec<u32>,
    /// Leaf weight (0 for an inner node: a walk always ends on a leaf).
    leaf: Vec<f64>,
}

impl Forest {
    fn of(b: &GradientBooster) -> Forest {
        let mut f = Forest {
            base: b.base_score,
            ..Forest::default()
        };
        let used = b
            .prediction_iteration
            .unwrap_or(b.trees.len())
            .min(b.trees.len());
        for tree in &b.trees[..used] {
            let at = f.feature.len() as u32;
            f.roots.push(at);
            f.depths
                .push(tree.nodes.iter().map(|n| n.depth).max().unwrap_or(0) as u32);
            for (k, n) in tree.nodes.iter().enumerate() {
                let me = at + k as u32;
                if n.is_leaf {
                    // A leaf points to itself, so every walk takes the tree's depth in steps
                    // without a branch on "is this a leaf".
                    f.feature.push(0);
                    f.threshold.push(0.0);
                    f.left.push(me);
                    f.right.push(me);
                    f.missing.push(me);
                    f.leaf.push(n.weight_value as f64);
                } else {
                    f.feature.push(n.split_feature as u32);
                    f.threshold.push(n.split_value);
                    f.left.push(at + n.left_child as u32);
                    f.right.push(at + n.right_child as u32);
                    f.missing.push(at + n.missing_node as u32);
                    f.leaf.push(0.0);
                }
            }
        }
        f
    }

    /// The log-odds of the rows of `block` (row-major, `p` values a row) into `out`: tree by tree,
    /// eight rows walking in lockstep so their independent loads overlap.
    fn score_block(&self, block: &[f64], p: usize, out: &mut [f64]) {
        const LANES: usize = 8;
        out.fill(self.base);
        let n = out.len();
        for (&root, &depth) in self.roots.iter().zip(&self.depths) {
            let mut j = 0;
            while j < n {
                let lanes = LANES.min(n - j);
                let mut k = [root as usize; LANES];
                for _ in 0..depth {
                    for (r, kr) in k.iter_mut().enumerate().take(lanes) {
                        let v = block[(j + r) * p + self.feature[*kr] as usize];
                        // Selects rather than branches: which way a row goes is unpredictable.
                        let next = if v < self.threshold[*kr] {
                            self.left[*kr]
                        } else {
                            self.right[*kr]
                        };
                        *kr = if v.is_nan() { self.missing[*kr] } else { next } as usize;
                    }
                }
                for (r, kr) in k.iter().enumerate().take(lanes) {
                    out[j + r] += self.leaf[*kr];
                }
                j += lanes;
            }
        }
    }
}

impl std::fmt::Debug for Gbt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gbt")
            .field("features", &self.features)
            .finish()
    }
}

/// Row-major rows as forust's column-major buffer.
fn column_major(rows: &[Vec<f64>], p: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(rows.len() * p);
    for j in 0..p {
        out.extend(rows.iter().map(|r| r[j]));
    }
    out
}

fn sigmoid(s: f64) -> f64 {
    1.0 / (1.0 + (-s).exp())
}

impl Gbt {
    /// Fits rows `x` to outcomes `y` in {0, 1} with `threads` threads (None: all cores).
    pub fn fit(x: &[Vec<f64>], y: &[f64], threads: Option<usize>) -> Result<Gbt, GbtError> {
        let p = x.first().map_or(0, Vec::len);
        if x.is_empty() || p == 0 {
            return Err(GbtError("no rows to train on".into()));
        }
        let data = column_major(x, p);
        Self::fit_columns(&data, x.len(), p, y, threads)
    }

    /// [`Gbt::fit`] from a column-major buffer of `rows` × `features`.
    pub fn fit_columns(
        data: &[f64],
        rows: usize,
        features: usize,
        y: &[f64],
        threads: Option<usize>,
    ) -> Result<Gbt, GbtError> {
        let m = Matrix::new(data, rows, features);
        let mut booster = GradientBooster::default()
            .set_objective_type(ObjectiveType::LogLoss)
            .set_iterations(ROUNDS)
            .set_learning_rate(LEARNING_RATE)
            .set_max_depth(DEPTH)
            .set_seed(0)
            .set_num_threads(threads);
        booster
            .fit_unweighted(&m, y, None)
            .map_err(|e| GbtError(e.to_string()))?;
        Ok(Self::from_booster(booster, features))
    }

    fn from_booster(booster: GradientBooster, features: usize) -> Gbt {
        let forest = Forest::of(&booster);
        let used = forest.roots.len();
        let heap = (features <= HEAP_FEATURES)
            .then(|| booster.trees[..used].iter().map(HeapTree::of).collect())
            .flatten();
        Gbt {
            booster,
            forest,
            heap,
            features,
        }
    }

    /// Up-probabilities of rows `x`.
    pub fn predict(&self, x: &[Vec<f64>]) -> Vec<f64> {
        if x.is_empty() {
            return Vec::new();
        }
        let data = column_major(x, self.features);
        self.predict_columns(&data, x.len())
    }

    /// Up-probabilities from a column-major buffer of `rows` rows.
    pub fn predict_columns(&self, data: &[f64], rows: usize) -> Vec<f64> {
        let mut out = vec![0.0; rows];
        if data.len() < rows * self.features {
            out.fill(f64::NAN);
            return out;
        }
        if let Some(trees) = &self.heap {
            // Each thread reuses one block buffer.
            out.par_chunks_mut(HEAP_BLOCK).enumerate().for_each_init(
                || vec![[0.0f64; HEAP_FEATURES]; HEAP_BLOCK],
                |block, (c, chunk)| {
                    self.score_heap_block(trees, data, rows, c * HEAP_BLOCK, chunk, block)
                },
            );
            return out;
        }
        // Blocks small enough that their rows, made row-major, stay in L1 while every tree
        // walks them.
        const BLOCK: usize = 64;
        out.par_chunks_mut(BLOCK)
            .enumerate()
            .for_each(|(c, chunk)| {
                self.score_flat(data, rows, c * BLOCK, chunk);
                for v in chunk.iter_mut() {
                    *v = sigmoid(*v);
                }
            });
        out
    }

    /// The log-odds of rows `first..first + chunk.len()` of the column-major `data` through the
    /// flat [`Forest`] (any tree shape, missing values included).
    fn score_flat(&self, data: &[f64], rows: usize, first: usize, chunk: &mut [f64]) {
        let p = self.features;
        let mut block = vec![0.0; chunk.len() * p];
        for f in 0..p {
            let col = &data[f * rows + first..f * rows + first + chunk.len()];
            for (j, v) in col.iter().enumerate() {
                block[j * p + f] = *v;
            }
        }
        self.forest.score_block(&block, p, chunk);
    }

    /// Probabilities of rows `first..first + chunk.len()` of the column-major `data` through the
    /// heap trees; a block holding a missing value goes through [`Forest`] instead.
    fn score_heap_block(
        &self,
        trees: &[HeapTree],
        data: &[f64],
        rows: usize,
        first: usize,
        chunk: &mut [f64],
        block: &mut [[f64; HEAP_FEATURES]],
    ) {
        let (n, p) = (chunk.len(), self.features);
        let block = &mut block[..n.div_ceil(LANES) * LANES];
        let mut missing = false;
        for f in 0..p {
            let col = &data[f * rows + first..f * rows + first + n];
            for (row, v) in block.iter_mut().zip(col) {
                row[f] = *v;
                missing |= v.is_nan();
            }
        }
        if missing {
            self.score_flat(data, rows, first, chunk);
        } else {
            for (g, out) in block.chunks_exact(LANES).zip(chunk.chunks_mut(LANES)) {
                let Ok(rows) = <&[[f64; HEAP_FEATURES]; LANES]>::try_from(g) else {
                    continue;
                };
                let mut sum = [self.forest.base; LANES];
                score_heap(trees, rows, &mut sum);
                out.copy_from_slice(&sum[..out.len()]);
            }
        }
        for v in chunk.iter_mut() {
            *v = sigmoid(*v);
        }
    }

    /// Total-gain importance per feature, summing to 1 (0 for features no tree uses).
    pub fn importances(&self) -> Vec<f64> {
        let map = self
            .booster
            .calculate_feature_importance(ImportanceMethod::TotalGain, true);
        (0..self.features)
            .map(|j| map.get(&j).copied().unwrap_or(0.0) as f64)
            .collect()
    }

    /// Trees and nodes in the model.
    pub fn size(&self) -> (usize, usize) {
        (self.forest.roots.len(), self.forest.leaf.len())
    }

    /// The model as JSON, for the store.
    pub fn to_json(&self) -> Result<String, GbtError> {
        let booster = self
            .booster
            .json_dump()
            .map_err(|e| GbtError(e.to_string()))?;
        Ok(serde_json::json!({"features": self.features, "booster": booster}).to_string())
    }

    pub fn from_json(text: &str) -> Result<Gbt, GbtError> {
        let bad = |e: String| GbtError(format!("a stored model does not read back: {e}"));
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        let features = v["features"]
            .as_u64()
            .ok_or_else(|| bad("no features".into()))? as usize;
        let booster = v["booster"]
            .as_str()
            .ok_or_else(|| bad("no booster".into()))?;
        let booster = GradientBooster::from_json(booster).map_err(|e| bad(e.to_string()))?;
        Ok(Self::from_booster(booster, features))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::optimize::SplitMix64;

    #[test]
    fn it_learns_a_nonlinear_rule_and_says_which_feature_mattered() {
        let mut rng = SplitMix64(5);
        let mut u = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let x: Vec<Vec<f64>> = (0..3_000).map(|_| vec![u(), u(), u()]).collect();
        // Up inside a band of x1: no straight line separates it.
        let y: Vec<f64> = x
            .iter()
            .map(|r| f64::from((0.3..0.7).contains(&r[1])))
            .collect();
        let m = Gbt::fit(&x[..2_000], &y[..2_000], Some(2)).unwrap();
        let p = m.predict(&x[2_000..]);
        let hits = p
            .iter()
            .zip(&y[2_000..])
            .filter(|(p, y)| (**p > 0.5) == (**y > 0.5))
            .count();
        assert!(hits > 900, "{hits} of 1000");
        let imp = m.importances();
        assert!(imp[1] > imp[0] && imp[1] > imp[2], "{imp:?}");
        // The flat trees give forust's own predictions.
        let cols: Vec<f64> = (0..3)
            .flat_map(|j| x[2_000..].iter().map(move |r| r[j]))
            .collect();
        let theirs = m.booster.predict(&Matrix::new(&cols, 1_000, 3), false);
        for (a, b) in p.iter().zip(&theirs) {
            assert!((a - sigmoid(*b)).abs() < 1e-12);
        }
        assert!(
            m.heap.is_some(),
            "depth-4 trees over 3 features take the heap path"
        );
        // A block with a missing value goes the generic way, and still agrees with forust.
        let mut holes: Vec<Vec<f64>> = x[2_000..].to_vec();
        for r in holes.iter_mut().step_by(97) {
            r[1] = f64::NAN;
        }
        let cols: Vec<f64> = (0..3)
            .flat_map(|j| holes.iter().map(move |r| r[j]))
            .collect();
        let theirs = m.booster.predict(&Matrix::new(&cols, 1_000, 3), false);
        for (a, b) in m.predict(&holes).iter().zip(&theirs) {
            assert!((a - sigmoid(*b)).abs() < 1e-12);
        }
        let back = Gbt::from_json(&m.to_json().unwrap()).unwrap();
        assert_eq!(back.predict(&x[2_000..2_010]), m.predict(&x[2_000..2_010]));
    }
}
