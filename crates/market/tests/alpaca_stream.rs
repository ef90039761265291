//! Alpaca's market data stream through apca against the stand-in's websocket: quotes and trades
//! of the subscribed symbols arrive as stream events with exact decimals (a quote's price is the
//! last trade once there is one); a second stream on the same key is refused with Alpaca's
//! "connection limit exceeded", reported as the disconnection's reason.
#![allow(unused_crate_dependencies)] // a test uses some of its package's dependencies

use std::time::Duration;

use quantdesk_alpaca_standin::StandIn;
use quantdesk_market::AlpacaFeed;
use quantdesk_market::stream::StreamEvent;
use quantdesk_market::stream::alpaca::{AlpacaStream, AlpacaStreamConfig};
use rust_decimal_macros::dec;

fn config(standin: &StandIn) -> AlpacaStreamConfig {
    AlpacaStreamConfig {
        data_url: standin.base_url(),
        stream_url: standin.stream_url().to_string(),
        key_id: StandIn::KEY_ID.into(),
        secret: StandIn::SECRET.into(),
        feed: AlpacaFeed::Iex,
        backoff_min: Duration::from_millis(10),
        backoff_max: Duration::from_millis(200),
    }
}

async fn next(s: &mut AlpacaStream) -> StreamEvent {
    tokio::time::timeout(Duration::from_secs(10), s.next())
        .await
        .expect("an event within 10 s")
        .expect("the stream runs")
}

#[tokio::test]
async fn quotes_and_trades_stream_and_a_second_connection_is_refused() {
    let standin = StandIn::start().await;
    let mut stream = AlpacaStream::start(config(&standin), ["AAPL".to_string()]);
    assert_eq!(
        next(&mut stream).await,
        StreamEvent::Connected { reconnects: 0 }
    );

    standin.stream_quote("MSFT", "400.00", "400.02", "2026-12-07T15:00:00Z");
    standin.stream_quote("AAPL", "189.10", "189.12", "2026-12-07T15:00:01Z");
    let StreamEvent::Quote(q) = next(&mut stream).await else {
        panic!("a quote")
    };
    assert_eq!(
        (q.product.as_str(), q.bid, q.ask),
        ("AAPL", dec!(189.10), dec!(189.12))
    );
    assert_eq!(q.price, dec!(189.11), "the mid before any trade");
    standin.stream_trade("AAPL", 7, "189.115", 100, "2026-12-07T15:00:02Z");
    let StreamEvent::Trade(t) = next(&mut stream).await else {
        panic!("a trade")
    };
    assert_eq!((t.trade_id, t.price, t.size), (7, dec!(189.115), dec!(100)));
    standin.stream_quote("AAPL", "189.11", "189.13", "2026-12-07T15:00:03Z");
    let StreamEvent::Quote(q) = next(&mut stream).await else {
        panic!("a quote")
    };
    assert_eq!(q.price, dec!(189.115), "the last trade");

    let mut second = AlpacaStream::start(config(&standin), ["AAPL".to_string()]);
    let StreamEvent::Disconnected { reason, retry_in } = next(&mut second).await else {
        panic!("refused")
    };
    assert!(reason.contains("connection limit exceeded"), "{reason}");
    assert_eq!(
        retry_in,
        Duration::from_millis(200),
        "the longest wait: retrying soon won't help"
    );
    assert_eq!(standin.stream_refused(), 1);
}
