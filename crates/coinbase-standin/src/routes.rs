//! The REST endpoints, shaped as Coinbase Exchange documents them.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Value, json};

use crate::{Candle, Fault, Shared};

/// Coinbase's limit on candles per request.
const MAX_CANDLES: i64 = 300;
const GRANULARITIES: [i64; 6] = [60, 300, 900, 3600, 21600, 86400];

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/products", get(products))
        .route("/products/{id}/ticker", get(ticker))
        .route("/products/{id}/stats", get(stats))
        .route("/products/{id}/candles", get(candles))
        // Not Coinbase's: what a cross-process test reads to count websocket connections.
        .route("/_standin/feed", get(feed_counts))
        .with_state(shared)
}

async fn feed_counts(State(shared): State<Arc<Shared>>) -> Response {
    use std::sync::atomic::Ordering;
    reply(
        StatusCode::OK,
        json!({
            "accepted": shared.feed.accepted.load(Ordering::SeqCst),
            "open": shared.feed.open.load(Ordering::SeqCst),
        }),
    )
}

type Params = Query<Vec<(String, String)>>;

fn reply(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

fn message(status: StatusCode, text: &str) -> Response {
    reply(status, json!({ "message": text }))
}

/// The fault queued for this request, as Coinbase would answer it.
fn fault(shared: &Shared, uri: &Uri) -> Option<Response> {
    let path = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_string(), |p| p.to_string());
    Some(match shared.arrive(path)? {
        Fault::RateLimited => message(StatusCode::TOO_MANY_REQUESTS, "Public rate limit exceeded"),
        Fault::ServerError => message(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error"),
        Fault::Malformed => (StatusCode::OK, "<html>upstream hiccup</html>").into_response(),
    })
}

fn time_of(secs: i64) -> String {
    DateTime::<Utc>::from_timestamp(secs, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Micros, true)
}

async fn products(State(s): State<Arc<Shared>>, uri: Uri) -> Response {
    if let Some(r) = fault(&s, &uri) {
        return r;
    }
    let list: Vec<Value> = s
        .truth
        .products
        .iter()
        .map(|p| {
            json!({
                "id": p.id, "base_currency": p.base, "quote_currency": p.quote,
                "quote_increment": "0.01", "base_increment": "0.00000001",
                "display_name": format!("{}/{}", p.base, p.quote), "min_market_funds": "1",
                "margin_enabled": false, "post_only": false, "limit_only": false,
                "cancel_only": false, "status": p.status, "status_message": "",
                "trading_disabled": p.status != "online", "fx_stablecoin": false,
                "max_slippage_percentage": "0.02000000", "auction_mode": false,
                "high_bid_limit_percentage": ""
            })
        })
        .collect();
    reply(StatusCode::OK, Value::Array(list))
}

/// The product's minutes (none for a listed product without trades), or Coinbase's 404. When
/// REST follows the feed, only the minutes the feed has finished replaying.
fn minutes<'a>(s: &'a Shared, id: &str) -> Result<&'a [Candle], Box<Response>> {
    let clock = s.clock.load(std::sync::atomic::Ordering::SeqCst);
    match s.truth.minutes.get(id) {
        Some(m) if !m.is_empty() => Ok(&m[..m.partition_point(|c| c.time < clock)]),
        _ if s.truth.product(id).is_some() => Ok(&[]),
        _ => Err(Box::new(message(StatusCode::NOT_FOUND, "NotFound"))),
    }
}

async fn ticker(State(s): State<Arc<Shared>>, Path(id): Path<String>, uri: Uri) -> Response {
    if let Some(r) = fault(&s, &uri) {
        return r;
    }
    let m = match minutes(&s, &id) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let (Some(last), Some(now)) = (m.last(), m.last().map(|c| c.time + 59)) else {
        return message(StatusCode::NOT_FOUND, "NotFound");
    };
    let tick = Decimal::new(1, 2);
    let day: Decimal = m.iter().rev().take(1440).map(|c| c.volume).sum();
    reply(
        StatusCode::OK,
        json!({
            "trade_id": last.time, "price": last.close.to_string(), "size": "0.01000000",
            "time": time_of(now), "bid": (last.close - tick).to_string(),
            "ask": (last.close + tick).to_string(), "volume": day.to_string(),
            "rfq_volume": "0"
        }),
    )
}

async fn stats(State(s): State<Arc<Shared>>, Path(id): Path<String>, uri: Uri) -> Response {
    if let Some(r) = fault(&s, &uri) {
        return r;
    }
    let m = match minutes(&s, &id) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let day: Vec<&Candle> = m.iter().rev().take(1440).collect();
    let (Some(first), Some(last)) = (day.last(), day.first()) else {
        return message(StatusCode::NOT_FOUND, "NotFound");
    };
    let high = day.iter().map(|c| c.high).max().unwrap_or_default();
    let low = day.iter().map(|c| c.low).min().unwrap_or_default();
    let volume: Decimal = day.iter().map(|c| c.volume).sum();
    let month: Decimal = m.iter().map(|c| c.volume).sum();
    reply(
        StatusCode::OK,
        json!({
            "open": first.open.to_string(), "high": high.to_string(), "low": low.to_string(),
            "last": last.close.to_string(), "volume": volume.to_string(),
            "volume_30day": month.to_string()
        }),
    )
}

/// RFC 3339 or Unix seconds, as Coinbase accepts.
fn instant(raw: &str) -> Option<i64> {
    raw.parse::<i64>().ok().or_else(|| {
        DateTime::parse_from_rfc3339(raw)
            .ok()
            .map(|t| t.timestamp())
    })
}

async fn candles(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    Query(q): Params,
    uri: Uri,
) -> Response {
    if let Some(r) = fault(&s, &uri) {
        return r;
    }
    let visible = match minutes(&s, &id) {
        Ok(m) => m.last().map_or(i64::MIN, |c| c.time),
        Err(r) => return *r,
    };
    let param = |name: &str| q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let granularity = param("granularity").map_or(Some(60), |g| g.parse().ok());
    let Some(g) = granularity.filter(|g| GRANULARITIES.contains(g)) else {
        return message(StatusCode::BAD_REQUEST, "Unsupported granularity");
    };
    let mut all = s.truth.candles(&id, g);
    all.retain(|c| c.time <= visible);
    // Docs: if either of start and end is missing, both are ignored.
    let (start, end) = match (param("start"), param("end")) {
        (Some(a), Some(b)) => match (instant(a), instant(b)) {
            (Some(a), Some(b)) => (a, b),
            _ => return message(StatusCode::BAD_REQUEST, "Invalid start or end"),
        },
        _ => {
            let end = all.last().map_or(0, |c| c.time);
            (end - (MAX_CANDLES - 1) * g, end)
        }
    };
    if end < start {
        return message(StatusCode::BAD_REQUEST, "start must be before end");
    }
    let from = start - start.rem_euclid(g);
    if (end - from) / g + 1 > MAX_CANDLES {
        return message(
            StatusCode::BAD_REQUEST,
            "granularity too small for the requested time range. Count of aggregations requested exceeds 300",
        );
    }
    let num = |d: Decimal| json!(d.to_f64().unwrap_or_default());
    let rows: Vec<Value> = all
        .iter()
        .rev()
        .filter(|c| c.time >= from && c.time <= end)
        .map(|c| {
            json!([
                c.time,
                num(c.low),
                num(c.high),
                num(c.open),
                num(c.close),
                num(c.volume)
            ])
        })
        .collect();
    reply(StatusCode::OK, Value::Array(rows))
}
