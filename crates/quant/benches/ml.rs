//! ML speed: gradient-boosted trees trained on 100,000 rows × 40 features (target ≤ 3 s on 2
//! cores) and predicting 1,000,000 rows (target ≤ 200 ms), on seeded synthetic rows with a
//! learnable signal in a few features; `cargo xtask bench` prints both against their targets.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use quantdesk_quant::backtest::optimize::SplitMix64;
use quantdesk_quant::ml::gbt::Gbt;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const FEATURES: usize = 40;

/// Column-major rows and their labels.
fn rows(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut rng = SplitMix64(seed);
    let mut u = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
    let mut data = vec![0.0; n * FEATURES];
    for v in data.iter_mut() {
        *v = u();
    }
    let y = (0..n)
        .map(|i| {
            let s = data[i] - 0.5 * data[n + i] + 0.3 * data[2 * n + i] * data[3 * n + i];
            f64::from(s + 0.3 * u() > 0.0)
        })
        .collect();
    (data, y)
}

fn benches(c: &mut Criterion) {
    let (train, y) = rows(100_000, 1);
    let (big, _) = rows(1_000_000, 2);
    let model = Gbt::fit_columns(&train, 100_000, FEATURES, &y, Some(2)).expect("fit");
    let mut g = c.benchmark_group("ml");
    g.sample_size(10);
    g.bench_function("train_100k_x_40", |b| {
        b.iter(|| black_box(Gbt::fit_columns(&train, 100_000, FEATURES, &y, Some(2)).expect("fit")))
    });
    g.bench_function("predict_1m", |b| {
        b.iter(|| black_box(model.predict_columns(&big, 1_000_000).len()))
    });
    g.finish();
}

criterion_group!(ml, benches);
criterion_main!(ml);
