//! The stand-in over a real socket: key checks, the request log, shutdown on drop.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use quantdesk_alpaca_standin::{Route, StandIn};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One HTTP/1.1 request with `Connection: close`; returns status and body.
async fn get(standin: &StandIn, target: &str, key: Option<(&str, &str)>) -> (u16, String) {
    let mut stream = TcpStream::connect(standin.addr()).await.unwrap();
    let auth = key.map_or(String::new(), |(id, secret)| {
        format!("APCA-API-KEY-ID: {id}\r\nAPCA-API-SECRET-KEY: {secret}\r\n")
    });
    let request =
        format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap();
    (status, body)
}

const KEY: Option<(&str, &str)> = Some((StandIn::KEY_ID, StandIn::SECRET));

#[tokio::test]
async fn wrong_or_missing_keys_get_alpacas_401() {
    let standin = StandIn::start().await;
    let (status, body) = get(&standin, "/v2/stocks/GOOG/snapshot", None).await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        r#"{"code":40110000,"message":"request is not authorized"}"#
    );
    let (status, _) = get(
        &standin,
        "/v2/stocks/GOOG/snapshot",
        Some((StandIn::KEY_ID, "wrong")),
    )
    .await;
    assert_eq!(status, 401);
    let log = standin.requests();
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|r| !r.authorized));
    assert_eq!(log[1].header("apca-api-secret-key"), Some("<redacted>"));
}

#[tokio::test]
async fn serves_fixtures_and_logs_queries() {
    let standin = StandIn::start().await;
    let (status, body) = get(&standin, "/v2/stocks/GOOG/snapshot?feed=iex", KEY).await;
    assert_eq!(status, 200);
    assert!(body.contains(r#""latestTrade""#), "{body}");
    let (status, body) = get(
        &standin,
        "/v1beta3/crypto/us/snapshots?symbols=BTC%2FUSD",
        KEY,
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains("BTC/USD"), "{body}");
    let (status, body) = get(&standin, "/v2/nothing/here", KEY).await;
    assert_eq!(
        (status, body.as_str()),
        (404, r#"{"code":40410000,"message":"endpoint not found"}"#)
    );
    let log = standin.requests();
    assert_eq!(log[0].query("feed"), Some("iex"));
    assert_eq!(log[1].query("symbols"), Some("BTC/USD"));
    assert!(log.iter().all(|r| r.authorized && r.method == "GET"));
    assert!(
        log.iter()
            .all(|r| r.header("apca-api-secret-key") == Some("<redacted>"))
    );
    standin.clear_requests();
    assert!(standin.requests().is_empty());
}

#[tokio::test]
async fn custom_routes_take_precedence_and_credentials_are_configurable() {
    let standin = StandIn::builder()
        .credentials("id", "secret")
        .route(
            Route::get("/v2/stocks/GOOG/snapshot")
                .status(500)
                .body("oops"),
        )
        .start()
        .await
        .unwrap();
    let (status, body) = get(&standin, "/v2/stocks/GOOG/snapshot", Some(("id", "secret"))).await;
    assert_eq!((status, body.as_str()), (500, "oops"));
}

#[tokio::test]
async fn stops_when_dropped() {
    let standin = StandIn::start().await;
    let addr = standin.addr();
    assert!(addr.ip().is_loopback());
    drop(standin);
    let mut refused = false;
    for _ in 0..50 {
        if TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(refused, "still listening on {addr}");
}
