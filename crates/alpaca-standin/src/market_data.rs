//! The historical bars endpoints, computed from the fixture histories so that `start`, `end`,
//! `limit`, `sort` and `page_token` behave as they do at Alpaca:
//!
//! - `GET /v2/stocks/{symbol}/bars` → `{"bars": [...] | null, "next_page_token": ..., "symbol": ...}`
//! - `GET /v1beta3/crypto/us/bars?symbols=BTC/USD,...` → `{"bars": {"BTC/USD": [...]}, "next_page_token": ...}`
//!
//! As at Alpaca, a missing `start` means the beginning of the current (UTC) day, so a client
//! that forgets it gets nothing from these old histories — exactly what would happen for real.

use axum::http::Method;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

use crate::fixtures::{Asset, BarSet, Fixtures};
use crate::routes::{invalid_symbol, percent_decode, valid_symbol};
use crate::stream::StreamState;
use crate::{Incoming, Reply};

/// Alpaca's limit on `limit`.
const MAX_LIMIT: usize = 10_000;
const DEFAULT_LIMIT: usize = 1_000;

pub(crate) fn handle(fixtures: &Fixtures, tape: &StreamState, request: &Incoming) -> Option<Reply> {
    if request.method != Method::GET {
        return None;
    }
    if request.path == "/v2/stocks/quotes/latest" {
        return Some(latest_quotes(tape, request));
    }
    if request.path == "/v1beta3/crypto/us/bars" {
        return Some(crypto_bars(fixtures, request).unwrap_or_else(|e| e));
    }
    let symbol = request
        .path
        .strip_prefix("/v2/stocks/")?
        .strip_suffix("/bars")?;
    if symbol.contains('/') {
        return None;
    }
    Some(stock_bars(fixtures, tape, request, &percent_decode(symbol)).unwrap_or_else(|e| e))
}

/// `GET /v2/stocks/quotes/latest?symbols=…&feed=…`: a SIP request on a plan without SIP is
/// refused with Alpaca's 403 (how a client learns which feed the account has).
fn latest_quotes(tape: &StreamState, request: &Incoming) -> Reply {
    if request.query("feed") == Some("sip") && !tape.sip.load(std::sync::atomic::Ordering::SeqCst) {
        return Reply::error(
            403,
            40310000,
            "subscription does not permit querying recent SIP data",
        );
    }
    let quotes: serde_json::Map<String, Value> = request
        .query("symbols")
        .unwrap_or_default()
        .split(',')
        .filter(|s| valid_symbol(s))
        .map(|s| {
            let q = json!({"t": "2026-12-07T15:00:00Z", "ax": "V", "ap": 100.02, "as": 1,
                "bx": "V", "bp": 100.0, "bs": 1, "c": ["R"], "z": "C"});
            (s.to_string(), q)
        })
        .collect();
    Reply::json(200, &json!({ "quotes": quotes }))
}

fn bad_request(message: &str) -> Reply {
    Reply::error(400, 40010001, message)
}

#[derive(Debug)]
struct BarsQuery {
    timeframe: String,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    limit: usize,
    descending: bool,
    offset: usize,
}

fn parse_query(request: &Incoming) -> Result<BarsQuery, Reply> {
    let timeframe = request
        .query("timeframe")
        .ok_or_else(|| bad_request("timeframe: missing"))?;
    let timeframe =
        normalise_timeframe(timeframe).ok_or_else(|| bad_request("invalid timeframe"))?;
    let now = Utc::now();
    let start = match request.query("start") {
        Some(raw) => parse_time(raw).ok_or_else(|| bad_request("invalid start"))?,
        None => now
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .map_or(now, |t| t.and_utc()),
    };
    let end = match request.query("end") {
        Some(raw) => parse_time(raw).ok_or_else(|| bad_request("invalid end"))?,
        None => now,
    };
    if end < start {
        return Err(bad_request("end should not be before start"));
    }
    let limit = match request.query("limit") {
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| bad_request(&format!("invalid limit: {raw}")))?,
        None => DEFAULT_LIMIT,
    };
    let descending = match request.query("sort") {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(other) => return Err(bad_request(&format!("invalid sort: {other}"))),
    };
    let offset = match request.query("page_token") {
        Some(token) => decode_token(token).ok_or_else(|| bad_request("invalid page_token"))?,
        None => 0,
    };
    Ok(BarsQuery {
        timeframe,
        start,
        end,
        limit,
        descending,
        offset,
    })
}

