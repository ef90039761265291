//! Indicator speed on 1,000,000 bars — the series Claude may ask for many of at once. The same
//! series is written to `target/bench-data/ohlcv_1m.f64` so `cargo xtask bench` can time TA-Lib's
//! C code on exactly these numbers and print the ratio.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use quantdesk_quant::indicators::{OwnedColumns, compute};

/// The allocator the sidecar (`quantdesk-mcp`) runs with, so this measures what it runs: with
/// glibc's malloc the multi-megabyte output columns go back to the OS on every free and are
/// faulted in again on the next call (see ARCHITECTURE.md, "Allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BARS: usize = 1_000_000;

/// The indicators compared with TA-Lib and their parameters, spelled out: `talib_reference.py`
/// calls TA-Lib with exactly these (Bollinger Bands over 20 bars, the sidecar's default, not
/// TA-Lib's 5), so both sides compute the same thing.
pub const COMPARED: [(&str, &[(&str, f64)]); 5] = [
    ("ema", &[("period", 30.0)]),
    ("rsi", &[("period", 14.0)]),
    (
        "macd",
        &[
            ("fast_period", 12.0),
            ("slow_period", 26.0),
            ("signal_period", 9.0),
        ],
    ),
    (
        "bbands",
        &[("period", 20.0), ("nbdev_up", 2.0), ("nbdev_dn", 2.0)],
    ),
    ("atr", &[("period", 14.0)]),
];

/// A seeded random walk with realistic bars (xorshift; no dependency, same numbers everywhere).
fn series() -> OwnedColumns {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut cols = OwnedColumns::default();
    let mut price = 100.0;
    for i in 0..BARS {
        let open = price;
        let close = (open * (1.0 + (next() - 0.5) * 0.04)).max(0.01);
        let high = open.max(close) * (1.0 + next() * 0.01);
        let low = open.min(close) * (1.0 - next() * 0.01);
        let volume = 1_000.0 + next() * 1_000_000.0;
        cols.push(quantdesk_quant::indicators::Candle {
            time: i as i64 * 86_400,
            open,
            high,
            low,
            close,
            volume,
        });
        price = close;
    }
    cols
}

/// Writes open, high, low, close, volume as five little-endian f64 columns.
fn write_series(cols: &OwnedColumns) {
    // Where `cargo xtask bench` looks: the target dir (CARGO_TARGET_DIR, relative to the root).
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map(|d| root.join(d))
        .unwrap_or_else(|| root.join("target"));
    let dir = target.join("bench-data");
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let mut bytes = Vec::with_capacity(BARS * 5 * 8);
    for col in [&cols.open, &cols.high, &cols.low, &cols.close, &cols.volume] {
        for v in col.iter() {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    let _ = std::fs::write(dir.join("ohlcv_1m.f64"), bytes);
}

fn bench(c: &mut Criterion) {
    let cols = series();
    write_series(&cols);
    let view = cols.view();
    let mut group = c.benchmark_group("indicators_1m");
    group.sample_size(20);
    for (name, params) in COMPARED {
        let params: BTreeMap<String, f64> =
            params.iter().map(|&(k, v)| (k.to_string(), v)).collect();
        // A rejected parameter would time an error path: check once, outside the timing.
        if let Err(e) = compute(name, &params, &view) {
            panic!("{name}: {e}");
        }
        group.bench_function(name, |b| {
            b.iter(|| black_box(compute(name, &params, &view).map(|o| o.len())))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
