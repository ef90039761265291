//! The websocket feed, shaped as Coinbase Exchange documents it: a client sends
//! `{"type":"subscribe","product_ids":[..],"channels":["heartbeat","ticker","matches"]}` and gets
//! `subscriptions`, then `match`, `ticker` and `heartbeat` messages for its products. The feed
//! replays the ground truth's minutes as trades (each minute's open, high, low and close, its
//! volume split among them), so a client that builds minute bars from it can be checked exactly.
//! Fault hooks: drop every connection, send malformed frames, stall.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::{SinkExt as _, StreamExt as _};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::{Notify, broadcast};
use tokio_tungstenite::tungstenite::Message;

use crate::{Candle, GroundTruth};

/// One message of the replay, for one product and channel.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    product: String,
    channel: &'static str,
    text: String,
}

/// What tests can do to the feed while it runs.
#[derive(Debug, Default)]
pub(crate) struct FeedControl {
    /// Bumped to drop every connection open now, without a close frame; `wake` tells them.
    pub generation: AtomicUsize,
    pub wake: Notify,
    /// Connections accepted so far, and open now.
    pub accepted: AtomicUsize,
    pub open: AtomicUsize,
    /// Malformed frames to send, one to each connection, before its next message.
    pub garbage: AtomicUsize,
    /// While set, connections stay open and send nothing (heartbeats included).
    pub stalled: AtomicBool,
    /// The replay's minute in progress (Unix seconds), which REST does not serve yet, when
    /// `follow` is set.
    pub clock: Arc<AtomicI64>,
    pub follow: AtomicBool,
    /// Where frames go out to every connection (for frames a test injects).
    pub frames: std::sync::OnceLock<broadcast::Sender<Frame>>,
}

/// A ticker frame for `product` at `price`, stamped `secs` (Unix seconds), as the feed sends.
pub(crate) fn ticker(product: &str, price: Decimal, secs: i64, sequence: u64) -> Frame {
    let text = json!({
        "type": "ticker", "sequence": sequence, "product_id": product, "price": price.to_string(),
        "best_bid": (price - Decimal::new(1, 2)).to_string(), "best_bid_size": "0.5",
        "best_ask": (price + Decimal::new(1, 2)).to_string(), "best_ask_size": "0.7",
        "side": "buy", "time": time(secs), "trade_id": sequence, "last_size": "0.01"
    });
    Frame {
        product: product.to_string(),
        channel: "ticker",
        text: text.to_string(),
    }
}

fn time(secs: i64) -> String {
    DateTime::<Utc>::from_timestamp(secs, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The four trades of a minute — open, high, low, close at :00, :15, :30, :45 — whose sizes add
/// up to the minute's volume.
fn trades(c: &Candle) -> [(i64, Decimal, Decimal); 4] {
    let quarter = (c.volume / Decimal::from(4)).round_dp(6);
    let last = c.volume - quarter * Decimal::from(3);
    [
        (c.time, c.open, quarter),
        (c.time + 15, c.high, quarter),
        (c.time + 30, c.low, quarter),
        (c.time + 45, c.close, last),
    ]
}

/// Replays every product's minutes in time order, one trade per `tick`, from minute `from`.
async fn replay(
    truth: GroundTruth,
    from: usize,
    tick: Duration,
    tx: broadcast::Sender<Frame>,
    control: Arc<FeedControl>,
) {
    let mut minutes: Vec<(i64, String, Candle)> = truth
        .minutes
        .iter()
        .flat_map(|(id, m)| m.iter().map(move |c| (c.time, id.clone(), *c)))
        .collect();
    minutes.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let start = minutes.first().map_or(0, |m| m.0) + 60 * from as i64;
    let mut sequence: u64 = 1_000;
    let mut trade_id: u64 = 1;
    let mut ticks: u64 = 0;
    for (_, id, c) in minutes.into_iter().filter(|m| m.0 >= start) {
        if control.follow.load(Ordering::SeqCst) {
            control.clock.fetch_max(c.time, Ordering::SeqCst);
        }
        for (at, price, size) in trades(&c) {
            while control.stalled.load(Ordering::SeqCst) {
                tokio::time::sleep(tick).await;
            }
            sequence += 1;
            trade_id += 1;
            let text = json!({
                "type": "match", "trade_id": trade_id, "sequence": sequence,
                "maker_order_id": format!("m-{trade_id}"), "taker_order_id": format!("t-{trade_id}"),
                "time": time(at), "product_id": id, "size": size.to_string(),
                "price": price.to_string(), "side": if trade_id.is_multiple_of(2) { "buy" } else { "sell" }
            });
            let _ = tx.send(Frame {
                product: id.clone(),
                channel: "matches",
                text: text.to_string(),
            });
            let tick_text = json!({
                "type": "ticker", "sequence": sequence, "product_id": id, "price": price.to_string(),
                "best_bid": (price - Decimal::new(1, 2)).to_string(), "best_bid_size": "0.5",
                "best_ask": (price + Decimal::new(1, 2)).to_string(), "best_ask_size": "0.7",
                "side": "buy", "time": time(at), "trade_id": trade_id, "last_size": size.to_string()
            });
            let _ = tx.send(Frame {
                product: id.clone(),
                channel: "ticker",
                text: tick_text.to_string(),
            });
            ticks += 1;
            if ticks.is_multiple_of(8) {
                let hb = json!({ "type": "heartbeat", "sequence": sequence, "last_trade_id": trade_id,
                                 "product_id": id, "time": time(at) });
                let _ = tx.send(Frame {
                    product: id.clone(),
                    channel: "heartbeat",
                    text: hb.to_string(),
                });
            }
            tokio::time::sleep(tick).await;
        }
    }
}

/// Starts the feed on a free port of 127.0.0.1; returns its `ws://` URL.
pub(crate) async fn start(
    truth: GroundTruth,
    from: usize,
    tick: Duration,
    control: Arc<FeedControl>,
    buffer: usize,
) -> std::io::Result<(String, [tokio::task::JoinHandle<()>; 2])> {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let url = format!("ws://{}", listener.local_addr()?);
    let (tx, _) = broadcast::channel::<Frame>(buffer);
    let _ = control.frames.set(tx.clone());
    let replaying = tokio::spawn(replay(truth, from, tick, tx.clone(), control.clone()));
    let accepting = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            control.accepted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(connection(socket, tx.subscribe(), control.clone()));
        }
    });
    Ok((url, [replaying, accepting]))
}

