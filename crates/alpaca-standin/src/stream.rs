//! Alpaca's real-time market data websocket (`wss://stream.data.alpaca.markets/v2/{iex,sip}`), as
//! its documentation describes it: on connect `[{"T":"success","msg":"connected"}]`; the client
//! sends `{"action":"auth","key":…,"secret":…}` and gets `authenticated`, `auth failed` (402) or,
//! when another connection of the same key is already authenticated, `connection limit
//! exceeded` (406) — Alpaca allows one market-data connection per account; `subscribe` /
//! `unsubscribe` with `trades`, `quotes`, `bars` lists are answered with the resulting
//! `subscription`; data comes as arrays of `{"T":"q"|"t"|"b", "S": symbol, …}`. Tests publish
//! quotes, trades and bars with [`StandIn::stream_quote`](crate::StandIn::stream_quote) and
//! friends and read the connection counts.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, DurationRound as _, TimeDelta, Utc};
use rust_decimal::Decimal;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;

/// The channel of raw frames (fault hook): sent as they are, whatever the subscription.
const RAW: &str = "raw";

/// One data message and the channel (`trades`, `quotes`, `bars`) it belongs to.
#[derive(Debug, Clone)]
pub(crate) struct Published {
    pub channel: &'static str,
    pub symbol: String,
    pub json: Value,
}

/// One minute of trades on the tape: open, high, low, close, volume.
pub(crate) type Minute = (Decimal, Decimal, Decimal, Decimal, Decimal);

#[derive(Debug)]
pub(crate) struct StreamState {
    /// Every trade published, as minute bars per symbol: the ground truth the REST minute bars
    /// serve (`GET /v2/stocks/{symbol}/bars?timeframe=1Min`), whether or not a client was
    /// connected to see the trade.
    pub tape: std::sync::Mutex<BTreeMap<String, BTreeMap<DateTime<Utc>, Minute>>>,
    /// Fault hook: every message on it drops every open connection (no close frame).
    pub kick: broadcast::Sender<()>,
    /// The account's data plan includes SIP (all US exchanges); without it `/v2/sip` refuses.
    pub sip: std::sync::atomic::AtomicBool,
    pub key_id: String,
    pub secret: String,
    pub accepted: AtomicUsize,
    /// Authenticated connections open now (at most one: the next is refused).
    pub authenticated: AtomicUsize,
    pub refused_limit: AtomicUsize,
    pub tx: broadcast::Sender<Published>,
}

fn reply(v: Value) -> Message {
    Message::text(Value::Array(vec![v]).to_string())
}

/// Starts the websocket server on a free port; returns its `ws://127.0.0.1:<port>` base.
pub(crate) async fn start(
    state: Arc<StreamState>,
) -> std::io::Result<(String, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let url = format!("ws://{}", listener.local_addr()?);
    let task = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            state.accepted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(connection(socket, state.clone()));
        }
    });
    Ok((url, task))
}