/// RFC 3339 or a plain date, as Alpaca accepts.
fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()?
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
}

/// Alpaca's timeframes in its canonical spelling: `[1-59]Min`/`T`, `[1-23]Hour`/`H`,
/// `1Day`/`D`, `1Week`/`W`, `[1,2,3,4,6,12]Month`/`M`.
fn normalise_timeframe(raw: &str) -> Option<String> {
    let split = raw.find(|c: char| !c.is_ascii_digit())?;
    let amount: u32 = raw[..split].parse().ok()?;
    let (unit, ok) = match &raw[split..] {
        "Min" | "T" => ("Min", (1..=59).contains(&amount)),
        "Hour" | "H" => ("Hour", (1..=23).contains(&amount)),
        "Day" | "D" => ("Day", amount == 1),
        "Week" | "W" => ("Week", amount == 1),
        "Month" | "M" => ("Month", [1, 2, 3, 4, 6, 12].contains(&amount)),
        _ => return None,
    };
    ok.then(|| format!("{amount}{unit}"))
}

/// The sets for `symbol`: `Ok(None)` if the stand-in has no bars for it at all (Alpaca answers
/// an empty list), an error reply if it has them only at other timeframes (a gap in the
/// fixtures, not Alpaca behaviour — said plainly so the test author knows what to add).
fn find_set<'a>(
    fixtures: &'a Fixtures,
    asset: Asset,
    symbol: &str,
    timeframe: &str,
) -> Result<Option<&'a BarSet>, Reply> {
    let sets: Vec<&BarSet> = fixtures
        .bars
        .iter()
        .filter(|s| s.asset == asset && s.symbol == symbol)
        .collect();
    if sets.is_empty() {
        return Ok(None);
    }
    match sets.iter().find(|s| s.timeframe == timeframe) {
        Some(set) => Ok(Some(set)),
        None => {
            let have: Vec<&str> = sets.iter().map(|s| s.timeframe.as_str()).collect();
            Err(Reply::error(
                501,
                50100000,
                &format!(
                    "the Alpaca stand-in has no {timeframe} bars for {symbol} (its fixtures hold {})",
                    have.join(", ")
                ),
            ))
        }
    }
}

/// The bars of `set` inside the query's range, in the requested order.
fn in_range<'a>(set: &'a BarSet, q: &BarsQuery) -> Vec<&'a Value> {
    let mut bars: Vec<&Value> = set
        .bars
        .iter()
        .filter(|(t, _)| *t >= q.start && *t <= q.end)
        .map(|(_, bar)| bar)
        .collect();
    if q.descending {
        bars.reverse();
    }
    bars
}

/// The page starting at the query's offset, and the token for the next one if any remains.
fn page<T: Clone>(all: &[T], q: &BarsQuery, max_page: Option<usize>) -> (Vec<T>, Option<String>) {
    let size = max_page.map_or(q.limit, |m| m.min(q.limit)).max(1);
    let from = q.offset.min(all.len());
    let to = (from + size).min(all.len());
    let next = (to < all.len()).then(|| encode_token(to));
    (all[from..to].to_vec(), next)
}

fn stock_bars(
    fixtures: &Fixtures,
    tape: &StreamState,
    request: &Incoming,
    symbol: &str,
) -> Result<Reply, Reply> {
    if !valid_symbol(symbol) || symbol.contains('/') {
        return Err(invalid_symbol(symbol));
    }
    let q = parse_query(request)?;
    if let Some(feed) = request.query("feed")
        && !["sip", "iex", "otc", "delayed_sip", "boats", "overnight"].contains(&feed)
    {
        return Err(bad_request(&format!("invalid feed: {feed}")));
    }
    if let Some(adjustment) = request.query("adjustment")
        && !adjustment
            .split(',')
            .all(|a| ["raw", "split", "dividend", "spin-off", "all"].contains(&a))
    {
        return Err(bad_request(&format!("invalid adjustment: {adjustment}")));
    }
    // Minutes of a symbol whose trades were streamed come from the tape of those trades.
    if q.timeframe == "1Min"
        && let Some(minutes) = tape.minute_bars(symbol)
    {
        let mut all: Vec<Value> = minutes
            .into_iter()
            .filter(|(t, _)| *t >= q.start && *t <= q.end)
            .map(|(_, b)| b)
            .collect();
        if q.descending {
            all.reverse();
        }
        let (bars, next) = page(&all, &q, None);
        let bars = if bars.is_empty() {
            Value::Null
        } else {
            Value::Array(bars)
        };
        return Ok(Reply::json(
            200,
            &json!({ "bars": bars, "next_page_token": next, "symbol": symbol }),
        ));
    }
    let Some(set) = find_set(fixtures, Asset::Stock, symbol, &q.timeframe)? else {
        return Ok(Reply::json(
            200,
            &json!({ "bars": null, "next_page_token": null, "symbol": symbol }),
        ));
    };
    let (bars, next) = page(&in_range(set, &q), &q, set.max_page);
    let bars = if bars.is_empty() {
        Value::Null
    } else {
        Value::Array(bars.into_iter().cloned().collect())
    };
    Ok(Reply::json(
        200,
        &json!({ "bars": bars, "next_page_token": next, "symbol": symbol }),
    ))
}

