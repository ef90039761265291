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
    for refusal in 1..=4 {
        let StreamEvent::Disconnected { reason, retry_in } = next(&mut second).await else {
            panic!("refused")
        };
        assert!(reason.contains("connection limit exceeded"), "{reason}");
        if refusal <= 3 {
            // A handover's new owner may be refused while the old connection closes.
            assert!(
                retry_in < Duration::from_millis(200),
                "{refusal}: {retry_in:?}"
            );
        } else {
            assert_eq!(
                retry_in,
                Duration::from_millis(200),
                "then the longest wait: retrying soon won't help"
            );
        }
    }
    assert_eq!(standin.stream_refused(), 4);
}

#[tokio::test]
async fn symbols_come_and_go_on_one_connection_and_none_means_no_connection() {
    let standin = StandIn::start().await;
    let mut stream = AlpacaStream::start(config(&standin), Vec::<String>::new());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        standin.stream_connections(),
        0,
        "nothing to stream, no connection"
    );

    stream.subscribe(vec!["AAPL".into()]);
    assert_eq!(
        next(&mut stream).await,
        StreamEvent::Connected { reconnects: 0 }
    );
    stream.subscribe(vec!["MSFT".into()]);
    // The subscription change is confirmed before MSFT's quotes come; AAPL's keep coming
    // meanwhile and none is lost.
    let mut seen = Vec::new();
    for i in 0..50u64 {
        standin.stream_trade("AAPL", 100 + i, "189.00", 1, "2026-12-07T15:00:00Z");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    standin.stream_quote("MSFT", "400.00", "400.02", "2026-12-07T15:00:01Z");
    while seen.len() < 51 {
        match next(&mut stream).await {
            StreamEvent::Trade(t) => seen.push(t.trade_id),
            StreamEvent::Quote(q) => {
                assert_eq!(q.product, "MSFT");
                seen.push(0);
            }
            other => panic!("{other:?}"),
        }
    }
    let trades: Vec<u64> = seen.iter().copied().filter(|id| *id != 0).collect();
    assert_eq!(
        trades,
        (100..150).collect::<Vec<_>>(),
        "every AAPL trade, in order"
    );

    stream.unsubscribe(vec!["AAPL".into()]);
    tokio::time::sleep(Duration::from_millis(200)).await;
    standin.stream_trade("AAPL", 999, "189.00", 1, "2026-12-07T15:00:02Z");
    standin.stream_quote("MSFT", "400.01", "400.03", "2026-12-07T15:00:03Z");
    let StreamEvent::Quote(q) = next(&mut stream).await else {
        panic!("MSFT's quote, not AAPL's trade")
    };
    assert_eq!((q.product.as_str(), q.bid), ("MSFT", dec!(400.01)));
    assert_eq!(standin.stream_connections(), 1, "all on one connection");
}

#[tokio::test]
async fn sip_is_used_when_the_plan_has_it_and_refused_plainly_when_not() {
    use quantdesk_market::{AlpacaConfig, AlpacaProvider};
    for plan_has_sip in [false, true] {
        let standin = StandIn::builder().sip(plan_has_sip).start().await.unwrap();
        let mut rest = AlpacaConfig::new(StandIn::KEY_ID, StandIn::SECRET);
        rest.data_url = standin.base_url();
        let provider = AlpacaProvider::new(rest).unwrap();
        assert_eq!(provider.sip_entitled().await.unwrap(), plan_has_sip);

        let sip = AlpacaStreamConfig {
            feed: AlpacaFeed::Sip,
            ..config(&standin)
        };
        let mut stream = AlpacaStream::start(sip, ["AAPL".to_string()]);
        match next(&mut stream).await {
            StreamEvent::Connected { .. } => assert!(plan_has_sip),
            StreamEvent::Disconnected { reason, retry_in } => {
                assert!(!plan_has_sip);
                assert!(reason.contains("insufficient subscription"), "{reason}");
                assert_eq!(
                    retry_in,
                    Duration::from_millis(200),
                    "no point retrying soon"
                );
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn malformed_and_unknown_frames_are_skipped_and_the_stream_goes_on() {
    let standin = StandIn::start().await;
    let mut stream = AlpacaStream::start(config(&standin), ["AAPL".to_string()]);
    assert_eq!(
        next(&mut stream).await,
        StreamEvent::Connected { reconnects: 0 }
    );
    for junk in [
        "not json at all",
        "{\"T\":\"q\"}",
        "[{\"T\":\"q\",\"S\":\"AAPL\",\"bp\":\"oops\"}]",
        "[{\"T\":\"zz\",\"S\":\"AAPL\"}]",
        "[]",
        "[{\"T\":\"t\",\"S\":\"AAPL\",\"p\":1e999}]",
    ] {
        standin.stream_raw(junk);
    }
    standin.stream_quote("AAPL", "189.10", "189.12", "2026-12-07T15:00:01Z");
    match next(&mut stream).await {
        StreamEvent::Quote(q) => assert_eq!((q.product.as_str(), q.bid), ("AAPL", dec!(189.10))),
        other => panic!("the next good quote, not {other:?}"),
    }
    assert_eq!(
        standin.stream_connections(),
        1,
        "never dropped for a bad frame"
    );
}
