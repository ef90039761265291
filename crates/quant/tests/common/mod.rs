//! Fixture loading shared by this crate's integration tests: the GOOG daily bars every backtest
//! test runs on, read from the independent copy in `tests/fixtures/`.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::path::PathBuf;

use quantdesk_quant::indicators::OwnedColumns;

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

/// Midnight UTC of `date` (the first ten characters, `YYYY-MM-DD`), in Unix seconds.
pub fn days(date: &str) -> i64 {
    let d = chrono::NaiveDate::parse_from_str(&date[..10], "%Y-%m-%d").expect("date");
    d.and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .timestamp()
}

/// GOOG.csv as columns.
pub fn goog() -> OwnedColumns {
    let text = std::fs::read_to_string(fixtures().join("GOOG.csv")).expect("GOOG.csv");
    let mut cols = OwnedColumns::default();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        cols.time.push(days(f[0]));
        cols.open.push(f[1].parse().unwrap());
        cols.high.push(f[2].parse().unwrap());
        cols.low.push(f[3].parse().unwrap());
        cols.close.push(f[4].parse().unwrap());
        cols.volume.push(f[5].parse().unwrap());
    }
    cols
}
