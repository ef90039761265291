//! Cold start: from launching `quantdesk-mcp` to its `tools/list` answer, the wait a person
//! sees each time Claude Desktop starts the sidecar. Target: under 50 ms in a release build.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::Criterion;

const TARGET: Duration = Duration::from_millis(50);

const HANDSHAKE: &str = concat!(
    r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#,
    "\n",
    r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    "\n",
    r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
    "\n",
);

/// Starts the sidecar, sends the handshake and `tools/list`, and returns when the tool list
/// has arrived.
fn start_to_tools_list(data_dir: &Path) -> Duration {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_quantdesk-mcp"))
        .arg("--data-dir")
        .arg(data_dir)
        .env("QUANTDESK_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start quantdesk-mcp");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(HANDSHAKE.as_bytes())
        .expect("write handshake");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            stdout.read_line(&mut line).expect("read") > 0,
            "sidecar closed stdout"
        );
        if line.contains(r#""id":2"#) {
            assert!(
                line.contains("get_stock_price"),
                "unexpected answer: {line}"
            );
            break;
        }
    }
    let elapsed = started.elapsed();
    drop(stdin);
    let _ = child.wait();
    elapsed
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    // First start creates the store; what Claude Desktop does every time after is open it.
    start_to_tools_list(dir.path());

    let mut criterion = Criterion::default()
        .sample_size(30)
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    criterion.bench_function("sidecar cold start to tools/list", |b| {
        b.iter(|| start_to_tools_list(dir.path()))
    });
    criterion.final_summary();

    let mut runs: Vec<Duration> = (0..21).map(|_| start_to_tools_list(dir.path())).collect();
    runs.sort();
    let median = runs[runs.len() / 2];
    let verdict = if median < TARGET { "MET" } else { "MISSED" };
    println!(
        "cold start to tools/list: median {:.1} ms over {} runs (target < {} ms): {verdict}",
        median.as_secs_f64() * 1e3,
        runs.len(),
        TARGET.as_millis()
    );
}