fn crypto_bars(fixtures: &Fixtures, request: &Incoming) -> Result<Reply, Reply> {
    let symbols = request
        .query("symbols")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad_request("symbols: missing"))?;
    let mut symbols: Vec<&str> = symbols.split(',').collect();
    if let Some(bad) = symbols
        .iter()
        .find(|s| !valid_symbol(s) || !s.contains('/'))
    {
        return Err(invalid_symbol(bad));
    }
    let q = parse_query(request)?;
    // Alpaca sorts multi-symbol results by symbol first, then by time.
    symbols.sort_unstable();
    symbols.dedup();
    let mut all: Vec<(&str, &Value)> = Vec::new();
    let mut max_page = None;
    for symbol in symbols {
        if let Some(set) = find_set(fixtures, Asset::Crypto, symbol, &q.timeframe)? {
            max_page = max_page.or(set.max_page);
            all.extend(in_range(set, &q).into_iter().map(|bar| (symbol, bar)));
        }
    }
    let (page, next) = page(&all, &q, max_page);
    let mut by_symbol = serde_json::Map::new();
    for (symbol, bar) in page {
        if let Value::Array(list) = by_symbol
            .entry(symbol.to_string())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            list.push(bar.clone());
        }
    }
    Ok(Reply::json(
        200,
        &json!({ "bars": by_symbol, "next_page_token": next }),
    ))
}