async fn connection(socket: TcpStream, state: Arc<StreamState>) {
    let mut path = String::new();
    // The error type is tungstenite's (an HTTP response), as its handshake callback requires.
    #[allow(clippy::result_large_err)]
    let callback = |request: &tokio_tungstenite::tungstenite::handshake::server::Request,
                    response| {
        path = request.uri().path().to_string();
        Ok(response)
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(socket, callback).await else {
        return;
    };
    let sip = path.trim_end_matches('/').ends_with("/sip");
    if ws
        .send(reply(json!({"T": "success", "msg": "connected"})))
        .await
        .is_err()
    {
        return;
    }
    let mut data = state.tx.subscribe();
    let mut kicked = state.kick.subscribe();
    let mut authed = false;
    let mut subs: [BTreeSet<String>; 3] = Default::default();
    let index = |channel: &str| match channel {
        "trades" => Some(0),
        "quotes" => Some(1),
        "bars" => Some(2),
        _ => None,
    };
    loop {
        tokio::select! {
            incoming = ws.next() => {
                let Some(Ok(Message::Text(text))) = incoming else { break };
                let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else {
                    let _ = ws.send(reply(json!({"T": "error", "code": 400, "msg": "invalid syntax"}))).await;
                    continue;
                };
                match v["action"].as_str() {
                    Some("auth") if authed => {}
                    Some("auth") => {
                        if v["key"] != state.key_id.as_str() || v["secret"] != state.secret.as_str() {
                            let _ = ws.send(reply(json!({"T": "error", "code": 402, "msg": "auth failed"}))).await;
                            let _ = ws.close(None).await;
                            break;
                        }
                        if state.authenticated.fetch_add(1, Ordering::SeqCst) > 0 {
                            state.authenticated.fetch_sub(1, Ordering::SeqCst);
                            state.refused_limit.fetch_add(1, Ordering::SeqCst);
                            let _ = ws.send(reply(json!({"T": "error", "code": 406, "msg": "connection limit exceeded"}))).await;
                            let _ = ws.close(None).await;
                            break;
                        }
                        if sip && !state.sip.load(Ordering::SeqCst) {
                            // As Alpaca does for a plan without SIP: authenticated, then refused.
                            state.authenticated.fetch_sub(1, Ordering::SeqCst);
                            let _ = ws.send(reply(json!({"T": "error", "code": 409, "msg": "insufficient subscription"}))).await;
                            let _ = ws.close(None).await;
                            break;
                        }
                        authed = true;
                        if ws.send(reply(json!({"T": "success", "msg": "authenticated"}))).await.is_err() {
                            break;
                        }
                    }
                    Some(action @ ("subscribe" | "unsubscribe")) if authed => {
                        for channel in ["trades", "quotes", "bars"] {
                            let Some(i) = index(channel) else { continue };
                            for s in v[channel].as_array().into_iter().flatten().filter_map(Value::as_str) {
                                if action == "subscribe" {
                                    subs[i].insert(s.to_string());
                                } else {
                                    subs[i].remove(s);
                                }
                            }
                        }
                        let answer = json!({"T": "subscription", "trades": subs[0], "quotes": subs[1], "bars": subs[2]});
                        if ws.send(reply(answer)).await.is_err() {
                            break;
                        }
                    }
                    Some("subscribe" | "unsubscribe") => {
                        let _ = ws.send(reply(json!({"T": "error", "code": 401, "msg": "not authenticated"}))).await;
                    }
                    _ => {
                        let _ = ws.send(reply(json!({"T": "error", "code": 400, "msg": "invalid syntax"}))).await;
                    }
                }
            }
            _ = kicked.recv() => break,
            published = data.recv() => {
                let p = match published {
                    Ok(p) => p,
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                if p.channel == RAW {
                    // Fault hook: the text as it is, to every authenticated connection.
                    if authed && ws.send(Message::text(p.json.as_str().unwrap_or_default())).await.is_err() {
                        break;
                    }
                    continue;
                }
                let wanted = authed
                    && index(p.channel).is_some_and(|i| subs[i].contains(&p.symbol) || subs[i].contains("*"));
                if wanted && ws.send(Message::text(Value::Array(vec![p.json]).to_string())).await.is_err() {
                    break;
                }
            }
        }
    }
    if authed {
        state.authenticated.fetch_sub(1, Ordering::SeqCst);
    }
}

impl StreamState {
    pub(crate) fn new(key_id: &str, secret: &str) -> Self {
        Self {
            key_id: key_id.to_string(),
            secret: secret.to_string(),
            tape: Default::default(),
            kick: broadcast::channel(16).0,
            sip: Default::default(),
            accepted: Default::default(),
            authenticated: Default::default(),
            refused_limit: Default::default(),
            tx: broadcast::channel(4_096).0,
        }
    }

    /// Publishes a quote to every connection subscribed to `symbol`'s quotes.
    pub(crate) fn publish_quote(&self, symbol: &str, bid: &str, ask: &str, time: &str) {
        let json = json!({"T": "q", "S": symbol, "bx": "V", "bp": bid.parse::<f64>().unwrap_or(0.0),
            "bs": 1, "ax": "V", "ap": ask.parse::<f64>().unwrap_or(0.0), "as": 2, "c": ["R"], "z": "C", "t": time});
        let _ = self.tx.send(Published {
            channel: "quotes",
            symbol: symbol.into(),
            json,
        });
    }

    /// Publishes a trade to every connection subscribed to `symbol`'s trades and records it on
    /// the tape.
    pub(crate) fn publish_trade(&self, symbol: &str, id: u64, price: &str, size: u64, time: &str) {
        if let (Ok(p), Ok(t)) = (price.parse(), DateTime::parse_from_rfc3339(time)) {
            self.record(symbol, p, size.into(), t.with_timezone(&Utc));
        }
        let json = json!({"T": "t", "S": symbol, "i": id, "x": "V",
            "p": price.parse::<f64>().unwrap_or(0.0), "s": size, "c": ["@"], "z": "C", "t": time});
        let _ = self.tx.send(Published {
            channel: "trades",
            symbol: symbol.into(),
            json,
        });
    }

    /// Fault hook: sends `text` as one frame, as it is, to every authenticated connection.
    pub(crate) fn publish_raw(&self, text: &str) {
        let _ = self.tx.send(Published {
            channel: RAW,
            symbol: String::new(),
            json: Value::String(text.to_string()),
        });
    }

    /// Puts a trade on the tape.
    pub(crate) fn record(&self, symbol: &str, price: Decimal, size: Decimal, time: DateTime<Utc>) {
        let minute = time.duration_trunc(TimeDelta::minutes(1)).unwrap_or(time);
        let mut tape = self
            .tape
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        tape.entry(symbol.to_string())
            .or_default()
            .entry(minute)
            .and_modify(|(_, h, l, c, v)| {
                *h = (*h).max(price);
                *l = (*l).min(price);
                *c = price;
                *v += size;
            })
            .or_insert((price, price, price, price, size));
    }

    /// The tape's minute bars of `symbol` in Alpaca's JSON shape, oldest first; `None` when no
    /// trade of it was published.
    pub(crate) fn minute_bars(&self, symbol: &str) -> Option<Vec<(DateTime<Utc>, Value)>> {
        let tape = self
            .tape
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let num = |d: &Decimal| {
            serde_json::from_str::<Value>(&d.normalize().to_string()).unwrap_or(Value::Null)
        };
        Some(
            tape.get(symbol)?
                .iter()
                .map(|(t, (o, h, l, c, v))| {
                    let bar = json!({"t": t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        "o": num(o), "h": num(h), "l": num(l), "c": num(c), "v": num(v), "n": 1, "vw": num(c)});
                    (*t, bar)
                })
                .collect(),
        )
    }
}
