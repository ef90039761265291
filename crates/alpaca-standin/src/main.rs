//! Runs the stand-in Alpaca server for cross-process tests: prints its base URL on the first
//! line of stdout, serves until stdin closes, then stops. Test use only.

use std::io::Read;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let standin = quantdesk_alpaca_standin::StandIn::start().await;
    println!("{}", standin.base_url());
    // The test holds our stdin; when it closes it (or dies), we stop.
    let _ = tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new())).await;
    drop(standin);
}