// Page tokens are opaque base64 at Alpaca; here they carry the offset of the next bar.

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn encode_token(offset: usize) -> String {
    let raw = format!("standin|{offset}");
    let mut out = String::new();
    for chunk in raw.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn decode_token(token: &str) -> Option<usize> {
    let mut bits: u32 = 0;
    let mut nbits = 0;
    let mut raw = Vec::new();
    for c in token.bytes().take_while(|&c| c != b'=') {
        let v = B64.iter().position(|&b| b == c)? as u32;
        bits = (bits << 6) | v;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            raw.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
    }
    String::from_utf8(raw)
        .ok()?
        .strip_prefix("standin|")?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;

    fn fixtures() -> Fixtures {
        Fixtures::load(&crate::fixtures::dir()).unwrap()
    }

    /// The endpoints with nothing streamed (no tape).
    fn handle(fixtures: &Fixtures, request: &Incoming) -> Option<Reply> {
        super::handle(fixtures, &StreamState::new("k", "s"), request)
    }

    fn get(path: &str, query: &[(&str, &str)]) -> Incoming {
        Incoming {
            method: Method::GET,
            path: path.to_string(),
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: Bytes::new(),
        }
    }

    fn body(reply: &Reply) -> Value {
        serde_json::from_str(&reply.body).unwrap()
    }

    #[test]
    fn tokens_round_trip() {
        for n in [0, 1, 25, 999, 123_456] {
            assert_eq!(decode_token(&encode_token(n)), Some(n));
        }
        assert_eq!(encode_token(25), "c3RhbmRpbnwyNQ==");
        assert_eq!(decode_token("bm9wZQ=="), None);
    }

    #[test]
    fn timeframes_follow_alpaca() {
        assert_eq!(normalise_timeframe("1D").as_deref(), Some("1Day"));
        assert_eq!(normalise_timeframe("15Min").as_deref(), Some("15Min"));
        assert_eq!(normalise_timeframe("3Month").as_deref(), Some("3Month"));
        for bad in ["2Day", "5Month", "60Min", "Day", "1Year", ""] {
            assert_eq!(normalise_timeframe(bad), None, "{bad}");
        }
    }

    #[test]
    fn stock_bars_page_through_the_history() {
        let f = fixtures();
        let q = [
            ("timeframe", "1Day"),
            ("start", "2012-01-01T00:00:00Z"),
            ("limit", "40"),
        ];
        let first = handle(&f, &get("/v2/stocks/GOOG/bars", &q)).unwrap();
        let first = body(&first);
        assert_eq!(first["bars"].as_array().unwrap().len(), 25);
        assert_eq!(first["symbol"], "GOOG");
        let token = first["next_page_token"].as_str().unwrap().to_string();
        let mut q2 = q.to_vec();
        q2.push(("page_token", &token));
        // `limit` bounds each page, as at Alpaca; the client stops when it has enough.
        let second = body(&handle(&f, &get("/v2/stocks/GOOG/bars", &q2)).unwrap());
        assert_eq!(second["bars"].as_array().unwrap().len(), 25);
        assert_eq!(second["bars"][0]["t"], "2013-01-10T05:00:00Z");
        let token = second["next_page_token"].as_str().unwrap().to_string();
        q2.pop();
        q2.push(("page_token", &token));
        let third = body(&handle(&f, &get("/v2/stocks/GOOG/bars", &q2)).unwrap());
        assert_eq!(third["bars"].as_array().unwrap().len(), 10);
        assert_eq!(third["next_page_token"], Value::Null);
    }

    #[test]
    fn without_start_alpaca_means_today() {
        let f = fixtures();
        let reply = handle(&f, &get("/v2/stocks/GOOG/bars", &[("timeframe", "1Day")])).unwrap();
        assert_eq!(body(&reply)["bars"], Value::Null);
    }

    #[test]
    fn descending_gives_the_newest_first() {
        let f = fixtures();
        let q = [
            ("timeframe", "1Day"),
            ("start", "2000-01-01"),
            ("sort", "desc"),
            ("limit", "2"),
        ];
        let reply = body(&handle(&f, &get("/v2/stocks/GOOG/bars", &q)).unwrap());
        assert_eq!(reply["bars"][0]["t"], "2013-03-01T05:00:00Z");
        assert_eq!(reply["bars"][1]["t"], "2013-02-28T05:00:00Z");
    }

    #[test]
    fn errors_look_like_alpaca() {
        let f = fixtures();
        let reply = handle(
            &f,
            &get("/v2/stocks/GOOG%21/bars", &[("timeframe", "1Day")]),
        )
        .unwrap();
        assert_eq!(reply.status, 400);
        assert_eq!(
            body(&reply),
            json!({"code": 40010001, "message": "invalid symbol: GOOG!"})
        );
        let reply = handle(&f, &get("/v2/stocks/GOOG/bars", &[("timeframe", "2Day")])).unwrap();
        assert_eq!(reply.status, 400);
        let reply = handle(&f, &get("/v2/stocks/GOOG/bars", &[("timeframe", "1Hour")])).unwrap();
        assert_eq!(reply.status, 501);
        let reply = handle(
            &f,
            &get(
                "/v2/stocks/ZZZZ/bars",
                &[("timeframe", "1Day"), ("start", "2000-01-01")],
            ),
        )
        .unwrap();
        assert_eq!(
            body(&reply),
            json!({"bars": null, "next_page_token": null, "symbol": "ZZZZ"})
        );
    }

    #[test]
    fn crypto_bars_are_keyed_by_symbol() {
        let f = fixtures();
        let q = [
            ("symbols", "BTC/USD"),
            ("timeframe", "1Month"),
            ("start", "2024-01-01T00:00:00Z"),
        ];
        let reply = body(&handle(&f, &get("/v1beta3/crypto/us/bars", &q)).unwrap());
        let bars = reply["bars"]["BTC/USD"].as_array().unwrap();
        assert_eq!(bars.len(), 12);
        assert_eq!(bars[11]["c"], json!(93381.0));
        assert_eq!(reply["next_page_token"], Value::Null);
        let q = [("symbols", "DOGE/USD"), ("timeframe", "1Day")];
        let reply = body(&handle(&f, &get("/v1beta3/crypto/us/bars", &q)).unwrap());
        assert_eq!(reply, json!({"bars": {}, "next_page_token": null}));
    }
}
