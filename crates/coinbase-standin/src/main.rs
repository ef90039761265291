//! Runs the stand-in Coinbase Exchange server for cross-process tests: prints its REST base URL
//! on the first line of stdout and its websocket URL on the second, serves the standard ground
//! truth (the feed replays it one trade every 250 ms, or `--tick-ms N`) until stdin closes, then
//! stops. Test use only.
#![allow(unused_crate_dependencies)] // the package's library uses the rest

use std::io::Read;

use std::time::Duration;

use quantdesk_coinbase_standin::{FeedConfig, GroundTruth, StandIn};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let tick_ms = args
        .iter()
        .position(|a| a == "--tick-ms")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(250);
    let feed = FeedConfig {
        tick: Duration::from_millis(tick_ms),
        ..FeedConfig::default()
    };
    let standin = match StandIn::start_with_feed(GroundTruth::standard(), feed).await {
        Ok(standin) => standin,
        Err(err) => panic!("coinbase stand-in failed to start: {err}"),
    };
    println!("{}", standin.base_url());
    println!("{}", standin.ws_url());
    // The test holds our stdin; when it closes it (or dies), we stop.
    let _ = tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new())).await;
    drop(standin);
}
