//! Runs the stand-in Alpaca server for cross-process tests: prints its base URL on the first
//! line of stdout and its market data stream's on the second, serves until stdin closes, then stops. Its request log is at
//! `GET /_standin/requests`. Test use only.
#![allow(unused_crate_dependencies)] // the package's library uses the rest

use std::io::Read;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // Orders for GOOG fill at the last price of the GOOG snapshot fixture.
    let standin = match quantdesk_alpaca_standin::StandIn::builder()
        .price("GOOG", rust_decimal::Decimal::new(80619, 2))
        .start()
        .await
    {
        Ok(standin) => standin,
        Err(err) => panic!("alpaca stand-in failed to start: {err}"),
    };
    // The base URL, then the market data stream's (`ws://…`; hooks at /_standin/stream).
    println!("{}", standin.base_url());
    println!("{}", standin.stream_url());
    // The test holds our stdin; when it closes it (or dies), we stop.
    let _ = tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new())).await;
    drop(standin);
}
