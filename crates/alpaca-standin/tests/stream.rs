//! The stand-in's market data websocket against apca's own streaming client (`RealtimeData`):
//! authenticate, subscribe, receive a published quote and trade with Alpaca's field names and
//! types; a second connection with the same key is refused with "connection limit exceeded", as
//! Alpaca refuses a second market-data connection per account; a wrong secret is refused.
#![allow(unused_crate_dependencies)] // a test uses some of its package's dependencies

use apca::data::v2::stream::{Data, IEX, MarketData, RealtimeData, drive};
use apca::{ApiInfo, Client};
use futures_util::{FutureExt as _, StreamExt as _};
use quantdesk_alpaca_standin::StandIn;

fn client(standin: &StandIn, secret: &str) -> Client {
    let mut info = ApiInfo::from_parts(standin.base_url(), StandIn::KEY_ID, secret).unwrap();
    info.data_stream_base_url = standin.stream_url().parse().unwrap();
    Client::new(info)
}

#[tokio::test]
async fn apca_streams_quotes_and_trades_and_a_second_connection_is_refused() {
    let standin = StandIn::start().await;
    let (mut stream, mut subscription) = client(&standin, StandIn::SECRET)
        .subscribe::<RealtimeData<IEX>>()
        .await
        .expect("connect and authenticate");
    let mut wanted = MarketData::default();
    wanted.set_quotes(["AAPL"]);
    wanted.set_trades(["AAPL"]);
    let subscribe = subscription.subscribe(&wanted).boxed();
    match drive(subscribe, &mut stream).await {
        Ok(Ok(Ok(()))) => {}
        Ok(other) => panic!("subscription refused: {other:?}"),
        Err(_) => panic!("the stream ended before the subscription was answered"),
    }

    standin.stream_quote("MSFT", "400.00", "400.02", "2026-12-07T15:00:00Z");
    standin.stream_quote("AAPL", "189.10", "189.12", "2026-12-07T15:00:01Z");
    standin.stream_trade("AAPL", 7, "189.11", 100, "2026-12-07T15:00:02Z");
    let Some(Ok(Ok(Data::Quote(q)))) = stream.next().await else {
        panic!("a quote")
    };
    assert_eq!(q.symbol, "AAPL", "only what was subscribed");
    assert_eq!(q.bid_price.to_string(), "189.1");
    assert_eq!(q.ask_price.to_string(), "189.12");
    let Some(Ok(Ok(Data::Trade(t)))) = stream.next().await else {
        panic!("a trade")
    };
    assert_eq!(
        (t.trade_id, t.trade_price.to_string()),
        (7, "189.11".to_string())
    );

    // Alpaca allows one market-data connection per account.
    let second = client(&standin, StandIn::SECRET)
        .subscribe::<RealtimeData<IEX>>()
        .await;
    let Err(err) = second else {
        panic!("a second connection is refused")
    };
    assert!(
        format!("{err:?} {err}").contains("connection limit exceeded"),
        "{err:?}"
    );
    assert_eq!(standin.stream_refused(), 1);

    let wrong = client(&standin, "wrong-secret")
        .subscribe::<RealtimeData<IEX>>()
        .await;
    assert!(format!("{:?}", wrong.err()).contains("auth failed"));
    assert_eq!(standin.stream_connections(), 3);
}
