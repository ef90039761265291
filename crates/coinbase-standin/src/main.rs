//! Runs the stand-in Coinbase Exchange server for cross-process tests: prints its base URL on
//! the first line of stdout, serves the standard ground truth until stdin closes, then stops.
//! Test use only.
#![allow(unused_crate_dependencies)] // the package's library uses the rest

use std::io::Read;

use quantdesk_coinbase_standin::{GroundTruth, StandIn};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let standin = match StandIn::start(GroundTruth::standard()).await {
        Ok(standin) => standin,
        Err(err) => panic!("coinbase stand-in failed to start: {err}"),
    };
    println!("{}", standin.base_url());
    // The test holds our stdin; when it closes it (or dies), we stop.
    let _ = tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new())).await;
    drop(standin);
}