fn error(message: &str, reason: &str) -> Message {
    Message::text(json!({ "type": "error", "message": message, "reason": reason }).to_string())
}

/// One client: its subscriptions, then the replay's frames for them until it leaves or a fault
/// drops it.
async fn connection(
    socket: TcpStream,
    mut frames: broadcast::Receiver<Frame>,
    control: Arc<FeedControl>,
) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(socket).await else {
        return;
    };
    control.open.fetch_add(1, Ordering::SeqCst);
    let generation = control.generation.load(Ordering::SeqCst);
    let mut products: BTreeSet<String> = BTreeSet::new();
    let mut channels: BTreeSet<String> = BTreeSet::new();
    loop {
        if control.generation.load(Ordering::SeqCst) != generation {
            break;
        }
        tokio::select! {
            _ = control.wake.notified() => continue,
            incoming = ws.next() => {
                let Some(Ok(msg)) = incoming else { break };
                let Message::Text(text) = msg else { continue };
                let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else {
                    let _ = ws.send(error("Failed to subscribe", "malformed JSON")).await;
                    continue;
                };
                let list = |key: &str| -> Vec<String> {
                    v[key].as_array().into_iter().flatten()
                        .filter_map(|x| x.as_str().map(str::to_string).or_else(|| x["name"].as_str().map(str::to_string)))
                        .collect()
                };
                match v["type"].as_str() {
                    Some("subscribe") => { products.extend(list("product_ids")); channels.extend(list("channels")); }
                    Some("unsubscribe") => {
                        for p in list("product_ids") { products.remove(&p); }
                        if v["product_ids"].is_null() { for c in list("channels") { channels.remove(&c); } }
                    }
                    _ => { let _ = ws.send(error("Failed to subscribe", "type has to be either subscribe or unsubscribe")).await; continue; }
                }
                let subs: Vec<Value> = channels.iter().map(|c| json!({ "name": c, "product_ids": products })).collect();
                let reply = json!({ "type": "subscriptions", "channels": subs });
                if ws.send(Message::text(reply.to_string())).await.is_err() { break; }
            }
            frame = frames.recv() => {
                let frame = match frame {
                    Ok(f) => f,
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                if control.stalled.load(Ordering::SeqCst) || !products.contains(&frame.product) || !channels.contains(frame.channel) {
                    continue;
                }
                if control.garbage.load(Ordering::SeqCst) > 0 {
                    control.garbage.fetch_sub(1, Ordering::SeqCst);
                    let _ = ws.send(Message::text("{\"type\":\"match\",\"price\":")).await;
                    let _ = ws.send(Message::text("{\"type\":\"surprise\",\"n\":1}")).await;
                }
                if ws.send(Message::text(frame.text)).await.is_err() { break; }
            }
        }
    }
    control.open.fetch_sub(1, Ordering::SeqCst);
}
